"""The fixed-point constants TFLite's int8 kernels compute at prepare time, computed the same way.

Each real-valued rescale factor becomes a Q31 multiplier and a power-of-two shift exactly as
TFLite's ``QuantizeMultiplier`` does (``frexp``, round half away from zero, the 2^31 carry
fix-up); the factors themselves are formed in the same precision as the kernels form them
(double products for convolutions, element-wise multiply and mean; a float32 product for
per-tensor fully-connected layers), so the generated C holds the very integers the reference
kernels use.
"""

from __future__ import annotations

import math

import numpy as np

from har_data import InputError

INT8_MIN, INT8_MAX = -128, 127
SOFTMAX_SCALED_DIFF_INTEGER_BITS = 5


def _round_away(x: float) -> int:
    """C's ``round`` (half away from zero) on a double."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """``real`` -> (Q31 multiplier, shift) with real ~= multiplier * 2^(shift - 31)."""
    if real == 0.0:
        return 0, 0
    if not math.isfinite(real) or real < 0:
        raise InputError(f"cannot quantize the rescale factor {real!r} (negative or not finite)")
    q, shift = math.frexp(real)
    q_fixed = _round_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:  # TFLite clamps: the kernels cannot shift further left
        return (1 << 31) - 1, 30
    return int(q_fixed), int(shift)


def f32(x: float) -> float:
    return float(np.float32(x))


def conv_multipliers(input_scale: float, filter_scales: np.ndarray, output_scale: float,
                     channels: int) -> tuple[list[int], list[int]]:
    """Per-output-channel (multiplier, shift): double(in) * double(filter[c]) / double(out).

    One filter scale is broadcast to every channel (per-tensor weights).
    """
    scales = np.asarray(filter_scales, dtype=np.float32).reshape(-1)
    if scales.size not in (1, channels):
        raise InputError(f"{scales.size} weight scales for {channels} output channels")
    mults, shifts = [], []
    for c in range(channels):
        s = float(scales[c if scales.size > 1 else 0])
        m, sh = quantize_multiplier(f32(input_scale) * s / f32(output_scale))
        mults.append(m)
        shifts.append(sh)
    return mults, shifts


def fc_per_tensor_multiplier(input_scale: float, filter_scale: float, output_scale: float) -> tuple[int, int]:
    """Per-tensor fully-connected: the input x filter scale product is a float32 product."""
    product = float(np.float32(input_scale) * np.float32(filter_scale))
    return quantize_multiplier(product / f32(output_scale))


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """int8 clamp bounds of a fused activation: zero_point + round(f / scale) in float32."""
    def q(f: float) -> int:
        return int(zero_point) + _round_away(float(np.float32(f) / np.float32(scale)))

    if activation == "NONE":
        return INT8_MIN, INT8_MAX
    if activation == "RELU":
        return max(INT8_MIN, q(0.0)), INT8_MAX
    if activation == "RELU6":
        return max(INT8_MIN, q(0.0)), min(INT8_MAX, q(6.0))
    if activation == "RELU_N1_TO_1":
        return max(INT8_MIN, q(-1.0)), min(INT8_MAX, q(1.0))
    raise InputError(f"fused activation {activation} is not supported by the C model generator")


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """(input multiplier, input left shift, diff_min) of the int8 softmax reference kernel."""
    bits = SOFTMAX_SCALED_DIFF_INTEGER_BITS
    real = min(float(beta) * f32(input_scale) * float(1 << (31 - bits)), float((1 << 31) - 1))
    if real <= 1.0:
        raise InputError(f"softmax input scale {input_scale} is too small for the int8 softmax kernel")
    mult, left_shift = quantize_multiplier(real)
    if left_shift < 0:
        raise InputError(f"softmax input scale {input_scale} gives a negative left shift")
    radius = ((1 << bits) - 1) * float(1 << (31 - bits)) / float(1 << left_shift)
    return mult, left_shift, -int(math.floor(radius))
