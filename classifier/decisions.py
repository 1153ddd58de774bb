"""The board's decision stage: a causal majority vote over the board model's last N decisions.

Why: the board model decides one window at a time, but an activity lasts minutes, so a single
window that looks like another activity (a pedal stroke like standing, a car at a light) is an
error the device can avoid by voting. The price is latency at each real change of activity,
which :func:`change_latencies` measures.

The rule, identical in Python (:class:`MajorityVote`) and in the exported C
(``<name>_decide.c``, integer only):

- the reported class is the one with the most votes among the last ``n`` raw decisions (all of
  them while fewer than ``n`` have been made since the stream started);
- a tie goes to the tied class decided most recently (the newest raw decision backwards).

State: a ring of ``n`` class ids and one count per class (``n + K + 2`` bytes in C, ``n <= 255``).
``n = 1`` reports every raw decision unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_VOTE = 255
"""The most decisions a vote spans: the C state keeps one byte per count."""


class MajorityVote:
    """A causal majority vote over the last ``n`` class ids of ``num_classes`` (the C twin's rule, step by step)."""

    def __init__(self, n: int, num_classes: int) -> None:
        if not 1 <= int(n) <= MAX_VOTE:
            raise ValueError(f"a vote spans 1 to {MAX_VOTE} decisions, got {n}")
        self.n, self.num_classes = int(n), int(num_classes)
        self.reset()

    def reset(self) -> None:
        """Forget every decision (a new stream)."""
        self.ring = [0] * self.n
        self.counts = [0] * self.num_classes
        self.next = 0
        self.filled = 0

    def update(self, cls: int) -> int:
        """Add one raw decision; return the smoothed one."""
        cls = int(cls)
        if not 0 <= cls < self.num_classes:
            raise ValueError(f"class id {cls} out of 0..{self.num_classes - 1}")
        if self.filled == self.n:
            self.counts[self.ring[self.next]] -= 1
        else:
            self.filled += 1
        self.ring[self.next] = cls
        self.counts[cls] += 1
        self.next = (self.next + 1) % self.n
        best = max(self.counts)
        k = self.next
        for _ in range(self.filled):  # newest first: the most recent of the tied classes wins
            k = (k - 1) % self.n
            if self.counts[self.ring[k]] == best:
                return self.ring[k]
        raise AssertionError("unreachable: the newest decision has a count")


def vote(decisions: Sequence[int] | np.ndarray, n: int, num_classes: int) -> np.ndarray:
    """The smoothed class after each raw decision of one stream (a fresh vote at its start)."""
    v = MajorityVote(n, num_classes)
    return np.array([v.update(c) for c in np.asarray(decisions).reshape(-1)], dtype=np.int64)


def vote_decisions(seconds: float, odr_hz: float, stride: int) -> int:
    """How many decisions a vote of ``seconds`` spans at one decision every ``stride`` samples (1 = no vote)."""
    n = int(round(float(seconds) * float(odr_hz) / int(stride)))
    return max(1, min(MAX_VOTE, n))


def change_latencies(true: np.ndarray, pred: np.ndarray, times_s: np.ndarray,
                     change_times_s: Sequence[float] | None = None) -> tuple[list[float], int]:
    """Seconds from each activity change to the first correct decision after it: ``(latencies, missed)``.

    ``true``/``pred``: class ids of one stream's decisions, in order; ``times_s``: when each decision
    is made (its window's last sample). A change is where ``true`` changes between two decisions;
    it happened at ``change_times_s`` (the label change itself, one per change) or, without them,
    at the first decision of the new class. ``missed``: changes with no correct decision before the
    next change or the stream's end (they are not in ``latencies``).
    """
    true, pred, times_s = np.asarray(true), np.asarray(pred), np.asarray(times_s, dtype=np.float64)
    starts = np.flatnonzero(true[1:] != true[:-1]) + 1
    if change_times_s is not None and len(change_times_s) != len(starts):
        raise ValueError(f"{len(change_times_s)} change times for {len(starts)} changes")
    ends = np.append(starts[1:], len(true))
    out, missed = [], 0
    for k, (s, e) in enumerate(zip(starts, ends)):
        hit = np.flatnonzero(pred[s:e] == true[s])
        if not len(hit):
            missed += 1
            continue
        t0 = times_s[s] if change_times_s is None else float(change_times_s[k])
        out.append(round(float(times_s[s + hit[0]] - t0), 4))
    return out, missed


def latency_summary(latencies: Sequence[float], missed: int) -> dict:
    """Median and 90th percentile of the change latencies (seconds), how many changes, how many missed."""
    lat = np.asarray(latencies, dtype=np.float64)
    return {"changes": int(len(lat) + missed), "missed": int(missed),
            "median_s": round(float(np.median(lat)), 3) if len(lat) else None,
            "p90_s": round(float(np.percentile(lat, 90)), 3) if len(lat) else None}
