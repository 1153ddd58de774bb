"""Adding a setting is a one-place change: a field (with its docstring) of its config section is in the
config, on the command line and in the run, with no other edit."""

from __future__ import annotations

import dataclasses
import types

import numpy as np
import pytest

from har_data.errors import InputError
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
    with pytest.raises(InputError, match="gan.fake_knob must be an integer"):
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


# ---------------------------------------------------------------------------- a sensor

@pytest.fixture
def fake_sensor(monkeypatch):
    """A part added in the one place a sensor lives (its format and ST driver constants together)."""
    from har_data.sensors import SENSORS, SensorPart

    monkeypatch.setitem(SENSORS, "FAKE9", SensorPart({4: 0.5}, {26.0: "26HZ"}, 16, "fake9_reg.h", "FAKE9_FS_{fs}G",
                                                     "FAKE9_ODR_{odr}"))


def test_a_new_sensor_is_in_the_config_cli_and_export(fake_sensor, tmp_path, capsys):
    from firmware_export.headers import sensor_source
    from har_data import SensorSpec

    cfg = C.config_from_dict({"sensor": {"name": "FAKE9", "full_scale_g": 4, "odr_hz": 26}})
    assert cfg.sensor.name == "FAKE9"
    assert main(["prepare", "--help"]) == 0
    assert "FAKE9" in capsys.readouterr().out
    header = sensor_source(SensorSpec("FAKE9", 4, 26.0), 48)
    assert "#define HAR_MODEL_SENSOR_DRV_FULL_SCALE FAKE9_FS_4G" in header
    assert "#define HAR_MODEL_SENSOR_DRV_ODR FAKE9_ODR_26HZ" in header
    assert "#define HAR_MODEL_SENSOR_MG_PER_LSB 0.5f" in header and "fake9_reg.h" in header

    # A rate the part lacks is refused when the config is read: one line naming the file, line and key.
    path = tmp_path / "cfg.toml"
    path.write_text('[sensor]\nname = "FAKE9"\nodr_hz = 52.0\nfull_scale_g = 4\n', encoding="utf-8")
    assert main(["run", "--config", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{path}:3" in err and "sensor.odr_hz: FAKE9 has no 52.0 Hz" in err
    assert not (tmp_path / "run").exists()


def test_every_sensor_rate_has_its_driver_constant():
    """A part's rates are its driver table's keys: a sensor the config accepts always exports."""
    from firmware_export.headers import st_driver_constants
    from har_data import SensorSpec
    from har_data.sensors import SENSORS

    for name, part in SENSORS.items():
        for fs in part.sensitivity:
            for odr in part.odrs:
                header, fs_const, odr_const = st_driver_constants(SensorSpec(name, fs, odr))
                assert header.endswith(".h") and str(fs) in fs_const and part.odrs[odr] in odr_const


def test_the_docs_list_the_registries():
    """docs/reference.md's table of loaders, sensors, presets, losses and steps is the registries'
    (``python -m hargan.registries`` rewrites it)."""
    from hargan import registries

    text = registries.DOC.read_text(encoding="utf-8")
    assert registries.updated(text) == text, "run: python -m hargan.registries"
