"""Int8Classifier.accept on hand-made cases, with a model whose weights are set by hand.

The model averages each axis over the window (mg / full scale) and scores class c by 4 x the
mean of axis c, so the softmax is known in closed form and every case is deterministic.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from classifier import InputScaling, Int8Classifier, StaticReshape, quantize_int8

CLASSES = ["x_up", "y_up", "z_up"]
T = 16
FS_G = 4.0


@pytest.fixture(scope="module")
def judge() -> Int8Classifier:
    inputs = keras.Input((T, 3))
    x = InputScaling(FS_G)(inputs)
    x = StaticReshape((T, 1, 3))(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(3, activation="softmax")
    out = dense(x)
    model = keras.Model(inputs, out)
    dense.set_weights([4.0 * np.eye(3, dtype=np.float32), np.zeros(3, np.float32)])
    rng = np.random.default_rng(0)
    rep = rng.uniform(-4000, 4000, size=(64, 1, 3)).astype(np.float32) * np.ones((1, T, 1), np.float32)
    return Int8Classifier(quantize_int8(model, rep, num_samples=64), CLASSES)


def window(x_mg: float, y_mg: float, z_mg: float) -> np.ndarray:
    return np.tile(np.array([x_mg, y_mg, z_mg], np.float32), (T, 1))


def softmax(v):
    e = np.exp(v - np.max(v))
    return e / e.sum()


def test_probabilities_match_the_hand_made_model(judge):
    p = judge.predict_proba(window(3200.0, 0.0, 0.0)[None])[0]
    np.testing.assert_allclose(p, softmax(4 * np.array([0.8, 0.0, 0.0])), atol=0.02)


def test_right_class_and_confident_is_accepted(judge):
    x = np.stack([window(3200.0, 0.0, 0.0), window(0.0, 3200.0, 0.0), window(0.0, 0.0, 3200.0)])
    np.testing.assert_array_equal(judge.accept(x, [0, 1, 2], min_confidence=0.8), [True, True, True])


def test_wrong_class_is_rejected(judge):
    x = np.stack([window(3200.0, 0.0, 0.0)] * 2)
    np.testing.assert_array_equal(judge.accept(x, [1, 2], min_confidence=0.0), [False, False])


def test_right_class_below_min_confidence_is_rejected(judge):
    # Class 0 wins, but with about softmax(0.8, 0, 0)[0] = 0.53 < 0.7.
    x = window(800.0, 0.0, 0.0)[None]
    assert judge.predict(x)[0] == 0
    assert judge.accept(x, [0], min_confidence=0.7).tolist() == [False]
    assert judge.accept(x, [0], min_confidence=0.4).tolist() == [True]


def test_threshold_is_inclusive_at_the_int8_probability(judge):
    x = np.stack([window(800.0, 0.0, 0.0), window(2000.0, 400.0, 0.0)])
    y = np.array([0, 0])
    p = judge.predict_proba(x)[np.arange(2), y]
    for i in range(2):
        assert judge.accept(x[i:i + 1], y[i:i + 1], min_confidence=float(p[i])).tolist() == [True]
        above = float(p[i]) + judge.output_scale / 2
        assert judge.accept(x[i:i + 1], y[i:i + 1], min_confidence=above).tolist() == [False]


def test_accept_runs_the_same_on_tflite_micro(judge):
    x = np.stack([window(800.0, 0.0, 0.0), window(0.0, 3200.0, 0.0), window(0.0, 0.0, -2000.0)])
    y = [0, 1, 2]
    for conf in (0.0, 0.5, 0.9):
        np.testing.assert_array_equal(judge.accept(x, y, conf), judge.accept(x, y, conf, runtime="tflm"))


def test_accept_checks_labels(judge):
    from har_data import InputError

    with pytest.raises(InputError):
        judge.accept(np.stack([window(0, 0, 0)] * 2), [0, 1, 2])
    with pytest.raises(InputError):
        judge.accept(np.stack([window(0, 0, 0)]), [3])
