"""gan: conditional WGAN-GP with ST-classifier feedback, validated sampling, evaluation and report."""

# Before anything imports TensorFlow: XLA reads its persistent-cache flag once.
from gan import compile_cache

compile_cache.enable()

# models, training and sampling (GAN developer)
from gan.callbacks import SamplePlotCallback, StopAtStep, plot_generated
from gan.data import make_gan_dataset
from gan.models import (CropTime, LabelEmbedding, Scale, build_critic, build_generator, model_class_names,
                        model_full_scale_g)
from gan.sampling import AcceptanceError, SyntheticSet, generate_windows, resolve_labels, sample_validated
from gan.training import train_gan
from gan.wgan import ConditionalWGANGP

# evaluation, plots and report (evaluation developer)
from gan.evaluation import evaluate_synthetic  # noqa: E402
from gan.report import flatten_metrics, write_report  # noqa: E402
