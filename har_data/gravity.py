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

Two precisions, each the exact reference of the C the export generates for it:

- ``"float32"`` (the default; single precision, what an FPU-single Cortex-M4F/M7/M33 runs in
  hardware): the same high-pass as two second-order sections (``SOS_26HZ``, scipy's ``tf2sos``
  of ST's coefficients, rounded to float32), each in transposed direct form II, and the rotation
  in float32. Run as ST's filter_gravity.c runs it (the 4th-order filter in float32) the rounding
  noise of its near-unit-circle poles is 2.3-7.3 mg RMS on ST's phone logs (2.4-4.1 mg on a still phone:
  as much as its whole motion); the sections keep it under 0.01 mg (docs/benchmarks.md, "Gravity
  filter precision").
- ``"float64"``: the 4th-order filter in double precision, scipy.signal.lfilter's operation order
  (what hargan ran before the float32 filter; soft-float double on an M4F, ~10k instructions a
  sample). Records and windows that do not name a precision were made with it.
"""

from __future__ import annotations

from dataclasses import replace
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from har_data.errors import InputError
from har_data.recording import Recording

A_26HZ = np.array([1.0, -3.868656635, 5.614526749, -3.622760773, 0.8768966198])
B_26HZ = np.array([0.9364275932, -3.745710373, 5.618565559, -3.745710373, 0.9364275932])
# filter_gravity.c's kGravityHighPassInit (= scipy.signal.lfilter_zi(B, A): the state after a unit step)
ZI_26HZ = np.array([-0.936528250873, 2.809571532101, -2.809559172096, 0.936515859573])

COEFFICIENTS: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = {26.0: (B_26HZ, A_26HZ, ZI_26HZ)}

# float32: scipy.signal.tf2sos(B_26HZ, A_26HZ) rounded to float32, rows [b0 b1 b2 1 a1 a2], and the
# state after a unit step (scipy.signal.sosfilt_zi of those float32 sections), rounded to float32.
SOS_26HZ = np.array([[0.9364275932312012, -1.872878909111023, 0.9364275932312012, 1.0, -1.9090383052825928,
                      0.9114385843276978],
                     [1.0, -1.9999747276306152, 1.0, 1.0, -1.959618330001831, 0.9621016979217529]], np.float32)
SOS_ZI_26HZ = np.array([[-0.9463108777999878, 0.9454355835914612],
                        [0.009782709181308746, -0.009786521084606647]], np.float32)
SECTIONS: dict[float, tuple[np.ndarray, np.ndarray]] = {26.0: (SOS_26HZ, SOS_ZI_26HZ)}

PRECISIONS = ("float32", "float64")
DEFAULT_PRECISION = "float32"
"""The filter's arithmetic: float32 second-order sections, or ST's 4th-order form in float64."""
LEGACY_PRECISION = "float64"
"""What a record or windows file that names no precision was filtered with."""


def _at_rate(table: dict[float, Any], odr_hz: float) -> Any:
    for rate, coeffs in table.items():
        if abs(float(odr_hz) - rate) < 1e-6:
            return coeffs
    raise InputError(f"gravity filter is defined only at {', '.join(f'{r:g}' for r in table)} Hz "
                     f"(ST model zoo coefficients), got {odr_hz:g} Hz; resample first")


def _coefficients(odr_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 4th-order filter's (b, a, zi) at ``odr_hz`` (float64)."""
    return _at_rate(COEFFICIENTS, odr_hz)


def sections(odr_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """The float32 second-order sections (sos, zi) at ``odr_hz``."""
    return _at_rate(SECTIONS, odr_hz)


def recorded_precision(record: Mapping[str, Any]) -> str:
    """The filter precision a preprocessing record (windows' or a model's) names; one without the key means
    float64 where it was filtered (what hargan ran before the float32 filter), the default otherwise."""
    return record.get("gravity_precision", LEGACY_PRECISION if record.get("suppress_gravity") else DEFAULT_PRECISION)


def check_precision(precision: str, path: str | os.PathLike | None = None) -> str:
    """``precision`` if it is one of PRECISIONS, else an InputError naming them (and ``path``, the record)."""
    if precision not in PRECISIONS:
        raise InputError(f"gravity_precision must be one of {', '.join(PRECISIONS)}, got {precision!r}", path)
    return precision


def rotate_to_gravity_frame(gravity: np.ndarray, a: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """Rotate each row of ``a`` (N x 3) with the rotation that ``gravity`` (N x 3) defines (filter_gravity.c).

    Every operation rounds to ``dtype`` (float32 or float64) in the order the generated C runs it.
    """
    g: np.ndarray = np.asarray(gravity, dtype=dtype)
    a = np.asarray(a, dtype=dtype)
    one, zero_ = dtype(1.0), dtype(0.0)
    norm = np.sqrt((g[:, 0] * g[:, 0] + g[:, 1] * g[:, 1]) + g[:, 2] * g[:, 2])
    zero = norm <= 0
    safe_norm = np.where(zero, one, norm)
    gx, gy, gz = g[:, 0] / safe_norm, g[:, 1] / safe_norm, g[:, 2] / safe_norm
    sin = np.sqrt(np.maximum(zero_, one - gz * gz))
    cos = -gz
    degenerate = sin < dtype(1e-7)
    safe = np.where(degenerate, one, sin)
    vx = np.where(degenerate, zero_, -gy / safe)
    vy = np.where(degenerate, one, gx / safe)
    sin = np.where(degenerate, zero_, sin)
    cos = np.where(degenerate, np.where(cos < 0, -one, one), cos)
    ax, ay, az = a[:, 0], a[:, 1], a[:, 2]
    vf = (vx * ax + vy * ay) * (one - cos)
    out = np.empty_like(a)
    out[:, 0] = (ax * cos + vy * az * sin) + vx * vf
    out[:, 1] = (ay * cos - vx * az * sin) + vy * vf
    out[:, 2] = az * cos + (vx * ay - vy * ax) * sin
    out[zero] = a[zero]
    return out


class GravityRotationFilter:
    """Streaming gravity rotation (+ suppression): state carries across ``process`` calls.

    ``GravityRotationFilter(odr_hz=26.0, suppress=True, precision="float32")``; ``process(chunk)``
    takes K x 3 mg (any K, including 1) and returns K x 3 float32: the rotated dynamic acceleration
    when ``suppress`` (firmware ``gravity_suppress_rotate``), else the rotated raw sample
    (``gravity_rotate``). ``reset()`` starts a new stream. ``precision``: see the module's docstring.
    """

    def __init__(self, odr_hz: float = 26.0, suppress: bool = True, precision: str = DEFAULT_PRECISION):
        self.precision = check_precision(precision)
        if precision == "float32":
            self._sos, self._zi_unit = sections(odr_hz)
        else:
            self.b, self.a, self._zi_unit = _coefficients(odr_hz)
        self.dtype: type = np.float32 if precision == "float32" else np.float64
        self.odr_hz = float(odr_hz)
        self.suppress = bool(suppress)
        self._zi: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the filter state: the next sample starts a new stream."""
        self._zi = None

    @property
    def state(self) -> np.ndarray | None:
        """The IIR state (float64: 4 x 3; float32: 2 sections x 2 x 3), None before the first sample."""
        return None if self._zi is None else self._zi.copy()

    def _start(self, first: np.ndarray) -> np.ndarray:
        """The step-response state scaled by the first sample (by 1 where it is exactly 0)."""
        scale: np.ndarray = np.where(first == 0, self.dtype(1.0), first).astype(self.dtype)
        return (self._zi_unit[..., None] * scale).astype(self.dtype)

    def process(self, chunk: np.ndarray) -> np.ndarray:
        x: np.ndarray = np.asarray(chunk, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != 3:
            raise InputError(f"gravity filter input must be K x 3, got shape {x.shape}")
        if len(x) == 0:
            return np.zeros((0, 3), dtype=np.float32)
        if not np.isfinite(x).all():
            raise InputError("gravity filter input holds NaN or infinite values")
        from scipy import signal  # on first use: har_data.gravity's constants are read without scipy

        if self._zi is None:
            self._zi = self._start(x[0])
        if self.precision == "float32":
            dyn, self._zi = signal.sosfilt(self._sos, x, axis=0, zi=self._zi)
        else:
            dyn, self._zi = signal.lfilter(self.b, self.a, x, axis=0, zi=self._zi)
        grav = x - dyn
        return rotate_to_gravity_frame(grav, dyn if self.suppress else x, self.dtype).astype(np.float32)


def _filtered(rec: Recording, suppress: bool, precision: str) -> Recording:
    if rec.meta.get("gravity_rotated"):
        raise InputError(f"recording {rec.source} is already gravity-rotated")
    if not rec.meta.get("gravity", True):
        raise InputError(f"recording {rec.source} carries no gravity (meta gravity=False): nothing to rotate "
                         "or suppress")
    out = GravityRotationFilter(rec.odr_hz, suppress=suppress, precision=precision).process(rec.samples)
    meta = dict(rec.meta, gravity=not suppress, gravity_rotated=True, gravity_precision=precision)
    return replace(rec, samples=out, meta=meta)


def suppress_gravity(recording: Recording, precision: str = DEFAULT_PRECISION) -> Recording:
    """Gravity rotation + suppression over a whole Recording (one streaming filter); meta gravity=False."""
    return _filtered(recording, suppress=True, precision=precision)


def rotate_gravity(recording: Recording, precision: str = DEFAULT_PRECISION) -> Recording:
    """Gravity rotation only (firmware ``gravity_rotate``): gravity stays in, on the +z-down frame."""
    return _filtered(recording, suppress=False, precision=precision)
