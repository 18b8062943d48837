"""``evaluate(...)``: every quality metric of a generator against the dataset's test set."""

from __future__ import annotations

from typing import TYPE_CHECKING

import time
from collections.abc import Callable

import keras
import numpy as np
from tqdm import tqdm

from gan_pipeline.errors import InputError
from gan_pipeline.evaluation import metrics
from gan_pipeline.evaluation.classifier import features_and_probs
from gan_pipeline.training.noise import noise

if TYPE_CHECKING:  # the section's schema is no dependency of the stages that use this
    from gan_pipeline.config.evaluate import EvaluateConfig


def generate(generator: keras.Model, count: int, batch_size: int, seed: int
             ) -> tuple[np.ndarray, float]:
    """``count`` images from seeded noise, in batches: (images, images per second)."""
    z = noise(seed, count, generator.input_shape[-1])
    start = time.perf_counter()
    parts = [generator(z[i:i + batch_size], training=False).numpy()
             for i in tqdm(range(0, count, batch_size), desc="generate", unit="batch")]
    return np.concatenate(parts), count / (time.perf_counter() - start)


def embed(model: keras.Model, images: np.ndarray, batch_size: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """(features, class probabilities) of ``images`` in float64, by a ``features_and_probs``
    model."""
    features, probs = model.predict(images, batch_size=batch_size, verbose=0)
    return features.astype(np.float64), probs.astype(np.float64)


def quality(fake_feats, fake_probs, real_feats, real_probs, cfg: EvaluateConfig
            ) -> dict[str, float]:
    """The metrics of one image set (``fake``) against the reference set (``real``)."""
    score, score_std = metrics.classifier_score(fake_probs, cfg.score_splits)
    precision, recall = metrics.precision_recall(real_feats, fake_feats, cfg.precision_recall_k)
    density, coverage = metrics.density_coverage(real_feats, fake_feats, cfg.density_coverage_k)
    return {
        "fid": metrics.frechet_distance(fake_feats, real_feats),
        "classifier_score": score,
        "classifier_score_std": score_std,
        "class_kl": metrics.class_kl(metrics.class_histogram(fake_probs),
                                     metrics.class_histogram(real_probs)),
        "confident_share": metrics.confident_share(fake_probs, cfg.confidence_threshold),
        "precision": precision,
        "recall": recall,
        "density": density,
        "coverage": coverage,
    }


def evaluate(generator: keras.Model, classifier: keras.Model, test_images: np.ndarray,
             train_images: np.ndarray, cfg: EvaluateConfig,
             log: Callable[[str], None] = print) -> dict:
    """Generated vs test, next to real training images vs test (what "perfect" scores).

    Images are N×H×W×C in [-1, 1]. Returns the contents of ``reports/metrics.json``: the
    generator's ``quality`` metrics and ``share_of_class`` (its predicted-class mix), and the
    same metrics for ``real`` images (real training images against the test set; the test
    set's own classifier score and confident share).
    """
    for name, shape in (("generator makes", generator.output_shape[1:]),
                        ("classifier takes", classifier.input_shape[1:])):
        if tuple(shape) != test_images.shape[1:]:
            raise InputError(f"the {name} {tuple(shape)} images but the test images are "
                             f"{test_images.shape[1:]}: was it trained on another dataset?")
    if len(train_images) < cfg.real_images:
        raise InputError(f"evaluate.real_images is {cfg.real_images} but only "
                         f"{len(train_images)} training images are available")
    feature_model = features_and_probs(classifier)
    fake, images_per_s = generate(generator, cfg.samples, cfg.batch_size, cfg.seed)
    log(f"evaluate: generated {cfg.samples} images at {images_per_s:.0f} images/s")
    pick = np.random.default_rng(cfg.seed).choice(len(train_images), cfg.real_images,
                                                  replace=False)
    test_feats, test_probs = embed(feature_model, test_images, cfg.batch_size)
    fake_feats, fake_probs = embed(feature_model, fake, cfg.batch_size)
    real_feats, real_probs = embed(feature_model, train_images[np.sort(pick)], cfg.batch_size)

    generated = quality(fake_feats, fake_probs, test_feats, test_probs, cfg)
    real = quality(real_feats, real_probs, test_feats, test_probs, cfg)
    test_score, test_score_std = metrics.classifier_score(test_probs, cfg.score_splits)
    return {
        "quality": generated,
        "share_of_class": {str(d): float(s)
                           for d, s in enumerate(metrics.class_histogram(fake_probs))},
        # What real images score: the floor of fid, the ceiling of classifier_score.
        "real": {**real, "classifier_score": test_score, "classifier_score_std": test_score_std,
                 "confident_share": metrics.confident_share(test_probs,
                                                            cfg.confidence_threshold)},
        "samples": cfg.samples,
    }
