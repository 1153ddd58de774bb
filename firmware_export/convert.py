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


def mg_split(sensor: SensorSpec) -> tuple[np.float32, np.float32]:
    """The sensitivity as two float32 halves ``(hi, lo)`` with ``(float)c * hi + (float)c * lo`` equal to
    :meth:`SensorSpec.to_mg` (the correctly rounded product) for every int16 count ``c``: ``hi`` keeps 8
    significant bits, so ``c * hi`` is exact in float32, and ``lo`` the rest. The C of the gravity filter
    computes the sensor's mg so, bit for bit with training, without double arithmetic; checked here on all
    65,536 counts (an ``InputError`` for a sensitivity where it would not hold)."""
    s = float(sensor.sensitivity_mg_per_lsb)
    mantissa, exponent = np.frexp(s)
    hi = np.float32(np.ldexp(np.round(mantissa * 256.0) / 256.0, exponent))
    lo = np.float32(s - float(hi))
    c = np.arange(-32768, 32768).astype(np.float32)
    if not np.array_equal(c * hi + c * lo, sensor.to_mg(c)):
        raise InputError(f"{sensor.name}'s {s:g} mg/LSB cannot be split into two float32 halves that give every "
                         "count's mg exactly")
    return hi, lo


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
