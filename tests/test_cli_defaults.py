"""Every default is defined once: the command line's options, defaults, ranges, lists and help are the
config dataclasses' (hargan.options generates them), and the libraries' own defaults agree with them."""

from __future__ import annotations

import dataclasses

import pytest

from hargan import config as C
from hargan.cli import UsageError, build_parser, main
from hargan.options import field_docs, section_class, section_from_args

# Command -> its required options, and the config sections its options are generated from.
COMMANDS = {
    "prepare": (["--source", "basic-motions", "--out", "w.npz"], ("windows",)),
    "train-classifier": (["--windows", "w.npz", "--out", "o"], ("classifier",)),
    "quantize": (["--model", "m.keras", "--windows", "w.npz", "--out", "m.tflite"], ("classifier",)),
    "train-gan": (["--windows", "w.npz", "--out", "o"], ("gan",)),
    "generate": (["--generator", "g.keras", "--int8", "m.tflite", "--out", "o"], ("sampling",)),
    "evaluate": (["--real", "w.npz", "--synthetic", "s", "--out", "o"], ("evaluation", "classifier")),
    "export": (["--int8", "m.tflite", "--out", "o"], ("export",)),
}


def _parse(*argv: str):
    return build_parser().parse_args(list(argv))


def _help(capsys, command: str) -> str:
    assert main([command, "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_default_is_the_config_default(command):
    required, sections = COMMANDS[command]
    args = _parse(command, *required)
    for section in sections:
        assert section_from_args(args, section) == section_class(section)(), f"{command} [{section}]"


@pytest.mark.parametrize("command,option,section,field,value", [
    ("prepare", "--window", "windows", "length", 32),
    ("train-classifier", "--learning-rate", "classifier", "learning_rate", 0.01),
    ("quantize", "--samples", "classifier", "representative_samples", 50),
    ("train-gan", "--n-critic", "gan", "n_critic", 2),
    ("generate", "--no-realism-gate", "sampling", "realism_gate", False),
    ("evaluate", "--no-augmentation", "evaluation", "augmentation", False),
    ("export", "--name", "export", "name", "board_model"),
])
def test_an_option_sets_its_config_field(command, option, section, field, value):
    required, _ = COMMANDS[command]
    argv = [option] if isinstance(value, bool) else [option, str(value)]
    assert getattr(section_from_args(_parse(command, *required, *argv), section), field) == value


@pytest.mark.parametrize("argv,message", [
    (["train-gan", "--n-critic", "0"], "--n-critic: must be at least 1"),
    (["train-classifier", "--learning-rate", "0"], "--learning-rate: must be positive"),
    (["export", "--name", "9lives"], "is not a C identifier"),
])
def test_an_option_has_its_config_key_rules(argv, message):
    command = argv[0]
    with pytest.raises(UsageError, match=message):
        _parse(*argv, *COMMANDS[command][0])


def test_help_is_the_field_docstring(capsys):
    text = _help(capsys, "train-gan")
    for field, doc in field_docs(C.GanConfig).items():
        assert f"--{field.replace('_', '-')}" in text
        assert doc in text, field


@pytest.mark.parametrize("section", sorted({s for _, sections in COMMANDS.values() for s in sections}))
def test_every_field_the_command_line_shows_has_a_docstring(section):
    cls = section_class(section)
    assert set(field_docs(cls)) >= {f.name for f in dataclasses.fields(cls)} - {"fractions"}


@pytest.mark.parametrize("argv,registry", [
    (["prepare", "--source", "nope", "--out", "w.npz"], C.SOURCES),
    (["train-gan", "--windows", "w.npz", "--out", "o", "--loss", "nope"], C.GAN_LOSSES),
    (["run", "--config", "c.toml", "--until", "nope"], "STEP_NAMES"),
    (["train-classifier", "--windows", "w.npz", "--out", "o", "--preset", "nope"], "PRESETS"),
])
def test_option_lists_are_the_registries(argv, registry):
    if registry == "STEP_NAMES":
        from hargan.flow import STEP_NAMES as registry
    elif registry == "PRESETS":
        from classifier.presets import PRESETS as registry
    with pytest.raises(UsageError) as exc:
        _parse(*argv)
    assert "choose from " + ", ".join(repr(n) for n in registry) in str(exc.value)


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
