"""Ctrl-C acts within seconds even while the main thread is stuck in native code (hargan.interrupt)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

_CHILD = """
import ctypes, sys
from hargan.interrupt import prompt_interrupt
with prompt_interrupt(grace_s=0.5):
    print("ready", flush=True)
    if sys.argv[1] == "native":
        # A native call that releases the GIL and never returns (as an XLA compile seems to): a mutex locked
        # twice by one thread. No Python signal handler can run until it returns.
        libc, mutex = ctypes.CDLL(None), ctypes.create_string_buffer(64)
        libc.pthread_mutex_lock(mutex)
        libc.pthread_mutex_lock(mutex)
    else:
        while True:
            pass
"""


@pytest.mark.parametrize("where", ["native", "python"])
def test_sigint_ends_the_process_even_inside_a_long_native_call(where):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, where], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGINT)
    try:
        _, err = child.communicate(timeout=120)  # a safety net only: without the watcher it never ends
    finally:
        if child.poll() is None:
            child.kill()
    if where == "native":
        assert child.returncode == 130 and "interrupted" in err
    else:  # Python code: the ordinary KeyboardInterrupt, the watcher stays quiet
        assert "KeyboardInterrupt" in err and child.returncode != 130
