r"""Gaussian expectations for the solver runtimes: the one numpy quadrature module.

Self-contained (numpy, scipy and the standard library only): the code generator inlines it
into generated solver modules, and :mod:`fieldtheory.gaussian.quadrature` re-exports it for
the library. Every runtime takes its Gaussian averages from here.

* :func:`normal_rule`, :func:`gaussian_mean`, :func:`gaussian_pair_mean`: the trapezoidal
  rule in the standard normal variable z, which converges like exp(−2πd/h) for integrands
  analytic in the strip |Im z| < d (Trefethen & Weideman, SIAM Rev. 56, 385 (2014)). For
  f(μ + √Δ0 z) analytic in |Im x| < ``strip`` (the strip of analyticity of the site
  function, printed by the code generator from its expression) d = strip/√Δ0.
* :func:`pair_table`: Chebyshev interpolant of Δ ↦ E[f(u)g(v)] on [−Δ0, Δ0].
* :func:`hermite_coefficients`: the Hermite (Mehler) expansion
  :math:`f(\mu + \sigma z) = \sum_n b_n He_n(z)/\sqrt{n!}`, which turns every pair
  expectation at equal variances into a power series in the correlation r = Δ/Δ0,

  .. math:: E[f(u) h(v)] = \sum_n b_n^f b_n^h r^n

  (Mehler's formula; O'Donnell, *Analysis of Boolean Functions*, ch. 11). For f analytic
  in a strip of half-width d (in units of z), |b_n| ~ exp(−d√(2n)), so the series
  converges on |r| ≤ 1 with about (26/d)²/2 terms at 1e-16.

Kinks (ReLU, |x|, Θ) have no strip: ``strip=0`` selects a rule correct for them — the
trapezoid with a fixed fine step h = 1/64, whose error is O(h²) at a kink (≈ 1e-5 for
ReLU) and O(h) at a jump (≈ 1e-3 for Θ = ReLU') — and :func:`hermite_coefficients`
refuses them (its series converges only algebraically); closed forms, where they exist,
are printed by the code generator.

* :func:`expect`, :func:`expect_single`: general bivariate Gaussians (unequal means and
  variances), vectorised over broadcast parameters, for functions whose strip is not
  known but whose kinks and nearby poles are (``breakpoints``): tensor Gauss–Hermite
  checked against twice the nodes, else composite Gauss–Legendre panels graded towards
  the breakpoints (kinks sit on panel ends). The library's
  :mod:`fieldtheory.gaussian.quadrature` is these two with sympy front ends.
"""

import math
from functools import lru_cache

import numpy as np
from numpy.polynomial import chebyshev

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    SolverInputError,
    gauss_legendre,
)

__all__ = [
    "BIVARIATE_METHODS",
    "KINK_STEP",
    "STRIP",
    "SeriesDivergence",
    "check_pair_covariance",
    "expect",
    "expect_single",
    "flat_parameters",
    "gaussian_mean",
    "gaussian_pair_mean",
    "hermite_coefficients",
    "hermite_coefficients_many",
    "normal_rule",
    "closed_pair",
    "pair_table",
    "term_strip",
]

#: Half-width of the strip |Im x| < STRIP in which φ, φ', Φ are analytic when nothing else
#: is known (tanh): only hand-built SiteTerms and direct calls use it; generated modules
#: pass each site function's own strip (:func:`fieldtheory.gaussian.strips.strip_of`).
STRIP = math.pi / 2

#: The trapezoid step in z for functions with kinks (strip 0): error O(KINK_STEP²).
KINK_STEP = 1.0 / 64


def closed_pair(pair, mean: float, delta0: float, delta):
    """E[f(u)h(v)] from a printed closed form ``pair(mean, variance, covariance)``
    (``SiteTerm.pair``) at covariances ``delta``, or None where there is none (no form, a
    zero-mean form at another mean, a degenerate variance). Exact: preferred to every
    quadrature and series wherever it exists."""
    if pair is None or not delta0 > 0:
        return None
    delta = np.clip(np.asarray(delta, dtype=float), -delta0, delta0)
    value = pair(float(mean), float(delta0), delta)
    if value is None or not np.all(np.isfinite(value)):
        return None
    return np.asarray(value, dtype=float)


def term_strip(term, override=None) -> float:
    """The strip a runtime integrates a ``SiteTerm`` with: ``override`` when given (a
    caller's check), else the term's own (printed from its expressions by the code
    generator), else :data:`STRIP` (a hand-built term: tanh's strip)."""
    if override is not None:
        return float(override)
    strip = getattr(term, "strip", None)
    return float(STRIP if strip is None else strip)


class SeriesDivergence(ValueError):
    """The Hermite series of a function does not converge fast enough (kinks, or a strip
    too narrow for the variance); callers fall back to tabulated quadrature."""


def _step(delta0: float, strip: float) -> float:
    if not strip > 0:
        return KINK_STEP
    d = strip / math.sqrt(max(float(delta0), 1e-300))
    return min(0.25, 2 * math.pi * d / 40)


def normal_rule(delta0: float, strip: float = STRIP, span: float = 9.0):
    r"""Nodes z and weights w with :math:`\sum_i w_i f(z_i) \approx E[f(z)]`, z ~ N(0, 1).

    Trapezoidal rule with step h = min(1/4, 2π d/40), d = strip/√Δ0: for f(μ + √Δ0 z)
    analytic in |Im x| < strip the error is ~exp(−2πd/h) ≤ e^{−40}, and the truncation at
    |z| = span costs ~exp(−span²/2). ``strip`` 0 (kinks): h = :data:`KINK_STEP`.
    """
    h = _step(delta0, strip)
    n = math.ceil(span / h)
    z = h * np.arange(-n, n + 1)
    return z, h * np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)


def gaussian_mean(f, mean: float, delta0, strip: float = STRIP):
    """E[f(u)], u ~ N(mean, delta0); vectorised over an array of variances ``delta0``."""
    variances = np.asarray(delta0, dtype=float)
    z, w = normal_rule(float(variances.max(initial=0.0)), strip)
    values = f(mean + np.sqrt(np.maximum(variances, 0.0))[..., None] * z)
    return values @ w


#: Largest uniform rule per axis for pair means (beyond it: the panel rule of ``expect``).
_UNIFORM_NODES = 801


def gaussian_pair_mean(f, g, mean: float, delta0: float, delta, strip: float = STRIP):
    r"""E[f(u) g(v)] for (u, v) Gaussian, means μ, variances Δ0, covariance Δ (array).

    With u = μ + √|Δ| z + √(Δ0 − |Δ|) w₁ and v = μ ± √|Δ| z + √(Δ0 − |Δ|) w₂ (sign of Δ),
    E[f(u)g(v)] = ∫Dz [∫Dw f(u)] [∫Dw g(v)], both integrals by :func:`normal_rule`.
    """
    delta = np.asarray(delta, dtype=float)
    flat = np.clip(delta.ravel(), -delta0, delta0)
    z, w = normal_rule(delta0, strip)
    if z.size > _UNIFORM_NODES:
        # a strip narrow against the spread (tanh at a large variance): the uniform grid
        # would need z.size² points per covariance (gigabytes at Δ0 ~ 1e4); the graded
        # panel rule resolves the feature at its own scale instead
        out = expect(f, g, mean, mean, delta0, delta0, flat, tol=1e-12,
                     feature_scale=max(strip, 1e-3))
        return np.asarray(out, dtype=float).reshape(delta.shape)
    common = np.sqrt(np.abs(flat))
    private = np.sqrt(np.maximum(delta0 - np.abs(flat), 0.0))
    sign = np.where(flat < 0, -1.0, 1.0)
    out = np.empty(flat.shape)
    chunk = max(1, 2_000_000 // (z.size * z.size))
    for start in range(0, flat.size, chunk):
        part = slice(start, start + chunk)
        shared = common[part, None, None] * z[None, :, None]
        noise = private[part, None, None] * z[None, None, :]
        left = f(mean + shared + noise) @ w
        right = g(mean + sign[part, None, None] * shared + noise) @ w
        out[part] = (left * right) @ w
    return out.reshape(delta.shape)


def pair_table(f, g, mean: float, delta0: float, strip: float = STRIP, start: int = 64):
    """Chebyshev interpolant of Δ ↦ E[f(u)g(v)] on [−Δ0, Δ0] (degree doubled from
    ``start`` until the last coefficients fall below 1e-13 of the largest, at most 512)."""
    if delta0 <= 0.0:
        value = float(f(np.array(mean))) * float(g(np.array(mean)))
        return lambda delta: np.full(np.shape(delta), value)
    degree = start
    while True:
        coef = chebyshev.chebinterpolate(
            lambda x: gaussian_pair_mean(f, g, mean, delta0, delta0 * x, strip), degree)
        if degree >= 512 or np.abs(coef[-8:]).max() <= 1e-13 * max(np.abs(coef).max(),
                                                                    1e-300):
            break
        degree *= 2
    return lambda delta: chebyshev.chebval(np.clip(delta / delta0, -1.0, 1.0), coef)


# ----------------------------------------------------------------- Hermite expansions

#: The largest Hermite series :func:`hermite_coefficients` builds.
MAX_TERMS = 4096


@lru_cache(maxsize=32)
def _hermite_basis(h: float, terms: int, span: float = 13.0):
    r"""Nodes z_k = k h (|z| ≤ span) and the matrix w_k He_n(z_k)/√n!, n < ``terms``.

    The orthonormal recurrence ψ_{n+1} = (z ψ_n − √n ψ_{n−1})/√(n+1) is stable; the
    weights e^{−z²/2} keep every product finite (|ψ_n| e^{−z²/4} ≲ 1). A quadrature rule,
    not a result: cached by (h, terms).
    """
    n = math.ceil(span / h)
    z = h * np.arange(-n, n + 1)
    basis = np.empty((terms, z.size))
    basis[0] = 1.0
    if terms > 1:
        basis[1] = z
    for k in range(1, terms - 1):
        basis[k + 1] = (z * basis[k] - math.sqrt(k) * basis[k - 1]) / math.sqrt(k + 1)
    basis *= h * np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    basis.flags.writeable = False
    return z, basis


def _series_size(d: float) -> tuple[float, int]:
    """(step, terms) for a strip of half-width d in units of z, on a ladder (so that the
    bases are reused): terms ≈ (26/d)²/2 reach |b_n|² ≤ 1e-16 Σ|b_n|²; the step resolves
    both the function's strip and the Hermite functions' band √(2n)."""
    need = 0.5 * (26.0 / d) ** 2 + 40
    terms = 64
    while terms < need:
        terms *= 2 if terms < 512 else 1.5
        terms = int(terms)
    if terms > MAX_TERMS:
        raise SeriesDivergence(f"a Hermite series needs ~{need:.0f} terms (strip {d:.3g} "
                               "in standard units)")
    band = 1.5 * math.sqrt(2.0 * terms) + 40.0 / d
    h = 2.0 ** math.floor(math.log2(2 * math.pi / band))
    return min(h, 0.125), terms


def hermite_coefficients(f, mean: float, delta0: float, strip: float = STRIP,
                         tol: float = 1e-16) -> np.ndarray:
    r"""b_n = E[f(μ + σz) He_n(z)]/√n!, z ~ N(0, 1), σ² = Δ0, trimmed where Σ b_n² has
    converged to ``tol``.

    With these, for u, v with means μ, variances Δ0 and covariance Δ = r Δ0:
    E[f(u)f(v)] = Σ b_n² rⁿ, E[f'(u)f'(v)] = Σ n b_n² r^{n−1}/Δ0 (Price's theorem),
    E[f(u)] = b_0, E[f'(u)] = b_1/σ. Raises :class:`SeriesDivergence` for ``strip`` 0
    (kinks) or when the tail has not converged.
    """
    if not strip > 0:
        raise SeriesDivergence("a function with kinks has no convergent Hermite series")
    sigma = math.sqrt(max(float(delta0), 0.0))
    if sigma == 0.0:
        return np.array([float(f(np.array(float(mean))))])
    h, terms = _series_size(strip / sigma)
    z, basis = _hermite_basis(h, terms)
    b = basis @ np.asarray(f(mean + sigma * z), dtype=float)
    squares = b * b
    tail = np.cumsum(squares[::-1])[::-1]
    total = tail[0]
    if not np.isfinite(total) or tail[-16] > tol * max(total, 1e-300):
        raise SeriesDivergence(f"Hermite series not converged: tail {tail[-16]:.3g} of "
                               f"{total:.3g}")
    keep = int(np.argmax(tail <= 0.01 * tol * max(total, 1e-300))) or terms
    return b[: max(keep, 2)]


def hermite_coefficients_many(f, mean: float, delta0s, strip: float = STRIP,
                              tol: float = 1e-16) -> list:
    """:func:`hermite_coefficients` at each variance of ``delta0s`` in one pass per basis
    (one matrix product instead of one call per variance); None where that one would
    raise :class:`SeriesDivergence` (the caller decides whether it needs that point)."""
    out: list = [None] * len(delta0s)
    groups: dict = {}
    for k, delta0 in enumerate(delta0s):
        sigma = math.sqrt(max(float(delta0), 0.0))
        if not strip > 0:
            continue
        if sigma == 0.0:
            out[k] = np.array([float(f(np.array(float(mean))))])
            continue
        try:
            groups.setdefault(_series_size(strip / sigma), []).append((k, sigma))
        except SeriesDivergence:
            continue
    for (h, terms), members in groups.items():
        z, basis = _hermite_basis(h, terms)
        sigmas = np.array([sigma for _, sigma in members])
        values = np.asarray(f(mean + sigmas[:, None] * z), dtype=float)
        for (k, _), b in zip(members, values @ basis.T, strict=True):
            tail = np.cumsum((b * b)[::-1])[::-1]
            total = tail[0]
            if not np.isfinite(total) or tail[-16] > tol * max(total, 1e-300):
                continue
            keep = int(np.argmax(tail <= 0.01 * tol * max(total, 1e-300))) or terms
            out[k] = b[: max(keep, 2)]
    return out


# ----------------------------------------------------------------- general bivariate rules
#
# The pair is written through independent standard normals x, y,
#     u = μ_u + σ_u x,   v = μ_v + β x + τ y,   β = c/σ_u,   τ² = σ_v² − c²/σ_u²,
# so E[f(u)g(v)] = ∫Dx f(u(x)) ∫Dy g(v(x, y)). Two rules integrate it:
# * "hermite": tensor Gauss–Hermite, exponentially convergent for entire f, g at moderate
#   variance, slow for kinks and for poles near the axis at large variance (tanh: poles at
#   ±iπ/(2σ) in units of x; n nodes converge like exp(−π√(2n)/σ));
# * "panels": composite Gauss–Legendre on panels graded geometrically towards the points
#   where an argument crosses a breakpoint (kinks of ReLU, Θ, sign; the real parts of the
#   poles of tanh, logistic), down to the feature scale, uniform (width 1) over the
#   Gaussian's body, truncated at |x| ≤ 10 (neglected mass ~1e-23). A panel of length h
#   next to a pole at distance d ≥ h/2 is exact to ~ρ^{−2m}, ρ ≥ 3, with m nodes.
# "auto" keeps the Gauss–Hermite value where n and 2n nodes agree to ``tol`` and recomputes
# the rest with panels.

BIVARIATE_METHODS = ("auto", "hermite", "panels")
_HERMITE_NODES = 96  # the coarse rule of "auto"; the fine one has twice as many
_PANEL_NODES = 12  # Gauss–Legendre nodes per panel
_HALF_WIDTH = 10  # integration range |x| ≤ 10 in standard units
_SMALLEST_SCALE = 2.0**-30  # grading stops here (an exact kink sits on a panel end anyway)
_CHUNK = 2**22  # integrand evaluations per vectorised block


def _hermite_rule(n: int):
    nodes, weights = np.polynomial.hermite_e.hermegauss(n)
    return nodes, weights / math.sqrt(2 * math.pi)


def _grading_levels(scales: np.ndarray) -> int:
    """Doublings that take the smallest finite scale past the uniform grid's spacing."""
    finite = scales[np.isfinite(scales) & (scales > 0)]
    if finite.size == 0:
        return 0
    smallest = max(float(finite.min()), _SMALLEST_SCALE)
    return max(0, math.ceil(math.log2(2.0 / smallest)))


def _panel_rule(features: np.ndarray, scales: np.ndarray, levels: int):
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
    uniform = np.arange(-_HALF_WIDTH, _HALF_WIDTH + 1, dtype=float)
    grid = np.broadcast_to(uniform, (*graded.shape[:-1], uniform.size))
    points = np.sort(np.clip(np.concatenate([grid, graded], axis=-1), -_HALF_WIDTH,
                             _HALF_WIDTH))
    half = (points[..., 1:] - points[..., :-1]) / 2
    middle = (points[..., 1:] + points[..., :-1]) / 2
    t, w = gauss_legendre(_PANEL_NODES)
    nodes = (middle[..., None] + half[..., None] * t).reshape(*half.shape[:-1], -1)
    weights = (half[..., None] * w).reshape(nodes.shape)
    weights = weights * np.exp(-(nodes**2) / 2) / math.sqrt(2 * math.pi)
    return nodes, weights


def _crossings(breakpoints: np.ndarray, mean: np.ndarray, slope: np.ndarray, scale):
    """Where ``mean + slope·w`` crosses each breakpoint, and the scale there, in units of w."""
    with np.errstate(divide="ignore", invalid="ignore"):
        where = (breakpoints - mean[..., None]) / slope[..., None]
        width = np.broadcast_to((scale / np.abs(slope))[..., None], where.shape)
    return where, width


def _single_hermite(f, mu, sigma, n):
    x, w = _hermite_rule(n)
    return f(mu[:, None] + sigma[:, None] * x) @ w


def _single_panels(f, mu, sigma, breakpoints, feature_scale):
    features, scales = _crossings(breakpoints, mu, sigma, np.full_like(sigma, feature_scale))
    nodes, weights = _panel_rule(features, scales, _grading_levels(scales))
    return np.sum(f(mu[:, None] + sigma[:, None] * nodes) * weights, axis=-1)


def _pair_hermite(f, g, mu_u, mu_v, sigma_u, beta, tau, n):
    x, w = _hermite_rule(n)
    u = mu_u[:, None] + sigma_u[:, None] * x
    v = (mu_v[:, None] + beta[:, None] * x)[:, :, None] + tau[:, None, None] * x
    return (f(u) * (g(v) @ w)) @ w


def _pair_panels(f, g, mu_u, mu_v, sigma_u, beta, tau, breakpoints, feature_scale):
    # Outer features: f's own, and g's seen through v's dependence on x (smoothed by the
    # inner integral over τ y, so on the scale of the smaller of τ and the feature scale).
    f_at, f_scale = _crossings(breakpoints, mu_u, sigma_u, np.full_like(sigma_u,
                                                                       feature_scale))
    g_smoothing = np.maximum(np.minimum(tau, feature_scale), _SMALLEST_SCALE)
    g_at, g_scale = _crossings(breakpoints, mu_v, beta, g_smoothing)
    features = np.concatenate([f_at, g_at], axis=-1)
    scales = np.concatenate([f_scale, g_scale], axis=-1)
    x, wx = _panel_rule(features, scales, _grading_levels(scales))
    # Inner features: per outer node, where v crosses a breakpoint, in units of y.
    inner_mean = mu_v[:, None] + beta[:, None] * x
    inner_slope = np.broadcast_to(tau[:, None], inner_mean.shape)
    y_at, y_scale = _crossings(breakpoints, inner_mean, inner_slope,
                               np.full_like(inner_mean, feature_scale))
    y, wy = _panel_rule(y_at, y_scale, _grading_levels(y_scale))
    inner = np.sum(g(inner_mean[..., None] + tau[:, None, None] * y) * wy, axis=-1)
    return np.sum(f(mu_u[:, None] + sigma_u[:, None] * x) * inner * wx, axis=-1)


def _in_chunks(rule, arrays, cost: int) -> np.ndarray:
    """Apply ``rule`` to slices of the flat parameter arrays, ``cost`` evaluations each."""
    size = arrays[0].size
    step = max(1, _CHUNK // max(cost, 1))
    out = np.empty(size)
    for start in range(0, size, step):
        out[start:start + step] = rule(*(a[start:start + step] for a in arrays))
    return out


def _auto_rule(hermite, panels, arrays, hermite_cost, panel_cost, tol):
    coarse = _in_chunks(lambda *a: hermite(*a, _HERMITE_NODES), arrays, hermite_cost)
    fine = _in_chunks(lambda *a: hermite(*a, 2 * _HERMITE_NODES), arrays, 4 * hermite_cost)
    with np.errstate(invalid="ignore"):
        unconverged = ~(np.abs(fine - coarse) <= tol * np.maximum(1.0, np.abs(fine)))
    if unconverged.any():
        fine[unconverged] = _in_chunks(panels, [a[unconverged] for a in arrays], panel_cost)
    return fine


def flat_parameters(**values):
    """(shape, {name: flat float array}) of broadcast Gaussian parameters; non-finite
    values and negative variances (``var``, ``var_u``, ``var_v``) are refused by name."""
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in values.values()))
    shape = arrays[0].shape
    flat = {name: a.ravel().copy() for name, a in zip(values, arrays, strict=True)}
    for name, a in flat.items():
        if not np.all(np.isfinite(a)):
            raise SolverInputError(f"{name} must be finite, got {a[~np.isfinite(a)][0]}")
    for name in ("var", "var_u", "var_v"):
        if name in flat and np.any(flat[name] < 0):
            raise SolverInputError(f"{name} must be non-negative, got {flat[name].min()}")
    return shape, flat


def check_pair_covariance(a) -> None:
    """Refuse c² > σ_u² σ_v² (to rounding: |ρ| ≤ 1 + 1e-12) in flat parameters ``a``."""
    bound = np.sqrt(a["var_u"] * a["var_v"])
    if np.any(np.abs(a["cov"]) > bound * (1 + 1e-12) + 1e-300):
        bad = np.argmax(np.abs(a["cov"]) - bound)
        raise SolverInputError(f"cov = {a['cov'][bad]} exceeds sqrt(var_u var_v) = "
                               f"{bound[bad]}: not a covariance")


def _bivariate_method(method: str) -> None:
    if method not in BIVARIATE_METHODS:
        raise SolverInputError(f"unknown quadrature method {method!r}; known: "
                               f"{', '.join(BIVARIATE_METHODS)}")


def expect_single(f, mu, var, *, method="auto", tol=1e-12, breakpoints=(0.0,),
                  feature_scale=1.0) -> np.ndarray:
    r"""E[f(u)], u ~ N(μ, σ²), vectorised over broadcast ``mu`` and ``var``.

    ``method``: ``"auto"`` (Gauss–Hermite, panels where it has not converged to ``tol``),
    ``"hermite"`` or ``"panels"``; ``breakpoints``, ``feature_scale``: where f has kinks
    or nearby complex singularities, and their size, in f's own variable (panel rule).
    """
    _bivariate_method(method)
    shape, a = flat_parameters(mu=mu, var=var)
    arrays = [a["mu"], np.sqrt(a["var"])]
    points = np.asarray(breakpoints, dtype=float)

    def hermite(mu_, sigma_, n):
        return _single_hermite(f, mu_, sigma_, n)

    def panels(mu_, sigma_):
        return _single_panels(f, mu_, sigma_, points, feature_scale)

    if method == "hermite":
        out = _in_chunks(lambda *x: hermite(*x, 2 * _HERMITE_NODES), arrays,
                         2 * _HERMITE_NODES)
    elif method == "panels":
        out = _in_chunks(panels, arrays, 4000)
    else:
        out = _auto_rule(hermite, panels, arrays, _HERMITE_NODES, 4000, tol)
    return out.reshape(shape)


def expect(f, g, mu_u, mu_v, var_u, var_v, cov, *, method="auto", tol=1e-12,
           breakpoints=(0.0,), feature_scale=1.0) -> np.ndarray:
    r"""E[f(u) g(v)] for (u, v) jointly Gaussian, vectorised over broadcast parameters.

    .. math:: E[f(u)g(v)] = \int dx\,φ(x)\, f(\mu_u + \sigma_u x)
              \int dy\,φ(y)\, g(\mu_v + \beta x + \tau y),

    β = c/σ_u, τ² = σ_v² − c²/σ_u²; requires c² ≤ σ_u² σ_v² (|ρ| ≤ 1 + 1e-12).
    ``method``, ``tol``, ``breakpoints``, ``feature_scale``: as in :func:`expect_single`.
    """
    _bivariate_method(method)
    shape, a = flat_parameters(mu_u=mu_u, mu_v=mu_v, var_u=var_u, var_v=var_v, cov=cov)
    check_pair_covariance(a)
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
        out = _auto_rule(hermite, panels, arrays, n * n, 10**6, tol)
    return out.reshape(shape)
