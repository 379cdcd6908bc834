r"""Stationary dynamic mean-field theory of random rate networks (Gaussian single site).

Self-contained runtime: it imports only numpy, scipy and the standard library, because the
code generator (issue 4) inlines its source text into generated solver modules. The model
enters only through callables: ``phi(x)``, ``dphi(x)`` and optionally ``Phi(x)`` (Φ' = φ),
each acting elementwise on numpy arrays.

The single site (Sompolinsky, Crisanti & Sommers, PRL 61, 259 (1988)) is

.. math::
    (1 + \partial_t) x = \mu + \eta + \xi, \qquad \mu = J_0 m + I, \qquad
    \langle\eta(t)\eta(s)\rangle = g^2 C_\phi(t - s), \qquad
    \langle\xi(t)\xi(s)\rangle = D\,\delta(t - s),

with :math:`m = E[\phi(x)]`. Δ(τ) is the autocorrelation of x about its mean μ (static
heterogeneity of the units' means included: Δ(∞) = Δ∞ ≥ 0) and obeys

.. math::
    (1 - \partial_\tau^2)\Delta(\tau) = g^2 C_\phi(\tau) + D\,\delta(\tau), \qquad
    C_\phi(\tau) = E[\phi(u)\phi(v)],

(u, v) Gaussian with means μ, variances Δ0 = Δ(0), covariance Δ(τ). The scalar conditions
come from the potential picture (Crisanti & Sompolinsky, PRE 98, 062120 (2018)):
Δ'' = −∂V/∂Δ with V(Δ; Δ0) = −Δ²/2 + g² E[Φ(u)Φ(v)], the plateau Δ∞ = g² C_φ(Δ∞; Δ0)
and energy conservation D²/8 + V(Δ0) = V(Δ∞) (Δ'(0⁺) = −D/2).

Numerics:

* Gaussian expectations: trapezoidal rule in the standard normal variable, which converges
  exponentially, ~exp(−2πd/h), for integrands analytic in the strip |Im z| < d; with
  d = (π/2)/√Δ0 (the poles of tanh at ±iπ/2) h is chosen so that 2πd/h ≥ 40.
* Δ0, Δ∞, m from the scalar conditions (root finding; no shooting).
* Δ(τ) on the lattice τ_k = k h, 0 ≤ k ≤ n, with the second-order difference
  (1 − δ²) and reflecting ends (the even, periodic extension diagonalised by the DCT-I):
  a positivity-preserving Fourier iteration, then Newton with the exact tridiagonal
  Jacobian plus the Δ0 column, which solves the lattice equations to round-off.
* λ_max from the ground state of the lattice H = −δ² + 1 − g² C_d(τ) (even sector).

Observables: :meth:`StationarySolution.observables` fills the project schema except
``population_spectrum``. That key is N·S_a(ω) of the population average; at N → ∞ it
collects the O(1/N) cross-covariances of all N² pairs (Clark, Abbott & Litwin-Kumar,
PRL 131, 118401 (2023)), which the saddle point alone does not give, and the single-unit
spectrum (``StationarySolution.spectrum``) would be wrong for it whenever units correlate.
"""

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.polynomial import chebyshev
from scipy import fft, linalg, optimize

__all__ = [
    "ConvergenceError",
    "StaticSolution",
    "StationarySolution",
    "antiderivative",
    "applies_stationary",
    "check_covariance",
    "gaussian_mean",
    "gaussian_pair_mean",
    "linear_response",
    "lyapunov_exponent",
    "normal_rule",
    "solve_autocorrelation",
    "solve_site_stationary",
    "solve_static",
    "solve_stationary",
]

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    STRIP,
    ConvergenceError,
    SolverInputError,
    backtrack,
    gaussian_mean,
    gaussian_pair_mean,
    normal_rule,
    register_runtime,
)
from fieldtheory.solvers.runtime.single_phi import (  # inlined by the code generator
    is_single_phi,
    single_phi_coefficients,
)


def antiderivative(phi, panel: float = 0.5, order: int = 20):
    r"""Φ(x) = ∫₀ˣ φ(y) dy as a vectorised callable (composite Gauss–Legendre).

    Whole panels [k·panel, (k+1)·panel] are summed cumulatively; the remainder gets its own
    Gauss–Legendre rule. For φ analytic in |Im y| < π/2 each panel is exact to round-off.
    """
    t, wt = np.polynomial.legendre.leggauss(order)
    t, wt = 0.5 * (t + 1.0), 0.5 * wt

    def segment(a, b):
        return (b - a) * (phi(a[..., None] + (b - a)[..., None] * t) @ wt)

    def Phi(x):
        x = np.asarray(x, dtype=float)
        k = np.floor(np.abs(x) / panel)
        kmax = int(k.max(initial=0.0))
        edges = panel * np.arange(kmax + 1.0)
        up = np.concatenate([[0.0], np.cumsum(segment(edges[:-1], edges[1:]))])
        down = np.concatenate([[0.0], np.cumsum(segment(-edges[:-1], -edges[1:]))])
        index = k.astype(int)
        start = np.sign(x) * panel * k
        whole = np.where(x >= 0, up[index], down[index])
        return whole + segment(start, x)

    return Phi


def _pair_table(f, g, mean: float, delta0: float, strip: float):
    """Chebyshev interpolant of Δ ↦ E[f(u)g(v)] on [−Δ0, Δ0] (degree doubled to 1e-13)."""
    for degree in (64, 128, 256, 512):
        coef = chebyshev.chebinterpolate(
            lambda x: gaussian_pair_mean(f, g, mean, delta0, delta0 * x, strip), degree)
        if np.abs(coef[-8:]).max() <= 1e-13 * max(np.abs(coef).max(), 1e-300):
            break
    return lambda delta: chebyshev.chebval(np.clip(delta / delta0, -1.0, 1.0), coef)


# --------------------------------------------------------------------------- scalar theory


@dataclass(frozen=True)
class StaticSolution:
    """Scalar order parameters of one branch (continuum values, no τ lattice).

    ``branch`` is ``"fixed_point"`` (Δ0 = Δ∞, no temporal fluctuations) or
    ``"fluctuating"`` (chaotic for D = 0, noise-driven otherwise).
    """

    branch: str
    delta0: float
    delta_inf: float
    mean: float
    mean_phi: float
    mean_gain: float
    mean_gain_squared: float


class _Model:
    """The callables and parameters of one single-site problem (internal)."""

    def __init__(self, phi, dphi, Phi, g, J0, I, D, strip):
        self.phi, self.dphi = phi, dphi
        self.Phi = Phi if Phi is not None else antiderivative(phi)
        self.g, self.J0, self.I, self.D, self.strip = float(g), float(J0), float(I), float(D), strip

    def magnetisation(self, delta0: float, m_guess: float) -> tuple[float, float]:
        """(μ, m) with m = E[φ(u)], u ~ N(J0 m + I, Δ0): the stable root nearest m_guess.

        A few plain iterations move m_guess towards a stable root; then the nearest root in
        the direction in which m − E[φ] points downhill is bracketed on geometrically
        growing distances (one vectorised evaluation) and refined by Brent's method, which
        stays robust at the magnetic transition, where Newton's method stalls.
        """
        def residual(m):
            m = np.asarray(m, dtype=float)
            return gaussian_mean(lambda v: self.phi(self.J0 * m[..., None] + v),
                                 self.I, delta0, self.strip) - m

        if self.J0 == 0.0:
            return self.I, float(residual(np.array([0.0]))[0])
        def scalar(x):
            return float(residual(np.array([x]))[0])

        m = float(m_guess)
        for _ in range(20):
            m = m + scalar(m)
        start = scalar(m)
        if abs(start) <= 1e-14 * max(abs(m), 1.0):
            return self.J0 * m + self.I, m
        points = m + math.copysign(1.0, start) * max(abs(m), 1.0) * 2.0 ** np.arange(-40, 11)
        values = residual(points)
        flips = np.flatnonzero(np.sign(values) != math.copysign(1.0, start))
        if not flips.size:
            raise ConvergenceError(f"magnetisation: no root of m = E[φ] near {m_guess}")
        ends = (m if flips[0] == 0 else points[flips[0] - 1], points[flips[0]])
        # the scan and the scalar calls may round differently: re-check the bracket
        signs = [scalar(x) for x in ends]
        if signs[0] * signs[1] > 0:
            root = ends[int(abs(signs[1]) < abs(signs[0]))]
        else:
            root = optimize.brentq(scalar, *sorted(ends), xtol=1e-16, rtol=1e-15)
        return self.J0 * root + self.I, float(root)

    def c_phi(self, delta, delta0, mean):
        return gaussian_pair_mean(self.phi, self.phi, mean, delta0, delta, self.strip)

    def c_gain(self, delta, delta0, mean):
        return gaussian_pair_mean(self.dphi, self.dphi, mean, delta0, delta, self.strip)

    def potential(self, delta, delta0, mean):
        pair = gaussian_pair_mean(self.Phi, self.Phi, mean, delta0, delta, self.strip)
        return -0.5 * np.asarray(delta) ** 2 + self.g**2 * pair

    def plateau(self, delta0: float, mean: float) -> float | None:
        r"""Smallest root of h(Δ) = g² C_φ(Δ; Δ0) − Δ in [0, Δ0] (h is convex); None if none."""
        g2 = self.g**2

        def h(d):
            return g2 * float(self.c_phi(d, delta0, mean)) - d

        def slope(d):
            return g2 * float(self.c_gain(d, delta0, mean)) - 1.0

        h0 = h(0.0)
        if slope(0.0) >= 0.0:
            return 0.0 if h0 <= 1e-15 * max(delta0, 1.0) else None
        if h0 <= 1e-15 * max(delta0, 1.0):
            return 0.0
        lowest = delta0 if slope(delta0) <= 0.0 else optimize.brentq(slope, 0.0, delta0,
                                                                    xtol=1e-14)
        if h(lowest) > 0.0:
            return None
        return optimize.brentq(h, 0.0, lowest, xtol=1e-15, rtol=1e-15)

    def energy(self, delta0: float, m_guess: float) -> float:
        """D²/8 + V(Δ0) − V(Δ∞) (positive: the particle overshoots the plateau)."""
        mean, _ = self.magnetisation(delta0, m_guess)
        plateau = self.plateau(delta0, mean)
        target = 0.0 if plateau is None else plateau
        v = self.potential(np.array([delta0, target]), delta0, mean)
        return self.D**2 / 8 + float(v[0] - v[1])

    def static(self, branch: str, delta0: float, delta_inf: float, m_guess: float):
        mean, m = self.magnetisation(delta0, m_guess)
        var = max(delta0, 0.0)
        gain = float(gaussian_mean(self.dphi, mean, var, self.strip))
        gain2 = float(gaussian_mean(lambda x: self.dphi(x) ** 2, mean, var, self.strip))
        return StaticSolution(branch, delta0, delta_inf, mean, m, gain, gain2)


def _fixed_point(model: _Model, m_guess: float) -> StaticSolution:
    r"""Static solution Δ0 = Δ∞ = g² E[φ(u)²] (largest root), u ~ N(μ, Δ0)."""
    g2 = model.g**2

    def excess(d):
        mean, _ = model.magnetisation(d, m_guess)
        return g2 * float(gaussian_mean(lambda x: model.phi(x) ** 2, mean, d, model.strip)) - d

    top = max(1.0, g2)
    while excess(top) > 0:
        top *= 2.0
        if top > 1e8:
            raise ConvergenceError("fixed point: g² E[φ²] grows faster than Δ0 (unbounded φ "
                                   "with g ≥ 1 has no static solution)")
    grid = top * np.logspace(0, -12, 61)
    values = [excess(d) for d in grid]
    delta0 = 0.0
    for upper, lower, v_up, v_low in zip(grid, grid[1:], values, values[1:], strict=False):
        if v_up <= 0.0 < v_low:
            delta0 = optimize.brentq(excess, lower, upper, xtol=1e-15, rtol=1e-15)
            break
    return model.static("fixed_point", delta0, delta0, m_guess)


def _fluctuating(model: _Model, m_guess: float, upper: float) -> StaticSolution:
    """Δ0 from the energy condition: first sign change (+ → −) on a geometric scan."""
    top = max(upper, 1e-3)
    for _ in range(40):
        if model.energy(top, m_guess) < 0:
            break
        top *= 2.0
    else:
        raise ConvergenceError("energy condition: no Δ0 with an energy deficit up to "
                               f"{top:.3g}")
    grid = top * np.logspace(-8, 0, 33)
    values = [model.energy(d, m_guess) for d in grid]
    for lower, upper_, v_low, v_up in zip(grid, grid[1:], values, values[1:], strict=False):
        if v_low > 0.0 >= v_up:
            delta0 = optimize.brentq(lambda d: model.energy(d, m_guess), lower, upper_,
                                     xtol=1e-15, rtol=1e-15)
            break
    else:
        raise ConvergenceError("energy condition has no root: no fluctuating branch",
                               values)
    mean, m = model.magnetisation(delta0, m_guess)
    plateau = model.plateau(delta0, mean)
    if plateau is None or (model.D == 0 and plateau >= delta0 * (1 - 1e-9)):
        raise ConvergenceError(f"energy root Δ0 = {delta0:.6g} has no plateau below it")
    return model.static("fluctuating", delta0, plateau, m)


def solve_static(phi, dphi, g, *, J0=0.0, I=0.0, D=0.0, Phi=None, branch="auto",
                 m_guess=None, strip=STRIP) -> tuple[StaticSolution, StaticSolution | None]:
    r"""The branch selected and the fixed point (None when D > 0): scalar conditions only.

    ``branch="auto"``: for D = 0 the fixed point if it is stable, g²⟨φ'²⟩ < 1 (means
    included), else the chaotic branch; for D > 0 the noise-driven stationary state.
    """
    if branch not in ("auto", "fixed_point", "fluctuating", "chaotic"):
        raise SolverInputError(f"unknown branch {branch!r}: use auto, fixed_point or chaotic")
    model = _Model(phi, dphi, Phi, g, J0, I, D, strip)
    if m_guess is None:
        # a seed off m = 0, so that an unstable paramagnet (J0⟨φ'⟩ > 1) flows to the
        # magnetised root (of the sign of I; + when I = 0: the −m root is its mirror image)
        m_guess = float(phi(np.array(float(I)))) if J0 else 0.0
        if J0 and abs(m_guess) < 1e-3:
            m_guess = math.copysign(1e-3, float(I) if I else 1.0)
    fixed = _fixed_point(model, m_guess) if D == 0 else None
    # at the marginal point g²⟨φ'²⟩ = 1 the fluctuating branch merges with the fixed
    # point (Δ0 → 0 as g → 1⁺), so the fixed point is taken there (λ_max = 0)
    if branch == "fixed_point" or (branch == "auto" and fixed is not None
                                   and model.g**2 * fixed.mean_gain_squared <= 1 + 1e-12):
        if fixed is None:
            raise ConvergenceError("with noise (D > 0) there is no fixed point")
        return fixed, fixed
    upper = fixed.delta0 if fixed is not None and fixed.delta0 > 0 else max(1.0, g**2)
    return _fluctuating(model, m_guess, upper + model.D), fixed


# --------------------------------------------------------------------------- Δ(τ) on a lattice


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
            self.cache[key] = _pair_table(f, f, self.mean, float(delta0), self.strip)
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


# --------------------------------------------------------------------------- λ_max, response


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


def linear_response(tau, omega, J0: float, mean_gain: float) -> dict[str, Any]:
    r"""Responses of x to an input h(t), in time (``tau``) and frequency (``omega``).

    ``own``: an input to one unit only. For iid J its feedback through the network is
    O(1/√N), so the response is the leak propagator R(τ) = e^{−τ}Θ(τ), R(ω) = 1/(1 + iω).
    ``common``: an input to all units. The mean coupling J0/N feeds the population average
    back with gain J0⟨φ'⟩: R(ω) = 1/(1 + iω − J0⟨φ'⟩), R(τ) = e^{−(1 − J0⟨φ'⟩)τ}Θ(τ);
    it diverges at the magnetic instability J0⟨φ'⟩ = 1. Itô convention: Θ(0) = 0.
    """
    tau = np.asarray(tau, dtype=float)
    omega = np.asarray(omega, dtype=float)
    feedback = float(J0) * float(mean_gain)
    step = np.where(tau > 0, 1.0, 0.0)
    return {
        "tau": tau,
        "omega": omega,
        "own": {"time": step * np.exp(-np.abs(tau)), "frequency": 1.0 / (1.0 + 1j * omega)},
        "common": {"time": step * np.exp(-(1.0 - feedback) * np.abs(tau)),
                   "frequency": 1.0 / (1.0 + 1j * omega - feedback)},
        "feedback": feedback,
    }


# --------------------------------------------------------------------------- the whole solve


@dataclass(frozen=True, eq=False)
class StationarySolution:
    r"""The stationary state of one branch, on the caller's τ grid.

    ``branch`` is ``"fixed_point"``, ``"chaotic"`` (D = 0) or ``"noise_driven"`` (D > 0);
    ``stable_branch`` says which of fixed point and chaos is stable, ``fixed_point`` holds
    the static solution (None for D > 0) and ``lyapunov`` λ_max of this branch.
    ``delta0`` is the lattice Δ(0) (equal to ``autocorrelation[0]``); ``static.delta0`` the
    continuum value from the energy condition (they differ by O(step²)); μ, m, ⟨φ'⟩ are
    the continuum values. ``omega``, ``spectrum``: the single-unit power spectrum of the
    temporal fluctuations, S(ω) = ∫dτ e^{−iωτ}(Δ(τ) − Δ∞) = (g² S_φ(ω) + D)/(1 + ω²) on the
    lattice frequencies ω_j = πj/box (non-negative). ``residuals``: the solver's history.
    """

    branch: str
    static: StaticSolution
    fixed_point: StaticSolution | None
    g: float
    J0: float
    I: float
    D: float
    delta0: float
    tau: np.ndarray
    autocorrelation: np.ndarray
    autocorrelation_phi: np.ndarray
    omega: np.ndarray
    spectrum: np.ndarray
    lyapunov: float
    step: float
    box: float
    residuals: tuple = field(default=())

    @property
    def stable_branch(self) -> str:
        """``"fixed_point"`` if the fixed point is stable (λ < 0), else ``"chaotic"``."""
        if self.fixed_point is None:
            return "noise_driven"
        fp = self.fixed_point
        return "fixed_point" if self.g**2 * fp.mean_gain_squared <= 1 + 1e-12 else "chaotic"

    def observables(self) -> dict[str, Any]:
        """The project's observables schema, without ``population_spectrum`` (see module)."""
        return {
            "mean": self.static.mean,
            "variance": self.delta0,
            "autocorrelation": {"tau": self.tau, "values": self.autocorrelation},
            "mean_phi": self.static.mean_phi,
            "autocorrelation_phi": {"tau": self.tau, "values": self.autocorrelation_phi},
            "mean_gain": self.static.mean_gain,
        }

    def response(self, omega=None) -> dict[str, Any]:
        """:func:`linear_response` on this solution's τ grid (and ``omega``)."""
        omega = self.omega if omega is None else omega
        return linear_response(self.tau, omega, self.J0, self.static.mean_gain)


def _lattice(tau_max, dtau, step_max, box):
    """Lattice step dividing dtau, and the number of lattice steps per output step."""
    per = max(math.ceil(dtau / step_max - 1e-9), 1)
    step = dtau / per
    n = math.ceil(max(box, tau_max) / step)
    return step, per, n


def solve_stationary(phi, dphi, g, *, J0=0.0, I=0.0, D=0.0, Phi=None, tau_max=20.0,
                     dtau=0.25, step_max=0.02, box=None, branch="auto", m_guess=None,
                     strip=STRIP, max_iter=40) -> StationarySolution:
    r"""Stationary DMFT of (1 + ∂t)x = J0 m + I + η + ξ: scalars, Δ(τ), C_φ(τ), λ_max.

    Parameters
    ----------
    phi, dphi, Phi : callable
        φ, φ' and (optional) Φ with Φ' = φ, elementwise on arrays; Φ defaults to
        :func:`antiderivative` of φ.
    g, J0, I, D : float
        Coupling spread, mean coupling, bias, white-noise intensity.
    tau_max, dtau : float
        The output grid τ = 0, dτ, …, tau_max.
    step_max : float
        Largest lattice step; the step used divides ``dtau``. Errors are O(step²).
    box : float, optional
        Lattice length; default 40/κ∞ (κ∞² = 1 − g² C_d(Δ∞), the decay rate of Δ − Δ∞).
    branch : {"auto", "fixed_point", "chaotic"}
        ``"auto"`` takes the stable one (see :func:`solve_static`).
    m_guess : float, optional
        Start of the magnetisation solve (selects the magnetised branch when J0⟨φ'⟩ > 1).

    Raises
    ------
    ConvergenceError
        When a root or Newton's method fails, or the solution has a negative spectrum.
    """
    static, fixed = solve_static(phi, dphi, g, J0=J0, I=I, D=D, Phi=Phi, branch=branch,
                                 m_guess=m_guess, strip=strip)
    g2 = float(g) ** 2
    if box is None:
        decay2 = 1.0 - g2 * float(gaussian_pair_mean(dphi, dphi, static.mean,
                                                     static.delta0, static.delta_inf, strip))
        box = 40.0 / math.sqrt(max(decay2, 1e-4))
    step, per, n = _lattice(tau_max, dtau, step_max, box)
    if static.branch == "fixed_point":
        delta = np.full(n + 1, static.delta0)
        residuals: list[float] = []
    else:
        delta, residuals = solve_autocorrelation(phi, dphi, g, static, D=D, step=step,
                                                 box=n * step, strip=strip,
                                                 max_iter=max_iter)
    d0 = float(delta[0])
    if d0 > 0:
        c_phi = _pair_table(phi, phi, static.mean, d0, strip)(delta)
        c_gain = _pair_table(dphi, dphi, static.mean, d0, strip)(delta)
    else:
        c_phi = np.full(n + 1, float(phi(np.array(static.mean))) ** 2)
        c_gain = np.full(n + 1, float(dphi(np.array(static.mean))) ** 2)
    spectrum = step * fft.dct(delta - delta[-1], type=1)
    omega = np.pi * np.arange(n + 1) / (n * step)
    out = slice(0, round(tau_max / dtau) * per + 1, per)
    return StationarySolution(
        branch=static.branch if static.branch == "fixed_point" else (
            "chaotic" if D == 0 else "noise_driven"),
        static=static, fixed_point=fixed, g=float(g), J0=float(J0), I=float(I),
        D=float(D), delta0=d0, tau=step * np.arange(n + 1)[out], autocorrelation=delta[out],
        autocorrelation_phi=c_phi[out] - static.mean_phi**2, omega=omega, spectrum=spectrum,
        lyapunov=lyapunov_exponent(c_gain, g, step), step=step, box=n * step,
        residuals=tuple(residuals))


# ----------------------------------------------------------------- registration


def applies_stationary(site) -> bool:
    """A one-φ site (:func:`is_single_phi`) in continuous time."""
    return site.step is None and is_single_phi(site)


@register_runtime("stationary", applies=applies_stationary, priority=60,
                  needs=lambda problem: problem.single_phi and not problem.discrete)
def solve_site_stationary(site, grid, options) -> dict:
    """:func:`solve_stationary` of a one-φ site (energy method, λ_max, responses), with
    times in the model's units; the response is the kick response, R(0⁺) = 1."""
    leak, g, J0, I, D = single_phi_coefficients(site)
    (term,) = site.correlations
    solution = solve_stationary(term.left, term.dleft, g, J0=J0, I=I, D=D,
                                tau_max=grid.tau_max * leak, dtau=grid.dtau * leak,
                                step_max=grid.step_max, **options)
    observables = solution.observables()
    tau = solution.tau / leak
    for key in ("autocorrelation", "autocorrelation_phi"):
        observables[key] = {"tau": tau, "values": observables[key]["values"]}
    response = solution.response()
    observables["lyapunov_max"] = solution.lyapunov * leak
    # the runtime gives the field theory's Ito value R(t, t) = 0 at tau = 0
    for key, which in (("response", "own"), ("response_common", "common")):
        values = np.array(response[which]["time"], dtype=float)
        values[tau == 0] = 1.0
        observables[key] = {"tau": tau, "values": values}
    observables["branch"] = solution.branch
    return observables
