"""WISDM v1.1 raw accelerometer file (``WISDM_ar_v1.1_raw.txt``), 20 Hz, m/s^2.

Each record: ``user,activity,timestamp,x,y,z;`` on its own line. The real file has known
malformed lines: missing fields (``...,4.4,;``), several records run together on one line
(``...,-0.8;33,Jogging,...``), stray text. Those lines are skipped and counted: the returned
list's ``skipped_lines`` (and ``notes``, a line a command can print); nothing is guessed.

Recordings: one per contiguous run of one (user, activity); a run is also cut where the
timestamp goes backwards or jumps by more than ``max_gap_s``. Runs shorter than
``min_duration_s`` are dropped. Subject = user id.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from har_data.errors import InputError
from har_data.loaders._common import Recordings, existing_path, log
from har_data.recording import MS2_TO_MG, Recording

ODR_HZ = 20.0
ACTIVITIES = ("Walking", "Jogging", "Upstairs", "Downstairs", "Sitting", "Standing")
DEFAULT_CLASS_MAP = {"Sitting": "stationary", "Standing": "stationary", "Walking": "walking",
                     "Jogging": "running", "Upstairs": "stairs", "Downstairs": "stairs"}
DEFAULT_MAX_GAP_S = 1.0
DEFAULT_MIN_DURATION_S = 2.0
TIMESTAMP_UNIT_S = 1e-9  # the phone's uptime clock, in nanoseconds

_RECORD = re.compile(r"[ \t]*\d+,[A-Za-z_ ]+,-?\d+,[-+.\deE]+,[-+.\deE]+,[-+.\deE]+;?[ \t\r]*")
_COLUMNS = ["user", "activity", "timestamp", "x", "y", "z"]
_DTYPES = {"user": np.int64, "activity": str, "timestamp": np.int64, "x": np.float64, "y": np.float64,
           "z": np.float64}


def _parse(lines: list[str]) -> pd.DataFrame:
    """Parse lines that look like records (``;`` ends a record: read as a comment)."""
    if not lines:
        return pd.DataFrame({c: [] for c in _COLUMNS})
    return pd.read_csv(io.StringIO("\n".join(lines)), header=None, names=_COLUMNS, sep=",", comment=";",
                       dtype=_DTYPES, engine="c", skip_blank_lines=False)


def _numeric(line: str) -> bool:
    try:
        [float(v) for v in line.strip().rstrip(";").split(",")[3:]]
        return True
    except ValueError:
        return False


def _read_records(p: Path) -> tuple[list[str], list[str], pd.DataFrame]:
    """The file's lines, the well-formed record lines among them, and those records parsed."""
    try:
        text = p.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", p) from None
    body = text.rstrip()
    if not body:
        raise InputError("empty file", p)
    lines = body.split("\n")
    ok = [ln for ln in lines if _RECORD.fullmatch(ln)]
    try:
        df = _parse(ok)
    except ValueError:  # a field the pattern let through is not a number: drop those lines too
        ok = [ln for ln in ok if _numeric(ln)]
        df = _parse(ok)
    if not ok:
        raise InputError("no WISDM records found (expected lines like 33,Jogging,49105962326000,-0.69,12.68,0.50;)", p)
    return lines, ok, df


def load_wisdm(path: str | os.PathLike, class_map: dict | None = None, max_gap_s: float = DEFAULT_MAX_GAP_S,
               min_duration_s: float = DEFAULT_MIN_DURATION_S) -> Recordings:
    """Load the WISDM v1.1 raw file (or a folder holding ``WISDM_ar_v1.1_raw.txt``) -> Recordings in mg.

    ``class_map``: WISDM activity name -> class name (default ``DEFAULT_CLASS_MAP``); activities
    not in the map are dropped. The count of skipped malformed lines is ``result.skipped_lines``.
    """
    p = existing_path(path, "WISDM")
    if p.is_dir():
        cands = sorted(p.rglob("WISDM_ar_v1.1_raw.txt")) or sorted(p.rglob("*raw*.txt"))
        if not cands:
            raise InputError("no WISDM_ar_v1.1_raw.txt found in this folder", p)
        p = cands[0]
    cmap = dict(DEFAULT_CLASS_MAP if class_map is None else class_map)
    if not cmap:
        raise InputError("class map is empty")
    lines, ok, df = _read_records(p)
    n_lines = len(lines)
    skipped = n_lines - len(ok)
    users = df["user"].to_numpy()
    inv, names = pd.factorize(df["activity"].astype(str).str.strip())
    names = [str(n) for n in names]
    known = set(ACTIVITIES) | set(cmap)
    unknown = [n for n in names if n not in known]
    if unknown:
        line = next((i for i, ln in enumerate(lines, 1) if _RECORD.fullmatch(ln) and f",{unknown[0]}," in ln), None)
        raise InputError(f"unknown activity {unknown[0]!r}; WISDM activities: {', '.join(ACTIVITIES)}", p, line)
    ts = df["timestamp"].to_numpy(dtype=np.int64)
    xyz = df[["x", "y", "z"]].to_numpy(dtype=np.float64) * MS2_TO_MG
    recs = ok
    keep_name = np.array([n in cmap for n in names])[inv]
    dt = np.diff(ts).astype(np.float64) * TIMESTAMP_UNIT_S
    cut = np.ones(len(recs), dtype=bool)
    cut[1:] = (users[1:] != users[:-1]) | (inv[1:] != inv[:-1]) | (dt < 0) | (dt > max_gap_s)
    starts = np.flatnonzero(cut)
    ends = np.append(starts[1:], len(recs))
    min_len = int(np.ceil(min_duration_s * ODR_HZ))
    out = Recordings(skipped_lines=skipped)
    for seg, (s, e) in enumerate(zip(starts, ends)):
        if not keep_name[s] or e - s < min_len:
            continue
        act = names[inv[s]]
        out.append(Recording(xyz[s:e].astype(np.float32), ODR_HZ, cmap[act], str(p), str(users[s]),
                             {"original_unit": "m/s^2", "full_scale_g": None, "gravity": True, "segment": seg,
                              "activity": act, "record": int(s)}))
    if skipped:
        note = f"WISDM: skipped {skipped} malformed line(s) of {n_lines} in {p}"
        out.notes.append(note)
        log.info(note)
    return out


