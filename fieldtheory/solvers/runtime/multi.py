r"""Stationary dynamic mean-field theory of P coupled Gaussian populations (general terms).

Self-contained runtime: numpy, scipy, the standard library and
``fieldtheory.solvers.runtime.common`` only (the code generator inlines both source texts).
The problem comes in as a :class:`~fieldtheory.solvers.runtime.common.SiteSpec`.

The single site of population α (Sompolinsky, Crisanti & Sommers, PRL 61, 259 (1988); the
block form e.g. Kadmon & Sompolinsky, PRX 5, 041030 (2015); Mastrogiuseppe & Ostojic,
PLoS CB 13, e1005498 (2017)) is

.. math::
    (a_\alpha + \partial_t) x = \mu_\alpha + \eta_\alpha, \qquad
    \mu_\alpha = I_\alpha + \sum_l B_{\alpha l} m_l, \qquad
    \langle\eta_\alpha(t)\eta_\alpha(s)\rangle = D_\alpha\delta(t - s)
        + \sum_k A_{\alpha k} C_k(t - s),

with m_l = E[f_l(x)] and the FULL second moments C_k(τ) = E[f_k(x(t)) h_k(x(s))] (means
included), each over the site of its own term's population. The site is Gaussian: mean
M_α = μ_α/a_α and autocovariance Δ_α(τ) about M_α, which holds the temporal fluctuations and
the static (quenched) heterogeneity of the units' means, Δ_α(∞) = Δ∞_α ≥ 0. Since the
spectrum of x is that of the input over a_α² + ω²,

.. math::
    (a_\alpha^2 - \partial_\tau^2)\,\Delta_\alpha(\tau) = D_\alpha\delta(\tau)
        + \sum_k A_{\alpha k} C_k(\tau), \qquad
    C_k(\tau) = E[f_k(u) h_k(v)],

(u, v) Gaussian with means M_β, variances Δ_β(0), covariance Δ_β(τ), β the population of
term k. Nothing is subtracted: the constant part of Σ A C_k (e.g. g² m² of a random
coupling with ⟨φ⟩ ≠ 0) is exactly what sustains the plateau, a_α² Δ∞_α = Σ_k A_αk C_k(∞),
while the means of the couplings act only through μ_α (as in the one-population runtime
``stationary.py``, where J0 m enters μ and g² C_φ is the full second moment).

Branches
--------
*Fixed point* (D = 0): Δ_α(τ) ≡ q_α with a_α² q_α = Σ_k A_αk E[f_k(u) h_k(u)],
u ~ N(M_β, q_β). Its linear stability follows from the tangent dynamics (below) with
constant kernel: the fixed point is stable iff the spectral radius of

.. math:: S_{\alpha\beta} = \frac{1}{a_\alpha^2} \sum_{k:\, \beta(k) = \beta}
          A_{\alpha k}\, E[f_k'(u) h_k'(u)]

is below one (one population, one term: g²⟨φ'²⟩ < 1). ``branch="auto"`` takes the fixed
point when it is stable, else the chaotic solution of the lag equation. With noise
(any D_α > 0) there is no fixed point; the branch is ``"noise_driven"``.

Lyapunov exponent
-----------------
Two replicas of the network with the same couplings: their cross-covariance obeys the lag
equation with C_k replaced by E[f_k(x¹(t)) h_k(x²(s))]; linearised about the
synchronous solution (Price's theorem: ∂C_k/∂Δ = E[f_k'(u) h_k'(v)]) and with
δΔ_α(t, s) = e^{λ(t+s)} ψ_α(t − s),

.. math::
    [-\partial_\tau^2 + (a_\alpha + \lambda)^2]\,\psi_\alpha(\tau)
        = \sum_\beta W_{\alpha\beta}(\tau)\,\psi_\beta(\tau), \qquad
    W_{\alpha\beta}(\tau) = \sum_{k:\,\beta(k) = \beta} A_{\alpha k} E[f_k'(u) h_k'(v)].

λ_max is the largest λ with a solution; for one population, (a + λ)² = −E0 with E0 the
ground state of −∂² − g² C_φ'(τ) (Clark et al., rnn-lyapunov; ``stationary.py``). On the
reflecting lattice, Z(λ) = −δ² + diag((a_α + λ)²) − W is a Z-matrix when W ≥ 0
elementwise (A ≥ 0 and monotone f, h): its eigenvalue e(λ) of smallest real part is real
with a positive eigenvector (Perron–Frobenius), increases with λ, and e(−min a) ≤ 0, so
λ_max ≥ −min a solves e(λ) = 0. Equal leaks: (a + λ_max)² = −e₀(−δ² − W), one
shift-invert Arnoldi solve; unequal leaks: bisection on the sign of e(λ), read off the
pivots of an unpivoted LU (a Z-matrix is a nonsingular M-matrix, e > 0, iff they are all
positive). At a fixed point W is constant and the Perron mode τ-constant:
ρ(diag(1/(a + λ)²) W) = 1. When W has negative entries the Perron–Frobenius argument
fails and λ_max is refused (``None`` with a ``"lyapunov_note"``). With noise the same
operator gives λ of the noise-driven flow (replicas share the noise).

Numerics
--------
* Gaussian expectations: ``common.gaussian_pair_mean`` (trapezoidal rule, step set by the
  strip of analyticity), tabulated in Δ ∈ [−Δ0, Δ0] by Chebyshev interpolation to 1e-13.
* Fixed point: monotone iteration from above (the largest root), then ``scipy.optimize.root``.
* Lag equation on τ_k = k h, k = 0..n, second differences with reflecting ends (the even,
  periodic extension; DCT-I modes), unknowns Δ_α(τ_k) and M_α: Newton's method with the
  exact sparse Jacobian (tridiagonal in k, P × P blocks from ∂C_k/∂Δ, dense columns for
  the variances Δ_β(0) and means M_β by forward differences), sparse LU, backtracking.
  The start: a cosh ansatz between the fixed-point variance and a plateau, refined with
  noise continuation (D → D + ε, ε → 0) when Newton alone fails. Errors O(h²).
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.polynomial import chebyshev
from scipy import fft

__all__ = [
    "MultiSolution",
    "applies_multi",
    "solve_multi",
    "solve_site_multi",
]

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    ConvergenceError,
    SiteSpec,
    SolverInputError,
    mixture,
    register_runtime,
)
from fieldtheory.solvers.runtime.multi_lattice import (  # inlined by the code generator
    _decay_rate,
    _lattice_solve,
)
from fieldtheory.solvers.runtime.multi_lyapunov import (  # inlined by the code generator
    _exponent,
)
from fieldtheory.solvers.runtime.multi_problem import (  # inlined by the code generator
    _chebyshev_table,
    _multi_fixed_point,
    _Problem,
    _stability_matrix,
)

# --------------------------------------------------------------------------- solution


@dataclass(frozen=True, eq=False)
class MultiSolution:
    """The stationary state of P populations on the lattice τ_k = k·step (internal form).

    ``delta`` (P × (n + 1)): Δ_α(τ_k); ``mean``: M_α; ``c_phi``: E[φ_α(u)φ_α(v)] (full);
    ``phi_mean``, ``gain``: E[φ_α], E[φ_α']; ``lyapunov``: λ_max or None (``note`` says why).
    """

    names: tuple
    branch: str
    step: float
    per: int
    out: int
    delta: np.ndarray
    mean: np.ndarray
    c_phi: np.ndarray
    phi_mean: np.ndarray
    gain: np.ndarray
    lyapunov: float | None
    note: str
    stability: np.ndarray | None
    residuals: tuple

    def population(self, alpha: int) -> dict[str, Any]:
        """Observables of population α on the output grid (the project schema's keys)."""
        sl = slice(0, self.out * self.per + 1, self.per)
        tau = self.step * np.arange(self.delta.shape[1])[sl]
        return {
            "mean": float(self.mean[alpha]),
            "variance": float(self.delta[alpha, 0]),
            "autocorrelation": {"tau": tau, "values": self.delta[alpha, sl].copy()},
            "mean_phi": float(self.phi_mean[alpha]),
            "autocorrelation_phi": {
                "tau": tau,
                "values": self.c_phi[alpha, sl] - self.phi_mean[alpha] ** 2,
            },
            "mean_gain": float(self.gain[alpha]),
        }

    def mixture(self, fractions) -> dict[str, Any]:
        """Network-wide observables of units drawn with probabilities ``fractions``
        (common.mixture: Δ_all(τ) = Σ_α f_α [Δ_α(τ) + (M_α − M̄)²], likewise for φ)."""
        return mixture([self.population(al) for al in range(len(self.names))], fractions)[0]

    def observables(self, fractions=None) -> dict[str, Any]:
        """Schema dict: top level population 0 (or the mixture), ``populations`` when P > 1."""
        top = self.population(0) if fractions is None else self.mixture(fractions)
        out: dict[str, Any] = dict(top)
        if len(self.names) > 1:
            out["populations"] = {name: self.population(al) for al, name in enumerate(self.names)}
        out["lyapunov_max"] = self.lyapunov
        if self.lyapunov is None:
            out["lyapunov_note"] = self.note
        out["branch"] = self.branch
        return out


def _lattice_shape(tau_max: float, dtau: float, step_max: float, box: float):
    """(step, per, n): the step divides dτ; n steps cover max(box, tau_max)."""
    per = max(math.ceil(dtau / step_max - 1e-9), 1)
    step = dtau / per
    n = math.ceil(max(box, tau_max) / step)
    m = fft.next_fast_len(2 * n, real=True)  # DCT-I of n + 1 points is an FFT of 2n
    while m % 2:
        m = fft.next_fast_len(m + 1, real=True)
    return step, per, m // 2


def solve_multi(
    spec: SiteSpec,
    *,
    tau_max: float = 20.0,
    dtau: float = 0.25,
    step_max: float = 0.02,
    box: float | None = None,
    branch: str = "auto",
    mean_guess=None,
    fractions=None,
    strip: float | None = None,
    max_iter: int = 60,
    extra_covariance=None,
    no_exponent: str | None = None,
    lattice_weight=None,
) -> dict[str, Any]:
    r"""Stationary DMFT of the P Gaussian populations of ``spec``: the observables dict.

    Parameters
    ----------
    spec : SiteSpec
        Continuous time, Gaussian sites (``nonlinear`` all None, no response kernel).
    tau_max, dtau : float
        The output grid τ = 0, dτ, …, tau_max (units of the spec: the leaks are explicit).
    step_max : float
        Largest lattice step (it divides dτ); errors are O(step²).
    box : float, optional
        Lattice length; default 40/κ∞, κ∞ the slowest decay rate of Δ − Δ∞ (module doc).
    branch : {"auto", "fixed_point", "chaotic"}
        ``"auto"``: the fixed point when it exists (no noise) and is stable (spectral radius
        of the stability matrix < 1), else the fluctuating solution.
    mean_guess : array_like, optional
        Start of the means M_α (selects a magnetised root); default I/a nudged off zero.
    fractions : array_like, optional
        Population fractions: the top-level keys become the network-wide mixture; without
        them, the top level is population 0.
    strip : float, optional
        Half-width of the strip of analyticity every expectation is integrated with;
        default: each term's own (``SiteTerm.strip``, ``SiteSpec.phi_strip``).
    extra_covariance : sequence of (lags, values), optional
        One per population: an external stationary Gaussian input of covariance K_α(τ)
        (τ ≥ 0, linear between the lags, 0 beyond the last) added to the right side of the
        lag equation — the population-mode feedback of the renormalized finite-N theory
        (:mod:`fieldtheory.renormalized`). The lattice then covers at least its last lag;
        no fixed point and no λ_max (``lyapunov_note`` says why).
    no_exponent : str, optional
        The caller's reason not to compute λ_max (it becomes ``lyapunov_note``): the maps
        runtime solves its lag equation here, but its tangent problem is not this one.
    lattice_weight : array_like, optional
        The weight w_α ∈ {0, 1} of the lag Laplacian per population (default 1): w_α = 0
        makes population α's lag equation algebraic, a²Δ(τ) = Dδ_{τ0}/step + Σ A C(τ) — a
        memoryless map population beside leaky ones (``maps_multi``, lattice step 1).

    Returns
    -------
    dict
        ``mean``, ``variance``, ``autocorrelation`` {tau, values}, ``mean_phi``,
        ``autocorrelation_phi`` (about ``mean_phi``), ``mean_gain``; ``populations``
        {name: same keys} when P > 1; ``lyapunov_max`` (None with ``lyapunov_note`` when
        not available); ``branch`` (``"fixed_point"``, ``"chaotic"`` or ``"noise_driven"``);
        ``residuals`` (the solver's history, max norms).

    Raises
    ------
    ValueError
        For what the runtime does not support (named).
    ConvergenceError
        When the static equations or the lattice Newton iteration fail.
    """
    if branch not in ("auto", "fixed_point", "chaotic"):
        raise SolverInputError(f"unknown branch {branch!r}: use auto, fixed_point or chaotic")
    problem = _Problem(spec, strip)
    P, a = problem.P, problem.a
    if lattice_weight is not None:
        problem.lattice_weight = np.asarray(lattice_weight, dtype=float).reshape(P)
    if extra_covariance is not None:
        extra_covariance = tuple(extra_covariance)
        if len(extra_covariance) != P:
            raise SolverInputError(f"extra_covariance needs one (lags, values) per population "
                                   f"({P}), got {len(extra_covariance)}")
        problem.extra = extra_covariance
        reach = max(float(np.asarray(lags, dtype=float)[-1]) for lags, _ in extra_covariance)
        if branch == "fixed_point":
            raise ConvergenceError("with an extra input covariance there is no fixed point")
        branch = "chaotic"
    if fractions is not None and np.shape(fractions) != (P,):
        raise SolverInputError(f"fractions {fractions!r} must give one number per population ({P})")
    residuals: list[float] = []
    if mean_guess is None:
        M_seed = problem.I / a
        if problem.means and np.any(problem.B != 0):
            M_seed = np.where(np.abs(M_seed) < 1e-3, np.where(problem.I < 0, -1e-3, 1e-3), M_seed)
    else:
        M_seed = np.asarray(mean_guess, dtype=float).reshape(P)
    noisy = bool(np.any(problem.D > 0))
    if branch == "fixed_point" and noisy:
        raise ConvergenceError("with noise (D > 0) there is no fixed point")

    q, M = _multi_fixed_point(problem, M_seed, residuals) if not noisy else (None, M_seed)
    stability = None
    if q is not None:
        stability = _stability_matrix(problem, q, M)
        radius = float(np.abs(np.linalg.eigvals(stability)).max()) if P else 0.0
    use_fixed = q is not None and (branch == "fixed_point" or (branch == "auto" and radius < 1.0))
    use_fixed = use_fixed and extra_covariance is None
    if use_fixed:
        step, per, n = _lattice_shape(tau_max, dtau, step_max, tau_max if box is None else box)
        delta = np.repeat(q[:, None], n + 1, axis=1)
        name = "fixed_point"
    else:
        guess_box = box if box is not None else 40.0 / (0.5 * float(a.min()))
        if extra_covariance is not None:
            guess_box = max(guess_box, reach)
        step, per, n = _lattice_shape(tau_max, dtau, step_max, guess_box)
        z = _lattice_solve(problem, n, step, M, residuals, max_iter)
        delta, M = z[: P * (n + 1)].reshape(P, n + 1), z[P * (n + 1) :]
        if box is None:
            wanted = 40.0 / _decay_rate(problem, delta, M)
            if wanted > 1.1 * n * step:
                step, per, n2 = _lattice_shape(tau_max, dtau, step_max, wanted)
                grown = np.concatenate([delta, np.repeat(delta[:, -1:], n2 - n, axis=1)], axis=1)
                z = _lattice_solve(
                    problem, n2, step, M, residuals, max_iter, z0=np.concatenate([grown.ravel(), M])
                )
                n = n2
                delta, M = z[: P * (n + 1)].reshape(P, n + 1), z[P * (n + 1) :]
        # an interpolated external covariance carries noise of ~1e-8 where the spectrum of
        # Δ is exponentially small (D = 0): a looser floor for it
        _check_covariance(delta, step, residuals,
                          1e-9 if extra_covariance is None else 1e-6)
        name = "noise_driven" if noisy else "chaotic"
    return _finish(
        problem, name, step, per, n, delta, M, stability, residuals, round(tau_max / dtau),
        no_exponent,
    ).observables(fractions) | {"residuals": tuple(residuals)}


def _check_covariance(delta, step, residuals, floor: float = 1e-9) -> None:
    """Each Δ_α must have a non-negative lattice spectrum, to ``floor`` of its largest
    value (else it is no covariance)."""
    spectrum = step * fft.dct(delta, type=1, axis=1)
    worst = spectrum.min(axis=1) < -floor * np.abs(spectrum).max(axis=1)
    if not np.all(np.isfinite(spectrum)) or np.any(worst):
        raise ConvergenceError(
            "lag equation: a solution with a negative spectrum (not a covariance)", residuals
        )


def _finish(
    problem: _Problem, name, step, per, n, delta, M, stability, residuals, out,
    no_exponent: str | None = None,
) -> MultiSolution:
    P = problem.P
    d0 = delta[:, 0]
    c_phi = np.empty_like(delta)
    phi_mean, gain = np.empty(P), np.empty(P)
    for al in range(P):
        phi, dphi = problem.phi[al], problem.dphi[al]
        strip = problem.phi_strip[al]
        coef = _chebyshev_table(phi, phi, float(M[al]), float(d0[al]), strip,
                                problem.phi_pair[al])
        if coef is None:
            c_phi[al] = float(phi(np.array([M[al]]))[0]) ** 2
        else:
            c_phi[al] = chebyshev.chebval(np.clip(delta[al] / d0[al], -1, 1), coef)
        phi_mean[al] = problem.mean_of(phi, M[al], d0[al], strip, problem.phi_single[al])
        gain[al] = problem.mean_of(dphi, M[al], d0[al], strip)
    finite = [delta, np.asarray(M), c_phi, phi_mean, gain]
    if not all(np.all(np.isfinite(x)) for x in finite):
        raise ConvergenceError("the solution is not finite (an expectation overflowed)", residuals)
    if no_exponent is not None:
        lyapunov, note = None, no_exponent
    elif getattr(problem, "extra", None) is not None:
        lyapunov, note = None, ("λ_max is not defined with an external input covariance "
                                "(the renormalized theory's population feedback)")
    else:
        lyapunov, note = _exponent(problem, name, step, delta, M)
    if lyapunov is not None and not math.isfinite(lyapunov):
        lyapunov, note = None, "λ_max is not finite (the tangent eigenproblem failed)"
    return MultiSolution(
        tuple(problem.names),
        name,
        step,
        per,
        out,
        delta,
        np.asarray(M),
        c_phi,
        phi_mean,
        gain,
        lyapunov,
        note,
        stability,
        tuple(residuals),
    )


# ----------------------------------------------------------------- registration


def applies_multi(site) -> bool:
    """Gaussian sites in continuous time without response kernels: linear drifts, any
    number of populations and of ⟨f h⟩ terms."""
    return site.step is None and not site.has_nonlinear_drift and not site.has_kernel


# inlined wherever it applies, one-φ sites included (``--method multi`` cross-checks the
# stationary runtime there)
@register_runtime("multi", applies=applies_multi, priority=40,
                  needs=lambda problem: not problem.discrete and problem.linear_drift)
def solve_site_multi(site, grid, options) -> dict:
    """:func:`solve_multi`; with the fractions the top level is the whole network, as the
    simulator measures it."""
    return solve_multi(site, tau_max=grid.tau_max, dtau=grid.dtau, step_max=grid.step_max,
                       fractions=site.fractions, **options)
