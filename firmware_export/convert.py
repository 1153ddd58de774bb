"""Raw int16 sensor counts -> the model's int8 input, identically in Python and in C.

The one convention, used on both sides (float32 arithmetic, IEEE-754, round to nearest even):

    mg = (float)counts * mg_per_lsb          # float32 multiply
    y  = mg / input_scale                    # float32 divide
    y  = clamp(y, -512, 512)                 # keeps the conversion to integer defined
    q  = rint(y) + zero_point                # round half to even: lrintf() in the default mode
    q  = clamp(q, -128, 127)

``lrintf`` in C's default rounding mode (FE_TONEAREST) rounds halves to even, as ``np.rint``
does. Each intermediate is a float32 (C casts/assignments drop excess precision), so
the C function and :func:`counts_to_int8` agree bit for bit on all 65536 int16 inputs. Do not
build the firmware with ``-ffast-math`` (it may reorder or fuse the float operations).
"""

from __future__ import annotations

import numpy as np

from har_data import InputError, SensorSpec

Y_LIMIT = 512.0  # |y| beyond this saturates anyway (|zero_point| <= 128)


def mg_per_lsb_of(sensor: SensorSpec | float) -> float:
    """The sensitivity (mg/LSB) of a SensorSpec, or the number itself."""
    if isinstance(sensor, SensorSpec):
        return float(sensor.sensitivity_mg_per_lsb)
    try:
        value = float(sensor)
    except (TypeError, ValueError):
        raise InputError(f"expected a SensorSpec or a sensitivity in mg/LSB, got {sensor!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"sensitivity must be a positive number of mg/LSB, got {sensor!r}")
    return value


def counts_to_int8(counts: np.ndarray, sensor: SensorSpec | float, input_scale: float,
                   input_zero_point: int) -> np.ndarray:
    """int16 sensor counts -> int8 model input, bit-identical to the generated C function.

    ``sensor``: a SensorSpec (its mg/LSB is used) or a sensitivity in mg/LSB.
    """
    scale = float(input_scale)
    if not np.isfinite(scale) or scale <= 0:
        raise InputError(f"input scale must be a positive number, got {input_scale!r}")
    zp = int(input_zero_point)
    if not -128 <= zp <= 127:
        raise InputError(f"input zero point must be in -128..127, got {input_zero_point!r}")
    c = np.asarray(counts)
    if c.dtype.kind not in "iu" or (c.size and (c.min() < -32768 or c.max() > 32767)):
        raise InputError("counts must be int16 sensor output codes (-32768..32767)")
    mg = c.astype(np.float32) * np.float32(mg_per_lsb_of(sensor))
    return mg_to_int8(mg, scale, zp)


def mg_to_int8(mg: np.ndarray, input_scale: float, input_zero_point: int) -> np.ndarray:
    """float32 mg (e.g. the gravity filter's output) -> int8 model input, as the generated C does it."""
    y = np.asarray(mg, dtype=np.float32) / np.float32(input_scale)
    y = np.clip(y, np.float32(-Y_LIMIT), np.float32(Y_LIMIT))
    q = np.rint(y).astype(np.int32) + int(input_zero_point)
    return np.clip(q, -128, 127).astype(np.int8)


def c_counts_to_int8(prefix: str, lower: str) -> str:
    """The C functions (static inline, for a header): generic ``_ex`` and this model's wrappers.

    ``prefix``: macro prefix (``HAR_MODEL``); ``lower``: function prefix (``har_model``).
    Needs <stdint.h>, <stddef.h>, <math.h> and the sensor/quantization macros.
    """
    return f"""\
/* Raw int16 accelerometer counts -> int8 model input, exactly as Python's
   firmware_export.counts_to_int8 does it (float32 math, round half to even via lrintf
   in the default rounding mode). Do not compile with -ffast-math. */
static inline int8_t {lower}_mg_to_int8_ex(float mg, float input_scale, int32_t input_zero_point)
{{
  float y = mg / input_scale;
  long q;
  if (y > {Y_LIMIT:.1f}f) {{
    y = {Y_LIMIT:.1f}f;
  }} else if (y < -{Y_LIMIT:.1f}f) {{
    y = -{Y_LIMIT:.1f}f;
  }}
  q = lrintf(y) + (long)input_zero_point;
  if (q > 127) {{
    q = 127;
  }} else if (q < -128) {{
    q = -128;
  }}
  return (int8_t)q;
}}

static inline int8_t {lower}_counts_to_int8_ex(int16_t counts, float mg_per_lsb, float input_scale,
                                               int32_t input_zero_point)
{{
  return {lower}_mg_to_int8_ex((float)counts * mg_per_lsb, input_scale, input_zero_point);
}}

/* This model: float32 mg (the gravity filter's output) -> int8 with {prefix}_INPUT_SCALE and
   {prefix}_INPUT_ZERO_POINT. */
static inline int8_t {lower}_mg_to_int8(float mg)
{{
  return {lower}_mg_to_int8_ex(mg, {prefix}_INPUT_SCALE, {prefix}_INPUT_ZERO_POINT);
}}

/* This model and sensor: counts -> int8 with {prefix}_SENSOR_MG_PER_LSB, {prefix}_INPUT_SCALE,
   {prefix}_INPUT_ZERO_POINT. */
static inline int8_t {lower}_counts_to_int8(int16_t counts)
{{
  return {lower}_counts_to_int8_ex(counts, {prefix}_SENSOR_MG_PER_LSB, {prefix}_INPUT_SCALE,
                                   {prefix}_INPUT_ZERO_POINT);
}}

/* A window of interleaved x, y, z counts ({prefix}_INPUT_SIZE values) -> the model's input tensor. */
static inline void {lower}_window_to_int8(const int16_t *counts, int8_t *input, size_t n)
{{
  size_t i;
  for (i = 0; i < n; ++i) {{
    input[i] = {lower}_counts_to_int8(counts[i]);
  }}
}}

/* int8 output code -> probability (float). */
static inline float {lower}_dequantize_output(int8_t q)
{{
  return (float)((int32_t)q - {prefix}_OUTPUT_ZERO_POINT) * {prefix}_OUTPUT_SCALE;
}}
"""
