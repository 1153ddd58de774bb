"""Outputs never overwrite an input, never delete a user's file, appear all together or not at all,
and one writer at a time (har_data.outputs)."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from har_data import InputError
from har_data.outputs import LOCK, MANIFEST, check_not_input, output_dir, output_file, read_manifest


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _inputs(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    """(output, input) pairs that must be refused."""
    data = tmp_path / "A" / "1_walking"
    data.mkdir(parents=True)
    log = data / "log_0.csv"
    log.write_text("acc_x[mg],acc_y[mg],acc_z[mg]\n1,2,3\n")
    os.link(log, tmp_path / "hard.csv")
    (tmp_path / "soft.csv").symlink_to(log)
    return {"same path": (log, log), "relative spelling": (data / ".." / "1_walking" / "log_0.csv", log),
            "hard link": (tmp_path / "hard.csv", log), "symlink": (tmp_path / "soft.csv", log),
            "folder holding the input": (tmp_path / "A", log), "inside the input folder": (data / "w.npz", data)}


@pytest.mark.parametrize("case", ["same path", "relative spelling", "hard link", "symlink", "folder holding the input",
                                  "inside the input folder"])
def test_an_output_that_is_or_holds_an_input_is_refused(tmp_path, case):
    out, given = _inputs(tmp_path)[case]
    before = _tree(tmp_path / "A")
    with pytest.raises(InputError, match="input"):
        check_not_input(out, [None, given])
    with pytest.raises(InputError, match="input"):
        with (output_dir(out, [given]) if case == "folder holding the input" else output_file(out, [given])) as tmp:
            Path(tmp).write_bytes(b"zip")
    assert _tree(tmp_path / "A") == before


def test_an_output_beside_the_input_is_fine(tmp_path):
    out, given = _inputs(tmp_path)["same path"]
    check_not_input(tmp_path / "out", [given])
    check_not_input(tmp_path / "A" / "w.npz", [given])


@pytest.mark.parametrize("user_files", [["csv/0_walking/mine.csv"], ["notes.txt"], ["csv/a.csv", "windows.npz"]])
def test_a_folder_hargan_does_not_own_is_refused_and_left_alone(tmp_path, user_files):
    out = tmp_path / "D"
    for name in user_files:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("user data")
    before = _tree(out)
    with pytest.raises(InputError, match="not empty and was not written by hargan"):
        with output_dir(out) as stage:
            (stage / "csv").mkdir()
    assert _tree(out) == before and not (out / MANIFEST).exists()


def test_hargan_replaces_only_what_it_wrote(tmp_path):
    out = tmp_path / "D"
    with output_dir(out) as stage:
        (stage / "csv").mkdir()
        (stage / "csv" / "log_0.csv").write_text("v1")
        (stage / "windows.npz").write_text("v1")
        (stage / "old.png").write_text("v1")
    assert read_manifest(out) == ["csv", "old.png", "windows.npz"]
    (out / "mine.txt").write_text("user")
    with output_dir(out, replace_all=True) as stage:
        (stage / "csv").mkdir()
        (stage / "csv" / "log_0.csv").write_text("v2")
        (stage / "windows.npz").write_text("v2")
    assert _tree(out) == {MANIFEST: (out / MANIFEST).read_bytes(), LOCK: (out / LOCK).read_bytes(),
                          "csv/log_0.csv": b"v2", "mine.txt": b"user", "windows.npz": b"v2"}
    with pytest.raises(InputError, match="mine.txt exists and was not written by hargan"):
        with output_dir(out) as stage:
            (stage / "mine.txt").write_text("hargan")
    assert (out / "mine.txt").read_text() == "user"


@pytest.mark.parametrize("failure", [RuntimeError("bad name found late"), OSError(errno.ENOSPC, "No space left"),
                                     KeyboardInterrupt()])
def test_a_failure_leaves_the_outputs_as_they_were(tmp_path, failure):
    out = tmp_path / "D"
    with output_dir(out) as stage:
        (stage / "windows.npz").write_text("v1")
    before = _tree(out)
    expected = InputError if isinstance(failure, OSError) else type(failure)
    with pytest.raises(expected):
        with output_dir(out) as stage:
            (stage / "windows.npz").write_text("v2")
            (stage / "csv").mkdir()
            raise failure
    assert _tree(out) == before and sorted(p.name for p in out.iterdir()) == sorted([LOCK, MANIFEST, "windows.npz"])
    new = tmp_path / "new" / "deeper"
    with pytest.raises(expected):
        with output_dir(new) as stage:
            raise failure
    assert not (tmp_path / "new").exists()  # a folder made for a failed command is removed again


@pytest.mark.parametrize("where", ["under a file", "file as folder"])
def test_an_unwritable_output_is_found_before_any_work(tmp_path, where):
    (tmp_path / "f").write_text("x")
    out = tmp_path / "f" / "sub" if where == "under a file" else tmp_path / "f"
    work = []
    with pytest.raises(InputError, match="cannot create|is a file"):
        with output_dir(out):
            work.append(1)
    assert not work


def test_single_files_replace_only_their_own_earlier_version(tmp_path):
    target = tmp_path / "m.tflite"
    target.write_bytes(b"user's model")
    with pytest.raises(InputError, match="m.tflite exists and was not written by hargan"):
        with output_file(target) as tmp:
            tmp.write_bytes(b"new")
    assert target.read_bytes() == b"user's model"
    other = tmp_path / "w.npz"
    for version in (b"v1", b"v2"):
        with output_file(other) as tmp:
            tmp.write_bytes(version)
    assert other.read_bytes() == b"v2" and read_manifest(tmp_path) == ["w.npz"]


_HOLDER = """
import sys, time
from har_data.outputs import output_dir
with output_dir(sys.argv[1]) as stage:
    print("locked", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.parametrize("end", [signal.SIGKILL, signal.SIGTERM])
def test_a_second_writer_is_refused_and_a_killed_one_blocks_nobody(tmp_path, end):
    out = tmp_path / "D"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    child = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(InputError, match=rf"another hargan process \(pid {child.pid}\) is writing here"):
            with output_dir(out):
                pass
    finally:
        child.send_signal(end)
        child.wait()
    with output_dir(out) as stage:  # the kernel dropped the dead process's lock: no stale lock
        (stage / "x").write_text("ok")
    assert (out / "x").read_text() == "ok"
    assert not list(out.glob(".hargan-stage-*"))  # what the killed run had staged is gone too
