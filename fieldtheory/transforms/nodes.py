"""The sympy nodes the derivation stages add to the IR's atoms.

* :class:`TimeIntegral` — ∫dτ₁…dτ_k f (continuous time) or Σ_{τ₁…τ_k} f (discrete time):
  the integrals over time arguments that the collective-field action is made of. The
  variables are bound: they are not free symbols, and :func:`time_variables` hands out
  fresh ones that no declared symbol uses.
* :class:`OrderParameterValue`, :class:`ConjugateValue` — Q_k(τ₁…τ_k) and Q̃_k(τ₁…τ_k),
  applications of the sympy functions an
  :class:`~fieldtheory.transforms.stages.OrderParameter` owns.
* :class:`Expectation` — ⟨O⟩_α, the average over the single-site process of population α.
* :class:`SingleSiteLogZ` — ln Z_α[Q̃], the single-site generating functional.
* :class:`FluctuationValue` — δQ_k(τ₁…τ_k) or δQ̃_k(τ₁…τ_k), the deviation of an order
  parameter or conjugate field from its saddle-point value (the fluctuation stage).
* :class:`ConnectedExpectation` — ⟨A; B⟩_α = ⟨AB⟩_α − ⟨A⟩_α⟨B⟩_α over the single-site
  process of α (the second derivative of ln Z_α[Q̃]).
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.core.symbol import Str

__all__ = [
    "ConjugateValue",
    "ConnectedExpectation",
    "Expectation",
    "FluctuationValue",
    "OrderParameterValue",
    "SingleSiteLogZ",
    "TimeIntegral",
    "is_discrete_time",
    "time_variables",
]


def is_discrete_time(variable: sp.Symbol) -> bool:
    """Whether a time variable is a step index (integer) rather than a continuous time."""
    return bool(variable.is_integer)


def time_variables(count: int, discrete: bool, taken: frozenset | set = frozenset()) -> tuple:
    """``count`` distinct time symbols: t, s, t3, t4, … (discrete: n, m, n3, n4, …).

    A name that a declared symbol already uses (a parameter called ``s``, say) is skipped,
    so a bound time variable can never capture a parameter.
    """
    names = {str(x) for x in taken}
    base, second = ("n", "m") if discrete else ("t", "s")
    out = []
    for k in range(count):
        candidates = [base if k == 0 else second if k == 1 else f"{base}{k + 1}", f"{base}{k + 1}"]
        candidates += [f"{base}{k + 1}_{p}" for p in range(1, 100)]
        name = next(c for c in candidates if c not in names)
        names.add(name)
        out.append(sp.Symbol(name, integer=True) if discrete else sp.Symbol(name, real=True))
    return tuple(out)


class TimeIntegral(sp.Expr):
    r"""∫dτ₁…dτ_k f(τ₁…τ_k) — or Σ_{τ₁…τ_k} for step indices (integer symbols).

    ``args = (integrand, τ₁, …, τ_k)``. Factors independent of every τ are pulled out
    when the node is built, so ``TimeIntegral(c*f, t) == c*TimeIntegral(f, t)``.
    """

    is_commutative = True

    def __new__(cls, integrand, *variables):
        integrand = sp.sympify(integrand)
        variables = tuple(sp.sympify(v) for v in variables)
        if not variables:
            return integrand
        if integrand == 0:
            return sp.S.Zero
        constant, rest = integrand.as_independent(*variables, as_Add=False)
        if constant != 1:
            return constant * cls(rest, *variables)
        return super().__new__(cls, integrand, *variables)

    @property
    def integrand(self) -> sp.Expr:
        return self.args[0]

    @property
    def variables(self) -> tuple[sp.Symbol, ...]:
        return tuple(self.args[1:])

    @property
    def free_symbols(self) -> set:
        return self.integrand.free_symbols - set(self.variables)

    def _eval_subs(self, old, new):
        # bound variables are not substituted (as for sympy's own Integral)
        if old in self.variables:
            return self
        return None


class OrderParameterValue(AppliedUndef):
    """Q_k(τ₁…τ_k): an order parameter at given times (a deterministic function at N → ∞)."""

    is_real = True


class ConjugateValue(AppliedUndef):
    """Q̃_k(τ₁…τ_k): the conjugate (auxiliary) field of an order parameter."""


class Expectation(sp.Function):
    """⟨O⟩_α: the average of O over the single-site process of population α.

    ``args = (O, Str(α))``; fields inside O belong to the single site.
    """

    nargs = 2
    is_commutative = True

    @property
    def observable(self) -> sp.Expr:
        return self.args[0]

    @property
    def population(self) -> str:
        return self.args[1].name

    @classmethod
    def eval(cls, observable, population):
        if observable.is_number:
            return observable
        return None


def expectation(observable: sp.Expr, population: str) -> sp.Expr:
    return Expectation(sp.sympify(observable), Str(population))


class SingleSiteLogZ(sp.Function):
    """ln Z_α[Q̃]: the cumulant-generating functional of the single-site process of α."""

    nargs = 1
    is_commutative = True

    @property
    def population(self) -> str:
        return self.args[0].name


class FluctuationValue(AppliedUndef):
    """δQ_k(τ₁…τ_k) or δQ̃_k(τ₁…τ_k): a fluctuation around the saddle point.

    Printed by its function's ``text_name`` / ``latex_name`` (``δC_tanh``, ``δC̃_tanh``).
    """


class ConnectedExpectation(sp.Function):
    r"""⟨A; B⟩_α = ⟨A B⟩_α − ⟨A⟩_α ⟨B⟩_α, over the single-site process of population α.

    ``args = (A, B, Str(α))``. It is δ² ln Z_α / δQ̃_A δQ̃_B at the saddle point. A
    constant factor has no connected part, and one of response fields only vanishes
    (⟨x̃…x̃⟩ = 0 in a normalised MSRDJ functional, connected or not).
    """

    nargs = 3
    is_commutative = True

    @property
    def observables(self) -> tuple[sp.Expr, sp.Expr]:
        return self.args[0], self.args[1]

    @property
    def population(self) -> str:
        return self.args[2].name

    @classmethod
    def eval(cls, first, second, population):
        from fieldtheory.ir.symbols import FieldValue

        if first.is_number or second.is_number:
            return sp.S.Zero
        if not (first.has(FieldValue) or second.has(FieldValue)):
            return sp.S.Zero
        return None


def connected_expectation(first: sp.Expr, second: sp.Expr, population: str) -> sp.Expr:
    return ConnectedExpectation(sp.sympify(first), sp.sympify(second), Str(population))
