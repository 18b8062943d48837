"""The seeds' GANs, layer for layer, behind one interface (``model.arch``):

* ``dcgan``: the book's DCGAN (chapter 4, §4.4.2–4.4.3), the default;
* ``dcgan_tf``: the TensorFlow tutorial's DCGAN (5×5 kernels, dropout, a logit output);
* ``mlp``: the plain GAN of chapter 3 (dense layers only).

Every generator maps z to (28, 28, 1) images in [-1, 1] and every discriminator takes such
images, so training, sampling, evaluation and serving never branch on the architecture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
from keras import layers

from mnist_gan.config import ModelConfig

IMAGE_SHAPE = (28, 28, 1)


# Under mixed precision the outputs stay float32: tanh and sigmoid saturate badly in 16 bits.
OUTPUT_DTYPE = "float32"


def dcgan_generator(cfg: ModelConfig, synchronized_bn: bool = False) -> keras.Sequential:
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


def dcgan_discriminator(cfg: ModelConfig, synchronized_bn: bool = False) -> keras.Sequential:
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


# The TensorFlow tutorial keeps Keras's default LeakyReLU slope.
TF_TUTORIAL_ALPHA = 0.3


def dcgan_tf_generator(cfg: ModelConfig, synchronized_bn: bool = False) -> keras.Sequential:
    """Seed 001: Dense 7·7·256 (no bias) + BN -> ConvT 128/5/s1 -> 64/5/s2 -> 1/5/s2, tanh."""
    def bn_leaky():
        return [layers.BatchNormalization(synchronized=synchronized_bn),
                layers.LeakyReLU(negative_slope=TF_TUTORIAL_ALPHA)]

    return keras.Sequential(
        [
            keras.Input(shape=(cfg.z_dim,)),
            layers.Dense(7 * 7 * 256, use_bias=False),
            *bn_leaky(),
            layers.Reshape((7, 7, 256)),
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            *bn_leaky(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
            *bn_leaky(),
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False),
            layers.Activation("tanh", dtype=OUTPUT_DTYPE),
        ],
        name="generator",
    )


def dcgan_tf_discriminator(cfg: ModelConfig, synchronized_bn: bool = False
                           ) -> keras.Sequential:
    """Seed 001: Conv 64/5/s2 and 128/5/s2, each LeakyReLU + Dropout 0.3, Dense 1 logit."""
    return keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE),
            layers.Conv2D(64, 5, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=TF_TUTORIAL_ALPHA),
            layers.Dropout(0.3),
            layers.Conv2D(128, 5, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=TF_TUTORIAL_ALPHA),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1, dtype=OUTPUT_DTYPE),
        ],
        name="discriminator",
    )


def mlp_generator(cfg: ModelConfig, synchronized_bn: bool = False) -> keras.Sequential:
    """Seed 003: Dense 256 relu + BN -> Dense 512 relu + BN -> Dense 784 tanh (as 28×28×1)."""
    return keras.Sequential(
        [
            keras.Input(shape=(cfg.z_dim,)),
            layers.Dense(256, activation="relu"),
            layers.BatchNormalization(synchronized=synchronized_bn),
            layers.Dense(512, activation="relu"),
            layers.BatchNormalization(synchronized=synchronized_bn),
            layers.Dense(784, activation="tanh", dtype=OUTPUT_DTYPE),
            layers.Reshape(IMAGE_SHAPE),
        ],
        name="generator",
    )


def mlp_discriminator(cfg: ModelConfig, synchronized_bn: bool = False) -> keras.Sequential:
    """Seed 003: Dense 1024/512/256 relu, each with Dropout 0.25, then Dense 1 sigmoid."""
    hidden = []
    for units in (1024, 512, 256):
        hidden += [layers.Dense(units, activation="relu"), layers.Dropout(0.25)]
    return keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE),
            layers.Flatten(),
            *hidden,
            layers.Dense(1, activation="sigmoid", dtype=OUTPUT_DTYPE),
        ],
        name="discriminator",
    )


@dataclass(frozen=True)
class Architecture:
    generator: Callable[[ModelConfig, bool], keras.Sequential]
    discriminator: Callable[[ModelConfig, bool], keras.Sequential]
    # True when the discriminator outputs a logit (the loss then works from logits).
    logits: bool
    # The Adam learning rate its seed trains with (Keras's default 1e-3 where none is set).
    seed_learning_rate: float


ARCHITECTURES = {
    "dcgan": Architecture(dcgan_generator, dcgan_discriminator, False, 1e-3),
    "dcgan_tf": Architecture(dcgan_tf_generator, dcgan_tf_discriminator, True, 2e-4),
    "mlp": Architecture(mlp_generator, mlp_discriminator, False, 1e-3),
}


def build_generator(cfg: ModelConfig, synchronized_bn: bool = False) -> keras.Sequential:
    return ARCHITECTURES[cfg.arch].generator(cfg, synchronized_bn)


def build_discriminator(cfg: ModelConfig, synchronized_bn: bool = False) -> keras.Sequential:
    return ARCHITECTURES[cfg.arch].discriminator(cfg, synchronized_bn)
