r"""``rate_function(model)``: fluctuations of the window-averaged q = (1/N)Σ_i φ(x_i)² and
the rate function's Gaussian part (issue 17; van Meegen, Kühn & Helias, PRL 127, 158302
(2021), arXiv:2009.08889).

The rate function H of the empirical measure (P ≍ e^{−N H}) contracted to
q = (1/T)∫_0^T dt (1/N)Σ_i φ(x_i(t))² has its minimum at the DMFT value
q̄ = ⟨φ²⟩ = C_φ(0) + m_φ² and curvature 1/H''(q̄) = N·Var(q): the O(1/N) variance of
the composite, computed by the registered runtime of kind ``large_deviations``
(:mod:`fieldtheory.solvers.runtime.window_variance`: the linearised self-consistency on a
two-time grid, its adjoint, and the single-site variance of a quadratic functional by
Monte Carlo). ``rate_function`` {q, values} is H to second order in q − q̄ (the cubic and
higher terms are not computed: stated as ``approximation: "quadratic"``).

What is quenched and what dynamic: the theory is annealed over the couplings. Without a
static part of the DMFT (no mean input) its N·Var(q) falls as 1/T for long windows (H
grows ∝ T), with a slow collective mode; a static part (J0 m or I ≠ 0: quenched fields
of variance g²m²) adds a T-independent part, the network-to-network spread of ⟨q | J⟩. For a
linear network it agrees with exact finite networks (E_J Var(q | J)); for φ = erf with
simulated within-network variances at N = 2000 (smaller N lie 10–35 % below; the
network-to-network variance is a heavy-tailed small-N excess; docs/models/
large-deviations.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldtheory.errors import ConvergenceError, ParameterError
from fieldtheory.ir.model import Model, load_model, require_dynamic
from fieldtheory.ir.parameters import parameter_values
from fieldtheory.jsonout import strict
from fieldtheory.resources import require
from fieldtheory.transitions import dmft_branches

__all__ = ["RateFunctionResult", "rate_function"]

#: Standard deviations (at the given N) spanned by the rate function's q grid.
SPAN = 4.0
POINTS = 41


@dataclass(frozen=True)
class RateFunctionResult:
    """Observables ``q_mean``, ``q_variance_N``, ``q_variance_N_site``, ``window``,
    ``rate_function`` {q, values, approximation}; ``stderr`` of the Monte-Carlo parts."""

    model: str
    params: dict[str, float]
    N: int | None
    observables: dict[str, Any]
    stderr: dict[str, Any]
    undefined: dict[str, str] = field(default_factory=dict)
    #: ``branches`` (per branch: q, static part, kind, replicas, start, errors) and
    #: ``notes`` of the branch search, when it ran.
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        out = {"model": self.model, "params": dict(self.params), "N": self.N,
               "observables": self.observables, "stderr": self.stderr}
        if self.info:
            out["info"] = self.info
        return strict(out, dict(self.undefined))


def rate_function(model: Model | str, params: Mapping[str, float] | None = None, *,
                  window: float = 100.0, N: int | None = None, step: float = 0.1,
                  memory: float = 20.0, samples: int = 4000,
                  seed: int = 0, branches: bool | None = None,
                  branch_paths: int = 64) -> RateFunctionResult:
    r"""N·Var(q) and the quadratic rate function of q over a window of length ``window``.

    For a site with a nonlinear drift (not Gaussian: the window variance is not built for
    it) the stable stationary DMFT solutions are searched instead
    (:func:`~fieldtheory.transitions.dmft_branches`): ``branches`` (their q), ``q_mean``
    where there is one, ``barrier`` null with the reason where there are two.

    Parameters
    ----------
    window : float
        T, the averaging window (model time).
    N : int, optional
        Only sets the q grid of ``rate_function`` (q̄ ± 4 standard deviations at this N;
        default 1000).
    step, memory : float
        The two-time grid's step and how far before the window it reaches.
    samples : int
        Monte-Carlo paths for the single-site variance (its standard error is reported).
    seed : int
    branches : bool, optional
        Search the stable DMFT solutions: None (default) for a non-Gaussian site only,
        True for any one-population site (also beside the window variance), False never
        (a non-Gaussian site is then refused).
    branch_paths : int
        Monte-Carlo paths per replica of the branch search.
    """
    require_dynamic(model, "rate-function")
    from fieldtheory.codegen.generate import generate, refuse_mixture
    from fieldtheory.solve import solve
    from fieldtheory.solvers import registry
    from fieldtheory.solvers.runtime import common
    from fieldtheory.solvers.runtime.common import choose_runtime
    from fieldtheory.solvers.runtime.window_variance import refusal

    model = load_model(model)
    time = model.action.time
    if time.is_layered or time.is_discrete or time.is_zero_dimensional:
        raise ParameterError(f"rate-function: {model.name} is not a network in continuous "
                             "time")
    for name, value, least in (("window", window, 0.0), ("step", step, 0.0),
                               ("memory", memory, 0.0)):
        if not (np.isfinite(value) and value > least):
            raise ParameterError(f"rate-function: {name} = {value:g} must be positive")
    if int(samples) < 100:
        raise ParameterError(f"rate-function: samples = {samples} (at least 100 paths)")
    values = model.parameters.resolve(parameter_values(params))
    model.action.validate_values(values)
    n = round((window + memory) / step)
    if n > 6000:
        raise ParameterError(
            f"rate-function: the two-time grid would hold {n} × {n} points (window + "
            f"memory = {window + memory:g} at step {step:g}); at most 6000 — use a larger "
            "--step")
    require(10 * 8 * n * n, f"rate-function: {n} × {n} two-time grid")
    site = generate(model).spec(**values)
    registry.runtimes("large_deviations")  # registers the built-in runtimes
    where = f"rate-function of {model.name} at {values}"
    refuse_mixture(site, where)
    reason = refusal(site)
    search = bool(branches) or (branches is None and reason is not None
                                and site.size == 1 and site.has_nonlinear_drift)
    found = (dmft_branches(model, values, paths=branch_paths, seed=seed)
             if search else None)
    if reason is not None:
        if found is None:
            raise ParameterError(f"{where}: the window variance needs Gaussian "
                                 f"populations: {reason}")
        return _branches_only(model.name, values, N, window, found, reason)
    # twice the grid's lags: the circulant embedding of the paths sees C decay
    theory = solve(model, values, tau_max=2 * n * step, dtau=step)
    o = theory.observables
    per = ([o] if site.size == 1 else
           [o["populations"][name] for name in site.populations])
    fractions = np.ones(1) if site.size == 1 else np.asarray(site.fractions, float)
    C = [np.asarray(p["autocorrelation"]["values"], float) for p in per]
    means = [float(p["mean"]) for p in per]
    q_bar = float(sum(f * (p["autocorrelation_phi"]["values"][0] + p["mean_phi"] ** 2)
                      for f, p in zip(fractions, per, strict=True)))
    undefined: dict[str, str] = {}
    if max(c[0] for c in C) <= 1e-12:  # a fixed point: q does not fluctuate at this order
        observables = {"q_mean": q_bar, "q_variance_N": 0.0, "q_variance_N_site": 0.0,
                       "window": float(window), "rate_function": None}
        undefined["/observables/rate_function"] = (
            "the DMFT is a fixed point (no fluctuations): H is infinite away from q̄")
        stderr = {"q_variance_N": 0.0, "q_variance_N_site": 0.0}
        info = ({} if found is None
                else _add_branches(observables, stderr, undefined, found))
        return RateFunctionResult(model.name, values, N, observables, stderr, undefined,
                                  info)
    try:
        runtime = choose_runtime(site, "auto", "large_deviations")
        raw = runtime.solve(site, None, {"correlation": C if site.size > 1 else C[0],
                                         "mean": means,
                                         "window": float(window), "memory": float(memory),
                                         "step": float(step), "samples": int(samples),
                                         "seed": int(seed)})
    except common.SolverInputError as error:
        raise ParameterError(f"{where}: {error}") from None
    except common.ConvergenceError as error:
        raise ConvergenceError(f"{where}: {error}", history=error.residuals) from None
    variance = raw["q_variance_N"]
    size = 1000 if N is None else int(N)
    q = q_bar + np.linspace(-SPAN, SPAN, POINTS) * np.sqrt(variance / size)
    observables = {
        "q_mean": q_bar,
        "q_variance_N": variance,
        "q_variance_N_site": raw["q_variance_N_site"],
        "window": float(window),
        "rate_function": {"q": q.tolist(), "values": ((q - q_bar) ** 2 / (2 * variance))
                          .tolist(), "approximation": "quadratic"},
        "q_mean_sampled": raw["q_mean"],
    }
    stderr = {"q_variance_N": raw["stderr"]["q_variance_N"],
              "q_variance_N_site": raw["stderr"]["q_variance_N_site"],
              "q_mean_sampled": raw["stderr"]["q_mean"]}
    info = {}
    if found is not None:
        info = _add_branches(observables, stderr, undefined, found)
    return RateFunctionResult(model.name, values, N, observables, stderr, undefined, info)


#: Why ``barrier`` is null where two branches coexist.
BARRIER_REASON = (
    "not computed: H(μ) = D_KL(μ ‖ μ_η[μ]) vanishes on every stationary DMFT solution, "
    "the unstable one between the branches included, so ΔH is the action of a "
    "time-dependent transition path (an instanton of the empirical path measure), which "
    "needs a non-stationary two-time site (docs/models/large-deviations.md)")


def _add_branches(observables: dict, stderr: dict, undefined: dict, found) -> dict:
    """``branches`` (q of each), their errors, ``barrier`` (null, why); info per branch."""
    observables["branches"] = [b.q for b in found.branches]
    stderr["branches"] = [b.q_stderr for b in found.branches]
    if len(found.branches) > 1:
        observables["barrier"] = None
        undefined["/observables/barrier"] = BARRIER_REASON
    return {"branches": [b.to_json() for b in found.branches], "notes": list(found.notes)}


def _branches_only(name, values, N, window, found, reason) -> RateFunctionResult:
    """A non-Gaussian site: its branches, the window variance null with the reason."""
    observables: dict[str, Any] = {"window": float(window), "q_variance_N": None,
                                   "q_variance_N_site": None, "rate_function": None}
    stderr: dict[str, Any] = {}
    why = f"the window variance needs a Gaussian site: {reason}"
    undefined = {f"/observables/{k}": why
                 for k in ("q_variance_N", "q_variance_N_site", "rate_function")}
    info = _add_branches(observables, stderr, undefined, found)
    if len(found.branches) == 1:
        observables["q_mean"] = found.branches[0].q
        stderr["q_mean"] = found.branches[0].q_stderr
    else:
        observables["q_mean"] = None
        undefined["/observables/q_mean"] = (
            f"{len(found.branches)} stable DMFT solutions: q of each in branches")
    return RateFunctionResult(name, values, N, observables, stderr, undefined, info)
