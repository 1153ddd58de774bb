"""counts -> int8: the generated C function and firmware_export.counts_to_int8 agree on every int16 value."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_export import counts_to_int8, export_headers
from firmware_export.convert import mg_split
from firmware_support import CLASSES, T, compile_run, needs_gcc, tiny_int8
from har_data import InputError, SensorSpec

ALL_COUNTS = np.arange(-32768, 32768, dtype=np.int64).astype(np.int16)

HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include "har_model_quant.h"
/* argv: out file, then optionally mg_per_lsb, input_scale, zero point (hex floats, exact) */
int main(int argc, char **argv) {
  static int8_t q[65536];
  long i;
  FILE *f;
  for (i = 0; i < 65536; ++i) {
    int16_t c = (int16_t)(i - 32768);
    if (argc == 5) {
      q[i] = har_model_counts_to_int8_ex(c, strtof(argv[2], NULL), strtof(argv[3], NULL), (int32_t)atoi(argv[4]));
    } else {
      q[i] = har_model_counts_to_int8(c);
    }
  }
  f = fopen(argv[1], "wb");
  if (!f || fwrite(q, 1, sizeof q, f) != sizeof q) return 1;
  fclose(f);
  return 0;
}
"""


@pytest.fixture(scope="module")
def harness_dir(tmp_path_factory):
    """The model's headers (LSM6DSL +-4 g, the tiny model's input scale) and the compiled harness's folder."""
    if needs_gcc.args[0]:
        pytest.skip("gcc is not installed")
    d = tmp_path_factory.mktemp("conv")
    int8 = tiny_int8()
    export_headers(int8, CLASSES, SensorSpec("LSM6DSL", 4, 26), T, d / "inc")
    return d, int8


def run_c(harness_dir, tag: str, *params) -> np.ndarray:
    d, _ = harness_dir
    out_file = d / f"{tag}.bin"
    compile_run([], HARNESS, d / f"build_{tag}", args=[str(out_file), *map(str, params)], include=d / "inc")
    return np.frombuffer(out_file.read_bytes(), dtype=np.int8)


def hexf(v: float) -> str:
    return float(np.float32(v)).hex()


def test_every_sensor_splits_its_sensitivity_exactly():
    """The gravity filter's C computes each count's mg from two float32 halves of the sensitivity: for every
    sensor and full scale hargan knows, the halves give the correctly rounded mg of all 65,536 counts."""
    from har_data.sensors import SENSORS

    for name, part in SENSORS.items():
        for fs in part.sensitivity:
            sensor = SensorSpec(name, fs, next(iter(part.odrs)))
            hi, lo = mg_split(sensor)  # raises where any count's mg would differ
            assert abs(float(hi) + float(lo) - sensor.sensitivity_mg_per_lsb) < 1e-9 * sensor.sensitivity_mg_per_lsb


@needs_gcc
def test_model_config_all_65536_counts(harness_dir):
    _, int8 = harness_dir
    sensor = SensorSpec("LSM6DSL", 4, 26)
    c = run_c(harness_dir, "model")
    py = counts_to_int8(ALL_COUNTS, sensor, int8.input_scale, int8.input_zero_point)
    assert np.array_equal(c, py), f"{np.count_nonzero(c != py)} mismatches"
    # Saturates at the bottom (-4000 mg is beyond the int8 range here) and is monotonic.
    assert c[0] == -128 and np.all(np.diff(c.astype(int)) >= 0)
    # Agrees with the model's own (float64) quantizer on the mg the sensor reports, but for rare near-ties.
    padded = np.concatenate([ALL_COUNTS, np.zeros(-len(ALL_COUNTS) % (T * 3), np.int16)])
    ref = int8.quantize_input(sensor.to_mg(padded).reshape(-1, T, 3)).reshape(-1)[:len(ALL_COUNTS)]
    assert np.mean(ref == py) > 0.999


@needs_gcc
@pytest.mark.parametrize("sensor, scale, zp", [
    (SensorSpec("LIS2DW12", 16, 100), 2.5, 3),           # 0.78 codes per count: most saturate
    (SensorSpec("LIS3DSH", 6, 100), 47.05882263183594, -1),
])
def test_second_config_all_65536_counts(harness_dir, sensor, scale, zp):
    c = run_c(harness_dir, f"cfg_{sensor.name}", hexf(sensor.sensitivity_mg_per_lsb), hexf(scale), zp)
    py = counts_to_int8(ALL_COUNTS, sensor, scale, zp)
    assert np.array_equal(c, py), f"{np.count_nonzero(c != py)} mismatches"
    assert len(np.unique(py)) > 100


@needs_gcc
def test_exact_halves_round_to_even_in_c_and_python(harness_dir):
    # mg/LSB 0.25 and scale 0.5 make every odd count an exact .5: y = counts / 2.
    c = run_c(harness_dir, "ties", hexf(0.25), hexf(0.5), 0)
    py = counts_to_int8(ALL_COUNTS, 0.25, 0.5, 0)
    assert np.array_equal(c, py)
    at = {int(k): int(py[k + 32768]) for k in (-5, -3, -1, 1, 3, 5, 7, 253, 255)}
    assert at == {-5: -2, -3: -2, -1: 0, 1: 0, 3: 2, 5: 2, 7: 4, 253: 126, 255: 127}
    # Ties with a zero point: rounding happens before the offset.
    py_zp = counts_to_int8(np.array([1, 3, -1, -3], np.int16), 0.25, 0.5, -7)
    assert py_zp.tolist() == [-7, -5, -7, -9]


@needs_gcc
def test_float32_boundary_values(harness_dir):
    # Scales whose ratio lands just beside .5 in float32: C and Python must fall on the same side.
    for i, (lsb, scale) in enumerate([(0.061, 0.122), (0.122, 0.244), (0.488, 0.976), (0.06, 0.18), (0.73, 1.46)]):
        c = run_c(harness_dir, f"edge{i}", hexf(lsb), hexf(scale), 0)
        py = counts_to_int8(ALL_COUNTS, lsb, scale, 0)
        assert np.array_equal(c, py), (lsb, scale, np.count_nonzero(c != py))


def test_python_twin_checks_its_inputs():
    with pytest.raises(InputError, match="scale"):
        counts_to_int8(np.zeros(3, np.int16), 0.122, 0.0, 0)
    with pytest.raises(InputError, match="zero point"):
        counts_to_int8(np.zeros(3, np.int16), 0.122, 1.0, 200)
    with pytest.raises(InputError, match="int16"):
        counts_to_int8(np.array([1.5]), 0.122, 1.0, 0)
    with pytest.raises(InputError, match="mg/LSB"):
        counts_to_int8(np.zeros(3, np.int16), -1.0, 1.0, 0)
    q = counts_to_int8(np.array([[0, 100], [-100, 32767]], np.int16), SensorSpec("LSM6DSL", 4, 26), 1.0, 0)
    assert q.dtype == np.int8 and q.shape == (2, 2) and q.tolist() == [[0, 12], [-12, 127]]
