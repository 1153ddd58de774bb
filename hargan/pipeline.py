"""The whole flow, as steps over one run directory, and the single-step commands.

``run_pipeline(cfg, out)``: prepare -> classifier (float) -> int8 -> GAN (pretrain on the source
domain; fine-tune on the target domain with the target classifier's feedback when
``data.target`` is set) -> validated sampling -> evaluation + report -> firmware export.
Every artifact is written atomically; each step records a fingerprint in ``<out>/.steps/`` so a
re-run reuses what did not change. The single-step commands (``hargan prepare`` ...) call
the same building blocks on explicit files.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from har_data.atomic import atomic_path, write_bytes, write_text
from har_data.errors import InputError
from hargan.config import Config, DomainConfig, config_text
from hargan.runs import RunDir

if TYPE_CHECKING:  # heavy imports only for type checkers
    import keras
    import numpy as np

    from classifier import Int8Classifier
    from har_data import Recording, SensorSpec, WindowSet

Log = Callable[[str], None]


def _quiet(msg: str) -> None:
    pass


# ============================================================================ building blocks

def sensor_spec(name: str | None = None, full_scale_g: int | None = None, odr_hz: float | None = None,
                default: "SensorSpec | None" = None) -> "SensorSpec":
    """A checked SensorSpec; missing parts come from ``default`` (or LSM6DSL, 4 g, 26 Hz)."""
    from har_data import DEFAULT_SENSOR, SensorSpec

    base = default or DEFAULT_SENSOR
    return SensorSpec(name or base.name, base.full_scale_g if full_scale_g is None else full_scale_g,
                      base.odr_hz if odr_hz is None else odr_hz)


def check_domain_path(dom: DomainConfig, key: str = "data.source") -> None:
    """Fail early (before anything is written) when a domain's data path does not exist."""
    if dom.name == "basic-motions" and not dom.path:
        return
    if not dom.path:
        raise InputError(f"{key}.path: the {dom.name} loader needs a path")
    if not Path(dom.path).exists():
        raise InputError("no such file or folder", dom.path)


def load_recordings(dom: DomainConfig, log: Log = _quiet) -> list["Recording"]:
    """Read one domain with its loader and apply ``class_map``; prints what the loader skipped.

    Loaders that take a ``class_map`` themselves (pamap2: activity id -> class, wisdm: activity
    name -> class) get it, and keep only the mapped activities; for the others the map relabels
    the loaded recordings (a label mapped to "" is dropped, unmapped labels are kept).
    """
    import inspect

    from har_data import loaders

    check_domain_path(dom)
    opts = dict(dom.options)
    if dom.imu:
        opts["imu"] = dom.imu
    loader = loaders.SOURCES[dom.name]
    cmap = dict(dom.class_map)
    if cmap and "class_map" in inspect.signature(loader).parameters and "class_map" not in opts:
        opts["class_map"] = {k: v for k, v in cmap.items() if v}
        cmap = {}
    loaded = loaders.load_source(dom.name, dom.path or None, **opts)
    for note in getattr(loaded, "notes", []):
        log(f"  {dom.name}: {note}")
    recs = list(loaded)
    if cmap:
        mapped = []
        for r in recs:
            new = cmap.get(str(r.label), r.label)
            if new:
                r.label = new
                mapped.append(r)
        recs = mapped
    if not recs:
        raise InputError(f"no recordings left after the class map ({dom.name})", dom.path or None)
    labels = sorted({r.label for r in recs})
    log(f"  read {len(recs)} recordings from {dom.name}{' ' + dom.path if dom.path else ''}: "
        f"{', '.join(labels)}")
    return recs


def prepare_windows(dom: DomainConfig, classes: Sequence[str] | None, sensor: "SensorSpec", length: int,
                    stride: int, fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0,
                    log: Log = _quiet) -> "WindowSet":
    """Recordings -> windows resampled to the sensor's ODR and quantized to its full scale, split by recording."""
    from har_data import make_windows

    recs = load_recordings(dom, log)
    # Gravity suppression runs inside make_windows: after resampling to the sensor's ODR (the
    # filter is defined at 26 Hz) and quantizing, over each whole recording, as the firmware runs it.
    ws = make_windows(recs, length=length, stride=stride, sensor=sensor,
                      class_names=list(classes) if classes else None, fractions=tuple(fractions), seed=seed,
                      suppress_gravity=dom.suppress_gravity)
    counts = {s: int((ws.split == s).sum()) for s in ("train", "val", "test")}
    log(f"  {len(ws)} windows of {ws.window_length} samples at {ws.odr_hz:g} Hz "
        f"({sensor.name} ±{sensor.full_scale_g} g); train/val/test {counts['train']}/{counts['val']}/{counts['test']}; "
        f"per class: {', '.join(f'{k} {v}' for k, v in ws.counts().items())}")
    return ws


def _eval_split(ws: "WindowSet") -> tuple[str, "WindowSet"]:
    """The held-out split to score on: test, else val, else train (tiny data sets)."""
    for name in ("test", "val", "train"):
        sub = ws.subset(name)
        if len(sub):
            return name, sub
    raise InputError("the windows file holds no windows")


def _write_csv_rows(path: Path, rows: list[dict]) -> Path:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return write_text(path, buf.getvalue())


def _history_rows(history: dict[str, list]) -> list[dict]:
    n = max((len(v) for v in history.values()), default=0)
    return [{"epoch": i + 1, **{k: float(v[i]) for k, v in history.items() if i < len(v)}} for i in range(n)]


def _plot_curves(rows: list[dict], x_key: str, groups: dict[str, Sequence[str]], path: Path, title: str) -> Path | None:
    """One PNG with a panel per group of columns (e.g. loss / accuracy); written atomically."""
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {g: [k for k in ks if any(k in r for r in rows)] for g, ks in groups.items()}
    groups = {g: ks for g, ks in groups.items() if ks}
    if not groups:
        return None
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3.4), squeeze=False)
    xs = [r[x_key] for r in rows]
    for ax, (g, ks) in zip(axes[0], groups.items()):
        for k in ks:
            ax.plot(xs, [r.get(k, math.nan) for r in rows], label=k, lw=1.2)
        ax.set_xlabel(x_key)
        ax.set_title(g)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return Path(path)


def _save_keras(model: "keras.Model", path: Path) -> Path:
    with atomic_path(path) as tmp:
        model.save(tmp)
    return Path(path)


def _epoch_progress(epochs: int, log: Log):
    """A Keras callback that prints one compact line every ~10 % of the epochs."""
    import keras

    every = max(1, int(epochs) // 10)

    class EpochProgress(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.t0 = time.perf_counter()

            self.last: tuple[int, dict] | None = None
            self.shown = 0

        def _show(self, n: int, logs: dict) -> None:
            shown = ", ".join(f"{k} {float(logs[k]):.3f}" for k in ("loss", "accuracy", "val_loss", "val_accuracy")
                              if k in logs)
            log(f"  epoch {n}/{epochs} ({time.perf_counter() - self.t0:.0f} s): {shown}")
            self.shown = n

        def on_epoch_end(self, epoch, logs=None):
            n = epoch + 1
            self.last = (n, dict(logs or {}))
            if n % every == 0 or n == int(epochs):
                self._show(n, self.last[1])

        def on_train_end(self, logs=None):
            if self.last is not None and self.shown != self.last[0]:
                log(f"  early stop after epoch {self.last[0]} (best weights restored)")
                self._show(*self.last)

    return EpochProgress()


def train_classifier_files(ws: "WindowSet", out_dir: Path, *, preset: str, epochs: int, batch_size: int,
                           patience: int, learning_rate: float = 3e-3, seed: int = 0,
                           log: Log = _quiet) -> tuple["keras.Model", dict]:
    """Train the float classifier; write model.keras, history.csv, training.png, confusion_float.png."""
    from classifier import evaluate_classifier, plot_confusion_matrix, save_classifier, train_on_windows

    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    model = train_on_windows(ws, preset=preset, epochs=epochs, batch_size=batch_size, patience=patience,
                             learning_rate=learning_rate, seed=seed, verbose=0,
                             callbacks=[_epoch_progress(epochs, log)])
    seconds = time.perf_counter() - t0
    split, held = _eval_split(ws)
    ev = evaluate_classifier(model, held.x, held.y, ws.class_names)
    save_classifier(model, out_dir / "model.keras")
    hist = getattr(getattr(model, "history", None), "history", {}) or {}
    rows = _history_rows(hist)
    if rows:
        _write_csv_rows(out_dir / "history.csv", rows)
        _plot_curves(rows, "epoch", {"loss": ("loss", "val_loss"), "accuracy": ("accuracy", "val_accuracy")},
                     out_dir / "training.png", f"ST classifier ({preset}) training")
    plot_confusion_matrix(ev["confusion"], ws.class_names, out_dir / "confusion_float.png",
                          title=f"float classifier, {split} split (accuracy {ev['accuracy']:.3f})")
    metrics = {"preset": preset, "float_accuracy": float(ev["accuracy"]), "macro_f1": float(ev["macro_f1"]),
               "eval_split": split, "epochs_run": len(rows), "params": int(model.count_params()),
               "train_seconds": round(seconds, 2)}
    write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    log(f"  float classifier: {split} accuracy {metrics['float_accuracy']:.3f}, macro F1 {metrics['macro_f1']:.3f} "
        f"({metrics['params']} parameters, {len(rows)} epochs, {seconds:.0f} s)")
    return model, metrics


def quantize_files(model: "keras.Model", ws: "WindowSet", tflite_path: Path, *, samples: int = 300, seed: int = 0,
                   figures_dir: Path | None = None, log: Log = _quiet) -> tuple["Int8Classifier", dict]:
    """Full-integer int8 model from the train split; scores it (and the float model) on the held-out split."""
    from classifier import Int8Classifier, classifier_figures, evaluate_classifier, plot_confusion_matrix, quantize_int8

    train = ws.subset("train")
    if len(train) == 0:
        train = ws
    tfl = quantize_int8(model, train.x, num_samples=samples, seed=seed)
    int8 = Int8Classifier(tfl, ws.class_names)
    split, held = _eval_split(ws)
    figs = classifier_figures(model, int8, held.x, held.y, ws.class_names)
    figs = {k: (v.item() if hasattr(v, "item") else v) for k, v in figs.items()}
    write_bytes(tflite_path, bytes(tfl))
    if figures_dir is not None:
        ev = evaluate_classifier(int8, held.x, held.y, ws.class_names)
        plot_confusion_matrix(ev["confusion"], ws.class_names, Path(figures_dir) / "confusion_int8.png",
                              title=f"int8 classifier, {split} split (accuracy {ev['accuracy']:.3f})")
    log(f"  int8 model: {figs.get('tflite_bytes')} bytes, arena {figs.get('arena_bytes')} bytes, "
        f"{split} accuracy float {figs.get('float_accuracy', float('nan')):.3f} / int8 "
        f"{figs.get('int8_accuracy', float('nan')):.3f}, LiteRT == TFLM: {figs.get('int8_runtimes_agree')}")
    return int8, figs


class _GanProgress:
    """Keras callback factory: prints progress every ~10 % and keeps every step's logs."""

    @staticmethod
    def make(total_steps: int, log: Log, label: str, every: int | None = None):
        import keras

        class Progress(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.rows: list[dict] = []
                self.every = every or max(1, total_steps // 10)
                self.t0 = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                step = len(self.rows) + 1
                row = {"step": step, **{k: float(v) for k, v in (logs or {}).items()}}
                self.rows.append(row)
                if step % self.every == 0 or step == total_steps:
                    show = [k for k in ("critic_loss", "generator_loss", "wasserstein", "classifier_accuracy")
                            if k in row]
                    el = time.perf_counter() - self.t0
                    log(f"  {label} step {step}/{total_steps} ({el:.0f} s): "
                        + ", ".join(f"{k} {row[k]:.3g}" for k in show))

        return Progress()


def train_gan_files(ws: "WindowSet", classifier_model: "keras.Model | None", out_dir: Path, *, steps: int,
                    batch_size: int = 64, latent_dim: int = 64, n_critic: int = 5, gp_weight: float = 10.0,
                    classifier_weight: float = 1.0, g_learning_rate: float = 5e-4, c_learning_rate: float = 5e-4,
                    loss: str = "wasserstein", init: Path | None = None, seed: int = 0, label: str = "gan",
                    log: Log = _quiet) -> tuple[Any, dict]:
    """Train (or fine-tune from ``init``: a generator.keras, or a folder with generator.keras + critic.keras)
    and write generator.keras, critic.keras, history.csv, losses.png into ``out_dir``."""
    import gan as gan_pkg

    progress = _GanProgress.make(steps, log, label)
    t0 = time.perf_counter()
    hyper = dict(latent_dim=latent_dim, n_critic=n_critic, gp_weight=gp_weight,
                 classifier_weight=classifier_weight if classifier_model is not None else 0.0,
                 g_learning_rate=g_learning_rate, c_learning_rate=c_learning_rate, loss=loss)
    init_kwargs = {}
    if init is not None:
        init = Path(init)
        init_kwargs["init_generator"] = init if init.is_file() else init / "generator.keras"
        critic_path = (init.parent if init.is_file() else init) / "critic.keras"
        if critic_path.is_file():
            init_kwargs["init_critic"] = critic_path
    model = gan_pkg.train_gan(ws, classifier_model, steps=steps, batch_size=batch_size, seed=seed,
                              callbacks=[progress], **_accepted(gan_pkg.train_gan, {**hyper, **init_kwargs}))
    seconds = time.perf_counter() - t0
    out_dir = Path(out_dir)
    _save_keras(model.generator, out_dir / "generator.keras")
    _save_keras(model.critic, out_dir / "critic.keras")
    _write_csv_rows(out_dir / "history.csv", progress.rows)
    from evaluation.plots import plot_training_curves

    plot_training_curves(out_dir / "history.csv", out_dir / "losses.png", title=f"GAN training ({label})")
    last = progress.rows[-1] if progress.rows else {}
    info = {"steps": steps, "seconds": round(seconds, 2), "final": {k: v for k, v in last.items() if k != "step"}}
    log(f"  {label}: {steps} steps in {seconds:.0f} s")
    return model, info


def _accepted(fn: Callable, kwargs: dict) -> dict:
    """The keyword arguments ``fn`` accepts (so minor API differences do not break the CLI)."""
    import inspect

    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in params}


def load_generator(path: Path) -> "keras.Model":
    import gan  # noqa: F401 - registers the custom layers
    import keras

    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable model is bad input
        raise InputError(f"cannot load the Keras model: {type(exc).__name__}: {_one_line(exc)}", path) from None


def load_float_classifier(path: Path) -> "keras.Model":
    from classifier import load_classifier

    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    return load_classifier(path)


def load_int8(path: Path, class_names: Sequence[str] | None = None) -> "Int8Classifier":
    from classifier import Int8Classifier

    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    try:
        return Int8Classifier(path, class_names)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"not an int8 TFLite model: {_one_line(exc)}", path) from None


def load_windows(path: Path) -> "WindowSet":
    from har_data import WindowSet

    return WindowSet.load(path)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def sample_files(generator: "keras.Model", int8: "Int8Classifier", sensor: "SensorSpec", out_dir: Path, *,
                 per_class: int, min_confidence: float = 0.5, max_tries: int = 20, seed: int = 0,
                 log: Log = _quiet) -> Any:
    """Validated sampling; writes windows.npz and csv/<id>_<class>/log_<n>.csv into ``out_dir``."""
    from gan.sampling import sample_validated

    syn = sample_validated(generator, int8, sensor, per_class=per_class, min_confidence=min_confidence, seed=seed,
                           max_tries=max_tries)
    out_dir = Path(out_dir)
    syn.save(out_dir / "windows.npz")
    syn.save_csv(out_dir / "csv")
    acc = {str(k): float(v) for k, v in dict(syn.acceptance_by_class).items()}
    log(f"  accepted {len(syn.y)} windows ({per_class} asked per class), acceptance "
        f"{float(syn.acceptance_rate):.2f} overall: " + ", ".join(f"{k} {v:.2f}" for k, v in acc.items()))
    return syn


def export_files(int8: "Int8Classifier", class_names: Sequence[str], sensor: "SensorSpec", out_dir: Path, *,
                 name: str = "har_model", test_windows: "np.ndarray | None" = None,
                 test_labels: "np.ndarray | None" = None, n_test_vectors: int = 10, replace_dir: bool = True,
                 log: Log = _quiet) -> list[Path]:
    """C arrays, headers and test vectors for STM32CubeIDE.

    ``replace_dir``: ``out_dir`` is replaced as a whole (the run directory's firmware/, so files of an
    older export name do not linger); otherwise the files are moved into ``out_dir`` one by one
    (each atomically), leaving anything else in it alone (``hargan export --out`` into a project).
    """
    import os
    import tempfile

    import firmware_export

    out_dir = Path(out_dir)
    kwargs: dict[str, Any] = {"name": name}
    if test_windows is not None and n_test_vectors > 0:
        kwargs.update(test_windows=test_windows, test_labels=test_labels, n_test_vectors=n_test_vectors)
    if replace_dir:
        files = [Path(f) for f in firmware_export.export_firmware(int8, list(class_names), sensor, out_dir, **kwargs)]
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".hargan-export.", dir=out_dir) as tmp:
            made = firmware_export.export_firmware(int8, list(class_names), sensor, Path(tmp) / "fw", **kwargs)
            files = []
            for f in made:
                os.replace(f, out_dir / Path(f).name)
                files.append(out_dir / Path(f).name)
    log(f"  firmware: {', '.join(f.name for f in files)}")
    return files


def evaluate_files(real: "WindowSet", x_syn: "np.ndarray", y_syn: "np.ndarray", out_dir: Path, *,
                   preset: str, int8: "Int8Classifier | None" = None, quick: bool = False, seeds: int = 1,
                   seed: int = 0, min_confidence: float = 0.5, acceptance: dict | None = None,
                   history: Path | None = None, extra: dict | None = None, figures: dict | None = None,
                   seconds_before: float | None = None, augmentation: bool = True, log: Log = _quiet) -> dict:
    """Score synthetic vs real windows (averaged over ``seeds``), then write metrics.json, report.md and the
    PNG plots into ``out_dir``. ``extra`` holds the other steps' figures (classifier, timing, ...);
    ``seconds_before`` (the earlier steps' time) makes ``timing.total_seconds`` include this evaluation."""
    from evaluation.scores import evaluate_synthetic
    from evaluation.report import write_report

    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    settings = None
    if not augmentation:
        import dataclasses

        from evaluation.scores import FULL, QUICK

        settings = dataclasses.replace(QUICK if quick else FULL, augment_percents=())
    runs = []
    for k in range(max(1, int(seeds))):
        runs.append(evaluate_synthetic(real, x_syn, y_syn, preset=preset, seed=seed + k, int8=int8, quick=quick,
                                       out_dir=out_dir if k == 0 else None, history=history if k == 0 else None,
                                       min_confidence=min_confidence, acceptance=acceptance,
                                       **({"settings": settings} if settings is not None else {})))
    gan_metrics = _average_runs(runs)
    figs = {**dict(figures or {}), **{k: Path(v) for k, v in (gan_metrics.pop("figures", None) or {}).items()}}
    metrics = dict(extra or {})
    metrics["gan"] = {**metrics.get("gan", {}), **gan_metrics}
    timing = metrics.setdefault("timing", {})
    timing["evaluate_seconds"] = round(time.perf_counter() - t0, 2)
    if seconds_before is not None:
        timing["total_seconds"] = round(seconds_before + timing["evaluate_seconds"], 2)
    write_report(metrics, out_dir, {k: v for k, v in figs.items() if Path(v).is_file()})
    g = metrics["gan"]
    log(f"  TRTR {_fmt(g.get('trtr_accuracy'))}, TSTR {_fmt(g.get('tstr_accuracy'))} "
        f"(ratio {_fmt(g.get('tstr_ratio'), '.2f')}), discriminative score "
        f"{_fmt(g.get('discriminative_score'))}, MMD {_fmt(g.get('mmd'), '.4f')}")
    return json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))


def _average_runs(runs: list[dict]) -> dict:
    """Mean of numeric scalars over seeds (the first run's value for everything else)."""
    if len(runs) == 1:
        return runs[0]
    out = dict(runs[0])
    for k, v in runs[0].items():
        if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("seed",):
            vals = [float(r[k]) for r in runs if isinstance(r.get(k), (int, float))]
            out[k] = sum(vals) / len(vals)
            out[f"{k}_by_seed"] = vals
    out["seeds"] = [r.get("seed") for r in runs]
    return out


# ============================================================================ the whole flow

@contextlib.contextmanager
def _config_context(cfg: Config, key: str):
    """Bad input that names no file (a loader option, a class) gets the config file and key."""
    try:
        yield
    except InputError as exc:
        if exc.path is not None:
            raise
        where = getattr(cfg, "source_file", None)
        raise InputError(f"{key}: {exc.message}", where) from None


def _domain_external(dom: DomainConfig | None) -> list[Path]:
    if dom is None or not dom.path:
        return []
    return [Path(dom.path)]


STEPS = ("prepare", "classifier", "quantize", "gan", "finetune", "sample", "evaluate", "export")


class _Stop(Exception):
    """Raised after the ``until`` step."""


def run_pipeline(cfg: Config, out: str | Path, *, force: bool = False, log: Log = print,
                 title: str = "hargan run", until: str | None = None) -> dict:
    """Run every step into ``out`` (reusing unchanged ones); returns metrics.json's content.

    ``until`` stops after that step (``STEPS``; "finetune" only with a target domain); returns {} then.
    """
    from har_data import SensorSpec

    t_start = time.perf_counter()
    out = Path(out)
    # Bad input is found before anything is written.
    sensor = SensorSpec(cfg.sensor.name, cfg.sensor.full_scale_g, cfg.sensor.odr_hz)
    check_domain_path(cfg.data.source, "data.source")
    if cfg.data.target is not None:
        check_domain_path(cfg.data.target, "data.target")
    if out.exists() and not out.is_dir():
        raise InputError("--out exists and is not a folder", out)
    created = not out.exists()
    rd = RunDir(out, force=force, log=log)
    two_stage = cfg.data.target is not None
    steps = ["prepare", "classifier", "quantize", "gan"] + (["finetune"] if two_stage else []) + \
        ["sample", "evaluate", "export"]
    n = len(steps)
    num = {s: i + 1 for i, s in enumerate(steps)}

    def lbl(step: str, what: str) -> str:
        return f"[{num[step]}/{n}] {what}"

    if until is not None and until not in steps:
        raise InputError(f"--until {until}: no such step in this run; steps: {', '.join(steps)}")

    def stop_after(step: str) -> None:
        if step == until:
            raise _Stop(step)

    log(f"{title}: {out}")
    try:
        return _run_steps(cfg, out, rd, sensor, two_stage, lbl, log, t_start, stop_after)
    except _Stop as stop:
        log(f"stopped after {stop} (--until); files in {out}/")
        return {}
    except InputError:
        if created and not rd.records and out.exists():
            shutil.rmtree(out, ignore_errors=True)
        raise


def _run_steps(cfg: Config, out: Path, rd: RunDir, sensor: "SensorSpec", two_stage: bool,
               lbl: Callable[[str, str], str], log: Log, t_start: float,
               stop_after: Callable[[str], None]) -> dict:
    seed = cfg.seed
    windows_path = out / "data" / "windows.npz"
    source_path = out / "data" / "source_windows.npz" if two_stage else windows_path
    state: dict[str, Any] = {}

    # 1. prepare ---------------------------------------------------------------
    def prepare() -> dict:
        classes = cfg.data.classes or None
        with _config_context(cfg, "data.source"):
            src = prepare_windows(cfg.data.source, classes, sensor, cfg.windows.length, cfg.windows.stride,
                                  cfg.windows.fractions, seed, log)
        result = {"source": {"windows": len(src), "counts": src.counts(), "class_names": src.class_names}}
        if two_stage:
            with _config_context(cfg, "data.target"):
                tgt = prepare_windows(cfg.data.target, src.class_names, sensor, cfg.windows.length,
                                      cfg.windows.stride, cfg.windows.fractions, seed, log)
            src.save(source_path)
            tgt.save(windows_path)
            result["target"] = {"windows": len(tgt), "counts": tgt.counts()}
            state["windows"], state["source"] = tgt, src
        else:
            src.save(windows_path)
            state["windows"] = state["source"] = src
        return result

    outs = ["data/windows.npz"] + (["data/source_windows.npz"] if two_stage else [])
    rec = rd.run_step("prepare", config_hash=cfg.section_hash("data", "sensor", "windows"),
                      external=_domain_external(cfg.data.source) + _domain_external(cfg.data.target),
                      outputs=outs, body=prepare, label=lbl("prepare", "prepare: real logs -> windows"))
    write_text(out / "config.toml", config_text(cfg))
    prepare_result = rec.result
    stop_after("prepare")

    def windows() -> "WindowSet":
        if "windows" not in state:
            state["windows"] = load_windows(windows_path)
        return state["windows"]

    def source_windows() -> "WindowSet":
        if "source" not in state:
            state["source"] = load_windows(source_path)
        return state["source"]

    # 2. float classifier -----------------------------------------------------------
    c = cfg.classifier
    clf_dir = out / "classifier"

    def classifier() -> dict:
        model, metrics = train_classifier_files(windows(), clf_dir, preset=c.preset, epochs=c.epochs,
                                                batch_size=c.batch_size, patience=c.patience,
                                                learning_rate=c.learning_rate, seed=seed, log=log)
        state["model"] = model
        return metrics

    rec = rd.run_step("classifier", config_hash=cfg.section_hash("classifier.preset", "classifier.epochs",
                                                                 "classifier.batch_size", "classifier.patience",
                                                                 "classifier.learning_rate"),
                      inputs=[windows_path],
                      outputs=["classifier/model.keras", "classifier/confusion_float.png"], body=classifier,
                      label=lbl("classifier", f"classifier: train the float ST classifier ({c.preset})"))
    float_metrics = rec.result
    stop_after("classifier")

    def model() -> "keras.Model":
        if "model" not in state:
            state["model"] = load_float_classifier(clf_dir / "model.keras")
        return state["model"]

    # 3. int8 ----------------------------------------------------------------------
    tflite_path = clf_dir / "model_int8.tflite"

    def quantize() -> dict:
        int8, figs = quantize_files(model(), windows(), tflite_path, samples=c.representative_samples, seed=seed,
                                    figures_dir=clf_dir, log=log)
        state["int8"] = int8
        return figs

    rec = rd.run_step("quantize", config_hash=cfg.section_hash("classifier.representative_samples"),
                      inputs=[windows_path, clf_dir / "model.keras"],
                      outputs=["classifier/model_int8.tflite", "classifier/confusion_int8.png"], body=quantize,
                      label=lbl("quantize", "quantize: full-integer int8 TFLite"))
    int8_figures = rec.result
    stop_after("quantize")

    def int8() -> "Int8Classifier":
        if "int8" not in state:
            state["int8"] = load_int8(tflite_path, windows().class_names)
        return state["int8"]

    # 4. GAN (pretrain) and 5. fine-tune ----------------------------------------------
    g = cfg.gan
    gan_keys = ("gan.latent_dim", "gan.n_critic", "gan.gp_weight", "gan.classifier_weight", "gan.steps",
                "gan.batch_size", "gan.g_learning_rate", "gan.c_learning_rate", "gan.loss")
    hyper = dict(batch_size=g.batch_size, latent_dim=g.latent_dim, n_critic=g.n_critic, gp_weight=g.gp_weight,
                 classifier_weight=g.classifier_weight, g_learning_rate=g.g_learning_rate,
                 c_learning_rate=g.c_learning_rate, loss=g.loss, seed=seed, log=log)
    gan_dir = out / "gan"
    pre_dir = gan_dir / "pretrain" if two_stage else gan_dir
    pre_rel = "gan/pretrain" if two_stage else "gan"

    def pretrain() -> dict:
        # Two-stage: the classifier knows the target domain only, so stage 1 is a plain WGAN-GP on the source.
        clf = None if two_stage else model()
        _, info = train_gan_files(source_windows(), clf, pre_dir, steps=g.steps,
                                  label="pretrain" if two_stage else "gan", **hyper)
        return info

    pre_inputs = [source_path] + ([] if two_stage else [clf_dir / "model.keras"])
    rec = rd.run_step("gan", config_hash=cfg.section_hash(*gan_keys), inputs=pre_inputs,
                      outputs=[f"{pre_rel}/generator.keras", f"{pre_rel}/critic.keras", f"{pre_rel}/history.csv"],
                      body=pretrain,
                      label=lbl("gan", "gan: pretrain on the source domain" if two_stage else
                                "gan: train the conditional WGAN-GP with the classifier's feedback"))
    gan_seconds = float(rec.seconds)
    gan_info = {"pretrain" if two_stage else "train": rec.result}
    stop_after("gan")

    if two_stage:
        def finetune() -> dict:
            _, info = train_gan_files(windows(), model(), gan_dir, steps=max(1, g.finetune_steps), init=pre_dir,
                                      label="finetune", **hyper)
            return info

        rec = rd.run_step("finetune", config_hash=cfg.section_hash(*gan_keys, "gan.finetune_steps"),
                          inputs=[windows_path, clf_dir / "model.keras", pre_dir / "generator.keras",
                                  pre_dir / "critic.keras"],
                          outputs=["gan/generator.keras", "gan/critic.keras", "gan/history.csv"], body=finetune,
                          label=lbl("finetune", "finetune: on the target domain with the ST classifier's feedback"))
        gan_seconds += float(rec.seconds)
        gan_info["finetune"] = rec.result
        stop_after("finetune")

    # 6. validated sampling ----------------------------------------------------------
    s = cfg.sampling
    syn_dir = out / "synthetic"

    def sample() -> dict:
        syn = sample_files(load_generator(gan_dir / "generator.keras"), int8(), sensor, syn_dir,
                           per_class=s.per_class, min_confidence=s.min_confidence, max_tries=s.max_tries, seed=seed,
                           log=log)
        state["synthetic"] = syn
        return {"accepted": int(len(syn.y)), "acceptance_rate": float(syn.acceptance_rate),
                "acceptance_by_class": {str(k): float(v) for k, v in dict(syn.acceptance_by_class).items()},
                "generated_by_class": {str(k): int(v) for k, v in dict(syn.generated_by_class).items()}}

    rec = rd.run_step("sample", config_hash=cfg.section_hash("sampling", "sensor"),
                      inputs=[gan_dir / "generator.keras", tflite_path],
                      outputs=["synthetic/windows.npz", "synthetic/csv"], body=sample,
                      label=lbl("sample", f"sample: generate and keep what the int8 model accepts "
                                          f"({s.per_class} per class)"))
    sample_result = rec.result
    stop_after("sample")

    # 7. evaluation + report -----------------------------------------------------------
    ev = cfg.evaluation

    def evaluate() -> dict:
        from gan.sampling import SyntheticSet

        syn = state.get("synthetic") or SyntheticSet.load(syn_dir / "windows.npz")
        extra = _base_metrics(cfg, sensor, prepare_result, float_metrics, int8_figures, gan_info, gan_seconds,
                              sample_result, rd)
        figures = {"classifier_training": clf_dir / "training.png",
                   "confusion_float": clf_dir / "confusion_float.png",
                   "confusion_int8": clf_dir / "confusion_int8.png"}
        metrics = evaluate_files(windows(), syn.x_mg, syn.y, out / "report", preset=cfg.classifier.preset,
                                 int8=int8(), quick=ev.quick, seeds=ev.seeds, seed=seed,
                                 min_confidence=cfg.sampling.min_confidence,
                                 acceptance={"acceptance_rate": sample_result.get("acceptance_rate"),
                                             "acceptance_by_class": sample_result.get("acceptance_by_class")},
                                 history=gan_dir / "history.csv", extra=extra, figures=figures,
                                 seconds_before=sum(r.seconds for r in rd.records.values()),
                                 augmentation=ev.augmentation, log=log)
        state["metrics"] = metrics
        return {}

    upstream = json.dumps([prepare_result, float_metrics, int8_figures, gan_info, sample_result],
                          sort_keys=True, default=str)
    import hashlib

    rec = rd.run_step("evaluate", config_hash=cfg.section_hash("evaluation", "classifier.preset") +
                      hashlib.sha256(upstream.encode()).hexdigest()[:16],
                      inputs=[windows_path, syn_dir / "windows.npz", tflite_path],
                      outputs=["report/metrics.json", "report/report.md"], body=evaluate,
                      label=lbl("evaluate", "evaluate: TSTR / TRTR, discriminative score, MMD; report"))
    stop_after("evaluate")

    # 8. firmware export --------------------------------------------------------------
    e = cfg.export

    def export() -> dict:
        ws = windows()
        _, held = _eval_split(ws)
        files = export_files(int8(), ws.class_names, sensor, out / "firmware", name=e.name, test_windows=held.x,
                             test_labels=held.y, n_test_vectors=e.n_test_vectors, log=log)
        return {"files": [f.name for f in files]}

    rec = rd.run_step("export", config_hash=cfg.section_hash("export", "sensor"), inputs=[tflite_path, windows_path],
                      outputs=["firmware"], body=export,
                      label=lbl("export", "export: C arrays, headers and test vectors for STM32CubeIDE"))

    metrics = state.get("metrics") or json.loads((out / "report" / "metrics.json").read_text(encoding="utf-8"))
    wall = time.perf_counter() - t_start
    for line in summary_lines(metrics, out, wall):
        log(line)
    return metrics


def _base_metrics(cfg: Config, sensor: "SensorSpec", prepare_result: dict, float_metrics: dict, int8_figures: dict,
                  gan_info: dict, gan_seconds: float, sample_result: dict, rd: RunDir) -> dict:
    clf = {**{k: v for k, v in float_metrics.items() if k not in ("train_seconds",)}, **int8_figures}
    clf["preset"] = cfg.classifier.preset
    timing = {f"{name}_seconds": round(r.seconds, 2) for name, r in rd.records.items()}
    timing["gan_train_seconds"] = round(gan_seconds, 2)
    return {
        "classifier": clf,
        "int8_runtimes_agree": bool(int8_figures.get("int8_runtimes_agree", False)),
        "gan": {"acceptance_rate": sample_result.get("acceptance_rate"),
                "acceptance_by_class": sample_result.get("acceptance_by_class"),
                "accepted": sample_result.get("accepted"), "training": gan_info},
        "data": {"source": {"name": cfg.data.source.name, **prepare_result.get("source", {})},
                 "target": None if cfg.data.target is None else
                 {"name": cfg.data.target.name, **prepare_result.get("target", {})},
                 "sensor": sensor.to_dict(), "window_length": cfg.windows.length,
                 "class_names": prepare_result.get("source", {}).get("class_names")},
        "timing": timing,
        "seed": cfg.seed,
    }


def _fmt(v: Any, spec: str = ".3f") -> str:
    try:
        return format(float(v), spec)
    except (TypeError, ValueError):
        return "n/a"


def summary_lines(metrics: dict, out: Path, wall_seconds: float | None = None) -> list[str]:
    """The short summary printed at the end of run/demo."""
    c, g, t = metrics.get("classifier", {}), metrics.get("gan", {}), metrics.get("timing", {})
    acc = g.get("acceptance_by_class") or {}
    lines = [
        "",
        "summary",
        f"  ST classifier   float accuracy {_fmt(c.get('float_accuracy'))}, int8 accuracy "
        f"{_fmt(c.get('int8_accuracy'))}, macro F1 {_fmt(c.get('macro_f1'))}; "
        f"{c.get('tflite_bytes', 'n/a')} B flash, {c.get('arena_bytes', 'n/a')} B arena; "
        f"LiteRT == TFLite-Micro: {metrics.get('int8_runtimes_agree')}",
        f"  synthetic data  acceptance {_fmt(g.get('acceptance_rate'), '.2f')} ("
        + ", ".join(f"{k} {_fmt(v, '.2f')}" for k, v in acc.items()) + ")",
        f"  quality         TSTR {_fmt(g.get('tstr_accuracy'))} / TRTR {_fmt(g.get('trtr_accuracy'))} = ratio "
        f"{_fmt(g.get('tstr_ratio'), '.2f')}; discriminative score {_fmt(g.get('discriminative_score'))}; "
        f"MMD {_fmt(g.get('mmd'), '.4f')}",
        f"  time            GAN training {_fmt(t.get('gan_train_seconds'), '.0f')} s, all steps "
        f"{_fmt(t.get('total_seconds'), '.0f')} s" + (f", this run {wall_seconds:.0f} s" if wall_seconds else ""),
        f"  files           {out}/: synthetic/windows.npz, synthetic/csv/, classifier/model_int8.tflite, "
        f"firmware/, report/report.md",
    ]
    return lines


# ============================================================================ single-step commands

def _need_file(path: str | None, what: str) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    if not p.exists():
        raise InputError(f"no such file ({what})", p)
    return p


def _out_file(path: str, suffix: str) -> Path:
    p = Path(path)
    if p.is_dir():
        raise InputError(f"--out is a folder; give a {suffix} file name", p)
    return p


def _out_dir(path: str) -> Path:
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError("--out exists and is not a folder", p)
    return p


def cmd_prepare(args, log: Log = print) -> None:
    out = _out_file(args.out, ".npz")
    sensor = sensor_spec(args.sensor, args.full_scale, args.odr)
    if args.source != "basic-motions" and not args.path:
        raise InputError(f"--path is required for --source {args.source}")
    dom = DomainConfig(name=args.source, path=args.path or "", imu=args.imu or "",
                       suppress_gravity=args.suppress_gravity)
    check_domain_path(dom)
    log(f"prepare: {args.source} -> {out}")
    ws = prepare_windows(dom, args.classes, sensor, args.window, args.stride, seed=getattr(args, "seed", 0), log=log)
    ws.save(out)
    log(f"wrote {out}")


def cmd_train_classifier(args, log: Log = print) -> None:
    out = _out_dir(args.out)
    ws = load_windows(_need_file(args.windows, "--windows"))
    log(f"train-classifier: {args.windows} -> {out}/model.keras")
    train_classifier_files(ws, out, preset=args.preset, epochs=args.epochs, batch_size=args.batch_size,
                           patience=args.patience, seed=getattr(args, "seed", 0), log=log)
    log(f"wrote {out}/model.keras, history.csv, training.png, confusion_float.png, metrics.json")


def cmd_quantize(args, log: Log = print) -> None:
    out = _out_file(args.out, ".tflite")
    model_path, windows_path = _need_file(args.model, "--model"), _need_file(args.windows, "--windows")
    ws = load_windows(windows_path)
    model = load_float_classifier(model_path)
    log(f"quantize: {args.model} -> {out}")
    quantize_files(model, ws, out, samples=args.samples, seed=getattr(args, "seed", 0), log=log)
    log(f"wrote {out}")


def cmd_train_gan(args, log: Log = print) -> None:
    out = _out_dir(args.out)
    windows_path = _need_file(args.windows, "--windows")
    clf_path = _need_file(args.classifier, "--classifier")
    init = _need_file(args.init, "--init")
    ws = load_windows(windows_path)
    clf = load_float_classifier(clf_path) if clf_path else None
    log(f"train-gan: {args.windows} -> {out}/generator.keras")
    train_gan_files(ws, clf, out, steps=args.steps, batch_size=args.batch_size, latent_dim=args.latent_dim,
                    n_critic=args.n_critic, gp_weight=args.gp_weight, classifier_weight=args.classifier_weight,
                    g_learning_rate=args.g_learning_rate, c_learning_rate=args.c_learning_rate, loss=args.loss,
                    init=init, seed=getattr(args, "seed", 0), label="finetune" if init else "gan", log=log)
    log(f"wrote {out}/generator.keras, critic.keras, history.csv, losses.png")


def cmd_generate(args, log: Log = print) -> None:
    out = _out_dir(args.out)
    gen_path = _need_file(args.generator, "--generator")
    int8_path = _need_file(args.int8, "--int8")
    windows_path = _need_file(args.windows, "--windows")
    ws = load_windows(windows_path) if windows_path else None
    sensor = sensor_spec(args.sensor, args.full_scale, args.odr, default=ws.sensor if ws is not None else None)
    generator = load_generator(gen_path)
    names = ws.class_names if ws is not None else _model_class_names(generator)
    int8 = load_int8(int8_path, names)
    log(f"generate: {args.per_class} per class -> {out}")
    sample_files(generator, int8, sensor, out, per_class=args.per_class, min_confidence=args.min_confidence,
                 max_tries=args.max_tries, seed=getattr(args, "seed", 0), log=log)
    log(f"wrote {out}/windows.npz and {out}/csv/")


def _model_class_names(model) -> list[str] | None:
    try:
        from gan.models import model_class_names

        return list(model_class_names(model))
    except Exception:  # noqa: BLE001
        return None


def cmd_evaluate(args, log: Log = print) -> None:
    out = _out_dir(args.out)
    real_path = _need_file(args.real, "--real")
    syn_path = _need_file(args.synthetic, "--synthetic")
    int8_path = _need_file(args.int8, "--int8")
    if syn_path.is_dir():
        syn_path = syn_path / "windows.npz"
        if not syn_path.is_file():
            raise InputError("no windows.npz in the --synthetic folder", syn_path.parent)
    real = load_windows(real_path)
    from gan.sampling import SyntheticSet

    syn = SyntheticSet.load(syn_path)
    if list(syn.class_names) != list(real.class_names):
        raise InputError(f"synthetic classes {list(syn.class_names)} differ from the real windows' "
                         f"{list(real.class_names)}", syn_path)
    int8 = load_int8(int8_path, real.class_names) if int8_path else None
    acceptance = {"acceptance_rate": syn.acceptance_rate, "acceptance_by_class": _plain(syn.acceptance_by_class)}
    extra: dict = {}
    if int8 is not None:
        _, held = _eval_split(real)
        from classifier import evaluate_classifier

        ev = evaluate_classifier(int8, held.x, held.y, real.class_names)
        extra["classifier"] = {"int8_accuracy": float(ev["accuracy"]), "macro_f1": float(ev["macro_f1"]),
                               "tflite_bytes": int(int8.tflite_bytes), "arena_bytes": int(int8.arena_bytes())}
        extra["int8_runtimes_agree"] = bool(int8.runtimes_agree(held.x[:64]))
    log(f"evaluate: {args.real} vs {syn_path} -> {out}")
    evaluate_files(real, syn.x_mg, syn.y, out, preset=args.preset, int8=int8, quick=args.quick,
                             seeds=args.seeds, seed=getattr(args, "seed", 0), extra=extra,
                             augmentation=not args.no_augmentation, seconds_before=0.0, log=log,
                             acceptance=acceptance if syn.acceptance_by_class else None)
    log(f"wrote {out}/metrics.json and {out}/report.md")


def _plain(d):
    if d is None:
        return None
    return {str(k): (v.item() if hasattr(v, "item") else v) for k, v in dict(d).items()}


def cmd_export(args, log: Log = print) -> None:
    out = _out_dir(args.out)
    int8_path = _need_file(args.int8, "--int8")
    tv_path = _need_file(args.test_vectors, "--test-vectors")
    ws = load_windows(tv_path) if tv_path else None
    names = args.classes or (ws.class_names if ws is not None else None)
    if not names:
        raise InputError("give the class names: --classes ... or --test-vectors windows.npz")
    sensor = sensor_spec(args.sensor, args.full_scale, args.odr, default=ws.sensor if ws is not None else None)
    int8 = load_int8(int8_path, names)
    if int8.num_classes != len(names):
        raise InputError(f"the model has {int8.num_classes} outputs but {len(names)} class names were given",
                         int8_path)
    tx = ty = None
    if ws is not None:
        _, held = _eval_split(ws)
        tx, ty = held.x, held.y
    log(f"export: {int8_path} -> {out}")
    export_files(int8, names, sensor, out, name=args.name, test_windows=tx, test_labels=ty,
                 n_test_vectors=args.n_test_vectors, replace_dir=False, log=log)
    log(f"wrote {out}/")


def cmd_stedgeai(args, log: Log = print) -> None:
    """``stedgeai analyze|validate|generate`` on the int8 model; figures printed and saved as JSON under --out."""
    out = _out_dir(args.out)
    model = _need_file(args.model, "--model")
    windows_path = _need_file(args.windows, "--windows")
    from firmware_export import stedgeai as st

    try:
        tool = st.StEdgeAI(args.stedgeai, target=args.target)
    except st.StEdgeAINotFound:
        if not (args.estimate and args.action == "analyze"):
            raise
        load_int8(model)  # a clear error for a file that is not an int8 model
        result = dict(st.estimate_footprint(model))
        result["source"] = "offline estimate (stedgeai not installed)"
        log(f"stedgeai not found; offline estimate for {model}:")
    else:
        common: dict[str, Any] = {"name": args.name}
        if args.compression:
            common["compression"] = args.compression
        if args.action == "validate":
            kwargs: dict[str, Any] = {**common, "mode": args.mode}
            if windows_path is not None:
                ws = load_windows(windows_path)
                _, held = _eval_split(ws)
                kwargs.update(x=held.x, y=held.y, n=min(len(held), args.n))
            log(f"stedgeai validate ({args.mode}): {model} -> {out}")
            result = tool.validate(model, out, **kwargs)
        else:
            log(f"stedgeai {args.action}: {model} -> {out}")
            result = getattr(tool, args.action)(model, out, **common)
    from evaluation.report import to_jsonable

    write_text(out / f"hargan_stedgeai_{args.action}.json", json.dumps(to_jsonable(result), indent=2) + "\n")
    for key in ("weights_bytes", "activations_bytes", "arena_bytes", "macc", "macs", "acc", "rmse", "cos", "files",
                "report", "source"):
        if key in result:
            log(f"  {key}: {result[key]}")
    log(f"wrote {out}/hargan_stedgeai_{args.action}.json")
