"""MEMS Studio CSV logs (ST's capture tool, "Save to File"): read them and write them.

Format, as MEMS Studio writes it (and as ``write_mems_studio_csv`` writes it)::

    # PAMAP2 dataset (wrist-mounted sensor)      <- one or more '#' comment lines
                                                  <- a blank line
    acc_x[mg],acc_y[mg],acc_z[mg]                 <- header: name[unit]
    608.254,323.24625,308.72525                   <- one sample per line
    ...

Lines end with CRLF. The unit comes from the header: ``[mg]``, ``[g]`` or ``[m/s^2]``;
samples are converted to mg. An extra time column (``time[s]``, ``Time [ms]``, ...) is
tolerated and gives the output data rate; without one, ``odr_hz`` is used, else the ``odr_hz`` of
hargan's own comment line ``# hargan: sensor=.. full_scale_g=.. odr_hz=..``, else 26 Hz. A ``label``
column (no unit) gives every sample its class: such a log loads as one Recording per run of one
label (hargan's continuous logs with activity changes). Other columns (gyroscope, ...) are ignored.
A folder is read as a tree ``<id>_<activity>/*.csv`` whose folder names give the labels
(``0_stationary`` -> ``stationary``) unless a file has a label column.
"""

from __future__ import annotations

import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from har_data.atomic import atomic_path
from har_data.errors import InputError
from har_data.loaders._common import (LABEL_COLUMN, Recordings, check_labels, existing_path, fill_short_gaps,
                                      format_hargan_header, max_nan_run, parse_hargan_header, split_at_time_jumps,
                                      split_by_labels)
from har_data.recording import G_TO_MG, MS2_TO_MG, Recording

UNIT_TO_MG = {"mg": 1.0, "g": G_TO_MG, "m/s^2": MS2_TO_MG}
_UNIT_ALIASES = {"mg": "mg", "g": "g", "m/s^2": "m/s^2", "m/s2": "m/s^2", "m/s²": "m/s^2", "ms^-2": "m/s^2",
                 "m*s^-2": "m/s^2", "m s^-2": "m/s^2"}
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
# ODRs a derived rate snaps to when within 2 % (sensor datasheet rates and common dataset rates).
STANDARD_ODRS = (1.6, 3.125, 6.25, 10.0, 12.5, 20.0, 25.0, 26.0, 50.0, 52.0, 100.0, 104.0, 200.0, 208.0,
                 400.0, 416.0, 800.0, 833.0, 1600.0, 1666.0, 3332.0, 6664.0)
DEFAULT_COMMENT = "hargan accelerometer log"
DEFAULT_MAX_GAP_S = 0.2
DEFAULT_ODR_HZ = 26.0

_FOLDER = re.compile(r"^(\d+)_(.+)$")


@dataclass(frozen=True)
class TableFormat:
    """How one text format lays out its samples (MEMS Studio CSV, ST datalog .txt)."""

    sep: str
    sep_name: str
    header_example: str


CSV_FORMAT = TableFormat(",", "comma-separated", "acc_x[mg],acc_y[mg],acc_z[mg]")
_COLUMN = re.compile(r"^\s*(?P<name>[^\[\]]*?)\s*(?:\[(?P<unit>[^\]]*)\])?\s*$")
_ACC = re.compile(r"^(?:acc(?:el(?:eration|erometer)?)?|a)[\s_\-]*(?P<axis>[xyz])$", re.I)
_TIME = re.compile(r"^(?:time(?:stamp)?|t)$", re.I)


def _natural_key(p: Path) -> tuple:
    parts = re.split(r"(\d+)", str(p))
    return tuple(int(s) if s.isdigit() else s for s in parts)


def _label_from_folder(path: Path) -> str | None:
    m = _FOLDER.match(path.parent.name)
    return m.group(2) if m else None


def load_mems_studio(path: str | os.PathLike, label: str | None = None, odr_hz: float | None = None,
                     max_gap_s: float = DEFAULT_MAX_GAP_S) -> Recordings:
    """Load one MEMS Studio CSV log or a folder tree ``<id>_<activity>/*.csv`` -> Recordings in mg.

    ``label`` overrides the activity taken from a label column or the folder name; ``odr_hz`` is
    used when a file has no time column (else hargan's ``# hargan: ... odr_hz=..`` comment line,
    else 26 Hz). A file with a label column gives one Recording per labelled segment. Empty / NaN
    values are interpolated over at most ``max_gap_s``; a longer gap is an error naming the file and line.
    """
    p = existing_path(path, "MEMS Studio logs")
    if p.is_dir():
        files = sorted((f for f in p.rglob("*.csv") if not f.name.startswith(".")), key=_natural_key)
        if not files:
            raise InputError("no .csv files found (expected <id>_<activity>/*.csv)", p)
    else:
        files = [p]
    recs = Recordings()
    for f in files:
        rec, labels = read_labelled_table(f, CSV_FORMAT, odr_hz=odr_hz, max_gap_s=max_gap_s)
        if label is None and labels is not None:
            parts = split_by_labels(rec, labels)
        else:
            found = label if label is not None else _label_from_folder(f)
            if found is None:
                raise InputError("cannot tell the activity: put the log in a folder named <id>_<activity> "
                                 "(e.g. 0_stationary), add a label column or pass a label", f)
            rec.label = found
            parts = [rec]
        m = _FOLDER.match(f.parent.name)
        for part in split_at_time_jumps(parts, recs.notes):
            if m:
                part.meta["log_id"] = m.group(1)
            recs.append(part)
    return recs


def _parse_header(path: Path, line_no: int, header: str, fmt: TableFormat = CSV_FORMAT):
    """-> (n_columns, acc x/y/z columns, factors to mg, units, time column or None, time factor, label column)."""
    fields = header.split(fmt.sep)
    parsed = []
    for f in fields:
        m = _COLUMN.match(f)
        if not m:
            raise InputError(f"cannot read header column {f.strip()!r}; expected name[unit], e.g. acc_x[mg]",
                             path, line_no)
        parsed.append((m.group("name"), m.group("unit")))
    try:
        float(fields[0])
        numeric = True
    except ValueError:
        numeric = False
    if numeric:
        raise InputError(f"header line missing: expected e.g. {fmt.header_example} before the samples",
                         path, line_no)
    time_col = next((i for i, (n, _) in enumerate(parsed) if _TIME.match(n)), None)
    label_col = next((i for i, (n, u) in enumerate(parsed) if n.lower() == LABEL_COLUMN and not u), None)
    axes: dict[str, int] = {}
    for i, (n, _) in enumerate(parsed):
        m = _ACC.match(n)
        if m and m.group("axis").lower() not in axes:
            axes[m.group("axis").lower()] = i
    if len(axes) == 3:
        acc_cols = [axes["x"], axes["y"], axes["z"]]
    else:
        rest = [i for i in range(len(parsed)) if i not in (time_col, label_col)]
        if len(rest) != 3:
            raise InputError(f"cannot find the acceleration columns in header {header.strip()!r}; "
                             f"expected e.g. {fmt.header_example} (plus optional time and label columns)",
                             path, line_no)
        acc_cols = rest
    factors, units = [], []
    for i in acc_cols:
        name, unit = parsed[i]
        if unit is None or not unit.strip():
            raise InputError(f"unit missing from header column {name!r}; write it as {name}[mg], {name}[g] "
                             f"or {name}[m/s^2]", path, line_no)
        key = _UNIT_ALIASES.get(unit.strip().lower().replace(" ", ""))
        if key is None:
            raise InputError(f"unknown unit [{unit}] in header column {name!r}; valid units: "
                             f"{', '.join('[' + u + ']' for u in UNIT_TO_MG)}", path, line_no)
        factors.append(UNIT_TO_MG[key])
        units.append(key)
    time_factor = 1.0
    if time_col is not None:
        tunit = (parsed[time_col][1] or "s").strip().lower()
        if tunit not in TIME_UNITS:
            raise InputError(f"unknown time unit [{parsed[time_col][1]}]; valid: "
                             f"{', '.join('[' + u + ']' for u in TIME_UNITS)}", path, line_no)
        time_factor = TIME_UNITS[tunit]
    return len(fields), acc_cols, np.array(factors), units, time_col, time_factor, label_col


def _scan(path: Path, lines: list[str], first_line_no: int, ncols: int, used: list[int], names: list[str],
          fmt: TableFormat = CSV_FORMAT) -> None:
    """Find the first bad data line (wrong field count, non-numeric or infinite field) and raise on it."""
    for k, line in enumerate(lines):
        line_no = first_line_no + k
        fields = line.split(fmt.sep) if line.strip() else []
        if len(fields) != ncols:
            what = "blank line" if not fields else f"{len(fields)} fields"
            raise InputError(f"wrong column count: expected {ncols} {fmt.sep_name} fields, found {what}",
                             path, line_no)
        for i in used:
            v = fields[i].strip()
            if v == "" or v.lower() == "nan":
                continue
            try:
                num = float(v)
            except ValueError:
                raise InputError(f"non-numeric field {v!r} in column {names[i]!r}", path, line_no) from None
            if math.isinf(num):
                raise InputError(f"infinite value {v!r} in column {names[i]!r}", path, line_no)


def _snap_odr(odr: float) -> float:
    for s in STANDARD_ODRS:
        if abs(odr - s) <= 0.02 * s:
            return s
    return round(odr, 2)


def _looks_like_g(samples: np.ndarray) -> bool:
    """Samples read as mg that are g: a sensor's log in mg holds gravity (~1000 mg); in g it reads ~1."""
    if len(samples) < 10 or float(np.abs(samples).max()) > 16.0 or np.all(samples == np.round(samples)):
        return False
    return 0.7 <= float(np.median(np.linalg.norm(samples, axis=1))) <= 1.5


def read_mems_studio_csv(path: str | os.PathLike, label: str, odr_hz: float | None = None,
                         max_gap_s: float = DEFAULT_MAX_GAP_S) -> Recording:
    """Read one MEMS Studio CSV log into a Recording (mg); errors name the file and line."""
    return read_accel_table(path, label, CSV_FORMAT, odr_hz=odr_hz, max_gap_s=max_gap_s)


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not a text file (cannot decode as UTF-8)", path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    return text.splitlines()


def _hargan_header(path: Path, lines: list[str], header_index: int) -> dict:
    """The ``# hargan: ...`` line among the comment lines before the column header ({} when none)."""
    for i in range(header_index):
        found = parse_hargan_header(lines[i], path, i + 1)
        if found is not None:
            return found
    return {}


def _read_values(path: Path, data: list[str], first: int, ncols: int, used: list[int], names: list[str],
                 fmt: TableFormat) -> np.ndarray:
    """The used columns of the data lines as float64 (NaN for empty fields); bad lines raise."""
    try:
        df = pd.read_csv(io.StringIO("\n".join(data)), header=None, names=list(range(ncols)), usecols=used,
                         sep=fmt.sep, engine="c", dtype=np.float64, skip_blank_lines=False)
        values = df[used].to_numpy(dtype=np.float64)
    except (ValueError, pd.errors.ParserError):
        _scan(path, data, first, ncols, used, names, fmt)
        raise InputError("cannot parse the samples", path) from None
    # pandas ignores extra fields when it reads only some columns: count the separators
    if len(values) != len(data) or sum(ln.count(fmt.sep) for ln in data) != (ncols - 1) * len(data):
        _scan(path, data, first, ncols, used, names, fmt)
    if np.isnan(values).any():
        # Empty fields are missing values, but a short line also reads as NaN: tell them apart.
        for i in np.flatnonzero(np.isnan(values).any(axis=1)):
            if len(data[i].split(fmt.sep)) != ncols:
                _scan(path, [data[i]], first + int(i), ncols, used, names, fmt)
    if np.isinf(values).any():
        k = int(np.flatnonzero(np.isinf(values).any(axis=1))[0])
        _scan(path, [data[k]], first + k, ncols, used, names, fmt)
    return values


def _rate(path: Path, t: np.ndarray | None, first: int, odr_hz: float | None, header: dict) -> tuple[float, str]:
    """Output data rate and where it came from: time column, then ``odr_hz``, then hargan's header, then 26 Hz."""
    if t is not None:
        ok = ~np.isnan(t)
        dt = np.diff(t[ok])
        if len(dt):
            if np.any(dt <= 0):
                k = int(np.flatnonzero(ok)[int(np.argmax(dt <= 0)) + 1])
                raise InputError("time column does not increase", path, first + k)
            return _snap_odr(1.0 / float(np.median(dt))), "time column"
    if odr_hz is not None:
        odr, origin = odr_hz, "option"
    elif "odr_hz" in header:
        odr, origin = header["odr_hz"], "hargan header"
    else:
        odr, origin = DEFAULT_ODR_HZ, "default"
    try:
        ok_rate = float(odr) > 0 and math.isfinite(float(odr))
    except (TypeError, ValueError):
        ok_rate = False
    if not ok_rate:
        raise InputError(f"invalid output data rate {odr!r} Hz", path)
    return float(odr), origin


def read_accel_table(path: str | os.PathLike, label: str, fmt: TableFormat, odr_hz: float | None = None,
                     max_gap_s: float = DEFAULT_MAX_GAP_S) -> Recording:
    """One delimited accelerometer log as one Recording in mg labelled ``label`` (:func:`read_labelled_table`)."""
    rec, _ = read_labelled_table(path, fmt, odr_hz=odr_hz, max_gap_s=max_gap_s)
    rec.label = str(label)
    return rec


def read_labelled_table(path: str | os.PathLike, fmt: TableFormat, odr_hz: float | None = None,
                        max_gap_s: float = DEFAULT_MAX_GAP_S) -> tuple[Recording, np.ndarray | None]:
    """One delimited accelerometer log -> (Recording labelled "", per-sample labels of its label column or None).

    The rate comes from a time column when there is one, else ``odr_hz``, else the ``odr_hz`` of
    hargan's ``# hargan:`` comment line, else 26 Hz (``meta['odr_from']`` says which).
    """
    path = Path(path)
    lines = _read_lines(path)
    h = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")), None)
    if h is None:
        raise InputError(f"no header and no data (expected a header such as {fmt.header_example})", path)
    header = _hargan_header(path, lines, h)
    ncols, acc_cols, factors, units, time_col, time_factor, label_col = _parse_header(path, h + 1, lines[h], fmt)
    names = [m.group("name") if (m := _COLUMN.match(f)) else f.strip() for f in lines[h].split(fmt.sep)]
    data = lines[h + 1:]
    while data and not data[-1].strip():
        data.pop()
    if not data:
        raise InputError("no samples after the header", path, h + 1)
    first = h + 2  # line number of data[0]
    used = acc_cols + ([time_col] if time_col is not None else [])
    values = _read_values(path, data, first, ncols, used, names, fmt)
    acc = values[:, [used.index(c) for c in acc_cols]]
    t = values[:, used.index(time_col)] * time_factor if time_col is not None else None
    odr, odr_from = _rate(path, t, first, odr_hz, header)
    max_gap = int(round(max_gap_s * odr))
    run, start = max_nan_run(np.isnan(acc).any(axis=1))
    if run > max_gap:
        raise InputError(f"NaN gap too long: {run} missing samples ({run / odr:.2f} s) where at most "
                         f"{max_gap_s:g} s ({max_gap} samples) is interpolated", path, first + start)
    pieces = fill_short_gaps(acc, max_gap)
    if not pieces:
        raise InputError("no valid samples", path)
    s, e, filled = pieces[0]
    labels = None if label_col is None else _read_labels(path, data, first, label_col, fmt)[s:e]
    samples = filled * factors[None, :]
    unit = units[0] if len(set(units)) == 1 else "mixed"
    if unit == "mg" and not header and _looks_like_g(samples):
        raise InputError("the values look like g under an [mg] header (within ±16, with decimals, a median magnitude "
                         "of 1: gravity in g); fix the unit in the header", path, h + 1)
    meta = {"original_unit": unit, "full_scale_g": header.get("full_scale_g"), "gravity": True, "segment": 0,
            "first_line": first + s, "odr_from": odr_from}
    if header:
        meta["hargan_header"] = header
    jumps = _time_jumps(t, odr, max_gap_s)
    if jumps:
        meta["time_jumps"] = [first + k for k in jumps]  # the loaders cut there: split_at_time_jumps
    return Recording(samples.astype(np.float32), odr, "", str(path), None, meta), labels


def _time_jumps(t: np.ndarray | None, odr: float, max_gap_s: float) -> list[int]:
    """Rows that follow a jump of more than ``max_gap_s`` (and more than 1.5 sample periods) in time."""
    if t is None:
        return []
    ok = np.flatnonzero(~np.isnan(t))
    return [int(ok[i + 1]) for i in np.flatnonzero(np.diff(t[ok]) > max(max_gap_s, 1.5 / odr))]


def _read_labels(path: Path, data: list[str], first: int, label_col: int, fmt: TableFormat) -> np.ndarray:
    """The label column as stripped strings; an empty label is an error naming its line."""
    labels = np.array([ln.split(fmt.sep)[label_col].strip() for ln in data], dtype=str)
    empty = np.flatnonzero(labels == "")
    if len(empty):
        raise InputError("empty label in the label column", path, first + int(empty[0]))
    return labels


def _fmt(v: float, decimals: int) -> str:
    s = f"{v:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def format_mems_studio_csv(samples_mg: np.ndarray, comment: str | None = DEFAULT_COMMENT, decimals: int = 4,
                           header: dict | None = None, labels=None) -> str:
    """The text of a MEMS Studio log (comment, blank line, ``acc_x[mg],acc_y[mg],acc_z[mg]``, rows; CRLF).

    ``header`` (e.g. ``{"sensor": "LSM6DSL", "full_scale_g": 4, "odr_hz": 26}``) writes hargan's
    ``# hargan: ...`` line instead of ``comment``, so the log loads back at its rate. ``labels``
    (one class name per sample) adds a ``label`` column, read back as labelled segments.
    """
    x = np.asarray(samples_mg, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 3:
        raise InputError(f"samples must be N x 3 (mg), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise InputError("samples hold NaN or infinite values")
    labels = None if labels is None else check_labels(labels, len(x))
    out = io.StringIO()
    if header is not None:
        out.write(format_hargan_header(dict(header)) + "\r\n")
    elif comment is not None:
        for c in comment.splitlines() or [""]:
            out.write(("# " + c).rstrip() + "\r\n")
    out.write("\r\n")
    out.write("acc_x[mg],acc_y[mg],acc_z[mg]" + ("" if labels is None else "," + LABEL_COLUMN) + "\r\n")
    for k, row in enumerate(x.tolist()):
        out.write(",".join(_fmt(v, decimals) for v in row))
        if labels is not None:
            out.write("," + labels[k])
        out.write("\r\n")
    return out.getvalue()


def write_mems_studio_csv(path: str | os.PathLike, samples_mg: np.ndarray, comment: str | None = DEFAULT_COMMENT,
                          decimals: int = 4, header: dict | None = None, labels=None) -> Path:
    """Write one MEMS Studio CSV log (N x 3 mg) atomically, in the exact format MEMS Studio saves
    (``header``: hargan's rate line; ``labels``: a per-sample label column)."""
    text = format_mems_studio_csv(samples_mg, comment, decimals, header, labels)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    return Path(path)
