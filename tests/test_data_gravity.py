"""Streaming gravity rotation + suppression (ST model zoo filter, 26 Hz), firmware-identical."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal

from har_data import (DEFAULT_SENSOR, GravityRotationFilter, InputError, Recording, load_basic_motions,
                      make_windows, rotate_gravity, suppress_gravity)
from har_data.gravity import A_26HZ, B_26HZ, SOS_26HZ, SOS_ZI_26HZ, ZI_26HZ


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


def float32_reference(x: np.ndarray, suppress: bool = True) -> np.ndarray:
    """Sample by sample, each operation in float32 as the generated C runs it: two biquads
    (transposed direct form II) per axis, then the rotation (norm, unit gravity, Rodrigues)."""
    f = np.float32
    x = np.asarray(x, dtype=f)
    sos = SOS_26HZ
    z = SOS_ZI_26HZ[:, :, None] * np.where(x[0] == 0, f(1), x[0])[None, None, :]
    out = np.empty_like(x)
    for n, s in enumerate(x):
        dyn = np.empty(3, f)
        for c in range(3):
            v = s[c]
            for k in range(2):
                y = sos[k, 0] * v + z[k, 0, c]
                z[k, 0, c] = (sos[k, 1] * v - sos[k, 4] * y) + z[k, 1, c]
                z[k, 1, c] = sos[k, 2] * v - sos[k, 5] * y
                v = y
            dyn[c] = v
        g = s - dyn
        norm = np.sqrt((g[0] * g[0] + g[1] * g[1]) + g[2] * g[2])
        gx, gy, gz = g[0] / norm, g[1] / norm, g[2] / norm
        sin, cos = np.sqrt(f(1) - gz * gz), -gz
        vx, vy = -gy / sin, gx / sin
        a = dyn if suppress else s
        vf = (vx * a[0] + vy * a[1]) * (f(1) - cos)
        out[n] = [(a[0] * cos + vy * a[2] * sin) + vx * vf,
                  (a[1] * cos - vx * a[2] * sin) + vy * vf,
                  a[2] * cos + (vx * a[1] - vy * a[0]) * sin]
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
        got = GravityRotationFilter(26.0, suppress=suppress, precision="float64").process(x)
        np.testing.assert_allclose(got, firmware_reference(x, suppress), atol=2e-3)


def test_float32_is_its_sample_loop_bit_for_bit_and_close_to_st_filter():
    """The float32 filter is exactly its own sample-by-sample float32 arithmetic (what the C runs), and
    the same filter as ST's to a hundredth of a mg (the sections keep float32's rounding small)."""
    x = DEFAULT_SENSOR.quantize_mg(_walk(300))
    for suppress in (True, False):
        got = GravityRotationFilter(26.0, suppress=suppress).process(x)
        np.testing.assert_array_equal(got, float32_reference(x, suppress))
        np.testing.assert_allclose(got, firmware_reference(x.astype(np.float64), suppress), atol=0.02)


def test_float32_keeps_a_still_sensor_still():
    """A still sensor (1 g plus ~3 mg of noise): the float32 filter's output is the float64 one to well
    under its noise, where ST's 4th-order form in float32 adds mg of rounding noise."""
    rng = np.random.default_rng(2)
    still = (np.array([200.0, -300.0, 930.0]) + rng.normal(0, 3, (2000, 3))).astype(np.float32)
    f32 = GravityRotationFilter(precision="float32").process(still)[200:]
    f64 = GravityRotationFilter(precision="float64").process(still)[200:]
    assert np.sqrt(np.mean((f32 - f64) ** 2)) < 0.01
    b, a, zi = (v.astype(np.float32) for v in (B_26HZ, A_26HZ, ZI_26HZ))
    st_form = signal.lfilter(b, a, still, axis=0, zi=zi[:, None] * still[0][None, :])[0][200:]
    dyn64 = signal.lfilter(B_26HZ, A_26HZ, still.astype(np.float64), axis=0,
                           zi=ZI_26HZ[:, None] * still[0].astype(np.float64)[None, :])[0][200:]
    assert np.sqrt(np.mean((st_form - dyn64) ** 2)) > 0.1  # why the float32 filter uses sections


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
    assert f.state.shape == (2, 2, 3)
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


def test_float32_sections_are_st_filter_split_in_two():
    """The float32 constants are scipy's second-order sections of ST's 4th-order high-pass (and their step
    state), rounded to float32: the same filter, checked rather than copied."""
    np.testing.assert_allclose(SOS_26HZ, signal.tf2sos(B_26HZ, A_26HZ), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(SOS_ZI_26HZ, signal.sosfilt_zi(SOS_26HZ.astype(np.float64)), rtol=1e-6, atol=1e-9)
