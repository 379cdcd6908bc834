r"""Perturbation series of zero-dimensional theories, order by order in the vertices.

The order-k coefficient of a cumulant is the sum of the values of its connected diagrams
with k vertices; ln Z = ln(Z/Z₀) is the sum of the connected vacuum diagrams (plus the
constant part of S). Moments follow from cumulants by the moment–cumulant formula
⟨x_1 ⋯ x_n⟩ = Σ_{partitions π} Π_{B∈π} ⟨x_B⟩_c (e.g. P. McCullagh, *Tensor Methods in
Statistics*, ch. 2), multiplying the series of the blocks and truncating at the order.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.utilities.iterables import multiset_partitions

from fieldtheory.diagrams.theory import PerturbativeTheory
from fieldtheory.diagrams.wick import expand
from fieldtheory.errors import ExpansionError

__all__ = ["Series", "ln_z_series", "cumulant_series", "moment_series"]


@dataclass(frozen=True)
class Series:
    """Truncated series Σ_k terms[k]: ``terms[k]`` is the total of order k (k vertices).

    ``coupling`` is the one parameter all vertices are proportional to, when there is one;
    :meth:`coefficients` then divides it out (−λ/8 → −1/8).
    """

    name: str
    terms: tuple[sp.Expr, ...]
    coupling: sp.Symbol | None = None

    def coefficients(self) -> tuple[sp.Expr, ...]:
        """terms[k] / coupling^k where that is a number, else terms[k] itself."""
        out = []
        for k, term in enumerate(self.terms):
            if self.coupling is not None:
                ratio = sp.simplify(term / self.coupling**k)
                if ratio.is_number:
                    out.append(ratio)
                    continue
            out.append(term)
        return tuple(out)

    def strings(self) -> list[str]:
        return [str(c) for c in self.coefficients()]

    def __call__(self, values: dict[sp.Symbol, float] | None = None) -> sp.Expr:
        total = sp.Add(*self.terms)
        return total.subs(values) if values else total


def _coupling(theory: PerturbativeTheory) -> sp.Symbol | None:
    symbols = theory.parameters
    if len(symbols) != 1:
        return None
    (g,) = symbols
    if all(sp.simplify(v.coefficient / g).is_number for v in theory.vertices):
        return g
    return None


def _check(theory: PerturbativeTheory) -> None:
    if not theory.zero_dimensional:
        raise ExpansionError(
            f"{theory.name} is dynamic: its diagrams are time integrals, summed by "
            "fieldtheory.diagrams.loops, not number series"
        )


def _by_order(theory, external: tuple[str, ...], order: int) -> list[sp.Expr]:
    terms = [sp.Integer(0)] * (order + 1)
    for d in expand(theory, external, order=order):
        terms[d.order] += d.expression
    return [sp.expand(t) for t in terms]


def ln_z_series(theory: PerturbativeTheory, order: int) -> Series:
    """ln(Z/Z₀) to ``order`` vertices: connected vacuum diagrams (+ the constant of S)."""
    _check(theory)
    terms = _by_order(theory, (), order)
    terms[0] += theory.constant
    return Series("lnZ", tuple(terms), _coupling(theory))


def cumulant_series(theory: PerturbativeTheory, legs: tuple[str, ...], order: int) -> Series:
    """The cumulant ⟨legs⟩_c to ``order`` vertices."""
    _check(theory)
    name = "<" + " ".join(legs) + ">_c"
    return Series(name, tuple(_by_order(theory, tuple(legs), order)), _coupling(theory))


def moment_series(theory: PerturbativeTheory, legs: tuple[str, ...], order: int) -> Series:
    """The moment ⟨legs⟩ to ``order`` vertices, from cumulants by set partitions."""
    _check(theory)
    total = [sp.Integer(0)] * (order + 1)
    for partition in multiset_partitions(list(range(len(legs)))):
        product = [sp.Integer(1)] + [sp.Integer(0)] * order
        for block in partition:
            factor = cumulant_series(theory, tuple(legs[k] for k in block), order).terms
            product = [
                sp.expand(sum(product[i] * factor[k - i] for i in range(k + 1)))
                for k in range(order + 1)
            ]
        total = [a + b for a, b in zip(total, product, strict=True)]
    name = "<" + " ".join(legs) + ">"
    return Series(name, tuple(sp.expand(t) for t in total), _coupling(theory))
