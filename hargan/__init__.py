"""hargan: the command line and the whole-flow pipeline (config file -> run directory).

Python use, the same as ``hargan run`` / ``hargan demo``::

    from hargan import load_config, run_pipeline, demo_config
    metrics = run_pipeline(load_config("configuration.toml"), "dataset")
    metrics = run_pipeline(demo_config(quick=True), "demo-run")

Names are imported lazily so ``hargan --help`` stays fast (no TensorFlow import).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Config", "config_text", "demo_config", "load_config", "main", "run_demo", "run_pipeline"]

_WHERE = {
    "Config": "hargan.config", "config_text": "hargan.config", "load_config": "hargan.config",
    "demo_config": "hargan.demo", "run_demo": "hargan.demo", "run_pipeline": "hargan.flow", "main": "hargan.cli",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'hargan' has no attribute {name!r}")
