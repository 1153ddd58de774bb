"""Step 6, sample: validated sampling. Generate windows, map them to the sensor's format, and keep
those the int8 classifier (the board's own model) accepts and that look real (the realism gate,
:mod:`gan.realism`, calibrated on the real training windows), until every class has ``per_class``.

Writes ``synthetic/windows.npz`` (mg and int16 counts), one MEMS Studio CSV log per window
under ``synthetic/csv/<id>_<class>/``, and continuous logs stitched from the accepted windows
under ``synthetic/logs/`` (one per class and one with activity changes, MEMS Studio CSV and ST
datalog, sensor and ODR in the header, a per-sample label column).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from har_data.names import check_path_names
from har_data.outputs import output_dir
from hargan.config import SamplingConfig
from hargan.options import add_section_options, section_from_args
from hargan.steps.base import RunContext, Step
from hargan.steps.common import (Command, Log, add_sensor_arguments, load_generator, load_int8, load_windows, need_file,
                                 optional_file, out_dir, quiet, seed_of, sensor_spec, staged)

if TYPE_CHECKING:
    import keras

    from classifier import Int8Classifier
    from gan.sampling import SyntheticSet
    from har_data import SensorSpec, WindowSet


def realism_gate(real: WindowSet, s: SamplingConfig, critic: keras.Model | None = None):
    """The realism gate of ``[sampling]``, calibrated on the real training windows (enforced or not, it
    measures the pass rates)."""
    from gan.realism import RealismGate

    train = real.subset("train")
    train = train if len(train) else real
    return RealismGate.fit(train.x, train.y, train.class_names, spectrum_quantile=s.realism_spectrum_quantile,
                           critic=critic if s.realism_critic else None,
                           critic_quantiles=s.realism_critic_quantiles)


def _load_critic(path: Path) -> keras.Model:
    import gan  # noqa: F401 - registers the critic's layers
    from classifier import load_keras_model

    return load_keras_model(path, what="critic", compile=False)


def sample_and_save(generator: keras.Model, int8: Int8Classifier, sensor: SensorSpec, out: Path, *,
                    per_class: int, min_confidence: float, max_tries: int, seed: int = 0, realism=None,
                    realism_enforce: bool = True, log_seconds: float = SamplingConfig.log_seconds,
                    sequence: str = SamplingConfig.sequence, log: Log = quiet) -> SyntheticSet:
    """Validated sampling; writes windows.npz, csv/<id>_<class>/log_<n>.csv and (``log_seconds`` > 0)
    the continuous logs in logs/ into ``out``."""
    from gan.continuous import write_continuous_logs
    from gan.sampling import sample_validated

    syn = sample_validated(generator, int8, sensor, per_class=per_class, min_confidence=min_confidence, seed=seed,
                           max_tries=max_tries, realism=realism, realism_enforce=realism_enforce)
    out = Path(out)
    syn.save(out / "windows.npz")
    syn.save_csv(out / "csv")
    acc = {str(k): float(v) for k, v in dict(syn.acceptance_by_class).items()}
    log(f"  accepted {len(syn.y)} windows ({per_class} asked per class), int8 acceptance "
        f"{float(syn.acceptance_rate):.2f} overall: " + ", ".join(f"{k} {v:.2f}" for k, v in acc.items()))
    if syn.realism_pass_by_class:
        log(f"  realism gate{'' if realism_enforce else ' (measured, not enforced)'} pass "
            f"{float(syn.realism_pass_rate):.2f} overall: "
            + ", ".join(f"{k} {v:.2f}" for k, v in syn.realism_pass_by_class.items()))
    if log_seconds > 0:
        logs, _ = write_continuous_logs(syn, out / "logs", log_seconds, sequence or None, seed=seed)
        log(f"  continuous logs ({sensor.odr_hz:g} Hz): " + ", ".join(f"{lg.name} {lg.seconds:g} s" for lg in logs)
            + f", sequence {logs[-1].description['sequence']}")
    return syn


def sampling_result(syn: SyntheticSet) -> dict:
    """The sample step's figures for the report: counts and both rates per class."""
    return {"accepted": int(len(syn.y)), "acceptance_rate": float(syn.acceptance_rate),
            "acceptance_by_class": {str(k): float(v) for k, v in dict(syn.acceptance_by_class).items()},
            "generated_by_class": {str(k): int(v) for k, v in dict(syn.generated_by_class).items()},
            "realism_pass_rate": float(syn.realism_pass_rate) if syn.realism_pass_by_class else None,
            "realism_pass_by_class": {str(k): float(v) for k, v in syn.realism_pass_by_class.items()} or None}


class Sample(Step):
    name = "sample"
    sections = ("sampling", "sensor")

    def describe(self, ctx: RunContext) -> str:
        gate = " and that looks real" if ctx.cfg.sampling.realism_gate else ""
        return f"sample: generate and keep what the int8 model accepts{gate} ({ctx.cfg.sampling.per_class} per class)"

    def inputs(self, ctx: RunContext) -> list[Path]:
        s = ctx.cfg.sampling
        critic = [ctx.paths.gan_dir / "critic.keras"] if s.realism_critic else []
        return [ctx.paths.generator, ctx.paths.int8, ctx.paths.windows] + critic

    def outputs(self, ctx: RunContext) -> list[Path]:
        logs = [ctx.paths.synthetic_dir / "logs"] if ctx.cfg.sampling.log_seconds > 0 else []
        return [ctx.paths.synthetic, ctx.paths.synthetic_dir / "csv", *logs]

    def run(self, ctx: RunContext) -> dict:
        s = ctx.cfg.sampling
        critic = _load_critic(ctx.paths.gan_dir / "critic.keras") if s.realism_critic else None
        syn = sample_and_save(load_generator(ctx.paths.generator), ctx.int8, ctx.sensor, ctx.paths.synthetic_dir,
                              per_class=s.per_class, min_confidence=s.min_confidence, max_tries=s.max_tries,
                              seed=ctx.seed, realism=realism_gate(ctx.windows, s, critic),
                              realism_enforce=s.realism_gate, log_seconds=s.log_seconds,
                              sequence=s.sequence, log=ctx.log)
        ctx.synthetic = syn
        return sampling_result(syn)


# ---------------------------------------------------------------------------- hargan generate

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--generator", required=True, metavar="FILE.keras", help="trained generator")
    p.add_argument("--int8", required=True, metavar="FILE.tflite", help="int8 ST classifier that accepts or rejects")
    p.add_argument("--windows", default=None, metavar="FILE.npz",
                   help="real windows: take the sensor and class names from them (the realism gate needs them)")
    add_section_options(p.add_argument_group("[sampling] settings"), "sampling",
                        only=("per_class", "min_confidence", "max_tries", "log_seconds", "sequence", "realism_gate"),
                        helps={"realism_gate": "keep a window only if it also looks real (gan/realism.py), besides "
                                               "the int8 model accepting it; --no-realism-gate: its pass rates are "
                                               "still reported (default: on when --windows is given)"})
    add_sensor_arguments(p, stored_in="--windows")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for windows.npz, csv/ and logs/")


def _model_class_names(model: keras.Model) -> list[str] | None:
    """The class names a generator was built with (None for a model that does not record them)."""
    from gan.models import model_class_names

    try:
        return list(model_class_names(model))
    except Exception:  # noqa: BLE001 - any model without the record: the int8 model's own names
        return None


def command(args: argparse.Namespace, log: Log) -> None:
    out = out_dir(args.out)
    gen_path = need_file(args.generator, "--generator")
    int8_path = need_file(args.int8, "--int8")
    windows_path = optional_file(args.windows, "--windows")
    with output_dir(out, [gen_path, int8_path, windows_path]) as stage:
        ws = load_windows(windows_path) if windows_path else None
        sensor = sensor_spec(args.sensor, args.full_scale, args.odr, default=ws.sensor if ws is not None else None)
        generator = load_generator(gen_path)
        names = ws.class_names if ws is not None else _model_class_names(generator)
        check_path_names(names or [], path=windows_path or gen_path)  # folder names: before any sampling
        int8 = load_int8(int8_path, names)
        s = section_from_args(args, "sampling")
        if s.log_seconds > 0 and s.sequence.strip():
            from gan.continuous import parse_sequence

            parse_sequence(s.sequence, int8.class_names)  # a typo fails before anything is generated
        gate = realism_gate(ws, s) if ws is not None else None
        if ws is None:
            log("  no realism gate: it is calibrated on real windows (give --windows)")
        log(f"generate: {s.per_class} per class -> {out}")
        sample_and_save(generator, int8, sensor, stage, per_class=s.per_class, min_confidence=s.min_confidence,
                        max_tries=s.max_tries, seed=seed_of(args), realism=gate,
                        realism_enforce=s.realism_gate, log_seconds=s.log_seconds, sequence=s.sequence,
                        log=staged(log, stage, out))
    log(f"wrote {out}/windows.npz, {out}/csv/" + (f" and {out}/logs/" if s.log_seconds > 0 else ""))


COMMAND = Command("generate", "generate windows and keep those the int8 classifier accepts (validated sampling)",
                  "hargan generate --generator gan/generator.keras --int8 model_int8.tflite --windows windows.npz "
                  "--per-class 200 --out synthetic\n"
                  "hargan generate ... --log-seconds 120 --sequence walking:30,stationary:20,walking:10 "
                  "--out synthetic",
                  add_arguments, command)
