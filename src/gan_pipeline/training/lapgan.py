"""LAPGAN (Denton et al. 2015, named in reference 000): a generator that draws a coarse image,
then adds one Laplacian band per doubling, each band conditioned on the image so far; and one
discriminator per pyramid level, each judging its level's band given the coarser image.

For MNIST the pyramid is 7 → 14 → 28 (``model.generator_start``: a 32×32 dataset gives 8 →
16 → 32, or 4 → 8 → 16 → 32). The pyramid's operators are exact inverses of each other:
``down`` averages 2×2 blocks and ``up`` repeats each pixel 2×2, so an image is ``up(down(x))``
plus its band, and a band has zero mean on every 2×2 block. Each generated band is projected
onto that space, so the generated image's own pyramid is the generator's levels: what the
discriminators see of a fake is what the generator drew at each level.

Unlike the paper, whose levels are separate models trained in turn on real coarse images, the
levels here are one Keras model each (one generator from noise, one discriminator whose output
holds one probability per level, coarsest first), trained jointly by the same step as every
other architecture: each level's discriminator has its own loss term and weights, and each
generator level learns from the levels at and above it (docs/training.md says why). The
registered generator still maps z to images, so sampling, evaluation and serving are
unchanged. Each finer level's noise plane is a learned projection of the same z.
"""

from __future__ import annotations

import keras
from keras import layers

# Channels of each generator level's convolutions and of each level's discriminator: small,
# as the paper's CIFAR-10 levels are (64 to 128 feature maps).
GENERATOR_WIDTH = 64
DISCRIMINATOR_WIDTHS = (32, 64)


def _bn_leaky(alpha: float, synchronized_bn: bool) -> list:
    return [layers.BatchNormalization(synchronized=synchronized_bn),
            layers.LeakyReLU(negative_slope=alpha)]


def _band(x, dtype: str):
    """``x`` less its 2×2 block means: the part of an image that one pyramid level adds."""
    mean = layers.UpSampling2D(2, dtype=dtype)(layers.AveragePooling2D(2, dtype=dtype)(x))
    return layers.Subtract(dtype=dtype)([x, mean])


def generator(z_dim: int, start: int, image_shape: tuple[int, int, int], alpha: float,
              output_dtype: str, synchronized_bn: bool = False) -> keras.Model:
    """z -> a start×start image (Dense, Conv 64/3, Conv channels/3, tanh); then per doubling:
    up(image) and a noise plane from z -> Conv 64/3, Conv 64/3, Conv channels/3 -> its band,
    added to up(image). The sum is clipped to [-1, 1], the images' range. The images and
    their bands stay in ``output_dtype`` (float32) under mixed precision; the convolutions
    compute in the policy's dtype."""
    side, channels = image_shape[0], image_shape[2]
    z = keras.Input(shape=(z_dim,))
    x = layers.Reshape((start, start, GENERATOR_WIDTH))(
        layers.Dense(start * start * GENERATOR_WIDTH)(z))
    for layer in (*_bn_leaky(alpha, synchronized_bn),
                  layers.Conv2D(GENERATOR_WIDTH, 3, padding="same"),
                  *_bn_leaky(alpha, synchronized_bn),
                  layers.Conv2D(channels, 3, padding="same"),
                  layers.Activation("tanh", dtype=output_dtype)):
        x = layer(x)
    image, size = x, start
    while size < side:
        size *= 2
        low = layers.UpSampling2D(2, dtype=output_dtype)(image)
        noise = layers.Reshape((size, size, 1))(layers.Dense(size * size)(z))
        h = layers.Concatenate()([low, noise])
        for _ in range(2):
            h = layers.Conv2D(GENERATOR_WIDTH, 3, padding="same")(h)
            for layer in _bn_leaky(alpha, synchronized_bn):
                h = layer(h)
        # Zero-initialised, so each band starts at nothing and the image within [-1, 1]:
        # random bands would push most pixels past the clip, which passes no gradient.
        band = _band(layers.Conv2D(channels, 3, padding="same", kernel_initializer="zeros")(h),
                     output_dtype)
        image = layers.Add(dtype=output_dtype)([low, band])
    out = layers.Activation("hard_tanh", dtype=output_dtype)(image)
    return keras.Model(z, out, name="generator")


def discriminator(start: int, image_shape: tuple[int, int, int], alpha: float,
                  output_dtype: str, synchronized_bn: bool = False) -> keras.Model:
    """The image's pyramid, down to start×start; per level a critic (Conv 32/3/s2,
    LeakyReLU, Conv 64/3/s2, BN, LeakyReLU, Dense 1 sigmoid) on the coarsest image, or on a
    finer level's band beside the upsampled coarser image (the paper's conditioning).
    Output: (batch, levels) probabilities, coarsest first. The pyramid is computed in
    ``output_dtype``.

    The batch norm is the book's discriminator's: the step shows the discriminator real and
    fake batches apart, so their batch statistics differ, which tells a collapsed batch
    from a real one. Without it the joint pyramid collapsed to one digit (probe fid
    290–420, classifier_score about 1.0, over its first 1,800 iterations); with it, probe
    fid 57 at 1,800 (docs/training.md)."""
    def critic(x):
        for i, width in enumerate(DISCRIMINATOR_WIDTHS):
            x = layers.Conv2D(width, 3, strides=2, padding="same")(x)
            if i:  # the book's discriminator: batch norm after every convolution but the first
                x = layers.BatchNormalization(synchronized=synchronized_bn)(x)
            x = layers.LeakyReLU(negative_slope=alpha)(x)
        return layers.Dense(1, activation="sigmoid", dtype=output_dtype)(layers.Flatten()(x))

    image = keras.Input(shape=image_shape)
    pyramid = [image]  # finest first
    while pyramid[-1].shape[1] > start:
        pyramid.append(layers.AveragePooling2D(2, dtype=output_dtype)(pyramid[-1]))
    outputs = [critic(pyramid[-1])]
    for fine, coarse in zip(pyramid[-2::-1], pyramid[:0:-1]):
        low = layers.UpSampling2D(2, dtype=output_dtype)(coarse)
        band = layers.Subtract(dtype=output_dtype)([fine, low])
        outputs.append(critic(layers.Concatenate()([low, band])))
    return keras.Model(image, layers.Concatenate(dtype=output_dtype)(outputs),
                       name="discriminator")
