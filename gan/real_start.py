"""Where a fresh generator starts: each class's own tables at what its real windows measure.

A GAN finds a class's size and rhythm by gradient steps from wherever the generator starts, and
some starts are traps. In the transfer config's run at seed 1 (docs/benchmarks.md, session 14) the
target's running started, as every class did, at 100 mg of motion, an eighth of its real ~830 mg;
after 1,000 updates it moved 376 mg, below walking's ~490 mg, the judge called the windows walking,
and the run ended with no running window accepted. Started at the real amplitude, the judge accepted them
from the first hundred updates. So before training, :func:`start_at_real` sets, for every class
with windows:

- the mean table (``class_offset``) at the mean of its real windows (gravity, in a one-domain run);
- the log-amplitude's quantile function (``class_log_amplitude``, :class:`gan.layers.ClassQuantiles`) at the
  quantiles of its real windows' motion std (:func:`real_amplitudes`): what
  :class:`gan.layers.ComposeWindow` scales the motion's shape to;
- the harmonics' fundamental (``class_harmonic_frequency``) at its real windows' repeat
  (:func:`real_fundamentals`);
- the shape's mix (:func:`start_mix_at`): the harmonics' amplitudes, phases and gain, and the white
  path's gain, at how much of its real motion repeats and how smooth the rest is (:func:`real_mixes`).

The per-window heads on top of these tables start near zero, so a fresh generator draws every class
near its real mean, amplitude and rhythm, and training shapes the rest. A generator without those
tables (``output="tanh"``, ``harmonics=0``) keeps its start. :func:`mean_reference` picks, from the
same windows, how the generator's mean is scaled (companded where they carry no gravity).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np

from gan.layers import AMPLITUDE_FLOOR_MG, MEAN_REF_MG, ComposeWindow, HarmonicOscillator
from gan.models import model_class_names


def _class_windows(x_mg, y, num_classes: int) -> list[np.ndarray]:
    x, y = np.asarray(x_mg, dtype=np.float64), np.asarray(y).reshape(-1)
    return [x[y == c] for c in range(int(num_classes))]


def real_amplitudes(x_mg, y, num_classes: int,
                    probabilities: Sequence[float] | np.ndarray = (0.5,)) -> list[np.ndarray | None]:
    """Per class: the ``probabilities`` quantiles (the median by default) over its real windows of the motion's
    std (mg; mean removed per axis, std over time and axes, as :class:`gan.layers.ComposeWindow` sizes a
    window), at least the amplitude floor; ``None`` for a class without windows."""
    out: list[np.ndarray | None] = []
    for windows in _class_windows(x_mg, y, num_classes):
        if len(windows) == 0:
            out.append(None)
            continue
        motion = windows - windows.mean(axis=1, keepdims=True)
        std = np.sqrt(np.mean(np.square(motion), axis=(1, 2)))
        out.append(np.maximum(np.quantile(std, np.asarray(probabilities, dtype=np.float64)), AMPLITUDE_FLOOR_MG))
    return out


def real_fundamentals(x_mg, y, num_classes: int) -> list[float | None]:
    """Per class: the fundamental (cycles per sample) of its real windows, ``1 / lag`` of the highest
    positive peak of their mean autocorrelation (motion, axes summed) between ``1 / MAX_FREQUENCY``
    samples and half the window; ``None`` for a class without windows or without such a peak (a motion
    that does not repeat within the window).

    Why the harmonics start there: the spectral statistics bin frequencies too coarsely (1.6 Hz at
    26 Hz) to pull a fundamental from 0.8 Hz to a stride's 1.2 Hz, and a fundamental at two-thirds of
    the real one puts its third harmonic near the step: a local optimum the measured runs stopped in."""
    shortest = max(2, math.ceil(1.0 / HarmonicOscillator.MAX_FREQUENCY))
    out: list[float | None] = []
    for windows in _class_windows(x_mg, y, num_classes):
        t = windows.shape[1]
        if len(windows) == 0 or t // 2 <= shortest:
            out.append(None)
            continue
        lags = np.arange(shortest - 1, t // 2 + 2)  # one lag either side, to tell a peak from a slope
        motion = windows - windows.mean(axis=1, keepdims=True)
        ac = np.array([np.sum(motion[:, lag:] * motion[:, :-lag]) / (t - lag) for lag in lags])
        peak = (ac[1:-1] > ac[:-2]) & (ac[1:-1] >= ac[2:]) & (ac[1:-1] > 0)
        out.append(1.0 / float(lags[1:-1][peak][np.argmax(ac[1:-1][peak])]) if peak.any() else None)
    return out


def real_means(x_mg, y, num_classes: int) -> list[np.ndarray | None]:
    """Per class: the mean of its real windows per axis (mg); ``None`` for a class without windows."""
    return [windows.mean(axis=(0, 1)) if len(windows) else None for windows in _class_windows(x_mg, y, num_classes)]


# The shape's mix: how much of a class's motion repeats, how much is white, and the rest.

MIX_FLOOR = 1e-3
"""The smallest share of a class's motion a path of the shape starts with: a path a class does not use starts
faint, not silent, so the training can still turn it up."""


def _harmonic_design(t: int, fundamental: float, harmonics: int) -> np.ndarray:
    """(T, 2K') cosines and sines of the harmonics of ``fundamental`` (cycles per sample) below the Nyquist
    frequency, as :class:`gan.layers.HarmonicOscillator` leaves out those at or above it."""
    k = np.arange(1, int(harmonics) + 1)
    k = k[k * fundamental < 0.5]
    angle = 2.0 * np.pi * fundamental * np.arange(t)[:, None] * k[None, :]
    return np.concatenate([np.cos(angle), np.sin(angle)], axis=1)


@dataclass(frozen=True)
class MotionMix:
    """How one class's real motion splits (:func:`real_mixes`): ``harmonic`` (C,), the repeating part's share
    of the motion's variance (averaged over axes) per axis; ``amplitudes`` and ``phases`` (K, C) of its
    harmonics relative to the fundamental's phase, in units of the motion's std (zero above the Nyquist
    frequency or without a fundamental); ``rest_lag1`` (C,), the lag-1 autocorrelation of the rest per axis
    (how smooth it is: a swinging arm's ~0.9, white noise's 0)."""
    harmonic: np.ndarray
    rest_lag1: np.ndarray
    amplitudes: np.ndarray
    phases: np.ndarray

    @property
    def rest(self) -> float:
        """The share of the motion that does not repeat (at least :data:`MIX_FLOOR`)."""
        return max(1.0 - float(np.mean(self.harmonic)), MIX_FLOOR)


def _lag1(x: np.ndarray) -> np.ndarray:
    """Per axis, the lag-1 autocorrelation of mean-free windows (..., N, T, C), pooled over the N windows."""
    lagged = np.sum(x[..., 1:, :] * x[..., :-1, :], axis=(-3, -2))
    return lagged / np.maximum(np.sum(x * x, axis=(-3, -2)), 1e-12)


def real_mixes(x_mg, y, num_classes: int, harmonics: int,
               fundamentals: Sequence[float | None] | None = None) -> list[MotionMix | None]:
    """Per class, how its real windows' motion splits (:class:`MotionMix`); ``None`` without windows.

    The repeating part is each window's least-squares fit by ``harmonics`` harmonics of the class's
    fundamental (``fundamentals``, by default :func:`real_fundamentals`; none without one); its amplitudes
    are their rms over windows, its phases those of their mean after each window is turned to start its
    fundamental at phase 0 on its strongest axis. What is left is described by its smoothness, its lag-1
    autocorrelation per axis."""
    t = np.asarray(x_mg).shape[1]
    out: list[MotionMix | None] = []
    if fundamentals is None:
        fundamentals = real_fundamentals(x_mg, y, num_classes)
    for windows, fundamental in zip(_class_windows(x_mg, y, num_classes), fundamentals):
        if len(windows) == 0:
            out.append(None)
            continue
        motion = windows - windows.mean(axis=1, keepdims=True)
        variance = max(float(np.mean(np.square(motion))), AMPLITUDE_FLOOR_MG ** 2)
        amplitudes, phases = np.zeros((int(harmonics), motion.shape[2])), np.zeros((int(harmonics), motion.shape[2]))
        fit, columns = np.zeros_like(motion), 0
        if fundamental is not None and harmonics:
            design = _harmonic_design(t, fundamental, harmonics)
            columns = design.shape[1]
            coef = np.einsum("st,ntc->nsc", np.linalg.pinv(design), motion)  # N x 2K' x C
            fit = np.einsum("ts,nsc->ntc", design, coef)
            kk = design.shape[1] // 2
            z = coef[:, :kk] - 1j * coef[:, kk:]  # a cos(w t) + b sin(w t) = Re((a - ib) e^{iwt})
            axis = int(np.argmax(np.mean(np.abs(z[:, 0]), axis=0)))
            start = np.angle(z[:, 0, axis])[:, None, None] * np.arange(1, kk + 1)[None, :, None]
            amplitudes[:kk] = np.sqrt(np.mean(np.abs(z) ** 2, axis=0) / variance)
            phases[:kk] = np.angle(np.mean(z * np.exp(-1j * start), axis=0))
        rest = motion - fit
        # p least-squares columns also fit p / T of white noise's variance, by chance: that part does not repeat.
        chance = columns / t
        by_chance = chance / (1 - chance) * np.mean(np.square(rest), axis=(0, 1))
        harmonic = np.maximum(np.mean(np.square(fit), axis=(0, 1)) - by_chance, 0) / variance
        out.append(MotionMix(harmonic, _lag1(rest), amplitudes, phases))
    return out


GRAVITY_FREE_MG = 250.0
"""Windows whose every class's real mean is within this of zero on every axis carry no gravity (they are in
the gravity filter's frame, :mod:`har_data.gravity`); with gravity, some axis of every class sits near 1 g."""


def mean_reference(x_mg, y, num_classes: int) -> float | None:
    """The generator's ``mean_ref_mg`` for these windows: :data:`gan.layers.MEAN_REF_MG` (a companded mean)
    where they carry no gravity, ``None`` (``tanh``) where they do.

    Without gravity a still sensor's mean sits within a mg of zero, which a ``tanh`` mean at the full
    scale misses by tens of mg (its random walk under Adam, :class:`gan.layers.ComposeWindow`); with
    gravity a wrist's orientation spreads over +-1 g on every axis, which a companded mean draws too
    often near zero (both measured: docs/benchmarks.md, issue 21, session 14)."""
    means = [m for m in real_means(x_mg, y, num_classes) if m is not None]
    return MEAN_REF_MG if means and max(float(np.max(np.abs(m))) for m in means) < GRAVITY_FREE_MG else None


def _layer(generator: keras.Model, name: str) -> keras.layers.Layer | None:
    try:
        return generator.get_layer(name)
    except ValueError:
        return None


def _set_table(generator: keras.Model, name: str, values: Sequence, to_weight: Callable[[float], float]) -> None:
    """Row ``c`` of the generator's per-class table ``name`` set to ``to_weight`` of each number of ``values[c]``
    (one number or one per column; ``None``: the row is kept)."""
    table = _layer(generator, name)
    if table is None:
        return
    weights = np.array(table.get_weights()[0])
    for c, v in enumerate(values):
        if v is not None:
            weights[c] = [to_weight(float(u)) for u in np.broadcast_to(v, weights[c].shape)]
    table.set_weights([weights.astype(np.float32)])


def start_harmonics_at(generator: keras.Model, fundamentals: Sequence[float | None]) -> None:
    """Set a fresh generator's per-class fundamentals (cycles per sample; ``None``: keep the start) in its
    ``class_harmonic_frequency`` table; a generator without harmonics is left as it is."""
    top = HarmonicOscillator.MAX_FREQUENCY

    def logit(f: float) -> float:
        inside = min(max(f, 0.05 * top), 0.95 * top)
        return math.log(inside / (top - inside))

    _set_table(generator, "class_harmonic_frequency", fundamentals, logit)


def _compose(generator: keras.Model) -> ComposeWindow | None:
    return next((layer for layer in generator.layers if isinstance(layer, ComposeWindow)), None)


def amplitude_probabilities(generator: keras.Model) -> np.ndarray:
    """The probabilities at which a generator's ``class_log_amplitude`` table holds each class's amplitude:
    ``(i + 1/2) / knots`` for its quantile function (:class:`gan.layers.ClassQuantiles`), the median for a
    table of one value per class (a generator saved before the quantiles)."""
    knots = int(generator.get_layer("class_log_amplitude").get_weights()[0].shape[1])
    return (np.arange(knots) + 0.5) / knots


def start_amplitudes_at(generator: keras.Model, amplitudes_mg: Sequence[np.ndarray | float | None]) -> None:
    """Set a fresh generator's per-class motion amplitudes (mg std, one per knot of its ``class_log_amplitude``
    table, at :func:`amplitude_probabilities`; ``None``: keep the start), through its
    :class:`gan.layers.ComposeWindow`'s reference and gain; a generator without them (``output="tanh"``) is
    left as it is."""
    compose = _compose(generator)
    if compose is not None:
        ref, gain = compose.reference_mg, compose.log_gain
        _set_table(generator, "class_log_amplitude", amplitudes_mg, lambda a: math.log(a / ref) / gain)


def start_means_at(generator: keras.Model, means_mg: Sequence[np.ndarray | None]) -> None:
    """Set a fresh generator's per-class mean per axis (mg; ``None``: keep the start) in its ``class_offset``
    table, through its :class:`gan.layers.ComposeWindow`; a ``tanh`` generator is left as it is."""
    compose = _compose(generator)
    if compose is not None:
        _set_table(generator, "class_offset", means_mg, compose.mean_for)


def _rest_paths(generator: keras.Model, join: keras.layers.Layer, num_classes: int,
                n: int = 128) -> tuple[np.ndarray, np.ndarray | None]:
    """A fresh generator's trunk (the first input of ``join``, the layer that adds the other paths to it) and
    its white path before the per-class gain (``white_mix``; ``None`` without one), mean over time removed,
    each (classes, n, T, C) over ``n`` draws of ``z`` per class (a fixed draw: the start is reproducible)."""
    mix = _layer(generator, "white_mix")
    probe = keras.Model(generator.inputs, [join.input[0], mix.output if mix is not None else join.input[0]])
    z = np.random.default_rng(0).standard_normal((n * num_classes, generator.inputs[0].shape[-1]))
    labels = np.repeat(np.arange(num_classes), n).astype(np.int32)
    trunk, white = (np.asarray(p, dtype=np.float64) for p in probe.predict([z.astype(np.float32), labels], verbose=0))
    trunk, white = ((p - p.mean(axis=1, keepdims=True)).reshape(num_classes, n, *p.shape[1:]) for p in (trunk, white))
    return trunk, white if mix is not None else None


def _white_gains(trunk: np.ndarray, white: np.ndarray, lag1: np.ndarray) -> np.ndarray:
    """Per axis, the gain ``g >= 0`` at which ``trunk + g * white`` (n, T, C) has a lag-1 autocorrelation nearest
    ``lag1`` (C,). Both come from the same step noise, so they are correlated: the gain is searched, not solved.
    The white part stays below ~10x the trunk's variance, so the trunk, which training shapes, is still seen."""
    scale = np.sqrt(np.mean(np.square(trunk), axis=(0, 1)) / np.maximum(np.mean(np.square(white), axis=(0, 1)), 1e-12))
    grid = np.concatenate([[0.0], np.logspace(-2, 0.5, 101)])[:, None] * scale  # gains x C
    lag = _lag1(trunk[None] + grid[:, None, None, :] * white[None])  # gains x C
    return grid[np.argmin(np.abs(lag - lag1), axis=0), np.arange(grid.shape[1])]


def start_mix_at(generator: keras.Model, mixes: Sequence[MotionMix | None]) -> None:
    """Set a fresh generator's shape to start each class at its real motion's mix (:func:`real_mixes`; ``None``:
    the class keeps its start): the white path's per-class gain so that the rest (the trunk as it starts, plus
    white noise) is as smooth as the real rest on each axis (its lag-1 autocorrelation); the harmonics'
    amplitude and phase tables at the real ones, and their per-class gain so that they carry the real
    repeating share of the motion beside the rest (at least :data:`MIX_FLOOR`). A generator without those
    paths is left as it is.

    Why: every path starts at an arbitrary size (the harmonics' amplitudes random, the white path off), so
    a gait's harmonics start at random strengths against the rest, and the gate reads the spectrum."""
    join = _layer(generator, "shape_and_white") or _layer(generator, "shape_and_harmonics")
    if join is None:
        return
    trunk, white = _rest_paths(generator, join, len(mixes))
    rest = list(trunk)
    if white is not None:
        gains = [None if m is None else _white_gains(trunk[c], white[c], m.rest_lag1) for c, m in enumerate(mixes)]
        _set_table(generator, "class_white_gain", gains, float)
        rest = [r if g is None else r + g * w for r, w, g in zip(trunk, white, gains)]
    # The unit: the shape's variance that stands for the class's whole motion, the rest keeping its share.
    unit = [None if m is None else math.sqrt(float(np.mean(np.square(r))) / m.rest) for m, r in zip(mixes, rest)]
    harmonic_gain = _layer(generator, "harmonic_gain")
    if harmonic_gain is None:
        return
    _set_table(generator, "class_harmonic_amplitudes",
               [None if m is None or m.harmonic.sum() == 0 else m.amplitudes.ravel() for m in mixes], float)
    _set_table(generator, "class_harmonic_phases",
               [None if m is None or m.harmonic.sum() == 0 else m.phases.ravel() for m in mixes], float)
    oscillator = generator.get_layer("harmonics")
    frequency = generator.get_layer("class_harmonic_frequency").get_weights()[0][:, 0]
    amplitudes = generator.get_layer("class_harmonic_amplitudes").get_weights()[0]
    k = np.arange(1, oscillator.harmonics + 1)
    log_gains: list[float | None] = []
    for c, (m, u) in enumerate(zip(mixes, unit)):
        if m is None or u is None:
            log_gains.append(None)
            continue
        below = k * oscillator.max_frequency / (1.0 + math.exp(-frequency[c])) < 0.5
        a = amplitudes[c].reshape(oscillator.harmonics, oscillator.channels)[below]
        variance = max(float(np.sum(np.square(a)) / 2 / oscillator.channels), 1e-12)
        share = max(float(np.mean(m.harmonic)), MIX_FLOOR)
        log_gains.append(math.log(u * math.sqrt(share / variance)) / harmonic_gain.multiplier)
    _set_table(generator, "class_harmonic_gain", log_gains, float)


def start_at_real(generator: keras.Model, x_mg, y) -> None:
    """Start a fresh generator's per-class tables at its classes' real windows ``x_mg`` (mg) with class ids
    ``y`` (module docstring): means (:func:`real_means`), amplitudes (:func:`real_amplitudes`),
    fundamentals (:func:`real_fundamentals`) and the shape's mix (:func:`real_mixes`)."""
    n = len(model_class_names(generator))
    start_means_at(generator, real_means(x_mg, y, n))
    if _compose(generator) is not None:
        start_amplitudes_at(generator, real_amplitudes(x_mg, y, n, amplitude_probabilities(generator)))
    fundamentals = real_fundamentals(x_mg, y, n)
    start_harmonics_at(generator, fundamentals)
    oscillator = _layer(generator, "harmonics")
    start_mix_at(generator, real_mixes(x_mg, y, n, oscillator.harmonics if oscillator is not None else 0, fundamentals))
