"""Strips of analyticity read off site functions, and the runtimes' use of them.

The oracles are independent of the runtimes: mpmath quadrature at 25 digits (fixed
points of one-φ sites, solved by ``mpmath.findroot``) and closed forms.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.codegen.generate import generate
from fieldtheory.gaussian.strips import ENTIRE_STRIP, strip_of, strip_reason
from fieldtheory.ir.nonlinearities import ReLU, erf_sqrtpi
from fieldtheory.solvers.runtime.quadrature import (
    KINK_STEP,
    SeriesDivergence,
    gaussian_pair_mean,
    hermite_coefficients,
)

x = sp.Symbol("x", real=True)
beta, theta = sp.symbols("beta theta", real=True)

GOLDEN = [
    (sp.tanh(x), "pi/2"),
    (sp.tanh(3 * x), "pi/6"),
    (sp.tanh(beta * x), "1/Max(1/1000, 2*Abs(beta)/pi)"),
    (sp.tanh(beta * x).diff(x), "1/Max(1/1000, 2*Abs(beta)/pi)"),
    (1 / (1 + sp.exp(-x)), "pi"),
    (1 / (1 + sp.exp(-beta * (x - theta))), "1/Max(1/1000, Abs(beta)/pi)"),
    (1 / sp.cosh(2 * x), "pi/4"),
    (sp.atan(2 * x + 1), "1/2"),
    (1 / (x**2 + 2 * x + 5), "2.00000000000000"),
    (erf_sqrtpi(x), "2/sqrt(pi)"),  # Gaussian growth κ = π/4
    (sp.erf(beta * x), "1/Max(1/1000, Abs(beta))"),
    (sp.exp(-(x**2) / 2), "sqrt(2)"),
    (x * sp.erf(x), "1"),
    (sp.tanh(x) + sp.erf(x), "1"),  # the growth of erf binds before tanh's poles
    (sp.sin(x), "2"),  # exponential type 1: κ = 1/4
    (x**3 - x, str(ENTIRE_STRIP)),
    (sp.exp(2 * x), str(ENTIRE_STRIP)),
    (ReLU(x), "0"),
    (sp.Heaviside(x), "0"),
    (sp.Abs(x), "0"),
    (sp.Max(x, 0), "0"),
    (sp.Piecewise((x, x > 0), (0, True)), "0"),
    (1 / (x**2 - 1), "0"),  # real poles
    (sp.tanh(x**2), "0"),  # no rule: the conservative kink path
]


@pytest.mark.parametrize(("expr", "strip"), GOLDEN, ids=[str(e) for e, _ in GOLDEN])
def test_strip_golden(expr, strip):
    assert str(strip_of(expr, x)) == strip
    assert strip_reason(expr, x)


def test_entire_is_not_an_infinite_strip():
    """erf grows like e^{y²} off the axis: the strip 1/√κ is accurate at large variance,
    the 'entire' strip is not (E[erf(cu)erf(cv)] = (2/π) arcsin(2c²Δ/(1 + 2c²Δ0)))."""
    c, delta0 = 2.0, 9.0
    delta = np.linspace(-delta0, delta0, 7)
    exact = 2 / np.pi * np.arcsin(2 * c**2 * delta / (1 + 2 * c**2 * delta0))

    def erf(u):
        return np.asarray(sp.lambdify(x, sp.erf(c * x), "scipy")(u))

    strip = float(strip_of(sp.erf(c * x), x))
    assert strip == 1 / c
    good = gaussian_pair_mean(erf, erf, 0.0, delta0, delta, strip)
    bad = gaussian_pair_mean(erf, erf, 0.0, delta0, delta, ENTIRE_STRIP)
    assert np.abs(good - exact).max() < 1e-13
    assert np.abs(bad - exact).max() > 1e-6


def _model(name, phi, **values):
    p = ft.parameters(g=(values["g"], "positive", "gain"), I=(values["I"], "real", "input"),
                      beta=(values.get("beta", 1.0), "positive", "slope"))
    g, I, b = p.symbols
    u, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    action = ft.langevin(drift={u: -u(t) + J @ phi(b, u(t)) + I}, noise={u: 0},
                         couplings={J: ft.Gaussian(mean=0, variance=g**2)}, parameters=p)
    return ft.Model(name, action, name, "test")


def _normal_mean(f, mean, var, scale):
    s = mpmath.sqrt(var)
    points = sorted({mpmath.mpf(0), -scale, scale, mean, mean - s, mean + s, mean - 4 * s,
                     mean + 4 * s})

    def density(u):
        return mpmath.exp(-((u - mean) ** 2) / (2 * var)) / mpmath.sqrt(2 * mpmath.pi * var)

    return mpmath.quad(lambda u: f(u) * density(u), [-mpmath.inf, *points, mpmath.inf])


def _fixed_point(f, df, g, I, guess, scale):
    """(Δ0, E[φ], E[φ']) at Δ0 = g² E[φ(u)²], u ~ N(I, Δ0), by mpmath at 25 digits."""
    with mpmath.workdps(25):
        g, I = mpmath.mpf(g), mpmath.mpf(I)
        d0 = mpmath.findroot(
            lambda d: g**2 * _normal_mean(lambda u: f(u) ** 2, I, d, scale) - d,
            mpmath.mpf(guess))
        return [float(v) for v in (d0, _normal_mean(f, I, d0, scale),
                                   _normal_mean(df, I, d0, scale))]


def _errors(out, reference):
    values = (out["variance"], out["mean_phi"], out["mean_gain"])
    return max(abs(v - r) for v, r in zip(values, reference, strict=True))


def test_tanh_beta_uses_its_own_strip():
    """φ = tanh(βx), β = 3: strip π/6. The solve matches mpmath to ~1e-14; the old tanh
    default (strip π/2, three times too wide) misses by ~1e-6."""
    model = _model("tanh_beta", lambda b, u: sp.tanh(b * u), g=1.45, I=3.0, beta=3.0)
    module = generate(model).module
    assert module.spec().correlations[0].strip == pytest.approx(math.pi / 6, rel=1e-15)
    assert module.spec(beta=0.5).phi_strip == (pytest.approx(math.pi),)
    b = mpmath.mpf(3)
    reference = _fixed_point(lambda u: mpmath.tanh(b * u), lambda u: b * mpmath.sech(b * u) ** 2,
                             1.45, 3.0, 2.0, 1 / b)
    out = module.solve()
    assert out["branch"] == "fixed_point"
    assert _errors(out, reference) < 1e-12
    old_default = module.solve(options={"strip": math.pi / 2})
    assert _errors(old_default, reference) > 1e-7


def test_relu_takes_the_kink_path():
    """Strip 0: no Hermite series (the lattice route), the fixed fine trapezoid step
    h = 1/64 in z — against mpmath split at the kink. Its error is O(h²) for the kink of
    ReLU (Δ0, ⟨φ⟩) but O(h) for the jump of φ' = Θ (⟨φ'⟩): at most h times the normal
    density at the jump, in z."""
    model = _model("relu_site", lambda b, u: ReLU(u), g=0.9, I=1.0)
    module = generate(model).module
    site = module.spec()
    assert site.correlations[0].strip == 0.0 and site.phi_strip == (0.0,)
    with pytest.raises(SeriesDivergence):
        hermite_coefficients(site.phi[0], 1.0, 1.0, site.correlations[0].strip)
    reference = _fixed_point(lambda u: max(u, 0), lambda u: 1 if u > 0 else 0, 0.9, 1.0, 1.0,
                             mpmath.mpf(1))
    out = module.solve()
    assert out["branch"] == "fixed_point"
    assert abs(out["variance"] - reference[0]) < 1e-6
    assert abs(out["mean_phi"] - reference[1]) < 1e-5
    jump = math.exp(-0.5 / reference[0]) / math.sqrt(2 * math.pi)  # density of z at u = 0
    assert abs(out["mean_gain"] - reference[2]) < KINK_STEP * jump
