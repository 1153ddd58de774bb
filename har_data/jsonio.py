"""JSON for the files hargan writes: numpy values made plain, strict JSON, written atomically."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any
from collections.abc import Mapping

import numpy as np

from har_data.atomic import write_text


def to_jsonable(obj: Any) -> Any:
    """Plain JSON values: numpy scalars/arrays to Python, Paths to str, NaN/inf to None, tuples to lists."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def json_text(obj: Any, indent: int | None = 2) -> str:
    """``obj`` as strict JSON text (see :func:`to_jsonable`), ending in a newline."""
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> Path:
    """Write ``obj`` as strict JSON to ``path``, atomically."""
    return write_text(path, json_text(obj, indent))
