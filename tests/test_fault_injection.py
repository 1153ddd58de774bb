"""Fault injection: a `hargan run` killed during the GAN step resumes from its last checkpoint on the next
run (not from step 0) and ends with the same files as a run that was never killed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # long: runs first (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """\
seed = 3
[data]
classes = ["standing", "walking"]
[data.source]
name = "basic-motions"
[sensor]
name = "LSM6DSL"
full_scale_g = 4
odr_hz = 12.5
[windows]
length = 24
stride = 12
[classifier]
preset = "cnn1d"
epochs = 2
patience = 1
representative_samples = 50
[gan]
latent_dim = 16
n_critic = 1
batch_size = 16
steps = 80
checkpoint_every = 10
"""


def _hargan(*args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "hargan.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **popen)


def _run(*args: str) -> str:
    proc = _hargan(*args)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out
    return out


def _weights(path: Path) -> list[np.ndarray]:
    import keras

    import gan  # noqa: F401 - registers the custom layers

    return keras.saving.load_model(path, compile=False).get_weights()


@pytest.mark.parametrize("end", [signal.SIGKILL])
def test_a_killed_run_resumes_the_gan_and_ends_as_a_clean_run(tmp_path, end):
    pytest.importorskip("sktime")
    config = tmp_path / "run.toml"
    config.write_text(CONFIG)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    _run("run", "--config", str(config), "--out", str(clean), "--until", "gan")

    # The same run directory up to the GAN step (prepare, classifier and quantize are reused).
    shutil.copytree(clean, killed, ignore=shutil.ignore_patterns("gan", "gan.json", ".hargan.lock"))
    proc = _hargan("run", "--config", str(config), "--out", str(killed), "--until", "gan")
    checkpoints = killed / ".steps" / "checkpoints" / "gan"
    try:
        while not list(checkpoints.glob("gan-*.weights.h5")):  # poll: kill once a checkpoint exists
            assert proc.poll() is None, proc.communicate()[0]
            time.sleep(0.05)
        proc.send_signal(end)
    finally:
        log = proc.communicate(timeout=120)[0]
    assert proc.returncode == -end, log
    assert not (killed / "gan" / "generator.keras").exists()

    log = _run("run", "--config", str(config), "--out", str(killed), "--until", "gan")
    assert "reusing classifier (unchanged)" in log
    resumed = [ln for ln in log.splitlines() if "resuming from the checkpoint at step" in ln]
    assert resumed and int(resumed[0].split("step ")[1].split("/")[0]) >= 10, log  # not from 0
    assert not list(checkpoints.parent.glob("*"))  # checkpoints are dropped once the outputs are in place

    # The same history and weights up to float32 rounding (a resumed process may sum in another order).
    history = [np.genfromtxt(run / "gan" / "history.csv", delimiter=",", names=True) for run in (killed, clean)]
    assert history[0].dtype.names == history[1].dtype.names and len(history[0]) == len(history[1]) == 80
    for name in history[1].dtype.names:
        np.testing.assert_allclose(history[0][name], history[1][name], rtol=1e-5, atol=1e-6, err_msg=name)
    for a, b in zip(_weights(clean / "gan" / "generator.keras"), _weights(killed / "gan" / "generator.keras")):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
