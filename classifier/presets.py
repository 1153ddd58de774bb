"""Classifier architectures, as named presets.

Every builder takes ``(window_length, class_names, full_scale_g, channels)`` and returns a
functional Keras model: float mg windows (T x channels) in, softmax probabilities out. The
first layer is :class:`~classifier.layers.InputScaling` (mg / full scale), so the model takes
the sensor's mg and its int8 input scale follows the sensor's full scale.

- ``ign`` and ``gmp``: ST's model zoo HAR models (stm32ai-modelzoo, human_activity_recognition),
  on a (T, 3, 1) "image" with (k, 1) kernels, as ST defines them (IGN: linear Dense(12);
  GMP: linear convolutions after BatchNorm, global max pooling).
- ``cnn1d`` (the default) and ``cnn1d_tiny``: our compact 1D CNNs (4 and 3 conv blocks). The axes are channels of a
  (T, 1, 3) tensor, so the first convolution mixes x, y and z (orientation matters: it tells
  cycling from sitting) and everything is Conv2D/MaxPool2D/Mean/FullyConnected/Softmax,
  which LiteRT, TFLite-Micro and ST Edge AI all run. BatchNorm folds into the convolutions
  at conversion, so it costs no flash.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
from keras import layers

from classifier.layers import InputScaling, StaticFlatten, StaticReshape

Builder = Callable[[int, Sequence[str], float, int], keras.Model]


def _check(window_length: int, class_names: Sequence[str], channels: int, min_length: int, name: str) -> int:
    if len(class_names) < 2:
        raise ValueError(f"{name}: need at least 2 classes, got {list(class_names)}")
    if int(window_length) < min_length:
        raise ValueError(f"{name}: window length must be >= {min_length}, got {window_length}")
    if int(channels) < 1:
        raise ValueError(f"{name}: channels must be >= 1, got {channels}")
    return len(class_names)


def _input(window_length: int, channels: int, full_scale_g: float):
    inputs = keras.Input(shape=(int(window_length), int(channels)), name="accel_mg")
    x = InputScaling(full_scale_g, name="input_scaling")(inputs)
    return inputs, x


def build_ign(window_length: int, class_names: Sequence[str], full_scale_g: float = 4.0, channels: int = 3,
              dropout: float = 0.5) -> keras.Model:
    """ST model zoo IGN: Conv2D(24, (16,1)) -> ReLU -> MaxPool(3,1) -> Flatten -> Dense(12) -> Dropout -> Dense(C)."""
    n = _check(window_length, class_names, channels, 18, "ign")
    inputs, x = _input(window_length, channels, full_scale_g)
    x = StaticReshape((int(window_length), int(channels), 1), name="to_image")(x)
    x = layers.Conv2D(24, (16, 1), name="conv")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = layers.MaxPooling2D((3, 1), name="pool")(x)
    x = StaticFlatten(name="flatten")(x)
    x = layers.Dense(12, name="dense")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(n, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="ign")


def build_gmp(window_length: int, class_names: Sequence[str], full_scale_g: float = 4.0, channels: int = 3,
              dropout: float = 0.5) -> keras.Model:
    """ST model zoo GMP: BN -> Conv2D(16,(5,1)) -> BN -> Conv2D(16,(5,1)) -> GlobalMaxPool -> Dropout -> Dense(C)
    -> softmax."""
    n = _check(window_length, class_names, channels, 9, "gmp")
    inputs, x = _input(window_length, channels, full_scale_g)
    x = StaticReshape((int(window_length), int(channels), 1), name="to_image")(x)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.Conv2D(16, (5, 1), kernel_initializer="glorot_uniform", name="conv1")(x)
    x = layers.BatchNormalization(name="bn2")(x)
    x = layers.Conv2D(16, (5, 1), kernel_initializer="glorot_uniform", name="conv2")(x)
    x = layers.GlobalMaxPooling2D(name="gmp")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(n, name="logits")(x)
    outputs = layers.Activation("softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="gmp")


def _conv_block(x, filters: int, kernel: int, name: str, pool: int = 0):
    x = layers.Conv2D(filters, (kernel, 1), padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    x = layers.ReLU(name=f"{name}_relu")(x)
    if pool:
        x = layers.MaxPooling2D((pool, 1), name=f"{name}_pool")(x)
    return x


def _build_cnn1d(window_length: int, class_names: Sequence[str], full_scale_g: float, channels: int,
                 widths: Sequence[int], kernels: Sequence[int], pools: Sequence[int], dropout: float,
                 name: str) -> keras.Model:
    min_len = 1
    for p in pools:
        min_len *= max(p, 1)
    n = _check(window_length, class_names, channels, max(min_len, 4), name)
    inputs, x = _input(window_length, channels, full_scale_g)
    x = StaticReshape((int(window_length), 1, int(channels)), name="to_image")(x)
    for i, (w, k, p) in enumerate(zip(widths, kernels, pools)):
        x = _conv_block(x, w, k, f"b{i + 1}", p)
    # Head: global mean, then a 1x1 convolution as the classifier layer. It is a Dense layer in all
    # but name; as CONV_2D its int8 rounding is the same on LiteRT and TFLite-Micro, which is not
    # always so for FULLY_CONNECTED (one code apart on a few windows in a thousand).
    x = layers.GlobalAveragePooling2D(keepdims=True, name="gap")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Conv2D(n, (1, 1), name="logits")(x)
    x = StaticReshape((n,), name="flatten")(x)
    outputs = layers.Activation("softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name=name)


def build_cnn1d(window_length: int, class_names: Sequence[str], full_scale_g: float = 4.0,
                channels: int = 3) -> keras.Model:
    """Our default: four (k,1) conv blocks (8-16-16-16 filters, kernels 5-5-3-3, BN folded, ReLU, max pools
    of 2 after the first three, so the last block sees about 2 s), global mean, 1x1 conv to C, softmax.

    About 2.6k parameters and < 8 KiB of int8 .tflite for 4 classes.
    """
    return _build_cnn1d(window_length, class_names, full_scale_g, channels,
                        widths=(8, 16, 16, 16), kernels=(5, 5, 3, 3), pools=(2, 2, 2, 0), dropout=0.2, name="cnn1d")


def build_cnn1d_tiny(window_length: int, class_names: Sequence[str], full_scale_g: float = 4.0,
                     channels: int = 3) -> keras.Model:
    """A smaller variant (8-12-16 filters) for the tightest flash budgets."""
    return _build_cnn1d(window_length, class_names, full_scale_g, channels,
                        widths=(8, 12, 16), kernels=(5, 5, 3), pools=(2, 2, 0), dropout=0.1, name="cnn1d_tiny")


PRESETS: dict[str, Builder] = {
    "cnn1d": build_cnn1d,
    "cnn1d_tiny": build_cnn1d_tiny,
    "ign": build_ign,
    "gmp": build_gmp,
}
DEFAULT_PRESET = "cnn1d"


def build_classifier(preset: str, window_length: int, class_names: Sequence[str], full_scale_g: float = 4.0,
                     channels: int = 3, seed: int | None = None) -> keras.Model:
    """Build the named preset (see ``PRESETS``); ``seed`` fixes the initial weights."""
    if preset not in PRESETS:
        from har_data import InputError

        raise InputError(f"unknown classifier preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    return PRESETS[preset](int(window_length), list(class_names), float(full_scale_g), int(channels))
