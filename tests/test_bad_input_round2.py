"""Round two of bad input (issue 23): names that would escape --out, settings checked before the first step,
inputs that contradict themselves or the model, user mistakes as one line and exit 2."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pytest

from har_data import DEFAULT_SENSOR, InputError, Recording, SensorSpec, WindowSet, make_windows
from har_data.npz import save_npz
from hargan.cli import main
from hargan.config import config_from_dict, load_config
from hargan.flow import run_pipeline

BAD_NAMES = ["../../evil", "a/b", "/etc/passwd", "a\0b", "CON", "nul.txt", "..", ".hidden", "x\\y", "tab\tname"]


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _windows(path: Path, names=("a", "b"), y=None, meta=None) -> Path:
    rng = np.random.default_rng(0)
    meta = meta or {"sensor": DEFAULT_SENSOR.to_dict(), "odr_hz": DEFAULT_SENSOR.odr_hz}
    return save_npz(path, x=rng.normal(0, 300, (6, 8, 3)).astype(np.float32),
                    y=np.arange(6) % len(names) if y is None else y, class_names=np.asarray(list(names)),
                    split=np.full(6, "train"), group=np.arange(6).astype(str), meta=np.asarray(json.dumps(meta)))


def _one_line(capsys, argv) -> str:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_class_name_never_becomes_a_path_outside_out(tmp_path, name):
    """Class 2: every door a class name enters by (config, windows file, loader labels, synthetic writer)."""
    with pytest.raises(InputError, match="data.classes"):
        config_from_dict({"data": {"classes": [name, "b"]}})
    with pytest.raises(InputError, match="class_map"):
        config_from_dict({"data": {"source": {"name": "mems-studio", "path": "x", "class_map": {"a": name}}}})
    if "\0" not in name:  # numpy's fixed-width strings cannot hold NUL: such a file cannot exist
        with pytest.raises(InputError, match=r"w\.npz.*becomes a file or folder name"):
            WindowSet.load(_windows(tmp_path / "w.npz", names=(name, "b")))
    recs = [Recording(np.zeros((40, 3), np.float32), 26.0, label, "test", subject=label) for label in (name, "b")]
    with pytest.raises(InputError, match="becomes a file or folder name"):
        make_windows(recs, length=8, stride=8, sensor=DEFAULT_SENSOR)
    from gan.sampling import SyntheticSet

    syn = SyntheticSet(np.zeros((2, 8, 3), np.float32), np.zeros((2, 8, 3), np.int16), np.array([0, 1]),
                       [name, "b"], DEFAULT_SENSOR)
    before = _tree(tmp_path)
    with pytest.raises(InputError, match="becomes a file or folder name"):
        syn.save_csv(tmp_path / "out" / "csv")
    assert _tree(tmp_path) == before


def test_safe_class_names_are_accepted(tmp_path):
    names = ("walking", "Nordic walking", "sit-to-stand (2)", "gehen_ü", "COM")
    assert WindowSet.load(_windows(tmp_path / "w.npz", names=names[:2])).class_names == list(names[:2])
    config_from_dict({"data": {"classes": list(names)}})


def test_a_windows_file_whose_meta_disagrees_with_itself_is_refused(tmp_path):
    """Class 7: meta's odr_hz against its sensor's."""
    path = _windows(tmp_path / "w.npz", meta={"sensor": DEFAULT_SENSOR.to_dict(), "odr_hz": 100.0})
    with pytest.raises(InputError, match="meta disagrees with itself: odr_hz is 100 Hz"):
        WindowSet.load(path)


def test_exports_sensor_must_agree_with_the_models_record(tmp_path):
    """Class 7: another sensor than the model's is refused unless forced, then a warning is logged."""
    from hargan.steps.export import check_sensor_agrees

    recorded = SensorSpec("LSM6DSL", 4, 12.5)
    wrong = SensorSpec("LIS3DSH", 16, 100.0)
    with pytest.raises(InputError, match="model_int8.json: the model was trained for LSM6DSL.*--force-sensor"):
        check_sensor_agrees(wrong, recorded, tmp_path / "model_int8.json", False, print)
    said = []
    check_sensor_agrees(wrong, recorded, None, True, said.append)
    assert "warning" in said[0] and "LIS3DSH" in said[0]
    check_sensor_agrees(recorded, recorded, None, False, said.append)
    assert len(said) == 1


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text,message", [
    ('seed = 4294967296\n', r"run.toml:1: seed must be at most 4294967295 \(got 4294967296\)"),
    ('[sampling]\nlog_seconds = 1e12\n', r"run.toml:2: sampling.log_seconds must be at most 86400"),
    ('[classifier]\nepochs = 3\npreset = "resnet"\n', r"run.toml:3: classifier.preset: unknown preset 'resnet'"),
])
def test_values_are_checked_when_the_config_is_read(tmp_path, text, message):
    """Class 10: ranges, presets; a message that does not contradict itself; file, line and key."""
    with pytest.raises(InputError, match=message):
        load_config(_config(tmp_path, text))


def test_settings_are_checked_before_the_first_step(tmp_path):
    """Classes 6 and 10: a log shorter than a window is found before anything is written."""
    cfg = load_config(_config(tmp_path, "[sampling]\nlog_seconds = 0.5\n"))
    with pytest.raises(InputError, match="run.toml: sampling.log_seconds: 0.5 s is shorter than one window"):
        run_pipeline(cfg, tmp_path / "out", config_file=tmp_path / "run.toml", log=lambda m: None)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("where", ["a file", "inside the data"])
def test_a_tensorboard_folder_that_is_a_file_or_inside_the_data_is_refused(tmp_path, capsys, where):
    """Classes 8 and 12: before any training (and before prepare would see the logs as new data)."""
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "tb").write_text("a file")
    tb = "tb" if where == "a file" else "data/tb"
    cfg = load_config(_config(tmp_path, f'tensorboard = "{tb}"\n[data.source]\nname = "mems-studio"\npath = "data"\n'))
    with pytest.raises(InputError, match="tensorboard: .*(is a file, not a folder|inside the input data folder)"):
        run_pipeline(cfg, tmp_path / "out", config_file=tmp_path / "run.toml", log=lambda m: None)
    assert not (tmp_path / "out").exists()
    windows = _windows(tmp_path / "w.npz")
    line = _one_line(capsys, ["train-gan", "--windows", windows, "--tensorboard", tmp_path / "tb", "--out",
                              tmp_path / "g"])
    if where == "a file":
        assert "--tensorboard" in line and "is a file" in line and not (tmp_path / "g").exists()


def test_windows_of_one_class_are_bad_input(tmp_path, capsys):
    """Class 8: one class (or a class without windows) is exit 2 naming the file, not an internal error."""
    one = _windows(tmp_path / "one.npz", names=("walking",), y=np.zeros(6, int))
    line = _one_line(capsys, ["train-classifier", "--windows", one, "--out", tmp_path / "c"])
    assert "one.npz" in line and "at least two" in line
    empty = _windows(tmp_path / "empty.npz", names=("a", "b", "c"), y=np.arange(6) % 2)
    line = _one_line(capsys, ["train-gan", "--windows", empty, "--out", tmp_path / "g"])
    assert "empty.npz" in line and "no windows of class(es) c" in line


def test_a_classifier_given_as_generator_is_bad_input(tmp_path, capsys):
    """Class 8: a model without the generator's class record, named as such."""
    import keras

    model = keras.Sequential([keras.Input((8, 3)), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.save(tmp_path / "clf.keras")
    (tmp_path / "m.tflite").write_bytes(b"never read")
    line = _one_line(capsys, ["generate", "--generator", tmp_path / "clf.keras", "--int8", tmp_path / "m.tflite",
                              "--out", tmp_path / "s"])
    assert "clf.keras" in line and "not a hargan generator" in line


def test_a_full_disk_while_checkpointing_is_one_line(tmp_path):
    """Class 4: ENOSPC from the HDF5 writer is an InputError naming the checkpoint; no temporary is left."""
    from gan.callbacks import Checkpoint

    class Full:
        def save_weights(self, path):
            Path(path).write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")

    cb = Checkpoint(tmp_path / "gan-x.weights.h5")
    cb.set_model(Full())
    with pytest.raises(InputError, match=r"gan-x.weights.h5: cannot write the training checkpoint: no space left"):
        cb.on_epoch_end(0)
    assert list(tmp_path.iterdir()) == []


def test_the_config_inside_out_is_an_input(tmp_path):
    """Class 9: ``--config <run>/config.toml`` (edited by the user) is never rewritten."""
    pytest.importorskip("sktime")
    out = tmp_path / "run"
    cfg = load_config(_config(tmp_path, "[windows]\nlength = 24\nstride = 24\n"))
    run_pipeline(cfg, out, until="prepare", log=lambda m: None)
    mine = out / "config.toml"
    text = "# my notes\n" + mine.read_text()
    mine.write_text(text)
    run_pipeline(load_config(mine), out, until="prepare", config_file=mine, log=lambda m: None)
    assert mine.read_text() == text


def test_values_in_g_under_an_mg_header_are_refused(tmp_path):
    """Class 12: the opposite of mg under a [g] header (already caught): a log in mg holds gravity."""
    from har_data import load_mems_studio

    rng = np.random.default_rng(0)
    f = tmp_path / "1_walking" / "log_0.csv"
    f.parent.mkdir()
    rows = rng.normal([0, 0, 1], 0.1, (40, 3))
    f.write_text("# log\r\n\r\nacc_x[mg],acc_y[mg],acc_z[mg]\r\n"
                 + "".join(",".join(f"{v:.3f}" for v in r) + "\r\n" for r in rows))
    with pytest.raises(InputError, match=r"log_0.csv:3: .*look like g under an \[mg\] header"):
        load_mems_studio(f)
    f.write_text(f.read_text().replace("[mg]", "[g]"))
    assert len(load_mems_studio(f)[0]) == 40


def test_the_config_knows_every_classifier_preset():
    """classifier.preset is checked without importing Keras: the light list must be the real one."""
    from classifier import PRESETS
    from hargan.config import CLASSIFIER_PRESETS

    assert tuple(PRESETS) == CLASSIFIER_PRESETS
