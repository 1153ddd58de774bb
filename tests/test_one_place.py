"""Adding a setting is a one-place change: a field (with its docstring) of its config section is in the
config, on the command line and in the run, with no other edit."""

from __future__ import annotations

import dataclasses
import types

import numpy as np
import pytest

from hargan import config as C
from hargan.cli import build_parser, main
from hargan.options import section_from_args


@dataclasses.dataclass
class GanWithKnob(C.GanConfig):
    fake_knob: int = 7
    """A fake GAN setting, declared here only."""


class Captured(Exception):
    """Raised by the fake train_gan with the keyword arguments the run gave it."""


@pytest.fixture
def knob(monkeypatch):
    """The GAN config with one more field (``hargan.config.GanConfig`` is the one place a setting lives);
    ``train_gan`` replaced by one that reports what it was given."""
    import gan.training

    monkeypatch.setattr(C, "GanConfig", GanWithKnob)

    def fake_train_gan(windows, classifier, **kwargs):
        raise Captured(kwargs)

    monkeypatch.setattr(gan.training, "train_gan", fake_train_gan)


def _windows():
    from har_data import WindowSet
    from har_data.sensors import DEFAULT_SENSOR

    rng = np.random.default_rng(0)
    x = rng.normal(0, 100, (8, 16, 3)).astype(np.float32)
    return WindowSet(x, np.arange(8) % 2, ["a", "b"], np.full(8, "train"), np.arange(8).astype(str),
                     DEFAULT_SENSOR, DEFAULT_SENSOR.odr_hz)


def test_a_new_gan_setting_is_in_the_config(knob):
    assert C.Config().gan.fake_knob == 7
    assert C.config_from_dict({"gan": {"fake_knob": 3}}).gan.fake_knob == 3
    assert "fake_knob = 7" in C.config_text(C.Config())
    with pytest.raises(C.InputError, match="gan.fake_knob must be an integer"):
        C.config_from_dict({"gan": {"fake_knob": "x"}})


def test_a_new_gan_setting_is_on_the_command_line(knob, capsys):
    assert main(["train-gan", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--fake-knob N A fake GAN setting, declared here only. (default: 7)" in text
    args = build_parser().parse_args(["train-gan", "--windows", "w.npz", "--out", "o", "--fake-knob", "5"])
    assert section_from_args(args, "gan") == GanWithKnob(fake_knob=5)
    assert main(["train-gan", "--windows", "w.npz", "--out", "o", "--fake-knob", "x"]) == 2


def test_a_new_gan_setting_reaches_the_training(knob, tmp_path, capsys):
    from hargan.steps.gan import TrainGan

    windows = tmp_path / "w.npz"
    _windows().save(windows)
    assert main(["train-gan", "--windows", str(windows), "--out", str(tmp_path / "gan"), "--fake-knob", "5"]) == 1
    assert "'fake_knob': 5" in capsys.readouterr().err  # the command's train_gan call

    cfg = C.config_from_dict({"gan": {"fake_knob": 4}})
    ctx = types.SimpleNamespace(cfg=cfg, windows=_windows(), classifier=None, seed=0, log=lambda m: None,
                                paths=types.SimpleNamespace(gan_dir=tmp_path / "run", checkpoints=tmp_path / "ck"),
                                tensorboard_dir=lambda name: None)
    with pytest.raises(Captured) as exc:
        TrainGan().run(ctx)  # the pipeline's gan step
    assert exc.value.args[0]["fake_knob"] == 4
    assert TrainGan().config_hash(cfg) != TrainGan().config_hash(C.Config())  # a changed value re-runs the step
