"""The real PAMAP2 wrist logs in MEMS Studio format from ../shared/data (skipped where absent)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from har_data import DEFAULT_SENSOR, load_source, make_windows

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pamap2_wrist_mems_studio"


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real data folder {REAL} is absent (it is not part of the repository)")
def test_real_mems_studio_logs():
    recs = load_source("mems-studio", REAL)
    assert len(recs) == 53
    counts = Counter(r.label for r in recs)
    assert set(counts) == {"stationary", "walking", "running", "cycling"} and min(counts.values()) >= 13
    assert {r.odr_hz for r in recs} == {26.0}
    assert all(r.meta["original_unit"] == "mg" and r.samples.shape[1] == 3 for r in recs)
    # wrist accelerometer with gravity: the mean magnitude of a stationary log is about 1 g
    still = np.concatenate([r.samples for r in recs if r.label == "stationary"])
    assert 900 < np.linalg.norm(still, axis=1).mean() < 1100
    ws = make_windows(recs, sensor=DEFAULT_SENSOR)
    assert ws.num_classes == 4 and ws.x.shape[1:] == (48, 3) and len(ws) > 3000
    for g in set(ws.group):  # split by log, never by window
        assert len(set(ws.split[ws.group == g])) == 1
    assert set(ws.subset("test").y.tolist()) == {0, 1, 2, 3}
