"""The test oracles' Lyapunov solver against Bartels–Stewart and a closed form."""

from __future__ import annotations

import numpy as np
import scipy.linalg
from support.lyapunov import stationary_covariance


def test_agrees_with_bartels_stewart_on_random_and_non_normal_matrices():
    rng = np.random.default_rng(0)
    N = 120
    J = rng.standard_normal((N, N)) * 0.9 / np.sqrt(N)
    Q = np.diag(rng.uniform(0.5, 2.0, N))
    for A in (J - np.eye(N), J + 3.0 * np.triu(np.ones((N, N)), 1) / N - 1.2 * np.eye(N)):
        expected = scipy.linalg.solve_continuous_lyapunov(A, -Q)
        assert np.allclose(stationary_covariance(A, Q), expected, rtol=1e-9, atol=1e-12)


def test_a_defective_matrix_stays_exact():
    # a Jordan block (V singular up to rounding: the residual check decides the route);
    # closed form for A = [[-1, 1], [0, -1]], Q = I: Σ = [[3/4, 1/4], [1/4, 1/2]]
    A = np.array([[-1.0, 1.0], [0.0, -1.0]])
    assert np.allclose(stationary_covariance(A, np.eye(2)), [[0.75, 0.25], [0.25, 0.5]],
                       atol=1e-12)
