"""What the evaluation figures look like on the bundled real data, for known kinds of "synthetic" data.

The real training recordings are split by recording into two halves: A stays the real training
split, B plays the synthetic set. Then B is degraded in known ways. Expected: "held-out real" is
the ideal generator (TSTR ~ TRTR, discriminative score and MMD small, nothing memorised);
"copies of train" is flagged as memorised; "noisy", "low-passed" and "wrong labels" get worse
in the figures meant to catch them.

    python benchmarks/bench_evaluation.py [--full] [--seed 0] [--cases held_out,copies,...]

Prints a table and writes benchmarks/results/evaluation[_full].json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import signal

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "pamap2_wrist_mems_studio"


def cases(real, seed: int) -> tuple[object, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The real set with half of its training recordings set aside, and the synthetic candidates."""
    from evaluation.scores import subsample_by_group

    train = real.split == "train"
    tr_idx = np.flatnonzero(train)
    half = subsample_by_group(real.y[tr_idx], real.group[tr_idx], 0.5, seed=seed)
    b_idx = tr_idx[np.setdiff1d(np.arange(len(tr_idx)), half)]
    split = real.split.copy()
    split[b_idx] = "unused"
    real_a = type(real)(real.x, real.y, real.class_names, split, real.group, real.sensor, real.odr_hz)
    xb, yb = real.x[b_idx], real.y[b_idx]
    rng = np.random.default_rng(seed)
    a = real_a.subset("train")
    pick = rng.choice(len(a), min(len(a), len(xb)), replace=False)
    copies = a.x[pick] + rng.normal(0, 2.0, a.x[pick].shape).astype(np.float32)  # training windows + 2 mg noise
    sos = signal.butter(4, 2.0, fs=real.odr_hz, output="sos")
    low = signal.sosfiltfilt(sos, xb, axis=1).astype(np.float32)
    return real_a, {
        "held_out": (xb, yb),
        "copies": (copies, a.y[pick]),
        "noisy": (xb + rng.normal(0, 150, xb.shape).astype(np.float32), yb),
        "lowpass_2hz": (low, yb),
        "wrong_labels": (xb, (yb + 1) % real.num_classes),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="full budgets (default: quick)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default="cnn1d")
    ap.add_argument("--cases", default="held_out,copies,noisy,lowpass_2hz,wrong_labels")
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"no real data at {DATA}", file=sys.stderr)
        return 2
    import har_data
    from evaluation.scores import evaluate_synthetic

    recs = har_data.load_source("mems-studio", DATA)
    real = har_data.make_windows(recs, sensor=har_data.DEFAULT_SENSOR, seed=args.seed)
    real_a, syn = cases(real, args.seed)

    rows = []
    for name in args.cases.split(","):
        x, y = syn[name]
        t0 = time.perf_counter()
        m = evaluate_synthetic(real_a, x, y, preset=args.preset, seed=args.seed, quick=not args.full)
        m.pop("figures", None)
        row = {"case": name, "seconds": round(time.perf_counter() - t0, 1), **{k: m[k] for k in (
            "trtr_accuracy", "tstr_accuracy", "tstr_ratio", "discriminative_score", "discriminative_reference", "mmd",
            "psd_distance", "memorised_fraction")}, "nn_ratio": m["nn_dtw"]["ratio"],
            "ref_memorised_fraction": m["nn_dtw"].get("ref_memorised_fraction"),
            "augmentation_gain": {k: v.get("gain") for k, v in m["augmentation_gain"].items()}}
        rows.append(row)
        print(json.dumps(row), flush=True)

    cols = ["case", "trtr_accuracy", "tstr_accuracy", "tstr_ratio", "discriminative_score", "mmd", "psd_distance",
            "memorised_fraction", "nn_ratio", "seconds"]
    ref = rows[0] if rows else {}
    print(f"real-data floors: discriminative_reference {ref.get('discriminative_reference')}, "
          f"ref_memorised_fraction {ref.get('ref_memorised_fraction')}")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols) + " |")
    out = ROOT / "benchmarks" / "results" / f"evaluation{'_full' if args.full else ''}.json"
    from har_data.atomic import write_text

    write_text(out, json.dumps({"preset": args.preset, "seed": args.seed, "full": args.full,
                                "n_real_train": int(len(real_a.subset('train'))), "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
