"""Safe outputs: never an input overwritten, never a user's file deleted, all files or none, one writer.

Every command writes through :func:`output_dir` (a folder of outputs) or :func:`output_file` (one
file). Both, before any expensive work:

- refuse an output that is, contains or lies inside one of the inputs (resolved paths, hard links);
- take a lock on the folder (``.hargan.lock``, an ``flock`` the kernel drops when the process dies,
  so a killed run never blocks the next one), refusing a second writer with one line;
- refuse a non-empty folder that hargan does not own (no ``.hargan-manifest.json``), and any
  existing file the manifest does not list: hargan replaces only what it wrote. The manifest lists
  every file at every depth (:mod:`har_data.manifest`), so the user's files inside hargan's
  sub-folders stay;
- cover the whole tree: a command writing inside a folder another process holds (``export --out
  <run>/firmware`` during ``run --out <run>``), or one holding a folder inside it, is refused;
- sweep hargan's own temporary files and staging folders left by a killed process.

The lock file is opened without following a link (``O_NOFOLLOW``) and must be a plain file.

The work writes into a staging folder inside the output folder (same filesystem); on success the
manifest is updated first, then every staged entry is renamed into place, so a failure (a full
disk, a bad name found late, Ctrl-C) leaves the folder as it was.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import shutil
import stat
import tempfile
from pathlib import Path
from collections.abc import Iterator, Sequence

from har_data import manifest
from har_data.errors import InputError
from har_data.manifest import MANIFEST, STAGE_PREFIX, files_under, read_files, top_level, write_files

LOCK = ".hargan.lock"
CHECKPOINTS = ".hargan-checkpoints"
"""Where a command keeps training checkpoints beside its outputs (kept after a failure, for resuming)."""
_OURS = (MANIFEST, LOCK, CHECKPOINTS)
_HELD: dict[Path, list] = {}  # lock file -> [fd, depth]: re-entrant within one process
# Errors of the place written to, not of hargan: reported as bad input (exit 2) naming the path.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR,
                 errno.ENAMETOOLONG}

PathLike = str | os.PathLike


def check_not_input(out: PathLike, inputs: Sequence[PathLike | None], what: str = "--out") -> None:
    """Refuse an output path that is an input, contains one, or lies inside an input folder."""
    target = Path(out).expanduser().resolve()
    for given in inputs:
        if given is None:
            continue
        src = Path(given).expanduser().resolve()
        if target == src or (target.exists() and src.exists() and os.path.samefile(target, src)):
            raise InputError(f"{what} is the input {given}: choose another output", out)
        if target in src.parents:
            raise InputError(f"{what} contains the input {given}: its files could be replaced; choose another "
                             "output", out)
        if src.is_dir() and src in target.parents:
            raise InputError(f"{what} lies inside the input folder {given}: choose an output outside it", out)


def read_manifest(directory: PathLike) -> list[str] | None:
    """Top-level names hargan wrote in ``directory`` (None when it keeps no manifest: not hargan's folder);
    :func:`har_data.manifest.read_files` has every file."""
    files = read_files(directory)
    return None if files is None else top_level(files)


def write_manifest(directory: PathLike, names) -> None:
    """Record ``names`` (files of ``directory``, relative paths) as written by hargan, atomically (only when
    they change, so a run that reuses everything rewrites nothing)."""
    write_files(directory, names)


def _user_entries(directory: Path) -> list[str]:
    return sorted(e.name for e in directory.iterdir() if e.name not in _OURS and not e.name.startswith(STAGE_PREFIX))


def check_replaceable(directory: PathLike, names: Sequence[str], *, whole_folder: bool) -> list[str]:
    """The manifest of ``directory`` after checking that writing ``names`` there loses no user file.

    ``whole_folder``: the folder is an output of its own (refused when non-empty and not hargan's);
    otherwise only a file of the same name that hargan did not write is refused.
    """
    directory = Path(directory)
    owned = read_files(directory)
    present = _user_entries(directory) if directory.is_dir() else []
    if whole_folder and present and owned is None:
        raise InputError(f"folder is not empty and was not written by hargan (it holds {', '.join(present[:3])}"
                         f"{', ...' if len(present) > 3 else ''}): choose a new or empty folder", directory)
    for name in names:
        manifest.check_writable(directory, name, owned or set(), directory)
    return sorted(owned or [])


def _open_lock(path: Path, create: bool) -> int | None:
    """The lock file opened without following a link and without blocking on a FIFO; it must be a plain
    file. None when it does not exist and ``create`` is false."""
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o666)
    except FileNotFoundError:
        if create:
            raise
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):
            raise InputError("the lock file is a link: hargan never writes through one; remove it", path) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError("the lock file is not a plain file; remove it", path)
    return fd


def _holder(path: Path) -> str | None:
    """The pid (as text) of another process holding the lock at ``path``; None when nobody else does."""
    if path in _HELD or not os.path.lexists(path):
        return None
    try:
        fd = _open_lock(path, create=False)
    except (InputError, OSError):
        return None
    if fd is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None
    except BlockingIOError:
        return os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
    finally:
        os.close(fd)


def _check_tree(directory: Path, below: bool) -> None:
    """Refuse when another process holds a folder above ``directory`` or (``below``) one inside it."""
    found = [(a / LOCK, "a folder holding this one") for a in directory.parents]
    if below:
        found += [(Path(here) / LOCK, "a folder inside this one") for here, dirs, files in os.walk(directory)
                  if LOCK in files and Path(here) != directory]
    for path, where in found:
        holder = _holder(path)
        if holder is not None:
            raise InputError(f"another hargan process (pid {holder}) is writing {where} ({path.parent}); wait for "
                             "it to finish or choose another output", directory)


@contextlib.contextmanager
def lock(directory: PathLike, tree: bool = False) -> Iterator[None]:
    """Hold the folder's writer lock; refuse with one line while another process holds it, a folder above
    it or (``tree``: the folder is hargan's whole output) a folder inside it."""
    directory = Path(directory).resolve()
    path = directory / LOCK
    if path in _HELD:
        _HELD[path][1] += 1
        try:
            yield
        finally:
            _HELD[path][1] -= 1
        return
    fd = _open_lock(path, create=True)
    assert fd is not None  # created when missing
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise InputError(f"another hargan process (pid {holder}) is writing here; wait for it to finish or "
                         "choose another output", directory) from None
    _HELD[path] = [fd, 1]
    try:
        _check_tree(directory, tree and (directory / MANIFEST).is_file())
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        with manifest.root(directory):
            yield
    finally:
        del _HELD[path]
        os.close(fd)  # releases the flock


def _make_dir(directory: Path) -> list[Path]:
    """Create ``directory`` (and parents); the folders created, deepest last. Errors name the path."""
    missing = [p for p in [directory, *directory.parents] if not p.exists()][::-1]
    if directory.exists() and not directory.is_dir():
        raise InputError("is a file, not a folder", directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc.strerror or exc}", directory) from None
    return missing


@contextlib.contextmanager
def _reported(where: Path) -> Iterator[None]:
    """Turn a failure of the place written to (full disk, read-only, permissions) into one line."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _WRITE_ERRNOS:
            raise
        raise InputError(f"cannot write: {exc.strerror or exc}", exc.filename or where) from None


@contextlib.contextmanager
def _claimed(directory: Path, tree: bool = True) -> Iterator[None]:
    """Create (if needed) and lock ``directory``, sweeping hargan's stale temporaries (in its whole tree when
    ``tree``); leave no lock file in a folder that hargan did not end up owning, and remove the folders this
    call created when it fails."""
    created = _make_dir(directory)
    fresh_lock = not os.path.lexists(directory / LOCK)
    try:
        with _reported(directory), lock(directory, tree):
            if (directory / MANIFEST).is_file():
                manifest.sweep(directory, deep=tree)
            yield
    except BaseException:
        for d in reversed(created):
            with contextlib.suppress(OSError):
                (d / LOCK).unlink(missing_ok=True)
                d.rmdir()
        raise
    finally:
        if fresh_lock and directory.is_dir() and not (directory / MANIFEST).exists():
            (directory / LOCK).unlink(missing_ok=True)


@contextlib.contextmanager
def output_dir(out: PathLike, inputs: Sequence[PathLike | None] = (), *, replace_all: bool = False,
               shared: bool = False, what: str = "--out") -> Iterator[Path]:
    """Yield a staging folder; on success its entries replace those of ``out`` all at the end.

    ``replace_all``: ``out`` is one step's output folder, so entries hargan wrote there earlier
    and did not write this time are removed (stale outputs of an earlier run); files hargan did
    not write are never touched. ``shared``: ``out`` may be the user's own non-empty folder (a
    firmware project); hargan then only adds its files, refusing a name the user's files have.
    """
    out = Path(out).expanduser()
    check_not_input(out, inputs, what)
    with _claimed(out):
        check_replaceable(out, [], whole_folder=not shared)
        for old in out.glob(STAGE_PREFIX + "*"):  # left by a killed run (we hold the lock: nobody else's)
            shutil.rmtree(old, ignore_errors=True)
        stage = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=out))
        try:
            with _reported(out):
                yield stage
                _publish(stage, out, replace_all)
        finally:
            shutil.rmtree(stage, ignore_errors=True)


def _publish(stage: Path, out: Path, replace_all: bool) -> None:
    """Manifest first (so a crash mid-way leaves no file hargan cannot claim), then one rename per file.

    Every staged file replaces hargan's earlier version; hargan's other files in the folders it wrote again
    (in all of ``out`` with ``replace_all``) go; the user's files anywhere stay."""
    new = sorted(files_under(stage))
    owned = {f for f in check_replaceable(out, new, whole_folder=False) if os.path.lexists(out / f)}
    write_manifest(out, owned | set(new))
    manifest.merge_tree(stage, out, out.resolve(), "", prune=[""] if replace_all else top_level(new))


def _legacy_files(out: Path, entries: Sequence[str]) -> list[str]:
    """The files of a run directory an older hargan wrote without a manifest: everything under ``entries``."""
    files = []
    for entry in entries:
        path = out / entry
        files += [f"{entry}/{f}" for f in files_under(path)] if path.is_dir() else [entry] if path.is_file() else []
    return files


@contextlib.contextmanager
def claim_dir(out: PathLike, inputs: Sequence[PathLike | None] = (), entries: Sequence[str] = (), *,
              adopt: bool = False, what: str = "--out") -> Iterator[Path]:
    """Own and lock a run directory for as long as the block runs: refuse it when it is or holds an
    input, or is a non-empty folder hargan did not write; record ``entries`` (its top-level outputs)
    in its manifest. ``adopt``: the caller knows the folder is hargan's although it has no manifest
    (written by an older version). A failed first run removes the folder it created."""
    out = Path(out).expanduser()
    check_not_input(out, inputs, what)
    with _claimed(out):
        owned = check_replaceable(out, [], whole_folder=not adopt)
        if adopt and read_files(out) is None:  # an older run directory: its files under hargan's names are hargan's
            owned = _legacy_files(out, entries)
        write_manifest(out, [f for f in owned if os.path.lexists(out / f)])
        with _reported(out):
            yield out


@contextlib.contextmanager
def output_files(paths: Sequence[PathLike], inputs: Sequence[PathLike | None] = (), *,
                 what: str = "--out") -> Iterator[list[Path]]:
    """Yield temporary paths beside ``paths`` (one folder); on success each written one becomes its
    path, recorded in the folder's manifest; an earlier version of one not written this time goes.

    The folder may hold the user's other files; only a file hargan did not write at one of ``paths``
    is refused. Temporary names share one stem per target stem (``.m.<token>.tmp.tflite`` and
    ``.m.<token>.tmp.json``), so a writer that puts a sidecar beside its main file still works.
    """
    targets = [Path(p).expanduser() for p in paths]
    parent = targets[0].parent
    for path in targets:
        check_not_input(path, inputs, what)
        if path.is_dir():
            raise InputError(f"{what} is a folder; give a file name", path)
    token = secrets.token_hex(4)
    tmps = [parent / f".{p.stem}.{token}.tmp{p.suffix}" for p in targets]
    with _claimed(parent, tree=False):
        owned = check_replaceable(parent, [p.name for p in targets], whole_folder=False)
        try:
            with _reported(parent):
                yield tmps
                written = [(p, t) for p, t in zip(targets, tmps) if t.exists()]
                write_manifest(parent, [*owned, *(p.name for p, _ in written)])
                for path, tmp in written:
                    os.replace(tmp, path)
                for path, tmp in zip(targets, tmps):
                    if not tmp.exists() and (path, tmp) not in written and path.name in owned:
                        path.unlink(missing_ok=True)  # hargan's earlier version would no longer match
        finally:
            for tmp in tmps:
                if tmp.is_dir():
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def output_file(path: PathLike, inputs: Sequence[PathLike | None] = (), *, what: str = "--out") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it becomes ``path`` on success (see :func:`output_files`)."""
    with output_files([path], inputs, what=what) as (tmp,):
        yield tmp
