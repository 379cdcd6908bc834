"""The stationary covariance of a linear network, A Σ + Σ Aᵀ + Q = 0, for the test oracles.

Through the eigenvectors of A (A = V Λ V⁻¹): Σ = V Y Vᴴ with
Y_ij = −(V⁻¹ Q V⁻ᴴ)_ij / (λ_i + λ̄_j) — about half the time of the Bartels–Stewart solver
(``scipy.linalg.solve_continuous_lyapunov``) on the dense random matrices of the tests.
The residual is checked; where V is ill-conditioned (a nearly defective A) the result
falls back to Bartels–Stewart, so the oracle is exact either way (at the cost of both:
where the matrices are known to be far from normal, call Bartels–Stewart directly).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

#: largest relative residual ‖AΣ + ΣAᵀ + Q‖/‖Q‖ accepted from the eigenvector route
TOLERANCE = 1e-10


def stationary_covariance(A: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Σ with A Σ + Σ Aᵀ = −Q (A stable, Q symmetric)."""
    A, Q = np.asarray(A, dtype=float), np.asarray(Q, dtype=float)
    lam, V = np.linalg.eig(A)
    W = np.linalg.inv(V)
    Y = -(W @ Q @ W.conj().T) / (lam[:, None] + lam.conj()[None, :])
    sigma = (V @ Y @ V.conj().T).real
    sigma = 0.5 * (sigma + sigma.T)
    residual = A @ sigma + sigma @ A.T + Q
    if np.linalg.norm(residual) <= TOLERANCE * np.linalg.norm(Q):
        return sigma
    return scipy.linalg.solve_continuous_lyapunov(A, -Q)
