"""evaluation: how good is a synthetic set? Scores, distances, plots and the run report.

It judges any synthetic windows against real ones (arrays in, figures out), so it imports
har_data and classifier but never gan.
"""

from evaluation.metrics import mmd, mmd_by_class, nn_dtw, psd_distance, psd_distance_by_class
from evaluation.plots import evaluation_figures, plot_training_curves
from evaluation.report import REQUIRED_KEYS, flatten_metrics, nest_metrics, to_jsonable, write_report
from evaluation.scores import (FULL, QUICK, EvalSettings, augmentation_gain, discriminative_score, evaluate_synthetic,
                               int8_acceptance, resolve_acceptance, subsample_by_group, train_test_scores)

__all__ = [
    "EvalSettings", "FULL", "QUICK", "REQUIRED_KEYS", "augmentation_gain", "discriminative_score",
    "evaluate_synthetic", "evaluation_figures", "flatten_metrics", "int8_acceptance", "mmd", "mmd_by_class",
    "nest_metrics", "nn_dtw", "plot_training_curves", "psd_distance", "psd_distance_by_class",
    "resolve_acceptance", "subsample_by_group", "to_jsonable", "train_test_scores", "write_report",
]
