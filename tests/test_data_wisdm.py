"""WISDM v1.1 raw file, with the real file's malformed lines."""

from __future__ import annotations

import numpy as np
import pytest

from har_data import InputError, load_source, load_wisdm

NS = 50_000_000  # 20 Hz, timestamps in ns


def _records(user, activity, n, t0, xyz=(0.0, 9.80665, 0.0)):
    return [f"{user},{activity},{t0 + i * NS},{xyz[0]},{xyz[1]},{xyz[2]};" for i in range(n)]


def write_wisdm(path):
    lines = []
    lines += _records(33, "Jogging", 60, 49105962326000, xyz=(-0.6946377, 12.680544, 0.50395286))
    lines += _records(33, "Walking", 50, 49200000000000)
    # several records run together on one line (as in the real file)
    lines.append("33,Walking,49202500000000,-0.6946377,12.680544,0.8;33,Walking,49202550000000,5.01,11.26,0.95;")
    lines += _records(33, "Walking", 45, 49202600000000)
    lines.append("11,Walking,1867172313000,4.4,4.4,;")  # missing field
    lines.append("")  # empty line
    lines.append("11,Walking,1867172313000,4.4,abc,1.0;")  # non-numeric
    lines += _records(11, "Sitting", 80, 1867172363000, xyz=(9.80665, 0.0, -9.80665))
    lines += _records(11, "Sitting", 60, 1867172363000 + 80 * NS + 5_000_000_000)  # a 5 s gap: new run
    lines += _records(7, "Upstairs", 60, 10_000_000_000)
    lines += _records(7, "Downstairs", 20, 20_000_000_000)  # 1 s: shorter than 2 s, dropped
    path.write_text("\n".join(lines) + "\n")
    return lines


def test_records_runs_units_and_skipped_lines(tmp_path):
    f = tmp_path / "WISDM_ar_v1.1_raw.txt"
    write_wisdm(f)
    recs = load_wisdm(f)
    assert recs.skipped_lines == 4
    assert recs.notes and "skipped 4 malformed line(s)" in recs.notes[0]
    assert [(r.subject, r.label, len(r)) for r in recs] == [
        ("33", "running", 60), ("33", "walking", 95),  # the skipped line leaves a 0.15 s hole: one run
        ("11", "stationary", 80), ("11", "stationary", 60), ("7", "stairs", 60)]
    assert all(r.odr_hz == 20.0 and r.meta["original_unit"] == "m/s^2" for r in recs)
    np.testing.assert_allclose(recs[1].samples[0], [0, 1000.0, 0], atol=1e-3)
    np.testing.assert_allclose(recs[2].samples[0], [1000.0, 0, -1000.0], atol=1e-3)
    assert recs[0].meta["activity"] == "Jogging" and recs[0].group == "subject:33"
    # the folder form and load_source
    assert len(load_source("wisdm", tmp_path)) == 5


def test_class_map_and_unknown_activity(tmp_path):
    f = tmp_path / "WISDM_ar_v1.1_raw.txt"
    lines = write_wisdm(f)
    recs = load_wisdm(f, class_map={"Jogging": "jog", "Sitting": "sit"})
    assert [r.label for r in recs] == ["jog", "sit", "sit"]
    lines.insert(7, "33,Swimming,49105962326000,1,2,3;")
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=rf"^{f}:8: unknown activity 'Swimming'; WISDM activities: Walking, Jogging"):
        load_wisdm(f)


def test_not_wisdm(tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("hello\nworld\n")
    with pytest.raises(InputError, match="no WISDM records found"):
        load_wisdm(f)
