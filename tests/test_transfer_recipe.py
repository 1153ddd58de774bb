"""One transfer recipe: benchmarks/bench_transfer.py's ``hargan`` column and ``hargan run`` build the same
board model (float weights) for the same windows, config and seed (tiny data of test_pipeline_transfer)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from test_pipeline_transfer import CONFIG, _main, _write_data

from hargan.config import load_config


def _bench():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_transfer.py"
    spec = importlib.util.spec_from_file_location("bench_transfer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_and_hargan_run_build_the_same_board_model(tmp_path):
    from classifier import load_classifier
    from har_data import WindowSet

    _write_data(tmp_path)
    config = tmp_path / "transfer.toml"
    config.write_text(CONFIG.format(steps=20).replace("[transfer]\n", "[transfer]\nsynthetic = true\n"))
    out = tmp_path / "run"
    code, stdout, stderr = _main(["run", "--config", str(config), "--out", str(out), "--until", "classifier"])
    assert code == 0, stdout[-3000:] + stderr[-2000:]

    src, tgt = WindowSet.load(out / "data/source_windows.npz"), WindowSet.load(out / "data/windows.npz")
    seen = tgt.subset(["train", "val"])  # the target's training windows (its test split scores)
    result = _bench().hargan_recipe(src.x, src.y, seen.x, seen.y, list(tgt.class_names), load_config(config))

    board = load_classifier(out / "classifier/model.keras")
    judge = load_classifier(out / "classifier/judge.keras")
    assert all(np.array_equal(a, b) for a, b in zip(judge.get_weights(), result.judge.get_weights()))
    assert all(np.array_equal(a, b) for a, b in zip(board.get_weights(), result.board.get_weights()))
    assert any(not np.array_equal(a, b) for a, b in zip(board.get_weights(), judge.get_weights()))
