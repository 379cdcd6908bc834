"""Pieces every solver runtime shares: the convergence error and Gaussian quadrature.

Self-contained (numpy, scipy and the standard library only). The code generator inlines
this module's source ahead of the runtime it needs (``runtime_source``), dropping the
runtimes' ``from fieldtheory.solvers.runtime.common import`` lines, so generated modules
still import nothing from fieldtheory.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "STRIP",
    "ConvergenceError",
    "SiteSpec",
    "SiteTerm",
    "backtrack",
    "gaussian_mean",
    "gaussian_pair_mean",
    "mixture",
    "normal_rule",
]

#: Half-width of the strip |Im x| < STRIP in which φ, φ', Φ are assumed analytic (tanh).
STRIP = math.pi / 2


class ConvergenceError(RuntimeError):
    """A solver did not converge; ``residuals`` holds its residual history (max norms)."""

    def __init__(self, message: str, residuals=()):
        self.residuals = tuple(float(r) for r in residuals)
        tail = ", ".join(f"{r:.3g}" for r in self.residuals[-5:])
        super().__init__(f"{message} (last residuals: [{tail}])" if tail else message)


def normal_rule(delta0: float, strip: float = STRIP, span: float = 9.0):
    r"""Nodes z and weights w with :math:`\sum_i w_i f(z_i) \approx E[f(z)]`, z ~ N(0, 1).

    Trapezoidal rule with step h = min(1/4, 2π d/40), d = strip/√Δ0: for f(μ + √Δ0 z)
    analytic in |Im x| < strip the error is ~exp(−2πd/h) ≤ e^{−40}, and the truncation at
    |z| = span costs ~exp(−span²/2).
    """
    d = strip / math.sqrt(max(float(delta0), 1e-300))
    h = min(0.25, 2 * math.pi * d / 40)
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


# ----------------------------------------------------------------- the lowered problem


@dataclass(frozen=True)
class SiteTerm:
    r"""An average over the single site of population ``population`` (an index).

    A mean m = ⟨f(x(t))⟩ when ``right`` is None; a correlation C(t, s) = ⟨f(x(t)) h(x(s))⟩
    otherwise; in ``SiteSpec.responses`` a response R(t, s) = ⟨f(x(t)) x̃(s)⟩ whose kernel
    acts on h(x(s)). ``left``/``right`` are elementwise numpy callables, ``dleft``/``dright``
    their derivatives.
    """

    population: int
    left: Callable
    right: Callable | None = None
    dleft: Callable | None = None
    dright: Callable | None = None
    name: str = ""


@dataclass(frozen=True)
class SiteSpec:
    r"""The numeric single-site problem every solver runtime takes (P populations).

    For a site of population α, in continuous time (``step`` None),

    .. math::
        \partial_t x = -a_\alpha x + r_\alpha(x) + \mu_\alpha + \eta_\alpha(t)
            + \sum_j \kappa_{\alpha j} \int ds\, R_j(t, s)\, h_j(x(s)),

    .. math::
        \mu_\alpha = I_\alpha + \sum_l B_{\alpha l} m_l, \qquad
        \langle\eta_\alpha(t)\eta_\alpha(s)\rangle = D_\alpha\,\delta(t - s)
            + \sum_k A_{\alpha k} C_k(t, s),

    with a = ``leak``, r = ``nonlinear`` (None: zero), I = ``offset``, B = ``mean_coupling``
    over ``means``, D = ``noise``, A = ``correlation_coupling`` over ``correlations``,
    κ = ``response_coupling`` over ``responses``. Each m_l, C_k, R_j is an average over the
    site of its own term's population. In discrete time (``step`` = δ, the physical
    duration of one step) the left side is x(n + 1) − x(n) and D is the variance per step.
    ``phi``/``dphi`` per population are the observed φ (observables ``mean_phi``, …);
    ``fractions`` the populations' shares of the network (None: not given).
    """

    populations: tuple[str, ...]
    leak: np.ndarray
    noise: np.ndarray
    offset: np.ndarray
    means: tuple[SiteTerm, ...]
    mean_coupling: np.ndarray
    correlations: tuple[SiteTerm, ...]
    correlation_coupling: np.ndarray
    responses: tuple[SiteTerm, ...]
    response_coupling: np.ndarray
    nonlinear: tuple[Callable | None, ...]
    dnonlinear: tuple[Callable | None, ...]
    phi: tuple[Callable, ...]
    dphi: tuple[Callable, ...]
    step: float | None = None
    fractions: np.ndarray | None = None

    @property
    def size(self) -> int:
        """The number of populations P."""
        return len(self.populations)

    @property
    def has_kernel(self) -> bool:
        """Whether any response kernel κ is nonzero (partial symmetry)."""
        return bool(np.any(np.asarray(self.response_coupling) != 0))

    @property
    def has_nonlinear_drift(self) -> bool:
        """Whether any population's drift is nonlinear in x (a non-Gaussian site)."""
        return any(r is not None for r in self.nonlinear)


def mixture(populations, fractions, errors=None):
    r"""Network-wide observables of units drawn from the populations with ``fractions``.

    Δ_all(τ) = Σ_α f_α [Δ_α(τ) + (M_α − M̄)²], M̄ = Σ f_α M_α: the spread of the
    populations' means is a static variance (likewise for φ with m_α); means and gains
    average linearly. ``populations`` and ``errors`` are lists of schema dicts (keys
    mean, variance, autocorrelation, mean_phi, autocorrelation_phi, mean_gain; errors: their
    standard errors, populations independent). Returns ``(values, errors)``, errors by
    first-order propagation (∂Δ_all/∂M_α = 2 f_α (M_α − M̄)), None without ``errors``.
    """
    f = np.asarray(fractions, dtype=float)
    tau = populations[0]["autocorrelation"]["tau"]
    means = {key: np.array([p[key] for p in populations], dtype=float)
             for key in ("mean", "mean_phi", "mean_gain")}
    centre = {key: float(f @ v) for key, v in means.items()}
    values = dict(centre)
    curves = {"autocorrelation": "mean", "autocorrelation_phi": "mean_phi"}
    for curve, mean in curves.items():
        spread = (means[mean] - centre[mean]) ** 2
        values[curve] = {"tau": tau, "values": sum(
            f[a] * (np.asarray(p[curve]["values"], dtype=float) + spread[a])
            for a, p in enumerate(populations))}
    values["variance"] = float(values["autocorrelation"]["values"][0])
    if errors is None:
        return values, None
    sigma = {key: np.array([e.get(key, 0.0) for e in errors], dtype=float) for key in means}
    out = {key: float(np.sqrt(np.sum((f * sigma[key]) ** 2))) for key in means}
    for curve, mean in curves.items():
        slope = 2 * f * (means[mean] - centre[mean])
        square = sum((f[a] * np.asarray(e[curve]["values"], dtype=float)) ** 2
                     + (slope[a] * sigma[mean][a]) ** 2 for a, e in enumerate(errors))
        out[curve] = {"tau": tau, "values": np.sqrt(square)}
    out["variance"] = float(out["autocorrelation"]["values"][0])
    return values, out


def backtrack(x, update, norm: float, residual, residuals, halvings: int = 12,
              admissible=None):
    """Newton backtracking: the first x − 2^{−k} update (k < ``halvings``) that is
    ``admissible`` and lowers max|F| below ``norm``.

    Returns ``(trial, force, trial_norm, step)`` with step = 2^{−k}; raises
    :class:`ConvergenceError` (with ``residuals``) when no halving lowers the residual.
    """
    for halving in range(halvings):
        step = 0.5**halving
        trial = x - step * update
        if admissible is not None and not admissible(trial):
            continue
        force = residual(trial)
        trial_norm = float(np.abs(force).max())
        if trial_norm < norm:
            return trial, force, trial_norm, step
    raise ConvergenceError("lag equation: Newton step does not reduce the residual", residuals)
