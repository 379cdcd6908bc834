r"""Stationary dynamic mean-field theory of discrete-time random networks (maps).

Self-contained runtime (numpy, scipy and the standard library only), so that the code
generator can inline its source like :mod:`stationary`. The model enters through the
callables ``phi(x)`` and ``dphi(x)`` (elementwise on numpy arrays).

The network, with step δ ∈ (0, 1] in units of the leak time and physical time t = nδ:

.. math::
    x_i(n+1) = (1-\delta)\,x_i(n) + \delta\Big[\sum_j J_{ij}\phi(x_j(n)) + I\Big]
               + \sqrt{\delta D}\,\xi_i(n), \qquad
    J_{ij} \sim N(J_0/N,\ g^2/N),

ξ standard normal (noise variance δD per step: D per unit time). With b = 1 − δ the single
site is x(n+1) = b x(n) + δ(μ + η(n)) + √(δD) ξ(n), μ = J0 m + I, m = E[φ(x)],
⟨η(n)η(m)⟩ = g² C_φ(n − m). The stationary mean is δμ/(1 − b) = μ. For y = x − μ,
y(n+1) − b y(n) = s(n) with ⟨s(n)s(n')⟩ = δ²g² C_φ(n − n') + δD δ_{nn'}; multiplying the
equations at n + k and n and averaging gives the lag equation

.. math::
    (1+b^2)\Delta(k) - b[\Delta(k+1) + \Delta(k-1)]
    = \delta^2 g^2 C_\phi(k) + \delta D\,\delta_{k0},

C_φ(k) = E[φ(u)φ(v)], (u, v) Gaussian with means μ, variances Δ0 = Δ(0), covariance
Δ(k). In Fourier space, S(θ) = Σ_k Δ(k)e^{−ikθ} = (δ²g² S_φ(θ) + δD)/|1 − b e^{−iθ}|²,
|1 − b e^{−iθ}|² = 1 + b² − 2b cos θ. Limits: δ = 1 (b = 0) gives Δ(k) = g² C_φ(Δ(k); Δ0)
+ D δ_{k0} lag by lag, i.e. Δ0 = g² E[φ²] + D and, for μ = 0 and odd φ, Δ(k ≠ 0) = 0 (the
stable root of Δ = g² C_φ(Δ) when g²⟨φ'⟩² < 1); δ → 0 with k = τ/δ gives
(1 − ∂τ²)Δ = g² C_φ + D δ(τ) (Δ0 error O(δ²), λ error O(δ)). Linear φ, μ = 0, g < 1:
Δ(k) = A r^{|k|},
r = [c − √(c² − 4b²)]/(2b), c = 1 + b² − δ²g², A = δD/√(c² − 4b²) = δD r/(b(1 − r²)).

Fixed point (D = 0): Δ(k) ≡ q, (1 − b)² q = δ² g² E[φ(u)²], i.e. q = g² E[φ(u)²],
u ~ N(μ, q). It is stable iff the spectral radius of b + δ J φ'(x*) is below one; for iid
J the eigenvalues of J diag(φ') fill a disk of radius g√⟨φ'²⟩, so the radius is
b + δg√⟨φ'²⟩ < 1 ⟺ g²⟨φ'²⟩ < 1 (for the zero fixed point of tanh: g < 1), at any δ.

Maximal Lyapunov exponent. The tangent dynamics y(n+1) = b y(n) + δ Σ_j J_ij φ'(x_j(n))
y_j(n) has, at the single site, a Gaussian input ζ with ⟨ζ(n)ζ(m)⟩ = g² C_d(n−m) Q(n, m),
C_d(k) = E[φ'(u)φ'(v)], Q(n, m) = ⟨y(n)y(m)⟩ (Crisanti & Sompolinsky; Clark et al.,
rnn-lyapunov, in continuous time). Hence
Q(n+1, m+1) − b Q(n, m+1) − b Q(n+1, m) + b² Q(n, m) = δ² g² C_d(n−m) Q(n, m), and the
growing solution Q(n, m) = Λ^{n+m} q(n − m) obeys

.. math::
    (\Lambda^2 + b^2)\,q(k) - b\Lambda\,[q(k+1) + q(k-1)] - \delta^2 g^2 C_d(k)\,q(k) = 0 .

With e(Λ) the lowest eigenvalue of −bΛ(S + S⁻¹) − δ²g² C_d (S the lag shift),
f(Λ) = Λ² + b² + e(Λ) is non-decreasing for Λ ≥ b (Hellmann–Feynman: f' ≥ 2(Λ − b)),
f(b) ≤ 0 (flat trial vector, C_d ≥ 0 on average) and f(b + δg√C_d(0)) ≥ 0, so Λ is the
unique root in that interval, and λ_max = log Λ / δ per unit physical time. Checks:
C_d ≡ ⟨φ'²⟩ (fixed point) gives Λ = b + δg√⟨φ'²⟩, the spectral radius above; δ = 1 with
Δ(k ≠ 0) = 0 gives Λ = g√⟨φ'²⟩; δ → 0 with Λ = 1 + λδ gives the continuous-time
Schrödinger problem (1 + λ)² q = q'' + g² C_d q.

Numerics: Δ(k) on k = 0..K with reflecting ends (the even periodic extension, diagonalised
by the DCT-I, whose symbol 1 + b² − 2b cos(πj/K) is exact for the lag operator). For each
trial Δ0 a damped, positivity-preserving Fourier iteration with Δ(0) held at Δ0 (the
spectrum of C_φ clipped at zero) gives the rescaling α(Δ0) of the network term needed to
keep Δ(0) = Δ0; Δ0 solves α(Δ0) = 1 (bracketed root). Newton's method with the exact
tridiagonal Jacobian plus the Δ0 column then solves the lattice equations to round-off.
Gaussian expectations: trapezoidal rule in the standard normal variable, step set by the
strip of analyticity of φ (|Im x| < π/2 for tanh), exponentially convergent.
"""

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.polynomial import chebyshev
from scipy import fft, linalg, optimize

__all__ = ["ConvergenceError", "MapSolution", "applies_map", "map_lyapunov", "solve_map",
           "solve_site_map"]

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    ConvergenceError,
    SolverInputError,
    backtrack,
    register_runtime,
)
from fieldtheory.solvers.runtime.quadrature import (  # inlined by the code generator
    STRIP,
    gaussian_mean,
    gaussian_pair_mean,
)
from fieldtheory.solvers.runtime.single_phi import (  # inlined by the code generator
    is_single_phi,
    linear_instability,
    single_phi_coefficients,
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


# --------------------------------------------------------------------------- the whole solve


@dataclass(frozen=True, eq=False)
class MapSolution:
    r"""The stationary state of a random map, on lags k = 0..K (τ = kδ).

    ``branch``: ``"fixed_point"``, ``"chaotic"`` (D = 0) or ``"noise_driven"`` (D > 0);
    ``fixed_point_q``: q of the static solution (None for D > 0) and ``fixed_point_stable``
    whether g²⟨φ'²⟩ < 1 there. ``delta`` holds Δ(k) (about the mean), ``c_phi`` C_φ(k)
    (second moment, mean included), ``c_gain`` C_d(k). ``lyapunov`` is λ_max per unit time.
    """

    branch: str
    g: float
    step: float
    D: float
    J0: float
    I: float
    mean: float
    mean_phi: float
    mean_gain: float
    mean_gain_squared: float
    lags: np.ndarray
    delta: np.ndarray
    c_phi: np.ndarray
    c_gain: np.ndarray
    lyapunov: float
    fixed_point_q: float | None
    fixed_point_stable: bool
    residuals: tuple = field(default=())

    @property
    def delta0(self) -> float:
        return float(self.delta[0])

    @property
    def tau(self) -> np.ndarray:
        return self.step * self.lags

    @property
    def lyapunov_per_step(self) -> float:
        return self.lyapunov * self.step

    def spectrum(self, theta) -> np.ndarray:
        """S(θ) = (δ²g² S_φ(θ) + δD)/(1 + b² − 2b cos θ) of the fluctuations (θ per step)."""
        theta = np.asarray(theta, dtype=float)
        b = 1.0 - self.step
        fluct = self.c_phi - self.c_phi[-1]
        k = self.lags[1:, None]
        s_phi = fluct[0] + 2.0 * (fluct[1:, None] * np.cos(k * theta.ravel())).sum(0)
        out = (self.step**2 * self.g**2 * s_phi + self.step * self.D) / (
            1.0 + b * b - 2.0 * b * np.cos(theta.ravel()))
        return out.reshape(theta.shape)

    def observables(self, tau_max: float | None = None, dtau: float | None = None) -> dict:
        """The project's observables schema on τ = 0, dτ, …, tau_max (multiples of δ).

        dτ is rounded to a whole number of steps (at least one), like the simulator.
        """
        per = 1 if dtau is None else max(1, round(dtau / self.step))
        last = self.lags[-1] if tau_max is None else min(
            self.lags[-1], math.floor(tau_max / self.step + 1e-9))
        index = np.arange(0, last + 1, per)
        tau = self.step * self.lags[index]
        out: dict[str, Any] = {
            "mean": self.mean,
            "variance": self.delta0,
            "autocorrelation": {"tau": tau, "values": self.delta[index]},
            "mean_phi": self.mean_phi,
            "autocorrelation_phi": {"tau": tau,
                                    "values": self.c_phi[index] - self.mean_phi**2},
            "mean_gain": self.mean_gain,
            "lyapunov_max": self.lyapunov,
        }
        return out


def solve_map(phi, dphi, g, delta, *, D=0.0, J0=0.0, I=0.0, lags=None, tau_max=None,
              branch="auto", m_guess=None, strip=STRIP, max_iter=60) -> MapSolution:
    r"""Stationary DMFT of x(n+1) = (1−δ)x + δ(Jφ(x) + I) + √(δD) ξ: Δ(k), C_φ, λ_max.

    Parameters
    ----------
    phi, dphi : callable
        φ and φ', elementwise on arrays.
    g, delta : float
        Coupling spread and step δ ∈ (0, 1] (units of the leak time).
    D, J0, I : float
        Noise per unit time, mean coupling (J_ij mean J0/N), bias.
    lags : int, optional
        Lattice length K (reflecting end); at least ``tau_max``/δ. Default: 60 units of
        physical time (K = 60/δ, at least 64), doubled (up to 6 times) until
        |Δ(K) − Δ(3K/4)| ≤ 1e-6 Δ0. A given K is used as is (Δ must decay inside it).
    branch : {"auto", "fixed_point", "fluctuating"}
        ``"auto"``: for D = 0 the fixed point when it is stable (g²⟨φ'²⟩ < 1), else the
        fluctuating (chaotic) state; for D > 0 the noise-driven state.
    m_guess : float, optional
        Start of the magnetisation solve (J0 ≠ 0).

    Raises
    ------
    ConvergenceError
        With the residual history, when no solution is found or it is not a covariance.
    """
    g, delta, D = float(g), float(delta), float(D)
    if not 0.0 < delta <= 1.0:
        raise SolverInputError(f"delta = {delta:g} must lie in (0, 1]")
    if D < 0 or g < 0:
        raise SolverInputError(f"D = {D:g} and g = {g:g} must be non-negative")
    if branch not in ("auto", "fixed_point", "fluctuating", "chaotic"):
        raise SolverInputError(f"unknown branch {branch!r}: use auto, fixed_point or fluctuating")
    if m_guess is None:
        m_guess = float(phi(np.array(float(I)))) if J0 else 0.0
        if J0 and abs(m_guess) < 1e-3:
            m_guess = math.copysign(1e-3, float(I) if I else 1.0)
    model = _MapModel(phi, dphi, g, delta, D, J0, I, strip, m_guess)
    b = model.b
    q = _map_fixed_point(model) if D == 0 else None
    # marginal (g²⟨φ'²⟩ = 1): the fluctuating branch merges with the fixed point
    stable = q is not None and g**2 * model.second_moment("gain", q) <= 1.0 + 1e-12
    if branch == "fixed_point" and q is None:
        raise ConvergenceError("with noise (D > 0) there is no fixed point")
    automatic = lags is None
    if automatic:
        lags = max(64, math.ceil(60.0 / delta))
    K = int(lags) if tau_max is None else max(int(lags), math.ceil(tau_max / delta - 1e-9))
    residuals: list[float] = []
    if branch == "fixed_point" or (branch == "auto" and stable):
        values = np.full(K + 1, q)
        name = "fixed_point"
    elif b == 0.0:
        values = _unit_step(model, K, residuals)
        name = "chaotic" if D == 0 else "noise_driven"
    else:
        for _ in range(7 if automatic else 1):  # double K until the tail is flat
            start = _initial_guess(model, K, residuals)
            values = _map_newton(model, start, max_iter, residuals)
            if abs(values[-1] - values[(3 * K) // 4]) <= 1e-6 * values[0]:
                break
            K *= 2
        name = "chaotic" if D == 0 else "noise_driven"
        if not np.all(np.isfinite(values)):
            raise ConvergenceError("lag equation: Newton diverged", residuals)
        spectrum = fft.dct(values, type=1)
        if spectrum.min() < -1e-9 * spectrum.max():
            raise ConvergenceError("lag equation: solution has a negative spectrum (not a "
                                   f"covariance; min {spectrum.min():.3g})", residuals)
        if D == 0 and np.abs(values - values[0]).max() <= 1e-8 * values[0]:
            name = "fixed_point"
    d0 = float(values[0])
    mean, m = model.magnetisation(d0)
    c_phi = model.table("phi", d0)(values)
    c_gain = model.table("gain", d0)(values)
    gain = _scalar_mean(dphi, mean, d0, strip)
    gain2 = model.second_moment("gain", d0)
    return MapSolution(
        branch=name, g=g, step=delta, D=D, J0=float(J0), I=float(I), mean=float(mean),
        mean_phi=float(m), mean_gain=float(gain), mean_gain_squared=float(gain2),
        lags=np.arange(K + 1), delta=values, c_phi=np.asarray(c_phi, dtype=float),
        c_gain=np.asarray(c_gain, dtype=float),
        lyapunov=map_lyapunov(c_gain, g, delta), fixed_point_q=q,
        fixed_point_stable=bool(stable), residuals=tuple(residuals))


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


# ----------------------------------------------------------------- registration


def applies_map(site) -> bool:
    """A one-φ site in discrete time (``step`` set)."""
    return site.step is not None and is_single_phi(site)


@register_runtime("map", applies=applies_map, priority=100,
                  needs=lambda problem: problem.discrete)
def solve_site_map(site, grid, options) -> dict:
    """:func:`solve_map` of a one-φ map, lags and λ_max in the model's time units.

    The runtime's δ is the leak per step and its time unit the leak time, so one unit of
    the runtime is step/leak of the model's time.
    """
    if not is_single_phi(site):
        raise SolverInputError("the map solver takes one population with one input correlation "
                         f"<phi phi>; this site has populations {site.populations} and "
                         f"{len(site.correlations)} correlation(s)")
    why = linear_instability(site)
    if why:
        raise SolverInputError(why)
    leak, g, J0, I, D = single_phi_coefficients(site)
    (term,) = site.correlations
    scale = float(site.step) / leak
    solution = solve_map(term.left, term.dleft, g, leak, D=D, J0=J0, I=I,
                         tau_max=grid.tau_max / scale, **options)
    observables = solution.observables(grid.tau_max / scale, grid.dtau / scale)
    for key in ("autocorrelation", "autocorrelation_phi"):
        curve = observables[key]
        observables[key] = {"tau": np.asarray(curve["tau"]) * scale, "values": curve["values"]}
    observables["lyapunov_max"] = solution.lyapunov / scale
    observables["branch"] = solution.branch
    return observables
