"""hargan CLI: --help on every command, usage errors and bad input -> one line on stderr, exit 2, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hargan.cli import main
from hargan.config import Config, config_from_dict, config_text, load_config

COMMANDS = ["demo", "run", "prepare", "train-classifier", "quantize", "train-gan", "generate", "evaluate", "export",
            "stedgeai"]


def _run(capsys, argv):
    code = main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
    assert lines[0].startswith("hargan: error: ")
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_of_every_command_exits_0_with_an_example(capsys, command):
    code, out, err = _run(capsys, ([command] if command else []) + ["--help"])
    assert code == 0
    assert "usage: hargan" in out
    assert "example" in out
    if command:
        assert f"hargan {command}" in out.split("example", 1)[1]


def test_help_is_fast_and_does_not_import_tensorflow():
    code = ("import sys, hargan.cli as c; c.build_parser().format_help(); "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False False"


@pytest.mark.parametrize("argv, needle", [
    ([], "no command given"),
    (["bogus"], "invalid choice"),
    (["train-gan"], "required: --windows"),
    (["prepare", "--source", "nope", "--out", "x.npz"], "invalid choice"),
    (["train-classifier", "--windows", "w.npz", "--out", "d", "--epochs", "many"], "invalid int value"),
])
def test_usage_errors_are_one_line_exit_2(capsys, argv, needle):
    code, _, err = _run(capsys, argv)
    assert code == 2
    assert needle in _one_error_line(err)


def test_run_missing_config_file(capsys, tmp_path):
    out = tmp_path / "out"
    code, _, err = _run(capsys, ["run", "--config", str(tmp_path / "missing.toml"), "--out", str(out)])
    assert code == 2
    line = _one_error_line(err)
    assert "missing.toml: no such file" in line
    assert not out.exists()


def test_malformed_toml_names_the_line(capsys, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("seed = 1\n\n[gan\nsteps = 3\n")
    out = tmp_path / "out"
    code, _, err = _run(capsys, ["run", "--config", str(cfg), "--out", str(out)])
    assert code == 2
    assert f"{cfg}:3: malformed TOML" in _one_error_line(err)
    assert not out.exists()


def test_malformed_json_names_the_line(capsys, tmp_path):
    cfg = tmp_path / "configuration.json"
    cfg.write_text('{\n  "seed": 1,\n  "gan": {"steps": }\n}\n')
    out = tmp_path / "dataset"
    code, _, err = _run(capsys, ["run", "--config", str(cfg), "--out", str(out)])
    assert code == 2
    assert f"{cfg}:3: malformed JSON" in _one_error_line(err)
    assert not out.exists()


def test_unknown_key_is_named_with_its_line(capsys, tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("seed = 1\n[gan]\nsteps = 10\nlatnt_dim = 8\n")
    out = tmp_path / "out"
    code, _, err = _run(capsys, ["run", "--config", str(cfg), "--out", str(out)])
    assert code == 2
    line = _one_error_line(err)
    assert f"{cfg}:4: unknown key 'gan.latnt_dim'" in line
    assert "latent_dim" in line  # lists the valid keys
    assert not out.exists()


def test_unknown_section_and_wrong_type(tmp_path):
    from har_data import InputError

    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"seed": 0, "gann": {}}, indent=1))
    with pytest.raises(InputError, match=r"cfg.json:3: unknown key 'gann'"):
        load_config(cfg)
    cfg.write_text(json.dumps({"classifier": {"epochs": "ten"}}, indent=1))
    with pytest.raises(InputError, match=r"cfg.json:3: classifier.epochs must be an integer"):
        load_config(cfg)
    cfg.write_text(json.dumps({"windows": {"fractions": [0.5, 0.6, 0.1]}}, indent=1))
    with pytest.raises(InputError, match="windows.fractions"):
        load_config(cfg)


@pytest.mark.parametrize("config", [
    '[sensor]\nname = "LSM9DS1"\n',
    '{"sensor": {"name": "LSM9DS1"}}',
])
def test_unknown_sensor_in_config(capsys, tmp_path, config):
    cfg = tmp_path / ("cfg.json" if config.startswith("{") else "cfg.toml")
    cfg.write_text(config)
    out = tmp_path / "out"
    code, _, err = _run(capsys, ["run", "--config", str(cfg), "--out", str(out)])
    assert code == 2
    line = _one_error_line(err)
    assert "unknown sensor 'LSM9DS1'" in line and "LSM6DSL" in line and str(cfg) in line
    assert not out.exists()


def test_unknown_sensor_and_bad_odr_on_the_command_line(capsys, tmp_path):
    out = tmp_path / "w.npz"
    code, _, err = _run(capsys, ["prepare", "--source", "basic-motions", "--sensor", "LSM9DS1", "--out", str(out)])
    assert code == 2
    assert "unknown sensor 'LSM9DS1'" in _one_error_line(err)
    code, _, err = _run(capsys, ["prepare", "--source", "basic-motions", "--odr", "10", "--out", str(out)])
    assert code == 2
    assert "12.5, 26" in _one_error_line(err)
    assert not out.exists()


def test_missing_input_files_of_single_steps(capsys, tmp_path):
    out = tmp_path / "out"
    cases = [
        ["prepare", "--source", "mems-studio", "--path", str(tmp_path / "nope"), "--out", str(out / "w.npz")],
        ["train-classifier", "--windows", str(tmp_path / "nope.npz"), "--out", str(out)],
        ["quantize", "--model", str(tmp_path / "m.keras"), "--windows", str(tmp_path / "w.npz"),
         "--out", str(out / "m.tflite")],
        ["train-gan", "--windows", str(tmp_path / "nope.npz"), "--out", str(out)],
        ["generate", "--generator", str(tmp_path / "g.keras"), "--int8", str(tmp_path / "m.tflite"),
         "--out", str(out)],
        ["evaluate", "--real", str(tmp_path / "w.npz"), "--synthetic", str(tmp_path / "s"), "--out", str(out)],
        ["export", "--int8", str(tmp_path / "m.tflite"), "--out", str(out)],
    ]
    for argv in cases:
        code, _, err = _run(capsys, argv)
        assert code == 2, argv
        assert str(tmp_path) in _one_error_line(err) and "no such file" in err, err
    assert not out.exists()


def test_missing_data_path_in_config_writes_nothing(capsys, tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('[data.source]\nname = "mems-studio"\npath = "no/such/folder"\n')
    out = tmp_path / "out"
    code, _, err = _run(capsys, ["run", "--config", str(cfg), "--out", str(out)])
    assert code == 2
    assert "no/such/folder: no such file or folder" in _one_error_line(err)
    assert not out.exists()


def test_bad_windows_file_is_input_error(capsys, tmp_path):
    bad = tmp_path / "w.npz"
    bad.write_text("not a zip")
    out = tmp_path / "out"
    code, _, err = _run(capsys, ["train-classifier", "--windows", str(bad), "--out", str(out)])
    assert code == 2
    assert str(bad) in _one_error_line(err)
    assert not out.exists()


def test_debug_shows_the_traceback(capsys, tmp_path):
    code, _, err = _run(capsys, ["run", "--config", str(tmp_path / "missing.toml"), "--debug"])
    assert code == 2
    assert "Traceback" in err and err.rstrip().splitlines()[-1].startswith("hargan: error: ")


def test_internal_error_exits_1(capsys, monkeypatch, tmp_path):
    import hargan.cli as cli

    def boom(args):
        raise RuntimeError("kaput")

    monkeypatch.setattr(cli, "cmd_demo", boom)
    code, _, err = _run(capsys, ["demo", "--out", str(tmp_path / "o")])
    assert code == 1
    assert "internal error: RuntimeError: kaput" in _one_error_line(err)
    assert "--debug" in err


def _diverged(args):
    from gan.callbacks import TrainingDiverged

    raise TrainingDiverged("training diverged: loss=nan by update 7; no model was saved")


def _short(args):
    from gan.sampling import AcceptanceError

    raise AcceptanceError("int8 classifier accepts too few generated windows after 20 rounds: 'walking': 3 of 5")


@pytest.mark.parametrize("failure", [_diverged, _short])
def test_training_that_fails_exits_3_not_as_bad_input(capsys, monkeypatch, tmp_path, failure):
    import hargan.cli as cli
    from har_data.errors import InputError, TrainingError

    monkeypatch.setattr(cli, "cmd_demo", failure)
    with pytest.raises(TrainingError) as raised:
        failure(None)
    assert not isinstance(raised.value, InputError)
    code, _, err = _run(capsys, ["demo", "--out", str(tmp_path / "o")])
    assert code == 3 == cli.EXIT_TRAINING
    line = _one_error_line(err)
    assert line == f"hargan: error: {raised.value}" and "internal error" not in line


def test_config_round_trips_through_toml(tmp_path):
    import tomllib

    cfg = Config()
    cfg.seed = 7
    cfg.data.classes = ["standing", "walking"]
    cfg.data.source.class_map = {"1": "standing", "odd label": ""}
    from hargan.config import DomainConfig

    cfg.data.target = DomainConfig(name="mems-studio", path="/data/x y", options={"skip": 2})
    text = config_text(cfg)
    assert config_from_dict(tomllib.loads(text)) == cfg
    path = tmp_path / "c.toml"
    path.write_text(text)
    assert load_config(path) == cfg


def test_print_config_shows_every_default(capsys):
    code, out, _ = _run(capsys, ["run", "--print-config"])
    assert code == 0
    import tomllib

    assert config_from_dict(tomllib.loads(out)) == Config()


def test_json_config_and_relative_paths(tmp_path):
    (tmp_path / "logs").mkdir()
    cfg = tmp_path / "configuration.json"
    cfg.write_text(json.dumps({"data": {"source": {"name": "mems-studio", "path": "logs"}},
                               "sensor": {"name": "LSM6DSO", "full_scale_g": 8, "odr_hz": 52},
                               "gan": {"steps": 5}}))
    c = load_config(cfg)
    assert c.data.source.path == str((tmp_path / "logs").resolve())
    assert (c.sensor.name, c.sensor.full_scale_g, c.sensor.odr_hz) == ("LSM6DSO", 8, 52.0)
    assert c.gan.steps == 5 and c.gan.n_critic == Config().gan.n_critic


def test_loader_errors_name_the_file_or_the_config_key(capsys, tmp_path):
    logs = tmp_path / "logs" / "0_walking"
    logs.mkdir(parents=True)
    (logs / "log_0.csv").write_text("not,a,mems,studio\nlog\n")
    out = tmp_path / "out"
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[data.source]\nname = "mems-studio"\npath = "{logs.parent}"\n')
    code, _, err = _run(capsys, ["run", "--config", str(cfg), "--out", str(out)])
    assert code == 2
    assert str(logs / "log_0.csv") in _one_error_line(err)
    cfg.write_text(f'[data.source]\nname = "pamap2"\npath = "{logs.parent}"\nimu = "elbow"\n')
    code, _, err = _run(capsys, ["run", "--config", str(cfg), "--out", str(out)])
    assert code == 2
    assert f"{cfg}: data.source: " in _one_error_line(err) and "elbow" in err
    assert not out.exists()
