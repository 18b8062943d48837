"""The train section and the runtime group of training, and what the train stage reads."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from gan_pipeline.config.datasets import (DataConfig, PrepareConfig, check_batch_size,
                                              check_image_count)
from gan_pipeline.config.model import ModelConfig, check_generator_start
from gan_pipeline.config.schema import (Count, Fraction, GridConfig, KeyedError, Number,
                                            Positive, RuntimeView, Section, Seed, StageParams)


class AdamConfig(Section):
    learning_rate: Positive
    # The discriminator's own learning rate (two time-scales); null: learning_rate, the
    # book's one Adam() setting for both nets.
    discriminator_learning_rate: Positive | None
    beta_1: Fraction
    beta_2: Fraction
    epsilon: Positive


class TrainConfig(Section):
    seed: Seed
    iterations: Count
    batch_size: Count
    sample_interval: Count
    adam: AdamConfig
    progress_grid: GridConfig
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
    # One generator forward per iteration instead of the book's two: faster, another
    # algorithm (gan_pipeline.training.gan).
    fused_generator_pass: bool
    # A lazy R1 penalty (Mescheder et al. 2018; StyleGAN2's lazy regularisation): every
    # r1_interval iterations the discriminator's update on real images adds
    # r1_gamma / 2 · r1_interval · E‖∇x D(x)‖², D's logit. r1_gamma 0: none (the book).
    r1_gamma: Annotated[Number, Field(ge=0)]
    r1_interval: Count

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
        if self.r1_gamma and self.r1_interval > self.iterations:
            raise KeyedError(("r1_interval",), f"must be <= train.iterations "
                             f"({self.iterations}), or no iteration carries the R1 penalty",
                             self.r1_interval)
        return self


# What does not change what a given iteration computes: a run can go on for longer, be
# budgeted, checkpointed at another interval, or measured at another (or no) eval_interval.
TRAJECTORY_NEUTRAL = {"iterations", "max_minutes", "checkpoint_interval", "resume",
                      "eval_interval", "eval_samples"}


def trajectory(model: dict, train: dict) -> dict:
    """What decides a run's trajectory, iteration for iteration: ``model``, and ``train``
    (the train section and runtime.train as one mapping) without the neutral keys, nor R1's
    interval while R1 is off. The run's identity: a checkpoint resumes, and a verification
    reference holds, only for the same (with their data)."""
    r1_off = not train.get("r1_gamma")
    return {"model": model,
            "train": {key: value for key, value in train.items()
                      if key not in TRAJECTORY_NEUTRAL and not (key == "r1_interval" and r1_off)}}


class TrainRuntimeConfig(Section):
    """runtime.train: how training runs. Each speed switch is measured by
    benchmarks/train_throughput.py; precision and op determinism decide the bits."""

    # A Keras mixed-precision policy, or auto: mixed_float16 on a GPU, mixed_bfloat16 on a
    # CPU that computes bf16 natively, else float32.
    precision: Literal["auto", "float32", "mixed_bfloat16", "mixed_float16"]
    deterministic: bool  # TensorFlow op determinism: same seed, same weights
    jit_compile: bool  # XLA-compile the train step
    intra_op_threads: Seed  # 0: TensorFlow's default (one per visible core)
    inter_op_threads: Seed
    # Scale-out through tf.distribute (multi_worker reads TF_CONFIG). train.batch_size is per
    # replica; the global batch is batch_size × replicas.
    strategy: Literal["default", "mirrored", "multi_worker"]
    cpu_replicas: Count  # mirrored on a machine without GPUs: logical CPU devices to split into
    # A checkpoint every this many iterations (and on SIGINT/SIGTERM); resume: continue from
    # the latest compatible checkpoint, or (false) delete checkpoints and start fresh.
    checkpoint_interval: Count
    resume: bool

    @model_validator(mode="after")
    def _consistent(self) -> TrainRuntimeConfig:
        if self.jit_compile and self.strategy != "default":
            raise KeyedError(("jit_compile",), "is only supported with runtime.train.strategy "
                             "default", self.jit_compile)
        return self


class TrainRuntime(RuntimeView):
    train: TrainRuntimeConfig


def check_runtime(train: TrainConfig, runtime: TrainRuntimeConfig) -> None:
    """The checks that span train and runtime.train."""
    if train.max_minutes is not None and runtime.strategy == "multi_worker":
        raise KeyedError(("train", "max_minutes"), "needs one process: each worker's clock "
                         "would stop it at another iteration (runtime.train.strategy "
                         "multi_worker)", train.max_minutes)


class TrainParams(StageParams):
    data: DataConfig
    prepare: PrepareConfig  # how many images it trains on, for the batch size's bound
    model: ModelConfig
    train: TrainConfig
    runtime: TrainRuntime

    @model_validator(mode="after")
    def _fits_the_dataset(self) -> TrainParams:
        check_runtime(self.train, self.runtime.train)
        check_image_count(self.data, "prepare", "train_images", self.prepare.train_images)
        check_batch_size(self.data, "train", self.train.batch_size, "prepare",
                         self.prepare.train_images)
        check_generator_start(self.data, self.model)
        return self
