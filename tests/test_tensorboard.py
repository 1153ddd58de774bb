"""TensorBoard logs from the library's training functions (classifier and GAN): scalars per epoch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classifier import train_classifier
from gan.training import train_gan
from gan_toys import NAMES, toy_windows
from har_data import WindowSet


def _scalar_tags(folder: Path) -> set[str]:
    import tensorflow as tf

    tags = set()
    for f in folder.rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(f)):
            tags.update(v.tag for v in event.summary.value)
    return tags


def test_classifier_and_gan_write_tensorboard_logs(tmp_path):
    x, y = toy_windows(64)
    train_classifier(x, y, NAMES, x_val=x[:16], y_val=y[:16], preset="cnn1d_tiny", epochs=2, batch_size=16,
                     seed=0, verbose=0, tensorboard=tmp_path / "tb_classifier")
    tags = _scalar_tags(tmp_path / "tb_classifier")
    assert {"epoch_loss", "epoch_accuracy"} <= tags, tags
    assert any((tmp_path / "tb_classifier" / "validation").glob("events.*"))

    ws = WindowSet(x, y, NAMES, np.full(len(x), "train"), np.arange(len(x)).astype(str))
    train_gan(ws, None, steps=4, batch_size=8, steps_per_epoch=2, n_critic=1, latent_dim=8,
              generator_kwargs=dict(width=16, embed_dim=4), critic_kwargs=dict(width=8, hidden=16),
              tensorboard=tmp_path / "tb_gan")
    tags = _scalar_tags(tmp_path / "tb_gan")
    assert {"epoch_critic_loss", "epoch_generator_loss", "epoch_gradient_penalty"} <= tags, tags


def test_config_key_is_relative_to_the_config_file(tmp_path):
    from hargan.config import load_config
    from hargan.steps.base import RunContext

    (tmp_path / "cfg.toml").write_text('tensorboard = "tb"\n')
    cfg = load_config(tmp_path / "cfg.toml")
    assert cfg.tensorboard == str((tmp_path / "tb").resolve())
    assert RunContext(cfg, tmp_path / "run").tensorboard_dir("gan") == tmp_path.resolve() / "tb" / "gan"
    cfg.tensorboard = ""
    assert RunContext(cfg, tmp_path / "run").tensorboard_dir("gan") is None
