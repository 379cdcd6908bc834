r"""Loop expansion of the stationary observables of one unit: mean, variance, C(τ), R(τ).

For a unit without disorder, ∂_t x = f(x) + ξ with a polynomial drift f, f(0) = 0,
f'(0) = −k < 0 and white noise ⟨ξ(t)ξ(s)⟩ = D δ(t − s), the action splits
(:func:`~fieldtheory.diagrams.theory.perturbative_theory`) into the Ornstein–Uhlenbeck part,
with the free propagators

.. math::  R_0(\tau) = \Theta(\tau)\, e^{-k\tau}, \qquad C_0(\tau) = \frac{D}{2k} e^{-k|\tau|},

and the vertices c_n x̃ xⁿ (n ≥ 2) of the rest of the drift. Every observable is the sum of
its connected diagrams (:func:`~fieldtheory.diagrams.expand`):

* ``mean`` m = ⟨x⟩, the one-point diagrams (external leg x);
* ``autocorrelation`` C(τ) = ⟨x(t+τ) x(t)⟩ − m², the connected two-point diagrams
  (legs x, x), and ``variance`` = C(0);
* ``response`` R(τ) = δ⟨x(t+τ)⟩/δh(t) = ⟨x(t+τ) x̃(t)⟩ (legs x, x̃) for an input h added
  to the drift, which is also the response to a kick of the state (the simulator's R).
  Its value at τ = 0 is the limit τ → 0⁺: R₀(0⁺) = 1, and every loop diagram vanishes
  there, because its response leg x̃(t) reaches x(t+τ) through a chain of R edges whose
  vertices are confined to [t, t+τ].

Loop counting
-------------
A diagram's loop number is L = E − N + 1 (edges, nodes including the external points), as
in :func:`~fieldtheory.diagrams.expand`; *K loops* means all diagrams with L ≤ K. Rescaling
x = √D y shows why this is the expansion parameter: every C₀ carries one factor D and
every vertex c_n x̃ xⁿ a factor D^{(n−1)/2}, so that an L-loop diagram of an n-point
function is D^{n/2}·D^{L} times a function of the couplings c_n D^{(n−1)/2} — each loop
brings one more power of the noise. For the cubic unit (f = −x − a x³) L equals the number
of vertices and the series is one in aD:  ⟨x²⟩ = D (1/2 − 3aD/4 + 3(aD)² − …).

Numerics
--------
Each diagram is a generated numpy ``einsum`` (:mod:`fieldtheory.diagrams.evaluate`) on a
uniform grid with step h ≤ 1/4 dividing dτ, Richardson-extrapolated over h, h/2, h/4
(error O(h⁶)); the estimated error is reported per term. The past window is cut where the
neglected tail is below 10⁻¹² of the diagram's scale.

References: Martin, Siggia & Rose, PRA 8, 423 (1973); Hertz, Roudi & Sollich,
J. Phys. A 50, 033001 (2017); M. Helias and D. Dahmen, *Statistical Field Theory for Neural
Networks* (Springer, 2020), ch. 7 (loopwise expansion).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp

from fieldtheory.diagrams.evaluate import TimeGrid, evaluate_diagrams, generate_evaluator
from fieldtheory.diagrams.evaluate import past_window as _past_window
from fieldtheory.errors import ExpansionError, ParameterError
from fieldtheory.ir.model import Model, load_model, require_dynamic
from fieldtheory.observables import Curve, Observables
from fieldtheory.phases import Branch
from fieldtheory.results import TheoryResult

__all__ = ["LoopExpansion", "LoopTerm", "loop_expansion", "solve_loops"]

#: The largest grid step; the finest of the three Richardson levels is a quarter of it.
MAX_STEP = 0.25
#: Richardson levels h, h/2, h/4: the extrapolated error is O(h⁶).
LEVELS = 3
#: The neglected past tail, relative to a diagram's scale (module docstring).
TAIL = 1e-12


@dataclass(frozen=True)
class LoopTerm:
    """The sum of the diagrams with exactly ``loops`` loops, with discretisation errors.

    ``autocorrelation``, ``response`` and their ``*_error`` are arrays over the lags.
    """

    loops: int
    diagrams: int
    mean: float
    mean_error: float
    autocorrelation: np.ndarray
    autocorrelation_error: np.ndarray
    response: np.ndarray
    response_error: np.ndarray


@dataclass(frozen=True)
class LoopExpansion:
    """Observables of a unit to ``loops`` loops: the terms L = 0 … loops and their sum."""

    model: str
    params: dict[str, float]
    loops: int
    tau: np.ndarray
    terms: tuple[LoopTerm, ...]

    def total(self, loops: int | None = None) -> Observables:
        """The observables summed over the terms with L ≤ ``loops`` (default: all)."""
        kept = [t for t in self.terms if loops is None or t.loops <= loops]
        correlation = sum(t.autocorrelation for t in kept)
        response = sum(t.response for t in kept)
        return Observables(
            mean=float(sum(t.mean for t in kept)),
            variance=float(correlation[0]),
            autocorrelation=Curve("tau", self.tau, correlation),
            response=Curve("tau", self.tau, response),
        )

    @property
    def observables(self) -> Observables:
        return self.total()

    def error(self, loops: int | None = None) -> dict[str, float]:
        """Estimated discretisation errors (largest over the lags) of :meth:`total`."""
        kept = [t for t in self.terms if loops is None or t.loops <= loops]
        return {
            "mean": float(sum(t.mean_error for t in kept)),
            "autocorrelation": float(np.max(sum(t.autocorrelation_error for t in kept))),
            "response": float(np.max(sum(t.response_error for t in kept))),
        }


def _refuse_couplings(model: Model) -> None:
    if model.action.couplings:
        names = ", ".join(str(c) for c, _ in model.action.couplings)
        raise ExpansionError(
            f"{model.name}: couplings {names} are present; the loop "
            "expansion takes one unit without disorder"
        )


def _check_unit(model: Model, theory) -> None:
    """Refuse, by name, what the time-domain loop expansion cannot take."""
    if theory.zero_dimensional:
        raise ExpansionError(
            f"{model.name} is zero-dimensional: it has no dynamics to "
            "expand (use `fieldtheory diagrams`)"
        )
    fields = [leg for leg in theory.legs if not leg.endswith("~")]
    if len(fields) != 1:
        raise ExpansionError(
            f"{model.name} has fields {fields}; the loop expansion of "
            "observables takes a single unit with one field"
        )
    for vertex in theory.vertices:
        if vertex.degree == 1:
            raise ExpansionError(
                f"{model.name}: the term {vertex.monomial} is a constant drift f(0) ≠ 0; "
                "expand around a fixed point (shift x by it)"
            )
        if "~" not in "".join(vertex.legs):
            raise ExpansionError(
                f"{model.name}: vertex {vertex.monomial} has no response "
                "field; it is not part of a Langevin action"
            )


def _propagator_functions(theory, values: Mapping[str, float]):
    """The free C(τ) and R(τ⁺) as vectorised numpy functions, and the decay rate of R."""
    by_kind = {p.kind: p for p in theory.propagators}
    if set(by_kind) != {"C", "R"} or by_kind["C"].value is None:
        raise ExpansionError(f"free propagators {sorted(by_kind)} without closed forms")
    from fieldtheory.diagrams.theory import TAU

    corr = _substitute(by_kind["C"].value, values)
    # R₀(τ) for τ > 0: the jump at τ = 0 is handled by the evaluator
    resp = _substitute(
        by_kind["R"].value.replace(sp.Heaviside, lambda *args: sp.Integer(1)), values
    )
    if corr.free_symbols - {TAU} or resp.free_symbols - {TAU}:
        raise ParameterError(f"free propagators depend on undeclared symbols: {corr}, {resp}")
    # one field: R₀(τ) = e^{−kτ}/m is a single exponential
    decay = float(sp.log(resp.subs(TAU, 0) / resp.subs(TAU, 1)))
    if not decay > 0:
        raise ExpansionError(
            f"the free response {resp} does not decay: the linear part of "
            "the drift must be restoring (f'(0) < 0)"
        )
    correlation = sp.lambdify(TAU, corr, "numpy")
    response = sp.lambdify(TAU, resp, "numpy")
    return (
        lambda t: np.broadcast_to(correlation(t), np.shape(t)),
        lambda t: np.broadcast_to(response(t), np.shape(t)),
        decay,
    )


def _substitute(expr: sp.Expr, values: Mapping[str, float]) -> sp.Expr:
    """``expr`` at the parameter values, matched by name (symbols carry assumptions)."""
    expr = sp.sympify(expr)
    return expr.xreplace(
        {s: sp.Float(values[s.name]) for s in expr.free_symbols if s.name in values}
    )


def _grid(decay: float, vertices: int, tau_max: float, dtau: float) -> TimeGrid:
    lags = round(tau_max / dtau)
    stride = math.ceil(dtau / MAX_STEP - 1e-12)
    step = dtau / stride
    window = _past_window(decay, vertices, lags * dtau, TAIL)
    return TimeGrid(step, math.ceil(window / step), stride, lags)


def _sum_terms(diagrams, values, grid, correlation, response, name):
    """Σ_d weight_d · I_d by loop number: {L: (value, error, count)}."""
    if not diagrams:
        return {}
    comments = [f"weight {d.weight} times this integral: {d.expression}" for d in diagrams]
    module = generate_evaluator([d.graph for d in diagrams], name, comments)
    estimates = evaluate_diagrams(module, grid, correlation, response, LEVELS)
    out: dict[int, list] = {}
    for diagram, estimate in zip(diagrams, estimates, strict=True):
        weight = float(_substitute(diagram.weight, values))
        value, error, count = out.setdefault(diagram.loops, [0.0, 0.0, 0])
        out[diagram.loops] = [
            value + weight * estimate.value,
            error + abs(weight) * estimate.error,
            count + 1,
        ]
    return out


def loop_expansion(
    model: Model | str,
    params: Mapping[str, float] | None = None,
    loops: int = 1,
    *,
    tau_max: float = 20.0,
    dtau: float = 0.25,
) -> LoopExpansion:
    """The stationary observables of a unit to ``loops`` loops (module docstring).

    Parameters
    ----------
    model : Model or name
        One unit without couplings, polynomial drift with f(0) = 0 and f'(0) < 0, additive
        noise.
    params : mapping, optional
        Parameter values (defaults otherwise).
    loops : int
        K ≥ 0: all diagrams with at most K loops.
    tau_max, dtau : float
        The lag grid of the autocorrelation and the response.

    Raises
    ------
    ExpansionError
        Naming the term that is not expandable (couplings, non-polynomial or constant
        drift, several fields, no decay).
    ParameterError
        For unknown names, values outside their domains, or a bad lag grid.
    """
    require_dynamic(model, "solve --loops")
    from fieldtheory.diagrams import expand, perturbative_theory

    model = load_model(model)
    values = model.parameters.resolve(params)
    if not isinstance(loops, int) or loops < 0:
        raise ParameterError(f"loops must be an integer ≥ 0, got {loops!r}")
    if not (tau_max > 0 and 0 < dtau <= tau_max):
        raise ParameterError(f"need 0 < dtau ≤ tau_max, got dtau = {dtau}, tau_max = {tau_max}")
    _refuse_couplings(model)
    theory = perturbative_theory(model)
    _check_unit(model, theory)
    field = next(leg for leg in theory.legs if not leg.endswith("~"))
    externals = {"mean": (field,), "correlation": (field, field), "response": (field, f"{field}~")}
    diagrams = {k: expand(theory, external=e, loops=loops) for k, e in externals.items()}
    correlation, response, decay = _propagator_functions(theory, values)
    most = max((d.order for ds in diagrams.values() for d in ds), default=1)
    grid = _grid(decay, most, tau_max, dtau)
    sums = {
        k: _sum_terms(ds, values, grid, correlation, response, f"{model.name}_{k}")
        for k, ds in diagrams.items()
    }
    tau = np.arange(grid.lags + 1) * dtau
    zeros = np.zeros(tau.size)
    terms = []
    for order in range(loops + 1):
        mean = sums["mean"].get(order, [0.0, 0.0, 0])
        corr = sums["correlation"].get(order, [zeros, zeros, 0])
        resp = sums["response"].get(order, [zeros, zeros, 0])
        resp_value, resp_error = np.array(resp[0], dtype=float), np.array(resp[1], dtype=float)
        # τ = 0 is the limit 0⁺: R₀(0⁺) at tree level, zero for loop diagrams (docstring)
        resp_value[0] = float(response(np.zeros(1))[0]) if order == 0 else 0.0
        resp_error[0] = 0.0
        terms.append(
            LoopTerm(
                order,
                mean[2] + corr[2] + resp[2],
                float(mean[0]),
                float(mean[1]),
                np.array(corr[0], dtype=float),
                np.array(corr[1], dtype=float),
                resp_value,
                resp_error,
            )
        )
    return LoopExpansion(model.name, values, loops, tau, tuple(terms))


def solve_loops(
    model: Model | str,
    params: Mapping[str, float] | None = None,
    loops: int = 1,
    tau_max: float = 20.0,
    dtau: float = 0.25,
) -> TheoryResult:
    """:func:`loop_expansion` as a :class:`~fieldtheory.results.TheoryResult` (method
    ``"loops"``; the loop order is the caller's ``loops``): a unit in a stable well,
    noise-driven, or its fixed point when nothing fluctuates (D = 0)."""
    expansion = loop_expansion(model, params, loops, tau_max=tau_max, dtau=dtau)
    moving = expansion.observables.variance not in (None, 0.0)
    branch = Branch.NOISE_DRIVEN if moving else Branch.FIXED_POINT
    return TheoryResult(
        expansion.model, expansion.params, expansion.observables, branch, method="loops"
    )
