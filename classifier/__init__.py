"""classifier: the ST classifier (small CNN for the STM32), its training, int8 quantization and int8 runners.

The int8 model (same bytes on LiteRT, TFLite-Micro and the board) judges generated windows:
``Int8Classifier.accept(windows, labels, min_confidence)``.
"""

from classifier.figures import classifier_figures
from classifier.int8 import Int8Classifier
from classifier.layers import InputScaling, StaticFlatten, StaticReshape
from classifier.presets import DEFAULT_PRESET, PRESETS, build_classifier
from classifier.quantize import model_full_scale_g, quantize_int8, strip_tflite
from classifier.saving import load_classifier, load_keras_model, save_classifier
from classifier.training import (class_weights, evaluate_classifier, plot_confusion_matrix, tensorboard_callbacks,
                                 train_classifier, train_on_windows)

__all__ = [
    "DEFAULT_PRESET", "InputScaling", "Int8Classifier", "PRESETS", "StaticFlatten", "StaticReshape",
    "build_classifier", "class_weights", "classifier_figures", "evaluate_classifier", "load_classifier",
    "load_keras_model", "model_full_scale_g", "plot_confusion_matrix", "quantize_int8", "save_classifier",
    "strip_tflite", "tensorboard_callbacks", "train_classifier", "train_on_windows",
]
