"""gan.GAN: the book's train step on every architecture and dataset, seeded, with label
smoothing, two learning rates and the R1 penalty (train.r1_gamma)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import real_params, shrink, synthetic_images
from gan_pipeline.config.datasets import DATASETS
from gan_pipeline.config.model import ARCHITECTURES
from gan_pipeline.config.params import parse_params
from gan_pipeline.data.prepare import prepare
from gan_pipeline.training.loop import build_gan
from gan_pipeline.training.loop import train as train_loop
from gan_pipeline.training.models import LOGIT, PROBABILITY
from gan_pipeline.training.runtime import configure_runtime

IMAGES = prepare(synthetic_images(), 64)["x_train"]
PARAMS = parse_params(real_params())
FLOAT32 = PARAMS.runtime.train.model_copy(update={"precision": "float32"})
MNIST = DATASETS["mnist"].image_shape


def _tiny_gan(seed=0):
    train_cfg = PARAMS.train.model_copy(update={"seed": seed, "batch_size": 8})
    configure_runtime(FLOAT32)
    return build_gan(PARAMS.model, train_cfg, MNIST), train_cfg


def test_a_train_step_changes_both_nets_and_returns_finite_losses():
    gan, cfg = _tiny_gan()
    images = np.random.default_rng(0).uniform(-1, 1, (32, 28, 28, 1)).astype(np.float32)
    before_g = [w.copy() for w in gan.generator.get_weights()]
    before_d = [w.copy() for w in gan.discriminator.get_weights()]
    logs = gan.compiled_training(cfg.batch_size, jit_compile=False)(1, images)
    assert set(logs) == {"d_loss", "d_acc", "g_loss"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert 0.0 <= float(logs["d_acc"]) <= 1.0
    assert any(not np.array_equal(a, b) for a, b in zip(before_g, gan.generator.get_weights()))
    assert any(not np.array_equal(a, b)
               for a, b in zip(before_d, gan.discriminator.get_weights()))
    # Two discriminator updates (real, then fake) and one generator update, as the book makes.
    assert int(gan.d_optimizer.iterations) == 2 and int(gan.g_optimizer.iterations) == 1


def test_label_smoothing_lowers_only_the_real_target_and_accuracy_counts_hard_labels():
    raw = real_params()
    raw["train"].update(label_smoothing=0.1, batch_size=8)
    cfg = parse_params(raw).train
    configure_runtime(FLOAT32)
    gan = build_gan(PARAMS.model, cfg, MNIST)
    images = np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)
    p = gan.discriminator(images, training=True).numpy().astype(np.float64)
    loss, accuracy = gan.discriminator_update(images, 1.0)
    expected = -np.mean(0.9 * np.log(p) + 0.1 * np.log(1 - p))  # binary cross-entropy
    np.testing.assert_allclose(float(loss), expected, rtol=1e-4)
    assert float(accuracy) == np.mean(p > 0.5)
    p = gan.discriminator(images, training=True).numpy().astype(np.float64)
    fake_loss, _ = gan.discriminator_update(images, 0.0)  # fakes keep target 0
    np.testing.assert_allclose(float(fake_loss), -np.mean(np.log(1 - p)), rtol=1e-3)


def test_each_net_gets_its_own_learning_rate_when_two_are_given():
    adam = PARAMS.train.adam.model_copy(update={"discriminator_learning_rate": 4e-4})
    cfg = PARAMS.train.model_copy(update={"adam": adam})
    configure_runtime(FLOAT32)
    gan = build_gan(PARAMS.model, cfg, MNIST)
    assert np.isclose(float(gan.d_optimizer.learning_rate), 4e-4)
    assert np.isclose(float(gan.g_optimizer.learning_rate), PARAMS.train.adam.learning_rate)


def test_the_fused_pass_trains_both_nets_from_one_generator_pass():
    """Its fakes are the generator step's own training-mode output: the generator is called
    once per iteration, both nets still take their steps, and the weights are another
    algorithm's than the book's step."""
    images = np.random.default_rng(0).uniform(-1, 1, (32, 28, 28, 1)).astype(np.float32)
    weights, calls = {}, {}
    for fused in (False, True):
        cfg = PARAMS.train.model_copy(update={"seed": 0, "batch_size": 8,
                                              "fused_generator_pass": fused})
        configure_runtime(FLOAT32)
        gan = build_gan(PARAMS.model, cfg, MNIST)
        traced, call = [], gan.generator.call
        gan.generator.call = lambda *args, **kwargs: traced.append(1) or call(*args, **kwargs)
        before = [w.copy() for w in gan.discriminator.get_weights()]
        gan.compiled_training(8, jit_compile=False)(1, images)
        assert int(gan.d_optimizer.iterations) == 2 and int(gan.g_optimizer.iterations) == 1
        assert any(not np.array_equal(a, b)
                   for a, b in zip(before, gan.discriminator.get_weights()))
        weights[fused], calls[fused] = gan.generator.get_weights(), len(traced)
    assert calls == {False: 2, True: 1}
    assert not all(np.array_equal(a, b) for a, b in zip(weights[False], weights[True]))


def _weights_after(seed, iterations=3):
    gan, cfg = _tiny_gan(seed)
    images = np.random.default_rng(2).uniform(-1, 1, (32, 28, 28, 1)).astype(np.float32)
    step = gan.compiled_training(cfg.batch_size, jit_compile=False)
    for iteration in range(1, iterations + 1):
        step(iteration, images)
    return gan.generator.get_weights() + gan.discriminator.get_weights()


def test_same_seed_gives_identical_weights_and_another_seed_does_not():
    first, again, other = _weights_after(5), _weights_after(5), _weights_after(6)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_the_same_train_step_trains_every_architecture_on_every_dataset(arch, dataset):
    shape = DATASETS[dataset].image_shape
    train_cfg = PARAMS.train.model_copy(update={"batch_size": 8})
    configure_runtime(FLOAT32)
    gan = build_gan(PARAMS.model.model_copy(update={"arch": arch}), train_cfg, shape)
    assert gan.generator.output_shape == (None, *shape)
    assert gan.discriminator.input_shape == (None, *shape)
    images = np.random.default_rng(0).uniform(-1, 1, (32, *shape)).astype(np.float32)
    before = [w.copy() for w in gan.generator.get_weights()]
    logs = gan.compiled_training(8, jit_compile=False)(1, images)
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert 0.0 <= float(logs["d_acc"]) <= 1.0
    assert any(not np.array_equal(a, b) for a, b in zip(before, gan.generator.get_weights()))


@pytest.mark.parametrize("output", [PROBABILITY, LOGIT])
def test_r1_is_the_squared_gradient_norm_of_the_discriminators_logit(output):
    """For a linear logit w·x + b the gradient at every image is w: the penalty is ‖w‖²,
    whether the last layer gives the logit or its sigmoid."""
    gan, _ = _tiny_gan()
    activation = "sigmoid" if output is PROBABILITY else None
    gan.discriminator = keras.Sequential([keras.Input(MNIST), keras.layers.Flatten(),
                                          keras.layers.Dense(1, activation=activation)])
    gan.output = output
    w = gan.discriminator.layers[-1].kernel.numpy()
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, (4, *MNIST)), tf.float32)
    _, penalty = gan._r1_penalty(images)
    np.testing.assert_allclose(float(penalty), float(np.sum(w ** 2)), rtol=1e-4)


def test_r1_moves_the_discriminator_but_not_the_loss_it_logs():
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, (8, *MNIST)), tf.float32)
    results = {}
    for regularize in (False, True):
        cfg = PARAMS.train.model_copy(update={"seed": 0, "batch_size": 8, "r1_gamma": 10.0})
        configure_runtime(FLOAT32)
        gan = build_gan(PARAMS.model, cfg, MNIST)
        loss, _ = gan.discriminator_update(images, 1.0, regularize)
        results[regularize] = float(loss), gan.discriminator.get_weights()
    assert results[False][0] == results[True][0]
    assert not all(np.array_equal(a, b) for a, b in zip(results[False][1], results[True][1]))


def test_r1_runs_on_every_r1_interval_th_iteration_only():
    """Lazy: with r1_interval 2 the training state after the first iteration is the plain
    run's, bit for bit, and after the second it is not."""
    def digests(**train) -> list[str]:
        raw = shrink(real_params(), iterations=2, sample_interval=1)
        raw["train"].update(train)
        raw["runtime"]["train"]["precision"] = "float32"
        params = parse_params(raw)
        result = train_loop(params.model, params.train, params.runtime.train, IMAGES)
        return [d.state_sha256 for d in result.record.digests]

    lazy, plain = digests(r1_gamma=10.0, r1_interval=2), digests()
    assert lazy[0] == plain[0]
    assert lazy[1] != plain[1]
