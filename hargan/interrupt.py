"""Ctrl-C that acts within seconds, even while TensorFlow or XLA is busy in C++ code.

Python runs a signal handler only when the main thread returns to Python code, which a long
native call (an XLA compile, a converter) can delay for tens of seconds. The C-level handler
still writes the signal number to a wake-up pipe at once; a watcher thread reads it and, if the
main thread has not finished unwinding ``grace_s`` seconds later, ends the process. That is safe
because every output is staged and renamed last, checkpoints are renamed into place, and the
writer lock is a kernel lock that dies with the process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

EXIT_INTERRUPTED = 130
DEFAULT_GRACE_S = 3.0


@contextlib.contextmanager
def prompt_interrupt(grace_s: float = DEFAULT_GRACE_S, message: str = "hargan: error: interrupted") -> Iterator[None]:
    """Within the block, SIGINT raises ``KeyboardInterrupt`` as usual, and ends the process with exit
    status 130 if that has not happened within ``grace_s`` seconds. No-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    try:
        previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except ValueError:  # not the main interpreter
        os.close(read_fd)
        os.close(write_fd)
        yield
        return
    finished = threading.Event()

    def watch() -> None:
        while True:
            try:
                data = os.read(read_fd, 64)
            except OSError:
                return
            if not data or finished.is_set():
                return
            if signal.SIGINT in data and not finished.wait(grace_s):
                try:
                    os.write(2, (message + "\n").encode())
                finally:
                    os._exit(EXIT_INTERRUPTED)

    watcher = threading.Thread(target=watch, name="hargan-interrupt", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()
        signal.set_wakeup_fd(previous_fd)
        os.close(write_fd)  # the watcher sees EOF and returns
        watcher.join(timeout=1.0)
        os.close(read_fd)
        sys.stderr.flush()
