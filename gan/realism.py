"""Realism gate: does a generated window look like the real windows of its class?

Int8 acceptance says a window is recognisable as its class, not that it looks real: a
generator can please the classifier with windows no sensor would record. The gate adds
per-class tests calibrated on real windows of that class, so "looks real" means "as close to
real windows of its class as a new real window is":

- **spectrum** (always): the window's rotation-invariant spectra (Welch power of the 3-axis
  vector and of the norm, log scale) and its mean norm (gravity), in units of the class's
  spread; its distance is the mean distance to its ``k`` nearest real windows of the class. It
  passes when that distance is within the ``spectrum_quantile`` quantile of the real windows'
  own distances, each measured against the other real windows (5 folds, so the band is what an
  unseen real window gets). Nearest neighbours rather than a class mean, because a class holds
  several real styles (arm swinging or not, phone up or down); rotation-invariant, because a
  phone in a pocket has any orientation. A copy of a real window passes: this is a realism
  test, not a novelty test.
- **critic** (optional): the WGAN critic's score within the ``critic_quantiles`` band of the real
  windows' scores for the same class. Measured (benchmarks/bench_realism.py) it is the weaker
  test: a trained critic scores real windows of held-out logs outside its training band.

Windows are in mg, in the sensor's format (what validated sampling keeps).
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy import signal
from scipy.spatial import cKDTree

from har_data.errors import InputError

if TYPE_CHECKING:
    import keras

_EPS = 1e-3  # mg^2 per bin: floor of the log power spectra (below one LSB of noise)
_STD_FLOOR = 0.05  # in feature units: a feature that never varies in the real windows still tolerates this much
_NEIGHBOURS = 5
_FOLDS = 5


def spectrum_features(x_mg: np.ndarray) -> np.ndarray:
    """Per window: log10 Welch power of the 3-axis vector and of the norm (mean removed), and mean norm / 1 g."""
    x = np.asarray(x_mg, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != 3:
        raise InputError(f"windows must be N x T x 3 (mg), got shape {x.shape}")
    nperseg = min(x.shape[1], 16)
    _, p_axes = signal.welch(x, nperseg=nperseg, axis=1, detrend="constant")  # N x F x 3
    norm = np.linalg.norm(x, axis=2)
    _, p_norm = signal.welch(norm, nperseg=nperseg, axis=1, detrend="constant")  # N x F
    return np.concatenate([np.log10(_EPS + p_axes.sum(axis=2)), np.log10(_EPS + p_norm),
                           norm.mean(axis=1, keepdims=True) / 1000.0], axis=1)


class _ClassBand:
    """The real windows of one class in feature space, and the largest distance a real window gets."""

    def __init__(self, f: np.ndarray, quantile: float):
        self.scale = np.maximum(f.std(axis=0), _STD_FLOOR)
        self.k = max(1, min(_NEIGHBOURS, len(f) - len(f) // _FOLDS - 1))
        self.tree = cKDTree(f / self.scale)
        self.limit = float(np.quantile(self._held_out_distances(f), quantile))

    def distance(self, f: np.ndarray, tree: cKDTree | None = None) -> np.ndarray:
        dist, _ = (tree or self.tree).query(f / self.scale, self.k)
        return dist.reshape(len(f), -1).mean(axis=1)

    def _held_out_distances(self, f: np.ndarray) -> np.ndarray:
        n = len(f)
        folds = min(_FOLDS, n)
        fold = np.arange(n) % folds
        d = np.empty(n)
        for i in range(folds):
            d[fold == i] = self.distance(f[fold == i], cKDTree(f[fold != i] / self.scale))
        return d


@dataclass
class RealismGate:
    """Per-class bands fitted on real windows; :meth:`passes` says which windows look real."""

    class_names: list[str]
    bands: list[_ClassBand]
    critic: object = None  # a Keras critic taking [x_mg, label], or None
    critic_band: np.ndarray | None = None  # C x 2: [low, high] critic score

    @classmethod
    def fit(cls, x_mg: np.ndarray, y: np.ndarray, class_names: Sequence[str], *, spectrum_quantile: float,
            critic: keras.Model | None = None, critic_quantiles: Sequence[float] | None = None) -> RealismGate:
        """Calibrate on real windows (every class needs at least two)."""
        names = [str(c) for c in class_names]
        y = np.asarray(y).astype(np.int64)
        if not 0.0 < float(spectrum_quantile) <= 1.0:
            raise InputError(f"spectrum_quantile must be in (0, 1], got {spectrum_quantile}")
        counts = np.bincount(y, minlength=len(names))
        short = [names[c] for c in range(len(names)) if counts[c] < 2]
        if short:
            raise InputError(f"realism gate: too few real windows for class(es) {', '.join(short)} (need 2 each)")
        f = spectrum_features(x_mg)
        gate = cls(names, [_ClassBand(f[y == c], float(spectrum_quantile)) for c in range(len(names))])
        if critic is not None:
            lo, hi = _band(critic_quantiles)
            s = critic_scores(critic, x_mg, y)
            gate.critic = critic
            gate.critic_band = np.array([np.quantile(s[y == c], [lo, hi]) for c in range(len(names))])
        return gate

    def spectrum_distance(self, x_mg: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Each window's mean distance to its nearest real windows of its class (in the class's spread)."""
        f = spectrum_features(x_mg)
        y = np.asarray(y).astype(np.int64)
        d = np.empty(len(y))
        for c in np.unique(y):
            d[y == c] = self.bands[c].distance(f[y == c])
        return d

    def checks(self, x_mg: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """Per window, per test: True where it passes (``spectrum`` and, with a critic, ``critic``)."""
        y = np.asarray(y).astype(np.int64)
        limits = np.array([b.limit for b in self.bands])
        out = {"spectrum": self.spectrum_distance(x_mg, y) <= limits[y]}
        if self.critic is not None and self.critic_band is not None:
            s = critic_scores(self.critic, x_mg, y)
            band = self.critic_band[y]
            out["critic"] = (s >= band[:, 0]) & (s <= band[:, 1])
        return out

    def passes(self, x_mg: np.ndarray, y: np.ndarray) -> np.ndarray:
        """True where a window passes every test."""
        return np.logical_and.reduce(list(self.checks(x_mg, y).values()))

    def pass_rate_by_class(self, x_mg: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Fraction of windows passing, per class (NaN for a class with no window)."""
        ok, y = self.passes(x_mg, y), np.asarray(y).astype(np.int64)
        return {c: (float(ok[y == i].mean()) if np.any(y == i) else float("nan"))
                for i, c in enumerate(self.class_names)}


def _band(quantiles: Sequence[float] | None) -> tuple[float, float]:
    if quantiles is None or len(quantiles) != 2:
        raise InputError(f"critic_quantiles must be two numbers [low, high], got {quantiles!r}")
    lo, hi = (float(q) for q in quantiles)
    if not 0.0 <= lo < hi <= 1.0:
        raise InputError(f"critic_quantiles must satisfy 0 <= low < high <= 1, got {list(quantiles)}")
    return lo, hi


def critic_scores(critic: keras.Model, x_mg: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """The critic's score of each window given its class (higher = more real to the critic)."""
    x = np.asarray(x_mg, dtype=np.float32)
    y = np.asarray(y).astype(np.int32)
    out = np.empty(len(x), dtype=np.float64)
    for s in range(0, len(x), batch_size):
        out[s:s + batch_size] = np.asarray(critic([x[s:s + batch_size], y[s:s + batch_size]], training=False),
                                           dtype=np.float64).reshape(-1)
    return out
