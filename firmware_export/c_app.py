"""The application layer: one C API over both back-ends, and its Python twin.

Files (``name="har_model"``):
  har_model.h / .c       ``har_model_classify`` (a window of raw counts -> class), ``har_model_push``
                         (one sample at a time; a class each time a window completes, every
                         ``HAR_MODEL_STRIDE`` samples), the preprocessing the model was trained with
                         (ST's gravity rotation + suppression filter when it was), arena sizes
  har_model_tflm.cc      ``har_model_invoke`` on TFLite-Micro (compiled only with HAR_MODEL_USE_TFLM)
  har_model_tflm_ops.h   ``har_model_register_ops``: the model's ops on a MicroMutableOpResolver

:func:`preprocess_counts` and :func:`stream_inputs` are the Python twins of the C preprocessing:
the same int8 inputs, bit for bit, from the same raw counts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from firmware_export._cgen import c_float, check_c_name
from firmware_export.c_decide import decide_sources
from firmware_export.convert import counts_to_int8, mg_split, mg_to_int8
from firmware_export.render import render
from har_data import InputError, SensorSpec
from har_data.gravity import DEFAULT_PRECISION, GravityRotationFilter, _coefficients, check_precision, sections

# Builtin op -> the MicroMutableOpResolver method that registers it.
TFLM_ADD = {
    "ADD": "AddAdd", "AVERAGE_POOL_2D": "AddAveragePool2D", "CONCATENATION": "AddConcatenation",
    "CONV_2D": "AddConv2D", "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D", "DEQUANTIZE": "AddDequantize",
    "EXPAND_DIMS": "AddExpandDims", "FULLY_CONNECTED": "AddFullyConnected", "LOGISTIC": "AddLogistic",
    "MAX_POOL_2D": "AddMaxPool2D", "MEAN": "AddMean", "MUL": "AddMul", "PAD": "AddPad", "QUANTIZE": "AddQuantize",
    "REDUCE_MAX": "AddReduceMax", "RELU": "AddRelu", "RELU6": "AddRelu6", "RESHAPE": "AddReshape",
    "SOFTMAX": "AddSoftmax", "SQUEEZE": "AddSqueeze", "STRIDED_SLICE": "AddStridedSlice", "SUM": "AddSum",
    "TANH": "AddTanh", "TRANSPOSE": "AddTranspose",
}


def preprocess_counts(counts: np.ndarray, sensor: SensorSpec, input_scale: float, input_zero_point: int,
                      gravity: bool, precision: str = DEFAULT_PRECISION) -> np.ndarray:
    """K x 3 raw counts of one stream (a fresh filter) -> K x 3 int8 model inputs, as the C code does it.

    ``gravity``: counts -> mg (what the sensor reports, float32) -> streaming gravity rotation +
    suppression in ``precision`` -> int8; otherwise counts -> int8 directly (:func:`counts_to_int8`).
    """
    c = np.asarray(counts)
    if c.ndim != 2 or c.shape[1] != 3:
        raise InputError(f"raw counts must be K x 3 (x, y, z), got shape {c.shape}")
    if not gravity:
        return counts_to_int8(c, sensor, input_scale, input_zero_point)
    dyn = GravityRotationFilter(sensor.odr_hz, suppress=True, precision=precision).process(sensor.to_mg(c))
    return mg_to_int8(dyn, input_scale, input_zero_point)


def stream_inputs(counts: np.ndarray, sensor: SensorSpec, input_scale: float, input_zero_point: int,
                  gravity: bool, window_length: int, stride: int, precision: str = DEFAULT_PRECISION) -> np.ndarray:
    """The int8 windows ``<name>_push`` classifies over a stream of raw counts (one filter throughout)."""
    q = preprocess_counts(counts, sensor, input_scale, input_zero_point, gravity, precision)
    starts = range(0, len(q) - int(window_length) + 1, int(stride))
    return np.stack([q[s:s + window_length] for s in starts]) if len(starts) else np.zeros((0, window_length, 3),
                                                                                           np.int8)


def _literals(values: np.ndarray, literal: Callable[[float], str]) -> str:
    """A C initializer's inside: ``a, b`` for a vector, ``{a, b}, {c, d}`` for rows."""
    v = np.asarray(values)
    if v.ndim > 1:
        return ", ".join("{" + _literals(row, literal) + "}" for row in v)
    return ", ".join(literal(float(x)) for x in v)


FILTER_STATE = {0: "/* no filter state */",
                32: "float z[2][2][3]; /* the gravity filter's two sections' state, per axis */",
                64: "double z[4][3]; /* the gravity filter's IIR state, per axis */"}


def precision_bits(gravity: bool, precision: str) -> int:
    """``<P>_GRAVITY_PRECISION_BITS``: 0 without the filter, else 32 or 64."""
    return 0 if not gravity else {"float32": 32, "float64": 64}[check_precision(precision)]


def app_header(name: str, window_length: int, num_classes: int, stride: int, gravity: bool,
               tflm_arena: int | None, precision: str = DEFAULT_PRECISION) -> str:
    """``<name>.h``: the API over both back-ends."""
    p = name.upper()
    tflm = (f"#define {p}_ARENA_BYTES {tflm_arena}" if tflm_arena else
            f"/* {p}_ARENA_BYTES: not measured at export (TFLite-Micro was not available); size it on the target. */")
    bits = precision_bits(gravity, precision)
    return render("app.h.in", f"{name}.h", name=name, P=p, gravity=int(bool(gravity)), stride=int(stride),
                  tflm_arena=tflm, window_length=window_length, num_classes=num_classes, precision_bits=bits,
                  filter_state=FILTER_STATE[bits])


def gravity_filter_source(sensor: SensorSpec, gravity: bool, precision: str = DEFAULT_PRECISION) -> str:
    """The C of the filter in ``precision`` with its coefficients at the sensor's rate ("" without it)."""
    if not gravity:
        return ""
    hi, lo = mg_split(sensor)
    shared = {"mg_hi": c_float(float(hi)), "mg_lo": c_float(float(lo)), "rotate": render("gravity_rotate.c.in")}
    if check_precision(precision) == "float32":
        sos, zi = sections(sensor.odr_hz)
        return render("gravity_float32.c.in", sos=_literals(sos, c_float), zi=_literals(zi, c_float), **shared)
    b, a, zi = _coefficients(sensor.odr_hz)
    return render("gravity_float64.c.in", b=_literals(b, repr), a=_literals(a, repr), zi=_literals(zi, repr),
                  **shared)


def app_source(name: str, sensor: SensorSpec, gravity: bool, precision: str = DEFAULT_PRECISION) -> str:
    """``<name>.c``: preprocessing (the gravity filter in ``precision`` when ``gravity``), classify, push."""
    return render("app.c.in", name=name, P=name.upper(),
                  gravity_filter=gravity_filter_source(sensor, gravity, precision))


def tflm_ops_header(name: str, ops: list[str]) -> str:
    """``<name>_tflm_ops.h``: ``<name>_register_ops`` for a MicroMutableOpResolver."""
    rows = [render("tflm_op.cc.in", method=TFLM_ADD[op]) if op in TFLM_ADD else
            f"  /* {op}: register it by hand (no MicroMutableOpResolver method known to hargan) */\n" for op in ops]
    return render("tflm_ops.h.in", f"{name}_tflm_ops.h", name=name, P=name.upper(), ops=", ".join(ops),
                  op_count=len(ops), registrations="".join(rows).rstrip("\n"))


def tflm_source(name: str) -> str:
    """``<name>_tflm.cc``: ``<name>_invoke`` on TFLite-Micro."""
    return render("tflm.cc.in", name=name, P=name.upper())


def app_sources(name: str, sensor: SensorSpec, window_length: int, num_classes: int, stride: int, gravity: bool,
                ops: list[str], tflm_arena: int | None, vote: int = 1,
                precision: str = DEFAULT_PRECISION) -> dict[str, str]:
    """``<name>.h/.c``, ``<name>_decide.h/.c`` (a vote over ``vote`` decisions), ``<name>_tflm.cc`` and
    ``<name>_tflm_ops.h``. ``precision``: the gravity filter's arithmetic, as in training."""
    name = check_c_name(name)
    if int(stride) < 1:
        raise InputError(f"stride must be at least 1 sample, got {stride}")
    if gravity:
        _coefficients(sensor.odr_hz)  # the filter is defined at the ST model zoo's rate only
    return {f"{name}.h": app_header(name, window_length, num_classes, stride, gravity, tflm_arena, precision),
            f"{name}.c": app_source(name, sensor, gravity, precision),
            **decide_sources(name, vote, vote * int(stride) / sensor.odr_hz),
            f"{name}_tflm.cc": tflm_source(name),
            f"{name}_tflm_ops.h": tflm_ops_header(name, ops)}
