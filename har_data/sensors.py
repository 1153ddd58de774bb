"""STM32 accelerometer formats: full scale, mg per LSB, output data rate (datasheet tables)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from har_data.errors import InputError

_LSM6_ODRS = (12.5, 26.0, 52.0, 104.0, 208.0, 416.0, 833.0, 1666.0, 3332.0, 6664.0)
_LSM6_SENS = {2: 0.061, 4: 0.122, 8: 0.244, 16: 0.488}

# name -> (sensitivity mg/LSB by full scale in g, valid ODRs in Hz, output bits)
SENSORS: dict[str, tuple[dict[int, float], tuple[float, ...], int]] = {
    "LSM6DSL": (_LSM6_SENS, _LSM6_ODRS, 16),
    "LSM6DSO": (_LSM6_SENS, _LSM6_ODRS, 16),
    "LSM6DSOX": (_LSM6_SENS, _LSM6_ODRS, 16),
    "ISM330DHCX": (_LSM6_SENS, _LSM6_ODRS, 16),
    "LIS3DSH": (
        {2: 0.06, 4: 0.12, 6: 0.18, 8: 0.24, 16: 0.73},
        (3.125, 6.25, 12.5, 25.0, 50.0, 100.0, 400.0, 800.0, 1600.0),
        16,
    ),
    "LIS2DW12": (
        {2: 0.244, 4: 0.488, 8: 0.976, 16: 1.952},
        (1.6, 12.5, 25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0),
        14,
    ),
}
SENSORS["IIS2DLPC"] = SENSORS["LIS2DW12"]


def _fmt(values) -> str:
    return ", ".join(f"{v:g}" for v in values)


@dataclass(frozen=True)
class SensorSpec:
    """One sensor configuration: ``SensorSpec("LSM6DSL", 4, 26)``; checked against the datasheet."""

    name: str = "LSM6DSL"
    full_scale_g: int = 4
    odr_hz: float = 26.0

    def __post_init__(self) -> None:
        name = str(self.name).upper()
        if name not in SENSORS:
            raise InputError(f"unknown sensor {self.name!r}; valid sensors: {', '.join(sorted(SENSORS))}")
        sens, odrs, _ = SENSORS[name]
        try:
            fs = float(self.full_scale_g)
        except (TypeError, ValueError):
            fs = float("nan")
        if fs not in sens:
            raise InputError(f"{name} has no ±{self.full_scale_g} g range; valid full scales (g): {_fmt(sens)}")
        try:
            odr = float(self.odr_hz)
        except (TypeError, ValueError):
            odr = float("nan")
        if not any(abs(odr - o) < 1e-6 for o in odrs):
            raise InputError(f"{name} has no {self.odr_hz} Hz output data rate; valid ODRs (Hz): {_fmt(odrs)}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "full_scale_g", int(fs))
        object.__setattr__(self, "odr_hz", odr)

    @property
    def sensitivity_mg_per_lsb(self) -> float:
        return SENSORS[self.name][0][self.full_scale_g]

    @property
    def bits(self) -> int:
        return SENSORS[self.name][2]

    @property
    def full_scale_mg(self) -> float:
        return 1000.0 * self.full_scale_g

    @property
    def count_range(self) -> tuple[int, int]:
        """Smallest and largest output code: the full scale, limited by the output word."""
        top = min(int(round(self.full_scale_mg / self.sensitivity_mg_per_lsb)), 2 ** (self.bits - 1) - 1)
        bottom = max(-int(round(self.full_scale_mg / self.sensitivity_mg_per_lsb)), -(2 ** (self.bits - 1)))
        return bottom, top

    def to_counts(self, mg: np.ndarray) -> np.ndarray:
        """mg -> int16 output codes, rounded and saturated at the full scale."""
        lo, hi = self.count_range
        counts = np.rint(np.asarray(mg, dtype=np.float64) / self.sensitivity_mg_per_lsb)
        return np.clip(counts, lo, hi).astype(np.int16)

    def to_mg(self, counts: np.ndarray) -> np.ndarray:
        """int16 output codes -> float32 mg."""
        return (np.asarray(counts, dtype=np.float64) * self.sensitivity_mg_per_lsb).astype(np.float32)

    def quantize_mg(self, mg: np.ndarray) -> np.ndarray:
        """What the sensor would report, in mg: saturate at the full scale and round to one LSB."""
        return self.to_mg(self.to_counts(mg))

    def to_dict(self) -> dict:
        return {"name": self.name, "full_scale_g": self.full_scale_g, "odr_hz": self.odr_hz}

    def header_fields(self) -> dict:
        """The sensor's part of the ``# hargan: sensor=.. full_scale_g=.. odr_hz=..`` line of the logs hargan writes."""
        return {"sensor": self.name, "full_scale_g": self.full_scale_g, "odr_hz": self.odr_hz}

    @classmethod
    def from_dict(cls, d: dict) -> SensorSpec:
        """The spec :meth:`to_dict` wrote; ``InputError`` for anything else (a key missing, not a dict)."""
        keys = ("name", "full_scale_g", "odr_hz")
        if not isinstance(d, dict):
            raise InputError(f"sensor must be an object with {', '.join(keys)}, got {type(d).__name__}")
        missing = [k for k in keys if k not in d]
        if missing:
            raise InputError(f"sensor {d} lacks {', '.join(missing)}")
        return cls(d["name"], d["full_scale_g"], d["odr_hz"])


DEFAULT_SENSOR = SensorSpec("LSM6DSL", 4, 26.0)
