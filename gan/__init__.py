"""gan: conditional WGAN-GP with ST-classifier feedback, validated sampling and continuous logs (evaluation
lives in ``evaluation``)."""

# Before anything imports TensorFlow: XLA reads its persistent-cache flag once.
from gan import compile_cache

compile_cache.enable()

from gan.callbacks import Checkpoint, SamplePlotCallback, StopAtStep, StopOnNaN, TrainingDiverged, plot_generated
from gan.continuous import ContinuousLog, continuous_logs, write_continuous_logs
from gan.data import make_gan_dataset
from gan.models import (CropTime, LabelEmbedding, Scale, build_critic, build_generator, model_class_names,
                        model_full_scale_g)
from gan.sampling import AcceptanceError, SyntheticSet, generate_windows, resolve_labels, sample_validated
from gan.training import train_gan
from gan.wgan import ConditionalWGANGP

__all__ = [
    "AcceptanceError", "Checkpoint", "ConditionalWGANGP", "ContinuousLog", "CropTime", "LabelEmbedding",
    "SamplePlotCallback", "Scale", "StopAtStep", "StopOnNaN", "SyntheticSet", "TrainingDiverged", "build_critic",
    "build_generator", "continuous_logs", "generate_windows", "make_gan_dataset", "model_class_names",
    "model_full_scale_g", "plot_generated", "resolve_labels", "sample_validated", "train_gan",
    "write_continuous_logs",
]
