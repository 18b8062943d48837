"""The sample section, and what the sample stage reads."""

from __future__ import annotations

from gan_pipeline.config.schema import GridConfig, Section, Seed, StageParams


class SampleConfig(Section):
    seed: Seed
    grid: GridConfig
    interpolation: GridConfig  # rows of latent walks, cols points along each


class SampleParams(StageParams):
    sample: SampleConfig
