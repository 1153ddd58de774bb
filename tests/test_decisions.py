"""The decision stage after the board model: the vote's rule, its C twin (host and emulated Cortex-M4),
its record in model_int8.json and config, and what `hargan classify` reports with it."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from classifier.decisions import MajorityVote, change_latencies, latency_summary, vote, vote_decisions
from firmware_support import CLASSES, T, needs_gcc, preset_int8_bytes, sample_windows
from har_data import InputError, SensorSpec

SENSOR = SensorSpec("LSM6DSL", 4, 26)


def reference_vote(raw: list[int], n: int) -> list[int]:
    """The rule as written: most votes among the last n, a tie to the tied class decided most recently."""
    out = []
    for i in range(len(raw)):
        last = raw[max(0, i - n + 1): i + 1]
        best = max(last.count(c) for c in last)
        out.append(next(c for c in reversed(last) if last.count(c) == best))
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
def test_vote_is_the_documented_rule(n):
    raw = np.random.default_rng(n).integers(0, 4, 300).tolist()
    assert vote(raw, n, 4).tolist() == reference_vote(raw, n)
    assert vote(raw, 1, 4).tolist() == raw


def test_vote_examples_and_limits():
    assert vote([0, 1], 3, 2).tolist() == [0, 1]  # warm-up tie: the newest
    assert vote([0, 0, 1, 1, 2], 4, 3).tolist() == [0, 0, 0, 1, 1]  # 2 leaves 0 behind: tie 0/1 -> 1
    v = MajorityVote(3, 2)
    assert [v.update(c) for c in (1, 1, 0)] == [1, 1, 1]
    v.reset()
    assert v.update(0) == 0
    with pytest.raises(ValueError):
        MajorityVote(256, 2)
    with pytest.raises(ValueError):
        v.update(2)
    assert vote_decisions(2.0, 26.0, 6) == 9 and vote_decisions(0.0, 26, 6) == 1 and vote_decisions(99, 26, 1) == 255


def test_change_latency():
    true = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 0])
    pred = np.array([0, 0, 0, 0, 0, 1, 1, 0, 0, 0])
    times = np.arange(10) * 0.5
    lat, missed = change_latencies(true, pred, times)
    assert lat == [1.0, 0.0] and missed == 1  # 0->1 after two decisions; 1->2 never; 2->0 at once
    lat, _ = change_latencies(true, pred, times, [1.2, 3.4, 4.4])
    assert lat == pytest.approx([1.3, 0.1])
    assert latency_summary([1.0, 3.0], 1) == {"changes": 3, "missed": 1, "median_s": 2.0, "p90_s": 2.8}


def test_record_and_config_carry_the_vote(tmp_path):
    from hargan.classify import Preprocessing
    from hargan.config import BoardConfig, config_from_dict

    prep = Preprocessing(SensorSpec("LSM6DSOX", 4, 26), T, 6, True, list(CLASSES), 9)
    assert Preprocessing.from_dict(prep.to_dict()) == prep
    old = {k: v for k, v in prep.to_dict().items() if k != "vote"}
    assert Preprocessing.from_dict(old).vote == 1  # an older record: no vote, as its board did
    with pytest.raises(InputError, match=r"m.json: preprocessing record: vote must be a whole number"):
        Preprocessing.from_dict({**prep.to_dict(), "vote": 0}, tmp_path / "m.json")
    assert config_from_dict({}).board.vote_seconds == BoardConfig.vote_seconds
    with pytest.raises(InputError, match=r"board.vote_seconds must be at most 60 \(got 61\)"):
        config_from_dict({"board": {"vote_seconds": 61}})


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    from classifier import Int8Classifier
    from firmware_export import export_firmware

    int8 = Int8Classifier(preset_int8_bytes("cnn1d_tiny"), CLASSES)
    x, y = sample_windows(12)
    out = tmp_path_factory.mktemp("decide") / "firmware"
    export_firmware(int8, CLASSES, SENSOR, out, test_windows=x, test_labels=y, n_test_vectors=12, gravity=False,
                    stride=6, vote=3)
    return out


def _expected(out, sym: str) -> list[int]:
    import re

    text = (out / "har_model_test_vectors.c").read_text()
    block = re.search(rf"har_model_test_{sym}\[[^=]*= \{{(.*?)\n\}};", text, re.S).group(1)
    return [int(v) for v in re.findall(r"-?\d+", block)]


def test_exported_decisions_are_pythons(export):
    from firmware_export.test_vectors import decide_sequence

    raw, want = decide_sequence(3, len(CLASSES))
    assert _expected(export, "decide_raw") == raw.tolist() and _expected(export, "decide_expected") == want.tolist()
    assert want.tolist() == reference_vote(raw.tolist(), 3) and len(set(raw.tolist())) == len(CLASSES)
    scores = np.array(_expected(export, "stream_outputs")).reshape(-1, len(CLASSES))
    assert _expected(export, "stream_decisions") == vote(np.argmax(scores, -1), 3, len(CLASSES)).tolist()
    header = (export / "har_model_decide.h").read_text()
    assert "#define HAR_MODEL_VOTE 3" in header and "$" not in header
    readme = (export / "README.md").read_text()
    assert "3 + 4 + 2 = 9 B of state" in readme and "HAR_MODEL_VOTE=9" in readme


@needs_gcc
@pytest.mark.parametrize("vote_flag", [None, 5])
def test_host_selftest_checks_the_decisions(export, tmp_path, vote_flag):
    from firmware_export.emulator import HOST_FLAGS, _sources, selftest_main

    (tmp_path / "selftest.c").write_text(selftest_main())
    flags = [] if vote_flag is None else [f"-DHAR_MODEL_VOTE={vote_flag}"]
    exe = tmp_path / "selftest"
    subprocess.run(["gcc", *HOST_FLAGS, "-O2", *flags, "-I", str(export), str(tmp_path / "selftest.c"),
                    *map(str, _sources(export)), "-o", str(exe), "-lm"], check=True)
    res = subprocess.run([str(exe)], capture_output=True, text=True)
    assert res.returncode == 0 and "mismatches 0" in res.stdout and res.stdout.count("push ok") == 4, res.stdout
    assert res.stdout.count("ctx ok") == 4, res.stdout  # run_pending: the same vote, checked window by window
    assert ("decide ok" in res.stdout) == (vote_flag is None)


@needs_gcc
def test_host_selftest_catches_a_wrong_decision(export, tmp_path):
    from firmware_export.emulator import build_host

    bad = tmp_path / "fw"
    bad.mkdir()
    for f in export.iterdir():
        if f.is_file():  # not selftest/ (build_host brings its own main)
            (bad / f.name).write_text(f.read_text())
    c = bad / "har_model_decide.c"
    c.write_text(c.read_text().replace("if (state->counts[i] > best)", "if (state->counts[i] >= best + 1 && i)"))
    res = subprocess.run([str(build_host(bad, tmp_path / "b"))], capture_output=True, text=True)
    assert res.returncode != 0 and "decide MISMATCHES" in res.stdout


def test_emulated_cortex_m4_decides_as_python(export, tmp_path):
    from firmware_export.emulator import build_board, run_qemu, toolchain_missing

    why = toolchain_missing()
    if why:
        pytest.skip(why)
    code, text = run_qemu(build_board(export, tmp_path / "arm").elf, timeout=120)
    assert code == 0 and "mismatches 0" in text and "decide ok" in text and text.count("push ok") == 4, text[-1500:]


def test_classify_reports_smoothed_accuracy_and_change_latency(tmp_path):
    """A continuous log with a label column (as hargan writes them): one stream, its changes timed."""
    import csv

    from har_data.loaders.mems_studio import write_mems_studio_csv
    from hargan.classify import Preprocessing, classify_logs, write_preprocessing

    model = tmp_path / "model_int8.tflite"
    model.write_bytes(preset_int8_bytes("cnn1d_tiny"))
    write_preprocessing(model, Preprocessing(SensorSpec("LSM6DSOX", 4, 26), T, 6, False, list(CLASSES), 5))
    t = np.arange(26 * 30) / 26.0
    x = np.random.default_rng(0).normal(0, 80, (len(t), 3)) + [0, 0, 1000]
    x[len(t) // 2:] += 700 * np.sin(2 * np.pi * 2 * t[len(t) // 2:])[:, None]
    labels = ["stationary"] * (len(t) // 2) + ["running"] * (len(t) - len(t) // 2)
    write_mems_studio_csv(tmp_path / "logs" / "seq.csv", x.astype(np.float32), labels=labels)
    m = classify_logs("mems-studio", tmp_path / "logs", tmp_path / "out", model=model, options={"odr_hz": 26})
    rows = list(csv.DictReader((tmp_path / "out" / "predictions.csv").open()))
    raw = [CLASSES.index(r["predicted"]) for r in rows]
    assert [CLASSES.index(r["smoothed"]) for r in rows] == vote(raw, 5, len(CLASSES)).tolist()
    assert m["recordings"] == 1 and m["vote"] == 5 and len(rows) == (len(t) - T) // 6 + 1  # one stream
    assert {r["true"] for r in rows} == {"stationary", "running"} and "accuracy" in m["smoothed"]
    lat = m["change_latency"]
    assert lat["raw"]["changes"] == lat["smoothed"]["changes"] == 1
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved["change_latency"] == lat and saved["preprocessing"]["vote"] == 5
    m1 = classify_logs("mems-studio", tmp_path / "logs", tmp_path / "out1", model=model, options={"odr_hz": 26},
                       vote=1)
    assert m1["smoothed"]["accuracy"] == m1["accuracy"]
