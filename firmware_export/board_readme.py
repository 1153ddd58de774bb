"""``firmware/README.md``: step by step, how a firmware engineer drops the export into STM32CubeIDE."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence

from firmware_export.headers import st_driver_constants
from firmware_export.meta import measured_how
from firmware_export.render import render
from firmware_export.stack import ENTRIES
from har_data import SensorSpec
from har_data.gravity import DEFAULT_PRECISION


@dataclass
class ReadmeFacts:
    """What the README states about this export."""

    name: str
    sensor: SensorSpec
    class_names: Sequence[str]
    window_length: int
    stride: int
    gravity: bool
    ops: Sequence[str]
    c_arena_bytes: int
    weight_bytes: int
    tflm_arena_bytes: int | None
    has_test_vectors: bool
    selftest_sources: Sequence[str] = ()  # the C files selftest/Makefile builds
    model: dict | None = None  # firmware_export.meta.model_facts
    input_scale: float = 0.0
    input_zero_point: int = 0
    vote: int = 1  # the decision stage's vote (decisions voted over; 1 = off)
    gravity_precision: str = DEFAULT_PRECISION  # the gravity filter's arithmetic (har_data.gravity)
    st_har_app: bool = False  # st_har_app/: the files for ST's model zoo HAR application


def _files(f: ReadmeFacts) -> str:
    n = f.name
    rows = [
        (f"{n}.h / {n}.c", f"the API: `{n}_classify`, `{n}_push`, `{n}_reset`; the context API `{n}_ctx_init`, "
                           f"`{n}_ctx_push` (interrupt), `{n}_run_pending` (main loop); the preprocessing", "both"),
        (f"{n}_decide.h / .c", f"the decision stage: a vote over the model's last decisions (`{n}_push`, "
                               f"`{n}_run_pending`)", "both"),
        (f"{n}_model.h / {n}_model.c", "the int8 model as plain C (weights, kernels, static arena)", "plain C"),
        (f"{n}_labels.h / .c", "class enum and names", "both"),
        (f"{n}_sensor.h", "sensor settings the model expects (driver constants, ODR, full scale)", "both"),
        (f"{n}_quant.h", "input/output quantization, counts -> int8", "both"),
        (f"{n}_meta.h", "model signature (sha256), hargan version, shapes, MACC, sizes", "both"),
        (f"{n}_model_data.h / .c", "the .tflite as an aligned array", "TFLite-Micro"),
        (f"{n}_tflm.cc", f"`{n}_invoke` on TFLite-Micro (compiles to nothing without `{n.upper()}_USE_TFLM`)",
         "TFLite-Micro"),
        (f"{n}_tflm_ops.h", f"`{n}_register_ops`: the op resolver for this model", "TFLite-Micro"),
    ]
    if f.has_test_vectors:
        rows.append((f"{n}_test_vectors.h / .c", "raw counts + expected int8 scores for a self-test", "both"))
        rows.append(("selftest/", "`make run`: the self-test on the host and on an emulated Cortex-M4F "
                                  "(main, start-up, linker script, Makefile)", "plain C"))
    if f.st_har_app:
        rows.append(("st_har_app/", "`ai_model_config.h` and a float-input network for ST's model zoo HAR "
                                    "application (its own README)", "ST Edge AI Core"))
    return "\n".join(f"| `{a}` | {b} | {c} |" for a, b, c in rows)


def _sensor(f: ReadmeFacts) -> str:
    s = f.sensor
    header, fs_const, odr_const = st_driver_constants(s)
    pre = (f"ST's gravity rotation + suppression filter (in `{f.name}.c`, run by `{f.name}_classify` and "
           f"`{f.name}_push` on every sample, as in training), {GRAVITY_COST[f.gravity_precision]}"
           ) if f.gravity else "none besides counts -> int8"
    return render("readme/sensor.md.in", name=f.name, P=f.name.upper(), driver_h=header, sensor=s.name,
                  full_scale=s.full_scale_g, mg_per_lsb=s.sensitivity_mg_per_lsb, fs_const=fs_const,
                  odr=f"{s.odr_hz:g}", odr_const=odr_const, preprocessing=pre, window_length=f.window_length,
                  window_s=f"{f.window_length / s.odr_hz:.2f}", stride=f.stride,
                  rate_subject="the model and the gravity filter's coefficients" if f.gravity else "the model",
                  ).rstrip("\n")


GRAVITY_COST = {
    "float32": ("in single precision (two second-order sections per axis), bit-exact with the training code: "
                "on a Cortex-M4F's FPU about 180 instructions a sample (hargan's `cnn1d`: 214,591 instructions "
                "per `classify`, 197,402 of them the model; 385 per `push` of a sample). A core without an FPU "
                "(Cortex-M0+, `-mfloat-abi=soft`) runs the same float32 arithmetic in software, bit for bit"),
    "float64": ("in double precision, bit-exact with the training code (`[board] gravity_precision = "
                "\"float64\"`): a Cortex-M4F (single-precision FPU) emulates it in software, about 9,900 "
                "instructions a sample and ~3 KB more of the C library (hargan's `cnn1d`: 682,510 instructions "
                "per `classify`, 197,402 of them the model); the float32 filter is the one for FPU-single cores"),
}
"""What the README says of the filter's cost in each precision: QEMU's mps2-an386 (Cortex-M4F), -O2,
``benchmarks/bench_board.py --presets cnn1d [--gravity-precision float64 | --no-gravity]`` (classify,
push/sample; the filter's per-sample cost is classify's difference to --no-gravity over 48 samples)."""


# Instructions per inference of hargan's cnn1d preset (48 x 3, 4 classes, no filter) on QEMU's mps2-an386
# (Cortex-M4F, arm-none-eabi-gcc 12.2, -icount shift=0), measured as benchmarks/bench_board.py measures them
# (its instructions_invoke and instructions_invoke_O0); without the kernels' -O2 pragma, -O0 gave 928,714.
REFERENCE_SPEED = {"-O0": 259_744, "-O2": 197_402}


def _speed() -> str:
    if None in REFERENCE_SPEED.values():
        return ""
    return (f"One inference of hargan's `cnn1d` on an emulated Cortex-M4F: {REFERENCE_SPEED['-O0']:,} "
            f"instructions at `-O0`, {REFERENCE_SPEED['-O2']:,} at `-O2` (`benchmarks/bench_board.py`).")


DECIDE_INSTRUCTIONS = {1: 30, 9: 65, 65: 100, 255: 236}
"""Instructions per ``<name>_decide`` call by vote length, 4 classes, averaged over the test vectors' sequence
on the emulated Cortex-M4 (-O2; ``benchmarks/bench_board.py --presets cnn1d --vote N``, docs/benchmarks.md)."""


def _decide(f: ReadmeFacts) -> str:
    n = f.name
    k = len(f.class_names)
    span = f.vote * f.stride / f.sensor.odr_hz
    measured = ", ".join(f"{v} at a vote of {vote}" for vote, v in DECIDE_INSTRUCTIONS.items())
    what = (f"the class with the most votes among the model's last {f.vote} decisions ({span:.1f} s; all of them "
            "while fewer have been made since the stream started), a tie going to the class decided most "
            "recently" if f.vote > 1 else "each window's own class (a vote over 1 decision: the stage is off)")
    return render("readme/decide.md.in", name=n, P=n.upper(), what=what, vote=f.vote, num_classes=k,
                  state_bytes=f.vote + k + 2, measured=measured).rstrip("\n")


def _plain_c(f: ReadmeFacts) -> str:
    p = f.name.upper()
    state = "the last window and the gravity filter" if f.gravity else "the last window"
    memory = (f"Memory: weights and kernels in flash ({f.weight_bytes} B of constants); `{p}_C_ARENA_BYTES` = "
              f"{f.c_arena_bytes} B of activation arena (static, or yours), plus the streaming state ({state}). "
              "No heap. Measured flash, RAM and stack: `" + f.name + "_meta.h` and the model table above.")
    return render("readme/plain_c.md.in", name=f.name, P=p, speed=_speed(), memory=memory).rstrip("\n")


def _tflm(f: ReadmeFacts) -> str:
    p = f.name.upper()
    arena = (f"`{p}_ARENA_BYTES` = {f.tflm_arena_bytes} B (measured on the host for this model)"
             if f.tflm_arena_bytes else f"`{p}_ARENA_BYTES` (not measured at export: define it)")
    return render("readme/tflm.md.in", name=f.name, P=p, arena=arena, ops=", ".join(f.ops)).rstrip("\n")


def _self_test(f: ReadmeFacts) -> str:
    if not f.has_test_vectors:
        return "No test vectors were exported (export with test windows to get them)."
    return render("readme/self_test.md.in", name=f.name, P=f.name.upper()).rstrip("\n")


def _board_rows(f: ReadmeFacts, m: dict) -> dict[str, str]:
    """The flash, RAM and stack rows: as measured at export (meta.h's figures), or why not."""
    n, p, board = f.name, f.name.upper(), m.get("board", "not measured")
    if isinstance(board, str):
        why = f"{board} (no figure rather than a guess)"
        return {"flash": f"{m['weight_bytes']} B of weights and constants, plus the code: {why}",
                "ram": f"{m['arena_bytes']} B activation arena, plus the stream state: {why}", "stack": why}

    def levels(values: dict[str, int]) -> str:
        return ", ".join(f"{v:,} B at `{o}`" for o, v in values.items())

    stack = "; ".join(f"`{n}_{e}` {levels(board.bytes[e])}" for e in ENTRIES)
    how = f"measured at export for a Cortex-M4F ({measured_how(board)})"
    return {"flash": f"{levels(board.flash)} linked for the API ({m['weight_bytes']} B of it weights and constants), "
                     f"{how}; `{p}_FLASH_BYTES`",
            "ram": f"{levels(board.ram)} of static data: the {m['arena_bytes']} B activation arena "
                   f"(`{p}_ARENA_PLACEMENT`, or yours), the stream state, the C library's; `{p}_RAM_BYTES`",
            "stack": f"{stack}: the deepest path through each, callees and the C library included, from the compiled "
                     f"code (`{p}_STACK_*_BYTES`; the emulated board's self-test checks them against a painted "
                     "stack). In an interrupt add the exception frame (32 B, 104 B with the FPU context)"}


def _model(f: ReadmeFacts) -> str:
    if not f.model:
        return ""
    m = f.model
    return render("readme/model.md.in", name=f.name, P=f.name.upper(), sha256=m["sha256"], version=m["version"],
                  input_shape=m["input_shape"], output_shape=m["output_shape"], macc=f"{m['macc']:,}",
                  ops=", ".join(f.ops), input_scale=f"{f.input_scale:.6g}", input_zero_point=f.input_zero_point,
                  **_board_rows(f, m))


def _st_har_app(f: ReadmeFacts) -> str:
    if not f.st_har_app:
        return ""
    return render("readme/st_har_app_section.md.in", name=f.name, stride=f.stride, window=f.window_length)


def firmware_readme(f: ReadmeFacts) -> str:
    """The README text."""
    quick = render("readme/quick_start.md.in", name=f.name, sources=" ".join(f.selftest_sources)) \
        if f.has_test_vectors else ""
    return render("readme/readme.md.in", name=f.name, classes=", ".join(f.class_names), file_rows=_files(f),
                  quick_start=quick, model_table=_model(f),
                  sensor=_sensor(f), plain_c=_plain_c(f), tflm=_tflm(f), decide=_decide(f),
                  self_test=_self_test(f), st_har_app=_st_har_app(f))
