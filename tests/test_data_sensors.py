"""STM32 sensor format: mg <-> int16 counts, saturation, datasheet ranges and ODRs."""

from __future__ import annotations

import numpy as np
import pytest

from har_data import DEFAULT_SENSOR, InputError, SensorSpec


def test_default_lsm6dsl_counts_and_saturation():
    s = DEFAULT_SENSOR
    assert (s.name, s.full_scale_g, s.odr_hz, s.sensitivity_mg_per_lsb) == ("LSM6DSL", 4, 26.0, 0.122)
    counts = s.to_counts(np.array([0.0, 1000.0, -1000.0, 0.061, 3997.0, 5000.0, -5000.0]))
    assert counts.dtype == np.int16
    assert counts.tolist() == [0, 8197, -8197, 0, 32762, 32767, -32768]
    np.testing.assert_allclose(s.to_mg(counts[:3]), [0.0, 8197 * 0.122, -8197 * 0.122], rtol=1e-6)
    q = s.quantize_mg(np.array([[1000.0, 9000.0, -9000.0]]))
    assert q.dtype == np.float32
    np.testing.assert_allclose(q, [[8197 * 0.122, 32767 * 0.122, -32768 * 0.122]], rtol=1e-6)
    assert abs(q[0, 0] - 1000.0) <= 0.122 / 2


@pytest.mark.parametrize("fs,sens", [(2, 0.061), (8, 0.244), (16, 0.488)])
def test_lsm6_ranges(fs, sens):
    s = SensorSpec("LSM6DSO", fs, 104)
    assert s.sensitivity_mg_per_lsb == sens
    assert s.to_counts(np.array([fs * 1000.0 * 2]))[0] == 32767  # saturates


def test_lis3dsh_6g():
    s = SensorSpec("LIS3DSH", 6, 100)
    assert s.sensitivity_mg_per_lsb == 0.18
    assert s.to_counts(np.array([1000.0, 5000.0, 7000.0])).tolist() == [5556, 27778, 32767]
    assert s.count_range == (-32768, 32767)


def test_lis2dw12_14_bit_range():
    s = SensorSpec("LIS2DW12", 2, 25)
    assert s.bits == 14 and s.count_range == (-8192, 8191)
    assert s.to_counts(np.array([1000.0, 2500.0, -2500.0])).tolist() == [4098, 8191, -8192]
    s16 = SensorSpec("IIS2DLPC", 16, 100)
    assert s16.sensitivity_mg_per_lsb == 1.952 and s16.count_range == (-8192, 8191)


def test_unknown_sensor_range_odr_list_valid_ones():
    with pytest.raises(InputError, match="unknown sensor 'BMA400'; valid sensors: IIS2DLPC, ISM330DHCX, LIS2DW12, "
                                         "LIS3DSH, LSM6DSL, LSM6DSO, LSM6DSOX"):
        SensorSpec("BMA400", 4, 26)
    with pytest.raises(InputError, match="LSM6DSL has no ±6 g range; valid full scales \\(g\\): 2, 4, 8, 16"):
        SensorSpec("LSM6DSL", 6, 26)
    with pytest.raises(InputError, match="LIS2DW12 has no 26 Hz output data rate; valid ODRs \\(Hz\\): 1.6, 12.5, 25"):
        SensorSpec("LIS2DW12", 4, 26)
    with pytest.raises(InputError, match="LSM6DSL has no 25 Hz .*valid ODRs \\(Hz\\): 12.5, 26, 52, 104"):
        SensorSpec("LSM6DSL", 4, 25)


def test_round_trip_dict_and_case():
    s = SensorSpec("lsm6dsox", 8.0, "52")
    assert s.name == "LSM6DSOX" and s.full_scale_g == 8 and s.odr_hz == 52.0
    assert SensorSpec.from_dict(s.to_dict()) == s
