r"""Kac–Rice theory of the fixed points of a random network (arXiv:2210.07877).

The fixed points of ẋ_i = F_i(x) = −a x_i + r(x_i) + I + Σ_j J_ij f(x_j) (D = 0) are
counted by the Kac–Rice formula, averaged over the couplings (annealed):

.. math::
    \mathbb{E}\,\#\{x^*\} = \int d^N x\; \mathbb{E}_J\big[\delta(F(x))\,
        |\det \partial F/\partial x|\big].

For a Gaussian ensemble the average is read off the lowered single site
(:class:`~fieldtheory.solvers.runtime.common.SiteSpec`): at fixed x the coupling sums are
Gaussian with mean Σ_l B_l m_l and variance S = Σ_k A_k C_k, m_l = ⟨f_l⟩, C_k = ⟨f_k h_k⟩
the equal-time order parameters of the empirical measure of x, so that
E_J δ(F) = Π_i N(e(x_i); 0, S) with e(x) = −a x + r(x) + I + Σ_l B_l m_l. Conditioning J
on J f(x) fixes it along one direction only (rank one), so the Jacobian
−Λ + J diag(f'), Λ(x) = a − r'(x), keeps its bulk spectrum: a random matrix with the
column variance profile v(x_j)/N, v = Σ_k A_k f_k' h_k'. Its log-determinant (the
Hermitisation of Girko, solved exactly for a rank-one variance profile) is a single-site
average:

.. math::
    \frac1N \ln|\det(-\Lambda + J D)| = \tfrac12 \sup_{p \ge 0}
        \big[\langle \ln(\Lambda^2 + p v) \rangle - p\big],
    \qquad \langle v / (\Lambda^2 + p v) \rangle = 1 \text{ at the optimum.}

(Self-averaging: the annealed |det| equals the typical one to exponential order, and the
mean coupling J0/N and the conditioning are rank-one perturbations that move O(1)
eigenvalues.) The integral over x then factorises over sites; with the shell constraint
|x|²/N = q (conjugate q̂) the complexity is an extremum over (S, ĉ, M, b̂, p, q̂):

.. math::
    \Sigma(q) = -\hat c S - \hat b (M - I) - \hat q q - \tfrac12 \ln(2\pi S) - \tfrac p2
        + \ln \int dx\, \exp\Big[-\frac{e(x)^2}{2S} + \hat c\, s(x) + \hat b\, \mu(x)
        + \hat q x^2 + \tfrac12 \ln(\Lambda(x)^2 + p v(x))\Big],

s = Σ_k A_k f_k h_k, μ = Σ_l B_l f_l; stationarity gives S = ⟨s⟩, M = I + ⟨μ⟩,
ĉ = (⟨e²⟩ − S)/(2S²), b̂ = −⟨e⟩/S, q = ⟨x²⟩ and the p condition, all averages over the
site measure w(x) (the integrand). Σ* = sup_q Σ(q) at q̂ = 0 (the typical shell).

Jacobian spectrum at the fixed points of a shell (eigenvalues z of −Λ + JD): the same
Hermitisation at z gives ⟨v/(p v + |z + Λ|²)⟩ = 1 inside the support
{z: ⟨v/|z + Λ|²⟩ ≥ 1}; for constant Λ = a a disc of radius √⟨v⟩ about −a with the
fraction F(s) = ⟨s²/(p(s) v + s²)⟩ of eigenvalues within distance s of its centre; the
unstable fraction (index/N) is

.. math::
    k = \tfrac12 - \frac1{2\pi}\int dy\,
        \Big\langle \frac{\Lambda}{p(y) v + y^2 + \Lambda^2} \Big\rangle

(the flux of the log-potential through the imaginary axis).

That is the one-population form, written with the aggregated conjugates ĉ (of S) and b̂ (of
M) and p; the runtime solves the general form of :class:`KacRiceSite` — one order
parameter and conjugate per term, P populations, the determinant through the
self-energies X_α, Y_k of the block Hermitisation — which reduces to it for P = 1
(ĉ_k = A_k ĉ, b̂_l = B_l b̂, Y = p A).
"""

import math

import numpy as np
from scipy import optimize

from fieldtheory.solvers.runtime.common import (
    ConvergenceError,
    SolverInputError,
    register_runtime,
)

__all__ = ["KacRiceSite", "applies_kac_rice", "solve_kac_rice"]

#: Points of the fine quadrature grid over the site measure (trapezoid; spectral for
#: analytic integrands, O(h²) at kinks).
GRID_POINTS = 3001
#: The site measure is integrated where ln w > max ln w − WINDOW.
WINDOW = 70.0


def applies_kac_rice(site) -> bool:
    """Always: the one fixed-point runtime refuses what it cannot do by name when built
    (:class:`KacRiceSite`: ρ ≠ 0, noise, a population without random input)."""
    return True


class KacRiceSite:
    r"""The numeric Kac–Rice theory of P populations (fractions f_α).

    Order parameters per correlation term k (population β_k) C_k = ⟨f_k h_k⟩ and per mean
    term l m_l = ⟨f_l⟩, conjugates ĉ_k, b̂_l; population α's input has mean
    I_α + Σ_l B_αl m_l and variance S_α = Σ_k A_αk C_k (A and B as in the SiteSpec, the
    presynaptic fractions included). The determinant: with v_k = f_k' h_k', the
    Hermitisation of −Λ + J D has per unit (population α) the 2 × 2 self-energies
    X_α and B_α(u) = Σ_{k∈α} v_k(u) Y_k,

        X_α = Σ_k A_αk ⟨v_k b⟩_{β_k},   Y_k = Σ_α (f_α/f_{β_k}) A_αk ⟨a⟩_α,
        a = B/(X B + τ),  b = X/(X B + τ),  τ = Λ² (at the origin),

    defined up to X → λX, Y → Y/λ (fixed by X_0 = 1); (1/N) ln|det| =
    ½[Σ_α f_α ⟨ln(Λ² + X_α B_α)⟩_α − T], T = Σ_α f_α X_α ⟨a⟩_α (the bilinear term by
    Euler's identity, so no inverse of A is needed). Inactive (X = Y = 0) while the
    spectral radius of M_αβ = Σ_{k∈β} A_αk ⟨v_k/Λ²⟩_β is ≤ 1. One population: B = p v
    with p = Y (X = 1), the rule of the module docstring.

    ``state`` vectors: C_k, m_l, ĉ_k, b̂_l, then (when the determinant is active)
    ln X_1 … ln X_{P−1}, ln Y_k, then q̂ (a given shell).
    """

    def __init__(self, site) -> None:
        P = site.size
        if site.has_kernel:
            raise SolverInputError(
                "the Kac–Rice runtime needs independent J_ij and J_ji (ρ = 0): a partial "
                "symmetry correlates the conditioned couplings with the Jacobian")
        noise = np.asarray(site.noise, dtype=float)
        if not np.all(noise == 0):
            raise SolverInputError(
                f"fixed points are those of the noiseless network: the noise intensity is "
                f"{float(noise[noise != 0][0])}, set it to 0")
        if P > 1 and site.fractions is None:
            raise SolverInputError("several populations need their fractions")
        self.P = P
        self.f = (np.ones(1) if P == 1 else np.asarray(site.fractions, dtype=float))
        self.a = np.asarray(site.leak, dtype=float)
        self.offset = np.asarray(site.offset, dtype=float)
        self.r, self.dr = tuple(site.nonlinear), tuple(site.dnonlinear)
        A = np.asarray(site.correlation_coupling, dtype=float).reshape(P, -1)
        B = (np.asarray(site.mean_coupling, dtype=float).reshape(P, -1) if site.means
             else np.zeros((P, 0)))
        if np.any(A < 0):
            raise SolverInputError(f"the input variance coefficients {A.tolist()} must be ≥ 0")
        keep = [k for k in range(A.shape[1]) if np.any(A[:, k] != 0)]
        self.corr = [site.correlations[k] for k in keep]
        self.A = A[:, keep]
        keep = [k for k in range(B.shape[1]) if np.any(B[:, k] != 0)]
        self.means = [site.means[k] for k in keep]
        self.B = B[:, keep]
        for term in self.corr:
            if term.dleft is None or (term.right is not None and term.dright is None):
                raise SolverInputError(f"the correlation term {term.name!r} has no derivative")
        silent = [site.populations[a] for a in range(P) if not np.any(self.A[a] != 0)]
        if silent:
            raise SolverInputError(
                f"population(s) {silent} receive no random input (no coupling variance): "
                "their fixed-point condition is not a random-matrix problem")
        self.populations = tuple(site.populations)
        self.K, self.L = len(self.corr), len(self.means)
        self.corr_pop = np.array([t.population for t in self.corr], dtype=int)
        # C_k = ⟨f_k²⟩ > 0 is carried as ln C_k (the solver cannot step to a negative one)
        self.square = np.array([t.right is None or t.right is t.left for t in self.corr])
        self.mean_pop = np.array([t.population for t in self.means], dtype=int)

    # -- the site functions (population α) -----------------------------------------------

    def drift(self, alpha: int, x):
        """−a x + r(x): the local part of F."""
        out = -self.a[alpha] * x
        r = self.r[alpha]
        return out if r is None else out + r(x)

    def diagonal(self, alpha: int, x):
        """Λ(x) = a − r'(x): minus the Jacobian's diagonal."""
        dr = self.dr[alpha]
        return np.full_like(x, self.a[alpha]) if dr is None else self.a[alpha] - dr(x)

    def pair(self, k: int, x):
        t = self.corr[k]
        return t.left(x) * (t.right or t.left)(x)

    def slope(self, k: int, x):
        """v_k = f_k' h_k'."""
        t = self.corr[k]
        return t.dleft(x) * (t.dright or t.dleft)(x)

    @property
    def constant_diagonal(self) -> bool:
        return all(dr is None for dr in self.dr) and bool(np.all(self.a == self.a[0]))

    # -- the state ------------------------------------------------------------------------

    def unpack(self, u, active: bool, has_q: bool) -> dict:
        u = np.asarray(u, dtype=float)
        K, L, P = self.K, self.L, self.P
        C = np.where(self.square, np.exp(np.clip(u[:K], -700.0, 700.0)), u[:K])
        out = {"C": C, "m": u[K:K + L], "c": u[K + L:2 * K + L],
               "b": u[2 * K + L:2 * K + 2 * L]}
        rest = u[2 * K + 2 * L:]
        if active:
            logs = np.clip(rest[:P - 1 + K], -700.0, 700.0)  # the solver may explore far
            out["X"] = np.concatenate([[1.0], np.exp(logs[:P - 1])])
            out["Y"] = np.exp(logs[P - 1:])
            rest = rest[P - 1 + K:]
        else:
            out["X"], out["Y"] = np.zeros(P), np.zeros(K)
        out["qh"] = float(rest[0]) if has_q else 0.0
        return out

    def variances(self, C) -> np.ndarray:
        return self.A @ C

    def mean_inputs(self, m) -> np.ndarray:
        return self.offset + (self.B @ m if self.L else 0.0)

    def log_weight(self, alpha: int, x, st: dict, S, M):
        e = self.drift(alpha, x) + M[alpha]
        out = -e**2 / (2 * S[alpha]) + st["qh"] * x**2
        for k in range(self.K):
            if self.corr_pop[k] == alpha:
                out = out + st["c"][k] * self.pair(k, x)
        for l in range(self.L):
            if self.mean_pop[l] == alpha:
                out = out + st["b"][l] * self.means[l].left(x)
        lam = self.diagonal(alpha, x)
        det = lam**2 + st["X"][alpha] * self.self_energy(alpha, x, st["Y"])
        with np.errstate(divide="ignore"):
            return out + 0.5 * np.log(np.maximum(det, 0.0))

    def self_energy(self, alpha: int, x, Y):
        """B_α(x) = Σ_{k∈α} v_k(x) Y_k."""
        out = np.zeros_like(x)
        for k in range(self.K):
            if self.corr_pop[k] == alpha and Y[k] != 0:
                out = out + Y[k] * self.slope(k, x)
        return out

    def measure(self, alpha: int, st: dict, S, M):
        """Population α's quadrature grid, normalised weights and ln ∫ w."""
        a = max(abs(self.a[alpha]), 1e-3)
        half = 10.0 + 30.0 * max(math.sqrt(S[alpha]), 1e-3) / a + 3.0 * abs(M[alpha]) / a
        for _ in range(10):
            coarse = np.linspace(-half, half, 4001)
            with np.errstate(invalid="ignore"):
                lw = self.log_weight(alpha, coarse, st, S, M)
            lw = np.where(np.isnan(lw), -np.inf, lw)
            top = np.max(lw)
            if not np.isfinite(top):
                raise ConvergenceError("Kac–Rice: the site measure is not finite", [])
            inside = np.nonzero(lw > top - WINDOW)[0]
            if inside.size == 0:  # a measure narrower than the coarse grid resolves
                raise ConvergenceError("Kac–Rice: the site measure collapsed", [])
            if inside[0] > 0 and inside[-1] < coarse.size - 1:
                break
            half *= 2.0
        else:
            raise SolverInputError(
                f"Kac–Rice: the site measure of population {self.populations[alpha]} is not "
                f"normalisable (S = {S[alpha]:.6g}, q̂ = {st['qh']:.6g}): the shell or the "
                "nonlinearity's growth admits no fixed points there")
        step = coarse[1] - coarse[0]
        x = np.linspace(coarse[inside[0]] - step, coarse[inside[-1]] + step, GRID_POINTS)
        lw = self.log_weight(alpha, x, st, S, M)
        top = float(np.max(lw))
        w = np.exp(lw - top)
        w[0] *= 0.5
        w[-1] *= 0.5
        total = float(np.sum(w))
        return x, w / total, top + math.log(total * (x[1] - x[0]))

    def measures(self, st: dict):
        S = self.variances(st["C"])
        if np.any(~(S > 0)):
            raise SolverInputError(f"Kac–Rice: input variances {S.tolist()} must be positive")
        M = self.mean_inputs(st["m"])
        return S, M, [self.measure(alpha, st, S, M) for alpha in range(self.P)]

    def _determinant_terms(self, grids, X, Y, tau):
        """⟨a⟩_α and ⟨v_k b⟩_{β_k} on the weights ``grids`` at τ per population grid."""
        mean_a, vb = np.zeros(self.P), np.zeros(self.K)
        for alpha, (x, w) in enumerate(grids):
            Bx = self.self_energy(alpha, x, Y)
            denom = X[alpha] * Bx + tau[alpha]
            mean_a[alpha] = np.dot(w, Bx / denom)
            for k in range(self.K):
                if self.corr_pop[k] == alpha:
                    vb[k] = np.dot(w, self.slope(k, x) * X[alpha] / denom)
        return mean_a, vb

    def determinant_residual(self, grids, X, Y, tau) -> np.ndarray:
        """The Y_k equations and the X_α equations for α ≥ 1 (scaled)."""
        mean_a, vb = self._determinant_terms(grids, X, Y, tau)
        fk = self.f[self.corr_pop]
        Ynew = (self.A * self.f[:, None]).T @ mean_a / fk
        Xnew = self.A @ vb
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.concatenate([Ynew / Y - 1.0, Xnew[1:] / X[1:] - 1.0])
        # a self-energy underflowed to 0 while the solver explores: a large finite residual
        return np.where(np.isfinite(out), out, 1e6)

    def threshold(self, grids, tau) -> float:
        """Spectral radius of M_αβ = Σ_{k∈β} A_αk ⟨v_k/τ⟩_β (activation at > 1)."""
        Mx = np.zeros((self.P, self.P))
        for k in range(self.K):
            beta = self.corr_pop[k]
            x, w = grids[beta]
            Mx[:, beta] += self.A[:, k] * np.dot(w, self.slope(k, x) / tau[beta])
        return float(np.max(np.abs(np.linalg.eigvals(Mx))))

    def residual(self, u, active: bool, q: float | None):
        st = self.unpack(u, active, q is not None)
        S, M, meas = self.measures(st)
        out = []
        for k in range(self.K):
            x, w, _ = meas[self.corr_pop[k]]
            value = np.dot(w, self.pair(k, x))
            out.append(value / st["C"][k] - 1.0 if self.square[k] else value - st["C"][k])
        for l in range(self.L):
            x, w, _ = meas[self.mean_pop[l]]
            out.append(np.dot(w, self.means[l].left(x)) - st["m"][l])
        e1, e2 = np.zeros(self.P), np.zeros(self.P)
        for alpha, (x, w, _) in enumerate(meas):
            e = self.drift(alpha, x) + M[alpha]
            e1[alpha], e2[alpha] = np.dot(w, e), np.dot(w, e * e)
        for k in range(self.K):
            target = np.sum(self.f * self.A[:, k] * (e2 - S) / (2 * S**2))
            out.append((self.f[self.corr_pop[k]] * st["c"][k] - target) * np.max(S))
        for l in range(self.L):
            target = -np.sum(self.f * self.B[:, l] * e1 / S)
            out.append((self.f[self.mean_pop[l]] * st["b"][l] - target) * math.sqrt(np.max(S)))
        if active:
            grids = [(x, w) for x, w, _ in meas]
            tau = [self.diagonal(alpha, x) ** 2 for alpha, (x, _) in enumerate(grids)]
            out.extend(self.determinant_residual(grids, st["X"], st["Y"], tau))
        if q is not None:
            second = sum(self.f[alpha] * np.dot(w, x * x) for alpha, (x, w, _) in enumerate(meas))
            out.append(second / q - 1.0)
        return np.asarray(out, dtype=float)

    def _jacobian(self, u, active: bool, q: float | None) -> np.ndarray:
        """Central differences with absolute steps 1e-6·max(1, |u_j|) (MINPACK's relative
        steps fail at an entry that is zero up to rounding, such as q̂ at the typical
        shell)."""
        u = np.asarray(u, dtype=float)
        columns = []
        for j in range(u.size):
            h = 1e-6 * max(1.0, abs(u[j]))
            up, down = u.copy(), u.copy()
            up[j] += h
            down[j] -= h
            columns.append((self.residual(up, active, q) - self.residual(down, active, q))
                           / (2 * h))
        return np.array(columns).T

    def evaluate(self, u, active: bool, q: float | None) -> dict:
        """Σ and the saddle's pieces at the state ``u``."""
        st = self.unpack(u, active, q is not None)
        S, M, meas = self.measures(st)
        grids = [(x, w) for x, w, _ in meas]
        total = 0.0
        for alpha, (_, _, log_z) in enumerate(meas):
            total += self.f[alpha] * (-0.5 * math.log(2 * math.pi * S[alpha]) + log_z)
        total -= float(np.dot(self.f[self.corr_pop], st["c"] * st["C"]))
        if self.L:
            total -= float(np.dot(self.f[self.mean_pop], st["b"] * st["m"]))
        second = sum(self.f[alpha] * np.dot(w, x * x) for alpha, (x, w) in enumerate(grids))
        if q is not None:
            total -= st["qh"] * q
        if active:
            tau = [self.diagonal(alpha, x) ** 2 for alpha, (x, _) in enumerate(grids)]
            mean_a, _ = self._determinant_terms(grids, st["X"], st["Y"], tau)
            total -= 0.5 * float(np.sum(self.f * st["X"] * mean_a))
        return {"complexity": float(total), "q": float(second), "S": S, "M": M,
                "C": st["C"], "m": st["m"], "c": st["c"], "b": st["b"],
                "X": st["X"], "Y": st["Y"], "qh": st["qh"], "grids": grids}

    # -- solving --------------------------------------------------------------------------

    def guess(self, q: float) -> tuple[list[float], float]:
        """A start: x ~ N(I/a, q) per population for the averages, q̂ from the envelope."""
        z, wz = np.polynomial.hermite_e.hermegauss(40)
        wz = wz / wz.sum()
        xs = [self.offset[a] / self.a[a] + math.sqrt(q) * z for a in range(self.P)]
        C = [float(wz @ self.pair(k, xs[self.corr_pop[k]])) for k in range(self.K)]
        m = [float(wz @ self.means[l].left(xs[self.mean_pop[l]])) for l in range(self.L)]
        C = [max(c, 1e-8) for c in C]
        S = max(float(np.max(self.A @ np.array(C))), 1e-8)
        stored = [math.log(c) if sq else c for c, sq in zip(C, self.square, strict=True)]
        u = [*stored, *m, *([0.0] * self.K), *([0.0] * self.L)]
        return u, float(np.max(self.a)) ** 2 / (2 * S) - 1.0 / (2 * q)

    def _determinant_guess(self) -> list[float]:
        """ln X_1 … ln X_{P−1} = 0 and ln Y_k = ln(0.5/max A): a start inside the support."""
        return [0.0] * (self.P - 1) + [math.log(0.5 / max(np.max(self.A), 1e-12))] * self.K

    def _base_size(self) -> int:
        return 2 * self.K + 2 * self.L

    def solve_point(self, q: float | None, start: dict | None = None) -> dict:
        """Σ at the shell q (None: the typical shell, q̂ = 0); the determinant's
        self-energies switched on where the inactive solution lies beyond its threshold."""
        if start is None:
            base, qh = self.guess(q if q is not None else 1.0)
            start = {"u": base, "det": None, "qh": qh}
        attempts = []
        order = (False, True) if start["det"] is None else (True, False)
        base = list(start["u"])
        for active in order:
            u0 = list(base)
            if active:
                det = start["det"]
                u0.extend(self._determinant_guess() if det is None else det)
            if q is not None:
                u0.append(start["qh"])
            try:
                sol = optimize.root(self.residual, u0, args=(active, q), method="hybr",
                                    jac=self._jacobian, options={"xtol": 1e-13, "maxfev": 4000})
                res = np.abs(self.residual(sol.x, active, q)).max()
            except (SolverInputError, ConvergenceError, FloatingPointError,
                    OverflowError, np.linalg.LinAlgError) as error:
                attempts.append(str(error))
                continue
            if not res < 1e-8:
                attempts.append(f"residual {res:.3g} (determinant {'on' if active else 'off'})")
                continue
            point = self.evaluate(sol.x, active, q)
            if not active:
                tau = [self.diagonal(a, x) ** 2 for a, (x, _) in enumerate(point["grids"])]
                if self.threshold(point["grids"], tau) > 1.0 + 1e-10:
                    attempts.append("the inactive determinant lies beyond its threshold")
                    base = list(sol.x[:self._base_size()])  # a better start for the next
                    continue
            n = self._base_size()
            det = list(sol.x[n:n + self.P - 1 + self.K]) if active else None
            point["start"] = {"u": list(sol.x[:n]), "det": det, "qh": point["qh"]}
            point["active"] = active
            return point
        raise ConvergenceError(f"Kac–Rice saddle point at q = {q}: no solution "
                               f"({'; '.join(attempts)})", [])

    # -- the Jacobian at the fixed points of a solved shell --------------------------------

    def solve_determinant(self, grids, tau, start=None):
        """(ln X_1…, ln Y_k) at the per-population τ arrays on fixed ``grids`` (None:
        inactive); ``start`` a nearby solution (continuation), else a guess."""
        if self.threshold(grids, tau) <= 1.0:
            return None
        if self.P == 1 and self.K == 1:
            # X = 1 and Y = p A with ⟨v/(p v + τ)⟩ = 1, v = A v_k: one bracketed root
            x, w = grids[0]
            v = self.A[0, 0] * self.slope(0, x)
            return np.array([math.log(_p_root(v, w, tau[0]) * self.A[0, 0])])

        def residual(v):
            v = np.clip(v, -700.0, 700.0)
            X = np.concatenate([[1.0], np.exp(v[:self.P - 1])])
            return self.determinant_residual(grids, X, np.exp(v[self.P - 1:]), tau)

        worst = []
        for x0, method in ((start, "hybr"), (self._determinant_guess(), "hybr"),
                           (start, "lm"), (self._determinant_guess(), "lm")):
            if x0 is None:
                continue
            sol = optimize.root(residual, np.asarray(x0, dtype=float), method=method,
                                options={"xtol": 1e-14})
            error = float(np.max(np.abs(residual(sol.x))))
            if error < 1e-9:
                return sol.x
            worst.append(error)
        raise ConvergenceError("Kac–Rice: the Jacobian's self-energies did not converge", worst)

    def unstable_fraction(self, grids, start=None, nodes: int = 96) -> float:
        r"""Index/N: ½ − (1/2π)∫dy Σ_α f_α ⟨Λ/(X_α B_α + y² + Λ²)⟩_α (see the module);
        ``start``: the self-energies at y = 0 (the saddle's own), continued outward."""
        lam = [self.diagonal(a, x) for a, (x, _) in enumerate(grids)]
        lam2 = [v * v for v in lam]

        def rho(y):
            return self.threshold(grids, [l2 + y * y for l2 in lam2]) - 1.0

        Y = 0.0
        if rho(0.0) > 0:
            hi = 1.0
            while rho(hi) > 0:
                hi *= 2.0
            Y = optimize.brentq(rho, 0.0, hi, xtol=1e-14, rtol=1e-13)
        inner = 0.0
        t, tw = np.polynomial.legendre.leggauss(nodes)
        v0 = self.A[0, 0] * self.slope(0, grids[0][0]) if self.P == self.K == 1 else None
        if Y > 0 and v0 is not None and np.all(v0 >= 0):
            # one population, one correlation: B = p v with p(y) the root of
            # ⟨v/(p v + Λ² + y²)⟩ = 1, all nodes at once (what solve_determinant finds per y)
            w = grids[0][1]
            y = 0.5 * Y * (t + 1)
            tau = lam2[0][None, :] + y[:, None] ** 2
            p = _p_roots(v0, w, tau)
            per_node = (lam[0][None, :] / (p[:, None] * v0[None, :] + tau)) @ w
            inner = 0.5 * Y * self.f[0] * float(np.dot(tw, per_node))
        elif Y > 0:
            for y, weight in sorted(zip(0.5 * Y * (t + 1), tw, strict=True)):
                tau = [l2 + y * y for l2 in lam2]
                v = self.solve_determinant(grids, tau, start)
                if v is None:
                    X, Yk = np.zeros(self.P), np.zeros(self.K)
                else:
                    start = v
                    X = np.concatenate([[1.0], np.exp(v[:self.P - 1])])
                    Yk = np.exp(v[self.P - 1:])
                for a, (x, w) in enumerate(grids):
                    Bx = X[a] * self.self_energy(a, x, Yk)
                    inner += 0.5 * Y * weight * self.f[a] * float(np.dot(w, lam[a] / (Bx + tau[a])))
        tail = 0.0
        for a, (_, w) in enumerate(grids):
            with np.errstate(divide="ignore", invalid="ignore"):
                part = np.where(lam[a] != 0, np.sign(lam[a]) * (
                    math.pi / 2 - np.arctan(Y / np.abs(lam[a]))), 0.0)
            tail += self.f[a] * float(np.dot(w, part))
        return float(0.5 - (inner + tail) / math.pi)

    def radius(self, grids) -> float:
        """The disc's radius about −a (constant, equal leaks): √ρ(M) at τ = 1."""
        return math.sqrt(self.threshold(grids, [np.ones_like(x) for x, _ in grids]))

    def radial_fraction(self, grids, s: float, start=None) -> tuple[float, object]:
        """Fraction of eigenvalues within distance s of the disc's centre, and the
        self-energies there (for continuation)."""
        if s <= 0:
            return 0.0, start
        tau = [np.full_like(x, s * s) for x, _ in grids]
        v = self.solve_determinant(grids, tau, start)
        if v is None:
            return 1.0, start
        X = np.concatenate([[1.0], np.exp(v[:self.P - 1])])
        Yk = np.exp(v[self.P - 1:])
        return float(sum(self.f[a] * np.dot(w, s * s / (X[a] * self.self_energy(a, x, Yk)
                                                        + s * s))
                         for a, (x, w) in enumerate(grids))), v

    def spectrum(self, point: dict, radii: int = 41) -> dict:
        """Disc radius, cumulative radial distribution and unstable fraction at ``point``
        (the self-energies continued from the saddle's own, at τ = Λ²)."""
        grids = point["grids"]
        start = (point.get("start") or {}).get("det")
        out = {"unstable_fraction": self.unstable_fraction(grids, start)}
        if self.constant_diagonal:
            radius = self.radius(grids)
            s = np.linspace(0.0, radius, radii)
            cumulative = np.ones(radii)
            centre = int(np.argmin(np.abs(s - abs(self.a[0]))))  # τ = s² = Λ² there
            for direction in (range(centre, radii - 1), range(centre - 1, 0, -1)):
                seed = start
                for j in direction:
                    cumulative[j], seed = self.radial_fraction(grids, float(s[j]), seed)
            cumulative[0] = 0.0
            out.update(jacobian_radius=radius, centre=-float(self.a[0]),
                       radial={"s": s, "cumulative": cumulative})
        else:
            out.update(jacobian_radius=None, centre=None, radial=None)
        return out


def _p_root(v, w, c) -> float:
    """p ≥ 0 with ⟨v/(p v + c)⟩ = 1 (0 when ⟨v/c⟩ ≤ 1); c > 0 per grid point."""
    def h(p):
        return float(np.dot(w, v / (p * v + c))) - 1.0
    if h(0.0) <= 0:
        return 0.0
    hi = 1.0
    while h(hi) > 0:
        hi *= 4.0
    return optimize.brentq(h, 0.0, hi, xtol=1e-14, rtol=1e-13)


def _p_roots(v, w, c) -> np.ndarray:
    """:func:`_p_root` for every row of ``c`` (rows, grid) at once, for v ≥ 0: h(p) =
    ⟨v/(p v + c)⟩ − 1 is convex and decreasing, so Newton's iterates from p = 0 rise
    monotonically to the root (quadratically near it)."""
    p = np.zeros(c.shape[0])
    for _ in range(200):
        ratio = v[None, :] / (p[:, None] * v[None, :] + c)
        h = ratio @ w - 1.0
        step = h / np.maximum((ratio * ratio) @ w, 1e-300)
        p = np.where(h > 0, p + step, p)
        if np.all((h <= 0) | (step <= 1e-15 * np.maximum(p, 1.0))):
            return p
    raise ConvergenceError("Kac–Rice: the Jacobian's self-energy root did not converge",
                           [float(np.max(step))])


def _kac_rice_not_inlined(problem) -> bool:
    """Generated modules do not carry the Kac–Rice theory: it runs in-process on the
    generated module's ``spec`` (:func:`fieldtheory.fixed_points.solve_fixed_points`)."""
    return False


@register_runtime("kac_rice", applies=applies_kac_rice, priority=50, needs=_kac_rice_not_inlined,
                  kind="fixed_points")
def solve_kac_rice(site, grid=None, options=None) -> dict:
    r"""The annealed Kac–Rice theory of the fixed points (one or several populations).

    Returns ``complexity`` {q, values} (Σ(q) on the shells ``options["q"]``, default 40
    shells up to 2.5 times the typical one), ``total_complexity`` Σ* (with a trivial fixed
    point — x = 0 a solution for every J — max(Σ*, 0): the count is at least one),
    ``typical_q``, ``jacobian_radius`` (constant Λ: the disc of −a + J D about −a; None
    otherwise), ``jacobian_centre``, ``unstable_fraction`` (index/N at the typical shell),
    ``jacobian_radial`` {s, cumulative}, ``trivial`` (whether x = 0 is a fixed point of
    every network) and ``saddle`` (the input variances S_α and means M_α and the
    determinant's self-energies X_α, Y_k at the typical shell).
    """
    options = dict(options or {})
    kr = KacRiceSite(site)
    trivial = _trivial(kr)
    typical = None
    try:
        typical = kr.solve_point(None)
    except ConvergenceError:
        if not trivial:
            raise
    if typical is not None and np.min(typical["S"]) < 1e-10 and trivial:
        typical = None
    if typical is None:
        # only the trivial fixed point: Σ(q) < 0 on every shell q > 0, Σ* = 0 at q = 0
        q_star, sigma_star = 0.0, 0.0
    else:
        q_star, sigma_star = typical["q"], typical["complexity"]
    q_grid = options.get("q")
    if q_grid is None:
        top = 2.5 * q_star if q_star > 0 else 2.0
        q_grid = np.linspace(top / 40, top, 40)
    q_grid = np.asarray(q_grid, dtype=float)
    if q_grid.ndim != 1 or q_grid.size == 0 or np.any(~(q_grid > 0)):
        raise SolverInputError(f"the shells q must be positive numbers, got {q_grid.tolist()}")
    values = _curve(kr, q_grid, typical)
    out = {
        "complexity": {"q": q_grid, "values": values},
        "total_complexity": max(sigma_star, 0.0) if trivial else sigma_star,
        "typical_q": q_star,
        "trivial": trivial,
    }
    if typical is None:
        # the trivial fixed point x = 0: its own (Dirac) site measure
        typical = {"grids": [(np.zeros(1), np.ones(1)) for _ in range(kr.P)], "S": None,
                   "M": None, "X": None, "Y": None}
    spectrum = kr.spectrum(typical)
    out.update(jacobian_radius=spectrum["jacobian_radius"],
               jacobian_centre=spectrum["centre"],
               unstable_fraction=spectrum["unstable_fraction"],
               jacobian_radial=spectrum["radial"],
               saddle={key: typical[key] for key in ("S", "M", "X", "Y")})
    return out


def _trivial(kr: KacRiceSite) -> bool:
    """Whether x = 0 is a fixed point of every network: in every population zero local
    drift and mean input at x = 0 and no input variance (every C_k vanishes there)."""
    zero = np.zeros(1)
    m = np.array([float(t.left(zero)[0]) for t in kr.means])
    M = kr.mean_inputs(m)
    C = np.array([float(kr.pair(k, zero)[0]) for k in range(kr.K)])
    drift = np.array([float(kr.drift(a, zero)[0]) for a in range(kr.P)])
    return bool(np.all(np.abs(drift + M) < 1e-14) and np.all(np.abs(C) < 1e-14))


def _curve(kr: KacRiceSite, q_grid: np.ndarray, typical: dict | None) -> np.ndarray:
    """Σ(q) on the grid by continuation outward from the point nearest the typical shell."""
    values = np.full(q_grid.size, np.nan)
    order = np.argsort(q_grid)
    qs = q_grid[order]
    centre = int(np.argmin(np.abs(qs - (typical["q"] if typical else qs[-1]))))
    for direction in (range(centre, qs.size), range(centre - 1, -1, -1)):
        start = typical["start"] if typical else None
        if start is not None:
            start = {**start, "qh": 0.0}
        for k in direction:
            point = kr.solve_point(float(qs[k]), start)
            values[order[k]] = point["complexity"]
            start = point["start"]
    return values
