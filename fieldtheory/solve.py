"""``solve``: the mean-field theory of a model, in the observables schema of ``simulate``.

The pipeline: :func:`~fieldtheory.codegen.generate.generate` (derive → lower → generated
numpy module, cached by content hash), then the module's ``solve`` at the resolved
parameters. The result has the simulator's keys (``N`` is ``None``, there is no
``stderr``) plus ``lyapunov_max`` and ``response``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fieldtheory.codegen.module import call_generated
from fieldtheory.errors import ParameterError
from fieldtheory.ir.model import Model, load_model
from fieldtheory.ir.parameters import parameter_values
from fieldtheory.resources import require
from fieldtheory.results import TheoryResult, TransientResult, theory_result, with_connectivity
from fieldtheory.solvers import registry

__all__ = ["TheoryResult", "TransientResult", "solve", "solve_transient"]


def solve(model: Model | str, params: Mapping[str, float] | None = None, *,
          tau_max: float = 20.0, dtau: float = 0.25, method: str = "auto",
          loops: int | None = None, options: Mapping[str, Any] | None = None,
          order: str | None = None, N: int | None = None) -> TheoryResult:
    """Solve the stationary mean-field equations of ``model`` at ``params``.

    ``order="1/N"`` adds the leading O(1/N) observables from the Gaussian fluctuations
    around the saddle point (``dimension``, ``psi``, ``population_variance``,
    ``population_spectrum``, ``population_spectrum_phi``, ``cross_covariance``;
    :mod:`fieldtheory.fluctuation_solve`); ``options`` then go to the fluctuation runtime.

    With ``N`` as well (``order="1/N"`` only) it is the renormalized finite-N theory of
    :mod:`fieldtheory.renormalized`: the population mode's fluctuations fed back into the
    single site self-consistently, the leading-order result as ``leading_order``.

    ``loops``: K ≥ 0 gives instead the loop expansion to K loops of a unit without
    disorder (:func:`fieldtheory.diagrams.loops.solve_loops`; method ``"loops"``).

    ``method``: ``"auto"`` lets the generated module choose from the derived single site
    at these values (maps, Monte-Carlo for non-Gaussian sites, the kernel solver for
    partial symmetry, the one-φ stationary solver, the multi-population solver); a name
    forces one (``ParameterError`` when the model's module does not have it). ``options``
    go to the chosen runtime (e.g. ``paths``, ``replicas``, ``seed`` of Monte-Carlo).

    Raises
    ------
    UnknownParameterError, ParameterError
        For names the model does not declare and values outside their domains.
    ConvergenceError
        When the solver does not converge; carries the residual history.
    ActionStructureError
        When the derived single site is outside the stationary Gaussian solver's scope.
    """
    from fieldtheory.codegen.generate import generate  # heavy: loaded on demand
    from fieldtheory.ir.posterior import is_posterior
    from fieldtheory.ir.spiking import is_spiking

    if is_spiking(load_model(model)):  # a spiking network (issue 18)
        from fieldtheory.spiking_solve import solve_spiking

        if order is not None or loops is not None or N is not None or options:
            raise ParameterError("solve: a spiking network takes parameters, a method and "
                                 "lags (spiking_solve.solve_spiking)")
        return solve_spiking(model, params, method=method, tau_max=tau_max, dtau=dtau)
    if is_posterior(load_model(model)):  # a static Bayesian model (issue 15)
        from fieldtheory.posterior_solve import solve_posterior

        if order is not None or loops is not None or N is not None or options:
            raise ParameterError("solve: a posterior model takes parameters and a method "
                                 "only (test inputs: posterior_solve.solve_posterior)")
        return solve_posterior(model, params, method=method)

    if order is not None and load_model(model).action.time.is_layered:
        from fieldtheory.layered_solve import solve_layered

        if order != "1/N" or loops is not None or options:
            raise ParameterError(
                "solve: a layered network takes order='1/N' (and a width N) alone, no "
                "loops or solver options")
        if N is not None and (int(N) != N or N < 1):
            raise ParameterError(f"solve: the width N must be a positive integer, got {N}")
        return solve_layered(load_model(model), params, method=method, order=order,
                             N=None if N is None else int(N))
    if order is not None:
        if order != "1/N":
            raise ParameterError(f"solve: order must be '1/N' or None, not {order!r}")
        if loops is not None or method != "auto":
            raise ParameterError("solve: order='1/N' takes neither loops nor a method")
        if N is not None:
            from fieldtheory.renormalized import solve_renormalized

            return solve_renormalized(solve, model, params, N, tau_max=tau_max, dtau=dtau,
                                      options=options)
        from fieldtheory.fluctuation_solve import solve_fluctuations

        return solve_fluctuations(solve, model, params, tau_max=tau_max, dtau=dtau,
                                  options=options)
    if N is not None:
        raise ParameterError("solve: N (a finite-N theory) needs order='1/N'")
    if loops is not None:
        from fieldtheory.diagrams.loops import solve_loops

        return solve_loops(model, params, loops, tau_max, dtau)
    model = load_model(model)
    if model.action.time.is_layered:  # deep and recurrent networks: their kernels
        from fieldtheory.layered_solve import solve_layered

        if options:
            raise ParameterError(f"solve {model.name}: a layered network takes no solver "
                                 f"options, got {sorted(options)}")
        return solve_layered(model, params, method=method)
    values = model.parameters.resolve(params)
    model.action.validate_values(values)  # ensemble values (variance ≥ 0, |ρ| ≤ 1, …)
    if not (tau_max > 0 and 0 < dtau <= tau_max):
        raise ParameterError(f"need 0 < dtau ≤ tau_max, got dtau = {dtau}, tau_max = {tau_max}")
    # the τ lattice every runtime holds some dozens of arrays of
    points = tau_max / min(dtau, float((options or {}).get("step_max", 0.02)))
    require(points * 8 * 64, f"solve {model.name}: tau_max = {tau_max:g}, dtau = {dtau:g}")
    known = registry.methods()
    if method != "auto" and method not in known:
        raise ParameterError(f"unknown solver method {method!r}; registered: "
                             f"{', '.join(('auto', *known))}")
    module = generate(model)
    extra = dict(options or {})
    step_max = extra.pop("step_max", 0.02)  # a lattice step: the template's own argument
    raw = call_generated(module, f"{model.name} at {values}", module.solve, tau_max, dtau, step_max,
                method=method, options=extra, **values)
    return with_connectivity(theory_result(model.name, values, raw), model, values)


def solve_transient(model: Model | str, params: Mapping[str, Any] | None = None, *,
                    t_max: float, dt: float = 0.05,
                    initial: tuple[float, float] = (0.0, 1.0)) -> TransientResult:
    r"""The two-time DMFT of ``model`` from x(0) ~ N(μ0, σ0²) up to ``t_max``.

    A parameter may be a callable of time t (a step, a sinusoid): it must enter only the
    constant input of the single site. The scheme is causal and second order in ``dt``
    (:mod:`fieldtheory.solvers.runtime.two_time`); memory O((t_max/dt)²).
    """
    from fieldtheory.codegen.generate import generate

    model = load_model(model)
    if model.action.time.is_layered:
        raise ParameterError(f"solve_transient: {model.name} is a layered network; its "
                             "layers are its time: ft.solve gives the kernels K(s, t)")
    params = parameter_values(params)
    varying = {k: v for k, v in params.items() if callable(v)}
    values = model.parameters.resolve({k: v for k, v in params.items() if k not in varying})
    model.action.validate_values(values)
    unknown = sorted(set(varying) - set(values))
    if unknown:
        model.parameters.resolve({k: 0.0 for k in unknown})  # raises UnknownParameterError
    if not (t_max > 0 and 0 < dt <= t_max):
        raise ParameterError(f"need 0 < dt ≤ t_max, got dt = {dt}, t_max = {t_max}")
    mu0, sigma0 = (float(v) for v in initial)
    if sigma0 < 0:
        raise ParameterError(f"the initial standard deviation {sigma0} must be ≥ 0")
    module = generate(model)
    raw = call_generated(module, model.name, module.solve_transient, t_max, dt, mu0, sigma0,
                **{**values, **varying})
    return TransientResult(model.name, {**values, **varying}, **raw)
