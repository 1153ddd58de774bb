"""ConditionalWGANGP: a conditional WGAN-GP (or minimax GAN) with ST-classifier feedback, trained by ``fit``.

One ``train_step`` = ``n_critic`` critic updates + one generator update. The step's input is one
element of :func:`gan.data.make_gan_dataset`: ``n_critic * batch_size`` real windows (mg) and
their labels; critic update ``i`` uses real sub-batch ``i`` against fakes generated for the same
labels, the generator update uses the labels of sub-batch 0.

The same model trains under ``KERAS_BACKEND=tensorflow`` (:mod:`gan.train_step_tf`: gradient tapes,
``tf.distribute``) and ``KERAS_BACKEND=jax`` (:mod:`gan.train_step_jax`: stateless, jitted); the loss
math is :mod:`gan.losses` (``keras.ops``), one copy for both.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from classifier.saving import load_classifier, load_keras_model
from gan import keras_compat, losses
from gan.models import generator_latent_dim, generator_window, model_class_names, model_full_scale_g
from gan.sampling import generate_windows
from har_data.errors import InputError
from har_data.validate import check_range

DEFAULT_CLASSIFIER_WEIGHT = 1.0
DEFAULT_G_LR = 5e-4
DEFAULT_C_LR = 5e-4
DEFAULT_STATS_WEIGHT = 1.0  # statistics matching, with the factored generator (docs/benchmarks.md, issue 21)
GAN_CONFIG = "gan.json"


def check_step_batch(rows: int, n_critic: int) -> None:
    """One training batch feeds ``n_critic`` critic updates of equal sub-batches: its size must be a
    positive multiple of ``n_critic``, else one clear line before training (not a failed reshape
    under TensorFlow, silently dropped rows under JAX)."""
    if rows < n_critic or rows % n_critic:
        raise InputError(f"a training batch of {rows} windows does not split into n_critic={n_critic} equal "
                         f"critic sub-batches: use a batch size that is a multiple of {n_critic} "
                         "(gan.make_gan_dataset gives batches of n_critic x batch_size)")


def _batch_rows(x: Any, batch_size: int | None) -> list[int]:
    """The batch sizes ``fit`` will feed, where they are known before training: a dataset's static
    batch size; for arrays, ``batch_size`` (Keras's default 32) and the last, shorter batch."""
    spec = getattr(x, "element_spec", None)
    if spec is not None:
        rows = keras.tree.flatten(spec)[0].shape[0]
        return [] if rows is None else [int(rows)]
    leaves = [] if x is None else keras.tree.flatten(x)
    if not leaves or not hasattr(leaves[0], "shape"):
        return []  # a generator or PyDataset: checked in the train step, where the shape is known
    n, size = int(leaves[0].shape[0]), int(batch_size or 32)
    return [min(n, size)] + ([n % size] if n > size and n % size else [])


def default_optimizer(learning_rate: float) -> keras.optimizers.Optimizer:
    """Adam with beta_1 = 0.5, beta_2 = 0.9 (the WGAN-GP paper uses 0 / 0.9; 0.5 converges faster here)."""
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.5, beta_2=0.9)


class ConditionalWGANGP(keras_compat.SkipSymbolicBuild, keras.Model):
    """Conditional WGAN-GP over mg windows, with an optional frozen float classifier as feedback.

    Generator loss = adversarial loss + ``classifier_weight`` x cross-entropy(C(G(z, y)), y)
    + ``stats_weight`` x :func:`gan.losses.statistics_matching` (per class, the fakes' motion and step
    sizes, how far from zero they sit and their spectra, against the real sub-batch with the same
    labels; 0: off).
    ``loss="minimax"`` swaps in the original GAN objective (BCE from logits, non-saturating
    generator loss); ``gp_weight`` still applies (set 0 for the plain original).

    The gradient penalty measures the critic's gradient per ``gp_input_scale`` mg (default: its
    full scale, the unit its first layer works in), so 1-Lipschitz means "a full-scale change
    moves the score by at most 1", whatever mg values the sensor has.

    Logged each step: ``loss`` (critic + generator loss, for TerminateOnNaN / checkpoints),
    ``critic_loss``, ``generator_loss``, ``gradient_penalty``, ``wasserstein``
    (E[D(real)] - E[D(fake)]) and, with a classifier, ``classifier_loss`` and
    ``classifier_accuracy`` on the generated windows.
    """

    def __init__(self, generator: keras.Model, critic: keras.Model, classifier: keras.Model | None = None,
                 latent_dim: int | None = None, n_critic: int = 5, gp_weight: float = 10.0,
                 classifier_weight: float = DEFAULT_CLASSIFIER_WEIGHT, drift_weight: float = 0.0,
                 loss: str = "wasserstein", seed: int = 0, gp_input_scale: float | None = None,
                 stats_weight: float = DEFAULT_STATS_WEIGHT, **kwargs: Any):
        super().__init__(**kwargs)
        if loss not in losses.LOSSES:
            raise ValueError(f"unknown GAN loss {loss!r}; valid: {', '.join(losses.LOSSES)}")
        if int(n_critic) < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic}")
        self.generator = generator
        self.critic = critic
        self.classifier = classifier
        self.latent_dim = generator_latent_dim(generator)
        if latent_dim is not None and int(latent_dim) != self.latent_dim:
            raise ValueError(f"latent_dim {latent_dim} does not match the generator's z width {self.latent_dim} "
                             f"(its latent head plus any per-step noise; leave latent_dim out to take it from the "
                             f"generator)")
        self.class_names = model_class_names(generator)
        critic_names = model_class_names(critic)
        if critic_names != self.class_names:
            raise ValueError(f"generator classes {self.class_names} differ from critic classes {critic_names}")
        self.window_length, self.channels = generator_window(generator)
        if tuple(critic.inputs[0].shape[1:]) != (self.window_length, self.channels):
            raise ValueError(f"critic input {tuple(critic.inputs[0].shape[1:])} does not match generator output "
                             f"{(self.window_length, self.channels)}")
        if classifier is not None:
            n_out = int(classifier.outputs[0].shape[-1])
            if n_out != len(self.class_names):
                raise ValueError(f"classifier has {n_out} outputs for {len(self.class_names)} classes")
            classifier.trainable = False
        self.n_critic = int(n_critic)
        self.gp_weight = check_range("gp_weight", gp_weight, 0)
        self.classifier_weight = check_range("classifier_weight", classifier_weight, 0)
        self.drift_weight = check_range("drift_weight", drift_weight, 0)
        self.stats_weight = check_range("stats_weight", stats_weight, 0)
        self.loss_kind = str(loss)
        self.seed = int(seed)
        if gp_input_scale is None:
            try:
                gp_input_scale = 1000.0 * model_full_scale_g(critic)
            except ValueError:  # a critic without our Scale layer: measure gradients in its own input unit
                gp_input_scale = 1.0
        self.gp_input_scale = float(gp_input_scale)
        self.g_optimizer: keras.optimizers.Optimizer | None = None
        self.c_optimizer: keras.optimizers.Optimizer | None = None
        # Counts generator updates; seeds the step's stateless random numbers (saved with the weights,
        # so a resumed run continues the noise sequence).
        self.step_counter = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False,
                                            aggregation="only_first_replica", name="step_counter")
        names = ["loss", "critic_loss", "generator_loss", "gradient_penalty", "wasserstein"]
        if classifier is not None:
            names += ["classifier_loss", "classifier_accuracy"]
        self.trackers = {n: keras.metrics.Mean(name=n) for n in names}
        self.built = True

    # --- Keras plumbing -------------------------------------------------------------------------
    def call(self, inputs: Any, training: bool = False) -> Any:
        """``[z, labels] -> generated mg windows`` (the generator)."""
        return self.generator(inputs, training=training)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def compile(self, g_optimizer: keras.optimizers.Optimizer | str | dict | None = None,
                c_optimizer: keras.optimizers.Optimizer | str | dict | None = None, *,
                jit_compile: bool | str = "auto", steps_per_execution: int = 1, run_eagerly: bool = False,
                **kwargs: Any) -> None:
        """Set the two optimizers (default Adam 5e-4, beta 0.5/0.9) and build their slots.

        ``jit_compile``: XLA. ``"auto"`` turns it on under JAX (its trainer always jits) and on a
        TensorFlow GPU; off on TensorFlow CPUs (Keras's own rule), under a ``tf.distribute`` strategy
        and with ``run_eagerly``. On 2 CPU cores XLA saves about a tenth of the time per update,
        but the default models' first update then takes ~50 s against ~9 s without it (tracing;
        benchmarks/profile_train_step.py --warmup-only, 2026-12-07), so short runs are done sooner.
        For long runs pass ``jit_compile=True``: :mod:`gan.compile_cache` keeps the compiled step,
        so the next process with the same models skips most of the compile.
        """
        self.g_optimizer = (keras.optimizers.get(g_optimizer) if g_optimizer is not None
                            else default_optimizer(DEFAULT_G_LR))
        self.c_optimizer = (keras.optimizers.get(c_optimizer) if c_optimizer is not None
                            else default_optimizer(DEFAULT_C_LR))
        if jit_compile == "auto" and keras.backend.backend() == "tensorflow" and not run_eagerly:
            import tensorflow as tf

            jit_compile = bool(tf.config.list_logical_devices("GPU")) and not tf.distribute.has_strategy()
        super().compile(optimizer=None, jit_compile=jit_compile, steps_per_execution=steps_per_execution,
                        run_eagerly=run_eagerly)
        # Build slots now, for the sub-models' variables only (and so BackupAndRestore can load them).
        self.g_optimizer.build(self.generator.trainable_variables)
        self.c_optimizer.build(self.critic.trainable_variables)
        keras_compat.clear_untracked(self, "_jax_layout")
        if keras.backend.backend() == "jax":  # its trainer carries model.optimizer's variables through fit
            keras_compat.set_jax_optimizers(self, self.g_optimizer, self.c_optimizer)

    def optimizers(self) -> tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
        """``(generator's, critic's)`` optimizer; an error before ``compile``."""
        if self.g_optimizer is None or self.c_optimizer is None:
            raise RuntimeError("call compile() before fit()")
        return self.g_optimizer, self.c_optimizer

    def hyperparameters(self) -> dict:
        return {"latent_dim": self.latent_dim, "n_critic": self.n_critic, "gp_weight": self.gp_weight,
                "classifier_weight": self.classifier_weight, "drift_weight": self.drift_weight,
                "loss": self.loss_kind, "seed": self.seed, "gp_input_scale": self.gp_input_scale,
                "stats_weight": self.stats_weight}

    # --- training ---------------------------------------------------------------------------------
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, *args: Any,
            **kwargs: Any) -> keras.callbacks.History:
        """``keras.Model.fit``, after checking that every batch splits into ``n_critic`` sub-batches
        (:func:`check_step_batch`); the train step checks again where only it knows the shape."""
        for rows in _batch_rows(x, batch_size):
            check_step_batch(rows, self.n_critic)
        return super().fit(x, y, batch_size, *args, **kwargs)

    def train_step(self, *args: Any) -> Any:
        """One generator update (after ``n_critic`` critic updates), in the running backend's idiom:
        ``train_step(data)`` with TensorFlow (:mod:`gan.train_step_tf`), ``train_step(state, data)``
        with JAX (:mod:`gan.train_step_jax`). Both use :mod:`gan.losses` for the math."""
        self.optimizers()  # compiled
        backend = keras.backend.backend()
        if backend == "jax":
            from gan import train_step_jax

            return train_step_jax.train_step(self, *args)
        if backend == "tensorflow":
            from gan import train_step_tf

            return train_step_tf.train_step(self, *args)
        raise NotImplementedError(f"ConditionalWGANGP trains with the tensorflow or jax backend, not {backend!r}")

    # --- generation and files -------------------------------------------------------------------
    def generate(self, labels_or_counts: Any, seed: int = 0, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """Generated windows (float32 mg, N x T x C) and their labels; see :func:`gan.sampling.generate_windows`."""
        return generate_windows(self.generator, labels_or_counts, seed=seed, batch_size=batch_size)

    def save_models(self, directory: str | os.PathLike) -> Path | None:
        """Write the GAN in hargan's one save format: ``generator.keras``, ``critic.keras`` and ``gan.json``
        (hyperparameters, class names, window, updates done) into ``directory``, each atomically.

        ``hargan run``, ``hargan train-gan`` and the notebooks all write it (:meth:`load_models` reads it;
        sampling and ``--init`` read its ``generator.keras``). The classifier is not part of it: it has
        its own file. In a multi-worker cluster (``TF_CONFIG``) only the chief writes; others return None.
        """
        from gan.distribute import is_chief
        from har_data.atomic import atomic_path, write_text

        if not is_chief():
            return None
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name, model in (("generator", self.generator), ("critic", self.critic)):
            with atomic_path(directory / f"{name}.keras") as tmp:
                model.save(tmp)
        meta = {**self.hyperparameters(), "class_names": self.class_names, "window_length": self.window_length,
                "channels": self.channels, "step": int(self.step_counter.numpy()),
                "has_classifier": self.classifier is not None}
        write_text(directory / GAN_CONFIG, json.dumps(meta, indent=2) + "\n")
        return directory

    @classmethod
    def load_models(cls, directory: str | os.PathLike, classifier: keras.Model | None = None,
                    **overrides: Any) -> ConditionalWGANGP:
        """Rebuild a GAN saved by :meth:`save_models` (uncompiled: call ``compile`` to keep training).

        ``classifier``: the feedback classifier to keep training with (a ``classifier.keras`` that an
        older hargan saved beside the GAN is loaded when none is given); ``overrides`` replace saved
        hyperparameters. A folder of an older ``hargan run`` (``generator.keras`` and ``critic.keras``
        without ``gan.json``) loads with the default hyperparameters.
        """
        from har_data.errors import InputError

        directory = Path(directory)
        meta_path = directory / GAN_CONFIG
        if meta_path.is_file():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        elif (directory / "generator.keras").is_file() and (directory / "critic.keras").is_file():
            meta = {}
        else:
            raise InputError(f"not a saved GAN directory (no {GAN_CONFIG}, generator.keras and critic.keras)",
                             directory)
        generator = load_keras_model(directory / "generator.keras", what="generator")
        critic = load_keras_model(directory / "critic.keras", what="critic")
        if classifier is None and meta.get("has_classifier") and (directory / "classifier.keras").is_file():
            classifier = load_classifier(directory / "classifier.keras")
        hyper = {k: meta[k] for k in ("n_critic", "gp_weight", "classifier_weight", "drift_weight", "loss", "seed",
                                      "gp_input_scale", "stats_weight")
                 if k in meta}
        hyper.update(overrides)
        gan = cls(generator, critic, classifier, **hyper)
        gan.step_counter.assign(int(meta.get("step", 0)))
        return gan
