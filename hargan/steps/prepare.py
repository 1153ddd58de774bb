"""Step 1, prepare: real logs -> labelled windows in the sensor's format, split by recording.

Each domain is read by its loader, relabelled by its ``class_map``, resampled to the sensor's
ODR, quantized to its full scale and cut into windows. With a target domain (``data.target``)
both are written: ``data/source_windows.npz`` for GAN pretraining and ``data/windows.npz``,
the target's, in the source's class order, for everything else.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Sequence

import numpy as np

from har_data.errors import InputError
from har_data.outputs import output_file
from hargan.config import (CLASS_MAP_SOURCES, DEFAULT_GRAVITY_PRECISION, SOURCES, DomainConfig, WindowsConfig,
                           gravity_filter, needs_path)
from hargan.options import add_section_options
from hargan.steps.base import RunContext, Step
from hargan.steps.common import (Command, Log, add_sensor_arguments, check_trainable, held_out_split, out_file,
                                 quiet, seed_of, sensor_spec)

if TYPE_CHECKING:
    from har_data import Recording, SensorSpec, WindowSet


def check_domain_path(dom: DomainConfig, key: str = "data.source") -> None:
    """Fail early (before anything is written) when a domain's data path does not exist."""
    if not needs_path(dom.name) and not dom.path:
        return
    if not dom.path:
        raise InputError(f"{key}.path: the {dom.name} loader needs a path")
    if not Path(dom.path).exists():
        raise InputError("no such file or folder", dom.path)


def _relabel(recs: list[Recording], class_map: dict[str, str]) -> list[Recording]:
    """Apply a class map: a label mapped to "" is dropped, unmapped labels are kept."""
    kept = []
    for r in recs:
        new = class_map.get(str(r.label), r.label)
        if new:
            r.label = new
            kept.append(r)
    return kept


def load_recordings(dom: DomainConfig, log: Log = quiet) -> list[Recording]:
    """Read one domain with its loader and apply ``class_map``; prints what the loader skipped.

    Loaders that map raw activities themselves (``CLASS_MAP_SOURCES``) get the map and keep only
    the mapped activities; for the others the map relabels the loaded recordings.
    """
    from har_data import loaders

    check_domain_path(dom)
    opts = dict(dom.options)
    if dom.imu:
        opts["imu"] = dom.imu
    cmap = dict(dom.class_map)
    if cmap and dom.name in CLASS_MAP_SOURCES and "class_map" not in opts:
        opts["class_map"] = {k: v for k, v in cmap.items() if v}
        cmap = {}
    loaded = loaders.load_source(dom.name, dom.path or None, **opts)
    for note in getattr(loaded, "notes", []):
        log(f"  {dom.name}: {note}")
    recs = _relabel(list(loaded), cmap) if cmap else list(loaded)
    if not recs:
        raise InputError(f"no recordings left after the class map ({dom.name})", dom.path or None)
    labels = sorted({r.label for r in recs})
    log(f"  read {len(recs)} recordings from {dom.name}{' ' + dom.path if dom.path else ''}: "
        f"{', '.join(labels)}")
    return recs


def prepare_windows(dom: DomainConfig, classes: Sequence[str] | None, sensor: SensorSpec, length: int,
                    stride: int, fractions: Sequence[float] = tuple(WindowsConfig().fractions), seed: int = 0,
                    log: Log = quiet, *, suppress_gravity: bool | None = None,
                    gravity_precision: str = DEFAULT_GRAVITY_PRECISION, missing_ok: bool = False,
                    recordings: Sequence[Recording] | None = None) -> WindowSet:
    """Recordings -> windows resampled to the sensor's ODR and quantized to its full scale, split by recording.

    ``suppress_gravity``: the gravity filter (None: the domain's own setting, off when unset), in
    ``gravity_precision``.
    ``missing_ok``: classes the recordings lack are kept in the class list with no windows (a
    transfer run's source may lack a class its target has). ``recordings``: the domain's
    recordings when already read (:func:`load_recordings`).
    """
    from har_data import WindowSet, make_windows

    recs = load_recordings(dom, log) if recordings is None else list(recordings)
    names = list(classes) if classes else None
    found = [c for c in names if any(r.label == c for r in recs)] if names and missing_ok else names
    if suppress_gravity is None:
        suppress_gravity = bool(dom.suppress_gravity)
    # Gravity suppression runs inside make_windows: after resampling to the sensor's ODR (the
    # filter is defined at 26 Hz) and quantizing, over each whole recording, as the firmware runs it.
    train, val, test = fractions
    ws = make_windows(recs, length=length, stride=stride, sensor=sensor, class_names=found,
                      fractions=(float(train), float(val), float(test)), seed=seed, suppress_gravity=suppress_gravity,
                      gravity_precision=gravity_precision)
    if names is not None and found != names:  # classes without windows keep their place in the list
        ids = np.asarray([names.index(c) for c in ws.class_names], dtype=np.int64)
        ws = WindowSet(ws.x, ids[ws.y], names, ws.split, ws.group, ws.sensor, ws.odr_hz, dict(ws.preprocessing))
    counts = {s: int((ws.split == s).sum()) for s in ("train", "val", "test")}
    log(f"  {len(ws)} windows of {ws.window_length} samples at {ws.odr_hz:g} Hz "
        f"({sensor.name} ±{sensor.full_scale_g} g); train/val/test {counts['train']}/{counts['val']}/{counts['test']}; "
        f"per class: {', '.join(f'{k} {v}' for k, v in ws.counts().items())}")
    return ws


def transfer_classes(cfg) -> list[str]:
    """A transfer run's classes when the config names none: the source's (sorted), then the target's others."""
    src = sorted({r.label for r in load_recordings(cfg.data.source)})
    tgt = sorted({r.label for r in load_recordings(cfg.data.target)})
    return src + [c for c in tgt if c not in src]


class Prepare(Step):
    name = "prepare"
    sections = ("data", "sensor", "windows", "transfer.target_stride", "board.gravity_precision")

    def describe(self, ctx: RunContext) -> str:
        return "prepare: real logs -> windows"

    def external(self, ctx: RunContext) -> list[Path]:
        domains = (ctx.cfg.data.source, ctx.cfg.data.target)
        return [Path(d.path) for d in domains if d is not None and d.path]

    def outputs(self, ctx: RunContext) -> list[Path]:
        unfiltered = {ctx.paths.unfiltered_windows} if ctx.board_gravity else set()
        return sorted({ctx.paths.windows, ctx.paths.source_windows} | unfiltered)

    def _windows(self, ctx: RunContext, dom: DomainConfig, key: str, classes, missing_ok: bool = False,
                 stride: int | None = None, board: bool = False) -> tuple[WindowSet, WindowSet | None]:
        """The domain's windows; for the board's domain with the gravity filter on, also the held-out
        split's windows without the filter (``paths.unfiltered_windows``: the firmware's test vectors)."""
        w = ctx.cfg.windows
        gravity = gravity_filter(ctx.cfg, dom)
        if gravity:
            ctx.log(f"  {key}: gravity rotation + suppression on"
                    + ("" if dom.suppress_gravity else " (hargan's choice for a transfer run)")
                    + f", in {ctx.cfg.board.gravity_precision}")
        with ctx.config_key(key):
            recs = load_recordings(dom, ctx.log)
            args = (dom, classes, ctx.sensor, w.length, stride or w.stride, w.fractions, ctx.seed)
            ws = prepare_windows(*args, ctx.log, suppress_gravity=gravity, missing_ok=missing_ok, recordings=recs,
                                 gravity_precision=ctx.cfg.board.gravity_precision)
            if not (board and gravity):
                return ws, None
            raw = prepare_windows(*args, quiet, suppress_gravity=False, missing_ok=missing_ok, recordings=recs)
        if not (np.array_equal(raw.split, ws.split) and np.array_equal(raw.y, ws.y)):
            raise RuntimeError("the unfiltered windows do not line up with the filtered ones")
        return ws, held_out_split(raw)[1]

    def run(self, ctx: RunContext) -> dict:
        classes = ctx.cfg.data.classes or None
        if ctx.is_transfer and classes is None:  # every class of either domain, the source's first
            classes = transfer_classes(ctx.cfg)
        src, raw = self._windows(ctx, ctx.cfg.data.source, "data.source", classes, missing_ok=ctx.is_transfer,
                                 board=not ctx.is_transfer)
        if not ctx.is_transfer:  # a one-class run would fail in the classifier, after prepare
            check_trainable(src, ctx.config_file, "data.classes")
        result = {"source": {"windows": len(src), "counts": src.counts(), "class_names": src.class_names}}
        tgt = src
        if ctx.target is not None:
            tgt, raw = self._windows(ctx, ctx.target, "data.target", src.class_names, missing_ok=True,
                                     stride=ctx.cfg.transfer.target_stride, board=True)
            result["target"] = {"windows": len(tgt), "counts": tgt.counts()}
            lacking = [c for c, n in tgt.counts().items() if n == 0]
            if lacking:
                raise InputError(f"data.target: no target windows of class(es) {', '.join(lacking)}: the board "
                                 "model is built for the target device and needs a few logs of every class",
                                 ctx.config_file)
        src.save(ctx.paths.source_windows)
        if tgt is not src:
            tgt.save(ctx.paths.windows)
        if raw is not None:
            raw.save(ctx.paths.unfiltered_windows)
        ctx.source_windows, ctx.windows = src, tgt
        return result


# ---------------------------------------------------------------------------- hargan prepare

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", required=True, choices=SOURCES, metavar="NAME", help=f"loader: {', '.join(SOURCES)}")
    p.add_argument("--path", default=None, help="file or folder to read (not needed for basic-motions)")
    p.add_argument("--classes", nargs="+", default=None, metavar="CLASS",
                   help="classes to keep, in this order (default: all found)")
    p.add_argument("--imu", default=None, help="PAMAP2: which IMU (hand, chest, ankle)")
    p.add_argument("--suppress-gravity", action="store_true", default=None,
                   help="run the gravity rotation+suppression filter")
    add_section_options(p, "board", only=("gravity_precision",))
    add_sensor_arguments(p)
    add_section_options(p, "windows", skip=("fractions",), rename={"length": "window"})
    p.add_argument("--out", required=True, metavar="FILE.npz", help="windows file to write")


def command(args: argparse.Namespace, log: Log) -> None:
    out = out_file(args.out, ".npz")
    sensor = sensor_spec(args.sensor, args.full_scale, args.odr)
    if needs_path(args.source) and not args.path:
        raise InputError(f"--path is required for --source {args.source}")
    dom = DomainConfig(name=args.source, path=args.path or "", imu=args.imu or "",
                       suppress_gravity=args.suppress_gravity)
    check_domain_path(dom)
    with output_file(out, [args.path]) as tmp:
        log(f"prepare: {args.source} -> {out}")
        ws = prepare_windows(dom, args.classes, sensor, args.length, args.stride, seed=seed_of(args), log=log,
                             gravity_precision=args.gravity_precision)
        ws.save(tmp)
    log(f"wrote {out}")


COMMAND = Command(
    "prepare", "read real logs and cut them into labelled windows in the sensor's format",
    "hargan prepare --source pamap2 --path PAMAP2_Dataset --classes stationary walking running --out windows.npz",
    add_arguments, command)
