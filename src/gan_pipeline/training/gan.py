"""A GAN's training state (both nets, their optimizers, the seeded randomness) and the book's
training iteration over it, compiled as one ``tf.function``.

Per iteration, as in the book (§4.4.4), and in this order:

1. draw a random batch of real images (with replacement, like ``np.random.randint``);
2. generate a batch of fakes with the generator in inference mode (the book's ``predict``),
   as the generator stands at the start of the iteration;
3. train the discriminator on the real batch (label 1), then on the fakes (label 0): two
   optimizer updates, as two ``train_on_batch`` calls make; loss and accuracy are the mean of
   the two;
4. train the generator through the discriminator on fresh noise, with labels 1; only the
   generator's weights take a step.

Each phase waits for the one before it (control dependencies). TensorFlow otherwise runs
independent ops of the graph at the same time, and nothing in the data links step 2 to the
generator's training pass in step 4: the two passes overlapped, the inference pass
sometimes read batch-norm statistics that the training pass had already moved, and reruns
differed.

All randomness (batch indices and noise) comes from one seeded ``keras.random.SeedGenerator``,
drawn for the global batch and then split between replicas, so the step is written once for
every ``tf.distribute`` strategy (the default one included).

Beyond the book (each 0 there, docs/recipe.md): one-sided ``label_smoothing``, the target
for real images being ``1 - label_smoothing`` (fakes keep 0, the generator's target stays 1,
the accuracy counts against the hard labels), and a lazy R1 penalty (Mescheder et al. 2018,
lazily as StyleGAN2 does) on every ``r1_interval``-th iteration's update on real images:
r1_gamma / 2 · r1_interval · E‖∇x logit D(x)‖², the interval making up for the iterations
without it. The two learning rates are the optimizers'.

``fused_generator_pass`` (off in the book) changes step 2: the fakes the discriminator sees
are the generator step's own training-mode output, computed once, instead of a separate
inference-mode pass on other noise, as the TensorFlow tutorial (reference 001) does
(keras-io's DCGAN runs the generator twice, on fresh noise). It saves one generator forward
pass, a fifth of the FLOPs, and another algorithm: the fakes come from training-mode batch
norm, on the generator step's own noise.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from gan_pipeline.training.models import DiscriminatorOutput

NON_FINITE = "non-finite loss:"


def _step(optimizer: keras.optimizers.Optimizer, net: keras.Model, tape: tf.GradientTape,
          scaled_loss) -> None:
    """One optimizer step of ``net``'s weights down ``scaled_loss``'s gradient."""
    variables = net.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(scaled_loss, variables), variables))


def _logs(d_real, d_fake, g_loss) -> dict:
    """The book's log: the discriminator's loss and accuracy, the mean of its two updates."""
    return {"d_loss": 0.5 * (d_real[0] + d_fake[0]), "d_acc": 0.5 * (d_real[1] + d_fake[1]),
            "g_loss": g_loss}


class GAN:
    """The two nets and what trains them: their optimizers, the discriminator's ``output``
    (how its last layer is read: loss, probability of "real", logit), and
    ``seed_generator``, the seeded source of every random draw."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *,
                 output: DiscriminatorOutput, d_optimizer: keras.optimizers.Optimizer,
                 g_optimizer: keras.optimizers.Optimizer, z_dim: int, seed: int,
                 label_smoothing: float = 0.0, r1_gamma: float = 0.0, r1_interval: int = 1,
                 fused_generator_pass: bool = False):
        self.generator = generator
        self.discriminator = discriminator
        self.output = output
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.z_dim = z_dim
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.real_target = 1.0 - label_smoothing
        self.r1_weight = r1_gamma / 2 * r1_interval
        self.r1_interval = r1_interval if r1_gamma else 0  # 0: no iteration carries R1
        self.fused_generator_pass = fused_generator_pass
        # Build the optimizer slots now: variables cannot be created inside the compiled step.
        d_optimizer.build(discriminator.trainable_variables)
        g_optimizer.build(generator.trainable_variables)

    # The step, top to bottom: the discriminator's update (used twice), then one replica's
    # share of an iteration. Gradients are summed over replicas, so each replica's mean loss
    # counts 1/replicas; scale_loss applies mixed_float16's loss scale (a no-op otherwise).

    def discriminator_update(self, images, label: float, with_r1: bool = False):
        """One update on ``images``, all labelled ``label`` (real ones at the smoothed
        target); the R1 penalty, with ``with_r1``, joins what is differentiated, not the
        loss that is returned. Returns (loss, accuracy)."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            if with_r1:
                predictions, penalty = self._r1_penalty(images)
            else:
                predictions = self.discriminator(images, training=True)
            # One label per output: lapgan's discriminator has one per pyramid level.
            labels = tf.fill(tf.shape(predictions), label)
            loss = self.output.loss(labels * self.real_target, predictions)
            objective = loss + self.r1_weight * penalty if with_r1 else loss
            scaled = self.d_optimizer.scale_loss(objective / replicas)
        _step(self.d_optimizer, self.discriminator, tape, scaled)
        probabilities = self.output.probability(predictions)
        return loss, tf.reduce_mean(keras.metrics.binary_accuracy(labels, probabilities))

    def replica_step(self, real_images, noise_fake, noise_gen, regularize: bool = False):
        """One replica's share of the iteration: its real images, its noise for the fakes the
        discriminator sees, and its noise for the generator's update. ``regularize``: the
        update on real images carries the R1 penalty."""
        if self.fused_generator_pass:
            return self._fused_replica_step(real_images, noise_gen, regularize)
        fake_images = self.generator(noise_fake, training=False)  # the book's `predict`
        # The discriminator's updates touch no generator state: the first one may run while
        # the fakes are made.
        d_real = self.discriminator_update(real_images, 1.0, regularize)
        with tf.control_dependencies(d_real):
            d_fake = self.discriminator_update(fake_images, 0.0)
        with tf.GradientTape() as tape:
            # The training pass moves the generator's batch-norm statistics: not before the
            # fakes are made. It needs no discriminator, so it may overlap the updates above.
            with tf.control_dependencies([fake_images]):
                generated = self.generator(noise_gen, training=True)
            with tf.control_dependencies(d_fake):
                g_loss, scaled = self._generator_loss(generated)
        _step(self.g_optimizer, self.generator, tape, scaled)
        return _logs(d_real, d_fake, g_loss)

    def _generator_loss(self, generated):
        """(the loss, the loss to differentiate) of the generator's update: the
        discriminator's on ``generated`` labelled real. The discriminator runs in training
        mode, as the book's Keras 2 gan.train_on_batch ran it: its batch norm uses the
        batch's statistics. (Keras 3 would use its moving statistics, which lag far behind
        early on: the generator would "fool" it at once.)"""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        predictions = self.discriminator(generated, training=True)
        g_loss = self.output.loss(tf.ones_like(predictions), predictions)
        return g_loss, self.g_optimizer.scale_loss(g_loss / replicas)

    def _fused_replica_step(self, real_images, noise_gen, regularize: bool):
        """The fused pass: one generator pass makes the discriminator's fakes and the
        generator's update, so there is no second pass to order."""
        with tf.GradientTape() as tape:
            generated = self.generator(noise_gen, training=True)
            with tape.stop_recording():
                d_real = self.discriminator_update(real_images, 1.0, regularize)
                with tf.control_dependencies(d_real):
                    d_fake = self.discriminator_update(tf.stop_gradient(generated), 0.0)
            with tf.control_dependencies(d_fake):
                g_loss, scaled = self._generator_loss(generated)
        _step(self.g_optimizer, self.generator, tape, scaled)
        return _logs(d_real, d_fake, g_loss)

    def _r1_penalty(self, images):
        """The discriminator's predictions on ``images``, and E‖∇x logit D(x)‖² there."""
        with tf.GradientTape() as tape:
            tape.watch(images)
            predictions = self.discriminator(images, training=True)
            logits = tf.reduce_sum(tf.cast(self.output.logit(predictions), tf.float32))
        gradients = tf.cast(tape.gradient(logits, images), tf.float32)
        return predictions, tf.reduce_mean(tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3]))

    def train_iteration(self, images, batch_size: int, regularize: bool = False):
        """One iteration of the book's loop: draw the global batch's randomness, split it,
        step, reduce. ``images`` holds the whole training set; ``batch_size`` is per
        replica; ``regularize``: this iteration carries the R1 penalty."""
        strategy = tf.distribute.get_strategy()
        global_batch = batch_size * strategy.num_replicas_in_sync
        idx = keras.random.randint((global_batch,), 0, tf.shape(images)[0],
                                   seed=self.seed_generator)
        noise_fake = keras.random.normal((global_batch, self.z_dim), seed=self.seed_generator)
        noise_gen = keras.random.normal((global_batch, self.z_dim), seed=self.seed_generator)

        def shard(tensor):
            return strategy.experimental_distribute_values_from_function(
                lambda ctx: tensor[ctx.replica_id_in_sync_group * batch_size:
                                   (ctx.replica_id_in_sync_group + 1) * batch_size])

        data = (shard(tf.gather(images, idx)), shard(noise_fake), shard(noise_gen))
        logs = strategy.run(self.replica_step, args=(*data, regularize))
        logs = {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
                for k, v in logs.items()}
        for name, value in logs.items():  # fail at the iteration that diverged, not later
            tf.debugging.assert_all_finite(value, f"{NON_FINITE} {name}")
        return logs

    def compiled_training(self, batch_size: int, jit_compile: bool
                          ) -> Callable[[int, tf.Tensor], dict]:
        """Iteration ``n``'s work, ``run(n, images)`` → its logs: the iteration as one graph
        (optionally XLA-compiled), with R1 on every ``r1_interval``-th (lazy: a graph of its
        own). The training loop and benchmarks/train_throughput.py both run this, so the
        benchmark times what training does."""
        def compiled(regularize: bool):
            return tf.function(lambda images: self.train_iteration(images, batch_size,
                                                                    regularize),
                               jit_compile=jit_compile)

        step = compiled(False)
        regularized = compiled(True) if self.r1_interval else None

        def run(iteration: int, images: tf.Tensor) -> dict:
            lazy = regularized is not None and iteration % self.r1_interval == 0
            return (regularized if lazy else step)(images)
        return run
