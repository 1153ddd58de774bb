"""The int8 .tflite as plain C11: constant weights, one static arena, TFLite's reference integer math.

``c_model_sources(tflite, name)`` returns ``<name>_model.h`` / ``<name>_model.c``: a function
``int <name>_invoke(const int8_t *input, int8_t *scores)`` that runs the graph with the kernels of
``templates/kernels.c.in`` (no runtime, no heap). Every constant the reference kernels derive at
prepare time (Q31 multipliers and shifts, clamp bounds, softmax parameters) is computed here as
they compute it (:mod:`firmware_export.quant_math`), so the outputs are byte-identical to LiteRT's
reference kernels. The arena holds the activations; a greedy planner reuses it across layers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from firmware_export._cgen import BANNER, EXTERN_C_CLOSE, EXTERN_C_OPEN, check_c_name, guard_close, guard_open, \
    int_table
from firmware_export.quant_math import (activation_range, conv_multipliers, fc_per_tensor_multiplier,
                                        quantize_multiplier, softmax_params)
from firmware_export.tflite_graph import ACTIVATIONS, Graph, Op, Tensor, read_graph
from har_data import InputError

SUPPORTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "MEAN", "REDUCE_MAX", "MUL",
                 "RESHAPE", "SOFTMAX")
ALIGN = 4


@dataclass
class Layer:
    """One generated call: ``kind`` names the kernel, ``fields`` its parameter struct (C initializers)."""

    kind: str
    op: str
    inputs: list[int]  # activation tensors read
    output: int
    fields: dict[str, str] = field(default_factory=dict)
    consts: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)  # name -> (ctype, values)
    const_input: str | None = None  # a constant operand (MUL by a constant)


def _i32(v: int) -> str:
    return "(-2147483647 - 1)" if int(v) == -(1 << 31) else str(int(v))


def _check_i32(values: np.ndarray, what: str) -> np.ndarray:
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
              "bias": ("int32_t", _check_i32(bias + in_offset * sums, f"{op.name} bias")),
              "mult": ("int32_t", np.asarray(mults)), "shift": ("int8_t", np.asarray(shifts))}
    return Layer("conv", op.name, [x.index], y.index, {k: str(v) for k, v in fields.items()}, consts)


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
              "bias": ("int32_t", _check_i32(bias + in_offset * sums, "FULLY_CONNECTED bias")),
              "mult": ("int32_t", np.asarray(mults)), "shift": ("int8_t", np.asarray(shifts))}
    return Layer("fully_connected", op.name, [x.index], y.index, {k: str(v) for k, v in fields.items()}, consts)


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
    return Layer("pool", op.name, [x.index], y.index, {k: str(v) for k, v in fields.items()})


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
    return Layer("mean", op.name, [x.index], y.index, {k: str(v) for k, v in fields.items()})


def _reduce_max(g: Graph, op: Op) -> Layer:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    ih, iw, c = _axes_hw(g, op)
    _same_quant(x, y, op.name)
    fields = dict(in_h=ih, in_w=iw, ch=c, out_h=1, out_w=1, f_h=ih, f_w=iw, stride_h=1, stride_w=1, pad_h=0, pad_w=0,
                  act_min=-128, act_max=127)
    return Layer("pool", op.name, [x.index], y.index, {k: str(v) for k, v in fields.items()})


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
    layer = Layer("mul", op.name, [a.index] + ([] if b.data is not None else [b.index]), y.index,
                  {k: str(v) for k, v in fields.items()})
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
    return Layer("softmax", op.name, [x.index], y.index, {k: str(v) for k, v in fields.items()})


LOWER = {"CONV_2D": _conv, "DEPTHWISE_CONV_2D": _conv, "FULLY_CONNECTED": _fully_connected,
         "MAX_POOL_2D": _max_pool, "MEAN": _mean, "REDUCE_MAX": _reduce_max, "MUL": _mul, "SOFTMAX": _softmax}
STRUCTS = {"conv": "hg_conv_t", "fully_connected": "hg_fc_t", "pool": "hg_pool_t", "mean": "hg_mean_t",
           "mul": "hg_mul_t", "softmax": "hg_softmax_t"}
KERNELS = {"conv": "hg_conv", "fully_connected": "hg_fully_connected", "pool": "hg_max_pool", "mean": "hg_mean",
           "mul": "hg_mul", "softmax": "hg_softmax"}


def check_int8_graph(g: Graph, label: str = ".tflite model") -> None:
    """One int8 input, one int8 output, every op one the generator lowers (else one clear line)."""
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise InputError(f"{label}: the C model needs one input and one output tensor")
    for t in (g.t(g.inputs[0]), g.t(g.outputs[0])):
        if t.dtype != np.int8:
            raise InputError(f"{label}: input and output must be int8 (full-integer quantization)")
    unsupported = [n for n in g.op_names if n not in SUPPORTED_OPS]
    if unsupported:
        raise InputError(f"{label}: op {unsupported[0]} is not supported by the C model generator "
                         f"(supported: {', '.join(SUPPORTED_OPS)}); use the TFLite-Micro back-end for this model")


def lower(g: Graph) -> tuple[list[Layer], dict[int, int]]:
    """Layers in order and the alias map (RESHAPE outputs share their input's buffer)."""
    layers: list[Layer] = []
    alias: dict[int, int] = {}
    for op in g.ops:
        if op.name == "RESHAPE":
            src = op.inputs[0]
            alias[op.outputs[0]] = alias.get(src, src)
            continue
        layer = LOWER[op.name](g, op)
        layer.inputs = [alias.get(i, i) for i in layer.inputs]
        layers.append(layer)
    return layers, alias


def plan_arena(g: Graph, layers: list[Layer], input_id: int, output_id: int) -> tuple[dict[int, int], int]:
    """Greedy first-fit offsets for the activation buffers (live from producer to last reader)."""
    life: dict[int, list[int]] = {input_id: [-1, -1]}
    for k, layer in enumerate(layers):
        life.setdefault(layer.output, [k, k])
        for i in layer.inputs:
            life[i][1] = max(life[i][1], k)
    life[output_id][1] = len(layers)
    size = {t: -(-g.tensors[t].size // ALIGN) * ALIGN for t in life}
    placed: list[tuple[int, int, int, int]] = []  # offset, size, start, end
    offsets = {}
    for t in sorted(life, key=lambda t: (-size[t], life[t][0])):
        s, e = life[t]
        clash = sorted((o, n) for o, n, a, b in placed if not (b < s or e < a))
        off = 0
        for o, n in clash:
            if off + size[t] <= o:
                break
            off = max(off, o + n)
        offsets[t] = off
        placed.append((off, size[t], s, e))
    return offsets, max((o + n for o, n, _, _ in placed), default=0)


def _kernels_source(kinds: set[str]) -> str:
    """The kernel template's preamble and the sections these layer kinds need (no unused statics)."""
    text = resources.files("firmware_export").joinpath("templates/kernels.c.in").read_text()
    preamble, *parts = text.split("/*@ ")
    sections = dict(part.split(" */\n", 1) for part in parts)
    wanted = {"common"} | set(kinds) | ({"dot"} if kinds & {"conv", "fully_connected"} else set())
    return preamble + "".join(sections[k] for k in sections if k in wanted)


def _const_arrays(k: int, layer: Layer) -> str:
    out = []
    for name, (ctype, values) in layer.consts.items():
        vals = np.asarray(values).reshape(-1)
        body = int_table(vals, per_line=16) if ctype != "int32_t" else \
            "\n".join("  " + ", ".join(_i32(v) for v in vals[i:i + 8]) + "," for i in range(0, len(vals), 8))
        out.append(f"static const {ctype} hg_l{k}_{name}[{len(vals)}] = {{\n{body}\n}};\n")
    return "".join(out)


def _struct(k: int, layer: Layer) -> str:
    # Positional, in the struct's field order (C++11 has no designated initializers).
    fields = [f"  {v}, /* {n} */" for n, v in layer.fields.items()]
    fields += [f"  hg_l{k}_{n}, /* {n} */" for n in layer.consts if n != layer.const_input]
    return f"/* {layer.op} */\nstatic const {STRUCTS[layer.kind]} hg_l{k} = {{\n" + "\n".join(fields) + "\n};\n"


def _gathered_taps(layer: Layer) -> int:
    """Bytes of the im2col window a CONV_2D gathers (0 when its taps are contiguous or depthwise)."""
    f = {k: int(v) for k, v in layer.fields.items()}
    if layer.kind != "conv" or f["depth_multiplier"] or (f["in_w"] == 1 and f["k_w"] == 1 and f["dil_h"] == 1):
        return 0
    return f["k_h"] * f["k_w"] * f["in_c"]


def _call(k: int, layer: Layer, offsets: dict[int, int]) -> str:
    args = [f"a + {offsets[i]}" for i in layer.inputs]
    if layer.const_input:
        args.append(f"hg_l{k}_{layer.const_input}")
    return f"  {KERNELS[layer.kind]}(&hg_l{k}, {', '.join(args)}, a + {offsets[layer.output]}); /* {layer.op} */"


@dataclass
class CModel:
    """What the generator made: the two sources plus figures for headers and reports."""

    files: dict[str, str]
    arena_bytes: int
    input_size: int
    output_size: int
    ops: list[str]
    weight_bytes: int


def c_model_sources(model: bytes | str | os.PathLike, name: str = "har_model") -> CModel:
    """``<name>_model.h`` and ``<name>_model.c`` for the int8 .tflite ``model`` (bytes or path)."""
    name = check_c_name(name)
    p = name.upper()
    g = read_graph(model)
    check_int8_graph(g)
    layers, alias = lower(g)
    x, y = g.t(g.inputs[0]), g.t(g.outputs[0])
    out_id = alias.get(y.index, y.index)
    offsets, arena = plan_arena(g, layers, x.index, out_id)
    weight_bytes = sum(np.asarray(v).size * np.dtype(c.replace("_t", "")).itemsize
                       for layer in layers for c, v in layer.consts.values())
    h = f"{name}_model.h"
    header = (guard_open(h) + "#include <stdint.h>\n\n" + EXTERN_C_OPEN
              + f"/* The int8 model: {x.size} int8 inputs -> {y.size} int8 scores. Ops: {', '.join(g.op_names)}. */\n"
              + f"#define {p}_MODEL_INPUT_SIZE {x.size}\n#define {p}_MODEL_OUTPUT_SIZE {y.size}\n"
              + "/* Plain C back-end: bytes of its static activation arena (reused across layers). */\n"
              + f"#define {p}_C_ARENA_BYTES {arena}\n\n"
              + "/* Run the model on int8 input codes; writes the int8 scores. Returns 0 on success.\n"
              + f"   Built by {name}_model.c (plain C) or, with {p}_USE_TFLM defined, by {name}_tflm.cc. */\n"
              + f"int {name}_invoke(const int8_t *input, int8_t *scores);\n\n" + EXTERN_C_CLOSE + guard_close(h))
    consts = "".join(_const_arrays(k, layer) + _struct(k, layer) + "\n" for k, layer in enumerate(layers))
    col_bytes = max([_gathered_taps(layer) for layer in layers] + [1])
    calls = "\n".join(_call(k, layer, offsets) for k, layer in enumerate(layers))
    source = (BANNER + f"/* Plain C11 int8 model (no runtime, no heap). Compiled out when {p}_USE_TFLM is defined. */\n"
              + f'#include "{h}"\n\n#ifndef {p}_USE_TFLM\n\n#include <stdint.h>\n#include <string.h>\n\n'
              + f"#define HG_COL_BYTES {col_bytes}\n" + _kernels_source({layer.kind for layer in layers})
              + "\n/* ---- this model ---- */\n\n" + consts
              + f"static union {{\n  int32_t align;\n  int8_t bytes[{max(arena, ALIGN)}];\n}} hg_arena;\n\n"
              + f"int {name}_invoke(const int8_t *input, int8_t *scores)\n{{\n  int8_t *const a = hg_arena.bytes;\n"
              + f"  memcpy(a + {offsets[x.index]}, input, {x.size});\n{calls}\n"
              + f"  memcpy(scores, a + {offsets[out_id]}, {y.size});\n  return 0;\n}}\n\n"
              + f"#else\ntypedef int {name}_model_c_unused; /* TFLite-Micro back-end: see {name}_tflm.cc */\n"
              + f"#endif /* {p}_USE_TFLM */\n")
    return CModel({h: header, f"{name}_model.c": source}, arena, x.size, y.size, g.op_names, int(weight_bytes))
