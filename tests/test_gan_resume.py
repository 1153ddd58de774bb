"""GAN training that survives a kill: checkpoints, resume with the same result, NaN stops, bad settings."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from gan_toys import NAMES, tiny_classifier, toy_windows

from gan import TrainingDiverged, train_gan
from gan.training import checkpoint_path
from har_data import InputError, WindowSet

SMALL = dict(latent_dim=8, generator_kwargs=dict(width=16, embed_dim=4), critic_kwargs=dict(width=8, hidden=16),
             batch_size=8, n_critic=2, steps_per_epoch=2, seed=3, jit_compile=False)


def _windows(n=48):
    x, y = toy_windows(n)
    return WindowSet(x, y, NAMES, np.full(n, "train"), np.arange(n).astype(str))


class _Kill(keras.callbacks.Callback):
    """Raise at the end of epoch ``after`` (the caller's callbacks run before that epoch's checkpoint)."""

    def __init__(self, after: int):
        super().__init__()
        self.after = after

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after:
            raise KeyboardInterrupt


class _Start(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.step = int(self.model.step_counter.numpy())


def test_killed_training_resumes_from_its_checkpoint_with_the_same_result(tmp_path):
    ws, clf, kill_after_epoch = _windows(), tiny_classifier(), 1
    clean = train_gan(ws, clf, steps=6, **SMALL)
    with pytest.raises(KeyboardInterrupt):
        train_gan(ws, clf, steps=6, checkpoint_dir=tmp_path, callbacks=[_Kill(kill_after_epoch)], **SMALL)
    assert len(list(tmp_path.glob("gan-*.weights.h5"))) == 1
    start = _Start()
    resumed = train_gan(ws, clf, steps=6, checkpoint_dir=tmp_path, callbacks=[start], **SMALL)
    assert start.step == 2 * kill_after_epoch  # not from 0: one checkpoint interval (2 updates) lost
    assert int(resumed.step_counter.numpy()) == 6
    for a, b in zip(clean.generator.get_weights(), resumed.generator.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("change", ["settings", "data"])
def test_a_checkpoint_is_only_resumed_by_the_same_data_and_settings(tmp_path, change):
    ws, settings = _windows(), {"seed": 3, "n_critic": 2}
    path = checkpoint_path(tmp_path, ws, settings)
    other = ws
    if change == "data":
        other = _windows()
        other.x[0, 0, 0] += 1.0
    else:
        settings = {**settings, "seed": 4}
    assert path == checkpoint_path(tmp_path, _windows(), {"seed": 3, "n_critic": 2})
    assert path != checkpoint_path(tmp_path, other, settings)


@pytest.mark.parametrize("setting", [dict(gp_weight=float("nan")), dict(gp_weight=-1.0), dict(batch_size=0),
                                     dict(n_critic=0), dict(steps=0), dict(g_learning_rate=float("inf")),
                                     dict(classifier_weight="x")])
def test_bad_settings_are_refused_before_training(setting):
    with pytest.raises(InputError, match=next(iter(setting)).replace("steps", "steps ")):
        train_gan(_windows(), None, **{**SMALL, "steps": 2, **setting})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_windows_are_refused_up_front(bad):
    ws = _windows()
    ws.x[3, 5, 1] = bad  # changed after the WindowSet checked it: training checks what it is given
    with pytest.raises(InputError, match="holds 1 (NaN|infinite) value"):
        train_gan(ws, None, steps=2, **SMALL)


def test_a_nan_loss_stops_training_with_an_error_and_writes_no_checkpoint(tmp_path):
    with pytest.raises(TrainingDiverged, match="training diverged.*no model was saved"):
        train_gan(_windows(), None, steps=4, checkpoint_dir=tmp_path, g_learning_rate=1e30, c_learning_rate=1e30,
                  **SMALL)
    assert not list(tmp_path.glob("*.h5"))
