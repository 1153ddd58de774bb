"""Realism gate benchmark: pass rates of real and generated windows, per class.

    python benchmarks/bench_realism.py                          # PAMAP2 wrist, GAN 1500 updates (~3 min)
    python benchmarks/bench_realism.py --data st --steps 1500   # ST phone logs (5 classes, 3 sensors)
    python benchmarks/bench_realism.py --run RUN_DIR            # a hargan run's generator, raw windows (~30 s)

``--run``: the generator a ``hargan run`` (or ``--until gan`` / ``--until domain_gan``) wrote, its raw
windows scored by the run's own gate (``hargan.steps.sample.realism_gate`` with the run's
``[sampling]``) per class, beside the run's real ``val`` windows: what the generator makes before
validated sampling picks from it, so runs that differ in one choice compare side by side. Prints the
JSON; ``--out`` also writes it (nothing is written into the run's folder).

The default mode:

1. Windows 48 / stride 24 in the sensor's format, split by log (PAMAP2: LSM6DSL; ST: LSM6DSOX at
   26 Hz, the three sensors' logs resampled to it).
2. The ST classifier (cnn1d) on the real train split and its int8 model; a conditional WGAN-GP
   with its feedback, scored after ``--early`` updates and after ``--steps`` updates.
3. The gate (gan/realism.py) is fitted on the real train windows with the config's defaults
   (hargan.config.SamplingConfig), then applied, per class, to: real train windows, real windows
   of held-out logs (what a real window never seen gets: the gate's false-reject rate), raw
   generator output at both checkpoints, and Gaussian noise windows with the real windows' mean
   and spread (garbage that keeps the gravity and the amplitude). The int8 acceptance of the
   generated windows is given beside the gate's pass rates.
4. What the gate buys, at the final checkpoint: the discriminative score (evaluation.scores, 1D CNN
   real vs synthetic, ``|accuracy - 0.5|``, 3 seeds) of the windows the int8 model accepts, and of
   those that also pass the default gate (the spectrum test), with the same number of windows per
   class in both (the accepted set is cut to the gated counts), and the same score for real
   windows of held-out logs (the floor).
Writes benchmarks/results/realism[_st].json.
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
sys.path.insert(0, str(ROOT))
DATA = {"pamap2": ROOT.parent / "shared" / "data" / "pamap2_wrist_mems_studio",
        "st": ROOT.parent / "shared" / "data" / "st_mlc_activity_mobile"}
ST_RATES = {"lsm6dsox": 26, "lis2dux12": 25, "lsm6dsv16x": 30}


def _windows(which: str, path: Path, seed: int):
    from har_data import DEFAULT_SENSOR, SensorSpec, load_source, make_windows

    if which == "pamap2":
        return make_windows(load_source("mems-studio", path), 48, 24, sensor=DEFAULT_SENSOR, seed=seed)
    return make_windows(load_source("st-datalog", path, odr_hz=ST_RATES), 48, 24,
                        sensor=SensorSpec("LSM6DSOX", 4, 26), seed=seed)


def _rates(gate, x, y, names) -> dict:
    """Per class and overall: spectrum, critic and both, as pass fractions."""
    import numpy as np

    checks = gate.checks(x, y)
    checks["both"] = np.logical_and.reduce(list(checks.values()))
    out = {}
    for test, ok in checks.items():
        out[test] = {c: round(float(ok[y == i].mean()), 3) for i, c in enumerate(names) if np.any(y == i)}
        out[test]["all"] = round(float(ok.mean()), 3)
    return out


def _generated(gan, int8, sensor, n_per_class: int, names, seed: int):
    import numpy as np

    from gan.sampling import generate_windows

    x, y = generate_windows(gan.generator, n_per_class, seed=seed)
    x = sensor.quantize_mg(x)
    acc = np.asarray(int8.accept(x, y, 0.5), bool)
    acceptance = {c: round(float(acc[y == i].mean()), 3) for i, c in enumerate(names)}
    return x, y, acceptance


def _gate_effect(gate, int8, train, held, x_gen, y_gen, names, seed: int) -> dict:
    """Discriminative score of int8-accepted windows vs accepted + spectrum-gated ones (same counts per class)."""
    import numpy as np

    from evaluation.scores import discriminative_score

    accepted = np.asarray(int8.accept(x_gen, y_gen, 0.5), bool)
    gated = accepted & gate.checks(x_gen, y_gen)["spectrum"]
    rng = np.random.default_rng(seed)
    keep_acc = np.concatenate([rng.permutation(np.flatnonzero(accepted & (y_gen == c)))[:np.sum(gated & (y_gen == c))]
                               for c in range(len(names))])
    keep_gate = np.flatnonzero(gated)

    def score(x, y) -> float:
        return round(discriminative_score(train.x, train.y, x, y, len(names), seeds=3, seed=seed)["score"], 3)

    return {"windows_per_class": {c: int(np.sum(gated & (y_gen == i))) for i, c in enumerate(names)},
            "int8_accepted": score(x_gen[keep_acc], y_gen[keep_acc]),
            "int8_accepted_and_gate": score(x_gen[keep_gate], y_gen[keep_gate]),
            "real_held_out_floor": score(held.x, held.y)}


def score_run(run: Path, per_class: int, seed: int) -> dict:
    """Gate pass rates per class of ``per_class`` raw windows of ``run``'s generator (the target domain's in
    a transfer run) and of the run's real ``val`` windows, the gate calibrated as the run calibrates it."""
    from gan.sampling import generate_windows
    from hargan.config import load_config
    from hargan.steps.base import Layout
    from hargan.steps.common import load_generator, load_windows
    from hargan.steps.sample import realism_gate

    cfg = load_config(run / "config.toml", resolve_paths=False)
    paths = Layout(run, transfer=cfg.data.target is not None)
    ws = load_windows(paths.windows)
    gate = realism_gate(ws, cfg.sampling)
    x, y = generate_windows(load_generator(paths.generator), per_class, seed=seed)
    val = ws.subset("val")
    rounded = lambda rates: {c: round(v, 3) for c, v in rates.items()}  # noqa: E731
    return {"run": str(run), "windows_per_class": per_class, "seed": seed,
            "generated": rounded(gate.pass_rate_by_class(ws.sensor.quantize_mg(x), y)),
            "real_val": rounded(gate.pass_rate_by_class(val.x, val.y)) if len(val) else None}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", choices=sorted(DATA), default="pamap2")
    p.add_argument("--path", type=Path, default=None, help="data folder (default: ../shared/data/...)")
    p.add_argument("--steps", type=int, default=1500, help="GAN updates (default 1500)")
    p.add_argument("--early", type=int, default=100, help="updates of the early checkpoint (default 100)")
    p.add_argument("--epochs", type=int, default=30, help="classifier epochs (default 30)")
    p.add_argument("--per-class", type=int, default=300, help="generated windows per class (default 300)")
    p.add_argument("--disc-per-class", type=int, default=1500,
                   help="generated windows per class for the discriminative comparison (default 1500)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--run", type=Path, default=None, help="score this hargan run's generator instead (see above)")
    args = p.parse_args(argv)
    if args.run is not None:
        result = score_run(args.run, args.per_class, args.seed)
        print(json.dumps(result, indent=2))
        if args.out is not None:
            from har_data import write_text

            write_text(args.out, json.dumps(result, indent=2) + "\n")
        return 0
    path = args.path or DATA[args.data]
    if not path.is_dir():
        print(f"data folder {path} is absent: nothing to measure", file=sys.stderr)
        return 2

    import keras
    import numpy as np

    from classifier import Int8Classifier, quantize_int8, train_on_windows
    from gan.realism import RealismGate
    from gan.training import train_gan
    from hargan.config import SamplingConfig

    t0 = time.perf_counter()
    keras.utils.set_random_seed(args.seed)
    ws = _windows(args.data, path, args.seed)
    names, sensor = ws.class_names, ws.sensor
    train, held = ws.subset("train"), ws.subset(["val", "test"])
    clf = train_on_windows(ws, epochs=args.epochs, seed=args.seed, verbose=0)
    int8 = Int8Classifier(quantize_int8(clf, train.x, seed=args.seed), names)
    cfg = SamplingConfig()
    rng = np.random.default_rng(args.seed)
    noise = sensor.quantize_mg(rng.normal(train.x.mean(axis=(0, 1)), train.x.std(axis=(0, 1)),
                                          (len(names) * 100, 48, 3)))
    noise_y = np.arange(len(noise)) % len(names)
    result = {"data": str(path), "classes": names, "sensor": sensor.to_dict(), "train_windows": len(train),
              "held_out_windows": len(held), "gan_updates": {"early": args.early, "final": args.steps},
              "gate": {"spectrum_quantile": cfg.realism_spectrum_quantile,
                       "critic_quantiles": list(cfg.realism_critic_quantiles)}, "checkpoints": {}}
    gan, done = None, 0
    for label, steps in (("early", args.early), ("final", args.steps)):
        gan = train_gan(ws, clf, steps=steps - done, seed=args.seed + done, init_generator=gan and gan.generator,
                        init_critic=gan and gan.critic)
        done = steps
        gate = RealismGate.fit(train.x, train.y, names, spectrum_quantile=cfg.realism_spectrum_quantile,
                               critic=gan.critic, critic_quantiles=cfg.realism_critic_quantiles)
        x_gen, y_gen, acceptance = _generated(gan, int8, sensor, args.per_class, names, args.seed + 1)
        result["checkpoints"][label] = {
            "updates": steps,
            "real_train": _rates(gate, train.x, train.y, names),
            "real_held_out": _rates(gate, held.x, held.y, names),
            "generated": _rates(gate, x_gen, y_gen, names),
            "generated_int8_acceptance": acceptance,
            "noise": _rates(gate, noise, noise_y, names),
        }
        print(label, json.dumps({k: v["spectrum"]["all"] if isinstance(v, dict) and "spectrum" in v else v
                                 for k, v in result["checkpoints"][label].items()}), flush=True)
    x_gen, y_gen, _ = _generated(gan, int8, sensor, args.disc_per_class, names, args.seed + 2)
    result["discriminative"] = _gate_effect(gate, int8, train, held, x_gen, y_gen, names, args.seed)
    print("discriminative", json.dumps(result["discriminative"]), flush=True)
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    out = args.out or ROOT / "benchmarks" / "results" / ("realism.json" if args.data == "pamap2" else
                                                         f"realism_{args.data}.json")
    from har_data import write_text

    write_text(out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {out} ({result['wall_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
