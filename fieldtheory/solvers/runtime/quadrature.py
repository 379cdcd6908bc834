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
ReLU) — and :func:`hermite_coefficients` refuses them (its series converges only
algebraically); closed forms, where they exist, are printed by the code generator.
"""

import math
from functools import lru_cache

import numpy as np
from numpy.polynomial import chebyshev

__all__ = [
    "KINK_STEP",
    "STRIP",
    "SeriesDivergence",
    "gaussian_mean",
    "gaussian_pair_mean",
    "hermite_coefficients",
    "normal_rule",
    "pair_table",
]

#: Half-width of the strip |Im x| < STRIP in which φ, φ', Φ are analytic when nothing else
#: is known (tanh). Generated modules pass each site function's own strip.
STRIP = math.pi / 2

#: The trapezoid step in z for functions with kinks (strip 0): error O(KINK_STEP²).
KINK_STEP = 1.0 / 64


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


def gaussian_pair_mean(f, g, mean: float, delta0: float, delta, strip: float = STRIP):
    r"""E[f(u) g(v)] for (u, v) Gaussian, means μ, variances Δ0, covariance Δ (array).

    With u = μ + √|Δ| z + √(Δ0 − |Δ|) w₁ and v = μ ± √|Δ| z + √(Δ0 − |Δ|) w₂ (sign of Δ),
    E[f(u)g(v)] = ∫Dz [∫Dw f(u)] [∫Dw g(v)], both integrals by :func:`normal_rule`.
    """
    delta = np.asarray(delta, dtype=float)
    flat = np.clip(delta.ravel(), -delta0, delta0)
    z, w = normal_rule(delta0, strip)
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
