"""How closely the ``--st-har-app`` network matches hargan's board model: input codes and scores.

    python benchmarks/bench_st_har_app.py RUN_DIR [RUN_DIR ...]   # runs of 'hargan run' / 'hargan demo'

For each run (its ``classifier/model_int8.tflite`` + ``model_int8.json`` and ``data/windows.npz``), the
network of ``firmware_export.st_har_app`` is built and run with LiteRT's reference kernels on what ST's
HAR application feeds it, and compared with hargan's int8 model on the same windows in mg:

- every int16 count (65,536 values, in the application's units: the counts as floats without the gravity
  filter, counts x FS/32768 x 9.8 m/s² with it, as if the filter passed them through): how many get
  another int8 code from the network's QUANTIZE than from hargan's counts -> int8 (C and Python, float32);
- the run's windows (all splits; with the gravity filter, hargan's filtered windows carried to the
  app's m/s²): input codes that differ, windows with any, windows whose scores or class differ.

Writes benchmarks/results/st_har_app.json and prints a table.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from classifier import Int8Classifier  # noqa: E402
from firmware_export.convert import counts_to_int8, mg_to_int8  # noqa: E402
from firmware_export.st_har_app import (app_input, app_input_scale, check_app, float_io_tflite,  # noqa: E402
                                        mg_to_app_units, run_float_io)
from har_data import WindowSet  # noqa: E402
from hargan.classify import read_preprocessing  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def all_counts(window: int) -> np.ndarray:
    """Every int16 value once, as windows (the last padded with zeros)."""
    c = np.arange(-32768, 32768, dtype=np.int32)
    c = np.concatenate([c, np.zeros((-len(c)) % (window * 3), np.int32)])
    return c.reshape(-1, window, 3).astype(np.int16)


def measure(run: Path) -> dict:
    model = run / "classifier" / "model_int8.tflite"
    prep = read_preprocessing(model)
    int8 = Int8Classifier(model, prep.class_names)
    sensor, window = prep.sensor, int8.window_length
    gravity = prep.suppress_gravity
    check_app(sensor, window, int8.channels, int8.num_classes, gravity)
    net = float_io_tflite(int8.model_bytes, app_input_scale(int8.input_scale, sensor, gravity))
    counts = all_counts(window)
    codes, _ = run_float_io(net, app_input(counts, sensor, gravity))
    ref = counts_to_int8(counts, sensor, int8.input_scale, int8.input_zero_point)
    ws = WindowSet.load(run / "data" / "windows.npz")
    if gravity:  # filtered mg (hargan's filter) in the app's units
        x_app = mg_to_app_units(ws.x, sensor, gravity)
        ref_w = mg_to_int8(ws.x, int8.input_scale, int8.input_zero_point)
    else:
        c = sensor.to_counts(ws.x)
        x_app, ref_w = app_input(c, sensor, gravity), counts_to_int8(c, sensor, int8.input_scale,
                                                                    int8.input_zero_point)
    codes_w, scores = run_float_io(net, x_app)
    board = int8.dequantize_output(int8._run_litert(ref_w))
    differ = codes_w != ref_w
    return {"run": str(run), "sensor": sensor.to_dict(), "gravity_filter": prep.suppress_gravity,
            "input_scale_mg": int8.input_scale, "count_values": 65536,
            "count_values_code_differs": int((codes != ref).reshape(-1)[:65536].sum()),
            "windows": len(ws.x), "input_codes": int(differ.size), "input_codes_differ": int(differ.sum()),
            "max_code_difference": int(np.abs(codes_w.astype(int) - ref_w).max()),
            "windows_with_a_differing_code": int(differ.any(axis=(1, 2)).sum()),
            "windows_scores_differ": int((scores != board).any(axis=1).sum()),
            "windows_class_differs": int((scores.argmax(1) != board.argmax(1)).sum()),
            "max_score_difference": float(np.abs(scores - board).max())}


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    results = [measure(Path(a)) for a in argv]
    print(f"{'run':<28} {'filter':>6} {'counts≠':>8} {'windows':>8} {'codes≠':>14} {'win score≠':>10} {'class≠':>7}")
    for r in results:
        print(f"{Path(r['run']).name:<28} {str(r['gravity_filter']):>6} {r['count_values_code_differs']:>8} "
              f"{r['windows']:>8} {r['input_codes_differ']:>6}/{r['input_codes']:<7} "
              f"{r['windows_scores_differ']:>10} {r['windows_class_differs']:>7}")
    out = REPO / "benchmarks" / "results" / "st_har_app.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
