"""The int8 .tflite as a plain graph: tensors (shape, quantization, constant data) and ops in order.

Read with the flatbuffer schema that LiteRT ships (``ai_edge_litert.schema_py_generated``), so the
C model generator sees exactly what the interpreters see: one subgraph, int8 activations,
per-channel or per-tensor weight scales, int32 biases.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from har_data import InputError

# TFLite tensor type codes -> numpy dtypes (the ones an int8 classifier holds).
_DTYPES = {0: np.float32, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16, 9: np.int8}
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


@dataclass
class Tensor:
    """One tensor: ``data`` is set for constants (weights, biases, shapes), None for activations."""

    index: int
    shape: tuple[int, ...]
    dtype: Any
    scales: np.ndarray  # float32, empty when not quantized
    zero_points: np.ndarray  # int64
    quantized_dim: int
    data: np.ndarray | None

    @property
    def scale(self) -> float:
        """The per-tensor scale (float32 value as a Python float)."""
        return float(self.scales[0]) if self.scales.size else 0.0

    @property
    def zero_point(self) -> int:
        return int(self.zero_points[0]) if self.zero_points.size else 0

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1


@dataclass
class Op:
    """One operator: builtin name, input/output tensor indices (-1: absent) and its options."""

    name: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    tensors: list[Tensor]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]

    def t(self, index: int) -> Tensor:
        """The tensor at ``index``; an absent one (-1) is an error (see :meth:`optional`)."""
        if index < 0:
            raise InputError("an operator's required tensor is absent (index -1)")
        return self.tensors[index]

    def optional(self, index: int) -> Tensor | None:
        """An optional input (e.g. a bias): None when absent (-1)."""
        return None if index < 0 else self.tensors[index]

    @property
    def op_names(self) -> list[str]:
        """The distinct builtin ops, in order of first use."""
        return list(dict.fromkeys(op.name for op in self.ops))


def tflite_schema() -> Any:
    """LiteRT's generated flatbuffer schema module (imported on first use): the one reader and writer of
    .tflite structure in firmware_export."""
    from ai_edge_litert import schema_py_generated as schema

    return schema


def builtin_names() -> dict[int, str]:
    """Builtin operator code -> its name (``CONV_2D``, ...)."""
    ops = tflite_schema().BuiltinOperator
    return {v: k for k, v in vars(ops).items() if not k.startswith("_") and isinstance(v, int)}


def _tensor(i: int, t: Any, buffers: list, where: str) -> Tensor:
    if t.type not in _DTYPES:
        raise InputError(f"{where}: tensor {i} has type code {t.type}, not one of an int8 model's types")
    dtype = _DTYPES[t.type]
    q = t.quantization
    scales = np.asarray(q.scale if q is not None and q.scale is not None else [], dtype=np.float32)
    zps = np.asarray(q.zeroPoint if q is not None and q.zeroPoint is not None else [], dtype=np.int64)
    qdim = int(q.quantizedDimension) if q is not None else 0
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
    raw = buffers[t.buffer].data if 0 < t.buffer < len(buffers) else None
    data = None
    if raw is not None and len(raw):
        data = np.frombuffer(np.asarray(raw, dtype=np.uint8).tobytes(), dtype=dtype).reshape(shape)
    return Tensor(i, shape, dtype, scales, zps, qdim, data)


def _options(op: Any) -> dict[str, Any]:
    opt = op.builtinOptions
    if opt is None:
        return {}
    return {k: v for k, v in vars(opt).items() if not k.startswith("_")}


def read_graph(model: bytes | str | os.PathLike) -> Graph:
    """Parse an int8 .tflite (bytes or path) into a :class:`Graph`; one subgraph only."""
    from classifier.int8 import read_tflite

    data, where = read_tflite(model)
    label = str(where) if where is not None else ".tflite model"
    m = tflite_schema().ModelT.InitFromPackedBuf(bytearray(data), 0)
    if not m.subgraphs or len(m.subgraphs) != 1:
        raise InputError(f"{label}: expected one subgraph, found {len(m.subgraphs or [])}")
    g = m.subgraphs[0]
    names = builtin_names()
    tensors = [_tensor(i, t, m.buffers, label) for i, t in enumerate(g.tensors)]
    ops = []
    for op in g.operators:
        code = m.operatorCodes[op.opcodeIndex]
        builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        name = names.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM":
            name = f"CUSTOM:{code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode}"
        ops.append(Op(name, [int(i) for i in op.inputs], [int(i) for i in op.outputs], _options(op)))
    return Graph(tensors, ops, [int(i) for i in g.inputs], [int(i) for i in g.outputs])
