"""``hargan demo``: the whole flow on the bundled real BasicMotions data, as a config preset.

BasicMotions (UEA/UCR archive, bundled with sktime): a smartwatch accelerometer, 4 activities
(standing, walking, running, badminton), 80 recordings of 10 s at 10 Hz, gravity removed.
The demo targets an LSM6DSL at ±4 g and **12.5 Hz**, the LSM6DSL output data rate closest to
the recording rate: resampling 10 -> 12.5 Hz only re-times the samples, whereas 26 Hz would
claim a bandwidth the recording does not have (nothing above 5 Hz) and the synthetic data
would inherit that gap. Windows of 48 samples (3.8 s) with a stride of 12 give ~7 windows per
recording. The demo runs through :func:`hargan.flow.run_pipeline` like any config.
"""

from __future__ import annotations

from pathlib import Path
from collections.abc import Callable

from hargan.config import (ClassifierConfig, Config, DataConfig, DomainConfig, EvaluationConfig, ExportConfig,
                           GanConfig, SamplingConfig, SensorConfig, WindowsConfig)
from hargan.flow import run_pipeline

DEMO_ODR_HZ = 12.5


def demo_config(quick: bool = False, seed: int = 0) -> Config:
    """The demo's configuration (``quick``: a smoke run for tests, well under 3 minutes on 2 cores)."""
    return Config(
        seed=seed,
        data=DataConfig(source=DomainConfig(name="basic-motions"),
                        classes=["standing", "walking", "running", "badminton"]),
        sensor=SensorConfig(name="LSM6DSL", full_scale_g=4, odr_hz=DEMO_ODR_HZ),
        windows=WindowsConfig(length=48, stride=12, fractions=[0.7, 0.15, 0.15]),
        classifier=ClassifierConfig(preset="cnn1d", epochs=8 if quick else 60, batch_size=32,
                                    patience=4 if quick else 12, representative_samples=200),
        gan=GanConfig(latent_dim=32, n_critic=2 if quick else 5, steps=200 if quick else 1500,
                      batch_size=32 if quick else 64, classifier_weight=3.0 if quick else 1.0),
        # The full demo ships only windows that also pass the realism gate, as any run does
        # (docs/benchmarks.md: 0.58-0.99 of each class pass at seed 0); --quick's 200-step GAN makes too few that
        # pass, so it only measures them.
        sampling=SamplingConfig(per_class=16 if quick else 100, min_confidence=0.5,
                                max_tries=10 if quick else SamplingConfig.max_tries,
                                realism_gate=not quick),
        evaluation=EvaluationConfig(quick=quick, seeds=1, augmentation=not quick),
        export=ExportConfig(name="har_model", n_test_vectors=4 if quick else 10),
    )


def run_demo(out: str | Path = "hargan-demo", *, quick: bool = False, seed: int = 0, force: bool = False,
             tensorboard: str | None = None, log: Callable[[str], None] = print) -> dict:
    """Run the demo preset into ``out`` (TensorBoard logs into ``tensorboard`` when given); returns
    metrics.json's content."""
    cfg = demo_config(quick=quick, seed=seed)
    cfg.tensorboard = str(tensorboard or "")
    title = "hargan demo" + (" --quick" if quick else "") + " (BasicMotions, LSM6DSL ±4 g @ 12.5 Hz)"
    metrics = run_pipeline(cfg, out, force=force, log=log, title=title)
    if quick:
        log("  (--quick is a smoke run: a 200-step GAN and 16 windows per class, so TSTR means little; "
            "run 'hargan demo' without --quick for real figures)")
    return metrics
