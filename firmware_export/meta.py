"""``<name>_meta.h``: the export's identity and figures (model signature, hargan version, shapes, MACC,
sizes), the facts ST's report gives for a network, for logs and version checks on the board."""

from __future__ import annotations

import hashlib

from firmware_export.footprint import count_macs
from firmware_export.render import render


def hargan_version() -> str:
    """The installed hargan's version ("unknown" when it is not installed)."""
    try:
        from importlib.metadata import version

        return version("hargan")
    except Exception:  # not installed: run from a checkout
        return "unknown"


def model_facts(model_bytes: bytes, window_length: int, num_classes: int, weight_bytes: int,
                arena_bytes: int) -> dict[str, str | int]:
    """The figures of ``<name>_meta.h`` and the README's model table."""
    return {"sha256": hashlib.sha256(bytes(model_bytes)).hexdigest(), "version": hargan_version(),
            "input_shape": f"1x{int(window_length)}x3", "output_shape": f"1x{int(num_classes)}",
            "macc": int(count_macs(bytes(model_bytes))["macs"]), "tflite_bytes": len(model_bytes),
            "weight_bytes": int(weight_bytes), "arena_bytes": int(arena_bytes)}


def meta_source(name: str, facts: dict[str, str | int]) -> str:
    """``<name>_meta.h`` text for ``facts`` (:func:`model_facts`)."""
    return render("meta.h.in", f"{name}_meta.h", name=name, P=name.upper(), **facts)
