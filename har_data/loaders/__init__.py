"""Loaders: real accelerometer logs -> ``Recordings`` (a list of ``Recording``) in mg. No downloads."""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Callable

from har_data.errors import InputError
from har_data.loaders._common import Recordings
from har_data.loaders.basic_motions import load_basic_motions
from har_data.loaders.mems_studio import load_mems_studio, read_mems_studio_csv, write_mems_studio_csv
from har_data.loaders.pamap2 import load_pamap2
from har_data.loaders.st_datalog import load_st_datalog, write_st_datalog
from har_data.loaders.st_mobility import NumpyOnlyUnpickler, load_st_mobility, safe_load_pickle
from har_data.loaders.wisdm import load_wisdm

SOURCES: dict[str, Callable[..., Recordings]] = {
    "pamap2": load_pamap2,
    "mems-studio": load_mems_studio,
    "wisdm": load_wisdm,
    "st-mobility": load_st_mobility,
    "st-datalog": load_st_datalog,
    "basic-motions": load_basic_motions,
}


def load_source(source: str, path: str | os.PathLike | None = None, **options) -> Recordings:
    """Load recordings by source name (pamap2, mems-studio, wisdm, st-mobility, st-datalog,
    basic-motions).

    ``path`` is required for every source except basic-motions (bundled); ``options`` go to the loader.
    """
    name = str(source).strip().lower().replace("_", "-")
    if name not in SOURCES:
        raise InputError(f"unknown data source {source!r}; valid sources: {', '.join(SOURCES)}")
    loader = SOURCES[name]
    if name == "basic-motions":
        if path is not None:
            raise InputError("basic-motions is bundled with sktime and takes no path")
        args: tuple = ()
    else:
        if path is None:
            raise InputError(f"source {name} needs a path (file or folder)")
        args = (path,)
    try:
        inspect.signature(loader).bind(*args, **options)
    except TypeError as exc:
        valid = [p for p in inspect.signature(loader).parameters if p != "path"]
        raise InputError(f"bad option for source {name} ({exc}); valid options: {', '.join(valid) or 'none'}") from None
    for key, value in options.items():
        _check_option(name, inspect.signature(loader).parameters[key], value)
    return loader(*args, **options)


_OPTIONAL = {"float | None": float, "int | None": int, "str | None": str}


def _check_option(source: str, param: inspect.Parameter, value) -> None:
    """An option of the type its default has (a number for ``max_gap_s = 0.2``): a wrong type in a config
    is bad input named as such, not a TypeError deep in the loader."""
    default = param.default
    kind = _OPTIONAL.get(str(param.annotation)) if default in (None, inspect.Parameter.empty) else type(default)
    if kind is None or value is None:
        return
    if kind in (int, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    else:
        ok = isinstance(value, kind)
    if not ok:
        what = "a number" if kind in (int, float) else "true or false" if kind is bool else f"a {kind.__name__}"
        raise InputError(f"option {param.name} of source {source} must be {what}, got {value!r}")


__all__ = ["NumpyOnlyUnpickler", "Recordings", "SOURCES", "load_basic_motions", "load_mems_studio", "load_pamap2",
           "load_source", "load_st_datalog", "load_st_mobility", "load_wisdm", "read_mems_studio_csv",
           "safe_load_pickle", "write_mems_studio_csv", "write_st_datalog"]
