"""STM32 accelerometer parts: full scale, mg per LSB, output data rate (datasheet tables) and ST driver constants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from har_data.errors import InputError


class SensorPart(NamedTuple):
    """One accelerometer part: its datasheet format and the constants of ST's C driver for it, in one record
    (the config check, the data format and the firmware headers all read it, so they cannot disagree)."""

    sensitivity: dict[int, float]
    """mg per LSB by full scale (g): the full scales the part has."""
    odrs: dict[float, str]
    """Output data rate (Hz) -> the suffix of the driver's ODR constant: the rates the part has."""
    bits: int
    """Output word (bits)."""
    driver_header: str
    """ST's driver header (STMems_Standard_C_drivers' ``<part>_reg.h``; the LIS3DSH: the STM32Cube BSP's)."""
    full_scale_constant: str
    """The driver's full-scale constant, ``{fs}`` standing for the full scale in g."""
    odr_constant: str
    """The driver's ODR constant, ``{odr}`` standing for the suffix in ``odrs``."""


_LSM6_SENS = {2: 0.061, 4: 0.122, 8: 0.244, 16: 0.488}
_LSM6DSO_ODRS = {12.5: "12Hz5", 26.0: "26Hz", 52.0: "52Hz", 104.0: "104Hz", 208.0: "208Hz", 416.0: "417Hz",
                 833.0: "833Hz", 1666.0: "1667Hz", 3332.0: "3333Hz", 6664.0: "6667Hz"}
_LIS2DW12_SENS = {2: 0.244, 4: 0.488, 8: 0.976, 16: 1.952}
_LIS2DW12_ODRS = {1.6: "1Hz6_LP_ONLY", 12.5: "12Hz5", 25.0: "25Hz", 50.0: "50Hz", 100.0: "100Hz", 200.0: "200Hz",
                  400.0: "400Hz", 800.0: "800Hz", 1600.0: "1k6Hz"}


def _st_part(name: str, sens: dict[int, float], odrs: dict[float, str], bits: int = 16) -> SensorPart:
    """A part whose STMems_Standard_C_drivers constants follow the usual ``<PART>_<fs>g`` / ``<PART>_XL_ODR_<odr>``."""
    return SensorPart(sens, odrs, bits, f"{name.lower()}_reg.h", f"{name}_{{fs}}g", f"{name}_XL_ODR_{{odr}}")


SENSORS: dict[str, SensorPart] = {
    "LSM6DSL": _st_part("LSM6DSL", _LSM6_SENS, {
        12.5: "12Hz5", 26.0: "26Hz", 52.0: "52Hz", 104.0: "104Hz", 208.0: "208Hz", 416.0: "416Hz", 833.0: "833Hz",
        1666.0: "1k66Hz", 3332.0: "3k33Hz", 6664.0: "6k66Hz"}),
    "LSM6DSO": _st_part("LSM6DSO", _LSM6_SENS, _LSM6DSO_ODRS),
    "LSM6DSOX": _st_part("LSM6DSOX", _LSM6_SENS, _LSM6DSO_ODRS),
    "ISM330DHCX": _st_part("ISM330DHCX", _LSM6_SENS,
                           {**_LSM6DSO_ODRS, 416.0: "416Hz", 1666.0: "1666Hz", 3332.0: "3332Hz"}),
    "LIS3DSH": SensorPart(
        {2: 0.06, 4: 0.12, 6: 0.18, 8: 0.24, 16: 0.73},
        {3.125: "3_125", 6.25: "6_25", 12.5: "12_5", 25.0: "25", 50.0: "50", 100.0: "100", 400.0: "400",
         800.0: "800", 1600.0: "1600"},
        16, "lis3dsh.h", "LIS3DSH_FULLSCALE_{fs}", "LIS3DSH_DATARATE_{odr}"),
    "LIS2DW12": _st_part("LIS2DW12", _LIS2DW12_SENS, _LIS2DW12_ODRS, bits=14),
    "IIS2DLPC": _st_part("IIS2DLPC", _LIS2DW12_SENS, _LIS2DW12_ODRS, bits=14),
}
"""Every supported part, by name: add a sensor here (and only here)."""


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
        sens, odrs = SENSORS[name].sensitivity, SENSORS[name].odrs
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
        return SENSORS[self.name].sensitivity[self.full_scale_g]

    @property
    def bits(self) -> int:
        return SENSORS[self.name].bits

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
        """int16 output codes -> float32 mg: the product correctly rounded to float32 (what the exported
        C computes too, from two float32 halves of the sensitivity: firmware_export.convert.mg_split)."""
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
