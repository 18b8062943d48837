"""The interpolation noise: straight lines between the seeded noise vectors."""

import numpy as np

from gan_pipeline.training.noise import interpolation_noise, noise


def test_interpolation_walks_straight_lines_between_seeded_noise_vectors():
    z = interpolation_noise(seed=3, rows=2, steps=5, z_dim=100).reshape(2, 5, 100)
    ends = noise(3, 4, 100).reshape(2, 2, 100)
    np.testing.assert_allclose(z[:, 0], ends[:, 0], rtol=1e-6)
    np.testing.assert_allclose(z[:, -1], ends[:, 1], rtol=1e-6)
    np.testing.assert_allclose(z[:, 2], 0.5 * (ends[:, 0] + ends[:, 1]), rtol=1e-5, atol=1e-6)
