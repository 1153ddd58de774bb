"""ConditionalWGANGP under tf.distribute.MultiWorkerMirroredStrategy: two local worker processes.

Each worker gets its own ``TF_CONFIG`` (a two-worker cluster on loopback ports), trains the same
tiny GAN for a few steps on its shard of the data (the gradients are all-reduced across workers)
and calls ``save_models``. Both must end with identical weights, and only the chief (worker 0)
may write files. Every process is killed on the way out, whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf
    import keras
    from gan import ConditionalWGANGP
    from gan.data import make_gan_dataset
    from gan_toys import tiny_models, toy_windows

    probe, out = sys.argv[1], sys.argv[2]
    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.RING))
    keras.utils.set_random_seed(0)
    with strategy.scope():
        g, c = tiny_models()
        gan = ConditionalWGANGP(g, c, None, n_critic=2, seed=0)
        gan.compile()
    x, y = toy_windows(64, seed=1)
    ds = make_gan_dataset(x, y, batch_size=8, seed=0, n_critic=2)
    gan.fit(ds, epochs=1, steps_per_epoch=3, verbose=0)
    np.savez(probe, *gan.generator.get_weights(), *gan.critic.get_weights(), step=int(gan.step_counter.numpy()),
             replicas=strategy.num_replicas_in_sync)
    gan.save_models(out)
    """
)
TIMEOUT_S = 90  # a bound for a loaded machine: both workers together use about 20 s of CPU


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _wait_all(procs: list[subprocess.Popen], timeout_s: float) -> None:
    """Wait until every process has exited, or one failed (its peer would wait for it forever), or time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        codes = [p.poll() for p in procs]
        if all(c is not None for c in codes) or any(c not in (None, 0) for c in codes):
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            procs[[c is None for c in codes].index(True)].wait(timeout=0.5)


def test_two_workers_end_identical_and_only_the_chief_writes(tmp_path):
    tests = Path(__file__).resolve().parent
    path = os.pathsep.join([str(tests), str(tests.parent), os.environ.get("PYTHONPATH", "")])
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    procs, logs = [], [tmp_path / f"worker_{i}.log" for i in range(2)]
    try:
        for i in range(2):
            env = {**os.environ, "PYTHONPATH": path, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2",
                   "CUDA_VISIBLE_DEVICES": "",
                   "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}
            args = [sys.executable, "-c", SCRIPT, str(tmp_path / f"probe_{i}.npz"), str(tmp_path / f"models_{i}")]
            with open(logs[i], "w") as out:
                procs.append(subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT))
        _wait_all(procs, TIMEOUT_S)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log.read_text()[-3000:]
    w0, w1 = (np.load(tmp_path / f"probe_{i}.npz") for i in range(2))
    assert int(w0["replicas"]) == 2 and int(w0["step"]) == int(w1["step"]) == 3
    weights = [k for k in w0.files if k.startswith("arr_")]
    for k in weights:
        np.testing.assert_array_equal(w0[k], w1[k], err_msg=k)
    assert sorted(p.name for p in (tmp_path / "models_0").iterdir()) == ["critic.keras", "gan.json", "generator.keras"]
    assert not (tmp_path / "models_1").exists()  # the second worker wrote nothing
