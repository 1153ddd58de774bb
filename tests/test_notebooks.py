"""Every notebook in notebooks/ runs top to bottom (at a small size: HARGAN_NOTEBOOK_SMALL=1)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # long: runs first (tests/conftest.py)

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _absent_data(path: Path) -> list[Path]:
    """The ../shared/data folders a notebook reads (``"shared" / "data" / "<folder>"``) that are absent here."""
    source = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
    folders = re.findall(r'"shared" / "data" / "([^"]+)"', source)
    return [SHARED_DATA / f for f in folders if not (SHARED_DATA / f).is_dir()]


def test_notebooks_exist():
    names = {p.name for p in NOTEBOOKS}
    for expected in ("01_quickstart.ipynb", "02_pamap2_to_stm32.ipynb", "03_firmware_export.ipynb",
                     "04_gan_basics.ipynb"):
        assert expected in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch):
    from hargan.notebooks import execute_notebook

    absent = _absent_data(path)
    if absent:
        pytest.skip(f"real data folder {absent[0]} is absent (it is not part of the repository)")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = execute_notebook(path, tmp_path, small=True)  # raises CellExecutionError when a cell fails
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    # Nothing was written next to the notebooks themselves.
    assert not any(p.is_dir() and p.name not in {".ipynb_checkpoints"} for p in path.parent.iterdir())


def test_saved_outputs_are_cleaned(tmp_path: Path):
    """What `python -m hargan.notebooks --execute` saves: no stderr or TF log lines, no temporary paths,
    prints in one output, small PNGs."""
    import base64
    import io

    from PIL import Image

    from hargan.notebooks import clean_outputs

    buf = io.BytesIO()
    Image.new("RGB", (2000, 1000), "white").save(buf, format="PNG")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stderr", text="oneDNN custom operations are on\n"),
        nbformat.v4.new_output("stream", name="stdout", text=f"wrote {tmp_path}/report.md\n"),
        nbformat.v4.new_output("stream", name="stdout", text="WARNING:tensorflow:5 out of the last 5 calls at 0x7f\n"
                                                             "Epoch 1/3\n"),
        nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(buf.getvalue()).decode()}),
    ])])
    outputs = clean_outputs(nb, tmp_path).cells[0]["outputs"]
    assert [o["output_type"] for o in outputs] == ["stream", "display_data"]
    assert outputs[0]["text"] == "wrote <out>/report.md\nEpoch 1/3\n"
    png = Image.open(io.BytesIO(base64.b64decode(outputs[1]["data"]["image/png"])))
    assert png.size == (900, 450) and png.mode == "P"
