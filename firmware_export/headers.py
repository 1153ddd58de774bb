"""Application headers: class labels, sensor configuration, model input/output quantization.

Files (``name="har_model"``):
  har_model_labels.h/.c  enum har_model_class (HAR_MODEL_CLASS_<LABEL>) + string table
  har_model_sensor.h     sensor name, full scale (g), ODR (Hz), mg/LSB, window length, axes
  har_model_quant.h      input/output scale and zero point + counts -> int8 conversion (static inline)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from collections.abc import Sequence

from firmware_export._cgen import c_float, c_string, check_c_name, enum_suffix, write_files
from firmware_export.convert import Y_LIMIT
from firmware_export.render import render
from har_data import InputError, SensorSpec
from har_data.sensors import SENSORS

AXIS_NAMES = "xyz"


def st_driver_constants(sensor: SensorSpec) -> tuple[str, str, str]:
    """(driver header, full-scale constant, ODR constant) of ST's driver for ``sensor``, from its part's
    record in :data:`har_data.sensors.SENSORS` (where a sensor's format and driver constants live together)."""
    part = SENSORS[sensor.name]
    (suffix,) = [v for k, v in part.odrs.items() if abs(float(k) - sensor.odr_hz) < 1e-6]  # SensorSpec checked it
    return (part.driver_header, part.full_scale_constant.format(fs=int(sensor.full_scale_g)),
            part.odr_constant.format(odr=suffix))


def _comment(text: str) -> str:
    """Text safe inside a C comment (no nested comment markers)."""
    return c_string(text)[1:-1].replace("/*", "/ *").replace("*/", "* /")


def _class_idents(prefix: str, class_names: Sequence[str]) -> list[str]:
    idents, seen = [], set()
    for i, label in enumerate(class_names):
        ident = f"{prefix}_CLASS_{enum_suffix(label)}"
        if ident in seen:
            ident = f"{ident}_{i}"
        seen.add(ident)
        idents.append(ident)
    return idents


def labels_sources(class_names: Sequence[str], name: str = "har_model") -> dict[str, str]:
    """``<name>_labels.h/.c``: the class enum and the label string table."""
    name = check_c_name(name)
    names = [str(c) for c in class_names]
    if len(names) < 1:
        raise InputError("no class names to export")
    prefix, h = name.upper(), f"{name}_labels.h"
    idents = _class_idents(prefix, names)
    enum_rows = "\n".join(f"  {ident} = {i}, /* {_comment(label)} */"
                           for i, (ident, label) in enumerate(zip(idents, names)))
    label_rows = "\n".join(f"  {c_string(label)}," for label in names)
    return {h: render("labels.h.in", h, name=name, P=prefix, num_classes=len(names), enum_rows=enum_rows),
            f"{name}_labels.c": render("labels.c.in", name=name, P=prefix, label_rows=label_rows)}


def sensor_source(sensor: SensorSpec, window_length: int, channels: int = 3, name: str = "har_model") -> str:
    """``<name>_sensor.h``: the accelerometer configuration the model was trained for."""
    name = check_c_name(name)
    if not isinstance(sensor, SensorSpec):
        raise InputError(f"expected a SensorSpec, got {sensor!r}")
    if int(window_length) < 1 or not 1 <= int(channels) <= 3:
        raise InputError(f"bad window {window_length} x {channels} (need >= 1 sample of 1..3 axes)")
    lo, hi = sensor.count_range
    axes = AXIS_NAMES[: int(channels)]
    driver_h, fs_const, odr_const = st_driver_constants(sensor)
    return render("sensor.h.in", f"{name}_sensor.h", P=name.upper(), sensor=sensor.name,
                  full_scale=sensor.full_scale_g, odr=f"{sensor.odr_hz:g}", axes_list=", ".join(axes),
                  driver_h=driver_h, fs_const=fs_const, odr_const=odr_const, sensor_c=c_string(sensor.name),
                  full_scale_int=int(sensor.full_scale_g), odr_c=c_float(sensor.odr_hz),
                  mg_per_lsb_c=c_float(sensor.sensitivity_mg_per_lsb), bits=int(sensor.bits), count_min=int(lo),
                  count_max=int(hi), window_length=int(window_length), channels=int(channels),
                  axes_c=c_string(axes))


def quant_source(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                 name: str = "har_model") -> str:
    """``<name>_quant.h``: input/output quantization and the counts -> int8 input conversion
    (the C twin of :func:`firmware_export.convert.counts_to_int8`)."""
    name = check_c_name(name)
    for what, zp in (("input", input_zero_point), ("output", output_zero_point)):
        if not -128 <= int(zp) <= 127:
            raise InputError(f"{what} zero point {zp} is outside -128..127: not an int8 model")
    return render("quant.h.in", f"{name}_quant.h", name=name, P=name.upper(), input_scale=c_float(input_scale),
                  input_zero_point=int(input_zero_point), output_scale=c_float(output_scale),
                  output_zero_point=int(output_zero_point), y_limit=f"{Y_LIMIT:.1f}")


def export_headers(int8: Any, class_names: Sequence[str], sensor: SensorSpec, window_length: int | None,
                   out_dir: str | os.PathLike, name: str = "har_model") -> list[Path]:
    """Write the labels, sensor and quantization headers for ``int8`` (an Int8Classifier) into ``out_dir``."""
    name = check_c_name(name)
    names = list(class_names)
    num = int(getattr(int8, "num_classes", len(names)))
    if len(names) != num:
        raise InputError(f"{len(names)} class names for a model with {num} outputs")
    model_len = getattr(int8, "window_length", None)
    if window_length is None:
        window_length = model_len
    if window_length is None:
        raise InputError("the window length is unknown: the model does not say, pass window_length")
    if model_len is not None and int(window_length) != int(model_len):
        raise InputError(f"window length {window_length} but the model takes windows of {model_len}")
    channels = int(getattr(int8, "channels", 3))
    files = labels_sources(names, name)
    files[f"{name}_sensor.h"] = sensor_source(sensor, int(window_length), channels, name)
    files[f"{name}_quant.h"] = quant_source(int8.input_scale, int8.input_zero_point, int8.output_scale,
                                            int8.output_zero_point, name)
    return write_files(Path(out_dir), files)
