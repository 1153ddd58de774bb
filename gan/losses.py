"""GAN loss math, per example, with ``keras.ops`` only (numpy builds constants): the one copy both train
steps use (:mod:`gan.train_step_tf` for TensorFlow, :mod:`gan.train_step_jax` for JAX).

Every function returns one value per example (shape (B,)); the train step sums and divides by
the GLOBAL batch size, which keeps the gradients right under ``tf.distribute`` (each replica's
gradients are summed).
"""

from __future__ import annotations

import numpy as np
from keras import ops

from gan.layers import MEAN_REF_MG  # the mean's length enters as ln(1 + |mean| / MEAN_REF_MG)

LOSSES = ("wasserstein", "minimax")
GP_EPSILON = 1e-12


def _flat(d):
    return ops.reshape(d, (-1,))


def critic_loss(d_real, d_fake, kind: str = "wasserstein"):
    """Critic loss per example.

    wasserstein: ``D(fake) - D(real)``; minimax: binary cross-entropy from logits,
    ``softplus(-D(real)) + softplus(D(fake))`` (= -log sigmoid(D(real)) - log(1 - sigmoid(D(fake)))).
    """
    d_real, d_fake = _flat(d_real), _flat(d_fake)
    if kind == "wasserstein":
        return d_fake - d_real
    if kind == "minimax":
        return ops.softplus(-d_real) + ops.softplus(d_fake)
    raise ValueError(f"unknown GAN loss {kind!r}; valid: {', '.join(LOSSES)}")


def generator_loss(d_fake, kind: str = "wasserstein"):
    """Adversarial generator loss per example: ``-D(fake)``, or the non-saturating
    ``softplus(-D(fake))`` (= -log sigmoid(D(fake))) for minimax."""
    d_fake = _flat(d_fake)
    if kind == "wasserstein":
        return -d_fake
    if kind == "minimax":
        return ops.softplus(-d_fake)
    raise ValueError(f"unknown GAN loss {kind!r}; valid: {', '.join(LOSSES)}")


def interpolate(real, fake, alpha):
    """Points on the lines between real and fake samples: ``real + alpha * (fake - real)``;
    ``alpha`` is (B, 1, ..., 1), uniform in [0, 1] per sample."""
    return real + alpha * (fake - real)


def gradient_norm(grads):
    """Per-sample L2 norm over all non-batch axes, ``sqrt(sum(g^2) + 1e-12)`` (finite gradient at 0)."""
    axes = tuple(range(1, len(grads.shape)))
    return ops.sqrt(ops.sum(ops.square(grads), axis=axes) + GP_EPSILON)


def gradient_penalty(grads):
    """WGAN-GP penalty per example, ``(||grad D(x_hat)|| - 1)^2`` (Gulrajani et al. 2017)."""
    return ops.square(gradient_norm(grads) - 1.0)


def drift_penalty(d_real):
    """Drift term per example, ``D(real)^2`` (Karras et al. 2018): keeps critic scores near 0."""
    return ops.square(_flat(d_real))


def classifier_crossentropy(labels, probs):
    """Cross-entropy of the classifier's softmax output against the requested class, per example."""
    labels = ops.cast(_flat(labels), "int32")
    return ops.sparse_categorical_crossentropy(labels, probs, from_logits=False)


def classifier_hits(labels, probs):
    """1.0 where the classifier's top class is the requested one, else 0.0 (per example)."""
    labels = ops.cast(_flat(labels), "int32")
    return ops.cast(ops.equal(ops.cast(ops.argmax(probs, axis=-1), "int32"), labels), "float32")


def average(per_example, global_batch_size):
    """Sum over this replica's examples divided by the global batch size (``compute_average_loss``)."""
    return ops.sum(per_example) / ops.cast(global_batch_size, per_example.dtype)


def critic_total(d_real, d_fake, gp, kind: str, gp_weight: float, drift_weight: float = 0.0):
    """The critic's whole loss per example: adversarial + ``gp_weight`` x penalty (+ drift)."""
    total = critic_loss(d_real, d_fake, kind) + gp_weight * gp
    if drift_weight:
        total = total + drift_weight * drift_penalty(d_real)
    return total


STATS_FLOOR_MG = 0.5  # added in quadrature to every std: the logs stay finite on flat windows
SPECTRUM_SEGMENTS = (16, 8)  # Welch segment lengths (samples) of the spectral statistics: two resolutions


def amplitude_statistics(x):
    """Per window (B, 2C): the log std (ln mg) of each axis's motion and of its sample-to-sample steps.

    What gives fakes away at a glance: how much a window moves (a stationary wrist: a few mg) and how
    jagged it is."""
    motion = x - ops.mean(x, axis=1, keepdims=True)
    steps = x[:, 1:, :] - x[:, :-1, :]
    steps = steps - ops.mean(steps, axis=1, keepdims=True)
    floor = STATS_FLOOR_MG ** 2
    return ops.concatenate([0.5 * ops.log(ops.mean(ops.square(motion), axis=1) + floor),
                            0.5 * ops.log(ops.mean(ops.square(steps), axis=1) + floor)], axis=-1)


def mean_length(x):
    """Per window (B, 1): ``ln(1 + |mean| / MEAN_REF_MG)``, the log length of the window's mean vector.

    How far from zero a window sits: 1 g with gravity in, a few mg once a gravity filter has taken it
    out, which a critic that sees the full scale barely tells from a hundred. The length, not the
    axes: the direction is the sensor's orientation, a joint distribution that matching each axis
    alone would distort."""
    mean = ops.mean(x, axis=1)
    return ops.log1p(ops.sqrt(ops.sum(ops.square(mean), axis=-1, keepdims=True) + STATS_FLOOR_MG ** 2) / MEAN_REF_MG)


def window_spectra(x):
    """Per window: :func:`log_spectrum` of the three axes and of the vector's length (norm), at each of
    ``SPECTRUM_SEGMENTS`` (at most the window's length).

    A sensor's own filtering sets how much power sits near the Nyquist frequency, and a generator's
    upsampling leaves a ripple there that the critic's strided convolutions barely see; a gait's
    cadence is a peak a few bins wide. Two resolutions, as the multi-resolution spectral losses of
    waveform GANs (Yamamoto et al. 2020). The norm's spectrum holds what the axes' summed powers lose,
    how the axes move together (a leg's swing in a pocket, a still sensor's noise around zero), and it
    does not depend on the sensor's orientation either."""
    segments = sorted({min(int(n), x.shape[1]) for n in SPECTRUM_SEGMENTS}, reverse=True)
    norm = ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True) + STATS_FLOOR_MG ** 2)
    return ops.concatenate([log_spectrum(v, n) for v in (x, norm) for n in segments], axis=-1)


def _welch_basis(length: int, segment: int) -> np.ndarray:
    """(length, segments x 2 x bins): one linear map from a window to the Hann-windowed cosine and sine
    coefficients, at bins 1..segment/2 and scaled as Welch's density, of each of its half-overlapping
    segments with the segment's mean removed. One matrix product instead of a slice, a mean and two
    products per segment: the train step's graph stays small, so its first update is ready sooner."""
    n = np.arange(segment)
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / segment)  # periodic, as scipy.signal.welch's default
    k = np.arange(1, segment // 2 + 1)
    one_sided = np.where(2 * k == segment, 1.0, 2.0)  # the Nyquist bin has no mirror image
    angle = 2.0 * np.pi * n[:, None] * k[None, :] / segment
    basis = np.stack([np.cos(angle), np.sin(angle)], axis=1) * np.sqrt(one_sided / np.sum(hann ** 2))
    basis = hann[:, None, None] * basis
    basis = basis - basis.mean(axis=0)  # (seg - mean(seg)) @ B == seg @ (B - mean(B)): the mean removed
    starts = range(0, length - segment + 1, segment // 2)
    full = np.zeros((length, len(starts), 2, segment // 2))
    for i, s in enumerate(starts):
        full[s:s + segment, i] = basis
    return full.reshape(length, -1).astype("float32")


def log_spectrum(x, segment: int):
    """Per window (B, segment // 2): half the log Welch power (mg^2 per unit frequency, the axes' powers
    summed: a sensor's orientation does not change it) at frequency bins 1..segment/2, the segments
    Hann-windowed with half overlap and their means removed: ``scipy.signal.welch(x, nperseg=segment,
    axis=1).sum(-1)`` bin for bin, plus the floor. One number per frequency, in ln mg like the stds."""
    basis = _welch_basis(int(x.shape[1]), int(segment))
    bins = int(segment) // 2
    n_segments = basis.shape[1] // (2 * bins)
    coefficients = ops.matmul(ops.transpose(x, (0, 2, 1)), basis)  # B x C x (segments x 2 x bins)
    power = ops.reshape(ops.sum(ops.square(coefficients), axis=1), (-1, 2 * n_segments, bins))
    return 0.5 * ops.log(ops.sum(power, axis=1) / n_segments + STATS_FLOOR_MG ** 2)


def _sorted_distance(real, fake, labels):
    """Per example: mean squared distance between class-wise sorted statistics (B, K) of real and fake."""
    offset = 1000.0 * ops.cast(ops.reshape(labels, (-1, 1)), "float32")
    real = ops.sort(real + offset, axis=0)
    fake = ops.sort(fake + offset, axis=0)
    return ops.mean(ops.square(fake - ops.stop_gradient(real)), axis=-1)


STATISTICS = (amplitude_statistics, mean_length, window_spectra)
"""The groups :func:`statistics_matching` matches, each group's mean distance counted once: the spectrum's
many bins do not dilute the amplitudes, nor the amplitudes the mean (a classifier's feedback pulls a
quiet class off zero where one number among seven holds it)."""


def statistics_matching(x_real, x_fake, labels):
    """Per example: for each group of :data:`STATISTICS`, the mean squared distance between the class-wise
    sorted statistics of real and fake windows carrying the same ``labels`` (one 1-D Wasserstein-2 per
    class and statistic); the groups' distances summed.

    Sorting each statistic by (class, value) pairs the k-th smallest real value of a class with the
    k-th smallest fake one; the real and fake batches have the same labels, so the pairs line up."""
    return sum(_sorted_distance(stats(x_real), stats(x_fake), labels) for stats in STATISTICS)


def generator_total(d_fake, labels, probs, kind: str, classifier_weight: float, x_real=None, x_fake=None,
                    stats_weight: float = 0.0):
    """The generator's whole loss per example: adversarial + ``classifier_weight`` x cross-entropy of
    the frozen classifier's output ``probs`` (``None``: no classifier feedback) + ``stats_weight`` x
    :func:`statistics_matching` against real windows of the same labels (when given)."""
    per_example = generator_loss(d_fake, kind)
    if probs is not None:
        per_example = per_example + classifier_weight * classifier_crossentropy(labels, probs)
    if stats_weight and x_real is not None:
        per_example = per_example + stats_weight * statistics_matching(x_real, x_fake, labels)
    return per_example


def step_metrics(critic_mean, generator_mean, gp_mean, wasserstein_mean, labels, probs) -> dict:
    """The values a train step logs (the Mean trackers' inputs); classifier metrics when ``probs`` is given."""
    out = {"loss": critic_mean + generator_mean, "critic_loss": critic_mean, "generator_loss": generator_mean,
           "gradient_penalty": gp_mean, "wasserstein": wasserstein_mean}
    if probs is not None:
        out["classifier_loss"] = ops.mean(classifier_crossentropy(labels, probs))
        out["classifier_accuracy"] = ops.mean(classifier_hits(labels, probs))
    return out
