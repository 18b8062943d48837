"""``params.yaml`` validated once, before any work, into frozen pydantic models (errors name
the full key: see gan_pipeline.schema)."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PlainValidator, model_validator

from gan_pipeline.generator_shape import REFERENCE_DOUBLINGS, generator_doublings
from gan_pipeline.schema import (ConfigError, Count, Fraction, KeyedError, Number,
                                 Positive, Section, Seed, read_yaml, validate)

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
# See gan_pipeline.models, which builds each one.
Architecture = Literal["dcgan", "dcgan_tf", "mlp"]
ARCHITECTURES: tuple[str, ...] = typing.get_args(Architecture)


def _int_from_one_or(word: str):
    def check(value: Any) -> int | str:
        if value == word or (type(value) is int and value >= 1):
            return value
        raise ValueError(f"must be an integer >= 1 or {word}")
    return PlainValidator(check)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


ImageCount = Annotated[int | Literal["all"], _int_from_one_or("all")]  # the first N, or all


class DataConfig(Section):
    dataset: Dataset

    @property
    def spec(self) -> DatasetSpec:
        return DATASETS[self.dataset]


class DownloadConfig(Section):
    # An offline machine fails a URL within connect_timeout_s and moves on to the next mirror.
    connect_timeout_s: Positive
    read_timeout_s: Positive


class PrepareConfig(Section):
    train_images: ImageCount  # the book keeps all; tests shrink it


class LeakyReluAlpha(Section):
    dcgan: Fraction
    dcgan_tf: Fraction


class ModelConfig(Section):
    arch: Architecture
    z_dim: Count
    leaky_relu_alpha: LeakyReluAlpha  # of each architecture that has LeakyReLUs
    # Side of the convolutional generators' first feature map; the image side must be it times
    # 2**k, k >= 2 (one stride-2 layer per doubling). auto: image side / 4, the references'
    # two doublings (7 for 28×28, 8 for 32×32); 4 gives 32×32 a third doubling.
    generator_start: Annotated[int | Literal["auto"], _int_from_one_or("auto")]


class AdamConfig(Section):
    learning_rate: Positive
    # The discriminator's own learning rate (two time-scales); null: learning_rate, the
    # book's one Adam() setting for both nets.
    discriminator_learning_rate: Positive | None
    beta_1: Fraction
    beta_2: Fraction
    epsilon: Positive


class GridConfig(Section):
    rows: Count
    cols: Count


class TrainConfig(Section):
    seed: Seed
    iterations: Count
    batch_size: Count
    sample_interval: Count
    # A checkpoint every this many iterations (and on SIGINT/SIGTERM); resume: continue from
    # the latest compatible checkpoint, or (false) delete checkpoints and start fresh.
    checkpoint_interval: Count
    resume: bool
    adam: AdamConfig
    progress_grid: GridConfig
    # > 0: the generator handed out is an exponential moving average of its weights, each
    # iteration average = ema · average + (1 − ema) · weights; 0: the generator itself.
    ema: Fraction
    # One-sided label smoothing: the discriminator's target for real images is
    # 1 - label_smoothing (fakes stay 0; the generator's target stays 1).
    label_smoothing: Annotated[Number, Field(ge=0, lt=0.5)]
    # A wall-clock budget: training stops after the first iteration at which it has trained
    # this long (measuring left out), or at train.iterations if that comes first. null: none.
    max_minutes: Positive | None
    # Quality while training: every eval_interval iterations, fid and classifier_score of
    # eval_samples images (reports/quality.csv). null: none, and training is unchanged.
    eval_interval: Count | None
    eval_samples: Annotated[int, Field(ge=2)]  # a covariance needs two
    # Speed and reproducibility switches, each measured by benchmarks/train_throughput.py.
    # A Keras mixed-precision policy, or auto: mixed_bfloat16 on a CPU-only machine whose CPU
    # computes bf16 natively, else float32.
    precision: Literal["auto", "float32", "mixed_bfloat16", "mixed_float16"]
    fused_generator_pass: bool  # one generator forward per iteration (see gan_pipeline.gan)
    jit_compile: bool  # XLA-compile the train step
    deterministic: bool  # TensorFlow op determinism: same seed, same weights
    intra_op_threads: Seed  # 0: TensorFlow's default (all cores)
    inter_op_threads: Seed
    # Scale-out through tf.distribute (multi_worker reads TF_CONFIG). batch_size is per
    # replica; the global batch is batch_size × replicas.
    strategy: Literal["default", "mirrored", "multi_worker"]
    cpu_replicas: Count  # mirrored on a machine without GPUs: logical CPU devices to split into

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        if self.sample_interval > self.iterations:
            raise KeyedError(("sample_interval",),
                             f"must be <= train.iterations ({self.iterations})",
                             self.sample_interval)
        if (self.eval_interval is not None and self.max_minutes is None
                and self.iterations % self.eval_interval):
            raise KeyedError(("eval_interval",), f"must divide train.iterations "
                             f"({self.iterations}), so that the run ends measured",
                             self.eval_interval)
        if self.max_minutes is not None and self.strategy == "multi_worker":
            raise KeyedError(("max_minutes",), "needs one process: each worker's clock would "
                             "stop it at another iteration (train.strategy multi_worker)",
                             self.max_minutes)
        if self.jit_compile and self.strategy != "default":
            raise KeyedError(("jit_compile",), "is only supported with train.strategy default",
                             self.jit_compile)
        return self


class SampleConfig(Section):
    seed: Seed
    grid: GridConfig
    interpolation: GridConfig  # rows of latent walks, cols points along each


class ClassifierConfig(Section):
    """The classifier whose features the evaluation measures in (not part of the GAN)."""

    seed: Seed
    train_images: ImageCount
    epochs: Count
    batch_size: Count
    learning_rate: Positive


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


class CompareConfig(Section):
    minutes: Positive  # every run's training wall-clock budget (train.max_minutes)
    eval_interval: Count  # every run's train.eval_interval, unless the run changes it
    # Each run: params.yaml with these dotted keys changed, as `dvc exp run -S` changes them.
    runs: dict[str, dict[str, Any]]


class PromoteConfig(Section):
    # The champion alias moves only to a version whose FID is lower by more than this.
    fid_margin: Annotated[Number, Field(ge=0)]


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

    def model_name(self, dataset: str) -> str:
        """The registered model that generators trained on ``dataset`` go to."""
        return self.registered_model.format(dataset=dataset)


class Params(Section):
    data: DataConfig
    download: DownloadConfig
    prepare: PrepareConfig
    model: ModelConfig
    train: TrainConfig
    sample: SampleConfig
    classifier: ClassifierConfig
    evaluate: EvaluateConfig
    compare: CompareConfig
    promote: PromoteConfig
    mlflow: MlflowConfig

    @model_validator(mode="after")
    def _fits_the_dataset(self) -> Params:
        spec, dataset = self.data.spec, self.data.dataset
        for section, key in (("prepare", "train_images"), ("classifier", "train_images"),
                             ("evaluate", "real_images")):
            value = getattr(getattr(self, section), key)
            if value != "all" and value > spec.train_images:
                raise KeyedError((section, key), f"must be <= the {spec.train_images} training "
                                 f"images of {dataset}", value)
        for section, images in (("train", "prepare"), ("classifier", "classifier")):
            count = getattr(self, images).train_images
            available = spec.train_images if count == "all" else count
            batch_size = getattr(self, section).batch_size
            if batch_size > available:
                raise KeyedError((section, "batch_size"), f"must be <= {images}.train_images "
                                 f"({available})", batch_size)
        side = spec.image_shape[0]
        if generator_doublings(self.model.generator_start, side) is None:
            raise KeyedError(("model", "generator_start"), f"must be {dataset}'s image side "
                             f"{side} divided by 2**k with k >= {REFERENCE_DOUBLINGS}",
                             self.model.generator_start)
        return self


def parse_params(raw: Any) -> Params:
    """Validate an already-parsed params mapping, each comparison run's params included."""
    params = validate(Params, raw)
    for name in params.compare.runs:
        run_params(params, name)
    return params


def run_params(params: Params, name: str) -> Params:
    """``params`` as comparison run ``name`` trains: in one process, with the comparison's
    budget and measuring (``compare.minutes``, ``.eval_interval``), then its own changes."""
    raw = params.model_dump()
    raw["compare"]["runs"] = {}  # a run's params hold no runs of their own
    changes = {"train.max_minutes": params.compare.minutes,
               "train.eval_interval": params.compare.eval_interval, **params.compare.runs[name]}
    if params.train.strategy == "multi_worker":
        changes = {"train.strategy": "default", **changes}
    for key, value in changes.items():
        *parents, leaf = key.split(".")
        section = raw
        for part in parents:
            section = section.get(part) if isinstance(section, dict) else None
        if not isinstance(section, dict) or isinstance(section.get(leaf, {}), dict):
            raise ConfigError(f"compare.runs.{name}.{key}: not a key of params.yaml that holds "
                              "a value")
        section[leaf] = value
    return validate(Params, raw, where=f"compare.runs.{name}: ")


def load_params(path: str | Path) -> Params:
    """Read and validate ``params.yaml``; raises :class:`ConfigError` naming the bad key."""
    return parse_params(read_yaml(path))
