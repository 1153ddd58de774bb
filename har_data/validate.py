"""Checks every array passes where it enters hargan: real numbers, finite, plausible, unique names.

Each check raises :class:`InputError` with one line that names the file (when known) and what is
wrong, so a NaN or a complex number is stopped at the door instead of crashing a converter or
training a model on NaN losses three steps later.
"""

from __future__ import annotations

import os
import zipfile
from collections import Counter
from pathlib import Path
from collections.abc import Sequence

import numpy as np

from har_data.errors import InputError

# No accelerometer hargan targets measures more than 16 g; a median magnitude far above it is a unit mistake.
MAX_PLAUSIBLE_MEDIAN_G = 32.0

Where = str | os.PathLike | None


def check_array(values, name: str, path: Where = None, dtype=None) -> np.ndarray:
    """``values`` as an array of real, finite numbers (or strings), cast to ``dtype`` when given;
    refuse complex, object and NaN/inf (also values that overflow ``dtype``)."""
    a = np.asarray(values)
    kind = a.dtype.kind
    if kind == "c":
        raise InputError(f"{name} holds complex numbers ({a.dtype}); expected real values", path)
    if kind in "OV":
        raise InputError(f"{name} holds {a.dtype} data; expected plain numbers", path)
    if dtype is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            a = np.ascontiguousarray(a, dtype=dtype)
    if a.dtype.kind == "f" and a.size and not np.isfinite(a).all():
        bad = ~np.isfinite(a)
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        kinds = " and ".join(k for k, m in (("NaN", np.isnan(a)), ("infinite", np.isinf(a))) if m.any())
        raise InputError(f"{name} holds {int(bad.sum())} {kinds} value(s) (first at index {first}); "
                         "expected finite numbers", path)
    return a


def check_class_names(names: Sequence[str], path: Where = None) -> list[str]:
    """Class names as strings: none empty, none repeated (ids are positions, so a repeat is ambiguous)."""
    out = [str(c) for c in names]
    repeated = sorted(c for c, n in Counter(out).items() if n > 1)
    if repeated:
        raise InputError(f"class name(s) given more than once: {', '.join(repeated)}", path)
    if any(not c.strip() for c in out):
        raise InputError("empty class name", path)
    return out


def check_arrays(arrays: dict[str, np.ndarray], path: Where = None) -> dict[str, np.ndarray]:
    """Every array of a file: :func:`check_array`, and unique ``class_names`` where present."""
    for key, value in arrays.items():
        check_array(value, f"array {key!r}", path)
    if "class_names" in arrays:
        check_class_names(np.atleast_1d(arrays["class_names"]).tolist(), path)
    return arrays


def check_magnitude(samples_mg: np.ndarray, unit: str | None, path: Where = None) -> None:
    """Refuse samples whose median magnitude no accelerometer reaches: the unit is wrong (mg read as g)."""
    if len(samples_mg) == 0:
        return
    median_g = float(np.median(np.linalg.norm(np.asarray(samples_mg, np.float64), axis=1))) / 1000.0
    if median_g > MAX_PLAUSIBLE_MEDIAN_G:
        raise InputError(f"median acceleration is {median_g:,.0f} g, more than any accelerometer measures: "
                         f"the values are not in [{unit or '?'}] (mg values under a [g] header?); "
                         "fix the unit in the header", path)


def check_range(name: str, value, low=None, high=None, *, integer: bool = False, where: Where = None):
    """``value`` as a number in ``[low, high]`` (either bound optional); refuse NaN, inf and non-numbers."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}", where) from None
    if isinstance(value, bool) or not np.isfinite(number):
        raise InputError(f"{name} must be a finite number, got {value!r}", where)
    if integer and number != int(number):
        raise InputError(f"{name} must be a whole number, got {value!r}", where)
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = (f">= {low}" if high is None else f"<= {high}" if low is None else f"between {low} and {high}")
        raise InputError(f"{name} must be {bounds}, got {value!r}", where)
    return int(number) if integer else number



def check_keras_archive(path: Path, what: str = "Keras model") -> None:
    """Refuse a truncated or damaged ``.keras`` file (a zip holding ``config.json``) by name, instead of
    the "File not found" Keras reports for it."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"damaged {what} file: not a complete .keras archive ({exc}); "
                         "make it again or restore it", path) from None
    if "config.json" not in names:
        raise InputError(f"not a {what} file: the .keras archive has no config.json", path)
