"""Speed-benchmark trainer for hargan's ConditionalWGANGP (the trainer protocol of benchmarks/run.py).

    python benchmarks/trainer_hargan.py --data WORK/data.npz --out WORK/hargan-default/seed0 --arch hargan \\
        --batch 64 --seed 0 --speed-steps 200 --eval-every 250 --max-updates 3000 --max-train-s 600 \\
        [--classifier WORK/classifier.keras] [--jit auto|on|off]
    KERAS_BACKEND=jax python benchmarks/trainer_hargan.py ...      # the same on JAX

1. Quality run, first, so it pays what a fresh ``hargan train-gan`` pays (imports, build, trace /
   compile; the persistent compile cache is whatever ``HARGAN_COMPILE_CACHE`` says): the GAN at its
   defaults (build_generator / build_critic, n_critic 5, batch 64, Adam 5e-4 beta 0.5/0.9;
   classifier feedback when ``--classifier`` is given), trained with ``fit``. Every
   ``--eval-every`` generator updates a Keras callback pauses the clock and saves the generator as
   ``OUT/ckpt_{updates:06d}.keras`` with ``elapsed_s`` (wall time since this process started,
   imports and compile included, checkpoint saving excluded) and ``train_s`` (the same from the
   first ``fit`` call). Stops at ``--max-updates`` or when train_s >= ``--max-train-s``.
   ``first_update_s``: process start to the first update done (the warm-up a user waits through).
2. Speed (skipped with ``--speed-steps 0``): fresh models, ``--warmup-steps`` updates, then
   ``--speed-repeats`` timed runs of ``--speed-steps`` updates (wall and process CPU time).
3. Generated windows/s: ``generator.predict_on_batch`` (the compiled predict step), 8 batches of
   1024 windows, after a warm-up call.
4. ``OUT/result.json``, written atomically.

``--jit``: ``jit_compile`` for ``compile`` (``auto``: the library's default). On JAX, ``fit``
always runs the step under ``jax.jit``.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()  # process start (before Keras / TensorFlow are imported)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere, with or without `pip install -e .`
    sys.path.insert(0, str(ROOT))

ARCHS = ("hargan",)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="data.npz written by benchmarks/run.py")
    ap.add_argument("--out", type=Path, required=True, help="folder for ckpt_*.npz and result.json")
    ap.add_argument("--arch", default="hargan", help="model architecture (only 'hargan')")
    ap.add_argument("--batch", type=int, default=64, help="windows per critic / generator update")
    ap.add_argument("--n-critic", type=int, default=5, help="critic updates per generator update")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--warmup-steps", type=int, default=20, help="updates before the timed run (>= 10)")
    ap.add_argument("--speed-steps", type=int, default=200,
                    help="timed generator updates (per repeat; 0: no speed run)")
    ap.add_argument("--speed-repeats", type=int, default=3, help="timed runs; the median is reported (noisy VMs)")
    ap.add_argument("--eval-every", type=int, default=250, help="generator updates between checkpoints")
    ap.add_argument("--max-updates", type=int, default=3000, help="quality run: stop after this many updates")
    ap.add_argument("--max-train-s", type=float, default=600.0, help="quality run: stop after this training time")
    ap.add_argument("--classifier", type=Path, default=None, help="float ST classifier (.keras) for feedback")
    ap.add_argument("--jit", choices=("auto", "on", "off"), default="auto",
                    help="jit_compile (XLA): auto = the library default")
    args = ap.parse_args(argv)
    if args.arch not in ARCHS:
        ap.error(f"--arch {args.arch!r} is not a hargan architecture; valid: {', '.join(ARCHS)} "
                 "(TSGM's architectures run in benchmarks/trainer_tsgm.py)")
    for name in ("batch", "n_critic", "speed_repeats", "eval_every", "max_updates"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.speed_steps < 0:
        ap.error("--speed-steps must be >= 0")
    if args.warmup_steps < 10:
        ap.error("--warmup-steps must be >= 10 (the protocol's warm-up)")
    if args.max_train_s <= 0:
        ap.error("--max-train-s must be > 0")
    if not args.data.is_file():
        ap.error(f"no data file {args.data}")
    if args.classifier is not None and not args.classifier.is_file():
        ap.error(f"no classifier file {args.classifier}")
    return args


def peak_rss_mb() -> float:
    """Peak resident memory of this process (ru_maxrss is in KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def make_checkpoint_callback(out: Path, *, every: int, max_updates: int, max_train_s: float):
    """A Keras callback: every ``every`` updates pause the clock and save the generator; stop at the budget."""
    import keras

    from har_data.atomic import atomic_path

    class Checkpoints(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.updates, self.paused_s, self.t_fit, self.t_pause = 0, 0.0, None, None
            self.rows: list[dict] = []
            self.stopped_by = "max_updates"
            self.first_update_s = self.train_s = None

        def on_train_begin(self, logs=None):
            if self.t_fit is None:
                self.t_fit = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            self.updates += 1  # one train_step = one generator update (steps_per_execution 1)
            if self.first_update_s is None:
                self.first_update_s = now - T_START
            self.train_s = now - self.t_fit - self.paused_s
            over_time = self.train_s >= max_train_s
            done = self.updates >= max_updates or over_time
            if self.updates % every == 0 or done:
                self.write(now)
            if done:
                if over_time and self.updates < max_updates:
                    self.stopped_by = "max_train_s"
                self.model.stop_training = True

        def write(self, now: float):
            name = f"ckpt_{self.updates:06d}.keras"
            with atomic_path(out / name) as tmp:
                self.model.generator.save(tmp)  # (on JAX, self.model syncs the trained state first)
            elapsed = now - T_START - self.paused_s
            self.rows.append({"updates": self.updates, "train_s": round(self.train_s, 3),
                              "elapsed_s": round(elapsed, 3), "file": name})
            self.paused_s += time.perf_counter() - now
            print(f"  checkpoint {name}: {self.updates} updates, {self.train_s:.1f} s of training, "
                  f"{elapsed:.1f} s since start", flush=True)

    return Checkpoints()


def main(argv=None) -> int:
    args = parse_args(argv)
    from gan.compile_cache import cache_dir  # first: the gan package sets the cache before TensorFlow loads

    import keras
    import numpy as np

    from gan import ConditionalWGANGP, build_critic, build_generator, make_gan_dataset
    from gan.models import generator_latent_dim
    from gan.training import DEFAULT_LATENT_DIM
    from har_data.atomic import write_text

    backend = keras.backend.backend()
    d = np.load(args.data, allow_pickle=False)
    x_train = d["x_train"].astype(np.float32)
    y_train = d["y_train"].astype(np.int32)
    names = [str(c) for c in d["class_names"]]
    fs_g = float(d["full_scale_g"])
    t_len, ch = int(x_train.shape[1]), int(x_train.shape[2])
    clf = None
    if args.classifier is not None:
        from classifier import load_classifier

        clf = load_classifier(args.classifier)
    jit = {"auto": "auto", "on": True, "off": False}[args.jit]
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"hargan trainer: backend {backend}, jit_compile {args.jit}, n_critic {args.n_critic}, batch {args.batch}, "
          f"classifier feedback {'on' if clf is not None else 'off'}, {len(x_train)} train windows {names}, "
          f"compile cache {cache_dir()}", flush=True)

    def build():
        keras.utils.set_random_seed(args.seed)
        g = build_generator(DEFAULT_LATENT_DIM, names, t_len, ch, fs_g)
        c = build_critic(names, t_len, ch, fs_g)
        gan = ConditionalWGANGP(g, c, clf, n_critic=args.n_critic, seed=args.seed)
        gan.compile(jit_compile=jit)
        ds = make_gan_dataset(x_train, y_train, args.batch, args.seed, n_critic=args.n_critic)
        return gan, ds

    # --- quality (first: a fresh process's imports, build and compile are in its clock) ----------
    for old in [*args.out.glob("ckpt_*.npz"), *args.out.glob("ckpt_*.keras")]:
        old.unlink()
    gan, ds = build()
    jit = bool(gan.jit_compile)  # what Keras resolved, as recorded in result.json
    ckpt = make_checkpoint_callback(args.out, every=args.eval_every, max_updates=args.max_updates,
                                    max_train_s=args.max_train_s)
    spe = min(args.eval_every, args.max_updates)
    gan.fit(ds, epochs=math.ceil(args.max_updates / spe), steps_per_epoch=spe, callbacks=[ckpt], verbose=0,
            shuffle=False)
    print(f"quality run: {ckpt.updates} updates, {ckpt.train_s:.1f} s of training; first update done "
          f"{ckpt.first_update_s:.1f} s after the process started; stopped by {ckpt.stopped_by}", flush=True)
    g_params, c_params = gan.generator.count_params(), gan.critic.count_params()
    generator = gan.generator
    result = {
        "library": "hargan", "version": _version(), "arch": args.arch, "backend": backend,
        "keras_version": keras.__version__, "jit_compile": jit, "compile_cache": str(cache_dir()),
        "batch": args.batch, "n_critic": args.n_critic, "classifier_feedback": clf is not None,
        "generator_params": int(g_params), "critic_params": int(c_params),
        "first_update_s": round(ckpt.first_update_s, 3),
        "quality_updates": ckpt.updates, "quality_train_s": round(ckpt.train_s, 3),
        "stopped_by": ckpt.stopped_by, "max_updates": args.max_updates, "max_train_s": args.max_train_s,
        "eval_every": args.eval_every, "checkpoints": ckpt.rows, "seed": args.seed,
    }
    del gan, ds

    # --- speed ---------------------------------------------------------------------------------
    if args.speed_steps > 0:
        result.update(speed(build, args))

    # --- generation speed ----------------------------------------------------------------------
    rng = np.random.default_rng(args.seed + 2)
    n_gen = 8192
    z = rng.standard_normal((n_gen, generator_latent_dim(generator))).astype(np.float32)
    y = (np.arange(n_gen) % len(names)).astype(np.int32)
    # The compiled predict step (tf.function / jax.jit), one 1024-window batch per call, no data pipeline.
    generator.predict_on_batch([z[:1024], y[:1024]])  # warm-up (trace)
    t0 = time.perf_counter()
    for start in range(0, n_gen, 1024):
        np.asarray(generator.predict_on_batch([z[start:start + 1024], y[start:start + 1024]]))
    gen_s = time.perf_counter() - t0
    print(f"generation: {n_gen} windows in {gen_s:.3f} s: {n_gen / gen_s:.0f} windows/s", flush=True)
    result.update({"generated_windows_per_s": round(n_gen / gen_s, 1), "generated_windows_timed": n_gen,
                   "peak_rss_mb": peak_rss_mb(), "cpu_count": os.cpu_count(),
                   "total_s": round(time.perf_counter() - T_START, 1)})
    if backend == "tensorflow":
        import tensorflow as tf

        result["tensorflow_version"] = tf.__version__
    elif backend == "jax":
        import jax

        result["jax_version"] = jax.__version__
    write_text(args.out / "result.json", json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out / 'result.json'} (peak RSS {result['peak_rss_mb']} MB)", flush=True)
    return 0


def speed(build, args) -> dict:
    """Fresh models: ``--warmup-steps`` updates, then the median of ``--speed-repeats`` timed runs."""
    gan, ds = build()
    t0 = time.perf_counter()
    gan.fit(ds, epochs=1, steps_per_epoch=args.warmup_steps, verbose=0, shuffle=False)
    warmup_s = time.perf_counter() - t0
    print(f"warm-up: {args.warmup_steps} updates in {warmup_s:.1f} s (trace/compile)", flush=True)
    runs = []
    for _ in range(args.speed_repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        gan.fit(ds, epochs=1, steps_per_epoch=args.speed_steps, verbose=0, shuffle=False)
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    speed_wall, speed_cpu = sorted(runs)[len(runs) // 2]  # the median run
    ups = args.speed_steps / speed_wall
    print(f"speed: {args.speed_steps} updates in {speed_wall:.2f} s wall, {speed_cpu:.2f} s CPU: {ups:.2f} updates/s, "
          f"{ups * args.n_critic * args.batch:.0f} real windows/s", flush=True)
    return {"warmup_updates": args.warmup_steps, "warmup_s": round(warmup_s, 3), "speed_updates": args.speed_steps,
            "speed_wall_s": round(speed_wall, 3),
            "speed_runs_updates_per_s": [round(args.speed_steps / w, 2) for w, _ in runs],
            "speed_cpu_s": round(speed_cpu, 3), "updates_per_s": round(ups, 3),
            "real_windows_per_s": round(ups * args.n_critic * args.batch, 1)}


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("hargan")
    except Exception:  # noqa: BLE001 - not installed: run from the source tree
        return "source"


if __name__ == "__main__":
    raise SystemExit(main())
