"""Realism gate in validated sampling: real windows pass, a noise generator's windows do not."""

from __future__ import annotations

import numpy as np
import pytest
from gan_toys import NAMES, T, linear_critic, toy_windows

from gan import AcceptanceError, SyntheticSet, sample_validated
from gan.realism import RealismGate
from har_data import InputError, SensorSpec

SENSOR = SensorSpec("LSM6DSL", 4, 26.0)


def _real(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Toy real windows in any orientation (a phone in a pocket): two classes, different motion."""
    from scipy.spatial.transform import Rotation

    x, y = toy_windows(n, T, seed)
    rot = Rotation.random(n, random_state=seed).as_matrix()
    return SENSOR.quantize_mg(np.einsum("nij,ntj->nti", rot, x)), y


class _AcceptAll:
    """An int8 judge that accepts every window: what is left to reject is the realism gate's job."""

    class_names = NAMES
    num_classes = len(NAMES)

    def accept(self, x, y, min_confidence=0.5):
        return np.ones(len(y), bool)


def _noise_generator(scale_mg: float = 1500.0):
    import keras

    from gan import LabelEmbedding, Scale

    z = keras.Input((8,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    h = keras.layers.Dense(T * 3, kernel_initializer=keras.initializers.RandomNormal(0, 1, seed=0), name="dense")(z)
    e = LabelEmbedding(NAMES, T * 3, embeddings_initializer="zeros", name="label_embedding")(label)
    h = keras.layers.Reshape((T, 3))(keras.layers.Add()([h, e]))
    return keras.Model([z, label], Scale(scale_mg, name="to_mg")(h), name="noise_generator")


def test_real_windows_pass_noise_does_not():
    x, y = _real()
    train, held = np.arange(len(y)) < 300, np.arange(len(y)) >= 300
    gate = RealismGate.fit(x[train], y[train], NAMES, spectrum_quantile=0.99)
    held_rate = gate.pass_rate_by_class(x[held], y[held])
    assert min(held_rate.values()) >= 0.85, held_rate
    rng = np.random.default_rng(1)
    noise = SENSOR.quantize_mg(rng.normal(0, 800, (100, T, 3)))
    assert max(gate.pass_rate_by_class(noise, np.arange(100) % 2).values()) == 0.0
    # windows of one class do not pass as the other (same gravity, different motion)
    assert gate.pass_rate_by_class(x[held], 1 - y[held])["low"] <= 0.1
    # the critic band: a linear critic on the mean of z (any orientation -> a spread of scores)
    w = np.zeros((T, 3), np.float32)
    w[:, 2] = 1.0 / T
    gate_c = RealismGate.fit(x[train], y[train], NAMES, spectrum_quantile=0.99, critic=linear_critic(w),
                             critic_quantiles=(0.01, 0.99))
    checks = gate_c.checks(x[held], y[held])
    assert set(checks) == {"spectrum", "critic"} and checks["critic"].mean() >= 0.9
    far = x[held].copy()
    far[:, :, 2] = 3900.0  # saturated z: a score no real window gets
    assert not gate_c.checks(far, y[held])["critic"].any()


def test_sampling_reports_both_rates_and_rejects_a_noise_generator(tmp_path):
    x, y = _real()
    gate = RealismGate.fit(x[:300], y[:300], NAMES, spectrum_quantile=0.99)
    with pytest.raises(AcceptanceError, match=r"realism gate accept too few.*realism pass 0\.0%"):
        sample_validated(_noise_generator(), _AcceptAll(), SENSOR, per_class=5, max_tries=2, realism=gate)
    syn = sample_validated(_noise_generator(), _AcceptAll(), SENSOR, per_class=5, max_tries=2)
    assert syn.realism_pass_by_class == {} and syn.acceptance_by_class == {"low": 1.0, "high": 1.0}


def test_sampling_keeps_real_looking_windows(tmp_path, monkeypatch):
    import gan.sampling as sampling

    x, y = _real()
    gate = RealismGate.fit(x[:300], y[:300], NAMES, spectrum_quantile=0.99)
    held_x, held_y = x[300:], y[300:]

    def fake_generate(generator, counts, seed=0, batch_size=1024):
        labels = np.repeat(np.arange(len(counts)), counts)
        idx = np.random.default_rng(seed).integers(0, 50, len(labels))
        return np.stack([held_x[held_y == c][i] for c, i in zip(labels, idx)]).astype(np.float32), labels

    monkeypatch.setattr(sampling, "generate_windows", fake_generate)
    monkeypatch.setattr("gan.models.model_class_names", lambda g: list(NAMES))
    syn = sample_validated(object(), _AcceptAll(), SENSOR, per_class=20, realism=gate, seed=0)
    assert syn.counts() == {"low": 20, "high": 20}
    assert min(syn.realism_pass_by_class.values()) >= 0.8 and 0.8 <= syn.realism_pass_rate <= 1.0
    back = SyntheticSet.load(syn.save(tmp_path / "w.npz"))
    assert back.realism_pass_by_class == syn.realism_pass_by_class


def test_gate_input_errors():
    x, y = _real(40)
    with pytest.raises(InputError, match="too few real windows for class.*high"):
        RealismGate.fit(x[y == 0], y[y == 0], NAMES, spectrum_quantile=0.99)
    with pytest.raises(InputError, match="spectrum_quantile"):
        RealismGate.fit(x, y, NAMES, spectrum_quantile=1.5)
    with pytest.raises(InputError, match="critic_quantiles"):
        RealismGate.fit(x, y, NAMES, spectrum_quantile=0.9, critic=lambda a, training=False: a[0][:, 0, 0],
                        critic_quantiles=(0.9, 0.1))
    gate = RealismGate.fit(x, y, ["a", "b"], spectrum_quantile=0.9)
    with pytest.raises(InputError, match="realism gate classes"):
        sample_validated(_noise_generator(), _AcceptAll(), SENSOR, per_class=1, realism=gate)
