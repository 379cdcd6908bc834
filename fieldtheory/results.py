"""The result types of the theory: what ``solve`` and ``solve_transient`` return.

They live apart from the solvers so that every module producing one (``solve``, the loop
expansion in :mod:`fieldtheory.diagrams.loops`) imports this module, not each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from fieldtheory.errors import ConvergenceError
from fieldtheory.jsonout import strict
from fieldtheory.observables import Observables
from fieldtheory.phases import Branch

__all__ = ["TheoryResult", "TransientResult", "theory_result", "with_connectivity"]


@dataclass(frozen=True)
class TheoryResult:
    """The solved mean-field theory at one parameter point.

    ``branch`` is a :class:`~fieldtheory.phases.Branch` (a string given is converted; one
    that names no branch is a ``ValueError``).
    """

    model: str
    params: dict[str, float]
    observables: Observables
    branch: Branch
    method: str = "stationary"
    stderr: Observables | None = None
    #: Why a quantity is None, by JSON pointer into ``to_json()`` (e.g.
    #: ``"/observables/lyapunov_max"``: the runtime's note).
    undefined: dict[str, str] = field(default_factory=dict)
    #: The network size of a finite-N theory (``solve(..., order="1/N", N=...)``).
    N: int | None = None
    #: A finite-N theory's leading-order (non-self-consistent) O(1/N) result, whose keys
    #: the renormalized ``observables`` repeat (:mod:`fieldtheory.renormalized`).
    leading_order: Observables | None = None
    #: What a finite-N solve reports about itself (iterations, residuals).
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """``{"model", "params", "N", "branch", "method", "observables"}`` (plus
        ``"stderr"`` for a Monte-Carlo solution; ``"leading_order"`` and
        ``"renormalization"`` for a finite-N theory) in strict JSON types, with
        ``"undefined"`` giving the reason for every null quantity."""
        out = {
            "model": self.model,
            "params": {k: float(v) for k, v in self.params.items()},
            "N": self.N,
            "branch": self.branch,
            "method": self.method,
            "observables": self.observables.to_dict(),
        }
        if self.stderr is not None:
            out["stderr"] = self.stderr.to_dict()
        if self.leading_order is not None:
            out["leading_order"] = self.leading_order.to_dict()
        if self.info:
            out["renormalization"] = dict(self.info)
        return strict(out, self.undefined)

    def __post_init__(self) -> None:
        object.__setattr__(self, "branch", Branch(self.branch))


@dataclass(frozen=True)
class TransientResult:
    """The two-time mean-field theory from an initial distribution, on a time grid.

    ``mean`` M(t), ``variance`` K(t, t), ``covariance`` K(t, s) = ⟨δx(t)δx(s)⟩,
    ``mean_phi`` ⟨φ(x(t))⟩ and ``response`` R(t, s) of a site to its own input.
    """

    model: str
    params: dict[str, Any]
    t: Any
    mean: Any
    variance: Any
    covariance: Any
    mean_phi: Any
    response: Any

    def correlation(self, times) -> dict[str, Any]:
        """``{"times", "values"}``: K(t, t_a) for t ≥ t_a on the grid (NaN-free: zeros
        before t_a are cut), as the simulator's ``transient`` observable reports it."""
        import numpy as np

        t = np.asarray(self.t)
        index = [int(np.argmin(np.abs(t - ta))) for ta in times]
        return {"times": [float(t[k]) for k in index],
                "values": [np.asarray(self.covariance)[k:, k] for k in index]}

    def to_json(self) -> dict[str, Any]:
        """``{"model", "params", "N": null, "transient": {"t", "mean", "variance",
        "mean_phi"}}`` (callable parameters shown by their repr)."""
        params = {k: (v if isinstance(v, (int, float)) else repr(v))
                  for k, v in self.params.items()}
        transient = {k: [float(x) for x in getattr(self, k)]
                     for k in ("t", "mean", "variance", "mean_phi")}
        return strict({"model": self.model, "params": params, "N": None,
                       "transient": transient})


def theory_result(name: str, values: dict[str, float], raw: dict[str, Any]) -> TheoryResult:
    """A TheoryResult from a generated module's dict (solver extras dropped); the
    runtime's branch string becomes a :class:`~fieldtheory.phases.Branch` here, the library
    boundary (generated modules import nothing from fieldtheory)."""
    branch = Branch(raw.pop("branch"))
    method = raw.pop("method", "stationary")
    stderr = raw.pop("stderr", None)
    undefined = {}
    note = raw.pop("lyapunov_note", None)
    if raw.get("lyapunov_max") is None and note:
        undefined["/observables/lyapunov_max"] = str(note)
    for extra in ("response_common", "iterations"):
        raw.pop(extra, None)
    known = {k: v for k, v in raw.items() if k in Observables.__dataclass_fields__}
    _refuse_non_finite(name, values, known)
    errors = Observables(**stderr) if stderr else None
    return TheoryResult(name, values, Observables(**known), branch, method, errors,
                        undefined)


def _refuse_non_finite(name: str, values: dict[str, float], observables: dict) -> None:
    """A solution whose mean, variance or autocorrelation is not finite is no solution:
    :class:`ConvergenceError` naming the observable (nothing returns NaN silently)."""
    for key in ("mean", "variance", "autocorrelation", "mean_phi", "autocorrelation_phi"):
        value = observables.get(key)
        if isinstance(value, dict):
            value = value.get("values")
        if value is not None and not np.all(np.isfinite(np.asarray(value, dtype=float))):
            raise ConvergenceError(f"{name} at {values}: the solver returned a non-finite "
                                   f"{key}; the site is undefined or unbounded there")


def with_connectivity(result: TheoryResult, model, values: dict[str, float]) -> TheoryResult:
    """``result`` with the ensembles' connectivity statistics at ``values`` (as ``solve``
    reports them for every rate model), where there are any."""
    connectivity = {k: v for _, ensemble in model.action.couplings
                    for k, v in ensemble.statistics(values).items()}
    if not connectivity:
        return result
    return replace(result, observables=replace(result.observables, connectivity=connectivity))

