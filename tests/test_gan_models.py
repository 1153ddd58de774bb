"""Generator / critic: shapes, mg scale, conditioning inputs, class names, saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from gan_toys import FULL_SCALE_G, NAMES, toy_windows

from gan.layers import (AmplitudeViews, ClassSpread, ComposeWindow, HarmonicOscillator, LinearUpsampling1D, PeriodFold,
                        PeriodPool, Saturate)
from gan.models import DEFAULT_PERIODS
from gan.real_start import real_fundamentals, real_mixes, start_at_real, start_harmonics_at
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
    plain = build_critic(NAMES, 48, 3, 8.0, views=False)
    assert plain.get_layer("from_mg").factor == pytest.approx(1 / 8000.0)
    c = build_critic(NAMES, 48, 3, 8.0, views=True, periods=DEFAULT_PERIODS)
    for critic in (plain, c):
        assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in critic.layers)
    # Saturated windows at +-8 g reach the first convolution as +-1, beside the unit-std shape and log-amplitude.
    x = np.zeros((2, 48, 3), np.float32)
    x[:, :, 2] = 8000.0
    x[1, ::2, 0] += 4.0  # a 4 mg square wave: tiny against the full scale, plain in the views
    v = np.asarray(c.get_layer("from_mg")(x))
    assert v.shape == (2, 48, 7)
    np.testing.assert_allclose(v[:, :, 2], 1.0)
    np.testing.assert_allclose(v[1, :, 3], np.tile([1.0, -1.0], 24) * 2 / np.sqrt(4 / 3 + 0.25), rtol=1e-4)
    # log-amplitude: log(std / 100 mg); std over time and axes with a 0.5 mg floor in quadrature
    np.testing.assert_allclose(v[1, :, 6], np.log(np.sqrt(4 / 3 + 0.25) / 100.0), rtol=1e-4)
    assert plain.count_params() < c.count_params()


def test_factored_output_makes_a_stationary_window_at_its_real_mg_amplitude():
    """A small log-amplitude gives a few-mg window around a 1 g mean, exactly, at +-4 g full scale."""
    layer = ComposeWindow(4000.0)
    rng = np.random.default_rng(0)
    shape = rng.normal(size=(3, 48, 3)).astype(np.float32) * 7.0 + 3.0  # any scale and offset
    mean = np.tile(np.arctanh([[0.0, 0.0, 0.25]]), (3, 1)).astype(np.float32)  # z = 1 g
    target_mg = np.array([[4.0], [2.2], [25.0]], np.float32)  # stationary, phone on a table, vehicle
    x = np.asarray(layer([mean, np.log(target_mg / 100.0), shape]))
    np.testing.assert_allclose(x.mean(axis=1)[:, 2], 1000.0, atol=1e-2)
    np.testing.assert_allclose((x - x.mean(axis=1, keepdims=True)).std(axis=(1, 2)), target_mg[:, 0], rtol=1e-3)
    # The critic's view reads the amplitude back (0.5 mg floor in quadrature).
    views = np.asarray(AmplitudeViews(4000.0)(x))
    np.testing.assert_allclose(np.exp(views[:, 0, 6]) * 100.0, np.sqrt(target_mg[:, 0] ** 2 + 0.25), rtol=1e-3)
    # Saturation: the window is clipped at the full scale.
    loud = np.asarray(layer([mean, np.full((3, 1), np.log(50.0), np.float32), shape]))
    assert np.abs(loud).max() == pytest.approx(4000.0)


def test_linear_upsampling_interpolates_and_saturate_reaches_the_full_scale():
    x = np.array([0.0, 1.0, 2.0, 3.0], np.float32).reshape(1, 4, 1)
    np.testing.assert_allclose(np.asarray(LinearUpsampling1D()(x)).ravel(),
                               [0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0])  # edges held
    np.testing.assert_allclose(np.asarray(Saturate(1.25)(np.array([-0.9, -0.5, 0.0, 0.79, 0.81], np.float32))),
                               [-1.0, -0.625, 0.0, 0.9875, 1.0], rtol=1e-6)
    g = build_generator(8, NAMES, 24, output="tanh", headroom=2.0)
    x, _ = generate_windows(g, 8, seed=0)
    assert np.abs(x).max() <= 4000.0 and isinstance(g.get_layer("up1"), LinearUpsampling1D)


def test_step_noise_rides_in_z_so_generation_stays_a_function_of_the_seed(tmp_path):
    g = build_generator(8, NAMES, 24, step_noise=2)
    assert g.inputs[0].shape[-1] == 8 + 24 * 2
    g.save(tmp_path / "g.keras")
    x, _ = generate_windows(g, 3, seed=0)
    np.testing.assert_array_equal(generate_windows(keras.saving.load_model(tmp_path / "g.keras"), 3, seed=0)[0], x)
    # Only the per-step tail of z differs: other windows.
    z = np.random.default_rng(0).normal(size=(2, 56)).astype(np.float32)
    z[1, :8] = z[0, :8]
    out = np.asarray(g([z, np.zeros(2, np.int32)]))
    assert not np.allclose(out[0], out[1])


def test_white_noise_path_passes_the_step_noise_to_the_window_uncoloured():
    """With the trunk's output zeroed and the mix an identity, a window's motion is the per-step noise itself."""
    g = build_generator(8, NAMES, 24, output="factored", step_noise=3, white_noise=True, harmonics=0)
    to_shape = g.get_layer("to_shape")
    to_shape.set_weights([np.zeros_like(w) for w in to_shape.get_weights()])
    g.get_layer("white_mix").set_weights([np.eye(3, dtype=np.float32)[None]])
    g.get_layer("class_white_gain").set_weights([np.ones((2, 3), np.float32)])
    z = np.random.default_rng(1).normal(size=(2, 8 + 24 * 3)).astype(np.float32)
    x = np.asarray(g([z, np.array([0, 1], np.int32)]))
    noise = z[:, 8:].reshape(2, 24, 3)
    for i in range(2):
        motion, expected = x[i] - x[i].mean(axis=0), noise[i] - noise[i].mean(axis=0)
        assert np.corrcoef(motion.ravel(), expected.ravel())[0, 1] > 0.999
    with pytest.raises(ValueError, match="white_noise needs"):
        build_generator(8, NAMES, 24, output="factored", step_noise=0, white_noise=True)
    assert "white_mix" not in [layer.name for layer in build_generator(8, NAMES, 24, output="tanh").layers]


@pytest.mark.parametrize("period", [2, 5, 7])
def test_period_fold_puts_samples_a_period_apart_side_by_side(period):
    x = np.arange(2 * 24 * 1, dtype=np.float32).reshape(2, 24, 1)
    folded = np.asarray(PeriodFold(period)(x))
    n = -(-24 // period)
    assert folded.shape == (2 * period, n, 1)
    np.testing.assert_array_equal(folded[1, :, 0][: len(range(1, 24, period))], x[0, 1::period, 0])
    pooled = np.asarray(PeriodPool(period)(folded))
    assert pooled.shape == (2, 1)


def test_issue21_pieces_are_selectable_and_round_trip(tmp_path):
    assert build_generator(8, NAMES, 24, output="tanh").get_layer("to_mg").factor == pytest.approx(4000.0)
    g = build_generator(8, NAMES, 24)  # the defaults: factored, linear upsampling, step noise, white path, harmonics
    assert isinstance(g.get_layer("to_mg"), ComposeWindow) and model_full_scale_g(g) == pytest.approx(4.0)
    assert isinstance(g.get_layer("up1"), LinearUpsampling1D) and g.get_layer("white_mix") is not None
    assert isinstance(g.get_layer("harmonics"), HarmonicOscillator) and g.get_layer("log_amplitude_spread")
    assert g.inputs[0].shape[-1] == 8 + 24 * 4
    g.save(tmp_path / "g.keras")
    x, y = generate_windows(g, 3, seed=0)
    np.testing.assert_array_equal(generate_windows(keras.saving.load_model(tmp_path / "g.keras"), 3, seed=0)[0], x)
    c = build_critic(NAMES, 24, 3, 4.0, views=True, periods=(3,))
    c.save(tmp_path / "c.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "c.keras")([x, y]), c([x, y]), rtol=1e-5)
    with pytest.raises(ValueError, match="unknown generator output"):
        build_generator(8, NAMES, 24, output="linear")
    with pytest.raises(ValueError, match="unknown generator upsampling"):
        build_generator(8, NAMES, 24, upsample="cubic")
    with pytest.raises(ValueError, match="headroom"):
        build_generator(8, NAMES, 24, output="factored", headroom=1.2)
    with pytest.raises(ValueError, match="harmonics"):
        build_generator(8, NAMES, 24, output="tanh", harmonics=4)


def _oscillate(f, z, amplitudes, offsets, t=48):
    """The oscillator's windows (B x t x C) at fundamental ``f`` (cycles per sample), K x C amplitudes and offsets."""
    amplitudes, offsets = np.asarray(amplitudes, np.float32), np.asarray(offsets, np.float32)
    k, c = amplitudes.shape
    b = len(z)
    logit = np.full((b, 1), np.log(f / (HarmonicOscillator.MAX_FREQUENCY - f)), np.float32)
    rows = lambda a: np.repeat(a.reshape(1, -1), b, axis=0)  # noqa: E731
    return np.asarray(HarmonicOscillator(t, k, c)([logit, np.asarray(z, np.float32).reshape(b, -1), rows(amplitudes),
                                                   rows(offsets)]))


def test_harmonic_oscillator_repeats_a_shape_from_a_uniform_start_and_leaves_out_what_aliases():
    """A fundamental of 0.2 cycles per sample with harmonics 1-3: the window is the cosine sum asked for, less
    the third harmonic (0.6 cycles per sample is above the Nyquist frequency); z's first number sets the
    start, uniform over the cycle for a standard-normal z; a class's gain (:class:`ClassSpread`) scales it all."""
    n = np.arange(48)
    x = _oscillate(0.2, np.zeros(1), [[1.0], [0.5], [0.25]], [[0.0], [0.3], [0.0]])
    np.testing.assert_allclose(x[0, :, 0], np.cos(2 * np.pi * 0.2 * n) + 0.5 * np.cos(2 * np.pi * 0.4 * n + 0.3),
                               atol=1e-4)
    twice = ClassSpread()([x, np.full((1, 1), np.log(2) / 4, np.float32)])
    np.testing.assert_allclose(twice, 2 * x, rtol=1e-4, atol=1e-4)
    z = np.random.default_rng(0).normal(size=4000)
    quadrature = _oscillate(0.2, z, [[1.0, 1.0]], [[0.0, -np.pi / 2]])[:, 0]  # cos(start), sin(start)
    starts = np.arctan2(quadrature[:, 1], quadrature[:, 0])
    counts, _ = np.histogram(starts, bins=8, range=(-np.pi, np.pi))
    assert np.all(np.abs(counts / 500.0 - 1.0) < 0.15), counts


def test_a_repeating_motion_keeps_its_spectrum_from_window_to_window_and_noise_does_not():
    """What the oscillator is for: over windows with random starts, the log Welch power of a repeating
    shape barely moves (measured 0.04 nats per bin; real walking: ~0.06), that of noise with the same
    magnitudes scatters (0.32: chi-square with a few degrees of freedom), which the realism gate sees."""
    from gan.losses import log_spectrum

    rng = np.random.default_rng(1)
    amplitudes = [[300.0, 100.0, 50.0], [120.0, 80.0, 40.0], [60.0, 30.0, 20.0], [20.0, 10.0, 10.0]]
    gait = _oscillate(1.2 / 26, rng.normal(size=256), amplitudes, rng.uniform(-np.pi, np.pi, (4, 3)))
    spectra = np.fft.rfft(gait, axis=1)  # the same windows' magnitudes with random phases: noise of their spectrum
    noise = np.fft.irfft(np.abs(spectra) * np.exp(2j * np.pi * rng.uniform(size=spectra.shape)), n=48, axis=1)
    scatter = [np.asarray(log_spectrum(w.astype(np.float32), 16)).std(axis=0).mean() for w in (gait, noise)]
    assert scatter[0] < 0.1 and scatter[1] > 0.2, scatter


def test_class_spread_sets_how_much_a_class_varies_from_window_to_window():
    """A class's log spread of -3 (x exp(-12)) makes its windows' amplitudes alike; the other class keeps its own."""
    g = build_generator(8, NAMES, 24, step_noise=0)
    g.get_layer("class_log_amplitude_spread").set_weights([np.array([[-3.0], [0.0]], np.float32)])
    head = g.get_layer("log_amplitude_head")
    head.set_weights([np.full(head.kernel.shape, 0.1, np.float32), np.zeros(1, np.float32)])
    z = np.random.default_rng(2).normal(size=(64, 8)).astype(np.float32)
    amplitude = keras.Model(g.inputs, g.get_layer("log_amplitude").output)
    spread = [float(np.std(amplitude([z, np.full(64, c, np.int32)]))) for c in (0, 1)]
    assert spread[0] < 1e-4 * spread[1] and spread[1] > 0.01, spread


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


def test_harmonics_start_at_each_classs_real_fundamental():
    """A class that repeats every 11 samples starts its harmonics at 1/11 cycles per sample; a class that does
    not repeat within the window (a slow drift) and a class without windows keep the default start."""
    rng = np.random.default_rng(3)
    n = np.arange(48)[None, :, None]
    gait = 200.0 * np.sin(2 * np.pi * n / 11 + rng.uniform(0, 6, (20, 1, 3))) + rng.normal(0, 20, (20, 48, 3))
    drift = 5.0 * n + rng.normal(0, 1, (20, 48, 3))
    fundamentals = real_fundamentals(np.concatenate([gait, drift]), np.repeat([0, 1], 20), 3)
    assert fundamentals[0] == pytest.approx(1 / 11) and fundamentals[1:] == [None, None]
    g = build_generator(8, [*NAMES, "other"], 48, step_noise=0)
    before = g.get_layer("class_harmonic_frequency").get_weights()[0].copy()
    start_harmonics_at(g, fundamentals)
    table = g.get_layer("class_harmonic_frequency").get_weights()[0]  # the per-window head adds a small part
    assert HarmonicOscillator.MAX_FREQUENCY / (1 + np.exp(-table[0, 0])) == pytest.approx(1 / 11, rel=1e-5)
    np.testing.assert_array_equal(table[1:], before[1:])


def test_windows_without_gravity_get_a_companded_mean():
    """``train_gan`` compands the mean of windows in the gravity filter's frame (every class within a quarter
    g of zero) and keeps ``tanh`` for windows that carry gravity (a wrist's classes near 1 g on some axis)."""
    from gan.layers import MEAN_REF_MG
    from gan.real_start import mean_reference

    x, y = toy_windows(40)
    assert mean_reference(x, y, 2) is None
    free = x - np.stack([x[y == c].mean(axis=(0, 1)) for c in (0, 1)])[y][:, None, :]  # each class about zero
    assert mean_reference(free, y, 2) == MEAN_REF_MG
    assert mean_reference(free[y == 0], y[y == 0], 2) == MEAN_REF_MG  # a class without windows has no say


@pytest.mark.parametrize("mean_ref_mg", [None, 10.0])
def test_compose_window_mean_for_inverts_its_offset(mean_ref_mg):
    """``mean_for`` gives the input whose offset is a mean in mg (how ``start_at_real`` sets the mean table);
    companded, an update of the input moves a near-zero mean by ``mean_ref * log_gain`` mg per unit, not
    the full scale's 4,000."""
    layer = ComposeWindow(4000.0, log_gain=4.0, mean_ref_mg=mean_ref_mg)
    for mg in (-3000.0, -5.0, 0.0, 0.5, 20.0, 1000.0):
        assert float(layer.offset(np.float32(layer.mean_for(mg)))) == pytest.approx(mg, abs=1e-3 * max(1.0, abs(mg)))
    slope = float(layer.offset(np.float32(1e-3))) / 1e-3
    assert slope == pytest.approx(4000.0 if mean_ref_mg is None else 40.0, rel=1e-3)


def _motion_std(x, y, c):
    m = x[y == c] - x[y == c].mean(axis=1, keepdims=True)
    return float(np.median(np.sqrt(np.mean(m ** 2, axis=(1, 2)))))


def test_a_fresh_generator_starts_each_class_at_its_real_amplitude():
    """``start_at_real``, what ``train_gan`` does to a fresh generator: before any update, a resting class's
    windows move by its real ~3 mg and a running class's by its ~800 mg (every class starts at ~100 mg
    otherwise), each about its real mean; a class without windows keeps that start, and a ``tanh``
    generator (no such tables) is left as it is."""
    rng = np.random.default_rng(4)
    n = np.arange(48)[None, :, None]
    rest = 1000.0 * (np.arange(3) == 2) + rng.normal(0, 3, (30, 48, 3))
    run = 1100.0 * np.sin(2 * np.pi * n / 10 + rng.uniform(0, 6, (30, 1, 3))) + rng.normal(0, 50, (30, 48, 3))
    x, y = np.concatenate([rest, run]), np.repeat([0, 1], 30)
    names = ["rest", "run", "none"]
    g = build_generator(8, names, 48, 3, FULL_SCALE_G)
    fresh, _ = generate_windows(g, 64, seed=0)
    start_at_real(g, x, y)
    xg, yg = generate_windows(g, 64, seed=0)
    for c in (0, 1):
        assert _motion_std(xg, yg, c) == pytest.approx(_motion_std(x, y, c), rel=0.2)
    assert xg[yg == 0].mean(axis=(0, 1))[2] == pytest.approx(1000.0, rel=0.15)  # ... and at its gravity
    # Without gravity, a companded mean starts each class within a mg or two of its real mean.
    free = x - np.stack([x[y == c].mean(axis=(0, 1)) for c in (0, 1)])[y][:, None, :] + [[[3.0, -2.0, 1.0]]]
    companded = build_generator(8, names, 48, 3, FULL_SCALE_G, mean_ref_mg=10.0)
    start_at_real(companded, free, y)
    xc, yc = generate_windows(companded, 64, seed=0)
    for c in (0, 1):
        np.testing.assert_allclose(xc[yc == c].mean(axis=(0, 1)), [3.0, -2.0, 1.0], atol=2.0)
    assert _motion_std(xg, yg, 2) == pytest.approx(_motion_std(fresh, yg, 2))
    assert _motion_std(fresh, yg, 0) > 30.0  # the default start: far from a resting class
    plain = build_generator(8, names, 48, 3, FULL_SCALE_G, output="tanh")
    before = [w.copy() for w in plain.get_weights()]
    start_at_real(plain, x, y)
    for a, b in zip(before, plain.get_weights()):
        np.testing.assert_array_equal(a, b)


def _gait_and_rest(rng, n: int = 40, t: int = 48):
    """A gait (two harmonics of 1/13 cycles per sample on x, the second 0.5 rad ahead, a third as strong on
    z, a little noise) and a resting sensor (white noise): two classes whose motion a spectrum tells apart."""
    steps = np.arange(t)[None, :]
    start = rng.uniform(-np.pi, np.pi, (n, 1))
    cycle = 2 * np.pi * steps / 13 + start  # twice the period is more than half the window: one fundamental
    swing = 300.0 * np.cos(cycle) + 100.0 * np.cos(2 * cycle + 0.5)
    gait = np.stack([swing, np.zeros_like(swing), swing / 3], axis=-1) + rng.normal(0, 10, (n, t, 3))
    rest = rng.normal(0, 3, (n, t, 3))
    return np.concatenate([gait, rest]), np.repeat([0, 1], n)


def test_real_mixes_finds_a_gaits_harmonics_and_a_resting_sensors_white_noise():
    """The repeating part of a gait is its harmonics' amplitudes (in units of the motion's std) and their
    phases relative to the fundamental's; a resting sensor does not repeat, and what is left is white."""
    x, y = _gait_and_rest(np.random.default_rng(5))
    gait, rest = real_mixes(x, y, 2, 8)
    std = np.sqrt(np.mean(np.square(x[y == 0] - x[y == 0].mean(axis=1, keepdims=True))))
    assert gait.amplitudes[0, 0] == pytest.approx(300.0 / std, rel=0.05)
    assert gait.amplitudes[1, 0] == pytest.approx(100.0 / std, rel=0.05)
    assert gait.amplitudes[0, 2] == pytest.approx(100.0 / std, rel=0.05)
    assert gait.phases[1, 0] == pytest.approx(0.5, abs=0.05) and gait.phases[0, 2] == pytest.approx(0.0, abs=0.05)
    assert np.mean(gait.harmonic) == pytest.approx(0.99, abs=0.02) and gait.amplitudes[2:].max() < 0.05
    assert np.mean(rest.harmonic) < 0.02 and np.all(rest.rest_lag1 < 0.1)


def _lag1(w):
    m = w - w.mean(axis=1, keepdims=True)
    return float(np.sum(m[:, 1:] * m[:, :-1]) / np.sum(m * m))


def test_a_fresh_generator_starts_each_class_at_its_real_motions_mix():
    """``start_at_real`` also starts the shape's paths at the real mix: before any update the gait's windows
    repeat as much as the real ones (its harmonics carry nearly all of the motion) and the resting class's
    motion is about as white as real noise; at the default start neither holds."""
    x, y = _gait_and_rest(np.random.default_rng(6))
    keras.utils.set_random_seed(0)
    g = build_generator(8, NAMES, 48, 3, FULL_SCALE_G)
    fresh, labels = generate_windows(g, 64, seed=0)
    start_at_real(g, x, y)
    xg, yg = generate_windows(g, 64, seed=0)

    def repeating(w):
        return float(np.mean(real_mixes(w, np.zeros(len(w), int), 1, 8)[0].harmonic))

    assert repeating(xg[yg == 0]) == pytest.approx(repeating(x[y == 0]), abs=0.1)
    assert repeating(fresh[labels == 0]) < 0.8
    assert abs(_lag1(xg[yg == 1])) < 0.1 < _lag1(fresh[labels == 1])


def test_a_fresh_generator_draws_each_classs_amplitudes_from_its_real_distribution():
    """A class whose windows are mostly still (~5 mg) with a fidgeting fifth (~150 mg), as a wrist at rest, is
    drawn with both from the start (the amplitude's quantile function starts at the real one,
    :class:`gan.layers.ClassQuantiles`), where a per-class value plus a Gaussian spread draws one mode."""
    rng = np.random.default_rng(7)
    size = np.where(rng.uniform(size=(200, 1, 1)) < 0.2, 150.0, 5.0)
    x, y = 1000.0 * (np.arange(3) == 2) + size * rng.normal(0, 1, (200, 48, 3)), np.zeros(200, int)
    g = build_generator(8, NAMES, 48, 3, FULL_SCALE_G)
    start_at_real(g, x, y)
    xg, _ = generate_windows(g, [2000, 0], seed=0)

    def spread(w):
        m = w - w.mean(axis=1, keepdims=True)
        return np.percentile(np.sqrt(np.mean(m ** 2, axis=(1, 2))), [10, 50, 90])

    np.testing.assert_allclose(spread(xg), spread(x), rtol=0.25)
    assert g.get_layer("class_log_amplitude").get_weights()[0].shape == (2, 16)
