"""The whole of params.yaml, and a comparison run's params: what the comparison, the
benchmarks and the tests read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import model_validator

from gan_pipeline.config.classifier import ClassifierConfig
from gan_pipeline.config.compare import CompareConfig
from gan_pipeline.config.datasets import (DataConfig, PrepareConfig, check_batch_size,
                                              check_image_count)
from gan_pipeline.config.download import DownloadConfig
from gan_pipeline.config.evaluate import EvaluateConfig
from gan_pipeline.config.mlflow import MlflowConfig
from gan_pipeline.config.model import ModelConfig, check_generator_start
from gan_pipeline.config.sample import SampleConfig
from gan_pipeline.config.schema import ConfigError, Section, read_yaml, validate
from gan_pipeline.config.train import TrainConfig, TrainRuntimeConfig, check_runtime


class RuntimeConfig(Section):
    download: DownloadConfig
    train: TrainRuntimeConfig


class Params(Section):
    data: DataConfig
    prepare: PrepareConfig
    model: ModelConfig
    train: TrainConfig
    sample: SampleConfig
    classifier: ClassifierConfig
    evaluate: EvaluateConfig
    runtime: RuntimeConfig
    mlflow: MlflowConfig

    @model_validator(mode="after")
    def _fits_the_dataset(self) -> Params:
        check_runtime(self.train, self.runtime.train)
        for section, key in (("prepare", "train_images"), ("classifier", "train_images"),
                             ("evaluate", "real_images")):
            check_image_count(self.data, section, key, getattr(getattr(self, section), key))
        check_batch_size(self.data, "train", self.train.batch_size, "prepare",
                         self.prepare.train_images)
        check_batch_size(self.data, "classifier", self.classifier.batch_size, "classifier",
                         self.classifier.train_images)
        check_generator_start(self.data, self.model)
        return self


def parse_params(raw: Any) -> Params:
    """Validate an already-parsed params mapping."""
    return validate(Params, raw)


def run_params(params: Params, compare: CompareConfig, name: str) -> Params:
    """``params`` as comparison run ``name`` trains: in one process, with the comparison's
    budget and measuring (``compare.minutes``, ``.eval_interval``), then its own changes."""
    raw = params.model_dump()
    changes = {"train.max_minutes": compare.minutes,
               "train.eval_interval": compare.eval_interval, **compare.runs[name]}
    if params.runtime.train.strategy == "multi_worker":
        changes = {"runtime.train.strategy": "default", **changes}
    for key, value in changes.items():
        *parents, leaf = key.split(".")
        section = raw
        for part in parents:
            section = section.get(part) if isinstance(section, dict) else None
        if not isinstance(section, dict) or isinstance(section.get(leaf, {}), dict):
            raise ConfigError(f"runs.{name}.{key}: not a key of params.yaml that holds a "
                              "value")
        section[leaf] = value
    return validate(Params, raw, where=f"runs.{name}: ")


def load_params(path: str | Path) -> Params:
    """Read and validate all of ``params.yaml``; raises :class:`ConfigError` naming the bad
    key."""
    return parse_params(read_yaml(path))
