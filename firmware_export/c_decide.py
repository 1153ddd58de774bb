"""The decision stage in C: ``<name>_decide.h/.c``, the twin of :mod:`classifier.decisions`.

A small unit of its own (a state struct, ``<name>_decide_reset``, ``<name>_decide``) that
``<name>_push`` and ``<name>_run_pending`` run on every raw decision; the raw class stays available
(``<name>_last_raw``, ``<name>_ctx_last_raw``). Rendered from ``templates/decide.h.in`` /
``decide.c.in`` by :func:`firmware_export.render.render`, as every generated file.
"""

from __future__ import annotations

from firmware_export._cgen import check_c_name
from firmware_export.render import render
from har_data import InputError

MAX_VOTE = 255
"""As classifier.decisions.MAX_VOTE: the C state keeps one byte per count."""


def decide_sources(name: str, vote: int, span_s: float) -> dict[str, str]:
    """``<name>_decide.h/.c`` for a vote over ``vote`` decisions (``span_s`` seconds of them, for the comment)."""
    name = check_c_name(name)
    if not isinstance(vote, int) or isinstance(vote, bool) or not 1 <= vote <= MAX_VOTE:
        raise InputError(f"vote must be a whole number of decisions from 1 to {MAX_VOTE}, got {vote!r}")
    values = {"name": name, "P": name.upper(), "vote": vote, "vote_seconds": f"{span_s:.2f}"}
    return {f"{name}_decide.h": render("decide.h.in", f"{name}_decide.h", **values),
            f"{name}_decide.c": render("decide.c.in", name=name, P=values["P"])}
