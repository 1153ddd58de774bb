"""Safe outputs: never an input overwritten, never a user's file deleted, all files or none, one writer.

Every command writes through :func:`output_dir` (a folder of outputs) or :func:`output_file` (one
file). Both, before any expensive work:

- refuse an output that is, contains or lies inside one of the inputs (resolved paths, hard links);
- take a lock on the folder (``.hargan.lock``, an ``flock`` the kernel drops when the process dies,
  so a killed run never blocks the next one), refusing a second writer with one line;
- refuse a non-empty folder that hargan does not own (no ``.hargan-manifest.json``), and any
  existing file the manifest does not list: hargan replaces only what it wrote.

The work writes into a staging folder inside the output folder (same filesystem); on success the
manifest is updated first, then every staged entry is renamed into place, so a failure (a full
disk, a bad name found late, Ctrl-C) leaves the folder as it was.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from collections.abc import Iterator, Sequence

from har_data.atomic import write_text
from har_data.errors import InputError

MANIFEST = ".hargan-manifest.json"
LOCK = ".hargan.lock"
STAGE_PREFIX = ".hargan-stage-"
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
    """Names hargan wrote in ``directory`` (None when it keeps no manifest: not hargan's folder)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return None
    try:
        names = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError, OSError):
        raise InputError("damaged hargan manifest: remove it only if every file here is yours to lose", path) from None
    return [str(n) for n in names]


def write_manifest(directory: PathLike, names) -> None:
    """Record ``names`` (top-level entries of ``directory``) as written by hargan, atomically (only when
    they change, so a run that reuses everything rewrites nothing)."""
    text = json.dumps({"written_by": "hargan", "files": sorted(set(names))}, indent=1) + "\n"
    path = Path(directory) / MANIFEST
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_text(path, text)


def _user_entries(directory: Path) -> list[str]:
    return sorted(e.name for e in directory.iterdir() if e.name not in _OURS and not e.name.startswith(STAGE_PREFIX))


def check_replaceable(directory: PathLike, names: Sequence[str], *, whole_folder: bool) -> list[str]:
    """The manifest of ``directory`` after checking that writing ``names`` there loses no user file.

    ``whole_folder``: the folder is an output of its own (refused when non-empty and not hargan's);
    otherwise only a file of the same name that hargan did not write is refused.
    """
    directory = Path(directory)
    owned = read_manifest(directory)
    present = _user_entries(directory) if directory.is_dir() else []
    if whole_folder and present and owned is None:
        raise InputError(f"folder is not empty and was not written by hargan (it holds {', '.join(present[:3])}"
                         f"{', ...' if len(present) > 3 else ''}): choose a new or empty folder", directory)
    foreign = [n for n in names if n in present and n not in (owned or [])]
    if foreign:
        raise InputError(f"{foreign[0]} exists and was not written by hargan: it is never replaced; "
                         "move it or choose another output", directory / foreign[0])
    return owned or []


@contextlib.contextmanager
def lock(directory: PathLike) -> Iterator[None]:
    """Hold the folder's writer lock; refuse with one line while another process holds it."""
    path = (Path(directory) / LOCK).resolve()
    if path in _HELD:
        _HELD[path][1] += 1
        try:
            yield
        finally:
            _HELD[path][1] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise InputError(f"another hargan process (pid {holder}) is writing here; wait for it to finish or "
                         "choose another output", directory) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _HELD[path] = [fd, 1]
    try:
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
def _claimed(directory: Path) -> Iterator[None]:
    """Create (if needed) and lock ``directory``; leave no lock file in a folder that hargan did not
    end up owning, and remove the folders this call created when it fails."""
    created = _make_dir(directory)
    fresh_lock = not (directory / LOCK).exists()
    try:
        with _reported(directory), lock(directory):
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
    """Manifest first (so a crash mid-way leaves no file hargan cannot claim), then one rename per entry."""
    new = sorted(e.name for e in stage.iterdir())
    owned = check_replaceable(out, new, whole_folder=False)
    stale = [n for n in owned if n not in new and replace_all]
    write_manifest(out, [n for n in owned if n not in stale] + new)
    aside = stage / ".replaced"
    aside.mkdir()
    for name in new:
        target = out / name
        if target.exists() or target.is_symlink():
            os.replace(target, aside / name)
        os.replace(stage / name, target)
    for name in stale:
        if (out / name).exists():
            os.replace(out / name, aside / name)


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
        write_manifest(out, [*owned, *entries])
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
    with _claimed(parent):
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
