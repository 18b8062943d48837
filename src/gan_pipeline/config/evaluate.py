"""The evaluate section, and what the evaluate stage reads."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from gan_pipeline.config.datasets import DataConfig, check_image_count
from gan_pipeline.config.schema import (Count, KeyedError, Number, Section, Seed,
                                            StageParams)


class EvaluateConfig(Section):
    seed: Seed
    samples: Count  # generated images compared with the test set
    real_images: Count  # training images for the real-vs-real reference values
    batch_size: Count
    score_splits: Count
    precision_recall_k: Count
    density_coverage_k: Count
    confidence_threshold: Annotated[Number, Field(gt=0, le=1)]

    @model_validator(mode="after")
    def _consistent(self) -> EvaluateConfig:
        k = max(self.precision_recall_k, self.density_coverage_k)
        for key in ("samples", "real_images"):
            if getattr(self, key) <= k:
                raise KeyedError((key,), f"must be > the largest k ({k})", getattr(self, key))
        if self.score_splits > self.samples:
            raise KeyedError(("score_splits",), f"must be <= evaluate.samples ({self.samples})",
                             self.score_splits)
        return self


class EvaluateParams(StageParams):
    data: DataConfig
    evaluate: EvaluateConfig

    @model_validator(mode="after")
    def _fits_the_dataset(self) -> EvaluateParams:
        check_image_count(self.data, "evaluate", "real_images", self.evaluate.real_images)
        return self
