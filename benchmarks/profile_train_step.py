"""Profile one GAN train step at the default config: updates/s and CPU ms per update, one setting at a time.

    python benchmarks/profile_train_step.py                       # TensorFlow, jit_compile "auto" (no XLA on a CPU)
    python benchmarks/profile_train_step.py --jit on              # TensorFlow with XLA
    python benchmarks/profile_train_step.py --jit off             # TensorFlow without XLA
    KERAS_BACKEND=jax python benchmarks/profile_train_step.py     # the JAX step
    python benchmarks/profile_train_step.py --steps-per-execution 10
    python benchmarks/profile_train_step.py --mixed-precision mixed_bfloat16
    python benchmarks/profile_train_step.py --pure-step           # the compiled step on fixed arrays, no fit/tf.data
    python benchmarks/profile_train_step.py --warmup-only         # warm-up only: imports, build, first update
    python benchmarks/profile_train_step.py --warmup-only --compile-cache DIR   # run twice: cold, then warm cache

Default models (build_generator / build_critic), the cnn1d classifier as feedback (untrained: speed
only), n_critic 5, batch 64, windows 48 x 3, random windows (N(0, 500 mg), 4 classes). After a
warm-up (trace / compile), ``--repeats`` timed runs of ``--steps`` updates; prints each run's
updates/s (wall) and CPU ms per update (process CPU time, all threads), and the medians. On a
shared or virtual machine wall time is noisy; CPU time per update is the steadier figure.

Warm-up (what a ``hargan train-gan`` waits for before its first update is done): wall and CPU
seconds of this fresh process from its start through importing Keras and hargan, building the
models and the dataset, to the end of the first ``fit`` update (trace and compile included).
``--compile-cache`` sets ``HARGAN_COMPILE_CACHE`` (a directory, or ``off``) before anything is
imported; the default is the user cache (:mod:`gan.compile_cache`).
"""

from __future__ import annotations

import argparse
import os
import time

T_START, C_START = time.perf_counter(), time.process_time()  # before Keras / TensorFlow are imported

import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300, help="timed updates per run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--jit", choices=("auto", "on", "off"), default="auto", help="jit_compile")
    ap.add_argument("--steps-per-execution", type=int, default=1)
    ap.add_argument("--mixed-precision", default=None, help="a Keras dtype policy, e.g. mixed_bfloat16")
    ap.add_argument("--no-classifier", action="store_true", help="no classifier feedback")
    ap.add_argument("--pure-step", action="store_true",
                    help="time the compiled train step on fixed arrays (no fit, no input pipeline)")
    ap.add_argument("--warmup-only", action="store_true",
                    help="only the warm-up: process start to the first update done (imports, build, compile)")
    ap.add_argument("--compile-cache", default=None, metavar="DIR|off",
                    help="persistent compilation cache directory, or off (default: hargan's user cache)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.compile_cache is not None:
        os.environ["HARGAN_COMPILE_CACHE"] = args.compile_cache

    from gan.compile_cache import cache_dir  # first: the gan package sets the cache before TensorFlow loads
    import keras
    import numpy as np

    from classifier import build_classifier
    from gan import ConditionalWGANGP, build_critic, build_generator, make_gan_dataset
    from gan.training import DEFAULT_LATENT_DIM

    backend = keras.backend.backend()
    names = ["a", "b", "c", "d"]
    rng = np.random.default_rng(args.seed)
    x = rng.normal(0.0, 500.0, (2560, 48, 3)).astype(np.float32)
    y = rng.integers(0, len(names), len(x)).astype(np.int32)
    keras.utils.set_random_seed(args.seed)
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy(args.mixed_precision)
    g = build_generator(DEFAULT_LATENT_DIM, names, 48, 3, 4.0)
    c = build_critic(names, 48, 3, 4.0)
    clf = None if args.no_classifier else build_classifier("cnn1d", 48, names, 4.0, seed=args.seed)
    gan = ConditionalWGANGP(g, c, clf, n_critic=5, seed=args.seed)
    jit = {"auto": "auto", "on": True, "off": False}[args.jit]
    gan.compile(jit_compile=jit, steps_per_execution=args.steps_per_execution)

    if args.pure_step:
        run = _pure_step_runner(gan, x[:320], y[:320], backend)
    else:
        ds = make_gan_dataset(x, y, 64, args.seed, n_critic=5)

        def run(n):
            gan.fit(ds, epochs=1, steps_per_epoch=n, verbose=0, shuffle=False)

    phases = {"imports+build": (time.perf_counter() - T_START, time.process_time() - C_START)}
    t0, c0 = time.perf_counter(), time.process_time()
    run(1)
    phases["first update"] = (time.perf_counter() - t0, time.process_time() - c0)
    phases["total"] = (time.perf_counter() - T_START, time.process_time() - C_START)
    print(f"warm-up ({backend}, jit_compile {gan.jit_compile}, compile cache {cache_dir()}): "
          + "; ".join(f"{k} {w:.2f} s wall / {c:.2f} s CPU" for k, (w, c) in phases.items()), flush=True)
    if args.warmup_only:
        return 0
    t0 = time.perf_counter()
    run(19)
    warm = phases["first update"][0] + time.perf_counter() - t0
    ups, cpu_ms = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        run(args.steps)
        ups.append(args.steps / (time.perf_counter() - t0))
        cpu_ms.append(1000.0 * (time.process_time() - c0) / args.steps)
    setting = (f"{backend}, jit_compile {gan.jit_compile}, steps_per_execution {args.steps_per_execution}, "
               f"policy {keras.mixed_precision.global_policy().name}, feedback {clf is not None}"
               f"{', pure step' if args.pure_step else ''}")
    print(f"{setting}: warm-up 20 updates {warm:.1f} s; updates/s {[round(u, 1) for u in ups]} "
          f"(median {statistics.median(ups):.1f}); CPU ms/update {[round(m, 1) for m in cpu_ms]} "
          f"(median {statistics.median(cpu_ms):.1f})")
    return 0


def _pure_step_runner(gan, x, y, backend: str):
    """``run(n)``: n calls of the compiled train step on the same fixed batch (state carried along)."""
    if backend == "jax":
        import jax

        state = ([v.value for v in gan.trainable_variables], [v.value for v in gan.non_trainable_variables],
                 [v.value for v in gan.optimizer.variables], [v.value for v in gan.metrics_variables])
        step = jax.jit(gan.train_step, donate_argnums=0)
        data = (jax.numpy.asarray(x), jax.numpy.asarray(y))
        box = [state]

        def run(n):
            for _ in range(n):
                _, box[0] = step(box[0], data)
            jax.block_until_ready(box[0])

        return run
    import tensorflow as tf

    step = tf.function(gan.train_step, jit_compile=bool(gan.jit_compile))
    data = (tf.constant(x), tf.constant(y))

    def run(n):
        for _ in range(n):
            logs = step(data)
        float(logs["loss"])

    return run


if __name__ == "__main__":
    raise SystemExit(main())
