"""ST datalog .txt logs: the exact real format (tab-separated ``A_X [mg]`` header, integer mg rows, LF)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from har_data import InputError, load_source, load_st_datalog, write_st_datalog
from har_data.recording import MS2_TO_MG

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "st_mlc_activity_mobile"
REAL = REAL if REAL.is_dir() else Path("/work/shared/data/st_mlc_activity_mobile")
HEAD = "A_X [mg]\tA_Y [mg]\tA_Z [mg]\n"
RATES = {"lsm6dsox": 26, "lis2dux12": 25, "lsm6dsv16x": 30}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path


def _rows(values) -> str:
    return "".join("\t".join(str(int(v)) for v in row) + "\n" for row in values)


def _tree(root: Path, n: int = 40) -> np.ndarray:
    rng = np.random.default_rng(0)
    a = np.round(rng.normal(0, 300, (n, 3)))
    for sensor in RATES:
        for cls in ("walking", "driving"):
            _write(root / sensor / f"{cls}.txt", HEAD + _rows(a))
    return a


def test_tree_with_rate_map_keeps_sensors(tmp_path):
    a = _tree(tmp_path)
    recs = load_st_datalog(tmp_path, odr_hz=RATES)
    assert sorted((r.meta["sensor"], r.label, r.odr_hz) for r in recs) == sorted(
        (s, c, float(hz)) for s, hz in RATES.items() for c in ("walking", "driving"))
    np.testing.assert_array_equal(recs[0].samples, a)
    assert all(r.meta["original_unit"] == "mg" and r.meta["gravity"] and r.meta["odr_from"] == "option"
               for r in recs)
    ids = {r.meta["recording_id"] for r in recs}
    assert "lsm6dsox/walking" in ids and len(ids) == 6 and len({r.group for r in recs}) == 6
    assert not recs.notes
    # the same through the registry, with a single rate for every file
    one = load_source("st-datalog", tmp_path / "lis2dux12", odr_hz=25)
    assert [(r.label, r.odr_hz, r.meta["sensor"]) for r in one] == [("driving", 25.0, None), ("walking", 25.0, None)]


def test_no_rate_anywhere_reads_26_hz_with_a_note(tmp_path):
    f = _write(tmp_path / "walking_2.txt", HEAD + "1\t2\t3\n4\t5\t6\n")
    recs = load_st_datalog(f)
    assert recs[0].label == "walking" and recs[0].odr_hz == 26.0 and recs[0].meta["odr_from"] == "default"
    assert "read at 26 Hz" in recs.notes[0]


def test_mems_studio_folders_time_column_units_and_extra_columns(tmp_path):
    t = np.arange(50) / 52.0
    body = "".join(f"{ti:.6f}\t1.0\t0\t-1\t10\t20\t30\n" for ti in t)
    head = "Time [s]\tA_X [g]\tA_Y [g]\tA_Z [g]\tG_X [dps]\tG_Y [dps]\tG_Z [dps]\n"
    f = _write(tmp_path / "3_cycling" / "log_0.txt", head + body)
    rec = load_st_datalog(tmp_path, odr_hz=26)[0]  # the time column wins over the option
    assert rec.label == "cycling" and rec.odr_hz == 52.0 and rec.meta["log_id"] == "3"
    np.testing.assert_array_equal(rec.samples[0], [1000.0, 0.0, -1000.0])
    assert rec.meta["recording_id"] == "3_cycling/log_0" and rec.meta["sensor"] is None
    f = _write(tmp_path / "s.txt", "A_X [m/s^2]\tA_Y [m/s^2]\tA_Z [m/s^2]\n9.80665\t0\t0\n")
    assert abs(load_st_datalog(f)[0].samples[0, 0] - 1000.0) < 1e-3
    assert load_st_datalog(f)[0].meta["original_unit"] == "m/s^2" and MS2_TO_MG > 100


def test_write_round_trip_is_identical(tmp_path):
    rng = np.random.default_rng(1)
    x = (rng.normal(0, 700, (300, 3)).astype(np.float32) * np.float32(0.122)).astype(np.float32)
    x[0] = [313, -68, 0]
    f = write_st_datalog(tmp_path / "lsm6dsox" / "walking.txt", x,
                         header={"sensor": "LSM6DSOX", "full_scale_g": 4, "odr_hz": 12.5, "class": "walking"})
    lines = f.read_text().split("\n")
    assert lines[0] == "# hargan: sensor=LSM6DSOX full_scale_g=4 odr_hz=12.5 class=walking"
    assert lines[1] == HEAD.strip("\n") and lines[2] == "313\t-68\t0" and lines[-1] == ""
    back = load_st_datalog(f)[0]
    np.testing.assert_array_equal(back.samples, x)
    assert (back.odr_hz, back.label, back.meta["full_scale_g"], back.meta["odr_from"]) == (12.5, "walking", 4.0,
                                                                                            "hargan header")
    assert load_st_datalog(f, odr_hz=26)[0].odr_hz == 26.0  # an explicit option wins over the header
    write_st_datalog(f, x[:5], header={"odr_hz": 26})  # hargan's own file: may be overwritten
    assert len(load_st_datalog(f)[0]) == 5 and [p.name for p in f.parent.iterdir()] == ["walking.txt"]
    theirs = _write(tmp_path / "theirs.txt", HEAD + "1\t2\t3\n")
    with pytest.raises(InputError, match="refusing to overwrite a file hargan did not write"):
        write_st_datalog(theirs, x)
    with pytest.raises(InputError, match="N x 3"):
        write_st_datalog(tmp_path / "bad.txt", np.zeros((4, 2)))
    with pytest.raises(InputError, match="NaN or infinite"):
        write_st_datalog(tmp_path / "bad.txt", np.full((4, 3), np.inf))
    assert not (tmp_path / "bad.txt").exists()


@pytest.mark.parametrize("text,line,message", [
    (HEAD + "1\t2\t3\n4\t5\n", 3, "wrong column count: expected 3 tab-separated fields, found 2"),
    (HEAD + "1\t2\t3\t4\n", 2, "wrong column count: expected 3 tab-separated fields, found 4"),
    (HEAD + "1\t2\t3\n1\tabc\t3\n", 3, "non-numeric field 'abc' in column 'A_Y'"),
    (HEAD + "1\t2\t3\n1\tinf\t3\n", 3, "infinite value 'inf' in column 'A_Y'"),
    (HEAD + "1\t2\t3\n" + "nan\tnan\tnan\n" * 9 + "1\t2\t3\n", 3, "NaN gap too long: 9 missing samples"),
    ("A_X [lsb]\tA_Y [lsb]\tA_Z [lsb]\n1\t2\t3\n", 1, r"unknown unit \[lsb\]"),
    ("A_X\tA_Y [mg]\tA_Z [mg]\n1\t2\t3\n", 1, "unit missing from header column 'A_X'"),
    ("1\t2\t3\n", 1, "header line missing: expected e.g. A_X"),
    (HEAD, 1, "no samples after the header"),
    ("# hargan: sensor=X odr_hz=fast\n" + HEAD + "1\t2\t3\n", 1, "bad hargan header value odr_hz='fast'"),
])
def test_bad_input_names_file_and_line(tmp_path, text, line, message):
    f = _write(tmp_path / "walking.txt", text)
    with pytest.raises(InputError, match=rf"^{f}:{line}: {message}"):
        load_st_datalog(f)


def test_bad_files_and_options(tmp_path):
    f = _write(tmp_path / "empty.txt", "")
    with pytest.raises(InputError, match=rf"^{f}: no header and no data"):
        load_st_datalog(f)
    _tree(tmp_path / "tree")
    with pytest.raises(InputError, match=r"lsm6dsv16x/driving.txt: options.odr_hz has no rate for sub-folder "
                                         r"'lsm6dsv16x' \(rates given for: lsm6dsox, lis2dux12\)"):
        load_st_datalog(tmp_path / "tree", odr_hz={"lsm6dsox": 26, "lis2dux12": 25})
    _write(tmp_path / "flat" / "walking.txt", HEAD + "1\t2\t3\n")
    with pytest.raises(InputError, match="rates by sub-folder .* this log is in no sub-folder"):
        load_st_datalog(tmp_path / "flat", odr_hz=RATES)
    for bad in (0, -3, "fast", float("nan"), {"lsm6dsox": 0}, {}):
        with pytest.raises(InputError, match="options.odr_hz"):
            load_st_datalog(tmp_path / "flat", odr_hz=bad)
    (tmp_path / "none").mkdir()
    _write(tmp_path / "none" / "README.txt", "not a log\n")
    with pytest.raises(InputError, match=r"none: no .txt datalogs found"):
        load_source("st-datalog", tmp_path / "none")
    with pytest.raises(InputError, match="no such file or folder"):
        load_st_datalog(tmp_path / "missing")
    with pytest.raises(InputError, match="bad option for source st-datalog"):
        load_source("st-datalog", tmp_path / "flat", rate=3)


@pytest.mark.skipif(not REAL.is_dir(), reason=f"ST datalogs not found at {REAL} (shared data folder absent)")
def test_real_st_mlc_activity_mobile_logs():
    recs = load_source("st-datalog", REAL, odr_hz=RATES)
    found = {(r.meta["sensor"], r.label): (r.odr_hz, len(r)) for r in recs}
    classes = {"stationary", "walking", "jogging", "biking", "driving"}
    assert set(found) == {(s, c) for s in RATES for c in classes}
    expected_len = {"lsm6dsox": 1000, "lis2dux12": 962, "lsm6dsv16x": 1154}
    assert all(found[s, c] == (float(RATES[s]), expected_len[s]) for s, c in found)
    g = np.median(np.linalg.norm(recs[0].samples, axis=1))
    assert 900 < g < 1100  # mg, gravity included


def test_config_with_rate_map_and_class_map(tmp_path):
    from hargan.config import config_text, load_config

    _tree(tmp_path / "logs")
    cfg_file = tmp_path / "run.toml"
    cfg_file.write_text('seed = 0\n[data]\nclasses = ["walking", "vehicle"]\n[data.source]\nname = "st-datalog"\n'
                        'path = "logs"\nclass_map = { driving = "vehicle" }\n'
                        'options = { odr_hz = { lsm6dsox = 26, lis2dux12 = 25, lsm6dsv16x = 30 } }\n')
    cfg = load_config(cfg_file)
    src = cfg.data.source
    assert src.name == "st-datalog" and Path(src.path) == tmp_path / "logs"
    assert src.options == {"odr_hz": RATES} and "st-datalog" in config_text(cfg)
    recs = load_source(src.name, src.path, **src.options)
    labels = {src.class_map.get(r.label, r.label) for r in recs}
    assert labels == {"walking", "vehicle"}
