"""Console hygiene for the command line: native TensorFlow/absl log lines and Keras' benign
warnings are kept off the user's terminal (``--debug`` or HARGAN_NATIVE_LOGS=1 shows them)."""

from __future__ import annotations

import contextlib
import os
import re
import sys

_NATIVE_LOG = re.compile(r"^(?:[IWEF]\d{4} \d+:\d+:\d+(?:\.\d+)?\s+\d+ \S+:\d+\]|"
                         r"WARNING: All log messages before absl::InitializeLog\(\) is called)")
"""TensorFlow/absl/XLA C++ log lines (``I0000 00:00:... file.cc:12] ...``) and their preamble."""


def _is_native_noise(line: str) -> bool:
    return bool(_NATIVE_LOG.match(line))


class NativeStderrFilter:
    """Route file descriptor 2 through a thread that drops native TF/absl log lines (unless --debug).

    TF_CPP_MIN_LOG_LEVEL does not reach every library that TensorFlow, LiteRT and TFLite-Micro load,
    so their C++ start-up chatter is filtered here; everything else (Python warnings, our
    messages) passes through unchanged.
    """

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.saved: int | None = None

    def __enter__(self):
        if not self.enabled:
            return self
        try:
            sys.stderr.flush()
            self.saved = os.dup(2)
        except (OSError, ValueError):
            self.saved = None
            return self
        import threading

        r, w = os.pipe()
        os.dup2(w, 2)
        os.close(w)
        out = self.saved

        def pump() -> None:
            with os.fdopen(r, "rb") as fh:
                for raw in fh:
                    line = raw.decode("utf-8", "replace")
                    if not _is_native_noise(line):
                        os.write(out, raw)

        self.thread = threading.Thread(target=pump, name="hargan-stderr-filter", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.saved is None:
            return
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(self.saved, 2)  # closes the pipe's last write end: the pump sees EOF
        self.thread.join(timeout=5)
        os.close(self.saved)
        self.saved = None


@contextlib.contextmanager
def quiet_python_logs(enabled: bool):
    """TensorFlow's Python logger at ERROR and Keras' benign UserWarnings off, for this command only."""
    if not enabled:
        yield
        return
    import logging
    import warnings

    tf_logger = logging.getLogger("tensorflow")
    old = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*`shuffle=True` was passed.*")
            warnings.filterwarnings("ignore", message=r".*triggered tf\.function retracing.*")
            yield
    finally:
        tf_logger.setLevel(old)
