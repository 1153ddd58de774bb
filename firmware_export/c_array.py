"""The .tflite model as a C array (``<name>_model_data.h/.c``) for STM32CubeIDE.

The array is ``alignas(16)``: TFLite-Micro reads the flatbuffer in place and Cortex-M
cores fault on unaligned multi-byte loads, so the bytes must start on an aligned address.
Formatting is vectorised with numpy, so a 1 MB model formats in well under a second.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from firmware_export._cgen import EXTERN_C_CLOSE, EXTERN_C_OPEN, BANNER, check_c_name, guard_close, guard_open, \
    write_files
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
    sym, h_name = f"{name}_model_data", f"{name}_model_data.h"
    header = (
        guard_open(h_name)
        + "/* The int8 .tflite model, " + f"{len(data)} bytes, 16-byte aligned (TFLite-Micro reads it in place).\n"
        + "   Use: tflite::GetModel(" + sym + ") or stedgeai/X-CUBE-AI on the .tflite file itself. */\n\n"
        + EXTERN_C_OPEN
        + f"#define {name.upper()}_MODEL_DATA_LEN {len(data)}u\n\n"
        + f"extern const unsigned char {sym}[];\n"
        + f"extern const unsigned int {sym}_len;\n\n"
        + EXTERN_C_CLOSE
        + guard_close(h_name)
    )
    source = (
        BANNER
        + f'#include "{h_name}"\n\n'
        + "#ifndef __cplusplus\n#include <stdalign.h> /* C11: alignas; a keyword in C++11 */\n#endif\n\n"
        + f"alignas(16) const unsigned char {sym}[] = {{\n"
        + format_bytes(data) + "\n};\n\n"
        + f"const unsigned int {sym}_len = {len(data)}u;\n"
    )
    return {h_name: header, f"{name}_model_data.c": source}


def export_model_c_array(tflite_bytes_or_path: bytes | str | os.PathLike, out_dir: str | os.PathLike,
                         name: str = "har_model") -> list[Path]:
    """Write ``<name>_model_data.h`` and ``<name>_model_data.c`` (atomically) into ``out_dir``."""
    name = check_c_name(name)
    data, _ = read_tflite(tflite_bytes_or_path)
    return write_files(Path(out_dir), model_c_sources(data, name))
