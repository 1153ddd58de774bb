"""One error type for bad input, so every command can turn it into one line and exit 2."""

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


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's message on one line, cut at ``limit`` characters (for an ``InputError``)."""
    return " ".join(str(exc).split())[:limit]
