"""The lag equation of a map: fixed point, Δ(k) by a held iteration and Newton, and
the closed forms at δ = 1 (part of the ``map`` runtime,
:mod:`fieldtheory.solvers.runtime.maps`)."""

import math

import numpy as np
from numpy.polynomial import chebyshev
from scipy import fft, linalg, optimize

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    ConvergenceError,
    backtrack,
)
from fieldtheory.solvers.runtime.quadrature import (  # inlined by the code generator
    STRIP,
    gaussian_mean,
    gaussian_pair_mean,
)


def _scalar_mean(f, mean: float, delta0: float, strip: float = STRIP) -> float:
    """E[f(u)], u ~ N(mean, delta0), as a float."""
    return float(gaussian_mean(f, mean, delta0, strip))


def _map_table(f, mean: float, delta0: float, strip: float):
    """Chebyshev interpolant of Δ ↦ E[f(u)f(v)] on [−Δ0, Δ0] (degree doubled to 1e-13)."""
    if delta0 <= 0.0:
        value = float(f(np.array(mean))) ** 2
        return lambda delta: np.full(np.shape(delta), value)
    for degree in (32, 64, 128, 256, 512):
        coef = chebyshev.chebinterpolate(
            lambda x: gaussian_pair_mean(f, f, mean, delta0, delta0 * x, strip), degree)
        if np.abs(coef[-6:]).max() <= 1e-13 * max(np.abs(coef).max(), 1e-300):
            break
    return lambda delta: chebyshev.chebval(np.clip(np.asarray(delta) / delta0, -1.0, 1.0),
                                           coef)


class _MapModel:
    """Callables, parameters and cached tables of one map problem (internal)."""

    def __init__(self, phi, dphi, g, delta, D, J0, I, strip, m_guess):
        self.phi, self.dphi, self.strip = phi, dphi, strip
        self.g, self.delta, self.D = float(g), float(delta), float(D)
        self.J0, self.I = float(J0), float(I)
        self.b = 1.0 - self.delta
        self.m_guess = float(m_guess)
        self.cache: dict = {}

    def magnetisation(self, delta0: float) -> tuple[float, float]:
        """(μ, m), m = E[φ(u)], u ~ N(J0 m + I, Δ0): the root reached from ``m_guess``."""
        key = ("m", float(delta0))
        if key in self.cache:
            return self.cache[key]

        def residual(m):
            return _scalar_mean(self.phi, self.J0 * m + self.I, delta0, self.strip) - m

        if self.J0 == 0.0:
            result = (self.I, residual(0.0))
        else:
            m = self.m_guess
            for _ in range(50):  # plain iterations drift towards a stable root
                m = m + residual(m)
            step = max(abs(m), 1.0) * 1e-6
            start = residual(m)
            direction = math.copysign(1.0, start) if start else 1.0
            lo, hi = m, m
            for _ in range(80):
                hi = m + direction * step
                if residual(hi) * start <= 0.0:
                    break
                lo, step = hi, step * 2.0
            else:
                raise ConvergenceError(f"magnetisation: no root of m = E[φ] near {m}")
            root = m if start == 0.0 else optimize.brentq(
                residual, min(lo, hi), max(lo, hi), xtol=1e-15, rtol=1e-15)
            result = (self.J0 * root + self.I, float(root))
        self.cache[key] = result
        return result

    def table(self, name: str, delta0: float):
        key = (name, float(delta0))
        if key not in self.cache:
            mean, _ = self.magnetisation(delta0)
            f = self.phi if name == "phi" else self.dphi
            self.cache[key] = _map_table(f, mean, float(delta0), self.strip)
        return self.cache[key]

    def second_moment(self, name: str, delta0: float) -> float:
        mean, _ = self.magnetisation(delta0)
        f = self.phi if name == "phi" else self.dphi
        return _scalar_mean(lambda x: f(x) ** 2, mean, delta0, self.strip)


# --------------------------------------------------------------------------- fixed point


def _map_fixed_point(model: _MapModel) -> float:
    """The largest root q of q = g² E[φ(u)²], u ~ N(μ(q), q) (0 when there is none)."""
    g2 = model.g**2

    def excess(q):
        return g2 * model.second_moment("phi", q) - q

    top = max(1.0, g2)
    while excess(top) > 0:
        top *= 2.0
        if top > 1e8:
            raise ConvergenceError("fixed point: g² E[φ²] grows faster than q (unbounded "
                                   "φ with g ≥ 1 has no static solution)")
    grid = top * np.logspace(0, -12, 61)
    values = [excess(q) for q in grid]
    for upper, lower, v_up, v_low in zip(grid, grid[1:], values, values[1:], strict=False):
        if v_up <= 0.0 < v_low:
            return float(optimize.brentq(excess, lower, upper, xtol=1e-15, rtol=1e-15))
    return 0.0


# --------------------------------------------------------------------------- Δ(k)


def _symbol(K: int, b: float) -> np.ndarray:
    """DCT-I symbol of (1 + b²) − b(S + S⁻¹) with reflecting ends, modes θ_j = πj/K."""
    return 1.0 + b * b - 2.0 * b * np.cos(np.pi * np.arange(K + 1) / K)


def _lag_residual(model: _MapModel, delta: np.ndarray) -> np.ndarray:
    """(1 + b²)Δ − b(SΔ + S⁻¹Δ) − δ²g² C_φ(Δ; Δ0) − δD e₀, even extension at both ends."""
    b, d0 = model.b, float(delta[0])
    ext = np.concatenate([delta[1:2], delta, delta[-2:-1]])
    out = (1.0 + b * b) * delta - b * (ext[:-2] + ext[2:])
    out -= model.delta**2 * model.g**2 * model.table("phi", d0)(delta)
    out[0] -= model.delta * model.D
    return out


def _held_iteration(model, d0, delta, symbol, iterations, residuals):
    """Damped Fourier iteration with Δ(0) held at d0; returns (Δ, α) at convergence.

    Δ ← ½Δ + ½[α L⁻¹ (δ²g² C_φ)₊ + δD L⁻¹ e₀], α fixed by Δ(0) = d0; every iterate is a
    covariance (non-negative spectrum).
    """
    c2 = model.delta**2 * model.g**2
    green = fft.idct(1.0 / symbol, type=1)
    noise = model.delta * model.D * green
    table = model.table("phi", d0)
    alpha = 1.0
    for _ in range(iterations):
        source = np.maximum(fft.dct(c2 * table(delta), type=1), 0.0)
        response = fft.idct(source / symbol, type=1)
        alpha = (d0 - noise[0]) / response[0] if response[0] > 0 else 0.0
        new = max(alpha, 0.0) * response + noise
        change = float(np.abs(new - delta).max())
        residuals.append(change)
        delta = 0.5 * (delta + new)
        if change < 1e-9 * d0:
            break
    return delta, alpha


def _initial_guess(model, K, residuals):
    """Δ0 with α(Δ0) = 1 (bracketed on a scan, then Brent) and the held iterate there."""
    symbol = _symbol(K, model.b)
    k = np.arange(K + 1)
    rate = max(model.delta, 1e-3)
    states: dict = {}

    def shape(d0):
        start = d0 * np.exp(-rate * k) if not states else states[min(
            states, key=lambda x: abs(x - d0))] * (d0 / min(states, key=lambda x: abs(x - d0)))
        delta, alpha = _held_iteration(model, d0, start, symbol, 400, residuals)
        states[d0] = delta
        return delta, alpha

    def excess(d0):
        return shape(d0)[1] - 1.0

    q = _map_fixed_point(model) if model.D == 0 else 0.0
    top = max(q, model.g**2 * model.second_moment("phi", 1.0), 1.0) + 4.0 * model.D
    for _ in range(40):  # α grows with Δ0: find a Δ0 above the root
        if excess(top) > 0:
            break
        top *= 2.0
    else:
        raise ConvergenceError(f"lag equation: no Δ0 up to {top:.3g} closes the iteration",
                               residuals)
    grid = top * np.logspace(0, -4, 17)
    values = [excess(d) for d in grid]
    for upper, lower, v_up, v_low in zip(grid, grid[1:], values, values[1:], strict=False):
        if v_low < 0.0 <= v_up:
            d0 = optimize.brentq(excess, lower, upper, xtol=1e-8 * upper, rtol=1e-8)
            return shape(d0)[0]
    raise ConvergenceError("lag equation: α(Δ0) = 1 has no root (no fluctuating state)",
                           values)


def _map_newton(model, delta, max_iter, residuals):
    """Newton's method with backtracking: tridiagonal Jacobian plus the Δ0 column."""
    n = delta.size - 1
    b, c2 = model.b, model.delta**2 * model.g**2
    force = _lag_residual(model, delta)
    norm = float(np.abs(force).max())
    floor = 64 * np.finfo(float).eps * max(float(delta[0]), 1e-300) * (1.0 + b) ** 2
    for _ in range(max_iter):
        residuals.append(norm)
        if norm <= floor:
            return delta
        d0 = float(delta[0])
        banded = np.empty((3, n + 1))
        banded[0, 1:], banded[2, :-1] = -b, -b
        banded[0, 1], banded[2, n - 1] = -2.0 * b, -2.0 * b
        banded[1] = 1.0 + b * b - c2 * model.table("gain", d0)(delta)
        eps = 1e-6 * d0
        column = -c2 * (model.table("phi", d0 + eps)(delta) - model.table("phi", d0)(delta)) / eps
        solved = linalg.solve_banded((1, 1), banded, np.column_stack([force, column]))
        x, y = solved[:, 0], solved[:, 1]
        update = x - y * x[0] / (1.0 + y[0])  # Sherman–Morrison for the Δ0 column
        delta, force, norm, taken = backtrack(
            delta, update, norm, lambda trial: _lag_residual(model, trial), residuals,
            halvings=16, admissible=lambda trial: trial[0] > 0)
        if taken * np.abs(update).max() <= 1e-14 * d0:
            residuals.append(norm)
            return delta
    raise ConvergenceError(f"lag equation: Newton did not converge in {max_iter} steps",
                           residuals)


# --------------------------------------------------------------------------- λ_max


def map_lyapunov(c_gain, g: float, delta: float) -> float:
    r"""λ_max per unit physical time, log Λ / δ, from the lag-space tangent problem.

    Λ is the root in [b, b + δg√C_d(0)] of Λ² + b² + e(Λ), e(Λ) the lowest eigenvalue of
    the tridiagonal −bΛ(S + S⁻¹) − δ²g² C_d (reflecting ends, symmetrised by √2 at the
    ends as in the DCT-I); see the module docstring.
    """
    c_gain = np.asarray(c_gain, dtype=float)
    b, c2 = 1.0 - float(delta), float(delta) ** 2 * float(g) ** 2
    top = b + math.sqrt(c2 * max(float(c_gain.max()), 0.0))
    if b == 0.0 or c_gain.size < 2:
        return math.log(top) / delta if top > 0 else -math.inf
    diagonal = -c2 * c_gain

    def f(lam):
        off = np.full(c_gain.size - 1, -b * lam)
        off[0] *= math.sqrt(2.0)
        off[-1] *= math.sqrt(2.0)
        ground = linalg.eigh_tridiagonal(diagonal, off, eigvals_only=True, select="i",
                                         select_range=(0, 0))[0]
        return lam * lam + b * b + ground

    if f(b) >= 0.0:
        lam = b
    else:
        lam = optimize.brentq(f, b, top * (1 + 1e-12) + 1e-300, xtol=1e-15, rtol=1e-15)
    return math.log(lam) / delta



def _unit_step(model: _MapModel, K: int, residuals) -> np.ndarray:
    """δ = 1: Δ0 = g² E[φ²] + D (largest root) and Δ(k ≠ 0) the smallest root of
    Δ = g² C_φ(Δ; Δ0) reached by iterating from 0 (the stable lag-by-lag solution)."""
    g2, D = model.g**2, model.D

    def excess(d0):
        return g2 * model.second_moment("phi", d0) + D - d0

    top = max(1.0, g2) + D
    while excess(top) > 0:
        top *= 2.0
        if top > 1e8:
            raise ConvergenceError("δ = 1: g² E[φ²] + D grows faster than Δ0")
    grid = top * np.logspace(0, -12, 61)
    values = [excess(d) for d in grid]
    for upper, lower, v_up, v_low in zip(grid, grid[1:], values, values[1:], strict=False):
        if v_up <= 0.0 < v_low:
            d0 = optimize.brentq(excess, lower, upper, xtol=1e-15, rtol=1e-15)
            break
    else:
        raise ConvergenceError("δ = 1: no positive Δ0 = g² E[φ²] + D", values)
    table = model.table("phi", d0)
    lag = 0.0
    for _ in range(10_000):
        new = g2 * float(table(lag))
        residuals.append(abs(new - lag))
        if abs(new - lag) <= 1e-15 * d0:
            lag = new
            break
        lag = new
    else:
        raise ConvergenceError("δ = 1: the lag equation Δ = g² C_φ(Δ) does not converge",
                               residuals)
    out = np.full(K + 1, lag)
    out[0] = d0
    return out
