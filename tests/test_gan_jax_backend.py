"""The JAX train step passes the same tests as the TensorFlow step.

Keras fixes its backend when it is first imported, so the GAN test modules run again in a
subprocess with ``KERAS_BACKEND=jax``: fit with the stateless, jitted step (gan/train_step_jax.py),
the hand-computed gradient penalty and Wasserstein estimate, callbacks, conditioning, save / load /
keep training, BackupAndRestore, two-stage init and reproducibility. Skipped where jax is not
installed (``pip install -e ".[jax]"``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

pytest.importorskip("jax", reason="jax is not installed (pip install -e '.[jax]')")

TESTS = Path(__file__).resolve().parent
MODULES = ["test_gan_training.py", "test_gan_models.py"]


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="this run already uses the jax backend")
def test_gan_tests_pass_under_the_jax_backend():
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
           "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::UserWarning",
                           *[str(TESTS / m) for m in MODULES]],
                          cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=1200)
    tail = proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary

