"""PNG plots of real vs synthetic windows (matplotlib ``Figure`` + Agg; no pyplot state, atomic writes).

Every plot takes a ``seed`` where it samples, so the same inputs and seed give the same PNG.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any
from collections.abc import Mapping, Sequence

import numpy as np

from evaluation import metrics as M
from har_data.atomic import atomic_path

HISTORY_PANELS = (
    ("losses", ("critic_loss", "generator_loss")),
    ("Wasserstein estimate", ("wasserstein",)),
    ("classifier accuracy on fakes", ("classifier_accuracy",)),
)
_AXIS_COLORS = ("tab:red", "tab:green", "tab:blue")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Write a matplotlib Figure as PNG, atomically (no timestamp in the file)."""
    path = Path(path)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    return path


def _class_colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def plot_windows_grid(x_real: np.ndarray, y_real: np.ndarray, x_syn: np.ndarray, y_syn: np.ndarray,
                      class_names: Sequence[str], path: str | os.PathLike, *, per_class: int = 3,
                      fs: float | None = None, seed: int = 0) -> Path:
    """One row per class: ``per_class`` random real windows, then as many synthetic ones (x, y, z in mg).

    The panels of a row share their y axis, so a synthetic window that is too loud or too quiet shows.
    """
    rng = np.random.default_rng(seed)
    n_cls = len(class_names)
    t_len = np.asarray(x_real).shape[1]
    t = np.arange(t_len) / fs if fs else np.arange(t_len)
    fig = _figure(2.2 * 2 * per_class, 1.7 * n_cls + 0.4)
    axes = fig.subplots(n_cls, 2 * per_class, squeeze=False, sharex=True, sharey="row")  # same mg scale per class
    for c, name in enumerate(class_names):
        for side, (x, y) in enumerate(((x_real, y_real), (x_syn, y_syn))):
            idx = np.flatnonzero(np.asarray(y) == c)
            pick = idx[M.subsample(len(idx), per_class, rng)] if len(idx) else idx
            for j in range(per_class):
                ax = axes[c, side * per_class + j]
                ax.tick_params(labelsize=6)
                if j < len(pick):
                    for a in range(np.asarray(x).shape[2]):
                        ax.plot(t, x[pick[j], :, a], lw=0.8, color=_AXIS_COLORS[a % 3], label="xyz"[a % 3])
                else:
                    ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes, fontsize=8)
                if c == 0:
                    ax.set_title(("real" if side == 0 else "synthetic") + f" {j + 1}", fontsize=8)
                if side == 0 and j == 0:
                    ax.set_ylabel(f"{name}\nmg", fontsize=8)
    axes[0, 0].legend(fontsize=6, loc="upper right")
    fig.suptitle("real vs synthetic windows", fontsize=10)
    return save_figure(fig, path)


def embed(x_real: np.ndarray, x_syn: np.ndarray, *, method: str = "pca", max_points: int = 600,
          seed: int = 0, tsne_iter: int = 1000) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """2-D PCA or t-SNE of flattened windows (standardized per channel with the real statistics).

    Up to ``max_points // 2`` windows of each set (seeded). PCA is fitted on the real windows;
    t-SNE (Barnes-Hut, ``tsne_iter`` iterations) runs on the first 30 principal components, in one
    thread (repeatable, and far faster than contended OpenMP threads on a busy machine).
    Returns ``(coords, is_synthetic, real_indices, syn_indices)``.
    """
    rng = np.random.default_rng(seed)
    ir = M.subsample(len(x_real), max(1, max_points // 2), rng)
    is_ = M.subsample(len(x_syn), max(1, max_points // 2), rng)
    mean, std = M.channel_stats(x_real)
    z = np.concatenate([M.standardize(np.asarray(x_real)[ir], mean, std),
                        M.standardize(np.asarray(x_syn)[is_], mean, std)]).reshape(len(ir) + len(is_), -1)
    src = np.concatenate([np.zeros(len(ir), dtype=bool), np.ones(len(is_), dtype=bool)])
    if method == "pca":
        from sklearn.decomposition import PCA

        coords = PCA(n_components=2, random_state=seed).fit(z[~src]).transform(z)
    elif method == "tsne":
        from sklearn.decomposition import PCA
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits

        if len(z) < 5:
            raise ValueError(f"t-SNE needs at least 5 windows, got {len(z)}")
        zr = PCA(n_components=min(30, z.shape[0], z.shape[1]), random_state=seed).fit_transform(z)
        perplexity = float(min(30.0, max(1.0, (len(z) - 1) / 3.0)))
        with threadpool_limits(limits=1):
            coords = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                          max_iter=max(250, int(tsne_iter)), n_jobs=1).fit_transform(zr)
    else:
        raise ValueError(f"unknown embedding method {method!r}; use 'pca' or 'tsne'")
    return np.asarray(coords, dtype=np.float64), src, ir, is_


def plot_embedding(x_real: np.ndarray, y_real: np.ndarray, x_syn: np.ndarray, y_syn: np.ndarray,
                   class_names: Sequence[str], path: str | os.PathLike, *, method: str = "pca", max_points: int = 600,
                   seed: int = 0, tsne_iter: int = 1000) -> Path:
    """Scatter of the PCA (fitted on the real windows) or t-SNE embedding: colour = class, o real, x synthetic."""
    coords, src, ir, is_ = embed(x_real, x_syn, method=method, max_points=max_points, seed=seed, tsne_iter=tsne_iter)
    labels = np.concatenate([np.asarray(y_real)[ir], np.asarray(y_syn)[is_]])
    colors = _class_colors(len(class_names))
    fig = _figure(6.0, 5.0)
    ax = fig.subplots()
    for c, name in enumerate(class_names):
        for syn, marker in ((False, "o"), (True, "x")):
            m = (labels == c) & (src == syn)
            if m.any():
                ax.scatter(coords[m, 0], coords[m, 1], s=12 if syn else 10, marker=marker, color=colors[c],
                           alpha=0.8 if syn else 0.45, linewidths=0.8 if syn else 0,
                           label=f"{name} ({'synthetic' if syn else 'real'})")
    ax.set_title(f"{'PCA' if method == 'pca' else 't-SNE'} of real (o) and synthetic (x) windows", fontsize=10)
    ax.legend(fontsize=6, ncol=2, loc="best")
    ax.tick_params(labelsize=7)
    return save_figure(fig, path)


def plot_psd(x_real: np.ndarray, y_real: np.ndarray, x_syn: np.ndarray, y_syn: np.ndarray,
             class_names: Sequence[str], path: str | os.PathLike, *, fs: float, nperseg: int | None = None) -> Path:
    """Mean Welch PSD per class (rows) and axis (columns), real vs synthetic, log scale."""
    from matplotlib.ticker import NullLocator

    n_cls, n_ch = len(class_names), np.asarray(x_real).shape[2]
    fig = _figure(3.0 * n_ch, 2.0 * n_cls + 0.4)
    axes = fig.subplots(n_cls, n_ch, squeeze=False, sharex=True)
    for c, name in enumerate(class_names):
        r, s = np.asarray(y_real) == c, np.asarray(y_syn) == c
        for label, x, m, style in (("real", x_real, r, "-"), ("synthetic", x_syn, s, "--")):
            if not m.any():
                continue
            f, p = M.mean_psd(np.asarray(x)[m], fs, nperseg)
            for a in range(n_ch):
                axes[c, a].semilogy(f[1:], np.maximum(p[1:, a], 1e-12), style, lw=1.0, label=label,
                                    color="black" if label == "real" else "tab:orange")
        for a in range(n_ch):
            ax = axes[c, a]
            ax.tick_params(labelsize=6)
            ax.yaxis.set_minor_locator(NullLocator())  # log minor ticks cost more than the rest of the plot
            if c == 0:
                ax.set_title(f"axis {'xyz'[a] if n_ch == 3 else a}", fontsize=8)
            if a == 0:
                ax.set_ylabel(f"{name}\nmg$^2$/Hz", fontsize=8)
            if c == n_cls - 1:
                ax.set_xlabel("Hz", fontsize=8)
    axes[0, 0].legend(fontsize=6)
    fig.suptitle("power spectral density (Welch), real vs synthetic", fontsize=10)
    return save_figure(fig, path)


def load_history(history: Any) -> dict[str, np.ndarray]:
    """A GAN history as ``{column: float array}``.

    From a dict of lists, a Keras ``History`` or a ``history.csv`` path; non-numeric columns are dropped.
    """
    if history is None:
        return {}
    if hasattr(history, "history") and isinstance(history.history, Mapping):
        history = history.history
    if isinstance(history, (str, os.PathLike)):
        with open(history, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        cols: dict[str, list] = {k: [r.get(k) for r in rows] for k in (rows[0].keys() if rows else [])}
    elif isinstance(history, Mapping):
        cols = {str(k): list(np.ravel(np.asarray(v, dtype=object))) for k, v in history.items()}
    else:
        raise TypeError(f"history must be a dict of lists, a Keras History or a CSV path, not {type(history).__name__}")
    out: dict[str, np.ndarray] = {}
    for k, v in cols.items():
        try:
            out[k] = np.array([np.nan if (e is None or e == "") else float(e) for e in v], dtype=np.float64)
        except (TypeError, ValueError):
            continue
    return out


def _curve_panels(h: Mapping[str, np.ndarray], xkey: str | None,
                  panels: Sequence[tuple[str, Sequence[str]]] | None) -> list[tuple[str, list[str]]]:
    """The (title, columns) panels that have data: the given ``panels``, else the GAN ones plus one per other column."""
    chosen = [(t, [c for c in cols if c in h]) for t, cols in (HISTORY_PANELS if panels is None else panels)]
    chosen = [(t, cols) for t, cols in chosen if cols]
    if panels is None:
        known = {c for _, cols in chosen for c in cols} | {xkey}
        chosen += [(k, [k]) for k in h if k not in known]
    return chosen[:6]


def _plot_curve(ax, x: np.ndarray, v: np.ndarray, name: str, color: str) -> None:
    k = len(v) // 50
    if k > 1:  # long, noisy histories: faint raw curve plus a moving average
        ax.plot(x[: len(v)], v, lw=0.5, alpha=0.3, color=color)
        smooth = np.convolve(np.nan_to_num(v), np.ones(k) / k, mode="valid")
        ax.plot(x[k - 1: len(v)], smooth, lw=1.2, color=color, label=f"{name} (mean of {k})")
    else:
        ax.plot(x[: len(v)], v, lw=1.0, color=color, label=name)


def plot_training_curves(history: Any, path: str | os.PathLike, *, title: str = "GAN training",
                         panels: Sequence[tuple[str, Sequence[str]]] | None = None) -> Path:
    """Training curves, one panel per group of columns, as a PNG (atomically).

    ``history`` is anything :func:`load_history` reads. By default the panels are the GAN's
    (critic/generator loss, Wasserstein estimate, classifier accuracy on fakes) and one per other
    column; ``panels`` (``[(title, [column, ...]), ...]``, e.g. loss and accuracy of a classifier)
    chooses them instead. Up to six panels. The x axis is the ``step`` (or ``epoch``) column when
    present, else the row number.
    """
    h = load_history(history)
    xkey = next((k for k in ("step", "steps", "epoch") if k in h), None)
    n = max((len(v) for v in h.values()), default=0)
    x = h[xkey] if xkey else np.arange(n)
    chosen = _curve_panels(h, xkey, panels)
    fig = _figure(4.2 * max(1, min(len(chosen), 3)), 3.0 * max(1, (len(chosen) + 2) // 3))
    if not chosen:
        ax = fig.subplots()
        ax.text(0.5, 0.5, "no history", ha="center", va="center", transform=ax.transAxes)
        return save_figure(fig, path)
    ncols = min(len(chosen), 3)
    axes = np.atleast_1d(fig.subplots((len(chosen) + ncols - 1) // ncols, ncols, squeeze=False).ravel())
    for ax, (t, cols) in zip(axes, chosen):
        for i, c in enumerate(cols):
            _plot_curve(ax, x, h[c], c, f"C{i}")
        ax.set_title(t, fontsize=9)
        ax.set_xlabel(xkey or "row", fontsize=8)
        ax.tick_params(labelsize=7)
        if len(cols) > 1 or len(h[cols[0]]) >= 100:
            ax.legend(fontsize=7)
    for ax in axes[len(chosen):]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def plot_confusions(trtr_confusion: Any, tstr_confusion: Any, class_names: Sequence[str],
                    out_dir: str | os.PathLike) -> dict[str, Path]:
    """``confusion_trtr.png`` and ``confusion_tstr.png`` via :func:`classifier.plot_confusion_matrix`."""
    from classifier import plot_confusion_matrix

    out_dir = Path(out_dir)
    figs: dict[str, Path] = {}
    for key, cm, title in (("confusion_trtr", trtr_confusion, "TRTR: trained on real, tested on real"),
                           ("confusion_tstr", tstr_confusion, "TSTR: trained on synthetic, tested on real")):
        if cm is not None:
            figs[key] = Path(plot_confusion_matrix(cm, class_names, out_dir / f"{key}.png", title=title))
    return figs


def evaluation_figures(real_train: Any, x_syn: np.ndarray, y_syn: np.ndarray, out_dir: str | os.PathLike, *,
                       fs: float, seed: int = 0, trtr_confusion: Any = None, tstr_confusion: Any = None,
                       history: Any = None, max_points: int = 600, per_class: int = 3,
                       tsne_iter: int = 1000) -> dict[str, Path]:
    """All evaluation plots into ``out_dir``: windows, pca, tsne, psd, confusion_trtr/tstr, training_curves.

    ``real_train`` is a WindowSet (its x, y, class_names are used). Returns ``{name: png path}``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x_r, y_r, names = real_train.x, real_train.y, list(real_train.class_names)
    figs: dict[str, Path] = {
        "windows": plot_windows_grid(x_r, y_r, x_syn, y_syn, names, out_dir / "windows.png", per_class=per_class,
                                     fs=fs, seed=seed),
        "pca": plot_embedding(x_r, y_r, x_syn, y_syn, names, out_dir / "pca.png", method="pca",
                              max_points=max_points, seed=seed),
        "tsne": plot_embedding(x_r, y_r, x_syn, y_syn, names, out_dir / "tsne.png", method="tsne",
                               max_points=max_points, seed=seed, tsne_iter=tsne_iter),
        "psd": plot_psd(x_r, y_r, x_syn, y_syn, names, out_dir / "psd.png", fs=fs),
    }
    figs.update(plot_confusions(trtr_confusion, tstr_confusion, names, out_dir))
    if history is not None:
        figs["training_curves"] = plot_training_curves(history, out_dir / "training_curves.png")
    return figs
