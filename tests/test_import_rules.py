"""The package import rules of docs/architecture.md: no package imports one below it in the table.

Read from the source (AST), so imports inside functions count as much as those at the top.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> the packages of ours it may import (besides itself)
ALLOWED = {
    "har_data": set(),
    "classifier": {"har_data"},
    "gan": {"har_data", "classifier"},
    "evaluation": {"har_data", "classifier"},
    "firmware_export": {"har_data", "classifier"},
    "hargan": {"har_data", "classifier", "gan", "evaluation", "firmware_export"},
}


def imported_packages(tree: ast.AST) -> list[tuple[str, int]]:
    """``(top-level package, line)`` of every absolute import in ``tree``, at any depth."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node.lineno))
    return found


def violations(package: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name, line in imported_packages(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if name in ALLOWED and name != package and name not in ALLOWED[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line}: imports {name}")
    return bad


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_the_design_allows(package):
    assert (ROOT / package / "__init__.py").is_file()
    assert violations(package) == []


def test_the_checker_sees_imports_inside_functions():
    tree = ast.parse("import numpy\ndef f():\n    from gan.models import build_generator\n    import hargan.cli\n")
    assert imported_packages(tree) == [("numpy", 1), ("gan", 3), ("hargan", 4)]


def test_shared_infrastructure_does_not_import_the_loaders():
    code = ("import sys\nfrom har_data import InputError, atomic_path, to_jsonable\nimport har_data.npz\n"
            "print(sorted(m for m in ('pandas', 'scipy', 'har_data.loaders', 'har_data.windows') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert out.stdout.strip() == "[]"


KERAS_PRIVATE = ("_maybe_symbolic_build", "_flatten_layers", "_in_multi_worker_mode", "object.__setattr__", ".__dict__",
                 "keras.src", "OptimizerPair(")


def test_keras_private_api_only_in_keras_compat():
    """docs/architecture.md: every use of Keras's private API is in gan/keras_compat.py (checked in every
    module that imports Keras, at any depth)."""
    found = []
    for package in ALLOWED:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            uses_keras = "keras" in {name for name, _ in imported_packages(ast.parse(text))}
            if uses_keras and path != ROOT / "gan" / "keras_compat.py":
                found += [f"{path.relative_to(ROOT)}: {name}" for name in KERAS_PRIVATE if name in text]
    assert found == []
