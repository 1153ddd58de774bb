"""Offline footprint estimate when ST Edge AI Core is not installed: flash, RAM and MACs.

- ``weights_bytes``: the constant buffers of the flatbuffer (weights, biases, other constants),
  i.e. what a runtime keeps in flash besides the graph description.
- ``arena_bytes``: the TFLite-Micro tensor arena (RecordingMicroAllocator, via Int8Classifier).
- ``macs``: multiply-accumulates of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED, computed from
  tensor shapes by walking the flatbuffer (batch 1); other ops are cheap and not counted.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from classifier.int8 import read_tflite
from firmware_export.tflite_graph import builtin_names, tflite_schema


def _shape(tensor) -> list[int]:
    dims = [int(d) for d in tensor.ShapeAsNumpy()] if tensor.ShapeLength() else []
    if dims and dims[0] <= 0:
        dims[0] = 1
    return [1 if d <= 0 else d for d in dims]


def _buffer_bytes(buf) -> int:
    if buf is None:
        return 0
    n = int(buf.DataLength())
    if n == 0 and buf.Size() and buf.Offset() > 1:  # large models keep data outside the flatbuffer
        n = int(buf.Size())
    return n


def count_macs(data: bytes) -> dict[str, Any]:
    """MACs per op (list of dicts) and in total, from the .tflite ``data``."""
    schema = tflite_schema()
    model = schema.Model.GetRootAs(data, 0)
    names = builtin_names()
    ops, total = [], 0
    sg = model.Subgraphs(0)
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        kind = names.get(builtin, str(builtin))
        inputs = [int(t) for t in op.InputsAsNumpy()] if op.InputsLength() else []
        outputs = [int(t) for t in op.OutputsAsNumpy()] if op.OutputsLength() else []
        if not inputs or not outputs:
            continue
        out = _shape(sg.Tensors(outputs[0]))
        macs = 0
        if kind == "CONV_2D" and len(inputs) > 1:
            w = _shape(sg.Tensors(inputs[1]))        # [Cout, kh, kw, Cin/groups]
            macs = int(np.prod(out)) * w[1] * w[2] * w[3]
        elif kind == "DEPTHWISE_CONV_2D" and len(inputs) > 1:
            w = _shape(sg.Tensors(inputs[1]))        # [1, kh, kw, Cout]
            macs = int(np.prod(out)) * w[1] * w[2]
        elif kind == "FULLY_CONNECTED" and len(inputs) > 1:
            w = _shape(sg.Tensors(inputs[1]))        # [units, in]
            macs = int(np.prod(out)) * w[-1]
        else:
            continue
        ops.append({"index": i, "op": kind, "output_shape": out, "macs": macs})
        total += macs
    return {"macs": total, "ops": ops}


def weights_bytes(data: bytes) -> int:
    """Bytes of the constant tensors' buffers (each buffer counted once)."""
    schema = tflite_schema()
    model = schema.Model.GetRootAs(data, 0)
    used: set[int] = set()
    for s in range(model.SubgraphsLength()):
        sg = model.Subgraphs(s)
        for t in range(sg.TensorsLength()):
            b = int(sg.Tensors(t).Buffer())
            if b > 0:
                used.add(b)
    return sum(_buffer_bytes(model.Buffers(b)) for b in used if b < model.BuffersLength())


def estimate_footprint(tflite: bytes | str | os.PathLike, arena: bool = True) -> dict[str, Any]:
    """Offline estimate: ``weights_bytes``, ``arena_bytes`` (TFLite-Micro; None if ``arena=False``),
    ``macs``, ``macs_by_op`` and ``tflite_bytes``. Source: this code, not ST Edge AI Core."""
    data, _ = read_tflite(tflite)
    macs = count_macs(data)
    arena_bytes = None
    if arena:
        from classifier import Int8Classifier

        arena_bytes = int(Int8Classifier(data).arena_bytes())
    return {
        "weights_bytes": weights_bytes(data),
        "arena_bytes": arena_bytes,
        "macs": int(macs["macs"]),
        "macs_by_op": macs["ops"],
        "tflite_bytes": len(data),
        "source": "estimate (hargan, no ST Edge AI Core)",
    }
