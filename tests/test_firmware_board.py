"""On the board: the generated C model is byte-identical to LiteRT's reference kernels on every input,
and the exported API + preprocessing reproduce every test vector (raw counts) on the host and on an
emulated Cortex-M4 (QEMU mps2-an386; the exit code is the verdict)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from firmware_export import c_model_sources, export_firmware, preprocess_counts
from firmware_export._cgen import write_files
from firmware_export import test_vectors as vectors_c
from firmware_export.emulator import build_board, build_host, run_qemu, toolchain_missing
from firmware_support import (CLASSES, GCC, GXX, T, mixed_int8_bytes, needs_gcc, needs_gxx, preset_int8_bytes,
                              sample_windows)
from har_data import InputError, SensorSpec

PRESETS = ("cnn1d", "cnn1d_tiny", "ign", "gmp")
SENSOR = SensorSpec("LSM6DSL", 4, 26)
STRIDE = 12

HARNESS = r"""
#include <stdio.h>
#include "m_model.h"
int main(void) {
  int8_t in[M_MODEL_INPUT_SIZE], out[M_MODEL_OUTPUT_SIZE];
  while (fread(in, 1, sizeof in, stdin) == sizeof in) {
    m_invoke(in, out);
    fwrite(out, 1, sizeof out, stdout);
  }
  return 0;
}
"""


def litert_reference(model: bytes, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    interp.resize_tensor_input(inp["index"], list(x.shape))
    interp.allocate_tensors()
    interp.set_tensor(inp["index"], x)
    interp.invoke()
    return interp.get_tensor(out["index"])


def int8_inputs(n: int, seed: int = 0) -> np.ndarray:
    """Full-range, mid-range and near-zero int8 windows (every rounding regime of every layer)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (n, T, 3))
    x[: n // 3] = np.rint(rng.normal(0, 25, (n // 3, T, 3)))
    x[n // 3: n // 2] = np.rint(rng.normal(0, 3, (n // 2 - n // 3, T, 3)))
    return np.clip(x, -128, 127).astype(np.int8)


@needs_gcc
@pytest.mark.parametrize("preset", PRESETS + ("mixed",))
def test_c_model_is_bit_exact_with_litert_reference_kernels(preset, tmp_path):
    model = mixed_int8_bytes() if preset == "mixed" else preset_int8_bytes(preset)
    generated = c_model_sources(model, "m")
    for fname, text in generated.files.items():
        (tmp_path / fname).write_text(text)
    (tmp_path / "main.c").write_text(HARNESS)
    exe = tmp_path / "m"
    subprocess.run([GCC, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I", str(tmp_path),
                    str(tmp_path / "main.c"), str(tmp_path / "m_model.c"), "-o", str(exe)], check=True)
    x = int8_inputs(300)
    got = subprocess.run([str(exe)], input=x.tobytes(), capture_output=True, check=True).stdout
    want = litert_reference(model, x)
    got = np.frombuffer(got, np.int8).reshape(want.shape)
    assert np.array_equal(got, want), f"{int(np.any(got != want, axis=1).sum())} of {len(x)} windows differ"
    assert generated.arena_bytes <= 4304 and generated.ops[-1] == "SOFTMAX"


def test_an_unsupported_op_is_one_clear_line():
    import keras

    from classifier import quantize_int8

    inputs = keras.Input((T, 3))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(4, activation="tanh")(x)
    model = keras.Model(inputs, keras.layers.Softmax()(x))
    data = quantize_int8(model, np.random.default_rng(0).normal(0, 1, (8, T, 3)).astype(np.float32), 8)
    with pytest.raises(InputError, match=r"op [A-Z_0-9]+ is not supported by the C model generator") as err:
        c_model_sources(data, "m")
    assert "\n" not in str(err.value) and "TFLite-Micro" in str(err.value)


def edge_windows() -> tuple[np.ndarray, np.ndarray]:
    """Sample windows plus the preprocessing's corner cases: rest on +z (gravity on the z axis), all
    zeros (the filter's 'first sample is 0' start), the sensor's full scale, a tilted rest."""
    x, y = sample_windows(8)
    fs = 1000.0 * SENSOR.full_scale_g
    extra = np.stack([np.tile([0.0, 0.0, 1000.0], (T, 1)), np.zeros((T, 3)),
                      np.where(np.arange(T)[:, None] % 2, fs, -fs) * np.ones((1, 3)),
                      np.tile([577.0, -577.0, 577.0], (T, 1))]).astype(np.float32)
    return np.concatenate([x, extra]), np.concatenate([y, np.arange(4)])


@pytest.fixture(scope="module", params=["float32", "float64", None],
                ids=["gravity_float32", "gravity_float64", "no_gravity"])
def exported(request, tmp_path_factory):
    """The export of a tiny model with the gravity filter in float32, in float64, or without it."""
    from classifier import Int8Classifier

    int8 = Int8Classifier(preset_int8_bytes("cnn1d_tiny"), CLASSES)
    x, y = edge_windows()
    out = tmp_path_factory.mktemp("board") / "firmware"
    precision = request.param or "float32"
    export_firmware(int8, CLASSES, SENSOR, out, test_windows=x, test_labels=y, n_test_vectors=len(x),
                    gravity=request.param is not None, gravity_precision=precision, stride=STRIDE)
    return out, int8, request.param is not None, precision


@needs_gcc
def test_host_selftest_reproduces_every_test_vector(exported, tmp_path):
    out = exported[0]
    exe = build_host(out, tmp_path)
    res = subprocess.run([str(exe)], capture_output=True, text=True)
    assert res.returncode == 0 and "mismatches 0" in res.stdout, res.stdout
    assert res.stdout.count("classify ok") == 12 and res.stdout.count("push ok") == 4
    assert res.stdout.count("invoke ok") == 12


def test_test_vectors_are_raw_counts_before_preprocessing(exported):
    out, int8, gravity, precision = exported
    text = (out / "har_model_test_vectors.c").read_text()
    block = re.search(r"har_model_test_counts\[[^=]*= \{(.*?)\n\};", text, re.S).group(1)
    counts = np.array(re.findall(r"-?\d+", block), dtype=np.int64).reshape(-1, T, 3)
    x, _ = edge_windows()
    np.testing.assert_array_equal(counts[-4:], SENSOR.to_counts(x[-4:]))
    q = preprocess_counts(counts[-4], SENSOR, int8.input_scale, int8.input_zero_point, gravity, precision)
    # at rest on +z the gravity filter removes the 1 g; without it the z input sits near +1 g
    assert (abs(int(q[-1, 2])) < 5) if gravity else (q[-1, 2] > 20)
    assert f"#define HAR_MODEL_GRAVITY_FILTER {int(gravity)}" in (out / "har_model.h").read_text()


def test_sensor_header_and_readme_name_the_st_driver_constants(exported):
    out = exported[0]
    sensor_h = (out / "har_model_sensor.h").read_text()
    assert "#define HAR_MODEL_SENSOR_DRV_FULL_SCALE LSM6DSL_4g" in sensor_h
    assert "#define HAR_MODEL_SENSOR_DRV_ODR LSM6DSL_XL_ODR_26Hz" in sensor_h
    readme = (out / "README.md").read_text()
    for needle in ("LSM6DSL_XL_ODR_26Hz", "HAR_MODEL_USE_TFLM", "STM32CubeIDE", "har_model_push",
                   "HAR_MODEL_ARENA_BYTES"):
        assert needle in readme
    from firmware_export.headers import st_driver_constants

    assert st_driver_constants(SensorSpec("LIS2DW12", 2, 25))[1:] == ("LIS2DW12_2g", "LIS2DW12_XL_ODR_25Hz")


@needs_gxx
def test_tflm_route_files(exported, tmp_path):
    out = exported[0]
    ops_h = (out / "har_model_tflm_ops.h").read_text()
    assert "#define HAR_MODEL_TFLM_OP_COUNT 6" in ops_h
    for method in ("AddMul", "AddReshape", "AddConv2D", "AddMaxPool2D", "AddMean", "AddSoftmax"):
        assert f"resolver.{method}()" in ops_h
    assert "#ifdef HAR_MODEL_USE_TFLM" in (out / "har_model_tflm.cc").read_text()
    assert "#define HAR_MODEL_ARENA_BYTES" in (out / "har_model.h").read_text()
    # With the TFLite-Micro back-end selected the plain C model compiles to nothing; the API header is C++-clean.
    obj = tmp_path / "model.o"
    subprocess.run([GCC, "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-DHAR_MODEL_USE_TFLM", "-I", str(out),
                    "-c", str(out / "har_model_model.c"), "-o", str(obj)], check=True)
    (tmp_path / "api.cpp").write_text('#include "har_model.h"\nint main() { return har_model_push(0, 0, 0) > 99; }\n')
    subprocess.run([GXX, "-std=c++11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only", "-I", str(out),
                    str(tmp_path / "api.cpp")], check=True)


def board_or_skip() -> None:
    why = toolchain_missing()
    if why:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the emulated-board test must run in CI: {why}")
        pytest.skip(why)


def test_make_run_in_the_exported_folder_passes_on_host_and_board(exported):
    """What a firmware engineer does with only firmware/: `make -C selftest run` (host, then QEMU)."""
    board_or_skip()
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = exported[0]
    readme = (out / "README.md").read_text()
    assert readme.index("cd selftest\nmake run") < readme.index("## 1. Configure the sensor")
    res = subprocess.run(["make", "-C", str(out / "selftest"), "run"], capture_output=True, text=True, timeout=300)
    text = res.stdout + res.stderr
    assert res.returncode == 0 and text.count("mismatches 0") == 2, text[-3000:]
    assert text.count("classify ok") == 2 * 12 and text.count("push ok") == 2 * 4
    assert text.count("ctx ok") == 2 * 4 and text.count("ctx overrun ok 3") == 2 and text.count("null checks ok") == 2
    # two contexts on callers' arenas, the refusals; on the board each entry point's stack within meta.h's figure
    assert len(re.findall(r"^arena ok", text, re.M)) == 2 * 4 and text.count("arena refusals ok") == 2
    assert text.count("invoke_arena ok") == 2 * 12 and text.count("within the figure") == 4
    assert "warning" not in text


@pytest.mark.parametrize("preset,precision,abi", [("cnn1d", "float32", "hard"), ("cnn1d_tiny", "float32", "soft"),
                                                  ("ign", "float64", "hard"), ("gmp", None, "hard")])
def test_emulated_cortex_m4_reproduces_every_test_vector(preset, precision, abi, tmp_path):
    """Every test vector, classify and stream, on the emulated M4: the gravity filter in float32 on the FPU
    and in software (-mfloat-abi=soft), in float64, and no filter."""
    board_or_skip()
    from classifier import Int8Classifier

    int8 = Int8Classifier(preset_int8_bytes(preset), CLASSES)
    x, y = edge_windows()
    out = tmp_path / "firmware"
    export_firmware(int8, CLASSES, SENSOR, out, test_windows=x[::2], test_labels=y[::2], n_test_vectors=6,
                    gravity=precision is not None, gravity_precision=precision or "float32", stride=STRIDE)
    build = build_board(out, tmp_path / "arm", opt="-O2", float_abi=abi)
    code, text = run_qemu(build.elf, timeout=120)
    assert code == 0 and "mismatches 0" in text, text[-2000:]
    assert text.count("classify ok") == 6 and text.count("push ok") == 4


@pytest.mark.parametrize("preset", PRESETS + ("mixed",))
def test_emulated_cortex_m4_model_is_bit_exact_on_random_inputs(preset, tmp_path):
    """The Cortex-M4 build (SIMD dot products) against LiteRT's reference kernels on 60 int8 windows."""
    board_or_skip()
    from classifier import Int8Classifier

    model = mixed_int8_bytes() if preset == "mixed" else preset_int8_bytes(preset)
    out = tmp_path / "firmware"
    export_firmware(Int8Classifier(model, CLASSES), CLASSES, SENSOR, out, stride=STRIDE)
    x = int8_inputs(60, seed=1)
    vectors = vectors_c.TestVectors(inputs=x, outputs=litert_reference(model, x), labels=np.zeros(len(x), np.int64),
                                    counts=None)
    write_files(out, vectors_c.test_vector_sources(vectors))
    code, text = run_qemu(build_board(out, tmp_path / "arm").elf, timeout=120)
    assert code == 0 and text.count("invoke ok") == len(x), text[-2000:]


GRAVITY_HARNESS = r"""
#include <stdio.h>
#include "har_model.c" /* the static filter itself */
int main(void) {
  hg_gravity_t f;
  int16_t c[3];
  float out[3];
  f.started = 0;
  while (fread(c, sizeof c[0], 3, stdin) == 3) {
    hg_gravity_step(&f, c, out);
    fwrite(out, sizeof out[0], 3, stdout);
  }
  return 0;
}
"""


@needs_gcc
@pytest.mark.parametrize("exported", ["float32", "float64"], indirect=True)
def test_c_gravity_filter_is_identical_to_python_on_every_sample(exported, tmp_path):
    """Raw counts -> ST's gravity rotation + suppression, C (as exported, in either precision) vs
    har_data.gravity, on every sample of a long stream with the filter's corner cases."""
    out, precision = exported[0], exported[3]
    from har_data.gravity import GravityRotationFilter

    rng = np.random.default_rng(3)
    n = 3000
    t = np.arange(n) / 26.0
    tilt = np.stack([np.sin(0.05 * t), np.cos(0.05 * t) * np.sin(0.3 * t), np.cos(0.05 * t) * np.cos(0.3 * t)], 1)
    mg = 1000.0 * tilt + rng.normal(0, 200, (n, 3)) + 600 * np.sin(2 * np.pi * 2.0 * t)[:, None]
    mg[:5] = 0.0  # the filter starts on an all-zero sample
    mg[1000:1100] = [0.0, 0.0, 1000.0]  # at rest on +z
    mg[2000:2050] = 9000.0  # saturated
    counts = SENSOR.to_counts(mg)
    (tmp_path / "g.c").write_text(GRAVITY_HARNESS)
    exe = tmp_path / "g"
    subprocess.run([GCC, "-std=c11", "-O2", "-Wall", "-Wextra", "-I", str(out), str(tmp_path / "g.c"),
                    str(out / "har_model_model.c"), str(out / "har_model_decide.c"), "-o", str(exe), "-lm"], check=True)
    got = subprocess.run([str(exe)], input=counts.astype("<i2").tobytes(), capture_output=True, check=True).stdout
    want = GravityRotationFilter(SENSOR.odr_hz, suppress=True, precision=precision).process(SENSOR.to_mg(counts))
    np.testing.assert_array_equal(np.frombuffer(got, "<f4").reshape(n, 3), want)
