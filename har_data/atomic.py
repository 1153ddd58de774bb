"""Atomic file writes: write to a temporary name beside the target, then rename.

Temporary files and folders are created the way any other file is, so what is renamed into
place carries the user's umask (``tempfile.mkdtemp`` would leave a folder at mode 0700). A temporary
file is created exclusively, never through a link (``O_EXCL | O_NOFOLLOW``), and kept in place
until the writer replaces its content, so no other process can slip a link in under its name.

Inside a folder whose lock this process holds (:mod:`har_data.outputs`), every rename goes
through :func:`har_data.manifest.adopt` first: a file of the user's is never replaced, and a
folder's new files are merged in one by one, so the user's files inside it stay.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from collections.abc import Iterator

from har_data import manifest


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The temporary name keeps the target's suffix (Keras and numpy look at suffixes).
    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp" + suffix, dir=path.parent)  # O_EXCL|O_NOFOLLOW
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        manifest.adopt(path)
        manifest.replace(tmp_path, path)
    except BaseException:
        if tmp_path.is_dir():
            shutil.rmtree(tmp_path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()
        raise


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _make_temp_dir(parent: Path, name: str) -> Path:
    """Create a fresh, uniquely named folder in ``parent`` with the mode the umask gives (``mkdir 0o777``)."""
    for _ in range(100):
        tmp = parent / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            tmp.mkdir(mode=0o777)
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"cannot create a temporary folder beside {parent / name}")


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; it replaces ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _make_temp_dir(path.parent, path.name)
    try:
        yield tmp
        found = manifest.adopt(path, manifest.files_under(tmp))
        if found is not None:  # a folder of hargan's output tree: replace only hargan's files in it
            top, rel = found
            manifest.merge_tree(tmp, path, top, rel, prune=[rel])
        else:
            if path.exists():
                shutil.rmtree(path)
            manifest.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
