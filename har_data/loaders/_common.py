"""Shared pieces of the loaders: the list they return, path checks, NaN-gap handling."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from har_data.errors import InputError

log = logging.getLogger("har_data")


class Recordings(list):
    """A ``list[Recording]`` that also says what the loader skipped.

    ``skipped_lines`` counts input lines the loader dropped as malformed (WISDM);
    ``notes`` holds one-line messages a command line can print (e.g. "skipped 17 malformed lines").
    """

    def __init__(self, items=(), skipped_lines: int = 0, notes: list[str] | None = None):
        super().__init__(items)
        self.skipped_lines = int(skipped_lines)
        self.notes = list(notes or [])


def existing_path(path: str | os.PathLike | None, what: str) -> Path:
    """``path`` as a Path; a clear error when it is missing."""
    if path is None:
        raise InputError(f"{what}: a path is required")
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError("no such file or folder", p)
    return p


def nan_runs(missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the True runs in a boolean vector."""
    m = np.concatenate([[False], np.asarray(missing, dtype=bool), [False]])
    d = np.diff(m.astype(np.int8))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def fill_short_gaps(samples: np.ndarray, max_gap: int) -> list[tuple[int, int, np.ndarray]]:
    """Interpolate NaN runs of at most ``max_gap`` rows linearly; split at longer runs.

    ``samples``: N x C float array; a row is missing when any of its values is NaN.
    Returns pieces ``(start, end, filled_samples)`` (end exclusive) free of NaN; leading and
    trailing NaN rows are dropped (nothing to interpolate from).
    """
    missing = np.isnan(samples).any(axis=1)
    if not missing.any():
        return [(0, len(samples), samples)]
    starts, ends = nan_runs(missing)
    pieces: list[tuple[int, int]] = []
    cur = 0
    for s, e in zip(starts, ends):
        if s == 0 or e == len(samples) or (e - s) > max_gap:
            if s > cur:
                pieces.append((cur, s))
            cur = e
    if cur < len(samples):
        pieces.append((cur, len(samples)))
    out = []
    for s, e in pieces:
        seg = samples[s:e]
        miss = missing[s:e]
        if miss.any():
            seg = seg.copy()
            idx = np.arange(e - s)
            good = ~miss
            for c in range(seg.shape[1]):
                seg[miss, c] = np.interp(idx[miss], idx[good], seg[good, c])
        out.append((s, e, seg))
    return out


def max_nan_run(missing: np.ndarray) -> tuple[int, int]:
    """Length and start of the longest True run (0, -1 when none)."""
    starts, ends = nan_runs(missing)
    if len(starts) == 0:
        return 0, -1
    k = int(np.argmax(ends - starts))
    return int(ends[k] - starts[k]), int(starts[k])
