"""CycleGAN (Zhu et al. 2017; reference 004, §26-3) for 28×28 images: two generators, G: A → B
and F: B → A, two discriminators, D_A and D_B, trained with the least-squares GAN loss plus
λ times the L1 cycle loss ‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁, and optionally an identity loss.

The nets are the paper's, scaled to MNIST: a generator downsamples once, runs residual
blocks with instance norm, and upsamples back; a discriminator is a PatchGAN (a score per
patch, linear, as the least-squares loss reads it). One iteration, compiled as one graph:
a batch of each domain, drawn with replacement from a seeded generator; one Adam step of
both generators on their joint loss; then one of each discriminator on the real images
(target 1) and the fakes of that same forward pass (target 0), halved as in the paper.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from gan_pipeline.config.translate import NetsConfig, TranslateTrainConfig

OUTPUT_DTYPE = "float32"  # tanh and the scores stay float32 under mixed precision


def _norm_relu(x):
    # Instance norm: GroupNormalization with a group per channel.
    return layers.ReLU()(layers.GroupNormalization(groups=-1)(x))


def build_generator(cfg: NetsConfig, image_shape: tuple[int, int, int], name: str
                    ) -> keras.Model:
    """Conv w/7 → Conv 2w/3/s2 → residual blocks (two Conv 2w/3 each) → ConvT w/3/s2 →
    Conv C/7, tanh; instance norm and ReLU after each but the last."""
    w = cfg.width
    image = keras.Input(shape=image_shape)
    x = _norm_relu(layers.Conv2D(w, 7, padding="same")(image))
    x = _norm_relu(layers.Conv2D(2 * w, 3, strides=2, padding="same")(x))
    for _ in range(cfg.residual_blocks):
        h = _norm_relu(layers.Conv2D(2 * w, 3, padding="same")(x))
        h = layers.GroupNormalization(groups=-1)(layers.Conv2D(2 * w, 3, padding="same")(h))
        x = layers.Add()([x, h])
    x = _norm_relu(layers.Conv2DTranspose(w, 3, strides=2, padding="same")(x))
    x = layers.Conv2D(image_shape[2], 7, padding="same")(x)
    return keras.Model(image, layers.Activation("tanh", dtype=OUTPUT_DTYPE)(x), name=name)


def build_discriminator(cfg: NetsConfig, image_shape: tuple[int, int, int], name: str
                        ) -> keras.Model:
    """PatchGAN: Conv w/4/s2, LeakyReLU 0.2 → Conv 2w/4/s2, instance norm, LeakyReLU 0.2 →
    Conv 1/3: a score per 7×7 patch of a 28×28 image."""
    w = cfg.width
    image = keras.Input(shape=image_shape)
    x = layers.LeakyReLU(0.2)(layers.Conv2D(w, 4, strides=2, padding="same")(image))
    x = layers.Conv2D(2 * w, 4, strides=2, padding="same")(x)
    x = layers.LeakyReLU(0.2)(layers.GroupNormalization(groups=-1)(x))
    score = layers.Conv2D(1, 3, padding="same", dtype=OUTPUT_DTYPE)(x)
    return keras.Model(image, score, name=name)


def _adam(cfg: TranslateTrainConfig) -> keras.optimizers.Optimizer:
    optimizer = keras.optimizers.Adam(cfg.adam.learning_rate, beta_1=cfg.adam.beta_1)
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)  # float16 gradients underflow
    return optimizer


def _least_squares(scores, target: float):
    return tf.reduce_mean(tf.square(tf.cast(scores, tf.float32) - target))


def _l1(x, y):
    return tf.reduce_mean(tf.abs(tf.cast(x, tf.float32) - tf.cast(y, tf.float32)))


class CycleGAN:
    """The four nets, their three optimizers (both generators share one, as in the paper)
    and the seeded randomness; ``iteration(a_images, b_images)`` trains one iteration."""

    def __init__(self, nets: NetsConfig, train: TranslateTrainConfig,
                 image_shape: tuple[int, int, int]):
        keras.utils.set_random_seed(train.seed)  # the initial weights
        self.g = build_generator(nets, image_shape, "g_a_to_b")
        self.f = build_generator(nets, image_shape, "f_b_to_a")
        self.d_a = build_discriminator(nets, image_shape, "d_a")
        self.d_b = build_discriminator(nets, image_shape, "d_b")
        self.cfg = train
        self.generators_optimizer, self.d_a_optimizer, self.d_b_optimizer = (
            _adam(train), _adam(train), _adam(train))
        self.generator_variables = self.g.trainable_variables + self.f.trainable_variables
        self.generators_optimizer.build(self.generator_variables)
        self.d_a_optimizer.build(self.d_a.trainable_variables)
        self.d_b_optimizer.build(self.d_b.trainable_variables)
        self.seed_generator = keras.random.SeedGenerator(train.seed)

    def _batch(self, images):
        idx = keras.random.randint((self.cfg.batch_size,), 0, tf.shape(images)[0],
                                   seed=self.seed_generator)
        return tf.gather(images, idx)

    def _step(self, optimizer, variables, tape, loss) -> None:
        grads = tape.gradient(optimizer.scale_loss(loss), variables)
        optimizer.apply_gradients(zip(grads, variables))

    def iteration(self, a_images, b_images) -> dict:
        """One iteration on batches drawn from ``a_images`` and ``b_images``: the losses."""
        a, b = self._batch(a_images), self._batch(b_images)
        lam, lam_id = self.cfg.lambda_cycle, self.cfg.lambda_cycle * self.cfg.lambda_identity
        with tf.GradientTape(persistent=True) as tape:
            fake_b, fake_a = self.g(a, training=True), self.f(b, training=True)
            adversarial = (_least_squares(self.d_b(fake_b, training=True), 1.0)
                           + _least_squares(self.d_a(fake_a, training=True), 1.0))
            cycle = _l1(self.f(fake_b, training=True), a) + _l1(self.g(fake_a, training=True), b)
            identity = (_l1(self.g(b, training=True), b) + _l1(self.f(a, training=True), a)
                        if lam_id else tf.constant(0.0))
            generators_loss = adversarial + lam * cycle + lam_id * identity
            fake_a, fake_b = tf.stop_gradient(fake_a), tf.stop_gradient(fake_b)
            d_a_loss = 0.5 * (_least_squares(self.d_a(a, training=True), 1.0)
                              + _least_squares(self.d_a(fake_a, training=True), 0.0))
            d_b_loss = 0.5 * (_least_squares(self.d_b(b, training=True), 1.0)
                              + _least_squares(self.d_b(fake_b, training=True), 0.0))
        self._step(self.generators_optimizer, self.generator_variables, tape, generators_loss)
        self._step(self.d_a_optimizer, self.d_a.trainable_variables, tape, d_a_loss)
        self._step(self.d_b_optimizer, self.d_b.trainable_variables, tape, d_b_loss)
        del tape
        return {"adversarial": adversarial, "cycle": cycle, "identity": identity,
                "d_a": d_a_loss, "d_b": d_b_loss}

    def compiled(self, jit_compile: bool = False):
        return tf.function(self.iteration, jit_compile=jit_compile)
