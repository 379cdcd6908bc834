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
    (:class:`KacRiceSite`: several populations, ρ ≠ 0, noise)."""
    return True


class KacRiceSite:
    r"""The numeric single site of the Kac–Rice theory (one population).

    Built from a ``SiteSpec``; ``state`` vectors are (ln S, M, ĉ, b̂, ln p, q̂) with the
    entries that do not apply left out (no mean coupling: M = I, no b̂; p = 0 below the
    determinant's threshold; q̂ = 0 at the typical shell).
    """

    def __init__(self, site) -> None:
        if site.size != 1:
            raise SolverInputError(
                f"the Kac–Rice runtime takes one population, the site has {site.size}; "
                "several populations need the block Hermitisation (not implemented)")
        if site.has_kernel:
            raise SolverInputError(
                "the Kac–Rice runtime needs independent J_ij and J_ji (ρ = 0): a partial "
                "symmetry correlates the conditioned couplings with the Jacobian")
        if not np.all(np.asarray(site.noise) == 0):
            raise SolverInputError(
                f"fixed points are those of the noiseless network: the noise intensity is "
                f"{float(np.asarray(site.noise).ravel()[0])}, set it to 0")
        self.a = float(site.leak[0])
        self.offset = float(site.offset[0])
        self.r = site.nonlinear[0]
        self.dr = site.dnonlinear[0]
        A = np.asarray(site.correlation_coupling[0], dtype=float).ravel()
        B = (np.asarray(site.mean_coupling[0], dtype=float).ravel() if site.means
             else np.zeros(0))
        if np.any(A < 0):
            raise SolverInputError(f"the input variance coefficients {A.tolist()} must be ≥ 0")
        self.correlations = [(float(c), t) for c, t in zip(A, site.correlations, strict=True)
                             if c != 0]
        self.means = [(float(c), t) for c, t in zip(B, site.means, strict=True) if c != 0]
        if not self.correlations:
            raise SolverInputError("the site has no random input (no coupling variance): "
                                   "its fixed point is not a random-matrix problem")
        for _, term in self.correlations:
            if term.dleft is None or (term.right is not None and term.dright is None):
                raise SolverInputError(f"the correlation term {term.name!r} has no derivative")
        self.has_mean = bool(self.means)

    # -- the site functions ---------------------------------------------------------------

    def s(self, x):
        """s(x) = Σ_k A_k f_k(x) h_k(x): a unit's share of the input variance."""
        return sum(c * t.left(x) * (t.right or t.left)(x) for c, t in self.correlations)

    def v(self, x):
        """v(x) = Σ_k A_k f_k'(x) h_k'(x): the column variance of the Jacobian's J D."""
        return sum(c * t.dleft(x) * (t.dright or t.dleft)(x) for c, t in self.correlations)

    def mu(self, x):
        """μ(x) = Σ_l B_l f_l(x): a unit's share of the mean input."""
        if not self.means:
            return np.zeros_like(x)
        return sum(c * t.left(x) for c, t in self.means)

    def drift(self, x):
        """−a x + r(x): the local part of F."""
        out = -self.a * x
        return out if self.r is None else out + self.r(x)

    def diagonal(self, x):
        """Λ(x) = a − r'(x): minus the Jacobian's diagonal."""
        if self.dr is None:
            return np.full_like(x, self.a)
        return self.a - self.dr(x)

    @property
    def constant_diagonal(self) -> bool:
        return self.dr is None

    # -- the site measure -----------------------------------------------------------------

    def unpack(self, u, has_p: bool, has_q: bool):
        u = list(u)
        S = math.exp(u.pop(0))
        M = u.pop(0) if self.has_mean else self.offset
        c = u.pop(0)
        b = u.pop(0) if self.has_mean else 0.0
        p = math.exp(u.pop(0)) if has_p else 0.0
        qh = u.pop(0) if has_q else 0.0
        return S, M, c, b, p, qh

    def log_weight(self, x, S, M, c, b, p, qh):
        e = self.drift(x) + M
        lam = self.diagonal(x)
        det = lam**2 + p * self.v(x)
        with np.errstate(divide="ignore"):
            log_det = 0.5 * np.log(np.maximum(det, 0.0))
        return -e**2 / (2 * S) + c * self.s(x) + b * self.mu(x) + qh * x**2 + log_det

    def measure(self, S, M, c, b, p, qh):
        """The quadrature grid, normalised weights and ln ∫ w over the site measure."""
        scale = max(math.sqrt(S), 1e-3) / max(self.a, 1e-3)
        half = 10.0 + 30.0 * scale + 3.0 * abs(M) / max(self.a, 1e-3)
        for _ in range(10):
            coarse = np.linspace(-half, half, 4001)
            lw = self.log_weight(coarse, S, M, c, b, p, qh)
            top = np.nanmax(lw)
            if not np.isfinite(top):
                raise ConvergenceError("Kac–Rice: the site measure is not finite", [S, M, c])
            inside = np.nonzero(lw > top - WINDOW)[0]
            if inside[0] > 0 and inside[-1] < coarse.size - 1:
                break
            half *= 2.0
        else:
            raise SolverInputError(
                f"Kac–Rice: the site measure is not normalisable (S = {S:.6g}, ĉ = {c:.6g}, "
                f"q̂ = {qh:.6g}): the shell or the nonlinearity's growth admits no fixed "
                "points there")
        step = coarse[1] - coarse[0]
        lo, hi = coarse[inside[0]] - step, coarse[inside[-1]] + step
        x = np.linspace(lo, hi, GRID_POINTS)
        lw = self.log_weight(x, S, M, c, b, p, qh)
        top = float(np.max(lw))
        w = np.exp(lw - top)
        w[0] *= 0.5
        w[-1] *= 0.5
        total = float(np.sum(w))
        h = x[1] - x[0]
        return x, w / total, top + math.log(total * h)

    def residual(self, u, has_p: bool, q: float | None):
        S, M, c, b, p, qh = self.unpack(u, has_p, q is not None)
        x, w, _ = self.measure(S, M, c, b, p, qh)
        e = self.drift(x) + M
        out = [np.dot(w, self.s(x)) / S - 1.0]
        if self.has_mean:
            out.append(M - self.offset - np.dot(w, self.mu(x)))
        out.append((2 * S**2 * c - np.dot(w, e**2) + S) / S)
        if self.has_mean:
            out.append(b + np.dot(w, e) / S)
        if has_p:
            lam2, v = self.diagonal(x) ** 2, self.v(x)
            out.append(np.dot(w, v / (lam2 + p * v)) - 1.0)
        if q is not None:
            out.append(np.dot(w, x**2) / q - 1.0)
        return np.asarray(out, dtype=float)

    def _jacobian(self, u, has_p: bool, q: float | None) -> np.ndarray:
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
            columns.append((self.residual(up, has_p, q) - self.residual(down, has_p, q))
                           / (2 * h))
        return np.array(columns).T

    def complexity(self, u, has_p: bool, q: float | None) -> float:
        S, M, c, b, p, qh = self.unpack(u, has_p, q is not None)
        _, _, log_z = self.measure(S, M, c, b, p, qh)
        qq = 0.0 if q is None else qh * q
        return float(-c * S - b * (M - self.offset) - qq - 0.5 * math.log(2 * math.pi * S)
                     - p / 2 + log_z)

    # -- solving --------------------------------------------------------------------------

    def guess(self, q: float) -> list[float]:
        """A start for the shell q: x ~ N(I/a, q) for the averages, q̂ from the envelope."""
        z, wz = np.polynomial.hermite_e.hermegauss(40)
        wz = wz / wz.sum()
        x = self.offset / self.a + math.sqrt(q) * z
        S = max(float(wz @ self.s(x)), 1e-8)
        M = self.offset + float(wz @ self.mu(x))
        u = [math.log(S)]
        if self.has_mean:
            u.append(M)
        u.append(0.0)
        if self.has_mean:
            u.append(0.0)
        return u, self.a**2 / (2 * S) - 1.0 / (2 * q)

    def solve_point(self, q: float | None, start: list[float] | None = None) -> dict:
        """Σ at the shell q (None: the typical shell, q̂ = 0), with the determinant's p
        switched on where the p = 0 solution lies beyond the threshold ⟨v/Λ²⟩ = 1."""
        if start is None:
            base, qh = self.guess(q if q is not None else 1.0)
            start = {"u": base, "p": None, "qh": qh}
        attempts = []
        for has_p in ((False, True) if start["p"] is None else (True, False)):
            u0 = list(start["u"])
            if has_p:
                u0.append(math.log(start["p"] if start["p"] else 0.5))
            if q is not None:
                u0.append(start["qh"])
            try:
                sol = optimize.root(self.residual, u0, args=(has_p, q), method="hybr",
                                    jac=self._jacobian, options={"xtol": 1e-13, "maxfev": 4000})
            except (SolverInputError, ConvergenceError, FloatingPointError,
                    OverflowError) as error:
                attempts.append(str(error))
                continue
            res = np.abs(self.residual(sol.x, has_p, q)).max()
            if not res < 1e-8:
                attempts.append(f"residual {res:.3g} (p {'free' if has_p else '0'})")
                continue
            S, M, c, b, p, qh = self.unpack(sol.x, has_p, q is not None)
            x, w, _ = self.measure(S, M, c, b, p, qh)
            lam2, v = self.diagonal(x) ** 2, self.v(x)
            if not has_p and np.dot(w, v / lam2) > 1.0 + 1e-10:
                attempts.append("p = 0 lies beyond the determinant's threshold")
                continue
            base = list(sol.x[:len(start["u"])])
            return {"q": float(np.dot(w, x**2)), "complexity": self.complexity(sol.x, has_p, q),
                    "S": S, "M": M, "c": c, "b": b, "p": p, "qh": qh, "grid": x,
                    "weights": w, "u": base, "start": {"u": base, "p": p or None, "qh": qh}}
        raise ConvergenceError(f"Kac–Rice saddle point at q = {q}: no solution "
                               f"({'; '.join(attempts)})", [])

    # -- the Jacobian at the fixed points of a solved shell --------------------------------

    def spectrum(self, point: dict, radii: int = 41) -> dict:
        """Disc radius, cumulative radial distribution and unstable fraction at ``point``."""
        x, w = point["grid"], point["weights"]
        lam, v = self.diagonal(x), self.v(x)
        out = {"unstable_fraction": unstable_fraction(lam, v, w)}
        if self.constant_diagonal:
            radius = math.sqrt(float(np.dot(w, v)))
            s = np.linspace(0.0, radius, radii)
            cumulative = np.array([radial_fraction(v, w, si) for si in s])
            out.update(jacobian_radius=radius, centre=-self.a,
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


def radial_fraction(v, w, s: float) -> float:
    r"""F(s) = ⟨s²/(p v + s²)⟩: the fraction of eigenvalues of J D (column variance
    profile v) within |z| < s, p from ⟨v/(p v + s²)⟩ = 1 (constant Λ)."""
    if s <= 0:
        return 0.0
    p = _p_root(v, w, s * s * np.ones_like(v))
    return float(np.dot(w, s * s / (p * v + s * s)))


def unstable_fraction(lam, v, w, nodes: int = 96) -> float:
    r"""The fraction of eigenvalues of −Λ + J D with positive real part (see the module):
    ½ − (1/π)[∫_0^Y ⟨Λ/(p v + y² + Λ²)⟩ dy + ⟨sign Λ (π/2 − arctan(Y/|Λ|))⟩], Y the
    imaginary-axis point where the support ends (⟨v/(y² + Λ²)⟩ = 1)."""
    lam2 = lam * lam
    with np.errstate(divide="ignore"):
        edge = float(np.dot(w, v / lam2))
    if edge > 1:
        def g(y):
            return float(np.dot(w, v / (y * y + lam2))) - 1.0
        hi = 1.0
        while g(hi) > 0:
            hi *= 2.0
        Y = optimize.brentq(g, 0.0, hi, xtol=1e-14, rtol=1e-13) if g(0.0) > 0 else 0.0
    else:
        Y = 0.0
    inner = 0.0
    if Y > 0:
        t, tw = np.polynomial.legendre.leggauss(nodes)
        # y = Y sin(π/2 · (t + 1)/2) concentrates nodes at the edge, where p → 0 as √
        ys = 0.5 * Y * (t + 1)
        for y, weight in zip(ys, tw, strict=True):
            c = y * y + lam2
            p = _p_root(v, w, c)
            inner += 0.5 * Y * weight * float(np.dot(w, lam / (p * v + c)))
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(lam != 0, np.sign(lam) * (math.pi / 2 - np.arctan(Y / np.abs(lam))),
                        0.0)
    return float(0.5 - (inner + float(np.dot(w, tail))) / math.pi)


def _kac_rice_not_inlined(problem) -> bool:
    """Generated modules do not carry the Kac–Rice theory: it runs in-process on the
    generated module's ``spec`` (:func:`fieldtheory.fixed_points.solve_fixed_points`)."""
    return False


@register_runtime("kac_rice", applies=applies_kac_rice, priority=50, needs=_kac_rice_not_inlined,
                  kind="fixed_points")
def solve_kac_rice(site, grid=None, options=None) -> dict:
    r"""The annealed Kac–Rice theory of the fixed points of one population.

    Returns ``complexity`` {q, values} (Σ(q) on the shells ``options["q"]``, default 40
    shells up to 2.5 times the typical one), ``total_complexity`` Σ* (with a trivial fixed
    point — x = 0 a solution for every J — max(Σ*, 0): the count is at least one),
    ``typical_q``, ``jacobian_radius`` (constant Λ: the disc of −a + J D about −a; None
    otherwise), ``jacobian_centre``, ``unstable_fraction`` (index/N at the typical shell),
    ``jacobian_radial`` {s, cumulative}, ``trivial`` (whether x = 0 is a fixed point of
    every network) and ``saddle`` (S, M, p at the typical shell).
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
    if typical is not None and typical["S"] < 1e-10 and trivial:
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
    if typical is not None:
        spectrum = kr.spectrum(typical)
        out.update(jacobian_radius=spectrum["jacobian_radius"],
                   jacobian_centre=spectrum["centre"],
                   unstable_fraction=spectrum["unstable_fraction"],
                   jacobian_radial=spectrum["radial"],
                   saddle={"S": typical["S"], "M": typical["M"], "p": typical["p"]})
    else:
        # the trivial fixed point: Jacobian −a + r'(0) + J f'(0)
        v0 = float(kr.v(np.zeros(1))[0])
        lam0 = float(kr.diagonal(np.zeros(1))[0])
        one = np.ones(1)
        out.update(jacobian_radius=math.sqrt(v0) if kr.constant_diagonal else None,
                   jacobian_centre=-lam0,
                   unstable_fraction=unstable_fraction(lam0 * one, v0 * one, one),
                   jacobian_radial=None, saddle=None)
    return out


def _trivial(kr: KacRiceSite) -> bool:
    """Whether x = 0 is a fixed point of every network: zero local drift and zero
    coupling input at x = 0 (e(0) = 0 with M = I + μ(0), s(0) = 0)."""
    zero = np.zeros(1)
    M = kr.offset + float(kr.mu(zero)[0])
    return bool(abs(float(kr.drift(zero)[0]) + M) < 1e-14 and abs(float(kr.s(zero)[0])) < 1e-14)


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
