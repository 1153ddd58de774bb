"""Generator and critic: small conditional 1D CNNs that take and give float mg windows.

Both models carry their own scaling (mg in, mg out), so callers never see normalised data. The
class names live in the config of :class:`LabelEmbedding`, so a loaded ``generator.keras`` still
knows which id is which class. Issue 21's custom layers are in :mod:`gan.layers`.

Generator (window T, seed length S = ceil(T / 4); the defaults, chosen in docs/benchmarks.md,
issue 21): ``z`` = a head of ``latent_dim`` numbers + ``step_noise`` (4) channels of noise per
time step (:class:`gan.layers.SplitLatent`: the generator stays a function of ``(z, label)``, so
seeds reproduce); trunk ``[z_head, label] -> Embedding -> concat -> Dense(S * w) -> (S, w) -> 2 x
[LinearUpsampling1D -> Conv1D(w, 5) -> LeakyReLU] -> Conv1D(channels, 5) -> crop to T`` = the
motion's *shape*, the step noise joined before the last convolution and, through a 1x1 mix scaled
per class, added to the shape uncoloured (a resting sensor's motion is white); plus ``harmonics`` (8)
harmonics of one fundamental per window (:class:`gan.layers.HarmonicOscillator`, start drawn from
``z``): a gait repeats, and its spectrum barely changes from window to window where coloured
noise's scatters. Dense heads (after a shared Dense(2w) + LeakyReLU) give the per-window mean (+ a
learned per-class offset: gravity), the log-amplitude (+ each class's quantile function of one latent
coordinate, :class:`gan.layers.ClassQuantiles`) and the harmonics' fundamental, amplitudes and phases (+
per-class tables); each class scales how much its per-window
heads vary (:class:`gan.layers.ClassSpread`: a walk's amplitude varies by ~4%, a car's by ~50%);
``window = full_scale * tanh(mean) + amplitude * unit_std(shape)`` (the mean companded instead for
windows without gravity), clipped at the full scale (:class:`gan.layers.ComposeWindow`): a few mg of
motion are as easy to make as a few g. ``train_gan`` starts the mean, log-amplitude and fundamental
tables at each class's real windows (:mod:`gan.real_start`).
Selectable: ``output="tanh"`` (the trunk's output + the per-class offset -> ``tanh * full_scale_mg``,
:class:`Scale`; with ``headroom`` it can clip: :class:`gan.layers.Saturate`), ``upsample="nearest"``
(repetition), ``step_noise=0``, ``harmonics=0``, ``class_spread=False``.

Critic (no BatchNorm: the gradient penalty is per sample): ``x -> [x / full_scale, unit-std motion
shape, log-amplitude]`` (:class:`gan.layers.AmplitudeViews`; ``views=False``: ``x / full_scale``
only) ``-> Conv1D(w, 5, stride 2) -> Conv1D(2w, 5, stride 2) [-> more
stride-2 Conv1D(2w) until <= 16 steps are left] -> Flatten``, joined with one small branch per
period p in ``periods`` (none by default; samples p apart side by side,
:class:`gan.layers.PeriodFold`, 2 Conv1D, mean-pooled) ``-> Dense(h) = phi -> Dense(1)(phi) +
<Embedding(label), phi>`` (projection discriminator, Miyato & Koyama 2018).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
from keras import layers, ops

from gan.layers import (AmplitudeViews, ClassQuantiles, ClassSpread, ComposeWindow, HarmonicOscillator,
                        LinearUpsampling1D, PeriodFold, PeriodPool, Saturate, SplitLatent)

MIN_WINDOW = 8


@keras.saving.register_keras_serializable(package="hargan")
class Scale(layers.Layer):
    """Multiply by a constant: ``x * factor`` (mg <-> units of the full scale)."""

    def __init__(self, factor: float, **kwargs):
        super().__init__(**kwargs)
        self.factor = float(factor)

    def call(self, x):
        return x * ops.cast(self.factor, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="hargan")
class LabelEmbedding(layers.Embedding):
    """An ``Embedding`` over class ids that also stores the class names (for ``generate``)."""

    def __init__(self, class_names: Sequence[str], output_dim: int, **kwargs):
        kwargs.pop("input_dim", None)
        super().__init__(input_dim=len(class_names), output_dim=int(output_dim), **kwargs)
        self.class_names = [str(c) for c in class_names]

    def get_config(self):
        config = super().get_config()
        config.pop("input_dim", None)
        return {**config, "class_names": list(self.class_names)}


@keras.saving.register_keras_serializable(package="hargan")
class DomainLabel(layers.Layer):
    """Class id -> one domain's label id of a domain-conditioned generator (:mod:`gan.domains`).

    It stores the class names, so a generator wrapped with it (``gan.domains.domain_generator``)
    is a plain class-conditioned generator to ``generate_windows`` and validated sampling.
    """

    def __init__(self, class_names: Sequence[str], label_ids: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.class_names = [str(c) for c in class_names]
        self.label_ids = [int(i) for i in label_ids]
        if len(self.label_ids) != len(self.class_names):
            raise ValueError(f"{len(self.label_ids)} label ids for {len(self.class_names)} classes")

    def call(self, ids):
        table = ops.convert_to_tensor(self.label_ids, dtype="int32")
        return ops.take(table, ops.cast(ids, "int32"), axis=0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "class_names": list(self.class_names), "label_ids": list(self.label_ids)}


@keras.saving.register_keras_serializable(package="hargan")
class CropTime(layers.Layer):
    """Keep the first ``length`` time steps (the generator's upsampled seed can be longer than T)."""

    def __init__(self, length: int, **kwargs):
        super().__init__(**kwargs)
        self.length = int(length)

    def call(self, x):
        return x[:, : self.length, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.length, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "length": self.length}


def _check(class_names: Sequence[str], window_length: int, channels: int) -> list[str]:
    names = [str(c) for c in class_names]
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValueError(f"need at least 2 distinct class names, got {names}")
    if int(window_length) < MIN_WINDOW:
        raise ValueError(f"window length must be >= {MIN_WINDOW}, got {window_length}")
    if int(channels) < 1:
        raise ValueError(f"channels must be >= 1, got {channels}")
    return names


OUTPUTS = ("factored", "tanh")
UPSAMPLES = ("nearest", "linear")
DEFAULT_PERIODS = (2, 3, 5, 7, 11)


def _trunk(h, seed_len: int, t: int, width: int, kernel_size: int, upsampling: int, channels: int, name: str,
           upsample: str = "nearest", step_noise=None, bias: bool = True):
    """Dense seed of ``seed_len`` steps -> ``upsampling`` x [UpSampling1D(2) -> Conv1D -> LeakyReLU] ->
    Conv1D(channels) -> crop to ``t``; ``step_noise`` (B, full length, k), if given, joins the features
    after the last upsampling. ``bias=False``: the last convolution has none (a shape whose mean is
    removed downstream would only carry a dead weight that Adam moves on rounding noise)."""
    h = layers.Dense(seed_len * width, name="seed_dense")(h)
    h = layers.LeakyReLU(0.2, name="seed_act")(h)
    h = layers.Reshape((seed_len, width), name="seed")(h)
    for i in range(int(upsampling)):
        h = (LinearUpsampling1D(name=f"up{i + 1}") if upsample == "linear" else
             layers.UpSampling1D(2, name=f"up{i + 1}"))(h)
        if step_noise is not None and i == int(upsampling) - 1:
            h = layers.Concatenate(name="with_step_noise")([h, step_noise])
        h = layers.Conv1D(width, kernel_size, padding="same", name=f"conv{i + 1}")(h)
        h = layers.LeakyReLU(0.2, name=f"act{i + 1}")(h)
    h = layers.Conv1D(int(channels), kernel_size, padding="same", use_bias=bias, name=name)(h)
    if seed_len * 2 ** int(upsampling) != t:
        h = CropTime(t, name="crop")(h)
    return h


def _check_generator_options(output: str, upsample: str, headroom: float, step_noise: int, white_noise: bool,
                             harmonics: int = 0) -> None:
    if output not in OUTPUTS:
        raise ValueError(f"unknown generator output {output!r}; valid: {', '.join(OUTPUTS)}")
    if upsample not in UPSAMPLES:
        raise ValueError(f"unknown generator upsampling {upsample!r}; valid: {', '.join(UPSAMPLES)}")
    if float(headroom) < 1.0 or (float(headroom) != 1.0 and output != "tanh"):
        raise ValueError(f"headroom must be >= 1 and only goes with output='tanh', got {headroom} ({output!r})")
    if int(step_noise) < 0:
        raise ValueError(f"step_noise must be >= 0, got {step_noise}")
    if white_noise and (output != "factored" or not step_noise):
        raise ValueError("white_noise needs output='factored' and step_noise > 0")
    if int(harmonics) < 0 or (int(harmonics) and output != "factored"):
        raise ValueError(f"harmonics must be >= 0 and only goes with output='factored', got {harmonics} ({output!r})")


def _white_path(noise, label, num_classes: int, channels: int, t: int):
    """The per-step noise mixed to ``channels`` by a 1x1 convolution and scaled per class (from 0): noise
    the trunk's convolutions do not colour, for a class whose motion is white (a resting sensor's)."""
    white = layers.Conv1D(channels, 1, use_bias=False, name="white_mix")(noise)
    if white.shape[1] != t:
        white = CropTime(t, name="white_crop")(white)
    gain = layers.Embedding(num_classes, channels, embeddings_initializer="zeros", name="class_white_gain")(label)
    return layers.Multiply(name="white")([white, layers.Reshape((1, channels), name="class_white_gain_t")(gain)])


HARMONICS = 8  # the default number of harmonics: a stride's eighth harmonic is ~9 Hz, about a run's last power
AMPLITUDE_KNOTS = 16  # knots of each class's amplitude quantile function (gan.layers.ClassQuantiles)
HARMONIC_START = 0.04  # cycles per sample where a class's fundamental starts without windows (gan.real_start): ~1 Hz


def _per_class_plus_head(head, label, num_classes: int, units: int, initializer, name: str, spread: bool,
                         table=None):
    """``units`` values per window: a per-class table (``initializer``; or ``table``, a tensor made per class)
    plus a dense head on the shared hidden layer (small at first), the head scaled per class when ``spread``
    (:class:`gan.layers.ClassSpread`)."""
    values = layers.Dense(units, kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
                          name=f"{name}_head")(head)
    if spread:
        log_spread = layers.Embedding(num_classes, 1, embeddings_initializer="zeros",
                                      name=f"class_{name}_spread")(label)
        values = ClassSpread(name=f"{name}_spread")([values, log_spread])
    if table is None:
        table = layers.Embedding(num_classes, units, embeddings_initializer=initializer, name=f"class_{name}")(label)
    return layers.Add(name=name)([values, table])


def _harmonic_path(head, z_head, label, num_classes: int, channels: int, t: int, harmonics: int, spread: bool):
    """A repeating motion (:class:`gan.layers.HarmonicOscillator`): the fundamental, the harmonics'
    amplitudes and phases per class (tables) plus a small per-window part (dense heads on the shared
    hidden layer); the start from ``z``."""
    k = int(harmonics) * int(channels)

    def per_class_plus_head(units, initializer, name):
        return _per_class_plus_head(head, label, num_classes, units, initializer, name, spread)

    start_logit = math.log(HARMONIC_START / (HarmonicOscillator.MAX_FREQUENCY - HARMONIC_START))
    frequency = per_class_plus_head(1, keras.initializers.Constant(start_logit), "harmonic_frequency")
    amplitudes = per_class_plus_head(k, keras.initializers.RandomNormal(stddev=0.5), "harmonic_amplitudes")
    offsets = per_class_plus_head(k, keras.initializers.RandomUniform(-math.pi, math.pi), "harmonic_phases")
    repeating = HarmonicOscillator(t, int(harmonics), int(channels), name="harmonics")(
        [frequency, z_head, amplitudes, offsets])
    # A per-class gain: a class whose motion repeats turns the harmonics up against the rest in a few
    # hundred updates.
    log_gain = layers.Embedding(num_classes, 1, embeddings_initializer="zeros", name="class_harmonic_gain")(label)
    return ClassSpread(name="harmonic_gain")([repeating, log_gain])


def build_generator(latent_dim: int, class_names: Sequence[str], window_length: int, channels: int = 3,
                    full_scale_g: float = 4.0, *, width: int = 32, embed_dim: int = 16,
                    kernel_size: int = 5, upsampling: int = 2, output: str = "factored",
                    log_gain: float = 4.0, upsample: str = "linear", step_noise: int = 4,
                    headroom: float = 1.0, white_noise: bool | None = None, harmonics: int | None = None,
                    class_spread: bool = True, mean_ref_mg: float | None = None) -> keras.Model:
    """Conditional generator: inputs ``z`` and ``label`` (B,) int -> (B, T, channels) mg.

    ``output="factored"`` (default): window = per-window mean (dense head + per-class offset) +
    amplitude (log scale: dense head + per-class table) x unit-std motion shape (the trunk), by
    :class:`gan.layers.ComposeWindow`: small motions (a stationary wrist's few mg) are as easy to make
    as large ones; ``log_gain`` scales the log-amplitude (its learning-rate multiplier). ``"tanh"``:
    the trunk's output + a per-class offset -> tanh x full scale; ``headroom`` > 1 (``"tanh"`` only):
    ``clip(headroom * tanh)``, so windows can sit at the full scale as a clipping sensor's do.
    ``upsampling`` 2x stages grow a dense seed of ``ceil(T / 2**upsampling)`` steps to T, by linear
    interpolation (``upsample="linear"``: the trunk starts smooth, as real arm swings are) or
    repetition (``"nearest"``). ``step_noise`` > 0: that many channels of noise at every
    full-resolution time step (texture a ``latent_dim``-sized head cannot carry), taken from ``z``,
    which is then ``latent_dim + step_noise * S * 2**upsampling`` wide (:func:`generator_latent_dim`
    reads it from the model). ``white_noise`` (default: on with ``"factored"`` and ``step_noise``):
    that noise also reaches the shape through a 1x1 mix scaled per class, uncoloured by the trunk.
    ``harmonics`` (default: ``HARMONICS`` with ``"factored"``, else 0): a repeating motion added to the
    shape (:func:`_harmonic_path`). ``class_spread`` (``"factored"``): each class scales its per-window
    heads' variation (log-amplitude, harmonics) by its own learned factor. ``mean_ref_mg`` (``"factored"``;
    ``None``: ``tanh`` x full scale): the per-window mean is companded, linear below it and exponential
    above (:class:`gan.layers.ComposeWindow`), for windows without gravity (``train_gan`` chooses it,
    :func:`gan.real_start.mean_reference`).
    """
    names = _check(class_names, window_length, channels)
    if white_noise is None:
        white_noise = output == "factored" and int(step_noise) > 0
    if harmonics is None:
        harmonics = HARMONICS if output == "factored" else 0
    _check_generator_options(output, upsample, headroom, step_noise, white_noise, harmonics)
    t, ch = int(window_length), int(channels)
    seed_len = math.ceil(t / 2 ** int(upsampling))
    full_scale_mg = 1000.0 * float(full_scale_g)

    full_len = seed_len * 2 ** int(upsampling)
    z = keras.Input(shape=(int(latent_dim) + full_len * int(step_noise),), name="z")
    label = keras.Input(shape=(), dtype="int32", name="label")
    emb = LabelEmbedding(names, embed_dim, name="label_embedding")(label)
    z_head, noise = z, None
    if step_noise:
        z_head, noise = SplitLatent(int(latent_dim), full_len, int(step_noise), name="split_latent")(z)
    h0 = layers.Concatenate(name="z_label")([z_head, emb])
    # A per-class offset (mean orientation / gravity) in units of the full scale, added before tanh.
    offset = layers.Embedding(len(names), ch, embeddings_initializer="zeros", name="class_offset")(label)
    if output == "tanh":
        h = _trunk(h0, seed_len, t, width, kernel_size, upsampling, ch, "to_signal", upsample, noise)
        h = layers.Add(name="add_offset")([h, layers.Reshape((1, ch), name="class_offset_t")(offset)])
        h = layers.Activation("tanh", name="tanh")(h)
        if headroom != 1.0:
            h = Saturate(float(headroom), name="saturate")(h)
        return keras.Model([z, label], Scale(full_scale_mg, name="to_mg")(h), name="generator")
    shape = _trunk(h0, seed_len, t, width, kernel_size, upsampling, ch, "to_shape", upsample, noise, bias=False)
    if noise is not None and white_noise:
        shape = layers.Add(name="shape_and_white")([shape, _white_path(noise, label, len(names), ch, t)])
    # A hidden layer before the heads: orientation and amplitude are multimodal per class (one mode
    # per wearer), which a head linear in z (a Gaussian per class) cannot make.
    head = layers.LeakyReLU(0.2, name="heads_act")(layers.Dense(2 * width, name="heads")(h0))
    if harmonics:
        shape = layers.Add(name="shape_and_harmonics")(
            [shape, _harmonic_path(head, z_head, label, len(names), ch, t, int(harmonics), class_spread)])
    small = keras.initializers.RandomNormal(stddev=0.01)
    mean = layers.Add(name="mean")([layers.Dense(ch, kernel_initializer=small, name="mean_head")(head), offset])
    # Each class draws its amplitude from its own quantile function (real windows' amplitudes are far from log-normal).
    quantiles = ClassQuantiles(len(names), AMPLITUDE_KNOTS, name="class_log_amplitude")([z_head, label])
    log_amp = _per_class_plus_head(head, label, len(names), 1, None, "log_amplitude", class_spread, quantiles)
    out = ComposeWindow(full_scale_mg, log_gain=log_gain, mean_ref_mg=mean_ref_mg, name="to_mg")([mean, log_amp, shape])
    return keras.Model([z, label], out, name="generator")


def _period_branch(v, period: int, width: int, kernel_size: int):
    """Samples ``period`` apart side by side (:class:`gan.layers.PeriodFold`) -> 2 Conv1D -> mean -> (B, width)."""
    h = PeriodFold(period, name=f"fold{period}")(v)
    k = min(int(kernel_size), max(2, h.shape[1]))
    h = layers.Conv1D(width, k, padding="same", name=f"p{period}_conv1")(h)
    h = layers.LeakyReLU(0.2, name=f"p{period}_act1")(h)
    h = layers.Conv1D(width, k, padding="same", name=f"p{period}_conv2")(h)
    h = layers.LeakyReLU(0.2, name=f"p{period}_act2")(h)
    return PeriodPool(period, name=f"pool{period}")(h)


def build_critic(class_names: Sequence[str], window_length: int, channels: int = 3, full_scale_g: float = 4.0,
                 *, width: int = 16, hidden: int = 32, kernel_size: int = 5, views: bool = True,
                 periods: Sequence[int] = (), period_width: int = 8) -> keras.Model:
    """Conditional critic: inputs ``x`` (B, T, channels) mg and ``label`` (B,) int -> (B, 1) score.

    ``views=True`` (default): it also sees each window's log-amplitude and unit-std motion shape
    (:class:`gan.layers.AmplitudeViews`), so a few mg of motion are visible, not only full-scale
    units. ``periods`` (e.g. ``DEFAULT_PERIODS``; none by default, docs/benchmarks.md: within the
    noise at up to 5x the CPU): a small branch per period (HiFi-GAN's idea: gait and pedalling are
    periodic), pooled features joined to the main ones. No BatchNorm (it would couple samples and
    break the per-sample gradient penalty).
    """
    names = _check(class_names, window_length, channels)
    full_scale_mg = 1000.0 * float(full_scale_g)
    x = keras.Input(shape=(int(window_length), int(channels)), name="x_mg")
    label = keras.Input(shape=(), dtype="int32", name="label")
    first = AmplitudeViews(full_scale_mg, name="from_mg") if views else Scale(1.0 / full_scale_mg, name="from_mg")
    h = v = first(x)
    # Stride-2 stages until at most 16 steps are left (2 for T <= 64, 3 for T <= 128).
    length, stage = int(window_length), 0
    while stage < 2 or length > 16:
        stage += 1
        length = math.ceil(length / 2)
        h = layers.Conv1D(width * min(stage, 2), kernel_size, strides=2, padding="same", name=f"conv{stage}")(h)
        h = layers.LeakyReLU(0.2, name=f"act{stage}")(h)
    h = layers.Flatten(name="flatten")(h)
    branches = [_period_branch(v, int(p), int(period_width), kernel_size) for p in periods]
    if branches:
        h = layers.Concatenate(name="with_periods")([h, *branches])
    phi = layers.Dense(hidden, name="features")(h)
    phi = layers.LeakyReLU(0.2, name="features_act")(phi)
    score = layers.Dense(1, name="score")(phi)
    emb = LabelEmbedding(names, hidden, name="label_embedding")(label)
    proj = layers.Dot(axes=1, name="projection")([emb, phi])
    out = layers.Add(name="critic_out")([score, proj])
    return keras.Model([x, label], out, name="critic")


def model_class_names(model: keras.Model) -> list[str]:
    """Class names stored in a generator's or critic's ``label_embedding`` layer (or a DomainLabel wrapper's)."""
    for layer in model.layers:
        if isinstance(layer, (LabelEmbedding, DomainLabel)):
            return list(layer.class_names)
    raise ValueError(f"model {model.name!r} has no LabelEmbedding layer holding class names")


def model_full_scale_g(model: keras.Model) -> float:
    """Full scale (g) of a generator (its ``to_mg`` Scale) or critic (its ``from_mg`` Scale)."""
    for layer in model.layers:
        if isinstance(layer, Scale):
            f = layer.factor
            return (f if f > 1 else 1.0 / f) / 1000.0
        if isinstance(layer, (ComposeWindow, AmplitudeViews)):
            return layer.full_scale_mg / 1000.0
    raise ValueError(f"model {model.name!r} has no Scale layer")


def generator_latent_dim(generator: keras.Model) -> int:
    return int(generator.inputs[0].shape[-1])


def generator_window(generator: keras.Model) -> tuple[int, int]:
    """(window_length, channels) of a generator's output."""
    shape = generator.outputs[0].shape
    return int(shape[1]), int(shape[2])
