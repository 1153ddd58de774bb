"""GAN loss math, per example, with ``keras.ops`` only: the one copy both train steps use
(:mod:`gan.train_step_tf` for TensorFlow, :mod:`gan.train_step_jax` for JAX).

Every function returns one value per example (shape (B,)); the train step sums and divides by
the GLOBAL batch size, which keeps the gradients right under ``tf.distribute`` (each replica's
gradients are summed).
"""

from __future__ import annotations

from keras import ops

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
MEAN_REF_MG = 10.0  # the mean's length enters as ln(1 + |mean| / MEAN_REF_MG): a few mg and 1 g both count


def window_statistics(x):
    """Per window (B, 2C + 1): the log std (ln mg) of each axis's motion and of its sample-to-sample
    steps, and the log length of the window's mean vector.

    What gives fakes away at a glance: how much a window moves (a stationary wrist: a few mg), how
    jagged it is, and how far from zero it sits: 1 g with gravity in, a few mg once a gravity filter
    has taken it out, which a critic that sees the full scale barely tells from a hundred. The mean's
    length, not its axes: the direction is the sensor's orientation, a joint distribution that
    matching each axis alone would distort."""
    mean = ops.mean(x, axis=1, keepdims=True)
    motion = x - mean
    steps = x[:, 1:, :] - x[:, :-1, :]
    steps = steps - ops.mean(steps, axis=1, keepdims=True)
    floor = STATS_FLOOR_MG ** 2
    length = ops.sqrt(ops.sum(ops.square(mean[:, 0, :]), axis=-1, keepdims=True) + floor)
    return ops.concatenate([0.5 * ops.log(ops.mean(ops.square(motion), axis=1) + floor),
                            0.5 * ops.log(ops.mean(ops.square(steps), axis=1) + floor),
                            ops.log1p(length / MEAN_REF_MG)], axis=-1)


def statistics_matching(x_real, x_fake, labels):
    """Per example: squared distance between the class-wise sorted :func:`window_statistics` of real and
    fake windows carrying the same ``labels`` (one 1-D Wasserstein-2 per class and statistic).

    Sorting each statistic by (class, value) pairs the k-th smallest real value of a class with the
    k-th smallest fake one; the real and fake batches have the same labels, so the pairs line up."""
    offset = 1000.0 * ops.cast(ops.reshape(labels, (-1, 1)), "float32")
    real = ops.sort(window_statistics(x_real) + offset, axis=0)
    fake = ops.sort(window_statistics(x_fake) + offset, axis=0)
    return ops.mean(ops.square(fake - ops.stop_gradient(real)), axis=-1)


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
