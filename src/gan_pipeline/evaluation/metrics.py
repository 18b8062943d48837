"""Sample-quality metrics on classifier features and class probabilities. Pure NumPy/SciPy.

* Fréchet distance (Heusel et al. 2017) between Gaussian fits of two feature sets;
* classifier score: the Inception Score with the dataset's classifier (TF-GAN's
  ``classifier_score``; its ``mnist_score`` on MNIST);
* the predicted-class histogram, its KL divergence from a reference, and confident share;
* precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al.
  2020), from k-nearest-neighbour balls, with distances computed in bounded blocks.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
from sklearn.metrics import pairwise_distances_chunked
from sklearn.neighbors import NearestNeighbors

# Bounds the memory of every pairwise-distance block (scikit-learn's working_memory, in MiB).
WORKING_MEMORY_MIB = 256


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa Σb)^½) between the Gaussian fits of two sets."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return frechet_distance_from_stats(mu_a, cov_a, mu_b, cov_b)


def frechet_distance_from_stats(mu_a, cov_a, mu_b, cov_b) -> float:
    # The classifier's features have dead dimensions (a ReLU that never fires), so the
    # covariance product is singular on every run, and SciPy warns while its square root is
    # still finite and right: a warning a healthy run should not print. Only a non-finite
    # root is a problem, and is regularised.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():
        # A singular product: regularise both covariances a little, as pytorch-fid does.
        offset = np.eye(len(cov_a)) * 1e-6
        covmean = scipy.linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    covmean = np.real(covmean)  # tiny imaginary parts are numerical noise
    diff = mu_a - mu_b
    value = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))


def classifier_score(probs: np.ndarray, splits: int) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) ‖ p(y))) over ``splits`` equal parts: (mean, std). At most 10."""
    probs = np.asarray(probs, np.float64)
    if not 1 <= splits <= len(probs):
        raise ValueError(f"splits must be in [1, {len(probs)}], got {splits}")
    scores = []
    for part in np.array_split(probs, splits):
        p_y = part.mean(0, keepdims=True)
        kl = np.sum(part * (np.log(part + 1e-12) - np.log(p_y + 1e-12)), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def class_histogram(probs: np.ndarray, classes: int = 10) -> np.ndarray:
    """The share of samples predicted as each class."""
    return np.bincount(np.argmax(probs, axis=1), minlength=classes) / len(probs)


def class_kl(histogram: np.ndarray, reference: np.ndarray) -> float:
    """KL(histogram ‖ reference): 0 for the reference's own mix, log 10 for one class only."""
    p, q = np.asarray(histogram, np.float64), np.asarray(reference, np.float64)
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / np.maximum(q[mask], 1e-12))))


def confident_share(probs: np.ndarray, threshold: float) -> float:
    """The share of samples whose top class probability is at least ``threshold``."""
    return float(np.mean(np.max(probs, axis=1) >= threshold))


def knn_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its k-th nearest other point in the same set."""
    if len(features) <= k:
        raise ValueError(f"need more than k={k} points, got {len(features)}")
    nn = NearestNeighbors(n_neighbors=k + 1).fit(features)  # +1: each point finds itself
    distances, _ = nn.kneighbors(features)
    return distances[:, k]


def _ball_counts(queries: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For each query, how many centres' balls (‖q − c‖ ≤ r_c) contain it, block by block."""
    def reduce(block: np.ndarray, _start: int) -> np.ndarray:
        return (block <= radii[None, :]).sum(axis=1)

    return np.concatenate(list(pairwise_distances_chunked(
        queries, centres, reduce_func=reduce, working_memory=WORKING_MEMORY_MIB)))


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Kynkäänniemi et al.: the share of fakes inside the real manifold, and vice versa."""
    precision = np.mean(_ball_counts(fake, real, knn_radii(real, k)) > 0)
    recall = np.mean(_ball_counts(real, fake, knn_radii(fake, k)) > 0)
    return float(precision), float(recall)


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5) -> tuple[float, float]:
    """Naeem et al.: how many real balls hold each fake (÷k), and the share of real balls hit."""
    radii = knn_radii(real, k)
    density = _ball_counts(fake, real, radii).sum() / (k * len(fake))
    coverage = np.mean(_nearest_distances(real, fake) <= radii)
    return float(density), float(coverage)


def _nearest_distances(queries: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distance from each query to its nearest point."""
    nn = NearestNeighbors(n_neighbors=1).fit(points)
    return nn.kneighbors(queries)[0][:, 0]
