"""The two error kinds a user can act on, each one line with its own exit status.

:class:`InputError` (exit 2): bad input, the user's data or settings cannot be used.
:class:`TrainingError` (exit 3): the input was usable but training failed to produce what was
asked (a NaN loss, acceptance never reached); the user may retry with other settings or seeds.
Anything else is an internal failure (exit 1). See docs/architecture.md, "Errors".
"""

from __future__ import annotations

import os


class InputError(ValueError):
    """Bad input from the user: a file, a value or a setting that cannot be used.

    ``str(err)`` is one line: ``path:line: problem`` (path and line when known).
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.line = line
        where = ""
        if self.path is not None:
            where = self.path + (f":{line}" if line is not None else "") + ": "
        super().__init__(where + " ".join(str(message).split()))


class TrainingError(RuntimeError):
    """Training that fails although its input was valid: a loss turned NaN, too few generated
    windows accepted. Not bad input (exit 3, not 2): the same data may work with other settings.

    ``str(err)`` is one line.
    """

    def __init__(self, message: str):
        self.message = message
        super().__init__(" ".join(str(message).split()))


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's message on one line, cut at ``limit`` characters (for an ``InputError``)."""
    return " ".join(str(exc).split())[:limit]
