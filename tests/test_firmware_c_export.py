"""firmware_export: the model C array, labels/sensor/quantization headers and test vectors compile
(gcc -std=c11 and g++ -std=c++11, -Wall -Wextra -Werror) and hold exactly what Python computed."""

from __future__ import annotations

import re

import numpy as np
import pytest

from firmware_export import (check_c_name, counts_to_int8, export_firmware, export_headers, export_model_c_array,
                             export_test_vectors, format_bytes, make_test_vectors)
from firmware_support import CLASSES, T, compile_run, needs_gcc, needs_gxx, sample_windows, tiny_int8
from har_data import InputError, SensorSpec

SENSOR = SensorSpec("LSM6DSL", 4, 26)


@pytest.fixture(scope="module")
def int8():
    return tiny_int8()


@pytest.fixture(scope="module")
def exported(int8, tmp_path_factory):
    out = tmp_path_factory.mktemp("fw") / "firmware"
    x, y = sample_windows(12)
    files = export_firmware(int8, CLASSES, SENSOR, out, test_windows=x, test_labels=y, n_test_vectors=8)
    return out, files, x, y


def test_export_firmware_writes_every_file(exported):
    out, files, _, _ = exported
    names = sorted(f.relative_to(out).as_posix() for f in files)
    selftest = ["selftest/Makefile", "selftest/main.c", "selftest/mps2_an386.ld", "selftest/startup_mps2.c"]
    assert names == sorted(["har_model_model_data.h", "har_model_model_data.c", "har_model_labels.h",
                            "har_model_labels.c", "har_model_sensor.h", "har_model_quant.h",
                            "har_model_test_vectors.h", "har_model_test_vectors.c", "har_model_model.h",
                            "har_model_model.c", "har_model.h", "har_model.c", "har_model_tflm.cc",
                            "har_model_tflm_ops.h", "har_model_meta.h", "har_model_decide.h", "har_model_decide.c",
                            "README.md", *selftest])
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert on_disk == names  # nothing else (no temporaries)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


@needs_gcc
def test_model_array_round_trips_byte_for_byte(int8, tmp_path):
    files = export_model_c_array(int8.model_bytes, tmp_path / "out", name="har_model")
    assert [f.name for f in files] == ["har_model_model_data.h", "har_model_model_data.c"]
    text = files[1].read_text()
    assert "alignas(16) const unsigned char har_model_model_data[]" in text
    assert "#include <stdalign.h>" in files[1].read_text()
    header = files[0].read_text()
    assert "extern \"C\"" in header and "#ifndef HAR_MODEL_MODEL_DATA_H_" in header
    harness = r"""
#include <stdint.h>
#include <stdio.h>
#include "har_model_model_data.h"
int main(void) {
  FILE *f = fopen("model_back.tflite", "wb");
  if (!f) return 1;
  if (fwrite(har_model_model_data, 1, har_model_model_data_len, f) != har_model_model_data_len) return 2;
  fclose(f);
  printf("len=%u aligned=%d define=%u\n", har_model_model_data_len,
         (int)(((uintptr_t)har_model_model_data) % 16u == 0u), (unsigned)HAR_MODEL_MODEL_DATA_LEN);
  return 0;
}
"""
    out = compile_run([files[1]], harness, tmp_path / "build", include=files[0].parent)
    n = len(int8.model_bytes)
    assert out.strip() == f"len={n} aligned=1 define={n}"
    assert (tmp_path / "build" / "model_back.tflite").read_bytes() == int8.model_bytes


@needs_gxx
def test_everything_compiles_as_cxx11(exported, tmp_path):
    out, files, _, _ = exported
    harness = r"""
#include <cstdio>
#include "har_model_model_data.h"
#include "har_model_labels.h"
#include "har_model_sensor.h"
#include "har_model_quant.h"
#include "har_model_test_vectors.h"
int main() {
  int8_t in[HAR_MODEL_INPUT_SIZE];
  har_model_window_to_int8(har_model_test_counts[0], in, HAR_MODEL_INPUT_SIZE);
  std::printf("%u %s %d %d\n", har_model_model_data_len, har_model_class_names[HAR_MODEL_CLASS_RUNNING],
              (int)in[0], (int)har_model_test_inputs[0][0]);
  return 0;
}
"""
    c_files = [f for f in files if f.suffix == ".c" and f.parent == out]
    printed = compile_run(c_files, harness, tmp_path / "cxx", cxx=True, include=out).split()
    assert printed[0] == str(len(tiny_int8().model_bytes))
    assert printed[1] == "running"
    assert printed[2] == printed[3]


@needs_gcc
def test_headers_and_test_vectors_hold_python_values(exported, int8, tmp_path):
    out, files, x, y = exported
    harness = r"""
#include <stdio.h>
#include <string.h>
#include "har_model_model_data.h"
#include "har_model_labels.h"
#include "har_model_sensor.h"
#include "har_model_quant.h"
#include "har_model_test_vectors.h"
int main(void) {
  int i, j;
  printf("classes %d\n", HAR_MODEL_NUM_CLASSES);
  for (i = 0; i < HAR_MODEL_NUM_CLASSES; ++i) printf("class %d %s\n", i, har_model_class_names[i]);
  printf("enum %d %d %d %d\n", HAR_MODEL_CLASS_STATIONARY, HAR_MODEL_CLASS_WALKING, HAR_MODEL_CLASS_RUNNING,
         HAR_MODEL_CLASS_CYCLING);
  printf("sensor %s %d %.9g %.9g %d %d %s %d %d %d\n", HAR_MODEL_SENSOR_NAME, HAR_MODEL_SENSOR_FULL_SCALE_G,
         (double)HAR_MODEL_SENSOR_ODR_HZ, (double)HAR_MODEL_SENSOR_MG_PER_LSB, HAR_MODEL_WINDOW_LENGTH, HAR_MODEL_AXES,
         HAR_MODEL_AXIS_ORDER, HAR_MODEL_INPUT_SIZE, HAR_MODEL_SENSOR_COUNT_MIN, HAR_MODEL_SENSOR_COUNT_MAX);
  printf("quant %a %d %a %d\n", (double)HAR_MODEL_INPUT_SCALE, HAR_MODEL_INPUT_ZERO_POINT,
         (double)HAR_MODEL_OUTPUT_SCALE, HAR_MODEL_OUTPUT_ZERO_POINT);
  printf("tv %d %d %d %d\n", HAR_MODEL_TEST_VECTOR_COUNT, HAR_MODEL_TEST_INPUT_SIZE, HAR_MODEL_TEST_OUTPUT_SIZE,
         HAR_MODEL_TEST_HAS_COUNTS);
  for (i = 0; i < HAR_MODEL_TEST_VECTOR_COUNT; ++i) {
    int8_t in[HAR_MODEL_INPUT_SIZE];
    har_model_window_to_int8(har_model_test_counts[i], in, HAR_MODEL_INPUT_SIZE);
    printf("vec %d label %d pred %d same_input %d out", i, har_model_test_labels[i], har_model_test_predictions[i],
           memcmp(in, har_model_test_inputs[i], sizeof in) == 0);
    for (j = 0; j < HAR_MODEL_TEST_OUTPUT_SIZE; ++j) printf(" %d", har_model_test_outputs[i][j]);
    printf("\n");
  }
  return 0;
}
"""
    c_files = [f for f in files if f.suffix == ".c" and f.parent == out]
    lines = compile_run(c_files, harness, tmp_path / "c", include=out).splitlines()
    assert lines[0] == "classes 4"
    assert lines[1:5] == [f"class {i} {c}" for i, c in enumerate(CLASSES)]
    assert lines[5] == "enum 0 1 2 3"
    f32 = np.float32
    assert lines[6].split() == ["sensor", "LSM6DSL", "4", "26", f"{float(f32(0.122)):.9g}", str(T), "3", "xyz",
                                str(T * 3), "-32768", "32767"]
    q = lines[7].split()
    assert float.fromhex(q[1]) == float(f32(int8.input_scale)) and int(q[2]) == int8.input_zero_point
    assert float.fromhex(q[3]) == float(f32(int8.output_scale)) and int(q[4]) == int8.output_zero_point
    assert lines[8] == f"tv 8 {T * 3} 4 1"
    # Python's view of the same vectors: round-robin over the classes, outputs from LiteRT.
    tv = make_test_vectors(int8, x, y, n=8, sensor=SENSOR)
    assert tv.labels.tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert np.array_equal(tv.inputs, counts_to_int8(SENSOR.to_counts(x[:8]), SENSOR, int8.input_scale,
                                                    int8.input_zero_point))
    for i, line in enumerate(lines[9:17]):
        parts = line.split()
        assert parts[:8] == ["vec", str(i), "label", str(tv.labels[i]), "pred", str(tv.predictions[i]),
                             "same_input", "1"]
        assert [int(v) for v in parts[9:]] == tv.outputs[i].tolist()
    # The expected outputs are what the runtime gives on exactly these int8 inputs, and TFLite-Micro agrees.
    x_exact = ((tv.inputs.astype(np.float64) - int8.input_zero_point) * int8.input_scale).astype(np.float32)
    assert np.array_equal(int8.predict_int8(x_exact, runtime="tflm"), tv.outputs)


@needs_gcc
def test_labels_with_odd_characters_compile(tmp_path, int8):
    odd = ['sit "down"', "walk\\up", "run??=", "c/*ycle*/"]
    files = export_headers(int8, odd, SensorSpec("LIS2DW12", 16, 100), T, tmp_path / "odd", name="odd_model")
    harness = r"""
#include <stdio.h>
#include "odd_model_labels.h"
#include "odd_model_sensor.h"
int main(void) {
  int i;
  for (i = 0; i < ODD_MODEL_NUM_CLASSES; ++i) printf("%s\n", odd_model_class_names[i]);
  printf("%d %d %.9g\n", ODD_MODEL_SENSOR_COUNT_MIN, ODD_MODEL_SENSOR_COUNT_MAX, (double)ODD_MODEL_SENSOR_MG_PER_LSB);
  return 0;
}
"""
    c_files = [f for f in files if f.suffix == ".c"]
    lines = compile_run(c_files, harness, tmp_path / "b").splitlines()
    assert lines[:4] == odd
    lo, hi = SensorSpec("LIS2DW12", 16, 100).count_range
    assert lines[4].split()[:2] == [str(lo), str(hi)]
    assert "ODD_MODEL_CLASS_SIT_DOWN" in (tmp_path / "odd" / "odd_model_labels.h").read_text()


@pytest.mark.parametrize("bad", ["", "1model", "har-model", "har model", "int", "class", "__x", "_Model", "naïve"])
def test_invalid_names_are_input_errors(bad, int8, tmp_path):
    with pytest.raises(InputError, match="name"):
        check_c_name(bad)
    with pytest.raises(InputError):
        export_model_c_array(int8.model_bytes, tmp_path, name=bad)
    with pytest.raises(InputError):
        export_firmware(int8, CLASSES, SENSOR, tmp_path / "fw", name=bad)
    assert not (tmp_path / "fw").exists()


def test_not_a_tflite_is_an_input_error(tmp_path):
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(InputError, match="TFL3"):
        export_model_c_array(bad, tmp_path / "out")
    with pytest.raises(InputError, match="no such file"):
        export_model_c_array(tmp_path / "missing.tflite", tmp_path / "out")


def test_failed_export_leaves_previous_folder_untouched(int8, tmp_path):
    out = tmp_path / "firmware"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    x, _ = sample_windows(4)
    with pytest.raises(InputError, match="labels"):
        export_firmware(int8, CLASSES, SENSOR, out, test_windows=x, test_labels=np.array([0, 1, 2, 9]))
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["firmware"]
    with pytest.raises(InputError, match="class names"):
        export_firmware(int8, CLASSES[:3], SENSOR, out)
    with pytest.raises(InputError, match="window length"):
        export_headers(int8, CLASSES, SENSOR, 52, tmp_path / "h")


def test_test_vectors_without_sensor_use_the_model_quantizer(int8, tmp_path):
    x, y = sample_windows(6)
    files = export_test_vectors(int8, x, y, tmp_path, n=3)
    text = files[1].read_text()
    assert "har_model_test_counts" not in text
    assert "#define HAR_MODEL_TEST_HAS_COUNTS 0" in files[0].read_text()
    tv = make_test_vectors(int8, x, y, n=3)
    assert np.array_equal(tv.inputs, int8.quantize_input(x[:3]))
    first = re.search(r"test_inputs\[.*?\{\s*\{(.*?)\}", text, re.S).group(1)
    assert [int(v) for v in first.replace("\n", " ").split(",") if v.strip()] == tv.inputs[0].reshape(-1).tolist()


def test_format_bytes_is_exact_on_a_big_model():
    """A 1 MB model formats to 16 bytes a line and parses back to the same bytes (its speed is in
    benchmarks/bench_firmware_export.py, not in a test)."""
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, 1_000_003, dtype=np.uint8).tobytes()
    text = format_bytes(data)
    back = bytes(int(tok, 16) for tok in text[:40_000].replace("\n", " ").replace(",", " ").split()[:4096])
    assert back == data[:4096]
    lines = text.split("\n")
    assert len(lines) == -(-len(data) // 16)
    assert lines[-1] == "  " + ", ".join(f"0x{b:02x}" for b in data[-3:]) + ","
    assert all(len(line) == 2 + 16 * 6 - 1 for line in lines[:-1])


@needs_gcc
def test_meta_header_names_the_model_and_placement_macros_place_it(exported, int8, tmp_path):
    import hashlib
    import subprocess

    from firmware_support import GCC

    out = exported[0]
    sha = hashlib.sha256(int8.model_bytes).hexdigest()
    meta = (out / "har_model_meta.h").read_text()
    assert f'#define HAR_MODEL_MODEL_SHA256 "{sha}"' in meta and '#define HAR_MODEL_INPUT_SHAPE "1x48x3"' in meta
    assert re.search(r"#define HAR_MODEL_MACC [1-9]\d*u", meta) and "HAR_MODEL_HARGAN_VERSION" in meta
    readme = (out / "README.md").read_text()
    assert sha in readme and "MACC" in readme and "HAR_MODEL_WEIGHTS_PLACEMENT" in readme
    asm = tmp_path / "model.s"
    subprocess.run([GCC, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic",
                    '-DHAR_MODEL_WEIGHTS_PLACEMENT=__attribute__((section(".hg_weights")))',
                    '-DHAR_MODEL_ARENA_PLACEMENT=__attribute__((section(".hg_arena")))', "-I", str(out), "-S",
                    str(out / "har_model_model.c"), "-o", str(asm)], check=True)
    text = asm.read_text()
    assert ".section\t.hg_weights" in text and ".section\t.hg_arena" in text
