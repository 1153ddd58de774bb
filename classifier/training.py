"""Training and evaluation of the ST classifier with ``model.fit``.

Class weights (balanced), early stopping that restores the best weights, a learning-rate
schedule (ReduceLROnPlateau), and a seed for repeatable runs on CPU. Validation data come
from the WindowSet's own ``val`` split, which is split by recording, never by window.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from collections.abc import Callable, Sequence

import keras
import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.utils.class_weight import compute_class_weight

from classifier.presets import DEFAULT_PRESET, build_classifier
from har_data import InputError
from har_data.atomic import atomic_path


def _check_xy(x: np.ndarray, y: np.ndarray, num_classes: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y).astype(np.int64).reshape(-1)
    if x.ndim != 3:
        raise InputError(f"{what}: windows must be N x T x channels, got shape {x.shape}")
    if len(x) != len(y):
        raise InputError(f"{what}: {len(x)} windows but {len(y)} labels")
    if len(y) == 0:
        raise InputError(f"{what}: no windows")
    if y.min() < 0 or y.max() >= num_classes:
        raise InputError(f"{what}: labels outside 0..{num_classes - 1}")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{what}: windows hold NaN or infinite values")
    return x, y


def class_weights(y: np.ndarray, num_classes: int) -> dict[int, float]:
    """Balanced class weights (sklearn), 1.0 for classes absent from ``y``."""
    present = np.unique(y)
    w = compute_class_weight("balanced", classes=present, y=y)
    out = {i: 1.0 for i in range(num_classes)}
    out.update({int(c): float(v) for c, v in zip(present, w)})
    return out


def _rotation_matrices(angles, axes):
    """Rodrigues: rotation matrices (B x 3 x 3) for angles (B,) about unit axes (B x 3)."""
    import tensorflow as tf

    kx, ky, kz = axes[:, 0], axes[:, 1], axes[:, 2]
    zero = tf.zeros_like(kx)
    k = tf.reshape(tf.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], axis=1), (-1, 3, 3))
    s = tf.sin(angles)[:, None, None]
    c = tf.cos(angles)[:, None, None]
    eye = tf.eye(3, batch_shape=tf.shape(angles)[:1])
    return eye + s * k + (1.0 - c) * tf.matmul(k, k)


ROTATE_AXES = ("random", "gravity")


def augmented_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, rotate_deg: float,
                      scale: float, noise_mg: float, rotate_axis: str = "random"):
    """An endless, shuffled tf.data stream of batches with random rotations, gain (+-``scale``) and white
    noise; seeded, with stateless ops, so runs repeat.

    ``rotate_axis="random"``: about a random 3-D axis (a wrist worn a little differently);
    ``"gravity"``: about z, which is the gravity axis of windows in the gravity frame
    (:mod:`har_data.gravity`): where the filter has put gravity on z, what is left of the sensor's
    orientation is its heading about that axis, and ``rotate_deg=180`` covers every heading.
    """
    if rotate_axis not in ROTATE_AXES:
        raise InputError(f"unknown rotation axis {rotate_axis!r}; valid: {', '.join(ROTATE_AXES)}")
    import tensorflow as tf

    n = len(x)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).repeat().enumerate()
    max_angle = float(np.deg2rad(rotate_deg))

    def aug(i, batch):
        xb, yb = batch
        b = tf.shape(xb)[0]
        s = tf.stack([tf.cast(seed, tf.int64), i])
        if rotate_axis == "gravity":
            axes = tf.tile(tf.constant([[0.0, 0.0, 1.0]]), tf.stack([b, 1]))
        else:
            axes = tf.random.stateless_normal((b, 3), seed=s)
            axes = axes / (tf.norm(axes, axis=1, keepdims=True) + 1e-9)
        angles = tf.random.stateless_uniform((b,), seed=s + 1, minval=-max_angle, maxval=max_angle)
        gain = tf.random.stateless_uniform((b, 1, 1), seed=s + 2, minval=1.0 - scale, maxval=1.0 + scale)
        noise = tf.random.stateless_normal(tf.shape(xb), seed=s + 3, stddev=noise_mg)
        xr = tf.matmul(xb, _rotation_matrices(angles, axes), transpose_b=True)
        return xr * gain + noise, yb

    return ds.map(aug, num_parallel_calls=1, deterministic=True).prefetch(2)


def _check_val(x_val: np.ndarray, y_val: np.ndarray, x_train: np.ndarray, num_classes: int
               ) -> tuple[np.ndarray, np.ndarray]:
    x_val, y_val = _check_xy(x_val, y_val, num_classes, "validation windows")
    if x_val.shape[1:] != x_train.shape[1:]:
        raise InputError(f"validation windows are {x_val.shape[1:]}, training windows {x_train.shape[1:]}")
    return x_val, y_val


def _fit_callbacks(monitor: str, patience: int, learning_rate: float) -> list[keras.callbacks.Callback]:
    """Early stopping that restores the best weights, and halving the learning rate on a plateau."""
    return [
        keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=max(2, patience // 3),
                                          min_lr=learning_rate / 64),
    ]


def tensorboard_callbacks(log_dir: str | os.PathLike | None) -> list[keras.callbacks.Callback]:
    """``[keras.callbacks.TensorBoard(log_dir)]`` writing the epoch logs (no graph, no histograms), or ``[]``."""
    if log_dir is None:
        return []
    return [keras.callbacks.TensorBoard(log_dir=os.fspath(log_dir), write_graph=False, update_freq="epoch")]


def train_classifier(
    x_train: np.ndarray,
    y_train: np.ndarray,
    class_names: Sequence[str],
    *,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    preset: str = DEFAULT_PRESET,
    full_scale_g: float = 4.0,
    epochs: int = 60,
    batch_size: int = 64,
    patience: int = 10,
    seed: int = 0,
    verbose: Any = "auto",
    callbacks: Sequence[keras.callbacks.Callback] = (),
    tensorboard: str | os.PathLike | None = None,
    learning_rate: float = 3e-3,
    augment: bool = True,
    rotate_deg: float = 45.0,
    gain: float = 0.2,
    noise_mg: float = 10.0,
    rotate_axis: str = "random",
) -> keras.Model:
    """Build ``preset`` and fit it on mg windows; returns the model with the best validation loss.

    Without validation data, early stopping and the LR schedule watch the training loss.
    ``augment`` trains on randomly rotated (+-``rotate_deg`` about a random axis), scaled
    (1 +- ``gain``) and noisy (``noise_mg``) copies of the windows, so the model leans on the
    motion more than on how the sensor happened to sit; ``rotate_axis="gravity"`` rotates about z
    only (windows in the gravity frame, see :func:`augmented_dataset`). ``tensorboard``: a folder for
    TensorBoard logs (loss, accuracy, learning rate per epoch). ``model.history`` holds the Keras History.
    """
    class_names = [str(c) for c in class_names]
    x_train, y_train = _check_xy(x_train, y_train, len(class_names), "training windows")
    has_val = False
    if x_val is not None and y_val is not None and len(x_val) > 0:
        x_val, y_val = _check_val(x_val, y_val, x_train, len(class_names))
        has_val = True
    keras.utils.set_random_seed(int(seed))
    model = build_classifier(preset, x_train.shape[1], class_names, full_scale_g, x_train.shape[2], seed=seed)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    cbs = [*_fit_callbacks("val_loss" if has_val else "loss", int(patience), learning_rate), *callbacks,
           *tensorboard_callbacks(tensorboard)]
    history = model.fit(
        **_training_data(x_train, y_train, int(batch_size), int(seed), augment, rotate_deg, gain, noise_mg,
                         rotate_axis),
        validation_data=(x_val, y_val) if has_val else None,
        epochs=int(epochs),
        class_weight=class_weights(y_train, len(class_names)),
        callbacks=cbs,
        verbose=verbose,
    )
    model.history = history
    return model


def _training_data(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, augment: bool, rotate_deg: float,
                   gain: float, noise_mg: float, rotate_axis: str) -> dict[str, Any]:
    """``fit``'s training-data arguments: an endless augmented dataset (:func:`augmented_dataset`, one
    epoch = one pass over the windows) or the plain arrays, shuffled."""
    if augment:
        return dict(x=augmented_dataset(x, y, batch_size, seed, rotate_deg, gain, noise_mg, rotate_axis),
                    steps_per_epoch=int(np.ceil(len(x) / batch_size)), shuffle=False)
    return dict(x=x, y=y, batch_size=batch_size, shuffle=True)


def train_on_windows(windows, **kwargs) -> keras.Model:
    """Train on a WindowSet's ``train`` split, validating on its ``val`` split (both split by recording).

    ``full_scale_g`` defaults to the WindowSet's sensor full scale when it has one.
    """
    train = windows.subset("train")
    val = windows.subset("val")
    if len(train) == 0:
        raise InputError("the windows have no 'train' split")
    if "full_scale_g" not in kwargs and getattr(windows, "sensor", None) is not None:
        kwargs["full_scale_g"] = float(windows.sensor.full_scale_g)
    return train_classifier(train.x, train.y, windows.class_names,
                            x_val=val.x if len(val) else None, y_val=val.y if len(val) else None, **kwargs)


def _predict_ids(model_or_predict_fn, x: np.ndarray) -> np.ndarray:
    if isinstance(model_or_predict_fn, keras.Model):
        probs = model_or_predict_fn.predict(x, batch_size=1024, verbose=0)
    elif hasattr(model_or_predict_fn, "predict_proba"):
        probs = model_or_predict_fn.predict_proba(x)
    else:
        probs = model_or_predict_fn(x)
    probs = np.asarray(probs)
    return probs.astype(np.int64) if probs.ndim == 1 else np.argmax(probs, axis=-1)


def evaluate_classifier(model_or_predict_fn: keras.Model | Callable | Any, x: np.ndarray, y: np.ndarray,
                        class_names: Sequence[str]) -> dict:
    """Accuracy, macro-F1, confusion matrix (rows: true class) and per-class precision/recall/F1.

    Takes a Keras model, an ``Int8Classifier`` (anything with ``predict_proba``), or a function
    returning probabilities (N x C) or class ids (N,).
    """
    class_names = [str(c) for c in class_names]
    x, y = _check_xy(x, y, len(class_names), "evaluation windows")
    pred = _predict_ids(model_or_predict_fn, x)
    labels = list(range(len(class_names)))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    return {
        "accuracy": float(np.mean(pred == y)),
        "macro_f1": float(f1_score(y, pred, labels=labels, average="macro", zero_division=0)),
        "confusion": confusion_matrix(y, pred, labels=labels).tolist(),
        "per_class": {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                      for i, c in enumerate(class_names)},
    }


def plot_confusion_matrix(confusion, class_names: Sequence[str], path: str | os.PathLike, title: str = "") -> Path:
    """Write the confusion matrix (counts, and row-normalised colour) as a PNG, atomically.

    Drawn on a ``matplotlib.figure.Figure`` (no pyplot), so a notebook's backend and figures are untouched.
    """
    from matplotlib.figure import Figure

    cm = np.asarray(confusion, dtype=np.int64)
    names = [str(c) for c in class_names]
    if cm.shape != (len(names), len(names)):
        raise ValueError(f"confusion matrix is {cm.shape}, expected {len(names)} x {len(names)}")
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=float), where=rows > 0)
    size = 1.2 + 0.8 * len(names)
    fig = Figure(figsize=(size + 1.0, size))
    ax = fig.subplots()
    im = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{cm[i, j]}\n{100 * norm[i, j]:.1f}%", ha="center", va="center", fontsize=8,
                    color="white" if norm[i, j] > 0.5 else "black")
    if title:
        ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    return Path(path)
