"""Int8Classifier: the int8 .tflite bytes that go on the board, run on LiteRT (batched) or TFLite-Micro.

A window is accepted only when the **int8** model says it is the requested class with enough
confidence: the judge of generated data is the same bytes the STM32 runs. Inputs are float mg
windows, quantized with the model's own input scale and zero point (saturating, like the sensor
at its full scale); outputs are the int8 softmax codes, dequantized on request.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from har_data.errors import InputError, one_line
from har_data.atomic import write_bytes

_TFLITE_IDENT = b"TFL3"


@contextlib.contextmanager
def _capture_fd(fd: int = 2) -> Iterator[list[str]]:
    """Capture what C++ code writes to a file descriptor (TFLite-Micro prints its arena use on stderr)."""
    out: list[str] = []
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(fd)
        try:
            os.dup2(tmp.fileno(), fd)
            yield out
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode("utf-8", "replace"))


def read_tflite(model: bytes | bytearray | memoryview | str | os.PathLike) -> tuple[bytes, Path | None]:
    """The .tflite bytes from bytes or a path (checked for the TFL3 identifier), and the path if any."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        data, where = bytes(model), None
    else:
        where = Path(model)
        if not where.is_file():
            raise InputError("no such file", where)
        data = where.read_bytes()
    if len(data) < 8 or data[4:8] != _TFLITE_IDENT:
        raise InputError("not a .tflite model (no TFL3 identifier)", where)
    return data, where


class Int8Classifier:
    """Runs a full-integer int8 .tflite classifier on float mg windows.

    ``model``: the .tflite bytes or a path to a .tflite file. ``runtime="litert"`` runs batches
    (the interpreter is resized to the batch, big inputs go in chunks of ``max_batch``);
    ``runtime="tflm"`` runs the same bytes on TFLite-Micro, one window at a time, as the board does.

    ``kernels="reference"`` (default) runs LiteRT's reference kernels, which are bit-exact with
    TFLite-Micro's, so the judge gives the same int8 outputs as the micro runtime.
    ``kernels="optimized"`` uses LiteRT's default (XNNPACK/ruy) kernels: many times faster, but
    their int8 rounding can differ by one code from TFLite-Micro's.
    """

    def __init__(self, model: bytes | bytearray | str | os.PathLike, class_names: Sequence[str] | None = None, *,
                 num_threads: int | None = None, max_batch: int = 1024, kernels: str = "reference"):
        data, where = read_tflite(model)
        self._bytes = data
        self._max_batch = max(1, int(max_batch))
        self._num_threads = int(num_threads) if num_threads else min(os.cpu_count() or 1, 4)
        from ai_edge_litert.interpreter import OpResolverType

        resolvers = {"reference": OpResolverType.BUILTIN_REF, "optimized": OpResolverType.AUTO}
        if kernels not in resolvers:
            raise InputError(f"unknown kernels {kernels!r}; valid: {', '.join(resolvers)}")
        self.kernels = kernels
        self._resolver = resolvers[kernels]
        # Reference kernels run on one core: batches are split over ``num_threads`` interpreters
        # (LiteRT releases the GIL while it invokes). Optimized kernels thread inside one interpreter.
        self._workers = self._num_threads if kernels == "reference" else 1
        try:
            self._interp = self._new_interpreter()
        except (ValueError, RuntimeError) as exc:
            raise InputError(f"cannot load .tflite model: {one_line(exc)}", where) from None
        if not self._interp._get_ops_details():
            raise InputError("the model has no operators: it computes nothing (not a classifier)", where)
        inp = self._interp.get_input_details()
        out = self._interp.get_output_details()
        if len(inp) != 1 or len(out) != 1:
            raise InputError(f"expected a model with one input and one output, got {len(inp)} and {len(out)}", where)
        self._in, self._out = inp[0], out[0]
        if self._in["dtype"] != np.int8 or self._out["dtype"] != np.int8:
            raise InputError(f"not a full-integer int8 model (input {np.dtype(self._in['dtype']).name}, "
                             f"output {np.dtype(self._out['dtype']).name})", where)
        shape = [int(d) for d in self._in["shape"]]
        if len(shape) != 3:
            raise InputError(f"expected a model input of shape (batch, T, channels), got {shape}", where)
        self._window_length, self._channels = shape[1], shape[2]
        self._num_classes = int(self._out["shape"][-1])
        self.input_scale, self.input_zero_point = float(self._in["quantization"][0]), int(self._in["quantization"][1])
        self.output_scale, self.output_zero_point = (float(self._out["quantization"][0]),
                                                     int(self._out["quantization"][1]))
        if self.input_scale <= 0 or self.output_scale <= 0:
            raise InputError("the model's input or output tensor has no quantization parameters", where)
        if class_names is None:
            class_names = [str(i) for i in range(self._num_classes)]
        self.class_names = [str(c) for c in class_names]
        if len(self.class_names) != self._num_classes:
            raise InputError(f"{len(self.class_names)} class names for a model with {self._num_classes} outputs", where)
        self._interps = [self._interp]
        self._batches = [shape[0]]
        self._pool: ThreadPoolExecutor | None = None
        self._tflm = None
        self._arena: int | None = None

    # -- properties ---------------------------------------------------------------------------
    @property
    def model_bytes(self) -> bytes:
        return self._bytes

    @property
    def tflite_bytes(self) -> int:
        return len(self._bytes)

    @property
    def window_length(self) -> int:
        return self._window_length

    @property
    def channels(self) -> int:
        return self._channels

    @property
    def num_classes(self) -> int:
        return self._num_classes

    @property
    def input_full_scale_mg(self) -> float:
        """The largest |mg| the int8 input represents before it saturates."""
        return self.input_scale * 127.5

    def __repr__(self) -> str:
        return (f"Int8Classifier({self.tflite_bytes} bytes, input {self._window_length}x{self._channels}, "
                f"classes {self.class_names})")

    # -- quantization -------------------------------------------------------------------------
    def _check_x(self, x_mg: np.ndarray) -> np.ndarray:
        x = np.asarray(x_mg, dtype=np.float32)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1:] != (self._window_length, self._channels):
            raise InputError(f"windows are {tuple(x.shape[1:]) if x.ndim == 3 else x.shape}, the int8 model takes "
                             f"({self._window_length}, {self._channels})")
        return x

    def quantize_input(self, x_mg: np.ndarray) -> np.ndarray:
        """mg windows -> int8 codes with the model's input scale and zero point (saturating)."""
        x = self._check_x(x_mg)
        q = np.rint(x.astype(np.float64) / self.input_scale) + self.input_zero_point
        q = np.nan_to_num(q, nan=float(self.input_zero_point))
        return np.clip(q, -128, 127).astype(np.int8)

    def dequantize_output(self, q: np.ndarray) -> np.ndarray:
        """int8 output codes -> float32 probabilities."""
        return ((np.asarray(q, dtype=np.float32) - self.output_zero_point) * self.output_scale).astype(np.float32)

    # -- runtimes -----------------------------------------------------------------------------
    def _new_interpreter(self):
        from ai_edge_litert.interpreter import Interpreter

        threads = self._num_threads if self._workers == 1 else 1
        interp = Interpreter(model_content=self._bytes, num_threads=threads,
                             experimental_op_resolver_type=self._resolver)
        interp.allocate_tensors()
        return interp

    def _run_on(self, k: int, q: np.ndarray, out: np.ndarray) -> None:
        """Run windows ``q`` on interpreter ``k`` in chunks of at most ``max_batch``, into ``out``."""
        interp = self._interps[k]
        n = len(q)
        step = min(self._max_batch, max(n, 1))
        for start in range(0, n, step):
            chunk = q[start:start + step]
            m = len(chunk)
            if m < step and n > step:  # pad the last chunk rather than re-allocating for it
                chunk = np.concatenate([chunk, np.zeros((step - m,) + chunk.shape[1:], np.int8)])
            if len(chunk) != self._batches[k]:
                interp.resize_tensor_input(self._in["index"], [len(chunk), self._window_length, self._channels])
                interp.allocate_tensors()
                self._batches[k] = len(chunk)
            interp.set_tensor(self._in["index"], chunk)
            interp.invoke()
            out[start:start + m] = interp.get_tensor(self._out["index"])[:m]

    def _run_litert(self, q: np.ndarray) -> np.ndarray:
        n = len(q)
        out = np.empty((n, self._num_classes), dtype=np.int8)
        workers = min(self._workers, max(1, n // 256))
        if workers <= 1:
            self._run_on(0, q, out)
            return out
        while len(self._interps) < workers:
            self._interps.append(self._new_interpreter())
            self._batches.append(1)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="int8")
        bounds = np.linspace(0, n, workers + 1).astype(int)
        jobs = [self._pool.submit(self._run_on, k, q[a:b], out[a:b]) for k, (a, b) in
                enumerate(zip(bounds[:-1], bounds[1:]))]
        for job in jobs:
            job.result()
        return out

    def _arena_capacity(self) -> int:
        return max(1 << 18, 16 * len(self._bytes))

    def _tflm_interpreter(self):
        if self._tflm is None:
            from tflite_micro.python.tflite_micro import runtime

            with _capture_fd():
                self._tflm = runtime.Interpreter.from_bytes(self._bytes, arena_size=self._arena_capacity())
        return self._tflm

    def _run_tflm(self, q: np.ndarray) -> np.ndarray:
        interp = self._tflm_interpreter()
        out = np.empty((len(q), self._num_classes), dtype=np.int8)
        for i in range(len(q)):
            interp.set_input(q[i:i + 1], 0)
            interp.invoke()
            out[i] = np.asarray(interp.get_output(0)).reshape(-1)
        return out

    def predict_int8(self, x_mg: np.ndarray, runtime: str = "litert") -> np.ndarray:
        """int8 output codes (N x C) for mg windows, on ``"litert"`` (batched) or ``"tflm"`` (one by one)."""
        q = self.quantize_input(x_mg)
        if runtime == "litert":
            return self._run_litert(q)
        if runtime == "tflm":
            return self._run_tflm(q)
        raise InputError(f"unknown runtime {runtime!r}; valid runtimes: litert, tflm")

    def predict_proba(self, x_mg: np.ndarray, runtime: str = "litert") -> np.ndarray:
        """Dequantized softmax probabilities (N x C, float32)."""
        return self.dequantize_output(self.predict_int8(x_mg, runtime))

    def predict(self, x_mg: np.ndarray, runtime: str = "litert") -> np.ndarray:
        """Class ids (argmax of the int8 outputs; ties go to the lower id, as on the board)."""
        return np.argmax(self.predict_int8(x_mg, runtime), axis=-1).astype(np.int64)

    def accept(self, x_mg: np.ndarray, labels: np.ndarray | Sequence[int], min_confidence: float = 0.5,
               runtime: str = "litert") -> np.ndarray:
        """Per window: True when the int8 model's argmax is the label and its probability >= min_confidence."""
        q = self.predict_int8(x_mg, runtime)
        labels = np.asarray(labels).astype(np.int64).reshape(-1)
        if labels.size == 1 and len(q) != 1:
            labels = np.full(len(q), int(labels[0]))
        if len(labels) != len(q):
            raise InputError(f"{len(q)} windows but {len(labels)} labels")
        if len(labels) and (labels.min() < 0 or labels.max() >= self._num_classes):
            raise InputError(f"labels outside 0..{self._num_classes - 1}")
        rows = np.arange(len(q))
        pred = np.argmax(q, axis=-1)
        prob = self.dequantize_output(q[rows, labels])
        return (pred == labels) & (prob >= float(min_confidence))

    def runtimes_agree(self, x_mg: np.ndarray) -> bool:
        """True when LiteRT and TFLite-Micro give bit-identical int8 outputs on these windows."""
        return bool(np.array_equal(self.predict_int8(x_mg, "litert"), self.predict_int8(x_mg, "tflm")))

    def arena_bytes(self) -> int:
        """TFLite-Micro tensor arena this model needs (bytes), as its RecordingMicroAllocator reports it."""
        if self._arena is None:
            from tflite_micro.python.tflite_micro import runtime

            with _capture_fd() as log:
                interp = runtime.Interpreter.from_bytes(self._bytes, arena_size=self._arena_capacity())
                interp.set_input(np.zeros((1, self._window_length, self._channels), np.int8), 0)
                interp.invoke()
                interp.print_allocations()
            m = re.search(r"Arena allocation total (\d+) bytes", "".join(log))
            if not m:
                raise RuntimeError("TFLite-Micro did not report its arena use")
            self._arena = int(m.group(1))
        return self._arena

    def save(self, path: str | os.PathLike) -> Path:
        """Write the .tflite bytes (atomically)."""
        return write_bytes(path, self._bytes)
