"""The stedgeai wrapper against a stand-in executable that behaves as ST's documented CLI, the
missing-tool error, and the offline footprint estimate on a model whose MACs are counted by hand.

No test here runs the real ST Edge AI Core (it is proprietary and not installed)."""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from firmware_export import estimate_footprint
from firmware_export.stedgeai import (StEdgeAI, StEdgeAIError, StEdgeAINotFound, analyze_or_estimate,
                                      find_stedgeai, host_os_dir, parse_c_info, parse_report)
from firmware_support import T, sample_windows, tiny_int8, tiny_int8_bytes
from har_data import InputError

FIG = {"weights": 1433, "activations": 3072, "macc": 24256, "io": [144, 4], "kernel_flash": 15231,
       "kernel_ram": 2356, "params": 1320}

STANDIN = r'''#!{python}
"""Stand-in for ST Edge AI Core's CLI: same options, reports in the documented format."""
import argparse, json, os, sys
from pathlib import Path
import numpy as np

FIG = {fig}
PROG = Path(sys.argv[0]).name
LEGACY = PROG.startswith("stm32ai")
p = argparse.ArgumentParser(prog=PROG)
p.add_argument("command", choices=["analyze", "validate", "generate"])
p.add_argument("-m", "--model", required=True)
if LEGACY:
    p.add_argument("--series", default="stm32f4")
else:
    p.add_argument("--target", required=True)
p.add_argument("-n", "--name", default="network")
p.add_argument("-c", "--compression", choices=["none", "lossless", "low", "medium", "high"], default="lossless")
p.add_argument("-O", "--optimization", choices=["balanced", "time", "ram"], default="balanced")
p.add_argument("-o", "--output", default="st_ai_output")
p.add_argument("-w", "--workspace", default="st_ai_ws")
p.add_argument("--allocate-inputs", action="store_true")
p.add_argument("--allocate-outputs", action="store_true")
p.add_argument("--mode", choices=["host", "target", "host-io-only", "target-io-only"], default="host")
p.add_argument("-vi", "--valinput", nargs="+")
p.add_argument("-vo", "--valoutput", nargs="+")
a = p.parse_args()
if os.environ.get("STANDIN_FAIL"):
    print("E010(InvalidModelError): unsupported operator in " + a.model, file=sys.stderr)
    sys.exit(1)
out, ws = Path(a.output), Path(a.workspace)
out.mkdir(parents=True, exist_ok=True)
ws.mkdir(parents=True, exist_ok=True)
(out / "standin_argv.json").write_text(json.dumps(sys.argv[1:]))
if not Path(a.model).read_bytes()[4:8] == b"TFL3":
    sys.exit("E103(CliArgumentError): not a tflite file")
target = a.series if LEGACY else a.target
bar = "-" * 100
lines = ["Neural Network Tools for STM32AI v1.7.0 (STM.ai v8.0.1-19451)" if LEGACY else
         "ST Edge AI Core v2.2.0-20266 2adc00962",
         "Created date          : 2026-11-23 12:00:00",
         "Parameters            : " + " ".join(sys.argv[1:]), "",
         "Exec/report summary (%s)" % a.command, bar,
         "model file         :   " + str(Path(a.model).resolve()),
         "type               :   tflite",
         "c_name             :   " + a.name,
         "compression        :   " + a.compression,
         "options            :   allocate-inputs, allocate-outputs",
         "optimization       :   " + a.optimization,
         "target/series      :   " + target,
         "workspace dir      :   " + str(ws.resolve()),
         "output dir         :   " + str(out.resolve()),
         "model_fmt          :   ss/sa per channel",
         "model_name         :   " + Path(a.model).stem,
         "model_hash         :   0x2f13331f63620603b46a920e27d68f54",
         "params #           :   {{:,}} items (1.29 KiB)".format(FIG["params"]), bar,
         "input 1/1          :   'serving_default_accel_mg0', int8(1x48x3), 144 Bytes, QLinear(31.372549057,-1,int8), activations",
         "output 1/1         :   'StatefulPartitionedCall0', int8(1x4), 4 Bytes, QLinear(0.003906250,-128,int8), activations",
         "macc               :   {{:,}}".format(FIG["macc"]),
         "weights (ro)       :   {{:,}} B (1.40 KiB) (1 segment) / -4,299(-75.0%) vs float model".format(FIG["weights"]),
         "activations (rw)   :   {{:,}} B (3.00 KiB) (1 segment) *".format(FIG["activations"]),
         "ram (total)        :   {{:,}} B (3.00 KiB) = {{:,}} + 0 + 0".format(FIG["activations"], FIG["activations"]),
         bar, "(*) 'input'/'output' buffers can be used from the activations buffer", ""]
if a.command == "validate":
    def load(path):
        return np.load(path) if path.endswith(".npy") else np.loadtxt(path, delimiter=",", ndmin=2)
    x = load(a.valinput[0])
    ref = load(a.valoutput[0]).astype(np.float64).reshape(len(x), -1)
    got = ref.copy()
    got[0, 0] += 1.0      # the "C model" differs from the reference by one code on one value
    got[1] = got[1][::-1]  # and gets the second sample's ranking reversed
    d = got - ref
    acc = np.mean(np.argmax(got, 1) == np.argmax(ref, 1))
    rmse, mae = np.sqrt(np.mean(d ** 2)), np.mean(np.abs(d))
    l2r = np.linalg.norm(d) / np.linalg.norm(ref)
    cos = np.sum(got * ref) / (np.linalg.norm(got) * np.linalg.norm(ref))
    (out / "standin_valdata.json").write_text(json.dumps({{"x_shape": list(x.shape), "x_dtype": str(x.dtype),
                                                          "y_shape": list(ref.shape)}}))
    wide = "-" * 150
    row = "{{:<20}}{{:<10}}{{:<14.9f}}{{:<14.9f}}{{:<14.9f}}{{:<12.6f}}{{:<11.6f}}{{:<11.6f}}{{:<11.6f}}'{{}}', {{}} x int8(1x4), m_id=[9]"
    lines += ["Evaluation report (summary)", wide,
              "Output              acc       rmse          mae           l2r           mean        std        nse        cos        tensor",
              wide,
              row.format("HOST c-model #1", "%.2f%%" % (100 * acc), rmse, mae, l2r, d.mean(), d.std(), 0.99, cos,
                         "nl_9", len(x)),
              row.format("original model #1", "100.00%", 0, 0, 0, 0, 0, 1, 1, "nl_9", len(x)),
              row.format("X-cross #1", "%.2f%%" % (100 * acc), rmse, mae, l2r, d.mean(), d.std(), 0.99, cos,
                         "nl_9", len(x)),
              wide, ""]
if a.command == "generate":
    lines += [' Requested memory size by section - "%s" target' % target,
              "  Summary - \"%s\" target" % target, "  " + "-" * 50,
              "               FLASH (ro)      %*   RAM (rw)      %", "  " + "-" * 50,
              "  RT total         {{:,}}   91.4%        {{:,}}   43.4%".format(FIG["kernel_flash"], FIG["kernel_ram"]),
              "  " + "-" * 50,
              "  TOTAL            {{:,}}              {{:,}}".format(FIG["kernel_flash"] + FIG["weights"],
                                                                 FIG["kernel_ram"] + FIG["activations"]),
              "  " + "-" * 50, "  *  rt/total", ""]
    for f in (a.name + ".c", a.name + ".h", a.name + "_data.c", a.name + "_data.h", a.name + "_data_params.c",
              a.name + "_data_params.h", a.name + "_config.h"):
        (out / f).write_text("/* generated by the stand-in */\n")
if a.command in ("analyze", "generate"):
    info = {{"json_schema_version": "2.0",
            "environment": {{"generated_model": {{"name": a.name}},
                            "tools": [{{"name": "STEdgeAI", "version": "2.2.0", "input_model": {{"name": Path(a.model).stem, "type": "tflite"}}}}]}},
            "graphs": [{{"nodes": [{{"name": "conv_0", "id": 0, "macc": FIG["macc"] - 1000}}, {{"name": "dense_1", "id": 1, "macc": 1000}}]}}],
            "memory_pools": [{{"id": 0, "used_size_bytes": FIG["weights"]}}],
            "buffers": [{{"id": 0, "size_bytes": FIG["activations"]}}],
            "memory_footprint": {{"weights": FIG["weights"], "activations": FIG["activations"], "io": FIG["io"],
                                 "series": target, "kernel_flash": FIG["kernel_flash"], "kernel_ram": FIG["kernel_ram"]}}}}
    (out / (a.name + "_c_info.json")).write_text(json.dumps(info, indent=2))
report = out / ("%s_%s_report.txt" % (a.name, a.command))
report.write_text("\n".join(lines) + "\n")
print("\n".join(lines))
print("Creating txt report file " + str(report))
'''


def write_standin(folder: Path, exe_name: str = "stedgeai") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / exe_name
    path.write_text(STANDIN.format(python=sys.executable, fig=repr(FIG)))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def model_file(tmp_path):
    p = tmp_path / "model_int8.tflite"
    p.write_bytes(tiny_int8_bytes())
    return p


@pytest.fixture
def on_path(tmp_path, monkeypatch):
    exe = write_standin(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(exe.parent) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.delenv("STEDGEAI_CORE_DIR", raising=False)
    return exe


def received(out: Path) -> list[str]:
    return json.loads((out / "standin_argv.json").read_text())


def test_analyze_command_line_and_figures(on_path, model_file, tmp_path):
    tool = StEdgeAI()
    assert tool.executable == on_path and not tool.legacy
    out = tmp_path / "analyze"
    res = tool.analyze(model_file, out)
    argv = [str(on_path), "analyze", "--model", str(model_file), "--target", "stm32", "--name", "network",
            "--output", str(out), "--workspace", str(out / "st_ai_ws")]
    assert res["argv"] == argv
    assert received(out) == argv[1:]
    assert res["report"] == str(out / "network_analyze_report.txt")
    assert (res["weights_bytes"], res["activations_bytes"], res["macc"]) == (FIG["weights"], FIG["activations"],
                                                                              FIG["macc"])
    assert res["ram_total_bytes"] == FIG["activations"] and res["params"] == FIG["params"]
    assert res["tool"] == "ST Edge AI Core" and res["tool_version"] == "2.2.0-20266"
    assert res["target"] == "stm32" and res["model_fmt"] == "ss/sa per channel"
    assert res["c_info"]["macc"] == FIG["macc"] and res["c_info"]["io_bytes"] == FIG["io"]


@pytest.mark.parametrize("fmt", ["npy", "csv"])
def test_validate_host_with_our_test_vectors(on_path, model_file, tmp_path, fmt):
    x, y = sample_windows(6)
    out = tmp_path / f"validate_{fmt}"
    res = StEdgeAI(target="stm32l4").validate(model_file, out, x=x, y=y, data_format=fmt)
    vi = out / "hargan_valdata" / f"hargan_valinput.{fmt}"
    vo = out / "hargan_valdata" / f"hargan_valoutput.{fmt}"
    argv = [str(on_path), "validate", "--model", str(model_file), "--target", "stm32l4", "--name", "network",
            "--mode", "host", "--valinput", str(vi), "--valoutput", str(vo),
            "--output", str(out), "--workspace", str(out / "st_ai_ws")]
    assert res["argv"] == argv and received(out) == argv[1:]
    seen = json.loads((out / "standin_valdata.json").read_text())
    assert seen["x_shape"] == ([6, T, 3] if fmt == "npy" else [6, T * 3]) and seen["y_shape"] == [6, 4]
    if fmt == "npy":
        assert seen["x_dtype"] == "int8"
        int8 = tiny_int8()
        assert np.array_equal(np.load(vi), int8.quantize_input(x))
        ref = np.load(vo).astype(np.float64)
        assert np.array_equal(np.load(vo), int8.predict_int8(x))
    else:
        ref = np.loadtxt(vo, delimiter=",", ndmin=2)
    # What the stand-in's "C model" computed, by the metric definitions.
    got = ref.copy()
    got[0, 0] += 1
    got[1] = got[1][::-1]
    d = got - ref
    acc = np.mean(np.argmax(got, 1) == np.argmax(ref, 1))
    assert res["evaluation_row"] == "HOST c-model #1"
    assert res["acc"] == pytest.approx(round(100 * acc, 2) / 100)
    assert res["rmse"] == pytest.approx(np.sqrt(np.mean(d ** 2)), abs=1e-9)
    assert res["mae"] == pytest.approx(np.mean(np.abs(d)), abs=1e-9)
    assert res["l2r"] == pytest.approx(np.linalg.norm(d) / np.linalg.norm(ref), abs=1e-9)
    assert res["cos"] == pytest.approx(np.sum(got * ref) / np.linalg.norm(got) / np.linalg.norm(ref), abs=1e-6)
    assert set(res["evaluation"]) == {"HOST c-model #1", "original model #1", "X-cross #1"}
    assert res["evaluation"]["original model #1"]["acc"] == 1.0
    assert res["evaluation"]["X-cross #1"]["tensor"].startswith("'nl_9', 6 x int8(1x4)")


def test_validate_with_given_files_and_target_mode(on_path, model_file, tmp_path):
    vi, vo = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(vi, np.zeros((3, T, 3), np.int8))
    np.save(vo, np.tile(np.array([[10, 0, -5, -128]], np.int8), (3, 1)))
    out = tmp_path / "v"
    res = StEdgeAI().validate(model_file, out, workspace=tmp_path / "ws", valinput=vi, valoutput=vo, mode="target")
    assert received(out) == ["validate", "--model", str(model_file), "--target", "stm32", "--name", "network",
                             "--mode", "target", "--valinput", str(vi), "--valoutput", str(vo),
                             "--output", str(out), "--workspace", str(tmp_path / "ws")]
    assert res["acc"] == pytest.approx(2 / 3, abs=1e-4)  # sample 1's ranking reversed by the stand-in
    with pytest.raises(InputError, match="mode"):
        StEdgeAI().validate(model_file, out, mode="board")
    # Float validation data: the int8 codes dequantized, which quantize back exactly.
    x, y = sample_windows(4)
    StEdgeAI().validate(model_file, tmp_path / "f", x=x, y=y, io_dtype="float32")
    vin = np.load(tmp_path / "f" / "hargan_valdata" / "hargan_valinput.npy")
    assert vin.dtype == np.float32 and np.array_equal(tiny_int8().quantize_input(vin), tiny_int8().quantize_input(x))
    with pytest.raises(InputError, match="data type"):
        StEdgeAI().validate(model_file, tmp_path / "g", x=x, y=y, io_dtype="int4")


def test_generate_command_line_files_and_c_info(on_path, model_file, tmp_path):
    out, ws = tmp_path / "gen", tmp_path / "ws"
    res = StEdgeAI().generate(model_file, out, workspace=ws, name="har_net", compression="lossless")
    argv = [str(on_path), "generate", "--model", str(model_file), "--target", "stm32", "--name", "har_net",
            "--compression", "lossless", "--allocate-inputs", "--allocate-outputs",
            "--output", str(out), "--workspace", str(ws)]
    assert res["argv"] == argv and received(out) == argv[1:]
    assert res["report"] == str(out / "har_net_generate_report.txt")
    assert {"har_net.c", "har_net.h", "har_net_data.c", "har_net_data.h", "har_net_c_info.json",
            "har_net_generate_report.txt"} <= set(res["files"])
    assert res["weights_bytes"] == FIG["weights"] and res["activations_bytes"] == FIG["activations"]
    assert res["macc"] == FIG["macc"]
    assert res["flash_total_bytes"] == FIG["kernel_flash"] + FIG["weights"]
    assert res["ram_total_rt_bytes"] == FIG["kernel_ram"] + FIG["activations"]
    assert res["runtime_flash_bytes"] == FIG["kernel_flash"] and res["runtime_ram_bytes"] == FIG["kernel_ram"]
    info = parse_c_info(out / "har_net_c_info.json")
    assert info == {"weights_bytes": FIG["weights"], "activations_bytes": FIG["activations"],
                    "kernel_flash_bytes": FIG["kernel_flash"], "kernel_ram_bytes": FIG["kernel_ram"],
                    "io_bytes": FIG["io"], "series": "stm32", "macc": FIG["macc"], "c_name": "har_net",
                    "tool_version": "2.2.0"}
    res2 = StEdgeAI().generate(model_file, tmp_path / "gen2", allocate_inputs=False, allocate_outputs=False,
                               compression="none", optimization="time")
    assert received(tmp_path / "gen2")[7:11] == ["--compression", "none", "--optimization", "time"]
    assert "--allocate-inputs" not in res2["argv"]
    with pytest.raises(InputError, match="compression"):
        StEdgeAI().generate(model_file, out, compression="8")
    with pytest.raises(InputError, match="name"):
        StEdgeAI().generate(model_file, out, name="bad-name")


def test_found_in_the_documented_install_layout(tmp_path, monkeypatch, model_file):
    core = tmp_path / "STEdgeAI" / "2.2"
    exe = write_standin(core / "Utilities" / host_os_dir())
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("STEDGEAI_CORE_DIR", str(core))
    assert find_stedgeai() == exe
    res = StEdgeAI().analyze(model_file, tmp_path / "a")
    assert res["argv"][0] == str(exe) and res["macc"] == FIG["macc"]
    assert find_stedgeai(core) == exe  # an install folder given explicitly
    assert find_stedgeai(exe) == exe


def test_legacy_stm32ai_takes_series(tmp_path, monkeypatch, model_file):
    exe = write_standin(tmp_path / "xcubeai", "stm32ai")
    monkeypatch.setenv("PATH", str(exe.parent))
    monkeypatch.delenv("STEDGEAI_CORE_DIR", raising=False)
    tool = StEdgeAI(target="stm32l4")
    assert tool.executable == exe and tool.legacy
    res = tool.analyze(model_file, tmp_path / "a")
    assert received(tmp_path / "a") == ["analyze", "--model", str(model_file), "--series", "stm32l4",
                                        "--name", "network", "--output", str(tmp_path / "a"),
                                        "--workspace", str(tmp_path / "a" / "st_ai_ws")]
    assert res["tool"] == "Neural Network Tools for STM32AI" and res["tool_version"] == "1.7.0"
    assert res["weights_bytes"] == FIG["weights"] and res["target"] == "stm32l4"


def test_tool_failure_is_reported(on_path, model_file, tmp_path, monkeypatch):
    monkeypatch.setenv("STANDIN_FAIL", "1")
    with pytest.raises(StEdgeAIError, match="exit 1.*unsupported operator"):
        StEdgeAI().analyze(model_file, tmp_path / "a")
    assert "unsupported operator" in (tmp_path / "a" / "hargan_stedgeai_analyze.log").read_text()


def test_absent_tool_says_where_to_get_it(tmp_path, monkeypatch, model_file):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("STEDGEAI_CORE_DIR", raising=False)
    with pytest.raises(StEdgeAINotFound) as err:
        StEdgeAI()
    msg = str(err.value)
    assert isinstance(err.value, InputError) and "\n" not in msg
    for text in ("STEDGEAI_CORE_DIR is not set", "st.com", "X-CUBE-AI", "export STEDGEAI_CORE_DIR=",
                 "Utilities/<linux|mac|windows>/stedgeai", "estimate_footprint"):
        assert text in msg
    monkeypatch.setenv("STEDGEAI_CORE_DIR", str(tmp_path))
    with pytest.raises(StEdgeAINotFound, match=f"STEDGEAI_CORE_DIR={tmp_path} holds no Utilities/"):
        find_stedgeai()
    with pytest.raises(StEdgeAINotFound, match="not an executable"):
        find_stedgeai(tmp_path / "nope" / "stedgeai")
    # The fallback: the offline estimate, saying so.
    est = analyze_or_estimate(model_file, tmp_path / "a")
    assert est["source"].startswith("estimate") and "st.com" in est["stedgeai_missing"]
    assert est["macc"] == est["macs"] == estimate_footprint(model_file, arena=False)["macs"] > 0
    assert est["arena_bytes"] == tiny_int8().arena_bytes()
    exe = write_standin(tmp_path / "bin")
    found = analyze_or_estimate(model_file, tmp_path / "b", executable=exe)
    assert found["source"] == f"stedgeai analyze ({exe})" and found["macc"] == FIG["macc"]


def test_parse_report_on_older_and_partial_reports():
    text = textwrap.dedent("""\
        Neural Network Tools for STM32AI v1.6.0 (STM.ai v7.1.0-RC3)
        Created date          : 2023-05-12 15:32:57

        Exec/report summary (analyze)
        ------------------------------------------------------------
        model file            : /models/m.h5
        macc                  : 1,234,567
        weights (ro)          : 10,752 B (10.50 KiB) (1 segment)
        activations (rw)      : 2,048 B (2.00 KiB) (1 segment)
        ram (total)           : 2,560 B (2.50 KiB) = 2,048 + 288 + 224
        """)
    res = parse_report(text)
    assert (res["macc"], res["weights_bytes"], res["activations_bytes"], res["ram_total_bytes"]) == \
        (1234567, 10752, 2048, 2560)
    assert res["tool_version"] == "1.6.0" and "acc" not in res
    assert parse_report("") == {}
    with pytest.raises(StEdgeAIError, match="json_schema_version"):
        parse_c_info({"json_schema_version": "1.0"})


def test_footprint_estimate_on_a_hand_counted_model():
    import keras

    from classifier import Int8Classifier, quantize_int8

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 3))
    h = keras.layers.Conv1D(4, 3)(inp)          # out 6 x 4, each 3 taps x 3 channels: 6*4*9 = 216 MACs
    h = keras.layers.DepthwiseConv1D(3)(h)      # out 4 x 4, each 3 taps:              4*4*3 =  48 MACs
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(2)(h)              # 2 units x 16 inputs:                   2*16 =  32 MACs
    tfl = quantize_int8(keras.Model(inp, out), np.random.default_rng(0).normal(0, 1, (16, 8, 3)), num_samples=16)
    fp = estimate_footprint(tfl)
    assert fp["macs"] == 216 + 48 + 32
    assert [(o["op"], o["macs"]) for o in fp["macs_by_op"]] == [("CONV_2D", 216), ("DEPTHWISE_CONV_2D", 48),
                                                                 ("FULLY_CONNECTED", 32)]
    # int8 weights 36 + 12 + 32 bytes and int32 conv biases 16 + 16 at least; all constant buffers, once each.
    from tensorflow.lite.tools import flatbuffer_utils

    obj = flatbuffer_utils.convert_bytearray_to_object(bytearray(tfl))
    used = {t.buffer for sg in obj.subgraphs for t in sg.tensors if t.buffer > 0}
    expected = sum(len(obj.buffers[b].data) for b in used if obj.buffers[b].data is not None)
    assert fp["weights_bytes"] == expected and 36 + 12 + 32 + 16 + 16 <= expected < len(tfl)
    assert fp["arena_bytes"] == Int8Classifier(tfl).arena_bytes() > 0
    assert fp["tflite_bytes"] == len(tfl)
    # The project's classifier: MACs are positive and the weights fit in the file.
    fp2 = estimate_footprint(tiny_int8_bytes(), arena=False)
    assert fp2["arena_bytes"] is None and 0 < fp2["weights_bytes"] < fp2["tflite_bytes"] and fp2["macs"] > 1000
