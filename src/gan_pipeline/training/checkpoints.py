"""Training checkpoints that let an interrupted run finish with the same bytes as an
uninterrupted one.

A checkpoint (``tf.train.CheckpointManager``) holds both nets, both optimizers' state, the
seed generator's state (batch order and noise), the iteration, and the run's ``Record``: the
history with its progress grids and state digests, the quality rows and the training time.
It also holds a fingerprint of the run's trajectory (``config.train.trajectory``) and data;
a checkpoint with another fingerprint is refused before anything is loaded.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from gan_pipeline.config.model import ModelConfig
from gan_pipeline.config.train import TrainConfig, TrainRuntimeConfig, trajectory
from gan_pipeline.errors import InputError
from gan_pipeline.formats.digests import json_sha256
from gan_pipeline.formats.history import HistoryRow
from gan_pipeline.formats.quality_rows import QualityRow
from gan_pipeline.training.gan import GAN
from gan_pipeline.training.state_digests import StateDigest

# What a checkpoint holds, numbered: a checkpoint of another format is refused, not misread.
CHECKPOINT_FORMAT = 3


class CheckpointMismatchError(InputError):
    """The checkpoint folder holds a checkpoint of another configuration or data."""


def fingerprint(model_cfg: ModelConfig, train_cfg: TrainConfig,
                runtime_cfg: TrainRuntimeConfig, images_digest: str) -> str:
    run = trajectory(model_cfg.model_dump(), {**train_cfg.model_dump(),
                                              **runtime_cfg.model_dump()})
    return json_sha256({**run, "data": images_digest, "format": CHECKPOINT_FORMAT})


@dataclass(frozen=True)
class Record:
    """What a run has recorded so far, besides the nets and optimizers (its lists grow as
    the run goes on)."""

    history: list[HistoryRow]
    grids: list[np.ndarray]
    digests: list[StateDigest]
    quality: list[QualityRow]
    seconds: float  # training wall time so far


@dataclass(frozen=True)
class Restored:
    iteration: int
    record: Record


def _pack(record: Record) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, points=np.array([astuple(p) for p in record.history],
                                  dtype=np.float64).reshape(-1, 4),
             grids=np.array(record.grids, dtype=np.float32),
             digest_iterations=np.array([d.iteration for d in record.digests], np.int64),
             digests=np.array([d.state_sha256 for d in record.digests], dtype="S64"),
             quality=np.array([astuple(q) for q in record.quality],
                              dtype=np.float64).reshape(-1, 4),
             seconds=np.float64(record.seconds))
    return buf.getvalue()


def _unpack(data: bytes) -> Record:
    with np.load(io.BytesIO(data)) as npz:
        history = [HistoryRow(int(row[0]), *map(float, row[1:])) for row in npz["points"]]
        quality = [QualityRow(int(row[0]), *map(float, row[1:])) for row in npz["quality"]]
        digests = [StateDigest(int(i), d.decode()) for i, d in
                   zip(npz["digest_iterations"], npz["digests"])]
        return Record(history, list(npz["grids"]), digests, quality, float(npz["seconds"]))


class Checkpoints:
    """Save and restore the training state of ``gan`` in ``directory``."""

    def __init__(self, directory: str | Path, gan: GAN, fingerprint: str):
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self._iteration = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._history = tf.Variable(b"", dtype=tf.string, trainable=False)
        self._fingerprint = tf.Variable(fingerprint, dtype=tf.string, trainable=False)
        self._checkpoint = tf.train.Checkpoint(
            generator=gan.generator, discriminator=gan.discriminator,
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

    def save(self, iteration: int, record: Record) -> None:
        self._iteration.assign(iteration)
        self._history.assign(_pack(record))
        self._manager.save(checkpoint_number=iteration)


def clear(directory: str | Path) -> None:
    """Remove every checkpoint in ``directory`` (after a finished run, or to start fresh)."""
    shutil.rmtree(directory, ignore_errors=True)
    Path(directory).mkdir(parents=True, exist_ok=True)
