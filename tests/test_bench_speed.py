"""benchmarks/run.py (speed benchmark): table, ratios and options on a fabricated result; no training."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
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


def _seed(seed, time_s, *, updates=500, budget=60.0, **result):
    ev = {"time_to_shippable_s": time_s, "updates_to_shippable": updates if time_s is not None else None,
          "shipped_tstr_ratio": 0.95 if time_s is not None else None,
          "shipped_acceptance": 0.99 if time_s is not None else None,
          "shipped_realism_pass": 0.9 if time_s is not None else None, "budget_elapsed_s": budget}
    return {"seed": seed, "status": "ok", "result": result, "evaluation": ev}


def _rows():
    base = {"n_critic": 5, "generator_params": 41967, "critic_params": 15329, "quality_train_s": 100.0,
            "quality_updates": 3000, "generated_windows_per_s": 43544.0, "peak_rss_mb": 994.7}
    speed = {"speed_updates": 200, "speed_cpu_s": 8.4, "real_windows_per_s": 9408.0}
    ours = {"name": "hargan", "label": "hargan, defaults", "library": "hargan", "status": "ok",
            "budgets": {"eval_every": 250},
            "seeds": [_seed(0, 21.0, first_update_s=6.0, **base, **speed),
                      _seed(1, 30.0, updates=750, first_update_s=5.0, **base),
                      _seed(2, 18.0, first_update_s=7.5, **base)]}
    peer_base = {"n_critic": 1, "generator_params": 1_200_000, "critic_params": 80_000, "quality_train_s": 600.0,
                 "quality_updates": 150, "generated_windows_per_s": 900.0, "peak_rss_mb": 1500.0}
    peer = {"name": "tsgm-tutorial", "label": "TSGM, tutorial arch", "library": "tsgm", "status": "ok",
            "budgets": {"eval_every": 250},
            "seeds": [_seed(0, None, budget=620.0, first_update_s=12.0, **peer_base, speed_updates=10,
                            real_windows_per_s=16.0),
                      _seed(1, 300.0, budget=610.0, first_update_s=11.0, **peer_base),
                      _seed(2, None, budget=615.0, first_update_s=13.0, **peer_base)]}
    skipped = {"name": "hargan-jax", "label": "hargan, JAX", "library": "hargan", "status": "skipped",
               "reason": "jax is not importable in our venv"}
    failed = {"name": "tsgm-hargan", "label": "TSGM, our models", "library": "tsgm", "status": "failed",
              "reason": "ValueError: boom", "seeds": [{"seed": 0, "status": "failed", "reason": "ValueError: boom"}]}
    return [ours, skipped, peer, failed]


def test_table_rows_and_cells(run):
    tab = run.table(_rows()).splitlines()
    assert len(tab) == 2 + 4
    assert all(line.count("|") == tab[0].count("|") for line in tab)  # every row has every column
    ours, skipped, peer, failed = tab[2:]
    # medians over 3 seeds with [min-max]; warm-up median and range; speed figures from the seed that timed them
    assert ("(3 seeds) | **21.0** [18.0–30.0] | 500 | 6.0 [5.0–7.5] | 30.00 | 42.0 | 9,408 | 43,544 | 0.950 | "
            "0.990 / 0.900 |") in ours
    assert "41,967 / 15,329 |" in ours
    # two of three TSGM seeds never shipped: the median is a lower bound, the budget
    assert "not shippable in 620 s (1/3 seeds shipped)" in peer and "(n_critic 1, 3 seeds)" in peer
    assert "| 0.25 | – | 16 |" in peer  # no CPU time recorded: a dash, not a made-up figure
    assert "skipped: jax is not importable" in skipped
    assert "failed: ValueError: boom" in failed


def test_shippable_summary_counts_unshipped_seeds_as_infinite(run):
    ours, _, peer, _ = _rows()
    sm = run.shippable_summary(ours)
    assert (sm["median_s"], sm["min_s"], sm["max_s"], sm["reached"]) == (21.0, 18.0, 30.0, 3)
    peer["seeds"][2]["evaluation"]["time_to_shippable_s"] = 400.0  # now 2 of 3 shipped: a true median
    sm = run.shippable_summary(peer)
    assert (sm["median_s"], sm["median_is_lower_bound"], sm["reached"]) == (400.0, False, 2)
    assert "**400.0** [300.0–400.0], 1 seed(s) not in 620 s" in run.time_to_shippable_cell(peer)


def test_ratios_ours_over_tsgm(run):
    text, data = run.ratios(_rows())
    assert len(data) == 1  # only ok rows: hargan / tsgm-tutorial
    d = data[0]
    assert (d["ours"], d["tsgm"]) == ("hargan", "tsgm-tutorial")
    # TSGM's median seed never shipped: ours is at least its budget / our median sooner.
    assert d["time_to_shippable"] == "> 29.5× sooner (TSGM not shippable in 620 s)"
    assert d["warmup_shorter"] == "2.00×"  # median warm-up 12.0 s against 6.0 s
    assert d["updates_per_s"] == "120.00×"  # over the whole quality runs: (3000 / 100) / (150 / 600)
    assert d["real_windows_per_s"] == "588.00×"
    assert "| `hargan` / `tsgm-tutorial` |" in text


def test_ratio_when_both_ship_and_when_ours_does_not(run):
    rows = _rows()
    for s in rows[2]["seeds"]:
        s["evaluation"]["time_to_shippable_s"] = 42.0
    assert run.ratios(rows)[1][0]["time_to_shippable"] == "2.00× sooner"
    for s in rows[0]["seeds"]:
        s["evaluation"]["time_to_shippable_s"] = None
    assert run.ratios(rows)[1][0]["time_to_shippable"] == "– (ours not shippable)"
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
    assert args.seed_list == [0]  # --quick: one seed; the full run: three
    assert run.parse_args(["--work", str(tmp_path)]).seed_list == [0, 1, 2]
    assert run.parse_args(["--seeds", "3,5", "--work", str(tmp_path)]).seed_list == [3, 5]
    assert args.out == tmp_path / "speed_quick.json"  # a smoke run never overwrites results/speed.json
    b = run.budgets("tsgm-tutorial", True, args.budget_overrides)
    assert b["max_train_s"] == 30.0 and b["max_updates"] == run.CONFIGS["tsgm-tutorial"]["quick"][2]
    with pytest.raises(SystemExit):
        run.parse_args(["--only", "hargan-tf,bogus"])
    with pytest.raises(SystemExit):
        run.parse_args(["--seeds", "a,b"])
    # the same checkpoint interval for every configuration
    assert len({run.CONFIGS[n]["full"][1] for n in names}) == 1


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


def test_every_row_ships_through_the_realism_gate_a_one_domain_run_enforces(run):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 300, (40, 48, 3)).astype(np.float32)
    gate = run.realism_gate(x, np.arange(40) % 2, ["a", "b"])
    assert gate is not None and gate.class_names == ["a", "b"]
