"""metrics.json and report.md for a run (both written atomically).

metrics.json is nested: ``{"classifier": {"float_accuracy": ...}, "gan": {...}, "timing": {...},
"int8_runtimes_agree": ..., "figures": {name: "file.png"}}``. The dotted names of docs/architecture.md
("The run directory": ``classifier.float_accuracy``, ``gan.tstr_ratio``, ...) are the paths into it;
:func:`flatten_metrics` gives them. Every name in :data:`REQUIRED_KEYS` is present (``null``
when a step did not run). NaN and infinity are written as ``null`` (strict JSON).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from collections.abc import Mapping

from har_data.atomic import atomic_path, write_text
from har_data.jsonio import to_jsonable, write_json

REQUIRED_KEYS = (
    "classifier.float_accuracy", "classifier.int8_accuracy", "classifier.macro_f1",
    "classifier.tflite_bytes", "classifier.arena_bytes",
    "int8_runtimes_agree",
    "gan.trtr_accuracy", "gan.tstr_accuracy", "gan.tstr_ratio", "gan.discriminative_score",
    "gan.mmd", "gan.acceptance_rate", "gan.acceptance_by_class",
    "timing.gan_train_seconds", "timing.total_seconds",
)

# shown in the summary table after REQUIRED_KEYS when present
EXTRA_SUMMARY = ("gan.discriminative_reference", "gan.psd_distance", "gan.memorised_fraction")

# dotted name -> what it means (shown in report.md)
DEFINITIONS = {
    "classifier.float_accuracy": "float ST classifier, accuracy on the real test split",
    "classifier.int8_accuracy": "int8 model (LiteRT), accuracy on the real test split",
    "classifier.macro_f1": "int8 model, macro-F1 on the real test split",
    "classifier.tflite_bytes": "int8 .tflite size (flash for the model)",
    "classifier.arena_bytes": "TFLite-Micro tensor arena (RAM)",
    "int8_runtimes_agree": "LiteRT and TFLite-Micro give identical int8 outputs",
    "gan.trtr_accuracy": "train on real, test on real (reference)",
    "gan.tstr_accuracy": "train on synthetic, test on real",
    "gan.tstr_ratio": "TSTR / TRTR (1 = synthetic data teaches as well as real)",
    "gan.discriminative_score": "|accuracy - 0.5| of a post-hoc real-vs-synthetic CNN (0 best, 0.5 worst)",
    "gan.discriminative_reference": "the same score for real test vs real training recordings (the real-data floor)",
    "gan.mmd": "MMD^2, RBF kernel, median bandwidth, class-matched (about 0 best)",
    "gan.psd_distance": "mean |log10 PSD difference| over classes and axes, decades (0 best)",
    "gan.memorised_fraction": "synthetic windows closer (DTW) to a training window than 5% of the class's "
                              "real-to-real median; compare nn_dtw.ref_memorised_fraction (real data's own floor)",
    "gan.acceptance_rate": "fraction of synthetic windows the int8 model accepts as their label",
    "timing.gan_train_seconds": "GAN training time",
    "timing.total_seconds": "whole run",
}


def _merge(dst: dict, src: Mapping) -> None:
    for k, v in src.items():
        if isinstance(v, Mapping) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = dict(v) if isinstance(v, Mapping) else v


def nest_metrics(metrics: Mapping[str, Any]) -> dict:
    """Turn dotted top-level keys (``"gan.mmd"``) into nested dicts; nested input passes through.

    Only top-level keys are split (class names deeper down may hold dots).
    """
    out: dict = {}
    for key, value in metrics.items():
        parts = str(key).split(".")
        node = out
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                if p in node:
                    raise ValueError(f"metric {key!r} clashes with the value at {p!r}")
                node[p] = {}
            node = node[p]
        _merge(node, {parts[-1]: value})
    return out


def flatten_metrics(metrics: Mapping[str, Any], sep: str = ".", max_depth: int | None = 2) -> dict[str, Any]:
    """Dotted names for nested metrics, e.g. ``{"gan": {"mmd": 0.1}}`` -> ``{"gan.mmd": 0.1}``.

    ``max_depth`` (default 2, the depth of docs/architecture.md's names) keeps deeper dicts as values, so
    ``gan.acceptance_by_class`` stays one entry; ``None`` flattens all the way.
    """
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str, depth: int) -> None:
        if isinstance(node, Mapping) and node and (max_depth is None or depth < max_depth):
            for k, v in node.items():
                walk(v, f"{prefix}{sep}{k}" if prefix else str(k), depth + 1)
        else:
            out[prefix] = node

    for k, v in metrics.items():
        walk(v, str(k), 1)
    return out


def with_required_keys(metrics: Mapping[str, Any]) -> dict:
    """A nested copy of ``metrics`` with every :data:`REQUIRED_KEYS` name present (``None`` if missing)."""
    out = nest_metrics(to_jsonable(metrics))
    for key in REQUIRED_KEYS:
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                node[p] = {}
            node = node[p]
        node.setdefault(parts[-1], None)
    return out


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}".replace(",", " ") if abs(v) >= 10000 else str(v)
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
    if isinstance(v, Mapping):
        return ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items())
    return str(v)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join((c if isinstance(c, str) else _fmt(c)).replace("|", "\\|") for c in row) + " |"
              for row in rows]
    return lines + [""]


def render_report(metrics: Mapping[str, Any], figures: Mapping[str, str] | None = None,
                  title: str = "hargan report") -> str:
    """report.md text: summary table of the required figures (:data:`REQUIRED_KEYS`), per-class and
    augmentation tables, plots."""
    m = with_required_keys(metrics)
    flat = flatten_metrics(m)
    gan = m.get("gan") or {}
    lines = [f"# {title}", "", "## Summary", ""]
    lines += _table(["figure", "value", "meaning"],
                    [[f"`{k}`", flat.get(k), DEFINITIONS.get(k, "")]
                     for k in REQUIRED_KEYS if k != "gan.acceptance_by_class"]
                    + [[f"`{k}`", flat.get(k), DEFINITIONS[k]] for k in EXTRA_SUMMARY if k in flat])
    lines += _per_class_section(gan)
    lines += _augmentation_section(gan.get("augmentation_gain") or {})
    nn = gan.get("nn_dtw") or {}
    if nn:
        lines += ["## Memorisation (DTW nearest neighbour to the real training windows)", ""]
        lines += _table(["figure", "value"], [[k, v] for k, v in nn.items()])
    lines += _other_figures_section(flat)
    if figures:
        lines += ["## Plots", ""]
        for name, rel in figures.items():
            lines += [f"### {name.replace('_', ' ')}", "", f"![{name}]({rel})", ""]
    return "\n".join(lines).rstrip() + "\n"


_PER_CLASS = ("acceptance_by_class", "realism_pass_by_class", "mmd_by_class", "psd_distance_by_class",
              "n_synthetic_by_class")


def _per_class_section(gan: Mapping[str, Any]) -> list[str]:
    """One row per class: synthetic windows, int8 acceptance, realism pass, MMD, PSD distance per axis."""
    classes: list[str] = []
    for key in ("acceptance_by_class", "mmd_by_class", "psd_distance_by_class", "n_synthetic_by_class"):
        for c in (gan.get(key) or {}):
            if c not in classes:
                classes.append(c)
    if not classes:
        return []
    acc, real, mmd, psd, cnt = (gan.get(k) or {} for k in _PER_CLASS)
    rows = []
    for c in classes:
        p = psd.get(c)
        psd_txt = ("n/a" if not p else " / ".join(_fmt(p[a]) for a in p if a != "mean")
                   + f" (mean {_fmt(p.get('mean'))})")
        rows.append([c, cnt.get(c), acc.get(c), real.get(c), mmd.get(c), psd_txt])
    return ["## Per class", ""] + _table(["class", "synthetic windows", "int8 acceptance", "realism gate pass",
                                          "MMD^2", "PSD distance x / y / z (decades)"], rows)


def _augmentation_section(aug: Mapping[str, Any]) -> list[str]:
    """The augmentation rows (x % of the real training windows, with and without synthetic ones)."""
    if not aug:
        return []
    lines = ["## Augmentation gain (real test split)", "",
             "Accuracy with x % of the real training windows (whole recordings) alone, and with "
             "synthetic windows added, from a generator trained on those windows only.", ""]
    lines += _table(["real training windows", "n real", "real only", "real + synthetic", "gain"],
                    [[f"{k} %", v.get("n_real"), v.get("real_only"), v.get("real_plus_synthetic"), v.get("gain")]
                     for k, v in aug.items()])
    skipped = sorted({v["skipped"] for v in aug.values() if v.get("skipped")})
    return lines + [f"Rows without figures: {note}." for note in skipped] + ([""] if skipped else [])


def _other_figures_section(flat: Mapping[str, Any]) -> list[str]:
    """Every scalar figure not shown in an earlier section."""
    shown = set(REQUIRED_KEYS) | set(EXTRA_SUMMARY)
    skip = {*_PER_CLASS, "augmentation_gain", "nn_dtw", "figures"}
    others = [[f"`{k}`", v] for k, v in flat.items()
              if k not in shown and k.split(".")[-1] not in skip and k.split(".")[0] != "figures"
              and not (isinstance(v, list) and v and isinstance(v[0], list))]
    if not others:
        return []
    return ["## All other figures", ""] + _table(["figure", "value"], others)


def _place_figures(figures: Mapping[str, Any], out_dir: Path) -> dict[str, str]:
    """Relative (POSIX) links for the figures; PNGs outside ``out_dir`` are copied beside report.md."""
    placed: dict[str, str] = {}
    root = out_dir.resolve()
    for name, p in figures.items():
        src = Path(p)
        if not src.is_absolute() and not src.exists():
            src = out_dir / src
        if not src.is_file():
            raise FileNotFoundError(f"figure {name!r}: no such file {p}")
        try:
            rel = src.resolve().relative_to(root)
        except ValueError:
            dest = out_dir / src.name
            if dest.exists() and dest.resolve() != src.resolve():
                dest = out_dir / f"{name}_{src.name}"
            with atomic_path(dest) as tmp:
                shutil.copyfile(src, tmp)
            rel = dest.relative_to(out_dir)
        placed[str(name)] = rel.as_posix()
    return placed


def write_report(metrics: Mapping[str, Any], out_dir: str | os.PathLike,
                 figures: Mapping[str, Any] | None = None, *, title: str = "hargan report") -> tuple[Path, Path]:
    """Write ``out_dir/metrics.json`` and ``out_dir/report.md`` (atomically); returns their paths.

    ``metrics`` may be nested or use dotted names. ``figures`` maps names to PNG paths; by
    default the ``"figures"`` entry of ``metrics["gan"]`` (as :func:`evaluation.scores.evaluate_synthetic`
    returns it) is used. PNGs outside ``out_dir`` are copied beside report.md; links are relative.
    metrics.json gets the figures as ``{"figures": {name: relative path}}`` instead of inside ``gan``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = with_required_keys(metrics)
    gan = data.get("gan")
    embedded = gan.pop("figures", None) if isinstance(gan, dict) else None
    if figures is None:
        figures = embedded or data.get("figures") or {}
    placed = _place_figures(figures, out_dir)
    if placed:
        data["figures"] = placed
    json_path = write_json(out_dir / "metrics.json", data)
    md_path = write_text(out_dir / "report.md", render_report(data, placed, title=title))
    return json_path, md_path


__all__ = ["DEFINITIONS", "REQUIRED_KEYS", "flatten_metrics", "nest_metrics", "render_report", "to_jsonable",
           "with_required_keys", "write_report"]
