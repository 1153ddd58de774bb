"""Round two of "nothing lost" (issue 23): hargan owns files, not folder names; the lock covers the whole
tree and never follows a link; a killed process's temporaries are swept; a failed step is rolled back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from har_data import InputError
from har_data.atomic import atomic_dir, atomic_path, write_text
from har_data.manifest import journal, read_files
from har_data.outputs import LOCK, claim_dir, output_dir, output_file


def test_the_lock_never_follows_a_link(tmp_path):
    """Class 3: a .hargan.lock link to a file elsewhere is refused, the file is untouched."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK).symlink_to(victim)
    with pytest.raises(InputError, match="lock file is a link"):
        with output_dir(out):
            pass
    assert victim.read_text() == "precious" and (out / LOCK).is_symlink()
    fifo = tmp_path / "f"
    fifo.mkdir()
    os.mkfifo(fifo / LOCK)
    with pytest.raises(InputError, match="not a plain file"):
        with output_file(fifo / "w.npz"):
            pass


def test_a_temporary_file_is_created_exclusively_before_the_writer_gets_it(tmp_path):
    """Class 3: the temporary name is a fresh plain file of ours (no window where a link could be put there)."""
    with atomic_path(tmp_path / "w.npz") as tmp:
        assert tmp.is_file() and not tmp.is_symlink() and tmp.stat().st_size == 0
        tmp.write_bytes(b"data")
    assert (tmp_path / "w.npz").read_bytes() == b"data"


def test_a_killed_writers_temporaries_are_swept_but_not_the_users_files(tmp_path):
    """Class 11: hidden temporaries of a killed run go at the next start, at any depth."""
    out = tmp_path / "out"
    with output_dir(out) as stage:
        (stage / "csv").mkdir()
        (stage / "csv" / "log_0.csv").write_text("v1")
    stale = [out / ".windows.k3j4h5g6.tmp.npz", out / "csv" / ".log_0.abcd1234.tmp.csv",
             out / "..name.0a1b2c3d.tmp.x2y3z4w5.tmp.npz"]
    for p in stale:
        p.write_text("half")
    (out / ".hargan-stage-abc").mkdir()
    (out / "csv" / "mine.tmp.csv").write_text("user")
    with output_dir(out) as stage:
        (stage / "other.txt").write_text("x")
    assert not any(p.exists() for p in stale) and not (out / ".hargan-stage-abc").exists()
    assert (out / "csv" / "mine.tmp.csv").read_text() == "user"


def test_users_files_inside_hargans_folders_survive_a_rerun(tmp_path):
    """Class 1: the manifest lists every file; a re-run replaces only those (``generate --out``'s csv/)."""
    out = tmp_path / "out"
    with output_dir(out) as stage:
        (stage / "csv" / "0_a").mkdir(parents=True)
        (stage / "csv" / "0_a" / "log_0.csv").write_text("v1")
        (stage / "csv" / "0_a" / "log_1.csv").write_text("v1")
    assert read_files(out) == {"csv/0_a/log_0.csv", "csv/0_a/log_1.csv"}
    (out / "csv" / "mine.csv").write_text("user")
    (out / "csv" / "0_a" / "notes.txt").write_text("user")
    with output_dir(out) as stage:
        (stage / "csv" / "0_a").mkdir(parents=True)
        (stage / "csv" / "0_a" / "log_0.csv").write_text("v2")
    assert (out / "csv" / "mine.csv").read_text() == "user" and (out / "csv" / "0_a" / "notes.txt").exists()
    assert (out / "csv" / "0_a" / "log_0.csv").read_text() == "v2" and not (out / "csv" / "0_a" / "log_1.csv").exists()
    with pytest.raises(InputError, match="csv/0_a/notes.txt exists and was not written by hargan"):
        with output_dir(out) as stage:
            (stage / "csv" / "0_a").mkdir(parents=True)
            (stage / "csv" / "0_a" / "notes.txt").write_text("hargan")
    assert (out / "csv" / "0_a" / "notes.txt").read_text() == "user"


def test_a_run_directorys_subfolders_keep_the_users_files(tmp_path):
    """Class 1: a step replacing firmware/ (atomic_dir inside a claimed run directory) keeps the user's sources."""
    run = tmp_path / "run"
    for version in ("v1", "v2"):
        with claim_dir(run, entries=["firmware"]):
            with atomic_dir(run / "firmware") as tmp:
                (tmp / "har_model.c").write_text(version)
                if version == "v1":
                    (tmp / "old.h").write_text(version)
            write_text(run / "config.toml", version)
        if version == "v1":
            (run / "firmware" / "main.c").write_text("user")
    assert (run / "firmware" / "main.c").read_text() == "user"
    assert (run / "firmware" / "har_model.c").read_text() == "v2" and not (run / "firmware" / "old.h").exists()
    assert read_files(run) == {"firmware/har_model.c", "config.toml"}
    with pytest.raises(InputError, match="firmware/main.c exists and was not written by hargan"):
        with claim_dir(run), atomic_dir(run / "firmware") as tmp:
            (tmp / "main.c").write_text("hargan")
    with pytest.raises(InputError, match="was not written by hargan"):
        with claim_dir(run):
            write_text(run / "firmware" / "main.c", "hargan")
    assert (run / "firmware" / "main.c").read_text() == "user"


def test_a_failed_step_is_rolled_back(tmp_path):
    """Class 6: the files a failed step replaced come back, those it added go, the manifest is as it was."""
    run = tmp_path / "run"
    with claim_dir(run):
        write_text(run / "synthetic" / "windows.npz", "v1")
    before = read_files(run)
    with pytest.raises(RuntimeError), claim_dir(run), journal(run):
        write_text(run / "synthetic" / "windows.npz", "v2")
        with atomic_dir(run / "synthetic" / "csv") as tmp:
            (tmp / "log_0.csv").write_text("v2")
        raise RuntimeError("log_seconds too short")
    assert (run / "synthetic" / "windows.npz").read_text() == "v1" and not (run / "synthetic" / "csv").exists()
    assert read_files(run) == before and not list(run.glob(".hargan-stage-*"))


_HOLDER = """
import sys
from har_data.outputs import output_dir
with output_dir(sys.argv[1], shared=True):
    print("locked", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.parametrize("held,second", [("run", "run/firmware"), ("run/firmware", "run")])
def test_the_lock_covers_the_whole_tree(tmp_path, held, second):
    """Class 1: ``export --out <run>/firmware`` during ``run --out <run>`` (and the other way) is refused."""
    with claim_dir(tmp_path / "run"), atomic_dir(tmp_path / "run" / "firmware") as tmp:
        (tmp / "a.c").write_text("x")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    child = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path / held)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(InputError, match=rf"another hargan process \(pid {child.pid}\) is writing a folder"):
            with output_dir(tmp_path / second, shared=True):
                pass
    finally:
        child.stdin.close()
        child.wait()


def test_a_gan_checkpoint_is_resumed_only_by_the_same_training(tmp_path, monkeypatch):
    """Class 5: the fingerprint covers the classifier's weights and the step budget; a stale one is dropped."""
    import keras
    import numpy as np

    import gan.training as training
    from har_data import DEFAULT_SENSOR, WindowSet

    seen = []
    monkeypatch.setattr(training, "_fit", lambda *args: seen.append(args[7]))
    rng = np.random.default_rng(0)
    ws = WindowSet(rng.normal(0, 300, (8, 48, 3)).astype(np.float32), np.arange(8) % 2, ["a", "b"],
                   np.full(8, "train"), np.arange(8).astype(str), DEFAULT_SENSOR, DEFAULT_SENSOR.odr_hz)

    def classifier(seed: int) -> keras.Model:
        keras.utils.set_random_seed(seed)
        return keras.Sequential([keras.Input((48, 3)), keras.layers.Flatten(), keras.layers.Dense(2, "softmax")])

    clf = classifier(0)
    for model, steps in ((clf, 100), (clf, 60), (classifier(1), 100), (clf, 100)):
        training.train_gan(ws, model, steps=steps, steps_per_epoch=20, checkpoint_dir=tmp_path, latent_dim=4)
    assert len(set(seen)) == 3 and seen[0] == seen[3]
    seen[1].write_bytes(b"a checkpoint of 60 steps")
    said: list[str] = []
    training.train_gan(ws, clf, steps=100, steps_per_epoch=20, checkpoint_dir=tmp_path, latent_dim=4, log=said.append)
    assert not seen[1].exists() and "not resumed, training starts fresh" in said[0]


def test_files_a_nested_command_wrote_are_hargans_too(tmp_path):
    """Class 1: ``hargan export --out <run>/firmware`` (its own manifest there), then a run's export replaces them."""
    run = tmp_path / "run"
    with claim_dir(run), atomic_dir(run / "firmware") as tmp:
        (tmp / "har_model.c").write_text("v1")
    with output_dir(run / "firmware", shared=True) as stage:
        (stage / "har_model.c").write_text("from export")
    (run / "firmware" / "main.c").write_text("user")
    with claim_dir(run), atomic_dir(run / "firmware") as tmp:
        (tmp / "har_model.c").write_text("v2")
    assert (run / "firmware" / "har_model.c").read_text() == "v2" and (run / "firmware" / "main.c").exists()
