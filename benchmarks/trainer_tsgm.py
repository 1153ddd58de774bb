"""TSGM 0.1.0 trainer for the issue-8 speed benchmark (the peer side). Run it with the TSGM venv's python:

    benchmarks/peer/setup_tsgm.sh                        # once: creates benchmarks/.venv-tsgm
    benchmarks/.venv-tsgm/bin/python benchmarks/trainer_tsgm.py --data WORK/data.npz --out DIR \\
        --arch tsgm --batch 64 --seed 0 --speed-steps 20 --eval-every 250 --max-updates 3000 --max-train-s 600

Trainer protocol of benchmarks/run.py (the same as benchmarks/trainer_hargan.py): quality run first, in
this fresh process (every ``--eval-every`` updates the clock pauses and the generator is saved as
``DIR/ckpt_{updates:06d}.keras`` in hargan's generator interface, ``[z, label id] -> mg window``,
see :func:`_shippable_generator`, with ``elapsed_s`` since the process started); then speed
(warm-up, ``--speed-steps`` generator updates with ``fit``; 0 skips it), generated windows/s,
``DIR/result.json``.

``--arch tsgm``: TSGM's conditional GAN tutorial: ``tsgm.models.architectures.zoo["cgan_base_c4_l1"]``
(generator: Dense -> 4 x Conv1DTranspose(stride 2) -> LSTM(256) over 16 x T steps -> AveragePooling1D
-> tanh; discriminator: 4 x Conv1D(stride 2) + Dropout -> GlobalAvgPool -> Dense(1, sigmoid)),
latent_dim 64, ``ConditionalGAN`` compiled with Adam(3e-4) twice and ``BinaryCrossentropy(from_logits=True)``.

``--arch hargan``: hargan's generator and critic (``gan.models.build_generator`` / ``build_critic`` at
their defaults) inside TSGM's ``ConditionalGAN`` loop, through thin adapters: TSGM feeds the generator
``concat(z, one_hot)`` and the discriminator ``concat(window, label channels)``; the adapters split
those back into ``[z, label_id]`` and ``[window_mg, label_id]`` (slice, argmax, per-axis affine), so
the difference to ``--arch tsgm`` is the architecture, and the difference to hargan's own trainer is
the training loop.

TSGM's ``ConditionalGAN.train_step`` (tensorflow backend), read from tsgm 0.1.0's source:
- one discriminator update and one generator update per step (``n_critic`` = 1), one batch of
  ``--batch`` real windows per step; the discriminator sees batch fake + batch real windows;
- the loss is ``loss_fn`` (non-saturating GAN with BCE; no Wasserstein loss, no gradient penalty:
  ``use_wgan`` is accepted and ignored by ConditionalGAN);
- conditioning: one-hot labels concatenated to the latent vector; "repeated" labels concatenated to
  the window channels (``ops.repeat`` without an axis, so each sample's K label channels hold its
  one-hot in time blocks, not one one-hot per step; still a function of the label, so it conditions);
- models are called without ``training=True`` (TSGM's Dropout stays off during training);
- ``fit`` takes a ``tf.data.Dataset`` of ``(x, one_hot_y)`` batches, as in its tutorial.

Scaling (``--scaling``): ``tutorial`` (default) = TSGM's ``TSFeatureWiseScaler((-1, 1))`` fitted on
x_train, per axis min/max -> [-1, 1], as its tutorial does; ``full-scale`` = mg / (1000 * full_scale_g).
Checkpoint windows are mapped back to mg.

Not hargan's package: needs only numpy, keras, tensorflow and tsgm (the TSGM venv); for ``--arch
hargan`` it imports ``gan/models.py`` from this repo without running ``gan/__init__.py``.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()  # process start (before Keras / TensorFlow are imported)

import argparse
import ast
import json
import math
import os
import resource
import sys
import types
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
LEARNING_RATE = 3e-4  # TSGM's cGAN tutorial: Adam(learning_rate=0.0003) for both models
TSGM_LATENT_DIM = 64  # TSGM's cGAN tutorial
WARMUP_UPDATES = 10


def _parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="WORK/data.npz (benchmarks/run.py writes it)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--arch", choices=("tsgm", "hargan"), default="tsgm")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--speed-steps", type=int, default=20, help="timed generator updates (per repeat; 0: none)")
    ap.add_argument("--speed-repeats", type=int, default=3, help="timed runs; the median is reported (noisy VMs)")
    ap.add_argument("--eval-every", type=int, default=250, help="checkpoint every K generator updates")
    ap.add_argument("--max-updates", type=int, default=3000)
    ap.add_argument("--max-train-s", type=float, default=600.0)
    ap.add_argument("--classifier", type=Path, default=None, help="accepted for the protocol; TSGM has no "
                    "classifier feedback, so it is not used")
    ap.add_argument("--scaling", choices=("tutorial", "full-scale"), default="tutorial")
    ap.add_argument("--gen-windows", type=int, default=8192, help="windows for the generated windows/s "
                    "figure (batches of 1024; the contract says >= 8192; less only for smoke runs)")
    args = ap.parse_args(argv)
    for name in ("batch", "speed_repeats", "eval_every", "max_updates", "gen_windows"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.speed_steps < 0:
        ap.error("--speed-steps must be >= 0")
    return args


def _load_data(path: Path) -> dict:
    import numpy as np

    with np.load(path, allow_pickle=False) as f:
        d = {k: f[k] for k in f.files}
    for k in ("x_train", "y_train", "class_names", "full_scale_g"):
        if k not in d:
            raise SystemExit(f"{path}: no {k!r} (keys: {sorted(d)})")
    d["x_train"] = d["x_train"].astype(np.float32)
    d["y_train"] = d["y_train"].astype(np.int32).reshape(-1)
    d["class_names"] = [str(c) for c in d["class_names"]]
    d["full_scale_g"] = float(d["full_scale_g"])
    return d


def _affine(data: dict, scaling: str):
    """Per-axis ``u = mg * a + b`` (float64 arrays of length C) for TSGM's [-1, 1] scaled windows."""
    import numpy as np

    x = data["x_train"]
    if scaling == "full-scale":
        a = np.full(x.shape[2], 1.0 / (1000.0 * data["full_scale_g"]))
        return a, np.zeros(x.shape[2])
    from tsgm.utils import TSFeatureWiseScaler
    from tsgm.utils.data_processing import EPS

    scaler = TSFeatureWiseScaler((-1, 1)).fit(x)
    a = 2.0 / (scaler.maxs - scaler.mins + EPS)
    b = -scaler.mins * a - 1.0
    probe = x[:8].astype(np.float64)  # same map as TSGM's scaler.transform
    assert np.allclose(probe * a + b, scaler.transform(probe), atol=1e-9)
    return a, b


def _hargan_models():
    """``build_generator``, ``build_critic`` and the default latent size from this repo's gan package,
    without ``gan/__init__.py`` (which pulls in the whole training/evaluation stack)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if "gan" not in sys.modules:
        pkg = types.ModuleType("gan")
        pkg.__path__ = [str(ROOT / "gan")]
        sys.modules["gan"] = pkg
    from gan.models import build_critic, build_generator

    latent = None
    for node in ast.parse((ROOT / "gan" / "training.py").read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DEFAULT_LATENT_DIM" for t in node.targets):
            latent = int(ast.literal_eval(node.value))
    if latent is None:
        raise SystemExit("gan/training.py: no DEFAULT_LATENT_DIM")
    return build_generator, build_critic, latent


def _adapter_layers():
    import keras
    from keras import layers, ops

    class SplitLatentLabel(layers.Layer):
        """TSGM generator input ``concat(z, one_hot)`` -> ``z``, ``label_id`` (int32)."""

        def __init__(self, latent_dim, **kw):
            super().__init__(**kw)
            self.latent_dim = int(latent_dim)

        def call(self, v):
            z = v[:, : self.latent_dim]
            return z, ops.cast(ops.argmax(v[:, self.latent_dim:], axis=-1), "int32")

    class SplitWindowLabel(layers.Layer):
        """TSGM discriminator input ``concat(window_units, label_channels)`` -> ``window_mg``, ``label_id``.

        TSGM builds the label channels with ``ops.repeat(labels[:, :, None], [T])`` (no axis: flatten,
        each one-hot entry repeated T times) reshaped to (B, T, K); reshaping a sample's (T, K) block to
        (K, T) gives back one-hot entry k in row k, so column 0 is the one-hot.
        """

        def __init__(self, channels, a, b, **kw):
            super().__init__(**kw)
            self.channels = int(channels)
            self.a = [float(v) for v in a]
            self.b = [float(v) for v in b]

        def call(self, v):
            t, k = v.shape[1], v.shape[2] - self.channels
            units = v[:, :, : self.channels]
            mg = (units - ops.convert_to_tensor(self.b, units.dtype)) / ops.convert_to_tensor(self.a, units.dtype)
            blocks = ops.reshape(v[:, :, self.channels:], (-1, k, t))
            return mg, ops.cast(ops.argmax(blocks[:, :, 0], axis=-1), "int32")

    class MgToUnits(layers.Layer):
        def __init__(self, a, b, **kw):
            super().__init__(**kw)
            self.a = [float(v) for v in a]
            self.b = [float(v) for v in b]

        def call(self, mg):
            return mg * ops.convert_to_tensor(self.a, mg.dtype) + ops.convert_to_tensor(self.b, mg.dtype)

    return keras, SplitLatentLabel, SplitWindowLabel, MgToUnits


def _build(arch: str, data: dict, a, b):
    """(generator, discriminator, latent_dim, generator_params, critic_params) for TSGM's ConditionalGAN."""
    import tsgm

    x = data["x_train"]
    t, c, k = int(x.shape[1]), int(x.shape[2]), len(data["class_names"])
    if arch == "tsgm":
        zoo = tsgm.models.architectures.zoo["cgan_base_c4_l1"](seq_len=t, feat_dim=c, latent_dim=TSGM_LATENT_DIM,
                                                              output_dim=k)
        g, d = zoo.generator, zoo.discriminator
        return g, d, TSGM_LATENT_DIM, g.count_params(), d.count_params(), None
    build_generator, build_critic, latent = _hargan_models()
    keras, SplitLatentLabel, SplitWindowLabel, MgToUnits = _adapter_layers()
    ours_g = build_generator(latent, data["class_names"], t, c, data["full_scale_g"])
    ours_c = build_critic(data["class_names"], t, c, data["full_scale_g"])
    v = keras.Input((latent + k,), name="z_onehot")
    z, label = SplitLatentLabel(latent, name="split_z_label")(v)
    g = keras.Model(v, MgToUnits(a, b, name="mg_to_units")(ours_g([z, label])), name="hargan_generator_adapter")
    w = keras.Input((t, c + k), name="window_labels")
    mg, label = SplitWindowLabel(c, a, b, name="split_window_label")(w)
    d = keras.Model(w, ours_c([mg, label]), name="hargan_critic_adapter")
    assert g.count_params() == ours_g.count_params() and d.count_params() == ours_c.count_params()
    return g, d, latent, ours_g.count_params(), ours_c.count_params(), ours_g


def _shippable_generator(gan, inner, data: dict, a, b, latent: int):
    """The trained generator as hargan's interface, ``[z (B, latent), label id (B,)] -> (B, T, C) mg``, so
    benchmarks/run.py samples it with ``gan.sampling.sample_validated`` like hargan's own.

    ``--arch hargan``: our generator inside the adapters (it already works in mg). ``--arch tsgm``:
    one-hot = a frozen identity ``LabelEmbedding`` (holds the class names), ``concat(z, one_hot)`` as
    TSGM's ``generate`` builds it (z ~ N(0, 1)), TSGM's generator, then the inverse of the [-1, 1]
    scaling per axis as a depthwise 1 x 1 convolution (weights 1/a, bias -b/a). Standard Keras layers
    and hargan's ``LabelEmbedding`` only: loadable in hargan's venv.
    """
    if inner is not None:
        return inner
    import keras
    import numpy as np
    from keras import layers

    _hargan_models()  # the gan package's models module, without gan/__init__.py
    from gan.models import LabelEmbedding

    names, k = data["class_names"], len(data["class_names"])
    c = int(data["x_train"].shape[2])
    z = keras.Input((latent,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    one_hot = LabelEmbedding(names, k, embeddings_initializer="identity", trainable=False,
                             name="label_embedding")(label)
    units = gan.generator(layers.Concatenate(name="z_onehot")([z, one_hot]))
    to_mg = layers.Conv1D(c, 1, groups=c, name="units_to_mg")
    mg = to_mg(units)
    to_mg.set_weights([(1.0 / np.asarray(a, np.float64)).reshape(1, 1, c).astype(np.float32),
                       (-np.asarray(b, np.float64) / np.asarray(a, np.float64)).astype(np.float32)])
    return keras.Model([z, label], mg, name="tsgm_generator_mg")


def _check_label_channels(d, k: int, t: int, c: int) -> None:
    """The critic adapter reads back the labels TSGM's train_step writes into the window channels."""
    import numpy as np
    from keras import ops

    labels = np.eye(k, dtype=np.float32)[np.arange(2 * k) % k]
    rep = ops.reshape(ops.repeat(labels[:, :, None], repeats=[t]), (-1, t, k))  # as ConditionalGAN.train_step_tf
    split = d.get_layer("split_window_label")
    _, got = split(ops.concatenate([ops.zeros((2 * k, t, c)), rep], -1))
    assert np.array_equal(np.asarray(got), np.arange(2 * k) % k), np.asarray(got)


def _gan(arch: str, data: dict, a, b, seed: int):
    import keras
    import tsgm

    keras.backend.clear_session()  # fresh global seed generator: same seed -> same models and noise
    keras.utils.set_random_seed(seed)
    g, d, latent, g_params, c_params, inner = _build(arch, data, a, b)
    if arch == "hargan":
        x = data["x_train"]
        _check_label_channels(d, len(data["class_names"]), int(x.shape[1]), int(x.shape[2]))
    gan = tsgm.models.cgan.ConditionalGAN(discriminator=d, generator=g, latent_dim=latent)
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
                g_optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    return gan, latent, g_params, c_params, inner


def _dataset(units, onehot, batch: int, seed: int):
    """Endless shuffled ``(x, one_hot_y)`` batches (the tutorial's dataset, repeated; full batches only)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((units, onehot))
    ds = ds.shuffle(len(units), seed=seed, reshuffle_each_iteration=True).repeat()
    return ds.batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _generator_fn(gan):
    import tensorflow as tf

    @tf.function
    def generate(onehot):
        return gan.generate(onehot)  # noise + concat + generator, as TSGM samples

    return generate


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)


def main(argv=None) -> int:
    args = _parse(argv)
    if not args.data.is_file():
        print(f"no data file {args.data}", file=sys.stderr)
        return 2
    import keras
    import numpy as np
    import tensorflow as tf
    import tsgm

    args.out.mkdir(parents=True, exist_ok=True)
    data = _load_data(args.data)
    x, y = data["x_train"], data["y_train"]
    k = len(data["class_names"])
    a, b = _affine(data, args.scaling)
    units = (x.astype(np.float64) * a + b).astype(np.float32)
    onehot = np.eye(k, dtype=np.float32)[y]
    print(f"tsgm {tsgm.__version__}, arch {args.arch}, {len(x)} train windows {x.shape[1:]}, {k} classes, "
          f"scaling {args.scaling}: units in [{units.min():.3f}, {units.max():.3f}]", flush=True)

    # Quality run first (this fresh process's imports, build and trace are in its clock).
    for old in [*args.out.glob("ckpt_*.npz"), *args.out.glob("ckpt_*.keras")]:
        old.unlink()
    gan, latent, g_params, c_params, inner = _gan(args.arch, data, a, b, args.seed)
    shippable = _shippable_generator(gan, inner, data, a, b, latent)
    ds = _dataset(units, onehot, args.batch, args.seed)
    checkpoints: list[dict] = []
    state = {"updates": 0, "paused_s": 0.0, "t_fit": None, "first_update_s": None, "train_s": 0.0,
             "stopped_by": "max_updates"}
    out_dir = args.out

    class Checkpoints(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            state["t_fit"] = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            state["updates"] += 1
            n = state["updates"]
            if state["first_update_s"] is None:
                state["first_update_s"] = now - T_START
            state["train_s"] = now - state["t_fit"] - state["paused_s"]
            over = state["train_s"] >= args.max_train_s
            if n % args.eval_every and n < args.max_updates and not over:
                return
            name = f"ckpt_{n:06d}.keras"
            tmp = out_dir / f".{name}.{os.getpid()}.tmp.keras"
            shippable.save(tmp)
            os.replace(tmp, out_dir / name)
            elapsed = now - T_START - state["paused_s"]
            checkpoints.append({"updates": n, "train_s": round(state["train_s"], 3), "elapsed_s": round(elapsed, 3),
                                "file": name})
            logs = logs or {}
            print(f"  {name}: train_s {state['train_s']:.1f}, elapsed {elapsed:.1f}, "
                  f"d_loss {float(logs.get('d_loss', 'nan')):.4f}, g_loss {float(logs.get('g_loss', 'nan')):.4f}",
                  flush=True)
            if over and n < args.max_updates:
                state["stopped_by"] = "max_train_s"
                self.model.stop_training = True
            state["paused_s"] += time.perf_counter() - now

    gan.fit(ds, epochs=1, steps_per_epoch=args.max_updates, callbacks=[Checkpoints()], verbose=0)
    print(f"quality run: {state['updates']} updates, {state['train_s']:.1f} s of training; first update done "
          f"{state['first_update_s']:.1f} s after the process started", flush=True)
    jit = bool(gan.jit_compile)
    result = {
        "library": "tsgm", "version": tsgm.__version__, "arch": args.arch, "backend": keras.backend.backend(),
        "jit_compile": jit, "batch": args.batch, "n_critic": 1, "generator_params": int(g_params),
        "critic_params": int(c_params), "first_update_s": round(state["first_update_s"], 3),
        "checkpoints": checkpoints, "seed": args.seed,
        "quality_updates": state["updates"], "quality_train_s": round(state["train_s"], 3),
        "stopped_by": state["stopped_by"], "max_updates": args.max_updates, "max_train_s": args.max_train_s,
    }

    # Speed: fresh models, warm-up (trace), then timed generator updates; then generator throughput.
    if args.speed_steps > 0:
        gan, *_ = _gan(args.arch, data, a, b, args.seed)
        result.update(_speed(gan, _dataset(units, onehot, args.batch, args.seed), args))
    generate = _generator_fn(gan)
    batches = math.ceil(args.gen_windows / 1024)
    gen_onehot = np.eye(k, dtype=np.float32)[np.random.default_rng(args.seed).integers(0, k, 1024)]
    generate(gen_onehot).numpy()  # trace
    t0 = time.perf_counter()
    for _ in range(batches):
        generate(gen_onehot).numpy()
    gen_per_s = batches * 1024 / (time.perf_counter() - t0)
    print(f"generation: {gen_per_s:.0f} windows/s ({batches} x 1024)", flush=True)

    result.update({
        "generated_windows_per_s": round(gen_per_s, 1), "generated_windows_timed": batches * 1024,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "latent_dim": latent, "learning_rate": LEARNING_RATE,
        "loss": "non-saturating GAN, BinaryCrossentropy(from_logits=True); no gradient penalty",
        "updates_per_step": {"discriminator": 1, "generator": 1},
        "conditioning": "one-hot concatenated to z and (TSGM's repeat layout) to the window channels",
        "scaling": args.scaling, "scale_a": [float(v) for v in a], "scale_b": [float(v) for v in b],
        "classifier_feedback": False, "tensorflow": tf.__version__, "keras": keras.__version__,
        "cpu_count": os.cpu_count(), "total_s": round(time.perf_counter() - T_START, 1),
    })
    _write_atomic(args.out / "result.json", lambda f: f.write((json.dumps(result, indent=2) + "\n").encode()))
    print(f"wrote {args.out / 'result.json'} ({len(checkpoints)} checkpoints)", flush=True)
    return 0


def _speed(gan, ds, args) -> dict:
    """``WARMUP_UPDATES`` updates (trace), then the median of ``--speed-repeats`` timed runs."""
    t0 = time.perf_counter()
    gan.fit(ds, epochs=1, steps_per_epoch=WARMUP_UPDATES, verbose=0)
    warmup_s = time.perf_counter() - t0
    runs = []
    for _ in range(args.speed_repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        gan.fit(ds, epochs=1, steps_per_epoch=args.speed_steps, verbose=0)
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    speed_wall, speed_cpu = sorted(runs)[len(runs) // 2]  # the median run
    updates_per_s = args.speed_steps / speed_wall
    print(f"speed: warm-up {WARMUP_UPDATES} updates {warmup_s:.1f} s; {args.speed_steps} updates "
          f"{speed_wall:.2f} s wall, {speed_cpu:.2f} s CPU = {speed_wall / args.speed_steps:.3f} s/update", flush=True)
    return {"warmup_s": round(warmup_s, 3), "warmup_updates": WARMUP_UPDATES, "speed_updates": args.speed_steps,
            "speed_wall_s": round(speed_wall, 3),
            "speed_runs_updates_per_s": [round(args.speed_steps / w, 4) for w, _ in runs],
            "speed_cpu_s": round(speed_cpu, 3), "updates_per_s": round(updates_per_s, 4),
            "real_windows_per_s": round(updates_per_s * args.batch, 2)}  # 1 D update on `batch` real windows


if __name__ == "__main__":
    sys.exit(main())
