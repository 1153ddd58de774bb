"""Distances between real and synthetic windows (numpy, scipy, scikit-learn, dtaidistance; no Keras).

All functions take windows as N x T x C float arrays (mg) and are deterministic for a seed.

- :func:`mmd2_rbf` / :func:`mmd` / :func:`mmd_by_class`: squared maximum mean discrepancy with a
  Gaussian (RBF) kernel, bandwidth by the median heuristic, on flattened windows standardized per
  channel with the *real* set's mean and standard deviation. The **unbiased** U-statistic is the
  default (Gretton et al. 2012, eq. 3): it is about 0 for two samples of one distribution (and may
  be slightly negative), up to 2 for sets the kernel cannot relate at all.
- :func:`psd_distance` / :func:`psd_distance_by_class`: Welch power spectral density per axis,
  averaged over the windows of a set; the distance is the mean absolute difference of
  ``log10`` PSDs over the non-zero frequency bins, in decades (0 = the same mean spectrum,
  1 = a factor of 10 in power on average).
- :func:`nn_dtw`: multivariate DTW (dtaidistance's C implementation, Sakoe-Chiba band of 10 %
  of the window) from every synthetic window to its nearest real *training* window of the same
  class, against the same nearest-neighbour distance from real held-out windows (test split) to
  the training windows. A synthetic window closer than ``threshold_fraction`` (5 %) of its class's
  real-to-real median is flagged as a memorised copy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import signal
from sklearn.metrics.pairwise import euclidean_distances, rbf_kernel

AXES = ("x", "y", "z")


def _as_windows(x: np.ndarray, what: str = "windows") -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"{what} must be N x T x C, got shape {x.shape}")
    return x


def channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation over windows and time (std floored at 1e-6)."""
    x = _as_windows(x)
    if len(x) == 0:
        c = x.shape[2]
        return np.zeros(c), np.ones(c)
    mean = x.mean(axis=(0, 1))
    std = x.std(axis=(0, 1))
    return mean, np.where(std > 1e-6, std, 1.0)


def standardize(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` per channel (float64)."""
    return (_as_windows(x) - mean) / std


def subsample(n: int, k: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``min(n, k)`` items drawn without replacement (all when ``k`` is None)."""
    if k is None or n <= k:
        return np.arange(n)
    return np.sort(rng.choice(n, size=int(k), replace=False))


def per_class_subset(y: np.ndarray, counts: Sequence[int] | np.ndarray, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``counts[c]`` windows of each class ``c`` of ``y`` (all it has, if fewer), at random.

    Two discriminative scores compare only on the same number of windows per class: a post-hoc model
    trained on more windows tells two sets apart better for that reason alone."""
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    picks = [np.flatnonzero(y == c)[subsample(int(np.sum(y == c)), int(n), rng)] for c, n in enumerate(counts)]
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, dtype=np.int64)


def class_matched_indices(y_real: np.ndarray, y_syn: np.ndarray, num_classes: int, max_per_class: int | None,
                          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices into the real and synthetic sets with the same number of windows of every class.

    Class ``c`` gets ``min(n_real_c, n_syn_c, max_per_class)`` windows from each set, so a
    different class mix is not counted as a difference between the sets.
    """
    rng = np.random.default_rng(seed)
    y_real, y_syn = np.asarray(y_real), np.asarray(y_syn)
    ir, is_ = [], []
    for c in range(num_classes):
        r, s = np.flatnonzero(y_real == c), np.flatnonzero(y_syn == c)
        k = min(len(r), len(s))
        if max_per_class is not None:
            k = min(k, int(max_per_class))
        if k == 0:
            continue
        ir.append(r[subsample(len(r), k, rng)])
        is_.append(s[subsample(len(s), k, rng)])
    if not ir:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(ir), np.concatenate(is_)


def median_bandwidth(z: np.ndarray) -> float:
    """Median heuristic: the median pairwise Euclidean distance among the rows of ``z`` (1.0 if all equal)."""
    z = np.asarray(z, dtype=np.float64).reshape(len(z), -1)
    if len(z) < 2:
        return 1.0
    d = euclidean_distances(z)[np.triu_indices(len(z), k=1)]
    med = float(np.median(d))
    return med if med > 1e-12 else 1.0


def mmd2_rbf(a: np.ndarray, b: np.ndarray, bandwidth: float | None = None,
             unbiased: bool = True) -> tuple[float, float]:
    """Squared MMD between the rows of ``a`` and ``b`` (flattened) with ``k = exp(-|u-v|^2 / (2 sigma^2))``.

    ``sigma`` is ``bandwidth`` or, by default, the median heuristic on the pooled rows.
    Returns ``(mmd2, sigma)``. The unbiased estimate drops the diagonal of the within-set kernels.
    """
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    m, n = len(a), len(b)
    if m < 2 or n < 2:
        raise ValueError(f"MMD needs at least 2 windows in each set (got {m} and {n})")
    sigma = float(bandwidth) if bandwidth is not None else median_bandwidth(np.concatenate([a, b]))
    gamma = 1.0 / (2.0 * sigma * sigma)
    kaa, kbb, kab = rbf_kernel(a, gamma=gamma), rbf_kernel(b, gamma=gamma), rbf_kernel(a, b, gamma=gamma)
    if unbiased:
        xx = (kaa.sum() - np.trace(kaa)) / (m * (m - 1))
        yy = (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
    else:
        xx, yy = kaa.mean(), kbb.mean()
    return float(xx + yy - 2.0 * kab.mean()), sigma


def mmd(x_real: np.ndarray, x_syn: np.ndarray, *, max_samples: int | None = 500,
        standardize_by: np.ndarray | None = None, unbiased: bool = True, seed: int = 0) -> float:
    """MMD^2 between two sets of windows, each subsampled to ``max_samples`` (seeded).

    Windows are standardized per channel with the statistics of ``standardize_by`` (default:
    ``x_real``) and flattened; the bandwidth is the median heuristic on the pooled sample.
    """
    x_real, x_syn = _as_windows(x_real, "real windows"), _as_windows(x_syn, "synthetic windows")
    mean, std = channel_stats(x_real if standardize_by is None else standardize_by)
    rng = np.random.default_rng(seed)
    a = standardize(x_real[subsample(len(x_real), max_samples, rng)], mean, std)
    b = standardize(x_syn[subsample(len(x_syn), max_samples, rng)], mean, std)
    return mmd2_rbf(a, b, unbiased=unbiased)[0]


def mmd_by_class(x_real: np.ndarray, y_real: np.ndarray, x_syn: np.ndarray, y_syn: np.ndarray,
                 class_names: Sequence[str], *, max_per_class: int | None = 300, unbiased: bool = True,
                 seed: int = 0) -> tuple[float | None, dict[str, float | None]]:
    """Overall and per-class MMD^2 (RBF, median heuristic, unbiased by default).

    Per class: the class's real vs synthetic windows (each up to ``max_per_class``), bandwidth
    from that class's pooled sample. Overall: class-matched samples (:func:`class_matched_indices`,
    up to ``max_per_class`` per class from each set), one bandwidth for all. Everything is
    standardized with the real set's per-channel statistics. ``None`` where a class has fewer
    than 2 windows in a set.
    """
    x_real, x_syn = _as_windows(x_real, "real windows"), _as_windows(x_syn, "synthetic windows")
    y_real, y_syn = np.asarray(y_real), np.asarray(y_syn)
    mean, std = channel_stats(x_real)
    zr, zs = standardize(x_real, mean, std), standardize(x_syn, mean, std)
    rng = np.random.default_rng(seed)
    by_class: dict[str, float | None] = {}
    for c, name in enumerate(class_names):
        r, s = np.flatnonzero(y_real == c), np.flatnonzero(y_syn == c)
        if len(r) < 2 or len(s) < 2:
            by_class[str(name)] = None
            continue
        r, s = r[subsample(len(r), max_per_class, rng)], s[subsample(len(s), max_per_class, rng)]
        by_class[str(name)] = mmd2_rbf(zr[r], zs[s], unbiased=unbiased)[0]
    ir, is_ = class_matched_indices(y_real, y_syn, len(class_names), max_per_class, seed)
    overall = mmd2_rbf(zr[ir], zs[is_], unbiased=unbiased)[0] if len(ir) >= 2 else None
    return overall, by_class


def mean_psd(x: np.ndarray, fs: float, nperseg: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD of every window and axis (mean removed), averaged over the windows: ``(f, P)`` with P F x C."""
    x = _as_windows(x)
    t = x.shape[1]
    nper = min(t, int(nperseg)) if nperseg else t
    f, p = signal.welch(x, fs=float(fs), nperseg=nper, axis=1, detrend="constant")
    return f, p.mean(axis=0)


def log_psd_distance(p_real: np.ndarray, p_syn: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Mean over the non-zero frequency bins of ``|log10 P_real - log10 P_syn|``, per axis (decades).

    A floor of 1e-10 times the largest power of both spectra keeps empty bins finite.
    """
    keep = f > 0
    floor = 1e-10 * max(float(np.max(p_real)), float(np.max(p_syn)), 1e-30)
    lr = np.log10(np.maximum(p_real[keep], floor))
    ls = np.log10(np.maximum(p_syn[keep], floor))
    return np.abs(lr - ls).mean(axis=0)


def psd_distance(x_real: np.ndarray, x_syn: np.ndarray, fs: float, nperseg: int | None = None) -> np.ndarray:
    """Per-axis log-PSD distance (decades) between the mean Welch spectra of two sets of windows."""
    f, pr = mean_psd(x_real, fs, nperseg)
    _, ps = mean_psd(x_syn, fs, nperseg)
    return log_psd_distance(pr, ps, f)


def psd_distance_by_class(x_real: np.ndarray, y_real: np.ndarray, x_syn: np.ndarray, y_syn: np.ndarray,
                          class_names: Sequence[str], fs: float, nperseg: int | None = None
                          ) -> dict[str, dict[str, float] | None]:
    """``{class: {"x": d, "y": d, "z": d, "mean": d}}`` (decades), ``None`` for a class missing in a set."""
    x_real, x_syn = _as_windows(x_real, "real windows"), _as_windows(x_syn, "synthetic windows")
    y_real, y_syn = np.asarray(y_real), np.asarray(y_syn)
    axes = AXES if x_real.shape[2] == 3 else tuple(f"ch{i}" for i in range(x_real.shape[2]))
    out: dict[str, dict[str, float] | None] = {}
    for c, name in enumerate(class_names):
        r, s = y_real == c, y_syn == c
        if not r.any() or not s.any():
            out[str(name)] = None
            continue
        d = psd_distance(x_real[r], x_syn[s], fs, nperseg)
        out[str(name)] = {**{a: float(v) for a, v in zip(axes, d)}, "mean": float(d.mean())}
    return out


def dtw_nn_distances(queries: np.ndarray, refs: np.ndarray, window: int | None = None) -> np.ndarray:
    """For each query window, the multivariate DTW distance to its nearest reference window.

    dtaidistance ``dtw_ndim.distance_matrix_fast`` (C, parallel) on the query x reference block;
    the distance is the square root of the summed squared Euclidean steps along the warping path.
    """
    from dtaidistance import dtw_ndim

    q, r = _as_windows(queries), _as_windows(refs)
    if len(q) == 0 or len(r) == 0:
        return np.zeros(len(q))
    s = np.ascontiguousarray(np.concatenate([q, r]), dtype=np.double)
    nq, nr = len(q), len(r)
    # compact=True returns only the query x reference block, row by row (memory nq * nr, not (nq + nr)^2)
    d = dtw_ndim.distance_matrix_fast(s, window=window, block=((0, nq), (nq, nq + nr)), compact=True, parallel=True)
    return np.asarray(d, dtype=np.float64).reshape(nq, nr).min(axis=1)


def _nn_by_class(sy: np.ndarray, ysy: np.ndarray, ref: np.ndarray, yre: np.ndarray, tr: np.ndarray,
                 ytr: np.ndarray, window: int | None) -> tuple[np.ndarray, np.ndarray]:
    """DTW nearest-training-window distances of the synthetic and the reference windows, class by class."""
    d_syn = np.full(len(sy), np.inf)
    d_ref = np.full(len(ref), np.inf)
    for c in np.unique(np.concatenate([ysy, yre if len(ref) else ysy])):
        pool = ytr == c
        if not pool.any():  # no training window of this class: search them all
            pool = np.ones(len(tr), dtype=bool)
        d_syn[ysy == c] = dtw_nn_distances(sy[ysy == c], tr[pool], window)
        if len(ref):
            d_ref[yre == c] = dtw_nn_distances(ref[yre == c], tr[pool], window)
    return d_syn, d_ref


def _memorisation(d_syn: np.ndarray, ysy: np.ndarray, d_ref: np.ndarray, yre: np.ndarray, threshold_fraction: float,
                  labelled: bool, class_names: Sequence[str] | None) -> dict:
    """ratio, threshold and memorised copies of :func:`nn_dtw` against the reference windows' class medians.

    Unlabelled windows (``labelled`` False) get one overall threshold and no per-class figures.
    """

    def name(c: int) -> str:
        return str(class_names[c]) if class_names is not None and 0 <= c < len(class_names) else str(c)

    overall = float(np.median(d_ref))
    med = {int(c): float(np.median(d_ref[yre == c])) if np.any(yre == c) else overall for c in np.unique(ysy)}
    typical = np.array([med[int(c)] for c in ysy])
    flagged = d_syn < threshold_fraction * typical
    rel = d_syn / np.where(typical > 0, typical, np.inf)
    count = int(flagged.sum())
    ref_typical = np.array([float(np.median(d_ref[yre == c])) for c in yre])
    return dict(
        ref_memorised_fraction=float(np.mean(d_ref < threshold_fraction * ref_typical)),
        ratio=float(np.median(rel)) if len(rel) else None,
        threshold={name(c): threshold_fraction * m for c, m in med.items()} if labelled
        else threshold_fraction * overall,
        memorised_count=count, memorised_fraction=count / len(d_syn) if len(d_syn) else 0.0,
        memorised_by_class={name(c): float(flagged[ysy == c].mean()) for c in np.unique(ysy)} if labelled else None,
    )


def nn_dtw(x_syn: np.ndarray, x_train: np.ndarray, x_ref: np.ndarray | None, *, y_syn: np.ndarray | None = None,
           y_train: np.ndarray | None = None, y_ref: np.ndarray | None = None, class_names: Sequence[str] | None = None,
           window_fraction: float = 0.1, threshold_fraction: float = 0.05, max_syn: int | None = 300,
           max_train: int | None = 5000, max_ref: int | None = 300, seed: int = 0) -> dict:
    """Nearest-neighbour DTW from synthetic windows to the real training windows, and memorised copies.

    All windows are standardized per channel with the training set's statistics; the DTW band is
    ``window_fraction`` of the window length. ``x_ref`` (real windows the generator never saw, e.g.
    the test split) gives the typical real-to-train distance. With labels (``y_syn``, ``y_train``,
    ``y_ref``), neighbours are searched within the window's class and the typical distance is the
    class's own median (a quiet class such as "stationary" has much closer neighbours than
    "running"); without labels, over all windows. A synthetic window is a **memorised copy** when
    its distance is below ``threshold_fraction`` times that median.

    Keep ``max_train`` at least the training set's size: a copy of a training window that is not
    in the searched subset cannot be found. ``max_syn`` and ``max_ref`` bound the cost.

    Returns syn_median, syn_mean, syn_min (nearest-neighbour distances of the synthetic windows),
    ref_median (of the reference windows), ratio (median over synthetic windows of distance /
    their class's reference median: about 1 is good, far below 1 means copying, far above means
    off the real data), threshold (per class with labels), memorised_count, memorised_fraction,
    memorised_by_class, ref_memorised_fraction (the same rule applied to the real reference
    windows: the floor that real data itself reaches, e.g. near-identical windows of a sensor at
    rest), and the sizes and band (``window``). Without reference windows the threshold-based
    keys are None.
    """
    x_syn, x_train = _as_windows(x_syn, "synthetic windows"), _as_windows(x_train, "training windows")
    if len(x_train) == 0:
        raise ValueError("nn_dtw needs real training windows")
    labelled = y_syn is not None and y_train is not None and (x_ref is None or y_ref is not None)
    y_syn = np.zeros(len(x_syn), dtype=np.int64) if not labelled else np.asarray(y_syn).astype(np.int64)
    y_train = np.zeros(len(x_train), dtype=np.int64) if not labelled else np.asarray(y_train).astype(np.int64)
    rng = np.random.default_rng(seed)
    mean, std = channel_stats(x_train)
    it = subsample(len(x_train), max_train, rng)
    i_s = subsample(len(x_syn), max_syn, rng)
    tr, ytr = standardize(x_train[it], mean, std), y_train[it]
    sy, ysy = standardize(x_syn[i_s], mean, std), y_syn[i_s]
    has_ref = False
    ref, yre = sy[:0], ysy[:0]
    if x_ref is not None and len(x_ref) > 0:
        has_ref = True
        ir = subsample(len(x_ref), max_ref, rng)
        ref = standardize(_as_windows(x_ref)[ir], mean, std)
        yre = np.asarray(y_ref).astype(np.int64)[ir] if labelled else np.zeros(len(ir), dtype=np.int64)
    window = max(1, int(round(window_fraction * x_train.shape[1]))) if window_fraction else None
    d_syn, d_ref = _nn_by_class(sy, ysy, ref, yre, tr, ytr, window)
    out: dict = {
        "n_synthetic": int(len(sy)), "n_train": int(len(tr)), "n_reference": int(len(d_ref)), "window": window,
        "by_class": bool(labelled), "threshold_fraction": float(threshold_fraction),
        "syn_median": float(np.median(d_syn)) if len(d_syn) else None,
        "syn_mean": float(np.mean(d_syn)) if len(d_syn) else None,
        "syn_min": float(np.min(d_syn)) if len(d_syn) else None,
        "ref_median": float(np.median(d_ref)) if len(d_ref) else None,
        "ratio": None, "threshold": None, "memorised_count": None, "memorised_fraction": None,
        "memorised_by_class": None, "ref_memorised_fraction": None,
    }
    if has_ref and len(d_ref):
        out.update(_memorisation(d_syn, ysy, d_ref, yre, threshold_fraction, labelled, class_names))
    return out
