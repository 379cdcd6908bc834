r"""Numerical Gaussian expectations E[f(u) g(v)] and E[f(u)], vectorised over parameters.

The rules themselves live in :mod:`fieldtheory.solvers.runtime.quadrature`, the one
quadrature module (generated solvers inline it); this module re-exports them with library
errors (``ParameterError``) and adds the sympy front ends: :func:`numpy_function`,
:func:`features_of` and the dispatching :func:`gaussian_expectation` (closed form, else
quadrature).

The pair is written through independent standard normals x, y (conditional decomposition)

.. math:: u = \mu_u + \sigma_u x, \qquad
          v = \mu_v + \beta x + \tau y, \quad \beta = c/\sigma_u, \quad
          \tau = \sqrt{\sigma_v^2 - c^2/\sigma_u^2},

so E[f(u)g(v)] = ∫dx φ(x) f(u(x)) ∫dy φ(y) g(v(x, y)), with φ the standard normal density.

Two rules integrate this:

* ``"hermite"``: tensor Gauss–Hermite. Exponentially convergent for entire f, g at moderate
  variance; slow for kinks (ReLU, Θ) and for functions with complex poles near the real
  axis when the variance is large — tanh has poles at ±iπ/2, i.e. at ±iπ/(2σ) in units of
  x, and Gauss–Hermite with n nodes converges only like exp(−π√(2n)/σ) (SCIENCE.md §1).
* ``"panels"``: composite Gauss–Legendre on panels in x (and, per outer node, in y) that
  are graded geometrically toward the *feature points* of f and g — where their argument
  crosses a breakpoint (default 0, where ReLU, Θ and sign have kinks and tanh, logistic
  their poles ±iπ/2, ±iπ) — down to the feature scale (default 1 in the function's own
  variable), and uniform (width 1) over the Gaussian's body, truncated at |x| ≤ 10
  (neglected mass ~1e-23). A panel of length h next to a pole at distance d ≥ h/2 is
  integrated by m-point Gauss–Legendre to ~ρ^{−2m}, ρ ≥ 3; kinks sit on panel ends.

``"auto"`` computes Gauss–Hermite with n and 2n nodes and keeps the finer value where the
two agree to ``tol``; elsewhere it recomputes with panels.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import sympy as sp

from fieldtheory.errors import ParameterError
from fieldtheory.gaussian.closed_forms import COV, MU_U, MU_V, VAR_U, VAR_V, closed_form
from fieldtheory.solvers.runtime import quadrature as rules
from fieldtheory.solvers.runtime.common import SolverInputError
from fieldtheory.solvers.runtime.quadrature import (
    KINK_STEP,
    STRIP,
    SeriesDivergence,
    gaussian_mean,
    gaussian_pair_mean,
    hermite_coefficients,
    normal_rule,
    pair_table,
)

__all__ = ["numpy_function", "features_of", "expect", "expect_single", "gaussian_expectation",
           "KINK_STEP", "STRIP", "SeriesDivergence", "gaussian_mean", "gaussian_pair_mean",
           "hermite_coefficients", "normal_rule", "pair_table"]

Function = Callable[[np.ndarray], np.ndarray]


def numpy_function(expr: sp.Expr, x: sp.Symbol) -> Function:
    """A numpy callable for a sympy function of ``x`` (ReLU prints as ``numpy.maximum``).

    Constants broadcast to the shape of the argument.
    """
    free = sp.sympify(expr).free_symbols - {x}
    if free:
        names = ", ".join(sorted(str(s) for s in free))
        raise ParameterError(f"{expr} has free symbols other than {x}: {names}")
    compiled = sp.lambdify(x, expr, modules=["scipy", "numpy"])

    def function(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        with np.errstate(over="ignore"):  # e.g. 1/(1 + e^{-x}) at x → −∞: 1/inf = 0 is right
            result = compiled(values)
        return np.broadcast_to(np.asarray(result, dtype=float), values.shape)

    function.__doc__ = f"numpy version of {expr} in {x}"
    return function


def _library_errors(rule):
    """The runtime rule with its refusals (``SolverInputError``) as ``ParameterError``."""

    @functools.wraps(rule)
    def wrapped(*args, **kwargs):
        try:
            return rule(*args, **kwargs)
        except SolverInputError as error:
            raise ParameterError(str(error)) from None

    return wrapped


#: E[f(u)], u ~ N(μ, σ²): :func:`fieldtheory.solvers.runtime.quadrature.expect_single`.
expect_single = _library_errors(rules.expect_single)
#: E[f(u)g(v)]: :func:`fieldtheory.solvers.runtime.quadrature.expect`.
expect = _library_errors(rules.expect)


def gaussian_expectation(
    f_expr: sp.Expr,
    g_expr: sp.Expr | None,
    x: sp.Symbol,
    mu_u: float | np.ndarray = 0.0,
    mu_v: float | np.ndarray = 0.0,
    var_u: float | np.ndarray = 1.0,
    var_v: float | np.ndarray = 1.0,
    cov: float | np.ndarray = 0.0,
    *,
    method: str = "auto",
    tol: float = 1e-12,
) -> np.ndarray:
    r"""E[f(u) g(v)] (E[f(u)] when ``g_expr`` is None): closed form if registered, else quadrature.

    Parameters
    ----------
    f_expr, g_expr : sympy expressions in ``x`` (no other free symbols), e.g. φ and φ'.
    x : the expressions' variable.
    mu_u, mu_v, var_u, var_v, cov : broadcastable arrays of the Gaussian's parameters.
    method : ``"auto"`` uses :func:`~fieldtheory.gaussian.closed_forms.closed_form` (with
        zero means substituted when every mean is zero, which reaches the arcsin,
        arc-cosine and orthant forms) and falls back to :func:`expect` /
        :func:`expect_single`; ``"hermite"`` and ``"panels"`` force a quadrature rule.
    tol : convergence test of the Gauss–Hermite rule in ``"auto"``.

    The quadrature's breakpoints and feature scale are read off the expressions
    (:func:`features_of`).

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> round(float(gaussian_expectation(sp.tanh(x).diff(x), None, x, var_u=1.92481)), 5)
    0.48682
    """
    if method not in rules.BIVARIATE_METHODS:
        raise ParameterError(f"unknown quadrature method {method!r}; known: "
                             f"{', '.join(rules.BIVARIATE_METHODS)}")
    single = g_expr is None
    if method == "auto":
        zero_means = not np.any(mu_u) and (single or not np.any(mu_v))
        means = {"mu_u": 0, "mu_v": 0} if zero_means else {}
        expr = closed_form(sp.sympify(f_expr), None if single else sp.sympify(g_expr), x,
                           **means)
        if expr is not None:
            return _evaluate_closed_form(expr, f_expr, g_expr, x, mu_u, mu_v, var_u, var_v, cov)
    breakpoints, feature_scale = features_of((f_expr, g_expr), x)
    options = {"breakpoints": breakpoints, "feature_scale": feature_scale}
    f = numpy_function(f_expr, x)
    if single:
        return expect_single(f, mu_u, var_u, method=method, tol=tol, **options)
    g = numpy_function(g_expr, x)
    return expect(f, g, mu_u, mu_v, var_u, var_v, cov, method=method, tol=tol, **options)


def features_of(
    exprs: Sequence[sp.Expr | None], x: sp.Symbol
) -> tuple[tuple[float, ...], float]:
    """Breakpoints and feature scale for the panel rule, read off sympy expressions.

    Every function application with an affine argument a x + b (ReLU, Θ, sign, Abs,
    tanh, …) contributes the breakpoint −b/a and the scale 1/|a|; 0 is always a breakpoint
    and the scale is at most 1.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> features_of((sp.Heaviside(x - 1), sp.tanh(4 * x)), x)
    ((0.0, 1.0), 0.25)
    """
    points, scale = {0.0}, 1.0
    for expr in exprs:
        if expr is None:
            continue
        for application in sp.sympify(expr).atoms(sp.Function):
            for argument in application.args:
                if not argument.has(x):
                    continue
                try:
                    poly = sp.Poly(argument, x)
                except sp.PolynomialError:
                    continue
                if poly.degree() != 1 or poly.free_symbols - {x}:
                    continue
                slope, offset = (float(c) for c in poly.all_coeffs())
                points.add(-offset / slope)
                scale = min(scale, 1 / abs(slope))
    return tuple(sorted(points)), scale


def _evaluate_closed_form(expr, f_expr, g_expr, x, mu_u, mu_v, var_u, var_v, cov) -> np.ndarray:
    """A closed form on arrays; quadrature where it is not finite or a variance is zero."""
    arguments = (MU_U, MU_V, VAR_U, VAR_V, COV)
    free = expr.free_symbols - set(arguments)
    if free:
        names = ", ".join(sorted(str(s) for s in free))
        raise ParameterError(f"E[{f_expr} · {g_expr}] has free symbols other than {x}: {names}")
    try:
        shape, a = rules.flat_parameters(mu_u=mu_u, mu_v=mu_v, var_u=var_u, var_v=var_v,
                                         cov=cov)
        rules.check_pair_covariance(a)
    except SolverInputError as error:
        raise ParameterError(str(error)) from None
    compiled = sp.lambdify(arguments, expr, modules=["scipy", "numpy"])
    with np.errstate(all="ignore"):
        value = np.broadcast_to(np.asarray(compiled(*a.values()), dtype=float), (a["cov"].size,))
    value = value.copy()
    # Zero variance is outside some formulas' domain (ρ = c/√(s_1 s_2)); quadrature is exact.
    degenerate = (a["var_u"] == 0) if g_expr is None else (a["var_u"] * a["var_v"] == 0)
    bad = ~np.isfinite(value) | degenerate
    if bad.any():
        f = numpy_function(f_expr, x)
        if g_expr is None:
            value[bad] = expect_single(f, a["mu_u"][bad], a["var_u"][bad])
        else:
            g = numpy_function(g_expr, x)
            value[bad] = expect(f, g, *(a[name][bad] for name in a))
    return value.reshape(shape)
