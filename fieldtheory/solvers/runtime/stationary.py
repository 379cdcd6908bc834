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

(u, v) Gaussian with means μ, variances Δ0 = Δ(0), covariance Δ(τ). The pieces:

* :mod:`static_conditions` — Δ0, Δ∞, m from the potential picture (no shooting);
* :mod:`lag_profile` — analytic φ (the default): Hermite series make every pair
  expectation a power series in Δ/Δ0, Δ(τ) follows from the energy integral exactly in τ,
  λ_max from Richardson-extrapolated lattices;
* :mod:`lag_lattice` — φ with kinks (or ``method="lattice"``): the lattice lag equation,
  O(step²).

Observables: :meth:`StationarySolution.observables` fills the project schema except
``population_spectrum``. That key is N·S_a(ω) of the population average; at N → ∞ it
collects the O(1/N) cross-covariances of all N² pairs (Clark, Abbott & Litwin-Kumar,
PRL 131, 118401 (2023)), which the saddle point alone does not give, and the single-unit
spectrum (``StationarySolution.spectrum``) would be wrong for it whenever units correlate.
"""

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import fft

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
    "solve_profile",
    "solve_site_stationary",
    "solve_static",
    "solve_stationary",
]

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    ConvergenceError,
    SolverInputError,
    register_runtime,
)
from fieldtheory.solvers.runtime.lag_lattice import (  # inlined by the code generator
    check_covariance,
    lyapunov_exponent,
    solve_autocorrelation,
)
from fieldtheory.solvers.runtime.lag_profile import (  # inlined by the code generator
    LagProfile,
    lyapunov_richardson,
)
from fieldtheory.solvers.runtime.quadrature import (  # inlined by the code generator
    STRIP,
    SeriesDivergence,
    closed_pair,
    gaussian_mean,
    gaussian_pair_mean,
    hermite_coefficients,
    normal_rule,
    pair_table,
    term_strip,
)
from fieldtheory.solvers.runtime.single_phi import (  # inlined by the code generator
    is_single_phi,
    linear_instability,
    single_phi_coefficients,
)
from fieldtheory.solvers.runtime.static_conditions import (  # inlined by the code generator
    StaticSolution,
    antiderivative,
    solve_static,
)


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


def _lattice(tau_max, dtau, step_max, box, fast=False):
    """Lattice step dividing dtau, and the number of lattice steps per output step.
    ``fast`` (a default box, free to grow a little): n rounded up so that the spectrum's
    DCT-I (an FFT of length 2n) has only small prime factors."""
    per = max(math.ceil(dtau / step_max - 1e-9), 1)
    step = dtau / per
    n = math.ceil(max(box, tau_max) / step)
    if fast:
        while fft.next_fast_len(2 * n, real=True) != 2 * n:
            n += 1
    return step, per, n


def _output(tau_max, dtau, per) -> slice:
    """The lattice points of the output grid τ = 0, dτ, …, tau_max."""
    return slice(0, round(tau_max / dtau) * per + 1, per)


def solve_stationary(phi, dphi, g, *, J0=0.0, I=0.0, D=0.0, Phi=None, tau_max=20.0,
                     dtau=0.25, step_max=0.02, box=None, branch="auto", m_guess=None,
                     strip=STRIP, max_iter=40, method="auto", pair=None) -> StationarySolution:
    r"""Stationary DMFT of (1 + ∂t)x = J0 m + I + η + ξ: scalars, Δ(τ), C_φ(τ), λ_max.

    Parameters
    ----------
    phi, dphi, Phi : callable
        φ, φ' and (optional, lattice route only) Φ with Φ' = φ, elementwise on arrays; Φ
        defaults to :func:`antiderivative` of φ.
    g, J0, I, D : float
        Coupling spread, mean coupling, bias, white-noise intensity.
    tau_max, dtau : float
        The output grid τ = 0, dτ, …, tau_max.
    step_max : float
        Largest lattice step (the step used divides ``dtau``): the spectrum's lattice, and
        the lag equation's on the lattice route (errors O(step²) there).
    box : float, optional
        Lattice length; default 40/κ∞ (κ∞² = 1 − g² C_d(Δ∞), the decay rate of Δ − Δ∞).
    branch : {"auto", "fixed_point", "chaotic"}
        ``"auto"`` takes the stable one (see :func:`solve_static`).
    m_guess : float, optional
        Start of the magnetisation solve (selects the magnetised branch when J0⟨φ'⟩ > 1).
    strip : float
        Half-width of the strip of analyticity of φ (0 for kinks).
    pair : callable, optional
        A closed form ``pair(mean, variance, covariance)`` of E[φ(u)φ(v)] (``SiteTerm.pair``;
        it may return None, e.g. a zero-mean formula at another mean). Where it holds, the
        output C_φ(τ) is pair(μ, Δ0, Δ(τ)), exact in Δ — the choice over the Hermite series
        (truncated at 1e-16 of Σb_n²) and the Chebyshev table of 2-D quadrature. Δ(τ),
        Δ0 and λ_max keep their own routes (the energy integral needs the series).
    method : {"auto", "series", "lattice"}
        ``"series"``: Hermite series and the energy integral (exact in τ; analytic φ);
        ``"lattice"``: 2-D quadrature and the lattice lag equation (O(step²));
        ``"auto"``: the series where it converges, else the lattice.

    Raises
    ------
    ConvergenceError
        When a root or Newton's method fails, or the solution has a negative spectrum.
    """
    if method not in ("auto", "series", "lattice"):
        raise SolverInputError(f"unknown method {method!r}: use auto, series or lattice")
    options = dict(J0=J0, I=I, D=D, Phi=Phi, branch=branch, m_guess=m_guess, strip=strip)
    grid = (tau_max, dtau, step_max, box)
    if method != "lattice":
        try:
            static, fixed = solve_static(phi, dphi, g, series=True, **options)
            solution = _series_solution(phi, g, static, fixed, float(D), strip, grid, pair)
        except SeriesDivergence:
            if method == "series":
                raise
        else:
            return dataclasses.replace(solution, J0=float(J0), I=float(I))
    static, fixed = solve_static(phi, dphi, g, series=False, **options)
    solution = _lattice_solution(phi, dphi, g, static, fixed, float(D), strip, grid,
                                 max_iter, pair)
    return dataclasses.replace(solution, J0=float(J0), I=float(I))


def solve_profile(phi, dphi, g, *, J0=0.0, I=0.0, D=0.0, branch="auto", m_guess=None,
                  strip=STRIP) -> LagProfile:
    """The :class:`LagProfile` (Δ(τ), C_φ(τ), C_d(τ) at any lag) of the fluctuating branch
    (series route; :class:`SeriesDivergence` for kinks)."""
    static, _ = solve_static(phi, dphi, g, J0=J0, I=I, D=D, branch=branch, m_guess=m_guess,
                             strip=strip, series=True)
    squares = hermite_coefficients(phi, static.mean, static.delta0, strip) ** 2
    return LagProfile(squares, float(g) ** 2, float(D), static.delta0, static.delta_inf)


def _series_solution(phi, g, static, fixed, D, strip, grid, pair=None) -> StationarySolution:
    """The fluctuating branch from :class:`LagProfile` (exact in τ), the fixed point as a
    constant; λ_max by Richardson-extrapolated lattices; the spectrum on a lattice."""
    tau_max, dtau, step_max, box = grid
    g2 = float(g) ** 2
    mean, delta0, plateau = static.mean, static.delta0, static.delta_inf
    if static.branch == "fixed_point" or delta0 - plateau <= 1e-14 * max(delta0, 1e-300):
        c_phi0 = float(gaussian_mean(lambda x: phi(x) ** 2, mean, delta0, strip))
        lyapunov = -1.0 + math.sqrt(g2 * static.mean_gain_squared)
        box = box if box is not None else 40.0
        step, per, n = _lattice(tau_max, dtau, step_max, box)
        delta = np.full(n + 1, delta0)
        curve = np.full(delta[_output(tau_max, dtau, per)].size, c_phi0)
    else:
        squares = hermite_coefficients(phi, mean, delta0, strip) ** 2
        profile = LagProfile(squares, g2, D, delta0, plateau)
        fast = box is None
        box = box if box is not None else 40.0 / max(profile.kappa, 1e-2)
        step, per, n = _lattice(tau_max, dtau, step_max, box, fast)
        lattice_tau = step * np.arange(n + 1)
        delta = profile.delta(lattice_tau)
        curve = profile.curve("phi", lattice_tau[_output(tau_max, dtau, per)])
        lyapunov = lyapunov_richardson(lambda t: profile.curve("gain", t), g2,
                                       min(n * step, 20.0 / max(profile.kappa, 1e-2)))
    exact = closed_pair(pair, mean, delta0, delta[_output(tau_max, dtau, per)])
    curve = exact if exact is not None else curve
    return _solution(static, fixed, g, D, delta, curve, lyapunov, step, per, n, tau_max,
                     dtau, residuals=())


def _lattice_solution(phi, dphi, g, static, fixed, D, strip, grid, max_iter, pair=None):
    """Both branches on the τ lattice (:func:`solve_autocorrelation`), O(step²)."""
    tau_max, dtau, step_max, box = grid
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
    shown = delta[_output(tau_max, dtau, per)]
    if d0 > 0:
        c_phi = closed_pair(pair, static.mean, d0, shown)
        if c_phi is None:
            c_phi = pair_table(phi, phi, static.mean, d0, strip)(shown)
        c_gain = pair_table(dphi, dphi, static.mean, d0, strip)(delta)
    else:
        c_phi = np.full(shown.size, float(phi(np.array(static.mean))) ** 2)
        c_gain = np.full(n + 1, float(dphi(np.array(static.mean))) ** 2)
    return _solution(static, fixed, g, D, delta, c_phi, lyapunov_exponent(c_gain, g, step),
                     step, per, n, tau_max, dtau, residuals=tuple(residuals))


def _solution(static, fixed, g, D, delta, c_phi, lyapunov, step, per, n, tau_max, dtau,
              residuals) -> StationarySolution:
    """Assemble the solution from Δ on the lattice τ_k = k·step, k ≤ n, and C_φ on the
    output grid (the lattice points :func:`_output`; nothing else reads it)."""
    spectrum = step * fft.dct(delta - delta[-1], type=1)
    omega = np.pi * np.arange(n + 1) / (n * step)
    out = _output(tau_max, dtau, per)
    branch = static.branch if static.branch == "fixed_point" else (
        "chaotic" if D == 0 else "noise_driven")
    return StationarySolution(
        branch=branch, static=static, fixed_point=fixed, g=float(g), J0=0.0, I=0.0,
        D=float(D), delta0=float(delta[0]), tau=step * np.arange(n + 1)[out],
        autocorrelation=delta[out], autocorrelation_phi=c_phi - static.mean_phi**2,
        omega=omega, spectrum=spectrum, lyapunov=lyapunov, step=step, box=n * step,
        residuals=residuals)


# ----------------------------------------------------------------- registration


def applies_stationary(site) -> bool:
    """A one-φ site (:func:`is_single_phi`) in continuous time."""
    return site.step is None and is_single_phi(site)


@register_runtime("stationary", applies=applies_stationary, priority=60,
                  needs=lambda problem: problem.single_phi and not problem.discrete)
def solve_site_stationary(site, grid, options) -> dict:
    """:func:`solve_stationary` of a one-φ site (energy method, λ_max, responses), with
    times in the model's units; the response is the kick response, R(0⁺) = 1."""
    why = linear_instability(site)
    if why:
        raise SolverInputError(why)
    leak, g, J0, I, D = single_phi_coefficients(site)
    (term,) = site.correlations
    options = dict(options)
    options["strip"] = term_strip(term, options.get("strip"))
    options.setdefault("pair", term.pair)
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
