"""Run directory bookkeeping: step fingerprints, so a re-run reuses what did not change.

Each finished step leaves ``<out>/.steps/<step>.json`` with its fingerprint (hash of its config
sections and of its input files), the digest of every file it wrote, how long it took and a small
``result`` dict (figures the report needs later). A step is reused when the fingerprint matches
and every output still has the digest it was written with (a damaged or edited output re-runs it).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Iterable

from har_data.jsonio import to_jsonable, write_json
from har_data.manifest import read_files

FORMAT_VERSION = 2


def file_digest(path: Path, content: bool = True, only: set[str] | None = None) -> str:
    """sha256 of a file's bytes; of a folder's files (names + bytes); ``content=False``: size and mtime only.
    ``only``: of a folder, just these files (relative paths: hargan's, so the user's files beside them do
    not make a step run again)."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        files = (q for q in path.rglob("*") if q.is_file() and not q.name.startswith("."))
        if only is not None:
            files = (q for q in files if q.relative_to(path).as_posix() in only)
        for p in sorted(files):
            h.update(str(p.relative_to(path)).encode())
            h.update(file_digest(p, content).encode())
    elif path.is_file():
        if content and path.suffix == ".npz":
            # By the arrays, not the bytes: a zip member's timestamp changes when an equal file is rewritten.
            try:
                import numpy as np

                with np.load(path, allow_pickle=False) as z:
                    for name in sorted(z.files):
                        a = z[name]
                        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
                        h.update(np.ascontiguousarray(a).tobytes())
                return h.hexdigest()
            except Exception:  # noqa: BLE001 - not a readable npz: fall back to the bytes
                h = hashlib.sha256()
        if content:
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        else:
            st = path.stat()
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    else:
        h.update(b"<missing>")
    return h.hexdigest()


@dataclass
class StepRecord:
    name: str
    fingerprint: str
    outputs: dict[str, str]
    """Each output (relative to the run directory) and its digest when the step wrote it."""
    seconds: float
    result: dict = field(default_factory=dict)
    reused: bool = False


class RunDir:
    """One run directory and its step records."""

    def __init__(self, root: str | os.PathLike, *, force: bool = False, log: Callable[[str], None] = print):
        # Absolute, so an output path and the root it is made relative to agree whatever the working directory.
        self.root = Path(root).expanduser().absolute()
        self.force = force
        self.log = log
        self.records: dict[str, StepRecord] = {}

    def path(self, rel: str) -> Path:
        return self.root / rel

    def _record_path(self, name: str) -> Path:
        return self.root / ".steps" / f"{name}.json"

    def fingerprint(self, config_hash: str, inputs: Iterable[Path], external: Iterable[Path] = ()) -> str:
        """Hash of the step's config and inputs; ``external`` files (user data) hashed by size+mtime only."""
        h = hashlib.sha256(f"v{FORMAT_VERSION}:{config_hash}".encode())
        for p in inputs:
            h.update(f"|{Path(p).relative_to(self.root) if Path(p).is_relative_to(self.root) else p}:".encode())
            h.update(file_digest(Path(p)).encode())
        for p in external:
            h.update(f"|ext:{Path(p).resolve()}:".encode())
            h.update(file_digest(Path(p), content=False).encode())
        return h.hexdigest()[:24]

    def _digest(self, rel: str, owned: set[str] | None) -> str:
        """An output's digest: of a folder, only the files hargan wrote there (its manifest)."""
        only = None if owned is None else {f[len(rel) + 1:] for f in owned if f.startswith(rel + "/")}
        return file_digest(self.root / rel, only=only)

    def _relative(self, path: str | Path) -> str:
        p = Path(path)
        return str(p.relative_to(self.root)) if p.is_absolute() else str(p)

    def cached(self, name: str, fingerprint: str) -> StepRecord | None:
        """The step's record if it can be reused: same fingerprint, every output as it was written."""
        if self.force:
            return None
        rp = self._record_path(name)
        if not rp.is_file():
            return None
        try:
            d = json.loads(rp.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        outputs = d.get("outputs")
        if d.get("fingerprint") != fingerprint or not isinstance(outputs, dict):
            return None
        owned = read_files(self.root)
        if any(self._digest(rel, owned) != digest for rel, digest in outputs.items()):
            return None
        rec = StepRecord(name, fingerprint, dict(outputs), float(d.get("seconds", 0.0)),
                         dict(d.get("result", {})), reused=True)
        self.records[name] = rec
        return rec

    def finish(self, name: str, fingerprint: str, outputs: Iterable[str | Path], seconds: float,
               result: dict | None = None) -> StepRecord:
        owned = read_files(self.root)
        digests = {rel: self._digest(rel, owned) for rel in map(self._relative, outputs)}
        # Plain JSON values, so a result reads back equal to what the step returned.
        rec = StepRecord(name, fingerprint, digests, float(seconds), to_jsonable(dict(result or {})))
        write_json(self._record_path(name), {
            "step": name, "fingerprint": fingerprint, "outputs": digests, "seconds": round(seconds, 3),
            "result": rec.result, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        self.records[name] = rec
        return rec

    def run_step(self, name: str, *, config_hash: str, inputs: Iterable[Path] = (), external: Iterable[Path] = (),
                 outputs: Iterable[str | Path], body: Callable[[], dict | None], label: str = "") -> StepRecord:
        """Reuse the step if unchanged, else run ``body`` (which writes ``outputs``) and record it."""
        fp = self.fingerprint(config_hash, list(inputs), list(external))
        rec = self.cached(name, fp)
        if rec is not None:
            self.log(f"reusing {name} (unchanged)")
            return rec
        # A stale record must not survive a failed re-run of this step.
        rp = self._record_path(name)
        if rp.exists():
            rp.unlink()
        self.log(f"{label or name} ...")
        t0 = time.perf_counter()
        result = body() or {}
        seconds = time.perf_counter() - t0
        outs = [self._relative(o) for o in outputs]
        missing = [o for o in outs if not (self.root / o).exists()]
        if missing:
            raise RuntimeError(f"step {name} did not write {', '.join(missing)}")
        return self.finish(name, fp, outs, seconds, result)
