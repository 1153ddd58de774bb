"""The int8 .tflite as plain C11: constant weights, one static arena, TFLite's reference integer math.

``c_model_sources(tflite, name)`` returns ``<name>_model.h`` / ``<name>_model.c``: a function
``int <name>_invoke(const int8_t *input, int8_t *scores)`` that runs the graph with the kernels of
``templates/kernels/`` (no runtime, no heap), one per C op of :data:`firmware_export.c_ops.C_OPS`
(where each op's lowering, struct fields and kernel are registered). The arena holds the
activations (a greedy planner reuses it across layers) and, after them, the scratch a convolution
gathers its window into: the model has no other writable state, so ``<name>_invoke_arena`` on a
caller's arena is reentrant; ``<name>_invoke`` uses the static one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from firmware_export._cgen import check_c_name, int_table
from firmware_export.c_ops import ALIAS_OPS, C_LIMITS, C_OPS, COp, Layer, c_int32, supported_ops
from firmware_export.render import render, render_text
from firmware_export.tflite_graph import Graph, read_graph
from har_data import InputError

SUPPORTED_OPS = supported_ops()  # as registered at import (read supported_ops() for ops registered later)
SHARED_PARTS = ("common", "dot", "dot2")  # templates/kernels/<part>.c.in, in this order after the preamble
ALIGN = 4


def check_int8_graph(g: Graph, label: str = ".tflite model") -> None:
    """One int8 input, one int8 output, every op one the generator lowers (else one clear line)."""
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise InputError(f"{label}: the C model needs one input and one output tensor")
    for t in (g.t(g.inputs[0]), g.t(g.outputs[0])):
        if t.dtype != np.int8:
            raise InputError(f"{label}: input and output must be int8 (full-integer quantization)")
    supported = supported_ops()
    unsupported = [n for n in g.op_names if n not in supported]
    if unsupported:
        raise InputError(f"{label}: op {unsupported[0]} is not supported by the C model generator "
                         f"(supported: {', '.join(supported)}); use the TFLite-Micro back-end for this model")


def lower(g: Graph) -> tuple[list[Layer], dict[int, int]]:
    """Layers in order and the alias map (RESHAPE outputs share their input's buffer)."""
    layers: list[Layer] = []
    alias: dict[int, int] = {}
    for op in g.ops:
        if op.name in ALIAS_OPS:
            src = op.inputs[0]
            alias[op.outputs[0]] = alias.get(src, src)
            continue
        layer = C_OPS[op.name].lower(g, op)
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


def _kernel_text(cop: COp) -> str:
    """The kernel of ``cop`` with its parameter struct's typedef generated from its field list."""
    members = [f"  {ctype} {n};" + (f" /* {cop.comments[n]} */" if n in cop.comments else "")
               for ctype, n in cop.fields]
    members += [f"  const {ctype} *{n};" for ctype, n in cop.arrays]
    typedef = render("kernels/struct.c.in", members="\n".join(members), struct=cop.struct).rstrip("\n")
    if cop.kernel_source is not None:
        return render_text(cop.kernel_source, f"C op {cop.kind}", struct=typedef)
    return render(f"kernels/{cop.kind}.c.in", struct=typedef)


def _kernels_source(layers: list[Layer]) -> str:
    """The kernel preamble, the shared parts these layers use and each kind's kernel once (no unused statics)."""
    cops = list({layer.kind: C_OPS[layer.op] for layer in layers}.values())
    parts = [p for p in SHARED_PARTS if any(p in cop.uses for cop in cops)]
    order = list(dict.fromkeys(cop.kind for cop in C_OPS.values()))  # registration order
    return (render("kernels/preamble.c.in") + "".join(render(f"kernels/{p}.c.in") for p in parts)
            + "".join(_kernel_text(cop) for cop in sorted(cops, key=lambda c: order.index(c.kind))))


def _c_value(ctype: str, value: int, what: str) -> str:
    lo, hi = C_LIMITS[ctype]
    if not lo <= int(value) < hi:
        raise InputError(f"{what} = {value} does not fit the kernel's {ctype} parameter")
    return c_int32(value)


def _layer_text(k: int, layer: Layer, prefix: str) -> str:
    """The constant arrays and the parameter struct of layer ``k``, filled by name from its C op's lists."""
    cop = C_OPS[layer.op]
    arrays = {n for n in layer.consts if n != layer.const_input}
    if set(layer.fields) != {n for _, n in cop.fields} or arrays != {n for _, n in cop.arrays}:
        raise InputError(f"{layer.op}: the lowering gave parameters {sorted(layer.fields)} + {sorted(arrays)}, "
                         f"the C op {cop.kind} declares {[n for _, n in cop.fields + cop.arrays]}")
    out = []
    for n, (ctype, values) in layer.consts.items():
        vals = np.asarray(values).reshape(-1)
        body = int_table(vals, per_line=16) if ctype != "int32_t" else \
            "\n".join("  " + ", ".join(c_int32(v) for v in vals[i:i + 8]) + "," for i in range(0, len(vals), 8))
        out.append(render("kernels/array.c.in", P=prefix, ctype=ctype, k=k, array=n, count=len(vals), values=body))
    inits = [f"  {_c_value(ctype, layer.fields[n], f'{layer.op} {n}')}, /* {n} */" for ctype, n in cop.fields]
    inits += [f"  hg_l{k}_{n}, /* {n} */" for _, n in cop.arrays]
    return "".join(out) + render("kernels/layer.c.in", op=layer.op, struct=cop.struct, k=k,
                                 initializers="\n".join(inits))


def _gathered_taps(layer: Layer) -> int:
    """Bytes of the im2col window a CONV_2D gathers (0 when its taps are contiguous or depthwise)."""
    f = layer.fields
    if layer.kind != "conv" or f["depth_multiplier"] or (f["in_w"] == 1 and f["k_w"] == 1 and f["dil_h"] == 1):
        return 0
    return f["k_h"] * f["k_w"] * f["in_c"]


def _call(k: int, layer: Layer, offsets: dict[int, int], scratch: int) -> str:
    """The kernel call of layer ``k``: its inputs, constant operand, output and (if it takes one) the scratch."""
    args = [f"a + {offsets[i]}" for i in layer.inputs]
    if layer.const_input:
        args.append(f"hg_l{k}_{layer.const_input}")
    args.append(f"a + {offsets[layer.output]}")
    if C_OPS[layer.op].scratch:
        args.append(f"a + {scratch}")
    return f"  {C_OPS[layer.op].function}(&hg_l{k}, {', '.join(args)}); /* {layer.op} */"


@dataclass
class CModel:
    """What the generator made: the two sources plus figures for headers and reports."""

    files: dict[str, str]
    arena_bytes: int  # activations + the convolutions' scratch: <NAME>_C_ARENA_BYTES
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
    offsets, activations = plan_arena(g, layers, x.index, out_id)
    scratch = max([_gathered_taps(layer) for layer in layers] + [0])
    arena = max(activations + -(-scratch // ALIGN) * ALIGN, ALIGN)
    weight_bytes = sum(np.asarray(v).size * np.dtype(c.replace("_t", "")).itemsize
                       for layer in layers for c, v in layer.consts.values())
    h = f"{name}_model.h"
    values = {"name": name, "P": p, "input_size": x.size, "output_size": y.size}
    header = render("model.h.in", h, ops=", ".join(g.op_names), arena=arena, align=ALIGN, **values)
    layer_text = "".join(_layer_text(k, layer, p) for k, layer in enumerate(layers))
    source = render("model.c.in", kernels=_kernels_source(layers), layers=layer_text[:-1],
                    input_offset=offsets[x.index], output_offset=offsets[out_id],
                    calls="\n".join(_call(k, layer, offsets, activations) for k, layer in enumerate(layers)), **values)
    return CModel({h: header, f"{name}_model.c": source}, arena, x.size, y.size, g.op_names, int(weight_bytes))
