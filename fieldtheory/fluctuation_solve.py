r"""``solve(model, params, order="1/N")``: the saddle point plus its Gaussian fluctuations.

The pipeline: the saddle point is solved as usual (the generated module), on a lag grid
long and fine enough for Fourier transforms (the site's C_x must have decayed); the
fluctuation stage of the derivation (the Hessian of N·S, :func:`fieldtheory.derive` with
``order="1/N"``) is lowered at the parameter values
(:func:`~fieldtheory.codegen.fluctuations.lower_fluctuations`) and evaluated by the
registered runtime of kind ``fluctuations`` that applies
(:mod:`fieldtheory.solvers.runtime.fluctuations`: stationary Gaussian sites). The result
is the saddle point's :class:`~fieldtheory.results.TheoryResult` with the O(1/N)
observables added: ``dimension``, ``psi``, ``population_variance``,
``population_spectrum``, ``population_spectrum_phi``, ``cross_covariance`` (see
:mod:`fieldtheory.observables`).

References: Clark, Abbott & Litwin-Kumar, PRL 131, 118401 (2023); Clark, Marschall,
van Meegen & Litwin-Kumar, arXiv:2409.01969.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import sympy as sp

from fieldtheory.errors import ConvergenceError, ParameterError
from fieldtheory.ir.model import Model, load_model
from fieldtheory.solvers import registry
from fieldtheory.solvers.runtime.common import ConvergenceError as RuntimeConvergence
from fieldtheory.solvers.runtime.common import SolverInputError, choose_runtime

__all__ = ["fluctuation_parts", "solve_fluctuations"]

#: Lag step of the continuous-time saddle solve the spectra are taken from.
DTAU = 0.05
#: First lag range tried (doubled until C_x(τ_max) < 1e-10 C_x(0), at most MAX_TAU).
TAU_START, MAX_TAU = 80.0, 1280.0
#: First number of lags of a map (doubled likewise, at most MAX_LAGS).
LAGS_START, MAX_LAGS = 400, 12800


def _linear_coefficient(expr) -> float | None:
    """c where ``expr`` = c·u (u the site variable), else None."""
    from fieldtheory.codegen.site import U

    expr = sp.sympify(expr)
    c = sp.diff(expr, U)
    if c.free_symbols or sp.simplify(expr - c * U) != 0:
        return None
    return float(c)


def _response_kernels(derivation, values: dict) -> dict[str, dict[str, float]] | None:
    """K_αβ = Σ_j κ_αj c_j c'_j per population α, over the response terms j of each
    source population β (R_j = c_j R_x of β, acting on h_j = c'_j x of α's own unit);
    None where a site is not Gaussian — a nonlinear drift, or a response kernel on a
    nonlinear function (partial symmetry ρ with a nonlinear φ) —, whose two-point
    functions must then be sampled."""
    site = derivation.site_problem()
    kernels = {}
    for population in site.sites:
        if population.nonlinear != 0:
            return None
        row: dict[str, float] = {}
        for index, coefficient in population.response_coefficients:
            kappa = sp.sympify(coefficient).xreplace(values)
            if kappa == 0:
                continue
            term = site.responses[index]
            left = _linear_coefficient(term.left)
            right = _linear_coefficient(term.right if term.right is not None else term.left)
            if left is None or right is None:
                return None
            row[term.population] = row.get(term.population, 0.0) + float(kappa) * left * right
        kernels[population.population] = row
    return kernels


def _site_kernels(kernels: dict[str, dict[str, float]], leaks: dict[str, float]) -> dict:
    """Per population the ``kernel`` and ``network`` of its :class:`SiteStatistics`: K_αα
    alone where every kernel acts within its population (the closed-form elliptic
    resolvent), else the whole network's (leaks, K) for the joint susceptibility
    χ_α = 1/(b_α − Σ_β K_αβ χ_β) (block partial symmetry across populations)."""
    names = list(kernels)
    crossed = any(K != 0 for a in names for b, K in kernels[a].items() if b != a)
    if not crossed:
        return {a: {"kernel": kernels[a].get(a, 0.0)} for a in names}
    matrix = np.array([[kernels[a].get(b, 0.0) for b in names] for a in names])
    leak = np.array([leaks[a] for a in names])
    return {a: {"network": (leak, matrix, k)} for k, a in enumerate(names)}


def _symmetric_and_fluctuating(observables) -> None:
    """The Gaussian fluctuation runtime's scope, checked on the saddle before any lag
    grid is extended: a fluctuating site (C_x(0) > 0) of zero mean (symmetric phase)."""
    for o in observables:
        variance, mean = float(o["variance"]), float(o["mean"])
        if not variance > 0:
            raise ParameterError(
                f"order 1/N: the site variance must be positive, got {variance!r} (a "
                f"quiescent fixed point has no O(1/N) fluctuations of this kind)")
        if abs(mean) > 1e-9 * max(1.0, math.sqrt(variance)):
            raise ParameterError(
                f"order 1/N: the site mean is {mean:.3g}; the Gaussian fluctuation runtime "
                f"handles sites of zero mean (the symmetric phase) only")


def fine_step(dtau_out: float) -> float:
    """The lag step of the continuous-time saddle solve: the largest divisor of the output
    step ``dtau_out`` not above DTAU."""
    return dtau_out / math.ceil(dtau_out / DTAU - 1e-9)


def _saddle(solve, model: Model, params, discrete_step, tau_out: float, dtau_out: float):
    """The saddle point on a lag grid where C_x has decayed (1e-10 of C_x(0)), fine enough
    for the spectra (continuous time: a step dividing ``dtau_out``, at most DTAU), and
    covering the output grid (``solve``: :func:`fieldtheory.solve.solve`)."""
    if discrete_step is None:
        dtau = fine_step(dtau_out)
        tau_max, limit = max(TAU_START, tau_out), max(MAX_TAU, tau_out)
    else:
        dtau = discrete_step
        tau_max = max(LAGS_START * discrete_step, tau_out)
        limit = max(MAX_LAGS * discrete_step, tau_out)
    tau_max = dtau_out * math.ceil(tau_max / dtau_out - 1e-9)
    while True:
        result = solve(model, params, tau_max=tau_max, dtau=dtau)
        curves = [result.observables]
        curves += list(result.observables.populations.values())
        _symmetric_and_fluctuating(curves)
        tails = [abs(o["autocorrelation"]["values"][-1]) / o["autocorrelation"]["values"][0]
                 for o in curves]
        if max(tails) < 1e-10:
            return result
        if tau_max * 2 > limit:
            raise ConvergenceError(
                f"order 1/N: the site autocorrelation has not decayed by τ = {tau_max:g} "
                f"(C(τ)/C(0) = {max(tails):.2e}); the fluctuation theory needs a mixing "
                f"stationary state (chaotic or noisy)")
        tau_max *= 2


def _coarse(curve: Mapping, tau_max: float, dtau: float) -> dict:
    """A lag curve of the fine saddle grid at the output lags 0, dtau, …, tau_max."""
    tau = np.asarray(curve["tau"], dtype=float)
    wanted = np.arange(0.0, tau_max + dtau / 2, dtau)
    index = np.searchsorted(tau, wanted - 1e-9)
    index = index[(index < tau.size)]
    index = index[np.abs(tau[index] - wanted[: index.size]) < 1e-9]
    return {"tau": tau[index], "values": np.asarray(curve["values"], dtype=float)[index]}


def _on_output_grid(observables, tau_max: float, dtau: float):
    """The saddle's lag curves on the caller's grid (the spectra needed a finer one)."""
    curves = {key: _coarse(observables[key], tau_max, dtau)
              for key in ("autocorrelation", "autocorrelation_phi", "response")
              if key in observables}
    populations = {name: _on_output_grid(obs, tau_max, dtau)
                   for name, obs in observables.populations.items()}
    return replace(observables, **curves, populations=populations)


def solve_fluctuations(solve, model: Model | str, params: Mapping[str, float] | None = None,
                       *, tau_max: float = 20.0, dtau: float = 0.25,
                       options: Mapping[str, Any] | None = None):
    """The saddle point of ``model`` at ``params`` with its O(1/N) observables, curves
    on the lags 0, ``dtau``, …, ``tau_max`` (maps: multiples of the step).

    ``solve`` is the saddle-point solver, :func:`fieldtheory.solve.solve` (passed in, so
    that this module does not import the one that dispatches to it); use
    ``ft.solve(model, params, order="1/N")``.
    """
    model = load_model(model)
    saddle, raw, step, runtime = fluctuation_parts(solve, model, params, tau_max=tau_max,
                                                   dtau=dtau, options=options)
    saddle = replace(saddle, observables=_on_output_grid(saddle.observables, tau_max, dtau))
    return _merged(saddle, raw, step, runtime)


def fluctuation_parts(solve, model: Model, params: Mapping[str, float] | None = None, *,
                      tau_max: float = 20.0, dtau: float = 0.25,
                      options: Mapping[str, Any] | None = None, fine_lags: bool = False):
    """(saddle on its fine lag grid, the fluctuation runtime's raw dict, the map's step or
    None, the runtime's name): :func:`solve_fluctuations` before merging. ``solve`` is
    called as ``solve(model, params, tau_max=, dtau=)`` for the saddle point (the
    renormalized theory passes one with an extra input covariance); ``fine_lags``: the
    runtime's lag curves on the saddle's fine lags instead of the output grid."""
    from fieldtheory.codegen.fluctuations import lower_fluctuations
    from fieldtheory.derive import derive
    from fieldtheory.solvers.runtime.fluctuations import FluctuationProblem, SiteStatistics

    values = model.parameters.resolve(params)
    symbols = {p.symbol: sp.Float(values[p.name]) for p in model.parameters}
    derivation = derive(model, order="1/N")
    site = derivation.site_problem()
    kernels = _response_kernels(derivation, symbols)
    # a dressed site (correlated random modes) has the resolvent kernel and input of the
    # Monte-Carlo runtime, whatever its φ: always sampled
    if kernels is None or site.dressings or (options or {}).get("sampled"):
        return _sampled_parts(model, values, symbols, derivation, tau_max=tau_max, dtau=dtau,
                              options=options, fine_lags=fine_lags)
    if "monte_carlo" in (options or {}):
        raise ParameterError(
            f"{model.name} at {values}, order 1/N: the site is Gaussian and nothing is "
            f"sampled; Monte-Carlo options (monte_carlo, --paths) apply to non-Gaussian sites "
            f"(or with sampled=True)")
    step = None if site.step is None else float(sp.sympify(site.step).xreplace(symbols))
    if step is not None:
        dtau = step * max(1, round(dtau / step))
    saddle = _saddle(solve, model, values, step, tau_max, dtau)
    spec = lower_fluctuations(derivation.fluctuations, site, symbols)
    observables = saddle.observables
    by_population = (dict(observables.populations) if len(spec.populations) > 1
                     else {spec.populations[0]: observables})
    sites = {}
    leaks = {population: float(sp.sympify(lowered.leak).xreplace(symbols))
             for population, lowered in zip(spec.populations, site.sites, strict=True)}
    responses = _site_kernels(kernels, leaks)
    for population in spec.populations:
        o = by_population[population]
        tau = np.asarray(o["autocorrelation"]["tau"], dtype=float)
        lags = tau if step is None else np.round(tau / step)
        sites[population] = SiteStatistics(float(o["mean"]), lags,
                                           np.asarray(o["autocorrelation"]["values"],
                                                      dtype=float), leaks[population],
                                           **responses[population])
    problem = FluctuationProblem(spec, sites)
    registry.runtimes()  # the built-in runtimes registered
    where = f"{model.name} at {values}, order 1/N"
    try:
        runtime = choose_runtime(problem, "auto", kind="fluctuations")
        lags_out = (sites[spec.populations[0]].lags if fine_lags
                    else np.arange(0.0, tau_max + dtau / 2, dtau) / (step or 1.0))
        raw = runtime.solve(problem, None, {"tau": lags_out, **dict(options or {})})
    except SolverInputError as error:
        raise ParameterError(f"{where}: {error}") from None
    except RuntimeConvergence as error:
        raise ConvergenceError(f"{where}: {error}", history=error.residuals) from None
    return saddle, raw, step, runtime.name


#: Monte-Carlo settings of the sampled site (``options={"monte_carlo": {...}}`` overrides):
#: the damped iteration — Anderson mixing did not converge for SCS with ρ = ±0.5.
SAMPLED_DEFAULTS = {"memory": 0, "damping": 0.5, "lyapunov": False}
#: Paths per replica of a dressed site (correlated random modes): its sampled C feeds the
#: dressed input S = F·C back, and the bias O(1/paths) of the self-consistency shows in
#: PR/N (a linear network, exact 0.4879: 0.471 ± 0.004 at 64 paths, 0.496 ± 0.006 and
#: 0.486 ± 0.007 at 128, 0.491 ± 0.004 and 0.487 ± 0.003 at 256; two seeds each).
DRESSED_PATHS = 256


def _site_functions(spec) -> dict:
    """{label: (f, f')} of every site function in the lowered stage (composites of the
    site entries and conjugate fields, kernels of explicit entries, the observed φ)."""
    found: dict = {}
    factors = [f for e in spec.site for c in (e.left, e.right) for f in c.factors]
    factors += [f for field_ in spec.fields if field_.composite is not None
                for f in field_.composite.factors]
    factors += [f for e in spec.explicit for k in e.kernels if k is not None
                for f in (k.left, k.right)]
    for f in (*factors, *spec.phi):
        if f.kind == "function":
            found.setdefault(f.label, (f.function, f.derivative))
    return found


def _sampled_parts(model: Model, values: dict, symbols: dict, derivation, *, tau_max: float,
                   dtau: float, options: Mapping[str, Any] | None, fine_lags: bool):
    """:func:`fluctuation_parts` for non-Gaussian sites: the saddle point by the
    Monte-Carlo runtime, which also returns each replica's sampled two-point functions,
    evaluated by the runtime ``sampled_fluctuations``
    (:mod:`fieldtheory.solvers.runtime.fluctuations_sampled`). ``options`` go to that
    runtime, except ``monte_carlo`` (a dict for the Monte-Carlo runtime: ``paths``,
    ``replicas``, ``seed``, ``damping``, …; defaults :data:`SAMPLED_DEFAULTS`)."""
    from fieldtheory.codegen.fluctuations import lower_fluctuations
    from fieldtheory.codegen.generate import generate
    from fieldtheory.codegen.module import call_generated
    from fieldtheory.results import theory_result, with_connectivity
    from fieldtheory.solvers.runtime.common import Grid
    from fieldtheory.solvers.runtime.fluctuations import FluctuationProblem
    from fieldtheory.solvers.runtime.fluctuations_sampled import SampledSiteStatistics
    from fieldtheory.solvers.runtime.monte_carlo import solve_site_monte_carlo

    site = derivation.site_problem()
    where = f"{model.name} at {values}, order 1/N"
    step = None if site.step is None else float(sp.sympify(site.step).xreplace(symbols))
    if step is not None:
        dtau = step * max(1, round(dtau / step))
    if fine_lags:
        raise ParameterError(f"{where}: the renormalized finite-N theory needs a Gaussian "
                             f"site; this one (a nonlinear drift, or ρ ≠ 0 with a nonlinear "
                             f"φ) is sampled")
    options = dict(options or {})
    options.pop("sampled", None)
    spec = lower_fluctuations(derivation.fluctuations, site, symbols)
    defaults = {**SAMPLED_DEFAULTS, **({"paths": DRESSED_PATHS} if site.dressings else {})}
    settings = {**defaults, **dict(options.pop("monte_carlo", {}) or {}),
                "statistics": _site_functions(spec)}
    # the library's Monte-Carlo runtime on the generated module's SiteSpec: it is what the
    # module inlines for non-Gaussian sites, and it also samples a Gaussian one (a check)
    module = generate(model)
    site_spec = call_generated(module, where, module.spec, **values)
    try:
        raw = solve_site_monte_carlo(site_spec, Grid(tau_max, dtau, 0.02), settings)
    except SolverInputError as error:
        raise ParameterError(f"{where}: {error}") from None
    except RuntimeConvergence as error:
        raise ConvergenceError(f"{where}: {error}", history=error.residuals) from None
    except TypeError as error:
        if "unexpected keyword argument" not in str(error):
            raise
        raise ParameterError(f"{where}: Monte-Carlo options refused: {error}") from None
    raw["method"] = "monte_carlo"
    statistics = raw.pop("site_statistics")
    saddle = with_connectivity(theory_result(model.name, values, raw), model, values)
    observables, errors = saddle.observables, saddle.stderr
    named = (dict(zip(spec.populations, (observables.populations[p] for p in spec.populations),
                      strict=True)) if len(spec.populations) > 1
             else {spec.populations[0]: observables})
    named_errors = (dict(errors.populations) if len(spec.populations) > 1
                    else {spec.populations[0]: errors})
    sites = {}
    for population, stats in zip(spec.populations, statistics, strict=True):
        # the runtime's error of a mean has the paths' sampling error as its floor (a
        # scatter of few replicas can fall far below the error it estimates:
        # monte_carlo_site.path_floors)
        mean, error = float(named[population]["mean"]), float(named_errors[population]["mean"])
        if abs(mean) > 4 * error:
            raise ParameterError(
                f"{where}: population {population} has the sampled site mean {mean:.3g} ± "
                f"{error:.2g}; the fluctuation runtimes handle sites of zero mean (the "
                f"symmetric phase) only")
        sites[population] = SampledSiteStatistics(
            0.0, stats["step"], stats["correlations"], stats["responses"],
            stats["slope_products"], stats["noise"], stats["leak"], stats["discrete"])
    problem = FluctuationProblem(spec, sites)
    registry.runtimes()
    try:
        runtime = choose_runtime(problem, "auto", kind="fluctuations")
        lags = np.arange(0.0, tau_max + dtau / 2, dtau) / (step or 1.0)  # maps: in steps
        raw = runtime.solve(problem, None, {"tau": lags, **options})
    except SolverInputError as error:
        raise ParameterError(f"{where}: {error}") from None
    except RuntimeConvergence as error:
        raise ConvergenceError(f"{where}: {error}", history=error.residuals) from None
    return saddle, raw, step, runtime.name


def _curve(curve: Mapping, axis: str, scale: float = 1.0) -> dict:
    return {axis: np.asarray(curve[axis], dtype=float) * scale,
            "values": np.asarray(curve["values"], dtype=float)}


def _keys(raw: Mapping, step) -> dict:
    out = {key: dict(raw[key])
           for key in ("dimension", "dimension_z", "psi", "population_variance")
           if raw.get(key)}
    time = 1.0 if step is None else step
    for key in ("population_spectrum", "population_spectrum_phi"):
        if key in raw:
            # maps: the runtime's ω is per step and S per step; per unit of model time,
            # ω/δ and S·δ (the convention of the simulator and of continuous time)
            curve = _curve(raw[key], "omega", 1.0 / time)
            out[key] = {"omega": curve["omega"], "values": curve["values"] * time}
    if "cross_covariance" in raw:
        out["cross_covariance"] = _curve(raw["cross_covariance"], "tau", time)
    for key, value in out.items():
        array = value.get("values", list(value.values()))
        if not np.all(np.isfinite(np.asarray(array, dtype=float))):
            raise ConvergenceError(f"order 1/N: the fluctuation runtime returned a "
                                   f"non-finite {key}")
    return out


def _merged(saddle, raw: Mapping, step, runtime: str):
    """The saddle's result with the runtime's O(1/N) keys (network and populations)."""
    observables = saddle.observables
    populations = {name: replace(obs, **_keys(raw["populations"][name], step))
                   for name, obs in observables.populations.items()
                   if name in raw.get("populations", {})}
    merged = replace(observables, **_keys(raw, step),
                     populations=populations or dict(observables.populations))
    errors = saddle.stderr
    if "stderr" in raw and errors is not None:  # a sampled site: the replicas' jackknife
        spread = raw["stderr"]
        errors = replace(errors, **_keys(spread, step), populations={
            name: replace(obs, **_keys(spread["populations"][name], step))
            for name, obs in errors.populations.items()
            if name in spread.get("populations", {})} or dict(errors.populations))
    undefined = dict(saddle.undefined)
    if "population_refused" in raw:
        for key in ("population_variance", "population_spectrum", "population_spectrum_phi",
                    "cross_covariance"):
            undefined[f"/observables/{key}"] = raw["population_refused"]
    return replace(saddle, observables=merged, method=f"{saddle.method}+{runtime}",
                   stderr=errors, undefined=undefined)
