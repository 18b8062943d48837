"""The seed's training iteration as a compiled train step of a ``keras.Model``.

Per iteration, as in the book (§4.4.4):

1. draw a random batch of real images (with replacement, like ``np.random.randint``);
2. generate a batch of fakes with the generator in inference mode (the seed's ``predict``);
3. train the discriminator on the real batch (label 1), then on the fakes (label 0): two
   optimizer updates, as two ``train_on_batch`` calls make; loss and accuracy are the mean of
   the two;
4. train the generator through the frozen discriminator on fresh noise, with labels 1. Only
   the generator's weights move. The discriminator runs in training mode, as the book's
   Keras 2 ``gan.train_on_batch`` ran it: its batch norm normalises with the batch's own
   statistics. (Keras 3 would run a non-trainable discriminator in inference mode, with
   moving statistics that lag far behind early in training; the generator then "fools" it
   at once and the book's losses are not reproduced.)

All randomness (batch indices and noise) comes from one seeded ``keras.random.SeedGenerator``.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class DCGAN(keras.Model):
    def __init__(self, generator: keras.Model, discriminator: keras.Model, z_dim: int,
                 seed: int, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.z_dim = z_dim
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_fn = keras.losses.BinaryCrossentropy()

    def compile(self, d_optimizer: keras.optimizers.Optimizer,
                g_optimizer: keras.optimizers.Optimizer, **kwargs) -> None:
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        # Build the optimizer slots now: variables cannot be created inside the compiled step.
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def _noise(self, batch_size):
        return keras.random.normal((batch_size, self.z_dim), seed=self.seed_generator)

    def _discriminator_update(self, images, label: float):
        labels = tf.fill((tf.shape(images)[0], 1), label)
        with tf.GradientTape() as tape:
            predictions = self.discriminator(images, training=True)
            loss = self.loss_fn(labels, predictions)
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        accuracy = tf.reduce_mean(keras.metrics.binary_accuracy(labels, predictions))
        return loss, accuracy

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        fake_images = self.generator(self._noise(batch_size), training=False)
        d_loss_real, d_acc_real = self._discriminator_update(real_images, 1.0)
        d_loss_fake, d_acc_fake = self._discriminator_update(fake_images, 0.0)

        labels = tf.ones((batch_size, 1))
        with tf.GradientTape() as tape:
            generated = self.generator(self._noise(batch_size), training=True)
            g_loss = self.loss_fn(labels, self.discriminator(generated, training=True))
        variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, variables), variables))
        return {
            "d_loss": 0.5 * (d_loss_real + d_loss_fake),
            "d_acc": 0.5 * (d_acc_real + d_acc_fake),
            "g_loss": g_loss,
        }

    def train_iteration(self, images, batch_size: int):
        """One seed iteration: sample a real batch from ``images`` (all of them), then step."""
        idx = keras.random.randint((batch_size,), 0, tf.shape(images)[0],
                                   seed=self.seed_generator)
        return self.train_step(tf.gather(images, idx))

    def compiled_iteration(self, batch_size: int, jit_compile: bool):
        """``train_iteration`` as one graph (optionally XLA-compiled) for a fixed batch size."""
        return tf.function(lambda images: self.train_iteration(images, batch_size),
                           jit_compile=jit_compile)
