"""ST datalog ``.txt`` logs (Unico / MEMS Studio "datalog"): read a file or a tree, and write them.

Format, as ST's tools save it (and as ``write_st_datalog`` writes it)::

    # hargan: sensor=LSM6DSOX full_scale_g=4 odr_hz=26    <- only in files hargan writes
    A_X [mg]<TAB>A_Y [mg]<TAB>A_Z [mg]                    <- header: name [unit], tab-separated
    313<TAB>68<TAB>942                                    <- one sample per line
    ...

The unit comes from the header (``[mg]``, ``[g]`` or ``[m/s^2]``) and samples are converted to
mg. A time column (``Time [s]``, ``T [ms]``, ...) gives the rate when present; other extra
columns (gyroscope ``G_X [dps]``, MLC outputs, ...) are ignored. ST's logs carry no time column:
the rate is then ``odr_hz`` (a number, or a map from sub-folder name to Hz when one tree holds
logs of several sensors), else the ``odr_hz`` of hargan's comment line, else 26 Hz (with a note).

A folder is read as a tree of ``.txt`` logs. The class is the file name (``walking.txt``,
``walking_2.txt``), or the folder name for MEMS Studio's ``<id>_<class>/`` folders. A ``label``
column (no unit; hargan's continuous logs with activity changes) labels every sample instead:
the log loads as one Recording per run of one label. The first
sub-folder under the root names the sensor (``lsm6dsox/walking.txt``); it is kept in
``meta['sensor']`` and in the recording id ``meta['recording_id']`` (``lsm6dsox/walking``), so
splits can keep sensors apart.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from har_data.atomic import atomic_path
from har_data.errors import InputError
from har_data.loaders._common import (HARGAN_HEADER_PREFIX, LABEL_COLUMN, Recordings, check_labels, existing_path,
                                      format_hargan_header, split_at_time_jumps, split_by_labels)
from har_data.loaders.mems_studio import (_FOLDER, DEFAULT_MAX_GAP_S, DEFAULT_ODR_HZ, TableFormat, _natural_key,
                                          read_labelled_table)
from har_data.recording import Recording

DATALOG_FORMAT = TableFormat("\t", "tab-separated", "A_X [mg]<TAB>A_Y [mg]<TAB>A_Z [mg]")
HEADER = "A_X [mg]\tA_Y [mg]\tA_Z [mg]"
_NOT_LOGS = {"readme", "license", "notice", "copying"}
_NUMBERED = re.compile(r"^(?P<name>.+?)(?:[\s_\-]+\d+|\s*\(\d+\))$")  # walking_2, walking (2)

OdrOption = float | Mapping[str, float] | None


def load_st_datalog(path: str | os.PathLike, label: str | None = None, odr_hz: OdrOption = None,
                    max_gap_s: float = DEFAULT_MAX_GAP_S) -> Recordings:
    """Load one ST datalog ``.txt`` or a tree of them -> Recordings in mg (see the module docstring).

    ``label`` overrides the class of every file (and its label column); ``odr_hz`` is a rate in Hz or a map
    ``{sub-folder: Hz}`` (every sensor sub-folder must be in it); a time column wins over both.
    """
    p = existing_path(path, "ST datalogs")
    rates = _rate_option(odr_hz)
    if p.is_dir():
        files = sorted((f for f in p.rglob("*.txt") if _is_log(f, p)), key=_natural_key)
        if not files:
            raise InputError("no .txt datalogs found (expected e.g. <sensor>/walking.txt)", p)
        root = p
    else:
        files, root = [p], None
    recs = Recordings()
    defaulted = 0
    for f in files:
        sensor = _sensor_of(f, root)
        rec, labels = read_labelled_table(f, DATALOG_FORMAT, odr_hz=_rate_for(f, sensor, rates), max_gap_s=max_gap_s)
        if label is None and labels is not None:
            parts = split_by_labels(rec, labels)
        else:
            rec.label = str(label) if label is not None else _class_of(f, rec)
            parts = [rec]
        m = _FOLDER.match(f.parent.name)
        for part in split_at_time_jumps(parts, recs.notes):
            part.meta["sensor"] = sensor
            part.meta["recording_id"] = "/".join(([sensor] if sensor else []) + [_folder_id(f) + f.stem])
            if m:
                part.meta["log_id"] = m.group(1)
            recs.append(part)
        defaulted += rec.meta["odr_from"] == "default"
    if defaulted:
        recs.notes.append(f"{defaulted} log(s) have no time column, no odr_hz option and no hargan header: "
                          f"read at {DEFAULT_ODR_HZ:g} Hz (set options.odr_hz to the sensor's ODR)")
    return recs


def _is_log(f: Path, root: Path) -> bool:
    rel = f.relative_to(root).parts
    return not any(part.startswith(".") for part in rel) and f.stem.lower() not in _NOT_LOGS


def _sensor_of(f: Path, root: Path | None) -> str | None:
    """The sensor sub-folder: the first folder under the root (a file's own folder when read alone).

    MEMS Studio's ``<id>_<class>`` folders name a class, not a sensor.
    """
    folders = ([f.parent.name] if f.parent.name else []) if root is None else list(f.relative_to(root).parts[:-1])
    folders = [d for d in folders if not _FOLDER.match(d)]
    return folders[0] if folders else None


def _folder_id(f: Path) -> str:
    return f.parent.name + "/" if _FOLDER.match(f.parent.name) else ""


def _class_of(f: Path, rec: Recording) -> str:
    """hargan's ``class=`` header item, else the ``<id>_<class>`` folder, else the file name."""
    header = rec.meta.get("hargan_header", {})
    if header.get("class"):
        return str(header["class"])
    m = _FOLDER.match(f.parent.name)
    if m:
        return m.group(2)
    numbered = _NUMBERED.match(f.stem)
    return numbered.group("name") if numbered else f.stem


def _rate_option(odr_hz: OdrOption) -> float | dict[str, float] | None:
    """Check ``odr_hz``: None, a positive number, or a map sub-folder -> positive number (keys lower-cased)."""
    if odr_hz is None:
        return None
    if isinstance(odr_hz, Mapping):
        if not odr_hz:
            raise InputError("options.odr_hz: the map from sub-folder to Hz is empty")
        return {str(k).lower(): _positive_rate(v, f"options.odr_hz.{k}") for k, v in odr_hz.items()}
    return _positive_rate(odr_hz, "options.odr_hz")


def _positive_rate(value, where: str) -> float:
    try:
        hz = float(value)
    except (TypeError, ValueError):
        hz = math.nan
    if isinstance(value, bool) or not (math.isfinite(hz) and hz > 0):
        raise InputError(f"{where}: expected a rate in Hz (a positive number) or a map sub-folder -> Hz, "
                         f"got {value!r}")
    return hz


def _rate_for(f: Path, sensor: str | None, rates: float | dict[str, float] | None) -> float | None:
    if not isinstance(rates, dict):
        return rates
    if sensor is None:
        raise InputError(f"options.odr_hz gives rates by sub-folder ({', '.join(rates)}) but this log is in "
                         "no sub-folder", f)
    if sensor.lower() not in rates:
        raise InputError(f"options.odr_hz has no rate for sub-folder {sensor!r} (rates given for: "
                         f"{', '.join(rates)})", f)
    return rates[sensor.lower()]


def _fmt(v: np.float32) -> str:
    s = np.format_float_positional(v, unique=True, trim="-")
    return "0" if s == "-0" else s


def format_st_datalog(samples_mg: np.ndarray, header: Mapping | None = None, labels=None) -> str:
    """The text of an ST datalog: hargan's comment line (from ``header``), ``A_X [mg]...``, rows (LF).

    ``labels`` (one class name per sample) adds a ``label`` column, read back as labelled segments.

    The ``# hargan:`` line is always written (it marks the file as hargan's, so it may be overwritten).

    Values are written as the shortest text that reads back to the same float32, so a log hargan
    writes loads back identically (ST's own logs hold integers, which stay integers).
    """
    x = np.asarray(samples_mg)
    if x.ndim != 2 or x.shape[1] != 3:
        raise InputError(f"samples must be N x 3 (mg), got shape {x.shape}")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise InputError("samples hold NaN or infinite values")
    labels = None if labels is None else check_labels(labels, len(x))
    lines = [format_hargan_header(dict(header or {})), HEADER + ("" if labels is None else "\t" + LABEL_COLUMN)]
    rows = ("\t".join(_fmt(v) for v in row) for row in x)
    lines.extend(rows if labels is None else (r + "\t" + lab for r, lab in zip(rows, labels)))
    return "\n".join(lines) + "\n"


def write_st_datalog(path: str | os.PathLike, samples_mg: np.ndarray, header: Mapping | None = None,
                     labels=None) -> Path:
    """Write one ST datalog (N x 3 mg) atomically; ``header`` gives the ``# hargan:`` line
    (e.g. ``{"sensor": "LSM6DSOX", "full_scale_g": 4, "odr_hz": 26, "class": "walking"}``),
    ``labels`` an optional per-sample label column.

    Refuses to overwrite a file that hargan did not write (one without the ``# hargan:`` line).
    """
    path = Path(path)
    if path.exists() and not _written_by_hargan(path):
        raise InputError("refusing to overwrite a file hargan did not write", path)
    text = format_st_datalog(samples_mg, header, labels)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    return path


def _written_by_hargan(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
    except OSError:
        return False
    return first.strip().lower().startswith(HARGAN_HEADER_PREFIX)
