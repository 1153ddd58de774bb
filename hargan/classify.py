"""The board model on new logs: the board's own preprocessing, then the int8 model.

A board model is an int8 ``X.tflite`` with its preprocessing record ``X.json`` beside it (the
quantize step writes ``classifier/model_int8.json``): sensor name, full scale and ODR, window
and stride, gravity filter on or off, class names. :func:`classify_logs` reads new logs with
any loader and runs them exactly as the board would (resample to the sensor's ODR, saturate and
round to its counts, gravity filter over the whole log when the model was trained with it, cut
into windows), then writes ``predictions.csv`` and ``metrics.json`` (with accuracy, accuracy
by class, macro F1 and the confusion matrix when the logs are labelled).

This is how a user checks a board model on a fresh recording before flashing it.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from har_data.atomic import write_text
from har_data.errors import InputError, one_line
from har_data.gravity import DEFAULT_PRECISION, check_precision, recorded_precision
from har_data.jsonio import write_json
from har_data.recording import Recording
from har_data.sensors import SensorSpec

RECORD_FORMAT = "hargan board preprocessing"
RECORD_VERSION = 1
RUN_MODEL = Path("classifier") / "model_int8.tflite"

Log = Callable[[str], None]


@dataclass(frozen=True)
class Preprocessing:
    """What the board does to the accelerometer stream before the int8 model sees a window."""

    sensor: SensorSpec
    window: int
    stride: int
    suppress_gravity: bool
    class_names: list[str] = field(default_factory=list)
    vote: int = 1
    """The decision stage: the board reports the majority class of its last ``vote`` decisions
    (:mod:`classifier.decisions`); 1 = every window's own class. A record without it (older
    hargan) means 1, which is what those boards did."""
    gravity_precision: str = DEFAULT_PRECISION
    """The gravity filter's arithmetic; an older record's: :func:`har_data.gravity.recorded_precision`."""

    def to_dict(self) -> dict:
        return {"format": RECORD_FORMAT, "version": RECORD_VERSION, "sensor": self.sensor.name,
                "full_scale_g": self.sensor.full_scale_g, "odr_hz": self.sensor.odr_hz, "window": self.window,
                "stride": self.stride, "suppress_gravity": self.suppress_gravity, "class_names": self.class_names,
                "vote": self.vote, "gravity_precision": self.gravity_precision}

    @classmethod
    def from_dict(cls, d: Mapping, path: str | os.PathLike | None = None) -> Preprocessing:
        """Checked: a record from another tool or version, or with a missing key, is an error naming the file."""
        if not isinstance(d, Mapping) or d.get("format") != RECORD_FORMAT:
            raise InputError(f"not a hargan preprocessing record (expected \"format\": \"{RECORD_FORMAT}\")", path)
        if d.get("version") != RECORD_VERSION:
            raise InputError(f"preprocessing record version {d.get('version')!r}; this hargan reads version "
                             f"{RECORD_VERSION}", path)
        missing = [k for k in ("sensor", "full_scale_g", "odr_hz", "window", "stride", "suppress_gravity",
                               "class_names") if k not in d]
        if missing:
            raise InputError(f"preprocessing record lacks {', '.join(missing)}", path)
        try:
            sensor = SensorSpec(d["sensor"], d["full_scale_g"], d["odr_hz"])
        except InputError as exc:
            raise InputError(exc.message, path) from None
        window, stride = d["window"], d["stride"]
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (window, stride)):
            raise InputError(f"preprocessing record: window and stride must be positive integers, got {window!r}, "
                             f"{stride!r}", path)
        names = d["class_names"]
        if not isinstance(names, list) or not names or not all(isinstance(c, str) and c for c in names):
            raise InputError("preprocessing record: class_names must be a non-empty list of names", path)
        from classifier.decisions import MAX_VOTE

        vote = d.get("vote", 1)
        if not isinstance(vote, int) or isinstance(vote, bool) or not 1 <= vote <= MAX_VOTE:
            raise InputError(f"preprocessing record: vote must be a whole number of decisions from 1 to {MAX_VOTE}, "
                             f"got {vote!r}", path)
        return cls(sensor, window, stride, bool(d["suppress_gravity"]), list(names), vote,
                   check_precision(recorded_precision(d), path))

    @classmethod
    def of_windows(cls, ws, vote_seconds: float = 0.0) -> Preprocessing:
        """The record of how a WindowSet was cut (``make_windows`` stores it with the windows), with a
        vote over ``vote_seconds`` of decisions (:func:`classifier.decisions.vote_decisions`)."""
        from classifier.decisions import vote_decisions

        p = dict(ws.preprocessing)
        if ws.sensor is None or "stride" not in p:
            raise InputError("the windows do not say how they were cut (sensor, stride): re-run prepare")
        stride = int(p["stride"])
        return cls(ws.sensor, int(p.get("window", ws.window_length)), stride, bool(p.get("suppress_gravity", False)),
                   list(ws.class_names), vote_decisions(vote_seconds, ws.sensor.odr_hz, stride),
                   check_precision(recorded_precision(p)))

    def windows(self, rec: Recording, stride: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One recording as the board sees it, cut into windows: ``(x mg K x T x 3, start sample K)``."""
        from har_data.windows import board_samples, segment

        step = int(stride or self.stride)
        samples = board_samples(rec, self.sensor.odr_hz, self.sensor, self.suppress_gravity, self.gravity_precision)
        x = segment(samples, self.window, step)
        return x, np.arange(len(x), dtype=np.int64) * step


def record_path(model: str | os.PathLike) -> Path:
    """Where a model's preprocessing record lives: ``X.tflite`` -> ``X.json``."""
    return Path(model).with_suffix(".json")


def write_preprocessing(model: str | os.PathLike, prep: Preprocessing) -> Path:
    """Write the preprocessing record beside ``model`` (atomically)."""
    return write_json(record_path(model), prep.to_dict())


def read_preprocessing(model: str | os.PathLike) -> Preprocessing:
    """The preprocessing record beside ``model``; missing or unreadable is an error naming the file."""
    path = record_path(model)
    if not path.is_file():
        raise InputError(f"missing preprocessing record {path.name} beside the model (sensor, ODR, window, "
                         "gravity filter, classes); the quantize step of 'hargan run' writes it", path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read the preprocessing record: {one_line(exc)}", path) from None
    return Preprocessing.from_dict(data, path)


def board_model(run: str | os.PathLike | None = None, model: str | os.PathLike | None = None):
    """``(model path, Preprocessing, Int8Classifier)`` from a run directory or an ``X.tflite``."""
    from classifier import Int8Classifier

    if run is not None and model is None:
        if not Path(run).is_dir():
            raise InputError("no such run directory", run)
        path = Path(run) / RUN_MODEL
        if not path.is_file():
            raise InputError(f"no board model in this run ({RUN_MODEL} missing): run 'hargan run' up to the "
                             "quantize step first", run)
    elif model is not None and run is None:
        path = Path(model)
    else:
        raise InputError("give a run directory (--run) or a board model (--model), not both")
    if not path.is_file():
        raise InputError("no such board model", path)
    if path.suffix != ".tflite":
        raise InputError("unknown model: expected an int8 .tflite file", path)
    prep = read_preprocessing(path)
    try:
        int8 = Int8Classifier(path)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad model file
        raise InputError(f"unknown model: {one_line(exc)}", path) from None
    if int8.num_classes != len(prep.class_names):
        raise InputError(f"class names that do not match: the preprocessing record names {len(prep.class_names)} "
                         f"classes ({', '.join(prep.class_names)}), the model has {int8.num_classes} outputs", path)
    if int8.window_length != prep.window:
        raise InputError(f"the preprocessing record says windows of {prep.window} samples, the model takes "
                         f"{int8.window_length}", path)
    int8.class_names = list(prep.class_names)
    return path, prep, int8


def true_labels(recs: Sequence[Recording], class_names: Sequence[str], class_map: Mapping[str, str] | None = None,
                unlabelled: bool = False) -> list[tuple[Recording, str]]:
    """``(recording, true class or "")``: mapped through ``class_map`` ("" drops a recording).

    Unless ``unlabelled``, every kept label must be one of the model's classes: a log labelled
    ``jogging`` for a model that says ``running`` is an error, not a silent miss.
    """
    cmap = dict(class_map or {})
    out = []
    for r in recs:
        if unlabelled:
            out.append((r, ""))
            continue
        label = cmap.get(str(r.label), str(r.label))
        if label:
            out.append((r, label))
    if not unlabelled:
        unknown = sorted({lab for _, lab in out} - set(class_names))
        if unknown:
            raise InputError(f"class names that do not match: the logs are labelled {', '.join(unknown)}, the "
                             f"model knows {', '.join(class_names)}; map them (--class-map {unknown[0]}=CLASS; "
                             f"{unknown[0]}= drops them) or pass --unlabelled")
    if not out:
        raise InputError("empty input: the class map dropped every log")
    return out


def _recording_id(rec: Recording) -> str:
    return str(rec.meta.get("recording_id") or rec.source)


def classify_recordings(int8, prep: Preprocessing, labelled: Sequence[tuple[Recording, str]],
                        stride: int | None = None, vote: int | None = None) -> tuple[list[dict], dict]:
    """Run the board's preprocessing, int8 model and decision stage on each log -> (prediction rows, metrics).

    Consecutive pieces of one log (a label column) are one stream, as on the board; ``vote``
    overrides the record's vote (decisions). Labelled logs get per-window and smoothed accuracy,
    and with activity changes the change latency (:mod:`hargan.streams`).
    """
    from hargan.streams import join_segments, stream_decisions, stream_figures

    names, vote = list(prep.class_names), int(prep.vote if vote is None else vote)
    rows: list[dict] = []
    y_true: list[Any] = []
    y_pred: list[Any] = []
    streams: list[Any] = []
    for rec, labels in join_segments(labelled):
        d = stream_decisions(int8, prep, rec, labels, stride, vote)
        streams.append(d)
        for k in range(len(d.raw)):
            rows.append({"recording": _recording_id(rec), "window_start": int(d.starts[k]),
                         "window_start_s": round(float(d.starts[k]) / prep.sensor.odr_hz, 4),
                         "predicted": names[int(d.raw[k])], "score": round(float(d.score[k]), 4),
                         "smoothed": names[int(d.smoothed[k])], "true": d.true[k]})
        if d.true and d.true[0]:
            y_true.extend(names.index(c) for c in d.true)
            y_pred.extend(d.raw.tolist())
    if not rows:
        longest = max(len(r) / r.odr_hz for r, _ in labelled)
        raise InputError(f"empty input: no log fills one window of {prep.window} samples at "
                         f"{prep.sensor.odr_hz:g} Hz (longest log: {longest:.1f} s)")
    metrics = {"windows": len(rows), "recordings": len({r["recording"] for r in rows}),
               "labelled_windows": len(y_true), "class_names": names,
               "predicted_by_class": {c: sum(r["predicted"] == c for r in rows) for c in names}}
    if y_true:
        metrics.update(label_metrics(np.asarray(y_true), np.asarray(y_pred), names))
    metrics.update(stream_figures(streams, names, vote))
    return rows, metrics


def label_metrics(y_true: np.ndarray, y_pred: np.ndarray, names: Sequence[str]) -> dict:
    """Accuracy, accuracy by class (recall), macro F1 over the classes present, confusion (rows: true)."""
    from sklearn.metrics import confusion_matrix, f1_score

    present = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    by_class = {names[c]: float(np.mean(y_pred[y_true == c] == c)) for c in sorted(set(y_true.tolist()))}
    return {"accuracy": float(np.mean(y_pred == y_true)), "accuracy_by_class": by_class,
            "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
            "macro_f1_classes": [names[c] for c in present],
            "confusion": confusion_matrix(y_true, y_pred, labels=list(range(len(names)))).tolist()}


def predictions_csv(rows: Sequence[dict]) -> str:
    """The text of predictions.csv (one row per window)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["recording", "window_start", "window_start_s", "predicted", "score",
                                             "smoothed", "true"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def classify_logs(source: str, path: str | os.PathLike | None, out: str | os.PathLike, *,
                  run: str | os.PathLike | None = None, model: str | os.PathLike | None = None,
                  options: Mapping | None = None, class_map: Mapping[str, str] | None = None,
                  unlabelled: bool = False, stride: int | None = None, vote: int | None = None,
                  log: Log = lambda _m: None) -> dict:
    """Classify logs with a board model; writes ``out/predictions.csv`` and ``out/metrics.json``, returns the metrics.

    ``vote``: the decision stage's vote in decisions (default: the record's ``vote``).

    Bad input (unknown model, missing preprocessing record, class names that do not match,
    empty input) raises :class:`InputError` before anything is written.
    """
    from har_data.loaders import load_source

    model_path, prep, int8 = board_model(run, model)
    if stride is not None and int(stride) < 1:
        raise InputError(f"--stride must be >= 1, got {stride}")
    if vote is not None and not 1 <= int(vote) <= 255:
        raise InputError(f"--vote must be 1 to 255 decisions, got {vote}")
    recs = load_source(source, path, **dict(options or {}))
    for note in getattr(recs, "notes", []):
        log(f"  {source}: {note}")
    if not len(recs):
        raise InputError("empty input: the loader found no logs", path)
    rows, metrics = classify_recordings(int8, prep, true_labels(recs, prep.class_names, class_map, unlabelled),
                                        stride, vote)
    metrics = {"model": str(model_path), "preprocessing": prep.to_dict(), "source": source,
               "path": None if path is None else str(path), **metrics}
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("--out exists and is not a folder", out)
    write_text(out / "predictions.csv", predictions_csv(rows))
    write_json(out / "metrics.json", metrics)
    acc = f", accuracy {metrics['accuracy']:.3f}, macro F1 {metrics['macro_f1']:.3f}" if "accuracy" in metrics else ""
    if "smoothed" in metrics:
        acc += f"; vote over {metrics['vote']} decisions: accuracy {metrics['smoothed']['accuracy']:.3f}"
    lat = metrics.get("change_latency", {}).get("smoothed")
    if lat and lat["median_s"] is not None:
        acc += (f", {lat['changes']} activity changes: first correct decision after {lat['median_s']:.1f} s "
                f"(median), {lat['p90_s']:.1f} s (p90), {lat['missed']} missed")
    log(f"  {metrics['windows']} windows from {metrics['recordings']} logs{acc}; wrote {out}/predictions.csv and "
        f"{out}/metrics.json")
    return metrics


# ---------------------------------------------------------------------------- hargan classify

def parse_options(items: Sequence[str]) -> dict:
    """``KEY=VALUE`` loader options; VALUE is read as a TOML value (``odr_hz={lsm6dsox=26}``), else as text."""
    import tomllib

    out = {}
    for item in items or ():
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise InputError(f"--option {item!r}: expected KEY=VALUE, e.g. odr_hz=26")
        try:
            out[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = value
    return out


def parse_class_map(items: Sequence[str]) -> dict[str, str]:
    """``FROM=TO`` pairs (repeated or comma-separated); ``FROM=`` drops that label."""
    out = {}
    for item in items or ():
        for pair in filter(None, (p.strip() for p in item.split(","))):
            src, eq, dst = pair.partition("=")
            if not eq or not src.strip():
                raise InputError(f"--class-map {pair!r}: expected FROM=TO, e.g. jogging=running")
            out[src.strip()] = dst.strip()
    return out


def add_arguments(p) -> None:
    from hargan.config import SOURCES, Range
    from hargan.options import option

    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", metavar="DIR", help="a run directory (its classifier/model_int8.tflite)")
    which.add_argument("--model", metavar="FILE.tflite", help="an int8 board model with its FILE.json beside it")
    p.add_argument("--source", required=True, choices=SOURCES, metavar="NAME", help=f"loader: {', '.join(SOURCES)}")
    p.add_argument("--path", default=None, help="file or folder of logs to classify")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="loader option (TOML value), e.g. odr_hz=26 or 'odr_hz={lsm6dsox=26, lis2dux12=25}'")
    p.add_argument("--class-map", action="append", default=[], metavar="FROM=TO",
                   help="relabel the logs' classes to the model's (jogging=running; driving= drops a class)")
    p.add_argument("--unlabelled", action="store_true", help="the logs' labels are not classes: predictions only")
    p.add_argument("--stride", type=option("windows.stride", int), default=None, metavar="N",
                   help="window stride in samples (default: the one the model was trained with)")
    p.add_argument("--vote", type=option("board.vote", int, Range(1, 255)), default=None, metavar="N",
                   help="report the majority class of the last N decisions (1: none; default: the record's vote)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for predictions.csv and metrics.json")


def command(args, log: Log) -> None:
    from har_data.outputs import output_dir
    from hargan.config import needs_path
    from hargan.steps.common import out_dir, staged

    out = out_dir(args.out)
    if needs_path(args.source) and not args.path:
        raise InputError(f"--path is required for --source {args.source}")
    # What is read: the logs and the board model (with its record); a run's other folders may hold --out.
    board = args.model if args.run is None else Path(args.run) / "classifier"
    with output_dir(out, [args.path, board]) as stage:
        log(f"classify: {args.source} {args.path or ''} with {args.model or args.run} -> {out}")
        classify_logs(args.source, args.path, stage, run=args.run, model=args.model,
                      options=parse_options(args.option), class_map=parse_class_map(args.class_map),
                      unlabelled=args.unlabelled, stride=args.stride, vote=args.vote, log=staged(log, stage, out))


def _command():
    from hargan.steps.common import Command

    return Command("classify", "run the board's int8 model on new logs, with exactly the board's preprocessing",
                   "hargan classify --run dataset --source st-datalog --path logs/ --option odr_hz=26 "
                   "--out check\nhargan classify --model model_int8.tflite --source st-mobility --path test.pkl "
                   "--class-map vehicle= --out check",
                   add_arguments, command, seed=False,
                   description="Run the board's int8 model on new logs, labelled or not, with exactly the board's\n"
                               "preprocessing: resampling to the sensor's ODR, counts, the gravity filter if the\n"
                               "model was trained with it, windowing. Writes predictions.csv and metrics.json\n"
                               "(accuracy, accuracy by class, macro F1 and confusion when the logs are labelled;\n"
                               "the same after the board's vote over its last decisions, and with activity changes\n"
                               "in a log, the latency from each change to the first correct decision).\n"
                               "The model's preprocessing record (X.json beside X.tflite) says what to repeat.")


COMMAND = _command()
