"""The files ST's model zoo HAR application needs: ``ai_model_config.h`` and a network it can feed.

The application is the ThreadX "sensing" getting-started project of ST's model zoo
(stm32ai-modelzoo-services, ``application_code/sensing_thread_x``, STM32U5 on the B-U585I-IOT02A).
What it does, as read in its sources (March 2025), and what this module follows:

- It reads the board's ISM330DHCX (``CTRL_X_CUBE_AI_SENSOR_NAME "ism330dhcx"``) at
  ``CTRL_X_CUBE_AI_SENSOR_ODR`` and ``_FS``; the sensor task rounds them to the part's own settings
  (12.5, 26, 52, ... Hz; 2, 4, 8, 16 g).
- Every int16 count becomes a float. With ``CTRL_AI_GRAV_ROT_SUPPR`` it is scaled by
  ``FS * (1/32768) * 9.8`` (``AI_DPU_G_TO_MS_2``: m/s², with 9.8 for g and FS/32768 g per LSB) and
  each sample goes through ``filter_gravity.c`` (float32, coefficients for 26 Hz, state kept from the
  first sample on). ``AI_DPU.c`` picks that branch with ``#if CTRL_X_CUBE_AI_PREPROC==CTRL_AI_...``,
  but the ``CTRL_AI_*`` names are enum constants (``AppController.h``), which read 0 in ``#if``: any
  ``CTRL_AI_*`` name compiles the gravity filter in, its scaling-only branch cannot be reached, and a
  value that is not 0 in ``#if`` compiles the bypass branch, which feeds the counts as floats. The
  header here writes ``(CTRL_AI_BYPASS ? CTRL_AI_BYPASS : 1)`` for a model without the filter:
  1 in ``#if`` (bypass), ``CTRL_AI_BYPASS`` where the application's C reads it.
- Windows are cut one after the other (no overlap) and written as floats into the network's input,
  (1, T, 3, 1): height T <= 100, width 3 (the AI DPU's limits); an int8 input would receive floats.
  The output must be float, its channels the classes (<= 100), printed with the class list.
- ``ai_model_config.h``'s defines override ``config.h``'s defaults; the zoo's own generator
  (``gen_h_file.py``) writes NB_OUTPUT, OUTPUT_1, CLASS_NUMBER, CLASS_LIST, SENSOR_TYPE, SENSOR_ODR,
  SENSOR_FS, NB_SAMPLES and, only for gravity-filtered models, PREPROC (so ``config.h``'s default,
  the gravity filter, applies to the others): the header here sets every one the HAR mode reads.

The network is hargan's int8 board model unchanged, wrapped: QUANTIZE (float -> int8, scale
:func:`app_input_scale`), RESHAPE to the model's (1, T, 3), the model, DEQUANTIZE (float scores).
The QUANTIZE scale is the model's mg scale carried through what the application feeds per count
(m/s² with the filter, the count itself without), so the counts that give hargan's int8 input give
the same codes here, up to float rounding at a code's edge.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from firmware_export._cgen import c_string, check_c_name
from firmware_export.render import render
from firmware_export.tflite_graph import tflite_schema
from har_data import InputError, SensorSpec
from har_data.atomic import write_bytes, write_text
from har_data.sensors import SENSORS

FOLDER = "st_har_app"
"""The export's subfolder for the application's files."""
APP_SENSOR = "ISM330DHCX"
"""The accelerometer the application reads (the B-U585I-IOT02A's)."""
G_TO_MS2 = np.float32(9.8)
"""``AI_DPU_G_TO_MS_2``: the application's g -> m/s² factor."""
LSB_16B = np.float32(1.0 / 32768)
"""``AI_LSB_16B``: the application's g per LSB is full scale x this."""
MAX_HEIGHT = 100
"""``AI_DPU_SHAPE_HEIGHT_MAX``: the longest window (samples) the AI DPU takes."""
MAX_CHANNELS = 100
"""``AI_DPU_SHAPE_CHANNEL_MAX``: the most output channels (classes)."""
GRAVITY_ODR_HZ = 26.0
"""The rate ``filter_gravity.c``'s fixed coefficients are designed for."""


# ---------------------------------------------------------------------------- what the app can run

def check_app(sensor: SensorSpec, window: int, channels: int, num_classes: int, gravity: bool) -> SensorSpec:
    """The ISM330DHCX setting the application will use for a model trained for ``sensor``; one-line
    ``InputError`` where the application cannot run the model as it was trained."""
    board = SENSORS[APP_SENSOR]
    part = SENSORS[sensor.name]
    if part.bits != board.bits or part.sensitivity.get(sensor.full_scale_g) != board.sensitivity.get(
            sensor.full_scale_g):
        raise InputError(f"ST's HAR application reads the B-U585I-IOT02A's {APP_SENSOR} ({board.bits}-bit, "
                         f"{_sens(board)}); the model was trained on {sensor.name} ±{sensor.full_scale_g} g counts "
                         f"({part.bits}-bit, {part.sensitivity[sensor.full_scale_g]:g} mg/LSB): train it for "
                         f"{', '.join(_same_format())}")
    try:
        app = SensorSpec(APP_SENSOR, sensor.full_scale_g, sensor.odr_hz)
    except InputError as exc:
        raise InputError(f"ST's HAR application cannot set its {APP_SENSOR} as the model was trained: "
                         f"{exc.message}") from None
    if gravity and abs(sensor.odr_hz - GRAVITY_ODR_HZ) > 1e-6:
        raise InputError(f"the model was trained with the gravity filter at {sensor.odr_hz:g} Hz; ST's HAR "
                         f"application's filter_gravity.c has fixed {GRAVITY_ODR_HZ:g} Hz coefficients: train at "
                         f"{GRAVITY_ODR_HZ:g} Hz, or without the filter")
    if channels != 3:
        raise InputError(f"ST's HAR application feeds x, y, z windows; the model takes {channels} axes")
    if not 1 <= window <= MAX_HEIGHT:
        raise InputError(f"the model's window is {window} samples; ST's HAR application takes at most {MAX_HEIGHT} "
                         "(AI_DPU_SHAPE_HEIGHT_MAX in AI_DPU.h)")
    if not 1 <= num_classes <= MAX_CHANNELS:
        raise InputError(f"the model has {num_classes} classes; ST's HAR application takes at most {MAX_CHANNELS} "
                         "(AI_DPU_SHAPE_CHANNEL_MAX in AI_DPU.h)")
    return app


def _sens(part: Any) -> str:
    return ", ".join(f"±{fs} g {mg:g} mg/LSB" for fs, mg in part.sensitivity.items())


def _same_format() -> list[str]:
    board = SENSORS[APP_SENSOR]
    return [n for n, p in SENSORS.items() if p.sensitivity == board.sensitivity and p.bits == board.bits]


# ---------------------------------------------------------------------------- the app's units

def app_ms2_per_lsb(full_scale_g: int) -> np.float32:
    """The application's m/s² per count: ``(FS * (1/32768)) * 9.8`` in float32, as ``AI_DPU_SetSensitivity``
    computes it."""
    return np.float32(np.float32(np.float32(full_scale_g) * LSB_16B) * G_TO_MS2)


def app_units_per_lsb(sensor: SensorSpec, gravity: bool) -> np.float32:
    """What the application feeds per count: m/s² (:func:`app_ms2_per_lsb`, into the gravity filter), or the
    count itself (1) without the filter."""
    return app_ms2_per_lsb(sensor.full_scale_g) if gravity else np.float32(1.0)


def app_input(counts: np.ndarray, sensor: SensorSpec, gravity: bool) -> np.ndarray:
    """int16 counts -> the float32 values the application makes of them: each count as a float times
    :func:`app_units_per_lsb` (with the filter, this is the filter's input)."""
    return (np.asarray(counts).astype(np.float32) * app_units_per_lsb(sensor, gravity)).astype(np.float32)


def mg_to_app_units(mg: np.ndarray, sensor: SensorSpec, gravity: bool) -> np.ndarray:
    """hargan's mg (``counts x mg/LSB``, filtered or not) -> the application's units for the same counts."""
    factor = float(app_units_per_lsb(sensor, gravity)) / sensor.sensitivity_mg_per_lsb
    return (np.asarray(mg, dtype=np.float64) * factor).astype(np.float32)


def app_input_scale(input_scale_mg: float, sensor: SensorSpec, gravity: bool) -> float:
    """The QUANTIZE scale (application units per int8 step) that gives, from what the application feeds, the
    codes hargan's model gets from the same counts in mg: the mg scale times the application's units per
    count over the sensor's mg per count."""
    return float(np.float32(float(input_scale_mg) * float(app_units_per_lsb(sensor, gravity))
                            / sensor.sensitivity_mg_per_lsb))


# ---------------------------------------------------------------------------- the network

def _opcode(model: Any, builtin: int, version: int) -> int:
    """The index of ``builtin``'s operator code (added when the model has none of that version)."""
    s = tflite_schema()
    for i, code in enumerate(model.operatorCodes):
        if max(int(code.builtinCode), int(code.deprecatedBuiltinCode)) == builtin and int(code.version) == version:
            return i
    code = s.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), version
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def _tensor(model: Any, graph: Any, name: str, shape: list[int], dtype: int, data: bytes | None = None,
            quant: tuple[float, int] | None = None) -> int:
    s = tflite_schema()
    buf = s.BufferT()
    buf.data = None if data is None else np.frombuffer(data, dtype=np.uint8)
    model.buffers.append(buf)
    t = s.TensorT()
    t.name, t.shape, t.type, t.buffer = name.encode(), np.asarray(shape, dtype=np.int32), dtype, len(model.buffers) - 1
    if quant is not None:
        q = s.QuantizationParametersT()
        q.scale, q.zeroPoint, q.quantizedDimension = [float(quant[0])], [int(quant[1])], 0
        t.quantization = q
    graph.tensors.append(t)
    return len(graph.tensors) - 1


def _op(model: Any, builtin: int, version: int, inputs: list[int], outputs: list[int]) -> Any:
    op = tflite_schema().OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = _opcode(model, builtin, version), inputs, outputs
    return op


def float_io_tflite(model_bytes: bytes, input_scale: float) -> bytes:
    """hargan's int8 .tflite with a float32 (1, T, 3, 1) input quantized at ``input_scale`` (the int8 zero point
    kept) and its int8 scores dequantized to a float32 (1, K) output; the int8 graph itself is unchanged."""
    import flatbuffers

    s = tflite_schema()
    model = s.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    graph = model.subgraphs[0]
    old_in, old_out = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    window, channels = (int(d) for d in old_in.shape[1:])
    ops, t = s.BuiltinOperator, s.TensorType
    f_in = _tensor(model, graph, "input_ms2", [1, window, channels, 1], t.FLOAT32)
    q_in = _tensor(model, graph, "input_ms2_int8", [1, window, channels, 1], t.INT8,
                   quant=(input_scale, int(old_in.quantization.zeroPoint[0])))
    shape = _tensor(model, graph, "input_shape", [3], t.INT32, np.asarray([1, window, channels], "<i4").tobytes())
    f_out = _tensor(model, graph, "scores", [int(d) for d in old_out.shape], t.FLOAT32)
    old_in.shapeSignature = old_out.shapeSignature = None  # now inside the graph, of fixed shape
    graph.operators = [_op(model, ops.QUANTIZE, 1, [f_in], [q_in]),
                       _op(model, ops.RESHAPE, 1, [q_in, shape], [graph.inputs[0]]),
                       *graph.operators,
                       _op(model, ops.DEQUANTIZE, 2, [graph.outputs[0]], [f_out])]
    for sig in model.signatureDefs or []:
        for io, old, new in ((sig.inputs, graph.inputs[0], f_in), (sig.outputs, graph.outputs[0], f_out)):
            for entry in io or []:
                entry.tensorIndex = new if entry.tensorIndex == old else entry.tensorIndex
    graph.inputs, graph.outputs = [f_in], [f_out]
    builder = flatbuffers.Builder(len(model_bytes) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def run_float_io(model_bytes: bytes, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run :func:`float_io_tflite`'s model on float windows ``x`` (N x T x 3) with LiteRT's reference kernels:
    ``(int8 codes its QUANTIZE gave, N x T x 3; float scores, N x K)``."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_content=model_bytes, experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                         experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    q_index = interp._get_ops_details()[0]["outputs"][0]
    x = np.asarray(x, dtype=np.float32)
    codes = np.empty(x.shape, dtype=np.int8)
    scores = np.empty((len(x), int(out["shape"][-1])), dtype=np.float32)
    for i, window in enumerate(x):
        interp.set_tensor(inp["index"], window[None, :, :, None])
        interp.invoke()
        codes[i] = interp.get_tensor(q_index)[0, :, :, 0]
        scores[i] = interp.get_tensor(out["index"])[0]
    return codes, scores


# ---------------------------------------------------------------------------- the header and the folder

def _c_float(value: float) -> str:
    """``26.0F``: the zoo header's float syntax."""
    return f"{float(value)!r}F"


PREPROC = {True: "(CTRL_AI_GRAV_ROT_SUPPR)", False: "(CTRL_AI_BYPASS ? CTRL_AI_BYPASS : 1)"}
"""``CTRL_X_CUBE_AI_PREPROC`` with and without the gravity filter (the module's docstring says why)."""
PREPROC_NOTE = {
    True: "/* ST's gravity rotation + suppression (filter_gravity.c) on m/s^2 = counts x FS/32768 x 9.8. */",
    False: "/* No filter: the network gets each count as a float (CTRL_AI_BYPASS). Not (CTRL_AI_BYPASS) or\n"
           " * (CTRL_AI_SCALING): AI_DPU.c tests this with #if against CTRL_AI_* enum constants, which are 0\n"
           " * in #if, so any plain CTRL_AI_* name compiles the gravity filter in. This expression is 1 in\n"
           " * #if (the bypass branch) and CTRL_AI_BYPASS in C (AppController.c). */"}


def ai_model_config_h(name: str, class_names: Sequence[str], sensor: SensorSpec, window: int, gravity: bool,
                      model_file: str) -> str:
    """``ai_model_config.h`` in the zoo's format, with every define the application's HAR mode reads."""
    return render("st_har_app/ai_model_config.h.in", "ai_model_config.h", name=name, model_file=model_file,
                  window=window, mode_name=c_string(f"X-CUBE-AI HAR (hargan {name})"),
                  num_classes=len(class_names), class_list="{" + ",".join(c_string(c) for c in class_names) + "}",
                  odr=_c_float(sensor.odr_hz), full_scale=_c_float(sensor.full_scale_g),
                  preproc_note=PREPROC_NOTE[bool(gravity)], preproc=PREPROC[bool(gravity)])


def _feed_text(sensor: SensorSpec, gravity: bool, input_scale: float, app_scale: float) -> dict[str, str]:
    """The README's phrases for what the application feeds the network, with or without the filter."""
    mg = f"{sensor.sensitivity_mg_per_lsb:g}"
    if not gravity:
        return {"filter": "none: the counts as floats (`CTRL_AI_BYPASS`, written so that `AI_DPU.c` compiles it; "
                          "see the header)",
                "feed": "each int16 count as a float (the application's bypass branch: no scaling, no filter)",
                "scale": f"{app_scale:.9g} counts per int8 step (the model's {input_scale:.9g} mg per step over "
                         f"{mg} mg per count)",
                "filter_diff": "This model was trained without it, and the application runs none (the header's "
                               "`CTRL_X_CUBE_AI_PREPROC`)."}
    per_lsb = f"{float(app_ms2_per_lsb(sensor.full_scale_g)):.9g}"
    return {"filter": "ST's `filter_gravity.c` (`CTRL_AI_GRAV_ROT_SUPPR`), in float32 on m/s², as the model was "
                      "trained with hargan's gravity filter",
            "feed": f"m/s² after ST's gravity filter: each int16 count times FS x (1/32768) x 9.8 = {per_lsb} m/s² "
                    f"per LSB (ST's 9.8 for g, and FS/32768 g per LSB rather than the datasheet's {mg} mg), then "
                    "`filter_gravity.c`",
            "scale": f"{app_scale:.9g} m/s² per int8 step (the model's {input_scale:.9g} mg per step over {mg} mg "
                     f"per count, times {per_lsb} m/s² per count)",
            "filter_diff": render("readme/st_har_app_filter.md.in").strip()}


def st_har_app_readme(name: str, class_names: Sequence[str], sensor: SensorSpec, window: int, stride: int,
                      vote: int, gravity: bool, input_scale: float, app_scale: float, zero_point: int) -> str:
    """``st_har_app/README.md``: how to use the files in ST's application, and what differs from the plain C."""
    decisions = f"reports a vote over its last {vote} decisions" if vote > 1 else "reports each window's class"
    return render("readme/st_har_app.md.in", name=name, classes=", ".join(class_names), sensor=sensor.name,
                  full_scale=sensor.full_scale_g, mg_per_lsb=f"{sensor.sensitivity_mg_per_lsb:g}",
                  odr=f"{sensor.odr_hz:g}", window=window, window_s=f"{window / sensor.odr_hz:.2f}", stride=stride,
                  decisions=decisions, zero_point=zero_point, num_classes=len(class_names),
                  **_feed_text(sensor, gravity, input_scale, app_scale))


def export_st_har_app(int8: Any, class_names: Sequence[str], sensor: SensorSpec, out_dir: str | os.PathLike, *,
                      name: str = "har_model", gravity: bool = False, stride: int | None = None,
                      vote: int = 1) -> list[Path]:
    """Write ``ai_model_config.h``, ``<name>_st_har_app.tflite`` (float in, float scores out) and a README
    into ``out_dir``; ``InputError`` (before writing anything) where the application cannot run the model.

    ``int8``: an Int8Classifier; ``sensor``, ``gravity``: what the model was trained for (its record);
    ``stride``, ``vote``: hargan's board decisions, which the README compares with the application's.
    """
    name = check_c_name(name)
    window, names = int(int8.window_length), list(class_names)
    if len(names) != int8.num_classes:
        raise InputError(f"{len(names)} class names for a model with {int8.num_classes} outputs")
    check_app(sensor, window, int(int8.channels), len(names), bool(gravity))
    scale = app_input_scale(int8.input_scale, sensor, bool(gravity))
    model_file = f"{name}_st_har_app.tflite"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [write_bytes(out / model_file, float_io_tflite(int8.model_bytes, scale)),
            write_text(out / "ai_model_config.h", ai_model_config_h(name, names, sensor, window, bool(gravity),
                                                                    model_file)),
            write_text(out / "README.md", st_har_app_readme(
                name, names, sensor, window, window // 2 if stride is None else int(stride), int(vote),
                bool(gravity), float(int8.input_scale), scale, int(int8.input_zero_point)))]
