"""The datasets' arrays as Keras's loaders return them (labels flat), and a digest of their
content."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from gan_pipeline.config.datasets import DATASETS
from gan_pipeline.errors import InputError
from gan_pipeline.formats.digests import arrays_sha256
from gan_pipeline.formats.files import check_arrays, load_npz

ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")
CLASSES = 10  # all three datasets have ten classes, labelled 0-9


def raw_layout(dataset: str) -> dict[str, tuple[str, tuple[int | None, ...]]]:
    """name -> (dtype, shape) of the raw file: Keras's layout (grayscale images without a
    channel axis), with labels as a flat vector. The length is free so that tests can serve small
    files; the checksums pin the real data."""
    height, width, channels = DATASETS[dataset].image_shape
    image = (None, height, width) if channels == 1 else (None, height, width, channels)
    return {"x_train": ("uint8", image), "y_train": ("uint8", (None,)),
            "x_test": ("uint8", image), "y_test": ("uint8", (None,))}


def check_raw(arrays: Mapping[str, np.ndarray], dataset: str, source: str) -> None:
    """Raise ValueError naming ``source`` unless ``arrays`` has ``dataset``'s layout."""
    check_arrays(arrays, raw_layout(dataset), source)
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(x) == 0:
            raise InputError(f"{source}: x_{split} holds no images")
        if len(x) != len(y):
            raise InputError(f"{source}: x_{split} has {len(x)} images but y_{split} has "
                             f"{len(y)} labels")
        if y.max() >= CLASSES:
            raise InputError(f"{source}: y_{split} has labels outside 0-{CLASSES - 1}")


def load_raw(path, dataset: str) -> dict[str, np.ndarray]:
    """The download stage's file, checked against ``dataset``'s layout."""
    try:
        arrays = load_npz(path, raw_layout(dataset))
        check_raw(arrays, dataset, str(path))
    except ValueError as err:
        raise InputError(f"{err} (is it another dataset's file? the download stage writes "
                         f"data.dataset's, {dataset})") from None
    return arrays


def content_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """sha256 over each array's name, dtype, shape and bytes, in ``ARRAY_NAMES`` order.

    It identifies the data rather than the file, so it is the same whichever mirror served it.
    """
    return arrays_sha256(arrays, ARRAY_NAMES)


def summary(dataset: str, arrays: Mapping[str, np.ndarray], digest: str, source: str
            ) -> dict[str, object]:
    """What the download stage records about the data it produced, and where from."""
    return {
        "dataset": dataset,
        "content_digest": digest,
        "source": source,
        "train_images": int(arrays["x_train"].shape[0]),
        "test_images": int(arrays["x_test"].shape[0]),
        "train_pixel_mean": float(arrays["x_train"].mean()),
        "test_pixel_mean": float(arrays["x_test"].mean()),
    }
