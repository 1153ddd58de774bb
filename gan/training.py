"""``train_gan``: the one-call training helper the pipeline and ``hargan train-gan`` use.

It can also start from saved models (``hargan train-gan --init``): ``train_gan(windows, classifier,
init_generator="gan/generator.keras", init_critic="gan/critic.keras")`` keeps training them on
``windows`` with that classifier as feedback. Class names of the saved models must be those of the
windows, in any order (weights of the label embeddings are re-ordered by name). A transfer run
(two domains) does not use this: it trains one GAN on (domain, class) labels (:mod:`gan.transfer`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import keras
import numpy as np

from classifier.saving import load_keras_model
from classifier.training import tensorboard_callbacks
from gan.callbacks import Checkpoint, StopAtStep, StopOnNaN
from gan.data import make_gan_dataset
from gan.layers import ClassQuantiles
from gan.models import (build_critic, build_generator, generator_latent_dim, generator_window, model_class_names,
                        model_full_scale_g)
from gan.real_start import mean_reference, start_at_real
from gan.wgan import (DEFAULT_C_LR, DEFAULT_CLASSIFIER_WEIGHT, DEFAULT_G_LR, DEFAULT_STATS_WEIGHT, ConditionalWGANGP,
                      default_optimizer)
from har_data.errors import InputError
from har_data.validate import check_range

if TYPE_CHECKING:
    from har_data.windows import WindowSet

DEFAULT_LATENT_DIM = 64
DEFAULT_STEPS_PER_EPOCH = 100


def _load(model_or_path, what: str) -> keras.Model:
    if isinstance(model_or_path, keras.Model):
        return model_or_path
    return load_keras_model(model_or_path, what=what, compile=False)  # gan's layers are registered on import


def _match_classes(model: keras.Model, class_names: Sequence[str], what: str, where) -> keras.Model:
    """Re-order the label tables of a pretrained model to ``class_names`` (same set, any order)."""
    names = model_class_names(model)
    target = list(class_names)
    if names == target:
        return model
    if sorted(names) != sorted(target):
        missing = sorted(set(target) - set(names))
        extra = sorted(set(names) - set(target))
        raise InputError(f"pretrained {what} classes {names} do not match the windows' classes {target}"
                         + (f"; missing: {', '.join(missing)}" if missing else "")
                         + (f"; not in the windows: {', '.join(extra)}" if extra else ""), where)
    order = [names.index(c) for c in target]
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"].endswith("LabelEmbedding"):
            layer["config"]["class_names"] = target
    clone = model.__class__.from_config(config)
    clone.set_weights(model.get_weights())
    for layer in clone.layers:  # every per-class table: the LabelEmbedding(s) and the generator's class tables
        if (isinstance(layer, keras.layers.Embedding) and layer.input_dim == len(target)) or isinstance(
                layer, ClassQuantiles):
            w = layer.get_weights()[0]
            layer.set_weights([w[order]])
    return clone


def _training_windows(windows, split: str | Sequence[str] | None):
    """The windows of ``split`` (all with ``None``); every class must have some."""
    ws = windows.subset(split) if split is not None else windows
    if len(ws) == 0:
        raise InputError(f"no windows in split {split!r} to train the GAN on")
    present = set(np.unique(ws.y).tolist())
    empty = [c for i, c in enumerate(windows.class_names) if i not in present]
    if empty:
        raise InputError(f"no training windows for class(es) {', '.join(empty)}")
    return ws


def _pretrained_generator(init_generator, names: Sequence[str], shape: tuple[int, int]) -> keras.Model:
    """A pretrained generator with its label table in ``names`` order, checked to make ``shape`` windows."""
    generator = _match_classes(_load(init_generator, "generator"), names, "generator", init_generator)
    if generator_window(generator) != shape:
        raise InputError(f"pretrained generator makes {generator_window(generator)} windows, the data has "
                         f"{shape}", None if isinstance(init_generator, keras.Model) else init_generator)
    return generator


def train_gan(windows: WindowSet, classifier_model: keras.Model | None, *, steps: int, batch_size: int = 64,
              seed: int = 0, init_generator: str | os.PathLike | keras.Model | None = None,
              init_critic: str | os.PathLike | keras.Model | None = None, callbacks: Sequence = (),
              latent_dim: int = DEFAULT_LATENT_DIM, n_critic: int = 5, gp_weight: float = 10.0,
              classifier_weight: float = DEFAULT_CLASSIFIER_WEIGHT, drift_weight: float = 0.0,
              loss: str = "wasserstein", gp_input_scale: float | None = None,
              stats_weight: float = DEFAULT_STATS_WEIGHT,
              g_learning_rate: float = DEFAULT_G_LR, c_learning_rate: float = DEFAULT_C_LR,
              split: str | Sequence[str] | None = "train", steps_per_epoch: int = DEFAULT_STEPS_PER_EPOCH,
              jit_compile: bool | str = "auto", steps_per_execution: int = 1, full_scale_g: float | None = None,
              verbose: int | str = 0, tensorboard: str | os.PathLike | None = None,
              checkpoint_dir: str | os.PathLike | None = None,
              generator_kwargs: dict | None = None, critic_kwargs: dict | None = None,
              log: Callable[[str], None] | None = None) -> ConditionalWGANGP:
    """Train a conditional WGAN-GP on a WindowSet for ``steps`` generator updates; returns the fitted GAN.

    ``classifier_model`` (the float ST classifier, frozen) gives the feedback (``None`` or
    ``classifier_weight=0``: none). ``split``: the windows to learn from (``None``: all).
    ``init_generator`` / ``init_critic`` (path or model): start from saved models (without ``init_critic``
    a fresh critic; a fresh generator starts each class at its real windows' mean, amplitude and
    fundamental, :func:`gan.real_start.start_at_real`, and compands its mean where the windows carry no
    gravity, :func:`gan.real_start.mean_reference`, unless ``generator_kwargs`` set ``mean_ref_mg``).
    ``stats_weight``: the statistics-matching loss
    (:func:`gan.losses.statistics_matching`; 0: off). ``jit_compile`` and ``steps_per_execution`` go to
    ``compile``. ``steps`` run as epochs of ``steps_per_epoch`` updates (what ``callbacks`` see);
    ``tensorboard``: a folder for TensorBoard logs.

    ``checkpoint_dir``: the training state is saved there every epoch; a later call with the same data,
    settings, budget and classifier / saved models resumes from it (the same batches and noise as an
    uninterrupted run); a checkpoint of anything else is removed, with a line to ``log``. A NaN loss
    raises :class:`gan.callbacks.TrainingDiverged`.
    """
    _check_settings(steps=steps, batch_size=batch_size, n_critic=n_critic, gp_weight=gp_weight,
                    classifier_weight=classifier_weight, drift_weight=drift_weight, stats_weight=stats_weight,
                    g_learning_rate=g_learning_rate, c_learning_rate=c_learning_rate, steps_per_epoch=steps_per_epoch,
                    latent_dim=latent_dim)
    ws = _training_windows(windows, split)
    names = list(windows.class_names)
    t, ch = ws.window_length, int(ws.x.shape[2])
    if full_scale_g is None:
        full_scale_g = float(ws.sensor.full_scale_g) if getattr(ws, "sensor", None) is not None else 4.0
    keras.utils.set_random_seed(int(seed))
    # Windows without gravity get a companded mean (gan.real_start.mean_reference); the caller's choice wins.
    generator_kwargs = {"mean_ref_mg": mean_reference(ws.x, ws.y, len(names)), **(generator_kwargs or {})}
    generator, critic = _models(names, (t, ch), latent_dim, full_scale_g, init_generator, init_critic,
                                generator_kwargs, critic_kwargs or {})
    if init_generator is None:
        start_at_real(generator, ws.x, ws.y)
    _check_classifier(classifier_model, names)

    gan = ConditionalWGANGP(generator, critic, classifier_model, n_critic=n_critic, gp_weight=gp_weight,
                            classifier_weight=classifier_weight, drift_weight=drift_weight, loss=loss, seed=seed,
                            gp_input_scale=gp_input_scale, stats_weight=stats_weight)
    gan.compile(default_optimizer(g_learning_rate), default_optimizer(c_learning_rate), jit_compile=jit_compile,
                steps_per_execution=steps_per_execution)
    spe = max(1, min(int(steps_per_epoch), int(steps)))
    checkpoint = None
    if checkpoint_dir is not None:
        settings = dict(gan.hyperparameters(), batch_size=batch_size, steps_per_epoch=spe, names=names,
                        g_lr=g_learning_rate, c_lr=c_learning_rate, steps=int(steps),
                        models=[generator_kwargs, critic_kwargs or {}],
                        weights=_feedback_and_init_digests(gan, init_generator is not None, init_critic is not None))
        checkpoint = checkpoint_path(checkpoint_dir, ws, settings)
        drop_stale_checkpoints(checkpoint, log)
    _fit(gan, ws, int(steps), spe, batch_size, seed, [*callbacks, *tensorboard_callbacks(tensorboard)], checkpoint,
         verbose)
    return gan


def _feedback_and_init_digests(gan: ConditionalWGANGP, init_generator: bool, init_critic: bool) -> list[str | None]:
    """Digests of the weights a training starts from or is steered by: the classifier's, and the saved
    generator's and critic's when training starts from them (a checkpoint made against others is stale)."""
    return [weights_digest(gan.classifier), weights_digest(gan.generator if init_generator else None),
            weights_digest(gan.critic if init_critic else None)]


def _models(names: list[str], shape: tuple[int, int], latent_dim: int, full_scale_g: float,
            init_generator: str | os.PathLike | keras.Model | None, init_critic: str | os.PathLike | keras.Model | None,
            generator_kwargs: dict, critic_kwargs: dict) -> tuple[keras.Model, keras.Model]:
    """The generator and the critic: the saved ones where given (label tables in ``names`` order; a saved
    generator brings its own latent size and full scale), fresh ones otherwise."""
    t, ch = shape
    if init_generator is not None:
        generator = _pretrained_generator(init_generator, names, shape)
        latent_dim, full_scale_g = generator_latent_dim(generator), model_full_scale_g(generator)
    else:
        generator = build_generator(latent_dim, names, t, ch, full_scale_g, **generator_kwargs)
    if init_critic is not None:
        critic = _match_classes(_load(init_critic, "critic"), names, "critic", init_critic)
    else:
        critic = build_critic(names, t, ch, full_scale_g, **critic_kwargs)
    return generator, critic


def _check_classifier(classifier_model: keras.Model | None, names: list[str]) -> None:
    """The feedback classifier must have one output per class of the windows."""
    if classifier_model is None:
        return
    n_out = int(classifier_model.outputs[0].shape[-1])
    if n_out != len(names):
        raise InputError(f"the classifier has {n_out} classes, the windows {len(names)} ({', '.join(names)})")


def _fit(gan: ConditionalWGANGP, ws, steps: int, spe: int, batch_size: int, seed: int, callbacks: Sequence,
         checkpoint: Path | None, verbose) -> None:
    """``fit`` for ``steps`` updates in epochs of ``spe``; resumed from ``checkpoint`` when it exists, saved
    there at every epoch end. NaN check first (a NaN state is never passed on), the caller's callbacks,
    then the checkpoint, so what they keep at an epoch's end (e.g. a history) is never behind it."""
    every: list = [StopAtStep(steps), StopOnNaN(), *callbacks]
    if checkpoint is not None:
        if checkpoint.is_file():
            gan.load_weights(checkpoint)
        every.append(Checkpoint(checkpoint))
    done = int(gan.step_counter.numpy())
    # The same batches as an uninterrupted run: skip what the restored updates consumed.
    ds = make_gan_dataset(ws.x, ws.y, batch_size, seed, n_critic=gan.n_critic).skip(done)
    gan.fit(ds, epochs=math.ceil(steps / spe), initial_epoch=min(done, steps) // spe, steps_per_epoch=spe,
            callbacks=every, verbose=verbose, shuffle=False)


def _check_settings(**settings) -> None:
    """Refuse a setting outside its range before any model is built (NaN included)."""
    ranges = {"steps": (1, None, True), "batch_size": (1, None, True), "n_critic": (1, None, True),
              "steps_per_epoch": (1, None, True), "latent_dim": (1, None, True), "gp_weight": (0, None, False),
              "classifier_weight": (0, None, False), "drift_weight": (0, None, False),
              "stats_weight": (0, None, False), "g_learning_rate": (0, None, False),
              "c_learning_rate": (0, None, False)}
    for name, value in settings.items():
        low, high, integer = ranges[name]
        check_range(name, value, low, high, integer=integer)
    for name in ("g_learning_rate", "c_learning_rate"):
        if float(settings[name]) <= 0:
            raise InputError(f"{name} must be > 0, got {settings[name]!r}")


def weights_digest(model: keras.Model | None) -> str | None:
    """sha256 of a model's weights (None for no model): a checkpoint trained against other weights is stale."""
    if model is None:
        return None
    h = hashlib.sha256()
    for w in model.weights:
        h.update(f"{w.path}:{tuple(w.shape)}".encode())
        h.update(np.ascontiguousarray(keras.ops.convert_to_numpy(w)).tobytes())
    return h.hexdigest()[:16]


def drop_stale_checkpoints(checkpoint: Path, log: Callable[[str], None] | None = None) -> None:
    """Remove the other ``gan-*.weights.h5`` of ``checkpoint``'s folder (another fingerprint: other data,
    settings, budget or classifier), saying why training does not resume from them."""
    stale = [p for p in checkpoint.parent.glob("gan-*.weights.h5") if p != checkpoint]
    for p in stale:
        p.unlink(missing_ok=True)
    if stale:
        say = log or logging.getLogger(__name__).warning
        say(f"  {checkpoint.parent}: the checkpoint was made with other data, settings, step budget or classifier: "
            "not resumed, training starts fresh")


def checkpoint_path(directory: str | os.PathLike, windows: WindowSet, settings: dict) -> Path:
    """``<directory>/gan-<fingerprint>.weights.h5``: the fingerprint covers the training data and every
    setting that changes the updates, so a checkpoint is only ever resumed by the run that made it."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    h.update(np.ascontiguousarray(windows.x).tobytes())
    h.update(np.ascontiguousarray(windows.y).tobytes())
    return Path(directory) / f"gan-{h.hexdigest()[:16]}.weights.h5"
