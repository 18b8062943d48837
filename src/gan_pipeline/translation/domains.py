"""The two domains: A is MNIST digits, B a fixed restyling T of other digits. Pure NumPy.

T thickens the strokes (a maximum filter) and, where asked, inverts the background: a map
that is known exactly, so a translation A → B can be measured against T(x). A and B train
on disjoint halves of the training set (and test on disjoint halves of the test set), so no
digit is ever seen in both; an image whose pixels also occur in A's half is dropped from B's.
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy.ndimage import maximum_filter

from gan_pipeline.config.translate import DomainsConfig
from gan_pipeline.data.prepare import image_count


_IMAGES = ("float32", (None, 28, 28, 1))
# The domains' file, the output of the domains stage: name -> (dtype, shape).
LAYOUT = {"a_train": _IMAGES, "a_index": ("int64", (None,)), "b_train": _IMAGES,
          "b_index": ("int64", (None,)), "a_test": _IMAGES, "a_test_labels": ("uint8", (None,)),
          "b_test": _IMAGES, "b_test_labels": ("uint8", (None,))}


def restyle(images: np.ndarray, cfg: DomainsConfig) -> np.ndarray:
    """T: N×H×W×C images in [-1, 1] → the same digits in B's style, in [-1, 1]."""
    size = 2 * cfg.dilation + 1
    thick = maximum_filter(images, size=(1, size, size, 1), mode="constant", cval=-1.0)
    return -thick if cfg.invert else thick


def unstyle(images: np.ndarray, cfg: DomainsConfig) -> np.ndarray:
    """The invertible part of T undone (the inversion): B's images as the evaluation
    classifier, trained on dark-background digits, reads them."""
    return -images if cfg.invert else images


def _digests(images: np.ndarray) -> list[bytes]:
    return [hashlib.sha256(np.ascontiguousarray(x).tobytes()).digest() for x in images]


def _halves(images: np.ndarray, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The indices of A's images (the first half) and of B's (the second, less any image
    also in A's), each cut to ``count``."""
    half = len(images) // 2
    in_a = set(_digests(images[:half]))
    fresh = [d not in in_a for d in _digests(images[half:])]
    return np.arange(half)[:count], (half + np.flatnonzero(fresh))[:count]


def make_domains(data: dict[str, np.ndarray], cfg: DomainsConfig) -> dict[str, np.ndarray]:
    """The domains' train and test images and labels from a prepared MNIST ``data``, with
    the training images' indices in it (``a_index``, ``b_index``)."""
    count = image_count(cfg.train_images, len(data["x_train"]) // 2, "domains.train_images")
    a_index, b_index = _halves(data["x_train"], count)
    a_test, b_test = _halves(data["x_test"])
    return {"a_train": data["x_train"][a_index], "a_index": a_index,
            "b_train": restyle(data["x_train"][b_index], cfg), "b_index": b_index,
            "a_test": data["x_test"][a_test], "a_test_labels": data["y_test"][a_test],
            "b_test": restyle(data["x_test"][b_test], cfg),
            "b_test_labels": data["y_test"][b_test]}


def shared_images(first: np.ndarray, second: np.ndarray) -> int:
    """How many images of ``second`` also occur, pixel for pixel, in ``first``."""
    seen = set(_digests(first))
    return sum(d in seen for d in _digests(second))
