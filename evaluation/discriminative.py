"""The post-hoc discriminative score: how easily a small CNN tells real windows from synthetic ones.

TimeGAN's measure: train a classifier on real vs synthetic (class-matched, balanced) windows and
report ``|test accuracy - 0.5|``: 0 = indistinguishable, 0.5 = trivially told apart.
"""

from __future__ import annotations

import numpy as np

from evaluation import metrics as M
from har_data.errors import InputError


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


def _strata(strata: np.ndarray, fallback: np.ndarray, test_size: float, min_count: int) -> np.ndarray:
    """``strata`` to stratify a split by, when every stratum has ``min_count`` windows and both parts can
    hold one of each (a small synthetic set has fewer windows than (source, class) strata); else
    ``fallback`` (the source alone)."""
    n = len(strata)
    n_test = int(np.ceil(test_size * n))
    values, counts = np.unique(strata, return_counts=True)
    fits = counts.min() >= min_count and len(values) <= min(n_test, n - n_test)
    return strata if fits else fallback


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
        x_tr, x_te, s_tr, s_te, st_tr, _ = train_test_split(x, src, strata, test_size=1 / 3, random_state=s,
                                                            stratify=_strata(strata, src, 1 / 3, 3))
        x_fit, x_val, s_fit, s_val = train_test_split(x_tr, s_tr, test_size=0.2, random_state=s,
                                                      stratify=_strata(st_tr, s_tr, 0.2, 2))
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
