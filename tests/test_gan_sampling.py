"""Validated sampling: generate, map to the sensor format, keep what the int8 classifier accepts."""

from __future__ import annotations

import numpy as np
import pytest
from gan_toys import FULL_SCALE_G, NAMES

from gan import AcceptanceError, SyntheticSet, build_generator, sample_validated
from har_data import InputError, SensorSpec, TrainingError, load_mems_studio

T = 24
SENSOR = SensorSpec("LSM6DSL", 4, 26.0)


def _generator(z_offset_units: tuple[float, float]):
    """A generator whose windows sit at z = tanh(offset[class]) * full scale, plus a little movement."""
    g = build_generator(4, NAMES, T, 3, FULL_SCALE_G, width=8, embed_dim=2, output="tanh")
    off = np.zeros((2, 3), np.float32)
    off[:, 2] = z_offset_units
    g.get_layer("class_offset").set_weights([off])
    k, b = g.get_layer("to_signal").get_weights()
    g.get_layer("to_signal").set_weights([k * 0.05, b])
    return g


def _int8(kernel_z: float, bias=(0.0, 0.0)):
    """int8 model on the mean of each axis: logits = mean(x / full scale) @ W + b."""
    import keras

    from classifier import InputScaling, Int8Classifier, quantize_int8

    keras.utils.set_random_seed(0)
    inp = keras.Input((T, 3))
    h = InputScaling(FULL_SCALE_G)(inp)
    h = keras.layers.GlobalAveragePooling1D()(h)
    out = keras.layers.Dense(2, activation="softmax", name="probs")(h)
    model = keras.Model(inp, out)
    w = np.zeros((3, 2), np.float32)
    w[2] = (-kernel_z, kernel_z)
    model.get_layer("probs").set_weights([w, np.asarray(bias, np.float32)])
    rep = np.random.default_rng(0).uniform(-2000, 2000, (64, T, 3)).astype(np.float32)
    return Int8Classifier(quantize_int8(model, rep), NAMES)


def test_accepts_the_right_class_and_writes_sensor_format(tmp_path):
    g = _generator((-0.5, 0.5))  # class 0 ("low") z down, class 1 ("high") z up
    int8 = _int8(kernel_z=20.0)  # says "high" when z > 0
    syn = sample_validated(g, int8, SENSOR, per_class=10, seed=0)
    assert syn.counts() == {"low": 10, "high": 10}
    assert syn.acceptance_by_class == {"low": 1.0, "high": 1.0} and syn.acceptance_rate == 1.0
    assert syn.x_counts.dtype == np.int16 and syn.x_mg.shape == (20, T, 3)
    np.testing.assert_array_equal(syn.x_mg, SENSOR.to_mg(syn.x_counts))
    lo, hi = SENSOR.count_range
    assert syn.x_counts.min() >= lo and syn.x_counts.max() <= hi
    assert np.all(syn.x_mg[syn.y == 0, :, 2] < 0) and np.all(syn.x_mg[syn.y == 1, :, 2] > 0)
    # Deterministic given the seed.
    again = sample_validated(g, int8, SENSOR, per_class=10, seed=0)
    np.testing.assert_array_equal(syn.x_counts, again.x_counts)

    path = syn.save(tmp_path / "windows.npz")
    back = SyntheticSet.load(path)
    np.testing.assert_array_equal(back.x_counts, syn.x_counts)
    assert back.class_names == NAMES and back.sensor == SENSOR and back.acceptance_by_class == syn.acceptance_by_class
    files = syn.save_csv(tmp_path / "csv")
    assert len(files) == 20 and (tmp_path / "csv" / "1_high" / "log_9.csv").is_file()
    recs = load_mems_studio(tmp_path / "csv")
    assert sorted({r.label for r in recs}) == ["high", "low"] and all(len(r.samples) == T for r in recs)
    high = [r for r in recs if r.label == "high"]
    assert np.abs(high[0].samples - syn.x_mg[syn.y == 1][0]).max() < 0.01
    with pytest.raises(InputError, match="not a synthetic windows file"):
        np.savez(tmp_path / "other.npz", a=np.zeros(3))
        SyntheticSet.load(tmp_path / "other.npz")


def test_rejects_wrong_class_windows_with_a_clear_error():
    g = _generator((0.5, -0.5))  # swapped: "low" windows look like "high" and vice versa
    int8 = _int8(kernel_z=20.0)
    with pytest.raises(AcceptanceError, match=r"'low': 0 of 5 accepted .*acceptance 0\.0%.*'high': 0 of 5"):
        sample_validated(g, int8, SENSOR, per_class=5, max_tries=3, seed=1)


def test_classifier_that_always_says_class_0_rejects_class_1():
    g = _generator((-0.5, 0.5))
    int8 = _int8(kernel_z=0.0, bias=(4.0, -4.0))
    with pytest.raises(AcceptanceError) as err:
        sample_validated(g, int8, SENSOR, per_class=6, max_tries=2, batch=64)
    msg = str(err.value)
    assert "'high': 0 of 6 accepted" in msg and "(acceptance 0.0%)" in msg and "'low'" not in msg
    assert isinstance(err.value, TrainingError) and not isinstance(err.value, InputError)  # exit 3, not 2
