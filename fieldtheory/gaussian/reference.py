r"""High-precision reference values of Gaussian expectations, by nested ``mpmath.quad``.

An oracle for tests (STYLE.md §17): slow, independent of the closed forms and of the
numpy quadrature. With v | u ~ N(μ_v + (c/σ_u²)(u − μ_u), σ_v² − c²/σ_u²),

.. math:: E[f(u)g(v)] = \int du\, N(u; μ_u, σ_u^2)\, f(u)
          \int dv\, N(v; m(u), s)\, g(v),

each integral by tanh–sinh over (−∞, ∞) split at the breakpoints of the integrand (kinks
of f, g; by default 0 and ±1), at the mean and at mean ± a few standard deviations, so
that both the Gaussian's scale and the nonlinearity's are resolved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import mpmath
import sympy as sp

from fieldtheory.ir.nonlinearities import ReLU

__all__ = ["mpmath_function", "reference_expect", "reference_expect_conditional",
           "reference_expect_single"]

MpFunction = Callable[[mpmath.mpf], mpmath.mpf]


def mpmath_function(expr: sp.Expr, x: sp.Symbol) -> MpFunction:
    """An mpmath callable for a sympy function of ``x`` (ReLU, Θ, sign included)."""

    def heaviside(z, value_at_zero=0.5):
        return mpmath.mpf(1) if z > 0 else mpmath.mpf(0) if z < 0 else mpmath.mpf(value_at_zero)

    expr = sp.sympify(expr).replace(ReLU, lambda z: sp.Max(z, 0))
    namespace = {"Heaviside": heaviside, "Max": lambda *a: max(a), "sign": mpmath.sign}
    return sp.lambdify(x, expr, modules=[namespace, "mpmath"])


def _normal_density(z, mean, variance):
    return mpmath.exp(-((z - mean) ** 2) / (2 * variance)) / mpmath.sqrt(2 * mpmath.pi * variance)


def _points(mean, sigma, breakpoints: Sequence) -> list:
    """Sorted split points: breakpoints ± 1, the mean, mean ± σ, ± 4σ, and ±∞."""
    finite = {mean}
    for b in breakpoints:
        finite |= {b, b - 1, b + 1}
    for k in (1, 4):
        finite |= {mean - k * sigma, mean + k * sigma}
    return [-mpmath.inf, *sorted(finite), mpmath.inf]


def _integrate_normal(h: MpFunction, mean, variance, breakpoints: Sequence):
    if variance == 0:
        return h(mean)
    sigma = mpmath.sqrt(variance)
    return mpmath.quad(lambda z: h(z) * _normal_density(z, mean, variance),
                       _points(mean, sigma, breakpoints))


def reference_expect_single(
    f: MpFunction, mu, var, dps: int = 30, breakpoints: Sequence = (0,)
) -> mpmath.mpf:
    """E[f(u)], u ~ N(μ, σ²), to about ``dps`` digits."""
    with mpmath.workdps(dps):
        mu, var = mpmath.mpf(mu), mpmath.mpf(var)
        points = [mpmath.mpf(b) for b in breakpoints]
        return +_integrate_normal(f, mu, var, points)


def reference_expect(
    f: MpFunction,
    g: MpFunction,
    mu_u,
    mu_v,
    var_u,
    var_v,
    cov,
    dps: int = 30,
    breakpoints: Sequence = (0,),
) -> mpmath.mpf:
    r"""E[f(u) g(v)] for (u, v) jointly Gaussian, to about ``dps`` digits.

    Parameters
    ----------
    f, g : mpmath callables (:func:`mpmath_function` makes them from sympy).
    mu_u, mu_v, var_u, var_v, cov : the Gaussian's parameters (numbers or strings, read
        at ``dps`` digits); var_u > 0.
    breakpoints : where f or g have kinks (split points of both integrals).
    """
    with mpmath.workdps(dps):
        mu_u, mu_v, var_u, var_v, cov = (mpmath.mpf(p) for p in (mu_u, mu_v, var_u, var_v, cov))
        points = [mpmath.mpf(b) for b in breakpoints]
        slope = cov / var_u
        variance = max(var_v - cov * slope, mpmath.mpf(0))

        def conditional(u):
            return _integrate_normal(g, mu_v + slope * (u - mu_u), variance, points)

        # The outer integrand also bends where the conditional mean crosses a breakpoint.
        outer = list(points)
        if slope != 0:
            outer += [mu_u + (b - mu_v) / slope for b in points]
        return +_integrate_normal(lambda u: f(u) * conditional(u), mu_u, var_u, outer)


def reference_expect_conditional(
    f: MpFunction,
    conditional_mean: Callable,
    mu_u,
    mu_v,
    var_u,
    var_v,
    cov,
    dps: int = 30,
    breakpoints: Sequence = (0,),
) -> mpmath.mpf:
    r"""E[f(u) g(v)] = E[f(u) G(m(u), s)] with G(m, s) = E[g(w)], w ~ N(m, s), given.

    A one-dimensional oracle for pair formulas when G is known independently (e.g. a
    single-variable closed form already checked against :func:`reference_expect_single`):
    m(u) = μ_v + (c/σ_u²)(u − μ_u), s = σ_v² − c²/σ_u². ``conditional_mean(m, s)`` takes
    mpmath numbers.
    """
    with mpmath.workdps(dps):
        mu_u, mu_v, var_u, var_v, cov = (mpmath.mpf(p) for p in (mu_u, mu_v, var_u, var_v, cov))
        points = [mpmath.mpf(b) for b in breakpoints]
        slope = cov / var_u
        variance = var_v - cov * slope

        def integrand(u):
            return f(u) * conditional_mean(mu_v + slope * (u - mu_u), variance)

        return +_integrate_normal(integrand, mu_u, var_u, points)
