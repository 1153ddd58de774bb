"""Generator / critic: shapes, mg scale, conditioning inputs, class names, saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from gan_toys import FULL_SCALE_G, NAMES

from gan import (LabelEmbedding, build_critic, build_generator, generate_windows, model_class_names,
                 model_full_scale_g, resolve_labels)
from har_data import InputError


@pytest.mark.parametrize("t", [24, 48, 50, 128])
def test_shapes_and_mg_scale(t):
    names = ["stationary", "walking", "running"]
    g = build_generator(16, names, t, 3, FULL_SCALE_G)
    c = build_critic(names, t, 3, FULL_SCALE_G)
    x, y = generate_windows(g, {"walking": 3, "running": 2}, seed=1)
    assert x.shape == (5, t, 3) and x.dtype == np.float32
    assert y.tolist() == [1, 1, 1, 2, 2]
    assert np.all(np.abs(x) <= 1000.0 * FULL_SCALE_G + 1e-3)
    # Outputs are in mg, not in units of the full scale: an untrained generator already swings far beyond 1.
    assert np.abs(x).max() > 20.0
    d = np.asarray(c([x, y]))
    assert d.shape == (5, 1) and np.all(np.isfinite(d))
    assert model_class_names(g) == names and model_class_names(c) == names
    assert model_full_scale_g(g) == pytest.approx(FULL_SCALE_G) and model_full_scale_g(c) == pytest.approx(FULL_SCALE_G)
    assert 5_000 < g.count_params() < 120_000 and 2_000 < c.count_params() < 120_000


def test_critic_has_no_batchnorm_and_scales_input():
    c = build_critic(NAMES, 48, 3, 8.0)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in c.layers)
    # Saturated windows at +-8 g reach the first convolution as +-1.
    assert c.get_layer("from_mg").factor == pytest.approx(1 / 8000.0)


def test_generation_uses_the_label_and_is_deterministic():
    g = build_generator(8, NAMES, 24)
    x1, _ = generate_windows(g, np.array([0, 0, 1, 1]), seed=3)
    x2, _ = generate_windows(g, np.array([0, 0, 1, 1]), seed=3)
    x3, _ = generate_windows(g, np.array([0, 0, 1, 1]), seed=4)
    np.testing.assert_array_equal(x1, x2)
    assert not np.allclose(x1, x3)
    # Same latent vectors, other label -> other windows.
    z_same_label_swapped, _ = generate_windows(g, np.array([1, 1, 0, 0]), seed=3)
    assert not np.allclose(x1, z_same_label_swapped)


def test_resolve_labels_forms_and_errors():
    assert resolve_labels({"high": 2}, NAMES).tolist() == [1, 1]
    assert resolve_labels([1, 2], NAMES).tolist() == [0, 1, 1]
    assert resolve_labels(2, NAMES).tolist() == [0, 0, 1, 1]
    assert resolve_labels(np.array(["high", "low"]), NAMES).tolist() == [1, 0]
    assert resolve_labels(np.array([1, 0, 1]), NAMES).tolist() == [1, 0, 1]
    with pytest.raises(InputError, match="unknown class.*medium"):
        resolve_labels({"medium": 1}, NAMES)
    with pytest.raises(InputError, match="2 entries"):
        resolve_labels([1, 2, 3], NAMES)
    with pytest.raises(InputError, match="class ids"):
        resolve_labels(np.array([0, 2]), NAMES)


def test_generator_keras_round_trip_generates_identically(tmp_path):
    g = build_generator(8, NAMES, 24, full_scale_g=2.0)
    path = tmp_path / "generator.keras"
    g.save(path)
    loaded = keras.saving.load_model(path)
    assert model_class_names(loaded) == NAMES
    assert isinstance(loaded.get_layer("label_embedding"), LabelEmbedding)
    a, ya = generate_windows(g, 4, seed=7)
    b, yb = generate_windows(loaded, 4, seed=7)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
