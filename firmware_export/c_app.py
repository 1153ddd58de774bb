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

from importlib import resources

import numpy as np

from firmware_export._cgen import BANNER, EXTERN_C_CLOSE, EXTERN_C_OPEN, check_c_name, guard_close, guard_open
from firmware_export.c_decide import decide_sources
from firmware_export.convert import counts_to_int8, mg_to_int8
from har_data import InputError, SensorSpec
from har_data.gravity import GravityRotationFilter, _coefficients

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
                      gravity: bool) -> np.ndarray:
    """K x 3 raw counts of one stream (a fresh filter) -> K x 3 int8 model inputs, as the C code does it.

    ``gravity``: counts -> mg (what the sensor reports, float32) -> streaming gravity rotation +
    suppression -> int8; otherwise counts -> int8 directly (:func:`counts_to_int8`).
    """
    c = np.asarray(counts)
    if c.ndim != 2 or c.shape[1] != 3:
        raise InputError(f"raw counts must be K x 3 (x, y, z), got shape {c.shape}")
    if not gravity:
        return counts_to_int8(c, sensor, input_scale, input_zero_point)
    dyn = GravityRotationFilter(sensor.odr_hz, suppress=True).process(sensor.to_mg(c))
    return mg_to_int8(dyn, input_scale, input_zero_point)


def stream_inputs(counts: np.ndarray, sensor: SensorSpec, input_scale: float, input_zero_point: int,
                  gravity: bool, window_length: int, stride: int) -> np.ndarray:
    """The int8 windows ``<name>_push`` classifies over a stream of raw counts (one filter throughout)."""
    q = preprocess_counts(counts, sensor, input_scale, input_zero_point, gravity)
    starts = range(0, len(q) - int(window_length) + 1, int(stride))
    return np.stack([q[s:s + window_length] for s in starts]) if len(starts) else np.zeros((0, window_length, 3),
                                                                                           np.int8)


def _doubles(values: np.ndarray) -> str:
    return ", ".join(repr(float(v)) for v in np.asarray(values).reshape(-1))


def app_header(name: str, window_length: int, num_classes: int, stride: int, gravity: bool,
               tflm_arena: int | None) -> str:
    p, h = name.upper(), f"{name}.h"
    tflm = (f"#define {p}_ARENA_BYTES {tflm_arena}\n" if tflm_arena else
            f"/* {p}_ARENA_BYTES: not measured at export (TFLite-Micro was not available); size it on the target. */\n")
    return (
        guard_open(h) + "#include <stdint.h>\n\n"
        + "".join(f'#include "{name}_{part}.h"\n' for part in ("labels", "model", "quant", "sensor", "decide"))
        + "\n"
        + EXTERN_C_OPEN
        + "/* Preprocessing the model was trained with: 1 = ST's gravity rotation + suppression filter on\n"
        + f"   every sample before the model (the sensor must run at {p}_SENSOR_ODR_HZ), 0 = none. */\n"
        + f"#define {p}_GRAVITY_FILTER {int(bool(gravity))}\n"
        + f"/* Windows overlap as in training: {name}_push classifies every {p}_STRIDE samples. */\n"
        + f"#define {p}_STRIDE {int(stride)}\n"
        + f"#define {p}_NO_RESULT (-1) /* {name}_push: no window completed with this sample */\n"
        + f"#define {p}_ERROR (-2)     /* the model did not run (TFLite-Micro set-up or invoke failed) */\n\n"
        + "/* TFLite-Micro back-end: tensor arena to give the MicroInterpreter (bytes; measured with the\n"
        + "   TFLite-Micro Python runtime's RecordingMicroAllocator on the host for this model). */\n" + tflm
        + f"/* Plain C back-end: its static activation arena is {p}_C_ARENA_BYTES (in {name}_model.h). */\n\n"
        + f"/* Classify one window of raw sensor counts ([sample][x, y, z], {window_length} samples). The\n"
        + f"   preprocessing starts afresh for the window. Writes the {num_classes} int8 scores (probability =\n"
        + f"   (score - {p}_OUTPUT_ZERO_POINT) * {p}_OUTPUT_SCALE) and returns the class id (argmax), or\n"
        + f"   {p}_ERROR. */\n"
        + f"int {name}_classify(const int16_t counts[{p}_WINDOW_LENGTH][3], int8_t scores[{p}_NUM_CLASSES]);\n\n"
        + "/* Streaming: feed every sample as the sensor delivers it. When a window completes\n"
        + f"   ({p}_WINDOW_LENGTH samples, then every {p}_STRIDE) returns the decided class id: the majority of\n"
        + f"   the model's last {p}_VOTE classes ({name}_decide.h), else {p}_NO_RESULT. The filter runs on every\n"
        + f"   sample, as in training. {name}_last_raw() gives that window's own class (argmax), and\n"
        + f"   {name}_last_scores() its int8 scores. */\n"
        + f"int {name}_push(int16_t x, int16_t y, int16_t z);\n"
        + f"int {name}_last_raw(void);\n"
        + f"const int8_t *{name}_last_scores(void);\n"
        + "/* Start a new stream (forget the filter state, the partial window and the vote). */\n"
        + f"void {name}_reset(void);\n\n"
        + EXTERN_C_CLOSE + guard_close(h))


def app_source(name: str, sensor: SensorSpec, gravity: bool) -> str:
    text = resources.files("firmware_export").joinpath("templates/app.c.in").read_text()
    subs = {"@name@": name, "@P@": name.upper()}
    if gravity:
        b, a, zi = _coefficients(sensor.odr_hz)
        subs.update({"@B@": _doubles(b), "@A@": _doubles(a), "@ZI@": _doubles(zi),
                     "@MG_PER_LSB@": repr(float(sensor.sensitivity_mg_per_lsb))})
    else:
        subs.update({"@B@": "0", "@A@": "0", "@ZI@": "0", "@MG_PER_LSB@": "0"})
    for key, value in subs.items():
        text = text.replace(key, value)
    return BANNER + text


def tflm_ops_header(name: str, ops: list[str]) -> str:
    p, h = name.upper(), f"{name}_tflm_ops.h"
    lines = []
    for op in ops:
        if op in TFLM_ADD:
            lines.append(f"  if (resolver.{TFLM_ADD[op]}() != kTfLiteOk) {{\n    return kTfLiteError;\n  }}")
        else:
            lines.append(f"  /* {op}: register it by hand (no MicroMutableOpResolver method known to hargan) */")
    body = "\n".join(lines)
    return (guard_open(h)
            + "/* The builtin ops of the model, for TFLite-Micro (C++ only; needs TFLite-Micro's headers):\n"
            + f"     static tflite::MicroMutableOpResolver<{p}_TFLM_OP_COUNT> resolver;\n"
            + f"     {name}_register_ops(resolver);\n   Ops: {', '.join(ops)}. */\n"
            + f"#define {p}_TFLM_OP_COUNT {len(ops)}\n\n#ifdef __cplusplus\n"
            + '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"\n\n'
            + f"template <unsigned int tOpCount>\ninline TfLiteStatus {name}_register_ops("
            + f"tflite::MicroMutableOpResolver<tOpCount> &resolver)\n{{\n{body}\n  return kTfLiteOk;\n}}\n"
            + "#endif /* __cplusplus */\n\n" + guard_close(h))


def tflm_source(name: str) -> str:
    p = name.upper()
    return (BANNER
            + f"/* TFLite-Micro back-end of {name}_invoke: define {p}_USE_TFLM (and drop {name}_model.c's plain C\n"
            + "   model, which then compiles to nothing) in a project that has TFLite-Micro. */\n"
            + f'#include "{name}.h"\n\n#ifdef {p}_USE_TFLM\n\n#include <string.h>\n\n'
            + '#include "tensorflow/lite/micro/micro_interpreter.h"\n'
            + '#include "tensorflow/lite/schema/schema_generated.h"\n'
            + f'#include "{name}_model_data.h"\n#include "{name}_tflm_ops.h"\n\nnamespace {{\n'
            + f"alignas(16) uint8_t tensor_arena[{p}_ARENA_BYTES];\ntflite::MicroInterpreter *interpreter = nullptr;\n"
            + "}  // namespace\n\n"
            + f'extern "C" int {name}_invoke(const int8_t *input, int8_t *scores)\n{{\n'
            + "  if (interpreter == nullptr) {\n"
            + f"    static tflite::MicroMutableOpResolver<{p}_TFLM_OP_COUNT> resolver;\n"
            + f"    if ({name}_register_ops(resolver) != kTfLiteOk) {{\n      return -1;\n    }}\n"
            + f"    static tflite::MicroInterpreter interp(tflite::GetModel({name}_model_data), resolver,\n"
            + "                                           tensor_arena, sizeof tensor_arena);\n"
            + "    if (interp.AllocateTensors() != kTfLiteOk) {\n      return -1;\n    }\n"
            + "    interpreter = &interp;\n  }\n"
            + f"  memcpy(interpreter->input(0)->data.int8, input, {p}_MODEL_INPUT_SIZE);\n"
            + "  if (interpreter->Invoke() != kTfLiteOk) {\n    return -1;\n  }\n"
            + f"  memcpy(scores, interpreter->output(0)->data.int8, {p}_MODEL_OUTPUT_SIZE);\n  return 0;\n}}\n\n"
            + f"#endif /* {p}_USE_TFLM */\n")


def app_sources(name: str, sensor: SensorSpec, window_length: int, num_classes: int, stride: int, gravity: bool,
                ops: list[str], tflm_arena: int | None, vote: int = 1) -> dict[str, str]:
    """``<name>.h/.c``, ``<name>_decide.h/.c`` (a vote over ``vote`` decisions), ``<name>_tflm.cc`` and
    ``<name>_tflm_ops.h``."""
    name = check_c_name(name)
    if int(stride) < 1:
        raise InputError(f"stride must be at least 1 sample, got {stride}")
    if gravity:
        _coefficients(sensor.odr_hz)  # the filter is defined at the ST model zoo's rate only
    return {f"{name}.h": app_header(name, window_length, num_classes, stride, gravity, tflm_arena),
            f"{name}.c": app_source(name, sensor, gravity),
            **decide_sources(name, vote, vote * int(stride) / sensor.odr_hz),
            f"{name}_tflm.cc": tflm_source(name),
            f"{name}_tflm_ops.h": tflm_ops_header(name, ops)}
