"""Zero-dimensional series: exact against the formal expansion, and against quadrature.

The oracle expands Z(g) = ∫dx e^{−x²/2 + g V(x)}/√(2π) in g *under the integral* and
integrates each Gaussian moment, ⟨x^{2k}⟩₀ = (2k − 1)!!; ln Z and ⟨x²⟩ = Z₂/Z follow by
sympy series arithmetic. No diagram enters.
"""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.diagrams import (
    cumulant_series,
    expand,
    ln_z_series,
    moment_series,
    perturbative_theory,
)

ORDER = 4


def gaussian_moment(k: int) -> sp.Integer:
    return sp.Integer(0) if k % 2 else sp.factorial2(k - 1) if k else sp.Integer(1)


def formal(potential: sp.Expr, x: sp.Symbol, g: sp.Symbol, order: int):
    """ln Z and ⟨x²⟩ as polynomials in g, from ∫ e^{−x²/2} Σ_k (g V)^k/k! x^m."""

    def moment(m: int) -> sp.Expr:
        total = sp.Integer(0)
        for k in range(order + 1):
            poly = sp.Poly(sp.expand(potential**k * x**m), x)
            gauss = sum(c * gaussian_moment(e[0]) for e, c in poly.terms())
            total += g**k * gauss / sp.factorial(k)
        return total

    z = moment(0)
    ln_z = sp.series(sp.log(z), g, 0, order + 1).removeO()
    x2 = sp.series(moment(2) / z, g, 0, order + 1).removeO()
    return [sp.expand(ln_z).coeff(g, k) for k in range(order + 1)], [
        sp.expand(x2).coeff(g, k) for k in range(order + 1)
    ]


def theory_of(potential_of, name="g"):
    p = ft.parameters(**{name: 0.01})
    g = p.symbols[0]
    x = ft.Field("x")
    action = ft.Action(
        -(x() ** 2) / 2 + potential_of(x(), g), (x,), parameters=p, time=ft.ZERO_DIMENSIONAL
    )
    return perturbative_theory(action), g


@pytest.mark.parametrize("potential", ["phi3", "phi4"])
def test_ln_z_and_x2_equal_the_formal_series_exactly(potential):
    x, g = sp.symbols("x g", real=True)
    V = {"phi3": x**3 / 6, "phi4": -(x**4) / 24}[potential]
    theory, _ = theory_of(lambda field, c: c * V.subs(x, field))
    ln_z, x2 = formal(V, x, g, ORDER)
    assert list(ln_z_series(theory, ORDER).coefficients()) == ln_z
    assert list(moment_series(theory, ("x", "x"), ORDER).coefficients()) == x2
    if potential == "phi3":  # odd orders of ln Z vanish, ⟨x⟩ = g/2 + O(g³)
        assert ln_z[1] == ln_z[3] == 0 and x2[1] == 0
        assert cumulant_series(theory, ("x",), 1).coefficients() == (0, sp.Rational(1, 2))


def test_phi4_known_coefficients():
    """ln Z = −λ/8 + λ²/12 − 11λ³/96 …, ⟨x²⟩ = 1 − λ/2 + 2λ²/3 − 11λ³/8 … (Zinn-Justin)."""
    theory = perturbative_theory("phi4_zero_dim")
    assert ln_z_series(theory, 3).strings() == ["0", "-1/8", "1/12", "-11/96"]
    assert moment_series(theory, ("x", "x"), 3).strings() == ["1", "-1/2", "2/3", "-11/8"]


def test_phi4_against_quadrature_within_the_truncation_error():
    """At λ = 0.01 the partial sums bracket the integral: the truncation error after order K
    has the sign of the first omitted term and is smaller than it — the bound of a
    Stieltjes series (Z(λ) = ∫dμ(x) e^{−λx⁴/4!} is one), checked for K = 0…3.
    """
    value = 0.01
    mpmath.mp.dps = 30
    weight = lambda x: mpmath.exp(-(x**2) / 2 - value * x**4 / 24)  # noqa: E731
    line = [-mpmath.inf, 0, mpmath.inf]
    z = mpmath.quad(weight, line) / mpmath.sqrt(2 * mpmath.pi)
    x2 = mpmath.quad(lambda x: x**2 * weight(x), line) / (mpmath.sqrt(2 * mpmath.pi) * z)
    theory = perturbative_theory("phi4_zero_dim")
    lam = theory.parameters[0]
    for series, exact in [
        (ln_z_series(theory, 4), mpmath.log(z)),
        (moment_series(theory, ("x", "x"), 4), x2),
    ]:
        terms = [float(t.subs(lam, value)) for t in series.terms]
        for k in range(4):
            error = float(exact) - sum(terms[: k + 1])
            assert 0 < error / terms[k + 1] < 1, (series.name, k, error, terms[k + 1])


def test_symmetry_factors_of_phi4_textbook_diagrams():
    theory = perturbative_theory("phi4_zero_dim")
    vacuum = sorted(d.symmetry_factor for d in expand(theory, (), order=2))
    assert vacuum == [sp.Rational(1, 48), sp.Rational(1, 16), sp.Rational(1, 8)]
    two_point = sorted(d.symmetry_factor for d in expand(theory, ("x", "x"), order=2))
    assert two_point == [
        sp.Rational(1, 6),
        sp.Rational(1, 4),
        sp.Rational(1, 4),
        sp.Rational(1, 2),
        1,
    ]
    # the count of contractions is S⁻¹ × n! (4!)^n
    for d in expand(theory, ("x", "x"), order=2):
        assert d.count == d.symmetry_factor * sp.factorial(d.order) * 24**d.order


def test_loops_select_diagrams_and_bound_the_order():
    theory = perturbative_theory("phi4_zero_dim")
    by_loops = expand(theory, ("x", "x"), loops=2)
    assert {d.loops for d in by_loops} == {0, 1, 2} and max(d.order for d in by_loops) == 2
    assert expand(theory, ("x", "x"), order=2) == by_loops


def test_expansion_is_cached():
    theory = perturbative_theory("phi4_zero_dim")
    assert expand(theory, ("x", "x"), order=3) is expand(theory, ("x", "x"), order=3)
    assert perturbative_theory("phi4_zero_dim") is theory
