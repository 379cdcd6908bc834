"""``solve`` for layered networks: the generated kernel module at parameter values.

derive (disorder average over the weights, collective fields over patterns × layers,
saddle point) → :func:`~fieldtheory.codegen.layered.lower_layered` (the ``site`` stage of
a layered model) → the generated module (:mod:`fieldtheory.codegen.layered_module`, which
inlines the registered runtime of kind ``"layered"``, ``kernel_recursion``) → its
``solve(inputs, **params)`` on the model's data set → ``TheoryResult`` with ``kernel`` (and
``kernel_cross`` where layers are correlated: shared weights).

The derivation, hence the module, does not depend on the data's values: it is generated
once per model on a placeholder data set and given the inputs at solve time.
"""

from __future__ import annotations

from collections.abc import Mapping

from fieldtheory.codegen.module import call_generated
from fieldtheory.errors import ParameterError
from fieldtheory.ir.layered import with_inputs
from fieldtheory.ir.model import Model
from fieldtheory.ir.parameters import evaluate
from fieldtheory.observables import Observables
from fieldtheory.resources import require
from fieldtheory.results import TheoryResult

__all__ = ["solve_layered"]


def solve_layered(model: Model, params: Mapping[str, float] | None = None, *,
                  method: str = "auto", order: str | None = None,
                  N: int | None = None) -> TheoryResult:
    """The N → ∞ kernels of a layered network (``kernel``, ``kernel_cross``); with
    ``order="1/N"`` also ``kernel_correction`` {``layers``, ``bias``, ``variance``} (and
    ``bias_cross`` where layers are correlated): the O(1/N) mean shift (one loop) and N·Var
    of the empirical kernel from the fluctuations around the saddle point
    (:mod:`fieldtheory.solvers.runtime.layered_fluctuations`). With ``N`` as well, the
    finite-width theory at that N: ``kernel`` (and ``kernel_cross``) = K + bias/N and
    ``kernel_variance`` = N·Var K̂ at leading order; the N → ∞ kernels then go to
    ``leading_order``."""
    from fieldtheory.codegen.generate import generate

    values = model.parameters.resolve(params)
    model.action.validate_values(values)
    inputs = model.action.time.inputs
    depth = evaluate(model.action.time.layers, values)
    P = inputs.patterns
    require(8 * P * P * (depth * (depth + 1) / 2 + depth**2 + 8),
            f"solve {model.name}: {P} inputs, depth {depth:g} (kernel blocks)")
    module = generate(with_inputs(model, ((0.0,),)))
    out = call_generated(module, f"{model.name} at {values}", module.solve, inputs.array,
                         method=method, **values)
    if order is None:
        observables = Observables(kernel=out["kernel"], kernel_cross=out.get("kernel_cross"))
        return TheoryResult(model.name, values, observables, "layered", out["method"])
    from fieldtheory.solvers.runtime.common import SolverInputError
    from fieldtheory.solvers.runtime.layered_fluctuations import kernel_correction

    site = call_generated(module, f"{model.name} at {values}", module.spec,
                          inputs.array, **values)
    try:
        fluctuations = kernel_correction(site)
    except SolverInputError as error:
        raise ParameterError(f"solve {model.name} --order 1/N: {error}") from None
    layers = out["kernel"]["layers"]
    correction = {"layers": layers, "bias": fluctuations["bias"],
                  "variance": fluctuations["variance"]}
    if "kernel_cross" in out:
        correction["bias_cross"] = fluctuations["bias_all"]
    if N is None:
        observables = Observables(kernel=out["kernel"], kernel_cross=out.get("kernel_cross"),
                                  kernel_correction=correction)
        return TheoryResult(model.name, values, observables, "layered", out["method"])
    kernel = {"layers": layers, "values": out["kernel"]["values"] + fluctuations["bias"] / N}
    cross = None
    if "kernel_cross" in out:
        cross = {"times": layers,
                 "values": out["kernel_cross"]["values"] + fluctuations["bias_all"] / N}
    observables = Observables(kernel=kernel, kernel_cross=cross,
                              kernel_variance={"layers": layers,
                                               "values": fluctuations["variance"]},
                              kernel_correction=correction)
    leading = Observables(kernel=out["kernel"], kernel_cross=out.get("kernel_cross"))
    return TheoryResult(model.name, values, observables, "layered", out["method"], N=N,
                        leading_order=leading)
