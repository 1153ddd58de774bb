"""The whole flow: the steps in order, run over one run directory.

prepare -> classifier (float) -> quantize (int8) -> gan -> sample (validated) -> evaluate
(report) -> export (firmware). A transfer run (``data.target`` set) has its own recipe
(:mod:`hargan.steps.transfer`): prepare -> judge -> domain_gan -> classifier (the board model: the
judge, or trained on real + judge-accepted synthetic windows) -> quantize -> sample -> evaluate ->
export. Each step is reused when its config section, its inputs and its
outputs are unchanged (``<out>/.steps/``), so a re-run redoes only what a change affects.

Add a step: a ``Step`` subclass in ``hargan/steps/`` and its place in ``STEPS``.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

from har_data.atomic import write_text
from har_data.errors import InputError
from har_data.manifest import journal
from har_data.outputs import claim_dir
from hargan.config import Config, config_text
from hargan.steps.base import RunContext, Step
from hargan.steps.classifier import TrainClassifier
from hargan.steps.common import Log, check_tensorboard
from hargan.steps.evaluate import Evaluate, summary_lines
from hargan.steps.export import Export
from hargan.steps.gan import TrainGan
from hargan.steps.prepare import Prepare, check_domain_path
from hargan.steps.quantize import Quantize
from hargan.steps.sample import Sample
from hargan.steps.transfer import BoardModel, DomainGan, Judge

# Each run takes the enabled steps in this order (Judge, DomainGan and BoardModel: transfer runs; TrainClassifier
# and TrainGan: one domain). BoardModel is named "classifier" like the step it stands for.
STEPS: tuple[Step, ...] = (Prepare(), Judge(), DomainGan(), BoardModel(), TrainClassifier(), Quantize(), TrainGan(),
                           Sample(), Evaluate(), Export())
STEP_NAMES = tuple(dict.fromkeys(step.name for step in STEPS))


def run_step(ctx: RunContext, step: Step, label: str) -> None:
    """Reuse ``step`` if its config, inputs and outputs are unchanged, else run it; keep its result."""
    config_hash = step.config_hash(ctx.cfg)
    upstream = step.upstream(ctx)
    if upstream:
        config_hash += hashlib.sha256(upstream.encode()).hexdigest()[:16]
    # All or nothing: a step that fails puts back every file it replaced (its checkpoints stay, for resuming).
    with journal(ctx.paths.root, exclude=[str(ctx.paths.checkpoints.relative_to(ctx.paths.root))]):
        rec = ctx.run_dir.run_step(step.name, config_hash=config_hash, inputs=step.inputs(ctx),
                                   external=step.external(ctx), outputs=step.outputs(ctx),
                                   body=lambda: step.run(ctx), label=f"{label} {step.describe(ctx)}")
    ctx.results[step.name] = rec.result


def _check_inputs(cfg: Config, out: Path, config_file: Path | None = None) -> list[str]:
    """Bad input is found before anything is written (every check that needs no data, before the first
    step); returns the user's data paths."""
    where = config_file
    check_domain_path(cfg.data.source, "data.source")
    if cfg.data.target is not None:
        check_domain_path(cfg.data.target, "data.target")
    if out.exists() and not out.is_dir():
        raise InputError("--out exists and is not a folder", out)
    data = [dom.path for dom in (cfg.data.source, cfg.data.target) if dom is not None and dom.path]
    check_tensorboard(cfg.tensorboard, data, where)
    s = cfg.sampling
    if s.log_seconds > 0:
        from gan.continuous import parse_sequence

        samples = s.log_seconds * cfg.sensor.odr_hz
        if samples < cfg.windows.length:
            raise InputError(f"sampling.log_seconds: {s.log_seconds:g} s is shorter than one window "
                             f"({cfg.windows.length} samples = {cfg.windows.length / cfg.sensor.odr_hz:.2f} s at "
                             f"{cfg.sensor.odr_hz:g} Hz)", where)
        if s.sequence.strip() and cfg.data.classes:
            try:
                parse_sequence(s.sequence, cfg.data.classes)
            except InputError as exc:
                raise InputError(f"sampling.sequence: {exc.message}", where) from None
    return data


def _record_config(cfg: Config, out: Path, config_file: str | Path | None, log: Log) -> None:
    """``<out>/config.toml``: the resolved config; never over the --config file itself (an input)."""
    target = out / "config.toml"
    if config_file is not None and target.exists() and target.resolve() == Path(config_file).expanduser().resolve():
        log(f"  {target} is the --config file: left as it is (an input)")
        return
    write_text(target, config_text(cfg))


def _entries(ctx: RunContext) -> list[str]:
    """The run directory's top-level names hargan writes (recorded in its manifest)."""
    root = ctx.paths.root
    paths = [p for p in vars(ctx.paths).values() if isinstance(p, Path) and p != root]
    return sorted({p.relative_to(root).parts[0] for p in paths} | {"config.toml", ".steps"})


def run_pipeline(cfg: Config, out: str | Path, *, force: bool = False, log: Log = print, title: str = "hargan run",
                 until: str | None = None, config_file: str | Path | None = None) -> dict:
    """Run every step into ``out`` (reusing unchanged ones); returns metrics.json's content.

    ``until`` stops after that step (one of ``STEP_NAMES``; "judge" and "domain_gan" only with a target
    domain, "gan" only without);
    returns {} then. ``config_file``: where ``cfg`` was read from (named in errors about it).
    """
    t_start = time.perf_counter()
    out = Path(out).expanduser().absolute()
    data_paths = _check_inputs(cfg, out, None if config_file is None else Path(config_file))
    created = not out.exists()
    ctx = RunContext(cfg, out, force=force, log=log, config_file=None if config_file is None else Path(config_file))
    steps = [s for s in STEPS if s.enabled(cfg)]
    if until is not None and until not in [s.name for s in steps]:
        raise InputError(f"--until {until}: no such step in this run; steps: {', '.join(s.name for s in steps)}")
    log(f"{title}: {out}")
    try:
        # One writer at a time; never the user's data or folder (a run directory of an older hargan has .steps/).
        with claim_dir(out, data_paths, _entries(ctx), adopt=(out / ".steps").is_dir()):
            for i, step in enumerate(steps, 1):
                run_step(ctx, step, f"[{i}/{len(steps)}]")
                if i == 1:  # the data is in place: the run directory records the config that made it
                    _record_config(cfg, out, config_file, log)
                if step.name == until:
                    log(f"stopped after {until} (--until); files in {out}/")
                    return {}
    except InputError:
        if created and not ctx.run_dir.records and out.exists():
            shutil.rmtree(out, ignore_errors=True)
        raise
    metrics = ctx.metrics()
    for line in summary_lines(metrics, out, time.perf_counter() - t_start):
        log(line)
    return metrics
