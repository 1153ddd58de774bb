"""ConditionalWGANGP: gradient penalty, fit + callbacks, conditioning, save/load, resume, train_gan."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from gan_toys import FULL_SCALE_G, NAMES, T, constant_generator, linear_critic, tiny_classifier, tiny_gan, toy_windows

from gan import (ConditionalWGANGP, SamplePlotCallback, generate_windows, losses, make_gan_dataset,
                 model_class_names, train_gan)
from har_data import InputError, WindowSet

pytestmark = pytest.mark.slow  # long: runs first (tests/conftest.py)

JAX = keras.backend.backend() == "jax"
METRICS = {"loss", "critic_loss", "generator_loss", "gradient_penalty", "wasserstein", "classifier_loss",
           "classifier_accuracy"}


def _fixed_dataset(x, y, batch):
    """Unshuffled batches (the hand computations below need to know which windows a step sees)."""
    return tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32))).batch(batch, drop_remainder=True).repeat()


def test_gradient_penalty_hand_computed():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(T, 3)).astype(np.float32)
    grads = np.broadcast_to(w, (5, T, 3))
    expected = (np.linalg.norm(w) - 1.0) ** 2
    np.testing.assert_allclose(np.asarray(losses.gradient_penalty(grads)), np.full(5, expected), rtol=1e-5)
    # The epsilon keeps the norm (and its gradient) finite at 0: penalty (sqrt(1e-12) - 1)^2 ~ 1.
    np.testing.assert_allclose(np.asarray(losses.gradient_penalty(np.zeros((2, T, 3), np.float32))), 1.0, atol=1e-5)
    # Per-sample norms: a sample with twice the gradient has its own penalty.
    two = np.stack([w, 2 * w])
    np.testing.assert_allclose(np.asarray(losses.gradient_penalty(two)),
                               [(np.linalg.norm(w) - 1) ** 2, (2 * np.linalg.norm(w) - 1) ** 2], rtol=1e-5)


def test_train_step_gradient_penalty_and_wasserstein_on_a_linear_critic():
    """D(x) = <w, x / full_scale>: its gradient is w at every interpolate, so GP = (||w|| - 1)^2 exactly."""
    rng = np.random.default_rng(1)
    w = rng.normal(size=(T, 3)).astype(np.float32)
    w *= 2.5 / np.linalg.norm(w)
    bias = rng.uniform(-0.2, 0.2, (T, 3)).astype(np.float32)
    x, y = toy_windows(16)
    gan = ConditionalWGANGP(constant_generator(bias), linear_critic(w), None, n_critic=2, gp_weight=10.0,
                            stats_weight=0.0)  # the adversarial terms alone
    gan.compile(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0))
    hist = gan.fit(_fixed_dataset(x, y, 16), epochs=1, steps_per_epoch=1, verbose=0).history
    fs = 1000.0 * FULL_SCALE_G
    d_real = (x / fs * w).sum(axis=(1, 2))
    d_fake = (bias * w).sum()
    assert hist["gradient_penalty"][0] == pytest.approx((2.5 - 1.0) ** 2, rel=1e-4)
    assert hist["wasserstein"][0] == pytest.approx(d_real.mean() - d_fake, abs=1e-4)
    assert hist["critic_loss"][0] == pytest.approx(d_fake - d_real.mean() + 10.0 * 1.5 ** 2, abs=1e-3)
    assert hist["generator_loss"][0] == pytest.approx(-d_fake, abs=1e-4)


def test_tiny_fit_finite_metrics_and_callbacks(tmp_path):
    x, y = toy_windows(96)
    gan = tiny_gan(tiny_classifier(), n_critic=2)
    gan.compile()
    plots = SamplePlotCallback(every_n_epochs=2, out_dir=tmp_path / "samples")
    cbs = [keras.callbacks.TerminateOnNaN(), plots,
           keras.callbacks.ModelCheckpoint(str(tmp_path / "gan.weights.h5"), save_weights_only=True),
           keras.callbacks.ModelCheckpoint(str(tmp_path / "generator.keras"))]
    cbs[-1].set_model = lambda model, cb=cbs[-1]: keras.callbacks.Callback.set_model(cb, model.generator)
    hist = gan.fit(make_gan_dataset(x, y, 16, seed=0, n_critic=2), epochs=2, steps_per_epoch=3, callbacks=cbs,
                   verbose=0).history
    assert set(hist) == METRICS
    for name, values in hist.items():
        assert len(values) == 2 and np.all(np.isfinite(values)), name
    assert 0.0 <= hist["classifier_accuracy"][-1] <= 1.0
    assert int(gan.step_counter.numpy()) == 6
    assert [p.name for p in plots.written] == ["samples_epoch_0002.png"]
    assert plots.written[0].read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "gan.weights.h5").is_file()
    assert model_class_names(keras.saving.load_model(tmp_path / "generator.keras")) == NAMES


def test_gan_dataset_is_seeded_shuffled_and_keeps_labels_with_windows():
    x, y = toy_windows(48)
    x[:, 0, 0] = np.arange(48)  # a window id

    def first(seed, n=3):
        it = iter(make_gan_dataset(x, y, 8, seed=seed, n_critic=2))
        return [tuple(np.asarray(a) for a in next(it)) for _ in range(n)]

    batches = first(1)
    assert all(b[0].shape == (16, T, 3) and b[1].shape == (16,) and b[1].dtype == np.int32 for b in batches)
    ids = np.concatenate([b[0][:, 0, 0] for b in batches]).astype(int)
    assert ids.min() >= 0 and ids.max() < 48 and ids.tolist() != list(range(48))  # shuffled
    assert len(set(ids.tolist())) > 24  # drawn across the windows, not a few repeated
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y[ids])  # labels stay with windows
    for a, b in zip(batches, first(1)):
        np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(batches[0][0], first(2, 1)[0][0])


def test_a_batch_that_n_critic_does_not_divide_is_one_clear_error_before_training():
    """Arrays, a dataset, a generator: a batch of 10 windows cannot feed n_critic=3 equal critic updates."""
    x, y = toy_windows(40)
    gan = tiny_gan(None, n_critic=3)
    gan.compile(jit_compile=JAX)  # JAX without jit runs op by op: 37 s here instead of 12 s
    before = gan.generator.get_weights()[0].copy()
    odd = tf.data.Dataset.from_tensor_slices((x, y)).batch(10, drop_remainder=True)
    for data, kwargs in [(x, {"y": y, "batch_size": 10}), (x[:31], {"y": y[:31], "batch_size": 15}), (odd, {})]:
        with pytest.raises(InputError, match="batch of (10|1) windows does not split into n_critic=3"):
            gan.fit(data, epochs=1, verbose=0, **kwargs)  # checked before fit starts
    assert int(gan.step_counter.numpy()) == 0
    np.testing.assert_array_equal(gan.generator.get_weights()[0], before)
    gan.fit(x[:30], y[:30], batch_size=15, epochs=1, verbose=0)  # 15 = 3 x 5: two updates
    assert int(gan.step_counter.numpy()) == 2

    def batches():  # a generator's batch size is known only in the train step: checked there
        while True:
            yield x[:10], y[:10]

    gan = tiny_gan(None, n_critic=3)
    gan.compile(jit_compile=JAX)
    with pytest.raises((InputError, tf.errors.InvalidArgumentError), match="does not split into n_critic=3"):
        gan.fit(batches(), epochs=1, steps_per_epoch=1, verbose=0)
    if not JAX:  # Keras's JAX trainer leaves the variables with fit's state
        assert int(gan.step_counter.numpy()) == 0


def test_compile_picks_the_backend_step_and_xla_default():
    """jit_compile="auto": XLA on under JAX, off on TensorFlow CPUs (a ~2 s first update instead of
    ~10 s of compile); under JAX both optimizers' variables travel as model.optimizer's (the JAX
    trainer's state)."""
    gan = tiny_gan(None)
    gan.compile()
    if JAX:
        assert gan.jit_compile is True
        assert len(gan.optimizer.variables) == len(gan.g_optimizer.variables) + len(gan.c_optimizer.variables)
    else:
        assert gan.jit_compile is bool(tf.config.list_logical_devices("GPU"))
        assert gan.optimizer is None
        gan.compile(jit_compile=True)
        assert gan.jit_compile is True
        gan.compile(run_eagerly=True)
        assert gan.jit_compile is False


def test_same_seed_same_training():
    """Reproducible: the same seeds give the same generator after three updates (either backend)."""
    x, y = toy_windows(64)

    def run(seed):
        gan = tiny_gan(tiny_classifier(), n_critic=2, seed=seed)
        gan.compile()
        gan.fit(make_gan_dataset(x, y, 8, seed=seed, n_critic=2), epochs=1, steps_per_epoch=3, verbose=0)
        return gan.generator.get_weights()

    first, again, other = run(3), run(3), run(4)
    for a, b in zip(first, again):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(a, b) for a, b in zip(first, other))


def test_compile_cache_directory_from_the_environment(monkeypatch, tmp_path):
    from gan import compile_cache

    jax_dirs = []
    monkeypatch.setattr(compile_cache, "enable_jax", jax_dirs.append)  # leave this session's JAX config alone
    monkeypatch.setenv(compile_cache.ENV, str(tmp_path / "c"))
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_auto_jit=0")
    assert compile_cache.enable() == tmp_path / "c" and (tmp_path / "c").is_dir()
    assert jax_dirs == ([tmp_path / "c"] if "jax" in compile_cache.sys.modules else [])  # JAX's cache too, once loaded
    assert compile_cache.os.environ["TF_XLA_FLAGS"] == (
        f"--tf_xla_auto_jit=0 --tf_xla_persistent_cache_directory={tmp_path / 'c'}")
    compile_cache.enable()  # an existing cache flag is left alone, not doubled
    assert compile_cache.os.environ["TF_XLA_FLAGS"].count("persistent_cache_directory") == 1
    monkeypatch.setenv(compile_cache.ENV, "off")
    assert compile_cache.cache_dir() is None and compile_cache.enable() is None
    monkeypatch.delenv(compile_cache.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compile_cache.cache_dir() == tmp_path / "xdg" / "hargan" / "xla"


def test_minimax_and_no_feedback_variants_train():
    x, y = toy_windows(64)
    gan = tiny_gan(tiny_classifier(), n_critic=1, loss="minimax", gp_weight=0.0, classifier_weight=0.0)
    gan.compile()
    before = [v.numpy().copy() for v in gan.generator.trainable_variables]
    hist = gan.fit(make_gan_dataset(x, y, 16, seed=1, n_critic=1), epochs=1, steps_per_epoch=3, verbose=0).history
    assert set(hist) == METRICS and all(np.isfinite(v[-1]) for v in hist.values())
    assert hist["gradient_penalty"][-1] > 0  # measured even when not weighted
    # Non-saturating loss: softplus(-D) > 0; critic BCE of two terms > 0.
    assert hist["generator_loss"][-1] > 0 and hist["critic_loss"][-1] > 0
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(before, gan.generator.trainable_variables))
    with pytest.raises(ValueError, match="unknown GAN loss"):
        tiny_gan(loss="hinge")


def test_conditioning_is_learned_on_a_toy_problem():
    """Class 1 sits 1400 mg higher on z and moves 5x more than class 0; the generator must learn both."""
    x, y = toy_windows(256, seed=2)
    # n_critic 5 at lr 1e-3 for 300 updates: learned with a wide margin on seeds 0-2, with and without XLA
    # and on JAX (n_critic 2 at 2e-3 for 200 updates missed on one seed in three: too noisy for a test).
    gan = tiny_gan(None, n_critic=5, seed=0)
    gan.compile(keras.optimizers.Adam(1e-3, 0.5, 0.9), keras.optimizers.Adam(1e-3, 0.5, 0.9))
    gan.fit(make_gan_dataset(x, y, 32, seed=0, n_critic=5), epochs=1, steps_per_epoch=300, verbose=0)
    xg, yg = gan.generate({"low": 200, "high": 200}, seed=0)
    z0, z1 = xg[yg == 0, :, 2].mean(), xg[yg == 1, :, 2].mean()
    real_gap = x[y == 1, :, 2].mean() - x[y == 0, :, 2].mean()
    assert z1 - z0 > 0.5 * real_gap, (z0, z1)
    # Movement: the high class varies more over time than the low class, as in the real data.
    move = [xg[yg == c].std(axis=1).mean() for c in (0, 1)]
    assert move[1] > 1.5 * move[0], move


def test_save_load_models_then_keep_training(tmp_path):
    """One save format (generator.keras, critic.keras, gan.json), the one hargan run writes; a folder of an
    older run (no gan.json) still loads."""
    x, y = toy_windows(64)
    clf = tiny_classifier()
    gan = tiny_gan(clf, n_critic=1, classifier_weight=0.5, gp_weight=5.0)
    gan.compile()
    ds = make_gan_dataset(x, y, 16, seed=0, n_critic=1)
    gan.fit(ds, epochs=1, steps_per_epoch=2, verbose=0)
    ref, ref_y = gan.generate([3, 2], seed=11)

    gan.save_models(tmp_path / "gan")
    assert sorted(p.name for p in (tmp_path / "gan").iterdir()) == ["critic.keras", "gan.json", "generator.keras"]
    meta = json.loads((tmp_path / "gan" / "gan.json").read_text())
    assert meta["class_names"] == NAMES and meta["step"] == 2 and meta["gp_weight"] == 5.0
    loaded = ConditionalWGANGP.load_models(tmp_path / "gan", classifier=clf)
    out, out_y = loaded.generate([3, 2], seed=11)
    np.testing.assert_array_equal(ref, out)
    np.testing.assert_array_equal(ref_y, out_y)
    assert loaded.classifier is clf and loaded.classifier_weight == 0.5 and loaded.gp_weight == 5.0

    (tmp_path / "gan" / "gan.json").unlink()  # an older hargan run's gan/ folder
    older = ConditionalWGANGP.load_models(tmp_path / "gan")
    np.testing.assert_array_equal(ref, older.generate([3, 2], seed=11)[0])
    with pytest.raises(InputError, match="not a saved GAN directory"):
        ConditionalWGANGP.load_models(tmp_path)

    # Keep training after loading.
    loaded.compile()
    before = loaded.generator.get_weights()
    hist = loaded.fit(ds, epochs=1, steps_per_epoch=2, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in hist.values())
    assert int(loaded.step_counter.numpy()) == 4
    assert any(not np.allclose(a, b) for a, b in zip(before, loaded.generator.get_weights()))


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, after_epoch):
        super().__init__()
        self.after_epoch = after_epoch
        self.weights = None

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after_epoch:
            self.weights = [w.copy() for w in self.model.get_weights()]
            raise RuntimeError("simulated kill")


class _Epochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen, self.start_step, self.start_weights = [], None, None

    def on_train_begin(self, logs=None):
        self.start_step = int(self.model.step_counter.numpy())
        self.start_weights = [w.copy() for w in self.model.get_weights()]

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(epoch)


def test_backup_and_restore_resumes_at_the_right_epoch(tmp_path):
    x, y = toy_windows(64)

    def fresh():
        gan = tiny_gan(tiny_classifier(), n_critic=2, seed=0)
        gan.compile()
        return gan

    ds = make_gan_dataset(x, y, 8, seed=0, n_critic=2)
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    killer = _Interrupt(after_epoch=1)
    gan = fresh()
    with pytest.raises(RuntimeError, match="simulated kill"):
        gan.fit(ds, epochs=4, steps_per_epoch=2, callbacks=[backup, killer], verbose=0)

    epochs = _Epochs()
    resumed = fresh()
    restore = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    hist = resumed.fit(ds, epochs=4, steps_per_epoch=2, callbacks=[restore, epochs], verbose=0).history
    assert epochs.seen == [2, 3]
    assert epochs.start_step == 4  # 2 epochs x 2 generator updates, restored with the weights
    for a, b in zip(killer.weights, epochs.start_weights):
        np.testing.assert_array_equal(a, b)
    assert int(resumed.c_optimizer.iterations.numpy()) == 8 * 2  # (4 restored + 4 new) steps x 2 critic updates
    assert int(resumed.step_counter.numpy()) == 8 and len(hist["loss"]) == 2


def test_train_gan_exact_steps_and_init_from_saved_models(tmp_path):
    x, y = toy_windows(80)
    ws = WindowSet(x, y, NAMES, np.full(len(x), "train"), np.arange(len(x)).astype(str))
    small = dict(latent_dim=8, generator_kwargs=dict(width=16, embed_dim=4), critic_kwargs=dict(width=8, hidden=16))
    gan = train_gan(ws, tiny_classifier(), steps=5, batch_size=8, steps_per_epoch=2, n_critic=2, **small)
    assert int(gan.step_counter.numpy()) == 5 and gan.classifier_weight > 0
    gan.save_models(tmp_path / "pre")

    # Target domain with the classes in the other order: the label tables are re-ordered by name.
    names2 = NAMES[::-1]
    ws2 = WindowSet(x, 1 - y, names2, ws.split, ws.group)
    from gan.training import _match_classes

    reordered = _match_classes(gan.generator, names2, "generator", None)
    np.testing.assert_allclose(generate_windows(gan.generator, {"high": 4}, seed=3)[0],
                               generate_windows(reordered, {"high": 4}, seed=3)[0], rtol=1e-6, atol=1e-3)
    tuned = train_gan(ws2, None, steps=2, batch_size=8, n_critic=1, init_generator=tmp_path / "pre" / "generator.keras",
                      init_critic=tmp_path / "pre" / "critic.keras")
    assert tuned.class_names == names2 and tuned.latent_dim == gan.latent_dim and tuned.classifier is None

    ws3 = WindowSet(x, y, ["low", "medium"], ws.split, ws.group)
    with pytest.raises(InputError, match="do not match.*missing: medium"):
        train_gan(ws3, None, steps=1, init_generator=tmp_path / "pre" / "generator.keras")
    with pytest.raises(InputError, match=r"no such file \(the generator\)"):
        train_gan(ws, None, steps=1, init_generator=tmp_path / "nope.keras")


def test_statistics_matching_is_zero_for_the_same_windows_per_class_and_grows_with_the_amplitude_error():
    from gan import losses

    x, y = toy_windows(32, seed=3)
    order = np.arange(32)
    for c in (0, 1):  # the same windows, shuffled within each class
        order[y == c] = np.flatnonzero(y == c)[::-1]
    assert np.array_equal(y[order], y) and not np.array_equal(order, np.arange(32))
    same = np.asarray(losses.statistics_matching(x, x[order], y))
    assert same.shape == (32,) and np.allclose(same, 0.0, atol=1e-5)
    mean = x.mean(axis=1, keepdims=True)
    err = [float(np.mean(losses.statistics_matching(x, mean + k * (x - mean), y))) for k in (1.0, 1.5, 3.0)]
    assert err[0] < 1e-6 < err[1] < err[2]
    # Each class's fakes taken from the other class (y alternates 0, 1): a large error, the pairing is per class.
    swapped = float(np.mean(losses.statistics_matching(x, x[np.arange(32) ^ 1], y)))
    assert swapped > 1.0


def test_statistics_matching_sees_where_a_still_window_sits():
    """A still window a few mg off zero (gravity filtered out) against the same window 120 mg off: a
    difference of 0.03 of the full scale, which the statistics see plainly, and 1 mg, which they do not."""
    from gan import losses

    rng = np.random.default_rng(0)
    y = np.zeros(16, dtype=np.int32)
    still = (rng.normal(0.0, 2.0, (16, T, 3)) + 3.0).astype(np.float32)
    near = float(np.mean(losses.statistics_matching(still, still + 1.0, y)))
    far = float(np.mean(losses.statistics_matching(still, still + 120.0, y)))
    assert near < 0.05 and far > 2.0, (near, far)


def test_log_spectrum_is_scipy_welch_and_the_statistics_see_a_ripple_at_the_nyquist_frequency():
    """The spectral statistics are Welch's power (scipy's, axes summed) bin for bin; a 5 mg sample-to-sample
    ripple (the upsampling artefact a sensor's low-pass never leaves) on 300 mg of slow motion is plain to
    them (the stds and the mean alone move by ~1e-5 there)."""
    from scipy import signal

    from gan import losses

    rng = np.random.default_rng(1)
    x = (300.0 * np.sin(2 * np.pi * np.arange(T)[None, :, None] / 12.0 + rng.uniform(0, 6, (16, 1, 3)))
         + rng.normal(0.0, 2.0, (16, T, 3)) + 1000.0)
    for segment in losses.SPECTRUM_SEGMENTS:
        _, power = signal.welch(x, nperseg=segment, axis=1)
        want = 0.5 * np.log(power.sum(axis=2)[:, 1:] + losses.STATS_FLOOR_MG ** 2)
        np.testing.assert_allclose(np.asarray(losses.log_spectrum(x.astype(np.float32), segment)), want, atol=1e-4)
    y = np.zeros(16, dtype=np.int32)
    ripple = (x + 5.0 * (-1.0) ** np.arange(T)[None, :, None]).astype(np.float32)
    x = x.astype(np.float32)
    assert float(np.mean(losses.statistics_matching(x, ripple, y))) > 0.1
    assert float(np.mean(losses.statistics_matching(x, x + 1.0, y))) < 0.01


def test_the_spectral_statistics_see_how_the_axes_move_together():
    """A circle (x = cos, y = sin) and a line (x = y = cos) of 300 mg per axis: the same power on every
    axis, so the axes' summed spectrum cannot tell them apart; the norm's (constant for the circle, twice
    the frequency for the line) can, and so can the statistics."""
    from gan import losses

    t = 48
    n, start = np.arange(t)[None, :], np.random.default_rng(0).uniform(0, 2 * np.pi, (16, 1))
    cos, sin, zero = 300.0 * np.cos(0.48 * n + start), 300.0 * np.sin(0.48 * n + start), np.zeros((16, t))
    circle, line = (np.stack(axes, axis=-1).astype(np.float32) for axes in ((cos, sin, zero), (cos, cos, zero)))
    gap = np.abs(np.asarray(losses.window_spectra(circle)) - np.asarray(losses.window_spectra(line))).mean(axis=0)
    axes = sum(s // 2 for s in losses.SPECTRUM_SEGMENTS)  # the axes' bins come first, then the norm's
    assert gap[:axes].max() < 0.05 and gap[axes:].mean() > 3.0, gap
    assert float(np.mean(losses.statistics_matching(circle, line, np.zeros(16, np.int32)))) > 1.0


def test_issue21_variant_trains_saves_and_loads(tmp_path):
    """Factored generator, critic with views and period branches, statistics matching: a few finite updates."""
    from gan import ConditionalWGANGP, build_critic, build_generator

    x, y = toy_windows(64)
    keras.utils.set_random_seed(0)
    g = build_generator(8, NAMES, T, 3, FULL_SCALE_G, width=8, embed_dim=4, output="factored")
    c = build_critic(NAMES, T, 3, FULL_SCALE_G, width=8, hidden=16, views=True, periods=(2, 5))
    gan = ConditionalWGANGP(g, c, tiny_classifier(), n_critic=2, stats_weight=1.0)
    gan.compile()
    hist = gan.fit(make_gan_dataset(x, y, 16, seed=1, n_critic=2), epochs=1, steps_per_epoch=3, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in hist.values())
    gan.save_models(tmp_path / "gan")
    loaded = ConditionalWGANGP.load_models(tmp_path / "gan")
    assert loaded.stats_weight == 1.0
    np.testing.assert_array_equal(loaded.generate(4, seed=1)[0], gan.generate(4, seed=1)[0])
