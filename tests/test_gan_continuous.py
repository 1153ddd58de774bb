"""gan.continuous: minute-long logs stitched from accepted windows, written and loaded back identically."""

from __future__ import annotations

import numpy as np
import pytest

from gan.continuous import continuous_logs, parse_sequence, stitch, write_continuous_logs
from gan.sampling import SyntheticSet
from har_data import InputError, SensorSpec, load_mems_studio, load_st_datalog

T = 48


def _gait(rng, n: int, odr: float, hz: float, amp: float) -> np.ndarray:
    """Windows of a periodic 'gait' at random phases, plus noise (mg)."""
    t = np.arange(T)[None, :, None] / odr
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    wave = amp * np.sin(2 * np.pi * hz * t + phase)
    return np.concatenate([wave, wave * 0.5 + 1000.0, -wave], axis=2) + rng.normal(0, 5, (n, T, 3))


def _synthetic(odr: float = 26.0) -> SyntheticSet:
    rng = np.random.default_rng(0)
    sensor = SensorSpec("LSM6DSL", 4, odr)
    x = np.concatenate([_gait(rng, 40, odr, 2.0, 400.0), _gait(rng, 40, odr, 0.3, 20.0)])
    counts = sensor.to_counts(x)
    return SyntheticSet(sensor.to_mg(counts), counts, np.repeat([0, 1], 40), ["walking", "stationary"], sensor)


def test_stitch_lengths_boundaries_and_no_jumps():
    syn = _synthetic()
    pools = {c: syn.x_mg[syn.y == c] for c in (0, 1)}
    plan = [(0, 500), (1, 300), (0, 100)]
    x, y, seams = stitch(pools, plan, seed=3)
    assert x.shape == (900, 3) and len(y) == 900
    assert np.flatnonzero(np.diff(y)).tolist() == [499, 799]  # every change exactly where the plan puts it
    assert set(seams.tolist()) >= {500, 800}
    # No seam a first difference can see: the largest step stays within what the windows themselves do.
    inside = np.abs(np.diff(pools[0], axis=1)).max()
    assert np.abs(np.diff(x[:500], axis=0)).max() <= 1.1 * inside
    naive = np.concatenate(list(pools[0][:11]))  # plain concatenation jumps at its seams
    assert np.abs(np.diff(naive, axis=0)).max() > 1.1 * inside
    again, _, _ = stitch(pools, plan, seed=3)
    assert np.array_equal(x, again)  # same seed, same log


def test_parse_sequence_and_errors():
    assert parse_sequence("walking:30, stationary:2.5", ["walking", "stationary"]) == [("walking", 30.0),
                                                                                      ("stationary", 2.5)]
    for bad, msg in [("walking", "expected class:seconds"), ("running:3", "unknown class 'running'"),
                     ("walking:-1", "positive number"), ("walking:x", "positive number")]:
        with pytest.raises(InputError, match=msg):
            parse_sequence(bad, ["walking", "stationary"])
    with pytest.raises(InputError, match="shorter than one window"):
        continuous_logs(_synthetic(), 60, "walking:1")


def test_written_logs_load_back_identically_at_their_rate(tmp_path):
    syn = _synthetic(odr=12.5)
    logs, files = write_continuous_logs(syn, tmp_path / "logs", 60, "walking:20,stationary:30,walking:10", seed=1)
    assert sorted(f.name for f in files) == ["class_stationary.csv", "class_stationary.txt", "class_walking.csv",
                                             "class_walking.txt", "sequence.csv", "sequence.txt"]
    assert [lg.seconds for lg in logs] == [60.0, 60.0, 60.0]
    header = ("# hargan: sensor=LSM6DSL full_scale_g=4 odr_hz=12.5 seconds=60 "
              "sequence=walking:20,stationary:30,walking:10")
    assert (tmp_path / "logs" / "sequence.csv").read_text().splitlines()[0] == header
    assert (tmp_path / "logs" / "sequence.txt").read_text().splitlines()[0] == header
    for suffix, load in ((".csv", load_mems_studio), (".txt", load_st_datalog)):
        for log in logs:
            recs = load(tmp_path / "logs" / f"{log.name}{suffix}")
            assert all(r.odr_hz == 12.5 for r in recs), suffix
            assert np.array_equal(np.concatenate([r.samples for r in recs]), log.x_mg), suffix  # identical mg
            labels = np.concatenate([[r.label] * len(r) for r in recs])
            assert labels.tolist() == log.labels(), suffix
        seq = load(tmp_path / "logs" / f"sequence{suffix}")
        assert [(r.label, len(r)) for r in seq] == [("walking", 250), ("stationary", 375), ("walking", 125)]
        assert len({r.group for r in seq}) == 3
    assert len(load_mems_studio(tmp_path / "logs")) == 5  # the folder: 2 class logs + 3 segments
    assert len(load_st_datalog(tmp_path / "logs")) == 5


def test_per_window_csv_logs_carry_the_rate(tmp_path):
    syn = _synthetic(odr=12.5)
    syn.save_csv(tmp_path / "csv")
    recs = load_mems_studio(tmp_path / "csv")
    assert len(recs) == len(syn) and all(r.odr_hz == 12.5 for r in recs)
    assert np.array_equal(recs[0].samples, syn.x_mg[0])
