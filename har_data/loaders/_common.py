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


# ---------------------------------------------------------------- hargan's own header and per-sample labels

HARGAN_TAG = "hargan:"
LABEL_COLUMN = "label"
_LABEL_FORBIDDEN = set(",\t\r\n\"")


def hargan_header(sensor, **extra) -> str:
    """The comment hargan writes into every log it makes (without the ``#``).

    ``hargan: sensor=LSM6DSL full_scale_g=4 odr_hz=26 class=walking``: space-separated
    ``key=value`` pairs; the loaders read ``odr_hz`` (and the sensor and full scale) back from it.
    Whitespace inside an extra value becomes ``_`` so the line stays one token per key.
    """
    fields = {"sensor": sensor.name, "full_scale_g": f"{sensor.full_scale_g:g}", "odr_hz": f"{sensor.odr_hz:g}"}
    fields.update({k: "_".join(str(v).split()) for k, v in extra.items()})
    return HARGAN_TAG + " " + " ".join(f"{k}={v}" for k, v in fields.items())


def read_hargan_header(lines: list[str], path: Path) -> dict:
    """``{"odr_hz": float, "full_scale_g": float, "sensor": str, ...}`` from the first ``# hargan:`` line, else ``{}``.

    ``lines`` are the file's lines before the column header; a malformed value is an error naming the line.
    """
    for n, line in enumerate(lines, start=1):
        body = line.strip().lstrip("#").strip()
        if not line.lstrip().startswith("#") or not body.startswith(HARGAN_TAG):
            continue
        out: dict = {}
        for token in body[len(HARGAN_TAG):].split():
            key, sep, value = token.partition("=")
            if not sep:
                raise InputError(f"hargan header: expected key=value, found {token!r}", path, n)
            out[key] = value
        for key in ("odr_hz", "full_scale_g"):
            if key in out:
                try:
                    value = float(out[key])
                except ValueError:
                    value = float("nan")
                if not value > 0 or not np.isfinite(value):
                    raise InputError(f"hargan header: {key}={out[key]} is not a positive number", path, n)
                out[key] = value
        return out
    return {}


def check_labels(labels, n: int) -> list[str]:
    """Per-sample class names for a label column: ``n`` of them, none empty, none that would break a row."""
    labels = [str(v) for v in labels]
    if len(labels) != n:
        raise InputError(f"{len(labels)} labels for {n} samples")
    for v in set(labels):
        if not v.strip() or _LABEL_FORBIDDEN & set(v):
            raise InputError(f"class name {v!r} cannot be written in a label column (empty, or holds a comma, "
                             "tab, quote or line break)")
    return labels


def labelled_segments(labels: np.ndarray) -> list[tuple[int, int, str]]:
    """Runs of one label: ``[(start, end, label), ...]`` (end exclusive), in order."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        return []
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(labels)]])
    return [(int(s), int(e), str(labels[s])) for s, e in zip(starts, ends)]
