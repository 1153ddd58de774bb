"""The TensorFlow train step of :class:`gan.wgan.ConditionalWGANGP` (``KERAS_BACKEND=tensorflow``).

Gradient plumbing only (``tf.GradientTape``, stateless random numbers, ``tf.distribute``); the loss
math is :mod:`gan.losses`, shared with the JAX step (:mod:`gan.train_step_jax`). Per-example losses
are summed and divided by the GLOBAL batch size, so the step is correct under ``tf.distribute``
strategies, whose optimizers sum the replicas' gradients.
"""

from __future__ import annotations

import tensorflow as tf

from gan import keras_compat, losses
from gan.wgan import ConditionalWGANGP, check_step_batch

CRITIC_LOOP = True  # False: always unroll the critic updates (tests compare the two)


def _seed(gan, step, k: int):
    """A stateless-RNG seed, distinct per (run seed, replica, step, draw k)."""
    ctx = tf.distribute.get_replica_context()
    replica = 0 if ctx is None else ctx.replica_id_in_sync_group
    first = tf.cast(gan.seed * 1_000_003 + k, tf.int64) + tf.cast(replica, tf.int64) * 7919
    return tf.stack([first, tf.cast(step, tf.int64)])


def _critic_update(gan, x_real, x_fake, alpha, labels, b, global_b):
    """One critic update on ``b`` real and ``b`` fake windows; returns its loss, penalty and Wasserstein
    estimate, each this replica's share of the global-batch mean."""
    x_hat = losses.interpolate(x_real, x_fake, alpha)
    with tf.GradientTape() as tape:
        d = gan.critic([tf.concat([x_real, x_fake], 0), tf.concat([labels, labels], 0)], training=True)
        d_real, d_fake = d[:b], d[b:]
        # The penalty's input gradient only over the interpolates (rows are independent: no BatchNorm),
        # so the double backward pass runs on b rows, not on all 3b.
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(x_hat)
            d_hat = gan.critic([x_hat, labels], training=True)
        # Gradient w.r.t. the critic's own input unit (mg / full scale): 1-Lipschitz there, not in mg.
        grads_hat = gp_tape.gradient(d_hat, x_hat) * gan.gp_input_scale
        gp = losses.gradient_penalty(grads_hat)
        total = losses.critic_total(d_real, d_fake, gp, gan.loss_kind, gan.gp_weight, gan.drift_weight)
        c_loss = losses.average(total, global_b)
    c_grads = tape.gradient(c_loss, gan.critic.trainable_variables)
    gan.c_optimizer.apply_gradients(zip(c_grads, gan.critic.trainable_variables))
    wasserstein = -losses.critic_loss(d_real, d_fake, "wasserstein")
    return c_loss, losses.average(gp, global_b), losses.average(wasserstein, global_b)


def _critic_updates(gan, x, y, fake_all, alpha_all, b, global_b, replicas):
    """The ``n_critic`` critic updates; returns the sums of their losses, penalties and Wasserstein estimates.

    Without XLA they run as a ``tf.while_loop`` over one traced update: tracing (the first step's
    cost without XLA) covers one critic update instead of ``n_critic`` copies, and the loop runs as
    fast as the copies (benchmarks/profile_train_step.py). Unrolled instead: under XLA (XLA:CPU ran
    the loop at ~4x the CPU time of the copies; a persistent compilation cache, :mod:`gan.compile_cache`,
    cuts its compile instead) and under a ``tf.distribute`` strategy (the optimizer's cross-replica
    ``merge_call`` cannot run inside a while loop).
    """
    n = gan.n_critic

    def stack(t):  # (n * b, ...) -> (n, b, ...): sub-batch i is stack(t)[i]
        return tf.reshape(t, tf.concat([[n, b], tf.shape(t)[1:]], 0))

    xs, ys, fs, alphas = stack(x), stack(y), stack(fake_all), stack(alpha_all)

    def body(i, c_sum, gp_sum, w_sum):
        c_loss, gp, w = _critic_update(gan, xs[i], fs[i], alphas[i], ys[i], b, global_b)
        return i + 1, c_sum + c_loss * replicas, gp_sum + gp * replicas, w_sum + w * replicas

    carry = (0, tf.constant(0.0), tf.constant(0.0), tf.constant(0.0))
    if not CRITIC_LOOP or n == 1 or gan.jit_compile or tf.distribute.has_strategy():
        for _ in range(n):
            carry = body(*carry)
    else:
        carry = tf.while_loop(lambda i, *_: i < n, body, (tf.constant(0), *carry[1:]), parallel_iterations=1)
    return carry[1:]


def _generator_update(gan, z, labels, global_b, x_real):
    """One generator update against the critic (and the classifier's feedback); returns the loss, the
    fakes and the classifier's probabilities on them (None without feedback)."""
    use_feedback = gan.classifier is not None and gan.classifier_weight != 0.0
    probs = None
    with tf.GradientTape() as tape:
        x_fake = gan.generator([z, labels], training=True)
        d_fake = gan.critic([x_fake, labels], training=True)
        if use_feedback:
            probs = gan.classifier(x_fake, training=False)
        per_example = losses.generator_total(d_fake, labels, probs, gan.loss_kind, gan.classifier_weight,
                                             x_real, x_fake, gan.stats_weight)
        g_loss = losses.average(per_example, global_b)
    g_grads = tape.gradient(g_loss, gan.generator.trainable_variables)
    gan.g_optimizer.apply_gradients(zip(g_grads, gan.generator.trainable_variables))
    return g_loss, x_fake, probs


def train_step(gan: ConditionalWGANGP, data: tuple) -> dict:
    """``n_critic`` critic updates + one generator update on one dataset element; returns the logs."""
    x, y = data[0], data[1]
    x = tf.cast(x, tf.float32)
    y = tf.reshape(tf.cast(y, tf.int32), [-1])
    n = gan.n_critic
    local = x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]
    if isinstance(local, int):  # known when traced: a bad size stops before the first update
        check_step_batch(local, n)
        step = tf.identity(gan.step_counter)
    else:  # a batch size only known when it runs (a generator's): the same rule, checked before any update
        check = tf.debugging.assert_equal(local % n, 0, message=f"a training batch does not split into "
                                          f"n_critic={n} equal critic sub-batches: use a batch size that is "
                                          f"a multiple of {n}")
        with tf.control_dependencies([check]):  # every update reads x or the counter: none runs on a bad batch
            x, local, step = tf.identity(x), tf.identity(local), tf.identity(gan.step_counter)
    b = local // n
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    global_b = b * replicas

    # Fakes for all n critic updates in one generator pass (its weights do not change meanwhile).
    z = tf.random.stateless_normal(tf.stack([n * b, gan.latent_dim]), seed=_seed(gan, step, 0))
    fake_all = gan.generator([z, y[: n * b]], training=True)
    alpha_shape = tf.concat([[n * b], tf.ones([len(x.shape) - 1], tf.int32)], axis=0)
    alpha_all = tf.random.stateless_uniform(alpha_shape, seed=_seed(gan, step, 1))

    c_loss_sum, gp_sum, w_sum = _critic_updates(gan, x, y, fake_all, alpha_all, b, global_b, replicas)

    labels = y[:b]
    z = tf.random.stateless_normal(tf.stack([b, gan.latent_dim]), seed=_seed(gan, step, 2))
    g_loss, x_fake, probs = _generator_update(gan, z, labels, global_b, x[:b])
    gan.step_counter.assign_add(1)

    # Metrics: this replica's means (Mean trackers average them over replicas and steps).
    if gan.classifier is not None and probs is None:
        probs = gan.classifier(x_fake, training=False)
    values = losses.step_metrics(c_loss_sum / n, g_loss * replicas, gp_sum / n, w_sum / n, labels, probs)
    for name, tracker in gan.trackers.items():
        tracker.update_state(values[name])
    return keras_compat.reducible_logs({name: m.result() for name, m in gan.trackers.items()})

