"""Drawing windows from a generator, and validated sampling: keep only what the int8 classifier accepts.

:func:`generate_windows` is deterministic given ``seed`` (numpy RNG for the latent vectors,
never global state). :func:`sample_validated` maps every generated window to the sensor's
format (saturate at the full scale, int16 counts, back to mg), runs the board's int8
classifier on it and keeps accepted windows until each class has ``per_class``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Mapping, Sequence

import numpy as np

from har_data.atomic import atomic_dir
from har_data.names import check_path_names
from har_data.npz import load_json_dict, load_npz, save_npz
from har_data.errors import InputError, TrainingError
from har_data.sensors import SensorSpec

if TYPE_CHECKING:
    import keras

    from classifier.int8 import Int8Classifier
    from gan.realism import RealismGate


class AcceptanceError(TrainingError):
    """The int8 classifier (and the realism gate) accept too few generated windows of a class to reach
    the requested count: the generator is not good enough yet, the input was fine."""


def _generator_of(gan_or_generator):
    return getattr(gan_or_generator, "generator", gan_or_generator)


def resolve_labels(labels_or_counts: Any, class_names: Sequence[str]) -> np.ndarray:
    """Class ids to generate, from any of:

    - a numpy array of class ids (or of class names): one window per entry, in that order;
    - a dict ``{class name: count}``;
    - a list/tuple of counts, one per class (length = number of classes);
    - an int: that many windows of every class.
    """
    names = list(class_names)
    index = {c: i for i, c in enumerate(names)}
    if isinstance(labels_or_counts, Mapping):
        unknown = [k for k in labels_or_counts if str(k) not in index]
        if unknown:
            raise InputError(f"unknown class(es) {', '.join(map(str, unknown))}; classes: {', '.join(names)}")
        counts = [0] * len(names)
        for k, v in labels_or_counts.items():
            counts[index[str(k)]] = int(v)
        return _from_counts(counts)
    if isinstance(labels_or_counts, (int, np.integer)) and not isinstance(labels_or_counts, bool):
        return _from_counts([int(labels_or_counts)] * len(names))
    if isinstance(labels_or_counts, (list, tuple)):
        if len(labels_or_counts) != len(names):
            raise InputError(f"counts per class need {len(names)} entries ({', '.join(names)}), "
                             f"got {len(labels_or_counts)}")
        return _from_counts([int(v) for v in labels_or_counts])
    arr = np.asarray(labels_or_counts).reshape(-1)
    if arr.dtype.kind in "US":
        unknown = sorted(set(arr.tolist()) - set(names))
        if unknown:
            raise InputError(f"unknown class(es) {', '.join(unknown)}; classes: {', '.join(names)}")
        return np.array([index[c] for c in arr.tolist()], dtype=np.int32)
    if arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= len(names)):
        raise InputError(f"labels must be class ids 0..{len(names) - 1} ({', '.join(names)})")
    return arr.astype(np.int32)


def _from_counts(counts: Sequence[int]) -> np.ndarray:
    if any(c < 0 for c in counts):
        raise InputError(f"counts per class must be >= 0, got {list(counts)}")
    return np.repeat(np.arange(len(counts), dtype=np.int32), counts)


def generate_windows(gan_or_generator: keras.Model, labels_or_counts: Any, seed: int = 0,
                     batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Generate mg windows: ``(x float32 N x T x C, y int32 N)``; same seed, same windows."""
    from gan.models import generator_latent_dim, model_class_names

    generator = _generator_of(gan_or_generator)
    y = resolve_labels(labels_or_counts, model_class_names(generator))
    latent = generator_latent_dim(generator)
    z = np.random.default_rng(seed).standard_normal((len(y), latent)).astype(np.float32)
    t, c = (int(s) for s in generator.outputs[0].shape[1:])
    out = np.empty((len(y), t, c), dtype=np.float32)
    for start in range(0, len(y), int(batch_size)):
        sl = slice(start, start + int(batch_size))
        out[sl] = np.asarray(generator([z[sl], y[sl]], training=False))
    return out, y


@dataclass
class SyntheticSet:
    """Accepted synthetic windows in the sensor's format.

    ``x_counts`` int16 output codes (saturated at the full scale), ``x_mg`` the same in mg
    (``sensor.to_mg(x_counts)``), ``y`` class ids into ``class_names``; acceptance figures
    per class: accepted / generated over everything generated for that class.
    """

    x_mg: np.ndarray
    x_counts: np.ndarray
    y: np.ndarray
    class_names: list[str]
    sensor: SensorSpec
    acceptance_by_class: dict[str, float] = field(default_factory=dict)
    acceptance_rate: float = float("nan")
    generated_by_class: dict[str, int] = field(default_factory=dict)
    realism_pass_by_class: dict[str, float] = field(default_factory=dict)
    """Fraction of the generated windows of each class that passed the realism gate (empty: no gate)."""
    realism_pass_rate: float = float("nan")

    def __len__(self) -> int:
        return int(len(self.y))

    def counts(self) -> dict[str, int]:
        return {c: int(np.sum(self.y == i)) for i, c in enumerate(self.class_names)}

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``.npz`` (x_mg, x_counts, y, class_names, sensor, acceptance), atomically."""
        meta = {"sensor": self.sensor.to_dict(), "acceptance_by_class": self.acceptance_by_class,
                "acceptance_rate": self.acceptance_rate, "generated_by_class": self.generated_by_class,
                "realism_pass_by_class": self.realism_pass_by_class, "realism_pass_rate": self.realism_pass_rate}
        return save_npz(path, x_mg=self.x_mg, x_counts=self.x_counts, y=self.y,
                        class_names=np.asarray(self.class_names, dtype=str),
                        sensor=np.asarray(json.dumps(self.sensor.to_dict())), meta=np.asarray(json.dumps(meta)))

    @classmethod
    def load(cls, path: str | os.PathLike) -> SyntheticSet:
        """Read a file written by :meth:`save`; a clear error for anything else."""
        what = "synthetic windows"
        z = load_npz(path, {"x_mg", "x_counts", "y", "class_names", "sensor"}, what)
        x_mg, x_counts, y = z["x_mg"], z["x_counts"], z["y"]
        names = [str(c) for c in z["class_names"]]
        meta = load_json_dict(z, "meta", path, what)
        try:
            sensor = SensorSpec.from_dict(load_json_dict(z, "sensor", path, what))
        except InputError as exc:
            raise InputError(exc.message, path) from None
        return cls(x_mg.astype(np.float32), x_counts.astype(np.int16), y.astype(np.int64), names, sensor,
                   dict(meta.get("acceptance_by_class", {})), float(meta.get("acceptance_rate", float("nan"))),
                   {k: int(v) for k, v in meta.get("generated_by_class", {}).items()},
                   dict(meta.get("realism_pass_by_class", {})), float(meta.get("realism_pass_rate", float("nan"))))

    def save_csv(self, directory: str | os.PathLike) -> list[Path]:
        """Write every window as a MEMS Studio log, ``<dir>/<id>_<class>/log_<n>.csv`` (atomically, whole tree).

        Each log starts with hargan's header (sensor, full scale, ODR), so it loads back at its rate.
        """
        from har_data import write_mems_studio_csv

        directory = Path(directory)
        check_path_names(self.class_names)  # each names a folder: never one outside ``directory``
        written = []
        with atomic_dir(directory) as tmp:
            for cid, name in enumerate(self.class_names):
                sub = f"{cid}_{name}"
                (tmp / sub).mkdir(parents=True, exist_ok=True)
                for n, window in enumerate(self.x_mg[self.y == cid]):
                    write_mems_studio_csv(tmp / sub / f"log_{n}.csv", window,
                                          header={**self.sensor.header_fields(), "class": "_".join(name.split())})
                    written.append(directory / sub / f"log_{n}.csv")
        return written


DEFAULT_MAX_TRIES = 20
"""Generation rounds before a class still short of ``per_class`` raises (hargan's [sampling] agrees)."""


def _check_judges(int8, realism, names: list[str]) -> None:
    """The int8 classifier (and the realism gate) must know the generator's classes, in its order."""
    n_cls = len(names)
    if getattr(int8, "num_classes", n_cls) != n_cls:
        raise InputError(f"int8 classifier has {int8.num_classes} classes, generator has {n_cls} ({', '.join(names)})")
    int8_names = getattr(int8, "class_names", None)
    if int8_names and list(int8_names) != names:
        raise InputError(f"int8 classifier classes {list(int8_names)} differ from generator classes {names}")
    if realism is not None and list(realism.class_names) != names:
        raise InputError(f"realism gate classes {list(realism.class_names)} differ from generator classes {names}")


def _shortfall(short: list[int], names: list[str], n_kept, generated, by_class: dict, real_by_class: dict,
               per_class: int, measured: bool, gated: bool, max_tries: int, min_confidence: float) -> AcceptanceError:
    """The error naming each class still short of ``per_class`` windows, with its rates.

    ``measured``: a realism gate ran (its pass rate is reported); ``gated``: it also decided what is kept.
    """
    judges = "int8 classifier and the realism gate accept" if gated else "int8 classifier accepts"
    parts = [f"{names[c]!r}: {n_kept[c]} of {per_class} accepted from {generated[c]} generated "
             f"(acceptance {100 * by_class[names[c]]:.1f}%"
             + (f", realism pass {100 * real_by_class[names[c]]:.1f}%" if measured else "") + ")"
             for c in short]
    return AcceptanceError(f"{judges} too few generated windows after {max_tries} rounds: "
                           f"{'; '.join(parts)}; train the GAN longer, lower min_confidence "
                           f"({min_confidence})" + (", turn the realism gate off" if gated else "")
                           + " or raise max_tries")


def _round_sizes(need: np.ndarray, kept: np.ndarray, generated: np.ndarray, batch: int) -> list[int]:
    """Windows to generate per class this round: what each still needs over its yield so far (at most ``batch``)."""
    rate = np.where(generated > 0, kept / np.maximum(generated, 1), 1.0)
    ask = np.where(need > 0, np.minimum(int(batch), np.ceil(need * 1.2 / np.maximum(rate, 0.02)) + 8), 0)
    return [int(a) for a in ask]


def _judge(x_mg: np.ndarray, y: np.ndarray, sensor: SensorSpec, int8, realism, min_confidence: float):
    """``(counts, accepted, looks_real)``: the windows in the sensor's counts, and the two judges' verdicts on
    them as the board reads them back."""
    counts = sensor.to_counts(x_mg)
    x_board = sensor.to_mg(counts)
    acc = np.asarray(int8.accept(x_board, y, min_confidence), dtype=bool)
    looks_real = np.ones(len(y), bool) if realism is None else np.asarray(realism.passes(x_board, y), bool)
    return counts, acc, looks_real


def _rates(counts: np.ndarray, generated: np.ndarray, names: list[str]) -> dict[str, float]:
    return {names[c]: (float(counts[c] / generated[c]) if generated[c] else float("nan")) for c in range(len(names))}


@dataclass
class _Tally:
    """Validated sampling's per-class counts over every round: windows generated, accepted by the int8
    model, passed the realism gate (``real``), kept (both, or int8 alone when the gate is not enforced),
    and the kept windows' counts (``n_kept`` of them, at most ``per_class``)."""

    generated: np.ndarray
    accepted: np.ndarray
    real: np.ndarray
    kept: np.ndarray
    n_kept: np.ndarray
    kept_counts: list[list[np.ndarray]]

    @classmethod
    def zeros(cls, n_cls: int) -> _Tally:
        def z() -> np.ndarray:
            return np.zeros(n_cls, dtype=np.int64)

        return cls(generated=z(), accepted=z(), real=z(), kept=z(), n_kept=z(), kept_counts=[[] for _ in range(n_cls)])

    def add(self, y: np.ndarray, counts: np.ndarray, acc: np.ndarray, looks_real: np.ndarray, ok: np.ndarray,
            per_class: int) -> None:
        """Count one round's verdicts and keep its ``ok`` windows up to ``per_class`` per class."""
        for c in range(len(self.n_kept)):
            mask = y == c
            self.generated[c] += int(mask.sum())
            self.accepted[c] += int((acc & mask).sum())
            self.real[c] += int((looks_real & mask).sum())
            self.kept[c] += int((ok & mask).sum())
            take = counts[ok & mask][: max(per_class - self.n_kept[c], 0)]
            if len(take):
                self.kept_counts[c].append(take)
                self.n_kept[c] += len(take)

    def synthetic_set(self, names: list[str], sensor: SensorSpec, per_class: int, by_class: dict[str, float],
                      real_by_class: dict[str, float] | None) -> SyntheticSet:
        """The kept windows, ``per_class`` of each class in class order, with the rates (realism's only
        when a gate ran: ``real_by_class`` not None)."""
        x_counts = np.concatenate([np.concatenate(k) for k in self.kept_counts]).astype(np.int16)
        y_out = np.repeat(np.arange(len(names), dtype=np.int64), per_class)
        total_gen = int(self.generated.sum())
        gated = real_by_class is not None
        return SyntheticSet(sensor.to_mg(x_counts), x_counts, y_out, names, sensor, by_class,
                            float(self.accepted.sum() / total_gen) if total_gen else float("nan"),
                            {names[c]: int(self.generated[c]) for c in range(len(names))},
                            real_by_class if real_by_class is not None else {},
                            float(self.real.sum() / total_gen) if gated and total_gen else float("nan"))


def sample_validated(gan_or_generator: keras.Model, int8: Int8Classifier, sensor: SensorSpec, per_class: int,
                     min_confidence: float = 0.5, seed: int = 0, batch: int = 4096, max_tries: int = DEFAULT_MAX_TRIES,
                     verbose: bool = False, realism: RealismGate | None = None,
                     realism_enforce: bool = True) -> SyntheticSet:
    """Generate until ``per_class`` windows of every class are accepted by the int8 classifier (and look real).

    Each round generates, for every class still short, about what its yield so far says is
    needed (at most ``batch``), maps it to ``sensor`` (saturate, int16 counts, mg) and keeps the
    windows ``int8.accept(x_mg, y, min_confidence)`` accepts and, with a ``realism`` gate
    (:class:`gan.realism.RealismGate`), that pass it (``realism_enforce=False``: the gate's pass
    rates are measured and reported, but it rejects nothing). Both rates are counted over
    everything generated. After ``max_tries`` rounds a class still short raises :class:`AcceptanceError`
    naming the class and its rates.
    """
    from gan.models import model_class_names

    generator = _generator_of(gan_or_generator)
    names = model_class_names(generator)
    if int(per_class) < 1:
        raise InputError(f"per_class must be >= 1, got {per_class}")
    _check_judges(int8, realism, names)
    per_class = int(per_class)
    tally = _Tally.zeros(len(names))
    for r in range(int(max_tries)):
        need = np.maximum(per_class - tally.n_kept, 0)
        if not need.any():
            break
        round_seed = int(np.random.SeedSequence([int(seed), r]).generate_state(1)[0])
        x_mg, y = generate_windows(generator, _round_sizes(need, tally.kept, tally.generated, batch), seed=round_seed)
        counts, acc, looks_real = _judge(x_mg, y, sensor, int8, realism, min_confidence)
        tally.add(y, counts, acc, looks_real, acc & looks_real if realism_enforce else acc, per_class)
        if verbose:
            print(f"sampling round {r + 1}: kept {dict(zip(names, tally.n_kept.tolist()))}")
    by_class, real_by_class = _rates(tally.accepted, tally.generated, names), _rates(tally.real, tally.generated, names)
    short = [c for c in range(len(names)) if tally.n_kept[c] < per_class]
    if short:
        raise _shortfall(short, names, tally.n_kept, tally.generated, by_class, real_by_class, per_class,
                         realism is not None, realism is not None and realism_enforce, max_tries, min_confidence)
    return tally.synthetic_set(names, sensor, per_class, by_class, real_by_class if realism is not None else None)
