"""classifier: a tiny training run, int8 conversion, LiteRT vs TFLite-Micro, figures, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from ai_edge_litert.interpreter import Interpreter
from classifier import (
    DEFAULT_PRESET,
    Int8Classifier,
    class_weights,
    classifier_figures,
    evaluate_classifier,
    load_classifier,
    plot_confusion_matrix,
    quantize_int8,
    save_classifier,
    train_classifier,
    train_on_windows,
)
from har_data import InputError, SensorSpec, WindowSet

CLASSES = ["still", "slow", "fast"]
FREQS_HZ = [0.0, 1.5, 5.0]
T = 48
ODR = 26.0


def sine_windows(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Separable synthetic windows (mg): class c oscillates at FREQS_HZ[c] on every axis, gravity on z."""
    rng = np.random.default_rng(seed)
    t = np.arange(T) / ODR
    xs, ys = [], []
    for c, f in enumerate(FREQS_HZ):
        for _ in range(n_per_class):
            phase = rng.uniform(0, 2 * np.pi, size=3)
            amp = rng.uniform(300, 700, size=3) if f > 0 else np.zeros(3)
            w = amp[None, :] * np.sin(2 * np.pi * f * t[:, None] + phase[None, :])
            w += np.array([0.0, 0.0, 1000.0]) + rng.normal(0, 40, size=(T, 3))
            xs.append(w)
            ys.append(c)
    x = np.asarray(xs, dtype=np.float32)
    y = np.asarray(ys, dtype=np.int64)
    order = rng.permutation(len(y))
    return x[order], y[order]


@pytest.fixture(scope="module")
def data():
    x_tr, y_tr = sine_windows(60, seed=1)
    x_va, y_va = sine_windows(15, seed=2)
    x_te, y_te = sine_windows(30, seed=3)
    return x_tr, y_tr, x_va, y_va, x_te, y_te


@pytest.fixture(scope="module")
def trained(data):
    x_tr, y_tr, x_va, y_va, _, _ = data
    return train_classifier(x_tr, y_tr, CLASSES, x_val=x_va, y_val=y_va, preset=DEFAULT_PRESET, full_scale_g=4.0,
                            epochs=25, batch_size=32, patience=8, seed=0, verbose=0, learning_rate=1e-2)


@pytest.fixture(scope="module")
def int8(trained, data):
    return Int8Classifier(quantize_int8(trained, data[0], num_samples=100, seed=0), CLASSES)


def test_tiny_training_run_learns_separable_classes(trained, data):
    x_te, y_te = data[4], data[5]
    assert "loss" in trained.history.history and "val_loss" in trained.history.history
    assert len(trained.history.history["loss"]) >= 2
    res = evaluate_classifier(trained, x_te, y_te, CLASSES)
    assert res["accuracy"] >= 0.95, res
    assert res["macro_f1"] >= 0.95
    assert np.sum(res["confusion"]) == len(y_te)
    assert set(res["per_class"]) == set(CLASSES)


def test_int8_model_is_full_integer_with_int8_io(int8):
    interp = Interpreter(model_content=int8.model_bytes)
    interp.allocate_tensors()
    (inp,), (out,) = interp.get_input_details(), interp.get_output_details()
    assert inp["dtype"] == np.int8 and out["dtype"] == np.int8
    assert list(inp["shape_signature"][1:]) == [T, 3]
    assert list(out["shape"]) == [1, len(CLASSES)]
    # No float tensors anywhere except possibly constants of no op: every activation is int8/int32.
    kinds = {d["dtype"] for d in interp.get_tensor_details()}
    assert np.float32 not in kinds, kinds
    assert int8.num_classes == len(CLASSES) and int8.window_length == T
    assert int8.tflite_bytes == len(int8.model_bytes)


def test_int8_input_scale_follows_the_sensor_full_scale(int8):
    # +-4 g = +-4000 mg spans the 256 int8 codes.
    assert int8.input_scale == pytest.approx(8000.0 / 255.0, rel=1e-3)
    assert abs(int8.input_zero_point) <= 1
    q = int8.quantize_input(np.array([[[0.0, 4000.0, -4000.0]] * T, [[1e6, -1e6, np.nan]] * T], np.float32))
    assert q.dtype == np.int8
    assert q[0, 0, 0] == int8.input_zero_point
    assert q[0, 0, 1] >= 126 and q[0, 0, 2] <= -127
    assert q[1, 0, 0] == 127 and q[1, 0, 1] == -128  # saturates like the sensor


def test_int8_accuracy_close_to_float(trained, int8, data):
    x_te, y_te = data[4], data[5]
    f = evaluate_classifier(trained, x_te, y_te, CLASSES)["accuracy"]
    q = evaluate_classifier(int8, x_te, y_te, CLASSES)["accuracy"]
    assert q >= 0.95 and abs(f - q) <= 0.03
    p = int8.predict_proba(x_te)
    assert p.shape == (len(y_te), len(CLASSES)) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=0.03)
    np.testing.assert_array_equal(int8.predict(x_te), np.argmax(int8.predict_int8(x_te), axis=1))


def test_litert_and_tflite_micro_are_bit_identical(int8, data):
    x = data[4][:24]
    a = int8.predict_int8(x, runtime="litert")
    b = int8.predict_int8(x, runtime="tflm")
    assert a.dtype == np.int8 and b.dtype == np.int8
    np.testing.assert_array_equal(a, b)
    assert int8.runtimes_agree(x) is True


def test_litert_batching_matches_one_by_one(data, int8):
    x = data[4]
    small = Int8Classifier(int8.model_bytes, CLASSES, max_batch=7)  # several chunks, the last one padded
    expect = np.concatenate([int8.predict_int8(x[i:i + 1]) for i in range(len(x))])
    np.testing.assert_array_equal(small.predict_int8(x), expect)
    np.testing.assert_array_equal(int8.predict_int8(x), expect)


def test_parallel_reference_interpreters_match_one(data, int8):
    x = np.resize(data[4], (700, T, 3))  # enough windows for two workers
    two = Int8Classifier(int8.model_bytes, CLASSES, num_threads=2, max_batch=128)
    one = Int8Classifier(int8.model_bytes, CLASSES, num_threads=1)
    np.testing.assert_array_equal(two.predict_int8(x), one.predict_int8(x))


def test_optimized_kernels_agree_on_classes(data, int8):
    fast = Int8Classifier(int8.model_bytes, CLASSES, kernels="optimized")
    a = fast.predict_int8(data[4]).astype(int)
    b = int8.predict_int8(data[4]).astype(int)
    assert np.max(np.abs(a - b)) <= 2  # XNNPACK may round an int8 code differently, never more


def test_figures(trained, int8, data):
    figs = classifier_figures(trained, int8, data[4], data[5], CLASSES)
    for key in ("float_accuracy", "int8_accuracy", "macro_f1", "tflite_bytes", "arena_bytes", "params",
                "int8_runtimes_agree"):
        assert key in figs
    assert figs["int8_runtimes_agree"] is True
    assert figs["params"] == trained.count_params() > 0
    assert 256 < figs["arena_bytes"] < 64 * 1024
    assert figs["tflite_bytes"] == int8.tflite_bytes


def test_keras_round_trip_gives_identical_predictions(trained, data, tmp_path):
    path = save_classifier(trained, tmp_path / "model.keras")
    loaded = load_classifier(path)
    x = data[4]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), trained.predict(x, verbose=0))
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]  # no temporary left behind


def test_tflite_round_trip_gives_identical_predictions(int8, data, tmp_path):
    path = int8.save(tmp_path / "model_int8.tflite")
    again = Int8Classifier(path, CLASSES)
    assert again.model_bytes == int8.model_bytes
    assert (again.input_scale, again.input_zero_point) == (int8.input_scale, int8.input_zero_point)
    np.testing.assert_array_equal(again.predict_int8(data[4]), int8.predict_int8(data[4]))


def test_confusion_matrix_png(tmp_path):
    path = plot_confusion_matrix([[5, 1, 0], [0, 6, 0], [2, 0, 4]], CLASSES, tmp_path / "cm.png", title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError):
        plot_confusion_matrix([[1, 0], [0, 1]], CLASSES, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_evaluate_with_a_predict_function():
    x = np.zeros((4, T, 3), np.float32)
    y = np.array([0, 1, 2, 2])
    res = evaluate_classifier(lambda _: np.array([0, 1, 2, 0]), x, y, CLASSES)
    assert res["accuracy"] == 0.75
    assert res["confusion"] == [[1, 0, 0], [0, 1, 0], [1, 0, 1]]
    assert res["per_class"]["fast"]["recall"] == 0.5


def test_class_weights_balance_and_cover_absent_classes():
    w = class_weights(np.array([0, 0, 0, 1]), 3)
    assert w[1] == pytest.approx(3 * w[0]) and w[2] == 1.0


def test_train_on_windows_uses_the_recording_splits(data):
    x_tr, y_tr, x_va, y_va, _, _ = data
    x = np.concatenate([x_tr[:30], x_va[:15]])
    y = np.concatenate([y_tr[:30], y_va[:15]])
    split = np.array(["train"] * 30 + ["val"] * 15)
    ws = WindowSet(x, y, CLASSES, split, np.arange(len(y)).astype(str), SensorSpec("LSM6DSL", 8, 26.0), 26.0)
    model = train_on_windows(ws, preset="cnn1d_tiny", epochs=2, batch_size=16, seed=0, verbose=0)
    assert "val_loss" in model.history.history
    from classifier import model_full_scale_g

    assert model_full_scale_g(model) == 8.0  # full scale taken from the WindowSet's sensor


def test_bad_input_is_reported(int8, tmp_path):
    with pytest.raises(InputError, match="TFL3"):
        Int8Classifier(b"not a model at all")
    with pytest.raises(InputError, match="no such file"):
        Int8Classifier(tmp_path / "missing.tflite")
    with pytest.raises(InputError, match="takes"):
        int8.predict_int8(np.zeros((2, T + 1, 3), np.float32))
    with pytest.raises(InputError, match="runtime"):
        int8.predict_int8(np.zeros((1, T, 3), np.float32), runtime="gpu")
    with pytest.raises(InputError, match="labels"):
        train_classifier(np.zeros((4, T, 3), np.float32), np.array([0, 1, 2, 3]), CLASSES, epochs=1)
    with pytest.raises(InputError, match="no such file"):
        load_classifier(tmp_path / "missing.keras")


def test_augmentation_is_seeded_and_rotates_rigidly(data):
    from classifier.training import augmented_dataset

    x, y = data[0][:40], data[1][:40]

    def first(seed):
        return next(iter(augmented_dataset(x, y, 16, seed, rotate_deg=30.0, scale=0.0, noise_mg=0.0)))

    (a, ya), (b, yb) = first(3), first(3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    assert not np.array_equal(first(4)[0].numpy(), a.numpy())
    # "still" windows are gravity (0, 0, 1000 mg) plus noise: a rotation keeps the 1 g, tilts its direction.
    g = a.numpy()[ya.numpy() == 0].mean(axis=1)
    assert len(g) > 0
    np.testing.assert_allclose(np.linalg.norm(g, axis=-1), 1000.0, rtol=0.02)
    assert np.all(g[:, 2] >= 1000.0 * np.cos(np.deg2rad(30.0)) - 20) and np.any(g[:, 2] < 990.0)
