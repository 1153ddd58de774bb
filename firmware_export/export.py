"""export_firmware: everything the STM32CubeIDE project needs, written as one folder (atomically)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from collections.abc import Sequence

import numpy as np

from firmware_export._cgen import check_c_name, write_files
from firmware_export.board_readme import ReadmeFacts, firmware_readme
from firmware_export.c_app import app_sources
from firmware_export.c_array import export_model_c_array
from firmware_export.c_model import c_model_sources
from firmware_export.emulator import selftest_files
from firmware_export.headers import export_headers
from firmware_export.meta import meta_source, model_facts
from firmware_export.stack import measure_board
from firmware_export.st_har_app import FOLDER as ST_HAR_APP, check_app, export_st_har_app
from firmware_export.test_vectors import DEFAULT_N, export_test_vectors
from har_data import InputError, SensorSpec
from har_data.atomic import atomic_dir
from har_data.gravity import DEFAULT_PRECISION


def _tflm_arena(int8: Any) -> int | None:
    """TFLite-Micro's arena for the model (rounded up to 16 B), or None where its runtime is missing."""
    try:
        return -(-int(int8.arena_bytes()) // 16) * 16
    except (ImportError, RuntimeError):
        return None


def _check_request(int8: Any, sensor: SensorSpec, no_windows: bool, no_labels: bool, st_har_app: bool,
                   gravity: bool) -> None:
    """Refuse what cannot be exported before anything is written."""
    if not isinstance(sensor, SensorSpec):
        raise InputError(f"expected a SensorSpec, got {sensor!r}")
    if no_windows != no_labels:
        raise InputError("give both test windows and their labels, or neither")
    if int(getattr(int8, "channels", 3)) != 3:
        raise InputError(f"the firmware API takes x, y, z samples; the model has {int8.channels} axes")
    if st_har_app:
        check_app(sensor, int(int8.window_length), 3, int(int8.num_classes), bool(gravity))


def export_firmware(int8: Any, class_names: Sequence[str], sensor: SensorSpec, out_dir: str | os.PathLike,
                    name: str = "har_model", test_windows: np.ndarray | None = None,
                    test_labels: np.ndarray | None = None, n_test_vectors: int = DEFAULT_N, *,
                    gravity: bool = False, stride: int | None = None, vote: int = 1,
                    gravity_precision: str = DEFAULT_PRECISION, st_har_app: bool = False) -> list[Path]:
    """The model (plain C and .tflite array), the API with its preprocessing, headers, test vectors, README.

    ``int8``: an Int8Classifier. ``gravity``: whether the model was trained on gravity-suppressed
    windows (ST's rotation + suppression filter); the C preprocessing then runs the same filter, in
    ``gravity_precision`` (:mod:`har_data.gravity`: the training windows' precision).
    ``stride``: the training windows' stride in samples (``<name>_push`` classifies that often;
    default half a window). ``vote``: ``<name>_push`` reports the majority class of the model's last
    ``vote`` decisions (:mod:`classifier.decisions`; 1 = each window's own). ``test_windows``: mg
    windows (N x T x 3) as the sensor reports them,
    BEFORE any preprocessing, with ``test_labels``; up to ``n_test_vectors`` of them (round-robin
    over classes) become test vectors of raw counts. ``out_dir`` is replaced as a whole, only when
    every file is written. With test vectors, ``selftest/`` holds a self-test that ``make run`` builds and
    runs on the host and on QEMU. ``st_har_app``: ``st_har_app/`` gets the files ST's model zoo HAR
    application needs (:mod:`firmware_export.st_har_app`; an ``InputError`` first where it cannot run the
    model). Returns the written paths (inside ``out_dir``).
    """
    name = check_c_name(name)
    _check_request(int8, sensor, test_windows is None, test_labels is None, st_har_app, gravity)
    window = int(int8.window_length)
    stride = window // 2 if stride is None else int(stride)
    model = c_model_sources(int8.model_bytes, name)
    tflm_arena = _tflm_arena(int8)
    vectors = test_windows is not None and len(test_windows) and n_test_vectors > 0
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        files = export_model_c_array(int8.model_bytes, tmp, name)
        files += export_headers(int8, class_names, sensor, window, tmp, name)
        facts = model_facts(int8.model_bytes, window, int8.num_classes, model.weight_bytes, model.arena_bytes)
        files += write_files(tmp, {f"{name}_meta.h": meta_source(name, facts)})  # the API's headers include it
        files += write_files(tmp, dict(model.files, **app_sources(
            name, sensor, window, int8.num_classes, stride, gravity, model.ops, tflm_arena, vote, gravity_precision)))
        facts["board"] = measure_board(tmp, name)  # compiles what was just written; then meta.h states it
        write_files(tmp, {f"{name}_meta.h": meta_source(name, facts)})
        if vectors and test_windows is not None and test_labels is not None:
            files += export_test_vectors(int8, test_windows, test_labels, tmp, name, n=n_test_vectors, sensor=sensor,
                                         gravity=gravity, stride=stride, vote=vote,
                                         gravity_precision=gravity_precision)
        sources = sorted(f.name for f in files if f.suffix == ".c" and not f.name.endswith("_model_data.c"))
        if vectors:
            files += write_files(tmp, selftest_files(name, sources))
        if st_har_app:
            files += export_st_har_app(int8, class_names, sensor, tmp / ST_HAR_APP, name=name, gravity=bool(gravity),
                                       stride=stride, vote=vote)
        readme = ReadmeFacts(name, sensor, list(class_names), window, stride, bool(gravity), model.ops,
                             model.arena_bytes, model.weight_bytes, tflm_arena, bool(vectors), sources, facts,
                             float(int8.input_scale), int(int8.input_zero_point), vote, gravity_precision,
                             bool(st_har_app))
        files += write_files(tmp, {"README.md": firmware_readme(readme)})
        names = [f.relative_to(tmp) for f in files]
    return [out_dir / n for n in names]
