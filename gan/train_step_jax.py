"""The JAX train step of :class:`gan.wgan.ConditionalWGANGP` (``KERAS_BACKEND=jax``).

Keras's JAX trainer calls ``train_step(state, data)`` with the values of every variable and wants
the new values back: nothing is assigned in place. So the step is a pure function: the models run
through ``stateless_call``, gradients come from ``jax.value_and_grad`` (the gradient penalty's
input gradient from ``jax.vjp``, differentiated again), and the two optimizers update through
``stateless_apply``. The loss math is :mod:`gan.losses`, the same ``keras.ops`` code the
TensorFlow step (:mod:`gan.train_step_tf`) runs. Random numbers come from ``jax.random`` keyed by
(seed, step), so a run is reproducible (but draws other numbers than the TensorFlow step).

``fit`` compiles the step with ``jax.jit`` (``jit_compile="auto"`` is on under JAX).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from gan import keras_compat, losses
from gan.wgan import ConditionalWGANGP, check_step_batch


@dataclass(frozen=True)
class _Layout:
    """Where each sub-model's variables sit in the trainer's flat state lists."""

    g_trainable: list[int]
    c_trainable: list[int]
    g_non_trainable: list[int]
    c_non_trainable: list[int]
    cls_non_trainable: list[int]
    step_counter: int
    g_optimizer: slice
    c_optimizer: slice


def _indices(all_vars, sub_vars, what: str) -> list[int]:
    where = {id(v): i for i, v in enumerate(all_vars)}
    try:
        return [where[id(v)] for v in sub_vars]
    except KeyError:
        raise RuntimeError(f"a {what} variable is not in the model's variables (was a layer frozen after "
                           "compile()? compile again)") from None


def _layout(gan) -> _Layout:
    trainable, non_trainable = gan.trainable_variables, gan.non_trainable_variables
    n_g_opt = len(gan.g_optimizer.variables)
    cls_nt = [] if gan.classifier is None else gan.classifier.non_trainable_variables
    if gan.classifier is not None and gan.classifier.trainable_variables:
        raise RuntimeError("the feedback classifier must be frozen (trainable = False)")
    return _Layout(
        g_trainable=_indices(trainable, gan.generator.trainable_variables, "generator"),
        c_trainable=_indices(trainable, gan.critic.trainable_variables, "critic"),
        g_non_trainable=_indices(non_trainable, gan.generator.non_trainable_variables, "generator"),
        c_non_trainable=_indices(non_trainable, gan.critic.non_trainable_variables, "critic"),
        cls_non_trainable=_indices(non_trainable, cls_nt, "classifier"),
        step_counter=_indices(non_trainable, [gan.step_counter], "step counter")[0],
        g_optimizer=slice(0, n_g_opt),
        c_optimizer=slice(n_g_opt, n_g_opt + len(gan.c_optimizer.variables)))


def _take(values, idx):
    return [values[i] for i in idx]


def _put(values: list, idx, new) -> None:
    for i, v in zip(idx, new):
        values[i] = v


def _critic_loss(gan, b, c_tr, c_nt, x_real, x_fake, alpha, labels):
    """The critic's loss on ``b`` real and ``b`` fake windows, and (new non-trainables, penalty, Wasserstein)."""
    x_hat = losses.interpolate(x_real, x_fake, alpha)
    d, c_nt = gan.critic.stateless_call(c_tr, c_nt, [jnp.concatenate([x_real, x_fake], 0),
                                                     jnp.concatenate([labels, labels], 0)], training=True)
    # The penalty's input gradient only over the interpolates (rows are independent: no BatchNorm),
    # so the double backward pass runs on b rows, not on all 3b.
    d_hat, vjp, c_nt = jax.vjp(lambda xh: gan.critic.stateless_call(c_tr, c_nt, [xh, labels], training=True),
                               x_hat, has_aux=True)
    (grads_hat,) = vjp(jnp.ones_like(d_hat))
    # Gradient w.r.t. the critic's own input unit (mg / full scale): 1-Lipschitz there, not in mg.
    gp = losses.gradient_penalty(grads_hat * gan.gp_input_scale)
    d_real, d_fake = d[:b], d[b:]
    total = losses.critic_total(d_real, d_fake, gp, gan.loss_kind, gan.gp_weight, gan.drift_weight)
    wasserstein = -losses.critic_loss(d_real, d_fake, "wasserstein")
    return losses.average(total, b), (c_nt, losses.average(gp, b), losses.average(wasserstein, b))


def _classify(gan, cls_nt, x_fake):
    return gan.classifier.stateless_call([], cls_nt, x_fake, training=False)[0]


def _generator_loss(gan, z, labels, x_real, c_tr, c_nt, cls_nt, g_tr, g_nt):
    """The generator's loss (critic and classifier fixed), and (new non-trainables, fakes, probabilities)."""
    use_feedback = gan.classifier is not None and gan.classifier_weight != 0.0
    x_fake, g_nt = gan.generator.stateless_call(g_tr, g_nt, [z, labels], training=True)
    d_fake, _ = gan.critic.stateless_call(c_tr, c_nt, [x_fake, labels], training=True)
    probs = _classify(gan, cls_nt, x_fake) if use_feedback else None
    per_example = losses.generator_total(d_fake, labels, probs, gan.loss_kind, gan.classifier_weight,
                                         x_real, x_fake, gan.stats_weight)
    return losses.average(per_example, labels.shape[0]), (g_nt, x_fake, probs)


def _update_metrics(gan, metric_vars, values) -> tuple[dict, list]:
    """Each tracker's stateless update with this step's value: ``(logs, new metric variables)``."""
    logs, new_metric_vars, at = {}, [], 0
    for name, tracker in gan.trackers.items():
        mine = metric_vars[at:at + len(tracker.variables)]
        at += len(tracker.variables)
        mine = tracker.stateless_update_state(mine, values[name])
        logs[name] = tracker.stateless_result(mine)
        new_metric_vars += list(mine)
    return logs, new_metric_vars


def train_step(gan: ConditionalWGANGP, state: tuple, data: tuple) -> tuple[dict, tuple]:
    """``n_critic`` critic updates + one generator update; returns ``(logs, new_state)``."""
    trainable, non_trainable, opt_vars, metric_vars = state
    lay = keras_compat.untracked(gan, "_jax_layout")
    if lay is None:
        lay = _layout(gan)
        keras_compat.set_untracked(gan, "_jax_layout", lay)
    trainable, non_trainable = list(trainable), list(non_trainable)
    g_tr, c_tr = _take(trainable, lay.g_trainable), _take(trainable, lay.c_trainable)
    g_nt, c_nt = _take(non_trainable, lay.g_non_trainable), _take(non_trainable, lay.c_non_trainable)
    cls_nt = _take(non_trainable, lay.cls_non_trainable)
    g_optimizer, c_optimizer = gan.optimizers()
    g_opt, c_opt = list(opt_vars[lay.g_optimizer]), list(opt_vars[lay.c_optimizer])
    step = non_trainable[lay.step_counter]

    x = jnp.asarray(data[0], jnp.float32)
    y = jnp.reshape(jnp.asarray(data[1]), (-1,)).astype(jnp.int32)
    n = gan.n_critic
    check_step_batch(x.shape[0], n)  # shapes are static under jit: this runs once, before any update
    b = x.shape[0] // n
    key = jax.random.fold_in(jax.random.key(gan.seed), step)
    k_z, k_alpha, k_zg = jax.random.split(key, 3)

    # Fakes for all n critic updates in one generator pass (its weights do not change meanwhile).
    z = jax.random.normal(k_z, (n * b, gan.latent_dim))
    fake_all, g_nt = gan.generator.stateless_call(g_tr, g_nt, [z, y[: n * b]], training=True)
    alpha_all = jax.random.uniform(k_alpha, (n * b,) + (1,) * (x.ndim - 1))

    critic_grad = jax.value_and_grad(functools.partial(_critic_loss, gan, b), has_aux=True)
    c_loss_sum = gp_sum = w_sum = 0.0
    for i in range(n):
        part = slice(i * b, (i + 1) * b)
        (c_loss, (c_nt, gp, w)), grads = critic_grad(c_tr, c_nt, x[part], fake_all[part], alpha_all[part], y[part])
        c_tr, c_opt = c_optimizer.stateless_apply(c_opt, grads, c_tr)
        c_loss_sum, gp_sum, w_sum = c_loss_sum + c_loss, gp_sum + gp, w_sum + w

    # Generator update (the critic and the classifier are constants here).
    labels = y[:b]
    z = jax.random.normal(k_zg, (b, gan.latent_dim))
    g_loss_fn = functools.partial(_generator_loss, gan, z, labels, x[:b], c_tr, c_nt, cls_nt)
    (g_loss, (g_nt, x_fake, probs)), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(g_tr, g_nt)
    g_tr, g_opt = g_optimizer.stateless_apply(g_opt, grads, g_tr)
    if gan.classifier is not None and probs is None:
        probs = _classify(gan, cls_nt, x_fake)

    # New state, in the trainer's order.
    _put(trainable, lay.g_trainable, g_tr)
    _put(trainable, lay.c_trainable, c_tr)
    _put(non_trainable, lay.g_non_trainable, g_nt)
    _put(non_trainable, lay.c_non_trainable, c_nt)
    non_trainable[lay.step_counter] = step + 1

    values = losses.step_metrics(c_loss_sum / n, g_loss, gp_sum / n, w_sum / n, labels, probs)
    logs, new_metric_vars = _update_metrics(gan, metric_vars, values)
    return logs, (trainable, non_trainable, g_opt + c_opt, new_metric_vars)
