"""The moving average of the generator (``train.ema``): what a run with it samples, measures,
saves and registers.

Two things make it the average the literature means, not a lagging copy:

* **A half-life in images, ramped up** (StyleGAN2-ADA): each iteration
  average ← β · average + (1 − β) · weights, with β = 0.5 ** (batch / half-life), so the
  half-life is ``ema`` thousand images whatever the batch size; and the half-life is at
  most ``ema_rampup`` × the images seen before the iteration, so early on, when the
  weights move most, the average follows them instead of holding on to the initial ones.
  The update is its own compiled call after each iteration.
* **Standing batch-norm statistics** (BigGAN): only the trainable weights are averaged. The
  batch-norm moving statistics of the trained generator belong to its own weights, not to
  the average's, so before the average is used they are recomputed for it: each batch-norm
  layer gets the mean and variance of its inputs over ``STANDING_SAMPLES`` seeded noise
  vectors, which is how it normalised them in training mode.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from gan_pipeline.training.noise import noise

# Noise vectors that the standing statistics are measured on, and their seed: an own
# stream, apart from the training randomness and the progress grid's noise.
STANDING_SAMPLES = 2048
STANDING_SEED = 1_000_003


class GeneratorAverage:
    def __init__(self, generator: keras.Model, half_life_kimg: float, rampup: float | None,
                 z_dim: int):
        self.model = keras.models.clone_model(generator)
        self.model.set_weights(generator.get_weights())
        self._pairs = list(zip(self.model.trainable_variables, generator.trainable_variables))
        self.half_life_images = 1000.0 * half_life_kimg
        self.rampup = rampup
        self._noise = noise(STANDING_SEED, STANDING_SAMPLES, z_dim)
        self._standing_at: int | None = None

    def decay(self, images_before, batch_images: int):
        """β for an iteration of ``batch_images`` after ``images_before`` images."""
        half_life = tf.constant(self.half_life_images, tf.float32)
        if self.rampup is not None:
            half_life = tf.minimum(half_life, tf.cast(images_before, tf.float32) * self.rampup)
        return 0.5 ** (batch_images / tf.maximum(half_life, 1e-8))

    def update(self, images_before, batch_images: int) -> None:
        """One iteration's step of the average, after the iteration."""
        beta = self.decay(images_before, batch_images)
        for average, weight in self._pairs:
            average.assign(beta * average + (1.0 - beta) * weight)

    def with_standing_statistics(self, step: int) -> keras.Model:
        """The average, its batch-norm statistics recomputed for its weights as they stand at
        ``step`` (the generator's update count; recomputed once per step)."""
        if self._standing_at != step:
            x = tf.convert_to_tensor(self._noise)
            for layer in self.model.layers:
                if isinstance(layer, layers.BatchNormalization):
                    # In float32, as batch norm computes its moments under mixed precision.
                    mean, variance = tf.nn.moments(tf.cast(x, tf.float32),
                                                   axes=list(range(len(x.shape) - 1)))
                    layer.moving_mean.assign(mean)
                    layer.moving_variance.assign(variance)
                x = layer(x, training=False)
            self._standing_at = step
        return self.model
