"""The learning-rate cooldown (train.lr_cooldown): constant, then a straight line down to 0
over the last part of the run, as WGAN-GP's reference code decays its rates. It needs the
run's end in iterations (train.iterations), not in minutes."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="gan_pipeline")
class LinearCooldown(keras.optimizers.schedules.LearningRateSchedule):
    """``learning_rate`` until iteration ``iterations · (1 − cooldown)``, then falling
    linearly to 0 at ``iterations``. ``updates_per_iteration``: how many optimizer steps
    an iteration makes (the discriminator's two, real and fake; the generator's one), so
    that both nets cool down together."""

    def __init__(self, learning_rate: float, iterations: int, cooldown: float,
                 updates_per_iteration: int = 1):
        self.learning_rate = learning_rate
        self.iterations = iterations
        self.cooldown = cooldown
        self.updates_per_iteration = updates_per_iteration

    def __call__(self, step):
        iteration = tf.cast(step // self.updates_per_iteration, tf.float32)
        left = (self.iterations - iteration) / (self.cooldown * self.iterations)
        return self.learning_rate * tf.clip_by_value(left, 0.0, 1.0)

    def get_config(self) -> dict:
        return {"learning_rate": self.learning_rate, "iterations": self.iterations,
                "cooldown": self.cooldown, "updates_per_iteration": self.updates_per_iteration}
