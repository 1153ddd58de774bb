"""Test vectors for the board: int8 model inputs, expected labels, the reference runtime's int8 outputs.

``<name>_test_vectors.h/.c`` let the firmware check itself on the target: run the model on
``<name>_test_inputs[i]`` and compare the int8 outputs with ``<name>_test_outputs[i]``
(TFLite-Micro's reference kernels give the same bytes as our reference LiteRT run). When a
sensor is given, the raw int16 counts are included too: the sensor's output codes BEFORE any
preprocessing, and the inputs are made from them exactly as the firmware makes them
(``<name>_classify``: the gravity filter when the model was trained with it, then counts/mg ->
int8), so the whole sensor-to-class path can be checked. A stream of counts with the scores of
each window ``<name>_push`` completes checks the streaming path (filter state across windows,
stride).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifier.decisions import vote as run_vote
from firmware_export._cgen import check_c_name, int_table, write_files
from firmware_export.c_app import preprocess_counts, stream_inputs
from firmware_export.render import render
from har_data import InputError, SensorSpec
from har_data.gravity import DEFAULT_PRECISION
from har_data.validate import check_array

DEFAULT_N = 10
STREAM_WINDOWS = 4


@dataclass
class TestVectors:
    """What goes into the header: int8 inputs (N x T x C), int8 outputs (N x K), labels, counts or None."""

    inputs: np.ndarray
    outputs: np.ndarray
    labels: np.ndarray
    counts: np.ndarray | None
    gravity: bool = False
    gravity_precision: str = DEFAULT_PRECISION  # the filter's arithmetic (with gravity)
    stream_counts: np.ndarray | None = None  # L x 3 raw counts fed to <name>_push
    stream_outputs: np.ndarray | None = None  # W x K scores of the windows it completes
    vote: int = 1  # decisions the decision stage votes over
    stream_decisions: np.ndarray | None = None  # W classes <name>_push returns (after the vote)
    decide_raw: np.ndarray | None = None  # raw class ids fed to <name>_decide
    decide_expected: np.ndarray | None = None  # what it returns for each

    __test__ = False  # not a pytest class

    @property
    def predictions(self) -> np.ndarray:
        return np.argmax(self.outputs, axis=-1).astype(np.int64)


def pick_windows(y: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` windows, taken round-robin over the classes (in order of first appearance)."""
    y = np.asarray(y).reshape(-1)
    by_class = [np.flatnonzero(y == c) for c in dict.fromkeys(y.tolist())]
    picked: list[int] = []
    depth = 0
    while len(picked) < min(n, len(y)):
        for idx in by_class:
            if depth < len(idx) and len(picked) < n:
                picked.append(int(idx[depth]))
        depth += 1
    return np.asarray(picked, dtype=np.int64)


def decide_sequence(vote: int, num_classes: int, seed: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Raw class ids that exercise the vote (runs shorter and longer than it, flips, ties) and its output."""
    rng = np.random.default_rng(seed)
    raw: list[int] = []
    while len(raw) < 3 * vote + 24:
        raw += [int(rng.integers(num_classes))] * int(rng.integers(1, vote + 3))
        raw += [int(c) for c in rng.integers(num_classes, size=int(rng.integers(0, 3)))]
    raw_arr = np.asarray(raw, dtype=np.int64)
    return raw_arr, run_vote(raw_arr, vote, num_classes)


def judge_int8(int8: Any, q: np.ndarray, runtime: str = "litert") -> np.ndarray:
    """The reference runtime's int8 outputs for exactly these int8 input codes (N x T x C)."""
    # Feed exactly these int8 codes: (q - zp) * scale quantizes back to q (checked below).
    x_exact = ((q.astype(np.float64) - int8.input_zero_point) * int8.input_scale).astype(np.float32)
    if not np.array_equal(int8.quantize_input(x_exact), q):
        raise RuntimeError("int8 test inputs do not round-trip through the model's input quantization")
    return np.asarray(int8.predict_int8(x_exact, runtime=runtime), dtype=np.int8)


def _stream(int8: Any, counts: np.ndarray, sensor: SensorSpec, gravity: bool, stride: int,
            runtime: str, precision: str) -> tuple[np.ndarray, np.ndarray]:
    """The test windows' counts end to end as one stream, cut after STREAM_WINDOWS windows."""
    t = counts.shape[1]
    length = min(len(counts) * t, t + (STREAM_WINDOWS - 1) * int(stride))
    stream = counts.reshape(-1, counts.shape[2])[:length]
    windows = stream_inputs(stream, sensor, int8.input_scale, int8.input_zero_point, gravity, t, stride, precision)
    return stream, judge_int8(int8, windows, runtime)


def make_test_vectors(int8: Any, x_mg: np.ndarray, y: np.ndarray, n: int = DEFAULT_N,
                      sensor: SensorSpec | None = None, runtime: str = "litert", gravity: bool = False,
                      stride: int | None = None, vote: int = 1,
                      gravity_precision: str = DEFAULT_PRECISION) -> TestVectors:
    """Pick ``n`` windows and compute their int8 inputs and the reference runtime's int8 outputs.

    ``x_mg``: windows as the sensor reports them, BEFORE preprocessing. With ``sensor`` their raw
    counts go through the firmware's preprocessing (the gravity filter in ``gravity_precision`` when
    ``gravity``, one fresh filter per window as ``<name>_classify`` runs it); with ``stride`` too, a
    stream for ``<name>_push`` with the classes it returns after a vote over ``vote`` decisions.
    """
    x = check_array(x_mg, "test windows", dtype=np.float32)  # NaN would become all-zero vectors in the C file
    y = np.asarray(y).reshape(-1)
    if x.ndim != 3 or len(x) != len(y):
        raise InputError(f"test windows must be N x T x axes with N labels, got {x.shape} and {len(y)} labels")
    if len(x) == 0 or int(n) < 1:
        raise InputError("no test windows to export")
    if y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= int8.num_classes:
        raise InputError(f"test labels must be class ids 0..{int8.num_classes - 1}")
    if gravity and sensor is None:
        raise InputError("test vectors for a gravity-filtered model need the sensor (raw counts)")
    idx = pick_windows(y, int(n))
    x, y = x[idx], y[idx].astype(np.int64)
    counts = None
    stream: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
    if sensor is not None:
        counts = sensor.to_counts(x)
        q = np.stack([preprocess_counts(c, sensor, int8.input_scale, int8.input_zero_point, gravity,
                                        gravity_precision) for c in counts])
        if stride:
            stream = _stream(int8, counts, sensor, gravity, stride, runtime, gravity_precision)
    else:
        q = int8.quantize_input(x)
    outputs = judge_int8(int8, q, runtime)
    k = int(int8.num_classes)
    decisions = None if stream[1] is None else run_vote(np.argmax(stream[1], axis=-1), vote, k)
    decide_raw, decide_expected = decide_sequence(vote, k)
    return TestVectors(inputs=q.astype(np.int8), outputs=outputs, labels=y, counts=counts, gravity=bool(gravity),
                       gravity_precision=gravity_precision,
                       stream_counts=stream[0], stream_outputs=stream[1], vote=int(vote), stream_decisions=decisions,
                       decide_raw=decide_raw, decide_expected=decide_expected)


def _block(template: str, **values: object) -> str:
    """An optional declaration block, appended to the line before it."""
    return "\n" + render(template, **values).rstrip("\n")


def _table(name: str, ctype: str, symbol: str, dims: str, arr: np.ndarray) -> str:
    """``const <ctype> <name>_<symbol><dims> = {...};``: one row of values per window (or a flat list)."""
    arr = np.asarray(arr)
    rows = int_table(arr) if arr.ndim == 1 else \
        ",\n".join("  {\n" + int_table(row.reshape(-1), indent="    ") + "\n  }" for row in arr)
    return render("table.c.in", ctype=ctype, name=name, symbol=symbol, dims=dims, rows=rows)


def test_vector_sources(tv: TestVectors, name: str = "har_model") -> dict[str, str]:
    """``<name>_test_vectors.h/.c`` text for ``tv``."""
    name = check_c_name(name)
    p, h = name.upper(), f"{name}_test_vectors.h"
    values = {"name": name, "P": p}
    counts = "" if tv.counts is None else _block(
        "test_vectors_counts.h.in", filter_note="gravity filter, then " if tv.gravity else "", gravity=int(tv.gravity),
        **values)
    stream = "" if tv.stream_counts is None or tv.stream_outputs is None else _block(
        "test_vectors_stream.h.in", length=len(tv.stream_counts), windows=len(tv.stream_outputs), **values)
    header = render("test_vectors.h.in", h, count=len(tv.inputs), input_size=int(np.prod(tv.inputs.shape[1:])),
                    output_size=int(tv.outputs.shape[-1]), has_counts=int(tv.counts is not None),
                    counts_decl=counts, stream_decl=stream, decide_decl=_decide_decl(tv, name), **values)
    n_in, n_out = f"[{p}_TEST_VECTOR_COUNT][{p}_TEST_INPUT_SIZE]", f"[{p}_TEST_VECTOR_COUNT][{p}_TEST_OUTPUT_SIZE]"
    tables = [_table(name, "int8_t", "test_inputs", n_in, tv.inputs),
              _table(name, "int8_t", "test_outputs", n_out, tv.outputs),
              _table(name, "uint8_t", "test_labels", f"[{p}_TEST_VECTOR_COUNT]", tv.labels),
              _table(name, "uint8_t", "test_predictions", f"[{p}_TEST_VECTOR_COUNT]", tv.predictions)]
    if tv.counts is not None:
        tables.append(_table(name, "int16_t", "test_counts", n_in, tv.counts))
    if tv.stream_counts is not None and tv.stream_outputs is not None:
        tables.append("\n" + _table(name, "int16_t", "test_stream_counts", f"[{p}_TEST_STREAM_LENGTH][3]",
                                    tv.stream_counts))
        tables.append(_table(name, "int8_t", "test_stream_outputs", f"[{p}_TEST_STREAM_WINDOWS][{p}_TEST_OUTPUT_SIZE]",
                             tv.stream_outputs))
    tables += _decide_tables(tv, name)
    source = render("test_vectors.c.in", tables="\n".join(tables).rstrip("\n"), name=name)
    return {h: header, f"{name}_test_vectors.c": source}


def _decide_decl(tv: TestVectors, name: str) -> str:
    """Declarations of the decision stage's expected outputs (for a vote over ``tv.vote`` decisions)."""
    values = {"name": name, "P": name.upper()}
    if tv.stream_decisions is None and tv.decide_raw is None:
        return ""
    decl = _block("test_vectors_vote.h.in", vote=tv.vote, P=values["P"])
    if tv.stream_decisions is not None:
        decl += _block("test_vectors_stream_decisions.h.in", **values)
    if tv.decide_raw is not None:
        decl += _block("test_vectors_decide.h.in", length=len(tv.decide_raw), **values)
    return decl


def _decide_tables(tv: TestVectors, name: str) -> list[str]:
    """Tables of the decision stage's expected outputs."""
    p, tables = name.upper(), []
    if tv.stream_decisions is not None:
        tables.append("\n" + _table(name, "uint8_t", "test_stream_decisions", f"[{p}_TEST_STREAM_WINDOWS]",
                                     tv.stream_decisions))
    if tv.decide_raw is not None and tv.decide_expected is not None:
        tables.append("\n" + _table(name, "uint8_t", "test_decide_raw", f"[{p}_TEST_DECIDE_LENGTH]", tv.decide_raw))
        tables.append(_table(name, "uint8_t", "test_decide_expected", f"[{p}_TEST_DECIDE_LENGTH]",
                             tv.decide_expected))
    return tables


def export_test_vectors(int8: Any, x_mg: np.ndarray, y: np.ndarray, out_dir: str | os.PathLike,
                        name: str = "har_model", n: int = DEFAULT_N, sensor: SensorSpec | None = None,
                        runtime: str = "litert", gravity: bool = False, stride: int | None = None,
                        vote: int = 1, gravity_precision: str = DEFAULT_PRECISION) -> list[Path]:
    """Write ``<name>_test_vectors.h/.c``: ``n`` windows (round-robin over classes) as int8 inputs,
    their labels and the reference runtime's int8 outputs; with ``sensor``, also the raw counts
    (before preprocessing) and, with ``stride``, a stream for ``<name>_push``; the decision stage's
    expected outputs for a vote over ``vote`` decisions."""
    name = check_c_name(name)
    tv = make_test_vectors(int8, x_mg, y, n, sensor=sensor, runtime=runtime, gravity=gravity, stride=stride,
                           vote=vote, gravity_precision=gravity_precision)
    return write_files(Path(out_dir), test_vector_sources(tv, name))
