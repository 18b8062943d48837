"""The datasets and the data and prepare sections (what download and prepare read)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import PlainValidator, model_validator

from gan_pipeline.config.schema import KeyedError, Section, StageParams


@dataclass(frozen=True)
class DatasetSpec:
    """What the pipeline needs to know of a dataset before it has the data."""

    title: str  # as figures and tables name it
    image_shape: tuple[int, int, int]  # height, width, channels
    train_images: int


# The datasets Keras ships loaders for, with the size of their canonical training split.
DATASETS = {
    "mnist": DatasetSpec("MNIST", (28, 28, 1), 60_000),
    "fashion_mnist": DatasetSpec("Fashion-MNIST", (28, 28, 1), 60_000),
    "cifar10": DatasetSpec("CIFAR-10", (32, 32, 3), 50_000),
}
Dataset = Literal[tuple(DATASETS)]


def int_from_one_or(word: str):
    def check(value: Any) -> int | str:
        if value == word or (type(value) is int and value >= 1):
            return value
        raise ValueError(f"must be an integer >= 1 or {word}")
    return PlainValidator(check)


ImageCount = Annotated[int | Literal["all"], int_from_one_or("all")]  # the first N, or all


class DataConfig(Section):
    dataset: Dataset

    @property
    def spec(self) -> DatasetSpec:
        return DATASETS[self.dataset]


class PrepareConfig(Section):
    train_images: ImageCount  # the book keeps all; tests shrink it


def check_image_count(data: DataConfig, section: str, key: str, value: int | str) -> None:
    """``section.key``, a number of training images, must fit the dataset."""
    if value != "all" and value > data.spec.train_images:
        raise KeyedError((section, key), f"must be <= the {data.spec.train_images} training "
                         f"images of {data.dataset}", value)


def check_batch_size(data: DataConfig, section: str, batch_size: int, images: str,
                     count: int | str) -> None:
    """``section.batch_size`` must fit the ``images`` section's ``train_images``."""
    available = data.spec.train_images if count == "all" else count
    if batch_size > available:
        raise KeyedError((section, "batch_size"), f"must be <= {images}.train_images "
                         f"({available})", batch_size)


class PrepareParams(StageParams):
    data: DataConfig
    prepare: PrepareConfig

    @model_validator(mode="after")
    def _fits_the_dataset(self) -> PrepareParams:
        check_image_count(self.data, "prepare", "train_images", self.prepare.train_images)
        return self
