"""The reference programs' GANs, layer for layer, behind one interface (``model.arch``):

* ``dcgan``: the book's DCGAN (chapter 4, §4.4.2–4.4.3), the default;
* ``dcgan_tf``: the TensorFlow tutorial's DCGAN (5×5 kernels, dropout, a logit output);
* ``mlp``: the plain GAN of chapter 3 (dense layers only);
* ``lapgan``: Denton et al.'s Laplacian-pyramid GAN (reference 000), in ``training.lapgan``.

Every generator maps z to images of the dataset's shape (28×28×1, or 32×32×3 for CIFAR-10) in
[-1, 1] and every discriminator takes such images, so training, sampling, evaluation and
serving never branch on the architecture. The convolutional generators start from a
``generator_start``² map and double it with stride-2 layers: the references' two doublings take 7
to 28 (and 8 to 32); from 4, a 32×32 image takes a third, inserted after the first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import keras
import tensorflow as tf
from keras import layers

from gan_pipeline.config.model import Architecture, ModelConfig
from gan_pipeline.errors import InputError
from gan_pipeline.training import lapgan
from gan_pipeline.training.generator_shape import REFERENCE_DOUBLINGS, generator_doublings

ImageShape = tuple[int, int, int]


# Under mixed precision the outputs stay float32: tanh and sigmoid saturate badly in 16 bits.
OUTPUT_DTYPE = "float32"


def generator_start(cfg: ModelConfig, image_shape: ImageShape) -> tuple[int, int]:
    """(side of the first feature map, doublings beyond the references' two) for ``image_shape``."""
    side = image_shape[0]
    doublings = generator_doublings(cfg.generator_start, side)
    if doublings is None or image_shape[1] != side:
        raise InputError(f"model.generator_start {cfg.generator_start} cannot reach "
                         f"{image_shape} images by doubling")
    return side >> doublings, doublings - REFERENCE_DOUBLINGS


# The channels of the DCGAN's layers, input side first: the book's. The generator's first map
# (its Dense layer's) has model.dcgan_start_channels, 256 in the book.
DCGAN_GENERATOR_WIDTHS = (128, 64)
DCGAN_DISCRIMINATOR_WIDTHS = (32, 64, 128)


def dcgan_generator(cfg: ModelConfig, image_shape: ImageShape, synchronized_bn: bool = False
                    ) -> keras.Sequential:
    """z (z_dim) -> Dense 7·7·C -> ConvT 128/3/s2 -> ConvT 64/3/s1 -> ConvT 1/3/s2 -> tanh
    (C = ``model.dcgan_start_channels``, the book's 256; the shapes in the comments are MNIST's
    with it; see the module docstring for other sizes).

    ``synchronized_bn`` makes batch norm use the global batch across replicas, so that a
    distributed step normalises exactly as a single-device one.
    """
    dense, (first, second) = cfg.dcgan_start_channels, DCGAN_GENERATOR_WIDTHS
    alpha = cfg.leaky_relu_alpha.dcgan
    start, extra = generator_start(cfg, image_shape)

    def up(filters: int, strides: int) -> list:
        return [layers.Conv2DTranspose(filters, kernel_size=3, strides=strides, padding="same"),
                layers.BatchNormalization(synchronized=synchronized_bn),
                layers.LeakyReLU(negative_slope=alpha)]

    return keras.Sequential(
        [
            keras.Input(shape=(cfg.z_dim,)),
            layers.Dense(dense * start * start),
            layers.Reshape((start, start, dense)),  # 7×7×256
            *up(first, 2),  # 14×14×128
            *[layer for _ in range(extra) for layer in up(first, 2)],
            *up(second, 1),  # 14×14×64
            layers.Conv2DTranspose(image_shape[2], kernel_size=3, strides=2,
                                   padding="same"),  # 28×28×1
            layers.Activation("tanh", dtype=OUTPUT_DTYPE),
        ],
        name="generator",
    )


def dcgan_discriminator(cfg: ModelConfig, image_shape: ImageShape,
                        synchronized_bn: bool = False) -> keras.Sequential:
    """28×28×1 -> Conv 32/3/s2 -> Conv 64/3/s2 + BN -> Conv 128/3/s2 + BN -> Dense 1 sigmoid
    (MNIST's shapes in the comments; 32×32×3 gives 16, 8, 4)."""
    alpha = cfg.leaky_relu_alpha.dcgan
    first, second, third = DCGAN_DISCRIMINATOR_WIDTHS
    return keras.Sequential(
        [
            keras.Input(shape=image_shape),
            layers.Conv2D(first, kernel_size=3, strides=2, padding="same"),  # 14×14×32
            layers.LeakyReLU(negative_slope=alpha),
            layers.Conv2D(second, kernel_size=3, strides=2, padding="same"),  # 7×7×64
            layers.BatchNormalization(synchronized=synchronized_bn),
            layers.LeakyReLU(negative_slope=alpha),
            # The book's text says 3×3×128, but its code pads "same": 7 -> 4.
            layers.Conv2D(third, kernel_size=3, strides=2, padding="same"),  # 4×4×128
            layers.BatchNormalization(synchronized=synchronized_bn),
            layers.LeakyReLU(negative_slope=alpha),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid", dtype=OUTPUT_DTYPE),
        ],
        name="discriminator",
    )


def dcgan_tf_generator(cfg: ModelConfig, image_shape: ImageShape,
                       synchronized_bn: bool = False) -> keras.Sequential:
    """The TF tutorial (reference 001): Dense 7·7·256 (no bias) + BN -> ConvT 128/5/s1 ->
    64/5/s2 -> 1/5/s2, tanh."""
    start, extra = generator_start(cfg, image_shape)

    def bn_leaky():
        return [layers.BatchNormalization(synchronized=synchronized_bn),
                layers.LeakyReLU(negative_slope=cfg.leaky_relu_alpha.dcgan_tf)]

    def up(filters: int, strides: int) -> list:
        return [layers.Conv2DTranspose(filters, 5, strides=strides, padding="same",
                                       use_bias=False), *bn_leaky()]

    return keras.Sequential(
        [
            keras.Input(shape=(cfg.z_dim,)),
            layers.Dense(start * start * 256, use_bias=False),
            *bn_leaky(),
            layers.Reshape((start, start, 256)),
            *up(128, 1),
            *[layer for _ in range(extra) for layer in up(128, 2)],
            *up(64, 2),
            layers.Conv2DTranspose(image_shape[2], 5, strides=2, padding="same",
                                   use_bias=False),
            layers.Activation("tanh", dtype=OUTPUT_DTYPE),
        ],
        name="generator",
    )


def dcgan_tf_discriminator(cfg: ModelConfig, image_shape: ImageShape,
                           synchronized_bn: bool = False) -> keras.Sequential:
    """The TF tutorial (reference 001): Conv 64/5/s2 and 128/5/s2, each LeakyReLU +
    Dropout 0.3, Dense 1 logit."""
    return keras.Sequential(
        [
            keras.Input(shape=image_shape),
            layers.Conv2D(64, 5, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=cfg.leaky_relu_alpha.dcgan_tf),
            layers.Dropout(0.3),
            layers.Conv2D(128, 5, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=cfg.leaky_relu_alpha.dcgan_tf),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1, dtype=OUTPUT_DTYPE),
        ],
        name="discriminator",
    )


def mlp_generator(cfg: ModelConfig, image_shape: ImageShape, synchronized_bn: bool = False
                  ) -> keras.Sequential:
    """Chapter 3 (reference 003): Dense 256 relu + BN -> Dense 512 relu + BN -> Dense 784
    (H·W·C) tanh."""
    return keras.Sequential(
        [
            keras.Input(shape=(cfg.z_dim,)),
            layers.Dense(256, activation="relu"),
            layers.BatchNormalization(synchronized=synchronized_bn),
            layers.Dense(512, activation="relu"),
            layers.BatchNormalization(synchronized=synchronized_bn),
            layers.Dense(math.prod(image_shape), activation="tanh", dtype=OUTPUT_DTYPE),
            layers.Reshape(image_shape),
        ],
        name="generator",
    )


def mlp_discriminator(cfg: ModelConfig, image_shape: ImageShape,
                      synchronized_bn: bool = False) -> keras.Sequential:
    """Chapter 3 (reference 003): Dense 1024/512/256 relu, each with Dropout 0.25, then
    Dense 1 sigmoid."""
    hidden = []
    for units in (1024, 512, 256):
        hidden += [layers.Dense(units, activation="relu"), layers.Dropout(0.25)]
    return keras.Sequential(
        [
            keras.Input(shape=image_shape),
            layers.Flatten(),
            *hidden,
            layers.Dense(1, activation="sigmoid", dtype=OUTPUT_DTYPE),
        ],
        name="discriminator",
    )


def lapgan_generator(cfg: ModelConfig, image_shape: ImageShape, synchronized_bn: bool = False
                     ) -> keras.Model:
    """A generator_start² image from z, then one Laplacian band per doubling."""
    start, _ = generator_start(cfg, image_shape)
    return lapgan.generator(cfg.z_dim, start, image_shape, cfg.leaky_relu_alpha.lapgan,
                            OUTPUT_DTYPE, synchronized_bn)


def lapgan_discriminator(cfg: ModelConfig, image_shape: ImageShape,
                         synchronized_bn: bool = False) -> keras.Model:
    """One sigmoid per pyramid level."""
    start, _ = generator_start(cfg, image_shape)
    return lapgan.discriminator(start, image_shape, cfg.leaky_relu_alpha.lapgan, OUTPUT_DTYPE,
                                synchronized_bn)


@dataclass(frozen=True)
class DiscriminatorOutput:
    """What a discriminator's last layer gives, read three ways: by the loss that trains both
    nets on it, as the probability that the input is real (for the accuracy), and as its
    logit (for the R1 penalty)."""
    loss: keras.losses.Loss
    probability: Callable[[tf.Tensor], tf.Tensor]
    logit: Callable[[tf.Tensor], tf.Tensor]


def _logit_of_probability(p: tf.Tensor) -> tf.Tensor:
    """log(p / (1 − p)), with p clipped as Keras's cross-entropy clips it."""
    p = tf.clip_by_value(p, keras.config.epsilon(), 1.0 - keras.config.epsilon())
    return tf.math.log(p) - tf.math.log1p(-p)


# A sigmoid unit: its output is the probability.
PROBABILITY = DiscriminatorOutput(keras.losses.BinaryCrossentropy(), lambda output: output,
                                  _logit_of_probability)
# A logit: the loss works from it directly, and its sigmoid is the probability.
LOGIT = DiscriminatorOutput(keras.losses.BinaryCrossentropy(from_logits=True),
                            keras.ops.sigmoid, lambda output: output)


@dataclass(frozen=True)
class Nets:
    generator: Callable[[ModelConfig, ImageShape, bool], keras.Sequential]
    discriminator: Callable[[ModelConfig, ImageShape, bool], keras.Sequential]
    discriminator_output: DiscriminatorOutput


# The nets of each of config.ARCHITECTURES, the names that model.arch accepts.
NETS: dict[Architecture, Nets] = {
    "dcgan": Nets(dcgan_generator, dcgan_discriminator, PROBABILITY),
    "dcgan_tf": Nets(dcgan_tf_generator, dcgan_tf_discriminator, LOGIT),
    "mlp": Nets(mlp_generator, mlp_discriminator, PROBABILITY),
    "lapgan": Nets(lapgan_generator, lapgan_discriminator, PROBABILITY),
}


def build_generator(cfg: ModelConfig, image_shape: ImageShape, synchronized_bn: bool = False
                    ) -> keras.Sequential:
    return NETS[cfg.arch].generator(cfg, tuple(image_shape), synchronized_bn)


def build_discriminator(cfg: ModelConfig, image_shape: ImageShape,
                        synchronized_bn: bool = False) -> keras.Sequential:
    return NETS[cfg.arch].discriminator(cfg, tuple(image_shape), synchronized_bn)
