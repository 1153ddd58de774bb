"""A step of the flow and the run it happens in.

A :class:`Step` names its config sections, its input and output files and a ``run(ctx)`` that
writes the outputs. Its fingerprint is the hash of those whole sections (minus the keys it
names in ``exclude``, which belong to another step) and of its input files, so a new config
field is part of it by default; the run directory also keeps each output's digest, so a step
whose output was damaged runs again (see :mod:`hargan.runs`).

A :class:`RunContext` holds the config, the run directory's layout, the earlier steps'
results and every window set / model, each loaded once, on first use (a step that has just
made one hands it over by assigning the attribute).
"""

from __future__ import annotations

import contextlib
import json
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Iterator

from har_data.errors import InputError
from hargan.config import Config, DomainConfig, gravity_filter
from hargan.runs import RunDir
from hargan.steps.common import Log, load_int8, load_float_classifier, load_windows

if TYPE_CHECKING:
    import keras

    from classifier import Int8Classifier
    from gan.sampling import SyntheticSet
    from har_data import SensorSpec, WindowSet


class Layout:
    """Where each artifact lives in the run directory (docs/architecture.md, "The run directory")."""

    def __init__(self, root: Path, transfer: bool):
        self.root = root
        self.windows = root / "data" / "windows.npz"
        """The windows the board model is built for (the target domain's when there is one)."""
        self.source_windows = root / "data" / "source_windows.npz" if transfer else self.windows
        """A transfer run's source-domain windows (the public set)."""
        self.unfiltered_windows = root / "data" / "windows_unfiltered.npz"
        """With the gravity filter on: the held-out split of ``windows`` before the filter (the sensor's
        raw output), the firmware's test vectors (the board runs the filter itself)."""
        self.classifier_dir = root / "classifier"
        self.classifier = self.classifier_dir / "model.keras"
        self.int8 = self.classifier_dir / "model_int8.tflite"
        self.gan_dir = root / "gan"
        self.domain_gan_dir = self.gan_dir / "domains"
        """A transfer run's domain-conditioned GAN (labels "source/<class>", "target/<class>")."""
        self.generator = self.gan_dir / "generator.keras"
        """The class-conditioned generator sampling uses (in a transfer run: the target's windows)."""
        self.judge = self.classifier_dir / "judge.keras"
        self.judge_int8 = self.classifier_dir / "judge_int8.tflite"
        """A transfer run's first classifier: the GAN's feedback and the judge of its training windows."""
        self.synthetic_dir = root / "synthetic"
        self.synthetic = self.synthetic_dir / "windows.npz"
        self.report_dir = root / "report"
        self.metrics = self.report_dir / "metrics.json"
        self.firmware_dir = root / "firmware"
        self.checkpoints = root / ".steps" / "checkpoints"
        """Training checkpoints of an unfinished step (a killed run resumes from them)."""


class RunContext:
    """One run of the flow: config, run directory, results so far, and lazily loaded artifacts."""

    def __init__(self, cfg: Config, out: Path, *, force: bool = False, log: Log = print,
                 config_file: Path | None = None):
        from har_data import SensorSpec

        self.cfg = cfg
        self.seed = cfg.seed
        self.log = log
        self.config_file = config_file
        """The config file the run was read from (errors without a file of their own point to it)."""
        self.sensor: SensorSpec = SensorSpec(cfg.sensor.name, cfg.sensor.full_scale_g, cfg.sensor.odr_hz)
        self.target: DomainConfig | None = cfg.data.target
        """A transfer run's target domain (the user's board logs); None in a one-domain run."""
        out = Path(out).expanduser().absolute()
        self.paths = Layout(out, self.is_transfer)
        self.run_dir = RunDir(out, force=force, log=log)
        self.results: dict[str, dict] = {}
        """Each finished or reused step's result, by step name."""

    @property
    def is_transfer(self) -> bool:
        """A transfer run: a source and a target domain (gan.transfer)."""
        return self.target is not None

    @property
    def board_gravity(self) -> bool:
        """Whether the board model's windows (the target's in a transfer run) go through the gravity filter."""
        return gravity_filter(self.cfg, self.cfg.data.target or self.cfg.data.source)

    def tensorboard_dir(self, name: str) -> Path | None:
        """``<cfg.tensorboard>/<name>`` for one training's TensorBoard logs, or None when they are off."""
        return Path(self.cfg.tensorboard) / name if self.cfg.tensorboard else None

    # Loaded once, on first use; a step that makes one assigns it (``ctx.classifier = model``).
    @cached_property
    def windows(self) -> WindowSet:
        return load_windows(self.paths.windows)

    @cached_property
    def source_windows(self) -> WindowSet:
        return load_windows(self.paths.source_windows)

    @cached_property
    def classifier(self) -> keras.Model:
        """The float ST classifier."""
        return load_float_classifier(self.paths.classifier)

    @cached_property
    def int8(self) -> Int8Classifier:
        return load_int8(self.paths.int8, self.windows.class_names)

    @cached_property
    def synthetic(self) -> SyntheticSet:
        from gan.sampling import SyntheticSet

        return SyntheticSet.load(self.paths.synthetic)

    def metrics(self) -> dict:
        """report/metrics.json as written by the evaluate step."""
        return json.loads(self.paths.metrics.read_text(encoding="utf-8"))

    def seconds(self, *steps: str) -> float:
        """Time the named steps took (when they ran; a reused step keeps its first run's time)."""
        return sum(float(r.seconds) for name, r in self.run_dir.records.items() if name in steps)

    @contextlib.contextmanager
    def config_key(self, key: str) -> Iterator[None]:
        """Bad input that names no file (a loader option, a class) gets the config file and key."""
        try:
            yield
        except InputError as exc:
            if exc.path is not None:
                raise
            raise InputError(f"{key}: {exc.message}", self.config_file) from None


class Step:
    """One stage of the flow. A subclass sets ``name``, ``sections`` (and ``exclude``) and writes
    ``describe``, ``inputs``, ``outputs`` and ``run``."""

    name: str = ""
    sections: tuple[str, ...] = ()
    """Config sections (or dotted keys) whose every field is part of the fingerprint."""
    exclude: tuple[str, ...] = ()
    """Dotted keys of those sections that do not change this step's outputs."""

    def enabled(self, cfg: Config) -> bool:
        """Whether this run has the step (judge and domain_gan only in a transfer run)."""
        return True

    def describe(self, ctx: RunContext) -> str:
        """The progress line: what the step does."""
        return self.name

    def inputs(self, ctx: RunContext) -> list[Path]:
        """Files of the run directory the step reads (hashed by content)."""
        return []

    def external(self, ctx: RunContext) -> list[Path]:
        """User files the step reads (hashed by size and modification time)."""
        return []

    def outputs(self, ctx: RunContext) -> list[Path]:
        return []

    def upstream(self, ctx: RunContext) -> str:
        """Anything else the outputs depend on (e.g. earlier steps' figures), as text."""
        return ""

    def run(self, ctx: RunContext) -> dict:
        """Write the outputs; return the small result the later steps and the report need."""
        raise NotImplementedError

    def config_hash(self, cfg: Config) -> str:
        return cfg.section_hash(*self.sections, exclude=self.exclude)
