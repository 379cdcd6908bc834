"""Numerical Gaussian expectations against mpmath, closed forms and published values.

Two-dimensional nested ``mpmath.quad`` takes minutes per value, so the tanh × tanh
references are stored (computed by :func:`reference_expect` at dps = 20; rerun this file
as a script to regenerate them). One-dimensional references are computed live. The
tolerance is the brief's 1e-10 relative, with a 1e-14 absolute floor.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from fieldtheory.errors import ParameterError
from fieldtheory.gaussian import closed_form, expect, expect_single, gaussian_expectation
from fieldtheory.gaussian.quadrature import numpy_function
from fieldtheory.gaussian.reference import (
    mpmath_function,
    reference_expect,
    reference_expect_conditional,
    reference_expect_single,
)
from fieldtheory.ir.nonlinearities import ReLU, erf_sqrtpi

x = sp.Symbol("x")
TANH = numpy_function(sp.tanh(x), x)

# (mu_u, mu_v, var_u, var_v, cov) -> E[tanh(u) tanh(v)], nested mpmath.quad at dps = 20
TANH_PAIRS = {
    (0.0, 0.0, 1.0, 1.0, 0.5): 0.18632441320344809,
    (0.3, -0.7, 1.0, 1.0, 0.9): 0.20226725855918276,
    (0.0, 0.0, 1.0, 1.0, 0.999): 0.39383023742489653,
    (0.0, 0.0, 10.0, 10.0, 5.0): 0.30632325555030343,
    (0.3, -0.7, 10.0, 10.0, 9.0): 0.5805098451078867,
    (0.0, 0.0, 10.0, 10.0, 9.99): 0.7556169533812792,
    (0.0, 0.0, 100.0, 100.0, 50.0): 0.33034702837279234,
    (0.3, -0.7, 100.0, 100.0, 90.0): 0.695838974566756,
    (0.0, 0.0, 100.0, 100.0, 99.9): 0.91542027463979434137,
    (0.0, 0.0, 1000.0, 1000.0, 500.0): 0.33303140577466576153,
    (0.3, -0.7, 1000.0, 1000.0, 900.0): 0.71110542453242863597,
    (0.0, 0.0, 1000.0, 1000.0, 999.0): 0.96175651170842076166,
    (0.3, -0.7, 100.0, 1000.0, -200.0): -0.43376342292674852487,
}
# E[ReLU(u) tanh(v)] at (0.5, -0.3, 2, 3, 1.5): no closed form with means; same oracle
RELU_TANH = ((0.5, -0.3, 2.0, 3.0, 1.5), 0.29915052773914919763)


def close(value, reference) -> bool:
    return math.isclose(float(value), float(reference), rel_tol=1e-10, abs_tol=1e-14)


@pytest.mark.parametrize("point", TANH_PAIRS, ids=str)
def test_tanh_pair_against_nested_mpmath(point):
    assert close(expect(TANH, TANH, *point), TANH_PAIRS[point])


def test_tanh_pair_vectorised_matches_pointwise():
    points = np.array(list(TANH_PAIRS))
    values = expect(TANH, TANH, *points.T)
    assert values.shape == (len(points),)
    assert all(close(v, r) for v, r in zip(values, TANH_PAIRS.values(), strict=True))


@pytest.mark.parametrize("var", [1.0, 10.0, 100.0, 1000.0])
@pytest.mark.parametrize("name", ["tanh", "tanh'", "tanh^2", "logistic"])
def test_single_against_mpmath_at_large_variance(name, var):
    expr = {"tanh": sp.tanh(x + sp.Rational(1, 3)), "tanh'": sp.tanh(x).diff(x),
            "tanh^2": sp.tanh(x) ** 2, "logistic": 1 / (1 + sp.exp(-x))}[name]
    mu = 0.7
    reference = reference_expect_single(mpmath_function(expr, x), mu, var, dps=20,
                                        breakpoints=(0, -sp.Rational(1, 3)))
    value = expect_single(numpy_function(expr, x), mu, var, breakpoints=(0.0, -1 / 3))
    assert close(value, reference)


def test_gauss_hermite_alone_fails_for_tanh_at_large_variance():
    """Why the panel rule exists: poles at ±iπ/2 stall Gauss–Hermite (SCIENCE.md §1)."""
    point = (0.0, 0.0, 100.0, 100.0, 50.0)
    assert abs(expect(TANH, TANH, *point, method="hermite") - TANH_PAIRS[point]) > 1e-6
    assert close(expect(TANH, TANH, *point, method="panels"), TANH_PAIRS[point])


def test_published_gain_of_tanh_at_scs_g2():
    """⟨φ'⟩ = 0.48682 for tanh at Δ0 = 1.92481 (SCIENCE.md §1, Clark's rnn-lyapunov data)."""
    gain = gaussian_expectation(sp.tanh(x).diff(x), None, x, var_u=1.92481)
    assert abs(gain - 0.48682) < 1e-5


def test_erf_closed_form_equals_quadrature_equals_mpmath():
    phi = erf_sqrtpi(x)
    delta0 = 1.7
    cov = np.linspace(-delta0, delta0, 9)
    closed = gaussian_expectation(phi, phi, x, var_u=delta0, var_v=delta0, cov=cov)
    exact = 2 / np.pi * np.arcsin(cov / (delta0 + 2 / np.pi))  # SCIENCE.md §1
    f = numpy_function(phi, x)
    for method in ("hermite", "panels", "auto"):
        numeric = expect(f, f, 0, 0, delta0, delta0, cov, method=method)
        assert all(close(a, b) for a, b in zip(numeric, closed, strict=True)), method
    assert all(close(a, b) for a, b in zip(closed, exact, strict=True))
    erf_mean = sp.lambdify((sp.Symbol("m"), sp.Symbol("s")),
                           closed_form(phi, None, x, mu_u=sp.Symbol("m"), var_u=sp.Symbol("s")),
                           modules="mpmath")
    reference = reference_expect_conditional(mpmath_function(phi, x), erf_mean, 0, 0, delta0,
                                             delta0, cov[2], dps=20)
    assert close(closed[2], reference)


def test_relu_arc_cosine_equals_quadrature_including_full_correlation():
    var_u, var_v = 2.0, 0.5
    cov = np.linspace(-1, 1, 7) * math.sqrt(var_u * var_v)
    closed = gaussian_expectation(ReLU(x), ReLU(x), x, var_u=var_u, var_v=var_v, cov=cov)
    relu = numpy_function(ReLU(x), x)
    numeric = expect(relu, relu, 0, 0, var_u, var_v, cov)
    assert all(close(a, b) for a, b in zip(numeric, closed, strict=True))
    assert close(closed[-1], math.sqrt(var_u * var_v) / 2)  # ρ = 1: E[relu(z)²]·√(s_v/s_u)
    assert abs(closed[0]) < 1e-14  # ρ = −1: one of the two is always zero


def test_quadrature_with_means_matches_closed_forms_with_means():
    """Kinked kernels with means: closed forms (Stein, tilts) vs the panel rule."""
    cases = [(x, ReLU(x)), (sp.exp(x / 2), sp.Heaviside(x)), (ReLU(x), None),
             (sp.exp(-(x**2)), ReLU(2 * x - 1)), (sp.Heaviside(x - 1), None)]
    params = (0.4, -0.9, 1.5, 2.5, np.array([-1.2, 0.3, 1.9]))
    for f_expr, g_expr in cases:
        closed = gaussian_expectation(f_expr, g_expr, x, *params)
        f = numpy_function(f_expr, x)
        if g_expr is None:
            numeric = expect_single(f, params[0], params[2], breakpoints=(0.0, 1.0))
        else:
            numeric = expect(f, numpy_function(g_expr, x), *params, breakpoints=(0.0, 0.5))
        numeric, closed = np.broadcast_arrays(numeric, closed)
        assert all(close(a, b) for a, b in zip(numeric, closed, strict=True)), f_expr


def test_breakpoints_are_read_off_the_expressions():
    """Kinks away from 0 (ReLU(x − 1), Θ(2x + 1)) still sit on panel ends."""
    params = (0.4, -0.9, 1.5, 2.5, 0.8)
    for f_expr, g_expr in [(x, ReLU(x - 1)), (sp.exp(x / 2), sp.Heaviside(2 * x + 1))]:
        closed = gaussian_expectation(f_expr, g_expr, x, *params)
        assert closed_form(f_expr, g_expr, x) is not None
        numeric = gaussian_expectation(f_expr, g_expr, x, *params, method="panels")
        assert close(numeric, closed), (f_expr, g_expr)


def test_relu_tanh_with_means_against_mpmath():
    """No closed form: the dispatcher integrates numerically."""
    point, reference = RELU_TANH
    assert closed_form(ReLU(x), sp.tanh(x), x) is None
    assert close(gaussian_expectation(ReLU(x), sp.tanh(x), x, *point), reference)


def test_broadcasting_and_degenerate_parameters():
    relu = numpy_function(ReLU(x), x)
    value = expect(relu, relu, 0.0, 0.0, np.ones((2, 1)), np.ones((1, 3)), 0.0)
    assert value.shape == (2, 3)
    assert np.allclose(value, 1 / (2 * np.pi), rtol=1e-12)
    assert np.shape(expect_single(relu, 0.0, 1.0)) == ()
    # zero variance: the expectation is the function's value at the mean
    assert close(expect(TANH, TANH, 0.5, -1.0, 0.0, 0.0, 0.0), math.tanh(0.5) * math.tanh(-1.0))
    assert close(expect_single(TANH, 0.5, 0.0), math.tanh(0.5))
    # closed forms outside their domain (ρ = c/√(s_u s_v) at zero variance) fall back
    relu_sq = gaussian_expectation(ReLU(x), ReLU(x), x, 0.0, 0.0, np.array([0.0, 2.0]), 1.0, 0.0)
    assert close(relu_sq[0], 0.0) and close(relu_sq[1], math.sqrt(2) / (2 * math.pi))
    assert close(gaussian_expectation(ReLU(x), None, x, 0.3, var_u=0.0), 0.3)


def test_invalid_parameters_are_named():
    with pytest.raises(ParameterError, match="cov"):
        expect(TANH, TANH, 0, 0, 1.0, 1.0, 1.5)
    with pytest.raises(ParameterError, match="var_u"):
        expect(TANH, TANH, 0, 0, -1.0, 1.0, 0.0)
    with pytest.raises(ParameterError, match="method"):
        expect_single(TANH, 0, 1.0, method="simpson")
    with pytest.raises(ParameterError, match="free symbols"):
        numpy_function(sp.tanh(sp.Symbol("g") * x), x)


def regenerate() -> None:  # pragma: no cover
    """Recompute TANH_PAIRS: ``python tests/test_gaussian_quadrature.py`` (minutes each)."""
    tanh = mpmath_function(sp.tanh(x), x)
    for point in TANH_PAIRS:
        print(point, mpmath.nstr(reference_expect(tanh, tanh, *point, dps=20), 20))
    relu = mpmath_function(ReLU(x), x)
    print(RELU_TANH[0], mpmath.nstr(reference_expect(relu, tanh, *RELU_TANH[0], dps=20), 20))


def test_docstring_examples():
    import doctest

    import fieldtheory.gaussian.quadrature as module

    assert doctest.testmod(module).failed == 0


if __name__ == "__main__":
    regenerate()
