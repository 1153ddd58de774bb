"""Step gan: the conditional WGAN-GP, steered by the ST classifier (one domain).

``gan`` trains on the windows with the float classifier's feedback and writes generator.keras,
critic.keras, a per-step history.csv and losses.png. A transfer run (two domains) trains a
domain-conditioned GAN instead (:mod:`hargan.steps.transfer`). ``hargan train-gan --init`` still
fine-tunes a saved GAN on new windows.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from har_data.outputs import CHECKPOINTS, output_dir
from hargan.config import GanConfig
from hargan.options import add_section_options, section_from_args
from hargan.steps.base import RunContext, Step
from hargan.steps.common import (Command, Log, check_tensorboard, check_trainable, load_float_classifier, load_windows,
                                 need_file, optional_file, out_dir, quiet, seed_of, staged, write_csv_rows)

if TYPE_CHECKING:
    import keras

    from har_data import WindowSet


def init_models(init: Path | None) -> dict[str, Any]:
    """``init``: a generator.keras, or a folder with generator.keras; a critic.keras beside it is used too."""
    if init is None:
        return {}
    folder = init.parent if init.is_file() else init
    models = {"init_generator": init if init.is_file() else folder / "generator.keras"}
    if (folder / "critic.keras").is_file():
        models["init_critic"] = folder / "critic.keras"
    return models


TRAIN_GAN_NAMES = {"checkpoint_every": "steps_per_epoch"}
"""``[gan]`` fields whose :func:`gan.training.train_gan` keyword has another name."""


def gan_hyperparameters(gan: GanConfig, with_classifier: bool) -> dict:
    """``train_gan``'s keyword arguments from ``[gan]``: every field but ``steps`` (the caller's), so a new
    setting reaches the training unchanged (no classifier feedback without a classifier)."""
    kwargs = {TRAIN_GAN_NAMES.get(f.name, f.name): getattr(gan, f.name) for f in dataclasses.fields(gan)
              if f.name != "steps"}
    if not with_classifier:
        kwargs["classifier_weight"] = 0.0
    return kwargs


def train_and_save_gan(ws: WindowSet, classifier: keras.Model | None, out: Path, gan: GanConfig, *, steps: int,
                       init: Path | None = None, seed: int = 0, label: str = "gan", tensorboard: Path | None = None,
                       checkpoints: Path | None = None, log: Log = quiet) -> tuple[Any, dict]:
    """Train (or fine-tune from ``init``) for ``steps`` generator steps with ``gan``'s hyperparameters;
    write the GAN (generator.keras, critic.keras, gan.json: ``ConditionalWGANGP.save_models``), history.csv
    (one row per step) and losses.png into ``out``
    (and TensorBoard logs into ``tensorboard`` when given).

    ``checkpoints``: a folder where the training state and the history so far are kept every
    ``gan.checkpoint_every`` steps, so that a killed run resumes there (:func:`drop_checkpoints` once
    the outputs are safely in place).
    """
    from evaluation.plots import plot_training_curves
    from gan.training import train_gan
    from hargan.steps.progress import ProgressLog

    progress = ProgressLog(steps, log, per="step", label=label, spec=".3g",
                           keys=("critic_loss", "generator_loss", "wasserstein", "classifier_accuracy"),
                           keep=None if checkpoints is None else Path(checkpoints) / f"{label}-history.csv")
    t0 = time.perf_counter()
    model = train_gan(ws, classifier, steps=steps, seed=seed, callbacks=[progress], tensorboard=tensorboard,
                      checkpoint_dir=None if checkpoints is None else Path(checkpoints) / label, log=log,
                      **gan_hyperparameters(gan, classifier is not None), **init_models(init))
    seconds = time.perf_counter() - t0
    out = Path(out)
    model.save_models(out)
    write_csv_rows(out / "history.csv", progress.rows)
    plot_training_curves(out / "history.csv", out / "losses.png", title=f"GAN training ({label})")
    last = progress.rows[-1] if progress.rows else {}
    info = {"steps": steps, "seconds": round(seconds, 2), "final": {k: v for k, v in last.items() if k != "step"}}
    log(f"  {label}: {steps} steps in {seconds:.0f} s")
    return model, info


def drop_checkpoints(checkpoints: Path, label: str) -> None:
    """Remove what :func:`train_and_save_gan` kept for resuming ``label`` (its outputs are in place)."""
    shutil.rmtree(Path(checkpoints) / label, ignore_errors=True)
    (Path(checkpoints) / f"{label}-history.csv").unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        Path(checkpoints).rmdir()  # when nothing else is kept there


class TrainGan(Step):
    """Train the GAN with the float classifier's feedback (one domain; a transfer run has its own GAN step)."""

    name = "gan"
    sections = ("gan",)

    def enabled(self, cfg) -> bool:
        return cfg.data.target is None

    def describe(self, ctx: RunContext) -> str:
        return "gan: train the conditional WGAN-GP with the classifier's feedback"

    def inputs(self, ctx: RunContext) -> list[Path]:
        return [ctx.paths.windows, ctx.paths.classifier]

    def outputs(self, ctx: RunContext) -> list[Path]:
        return [ctx.paths.gan_dir / name for name in ("generator.keras", "critic.keras", "gan.json", "history.csv")]

    def run(self, ctx: RunContext) -> dict:
        _, info = train_and_save_gan(ctx.windows, ctx.classifier, ctx.paths.gan_dir, ctx.cfg.gan,
                                     steps=ctx.cfg.gan.steps, seed=ctx.seed, label="gan",
                                     tensorboard=ctx.tensorboard_dir("gan"), checkpoints=ctx.paths.checkpoints,
                                     log=ctx.log)
        drop_checkpoints(ctx.paths.checkpoints, "gan")
        return info


# ---------------------------------------------------------------------------- hargan train-gan

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--windows", required=True, metavar="FILE.npz", help="real windows (train split is used)")
    p.add_argument("--classifier", default=None, metavar="FILE.keras",
                   help="float ST classifier that steers the generator (omit for a plain WGAN-GP)")
    p.add_argument("--init", default=None, metavar="FILE.keras",
                   help="start from this generator (fine-tuning); a critic.keras beside it is used too")
    add_section_options(p.add_argument_group("[gan] settings"), "gan")
    p.add_argument("--tensorboard", default=None, metavar="DIR", help="write TensorBoard logs into DIR")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder for the GAN (generator.keras, critic.keras, gan.json) and history.csv")


def command(args: argparse.Namespace, log: Log) -> None:
    out = out_dir(args.out)
    windows_path = need_file(args.windows, "--windows")
    clf_path = optional_file(args.classifier, "--classifier")
    init = optional_file(args.init, "--init")
    check_tensorboard(args.tensorboard, [windows_path], key="--tensorboard")
    with output_dir(out, [windows_path, clf_path, init]) as stage:
        ws = check_trainable(load_windows(windows_path), windows_path)
        clf = load_float_classifier(clf_path) if clf_path else None
        gan = section_from_args(args, "gan")
        log(f"train-gan: {args.windows} -> {out}/generator.keras")
        train_and_save_gan(ws, clf, stage, gan, steps=gan.steps, init=init, seed=seed_of(args),
                           label="finetune" if init else "gan", tensorboard=args.tensorboard,
                           checkpoints=out / CHECKPOINTS,
                           log=staged(log, stage, out))
    drop_checkpoints(out / CHECKPOINTS, "finetune" if init else "gan")
    log(f"wrote {out}/generator.keras, critic.keras, gan.json, history.csv, losses.png")


COMMAND = Command(
    "train-gan", "train the conditional WGAN-GP with the classifier's feedback",
    "hargan train-gan --windows windows.npz --classifier classifier/model.keras --out gan\n"
    "hargan train-gan --windows target.npz --classifier target/model.keras --init gan/generator.keras "
    "--steps 500 --out gan-finetuned",
    add_arguments, command)
