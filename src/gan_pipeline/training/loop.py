"""``train(model_cfg, train_cfg, runtime_cfg, images, ...)``: the book's training loop, free
of file I/O and tracking.

The run's record (history, progress grids, state digests, quality rows, training time) has
one owner, this loop: it checkpoints it, and hands it to the caller's ``on_sample`` and
``on_quality`` callbacks, from which the train stage writes its files.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
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
from gan_pipeline.training.checkpoints import Checkpoints, Record, clear, fingerprint
from gan_pipeline.training.gan import GAN, NON_FINITE
from gan_pipeline.training.models import NETS, ImageShape, build_discriminator, build_generator
from gan_pipeline.training.noise import noise
from gan_pipeline.training.runtime import configure_runtime, is_chief
from gan_pipeline.training.state_digests import StateDigest, training_state_sha256


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; a checkpoint of the last finished iteration was saved."""

    def __init__(self, signum: int, iteration: int):
        super().__init__(f"{signal.Signals(signum).name} at iteration {iteration}")
        self.signum, self.iteration = signum, iteration


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or inf; training stopped at once."""


@dataclass(frozen=True)
class TrainResult:
    generator: keras.Model
    discriminator: keras.Model
    record: Record


# The generator as it stands -> (fid, classifier_score): gan_pipeline.evaluation.probe.
# train() makes it (MakeProbe) once the runtime is configured, which must come first.
Probe = Callable[[keras.Model], tuple[float, float]]
MakeProbe = Callable[[], Probe]
OnRecord = Callable[[Record], None]


def adam(cfg: TrainConfig, learning_rate: float) -> keras.optimizers.Optimizer:
    a = cfg.adam
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=a.beta_1,
                                      beta_2=a.beta_2, epsilon=a.epsilon)
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)  # float16 gradients underflow
    return optimizer


def build_gan(model_cfg: ModelConfig, train_cfg: TrainConfig, image_shape: ImageShape
              ) -> GAN:
    """The two nets (for ``image_shape`` images) and their optimizers, in the current
    strategy's scope; the discriminator's learning rate is the generator's unless set."""
    # Seeds Python, NumPy and the Keras/TF global generators, hence the initial weights.
    keras.utils.set_random_seed(train_cfg.seed)
    replicated = tf.distribute.get_strategy().num_replicas_in_sync > 1
    lr = train_cfg.adam.learning_rate
    generator = build_generator(model_cfg, image_shape, synchronized_bn=replicated)
    discriminator = build_discriminator(model_cfg, image_shape, synchronized_bn=replicated)
    return GAN(generator, discriminator, output=NETS[model_cfg.arch].discriminator_output,
               d_optimizer=adam(train_cfg, train_cfg.adam.discriminator_learning_rate or lr),
               g_optimizer=adam(train_cfg, lr), z_dim=model_cfg.z_dim, seed=train_cfg.seed,
               label_smoothing=train_cfg.label_smoothing, r1_gamma=train_cfg.r1_gamma,
               r1_interval=train_cfg.r1_interval,
               fused_generator_pass=train_cfg.fused_generator_pass)


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


class TrainingClock:
    """The run's training time, resumed from the record; measuring quality is left out, so
    that a budget buys the same training with or without it."""

    def __init__(self, seconds: float):
        self._before, self._since = seconds, time.perf_counter()

    def seconds(self) -> float:
        return self._before + time.perf_counter() - self._since

    @contextlib.contextmanager
    def stopped(self) -> Iterator[float]:
        """The time so far, with the clock stopped until the block ends."""
        self._before = self.seconds()
        yield self._before
        self._since = time.perf_counter()


def _set_up(model_cfg: ModelConfig, train_cfg: TrainConfig, runtime_cfg: TrainRuntimeConfig,
            images: np.ndarray, chief: bool) -> tuple[GAN, Callable[[int, tf.Tensor], dict]]:
    """The runtime (which comes before any other TensorFlow work), then the GAN and its
    compiled iteration in the strategy's scope."""
    strategy = configure_runtime(runtime_cfg)
    global_batch = train_cfg.batch_size * strategy.num_replicas_in_sync
    if len(images) < global_batch:
        raise InputError(f"the global batch ({train_cfg.batch_size} per replica × "
                         f"{strategy.num_replicas_in_sync} replicas) is larger than the "
                         f"{len(images)} training images")
    print(f"train: {type(strategy).__name__}, {strategy.num_replicas_in_sync} replica(s), "
          f"global batch {global_batch}, precision "
          f"{keras.mixed_precision.global_policy().name}, "
          f"{'chief' if chief else 'worker (no outputs)'}", flush=True)
    with strategy.scope():
        gan = build_gan(model_cfg, train_cfg, images.shape[1:])
        return gan, gan.compiled_training(train_cfg.batch_size, runtime_cfg.jit_compile)


def _resume(checkpoints: Checkpoints | None, on_sample: OnRecord | None,
            on_quality: OnRecord | None) -> tuple[int, Record]:
    """The iteration to start after and the record so far: the latest checkpoint's, handed
    to the callbacks again (their files are rewritten from it), or nothing."""
    restored = None if checkpoints is None else checkpoints.restore()
    if restored is None:
        return 0, Record([], [], [], [], 0.0)
    print(f"train: resuming from the checkpoint of iteration {restored.iteration} in "
          f"{checkpoints.directory}", flush=True)
    for callback, rows in ((on_sample, restored.record.history),
                           (on_quality, restored.record.quality)):
        if callback is not None and rows:
            callback(restored.record)
    return restored.iteration, restored.record


def _sample(record: Record, gan: GAN, iteration: int, logs: dict, fixed_noise) -> None:
    """Record the iteration's losses, the fixed-noise grid and the training state's digest."""
    record.history.append(HistoryRow(iteration, *(float(logs[k]) for k in
                                                   ("d_loss", "d_acc", "g_loss"))))
    record.grids.append(gan.generator(fixed_noise, training=False).numpy())
    record.digests.append(StateDigest(iteration, training_state_sha256(gan)))


def _progress_bar(total: int | None, start: int, chief: bool) -> tqdm:
    # Under DVC or CI the bar goes to a log, not a terminal: update it less often there.
    # A budgeted run's end is not known in iterations: its bar counts without a total.
    return tqdm(total=total, initial=start, unit="it", desc="train", dynamic_ncols=True,
                mininterval=1.0 if sys.stderr.isatty() else 30.0, disable=not chief)


def train(model_cfg: ModelConfig, train_cfg: TrainConfig, runtime_cfg: TrainRuntimeConfig,
          images: np.ndarray, on_sample: OnRecord | None = None,
          checkpoint_dir: str | Path | None = None, images_digest: str | None = None,
          make_probe: MakeProbe | None = None, on_quality: OnRecord | None = None
          ) -> TrainResult:
    """Train for ``train_cfg.iterations`` iterations on ``images`` (N×H×W×C in [-1, 1]), or
    until ``train_cfg.max_minutes`` of training time are spent, if that comes first.

    Every ``sample_interval`` iterations the chief prints the book's log line, records the
    history row, the generator's output for a fixed noise batch and the digest of the whole
    training state (``state_digests``), and calls ``on_sample(record)``. With
    ``make_probe`` and ``train_cfg.eval_interval``, every eval_interval iterations (and at a
    budgeted run's last) it measures the generator, which the probe only reads, and calls
    ``on_quality(record)``.

    With a ``checkpoint_dir``, the state is saved there every
    ``runtime_cfg.checkpoint_interval`` iterations and when SIGINT/SIGTERM arrives (then
    :class:`TrainingInterrupted` is raised), and a run resumes from the latest checkpoint
    of the same params and images (``images_digest``, computed when not given). A NaN or
    inf loss raises :class:`NonFiniteLossError` at once.
    """
    chief = is_chief(runtime_cfg)
    gan, run_iteration = _set_up(model_cfg, train_cfg, runtime_cfg, images, chief)
    checkpoints = None
    if checkpoint_dir is not None:
        if not runtime_cfg.resume:
            clear(checkpoint_dir)
        checkpoints = Checkpoints(checkpoint_dir, gan, fingerprint(
            model_cfg, train_cfg, runtime_cfg, images_digest or array_sha256(images)))
    start, record = _resume(checkpoints, on_sample, on_quality)
    probe = make_probe() if (make_probe is not None and chief
                             and train_cfg.eval_interval is not None) else None
    grid = train_cfg.progress_grid
    fixed_noise = noise(train_cfg.seed, grid.rows * grid.cols, model_cfg.z_dim)
    data = tf.convert_to_tensor(images)
    clock = TrainingClock(record.seconds)
    budget = None if train_cfg.max_minutes is None else 60 * train_cfg.max_minutes
    last_saved = iteration = start

    def measure(bar: tqdm) -> None:
        with clock.stopped() as seconds:
            record.quality.append(QualityRow(iteration, seconds, *probe(gan.generator)))
        bar.write(record.quality[-1].log_line())
        if on_quality is not None:
            on_quality(record)

    with _signals_recorded() as signals, _progress_bar(
            train_cfg.iterations if budget is None else None, start, chief) as bar:
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
                _sample(record, gan, iteration, logs, fixed_noise)
                if chief:
                    bar.write(record.history[-1].log_line())
                    if on_sample is not None:
                        on_sample(record)
            if probe is not None and iteration % train_cfg.eval_interval == 0:
                measure(bar)
            spent = budget is not None and clock.seconds() >= budget
            if checkpoints is not None and (
                    iteration % runtime_cfg.checkpoint_interval == 0 or signals):
                checkpoints.save(iteration, replace(record, seconds=clock.seconds()))
                last_saved = iteration
            if signals:
                raise TrainingInterrupted(signals[0], iteration)
            if spent:
                bar.write(f"train: stopped at iteration {iteration}: the "
                          f"{train_cfg.max_minutes:g}-minute budget (train.max_minutes) is "
                          "spent")
                break
        if probe is not None and iteration % train_cfg.eval_interval:
            measure(bar)  # a budgeted run ends measured too
    return TrainResult(gan.generator, gan.discriminator, replace(record, seconds=clock.seconds()))
