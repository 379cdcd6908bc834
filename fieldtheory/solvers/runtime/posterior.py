r"""Runtimes of the single-neuron posterior of a wide Bayesian network (issue 15).

van Meegen & Sompolinsky, arXiv:2406.16689. The lowered problem
(:class:`~fieldtheory.transforms.posterior.PosteriorProblem`) at numbers is a
:class:`PosteriorSpec`; two runtimes of kind ``posterior`` solve it:

``posterior_gaussian`` — a linear readout ψ = c·a·h (any γ). At γ = 1 the single-neuron
posterior of (a, h) is Gaussian with precision [[I/σ², −V], [−Vᵀ, K⁻¹]] (σ² = c²σ_a²,
a → c·a), and the saddle point ⟨a_k h_μ⟩ = y_μk − T v_μk reads

.. math:: K V A + T V = Y,\qquad A^{-1} = I/\sigma^2 - V^\top K V,

A = ⟨a aᵀ⟩ (m × m). At T = 0 this is A² − σ²A − σ²Q = 0, Q = Yᵀ K⁺ Y (the positive
root), the posterior kernel of h is K + Y A⁻¹ Yᵀ and the mean predictor k*ᵀK⁺Y — the GP
(lazy) predictor. K singular (P > d): the β → ∞ posterior concentrates on the
least-squares fits, so the targets are projected on the range of K (K⁺ the
pseudo-inverse; ``projected`` and the ``training_residual`` say so). At T > 0 the m × m
equation is solved by MINPACK from the T = 0 root. The posterior variance of f(x*) is
O(1/N): with the source j f* added, N·Var f* = F_jj − F_jv F_vv⁻¹ F_vj,
F_vv = T I + Cov(ψ_train), the single-neuron covariances by Isserlis' theorem.

``posterior_kernel`` — γ = ½ (lazy), any φ: f is at leading order a GP with kernel
σ_a² E₀[α(h_μ) α(h_ν)] (h ~ N(0, K)) and noise T/N → 0; kernel_posterior = K and
readout_second_moment = σ_a² I at leading order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize

from fieldtheory.solvers.runtime.common import (
    ConvergenceError,
    SolverInputError,
    register_runtime,
)
from fieldtheory.solvers.runtime.layered import _quadrature

__all__ = ["PosteriorSpec", "posterior_mean_field", "solve_posterior_gaussian",
           "solve_posterior_lazy"]

#: relative eigenvalue below which K counts as singular
RANK_TOLERANCE = 1e-10


@dataclass(frozen=True)
class PosteriorSpec:
    """The single-neuron problem at numbers: data (x P × d, y P × m, test P* × d or None),
    prior variances, γ, T, α (a numpy callable), ``slope`` c (α = c·h) or None,
    ``offset`` ψ₀ (a callable, None when 0), α' (``dalpha``) and the ``seed`` of sampled
    runtimes."""

    x: np.ndarray
    y: np.ndarray
    test: np.ndarray | None
    weight_variance: float
    hidden_variance: float
    gamma: float
    temperature: float
    alpha: Callable
    slope: float | None
    offset: Callable | None
    dalpha: Callable | None = None
    seed: int = 0

    @property
    def kernel(self) -> np.ndarray:
        return self.hidden_variance * self.x @ self.x.T / self.x.shape[1]

    def test_kernels(self) -> tuple[np.ndarray, np.ndarray]:
        """k* (P* × P) and the diagonal k** of the prior kernel at the test inputs."""
        d = self.x.shape[1]
        return (self.hidden_variance * self.test @ self.x.T / d,
                self.hidden_variance * np.sum(self.test**2, axis=1) / d)


def _posterior_pinv_parts(K: np.ndarray):
    lam, U = linalg.eigh(K)
    keep = lam > RANK_TOLERANCE * max(lam.max(), 1e-300)
    return lam[keep], U[:, keep]


def posterior_mean_field(K: np.ndarray, Y: np.ndarray, s2: float, T: float) -> dict:
    """The γ = 1 saddle point of a linear readout ψ = a·h with a ~ N(0, s2).

    Returns ``A`` (m × m), ``G`` = ⟨h aᵀ⟩ (P × m), ``S`` = ⟨h hᵀ⟩ (P × P), ``V``,
    ``projected`` and ``residual`` (the part of Y outside the range of K, at T = 0).
    """
    lam, U = _posterior_pinv_parts(K)
    Yr = U.T @ Y                       # targets in the range of K
    Q = Yr.T @ (Yr / lam[:, None])     # Yᵀ K⁺ Y
    q, R = linalg.eigh((Q + Q.T) / 2)
    root = s2 / 2 + np.sqrt(s2**2 / 4 + s2 * np.maximum(q, 0.0))
    A = (R * root) @ R.T
    residual = float(np.linalg.norm(Y - U @ Yr))
    projected = residual > 1e-9 * max(np.linalg.norm(Y), 1e-300)
    if T == 0:
        G = U @ Yr
        S = K + G @ linalg.solve(A, G.T, assume_a="pos")
        V = U @ ((Yr / lam[:, None]) @ linalg.inv(A))
        return {"A": A, "G": G, "S": S, "V": V, "projected": projected,
                "residual": residual}
    m = Y.shape[1]
    upper = np.triu_indices(m)
    lam_all, U_all = linalg.eigh(K)
    # eigenvalues at rounding level are zeros: V's null-space part Y_⊥/T must not meet them
    lam_all = np.where(lam_all > RANK_TOLERANCE * lam_all.max(), lam_all, 0.0)
    Yu = U_all.T @ Y

    def unpack(z):
        M = np.zeros((m, m))
        M[upper] = z
        return M + np.triu(M, 1).T

    def W_of(A):  # V in the eigenbasis of K
        a, Ra = linalg.eigh(A)
        return ((Yu @ Ra) / (lam_all[:, None] * a[None, :] + T)) @ Ra.T

    def residual_of(z):
        Am = unpack(z)
        Wm = W_of(Am)
        F = np.eye(m) / s2 - Wm.T @ (lam_all[:, None] * Wm) - linalg.inv(Am)
        return F[upper] * s2

    solution = optimize.root(residual_of, A[upper], method="hybr", options={"xtol": 1e-13})
    A_T = unpack(solution.x)
    worst = float(np.max(np.abs(residual_of(solution.x))))
    if worst > 1e-9 or np.any(linalg.eigvalsh(A_T) <= 0):
        raise ConvergenceError(
            f"the T = {T:g} saddle point of the linear network did not converge: "
            f"{solution.message} (relative residual {worst:.3g})", residuals=(worst,))
    W = W_of(A_T)
    V = U_all @ W
    G = Y - T * V                       # = K V A
    KV = U_all @ (lam_all[:, None] * W)
    S = K + KV @ A_T @ KV.T
    return {"A": A_T, "G": G, "S": S, "V": V, "projected": False, "residual": 0.0}


def _posterior_isserlis(A, Ga, Gb, Sab):
    """Cov(a_k u_p, a_l w_q) = A_kl S_pq + G_a[p, l] G_b[q, k] as a (p k) × (q l) matrix."""
    P1, m = Ga.shape
    P2 = Gb.shape[0]
    first = np.einsum("kl,pq->pkql", A, Sab)
    second = np.einsum("pl,qk->pkql", Ga, Gb)
    return (first + second).reshape(P1 * m, P2 * m)


def _posterior_prediction_mean_field(spec: PosteriorSpec, K, parts) -> dict:
    """Mean and N·Var of f(x*) (γ = 1) from the Gaussian single-neuron posterior."""
    A, G, S = parts["A"], parts["G"], parts["S"]
    lam, U = _posterior_pinv_parts(K)
    kstar, kss = spec.test_kernels()
    proj = (kstar @ U) / lam @ U.T      # k*ᵀ K⁺ (P* × P)
    G_star = proj @ G                   # ⟨h* aᵀ⟩
    S_star = proj @ S                   # ⟨h* hᵀ⟩
    S_ss = kss - np.sum(proj * kstar, axis=1) + np.sum((proj @ S) * proj, axis=1)
    C_tt = _posterior_isserlis(A, G, G, S)
    F_vv = spec.temperature * np.eye(C_tt.shape[0]) + C_tt
    mean = G_star.copy()
    var = np.empty_like(mean)
    F_inv = linalg.pinvh(F_vv)
    for p in range(kstar.shape[0]):
        C_st = _posterior_isserlis(A, G_star[p:p + 1], G, S_star[p:p + 1])  # m × (P m)
        own = np.diag(A) * S_ss[p] + G_star[p] ** 2
        var[p] = own - np.einsum("ka,ab,kb->k", C_st, F_inv, C_st)
    return {"mean": mean, "variance": np.maximum(var, 0.0)}


def _posterior_scaled(spec: PosteriorSpec) -> float:
    """σ² = c²σ_a²: the readout c·a·h is a·h with a → c·a."""
    return spec.slope**2 * spec.weight_variance


def solve_posterior_gaussian(spec: PosteriorSpec, grid=None, options=None) -> dict:
    """A linear readout at γ = 1 (closed form) or γ = ½ (the GP limit)."""
    if spec.slope is None:
        raise SolverInputError("posterior_gaussian needs a linear readout ψ = c·a·h")
    if spec.gamma == 0.5:
        return solve_posterior_lazy(spec)
    K = spec.kernel
    s2 = _posterior_scaled(spec)
    parts = posterior_mean_field(K, spec.y, s2, spec.temperature)
    out = {"readout_second_moment": parts["A"] / spec.slope**2,
           "kernel_posterior": parts["S"],
           "info": {"projected": bool(parts["projected"]),
                    "training_residual": parts["residual"],
                    "rank": int(_posterior_pinv_parts(K)[0].size)}}
    if spec.test is not None:
        out["prediction"] = _posterior_prediction_mean_field(spec, K, parts)
    return out


def _posterior_lazy_kernel(spec: PosteriorSpec, points: np.ndarray) -> np.ndarray:
    """σ_a² E₀[α(h_a) α(h_b)] over the prior kernel of ``points`` (rows)."""
    d = spec.x.shape[1]
    K = spec.hidden_variance * points @ points.T / d
    if spec.slope is not None:
        return spec.weight_variance * spec.slope**2 * K
    var = np.diag(K).copy()
    return spec.weight_variance * _quadrature(spec.alpha, spec.alpha, var, var, K)


def solve_posterior_lazy(spec: PosteriorSpec, grid=None, options=None) -> dict:
    """γ = ½: GP regression with the readout kernel, noise T/N → 0 (leading order)."""
    if spec.offset is not None:
        raise SolverInputError("the lazy limit needs ψ₀ = 0: a readout with an a-independent "
                               "part has an output mean growing like √N")
    P = spec.x.shape[0]
    points = spec.x if spec.test is None else np.vstack([spec.x, spec.test])
    Kf = _posterior_lazy_kernel(spec, points)
    Ktt = Kf[:P, :P]
    out = {"readout_second_moment": spec.weight_variance * np.eye(spec.y.shape[1]),
           "kernel_posterior": spec.kernel,
           "info": {"projected": False, "training_residual": 0.0,
                    "leading_order": "kernel and readout at their prior values; O(1/N) "
                                     "corrections not included"}}
    if spec.test is not None:
        Kst, Kss = Kf[P:, :P], np.diag(Kf[P:, P:])
        inv = linalg.pinvh(Ktt)
        mean = Kst @ inv @ spec.y
        var = Kss - np.sum((Kst @ inv) * Kst, axis=1)
        out["prediction"] = {"mean": mean,
                             "variance": np.repeat(np.maximum(var, 0.0)[:, None],
                                                   spec.y.shape[1], axis=1)}
    return out


@register_runtime("posterior_gaussian", applies=lambda spec: spec.slope is not None,
                  priority=100, needs=lambda problem: False, kind="posterior")
def _solve_gaussian(spec, grid=None, options=None) -> dict:
    return solve_posterior_gaussian(spec, grid, options)


@register_runtime("posterior_kernel", applies=lambda spec: spec.gamma == 0.5, priority=90,
                  needs=lambda problem: False, kind="posterior")
def _solve_lazy(spec, grid=None, options=None) -> dict:
    return solve_posterior_lazy(spec, grid, options)
