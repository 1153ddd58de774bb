"""Compact training progress for the command line: one line every ~10 % of the epochs or steps.

Keras' own progress bar prints every epoch (60 lines for a classifier, a bar per GAN epoch);
a run's log stays readable with ten. The per-step rows are kept too: the GAN's history.csv
has one row per generator step (Keras' CSVLogger writes one per epoch).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from collections.abc import Callable, Sequence

import keras

from har_data.atomic import write_text
from hargan.steps.common import csv_text

Log = Callable[[str], None]


class ProgressLog(keras.callbacks.Callback):
    """Logs ``keys`` every ~10 % of ``total`` epochs (``per="epoch"``) or train steps (``per="step"``)."""

    def __init__(self, total: int, log: Log, *, per: str = "epoch", label: str = "",
                 keys: Sequence[str] = ("loss", "accuracy", "val_loss", "val_accuracy"), spec: str = ".3f",
                 keep: Path | None = None):
        super().__init__()
        self.total, self.log, self.per, self.keys, self.spec = int(total), log, per, tuple(keys), spec
        self.label = label
        self.keep = None if keep is None else Path(keep)
        """GAN steps: a CSV where the rows so far are kept at each epoch end, to resume the history with the model."""
        self.prefix = f"{label} {per}" if label else per
        self.every = max(1, self.total // 10)
        self.rows: list[dict] = []
        """Every epoch's (or step's) logs, numbered from 1."""
        self.shown = 0
        self.t0 = time.perf_counter()

    def _record(self, logs: dict | None) -> None:
        n = len(self.rows) + 1
        self.rows.append({self.per: n, **{k: float(v) for k, v in (logs or {}).items()}})
        if n % self.every == 0 or n == self.total:
            self._show()

    def _show(self) -> None:
        row = self.rows[-1]
        shown = ", ".join(f"{k} {format(row[k], self.spec)}" for k in self.keys if k in row)
        self.log(f"  {self.prefix} {len(self.rows)}/{self.total} ({time.perf_counter() - self.t0:.0f} s): {shown}")
        self.shown = len(self.rows)

    def on_train_begin(self, logs=None):
        """A GAN resumed from a checkpoint at update ``n``: say so, and take back the kept rows up to ``n``."""
        counter = getattr(self.model, "step_counter", None) if self.per == "step" else None
        start = 0 if counter is None else int(counter.numpy())
        if start <= 0:
            return
        if self.keep is not None and self.keep.is_file():
            with open(self.keep, newline="", encoding="utf-8") as fh:
                kept = [{k: (int(v) if k == self.per else float(v)) for k, v in r.items() if v != ""}
                        for r in csv.DictReader(fh)]
            self.rows = [r for r in kept if r[self.per] <= start]
        self.rows += [{self.per: n} for n in range(len(self.rows) + 1, start + 1)]  # lost rows: numbered, empty
        self.log(f"  {self.label or 'training'}: resuming from the checkpoint at {self.per} {start}/{self.total}")

    def on_epoch_end(self, epoch, logs=None):
        if self.per == "epoch":
            self._record(logs)
        elif self.keep is not None:
            write_text(self.keep, csv_text(self.rows))

    def on_train_batch_end(self, batch, logs=None):
        if self.per == "step":
            self._record(logs)

    def on_train_end(self, logs=None):
        if self.per == "epoch" and self.rows and self.shown != len(self.rows):
            self.log(f"  early stop after epoch {len(self.rows)} (best weights restored)")
            self._show()
