"""ST model-zoo mobility_v1 pickles: plain numpy only, and a hostile pickle never runs."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from har_data import InputError, load_source, load_st_mobility


def _write_pickle(path, obj):
    path.write_bytes(pickle.dumps(obj, protocol=4))
    return path


def _mobility(n=3, seed=0):
    rng = np.random.default_rng(seed)
    acc = [rng.normal(0, 0.3, (40 + 10 * i, 3)) + [0, 0, 1.0] for i in range(n)]
    return {"files": [f"user{i}/log_{i}.csv" for i in range(n)], "act": list(range(n)), "acc": acc}


def test_train_and_test_pickles(tmp_path):
    train, test = _mobility(5, 0), _mobility(3, 1)
    test["act"] = [4, 2, 0]
    _write_pickle(tmp_path / "train.pkl", train)
    _write_pickle(tmp_path / "test.pkl", test)
    recs = load_source("st-mobility", tmp_path)
    assert len(recs) == 8
    assert [r.label for r in recs] == ["stationary", "walking", "running", "cycling", "vehicle",
                                       "vehicle", "running", "stationary"]
    assert [len(r) for r in recs[:5]] == [40, 50, 60, 70, 80]
    np.testing.assert_allclose(recs[0].samples, train["acc"][0] * 1000.0, rtol=1e-6)  # g -> mg
    assert recs[0].odr_hz == 26.0 and recs[0].meta["original_unit"] == "g"
    assert recs[5].meta["split"] == "test" and recs[1].source.endswith("train.pkl::user1/log_1.csv")
    assert len({r.group for r in recs}) == 8
    only = load_st_mobility(tmp_path / "test.pkl", class_map={0: "still"})
    assert [r.label for r in only] == ["still"]


def test_numpy1_pickle_names_are_admitted(tmp_path):
    # pickles written by numpy 1.x name numpy.core.multiarray._reconstruct: rewrite the names to check them
    raw = pickle.dumps(_mobility(2), protocol=4)
    raw1 = raw.replace(b"\x8c\x16numpy._core.multiarray", b"\x8c\x15numpy.core.multiarray")
    assert raw1 != raw and b"numpy.core.multiarray" in raw1 and raw1[2:3] == b"\x95"  # one FRAME: fix its length
    k = raw.count(b"\x8c\x16numpy._core.multiarray")
    n = int.from_bytes(raw1[3:11], "little") - k
    raw1 = raw1[:3] + n.to_bytes(8, "little") + raw1[11:]
    (tmp_path / "train.pkl").write_bytes(raw1)
    recs = load_st_mobility(tmp_path / "train.pkl")
    assert [len(r) for r in recs] == [40, 50]


class _WritesAFile:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


class _RunsAShell:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


@pytest.mark.parametrize("payload", [_WritesAFile, _RunsAShell])
def test_hostile_pickle_is_refused_and_never_runs(tmp_path, payload):
    target = tmp_path / "pwned.txt"
    data = _mobility(2)
    data["acc"].append(payload(str(target)))
    data["files"].append("x")
    data["act"].append(0)
    f = _write_pickle(tmp_path / "train.pkl", data)
    with pytest.raises(InputError, match=rf"^{f}: refused to load: the pickle names .*(open|system)"):
        load_st_mobility(f)
    assert not target.exists()
    f2 = _write_pickle(tmp_path / "test.pkl", payload(str(target)))
    with pytest.raises(InputError, match="refused to load"):
        load_st_mobility(f2)
    assert not target.exists()


def test_bad_contents(tmp_path):
    f = _write_pickle(tmp_path / "a.pkl", {"files": ["x"], "act": [7], "acc": [np.zeros((5, 3))]})
    with pytest.raises(InputError, match="entry 0: unknown activity 7; mobility_v1 ids: 0 Stationary"):
        load_st_mobility(f)
    f = _write_pickle(tmp_path / "b.pkl", {"files": ["x"], "act": [1], "acc": [np.zeros((5, 2))]})
    with pytest.raises(InputError, match=r"entry 0: acc must be a numeric N x 3 array"):
        load_st_mobility(f)
    f = _write_pickle(tmp_path / "c.pkl", [1, 2, 3])
    with pytest.raises(InputError, match="not a mobility_v1 pickle"):
        load_st_mobility(f)
    (tmp_path / "d.pkl").write_bytes(b"not a pickle at all")
    with pytest.raises(InputError, match="not a readable pickle"):
        load_st_mobility(tmp_path / "d.pkl")
