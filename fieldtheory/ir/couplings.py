"""Sampled coupling matrices: one realisation of an ensemble, as a linear operator.

The simulator only needs J·v (and, for Lyapunov exponents and tests, the dense matrix);
random-mode couplings keep their factors so that J·v costs O(N·M).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CouplingMatrix", "DenseCoupling", "LowRankCoupling"]


class CouplingMatrix:
    """A sampled N×N coupling matrix."""

    shape: tuple[int, int]

    def matvec(self, v: np.ndarray) -> np.ndarray:
        """J v for v of shape (N,) or (N, k)."""
        raise NotImplementedError

    def rmatvec(self, v: np.ndarray) -> np.ndarray:
        """Jᵀ v."""
        raise NotImplementedError

    def dense(self) -> np.ndarray:
        raise NotImplementedError

    def norm_estimate(self, tol: float = 1e-8) -> float:
        r"""‖J‖₂: the largest eigenvalue of JᵀJ by Lanczos (ARPACK ``eigsh`` on the operator
        v ↦ Jᵀ(Jv), O(N·M) per product for factors; a fixed start vector), with a margin of
        1 % for the iteration's tolerance."""
        from scipy.sparse.linalg import LinearOperator, eigsh

        n = self.shape[1]
        if n <= 2:
            return float(np.linalg.norm(self.dense(), 2)) * 1.01
        operator = LinearOperator((n, n), matvec=lambda v: self.rmatvec(self.matvec(v)),
                                  dtype=float)
        start = np.random.default_rng(0).standard_normal(n)
        (largest,) = eigsh(operator, k=1, which="LA", v0=start, tol=tol,
                           return_eigenvectors=False)
        return float(np.sqrt(max(largest, 0.0))) * 1.01

    @property
    def nbytes(self) -> int:
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class DenseCoupling(CouplingMatrix):
    matrix: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def matvec(self, v):
        return self.matrix @ v

    def rmatvec(self, v):
        return self.matrix.T @ v

    def dense(self):
        return self.matrix

    @property
    def nbytes(self) -> int:
        return self.matrix.nbytes


@dataclass(frozen=True, eq=False)
class LowRankCoupling(CouplingMatrix):
    """J = L diag(d) Rᵀ with L, R of shape (N, M)."""

    left: np.ndarray
    strengths: np.ndarray
    right: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (self.left.shape[0], self.right.shape[0])

    def matvec(self, v):
        d = self.strengths if v.ndim == 1 else self.strengths[:, None]
        return self.left @ (d * (self.right.T @ v))

    def rmatvec(self, v):
        d = self.strengths if v.ndim == 1 else self.strengths[:, None]
        return self.right @ (d * (self.left.T @ v))

    def dense(self):
        return (self.left * self.strengths) @ self.right.T


    @property
    def nbytes(self) -> int:
        return self.left.nbytes + self.right.nbytes + self.strengths.nbytes
