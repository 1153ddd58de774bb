"""MEMS Studio CSV logs: the exact real format (comment, blank line, header with units, CRLF rows)."""

from __future__ import annotations

import numpy as np
import pytest

from har_data import InputError, load_mems_studio, load_source, write_mems_studio_csv
from har_data.recording import MS2_TO_MG

REAL_HEAD = "# PAMAP2 dataset (wrist-mounted sensor)\r\n\r\nacc_x[mg],acc_y[mg],acc_z[mg]\r\n"


def _write(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path


def _rows(values) -> str:
    return "".join(",".join(repr(float(v)) for v in row) + "\r\n" for row in values)


def test_folder_tree_labels_units_and_odr(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(0, 300, (60, 3))
    _write(tmp_path / "0_stationary" / "log_0.csv", REAL_HEAD + _rows(a))
    _write(tmp_path / "0_stationary" / "log_1.csv", REAL_HEAD + _rows(a[:30]))
    _write(tmp_path / "2_running" / "log_10.csv", REAL_HEAD + _rows(a[:40]))
    _write(tmp_path / "2_running" / "log_2.csv", REAL_HEAD + _rows(a[:50]))
    _write(tmp_path / "NOTICE.md", "not a log\n")
    recs = load_mems_studio(tmp_path)
    assert [(r.label, len(r)) for r in recs] == [("stationary", 60), ("stationary", 30), ("running", 50),
                                                 ("running", 40)]
    assert all(r.odr_hz == 26.0 and r.meta["original_unit"] == "mg" and r.meta["gravity"] for r in recs)
    np.testing.assert_allclose(recs[0].samples, a, rtol=1e-6, atol=1e-3)
    assert recs[2].meta["log_id"] == "2" and recs[0].group != recs[1].group
    one = load_mems_studio(tmp_path / "2_running" / "log_2.csv")
    assert one[0].label == "running" and len(one[0]) == 50
    assert load_mems_studio(tmp_path / "0_stationary" / "log_1.csv", odr_hz=52)[0].odr_hz == 52.0


@pytest.mark.parametrize("unit,factor", [("g", 1000.0), ("m/s^2", MS2_TO_MG), ("mg", 1.0)])
def test_units_from_header(tmp_path, unit, factor):
    head = f"# log\r\n\r\nacc_x[{unit}],acc_y[{unit}],acc_z[{unit}]\r\n"
    f = _write(tmp_path / "1_walking" / "log_0.csv", head + "9.80665,0,-1\r\n1,2,3\r\n")
    rec = load_mems_studio(f)[0]
    np.testing.assert_allclose(rec.samples, np.array([[9.80665, 0, -1], [1, 2, 3]]) * factor, rtol=1e-6)
    assert rec.meta["original_unit"] == unit
    if unit == "m/s^2":
        assert abs(rec.samples[0, 0] - 1000.0) < 1e-3  # 9.80665 m/s^2 -> 1000 mg


def test_time_column_gives_odr(tmp_path):
    t = np.arange(100) / 52.0
    a = np.ones((100, 3))
    body = "".join(f"{ti:.6f},{x},{y},{z}\r\n" for ti, (x, y, z) in zip(t, a))
    f = _write(tmp_path / "3_cycling" / "log_0.csv",
               "# MEMS Studio\r\n\r\ntime[s],acc_x[g],acc_y[g],acc_z[g]\r\n" + body)
    rec = load_mems_studio(f)[0]
    assert rec.odr_hz == 52.0 and rec.samples.shape == (100, 3) and rec.samples[0, 0] == 1000.0
    body_ms = "".join(f"{ti * 1000:.3f},{x},{y},{z}\r\n" for ti, (x, y, z) in zip(t, a))
    f2 = _write(tmp_path / "3_cycling" / "log_1.csv", "# x\r\n\r\nTime [ms],A_X [mg],A_Y [mg],A_Z [mg]\r\n" + body_ms)
    assert load_mems_studio(f2)[0].odr_hz == 52.0


def test_write_round_trip_exact_format(tmp_path):
    x = np.array([[608.254, 323.5, -308.125], [-1.5, 0.0, 4000.0]], dtype=np.float32)
    f = write_mems_studio_csv(tmp_path / "0_walking" / "log_0.csv", x, comment="PAMAP2 dataset (wrist-mounted sensor)")
    raw = f.read_bytes()
    assert raw.startswith(REAL_HEAD.encode())
    assert raw.endswith(b"\r\n") and raw.count(b"\r\n") == 5
    assert raw.split(b"\r\n")[3] == b"608.254,323.5,-308.125"
    back = load_mems_studio(f)[0]
    np.testing.assert_allclose(back.samples, x, atol=1e-3)
    assert back.label == "walking"
    assert [p.name for p in f.parent.iterdir()] == ["log_0.csv"]  # no temporary file left
    with pytest.raises(InputError, match="N x 3"):
        write_mems_studio_csv(tmp_path / "bad.csv", np.zeros((4, 2)))
    assert not (tmp_path / "bad.csv").exists()


def test_gap_interpolation_and_too_long_gap(tmp_path):
    rows = ["1,2,3"] * 10 + [",,"] * 3 + ["4,5,6"] * 10
    f = _write(tmp_path / "0_a" / "log.csv", REAL_HEAD + "\r\n".join(rows) + "\r\n")
    rec = load_mems_studio(f)[0]
    assert len(rec) == 23 and not np.isnan(rec.samples).any()
    np.testing.assert_allclose(rec.samples[10:13, 0], [1.75, 2.5, 3.25])
    rows = ["1,2,3"] * 10 + ["nan,nan,nan"] * 8 + ["4,5,6"] * 10
    f = _write(tmp_path / "0_a" / "log.csv", REAL_HEAD + "\r\n".join(rows) + "\r\n")
    with pytest.raises(InputError, match=rf"^{f}:14: NaN gap too long: 8 missing samples"):
        load_mems_studio(f)


def test_bad_input_names_file_and_line(tmp_path):
    d = tmp_path / "0_stationary"
    f = _write(d / "a.csv", REAL_HEAD + "1,2,3\r\n4,5\r\n7,8,9\r\n")
    with pytest.raises(InputError, match=rf"^{f}:5: wrong column count: expected 3 comma-separated fields, found 2"):
        load_mems_studio(f)
    f = _write(d / "b.csv", REAL_HEAD + "1,2,3\r\n4,5,6,7\r\n")
    with pytest.raises(InputError, match=rf"^{f}:5: wrong column count: expected 3 comma-separated fields, found 4"):
        load_mems_studio(f)
    f = _write(d / "c.csv", REAL_HEAD + "1,2,3\r\n1,2,3\r\n4,abc,6\r\n")
    with pytest.raises(InputError, match=rf"^{f}:6: non-numeric field 'abc' in column 'acc_y'$"):
        load_mems_studio(f)
    f = _write(d / "d.csv", "# x\r\n\r\nacc_x,acc_y[mg],acc_z[mg]\r\n1,2,3\r\n")
    with pytest.raises(InputError, match=rf"^{f}:3: unit missing from header column 'acc_x'"):
        load_mems_studio(f)
    f = _write(d / "e.csv", "# x\r\n\r\nacc_x[lsb],acc_y[lsb],acc_z[lsb]\r\n1,2,3\r\n")
    with pytest.raises(InputError, match=r"unknown unit \[lsb\].*valid units: \[mg\], \[g\], \[m/s\^2\]"):
        load_mems_studio(f)
    f = _write(d / "f.csv", "# x\r\n\r\n1,2,3\r\n")
    with pytest.raises(InputError, match=rf"^{f}:3: header line missing"):
        load_mems_studio(f)
    f = _write(tmp_path / "loose" / "g.csv", REAL_HEAD + "1,2,3\r\n")
    with pytest.raises(InputError, match="cannot tell the activity"):
        load_mems_studio(f)
    assert load_mems_studio(f, label="walking")[0].label == "walking"
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"empty: no .csv files found"):
        load_source("mems-studio", tmp_path / "empty")
    with pytest.raises(InputError, match="no such file or folder"):
        load_mems_studio(tmp_path / "missing")


def test_hargan_header_gives_rate_and_label_column_gives_segments(tmp_path):
    from har_data import SensorSpec

    sensor = SensorSpec("LSM6DSL", 8, 12.5)
    x = sensor.quantize_mg(np.random.default_rng(1).normal(0, 900, (30, 3)))
    labels = ["walking"] * 12 + ["stationary"] * 10 + ["walking"] * 8
    f = write_mems_studio_csv(tmp_path / "seq.csv", x, header={**sensor.header_fields(), "sequence": "walking:1"},
                              labels=labels)
    text = f.read_bytes().decode()
    assert text.startswith("# hargan: sensor=LSM6DSL full_scale_g=8 odr_hz=12.5 sequence=walking:1\r\n\r\n"
                           "acc_x[mg],acc_y[mg],acc_z[mg],label\r\n")
    recs = load_mems_studio(f)  # no folder label needed: the label column says it
    assert [(r.label, len(r), r.meta["segment"]) for r in recs] == [("walking", 12, 0), ("stationary", 10, 1),
                                                                    ("walking", 8, 2)]
    assert all(r.odr_hz == 12.5 and r.meta["full_scale_g"] == 8 and r.meta["hargan_header"]["sensor"] == "LSM6DSL"
               for r in recs)
    assert len({r.group for r in recs}) == 3
    assert np.array_equal(np.concatenate([r.samples for r in recs]), x)  # identical mg values
    assert recs[1].meta["first_line"] == 4 + 12
    assert load_mems_studio(f, odr_hz=26)[0].odr_hz == 26.0  # an explicit rate wins over the header
    assert [r.label for r in load_mems_studio(f, label="x")] == ["x"]  # and an explicit label over the column


def test_bad_labels(tmp_path):
    f = _write(tmp_path / "0_a" / "l.csv", "# x\r\n\r\nacc_x[mg],acc_y[mg],acc_z[mg],label\r\n1,2,3,a\r\n1,2,3, \r\n")
    with pytest.raises(InputError, match=rf"^{f}:5: empty label in the label column"):
        load_mems_studio(f)
    with pytest.raises(InputError, match="cannot be written in a label column"):
        write_mems_studio_csv(tmp_path / "w.csv", np.zeros((2, 3)), labels=["a,b", "a,b"])
    with pytest.raises(InputError, match="3 labels for 2 samples"):
        write_mems_studio_csv(tmp_path / "w.csv", np.zeros((2, 3)), labels=["a"] * 3)
    assert not (tmp_path / "w.csv").exists()
