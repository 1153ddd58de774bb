"""Step 7, evaluate: how good the synthetic windows are, and the run's report.

TSTR / TRTR (train on synthetic or real, test on real), the discriminative score, MMD, PSD
distance and the augmentation gain, averaged over ``evaluation.seeds``, with every earlier
step's figures (classifier, int8, acceptance, timing) in ``report/metrics.json`` and
``report/report.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from har_data.outputs import output_dir
from hargan.options import add_section_options, section_from_args
from hargan.steps.base import RunContext, Step
from hargan.steps.common import (Command, Log, held_out_split, load_int8, load_windows, need_file, optional_file,
                                 out_dir, quiet, seed_of, staged)

if TYPE_CHECKING:
    import numpy as np

    from classifier import Int8Classifier
    from har_data import WindowSet


def fmt(v: Any, spec: str = ".3f") -> str:
    """A number for a progress line ("n/a" when there is none)."""
    try:
        return format(float(v), spec)
    except (TypeError, ValueError):
        return "n/a"


def _average_runs(runs: list[dict]) -> dict:
    """Mean of numeric scalars over seeds (the first run's value for everything else)."""
    if len(runs) == 1:
        return runs[0]
    out = dict(runs[0])
    for k, v in runs[0].items():
        if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("seed",):
            vals = [float(r[k]) for r in runs if isinstance(r.get(k), (int, float))]
            out[k] = sum(vals) / len(vals)
            out[f"{k}_by_seed"] = vals
    out["seeds"] = [r.get("seed") for r in runs]
    return out


def score_and_report(real: WindowSet, x_syn: np.ndarray, y_syn: np.ndarray, out: Path, *,
                     preset: str, int8: Int8Classifier | None = None, quick: bool = False, seeds: int = 1,
                     seed: int = 0, min_confidence: float = 0.5, acceptance: dict | None = None,
                     history: Path | None = None, extra: dict | None = None, plots: dict | None = None,
                     seconds_before: float | None = None, augmentation: bool = True, synthesizer=None,
                     log: Log = quiet) -> dict:
    """Score synthetic vs real windows (averaged over ``seeds``), then write metrics.json, report.md and the
    PNG plots into ``out``. ``extra`` holds the other steps' figures (classifier, timing, ...), ``plots``
    their PNG paths; ``seconds_before`` (the earlier steps' time) makes ``timing.total_seconds`` include
    this evaluation. ``synthesizer`` (:func:`subset_synthesizer`) measures every augmentation row with a
    generator trained on that row's windows; without it only the 100 % row is measured. Returns
    metrics.json's content."""
    from evaluation.report import write_report
    from evaluation.scores import FULL, QUICK, evaluate_synthetic

    t0 = time.perf_counter()
    out = Path(out)
    settings = QUICK if quick else FULL
    if not augmentation:
        settings = dataclasses.replace(settings, augment_percents=())
    runs = [evaluate_synthetic(real, x_syn, y_syn, preset=preset, seed=seed + k, int8=int8, quick=quick,
                               out_dir=out if k == 0 else None, history=history if k == 0 else None,
                               min_confidence=min_confidence, acceptance=acceptance, settings=settings,
                               synthesizer=synthesizer)
            for k in range(max(1, int(seeds)))]
    gan_metrics = _average_runs(runs)
    pngs = {**dict(plots or {}), **{k: Path(v) for k, v in (gan_metrics.pop("figures", None) or {}).items()}}
    metrics = dict(extra or {})
    metrics["gan"] = {**metrics.get("gan", {}), **gan_metrics}
    timing = metrics.setdefault("timing", {})
    timing["evaluate_seconds"] = round(time.perf_counter() - t0, 2)
    if seconds_before is not None:
        timing["total_seconds"] = round(seconds_before + timing["evaluate_seconds"], 2)
    write_report(metrics, out, {k: v for k, v in pngs.items() if Path(v).is_file()})
    g = metrics["gan"]
    log(f"  TRTR {fmt(g.get('trtr_accuracy'))}, TSTR {fmt(g.get('tstr_accuracy'))} "
        f"(ratio {fmt(g.get('tstr_ratio'), '.2f')}), discriminative score "
        f"{fmt(g.get('discriminative_score'))}, MMD {fmt(g.get('mmd'), '.4f')}")
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


class Evaluate(Step):
    name = "evaluate"
    sections = ("evaluation", "classifier", "gan", "sampling")  # the last two: evaluation.augmentation_retrain

    def describe(self, ctx: RunContext) -> str:
        return "evaluate: TSTR / TRTR, discriminative score, MMD; report"

    def inputs(self, ctx: RunContext) -> list[Path]:
        return [ctx.paths.windows, ctx.paths.synthetic, ctx.paths.int8]

    def outputs(self, ctx: RunContext) -> list[Path]:
        return [ctx.paths.metrics, ctx.paths.report_dir / "report.md"]

    def upstream(self, ctx: RunContext) -> str:
        # The report quotes every earlier step's figures.
        return json.dumps(ctx.results, sort_keys=True, default=str)

    def run(self, ctx: RunContext) -> dict:
        ev, clf_dir, sample = ctx.cfg.evaluation, ctx.paths.classifier_dir, ctx.results["sample"]
        plots = {"classifier_training": clf_dir / "training.png", "confusion_float": clf_dir / "confusion_float.png",
                 "confusion_int8": clf_dir / "confusion_int8.png"}
        score_and_report(ctx.windows, ctx.synthetic.x_mg, ctx.synthetic.y, ctx.paths.report_dir,
                         preset=ctx.cfg.classifier.preset, int8=ctx.int8, quick=ev.quick, seeds=ev.seeds,
                         seed=ctx.seed, min_confidence=ctx.cfg.sampling.min_confidence,
                         acceptance={k: sample.get(k) for k in ("acceptance_rate", "acceptance_by_class")},
                         history=ctx.paths.gan_dir / "history.csv", extra=earlier_steps_metrics(ctx), plots=plots,
                         seconds_before=ctx.seconds(*ctx.run_dir.records), augmentation=ev.augmentation,
                         synthesizer=subset_synthesizer(ctx), log=ctx.log)
        return {}


def subset_synthesizer(ctx: RunContext):
    """For the augmentation rows (``evaluation.augmentation_retrain``): on one row's real windows only,
    what a one-domain run does on all of them: the ST classifier (the GAN's feedback and, as int8,
    its judge), the GAN and validated sampling with the realism gate, with the run's config. See
    :func:`evaluation.scores.augmentation_gain`. None (only the 100 % row) when the option is off,
    and in a transfer run, whose GAN is trained on both domains (hargan.steps.transfer)."""
    if not ctx.cfg.evaluation.augmentation_retrain:
        return None
    if ctx.is_transfer:
        ctx.log("  augmentation rows below 100 %: not measured in a transfer run (its domain GAN is not "
                "retrained per row)")
        return None
    from hargan.steps.gan import gan_hyperparameters
    from hargan.steps.sample import realism_gate

    cfg = ctx.cfg

    def synthesize(seen: WindowSet, seed: int):
        from classifier import Int8Classifier, quantize_int8, train_on_windows
        from gan.sampling import sample_validated
        from gan.training import train_gan

        c, g, s = cfg.classifier, cfg.gan, cfg.sampling
        clf = train_on_windows(seen, preset=c.preset, epochs=c.epochs, batch_size=c.batch_size, patience=c.patience,
                               learning_rate=c.learning_rate, seed=seed, verbose=0)
        int8 = Int8Classifier(quantize_int8(clf, seen.subset("train").x, num_samples=c.representative_samples,
                                            seed=seed), seen.class_names)
        model = train_gan(seen, clf, steps=g.steps, seed=seed, **gan_hyperparameters(g, True))
        syn = sample_validated(model.generator, int8, ctx.sensor, per_class=s.per_class,
                               min_confidence=s.min_confidence, max_tries=s.max_tries, seed=seed,
                               realism=realism_gate(seen, s), realism_enforce=s.realism_gate)
        ctx.log(f"  augmentation row of {len(seen.subset('train'))} real windows: {len(syn.y)} synthetic windows "
                "from a generator trained on them only")
        return syn.x_mg, syn.y

    return synthesize


def earlier_steps_metrics(ctx: RunContext) -> dict:
    """metrics.json's keys from the steps before evaluation: classifier, int8, data, acceptance, timing."""
    cfg, r = ctx.cfg, ctx.results
    clf = {**{k: v for k, v in r["classifier"].items() if k != "train_seconds"}, **r["quantize"]}
    clf["preset"] = cfg.classifier.preset
    timing = {f"{name}_seconds": round(rec.seconds, 2) for name, rec in ctx.run_dir.records.items()}
    timing["gan_train_seconds"] = round(ctx.seconds("gan", "domain_gan"), 2)
    training = {"domains": r["domain_gan"], "judge": r["judge"]} if ctx.is_transfer else {"train": r["gan"]}
    prepared = r["prepare"]
    return {
        "classifier": clf,
        "int8_runtimes_agree": bool(r["quantize"].get("int8_runtimes_agree", False)),
        "gan": {"acceptance_rate": r["sample"].get("acceptance_rate"),
                "acceptance_by_class": r["sample"].get("acceptance_by_class"),
                "realism_pass_rate": r["sample"].get("realism_pass_rate"),
                "realism_pass_by_class": r["sample"].get("realism_pass_by_class"),
                "accepted": r["sample"].get("accepted"), "training": training},
        "data": {"source": {"name": cfg.data.source.name, **prepared.get("source", {})},
                 "target": None if cfg.data.target is None else
                 {"name": cfg.data.target.name, **prepared.get("target", {})},
                 "sensor": ctx.sensor.to_dict(), "window_length": cfg.windows.length,
                 "class_names": prepared.get("source", {}).get("class_names")},
        "timing": timing,
        "seed": cfg.seed,
    }


def summary_lines(metrics: dict, out: Path, wall_seconds: float | None = None) -> list[str]:
    """The short summary printed at the end of run/demo."""
    c, g, t = metrics.get("classifier", {}), metrics.get("gan", {}), metrics.get("timing", {})
    acc = g.get("acceptance_by_class") or {}
    return [
        "",
        "summary",
        f"  ST classifier   float accuracy {fmt(c.get('float_accuracy'))}, int8 accuracy "
        f"{fmt(c.get('int8_accuracy'))}, macro F1 {fmt(c.get('macro_f1'))}; "
        f"{c.get('tflite_bytes', 'n/a')} B flash, {c.get('arena_bytes', 'n/a')} B arena; "
        f"LiteRT == TFLite-Micro: {metrics.get('int8_runtimes_agree')}",
        f"  synthetic data  int8 acceptance {fmt(g.get('acceptance_rate'), '.2f')} ("
        + ", ".join(f"{k} {fmt(v, '.2f')}" for k, v in acc.items()) + ")"
        + (f"; realism gate pass {fmt(g.get('realism_pass_rate'), '.2f')} ("
           + ", ".join(f"{k} {fmt(v, '.2f')}" for k, v in (g.get("realism_pass_by_class") or {}).items()) + ")"
           if g.get("realism_pass_by_class") else ""),
        f"  quality         TSTR {fmt(g.get('tstr_accuracy'))} / TRTR {fmt(g.get('trtr_accuracy'))} = ratio "
        f"{fmt(g.get('tstr_ratio'), '.2f')}; discriminative score {fmt(g.get('discriminative_score'))}; "
        f"MMD {fmt(g.get('mmd'), '.4f')}",
        f"  time            GAN training {fmt(t.get('gan_train_seconds'), '.0f')} s, all steps "
        f"{fmt(t.get('total_seconds'), '.0f')} s" + (f", this run {wall_seconds:.0f} s" if wall_seconds else ""),
        f"  files           {out}/: synthetic/windows.npz, synthetic/csv/, "
        + ("synthetic/logs/, " if (Path(out) / "synthetic" / "logs").is_dir() else "")
        + "classifier/model_int8.tflite, firmware/, report/report.md",
    ]


# ---------------------------------------------------------------------------- hargan evaluate

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--real", required=True, metavar="FILE.npz", help="real windows")
    p.add_argument("--synthetic", required=True, metavar="DIR|FILE.npz",
                   help="output folder of 'hargan generate' (or its windows.npz)")
    p.add_argument("--int8", default=None, metavar="FILE.tflite", help="int8 classifier (adds its figures)")
    add_section_options(p, "classifier", only=("preset",), helps={"preset": "classifier preset for TSTR/TRTR."})
    add_section_options(p, "evaluation", skip=("augmentation_retrain",))
    p.add_argument("--out", required=True, metavar="DIR", help="folder for metrics.json, report.md, PNGs")


def _int8_metrics(int8: Int8Classifier, real: WindowSet) -> dict:
    """The int8 classifier's figures for a report without the run's earlier steps."""
    from classifier import evaluate_classifier

    _, held = held_out_split(real)
    ev = evaluate_classifier(int8, held.x, held.y, real.class_names)
    return {"classifier": {"int8_accuracy": float(ev["accuracy"]), "macro_f1": float(ev["macro_f1"]),
                           "tflite_bytes": int(int8.tflite_bytes), "arena_bytes": int(int8.arena_bytes())},
            "int8_runtimes_agree": bool(int8.runtimes_agree(held.x[:64]))}


def command(args: argparse.Namespace, log: Log) -> None:
    from har_data.errors import InputError

    out = out_dir(args.out)
    real_path, syn_path = need_file(args.real, "--real"), need_file(args.synthetic, "--synthetic")
    int8_path = optional_file(args.int8, "--int8")
    if syn_path.is_dir():
        syn_path = syn_path / "windows.npz"
        if not syn_path.is_file():
            raise InputError("no windows.npz in the --synthetic folder", syn_path.parent)
    with output_dir(out, [real_path, syn_path, int8_path]) as stage:
        _evaluate(args, real_path, syn_path, int8_path, stage, staged(log, stage, out))
    log(f"wrote {out}/metrics.json and {out}/report.md")


def _evaluate(args: argparse.Namespace, real_path: Path, syn_path: Path, int8_path: Path | None, out: Path,
              log: Log) -> None:
    from gan.sampling import SyntheticSet
    from har_data.errors import InputError

    real = load_windows(real_path)
    syn = SyntheticSet.load(syn_path)
    if list(syn.class_names) != list(real.class_names):
        raise InputError(f"synthetic classes {list(syn.class_names)} differ from the real windows' "
                         f"{list(real.class_names)}", syn_path)
    int8 = load_int8(int8_path, real.class_names) if int8_path else None
    acceptance = None
    if syn.acceptance_by_class:
        acceptance = {"acceptance_rate": syn.acceptance_rate,
                      "acceptance_by_class": {str(k): float(v) for k, v in dict(syn.acceptance_by_class).items()}}
    log(f"evaluate: {args.real} vs {syn_path} -> {args.out}")
    ev = section_from_args(args, "evaluation")
    score_and_report(real, syn.x_mg, syn.y, out, preset=args.preset, int8=int8, quick=ev.quick, seeds=ev.seeds,
                     seed=seed_of(args), extra=_int8_metrics(int8, real) if int8 is not None else {},
                     augmentation=ev.augmentation, seconds_before=0.0, acceptance=acceptance, log=log)


COMMAND = Command("evaluate", "score synthetic windows against real ones (TSTR, TRTR, discriminative score, MMD)",
                  "hargan evaluate --real windows.npz --synthetic synthetic --int8 model_int8.tflite --out report",
                  add_arguments, command)
