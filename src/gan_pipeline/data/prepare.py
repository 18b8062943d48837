"""Scale the images to the generator's tanh range, exactly as the book does."""

from __future__ import annotations

import numpy as np

from gan_pipeline.config.datasets import DATASETS
from gan_pipeline.errors import InputError


def prepared_layout(dataset: str) -> dict[str, tuple[str, tuple[int | None, ...]]]:
    """name -> (dtype, shape) of the prepared file, the input of the train stage."""
    image = (None, *DATASETS[dataset].image_shape)
    return {"x_train": ("float32", image), "y_train": ("uint8", (None,)),
            "x_test": ("float32", image), "y_test": ("uint8", (None,))}


def image_count(value: int | str, available: int, key: str) -> int:
    """A config ``ImageCount`` (the first N, or all), resolved against ``available`` images."""
    if value == "all":
        return available
    if value > available:
        raise InputError(f"{key} is {value} but only {available} images are available")
    return value


def scale(pixels: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) or (N, H, W, C) in [0, 255] -> float32 (N, H, W, C) in [-1, 1].

    The book's ``X_train / 127.5 - 1.0``, followed for grayscale images by its
    ``np.expand_dims(X_train, axis=3)``.
    """
    if pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8, got {pixels.dtype}")
    scaled = pixels.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    return np.expand_dims(scaled, 3) if scaled.ndim == 3 else scaled


def check_scaled(images: np.ndarray, source: str) -> None:
    """Raise ValueError naming ``source`` unless ``images`` lie in [-1, 1] and are finite."""
    if not np.isfinite(images).all():
        raise InputError(f"{source}: contains NaN or inf")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1.0 or hi > 1.0:
        raise InputError(f"{source}: values must lie in [-1, 1], got [{lo}, {hi}]")


def prepare(raw: dict[str, np.ndarray], train_images: int | str) -> dict[str, np.ndarray]:
    """Keep the first ``train_images`` training images (or all) and scale both splits."""
    n = image_count(train_images, len(raw["x_train"]), "prepare.train_images")
    return {
        "x_train": scale(raw["x_train"][:n]),
        "y_train": raw["y_train"][:n],
        "x_test": scale(raw["x_test"]),
        "y_test": raw["y_test"],
    }
