"""Tiny models and toy data for the gan tests (imported by tests/test_gan_*.py)."""

from __future__ import annotations

import numpy as np

NAMES = ["low", "high"]
T = 24
FULL_SCALE_G = 4.0
Z_MEAN_MG = (-600.0, 800.0)  # class 0 hangs with z down, class 1 with z up (and moves more)
AMPLITUDE_MG = (60.0, 300.0)


def toy_windows(n: int = 256, t: int = T, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two classes that differ in z mean and in amplitude: ``(x mg, y)``, balanced."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    time = np.arange(t)[None, :, None]
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 3))
    amp = np.asarray(AMPLITUDE_MG)[y][:, None, None]
    x = amp * np.sin(2 * np.pi * time / 8.0 + phase) + rng.normal(0, 10, (n, t, 3))
    x[:, :, 2] += np.asarray(Z_MEAN_MG)[y][:, None]
    return x.astype(np.float32), y.astype(np.int64)


def tiny_models(latent_dim: int = 8, t: int = T, names=NAMES):
    from gan import build_critic, build_generator

    g = build_generator(latent_dim, names, t, 3, FULL_SCALE_G, width=16, embed_dim=4)
    c = build_critic(names, t, 3, FULL_SCALE_G, width=8, hidden=16)
    return g, c


def tiny_classifier(t: int = T, names=NAMES, seed: int = 0):
    from classifier import build_classifier

    return build_classifier("cnn1d_tiny", t, names, FULL_SCALE_G, seed=seed)


def tiny_gan(classifier=None, latent_dim: int = 8, t: int = T, seed: int = 0, **kwargs):
    import keras

    from gan import ConditionalWGANGP

    keras.utils.set_random_seed(seed)
    g, c = tiny_models(latent_dim, t)
    return ConditionalWGANGP(g, c, classifier, seed=seed, **kwargs)


def linear_critic(w: np.ndarray, names=NAMES, t: int = T):
    """D(x, label) = sum(w * x / full_scale_mg) (+ a zero-initialised per-class bias): gradient w.r.t.
    the critic's input unit is ``w`` everywhere, so the gradient penalty is (||w|| - 1)^2."""
    import keras
    from keras import layers

    from gan import LabelEmbedding, Scale

    x = keras.Input((t, 3), name="x_mg")
    label = keras.Input((), dtype="int32", name="label")
    h = Scale(1.0 / (1000.0 * FULL_SCALE_G), name="from_mg")(x)
    h = layers.Flatten()(h)
    score = layers.Dense(1, use_bias=False, name="linear")(h)
    bias = LabelEmbedding(names, 1, embeddings_initializer="zeros", name="label_embedding")(label)
    model = keras.Model([x, label], layers.Add()([score, bias]), name="linear_critic")
    model.get_layer("linear").set_weights([np.asarray(w, np.float32).reshape(-1, 1)])
    return model


def constant_generator(bias_units: np.ndarray, latent_dim: int = 4, names=NAMES, t: int = T):
    """G(z, label) = full_scale_mg * (bias + embedding[label]) with a zero kernel: the output does not depend on z."""
    import keras
    from keras import layers

    from gan import LabelEmbedding, Scale

    z = keras.Input((latent_dim,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    h = layers.Dense(t * 3, kernel_initializer="zeros", name="dense")(z)
    e = LabelEmbedding(names, t * 3, embeddings_initializer="zeros", name="label_embedding")(label)
    h = layers.Reshape((t, 3))(layers.Add()([h, e]))
    model = keras.Model([z, label], Scale(1000.0 * FULL_SCALE_G, name="to_mg")(h), name="constant_generator")
    kernel, _ = model.get_layer("dense").get_weights()
    model.get_layer("dense").set_weights([kernel, np.asarray(bias_units, np.float32).reshape(-1)])
    return model
