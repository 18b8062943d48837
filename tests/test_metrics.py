"""Each quality metric against cases with known answers."""

import warnings

import numpy as np
import pytest

from helpers import real_params, shrink
from gan_pipeline.config.params import parse_params
from gan_pipeline.evaluation import metrics
from gan_pipeline.evaluation.classifier import build_classifier, features_and_probs
from gan_pipeline.evaluation.evaluate import evaluate
from gan_pipeline.training.models import build_generator

RNG = np.random.default_rng(0)


def test_fid_of_a_set_against_itself_is_zero():
    x = RNG.normal(size=(2000, 16))
    assert metrics.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)


def test_fid_of_two_gaussians_matches_the_closed_form():
    # N(μa, diag(σa²)) vs N(μb, diag(σb²)): ‖μa − μb‖² + Σ (σa − σb)².
    mu_a, mu_b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    sd_a, sd_b = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5])
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((sd_a - sd_b) ** 2)  # 5 + 5 = 10
    exact = metrics.frechet_distance_from_stats(mu_a, np.diag(sd_a ** 2), mu_b, np.diag(sd_b ** 2))
    assert exact == pytest.approx(expected, rel=1e-9)
    a = mu_a + sd_a * RNG.standard_normal((200_000, 3))
    b = mu_b + sd_b * RNG.standard_normal((200_000, 3))
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=0.02)


def test_fid_with_dead_feature_dimensions_warns_nothing_and_stays_exact():
    """A classifier's features often have dimensions that never fire: the covariance
    product is singular, and SciPy's square root warns although its result is right."""
    a, b = RNG.normal(size=(500, 8)), RNG.normal(loc=0.5, size=(500, 8))
    a[:, :3] = b[:, :3] = 0.0  # dead in both sets
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        got = metrics.frechet_distance(a, b)
    assert got == pytest.approx(metrics.frechet_distance(a[:, 3:], b[:, 3:]), rel=1e-6)


def test_fid_with_a_full_covariance_matches_the_matrix_formula():
    # Non-commuting covariances: Tr(A + B - 2 (AB)^½) computed independently by eigenvalues.
    a_cov = np.array([[2.0, 0.8], [0.8, 1.0]])
    b_cov = np.array([[1.0, -0.3], [-0.3, 0.5]])
    eig = np.linalg.eigvals(a_cov @ b_cov)  # real and positive for SPD A, B
    expected = np.trace(a_cov) + np.trace(b_cov) - 2 * np.sum(np.sqrt(eig.real))
    got = metrics.frechet_distance_from_stats(np.zeros(2), a_cov, np.zeros(2), b_cov)
    assert got == pytest.approx(expected, rel=1e-9)


def test_precision_recall_density_coverage_of_identical_sets():
    x = RNG.normal(size=(500, 8))
    assert metrics.precision_recall(x, x, k=3) == (1.0, 1.0)
    density, coverage = metrics.density_coverage(x, x, k=5)
    assert coverage == 1.0
    assert density == pytest.approx(1.0, abs=0.25)  # each point sits in ~k balls


def test_precision_recall_density_coverage_of_disjoint_sets_are_zero():
    real = RNG.normal(size=(400, 8))
    fake = RNG.normal(size=(300, 8)) + 100.0
    assert metrics.precision_recall(real, fake, k=3) == (0.0, 0.0)
    assert metrics.density_coverage(real, fake, k=5) == (0.0, 0.0)


def test_half_covered_manifold_gives_half_recall_and_coverage():
    centres = np.array([[0.0] * 4, [50.0] * 4])
    real = np.concatenate([c + RNG.normal(size=(300, 4)) for c in centres])
    fake = centres[0] + RNG.normal(size=(300, 4))  # only the first mode
    precision, recall = metrics.precision_recall(real, fake, k=3)
    assert precision > 0.9 and 0.4 < recall <= 0.5
    assert 0.4 < metrics.density_coverage(real, fake, k=5)[1] <= 0.5


def test_ball_counts_in_blocks_equal_the_brute_force_answer(monkeypatch):
    monkeypatch.setattr(metrics, "WORKING_MEMORY_MIB", 0.01)  # force many small blocks
    q, c = RNG.normal(size=(300, 5)), RNG.normal(size=(200, 5))
    radii = RNG.uniform(0.5, 2.0, size=200)
    brute = (np.linalg.norm(q[:, None] - c[None], axis=2) <= radii[None]).sum(1)
    np.testing.assert_array_equal(metrics._ball_counts(q, c, radii), brute)


def _one_hot(labels, sharpness=0.999):
    probs = np.full((len(labels), 10), (1 - sharpness) / 9)
    probs[np.arange(len(labels)), labels] = sharpness
    return probs


def test_classifier_score_is_at_most_ten_and_one_for_a_single_digit():
    balanced = _one_hot(np.arange(10_000) % 10, sharpness=1.0)
    score, std = metrics.classifier_score(balanced, splits=10)
    assert score == pytest.approx(10.0, rel=1e-6) and std == pytest.approx(0.0, abs=1e-6)
    assert metrics.classifier_score(_one_hot(np.zeros(1000, int)), 10)[0] == pytest.approx(1.0)
    # Uninformative predictions score 1; two equally common, certain classes score 2.
    assert metrics.classifier_score(np.full((1000, 10), 0.1), 10)[0] == pytest.approx(1.0)
    two_classes = _one_hot(np.arange(1000) % 2, sharpness=1.0)
    assert metrics.classifier_score(two_classes, 10)[0] == pytest.approx(2.0, rel=1e-6)


def test_a_collapsed_generator_gets_a_class_kl_far_above_a_real_sets():
    reference = metrics.class_histogram(_one_hot(RNG.integers(0, 10, 10_000)))
    real = metrics.class_histogram(_one_hot(RNG.integers(0, 10, 10_000)))
    collapsed = metrics.class_histogram(_one_hot(np.full(10_000, 7)))
    assert collapsed[7] == 1.0
    assert metrics.class_kl(real, reference) < 0.01
    assert metrics.class_kl(collapsed, reference) == pytest.approx(np.log(10), rel=0.05)


def test_confident_share_counts_top_probabilities_over_the_threshold():
    probs = np.concatenate([_one_hot(np.zeros(3, int), 0.95), np.full((1, 10), 0.1)])
    assert metrics.confident_share(probs, 0.9) == 0.75


def test_classifier_exposes_128_features_and_a_distribution():
    model = features_and_probs(build_classifier((28, 28, 1)))
    feats, probs = model.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)
    assert feats.shape == (2, 128) and probs.shape == (2, 10)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)


def test_evaluate_refuses_models_of_another_dataset():
    params = parse_params(shrink(real_params()))
    cifar_images = np.zeros((50, 32, 32, 3), np.float32)
    mnist_generator = build_generator(params.model, (28, 28, 1))
    with pytest.raises(ValueError, match=r"the generator makes \(28, 28, 1\) images but the "
                                         r"test images are \(32, 32, 3\)"):
        evaluate(mnist_generator, build_classifier((32, 32, 3)), cifar_images, cifar_images,
                 params.evaluate)
    with pytest.raises(ValueError, match=r"the classifier takes \(28, 28, 1\) images"):
        evaluate(build_generator(params.model, (32, 32, 3)), build_classifier((28, 28, 1)),
                 cifar_images, cifar_images, params.evaluate)
