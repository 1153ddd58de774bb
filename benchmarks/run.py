"""Speed benchmark, hargan side by side with TSGM: one command, one table (issue 8, "Speed").

    python benchmarks/run.py                                  # everything (tens of minutes on 2 cores)
    python benchmarks/run.py --quick                          # smoke run: small budgets, a few minutes
    python benchmarks/run.py --only hargan-tf,tsgm-tutorial   # some configurations
    python benchmarks/run.py --max-train-s tsgm-tutorial=300  # per-configuration budget (or one value for all)
    python benchmarks/run.py --render [benchmarks/results/speed.json]   # print a saved run's tables again

Configurations (each trainer is a separate process, see the trainer protocol in the trainers):
  hargan-tf      ours, TensorFlow, jit_compile=False (n_critic 5, batch 64, classifier feedback: the defaults)
  hargan-xla     ours, TensorFlow, XLA (jit_compile "auto", the default since it measured faster on CPU too)
  hargan-jax     ours, KERAS_BACKEND=jax (skipped when jax is not importable in our venv)
  tsgm-tutorial  TSGM's ConditionalGAN, its tutorial architecture (TSGM venv, --peer-python)
  tsgm-hargan    TSGM's ConditionalGAN training our generator and critic (TSGM venv)

Steps: (a) WORK/data.npz (PAMAP2 wrist logs, windows 48 / stride 24 at 26 Hz, LSM6DSL +-4 g,
split by log) and WORK/classifier.keras (DEFAULT_PRESET on the real train split; its int8 model
too); reused when the data, seed and classifier budgets are unchanged. (b) every trainer. (c) the same
evaluation for all: TRTR once; TSTR of every checkpoint in order until the first that reaches
0.9 x TRTR (time to quality = its train_s). (d) one markdown table, ours/TSGM ratios, the
machine. (e) benchmarks/results/speed.json (with --quick: WORK/speed_quick.json), atomically.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
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
QUALITY = 0.9  # time to quality: first checkpoint with TSTR >= QUALITY x TRTR
SETUP_TSGM = "bash benchmarks/peer/setup_tsgm.sh"

# Budgets: (speed_steps, eval_every, max_updates, max_train_s). Ours reaches quality well within
# 3,000 updates (~100 s on 2 quiet cores); TSGM's tutorial architecture takes ~4 s per update on
# 2 cores, so it is capped by time.
OURS_FULL, OURS_QUICK = (200, 250, 3000, 600.0), (30, 100, 200, 60.0)
CONFIGS: dict[str, dict] = {
    "hargan-tf": dict(label="hargan, TF, no XLA", library="hargan", trainer="trainer_hargan.py", arch="hargan",
                      peer=False, env={"KERAS_BACKEND": "tensorflow"}, args=[], classifier=True,
                      full=OURS_FULL, quick=OURS_QUICK),
    "hargan-xla": dict(label="hargan, TF + XLA (default)", library="hargan", trainer="trainer_hargan.py", arch="hargan",
                       peer=False, env={"KERAS_BACKEND": "tensorflow"}, args=["--jit"], classifier=True,
                       full=OURS_FULL, quick=OURS_QUICK),
    "hargan-jax": dict(label="hargan, JAX", library="hargan", trainer="trainer_hargan.py", arch="hargan",
                       peer=False, env={"KERAS_BACKEND": "jax"}, args=[], classifier=True, needs="jax",
                       full=OURS_FULL, quick=OURS_QUICK),
    "tsgm-tutorial": dict(label="TSGM, tutorial arch", library="tsgm", trainer="trainer_tsgm.py", arch="tsgm",
                          peer=True, env={"KERAS_BACKEND": "tensorflow"}, args=[], classifier=False,
                          full=(10, 25, 1000, 600.0), quick=(2, 5, 10, 60.0)),
    "tsgm-hargan": dict(label="TSGM, our models", library="tsgm", trainer="trainer_tsgm.py", arch="hargan",
                        peer=True, env={"KERAS_BACKEND": "tensorflow"}, args=[], classifier=False,
                        full=(200, 1000, 10000, 600.0), quick=(30, 100, 200, 60.0)),
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
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--peer-python", type=Path, default=PEER_PYTHON, help="python of the TSGM venv")
    ap.add_argument("--skip-train", action="store_true", help="re-evaluate the trainers' existing outputs in WORK")
    ap.add_argument("--fresh", action="store_true", help="rebuild data.npz and the classifier even if unchanged")
    args = ap.parse_args(argv)
    names = list(CONFIGS)
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
        }
    except ValueError as exc:
        ap.error(str(exc))
    if args.out is None:
        args.out = args.work / "speed_quick.json" if args.quick else OUT
    return args


def budgets(name: str, quick: bool, overrides: dict) -> dict:
    speed, every, updates, secs = CONFIGS[name]["quick" if quick else "full"]
    b = {"speed_steps": speed, "eval_every": every, "max_updates": updates, "max_train_s": secs}
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
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "hargan": _version("hargan"), "commit": git_commit(),
            "tensorflow": _version("tensorflow"), "keras": _version("keras"), "jax": _version("jax"),
            "numpy": _version("numpy")}


# --- (a) data and classifier --------------------------------------------------------------------
def prepare(args) -> dict:
    """WORK/data.npz, WORK/classifier.keras, WORK/classifier_int8.tflite and TRTR (reused when unchanged)."""
    work: Path = args.work
    epochs, patience = (15, 4) if args.quick else (60, 10)
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
    if cfg["peer"]:
        if not Path(args.peer_python).is_file():
            return f"no TSGM venv at {args.peer_python}; set it up with `{SETUP_TSGM}`"
    if cfg.get("needs"):
        probe = subprocess.run([sys.executable, "-c", f"import {cfg['needs']}"], capture_output=True, text=True)
        if probe.returncode != 0:
            last = (probe.stderr.strip().splitlines() or ["?"])[-1]
            return f"{cfg['needs']} is not importable in our venv ({last}); `pip install -e \".[jax]\"`"
    return None


def run_trainer(name: str, args, b: dict) -> dict:
    """Run one trainer as a subprocess, streaming its output; return its result.json (or the failure)."""
    cfg = CONFIGS[name]
    out = args.work / name
    out.mkdir(parents=True, exist_ok=True)
    result_path = out / "result.json"
    python = str(args.peer_python) if cfg["peer"] else sys.executable
    cmd = [python, str(ROOT / "benchmarks" / cfg["trainer"]), "--data", str(args.work / "data.npz"),
           "--out", str(out), "--arch", cfg["arch"], "--batch", "64", "--seed", str(args.seed),
           "--speed-steps", str(b["speed_steps"]), "--eval-every", str(b["eval_every"]),
           "--max-updates", str(b["max_updates"]), "--max-train-s", str(b["max_train_s"])]
    if cfg["classifier"]:
        cmd += ["--classifier", str(args.work / "classifier.keras")]
    cmd += cfg["args"]
    if args.skip_train:
        if result_path.is_file():
            print(f"(b) {name}: reusing {result_path} (--skip-train)", flush=True)
            return json.loads(result_path.read_text())
        return {"status": "skipped", "error": f"no {result_path.relative_to(args.work)} from an earlier run "
                                              "(--skip-train)"}
    if result_path.exists():
        result_path.unlink()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2", **cfg["env"]}
    limit = 3 * b["max_train_s"] + 900  # a safety net only: the trainer stops itself at its budget
    print(f"(b) {name}: {' '.join(Path(c).name if i < 2 else c for i, c in enumerate(cmd))}"
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
    """TSTR of a checkpoint: DEFAULT_PRESET trained on its windows (quantized to sensor codes), tested on x_test."""

    def __init__(self, work: Path, seed: int, quick: bool):
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
        self.seed = seed
        self.epochs, self.patience = (15, 4) if quick else (60, 10)
        self.int8 = Int8Classifier((work / "classifier_int8.tflite").read_bytes(), self.names)

    def tstr(self, x, y) -> float:
        from classifier import DEFAULT_PRESET, evaluate_classifier, train_classifier

        d = self.d
        m = train_classifier(self.sensor.quantize_mg(x), y, self.names, x_val=d["x_val"], y_val=d["y_val"],
                             preset=DEFAULT_PRESET, full_scale_g=float(self.sensor.full_scale_g),
                             epochs=self.epochs, patience=self.patience, seed=self.seed, verbose=0)
        return float(evaluate_classifier(m, d["x_test"], d["y_test"], self.names)["accuracy"])

    def int8_rate(self, x, y) -> dict:
        """int8 acceptance of generated windows, and int8 validation windows/s (LiteRT, >= 8192 windows)."""
        import numpy as np

        from evaluation.scores import int8_acceptance

        xq = self.sensor.quantize_mg(x)
        rate, by_class = int8_acceptance(self.int8, xq, y, self.names)
        reps = max(1, -(-8192 // len(xq)))
        xt, yt = np.concatenate([xq] * reps), np.concatenate([y] * reps)
        self.int8.accept(xt[:1024], yt[:1024])  # warm-up
        t0 = time.perf_counter()
        self.int8.accept(xt, yt)
        dt = time.perf_counter() - t0
        by_class = {c: round(v, 4) for c, v in by_class.items() if v is not None}
        return {"acceptance": round(rate, 4), "acceptance_by_class": by_class,
                "int8_windows_per_s": round(len(xt) / dt, 1), "int8_windows_timed": int(len(xt))}


def evaluate(name: str, result: dict, ev: Evaluator, trtr: float, work: Path) -> dict:
    """TSTR per checkpoint in order until the first reaching QUALITY x TRTR; fills time to quality."""
    import numpy as np

    rows, hit = [], None
    ckpts = result.get("checkpoints") or []
    for c in ckpts:
        with np.load(work / name / c["file"], allow_pickle=False) as z:
            x, y = z["x"].astype(np.float32), z["y"].astype(np.int64)
        if not np.all(np.isfinite(x)):
            row = {**c, "tstr_accuracy": None, "tstr_ratio": None, "note": "non-finite windows"}
        else:
            acc = ev.tstr(x, y)
            row = {**c, "tstr_accuracy": round(acc, 4), "tstr_ratio": round(acc / trtr, 4)}
        rows.append(row)
        print(f"(c) {name}: {c['updates']} updates, {c['train_s']:.1f} s: TSTR {row['tstr_accuracy']} "
              f"(TSTR/TRTR {row['tstr_ratio']})", flush=True)
        if row["tstr_ratio"] is not None and row["tstr_ratio"] >= QUALITY:
            hit = row
            break
    ratios = [r["tstr_ratio"] for r in rows if r["tstr_ratio"] is not None]
    ev_out = {"evaluated": rows, "best_tstr_ratio": max(ratios) if ratios else None,
              "time_to_quality_s": hit["train_s"] if hit else None,
              "updates_to_quality": hit["updates"] if hit else None,
              "checkpoints_total": len(ckpts)}
    last = rows[-1] if rows else None
    if last is not None and last.get("tstr_ratio") is not None:
        with np.load(work / name / last["file"], allow_pickle=False) as z:
            ev_out["int8"] = {"checkpoint": last["file"], **ev.int8_rate(z["x"].astype(np.float32),
                                                                          z["y"].astype(np.int64))}
    return ev_out


# --- (d) table ----------------------------------------------------------------------------------
def _num(v, fmt: str = "{:,.1f}") -> str:
    return "–" if v is None else fmt.format(v)


def time_to_quality_cell(row: dict) -> str:
    ev = row.get("evaluation") or {}
    if ev.get("time_to_quality_s") is not None:
        return f"**{ev['time_to_quality_s']:,.1f}** ({ev['updates_to_quality']:,})"
    r = row.get("result") or {}
    secs = r.get("quality_train_s")
    if secs is None:
        ck = r.get("checkpoints") or []
        secs = ck[-1]["train_s"] if ck else None
    ups = r.get("quality_updates")
    return f"not reached in {_num(secs, '{:,.0f}')} s ({_num(ups, '{:,}')} updates)"


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


def table(rows: list[dict]) -> str:
    """The side-by-side markdown table; ``rows``: {"name", "label", "status", "result", "evaluation", "reason"}."""
    head = ("| configuration | updates/s (timed, median of 3) | updates/s (whole quality run) | CPU ms / update | "
            "real windows/s | warm-up s | generated windows/s | peak RSS MB | time to quality s (updates) | "
            "best TSTR/TRTR seen | params G/C |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|"]
    for row in rows:
        label = f"{CONFIGS.get(row['name'], row)['label']} (`{row['name']}`)"
        if row["status"] != "ok":
            why = row.get("reason") or (row.get("result") or {}).get("error") or row["status"]
            lines.append(f"| {label} | {row['status']}: {why} | | | | | | | | | |")
            continue
        r, ev = row["result"], row.get("evaluation") or {}
        extra = []
        if r.get("n_critic") not in (None, 5):
            extra.append(f"n_critic {r['n_critic']}")
        lines.append(
            f"| {label}{' (' + ', '.join(extra) + ')' if extra else ''} | {_num(r.get('updates_per_s'), '{:,.2f}')} | "
            f"{_num(sustained_updates_per_s(r), '{:,.2f}')} | {_num(cpu_ms_per_update(r), '{:,.1f}')} | "
            f"{_num(r.get('real_windows_per_s'), '{:,.0f}')} | {_num(r.get('warmup_s'))} | "
            f"{_num(r.get('generated_windows_per_s'), '{:,.0f}')} | {_num(r.get('peak_rss_mb'), '{:,.0f}')} | "
            f"{time_to_quality_cell(row)} | {_num(ev.get('best_tstr_ratio'), '{:.3f}')} | "
            f"{_num(r.get('generator_params'), '{:,}')} / {_num(r.get('critic_params'), '{:,}')} |")
    return "\n".join(lines)


def ratio_cell(ours: float | None, peer: float | None) -> str:
    if ours is None or peer is None or peer == 0:
        return "–"
    return f"{ours / peer:,.2f}×"


def ttq_ratio_cell(ours_row: dict, peer_row: dict) -> str:
    """How many times sooner ours reaches quality (TSGM's time / ours); a lower bound when TSGM did not
    reach quality in its budget."""
    o = (ours_row.get("evaluation") or {}).get("time_to_quality_s")
    p = (peer_row.get("evaluation") or {}).get("time_to_quality_s")
    if o is None:
        return "– (ours not reached)"
    if p is not None:
        return f"{p / o:,.2f}× sooner" if o > 0 else "–"
    budget = (peer_row.get("result") or {}).get("quality_train_s")
    return f"> {budget / o:,.1f}× sooner (TSGM not reached in {budget:,.0f} s)" if budget else "– (TSGM not reached)"


def ratios(rows: list[dict]) -> tuple[str, list[dict]]:
    """ours/TSGM ratios, every ok hargan row against every ok TSGM row."""
    ours = [r for r in rows if r["status"] == "ok" and r["library"] == "hargan"]
    peers = [r for r in rows if r["status"] == "ok" and r["library"] == "tsgm"]
    if not ours or not peers:
        return "", []
    lines = ["| ours / TSGM | updates/s (whole quality run) | real windows/s | generated windows/s | "
             "time to quality |", "|---|---:|---:|---:|---|"]
    data = []
    for o in ours:
        for p in peers:
            ro, rp = o["result"], p["result"]
            cells = [ratio_cell(sustained_updates_per_s(ro), sustained_updates_per_s(rp))]
            cells += [ratio_cell(ro.get(k), rp.get(k)) for k in ("real_windows_per_s", "generated_windows_per_s")]
            ttq = ttq_ratio_cell(o, p)
            lines.append(f"| `{o['name']}` / `{p['name']}` | {' | '.join(cells)} | {ttq} |")
            data.append({"ours": o["name"], "tsgm": p["name"], "updates_per_s": cells[0],
                         "real_windows_per_s": cells[1],
                         "generated_windows_per_s": cells[2], "time_to_quality": ttq})
    return "\n".join(lines), data


def machine_line(m: dict) -> str:
    la = m.get("load_average_start")
    lb = m.get("load_average_end")
    vers = ", ".join(f"{k} {m[k]}" for k in ("python", "tensorflow", "keras", "jax", "tsgm") if m.get(k))
    return (f"Machine: {m.get('cores')} cores, {m.get('cpu_model')}; load average {la} at start, {lb} at end; "
            f"{m.get('date')}; {vers}; hargan {m.get('hargan')} ({m.get('commit')}).")


def report(out: dict) -> dict:
    """Print the tables, TRTR, int8 figures and machine line of a run; returns the derived fields."""
    rows, trtr = out["configurations"], out["trtr_accuracy"]
    tab = table(rows)
    rat, rat_data = ratios(rows)
    int8 = [(r["name"], r["evaluation"]["int8"]) for r in rows if r["status"] == "ok" and "int8" in r["evaluation"]]
    print("\n" + tab)
    if rat:
        print("\n" + rat)
    print(f"\nTRTR accuracy {trtr:.4f} ({out['data']['test']} real test windows); quality = TSTR >= "
          f"{out['quality_threshold']} x TRTR. Time to quality: training wall time of the first such checkpoint "
          f"(clock paused at checkpoints, first-step trace/compile included).")
    for name, i8 in int8:
        print(f"int8 ({name}, {i8['checkpoint']}): acceptance {i8['acceptance']:.3f}, "
              f"{i8['int8_windows_per_s']:,.0f} int8 validation windows/s (LiteRT reference kernels)")
    print(machine_line(out["machine"]))
    return {"ratios": rat_data, "int8_windows_per_s": max((i8["int8_windows_per_s"] for _, i8 in int8), default=None),
            "table_markdown": tab, "ratios_markdown": rat}


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
    print(f"speed benchmark: {', '.join(args.configs)}{' (quick)' if args.quick else ''}; work {args.work}; "
          f"{machine['cores']} cores, {machine['cpu_model']}, load {machine['load_average_start']}", flush=True)
    meta = prepare(args)
    trtr = float(meta["trtr_accuracy"])
    ev = None
    rows = []
    for name in args.configs:
        cfg = CONFIGS[name]
        b = budgets(name, args.quick, args.budget_overrides)
        row = {"name": name, "label": cfg["label"], "library": cfg["library"], "arch": cfg["arch"], "budgets": b}
        reason = None if args.skip_train else skip_reason(name, args)
        if reason:
            print(f"(b) {name}: skipped: {reason}", flush=True)
            rows.append({**row, "status": "skipped", "reason": reason})
            continue
        result = run_trainer(name, args, b)
        if result.get("status") in ("failed", "skipped"):
            rows.append({**row, "status": result["status"], "reason": result.get("error"), "result": result})
            continue
        if ev is None:
            ev = Evaluator(args.work, args.seed, args.quick)
        t0 = time.perf_counter()
        evaluation = evaluate(name, result, ev, trtr, args.work)
        evaluation["eval_s"] = round(time.perf_counter() - t0, 1)
        rows.append({**row, "status": "ok", "result": result, "evaluation": evaluation})

    machine["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    tsgm_versions = {r["result"].get("version") for r in rows if r["status"] == "ok" and r["library"] == "tsgm"}
    if tsgm_versions:
        machine["tsgm"] = ", ".join(sorted(str(v) for v in tsgm_versions))
    jax_versions = {r["result"].get("jax_version") for r in rows
                    if r["status"] == "ok" and r["result"].get("jax_version")}
    if jax_versions:
        machine["jax"] = ", ".join(sorted(jax_versions))

    out = {"quick": args.quick, "seed": args.seed, "quality_threshold": QUALITY, "trtr_accuracy": trtr,
           "data": meta, "machine": machine, "configurations": rows}
    out.update(report(out))
    out["total_s"] = round(time.perf_counter() - t_all, 1)
    from har_data.jsonio import write_json

    write_json(args.out, out)
    print(f"wrote {args.out} ({out['total_s']} s in all)")
    return 0 if all(r["status"] != "failed" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
