"""The model section: which of the references' GANs, and its shape."""

from __future__ import annotations

import typing
from typing import Annotated, Literal

from pydantic import model_validator

from gan_pipeline.config.datasets import DataConfig, int_from_one_or
from gan_pipeline.config.schema import Count, Fraction, KeyedError, Section
from gan_pipeline.training.generator_shape import REFERENCE_DOUBLINGS, generator_doublings

# See gan_pipeline.training.models, which builds each one.
Architecture = Literal["dcgan", "dcgan_tf", "mlp", "lapgan"]
ARCHITECTURES: tuple[str, ...] = typing.get_args(Architecture)


BOOK_DCGAN_START_CHANNELS = 256


class LeakyReluAlpha(Section):
    dcgan: Fraction
    dcgan_tf: Fraction
    lapgan: Fraction


class ModelConfig(Section):
    arch: Architecture
    z_dim: Count
    leaky_relu_alpha: LeakyReluAlpha  # of each architecture that has LeakyReLUs
    # Side of the convolutional generators' first feature map; the image side must be it times
    # 2**k, k >= 2 (one stride-2 layer per doubling). auto: image side / 4, the references'
    # two doublings (7 for 28×28, 8 for 32×32); 4 gives 32×32 a third doubling.
    generator_start: Annotated[int | Literal["auto"], int_from_one_or("auto")]
    # The channels of the dcgan generator's first map (its Dense layer's): the book's 256.
    # Fewer make the step cheaper (docs/recipe.md, set AE); the other architectures keep
    # their references' widths, so it is refused with them unless it is the book's.
    dcgan_start_channels: Count

    @model_validator(mode="after")
    def _channels_of_dcgan_only(self) -> ModelConfig:
        if self.arch != "dcgan" and self.dcgan_start_channels != BOOK_DCGAN_START_CHANNELS:
            raise KeyedError(("dcgan_start_channels",), "applies to model.arch dcgan "
                             f"only (model.arch is {self.arch})", self.dcgan_start_channels)
        return self


def check_generator_start(data: DataConfig, model: ModelConfig) -> None:
    side = data.spec.image_shape[0]
    if generator_doublings(model.generator_start, side) is None:
        raise KeyedError(("model", "generator_start"), f"must be {data.dataset}'s image side "
                         f"{side} divided by 2**k with k >= {REFERENCE_DOUBLINGS}",
                         model.generator_start)
