"""Scaling to [-1, 1] exactly as the book does, and the first n training images kept."""

import numpy as np
import pytest

from helpers import synthetic_images
from gan_pipeline.data.prepare import prepare, scale


def test_scaling_matches_the_books_exactly():
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16).repeat(2, 0)
    pixels = np.pad(pixels, ((0, 0), (6, 6), (6, 6)))
    scaled = scale(pixels)
    assert scaled.dtype == np.float32 and scaled.shape == (2, 28, 28, 1)
    seed = np.expand_dims(pixels / 127.5 - 1.0, axis=3)  # the book's float64 expression
    np.testing.assert_allclose(scaled, seed, rtol=0, atol=1e-7)
    assert scaled.min() == -1.0 and scaled.max() == 1.0


def test_prepare_keeps_the_first_n_training_images():
    raw = synthetic_images(n_train=50, n_test=10)
    out = prepare(raw, 20)
    assert out["x_train"].shape == (20, 28, 28, 1) and out["x_test"].shape == (10, 28, 28, 1)
    np.testing.assert_array_equal(out["y_train"], raw["y_train"][:20])
    with pytest.raises(ValueError, match="prepare.train_images is 60 but only 50 images"):
        prepare(raw, 60)
    assert prepare(raw, "all")["x_train"].shape == (50, 28, 28, 1)


def test_colour_images_keep_their_channels():
    raw = synthetic_images("cifar10", n_train=5, n_test=2)
    out = prepare(raw, "all")
    assert out["x_train"].shape == (5, 32, 32, 3)
    np.testing.assert_allclose(out["x_train"], raw["x_train"] / 127.5 - 1.0, atol=1e-6)
