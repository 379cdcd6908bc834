r"""The condensate limit of the readout's saddle point for a one-sided positively
homogeneous α (ReLU) on large data sets (issue 15).

van Meegen & Sompolinsky, arXiv:2406.16689. For ReLU the single-neuron measure of the
readout (:mod:`.readout_polar`)

.. math:: p_v(a) \propto \mathcal N(a; 0, \sigma_a^2 I_m) \prod_g M_g(v_g\cdot a)^{n_g}

has, along the direction â_g = v̂_g of one group alone, the log-density
−r²q_g/2 + (P − n_g) ln ½ + (m − 1) ln r + O(1/r), with the margin
q_g = σ_a⁻²(1 − |v_g|²/ρ_g²), ρ_g = (σ_a² n_g κ_g c²)^{−1/2} (c the nonzero slope), as
long as the other groups' rows are obtuse to v_g (their patterns sit on ReLU's flat side,
M → ½ each). Integrating the tangent offset θ (Gaussian of width σ_a/r: the exponent is
−r² sin²θ/(2σ_a²) on the bound) gives the needle's radial density
2^{−(P−n_g)}(2πσ_a²)^{−1/2} e^{−q_g r²/2} dr, so its mass is O(2^{−(P−n_g)} q_g^{−1/2})
while its share of every moment quadratic in the readout is

.. math:: W_g = \frac{2^{-(P-n_g)}}{\sqrt{2\pi}\,\sigma_a Z}\int_0^\infty r^2
          e^{-q_g r^2/2}\,dr = \frac{2^{-(P-n_g)}}{2\,\sigma_a Z}\,q_g^{-3/2}.

At P = 90 (classes 45, 30, 15) the saddle point has q_g ≈ 1e-9 … 1e-15: a vanishing
fraction of neurons, selective for one class, with readouts ~σ_a/√q_g, carries a finite
share of ⟨ψ⟩ — the paper's sparse code, and a limit no cubature resolves. Here it is taken
exactly: v_g is pinned on its bound (v_g = ρ_g û_g) and W_g ≥ 0 takes the place of |v_g|
as the unknown (the same count, G·m). The measure on the bound is integrated as the *core*,
its rays ended at a cap R_c (polar cubature, :class:`~.readout_polar.PolarIntegrator` with
``cap``); the needle beyond the cap is the condensate, whose contributions are, with
c_g = κ_g c² ρ_g (the tilted h_μ ≈ κ_g c t for the group's own patterns, t = rρ_g),

.. math:: A \mathrel{+}= W_g\,\hat u_g \hat u_g^\top,\quad
          \langle\psi_g\rangle \mathrel{+}= W_g c_g\,\hat u_g,\quad
          \langle h_\mu h_\nu\rangle_{\mu,\nu\in g} \mathrel{+}= W_g (\kappa_g c \rho_g)^2 .

The saddle point is the root of R(û, W) = ⟨ψ⟩ − y + T v (Newton on the sphere's tangent
planes and W, analytic Jacobian: the core's ∂⟨ψ⟩/∂v is the covariance the polar cubature
already gives). Errors of the limit: the needle inside the cap is counted at q = 0
(relative O(q_g R_c²) on a content that is itself O((q_g R_c²)^{3/2}) of W_g) and the
kernel's cross terms between the condensing group and the others are O(√q_g) of W_g;
q_g is recovered from W_g by the formula above (``implied_margin``) so that both are
reported. The condensate's neurons have no mass: the codes' fractions are the core's, and
the response energy s = Σ_c r_c² has E s² = ∞ — the coding participation is 0 (sparse).
The prediction's N·Var is not derived in this limit (its r⁴ moments diverge; what is left
after the Schur complement needs the needle's subleading structure).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from fieldtheory.solvers.runtime.common import ConvergenceError, SolverInputError
from fieldtheory.solvers.runtime.readout_polar import (
    PolarIntegrator,
    _slopes,
    readout_gradient_hessian,
)

__all__ = ["CondensateReadout", "one_sided", "solve_condensate"]

#: the radial cap of the core, in σ_a: the needle beyond it is the condensate
CONDENSATE_CAP = 10.0

#: Newton steps of the condensate formulation
CONDENSATE_ITERATIONS = 40

#: the largest q_g·R_c² (implied margin × cap²) for which the limit is accepted
CONDENSATE_MAX_CAP_MARGIN = 0.5

#: a released group starts at the margin 1 − |v_g|²/ρ_g² = this
CONDENSATE_RELEASE = 1e-2


def one_sided(alpha) -> bool:
    """Whether α is positively homogeneous with exactly one slope zero (ReLU, its mirror
    and their multiples): the α whose single-group needles condense."""
    return _slopes(alpha).count(0.0) == 1


class CondensateReadout:
    """The core (polar cubature, the pinned groups' needles capped) and the condensate's
    contributions. ``quad``: the :class:`~.posterior_quadrature.ReadoutQuadrature` of the
    groups; a state is (V, W, pinned): the groups' rows of v (a pinned row on its bound,
    ρ_g û_g), the condensate weights (0 on free groups) and the pinned flags."""

    def __init__(self, quad, tolerance: float, cap: float = CONDENSATE_CAP):
        slopes = _slopes(quad.alpha)
        if not one_sided(quad.alpha):
            raise SolverInputError(
                "the condensate formulation needs a one-sided homogeneous α (ReLU: one slope "
                f"zero); this α has slopes {slopes}")
        self.cap = float(cap)
        self.n, self.kappa, self.s2 = quad.n, quad.kappa, quad.s2
        c2 = max(slopes[0] ** 2, slopes[1] ** 2)
        #: each group's bound |v_g| = ρ_g
        self.rho = 1.0 / np.sqrt(self.s2 * self.n * self.kappa * c2)
        #: ⟨ψ_g⟩ per unit weight along û_g, and ⟨h_μ h_ν⟩ (μ, ν in g) per unit weight
        self.coef = self.kappa * c2 * self.rho
        self.kernel_coef = self.kappa**2 * c2 * self.rho**2
        tables = [quad._table(k, 1.0) for k in self.kappa]
        self.core = PolarIntegrator(tables, self.n, self.kappa, self.s2, quad.m, slopes,
                                    tolerance, cap=self.cap)

    def integrate(self, V: np.ndarray, W: np.ndarray, pinned: np.ndarray,
                  responses=None) -> dict:
        """The core's integrals at V plus the condensate's (module docstring); the core's
        own under ``core``."""
        core = self.core.integrate(V, responses, pinned)
        U = V / np.linalg.norm(V, axis=1, keepdims=True)
        out = dict(core)
        out["A"] = core["A"] + np.einsum("g,gk,gl->kl", W, U, U)
        out["mean"] = core["mean"] + (W * self.coef)[:, None] * U
        out["hh"] = core["hh"] + np.diag(W * self.kernel_coef)
        out["h2"] = core["h2"] + W * self.kernel_coef
        out["core"] = core
        return out

    def implied_margin(self, W: np.ndarray, lnZ: float) -> np.ndarray:
        """σ_a²q_g from W_g = 2^{−(P−n_g)} q_g^{−3/2}/(2σ_a Z) (inf where W_g = 0)."""
        P = float(np.sum(self.n))
        with np.errstate(divide="ignore"):
            log_q = -(2.0 / 3.0) * (np.log(2.0 * W / self.s2) + lnZ
                                    + (P - self.n) * np.log(2.0))
        return np.exp(log_q)

    def jacobian(self, V, W, pinned, T, r, bases) -> np.ndarray:
        """∂R/∂(the unknowns): rows (g, k); columns per group m — a pinned group's m − 1
        tangent offsets of û_g then W_g, a free group's v_g."""
        G, m = V.shape
        _, H = readout_gradient_hessian(self.n, V, np.zeros_like(V), 0.0, r["core"])
        dmean = H.reshape(G, m, G, m) / self.n[:, None, None, None]   # ∂⟨ψ_g⟩/∂v_h
        J = np.zeros((G, m, G, m))
        for h in range(G):
            if not pinned[h]:
                J[:, :, h, :] = dmean[:, :, h, :]
                J[h, :, h, :] += T * np.eye(m)
                continue
            E = bases[h]                                                # m × (m − 1)
            J[:, :, h, :m - 1] = np.einsum("gkl,lj->gkj", dmean[:, :, h, :], self.rho[h] * E)
            J[h, :, h, :m - 1] += (W[h] * self.coef[h] + T * self.rho[h]) * E
            J[h, :, h, m - 1] = self.coef[h] * V[h] / self.rho[h]
        return J.reshape(G * m, G * m)

    def update(self, V, W, pinned, bases, step, damping):
        """The state after a (damped) Newton step: pinned rows turn on the sphere, W moves,
        free rows move."""
        V, W = V.copy(), W.copy()
        for g in range(V.shape[0]):
            if pinned[g]:
                u = V[g] / self.rho[g] + damping * bases[g] @ step[g, :-1]
                V[g] = self.rho[g] * u / np.linalg.norm(u)
                W[g] += damping * step[g, -1]
            else:
                V[g] += damping * step[g]
        return V, W


def _condensate_tangent_bases(V: np.ndarray) -> list[np.ndarray]:
    """An orthonormal basis of each row's tangent plane (m × (m − 1))."""
    out = []
    for u in V / np.linalg.norm(V, axis=1, keepdims=True):
        q, _ = np.linalg.qr(np.column_stack([u, np.eye(u.size)]))
        out.append(q[:, 1:u.size])
    return out


def _condensate_newton(cond, V, W, pinned, Yg, T, tolerance, iterations, history):
    """Newton on the residual ⟨ψ⟩ − y + T v at fixed pinned flags (backtracking on ‖R‖)."""
    r = cond.integrate(V, W, pinned)
    R = r["mean"] - Yg + T * V
    for _ in range(iterations):
        res = float(np.max(np.abs(R)))
        history.append(res)
        if res < tolerance:
            return V, W, r
        bases = _condensate_tangent_bases(V)
        J = cond.jacobian(V, W, pinned, T, r, bases)
        step = linalg.lstsq(J, -R.ravel())[0].reshape(V.shape)
        damping = 1.0
        for _backtrack in range(30):
            try:
                V_new, W_new = cond.update(V, W, pinned, bases, step, damping)
                r_new = cond.integrate(V_new, W_new, pinned)
                R_new = r_new["mean"] - Yg + T * V_new
                if np.linalg.norm(R_new) <= (1 - 1e-4 * damping) * np.linalg.norm(R):
                    break
            except ConvergenceError:
                pass
            damping /= 2
        else:
            raise ConvergenceError("the condensate formulation's Newton step found no "
                                   f"descent (residual {res:.3g})", residuals=history)
        V, W, r, R = V_new, W_new, r_new, R_new
    raise ConvergenceError("the condensate formulation's Newton iteration did not reach the "
                           f"residual {tolerance:g} (last {history[-1]:.3g})",
                           residuals=history)


def solve_condensate(quad, V: np.ndarray, Yg: np.ndarray, T: float, tolerance: float,
                     grid_tolerance: float, cap: float = CONDENSATE_CAP,
                     iterations: int = CONDENSATE_ITERATIONS):
    """The saddle point in the condensate limit from ``V`` (rows: the groups' v).

    Every group starts pinned (û_g = v̂_g, W_g the least-squares fit of its residual); a
    group whose weight comes out negative is not condensed: it is released (its v_g
    free, started just inside its bound) and the solve repeats — an active set, at most
    one release per group. Returns (V, W, pinned, result, residual history, the readout)."""
    cond = CondensateReadout(quad, grid_tolerance, cap)
    norms = np.linalg.norm(V, axis=1)
    if np.any(norms == 0):
        raise ConvergenceError("the condensate formulation needs v_g ≠ 0 on every group")
    G = V.shape[0]
    pinned = np.ones(G, dtype=bool)
    V = cond.rho[:, None] * V / norms[:, None]
    # the formulation pins needles driven by one group alone: every other row must lie
    # on α's flat side of each needle (one class in two input norms shares a needle)
    # (row h grows along g's needle s·û_g iff σ·c·t_h > 0 there, σ = ±1 the growing
    # side, c its slope, t_h = s v_h·û_g and s = σ·sign c — on every side v_h·û_g > 0)
    U = V / cond.rho[:, None]
    shared = [(g, h) for g in range(G) for h in range(G)
              if h != g and float(V[h] @ U[g]) > 0]
    if shared:
        raise ConvergenceError(
            "the condensate formulation takes needles driven by one group alone; here the "
            f"rows of groups {sorted({tuple(sorted(p)) for p in shared})} grow along each "
            "other's needles (patterns of one class with different input norms share a "
            "needle: not built)")
    zero = np.zeros(G)
    R0 = cond.integrate(V, zero, pinned)["mean"] - Yg + T * V
    W = np.maximum(-np.sum(R0 * U, axis=1) / cond.coef, 0.0)
    history: list[float] = []
    for _round in range(G + 1):
        V, W, r = _condensate_newton(cond, V, W, pinned, Yg, T, tolerance, iterations, history)
        negative = np.flatnonzero(pinned & (W < 0))
        if negative.size == 0:
            break
        g = int(negative[np.argmin(W[negative])])
        pinned[g], W[g] = False, 0.0
        V[g] *= np.sqrt(1.0 - CONDENSATE_RELEASE)
    if np.all(~pinned):
        raise ConvergenceError("the condensate formulation does not hold: no group "
                               "condenses (every weight came out negative)",
                               residuals=history)
    if np.any(W < 0):
        raise ConvergenceError(f"the condensate formulation did not settle: weights {W}",
                               residuals=history)
    margins = cond.implied_margin(W, r["lnZ"])
    worst = float(np.max(np.where(pinned & np.isfinite(margins), margins, 0.0)) * cap**2)
    if worst > CONDENSATE_MAX_CAP_MARGIN:
        raise ConvergenceError(
            f"not in the condensate limit: the implied margins σ_a²q = {margins} put the "
            f"needles' extent 1/√q inside the cap {cap:g} σ_a (q·R_c² = {worst:.3g}); the "
            "polar integration resolves such needles", residuals=history)
    return V, W, pinned, r, history, cond
