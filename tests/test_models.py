"""The nets are the references', layer for layer, on every dataset's shape."""


import numpy as np
import pytest

from helpers import real_params
from gan_pipeline.config.datasets import DATASETS
from gan_pipeline.config.model import ARCHITECTURES
from gan_pipeline.config.params import parse_params
from gan_pipeline.training.models import LOGIT, NETS, PROBABILITY, build_discriminator, build_generator

PARAMS = parse_params(real_params())
MNIST = DATASETS["mnist"].image_shape


def _shapes(model):
    return [(layer.__class__.__name__, tuple(layer.output.shape[1:])) for layer in model.layers]


def test_generator_layers_match_the_book():
    # Book §4.4.2: 7×7×256 -> 14×14×128 -> 14×14×64 -> 28×28×1, tanh.
    assert _shapes(build_generator(PARAMS.model, MNIST)) == [
        ("Dense", (12544,)),
        ("Reshape", (7, 7, 256)),
        ("Conv2DTranspose", (14, 14, 128)),
        ("BatchNormalization", (14, 14, 128)),
        ("LeakyReLU", (14, 14, 128)),
        ("Conv2DTranspose", (14, 14, 64)),
        ("BatchNormalization", (14, 14, 64)),
        ("LeakyReLU", (14, 14, 64)),
        ("Conv2DTranspose", (28, 28, 1)),
        ("Activation", (28, 28, 1)),
    ]


def test_dcgan_start_channels_narrows_the_generators_first_map_only():
    narrow = PARAMS.model.model_copy(update={"dcgan_start_channels": 128})
    assert _shapes(build_generator(narrow, MNIST))[:3] == [
        ("Dense", (6272,)), ("Reshape", (7, 7, 128)), ("Conv2DTranspose", (14, 14, 128))]
    # Dense 100·6272 + 6272, then ConvT 3·3·128·128 + 128: the rest is the book's.
    saved = (100 + 1) * (12544 - 6272) + 3 * 3 * (256 - 128) * 128
    assert build_generator(narrow, MNIST).count_params() == 1_637_121 - saved
    assert build_discriminator(narrow, MNIST).count_params() == 95_489


def test_discriminator_layers_match_the_book():
    # Book §4.4.3: 14×14×32 -> 7×7×64 -> 4×4×128 ("same" padding) -> 1 sigmoid.
    assert _shapes(build_discriminator(PARAMS.model, MNIST)) == [
        ("Conv2D", (14, 14, 32)),
        ("LeakyReLU", (14, 14, 32)),
        ("Conv2D", (7, 7, 64)),
        ("BatchNormalization", (7, 7, 64)),
        ("LeakyReLU", (7, 7, 64)),
        ("Conv2D", (4, 4, 128)),
        ("BatchNormalization", (4, 4, 128)),
        ("LeakyReLU", (4, 4, 128)),
        ("Flatten", (2048,)),
        ("Dense", (1,)),
    ]


def test_parameter_counts_and_activations():
    generator = build_generator(PARAMS.model, MNIST)
    discriminator = build_discriminator(PARAMS.model, MNIST)
    assert generator.count_params() == 1_637_121
    assert discriminator.count_params() == 95_489
    assert generator.layers[-1].get_config()["activation"] == "tanh"
    assert discriminator.layers[-1].get_config()["activation"] == "sigmoid"
    slopes = {layer.get_config()["negative_slope"] for layer in
              generator.layers + discriminator.layers if layer.__class__.__name__ == "LeakyReLU"}
    assert slopes == {0.01}


def _arch(name):
    return PARAMS.model.model_copy(update={"arch": name})


@pytest.mark.parametrize("arch, generator_params, discriminator_params", [
    ("dcgan", 1_637_121, 95_489),  # the book's, counted in test_parameter_counts above
    ("dcgan_tf", 2_330_944, 212_865),  # the TensorFlow tutorial's model summaries
    ("mlp", 562_704, 1_460_225),  # reference 003 prints both totals
])
def test_every_architecture_has_its_references_parameter_counts(arch, generator_params,
                                                            discriminator_params):
    generator = build_generator(_arch(arch), MNIST)
    discriminator = build_discriminator(_arch(arch), MNIST)
    assert generator.count_params() == generator_params
    assert discriminator.count_params() == discriminator_params
    # One interface: noise in, 28×28×1 images out; images in, one score out.
    images = generator(np.zeros((2, 100), np.float32))
    assert images.shape == (2, 28, 28, 1)
    assert discriminator(images).shape == (2, 1)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_each_discriminators_output_is_read_as_what_its_last_layer_gives(arch):
    # The one-unit Dense layers score the images (lapgan has one per pyramid level).
    scores = {layer.get_config()["activation"] for layer in
              build_discriminator(_arch(arch), MNIST).layers
              if layer.__class__.__name__ == "Dense" and layer.get_config()["units"] == 1}
    assert len(scores) == 1
    read_as = {"sigmoid": PROBABILITY, "linear": LOGIT}[scores.pop()]
    assert NETS[arch].discriminator_output is read_as


def test_every_architecture_that_params_accept_has_its_nets():
    assert list(NETS) == list(ARCHITECTURES)


def test_a_logit_and_its_probability_give_the_same_loss_and_probability():
    logits = np.array([[-2.0], [0.5], [3.0]], np.float32)
    probabilities = 1 / (1 + np.exp(-logits))
    labels = np.array([[0.0], [1.0], [0.0]], np.float32)
    assert np.allclose(LOGIT.loss(labels, logits), PROBABILITY.loss(labels, probabilities))
    assert np.allclose(LOGIT.probability(logits), PROBABILITY.probability(probabilities))


def test_references_001_and_003_layer_shapes():
    tf_tutorial = build_discriminator(_arch("dcgan_tf"), MNIST)
    assert {layer.get_config()["negative_slope"] for layer in tf_tutorial.layers
            if layer.__class__.__name__ == "LeakyReLU"} == {0.3}  # params.yaml's, Keras's default
    assert _shapes(build_generator(_arch("dcgan_tf"), MNIST))[4:] == [
        ("Conv2DTranspose", (7, 7, 128)), ("BatchNormalization", (7, 7, 128)),
        ("LeakyReLU", (7, 7, 128)), ("Conv2DTranspose", (14, 14, 64)),
        ("BatchNormalization", (14, 14, 64)), ("LeakyReLU", (14, 14, 64)),
        ("Conv2DTranspose", (28, 28, 1)), ("Activation", (28, 28, 1))]
    assert _shapes(build_discriminator(_arch("dcgan_tf"), MNIST)) == [
        ("Conv2D", (14, 14, 64)), ("LeakyReLU", (14, 14, 64)), ("Dropout", (14, 14, 64)),
        ("Conv2D", (7, 7, 128)), ("LeakyReLU", (7, 7, 128)), ("Dropout", (7, 7, 128)),
        ("Flatten", (6272,)), ("Dense", (1,))]
    assert [s for _, s in _shapes(build_generator(_arch("mlp"), MNIST))] == [
        (256,), (256,), (512,), (512,), (784,), (28, 28, 1)]
    assert [s for _, s in _shapes(build_discriminator(_arch("mlp"), MNIST))] == [
        (784,), (1024,), (1024,), (512,), (512,), (256,), (256,), (1,)]


CIFAR10 = DATASETS["cifar10"].image_shape


def test_cifar10_generators_start_at_8_by_default_and_at_4_with_a_third_doubling():
    sides = [s[0] for _, s in _shapes(build_generator(PARAMS.model, CIFAR10))[1:]]
    assert sides == [8, 16, 16, 16, 16, 16, 16, 32, 32]  # the book's layers, 8 -> 32
    assert build_generator(PARAMS.model, CIFAR10).output_shape == (None, 32, 32, 3)
    from_4 = PARAMS.model.model_copy(update={"generator_start": 4})
    assert [(kind, s) for kind, s in _shapes(build_generator(from_4, CIFAR10))
            if kind in ("Reshape", "Conv2DTranspose")] == [
        ("Reshape", (4, 4, 256)), ("Conv2DTranspose", (8, 8, 128)),
        ("Conv2DTranspose", (16, 16, 128)), ("Conv2DTranspose", (16, 16, 64)),
        ("Conv2DTranspose", (32, 32, 3))]
    tf_from_4 = from_4.model_copy(update={"arch": "dcgan_tf"})
    assert [s for kind, s in _shapes(build_generator(tf_from_4, CIFAR10))
            if kind == "Conv2DTranspose"] == [(4, 4, 128), (8, 8, 128), (16, 16, 64),
                                              (32, 32, 3)]
    with pytest.raises(ValueError, match="cannot reach \\(28, 28, 1\\) images by doubling"):
        build_generator(from_4, MNIST)


def test_cifar10_discriminators_take_three_channels():
    assert _shapes(build_discriminator(PARAMS.model, CIFAR10))[:3] == [
        ("Conv2D", (16, 16, 32)), ("LeakyReLU", (16, 16, 32)), ("Conv2D", (8, 8, 64))]
    assert build_discriminator(_arch("mlp"), CIFAR10).layers[0].output.shape[1:] == (3072,)
