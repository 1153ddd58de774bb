"""The JAX train step passes the same tests as the TensorFlow step.

Keras fixes its backend when it is first imported, so the GAN training tests run again in a
subprocess with ``KERAS_BACKEND=jax``: fit with the stateless, jitted step (gan/train_step_jax.py),
the hand-computed gradient penalty and Wasserstein estimate, callbacks, conditioning, save / load /
keep training, BackupAndRestore, init from saved models and reproducibility. They build, train and
reload every generator and critic variant, so the layers' own tests (test_gan_models.py) do not run
twice. Skipped where jax is not installed (``pip install -e ".[jax]"``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

pytest.importorskip("jax", reason="jax is not installed (pip install -e '.[jax]')")

pytestmark = pytest.mark.slow  # long: runs first (tests/conftest.py)

TESTS = Path(__file__).resolve().parent
MODULES = ["test_gan_training.py"]


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="this run already uses the jax backend")
def test_gan_tests_pass_under_the_jax_backend():
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
           "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
                           "-W", "ignore::UserWarning", *[str(TESTS / m) for m in MODULES]],
                          cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=1200)
    tail = proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary



@pytest.mark.skipif(keras.backend.backend() == "jax", reason="this run already uses the jax backend")
def test_a_gan_trained_and_saved_under_jax_loads_and_generates_under_tensorflow(tmp_path):
    code = ("import sys; sys.path[:0] = [{t!r}, {r!r}]\n"
            "import numpy as np\n"
            "from gan_toys import tiny_gan, toy_windows\n"
            "from gan import make_gan_dataset\n"
            "x, y = toy_windows(64); gan = tiny_gan(None, n_critic=1); gan.compile()\n"
            "gan.fit(make_gan_dataset(x, y, 16, n_critic=1), epochs=1, steps_per_epoch=2, verbose=0)\n"
            "gan.save_models({out!r}); np.save({ref!r}, gan.generate([3, 2], seed=5)[0])\n")
    out, ref = tmp_path / "gan", tmp_path / "ref.npy"
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", code.format(t=str(TESTS), r=str(TESTS.parent), out=str(out),
                                                             ref=str(ref))],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import numpy as np

    from gan import ConditionalWGANGP

    loaded = ConditionalWGANGP.load_models(out)
    assert int(loaded.step_counter.numpy()) == 2
    np.testing.assert_allclose(loaded.generate([3, 2], seed=5)[0], np.load(ref), atol=0.05)  # mg, float32 numerics
