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

This is the annealed leading order (exact against finite linear networks; for φ = erf
against simulations, docs/models/large-deviations.md).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

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
    """One population of Gaussian sites: linear drift, no response kernels, no mean
    coupling, one correlation term ⟨f f⟩ (:func:`refusal` says what else)."""
    return refusal(site) is None


def refusal(site) -> str | None:
    """Why this runtime cannot take ``site`` (None: it can)."""
    if site.size != 1:
        return f"{site.size} populations (one is supported)"
    if site.nonlinear[0] is not None:
        return ("a nonlinear drift: the site is not Gaussian (its linear response would need "
                "the Monte-Carlo site)")
    if site.has_kernel:
        return "response kernels (partial symmetry rho ≠ 0)"
    if np.any(np.asarray(site.mean_coupling) != 0):
        return "a mean coupling (J0 ≠ 0: the population mean would fluctuate too)"
    if len(site.correlations) != 1 or site.correlations[0].right is None:
        return "not exactly one input-covariance term ⟨f f⟩"
    return None


class WindowVariance:
    r"""The linear response on a two-time grid for one Gaussian population.

    ``correlation``: the DMFT's connected C_x(k·step), k = 0 … ≥ n − 1 (n grid points);
    ``mean``: m; ``window``, ``memory``, ``step`` in time units.
    """

    def __init__(self, site, correlation, mean: float, *, window: float, memory: float,
                 step: float) -> None:
        self.a = float(np.asarray(site.leak)[0])
        self.A = float(np.asarray(site.correlation_coupling)[0, 0])
        term = site.correlations[0]
        self.f, self.df = term.left, term.dleft
        self.h = float(step)
        self.n = round((window + memory) / step)
        self.start = round(memory / step)
        C = np.asarray(correlation, float)
        if C.size < self.n:
            raise SolverInputError(f"the correlation holds {C.size} lags; the grid needs "
                                   f"{self.n}")
        self.C = C[: self.n]
        self.embedding = C  # all lags given: the paths' circulant embedding uses them
        self.m = float(mean)
        self.window = float(window)
        self.Fc, self.Fv = self._tables()

    def _tables(self) -> tuple[np.ndarray, np.ndarray]:
        z, w = np.polynomial.hermite_e.hermegauss(NODES)
        w = w / w.sum()
        c0 = self.C[0]
        r = np.clip(self.C / c0, -1.0, 1.0)
        s = np.sqrt(c0)
        u = s * z[:, None]
        fu, dfu = np.broadcast_to(self.df(self.m + u), u.shape), u * self.df(self.m + u)
        Fc, Fv = np.empty(self.n), np.empty(self.n)
        for k in range(self.n):
            v = self.m + s * (r[k] * z[:, None] + np.sqrt(1.0 - r[k] ** 2) * z[None, :])
            fv = np.broadcast_to(self.f(v), v.shape)
            dfv = np.broadcast_to(self.df(v), v.shape)
            weight = w[:, None] * w[None, :]
            Fc[k] = np.sum(weight * fu * dfv)
            stein = np.sum(weight * dfu * fv)  # E[(u − m) f'(u) f(w)]
            Fv[k] = 0.5 * (stein - self.C[k] * Fc[k]) / c0
        return Fc, Fv

    def _toeplitz(self, values: np.ndarray) -> np.ndarray:
        k = np.arange(self.n)
        return values[np.abs(k[:, None] - k[None, :])]

    def _backward(self, X: np.ndarray, axis: int) -> np.ndarray:
        """𝐆ᵀ along ``axis``: y_k = Σ_{j≥k} h e^{−a(j−k)h} X_j − (h/2) X_k (trapezoid)."""
        decay = np.exp(-self.a * self.h)
        flipped = np.flip(X, axis=axis)
        Y = np.flip(lfilter([self.h], [1.0, -decay], flipped, axis=axis), axis=axis)
        return Y - 0.5 * self.h * X

    def adjoint(self, tolerance: float = 1e-10, iterations: int = 500) -> np.ndarray:
        """μ = ℓ + Lᵀμ by fixed-point iteration (ℓ: h/T on the window's diagonal)."""
        Fc, Fv = self._toeplitz(self.Fc), self._toeplitz(self.Fv)
        ell = np.zeros((self.n, self.n))
        idx = np.arange(self.start, self.n)
        ell[idx, idx] = self.h / self.window
        mu = ell.copy()
        history = []
        for _ in range(iterations):
            X = Fc * mu
            weighted = Fv * mu
            X[np.diag_indices(self.n)] += weighted.sum(axis=1) + weighted.sum(axis=0)
            new = ell + self.A * self._backward(self._backward(X, 0), 1)
            change = float(np.max(np.abs(new - mu)) / np.max(np.abs(new)))
            history.append(change)
            mu = new
            if not np.isfinite(change) or (len(history) > 20 and change > history[-20]):
                break
            if change < tolerance:
                return mu
        raise ConvergenceError(
            f"the adjoint linear response did not converge in {len(history)} iterations "
            f"(last relative changes {history[-3:]}): the stationary state may be unstable "
            "to collective fluctuations", residuals=tuple(history))

    def variance(self, mu: np.ndarray, samples: int, seed: int):
        """Var_site of Σ μ_ij f(x_i) f(x_j), and of the window average of f² alone (no
        feedback), with their standard errors and ⟨q⟩, over ``samples`` paths."""
        rng = np.random.default_rng(seed)
        values, plain = [], []
        diag = np.zeros(self.n)
        diag[self.start:] = self.h / self.window
        for begin in range(0, samples, BATCH):
            count = min(BATCH, samples - begin)
            paths, clipped = circulant_sample(rng, self.embedding, self.n, count)
            if clipped > CLIP:
                raise SolverInputError(f"the DMFT correlation is not a covariance on the "
                                       f"{self.n}-point grid (clipped weight {clipped:.2g})")
            x = self.m + paths
            f = np.broadcast_to(self.f(x), x.shape)
            values.append(np.sum((f @ mu) * f, axis=1))
            plain.append((f * f) @ diag)
        return _moments(np.concatenate(values)), _moments(np.concatenate(plain))


def _moments(values: np.ndarray) -> tuple[float, float, float]:
    """Sample mean, variance and the variance's standard error (from the fourth moment)."""
    mean = float(values.mean())
    var = float(values.var(ddof=1))
    fourth = float(np.mean((values - mean) ** 4))
    return mean, var, float(np.sqrt(max(fourth - var**2, 0.0) / values.size))


@register_runtime("window_variance", applies=applies_window_variance, priority=50,
                  needs=lambda problem: False, kind="large_deviations")
def solve_window_variance(site, grid=None, options=None) -> dict:
    """``options``: ``correlation`` (C_x on the lag grid of ``step``), ``mean``,
    ``window``, ``memory``, ``step``, ``samples``, ``seed``. Returns ``q_mean``,
    ``q_variance_N`` and its ``stderr``, and ``q_variance_N_site`` (no feedback)."""
    options = dict(options or {})
    reason = refusal(site)
    if reason is not None:
        raise SolverInputError(f"the window variance needs one Gaussian population: {reason}")
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
