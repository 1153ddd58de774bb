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
from firmware_export._cgen import (BANNER, EXTERN_C_CLOSE, EXTERN_C_OPEN, check_c_name, guard_close, guard_open,
                                   int_table, write_files)
from firmware_export.c_app import preprocess_counts, stream_inputs
from har_data import InputError, SensorSpec
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
            runtime: str) -> tuple[np.ndarray, np.ndarray]:
    """The test windows' counts end to end as one stream, cut after STREAM_WINDOWS windows."""
    t = counts.shape[1]
    length = min(len(counts) * t, t + (STREAM_WINDOWS - 1) * int(stride))
    stream = counts.reshape(-1, counts.shape[2])[:length]
    windows = stream_inputs(stream, sensor, int8.input_scale, int8.input_zero_point, gravity, t, stride)
    return stream, judge_int8(int8, windows, runtime)


def make_test_vectors(int8: Any, x_mg: np.ndarray, y: np.ndarray, n: int = DEFAULT_N,
                      sensor: SensorSpec | None = None, runtime: str = "litert", gravity: bool = False,
                      stride: int | None = None, vote: int = 1) -> TestVectors:
    """Pick ``n`` windows and compute their int8 inputs and the reference runtime's int8 outputs.

    ``x_mg``: windows as the sensor reports them, BEFORE preprocessing. With ``sensor`` their raw
    counts go through the firmware's preprocessing (the gravity filter when ``gravity``, one fresh
    filter per window as ``<name>_classify`` runs it); with ``stride`` too, a stream for ``<name>_push``
    with the classes it returns after a vote over ``vote`` decisions.
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
        q = np.stack([preprocess_counts(c, sensor, int8.input_scale, int8.input_zero_point, gravity) for c in counts])
        if stride:
            stream = _stream(int8, counts, sensor, gravity, stride, runtime)
    else:
        q = int8.quantize_input(x)
    outputs = judge_int8(int8, q, runtime)
    k = int(int8.num_classes)
    decisions = None if stream[1] is None else run_vote(np.argmax(stream[1], axis=-1), vote, k)
    decide_raw, decide_expected = decide_sequence(vote, k)
    return TestVectors(inputs=q.astype(np.int8), outputs=outputs, labels=y, counts=counts, gravity=bool(gravity),
                       stream_counts=stream[0], stream_outputs=stream[1], vote=int(vote), stream_decisions=decisions,
                       decide_raw=decide_raw, decide_expected=decide_expected)


def test_vector_sources(tv: TestVectors, name: str = "har_model") -> dict[str, str]:
    """``<name>_test_vectors.h/.c`` text for ``tv``."""
    name = check_c_name(name)
    p, h = name.upper(), f"{name}_test_vectors.h"
    n = len(tv.inputs)
    size = int(np.prod(tv.inputs.shape[1:]))
    k = int(tv.outputs.shape[-1])
    decl = [
        f"#define {p}_TEST_VECTOR_COUNT {n}",
        f"#define {p}_TEST_INPUT_SIZE {size}",
        f"#define {p}_TEST_OUTPUT_SIZE {k}",
        f"#define {p}_TEST_HAS_COUNTS {1 if tv.counts is not None else 0}",
        "",
        "/* Model inputs (int8, [window][sample * axes + axis]), as the firmware feeds them. */",
        f"extern const int8_t {name}_test_inputs[{p}_TEST_VECTOR_COUNT][{p}_TEST_INPUT_SIZE];",
        "/* The reference runtime's int8 outputs for those inputs (compare byte for byte). */",
        f"extern const int8_t {name}_test_outputs[{p}_TEST_VECTOR_COUNT][{p}_TEST_OUTPUT_SIZE];",
        "/* True class ids of the windows (the model may get some wrong: compare with predictions). */",
        f"extern const uint8_t {name}_test_labels[{p}_TEST_VECTOR_COUNT];",
        "/* argmax of the expected outputs (ties to the lower id). */",
        f"extern const uint8_t {name}_test_predictions[{p}_TEST_VECTOR_COUNT];",
    ]
    if tv.counts is not None:
        decl += [f"/* Raw int16 sensor counts (x, y, z per sample) BEFORE preprocessing: {name}_classify on them",
                 f"   gives {name}_test_outputs ({'gravity filter, then ' if tv.gravity else ''}counts -> int8). */",
                 f"#define {p}_TEST_GRAVITY_FILTER {int(tv.gravity)}",
                 f"extern const int16_t {name}_test_counts[{p}_TEST_VECTOR_COUNT][{p}_TEST_INPUT_SIZE];"]
    if tv.stream_counts is not None and tv.stream_outputs is not None:
        decl += [f"/* A stream of raw counts for {name}_push (after {name}_reset), and the scores of each window",
                 "   it completes, in order. */",
                 f"#define {p}_TEST_STREAM_LENGTH {len(tv.stream_counts)}",
                 f"#define {p}_TEST_STREAM_WINDOWS {len(tv.stream_outputs)}",
                 f"extern const int16_t {name}_test_stream_counts[{p}_TEST_STREAM_LENGTH][3];",
                 f"extern const int8_t {name}_test_stream_outputs[{p}_TEST_STREAM_WINDOWS][{p}_TEST_OUTPUT_SIZE];"]
    decl += _decide_decl(tv, name)
    header = (guard_open(h) + "#include <stdint.h>\n\n" + EXTERN_C_OPEN + "\n".join(decl) + "\n\n"
              + EXTERN_C_CLOSE + guard_close(h))

    def table2(ctype: str, sym: str, dims: str, arr: np.ndarray) -> str:
        rows = ",\n".join("  {\n" + int_table(row.reshape(-1), indent="    ") + "\n  }" for row in arr)
        return f"const {ctype} {name}_{sym}{dims} = {{\n{rows}\n}};\n\n"

    body = table2("int8_t", "test_inputs", f"[{p}_TEST_VECTOR_COUNT][{p}_TEST_INPUT_SIZE]", tv.inputs)
    body += table2("int8_t", "test_outputs", f"[{p}_TEST_VECTOR_COUNT][{p}_TEST_OUTPUT_SIZE]", tv.outputs)
    body += (f"const uint8_t {name}_test_labels[{p}_TEST_VECTOR_COUNT] = {{\n{int_table(tv.labels)}\n}};\n\n"
             f"const uint8_t {name}_test_predictions[{p}_TEST_VECTOR_COUNT] = {{\n{int_table(tv.predictions)}\n}};\n")
    if tv.counts is not None:
        body += "\n" + table2("int16_t", "test_counts", f"[{p}_TEST_VECTOR_COUNT][{p}_TEST_INPUT_SIZE]", tv.counts)
    if tv.stream_counts is not None and tv.stream_outputs is not None:
        body += "\n" + table2("int16_t", "test_stream_counts", f"[{p}_TEST_STREAM_LENGTH][3]", tv.stream_counts)
        body += table2("int8_t", "test_stream_outputs", f"[{p}_TEST_STREAM_WINDOWS][{p}_TEST_OUTPUT_SIZE]",
                       tv.stream_outputs)
    body += _decide_body(tv, name)
    source = BANNER + f'#include "{h}"\n\n' + body.rstrip("\n") + "\n"
    return {h: header, f"{name}_test_vectors.c": source}


def _decide_decl(tv: TestVectors, name: str) -> list[str]:
    """Declarations of the decision stage's expected outputs (for a vote over ``tv.vote`` decisions)."""
    p, decl = name.upper(), list[str]()
    if tv.stream_decisions is None and tv.decide_raw is None:
        return decl
    decl += [f"/* The decision stage's expected outputs are for a vote over {p}_TEST_VOTE decisions. */",
             f"#define {p}_TEST_VOTE {tv.vote}"]
    if tv.stream_decisions is not None:
        decl += [f"/* What {name}_push returns for each window of the stream (after the vote). */",
                 f"extern const uint8_t {name}_test_stream_decisions[{p}_TEST_STREAM_WINDOWS];"]
    if tv.decide_raw is not None:
        decl += [f"/* Raw class ids fed to {name}_decide (after {name}_decide_reset), and what it returns. */",
                 f"#define {p}_TEST_DECIDE_LENGTH {len(tv.decide_raw)}",
                 f"extern const uint8_t {name}_test_decide_raw[{p}_TEST_DECIDE_LENGTH];",
                 f"extern const uint8_t {name}_test_decide_expected[{p}_TEST_DECIDE_LENGTH];"]
    return decl


def _decide_body(tv: TestVectors, name: str) -> str:
    """Tables of the decision stage's expected outputs."""
    p, body = name.upper(), ""
    if tv.stream_decisions is not None:
        body += (f"const uint8_t {name}_test_stream_decisions[{p}_TEST_STREAM_WINDOWS] = {{\n"
                 f"{int_table(tv.stream_decisions)}\n}};\n\n")
    if tv.decide_raw is not None:
        for sym, arr in (("raw", tv.decide_raw), ("expected", tv.decide_expected)):
            assert arr is not None  # the expected outputs are made with the raw inputs
            body += (f"const uint8_t {name}_test_decide_{sym}[{p}_TEST_DECIDE_LENGTH] = {{\n"
                     f"{int_table(arr)}\n}};\n\n")
    return body


def export_test_vectors(int8: Any, x_mg: np.ndarray, y: np.ndarray, out_dir: str | os.PathLike,
                        name: str = "har_model", n: int = DEFAULT_N, sensor: SensorSpec | None = None,
                        runtime: str = "litert", gravity: bool = False, stride: int | None = None,
                        vote: int = 1) -> list[Path]:
    """Write ``<name>_test_vectors.h/.c``: ``n`` windows (round-robin over classes) as int8 inputs,
    their labels and the reference runtime's int8 outputs; with ``sensor``, also the raw counts
    (before preprocessing) and, with ``stride``, a stream for ``<name>_push``; the decision stage's
    expected outputs for a vote over ``vote`` decisions."""
    name = check_c_name(name)
    tv = make_test_vectors(int8, x_mg, y, n, sensor=sensor, runtime=runtime, gravity=gravity, stride=stride,
                           vote=vote)
    return write_files(Path(out_dir), test_vector_sources(tv, name))
