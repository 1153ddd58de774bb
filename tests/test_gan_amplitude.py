"""The generator's path down to a still wrist's few mg (issue 21), in TensorFlow: the JAX re-run of the
GAN tests (test_gan_jax_backend.py) covers the train steps, this covers an output parameterisation."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from gan_toys import FULL_SCALE_G, NAMES, T

from gan import losses


def test_factored_generator_learns_a_resting_wrist_at_its_few_mg_amplitude():
    """A factored generator fitted by statistics matching alone makes a resting class at its real ~4 mg
    of motion and a swinging class at its ~210 mg: the trainable path down to a few mg is open (a
    ``tanh`` x full-scale output's noise floor is tens of mg; issue 21). A large learning rate, so
    80 updates do what the GAN's rate does in thousands; the harmonics start at the classes' real
    fundamentals, as :func:`gan.training.train_gan` starts them."""
    from gan import build_generator
    from gan.models import generator_latent_dim
    from gan.real_start import real_fundamentals, start_harmonics_at

    rng = np.random.default_rng(0)
    y = np.arange(64) % 2
    x = rng.normal(0.0, 4.0, (64, T, 3))  # class 0: a wrist at rest, 4 mg of sensor noise around 1 g
    x[y == 1] += 300.0 * np.sin(2 * np.pi * np.arange(T) / 8.0)[None, :, None]  # class 1 swings
    x[:, :, 2] += 1000.0
    x, labels = tf.constant(x, tf.float32), tf.constant(y, tf.int32)
    keras.utils.set_random_seed(0)
    g = build_generator(8, NAMES, T, 3, FULL_SCALE_G, width=16, embed_dim=4, output="factored")
    start_harmonics_at(g, real_fundamentals(np.asarray(x), y, len(NAMES)))
    z = tf.random.stateless_normal((64, generator_latent_dim(g)), seed=(1, 2))
    opt = keras.optimizers.Adam(0.05)

    @tf.function
    def update():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(losses.statistics_matching(x, g([z, labels], training=True), labels))
        opt.apply_gradients(zip(tape.gradient(loss, g.trainable_variables), g.trainable_variables))

    def motion_std(w):
        w = np.asarray(w)
        return np.array([np.median((w - w.mean(axis=1, keepdims=True)).std(axis=(1, 2))[y == c]) for c in (0, 1)])

    assert motion_std(g([z, labels]))[0] > 25.0  # untrained: ~100 mg, far from rest
    for _ in range(80):
        update()
    np.testing.assert_allclose(motion_std(g([z, labels])), motion_std(x), rtol=0.15)
