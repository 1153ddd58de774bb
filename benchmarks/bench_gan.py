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
5. At the end: validated sampling (int8-accepted windows only) and the same figures on them, with
   the realism gate's pass rate per class (``hargan run``'s gate at its defaults, fitted on the real
   train windows, measured over every generated window, not enforced); and, for the raw generator,
   where its gap is: the score and floor on one aspect of the windows at a time (orientation =
   window means; motion = means removed; norm = rotation-invariant).

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
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "pamap2_wrist_mems_studio"


FIDELITY_GAP = 0.05  # issue 16: the discriminative score within this of the real-vs-real floor


def _orientation(x):
    """Each window replaced by its mean: gravity direction and nothing else."""
    return np.repeat(x.mean(axis=1, keepdims=True), x.shape[1], axis=1)


def _motion(x):
    """Each window minus its mean: the movement without the orientation."""
    return x - x.mean(axis=1, keepdims=True)


def _norm(x):
    """The vector norm on every axis: rotation-invariant, as a phone in any orientation sees it."""
    return np.repeat(np.linalg.norm(x, axis=2, keepdims=True), x.shape[2], axis=2)


FIDELITY_VIEWS = {"orientation": _orientation, "motion": _motion, "norm": _norm}

_BANDS = {"low": (1, 4), "mid": (4, 10), "high": (10, 18), "top": (18, None)}  # rfft bins of a 48-sample window


def _window_features(x: np.ndarray, full_scale_mg: float) -> dict[str, np.ndarray]:
    """Simple per-window features, per axis where it matters: what a person looks at to tell a fake.

    Amplitude (log std of the motion, of its steps and of its second differences), smoothness (lag-1
    and lag-2 autocorrelation), where the power is (share of each band of the spectrum), how
    impulsive the steps are (their kurtosis: heel strikes), the peak and the share of samples at the
    full scale (a clipping sensor), and the norm's mean and spread."""
    motion = _motion(x)
    steps, curv = np.diff(x, axis=1), np.diff(x, 2, axis=1)
    var = motion.var(axis=1) + 1e-6
    power = np.abs(np.fft.rfft(motion, axis=1)) ** 2
    total = power[:, 1:].sum(axis=1) + 1e-6
    centred = steps - steps.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(x, axis=2)
    per_axis = {"log_std": np.log(motion.std(axis=1) + 0.5), "log_step": np.log(steps.std(axis=1) + 0.5),
                "log_curvature": np.log(curv.std(axis=1) + 0.5),
                "autocorr_1": (motion[:, 1:] * motion[:, :-1]).mean(axis=1) / var,
                "autocorr_2": (motion[:, 2:] * motion[:, :-2]).mean(axis=1) / var,
                "step_kurtosis": (centred ** 4).mean(axis=1) / (centred.var(axis=1) ** 2 + 1e-6),
                "peak": np.abs(x).max(axis=1),
                **{f"band_{b}": np.log10(power[:, lo:hi].sum(axis=1) / total + 1e-6) for b, (lo, hi) in _BANDS.items()}}
    out = {f"{k}_{a}": v[:, a] for k, v in per_axis.items() for a in range(x.shape[2])}
    out.update(norm_mean=norm.mean(axis=1), norm_log_std=np.log(norm.std(axis=1) + 0.5),
               at_full_scale=(np.abs(x) >= full_scale_mg - 2).mean(axis=(1, 2)))
    return out


def _giveaways(x_real, y_real, x_syn, y_syn, names, full_scale_mg: float, top: int = 4) -> dict:
    """Per class, the features that best tell synthetic windows from real ones alone (ROC AUC of the
    feature, 0.5 = no help; below 0.5 = lower in the synthetic windows), with both medians."""
    from sklearn.metrics import roc_auc_score

    fr, fs = _window_features(x_real, full_scale_mg), _window_features(x_syn, full_scale_mg)
    out = {}
    for c, name in enumerate(names):
        rows = []
        for k in fr:
            a, b = fr[k][y_real == c], fs[k][y_syn == c]
            if len(a) == 0 or len(b) == 0 or np.ptp(np.r_[a, b]) == 0:
                continue
            auc = roc_auc_score(np.r_[np.zeros(len(a)), np.ones(len(b))], np.r_[a, b])
            rows.append({"feature": k, "auc": round(float(auc), 3), "real": round(float(np.median(a)), 3),
                         "synthetic": round(float(np.median(b)), 3)})
        out[name] = sorted(rows, key=lambda r: -abs(r["auc"] - 0.5))[:top]
    return out


def _amplitude(x, y, names) -> dict:
    """Per class: median per-window std of the motion (mg, mean over axes) and median sample-to-sample step."""
    std = _motion(x).std(axis=1).mean(axis=1)
    step = np.abs(np.diff(x, axis=1)).mean(axis=(1, 2))
    return {c: {"std_mg": round(float(np.median(std[y == i])), 1), "step_mg": round(float(np.median(step[y == i])), 1)}
            for i, c in enumerate(names) if np.any(y == i)}


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


def _parse(argv) -> argparse.Namespace:
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
    ap.add_argument("--generator-kwargs", type=json.loads, default=None,
                    help='JSON for build_generator, e.g. \'{"output": "tanh"}\' (default: the library\'s)')
    ap.add_argument("--critic-kwargs", type=json.loads, default=None, help="JSON for build_critic")
    ap.add_argument("--cold-start", action="store_true",
                    help="ablation: the fresh generator's class tables left at their random start, not started at "
                         "the real windows' (gan.real_start.start_at_real)")
    ap.add_argument("--train-kwargs", type=json.loads, default=None,
                    help='JSON for train_gan, e.g. \'{"stats_weight": 0}\'')
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gan.json")
    ap.add_argument("--windows-png", type=Path, default=None,
                    help="also plot real held-out windows beside what hargan run would ship (realism gate enforced)")
    ap.add_argument("--save-generator", type=Path, default=None,
                    help="also save the trained generator here (.keras), e.g. for tools/plots")
    return ap.parse_args(argv)


class _Bench:
    """The windows, the ST classifier and its int8 model, and the three measures every checkpoint gets:
    TSTR accuracy, int8 acceptance and the discriminative score against the fair reference."""

    def __init__(self, args: argparse.Namespace):
        from classifier import DEFAULT_PRESET, Int8Classifier, quantize_int8, train_on_windows
        from har_data import load_mems_studio

        self.seed, self.preset = args.seed, DEFAULT_PRESET
        recordings = load_mems_studio(args.data)
        self.ws = _windows(recordings, args.seed)
        self.train, self.val, self.test = (self.ws.subset(s) for s in ("train", "val", "test"))
        self.names, self.sensor = self.ws.class_names, self.ws.sensor
        print(f"windows: {len(self.ws)} ({self.ws.counts()}), train/val/test "
              f"{len(self.train)}/{len(self.val)}/{len(self.test)}, sensor {self.sensor}")
        self.epochs, self.patience = (15, 4) if args.quick else (60, 10)
        self.disc_epochs = 15 if args.quick else 40
        self.clf = train_on_windows(self.ws, preset=DEFAULT_PRESET, seed=args.seed, epochs=self.epochs,
                                    patience=self.patience, verbose=0)
        self.int8 = Int8Classifier(quantize_int8(self.clf, self.train.x, seed=args.seed), self.names)
        self.trtr = self.accuracy(self.train.x, self.train.y)
        print(f"classifier ({DEFAULT_PRESET}): TRTR accuracy {self.trtr:.4f}")
        self.per_class = np.bincount(self.train.y, minlength=len(self.names))
        fair = _without_overlap(recordings, self.ws)
        self.reference, self.held = fair.subset("train"), fair.subset(["val", "test"])
        self.held_per_class = [int(n) for n in np.bincount(self.held.y, minlength=len(self.names))]
        self.floor = self.discriminative(self.held.x, self.held.y, seeds=3)
        self.gate = _realism_gate(self.train, self.names)
        self.gate_real = _rounded(self.gate.pass_rate_by_class(self.held.x, self.held.y))
        self.shipped = None  # what the realism-gated sampling keeps, once :meth:`gated` has run
        print(f"realism gate, real held-out windows: {self.gate_real}")
        print(f"fidelity floor: real held-out logs vs the train logs, both without overlap: {self.floor:.3f} "
              f"({len(self.held)} vs {len(self.reference)} windows)")

    def accuracy(self, x, y) -> float:
        """TSTR-style: the ST classifier trained on (x, y), scored on the real test split."""
        from classifier import DEFAULT_PRESET, evaluate_classifier, train_classifier

        m = train_classifier(x, y, self.names, x_val=self.val.x, y_val=self.val.y, preset=DEFAULT_PRESET,
                             full_scale_g=float(self.sensor.full_scale_g), epochs=self.epochs,
                             patience=self.patience, seed=self.seed, verbose=0)
        return float(evaluate_classifier(m, self.test.x, self.test.y, self.names)["accuracy"])

    def discriminative(self, x, y, seeds: int, view=None) -> float:
        """The score against the fair reference, as the floor is computed (both through ``view``, if given)."""
        from evaluation.scores import discriminative_score

        ref = self.reference.x if view is None else view(self.reference.x)
        return discriminative_score(ref, self.reference.y, x if view is None else view(x), y, len(self.names),
                                    seeds=seeds, seed=self.seed, epochs=self.disc_epochs)["score"]

    def score(self, gan, seeds: int = 1, parts: bool = False) -> dict:
        """The raw generator: TSTR and int8 acceptance on a train-sized set, fidelity on a floor-sized one
        (and, with ``parts``, on each of its views: :meth:`fidelity_parts`)."""
        from evaluation.scores import int8_acceptance

        x, y = gan.generate([int(n) for n in self.per_class], seed=self.seed + 1)
        xq = self.sensor.quantize_mg(x)
        acc8, acc8_by = int8_acceptance(self.int8, xq, y, self.names)
        tstr = self.accuracy(xq, y)
        xf, yf = gan.generate(self.held_per_class, seed=self.seed + 2)  # as many per class as the floor's real set
        xf = self.sensor.quantize_mg(xf)
        disc = self.discriminative(xf, yf, seeds)
        out = {"tstr_accuracy": round(tstr, 4), "tstr_ratio": round(tstr / self.trtr, 4),
               "discriminative_score": round(disc, 4), "fidelity_gap": round(disc - self.floor, 4),
               "int8_acceptance_min": round(min(acc8_by.values()), 4),
               "int8_acceptance": round(acc8, 4), "int8_acceptance_by_class": acc8_by}
        if parts:
            out["fidelity_parts"] = self.fidelity_parts(xf, yf)
            out["amplitude"] = {"synthetic": _amplitude(xf, yf, self.names),
                                "real_heldout": _amplitude(self.held.x, self.held.y, self.names)}
            out["giveaways"] = _giveaways(self.held.x, self.held.y, xf, yf, self.names,
                                          1000.0 * self.sensor.full_scale_g)
        return out

    def shipped_discriminative(self, syn) -> float:
        """The score of a sampled set on as many windows per class as the floor and the raw generator
        (more windows would train a stronger post-hoc model and lift the score for that reason alone)."""
        from evaluation.metrics import per_class_subset

        keep = per_class_subset(syn.y, self.held_per_class, seed=self.seed)
        return self.discriminative(syn.x_mg[keep], syn.y[keep], seeds=3)

    def fidelity_parts(self, x, y) -> dict:
        """Where the gap is: the score and its floor on one aspect of the windows at a time."""
        out = {}
        for part, view in FIDELITY_VIEWS.items():
            syn = self.discriminative(x, y, seeds=2, view=view)
            floor = self.discriminative(self.held.x, self.held.y, seeds=2, view=view)
            out[part] = {"discriminative_score": round(syn, 4), "floor": round(floor, 4),
                         "fidelity_gap": round(syn - floor, 4)}
        return out

    def validated(self, gan) -> dict:
        """What ships: validated sampling (int8-accepted windows only), and the same figures on it."""
        from gan.sampling import sample_validated

        syn = sample_validated(gan, self.int8, self.sensor, per_class=int(self.per_class.max()), seed=self.seed,
                               realism=self.gate, realism_enforce=False)
        disc = self.shipped_discriminative(syn)
        tstr = self.accuracy(syn.x_mg, syn.y)
        return {"tstr_accuracy": tstr, "tstr_ratio": tstr / self.trtr, "discriminative_score": disc,
                "fidelity_gap": disc - self.floor, "acceptance_by_class": syn.acceptance_by_class,
                "acceptance_rate": syn.acceptance_rate, "n": len(syn),
                "realism_pass_rate": round(syn.realism_pass_rate, 4),
                "realism_pass_by_class": _rounded(syn.realism_pass_by_class), "gated": self.gated(gan)}

    def gated(self, gan) -> dict:
        """What ``hargan run`` ships in a one-domain run: the int8 model's *and* the realism gate's windows
        (the gate enforced), scored the same way on a floor-sized set."""
        from gan.sampling import AcceptanceError, sample_validated

        try:
            syn = sample_validated(gan, self.int8, self.sensor, per_class=max(self.held_per_class), seed=self.seed,
                                   realism=self.gate, realism_enforce=True)
        except AcceptanceError as e:
            return {"error": str(e)}
        self.shipped = syn
        disc = self.shipped_discriminative(syn)
        return {"discriminative_score": disc, "fidelity_gap": disc - self.floor,
                "amplitude": _amplitude(syn.x_mg, syn.y, self.names)}


def _plot_shipped(b: _Bench, path: Path) -> None:
    """Real held-out windows beside what the realism-gated sampling kept, per class."""
    from evaluation.plots import plot_windows_grid

    plot_windows_grid(b.held.x, b.held.y, b.shipped.x_mg, b.shipped.y, b.names, path, fs=b.sensor.odr_hz,
                      seed=b.seed)


def _realism_gate(train, names):
    """``hargan run``'s realism gate at its defaults, calibrated on the real train windows (as ``run.py``'s)."""
    from gan.realism import RealismGate
    from hargan.config import SamplingConfig

    return RealismGate.fit(train.x, train.y, names, spectrum_quantile=SamplingConfig().realism_spectrum_quantile)


def _rounded(rates: dict) -> dict:
    return {c: round(float(v), 4) for c, v in rates.items()}


def _first(rows: list[dict], ok) -> tuple:
    """(train_s, updates) of the first checkpoint row where ``ok(row)``; (None, None) if none."""
    hit = [r for r in rows if ok(r)]
    return (hit[0]["train_s"], hit[0]["updates"]) if hit else (None, None)


def _targets(result: dict) -> dict[str, bool]:
    fv = result["final_validated"]
    targets = {
        "tstr_ratio >= 0.98": fv["tstr_ratio"] >= 0.98,
        "int8 acceptance >= 0.97 every class": min(fv["acceptance_by_class"].values()) >= 0.97,
        f"fidelity gap <= {FIDELITY_GAP} (validated, 3 seeds)": fv["fidelity_gap"] <= FIDELITY_GAP,
        "time to quality <= 60 s": result["time_to_quality_s"] is not None and result["time_to_quality_s"] <= 60,
    }
    if "speed" in result:
        targets[">= 25 updates/s"] = max(r["updates_per_s"] for r in result["speed"]) >= 25
    return targets


def _print_summary(result: dict) -> None:
    fi, final, fv = result["fidelity"], result["final_raw_generator"], result["final_validated"]
    print(f"\n| updates | train s | TSTR | TSTR/TRTR | discriminative (floor {fi['floor']:.3f}) | gap | "
          "int8 acceptance (min class) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in result["checkpoints"]:
        print(f"| {r['updates']} | {r['train_s']} | {r['tstr_accuracy']:.3f} | {r['tstr_ratio']:.3f} | "
              f"{r['discriminative_score']:.3f} | {r['fidelity_gap']:+.3f} | {r['int8_acceptance_min']:.3f} |")
    print(f"\nfinal, raw generator: TSTR/TRTR {final['tstr_ratio']:.3f}, discriminative (3 seeds) "
          f"{final['discriminative_score']:.3f}, int8 acceptance by class {final['int8_acceptance_by_class']}")
    for part, r in final["fidelity_parts"].items():
        print(f"  {part} only: discriminative {r['discriminative_score']:.3f}, floor {r['floor']:.3f}, "
              f"gap {r['fidelity_gap']:+.3f}")
    amp = final["amplitude"]
    print("  motion std / step, mg, synthetic vs real: " + ", ".join(
        f"{c} {s['std_mg']}/{s['step_mg']} vs {amp['real_heldout'][c]['std_mg']}/{amp['real_heldout'][c]['step_mg']}"
        for c, s in amp["synthetic"].items()))
    print("  what gives each class away (feature: AUC alone, real -> synthetic median): " + "; ".join(
        f"{c}: " + ", ".join(f"{r['feature']} {r['auc']:.2f} ({r['real']:g} -> {r['synthetic']:g})" for r in rows[:3])
        for c, rows in final["giveaways"].items()))
    print(f"final, validated sampling: TSTR/TRTR {fv['tstr_ratio']:.3f}, discriminative (3 seeds) "
          f"{fv['discriminative_score']:.3f} (gap {fv['fidelity_gap']:+.3f}), acceptance by class "
          f"{ {k: round(v, 4) for k, v in fv['acceptance_by_class'].items()} }")
    g = fv["gated"]
    print("realism gate enforced as well (what hargan run ships): " + (g["error"] if "error" in g else
          f"discriminative (3 seeds) {g['discriminative_score']:.3f} (gap {g['fidelity_gap']:+.3f})"))
    print(f"realism gate pass rate (measured, not enforced) {fv['realism_pass_rate']:.3f}, by class "
          f"{fv['realism_pass_by_class']} (real held-out windows {result['fidelity']['realism_real_heldout']})")
    print(f"training CPU s (with checkpoints): {result['train_cpu_s_including_checkpoints']}")
    print(f"time to quality: {result['time_to_quality_s']} s ({result['updates_to_quality']} updates); "
          f"time to fidelity: {fi['time_to_fidelity_s']} s ({fi['updates_to_fidelity']} updates; best gap "
          f"{fi['best_gap']})")
    for k, ok in result["targets_met"].items():
        print(f"  [{'x' if ok else ' '}] {k}")


def _cold_generator(b: _Bench, args: argparse.Namespace, generator_kwargs: dict | None):
    """The generator ``train_gan`` would build (same seed, same settings), without its real start: passed
    in as ``init_generator``, it trains from its random tables."""
    import keras

    from gan.models import build_generator
    from gan.real_start import mean_reference
    from gan.training import DEFAULT_LATENT_DIM

    keras.utils.set_random_seed(args.seed)
    latent_dim = (args.train_kwargs or {}).get("latent_dim", DEFAULT_LATENT_DIM)  # train_gan's, were it asked
    kwargs = {"mean_ref_mg": mean_reference(b.train.x, b.train.y, len(b.names)), **(generator_kwargs or {})}
    return build_generator(latent_dim, b.names, b.ws.window_length, int(b.ws.x.shape[2]),
                           b.sensor.full_scale_g, **kwargs)


def main(argv=None) -> int:
    args = _parse(argv)
    if not args.data.is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    from gan.training import train_gan
    from har_data.jsonio import write_json

    t_all, c_all = time.perf_counter(), time.process_time()
    b = _Bench(args)
    result: dict = {"data": str(args.data), "windows": {"length": 48, "stride": 24, "odr_hz": 26.0,
                                                         "sensor": b.sensor.to_dict(), "counts": b.ws.counts(),
                                                         "train": len(b.train), "val": len(b.val),
                                                         "test": len(b.test)},
                    "preset": b.preset, "trtr_accuracy": b.trtr, "machine": f"{os.cpu_count()} cores, shared",
                    "load_average": os.getloadavg()}
    if not args.skip_speed:
        result["speed"] = []
        for jit in (False, True):
            r = _speed(b.ws, b.clf, jit=jit, steps=args.speed_steps, seed=args.seed)
            result["speed"].append(r)
            print(f"speed jit_compile={jit}: {r['updates_per_s']} updates/s wall, {r['cpu_ms_per_update']} ms CPU "
                  f"per update (load {os.getloadavg()[0]:.1f})")
    result["fidelity"] = {"reference_windows": len(b.reference), "heldout_windows": len(b.held),
                          "heldout_per_class": b.held_per_class, "floor": round(b.floor, 4),
                          "target_gap": FIDELITY_GAP, "realism_real_heldout": b.gate_real}

    checkpoints = _Checkpoints(args.eval_every, b.score)
    t0 = time.perf_counter()
    widths = {"generator_kwargs": {**({"width": args.generator_width} if args.generator_width else {}),
                                   **(args.generator_kwargs or {})} or None,
              "critic_kwargs": {**({"width": args.critic_width} if args.critic_width else {}),
                                **(args.critic_kwargs or {})} or None}
    result["model_widths"] = {k: v for k, v in widths.items() if v}
    result["train_kwargs"] = args.train_kwargs or {}
    result["cold_start"] = args.cold_start
    c0 = time.process_time()
    init = {"init_generator": _cold_generator(b, args, widths["generator_kwargs"])} if args.cold_start else {}
    gan = train_gan(b.ws, b.clf, steps=args.steps, seed=args.seed, callbacks=[checkpoints], **widths, **init,
                    **(args.train_kwargs or {}))
    result["train_wall_s_including_checkpoints"] = round(time.perf_counter() - t0, 1)
    result["train_cpu_s_including_checkpoints"] = round(time.process_time() - c0, 1)
    if args.save_generator is not None:
        gan.generator.save(args.save_generator)
    rows = result["checkpoints"] = checkpoints.rows
    result["time_to_quality_s"], result["updates_to_quality"] = _first(rows, lambda r: r["tstr_ratio"] >= 0.98)
    fi = result["fidelity"]
    fi["time_to_fidelity_s"], fi["updates_to_fidelity"] = _first(rows, lambda r: r["fidelity_gap"] <= FIDELITY_GAP)
    fi["best_gap"] = min((r["fidelity_gap"] for r in rows), default=None)

    result["final_raw_generator"] = b.score(gan, seeds=3, parts=True)
    result["final_validated"] = b.validated(gan)
    if args.windows_png is not None and b.shipped is not None:
        _plot_shipped(b, args.windows_png)
    result["total_s"] = round(time.perf_counter() - t_all, 1)
    result["total_cpu_s"] = round(time.process_time() - c_all, 1)
    result["targets_met"] = _targets(result)
    write_json(args.out, result)  # before the summary: a figure measured is never lost to a print
    _print_summary(result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
