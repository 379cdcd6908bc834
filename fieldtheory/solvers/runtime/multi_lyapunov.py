"""Largest Lyapunov exponents of the multi-population site: fixed point and lattice
tangent operator (part of the ``multi`` runtime)."""

import math

import numpy as np
from scipy import optimize, sparse
from scipy.sparse import linalg as sparse_linalg

from fieldtheory.solvers.runtime.multi_problem import (  # inlined by the code generator
    _kernel_matrix,
    _Problem,
)

# --------------------------------------------------------------------------- Lyapunov


def _largest_exponent(r_of_lambda, a: np.ndarray, bound: float) -> float:
    """Largest λ > −min a with r(λ) = 1, r decreasing; −min a when r < 1 throughout."""
    low = -float(a.min())
    high = max(float(np.max(math.sqrt(max(bound, 0.0)) - a)), low) + 1e-9
    probe = low + 1e-9 * max(1.0, float(a.min()))
    if r_of_lambda(probe) <= 1.0:
        return low
    while r_of_lambda(high) > 1.0:  # the bound guarantees r < 1 here; guard round-off
        high += 1.0
    return float(
        optimize.brentq(lambda lam: r_of_lambda(lam) - 1.0, probe, high, xtol=1e-13, rtol=1e-13)
    )


def _fixed_point_exponent(W0: np.ndarray, a: np.ndarray) -> float:
    """λ_max of a fixed point: ρ(diag(1/(a + λ)²) W0) = 1 (the τ-constant mode)."""

    def r(lam):
        return float(np.abs(np.linalg.eigvals(W0 / (a[:, None] + lam) ** 2)).max())

    return _largest_exponent(r, a, float(W0.sum(axis=1).max()))


def _lattice_exponent(W: np.ndarray, a: np.ndarray, step: float) -> float:
    r"""λ_max from W_αβ(τ_k) (shape P × P × (n + 1)) on the reflecting lattice; see module.

    Z(λ) = −δ² + diag((a_α + λ)²) − W is a Z-matrix (off-diagonal entries ≤ 0), so its
    eigenvalue e(λ) of smallest real part is real (Perron–Frobenius), it increases with λ,
    and e(−min a) ≤ 0 (it is at most that of any principal block). λ_max solves e(λ) = 0;
    with equal leaks directly, (a + λ)² = −e₀, e₀ that of −δ² − W. e is found by
    shift-invert Arnoldi below the Gershgorin bound, where e is the nearest eigenvalue.
    """
    P, n1 = W.shape[0], W.shape[2]
    main = np.full(n1, 2.0 / step**2)
    lower = np.full(n1 - 1, -1.0 / step**2)
    upper = np.full(n1 - 1, -1.0 / step**2)
    upper[0] = lower[-1] = -2.0 / step**2  # reflecting ends, as the lag equation
    laplace = sparse.diags([lower, main, upper], [-1, 0, 1], format="csr")
    index = np.arange(n1)
    rows = np.concatenate([al * n1 + index for al in range(P) for be in range(P)])
    cols = np.concatenate([be * n1 + index for al in range(P) for be in range(P)])
    coupling = sparse.coo_matrix((-W.reshape(-1), (rows, cols)), shape=(P * n1, P * n1))
    base = (sparse.block_diag([laplace] * P) + coupling).tocsc()
    reach = float(W.max(axis=2).sum(axis=1).max())

    def lowest(shift: np.ndarray) -> float:
        """Smallest eigenvalue of base + diag(shift_α)."""
        matrix = (base + sparse.diags(np.repeat(shift, n1))).tocsc()
        sigma = float(shift.min()) - reach - 1.0
        if P * n1 <= 400:
            return float(np.linalg.eigvals(matrix.toarray()).real.min())
        value = sparse_linalg.eigs(
            matrix,
            k=1,
            sigma=sigma,
            which="LM",
            tol=1e-13,
            return_eigenvectors=False,
            v0=np.ones(P * n1),
        )
        return float(value.real[0])

    if np.all(a == a[0]):
        e0 = lowest(np.zeros(P))
        return -float(a[0]) + math.sqrt(max(-e0, 0.0))
    return _exponent_by_bisection(base, a, reach, n1, lowest)


def _exponent_by_bisection(base, a: np.ndarray, reach: float, n1: int, lowest) -> float:
    """Unequal leaks: λ_max by bisection on the sign of e(λ) (see _lattice_exponent).

    A Z-matrix is a nonsingular M-matrix (e > 0) iff Gaussian elimination without pivoting
    meets only positive pivots (Berman & Plemmons, Nonnegative Matrices, ch. 6, condition
    E18); the unknowns are interleaved (k·P + α) so that the factor stays banded.
    """
    P = a.size
    order = (np.arange(P)[None, :] * n1 + np.arange(n1)[:, None]).ravel()
    interleaved = base[order][:, order].tocsc()

    def positive(lam: float) -> bool:
        shift = np.tile((a + lam) ** 2, n1)
        matrix = (interleaved + sparse.diags(shift)).tocsc()
        try:
            factor = sparse_linalg.splu(
                matrix, permc_spec="NATURAL", diag_pivot_thresh=0.0, options={"Equil": False}
            )
        except RuntimeError:  # exactly singular: e = 0
            return False
        if np.any(factor.perm_r != np.arange(P * n1)):
            return lowest((a + lam) ** 2) > 0.0
        return bool(np.all(factor.U.diagonal() > 0.0))

    low = -float(a.min())
    if positive(low):
        return low
    high = max(float(np.max(math.sqrt(max(reach, 0.0)) - a)), low) + 1e-9
    while not positive(high):  # Gershgorin: e(high) > 0; guard round-off
        high += 1.0
    while high - low > 1e-13 * max(1.0, abs(low), abs(high)):
        middle = 0.5 * (low + high)
        if positive(middle):
            high = middle
        else:
            low = middle
    return 0.5 * (low + high)


def _exponent(problem: _Problem, name, step, delta, M) -> tuple[float | None, str]:
    """λ_max and a note (why it is None)."""
    d0 = delta[:, 0]
    if not problem.terms:
        return -float(problem.a.min()), ""
    if name == "fixed_point":
        values = [
            float(
                problem.correlation(k, d0[t.population], d0[t.population], M[t.population], "G")[()]
            )
            for k, t in enumerate(problem.terms)
        ]
        W = _kernel_matrix(problem, values)
        if np.any(W < 0):
            return None, (
                "λ_max needs a non-negative tangent kernel W_αβ = Σ A⟨f'h'⟩; "
                f"here min W = {W.min():.3g}"
            )
        return _fixed_point_exponent(W, problem.a), ""
    G = [
        problem.correlation(k, delta[t.population], d0[t.population], M[t.population], "G")
        for k, t in enumerate(problem.terms)
    ]
    W = _kernel_matrix(problem, G)
    if np.any(W < -1e-12 * max(np.abs(W).max(), 1e-300)):
        return None, (
            "λ_max needs a non-negative tangent kernel W_αβ(τ) = Σ A⟨f'h'⟩ "
            f"(Perron–Frobenius); here min W = {W.min():.3g}"
        )
    return _lattice_exponent(np.maximum(W, 0.0), problem.a, step), ""
