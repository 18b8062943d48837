"""Seeded noise vectors for the generator, independent of the training randomness: the
fixed progress grid, the sample grid, the latent walks and the evaluation samples."""

from __future__ import annotations

import numpy as np


def noise(seed: int, count: int, z_dim: int) -> np.ndarray:
    """Standard-normal noise vectors from their own seed."""
    return np.random.default_rng(seed).standard_normal((count, z_dim)).astype(np.float32)


def interpolation_noise(seed: int, rows: int, steps: int, z_dim: int) -> np.ndarray:
    """``rows`` straight lines of ``steps`` points each, between pairs of seeded noise
    vectors: the DCGAN paper's latent walk. Shape (rows · steps, z_dim), row by row."""
    ends = noise(seed, 2 * rows, z_dim).reshape(rows, 2, z_dim)
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]
    return ((1 - t) * ends[:, :1] + t * ends[:, 1:]).reshape(rows * steps, z_dim)
