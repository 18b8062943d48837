"""The book's DCGAN (chapter 4, §4.4.2–4.4.3), layer for layer."""

from __future__ import annotations

import keras
from keras import layers

from mnist_gan.config import ModelConfig

IMAGE_SHAPE = (28, 28, 1)


# Under mixed precision the outputs stay float32: tanh and sigmoid saturate badly in 16 bits.
OUTPUT_DTYPE = "float32"


def build_generator(cfg: ModelConfig, synchronized_bn: bool = False) -> keras.Sequential:
    """z (z_dim) -> Dense 7·7·256 -> ConvT 128/3/s2 -> ConvT 64/3/s1 -> ConvT 1/3/s2 -> tanh.

    ``synchronized_bn`` makes batch norm use the global batch across replicas, so that a
    distributed step normalises exactly as a single-device one.
    """
    alpha = cfg.leaky_relu_alpha
    return keras.Sequential(
        [
            keras.Input(shape=(cfg.z_dim,)),
            layers.Dense(256 * 7 * 7),
            layers.Reshape((7, 7, 256)),
            layers.Conv2DTranspose(128, kernel_size=3, strides=2, padding="same"),  # 14×14×128
            layers.BatchNormalization(synchronized=synchronized_bn),
            layers.LeakyReLU(negative_slope=alpha),
            layers.Conv2DTranspose(64, kernel_size=3, strides=1, padding="same"),  # 14×14×64
            layers.BatchNormalization(synchronized=synchronized_bn),
            layers.LeakyReLU(negative_slope=alpha),
            layers.Conv2DTranspose(1, kernel_size=3, strides=2, padding="same"),  # 28×28×1
            layers.Activation("tanh", dtype=OUTPUT_DTYPE),
        ],
        name="generator",
    )


def build_discriminator(cfg: ModelConfig, synchronized_bn: bool = False) -> keras.Sequential:
    """28×28×1 -> Conv 32/3/s2 -> Conv 64/3/s2 + BN -> Conv 128/3/s2 + BN -> Dense 1 sigmoid."""
    alpha = cfg.leaky_relu_alpha
    return keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE),
            layers.Conv2D(32, kernel_size=3, strides=2, padding="same"),  # 14×14×32
            layers.LeakyReLU(negative_slope=alpha),
            layers.Conv2D(64, kernel_size=3, strides=2, padding="same"),  # 7×7×64
            layers.BatchNormalization(synchronized=synchronized_bn),
            layers.LeakyReLU(negative_slope=alpha),
            # The book's text says 3×3×128, but its code pads "same": 7 -> 4.
            layers.Conv2D(128, kernel_size=3, strides=2, padding="same"),  # 4×4×128
            layers.BatchNormalization(synchronized=synchronized_bn),
            layers.LeakyReLU(negative_slope=alpha),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid", dtype=OUTPUT_DTYPE),
        ],
        name="discriminator",
    )
