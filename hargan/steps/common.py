"""What the steps and the single-step commands share: loading their inputs with clear errors,
checking command-line paths, the sensor options, and the held-out split that scores a model.

Heavy modules (Keras, TensorFlow) are imported inside the functions, so ``hargan --help``
stays fast.
"""

from __future__ import annotations

import argparse
import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Callable, Sequence

from har_data.atomic import write_text
from har_data.errors import InputError, one_line
from har_data.sensors import SENSORS
from hargan.config import Config, SensorConfig

if TYPE_CHECKING:
    import keras

    from classifier import Int8Classifier
    from har_data import SensorSpec, WindowSet

Log = Callable[[str], None]


def quiet(msg: str) -> None:
    """A log that prints nothing (library use)."""


@dataclass(frozen=True)
class Command:
    """One single-step subcommand: its help texts, its arguments and what it runs."""

    name: str
    help: str
    example: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Log], None]
    description: str = ""
    seed: bool = True
    """Whether the command takes --seed."""


# ---------------------------------------------------------------------------- inputs

def load_windows(path: Path) -> WindowSet:
    from har_data import WindowSet

    return WindowSet.load(path)


def load_generator(path: Path) -> keras.Model:
    """A saved generator (its layers registered by importing gan); bad files are InputError."""
    import gan  # noqa: F401 - registers the generator's layers
    from classifier import load_keras_model
    from gan.models import model_class_names

    model = load_keras_model(path, what="generator", compile=False)
    try:
        model_class_names(model)
    except ValueError:
        raise InputError("not a hargan generator (it records no class names: a classifier or a critic?); give "
                         "gan/generator.keras", path) from None
    return model


def load_float_classifier(path: Path) -> keras.Model:
    from classifier import load_classifier

    return load_classifier(path)


def load_int8(path: Path, class_names: Sequence[str] | None = None) -> Int8Classifier:
    from classifier import Int8Classifier

    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    try:
        return Int8Classifier(path, class_names)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unreadable model is bad input
        raise InputError(f"not an int8 TFLite model: {one_line(exc)}", path) from None


def check_trainable(ws: WindowSet, path: Path | str | None = None, key: str | None = None) -> WindowSet:
    """Windows a classifier or a GAN can learn from: at least two classes, each with windows (one class
    cannot be told apart from anything; a class without windows cannot be generated)."""
    counts = ws.counts()
    prefix = f"{key}: " if key else ""
    if len(ws.class_names) < 2:
        raise InputError(f"{prefix}the windows hold {len(ws.class_names)} class ({', '.join(ws.class_names)}): a "
                         "classifier needs at least two", path)
    empty = [c for c, n in counts.items() if n == 0]
    if empty:
        raise InputError(f"{prefix}no windows of class(es) {', '.join(empty)}: every class needs some",
                         path)
    return ws


def held_out_split(ws: WindowSet) -> tuple[str, WindowSet]:
    """The held-out split to score on: test, else val, else train (tiny data sets)."""
    for name in ("test", "val", "train"):
        sub = ws.subset(name)
        if len(sub):
            return name, sub
    raise InputError("the windows file holds no windows")


def write_csv_rows(path: Path, rows: list[dict]) -> Path:
    """Rows of numbers as one CSV (columns in order of first appearance, floats to 6 digits), atomically."""
    return write_text(path, csv_text(rows))


def csv_text(rows: list[dict]) -> str:
    """The text :func:`write_csv_rows` writes."""
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


# ---------------------------------------------------------------------------- command-line paths

def staged(log: Log, stage: Path, out: Path) -> Log:
    """``log`` that names the output folder where a message names the staging folder it is written in."""
    return lambda msg: log(str(msg).replace(str(stage), str(out)))


def seed_of(args: argparse.Namespace) -> int:
    """--seed when given, else the config's default seed."""
    return getattr(args, "seed", Config.seed)


def need_file(path: str, what: str) -> Path:
    """A required input given on the command line; it must exist."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"no such file ({what})", p)
    return p


def optional_file(path: str | None, what: str) -> Path | None:
    """An optional input given on the command line: None when the option was not given."""
    return None if path is None else need_file(path, what)


def check_tensorboard(folder: str, data: Sequence[str | Path], where: Path | None = None,
                      key: str = "tensorboard") -> None:
    """The TensorBoard folder must be a folder (or new) and lie outside the input data: logs written into the
    data folder would change its fingerprint, so prepare would run again every time."""
    if not folder:
        return
    path = Path(folder).expanduser()
    if path.exists() and not path.is_dir():
        raise InputError(f"{key}: {path} is a file, not a folder", where)
    target = path.resolve()
    for given in data:
        src = Path(given).expanduser().resolve()
        if src.is_dir() and (target == src or src in target.parents):
            raise InputError(f"{key}: {path} lies inside the input data folder {given}: its logs would change "
                             "the data; choose a folder outside it", where)


def check_preset(preset: str, key: str = "classifier.preset", where: Path | None = None) -> None:
    """An unknown classifier preset is refused before any file is read."""
    from hargan.config import CLASSIFIER_PRESETS

    if preset not in CLASSIFIER_PRESETS:
        raise InputError(f"{key}: unknown preset {preset!r}; valid presets: {', '.join(CLASSIFIER_PRESETS)}", where)


def out_file(path: str, suffix: str) -> Path:
    p = Path(path).expanduser()
    if p.is_dir():
        raise InputError(f"--out is a folder; give a {suffix} file name", p)
    return p


def out_dir(path: str) -> Path:
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise InputError("--out exists and is not a folder", p)
    return p


# ---------------------------------------------------------------------------- the sensor

def sensor_spec(name: str | None = None, full_scale_g: int | None = None, odr_hz: float | None = None,
                default: SensorSpec | None = None) -> SensorSpec:
    """A checked SensorSpec; missing parts come from ``default`` (or the [sensor] section's defaults)."""
    from har_data import SensorSpec

    base = default or SensorSpec(SensorConfig.name, SensorConfig.full_scale_g, SensorConfig.odr_hz)
    return SensorSpec(name or base.name, base.full_scale_g if full_scale_g is None else full_scale_g,
                      base.odr_hz if odr_hz is None else odr_hz)


def add_sensor_arguments(p: argparse.ArgumentParser, stored_in: str | None = None) -> None:
    """--sensor, --full-scale, --odr (unset: the [sensor] defaults, or the sensor stored in ``stored_in``)."""
    g = p.add_argument_group("sensor (the STM32 accelerometer the data is made for)")
    g.add_argument("--sensor", default=None, metavar="NAME",
                   help=f"sensor part number: {', '.join(SENSORS)} (default: {SensorConfig.name}"
                        + (f", or the one stored in {stored_in}" if stored_in else "") + ")")
    stored = f"the one stored in {stored_in}, else " if stored_in else ""
    g.add_argument("--full-scale", type=int, default=None, metavar="G",
                   help=f"full scale in g (default: {stored}{SensorConfig.full_scale_g})")
    g.add_argument("--odr", type=float, default=None, metavar="HZ",
                   help=f"output data rate in Hz (default: {stored}{SensorConfig.odr_hz:g})")
