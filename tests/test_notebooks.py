"""Every notebook in notebooks/ runs top to bottom (at a small size: HARGAN_NOTEBOOK_SMALL=1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_notebooks_exist():
    names = {p.name for p in NOTEBOOKS}
    for expected in ("01_quickstart.ipynb", "02_pamap2_to_stm32.ipynb", "03_firmware_export.ipynb",
                     "04_gan_basics.ipynb"):
        assert expected in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HARGAN_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("HARGAN_NOTEBOOK_OUT", str(tmp_path))  # notebooks write their files here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError (with the cell and traceback) when a cell fails
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    # Nothing was written next to the notebooks themselves.
    assert not any(p.is_dir() and p.name not in {".ipynb_checkpoints"} for p in path.parent.iterdir())
