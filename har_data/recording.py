"""Recording: one continuous accelerometer log of one activity, in the canonical unit (mg)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from har_data.validate import check_array, check_magnitude

MS2_TO_MG = 1000.0 / 9.80665
G_TO_MG = 1000.0


@dataclass
class Recording:
    """Float32 samples in mg (N x 3: x, y, z), gravity included unless ``meta['gravity']`` is False.

    ``meta`` keys: ``original_unit`` ("mg", "g", "m/s^2"), ``full_scale_g`` (or None),
    ``gravity`` (bool), and any loader-specific extras.
    """

    samples: np.ndarray
    odr_hz: float
    label: str
    source: str
    subject: str | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Every loader's samples enter here: checked once (real, finite, in a unit an accelerometer reports).
        self.samples = check_array(self.samples, "samples", self.source, dtype=np.float32)
        if self.samples.ndim != 2 or self.samples.shape[1] != 3:
            raise ValueError(f"Recording samples must be N x 3, got {self.samples.shape}")
        self.odr_hz = float(self.odr_hz)
        check_magnitude(self.samples, self.meta.get("original_unit"), self.source)
        self.meta.setdefault("original_unit", "mg")
        self.meta.setdefault("full_scale_g", None)
        self.meta.setdefault("gravity", True)

    def __len__(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return len(self) / self.odr_hz

    @property
    def group(self) -> str:
        """What splits must keep together: the subject when known, else the source file and segment."""
        if self.subject is not None:
            return f"subject:{self.subject}"
        return f"{self.source}#{self.meta.get('segment', 0)}"
