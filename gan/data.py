"""The training input pipeline: real windows for the critic, ``n_critic`` sub-batches per step."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from har_data.validate import check_array


def make_gan_dataset(x_mg: np.ndarray, y: np.ndarray, batch_size: int, seed: int = 0, *,
                     n_critic: int = 5) -> tf.data.Dataset:
    """An endless, shuffled ``tf.data.Dataset`` of ``(x_mg, y)`` batches of ``n_critic * batch_size`` windows.

    One ``ConditionalWGANGP.train_step`` (= one generator update) consumes one element: it cuts
    it into ``n_critic`` sub-batches of ``batch_size`` real windows, one per critic update, and
    takes the labels of the first sub-batch for the generator update. Under ``tf.distribute``
    the element is the global batch, split across replicas by ``fit``. Same seed, same order.
    """
    x = check_array(x_mg, "training windows", dtype=np.float32)  # NaN here would train on NaN losses
    y = check_array(y, "training labels").astype(np.int32).reshape(-1)
    if x.ndim != 3 or len(x) != len(y):
        raise ValueError(f"x_mg must be N x T x C with one label per window, got {x.shape} and {y.shape}")
    if len(x) == 0:
        raise ValueError("no windows to train on")
    if int(batch_size) < 1 or int(n_critic) < 1:
        raise ValueError(f"batch_size and n_critic must be >= 1 (got {batch_size}, {n_critic})")
    step_batch = int(n_critic) * int(batch_size)
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.repeat().shuffle(max(len(x), step_batch), seed=int(seed), reshuffle_each_iteration=True)
    ds = ds.batch(step_batch, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)
