"""Phase boundaries along one parameter, located by bisection."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fieldtheory.errors import ParameterError
from fieldtheory.ir.model import Model, load_model, require_dynamic
from fieldtheory.phases import Phase
from fieldtheory.sweep.classification import MAGNETIC_THRESHOLD, _symmetry_test, classify
from fieldtheory.sweep.grid import _solve_point

__all__ = ["Transition", "transition"]


@dataclass(frozen=True)
class Transition:
    """A phase boundary along one parameter, bracketed: ``lower < value < upper``."""

    name: str
    lower: float
    upper: float
    below: str
    above: str
    evaluations: int

    @property
    def value(self) -> float:
        """The midpoint of the bracket."""
        return 0.5 * (self.lower + self.upper)

    @property
    def error(self) -> float:
        """Half the bracket width: |value − transition| ≤ error."""
        return 0.5 * (self.upper - self.lower)


def _is(kind: str, phase: Phase) -> bool:
    return phase.chaotic if kind == "chaotic" else phase.magnetic


def transition(
    model: Model | str,
    name: str,
    lower: float,
    upper: float,
    fixed: Mapping[str, float] | None = None,
    *,
    kind: str = "chaotic",
    xtol: float = 1e-3,
    tau_max: float = 20.0,
    dtau: float = 0.25,
    threshold: float = MAGNETIC_THRESHOLD,
) -> Transition:
    """Locate where ``kind`` (``"chaotic"`` or ``"magnetic"``) sets in, by bisection in ``name``.

    ``lower`` and ``upper`` must differ in ``kind``; the bracket is halved until it is at
    most ``2·xtol`` wide, so ``|Transition.value − transition| ≤ xtol``. A midpoint whose
    solve fails (a solver may fail exactly at a critical point) is replaced by the point a
    quarter, then three quarters, of the way across the bracket.

    Raises
    ------
    ParameterError
        When the ends do not bracket a change of ``kind``.
    ConvergenceError
        When the ends, or both fallback points, fail to solve.
    """
    require_dynamic(model, "transition")
    from fieldtheory.errors import ConvergenceError

    if kind not in ("chaotic", "magnetic"):
        raise ParameterError(f"transition kind must be 'chaotic' or 'magnetic', got {kind!r}")
    if not lower < upper:
        raise ParameterError(f"need lower < upper, got {lower} and {upper}")
    from fieldtheory.codegen.generate import generate

    model = load_model(model)
    fixed = dict(fixed or {})
    for end in (lower, upper):  # unknown names and values outside the domain: now
        model.parameters.resolve({**fixed, name: float(end)})
    symmetric = _symmetry_test(generate(model))
    evaluations = 0

    def phase_at(value: float) -> Phase:
        nonlocal evaluations
        evaluations += 1
        params = {**fixed, name: float(value)}
        point = _solve_point(model, params, tau_max, dtau, curves=False)
        point["symmetric"] = symmetric(model.parameters.resolve(params))
        return classify(point, threshold)

    below, above = phase_at(lower), phase_at(upper)
    for end, phase in ((lower, below), (upper, above)):
        if phase is Phase.FAILED:
            raise ConvergenceError(f"transition: the solve at {name} = {end} failed")
    if _is(kind, below) == _is(kind, above):
        raise ParameterError(
            f"{name} = {lower} ({below}) and {name} = {upper} ({above}) do "
            f"not bracket a {kind} transition"
        )
    while upper - lower > 2 * xtol:
        for fraction in (0.5, 0.25, 0.75):
            middle = lower + fraction * (upper - lower)
            phase = phase_at(middle)
            if phase is not Phase.FAILED:
                break
        else:
            raise ConvergenceError(
                f"transition: the solves near {name} = {0.5 * (lower + upper)} failed"
            )
        if _is(kind, phase) == _is(kind, below):
            lower = middle
        else:
            upper = middle
    return Transition(name, lower, upper, below, above, evaluations)


