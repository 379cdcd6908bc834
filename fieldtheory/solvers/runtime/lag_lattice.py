r"""The lag equation of the one-φ stationary site on a τ lattice (any φ, kinks included).

Δ(τ) on τ_k = k h, 0 ≤ k ≤ n, with the second-order difference (1 − δ²) and reflecting
ends (the even, periodic extension diagonalised by the DCT-I): a positivity-preserving
Fourier iteration, then Newton with the exact tridiagonal Jacobian plus the Δ0 column,
which solves the lattice equations to round-off; errors O(h²) against the continuum.
λ_max from the ground state of the lattice H = −δ² + 1 − g² C_d(τ) (even sector).
Pair expectations from Chebyshev tables (:func:`pair_table`). For analytic φ the energy
integral (:mod:`lag_profile`) is exact in τ and much faster; this is the route for
functions with kinks and the check of that one.
"""

import math

import numpy as np
from scipy import fft, linalg

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    ConvergenceError,
    backtrack,
)
from fieldtheory.solvers.runtime.quadrature import (  # inlined by the code generator
    STRIP,
    pair_table,
)
from fieldtheory.solvers.runtime.static_conditions import (  # inlined by the code generator
    StaticSolution,
)

__all__ = ["check_covariance", "lyapunov_exponent", "solve_autocorrelation"]


def _laplacian_symbol(n: int, step: float) -> np.ndarray:
    """Eigenvalues of −δ² with reflecting ends on τ_k = k·step, k = 0..n (DCT-I modes)."""
    return (4.0 / step**2) * np.sin(0.5 * np.pi * np.arange(n + 1) / n) ** 2


def _residual(delta, c_phi, g2, D, step):
    """(1 − δ²)Δ − g² C_φ(Δ) − (D/h) e₀ with the even (reflecting) extension."""
    ext = np.concatenate([delta[1:2], delta, delta[-2:-1]])
    second = (ext[:-2] - 2.0 * delta + ext[2:]) / step**2
    out = delta - second - g2 * c_phi
    out[0] -= D / step
    return out


def _fourier_iteration(cphi, g2, D, delta0, delta, step, iterations, residuals):
    r"""Damped iteration Δ ← α (1 − δ²)⁻¹ [g² C_φ]₊ + D (1 − δ²)⁻¹ e₀/h, Δ(0) held at Δ0.

    Every iterate is a covariance: the spectrum of g² C_φ(Δ) is clipped at zero (it is
    non-negative anyway when Δ is a covariance, by the Schur product theorem applied to
    the Mehler series), α > 0, D ≥ 0, and convex combinations keep positivity.
    """
    n = delta.size - 1
    denominator = 1.0 + _laplacian_symbol(n, step)
    green = fft.idct(np.full(n + 1, 1.0 / step) / denominator, type=1)
    for _ in range(iterations):
        source = np.maximum(fft.dct(g2 * cphi(delta), type=1), 0.0)
        response = fft.idct(source / denominator, type=1)
        alpha = (delta0 - D * green[0]) / response[0] if response[0] > 0 else 1.0
        new = max(alpha, 0.0) * response + D * green
        change = float(np.abs(new - delta).max())
        residuals.append(change)
        delta = 0.5 * (delta + new)
        if change < 1e-6 * delta0:
            break
    return delta


class _Tables:
    """Chebyshev tables of C_φ and C_d, cached by Δ0 (Newton revisits the same Δ0)."""

    def __init__(self, phi, dphi, mean, strip):
        self.functions = {"phi": phi, "gain": dphi}
        self.mean, self.strip, self.cache = mean, strip, {}

    def __call__(self, name: str, delta0: float):
        key = (name, float(delta0))
        if key not in self.cache:
            f = self.functions[name]
            self.cache[key] = pair_table(f, f, self.mean, float(delta0), self.strip)
        return self.cache[key]

    def d0_derivative(self, delta0: float, delta):
        """∂C_φ(Δ; Δ0)/∂Δ0 at fixed Δ ≤ Δ0 (forward difference; Jacobian only)."""
        eps = 1e-6 * delta0
        return (self("phi", delta0 + eps)(delta) - self("phi", delta0)(delta)) / eps


def _newton(delta, tables: _Tables, g2, D, step, max_iter, residuals):
    """Newton's method with backtracking on the lattice lag equation (Δ_0 free)."""
    n = delta.size - 1
    floor = 64 * np.finfo(float).eps * delta[0] * (1.0 + 4.0 / step**2)

    def evaluate(trial):
        return _residual(trial, tables("phi", trial[0])(trial), g2, D, step)

    force = evaluate(delta)
    norm = float(np.abs(force).max())
    for _ in range(max_iter):
        residuals.append(norm)
        if norm <= floor:
            return delta
        d0 = float(delta[0])
        # Jacobian: tridiagonal (1 − δ²) − g² C_d plus the column −g² ∂C_φ/∂Δ0 at k = 0
        banded = np.empty((3, n + 1))
        banded[0, 1:], banded[2, :-1] = -1.0 / step**2, -1.0 / step**2
        banded[0, 1], banded[2, n - 1] = -2.0 / step**2, -2.0 / step**2
        banded[1] = 1.0 + 2.0 / step**2 - g2 * tables("gain", d0)(delta)
        column = -g2 * tables.d0_derivative(d0, delta)
        solved = linalg.solve_banded((1, 1), banded, np.column_stack([force, column]))
        x, y = solved[:, 0], solved[:, 1]
        update = x - y * x[0] / (1.0 + y[0])  # Sherman–Morrison
        delta, force, norm, taken = backtrack(delta, update, norm, evaluate, residuals,
                                              admissible=lambda trial: trial[0] > 0)
        if taken * np.abs(update).max() <= 1e-13 * d0:
            residuals.append(norm)
            return delta
    raise ConvergenceError(f"lag equation: Newton did not converge in {max_iter} steps",
                           residuals)


def check_covariance(delta, step, residuals=()) -> np.ndarray:
    """The lattice spectrum h·DCT-I[Δ]; raises :class:`ConvergenceError` if it is negative.

    A solution of the lag equation with a negative spectrum is not a covariance (the lag
    equation has such solutions); round-off of 1e-9 of the largest value is tolerated.
    """
    spectrum = step * fft.dct(np.asarray(delta, dtype=float), type=1)
    if not np.all(np.isfinite(spectrum)) or spectrum.min() < -1e-9 * spectrum.max():
        raise ConvergenceError("lag equation: solution has a negative spectrum (not a "
                               f"covariance; min {spectrum.min():.3g})", residuals)
    return spectrum


def solve_autocorrelation(phi, dphi, g, static: StaticSolution, *, D=0.0, step=0.02,
                          box=100.0, strip=STRIP, max_iter=40, fourier_iter=300):
    r"""Δ(τ_k), τ_k = k·step ≤ box, solving the lattice lag equation to round-off.

    .. math:: \Delta_k - \frac{\Delta_{k+1} - 2\Delta_k + \Delta_{k-1}}{h^2}
              = g^2 C_\phi(\Delta_k; \Delta_0) + \frac{D}{h}\delta_{k0}

    with Δ0 = Δ_0 self-consistent and reflecting ends. A positivity-preserving Fourier
    iteration (Δ(0) held at the continuum Δ0) starts Newton's method, whose Jacobian is
    tridiagonal plus the Δ0 column (Sherman–Morrison). Errors are O(h²) against the
    continuum; the box must exceed the decay length of Δ − Δ∞.

    Returns ``(delta, residuals)``; raises :class:`ConvergenceError` when Newton fails or
    the solution is not a covariance (negative lattice spectrum).
    """
    g2, mean, delta0 = float(g) ** 2, static.mean, static.delta0
    n = max(math.ceil(box / step), 2)
    tau = step * np.arange(n + 1)
    tables = _Tables(phi, dphi, mean, strip)
    kappa = math.sqrt(max(1.0 - g2 * float(tables("gain", delta0)(static.delta_inf)), 1e-2))
    delta = static.delta_inf + (delta0 - static.delta_inf) / np.cosh(kappa * tau)
    residuals: list[float] = []
    delta = _fourier_iteration(tables("phi", delta0), g2, D, delta0, delta, step,
                               fourier_iter, residuals)
    delta = _newton(delta, tables, g2, D, step, max_iter, residuals)
    if not np.all(np.isfinite(delta)):
        raise ConvergenceError("lag equation: Newton diverged", residuals)
    check_covariance(delta, step, residuals)
    return delta, residuals


def lyapunov_exponent(c_gain, g, step) -> float:
    r"""λ_max = −1 + √(1 − E0), E0 the ground state of H = −∂τ² + 1 − g² C_d(τ).

    ``c_gain`` holds C_d(τ_k) = E[φ'(u)φ'(v)] on τ_k = k·step, k = 0..n; H is discretised
    by second differences with reflecting ends (the even sector, which holds the ground
    state), symmetrised with the trapezoid weights, and its lowest eigenvalue found
    exactly (tridiagonal eigensolver). Source: Clark et al. (rnn-lyapunov); for a fixed
    point, C_d ≡ ⟨φ'²⟩ gives λ_max = −1 + g√⟨φ'²⟩.
    """
    c_gain = np.asarray(c_gain, dtype=float)
    diagonal = 1.0 + 2.0 / step**2 - float(g) ** 2 * c_gain
    off = np.full(c_gain.size - 1, -1.0 / step**2)
    off[0] = off[-1] = -math.sqrt(2.0) / step**2
    ground = linalg.eigh_tridiagonal(diagonal, off, eigvals_only=True, select="i",
                                     select_range=(0, 0))[0]
    return -1.0 + math.sqrt(max(1.0 - ground, 0.0))
