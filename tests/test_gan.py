"""gan.GAN beyond the book's step: the moving average of the generator (train.ema)."""

import numpy as np

from helpers import real_params, shrink, synthetic_images
from gan_pipeline.config import parse_params
from gan_pipeline.data.prepare import prepare
from gan_pipeline.runtime import configure_runtime
from gan_pipeline.training import build_gan, train

IMAGES = prepare(synthetic_images(), 64)["x_train"]


def _params(iterations: int, ema: float):
    raw = shrink(real_params(), iterations=iterations, sample_interval=iterations)
    raw["train"].update(ema=ema, precision="float32")
    return parse_params(raw)


def _train(iterations: int, ema: float):
    params = _params(iterations, ema)
    result = train(params.model, params.train, IMAGES)
    return result.generator.get_weights(), result.discriminator.get_weights()


def test_the_average_is_what_a_run_with_ema_hands_out_and_it_leaves_training_alone():
    start = _params(1, 0.0)
    configure_runtime(start.train)
    initial = build_gan(start.model, start.train, (28, 28, 1)).generator.get_weights()
    trained, discriminator = _train(1, 0.0)
    averaged, same_discriminator = _train(1, 0.75)
    # One iteration from the initial weights: 0.75 · initial + 0.25 · trained, batch-norm
    # statistics included.
    for a, w0, w1 in zip(averaged, initial, trained):
        np.testing.assert_allclose(a, 0.75 * w0 + 0.25 * w1, rtol=1e-5, atol=1e-7)
    assert all(np.array_equal(a, b) for a, b in zip(discriminator, same_discriminator))
    assert not all(np.array_equal(a, b) for a, b in zip(averaged, trained))
