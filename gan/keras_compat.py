"""Every use of Keras's private API, or of trainer behaviour Keras does not document, in one place.

The GAN trains two models with two optimizers inside one ``keras.Model.fit``; a few things that
needs are not public API in Keras 3. Each is here, with what it relies on and the Keras version it
was checked against (``KERAS_CHECKED``; pyproject pins ``keras<4``). When Keras is upgraded, read
this module against the new trainers (``keras/src/trainers/trainer.py``,
``keras/src/backend/{tensorflow,jax}/trainer.py``) and run ``tests/test_gan_*.py``: nothing else
in hargan touches Keras internals.

TensorFlow is imported inside the functions that need it, so this module imports under JAX too.
"""

from __future__ import annotations

from typing import Any

import keras

KERAS_CHECKED = "3.15.1"
"""The Keras release every item below was read against."""


class SkipSymbolicBuild:
    """Mixin for a ``keras.Model`` subclass whose layers are all built before ``fit``.

    Overrides ``Trainer._maybe_symbolic_build`` (private; TensorFlow trainer, checked: keras 3.15.1),
    which ``fit`` calls first to build unbuilt layers from a data batch. Under a strategy Keras
    all-reduces that batch, which fails under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585).
    Uses ``Layer._flatten_layers`` (private, checked: keras 3.15.1), the walk Keras's own test uses.
    """

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if all(layer.built for layer in self._flatten_layers()):
            return None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)


class OptimizerPair:
    """Two optimizers as the one ``model.optimizer`` Keras's JAX trainer expects (checked: keras 3.15.1).

    Duck-typed, not a ``keras.optimizers.Optimizer``: the JAX trainer reads ``optimizer.variables``
    into its state before each epoch (``_get_jax_state``), frees and writes them back around it
    (``_purge_model_variables``, ``jax_state_sync``), and ``Trainer`` asks ``built`` and calls
    ``build`` before fit (``_symbolic_build``); ``scale_loss`` is called in
    ``compute_loss_and_updates``, which our ``train_step`` does not use. Generator's variables first, then the
    critic's: :mod:`gan.train_step_jax` slices the trainer's optimizer state in that order.
    """

    built = True

    def __init__(self, g_optimizer: keras.optimizers.Optimizer, c_optimizer: keras.optimizers.Optimizer):
        self.g_optimizer, self.c_optimizer = g_optimizer, c_optimizer

    @property
    def variables(self) -> list:
        return list(self.g_optimizer.variables) + list(self.c_optimizer.variables)

    def build(self, variables: Any) -> None:  # both are built by ConditionalWGANGP.compile
        pass

    def scale_loss(self, loss: Any) -> Any:
        return loss


def set_jax_optimizers(model: keras.Model, g_optimizer: keras.optimizers.Optimizer,
                       c_optimizer: keras.optimizers.Optimizer) -> None:
    """Under JAX, hand the trainer both optimizers as ``model.optimizer`` (see :class:`OptimizerPair`)."""
    model.optimizer = OptimizerPair(g_optimizer, c_optimizer)


def untracked(model: keras.Model, name: str) -> Any:
    """A plain attribute set by :func:`set_untracked`, or None."""
    return model.__dict__.get(name)


def set_untracked(model: keras.Model, name: str, value: Any) -> None:
    """Set ``model.<name>`` without Keras's attribute tracking (checked: keras 3.15.1).

    ``Layer.__setattr__`` tracks every attribute a layer is given (lists become tracked lists; inside
    a jitted JAX step that tracking must not run), so this bypasses it with ``object.__setattr__``.
    For caches of Python values only, never for variables or layers.
    """
    object.__setattr__(model, name, value)


def clear_untracked(model: keras.Model, name: str) -> None:
    """Drop an attribute set by :func:`set_untracked` (e.g. after ``compile`` changes the variables)."""
    model.__dict__.pop(name, None)


def in_multi_worker_mode(strategy: Any) -> bool:
    """Keras's own test for the cross-worker reduction path of its TensorFlow trainer: a
    ``MultiWorkerMirroredStrategy`` that spans several workers. Uses
    ``strategy.extended._in_multi_worker_mode`` (private TensorFlow API that Keras's trainer calls,
    checked: keras 3.15.1, tensorflow 2.21)."""
    import tensorflow as tf

    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def reducible_logs(logs: dict[str, Any]) -> dict[str, Any]:
    """The train step's logs in a form Keras's TensorFlow trainer can reduce across workers.

    Across workers, ``reduce_per_replica`` reduces each log with ``reduce("MEAN", v, axis=0)``,
    which needs an axis (keras-team/keras#20585, checked: keras 3.15.1): give it one element per
    replica; the logs come out scalar. Elsewhere the logs are returned as they are.
    """
    import tensorflow as tf

    if not in_multi_worker_mode(tf.distribute.get_strategy()):
        return logs
    return {name: tf.reshape(v, [1]) for name, v in logs.items()}
