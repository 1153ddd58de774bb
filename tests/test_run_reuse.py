"""Step reuse: a step's fingerprint covers every field of its config sections, and a step whose
output was damaged after it ran is run again instead of reused."""

from __future__ import annotations

import contextlib
import dataclasses
import io

import pytest

from hargan.cli import main
from hargan.config import Config
from hargan.flow import STEPS
from hargan.runs import RunDir


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return value + value[:1] if value else ["x"]
    if isinstance(value, dict):
        return {**value, "x": "y"}
    return "x"


def _section(cfg: Config, dotted: str):
    obj = cfg
    for k in dotted.split("."):
        obj = getattr(obj, k)
    return obj


@pytest.mark.parametrize("step", STEPS, ids=[s.name for s in STEPS])
def test_every_field_of_a_steps_sections_is_in_its_fingerprint(step):
    base = step.config_hash(Config())
    checked = 0
    for name in step.sections:
        section = _section(Config(), name)
        if not dataclasses.is_dataclass(section):
            continue
        for f in dataclasses.fields(section):
            cfg = Config()
            target = _section(cfg, name)
            setattr(target, f.name, _changed(getattr(target, f.name)))
            changed = step.config_hash(cfg) != base
            assert changed == (f"{name}.{f.name}" not in step.exclude), f"{step.name}: {name}.{f.name}"
            checked += 1
    assert checked or not step.sections
    assert step.config_hash(dataclasses.replace(Config(), seed=1)) != base


def test_a_new_gan_field_changes_the_gan_fingerprint():
    """A field added to GanConfig is hashed without anyone listing it."""
    from hargan.steps.gan import TrainGan

    @dataclasses.dataclass
    class NewGanConfig(type(Config().gan)):
        new_knob: float = 0.5

    cfg, cfg2 = Config(), Config()
    cfg.gan, cfg2.gan = NewGanConfig(), NewGanConfig(new_knob=0.6)
    assert TrainGan().config_hash(cfg) != TrainGan().config_hash(cfg2)


def test_exclusions_must_name_a_hashed_key():
    with pytest.raises(ValueError, match="cannot exclude"):
        Config().section_hash("gan", exclude=("gan.no_such_key",))


def test_a_damaged_output_is_not_reused(tmp_path):
    logs: list[str] = []
    runs = []

    def body():
        runs.append(1)
        (tmp_path / "model.keras").write_bytes(b"a complete model" * 100)
        return {"ok": True}

    def step():
        return RunDir(tmp_path, log=logs.append).run_step("classifier", config_hash="c", outputs=["model.keras"],
                                                         body=body)

    step()
    assert step().reused and len(runs) == 1 and "reusing classifier (unchanged)" in logs
    logs.clear()
    with open(tmp_path / "model.keras", "r+b") as fh:  # truncated, as by a full disk or a killed copy
        fh.truncate(10)
    rec = step()
    assert not rec.reused and len(runs) == 2 and "reusing classifier (unchanged)" not in logs
    assert (tmp_path / "model.keras").stat().st_size == 1600
    assert step().reused


TINY = """\
[classifier]
preset = "cnn1d_tiny"
epochs = 1
[windows]
stride = 48
"""


def _run(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue() + err.getvalue()


def test_a_truncated_classifier_is_trained_again(tmp_path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY)
    out = tmp_path / "run"
    argv = ["run", "--config", str(cfg), "--out", str(out), "--until", "classifier"]
    code, text = _run(argv)
    assert code == 0, text[-2000:]
    model = out / "classifier" / "model.keras"
    size = model.stat().st_size
    with open(model, "r+b") as fh:
        fh.truncate(size // 2)
    code, text = _run(argv)
    assert code == 0, text[-2000:]
    assert "reusing prepare (unchanged)" in text
    assert "reusing classifier (unchanged)" not in text and "] classifier:" in text
    assert model.stat().st_size > size // 2
