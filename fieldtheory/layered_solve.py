"""``solve`` for layered networks: the derived kernel problem at parameter values.

derive (disorder average over the weights, collective fields over patterns × layers,
saddle point) → :func:`~fieldtheory.codegen.layered.lower_layered` (the ``site`` stage of
a layered model) → numeric :class:`~fieldtheory.solvers.runtime.layered.LayeredSpec` →
the registered runtime of kind ``"layered"`` (``kernel_recursion``) → ``TheoryResult``
with ``kernel`` (and ``kernel_cross`` where layers are correlated: shared weights).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache

import numpy as np
import sympy as sp

from fieldtheory.codegen.layered import L1, L2, LayeredProblem, U
from fieldtheory.codegen.printer import SolverPrinter
from fieldtheory.errors import ParameterError
from fieldtheory.gaussian.closed_forms import COV, VAR_U, VAR_V
from fieldtheory.ir.layered import with_inputs
from fieldtheory.ir.model import Model
from fieldtheory.ir.parameters import evaluate
from fieldtheory.observables import Observables
from fieldtheory.resources import require
from fieldtheory.results import TheoryResult
from fieldtheory.solvers import registry
from fieldtheory.solvers.runtime.common import SolverInputError, choose_runtime
from fieldtheory.solvers.runtime.layered import LayeredSpec, LayeredTermSpec

__all__ = ["layered_spec", "solve_layered"]

#: sqrt clamped at 0: closed forms take √(var_u var_v − cov²), which rounding may make −0.
_MODULES = [{"sqrt": lambda x: np.sqrt(np.maximum(x, 0.0))}, "numpy", "scipy"]


def layered_spec(problem: LayeredProblem, values: Mapping[str, float]) -> LayeredSpec:
    """The numeric site: coefficients as functions of the two layers, expectations as
    vectorised closed forms or the functions to integrate."""
    depth = evaluate(problem.depth, values)
    if depth != round(depth) or depth < 1:
        raise ParameterError(f"depth = {depth:g} is not an integer ≥ 1")
    terms = _numeric_terms(problem.terms, tuple(sorted(values.items())))
    return LayeredSpec(terms, round(depth), problem.inputs.kernel(), problem.two_time)


@lru_cache(maxsize=64)
def _numeric_terms(problem_terms, items) -> tuple[LayeredTermSpec, ...]:
    """The terms at parameter values (cached: lambdify is most of a small solve)."""
    numbers = {sp.Symbol(k, real=True): v for k, v in items}
    terms = []
    for term in problem_terms:
        c = term.coefficient.xreplace(numbers)
        left_over = c.free_symbols - {L1, L2}
        if left_over:
            raise ParameterError(f"no value for {sorted(map(str, left_over))} in the kernel "
                                 f"coefficient {term.coefficient}")
        coefficient = sp.lambdify((L1, L2), c.rewrite(sp.Piecewise), modules=_MODULES)
        expectation = left = right = None
        if term.kind == "order_parameter":
            if term.expectation is not None:
                expectation = sp.lambdify((VAR_U, VAR_V, COV),
                                          term.expectation.xreplace(numbers),
                                          modules=_MODULES, printer=SolverPrinter)
            left = sp.lambdify(U, term.left.xreplace(numbers), modules=_MODULES,
                               printer=SolverPrinter)
            right = sp.lambdify(U, term.right.xreplace(numbers), modules=_MODULES,
                                printer=SolverPrinter)
        terms.append(LayeredTermSpec(coefficient, term.kind, expectation, left, right))
    return tuple(terms)


def solve_layered(model: Model, params: Mapping[str, float] | None = None, *,
                  method: str = "auto") -> TheoryResult:
    """The N → ∞ kernels of a layered network (``kernel``, ``kernel_cross``)."""
    from fieldtheory.derive import derive

    values = model.parameters.resolve(params)
    model.action.validate_values(values)
    # the derivation does not depend on the data's values: derive once per model on a
    # placeholder data set (cached), and run the recursion on this model's data kernel
    placeholder = with_inputs(model, ((0.0,),))
    problem = derive(placeholder).site_problem()
    spec = replace(layered_spec(problem, values),
                   data_kernel=model.action.time.inputs.kernel())
    P = spec.data_kernel.shape[0]
    require(8 * P * P * (spec.depth * (spec.depth + 1) // 2 + spec.depth**2 + 8),
            f"solve {model.name}: {P} inputs, depth {spec.depth} (kernel blocks)")
    registry.runtimes("layered")  # imports (registers) the built-in runtimes
    try:
        runtime = choose_runtime(spec, method, kind="layered")
        out = runtime.solve(spec, None, {})
    except SolverInputError as error:
        raise ParameterError(str(error)) from None
    observables = Observables(kernel=out["kernel"], kernel_cross=out.get("kernel_cross"))
    return TheoryResult(model.name, values, observables, "layered", runtime.name)
