"""``train(model_cfg, train_cfg, runtime_cfg, images, ...)``: the book's training loop, free
of file I/O and tracking.

What happens at each sample interval (history rows, progress grids, MLflow metrics) and at
each evaluation interval (quality rows) is the caller's business, through the ``on_sample``
and ``on_quality`` callbacks.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from gan_pipeline.config.model import ModelConfig
from gan_pipeline.config.train import TrainConfig, TrainRuntimeConfig
from gan_pipeline.errors import InputError
from gan_pipeline.formats.digests import array_sha256
from gan_pipeline.formats.history import HistoryRow
from gan_pipeline.formats.quality_rows import QualityRow
from gan_pipeline.training.average import GeneratorAverage
from gan_pipeline.training.checkpoints import Checkpoints, Progress, clear, fingerprint
from gan_pipeline.training.gan import GAN, NON_FINITE
from gan_pipeline.training.models import NETS, ImageShape, build_discriminator, build_generator
from gan_pipeline.training.noise import noise
from gan_pipeline.training.runtime import configure_runtime, is_chief
from gan_pipeline.training.schedules import LinearCooldown
from gan_pipeline.training.state_digests import StateDigest, training_state_sha256


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; a checkpoint of the last finished iteration was saved."""

    def __init__(self, signum: int, iteration: int):
        super().__init__(f"{signal.Signals(signum).name} at iteration {iteration}")
        self.signum, self.iteration = signum, iteration


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or inf; training stopped at once."""


@contextlib.contextmanager
def _signals_recorded() -> Iterator[list[int]]:
    """Turn SIGINT/SIGTERM into a request the loop honours between two iterations."""
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _frame: received.append(signum))
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@dataclass(frozen=True)
class TrainResult:
    generator: keras.Model  # the moving average with train.ema
    discriminator: keras.Model


# (the history row, the fixed-noise grid's images, the training state's digest)
OnSample = Callable[[HistoryRow, np.ndarray, StateDigest], None]
# The generator as it stands -> (fid, classifier_score): gan_pipeline.evaluation.probe.
# train() makes it (MakeProbe) once the runtime is configured, which must come first.
Probe = Callable[[keras.Model], tuple[float, float]]
MakeProbe = Callable[[], Probe]
OnQuality = Callable[[QualityRow], None]


def adam(cfg: TrainConfig, learning_rate: float, updates_per_iteration: int
         ) -> keras.optimizers.Optimizer:
    a = cfg.adam
    if cfg.lr_cooldown:
        learning_rate = LinearCooldown(learning_rate, cfg.iterations, cfg.lr_cooldown,
                                       updates_per_iteration)
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=a.beta_1,
                                      beta_2=a.beta_2, epsilon=a.epsilon)
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)  # float16 gradients underflow
    return optimizer


def build_gan(model_cfg: ModelConfig, train_cfg: TrainConfig, image_shape: ImageShape
              ) -> GAN:
    """The two nets (for ``image_shape`` images) and their optimizers, in the current
    strategy's scope."""
    # Seeds Python, NumPy and the Keras/TF global generators, hence the initial weights.
    keras.utils.set_random_seed(train_cfg.seed)
    replicated = tf.distribute.get_strategy().num_replicas_in_sync > 1
    output = NETS[model_cfg.arch].discriminator_output
    lr = train_cfg.adam.learning_rate
    d_lr = train_cfg.adam.discriminator_learning_rate or lr
    generator = build_generator(model_cfg, image_shape, synchronized_bn=replicated)
    discriminator = build_discriminator(model_cfg, image_shape, synchronized_bn=replicated,
                                        spectral_norm=train_cfg.spectral_norm)
    average = None
    if train_cfg.ema > 0:
        average = GeneratorAverage(generator, train_cfg.ema, train_cfg.ema_rampup,
                                   model_cfg.z_dim)
    return GAN(generator, discriminator,
               loss=output.loss, probability=output.probability, logit=output.logit,
               d_optimizer=adam(train_cfg, d_lr, 2), g_optimizer=adam(train_cfg, lr, 1),
               z_dim=model_cfg.z_dim, seed=train_cfg.seed, average=average,
               label_smoothing=train_cfg.label_smoothing,
               fused_generator_pass=train_cfg.fused_generator_pass, top_k=train_cfg.top_k,
               r1_gamma=train_cfg.r1_gamma, r1_interval=train_cfg.r1_interval)


def train(model_cfg: ModelConfig, train_cfg: TrainConfig, runtime_cfg: TrainRuntimeConfig,
          images: np.ndarray, on_sample: OnSample | None = None,
          checkpoint_dir: str | Path | None = None,
          images_digest: str | None = None, make_probe: MakeProbe | None = None,
          on_quality: OnQuality | None = None) -> TrainResult:
    """Train for ``train_cfg.iterations`` iterations on ``images`` (N×H×W×C in [-1, 1]), or
    until ``train_cfg.max_minutes`` of training time are spent, if that comes first.

    Every ``sample_interval`` iterations the chief prints the book's log line and calls
    ``on_sample(point, grid_images, digest)`` with the generator's output for a fixed noise
    batch and the digest of the whole training state (``state_digests``).

    With a ``checkpoint_dir``, the state is saved there every ``runtime_cfg.checkpoint_interval``
    iterations and when SIGINT/SIGTERM arrives (then :class:`TrainingInterrupted` is
    raised), and a run resumes from the latest checkpoint, replaying ``on_sample`` for the
    points before it (``images_digest``, the images' :func:`array_sha256`, is computed when
    not given). A NaN or inf loss raises :class:`NonFiniteLossError` at once.

    With ``make_probe`` and ``train_cfg.eval_interval``, every eval_interval iterations the
    chief measures the generator and calls ``on_quality(row)`` (replayed on resume too). The
    probe only reads the generator, so the weights are the same with or without it. A run
    whose last iteration is off the interval (a spent budget) is measured there too.
    """
    strategy = configure_runtime(runtime_cfg)
    global_batch = train_cfg.batch_size * strategy.num_replicas_in_sync
    if len(images) < global_batch:
        raise InputError(f"the global batch ({train_cfg.batch_size} per replica × "
                         f"{strategy.num_replicas_in_sync} replicas) is larger than the "
                         f"{len(images)} training images")
    chief = is_chief(runtime_cfg)
    policy = keras.mixed_precision.global_policy().name
    print(f"train: {type(strategy).__name__}, {strategy.num_replicas_in_sync} replica(s), "
          f"global batch {global_batch}, precision {policy}, "
          f"{'chief' if chief else 'worker (no outputs)'}", flush=True)
    with strategy.scope():  # which compiled_training reads for the global batch
        gan = build_gan(model_cfg, train_cfg, images.shape[1:])
        run_iteration = gan.compiled_training(train_cfg.batch_size, runtime_cfg.jit_compile)
    grid = train_cfg.progress_grid
    fixed_noise = noise(train_cfg.seed, grid.rows * grid.cols, model_cfg.z_dim)
    data = tf.convert_to_tensor(images)
    progress = Progress(history=[], grids=[], digests=[], quality=[], seconds=0.0)
    start = 0
    checkpoints = None
    if checkpoint_dir is not None:
        if not runtime_cfg.resume:
            clear(checkpoint_dir)
        digest = images_digest or array_sha256(images)
        checkpoints = Checkpoints(checkpoint_dir, gan,
                                  fingerprint(model_cfg, train_cfg, runtime_cfg, digest))
        restored = checkpoints.restore()
        if restored is not None:
            start, progress = restored.iteration, restored.progress
            print(f"train: resuming from the checkpoint of iteration {start} in "
                  f"{checkpoint_dir}", flush=True)
            for point, grid_images, digest in zip(progress.history, progress.grids,
                                                  progress.digests):
                if on_sample is not None:
                    on_sample(point, grid_images, digest)
            for row in progress.quality:
                if on_quality is not None:
                    on_quality(row)
    history, grids, digests = progress.history, progress.grids, progress.digests
    quality = progress.quality
    probe = None
    if make_probe is not None and train_cfg.eval_interval is not None and chief:
        probe = make_probe()
    last_saved = start
    budget = None if train_cfg.max_minutes is None else 60 * train_cfg.max_minutes

    def measure(iteration: int, seconds: float, since: float) -> tuple[float, float]:
        """Measure the generator; returns (seconds, since) with the measuring left out."""
        seconds += time.perf_counter() - since
        row = QualityRow(iteration, seconds, *probe(gan.output_generator))
        quality.append(row)
        bar.write(row.log_line())
        if on_quality is not None:
            on_quality(row)
        return seconds, time.perf_counter()

    seconds, since = progress.seconds, time.perf_counter()
    iteration = start
    # Under DVC or CI the bar goes to a log, not a terminal: update it less often there.
    # A budgeted run's end is not known in iterations: its bar counts without a total.
    with _signals_recorded() as signals, tqdm(
            total=train_cfg.iterations if budget is None else None, initial=start,
            unit="it", desc="train", dynamic_ncols=True,
            mininterval=1.0 if sys.stderr.isatty() else 30.0, disable=not chief) as bar:
        for iteration in range(start + 1, train_cfg.iterations + 1):
            try:
                logs = run_iteration(iteration, data)
            except tf.errors.InvalidArgumentError as err:
                if NON_FINITE not in str(err):
                    raise
                kept = "" if checkpoints is None else (
                    f" (last good checkpoint: iteration {last_saved})")
                raise NonFiniteLossError(f"a loss became NaN or inf at iteration {iteration}; "
                                         f"training stopped{kept}") from None
            bar.update()
            if iteration % train_cfg.sample_interval == 0:
                point = HistoryRow(iteration, *(float(logs[k]) for k in
                                                 ("d_loss", "d_acc", "g_loss")))
                grid_images = gan.output_generator(fixed_noise, training=False).numpy()
                digest = StateDigest(iteration, training_state_sha256(gan))
                history.append(point)
                grids.append(grid_images)
                digests.append(digest)
                if chief:
                    bar.write(point.log_line())
                    if on_sample is not None:
                        on_sample(point, grid_images, digest)
            if probe is not None and iteration % train_cfg.eval_interval == 0:
                seconds, since = measure(iteration, seconds, since)
            spent = budget is not None and seconds + time.perf_counter() - since >= budget
            if checkpoints is not None and (
                    iteration % runtime_cfg.checkpoint_interval == 0 or signals):
                checkpoints.save(iteration, Progress(history, grids, digests, quality,
                                                     seconds + time.perf_counter() - since))
                last_saved = iteration
            if signals:
                raise TrainingInterrupted(signals[0], iteration)
            if spent:
                bar.write(f"train: stopped at iteration {iteration}: the "
                          f"{train_cfg.max_minutes:g}-minute budget (train.max_minutes) is "
                          "spent")
                break
        if probe is not None and iteration % train_cfg.eval_interval:
            measure(iteration, seconds, since)  # a budgeted run ends measured too
    return TrainResult(gan.output_generator, gan.discriminator)
