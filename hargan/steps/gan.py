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
from hargan.config import GAN_LOSSES, GanConfig
from hargan.steps.base import RunContext, Step
from hargan.steps.common import (Command, Log, check_tensorboard, check_trainable, load_float_classifier, load_windows,
                                 need_file, option, out_dir, quiet, seed_of, staged, write_csv_rows)

if TYPE_CHECKING:
    import keras

    from har_data import WindowSet


def init_models(init: Path | None) -> dict[str, Path]:
    """``init``: a generator.keras, or a folder with generator.keras; a critic.keras beside it is used too."""
    if init is None:
        return {}
    folder = init.parent if init.is_file() else init
    models = {"init_generator": init if init.is_file() else folder / "generator.keras"}
    if (folder / "critic.keras").is_file():
        models["init_critic"] = folder / "critic.keras"
    return models


def gan_hyperparameters(gan: GanConfig, with_classifier: bool) -> dict:
    """``train_gan``'s keyword arguments from ``[gan]`` (no classifier feedback without a classifier)."""
    return dict(batch_size=gan.batch_size, latent_dim=gan.latent_dim, n_critic=gan.n_critic,
                gp_weight=gan.gp_weight, classifier_weight=gan.classifier_weight if with_classifier else 0.0,
                g_learning_rate=gan.g_learning_rate, c_learning_rate=gan.c_learning_rate, loss=gan.loss,
                steps_per_epoch=gan.checkpoint_every)


def train_and_save_gan(ws: WindowSet, classifier: keras.Model | None, out: Path, gan: GanConfig, *, steps: int,
                       init: Path | None = None, seed: int = 0, label: str = "gan", tensorboard: Path | None = None,
                       checkpoints: Path | None = None, log: Log = quiet) -> tuple[Any, dict]:
    """Train (or fine-tune from ``init``) for ``steps`` generator steps with ``gan``'s hyperparameters;
    write generator.keras, critic.keras, history.csv (one row per step) and losses.png into ``out``
    (and TensorBoard logs into ``tensorboard`` when given).

    ``checkpoints``: a folder where the training state and the history so far are kept every
    ``gan.checkpoint_every`` steps, so that a killed run resumes there (:func:`drop_checkpoints` once
    the outputs are safely in place).
    """
    from evaluation.plots import plot_training_curves
    from gan.training import train_gan
    from har_data.atomic import atomic_path
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
    for part in ("generator", "critic"):
        with atomic_path(out / f"{part}.keras") as tmp:
            getattr(model, part).save(tmp)
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
        return [ctx.paths.gan_dir / name for name in ("generator.keras", "critic.keras", "history.csv")]

    def run(self, ctx: RunContext) -> dict:
        _, info = train_and_save_gan(ctx.windows, ctx.classifier, ctx.paths.gan_dir, ctx.cfg.gan,
                                     steps=ctx.cfg.gan.steps, seed=ctx.seed, label="gan",
                                     tensorboard=ctx.tensorboard_dir("gan"), checkpoints=ctx.paths.checkpoints,
                                     log=ctx.log)
        drop_checkpoints(ctx.paths.checkpoints, "gan")
        return info


# ---------------------------------------------------------------------------- hargan train-gan

def add_arguments(p: argparse.ArgumentParser) -> None:
    g = GanConfig()
    p.add_argument("--windows", required=True, metavar="FILE.npz", help="real windows (train split is used)")
    p.add_argument("--classifier", default=None, metavar="FILE.keras",
                   help="float ST classifier that steers the generator (omit for a plain WGAN-GP)")
    p.add_argument("--init", default=None, metavar="FILE.keras",
                   help="start from this generator (fine-tuning); a critic.keras beside it is used too")
    p.add_argument("--steps", type=option("gan.steps", int), default=g.steps, metavar="N",
                   help=f"generator steps (default: {g.steps})")
    p.add_argument("--batch-size", type=option("gan.batch_size", int), default=g.batch_size, metavar="N",
                   help=f"batch size (default: {g.batch_size})")
    p.add_argument("--latent-dim", type=option("gan.latent_dim", int), default=g.latent_dim, metavar="N",
                   help=f"latent size (default: {g.latent_dim})")
    p.add_argument("--n-critic", type=option("gan.n_critic", int), default=g.n_critic, metavar="N",
                   help=f"critic steps per generator step (default: {g.n_critic})")
    p.add_argument("--gp-weight", type=option("gan.gp_weight", float), default=g.gp_weight, metavar="W",
                   help=f"gradient-penalty weight (default: {g.gp_weight:g})")
    p.add_argument("--classifier-weight", type=option("gan.classifier_weight", float), default=g.classifier_weight,
                   metavar="W",
                   help=f"classifier-feedback weight (default: {g.classifier_weight:g})")
    p.add_argument("--g-learning-rate", type=option("gan.g_learning_rate", float), default=g.g_learning_rate,
                   metavar="LR",
                   help=f"generator Adam LR (default: {g.g_learning_rate:g})")
    p.add_argument("--c-learning-rate", type=option("gan.c_learning_rate", float), default=g.c_learning_rate,
                   metavar="LR",
                   help=f"critic Adam LR (default: {g.c_learning_rate:g})")
    p.add_argument("--checkpoint-every", type=option("gan.checkpoint_every", int), default=g.checkpoint_every,
                   metavar="N", help=f"steps between checkpoints; a killed run resumes from the last one "
                                     f"(default: {g.checkpoint_every})")
    p.add_argument("--loss", default=g.loss, choices=GAN_LOSSES, help=f"adversarial loss (default: {g.loss})")
    p.add_argument("--tensorboard", default=None, metavar="DIR", help="write TensorBoard logs into DIR")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for generator.keras, critic.keras, history.csv")


def command(args: argparse.Namespace, log: Log) -> None:
    out = out_dir(args.out)
    windows_path = need_file(args.windows, "--windows")
    clf_path = need_file(args.classifier, "--classifier")
    init = need_file(args.init, "--init")
    check_tensorboard(args.tensorboard, [windows_path], key="--tensorboard")
    with output_dir(out, [windows_path, clf_path, init]) as stage:
        ws = check_trainable(load_windows(windows_path), windows_path)
        clf = load_float_classifier(clf_path) if clf_path else None
        names = {f.name for f in dataclasses.fields(GanConfig)} & set(vars(args))
        gan = GanConfig(**{k: getattr(args, k) for k in names})
        log(f"train-gan: {args.windows} -> {out}/generator.keras")
        train_and_save_gan(ws, clf, stage, gan, steps=args.steps, init=init, seed=seed_of(args),
                           label="finetune" if init else "gan", tensorboard=args.tensorboard,
                           checkpoints=out / CHECKPOINTS,
                           log=staged(log, stage, out))
    drop_checkpoints(out / CHECKPOINTS, "finetune" if init else "gan")
    log(f"wrote {out}/generator.keras, critic.keras, history.csv, losses.png")


COMMAND = Command(
    "train-gan", "train the conditional WGAN-GP with the classifier's feedback",
    "hargan train-gan --windows windows.npz --classifier classifier/model.keras --out gan\n"
    "hargan train-gan --windows target.npz --classifier target/model.keras --init gan/generator.keras "
    "--steps 500 --out gan-finetuned",
    add_arguments, command)
