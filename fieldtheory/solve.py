"""``solve``: the mean-field theory of a model, in the observables schema of ``simulate``.

The pipeline: :func:`~fieldtheory.codegen.generate.generate` (derive → lower → generated
numpy module, cached by content hash), then the module's ``solve`` at the resolved
parameters. The result has the simulator's keys (``N`` is ``None``, there is no
``stderr``) plus ``lyapunov_max`` and ``response``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fieldtheory.errors import ConvergenceError, ParameterError
from fieldtheory.ir.model import Model, load_model
from fieldtheory.observables import Observables

__all__ = ["TheoryResult", "solve"]


@dataclass(frozen=True)
class TheoryResult:
    """The solved mean-field theory at one parameter point."""

    model: str
    params: dict[str, float]
    observables: Observables
    branch: str

    def to_json(self) -> dict[str, Any]:
        """``{"model", "params", "N": null, "branch", "observables"}`` in plain JSON types."""
        return {
            "model": self.model,
            "params": {k: float(v) for k, v in self.params.items()},
            "N": None,
            "branch": self.branch,
            "observables": self.observables.to_dict(),
        }


def solve(model: Model | str, params: Mapping[str, float] | None = None, *,
          tau_max: float = 20.0, dtau: float = 0.25) -> TheoryResult:
    """Solve the stationary mean-field equations of ``model`` at ``params``.

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

    model = load_model(model)
    values = model.parameters.resolve(params)
    if not (tau_max > 0 and 0 < dtau <= tau_max):
        raise ParameterError(f"need 0 < dtau ≤ tau_max, got dtau = {dtau}, tau_max = {tau_max}")
    module = generate(model)
    try:
        raw = module.solve(tau_max, dtau, **values)
    except ValueError as error:  # the generated module's own refusals
        raise ParameterError(f"{model.name}: {error}") from None
    except RuntimeError as error:  # the runtime's ConvergenceError (numpy/scipy only)
        history = tuple(getattr(error, "residuals", ()) or ())
        raise ConvergenceError(f"{model.name} at {values}: {error}", history=history) from None
    branch = raw.pop("branch")
    raw.pop("response_common", None)
    return TheoryResult(model.name, values, Observables(**raw), branch)
