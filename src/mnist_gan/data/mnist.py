"""The MNIST arrays as Keras's ``mnist.npz`` holds them, and a digest of their content."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

from mnist_gan.files import check_arrays

# name -> (dtype, shape), the layout of keras.datasets.mnist. The length is free so that tests
# can serve small files; the content digest pins the real data.
RAW_LAYOUT: dict[str, tuple[str, tuple[int | None, ...]]] = {
    "x_train": ("uint8", (None, 28, 28)),
    "y_train": ("uint8", (None,)),
    "x_test": ("uint8", (None, 28, 28)),
    "y_test": ("uint8", (None,)),
}


def check_raw(arrays: Mapping[str, np.ndarray], source: str) -> None:
    """Raise ValueError naming ``source`` unless ``arrays`` has the MNIST layout."""
    check_arrays(arrays, RAW_LAYOUT, source)
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"{source}: x_{split} has {len(x)} images but y_{split} has "
                             f"{len(y)} labels")
        if y.max() > 9:
            raise ValueError(f"{source}: y_{split} has labels outside 0-9")


def content_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """sha256 over each array's name, dtype, shape and bytes, in ``RAW_LAYOUT`` order.

    It identifies the data rather than the file, so it is the same whichever mirror served it.
    """
    h = hashlib.sha256()
    for name in RAW_LAYOUT:
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}\n".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def summary(arrays: Mapping[str, np.ndarray], digest: str) -> dict[str, object]:
    """What the download stage records about the data it produced."""
    return {
        "content_digest": digest,
        "train_images": int(arrays["x_train"].shape[0]),
        "test_images": int(arrays["x_test"].shape[0]),
        "train_pixel_mean": float(arrays["x_train"].mean()),
        "test_pixel_mean": float(arrays["x_test"].mean()),
    }
