"""The board's decision stage: accuracy against change latency, on held-out logs of a run.

    python benchmarks/bench_smoothing.py --run runs/st_mobile --split val    # choose the default here
    python benchmarks/bench_smoothing.py --run runs/st_mobile --split test   # report here
    python benchmarks/bench_smoothing.py --transfer shot4-disjoint           # a board model from 4 s per class

With ``--transfer``, bench_transfer.py's time-disjoint protocol instead of a run: per fold a board
model trained on a few seconds per class of one sensor's logs (the transfer recipe, PAMAP2 beside
them), tested on the two other sensors' logs at least one window away in time from that stretch.

The run's board model (``classifier/model_int8.tflite`` and its ``model_int8.json``) classifies
the held-out recordings of one split of the run's own windows (``data/windows.npz``: the target's
in a transfer run), the recordings it was not trained on. Those logs hold one activity each; to
measure the latency at a change of activity they are cut into bouts of ``--bout`` seconds
(seeded, uniform between the two bounds) and chained, no two bouts of one class in a row, into
``--chains`` continuous streams at the sensor's rate. Each stream then runs exactly as on the
board (``hargan.streams``: gravity filter over the whole stream, windows every stride, int8 model)
and the decision stage votes over the last N decisions for every vote length asked. Reported per
vote length: per-window accuracy after the vote, and the median and 90th percentile of the time
from an activity change to the first correct decision (and changes with none before the next
change). A score sum over the last N windows (argmax of the summed int8 scores, ties to the
lower id) is measured beside the vote for comparison.

A bout's first seconds are a hard change (one person's walking cut into another's cycling), so
latencies are those of clean changes; real transitions add their own seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from classifier.decisions import change_latencies, latency_summary, vote, vote_decisions  # noqa: E402
from har_data import Recording, load_source, write_text  # noqa: E402
from har_data.windows import resample  # noqa: E402
from hargan.classify import board_model, true_labels  # noqa: E402
from hargan.config import load_config  # noqa: E402
from hargan.streams import stream_decisions  # noqa: E402

SECONDS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 10.0, 15.0)


def held_out(run: Path, split: str, prep) -> list[tuple[Recording, str]]:
    """The run's recordings of ``split`` (by the groups in data/windows.npz), labelled with the model's classes."""
    from har_data import WindowSet

    ws = WindowSet.load(run / "data" / "windows.npz")
    groups = set(ws.group[ws.split == split].tolist())
    cfg = load_config(run / "config.toml")
    dom = cfg.data.target or cfg.data.source
    recs = load_source(dom.name, dom.path, **dict(dom.options))
    labelled = true_labels(recs, prep.class_names, dom.class_map)
    return [(r, lab) for r, lab in labelled if r.group in groups]


def chains(recs: list[tuple[Recording, str]], odr: float, bout: tuple[float, float], n: int,
           seed: int) -> list[tuple[Recording, list[str]]]:
    """``n`` streams of seeded bouts of the recordings, at ``odr``, no two bouts of one class in a row."""
    rng = np.random.default_rng(seed)
    at_rate = [(resample(r, odr).samples, lab) for r, lab in recs]
    out = []
    for _ in range(n):
        pieces = []
        for x, lab in at_rate:
            start = 0
            while start < len(x):
                size = int(rng.uniform(*bout) * odr)
                if len(x) - start - size < bout[0] * odr / 2:
                    size = len(x) - start  # a short rest joins the last bout
                pieces.append((x[start:start + size], lab))
                start += size
        order, last = [], None
        while pieces:
            ok = [i for i, (_, lab) in enumerate(pieces) if lab != last] or list(range(len(pieces)))
            i = ok[int(rng.integers(len(ok)))]
            order.append(pieces.pop(i))
            last = order[-1][1]
        x = np.concatenate([p for p, _ in order])
        labels = [lab for p, lab in order for _ in range(len(p))]
        out.append((Recording(x, odr, "", "chain", meta={"original_unit": "mg"}), labels))
    return out


def score_sum(q: np.ndarray, n: int) -> np.ndarray:
    """argmax of the int8 scores summed over the last ``n`` windows (fewer at the start)."""
    c = np.cumsum(q.astype(np.int64), axis=0)
    past = np.concatenate([np.zeros((n, q.shape[1]), np.int64), c])[: len(q)]
    return np.argmax(c - past, axis=-1)


def decisions_of(int8, prep, streams) -> list[tuple]:
    """Each stream's raw decisions (with their times and true classes) and int8 scores, vote off."""
    names, runs = list(prep.class_names), []
    for rec, labels in streams:
        d = stream_decisions(int8, replace(prep, vote=1), rec, labels, None, 1)
        x, _ = prep.windows(rec)
        runs.append((d, np.array([names.index(c) for c in d.true]), int8.predict_int8(x)))
    return runs


def measure(runs: list[tuple], steady: list[tuple], prep, seconds: list[float]) -> list[dict]:
    """One row per vote length: accuracy and change latency over the chains, for the majority vote and the
    score sum, and the vote's accuracy on the logs as recorded (one activity each, no change)."""
    rows = []
    for s in seconds:
        n = vote_decisions(s, prep.sensor.odr_hz, prep.stride)
        hits = sum(int(np.sum(vote(d.raw, n, len(prep.class_names)) == t)) for d, t, _ in steady)
        row = {"seconds": s, "vote": n, "steady_accuracy": round(hits / sum(len(t) for _, t, _ in steady), 4)}
        for kind in ("majority", "score_sum"):
            hits, total, lat, missed = 0, 0, [], 0
            for d, t, q in runs:
                pred = vote(d.raw, n, len(prep.class_names)) if kind == "majority" else score_sum(q, n)
                hits, total = hits + int(np.sum(pred == t)), total + len(t)
                got, miss = change_latencies(t, pred, d.times_s, d.change_times_s)
                lat, missed = lat + got, missed + miss
            row[kind] = {"accuracy": round(hits / total, 4), **latency_summary(lat, missed)}
        rows.append(row)
        m, c = row["majority"], row["score_sum"]
        print(f"  {s:5.1f} s = {n:3d} decisions: one activity {100 * row['steady_accuracy']:5.1f}%; vote "
              f"{100 * m['accuracy']:5.1f}% latency {m['median_s']} / "
              f"{m['p90_s']} s ({m['missed']} missed of {m['changes']}); score sum {100 * c['accuracy']:5.1f}% "
              f"{c['median_s']} / {c['p90_s']} s", flush=True)
    return rows


def as_recorded(recs: list[tuple[Recording, str]]) -> list[tuple[Recording, list[str]]]:
    """Each log as its own stream (one activity, no change)."""
    return [(r, [lab] * len(r)) for r, lab in recs]


def transfer_protocol(protocol: str, args) -> tuple[list[tuple], list[tuple], object]:
    """bench_transfer's ``protocol`` (e.g. shot4-disjoint): per fold, the transfer board model on its few
    seconds of one sensor, and chains of the other sensors' logs away in time from them."""
    from types import SimpleNamespace

    import bench_transfer as bt
    from hargan.classify import Preprocessing
    from hargan.config import TransferConfig

    src, tgt = bt.load_domains(bt.SOURCE, bt.TARGET)
    classes = bt.CLASSES5[: args.classes]
    settings = SimpleNamespace(epochs=15, min_windows=1024, gan_steps=300)
    prep = Preprocessing(bt.SENSOR, bt.WINDOW, TransferConfig.target_stride, True, classes, 1)
    runs, steady = [], []
    for k, (fold, train, test) in enumerate(bt.folds(protocol, tgt, args.seed)):
        int8 = bt.recipe(["no_synthetic"], src, train, classes, bt.WindowCache(), args.seed, settings)["no_synthetic"]
        test = [(r, r.label) for r in test if r.label in classes]
        print(f"  {protocol} {fold}: {len(test)} test pieces ({sum(len(r) / r.odr_hz for r, _ in test):.0f} s)",
              flush=True)
        runs += decisions_of(int8, prep, chains(test, prep.sensor.odr_hz, tuple(args.bout), args.chains,
                                                args.seed + k))
        steady += decisions_of(int8, prep, as_recorded(test))
    return runs, steady, prep


def table(result: dict) -> str:
    """The markdown table of one result."""
    lines = ["| vote over | decisions | accuracy, one activity per log | accuracy, a change every "
             f"{result['bout_s'][0]:g}-{result['bout_s'][1]:g} s | change latency median / p90 (s) | missed changes "
             "| score sum instead: accuracy, latency median / p90 |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        v, s = r["majority"], r["score_sum"]
        span = "none" if r["vote"] == 1 else f"{r['seconds']:g} s"
        lines.append(f"| {span} | {r['vote']} | {100 * r['steady_accuracy']:.1f}% | {100 * v['accuracy']:.1f}% | "
                     f"{v['median_s']:.1f} / {v['p90_s']:.1f} | {v['missed']} of {v['changes']} | "
                     f"{100 * s['accuracy']:.1f}%, {s['median_s']:.1f} / {s['p90_s']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", help="a run directory (hargan run ... --until quantize is enough)")
    which.add_argument("--transfer", choices=("shot4-disjoint", "shot10-disjoint"),
                       help="bench_transfer's protocol instead: a board model per fold, tested away in time from "
                            "its training stretch (PAMAP2 + ST's phone logs from ../shared/data)")
    ap.add_argument("--classes", type=int, default=5, choices=(4, 5), help="--transfer: 5 or 4 classes")
    ap.add_argument("--split", default="val", choices=("train", "val", "test"))
    ap.add_argument("--seconds", nargs="+", type=float, default=list(SECONDS), help="vote lengths (0: none)")
    ap.add_argument("--bout", nargs=2, type=float, default=(20.0, 60.0), metavar=("MIN", "MAX"),
                    help="bout length in seconds (uniform)")
    ap.add_argument("--chains", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="write the rows as JSON here (and the table as .md beside)")
    args = ap.parse_args(argv)
    t0 = time.time()
    if args.transfer:
        runs, steady, prep = transfer_protocol(args.transfer, args)
        where = {"transfer_protocol": args.transfer, "classes": args.classes}
    else:
        run = Path(args.run)
        _, prep, int8 = board_model(run=run)
        recs = held_out(run, args.split, prep)
        print(f"{run}: {len(recs)} {args.split} recordings ({sum(len(r) / r.odr_hz for r, _ in recs):.0f} s), "
              f"a decision every {prep.stride / prep.sensor.odr_hz:.2f} s", flush=True)
        runs = decisions_of(int8, prep, chains(recs, prep.sensor.odr_hz, tuple(args.bout), args.chains, args.seed))
        steady = decisions_of(int8, prep, as_recorded(recs))
        where = {"run": str(run), "split": args.split, "recordings": len(recs)}
    rows = measure(runs, steady, prep, args.seconds)
    result = {**where, "bout_s": list(args.bout), "chains": args.chains, "seed": args.seed,
              "stride_s": prep.stride / prep.sensor.odr_hz, "seconds_wall": round(time.time() - t0, 1),
              "command": "python benchmarks/bench_smoothing.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "rows": rows}
    print(table(result))
    if args.out:
        write_text(Path(args.out).with_suffix(".json"), json.dumps(result, indent=1) + "\n")
        write_text(Path(args.out).with_suffix(".md"), f"`{result['command']}`\n\n" + table(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
