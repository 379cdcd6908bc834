r"""The ensemble protocol: what a coupling ensemble must know about itself.

An :class:`Ensemble` is attached to a :class:`~fieldtheory.ir.symbols.Coupling` in an
action. Every stage that needs the statistics of J asks the ensemble object, never its
class:

==========================  ==========================================================
``cumulants(c, pops, n)``   the averaging rule: the cumulant terms of ln⟨exp Σ J_ij X_ij⟩
                            up to n-th order in X (2 for the saddle point, 4 for the
                            Gaussian fluctuations around it)
``validate(values)``        parameter values → a :class:`ParameterError` naming the
                            ensemble, the quantity and its value (numbers already fixed
                            at declaration are checked when the ensemble is built)
``sample(rng, sizes, …)``   one realisation (``sample_couplings`` for several matrices
                            drawn together)
``spectral_radius_bound``   an O(1) bound on |λ(J)|, the simulator's step check
``text(c)``, ``latex(c)``   one line describing the statistics of coupling c
``drawn_with(c)``           the couplings drawn and averaged together with c
==========================  ==========================================================

Adding an ensemble is one module (or one class in a test): subclass :class:`Ensemble`
as a frozen dataclass and implement the methods; :func:`register_ensemble` only lists it
by name (for the command line and for tests parametrised over every ensemble).

Scaling convention (docs/conventions.md): entries are O(N^{-1/2}) with variance g²/N and
mean J0/N, N the total number of sites.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import sympy as sp

from fieldtheory.errors import EnsembleError, ParameterError
from fieldtheory.ir.couplings import CouplingMatrix
from fieldtheory.ir.ensembles.cumulants import averaging_rule_for
from fieldtheory.ir.parameters import NONNEGATIVE, POSITIVE, Domain, evaluate
from fieldtheory.ir.populations import Population
from fieldtheory.ir.symbols import Coupling
from fieldtheory.printing import latex, text

__all__ = [
    "ENSEMBLES",
    "UNIT_INTERVAL",
    "Constraint",
    "Ensemble",
    "register_ensemble",
]

ENSEMBLES: dict[str, type[Ensemble]] = {}

#: [−1, 1]: correlation coefficients (symmetry ρ, mode overlaps).
UNIT_INTERVAL = Domain(-1.0, 1.0)


def register_ensemble(name: str):
    """Class decorator adding an ensemble to :data:`ENSEMBLES` (names are unique)."""

    def decorate(cls: type[Ensemble]) -> type[Ensemble]:
        if name in ENSEMBLES:
            raise EnsembleError(
                f"an ensemble named {name!r} is already registered "
                f"({ENSEMBLES[name].__module__}.{ENSEMBLES[name].__name__})"
            )
        cls.kind = name
        ENSEMBLES[name] = cls
        return cls

    return decorate


@dataclass(frozen=True)
class Constraint:
    """A quantity of an ensemble (``what``, e.g. "variance") whose value must lie in ``domain``."""

    what: str
    expr: sp.Expr
    domain: Domain

    def violation(self, value: float) -> str | None:
        """Why ``value`` is refused (``None`` when it is admissible)."""
        if value in self.domain:
            return None
        if self.domain == NONNEGATIVE:
            return "is negative"
        if self.domain == POSITIVE:
            return "must be positive"
        return f"is outside {self.domain}"


class Ensemble:
    """Base class of coupling ensembles (frozen dataclasses in subclasses)."""

    kind: ClassVar[str] = "ensemble"
    #: Name of a shared averaging rule in :mod:`fieldtheory.transforms.cumulants` used by
    #: the default :meth:`cumulants`; ``None``: the class averages itself or cannot.
    averaging_rule: ClassVar[str | None] = None

    # ------------------------------------------------------------------ declarations

    def expressions(self) -> tuple[sp.Expr, ...]:
        """Every sympy expression the ensemble depends on (for symbol checks)."""
        raise NotImplementedError(f"{type(self).__name__} does not list its expressions")

    @property
    def free_symbols(self) -> set[sp.Symbol]:
        out: set[sp.Symbol] = set()
        for e in self.expressions():
            out |= e.free_symbols
        return out

    def populations(self) -> tuple[Population, ...] | None:
        """Populations the ensemble is structured over (``None``: homogeneous)."""
        return None

    def drawn_with(self, coupling: Coupling) -> tuple[Coupling, ...]:
        """The couplings drawn and averaged together with ``coupling`` (it included).

        One matrix per ensemble by default; ensembles of correlated matrices list them all.
        """
        return (coupling,)

    # ------------------------------------------------------------------ validation

    def constraints(self) -> tuple[Constraint, ...]:
        """The quantities whose values are restricted (variances ≥ 0, |ρ| ≤ 1, …)."""
        return ()

    def validate(self, values: Mapping[str, float]) -> None:
        """Raise :class:`ParameterError` naming the ensemble, quantity and value if
        ``values`` (parameter names → numbers) make the ensemble meaningless."""
        for c in self.constraints():
            value = evaluate(c.expr, values)
            why = c.violation(value)
            if why is not None:
                raise ParameterError(f"{self._name()}: {c.what} {c.expr} = {value:g} {why}")

    def check_literals(self) -> None:
        """Refuse, when the ensemble is built, the constraints already violated by numbers.

        Subclasses call it at the end of ``__post_init__``; symbolic quantities wait for
        :meth:`validate` with parameter values.
        """
        for c in self.constraints():
            if c.expr.free_symbols:
                continue
            value = evaluate(c.expr, {})
            why = c.violation(value)
            if why is not None:
                raise EnsembleError(f"{self._name()}: {c.what} {c.expr} {why}")

    def _name(self) -> str:
        return f"{type(self).__name__} ensemble ({self.kind})"

    # ------------------------------------------------------------------ averaging

    def cumulants(
        self,
        couplings: tuple[Coupling, ...],
        populations: tuple[Population, ...],
        order: int = 2,
    ) -> tuple:
        r"""The cumulant terms this ensemble adds to the averaged action, up to ``order``.

        With S = S_local + Σ_c Σ_ij J^c_ij X^c_ij, averaging exp(S) gives
        exp(S_local + W[X]), W the cumulant-generating function of the couplings; this
        returns the terms of W of degree ≤ ``order`` in X (:class:`~.cumulants.Cumulant`,
        :class:`~.cumulants.TraceCumulant`). Order 2 is what
        the saddle point needs (terms linear in the response-field order parameters),
        order 4 what the Gaussian fluctuations around it need.

        The default applies the shared rule named by :attr:`averaging_rule`, which
        returns every nonzero cumulant (the Gaussian families have none beyond the
        second), and keeps those of degree ≤ ``order``; an ensemble that averages itself
        overrides this method.
        """
        rule = averaging_rule_for(couplings[0], self)
        return tuple(c for c in rule(couplings, self, populations) if c.order <= order)

    # ------------------------------------------------------------------ simulation

    def sample(
        self,
        rng: np.random.Generator,
        sizes: Sequence[int],
        values: Mapping[str, float],
        dtype: np.dtype | type = np.float64,
    ) -> CouplingMatrix:
        """One realisation for populations of the given ``sizes`` (N = sum)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be sampled")

    def sample_couplings(
        self,
        couplings: Sequence[Coupling],
        rng: np.random.Generator,
        sizes: Sequence[int],
        values: Mapping[str, float],
        dtype: np.dtype | type = np.float64,
    ) -> dict[Coupling, CouplingMatrix]:
        """One realisation of each coupling this ensemble is attached to in an action.

        The default draws them independently, in the given order; ensembles of correlated
        matrices override it to draw them together.
        """
        return {c: self.sample(rng, sizes, values, dtype) for c in couplings}

    def sample_nbytes(self, N: int, values: Mapping[str, float], itemsize: int) -> int:
        """The peak memory of one realisation for N units (the simulator's resource guard):
        by default a dense N × N matrix of ``itemsize`` plus its float64 draw."""
        return N * N * (itemsize + 8)

    #: Whether the simulator's step bound should use the realised matrix's ‖J‖₂ (power
    #: iteration, :meth:`CouplingMatrix.norm_estimate`) instead of
    #: :meth:`spectral_radius_bound` — for ensembles whose N → ∞ bound is loose.
    step_bound_from_realisation: ClassVar[bool] = False

    def statistics(self, values: Mapping[str, float]) -> dict[str, float]:
        """Named statistics of the coupling matrix at ``values`` that the theory reports
        under the observable ``connectivity`` (none by default; random modes: effective
        rank and ``pr_singular``)."""
        return {}

    def spectral_radius_bound(self, values: Mapping[str, float]) -> float:
        """An O(1) estimate of the largest |eigenvalue| of J as N → ∞."""
        raise NotImplementedError(f"{type(self).__name__} gives no spectral-radius bound")

    # ------------------------------------------------------------------ printing

    def text(self, coupling: Coupling) -> str:
        """One line of plain text describing the statistics of ``coupling``."""
        return f"{coupling.name} ~ {self!r}"

    def latex(self, coupling: Coupling) -> str:
        """The same line in LaTeX."""
        return rf"{coupling.name} \sim \mathtt{{{type(self).__name__}}}"


def expression_text(expr: sp.Expr) -> str:
    """An ensemble's expression in the package's plain-text notation."""
    return text(expr)


def expression_latex(expr: sp.Expr) -> str:
    """An ensemble's expression in the package's LaTeX notation."""
    return latex(expr)
