"""From Recordings to labelled windows: resample, segment, split by recording, save as .npz."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import signal

from har_data.errors import InputError
from har_data.gravity import DEFAULT_PRECISION, GravityRotationFilter
from har_data.npz import load_json_dict, load_npz, save_npz
from har_data.recording import Recording
from har_data.sensors import SensorSpec
from har_data.names import check_path_names
from har_data.validate import check_array, check_class_names

SPLITS = ("train", "val", "test")


def resample(rec: Recording, odr_hz: float) -> Recording:
    """Resample to ``odr_hz`` with an anti-aliased polyphase filter (scipy ``resample_poly``)."""
    if abs(rec.odr_hz - odr_hz) < 1e-9:
        return rec
    ratio = Fraction(float(odr_hz) / rec.odr_hz).limit_denominator(1000)
    up, down = ratio.numerator, ratio.denominator
    # Pad with edge values so the filter does not pull the ends toward zero (gravity is not zero).
    pad = 10 * max(up, down)
    x = np.pad(rec.samples.astype(np.float64), ((pad, pad), (0, 0)), mode="edge")
    y = signal.resample_poly(x, up, down, axis=0)
    start = int(round(pad * up / down))
    n_out = int(np.floor(len(rec) * up / down))
    y = y[start : start + n_out]
    return replace(rec, samples=y.astype(np.float32), odr_hz=float(odr_hz), meta=dict(rec.meta))


@dataclass
class WindowSet:
    """Labelled windows: ``x`` N x T x 3 float32 mg, ``y`` N class ids into ``class_names``.

    ``split`` says train/val/test per window and ``group`` the recording (or subject) each
    window came from, so splits are by recording, never by window.
    """

    x: np.ndarray
    y: np.ndarray
    class_names: list[str]
    split: np.ndarray
    group: np.ndarray
    sensor: SensorSpec | None = None
    odr_hz: float | None = None
    preprocessing: dict = field(default_factory=dict)
    """How the windows were cut: ``window``, ``stride``, ``suppress_gravity`` and, with the filter,
    ``gravity_precision`` (what the board must repeat; absent: float64, what older hargan ran)."""

    def __post_init__(self) -> None:
        # Every window array enters here (files through ``load``, Python callers directly): checked once.
        self.x = check_array(self.x, "windows x", dtype=np.float32)
        self.y = check_array(self.y, "labels y")
        if self.y.dtype.kind == "f" and np.any(self.y != np.round(self.y)):
            raise ValueError("WindowSet y must hold whole class ids")
        self.y = self.y.astype(np.int64)
        self.class_names = check_class_names(self.class_names)
        self.split = np.asarray(self.split, dtype=str)
        self.group = np.asarray(self.group, dtype=str)
        n = len(self.x)
        if self.x.ndim != 3 or self.x.shape[2] != 3:
            raise ValueError(f"WindowSet x must be N x T x 3, got {self.x.shape}")
        if not (len(self.y) == len(self.split) == len(self.group) == n):
            raise ValueError("WindowSet x, y, split and group must have the same length")
        if n and (self.y.min() < 0 or self.y.max() >= len(self.class_names)):
            raise ValueError("WindowSet y holds ids outside class_names")

    def __len__(self) -> int:
        return int(len(self.x))

    @property
    def window_length(self) -> int:
        return int(self.x.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def subset(self, split: str | Sequence[str] | np.ndarray) -> WindowSet:
        """The windows of one split name, several names, or a boolean/index mask."""
        if isinstance(split, str):
            mask = self.split == split
        elif isinstance(split, np.ndarray) and split.dtype != object and split.dtype.kind in "bi":
            mask = split
        else:
            mask = np.isin(self.split, list(split))
        return WindowSet(self.x[mask], self.y[mask], list(self.class_names), self.split[mask],
                         self.group[mask], self.sensor, self.odr_hz, dict(self.preprocessing))

    def counts(self) -> dict[str, int]:
        return {c: int(np.sum(self.y == i)) for i, c in enumerate(self.class_names)}

    def save(self, path: str | os.PathLike) -> Path:
        """Save as ``.npz`` (atomically)."""
        meta = {"sensor": None if self.sensor is None else self.sensor.to_dict(), "odr_hz": self.odr_hz,
                "preprocessing": self.preprocessing}
        return save_npz(path, x=self.x, y=self.y, class_names=np.asarray(self.class_names, dtype=str),
                        split=self.split, group=self.group, meta=np.asarray(json.dumps(meta)))

    @classmethod
    def load(cls, path: str | os.PathLike) -> WindowSet:
        """Load a ``.npz`` written by :meth:`save`; a clear error for anything else."""
        z = load_npz(path, {"x", "y", "class_names"}, "windows")
        x, y, names = z["x"], z["y"], [str(c) for c in z["class_names"]]
        n = len(x)
        split = z["split"] if "split" in z else np.full(n, "train")
        group = z["group"] if "group" in z else np.arange(n).astype(str)
        meta = load_json_dict(z, "meta", path, "windows")
        check_path_names(names, path=path)
        try:
            sensor = SensorSpec.from_dict(meta["sensor"]) if meta.get("sensor") else None
        except ValueError as exc:
            raise InputError(str(exc), path) from None
        _check_rates(sensor, meta.get("odr_hz"), path)
        try:
            return cls(x, y, names, split, group, sensor, meta.get("odr_hz"), dict(meta.get("preprocessing") or {}))
        except ValueError as exc:
            raise InputError(str(exc), path) from None


def _check_rates(sensor: SensorSpec | None, odr_hz, path) -> None:
    """A windows file's meta must agree with itself: its windows' rate is its sensor's ODR."""
    if sensor is not None and odr_hz is not None and abs(float(odr_hz) - float(sensor.odr_hz)) > 1e-6:
        raise InputError(f"meta disagrees with itself: odr_hz is {float(odr_hz):g} Hz but the sensor "
                         f"{sensor.name} runs at {float(sensor.odr_hz):g} Hz; make the file again", path)


def board_samples(rec: Recording, odr_hz: float, sensor: SensorSpec | None = None,
                  suppress_gravity: bool = False, gravity_precision: str = DEFAULT_PRECISION) -> np.ndarray:
    """One whole recording as the board sees it: resampled to ``odr_hz``, quantized to ``sensor``
    (saturated at its full scale, one LSB steps) and, with ``suppress_gravity``, through the
    streaming gravity rotation + suppression filter in ``gravity_precision``, as the firmware runs it
    (26 Hz only)."""
    samples = resample(rec, odr_hz).samples
    if sensor is not None:
        samples = sensor.quantize_mg(samples)
    if suppress_gravity:
        if not rec.meta.get("gravity", True):
            raise InputError(f"recording {rec.source} carries no gravity: gravity suppression needs data "
                             "with gravity")
        samples = GravityRotationFilter(odr_hz, suppress=True, precision=gravity_precision).process(samples)
    return samples


def segment(samples: np.ndarray, length: int, stride: int) -> np.ndarray:
    """Cut one N x 3 array into windows (K x length x 3); the tail that does not fill a window is dropped."""
    n = len(samples)
    if n < length:
        return np.zeros((0, length, samples.shape[1]), dtype=np.float32)
    starts = np.arange(0, n - length + 1, stride)
    view = np.lib.stride_tricks.sliding_window_view(samples, length, axis=0)  # K x 3 x length
    return np.ascontiguousarray(view[starts].transpose(0, 2, 1), dtype=np.float32)


def split_groups(groups: np.ndarray, labels: np.ndarray, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
                 seed: int = 0) -> dict[str, str]:
    """Assign each group to train/val/test, stratified by the group's most common class.

    Every class with at least three groups gets at least one in val and one in test.
    """
    rng = np.random.default_rng(seed)
    uniq = sorted(set(groups.tolist()))
    majority = {}
    for g in uniq:
        vals, cnt = np.unique(labels[groups == g], return_counts=True)
        majority[g] = int(vals[np.argmax(cnt)])
    out: dict[str, str] = {}
    for cls in sorted(set(majority.values())):
        members = [g for g in uniq if majority[g] == cls]
        rng.shuffle(members)
        n = len(members)
        n_test = max(1, int(round(fractions[2] * n))) if n >= 3 and fractions[2] > 0 else 0
        n_val = max(1, int(round(fractions[1] * n))) if n - n_test >= 2 and fractions[1] > 0 else 0
        for i, g in enumerate(members):
            out[g] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return out


def make_windows(
    recordings: Sequence[Recording],
    length: int = 48,
    stride: int = 24,
    odr_hz: float | None = None,
    sensor: SensorSpec | None = None,
    class_names: Sequence[str] | None = None,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    suppress_gravity: bool = False,
    gravity_precision: str = DEFAULT_PRECISION,
) -> WindowSet:
    """Resample to the sensor's ODR (or ``odr_hz``), optionally quantize to the sensor, segment and split.

    ``suppress_gravity``: after quantizing (what the sensor reports), run the streaming gravity
    rotation + suppression filter over each whole Recording, as the firmware does (26 Hz only), in
    ``gravity_precision`` (:mod:`har_data.gravity`).
    A window never crosses two Recordings. ``class_names`` fixes the classes and their order
    (labels not in it are dropped); by default the sorted labels found.
    """
    if not recordings:
        raise InputError("no recordings to cut into windows")
    if length < 2 or stride < 1:
        raise InputError(f"window length must be >= 2 and stride >= 1 (got {length}, {stride})")
    target = sensor.odr_hz if sensor is not None else odr_hz
    if target is None:
        rates = {r.odr_hz for r in recordings}
        if len(rates) != 1:
            raise InputError(f"recordings have several rates ({sorted(rates)}); give odr_hz or a sensor")
        target = rates.pop()
    names = check_class_names(class_names) if class_names is not None else sorted({r.label for r in recordings})
    check_path_names(names)  # they name the synthetic CSV folders: checked where they enter
    index = {c: i for i, c in enumerate(names)}
    xs, ys, gs = [], [], []
    for rec in recordings:
        if rec.label not in index:
            continue
        w = segment(board_samples(rec, target, sensor, suppress_gravity, gravity_precision), length, stride)
        if len(w):
            xs.append(w)
            ys.append(np.full(len(w), index[rec.label]))
            gs.append(np.full(len(w), rec.group))
    if not xs:
        longest = max(len(resample(r, target)) for r in recordings)
        raise InputError(f"window of {length} samples is longer than every recording "
                         f"(longest: {longest} samples at {target:g} Hz)")
    x, y, g = np.concatenate(xs), np.concatenate(ys), np.concatenate(gs)
    empty = [c for i, c in enumerate(names) if not np.any(y == i)]
    if empty:
        raise InputError(f"no windows for class(es) {', '.join(empty)}; classes found: "
                         f"{', '.join(sorted({r.label for r in recordings}))}")
    assign = split_groups(g, y, fractions, seed)
    split = np.array([assign[v] for v in g])
    prep: dict[str, Any] = {"window": int(length), "stride": int(stride), "suppress_gravity": bool(suppress_gravity)}
    if suppress_gravity:
        prep["gravity_precision"] = gravity_precision  # board_samples' filter checked it
    return WindowSet(x, y, names, split, g, sensor, float(target), prep)
