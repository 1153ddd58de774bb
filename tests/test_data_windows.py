"""Resampling, windowing, splits by recording/subject, WindowSet .npz round trip, window errors."""

from __future__ import annotations

import numpy as np
import pytest

from har_data import DEFAULT_SENSOR, InputError, Recording, SensorSpec, WindowSet, make_windows, resample, segment


def _sine(f_hz, amp, odr, seconds, offset=1000.0, extra=None):
    t = np.arange(int(seconds * odr)) / odr
    x = offset + amp * np.sin(2 * np.pi * f_hz * t)
    if extra is not None:
        x = x + extra[1] * np.sin(2 * np.pi * extra[0] * t)
    return np.stack([x, np.zeros_like(x), -x], axis=1)


def _spectrum(x, odr):
    x = x - x.mean()
    spec = np.abs(np.fft.rfft(x)) * 2 / len(x)
    return np.fft.rfftfreq(len(x), 1 / odr), spec


def test_resample_100_to_26_keeps_frequency_and_amplitude():
    rec = Recording(_sine(2.0, 500.0, 100.0, 20.0, extra=(40.0, 300.0)), 100.0, "walking", "s")
    out = resample(rec, 26.0)
    assert out.odr_hz == 26.0 and len(out) == 520 and out.label == "walking"
    f, spec = _spectrum(out.samples[:, 0].astype(np.float64), 26.0)
    k = int(np.argmax(spec))
    assert abs(f[k] - 2.0) < 0.06
    assert abs(spec[k] - 500.0) < 10.0
    assert abs(out.samples[:, 0].mean() - 1000.0) < 5.0  # the offset (gravity) survives, edges included
    # the 40 Hz tone is above the new Nyquist (13 Hz): filtered out, not aliased to 12 Hz
    assert spec[np.argmin(np.abs(f - 12.0))] < 15.0
    assert resample(rec, 100.0) is rec


def test_segment_and_windows_never_cross_recordings():
    w = segment(np.arange(30, dtype=np.float32)[:, None].repeat(3, 1), 10, 5)
    assert w.shape == (5, 10, 3) and w[1, 0, 0] == 5 and w[-1, -1, 0] == 29
    recs = [Recording(np.full((50 + 7 * i, 3), float(i)), 26.0, ["a", "b"][i % 2], f"r{i}") for i in range(8)]
    ws = make_windows(recs, length=20, stride=10, odr_hz=26.0)
    assert ws.x.shape[1:] == (20, 3) and ws.class_names == ["a", "b"]
    # every window holds one recording's constant value only, with that recording's label
    assert np.all(ws.x.min(axis=(1, 2)) == ws.x.max(axis=(1, 2)))
    vals = ws.x[:, 0, 0].astype(int)
    assert np.array_equal(ws.y, vals % 2)
    expected = sum((50 + 7 * i - 20) // 10 + 1 for i in range(8))
    assert len(ws) == expected


def test_split_by_group_never_by_window():
    rng = np.random.default_rng(0)
    recs = []
    for subj in range(10):
        for label in ("stationary", "walking"):
            recs.append(Recording(rng.normal(0, 100, (200, 3)), 26.0, label, f"f{subj}", subject=str(subj)))
    ws = make_windows(recs, length=48, stride=24, sensor=DEFAULT_SENSOR, seed=3)
    assert set(ws.split) == {"train", "val", "test"}
    for g in set(ws.group):
        assert len(set(ws.split[ws.group == g])) == 1  # one subject, one split
    assert len(set(ws.group)) == 10 and ws.group[0].startswith("subject:")
    again = make_windows(recs, length=48, stride=24, sensor=DEFAULT_SENSOR, seed=3)
    assert np.array_equal(again.split, ws.split)
    # sensor quantization: every value is a whole number of LSBs
    lsb = DEFAULT_SENSOR.sensitivity_mg_per_lsb
    np.testing.assert_allclose(ws.x / lsb, np.rint(ws.x / lsb), atol=1e-2)


def test_windowset_save_load_round_trip(tmp_path):
    recs = [Recording(np.random.default_rng(i).normal(0, 500, (300, 3)), 52.0, c, f"f{i}")
            for i, c in enumerate(["run", "walk", "still"] * 3)]
    sensor = SensorSpec("LSM6DSOX", 8, 26)
    ws = make_windows(recs, length=24, stride=12, sensor=sensor, class_names=["still", "walk", "run"])
    assert ws.odr_hz == 26.0 and ws.window_length == 24 and ws.num_classes == 3
    p = ws.save(tmp_path / "w" / "windows.npz")
    back = WindowSet.load(p)
    for name in ("x", "y", "split", "group"):
        assert np.array_equal(getattr(back, name), getattr(ws, name))
    assert back.class_names == ["still", "walk", "run"] and back.sensor == sensor and back.odr_hz == 26.0
    assert back.counts() == ws.counts() and sum(ws.counts().values()) == len(ws)
    tr = back.subset("train")
    assert len(tr) == int(np.sum(ws.split == "train")) and set(tr.split) == {"train"}
    assert [f.name for f in (tmp_path / "w").iterdir()] == ["windows.npz"]
    (tmp_path / "junk.npz").write_bytes(b"nope")
    with pytest.raises(InputError, match="cannot read windows file"):
        WindowSet.load(tmp_path / "junk.npz")


def test_window_longer_than_every_recording_and_empty_class():
    recs = [Recording(np.zeros((40, 3)), 26.0, "a", "x"), Recording(np.zeros((30, 3)), 26.0, "b", "y")]
    with pytest.raises(InputError, match="window of 48 samples is longer than every recording \\(longest: 40 samples"):
        make_windows(recs, length=48)
    with pytest.raises(InputError, match="no windows for class\\(es\\) cycling; classes found: a, b"):
        make_windows(recs, length=20, stride=10, class_names=["a", "b", "cycling"])
    with pytest.raises(InputError, match="no windows for class\\(es\\) b"):
        make_windows(recs, length=35, stride=10)
    with pytest.raises(InputError, match="no recordings"):
        make_windows([], length=20)
    with pytest.raises(InputError, match="several rates"):
        make_windows([recs[0], Recording(np.zeros((40, 3)), 52.0, "a", "z")], length=20)
