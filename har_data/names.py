"""Names that become parts of paths (class names: ``synthetic/csv/<id>_<class>/``), checked where they enter.

A name is one path component on every system hargan's outputs travel to: letters and digits (any
script), space and ``_ . , + - ( ) & ' # @ =``; no separator, no ``..``, no control character (NUL),
not starting with a dot or ending with a dot or space, not a name Windows reserves (``CON``, ``NUL``,
``COM1`` ...), at most 100 characters. Config keys, ``.npz`` files, loaders and models that carry such
names check them with :func:`check_path_name`, so a name never leads a writer outside ``--out``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from har_data.errors import InputError

_SAFE = re.compile(r"[\w][\w .,+()&'#@=-]*", re.UNICODE)
_RESERVED = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])(\..*)?", re.IGNORECASE)
MAX_LENGTH = 100


def path_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be part of a path (None when it can)."""
    if not isinstance(name, str) or not name:
        return "is empty"
    if "\0" in name or any(ord(c) < 32 for c in name):
        return "holds a control character"
    if "/" in name or "\\" in name or name in (".", ".."):
        return "holds a path separator or is '.'/'..'"
    if len(name) > MAX_LENGTH:
        return f"is longer than {MAX_LENGTH} characters"
    if not _SAFE.fullmatch(name) or name[-1] in ". ":
        return ("may hold only letters, digits, spaces and _ . , + - ( ) & ' # @ = (not starting with a dot or "
                "ending with a dot or space)")
    if _RESERVED.fullmatch(name):
        return "is a name Windows reserves for a device"
    return None


def check_path_name(name: str, what: str = "class name", path: str | os.PathLike | None = None,
                    line: int | None = None) -> str:
    """``name`` when it can be one path component; else an :class:`InputError` naming it and ``path``."""
    problem = path_name_problem(name)
    if problem:
        raise InputError(f"{what} {name!r} {problem}: it becomes a file or folder name", path, line)
    return name


def check_path_names(names: Iterable[str], what: str = "class name", path: str | os.PathLike | None = None) -> list:
    """Every name of ``names`` through :func:`check_path_name`; the names as a list."""
    return [check_path_name(str(n), what, path) for n in names]


def first_bad_name(named: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """The first ``(key, name)`` whose name cannot be a path component: ``(key, message)``; None if all can."""
    for key, name in named:
        problem = path_name_problem(name)
        if problem:
            return key, f"{key}: class name {name!r} {problem}: it becomes a folder name"
    return None
