"""Streaming gravity rotation + suppression (ST model zoo filter, 26 Hz), firmware-identical."""

from __future__ import annotations

import math

import numpy as np
import pytest

from har_data import (DEFAULT_SENSOR, GravityRotationFilter, InputError, Recording, load_basic_motions,
                      make_windows, rotate_gravity, suppress_gravity)
from har_data.gravity import A_26HZ, B_26HZ, ZI_26HZ


def firmware_reference(x: np.ndarray, suppress: bool = True) -> np.ndarray:
    """Sample-by-sample port of the model zoo's filter_gravity.c (direct form II transposed)."""
    a, b = A_26HZ, B_26HZ
    z = np.array([[ZI_26HZ[i] * (1.0 if x[0, c] == 0 else x[0, c]) for c in range(3)] for i in range(4)])
    out = np.empty_like(x)
    for n, s in enumerate(x):
        dyn = np.empty(3)
        for c in range(3):
            y = b[0] * s[c] + z[0, c]
            for i in range(1, 4):
                z[i - 1, c] = z[i, c] + b[i] * s[c] - a[i] * y
            z[3, c] = b[4] * s[c] - a[4] * y
            dyn[c] = y
        g = s - dyn
        g = g / math.sqrt(g @ g)
        sin, cos = math.sqrt(1 - g[2] * g[2]), -g[2]
        vx, vy = -g[1] / sin, g[0] / sin
        v = dyn if suppress else s
        vf = (vx * v[0] + vy * v[1]) * (1 - cos)
        out[n] = [v[0] * cos + vy * v[2] * sin + vx * vf,
                  v[1] * cos - vx * v[2] * sin + vy * vf,
                  v[2] * cos + (vx * v[1] - vy * v[0]) * sin]
    return out


def _walk(n=400, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 26.0
    tilt = 0.4 + 0.2 * np.sin(2 * np.pi * 0.05 * t)
    grav = 1000 * np.stack([np.sin(tilt), 0.3 * np.ones(n), np.cos(tilt)], axis=1)
    return grav + 300 * np.sin(2 * np.pi * 2.0 * t)[:, None] * [1, 0.5, 0.2] + rng.normal(0, 20, (n, 3))


def test_matches_firmware_sample_by_sample():
    x = _walk(300)
    for suppress in (True, False):
        got = GravityRotationFilter(26.0, suppress=suppress).process(x)
        np.testing.assert_allclose(got, firmware_reference(x, suppress), atol=2e-3)


def test_chunked_equals_whole():
    x = _walk(500, seed=1)
    whole = GravityRotationFilter().process(x)
    f = GravityRotationFilter()
    rng = np.random.default_rng(0)
    parts, i = [], 0
    while i < len(x):
        k = int(rng.integers(1, 40))
        parts.append(f.process(x[i:i + k]))
        i += k
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert f.state.shape == (4, 3)
    f.reset()
    np.testing.assert_array_equal(f.process(x[:10]), whole[:10])


def test_static_gravity_goes_to_z_and_is_suppressed():
    n = 300
    x = np.tile([600.0, 0.0, 800.0], (n, 1))
    rot = GravityRotationFilter(suppress=False).process(x)
    np.testing.assert_allclose(rot[-1], [0, 0, -1000.0], atol=0.5)  # the reading (up) onto -z: gravity on +z
    sup = GravityRotationFilter().process(x)
    assert np.abs(sup).max() < 1.0
    # a shake along the gravity direction ends up on z only
    t = np.arange(n) / 26.0
    shake = x + 200 * np.sin(2 * np.pi * 3.0 * t)[:, None] * np.array([0.6, 0.0, 0.8])
    out = GravityRotationFilter().process(shake)[100:]
    assert np.abs(out[:, :2]).max() < 5.0 and 150 < np.abs(out[:, 2]).max() < 250
    # gravity exactly on +z / -z: the firmware divides by zero; here a finite rotation
    up = GravityRotationFilter(suppress=False).process(np.tile([0.0, 0.0, 1000.0], (5, 1)))
    np.testing.assert_allclose(up[-1], [0, 0, -1000.0], atol=0.5)
    down = GravityRotationFilter(suppress=False).process(np.tile([0.0, 0.0, -1000.0], (5, 1)))
    np.testing.assert_allclose(down[-1], [0, 0, -1000.0], atol=0.5)


def test_recording_helpers_and_errors():
    rec = Recording(_walk(260), 26.0, "walking", "w")
    out = suppress_gravity(rec)
    assert out.meta["gravity"] is False and out.meta["gravity_rotated"] is True and rec.meta["gravity"] is True
    np.testing.assert_array_equal(out.samples, GravityRotationFilter().process(rec.samples))
    assert rotate_gravity(rec).meta["gravity"] is True
    with pytest.raises(InputError, match="already gravity-rotated"):
        suppress_gravity(out)
    with pytest.raises(InputError, match="defined only at 26 Hz .* got 100 Hz; resample first"):
        suppress_gravity(Recording(_walk(100), 100.0, "walking", "w"))
    with pytest.raises(InputError, match="defined only at 26 Hz"):
        GravityRotationFilter(odr_hz=20.0)
    with pytest.raises(InputError, match="carries no gravity"):
        suppress_gravity(load_basic_motions()[0])
    # windows: the filter runs over each whole recording, after quantization
    recs = [Recording(_walk(300, s), 26.0, lab, f"r{s}") for s, lab in enumerate(["a", "b", "a", "b", "a", "b"])]
    ws = make_windows(recs, length=48, stride=24, sensor=DEFAULT_SENSOR, suppress_gravity=True)
    q = GravityRotationFilter().process(DEFAULT_SENSOR.quantize_mg(recs[0].samples))
    np.testing.assert_allclose(ws.x[0], q[:48], atol=1e-4)
    np.testing.assert_allclose(ws.x[1], q[24:72], atol=1e-4)
