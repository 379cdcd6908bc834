r"""The O(1/N) variance of a window-averaged population composite (issue 17, the Gaussian
part of the rate function; van Meegen, Kühn & Helias, PRL 127, 158302 (2021)).

For a network of Gaussian sites (linear drift ∂_t x = −a x + I + η + ξ, η of covariance
A·C_f with C_f(t, s) = (1/N) Σ_j f(x_j(t)) f(x_j(s)), ⟨ξξ⟩ = D δ) the observable

.. math::  q = \frac1T\int_0^T dt\, \frac1N\sum_i f(x_i(t))^2

fluctuates at O(N^{-1/2}). At leading order, given the empirical C_f the units are
independent Gaussian processes of covariance K[C_f] = G(A C_f + D)Gᵀ (G the leak's
propagator), so δC_f = ξ + L δC_f with ξ the single-site sampling noise of C_f and
L = ∂E[f f]/∂K · ∂K/∂C_f the linearised self-consistency; q = ℓ(C_f) with ℓ the window's
diagonal average. Hence, with the adjoint μ = (1 − Lᵀ)⁻¹ ℓ (a two-time kernel),

.. math::  N\,\mathrm{Var}\,q = \mathrm{Var}_{\rm site}\Big[\sum_{ij} \mu_{ij}\, f(x_i) f(x_j)\Big],

the variance of a quadratic functional of one unit's stationary Gaussian path. Lᵀ on a
two-time grid (step h, from a memory P before the window to its end):
Lᵀμ = A 𝐆ᵀ[F_c ⊙ μ + diag(Σ_j F_v,ij μ_ij + Σ_j F_v,ji μ_ji)]𝐆, with F_c(τ) = E[f'f'],
F_v(τ) = ½E[f''(u) f(w)] at the DMFT covariance (Price's theorem; E[f''f] by Stein's lemma
from E[(u − m) f'(u) f(w)]), 𝐆 the trapezoid rule of the exponential propagator. μ by
fixed-point iteration; the variance by Monte Carlo over stationary Gaussian paths
(circulant embedding): the runtime returns it with its standard error.

With a mean coupling (J0 ≠ 0) the population means m(t) = (1/N)Σ_j f(x_j(t)) fluctuate
too and shift every unit's mean path by 𝐆 J0 δm: a one-time channel beside the two-time
one (:meth:`WindowVariance.adjoint`). Where the DMFT has a static part (a mean input with
J0 or I ≠ 0 makes a quenched field of variance g²m²), the annealed variance includes how
⟨q | J⟩ differs between networks.

This is the annealed leading order (exact against finite linear networks; for φ = erf
against simulations, docs/models/large-deviations.md).
"""

from __future__ import annotations

import numpy as np

from fieldtheory.solvers.runtime.common import (
    ConvergenceError,
    SolverInputError,
    register_runtime,
)
from fieldtheory.solvers.runtime.monte_carlo_paths import circulant_sample

__all__ = ["WindowVariance", "applies_window_variance", "refusal", "solve_window_variance"]

#: Gauss–Hermite nodes per dimension of the F tables.
NODES = 60
#: Largest clipped weight of the circulant embedding accepted (the kept part is rescaled
#: to the exact variance, :func:`circulant_sample`).
CLIP = 1e-3
#: Paths per batch of the Monte-Carlo variance.
BATCH = 200


def applies_window_variance(site) -> bool:
    """Populations of Gaussian sites: linear drift, no response kernels, one correlation
    term ⟨f f⟩ per population (:func:`refusal` says what else); mean couplings allowed."""
    return refusal(site) is None


def refusal(site) -> str | None:
    """Why this runtime cannot take ``site`` (None: it can)."""
    if any(r is not None for r in site.nonlinear):
        return ("a nonlinear drift: the site is not Gaussian (its linear response would need "
                "the Monte-Carlo site)")
    if site.has_kernel:
        return "response kernels (partial symmetry rho ≠ 0)"
    populations = sorted(t.population for t in site.correlations)
    if populations != list(range(site.size)) or any(t.right is None
                                                    for t in site.correlations):
        return "not exactly one input-covariance term ⟨f f⟩ per population"
    if site.size > 1 and site.fractions is None:
        return f"{site.size} populations without their fractions"
    return None


class WindowVariance:
    r"""The linear response on a two-time grid for P Gaussian populations.

    ``correlation``: per population the DMFT's connected C_x(k·step), k = 0 … ≥ n − 1 (n
    grid points) — one array for one population; ``mean``: m per population; ``window``,
    ``memory``, ``step`` in time units. Population α holds a fraction f_α of the units;
    its one correlation term C_k = ⟨f f⟩ enters every population's input through the
    coupling A_βk. q = Σ_α f_α q_α, so the adjoint's source on C_k is f_α ℓ, and
    N·Var q = Σ_k Var_site,k[Σ μ_k,ij f(x_i) f(x_j)] / f_α (C_k is an average over f_α N
    independent units given the others).
    """

    def __init__(self, site, correlation, mean, *, window: float, memory: float,
                 step: float) -> None:
        P = site.size
        curves = ([correlation] if P == 1 and np.ndim(correlation) == 1 else
                  list(correlation))
        means = np.broadcast_to(np.asarray(mean, float), (P,))
        if len(curves) != P:
            raise SolverInputError(f"{len(curves)} correlation curves for {P} populations")
        self.h = float(step)
        self.n = round((window + memory) / step)
        self.start = round(memory / step)
        self.window = float(window)
        self.A = np.asarray(site.correlation_coupling, float).reshape(P, -1)
        self.fractions = (np.ones(1) if P == 1 else np.asarray(site.fractions, float))
        self.terms = []
        for term in site.correlations:
            p = term.population
            C = np.asarray(curves[p], float)
            if C.size < self.n:
                raise SolverInputError(f"the correlation of population {p} holds {C.size} "
                                       f"lags; the grid needs {self.n}")
            self.terms.append(_Term(p, term.left, term.dleft, float(np.asarray(
                site.leak)[p]), C[: self.n], C, float(means[p]), self.n))
        # the mean channel (J0 ≠ 0): the population means m_l(t) fluctuate and feed every
        # population's input mean through B
        self.B = np.asarray(site.mean_coupling, float).reshape(P, -1)
        self.mean_terms = []
        if np.any(self.B != 0):
            for term in site.means:
                p = term.population
                curve = self.terms[[t.population for t in self.terms].index(p)]
                self.mean_terms.append(_MeanTerm(p, term.left, term.dleft, curve.a,
                                                 curve.C[0], curve.m))

    def _toeplitz(self, values: np.ndarray) -> np.ndarray:
        k = np.arange(self.n)
        return values[np.abs(k[:, None] - k[None, :])]

    def _backward(self, X: np.ndarray, axis: int, a: float) -> np.ndarray:
        """𝐆ᵀ along ``axis``: y_k = Σ_{j≥k} h e^{−a(j−k)h} X_j − (h/2) X_k (trapezoid)."""
        from scipy.signal import lfilter  # here: scipy.signal costs 0.4 s at import

        decay = np.exp(-a * self.h)
        flipped = np.flip(X, axis=axis)
        Y = np.flip(lfilter([self.h], [1.0, -decay], flipped, axis=axis), axis=axis)
        return Y - 0.5 * self.h * X

    def adjoint(self, tolerance: float = 1e-10, iterations: int = 500):
        r"""The adjoint of the linearised self-consistency, by fixed-point iteration.

        Correlations: μ_k = f_α ℓ + Σ_j A_{α_j k} 𝐆ᵀ D_jᵀ[μ_j] 𝐆 + Σ_l A_{α_l k} 𝐆ᵀ
        diag(h_l ν_l) 𝐆 (ℓ: h/T on the window's diagonal); with a mean coupling B also the
        means' ν_l = Σ_k B_{α_k l} 𝐆ᵀ[Σ_s G_k(t − s)(μ_k + μ_kᵀ)(t, s)] + Σ_j B_{α_j l}
        𝐆ᵀ[e_j ν_j], with G_k(τ) = E[f'(x(t)) f(x(t − τ))], e = E[f'], h = ½E[f''] — the
        fluctuating population means shift every unit's mean path 𝐆 B δm. Returns μ (one
        kernel for one population without mean channel, else the list over correlation
        terms) or (μ list, ν list) with a mean channel."""
        tables = [(self._toeplitz(t.Fc), self._toeplitz(t.Fv), self._toeplitz(t.Gm))
                  for t in self.terms]
        ell = np.zeros((self.n, self.n))
        idx = np.arange(self.start, self.n)
        ell[idx, idx] = self.h / self.window
        source = [self.fractions[t.population] * ell for t in self.terms]
        mu = [s.copy() for s in source]
        nu = [np.zeros(self.n) for _ in self.mean_terms]
        history = []
        for _ in range(iterations):
            back, slopes = [], []
            for t, (Fc, Fv, Gm), m in zip(self.terms, tables, mu, strict=True):
                X = Fc * m
                weighted = Fv * m
                X[np.diag_indices(self.n)] += weighted.sum(axis=1) + weighted.sum(axis=0)
                back.append(self._backward(self._backward(X, 0, t.a), 1, t.a))
                if self.mean_terms:
                    slopes.append(self._backward(np.sum(Gm * (m + m.T), axis=1), 0, t.a))
            for t, v in zip(self.mean_terms, nu, strict=True):
                Y = np.diag(t.h * v)
                back.append(self._backward(self._backward(Y, 0, t.a), 1, t.a))
            sources = [*self.terms, *self.mean_terms]
            new = [src + sum(self.A[t.population, k] * b for t, b in zip(sources, back,
                                                                          strict=True))
                   for k, src in enumerate(source)]
            new_nu = [sum(self.B[t.population, l] * z for t, z in zip(self.terms, slopes,
                                                                      strict=True))
                      + sum(self.B[t.population, l] * self._backward(t.e * v, 0, t.a)
                            for t, v in zip(self.mean_terms, nu, strict=True))
                      for l in range(len(self.mean_terms))]
            change = max(float(np.max(np.abs(a - b)) / np.max(np.abs(a)))
                         for a, b in zip(new, mu, strict=True))
            scale = max(float(np.max(np.abs(a))) for a in new)
            for a, b in zip(new_nu, nu, strict=True):
                change = max(change, float(np.max(np.abs(a - b))) / scale)
            history.append(change)
            mu, nu = new, new_nu
            if not np.isfinite(change) or (len(history) > 20 and change > history[-20]):
                break
            if change < tolerance:
                if self.mean_terms:
                    return mu, nu
                return mu[0] if len(mu) == 1 else mu
        raise ConvergenceError(
            f"the adjoint linear response did not converge in {len(history)} iterations "
            f"(last relative changes {history[-3:]}): the stationary state may be unstable "
            "to collective fluctuations", residuals=tuple(history))

    def variance(self, mu, samples: int, seed: int):
        """N·Var q = Σ_k Var_site,k[Σ μ_k,ij f(x_i) f(x_j)]/f_α, the same without feedback
        (the window averages of f² alone), with standard errors, and ⟨q⟩, over
        ``samples`` paths per population."""
        nus: list = []
        if isinstance(mu, tuple):  # with a mean channel: (μ list, ν list)
            mu, nus = mu
        mus = [mu] if isinstance(mu, np.ndarray) else list(mu)
        rng = np.random.default_rng(seed)
        diag = np.zeros(self.n)
        diag[self.start:] = self.h / self.window
        total = np.zeros(3)
        plain_total = np.zeros(3)
        for t, m in zip(self.terms, mus, strict=True):
            values, plain = [], []
            for begin in range(0, samples, BATCH):
                count = min(BATCH, samples - begin)
                paths, clipped = circulant_sample(rng, t.embedding, self.n, count)
                if clipped > CLIP:
                    raise SolverInputError(
                        f"the DMFT correlation of population {t.population} is not a "
                        f"covariance on the {self.n}-point grid (clipped weight "
                        f"{clipped:.2g})")
                x = t.m + paths
                f = np.broadcast_to(t.f(x), x.shape)
                value = np.sum((f @ m) * f, axis=1)
                for mt, v in zip(self.mean_terms, nus, strict=True):
                    if mt.population == t.population:
                        value = value + np.broadcast_to(mt.f(x), x.shape) @ v
                values.append(value)
                plain.append((f * f) @ diag)
            frac = self.fractions[t.population]
            _, var, se = _moments(np.concatenate(values))
            q, pvar, pse = _moments(np.concatenate(plain))
            total += (0.0, var / frac, (se / frac) ** 2)
            plain_total += (frac * q, frac * pvar, (frac * pse) ** 2)
        return ((total[0], total[1], float(np.sqrt(total[2]))),
                (plain_total[0], plain_total[1], float(np.sqrt(plain_total[2]))))


class _Term:
    """One population's correlation term: its function, leak, DMFT curve and mean, and the
    Price tables F_c(τ) = E[f'f'], F_v(τ) = ½E[f''(u) f(w)] on the lag grid."""

    def __init__(self, population, f, df, a, C, embedding, m, n):
        self.population, self.f, self.df, self.a = population, f, df, a
        self.C, self.embedding, self.m = C, embedding, m
        self.Fc, self.Fv, self.Gm = _tables(f, df, C, m, n)


class _MeanTerm:
    """One population's mean term m = ⟨f⟩: e = E[f'] and h = ½E[f''] (Stein) at the
    population's Gaussian (mean m, variance c0); its population's leak a."""

    def __init__(self, population, f, df, a, c0, m):
        self.population, self.f, self.a = population, f, a
        z, w = np.polynomial.hermite_e.hermegauss(NODES)
        w = w / w.sum()
        u = np.sqrt(c0) * z
        slope = np.broadcast_to(df(m + u), u.shape)
        self.e = float(np.sum(w * slope))
        self.h = float(0.5 * np.sum(w * u * slope) / c0)


def _tables(f, df, C, m, n) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """F_c(τ) = E[f'f'], F_v(τ) = ½E[f''(u) f(w)], G(τ) = E[f'(u) f(w)] on the lags."""
    z, w = np.polynomial.hermite_e.hermegauss(NODES)
    w = w / w.sum()
    c0 = C[0]
    r = np.clip(C / c0, -1.0, 1.0)
    s = np.sqrt(c0)
    u = s * z[:, None]
    fu, dfu = np.broadcast_to(df(m + u), u.shape), u * df(m + u)
    Fc, Fv, Gm = np.empty(n), np.empty(n), np.empty(n)
    for k in range(n):
        v = m + s * (r[k] * z[:, None] + np.sqrt(1.0 - r[k] ** 2) * z[None, :])
        fv = np.broadcast_to(f(v), v.shape)
        dfv = np.broadcast_to(df(v), v.shape)
        weight = w[:, None] * w[None, :]
        Fc[k] = np.sum(weight * fu * dfv)
        stein = np.sum(weight * dfu * fv)  # E[(u − m) f'(u) f(w)]
        Fv[k] = 0.5 * (stein - C[k] * Fc[k]) / c0
        Gm[k] = np.sum(weight * fu * fv)
    return Fc, Fv, Gm


def _moments(values: np.ndarray) -> tuple[float, float, float]:
    """Sample mean, variance and the variance's standard error (from the fourth moment)."""
    mean = float(values.mean())
    var = float(values.var(ddof=1))
    fourth = float(np.mean((values - mean) ** 4))
    return mean, var, float(np.sqrt(max(fourth - var**2, 0.0) / values.size))


@register_runtime("window_variance", applies=applies_window_variance, priority=50,
                  needs=lambda problem: False, kind="large_deviations")
def solve_window_variance(site, grid=None, options=None) -> dict:
    """``options``: ``correlation`` (C_x on the lag grid of ``step``, one per population),
    ``mean`` (one per population),
    ``window``, ``memory``, ``step``, ``samples``, ``seed``. Returns ``q_mean``,
    ``q_variance_N`` and its ``stderr``, and ``q_variance_N_site`` (no feedback)."""
    options = dict(options or {})
    reason = refusal(site)
    if reason is not None:
        raise SolverInputError(f"the window variance needs Gaussian populations: {reason}")
    problem = WindowVariance(site, options["correlation"], options["mean"],
                             window=options["window"], memory=options["memory"],
                             step=options["step"])
    mu = problem.adjoint()
    (_, var, se), (q, site_var, site_se) = problem.variance(mu, int(options["samples"]),
                                                            int(options["seed"]))
    return {"q_mean": q, "q_variance_N": var, "q_variance_N_site": site_var,
            "stderr": {"q_mean": float(np.sqrt(site_var / options["samples"])),
                       "q_variance_N": se, "q_variance_N_site": site_se},
            "grid_points": problem.n}
