"""The run's export with the gravity filter on: prepare keeps the held-out split unfiltered, export reads the
board's preprocessing from model_int8.json, and the exported firmware's self-test passes on the host (gcc):
raw counts -> the C filter -> the C model == the Python preprocessing + the int8 judge. Also `hargan export`:
the record, the flags that override it, and one clear line without it. Tiny MEMS Studio logs written here,
an untrained cnn1d_tiny int8 model."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess

import numpy as np
import pytest

from firmware_export.emulator import build_host
from firmware_support import CLASSES, T, needs_gcc, tiny_int8_bytes
from har_data.gravity import GravityRotationFilter
from har_data.loaders.mems_studio import write_mems_studio_csv
from hargan.classify import read_preprocessing, write_preprocessing
from hargan.cli import main
from hargan.config import Config, DataConfig, DomainConfig, SensorConfig, WindowsConfig
from hargan.flow import run_step
from hargan.steps.base import RunContext
from hargan.steps.export import Export
from hargan.steps.prepare import Prepare
from hargan.steps.quantize import board_preprocessing

STRIDE = 24
FREQ = {"stationary": 0.0, "walking": 1.8, "running": 2.8, "cycling": 1.1}


def _write_logs(root) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(26 * 10) / 26.0
    for i, cls in enumerate(CLASSES):
        for n in range(3):  # wrist-like: gravity mostly on x
            x = 400 * np.sin(2 * np.pi * FREQ[cls] * t)[:, None] * np.array([[1.0, 0.5, 0.3]])
            x = x + np.array([980.0, 100.0, 150.0]) + rng.normal(0, 8, x.shape)
            write_mems_studio_csv(root / f"{i}_{cls}" / f"log_{n}.csv", x.astype(np.float32))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """prepare (gravity filter on) -> an int8 model with its record -> export, through the run's step machinery."""
    root = tmp_path_factory.mktemp("gravity_run")
    _write_logs(root / "logs")
    cfg = Config(data=DataConfig(source=DomainConfig(name="mems-studio", path=str(root / "logs"),
                                                     suppress_gravity=True), classes=list(CLASSES)),
                 sensor=SensorConfig("LSM6DSOX", 4, 26.0), windows=WindowsConfig(length=T, stride=STRIDE))
    ctx = RunContext(cfg, root / "run", log=lambda _m: None)
    run_step(ctx, Prepare(), "[1]")
    ctx.paths.int8.parent.mkdir(parents=True)
    ctx.paths.int8.write_bytes(tiny_int8_bytes())
    write_preprocessing(ctx.paths.int8, board_preprocessing(ctx))
    run_step(ctx, Export(), "[2]")
    return ctx


def _table(text: str, symbol: str) -> np.ndarray:
    block = re.search(rf"{symbol}\[[^=]*= \{{(.*?)\n\}};", text, re.S).group(1)
    return np.array(re.findall(r"-?\d+", block), dtype=np.int64)


def test_prepare_keeps_the_held_out_split_unfiltered(run):
    from har_data import WindowSet

    ws, raw = WindowSet.load(run.paths.windows), WindowSet.load(run.paths.unfiltered_windows)
    held = ws.subset("test")
    assert len(raw) == len(held) > 0 and set(raw.split) == {"test"}
    assert np.array_equal(raw.y, held.y) and np.array_equal(raw.group, held.group)
    assert raw.preprocessing == {"window": T, "stride": STRIDE, "suppress_gravity": False}
    assert ws.preprocessing["suppress_gravity"] is True
    assert float(np.mean(raw.x[..., 0])) > 800 and abs(float(np.mean(held.x[..., 0]))) < 300  # gravity is in raw
    assert read_preprocessing(run.paths.int8).suppress_gravity is True


def test_the_firmware_has_the_recorded_preprocessing(run):
    fw = run.paths.firmware_dir
    header = (fw / "har_model.h").read_text()
    assert "#define HAR_MODEL_GRAVITY_FILTER 1" in header and f"#define HAR_MODEL_STRIDE {STRIDE}" in header
    readme = (fw / "README.md").read_text()
    assert "Preprocessing: ST's gravity rotation + suppression filter" in readme
    assert re.search(rf"classifies every\s+{STRIDE} samples", readme)
    assert run.results["export"]["gravity_filter"] is True and run.results["export"]["stride"] == STRIDE


def test_test_vectors_are_unfiltered_counts_scored_by_the_validated_preprocessing(run):
    """The expected scores are what the board model was validated with: har_data's gravity filter on the
    sensor's mg, the model's input quantization, LiteRT."""
    from classifier import Int8Classifier

    text = (run.paths.firmware_dir / "har_model_test_vectors.c").read_text()
    counts = _table(text, "har_model_test_counts").reshape(-1, T, 3)
    sensor = run.sensor
    assert float(np.mean(sensor.to_mg(counts)[..., 0])) > 800  # raw: gravity still in
    int8 = Int8Classifier(tiny_int8_bytes(), CLASSES)
    mg = np.stack([GravityRotationFilter(26.0).process(sensor.to_mg(c)) for c in counts])
    want = int8.predict_int8(mg)
    assert np.array_equal(_table(text, "har_model_test_outputs").reshape(want.shape), want)
    stream = _table(text, "har_model_test_stream_counts").reshape(-1, 3)
    filtered = GravityRotationFilter(26.0).process(sensor.to_mg(stream))
    windows = np.stack([filtered[s:s + T] for s in range(0, len(stream) - T + 1, STRIDE)])
    want = int8.predict_int8(windows)
    assert np.array_equal(_table(text, "har_model_test_stream_outputs").reshape(want.shape), want)


@needs_gcc
def test_host_selftest_passes(run, tmp_path):
    exe = build_host(run.paths.firmware_dir, tmp_path)
    res = subprocess.run([str(exe)], capture_output=True, text=True)
    assert res.returncode == 0 and "mismatches 0" in res.stdout, res.stdout
    assert "classify ok" in res.stdout and "push ok" in res.stdout


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_export_command_reads_the_record_and_refuses_filtered_windows(run, tmp_path):
    model = str(run.paths.int8)
    code, _, err = _cli(["export", "--int8", model, "--test-vectors", str(run.paths.windows), "--out",
                         str(tmp_path / "a")])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "gravity-filtered" in err, err
    assert not (tmp_path / "a").exists()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "README.md").write_text("my project\n")
    code, out, err = _cli(["export", "--int8", model, "--test-vectors", str(run.paths.unfiltered_windows),
                           "--out", str(tmp_path / "b")])
    assert code == 0, out + err
    assert (tmp_path / "b" / "README.md").read_text() == "my project\n"  # the project's own, left alone
    assert "gravity rotation + suppression" in (tmp_path / "b" / "har_model_README.md").read_text()
    assert "gravity filter on (float32), a window every 24 samples" in out
    header = (tmp_path / "b" / "har_model.h").read_text()
    assert "HAR_MODEL_GRAVITY_FILTER 1" in header and "HAR_MODEL_STRIDE 24" in header
    code, out, err = _cli(["export", "--int8", model, "--stride", "6", "--out", str(tmp_path / "c")])
    assert code == 0 and "HAR_MODEL_STRIDE 6" in (tmp_path / "c" / "har_model.h").read_text(), out + err


def test_export_command_without_a_record_needs_the_gravity_flag(run, tmp_path):
    model = tmp_path / "m.tflite"
    shutil.copy(run.paths.int8, model)
    code, _, err = _cli(["export", "--int8", str(model), "--classes", *CLASSES, "--out", str(tmp_path / "a")])
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "m.json" in err and "--gravity or --no-gravity" in err
    code, out, err = _cli(["export", "--int8", str(model), "--classes", *CLASSES, "--no-gravity",
                           "--out", str(tmp_path / "b")])
    assert code == 0, out + err
    header = (tmp_path / "b" / "har_model.h").read_text()
    assert "HAR_MODEL_GRAVITY_FILTER 0" in header and f"HAR_MODEL_STRIDE {T // 2}" in header
    code, out, err = _cli(["export", "--int8", str(model), "--gravity", "--stride", "12", "--sensor", "LSM6DSOX",
                           "--test-vectors", str(run.paths.unfiltered_windows), "--out", str(tmp_path / "c")])
    assert code == 0, out + err
    assert "HAR_MODEL_GRAVITY_FILTER 1" in (tmp_path / "c" / "har_model.h").read_text()
    code, _, err = _cli(["export", "--int8", str(model), "--no-gravity", "--stride", "0", "--classes", *CLASSES,
                         "--out", str(tmp_path / "d")])
    assert code == 2 and "--stride" in err


def test_export_takes_a_synthetic_windows_file_and_help_names_the_record(run, tmp_path):
    from gan.sampling import SyntheticSet
    from har_data import SensorSpec, WindowSet

    raw = WindowSet.load(run.paths.unfiltered_windows)
    sensor = SensorSpec("LSM6DSOX", 4, 26.0)
    counts = sensor.to_counts(raw.x)
    path = SyntheticSet(sensor.to_mg(counts), counts, raw.y, raw.class_names, sensor).save(
        tmp_path / "synthetic" / "windows.npz")
    model = tmp_path / "m.tflite"
    shutil.copy(run.paths.int8, model)
    code, out, err = _cli(["export", "--int8", str(model), "--no-gravity", "--sensor", "LSM6DSOX", "--test-vectors",
                           str(path), "--out", str(tmp_path / "a")])
    assert code == 0, out + err
    assert "HAR_MODEL_TEST_STREAM_LENGTH" in (tmp_path / "a" / "har_model_test_vectors.h").read_text()
    # with the filter, synthetic windows cannot be the sensor's raw output (they do not say): one line, exit 2
    code, _, err = _cli(["export", "--int8", str(run.paths.int8), "--test-vectors", str(path), "--out",
                         str(tmp_path / "b")])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "gravity-filtered" in err, err
    _, out, _ = _cli(["export", "--help"])
    text = " ".join(out.split())
    assert "output data rate in Hz (default: the one stored in the record beside --int8, else 26)" in text
    readme = (tmp_path / "a" / "har_model_README.md").read_text()
    assert "coefficients" not in readme and "filter state" not in readme
