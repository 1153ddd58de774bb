"""PAMAP2 Physical Activity Monitoring ``.dat`` files (Protocol/ and Optional/), 100 Hz.

Each line: 54 space-separated columns: timestamp (s), activityID, heart rate (bpm), then the
hand, chest and ankle IMUs, 17 columns each: temperature (°C), acceleration ±16 g x/y/z (m/s^2),
acceleration ±6 g x/y/z (m/s^2), gyroscope x/y/z, magnetometer x/y/z, orientation x4.
``NaN`` marks dropped samples (and heart rate between its readings).

What the loader does:
- keeps the activities of ``class_map`` (default: ``DEFAULT_CLASS_MAP``); drops activity 0
  ("transient") and valid ids that are not in the map; an id that is not a PAMAP2 activity is
  an error naming the file and line;
- cuts contiguous runs of one activity into separate Recordings (a timestamp that jumps by
  more than 1.5 sample periods, or does not increase, also cuts);
- fills NaN gaps of the chosen accelerometer of at most ``max_gap_s`` (default 0.1 s = 10
  samples) by linear interpolation and splits at longer gaps (or raises, ``on_long_gap="error"``);
  pieces shorter than ``min_duration_s`` (default 2 s) are dropped;
- converts m/s^2 to mg; subject id from the file name (``subject101.dat`` -> ``"101"``).

Speed: pandas' C parser with ``sep=" "`` on the 6 columns in use; a 2.8 M-row file loads in
a few seconds (see benchmarks/bench_pamap2_loader.py).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from har_data.errors import InputError
from har_data.loaders._common import Recordings, existing_path, fill_short_gaps, max_nan_run, nan_runs
from har_data.recording import MS2_TO_MG, Recording

ODR_HZ = 100.0
N_COLUMNS = 54
ACTIVITIES = {
    0: "other (transient)", 1: "lying", 2: "sitting", 3: "standing", 4: "walking", 5: "running", 6: "cycling",
    7: "Nordic walking", 9: "watching TV", 10: "computer work", 11: "car driving", 12: "ascending stairs",
    13: "descending stairs", 16: "vacuum cleaning", 17: "ironing", 18: "folding laundry", 19: "house cleaning",
    20: "playing soccer", 24: "rope jumping",
}
DEFAULT_CLASS_MAP = {1: "stationary", 2: "stationary", 3: "stationary", 9: "stationary",
                     4: "walking", 7: "walking", 12: "walking", 13: "walking",
                     5: "running", 24: "running",
                     6: "cycling"}
IMU_OFFSET = {"hand": 3, "chest": 20, "ankle": 37}
ACCEL_OFFSET = {"16g": 1, "6g": 4}  # within an IMU block: temperature, acc16 x/y/z, acc6 x/y/z, ...
ACCEL_FULL_SCALE = {"16g": 16, "6g": 6}
DEFAULT_MAX_GAP_S = 0.1
DEFAULT_MIN_DURATION_S = 2.0

_SUBJECT = re.compile(r"subject(\d+)", re.I)
_PARSER_LINE = re.compile(r"line (\d+)")


def _files(p: Path) -> list[Path]:
    if p.is_file():
        return [p]
    files = []
    for sub in ("Protocol", "Optional"):
        if (p / sub).is_dir():
            files += sorted((p / sub).glob("*.dat"))
    if not files:
        files = sorted(p.glob("*.dat"))
    if not files:
        raise InputError("no PAMAP2 .dat files found (looked in Protocol/, Optional/ and the folder itself)", p)
    return files


def _norm_option(value: str, valid: dict, what: str) -> str:
    key = str(value).lower().replace("±", "").replace("+-", "").replace(" ", "")
    if key not in valid:
        raise InputError(f"unknown PAMAP2 {what} {value!r}; valid: {', '.join(valid)}")
    return key


def _check_class_map(class_map: dict | None) -> dict[int, str]:
    if class_map is None:
        return dict(DEFAULT_CLASS_MAP)
    out = {}
    for k, v in class_map.items():
        try:
            ik = int(k)
        except (TypeError, ValueError):
            ik = -1
        if ik not in ACTIVITIES or ik == 0:
            raise InputError(f"class map: {k!r} is not a PAMAP2 activity id; valid ids: "
                             f"{', '.join(str(a) for a in ACTIVITIES if a)}")
        out[ik] = str(v)
    if not out:
        raise InputError("class map is empty")
    return out


def load_pamap2(path: str | os.PathLike, imu: str = "hand", accel: str = "16g", class_map: dict | None = None,
                max_gap_s: float = DEFAULT_MAX_GAP_S, min_duration_s: float = DEFAULT_MIN_DURATION_S,
                on_long_gap: str = "split") -> Recordings:
    """Load PAMAP2 ``.dat`` files (a file, or the dataset folder with Protocol/ and Optional/) -> Recordings in mg.

    ``imu``: hand (default), chest or ankle; ``accel``: "16g" (default) or "6g";
    ``class_map``: activity id -> class name (default ``DEFAULT_CLASS_MAP``).
    """
    p = existing_path(path, "PAMAP2")
    imu = _norm_option(imu, IMU_OFFSET, "IMU")
    accel = _norm_option(accel, ACCEL_OFFSET, "accelerometer")
    if on_long_gap not in ("split", "error"):
        raise InputError(f"on_long_gap must be 'split' or 'error', got {on_long_gap!r}")
    cmap = _check_class_map(class_map)
    recs = Recordings()
    stats = {"interpolated": 0, "split": 0, "dropped_short": 0}
    for f in _files(p):
        recs.extend(_load_file(f, imu, accel, cmap, max_gap_s, min_duration_s, on_long_gap, stats))
    recs.notes.append(f"PAMAP2: {len(recs)} recordings; {stats['interpolated']} NaN gap(s) of <= {max_gap_s:g} s "
                      f"interpolated, {stats['split']} longer gap(s) split, {stats['dropped_short']} piece(s) "
                      f"shorter than {min_duration_s:g} s dropped")
    return recs


def _check_line(path: Path, raw: bytes, line_no: int, cols: list[int] | None = None) -> None:
    """Raise on a line with the wrong field count or a non-numeric field (in ``cols``, default all)."""
    fields = raw.split()
    if len(fields) != N_COLUMNS:
        what = "an empty line" if not fields else f"{len(fields)}"
        raise InputError(f"wrong column count: expected {N_COLUMNS} columns, found {what}", path, line_no)
    for k in (range(N_COLUMNS) if cols is None else cols):
        try:
            float(fields[k])
        except ValueError:
            raise InputError(f"non-numeric field {fields[k].decode('latin-1')!r} in column {k + 1}",
                             path, line_no) from None


def _count_byte(buf: bytes, value: int, end: int) -> int:
    """How many times one byte value occurs in ``buf[:end]`` (numpy, in cache-sized chunks: ~7x bytes.count)."""
    a = np.frombuffer(buf, dtype=np.uint8, count=end)
    step = 1 << 22
    return int(sum(np.count_nonzero(a[i:i + step] == value) for i in range(0, end, step)))


def _scan_all(path: Path, buf: bytes, cols: list[int] | None = None) -> None:
    """Slow path, only after a problem was seen: check every line, raise on the first bad one."""
    for i, raw in enumerate(buf.split(b"\n"), 1):
        if raw.count(b" ") != N_COLUMNS - 1 or cols is not None:
            _check_line(path, raw, i, cols)


def _read(path: Path, cols: list[int]) -> np.ndarray:
    """The listed columns as float64, one row per line; errors name the file and line.

    Fast path (the real files: one space between fields): pandas' C parser on the used
    columns (the last column as text), then an exact field-count check: no line is short (a
    short line leaves the last column empty) and the file holds exactly 53 spaces per line.
    """
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    end = len(buf)
    while end and buf[end - 1] in b" \t\r\n":
        end -= 1
    if end == 0:
        raise InputError("empty file", path)
    n_lines = _count_byte(buf, 10, end) + 1  # data lines; trailing blank lines do not count
    nl = buf.find(b"\n")
    first = buf[: nl if nl >= 0 else end].rstrip(b"\r")
    if len(first.split()) != N_COLUMNS:
        raise InputError(f"wrong column count: expected {N_COLUMNS} whitespace-separated columns "
                         f"(PAMAP2 .dat), found {len(first.split())}", path, 1)
    single_space = first.count(b" ") == N_COLUMNS - 1 and b"\t" not in first
    # The last column is read as text: a short line leaves it empty (""), a dropped sample says "NaN".
    last = N_COLUMNS - 1
    kw = dict(header=None, usecols=cols, engine="c", skip_blank_lines=False, nrows=n_lines,
              dtype={c: (str if c == last else np.float64) for c in cols},
              keep_default_na=False, na_values={c: ["NaN", "nan"] for c in cols if c != last})
    try:
        df = pd.read_csv(io.BytesIO(buf), sep=" " if single_space else r"\s+", **kw)
    except pd.errors.ParserError as exc:
        m = _PARSER_LINE.search(str(exc))
        if m:
            raw = buf.split(b"\n")[int(m.group(1)) - 1]
            _check_line(path, raw, int(m.group(1)))
        _scan_all(path, buf[:end])
        raise InputError(f"cannot parse: {exc}", path) from None
    except ValueError:  # a non-numeric field, or an empty line (empty fields)
        _scan_all(path, buf[:end], cols)
        raise InputError("non-numeric field", path) from None
    if len(df) != n_lines:
        _scan_all(path, buf[:end])
        raise InputError(f"expected {n_lines} rows, read {len(df)}", path)
    short = np.flatnonzero(df[last].to_numpy(dtype=object) == "")
    if len(short):
        r = int(short[0])
        _check_line(path, buf.split(b"\n")[r], r + 1)
    values = df[cols[:-1] if cols[-1] == last else cols].to_numpy(dtype=np.float64)
    if single_space and _count_byte(buf, 32, end) != (N_COLUMNS - 1) * n_lines:
        _scan_all(path, buf[:end])  # a line with extra fields (pandas ignores them when reading some columns)
    elif not single_space:
        for i, raw in enumerate(buf[:end].split(b"\n"), 1):
            if len(raw.split()) != N_COLUMNS:
                _check_line(path, raw, i)
    return values


def _load_file(path: Path, imu: str, accel: str, cmap: dict[int, str], max_gap_s: float, min_duration_s: float,
               on_long_gap: str, stats: dict[str, int]) -> list[Recording]:
    a0 = IMU_OFFSET[imu] + ACCEL_OFFSET[accel]
    values = _read(path, [0, 1, a0, a0 + 1, a0 + 2, N_COLUMNS - 1])  # the last column: only checked
    t, act_f, acc = values[:, 0], values[:, 1], values[:, 2:5]
    # activity ids: must be PAMAP2 ids
    valid = np.zeros(max(ACTIVITIES) + 1, dtype=bool)
    valid[list(ACTIVITIES)] = True
    act = np.where(np.isfinite(act_f), act_f, -1).astype(np.int64)
    bad = (act_f != act) | (act < 0) | (act > max(ACTIVITIES))
    bad[~bad] = ~valid[act[~bad]]
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"unknown activity id {float(values[i, 1]):g}; PAMAP2 ids are "
                         f"{', '.join(str(a) for a in ACTIVITIES)}", path, i + 1)
    if np.isnan(t).any():
        i = int(np.argmax(np.isnan(t)))
        raise InputError("timestamp missing (NaN)", path, i + 1)
    dt = np.diff(t)
    subject_m = _SUBJECT.search(path.stem)
    subject = subject_m.group(1) if subject_m else path.stem
    keep_ids = np.array(sorted(cmap))
    keep = np.isin(act, keep_ids)
    # run boundaries: activity change, timestamp jump (> 1.5 sample periods) or step back
    cut = np.ones(len(act), dtype=bool)
    cut[1:] = (act[1:] != act[:-1]) | (dt > 1.5 / ODR_HZ) | (dt <= 0)
    starts = np.flatnonzero(cut)
    ends = np.append(starts[1:], len(act))
    max_gap = int(round(max_gap_s * ODR_HZ))
    min_len = int(np.ceil(min_duration_s * ODR_HZ))
    out: list[Recording] = []
    seg = 0
    for s, e in zip(starts, ends):
        if not keep[s]:
            continue
        block = acc[s:e]
        gap_starts, gap_ends = nan_runs(np.isnan(block).any(axis=1))
        inner = (gap_starts > 0) & (gap_ends < len(block))
        stats["interpolated"] += int(np.sum(inner & (gap_ends - gap_starts <= max_gap)))
        stats["split"] += int(np.sum(inner & (gap_ends - gap_starts > max_gap)))
        if on_long_gap == "error":
            run, at = max_nan_run(np.isnan(block).any(axis=1))
            if run > max_gap:
                raise InputError(f"NaN gap too long: {run} missing samples ({run / ODR_HZ:.2f} s) in the {imu} "
                                 f"accelerometer where at most {max_gap_s:g} s is interpolated", path, int(s) + at + 1)
        for ps, pe, filled in fill_short_gaps(block, max_gap):
            if pe - ps < min_len:
                stats["dropped_short"] += 1
                continue
            aid = int(act[s])
            out.append(Recording(
                (filled * MS2_TO_MG).astype(np.float32), ODR_HZ, cmap[aid], str(path), subject,
                {"original_unit": "m/s^2", "full_scale_g": ACCEL_FULL_SCALE[accel], "gravity": True,
                 "segment": seg, "activity_id": aid, "activity": ACTIVITIES[aid], "imu": imu,
                 "first_line": int(s + ps + 1), "start_time_s": float(t[s + ps])}))
            seg += 1
    return out
