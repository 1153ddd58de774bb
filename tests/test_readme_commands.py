"""The README's commands as a new user types them: in a fresh folder, with relative paths.

Every other test passes absolute ``tmp_path``s; these run the ``hargan`` command as a subprocess
from inside an empty folder, so an output path joined to the run directory twice (or resolved
against the wrong folder) fails here first.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_main_command() -> list[str]:
    """The ``hargan ...`` part of the README's first shell block (the set-up line), as argv."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README.md has no bash block"
    parts = [part.strip() for part in block.group(1).split("&&")]
    commands = [part for part in parts if part.startswith("hargan ")]
    assert commands, f"README's first command does not run hargan: {block.group(1)!r}"
    return shlex.split(commands[0])


def hargan(args: list[str], cwd: Path, home: Path | None = None) -> subprocess.CompletedProcess:
    """``hargan ARGS`` in ``cwd`` (with ``home`` as ``~`` when given), as the console script runs it."""
    env = dict(os.environ, **({"HOME": str(home)} if home else {}))
    return subprocess.run([sys.executable, "-m", "hargan", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_the_readmes_main_command_works_in_a_fresh_folder(tmp_path):
    argv = readme_main_command()
    assert argv[:2] == ["hargan", "demo"] and "--out" in argv, argv
    out = argv[argv.index("--out") + 1]
    assert not Path(out).is_absolute(), f"README's --out is {out!r}: this test is about a relative one"
    res = hargan([*argv[1:], "--quick"], tmp_path)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    run = tmp_path / out
    for rel in ("data/windows.npz", "classifier/model_int8.tflite", "synthetic/windows.npz", "report/report.md",
                "firmware"):
        assert (run / rel).exists(), f"{rel} missing from {run}"
    assert [p.name for p in tmp_path.iterdir()] == [out], "the run wrote outside --out"


def test_run_with_a_relative_config_and_out_stops_after_until(tmp_path):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "tiny.toml").write_text('[classifier]\npreset = "cnn1d_tiny"\nepochs = 1\n'
                                                '[windows]\nstride = 48\n')
    res = hargan(["run", "--config", "cfg/tiny.toml", "--out", "runs/tiny", "--until", "prepare"], tmp_path)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert (tmp_path / "runs" / "tiny" / "data" / "windows.npz").is_file()
    assert "stopped after prepare" in res.stdout
    # Again, reusing the step: the record's outputs are found where they were written.
    res = hargan(["run", "--config", "cfg/tiny.toml", "--out", "runs/tiny", "--until", "prepare"], tmp_path)
    assert res.returncode == 0 and "reusing prepare (unchanged)" in res.stdout, (res.stdout + res.stderr)[-3000:]


def test_home_relative_out_is_expanded(tmp_path):
    (tmp_path / "tiny.toml").write_text('[classifier]\npreset = "cnn1d_tiny"\n[windows]\nstride = 48\n')
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "tiny.toml").rename(home / "tiny.toml")
    res = hargan(["run", "--config", "~/tiny.toml", "--out", "~/run", "--until", "prepare"], tmp_path, home=home)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert (home / "run" / "data" / "windows.npz").is_file()
    assert not (tmp_path / "~").exists()
