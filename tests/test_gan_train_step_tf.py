"""The TensorFlow train step's critic loop (gan/train_step_tf.py): the same updates as unrolled ones."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from gan_toys import tiny_classifier, tiny_gan, toy_windows

from gan import make_gan_dataset

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the TensorFlow step only")


def test_critic_loop_matches_the_unrolled_critic_updates(monkeypatch):
    """Without XLA the n_critic critic updates run as a tf.while_loop over one traced update; unrolled
    (under XLA or a tf.distribute strategy) they are the same updates: same weights and metrics."""
    from gan import train_step_tf

    x, y = toy_windows(64)

    def run(loop):
        monkeypatch.setattr(train_step_tf, "CRITIC_LOOP", loop)
        gan = tiny_gan(tiny_classifier(), n_critic=3, seed=5)
        gan.compile(jit_compile=False)
        hist = gan.fit(make_gan_dataset(x, y, 8, seed=5, n_critic=3), epochs=1, steps_per_epoch=2, verbose=0)
        return gan.generator.get_weights() + gan.critic.get_weights(), hist.history

    looped, h_loop = run(True)
    unrolled, h_unrolled = run(False)
    for a, b in zip(looped, unrolled):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    for name in ("critic_loss", "gradient_penalty", "wasserstein", "generator_loss"):
        assert h_loop[name][-1] == pytest.approx(h_unrolled[name][-1], rel=1e-5), name
    assert not np.allclose(looped[0], tiny_gan(None, seed=5).generator.get_weights()[0])  # it did train
