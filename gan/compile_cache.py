"""A persistent compilation cache, so a second training process skips most of the XLA compile.

XLA compiles the GAN's train step on the first update (seconds on a small CPU). Both backends
can keep the compiled program on disk and reuse it in the next process with the same program,
versions and machine:

- TensorFlow: ``TF_XLA_FLAGS=--tf_xla_persistent_cache_directory=DIR``. TensorFlow reads the flag
  once, when it first needs XLA flags, so it must be in the environment before TensorFlow is
  imported: :func:`enable` is called by ``gan/__init__.py`` before it imports Keras.
- JAX: ``jax_compilation_cache_dir`` (read at each compile; :func:`enable` sets it when JAX is
  imported or ``KERAS_BACKEND=jax``).

The directory is ``$HARGAN_COMPILE_CACHE`` when set (``0``/``off``/``none`` turns the cache
off), else ``$XDG_CACHE_HOME/hargan/xla`` (``~/.cache/hargan/xla``). Entries are keyed by the
compiled program, so a changed model simply compiles (and caches) again; the directory can be
deleted at any time. Copying it to another kind of CPU is not supported (XLA:CPU code is
compiled for this machine's instruction set).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV = "HARGAN_COMPILE_CACHE"
_OFF = {"0", "off", "none", "false", "no", ""}
_TF_FLAG = "--tf_xla_persistent_cache_directory"


def cache_dir() -> Path | None:
    """Where compiled programs are kept, or ``None`` when the cache is turned off."""
    value = os.environ.get(ENV)
    if value is not None:
        return None if value.strip().lower() in _OFF else Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hargan" / "xla"


def enable() -> Path | None:
    """Turn the cache on for TensorFlow (if not yet imported) and JAX (if imported); returns the directory.

    Leaves a ``--tf_xla_persistent_cache_directory`` already in ``TF_XLA_FLAGS`` alone, and never
    fails: an unusable directory means compiling as usual.
    """
    directory = cache_dir()
    if directory is None:
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    flags = os.environ.get("TF_XLA_FLAGS", "")
    if _TF_FLAG not in flags:
        os.environ["TF_XLA_FLAGS"] = f"{flags} {_TF_FLAG}={directory}".strip()
    if "jax" in sys.modules or os.environ.get("KERAS_BACKEND") == "jax":
        enable_jax(directory)
    return directory


def enable_jax(directory: Path | None = None) -> None:
    """Point JAX's persistent compilation cache at ``directory`` (default :func:`cache_dir`)."""
    directory = directory or cache_dir()
    if directory is None:
        return
    import jax

    jax.config.update("jax_compilation_cache_dir", str(directory / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
