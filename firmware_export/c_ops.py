"""The C ops: each TFLite builtin the plain C model lowers, registered once in :data:`C_OPS`.

A :class:`COp` says everything the generator needs about one kernel: the TFLite ops it lowers
(``lower``: graph op -> :class:`Layer` with its parameters by name), its parameter struct's fields
(type and name, in one list: the struct's typedef and every initializer are generated from it, so
they cannot disagree), the constant arrays the struct points to, and its kernel template
(``templates/kernels/<kind>.c.in``, or ``kernel_source`` for an op added from outside the package).
:func:`register_op` adds one; the generator (:mod:`firmware_export.c_model`), the supported-op
check and the error message all read this registry.

The lowering computes every constant TFLite's reference kernels derive at prepare time (Q31
multipliers and shifts, clamp bounds, softmax parameters) as they compute it
(:mod:`firmware_export.quant_math`), so the generated C is byte-identical to LiteRT's reference kernels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from firmware_export.quant_math import (activation_range, conv_multipliers, fc_per_tensor_multiplier,
                                        quantize_multiplier, softmax_params)
from firmware_export.tflite_graph import ACTIVATIONS, Graph, Op, Tensor
from har_data import InputError

ALIAS_OPS = ("RESHAPE",)  # no kernel: the output shares the input's buffer
C_LIMITS = {"int8_t": (-(1 << 7), 1 << 7), "int16_t": (-(1 << 15), 1 << 15), "int32_t": (-(1 << 31), 1 << 31)}


@dataclass
class Layer:
    """One generated call: ``kind`` names the C op, ``fields`` its struct's scalar parameters by name."""

    kind: str
    op: str
    inputs: list[int]  # activation tensors read
    output: int
    fields: dict[str, int] = field(default_factory=dict)
    consts: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)  # name -> (ctype, values)
    const_input: str | None = None  # a constant operand passed to the kernel, not held by the struct


@dataclass(frozen=True)
class COp:
    """One C kernel: struct ``hg_<kind>_t``, function ``hg_<kind>(const hg_<kind>_t *, inputs..., out)``."""

    kind: str
    tflite_ops: tuple[str, ...]
    lower: Callable[[Graph, Op], Layer]
    fields: tuple[tuple[str, str], ...]  # (C type, name) of the scalar parameters, in struct order
    arrays: tuple[tuple[str, str], ...] = ()  # (C element type, name) of the constant arrays it points to
    uses: tuple[str, ...] = ("common",)  # shared kernel parts (templates/kernels/<part>.c.in) it calls
    kernel_source: str | None = None  # the kernel's C text ($struct: its typedef); None: its template
    comments: dict[str, str] = field(default_factory=dict)  # field name -> comment in the typedef
    scratch: bool = False  # the kernel takes the arena's scratch area (im2col window) as its last argument

    @property
    def struct(self) -> str:
        return f"hg_{self.kind}_t"

    @property
    def function(self) -> str:
        return f"hg_{self.kind}"


def c_int32(v: int) -> str:
    return "(-2147483647 - 1)" if int(v) == -(1 << 31) else str(int(v))


def _checkc_int32(values: np.ndarray, what: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.int64)
    if v.size and (v.min() < -(1 << 31) or v.max() >= (1 << 31)):
        raise InputError(f"{what} does not fit in int32 after folding the input offset")
    return v


def _activation(op: Op) -> str:
    code = int(op.options.get("fusedActivationFunction", 0) or 0)
    if code not in ACTIVATIONS:
        raise InputError(f"{op.name}: fused activation code {code} is not supported by the C model generator")
    return ACTIVATIONS[code]


def _pad(padding: int, in_size: int, out_size: int, stride: int, k: int, dil: int = 1) -> int:
    """TFLite's top/left padding: half the total (SAME), 0 (VALID)."""
    if int(padding) == 1:  # VALID
        return 0
    total = (out_size - 1) * stride + (k - 1) * dil + 1 - in_size
    return max(total, 0) // 2


def _nhwc(t: Tensor, what: str) -> tuple[int, int, int]:
    if len(t.shape) != 4 or t.shape[0] != 1:
        raise InputError(f"{what}: expected a 1 x H x W x C tensor, got shape {t.shape}")
    return t.shape[1], t.shape[2], t.shape[3]


def _conv(g: Graph, op: Op) -> Layer:
    x, w, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    b = g.optional(op.inputs[2]) if len(op.inputs) > 2 else None
    depthwise = op.name == "DEPTHWISE_CONV_2D"
    ih, iw, ic = _nhwc(x, op.name)
    oh, ow, oc = _nhwc(y, op.name)
    if w.data is None or (b is not None and b.data is None):
        raise InputError(f"{op.name}: weights and bias must be constants")
    if np.any(w.zero_points != 0):
        raise InputError(f"{op.name}: weights with a non-zero zero point are not supported")
    kh, kw = (w.shape[1], w.shape[2])
    wq = w.data.astype(np.int64)
    bias = b.data.astype(np.int64) if b is not None and b.data is not None else np.zeros(oc, np.int64)
    in_offset = -x.zero_point
    if depthwise:
        sums = wq.reshape(kh * kw, oc).sum(axis=0)
        weights = w.data.reshape(-1)
    else:
        sums = wq.reshape(oc, -1).sum(axis=1)
        weights = w.data.reshape(-1)
    mults, shifts = conv_multipliers(x.scale, w.scales, y.scale, oc)
    lo, hi = activation_range(_activation(op), y.scale, y.zero_point)
    sh, sw = int(op.options.get("strideH", 1)), int(op.options.get("strideW", 1))
    dh, dw = int(op.options.get("dilationHFactor", 1) or 1), int(op.options.get("dilationWFactor", 1) or 1)
    padding = int(op.options.get("padding", 1))
    fields = dict(in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw, stride_h=sh, stride_w=sw,
                  dil_h=dh, dil_w=dw, pad_h=_pad(padding, ih, oh, sh, kh, dh), pad_w=_pad(padding, iw, ow, sw, kw, dw),
                  depth_multiplier=(oc // ic) if depthwise else 0, in_offset=in_offset, out_offset=y.zero_point,
                  act_min=lo, act_max=hi)
    consts = {"weights": ("int8_t", weights),
              "bias": ("int32_t", _checkc_int32(bias + in_offset * sums, f"{op.name} bias")),
              "mult": ("int32_t", np.asarray(mults)), "shift": ("int8_t", np.asarray(shifts))}
    return Layer("conv", op.name, [x.index], y.index, fields, consts)


def _fully_connected(g: Graph, op: Op) -> Layer:
    x, w, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    b = g.optional(op.inputs[2]) if len(op.inputs) > 2 else None
    if w.data is None or (b is not None and b.data is None):
        raise InputError("FULLY_CONNECTED: weights and bias must be constants")
    if np.any(w.zero_points != 0):
        raise InputError("FULLY_CONNECTED: weights with a non-zero zero point are not supported")
    out_size, in_size = w.shape
    if x.size != in_size or y.size != out_size:
        raise InputError(f"FULLY_CONNECTED: batch > 1 is not supported (input {x.shape}, weights {w.shape})")
    in_offset = -x.zero_point
    bias = b.data.astype(np.int64) if b is not None and b.data is not None else np.zeros(out_size, np.int64)
    if w.scales.size > 1:
        mults, shifts = conv_multipliers(x.scale, w.scales, y.scale, out_size)
    else:
        m, s = fc_per_tensor_multiplier(x.scale, w.scale, y.scale)
        mults, shifts = [m], [s]
    lo, hi = activation_range(_activation(op), y.scale, y.zero_point)
    fields = dict(in_size=in_size, out_size=out_size, per_channel=int(w.scales.size > 1), out_offset=y.zero_point,
                  act_min=lo, act_max=hi)
    sums = w.data.astype(np.int64).sum(axis=1)
    consts = {"weights": ("int8_t", w.data.reshape(-1)),
              "bias": ("int32_t", _checkc_int32(bias + in_offset * sums, "FULLY_CONNECTED bias")),
              "mult": ("int32_t", np.asarray(mults)), "shift": ("int8_t", np.asarray(shifts))}
    return Layer("fully_connected", op.name, [x.index], y.index, fields, consts)


def _same_quant(x: Tensor, y: Tensor, what: str) -> None:
    if x.scale != y.scale or x.zero_point != y.zero_point:
        raise InputError(f"{what}: output quantization differs from the input's (not supported)")


def _max_pool(g: Graph, op: Op) -> Layer:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    ih, iw, c = _nhwc(x, op.name)
    oh, ow, _ = _nhwc(y, op.name)
    _same_quant(x, y, op.name)
    fh, fw = int(op.options["filterHeight"]), int(op.options["filterWidth"])
    sh, sw = int(op.options["strideH"]), int(op.options["strideW"])
    padding = int(op.options.get("padding", 1))
    lo, hi = activation_range(_activation(op), y.scale, y.zero_point)
    fields = dict(in_h=ih, in_w=iw, ch=c, out_h=oh, out_w=ow, f_h=fh, f_w=fw, stride_h=sh, stride_w=sw,
                  pad_h=_pad(padding, ih, oh, sh, fh), pad_w=_pad(padding, iw, ow, sw, fw), act_min=lo, act_max=hi)
    return Layer("max_pool", op.name, [x.index], y.index, fields)


def _axes_hw(g: Graph, op: Op) -> tuple[int, int, int]:
    x, axis = g.t(op.inputs[0]), g.t(op.inputs[1])
    ih, iw, c = _nhwc(x, op.name)
    if axis.data is None or sorted(int(a) % 4 for a in axis.data.reshape(-1)) != [1, 2]:
        raise InputError(f"{op.name}: only a reduction over height and width (axes 1, 2) is supported")
    return ih, iw, c


def _mean(g: Graph, op: Op) -> Layer:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    ih, iw, c = _axes_hw(g, op)
    if not op.options.get("keepDims", False):
        raise InputError("MEAN: only keep_dims=True is supported (TFLite's int8 Mean kernel)")
    m, s = quantize_multiplier(float(np.float32(x.scale)) / float(np.float32(y.scale)))
    n = ih * iw
    k = min(n.bit_length() - 1, 32, 31 + s)
    m, s = (m << k) // n, s - k
    fields = dict(n=ih * iw, ch=c, in_zero_point=x.zero_point, out_zero_point=y.zero_point, mult=m, shift=s)
    return Layer("mean", op.name, [x.index], y.index, fields)


def _reduce_max(g: Graph, op: Op) -> Layer:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    ih, iw, c = _axes_hw(g, op)
    _same_quant(x, y, op.name)
    fields = dict(in_h=ih, in_w=iw, ch=c, out_h=1, out_w=1, f_h=ih, f_w=iw, stride_h=1, stride_w=1, pad_h=0, pad_w=0,
                  act_min=-128, act_max=127)
    return Layer("max_pool", op.name, [x.index], y.index, fields)


def _mul(g: Graph, op: Op) -> Layer:
    a, b, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    if a.data is not None and b.data is None:
        a, b = b, a
    if a.data is not None:
        raise InputError("MUL: both operands are constants (fold them before export)")
    if b.size not in (1, a.size) or a.size != y.size:
        raise InputError(f"MUL: broadcasting {a.shape} by {b.shape} is not supported (only same shape or one value)")
    m, s = quantize_multiplier(float(np.float32(a.scale)) * float(np.float32(b.scale)) / float(np.float32(y.scale)))
    lo, hi = activation_range(_activation(op), y.scale, y.zero_point)
    fields = dict(size=a.size, b_stride=0 if b.size == 1 else 1, a_offset=-a.zero_point, b_offset=-b.zero_point,
                  out_offset=y.zero_point, mult=m, act_min=lo, act_max=hi, shift=s)
    layer = Layer("mul", op.name, [a.index] + ([] if b.data is not None else [b.index]), y.index, fields)
    if b.data is not None:
        layer.consts["operand"] = ("int8_t", b.data.reshape(-1))
        layer.const_input = "operand"
    return layer


def _softmax(g: Graph, op: Op) -> Layer:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if y.zero_point != -128 or float(np.float32(y.scale)) != 1.0 / 256:
        raise InputError("SOFTMAX: int8 output must have scale 1/256 and zero point -128")
    depth = x.shape[-1]
    mult, left, diff_min = softmax_params(float(op.options.get("beta", 1.0)), x.scale)
    fields = dict(rows=x.size // depth, depth=depth, input_multiplier=mult, input_left_shift=left, diff_min=diff_min)
    return Layer("softmax", op.name, [x.index], y.index, fields)


_CONV_FIELDS = tuple(("int16_t", n) for n in ("in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "k_h", "k_w",
                                              "stride_h", "stride_w", "dil_h", "dil_w", "pad_h", "pad_w",
                                              "depth_multiplier")) + tuple(
    ("int32_t", n) for n in ("in_offset", "out_offset", "act_min", "act_max"))
_WEIGHTS = (("int8_t", "weights"), ("int32_t", "bias"), ("int32_t", "mult"), ("int8_t", "shift"))
_POOL_FIELDS = tuple(("int16_t", n) for n in ("in_h", "in_w", "ch", "out_h", "out_w", "f_h", "f_w", "stride_h",
                                              "stride_w", "pad_h", "pad_w")) + (("int32_t", "act_min"),
                                                                                  ("int32_t", "act_max"))

C_OPS: dict[str, COp] = {}


def register_op(cop: COp) -> COp:
    """Add ``cop`` for each of its TFLite ops (the one place a C op is declared); returns it."""
    for name in cop.tflite_ops:
        C_OPS[name] = cop
    return cop


def supported_ops() -> tuple[str, ...]:
    """The TFLite builtin ops the plain C model lowers."""
    return tuple(dict.fromkeys([*C_OPS, *ALIAS_OPS]))


register_op(COp("conv", ("CONV_2D", "DEPTHWISE_CONV_2D"), _conv, _CONV_FIELDS, _WEIGHTS, ("common", "dot", "dot2"),
                comments={"depth_multiplier": "0: CONV_2D; >= 1: DEPTHWISE_CONV_2D"}, scratch=True))
register_op(COp("fully_connected", ("FULLY_CONNECTED",), _fully_connected,
                (("int16_t", "in_size"), ("int16_t", "out_size"), ("int16_t", "per_channel"),
                 ("int32_t", "out_offset"), ("int32_t", "act_min"), ("int32_t", "act_max")), _WEIGHTS,
                ("common", "dot")))
register_op(COp("max_pool", ("MAX_POOL_2D",), _max_pool, _POOL_FIELDS))
register_op(COp("mean", ("MEAN",), _mean, (("int16_t", "n"), ("int16_t", "ch"), ("int32_t", "in_zero_point"),
                                           ("int32_t", "out_zero_point"), ("int32_t", "mult"), ("int8_t", "shift"))))
register_op(COp("max_pool", ("REDUCE_MAX",), _reduce_max, _POOL_FIELDS))
register_op(COp("mul", ("MUL",), _mul, (("int16_t", "size"), ("int16_t", "b_stride"), ("int32_t", "a_offset"),
                                        ("int32_t", "b_offset"), ("int32_t", "out_offset"), ("int32_t", "mult"),
                                        ("int32_t", "act_min"), ("int32_t", "act_max"), ("int8_t", "shift"))))
register_op(COp("softmax", ("SOFTMAX",), _softmax, (("int16_t", "rows"), ("int16_t", "depth"),
                                                    ("int32_t", "input_multiplier"), ("int32_t", "input_left_shift"),
                                                    ("int32_t", "diff_min"))))
