"""har_data: real accelerometer logs -> Recordings (mg) -> windows in an STM32 sensor's format."""

from har_data.atomic import atomic_dir, atomic_path, write_bytes, write_text
from har_data.errors import InputError
from har_data.gravity import GravityRotationFilter, rotate_gravity, suppress_gravity
from har_data.loaders import (
    SOURCES,
    Recordings,
    hargan_header,
    load_basic_motions,
    load_mems_studio,
    load_pamap2,
    load_source,
    load_st_mobility,
    load_wisdm,
    read_mems_studio_csv,
    write_mems_studio_csv,
)
from har_data.recording import G_TO_MG, MS2_TO_MG, Recording
from har_data.sensors import DEFAULT_SENSOR, SENSORS, SensorSpec
from har_data.windows import SPLITS, WindowSet, make_windows, resample, segment, split_groups

__all__ = [
    "DEFAULT_SENSOR", "G_TO_MG", "GravityRotationFilter", "InputError", "MS2_TO_MG", "Recording", "Recordings",
    "SENSORS", "SOURCES", "SPLITS", "SensorSpec", "WindowSet", "atomic_dir", "atomic_path", "hargan_header", "load_basic_motions",
    "load_mems_studio", "load_pamap2", "load_source", "load_st_mobility", "load_wisdm", "make_windows",
    "read_mems_studio_csv", "resample", "rotate_gravity", "segment", "split_groups", "suppress_gravity",
    "write_bytes", "write_mems_studio_csv", "write_text",
]
