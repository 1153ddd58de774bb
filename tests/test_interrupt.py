"""Ctrl-C acts within seconds even while the main thread is stuck in native code (hargan.interrupt)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

_CHILD = """
import ctypes, sys
from hargan.interrupt import prompt_interrupt
with prompt_interrupt(grace_s=0.5):
    if sys.argv[1] == "native":
        # A native call that releases the GIL and never returns (as an XLA compile seems to): a mutex locked
        # twice by one thread. No Python signal handler can run until it returns.
        libc, mutex = ctypes.CDLL(None), ctypes.create_string_buffer(64)
        print("ready", hex(ctypes.addressof(mutex)), flush=True)
        libc.pthread_mutex_lock(mutex)
        libc.pthread_mutex_lock(mutex)
    else:
        print("ready", flush=True)
        while True:
            pass
"""


def _wait_until_blocked_on(pid: int, address: str, timeout_s: float = 60.0) -> None:
    """Return once the child's main thread waits in the kernel on ``address`` (the mutex), read from
    ``/proc/<pid>/syscall`` (syscall number, then its arguments; a futex wait's first is the address).
    Without this wait, a signal sent on a loaded machine can arrive while the child still runs Python code
    between ``print`` and the lock, where the ordinary KeyboardInterrupt ends it."""
    deadline = time.monotonic() + timeout_s  # a safety net only: the wait ends on the condition
    while time.monotonic() < deadline:
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
        if len(fields) > 1 and int(fields[1], 16) == int(address, 16):
            return
        time.sleep(0.01)
    pytest.fail(f"the child never blocked on its mutex within {timeout_s:.0f} s")


@pytest.mark.skipif(not Path("/proc/self/syscall").exists(), reason="needs Linux /proc to see when the child blocks")
@pytest.mark.parametrize("where", ["native", "python"])
def test_sigint_ends_the_process_even_inside_a_long_native_call(where):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    # Ctrl-C's default disposition, as a terminal gives it: a job started with `&` by a shell without job
    # control (a CI script run in the background) inherits SIGINT ignored, and Python then keeps it ignored.
    child = subprocess.Popen([sys.executable, "-c", _CHILD, where], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        ready = child.stdout.readline().split()
        assert ready[0] == "ready"
        if where == "native":
            _wait_until_blocked_on(child.pid, ready[1])
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=120)  # a safety net only: without the watcher it never ends
    finally:
        if child.poll() is None:
            child.kill()
    if where == "native":
        assert child.returncode == 130 and "interrupted" in err, (child.returncode, err[-500:])
    else:  # Python code: the ordinary KeyboardInterrupt, the watcher stays quiet
        assert "KeyboardInterrupt" in err and child.returncode != 130, (child.returncode, err[-500:])
