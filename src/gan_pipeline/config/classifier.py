"""The classifier section (the evaluation's classifier), and what train_classifier reads."""

from __future__ import annotations

from pydantic import model_validator

from gan_pipeline.config.datasets import (DataConfig, ImageCount, check_batch_size,
                                              check_image_count)
from gan_pipeline.config.schema import Count, Positive, Section, Seed, StageParams


class ClassifierConfig(Section):
    """The classifier whose features the evaluation measures in (not part of the GAN)."""

    seed: Seed
    train_images: ImageCount
    epochs: Count
    batch_size: Count
    learning_rate: Positive


class ClassifierParams(StageParams):
    data: DataConfig
    classifier: ClassifierConfig

    @model_validator(mode="after")
    def _fits_the_dataset(self) -> ClassifierParams:
        count = self.classifier.train_images
        check_image_count(self.data, "classifier", "train_images", count)
        check_batch_size(self.data, "classifier", self.classifier.batch_size, "classifier",
                         count)
        return self
