"""`hargan demo --quick` end to end: every artifact of docs/architecture.md's run directory, metrics.json's keys,
step reuse on a second run, a config change that re-runs only what depends on it, and the
single-step commands on the demo's files."""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import stat
import tomllib
from pathlib import Path

import numpy as np
import pytest

from hargan.cli import main

pytestmark = pytest.mark.slow  # long: runs first (tests/conftest.py)

REQUIRED_KEYS = (
    "classifier.float_accuracy", "classifier.int8_accuracy", "classifier.macro_f1",
    "classifier.tflite_bytes", "classifier.arena_bytes", "int8_runtimes_agree",
    "gan.trtr_accuracy", "gan.tstr_accuracy", "gan.tstr_ratio", "gan.discriminative_score",
    "gan.mmd", "gan.acceptance_rate", "gan.acceptance_by_class",
    "timing.gan_train_seconds", "timing.total_seconds",
)
STEPS = ("prepare", "classifier", "quantize", "gan", "sample", "export", "evaluate")


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _main(argv: list[str]) -> tuple[int, str, str, float]:
    """Run the CLI in-process; returns (exit code, stdout, stderr, CPU seconds used)."""
    out, err = io.StringIO(), io.StringIO()
    t0 = _cpu_seconds()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue(), _cpu_seconds() - t0


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "run"
    code, stdout, stderr, seconds = _main(["demo", "--quick", "--out", str(out)])
    assert code == 0, stdout[-3000:] + stderr[-3000:]
    return out, stdout, seconds


def _get(d: dict, dotted: str):
    for k in dotted.split("."):
        assert isinstance(d, dict) and k in d, f"metrics.json lacks {dotted}"
        d = d[k]
    return d


def test_demo_writes_the_whole_run_directory(demo):
    out, stdout, seconds = demo
    for rel in ("config.toml", "data/windows.npz", "classifier/model.keras", "classifier/model_int8.tflite",
                "gan/generator.keras", "gan/critic.keras", "gan/history.csv", "synthetic/windows.npz",
                "report/metrics.json", "report/report.md"):
        assert (out / rel).is_file() and (out / rel).stat().st_size > 0, rel
    pngs = sorted(p.name for p in (out / "report").glob("*.png"))
    assert pngs, "report has no PNG plots"
    md = (out / "report" / "report.md").read_text()
    assert any(name in md for name in pngs), "report.md links none of its PNGs"
    firmware = list((out / "firmware").iterdir())
    assert any(p.suffix == ".h" for p in firmware) and any(p.suffix == ".c" for p in firmware)
    logs = sorted(p.name for p in (out / "synthetic" / "logs").iterdir())
    assert logs == sorted(f"{stem}{ext}" for stem in ("class_standing", "class_walking", "class_running",
                                                      "class_badminton", "sequence") for ext in (".csv", ".txt"))
    # Folders get the user's umask like any file they create (not tempfile's 0700).
    mask = os.umask(0)
    os.umask(mask)
    for rel in ("firmware", "synthetic/csv", "synthetic/logs"):
        assert stat.S_IMODE((out / rel).stat().st_mode) == 0o777 & ~mask, rel
    # No temporary files left behind by the atomic writes.
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    # The resolved configuration is the demo preset, readable by `hargan run`.
    cfg = tomllib.loads((out / "config.toml").read_text())
    assert cfg["sensor"] == {"name": "LSM6DSL", "full_scale_g": 4, "odr_hz": 12.5}
    assert cfg["data"]["source"]["name"] == "basic-motions"
    # Progress and the summary were shown.
    for step in STEPS:
        assert f"] {step}" in stdout, step
    assert "summary" in stdout and "TSTR" in stdout and "acceptance" in stdout and str(out) in stdout
    # The machine running the suite may be shared; CPU time / 2 is what the run needs on 2 free cores.
    assert seconds / 2 < 180, f"demo --quick used {seconds:.0f} CPU seconds"


def test_metrics_json_has_every_design_key(demo):
    out, _, _ = demo
    m = json.loads((out / "report" / "metrics.json").read_text())
    for key in REQUIRED_KEYS:
        v = _get(m, key)
        assert v is not None, key
    for key in ("classifier.float_accuracy", "classifier.int8_accuracy", "classifier.macro_f1",
                "gan.trtr_accuracy", "gan.tstr_accuracy", "gan.acceptance_rate"):
        assert 0.0 <= _get(m, key) <= 1.0, key
    assert _get(m, "classifier.tflite_bytes") == (out / "classifier/model_int8.tflite").stat().st_size
    assert _get(m, "classifier.arena_bytes") > 0
    assert isinstance(m["int8_runtimes_agree"], bool)
    assert m["timing"]["total_seconds"] >= m["timing"]["gan_train_seconds"] > 0
    by_class = m["gan"]["acceptance_by_class"]
    names = [str(c) for c in np.load(out / "data/windows.npz")["class_names"]]
    assert sorted(by_class) == sorted(names)
    # --quick measures the realism gate without enforcing it (a 200-step GAN is not realistic)
    assert sorted(m["gan"]["realism_pass_by_class"]) == sorted(names)
    assert all(0.0 <= v <= 1.0 for v in m["gan"]["realism_pass_by_class"].values())


def test_classify_the_demo_board_model_on_logs(demo, tmp_path):
    """`hargan classify --run`: the quantize step's preprocessing record, the board's preprocessing on logs."""
    out, _, _ = demo
    record = json.loads((out / "classifier" / "model_int8.json").read_text())
    assert record["odr_hz"] == 12.5 and record["window"] == 48 and record["stride"] == 12
    assert record["suppress_gravity"] is False and record["class_names"] == ["standing", "walking", "running",
                                                                            "badminton"]
    code, stdout, stderr, _ = _main(["classify", "--run", str(out), "--source", "basic-motions",
                                     "--out", str(tmp_path / "check")])
    assert code == 0, stdout[-2000:] + stderr
    m = json.loads((tmp_path / "check" / "metrics.json").read_text())
    assert m["windows"] > 0 and m["accuracy"] > 0.5 and set(m["accuracy_by_class"]) == set(record["class_names"])
    rows = (tmp_path / "check" / "predictions.csv").read_text().splitlines()
    assert rows[0] == "recording,window_start,window_start_s,predicted,score,smoothed,true"
    assert len(rows) == m["windows"] + 1


def test_synthetic_windows_are_in_the_sensor_format(demo):
    out, _, _ = demo
    with np.load(out / "synthetic/windows.npz") as z:
        x_mg, x_counts, y = z["x_mg"], z["x_counts"], z["y"]
        names = [str(c) for c in z["class_names"]]
        sensor = json.loads(str(z["sensor"]))
    assert sensor == {"name": "LSM6DSL", "full_scale_g": 4, "odr_hz": 12.5}
    assert x_counts.dtype == np.int16 and x_mg.shape == x_counts.shape and x_mg.shape[1:] == (48, 3)
    np.testing.assert_allclose(x_mg, x_counts * 0.122, rtol=1e-5, atol=1e-3)
    assert np.abs(x_mg).max() <= 4000 + 0.122
    per_class = np.bincount(y, minlength=len(names))
    assert (per_class == per_class[0]).all() and per_class[0] > 0
    for cid, name in enumerate(names):
        logs = sorted((out / "synthetic" / "csv" / f"{cid}_{name}").glob("log_*.csv"))
        assert len(logs) == per_class[cid], name


@pytest.mark.parametrize("source", ["mems-studio", "st-datalog"])
def test_continuous_logs_load_back_at_their_rate(demo, tmp_path, source):
    """synthetic/logs/ (60 s per class plus one through every class) reloads with `hargan prepare` at 12.5 Hz."""
    from har_data import load_source

    out, _, _ = demo
    recs = load_source(source, out / "synthetic" / "logs")
    assert {r.odr_hz for r in recs} == {12.5}
    per_class = [r for r in recs if Path(r.source).stem.startswith("class_")]
    assert sorted(len(r) for r in per_class) == [750] * 4  # 60 s at 12.5 Hz
    sequence = [r.label for r in recs if Path(r.source).stem == "sequence"]
    assert sequence == ["standing", "walking", "running", "badminton"]
    code, stdout, stderr, _ = _main(["prepare", "--source", source, "--path", str(out / "synthetic" / "logs"),
                                     "--odr", "12.5", "--classes", "standing", "walking", "running", "badminton",
                                     "--out", str(tmp_path / "w.npz")])
    assert code == 0, stdout[-1500:] + stderr[-1500:]
    with np.load(tmp_path / "w.npz") as z:
        assert len(z["y"]) > 0 and z["x"].shape[1:] == (48, 3)


def test_second_run_reuses_every_step(demo):
    out, _, _ = demo
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and ".steps" not in p.parts
              and p.name not in ("config.toml", ".hargan.lock")}
    code, stdout, stderr, seconds = _main(["demo", "--quick", "--out", str(out)])
    assert code == 0, stderr
    for step in STEPS:
        assert f"reusing {step} (unchanged)" in stdout, step
    after = {p: p.stat().st_mtime_ns for p in before}
    assert after == before, "a reused step rewrote its files"
    assert "summary" in stdout
    assert seconds < 20, f"a fully reused run used {seconds:.0f} CPU seconds"


def test_json_config_change_reruns_only_what_depends_on_it(demo, tmp_path):
    """`hargan run --config configuration.json --out DIR` on the demo's saved config with a new export name."""
    out, _, _ = demo
    cfg = tomllib.loads((out / "config.toml").read_text())
    cfg["export"]["name"] = "walk_model"
    path = tmp_path / "configuration.json"
    path.write_text(json.dumps(cfg, indent=2))
    code, stdout, stderr, _ = _main(["run", "--config", str(path), "--out", str(out)])
    assert code == 0, stdout[-2000:] + stderr
    for step in ("prepare", "classifier", "quantize", "gan", "sample", "evaluate"):
        assert f"reusing {step} (unchanged)" in stdout, step
    assert "reusing export" not in stdout
    names = {p.name for p in (out / "firmware").iterdir()}
    assert any(n.startswith("walk_model") for n in names), names
    assert not any(n.startswith("har_model") for n in names), names
    assert tomllib.loads((out / "config.toml").read_text())["export"]["name"] == "walk_model"


def test_single_step_commands_on_the_demo_files(demo, tmp_path):
    """prepare, train-classifier, quantize, train-gan (and --init), generate, evaluate, export: each writes only
    under its --out."""
    run, _, _ = demo
    windows, model = run / "data/windows.npz", run / "classifier/model.keras"
    tflite, generator = run / "classifier/model_int8.tflite", run / "gan/generator.keras"
    before = sorted(p.name for p in tmp_path.iterdir())

    def ok(argv):
        code, stdout, stderr, _ = _main(argv)
        assert code == 0, f"{argv}: {stdout[-1500:]} {stderr[-1500:]}"
        return stdout

    ok(["prepare", "--source", "basic-motions", "--odr", "12.5", "--classes", "standing", "walking", "running",
        "badminton", "--out", str(tmp_path / "w.npz")])
    with np.load(tmp_path / "w.npz") as z, np.load(windows) as ref:
        assert z["x"].shape[1:] == (48, 3) and list(z["class_names"]) == list(ref["class_names"])

    ok(["train-classifier", "--windows", str(windows), "--epochs", "1", "--tensorboard", str(tmp_path / "tb"),
        "--out", str(tmp_path / "clf")])
    assert {"model.keras", "confusion_float.png", "metrics.json", "history.csv"} <= {
        p.name for p in (tmp_path / "clf").iterdir()}
    assert list((tmp_path / "tb").rglob("events.out.tfevents.*"))

    out = ok(["quantize", "--model", str(model), "--windows", str(windows), "--samples", "50",
              "--out", str(tmp_path / "q" / "m.tflite")])
    # the int8 model, its preprocessing record, and hargan's record that it wrote them (and its writer lock)
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == [".hargan-manifest.json", ".hargan.lock",
                                                                  "m.json", "m.tflite"]
    assert "int8 model" in out

    ok(["train-gan", "--windows", str(windows), "--classifier", str(model), "--steps", "2", "--batch-size", "8",
        "--n-critic", "1", "--latent-dim", "8", "--out", str(tmp_path / "g")])
    assert {"generator.keras", "critic.keras", "history.csv"} <= {p.name for p in (tmp_path / "g").iterdir()}
    ok(["train-gan", "--windows", str(windows), "--classifier", str(model), "--init", str(generator),
        "--steps", "2", "--batch-size", "8", "--n-critic", "1", "--latent-dim", "32", "--out", str(tmp_path / "ft")])
    assert (tmp_path / "ft" / "generator.keras").is_file()

    out = ok(["generate", "--generator", str(generator), "--int8", str(tflite), "--windows", str(windows),
              "--per-class", "2", "--min-confidence", "0", "--no-realism-gate", "--log-seconds", "10",
              "--sequence", "walking:5,standing:4", "--out", str(tmp_path / "syn")])
    assert "realism gate (measured, not enforced) pass" in out
    with np.load(tmp_path / "syn" / "windows.npz") as z:
        assert len(z["y"]) == 8 and json.loads(str(z["sensor"]))["odr_hz"] == 12.5
    assert len(list((tmp_path / "syn" / "csv").rglob("log_*.csv"))) == 8
    seq = (tmp_path / "syn" / "logs" / "sequence.csv").read_text().splitlines()
    # 5 s at 12.5 Hz: 63 samples (halves round up), then 4 s: 50 samples.
    assert seq[0] == "# hargan: sensor=LSM6DSL full_scale_g=4 odr_hz=12.5 seconds=9.04 sequence=walking:5,standing:4"
    assert len(seq) == 3 + 113 and seq[3 + 63].endswith(",standing") and seq[3 + 62].endswith(",walking")
    code, _, err, _ = _main(["generate", "--generator", str(generator), "--int8", str(tflite), "--windows",
                             str(windows), "--sequence", "jogging:5", "--out", str(tmp_path / "bad")])
    assert code == 2 and "unknown class 'jogging'" in err and not (tmp_path / "bad").exists()

    ok(["evaluate", "--real", str(windows), "--synthetic", str(tmp_path / "syn"), "--int8", str(tflite), "--quick",
        "--no-augmentation", "--out", str(tmp_path / "ev")])
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert 0 <= m["gan"]["tstr_accuracy"] <= 1 and m["gan"]["augmentation_gain"] == {}
    assert m["classifier"]["int8_accuracy"] is not None and m["timing"]["total_seconds"] > 0
    assert (tmp_path / "ev" / "report.md").is_file() and list((tmp_path / "ev").glob("*.png"))

    (tmp_path / "fw").mkdir()
    (tmp_path / "fw" / "main.c").write_text("int main(void) { return 0; }\n")  # a project file: left alone
    ok(["export", "--int8", str(tflite), "--test-vectors", str(windows), "--name", "demo_model",
        "--out", str(tmp_path / "fw")])
    names = [p.name for p in (tmp_path / "fw").iterdir() if p.name != "main.c" and not p.name.startswith(".hargan")]
    assert any(n.endswith(".h") for n in names) and any(n.endswith(".c") for n in names)
    assert all(n.startswith("demo_model") or n in ("README.md", "selftest") for n in names), names
    assert (tmp_path / "fw" / "selftest" / "Makefile").is_file()
    assert (tmp_path / "fw" / "main.c").read_text().startswith("int main")

    after = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".hargan"))  # + hargan's records
    assert sorted(set(after) - set(before)) == ["clf", "ev", "ft", "fw", "g", "q", "syn", "tb", "w.npz"]


FAKE_STEDGEAI = """#!/usr/bin/env python3
import sys
from pathlib import Path
args = sys.argv[1:]
opt = lambda k: args[args.index(k) + 1]
out = Path(opt("--output")); out.mkdir(parents=True, exist_ok=True)
name = opt("--name")
(out / f"{name}_{args[0]}_report.txt").write_text(
    " weights (ro)         : 3,041 B (2.97 KiB)\\n activations (rw)     : 1,780 B (1.74 KiB)\\n"
    " macc                 : 56,160\\n")
if args[0] == "generate":
    (out / f"{name}.c").write_text("/* generated */\\n")
print("fake stedgeai", " ".join(args))
"""


def test_stedgeai_command(demo, tmp_path):
    run, _, _ = demo
    tflite = run / "classifier/model_int8.tflite"
    # Not installed: one line that says where to get it, exit 2, nothing written.
    code, _, err, _ = _main(["stedgeai", "analyze", "--model", str(tflite), "--stedgeai", str(tmp_path / "none"),
                             "--out", str(tmp_path / "st")])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "ST Edge AI Core" in err
    assert not (tmp_path / "st").exists()
    # --estimate: the offline footprint instead.
    code, stdout, _, _ = _main(["stedgeai", "analyze", "--model", str(tflite), "--stedgeai", str(tmp_path / "none"),
                                "--estimate", "--out", str(tmp_path / "est")])
    assert code == 0 and "weights_bytes" in stdout
    est = json.loads((tmp_path / "est" / "hargan_stedgeai_analyze.json").read_text())
    assert est["weights_bytes"] > 0 and est["arena_bytes"] > 0
    # A stand-in executable: the command line reaches it and its report is parsed.
    fake = tmp_path / "bin" / "stedgeai"
    fake.parent.mkdir()
    fake.write_text(FAKE_STEDGEAI)
    fake.chmod(0o755)
    for action in ("analyze", "generate"):
        code, stdout, stderr, _ = _main(["stedgeai", action, "--model", str(tflite), "--stedgeai", str(fake),
                                         "--target", "stm32l4", "--out", str(tmp_path / action)])
        assert code == 0, stderr
        res = json.loads((tmp_path / action / f"hargan_stedgeai_{action}.json").read_text())
        assert res["weights_bytes"] == 3041 and res["macc"] == 56160
        assert "--target" in res["argv"] and "stm32l4" in res["argv"]
    assert (tmp_path / "generate" / "network.c").is_file()
