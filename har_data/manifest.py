"""What hargan owns inside an output folder: every file it wrote, at every depth.

``.hargan-manifest.json`` lists each file (a path relative to the folder) that hargan wrote.
hargan replaces or removes only those: a file of the user's inside one of hargan's sub-folders
(``firmware/``, ``synthetic/csv/``) stays, and a write onto a path the user's file has is refused.

While a process holds an output folder's lock (:mod:`har_data.outputs`) the folder is a *root*:
every atomic write into its tree (:mod:`har_data.atomic`) goes through :func:`adopt` before its
rename, which refuses the user's files and records the new ones first (a crash after the rename
leaves nothing hargan cannot claim). A *journal* (:func:`journal`) keeps the versions a write
replaced, so a failed step of ``hargan run`` puts the folder back as it was.

This module needs nothing but the standard library (``har_data.atomic`` builds on it).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from har_data.errors import InputError

MANIFEST = ".hargan-manifest.json"
STAGE_PREFIX = ".hargan-stage-"
JOURNAL_PREFIX = STAGE_PREFIX + "journal-"
# hargan's temporary names: atomic_path / atomic_dir / output_files (".<stem>.<8 chars>.tmp[.suffix]"), export's.
_TEMP = re.compile(r"^\..*\.[A-Za-z0-9_]{8}\.tmp(\.[^/]*)?$|^\.hargan-(stage|export)[-.]")
_ROOTS: list[Path] = []  # folders whose lock this process holds (innermost last)
_JOURNALS: dict[Path, dict] = {}  # root -> {"dir": Path, "new": set[str], "old": set[str], "manifest": set}


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one of hargan's temporary (or staging) names."""
    return bool(_TEMP.match(name))


def files_under(folder: Path) -> set[str]:
    """Every file (or link) under ``folder``, relative to it, leaving out hargan's temporaries."""
    found = set()
    for here, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not is_temp_name(d)]
        rel = Path(here).relative_to(folder)
        found |= {(rel / f).as_posix() for f in files if not is_temp_name(f)}
    return found


def read_files(directory: str | os.PathLike) -> set[str] | None:
    """The files hargan wrote under ``directory`` (None: no manifest, not hargan's folder).

    A manifest of an older hargan lists top-level names only: a listed folder stands for every file in it.
    """
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file() or path.is_symlink():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        names = [str(n) for n in data["files"]]
    except (ValueError, KeyError, TypeError, OSError):
        raise InputError("damaged hargan manifest: remove it only if every file here is yours to lose", path) from None
    if any(n.startswith("/") or ".." in n.split("/") for n in names):
        raise InputError("damaged hargan manifest: it names a file outside this folder", path)
    if data.get("version", 1) >= 2:
        return set(names)
    files: set[str] = set()
    for name in names:
        files |= {f"{name}/{f}" for f in files_under(directory / name)} if (directory / name).is_dir() else {name}
    return files


def write_files(directory: str | os.PathLike, files: Iterable[str]) -> None:
    """Record ``files`` as hargan's, atomically; only when the list changes."""
    text = json.dumps({"written_by": "hargan", "version": 2, "files": sorted(set(files))}, indent=1) + "\n"
    path = Path(directory) / MANIFEST
    if path.is_file() and not path.is_symlink() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_name(f".{MANIFEST}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def replace(tmp: Path, path: Path) -> None:
    """``os.replace``, whose error names the file being written (not the temporary one)."""
    try:
        os.replace(tmp, path)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None


def top_level(files: Iterable[str]) -> list[str]:
    """The top-level names of ``files`` (what an older manifest listed)."""
    return sorted({f.split("/")[0] for f in files})


@contextlib.contextmanager
def root(directory: Path) -> Iterator[None]:
    """Mark ``directory`` (whose lock the caller holds) as a root: atomic writes into it are adopted."""
    directory = Path(directory).resolve()
    _ROOTS.append(directory)
    try:
        yield
    finally:
        _ROOTS.remove(directory)
        _forget_removed(directory)


def _forget_removed(directory: Path) -> None:
    """Drop from the manifest the files hargan wrote and then removed itself (a finished training's
    checkpoints), so the next run that reuses everything finds the manifest as it left it."""
    files = read_files(directory)
    if files:
        with contextlib.suppress(OSError):  # best effort: a full disk must not hide the run's own error
            write_files(directory, {f for f in files if (directory / f).exists()})


def owner(target: Path) -> tuple[Path, str] | None:
    """The innermost root holding ``target`` and its path there; None outside every root or in a temporary."""
    target = Path(target).absolute()
    parent = target.parent.resolve()
    for r in reversed(_ROOTS):
        if parent == r or r in parent.parents:
            rel = (parent / target.name).relative_to(r)
            if any(is_temp_name(part) for part in rel.parts):
                return None  # being staged: published (and recorded) as a whole later
            return r, rel.as_posix()
    return None


def check_writable(base: Path, rel: str, owned: set[str], top: Path) -> None:
    """Refuse writing ``base/rel`` when a file there (or a file in place of one of its folders) is not
    hargan's, or when a folder on the way is a link leading out of ``top``."""
    path = base / rel
    for p in [path, *path.parents]:
        if p == base or base not in p.parents:
            break
        if (p.is_file() or p.is_symlink()) and p.relative_to(top).as_posix() not in owned \
                and not _listed_elsewhere(top, p):
            raise InputError(f"{p.relative_to(top).as_posix()} exists and was not written by hargan: it is never "
                             "replaced; move it or choose another output", p)
    parent = path.parent
    if parent.exists() and top.resolve() not in [parent.resolve(), *parent.resolve().parents]:
        raise InputError("a folder on the way is a link out of the output folder: refused", parent)


def _listed_elsewhere(top: Path, path: Path) -> bool:
    """Whether another hargan output folder holding ``path`` lists it: ``hargan export --out <run>/firmware``
    wrote it, or a run wrote it into the folder an export now writes to."""
    for folder in path.parents:
        if folder == top:
            continue
        with contextlib.suppress(InputError, OSError):
            if (folder / MANIFEST).is_file() and path.relative_to(folder).as_posix() in (read_files(folder) or ()):
                return True
    return False


def adopt(target: Path, new: Iterable[str] = ("",)) -> tuple[Path, str] | None:
    """Before ``target`` (a file, or a folder of files ``new`` relative to it) is written into a root's
    tree: refuse the user's files there, then record the new files in the root's manifest."""
    found = owner(target)
    if found is None:
        return None
    top, rel = found
    owned = read_files(top) or set()
    names = {f"{rel}/{n}".rstrip("/") if n else rel for n in new}
    for name in names:
        check_writable(top, name, owned, top)
    _journal_keep(top, names, owned)
    write_files(top, owned | names)
    return found


def merge_tree(src: Path, dest: Path, top: Path, rel: str, *, prune: Iterable[str] = ()) -> None:
    """Move every file of ``src`` to the same place under ``dest`` (= ``top/rel``); files hargan wrote under
    the folders ``prune`` (relative to ``top``; "" for all) that ``src`` does not have are removed. Files that
    are not hargan's are never touched (:func:`adopt` has refused a clash)."""
    new = files_under(src)
    owned = read_files(top) or set()
    names = {f"{rel}/{n}" if rel else n for n in new}
    prune = list(prune)
    stale = {f for f in owned - names if any(not p or f == p or f.startswith(p + "/") for p in prune)}
    for name in sorted(stale):
        _journal_keep(top, {name}, owned)
        with contextlib.suppress(FileNotFoundError):
            (top / name).unlink()
    for name in sorted(new):
        d = dest / name
        if d.is_dir() and not d.is_symlink():
            shutil.rmtree(d)  # a folder of hargan's where a file now goes (every file in it was checked)
        d.parent.mkdir(parents=True, exist_ok=True)
        replace(src / name, d)
    _drop_empty(top, {str(Path(n).parent) for n in stale})
    write_files(top, (owned - stale) | names)


def _drop_empty(top: Path, folders: Iterable[str]) -> None:
    """Remove folders left empty by removing stale files (never ``top`` itself)."""
    for folder in sorted(folders, key=len, reverse=True):
        p = top / folder
        while p != top and top in p.parents:
            try:
                p.rmdir()
            except OSError:
                break
            p = p.parent


def sweep(directory: Path, deep: bool = True) -> None:
    """Remove hargan's temporary files and staging folders left by a killed process (the caller holds the lock)."""
    for here, dirs, files in os.walk(directory):
        for name in [*dirs, *files]:
            if is_temp_name(name):
                p = Path(here) / name
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
        dirs[:] = [d for d in dirs if not is_temp_name(d)] if deep else []


@contextlib.contextmanager
def journal(directory: Path, exclude: Iterable[str] = ()) -> Iterator[None]:
    """All or nothing for a series of atomic writes into the root ``directory`` (one step of ``hargan run``):
    the versions they replace are kept aside and put back, with the manifest, when the block fails.
    ``exclude``: folders (relative) whose files stay as written (training checkpoints, for resuming).
    Outside a root (no lock held: library use) the writes are not adopted, so there is nothing to journal."""
    top = Path(directory).resolve()
    if top not in _ROOTS:
        yield
        return
    kept = top / f"{JOURNAL_PREFIX}{secrets.token_hex(4)}"
    kept.mkdir()
    entry = {"dir": kept, "new": set(), "old": set(), "manifest": read_files(top) or set(),
             "exclude": tuple(f"{e.rstrip('/')}/" for e in exclude)}
    _JOURNALS[top] = entry
    try:
        yield
    except BaseException:
        del _JOURNALS[top]
        _roll_back(top, entry)
        raise
    else:
        del _JOURNALS[top]
    finally:
        shutil.rmtree(kept, ignore_errors=True)


def _journal_keep(top: Path, names: Iterable[str], owned: set[str]) -> None:
    """Inside a journal: move the current version of each of ``names`` aside (once) before it is replaced."""
    entry = _JOURNALS.get(top)
    if entry is None:
        return
    for name in names:
        if name in entry["new"] or name in entry["old"] or name.startswith(entry["exclude"]):
            continue
        path = top / name
        if name in owned and path.is_file():
            (entry["dir"] / name).parent.mkdir(parents=True, exist_ok=True)
            try:  # the old version stays in place until the new one replaces it
                os.link(path, entry["dir"] / name)
            except OSError:  # a filesystem without hard links
                shutil.copy2(path, entry["dir"] / name)
            entry["old"].add(name)
        else:
            entry["new"].add(name)


def _roll_back(top: Path, entry: dict) -> None:
    """Put back what a failed journal replaced; remove what it added; restore the manifest."""
    for name in entry["new"]:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            (top / name).unlink()
    for name in entry["old"]:
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        os.replace(entry["dir"] / name, top / name)
    _drop_empty(top, {str(Path(n).parent) for n in entry["new"]})
    kept = {f for f in read_files(top) or set() if f.startswith(entry["exclude"])} if entry["exclude"] else set()
    write_files(top, entry["manifest"] | kept)
