"""Benchmark firmware_export: C-array formatting speed, export + compile time, offline footprint per preset.

    python benchmarks/bench_firmware_export.py  # prints a table, writes benchmarks/results/firmware_export.json

Footprints come from the offline estimate (no ST Edge AI Core here): weights = constant buffers of
the .tflite, arena = TFLite-Micro's RecordingMicroAllocator, MACs = conv/depthwise/dense by shape.
Sizes do not depend on training, so untrained presets (48 x 3 mg windows, 4 classes) are used.
The machine may be shared: timings are noisy.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from classifier import PRESETS, Int8Classifier, build_classifier, quantize_int8  # noqa: E402
from firmware_export import estimate_footprint, export_firmware, format_bytes  # noqa: E402
from har_data import SensorSpec, write_text  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CLASSES = ["stationary", "walking", "running", "cycling"]


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    results: dict = {"machine": platform.platform(), "python": sys.version.split()[0], "format_bytes": [],
                     "presets": []}
    rng = np.random.default_rng(0)
    print(f"{'bytes':>10} {'seconds':>9} {'MB/s':>8}")
    for size in (16_384, 262_144, 1_048_576, 4_194_304):
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        s = best_of(functools.partial(format_bytes, data))
        results["format_bytes"].append({"bytes": size, "seconds": round(s, 4), "mb_per_s": round(size / s / 1e6, 1)})
        print(f"{size:>10} {s:>9.4f} {size / s / 1e6:>8.1f}")
    gcc = shutil.which("gcc")
    x = rng.normal(0, 900, (64, 48, 3)).astype(np.float32)
    y = np.arange(64) % 4
    print(f"\n{'preset':<12} {'tflite B':>9} {'weights B':>10} {'arena B':>8} {'MACs':>9} {'export s':>9} {'gcc s':>6}")
    for preset in PRESETS:
        model = build_classifier(preset, 48, CLASSES, full_scale_g=4.0, seed=0)
        int8 = Int8Classifier(quantize_int8(model, x, num_samples=64), CLASSES)
        fp = estimate_footprint(int8.model_bytes)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            files = export_firmware(int8, CLASSES, SensorSpec("LSM6DSL", 4, 26), Path(tmp) / "fw",
                                    test_windows=x, test_labels=y)
            export_s = time.perf_counter() - t0
            compile_s = None
            if gcc:
                t0 = time.perf_counter()
                subprocess.run([gcc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-c",
                                *[str(f) for f in files if f.suffix == ".c"]], cwd=tmp, check=True)
                compile_s = time.perf_counter() - t0
        row = {"preset": preset, "tflite_bytes": int8.tflite_bytes, "weights_bytes": fp["weights_bytes"],
               "arena_bytes": fp["arena_bytes"], "macs": fp["macs"], "export_seconds": round(export_s, 3),
               "gcc_seconds": None if compile_s is None else round(compile_s, 3)}
        results["presets"].append(row)
        print(f"{preset:<12} {row['tflite_bytes']:>9} {row['weights_bytes']:>10} {row['arena_bytes']:>8} "
              f"{row['macs']:>9} {export_s:>9.2f} {compile_s if compile_s is not None else float('nan'):>6.2f}")
    out = REPO / "benchmarks" / "results" / "firmware_export.json"
    write_text(out, json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
