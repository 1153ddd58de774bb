"""Step 8, export: the int8 model as C for STM32CubeIDE.

``firmware/`` gets the model's C arrays, the labels, sensor and quantization headers and test
vectors from the held-out split (inputs with the outputs the int8 model gives them).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from har_data.errors import InputError
from hargan.config import ExportConfig
from hargan.steps.base import RunContext, Step
from hargan.steps.common import (Command, Log, add_sensor_arguments, held_out_split, load_int8, load_windows, need_file,
                                 out_dir, quiet, sensor_spec)

if TYPE_CHECKING:
    import numpy as np

    from classifier import Int8Classifier
    from har_data import SensorSpec


def write_firmware(int8: "Int8Classifier", class_names: Sequence[str], sensor: "SensorSpec", out: Path, *,
                          name: str, test_windows: "np.ndarray | None" = None,
                          test_labels: "np.ndarray | None" = None, n_test_vectors: int = 0,
                          replace_dir: bool = True, log: Log = quiet) -> list[Path]:
    """Write the C arrays, headers and test vectors into ``out``; returns the files.

    ``replace_dir``: ``out`` is replaced as a whole (the run directory's firmware/, so files of an
    older export name do not linger); otherwise the files are moved into ``out`` one by one
    (each atomically), leaving anything else in it alone (``hargan export --out`` into a project).
    """
    import firmware_export

    out = Path(out)
    kwargs: dict[str, Any] = {"name": name}
    if test_windows is not None and n_test_vectors > 0:
        kwargs.update(test_windows=test_windows, test_labels=test_labels, n_test_vectors=n_test_vectors)
    if replace_dir:
        files = [Path(f) for f in firmware_export.export_firmware(int8, list(class_names), sensor, out, **kwargs)]
    else:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".hargan-export.", dir=out) as tmp:
            made = firmware_export.export_firmware(int8, list(class_names), sensor, Path(tmp) / "fw", **kwargs)
            files = []
            for f in made:
                os.replace(f, out / Path(f).name)
                files.append(out / Path(f).name)
    log(f"  firmware: {', '.join(f.name for f in files)}")
    return files


class Export(Step):
    name = "export"
    sections = ("export", "sensor")

    def describe(self, ctx: RunContext) -> str:
        return "export: C arrays, headers and test vectors for STM32CubeIDE"

    def inputs(self, ctx: RunContext) -> list[Path]:
        return [ctx.paths.int8, ctx.paths.windows]

    def outputs(self, ctx: RunContext) -> list[Path]:
        return [ctx.paths.firmware_dir]

    def run(self, ctx: RunContext) -> dict:
        e = ctx.cfg.export
        _, held = held_out_split(ctx.windows)
        files = write_firmware(ctx.int8, ctx.windows.class_names, ctx.sensor, ctx.paths.firmware_dir,
                                      name=e.name, test_windows=held.x, test_labels=held.y,
                                      n_test_vectors=e.n_test_vectors, log=ctx.log)
        return {"files": [f.name for f in files]}


# ---------------------------------------------------------------------------- hargan export

def add_arguments(p: argparse.ArgumentParser) -> None:
    e = ExportConfig()
    p.add_argument("--int8", required=True, metavar="FILE.tflite", help="int8 classifier")
    p.add_argument("--test-vectors", default=None, metavar="FILE.npz",
                   help="windows: class names, sensor and test vectors from their test split")
    p.add_argument("--classes", nargs="+", default=None, metavar="CLASS",
                   help="class names in output order (default: from --test-vectors)")
    p.add_argument("--name", default=e.name, help=f"C prefix of files and symbols (default: {e.name})")
    p.add_argument("--n-test-vectors", type=int, default=e.n_test_vectors, metavar="N",
                   help=f"test vectors (default: {e.n_test_vectors})")
    add_sensor_arguments(p, from_windows=True)
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the .h/.c files")


def command(args: argparse.Namespace, log: Log) -> None:
    out = out_dir(args.out)
    int8_path = need_file(args.int8, "--int8")
    tv_path = need_file(args.test_vectors, "--test-vectors")
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
        _, held = held_out_split(ws)
        tx, ty = held.x, held.y
    log(f"export: {int8_path} -> {out}")
    write_firmware(int8, names, sensor, out, name=args.name, test_windows=tx, test_labels=ty,
                          n_test_vectors=args.n_test_vectors, replace_dir=False, log=log)
    log(f"wrote {out}/")


COMMAND = Command("export", "write the int8 model, labels, sensor settings and test vectors as C for STM32CubeIDE",
                  "hargan export --int8 model_int8.tflite --test-vectors windows.npz --out firmware",
                  add_arguments, command, seed=False)
