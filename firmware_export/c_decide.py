"""The decision stage in C: ``<name>_decide.h/.c``, the twin of :mod:`classifier.decisions`.

A small unit of its own (a state struct, ``<name>_decide_reset``, ``<name>_decide``) that
``<name>_push`` runs on every raw decision; the raw class stays available
(``<name>_last_raw``). Rendered from ``templates/decide.h.in`` / ``decide.c.in`` with
``string.Template.substitute``: a placeholder without a value is an error, never left in the C.
"""

from __future__ import annotations

from importlib import resources
from string import Template

from firmware_export._cgen import BANNER, check_c_name
from har_data import InputError

MAX_VOTE = 255
"""As classifier.decisions.MAX_VOTE: the C state keeps one byte per count."""


def render(template: str, values: dict[str, object]) -> str:
    """``templates/<template>`` with its ``$name`` placeholders filled in (every one must have a value)."""
    text = resources.files("firmware_export").joinpath(f"templates/{template}").read_text()
    return Template(text).substitute({k: str(v) for k, v in values.items()})


def decide_sources(name: str, vote: int, span_s: float) -> dict[str, str]:
    """``<name>_decide.h/.c`` for a vote over ``vote`` decisions (``span_s`` seconds of them, for the comment)."""
    name = check_c_name(name)
    if not isinstance(vote, int) or isinstance(vote, bool) or not 1 <= vote <= MAX_VOTE:
        raise InputError(f"vote must be a whole number of decisions from 1 to {MAX_VOTE}, got {vote!r}")
    values = {"name": name, "P": name.upper(), "vote": vote, "vote_seconds": f"{span_s:.2f}"}
    return {f"{name}_decide.h": BANNER + render("decide.h.in", values),
            f"{name}_decide.c": BANNER + render("decide.c.in", values)}
