"""A GAN's training state (both nets, their optimizers, the seeded randomness) and the book's
training iteration over it, compiled as one ``tf.function``.

Per iteration, as in the book (§4.4.4), and in this order:

1. draw a random batch of real images (with replacement, like ``np.random.randint``);
2. generate a batch of fakes with the generator in inference mode (the book's ``predict``),
   as the generator stands at the start of the iteration;
3. train the discriminator on the real batch (label 1), then on the fakes (label 0): two
   optimizer updates, as two ``train_on_batch`` calls make; loss and accuracy are the mean of
   the two;
4. train the generator through the frozen discriminator on fresh noise, with labels 1. Only
   the generator's weights take a gradient step (with ``spectral_norm``, Keras's layers
   still renormalise the discriminator's kernels). The discriminator runs in training mode,
   as the book's Keras 2 ``gan.train_on_batch`` ran it: its batch norm normalises with the
   batch's own statistics. (Keras 3 would run a non-trainable discriminator in inference
   mode, with moving statistics that lag far behind early in training; the generator then
   "fools" it at once and the book's losses are not reproduced.)

Each phase waits for the one before it (control dependencies). TensorFlow otherwise runs
independent ops of the graph at the same time, and nothing in the data links step 2 to the
generator's training pass in step 4: the two passes overlapped, and the inference pass
sometimes read batch-norm statistics that the training pass had already moved. Reruns then
differed, and the fakes were not always the book's.

All randomness (batch indices and noise) comes from one seeded ``keras.random.SeedGenerator``,
drawn for the global batch and then split between replicas, so the step is written once for
every ``tf.distribute`` strategy (the default one included).

``label_smoothing`` (0 in the book) is one-sided: the discriminator's loss target for real
images is ``1 - label_smoothing``; fakes keep 0, the generator's target stays 1, and the
accuracy still counts against the hard labels.

``top_k`` (1 in the book) < 1 has the generator learn in step 4 from the fraction of its
fakes that the discriminator rates most real (Sinha et al., 2020). The learning-rate
cooldown is the optimizers' (``schedules``).

``r1_gamma`` (0 in the book) > 0 adds a lazy R1 penalty (Mescheder et al., 2018, lazily as
StyleGAN2 does) to step 3's update on real images, on every r1_interval-th iteration:
r1_gamma / 2 · r1_interval · E‖∇x logit D(x)‖², the interval making up for the iterations
without it. With ``ema`` (``average``), the moving average of the generator takes its step
after each iteration (``update_average``). ``compiled_training`` runs both as training does.

``fused_generator_pass`` (a speed option, off by default) changes step 2: the fakes for the
discriminator are the generator-step's own training-mode output, computed once, instead of a
separate inference-mode pass on other noise. That saves one generator forward pass (about a
fifth of the FLOPs) and is what the Keras/TensorFlow DCGAN tutorials do; the losses keep
their meaning, but the fakes the discriminator sees differ from the book's.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from gan_pipeline.training.average import GeneratorAverage

NON_FINITE = "non-finite loss:"


class GAN:
    """The two nets and what trains them: their optimizers, the loss on the discriminator's
    predictions, and ``seed_generator``, the seeded source of every random draw.

    ``loss(labels, predictions)`` is the mean loss of the discriminator's ``predictions``
    against ``labels`` (1 real, 0 fake); ``probability(predictions)`` gives the probabilities
    of "real" they stand for, which the accuracy thresholds at 0.5, and ``logit`` their
    logits, which R1 differentiates. All depend on the discriminator's last layer, a sigmoid
    or a logit (``models.DiscriminatorOutput``).
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *,
                 loss: Callable[[tf.Tensor, tf.Tensor], tf.Tensor],
                 probability: Callable[[tf.Tensor], tf.Tensor],
                 logit: Callable[[tf.Tensor], tf.Tensor],
                 d_optimizer: keras.optimizers.Optimizer,
                 g_optimizer: keras.optimizers.Optimizer, z_dim: int, seed: int,
                 fused_generator_pass: bool = False, average: GeneratorAverage | None = None,
                 label_smoothing: float = 0.0, top_k: float = 1.0, r1_gamma: float = 0.0,
                 r1_interval: int = 1):
        self.generator = generator
        self.discriminator = discriminator
        self.loss = loss
        self.probability = probability
        self.logit = logit
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.z_dim = z_dim
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.fused_generator_pass = fused_generator_pass
        self.real_target = 1.0 - label_smoothing
        self.top_k = top_k
        self.r1_weight = r1_gamma / 2 * r1_interval
        self.r1_interval = r1_interval if r1_gamma else 0  # 0: no iteration carries R1
        # Build the optimizer slots now: variables cannot be created inside the compiled step.
        d_optimizer.build(discriminator.trainable_variables)
        g_optimizer.build(generator.trainable_variables)
        # The moving average of the generator, the generator a run with train.ema > 0 hands
        # out; none with ema 0 (the book's).
        self.average = average

    @property
    def averaged_generator(self) -> keras.Model | None:
        return None if self.average is None else self.average.model

    @property
    def output_generator(self) -> keras.Model:
        """The generator that is sampled, measured and saved: the average, with its standing
        batch-norm statistics, if there is one."""
        if self.average is None:
            return self.generator
        return self.average.with_standing_statistics(int(self.g_optimizer.iterations.numpy()))

    @staticmethod
    def _loss_to_differentiate(optimizer, loss):
        """Gradients are summed over replicas, so each replica's mean loss is divided by their
        number; ``scale_loss`` applies mixed_float16's loss scale (a no-op otherwise)."""
        return optimizer.scale_loss(loss / tf.distribute.get_strategy().num_replicas_in_sync)

    def _update(self, optimizer, tape: tf.GradientTape, scaled_loss, net: keras.Model) -> None:
        variables = net.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(scaled_loss, variables), variables))

    def _discriminator_update(self, images, label: float, regularize: bool = False):
        """One update on ``images``, all labelled ``label``; with ``regularize`` (real
        images), the R1 penalty joins the loss that is differentiated, not the one logged."""
        labels = tf.fill((tf.shape(images)[0], 1), label)
        with tf.GradientTape() as tape:
            if regularize:
                predictions, penalty = self._r1_penalty(images)
            else:
                predictions = self.discriminator(images, training=True)
            loss = self.loss(labels * self.real_target, predictions)
            objective = loss + self.r1_weight * penalty if regularize else loss
            scaled = self._loss_to_differentiate(self.d_optimizer, objective)
        self._update(self.d_optimizer, tape, scaled, self.discriminator)
        probabilities = self.probability(predictions)
        accuracy = tf.reduce_mean(keras.metrics.binary_accuracy(labels, probabilities))
        return loss, accuracy

    def _r1_penalty(self, images):
        """The discriminator's predictions on ``images``, and E‖∇x logit D(x)‖² there."""
        with tf.GradientTape() as tape:
            tape.watch(images)
            predictions = self.discriminator(images, training=True)
            logits = tf.reduce_sum(tf.cast(self.logit(predictions), tf.float32))
        gradients = tf.cast(tape.gradient(logits, images), tf.float32)
        return predictions, tf.reduce_mean(tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3]))

    def _generator_loss(self, generated):
        """The discriminator's loss on ``generated`` labelled real: what the generator
        minimises. With ``top_k`` < 1, on the fakes the discriminator rates most real only
        (the discriminator still sees the whole batch, its batch norm included)."""
        predictions = self.discriminator(generated, training=True)
        if self.top_k < 1.0:
            batch = tf.cast(tf.shape(predictions)[0], tf.float32)
            k = tf.cast(tf.math.ceil(self.top_k * batch), tf.int32)
            scores = tf.reshape(self.probability(predictions), [-1])
            predictions = tf.gather(predictions, tf.math.top_k(scores, k).indices)
        labels = tf.ones((tf.shape(predictions)[0], 1))
        return self.loss(labels, predictions)

    def replica_step(self, real_images, noise_fake, noise_gen, regularize: bool = False):
        """One replica's share of the iteration: its real images, its noise for the fakes the
        discriminator sees, and its noise for the generator's update."""
        if self.fused_generator_pass:
            return self._fused_replica_step(real_images, noise_gen, regularize)
        fake_images = self.generator(noise_fake, training=False)  # the book's `predict`
        # The discriminator's updates touch no generator state: the first one may run while
        # the fakes are made.
        d_real = self._discriminator_update(real_images, 1.0, regularize)
        with tf.control_dependencies(d_real):
            d_fake = self._discriminator_update(fake_images, 0.0)
        with tf.GradientTape() as tape:
            # The training pass moves the generator's batch-norm statistics: not before the
            # fakes are made. It needs no discriminator, so it may overlap the updates above.
            with tf.control_dependencies([fake_images]):
                generated = self.generator(noise_gen, training=True)
            with tf.control_dependencies(d_fake):
                g_loss = self._generator_loss(generated)
                scaled = self._loss_to_differentiate(self.g_optimizer, g_loss)
        self._update(self.g_optimizer, tape, scaled, self.generator)
        return self._logs(d_real, d_fake, g_loss)

    def _fused_replica_step(self, real_images, noise_gen, regularize: bool):
        """The fakes for the discriminator are the generator step's own training-mode output,
        computed once: there is no second generator pass to order."""
        with tf.GradientTape() as tape:
            generated = self.generator(noise_gen, training=True)
            with tape.stop_recording():
                d_real = self._discriminator_update(real_images, 1.0, regularize)
                with tf.control_dependencies(d_real):
                    d_fake = self._discriminator_update(tf.stop_gradient(generated), 0.0)
            with tf.control_dependencies(d_fake):
                g_loss = self._generator_loss(generated)
                scaled = self._loss_to_differentiate(self.g_optimizer, g_loss)
        self._update(self.g_optimizer, tape, scaled, self.generator)
        return self._logs(d_real, d_fake, g_loss)

    @staticmethod
    def _logs(d_real, d_fake, g_loss) -> dict:
        (d_loss_real, d_acc_real), (d_loss_fake, d_acc_fake) = d_real, d_fake
        return {
            "d_loss": 0.5 * (d_loss_real + d_loss_fake),
            "d_acc": 0.5 * (d_acc_real + d_acc_fake),
            "g_loss": g_loss,
        }

    def train_iteration(self, images, batch_size: int, regularize: bool = False):
        """One iteration of the book's loop: draw the global batch's randomness, split it, step, reduce.

        ``images`` holds the whole training set; ``batch_size`` is per replica;
        ``regularize``: this iteration's real-image update carries the R1 penalty.
        """
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

    def update_average(self, global_batch: int) -> None:
        """The average's step after an iteration. Its own call, after the iteration's: inside
        the step it raced the generator's update (two side-by-side runs differed)."""
        before = tf.cast(self.g_optimizer.iterations - 1, tf.float32) * global_batch
        self.average.update(before, global_batch)

    def compiled_iteration(self, batch_size: int, jit_compile: bool, regularize: bool = False):
        """``train_iteration`` as one graph (optionally XLA-compiled) for a fixed batch size,
        with or without the R1 penalty."""
        return tf.function(lambda images: self.train_iteration(images, batch_size, regularize),
                           jit_compile=jit_compile)

    def compiled_training(self, batch_size: int, jit_compile: bool
                          ) -> Callable[[int, tf.Tensor], dict]:
        """Iteration ``n``'s work, ``run(n, images)`` → its logs: the compiled iteration, with
        R1 (lazy: its own graph) on every ``r1_interval``-th, then the average's update. The
        training loop and benchmarks/train_throughput.py both run this, so the benchmark
        times what training does. Called in the strategy's scope, whose global batch the
        average counts."""
        step = self.compiled_iteration(batch_size, jit_compile)
        regularized = (self.compiled_iteration(batch_size, jit_compile, regularize=True)
                       if self.r1_interval else None)
        average = None
        if self.average is not None:
            global_batch = batch_size * tf.distribute.get_strategy().num_replicas_in_sync
            average = tf.function(lambda: self.update_average(global_batch))

        def run(iteration: int, images: tf.Tensor) -> dict:
            lazy = regularized is not None and iteration % self.r1_interval == 0
            logs = (regularized if lazy else step)(images)
            if average is not None:
                average()
            return logs
        return run
