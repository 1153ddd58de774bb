"""Custom layers of the factored generator output and of the critic's views (:mod:`gan.models`).

Why: a stationary wrist moves by a few mg, ~0.001 of the +-4 g full scale. A generator ending in
``tanh * full_scale`` cannot resolve that (its noise floor is tens of mg), and a critic that only
sees full-scale units cannot tell 4 mg from 1 mg. So the generator composes each window from a
per-window mean (orientation), a log-scale amplitude and a unit-std motion shape
(:class:`ComposeWindow`), and the critic sees, besides the window, its log-amplitude and unit-std
shape (:class:`AmplitudeViews`); :class:`PeriodFold` / :class:`PeriodPool` give the critic a
multi-period branch (samples ``p`` apart side by side, as in HiFi-GAN's period discriminator).
All are registered serializables with ``get_config``, saved in ``.keras`` files as usual.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

AMPLITUDE_FLOOR_MG = 0.5  # added in quadrature to every std: log-amplitudes stay finite on a flat window
LOG_AMPLITUDE_REF_MG = 100.0  # log-amplitude 0 = 100 mg of motion (std)
MEAN_REF_MG = 10.0  # a companded mean is linear below this and exponential above: a few mg and 1 g both count


def _scaled_exp(log_value, multiplier: float):
    """``exp(multiplier * log_value)``, the exponent clipped to [-12, 6]: a log-scale factor whose
    ``multiplier`` is its learning-rate multiplier (Adam moves a parameter by about its learning rate)."""
    return ops.exp(ops.clip(multiplier * log_value, -12.0, 6.0))


def _motion_std(x, axes=(1, 2)):
    """Mean-removed window and its std over ``axes`` (with the floor), keepdims."""
    motion = x - ops.mean(x, axis=1, keepdims=True)
    var = ops.mean(ops.square(motion), axis=axes, keepdims=True)
    return motion, ops.sqrt(var + AMPLITUDE_FLOOR_MG ** 2)


@keras.saving.register_keras_serializable(package="hargan")
class ComposeWindow(layers.Layer):
    """``[mean (B, C), log_amplitude (B, 1), shape (B, T, C)] -> (B, T, C)`` mg windows.

    ``window = offset(mean) + ref * exp(log_amplitude) * unit_std(shape)``, clipped to the full scale
    (the sensor saturates there). ``unit_std`` removes the shape's mean and divides by its std over
    time and axes, so the amplitude alone sets the motion's size: a log-amplitude of ``log(4 / 100)``
    gives a 4 mg window however small that is against the full scale. ``log_gain`` multiplies the
    log-amplitude first: a learning-rate multiplier for it (Adam moves a parameter by about its
    learning rate per update, 1.5 nats in 3,000 updates at 5e-4).

    ``offset`` is ``full_scale * tanh(mean)``, or with ``mean_ref_mg`` companded (as mu-law audio is),
    ``mean_ref * sinh(log_gain * mean)`` up to the full scale: linear near zero, exponential beyond
    ``mean_ref``. The same Adam step is 2 mg of a ``tanh`` offset at +-4 g, so a still sensor's mean
    in the gravity filter's frame (0 within 1 mg) drifted by 10-14 mg in a measured training;
    companded, a step moves it by 0.02 mg near zero and by the same ~2 mg near 1 g.
    """

    def __init__(self, full_scale_mg: float, reference_mg: float = LOG_AMPLITUDE_REF_MG, log_gain: float = 1.0,
                 mean_ref_mg: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.full_scale_mg = float(full_scale_mg)
        self.reference_mg = float(reference_mg)
        self.log_gain = float(log_gain)
        self.mean_ref_mg = None if mean_ref_mg is None else float(mean_ref_mg)

    def offset(self, mean):
        """The per-window mean in mg (class docstring)."""
        if self.mean_ref_mg is None:
            return self.full_scale_mg * ops.tanh(mean)
        top = math.asinh(self.full_scale_mg / self.mean_ref_mg)
        return self.mean_ref_mg * ops.sinh(ops.clip(self.log_gain * mean, -top, top))

    def mean_for(self, offset_mg: float) -> float:
        """The ``mean`` input that :meth:`offset` maps to ``offset_mg`` (within the full scale)."""
        inside = min(max(float(offset_mg), -0.99 * self.full_scale_mg), 0.99 * self.full_scale_mg)
        if self.mean_ref_mg is None:
            return math.atanh(inside / self.full_scale_mg)
        return math.asinh(inside / self.mean_ref_mg) / self.log_gain

    def call(self, inputs):
        mean, log_amplitude, shape = inputs
        motion = shape - ops.mean(shape, axis=1, keepdims=True)
        unit = motion / ops.sqrt(ops.mean(ops.square(motion), axis=(1, 2), keepdims=True) + 1e-6)
        amplitude = self.reference_mg * _scaled_exp(log_amplitude, self.log_gain)
        offset = self.offset(mean)
        window = offset[:, None, :] + amplitude[:, :, None] * unit
        return ops.clip(window, -self.full_scale_mg, self.full_scale_mg)

    def compute_output_shape(self, input_shapes):
        return input_shapes[2]

    def get_config(self):
        return {**super().get_config(), "full_scale_mg": self.full_scale_mg, "reference_mg": self.reference_mg,
                "log_gain": self.log_gain, "mean_ref_mg": self.mean_ref_mg}


@keras.saving.register_keras_serializable(package="hargan")
class AmplitudeViews(layers.Layer):
    """``(B, T, C)`` mg -> ``(B, T, 2C + 1)``: the window in full-scale units, its unit-std motion
    shape and its log-amplitude (``log(std / ref)`` over time and axes, the same at every step).

    The critic then sees a stationary window's few mg as clearly as a running one's g.
    """

    def __init__(self, full_scale_mg: float, reference_mg: float = LOG_AMPLITUDE_REF_MG, **kwargs):
        super().__init__(**kwargs)
        self.full_scale_mg = float(full_scale_mg)
        self.reference_mg = float(reference_mg)

    def call(self, x):
        motion, std = _motion_std(x)
        log_amp = ops.log(std / self.reference_mg) * ops.ones_like(x[:, :, :1])
        return ops.concatenate([x / self.full_scale_mg, motion / std, log_amp], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], 2 * input_shape[2] + 1)

    def get_config(self):
        return {**super().get_config(), "full_scale_mg": self.full_scale_mg, "reference_mg": self.reference_mg}


@keras.saving.register_keras_serializable(package="hargan")
class PeriodFold(layers.Layer):
    """``(B, T, K) -> (B * p, ceil(T / p), K)``: every ``p``-th sample of each of the ``p`` phases, as
    its own sequence (zero-padded at the end), so a Conv1D compares samples one period apart."""

    def __init__(self, period: int, **kwargs):
        super().__init__(**kwargs)
        self.period = int(period)

    def call(self, x):
        t, k, p = x.shape[1], x.shape[2], self.period
        n = math.ceil(t / p)
        if n * p != t:
            x = ops.pad(x, [[0, 0], [0, n * p - t], [0, 0]])
        x = ops.reshape(x, (-1, n, p, k))
        return ops.reshape(ops.transpose(x, (0, 2, 1, 3)), (-1, n, k))

    def compute_output_shape(self, input_shape):
        n = math.ceil(input_shape[1] / self.period)
        batch = None if input_shape[0] is None else input_shape[0] * self.period
        return (batch, n, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "period": self.period}


@keras.saving.register_keras_serializable(package="hargan")
class PeriodPool(layers.Layer):
    """``(B * p, n, F) -> (B, F)``: the mean over time steps and phases of a :class:`PeriodFold` branch."""

    def __init__(self, period: int, **kwargs):
        super().__init__(**kwargs)
        self.period = int(period)

    def call(self, h):
        h = ops.mean(h, axis=1)
        return ops.mean(ops.reshape(h, (-1, self.period, h.shape[-1])), axis=1)

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] // self.period
        return (batch, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "period": self.period}


@keras.saving.register_keras_serializable(package="hargan")
class LinearUpsampling1D(layers.Layer):
    """``(B, T, C) -> (B, 2T, C)`` by linear interpolation (half-sample centres, edges held).

    Nearest-neighbour upsampling followed by the binomial kernel ``[1, 2, 1] / 4``: each new sample is
    ``3/4`` of its own old sample plus ``1/4`` of the nearer neighbour. Unlike plain repetition it adds
    no staircase, whose steps a generator must otherwise learn to smooth away (real arm swings are
    smooth: their spectra fall steeply towards the Nyquist frequency)."""

    def call(self, x):
        prev = ops.concatenate([x[:, :1], x[:, :-1]], axis=1)
        nxt = ops.concatenate([x[:, 1:], x[:, -1:]], axis=1)
        even, odd = 0.75 * x + 0.25 * prev, 0.75 * x + 0.25 * nxt
        return ops.reshape(ops.stack([even, odd], axis=2), (-1, 2 * x.shape[1], x.shape[2]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * input_shape[1], input_shape[2])


@keras.saving.register_keras_serializable(package="hargan")
class Saturate(layers.Layer):
    """``clip(headroom * x, -1, 1)`` on a ``tanh`` output in units of the full scale: the generator can
    reach the full scale and sit there, as a sensor does when a swing exceeds its range."""

    def __init__(self, headroom: float, **kwargs):
        super().__init__(**kwargs)
        self.headroom = float(headroom)

    def call(self, x):
        return ops.clip(x * self.headroom, -1.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "headroom": self.headroom}


@keras.saving.register_keras_serializable(package="hargan")
class SplitLatent(layers.Layer):
    """``z (B, head + steps * channels) -> [z[:, :head], noise (B, steps, channels)]``: the latent vector's
    head feeds the dense seed; its tail is fresh noise at every time step of the full-resolution features.

    Carrying the per-step noise in ``z`` keeps a generator a pure function of ``(z, label)``: the train
    steps and ``generate_windows`` draw ``z`` as before, and the same seed gives the same windows."""

    def __init__(self, head: int, steps: int, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.head, self.steps, self.channels = int(head), int(steps), int(channels)

    def call(self, z):
        return [z[:, : self.head], ops.reshape(z[:, self.head:], (-1, self.steps, self.channels))]

    def compute_output_shape(self, input_shape):
        return [(input_shape[0], self.head), (input_shape[0], self.steps, self.channels)]

    def get_config(self):
        return {**super().get_config(), "head": self.head, "steps": self.steps, "channels": self.channels}


@keras.saving.register_keras_serializable(package="hargan")
class HarmonicOscillator(layers.Layer):
    """``[frequency_logit (B, 1), z (B, L), amplitudes (B, K*C), offsets (B, K*C)] -> (B, T, C)``: a sum of
    ``K`` harmonics of one fundamental per window, ``sum_k a[k, c] cos(k (2 pi f t + phi) + theta[k, c])``.

    A gait or a pedal stroke repeats: its spectrum is a few sharp peaks that barely change from one
    window to the next (the log power of real walking windows varies by ~0.06 nats per bin), while a
    generator that colours noise draws a spectrum that scatters like any noise's (~0.25 nats at these
    window lengths), which the realism gate sees at once. Harmonics of a fundamental make a repeating
    shape with a random start, as the harmonic oscillators of DDSP (Engel et al. 2020) make voiced
    speech. The fundamental ``f = max_frequency * sigmoid(frequency_logit)`` is in cycles per sample;
    a harmonic at or above the Nyquist frequency is left out; the start ``phi = pi * erf(z[:, 0] / sqrt(2))``
    is uniform in (-pi, pi) for a standard-normal ``z[:, 0]``, so the window stays a function of ``z``.
    """

    MAX_FREQUENCY = 0.25  # cycles per sample: 6.5 Hz at 26 Hz, above a sprint's cadence

    def __init__(self, length: int, harmonics: int, channels: int, max_frequency: float = MAX_FREQUENCY, **kwargs):
        super().__init__(**kwargs)
        self.length, self.harmonics, self.channels = int(length), int(harmonics), int(channels)
        self.max_frequency = float(max_frequency)

    def call(self, inputs):
        frequency_logit, z, amplitudes, offsets = inputs
        f = self.max_frequency * ops.sigmoid(frequency_logit)[:, :, None]  # B x 1 x 1, cycles per sample
        start = math.pi * ops.erf(z[:, :1, None] / math.sqrt(2.0))  # B x 1 x 1
        k = ops.cast(ops.arange(1, self.harmonics + 1), f.dtype)[None, :, None]  # 1 x K x 1
        t = ops.cast(ops.arange(self.length), f.dtype)[None, None, :]  # 1 x 1 x T
        cycle = k * (2.0 * math.pi * f * t + start)  # B x K x T
        below_nyquist = ops.cast(k * f < 0.5, f.dtype)  # B x K x 1
        a = ops.reshape(amplitudes, (-1, self.harmonics, self.channels)) * below_nyquist
        theta = ops.reshape(offsets, (-1, self.harmonics, self.channels))
        # sum_k a cos(cycle + theta) = sum_k (a cos theta) cos(cycle) - (a sin theta) sin(cycle)
        return (ops.einsum("bkt,bkc->btc", ops.cos(cycle), a * ops.cos(theta))
                - ops.einsum("bkt,bkc->btc", ops.sin(cycle), a * ops.sin(theta)))

    def compute_output_shape(self, input_shapes):
        return (input_shapes[0][0], self.length, self.channels)

    def get_config(self):
        return {**super().get_config(), "length": self.length, "harmonics": self.harmonics,
                "channels": self.channels, "max_frequency": self.max_frequency}


@keras.saving.register_keras_serializable(package="hargan")
class ClassSpread(layers.Layer):
    """``[values (B, ...), log_spread (B, 1)] -> values * exp(multiplier * log_spread)``: a per-window head's
    spread (or a path's gain), set per class.

    A walk's amplitude varies by ~4% from one real window to the next, a car's by ~50%; a head shared
    by every class spreads them alike unless each class can scale its own. ``multiplier`` is the
    log spread's learning-rate multiplier, as :class:`ComposeWindow`'s ``log_gain``.
    """

    def __init__(self, multiplier: float = 4.0, **kwargs):
        super().__init__(**kwargs)
        self.multiplier = float(multiplier)

    def call(self, inputs):
        values, log_spread = inputs
        factor = _scaled_exp(log_spread, self.multiplier)
        return values * ops.reshape(factor, (-1,) + (1,) * (len(values.shape) - 1))

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "multiplier": self.multiplier}


@keras.saving.register_keras_serializable(package="hargan")
class ClassQuantiles(layers.Layer):
    """``[z (B, L), label (B,)] -> (B, 1)``: per class, a value drawn from a learned distribution, the class's
    quantile function at ``Phi(z[:, -1])`` (uniform in (0, 1) for a standard-normal coordinate).

    The quantile function is ``knots`` trainable values per class at the probabilities ``(i + 1/2) / knots``,
    linear between them and flat beyond the outer two. Why: a class's window amplitudes are far from
    log-normal. A PAMAP2 wrist at rest moves 4.7 mg at the 10th percentile, 8.5 mg at the median and
    143 mg at the 90th (it shifts and fidgets); a per-class value plus a Gaussian spread cannot draw that,
    and a measured training drew 5 / 13 / 53 mg. Knots started at the real quantiles
    (:mod:`gan.real_start`) draw the real distribution from the first update.
    """

    def __init__(self, num_classes: int, knots: int = 16, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.knots = int(num_classes), int(knots)
        if self.knots < 2:
            raise ValueError(f"knots must be >= 2, got {knots}")

    def build(self, input_shapes):
        self.quantiles = self.add_weight(shape=(self.num_classes, self.knots), initializer="zeros", name="quantiles")

    def call(self, inputs):
        z, label = inputs
        u = 0.5 * (1.0 + ops.erf(z[:, -1] / math.sqrt(2.0)))
        position = ops.clip(u * self.knots - 0.5, 0.0, self.knots - 1.0)
        low = ops.minimum(ops.floor(position), self.knots - 2.0)
        row = ops.take(self.quantiles, ops.cast(label, "int32"), axis=0)  # B x knots
        index = ops.cast(low, "int32")[:, None]
        v0 = ops.take_along_axis(row, index, axis=1)
        v1 = ops.take_along_axis(row, index + 1, axis=1)
        return v0 + (position - low)[:, None] * (v1 - v0)

    def compute_output_shape(self, input_shapes):
        return (input_shapes[0][0], 1)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "knots": self.knots}
