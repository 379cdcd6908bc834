"""Solve and sample the posterior of a wide Bayesian network (issue 15; arXiv:2406.16689).

``solve(model)`` of a :class:`~fieldtheory.ir.posterior.Posterior` model comes here:
derive (the ``site`` stage), evaluate it at the parameter values into a
:class:`~fieldtheory.solvers.runtime.posterior.PosteriorSpec`, and run the registered
runtime of kind ``posterior`` of highest priority that applies. ``simulate(model)`` runs
the reference sampler (:mod:`fieldtheory.simulate.posterior_sampler`) on finite networks
and reports the same keys with ``stderr``.

Observables (both): ``readout_second_moment`` A = (1/N) Σ_i ⟨a_i a_iᵀ⟩ (m × m),
``kernel_posterior`` (1/N) Σ_i ⟨h_i h_iᵀ⟩ on the training patterns (P × P) and, with test
inputs, ``prediction`` {``mean``, ``variance``} of f(x*) (P* × m; the variance as N·Var
for γ = 1, where it is O(1/N), and as Var for γ = ½).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from fieldtheory.errors import ConvergenceError, ParameterError
from fieldtheory.ir.model import Model, load_model
from fieldtheory.ir.parameters import evaluate
from fieldtheory.ir.posterior import check_data, is_posterior
from fieldtheory.jsonout import plain, strict
from fieldtheory.resources import require
from fieldtheory.solvers import registry
from fieldtheory.solvers.runtime import common

__all__ = ["PosteriorResult", "posterior_spec", "simulate_posterior", "solve_posterior"]


@dataclass(frozen=True)
class PosteriorResult:
    """Theory (``N`` None) or sampler (``N``, ``stderr``, ``diagnostics``) of a posterior."""

    model: str
    params: dict[str, float]
    observables: dict[str, Any]
    method: str
    N: int | None = None
    stderr: dict[str, Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    #: the sampler's final networks, one {"W", "mu"} per chain (not in the JSON)
    networks: tuple = ()

    def to_json(self) -> dict[str, Any]:
        """``{"model", "params", "N", "method", "observables"[, "stderr"], "info"}``,
        arrays as nested lists, strict JSON."""
        out = {"model": self.model, "params": {k: float(v) for k, v in self.params.items()},
               "N": self.N, "method": self.method,
               "observables": plain(self.observables)}
        if self.stderr is not None:
            out["stderr"] = plain(self.stderr)
        if self.info:
            out["info"] = plain(self.info)
        return strict(out)


def _as_posterior_model(model) -> Model:
    model = load_model(model)
    if not is_posterior(model):
        raise ParameterError(f"model {model.name!r} is not a Bayesian posterior model")
    return model


def _numeric(expr: sp.Expr, h: sp.Symbol, values: Mapping[str, float]):
    """A numpy callable of h for ``expr`` at the parameter values (None for 0)."""
    from fieldtheory.codegen.printer import SolverPrinter

    bound = expr.subs({s: values[str(s)] for s in expr.free_symbols if s != h})
    if bound == 0:
        return None
    fn = sp.lambdify(h, bound, modules=["numpy", "scipy"], printer=SolverPrinter)
    return lambda u: np.asarray(fn(u), dtype=float) * np.ones_like(u, dtype=float)


def posterior_spec(model, params: Mapping[str, float] | None = None, test=None):
    """The lowered single-neuron problem of ``model`` at ``params`` (a PosteriorSpec) and
    the resolved values."""
    from fieldtheory.derive import derive
    from fieldtheory.solvers.runtime.posterior import PosteriorSpec

    model = _as_posterior_model(model)
    post = model.action
    values = post.values(params)
    site = derive(model).site
    x, y = post.inputs.array, post.targets.array
    test = None if test is None else np.atleast_2d(np.asarray(test, dtype=float))
    check_data(x, y, test)
    slope = None if site.slope is None else evaluate(site.slope, values)
    spec = PosteriorSpec(
        x=x, y=y, test=test,
        weight_variance=evaluate(site.weight_variance, values),
        hidden_variance=evaluate(site.hidden_variance, values),
        gamma=float(round(2 * evaluate(site.scaling, values)) / 2),
        temperature=evaluate(site.temperature, values),
        alpha=_numeric(site.alpha, site.h, values), slope=slope,
        offset=_numeric(site.offset, site.h, values), dalpha=_derivative(model, values))
    if spec.temperature == 0:
        _refuse_contradictions(model.name, x, y)
    if spec.alpha is None:
        raise ParameterError(f"model {model.name}: the readout's weight coefficient α(h) "
                             "vanishes at these parameter values: nothing is learned")
    return spec, values


def _refuse_contradictions(name: str, x: np.ndarray, y: np.ndarray) -> None:
    """Two equal input patterns with different targets: the input kernel is singular in a
    way no network can fit at T = 0 (zero training error is impossible)."""
    _, first, inverse = np.unique(x, axis=0, return_index=True, return_inverse=True)
    inverse = np.ravel(inverse)
    for mu in range(x.shape[0]):
        nu = int(first[inverse[mu]])
        if nu != mu and not np.array_equal(y[mu], y[nu]):
            raise ParameterError(
                f"model {name}: input patterns {nu} and {mu} are equal but their targets "
                "differ — the input kernel is singular and no network fits them at T = 0; "
                "remove one or set T > 0")


def solve_posterior(model, params: Mapping[str, float] | None = None, *, test=None,
                    method: str = "auto", options: Mapping[str, Any] | None = None
                    ) -> PosteriorResult:
    """The N → ∞ theory of the posterior (module docstring); ``options`` go to the
    runtime (the sampled one: ``particles``, ``replicas``, ``seed``, …). With
    ``method="auto"`` the applicable runtimes are tried by priority: one that raises
    ``ConvergenceError`` hands over to the next, and its message is kept in
    ``info["fallback"]`` ([{"method", "error"}, …]); a named method does not fall back."""
    model = _as_posterior_model(model)
    spec, values = posterior_spec(model, params, test)
    P, m = spec.y.shape
    # the (P m)² fluctuation matrices of the predictions, else the P² kernels
    require(8 * (P * m) ** 2 * 4 if spec.test is not None else 8 * P * P * 8,
            f"solve {model.name}: P = {P}, m = {m}")
    available = registry.runtimes("posterior")
    if method != "auto":
        if method not in available:
            raise ParameterError(f"solve {model.name}: method {method!r} is not a posterior "
                                 f"runtime; registered: {sorted(available)}")
        candidates = [available[method]]
    else:
        candidates = sorted((r for r in available.values() if r.applies(spec)),
                            key=lambda r: -r.priority)
        if not candidates:
            raise ParameterError(
                f"solve {model.name}: no registered posterior runtime applies to this "
                f"readout at γ = {spec.gamma:g} (registered: {sorted(available)})")
    failed = []
    for runtime in candidates:
        try:
            raw = runtime.solve(spec, None, dict(options or {}))
            break
        except common.SolverInputError as error:
            raise ParameterError(f"solve {model.name}: {error}") from None
        except common.ConvergenceError as error:
            # method "auto": the next applicable runtime, the failure kept in info
            failed.append((runtime.name, error))
    else:
        error = failed[0][1]
        others = "".join(f"; then {n}: {e}" for n, e in failed[1:])
        raise ConvergenceError(f"solve {model.name}: {error}{others}",
                               history=error.residuals) from None
    observables = {k: raw[k] for k in ("readout_second_moment", "kernel_posterior",
                                       "prediction", "codes", "scheme",
                                       "coding_participation") if k in raw}
    info = dict(raw.get("info", {}))
    if failed:
        info["fallback"] = [{"method": n, "error": str(e)} for n, e in failed]
    return PosteriorResult(model.name, values, observables, runtime.name,
                           stderr=raw.get("stderr"), info=info)


def simulate_posterior(model, params: Mapping[str, float] | None = None, *, N: int = 512,
                       samples: int = 200, chains: int = 4, burn: int | None = None,
                       test=None, seed: int = 0, progress: bool = False) -> PosteriorResult:
    """Posterior samples of finite networks of width N (the reference sampler)."""
    from fieldtheory.simulate.posterior_sampler import sample_posterior

    model = _as_posterior_model(model)
    spec, values = posterior_spec(model, params, test)
    if spec.offset is not None:
        raise ParameterError(f"simulate {model.name}: the sampler takes ψ = α(h)·a "
                             "(no a-independent readout part)")
    result = sample_posterior(
        spec.x, spec.y, spec.alpha, spec.dalpha, sigma_w=float(np.sqrt(spec.hidden_variance)),
        sigma_a=float(np.sqrt(spec.weight_variance)), gamma=spec.gamma,
        T=spec.temperature, N=N, samples=samples, chains=chains, burn=burn,
        test=spec.test, seed=seed, progress=progress)
    observables, stderr = dict(result.observables), dict(result.stderr)
    if spec.slope is None:  # a nonlinear network: the codes of its neurons
        (observables["codes"], stderr["codes"], observables["scheme"],
         observables["coding_participation"], stderr["coding_participation"]) = \
            _sampled_codes(spec, result.last)
    return PosteriorResult(model.name, values, observables, "hmc", N=N, stderr=stderr,
                           info=dict(result.diagnostics), networks=tuple(result.last))


def _sampled_codes(spec, last) -> tuple[dict, dict, str, float, float]:
    """Codes and fractions of the neurons of each chain's final network (the rule of
    :mod:`fieldtheory.solvers.runtime.posterior_sampled`), the scheme by majority, the
    coding participation over each network's neurons; errors across chains. At finite N
    the participation of a sparse code is at least ≈ (neurons carrying it)/N: it falls
    towards the N → ∞ value as N grows."""
    from fieldtheory.solvers.runtime.posterior_sampled import (
        _is_odd,
        classes_of,
        codes_of,
        participation,
    )

    classes = classes_of(spec.y)
    odd = _is_odd(spec.alpha)
    m = spec.y.shape[1]
    tables, schemes, rhos = [], [], []
    for chain in last:
        h = chain["W"] @ spec.x.T / np.sqrt(spec.x.shape[1])       # neurons × patterns
        al = spec.alpha(h)
        responses = np.stack([al[:, classes == c].mean(axis=1) for c in range(m)], axis=1)
        patterns, fractions, scheme = codes_of(responses, odd)
        tables.append(dict(zip(map(tuple, patterns), fractions, strict=True)))
        schemes.append(scheme)
        rhos.append(participation(responses))
    union = sorted({p for t in tables for p in t})
    values = np.array([[t.get(p, 0.0) for p in union] for t in tables])
    mean = values.mean(axis=0)
    err = (values.std(axis=0, ddof=1) / np.sqrt(len(tables)) if len(tables) > 1
           else np.full(mean.shape, np.nan))
    order = sorted(range(len(union)), key=lambda k: (-mean[k], tuple(-np.array(union[k]))))
    codes = {"patterns": [list(union[k]) for k in order],
             "fractions": [float(mean[k]) for k in order]}
    rho_err = (float(np.std(rhos, ddof=1) / np.sqrt(len(rhos))) if len(rhos) > 1
               else float("nan"))
    return (codes, {"fractions": [float(err[k]) for k in order]},
            max(set(schemes), key=schemes.count), float(np.mean(rhos)), rho_err)


def _derivative(model: Model, values: Mapping[str, float]):
    from fieldtheory.derive import derive

    site = derive(model).site
    fn = _numeric(sp.diff(site.alpha, site.h), site.h, values)
    return fn if fn is not None else (lambda u: np.zeros_like(u, dtype=float))
