r"""Numerical Gaussian expectations E[f(u) g(v)] and E[f(u)], vectorised over parameters.

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

import math
from collections.abc import Callable, Sequence

import numpy as np
import sympy as sp

from fieldtheory.errors import ParameterError
from fieldtheory.gaussian.closed_forms import COV, MU_U, MU_V, VAR_U, VAR_V, closed_form

__all__ = ["numpy_function", "features_of", "expect", "expect_single", "gaussian_expectation"]

Function = Callable[[np.ndarray], np.ndarray]

_HERMITE_NODES = 96  # the coarse rule of "auto"; the fine one has twice as many
_PANEL_NODES = 12  # Gauss–Legendre nodes per panel
_HALF_WIDTH = 10  # integration range |x| ≤ 10 in standard units
_SMALLEST_SCALE = 2.0**-30  # grading stops here (an exact kink sits on a panel end anyway)
_CHUNK = 2**22  # integrand evaluations per vectorised block
_METHODS = ("auto", "hermite", "panels")


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


# ---- node sets ----


def _hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.hermite_e.hermegauss(n)
    return nodes, weights / math.sqrt(2 * math.pi)


_LEGENDRE = np.polynomial.legendre.leggauss(_PANEL_NODES)
_GRID = np.arange(-_HALF_WIDTH, _HALF_WIDTH + 1, dtype=float)


def _grading_levels(scales: np.ndarray) -> int:
    """Doublings that take the smallest finite scale past the uniform grid's spacing."""
    finite = scales[np.isfinite(scales) & (scales > 0)]
    if finite.size == 0:
        return 0
    smallest = max(float(finite.min()), _SMALLEST_SCALE)
    return max(0, math.ceil(math.log2(2.0 / smallest)))


def _panel_rule(
    features: np.ndarray, scales: np.ndarray, levels: int
) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes and weights (…, N) for ∫ h(w) φ(w) dw with h featured at ``features`` (…, F).

    Breakpoints: the uniform grid, and p ± s·2^j (j = −2 … ``levels``) around each feature
    p of scale s; non-finite features drop out (clipped to the range end).
    """
    offsets = 2.0 ** np.arange(-2, levels + 1)
    offsets = np.concatenate([[0.0], offsets, -offsets])
    with np.errstate(invalid="ignore", over="ignore"):
        graded = features[..., :, None] + scales[..., :, None] * offsets
    graded = np.where(np.isfinite(graded), graded, _HALF_WIDTH)
    graded = graded.reshape(*graded.shape[:-2], -1)
    grid = np.broadcast_to(_GRID, (*graded.shape[:-1], _GRID.size))
    points = np.sort(np.clip(np.concatenate([grid, graded], axis=-1), -_HALF_WIDTH, _HALF_WIDTH))
    half = (points[..., 1:] - points[..., :-1]) / 2
    middle = (points[..., 1:] + points[..., :-1]) / 2
    t, w = _LEGENDRE
    nodes = (middle[..., None] + half[..., None] * t).reshape(*half.shape[:-1], -1)
    weights = (half[..., None] * w).reshape(nodes.shape)
    weights = weights * np.exp(-(nodes**2) / 2) / math.sqrt(2 * math.pi)
    return nodes, weights


def _features(breakpoints: np.ndarray, mean: np.ndarray, slope: np.ndarray, scale: np.ndarray):
    """Where ``mean + slope·w`` crosses each breakpoint, and the scale there, in units of w."""
    with np.errstate(divide="ignore", invalid="ignore"):
        where = (breakpoints - mean[..., None]) / slope[..., None]
        width = np.broadcast_to((scale / np.abs(slope))[..., None], where.shape)
    return where, width


# ---- the rules, on flat parameter arrays ----


def _single_hermite(f, mu, sigma, n):
    x, w = _hermite(n)
    return f(mu[:, None] + sigma[:, None] * x) @ w


def _single_panels(f, mu, sigma, breakpoints, feature_scale):
    features, scales = _features(breakpoints, mu, sigma, np.full_like(sigma, feature_scale))
    nodes, weights = _panel_rule(features, scales, _grading_levels(scales))
    return np.sum(f(mu[:, None] + sigma[:, None] * nodes) * weights, axis=-1)


def _pair_hermite(f, g, mu_u, mu_v, sigma_u, beta, tau, n):
    x, w = _hermite(n)
    u = mu_u[:, None] + sigma_u[:, None] * x
    v = (mu_v[:, None] + beta[:, None] * x)[:, :, None] + tau[:, None, None] * x
    return (f(u) * (g(v) @ w)) @ w


def _pair_panels(f, g, mu_u, mu_v, sigma_u, beta, tau, breakpoints, feature_scale):
    # Outer features: f's own, and g's seen through v's dependence on x (smoothed by the
    # inner integral over τ y, so on the scale of the smaller of τ and the feature scale).
    f_at, f_scale = _features(breakpoints, mu_u, sigma_u, np.full_like(sigma_u, feature_scale))
    g_smoothing = np.maximum(np.minimum(tau, feature_scale), _SMALLEST_SCALE)
    g_at, g_scale = _features(breakpoints, mu_v, beta, g_smoothing)
    features = np.concatenate([f_at, g_at], axis=-1)
    scales = np.concatenate([f_scale, g_scale], axis=-1)
    x, wx = _panel_rule(features, scales, _grading_levels(scales))
    # Inner features: per outer node, where v crosses a breakpoint, in units of y.
    inner_mean = mu_v[:, None] + beta[:, None] * x
    inner_slope = np.broadcast_to(tau[:, None], inner_mean.shape)
    y_at, y_scale = _features(breakpoints, inner_mean, inner_slope, np.full_like(inner_mean,
                                                                                 feature_scale))
    y, wy = _panel_rule(y_at, y_scale, _grading_levels(y_scale))
    inner = np.sum(g(inner_mean[..., None] + tau[:, None, None] * y) * wy, axis=-1)
    return np.sum(f(mu_u[:, None] + sigma_u[:, None] * x) * inner * wx, axis=-1)


def _in_chunks(rule, arrays: Sequence[np.ndarray], cost: int) -> np.ndarray:
    """Apply ``rule`` to slices of the flat parameter arrays, ``cost`` evaluations each."""
    size = arrays[0].size
    step = max(1, _CHUNK // max(cost, 1))
    out = np.empty(size)
    for start in range(0, size, step):
        out[start:start + step] = rule(*(a[start:start + step] for a in arrays))
    return out


def _auto(hermite, panels, arrays, hermite_cost, panel_cost, tol):
    coarse = _in_chunks(lambda *a: hermite(*a, _HERMITE_NODES), arrays, hermite_cost)
    fine = _in_chunks(lambda *a: hermite(*a, 2 * _HERMITE_NODES), arrays, 4 * hermite_cost)
    with np.errstate(invalid="ignore"):
        unconverged = ~(np.abs(fine - coarse) <= tol * np.maximum(1.0, np.abs(fine)))
    if unconverged.any():
        fine[unconverged] = _in_chunks(panels, [a[unconverged] for a in arrays], panel_cost)
    return fine


def _check_method(method: str) -> None:
    if method not in _METHODS:
        raise ParameterError(f"unknown quadrature method {method!r}; known: {', '.join(_METHODS)}")


def _as_arrays(**values) -> tuple[tuple[int, ...], dict[str, np.ndarray]]:
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in values.values()))
    shape = arrays[0].shape
    flat = {name: a.ravel().copy() for name, a in zip(values, arrays, strict=True)}
    for name, a in flat.items():
        if not np.all(np.isfinite(a)):
            raise ParameterError(f"{name} must be finite, got {a[~np.isfinite(a)][0]}")
    for name in ("var", "var_u", "var_v"):
        if name in flat and np.any(flat[name] < 0):
            raise ParameterError(f"{name} must be non-negative, got {flat[name].min()}")
    return shape, flat


def _check_covariance(a: dict[str, np.ndarray]) -> None:
    bound = np.sqrt(a["var_u"] * a["var_v"])
    if np.any(np.abs(a["cov"]) > bound * (1 + 1e-12) + 1e-300):
        bad = np.argmax(np.abs(a["cov"]) - bound)
        raise ParameterError(
            f"cov = {a['cov'][bad]} exceeds sqrt(var_u var_v) = {bound[bad]}: not a covariance"
        )


def expect_single(
    f: Function,
    mu: float | np.ndarray,
    var: float | np.ndarray,
    *,
    method: str = "auto",
    tol: float = 1e-12,
    breakpoints: Sequence[float] = (0.0,),
    feature_scale: float = 1.0,
) -> np.ndarray:
    r"""E[f(u)], u ~ N(μ, σ²), vectorised over broadcast ``mu`` and ``var``.

    Parameters
    ----------
    f : vectorised numpy callable.
    method : ``"auto"`` (Gauss–Hermite, panels where it has not converged to ``tol``),
        ``"hermite"`` or ``"panels"``; see the module docstring.
    breakpoints, feature_scale : where f has kinks or nearby complex singularities, and
        their size, in f's own variable (used by the panel rule).
    """
    _check_method(method)
    shape, a = _as_arrays(mu=mu, var=var)
    sigma = np.sqrt(a["var"])
    points = np.asarray(breakpoints, dtype=float)
    arrays = [a["mu"], sigma]

    def hermite(mu_, sigma_, n):
        return _single_hermite(f, mu_, sigma_, n)

    def panels(mu_, sigma_):
        return _single_panels(f, mu_, sigma_, points, feature_scale)

    if method == "hermite":
        out = _in_chunks(lambda *x: hermite(*x, 2 * _HERMITE_NODES), arrays, 2 * _HERMITE_NODES)
    elif method == "panels":
        out = _in_chunks(panels, arrays, 4000)
    else:
        out = _auto(hermite, panels, arrays, _HERMITE_NODES, 4000, tol)
    return out.reshape(shape)


def expect(
    f: Function,
    g: Function,
    mu_u: float | np.ndarray,
    mu_v: float | np.ndarray,
    var_u: float | np.ndarray,
    var_v: float | np.ndarray,
    cov: float | np.ndarray,
    *,
    method: str = "auto",
    tol: float = 1e-12,
    breakpoints: Sequence[float] = (0.0,),
    feature_scale: float = 1.0,
) -> np.ndarray:
    r"""E[f(u) g(v)] for (u, v) jointly Gaussian, vectorised over broadcast parameters.

    .. math:: E[f(u)g(v)] = \int dx\,φ(x)\, f(\mu_u + \sigma_u x)
              \int dy\,φ(y)\, g(\mu_v + \beta x + \tau y),

    β = c/σ_u, τ² = σ_v² − c²/σ_u². Requires c² ≤ σ_u² σ_v² (to rounding: |ρ| ≤ 1 + 1e-12).

    Parameters
    ----------
    f, g : vectorised numpy callables (:func:`numpy_function` makes them from sympy).
    mu_u, mu_v, var_u, var_v, cov : broadcastable arrays of the Gaussian's parameters.
    method, tol, breakpoints, feature_scale : as in :func:`expect_single`.

    Returns
    -------
    numpy.ndarray of the broadcast shape.
    """
    _check_method(method)
    shape, a = _as_arrays(mu_u=mu_u, mu_v=mu_v, var_u=var_u, var_v=var_v, cov=cov)
    _check_covariance(a)
    sigma_u = np.sqrt(a["var_u"])
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(sigma_u > 0, a["cov"] / sigma_u, 0.0)
    tau = np.sqrt(np.clip(a["var_v"] - beta**2, 0.0, None))
    points = np.asarray(breakpoints, dtype=float)
    arrays = [a["mu_u"], a["mu_v"], sigma_u, beta, tau]

    def hermite(*args):
        return _pair_hermite(f, g, *args)

    def panels(*args):
        return _pair_panels(f, g, *args, points, feature_scale)

    n = _HERMITE_NODES
    if method == "hermite":
        out = _in_chunks(lambda *x: hermite(*x, 2 * n), arrays, 4 * n * n)
    elif method == "panels":
        out = _in_chunks(panels, arrays, 10**6)
    else:
        out = _auto(hermite, panels, arrays, n * n, 10**6, tol)
    return out.reshape(shape)


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
    _check_method(method)
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
    shape, a = _as_arrays(mu_u=mu_u, mu_v=mu_v, var_u=var_u, var_v=var_v, cov=cov)
    _check_covariance(a)
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
