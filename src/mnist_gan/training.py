"""``train(cfg, images)``: the book's DCGAN training loop, free of file I/O and tracking.

What happens at each sample interval (history rows, progress grids, MLflow metrics) is the
caller's business, through the ``on_sample`` callback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from mnist_gan.config import ModelConfig, TrainConfig
from mnist_gan.gan import DCGAN
from mnist_gan.history import SamplePoint
from mnist_gan.models import build_discriminator, build_generator


@dataclass(frozen=True)
class TrainResult:
    generator: keras.Model
    discriminator: keras.Model
    history: list[SamplePoint]


OnSample = Callable[[SamplePoint, np.ndarray], None]


def adam(cfg: TrainConfig) -> keras.optimizers.Adam:
    a = cfg.adam
    return keras.optimizers.Adam(learning_rate=a.learning_rate, beta_1=a.beta_1,
                                 beta_2=a.beta_2, epsilon=a.epsilon)


def noise(seed: int, count: int, z_dim: int) -> np.ndarray:
    """Standard-normal noise vectors from their own seed, independent of training randomness."""
    return np.random.default_rng(seed).standard_normal((count, z_dim)).astype(np.float32)


def build_gan(model_cfg: ModelConfig, train_cfg: TrainConfig) -> DCGAN:
    # Seeds Python, NumPy and the Keras/TF global generators, hence the initial weights.
    keras.utils.set_random_seed(train_cfg.seed)
    if train_cfg.deterministic:
        tf.config.experimental.enable_op_determinism()
    gan = DCGAN(build_generator(model_cfg), build_discriminator(model_cfg), model_cfg.z_dim,
                seed=train_cfg.seed)
    gan.compile(d_optimizer=adam(train_cfg), g_optimizer=adam(train_cfg))
    return gan


def train(model_cfg: ModelConfig, train_cfg: TrainConfig, images: np.ndarray,
          on_sample: OnSample | None = None) -> TrainResult:
    """Train for ``train_cfg.iterations`` iterations on ``images`` (N×28×28×1 in [-1, 1]).

    Every ``sample_interval`` iterations it prints the seed's log line and calls
    ``on_sample(point, grid_images)`` with the generator's output for a fixed noise batch.
    """
    if len(images) < train_cfg.batch_size:
        raise ValueError(f"train.batch_size ({train_cfg.batch_size}) is larger than the "
                         f"{len(images)} training images")
    gan = build_gan(model_cfg, train_cfg)
    step = gan.compiled_iteration(train_cfg.batch_size, train_cfg.jit_compile)
    grid = train_cfg.progress_grid
    fixed_noise = noise(train_cfg.seed, grid.rows * grid.cols, model_cfg.z_dim)
    data = tf.convert_to_tensor(images)
    history: list[SamplePoint] = []
    with tqdm(total=train_cfg.iterations, unit="it", desc="train", dynamic_ncols=True,
              mininterval=1.0) as bar:
        for iteration in range(1, train_cfg.iterations + 1):
            logs = step(data)
            bar.update()
            if iteration % train_cfg.sample_interval == 0:
                point = SamplePoint(iteration, *(float(logs[k]) for k in
                                                 ("d_loss", "d_acc", "g_loss")))
                history.append(point)
                bar.write(point.log_line())
                if on_sample is not None:
                    on_sample(point, gan.generator(fixed_noise, training=False).numpy())
    return TrainResult(gan.generator, gan.discriminator, history)
