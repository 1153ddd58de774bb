"""``.npz`` files of plain arrays: written atomically, read with a clear error for anything else."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from har_data.atomic import atomic_path
from har_data.errors import InputError
from har_data.validate import check_arrays


def save_npz(path: str | os.PathLike, **arrays) -> Path:
    """Write ``arrays`` compressed to ``path`` (atomically)."""
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return Path(path)


def load_npz(path: str | os.PathLike, required: set[str], what: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` (no pickles); ``InputError`` naming the file when it is missing,
    unreadable, or lacks one of ``required`` (``what`` names the kind of file in the message).

    Every array is checked as it enters (:func:`har_data.validate.check_arrays`): real, finite,
    ``class_names`` unique."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = set(required) - set(z.files)
            if missing:
                raise InputError(f"not a {what} file: missing {', '.join(sorted(missing))}", path)
            arrays = {k: z[k] for k in z.files}
    except InputError:
        raise
    except Exception as exc:  # zipfile/pickle/format errors
        raise InputError(f"cannot read {what} file: {exc}", path) from None
    return check_arrays(arrays, path)


def load_json_dict(arrays: dict[str, np.ndarray], key: str, path: str | os.PathLike, what: str) -> dict:
    """The JSON object stored as the string array ``key`` (``{}`` when absent); refuse anything else."""
    if key not in arrays:
        return {}
    try:
        value = json.loads(str(arrays[key]))
    except ValueError as exc:
        raise InputError(f"cannot read {what} file: {key!r} is not JSON ({exc})", path) from None
    if not isinstance(value, dict):
        raise InputError(f"cannot read {what} file: {key!r} must be a JSON object, got {type(value).__name__}", path)
    return value
