"""Continuous synthetic logs: minute-long accelerometer streams, with activity changes, and no seams.

The generator makes fixed-length windows; firmware people want a long log to replay through the
board's own windowing and filters. A log here is stitched from windows the int8 model accepted
(a :class:`~gan.sampling.SyntheticSet`) by waveform-similarity overlap-add:

1. The log so far ends in a tail of ``overlap`` samples. Every candidate window of the wanted
   class is tried at every start offset ``0..max_shift``; the one whose first ``overlap`` samples
   are closest to the tail (least squares over the three axes: same orientation, same phase of the
   gait) is picked, at random among the ``top_k`` closest (windows used in the last units are
   left out, so the log does not loop).
2. Tail and candidate are cross-faded over those samples with a raised-cosine ramp (orientation
   with equal gain, the motion around it with gains that keep its power) and the rest of the
   candidate is appended. Edges of the generated windows only enter with small weight.
3. The whole log is mapped to the sensor's format (saturated, rounded to one LSB), like every
   synthetic sample hargan ships.

Activity changes follow a sequence such as ``"walking:30,stationary:20"`` (seconds per class):
the first window of the new class is matched to the tail of the old one in the same way, units
are cut to length so each change falls exactly where the sequence puts it, and the per-sample
labels change in the middle of that cross-fade. ``benchmarks/bench_logs.py`` measures that no
window can see a seam (int8 accuracy at every offset, spectrum across seams).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from har_data.atomic import atomic_dir
from har_data.errors import InputError
from har_data.sensors import SensorSpec

if TYPE_CHECKING:
    from gan.sampling import SyntheticSet

LOG_FORMATS = {"mems-studio": ".csv", "st-datalog": ".txt"}


@dataclass
class ContinuousLog:
    """One continuous log: ``x_mg`` (N x 3 float32, on the sensor's LSB grid), ``y`` class ids per sample.

    ``seams`` are the sample indices of the cross-fades' middles (where one window hands over to the next).
    """

    name: str
    x_mg: np.ndarray
    y: np.ndarray
    class_names: list[str]
    sensor: SensorSpec
    seams: np.ndarray
    description: dict

    @property
    def seconds(self) -> float:
        return len(self.y) / self.sensor.odr_hz

    def labels(self) -> list[str]:
        """One class name per sample (what the label column holds)."""
        names = np.asarray(self.class_names)
        return names[self.y].tolist()


def parse_sequence(text: str, class_names: Sequence[str]) -> list[tuple[str, float]]:
    """``"walking:30,stationary:20"`` -> ``[("walking", 30.0), ("stationary", 20.0)]``, checked against the classes."""
    names = [str(c) for c in class_names]
    out = []
    for part in str(text).split(","):
        name, sep, secs = part.strip().rpartition(":")
        if not sep or not name.strip():
            raise InputError(f"sequence item {part.strip()!r}: expected class:seconds, e.g. walking:30")
        if name.strip() not in names:
            raise InputError(f"sequence item {part.strip()!r}: unknown class {name.strip()!r}; "
                             f"classes: {', '.join(names)}")
        try:
            seconds = float(secs)
        except ValueError:
            seconds = float("nan")
        if not seconds > 0 or not np.isfinite(seconds):
            raise InputError(f"sequence item {part.strip()!r}: seconds must be a positive number")
        out.append((name.strip(), seconds))
    return out


def default_sequence(class_names: Sequence[str], seconds: float) -> list[tuple[str, float]]:
    """Every class once, in class order, sharing ``seconds`` equally (the default transition log)."""
    return [(str(c), float(seconds) / len(class_names)) for c in class_names]


def _ramp(n: int) -> np.ndarray:
    """Raised-cosine fade-in weights over ``n`` samples (0 < w < 1; with ``1 - w`` they sum to one)."""
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float64)


def _crossfade(tail: np.ndarray, head: np.ndarray, ramp: np.ndarray) -> np.ndarray:
    """Cross-fade ``tail`` into ``head`` (o x 3): the means (orientation) with equal gain, the motion
    around them with gains that keep its power whatever the two pieces' correlation r (equal gain
    at r = 1, equal power at r = 0), so a seam neither dims nor boosts the signal."""
    mt, mh = tail.mean(axis=0), head.mean(axis=0)
    dt, dh = tail - mt, head - mh
    norm = np.sqrt((dt ** 2).sum() * (dh ** 2).sum())
    r = float(np.clip((dt * dh).sum() / norm, 0.0, 1.0)) if norm > 0 else 1.0
    gain = np.sqrt(ramp ** 2 + (1 - ramp) ** 2 + 2 * ramp * (1 - ramp) * r)[:, None]
    p = ramp[:, None]
    return (1 - p) * mt + p * mh + ((1 - p) * dt + p * dh) / gain


class _Stitcher:
    """Grows one log unit by unit from per-class pools of windows (see the module docstring)."""

    def __init__(self, pools: dict[int, np.ndarray], overlap: int, max_shift: int, top_k: int,
                 rng: np.random.Generator):
        self.pools, self.overlap, self.max_shift, self.top_k, self.rng = pools, overlap, max_shift, top_k, rng
        self.recent: dict[int, list[int]] = {c: [] for c in pools}
        self.x: list[np.ndarray] = []
        self.y: list[int] = []
        self.seams: list[int] = []
        self.ramp = _ramp(overlap)

    def _pick(self, c: int) -> tuple[np.ndarray, int]:
        pool = self.pools[c]
        o, shift = self.overlap, min(self.max_shift, pool.shape[1] - self.overlap)
        tail = np.asarray(self.x[-o:])
        views = np.lib.stride_tricks.sliding_window_view(pool, o, axis=1)[:, : shift + 1]  # M x S x 3 x o
        cost = ((views - tail.T[None, None]) ** 2).sum(axis=(2, 3))  # M x S
        banned = sorted(set(self.recent[c][-(len(pool) // 2):])) if len(pool) > 1 else []
        cost[banned] = np.inf
        best_shift = cost.argmin(axis=1)
        best = cost[np.arange(len(pool)), best_shift]
        order = np.argsort(best, kind="stable")[: max(1, min(self.top_k, len(pool) - len(banned)))]
        i = int(order[self.rng.integers(len(order))])
        self.recent[c].append(i)
        return pool[i], int(best_shift[i])

    def start(self, c: int, n: int) -> None:
        i = int(self.rng.integers(len(self.pools[c])))
        self.recent[c].append(i)
        w = self.pools[c][i][:n]
        self.x = list(w.astype(np.float64))
        self.y = [c] * len(w)

    def add(self, c: int, n_new: int) -> None:
        """Cross-fade a matched window of class ``c`` onto the tail and append ``n_new`` new samples."""
        w, s = self._pick(c)
        o = self.overlap
        n_new = min(n_new, len(w) - s - o)
        faded = _crossfade(np.asarray(self.x[-o:]), w[s: s + o].astype(np.float64), self.ramp)
        start = len(self.x) - o
        self.x[start:] = list(faded)
        self.x.extend(w[s + o: s + o + n_new].astype(np.float64))
        half = start + o // 2
        self.y[half:] = [c] * (len(self.y) - half)
        self.y.extend([c] * n_new)
        self.seams.append(half)


def stitch(pools: dict[int, np.ndarray], plan: Sequence[tuple[int, int]], *, overlap: int | None = None,
           max_shift: int | None = None, top_k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stitch windows into one log following ``plan`` = ``[(class id, samples), ...]``.

    ``pools`` maps a class id to its windows (M x T x 3 mg). Returns ``(x float64 N x 3, y N,
    seams)`` with ``N = sum of the plan's samples`` and every label change exactly at a plan boundary.
    Defaults: ``overlap = max_shift = T // 4``.
    """
    t = int(next(iter(pools.values())).shape[1])
    o = max(2, t // 4) if overlap is None else int(overlap)
    shift = o if max_shift is None else int(max_shift)
    step = t - shift - o  # new samples a unit can always give
    if step < 2:
        raise InputError(f"windows of {t} samples are too short for an overlap of {o} and a shift of {shift}")
    for c, n in plan:
        if c not in pools or len(pools[c]) == 0:
            raise InputError(f"no windows of class id {c} to build a log from")
        if int(n) < t:
            raise InputError(f"a log segment of {n} samples is shorter than one window ({t} samples)")
    ends = np.cumsum([int(n) for _, n in plan])
    st = _Stitcher(pools, o, shift, int(top_k), np.random.default_rng(seed))
    st.start(plan[0][0], _target(ends, 0, o))
    for k, (c, _) in enumerate(plan):
        if k > 0:  # the first unit of a new class: its cross-fade's middle is the boundary
            st.add(c, _unit(ends, k, len(st.x), o, step))
        while len(st.x) < _target(ends, k, o):
            st.add(c, _unit(ends, k, len(st.x), o, step))
    x = np.asarray(st.x[: int(ends[-1])])
    return x, np.asarray(st.y[: int(ends[-1])], dtype=np.int64), np.asarray(st.seams, dtype=np.int64)


def _target(ends: np.ndarray, k: int, o: int) -> int:
    """Length the log must reach before segment ``k + 1`` starts: its cross-fade's middle falls on the boundary."""
    return int(ends[k]) + ((o + 1) // 2 if k + 1 < len(ends) else 0)


def _unit(ends: np.ndarray, k: int, length: int, o: int, step: int) -> int:
    """New samples for the next unit: a full step, shortened so that the segment ends exactly at its target."""
    left = _target(ends, k, o) - length
    if left <= step:
        return max(left, 1)
    if left < step + step // 2:
        return left - step // 2  # leave the last unit at least half a step
    return step


def continuous_logs(synthetic: SyntheticSet, seconds: float,
                    sequence: str | Sequence[tuple[str, float]] | None = None, *, seed: int = 0,
                    overlap: int | None = None, per_class: bool = True) -> list[ContinuousLog]:
    """One ``seconds``-long log per class (``per_class``) plus one following ``sequence`` (default: every
    class in turn, ``seconds`` in all), stitched from the accepted windows of ``synthetic`` (a SyntheticSet)."""
    names = list(synthetic.class_names)
    sensor = synthetic.sensor
    if not float(seconds) > 0:
        raise InputError(f"log seconds must be > 0, got {seconds}")
    if sequence is None or (isinstance(sequence, str) and not sequence.strip()):
        steps = default_sequence(names, float(seconds))
    elif isinstance(sequence, str):
        steps = parse_sequence(sequence, names)
    else:
        steps = [(str(c), float(s)) for c, s in sequence]
    pools = {c: synthetic.x_mg[synthetic.y == c] for c in range(len(names))}
    odr, t = sensor.odr_hz, int(synthetic.x_mg.shape[1])
    short = [f"{c}:{s:g}" for c, s in [("log_seconds", float(seconds)), *steps] if _samples(s, odr) < t]
    if short:
        raise InputError(f"log part(s) {', '.join(short)} shorter than one window ({t} samples = {t / odr:.2f} s "
                         f"at {odr:g} Hz)")
    jobs = []
    if per_class:
        jobs += [(f"class_{_file_stem(n)}", [(c, _samples(seconds, odr))], {"class": n})
                 for c, n in enumerate(names)]
    seq_text = ",".join(f"{c}:{s:g}" for c, s in steps)
    jobs.append(("sequence", [(names.index(c), _samples(s, odr)) for c, s in steps], {"sequence": seq_text}))
    logs = []
    for k, (name, plan, desc) in enumerate(jobs):
        used = {c for c, _ in plan}
        empty = [names[c] for c in used if len(pools[c]) == 0]
        if empty:
            raise InputError(f"no accepted synthetic windows of class(es) {', '.join(empty)} to build log {name}")
        log_seed = int(np.random.SeedSequence([int(seed), k]).generate_state(1)[0])
        x, y, seams = stitch(pools, plan, overlap=overlap, seed=log_seed)
        logs.append(ContinuousLog(name, sensor.quantize_mg(x), y, names, sensor, seams, desc))
    return logs


def _samples(seconds: float, odr: float) -> int:
    """Seconds -> samples, halves rounded up (5 s at 12.5 Hz -> 63)."""
    return int(math.floor(float(seconds) * odr + 0.5))


def _file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))


def write_continuous_logs(synthetic: SyntheticSet, directory: str | os.PathLike, seconds: float,
                          sequence: str | Sequence[tuple[str, float]] | None = None, *, seed: int = 0,
                          formats: Sequence[str] = tuple(LOG_FORMATS), overlap: int | None = None
                          ) -> tuple[list[ContinuousLog], list[Path]]:
    """Build :func:`continuous_logs` and write each in every format into ``directory`` (replaced as a whole).

    Files: ``class_<name>.csv`` / ``.txt`` and ``sequence.csv`` / ``.txt``, each with hargan's header
    comment (sensor, full scale, ODR) and a per-sample ``label`` column.
    """
    bad = [f for f in formats if f not in LOG_FORMATS]
    if bad:
        raise InputError(f"unknown log format(s) {', '.join(bad)}; valid: {', '.join(LOG_FORMATS)}")
    logs = continuous_logs(synthetic, seconds, sequence, seed=seed, overlap=overlap)
    directory = Path(directory)
    written = []
    with atomic_dir(directory) as tmp:
        for log in logs:
            for fmt in formats:
                name = log.name + LOG_FORMATS[fmt]
                _write_log(tmp / name, log, fmt)
                written.append(directory / name)
    return logs, written


def _write_log(path: Path, log: ContinuousLog, fmt: str) -> None:
    from har_data import write_mems_studio_csv, write_st_datalog

    extra = {k: "_".join(str(v).split()) for k, v in log.description.items()}
    header = {**log.sensor.header_fields(), "seconds": f"{log.seconds:g}", **extra}
    write = write_mems_studio_csv if fmt == "mems-studio" else write_st_datalog
    write(path, log.x_mg, header=header, labels=log.labels())
