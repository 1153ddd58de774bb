"""One configuration for the whole flow: TOML or JSON in, checked dataclasses out, TOML back.

Every section is a dataclass with defaults, so a config file only says what differs.
Unknown keys and wrong types are :class:`har_data.InputError` naming the file, the line
(best effort: the line where the key appears) and the dotted key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from har_data.loaders import SOURCES as _LOADERS
from har_data import gravity as _gravity
from har_data.sensors import DEFAULT_SENSOR
from hargan.config_types import Locator, build, read_data_file

SOURCES = tuple(_LOADERS)
"""Data sources (loader names): har_data.loaders.SOURCES is the one list; add a loader there."""
BUNDLED_SOURCES = ("basic-motions",)
"""Sources that ship with a dependency and take no path."""
CLASS_MAP_SOURCES = ("pamap2", "st-mobility", "wisdm")
"""Sources whose loader maps raw activity ids/names to classes itself (it gets ``class_map``)."""
GAN_LOSSES = ("wasserstein", "minimax")
GRAVITY_PRECISIONS = _gravity.PRECISIONS
DEFAULT_GRAVITY_PRECISION = _gravity.DEFAULT_PRECISION
CHOICES: dict[str, tuple[str, ...]] = {"gan.loss": GAN_LOSSES, "board.gravity_precision": GRAVITY_PRECISIONS}
"""String settings that pick from a fixed list: the config checks and the options read it."""
C_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""What export.name (a prefix of C files and symbols) may be."""
FORMATS: dict[str, tuple[re.Pattern, str]] = {"export.name": (C_NAME, "a C identifier")}
"""String settings that must match a pattern (what the pattern means): the config checks and the options read it."""

CLASSIFIER_PRESETS = ("cnn1d", "cnn1d_tiny", "ign", "gmp")
"""classifier.PRESETS' names, known without importing Keras (a test keeps them equal), so an unknown
classifier.preset is refused when the config is read."""


def _num(value: float) -> str:
    """A number for a message: whole numbers in full (``4294967295``, not ``4.29497e+09``), others ``:g``."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e18 else f"{value:g}"


@dataclass(frozen=True)
class Range:
    """The values a numeric setting may take: ``low`` (excluded when ``open_low``) to ``high``."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False

    def problem(self, value: float) -> str | None:
        """Why ``value`` is out of range (None when it is fine)."""
        if not math.isfinite(value):
            return f"must be a finite number (got {value})"
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            if self.high is not None:
                return f"must be between {_num(self.low)} and {_num(self.high)} (got {_num(value)})"
            least = "positive" if self.open_low and self.low == 0 else f"at least {_num(self.low)}"
            return f"must be {least} (got {_num(value)})"
        if self.high is not None and value > self.high:
            return f"must be at most {_num(self.high)} (got {_num(value)})"
        return None


_COUNT, _POSITIVE, _NON_NEGATIVE = Range(1), Range(0, open_low=True), Range(0)
RANGES: dict[str, Range] = {
    "seed": Range(0, 2 ** 32 - 1),
    "windows.length": Range(2), "windows.stride": _COUNT,
    "classifier.epochs": _COUNT, "classifier.batch_size": _COUNT, "classifier.patience": _NON_NEGATIVE,
    "classifier.learning_rate": _POSITIVE, "classifier.representative_samples": _COUNT,
    "gan.latent_dim": _COUNT, "gan.n_critic": _COUNT, "gan.gp_weight": _NON_NEGATIVE,
    "gan.classifier_weight": _NON_NEGATIVE, "gan.steps": _COUNT, "gan.batch_size": _COUNT,
    "gan.g_learning_rate": _POSITIVE, "gan.c_learning_rate": _POSITIVE, "gan.checkpoint_every": _COUNT,
    "transfer.synthetic_per_class": _COUNT, "transfer.target_stride": _COUNT,
    "sampling.per_class": _COUNT, "sampling.min_confidence": Range(0, 1), "sampling.max_tries": _COUNT,
    "sampling.realism_spectrum_quantile": Range(0, 1, open_low=True),
    "sampling.log_seconds": Range(0, 86400),  # a day of logs at most: 1e12 would run for hours
    "evaluation.seeds": _COUNT,
    "board.vote_seconds": Range(0, 60),
    "export.n_test_vectors": _NON_NEGATIVE,
}
"""Every numeric setting's range: the config checks and the command line's options both read it."""


def needs_path(source: str) -> bool:
    """Whether the loader of ``source`` reads a user's file or folder."""
    return source not in BUNDLED_SOURCES


@dataclass
class DomainConfig:
    """One real data set: which loader reads it, where it is, and how its labels map to classes."""

    name: str = "basic-motions"
    """Loader: one of SOURCES (basic-motions is bundled and needs no path)."""
    path: str = ""
    """File or folder the loader reads (relative paths are relative to the config file)."""
    imu: str = ""
    """PAMAP2 only: which IMU to read (hand, chest, ankle); empty = the loader's default."""
    class_map: dict[str, str] = field(default_factory=dict)
    """Raw label -> class name, applied after loading; a label mapped to "" is dropped."""
    suppress_gravity: bool | None = None
    """Run the streaming gravity rotation+suppression filter on every recording (train and board).
    Unset: hargan chooses (:func:`gravity_filter`): on in a transfer run (two domains, two placements)
    when the sensor runs at the filter's rate, off otherwise."""
    options: dict[str, Any] = field(default_factory=dict)
    """Further keyword arguments for the loader (e.g. accel = "6g" for PAMAP2)."""


@dataclass
class DataConfig:
    source: DomainConfig = field(default_factory=DomainConfig)
    """The domain the GAN is (pre)trained on."""
    target: DomainConfig | None = None
    """Optional: the board's own domain (a few logs, maybe classes the source lacks). With it, the run
    is a transfer run (:mod:`gan.transfer`): the board model is built for the target device from both
    domains, with a domain-conditioned GAN."""
    classes: list[str] = field(default_factory=list)
    """Class names and their order; empty = every class the source has (sorted)."""


@dataclass
class SensorConfig:
    name: str = DEFAULT_SENSOR.name
    full_scale_g: int = DEFAULT_SENSOR.full_scale_g
    odr_hz: float = float(DEFAULT_SENSOR.odr_hz)


@dataclass
class WindowsConfig:
    length: int = 48
    """Window length in samples."""
    stride: int = 24
    """Samples between the starts of two windows."""
    fractions: list[float] = field(default_factory=lambda: [0.7, 0.15, 0.15])
    """train/val/test fractions of the recordings (splits are by recording)."""


@dataclass
class ClassifierConfig:
    preset: str = "cnn1d"
    """Architecture of the ST classifier (classifier.PRESETS)."""
    epochs: int = 60
    """Maximum epochs (early stopping on the validation loss)."""
    batch_size: int = 64
    """Windows per training batch."""
    patience: int = 10
    """Epochs without improvement before early stopping."""
    learning_rate: float = 3e-3
    """Adam learning rate."""
    representative_samples: int = 300
    """Windows used to calibrate the int8 quantization."""


@dataclass
class GanConfig:
    latent_dim: int = 64
    """Size of the generator's noise input."""
    n_critic: int = 5
    """Critic updates per generator update."""
    gp_weight: float = 10.0
    """Gradient-penalty weight."""
    classifier_weight: float = 1.0
    """Weight of the classifier's feedback in the generator's loss (0: a plain WGAN-GP)."""
    steps: int = 3000
    """Generator updates."""
    batch_size: int = 64
    """Windows per batch."""
    g_learning_rate: float = 5e-4
    """Generator Adam learning rate."""
    c_learning_rate: float = 5e-4
    """Critic Adam learning rate."""
    loss: str = "wasserstein"
    """Adversarial loss."""
    checkpoint_every: int = 100
    """Generator steps between checkpoints: a killed run resumes from the last one."""


@dataclass
class TransferConfig:
    """Transfer runs only (data.target set); see gan.transfer for the recipe."""

    target_share: float = 0.5
    """Share of the training weight the target windows get against the whole source (by repetition)."""
    synthetic: bool = False
    """Train the board model again on real + judge-accepted synthetic target windows; false: the judge
    (real windows only) is the board model. Off because at the default GAN budget the synthetic windows
    have not yet made the board model better by a point over several seeds on time-disjoint target tests
    (+0.69 over three seeds of session 15's generator; figures: docs/transfer.md)."""
    synthetic_per_class: int = 200
    """Synthetic target windows drawn per class for the board model's training (before the judge)."""
    target_stride: int = 6
    """Window stride for the target's logs (windows.stride is the source's): a few short logs give
    dense, overlapping windows."""


@dataclass
class SamplingConfig:
    per_class: int = 200
    """Accepted windows wanted per class."""
    min_confidence: float = 0.5
    """The int8 model's probability of the wanted class needed to accept a window."""
    max_tries: int = 20
    """Generation rounds per class before giving up on reaching per_class accepted windows."""
    realism_gate: bool = True
    """Keep a window only if it also looks real (gan/realism.py), besides the int8 model accepting it, in a
    one-domain and a transfer run alike (every class of the transfer config's target passes at 0.82-1.00 at
    seeds 0-2: docs/benchmarks.md, "A fresh generator starts at its real motion's mix"); false: the
    realism pass rates are still measured and reported, but nothing is rejected for them."""
    realism_spectrum_quantile: float = 0.99
    """Spectrum test: a window's distance from its class may be at most this quantile of the real windows' own."""
    realism_critic: bool = False
    """Critic test too: the critic's score within the real windows' band (realism_critic_quantiles); off
    because a trained critic scores real windows of held-out logs outside that band (docs/benchmarks.md)."""
    realism_critic_quantiles: list[float] = field(default_factory=lambda: [0.01, 0.99])
    """Low and high quantile of the real windows' critic scores, per class, that bound the band."""
    log_seconds: float = 60.0
    """Length of the continuous logs in synthetic/logs/ (one per class, MEMS Studio CSV and ST datalog); 0 = none."""
    sequence: str = ""
    """Activity changes of the log with transitions, "class:seconds,..." (e.g. "walking:30,stationary:20");
    empty = every class in turn, log_seconds in all."""


@dataclass
class EvaluationConfig:
    quick: bool = False
    """Fewer epochs for the TSTR/TRTR classifiers (for tests and demos)."""
    seeds: int = 1
    """How many seeds the TSTR/TRTR scores are averaged over."""
    augmentation: bool = True
    """Also measure the augmentation gain (real + synthetic vs real only at several real-data fractions)."""
    augmentation_retrain: bool = False
    """Measure the augmentation rows below 100 % too: for each, train the classifier, the GAN and the
    sampling again on that row's real windows only (a generator that saw every real window would leak
    the held-out ones). Off: only the 100 % row, whose GAN saw exactly the classifier's windows."""


@dataclass
class BoardConfig:
    """What the board does with the board model's decisions (recorded in model_int8.json, run by the C export)."""

    vote_seconds: float = 3.0
    """Report the majority class of the board model's decisions over the last vote_seconds (causal; a tie
    goes to the most recent; classifier.decisions), rounded to whole decisions (one every stride);
    0 = every window's own class. Costs latency at each change of activity (docs/benchmarks.md)."""
    gravity_precision: str = DEFAULT_GRAVITY_PRECISION
    """The gravity filter's arithmetic, in training and on the board (bit for bit): float32 (two second-order
    sections; hardware on an FPU-single Cortex-M4F/M7/M33, ~180 instructions a sample) or float64 (ST's
    4th-order form in double; soft-float there, ~10k instructions a sample). Only with the filter on."""


@dataclass
class ExportConfig:
    name: str = "har_model"
    """Prefix of the C files and symbols."""
    n_test_vectors: int = 10
    """Windows of the held-out split exported as on-board self-test vectors."""


@dataclass
class Config:
    seed: int = 0
    tensorboard: str = ""
    """Folder for TensorBoard logs of the classifier and GAN training (<folder>/classifier, <folder>/gan, ...);
    empty = none. Not part of any step's fingerprint: add --force to re-run finished steps with logs."""
    # Sections are made from the class named here when a Config is made, as config_types.build reads them.
    data: DataConfig = field(default_factory=lambda: DataConfig())
    sensor: SensorConfig = field(default_factory=lambda: SensorConfig())
    windows: WindowsConfig = field(default_factory=lambda: WindowsConfig())
    classifier: ClassifierConfig = field(default_factory=lambda: ClassifierConfig())
    gan: GanConfig = field(default_factory=lambda: GanConfig())
    transfer: TransferConfig = field(default_factory=lambda: TransferConfig())
    sampling: SamplingConfig = field(default_factory=lambda: SamplingConfig())
    evaluation: EvaluationConfig = field(default_factory=lambda: EvaluationConfig())
    board: BoardConfig = field(default_factory=lambda: BoardConfig())
    export: ExportConfig = field(default_factory=lambda: ExportConfig())

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def section_hash(self, *names: str, exclude: tuple[str, ...] = ()) -> str:
        """A stable hash of whole sections (dotted names allowed) plus the seed, leaving out the dotted
        keys in ``exclude``: a step's config fingerprint, so a new field is never silently left out."""
        d = self.to_dict()
        parts = {"seed": d["seed"]}
        for n in names:
            parts[n] = dotted_value(d, n)
        for x in exclude:
            section, _, key = x.rpartition(".")
            if not isinstance(parts.get(section), dict) or key not in parts[section]:
                raise ValueError(f"cannot exclude {x!r}: not a key of the hashed sections {names}")
            del parts[section][key]
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


GRAVITY_FILTER_HZ = 26.0
"""The rate the gravity filter's coefficients are defined at (har_data.gravity)."""


def gravity_filter(cfg: Config, dom: DomainConfig) -> bool:
    """Whether ``dom``'s recordings go through the gravity rotation+suppression filter.

    The config's ``suppress_gravity`` wins when set. Unset, hargan chooses: on in a transfer run
    at the filter's rate, because the two domains were worn differently (a wrist, a pocket; any
    orientation) and the filter takes the sensor's orientation out (ST's recipe; its figures on other
    people's phones are in docs/benchmarks.md, "Transfer"); off for one domain.
    """
    if dom.suppress_gravity is not None:
        return bool(dom.suppress_gravity)
    return cfg.data.target is not None and abs(float(cfg.sensor.odr_hz) - GRAVITY_FILTER_HZ) < 1e-6


def dotted_value(d: dict, dotted: str) -> Any:
    """``d["a"]["b"]`` for ``"a.b"``; None where a part is missing."""
    v: Any = d
    for k in dotted.split("."):
        v = None if not isinstance(v, dict) else v.get(k)
    return v


# ---------------------------------------------------------------------------- reading

def config_from_dict(data: dict, path: str | os.PathLike | None = None, text: str = "", fmt: str = "toml") -> Config:
    """Build and check a :class:`Config` from plain data (as read from TOML/JSON)."""
    loc = Locator(None if path is None else Path(path), text, fmt)
    if not isinstance(data, dict):
        raise loc.error("the configuration must be a table/object at the top level")
    cfg = build(Config, data, "", loc)
    from hargan.config_checks import check_values

    check_values(cfg, loc)
    return cfg


def load_config(path: str | os.PathLike, resolve_paths: bool = True) -> Config:
    """Read a TOML (``.toml``) or JSON (``.json``, or anything starting with ``{``) config file.

    Relative data (and tensorboard) paths are made relative to the config file's folder.
    """
    path = Path(path).expanduser()
    data, text, fmt = read_data_file(path)
    cfg = config_from_dict(data, path, text, fmt)
    if resolve_paths:
        base = path.resolve().parent
        for dom in (cfg.data.source, cfg.data.target):
            if dom is not None and dom.path:
                p = Path(os.path.expanduser(dom.path))
                dom.path = str(p if p.is_absolute() else (base / p).resolve())
        if cfg.tensorboard:
            p = Path(os.path.expanduser(cfg.tensorboard))
            cfg.tensorboard = str(p if p.is_absolute() else (base / p).resolve())
    return cfg


# ---------------------------------------------------------------------------- writing

_FREE_FORM = ("class_map", "options")
"""Dicts of the user's own keys (not sections): left out of the TOML when empty."""


def _plain(d: dict) -> dict:
    """TOML has no null: drop None values (an absent optional section) and empty free-form tables."""
    return {k: _plain(v) if isinstance(v, dict) else v for k, v in d.items()
            if v is not None and not (k in _FREE_FORM and v == {})}


def to_toml(data: dict | Config) -> str:
    """Nested plain data (or a Config) as TOML; sections become [tables]."""
    if isinstance(data, Config):
        data = data.to_dict()
    return tomli_w.dumps(_plain(data))


def config_text(cfg: Config) -> str:
    return "# hargan configuration (resolved: every key, defaults included)\n" + to_toml(cfg)
