"""GAN benchmark on the PAMAP2 wrist logs (MEMS Studio CSV, 26 Hz): speed and time to quality.

    python benchmarks/bench_gan.py                       # full run (~10-20 min on 2 busy cores)
    python benchmarks/bench_gan.py --steps 600 --quick   # smoke run

1. Windows 48 / stride 24 at 26 Hz in the default sensor format (LSM6DSL, +-4 g), split by log.
2. The ST classifier (default preset) on the real train split; its int8 model.
3. Speed: generator updates per second (n_critic 5, batch 64, classifier feedback on), with and
   without XLA (``jit_compile``); wall clock and process CPU time.
4. Time to quality: train with the defaults; every ``--eval-every`` updates (clock paused) generate
   as many windows per class as the real train split has, and measure TSTR / TRTR (same preset,
   early stopping on the real val split), the discriminative score (1 seed at checkpoints, 3 at the
   end) and the int8 acceptance of the raw generator output, per class.
5. At the end: validated sampling (int8-accepted windows only) and the same figures on them.

Fidelity, measured fairly: every discriminative score compares with the same *reference* set, the
train logs' windows without overlap (stride = length; overlapping windows would let the post-hoc
model recognise its own test windows' neighbours), on the same number of windows per class. The
*floor* is what new real data scores: the held-out logs' non-overlapping windows against that
reference (a generator that samples the real distribution scores about this). Fidelity gap =
synthetic score - floor; "time to fidelity" = training time until the gap is <= 0.05.

Targets: TSTR >= 0.98 TRTR; int8 acceptance >= 97 % every class; fidelity gap <= 0.05 (issue 16),
and the time to reach it; TSTR >= 0.98 TRTR within 60 s of training; >= 25 updates/s.
The machine is shared (several developers, 2 cores): timings are noisy, CPU time is given too.
Writes benchmarks/results/gan.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "pamap2_wrist_mems_studio"


FIDELITY_GAP = 0.05  # issue 16: the discriminative score within this of the real-vs-real floor


def _windows(recordings, seed: int, stride: int = 24):
    from har_data import DEFAULT_SENSOR, make_windows

    return make_windows(recordings, 48, stride, sensor=DEFAULT_SENSOR, seed=seed)


def _without_overlap(recordings, ws):
    """The same logs cut with stride = length, each log in the split ``ws`` gave it."""
    from har_data import WindowSet

    fair = _windows(recordings, seed=0, stride=ws.preprocessing["window"])  # its own split is replaced below
    split_of = dict(zip(ws.group.tolist(), ws.split.tolist()))
    return WindowSet(fair.x, fair.y, fair.class_names, np.array([split_of[g] for g in fair.group.tolist()]),
                     fair.group, fair.sensor, fair.odr_hz, fair.preprocessing)


def _speed(ws, clf, *, jit: bool, steps: int, seed: int) -> dict:
    from gan.data import make_gan_dataset
    from gan.models import build_critic, build_generator
    from gan.training import DEFAULT_LATENT_DIM
    from gan.wgan import ConditionalWGANGP

    train = ws.subset("train")
    g = build_generator(DEFAULT_LATENT_DIM, ws.class_names, 48, 3, ws.sensor.full_scale_g)
    c = build_critic(ws.class_names, 48, 3, ws.sensor.full_scale_g)
    gan = ConditionalWGANGP(g, c, clf, n_critic=5, seed=seed)
    gan.compile(jit_compile=jit)
    ds = make_gan_dataset(train.x, train.y, 64, seed, n_critic=5)
    t0 = time.perf_counter()
    gan.fit(ds, epochs=1, steps_per_epoch=20, verbose=0)  # trace / compile
    warm = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    gan.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"jit_compile": jit, "updates": steps, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "updates_per_s": round(steps / wall, 2), "cpu_ms_per_update": round(1000 * cpu / steps, 1),
            "first_20_updates_s": round(warm, 1), "generator_params": g.count_params(),
            "critic_params": c.count_params()}


class _Checkpoints:
    """Keras callback: every ``every`` updates, pause the clock and score the generator."""

    def __new__(cls, *args, **kwargs):
        import keras

        class Impl(keras.callbacks.Callback):
            def __init__(self, every, score):
                super().__init__()
                self.every, self.score = int(every), score
                self.train_s, self.t0, self.rows = 0.0, None, []

            def on_train_batch_begin(self, batch, logs=None):
                if self.t0 is None:
                    self.t0 = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                step = int(self.model.step_counter.numpy())
                if step % self.every == 0:
                    self.train_s += time.perf_counter() - self.t0
                    row = {"updates": step, "train_s": round(self.train_s, 1),
                           **{k: round(float(v), 4) for k, v in (logs or {}).items()}}
                    row.update(self.score(self.model))
                    self.rows.append(row)
                    print("  " + ", ".join(f"{k} {v}" for k, v in row.items() if not isinstance(v, dict)), flush=True)
                    self.t0 = time.perf_counter()

        return Impl(*args, **kwargs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--steps", type=int, default=3000, help="generator updates of the quality run")
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--speed-steps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="short classifier budgets (smoke run)")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--generator-width", type=int, default=None, help="generator filters (default: the library's)")
    ap.add_argument("--critic-width", type=int, default=None, help="critic filters (default: the library's)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gan.json")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2

    from classifier import (DEFAULT_PRESET, Int8Classifier, evaluate_classifier, quantize_int8, train_classifier,
                            train_on_windows)
    from evaluation.scores import discriminative_score, int8_acceptance
    from gan.sampling import sample_validated
    from gan.training import train_gan
    from har_data import load_mems_studio
    from har_data.jsonio import write_json

    t_all = time.perf_counter()
    recordings = load_mems_studio(args.data)
    ws = _windows(recordings, args.seed)
    train, val, test = ws.subset("train"), ws.subset("val"), ws.subset("test")
    names, sensor = ws.class_names, ws.sensor
    print(f"windows: {len(ws)} ({ws.counts()}), train/val/test {len(train)}/{len(val)}/{len(test)}, sensor {sensor}")
    epochs, patience = (15, 4) if args.quick else (60, 10)
    clf = train_on_windows(ws, preset=DEFAULT_PRESET, seed=args.seed, epochs=epochs, patience=patience, verbose=0)
    int8 = Int8Classifier(quantize_int8(clf, train.x, seed=args.seed), names)

    def accuracy(x, y, seed=args.seed):
        m = train_classifier(x, y, names, x_val=val.x, y_val=val.y, preset=DEFAULT_PRESET,
                             full_scale_g=float(sensor.full_scale_g), epochs=epochs, patience=patience,
                             seed=seed, verbose=0)
        return float(evaluate_classifier(m, test.x, test.y, names)["accuracy"])

    trtr = accuracy(train.x, train.y)
    print(f"classifier ({DEFAULT_PRESET}): TRTR accuracy {trtr:.4f}")

    result: dict = {"data": str(args.data), "windows": {"length": 48, "stride": 24, "odr_hz": 26.0,
                                                         "sensor": sensor.to_dict(), "counts": ws.counts(),
                                                         "train": len(train), "val": len(val), "test": len(test)},
                    "preset": DEFAULT_PRESET, "trtr_accuracy": trtr, "machine": f"{os.cpu_count()} cores, shared",
                    "load_average": os.getloadavg()}

    if not args.skip_speed:
        result["speed"] = []
        for jit in (False, True):
            r = _speed(ws, clf, jit=jit, steps=args.speed_steps, seed=args.seed)
            result["speed"].append(r)
            print(f"speed jit_compile={jit}: {r['updates_per_s']} updates/s wall, {r['cpu_ms_per_update']} ms CPU "
                  f"per update (load {os.getloadavg()[0]:.1f})")

    per_class = np.bincount(train.y, minlength=len(names))
    fair = _without_overlap(recordings, ws)
    reference, held = fair.subset("train"), fair.subset(["val", "test"])
    held_per_class = [int(n) for n in np.bincount(held.y, minlength=len(names))]
    disc_epochs = 15 if args.quick else 40

    def discriminative(x, y, seeds):
        """The score against the fair reference, as the floor is computed."""
        return discriminative_score(reference.x, reference.y, x, y, len(names), seeds=seeds, seed=args.seed,
                                    epochs=disc_epochs)["score"]

    floor = discriminative(held.x, held.y, seeds=3)
    result["fidelity"] = {"reference_windows": len(reference), "heldout_windows": len(held),
                          "heldout_per_class": held_per_class, "floor": round(floor, 4), "target_gap": FIDELITY_GAP}
    print(f"fidelity floor: real held-out logs vs the train logs, both without overlap: {floor:.3f} "
          f"({len(held)} vs {len(reference)} windows)")

    def score(gan, seeds=1):
        x, y = gan.generate([int(n) for n in per_class], seed=args.seed + 1)
        xq = sensor.quantize_mg(x)
        acc8, acc8_by = int8_acceptance(int8, xq, y, names)
        tstr = accuracy(xq, y)
        xf, yf = gan.generate(held_per_class, seed=args.seed + 2)  # as many per class as the floor's real set
        disc = discriminative(sensor.quantize_mg(xf), yf, seeds)
        return {"tstr_accuracy": round(tstr, 4), "tstr_ratio": round(tstr / trtr, 4),
                "discriminative_score": round(disc, 4), "fidelity_gap": round(disc - floor, 4),
                "int8_acceptance_min": round(min(acc8_by.values()), 4),
                "int8_acceptance": round(acc8, 4), "int8_acceptance_by_class": acc8_by}

    checkpoints = _Checkpoints(args.eval_every, score)
    t0 = time.perf_counter()
    widths = {"generator_kwargs": {"width": args.generator_width} if args.generator_width else None,
              "critic_kwargs": {"width": args.critic_width} if args.critic_width else None}
    result["model_widths"] = {k: v for k, v in widths.items() if v}
    gan = train_gan(ws, clf, steps=args.steps, seed=args.seed, callbacks=[checkpoints], **widths)
    result["train_wall_s_including_checkpoints"] = round(time.perf_counter() - t0, 1)
    result["checkpoints"] = checkpoints.rows
    hit = [r for r in checkpoints.rows if r["tstr_ratio"] >= 0.98]
    result["time_to_quality_s"] = hit[0]["train_s"] if hit else None
    result["updates_to_quality"] = hit[0]["updates"] if hit else None
    faithful = [r for r in checkpoints.rows if r["fidelity_gap"] <= FIDELITY_GAP]
    result["fidelity"]["time_to_fidelity_s"] = faithful[0]["train_s"] if faithful else None
    result["fidelity"]["updates_to_fidelity"] = faithful[0]["updates"] if faithful else None
    result["fidelity"]["best_gap"] = min((r["fidelity_gap"] for r in checkpoints.rows), default=None)

    final = score(gan, seeds=3)
    result["final_raw_generator"] = final
    syn = sample_validated(gan, int8, sensor, per_class=int(per_class.max()), seed=args.seed)
    disc = discriminative(syn.x_mg, syn.y, seeds=3)
    tstr = accuracy(syn.x_mg, syn.y)
    result["final_validated"] = {"tstr_accuracy": tstr, "tstr_ratio": tstr / trtr, "discriminative_score": disc,
                                 "fidelity_gap": disc - floor, "acceptance_by_class": syn.acceptance_by_class,
                                 "acceptance_rate": syn.acceptance_rate, "n": len(syn)}
    result["total_s"] = round(time.perf_counter() - t_all, 1)

    targets = {
        "tstr_ratio >= 0.98": result["final_validated"]["tstr_ratio"] >= 0.98,
        "int8 acceptance >= 0.97 every class": min(syn.acceptance_by_class.values()) >= 0.97,
        f"fidelity gap <= {FIDELITY_GAP} (validated, 3 seeds)": disc - floor <= FIDELITY_GAP,
        "time to quality <= 60 s": result["time_to_quality_s"] is not None and result["time_to_quality_s"] <= 60,
    }
    if "speed" in result:
        targets[">= 25 updates/s"] = max(r["updates_per_s"] for r in result["speed"]) >= 25
    result["targets_met"] = targets

    print(f"\n| updates | train s | TSTR | TSTR/TRTR | discriminative (floor {floor:.3f}) | gap | "
          "int8 acceptance (min class) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in checkpoints.rows:
        print(f"| {r['updates']} | {r['train_s']} | {r['tstr_accuracy']:.3f} | {r['tstr_ratio']:.3f} | "
              f"{r['discriminative_score']:.3f} | {r['fidelity_gap']:+.3f} | {r['int8_acceptance_min']:.3f} |")
    fv = result["final_validated"]
    print(f"\nfinal, raw generator: TSTR/TRTR {final['tstr_ratio']:.3f}, discriminative (3 seeds) "
          f"{final['discriminative_score']:.3f}, int8 acceptance by class {final['int8_acceptance_by_class']}")
    print(f"final, validated sampling: TSTR/TRTR {fv['tstr_ratio']:.3f}, discriminative (3 seeds) "
          f"{fv['discriminative_score']:.3f} (gap {fv['fidelity_gap']:+.3f}), acceptance by class "
          f"{ {k: round(v, 4) for k, v in syn.acceptance_by_class.items()} }")
    fi = result["fidelity"]
    print(f"time to quality: {result['time_to_quality_s']} s ({result['updates_to_quality']} updates); "
          f"time to fidelity: {fi['time_to_fidelity_s']} s ({fi['updates_to_fidelity']} updates; best gap "
          f"{fi['best_gap']})")
    for k, ok in targets.items():
        print(f"  [{'x' if ok else ' '}] {k}")
    write_json(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
