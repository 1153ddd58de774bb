"""Speed benchmark, hargan side by side with TSGM: time to shippable data, one command, one table.

    python benchmarks/run.py                                  # everything, 3 seeds (an hour or more on 2 cores)
    python benchmarks/run.py --quick                          # smoke run: small budgets, one seed, a few minutes
    python benchmarks/run.py --only hargan,tsgm-hargan        # some configurations
    python benchmarks/run.py --seeds 0                        # one seed
    python benchmarks/run.py --max-train-s tsgm-tutorial=300  # per-configuration budget (or one value for all)
    python benchmarks/run.py --render [benchmarks/results/speed.json]   # print a saved run's tables again

Configurations (each trainer run is a separate, fresh process, see the trainer protocol in the trainers):
  hargan         ours at the library's defaults (TensorFlow, jit_compile "auto": XLA off on a CPU), n_critic 5,
                 batch 64, classifier feedback
  hargan-tf      the same, XLA off (what the defaults do on a CPU: run only with --only)
  hargan-xla     the same, XLA on
  hargan-jax     the same, KERAS_BACKEND=jax (skipped when jax is not importable in our venv)
  tsgm-tutorial  TSGM's ConditionalGAN, its tutorial architecture (TSGM venv, --peer-python)
  tsgm-hargan    TSGM's ConditionalGAN training our generator and critic (TSGM venv)

Headline: **time to shippable data** = wall time from the trainer process's start (imports, build,
trace / XLA compile included; the clock paused while a checkpoint is saved) to the first
checkpoint whose generator, sampled with hargan's validated sampler
(``gan.sampling.sample_validated`` at hargan's defaults: the same int8 model and realism gate for
every row, ``--per-class`` windows of every class), gives a shipped set with TSTR >= 0.9 x TRTR;
plus that sampling's own wall time.
Every configuration is checkpointed at the same interval (``--eval-every``, 250 updates), every
seed in ``--seeds`` is a separate run, and the table gives medians and ranges over the seeds.
The XLA compile cache starts empty in every run (``HARGAN_COMPILE_CACHE`` = a fresh folder): a
first run on a new machine.

Steps: (a) WORK/data.npz (PAMAP2 wrist logs, windows 48 / stride 24 at 26 Hz, LSM6DSL +-4 g,
split by log) and WORK/classifier.keras (DEFAULT_PRESET on the real train split; its int8 model
too); reused when the data, seed and classifier budgets are unchanged. (b) every trainer, every
seed. (c) the same evaluation for all: TRTR once; for every checkpoint in order, validated
sampling then TSTR of the shipped set, until the first shippable one. (d) one markdown table,
ours/TSGM ratios, the machine (CPU model, load). (e) benchmarks/results/speed.json (with --quick:
WORK/speed_quick.json), atomically.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "pamap2_wrist_mems_studio"
WORK = ROOT / "benchmarks" / "results" / "work"
PEER_PYTHON = ROOT / "benchmarks" / ".venv-tsgm" / "bin" / "python"
OUT = ROOT / "benchmarks" / "results" / "speed.json"
QUALITY = 0.9  # shippable: TSTR of the validated-sampled set >= QUALITY x TRTR
SETUP_TSGM = "bash benchmarks/peer/setup_tsgm.sh"
# The ST classifier recipe (epochs, early-stopping patience) for TRTR, the int8 gate and every TSTR. One
# TSTR per checkpoint of every seed: 60 epochs made the evaluation longer than the training.
CLASSIFIER_FULL, CLASSIFIER_QUICK = (20, 5), (15, 4)

# Budgets: (speed_steps, eval_every, max_updates, max_train_s). The same checkpoint interval for every
# configuration. Ours ships within ~1,000 updates; TSGM's loop with our models needed 2,000-8,000
# in earlier runs; TSGM's tutorial architecture takes 1-4 s per update on 2 cores, so it is capped by time.
OURS_FULL, OURS_QUICK = (200, 250, 2000, 300.0), (30, 100, 200, 60.0)
CONFIGS: dict[str, dict] = {
    "hargan": dict(label="hargan, defaults", library="hargan", trainer="trainer_hargan.py", arch="hargan",
                   peer=False, env={"KERAS_BACKEND": "tensorflow"}, args=["--jit", "auto"], classifier=True,
                   full=OURS_FULL, quick=OURS_QUICK),
    "hargan-tf": dict(label="hargan, TF, XLA off", library="hargan", trainer="trainer_hargan.py", arch="hargan",
                      peer=False, env={"KERAS_BACKEND": "tensorflow"}, args=["--jit", "off"], classifier=True,
                      full=OURS_FULL, quick=OURS_QUICK),
    "hargan-xla": dict(label="hargan, TF, XLA on", library="hargan", trainer="trainer_hargan.py", arch="hargan",
                       peer=False, env={"KERAS_BACKEND": "tensorflow"}, args=["--jit", "on"], classifier=True,
                       full=OURS_FULL, quick=OURS_QUICK),
    "hargan-jax": dict(label="hargan, JAX", library="hargan", trainer="trainer_hargan.py", arch="hargan",
                       peer=False, env={"KERAS_BACKEND": "jax"}, args=[], classifier=True, needs="jax",
                       full=OURS_FULL, quick=OURS_QUICK),
    "tsgm-tutorial": dict(label="TSGM, tutorial arch", library="tsgm", trainer="trainer_tsgm.py", arch="tsgm",
                          peer=True, env={"KERAS_BACKEND": "tensorflow"}, args=[], classifier=False,
                          full=(10, 250, 1000, 600.0), quick=(2, 5, 10, 60.0)),
    "tsgm-hargan": dict(label="TSGM, our models", library="tsgm", trainer="trainer_tsgm.py", arch="hargan",
                        peer=True, env={"KERAS_BACKEND": "tensorflow"}, args=[], classifier=False,
                        full=(200, 250, 10000, 300.0), quick=(30, 100, 200, 60.0)),
}


# --- options ------------------------------------------------------------------------------------
def per_config(text: str | None, cast, names) -> dict:
    """``"600"`` -> every config 600; ``"tsgm-tutorial=300,hargan-tf=120"`` -> those configs."""
    if text is None:
        return {}
    text = text.strip()
    if "=" not in text:
        return {n: cast(text) for n in names}
    out = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        key = key.strip()
        if key not in CONFIGS:
            raise ValueError(f"unknown configuration {key!r}; valid: {', '.join(CONFIGS)}")
        out[key] = cast(value.strip())
    return out


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--data", type=Path, default=DATA, help="PAMAP2 wrist MEMS Studio logs")
    ap.add_argument("--work", type=Path, default=WORK, help="data.npz, classifier.keras, trainers' outputs")
    ap.add_argument("--out", type=Path, default=None, help=f"results JSON (default {OUT.relative_to(ROOT)}; "
                    "with --quick WORK/speed_quick.json)")
    ap.add_argument("--only", default=None, help=f"comma-separated configurations ({', '.join(CONFIGS)})")
    ap.add_argument("--quick", action="store_true", help="small budgets (smoke run, a few minutes)")
    ap.add_argument("--max-train-s", default=None, help="quality-run training budget, s: one value or CONFIG=S,...")
    ap.add_argument("--max-updates", default=None, help="quality-run update budget: one value or CONFIG=N,...")
    ap.add_argument("--eval-every", default=None, help="updates between checkpoints: one value or CONFIG=K,...")
    ap.add_argument("--speed-steps", default=None, help="timed updates: one value or CONFIG=N,...")
    ap.add_argument("--seed", type=int, default=0, help="data split, classifier and int8 model (one for every row)")
    ap.add_argument("--seeds", default=None, help="training seeds, one trainer run each (default 0,1,2; --quick: 0)")
    ap.add_argument("--n-seeds", default=None, help="how many of --seeds a configuration runs: one value or "
                    "CONFIG=N,... (e.g. tsgm-tutorial=1: its runs take 10 min each)")
    ap.add_argument("--per-class", type=int, default=None,
                    help="windows of every class to ship (default: the real training windows / classes)")
    ap.add_argument("--peer-python", type=Path, default=PEER_PYTHON, help="python of the TSGM venv")
    ap.add_argument("--skip-train", action="store_true", help="re-evaluate the trainers' existing outputs in WORK")
    ap.add_argument("--fresh", action="store_true", help="rebuild data.npz and the classifier even if unchanged")
    args = ap.parse_args(argv)
    names = [n for n in CONFIGS if n != "hargan-tf"]  # on a CPU, hargan-tf is hargan's default
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        bad = [n for n in names if n not in CONFIGS]
        if bad:
            ap.error(f"unknown configuration(s) {', '.join(bad)}; valid: {', '.join(CONFIGS)}")
    args.configs = names
    try:
        args.budget_overrides = {
            "speed_steps": per_config(args.speed_steps, int, names),
            "eval_every": per_config(args.eval_every, int, names),
            "max_updates": per_config(args.max_updates, int, names),
            "max_train_s": per_config(args.max_train_s, float, names),
            "n_seeds": per_config(args.n_seeds, int, names),
        }
    except ValueError as exc:
        ap.error(str(exc))
    if args.out is None:
        args.out = args.work / "speed_quick.json" if args.quick else OUT
    try:
        args.seed_list = [int(v) for v in (args.seeds or ("0" if args.quick else "0,1,2")).split(",") if v.strip()]
    except ValueError:
        ap.error(f"--seeds must be comma-separated integers, got {args.seeds!r}")
    if not args.seed_list:
        ap.error("--seeds: at least one seed")
    if args.per_class is not None and args.per_class < 1:
        ap.error("--per-class must be >= 1")
    return args


def budgets(name: str, quick: bool, overrides: dict) -> dict:
    speed, every, updates, secs = CONFIGS[name]["quick" if quick else "full"]
    b = {"speed_steps": speed, "eval_every": every, "max_updates": updates, "max_train_s": secs, "n_seeds": None}
    for key in b:
        if name in overrides.get(key, {}):
            b[key] = overrides[key][name]
    return b


# --- machine ------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:  # noqa: BLE001
        return None


def git_commit() -> str | None:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (sha + ("+dirty" if dirty else "")) or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info() -> dict:
    return {"cores": os.cpu_count(), "cpu_model": cpu_model(), "platform": platform.platform(),
            "load_average_start": [round(v, 2) for v in os.getloadavg()],
            "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(), "hargan": _version("hargan"), "commit": git_commit(),
            "tensorflow": _version("tensorflow"), "keras": _version("keras"), "jax": _version("jax"),
            "numpy": _version("numpy")}


# --- (a) data and classifier --------------------------------------------------------------------
def prepare(args) -> dict:
    """WORK/data.npz, WORK/classifier.keras, WORK/classifier_int8.tflite and TRTR (reused when unchanged)."""
    work: Path = args.work
    epochs, patience = CLASSIFIER_QUICK if args.quick else CLASSIFIER_FULL
    from classifier import DEFAULT_PRESET

    key = {"data": str(args.data.resolve()), "seed": args.seed, "epochs": epochs, "patience": patience,
           "preset": DEFAULT_PRESET, "length": 48, "stride": 24, "sensor": "LSM6DSL +-4 g 26 Hz", "v": 1}
    meta_path = work / "prepare.json"
    files = [work / "data.npz", work / "classifier.keras", work / "classifier_int8.tflite"]
    if not args.fresh and meta_path.is_file() and all(f.is_file() for f in files):
        meta = json.loads(meta_path.read_text())
        if meta.get("key") == key:
            print(f"(a) reusing {work}/data.npz and classifier.keras (unchanged; --fresh rebuilds): "
                  f"TRTR {meta['trtr_accuracy']:.4f}", flush=True)
            return meta

    import numpy as np

    from classifier import evaluate_classifier, quantize_int8, save_classifier, train_on_windows
    from har_data import DEFAULT_SENSOR, load_mems_studio, make_windows
    from har_data.atomic import write_bytes, write_text

    t0 = time.perf_counter()
    if not args.data.is_dir():
        raise SystemExit(f"run.py: error: no data at {args.data}")
    ws = make_windows(load_mems_studio(args.data), 48, 24, sensor=DEFAULT_SENSOR, seed=args.seed)
    train, val, test = ws.subset("train"), ws.subset("val"), ws.subset("test")
    sensor = ws.sensor
    work.mkdir(parents=True, exist_ok=True)
    arrays = {"class_names": np.array(ws.class_names, dtype=str), "full_scale_g": np.float64(sensor.full_scale_g),
              "odr_hz": np.float64(sensor.odr_hz), "sensor_name": np.array(sensor.name)}
    for split, s in (("train", train), ("val", val), ("test", test)):
        arrays[f"x_{split}"] = s.x.astype(np.float32)
        arrays[f"y_{split}"] = s.y.astype(np.int32)
    tmp = work / f".data.npz.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, work / "data.npz")
    print(f"(a) windows: {len(ws)} {ws.counts()}, train/val/test {len(train)}/{len(val)}/{len(test)}, {sensor}",
          flush=True)
    # The float classifier = TRTR's model: DEFAULT_PRESET on x_train, early stopping on x_val.
    clf = train_on_windows(ws, preset=DEFAULT_PRESET, seed=args.seed, epochs=epochs, patience=patience, verbose=0)
    save_classifier(clf, work / "classifier.keras")
    trtr = float(evaluate_classifier(clf, test.x, test.y, ws.class_names)["accuracy"])
    write_bytes(work / "classifier_int8.tflite", quantize_int8(clf, train.x, seed=args.seed))
    meta = {"key": key, "trtr_accuracy": trtr, "class_names": ws.class_names, "counts": ws.counts(),
            "train": len(train), "val": len(val), "test": len(test), "sensor": sensor.to_dict(),
            "prepare_s": round(time.perf_counter() - t0, 1)}
    write_text(meta_path, json.dumps(meta, indent=2) + "\n")
    print(f"(a) classifier ({DEFAULT_PRESET}) on the real train split: TRTR accuracy {trtr:.4f} "
          f"({meta['prepare_s']} s)", flush=True)
    return meta


# --- (b) trainers -------------------------------------------------------------------------------
_NOISE = re.compile(r"^(WARNING: All log messages|[IWE]\d{4} |To enable the following instructions|"
                    r".*cuda|.*oneDNN custom operations|.*TF-TRT)", re.IGNORECASE)


def skip_reason(name: str, args) -> str | None:
    cfg = CONFIGS[name]
    trainer = ROOT / "benchmarks" / cfg["trainer"]
    if not trainer.is_file():
        return f"{trainer.relative_to(ROOT)} not found"
    if cfg["peer"] and not Path(args.peer_python).is_file():
        return f"no TSGM venv at {args.peer_python}; set it up with `{SETUP_TSGM}`"
    if cfg.get("needs"):
        probe = subprocess.run([sys.executable, "-c", f"import {cfg['needs']}"], capture_output=True, text=True)
        if probe.returncode != 0:
            last = (probe.stderr.strip().splitlines() or ["?"])[-1]
            return f"{cfg['needs']} is not importable in our venv ({last}); `pip install -e \".[jax]\"`"
    return None


def run_trainer(name: str, args, b: dict, seed: int, speed: bool) -> dict:
    """Run one trainer (one seed) as a subprocess, streaming its output; return its result.json (or the failure)."""
    cfg = CONFIGS[name]
    out = args.work / name / f"seed{seed}"
    out.mkdir(parents=True, exist_ok=True)
    result_path = out / "result.json"
    python = str(args.peer_python) if cfg["peer"] else sys.executable
    cmd = [python, str(ROOT / "benchmarks" / cfg["trainer"]), "--data", str(args.work / "data.npz"),
           "--out", str(out), "--arch", cfg["arch"], "--batch", "64", "--seed", str(seed),
           "--speed-steps", str(b["speed_steps"] if speed else 0), "--eval-every", str(b["eval_every"]),
           "--max-updates", str(b["max_updates"]), "--max-train-s", str(b["max_train_s"])]
    if cfg["classifier"]:
        cmd += ["--classifier", str(args.work / "classifier.keras")]
    cmd += cfg["args"]
    if args.skip_train:
        if result_path.is_file():
            print(f"(b) {name} seed {seed}: reusing {result_path} (--skip-train)", flush=True)
            return json.loads(result_path.read_text())
        return {"status": "skipped", "error": f"no {result_path.relative_to(args.work)} from an earlier run "
                                              "(--skip-train)"}
    if result_path.exists():
        result_path.unlink()
    cache = out / "compile_cache"  # empty: a first run on this machine
    shutil.rmtree(cache, ignore_errors=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "HARGAN_COMPILE_CACHE": str(cache),
           **cfg["env"]}
    limit = 3 * b["max_train_s"] + 900  # a safety net only: the trainer stops itself at its budget
    print(f"(b) {name} seed {seed}: {' '.join(Path(c).name if i < 2 else c for i, c in enumerate(cmd))}"
          + "".join(f" [{k}={v}]" for k, v in cfg["env"].items()), flush=True)
    t0 = time.perf_counter()
    tail: list[str] = []
    with open(out / "log.txt", "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                bufsize=1, start_new_session=True)
        try:
            for line in proc.stdout:
                log.write(line)
                line = line.rstrip()
                if line and not _NOISE.match(line):
                    tail = (tail + [line])[-15:]
                    print(f"    [{name}] {line}", flush=True)
                if time.perf_counter() - t0 > limit:
                    raise TimeoutError
            rc = proc.wait()
        except (TimeoutError, KeyboardInterrupt) as exc:
            os.killpg(proc.pid, 9)  # the trainer's own process group (start_new_session)
            proc.wait()
            if isinstance(exc, KeyboardInterrupt):
                raise
            return {"status": "failed", "error": f"killed after {limit:.0f} s"}
    wall = round(time.perf_counter() - t0, 1)
    if rc != 0 or not result_path.is_file():
        err = next((t for t in reversed(tail) if re.search(r"error|exception|not implemented", t, re.I)),
                   tail[-1] if tail else "no output")
        print(f"(b) {name}: FAILED (exit {rc}) after {wall} s: {err}", flush=True)
        return {"status": "failed", "returncode": rc, "error": err[:300], "log": str(out / "log.txt")}
    result = json.loads(result_path.read_text())
    result["process_wall_s"] = wall
    print(f"(b) {name}: done in {wall} s", flush=True)
    return result


# --- (c) evaluation -----------------------------------------------------------------------------
class Evaluator:
    """Validated sampling of a checkpoint's generator, then TSTR of the shipped set (DEFAULT_PRESET on it,
    tested on the real x_test); the same int8 model and classifier recipe for every row."""

    def __init__(self, work: Path, quick: bool, per_class: int | None):
        import numpy as np

        import tensorflow as tf

        from classifier import Int8Classifier
        from har_data import SensorSpec

        tf.get_logger().setLevel("ERROR")  # one fresh classifier per checkpoint: retracing warnings are expected

        d = np.load(work / "data.npz", allow_pickle=False)
        self.d = {k: d[k] for k in d.files}
        self.names = [str(c) for c in self.d["class_names"]]
        self.sensor = SensorSpec(str(self.d["sensor_name"]), int(round(float(self.d["full_scale_g"]))),
                                 float(self.d["odr_hz"]))
        self.epochs, self.patience = CLASSIFIER_QUICK if quick else CLASSIFIER_FULL
        self.int8 = Int8Classifier((work / "classifier_int8.tflite").read_bytes(), self.names)
        self.per_class = per_class or math.ceil(len(self.d["y_train"]) / len(self.names))
        self.realism = realism_gate(self.d["x_train"], self.d["y_train"], self.names)

    def tstr(self, x, y, seed: int) -> float:
        from classifier import DEFAULT_PRESET, evaluate_classifier, train_classifier

        d = self.d
        m = train_classifier(x, y, self.names, x_val=d["x_val"], y_val=d["y_val"], preset=DEFAULT_PRESET,
                             full_scale_g=float(self.sensor.full_scale_g), epochs=self.epochs,
                             patience=self.patience, seed=seed, verbose=0)
        return float(evaluate_classifier(m, d["x_test"], d["y_test"], self.names)["accuracy"])

    def shippable(self, generator_file: Path, seed: int) -> dict:
        """``sample_validated`` on the checkpoint's generator (timed), then TSTR of what it ships."""
        import keras
        import numpy as np

        import gan  # noqa: F401 - registers hargan's layers for loading
        from gan.sampling import AcceptanceError, sample_validated

        generator = keras.saving.load_model(generator_file, compile=False)
        t0 = time.perf_counter()
        try:
            shipped = sample_validated(generator, self.int8, self.sensor, self.per_class, seed=seed + 1,
                                       realism=self.realism)
        except AcceptanceError as exc:
            return {"sampling_s": round(time.perf_counter() - t0, 3), "shipped": 0, "note": str(exc)[:200]}
        sampling_s = time.perf_counter() - t0
        if not np.all(np.isfinite(shipped.x_mg)):
            return {"sampling_s": round(sampling_s, 3), "shipped": 0, "note": "non-finite windows"}
        acc = self.tstr(shipped.x_mg, shipped.y, seed)
        return {"sampling_s": round(sampling_s, 3), "tstr_s": round(time.perf_counter() - t0 - sampling_s, 1),
                "shipped": len(shipped), "tstr_accuracy": round(acc, 4),
                "acceptance": round(shipped.acceptance_rate, 4),
                "realism_pass": None if self.realism is None else round(float(shipped.realism_pass_rate), 4),
                "acceptance_by_class": {c: round(v, 4) for c, v in shipped.acceptance_by_class.items()}}


def realism_gate(x_train, y_train, names):
    """hargan's realism gate at its defaults for a one-domain run, calibrated on the real training windows
    (None when those defaults do not enforce it), so every row ships what ``hargan run`` would."""
    from gan.realism import RealismGate
    from hargan.config import Config

    cfg = Config()
    if not cfg.sampling.realism_gate:
        return None
    return RealismGate.fit(x_train, y_train, names, spectrum_quantile=cfg.sampling.realism_spectrum_quantile)


def evaluate(result: dict, ev: Evaluator, trtr: float, out_dir: Path, seed: int, tag: str) -> dict:
    """Every checkpoint in order until the first shippable one: time to shippable = its elapsed_s + sampling_s."""
    rows, hit = [], None
    ckpts = result.get("checkpoints") or []
    for c in ckpts:
        row = {**c, **ev.shippable(out_dir / c["file"], seed)}
        row["tstr_ratio"] = round(row["tstr_accuracy"] / trtr, 4) if row.get("tstr_accuracy") is not None else None
        row["shippable"] = row["tstr_ratio"] is not None and row["tstr_ratio"] >= QUALITY
        rows.append(row)
        print(f"(c) {tag}: {c['updates']} updates, {c['elapsed_s']:.1f} s since start: "
              f"sampling {row['sampling_s']:.1f} s, "
              f"shipped {row['shipped']}, acceptance {row.get('acceptance')}, realism pass {row.get('realism_pass')}, "
              f"TSTR/TRTR {row['tstr_ratio']} "
              f"(TSTR {row.get('tstr_s')} s)"
              f"{' SHIPPABLE' if row['shippable'] else ''}", flush=True)
        if row["shippable"]:
            hit = row
            break
    ratios = [r["tstr_ratio"] for r in rows if r["tstr_ratio"] is not None]
    last = ckpts[-1] if ckpts else {}
    return {"evaluated": rows, "best_tstr_ratio": max(ratios) if ratios else None,
            "time_to_shippable_s": round(hit["elapsed_s"] + hit["sampling_s"], 3) if hit else None,
            "updates_to_shippable": hit["updates"] if hit else None,
            "shipped_tstr_ratio": hit["tstr_ratio"] if hit else None,
            "shipped_acceptance": hit["acceptance"] if hit else None,
            "shipped_realism_pass": hit.get("realism_pass") if hit else None,
            "budget_elapsed_s": last.get("elapsed_s"), "budget_updates": last.get("updates"),
            "checkpoints_total": len(ckpts)}


# --- (d) table ----------------------------------------------------------------------------------
def _num(v, fmt: str = "{:,.1f}") -> str:
    return "–" if v is None else fmt.format(v)


def _ok_seeds(row: dict) -> list[dict]:
    return [r for r in row.get("seeds") or [] if r.get("status") == "ok"]


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def shippable_summary(row: dict) -> dict:
    """Median and range of time to shippable over the seeds; a seed that never shipped counts as +inf
    (so the median is a lower bound, '> budget', when half or more did not ship)."""
    seeds = _ok_seeds(row)
    times = [(r.get("evaluation") or {}).get("time_to_shippable_s") for r in seeds]
    reached = [t for t in times if t is not None]
    budget = max(((r.get("evaluation") or {}).get("budget_elapsed_s") or 0.0 for r in seeds), default=None)
    out = {"seeds": len(seeds), "reached": len(reached), "times": times, "budget_s": budget,
           "median_s": None, "median_is_lower_bound": False,
           "min_s": min(reached) if reached else None, "max_s": max(reached) if reached else None}
    if seeds:
        ranked = sorted(t if t is not None else math.inf for t in times)
        med = statistics.median(ranked)
        if math.isinf(med):
            out["median_s"], out["median_is_lower_bound"] = budget, True
        else:
            out["median_s"] = med
    return out


def time_to_shippable_cell(row: dict) -> str:
    sm = shippable_summary(row)
    if not sm["seeds"]:
        return "–"
    if sm["median_is_lower_bound"]:
        return f"not shippable in {sm['budget_s']:,.0f} s ({sm['reached']}/{sm['seeds']} seeds shipped)"
    rng = f" [{sm['min_s']:,.1f}–{sm['max_s']:,.1f}]" if sm["seeds"] > 1 else ""
    missed = sm["seeds"] - sm["reached"]
    miss = f", {missed} seed(s) not in {sm['budget_s']:,.0f} s" if missed > 0 else ""
    return f"**{sm['median_s']:,.1f}**{rng}{miss}"


def _seed_median(row: dict, key: str, where: str = "result") -> float | None:
    return _median([(r.get(where) or {}).get(key) for r in _ok_seeds(row)])


def _range_cell(row: dict, key: str, fmt: str = "{:,.1f}") -> str:
    vals = [(r.get("result") or {}).get(key) for r in _ok_seeds(row)]
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    med = fmt.format(statistics.median(vals))
    return med if len(vals) == 1 else f"{med} [{fmt.format(min(vals))}–{fmt.format(max(vals))}]"


def sustained_updates_per_s(r: dict) -> float | None:
    """Updates per second of training over the whole quality run (first-step trace/compile included)."""
    if not r.get("quality_train_s") or not r.get("quality_updates"):
        return None
    return r["quality_updates"] / r["quality_train_s"]


def cpu_ms_per_update(r: dict) -> float | None:
    """Process CPU time per update in the timed runs (all threads; steadier than wall time on a shared VM)."""
    if not r.get("speed_updates") or r.get("speed_cpu_s") is None:
        return None
    return 1000.0 * r["speed_cpu_s"] / r["speed_updates"]


def _speed_result(row: dict) -> dict:
    """The seed run that measured speed (the first seed)."""
    return next((r["result"] for r in _ok_seeds(row) if r["result"].get("speed_updates")), {})


def table(rows: list[dict]) -> str:
    """The markdown table; ``rows``: {"name", "label", "status", "seeds": [{"seed", "status", "result",
    "evaluation"}], "reason"}. Medians over seeds, [min–max] ranges."""
    head = ("| configuration | time to shippable s, median [range] | updates to shippable | "
            "warm-up s (start to 1st update) | updates/s (whole run) | CPU ms / update | real windows/s | "
            "generated windows/s | TSTR/TRTR shipped | int8 acceptance / realism pass | peak RSS MB | params G/C |")
    lines = [head, "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        label = f"{row.get('label') or CONFIGS.get(row['name'], {}).get('label', row['name'])} (`{row['name']}`)"
        seeds = _ok_seeds(row)
        if row["status"] != "ok" or not seeds:
            why = row.get("reason") or row["status"]
            lines.append(f"| {label} | {row['status']}: {why} | | | | | | | | | | |")
            continue
        sp, first = _speed_result(row), seeds[0]["result"]
        extra = [f"n_critic {first['n_critic']}"] if first.get("n_critic") not in (None, 5) else []
        extra += [f"{len(seeds)} seeds"] if len(seeds) > 1 else []
        ups = _median([sustained_updates_per_s(r["result"]) for r in seeds])
        lines.append(
            f"| {label}{' (' + ', '.join(extra) + ')' if extra else ''} | {time_to_shippable_cell(row)} | "
            f"{_num(_seed_median(row, 'updates_to_shippable', 'evaluation'), '{:,.0f}')} | "
            f"{_range_cell(row, 'first_update_s')} | {_num(ups, '{:,.2f}')} | "
            f"{_num(cpu_ms_per_update(sp), '{:,.1f}')} | {_num(sp.get('real_windows_per_s'), '{:,.0f}')} | "
            f"{_num(_seed_median(row, 'generated_windows_per_s'), '{:,.0f}')} | "
            f"{_num(_seed_median(row, 'shipped_tstr_ratio', 'evaluation'), '{:.3f}')} | "
            f"{_num(_seed_median(row, 'shipped_acceptance', 'evaluation'), '{:.3f}')} / "
            f"{_num(_seed_median(row, 'shipped_realism_pass', 'evaluation'), '{:.3f}')} | "
            f"{_num(_seed_median(row, 'peak_rss_mb'), '{:,.0f}')} | "
            f"{_num(first.get('generator_params'), '{:,}')} / {_num(first.get('critic_params'), '{:,}')} |")
    return "\n".join(lines)


def ratio_cell(ours: float | None, peer: float | None) -> str:
    if ours is None or peer is None or peer == 0:
        return "–"
    return f"{ours / peer:,.2f}×"


def shippable_ratio_cell(ours_row: dict, peer_row: dict) -> str:
    """How many times sooner ours has shippable data (TSGM's median / ours); a lower bound when TSGM's
    median seed did not ship in its budget."""
    o, p = shippable_summary(ours_row), shippable_summary(peer_row)
    if o["median_s"] is None or o["median_is_lower_bound"]:
        return "– (ours not shippable)"
    if p["median_s"] is None:
        return "–"
    if p["median_is_lower_bound"]:
        return f"> {p['median_s'] / o['median_s']:,.1f}× sooner (TSGM not shippable in {p['median_s']:,.0f} s)"
    return f"{p['median_s'] / o['median_s']:,.2f}× sooner"


def ratios(rows: list[dict]) -> tuple[str, list[dict]]:
    """ours/TSGM ratios, every ok hargan row against every ok TSGM row."""
    ours = [r for r in rows if r["status"] == "ok" and r["library"] == "hargan" and _ok_seeds(r)]
    peers = [r for r in rows if r["status"] == "ok" and r["library"] == "tsgm" and _ok_seeds(r)]
    if not ours or not peers:
        return "", []
    lines = ["| ours / TSGM | time to shippable (medians) | warm-up | updates/s (whole run) | real windows/s | "
             "generated windows/s |", "|---|---|---:|---:|---:|---:|"]
    data = []
    for o in ours:
        for p in peers:
            ro, rp = _speed_result(o), _speed_result(p)
            cells = [shippable_ratio_cell(o, p),
                     ratio_cell(_seed_median(p, "first_update_s"), _seed_median(o, "first_update_s")),
                     ratio_cell(_median([sustained_updates_per_s(r["result"]) for r in _ok_seeds(o)]),
                                _median([sustained_updates_per_s(r["result"]) for r in _ok_seeds(p)])),
                     ratio_cell(ro.get("real_windows_per_s"), rp.get("real_windows_per_s")),
                     ratio_cell(_seed_median(o, "generated_windows_per_s"), _seed_median(p, "generated_windows_per_s"))]
            lines.append(f"| `{o['name']}` / `{p['name']}` | {' | '.join(cells)} |")
            data.append({"ours": o["name"], "tsgm": p["name"], "time_to_shippable": cells[0],
                         "warmup_shorter": cells[1], "updates_per_s": cells[2], "real_windows_per_s": cells[3],
                         "generated_windows_per_s": cells[4]})
    return "\n".join(lines), data


def machine_line(m: dict) -> str:
    la = m.get("load_average_start")
    lb = m.get("load_average_end")
    vers = ", ".join(f"{k} {m[k]}" for k in ("python", "tensorflow", "keras", "jax", "tsgm") if m.get(k))
    return (f"Machine: {m.get('cores')} cores, {m.get('cpu_model')}; load average {la} at start, {lb} at end; "
            f"{m.get('date')}; {vers}; hargan {m.get('hargan')} ({m.get('commit')}).")


def report(out: dict) -> dict:
    """Print the tables, TRTR and machine line of a run; returns the derived fields."""
    rows, trtr = out["configurations"], out["trtr_accuracy"]
    tab = table(rows)
    rat, rat_data = ratios(rows)
    print("\n" + tab)
    if rat:
        print("\n" + rat)
    print(f"\nTRTR accuracy {trtr:.4f} ({out['data']['test']} real test windows). Shippable = validated sampling "
          f"(int8 gate and realism gate, {out.get('per_class')} windows per class) gives "
          f"TSTR >= {out['quality_threshold']} x TRTR. "
          f"Time to shippable: trainer process start (imports, compile) to that checkpoint, plus its sampling; "
          f"checkpoints every {sorted({r['budgets']['eval_every'] for r in rows if r.get('budgets')})} updates; "
          f"seeds {out.get('seeds')}.")
    print(machine_line(out["machine"]))
    return {"ratios": rat_data, "table_markdown": tab, "ratios_markdown": rat}


def train_config(name: str, args) -> dict:
    """Every seed's trainer run of one configuration: the table row, without its evaluation yet."""
    cfg = CONFIGS[name]
    b = budgets(name, args.quick, args.budget_overrides)
    row = {"name": name, "label": cfg["label"], "library": cfg["library"], "arch": cfg["arch"], "budgets": b}
    reason = None if args.skip_train else skip_reason(name, args)
    if reason:
        print(f"(b) {name}: skipped: {reason}", flush=True)
        return {**row, "status": "skipped", "reason": reason}
    seeds = []
    for i, seed in enumerate(args.seed_list[:b["n_seeds"]]):
        result = run_trainer(name, args, b, seed, speed=i == 0)
        if result.get("status") in ("failed", "skipped"):
            seeds.append({"seed": seed, "status": result["status"], "reason": result.get("error"), "result": result})
        else:
            seeds.append({"seed": seed, "status": "ok", "result": result})
    ok = [s_ for s_ in seeds if s_["status"] == "ok"]
    status = "ok" if ok else ("failed" if any(s_["status"] == "failed" for s_ in seeds) else "skipped")
    reason = None if ok else "; ".join(str(s_.get("reason")) for s_ in seeds)
    return {**row, "status": status, "reason": reason, "seeds": seeds}


def evaluate_config(row: dict, args, ev_box: list, trtr: float) -> None:
    """Every trained seed of a row: checkpoints in order until the first shippable one (fills "evaluation")."""
    for sd in _ok_seeds(row):
        if not ev_box:
            ev_box.append(Evaluator(args.work, args.quick, args.per_class))
        t0 = time.perf_counter()
        out_dir = args.work / row["name"] / f"seed{sd['seed']}"
        title = f"{row['name']} seed {sd['seed']}"
        sd["evaluation"] = evaluate(sd["result"], ev_box[0], trtr, out_dir, sd["seed"], title)
        sd["evaluation"]["eval_s"] = round(time.perf_counter() - t0, 1)


# --- main ---------------------------------------------------------------------------------------
def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "--render":  # print the tables of a saved run again (and refresh its markdown)
        from har_data.jsonio import write_json

        path = Path(argv[1]) if len(argv) > 1 else OUT
        out = json.loads(path.read_text(encoding="utf-8"))
        out.update(report(out))
        write_json(path, out)
        return 0
    args = parse_args(argv)
    t_all = time.perf_counter()
    machine = machine_info()
    print(f"speed benchmark: {', '.join(args.configs)}{' (quick)' if args.quick else ''}, seeds {args.seed_list}; "
          f"work {args.work}; {machine['cores']} cores, {machine['cpu_model']}, load {machine['load_average_start']}",
          flush=True)
    meta = prepare(args)
    trtr = float(meta["trtr_accuracy"])
    # All training first (the timed part, back to back), then the evaluations (only the shippable
    # checkpoint's sampling time enters the figures).
    rows = [train_config(name, args) for name in args.configs]
    ev_box: list = []
    for i, row in enumerate(rows):
        evaluate_config(row, args, ev_box, trtr)
        if i + 1 < len(rows):  # what is done so far, in case the run is stopped (--render prints it)
            save(args, meta, machine, trtr, rows, ev_box, t_all, partial=True)
    save(args, meta, machine, trtr, rows, ev_box, t_all, partial=False)
    return 0 if all(r["status"] != "failed" for r in rows) else 1


def save(args, meta: dict, machine: dict, trtr: float, rows: list[dict], ev_box: list, t_all: float,
         partial: bool) -> None:
    """The results JSON (atomically); with ``partial`` the configurations not evaluated yet are left out."""
    from har_data.jsonio import write_json

    machine = dict(machine)
    machine["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    for key, lib_key in (("tsgm", "version"), ("jax", "jax_version")):
        found = {r["result"].get(lib_key) for row in rows for r in _ok_seeds(row)
                 if r["result"].get(lib_key) and (key != "tsgm" or row["library"] == "tsgm")}
        if found:
            machine[key] = ", ".join(sorted(str(v) for v in found))

    out = {"quick": args.quick, "partial": partial, "seed": args.seed, "seeds": args.seed_list,
           "quality_threshold": QUALITY, "per_class": ev_box[0].per_class if ev_box else args.per_class,
           "trtr_accuracy": trtr, "data": meta, "machine": machine, "configurations": rows,
           "command": "python benchmarks/run.py " + " ".join(sys.argv[1:])}
    if partial:
        out["configurations"] = [r for r in rows if all("evaluation" in sd for sd in _ok_seeds(r))]
    else:
        out.update(report(out))
    out["total_s"] = round(time.perf_counter() - t_all, 1)
    write_json(args.out, out)
    print(f"wrote {args.out} ({out['total_s']} s in all{', partial' if partial else ''})", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
