"""``<name>_meta.h``: the export's identity and figures (model signature, hargan version, shapes, MACC,
sizes; flash, RAM and stack as measured at export by :mod:`firmware_export.stack`), the facts ST's report
gives for a network, for logs and version checks on the board."""

from __future__ import annotations

import hashlib
from typing import Any

from firmware_export.emulator import ARM_FLAGS
from firmware_export.footprint import count_macs
from firmware_export.render import render
from firmware_export.stack import ENTRIES, BoardFigures


def hargan_version() -> str:
    """The installed hargan's version ("unknown" when it is not installed)."""
    try:
        from importlib.metadata import version

        return version("hargan")
    except Exception:  # not installed: run from a checkout
        return "unknown"


def model_facts(model_bytes: bytes, window_length: int, num_classes: int, weight_bytes: int,
                arena_bytes: int, board: BoardFigures | str | None = None) -> dict[str, Any]:
    """The figures of ``<name>_meta.h`` and the README's model table. ``board``: flash, RAM and stack as
    :func:`firmware_export.stack.measure_board` gives them, or why they were not measured."""
    return {"sha256": hashlib.sha256(bytes(model_bytes)).hexdigest(), "version": hargan_version(),
            "input_shape": f"1x{int(window_length)}x3", "output_shape": f"1x{int(num_classes)}",
            "macc": int(count_macs(bytes(model_bytes))["macs"]), "tflite_bytes": len(model_bytes),
            "weight_bytes": int(weight_bytes), "arena_bytes": int(arena_bytes),
            "board": board if board is not None else "not measured"}


def measured_how(board: BoardFigures) -> str:
    """The build the figures are for, in a few words (meta.h and README)."""
    return f"{board.compiler}, {' '.join(ARM_FLAGS)} -std=c11, the C library included"


def board_defines(name: str, board: BoardFigures | str) -> str:
    """``<name>_meta.h``'s flash, RAM and stack lines: the measured figures (worst of -O0 and -O2, and each),
    or one comment saying why there are none (never an estimate)."""
    p = name.upper()
    if isinstance(board, str):
        return (f"/* Flash, RAM and stack of the plain C back-end: {board}. No figure rather than a guess:\n"
                "   measure them on the target (the linker map; a painted stack), or export again with\n"
                "   arm-none-eabi-gcc on PATH. */")
    levels = list(board.flash)
    lines = [f"/* Plain C back-end on a Cortex-M4F, measured at export ({measured_how(board)}), at "
             f"{' and '.join(levels)};\n   the unsuffixed macro is the larger. FLASH: code, constants and data "
             "image linked for the API; RAM: static data (the arena, the stream state, the C library's). */"]
    for what, values in (("FLASH", board.flash), ("RAM", board.ram)):
        lines.append(f"#define {p}_{what}_BYTES {max(values.values())}u")
        lines += [f"#define {p}_{what}_BYTES_{o[1:]} {v}u" for o, v in values.items()]
    lines.append("/* Stack: the deepest each function goes, its callees and the C library's included (bytes). In an\n"
                 "   interrupt add the exception frame: 32 B, 104 B with the FPU context. */")
    for e in ENTRIES:
        lines.append(f"#define {p}_STACK_{e.upper()}_BYTES {board.worst(e)}u /* {name}_{e} */")
        lines += [f"#define {p}_STACK_{e.upper()}_BYTES_{o[1:]} {v}u" for o, v in board.bytes[e].items()]
    return "\n".join(lines)


def meta_source(name: str, facts: dict[str, Any]) -> str:
    """``<name>_meta.h`` text for ``facts`` (:func:`model_facts`)."""
    values = {k: v for k, v in facts.items() if k != "board"}
    return render("meta.h.in", f"{name}_meta.h", name=name, P=name.upper(),
                  board=board_defines(name, facts["board"]), **values)
