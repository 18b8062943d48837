"""training.lapgan: the Laplacian pyramid's levels, in the generator and the discriminators."""

import keras
import numpy as np
import pytest

from helpers import real_params
from gan_pipeline.config.datasets import DATASETS
from gan_pipeline.config.params import parse_params
from gan_pipeline.training.models import build_discriminator, build_generator

PARAMS = parse_params(real_params())
LAPGAN = PARAMS.model.model_copy(update={"arch": "lapgan"})
MNIST = DATASETS["mnist"].image_shape
CIFAR10 = DATASETS["cifar10"].image_shape


def _block_means(images, block=2):
    n, side, _, channels = images.shape
    s = side // block
    return images.reshape(n, s, block, s, block, channels).mean(axis=(2, 4))


@pytest.mark.parametrize("shape, start, levels", [
    (MNIST, "auto", (7, 14, 28)), (CIFAR10, "auto", (8, 16, 32)), (CIFAR10, 4, (4, 8, 16, 32))])
def test_one_generator_level_and_one_discriminator_per_pyramid_level(shape, start, levels):
    cfg = LAPGAN.model_copy(update={"generator_start": start})
    generator, discriminator = build_generator(cfg, shape), build_discriminator(cfg, shape)
    # The images the levels add up: the tanh of the coarsest, then each Add of a band.
    sums = [layer.output.shape[1] for layer in generator.layers
            if layer.__class__.__name__ == "Add"
            or (layer.__class__.__name__ == "Activation"
                and layer.get_config()["activation"] == "tanh")]
    assert tuple(sums) == levels
    images = generator(np.zeros((2, cfg.z_dim), np.float32))
    assert images.shape == (2, *shape)
    assert discriminator(images).shape == (2, len(levels))


def test_mnist_parameter_counts():
    # By level, 7, 14, 28: 354,753 + 59,029 + 118,417, and 19,329 + 20,385 + 22,497.
    assert build_generator(LAPGAN, MNIST).count_params() == 532_199
    assert build_discriminator(LAPGAN, MNIST).count_params() == 62_211


def test_a_generated_images_pyramid_is_the_generators_levels():
    """Each band has zero 2×2 block means, so down(image) is the level before it: the
    discriminators judge what the generator drew at each level."""
    generator = build_generator(LAPGAN, MNIST)
    rng = np.random.default_rng(0)
    for layer in generator.layers:  # the bands start at zero: give them something to add
        if layer.__class__.__name__ == "Conv2D" and not layer.get_weights()[0].any():
            kernel, bias = layer.get_weights()
            layer.set_weights([rng.normal(0, 0.02, kernel.shape).astype(np.float32), bias])
    levels = keras.Model(generator.input, [layer.output for layer in generator.layers
                                           if layer.__class__.__name__ == "Add"])
    z = rng.normal(size=(4, LAPGAN.z_dim)).astype(np.float32)
    at_14, at_28 = (np.asarray(level) for level in levels(z))
    assert np.abs(at_28 - np.repeat(np.repeat(at_14, 2, 1), 2, 2)).max() > 1e-3  # a band
    assert np.abs(at_28).max() < 1  # unclipped, so the image is the finest level's sum
    np.testing.assert_allclose(_block_means(np.asarray(generator(z))), at_14, atol=1e-6)


def test_each_discriminator_level_sees_only_its_own_band_and_those_above():
    """A change with zero 2×2 block means is in the finest band only: the coarser levels'
    probabilities stay; a change of the whole image moves them."""
    discriminator = build_discriminator(LAPGAN, MNIST)
    rng = np.random.default_rng(1)
    images = rng.uniform(-0.5, 0.5, (4, *MNIST)).astype(np.float32)
    finest_band = np.tile([[0.3, -0.3], [-0.3, 0.3]], (14, 14))[None, :, :, None]
    before = np.asarray(discriminator(images))
    in_band = np.asarray(discriminator(images + finest_band.astype(np.float32)))
    np.testing.assert_allclose(in_band[:, :2], before[:, :2], atol=1e-6)
    assert np.abs(in_band[:, 2] - before[:, 2]).max() > 1e-4
    shifted = np.asarray(discriminator(images + 0.3))
    assert np.abs(shifted[:, 0] - before[:, 0]).max() > 1e-4


def test_the_generator_saves_and_loads_as_the_registry_stores_it(tmp_path):
    generator = build_generator(LAPGAN, MNIST)
    generator.save(tmp_path / "generator.keras")
    loaded = keras.saving.load_model(tmp_path / "generator.keras")
    z = np.random.default_rng(2).normal(size=(3, LAPGAN.z_dim)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(loaded(z)), np.asarray(generator(z)))
