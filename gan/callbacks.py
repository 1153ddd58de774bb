"""Keras callbacks for GAN training: sample plots per class, stop after an exact number of updates,
stop with an error on a NaN loss, checkpoint the whole training state for resuming."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import keras
import numpy as np

from har_data.atomic import atomic_path
from har_data.errors import InputError, TrainingError


class TrainingDiverged(TrainingError):
    """A loss turned NaN or infinite: what was trained is worthless and must not be saved."""


class StopAtStep(keras.callbacks.Callback):
    """Stop ``fit`` once the GAN's ``step_counter`` (generator updates, kept across resumes) reaches ``steps``.

    Reads the counter once at the start and then counts batches: under JAX, reading model state
    mid-epoch forces a device-to-host sync of every variable, which would cost a sync per update.
    """

    def __init__(self, steps: int):
        super().__init__()
        self.steps = int(steps)
        self._done, self._last = 0, -1

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._done = int(self.model.step_counter.numpy())
        if self._done >= self.steps:
            self.model.stop_training = True

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._last = -1

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        # ``batch`` is the last step of this call (several with steps_per_execution > 1).
        self._done += int(batch) - self._last
        self._last = int(batch)
        if self._done >= self.steps:
            self.model.stop_training = True


class StopOnNaN(keras.callbacks.Callback):
    """Like ``TerminateOnNaN``, but raise :class:`TrainingDiverged` so that ``fit``'s caller saves nothing.

    Checked on the epoch's logs (a NaN in any update makes the epoch mean NaN): no per-update
    device sync. Put it before a checkpoint callback so a NaN state is never checkpointed.
    """

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        bad = {k: v for k, v in (logs or {}).items() if not np.isfinite(float(v))}
        if bad:
            step = int(self.model.step_counter.numpy()) if hasattr(self.model, "step_counter") else None
            raise TrainingDiverged(f"training diverged: {', '.join(f'{k}={v}' for k, v in bad.items())} by update "
                                   f"{step} (check the data and settings such as gp_weight and the learning rates); "
                                   "no model was saved")


class Checkpoint(keras.callbacks.Callback):
    """Save the whole training state (weights, both optimizers, the update counter that seeds the noise)
    to ``path`` (a ``.weights.h5``) at every epoch end, atomically: a kill never leaves half a checkpoint.

    Unlike ``BackupAndRestore`` the file is replaced by a rename and is kept after training, so
    the caller decides when it is no longer needed (after the outputs are safely written).
    """

    def __init__(self, path: str | os.PathLike):
        super().__init__()
        self.path = Path(path)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        save_weights(self.model, self.path)


def save_weights(model: keras.Model, path: Path) -> None:
    """``model.save_weights`` to ``path``, atomically; a write error (a full disk) is one :class:`InputError`
    naming ``path``. HDF5 keeps a file it could not flush open, and would fail again (and crash the
    interpreter at exit): the half-written file is emptied, to free its space, and closed by force."""
    try:
        with atomic_path(path, suffix=".weights.h5") as tmp:
            try:
                model.save_weights(tmp)
            except (OSError, RuntimeError):
                _close_hdf5(tmp)
                raise
    except (OSError, RuntimeError) as exc:
        reason = "no space left on the device" if "errno = 28" in str(exc) or getattr(exc, "errno", None) == 28 \
            else " ".join(str(exc).split())[:200]
        raise InputError(f"cannot write the training checkpoint: {reason}", path) from None


def _close_hdf5(path: Path) -> None:
    """Empty ``path`` and close every HDF5 object still open on it (what ``h5py.File.close`` does)."""
    import h5py

    with contextlib.suppress(OSError):
        os.truncate(path, 0)
    with h5py._objects.phil:
        for fid in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE):
            with contextlib.suppress(Exception):
                if os.fsdecode(h5py.h5f.FileID.get_name(fid)) != os.fspath(path):
                    continue
                for obj in h5py.h5f.get_obj_ids(fid, ~h5py.h5f.OBJ_FILE & h5py.h5f.OBJ_ALL):
                    while obj.valid:
                        h5py.h5i.dec_ref(obj)
                while fid.valid:
                    h5py.h5i.dec_ref(fid)


def plot_generated(generator: keras.Model, path: str | os.PathLike, per_class: int = 3, seed: int = 0,
                   title: str = "") -> Path:
    """PNG grid of generated windows: one row per class, ``per_class`` columns, x/y/z in mg.

    Drawn on a ``matplotlib.figure.Figure`` (no pyplot), so a notebook's backend and figures are untouched.
    """
    from matplotlib.figure import Figure

    from gan.models import model_class_names
    from gan.sampling import generate_windows

    names = model_class_names(generator)
    x, y = generate_windows(generator, int(per_class), seed=seed)
    fig = Figure(figsize=(2.6 * per_class, 1.8 * len(names)))
    axes = fig.subplots(len(names), per_class, squeeze=False, sharex=True, sharey=True)
    for c, name in enumerate(names):
        for j, w in enumerate(x[y == c][:per_class]):
            ax = axes[c, j]
            for k, (axis, color) in enumerate(zip("xyz", ("tab:red", "tab:green", "tab:blue"))):
                if k < w.shape[1]:
                    ax.plot(w[:, k], color=color, lw=0.9, label=axis)
            if j == 0:
                ax.set_ylabel(f"{name}\nmg", fontsize=8)
            ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=6, loc="upper right")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    return Path(path)


class SamplePlotCallback(keras.callbacks.Callback):
    """Every ``every_n_epochs`` epochs, plot generated windows per class to ``out_dir/samples_epoch_<n>.png``.

    Same ``seed`` every time, so successive plots show the same latent points as training goes on.
    """

    def __init__(self, every_n_epochs: int, out_dir: str | os.PathLike, per_class: int = 3, seed: int = 0):
        super().__init__()
        self.every = max(1, int(every_n_epochs))
        self.out_dir = Path(out_dir)
        self.per_class = int(per_class)
        self.seed = int(seed)
        self.written: list[Path] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every:
            return
        path = self.out_dir / f"samples_epoch_{epoch + 1:04d}.png"
        self.written.append(plot_generated(self.model.generator, path, self.per_class, self.seed,
                                           title=f"generated windows after epoch {epoch + 1}"))
