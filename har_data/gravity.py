"""Gravity rotation and suppression, as ST's model zoo firmware runs it (filter_gravity.c).

Per axis, a 4th-order IIR high-pass (26 Hz coefficients below) gives the dynamic
acceleration; input minus dynamic is the gravity estimate (the slow part). Each sample is
then rotated (Rodrigues) about ``v = [-g_y, g_x, 0] / sin`` with ``cos = -g_z`` where ``g``
is the unit gravity estimate: this takes the at-rest reading (which points up, away from
the Earth) onto -z, i.e. the direction of gravity onto +z, the orientation-free frame the
HAR models are trained in. "Suppression" outputs the rotated dynamic acceleration; "rotation
only" rotates the raw sample.

Unlike the model zoo's Python (which restarts the filter for every window), the filter here
is streaming, as the firmware runs it: ``GravityRotationFilter.process`` keeps the IIR state
between calls, so processing a Recording in chunks gives exactly what processing it whole
gives, and ``suppress_gravity`` runs one filter over the whole Recording. The initial state
is the firmware's: the step-response state scaled by the first sample (by 1 where the first
sample is exactly 0, as filter_gravity.c does).

Where the gravity estimate is exactly on ±z the firmware's formula divides by zero; here
the rotation is the limit taken along +x (about the y axis), and a zero gravity estimate
leaves the sample unrotated.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import signal

from har_data.errors import InputError
from har_data.recording import Recording

A_26HZ = np.array([1.0, -3.868656635, 5.614526749, -3.622760773, 0.8768966198])
B_26HZ = np.array([0.9364275932, -3.745710373, 5.618565559, -3.745710373, 0.9364275932])
# filter_gravity.c's kGravityHighPassInit (= scipy.signal.lfilter_zi(B, A): the state after a unit step)
ZI_26HZ = np.array([-0.936528250873, 2.809571532101, -2.809559172096, 0.936515859573])

COEFFICIENTS: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = {26.0: (B_26HZ, A_26HZ, ZI_26HZ)}


def _coefficients(odr_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    for rate, coeffs in COEFFICIENTS.items():
        if abs(float(odr_hz) - rate) < 1e-6:
            return coeffs
    raise InputError(f"gravity filter is defined only at {', '.join(f'{r:g}' for r in COEFFICIENTS)} Hz "
                     f"(ST model zoo coefficients), got {odr_hz:g} Hz; resample first")


def rotate_to_gravity_frame(gravity: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Rotate each row of ``a`` (N x 3) with the rotation that ``gravity`` (N x 3) defines (filter_gravity.c)."""
    g = np.asarray(gravity, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    norm = np.sqrt(np.sum(g * g, axis=1))
    zero = norm == 0
    g = g / np.where(zero, 1.0, norm)[:, None]
    gx, gy, gz = g[:, 0], g[:, 1], g[:, 2]
    sin = np.sqrt(np.maximum(0.0, 1.0 - gz * gz))
    cos = -gz
    degenerate = sin < 1e-7
    safe = np.where(degenerate, 1.0, sin)
    vx = np.where(degenerate, 0.0, -gy / safe)
    vy = np.where(degenerate, 1.0, gx / safe)
    sin = np.where(degenerate, 0.0, sin)
    cos = np.where(degenerate, np.sign(cos) + (cos == 0), cos)
    ax, ay, az = a[:, 0], a[:, 1], a[:, 2]
    vf = (vx * ax + vy * ay) * (1.0 - cos)
    out = np.empty_like(a)
    out[:, 0] = ax * cos + vy * az * sin + vx * vf
    out[:, 1] = ay * cos - vx * az * sin + vy * vf
    out[:, 2] = az * cos + (vx * ay - vy * ax) * sin
    out[zero] = a[zero]
    return out


class GravityRotationFilter:
    """Streaming gravity rotation (+ suppression): state carries across ``process`` calls.

    ``GravityRotationFilter(odr_hz=26.0, suppress=True)``; ``process(chunk)`` takes K x 3 mg
    (any K, including 1) and returns K x 3 float32: the rotated dynamic acceleration when
    ``suppress`` (firmware ``gravity_suppress_rotate``), else the rotated raw sample
    (``gravity_rotate``). ``reset()`` starts a new stream.
    """

    def __init__(self, odr_hz: float = 26.0, suppress: bool = True):
        self.b, self.a, self._zi_unit = _coefficients(odr_hz)
        self.odr_hz = float(odr_hz)
        self.suppress = bool(suppress)
        self._zi: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the filter state: the next sample starts a new stream."""
        self._zi = None

    @property
    def state(self) -> np.ndarray | None:
        """The IIR state (4 x 3), None before the first sample."""
        return None if self._zi is None else self._zi.copy()

    def process(self, chunk: np.ndarray) -> np.ndarray:
        x = np.asarray(chunk, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != 3:
            raise InputError(f"gravity filter input must be K x 3, got shape {x.shape}")
        if len(x) == 0:
            return np.zeros((0, 3), dtype=np.float32)
        if not np.isfinite(x).all():
            raise InputError("gravity filter input holds NaN or infinite values")
        if self._zi is None:
            first = np.where(x[0] == 0.0, 1.0, x[0])
            self._zi = self._zi_unit[:, None] * first[None, :]
        dyn, self._zi = signal.lfilter(self.b, self.a, x, axis=0, zi=self._zi)
        grav = x - dyn
        return rotate_to_gravity_frame(grav, dyn if self.suppress else x).astype(np.float32)


def _filtered(rec: Recording, suppress: bool) -> Recording:
    if rec.meta.get("gravity_rotated"):
        raise InputError(f"recording {rec.source} is already gravity-rotated")
    if not rec.meta.get("gravity", True):
        raise InputError(f"recording {rec.source} carries no gravity (meta gravity=False): nothing to rotate "
                         "or suppress")
    out = GravityRotationFilter(rec.odr_hz, suppress=suppress).process(rec.samples)
    meta = dict(rec.meta, gravity=not suppress, gravity_rotated=True)
    return replace(rec, samples=out, meta=meta)


def suppress_gravity(recording: Recording) -> Recording:
    """Gravity rotation + suppression over a whole Recording (one streaming filter); meta gravity=False."""
    return _filtered(recording, suppress=True)


def rotate_gravity(recording: Recording) -> Recording:
    """Gravity rotation only (firmware ``gravity_rotate``): gravity stays in, on the +z-down frame."""
    return _filtered(recording, suppress=False)
