"""benchmarks/run.py (issue 8 speed benchmark): table, ratios and options on a fabricated result; no training."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def run():
    mod = _load("run")
    return mod


def _rows():
    ours = {"name": "hargan-tf", "label": "hargan, TF", "library": "hargan", "status": "ok",
            "result": {"updates_per_s": 29.4, "real_windows_per_s": 9408.0, "warmup_s": 7.52,
                       "generated_windows_per_s": 43544.0, "peak_rss_mb": 994.7, "n_critic": 5,
                       "generator_params": 41967, "critic_params": 15329, "quality_train_s": 110.0,
                       "quality_updates": 3000, "speed_updates": 200, "speed_cpu_s": 8.4},
            "evaluation": {"best_tstr_ratio": 0.9312, "time_to_quality_s": 35.2, "updates_to_quality": 1000}}
    peer = {"name": "tsgm-tutorial", "label": "TSGM, tutorial arch", "library": "tsgm", "status": "ok",
            "result": {"updates_per_s": 0.25, "real_windows_per_s": 16.0, "warmup_s": 41.0,
                       "generated_windows_per_s": 900.0, "peak_rss_mb": 1500.0, "n_critic": 1,
                       "generator_params": 1_200_000, "critic_params": 80_000, "quality_train_s": 600.4,
                       "quality_updates": 150},
            "evaluation": {"best_tstr_ratio": 0.41, "time_to_quality_s": None, "updates_to_quality": None}}
    skipped = {"name": "hargan-jax", "label": "hargan, JAX", "library": "hargan", "status": "skipped",
               "reason": "jax is not importable in our venv"}
    failed = {"name": "tsgm-hargan", "label": "TSGM, our models", "library": "tsgm", "status": "failed",
              "reason": "ValueError: boom", "result": {"status": "failed", "error": "ValueError: boom"}}
    return [ours, skipped, peer, failed]


def test_table_rows_and_cells(run):
    tab = run.table(_rows()).splitlines()
    assert len(tab) == 2 + 4
    assert all(line.count("|") == tab[0].count("|") for line in tab)  # every row has every column
    ours, skipped, peer, failed = tab[2:]
    assert ("| 29.40 | 27.27 | 42.0 | 9,408 | 7.5 | 43,544 | 995 | **35.2** (1,000) | 0.931 | 41,967 / 15,329 |"
            in ours)
    assert "| 0.25 | 0.25 | – | 16 |" in peer  # no CPU time recorded: a dash, not a made-up figure
    assert "not reached in 600 s (150 updates)" in peer and "(n_critic 1)" in peer
    assert "skipped: jax is not importable" in skipped
    assert "failed: ValueError: boom" in failed


def test_ratios_ours_over_tsgm(run):
    text, data = run.ratios(_rows())
    assert len(data) == 1  # only ok rows: hargan-tf / tsgm-tutorial
    d = data[0]
    assert (d["ours"], d["tsgm"]) == ("hargan-tf", "tsgm-tutorial")
    assert d["updates_per_s"] == "109.16×"  # over the whole quality runs: (3000 / 110) / (150 / 600.4)
    assert d["real_windows_per_s"] == "588.00×"
    # TSGM never reached quality: ours is at least its budget / our time sooner.
    assert d["time_to_quality"] == "> 17.1× sooner (TSGM not reached in 600 s)"
    assert "| `hargan-tf` / `tsgm-tutorial` |" in text


def test_ratio_when_both_reach_quality_and_when_ours_does_not(run):
    rows = _rows()
    rows[2]["evaluation"]["time_to_quality_s"] = 70.4
    assert run.ratios(rows)[1][0]["time_to_quality"] == "2.00× sooner"
    rows[0]["evaluation"]["time_to_quality_s"] = None
    assert run.ratios(rows)[1][0]["time_to_quality"] == "– (ours not reached)"
    assert run.ratios([rows[0], rows[1]]) == ("", [])  # no TSGM row: no ratios


def test_per_config_budgets_and_options(run, tmp_path):
    names = list(run.CONFIGS)
    assert run.per_config("600", float, names) == {n: 600.0 for n in names}
    assert run.per_config("tsgm-tutorial=300, hargan-tf=120", float, names) == {"tsgm-tutorial": 300.0,
                                                                                "hargan-tf": 120.0}
    with pytest.raises(ValueError, match="unknown configuration"):
        run.per_config("nope=1", int, names)
    args = run.parse_args(["--quick", "--only", "hargan-tf,tsgm-tutorial", "--max-train-s", "tsgm-tutorial=30",
                           "--work", str(tmp_path)])
    assert args.configs == ["hargan-tf", "tsgm-tutorial"]
    assert args.out == tmp_path / "speed_quick.json"  # a smoke run never overwrites results/speed.json
    b = run.budgets("tsgm-tutorial", True, args.budget_overrides)
    assert b["max_train_s"] == 30.0 and b["max_updates"] == run.CONFIGS["tsgm-tutorial"]["quick"][2]
    with pytest.raises(SystemExit):
        run.parse_args(["--only", "hargan-tf,bogus"])


def test_skip_reason_without_peer_venv(run, tmp_path):
    args = run.parse_args(["--peer-python", str(tmp_path / "none" / "python"), "--work", str(tmp_path)])
    reason = run.skip_reason("tsgm-hargan", args)
    if (BENCH / "trainer_tsgm.py").is_file():
        assert "no TSGM venv" in reason and "setup_tsgm.sh" in reason
    else:
        assert "trainer_tsgm.py not found" in reason


def test_trainer_hargan_rejects_other_architectures(tmp_path, capsys):
    trainer = _load("trainer_hargan")
    with pytest.raises(SystemExit) as exc:
        trainer.parse_args(["--data", str(tmp_path / "d.npz"), "--out", str(tmp_path), "--arch", "tsgm"])
    assert exc.value.code == 2
    assert "not a hargan architecture" in capsys.readouterr().err
