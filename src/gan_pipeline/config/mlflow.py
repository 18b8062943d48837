"""The mlflow section, and what the track stage and the promote command read."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from gan_pipeline.config.datasets import DataConfig
from gan_pipeline.config.model import ModelConfig
from gan_pipeline.config.schema import Number, Section, StageParams
from gan_pipeline.config.train import TrainConfig, TrainRuntime


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _dataset_placeholder_only(template: str) -> str:
    try:
        template.format(dataset="mnist")
    except (KeyError, IndexError, ValueError):
        raise ValueError("may hold no placeholder but {dataset}") from None
    return template


class MlflowConfig(Section):
    experiment: Annotated[str, AfterValidator(_not_blank)]
    # The Model Registry name; "{dataset}" stands for data.dataset, so that each dataset's
    # generators (whose FIDs do not compare) get their own model and champion.
    registered_model: Annotated[str, AfterValidator(_not_blank),
                                AfterValidator(_dataset_placeholder_only)]
    # stages/promote.py moves the champion alias only to a version whose FID is lower by
    # more than this.
    champion_fid_margin: Annotated[Number, Field(ge=0)]

    def model_name(self, dataset: str) -> str:
        """The registered model that generators trained on ``dataset`` go to."""
        return self.registered_model.format(dataset=dataset)


class TrackParams(StageParams):
    """The training's params, which it logs, and where."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    runtime: TrainRuntime
    mlflow: MlflowConfig


class PromoteParams(StageParams):
    """Which registered model, and when its champion alias moves."""

    data: DataConfig
    mlflow: MlflowConfig
