"""Shared helpers for the firmware_export tests: one tiny int8 model per session, C compilation."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

CLASSES = ["stationary", "walking", "running", "cycling"]
T = 48

GCC = shutil.which("gcc")
GXX = shutil.which("g++")
needs_gcc = pytest.mark.skipif(GCC is None, reason="gcc is not installed")
needs_gxx = pytest.mark.skipif(GXX is None, reason="g++ is not installed")
C_FLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"]
CXX_FLAGS = ["-std=c++11", "-Wall", "-Wextra", "-Werror", "-pedantic"]


@functools.cache
def tiny_int8_bytes() -> bytes:
    """An untrained cnn1d_tiny classifier (48 x 3 -> 4 classes), full-integer int8."""
    from classifier import build_classifier, quantize_int8

    model = build_classifier("cnn1d_tiny", T, CLASSES, full_scale_g=4.0, seed=0)
    x = np.random.default_rng(0).normal(0, 900, (48, T, 3)).astype(np.float32)
    return quantize_int8(model, x, num_samples=48, seed=0)


def tiny_int8():
    from classifier import Int8Classifier

    return Int8Classifier(tiny_int8_bytes(), CLASSES)


def sample_windows(n: int = 12, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(T) / 26.0
    x = rng.normal(0, 150, (n, T, 3)) + np.array([0, 0, 1000.0])
    x += 600 * np.sin(2 * np.pi * (np.arange(n) % 4)[:, None, None] * t[None, :, None])
    return x.astype(np.float32), (np.arange(n) % 4).astype(np.int64)


def compile_run(sources: list[Path], harness: str, workdir: Path, args: list[str] = (), cxx: bool = False,
                include: Path | None = None) -> str:
    """Compile ``harness`` (C text) with ``sources`` under -Wall -Wextra -Werror, run it, return stdout."""
    workdir.mkdir(parents=True, exist_ok=True)
    main = workdir / ("harness.cpp" if cxx else "harness.c")
    main.write_text(harness)
    exe = workdir / "harness"
    cmd = [GXX, *CXX_FLAGS, "-x", "c++"] if cxx else [GCC, *C_FLAGS]
    cmd += ["-O1", "-I", str(include or sources[0].parent), str(main), *map(str, sources), "-o", str(exe), "-lm"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, f"compile failed: {' '.join(cmd)}\n{res.stderr}"
    run = subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=workdir)
    assert run.returncode == 0, run.stderr
    return run.stdout


@functools.cache
def preset_int8_bytes(preset: str) -> bytes:
    """An untrained ``preset`` classifier (48 x 3 -> 4 classes), full-integer int8."""
    if preset == "cnn1d_tiny":
        return tiny_int8_bytes()
    from classifier import build_classifier, quantize_int8

    model = build_classifier(preset, T, CLASSES, full_scale_g=4.0, seed=0)
    x = np.random.default_rng(0).normal(0, 900, (48, T, 3)).astype(np.float32)
    return quantize_int8(model, x, num_samples=48, seed=0)


@functools.cache
def mixed_int8_bytes() -> bytes:
    """A model beyond the presets' shapes: a SAME-padded 3x3 stride-2 convolution (its window is gathered),
    a depthwise convolution (multiplier 2, SAME), a SAME 3x2 max pool, a mean over 12 x 2, a dense layer."""
    import keras
    from keras import layers

    from classifier import quantize_int8
    from classifier.layers import InputScaling, StaticFlatten, StaticReshape

    inputs = keras.Input((T, 3))
    x = StaticReshape((T, 3, 1))(InputScaling(4.0)(inputs))
    x = layers.Conv2D(4, (3, 3), padding="same", strides=(2, 1), activation="relu")(x)
    x = layers.DepthwiseConv2D((3, 2), depth_multiplier=2, padding="same")(x)
    x = layers.MaxPooling2D((3, 2), strides=(2, 2), padding="same")(x)
    x = StaticFlatten()(layers.GlobalAveragePooling2D(keepdims=True)(x))
    outputs = layers.Activation("softmax")(layers.Dense(len(CLASSES))(x))
    keras.utils.set_random_seed(0)
    model = keras.Model(inputs, outputs)
    return quantize_int8(model, np.random.default_rng(0).normal(0, 900, (32, T, 3)).astype(np.float32), 32)
