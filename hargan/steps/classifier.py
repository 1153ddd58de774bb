"""Step 2, classifier: train the float ST classifier, the CNN that will run on the board.

It is trained on the board's domain and scored on the held-out split (in a transfer run it is the
judge, or trained on both domains plus the judge-accepted synthetic target windows,
:mod:`hargan.steps.transfer`), and written as ``classifier/model.keras`` with its epoch history
(``history.csv``, Keras' CSVLogger), training curves and confusion matrix.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from har_data.atomic import atomic_path
from har_data.jsonio import write_json
from har_data.outputs import output_dir
from hargan.config import ClassifierConfig
from hargan.options import add_section_options, section_from_args
from hargan.steps.base import RunContext, Step
from hargan.steps.common import (Command, Log, check_preset, check_tensorboard, check_trainable, held_out_split,
                                 load_windows, need_file, out_dir, quiet, seed_of, staged)

if TYPE_CHECKING:
    import keras

    from har_data import WindowSet


def train_and_save_classifier(ws: WindowSet, out: Path, c: ClassifierConfig, *, seed: int = 0,
                              tensorboard: Path | None = None, log: Log = quiet) -> tuple[keras.Model, dict]:
    """Train the float classifier with ``[classifier]``'s settings; write model.keras, history.csv, training.png,
    confusion_float.png, metrics.json (and TensorBoard logs into ``tensorboard`` when given)."""
    import keras

    from classifier import evaluate_classifier, plot_confusion_matrix, save_classifier, train_on_windows
    from evaluation.plots import plot_training_curves
    from hargan.steps.progress import ProgressLog

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with atomic_path(out / "history.csv") as history:
        model = train_on_windows(ws, preset=c.preset, epochs=c.epochs, batch_size=c.batch_size, patience=c.patience,
                                 learning_rate=c.learning_rate, seed=seed, verbose=0, tensorboard=tensorboard,
                                 callbacks=[ProgressLog(c.epochs, log), keras.callbacks.CSVLogger(str(history))])
    seconds = time.perf_counter() - t0
    epochs_run = len(model.history.history.get("loss", []))
    split, held = held_out_split(ws)
    ev = evaluate_classifier(model, held.x, held.y, ws.class_names)
    save_classifier(model, out / "model.keras")
    plot_training_curves(out / "history.csv", out / "training.png", title=f"ST classifier ({c.preset}) training",
                         panels=CURVES)
    plot_confusion_matrix(ev["confusion"], ws.class_names, out / "confusion_float.png",
                          title=f"float classifier, {split} split (accuracy {ev['accuracy']:.3f})")
    metrics = {"preset": c.preset, "float_accuracy": float(ev["accuracy"]), "macro_f1": float(ev["macro_f1"]),
               "eval_split": split, "epochs_run": epochs_run, "params": int(model.count_params()),
               "train_seconds": round(seconds, 2)}
    write_json(out / "metrics.json", metrics)
    log(f"  float classifier: {split} accuracy {metrics['float_accuracy']:.3f}, macro F1 {metrics['macro_f1']:.3f} "
        f"({metrics['params']} parameters, {epochs_run} epochs, {seconds:.0f} s)")
    return model, metrics


CURVES = (("loss", ("loss", "val_loss")), ("accuracy", ("accuracy", "val_accuracy")))
"""training.png's panels."""


class TrainClassifier(Step):
    """The float ST classifier of a one-domain run (a transfer run has its board model step,
    :class:`hargan.steps.transfer.BoardModel`)."""

    name = "classifier"
    sections = ("classifier",)
    exclude = ("classifier.representative_samples",)  # the quantize step's

    def enabled(self, cfg) -> bool:
        return cfg.data.target is None

    def describe(self, ctx: RunContext) -> str:
        return f"classifier: train the float ST classifier ({ctx.cfg.classifier.preset})"

    def inputs(self, ctx: RunContext) -> list[Path]:
        return [ctx.paths.windows]

    def outputs(self, ctx: RunContext) -> list[Path]:
        return [ctx.paths.classifier, ctx.paths.classifier_dir / "confusion_float.png"]

    def run(self, ctx: RunContext) -> dict:
        model, metrics = train_and_save_classifier(ctx.windows, ctx.paths.classifier_dir, ctx.cfg.classifier,
                                                   seed=ctx.seed, tensorboard=ctx.tensorboard_dir("classifier"),
                                                   log=ctx.log)
        ctx.classifier = model
        return metrics


# ---------------------------------------------------------------------------- hargan train-classifier

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--windows", required=True, metavar="FILE.npz", help="windows from 'hargan prepare'")
    add_section_options(p.add_argument_group("[classifier] settings"), "classifier", skip=("representative_samples",))
    p.add_argument("--tensorboard", default=None, metavar="DIR", help="write TensorBoard logs into DIR")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for model.keras, history.csv, PNGs")


def command(args: argparse.Namespace, log: Log) -> None:
    out = out_dir(args.out)
    windows = need_file(args.windows, "--windows")
    check_preset(args.preset, "--preset")
    check_tensorboard(args.tensorboard, [windows], key="--tensorboard")
    with output_dir(out, [windows]) as stage:
        ws = check_trainable(load_windows(windows), windows)
        log(f"train-classifier: {args.windows} -> {out}/model.keras")
        train_and_save_classifier(ws, stage, section_from_args(args, "classifier"), seed=seed_of(args),
                                  tensorboard=args.tensorboard, log=staged(log, stage, out))
    log(f"wrote {out}/model.keras, history.csv, training.png, confusion_float.png, metrics.json")


COMMAND = Command("train-classifier", "train the float ST classifier on windows (writes model.keras, figures)",
                  "hargan train-classifier --windows windows.npz --preset cnn1d --out classifier",
                  add_arguments, command)
