"""Run the notebooks top to bottom and save them with their outputs, so their plots show on the
repository page.

    python -m hargan.notebooks --execute                 # every notebook in notebooks/, in place
    python -m hargan.notebooks --execute 01_quickstart   # one of them
    python -m hargan.notebooks --execute --small         # the test suite's short version

Each notebook runs in a fresh kernel (``nbclient``, a test dependency) with a fixed seed; the
files it writes go to a temporary folder (``HARGAN_NOTEBOOK_OUT``), whose path is replaced by
``<out>`` in the saved outputs. What is saved is what a reader needs and what stays the same
from one run to the next: no cell timings, no stderr and no TensorFlow log lines (start-up,
retracing warnings with memory addresses), consecutive prints in one output, PNG plots at most
``MAX_PNG_SIDE`` pixels wide or high, in 256 colours.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import sys
import tempfile
import time
from pathlib import Path
from collections.abc import Sequence

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
LOG_PREFIXES = ("INFO:tensorflow:", "WARNING:tensorflow:", "WARNING:absl:", "INFO:absl:")
MAX_PNG_SIDE = 900
TIMEOUT_S = 3600


def notebook_paths(names: Sequence[str] = (), directory: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The notebooks to run: all of ``directory`` or those whose stem starts with one of ``names``."""
    from har_data.errors import InputError

    paths = sorted(Path(directory).glob("*.ipynb"))
    if not paths:
        raise InputError("no notebooks found", directory)
    if not names:
        return paths
    chosen = [p for p in paths if any(p.stem.startswith(n.removesuffix(".ipynb")) for n in names)]
    if not chosen:
        raise InputError(f"no notebook matches {', '.join(names)}; notebooks: {', '.join(p.stem for p in paths)}")
    return chosen


def execute_notebook(path: Path, out_dir: Path, *, small: bool = False, timeout: int = TIMEOUT_S):
    """Run one notebook in a fresh kernel (its files go to ``out_dir``); returns the executed notebook."""
    try:
        import nbclient
        import nbformat
    except ImportError as exc:  # a test dependency, not a runtime one
        from har_data.errors import InputError

        raise InputError(f"running notebooks needs nbclient and nbformat ({exc.name} is missing): "
                         "pip install 'hargan[test]'") from None
    env = {"HARGAN_NOTEBOOK_OUT": str(out_dir), "HARGAN_NOTEBOOK_SMALL": "1" if small else "0",
           "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        nb = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                                         resources={"metadata": {"path": str(Path(path).parent)}})
        client.execute()  # raises CellExecutionError (with the cell and traceback) when a cell fails
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def clean_outputs(nb, out_dir: Path):
    """Keep what a reader needs, the same from run to run (see the module docstring)."""
    out = str(out_dir)
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        kept: list = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                if o.get("name") == "stderr":
                    continue
                text = "".join(ln for ln in o["text"].splitlines(keepends=True) if not ln.startswith(LOG_PREFIXES))
                if not text:
                    continue
                o["text"] = text.replace(out, "<out>")
                if kept and kept[-1].get("output_type") == "stream" and kept[-1].get("name") == o.get("name"):
                    kept[-1]["text"] += o["text"]
                    continue
            data = o.get("data", {})
            if "text/plain" in data:
                data["text/plain"] = data["text/plain"].replace(out, "<out>")
            if "image/png" in data:
                data["image/png"] = shrink_png(data["image/png"])
            kept.append(o)
        cell["outputs"] = kept
    return nb


def shrink_png(b64: str, max_side: int = MAX_PNG_SIDE) -> str:
    """A base64 PNG scaled down (aspect kept) to at most ``max_side`` pixels a side, in 256 colours."""
    from PIL import Image

    img = Image.open(io.BytesIO(base64.b64decode(b64)))
    if img.mode == "P" and max(img.size) <= max_side:
        return b64  # already done
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    small = img.convert("RGBA").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=True)
    return base64.b64encode(buf.getvalue()).decode("ascii") + "\n"


def run(names: Sequence[str] = (), *, small: bool = False, timeout: int = TIMEOUT_S,
        directory: Path = NOTEBOOKS_DIR, log=print) -> list[Path]:
    """Execute the chosen notebooks and write each back in place, with its cleaned outputs."""
    import nbformat

    from har_data.atomic import write_text

    written = []
    for path in notebook_paths(names, directory):
        t0 = time.perf_counter()
        log(f"{path.name}: running{' (small)' if small else ''} ...")
        with tempfile.TemporaryDirectory(prefix=f"hargan-{path.stem}-") as tmp:
            nb = clean_outputs(execute_notebook(path, Path(tmp), small=small, timeout=timeout), Path(tmp))
        write_text(path, nbformat.writes(nb) + "\n")
        written.append(path)
        log(f"{path.name}: saved with outputs ({path.stat().st_size / 1024:.0f} KiB, "
            f"{time.perf_counter() - t0:.0f} s)")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hargan.notebooks", description=__doc__.split("\n\n")[0])
    ap.add_argument("--execute", action="store_true", help="run the notebooks and save them with their outputs")
    ap.add_argument("names", nargs="*", help="notebook names (or prefixes, e.g. 01); default: all")
    ap.add_argument("--small", action="store_true", help="the short version the test suite runs")
    ap.add_argument("--timeout", type=int, default=TIMEOUT_S, help=f"seconds per cell (default: {TIMEOUT_S})")
    args = ap.parse_args(argv)
    if not args.execute:
        ap.print_help()
        return 2
    from har_data.errors import InputError

    try:
        run(args.names, small=args.small, timeout=args.timeout)
    except InputError as exc:
        print(f"hargan.notebooks: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
