"""Logs as the board sees them: one stream per continuous log, with the decision stage after the model.

A log with a label column loads as one Recording per run of one label (``split_by_labels``); the
board sees the whole log as one stream, so :func:`join_segments` puts consecutive pieces of one
log back together, with a label per sample. :func:`stream_decisions` cuts a stream into the
board's windows, runs the int8 model and the decision stage (:mod:`classifier.decisions`) over
them in order, and says which class each window truly is: the label at the window's last sample,
the moment the board reports it. :func:`stream_figures` adds the smoothed accuracy and the change
latency (activity change -> first correct decision) to ``hargan classify``'s metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from har_data.recording import Recording


@dataclass
class Decisions:
    """One stream's windows in order: start sample, raw and smoothed class ids, int8 scores, true class names."""

    starts: np.ndarray
    raw: np.ndarray
    smoothed: np.ndarray
    score: np.ndarray
    true: list[str]
    times_s: np.ndarray
    """When each decision is made: its window's last sample, seconds from the stream's start."""
    change_times_s: list[float]
    """When each labelled change of activity happened (seconds from the stream's start)."""


def _follows(a: Recording, b: Recording) -> bool:
    """Whether ``b`` is the piece of the same log right after ``a`` (no gap in lines or in time)."""
    ma, mb = a.meta, b.meta
    if a.source != b.source or a.odr_hz != b.odr_hz or "first_line" not in ma or "first_line" not in mb:
        return False
    line = mb["first_line"]
    return line == ma["first_line"] + len(a) and line not in set(mb.get("time_jumps", ()))


def join_segments(labelled: Sequence[tuple[Recording, str]]) -> list[tuple[Recording, list[str]]]:
    """``(recording, label)`` pairs -> ``(stream, per-sample labels)``: consecutive pieces of one log joined."""
    out: list[tuple[Recording, list[str]]] = []
    pieces: list[Recording] = []
    for rec, label in labelled:
        if out and _follows(pieces[-1], rec):
            prev, labels = out[-1]
            out[-1] = (replace(prev, samples=np.concatenate([prev.samples, rec.samples]), label=""),
                       labels + [label] * len(rec))
        else:
            out.append((rec, [label] * len(rec)))
        pieces.append(rec)
    return out


def stream_decisions(int8, prep, rec: Recording, labels: Sequence[str], stride: int | None,
                     vote: int) -> Decisions:
    """The board's windows of one stream, the model's raw classes and the vote's smoothed ones, in order."""
    from classifier.decisions import vote as run_vote

    x, starts = prep.windows(rec, stride)
    odr = prep.sensor.odr_hz
    ends = starts + prep.window - 1
    if not len(x):
        empty = np.zeros(0, np.int64)
        return Decisions(starts, empty, empty, np.zeros(0), [], np.zeros(0), [])
    q = int8.predict_int8(x)
    prob, raw = int8.dequantize_output(q), np.argmax(q, axis=-1)
    at = np.minimum(np.rint(ends * rec.odr_hz / odr).astype(np.int64), len(labels) - 1)
    lab = np.asarray(labels)
    changes = np.flatnonzero(lab[1:] != lab[:-1]) + 1
    true = lab[at]
    # a change the decisions see happened at the last label change between the two decisions around it
    seen = [changes[(changes > at[s - 1]) & (changes <= at[s])][-1] for s in np.flatnonzero(true[1:] != true[:-1]) + 1]
    return Decisions(starts, raw, run_vote(raw, vote, len(prep.class_names)), prob[np.arange(len(x)), raw],
                     true.tolist(), ends / odr, [float(c / rec.odr_hz) for c in seen])


def stream_figures(streams: Sequence[Decisions], names: Sequence[str], vote: int) -> dict:
    """The decision stage's figures over labelled streams: smoothed accuracy and change latency, raw and smoothed."""
    from classifier.decisions import change_latencies, latency_summary
    from hargan.classify import label_metrics

    y_true, y_smooth = [], []
    lat: dict[str, tuple[list[float], int]] = {"raw": ([], 0), "smoothed": ([], 0)}
    for d in streams:
        if not d.true or not d.true[0]:
            continue
        t = np.array([list(names).index(c) for c in d.true])
        y_true.append(t)
        y_smooth.append(d.smoothed)
        for key, pred in (("raw", d.raw), ("smoothed", d.smoothed)):
            got, missed = change_latencies(t, pred, d.times_s, d.change_times_s)
            lat[key] = (lat[key][0] + got, lat[key][1] + missed)
    out: dict = {"vote": int(vote)}
    if y_true:
        m = label_metrics(np.concatenate(y_true), np.concatenate(y_smooth), names)
        out["smoothed"] = {k: m[k] for k in ("accuracy", "accuracy_by_class", "macro_f1", "confusion")}
    if lat["raw"][0] or lat["raw"][1]:
        out["change_latency"] = {k: latency_summary(*v) for k, v in lat.items()}
    return out

