"""Wrapper for ST Edge AI Core's command line (``stedgeai``; the legacy X-CUBE-AI ``stm32ai`` too).

``StEdgeAI().analyze / validate / generate`` run the tool on a .tflite model and return the
plain figures parsed from the reports it writes into ``--output``:

  <name>_analyze_report.txt / <name>_validate_report.txt / <name>_generate_report.txt
      "weights (ro) : 2,704 B (2.64 KiB) ...", "activations (rw) : 1,780 B ...", "macc : 12,960",
      and for validate the "Evaluation report (summary)" table (acc, rmse, mae, l2r, ..., cos)
  <name>_c_info.json (json_schema_version 2.0)
      memory_footprint.{weights, activations, io}, graphs[0].nodes[*].macc

The tool is proprietary and is not installed here: when it cannot be found, ``find_stedgeai``
raises ``StEdgeAINotFound`` (an InputError) that says where to get it, and
:func:`estimate_footprint` gives an offline estimate (weights, TFLite-Micro arena, MACs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from collections.abc import Mapping, Sequence

import numpy as np

from classifier.int8 import read_tflite
from firmware_export.footprint import estimate_footprint
from firmware_export.stedgeai_reports import StEdgeAIError, parse_c_info, parse_evaluation_table, parse_report
from har_data import InputError

__all__ = ["COMPRESSIONS", "analyze_or_estimate", "EXECUTABLE_NAMES", "MODES", "StEdgeAI", "StEdgeAIError",
           "StEdgeAINotFound", "estimate_footprint", "find_stedgeai", "host_os_dir", "parse_c_info",
           "parse_evaluation_table", "parse_report", "write_validation_data"]

EXECUTABLE_NAMES = ("stedgeai", "stm32ai")  # ST Edge AI Core; legacy X-CUBE-AI CLI
COMPRESSIONS = ("none", "lossless", "low", "medium", "high")
MODES = ("host", "target", "host-io-only", "target-io-only")
OPTIMIZATIONS = ("balanced", "time", "ram")
ENV_VAR = "STEDGEAI_CORE_DIR"

GUIDANCE = (
    "ST Edge AI Core ('stedgeai') was not found on PATH or under $STEDGEAI_CORE_DIR. It is proprietary and "
    "cannot be bundled: download ST Edge AI Core from https://www.st.com/en/development-tools/stedgeai-core.html "
    "(or X-CUBE-AI for STM32CubeMX, https://www.st.com/en/embedded-software/x-cube-ai.html, whose 'stm32ai' also "
    "works), install it, then 'export STEDGEAI_CORE_DIR=/path/to/STEdgeAI/<version>' (the folder that holds "
    "Utilities/<linux|mac|windows>/stedgeai) or put the stedgeai executable on PATH."
)
LIBRARY_ALTERNATIVE = ("Without it, firmware_export.estimate_footprint(model) gives an offline estimate "
                       "(weights, TFLite-Micro arena, MACs).")
CLI_ALTERNATIVE = ("Without it, 'hargan stedgeai analyze --estimate' prints an offline estimate "
                   "(weights, TFLite-Micro arena, MACs).")


class StEdgeAINotFound(InputError):
    """The ST Edge AI Core executable is not installed (or not where we were told to look).

    ``alternative`` says what to do without it, in the caller's terms (Python or command line)."""

    def __init__(self, detail: str = "", alternative: str = LIBRARY_ALTERNATIVE):
        self.detail = detail
        super().__init__((detail + ". " if detail else "") + GUIDANCE + " " + alternative)


def host_os_dir() -> str:
    """The ``Utilities/<os>`` folder name of ST's install layout for this machine."""
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "mac"
    return "linux"


def _exe_names() -> list[str]:
    suffix = ".exe" if host_os_dir() == "windows" else ""
    return [n + suffix for n in EXECUTABLE_NAMES]


def _is_exe(p: Path) -> bool:
    return p.is_file() and os.access(p, os.X_OK)


def _search_dir(root: Path) -> Path | None:
    """The executable in ``root`` following ST's layouts: Utilities/<os>/, <os>/, bin/ or root itself."""
    os_dir = host_os_dir()
    for sub in (Path("Utilities") / os_dir, Path(os_dir), Path("bin"), Path(".")):
        for exe in _exe_names():
            cand = root / sub / exe
            if _is_exe(cand):
                return cand
    return None


def find_stedgeai(executable: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Locate the ST Edge AI Core executable.

    Order: ``executable`` (a file, or an install folder); ``$STEDGEAI_CORE_DIR`` (ST's documented
    layout ``$STEDGEAI_CORE_DIR/Utilities/<linux|mac|windows>/stedgeai``); then ``stedgeai`` and the
    legacy ``stm32ai`` on PATH. Raises StEdgeAINotFound with install guidance.
    """
    env = os.environ if env is None else env
    if executable:
        p = Path(executable).expanduser()
        if p.is_dir():
            found = _search_dir(p)
            if found:
                return found
            raise StEdgeAINotFound(f"no stedgeai/stm32ai executable under {p}")
        if _is_exe(p):
            return p
        on_path = shutil.which(str(executable), path=env.get("PATH"))
        if on_path:
            return Path(on_path)
        raise StEdgeAINotFound(f"{p} is not an executable file")
    root = env.get(ENV_VAR)
    if root:
        found = _search_dir(Path(root).expanduser())
        if found:
            return found
        detail = f"${ENV_VAR}={root} holds no Utilities/{host_os_dir()}/stedgeai"
    else:
        detail = f"${ENV_VAR} is not set"
    for exe in EXECUTABLE_NAMES:
        on_path = shutil.which(exe, path=env.get("PATH"))
        if on_path:
            return Path(on_path)
    raise StEdgeAINotFound(detail)


# -- validation data ----------------------------------------------------------------------------
def write_validation_data(inputs: np.ndarray, outputs: np.ndarray | None, folder: str | os.PathLike,
                          fmt: str = "npy") -> tuple[Path, Path | None]:
    """Write ``--valinput``/``--valoutput`` files as ST documents them: .npy arrays (N x ... with the
    model's shape, here int8) or .csv (one sample a line, values flattened, comma separated)."""
    from har_data.atomic import atomic_path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if fmt not in ("npy", "csv"):
        raise InputError(f"unknown validation data format {fmt!r}; valid: npy, csv")
    paths: list[Path | None] = []
    for stem, arr in (("valinput", inputs), ("valoutput", outputs)):
        if arr is None:
            paths.append(None)
            continue
        arr = np.asarray(arr)
        path = folder / f"hargan_{stem}.{fmt}"
        with atomic_path(path) as tmp:
            if fmt == "npy":
                with open(tmp, "wb") as f:
                    np.save(f, arr)
            else:
                np.savetxt(tmp, arr.reshape(len(arr), -1), delimiter=",",
                           fmt="%d" if arr.dtype.kind in "iu" else "%.9g")
        paths.append(path)
    return paths[0], paths[1]  # type: ignore[return-value]


# -- the wrapper --------------------------------------------------------------------------------
class StEdgeAI:
    """Runs ``stedgeai analyze | validate | generate`` and parses what it writes.

    ``executable``: the stedgeai (or legacy stm32ai) executable or install folder; default: found by
    :func:`find_stedgeai`. ``target``: ``--target`` (``stm32`` or a series such as ``stm32l4``).
    Each action returns a dict of plain figures plus ``argv`` (the exact command) and ``report``.
    """

    def __init__(self, executable: str | os.PathLike | None = None, target: str = "stm32",
                 env: Mapping[str, str] | None = None, timeout: float | None = 1800.0,
                 extra_args: Sequence[str] = ()):
        self.executable = find_stedgeai(executable, env)
        self.target = str(target or "stm32")
        self.env = dict(os.environ if env is None else env)
        self.timeout = timeout
        self.extra_args = [str(a) for a in extra_args]

    @property
    def legacy(self) -> bool:
        """True for X-CUBE-AI's ``stm32ai`` (it takes ``--series``, not ``--target``)."""
        return self.executable.name.lower().startswith("stm32ai")

    # -- command lines ---------------------------------------------------------------------
    def _target_args(self) -> list[str]:
        if self.legacy:
            return [] if self.target == "stm32" else ["--series", self.target]
        return ["--target", self.target]

    def command(self, action: str, model: str | os.PathLike, *, output: str | os.PathLike,
                workspace: str | os.PathLike | None = None, name: str = "network",
                compression: str | None = None, optimization: str | None = None,
                extra: Sequence[str] = ()) -> list[str]:
        """The argv for ``action`` (without running it)."""
        if action not in ("analyze", "validate", "generate"):
            raise InputError(f"unknown stedgeai action {action!r}; valid: analyze, validate, generate")
        from firmware_export._cgen import check_c_name

        check_c_name(name)
        argv = [str(self.executable), action, "--model", str(model)] + self._target_args() + ["--name", name]
        if compression is not None:
            if str(compression) not in COMPRESSIONS:
                raise InputError(f"unknown compression {compression!r}; valid: {', '.join(COMPRESSIONS)}")
            argv += ["--compression", str(compression)]
        if optimization is not None:
            if str(optimization) not in OPTIMIZATIONS:
                raise InputError(f"unknown optimization {optimization!r}; valid: {', '.join(OPTIMIZATIONS)}")
            argv += ["--optimization", str(optimization)]
        argv += list(extra)
        argv += ["--output", str(output)]
        argv += ["--workspace", str(workspace if workspace is not None else Path(output) / "st_ai_ws")]
        return argv + self.extra_args

    def _run(self, argv: list[str], output: Path, name: str, action: str) -> dict[str, Any]:
        output.mkdir(parents=True, exist_ok=True)
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, env=self.env, timeout=self.timeout)
        except FileNotFoundError:
            raise StEdgeAINotFound(f"{argv[0]} disappeared") from None
        except subprocess.TimeoutExpired:
            raise StEdgeAIError(f"stedgeai {action} ran longer than {self.timeout} s") from None
        log = (proc.stdout or "") + (proc.stderr or "")
        (output / f"hargan_stedgeai_{action}.log").write_text(" ".join(argv) + "\n" + log, encoding="utf-8")
        if proc.returncode != 0:
            tail = " | ".join(line.strip() for line in log.strip().splitlines()[-5:])
            raise StEdgeAIError(f"stedgeai {action} failed (exit {proc.returncode}): {tail}")
        report = output / f"{name}_{action}_report.txt"
        if not report.is_file():
            raise StEdgeAIError(f"stedgeai {action} wrote no report {report}")
        result: dict[str, Any] = {"action": action, "argv": argv, "report": str(report)}
        result.update(parse_report(report.read_text(encoding="utf-8", errors="replace")))
        c_info = output / f"{name}_c_info.json"
        if c_info.is_file():
            info = parse_c_info(c_info)
            result["c_info"] = info
            for key in ("weights_bytes", "activations_bytes", "macc"):
                if key not in result and key in info:
                    result[key] = info[key]
        return result

    # -- actions -----------------------------------------------------------------------------
    def analyze(self, model: str | os.PathLike, output: str | os.PathLike = "st_ai_output", *,
                workspace: str | os.PathLike | None = None, name: str = "network", compression: str | None = None,
                optimization: str | None = None) -> dict[str, Any]:
        """``stedgeai analyze``: weights (flash) bytes, activations (RAM) bytes, MACC."""
        read_tflite(model)
        argv = self.command("analyze", model, output=output, workspace=workspace, name=name,
                            compression=compression, optimization=optimization)
        return self._run(argv, Path(output), name, "analyze")

    def validate(self, model: str | os.PathLike, output: str | os.PathLike = "st_ai_output", *,
                 workspace: str | os.PathLike | None = None, name: str = "network", mode: str = "host",
                 x: np.ndarray | None = None, y: np.ndarray | None = None, n: int | None = None,
                 valinput: str | os.PathLike | None = None, valoutput: str | os.PathLike | None = None,
                 data_format: str = "npy", io_dtype: str = "int8", compression: str | None = None,
                 extra: Sequence[str] = ()) -> dict[str, Any]:
        """``stedgeai validate --mode host``: acc, rmse, mae, l2r, cos of the generated C model.

        Validation data: ``valinput``/``valoutput`` files, or ``x`` (mg windows, with labels ``y``):
        their int8 inputs and our reference runtime's int8 outputs (as in the test vectors) are
        written as ``--valinput``/``--valoutput`` (.npy or .csv) so the tool compares its C model
        with our runtime. ``io_dtype="int8"`` writes the int8 codes (the model's own I/O type);
        ``"float32"`` writes them dequantized ((q - zero_point) * scale, which quantizes back exactly),
        for tool versions that want float data. Without either, the tool uses random inputs.
        """
        if mode not in MODES:
            raise InputError(f"unknown validate mode {mode!r}; valid: {', '.join(MODES)}")
        data, _ = read_tflite(model)
        out = Path(output)
        if valinput is None and x is not None:
            from classifier import Int8Classifier

            from firmware_export.test_vectors import make_test_vectors

            x = np.asarray(x, dtype=np.float32)
            labels = np.zeros(len(x), np.int64) if y is None else np.asarray(y)
            int8 = Int8Classifier(data)
            tv = make_test_vectors(int8, x, labels, n=len(x) if n is None else int(n))
            vin, vout = tv.inputs, tv.outputs
            if io_dtype == "float32":
                vin = ((vin.astype(np.float64) - int8.input_zero_point) * int8.input_scale).astype(np.float32)
                vout = ((vout.astype(np.float64) - int8.output_zero_point) * int8.output_scale).astype(np.float32)
            elif io_dtype != "int8":
                raise InputError(f"unknown validation data type {io_dtype!r}; valid: int8, float32")
            valinput, valoutput = write_validation_data(vin, vout, out / "hargan_valdata", data_format)
        extra_args = ["--mode", mode]
        if valinput is not None:
            extra_args += ["--valinput", str(valinput)]
        if valoutput is not None:
            extra_args += ["--valoutput", str(valoutput)]
        argv = self.command("validate", model, output=out, workspace=workspace, name=name,
                            compression=compression, extra=extra_args + list(extra))
        return self._run(argv, out, name, "validate")

    def generate(self, model: str | os.PathLike, output: str | os.PathLike = "st_ai_output", *,
                 workspace: str | os.PathLike | None = None, name: str = "network", compression: str | None = None,
                 allocate_inputs: bool = True, allocate_outputs: bool = True, optimization: str | None = None,
                 extra: Sequence[str] = ()) -> dict[str, Any]:
        """``stedgeai generate --target stm32``: the C model (network.c/.h, network_data.c/.h, ...) in
        ``output``, with the figures of its report and ``files`` (what it wrote there)."""
        read_tflite(model)
        flags = ((["--allocate-inputs"] if allocate_inputs else [])
                 + (["--allocate-outputs"] if allocate_outputs else []))
        argv = self.command("generate", model, output=output, workspace=workspace, name=name,
                            compression=compression, optimization=optimization, extra=flags + list(extra))
        result = self._run(argv, Path(output), name, "generate")
        result["files"] = sorted(str(p.relative_to(output)) for p in Path(output).rglob("*")
                                 if p.is_file() and not p.name.startswith("hargan_")
                                 and "st_ai_ws" not in p.relative_to(output).parts)
        return result


def analyze_or_estimate(model: str | os.PathLike, output: str | os.PathLike = "st_ai_output", *,
                        executable: str | os.PathLike | None = None, target: str = "stm32",
                        name: str = "network") -> dict[str, Any]:
    """``stedgeai analyze`` figures when the tool is installed, else the offline estimate.

    Both give ``weights_bytes`` and ``macc``/``macs``; ``source`` says which one you got, and
    ``stedgeai_missing`` holds the install guidance when the estimate was used.
    """
    try:
        tool = StEdgeAI(executable, target=target)
    except StEdgeAINotFound as exc:
        est = estimate_footprint(model)
        est["macc"] = est["macs"]
        est["stedgeai_missing"] = str(exc)
        return est
    res = tool.analyze(model, output, name=name)
    res["source"] = f"stedgeai analyze ({tool.executable})"
    return res
