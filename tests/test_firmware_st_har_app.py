"""``hargan export --st-har-app``: the files ST's model zoo HAR application needs.

The network (float in, float scores out) gives hargan's int8 model the codes hargan's own conversion
gives it, on every int16 count; the int8 graph is unchanged; ``ai_model_config.h`` follows the zoo's
format (the defines and value syntax of its ``gen_h_file.py``) and selects the application's branch it
means when compiled against the application's enum (its names and order, ``AppController.h``) and
``AI_DPU.c``'s ``#if`` chain, restated here; models the application cannot run are one-line errors.
An untrained cnn1d_tiny int8 model (48 x 3 -> 4 classes).
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess

import numpy as np
import pytest

from classifier import Int8Classifier
from firmware_export import export_firmware
from firmware_export.convert import counts_to_int8
from firmware_export.st_har_app import (ai_model_config_h, app_input, app_input_scale, check_app, float_io_tflite,
                                        run_float_io)
from firmware_export.tflite_graph import read_graph
from firmware_support import CLASSES, GCC, T, needs_gcc, tiny_int8, tiny_int8_bytes
from har_data import InputError, SensorSpec
from hargan.cli import main

SENSOR = SensorSpec("LSM6DSL", 4, 26.0)


def all_counts() -> np.ndarray:
    c = np.arange(-32768, 32768, dtype=np.int32)
    return np.concatenate([c, np.zeros((-len(c)) % (T * 3), np.int32)]).reshape(-1, T, 3).astype(np.int16)


@pytest.mark.parametrize("gravity", [False, True])
def test_network_gives_the_board_models_codes_and_scores_on_every_count(gravity):
    int8 = tiny_int8()
    net = float_io_tflite(int8.model_bytes, app_input_scale(int8.input_scale, SENSOR, gravity))
    counts = all_counts()
    codes, scores = run_float_io(net, app_input(counts, SENSOR, gravity))
    board = counts_to_int8(counts, SENSOR, int8.input_scale, int8.input_zero_point)
    differ = codes != board
    assert differ.sum() <= 6, f"{differ.sum()} of 65,536 counts get another int8 code (measured: 0)"
    same = ~differ.any(axis=(1, 2))
    expected = int8.dequantize_output(int8._run_litert(board))
    np.testing.assert_array_equal(scores[same], expected[same])


def test_network_is_the_int8_graph_between_float_io():
    original = read_graph(tiny_int8_bytes())
    net = read_graph(float_io_tflite(tiny_int8_bytes(), 0.3))
    assert [op.name for op in net.ops] == ["QUANTIZE", "RESHAPE", *(op.name for op in original.ops), "DEQUANTIZE"]
    inp, out = net.t(net.inputs[0]), net.t(net.outputs[0])
    assert (inp.shape, inp.dtype, out.shape, out.dtype) == ((1, T, 3, 1), np.float32, (1, 4), np.float32)
    for old, new in zip(original.ops, net.ops[2:-1]):
        assert old.options == new.options
        for a, b in zip(old.inputs, new.inputs):
            ta, tb = original.t(a), net.t(b)
            assert ta.shape == tb.shape and np.array_equal(ta.scales, tb.scales)
            assert (ta.data is None) == (tb.data is None) and (ta.data is None or np.array_equal(ta.data, tb.data))
    q = net.t(net.ops[0].outputs[0])
    assert np.isclose(q.scale, 0.3) and q.zero_point == original.t(original.inputs[0]).zero_point


# The zoo's ai_model_config.h for HAR (gen_h_file.py): each define it writes and the syntax of its value.
ZOO_DEFINES = {
    "CTRL_X_CUBE_AI_MODE_NB_OUTPUT": r"\(1U\)",
    "CTRL_X_CUBE_AI_MODE_OUTPUT_1": r"\(CTRL_AI_CLASS_DISTRIBUTION\)",
    "CTRL_X_CUBE_AI_MODE_CLASS_NUMBER": r"\(\d+U\)",
    "CTRL_X_CUBE_AI_MODE_CLASS_LIST": r'\{"(?:[^"\\]|\\.)*"(?:,"(?:[^"\\]|\\.)*")*\}',
    "CTRL_X_CUBE_AI_SENSOR_TYPE": r"\(COM_TYPE_ACC\)",
    "CTRL_X_CUBE_AI_SENSOR_ODR": r"\(\d+\.\d+F\)",
    "CTRL_X_CUBE_AI_SENSOR_FS": r"\(\d+\.\d+F\)",
    "CTRL_X_CUBE_AI_NB_SAMPLES": r"\(0U\)",
    "CTRL_X_CUBE_AI_PREPROC": r"\(.*\)",
}


def parse_defines(text: str) -> dict[str, str]:
    return {m[1]: m[2].strip() for m in re.finditer(r"^#define\s+(CTRL_\w+)\s+(.*?)\s*(?://.*)?$", text, re.M)}


@pytest.mark.parametrize("gravity", [False, True])
def test_header_has_the_zoos_defines_and_value_syntax(gravity):
    names = ["walking", 'say "hi"', "back\\slash", "still?"]
    text = ai_model_config_h("har_model", names, SensorSpec("ISM330DHCX", 8, 12.5), T, gravity, "m.tflite")
    defines = parse_defines(text)
    for key, syntax in ZOO_DEFINES.items():
        assert key in defines and re.fullmatch(syntax, defines[key]), (key, defines.get(key))
    assert defines["CTRL_X_CUBE_AI_MODE_CLASS_NUMBER"] == "(4U)"
    assert defines["CTRL_X_CUBE_AI_SENSOR_ODR"] == "(12.5F)" and defines["CTRL_X_CUBE_AI_SENSOR_FS"] == "(8.0F)"
    assert defines["CTRL_X_CUBE_AI_SENSOR_NAME"] == '"ism330dhcx"'
    assert text.count("#ifndef AI_MODEL_CONFIG_H") == 1 and 'extern "C"' in text


# What the application compiles the header against: its preprocessing enum (AppController.h, in order),
# the AI DPU's branch choice (AI_DPU.c) and the class labels array (AppController.c).
APP_HARNESS = r"""
#include <stdio.h>
#include <string.h>
#define COM_TYPE_ACC 1
#define CTRL_AI_CLASS_DISTRIBUTION (1U)
typedef enum { CTRL_AI_GRAV_ROT_SUPPR, CTRL_AI_GRAV_ROT, CTRL_AI_PREPROC, CTRL_AI_SPECTROGRAM_MEL,
  CTRL_AI_SPECTROGRAM_LOG_MEL, CTRL_AI_SPECTROGRAM_MFCC, CTRL_AI_SCALING, CTRL_AI_BYPASS } Ctrl_preproc_t;
#include "ai_model_config.h"
#if CTRL_X_CUBE_AI_PREPROC==CTRL_AI_GRAV_ROT_SUPPR ||CTRL_X_CUBE_AI_PREPROC==CTRL_AI_GRAV_ROT
static const char *branch = "gravity";
#elif CTRL_X_CUBE_AI_PREPROC==CTRL_AI_SCALING
static const char *branch = "scaling";
#else
static const char *branch = "bypass";
#endif
static const char *labels[CTRL_X_CUBE_AI_MODE_CLASS_NUMBER] = CTRL_X_CUBE_AI_MODE_CLASS_LIST;
int main(void) {
  int preproc = CTRL_X_CUBE_AI_PREPROC;
  unsigned i;
  printf("%s %d %s %g %g\n", branch, preproc, CTRL_X_CUBE_AI_SENSOR_NAME, (double)CTRL_X_CUBE_AI_SENSOR_ODR,
         (double)CTRL_X_CUBE_AI_SENSOR_FS);
  for (i = 0; i < CTRL_X_CUBE_AI_MODE_CLASS_NUMBER; i++) printf("%s\n", labels[i]);
  return CTRL_X_CUBE_AI_SENSOR_TYPE == COM_TYPE_ACC ? 0 : 1;
}
"""


@needs_gcc
@pytest.mark.parametrize("gravity, branch, value", [(True, "gravity", 0), (False, "bypass", 7)])
def test_header_selects_the_applications_branch(tmp_path, gravity, branch, value):
    names = ["walking", 'say "hi"', "back\\slash", "caf\u00e9"]
    (tmp_path / "ai_model_config.h").write_text(ai_model_config_h("har_model", names, SENSOR, T, gravity, "m"))
    (tmp_path / "app.c").write_text(APP_HARNESS)
    exe = tmp_path / "app"
    subprocess.run([GCC, "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-I", str(tmp_path), str(tmp_path / "app.c"),
                    "-o", str(exe)], check=True, capture_output=True)
    res = subprocess.run([str(exe)], capture_output=True)
    lines = res.stdout.decode("utf-8").splitlines()
    assert res.returncode == 0 and lines[0] == f"{branch} {value} ism330dhcx 26 4", lines
    assert lines[1:] == names


@pytest.mark.parametrize("sensor, window, channels, classes, gravity, words", [
    (SensorSpec("LIS2DW12", 4, 25.0), T, 3, 4, False, "ISM330DHCX"),
    (SensorSpec("LSM6DSL", 4, 52.0), T, 3, 4, True, "26 Hz coefficients"),
    (SensorSpec("LSM6DSL", 4, 26.0), 101, 3, 4, False, "at most 100"),
    (SensorSpec("LSM6DSL", 4, 26.0), T, 3, 101, False, "at most 100"),
    (SensorSpec("LSM6DSL", 4, 26.0), T, 6, 4, False, "x, y, z"),
])
def test_what_the_app_cannot_run_is_one_line(sensor, window, channels, classes, gravity, words):
    with pytest.raises(InputError) as exc:
        check_app(sensor, window, channels, classes, gravity)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_a_refused_export_writes_nothing(tmp_path):
    with pytest.raises(InputError):
        export_firmware(tiny_int8(), CLASSES, SensorSpec("LSM6DSL", 4, 12.5), tmp_path / "fw", gravity=True,
                        st_har_app=True)
    assert not (tmp_path / "fw").exists()


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_export_command_writes_the_app_folder_or_one_line(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(tiny_int8_bytes())
    base = ["export", "--int8", str(model), "--no-gravity", "--classes", *CLASSES, "--st-har-app"]
    code, _, err = _cli([*base, "--sensor", "LIS2DW12", "--odr", "25", "--out", str(tmp_path / "bad")])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "ISM330DHCX" in err, err
    assert not (tmp_path / "bad").exists()
    code, out, err = _cli([*base, "--sensor", "LSM6DSL", "--odr", "12.5", "--out", str(tmp_path / "fw")])
    assert code == 0, out + err
    app = tmp_path / "fw" / "st_har_app"
    assert sorted(p.name for p in app.iterdir()) == ["README.md", "ai_model_config.h", "har_model_st_har_app.tflite"]
    assert parse_defines((app / "ai_model_config.h").read_text())["CTRL_X_CUBE_AI_SENSOR_ODR"] == "(12.5F)"
    readme = (tmp_path / "fw" / "har_model_README.md").read_text()
    assert "## 5. ST's model zoo HAR application" in readme and "st_har_app/README.md" in readme
    assert "stedgeai generate" in (app / "README.md").read_text()
    with pytest.raises(InputError, match="not a full-integer int8 model"):  # hargan's runner refuses it
        Int8Classifier((app / "har_model_st_har_app.tflite").read_bytes())
