"""translate/params.yaml: the CycleGAN of translate/dvc.yaml (reference 004, §26-3)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from gan_pipeline.config.schema import (Count, Fraction, KeyedError, Number, Positive, Seed,
                                        Section, read_yaml, validate)

NonNegative = Annotated[Number, Field(ge=0)]


class DomainsConfig(Section):
    # B is A's restyling: strokes thickened by a (2·dilation + 1)² maximum filter, then the
    # background inverted where invert is set. Dilation 0 and no inversion is refused: B
    # would be A.
    dilation: Annotated[int, Field(ge=0, le=3)]
    invert: bool
    # Training images per domain, from its own half of the training set, or all of it.
    train_images: Count | Literal["all"]

    @model_validator(mode="after")
    def _b_differs_from_a(self):
        if self.dilation == 0 and not self.invert:
            raise KeyedError(("dilation",), "with domains.invert false, 0 makes B the same as "
                             "A", self.dilation)
        return self


class NetsConfig(Section):
    width: Count  # the channels of each generator's first layer, doubled once downsampled
    residual_blocks: Annotated[int, Field(ge=0)]  # at the downsampled resolution


class AdamConfig(Section):
    learning_rate: Positive
    beta_1: Fraction


class TranslateTrainConfig(Section):
    seed: Seed
    batch_size: Count  # images of each domain per iteration
    iterations: Count  # a cap: max_minutes usually ends the run first
    max_minutes: Positive | None
    lambda_cycle: NonNegative  # weight of the L1 cycle loss (the reference's λ)
    lambda_identity: NonNegative  # weight of the L1 identity loss, times lambda_cycle; 0: none
    adam: AdamConfig
    log_interval: Count  # iterations between history rows (and progress lines)


class TranslateMlflowConfig(Section):
    experiment: str
    registered_model: str  # the A-to-B generator's name in the Model Registry


class TranslateParams(Section):
    domains: DomainsConfig
    nets: NetsConfig
    train: TranslateTrainConfig
    mlflow: TranslateMlflowConfig


def load_translate(path: str | Path) -> TranslateParams:
    """Read and validate translate/params.yaml; raises ConfigError naming the bad key."""
    return validate(TranslateParams, read_yaml(path), where=f"{path}: ")

