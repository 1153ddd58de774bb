"""``firmware/README.md``: step by step, how a firmware engineer drops the export into STM32CubeIDE."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence

from firmware_export.headers import st_driver_constants
from har_data import SensorSpec


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
    vote: int = 1


def _files(f: ReadmeFacts) -> str:
    n = f.name
    rows = [
        (f"{n}.h / {n}.c", f"the API: `{n}_classify`, `{n}_push`, `{n}_reset`; the preprocessing", "both"),
        (f"{n}_decide.h / .c", f"the decision stage: `{n}_push`'s vote over the model's last decisions", "both"),
        (f"{n}_model.h / {n}_model.c", "the int8 model as plain C (weights, kernels, static arena)", "plain C"),
        (f"{n}_labels.h / .c", "class enum and names", "both"),
        (f"{n}_sensor.h", "sensor settings the model expects (driver constants, ODR, full scale)", "both"),
        (f"{n}_quant.h", "input/output quantization, counts -> int8", "both"),
        (f"{n}_model_data.h / .c", "the .tflite as an aligned array", "TFLite-Micro"),
        (f"{n}_tflm.cc", f"`{n}_invoke` on TFLite-Micro (compiles to nothing without `{n.upper()}_USE_TFLM`)",
         "TFLite-Micro"),
        (f"{n}_tflm_ops.h", f"`{n}_register_ops`: the op resolver for this model", "TFLite-Micro"),
    ]
    if f.has_test_vectors:
        rows.append((f"{n}_test_vectors.h / .c", "raw counts + expected int8 scores for a self-test", "both"))
    return "\n".join(f"| `{a}` | {b} | {c} |" for a, b, c in rows)


def _sensor(f: ReadmeFacts) -> str:
    s, p = f.sensor, f.name.upper()
    header, fs_const, odr_const = st_driver_constants(s)
    pre = (f"ST's gravity rotation + suppression filter (in `{f.name}.c`, run by `{f.name}_classify` and "
           f"`{f.name}_push` on every sample, as in training)") if f.gravity else "none besides counts -> int8"
    return f"""\
Program the accelerometer exactly as the model was trained (`{f.name}_sensor.h`):

| setting | value | ST driver constant (`{header}`) |
|---|---|---|
| sensor | {s.name} | |
| full scale | ±{s.full_scale_g} g ({s.sensitivity_mg_per_lsb} mg/LSB) | `{fs_const}` (`{p}_SENSOR_DRV_FULL_SCALE`) |
| output data rate | {s.odr_hz:g} Hz | `{odr_const}` (`{p}_SENSOR_DRV_ODR`) |

- Read the raw int16 output codes of all three axes (x, y, z, in that order), every sample, with
  no extra offset or filter on the sensor side (keep the sensor's digital high-pass filter off).
- Preprocessing: {pre}.
- Rate: the model (and the filter's coefficients) assume exactly {s.odr_hz:g} Hz. A sensor that cannot
  run at that rate needs its samples resampled to {s.odr_hz:g} Hz before `{f.name}_push`, as the
  training data were.
- Window: {f.window_length} samples ({f.window_length / s.odr_hz:.2f} s); `{f.name}_push` classifies every
  {f.stride} samples once the first window is full."""


DECIDE_INSTRUCTIONS = {1: 30, 9: 65, 65: 100, 255: 236}
"""Instructions per ``<name>_decide`` call by vote length, 4 classes, averaged over the test vectors' sequence
on the emulated Cortex-M4 (-O2; ``benchmarks/bench_board.py --presets cnn1d --vote N``, docs/benchmarks.md)."""


def _decide(f: ReadmeFacts) -> str:
    n, p = f.name, f.name.upper()
    k = len(f.class_names)
    span = f.vote * f.stride / f.sensor.odr_hz
    measured = ", ".join(f"{v} at a vote of {n}" for n, v in DECIDE_INSTRUCTIONS.items())
    what = (f"the class with the most votes among the model's last {f.vote} decisions ({span:.1f} s; all of them "
            "while fewer have been made since the stream started), a tie going to the class decided most "
            "recently" if f.vote > 1 else "each window's own class (a vote over 1 decision: the stage is off)")
    return f"""\
`{n}_push` reports {what}. Single windows that look like another activity (a pedal stroke
like standing, a car at a light) are outvoted; the price is latency at each real change of
activity: the new class wins the vote only once it has most of the last {p}_VOTE decisions.
`{n}_last_raw()` gives the model's own class for the last window, `{n}_last_scores()` its scores.

- Cost: `{n}_decide_t` is {f.vote} + {k} + 2 = {f.vote + k + 2} B of state (in `{n}_push`'s static
  stream state), integer only, once per decision (every {p}_STRIDE samples): one pass over the
  {p}_NUM_CLASSES counts and at most one over the {p}_VOTE-entry ring. Measured on an emulated
  Cortex-M4 (-O2, 4 classes, instructions per decision): {measured}; the model itself takes
  about 200,000.
- Change N without exporting again: define `{p}_VOTE` for the build (Project Properties > C/C++
  Build > Settings > MCU GCC Compiler > Preprocessor: `{p}_VOTE=9`, 1 to 255; 1 turns the vote
  off). The self-test then skips the exported smoothed decisions (they are for {f.vote}). Or set
  `[board] vote_seconds` in hargan's config and export again (it is recorded in `model_int8.json`,
  and `hargan classify --vote N` shows what a vote does to your own logs first).
- Use the state yourself: `{n}_decide_t s; {n}_decide_reset(&s); cls = {n}_decide(&s, raw);`."""


def _plain_c(f: ReadmeFacts) -> str:
    n = f.name
    return f"""\
1. Copy every `.c` file except `{n}_model_data.c` into `Core/Src` and every `.h` into `Core/Inc`
   (`{n}_tflm.cc` is not needed; if you copy it, it compiles to nothing).
2. Project Properties > C/C++ Build > Settings > MCU GCC Linker > Libraries: add `m` (libm: `sqrt`,
   `lrintf`).
3. Keep the default optimization (`-O2` or `-Os`); do **not** enable `-ffast-math` (the preprocessing
   and the counts -> int8 conversion are bit-exact with the training code only under IEEE rules).
4. Call it from your sensor data-ready handler:

   ```c
   #include "{n}.h"

   int16_t raw[3];                        /* x, y, z output codes from the driver */
   /* ... read raw[] with the driver, e.g. its acceleration_raw_get() ... */
   int cls = {n}_push(raw[0], raw[1], raw[2]);
   if (cls >= 0) {{
     const char *label = {n}_class_names[cls];   /* a window completed: the decided class */
   }}
   ```

   Or classify a whole window at once: `int cls = {n}_classify(window, scores);` with
   `int16_t window[{n.upper()}_WINDOW_LENGTH][3]` and `int8_t scores[{n.upper()}_NUM_CLASSES]`.

Memory: weights and kernels in flash ({f.weight_bytes} B of constants); `{n.upper()}_C_ARENA_BYTES` =
{f.c_arena_bytes} B of static activation arena, plus the streaming window and filter state. No heap."""


def _tflm(f: ReadmeFacts) -> str:
    n, p = f.name, f.name.upper()
    arena = (f"`{p}_ARENA_BYTES` = {f.tflm_arena_bytes} B (measured on the host for this model)"
             if f.tflm_arena_bytes else f"`{p}_ARENA_BYTES` (not measured at export: define it)")
    return f"""\
1. Add TensorFlow Lite for Microcontrollers to the project (its sources, or a prebuilt library for
   Cortex-M with its include paths) and make the project C++ (right click > Convert to C++).
2. Copy all the files above into `Core/Src` / `Core/Inc`, including `{n}_model_data.c` and `{n}_tflm.cc`.
3. Project Properties > C/C++ Build > Settings > MCU G++ Compiler (and MCU GCC Compiler) > Preprocessor:
   define `{p}_USE_TFLM`. `{n}_model.c` then compiles to nothing and `{n}_invoke` runs on TFLite-Micro,
   with a tensor arena of {arena} and the op resolver of `{n}_tflm_ops.h`
   ({", ".join(f.ops)}).
4. Call `{n}_push` / `{n}_classify` exactly as for the plain C back-end: the API is the same."""


def _self_test(f: ReadmeFacts) -> str:
    n, p = f.name, f.name.upper()
    if not f.has_test_vectors:
        return "No test vectors were exported (export with test windows to get them)."
    return f"""\
`{n}_test_vectors.h` holds raw sensor counts (before any preprocessing) and the int8 scores LiteRT's
reference kernels give for them; both back-ends must reproduce them byte for byte:

```c
#include <string.h>
#include "{n}.h"
#include "{n}_test_vectors.h"

int {n}_self_test(void) {{   /* returns the number of mismatching windows */
  int8_t scores[{p}_NUM_CLASSES];
  int i, bad = 0;
  for (i = 0; i < {p}_TEST_VECTOR_COUNT; ++i) {{
    {n}_classify((const int16_t (*)[3]){n}_test_counts[i], scores);
    bad += memcmp(scores, {n}_test_outputs[i], sizeof scores) != 0;
  }}
  return bad;
}}
```"""


def firmware_readme(f: ReadmeFacts) -> str:
    """The README text."""
    return f"""# {f.name}: activity recognition on an STM32 (generated by hargan)

Classes: {", ".join(f.class_names)}. Two back-ends share one API (`{f.name}.h`): a self-contained
plain C model (no runtime, no heap, integer math byte-identical to TFLite's reference kernels) and
TensorFlow Lite for Microcontrollers.

| file | what | back-end |
|---|---|---|
{_files(f)}

## 1. Configure the sensor

{_sensor(f)}

## 2a. Back-end: plain C (STM32CubeIDE, no dependencies)

{_plain_c(f)}

## 2b. Back-end: TensorFlow Lite for Microcontrollers

{_tflm(f)}

## 3. Decisions: the vote after the model

{_decide(f)}

## 4. Check it on the board

{_self_test(f)}
"""
