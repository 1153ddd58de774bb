"""Distances of evaluation.metrics on cases with known answers (numpy only, fast)."""

from __future__ import annotations

import numpy as np
import pytest
from eval_data import CLASSES, FS, sines

from evaluation import metrics as M
from evaluation.scores import subsample_by_group


@pytest.fixture(scope="module")
def sets():
    real = sines(60, seed=1)
    same = sines(60, seed=2)  # a second sample of the same distribution
    other_freq = sines(60, seed=3, freqs=(2.0, 5.0, 9.0))
    far = sines(60, seed=3, freqs=(2.0, 5.0, 9.0), offset=1000.0, amp=400.0)  # other frequency, gravity, amplitude
    return real, same, other_freq, far


def test_median_bandwidth_known_answer():
    assert M.median_bandwidth(np.array([[0.0], [1.0], [3.0]])) == pytest.approx(2.0)  # distances 1, 3, 2
    assert M.median_bandwidth(np.zeros((4, 2))) == 1.0  # all equal: fallback, no division by zero


def test_mmd_identical_sets_is_about_zero(sets):
    (x, y), *_ = sets
    overall, by_class = M.mmd_by_class(x, y, x, y, CLASSES)
    assert abs(overall) < 0.02
    assert all(abs(v) < 0.02 for v in by_class.values())
    # the biased (V-statistic) estimate is exactly 0 for identical sets
    assert M.mmd2_rbf(x[:50], x[:50], unbiased=False)[0] == pytest.approx(0.0, abs=1e-12)


def test_mmd_same_distribution_small_different_large(sets):
    (x, y), (xs, ys), (xf, yf), (xd, yd) = sets
    same, same_c = M.mmd_by_class(x, y, xs, ys, CLASSES)
    freq, freq_c = M.mmd_by_class(x, y, xf, yf, CLASSES)
    far, far_c = M.mmd_by_class(x, y, xd, yd, CLASSES)
    assert abs(same) < 0.01 and all(abs(v) < 0.02 for v in same_c.values())
    assert freq > 3 * abs(same) and all(freq_c[c] > same_c[c] for c in CLASSES)
    assert far > 0.3 and all(v > 0.3 for v in far_c.values())
    assert M.mmd(x, xd) > 0.3 and abs(M.mmd(x, xs)) < 0.01


def test_mmd_class_missing_is_none_and_mix_does_not_count(sets):
    (x, y), (xs, ys), *_ = sets
    keep = ys != 2
    overall, by_class = M.mmd_by_class(x, y, xs[keep], ys[keep], CLASSES)
    assert by_class["run"] is None and by_class["still"] is not None
    assert abs(overall) < 0.02  # class-matched: a missing class is not a distribution difference
    ir, is_ = M.class_matched_indices(y, ys[keep], 3, max_per_class=25, seed=0)
    assert np.array_equal(np.bincount(y[ir], minlength=3), np.bincount(ys[keep][is_], minlength=3))
    assert np.bincount(y[ir], minlength=3).tolist() == [25, 25, 0]


def test_psd_distance_zero_for_identical_positive_for_other_frequency(sets):
    (x, y), (xs, ys), (xf, yf), _ = sets
    ident = M.psd_distance_by_class(x, y, x, y, CLASSES, FS)
    assert all(v == {"x": 0.0, "y": 0.0, "z": 0.0, "mean": 0.0} for v in ident.values())
    same = M.psd_distance_by_class(x, y, xs, ys, CLASSES, FS)
    other = M.psd_distance_by_class(x, y, xf, yf, CLASSES, FS)
    for c in CLASSES:
        assert same[c]["mean"] < 0.15
        assert other[c]["mean"] > 0.3 and min(other[c][a] for a in "xyz") > 0.3
    # a missing class gives None, not a crash
    assert M.psd_distance_by_class(x, y, xs[ys == 0], ys[ys == 0], CLASSES, FS)["walk"] is None


def test_psd_distance_is_in_decades():
    t = np.arange(48) / FS
    base = np.sin(2 * np.pi * 3 * t)[None, :, None].repeat(3, axis=2) * 100 + np.random.default_rng(0).normal(
        0, 5, (1, 48, 3))
    # 10x amplitude = 100x power = 2 decades in every bin
    assert M.psd_distance(base, 10 * base, FS) == pytest.approx([2.0, 2.0, 2.0])


def test_nn_dtw_flags_memorised_copies(sets):
    (x, y), (xs, ys), *_ = sets
    rng = np.random.default_rng(5)
    train, test = x[::2], x[1::2]
    copies = train[:20] + rng.normal(0, 1.0, train[:20].shape)  # a real training window + 1 mg noise
    fresh = xs[:60]
    res = M.nn_dtw(np.concatenate([copies, fresh]), train, test, seed=0)  # without labels
    assert res["memorised_count"] == 20 and res["by_class"] is False
    assert res["memorised_fraction"] == pytest.approx(20 / 80)
    assert res["syn_min"] < res["threshold"] < res["ref_median"]
    clean = M.nn_dtw(fresh, train, test, seed=0)
    assert clean["memorised_count"] == 0 and clean["memorised_fraction"] == 0.0
    assert res["ref_memorised_fraction"] == 0.0  # real held-out windows are no copies either
    assert 0.7 < clean["ratio"] < 1.3  # fresh samples sit as far from the training set as real test windows
    no_ref = M.nn_dtw(fresh, train, None)
    assert no_ref["memorised_fraction"] is None and no_ref["syn_median"] == pytest.approx(clean["syn_median"])


def test_nn_dtw_by_class_uses_each_class_own_scale():
    """A quiet class (small, noisy windows) has close neighbours everywhere: a global threshold would
    call its honest samples copies; the class's own median does not."""
    loud_tr, y_loud = sines(40, seed=11, freqs=(1.0, 3.0))
    quiet_tr, _ = sines(40, seed=12, freqs=(2.0,), amp=5.0, noise=5.0)
    quiet_te, _ = sines(30, seed=13, freqs=(2.0,), amp=5.0, noise=5.0)
    quiet_sy, _ = sines(30, seed=14, freqs=(2.0,), amp=5.0, noise=5.0)
    loud_te, yl_te = sines(30, seed=15, freqs=(1.0, 3.0))  # most reference windows loud: a large global median
    train = np.concatenate([loud_tr, quiet_tr])
    y_train = np.concatenate([y_loud, np.full(40, 2)])
    test, y_test = np.concatenate([loud_te, quiet_te]), np.concatenate([yl_te, np.full(30, 2)])
    copies = loud_tr[:10] + np.random.default_rng(0).normal(0, 1.0, loud_tr[:10].shape)
    syn = np.concatenate([copies, quiet_sy])
    y_syn = np.concatenate([y_loud[:10], np.full(30, 2)])
    glob = M.nn_dtw(syn, train, test)
    assert glob["memorised_count"] > 10  # honest quiet samples flagged by the global threshold
    res = M.nn_dtw(syn, train, test, y_syn=y_syn, y_train=y_train, y_ref=y_test, class_names=CLASSES)
    assert res["by_class"] and res["memorised_count"] == 10
    assert res["memorised_by_class"] == {"still": 1.0, "run": 0.0}
    assert set(res["threshold"]) == {"still", "run"} and res["threshold"]["run"] < res["threshold"]["still"]


def test_dtw_nn_matches_dtaidistance_pairwise():
    from dtaidistance import dtw_ndim

    q, _ = sines(2, seed=7)
    r, _ = sines(3, seed=8)
    q, r = q.astype(np.double), r.astype(np.double)
    got = M.dtw_nn_distances(q, r, window=5)
    want = [min(dtw_ndim.distance(a, b, window=5) for b in r) for a in q]
    assert np.allclose(got, want)


def test_metrics_are_deterministic(sets):
    (x, y), (xs, ys), *_ = sets
    a = (M.mmd_by_class(x, y, xs, ys, CLASSES, max_per_class=30, seed=3), M.nn_dtw(xs, x, xs, max_syn=40, seed=3))
    b = (M.mmd_by_class(x, y, xs, ys, CLASSES, max_per_class=30, seed=3), M.nn_dtw(xs, x, xs, max_syn=40, seed=3))
    assert a == b


def test_subsample_by_group_takes_whole_recordings():
    y = np.repeat([0, 1], 40)
    group = np.array([f"r{i // 10}" for i in range(80)])  # 4 recordings of 10 windows per class
    idx = subsample_by_group(y, group, 0.25, seed=0)
    assert np.bincount(y[idx]).tolist() == [10, 10]
    assert len(set(group[idx])) == 2  # one whole recording per class, not a sprinkle over all
    part = subsample_by_group(y, group, 0.3, seed=0)  # 12 per class: one recording + 2 windows of another
    assert np.bincount(y[part]).tolist() == [12, 12]
    assert np.array_equal(part, subsample_by_group(y, group, 0.3, seed=0))
    assert not np.array_equal(part, subsample_by_group(y, group, 0.3, seed=1))
    assert len(subsample_by_group(y, group, 0.01, seed=0)) == 2  # at least one window per class
    with pytest.raises(ValueError):
        subsample_by_group(y, group, 0.0)


def test_per_class_subset_takes_the_counts_asked_and_all_of_a_smaller_class():
    from evaluation.metrics import per_class_subset

    y = np.array([0] * 10 + [1] * 3 + [2] * 5)
    keep = per_class_subset(y, [4, 5, 0], seed=1)
    assert np.bincount(y[keep], minlength=3).tolist() == [4, 3, 0]
    np.testing.assert_array_equal(keep, per_class_subset(y, [4, 5, 0], seed=1))  # seeded
    assert np.all(np.diff(keep) > 0)
