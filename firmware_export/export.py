"""export_firmware: everything the STM32CubeIDE project needs, written as one folder (atomically)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from firmware_export._cgen import check_c_name
from firmware_export.c_array import export_model_c_array
from firmware_export.headers import export_headers
from firmware_export.test_vectors import DEFAULT_N, export_test_vectors
from har_data import InputError, SensorSpec
from har_data.atomic import atomic_dir


def export_firmware(int8: Any, class_names: Sequence[str], sensor: SensorSpec, out_dir: str | os.PathLike,
                    name: str = "har_model", test_windows: np.ndarray | None = None,
                    test_labels: np.ndarray | None = None, n_test_vectors: int = DEFAULT_N) -> list[Path]:
    """Model C arrays, labels/sensor/quantization headers and (given test windows) test vectors.

    ``int8``: an Int8Classifier. ``test_windows``: mg windows (N x T x 3) with ``test_labels``;
    up to ``n_test_vectors`` of them (round-robin over classes) become test vectors, made from the
    sensor's raw counts. ``out_dir`` is replaced as a whole, only when every file is written.
    Returns the written paths (inside ``out_dir``).
    """
    name = check_c_name(name)
    if not isinstance(sensor, SensorSpec):
        raise InputError(f"expected a SensorSpec, got {sensor!r}")
    if (test_windows is None) != (test_labels is None):
        raise InputError("give both test windows and their labels, or neither")
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        files = export_model_c_array(int8.model_bytes, tmp, name)
        files += export_headers(int8, class_names, sensor, int8.window_length, tmp, name)
        if test_windows is not None and len(test_windows) and n_test_vectors > 0:
            files += export_test_vectors(int8, test_windows, test_labels, tmp, name, n=n_test_vectors, sensor=sensor)
        names = [f.name for f in files]
    return [out_dir / n for n in names]
