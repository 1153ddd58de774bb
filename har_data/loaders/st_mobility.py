"""ST model zoo ``mobility_v1`` pickles (``train.pkl``, ``test.pkl``), 26 Hz, g.

Each pickle is a dict: ``files`` (list of str), ``act`` (list of int: 0 Stationary, 1 Walking,
2 Jogging, 3 Biking, 4 Vehicle) and ``acc`` (list of float64 N x 3 arrays in g).

Pickles can run code when loaded. This loader never calls ``pickle.load``: it uses a
restricted unpickler whose ``find_class`` admits only what plain numpy arrays need
(``numpy.core.multiarray._reconstruct`` / ``scalar``, ``numpy.ndarray``, ``numpy.dtype``,
and the numpy 2 ``numpy._core`` names). A pickle naming anything else is refused with an
InputError before any of its code could run.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from har_data.errors import InputError
from har_data.loaders._common import Recordings, existing_path
from har_data.recording import G_TO_MG, Recording

ODR_HZ = 26.0
ACTIVITIES = {0: "Stationary", 1: "Walking", 2: "Jogging", 3: "Biking", 4: "Vehicle"}
DEFAULT_CLASS_MAP = {0: "stationary", 1: "walking", 2: "running", 3: "cycling", 4: "vehicle"}


def _numpy_globals() -> dict[tuple[str, str], object]:
    try:  # numpy 2
        from numpy._core import multiarray as ma
    except ImportError:  # numpy 1
        from numpy.core import multiarray as ma  # type: ignore[no-redef]
    allowed: dict[tuple[str, str], object] = {}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "_reconstruct")] = ma._reconstruct
        allowed[(mod, "scalar")] = ma.scalar
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    return allowed


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only the numpy globals plain arrays need; anything else is refused."""

    def __init__(self, file, path: str | os.PathLike = "<pickle>"):
        super().__init__(file)
        self._path = path
        self._allowed = _numpy_globals()

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        obj = self._allowed.get((module, name))
        if obj is None:
            raise InputError(f"refused to load: the pickle names {module}.{name}; only plain numpy arrays, "
                             "lists, dicts, numbers and strings are allowed", self._path)
        return obj

    def persistent_load(self, pid):
        raise InputError("refused to load: the pickle uses persistent ids", self._path)


def safe_load_pickle(path: str | os.PathLike):
    """Load a pickle that may hold only plain containers and numpy arrays; never runs other code."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return NumpyOnlyUnpickler(fh, path).load()
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    except Exception as exc:  # UnpicklingError, EOFError, ValueError, ... from a damaged file
        raise InputError(f"not a readable pickle: {type(exc).__name__}: {exc}", path) from None


def _files(p: Path) -> list[Path]:
    if p.is_file():
        return [p]
    found = [p / n for n in ("train.pkl", "test.pkl") if (p / n).is_file()]
    if not found:
        found = sorted(p.glob("*.pkl"))
    if not found:
        raise InputError("no train.pkl / test.pkl found", p)
    return found


def load_st_mobility(path: str | os.PathLike, class_map: dict | None = None) -> Recordings:
    """Load ST model-zoo mobility_v1 pickles (a .pkl or a folder with train.pkl/test.pkl) -> Recordings in mg.

    ``class_map``: activity id -> class name (default: stationary, walking, running (Jogging),
    cycling (Biking), vehicle); ids not in the map are dropped.
    """
    p = existing_path(path, "ST mobility")
    cmap = {int(k): str(v) for k, v in (DEFAULT_CLASS_MAP if class_map is None else class_map).items()}
    recs = Recordings()
    for f in _files(p):
        data = safe_load_pickle(f)
        if not isinstance(data, dict) or not {"files", "act", "acc"} <= set(data):
            keys = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
            raise InputError(f"not a mobility_v1 pickle: expected a dict with files, act, acc; found {keys}", f)
        files, acts, accs = list(data["files"]), list(data["act"]), list(data["acc"])
        if not (len(files) == len(acts) == len(accs)):
            raise InputError(f"files, act and acc differ in length ({len(files)}, {len(acts)}, {len(accs)})", f)
        split = f.stem
        for i, (name, act, acc) in enumerate(zip(files, acts, accs)):
            try:
                a = int(act)
            except (TypeError, ValueError):
                a = -1
            if a not in ACTIVITIES:
                raise InputError(f"entry {i}: unknown activity {act!r}; mobility_v1 ids: "
                                 f"{', '.join(f'{k} {v}' for k, v in ACTIVITIES.items())}", f)
            arr = np.asarray(acc)
            if arr.dtype.kind not in "fiu" or arr.ndim != 2 or arr.shape[1] != 3:
                raise InputError(f"entry {i}: acc must be a numeric N x 3 array, found {arr.dtype} {arr.shape}", f)
            if not np.isfinite(arr).all():
                raise InputError(f"entry {i}: acc holds NaN or infinite values", f)
            if a not in cmap or len(arr) == 0:
                continue
            recs.append(Recording((arr.astype(np.float64) * G_TO_MG).astype(np.float32), ODR_HZ, cmap[a],
                                  f"{f}::{name}", None,
                                  {"original_unit": "g", "full_scale_g": None, "gravity": True, "segment": i,
                                   "activity": ACTIVITIES[a], "split": split}))
    return recs
