"""Scale MNIST to the generator's tanh range, exactly as the seed does."""

from __future__ import annotations

import numpy as np

# name -> (dtype, shape) of data/prepared/mnist.npz, the input of the train stage.
PREPARED_LAYOUT: dict[str, tuple[str, tuple[int | None, ...]]] = {
    "x_train": ("float32", (None, 28, 28, 1)),
    "y_train": ("uint8", (None,)),
    "x_test": ("float32", (None, 28, 28, 1)),
    "y_test": ("uint8", (None,)),
}


def scale(pixels: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) in [0, 255] -> float32 (N, 28, 28, 1) in [-1, 1].

    The seed's ``X_train / 127.5 - 1.0`` followed by ``np.expand_dims(X_train, axis=3)``.
    """
    if pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8, got {pixels.dtype}")
    return np.expand_dims(pixels.astype(np.float32) / np.float32(127.5) - np.float32(1.0), 3)


def check_scaled(images: np.ndarray, source: str) -> None:
    """Raise ValueError naming ``source`` unless ``images`` lie in [-1, 1] and are finite."""
    if not np.isfinite(images).all():
        raise ValueError(f"{source}: contains NaN or inf")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1.0 or hi > 1.0:
        raise ValueError(f"{source}: values must lie in [-1, 1], got [{lo}, {hi}]")


def prepare(raw: dict[str, np.ndarray], train_images: int) -> dict[str, np.ndarray]:
    """Keep the first ``train_images`` training images and scale both splits."""
    available = len(raw["x_train"])
    if train_images > available:
        raise ValueError(f"prepare.train_images is {train_images} but the raw data holds only "
                         f"{available} training images")
    return {
        "x_train": scale(raw["x_train"][:train_images]),
        "y_train": raw["y_train"][:train_images],
        "x_test": scale(raw["x_test"]),
        "y_test": raw["y_test"],
    }
