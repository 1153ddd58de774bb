"""har_data: real accelerometer logs -> Recordings (mg) -> windows in an STM32 sensor's format."""

from har_data.atomic import atomic_dir, atomic_path, write_bytes, write_text
from har_data.errors import InputError
from har_data.recording import G_TO_MG, MS2_TO_MG, Recording
from har_data.sensors import DEFAULT_SENSOR, SENSORS, SensorSpec
from har_data.windows import SPLITS, WindowSet, make_windows, resample, segment, split_groups

__all__ = [
    "DEFAULT_SENSOR", "G_TO_MG", "InputError", "MS2_TO_MG", "Recording", "SENSORS", "SPLITS", "SensorSpec",
    "WindowSet", "atomic_dir", "atomic_path", "make_windows", "resample", "segment", "split_groups",
    "write_bytes", "write_text",
]
