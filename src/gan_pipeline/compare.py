"""Every reference GAN with the same budget, side by side with the real images (as reference
000's figure sets them)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np

from gan_pipeline.config import Params
from gan_pipeline.evaluation.evaluate import evaluate
from gan_pipeline.noise import noise
from gan_pipeline.training import train


@dataclass(frozen=True)
class Contender:
    arch: str
    train_seconds: float
    metrics: dict
    samples: np.ndarray  # one row of images from the shared seeded noise


def compare(params: Params, archs: Sequence[str], iterations: int, train_images: np.ndarray,
            test_images: np.ndarray, classifier: keras.Model, per_row: int = 8,
            log: Callable[[str], None] = print) -> list[Contender]:
    """Train each architecture for ``iterations`` (its reference's learning rate, everything else
    from ``params``), then evaluate it and draw ``per_row`` samples from the same noise."""
    contenders = []
    for arch in archs:
        model_cfg = params.model.model_copy(update={"arch": arch})
        adam = params.train.adam.model_copy(
            update={"learning_rate": params.compare.learning_rate[arch]})
        train_cfg = params.train.model_copy(
            update={"iterations": iterations, "adam": adam, "sample_interval": iterations})
        log(f"compare: training {arch} for {iterations} iterations")
        start = time.perf_counter()
        generator = train(model_cfg, train_cfg, train_images).generator
        seconds = time.perf_counter() - start
        metrics = evaluate(generator, classifier, test_images, train_images, params.evaluate,
                           log=log)
        z = noise(params.sample.seed, per_row, model_cfg.z_dim)
        contenders.append(Contender(arch, seconds, metrics,
                                    generator(z, training=False).numpy()))
    return contenders


def table(contenders: Sequence[Contender], iterations: int, batch_size: int, dataset: str
          ) -> str:
    """compare.md: the quality metrics and training time of each model on ``dataset``."""
    ref = contenders[0].metrics
    lines = [f"Same budget for each: {iterations} iterations at batch {batch_size}; metrics "
             f"on {ref['samples']} samples against the {dataset} test set.", "",
             "| model | fid | classifier_score | coverage | train wall time |",
             "| --- | --- | --- | --- | --- |"]
    for c in contenders:
        m = c.metrics["quality"]
        lines.append(f"| {c.arch} | {m['fid']:.2f} | {m['classifier_score']:.2f} | "
                     f"{m['coverage']:.3f} | {c.train_seconds:.0f} s |")
    real = ref["real"]
    lines.append(f"| real {dataset} (train vs test) | {real['fid']:.2f} | "
                 f"{real['classifier_score']:.2f} | {real['coverage']:.3f} | |")
    return "\n".join(lines) + "\n"
