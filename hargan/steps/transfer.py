"""The transfer run's own steps (``data.target`` set), the recipe of :mod:`gan.transfer`.

prepare (both domains; gravity filter on unless the config says otherwise) -> **judge** (the
classifier on both domains, target balanced; ``classifier/judge.keras`` and its int8 twin) ->
**domain_gan** (one WGAN-GP on (domain, class) labels, the judge's feedback; ``gan/domains/``, and
``gan/``: the target's half as a class-conditioned GAN) -> **classifier** (:class:`BoardModel`, the
*board* model: the judge, or with ``[transfer] synthetic`` the classifier trained again on real +
judge-accepted synthetic target windows) -> quantize -> sample (what the board's int8 model accepts)
-> evaluate -> export. Each step calls the recipe's function (``train_judge``, ``train_domain_gan``,
``train_board_model``) with :func:`settings` made from the config: what ``gan.transfer.train_transfer``,
the benchmark's recipe, calls too.

The source's windows all train (it is not what the board is scored on); the target's train and
val splits train and its test split (held-out logs) scores.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from har_data.atomic import write_bytes, write_text
from hargan.config import Config, gravity_filter
from hargan.steps.base import RunContext, Step
from hargan.steps.common import held_out_split, write_csv_rows

if TYPE_CHECKING:
    import keras
    import numpy as np

    from gan.transfer import TransferSettings


def settings(cfg: Config) -> TransferSettings:
    """The recipe's settings from a transfer run's config (rotations about the gravity axis when the target's
    windows are in the gravity frame, the classifier's random-axis rotations otherwise); the benchmark
    (benchmarks/bench_transfer.py) makes its settings here too."""
    from gan.transfer import TransferSettings

    if cfg.data.target is None:
        raise ValueError("transfer settings need a config with [data.target]")
    gravity = gravity_filter(cfg, cfg.data.target)
    return TransferSettings(target_share=cfg.transfer.target_share, epochs=cfg.classifier.epochs,
                            preset=cfg.classifier.preset, synthetic=cfg.transfer.synthetic, gan_steps=cfg.gan.steps,
                            gan_batch_size=cfg.gan.batch_size, synthetic_per_class=cfg.transfer.synthetic_per_class,
                            min_confidence=cfg.sampling.min_confidence,
                            rotate_axis="gravity" if gravity else "random", rotate_deg=180.0 if gravity else 45.0)


def training_windows(ctx: RunContext) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(source x, y) all windows; (target x, y) its train and val splits."""
    src = ctx.source_windows
    tgt = ctx.windows.subset(["train", "val"])
    return src.x, src.y, tgt.x, tgt.y


def _score(model, ws) -> dict:
    from classifier import evaluate_classifier

    split, held = held_out_split(ws)
    ev = evaluate_classifier(model, held.x, held.y, ws.class_names)
    return {"eval_split": split, "accuracy": float(ev["accuracy"]), "macro_f1": float(ev["macro_f1"])}


class Judge(Step):
    """The first classifier of a transfer run: both domains, target balanced; the GAN's feedback and judge."""

    name = "judge"
    sections = ("classifier", "transfer")
    exclude = ("transfer.synthetic", "transfer.synthetic_per_class")

    def enabled(self, cfg) -> bool:
        return cfg.data.target is not None

    def describe(self, ctx: RunContext) -> str:
        return "judge: the classifier on both domains (target balanced)"

    def inputs(self, ctx: RunContext) -> list[Path]:
        return [ctx.paths.windows, ctx.paths.source_windows]

    def outputs(self, ctx: RunContext) -> list[Path]:
        return [ctx.paths.judge, ctx.paths.judge_int8]

    def run(self, ctx: RunContext) -> dict:
        from classifier import save_classifier
        from gan.transfer import train_judge

        s = settings(ctx.cfg)
        xs, ys, xt, yt = training_windows(ctx)
        ctx.log(f"  {len(xs)} source + {len(xt)} target windows, target repeated to {100 * s.target_share:.0f}% "
                f"of the weight; rotations about the {s.rotate_axis} axis")
        t0 = time.perf_counter()
        judge, int8 = train_judge(xs, ys, xt, yt, ctx.windows.class_names, ctx.sensor.full_scale_g, s, ctx.seed)
        save_classifier(judge, ctx.paths.judge)
        write_bytes(ctx.paths.judge_int8, int8.model_bytes)
        result: dict[str, Any] = {"float": _score(judge, ctx.windows), "int8": _score(int8, ctx.windows),
                  "train_seconds": round(time.perf_counter() - t0, 2)}
        ctx.log(f"  judge: {result['int8']['eval_split']} accuracy int8 {result['int8']['accuracy']:.3f}")
        return result


class DomainGan(Step):
    """One WGAN-GP on both domains, labels (domain, class), the judge's feedback."""

    name = "domain_gan"
    sections = ("gan", "transfer")
    exclude = ("transfer.synthetic_per_class",)

    def enabled(self, cfg) -> bool:
        return cfg.data.target is not None

    def describe(self, ctx: RunContext) -> str:
        return "domain_gan: a GAN on (domain, class) labels with the judge's feedback"

    def inputs(self, ctx: RunContext) -> list[Path]:
        return [ctx.paths.windows, ctx.paths.source_windows, ctx.paths.judge]

    def outputs(self, ctx: RunContext) -> list[Path]:
        gan_files = ("generator.keras", "critic.keras", "gan.json")
        return [*(ctx.paths.domain_gan_dir / f for f in gan_files), *(ctx.paths.gan_dir / f for f in gan_files),
                ctx.paths.gan_dir / "history.csv"]

    def run(self, ctx: RunContext) -> dict:
        from classifier.training import tensorboard_callbacks
        from evaluation.plots import plot_training_curves
        from gan.domains import domain_gan
        from gan.transfer import train_domain_gan
        from hargan.steps.common import load_float_classifier
        from hargan.steps.gan import drop_checkpoints, gan_hyperparameters
        from hargan.steps.progress import ProgressLog

        g, s = ctx.cfg.gan, settings(ctx.cfg)
        # classifier_accuracy is left out: a class's source and target labels tie in the judge's
        # probabilities over labels (gan.domains), so the argmax counts a target window as a miss.
        progress = ProgressLog(s.gan_steps, ctx.log, per="step", label="domain gan", spec=".3g",
                               keys=("critic_loss", "generator_loss", "wasserstein", "classifier_loss"),
                               keep=ctx.paths.checkpoints / "domain-gan-history.csv")
        t0 = time.perf_counter()
        judge = load_float_classifier(ctx.paths.judge)
        hyper = gan_hyperparameters(g, with_classifier=True)
        del hyper["batch_size"]  # the recipe's settings carry it (s.gan_batch_size)
        model = train_domain_gan(*training_windows(ctx), ctx.windows.class_names, judge, ctx.sensor, s, ctx.seed,
                                 [progress, *tensorboard_callbacks(ctx.tensorboard_dir("gan"))],
                                 checkpoint_dir=ctx.paths.checkpoints / "domain-gan", **hyper)
        seconds = time.perf_counter() - t0
        # gan/ holds the target domain's half as a class-conditioned GAN: what sampling (and its realism
        # gate's critic test) take from gan/ in every run.
        model.save_models(ctx.paths.domain_gan_dir)
        domain_gan(model, "target", ctx.windows.class_names).save_models(ctx.paths.gan_dir)
        history = ctx.paths.gan_dir / "history.csv"
        write_csv_rows(history, progress.rows)
        plot_training_curves(history, ctx.paths.gan_dir / "losses.png", title="domain-conditioned GAN training")
        drop_checkpoints(ctx.paths.checkpoints, "domain-gan")
        last = progress.rows[-1] if progress.rows else {}
        ctx.log(f"  domain gan: {s.gan_steps} steps in {seconds:.0f} s")
        return {"steps": s.gan_steps, "seconds": round(seconds, 2),
                "labels": list(model.class_names), "final": {k: v for k, v in last.items() if k != "step"}}


class BoardModel(Step):
    """A transfer run's board model (the float classifier the quantize step makes int8): the judge, or with
    ``[transfer] synthetic`` the classifier trained again on the real windows plus the target generator's
    windows the judge's int8 model accepts (:func:`gan.transfer.train_board_model`). Named "classifier"
    as the one-domain step it stands for: the same files, ``--until classifier`` in either run."""

    name = "classifier"
    sections = ("classifier", "transfer", "sampling.min_confidence")
    exclude = ("classifier.representative_samples",)  # the quantize step's

    def enabled(self, cfg) -> bool:
        return cfg.data.target is not None

    def describe(self, ctx: RunContext) -> str:
        if ctx.cfg.transfer.synthetic:
            return "classifier: the board model on real + judge-accepted synthetic target windows"
        return "classifier: the board model (the judge: real windows of both domains)"

    def inputs(self, ctx: RunContext) -> list[Path]:
        synthetic = [ctx.paths.generator, ctx.paths.judge_int8] if ctx.cfg.transfer.synthetic else []
        return [ctx.paths.windows, ctx.paths.source_windows, ctx.paths.judge, *synthetic]

    def outputs(self, ctx: RunContext) -> list[Path]:
        return [ctx.paths.classifier, ctx.paths.classifier_dir / "confusion_float.png"]

    def run(self, ctx: RunContext) -> dict:
        ctx.classifier, metrics = train_board_files(ctx)
        return metrics


def train_board_files(ctx: RunContext) -> tuple[keras.Model, dict]:
    """The board model (:class:`BoardModel`); writes classifier/model.keras, its confusion matrix and metrics.json."""
    from classifier import evaluate_classifier, plot_confusion_matrix, save_classifier
    from gan.transfer import train_board_model
    from hargan.steps.common import load_float_classifier, load_generator, load_int8

    s, names, out = settings(ctx.cfg), ctx.windows.class_names, ctx.paths.classifier_dir
    t0 = time.perf_counter()
    if not s.synthetic:
        ctx.log("  the judge is the board model ([transfer] synthetic = false: real windows only)")
    model, n_windows, acceptance = train_board_model(
        *training_windows(ctx), names, ctx.sensor, s, ctx.seed, judge=load_float_classifier(ctx.paths.judge),
        judge_int8=load_int8(ctx.paths.judge_int8, names) if s.synthetic else None,
        generator=load_generator(ctx.paths.generator) if s.synthetic else None, log=lambda m: ctx.log("  " + m))
    epochs_run = len(model.history.history.get("loss", [])) if s.synthetic else None
    seconds = time.perf_counter() - t0
    split, held = held_out_split(ctx.windows)
    ev = evaluate_classifier(model, held.x, held.y, names)
    save_classifier(model, ctx.paths.classifier)
    plot_confusion_matrix(ev["confusion"], names, out / "confusion_float.png",
                          title=f"float board model, {split} split (accuracy {ev['accuracy']:.3f})")
    metrics = {"preset": s.preset, "float_accuracy": float(ev["accuracy"]), "macro_f1": float(ev["macro_f1"]),
               "eval_split": split, "epochs_run": epochs_run,
               "params": int(model.count_params()), "train_seconds": round(seconds, 2),
               "training_windows": int(n_windows), "judge_acceptance_by_class": acceptance}
    write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    ctx.log(f"  board model: {split} accuracy {metrics['float_accuracy']:.3f} ({seconds:.0f} s)")
    return model, metrics
