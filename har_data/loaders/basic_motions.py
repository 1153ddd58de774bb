"""BasicMotions (UEA/UCR archive), bundled with sktime: the default real data, no download.

80 cases (40 train + 40 test) of 10 s at 10 Hz from a smartwatch worn by four students:
standing, walking, running, badminton. Six channels: 0-2 accelerometer x/y/z, 3-5 gyroscope.

Units, as checked on the data: the accelerometer channels are in m/s^2 with gravity already
removed (standing cases have mean magnitude ~0.8 and per-axis means ~0.1 while running peaks
near 29, i.e. ~3 g; in g those would be 29 g, beyond a watch's sensor), and channels 3-5 have
zero mean for every class (angular rate). So the loader takes channels 0-2, converts m/s^2 to
mg and marks ``gravity=False``.
"""

from __future__ import annotations

import numpy as np

from har_data.errors import InputError
from har_data.loaders._common import Recordings
from har_data.recording import MS2_TO_MG, Recording

ODR_HZ = 10.0
ACCEL_CHANNELS = (0, 1, 2)
CLASSES = ("standing", "walking", "running", "badminton")


def load_basic_motions() -> Recordings:
    """Load sktime's bundled BasicMotions (train and test) -> 80 Recordings (mg, 10 Hz, no gravity)."""
    try:
        from sktime.datasets import load_basic_motions as _sk_load
    except ImportError as exc:  # pragma: no cover - sktime is a dependency
        raise InputError(f"BasicMotions needs sktime ({exc})") from None
    recs = Recordings()
    for split in ("train", "test"):
        x, y = _sk_load(split=split, return_type="numpy3D")
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 3 or x.shape[1] != 6:
            raise InputError(f"unexpected BasicMotions shape {x.shape} (expected cases x 6 channels x time)")
        for i in range(len(x)):
            acc = x[i, list(ACCEL_CHANNELS), :].T * MS2_TO_MG
            label = str(y[i]).lower()
            recs.append(Recording(acc.astype(np.float32), ODR_HZ, label, f"BasicMotions/{split}/{i}", None,
                                  {"original_unit": "m/s^2", "full_scale_g": None, "gravity": False,
                                   "segment": 0, "split": split}))
    return recs
