"""train_step under tf.distribute.MirroredStrategy on two logical CPUs (in a subprocess: logical devices
must be configured before TensorFlow initialises).

With a linear critic and a generator whose output does not depend on z, one SGD step is fully
determined by the data, so the 2-replica update must equal the single-device update and the
hand-computed one. Scaling the loss by the per-replica batch instead of the global one would
double the 2-replica step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from gan import ConditionalWGANGP
    from gan_toys import FULL_SCALE_G, T, constant_generator, linear_critic, toy_windows

    rng = np.random.default_rng(0)
    w = rng.normal(size=(T, 3)).astype(np.float32); w *= 1.7 / np.linalg.norm(w)
    bias = rng.uniform(-0.2, 0.2, (T, 3)).astype(np.float32)
    x, y = toy_windows(8, seed=3)
    lr = 0.01

    def run(strategy):
        with strategy.scope():
            gan = ConditionalWGANGP(constant_generator(bias), linear_critic(w), None, n_critic=1, gp_weight=10.0)
            gan.compile(keras.optimizers.SGD(lr), keras.optimizers.SGD(lr))
        ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32))).batch(8, drop_remainder=True).repeat()
        hist = gan.fit(ds, epochs=1, steps_per_epoch=1, verbose=0).history
        return {"replicas": strategy.num_replicas_in_sync,
                "critic_w": gan.critic.get_layer("linear").get_weights()[0].ravel().tolist(),
                "gen_bias": gan.generator.get_layer("dense").get_weights()[1].tolist(),
                "gen_embedding": gan.generator.get_layer("label_embedding").get_weights()[0].ravel().tolist(),
                "metrics": {k: float(v[-1]) for k, v in hist.items()}}

    fs = 1000.0 * FULL_SCALE_G
    norm = float(np.linalg.norm(w))
    grad = (bias[None] - x / fs).mean(axis=0) + 10.0 * 2 * (norm - 1) * w / norm
    out = {"devices": len(tf.config.list_logical_devices("CPU")),
           "single": run(tf.distribute.OneDeviceStrategy("/cpu:0")),
           "mirrored": run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])),
           "expected_critic_w": (w - lr * grad).ravel().tolist()}
    print("RESULT" + json.dumps(out))
    """
)


def test_mirrored_strategy_two_logical_cpus_matches_single_device():
    tests = Path(__file__).resolve().parent
    path = os.pathsep.join([str(tests), str(tests.parent), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "KERAS_BACKEND": "tensorflow",
           "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT"):])
    assert out["devices"] == 2
    single, mirrored = out["single"], out["mirrored"]
    assert single["replicas"] == 1 and mirrored["replicas"] == 2
    np.testing.assert_allclose(single["critic_w"], out["expected_critic_w"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(mirrored["critic_w"], out["expected_critic_w"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(mirrored["gen_bias"], single["gen_bias"], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(mirrored["gen_embedding"], single["gen_embedding"], rtol=1e-4, atol=1e-7)
    assert np.abs(np.asarray(single["gen_bias"])).max() > 1e-5  # the generator did move
    for name in ("wasserstein", "gradient_penalty", "critic_loss", "generator_loss"):
        assert mirrored["metrics"][name] == pytest_approx(single["metrics"][name]), name


def pytest_approx(v):
    import pytest

    return pytest.approx(v, rel=1e-4, abs=1e-5)
