"""Training checkpoints that let an interrupted run finish with the same bytes as an
uninterrupted one.

A checkpoint (``tf.train.CheckpointManager``) holds both nets (and the generator's moving
average, with ``train.ema``), both optimizers' state, the seed generator's state (batch order
and noise), the iteration, and what the run recorded so far: the history with its progress
grids, the quality rows and the training time. It also holds a fingerprint of everything
that shapes the training trajectory (params and data); a checkpoint with another fingerprint
is refused before anything is loaded.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from gan_pipeline.config.model import ModelConfig
from gan_pipeline.config.train import TrainConfig, TrainRuntimeConfig, trajectory_params
from gan_pipeline.errors import InputError
from gan_pipeline.formats.digests import json_sha256
from gan_pipeline.formats.history import HistoryRow
from gan_pipeline.formats.quality_rows import QualityRow
from gan_pipeline.training.gan import GAN
from gan_pipeline.training.state_digests import StateDigest

# Train params that do not change what a given iteration computes: a run can be resumed
# with a longer `iterations`, with checkpoints kept at another interval, or measured at
# another (or no) eval_interval (the rows before the resume keep theirs).
_TRAJECTORY_NEUTRAL = {"iterations", "max_minutes", "checkpoint_interval", "resume",
                       "eval_interval", "eval_samples"}


# Raised when what a checkpoint holds changes: an older checkpoint is then refused, not
# misread (2: the state digests joined the recorded progress).
CHECKPOINT_FORMAT = 2


class CheckpointMismatchError(InputError):
    """The checkpoint folder holds a checkpoint of another configuration or data."""


def fingerprint(model_cfg: ModelConfig, train_cfg: TrainConfig,
                runtime_cfg: TrainRuntimeConfig, images_digest: str) -> str:
    # One mapping of both, as when they were one section: earlier checkpoints still match.
    train = trajectory_params({**train_cfg.model_dump(), **runtime_cfg.model_dump()},
                              _TRAJECTORY_NEUTRAL)
    return json_sha256({"model": model_cfg.model_dump(), "train": train, "data": images_digest,
                        "format": CHECKPOINT_FORMAT})


@dataclass(frozen=True)
class Progress:
    """What a run has recorded so far, besides the nets and optimizers."""

    history: list[HistoryRow]
    grids: list[np.ndarray]
    digests: list[StateDigest]
    quality: list[QualityRow]
    seconds: float  # training wall time so far


@dataclass(frozen=True)
class Restored:
    iteration: int
    progress: Progress


def _pack(progress: Progress) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, points=np.array([astuple(p) for p in progress.history],
                                  dtype=np.float64).reshape(-1, 4),
             grids=np.array(progress.grids, dtype=np.float32),
             digest_iterations=np.array([d.iteration for d in progress.digests], np.int64),
             digests=np.array([d.state_sha256 for d in progress.digests], dtype="S64"),
             quality=np.array([astuple(q) for q in progress.quality],
                              dtype=np.float64).reshape(-1, 4),
             seconds=np.float64(progress.seconds))
    return buf.getvalue()


def _unpack(data: bytes) -> Progress:
    with np.load(io.BytesIO(data)) as npz:
        history = [HistoryRow(int(row[0]), *map(float, row[1:])) for row in npz["points"]]
        quality = [QualityRow(int(row[0]), *map(float, row[1:])) for row in npz["quality"]]
        digests = [StateDigest(int(i), d.decode()) for i, d in
                   zip(npz["digest_iterations"], npz["digests"])]
        return Progress(history, list(npz["grids"]), digests, quality, float(npz["seconds"]))


class Checkpoints:
    """Save and restore the training state of ``gan`` in ``directory``."""

    def __init__(self, directory: str | Path, gan: GAN, fingerprint: str):
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self._iteration = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._history = tf.Variable(b"", dtype=tf.string, trainable=False)
        self._fingerprint = tf.Variable(fingerprint, dtype=tf.string, trainable=False)
        averaged = {} if gan.averaged_generator is None else {
            "averaged_generator": gan.averaged_generator}
        self._checkpoint = tf.train.Checkpoint(
            **averaged, generator=gan.generator, discriminator=gan.discriminator,
            d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer,
            seed_state=gan.seed_generator.state.value, iteration=self._iteration,
            history=self._history, fingerprint=self._fingerprint)
        self._manager = tf.train.CheckpointManager(self._checkpoint, str(self.directory),
                                                   max_to_keep=2)

    def restore(self) -> Restored | None:
        """The latest checkpoint's state, loaded into the nets; None when there is none."""
        path = self._manager.latest_checkpoint
        if path is None:
            return None
        stored = tf.train.load_checkpoint(path).get_tensor(
            "fingerprint/.ATTRIBUTES/VARIABLE_VALUE").decode()
        if stored != self.fingerprint:
            raise CheckpointMismatchError(
                f"{self.directory}: the checkpoint there was made with other params or data "
                f"(fingerprint {stored[:12]}…, now {self.fingerprint[:12]}…); it is not "
                f"loaded. Set runtime.train.resume: false to start fresh.")
        self._checkpoint.restore(path).assert_existing_objects_matched()
        return Restored(int(self._iteration.numpy()), _unpack(self._history.numpy()))

    def save(self, iteration: int, progress: Progress) -> None:
        self._iteration.assign(iteration)
        self._history.assign(_pack(progress))
        self._manager.save(checkpoint_number=iteration)


def clear(directory: str | Path) -> None:
    """Remove every checkpoint in ``directory`` (after a finished run, or to start fresh)."""
    shutil.rmtree(directory, ignore_errors=True)
    Path(directory).mkdir(parents=True, exist_ok=True)
