"""The CycleGAN's training loop: iterations until the budget (train.max_minutes) or the cap
(train.iterations), a history row and a progress line every log_interval iterations."""

from __future__ import annotations

import math
import time
from dataclasses import astuple, dataclass

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from gan_pipeline.config.translate import NetsConfig, TranslateTrainConfig
from gan_pipeline.formats.loss_rows import LossRow
from gan_pipeline.translation.cyclegan import CycleGAN


@dataclass(frozen=True)
class Trained:
    model: CycleGAN
    history: list[LossRow]  # a row per log_interval iterations
    iterations: int
    seconds: float  # training time, the first iteration's tracing included


def train(nets: NetsConfig, cfg: TranslateTrainConfig, a_train: np.ndarray,
          b_train: np.ndarray, jit_compile: bool = False) -> Trained:
    model = CycleGAN(nets, cfg, a_train.shape[1:])
    step = model.compiled(jit_compile)
    a, b = tf.constant(a_train), tf.constant(b_train)
    budget = math.inf if cfg.max_minutes is None else cfg.max_minutes * 60
    history, start, done = [], time.perf_counter(), 0
    # A budgeted run ends by the clock: its bar counts iterations without a total.
    total = cfg.iterations if cfg.max_minutes is None else None
    with tqdm(total=total, desc="translate: train", unit="it", mininterval=10) as bar:
        while done < cfg.iterations and time.perf_counter() - start < budget:
            logs = step(a, b)
            done += 1
            bar.update()
            if done % cfg.log_interval == 0 or done == cfg.iterations:
                row = LossRow(done, time.perf_counter() - start,
                              **{k: float(v) for k, v in logs.items()})
                if not all(math.isfinite(v) for v in astuple(row)):
                    raise FloatingPointError(f"non-finite loss at iteration {done}: {row}")
                history.append(row)
                bar.write(row.log_line())
    return Trained(model, history, done, time.perf_counter() - start)


