"""What the CycleGAN's translations are worth, measured where the true map T is known
(translation.domains), on the domains' test halves:

* ``pixel_error``: mean |G(a) − T(a)| per pixel (images in [-1, 1]; 0 is exact);
* ``labels_kept_a_to_b`` / ``_b_to_a``: the share of G(a) (read through T's inversion undone)
  and of F(b) that the evaluation classifier labels as the source digit, beside the
  classifier's accuracy on real B and A images, their ceilings;
* ``cycle_error_a`` / ``_b``: mean |F(G(a)) − a| and |G(F(b)) − b|;
* ``fid_a_to_b``: the Fréchet distance between G(A-test) and B-test in the classifier's
  features (both read through T's inversion undone), and ``fid_b_to_a`` for F against A.
"""

from __future__ import annotations

import keras
import numpy as np

from gan_pipeline.config.translate import DomainsConfig
from gan_pipeline.evaluation.classifier import features_and_probs
from gan_pipeline.evaluation.evaluate import embed
from gan_pipeline.evaluation.metrics import frechet_distance
from gan_pipeline.translation.domains import restyle, unstyle

BATCH = 500


def translate(net: keras.Model, images: np.ndarray) -> np.ndarray:
    return np.concatenate([np.asarray(net(images[i:i + BATCH], training=False), np.float32)
                           for i in range(0, len(images), BATCH)])


def measure(g: keras.Model, f: keras.Model, classifier: keras.Model,
            domains: dict[str, np.ndarray], cfg: DomainsConfig) -> dict[str, float]:
    a, b = domains["a_test"], domains["b_test"]
    a_labels, b_labels = domains["a_test_labels"], domains["b_test_labels"]
    g_a, f_b = translate(g, a), translate(f, b)
    reader = features_and_probs(classifier)

    def read(images):
        return embed(reader, images, BATCH)

    (g_a_feats, g_a_probs), (f_b_feats, f_b_probs) = read(unstyle(g_a, cfg)), read(f_b)
    (a_feats, a_probs), (b_feats, b_probs) = read(a), read(unstyle(b, cfg))

    def kept(probs, labels):
        return float(np.mean(np.argmax(probs, axis=1) == labels))

    return {
        "pixel_error": float(np.mean(np.abs(g_a - restyle(a, cfg)))),
        "labels_kept_a_to_b": kept(g_a_probs, a_labels),
        "labels_kept_b_to_a": kept(f_b_probs, b_labels),
        "classifier_accuracy_a": kept(a_probs, a_labels),
        "classifier_accuracy_b": kept(b_probs, b_labels),
        "cycle_error_a": float(np.mean(np.abs(translate(f, g_a) - a))),
        "cycle_error_b": float(np.mean(np.abs(translate(g, f_b) - b))),
        "fid_a_to_b": frechet_distance(g_a_feats, b_feats),
        "fid_b_to_a": frechet_distance(f_b_feats, a_feats),
    }
