"""Keras model files: one loader that turns any unreadable ``.keras`` into an ``InputError`` naming it.

The classifier, the GAN and the command line all load models through :func:`load_keras_model`;
a package whose custom layers must be registered imports itself first (``import gan``).
"""

from __future__ import annotations

import os
from pathlib import Path

import keras

from har_data.atomic import atomic_path
from har_data.errors import InputError, one_line
from har_data.validate import check_keras_archive


def load_keras_model(path: str | os.PathLike, *, what: str = "Keras model", compile: bool = True) -> keras.Model:
    """Load a ``.keras`` file; a missing, misnamed or unreadable file is an ``InputError`` naming it.

    ``what`` names the model in the message ("generator", "classifier", ...). ``compile=False``
    skips restoring the optimizer and loss (enough for inference and fine-tuning with a new one).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file (the {what})", path)
    if path.suffix != ".keras":
        raise InputError(f"expected a .keras file for the {what}", path)
    check_keras_archive(path, what)
    try:
        return keras.saving.load_model(path, compile=compile)
    except Exception as exc:  # noqa: BLE001 - any unreadable model is bad input
        raise InputError(f"cannot load the {what}: {type(exc).__name__}: {one_line(exc)}", path) from None


def load_classifier(path: str | os.PathLike) -> keras.Model:
    """Load a ``.keras`` classifier saved with ``model.save`` (custom layers are registered)."""
    import classifier.layers  # noqa: F401  (registers the custom layers)

    return load_keras_model(path, what="classifier")


def save_classifier(model: keras.Model, path: str | os.PathLike) -> Path:
    """Save a classifier as ``.keras``, atomically."""
    path = Path(path)
    if path.suffix != ".keras":
        raise InputError("a Keras model file must end in .keras", path)
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
    return path
