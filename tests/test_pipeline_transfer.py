"""`hargan run` with a source and a target domain (a transfer run, gan.transfer): tiny real-format logs
written here, a MEMS Studio CSV tree as the source (3 classes) and an ST datalog tree of three
sensors at 26, 25 and 30 Hz as the target, with a class the source lacks (vehicle). Tiny sizes;
stops after validated sampling (`--until sample`), then runs the rest (evaluate, export: the firmware's
host self-test)."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

from firmware_export.emulator import build_host
from har_data.loaders.mems_studio import write_mems_studio_csv
from har_data.loaders.st_datalog import write_st_datalog
from hargan.cli import main

SOURCE_CLASSES = ["stationary", "walking", "running"]
TARGET_FILES = {"still": "stationary", "walk": "walking", "jog": "running", "car": "vehicle"}
RATES = {"s26": 26, "s25": 25, "s30": 30}
FREQ = {"stationary": 0.0, "walking": 1.8, "running": 2.8, "vehicle": 12.0}

CONFIG = """\
seed = 1

[data]
classes = ["stationary", "walking", "running", "vehicle"]

[data.source]
name = "mems-studio"
path = "source"

[data.target]
name = "st-datalog"
path = "target"
class_map = {{ still = "stationary", walk = "walking", jog = "running", car = "vehicle" }}
options = {{ odr_hz = {{ s26 = 26, s25 = 25, s30 = 30 }} }}

[sensor]
name = "LSM6DSOX"
full_scale_g = 4
odr_hz = 26

[windows]
length = 48
stride = 48

[classifier]
preset = "cnn1d_tiny"
epochs = 8

[gan]
latent_dim = 8
n_critic = 1
steps = {steps}
batch_size = 16
g_learning_rate = 0.005  # a few steps reach each class's real amplitude (running: ~330 mg from 100 mg)

[transfer]
synthetic_per_class = 8
target_stride = 24

[sampling]
per_class = 2
realism_critic = true
min_confidence = 0.0
max_tries = 30
realism_gate = false  # a few-step GAN is not realistic; the gate is tested in test_gan_realism.py

[evaluation]
quick = true
augmentation = false

[export]
n_test_vectors = 4
"""


def _log(cls: str, hz: float, seconds: float, rng, gravity) -> np.ndarray:
    t = np.arange(int(seconds * hz)) / hz
    amp = {"stationary": 5.0, "walking": 300.0, "running": 700.0, "vehicle": 40.0}[cls]
    x = amp * np.sin(2 * np.pi * FREQ[cls] * t)[:, None] * np.array([[1.0, 0.5, 0.3]])
    return (x + np.asarray(gravity) + rng.normal(0, 8, x.shape)).astype(np.float32)


def _write_data(root: Path) -> None:
    rng = np.random.default_rng(0)
    for i, cls in enumerate(SOURCE_CLASSES):  # wrist-like: gravity mostly on x
        for n in range(3):
            write_mems_studio_csv(root / "source" / f"{i}_{cls}" / f"log_{n}.csv",
                                  _log(cls, 26, 12, rng, [980, 100, 150]))
    for sensor, hz in RATES.items():  # pocket-like: gravity mostly on y
        for name, cls in TARGET_FILES.items():
            write_st_datalog(root / "target" / sensor / f"{name}.txt", np.round(_log(cls, hz, 8, rng, [50, -990, 80])))


def _main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_transfer_run_builds_the_board_model_for_the_target(tmp_path):
    _write_data(tmp_path)
    cfg = tmp_path / "transfer.toml"
    cfg.write_text(CONFIG.format(steps=80))
    out = tmp_path / "run"
    code, stdout, stderr = _main(["run", "--config", str(cfg), "--out", str(out), "--until", "sample"])
    assert code == 0, stdout[-3000:] + stderr[-2000:]
    for step in ("prepare", "judge", "domain_gan", "classifier", "quantize", "sample"):
        assert f"] {step}" in stdout, step
    assert "] gan:" not in stdout and "finetune" not in stdout
    assert "gravity rotation + suppression on (hargan's choice" in stdout
    assert "the judge is the board model" in stdout  # [transfer] synthetic is off by default

    names = ["stationary", "walking", "running", "vehicle"]
    with np.load(out / "data/source_windows.npz") as src, np.load(out / "data/windows.npz") as tgt:
        assert [str(c) for c in src["class_names"]] == [str(c) for c in tgt["class_names"]] == names
        assert np.bincount(src["y"], minlength=4)[3] == 0  # the source lacks vehicle
        assert np.all(np.bincount(tgt["y"], minlength=4) > 0)
        # Gravity-filtered: the static 1 g is gone from every window.
        assert abs(float(np.mean(tgt["x"][..., 2]))) < 300 and abs(float(np.mean(tgt["x"][..., 1]))) < 300
    for rel in ("classifier/judge.keras", "classifier/judge_int8.tflite", "gan/domains/generator.keras",
                "gan/domains/critic.keras", "gan/generator.keras", "gan/critic.keras", "gan/history.csv",
                "classifier/model.keras",
                "classifier/model_int8.tflite", "classifier/model_int8.json", "synthetic/windows.npz"):
        assert (out / rel).is_file(), rel
    record = json.loads((out / "classifier/model_int8.json").read_text())
    assert record["suppress_gravity"] is True and record["stride"] == 24 and record["class_names"] == names
    from classifier import load_classifier

    board, judge = load_classifier(out / "classifier/model.keras"), load_classifier(out / "classifier/judge.keras")
    assert all(np.array_equal(a, b) for a, b in zip(board.get_weights(), judge.get_weights()))
    # Calibrated as the recipe (and so its benchmark) calibrates it: the board's int8 model is the judge's.
    assert (out / "classifier/model_int8.tflite").read_bytes() == (out / "classifier/judge_int8.tflite").read_bytes()
    from gan.models import model_class_names
    from hargan.steps.common import load_generator

    assert model_class_names(load_generator(out / "gan/domains/generator.keras")) == [
        "source/stationary", "source/walking", "source/running",
        "target/stationary", "target/walking", "target/running", "target/vehicle"]
    assert model_class_names(load_generator(out / "gan/generator.keras")) == names
    with np.load(out / "synthetic/windows.npz") as z:
        assert np.bincount(z["y"], minlength=4).tolist() == [2, 2, 2, 2]

    # The rest of the run: the firmware runs the gravity filter the board model was trained with, and its
    # self-test (raw, unfiltered target counts -> C filter -> C model) passes on the host.
    code, stdout, stderr = _main(["run", "--config", str(cfg), "--out", str(out)])
    assert code == 0, stdout[-3000:] + stderr[-2000:]
    assert "reusing sample" in stdout and "] export" in stdout
    record = json.loads((out / "classifier/model_int8.json").read_text())
    assert record["suppress_gravity"] is True and record["stride"] == 24  # transfer.target_stride
    header = (out / "firmware/har_model.h").read_text()
    assert "HAR_MODEL_GRAVITY_FILTER 1" in header and "HAR_MODEL_STRIDE 24" in header
    if shutil.which("gcc"):
        res = subprocess.run([str(build_host(out / "firmware", out.parent / "selftest"))], capture_output=True,
                             text=True)
        assert res.returncode == 0 and "mismatches 0" in res.stdout, res.stdout


def test_transfer_board_model_can_train_on_the_accepted_synthetic_windows(tmp_path):
    from classifier import load_classifier

    _write_data(tmp_path)
    cfg = tmp_path / "transfer.toml"
    cfg.write_text(CONFIG.format(steps=20).replace("[transfer]\n", "[transfer]\nsynthetic = true\n"))
    out = tmp_path / "run"
    code, stdout, stderr = _main(["run", "--config", str(cfg), "--out", str(out), "--until", "classifier"])
    assert code == 0, stdout[-3000:] + stderr[-2000:]
    assert "synthetic target windows accepted by the judge" in stdout
    metrics = json.loads((out / "classifier/metrics.json").read_text())
    assert set(metrics["judge_acceptance_by_class"]) == {"stationary", "walking", "running", "vehicle"}
    board, judge = load_classifier(out / "classifier/model.keras"), load_classifier(out / "classifier/judge.keras")
    assert any(not np.array_equal(a, b) for a, b in zip(board.get_weights(), judge.get_weights()))


def test_until_must_name_a_step_of_this_run(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[gan]\nsteps = 1\n")
    out = tmp_path / "run"
    code, _, err = _main(["run", "--config", str(cfg), "--out", str(out), "--until", "judge"])
    assert code == 2
    assert "no such step in this run" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
