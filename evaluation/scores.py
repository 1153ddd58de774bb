"""How good is the synthetic data? Classifier-based scores plus the distances of :mod:`evaluation.metrics`.

:func:`evaluate_synthetic` is the entry point (used by ``hargan evaluate`` and the pipeline). Its
figures, all on the *real test split* (``WindowSet.subset("test")``, split by recording):

- **TRTR / TSTR**: the same classifier preset (:func:`classifier.train_classifier`) trained on the
  real ``train`` windows (TRTR) and on the synthetic windows (TSTR). Both use the same protocol:
  early stopping on the real ``val`` split (best validation loss restored; without a ``val``
  split the classifier watches its training loss for a fixed budget of ``epochs``), the same
  seed, class weights and epochs, and the classifier's own rotation/gain/noise augmentation
  (``EvalSettings.classic_augment``; on by default, as in the product recipe: without it, the
  figures on the bundled data swing by up to 0.4 between seeds, see benchmarks/bench_evaluation.py).
  ``tstr_ratio = tstr_accuracy / trtr_accuracy``.
- **Augmentation gain**: for x in 5, 10, 25, 100 % of the real training windows (chosen by
  recording, see :func:`subsample_by_group`), accuracy of real-only vs real + synthetic, where
  the synthetic windows come from a generator trained on that x % only (a synthesizer callable);
  fixed windows from a GAN trained on every training window give the 100 % row only.
- **Discriminative score** (TimeGAN's post-hoc discriminator): a small 1D CNN learns real vs
  synthetic on class-matched, balanced windows; ``|test accuracy - 0.5|`` on a held-out third,
  averaged over ``seeds`` splits/initialisations. 0 = indistinguishable, 0.5 = trivially told apart.
  ``discriminative_reference`` is the same score for the real *test* recordings against the real
  training ones: recordings of other people/sessions are already told apart to some degree, so
  that is the floor a generator can be compared with.
- **MMD^2, PSD distance, DTW nearest neighbours / memorised copies**: see :mod:`evaluation.metrics`.
- **int8 acceptance**: the fraction of synthetic windows the on-device int8 model accepts as
  their own label (``Int8Classifier.accept``), per class and overall.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from evaluation import metrics as M
from evaluation.discriminative import build_posthoc_discriminator, discriminative_score
from har_data import InputError, WindowSet

AUGMENT_PERCENTS = (5, 10, 25, 100)


@dataclass(frozen=True)
class EvalSettings:
    """Budgets of one evaluation; :data:`FULL` by default, :data:`QUICK` for ``quick=True`` (demo, tests)."""

    epochs: int = 60
    patience: int = 10
    batch_size: int = 64
    classic_augment: bool = True  # the classifier's rotation/gain/noise augmentation (its default recipe)
    augment_percents: tuple[int, ...] = AUGMENT_PERCENTS
    disc_seeds: int = 3
    disc_epochs: int = 40
    disc_patience: int = 5
    disc_max_per_class: int = 1000
    disc_reference: bool = True  # also score real test vs real train windows (one seed) as the real-data floor
    mmd_max_per_class: int = 300
    dtw_max_syn: int = 300
    dtw_max_train: int = 20000
    dtw_max_ref: int = 300
    embed_points: int = 600
    tsne_iter: int = 1000
    plot_per_class: int = 3


FULL = EvalSettings()
QUICK = EvalSettings(epochs=10, patience=4, augment_percents=(10, 100), disc_seeds=1, disc_epochs=10,
                     disc_patience=3, disc_max_per_class=200, mmd_max_per_class=100, dtw_max_syn=100,
                     dtw_max_train=20000, dtw_max_ref=100, embed_points=200, tsne_iter=500, plot_per_class=2)


def _check_synthetic(real: WindowSet, x_syn: np.ndarray, y_syn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x_syn = np.asarray(x_syn, dtype=np.float32)
    y_syn = np.asarray(y_syn).astype(np.int64).reshape(-1)
    if x_syn.ndim != 3 or x_syn.shape[1:] != real.x.shape[1:]:
        raise InputError(f"synthetic windows are {x_syn.shape[1:] if x_syn.ndim == 3 else x_syn.shape}, "
                         f"real windows {real.x.shape[1:]}")
    if len(x_syn) != len(y_syn):
        raise InputError(f"{len(x_syn)} synthetic windows but {len(y_syn)} labels")
    if len(x_syn) < 2:
        raise InputError("need at least 2 synthetic windows to evaluate")
    if y_syn.min() < 0 or y_syn.max() >= real.num_classes:
        raise InputError(f"synthetic labels outside 0..{real.num_classes - 1} ({', '.join(real.class_names)})")
    if not np.all(np.isfinite(x_syn)):
        raise InputError("synthetic windows hold NaN or infinite values")
    return x_syn, y_syn


def _full_scale(real: WindowSet, full_scale_g: float | None) -> float:
    if full_scale_g is not None:
        return float(full_scale_g)
    return float(real.sensor.full_scale_g) if real.sensor is not None else 4.0


def _fs(real: WindowSet) -> float:
    if real.odr_hz:
        return float(real.odr_hz)
    return float(real.sensor.odr_hz) if real.sensor is not None else 26.0


def _splits(real: WindowSet) -> tuple[WindowSet, WindowSet, WindowSet]:
    train, val, test = real.subset("train"), real.subset("val"), real.subset("test")
    if len(train) == 0:
        raise InputError("the real windows have no 'train' split")
    if len(test) == 0:
        raise InputError("the real windows have no 'test' split (TSTR and TRTR test on real test windows)")
    return train, val, test


def _fit_and_score(x: np.ndarray, y: np.ndarray, real: WindowSet, val: WindowSet, test: WindowSet, *, preset: str,
                   seed: int, settings: EvalSettings, full_scale_g: float) -> tuple[dict, Any]:
    from classifier import evaluate_classifier, train_classifier

    model = train_classifier(
        x, y, real.class_names,
        x_val=val.x if len(val) else None, y_val=val.y if len(val) else None,
        preset=preset, full_scale_g=full_scale_g, epochs=settings.epochs, batch_size=settings.batch_size,
        patience=settings.patience, seed=seed, verbose=0, augment=settings.classic_augment,
    )
    result = evaluate_classifier(model, test.x, test.y, real.class_names)
    epochs_run = len(getattr(getattr(model, "history", None), "history", {}).get("loss", []))
    result["epochs"] = int(epochs_run)
    return result, model


def train_test_scores(real: WindowSet, x_syn: np.ndarray, y_syn: np.ndarray, *, preset: str, seed: int = 0,
                      settings: EvalSettings = FULL, full_scale_g: float | None = None) -> dict:
    """TRTR and TSTR accuracy / macro-F1 / confusion on the real test split, and ``tstr_ratio``."""
    x_syn, y_syn = _check_synthetic(real, x_syn, y_syn)
    train, val, test = _splits(real)
    fsg = _full_scale(real, full_scale_g)
    trtr, _ = _fit_and_score(train.x, train.y, real, val, test, preset=preset, seed=seed, settings=settings,
                             full_scale_g=fsg)
    tstr, _ = _fit_and_score(x_syn, y_syn, real, val, test, preset=preset, seed=seed, settings=settings,
                             full_scale_g=fsg)
    return {
        "trtr_accuracy": trtr["accuracy"], "tstr_accuracy": tstr["accuracy"],
        "tstr_ratio": tstr["accuracy"] / trtr["accuracy"] if trtr["accuracy"] > 0 else None,
        "trtr_macro_f1": trtr["macro_f1"], "tstr_macro_f1": tstr["macro_f1"],
        "trtr_confusion": trtr["confusion"], "tstr_confusion": tstr["confusion"],
        "trtr_epochs": trtr["epochs"], "tstr_epochs": tstr["epochs"],
    }


def subsample_by_group(y: np.ndarray, group: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Sorted indices of about ``fraction`` of the windows of every class, taken by recording.

    Per class, the recordings (groups) are shuffled (seeded) and taken whole while they fit; the
    last one contributes its first windows (a contiguous stretch) to reach
    ``max(1, round(fraction * n_class))`` windows. So a small fraction means few recordings, as a
    user with little data has, not a thin random sprinkle over every recording.
    """
    y, group = np.asarray(y), np.asarray(group).astype(str)
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    chosen: list[np.ndarray] = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        target = max(1, int(round(fraction * len(members))))
        groups = np.unique(group[members])
        rng.shuffle(groups)
        taken = 0
        for g in groups:
            if taken >= target:
                break
            gi = members[group[members] == g][: target - taken]
            chosen.append(gi)
            taken += len(gi)
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


Synthesizer = Callable[[WindowSet, int], tuple[np.ndarray, np.ndarray]]
"""``f(seen, seed) -> (x_syn mg, y_syn)``: trains a generator on ``seen`` alone and returns its windows."""

LEAK_NOTE = ("not measured: the synthetic windows come from a GAN trained on every real training window, which "
             "would leak the windows this row holds out; give a synthesizer that trains on the subset")


def seen_windows(train: WindowSet, val: WindowSet, idx: np.ndarray) -> WindowSet:
    """What the classifier of one augmentation row sees: the chosen training windows and the val split."""
    x = np.concatenate([train.x[idx], val.x])
    return WindowSet(x, np.concatenate([train.y[idx], val.y]), list(train.class_names),
                     np.array(["train"] * len(idx) + ["val"] * len(val)),
                     np.concatenate([train.group[idx], val.group]), train.sensor, train.odr_hz,
                     dict(train.preprocessing))


def augmentation_gain(real: WindowSet, synthetic: Synthesizer | tuple[np.ndarray, np.ndarray], *, preset: str,
                      seed: int = 0, percents: Sequence[int] = AUGMENT_PERCENTS, settings: EvalSettings = FULL,
                      full_scale_g: float | None = None, trtr_accuracy: float | None = None) -> dict[str, dict]:
    """``{"5": {fraction, n_real, n_synthetic, real_only, real_plus_synthetic, gain}, ...}`` on the real test split.

    ``real_only`` trains on x % of the real training windows (:func:`subsample_by_group`, seeded),
    ``real_plus_synthetic`` on the same windows plus synthetic ones; same preset, seed and
    protocol as TRTR. ``trtr_accuracy`` (when given) is reused as the 100 % real-only figure.

    The synthetic windows must come from a generator that saw only what that row's classifier
    sees, or the gain is leakage (a GAN trained on every recording, added to 5 % of them, hands
    the classifier the other 95 %). So ``synthetic`` is either:

    - a synthesizer ``f(seen, seed) -> (x_syn, y_syn)`` (:data:`Synthesizer`), called once per row
      with exactly that row's windows (:func:`seen_windows`: the x % as ``train``, the real ``val``
      split, never ``test``); it must train its generator, and any classifier that steers or
      validates it, on ``seen`` alone. Every row is measured; or
    - fixed windows ``(x_syn, y_syn)`` from a GAN trained on the whole real training split: only
      the 100 % row can use them; smaller rows hold ``fraction``, ``n_real`` and ``skipped`` (why).
    """
    make = synthetic if callable(synthetic) else None
    fixed = None if callable(synthetic) else _check_synthetic(real, *synthetic)
    train, val, test = _splits(real)
    fsg = _full_scale(real, full_scale_g)
    out: dict[str, dict] = {}
    for pct in percents:
        frac = float(pct) / 100.0
        idx = subsample_by_group(train.y, train.group, frac, seed) if frac < 1 else np.arange(len(train))
        row: dict[str, Any] = {"fraction": frac, "n_real": int(len(idx))}
        if fixed is not None and frac < 1:
            out[str(pct)] = {**row, "skipped": LEAK_NOTE}
            continue
        if fixed is not None:
            x_syn, y_syn = fixed
        else:
            assert make is not None  # one of the two, by construction
            x_syn, y_syn = _check_synthetic(real, *make(seen_windows(train, val, idx), seed))
        xr, yr = train.x[idx], train.y[idx]
        if frac >= 1 and trtr_accuracy is not None:
            real_only = float(trtr_accuracy)
        else:
            real_only = _fit_and_score(xr, yr, real, val, test, preset=preset, seed=seed, settings=settings,
                                       full_scale_g=fsg)[0]["accuracy"]
        mixed = _fit_and_score(np.concatenate([xr, x_syn]), np.concatenate([yr, y_syn]), real, val, test,
                               preset=preset, seed=seed, settings=settings, full_scale_g=fsg)[0]["accuracy"]
        out[str(pct)] = {**row, "n_synthetic": int(len(x_syn)), "real_only": real_only,
                         "real_plus_synthetic": mixed, "gain": mixed - real_only,
                         "generator_trained_on": "the full real training split" if fixed is not None else
                         "this row's real windows only"}
    return out


def int8_acceptance(int8: Any, x_syn: np.ndarray, y_syn: np.ndarray, class_names: Sequence[str],
                    min_confidence: float = 0.5) -> tuple[float, dict[str, float | None]]:
    """Fraction of windows the int8 model accepts as their own label: overall and per class (None if absent)."""
    ok = np.asarray(int8.accept(np.asarray(x_syn, dtype=np.float32), np.asarray(y_syn), min_confidence=min_confidence),
                    dtype=bool)
    y_syn = np.asarray(y_syn)
    by_class = {str(c): (float(ok[y_syn == i].mean()) if np.any(y_syn == i) else None)
                for i, c in enumerate(class_names)}
    return float(ok.mean()), by_class


def resolve_acceptance(int8: Any, x_syn: np.ndarray, y_syn: np.ndarray, class_names: Sequence[str], *,
                       min_confidence: float = 0.5, acceptance: Mapping | None = None
                       ) -> tuple[float | None, dict[str, float | None] | None, str | None]:
    """``(acceptance_rate, acceptance_by_class, source)`` for the report.

    From ``acceptance`` (the sampling step's own figures: ``acceptance_rate``, ``acceptance_by_class``)
    when it holds a rate, else from ``int8`` on the given windows, else all None.
    """
    if acceptance is not None and acceptance.get("acceptance_rate") is not None:
        by_class = acceptance.get("acceptance_by_class")
        return (float(acceptance["acceptance_rate"]), None if by_class is None else dict(by_class),
                "int8 model at sampling time")
    if int8 is not None:
        rate, by_class = int8_acceptance(int8, x_syn, y_syn, class_names, min_confidence)
        return rate, by_class, f"int8 model on the evaluated windows (min_confidence={min_confidence:g})"
    return None, None, None


def _finite_or_none(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _discriminative(train: WindowSet, test: WindowSet, x_syn: np.ndarray, y_syn: np.ndarray, num_classes: int, *,
                    seed: int, settings: EvalSettings) -> dict:
    """discriminative_score/std/accuracies, and discriminative_reference (real test vs real train recordings).

    With the reference, the synthetic set is scored on as many windows per class as the test split has, so
    the two figures compare (more windows alone would train a stronger post-hoc model)."""
    if settings.disc_reference:
        keep = M.per_class_subset(y_syn, np.bincount(test.y, minlength=num_classes), seed=seed)
        x_syn, y_syn = x_syn[keep], y_syn[keep]
    try:
        disc = discriminative_score(train.x, train.y, x_syn, y_syn, num_classes, seeds=settings.disc_seeds, seed=seed,
                                    epochs=settings.disc_epochs, patience=settings.disc_patience,
                                    max_per_class=settings.disc_max_per_class)
    except InputError:  # too few windows of shared classes to train a discriminator: no score
        disc = {"score": None, "std": None, "accuracies": []}
    out = {"discriminative_score": disc["score"], "discriminative_std": disc["std"],
           "discriminative_accuracies": disc["accuracies"], "discriminative_reference": None}
    if settings.disc_reference:  # real test recordings vs real training recordings: the floor real data reaches
        with contextlib.suppress(InputError):
            out["discriminative_reference"] = discriminative_score(
                train.x, train.y, test.x, test.y, num_classes, seeds=1, seed=seed, epochs=settings.disc_epochs,
                patience=settings.disc_patience, max_per_class=settings.disc_max_per_class)["score"]
    return out


def _distances(train: WindowSet, val: WindowSet, test: WindowSet, x_syn: np.ndarray, y_syn: np.ndarray,
               names: Sequence[str], *, fs: float, seed: int, settings: EvalSettings) -> dict:
    """mmd, mmd_by_class, psd_distance(_by_class), nn_dtw and memorised_fraction against the real windows."""
    out: dict[str, Any] = {}
    out["mmd"], out["mmd_by_class"] = M.mmd_by_class(train.x, train.y, x_syn, y_syn, names,
                                                     max_per_class=settings.mmd_max_per_class, seed=seed)
    out["psd_distance_by_class"] = M.psd_distance_by_class(train.x, train.y, x_syn, y_syn, names, fs)
    per_class = [v["mean"] for v in out["psd_distance_by_class"].values() if v is not None]
    out["psd_distance"] = float(np.mean(per_class)) if per_class else None
    ref = test if len(test) else val
    out["nn_dtw"] = M.nn_dtw(x_syn, train.x, ref.x, y_syn=y_syn, y_train=train.y, y_ref=ref.y, class_names=names,
                             max_syn=settings.dtw_max_syn, max_train=settings.dtw_max_train,
                             max_ref=settings.dtw_max_ref, seed=seed)
    out["memorised_fraction"] = out["nn_dtw"]["memorised_fraction"]
    return out


def evaluate_synthetic(real: WindowSet, x_syn: np.ndarray, y_syn: np.ndarray, *, preset: str, seed: int = 0,
                       int8: Any = None, quick: bool = False, out_dir: str | os.PathLike | None = None,
                       history: Any = None, min_confidence: float = 0.5, acceptance: Mapping | None = None,
                       full_scale_g: float | None = None, settings: EvalSettings | None = None,
                       synthesizer: Synthesizer | None = None) -> dict:
    """Every ``gan.*`` figure of the report for synthetic windows ``x_syn`` (mg) with labels ``y_syn``.

    ``real`` must have ``train`` and ``test`` splits (``val`` is used for early stopping when
    present). ``int8`` (an ``Int8Classifier``) gives ``acceptance_rate``/``acceptance_by_class`` on
    ``x_syn``; ``acceptance`` (e.g. ``{"acceptance_rate": ..., "acceptance_by_class": ...}`` from a
    ``SyntheticSet``, i.e. at sampling time) takes precedence for those two keys when given.
    ``quick`` uses :data:`QUICK` budgets. With ``out_dir``, the plots are written there as PNG
    and their paths returned under ``"figures"`` (pop it before writing metrics.json, or pass it
    to :func:`evaluation.report.write_report`); ``history`` (GAN history dict / ``history.csv``) adds the
    training curves. ``synthesizer`` (see :func:`augmentation_gain`) trains a generator on each
    augmentation row's own real windows; without it only the 100 % row is measured.

    Keys: trtr_accuracy, tstr_accuracy, tstr_ratio, trtr_macro_f1, tstr_macro_f1, trtr_confusion,
    tstr_confusion, augmentation_gain, discriminative_score, discriminative_std,
    discriminative_accuracies, discriminative_reference, mmd, mmd_by_class, psd_distance, psd_distance_by_class, nn_dtw,
    memorised_fraction, acceptance_rate, acceptance_by_class, acceptance_source, n_synthetic,
    n_synthetic_by_class, n_real_train, n_real_test, preset, seed, quick, eval_seconds.
    """
    t0 = time.perf_counter()
    cfg = settings or (QUICK if quick else FULL)
    x_syn, y_syn = _check_synthetic(real, x_syn, y_syn)
    train, val, test = _splits(real)
    names = list(real.class_names)
    fs = _fs(real)

    out: dict[str, Any] = {"preset": str(preset), "seed": int(seed), "quick": bool(quick)}
    out.update(train_test_scores(real, x_syn, y_syn, preset=preset, seed=seed, settings=cfg,
                                 full_scale_g=full_scale_g))
    out["augmentation_gain"] = augmentation_gain(real, synthesizer or (x_syn, y_syn), preset=preset, seed=seed,
                                                 percents=cfg.augment_percents, settings=cfg,
                                                 full_scale_g=full_scale_g, trtr_accuracy=out["trtr_accuracy"])
    out.update(_discriminative(train, test, x_syn, y_syn, len(names), seed=seed, settings=cfg))
    out.update(_distances(train, val, test, x_syn, y_syn, names, fs=fs, seed=seed, settings=cfg))
    out["acceptance_rate"], out["acceptance_by_class"], out["acceptance_source"] = resolve_acceptance(
        int8, x_syn, y_syn, names, min_confidence=min_confidence, acceptance=acceptance)

    out["n_synthetic"] = int(len(x_syn))
    out["n_synthetic_by_class"] = {c: int(np.sum(y_syn == i)) for i, c in enumerate(names)}
    out["n_real_train"], out["n_real_test"] = int(len(train)), int(len(test))

    if out_dir is not None:
        from evaluation.plots import evaluation_figures

        out["figures"] = {k: str(v) for k, v in evaluation_figures(
            train, x_syn, y_syn, out_dir, fs=fs, seed=seed, trtr_confusion=out["trtr_confusion"],
            tstr_confusion=out["tstr_confusion"], history=history, max_points=cfg.embed_points,
            per_class=cfg.plot_per_class, tsne_iter=cfg.tsne_iter).items()}
    out["eval_seconds"] = time.perf_counter() - t0
    return {k: _finite_or_none(v) for k, v in out.items()}


__all__ = [
    "AUGMENT_PERCENTS", "EvalSettings", "FULL", "LEAK_NOTE", "QUICK", "Synthesizer", "augmentation_gain",
    "build_posthoc_discriminator", "seen_windows",
    "discriminative_score", "evaluate_synthetic", "int8_acceptance", "resolve_acceptance", "subsample_by_group",
    "train_test_scores",
]
