"""Serializable layers used inside every classifier preset.

``InputScaling`` puts the sensor's full scale inside the model: the model takes mg, as the
sensor and the GAN produce them, and the int8 model's input quantization covers exactly
[-full scale, +full scale] (see ``classifier.quantize``), so float and int8 take the same input.
"""

from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="hargan")
class InputScaling(keras.layers.Layer):
    """mg -> [-1, 1]: divide by the full scale in mg and saturate like the sensor does."""

    def __init__(self, full_scale_g: float = 4.0, **kwargs):
        super().__init__(**kwargs)
        if not full_scale_g or float(full_scale_g) <= 0:
            raise ValueError(f"full_scale_g must be > 0, got {full_scale_g!r}")
        self.full_scale_g = float(full_scale_g)

    @property
    def full_scale_mg(self) -> float:
        return 1000.0 * self.full_scale_g

    def call(self, x):
        return ops.clip(x * (1.0 / self.full_scale_mg), -1.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config["full_scale_g"] = self.full_scale_g
        return config


@keras.saving.register_keras_serializable(package="hargan")
class StaticFlatten(keras.layers.Layer):
    """Flatten with a constant target shape (-1, features).

    ``keras.layers.Flatten`` reads the batch size at run time (SHAPE/STRIDED_SLICE/PACK ops in
    TFLite); a constant RESHAPE is what TFLite-Micro and ST Edge AI handle best.
    """

    def call(self, x):
        return ops.reshape(x, (-1, math.prod(x.shape[1:])))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], math.prod(input_shape[1:]))


@keras.saving.register_keras_serializable(package="hargan")
class StaticReshape(keras.layers.Layer):
    """Reshape to (-1, *target_shape) with a constant shape (one RESHAPE op in TFLite)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def call(self, x):
        return ops.reshape(x, (-1,) + self.target_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.target_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config
