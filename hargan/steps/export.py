"""Step 8, export: the int8 model as C for STM32CubeIDE.

``firmware/`` gets the model as C (plain C and the .tflite array), the API with the board's
preprocessing, the labels, sensor and quantization headers and test vectors from the held-out
split. The preprocessing (sensor, gravity filter on or off, stride) is the one the quantize step
recorded beside the model (``model_int8.json``, :mod:`hargan.classify`). The test vectors are the
sensor's raw counts, BEFORE the gravity filter, with the scores the int8 model gives them after
the Python twin of the board's preprocessing: with the filter on, they come from
``data/windows_unfiltered.npz`` (the held-out split as the sensor reported it).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Sequence

from har_data.errors import InputError
from har_data.outputs import output_dir
from hargan.config import DEFAULT_GRAVITY_PRECISION, GRAVITY_PRECISIONS
from hargan.classify import Preprocessing, read_preprocessing, record_path
from hargan.options import add_section_options, option
from hargan.steps.base import RunContext, Step
from hargan.steps.common import (Command, Log, add_sensor_arguments, held_out_split, load_int8, load_windows, need_file,
                                 optional_file, out_dir, quiet, sensor_spec, staged)

if TYPE_CHECKING:
    import numpy as np

    from classifier import Int8Classifier
    from har_data import SensorSpec, WindowSet


def write_firmware(int8: Int8Classifier, class_names: Sequence[str], sensor: SensorSpec, out: Path, *,
                   name: str, gravity: bool, stride: int | None, vote: int = 1,
                   gravity_precision: str = DEFAULT_GRAVITY_PRECISION, test_windows: np.ndarray | None = None,
                   test_labels: np.ndarray | None = None, n_test_vectors: int = 0,
                   replace_dir: bool = True, st_har_app: bool = False, log: Log = quiet) -> list[Path]:
    """Write the C model, API, headers and test vectors into ``out``; returns the files.

    ``gravity``, ``gravity_precision``, ``stride``: the board's preprocessing (``stride`` None: half a
    window); ``vote``: its decision stage (decisions voted over; 1 = none).
    ``test_windows``: mg windows as the sensor reports them, before any filter (:func:`raw_test_windows`).
    ``replace_dir``: ``out`` is replaced as a whole (the run directory's firmware/, so files of an
    older export name do not linger); otherwise the files are moved into ``out`` one by one
    (each atomically), leaving anything else in it alone (``hargan export --out`` into a project;
    the README is then ``<name>_README.md``). ``st_har_app``: also ``st_har_app/``, the files ST's model zoo
    HAR application needs (:mod:`firmware_export.st_har_app`).
    """
    import firmware_export

    out = Path(out)
    kwargs: dict[str, Any] = {"name": name, "gravity": bool(gravity), "stride": stride, "vote": int(vote),
                              "gravity_precision": gravity_precision, "st_har_app": bool(st_har_app)}
    if test_windows is not None and n_test_vectors > 0:
        kwargs.update(test_windows=test_windows, test_labels=test_labels, n_test_vectors=n_test_vectors)
    if replace_dir:
        files = [Path(f) for f in firmware_export.export_firmware(int8, list(class_names), sensor, out, **kwargs)]
    else:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".hargan-export.", dir=out) as tmp:
            made = firmware_export.export_firmware(int8, list(class_names), sensor, Path(tmp) / "fw", **kwargs)
            files = []
            for f in map(Path, made):
                # A project has a README.md of its own: ours goes in under the export's name.
                rel = f.relative_to(Path(tmp) / "fw")
                rel = Path(f"{name}_README.md") if rel == Path("README.md") else rel
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(f, out / rel)
                files.append(out / rel)
    log(f"  firmware: {', '.join(f.relative_to(out).as_posix() for f in files)}")
    return files


def load_test_windows(path: Path) -> WindowSet:
    """Test-vector windows from any hargan windows file: real (``hargan prepare``, a run's ``data/``) or
    synthetic (a run's ``synthetic/windows.npz``: every window held out, in mg as the sensor reports it).

    A synthetic set does not say whether its windows are gravity-filtered (they are in the domain of the
    windows the GAN learnt), so :func:`raw_test_windows` takes it as raw only for a model without the filter.
    """
    import numpy as np

    from har_data import WindowSet

    try:
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
    except Exception:  # unreadable: WindowSet.load says why, naming the file
        keys = set()
    if "x" in keys or "x_mg" not in keys:
        return load_windows(path)
    from gan.sampling import SyntheticSet

    syn = SyntheticSet.load(path)
    n = len(syn.y)
    return WindowSet(syn.x_mg, syn.y, syn.class_names, np.full(n, "test"), np.arange(n).astype(str), syn.sensor,
                     syn.sensor.odr_hz)


def raw_test_windows(ws: WindowSet, gravity: bool, sensor: SensorSpec,
                     path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The held-out split of ``ws`` as test-vector windows: they must be the sensor's raw output.

    Filtered windows would be filtered twice on the board, so windows that are (or, for a model
    with the filter, may be) gravity-filtered are an error, as are windows of another sensor.
    """
    filtered = ws.preprocessing.get("suppress_gravity")
    if filtered or (gravity and filtered is None):
        raise InputError("test vectors must be the sensor's raw output, but these windows are gravity-filtered"
                         + ("" if filtered else " (or do not say)") + ": give a run's data/windows_unfiltered.npz "
                         "or windows from 'hargan prepare' without --suppress-gravity", path)
    if ws.sensor is not None and ws.sensor != sensor:
        w = ws.sensor
        raise InputError(f"the windows are for {w.name} ±{w.full_scale_g} g at {w.odr_hz:g} Hz, the export for "
                         f"{sensor.name} ±{sensor.full_scale_g} g at {sensor.odr_hz:g} Hz", path)
    _, held = held_out_split(ws)
    return held.x, held.y


class Export(Step):
    name = "export"
    sections = ("export", "sensor")

    def describe(self, ctx: RunContext) -> str:
        return "export: C arrays, headers and test vectors for STM32CubeIDE"

    def inputs(self, ctx: RunContext) -> list[Path]:
        return [ctx.paths.int8, record_path(ctx.paths.int8), self._test_windows(ctx)]

    def outputs(self, ctx: RunContext) -> list[Path]:
        return [ctx.paths.firmware_dir]

    @staticmethod
    def _test_windows(ctx: RunContext) -> Path:
        return ctx.paths.unfiltered_windows if ctx.board_gravity else ctx.paths.windows

    def run(self, ctx: RunContext) -> dict:
        e = ctx.cfg.export
        prep = read_preprocessing(ctx.paths.int8)
        path = self._test_windows(ctx)
        ws = ctx.windows if path == ctx.paths.windows else load_windows(path)
        tx, ty = raw_test_windows(ws, prep.suppress_gravity, prep.sensor, path)
        ctx.log(f"  board preprocessing ({record_path(ctx.paths.int8).name}): "
                f"{_describe(prep.suppress_gravity, prep.stride, prep.gravity_precision)}")
        files = write_firmware(ctx.int8, prep.class_names, prep.sensor, ctx.paths.firmware_dir, name=e.name,
                               gravity=prep.suppress_gravity, stride=prep.stride, vote=prep.vote,
                               gravity_precision=prep.gravity_precision, test_windows=tx,
                               test_labels=ty, n_test_vectors=e.n_test_vectors, log=ctx.log)
        return {"files": [f.relative_to(ctx.paths.firmware_dir).as_posix() for f in files],
                "gravity_filter": prep.suppress_gravity, "gravity_precision": prep.gravity_precision,
                "stride": prep.stride, "vote": prep.vote}


def _describe(gravity: bool, stride: int | None, precision: str) -> str:
    return (f"gravity filter {f'on ({precision})' if gravity else 'off'}, "
            + (f"a window every {stride} samples" if stride else "a window every half window"))


# ---------------------------------------------------------------------------- hargan export

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--int8", required=True, metavar="FILE.tflite",
                   help="int8 classifier, with its preprocessing record FILE.json beside it (from the quantize step)")
    p.add_argument("--test-vectors", default=None, metavar="FILE.npz",
                   help="windows as the sensor reports them (no gravity filter), real (hargan prepare) or synthetic "
                        "(a run's synthetic/windows.npz): test vectors from their test split")
    p.add_argument("--classes", nargs="+", default=None, metavar="CLASS",
                   help="class names in output order (default: the record's, else from --test-vectors)")
    add_section_options(p, "export")
    g = p.add_argument_group("board preprocessing (default: the record beside --int8)")
    g.add_argument("--gravity", action=argparse.BooleanOptionalAction, default=None,
                   help="the model was trained on gravity-filtered windows: the board runs ST's gravity rotation + "
                        "suppression filter (required without a record)")
    g.add_argument("--gravity-precision", choices=GRAVITY_PRECISIONS, default=None,
                   help=f"the gravity filter's arithmetic, as in training (default: the record's; without one, "
                        f"{DEFAULT_GRAVITY_PRECISION})")
    g.add_argument("--stride", type=option("windows.stride", int), default=None, metavar="N",
                   help="classify every N samples (default: the record's; without one, half a window)")
    add_sensor_arguments(p, stored_in="the record beside --int8")
    p.add_argument("--force-sensor", action="store_true",
                   help="set the board up for --sensor/--full-scale/--odr even where they contradict the "
                        "model's record")
    p.add_argument("--st-har-app", action="store_true",
                   help="also write DIR/st_har_app/: ai_model_config.h and a float-input .tflite for ST's model zoo "
                        "HAR application (STM32U5 B-U585I-IOT02A); an error where that application cannot run "
                        "the model")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the .h/.c files")


def check_sensor_agrees(sensor: SensorSpec, recorded: SensorSpec | None, where: Path | None, force: bool,
                        log: Log) -> None:
    """The board's sensor must be the one the model was trained for (its record, else the test vectors'):
    another sensor, full scale or rate gives firmware that misreads every sample. ``force``: a warning only."""
    if recorded is None or sensor == recorded:
        return
    what = (f"the model was trained for {recorded.name} +-{recorded.full_scale_g} g at {recorded.odr_hz:g} Hz, "
            f"not {sensor.name} +-{sensor.full_scale_g} g at {sensor.odr_hz:g} Hz")
    if not force:
        raise InputError(f"{what}: the firmware would misread every sample; leave --sensor/--full-scale/--odr out, "
                         "or add --force-sensor", where)
    log(f"  warning: {what} (--force-sensor): the board is set up for the sensor given")


def board_record(int8_path: Path, gravity: bool | None, stride: int | None) -> Preprocessing | None:
    """The model's preprocessing record; None where it is missing and ``gravity`` says what the board does."""
    if stride is not None and stride < 1:
        raise InputError(f"--stride must be at least 1 sample, got {stride}")
    if record_path(int8_path).is_file():
        return read_preprocessing(int8_path)
    if gravity is None:
        raise InputError(f"missing preprocessing record {record_path(int8_path).name} beside the model: say whether "
                         "the model was trained with the gravity filter (--gravity or --no-gravity; --stride N, "
                         "default half a window)", int8_path)
    return None


def command(args: argparse.Namespace, log: Log) -> None:
    out = out_dir(args.out)
    int8_path = need_file(args.int8, "--int8")
    tv_path = optional_file(args.test_vectors, "--test-vectors")
    with output_dir(out, [int8_path, tv_path], shared=True) as stage:  # may be the user's firmware project
        _export(args, int8_path, tv_path, stage, staged(log, stage, out))
    log(f"wrote {out}/")


def _export(args: argparse.Namespace, int8_path: Path, tv_path: Path | None, out: Path, log: Log) -> None:
    prep = board_record(int8_path, args.gravity, args.stride)
    ws = load_test_windows(tv_path) if tv_path else None
    names = args.classes or (prep.class_names if prep else None) or (ws.class_names if ws is not None else None)
    if not names:
        raise InputError("give the class names: --classes ... or --test-vectors windows.npz")
    default_sensor = prep.sensor if prep else ws.sensor if ws is not None else None
    sensor = sensor_spec(args.sensor, args.full_scale, args.odr, default=default_sensor)
    check_sensor_agrees(sensor, default_sensor, record_path(int8_path) if prep else tv_path,
                        getattr(args, "force_sensor", False), log)
    gravity = bool(args.gravity) if prep is None or args.gravity is not None else prep.suppress_gravity
    stride = args.stride or (prep.stride if prep else None)
    precision = args.gravity_precision or (prep.gravity_precision if prep else DEFAULT_GRAVITY_PRECISION)
    int8 = load_int8(int8_path, names)
    if int8.num_classes != len(names):
        raise InputError(f"the model has {int8.num_classes} outputs but {len(names)} class names were given",
                         int8_path)
    tx, ty = raw_test_windows(ws, gravity, sensor, tv_path) if ws is not None else (None, None)
    log(f"export: {int8_path} -> {out}; {_describe(gravity, stride, precision)}")
    write_firmware(int8, names, sensor, out, name=args.name, gravity=gravity, gravity_precision=precision,
                   stride=stride, vote=prep.vote if prep else 1, test_windows=tx, test_labels=ty,
                   n_test_vectors=args.n_test_vectors, replace_dir=False, st_har_app=args.st_har_app, log=log)


COMMAND = Command("export", "write the int8 model, labels, sensor settings and test vectors as C for STM32CubeIDE",
                  "hargan export --int8 model_int8.tflite --test-vectors windows.npz --out firmware",
                  add_arguments, command, seed=False)
