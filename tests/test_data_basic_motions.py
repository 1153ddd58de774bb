"""BasicMotions (bundled with sktime) and load_source dispatch."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from har_data import InputError, load_basic_motions, load_source
from har_data.recording import MS2_TO_MG


def test_basic_motions_cases_units_and_no_gravity():
    from sktime.datasets import load_basic_motions as sk

    recs = load_basic_motions()
    assert len(recs) == 80
    assert Counter(r.label for r in recs) == {"standing": 20, "walking": 20, "running": 20, "badminton": 20}
    assert all(r.odr_hz == 10.0 and r.samples.shape == (100, 3) for r in recs)
    assert all(r.meta["gravity"] is False and r.meta["original_unit"] == "m/s^2" for r in recs)
    assert len({r.source for r in recs}) == 80 and recs[52].source == "BasicMotions/test/12"
    x, _ = sk(split="test", return_type="numpy3D")
    np.testing.assert_allclose(recs[52].samples, x[12, :3, :].T * MS2_TO_MG, rtol=1e-6)
    # no gravity: standing is near 0 mg (a gravity-included log would read ~1000 mg)
    standing = np.concatenate([r.samples for r in recs if r.label == "standing"])
    assert np.linalg.norm(standing, axis=1).mean() < 200


def test_load_source_dispatch_and_errors(tmp_path):
    assert len(load_source("basic-motions")) == 80
    with pytest.raises(InputError, match="unknown data source 'uci'; valid sources: pamap2, mems-studio, wisdm, "
                                         "st-mobility, st-datalog, basic-motions"):
        load_source("uci", tmp_path)
    with pytest.raises(InputError, match="source pamap2 needs a path"):
        load_source("pamap2")
    with pytest.raises(InputError, match="bad option for source wisdm .*valid options: class_map"):
        load_source("wisdm", tmp_path, imu="hand")
    with pytest.raises(InputError, match="takes no path"):
        load_source("basic-motions", tmp_path)
