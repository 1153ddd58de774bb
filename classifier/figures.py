"""Figures for a trained classifier: float and int8 accuracy, macro-F1, flash and RAM footprint."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from classifier.int8 import Int8Classifier
from classifier.training import evaluate_classifier


def classifier_figures(model: keras.Model, int8: Int8Classifier, x_test: np.ndarray, y_test: np.ndarray,
                       class_names: Sequence[str], agree_windows: int = 64) -> dict:
    """float_accuracy, int8_accuracy, macro_f1 (int8), tflite_bytes, arena_bytes, params, int8_runtimes_agree.

    Also float_macro_f1, int8_confusion and float_confusion. ``int8_runtimes_agree`` compares LiteRT
    and TFLite-Micro bit for bit on the first ``agree_windows`` test windows (TFLM runs one by one).
    """
    f = evaluate_classifier(model, x_test, y_test, class_names)
    q = evaluate_classifier(int8, x_test, y_test, class_names)
    x = np.asarray(x_test, dtype=np.float32)
    return {
        "float_accuracy": f["accuracy"],
        "int8_accuracy": q["accuracy"],
        "macro_f1": q["macro_f1"],
        "float_macro_f1": f["macro_f1"],
        "tflite_bytes": int(int8.tflite_bytes),
        "arena_bytes": int(int8.arena_bytes()),
        "params": int(model.count_params()),
        "int8_runtimes_agree": bool(int8.runtimes_agree(x[:agree_windows])),
        "float_confusion": f["confusion"],
        "int8_confusion": q["confusion"],
    }
