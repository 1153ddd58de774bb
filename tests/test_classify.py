"""`hargan classify`: the board model on new logs with exactly the board's preprocessing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from firmware_support import CLASSES, T, tiny_int8_bytes
from har_data import InputError, SensorSpec, load_source, make_windows, write_st_datalog
from hargan.classify import Preprocessing, classify_logs, read_preprocessing, record_path, write_preprocessing

SENSOR = SensorSpec("LSM6DSOX", 4, 26)


def _model(tmp_path: Path, suppress_gravity: bool = False, names=CLASSES) -> Path:
    model = tmp_path / "board" / "model_int8.tflite"
    model.parent.mkdir(parents=True, exist_ok=True)
    model.write_bytes(tiny_int8_bytes())
    write_preprocessing(model, Preprocessing(SENSOR, T, 24, suppress_gravity, list(names)))
    return model


def _logs(root: Path, classes=("walking", "running", "stationary"), seconds: float = 9.0) -> Path:
    """ST datalogs of two sensors at 25 and 30 Hz (not the board's 26 Hz: classify must resample)."""
    rng = np.random.default_rng(0)
    for sensor, hz in (("lis2dux12", 25), ("lsm6dsv16x", 30)):
        t = np.arange(int(seconds * hz)) / hz
        for k, cls in enumerate(classes):
            x = rng.normal(0, 80, (len(t), 3)) + [0, 0, 1000] + 500 * np.sin(2 * np.pi * (k + 1) * t)[:, None]
            write_st_datalog(root / sensor / f"{cls}.txt", x.astype(np.float32), header={"odr_hz": hz})
    return root


@pytest.mark.parametrize("suppress_gravity", [False, True])
def test_classify_matches_the_board_preprocessing(tmp_path, suppress_gravity):
    from classifier import Int8Classifier

    model = _model(tmp_path, suppress_gravity)
    logs = _logs(tmp_path / "logs")
    m = classify_logs("st-datalog", logs, tmp_path / "out", model=model)
    rows = list(csv.DictReader((tmp_path / "out" / "predictions.csv").open()))
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(m))
    # The same windows the run's prepare step cuts, judged by the same int8 bytes.
    ws = make_windows(load_source("st-datalog", logs), T, 24, sensor=SENSOR, suppress_gravity=suppress_gravity)
    want = Int8Classifier(tiny_int8_bytes(), CLASSES).predict(ws.x)
    assert len(rows) == m["windows"] == len(ws) == m["labelled_windows"]
    assert [r["predicted"] for r in rows] == [CLASSES[i] for i in want]
    true = [ws.class_names[i] for i in ws.y]
    assert [r["true"] for r in rows] == true
    assert m["accuracy"] == pytest.approx(np.mean([CLASSES[p] == t for p, t in zip(want, true)]))
    assert sum(map(sum, m["confusion"])) == len(rows) and len(m["confusion"]) == len(CLASSES)
    assert set(m["accuracy_by_class"]) == {"walking", "running", "stationary"}
    assert 0.0 <= m["macro_f1"] <= 1.0 and m["recordings"] == 6
    assert rows[0]["recording"] == "lis2dux12/running" and rows[1]["window_start"] == "24"
    assert float(rows[1]["window_start_s"]) == pytest.approx(24 / 26, abs=1e-3)
    assert all(0 <= float(r["score"]) <= 1 for r in rows)


def test_unlabelled_logs_and_class_map(tmp_path):
    model = _model(tmp_path)
    logs = _logs(tmp_path / "logs", classes=("jogging", "session3"))
    with pytest.raises(InputError, match="class names that do not match: the logs are labelled jogging, session3, "
                                         "the model knows stationary, walking, running, cycling"):
        classify_logs("st-datalog", logs, tmp_path / "out", model=model)
    assert not (tmp_path / "out").exists()
    m = classify_logs("st-datalog", logs, tmp_path / "out", model=model, class_map={"jogging": "running",
                                                                                    "session3": ""})
    assert m["labelled_windows"] == m["windows"] and set(m["accuracy_by_class"]) == {"running"}
    m = classify_logs("st-datalog", logs, tmp_path / "out2", model=model, unlabelled=True)
    assert "accuracy" not in m and m["labelled_windows"] == 0 and m["windows"] > 0
    rows = list(csv.DictReader((tmp_path / "out2" / "predictions.csv").open()))
    assert {r["true"] for r in rows} == {""}


def test_bad_models_and_inputs(tmp_path):
    logs = _logs(tmp_path / "logs")
    model = _model(tmp_path)
    with pytest.raises(InputError, match="no such board model"):
        classify_logs("st-datalog", logs, tmp_path / "o", model=tmp_path / "nope.tflite")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model at all")
    write_preprocessing(bad, read_preprocessing(model))
    with pytest.raises(InputError, match="TFL3"):
        classify_logs("st-datalog", logs, tmp_path / "o", model=bad)
    record_path(model).unlink()
    with pytest.raises(InputError, match=r"model_int8.json: missing preprocessing record"):
        classify_logs("st-datalog", logs, tmp_path / "o", model=model)
    _model(tmp_path, names=CLASSES[:3])
    with pytest.raises(InputError, match="class names that do not match: the preprocessing record names 3"):
        classify_logs("st-datalog", logs, tmp_path / "o", model=model)
    record_path(model).write_text('{"format": "something else"}')
    with pytest.raises(InputError, match="not a hargan preprocessing record"):
        classify_logs("st-datalog", logs, tmp_path / "o", model=model)
    model = _model(tmp_path)
    short = write_st_datalog(tmp_path / "short" / "walking.txt", np.zeros((20, 3)), header={"odr_hz": 26})
    with pytest.raises(InputError, match="empty input: no log fills one window of 48 samples"):
        classify_logs("st-datalog", short, tmp_path / "o", model=model)
    with pytest.raises(InputError, match="no board model in this run"):
        classify_logs("st-datalog", logs, tmp_path / "o", run=tmp_path)
    assert not (tmp_path / "o").exists()


def test_st_mobility_pickles(tmp_path):
    import pickle

    rng = np.random.default_rng(0)
    t = np.arange(260) / 26.0
    acc = [(rng.normal(0, 0.05, (260, 3)) + [0, 0, 1] + 0.5 * np.sin(2 * np.pi * k * t)[:, None]) for k in range(5)]
    with open(tmp_path / "test.pkl", "wb") as fh:
        pickle.dump({"files": [f"f{k}" for k in range(5)], "act": list(range(5)), "acc": acc}, fh)
    model = _model(tmp_path)
    m = classify_logs("st-mobility", tmp_path / "test.pkl", tmp_path / "out", model=model,
                      class_map={"vehicle": ""})
    assert m["recordings"] == 4 and set(m["accuracy_by_class"]) == set(CLASSES)


def _cli(argv: list[str]) -> tuple[int, str, str]:
    import contextlib
    import io

    from hargan.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_cli_classify_and_its_errors(tmp_path):
    model = _model(tmp_path)
    logs = _logs(tmp_path / "logs", classes=("walking", "jogging"))
    code, out, err = _cli(["classify", "--model", str(model), "--source", "st-datalog", "--path", str(logs),
                           "--option", "odr_hz={lis2dux12=25, lsm6dsv16x=30}", "--class-map", "jogging=running",
                           "--out", str(tmp_path / "check")])
    assert code == 0, err
    m = json.loads((tmp_path / "check" / "metrics.json").read_text())
    assert set(m) >= {"windows", "accuracy", "accuracy_by_class", "macro_f1", "confusion"}
    assert set(m["accuracy_by_class"]) == {"walking", "running"} and "accuracy" in out
    cases = [
        (["--model", str(tmp_path / "nope.tflite")], "no such board model"),
        (["--run", str(tmp_path)], "no board model in this run"),
        (["--model", str(model), "--class-map", "walking=running"], "class names that do not match"),
        (["--model", str(model), "--option", "odr_hz={lis2dux12=25}"], "options.odr_hz has no rate for sub-folder"),
    ]
    for extra, message in cases:
        code, _, err = _cli(["classify", *extra, "--source", "st-datalog", "--path", str(logs), "--out",
                             str(tmp_path / "bad")])
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    record_path(model).unlink()
    code, _, err = _cli(["classify", "--model", str(model), "--source", "st-datalog", "--path", str(logs),
                         "--out", str(tmp_path / "bad")])
    assert code == 2 and "missing preprocessing record" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _cli(["classify", "--model", str(_model(tmp_path)), "--source", "st-datalog", "--path",
                         str(empty), "--out", str(tmp_path / "bad")])
    assert code == 2 and "no .txt datalogs found" in err
    assert not (tmp_path / "bad").exists()


def test_the_record_names_the_gravity_filters_precision_and_older_records_mean_float64():
    """A record carries the filter's arithmetic; one from before the float32 filter (no key) meant float64
    when the model was filtered, and a wrong value is refused naming the file."""
    prep = Preprocessing(SENSOR, T, 24, True, list(CLASSES))
    assert prep.gravity_precision == "float32"
    d = prep.to_dict()
    assert Preprocessing.from_dict(d) == prep
    old = {k: v for k, v in d.items() if k != "gravity_precision"}
    assert Preprocessing.from_dict(old).gravity_precision == "float64"
    assert Preprocessing.from_dict(dict(old, suppress_gravity=False)).gravity_precision == "float32"
    with pytest.raises(InputError, match="gravity_precision must be one of float32, float64"):
        Preprocessing.from_dict(dict(d, gravity_precision="float16"), "model_int8.json")
