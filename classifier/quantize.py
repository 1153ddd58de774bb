"""Full-integer post-training quantization: int8 weights (per channel), int8 activations, int8 in/out.

The representative set is drawn from the training windows, plus one window that spans
exactly [-full scale, +full scale], so the int8 input tensor covers the sensor's whole range:
its scale is 2 * full_scale_mg / 255 whatever the training data held, and mg values beyond
the full scale saturate the way the sensor does.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterator

import keras
import numpy as np

from har_data import InputError
from har_data.validate import check_array


def model_full_scale_g(model: keras.Model) -> float | None:
    """The full scale (g) of the model's InputScaling layer, or None when it has none."""
    from classifier.layers import InputScaling

    for layer in model.layers:
        if isinstance(layer, InputScaling):
            return float(layer.full_scale_g)
    return None


@contextlib.contextmanager
def _quiet_fd(fd: int = 2) -> Iterator[None]:
    """Silence C++ logging on a file descriptor (the converter is chatty on stderr)."""
    try:
        saved = os.dup(fd)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def representative_windows(model: keras.Model, representative_x: np.ndarray, num_samples: int = 300,
                           seed: int = 0) -> np.ndarray:
    """``num_samples`` windows drawn (seeded) from ``representative_x`` (clipped to the full scale),
    plus one that touches +-full scale, so the int8 input covers exactly the sensor's range."""
    # Non-finite values crash the TFLite converter (a segfault, no message): stop them here.
    x = check_array(representative_x, "representative windows", dtype=np.float32)
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    if x.ndim != 3 or x.shape[1:] != shape:
        raise InputError(f"representative windows are {x.shape[1:] if x.ndim == 3 else x.shape}, "
                         f"the model takes {shape}")
    if len(x) == 0:
        raise InputError("no representative windows for int8 calibration")
    rng = np.random.default_rng(seed)
    n = min(int(num_samples), len(x))
    picked = x[np.sort(rng.choice(len(x), size=n, replace=False))]
    fs = model_full_scale_g(model)
    if fs is not None:
        # Calibrate on what the sensor can report: values beyond the full scale saturate.
        picked = np.clip(picked, -1000.0 * fs, 1000.0 * fs)
        # A real window whose first sample sits at +full scale and last at -full scale: it sets the
        # input range without a full-scale square wave blowing up the ranges of later layers.
        span = picked[:1].copy()
        span[0, 0, :] = 1000.0 * fs
        span[0, -1, :] = -1000.0 * fs
        picked = np.concatenate([picked, span], axis=0)
    return picked


def strip_tflite(model_bytes: bytes) -> bytes:
    """Drop what inference never reads: tensor and subgraph names, signature defs, converter metadata.

    Saves 1-1.5 KB of flash on a small model; weights, quantization and ops are untouched.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    obj = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    flatbuffer_utils.strip_strings(obj)
    if obj.metadata:
        obj.metadata = [m for m in obj.metadata if m.name not in (b"CONVERSION_METADATA", "CONVERSION_METADATA")]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(obj))


def quantize_int8(model: keras.Model, representative_x: np.ndarray, num_samples: int = 300, seed: int = 0,
                  strip: bool = True) -> bytes:
    """Convert a float classifier to a full-integer int8 .tflite (int8 input and output, per-channel weights).

    Returns the .tflite bytes; the same bytes run on LiteRT, TFLite-Micro and the STM32.
    ``strip`` removes names and converter metadata (see :func:`strip_tflite`).
    """
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"int8 quantization runs the TensorFlow Lite converter on a TensorFlow-backend model; "
                           f"this process runs Keras on {keras.backend.backend()!r}: quantize with "
                           "KERAS_BACKEND=tensorflow (the GAN may still train under JAX in another process)")
    windows = representative_windows(model, representative_x, num_samples, seed)

    def gen():
        for w in windows:
            yield [w[None, ...]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = gen
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    try:
        with _quiet_fd(), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
            out = bytes(converter.convert())
    except Exception as exc:  # conversion errors are internal, but say which model
        raise RuntimeError(f"int8 conversion of model {model.name!r} failed: {exc}") from exc
    return strip_tflite(out) if strip else out
