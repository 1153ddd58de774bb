"""Transfer benchmark: a board model for ST phone-in-pocket logs, from PAMAP2 (wrist) plus a few target logs.

The honest in-campaign protocol of issue 16. The target logs (``st_mlc_activity_mobile``) come
from three sensors of ONE recording campaign (one placement, likely one person); every test
here is on a sensor the model was not trained on:

- ``loso``: leave one sensor out: train on two sensors' full logs, test on the third (3 folds);
- ``shot10`` / ``shot4``: 10 s / 4 s of every class log of ONE sensor (a seeded random stretch),
  test on the two other sensors' full logs (3 folds, one per training sensor);
- ``shot10-disjoint`` / ``shot4-disjoint``: the same training, tested only on the other sensors' data
  at least one window away in time from the training stretch.

The three sensor folders hold one recording per class, resampled to each sensor's rate (the logs
are time-aligned; after resampling to 26 Hz their correlation with lsm6dsox is 0.91-1.0). So
``loso`` tests on a copy of its training data, and ``shot10`` / ``shot4`` test partly on copies
of their training stretch; the ``-disjoint`` rows are the fair in-campaign test of a short log.

Columns (every one is hargan's classifier, quantized to int8, scored on the board's int8 model):

- ``target``: the target logs only (the classifier's rotation/gain/noise augmentation on);
- ``pooled``: PAMAP2 + target logs pooled, raw;
- ``pooled_gravity``: the same, ST's gravity rotation + suppression on every log (train and test);
- ``hargan``: hargan's transfer recipe (gan.transfer) with ``synthetic`` on: the board model trained on
  real + judge-accepted synthetic windows of a GAN trained ``--gan-steps`` updates;
- ``no_synthetic``: the same recipe without synthetic windows, i.e. the judge: the board model a
  transfer run makes by default (``[transfer] synthetic = false``);
- ``classic_aug``: the same without synthetic windows, the classifier's classic 3-D rotation/gain/noise
  augmentation in their place.

What this cannot show: how a model does on OTHER people's phones and placements (the real goal,
a kept-aside set not available here). Inside one campaign, the public data hurts (the test logs
look like the training logs); on other people's phones it is what helps most. Read the
in-campaign rows as "does the recipe keep the target's own style", not as the goal.

    python benchmarks/bench_transfer.py            # full run (5 and 4 classes, 5 protocols, 3 folds), ~45 min CPU
    python benchmarks/bench_transfer.py --protocols shot4 --classes 5 --folds 1   # one row, one fold
    python benchmarks/bench_transfer.py --quick    # smoke run: one fold per row, short training
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier import Int8Classifier, quantize_int8, train_classifier  # noqa: E402
from gan.transfer import TransferResult, balance_domains, repeat_to, to_int8, train_board, train_transfer  # noqa: E402
from hargan.config import (ClassifierConfig, Config, DataConfig, DomainConfig, GanConfig, SensorConfig,  # noqa: E402
                           TransferConfig)
from hargan.steps.gan import gan_hyperparameters  # noqa: E402
from hargan.steps.transfer import settings  # noqa: E402
from har_data import Recording, SensorSpec, load_source, make_windows, write_text  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SOURCE = DATA / "pamap2_wrist_mems_studio"
TARGET = DATA / "st_mlc_activity_mobile"
TARGET_ODR = {"lsm6dsox": 26.0, "lis2dux12": 25.0, "lsm6dsv16x": 30.0}
CLASS_MAP = {"stationary": "stationary", "walking": "walking", "jogging": "running", "biking": "cycling",
             "driving": "vehicle"}
CLASSES5 = ["stationary", "walking", "running", "cycling", "vehicle"]
SENSOR = SensorSpec("LSM6DSOX", 4, 26.0)
WINDOW, STRIDE = 48, 24
# protocol -> (seconds of one sensor's log per class to train on, or None: leave one sensor out;
#              test only away in time from the training stretch)
PROTOCOLS = {"loso": (None, False), "shot10": (10.0, False), "shot4": (4.0, False),
             "shot10-disjoint": (10.0, True), "shot4-disjoint": (4.0, True)}
BASELINES = ("target", "pooled", "pooled_gravity")
RECIPE = ("hargan", "no_synthetic", "classic_aug")
COLUMNS = BASELINES + RECIPE


# ------------------------------------------------------------------------------------------ data

def load_domains(source: Path, target: Path) -> tuple[list[Recording], list[Recording]]:
    """PAMAP2 recordings and the target recordings relabelled with the issue's class map; every target
    recording's ``meta['sensor']`` is its sensor folder."""
    src = list(load_source("mems-studio", source))
    tgt = []
    for r in load_source("st-datalog", target, odr_hz=dict(TARGET_ODR)):
        if r.label in CLASS_MAP:
            tgt.append(replace(r, label=CLASS_MAP[r.label], meta=dict(r.meta, sensor=Path(r.source).parent.name)))
    return src, tgt


def crop(rec: Recording, seconds: float, rng: np.random.Generator) -> Recording:
    """A seeded random stretch of ``seconds`` of one recording (what a user with a short log has)."""
    n = int(round(seconds * rec.odr_hz))
    start = int(rng.integers(0, max(1, len(rec) - n + 1)))
    return replace(rec, samples=rec.samples[start:start + n], meta=dict(rec.meta, segment=start))


def away_from(rec: Recording, stretch: Recording) -> list[Recording]:
    """The parts of ``rec`` (time-aligned with ``stretch``'s log) at least one window away in time from
    ``stretch``; pieces too short for a window are dropped."""
    margin_s = WINDOW / SENSOR.odr_hz
    start_s = stretch.meta["segment"] / stretch.odr_hz
    stop_s = start_s + len(stretch) / stretch.odr_hz
    cut0 = max(0, int(np.floor((start_s - margin_s) * rec.odr_hz)))
    cut1 = min(len(rec), int(np.ceil((stop_s + margin_s) * rec.odr_hz)))
    shortest = int(np.ceil(margin_s * rec.odr_hz)) + 1
    pieces = [(0, cut0), (cut1, len(rec))]
    return [replace(rec, samples=rec.samples[i:j], meta=dict(rec.meta, segment=i)) for i, j in pieces
            if j - i >= shortest]


class WindowCache:
    """Windows of one recording at the board's rate and full scale, raw or gravity-filtered, cached."""

    def __init__(self, sensor: SensorSpec = SENSOR):
        self.sensor = sensor
        self._cache: dict[tuple, np.ndarray] = {}

    def of(self, rec: Recording, gravity: bool, stride: int = STRIDE) -> np.ndarray:
        key = (rec.source, rec.meta.get("segment", 0), len(rec), gravity, stride)
        if key not in self._cache:
            ws = make_windows([rec], length=WINDOW, stride=stride, sensor=self.sensor, class_names=[rec.label],
                              fractions=(1.0, 0.0, 0.0), suppress_gravity=gravity)
            self._cache[key] = ws.x
        return self._cache[key]

    def stack(self, recs: list[Recording], classes: list[str], gravity: bool,
              stride: int = STRIDE) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for r in recs:
            if r.label in classes:
                x = self.of(r, gravity, stride)
                xs.append(x)
                ys.append(np.full(len(x), classes.index(r.label)))
        return np.concatenate(xs), np.concatenate(ys)


def folds(protocol: str, target: list[Recording], seed: int):
    """(name, target training recordings, target test recordings) per fold of ``protocol``."""
    sensors = sorted({r.meta["sensor"] for r in target})
    seconds, disjoint = PROTOCOLS[protocol]
    for s in sensors:
        if seconds is None:  # leave sensor s out
            yield (f"test={s}", [r for r in target if r.meta["sensor"] != s],
                   [r for r in target if r.meta["sensor"] == s])
            continue
        rng = np.random.default_rng([seed, sensors.index(s)])
        train = [crop(r, seconds, rng) for r in target if r.meta["sensor"] == s]
        test = [r for r in target if r.meta["sensor"] != s]
        if disjoint:
            stretch = {t.label: t for t in train}
            test = [piece for r in test for piece in away_from(r, stretch[r.label])]
        yield f"train={s}", train, test


# ---------------------------------------------------------------------------------------- models

def board_model(x: np.ndarray, y: np.ndarray, classes: list[str], seed: int, epochs: int, min_windows: int,
                **train_kwargs) -> Int8Classifier:
    """hargan's classifier (default preset), trained on ``x, y`` and quantized to int8."""
    xt, yt = repeat_to(x, y, min_windows, seed)
    model = train_classifier(xt, yt, classes, full_scale_g=SENSOR.full_scale_g, epochs=epochs, seed=seed,
                             verbose=0, **train_kwargs)
    return Int8Classifier(quantize_int8(model, xt, seed=seed), classes)


def baseline(column: str, src, tgt_train, classes, cache: WindowCache, seed: int, args) -> Int8Classifier:
    gravity = column == "pooled_gravity"
    xt, yt = cache.stack(tgt_train, classes, gravity)
    if column != "target":
        xs, ys = cache.stack(src, classes, gravity)
        xt, yt = np.concatenate([xs, xt]), np.concatenate([ys, yt])
    return board_model(xt, yt, classes, seed, args.epochs, args.min_windows)


def run_config(args, synthetic: bool, seed: int) -> Config:
    """The config of the transfer run (``hargan run``) this benchmark's recipe columns measure."""
    return Config(seed=seed, data=DataConfig(source=DomainConfig(name="mems-studio", path=str(SOURCE)),
                                             target=DomainConfig(name="st-datalog", path=str(TARGET))),
                  sensor=SensorConfig(SENSOR.name, SENSOR.full_scale_g, SENSOR.odr_hz),
                  classifier=ClassifierConfig(epochs=args.epochs), gan=GanConfig(steps=args.gan_steps),
                  transfer=TransferConfig(synthetic=synthetic))


def hargan_recipe(xs, ys, xt, yt, classes: list[str], cfg: Config, min_windows: int | None = None) -> TransferResult:
    """The transfer run's recipe on windows (source all, target training windows): the settings
    ``hargan run`` makes from ``cfg`` and the functions its judge, domain_gan and classifier steps call."""
    s = settings(cfg)
    if min_windows is not None:
        s = replace(s, min_windows=min_windows)
    gan_kwargs = gan_hyperparameters(cfg.gan, with_classifier=True)
    del gan_kwargs["batch_size"]  # the settings carry it
    sensor = SensorSpec(cfg.sensor.name, cfg.sensor.full_scale_g, cfg.sensor.odr_hz)
    return train_transfer(xs, ys, xt, yt, classes, sensor, s, cfg.seed, log=lambda m: print("  " + m, flush=True),
                          gan_kwargs=gan_kwargs)


def recipe(columns, src, tgt_train, classes, cache: WindowCache, seed: int, args) -> dict[str, Int8Classifier]:
    """hargan's recipe (gan.transfer) and its ablations: {column: int8 model}, for the recipe columns asked."""
    cfg = run_config(args, synthetic="hargan" in columns, seed=seed)
    xs, ys = cache.stack(src, classes, True)
    xt, yt = cache.stack(tgt_train, classes, True, cfg.transfer.target_stride)
    out = {}
    if "hargan" in columns or "no_synthetic" in columns:
        res = hargan_recipe(xs, ys, xt, yt, classes, cfg, args.min_windows)
        out.update(hargan=res.board_int8, no_synthetic=res.judge_int8)
    if "classic_aug" in columns:
        s = replace(settings(cfg), min_windows=args.min_windows)
        x, y = balance_domains(xs, ys, xt, yt, s.target_share, seed)
        out["classic_aug"] = to_int8(train_board(x, y, classes, SENSOR.full_scale_g, s, seed, classic=True), x,
                                     classes, seed)
    return {c: m for c, m in out.items() if c in columns}


# ------------------------------------------------------------------------------------------- run

def run(args) -> dict:
    src, tgt = load_domains(Path(args.source), Path(args.target))
    cache = WindowCache()
    results: dict = {}
    for n_cls in args.classes:
        classes = CLASSES5[:n_cls]
        for protocol in args.protocols:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                for k, (fold, tgt_train, tgt_test) in enumerate(folds(protocol, tgt, seed)):
                    if k >= args.folds:
                        break
                    t0 = time.time()
                    models = recipe([c for c in args.columns if c in RECIPE], src, tgt_train, classes, cache,
                                    seed, args)
                    if models:
                        print(f"  recipe: {time.time() - t0:.0f} s", flush=True)
                        t0 = time.time()
                    for column in args.columns:
                        gravity = column not in ("target", "pooled")
                        xe, ye = cache.stack(tgt_test, classes, gravity)
                        if column not in models:
                            models[column] = baseline(column, src, tgt_train, classes, cache, seed, args)
                        pred = models[column].predict(xe)
                        acc = float(np.mean(pred == ye))
                        key = f"{n_cls}/{protocol}/{column}"
                        per_class = {c: float(np.mean(pred[ye == i] == i)) for i, c in enumerate(classes)}
                        results.setdefault(key, []).append({"fold": fold, "seed": seed, "accuracy": acc,
                                                            "recall": per_class})
                        print(f"{key:<28} {fold:<18} seed {seed}: {100 * acc:5.1f}%  ({time.time() - t0:.0f} s)",
                              flush=True)
                        t0 = time.time()
                    if args.partial:  # every finished fold, so a run stopped early still leaves its figures
                        write_text(Path(args.partial), json.dumps({"args": vars(args), "runs": results}) + "\n")
    return results


def summarize(results: dict) -> dict:
    out = {}
    for key, runs in results.items():
        a = np.array([r["accuracy"] for r in runs])
        out[key] = {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "n": int(len(a))}
    return out


def table(summary: dict, classes: list[int], protocols: list[str], columns: list[str]) -> str:
    rows = []
    for n_cls in classes:
        rows.append(f"\n**{n_cls} classes** (int8 accuracy on the held-out sensor(s), mean ± std over folds x seeds)\n")
        rows.append("| in-campaign test | " + " | ".join(columns) + " |")
        rows.append("|---|" + "---:|" * len(columns))
        for p in protocols:
            cells = []
            for c in columns:
                s = summary.get(f"{n_cls}/{p}/{c}")
                cells.append("" if s is None else f"{100 * s['mean']:.1f} ± {100 * s['std']:.1f}")
            rows.append(f"| {p} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def _cpu_seconds() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def merge(paths: list[str], out: Path) -> int:
    """One table and JSON from several runs (their ``runs`` joined; commands and times listed)."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    runs: dict = {}
    for part in parts:
        for key, rows in part["runs"].items():
            runs.setdefault(key, []).extend(rows)
    summary = summarize(runs)
    classes = sorted({int(k.split("/")[0]) for k in runs}, reverse=True)
    protocols = [p for p in PROTOCOLS if any(k.split("/")[1] == p for k in runs)]
    columns = [c for c in COLUMNS if any(k.split("/")[2] == c for k in runs)]
    md = table(summary, classes, protocols, columns)
    info = {"parts": [{"args": p["args"], "seconds": p.get("seconds"), "cpu_seconds": p.get("cpu_seconds")}
                      for p in parts], "summary": summary, "runs": runs}
    write_text(out.with_suffix(".json"), json.dumps(info, indent=2) + "\n")
    lines = []
    for p in info["parts"]:
        a = p["args"]
        cost = f"{p['seconds']:.0f} s wall, {p.get('cpu_seconds') or 0:.0f} s CPU" if p["seconds"] else "stopped early"
        lines.append(f"- `--protocols {' '.join(a['protocols'])} --classes {' '.join(map(str, a['classes']))} "
                     f"--folds {a['folds']} --first-seed {a.get('first_seed', 0)} --seeds {a['seeds']} "
                     f"--epochs {a['epochs']} --gan-steps {a['gan_steps']}`: "
                     f"{cost}")
    cmds = "\n".join(lines)
    write_text(out.with_suffix(".md"), f"# bench_transfer\n\nRuns merged:\n{cmds}\n{md}")
    print(md)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", default=str(SOURCE))
    ap.add_argument("--target", default=str(TARGET))
    ap.add_argument("--classes", type=int, nargs="+", default=[5, 4], choices=[4, 5])
    ap.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=list(PROTOCOLS),
                    help="default: every one (the -disjoint rows add ~2/3 to the run)")
    ap.add_argument("--columns", nargs="+", default=list(COLUMNS), choices=list(COLUMNS))
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds first-seed .. first-seed + seeds - 1 (to add seeds to an earlier run with --merge)")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--min-windows", type=int, default=1024)
    ap.add_argument("--gan-steps", type=int, default=300, help="small budget (hargan run: [gan] steps, 3000)")
    ap.add_argument("--quick", action="store_true", help="smoke run: one fold, 1 seed, short training")
    ap.add_argument("--partial", default=None, metavar="JSON", help="write the runs so far after every fold")
    ap.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                    help="combine the runs of earlier --out JSON files (e.g. 5 and 4 classes run apart) into --out")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "transfer"))
    args = ap.parse_args(argv)
    if args.merge:
        return merge(args.merge, Path(args.out))
    if args.quick:
        args.folds, args.seeds, args.epochs, args.min_windows, args.gan_steps = 1, 1, 3, 256, 50
    for p in (args.source, args.target):
        if not Path(p).exists():
            print(f"skipped: data folder {p} is absent", file=sys.stderr)
            return 0
    t0, cpu0 = time.time(), _cpu_seconds()
    results = run(args)
    summary = summarize(results)
    md = table(summary, args.classes, args.protocols, args.columns)
    print(md)
    info = {"args": vars(args), "seconds": round(time.time() - t0, 1), "cpu_seconds": round(_cpu_seconds() - cpu0, 1),
            "platform": platform.platform(), "summary": summary, "runs": results}
    out = Path(args.out + ("_quick" if args.quick else ""))
    write_text(out.with_suffix(".json"), json.dumps(info, indent=2) + "\n")
    command = " ".join(["python benchmarks/bench_transfer.py", *(sys.argv[1:] if argv is None else argv)])
    write_text(out.with_suffix(".md"), f"# bench_transfer\n\n`{command}` ({info['seconds']:.0f} s)\n{md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
