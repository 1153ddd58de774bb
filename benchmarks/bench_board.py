"""Benchmark the exported plain C model on an emulated Cortex-M4: flash, RAM, instructions per inference.

    python benchmarks/bench_board.py                    # all presets; writes benchmarks/results/board.json
    python benchmarks/bench_board.py --tflite model_int8.tflite --name demo   # a trained model too

Each preset (untrained, 48 x 3 windows, 4 classes: sizes and instruction counts do not depend on the
weights' values) is exported with the gravity filter, built with arm-none-eabi-gcc -O2 for Cortex-M4F
(mps2-an386) and run under ``qemu-system-arm -icount shift=0``: one instruction per virtual ns, read
with SysTick and converted to instructions with a calibration loop of known length. The self-test
must pass (exit code 0) for the figures to count.

- flash: bytes linked in from the model object (code + weights), the API/preprocessing object and the
  C library members they pull in (soft double, sqrt, memcpy, ...), from the linker map after
  --gc-sections; startup, self-test and test vectors are left out. ``arm-none-eabi-size`` of the two
  objects is printed as a cross-check.
- RAM: static data of those objects (activation arena, streaming window and filter state, newlib's
  reentrancy struct) plus the stack high-water mark of the whole self-test (painted stack).
- instructions: ``<name>_invoke`` (int8 model only), the same built with ``-DHARGAN_NO_SIMD`` (plain
  C loops), ``<name>_classify`` (a window of raw counts: gravity filter + model), one
  ``<name>_push`` sample that completes no window (preprocessing only) and one ``<name>_decide``
  (the vote over ``--vote`` decisions, averaged over the test vectors' sequence of raw classes);
  ``invoke`` and ``classify`` again with the whole build at ``-O0`` (STM32CubeIDE's Debug default;
  the kernels keep ``-O2`` through their ``#pragma GCC optimize``).

TFLite-Micro: a published reference, NOT measured by this script (TFLite-Micro's sources are not
installed here, so it cannot build them): the figures issue 13 measured for the demo's cnn1d (8,128 B,
same emulated board), ~593,000 instructions with the reference kernels, ~195,000 with CMSIS-NN;
53 KB / 78 KB flash besides the model; 4,304 B arena. They are printed and stored labelled as such.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier import Int8Classifier, build_classifier, quantize_int8  # noqa: E402
from firmware_export import export_firmware  # noqa: E402
from firmware_export.emulator import build_board, run_qemu, section_sizes, toolchain_missing  # noqa: E402
from har_data import SensorSpec, write_text  # noqa: E402
from har_data.gravity import DEFAULT_PRECISION, PRECISIONS  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CLASSES = ["stationary", "walking", "running", "cycling"]
PRESETS = ("cnn1d", "cnn1d_tiny", "ign", "gmp")
SENSOR = SensorSpec("LSM6DSL", 4, 26)
TARGETS = {"flash": 16 * 1024, "instructions": 250_000, "ram": 4304}
TFLM_SOURCE = "published reference: issue 13's measurement (demo cnn1d, QEMU mps2-an386); not measured by this script"
TFLM = {"instructions_ref": 593_000, "instructions_cmsis_nn": 195_000, "flash_ref": 53 * 1024,
        "flash_cmsis_nn": 78 * 1024, "arena": 4304}


def preset_model(preset: str, seed: int = 0) -> bytes:
    model = build_classifier(preset, 48, CLASSES, full_scale_g=4.0, seed=seed)
    x = np.random.default_rng(seed).normal(0, 900, (64, 48, 3)).astype(np.float32)
    return quantize_int8(model, x, num_samples=64, seed=seed)


def test_windows(t: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 300, (8, t, 3)) + np.array([0.0, 0.0, 1000.0])
    return x.astype(np.float32), np.arange(8) % 4


def _values(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"^(\w+) (-?\d+)$", text, re.M)}


def measure(label: str, model: bytes, classes: list[str], work: Path, gravity: bool, vote: int = 1,
            precision: str = DEFAULT_PRECISION) -> dict:
    int8 = Int8Classifier(model, classes)
    x, y = test_windows(int8.window_length)
    out = work / label / "firmware"
    export_firmware(int8, classes, SENSOR, out, test_windows=x, test_labels=y % len(classes), n_test_vectors=4,
                    gravity=gravity, stride=int8.window_length // 4, vote=vote, gravity_precision=precision)
    row: dict = {"model": label, "tflite_bytes": len(model), "gravity_filter": gravity, "vote": vote,
                 "gravity_precision": precision if gravity else None}
    for simd in (True, False):
        build = build_board(out, work / label / ("simd" if simd else "scalar"), measure=True,
                            extra_flags=() if simd else ("-DHARGAN_NO_SIMD",))
        code, text = run_qemu(build.elf, timeout=300, icount=True)
        if code != 0:
            raise SystemExit(f"{label}: self-test failed on the emulated board (exit {code}):\n{text[-1500:]}")
        v = _values(text)
        per_tick = v["calibration_instructions"] / v["calibration_ticks"]
        if not simd:
            row["instructions_invoke_no_simd"] = round(v["invoke_ticks"] * per_tick)
            continue
        row.update(instructions_invoke=round(v["invoke_ticks"] * per_tick),
                   instructions_classify=round(v["classify_ticks"] * per_tick),
                   instructions_push_sample=round(v["push_ticks_per_sample_x1000"] / 1000 * per_tick),
                   instructions_decide=round(v["decide_ticks_per_decision_x1000"] / 1000 * per_tick),
                   stack_bytes=v["stack_used_bytes"])
        row.update(footprint(build))
    # STM32CubeIDE's Debug default: the whole build at -O0 (the model's kernels keep -O2 by their pragma)
    build = build_board(out, work / label / "O0", opt="-O0", measure=True)
    code, text = run_qemu(build.elf, timeout=300, icount=True)
    if code != 0:
        raise SystemExit(f"{label}: -O0 self-test failed on the emulated board (exit {code}):\n{text[-1500:]}")
    v = _values(text)
    per_tick = v["calibration_instructions"] / v["calibration_ticks"]
    row.update(instructions_invoke_O0=round(v["invoke_ticks"] * per_tick),
               instructions_classify_O0=round(v["classify_ticks"] * per_tick))
    row["ram_total"] = row["ram_static"] + row["stack_bytes"]
    return row


def footprint(build) -> dict:
    sizes = section_sizes(build.map_file.read_text())
    model = sizes.get("har_model_model.o", {"flash": 0, "ram": 0})
    app = sizes.get("har_model.o", {"flash": 0, "ram": 0})
    libs = [v for k, v in sizes.items() if ".a(" in k]
    lib_flash, lib_ram = sum(v["flash"] for v in libs), sum(v["ram"] for v in libs)
    objects = [str(build.objects["har_model_model"]), str(build.objects["har_model"])]
    size_out = subprocess.run(["arm-none-eabi-size", *objects], capture_output=True, text=True).stdout
    print(size_out.rstrip())
    return {"flash_model": model["flash"], "flash_api_preprocessing": app["flash"], "flash_libs": lib_flash,
            "flash_total": model["flash"] + app["flash"] + lib_flash,
            "ram_static": model["ram"] + app["ram"] + lib_ram, "ram_libs": lib_ram}


def print_table(rows: list[dict]) -> None:
    head = (f"{'model':<12} {'flash B':>8} {'(model':>7} {'api':>6} {'libs)':>6} {'RAM B':>6} {'stack':>6} "
            f"{'insn/inference':>14} {'no SIMD':>8} {'at -O0':>8} {'classify':>9} {'push/sample':>11}")
    print("\n" + head)
    for r in rows:
        print(f"{r['model']:<12} {r['flash_total']:>8} {r['flash_model']:>7} {r['flash_api_preprocessing']:>6} "
              f"{r['flash_libs']:>6} {r['ram_total']:>6} {r['stack_bytes']:>6} {r['instructions_invoke']:>14,} "
              f"{r['instructions_invoke_no_simd']:>8,} {r['instructions_invoke_O0']:>8,} "
              f"{r['instructions_classify']:>9,} {r['instructions_push_sample']:>11,}")
    print(f"TFLite-Micro, {TFLM_SOURCE}: {TFLM['instructions_ref']:,} (reference) / "
          f"{TFLM['instructions_cmsis_nn']:,} (CMSIS-NN) instructions, {TFLM['flash_ref']} / "
          f"{TFLM['flash_cmsis_nn']} B flash besides the model, {TFLM['arena']} B arena")


def check_targets(rows: list[dict]) -> dict:
    cnn = next((r for r in rows if r["model"] == "cnn1d"), None)
    if cnn is None:
        return {}
    got = {"flash": cnn["flash_total"], "instructions": cnn["instructions_invoke"], "ram": cnn["ram_total"]}
    verdict = {k: {"value": got[k], "target": TARGETS[k], "met": got[k] <= TARGETS[k]} for k in TARGETS}
    for k, v in verdict.items():
        print(f"cnn1d {k}: {v['value']:,} vs target <= {v['target']:,}: {'met' if v['met'] else 'MISSED'}")
    return verdict


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--presets", nargs="*", default=list(PRESETS))
    ap.add_argument("--tflite", help="also measure this int8 .tflite (4 classes assumed unless --classes)")
    ap.add_argument("--name", default="trained", help="label of --tflite in the table")
    ap.add_argument("--classes", nargs="*", default=CLASSES)
    ap.add_argument("--no-gravity", action="store_true", help="export without the gravity filter")
    ap.add_argument("--vote", type=int, default=1, help="the decision stage's vote (decisions; 1: off)")
    ap.add_argument("--gravity-precision", choices=PRECISIONS, default=DEFAULT_PRECISION,
                    help="the gravity filter's arithmetic (har_data.gravity)")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "board.json"))
    args = ap.parse_args()
    why = toolchain_missing()
    if why:
        print(f"cannot run: {why}")
        return 2
    models = [(p, preset_model(p)) for p in args.presets]
    if args.tflite:
        models.append((args.name, Path(args.tflite).read_bytes()))
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-board-") as tmp:
        for label, model in models:
            classes = args.classes if label == args.name and args.tflite else CLASSES
            rows.append(measure(label, model, list(classes), Path(tmp), not args.no_gravity, args.vote,
                                args.gravity_precision))
    print_table(rows)
    verdict = check_targets(rows)
    result = {"machine": platform.platform(), "toolchain": "arm-none-eabi-gcc -O2 -mcpu=cortex-m4 -mfpu=fpv4-sp-d16",
              "emulator": "qemu-system-arm -M mps2-an386 -icount shift=0", "rows": rows, "targets": verdict,
              "tflm_reference": {**TFLM, "source": TFLM_SOURCE}}
    write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
