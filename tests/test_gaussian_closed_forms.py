"""Closed-form Gaussian expectations: matching, registry, and every entry against mpmath.

Oracles: single-variable entries against a direct mpmath integral; pair entries against a
one-dimensional mpmath integral over z_1 of F(z_1) times the (already checked) single
form of G at the conditional mean and variance of z_2 — exact by the tower property, and
independent of the pair formula. The tolerance is the brief's 1e-10 relative (with a 1e-14
absolute floor for values that are zero to double precision).
"""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy as sp

from fieldtheory.errors import DeclarationError
from fieldtheory.gaussian import (
    CLOSED_FORMS,
    COV,
    KERNELS,
    MU_U,
    MU_V,
    VAR_U,
    VAR_V,
    Moments,
    affine_terms,
    closed_form,
    register_closed_form,
)
from fieldtheory.gaussian.quadrature import features_of
from fieldtheory.gaussian.reference import (
    mpmath_function,
    reference_expect_conditional,
    reference_expect_single,
)
from fieldtheory.ir.nonlinearities import ReLU, erf_sqrtpi

x = sp.Symbol("x")
DPS = 20
# (m1, m2, s1, s2, c): |c| < sqrt(s1 s2) with room, means of both signs, one near ρ = 1
WITH_MEANS = [(0.3, -0.5, 0.7, 1.3, 0.4), (-1.1, 0.8, 2.0, 0.5, -0.9), (0.0, 0.0, 1.0, 1.0, 0.95)]
ZERO_MEAN = [(0.0, 0.0, s1, s2, c) for (_, _, s1, s2, c) in WITH_MEANS]


def close(value, reference) -> bool:
    return math.isclose(float(value), float(reference), rel_tol=1e-10, abs_tol=1e-14)


def moments(*point: float) -> Moments:
    return Moments(*(sp.Float(v, 30) for v in point))


def evaluate(expr: sp.Expr, m1, m2, s1, s2, c) -> float:
    values = {MU_U: m1, MU_V: m2, VAR_U: s1, VAR_V: s2, COV: c}
    return float(sp.sympify(expr).subs(values).evalf(30))


def single_mean(kernel: str):
    """E[F(w)], w ~ N(m, s), as an mpmath function of (m, s), from the single closed form."""
    m, s = sp.symbols("m s", real=True)
    expr = closed_form(KERNELS[kernel](x), None, x, mu_u=m, var_u=s)
    return sp.lambdify((m, s), expr, modules="mpmath")


SINGLE = [e for e in CLOSED_FORMS.values() if "one" in e.kernels]
PAIRS = [e for e in CLOSED_FORMS.values() if "one" not in e.kernels]


def test_registry_covers_every_kernel_pair():
    pairs = {frozenset(e.kernels) for e in CLOSED_FORMS.values()}
    assert len(pairs) == len(KERNELS) * (len(KERNELS) + 1) // 2


def test_duplicate_name_and_pair_are_refused():
    with pytest.raises(DeclarationError, match="already registered"):
        register_closed_form("erf", "id")(lambda q: q.c)  # pair taken as (id, erf)

    def erf_erf(q):
        return q.c

    with pytest.raises(DeclarationError, match="named 'erf_erf'"):
        register_closed_form("relu", "exp")(erf_erf)
    with pytest.raises(DeclarationError, match="unknown kernel"):
        register_closed_form("tanh", "one")(lambda q: q.c)


@pytest.mark.parametrize("entry", SINGLE, ids=lambda e: e.name)
@pytest.mark.parametrize("point", [*WITH_MEANS[:2], (0.0, 0.0, 3.0, 1.0, 0.0)])
def test_single_entry_against_mpmath(entry, point):
    m, _, s, _, _ = point
    kernel = entry.kernels[0]
    value = entry(moments(m, 0, s, 0, 0))
    reference = reference_expect_single(mpmath_function(KERNELS[kernel](x), x), m, s, dps=DPS)
    assert close(value.evalf(30), reference)


@pytest.mark.parametrize("entry", PAIRS, ids=lambda e: e.name)
def test_pair_entry_against_mpmath(entry):
    first, second = entry.kernels
    conditional = single_mean(second)
    points = ZERO_MEAN if entry.zero_mean else WITH_MEANS
    for m1, m2, s1, s2, c in points:
        value = entry(moments(m1, m2, s1, s2, c))
        reference = reference_expect_conditional(
            mpmath_function(KERNELS[first](x), x), conditional, m1, m2, s1, s2, c, dps=DPS
        )
        assert close(value.evalf(30), reference), (entry.name, (m1, m2, s1, s2, c))


def test_zero_mean_entries_need_zero_means():
    phi = erf_sqrtpi(x)
    assert closed_form(phi, phi, x) is None
    assert closed_form(ReLU(x), ReLU(x), x) is None
    assert closed_form(phi, phi, x, mu_u=0, mu_v=0) is not None
    assert closed_form(sp.erf(x + 1), sp.erf(x), x, mu_u=0, mu_v=0) is None  # offset ≠ 0


def test_matcher_reads_affine_arguments_and_pulls_out_constants():
    (term,) = affine_terms(erf_sqrtpi(x), x)
    assert (term.kernel, term.slope, term.offset) == ("erf", sp.sqrt(sp.pi) / 2, 0)
    terms = affine_terms(3 * ReLU(2 * x - 1) + 4 * x + 5, x)
    assert {(t.kernel, t.coefficient, t.slope, t.offset) for t in terms} == {
        ("relu", 3, 2, -1), ("id", 4, 1, 0), ("one", 5, 0, 0)}
    # e^{-(x-1)²} e^{3} = e^{-x² + 2x + 2}: the Gaussian kernel with its constant pulled out
    (term,) = affine_terms(sp.exp(-(x**2) + 2 * x + 2), x)
    assert (term.kernel, term.slope, term.offset, term.coefficient) == ("gauss", 1, -1, sp.exp(3))
    assert [t.kernel for t in affine_terms(sp.sign(x), x)] == ["one", "heaviside"]
    assert [t.kernel for t in affine_terms(sp.Max(x, 0), x)] == ["relu"]
    assert sorted(t.kernel for t in affine_terms(sp.Abs(x - 2), x)) == ["id", "one", "relu"]
    for unsupported in (sp.tanh(x), x**2, x * sp.exp(x), sp.exp(x**2), sp.erf(x**2)):
        assert affine_terms(unsupported, x) is None


def test_scs_erf_kernel_and_gain():
    """C_φ = (2/π) arcsin(Δ/(Δ0 + 2/π)), ⟨φ'⟩ = (1 + πΔ0/2)^(-1/2) (SCIENCE.md §1)."""
    delta0, delta = sp.symbols("Delta0 Delta", positive=True)
    phi = erf_sqrtpi(x)
    kernel = closed_form(phi, phi, x, mu_u=0, mu_v=0, var_u=delta0, var_v=delta0, cov=delta)
    assert sp.simplify(kernel - 2 / sp.pi * sp.asin(delta / (delta0 + 2 / sp.pi))) == 0
    gain = closed_form(phi.diff(x), None, x, var_u=delta0, mu_u=0)
    assert sp.simplify(gain - 1 / sp.sqrt(1 + sp.pi * delta0 / 2)) == 0


# Derivatives and affine arguments go through the public path: closed_form(f, g, x)
# evaluated at the moments, against the same layered mpmath oracle in the variables u, v.
DERIVATIVE_CASES = {
    "erf' x erf'": (erf_sqrtpi(x).diff(x), erf_sqrtpi(x).diff(x), WITH_MEANS),
    "relu' x relu'": (ReLU(x).diff(x), ReLU(x).diff(x), ZERO_MEAN),
    "relu x relu": (ReLU(x), ReLU(x), ZERO_MEAN),
    "erf x erf'": (erf_sqrtpi(x), erf_sqrtpi(x).diff(x), WITH_MEANS),
    "exp(2x+1) x x": (sp.exp(2 * x + 1), x, WITH_MEANS),
    "x x erf(sqrt(pi) x/2 + 1/3)": (x, sp.erf(sp.sqrt(sp.pi) * x / 2 + sp.Rational(1, 3)),
                                    WITH_MEANS),
    "2 relu(-x) x heaviside(3x)": (2 * ReLU(-x), sp.Heaviside(3 * x), ZERO_MEAN),
    "(erf(x) + 2x) x (exp(-x/2) - 1)": (sp.erf(x) + 2 * x, sp.exp(-x / 2) - 1, WITH_MEANS),
    "|x - 2| x (3x + 1)": (sp.Abs(x - 2), 3 * x + 1, WITH_MEANS),
    "sign(x) x sign(x)": (sp.sign(x), sp.sign(x), ZERO_MEAN),
    "|x| x |x|": (sp.Abs(x), sp.Abs(x), ZERO_MEAN),
}


@pytest.mark.parametrize("name", DERIVATIVE_CASES)
def test_closed_form_of_expressions_against_mpmath(name):
    f, g, points = DERIVATIVE_CASES[name]
    means = {"mu_u": 0, "mu_v": 0} if points is ZERO_MEAN else {}
    expr = closed_form(f, g, x, **means)
    assert expr is not None
    m, s = sp.symbols("m s", real=True)
    g_mean = sp.lambdify((m, s), closed_form(g, None, x, mu_u=m, var_u=s), modules="mpmath")
    kinks, _ = features_of((f,), x)  # split points for the oracle's integral over u
    for point in points:
        reference = reference_expect_conditional(
            mpmath_function(f, x), g_mean, *point, dps=DPS, breakpoints=kinks
        )
        assert close(evaluate(expr, *point), reference), (name, point)


def test_heaviside_orthant_and_arc_cosine_values():
    """Textbook values at ρ = 0, 1/2: P(u>0, v>0) = 1/3 at ρ = 1/2; E[relu²] = σ²/2."""
    h = sp.Heaviside(x)
    assert closed_form(h, h, x, mu_u=0, mu_v=0, var_u=2, var_v=2, cov=1) == sp.Rational(1, 3)
    relu_sq = closed_form(ReLU(x), ReLU(x), x, mu_u=0, mu_v=0, var_u=3, var_v=3, cov=3)
    assert sp.simplify(relu_sq - sp.Rational(3, 2)) == 0
    assert mpmath.almosteq(
        evaluate(closed_form(ReLU(x), None, x, mu_u=0), 0, 0, 4.0, 0, 0), 2 / math.sqrt(2 * math.pi)
    )


def test_docstring_examples():
    import doctest

    import fieldtheory.gaussian.closed_forms as module

    assert doctest.testmod(module).failed == 0
