"""Shared pieces of the loaders: the list they return, path checks, NaN-gap handling."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
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


# hargan's own header line, written before the column header of every log hargan writes:
#   # hargan: sensor=<NAME> full_scale_g=<G> odr_hz=<HZ> [more key=value]
HARGAN_HEADER_PREFIX = "# hargan:"
_HEADER_KEY_ORDER = ("sensor", "full_scale_g", "odr_hz")


def format_hargan_header(fields: dict) -> str:
    """The ``# hargan: key=value ...`` line (no line end); sensor, full_scale_g, odr_hz come first."""
    keys = [k for k in _HEADER_KEY_ORDER if k in fields] + [k for k in fields if k not in _HEADER_KEY_ORDER]
    parts = []
    for k in keys:
        v = fields[k]
        if v is None:
            continue
        text = f"{v:g}" if isinstance(v, float) else str(v)
        if not text or any(c.isspace() or c == "=" for c in str(k) + text):
            raise InputError(f"hargan header value {k}={text!r}: keys and values must be non-empty, "
                             "without spaces or '='")
        parts.append(f"{k}={text}")
    return " ".join([HARGAN_HEADER_PREFIX] + parts)


def parse_hargan_header(line: str, path: str | os.PathLike | None = None, line_no: int | None = None) -> dict | None:
    """``{key: value}`` from a ``# hargan: ...`` line (None for any other line).

    ``odr_hz`` and ``full_scale_g`` become numbers (an invalid one is an error naming the line);
    other values stay strings.
    """
    text = line.strip()
    if not text.lower().startswith(HARGAN_HEADER_PREFIX):
        return None
    out: dict = {}
    for tok in text[len(HARGAN_HEADER_PREFIX):].split():
        key, eq, value = tok.partition("=")
        if not eq or not key or not value:
            raise InputError(f"bad hargan header item {tok!r}: expected key=value", path, line_no)
        out[key] = value
    for key in ("odr_hz", "full_scale_g"):
        if key in out:
            try:
                num = float(out[key])
            except ValueError:
                num = float("nan")
            if not (np.isfinite(num) and num > 0):
                raise InputError(f"bad hargan header value {key}={out[key]!r}: expected a positive number",
                                 path, line_no)
            out[key] = num
    return out


# Per-sample labels: a ``label`` column (no unit) in the logs hargan writes with activity changes.
LABEL_COLUMN = "label"
_LABEL_FORBIDDEN = set(",\t\r\n\"")


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


def split_at_time_jumps(parts: list, notes: list[str]) -> list:
    """Cut each Recording where its log's time column jumps (``meta['time_jumps']``: the file lines that
    follow a jump), so that no window spans a gap in time; one note per log that was cut."""
    out, lines = [], sorted({ln for rec in parts for ln in rec.meta.get("time_jumps", [])})
    for rec in parts:
        first = rec.meta.get("first_line", 0)
        bounds = [0, *[ln - first for ln in lines if 0 < ln - first < len(rec)], len(rec)]
        out += [replace(rec, samples=rec.samples[a:b], meta={**rec.meta, "first_line": first + a})
                for a, b in zip(bounds[:-1], bounds[1:])]
    if lines:
        for k, rec in enumerate(out):
            rec.meta["segment"] = k
        notes.append(f"{parts[0].source}: split at {len(lines)} jump(s) in the time column (line(s) "
                     f"{', '.join(map(str, lines[:5]))})")
    return out


def split_by_labels(rec, labels: np.ndarray) -> list:
    """One Recording per run of one label (``meta['segment']`` numbers them; ``first_line`` follows)."""
    return [replace(rec, samples=rec.samples[s:e], label=lab,
                    meta={**rec.meta, "segment": k, "first_line": rec.meta.get("first_line", 0) + s})
            for k, (s, e, lab) in enumerate(labelled_segments(labels))]
