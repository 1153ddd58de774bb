"""MEMS Studio CSV logs (ST's capture tool, "Save to File"): read them and write them.

Format, as MEMS Studio writes it (and as ``write_mems_studio_csv`` writes it)::

    # PAMAP2 dataset (wrist-mounted sensor)      <- one or more '#' comment lines
                                                  <- a blank line
    acc_x[mg],acc_y[mg],acc_z[mg]                 <- header: name[unit]
    608.254,323.24625,308.72525                   <- one sample per line
    ...

Lines end with CRLF. The unit comes from the header: ``[mg]``, ``[g]`` or ``[m/s^2]``;
samples are converted to mg. The output data rate comes from, in this order: a time column
(``time[s]``, ``Time [ms]``, ...), the ``odr_hz`` option, the ``# hargan: ... odr_hz=..`` comment
line hargan writes into its own logs, and 26 Hz. A ``label`` column (no unit) gives every sample
its class: such a log loads as one Recording per run of one label (a log with transitions).
Other extra columns (gyroscope, ...) are ignored. A folder is read as a tree
``<id>_<activity>/*.csv`` whose folder names give the labels (``0_stationary`` -> ``stationary``)
unless a file carries its own label column.
"""

from __future__ import annotations

import io
import math
import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from har_data.atomic import atomic_path
from har_data.errors import InputError
from har_data.loaders._common import (LABEL_COLUMN, Recordings, check_labels, existing_path, fill_short_gaps,
                                      labelled_segments, max_nan_run, read_hargan_header)
from har_data.recording import G_TO_MG, MS2_TO_MG, Recording

UNIT_TO_MG = {"mg": 1.0, "g": G_TO_MG, "m/s^2": MS2_TO_MG}
_UNIT_ALIASES = {"mg": "mg", "g": "g", "m/s^2": "m/s^2", "m/s2": "m/s^2", "m/s²": "m/s^2", "ms^-2": "m/s^2",
                 "m*s^-2": "m/s^2", "m s^-2": "m/s^2"}
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
# ODRs a derived rate snaps to when within 2 % (sensor datasheet rates and common dataset rates).
STANDARD_ODRS = (1.6, 3.125, 6.25, 10.0, 12.5, 20.0, 25.0, 26.0, 50.0, 52.0, 100.0, 104.0, 200.0, 208.0,
                 400.0, 416.0, 800.0, 833.0, 1600.0, 1666.0, 3332.0, 6664.0)
DEFAULT_COMMENT = "hargan accelerometer log"
DEFAULT_ODR_HZ = 26.0
DEFAULT_MAX_GAP_S = 0.2

_FOLDER = re.compile(r"^(\d+)_(.+)$")
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

    ``label`` overrides the activity taken from the label column or the folder name; ``odr_hz``
    is used when a file has no time column (else hargan's header, else 26 Hz). A file with a
    label column gives one Recording per labelled segment. Empty / NaN values are interpolated
    over at most ``max_gap_s``; a longer gap is an error naming the file and line.
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
        rec, labels = _read_log(f, odr_hz, max_gap_s)
        if label is not None or labels is None:
            lab = label if label is not None else _label_from_folder(f)
            if lab is None:
                raise InputError("cannot tell the activity: put the log in a folder named <id>_<activity> "
                                 "(e.g. 0_stationary), add a label column or pass a label", f)
            parts = [replace(rec, label=str(lab), meta=dict(rec.meta))]
        else:
            parts = [replace(rec, samples=rec.samples[s:e], label=lab,
                             meta={**rec.meta, "segment": k, "first_line": rec.meta["first_line"] + s})
                     for k, (s, e, lab) in enumerate(labelled_segments(labels))]
        m = _FOLDER.match(f.parent.name)
        for part in parts:
            if m:
                part.meta["log_id"] = m.group(1)
            recs.append(part)
    return recs


def _parse_header(path: Path, line_no: int, header: str):
    """-> (n_columns, acc columns x/y/z, factors to mg, unit names, time column or None, time factor, label column or None)."""
    fields = header.split(",")
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
        raise InputError("header line missing: expected e.g. acc_x[mg],acc_y[mg],acc_z[mg] after the comment "
                         "and blank line", path, line_no)
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
                             "expected acc_x[unit],acc_y[unit],acc_z[unit] (plus optional time and label columns)",
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


def _scan(path: Path, lines: list[str], first_line_no: int, ncols: int, used: list[int], names: list[str]) -> None:
    """Find the first bad data line (wrong field count or non-numeric field) and raise on it."""
    for k, line in enumerate(lines):
        line_no = first_line_no + k
        fields = line.split(",") if line.strip() else []
        if len(fields) != ncols:
            what = "blank line" if not fields else f"{len(fields)} fields"
            raise InputError(f"wrong column count: expected {ncols} comma-separated fields, found {what}",
                             path, line_no)
        for i in used:
            v = fields[i].strip()
            if v == "" or v.lower() == "nan":
                continue
            try:
                float(v)
            except ValueError:
                raise InputError(f"non-numeric field {v!r} in column {names[i]!r}", path, line_no) from None


def _snap_odr(odr: float) -> float:
    for s in STANDARD_ODRS:
        if abs(odr - s) <= 0.02 * s:
            return s
    return round(odr, 2)


def read_mems_studio_csv(path: str | os.PathLike, label: str, odr_hz: float | None = None,
                         max_gap_s: float = DEFAULT_MAX_GAP_S) -> Recording:
    """Read one MEMS Studio CSV log into one Recording (mg) labelled ``label``; errors name the file and line."""
    rec, _ = _read_log(Path(path), odr_hz, max_gap_s)
    return replace(rec, label=str(label))


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise InputError("not a text file (cannot decode as UTF-8)", path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None


def _read_log(path: Path, odr_hz: float | None, max_gap_s: float) -> tuple[Recording, np.ndarray | None]:
    """One log -> (Recording labelled "", per-sample labels from a label column or None)."""
    lines = _read_lines(path)
    h = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")), None)
    if h is None:
        raise InputError("no header and no data (expected a header such as acc_x[mg],acc_y[mg],acc_z[mg])", path)
    hargan = read_hargan_header(lines[:h], path)
    ncols, acc_cols, factors, units, time_col, time_factor, label_col = _parse_header(path, h + 1, lines[h])
    names = [_COLUMN.match(f).group("name") for f in lines[h].split(",")]
    data = lines[h + 1:]
    while data and not data[-1].strip():
        data.pop()
    if not data:
        raise InputError("no samples after the header", path, h + 1)
    first = h + 2  # line number of data[0]
    used = acc_cols + ([time_col] if time_col is not None else [])
    values = _read_values(path, data, first, ncols, used, names)
    acc = values[:, [used.index(c) for c in acc_cols]]
    if odr_hz is None:
        odr_hz = hargan.get("odr_hz", DEFAULT_ODR_HZ)
    odr = _output_rate(path, values[:, used.index(time_col)] * time_factor if time_col is not None else None,
                       odr_hz, first)
    max_gap = int(round(max_gap_s * odr))
    missing = np.isnan(acc).any(axis=1)
    run, start = max_nan_run(missing)
    if run > max_gap:
        raise InputError(f"NaN gap too long: {run} missing samples ({run / odr:.2f} s) where at most "
                         f"{max_gap_s:g} s ({max_gap} samples) is interpolated", path, first + start)
    pieces = fill_short_gaps(acc, max_gap)
    if not pieces:
        raise InputError("no valid samples", path)
    s, e, filled = pieces[0]
    labels = None if label_col is None else _read_labels(path, data, first, ncols, label_col)[s:e]
    unit = units[0] if len(set(units)) == 1 else "mixed"
    meta = {"original_unit": unit, "full_scale_g": hargan.get("full_scale_g"), "gravity": True, "segment": 0,
            "first_line": first + s}
    if "sensor" in hargan:
        meta["sensor"] = hargan["sensor"]
    return Recording((filled * factors[None, :]).astype(np.float32), odr, "", str(path), None, meta), labels


def _read_values(path: Path, data: list[str], first: int, ncols: int, used: list[int], names: list[str]) -> np.ndarray:
    """The numeric columns ``used`` as float64 (NaN where empty); a bad line raises naming it."""
    try:
        df = pd.read_csv(io.StringIO("\n".join(data)), header=None, names=list(range(ncols)), usecols=used,
                         sep=",", engine="c", dtype=np.float64, skip_blank_lines=False)
        values = df[used].to_numpy(dtype=np.float64)
    except (ValueError, pd.errors.ParserError):
        _scan(path, data, first, ncols, used, names)
        raise InputError("cannot parse the samples", path) from None
    # pandas ignores extra fields when it reads only some columns: count the separators
    if len(values) != len(data) or sum(ln.count(",") for ln in data) != (ncols - 1) * len(data):
        _scan(path, data, first, ncols, used, names)
    if np.isnan(values).any():
        # Empty fields are missing values, but a short line also reads as NaN: tell them apart.
        for i in np.flatnonzero(np.isnan(values).any(axis=1)):
            if len(data[i].split(",")) != ncols:
                _scan(path, [data[i]], first + int(i), ncols, used, names)
    return values


def _read_labels(path: Path, data: list[str], first: int, ncols: int, label_col: int) -> np.ndarray:
    """The label column as stripped strings; an empty label is an error naming its line."""
    labels = np.array([ln.split(",")[label_col].strip() for ln in data], dtype=str)
    empty = np.flatnonzero(labels == "")
    if len(empty):
        raise InputError("empty label in the label column", path, first + int(empty[0]))
    return labels


def _output_rate(path: Path, t: np.ndarray | None, odr_hz: float, first: int) -> float:
    """The rate from the time column when there is one, else ``odr_hz``; checked."""
    odr = float(odr_hz)
    if t is not None:
        ok = ~np.isnan(t)
        dt = np.diff(t[ok])
        if len(dt):
            if np.any(dt <= 0):
                k = int(np.flatnonzero(ok)[int(np.argmax(dt <= 0)) + 1])
                raise InputError("time column does not increase", path, first + k)
            odr = _snap_odr(1.0 / float(np.median(dt)))
    if not (odr > 0 and math.isfinite(odr)):
        raise InputError(f"invalid output data rate {odr_hz!r} Hz", path)
    return odr


def _fmt(v: float, decimals: int) -> str:
    s = f"{v:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def format_mems_studio_csv(samples_mg: np.ndarray, comment: str | None = DEFAULT_COMMENT, decimals: int = 4,
                           labels=None) -> str:
    """The text of a MEMS Studio log (comment, blank line, ``acc_x[mg],acc_y[mg],acc_z[mg]``, rows; CRLF).

    ``labels`` (one class name per sample) adds a ``label`` column, which :func:`load_mems_studio`
    reads back as labelled segments.
    """
    x = np.asarray(samples_mg, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 3:
        raise InputError(f"samples must be N x 3 (mg), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise InputError("samples hold NaN or infinite values")
    labels = None if labels is None else check_labels(labels, len(x))
    out = io.StringIO()
    if comment is not None:
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
                          decimals: int = 4, labels=None) -> Path:
    """Write one MEMS Studio CSV log (N x 3 mg, optional per-sample labels) atomically, as MEMS Studio saves it."""
    text = format_mems_studio_csv(samples_mg, comment, decimals, labels)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    return Path(path)
