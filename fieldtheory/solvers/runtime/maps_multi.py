r"""Stationary dynamic mean-field theory of maps with P Gaussian populations.

Self-contained runtime (numpy, scipy, the standard library and the ``multi`` runtime's
modules, which the code generator inlines). The site of population α in discrete time
(``SiteSpec.step`` set; leak a_α per step, b_α = 1 − a_α) is

.. math::
    x(n+1) = b_\alpha x(n) + \mu_\alpha + \eta_\alpha(n), \qquad
    \langle\eta_\alpha(n)\eta_\alpha(m)\rangle = D_\alpha\delta_{nm}
        + \sum_k A_{\alpha k} C_k(n - m),

μ_α = I_α + Σ_l B_αl m_l, C_k the full second moments of its terms (means included), as
in :mod:`multi`. The mean is M_α = μ_α/a_α and, multiplying the equations at n + k and n,
the autocovariance Δ_α(k) about it obeys the lag equation (the one-population form is
derived in :mod:`maps`)

.. math::
    (1 + b_\alpha^2)\Delta_\alpha(k) - b_\alpha[\Delta_\alpha(k+1) + \Delta_\alpha(k-1)]
    = D_\alpha\delta_{k0} + \sum_k A_{\alpha k} C_k(k).

Divided by b_α > 0 this is the continuous-time multi-population lattice equation
(a² + (2 − S − S⁻¹)/h²)Δ = Dδ_{k0}/h + Σ A C on the lattice of lags with h = 1 — exactly,
not as an approximation — with a_α → (1 − b_α)/√b_α, D_α → D_α/b_α, A_α· → A_α·/b_α and
μ_α → μ_α/√b_α (so that the mean (1 − b_α)M_α = μ_α is kept). So the ``multi`` runtime's
Newton solver on its lattice (fixed point when stable, else the fluctuating solution) is
this runtime's solver, with the lattice step set to one lag. Its fixed-point stability
criterion carries over: ρ(A E[f'h']/(1 − b)²) < 1 is the map's (the bulk of
b + δJφ'(x*) reaches the unit circle first at z = 1 for b ≥ 0).

Memoryless maps (every b_α = 0, δ = 1): the lag equation is algebraic, lag by lag. Then
x(n+1) = μ + η(n) + ξ(n) and Δ_α(0) = D_α + Σ_k A_αk E[f_k h_k] at variances Δ(0) (with
the means: the static equations of ``multi`` with a = 1 and the white noise counted as a
static variance D), and every lag k ≥ 1 has the same covariance q, the stable root of
q_α = Σ_k A_αk C_k(q) — the smallest, reached by iteration from q = 0 (C increasing in q
for A ≥ 0); with D = 0 and a stable fixed point (ρ(A E[f'h']) < 1) the fixed point,
q = Δ(0) (:func:`memoryless`).

Memoryless populations beside leaky ones (some b_α = 0, the rest in (0, 1)): such a
population's lag equation is algebraic, Δ_α(k) = D_α δ_k0 + Σ_k A_αk C_k(k); it is the
lattice equation with leak 1, its numbers undivided and no lattice Laplacian (the
``multi`` runtime's ``lattice_weight`` 0), solved jointly with the leaky ones.

Scope: Gaussian sites (linear drift, no response kernel), every b_α ∈ [0, 1). λ_max is
not computed (``lyapunov_note``): the ``multi`` runtime's tangent problem is that of
continuous time.
Lags: the output grid is every ``per`` = max(1, round(dτ/step)) lags up to τ_max, in the
model's time (τ = k·step).
"""

import dataclasses
import math

import numpy as np

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    ConvergenceError,
    SiteSpec,
    SolverInputError,
    register_runtime,
)
from fieldtheory.solvers.runtime.multi import (  # inlined by the code generator
    _finish,
    solve_multi,
)
from fieldtheory.solvers.runtime.multi_problem import (  # inlined by the code generator
    _kernel_matrix,
    _multi_fixed_point,
    _Problem,
    _stability_matrix,
)

__all__ = ["applies_maps_multi", "continuous_equivalent", "lattice_weights", "memoryless",
           "solve_maps_multi"]

#: Why λ_max is absent (``lyapunov_note``): the multi runtime's tangent problem would be
#: that of continuous time, so it is not computed at all.
NO_EXPONENT = ("λ_max of maps with several populations is not computed (the multi "
               "runtime's tangent problem is that of continuous time)")

#: Iterations of the lag covariance q ← Σ A C(q) of a memoryless map (geometric, by the
#: slope Σ A E[f'h'] at the root: slow only at the edge of chaos).
MEMORYLESS_ITERATIONS = 20_000


def continuous_equivalent(spec: SiteSpec) -> SiteSpec:
    """The continuous-time SiteSpec whose lattice equation (step 1) is the map's lag
    equation (module docstring); SolverInputError where the map is out of scope."""
    if spec.step is None:
        raise SolverInputError("maps_multi takes a map (SiteSpec.step set)")
    if spec.has_nonlinear_drift or spec.has_kernel:
        raise SolverInputError("maps_multi takes Gaussian map sites: no nonlinear drift, no "
                               "response kernel")
    P = spec.size
    b = 1.0 - np.asarray(spec.leak, dtype=float).reshape(P)
    if np.any(b < 0) or np.any(b >= 1):
        raise SolverInputError(
            f"maps_multi needs every 1 − leak in [0, 1); got {b.tolist()}")
    # a memoryless population (b = 0) keeps its numbers: its lag equation is algebraic,
    # Δ(k) = Dδ_k0 + Σ A C(k), the lattice equation with leak 1 and no Laplacian
    # (lattice_weights)
    leaky = b > 0
    scale = np.where(leaky, b, 1.0)
    root = np.sqrt(scale)
    return dataclasses.replace(
        spec,
        step=None,
        leak=np.where(leaky, (1.0 - b) / root, 1.0),
        noise=np.asarray(spec.noise, dtype=float).reshape(P) / scale,
        offset=np.asarray(spec.offset, dtype=float).reshape(P) / root,
        mean_coupling=np.asarray(spec.mean_coupling, dtype=float).reshape(P, -1) / root[:, None],
        correlation_coupling=(np.asarray(spec.correlation_coupling, dtype=float).reshape(P, -1)
                              / scale[:, None]),
    )


def lattice_weights(spec: SiteSpec) -> np.ndarray:
    """The Laplacian's weight per population in :func:`continuous_equivalent`'s lattice
    equation: 1 for a leaky population (b > 0), 0 for a memoryless one (b = 0)."""
    b = 1.0 - np.asarray(spec.leak, dtype=float).reshape(spec.size)
    return (b > 0).astype(float)


def solve_maps_multi(spec: SiteSpec, *, tau_max: float = 20.0, dtau: float = 0.25,
                     box: float | None = None, branch: str = "auto", mean_guess=None,
                     fractions=None, strip: float | None = None, max_iter: int = 60) -> dict:
    """Stationary DMFT of a P-population Gaussian map (module docstring): the observables
    dict of :func:`~fieldtheory.solvers.runtime.multi.solve_multi` with lags in the model's
    time (τ = k·step), ``lyapunov_max`` None. ``box`` is in the model's time too."""
    step = float(spec.step) if spec.step is not None else math.nan
    per = max(1, round(dtau / step))
    lags = max(1, round(tau_max / (per * step))) * per
    if spec.step is not None and np.all(np.asarray(spec.leak, dtype=float) == 1.0):
        out = memoryless(spec, lags, per, fractions=fractions, strip=strip,
                         mean_guess=mean_guess, branch=branch)
    else:
        out = solve_multi(continuous_equivalent(spec), tau_max=float(lags), dtau=float(per),
                          step_max=1.0, box=None if box is None else box / step,
                          branch=branch, mean_guess=mean_guess, fractions=fractions,
                          strip=strip, max_iter=max_iter, no_exponent=NO_EXPONENT,
                          lattice_weight=lattice_weights(spec))
    for part in (out, *out.get("populations", {}).values()):
        for key in ("autocorrelation", "autocorrelation_phi"):
            curve = part[key]
            part[key] = {"tau": np.asarray(curve["tau"], dtype=float) * step,
                         "values": curve["values"]}
    return out


def memoryless(spec: SiteSpec, lags: int, per: int, *, fractions=None, strip=None,
               mean_guess=None, branch: str = "auto") -> dict:
    """The stationary state of a map with every leak 1 (δ = 1; module docstring): lags
    0 … ``lags`` in steps, output every ``per``; the observables dict (lags in steps)."""
    problem = _Problem(dataclasses.replace(spec, step=None), strip)
    P, residuals = problem.P, []
    seed = problem.I if mean_guess is None else np.asarray(mean_guess, dtype=float)
    noisy = bool(np.any(problem.D > 0))
    # a = 1: the static equations q = white + Σ A E[f h](q), M = μ(M, q), white = D/(2a)
    variance, M = _multi_fixed_point(problem, seed, residuals,
                                     noise=2 * problem.D if noisy else None)
    stability = _stability_matrix(problem, variance, M)
    stable = float(np.abs(np.linalg.eigvals(stability)).max()) < 1.0 if P else True
    if not noisy and (branch == "fixed_point" or (branch == "auto" and stable)):
        name, q = "fixed_point", variance.copy()
    else:
        name, q = ("noise_driven" if noisy else "chaotic"), np.zeros(P)
        for _ in range(MEMORYLESS_ITERATIONS):
            C = np.array([problem.correlation(k, q[t.population], variance[t.population],
                                              M[t.population])
                          for k, t in enumerate(problem.terms)]).reshape(-1)
            new = _kernel_matrix(problem, C).sum(axis=1) if problem.terms else np.zeros(P)
            change = float(np.abs(new - q).max())
            q = np.minimum(new, variance)
            if change <= 1e-13 * max(float(variance.max()), 1e-300):
                break
        else:
            raise ConvergenceError(
                f"memoryless map: the lag covariance q = Σ A C(q) did not converge in "
                f"{MEMORYLESS_ITERATIONS} iterations (the edge of chaos?)", residuals)
    delta = np.repeat(q[:, None], lags + 1, axis=1)
    delta[:, 0] = variance
    return _finish(problem, name, 1.0, per, lags, delta, M, stability, residuals,
                   lags // per, NO_EXPONENT).observables(fractions) | {
                       "residuals": tuple(residuals)}


def applies_maps_multi(site) -> bool:
    """Gaussian map sites with every leak in (0, 1] (memoryless populations, leak 1, beside
    leaky ones or alone): any number of populations and terms."""
    if site.step is None or site.has_nonlinear_drift or site.has_kernel:
        return False
    b = 1.0 - np.asarray(site.leak, dtype=float)
    return bool(np.all((b >= 0) & (b < 1)))


# below the one-population ``map`` runtime (priority 100), which takes one-φ maps; inlined
# into generated modules of maps with several populations only (it brings ``multi`` along)
@register_runtime("maps_multi", applies=applies_maps_multi, priority=30,
                  needs=lambda problem: problem.discrete and problem.linear_drift
                  and not problem.has_responses and len(problem.sites) > 1)
def solve_site_maps_multi(site, grid, options) -> dict:
    """:func:`solve_maps_multi`; with the fractions the top level is the whole network."""
    return solve_maps_multi(site, tau_max=grid.tau_max, dtau=grid.dtau,
                            fractions=site.fractions, **options)
