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
from scipy import fft

__all__ = ["ConvergenceError", "MapSolution", "applies_map", "map_lyapunov", "solve_map",
           "solve_site_map"]

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    ConvergenceError,
    SolverInputError,
    register_runtime,
)
from fieldtheory.solvers.runtime.maps_lag import (  # inlined by the code generator
    _initial_guess,
    _map_fixed_point,
    _map_newton,
    _MapModel,
    _scalar_mean,
    _unit_step,
    map_lyapunov,
)
from fieldtheory.solvers.runtime.quadrature import (  # inlined by the code generator
    STRIP,
    term_strip,
)
from fieldtheory.solvers.runtime.single_phi import (  # inlined by the code generator
    is_single_phi,
    linear_instability,
    single_phi_coefficients,
)

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
    options = dict(options)
    options["strip"] = term_strip(term, options.get("strip"))
    solution = solve_map(term.left, term.dleft, g, leak, D=D, J0=J0, I=I,
                         tau_max=grid.tau_max / scale, **options)
    observables = solution.observables(grid.tau_max / scale, grid.dtau / scale)
    for key in ("autocorrelation", "autocorrelation_phi"):
        curve = observables[key]
        observables[key] = {"tau": np.asarray(curve["tau"]) * scale, "values": curve["values"]}
    observables["lyapunov_max"] = solution.lyapunov / scale
    observables["branch"] = solution.branch
    return observables
