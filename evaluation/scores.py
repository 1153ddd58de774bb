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
  recording, see :func:`subsample_by_group`), accuracy of real-only vs real + all synthetic.
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

import math
import os
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from evaluation import metrics as M
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


def augmentation_gain(real: WindowSet, x_syn: np.ndarray, y_syn: np.ndarray, *, preset: str, seed: int = 0,
                      percents: Sequence[int] = AUGMENT_PERCENTS, settings: EvalSettings = FULL,
                      full_scale_g: float | None = None, trtr_accuracy: float | None = None) -> dict[str, dict]:
    """``{"5": {fraction, n_real, n_synthetic, real_only, real_plus_synthetic, gain}, ...}`` on the real test split.

    ``real_only`` trains on x % of the real training windows (:func:`subsample_by_group`, seeded),
    ``real_plus_synthetic`` on the same windows plus every synthetic window; same preset, seed and
    protocol as TRTR. ``trtr_accuracy`` (when given) is reused as the 100 % real-only figure,
    which is the same training run.
    """
    x_syn, y_syn = _check_synthetic(real, x_syn, y_syn)
    train, val, test = _splits(real)
    fsg = _full_scale(real, full_scale_g)
    out: dict[str, dict] = {}
    for pct in percents:
        frac = float(pct) / 100.0
        idx = subsample_by_group(train.y, train.group, frac, seed) if frac < 1 else np.arange(len(train))
        xr, yr = train.x[idx], train.y[idx]
        if frac >= 1 and trtr_accuracy is not None:
            real_only = float(trtr_accuracy)
        else:
            real_only = _fit_and_score(xr, yr, real, val, test, preset=preset, seed=seed, settings=settings,
                                       full_scale_g=fsg)[0]["accuracy"]
        mixed = _fit_and_score(np.concatenate([xr, x_syn]), np.concatenate([yr, y_syn]), real, val, test,
                               preset=preset, seed=seed, settings=settings, full_scale_g=fsg)[0]["accuracy"]
        out[str(pct)] = {"fraction": frac, "n_real": int(len(idx)), "n_synthetic": int(len(x_syn)),
                         "real_only": real_only, "real_plus_synthetic": mixed, "gain": mixed - real_only}
    return out


def build_posthoc_discriminator(window_length: int, channels: int = 3, seed: int | None = None):
    """The post-hoc real-vs-synthetic classifier: Conv1D(16,5)-Conv1D(32,5)-global mean+max-Dense(1, sigmoid).

    A 2-layer network in the spirit of TimeGAN's post-hoc discriminator (which uses a 2-layer
    GRU); a CNN is used because it trains several times faster on CPU. Inputs are windows
    standardized per channel with the real windows' statistics.
    """
    import keras
    from keras import layers

    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    inputs = keras.Input(shape=(int(window_length), int(channels)), name="window")
    x = layers.Conv1D(16, 5, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.Conv1D(32, 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.Concatenate(name="pool")([layers.GlobalAveragePooling1D(name="gap")(x),
                                         layers.GlobalMaxPooling1D(name="gmp")(x)])
    outputs = layers.Dense(1, activation="sigmoid", name="p_synthetic")(x)
    return keras.Model(inputs, outputs, name="posthoc_discriminator")


def discriminative_score(x_real: np.ndarray, y_real: np.ndarray, x_syn: np.ndarray, y_syn: np.ndarray,
                         num_classes: int, *, seeds: int = 3, seed: int = 0, epochs: int = 40, patience: int = 5,
                         max_per_class: int | None = 1000, batch_size: int = 64) -> dict:
    """Post-hoc discriminative score: mean over ``seeds`` runs of ``|test accuracy - 0.5|``.

    Each run (seed ``seed + k``) takes class-matched windows (the same number of real and synthetic
    windows of every class, up to ``max_per_class``, so the class mix cannot give the sets away),
    splits them 2/3 train, 1/3 test, stratified by (source, class), holds out a fifth of the
    training part for early stopping (best validation loss restored) and scores the test third.
    Returns score, std, accuracies, scores and n_per_set.
    """
    import keras
    from sklearn.model_selection import train_test_split

    x_real = np.asarray(x_real, dtype=np.float32)
    x_syn = np.asarray(x_syn, dtype=np.float32)
    mean, std = M.channel_stats(x_real)
    accs: list[float] = []
    n_per_set = 0
    for k in range(int(seeds)):
        s = int(seed) + k
        ir, is_ = M.class_matched_indices(y_real, y_syn, num_classes, max_per_class, seed=s)
        if len(ir) < 6:
            raise InputError(f"too few class-matched windows for the discriminative score ({len(ir)} per set)")
        n_per_set = int(len(ir))
        x = np.concatenate([x_real[ir], x_syn[is_]])
        x = ((x - mean) / std).astype(np.float32)
        src = np.concatenate([np.zeros(len(ir)), np.ones(len(is_))]).astype(np.float32)
        strata = np.concatenate([np.asarray(y_real)[ir], np.asarray(y_syn)[is_]]) * 2 + src.astype(np.int64)
        strat_ok = np.min(np.unique(strata, return_counts=True)[1]) >= 3
        x_tr, x_te, s_tr, s_te, st_tr, _ = train_test_split(x, src, strata, test_size=1 / 3, random_state=s,
                                                            stratify=strata if strat_ok else src)
        strat_ok = np.min(np.unique(st_tr, return_counts=True)[1]) >= 2
        x_fit, x_val, s_fit, s_val = train_test_split(x_tr, s_tr, test_size=0.2, random_state=s,
                                                      stratify=st_tr if strat_ok else s_tr)
        model = build_posthoc_discriminator(x.shape[1], x.shape[2], seed=s)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x_fit, s_fit, validation_data=(x_val, s_val), epochs=int(epochs), batch_size=int(batch_size),
                  shuffle=True, verbose=0,
                  callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(patience),
                                                           restore_best_weights=True)])
        p = model.predict(x_te, batch_size=1024, verbose=0).reshape(-1)
        accs.append(float(np.mean((p > 0.5) == (s_te > 0.5))))
    scores = [abs(a - 0.5) for a in accs]
    return {"score": float(np.mean(scores)), "std": float(np.std(scores)), "accuracies": accs, "scores": scores,
            "n_per_set": n_per_set}


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


def evaluate_synthetic(real: WindowSet, x_syn: np.ndarray, y_syn: np.ndarray, *, preset: str, seed: int = 0,
                       int8: Any = None, quick: bool = False, out_dir: str | os.PathLike | None = None,
                       history: Any = None, min_confidence: float = 0.5, acceptance: Mapping | None = None,
                       full_scale_g: float | None = None, settings: EvalSettings | None = None) -> dict:
    """Every ``gan.*`` figure of the report for synthetic windows ``x_syn`` (mg) with labels ``y_syn``.

    ``real`` must have ``train`` and ``test`` splits (``val`` is used for early stopping when
    present). ``int8`` (an ``Int8Classifier``) gives ``acceptance_rate``/``acceptance_by_class`` on
    ``x_syn``; ``acceptance`` (e.g. ``{"acceptance_rate": ..., "acceptance_by_class": ...}`` from a
    ``SyntheticSet``, i.e. at sampling time) takes precedence for those two keys when given.
    ``quick`` uses :data:`QUICK` budgets. With ``out_dir``, the plots are written there as PNG
    and their paths returned under ``"figures"`` (pop it before writing metrics.json, or pass it
    to :func:`evaluation.report.write_report`); ``history`` (GAN history dict / ``history.csv``) adds the
    training curves.

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
    out["augmentation_gain"] = augmentation_gain(real, x_syn, y_syn, preset=preset, seed=seed,
                                                 percents=cfg.augment_percents, settings=cfg,
                                                 full_scale_g=full_scale_g, trtr_accuracy=out["trtr_accuracy"])
    try:
        disc = discriminative_score(train.x, train.y, x_syn, y_syn, len(names), seeds=cfg.disc_seeds, seed=seed,
                                    epochs=cfg.disc_epochs, patience=cfg.disc_patience,
                                    max_per_class=cfg.disc_max_per_class)
    except InputError:  # too few windows of shared classes to train a discriminator: no score
        disc = {"score": None, "std": None, "accuracies": []}
    out.update(discriminative_score=disc["score"], discriminative_std=disc["std"],
               discriminative_accuracies=disc["accuracies"])
    out["discriminative_reference"] = None
    if cfg.disc_reference:  # real test recordings vs real training recordings: the floor real data reaches
        try:
            out["discriminative_reference"] = discriminative_score(
                train.x, train.y, test.x, test.y, len(names), seeds=1, seed=seed, epochs=cfg.disc_epochs,
                patience=cfg.disc_patience, max_per_class=cfg.disc_max_per_class)["score"]
        except InputError:
            pass
    out["mmd"], out["mmd_by_class"] = M.mmd_by_class(train.x, train.y, x_syn, y_syn, names,
                                                     max_per_class=cfg.mmd_max_per_class, seed=seed)
    out["psd_distance_by_class"] = M.psd_distance_by_class(train.x, train.y, x_syn, y_syn, names, fs)
    per_class = [v["mean"] for v in out["psd_distance_by_class"].values() if v is not None]
    out["psd_distance"] = float(np.mean(per_class)) if per_class else None
    ref = test if len(test) else val
    out["nn_dtw"] = M.nn_dtw(x_syn, train.x, ref.x, y_syn=y_syn, y_train=train.y, y_ref=ref.y, class_names=names,
                             max_syn=cfg.dtw_max_syn, max_train=cfg.dtw_max_train, max_ref=cfg.dtw_max_ref, seed=seed)
    out["memorised_fraction"] = out["nn_dtw"]["memorised_fraction"]

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
    "AUGMENT_PERCENTS", "EvalSettings", "FULL", "QUICK", "augmentation_gain", "build_posthoc_discriminator",
    "discriminative_score", "evaluate_synthetic", "int8_acceptance", "resolve_acceptance", "subsample_by_group",
    "train_test_scores",
]
