"""Benchmark the classifier presets on the PAMAP2 wrist logs (MEMS Studio CSV, 26 Hz, mg).

For every preset: float and int8 accuracy, macro-F1, .tflite bytes, TFLite-Micro arena bytes,
parameters, LiteRT == TFLite-Micro (bit for bit), and int8 LiteRT throughput (windows/s, batched).

Splits:
- ``by-log``: the WindowSet's own split (har_data.split_groups: whole logs go to train/val/test).
  This is the figure that counts: neighbouring windows of one log never sit on both sides.
- ``by-window``: windows shuffled into 70/15/15 regardless of log, as ST's tutorial does (its
  98.7% figure); neighbouring, 50%-overlapping windows leak into the test set, so it flatters.
- ``--cv K``: K-fold cross-validation by log (StratifiedGroupKFold) for the presets in
  ``--cv-presets``: the spread across folds shows how much one 8-log test set can swing.

    python benchmarks/bench_classifier.py                   # all presets, both splits, CV for the default
    python benchmarks/bench_classifier.py --quick           # a fast smoke run

The machine this runs on may be shared: throughput figures are noisy (taken with 2 threads).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from classifier import (DEFAULT_PRESET, PRESETS, Int8Classifier, classifier_figures,  # noqa: E402
                        quantize_int8, train_on_windows)
from har_data import SensorSpec, WindowSet, load_mems_studio, make_windows, write_text  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "pamap2_wrist_mems_studio"
CLASSES = ["stationary", "walking", "running", "cycling"]


def load_windows(path: Path, full_scale_g: int, seed: int) -> WindowSet:
    recs = load_mems_studio(path)
    # Class order: the folder ids (0_stationary, 1_walking, ...).
    sensor = SensorSpec("LSM6DSL", full_scale_g, 26.0)
    return make_windows(recs, length=48, stride=24, sensor=sensor, class_names=CLASSES, seed=seed)


def by_window(ws: WindowSet, seed: int) -> WindowSet:
    """The same windows, split 70/15/15 at random per window (leaky, as in ST's tutorial)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ws))
    split = np.empty(len(ws), dtype=object)
    n_tr, n_va = int(0.7 * len(ws)), int(0.15 * len(ws))
    split[order[:n_tr]] = "train"
    split[order[n_tr:n_tr + n_va]] = "val"
    split[order[n_tr + n_va:]] = "test"
    return WindowSet(ws.x, ws.y, ws.class_names, split.astype(str), ws.group, ws.sensor, ws.odr_hz)


def cv_folds(ws: WindowSet, k: int, seed: int):
    """K folds by log; from each fold's training logs one log per class is held out for validation."""
    from sklearn.model_selection import StratifiedGroupKFold

    majority = {g: int(np.bincount(ws.y[ws.group == g]).argmax()) for g in set(ws.group.tolist())}
    rng = np.random.default_rng(seed)
    for train_val, test in StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(ws.x, ws.y, ws.group):
        split = np.full(len(ws), "train", dtype=object)
        split[test] = "test"
        logs = sorted(set(ws.group[train_val].tolist()))
        rng.shuffle(logs)
        seen: set[int] = set()
        for g in logs:
            if majority[g] not in seen:
                seen.add(majority[g])
                split[ws.group == g] = "val"
        yield WindowSet(ws.x, ws.y, ws.class_names, split.astype(str), ws.group, ws.sensor, ws.odr_hz)


def throughput(int8: Int8Classifier, x: np.ndarray, n: int, repeats: int = 3) -> float:
    """Best-of-``repeats`` windows/s for ``n`` windows in batches (the machine may be busy)."""
    big = np.resize(x, (n,) + x.shape[1:]).astype(np.float32)
    int8.predict_int8(big[:int8._max_batch])  # warm up: resize + allocate
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        int8.predict_int8(big)
        best = max(best, n / (time.perf_counter() - t0))
    return best


def run_one(ws: WindowSet, preset: str, args, with_speed: bool) -> dict:
    t0 = time.perf_counter()
    model = train_on_windows(ws, preset=preset, epochs=args.epochs, batch_size=args.batch_size,
                             patience=args.patience, seed=args.seed, verbose=0)
    train_s = time.perf_counter() - t0
    train = ws.subset("train")
    test = ws.subset("test")
    int8 = Int8Classifier(quantize_int8(model, train.x, num_samples=300, seed=args.seed), ws.class_names,
                          num_threads=args.threads)
    figs = classifier_figures(model, int8, test.x, test.y, ws.class_names, agree_windows=args.agree_windows)
    figs.update(preset=preset, epochs_run=len(model.history.history["loss"]), train_seconds=round(train_s, 1),
                test_windows=int(len(test)), test_logs=int(len(set(test.group.tolist()))))
    if with_speed:
        fast = Int8Classifier(int8.model_bytes, ws.class_names, num_threads=args.threads, kernels="optimized")
        figs["litert_windows_per_s"] = round(throughput(int8, test.x, args.speed_windows))
        figs["litert_optimized_windows_per_s"] = round(throughput(fast, test.x, args.speed_windows))
        figs["optimized_max_code_diff"] = int(np.max(np.abs(fast.predict_int8(test.x).astype(int)
                                                            - int8.predict_int8(test.x).astype(int))))
    return figs


def fmt_table(rows: list[dict]) -> str:
    head = ["split", "preset", "float acc", "int8 acc", "int8-float", "macro-F1", "tflite B", "arena B", "params",
            "agree", "win/s ref", "win/s opt"]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        lines.append(" | ".join([
            r["split"], r["preset"], f"{100 * r['float_accuracy']:.2f}%", f"{100 * r['int8_accuracy']:.2f}%",
            f"{100 * (r['int8_accuracy'] - r['float_accuracy']):+.2f}", f"{r['macro_f1']:.4f}",
            str(r["tflite_bytes"]), str(r["arena_bytes"]), str(r["params"]),
            "yes" if r["int8_runtimes_agree"] else "NO",
            str(r.get("litert_windows_per_s", "-")), str(r.get("litert_optimized_windows_per_s", "-")),
        ]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--presets", default=",".join(PRESETS), help="comma-separated preset names")
    ap.add_argument("--splits", default="by-log,by-window")
    ap.add_argument("--full-scale", type=int, default=8,
                    help="sensor full scale in g (the logs were recorded at +-8 g; 4 saturates them at 4 g)")
    ap.add_argument("--also-full-scale", type=int, default=4,
                    help="also run the default preset, by log, with the logs saturated at this full scale (0: off)")
    ap.add_argument("--epochs", type=int, default=80)
    ap.add_argument("--patience", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cv", type=int, default=5, help="K-fold CV by log (0: off)")
    ap.add_argument("--cv-presets", default=DEFAULT_PRESET)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--speed-windows", type=int, default=16384)
    ap.add_argument("--agree-windows", type=int, default=256, help="test windows compared LiteRT vs TFLM")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "classifier.json")
    ap.add_argument("--quick", action="store_true", help="few epochs, one preset, no CV (smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.epochs, args.cv, args.speed_windows, args.also_full_scale = 3, 0, 2048, 0
        args.presets = DEFAULT_PRESET
    if not args.data.is_dir():
        print(f"data not found: {args.data}", file=sys.stderr)
        return 2
    presets = [p for p in args.presets.split(",") if p]
    unknown = [p for p in presets if p not in PRESETS]
    if unknown:
        print(f"unknown presets: {unknown}; valid: {list(PRESETS)}", file=sys.stderr)
        return 2

    t_start = time.perf_counter()
    ws = load_windows(args.data, args.full_scale, args.seed)
    print(f"{len(ws)} windows of 48 x 3 from {len(set(ws.group.tolist()))} logs, +-{args.full_scale} g; "
          f"by-log split: " + ", ".join(f"{s} {int(np.sum(ws.split == s))} windows / "
                                         f"{len(set(ws.group[ws.split == s].tolist()))} logs"
                                         for s in ("train", "val", "test")), flush=True)
    splits = {"by-log": ws, "by-window": by_window(ws, args.seed)}
    rows = []
    for split_name in [s for s in args.splits.split(",") if s]:
        for preset in presets:
            r = run_one(splits[split_name], preset, args, with_speed=(split_name == "by-log"))
            r["split"] = split_name
            rows.append(r)
            print(f"  {split_name:9s} {preset:10s} float {100 * r['float_accuracy']:.2f}%  "
                  f"int8 {100 * r['int8_accuracy']:.2f}%  {r['tflite_bytes']} B  agree={r['int8_runtimes_agree']}"
                  f"  ({r['train_seconds']} s)", flush=True)
    if args.also_full_scale and args.also_full_scale != args.full_scale and "by-log" in args.splits:
        other = load_windows(args.data, args.also_full_scale, args.seed)
        r = run_one(other, DEFAULT_PRESET, args, with_speed=False)
        r["split"] = f"by-log, +-{args.also_full_scale} g"
        rows.append(r)
        print(f"  {r['split']} {DEFAULT_PRESET:10s} float {100 * r['float_accuracy']:.2f}%  "
              f"int8 {100 * r['int8_accuracy']:.2f}%  {r['tflite_bytes']} B", flush=True)
    cv = {}
    if args.cv:
        for preset in [p for p in args.cv_presets.split(",") if p]:
            folds = []
            for i, fold in enumerate(cv_folds(ws, args.cv, args.seed)):
                r = run_one(fold, preset, args, with_speed=False)
                folds.append({k: r[k] for k in ("float_accuracy", "int8_accuracy", "macro_f1", "test_windows",
                                                "test_logs", "int8_runtimes_agree")})
                print(f"  cv {preset} fold {i}: int8 {100 * r['int8_accuracy']:.2f}%", flush=True)
            cv[preset] = {
                "folds": folds,
                "float_accuracy_mean": float(np.mean([f["float_accuracy"] for f in folds])),
                "int8_accuracy_mean": float(np.mean([f["int8_accuracy"] for f in folds])),
                "int8_accuracy_min": float(np.min([f["int8_accuracy"] for f in folds])),
            }
    table = fmt_table(rows)
    print()
    print(table)
    for preset, c in cv.items():
        print(f"\n{args.cv}-fold CV by log, {preset}: float {100 * c['float_accuracy_mean']:.2f}%, "
              f"int8 {100 * c['int8_accuracy_mean']:.2f}% (worst fold {100 * c['int8_accuracy_min']:.2f}%)")
    result = {
        "command": "python benchmarks/bench_classifier.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "data": str(args.data.name),
        "sensor": {"name": "LSM6DSL", "full_scale_g": args.full_scale, "odr_hz": 26.0},
        "window": {"length": 48, "stride": 24},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "note": "shared machine: throughput is noisy; LiteRT with 2 threads, batches of 1024"},
        "rows": rows,
        "cv": cv,
        "table": table,
        "seconds": round(time.perf_counter() - t_start, 1),
    }
    write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
