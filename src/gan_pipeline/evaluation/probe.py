"""Quality while training: fid and classifier_score of the generator as it stands, on a
fixed sample of seeded noise, against the test set's classifier features (computed once).

Cheap enough to run every few thousand iterations: a few thousand generated images and one
pass of the small classifier. The sample is smaller than ``evaluate``'s, so the fid reads a
little higher than the final evaluation's on the same generator (docs/evaluation.md: Quality
while training gives the floor, real images against the test set, at this size).
"""

from __future__ import annotations

import keras
import numpy as np

from gan_pipeline.evaluation import metrics
from gan_pipeline.evaluation.classifier import features_and_probs
from gan_pipeline.evaluation.evaluate import embed
from gan_pipeline.training.noise import noise

IMAGES_PER_SCORE_SPLIT = 1000  # as evaluate's default: 10,000 samples in 10 splits


class QualityProbe:
    def __init__(self, classifier: keras.Model, test_images: np.ndarray, samples: int,
                 z_dim: int, seed: int, batch_size: int = 500):
        self._features = features_and_probs(classifier)
        self._batch_size = batch_size
        test_features = embed(self._features, test_images, batch_size)[0]
        self._test_mean = test_features.mean(0)
        self._test_cov = np.cov(test_features, rowvar=False)
        # A numpy generator of its own: measuring consumes none of training's randomness.
        self._z = noise(seed, samples, z_dim)
        self._splits = max(1, samples // IMAGES_PER_SCORE_SPLIT)

    def __call__(self, generator: keras.Model) -> tuple[float, float]:
        """(fid, classifier_score) of ``generator``'s images from the fixed noise."""
        images = np.concatenate([generator(self._z[i:i + self._batch_size], training=False)
                                 for i in range(0, len(self._z), self._batch_size)])
        features, probs = embed(self._features, images, self._batch_size)
        fid = metrics.frechet_distance_from_stats(
            features.mean(0), np.cov(features, rowvar=False), self._test_mean, self._test_cov)
        return fid, metrics.classifier_score(probs, self._splits)[0]
