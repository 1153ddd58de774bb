"""The suite's order: files with a test marked ``slow`` first (each file's own order kept).

Under pytest-xdist (``-n auto --dist loadfile`` in pyproject.toml) a worker takes a whole file at a
time, in this order; a long file that started last would leave the other cores idle at the end."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # a stable sort: False (slow) first
