"""Bad input stopped where it enters: every array checked once (NaN, inf, complex, duplicate names, bad meta),
loaders that refuse what a sensor cannot report, split at time jumps, and never hand NaN to a converter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from har_data import DEFAULT_SENSOR, InputError, Recording, WindowSet, load_mems_studio, make_windows
from har_data.npz import save_npz

HEAD = "# log\r\n\r\n{cols}\r\n"


def _windows_npz(path: Path, **change) -> Path:
    rng = np.random.default_rng(0)
    arrays = dict(x=rng.normal(0, 300, (6, 8, 3)).astype(np.float32), y=np.arange(6) % 2,
                  class_names=np.asarray(["a", "b"]), split=np.full(6, "train"), group=np.arange(6).astype(str),
                  meta=np.asarray(json.dumps({"sensor": DEFAULT_SENSOR.to_dict(), "odr_hz": 26.0})))
    arrays.update(change)
    return save_npz(path, **arrays)


def _nan_x():
    x = np.zeros((6, 8, 3), np.float32)
    x[::2] = np.nan
    return x


BAD_WINDOWS = {
    "nan": (dict(x=_nan_x()), "NaN"),
    "inf": (dict(x=np.full((6, 8, 3), np.inf, np.float32)), "infinite"),
    "complex": (dict(x=np.ones((6, 8, 3), np.complex64)), "complex"),
    "duplicate names": (dict(class_names=np.asarray(["a", "a"])), "more than once: a"),
    "meta not a dict": (dict(meta=np.asarray(json.dumps([1, 2]))), "must be a JSON object"),
    "meta not JSON": (dict(meta=np.asarray("{oops")), "not JSON"),
    "sensor without full scale": (dict(meta=np.asarray(json.dumps({"sensor": {"name": "LSM6DSL", "odr_hz": 26}}))),
                                  "lacks full_scale_g"),
    "nan labels": (dict(y=np.array([0, 1, np.nan, 0, 1, 0])), "NaN"),
}


@pytest.mark.parametrize("case", BAD_WINDOWS)
def test_windows_files_are_checked_where_they_enter(tmp_path, case):
    change, message = BAD_WINDOWS[case]
    path = _windows_npz(tmp_path / "w.npz", **change)
    with pytest.raises(InputError, match=message) as err:
        WindowSet.load(path)
    assert str(err.value).startswith(str(path) + ": ") and "\n" not in str(err.value)


@pytest.mark.parametrize("case", ["nan", "duplicate names", "sensor missing"])
def test_synthetic_files_are_checked_where_they_enter(tmp_path, case):
    from gan import SyntheticSet

    arrays = dict(x_mg=np.zeros((2, 8, 3), np.float32), x_counts=np.zeros((2, 8, 3), np.int16), y=np.array([0, 1]),
                  class_names=np.asarray(["a", "b"]), sensor=np.asarray(json.dumps(DEFAULT_SENSOR.to_dict())))
    if case == "nan":
        arrays["x_mg"][1, 2, 0] = np.nan
    elif case == "duplicate names":
        arrays["class_names"] = np.asarray(["b", "b"])
    else:
        arrays["sensor"] = np.asarray(json.dumps({"name": "LSM6DSL"}))
    path = save_npz(tmp_path / "s.npz", **arrays)
    with pytest.raises(InputError, match=str(path)):
        SyntheticSet.load(path)


@pytest.mark.parametrize("value", ["inf", "-inf", "1e400", "-1E999"])
def test_infinite_csv_values_are_refused_with_their_line(tmp_path, value):
    f = tmp_path / "1_walking" / "log_0.csv"
    f.parent.mkdir()
    f.write_text(HEAD.format(cols="acc_x[mg],acc_y[mg],acc_z[mg]") + f"1,2,3\r\n4,{value},6\r\n7,8,9\r\n")
    with pytest.raises(InputError, match=r"log_0.csv:5: infinite value"):
        load_mems_studio(f)


@pytest.mark.parametrize("unit,scale", [("g", 1.0), ("g", 9.80665), ("mg", 1000.0)])
def test_values_in_a_smaller_unit_than_the_header_says_are_reported(tmp_path, unit, scale):
    """mg values under a [g] header read as ~1000 g (a sensor saturates at 16 g): say so, do not clip silently."""
    f = tmp_path / "1_walking" / "log_0.csv"
    f.parent.mkdir()
    rows = np.random.default_rng(1).normal([0, 0, 1000], 200, (40, 3)) * scale
    f.write_text(HEAD.format(cols=f"acc_x[{unit}],acc_y[{unit}],acc_z[{unit}]")
                 + "".join(",".join(f"{v:.3f}" for v in r) + "\r\n" for r in rows))
    with pytest.raises(InputError, match=rf"log_0.csv: median acceleration is .* g.*not in \[{unit}\]"):
        load_mems_studio(f)


@pytest.mark.parametrize("jump_s,pieces", [(30.0, 2), (1.5, 2), (0.05, 1)])
def test_a_jump_in_the_time_column_splits_the_recording(tmp_path, jump_s, pieces):
    t = np.arange(120) / 26.0
    t[60:] += jump_s
    rng = np.random.default_rng(2)
    a = rng.normal([0, 0, 1000], 100, (120, 3))
    f = tmp_path / "1_walking" / "log_0.csv"
    f.parent.mkdir()
    f.write_text(HEAD.format(cols="time[s],acc_x[mg],acc_y[mg],acc_z[mg]")
                 + "".join(f"{ti:.5f}," + ",".join(f"{v:.2f}" for v in r) + "\r\n" for ti, r in zip(t, a)))
    recs = load_mems_studio(f)
    assert len(recs) == pieces and sum(len(r) for r in recs) == 120 and all(r.odr_hz == 26.0 for r in recs)
    if pieces == 2:
        assert [len(r) for r in recs] == [60, 60] and recs[1].meta["first_line"] == 4 + 60
        assert recs.notes and "log_0.csv" in recs.notes[0]
        ws = make_windows(recs, length=24, stride=6)
        # No window spans the jump: each is a slice of one piece.
        assert all(any(np.array_equal(w, r.samples[k:k + 24]) for r in recs for k in range(0, len(r) - 23, 6))
                   for w in ws.x)


@pytest.mark.parametrize("bad", [np.nan, np.inf, 1e39])
def test_recordings_refuse_non_finite_samples(bad):
    s = np.ones((10, 3))
    s[4, 1] = bad
    with pytest.raises(InputError, match=r"^src\.csv: samples holds 1"):
        Recording(s, 26.0, "walking", "src.csv")


@pytest.mark.parametrize("bad", [np.nan, np.inf, "complex"])
def test_int8_calibration_never_sees_non_finite_windows(bad):
    """The TFLite converter segfaults on NaN in the representative set: refused before it runs."""
    from classifier import build_classifier
    from classifier.quantize import representative_windows

    model = build_classifier("cnn1d_tiny", 24, ["a", "b"], 4.0, seed=0)
    x = np.zeros((5, 24, 3), np.complex64 if bad == "complex" else np.float32)
    if bad != "complex":
        x[2, 3, 0] = bad
    with pytest.raises(InputError, match="representative windows holds"):
        representative_windows(model, x)


@pytest.mark.parametrize("bad", [np.nan, -np.inf])
def test_test_vectors_never_see_non_finite_windows(bad):
    from firmware_export.test_vectors import make_test_vectors

    x = np.zeros((4, 24, 3), np.float32)
    x[1, 0, 2] = bad
    with pytest.raises(InputError, match="test windows holds 1"):
        make_test_vectors(None, x, np.array([0, 1, 0, 1]))


@pytest.mark.parametrize("classes", [["walking", "walking", "stationary"], ["a", "b", "a"]])
def test_duplicate_classes_are_named_as_such(classes):
    recs = [Recording(np.ones((40, 3)), 26.0, c, f"r{i}") for i, c in enumerate(sorted(set(classes)))]
    with pytest.raises(InputError, match="given more than once"):
        make_windows(recs, length=8, class_names=classes)


@pytest.mark.parametrize("damage", ["truncated", "empty", "not a zip", "zip without config"])
def test_a_damaged_keras_file_is_named_as_damaged_not_missing(tmp_path, damage):
    import zipfile

    from classifier import build_classifier, load_classifier

    path = tmp_path / "model.keras"
    build_classifier("cnn1d_tiny", 24, ["a", "b"], 4.0, seed=0).save(path)
    data = path.read_bytes()
    if damage == "zip without config":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("model.weights.h5", b"")
    else:
        path.write_bytes({"truncated": data[: len(data) // 2], "empty": b"", "not a zip": b"PK not really"}[damage])
    with pytest.raises(InputError, match=r"model.keras: (damaged|not a) classifier file") as err:
        load_classifier(path)
    assert "File not found" not in str(err.value)


@pytest.mark.parametrize("option,value", [("max_gap_s", "x"), ("max_gap_s", float("nan")), ("label", 3),
                                          ("odr_hz", "fast"), ("max_gap_s", True)])
def test_a_loader_option_of_the_wrong_type_is_bad_input(tmp_path, option, value):
    from har_data import load_source

    f = tmp_path / "1_walking" / "log_0.csv"
    f.parent.mkdir()
    f.write_text(HEAD.format(cols="acc_x[mg],acc_y[mg],acc_z[mg]") + "1,2,1000\r\n" * 10)
    with pytest.raises(InputError, match=rf"option {option} of source mems-studio must be"):
        load_source("mems-studio", f, **{option: value})
