"""har_data: real accelerometer logs -> Recordings (mg) -> windows in an STM32 sensor's format.

The shared infrastructure every package uses (:mod:`har_data.errors`, :mod:`har_data.atomic`,
:mod:`har_data.npz`, :mod:`har_data.jsonio`) imports nothing but numpy. The loaders (pandas),
windows and the gravity filter (scipy) are imported on first use of one of their names, so
``from har_data import InputError`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from har_data.atomic import atomic_dir, atomic_path, write_bytes, write_text
from har_data.errors import InputError, TrainingError, one_line
from har_data.jsonio import to_jsonable, write_json
from har_data.recording import G_TO_MG, MS2_TO_MG, Recording
from har_data.sensors import DEFAULT_SENSOR, SENSORS, SensorSpec

_LAZY = {
    "har_data.gravity": ("GravityRotationFilter", "rotate_gravity", "suppress_gravity"),
    "har_data.loaders": ("SOURCES", "Recordings", "load_basic_motions", "load_mems_studio", "load_pamap2",
                         "load_source", "load_st_datalog", "load_st_mobility", "load_wisdm",
                         "read_mems_studio_csv", "write_mems_studio_csv", "write_st_datalog"),
    "har_data.windows": ("SPLITS", "WindowSet", "board_samples", "make_windows", "resample", "segment",
                         "split_groups"),
}
_LAZY_NAMES = {name: module for module, names in _LAZY.items() for name in names}

if TYPE_CHECKING:  # what the lazy names are, for type checkers and "go to definition"
    from har_data.gravity import GravityRotationFilter, rotate_gravity, suppress_gravity
    from har_data.loaders import (SOURCES, Recordings, load_basic_motions, load_mems_studio, load_pamap2,
                                  load_source, load_st_datalog, load_st_mobility, load_wisdm,
                                  read_mems_studio_csv, write_mems_studio_csv, write_st_datalog)
    from har_data.windows import SPLITS, WindowSet, board_samples, make_windows, resample, segment, split_groups


def __getattr__(name: str):
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'har_data' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_NAMES))


__all__ = [
    "DEFAULT_SENSOR", "G_TO_MG", "GravityRotationFilter", "InputError", "MS2_TO_MG", "Recording", "Recordings",
    "SENSORS", "SOURCES", "SPLITS", "SensorSpec", "TrainingError", "WindowSet", "atomic_dir", "atomic_path",
    "board_samples",
    "load_basic_motions",
    "load_mems_studio", "load_pamap2", "load_source", "load_st_datalog", "load_st_mobility", "load_wisdm",
    "make_windows", "one_line", "read_mems_studio_csv", "resample", "rotate_gravity", "segment", "split_groups",
    "suppress_gravity", "to_jsonable", "write_bytes", "write_json", "write_mems_studio_csv", "write_st_datalog",
    "write_text",
]
