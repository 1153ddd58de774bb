"""har_data.atomic: outputs appear whole, and carry the user's umask like any file they create."""

from __future__ import annotations

import contextlib
import os
import stat

import numpy as np
import pytest

from har_data import atomic_dir, atomic_path, write_mems_studio_csv, write_text


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_atomic_outputs_follow_umask(tmp_path, mask):
    with umask(mask):
        with atomic_dir(tmp_path / "csv") as d:
            (d / "0_walking").mkdir()
            write_mems_studio_csv(d / "0_walking" / "log_0.csv", np.zeros((4, 3)))
        write_text(tmp_path / "report.md", "hello\n")
        with atomic_path(tmp_path / "model.bin") as tmp:
            tmp.write_bytes(b"\0")
    assert _mode(tmp_path / "csv") == 0o777 & ~mask
    assert _mode(tmp_path / "csv" / "0_walking") == 0o777 & ~mask
    for f in (tmp_path / "csv" / "0_walking" / "log_0.csv", tmp_path / "report.md", tmp_path / "model.bin"):
        assert _mode(f) == 0o666 & ~mask, f


def test_atomic_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "out"
    with atomic_dir(target) as d:
        (d / "a.txt").write_text("first")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as d:
            (d / "a.txt").write_text("second")
            raise RuntimeError("boom")
    assert (target / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary left behind
