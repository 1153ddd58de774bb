"""Small synthetic data with known answers for the evaluation tests (sines of one frequency per class)."""

from __future__ import annotations

import numpy as np

from har_data import SensorSpec, WindowSet

CLASSES = ["still", "walk", "run"]
FREQS = (1.0, 3.0, 6.0)  # Hz, one per class
FS = 26.0
T = 48


def sines(n_per_class: int, seed: int, freqs=FREQS, amp: float = 1200.0, offset: float = 0.0,
          noise: float = 80.0, length: int = T) -> tuple[np.ndarray, np.ndarray]:
    """``n_per_class`` windows per class: 3-axis sines of the class's frequency, random phase, noise (mg)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(freqs)), n_per_class)
    t = np.arange(length) / FS
    ph = rng.uniform(0, 2 * np.pi, (len(y), 1, 3))
    f = np.asarray(freqs, dtype=float)[y][:, None, None]
    x = offset + amp * np.sin(2 * np.pi * f * t[None, :, None] + ph) + rng.normal(0, noise, (len(y), length, 3))
    return x.astype(np.float32), y


def window_set(n_groups_per_class: int = 6, per_group: int = 12, seed: int = 0) -> WindowSet:
    """A WindowSet of sines, ``n_groups_per_class`` recordings per class split 4:1:1 train/val/test."""
    xs, ys, gs, ss = [], [], [], []
    for g in range(n_groups_per_class):
        x, y = sines(per_group, seed * 1000 + g)
        split = "test" if g % 6 == 5 else "val" if g % 6 == 4 else "train"
        xs.append(x)
        ys.append(y)
        gs.append(np.array([f"rec{g}_{CLASSES[c]}" for c in y]))
        ss.append(np.full(len(y), split))
    return WindowSet(np.concatenate(xs), np.concatenate(ys), CLASSES, np.concatenate(ss), np.concatenate(gs),
                     SensorSpec("LSM6DSL", 4, 26), FS)
