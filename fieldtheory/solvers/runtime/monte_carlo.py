r"""Monte-Carlo single-site dynamic mean-field theory (stationary, non-Gaussian sites).

Self-contained runtime: numpy, scipy and the standard library only (the code generator
inlines its source text after :mod:`common`). The problem is a :class:`SiteSpec`: for a
site of population α (continuous time)

.. math::
    \partial_t x = -a_\alpha x + r_\alpha(x) + \mu_\alpha + \eta_\alpha(t) + \xi_\alpha(t)
        + \sum_j \kappa_{\alpha j} \int_{-\infty}^t ds\, R_j(t - s)\, h_j(x(s)),

μ_α = I_α + Σ_l B_αl m_l, ⟨ξ_α(t)ξ_α(s)⟩ = D_α δ(t − s), η_α Gaussian with
⟨η_α(t)η_α(s)⟩ = Σ_k A_αk C_k(t − s), m_l = ⟨f_l(x)⟩, C_k(τ) = ⟨f_k(x(t + τ)) h_k(x(t))⟩
and R_j(τ) = δ⟨f_j(x(t + τ))⟩/δ(input at t), each over its term's population. When r is
nonlinear the site is not Gaussian and the order parameters are sampled (Eissfeller &
Opper, PRL 68, 2094 (1992); Roy, Biroli, Bunin & Cammarota, J. Phys. A 52, 484001 (2019));
the response kernel is the partially symmetric network's self-coupling (Martí, Brunel &
Ostojic, PRE 97, 062314 (2018)).

The estimate is the mean of B = ``replicas`` independent self-consistent solutions, each
from its own ``paths`` sampled paths (units) per population, run side by side; its
standard error is their scatter over √B, and at least the paths' own sampling error
(:func:`path_floors`, for the path means, the variance, both autocorrelations and the
response: the scatter of the per-path estimates over B·paths units; a scatter of few
replicas has a long tail towards small values). Why replicas: the self-consistency amplifies the
sampling noise of one pass by (1 − F')⁻¹ (F the map Q ↦ Q̂ of the order parameters; its
slow mode contracts by ≈ 0.8 per step for chaotic rate networks, an amplification ≈ 5),
which a batch error of one pass would miss. The price is a bias O(1/paths) of each
replica (the map is nonlinear in the sampled noise): use paths ≫ replicas.

One iteration, at fixed order parameters (m, C, R) per replica:

1. **Input paths.** η_α on the grid t_k = k·dt is sampled exactly (for the symmetrised,
   tapered covariance) by circulant embedding (Dietrich & Newsam, SIAM J. Sci. Comput. 18,
   1088 (1997)): the covariance c(l) = K(l·dt) is extended beyond the estimation window
   by its plateau (the static, quenched part: each path is one unit with its own offset),
   made periodic with period M ≥ 2·length, and η = Re/Im FFT[√(λ/M) (z₁ + i z₂)] with
   λ = FFT(c) gives two independent paths. Negative λ (a truncated, noisy covariance need
   not be positive definite) are clipped to 0 and the rest rescaled to keep c(0); the
   clipped weight Σ|λ₋|/Σ|λ| of the last iteration is reported (``clipped_spectrum``).
2. **The site.** The leak and the white noise exactly, r by Heun's predictor–corrector
   (weak order 2 for additive noise): with F_k = μ + (η_k + η_{k+1})/2 + K̄_k,
   b_k = e^{−a dt}x_k + √(D(1 − e^{−2a dt})/(2a)) ξ_k and φ₁ = (1 − e^{−a dt})/a,
   x̃ = b_k + φ₁[r(x_k) + F_k], x_{k+1} = b_k + φ₁[(r(x_k) + r(x̃))/2 + F_k]. The kernel
   K_k = Σ_j κ_j dt Σ_{l=0}^{L} w_l R_j(l dt) h_j(x_{k−l}) (trapezoidal weights),
   K̄_k = (3K_k − K_{k−1})/2 (Adams–Bashforth). Bias O(dt²), up to the O(dt^{3/2})
   interplay of the noise with r.
3. **The response, by the tangent dynamics** (a kicked copy with common noise, in the
   limit of an infinitesimal kick): y(t) = ∂x(t)/∂x(s) obeys
   ẏ = −a y + r'(x) y + Σ_j κ_j ∫ds' R_j(t − s') h_j'(x(s')) y(s'), y(s) = 1, with η and
   ξ held fixed (they are given inputs of the effective site, so the derivative at fixed
   noise is the MSRDJ response ⟨f(x(t)) x̃(s)⟩), and R_j(t − s) = ⟨f_j'(x(t)) y(t)⟩. It is
   propagated with the same discrete scheme, so it is the exact derivative of the
   discretised site. We prefer it to Novikov's theorem, ⟨f(x(t)) η(s)⟩ =
   ∫du C_η(s, u) R_f(t, u), which gives R only by deconvolving a smooth C_η (ill-posed:
   sampling noise is amplified without bound at high frequency), and to the white-noise
   form ⟨f(x(t)) ξ(s)⟩ = D R_f(t, s), which needs D > 0 and has variance ∝ 1/(D dt).
   Kicks are repeated every L + 1 steps along each path (stationarity).
4. **Estimates** per replica: m_l (path means), C_k(τ) (FFT cross-correlation of f_k(x),
   h_k(x) per path, unbiased 1/(n − l) normalisation, symmetrised in τ as the covariance
   of η must be), R_j(τ).
5. **Maps** (``step`` set; the lowered site u(n+1) − u(n) = −a u + r(u) + μ + η(n) +
   ξ(n) + Σ_j κ_j Σ_m R_j(n, m) h_j(u(m)), ⟨ξ(n)ξ(m)⟩ = D δ_nm): the map itself is the
   scheme, x_{n+1} = (1 − a)x_n + r(x_n) + μ + η_n + K_n + √D ξ_n with
   K_n = Σ_j κ_j Σ_{l=1}^{L} R_j(l) h_j(x_{n−l}) (η sampled at the integer lags, no
   quadrature, no bias). R(n, m) is the response to a source j(m) added to the step that
   makes x(m + 1), so the tangent starts at y(m) = 0 with the unit source in that step:
   y_{n+1} = (1 − a + r'(x_n))y_n + Σ_j κ_j Σ_l R_j(l) h_j'(x_{n−l}) y_{n−l} + δ_{nm},
   R(0) = 0, R_x(1) = 1 — the exact derivative of the map. λ_max from the tangent map
   with δx(n) = Λⁿy(n) (:mod:`~fieldtheory.solvers.runtime.monte_carlo_lyapunov`).
6. **Update** by Anderson acceleration (``memory`` > 0, restarted when the residual
   grows) or the damped iteration Q ← (1 − α)Q + αQ̂.

Frozen noise: every iteration reuses the same random numbers (the generator is reseeded),
so each replica's map Q ↦ Q̂ is deterministic and smooth; its iteration converges
geometrically instead of wandering with the sampling noise, and Anderson acceleration
applies. Convergence criterion, in units of the sampling error: every replica's change
Q̂ − Q of every order parameter (each m_l, each curve C_k, R_j) has a root mean square
over its components ≤ ``tol`` (default 0.1) standard errors of the replica mean
(components without sampling noise, such as a linear site's response, to 1e-6 relative).
The reported values come from the last sweep; ``stderr`` covers the sampling error,
not the dt bias (estimate it by a second run at 2·dt).

Observables per population α (the project schema): ``mean`` ⟨x⟩, ``variance``,
``autocorrelation`` Δ(τ) = ⟨(x(t) − m)(x(t + τ) − m)⟩ (static heterogeneity of the paths
included), ``mean_phi``, ``autocorrelation_phi`` (about ⟨φ⟩), ``mean_gain`` ⟨φ'⟩,
``response`` R_x(τ) = ⟨y(t + τ)⟩ after a kick at t (R_x(0) = 1, as the simulator's
δ-kick response), and for the network ``lyapunov_max``: after convergence, the largest
Lyapunov exponent from the sampled tangent dynamics driven by the self-consistent
perturbation input (:mod:`~fieldtheory.solvers.runtime.monte_carlo_lyapunov`), with its
standard error from the replicas. ``branch``: ``"noise_driven"`` with white noise, else
``"chaotic"`` when λ_max exceeds ``MC_CHAOS_SIGMAS`` = 3 standard errors, else
``"fixed_point"``. For P > 1 the top level holds population 0 and ``populations`` holds
every population by name.

Modules: :mod:`monte_carlo_paths` (input paths, lag products), :mod:`monte_carlo_site` (the
grid, order parameters, one sweep, estimates), :mod:`monte_carlo_lyapunov`, and this one
(the iteration, the result, registration).
"""

import math
from dataclasses import replace

import numpy as np

__all__ = [
    "ConvergenceError",
    "applies_monte_carlo",
    "solve_site_monte_carlo",
    "circulant_sample",
    "lag_products",
    "solve_monte_carlo",
    "quiescent_site",
]

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    ConvergenceError,
    SiteSpec,
    SiteTerm,
    SolverInputError,
    network_level,
    register_runtime,
)
from fieldtheory.solvers.runtime.kernel import (  # inlined by the code generator
    _coefficients,
    kernel_lyapunov,
    solve_kernel,
)
from fieldtheory.solvers.runtime.monte_carlo_lyapunov import (  # inlined by the code generator
    MC_CHAOS_SIGMAS,
    network_lyapunov,
)
from fieldtheory.solvers.runtime.monte_carlo_paths import (  # inlined by the code generator
    circulant_sample,
    lag_products,
)
from fieldtheory.solvers.runtime.monte_carlo_site import (  # inlined by the code generator
    OrderParameters,
    check_monte_carlo,
    derivative_or_difference,
    estimate_order,
    initial_order,
    sample_grid,
    sample_sweep,
    sampled_observables,
    site_statistics,
)

_OBSERVABLE_SCALARS = ("mean", "variance", "mean_phi", "mean_gain")
_OBSERVABLE_CURVES = ("autocorrelation", "autocorrelation_phi", "response")


def _change(order: OrderParameters, estimate: OrderParameters) -> float:
    """Largest over order parameters and replicas of the rms of (Q̂ − Q)/σ, σ the standard
    error of the replica mean of Q̂ (per component)."""
    worst = 0.0
    for current, new in zip(order.parts(), estimate.parts(), strict=True):
        se = new.std(axis=0, ddof=1) / math.sqrt(new.shape[0])
        # floor: a component without sampling noise (a linear site's response) converges
        # to 1e-6 relative
        scale = np.maximum(se, 1e-6 * max(float(np.abs(new).max()), 1e-300))
        worst = max(worst, float(np.sqrt(np.mean(((new - current) / scale) ** 2, axis=1)).max()))
    return worst


#: The window is too short when a correlation still falls, between the means over the
#: third and the last quarter of the estimation window, by more than this share of its
#: decaying part C(0) − C(window) …
MC_WINDOW_DECAY = 0.05
#: … and by more than this many standard errors (the replicas' scatter) of that drop.
MC_WINDOW_SIGMAS = 4.0


def _fed_back(spec: SiteSpec) -> np.ndarray:
    """Which correlations C_k enter some population's input covariance (A_αk ≠ 0)."""
    return np.any(np.asarray(spec.correlation_coupling, float).reshape(spec.size, -1) != 0,
                  axis=0)


def _check_window(spec: SiteSpec, grid, estimate: OrderParameters, residuals) -> None:
    r"""Refuse a solution whose fed-back correlations have not settled within the
    estimation window.

    Beyond the window every C_k is continued by its plateau (the mean of the last quarter:
    the quenched part). That is right for a curve that has decayed to its plateau, wrong for
    one that still falls there: the dynamics is slower than the window, and the continued
    plateau turns part of the slow decay into a spurious static input. The test, for every
    C_k that enters an input covariance (A_αk ≠ 0): the drop d between the means of C
    (replica mean) over the window's third and last quarter, against its decaying part
    C(0) − C(window) (:data:`MC_WINDOW_DECAY`) and against the replicas' scatter of d
    (:data:`MC_WINDOW_SIGMAS`; a tail that has decayed carries sampling noise of 5–10 % of
    the decay with few paths). An exponential decay passes when the window exceeds about
    4 correlation times; oscillations average out over a quarter; the spurious static part
    is then about the drop's share of the decaying variance.

    Not caught: replicas that reach different states (scs at ρ = 0.5, D = 0: some frozen,
    some decaying over ≫ 30 — C_x(0) = 5.44 with the default window, 5.85 with 60), whose
    scatter hides the drop."""
    W = estimate.correlations.shape[-1] - 1
    B = estimate.correlations.shape[0]
    if B < 2:
        return
    third, last = slice(W // 2, 3 * W // 4), slice(3 * W // 4, W + 1)
    curves = estimate.correlations  # (B, K, W + 1)
    drop = curves[..., third].mean(axis=-1) - curves[..., last].mean(axis=-1)  # (B, K)
    coupled = _fed_back(spec)
    for k, term in enumerate(spec.correlations):
        if not coupled[k]:
            continue  # estimated, but fed back nowhere
        d = float(drop[:, k].mean())
        se = float(drop[:, k].std(ddof=1) / math.sqrt(B))
        decay = float(np.mean(curves[:, k, 0] - curves[:, k, -1]))
        if abs(d) > MC_WINDOW_DECAY * abs(decay) and abs(d) > MC_WINDOW_SIGMAS * se:
            window = W * grid.dt
            raise ConvergenceError(
                f"Monte-Carlo DMFT: the correlation {term.name or k} still changes at the end "
                f"of the estimation window ({window:g}): between the window's third and last "
                f"quarter it falls by {d:.4g} ± {se:.2g}, {abs(d / decay):.0%} of its decay "
                f"C(0) − C({window:g}) = {decay:.4g}; the dynamics is slower than the window "
                "(a longer one: option window=…, with t_record several windows long; or "
                "check_window=False)", residuals)


def _schema(v: dict, tau: np.ndarray) -> dict:
    out = {key: float(v[key]) for key in _OBSERVABLE_SCALARS}
    for key in _OBSERVABLE_CURVES:
        out[key] = {"tau": tau, "values": np.asarray(v[key])}
    return out


# --------------------------------------------------------------------------- the solve


class _Anderson:
    r"""Anderson acceleration of Q ← F(Q), per replica (Walker & Ni, SIAM J. Numer. Anal.
    49, 1715 (2011)): with residuals f_i = F(Q_i) − Q_i over the last m iterates,
    γ = argmin ‖f_k − ΔF γ‖ and Q_{k+1} = Q_k + α f_k − (ΔQ + α ΔF)γ. With frozen noise F
    is a smooth deterministic map, so the slow mode of the self-consistency (contraction
    ≈ 0.8 for chaotic rate networks) is removed in a few steps; m = 0 is damped iteration.
    """

    def __init__(self, memory: int, damping: float):
        self.memory, self.damping = memory, damping
        self.points, self.residuals = [], []

    def restart(self) -> None:
        self.points, self.residuals = [], []

    def step(self, order: OrderParameters, estimate: OrderParameters) -> OrderParameters:
        shapes = [a.shape for a in order.astuple()]
        B = shapes[0][0]
        q = np.concatenate([a.reshape(B, -1) for a in order.astuple()], axis=1)
        f = np.concatenate([a.reshape(B, -1) for a in estimate.astuple()], axis=1) - q
        self.points = [*self.points, q][-(self.memory + 1) :]
        self.residuals = [*self.residuals, f][-(self.memory + 1) :]
        new = q + self.damping * f
        if len(self.points) > 1:
            dq = np.diff(np.array(self.points), axis=0)  # (m, B, n)
            df = np.diff(np.array(self.residuals), axis=0)
            for b in range(B):
                gamma = np.linalg.lstsq(df[:, b].T, f[b], rcond=None)[0]
                new[b] -= (dq[:, b] + self.damping * df[:, b]).T @ gamma
        parts, start = [], 0
        for shape in shapes:
            size = math.prod(shape[1:])
            parts.append(new[:, start : start + size].reshape(shape))
            start += size
        return OrderParameters(*parts)


def solve_monte_carlo(
    spec: SiteSpec,
    *,
    tau_max: float = 20.0,
    dtau: float = 0.25,
    paths: int = 64,
    replicas: int = 8,
    dt: float = 0.05,
    t_record: float = 100.0,
    t_burn: float | None = None,
    window: float | None = None,
    seed: int = 0,
    damping: float = 1.0,
    memory: int = 5,
    tol: float = 0.1,
    max_iter: int = 100,
    lyapunov: bool = True,
    statistics: dict | None = None,
    start: str | tuple = "dynamic",
    paths_from: str = "random",
    check_window: bool = True,
) -> dict:
    r"""Stationary single-site DMFT of ``spec`` by Monte-Carlo sampling (see the module).

    Parameters
    ----------
    spec : SiteSpec
        The single-site problem (continuous time or a map); P populations are run side
        by side.
    tau_max, dtau : float
        Output lags τ = 0, dτ, …, tau_max.
    paths, replicas : int
        ``replicas`` independent self-consistent solutions of ``paths`` sampled paths
        (units) each, per population; errors come from their scatter.
    dt : float
        Largest integration step; the step used divides ``dtau`` (a map: its own step).
    t_record, t_burn : float
        Recorded length of each path, and the discarded burn-in (default
        max(10/a_min, window)).
    window : float, optional
        Lag range over which C_k and R_j are estimated and used; beyond it C_k is its
        plateau and R_j zero. Default max(tau_max, 30/a_min); it must exceed the
        correlation and response times severalfold.
    seed : int
        Seed of :func:`numpy.random.default_rng`; equal seeds give identical results.
    damping, memory, tol, max_iter
        Anderson mixing with weight α ∈ (0, 1] over the last ``memory`` iterates
        (``memory`` = 0: the damped iteration Q ← (1 − α)Q + αQ̂); convergence when every
        replica's change of every order parameter is, in rms over its components, ≤ ``tol``
        standard errors of the replica mean; at most ``max_iter`` iterations.
    lyapunov : bool
        Also the network's largest Lyapunov exponent, from the tangent dynamics along the
        converged paths (:mod:`~fieldtheory.solvers.runtime.monte_carlo_lyapunov`; about a
        third of the solve's cost).
    statistics : dict, optional
        {label: (f, f')} of vectorised site functions (in-process callers: the sampled-site
        fluctuation runtime): the result then holds ``site_statistics``, per population the
        per-replica two-point functions and responses of x and these functions on the
        converged paths (:func:`~fieldtheory.solvers.runtime.monte_carlo_site.site_statistics`).
    start : {"dynamic", "static"} or (means, correlations, responses)
        The initial guess (:func:`~fieldtheory.solvers.runtime.monte_carlo_site.initial_order`):
        correlations decaying in τ, flat (all input quenched), or given arrays on the
        estimation grid (``order_parameters["tau"]``) for every replica. Where the DMFT has
        several stable solutions each start reaches the one whose basin holds it — each
        replica on its own (``order_parameters["replicas"]`` tells them apart;
        :mod:`fieldtheory.transitions` sorts them).
    paths_from : {"random", "input"}
        Where each path starts in every sweep: x(0) ~ N(I/a, 1), or (I + η(0))/a — for
        multistable units the well on the side of the path's input
        (:func:`~fieldtheory.solvers.runtime.monte_carlo_site.sample_sweep`).
    check_window : bool
        Refuse (``ConvergenceError``) a solution whose fed-back correlations still fall at
        the end of the estimation window (:func:`_check_window`); False skips the check.

    Returns
    -------
    dict
        The observables schema (top level: population 0) with ``response``,
        ``lyapunov_max`` (None, with ``lyapunov_note``, when not computed), ``branch``
        (:func:`sampled_branch`), ``stderr`` (the same keys), ``iterations``, ``residuals`` (the
        history of the convergence measure), ``clipped_spectrum``, ``order_parameters``
        ({``tau``, ``means``, ``correlations``, ``responses``, ``stderr``}) and, for P > 1,
        ``populations`` {name: observables} (also inside ``stderr``).

    Raises
    ------
    ValueError
        For a map with correlated random modes, negative leak or noise, a zero leak
        without ``window`` and ``t_burn``, bad sizes.
    ConvergenceError
        When the criterion is not met within ``max_iter`` iterations, or the fed-back
        correlations have not settled within the estimation window.
    """
    check_monte_carlo(spec, tau_max, dtau, paths, replicas)
    if not 0 < damping <= 1:
        raise SolverInputError(f"damping = {damping} must lie in (0, 1]")
    grid = sample_grid(spec, tau_max, dtau, dt, t_record, t_burn, window, replicas, paths)
    order = initial_order(spec, grid, start)
    accelerator = _Anderson(memory, damping)
    residuals = []
    # the responses ⟨f'y⟩ of the requested functions, accumulated along every sweep (the
    # last one is not known in advance; their cost is one f' per step and path)
    slopes = tuple(derivative_or_difference(f, df) for f, df in (statistics or {}).values())
    for iteration in range(1, max_iter + 1):
        # frozen noise: the same random numbers every iteration make each replica's
        # iteration a deterministic map, whose convergence is not masked by sampling noise
        rng = np.random.default_rng(seed)
        record, responses, response_x, c, *response_f = sample_sweep(
            spec, grid, order, rng, slopes, paths_from)
        clipped = c
        estimate = estimate_order(spec, grid, record, responses)
        if not all(np.all(np.isfinite(part)) for part in estimate.parts()):
            raise ConvergenceError(
                f"Monte-Carlo DMFT: the sampled site became non-finite at iteration "
                f"{iteration} (a drift or site function undefined or overflowing along the "
                "paths, e.g. log(x) at x ≤ 0)", residuals)
        residuals.append(_change(order, estimate))
        if residuals[-1] <= tol and iteration > 1:
            if check_window:
                _check_window(spec, grid, estimate, residuals)
            result = _result(
                spec,
                grid,
                estimate,
                *sampled_observables(spec, grid, record, response_x),
                residuals,
                clipped,
            )
            if statistics is not None:
                result["site_statistics"] = site_statistics(
                    spec, grid, record, response_x, response_f[0] if response_f else None,
                    statistics)
            if lyapunov and spec.dressings:
                exponents, note = None, ("not computed for resummed correlated modes (the "
                                         "perturbation input would be dressed as well)")
            else:
                exponents, note = (network_lyapunov(spec, grid, order, record, seed)
                                   if lyapunov else (None, "not requested (lyapunov=False)"))
            return _with_exponent(spec, result, exponents, note)
        if iteration > 2 and residuals[-1] > residuals[-2]:
            accelerator.restart()  # safeguard: a growing residual discards the secant history
        order = accelerator.step(order, estimate) if iteration > 1 else estimate
    hint = (" (Anderson mixing: the damped iteration, memory=0 with damping=0.5, may "
            "converge where it does not)" if memory > 0 else "")
    raise ConvergenceError(
        f"Monte-Carlo DMFT: the order parameters still change by more than {tol} standard "
        f"errors (rms) after {max_iter} iterations{hint}{_replica_states(spec, estimate)}",
        residuals,
    )


def _replica_states(spec: SiteSpec, estimate: OrderParameters) -> str:
    """A diagnostic for a failed solve: per fed-back correlation, the range over the
    replicas of C(0) and of C(window)/C(0) — replicas far apart in either sit on different
    states (some frozen, C flat, others decaying: scs at ρ = 0.5, D = 0), or decay more
    slowly than the window."""
    coupled = _fed_back(spec)
    parts = []
    for k, term in enumerate(spec.correlations):
        if not coupled[k]:
            continue
        c0, end = estimate.correlations[:, k, 0], estimate.correlations[:, k, -1]
        ratio = end / np.where(c0 != 0, c0, np.inf)
        parts.append(f"{term.name or k}: C(0) {c0.min():.3g} … {c0.max():.3g}, "
                     f"C(window)/C(0) {ratio.min():.2f} … {ratio.max():.2f}")
    return f"; over the replicas {'; '.join(parts)}" if parts else ""


def _summary(samples: list[dict], tau: np.ndarray, floors: dict):
    """Replica means and their standard errors: the replicas' scatter, at least the
    paths' sampling error (``floors``, :func:`path_floors`; per lag for curves)."""
    values = {key: s.mean(axis=0) for key, s in samples.items()}
    errors = {key: s.std(axis=0, ddof=1) / math.sqrt(s.shape[0]) for key, s in samples.items()}
    for key, floor in floors.items():
        errors[key] = np.maximum(errors[key], floor)
    return _schema(values, tau), _schema(errors, tau)


def _result(spec, grid, order, samples, floors, residuals, clipped) -> dict:
    tau = grid.dt * grid.per * np.arange(grid.outputs + 1)
    values, errors = {}, {}
    for name, sample, floor in zip(spec.populations, samples, floors, strict=True):
        values[name], errors[name] = _summary(sample, tau, floor)
    result = dict(values[spec.populations[0]])
    stderr = dict(errors[spec.populations[0]])
    if spec.size > 1:
        result["populations"] = values
        stderr["populations"] = errors
    B = grid.replicas

    def se(a):
        return a.std(axis=0, ddof=1) / math.sqrt(B)

    result.update(
        {
            "stderr": stderr,
            "iterations": len(residuals),
            "residuals": tuple(residuals),
            "clipped_spectrum": clipped,
            "order_parameters": {
                "tau": grid.dt * np.arange(grid.window + 1),
                **{
                    k: a.mean(axis=0)
                    for k, a in zip(
                        ("means", "correlations", "responses"), order.astuple(), strict=True
                    )
                },
                "stderr": {
                    k: se(a)
                    for k, a in zip(
                        ("means", "correlations", "responses"), order.astuple(), strict=True
                    )
                },
                # each replica's own solution (B, ...): where the DMFT has several stable
                # solutions, replicas may sit on different ones
                "replicas": dict(zip(("means", "correlations", "responses"),
                                     order.astuple(), strict=True)),
            },
        }
    )
    return result


def _with_exponent(spec: SiteSpec, result: dict, exponents, note) -> dict:
    """``result`` with λ_max (replica mean), its standard error and the branch."""
    if exponents is None:
        result["lyapunov_max"], result["lyapunov_note"] = None, note
    else:
        result["lyapunov_max"] = float(np.mean(exponents))
        result["stderr"]["lyapunov_max"] = float(np.std(exponents, ddof=1)
                                                 / math.sqrt(exponents.size))
    result["branch"] = sampled_branch(spec, result)
    return result


def sampled_branch(spec: SiteSpec, result: dict) -> str:
    r"""The branch of a sampled solution: ``"noise_driven"`` with white noise in any
    population; without, ``"chaotic"`` when λ_max exceeds :data:`MC_CHAOS_SIGMAS` standard
    errors, else ``"fixed_point"``. Without λ_max, chaos is temporal fluctuation:
    Δ(0) − Δ(τ_max) beyond that many standard errors (a fixed point's Δ(τ) is flat)."""
    if np.any(np.asarray(spec.noise, float) > 0):
        return "noise_driven"
    errors = result["stderr"]
    if result.get("lyapunov_max") is not None:
        chaotic = result["lyapunov_max"] > MC_CHAOS_SIGMAS * errors["lyapunov_max"]
    else:
        curve, sigma = result["autocorrelation"]["values"], errors["autocorrelation"]["values"]
        chaotic = curve[0] - curve[-1] > MC_CHAOS_SIGMAS * math.hypot(sigma[0], sigma[-1])
    return "chaotic" if chaotic else "fixed_point"


# ----------------------------------------------------------------- the quiescent state


def _affine_at_zero(f, df):
    """(f(0), f'(0)) of an elementwise site function (f' by a central difference when
    ``df`` is None)."""
    zero = np.zeros(1)
    return (float(np.asarray(f(zero), dtype=float)[0]),
            float(np.asarray(derivative_or_difference(f, df)(zero), dtype=float)[0]))


def _tangent(f0: float, f1: float):
    """The affine function f(0) + f'(0)·x and its constant derivative."""
    return (lambda x: f0 + f1 * np.asarray(x, dtype=float),
            lambda x: np.full_like(np.asarray(x, dtype=float), f1))


def quiescent_site(spec: SiteSpec) -> SiteSpec | None:
    r"""The site linearised about x ≡ 0 when x ≡ 0 solves its DMFT exactly, else None.

    x ≡ 0 is a solution when nothing drives the site there: no noise (D = 0), no offset
    (I = 0), r(0) = 0, and every coupled site function vanishes at 0 — f_l(0) = 0 for the
    means with B ≠ 0 (so μ = 0), f_k(0) = h_k(0) = 0 for the correlations with A ≠ 0 (so
    η ≡ 0), h_j(0) = 0 for the responses with κ ≠ 0 (no static kernel input). About it the
    tangent dynamics is the linear site with leak a − r'(0) and every function replaced by
    f(0) + f'(0)x; the quiescent state is a stable fixed point of the network when that
    linear network's spectrum lies left of the imaginary axis (λ_max < 0: the elliptic
    law's right edge −a + r'(0) + √c + k/√c with c = Σ_k A_k f_k'h_k', k = Σ_j κ_j f_j'h_j',
    or the mean-coupling outlier; :func:`~fieldtheory.solvers.runtime.kernel.kernel_lyapunov`).
    One population, no correlated-mode dressings, no mixture (else None: not decided here).
    """
    if spec.size != 1 or spec.dressings or spec.groups is not None:
        return None
    if np.any(np.asarray(spec.noise, float) != 0) or np.any(np.asarray(spec.offset, float) != 0):
        return None
    tiny = 1e-12

    def linear(term: SiteTerm, coupled: bool, sides: tuple[str, ...]):
        left = _affine_at_zero(term.left, term.dleft)
        right = _affine_at_zero(term.right, term.dright) if term.right is not None else None
        values = {"left": left, "right": right}
        if coupled and any(abs(values[side][0]) > tiny for side in sides):
            return None
        f, df = _tangent(*left)
        h, dh = _tangent(*right) if right is not None else (None, None)
        return replace(term, left=f, dleft=df, right=h, dright=dh, pair=None, single=None,
                       strip=None)

    def terms(group, coupling, sides):
        weights = np.asarray(coupling, float).reshape(1, -1)[0]
        out = tuple(linear(t, bool(weights[i] != 0), sides) for i, t in enumerate(group))
        return None if any(t is None for t in out) else out

    means = terms(spec.means, spec.mean_coupling, ("left",))
    correlations = terms(spec.correlations, spec.correlation_coupling, ("left", "right"))
    responses = terms(spec.responses, spec.response_coupling, ("right",))
    if means is None or correlations is None or responses is None:
        return None
    leak = np.asarray(spec.leak, float).copy()
    drift = spec.nonlinear[0]
    if drift is not None:
        r0, r1 = _affine_at_zero(drift, spec.dnonlinear[0])
        if abs(r0) > tiny:
            return None
        leak = leak - r1
    phi, dphi = _tangent(*_affine_at_zero(spec.phi[0], spec.dphi[0]))
    return replace(spec, leak=leak, nonlinear=(None,), dnonlinear=(None,), means=means,
                   correlations=correlations, responses=responses, phi=(phi,),
                   dphi=(dphi,), phi_strip=None)


#: |λ_max| of the linearised quiescent state below which the site counts as at its
#: transition (refused at once instead of sampled for minutes without converging)
QUIESCENT_MARGIN = 1e-9


def solve_quiescent(spec: SiteSpec, tau_max: float, dtau: float) -> dict | None:
    r"""The quiescent solution x ≡ 0 of ``spec`` when it is exact and linearly stable
    (:func:`quiescent_site`), else None: the kernel runtime's exact solution of the
    linearised site — C ≡ 0, ⟨φ'⟩ = φ'(0), the response and λ_max < 0 of the linear
    network. Why not sample it: the Monte-Carlo iteration only approaches C = 0
    geometrically, by the slow mode's factor per step, and its convergence criterion is
    relative to a sampling error that shrinks with C (scs with g = 1.5, ρ = −0.5 ran out of
    iterations). At the transition itself (|λ_max| ≤ :data:`QUIESCENT_MARGIN`) a
    ``ConvergenceError`` says so at once: sampling would creep for minutes and fail."""
    linear = quiescent_site(spec)
    if linear is None or np.any(linear.leak <= 0):
        return None
    if linear.step is not None and np.any(linear.leak >= 2):
        return None
    exponent, _ = kernel_lyapunov(linear, *_coefficients(linear))
    if exponent is None:
        return None  # stability not decided (no random couplings): sample
    if abs(exponent) <= QUIESCENT_MARGIN:
        raise ConvergenceError(
            f"Monte-Carlo DMFT: the site sits at its transition — the quiescent state "
            f"x ≡ 0 is marginal (λ_max = {exponent:.3g} of the network linearised about "
            "it, e.g. g(1 + ρ) = 1 for tanh units): the approach to it is critically "
            "slow and no sampled solution converges; move the parameters off the "
            "transition")
    if exponent > 0:
        return None  # unstable: the network leaves x ≡ 0
    try:
        out = solve_kernel(linear, tau_max=tau_max, dtau=dtau)
    except ConvergenceError:
        return None  # no stationary linear solution after all: sample
    out["quiescent"] = True
    return out


# ----------------------------------------------------------------- registration


def applies_monte_carlo(site) -> bool:
    """Any site, in continuous time or a map (the general, sampled solver: lowest
    priority, so it runs where no deterministic runtime applies — nonlinear drifts, kernels
    on nonlinear functions)."""
    return True


@register_runtime("monte_carlo", applies=applies_monte_carlo, priority=10,
                  needs=lambda problem: (
                      not problem.is_gaussian or bool(getattr(problem, "dressings", ()))),
                  dressings=True)
def solve_site_monte_carlo(site, grid, options) -> dict:
    """:func:`solve_monte_carlo`, the top level the whole network for several populations.

    With the default start, an exact and linearly stable quiescent state is returned
    without sampling (:func:`solve_quiescent`; ``quiescent``: True in the result; option
    ``quiescent=False`` samples anyway). Active states that coexist with it are found from
    other starts (``start``, :mod:`fieldtheory.transitions`)."""
    options = dict(options)
    check = options.pop("quiescent", True)
    if check and not {"start", "statistics", "paths_from"} & options.keys():
        out = solve_quiescent(site, grid.tau_max, grid.dtau)
        if out is not None:
            return network_level(site, out)
    out = solve_monte_carlo(site, tau_max=grid.tau_max, dtau=grid.dtau, **options)
    return network_level(site, out)
