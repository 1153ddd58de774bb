"""Continuous synthetic logs: can a window see a seam? (issue 14)

    python benchmarks/bench_logs.py                    # PAMAP2 wrist logs: trains its own models (~5-10 min)
    python benchmarks/bench_logs.py --run hargan-demo  # the models and synthetic set of a hargan run

1. Models: the ST classifier (default preset) on the real train split and its int8 model; a GAN
   (``--steps`` updates, defaults otherwise); validated sampling, ``--per-class`` accepted windows
   per class. With ``--run DIR`` all of them come from a finished run directory instead.
2. Logs (``gan.continuous``): one ``--seconds`` log per class and one through every class in turn,
   stitched from the accepted windows.
3. Accuracy at every offset: the int8 model on every window cut from the logs at stride 1
   (argmax = label, and acceptance = argmax = label with probability >= 0.5), against the same
   figures on the windows the logs are made of. The sequence log counts windows wholly inside one
   activity; windows across a change are reported apart. Target: within 1 point.
   The same with logs stitched from *raw* generator output (not validated), whose per-window
   figure is below 100 %: cut windows must match it too.
4. Spectrum across seams: the Welch spectrum (window length, mean removed) of windows centred on
   the seams, against the real windows of the class and against the stitched windows themselves
   (mean |log10 PSD| difference over the non-zero bins, decades; the metric's noise floor: two random
   halves of the stitched windows against each other); and the mean sample-to-sample step at the
   seams against the mean one inside the windows (1 = a seam is an ordinary step). A plain
   concatenation of the same windows is the baseline that shows what a visible seam measures.
Writes benchmarks/results/logs.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "pamap2_wrist_mems_studio"
MIN_CONFIDENCE = 0.5


def _train_models(args):
    """PAMAP2 windows, classifier, int8 model, GAN, validated synthetic set (all seeded)."""
    from classifier import DEFAULT_PRESET, Int8Classifier, quantize_int8, train_on_windows
    from gan.sampling import sample_validated
    from gan.training import train_gan
    from har_data import DEFAULT_SENSOR, load_mems_studio, make_windows

    ws = make_windows(load_mems_studio(args.data), 48, 24, sensor=DEFAULT_SENSOR, seed=args.seed)
    clf = train_on_windows(ws, preset=DEFAULT_PRESET, seed=args.seed, epochs=30, patience=6, verbose=0)
    int8 = Int8Classifier(quantize_int8(clf, ws.subset("train").x, seed=args.seed), ws.class_names)
    t0 = time.perf_counter()
    gan = train_gan(ws, clf, steps=args.steps, seed=args.seed)
    print(f"GAN: {args.steps} updates in {time.perf_counter() - t0:.0f} s", flush=True)
    syn = sample_validated(gan, int8, ws.sensor, per_class=args.per_class, min_confidence=MIN_CONFIDENCE,
                           seed=args.seed, max_tries=20)
    if args.save_run:  # the layout of a hargan run directory, for --run
        ws.save(args.save_run / "data" / "windows.npz")
        int8.save(args.save_run / "classifier" / "model_int8.tflite")
        gan.save_models(args.save_run / "gan")
        syn.save(args.save_run / "synthetic" / "windows.npz")
    return ws, int8, gan.generator, syn


def _load_run(run: Path):
    from gan.sampling import SyntheticSet
    from hargan.steps.common import load_int8, load_keras_model, load_windows

    ws = load_windows(run / "data" / "windows.npz")
    int8 = load_int8(run / "classifier" / "model_int8.tflite", ws.class_names)
    generator = load_keras_model(run / "gan" / "generator.keras")
    return ws, int8, generator, SyntheticSet.load(run / "synthetic" / "windows.npz")


def _scores(int8, x, y) -> dict:
    import numpy as np

    if len(x) == 0:
        return {"n": 0}
    pred = int8.predict(x)
    ok = int8.accept(x, y, MIN_CONFIDENCE)
    return {"n": int(len(x)), "accuracy": round(float(np.mean(pred == y)), 4),
            "acceptance": round(float(np.mean(ok)), 4)}


def _cut(log, t: int):
    """Every window of ``t`` samples (stride 1): x, majority label, and whether it lies inside one activity."""
    import numpy as np

    from har_data import segment

    x = segment(log.x_mg, t, 1)
    ys = np.lib.stride_tricks.sliding_window_view(log.y, t)
    pure = (ys == ys[:, :1]).all(axis=1)
    major = np.array([np.bincount(r).argmax() for r in ys])
    return x, major, pure


def _offsets(int8, logs, pools_x, pools_y, t: int) -> dict:
    """int8 figures on the windows the logs are made of vs on every window cut from the logs."""
    import numpy as np

    out = {"windows_stitched": _scores(int8, pools_x, pools_y), "by_log": {}}
    all_x, all_y, cross_x, cross_y = [], [], [], []
    for log in logs:
        x, y, pure = _cut(log, t)
        out["by_log"][log.name] = _scores(int8, x[pure], y[pure])
        all_x.append(x[pure]), all_y.append(y[pure]), cross_x.append(x[~pure]), cross_y.append(y[~pure])
    out["cut_every_offset"] = _scores(int8, np.concatenate(all_x), np.concatenate(all_y))
    out["cut_across_a_change_majority_label"] = _scores(int8, np.concatenate(cross_x), np.concatenate(cross_y))
    ref, cut = out["windows_stitched"], out["cut_every_offset"]
    out["accuracy_points_vs_windows"] = round(100 * (cut["accuracy"] - ref["accuracy"]), 2)
    out["acceptance_points_vs_windows"] = round(100 * (cut["acceptance"] - ref["acceptance"]), 2)
    return out


def _seam_windows(x, seams, t: int):
    import numpy as np

    starts = [int(s) - t // 2 for s in seams if t // 2 <= s <= len(x) - (t - t // 2)]
    return np.stack([x[s: s + t] for s in starts]) if starts else np.zeros((0, t, 3), np.float32)


def _spectrum(logs, naive, real_x, real_y, pools, fs: float, t: int, names) -> dict:
    """Per class: log-PSD distances (decades) and seam steps, stitched logs and plain concatenation."""
    import numpy as np

    from evaluation.metrics import psd_distance

    def step_ratio(x, seams, pool):
        """Mean |x[s] - x[s-1]| at the seams over the mean sample-to-sample step inside the windows (1 = unseen)."""
        at = np.abs(x[seams] - x[seams - 1]).mean()
        return round(float(at / np.abs(np.diff(pool, axis=1)).mean()), 3)

    out = {}
    rng = np.random.default_rng(0)
    for log in (lg for lg in logs if lg.name.startswith("class_")):
        c = int(log.y[0])
        pool, real = pools[c], real_x[real_y == c]
        seam_w = _seam_windows(log.x_mg, log.seams, t)
        nx, nseams = naive[c]
        naive_w = _seam_windows(nx, nseams, t)
        half = rng.permutation(len(pool))
        out[names[c]] = {
            "seams": int(len(seam_w)),
            "psd_windows_half_vs_half": round(float(psd_distance(pool[half[::2]], pool[half[1::2]], fs).mean()), 4),
            "psd_seams_vs_real": round(float(psd_distance(real, seam_w, fs).mean()), 4),
            "psd_windows_vs_real": round(float(psd_distance(real, pool, fs).mean()), 4),
            "psd_seams_vs_windows": round(float(psd_distance(pool, seam_w, fs).mean()), 4),
            "psd_naive_seams_vs_real": round(float(psd_distance(real, naive_w, fs).mean()), 4),
            "psd_naive_seams_vs_windows": round(float(psd_distance(pool, naive_w, fs).mean()), 4),
            "seam_step_over_step_inside": step_ratio(log.x_mg, log.seams, pool),
            "naive_seam_step_over_step_inside": step_ratio(nx, nseams, pool),
        }
    keys = [k for k in next(iter(out.values())) if k != "seams"]
    out["mean"] = {k: round(float(np.mean([v[k] for v in out.values()])), 4) for k in keys}
    return out


def _naive(pools, n: int, seed: int):
    """Plain concatenation of randomly drawn windows (the seam-visible baseline): {class: (x, seams)}."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = {}
    for c, pool in pools.items():
        t = pool.shape[1]
        idx = rng.integers(len(pool), size=-(-n // t))
        out[c] = (np.concatenate(list(pool[idx]))[:n], np.arange(t, n, t))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--run", type=Path, help="take the models and synthetic set from this hargan run directory")
    ap.add_argument("--steps", type=int, default=1500, help="GAN updates (without --run)")
    ap.add_argument("--per-class", type=int, default=100, help="accepted windows per class (without --run)")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--save-run", type=Path, help="without --run: keep the trained models there (run layout)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "logs.json")
    args = ap.parse_args(argv)
    if args.run is None and not args.data.is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2

    import numpy as np

    from gan.continuous import continuous_logs
    from gan.sampling import SyntheticSet, generate_windows
    from har_data.atomic import write_text

    t_all = time.perf_counter()
    ws, int8, generator, syn = _load_run(args.run) if args.run else _train_models(args)
    names, sensor, t = list(syn.class_names), syn.sensor, syn.x_mg.shape[1]
    print(f"synthetic: {syn.counts()}, per-window acceptance of the generator {syn.acceptance_by_class}", flush=True)
    result: dict = {"source": str(args.run or args.data), "sensor": sensor.to_dict(), "window": t,
                    "log_seconds": args.seconds, "generator_acceptance_by_class": syn.acceptance_by_class}

    logs = continuous_logs(syn, args.seconds, None, seed=args.seed)
    result["validated"] = _offsets(int8, logs, syn.x_mg, syn.y, t)
    # Raw generator output (not validated): the per-window figure is below 100 %, cut windows must match it.
    x_raw, y_raw = generate_windows(generator, len(syn) // len(names), seed=args.seed + 7)
    counts = sensor.to_counts(x_raw)
    raw = SyntheticSet(sensor.to_mg(counts), counts, y_raw.astype(np.int64), names, sensor)
    raw_logs = continuous_logs(raw, args.seconds, None, seed=args.seed)
    result["raw_generator"] = _offsets(int8, raw_logs, raw.x_mg, raw.y, t)

    pools = {c: syn.x_mg[syn.y == c] for c in range(len(names))}
    naive = _naive(pools, round(args.seconds * sensor.odr_hz), args.seed)
    naive_logs = [type(logs[0])(f"class_{names[c]}", x, np.full(len(x), c), names, sensor, s, {})
                  for c, (x, s) in naive.items()]
    result["naive_concatenation"] = _offsets(int8, naive_logs, syn.x_mg, syn.y, t)
    result["spectrum"] = _spectrum(logs, naive, ws.x, ws.y, pools, sensor.odr_hz, t, names)
    result["total_s"] = round(time.perf_counter() - t_all, 1)

    for key in ("validated", "raw_generator", "naive_concatenation"):
        r = result[key]
        print(f"{key}: windows {r['windows_stitched']}, cut at every offset {r['cut_every_offset']} "
              f"({r['accuracy_points_vs_windows']:+.2f} points accuracy, {r['acceptance_points_vs_windows']:+.2f} "
              f"acceptance); across a change {r['cut_across_a_change_majority_label']}")
    print("spectrum (mean over classes):", result["spectrum"]["mean"])
    write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out} ({result['total_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
