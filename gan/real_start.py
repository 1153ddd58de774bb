"""Where a fresh generator starts: each class's own tables at what its real windows measure.

A GAN finds a class's size and rhythm by gradient steps from wherever the generator starts, and
some starts are traps. In the transfer config's run at seed 1 (docs/benchmarks.md, session 14) the
target's running started, as every class did, at 100 mg of motion, an eighth of its real ~830 mg;
after 1,000 updates it moved 376 mg, below walking's ~490 mg, the judge called the windows walking,
and the run ended with no running window accepted. Started at the real amplitude, the judge accepted them
from the first hundred updates. So before training, :func:`start_at_real` sets, for every class
with windows:

- the mean table (``class_offset``) at the mean of its real windows (gravity, in a one-domain run);
- the log-amplitude table (``class_log_amplitude``) at the median motion std of its real windows
  (:func:`real_amplitudes`): what :class:`gan.layers.ComposeWindow` scales the motion's shape to;
- the harmonics' fundamental (``class_harmonic_frequency``) at its real windows' repeat
  (:func:`real_fundamentals`).

The per-window heads on top of these tables start near zero, so a fresh generator draws every class
near its real mean, amplitude and rhythm, and training shapes the rest. A generator without those
tables (``output="tanh"``, ``harmonics=0``) keeps its start. :func:`mean_reference` picks, from the
same windows, how the generator's mean is scaled (companded where they carry no gravity).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import keras
import numpy as np

from gan.layers import AMPLITUDE_FLOOR_MG, MEAN_REF_MG, ComposeWindow, HarmonicOscillator
from gan.models import model_class_names


def _class_windows(x_mg, y, num_classes: int) -> list[np.ndarray]:
    x, y = np.asarray(x_mg, dtype=np.float64), np.asarray(y).reshape(-1)
    return [x[y == c] for c in range(int(num_classes))]


def real_amplitudes(x_mg, y, num_classes: int) -> list[float | None]:
    """Per class: the median over its real windows of the motion's std (mg; mean removed per axis, std
    over time and axes, as :class:`gan.layers.ComposeWindow` sizes a window), at least the amplitude
    floor; ``None`` for a class without windows."""
    out: list[float | None] = []
    for windows in _class_windows(x_mg, y, num_classes):
        if len(windows) == 0:
            out.append(None)
            continue
        motion = windows - windows.mean(axis=1, keepdims=True)
        std = np.sqrt(np.mean(np.square(motion), axis=(1, 2)))
        out.append(max(float(np.median(std)), AMPLITUDE_FLOOR_MG))
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


def _set_table(generator: keras.Model, name: str, values: Sequence, to_weight: Callable[[float], float]) -> None:
    """Row ``c`` of the generator's per-class table ``name`` set to ``to_weight`` of each number of ``values[c]``
    (one number or one per column; ``None``: the row is kept)."""
    try:
        table = generator.get_layer(name)
    except ValueError:
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


def start_amplitudes_at(generator: keras.Model, amplitudes_mg: Sequence[float | None]) -> None:
    """Set a fresh generator's per-class motion amplitudes (mg std; ``None``: keep the start) in its
    ``class_log_amplitude`` table, through its :class:`gan.layers.ComposeWindow`'s reference and gain;
    a generator without them (``output="tanh"``) is left as it is."""
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


def start_at_real(generator: keras.Model, x_mg, y) -> None:
    """Start a fresh generator's per-class tables at its classes' real windows ``x_mg`` (mg) with class ids
    ``y`` (module docstring): means (:func:`real_means`), amplitudes (:func:`real_amplitudes`) and
    fundamentals (:func:`real_fundamentals`)."""
    n = len(model_class_names(generator))
    start_means_at(generator, real_means(x_mg, y, n))
    start_amplitudes_at(generator, real_amplitudes(x_mg, y, n))
    start_harmonics_at(generator, real_fundamentals(x_mg, y, n))
