"""PAMAP2 loader on small .dat files written in the exact real format (54 space-separated columns, NaN)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from har_data import InputError, load_pamap2, load_source
from har_data.recording import MS2_TO_MG

G = 9.80665


def _fmt(v: float) -> str:
    return "NaN" if isinstance(v, float) and math.isnan(v) else f"{v:.6g}"


def pamap2_line(t: float, activity: int, hand16=(G, 0.0, 0.0), hand6=(0.0, G, 0.0), hr=float("nan"),
                ankle_nan=False) -> str:
    """One line as in PAMAP2's Protocol/subject10x.dat."""
    def imu(acc16, acc6, nan=False):
        vals = [31.5, *acc16, *acc6, 0.01, -0.02, 0.03, 20.1, -30.2, 40.3, 1, 0, 0, 0]
        return [float("nan")] * 17 if nan else vals
    row = [f"{t:.2f}", str(activity), _fmt(hr)]
    row += [_fmt(float(v)) for v in imu(hand16, hand6)]
    row += [_fmt(float(v)) for v in imu((0.5, 9.7, 1.0), (0.5, 9.7, 1.0))]
    row += [_fmt(float(v)) for v in imu((9.6, -1.6, -0.1), (9.6, -1.6, -0.1), nan=ankle_nan)]
    assert len(row) == 54
    return " ".join(row)


def write_subject(path, plan, nan_rows=(), t0=5.0, hand16=(G, 0.0, 0.0)):
    """plan: [(activity, n_rows)]; nan_rows: row indices whose hand accelerometers are NaN."""
    nan_rows = set(nan_rows)
    lines, i = [], 0
    for act, n in plan:
        for _ in range(n):
            h16 = (float("nan"),) * 3 if i in nan_rows else hand16
            lines.append(pamap2_line(t0 + 0.01 * i, act, hand16=h16, hr=104.0 if i % 9 == 0 else float("nan"),
                                     ankle_nan=(i % 50 == 7)))
            i += 1
    path.write_text("\n".join(lines) + "\n")
    return lines


def test_runs_classes_units_and_subject(tmp_path):
    f = tmp_path / "subject105.dat"
    # 0 (dropped), lying 300 rows with a 5-row NaN gap (interpolated), walking 600 rows with a
    # 50-row gap (split into 250 + 300), computer work (valid id, not in the map: dropped), running 250
    plan = [(0, 100), (1, 300), (4, 600), (10, 200), (5, 250)]
    write_subject(f, plan, nan_rows=list(range(200, 205)) + list(range(650, 700)))
    recs = load_pamap2(f)
    assert [r.label for r in recs] == ["stationary", "walking", "walking", "running"]
    assert [len(r) for r in recs] == [300, 250, 300, 250]
    assert all(r.subject == "105" and r.odr_hz == 100.0 for r in recs)
    assert recs[0].meta["activity_id"] == 1 and recs[0].meta["full_scale_g"] == 16
    assert recs[0].meta["original_unit"] == "m/s^2" and recs[0].meta["gravity"] is True
    assert recs[1].meta["first_line"] == 401 and recs[2].meta["first_line"] == 701
    # 9.80665 m/s^2 -> 1000 mg, including the interpolated rows
    np.testing.assert_allclose(recs[0].samples, np.tile([1000.0, 0, 0], (300, 1)), atol=1e-3)
    assert recs[0].samples.dtype == np.float32 and recs[0].group == "subject:105"
    assert recs.notes == ["PAMAP2: 4 recordings; 1 NaN gap(s) of <= 0.1 s interpolated, 1 longer gap(s) split, "
                          "0 piece(s) shorter than 2 s dropped"]


def test_accel_6g_imu_and_class_map(tmp_path):
    f = tmp_path / "subject101.dat"
    write_subject(f, [(3, 300), (6, 300), (24, 300)])
    recs = load_pamap2(f, accel="6g")
    assert [r.label for r in recs] == ["stationary", "cycling", "running"]
    np.testing.assert_allclose(recs[0].samples[0], [0, 1000.0, 0], atol=1e-3)
    assert recs[0].meta["full_scale_g"] == 6
    chest = load_pamap2(f, imu="chest")
    np.testing.assert_allclose(chest[0].samples[0], np.array([0.5, 9.7, 1.0]) * MS2_TO_MG, rtol=1e-5)
    mine = load_pamap2(f, class_map={6: "bike", 24: "jump"})
    assert [r.label for r in mine] == ["bike", "jump"]
    with pytest.raises(InputError, match="not a PAMAP2 activity id"):
        load_pamap2(f, class_map={8: "x"})
    with pytest.raises(InputError, match="unknown PAMAP2 IMU 'wrist'; valid: hand, chest, ankle"):
        load_pamap2(f, imu="wrist")


def test_folder_reads_protocol_and_optional(tmp_path):
    (tmp_path / "Protocol").mkdir()
    (tmp_path / "Optional").mkdir()
    write_subject(tmp_path / "Protocol" / "subject101.dat", [(1, 300), (4, 300)])
    write_subject(tmp_path / "Protocol" / "subject102.dat", [(5, 300)])
    write_subject(tmp_path / "Optional" / "subject101.dat", [(9, 300), (10, 300)])
    recs = load_source("pamap2", tmp_path)
    assert sorted((r.subject, r.label) for r in recs) == [
        ("101", "stationary"), ("101", "stationary"), ("101", "walking"), ("102", "running")]
    assert {r.meta["activity_id"] for r in recs if r.subject == "101"} == {1, 4, 9}


def test_long_gap_error_mode_and_short_pieces(tmp_path):
    f = tmp_path / "subject103.dat"
    write_subject(f, [(4, 400)], nan_rows=range(100, 120))
    recs = load_pamap2(f)  # a 20-row (0.2 s) gap: split; the 100-row piece (1 s) is below 2 s: dropped
    assert [len(r) for r in recs] == [280]
    assert [len(r) for r in load_pamap2(f, max_gap_s=0.25)] == [400]
    assert [len(r) for r in load_pamap2(f, min_duration_s=0.5)] == [100, 280]
    with pytest.raises(InputError) as e:
        load_pamap2(f, on_long_gap="error")
    assert str(e.value).startswith(f"{f}:101: NaN gap too long: 20 missing samples")


def test_timestamp_jump_or_restart_cuts_a_run(tmp_path):
    f = tmp_path / "subject107.dat"
    lines = write_subject(f, [(4, 600)])
    fields = [ln.split(" ", 1) for ln in lines]
    stamps = [5.0 + 0.01 * i for i in range(300)] + [100.0 + 0.01 * i for i in range(150)] + \
             [7.0 + 0.01 * i for i in range(150)]
    f.write_text("\n".join(f"{t:.2f} {rest}" for t, (_, rest) in zip(stamps, fields)) + "\n")
    recs = load_pamap2(f, min_duration_s=1.0)
    assert [len(r) for r in recs] == [300, 150, 150]
    assert [r.meta["start_time_s"] for r in recs] == [5.0, 100.0, 7.0]


def _corrupt(tmp_path, line_no: int, new_line: str):
    f = tmp_path / "subject104.dat"
    lines = write_subject(f, [(1, 300)])
    lines[line_no - 1] = new_line
    f.write_text("\n".join(lines) + "\n")
    return f, lines


def test_wrong_column_count_names_file_and_line(tmp_path):
    good = pamap2_line(6.0, 1)
    f, _ = _corrupt(tmp_path, 57, " ".join(good.split()[:50]))
    with pytest.raises(InputError, match=rf"^{f}:57: wrong column count: expected 54 columns, found 50$"):
        load_pamap2(f)
    f, _ = _corrupt(tmp_path, 12, good + " 1.5")
    with pytest.raises(InputError, match=rf"^{f}:12: wrong column count: expected 54 columns, found 55$"):
        load_pamap2(f)
    f, _ = _corrupt(tmp_path, 1, " ".join(good.split()[:40]))
    with pytest.raises(InputError, match=rf"^{f}:1: wrong column count: expected 54"):
        load_pamap2(f)
    f, _ = _corrupt(tmp_path, 30, "")
    with pytest.raises(InputError, match=rf"^{f}:30: wrong column count: .*empty line"):
        load_pamap2(f)


def test_non_numeric_and_unknown_activity(tmp_path):
    fields = pamap2_line(6.0, 1).split()
    fields[5] = "12,5"
    f, _ = _corrupt(tmp_path, 77, " ".join(fields))
    with pytest.raises(InputError, match=rf"^{f}:77: non-numeric field '12,5' in column 6$"):
        load_pamap2(f)
    f, _ = _corrupt(tmp_path, 88, pamap2_line(6.0, 8))
    with pytest.raises(InputError, match=rf"^{f}:88: unknown activity id 8; PAMAP2 ids are 0, 1, 2, 3"):
        load_pamap2(f)


def test_trailing_blank_lines_and_crlf_are_fine(tmp_path):
    f = tmp_path / "subject106.dat"
    lines = write_subject(f, [(2, 300)])
    f.write_bytes(("\r\n".join(lines) + "\r\n\r\n\n").encode())
    recs = load_pamap2(f)
    assert [len(r) for r in recs] == [300] and recs[0].label == "stationary"


def test_missing_path(tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        load_pamap2(tmp_path / "nope.dat")
    with pytest.raises(InputError, match="no PAMAP2 .dat files found"):
        load_pamap2(tmp_path)
