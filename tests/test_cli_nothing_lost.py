"""The command line keeps the "nothing lost" promises: ranges checked at the boundary, never an input
overwritten, never a user's folder taken over, names checked before any work, clear messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hargan.cli import main


def _error(capsys, argv) -> str:
    """Run ``argv``: it must exit 2 with one line on stderr (no traceback); that line."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("hargan: error: ") and "Traceback" not in err, err
    return lines[0]


INPUTS = ("w.npz", "m.keras", "g.keras", "m.tflite", "s.npz")


def _files(tmp_path: Path) -> dict[str, bytes]:
    """Every input a command below names (its bytes do not matter: they are never read)."""
    names = INPUTS
    for name in names:
        (tmp_path / name).write_bytes(b"an input: " + name.encode())
    return {n: (tmp_path / n).read_bytes() for n in names}


RANGES = [
    (["train-gan", "--windows", "w.npz", "--batch-size", "0"], "--batch-size: must be at least 1"),
    (["train-gan", "--windows", "w.npz", "--n-critic", "0"], "--n-critic: must be at least 1"),
    (["train-gan", "--windows", "w.npz", "--gp-weight", "nan"], "--gp-weight: must be a finite number"),
    (["train-gan", "--windows", "w.npz", "--g-learning-rate", "0"], "--g-learning-rate: must be positive"),
    (["train-gan", "--windows", "w.npz", "--checkpoint-every", "-3"], "--checkpoint-every: must be at least 1"),
    (["quantize", "--model", "m.keras", "--windows", "w.npz", "--samples", "-1"], "--samples: must be at least 1"),
    (["export", "--int8", "m.tflite", "--n-test-vectors", "-5"], "--n-test-vectors: must be at least 0"),
    (["train-classifier", "--windows", "w.npz", "--epochs", "0"], "--epochs: must be at least 1"),
    (["generate", "--generator", "g.keras", "--int8", "m.tflite", "--min-confidence", "1.5"],
     "--min-confidence: must be at most 1"),
    (["prepare", "--source", "mems-studio", "--path", "w.npz", "--window", "1"], "--window: must be at least 2"),
    (["train-gan", "--windows", "w.npz", "--seed", "-1"], "--seed: must be between 0 and"),
    (["export", "--int8", "m.tflite", "--name", "1bad-name"], "--name: '1bad-name' is not a C identifier"),
]


@pytest.mark.parametrize("argv,message", RANGES, ids=[r[1].split(":")[0] for r in RANGES])
def test_out_of_range_options_are_refused_before_anything_is_read_or_written(capsys, tmp_path, argv, message):
    _files(tmp_path)
    out = tmp_path / "out"
    argv = [tmp_path / a if a in INPUTS else a for a in argv]
    line = _error(capsys, [*argv, "--out", out / "x.npz" if argv[0] == "prepare" else out])
    assert message in line
    assert not out.exists()


OVERLAPS = {
    "quantize onto its windows": (["quantize", "--model", "m.keras", "--windows", "w.npz", "--out", "w.npz"],
                                  "is the input"),
    "prepare onto its log": (["prepare", "--source", "mems-studio", "--path", "w.npz", "--out", "w.npz"],
                             "is the input"),
    "generate into the windows' folder": (["generate", "--generator", "g.keras", "--int8", "m.tflite", "--windows",
                                           "w.npz", "--out", "."], "contains the input"),
    "train-gan into its windows' folder": (["train-gan", "--windows", "w.npz", "--out", "."], "contains the input"),
    "evaluate onto the synthetic file": (["evaluate", "--real", "w.npz", "--synthetic", "s.npz", "--out", "s.npz"],
                                         "is the input|is not a folder"),
    "export inside an input": (["export", "--int8", "m.tflite", "--classes", "a", "b", "--out", "m.tflite/fw"],
                               "cannot create the output folder"),
}


@pytest.mark.parametrize("case", OVERLAPS)
def test_an_output_on_an_input_is_refused_and_the_input_kept(capsys, tmp_path, monkeypatch, case):
    before = _files(tmp_path)
    monkeypatch.chdir(tmp_path)
    argv, message = OVERLAPS[case]
    assert re.search(message, _error(capsys, argv))
    assert {n: (tmp_path / n).read_bytes() for n in before} == before
    assert not list(tmp_path.glob(".hargan*"))


@pytest.mark.parametrize("command", ["generate", "train-gan", "train-classifier", "evaluate"])
def test_a_users_folder_is_never_taken_over(capsys, tmp_path, command):
    _files(tmp_path)
    out = tmp_path / "D"
    (out / "csv" / "0_walking").mkdir(parents=True)
    (out / "csv" / "0_walking" / "mine.csv").write_text("the user's own log")
    argv = {"generate": ["--generator", "g.keras", "--int8", "m.tflite"], "train-gan": ["--windows", "w.npz"],
            "train-classifier": ["--windows", "w.npz"], "evaluate": ["--real", "w.npz", "--synthetic", "s.npz"]}
    line = _error(capsys, [command, *[tmp_path / a if a in INPUTS else a for a in argv[command]], "--out", out])
    assert "not empty and was not written by hargan" in line and str(out) in line
    assert sorted(p.name for p in out.rglob("*")) == ["0_walking", "csv", "mine.csv"]


def test_a_run_directory_that_is_a_users_folder_is_refused(capsys, tmp_path):
    (tmp_path / "run.toml").write_text('[data.source]\nname = "basic-motions"\n')
    (tmp_path / "D").mkdir()
    (tmp_path / "D" / "notes.txt").write_text("mine")
    line = _error(capsys, ["run", "--config", tmp_path / "run.toml", "--out", tmp_path / "D"])
    assert "not empty and was not written by hargan" in line
    assert [p.name for p in (tmp_path / "D").iterdir()] == ["notes.txt"]


def test_an_unwritable_out_is_found_before_the_data_is_read(capsys, tmp_path):
    _files(tmp_path)  # w.npz is not a windows file: reading it would fail with another message
    (tmp_path / "blocker").write_text("a file where a folder should be")
    line = _error(capsys, ["train-gan", "--windows", tmp_path / "w.npz", "--out", tmp_path / "blocker" / "gan"])
    assert "cannot create the output folder" in line and "blocker" in line


def test_duplicate_classes_are_named(capsys, tmp_path):
    log = tmp_path / "A" / "0_walking" / "log_0.csv"
    log.parent.mkdir(parents=True)
    log.write_text("acc_x[mg],acc_y[mg],acc_z[mg]\n" + "1,2,1000\n" * 60)
    line = _error(capsys, ["prepare", "--source", "mems-studio", "--path", tmp_path / "A", "--classes", "walking",
                           "walking", "stationary", "--out", tmp_path / "w.npz"])
    assert "given more than once: walking" in line
    assert not (tmp_path / "w.npz").exists()


def test_stedgeai_missing_points_at_the_estimate_option(capsys, tmp_path, monkeypatch):
    _files(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("STEDGEAI_CORE_DIR", raising=False)
    line = _error(capsys, ["stedgeai", "analyze", "--model", tmp_path / "m.tflite", "--out", tmp_path / "st"])
    assert "'hargan stedgeai analyze --estimate'" in line and "estimate_footprint" not in line
    assert not (tmp_path / "st").exists()


@pytest.mark.parametrize("action", ["validate", "generate"])
def test_stedgeai_estimate_is_refused_where_it_cannot_stand_in(capsys, tmp_path, action):
    _files(tmp_path)
    line = _error(capsys, ["stedgeai", action, "--model", tmp_path / "m.tflite", "--estimate",
                           "--out", tmp_path / "st"])
    assert "--estimate works with 'analyze' only" in line and action in line
    assert not (tmp_path / "st").exists()


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_a_damaged_model_is_not_reported_as_missing(capsys, tmp_path, damage):
    from classifier import build_classifier

    model = tmp_path / "m.keras"
    build_classifier("cnn1d_tiny", 24, ["a", "b"], 4.0, seed=0).save(model)
    model.write_bytes(model.read_bytes()[: 200 if damage == "truncated" else 0])
    import numpy as np

    from har_data import WindowSet

    WindowSet(np.zeros((4, 24, 3)), [0, 1, 0, 1], ["a", "b"], ["train"] * 4, list("abcd")).save(tmp_path / "w.npz")
    line = _error(capsys, ["quantize", "--model", model, "--windows", tmp_path / "w.npz", "--out",
                           tmp_path / "q.tflite"])
    assert f"{model}: damaged classifier file" in line and "File not found" not in line
