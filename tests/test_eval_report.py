"""evaluation.plots and evaluation.report: PNGs written atomically and deterministically; metrics.json and
report.md readable."""

from __future__ import annotations

import csv
import json
import math
import re

import numpy as np
import pytest
from eval_data import CLASSES, FS, sines

from evaluation import plots as P
from evaluation.report import REQUIRED_KEYS, flatten_metrics, nest_metrics, write_report

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data():
    return sines(20, seed=1), sines(20, seed=2)


def _metrics() -> dict:
    return {
        "classifier": {"float_accuracy": 0.91, "int8_accuracy": np.float32(0.9), "macro_f1": 0.88,
                       "tflite_bytes": np.int64(12345), "arena_bytes": 4096},
        "int8_runtimes_agree": np.bool_(True),
        "gan": {"trtr_accuracy": 0.9, "tstr_accuracy": 0.81, "tstr_ratio": 0.9, "discriminative_score": 0.12,
                "mmd": float("nan"), "acceptance_rate": 0.75,
                "acceptance_by_class": {"still": 0.9, "walk": 0.6, "run": None},
                "mmd_by_class": {"still": 0.01, "walk": 0.02, "run": 0.03},
                "augmentation_gain": {"5": {"n_real": 10, "real_only": 0.5, "real_plus_synthetic": 0.7, "gain": 0.2}},
                "nn_dtw": {"memorised_fraction": 0.0, "ref_median": 4.2},
                "trtr_confusion": [[1, 0], [0, 1]]},
        "timing": {"gan_train_seconds": 12.5},  # total_seconds missing on purpose
    }


def test_plots_write_png_deterministically(tmp_path, data):
    (xr, yr), (xs, ys) = data
    hist = {"step": list(range(0, 300, 3)), "critic_loss": np.linspace(-5, -1, 100).tolist(),
            "generator_loss": np.linspace(2, 0, 100).tolist(), "wasserstein": np.linspace(5, 1, 100).tolist(),
            "classifier_accuracy": np.linspace(0.3, 0.9, 100).tolist()}
    runs = []
    for k in range(2):
        d = tmp_path / f"run{k}"
        figs = P.evaluation_figures(_WS(xr, yr), xs, ys, d, fs=FS, seed=3,
                                    trtr_confusion=[[5, 1, 0], [0, 6, 0], [0, 0, 6]],
                                    tstr_confusion=[[4, 2, 0], [0, 6, 0], [1, 0, 5]], history=hist, max_points=60,
                                    per_class=2, tsne_iter=250)
        assert set(figs) == {"windows", "pca", "tsne", "psd", "confusion_trtr", "confusion_tstr", "training_curves"}
        for p in figs.values():
            assert p.parent == d and p.read_bytes()[:8] == PNG
        runs.append({k2: p.read_bytes() for k2, p in figs.items()})
        assert not [p for p in d.iterdir() if ".tmp" in p.name]  # atomic writes leave no temporaries
    assert runs[0] == runs[1]  # same seed, same bytes


def test_embeddings_are_deterministic_and_shaped(data):
    (xr, _), (xs, _) = data
    for method in ("pca", "tsne"):
        a = P.embed(xr, xs, method=method, max_points=40, seed=0, tsne_iter=250)
        b = P.embed(xr, xs, method=method, max_points=40, seed=0, tsne_iter=250)
        assert a[0].shape == (40, 2) and a[1].sum() == 20
        assert np.array_equal(a[0], b[0])
    with pytest.raises(ValueError):
        P.embed(xr, xs, method="umap")


def test_training_curves_from_csv_and_keras_history(tmp_path):
    path = tmp_path / "history.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "critic_loss", "generator_loss", "wasserstein", "classifier_accuracy", "note"])
        for i in range(10):
            w.writerow([i * 10, -i, i, 10 - i, "" if i == 3 else i / 10, "x"])
    h = P.load_history(path)
    assert h["step"][-1] == 90 and math.isnan(h["classifier_accuracy"][3]) and "note" not in h
    out = P.plot_training_curves(path, tmp_path / "curves.png")
    assert out.read_bytes()[:8] == PNG

    class History:  # keras.callbacks.History look-alike
        history = {"critic_loss": [1.0, 0.5], "d_extra": [3, 4]}

    assert set(P.load_history(History())) == {"critic_loss", "d_extra"}
    assert P.plot_training_curves({}, tmp_path / "empty.png").is_file()


def test_write_report_json_and_markdown(tmp_path, data):
    (xr, yr), (xs, ys) = data
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    psd = P.plot_psd(xr, yr, xs, ys, CLASSES, outside / "psd.png", fs=FS)
    out = tmp_path / "report"
    out.mkdir()
    grid = P.plot_windows_grid(xr, yr, xs, ys, CLASSES, out / "windows.png", per_class=1)
    json_path, md_path = write_report(_metrics(), out, {"psd": psd, "windows": grid})
    assert json_path == out / "metrics.json" and md_path == out / "report.md"

    data_ = json.loads(json_path.read_text())  # strict JSON: NaN became null
    assert data_["classifier"]["float_accuracy"] == 0.91 and data_["classifier"]["tflite_bytes"] == 12345
    assert data_["int8_runtimes_agree"] is True and data_["gan"]["mmd"] is None
    flat = flatten_metrics(data_)
    assert all(k in flat for k in REQUIRED_KEYS)
    assert flat["timing.total_seconds"] is None and flat["gan.acceptance_by_class"]["walk"] == 0.6
    assert data_["figures"] == {"psd": "psd.png", "windows": "windows.png"}
    assert (out / "psd.png").read_bytes() == psd.read_bytes()  # copied beside report.md

    md = md_path.read_text()
    for key in REQUIRED_KEYS:
        if key != "gan.acceptance_by_class":
            assert f"`{key}`" in md
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert sorted(links) == ["psd.png", "windows.png"] and all((out / link).is_file() for link in links)
    assert "| 5 % | 10 | 0.5 | 0.7 | 0.2 |" in md
    assert "\\|accuracy - 0.5\\|" in md  # pipes inside a cell are escaped, the table stays a table
    for line in md.splitlines():
        if line.startswith("| `gan.tstr_ratio`"):
            assert line.count(" | ") == 2
    assert not [p for p in out.iterdir() if ".tmp" in p.name]


def test_write_report_takes_embedded_figures_and_dotted_names(tmp_path, data):
    (xr, yr), (xs, ys) = data
    png = P.plot_psd(xr, yr, xs, ys, CLASSES, tmp_path / "psd.png", fs=FS)
    metrics = {"gan.tstr_accuracy": 0.5, "gan": {"trtr_accuracy": 1.0, "figures": {"psd": str(png)}},
               "classifier.params": 100}
    write_report(metrics, tmp_path)
    data_ = json.loads((tmp_path / "metrics.json").read_text())
    assert data_["gan"]["tstr_accuracy"] == 0.5 and data_["gan"]["trtr_accuracy"] == 1.0
    assert "figures" not in data_["gan"] and data_["figures"] == {"psd": "psd.png"}
    assert data_["classifier"]["params"] == 100
    with pytest.raises(FileNotFoundError):
        write_report({}, tmp_path / "r2", {"missing": tmp_path / "nope.png"})
    assert not (tmp_path / "r2" / "metrics.json").exists()  # nothing half-written


def test_flatten_and_nest_round_trip():
    nested = {"gan": {"mmd": 0.1, "acceptance_by_class": {"a": 1.0}}, "int8_runtimes_agree": False}
    flat = flatten_metrics(nested)
    assert flat == {"gan.mmd": 0.1, "gan.acceptance_by_class": {"a": 1.0}, "int8_runtimes_agree": False}
    assert flatten_metrics(nested, max_depth=None)["gan.acceptance_by_class.a"] == 1.0
    assert nest_metrics(flat) == nested


class _WS:
    """The three attributes of a WindowSet that the plots use."""

    def __init__(self, x, y):
        self.x, self.y, self.class_names = x, y, CLASSES
