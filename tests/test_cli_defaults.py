"""Every default is defined once: the command line's defaults and lists are the config dataclasses'
(and the libraries' own defaults agree with them)."""

from __future__ import annotations

import argparse
import dataclasses

from hargan import config as C
from hargan.cli import build_parser

# Command -> the config section whose fields its options mirror, and options named differently.
SECTIONS = {
    "prepare": (C.WindowsConfig, {"window": "length"}),
    "train-classifier": (C.ClassifierConfig, {}),
    "quantize": (C.ClassifierConfig, {"samples": "representative_samples"}),
    "train-gan": (C.GanConfig, {}),
    "generate": (C.SamplingConfig, {}),
    "evaluate": (C.EvaluationConfig, {}),
    "export": (C.ExportConfig, {}),
}


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_cli_default_is_the_config_default():
    subs = _subparsers()
    checked = 0
    for command, (section, renamed) in SECTIONS.items():
        fields = {f.name for f in dataclasses.fields(section)}
        for action in subs[command]._actions:
            field = renamed.get(action.dest, action.dest)
            if action.dest == "preset" and command == "evaluate":
                assert action.default == C.ClassifierConfig.preset
                checked += 1
            elif field in fields:
                assert action.default == getattr(section(), field), f"{command} --{action.dest}"
                checked += 1
    assert checked == 28  # every option above that mirrors a config field (none silently skipped)


def test_cli_lists_are_the_config_lists():
    from har_data.loaders import SOURCES
    from hargan.flow import STEP_NAMES, STEPS

    subs = _subparsers()
    (source,) = [a for a in subs["prepare"]._actions if a.dest == "source"]
    assert tuple(source.choices) == C.SOURCES == tuple(SOURCES)
    (until,) = [a for a in subs["run"]._actions if a.dest == "until"]
    assert tuple(until.choices) == STEP_NAMES == tuple(s.name for s in STEPS)
    (loss,) = [a for a in subs["train-gan"]._actions if a.dest == "loss"]
    assert tuple(loss.choices) == C.GAN_LOSSES


def test_sensor_defaults_are_the_config_and_library_defaults():
    from har_data.sensors import DEFAULT_SENSOR
    from hargan.steps.common import sensor_spec

    s = C.SensorConfig()
    assert (s.name, s.full_scale_g, s.odr_hz) == (DEFAULT_SENSOR.name, DEFAULT_SENSOR.full_scale_g,
                                                 DEFAULT_SENSOR.odr_hz)
    assert sensor_spec() == DEFAULT_SENSOR


def test_library_defaults_agree_with_the_config():
    """The libraries keep their own defaults for Python use (hargan always passes its config)."""
    from classifier.presets import DEFAULT_PRESET
    from gan.losses import LOSSES
    from gan.sampling import DEFAULT_MAX_TRIES
    from gan.training import DEFAULT_LATENT_DIM, DEFAULT_STEPS_PER_EPOCH
    from gan.wgan import DEFAULT_C_LR, DEFAULT_CLASSIFIER_WEIGHT, DEFAULT_G_LR

    g = C.GanConfig()
    assert (g.latent_dim, g.g_learning_rate, g.c_learning_rate, g.classifier_weight) == (
        DEFAULT_LATENT_DIM, DEFAULT_G_LR, DEFAULT_C_LR, DEFAULT_CLASSIFIER_WEIGHT)
    assert g.checkpoint_every == DEFAULT_STEPS_PER_EPOCH
    assert C.SamplingConfig().max_tries == DEFAULT_MAX_TRIES
    assert C.ClassifierConfig().preset == DEFAULT_PRESET
    assert tuple(C.GAN_LOSSES) == tuple(LOSSES)


def test_transfer_recipe_defaults_agree_with_the_config():
    """gan.transfer's recipe (Python use, the benchmark) and the config's [transfer] section share their knobs."""
    from gan.transfer import TransferSettings

    cfg, lib = C.TransferConfig(), TransferSettings()
    for name in ("target_share", "synthetic", "synthetic_per_class"):
        assert getattr(cfg, name) == getattr(lib, name), name
