"""The .tflite model as a C array (``<name>_model_data.h/.c``) for STM32CubeIDE.

The array is ``alignas(16)``: TFLite-Micro reads the flatbuffer in place and Cortex-M
cores fault on unaligned multi-byte loads, so the bytes must start on an aligned address.
Formatting is vectorised with numpy, so a 1 MB model formats in well under a second.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from firmware_export._cgen import check_c_name, write_files
from firmware_export.render import render
from classifier.int8 import read_tflite

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
BYTES_PER_LINE = 16


def format_bytes(data: bytes, per_line: int = BYTES_PER_LINE, indent: str = "  ") -> str:
    """``0x1c, 0x00, ...`` with ``per_line`` bytes a line, built with numpy (no Python loop per byte)."""
    b = np.frombuffer(bytes(data), dtype=np.uint8)
    if b.size == 0:
        return ""
    cells = np.empty((b.size, 6), dtype=np.uint8)
    cells[:, 0] = ord("0")
    cells[:, 1] = ord("x")
    cells[:, 2] = _HEX[b >> 4]
    cells[:, 3] = _HEX[b & 15]
    cells[:, 4] = ord(",")
    cells[:, 5] = ord(" ")
    lead = np.frombuffer(indent.encode(), dtype=np.uint8)
    full = b.size // per_line
    parts = []
    if full:
        body = cells[: full * per_line].reshape(full, per_line * 6)
        rows = np.empty((full, lead.size + per_line * 6), dtype=np.uint8)
        rows[:, : lead.size] = lead
        rows[:, lead.size:] = body
        rows[:, -1] = ord("\n")  # the trailing space becomes the newline
        parts.append(rows.tobytes())
    rest = cells[full * per_line:]
    if rest.size:
        tail = rest.reshape(-1).copy()
        tail[-1] = ord("\n")
        parts.append(lead.tobytes() + tail.tobytes())
    return b"".join(parts).decode("ascii").rstrip("\n")


def model_c_sources(data: bytes, name: str = "har_model") -> dict[str, str]:
    """The header and source text for the model array (``{filename: text}``)."""
    name = check_c_name(name)
    h_name = f"{name}_model_data.h"
    values = {"name": name, "length": len(data)}
    return {h_name: render("model_data.h.in", h_name, P=name.upper(), **values),
            f"{name}_model_data.c": render("model_data.c.in", bytes=format_bytes(data), **values)}


def export_model_c_array(tflite_bytes_or_path: bytes | str | os.PathLike, out_dir: str | os.PathLike,
                         name: str = "har_model") -> list[Path]:
    """Write ``<name>_model_data.h`` and ``<name>_model_data.c`` (atomically) into ``out_dir``."""
    name = check_c_name(name)
    data, _ = read_tflite(tflite_bytes_or_path)
    return write_files(Path(out_dir), model_c_sources(data, name))
