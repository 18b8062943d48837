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
    # > 0: the generator handed out is an exponential moving average of its weights, whose
    # half-life is ema thousand training images (StyleGAN2-ADA's ema_kimg), and at most
    # ema_rampup × the images seen so far (null: no ramp); 0: the generator itself.
    ema: Annotated[Number, Field(ge=0)]
    ema_rampup: Positive | None
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
    # One generator forward per iteration (see gan_pipeline.training.gan).
    fused_generator_pass: bool
    # Levers for quality per minute (docs/recipe.md), off in the book's run (LEVERS_OFF).
    # Both learning rates fall linearly to 0 over the last lr_cooldown of train.iterations.
    lr_cooldown: Annotated[Number, Field(ge=0, lt=1)]
    # The generator learns from the top_k fraction of its fakes that the discriminator
    # rates most real (Sinha et al. 2020); 1: from all of them.
    top_k: Annotated[Number, Field(gt=0, le=1)]
    # The discriminator's weights spectrally normalised (Miyato et al. 2018), its batch
    # norm left out, as SN-GAN's discriminator has none.
    spectral_norm: bool
    # A lazy R1 penalty (Mescheder et al. 2018; StyleGAN2's lazy regularisation): every
    # r1_interval iterations the discriminator's update on real images adds
    # r1_gamma / 2 · r1_interval · E‖∇x D(x)‖², D's logit. r1_gamma 0: none.
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
        if self.lr_cooldown and self.max_minutes is not None:
            raise KeyedError(("lr_cooldown",), "needs the run's end in iterations: it cools "
                             "down over the last part of train.iterations, which a "
                             "train.max_minutes budget may never reach; set max_minutes to "
                             "null", self.lr_cooldown)
        return self


# Each lever's value that leaves the book's run as it is. At that value a lever is left out
# of the hashes of the trajectory (the checkpoint fingerprint, the verification references'
# params), so that adding a lever keeps every earlier checkpoint and reference valid.
LEVERS_OFF = {"lr_cooldown": 0.0, "top_k": 1.0, "spectral_norm": False, "r1_gamma": 0.0}
# A lever's settings, which decide nothing while their lever is off (its key, its off
# value), are left out with it. (train.ema is in the hashes at 0, as it was before the rule.)
LEVER_SETTINGS = {"ema_rampup": ("ema", 0.0), "r1_interval": ("r1_gamma", 0.0)}


def trajectory_params(train: dict, neutral: set[str]) -> dict:
    """``train`` (train and runtime.train as one mapping) without the ``neutral`` keys and
    the levers that are off, with their settings. The run's length is neutral only without
    a cooldown."""
    if train.get("lr_cooldown"):
        neutral = neutral - {"iterations"}

    def off(key: str, value) -> bool:
        return key in LEVERS_OFF and value == LEVERS_OFF[key]

    def setting_of_an_off_lever(key: str) -> bool:
        lever, off_value = LEVER_SETTINGS.get(key, (None, None))
        return lever is not None and train.get(lever, off_value) == off_value

    return {key: value for key, value in train.items() if key not in neutral
            and not off(key, value) and not setting_of_an_off_lever(key)}


class TrainRuntimeConfig(Section):
    """runtime.train: how training runs. Each speed switch is measured by
    benchmarks/train_throughput.py; precision and op determinism decide the bits."""

    # A Keras mixed-precision policy, or auto: mixed_bfloat16 on a CPU-only machine whose CPU
    # computes bf16 natively, else float32.
    precision: Literal["auto", "float32", "mixed_bfloat16", "mixed_float16"]
    deterministic: bool  # TensorFlow op determinism: same seed, same weights
    jit_compile: bool  # XLA-compile the train step
    intra_op_threads: Seed  # 0: TensorFlow's default (all cores)
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
