"""`hargan run` with a source and a target domain: pretrain the GAN on the source (bundled BasicMotions,
10 Hz smartwatch, relabelled by a class map) and fine-tune it on the target (the shared PAMAP2 wrist
logs in MEMS Studio format, 26 Hz) with the target ST classifier's feedback. Tiny sizes; stops after
validated sampling (`--until sample`), which the demo test covers beyond."""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import numpy as np
import pytest

from hargan.cli import main

TARGET = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pamap2_wrist_mems_studio"

CONFIG = """\
seed = 1

[data]
classes = ["stationary", "walking", "running"]

[data.source]
name = "basic-motions"
class_map = {{standing = "stationary", badminton = ""}}

[data.target]
name = "mems-studio"
path = "{target}"

[sensor]
name = "LSM6DSL"
full_scale_g = 4
odr_hz = 26

[windows]
length = 48
stride = 48

[classifier]
preset = "cnn1d_tiny"
epochs = 3
batch_size = 64

[gan]
latent_dim = 16
n_critic = 1
steps = 10
finetune_steps = {finetune}
batch_size = 32
classifier_weight = 3.0

[sampling]
per_class = 2
min_confidence = 0.0
max_tries = 30
realism_gate = false  # a 10-step GAN is not realistic; the gate is tested in test_gan_realism.py
"""


def _main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _columns(path: Path) -> list[str]:
    with open(path, newline="") as fh:
        return next(csv.reader(fh))


@pytest.mark.skipif(not TARGET.is_dir(), reason=f"shared target data not found at {TARGET}")
def test_pretrain_on_source_then_finetune_on_target(tmp_path):
    cfg = tmp_path / "two_stage.toml"
    cfg.write_text(CONFIG.format(target=TARGET, finetune=60))
    out = tmp_path / "run"
    code, stdout, stderr = _main(["run", "--config", str(cfg), "--out", str(out), "--until", "sample"])
    assert code == 0, stdout[-3000:] + stderr[-2000:]
    assert "stopped after sample" in stdout
    assert "[5/8] finetune" in stdout

    with np.load(out / "data/source_windows.npz") as src, np.load(out / "data/windows.npz") as tgt:
        assert [str(c) for c in src["class_names"]] == ["stationary", "walking", "running"]
        assert [str(c) for c in tgt["class_names"]] == ["stationary", "walking", "running"]
        assert set(np.unique(src["group"]).astype(str)) != set(np.unique(tgt["group"]).astype(str))
        # Both domains in the same sensor format: 26 Hz, 48 samples.
        assert src["x"].shape[1:] == tgt["x"].shape[1:] == (48, 3)
    # Stage 1 is a plain WGAN-GP (the ST classifier knows only the target domain); stage 2 has its feedback.
    assert "classifier_accuracy" not in _columns(out / "gan/pretrain/history.csv")
    assert "classifier_accuracy" in _columns(out / "gan/history.csv")
    for rel in ("gan/pretrain/generator.keras", "gan/pretrain/critic.keras", "gan/generator.keras",
                "gan/critic.keras", "classifier/model_int8.tflite", "synthetic/windows.npz", "config.toml"):
        assert (out / rel).is_file(), rel
    assert not (out / "report").exists() and not (out / "firmware").exists()
    with np.load(out / "synthetic/windows.npz") as z:
        assert np.bincount(z["y"], minlength=3).tolist() == [2, 2, 2]

    # A longer fine-tune reuses the pretrained GAN and re-runs only stage 2 and what follows.
    cfg.write_text(CONFIG.format(target=TARGET, finetune=62))
    code, stdout, stderr = _main(["run", "--config", str(cfg), "--out", str(out), "--until", "sample"])
    assert code == 0, stdout[-3000:] + stderr[-2000:]
    for step in ("prepare", "classifier", "quantize", "gan"):
        assert f"reusing {step} (unchanged)" in stdout, step
    assert "reusing finetune" not in stdout and "reusing sample" not in stdout
    with open(out / "gan/history.csv") as fh:
        assert sum(1 for _ in fh) == 62 + 1


def test_until_must_name_a_step_of_this_run(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[gan]\nsteps = 1\n")
    out = tmp_path / "run"
    code, _, err = _main(["run", "--config", str(cfg), "--out", str(out), "--until", "finetune"])
    assert code == 2
    assert "no such step in this run" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
