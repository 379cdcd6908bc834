r"""The single-neuron saddle point of a mean-field Bayesian network by quadrature over its
readout weights, exact for mutually orthogonal training inputs (issue 15).

van Meegen & Sompolinsky, arXiv:2406.16689. At γ = 1 and ψ_k(μ) = a_k α(h_μ) the derived
single-neuron measure is (stage ``single_neuron``, before a is integrated out)

.. math:: p_v(a, h) \propto \mathcal N(a; 0, \sigma_a^2 I_m)\, \mathcal N(h; 0, K)\,
          \exp\Big(\sum_{\mu k} v_{\mu k}\, a_k\, \alpha(h_\mu)\Big).

When K is diagonal — training inputs orthogonal to each other, K_μμ = κ_μ — the
pre-activations are independent *given the readout*: h_μ | a has the tilted density
∝ N(h; 0, κ_μ) e^{t_μ α(h)} with t_μ = Σ_k v_μk a_k, and the readout's marginal is the
m-dimensional density

.. math:: p_v(a) \propto \mathcal N(a; 0, \sigma_a^2 I_m)\, \prod_\mu M_\mu(t_\mu),\qquad
          M_\mu(t) = \mathbb E_{h \sim \mathcal N(0, \kappa_\mu)}\, e^{t\alpha(h)} .

So every moment the saddle point needs is an m-dimensional integral over a of the
one-dimensional tilted moments D1 = E[α | t], D2 = E[α² | t], H1 = E[h | t], H2 = E[h² | t]:
⟨ψ_k(μ)⟩ = E_a[a_k D1_μ], ⟨ψ_k(μ) ψ_l(ν)⟩ = E_a[a_k a_l D1_μ D1_ν] (μ ≠ ν) and
E_a[a_k a_l D2_μ] (μ = ν), A = E_a[a aᵀ], ⟨h_μ h_ν⟩ = E_a[H1_μ H1_ν] and E_a[H2_μ]. These are
computed without sampling: the tilted moments in closed form for a positively homogeneous
α (:class:`HomogeneousTilt`), otherwise by composite Gauss–Legendre quadrature in h
(breakpoint at h = 0, where ReLU-like α have their kink) tabulated on a fine grid of t and
interpolated by cubic splines (:class:`TiltTable`); the a-integral by the trapezoidal rule
on a grid uniform in u, a = σ_a sinh u, whose box is grown until the density on its faces
is e^{−36} of its peak and which is refined until its every-other-point subgrid gives Z,
A and ⟨ψ⟩ within ``READOUT_GRID_TOLERANCE`` (for smooth, rapidly decaying integrands the
trapezoidal rule converges geometrically, so the full grid's error is far below that).
The multimodality of p_v(a) — the codes, the broken symmetry — is no difficulty for a
grid. What a grid does not resolve is a saddle point close to the normalisability
boundary of a positively homogeneous α (ReLU at P = 30 on the benchmark's data): the far
tails then carry sharp ridges along the planes t_μ = 0; Newton stalls there and raises
``ConvergenceError``. So for such α the integration switches to polar coordinates once
the direction margin min σ_a²q falls below ``READOUT_POLAR_SWITCH``
(:mod:`~fieldtheory.solvers.runtime.readout_polar`: radial integrals per direction,
adaptive cubature over the directions), and Newton continues in radial coordinates in which
each class's normalisability bound is smooth (``RadialCoordinates``) — ReLU at P = 30
converges there (docs/models/bayesian.md).

v solves the convex problem min F(v) = T/2‖v‖² − Σ v y + ln Z₁(v) (gradient
⟨ψ⟩ − (y − T v), Hessian T + Cov ψ). Patterns with the same κ_μ and target row are
exchangeable, so by convexity v is equal on them at the minimum: Newton runs on one row per
such group (exact, with Armijo backtracking on F). The codes (the stated rule of
:mod:`~fieldtheory.solvers.runtime.posterior_sampled`) and the prediction's cross terms
need samples of h: a is drawn from the grid's weights and each h_μ from its tabulated
tilted distribution (inverse CDF); those, and only those, carry Monte-Carlo errors
(``replicas`` independent draws).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.interpolate import CubicSpline
from scipy.special import log_ndtr, logsumexp
from scipy.stats import truncnorm

from fieldtheory.resources import require
from fieldtheory.solvers.runtime.common import (
    ConvergenceError,
    SolverInputError,
    register_runtime,
)
from fieldtheory.solvers.runtime.posterior_sampled import (
    CODE_RULE,
    _is_homogeneous,
    _is_odd,
    _sampled_prediction,
    alpha_at_test_inputs,
    classes_of,
    codes_of,
    combine_replicas,
    participation,
    response_energy,
)
from fieldtheory.solvers.runtime.readout_condensate import one_sided, solve_condensate
from fieldtheory.solvers.runtime.readout_polar import (
    PolarIntegrator,
    RadialCoordinates,
    _growth,
    _slopes,
    direction_margin,
    needle_side,
    readout_gradient_hessian,
)

__all__ = ["ReadoutQuadrature", "diagonal_kernel", "solve_posterior_quadrature"]

#: the largest number of readouts m (the grid over a has G^m points)
MAX_READOUTS = 3

#: relative change of Z, A and ⟨ψ⟩ between the grid and its every-other-point subgrid
#: below which the grid is accepted
READOUT_GRID_TOLERANCE = 1e-5

#: the most grid points over a
READOUT_MAX_POINTS = 129**3

#: the log-density on the box's faces, below its peak, that ends the box's growth
READOUT_FACE_DROP = 36.0

#: how far (in prior standard deviations σ_a) the box may grow before the density counts
#: as not normalisable
READOUT_MAX_BOX = 1e4

#: Newton steps damped below 1/32 in a row after which the solve counts as stalled
READOUT_STALL = 4

#: the direction margin min σ_a²q below which a homogeneous α's readout integration
#: switches from the grid to polar coordinates (``readout="auto"``)
READOUT_POLAR_SWITCH = 1e-2

#: off-diagonal entries of K relative to its diagonal that still count as zero
ORTHOGONAL_TOLERANCE = 1e-12


def diagonal_kernel(spec) -> np.ndarray | None:
    """κ_μ = K_μμ when the prior kernel of the training inputs is diagonal, else None."""
    K = spec.kernel
    kappa = np.diag(K).copy()
    off = K - np.diag(kappa)
    if np.min(kappa) <= 0 or np.max(np.abs(off)) > ORTHOGONAL_TOLERANCE * np.max(kappa):
        return None
    return kappa


class TiltTable:
    """The tilted moments of h ~ N(0, κ) under e^{tα(h)} on a grid of t (cubic splines),
    and its inverse CDFs for sampling.

    ln M(t) = ln E e^{tα(h)}; D1 = E[α|t], D2 = E[α²|t], H1 = E[h|t], H2 = E[h²|t];
    and E[α³|t], E[α⁴|t] for the response energy (``alpha_moments``).
    """

    #: Gauss–Legendre nodes per panel; panels of width √κ/2
    NODES = 8

    #: the largest spacing of the tabulated t
    T_STEP = 0.01

    def __init__(self, alpha, kappa: float, t_range: float):
        self.alpha, self.kappa, self.range = alpha, float(kappa), float(t_range)
        s = np.sqrt(self.kappa)
        u = np.linspace(1.0, 50.0, 200) * s
        slope = float(np.max(np.abs(np.concatenate([alpha(u), alpha(-u)]))
                             / np.concatenate([u, u])))
        # the tilted mass lies within 12√κ of the maximiser of tα(h) − h²/2κ, which moves
        # outward with |t|: found on a coarse grid at the table's ends and midpoints
        wide = np.linspace(-1.0, 1.0, 8001) * (12.0 * s + self.range * self.kappa * slope)
        ends = np.array([-1.0, -0.5, 0.5, 1.0]) * self.range
        peaks = wide[np.argmax(ends[:, None] * alpha(wide)[None, :]
                               - wide**2 / (2 * self.kappa), axis=1)]
        reach = float(np.max(np.abs(peaks))) + 12.0 * s
        panels = int(np.ceil(reach / (0.5 * s)))
        x, w = np.polynomial.legendre.leggauss(self.NODES)
        edges = np.linspace(0.0, reach, panels + 1)
        left, width = edges[:-1], np.diff(edges)
        pos = (left[:, None] + 0.5 * width[:, None] * (x + 1)).ravel()
        wpos = (0.5 * width[:, None] * w).ravel()
        self.h = np.concatenate([-pos[::-1], pos])
        weights = np.concatenate([wpos[::-1], wpos])
        points = int(max(2001, 2 * np.ceil(self.range / self.T_STEP) + 1))
        a = alpha(self.h)
        self.t = np.linspace(-self.range, self.range, points)
        require(8 * 3 * points * self.h.size, "the tilted single neuron's tables")
        logf = self.t[:, None] * a[None, :] - self.h**2 / (2 * self.kappa)
        top = logf.max(axis=1, keepdims=True)
        f = weights * np.exp(logf - top)
        Z = f.sum(axis=1)
        # the CDF at the nodes with each node's mass split half to either side, so that
        # linear interpolation between nodes is unbiased
        self.cdf = (np.cumsum(f, axis=1) - 0.5 * f) / Z[:, None]
        lnM = np.log(Z) + top[:, 0] - 0.5 * np.log(2 * np.pi * self.kappa)
        moments = [f @ q / Z for q in (a, a * a, self.h, self.h**2)]
        self.splines = [CubicSpline(self.t, y) for y in (lnM, *moments)]
        self._higher = [CubicSpline(self.t, f @ q / Z) for q in (a**3, a**4)]
        # the normalisation is checked where it is known: t = 0
        if abs(float(self.splines[0](0.0))) > 1e-10:
            raise ConvergenceError(f"the h-quadrature of the tilted single neuron is off at "
                                   f"t = 0 (ln M = {float(self.splines[0](0.0)):.3g}, κ = {kappa})")

    def covers(self, t_max: float) -> bool:
        return t_max <= self.range

    def values(self, t: np.ndarray) -> list[np.ndarray]:
        """ln M, D1, D2, H1, H2 at t."""
        return [s(t) for s in self.splines]

    def log_m(self, t: np.ndarray) -> np.ndarray:
        return self.splines[0](t)

    def alpha_moments(self, t: np.ndarray) -> list[np.ndarray]:
        """E[α^k | t] for k = 1 … 4."""
        return [self.splines[1](t), self.splines[2](t), *(s(t) for s in self._higher)]

    def sample(self, t: np.ndarray, rng) -> np.ndarray:
        """h drawn from the tilted densities at t (nearest tabulated t, inverse CDF)."""
        row = np.clip(np.rint((t + self.range) / (2 * self.range) * (self.t.size - 1)),
                      0, self.t.size - 1).astype(int)
        u = rng.random(t.shape)
        flat = (self.cdf + np.arange(self.t.size)[:, None]).ravel()
        k = np.searchsorted(flat, u + row) - row * self.h.size
        k = np.clip(k, 1, self.h.size - 1)
        lo = self.cdf[row, k - 1]
        hi = self.cdf[row, k]
        frac = np.clip((u - lo) / np.maximum(hi - lo, 1e-300), 0.0, 1.0)
        return self.h[k - 1] + frac * (self.h[k] - self.h[k - 1])


class HomogeneousTilt:
    r"""The tilted moments in closed form for a positively homogeneous α — α(h) = c₊h for
    h > 0 and c₋h for h < 0 (linear: c₊ = c₋; ReLU: c₋ = 0): on each side of 0 the tilted
    density is a truncated normal N(κ b, κ) with b = c₊t or c₋t, of mass
    e^{κb²/2} Φ(±b√κ), so

    .. math:: M(t) = e^{\kappa b_+^2/2}\,\Phi(b_+\sqrt\kappa)
                     + e^{\kappa b_-^2/2}\,\Phi(-b_-\sqrt\kappa),

    exact at every t — the heavy tails of p_v(a) reach far beyond any table."""

    def __init__(self, c_plus: float, c_minus: float, kappa: float):
        self.c = (float(c_plus), float(c_minus))
        self.kappa = float(kappa)

    def covers(self, t_max: float) -> bool:
        return True

    def _sides(self, t):
        """Per side (+, −): log mass, mean and second moment of h, and the slope c."""
        s = np.sqrt(self.kappa)
        out = []
        for sign, c in zip((1.0, -1.0), self.c, strict=True):
            if c == 0.0:
                # a flat side (ReLU's h < 0): the untilted half normal, the same at every t
                flat = np.ones(np.shape(t))
                out.append((np.log(0.5) * flat, sign * s * np.sqrt(2 / np.pi) * flat,
                            self.kappa * flat, c))
                continue
            mu = self.kappa * c * t                       # the tilted Gaussian's centre
            z = sign * mu / s                             # mass Φ(z) on this side
            log_cdf = log_ndtr(z)
            logmass = 0.5 * mu * mu / self.kappa + log_cdf
            ratio = np.exp(-0.5 * z * z - 0.5 * np.log(2 * np.pi) - log_cdf)  # φ/Φ
            h1 = mu + sign * s * ratio
            h2 = mu * mu + self.kappa + sign * mu * s * ratio
            out.append((logmass, h1, h2, c))
        return out

    def log_m(self, t: np.ndarray) -> np.ndarray:
        (l1, *_), (l2, *_) = self._sides(np.asarray(t, dtype=float))
        return np.logaddexp(l1, l2)

    def values(self, t: np.ndarray) -> list[np.ndarray]:
        """ln M, D1, D2, H1, H2 at t."""
        t = np.asarray(t, dtype=float)
        (l1, m1, s1, c1), (l2, m2, s2, c2) = self._sides(t)
        lnM = np.logaddexp(l1, l2)
        w1, w2 = np.exp(l1 - lnM), np.exp(l2 - lnM)
        return [lnM, w1 * c1 * m1 + w2 * c2 * m2, w1 * c1**2 * s1 + w2 * c2**2 * s2,
                w1 * m1 + w2 * m2, w1 * s1 + w2 * s2]

    def alpha_moments(self, t: np.ndarray) -> list[np.ndarray]:
        """E[α^k | t] for k = 1 … 4: on each side c^k times the truncated normal's moments,
        M_k = μM_{k−1} + (k − 1)κM_{k−2} (the boundary term vanishes at h = 0 for k ≥ 2)."""
        t = np.asarray(t, dtype=float)
        sides = self._sides(t)
        lnM = np.logaddexp(sides[0][0], sides[1][0])
        out = [np.zeros_like(t) for _ in range(4)]
        for logmass, h1, h2, c in sides:
            if c == 0.0:
                continue
            mu = self.kappa * c * t
            M = [np.ones_like(t), h1, h2]
            for k in (3, 4):
                M.append(mu * M[k - 1] + (k - 1) * self.kappa * M[k - 2])
            w = np.exp(logmass - lnM)
            for k in range(1, 5):
                out[k - 1] = out[k - 1] + w * c**k * M[k]
        return out

    def sample(self, t: np.ndarray, rng) -> np.ndarray:
        """h drawn from the tilted densities at t (the side, then its truncated normal)."""
        (l1, *_), (l2, *_) = self._sides(t)
        upper = rng.random(t.shape) < np.exp(l1 - np.logaddexp(l1, l2))
        s = np.sqrt(self.kappa)
        mu = self.kappa * np.where(upper, self.c[0], self.c[1]) * t
        # standardised bounds of the side: (0, ∞) for +, (−∞, 0) for −
        edge = -mu / s
        lo = np.where(upper, edge, -np.inf)
        hi = np.where(upper, np.inf, edge)
        return mu + s * truncnorm.rvs(lo, hi, random_state=rng)


class ReadoutQuadrature:
    """The readout's marginal p_v(a) on a grid, for the pattern groups of one spec.

    ``labels``: a group per pattern (patterns of one group share κ and are
    exchangeable); ``V`` holds one row per group.
    """

    def __init__(self, spec, kappa: np.ndarray, labels: np.ndarray, readout: str = "auto"):
        self.alpha = spec.alpha
        self.s2 = spec.weight_variance
        G = labels.max() + 1
        self.n = np.bincount(labels, minlength=G).astype(float)
        self.kappa = np.array([kappa[labels == g][0] for g in range(G)])
        self.m = spec.y.shape[1]
        self.tables: dict[float, TiltTable | HomogeneousTilt] = {}
        self.homogeneous = _is_homogeneous(self.alpha)
        if readout not in ("auto", "grid", "polar", "condensate"):
            raise SolverInputError(f"readout integration {readout!r}: 'auto', 'grid', "
                                   "'polar' or 'condensate'")
        if readout in ("polar", "condensate") and not self.homogeneous:
            raise SolverInputError(f"the {readout} readout integration needs a positively "
                                   "homogeneous α (linear, ReLU)")
        if readout == "condensate" and not one_sided(self.alpha):
            raise SolverInputError(
                "the condensate readout needs a one-sided homogeneous α (ReLU: one slope "
                f"zero); this α has slopes {_slopes(self.alpha)}")
        #: may the integration switch to polar near the normalisability boundary
        self.switches = readout in ("auto", "condensate") and self.homogeneous
        #: the condensate limit: at the switch ("condensate") or on a polar stall ("auto")
        self.readout = readout
        self.polar = None
        if readout == "polar":
            self.use_polar()

    def use_polar(self) -> None:
        """Integrate in polar coordinates from now on (homogeneous α)."""
        tables = [self._table(k, 1.0) for k in self.kappa]
        self.polar = PolarIntegrator(tables, self.n, self.kappa, self.s2, self.m,
                                     _slopes(self.alpha), READOUT_GRID_TOLERANCE)

    def needle_text(self, V: np.ndarray) -> str:
        """Where p_v is close to not being normalisable: the margin and, per needle (a
        local maximum of the direction density), the groups that drive it."""
        q, peaks = direction_margin(V, self.n, self.kappa, self.s2, _slopes(self.alpha))
        parts = []
        for p in peaks[:3]:
            c = V @ p
            on = [int(g) for g in np.flatnonzero(_growth(c, _slopes(self.alpha)) > 0)]
            parts.append(f"groups {on} (patterns {int(sum(self.n[on]))})")
        return (f"direction margin min σ_a²q = {q:.3g}; the densest directions are driven "
                f"by {', '.join(parts)} — a needle of directions near the normalisability "
                "boundary whose small mass carries a large share of ⟨ψ⟩ "
                "(docs/models/bayesian.md, 'ReLU at P = 30')")

    def coordinates(self) -> RadialCoordinates | None:
        """The Newton coordinates of the polar integration (None on the grid: v itself)."""
        if self.polar is None:
            return None
        return RadialCoordinates(self.n, self.kappa, self.s2, _slopes(self.alpha))

    def margin(self, V: np.ndarray) -> float | None:
        """The direction margin min_â q(â) σ_a² (how far p_v is from not being
        normalisable) for a homogeneous α, else None."""
        if not self.homogeneous:
            return None
        return direction_margin(V, self.n, self.kappa, self.s2, _slopes(self.alpha))[0]

    def _table(self, kappa: float, t_max: float):
        table = self.tables.get(kappa)
        if table is None or not table.covers(t_max):
            if self.homogeneous:
                table = HomogeneousTilt(*_slopes(self.alpha), kappa)
            else:
                table = TiltTable(self.alpha, kappa, max(1.5 * t_max, 1.0))
            self.tables[kappa] = table
        return table

    # ------------------------------------------------------------------ the grid over a
    def _log_density(self, points: np.ndarray, V: np.ndarray) -> np.ndarray:
        """ln[N(a; 0, σ_a²) Π_μ M_μ(t_μ)] up to the Gaussian's constant, at points (n × m)."""
        ell = -0.5 * np.sum(points**2, axis=1) / self.s2
        t = points @ V.T                                     # n × groups
        for g in range(V.shape[0]):
            table = self._table(self.kappa[g], float(np.max(np.abs(t[:, g]))))
            ell += self.n[g] * table.log_m(t[:, g])
        return ell

    def _axes(self, lo, hi, size):
        return [np.linspace(lo[k], hi[k], size) for k in range(self.m)]

    def _points(self, axes):
        """The grid's points a = σ_a sinh(u) (n × m) and ln of the Jacobian Π σ_a cosh u_k:
        uniform in u, so the same grid resolves a core of width σ_a and tails far out."""
        mesh = np.meshgrid(*axes, indexing="ij")
        u = np.stack([x.ravel() for x in mesh], axis=1)
        s = np.sqrt(self.s2)
        return s * np.sinh(u), np.sum(np.log(s * np.cosh(u)), axis=1)

    def _box(self, V: np.ndarray):
        """A box in u (a = σ_a sinh u) on whose faces the density is below e^{−READOUT_FACE_DROP}
        of its peak: grown from |a| ≤ 6σ_a, then shrunk to where the mass is."""
        lo, hi = -np.arcsinh(6.0) * np.ones(self.m), np.arcsinh(6.0) * np.ones(self.m)
        size = 33
        for _ in range(40):
            axes = self._axes(lo, hi, size)
            points, jacobian = self._points(axes)
            ell = (self._log_density(points, V) + jacobian).reshape((size,) * self.m)
            peak = ell.max()
            grown = False
            for k in range(self.m):
                low = np.take(ell, 0, axis=k).max()
                high = np.take(ell, size - 1, axis=k).max()
                if low > peak - READOUT_FACE_DROP:
                    lo[k] -= 0.25 * (hi[k] - lo[k])
                    grown = True
                if high > peak - READOUT_FACE_DROP:
                    hi[k] += 0.25 * (hi[k] - lo[k])
                    grown = True
            if not grown:
                break
            if np.max(np.abs(np.concatenate([lo, hi]))) > np.arcsinh(READOUT_MAX_BOX):
                raise ConvergenceError("the single-neuron measure is not normalisable (or "
                                       f"its readout reaches beyond {READOUT_MAX_BOX:g} σ_a): "
                                       "σ_a²‖Vᵀα(h)‖² ≥ hᵀK⁻¹h along some direction")
        else:
            raise ConvergenceError("the box of the readout quadrature did not settle")
        # shrink each face to the last slab that holds mass
        keep = ell > peak - READOUT_FACE_DROP
        for k in range(self.m):
            other = tuple(j for j in range(self.m) if j != k)
            rows = np.flatnonzero(np.any(keep, axis=other))
            first, last = max(rows[0] - 1, 0), min(rows[-1] + 1, size - 1)
            ax = axes[k]
            lo[k], hi[k] = ax[first], ax[last]
        return lo, hi

    def integrate(self, V: np.ndarray, responses: np.ndarray | None = None) -> dict:
        """Z, ⟨ψ⟩ per group, the moments the solver needs, a sampler of a (``sample``):
        in polar coordinates for a homogeneous α, else on the grid. ``responses``: the
        class of each group — then also E[s] and E[s²] of the response energy
        (``response_s``, ``response_s2``; :func:`~.posterior_sampled.response_energy`),
        and the integration converges on them too."""
        if self.polar is not None:
            return self.polar.integrate(V, responses)
        lo, hi = self._box(V)
        size = 33
        while True:
            axes = self._axes(lo, hi, size)
            points, jacobian = self._points(axes)
            result = self._moments(points, jacobian, axes, V, responses)
            change = _readout_grid_change(result)
            if change < READOUT_GRID_TOLERANCE:
                break
            if (2 * size - 1) ** self.m > READOUT_MAX_POINTS:
                raise ConvergenceError(
                    "the readout quadrature did not converge within "
                    f"{READOUT_MAX_POINTS} points (m = {self.m}): the single-neuron measure "
                    "is too sharply peaked for a grid", residuals=[change])
            size = 2 * size - 1
        result["error"] = change
        result["size"] = size
        weights = result.pop("weights")
        result["sample"] = lambda rng, n: points[rng.choice(weights.size, size=n, p=weights)]
        return result

    def _moments(self, points, jacobian, axes, V, responses=None) -> dict:
        ell = self._log_density(points, V) + jacobian
        cell = np.prod([ax[1] - ax[0] for ax in axes])
        logw = ell + np.log(cell) - 0.5 * self.m * np.log(2 * np.pi * self.s2)
        lnZ = float(logsumexp(logw))
        w = np.exp(logw - lnZ)
        t = points @ V.T
        G = V.shape[0]
        D1, D2, H1, H2 = (np.empty_like(t) for _ in range(4))
        for g in range(G):
            _, D1[:, g], D2[:, g], H1[:, g], H2[:, g] = self._table(
                self.kappa[g], float(np.max(np.abs(t[:, g])))).values(t[:, g])
        wa = w[:, None] * points                                  # n × m
        A = points.T @ wa
        mean = D1.T @ wa                                          # groups × m: ⟨a_k D1_g⟩
        aa = points[:, :, None] * points[:, None, :] * w[:, None, None]   # n × m × m
        cross = np.einsum("ng,nh,nkl->gkhl", D1, D1, aa, optimize=True)  # E[a a D1_g D1_h]
        own = np.einsum("ng,nkl->gkl", D2, aa, optimize=True)            # E[a a D2_g]
        hh = np.einsum("n,ng,nh->gh", w, H1, H1)                         # E[H1_g H1_h]
        h2 = w @ H2                                                      # E[H2_g]
        # the subgrid (every other point) for the convergence check
        sub = np.ones((axes[0].size,) * self.m, dtype=bool)
        for k in range(self.m):
            index = [slice(None)] * self.m
            index[k] = slice(1, None, 2)
            sub[tuple(index)] = False
        out = {"lnZ": lnZ, "A": A, "mean": mean, "cross": cross, "own": own,
               "hh": hh, "h2": h2, "weights": w}
        energy = None
        if responses is not None:
            alpha_moments = np.stack([np.stack(self._table(
                self.kappa[g], float(np.max(np.abs(t[:, g])))).alpha_moments(t[:, g]))
                for g in range(G)], axis=1)                    # 4 × groups × n
            energy = np.stack(response_energy(alpha_moments, self.n, responses, self.m),
                              axis=1)                           # n × 2
            out["response_s"], out["response_s2"] = w @ energy
        extra = [] if energy is None else [w @ energy]
        out["check"] = np.concatenate([[lnZ], A.ravel(), mean.ravel(), *extra])
        out["sub"] = _readout_subgrid(logw, points, D1, sub, energy)
        return out


def _readout_subgrid(logw, points, D1, sub, energy=None):
    """lnZ, A and ⟨ψ⟩ (and E s, E s² where given) from every other point (step 2h): the
    grid's convergence check."""
    lw = logw[sub.ravel()] + points.shape[1] * np.log(2.0)
    lnZ = float(logsumexp(lw))
    ws = np.exp(lw - lnZ)
    p = points[sub.ravel()]
    A = p.T @ (ws[:, None] * p)
    mean = D1[sub.ravel()].T @ (ws[:, None] * p)
    extra = [] if energy is None else [ws @ energy[sub.ravel()]]
    return np.concatenate([[lnZ], A.ravel(), mean.ravel(), *extra])


def _readout_grid_change(result) -> float:
    """The largest relative difference of ln Z, A and ⟨ψ⟩ between the grid and its
    every-other-point subgrid (the grid of half the resolution in the same box)."""
    scale = np.maximum(np.abs(result["check"]), 1.0)
    return float(np.max(np.abs(result["check"] - result["sub"]) / scale))


def _exchangeable_groups(kappa: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A label per pattern: patterns with equal κ and target row share one."""
    keys = np.column_stack([kappa, y])
    _, labels = np.unique(keys, axis=0, return_inverse=True)
    return labels.ravel()


def _readout_objective(quad: ReadoutQuadrature, V, Yg, T, result) -> float:
    n = quad.n[:, None]
    return float(np.sum(n * (0.5 * T * V**2 - V * Yg)) + result["lnZ"])


def solve_posterior_quadrature(spec, grid=None, options=None) -> dict:
    """``options``: ``iterations`` (60 Newton steps at most), ``tolerance`` (1e-9: the
    saddle-point residual max|⟨ψ⟩ − y + T v| that ends Newton), ``samples`` (20000 draws of
    (a, h) per replica for the codes and the prediction), ``replicas`` (4), ``seed``,
    ``readout`` ("auto": the grid, polar near the normalisability boundary of a homogeneous
    α; "grid"; "polar").
    Returns the observables, ``codes``, ``scheme``, ``stderr`` and ``info``."""
    options = dict(options or {})
    kappa = diagonal_kernel(spec)
    if kappa is None:
        raise SolverInputError("the readout quadrature needs mutually orthogonal training "
                               "inputs (a diagonal prior kernel K)")
    if spec.offset is not None:
        raise SolverInputError("the readout quadrature takes ψ = α(h)·a")
    Y, T = spec.y, spec.temperature
    m = Y.shape[1]
    if m > MAX_READOUTS:
        raise SolverInputError(f"the readout quadrature takes at most {MAX_READOUTS} "
                               f"readouts (a grid over a in m dimensions); this network has "
                               f"{m}")
    classes = classes_of(Y)
    labels = _exchangeable_groups(kappa, Y)
    quad = ReadoutQuadrature(spec, kappa, labels, str(options.get("readout", "auto")))
    G = labels.max() + 1
    Yg = np.array([Y[labels == g][0] for g in range(G)])
    tolerance = float(options.get("tolerance", 1e-9))
    # start: linear response about the prior (⟨α α⟩₀ is diagonal plus the squared mean)
    table0 = [quad._table(k, 1.0) for k in quad.kappa]
    m1 = np.array([float(t.values(np.zeros(1))[1][0]) for t in table0])
    m2 = np.array([float(t.values(np.zeros(1))[2][0]) for t in table0])
    C0 = np.diag(quad.n * (m2 - m1**2)) + np.outer(quad.n * m1, quad.n * m1)
    V = linalg.lstsq(quad.s2 * C0 + (T + 1e-9) * np.diag(quad.n), quad.n[:, None] * Yg)[0]
    for _halving in range(60):
        try:
            r = quad.integrate(V)
            if np.max(np.abs(r["mean"])) <= 2 * np.max(np.abs(Y)):
                break
        except ConvergenceError:
            pass
        V = V / 2
    else:
        raise ConvergenceError("no normalisable start for the readout quadrature")
    F = _readout_objective(quad, V, Yg, T, r)
    history, damped = [], []
    # polar integration: Newton in the radial coordinates w (the barrier at each group's
    # bound smoothed); F is not convex in w, so the Hessian's eigenvalues enter by modulus
    coords = quad.coordinates()
    W = None if coords is None else coords.to_w(V)
    switched, refused = None, None
    if quad.polar is None and quad.switches and quad.margin(V) < READOUT_POLAR_SWITCH:
        if quad.readout == "condensate":
            try:
                return _condensate(spec, quad, V, Yg, T, labels, classes, history,
                                   options, tolerance, switched=0)
            except ConvergenceError as error:   # not condensed here: the polar route
                refused = str(error)
        r, F, coords, W = _switch_to_polar(quad, V, Yg, T)
        switched = 0
    for _ in range(int(options.get("iterations", 60))):
        grad, H = readout_gradient_hessian(quad.n, V, Yg, T, r)
        residual = float(np.max(np.abs(grad / quad.n[:, None])))
        history.append(residual)
        if residual < tolerance:
            break
        if coords is None:
            step = linalg.lstsq(H, grad.ravel())[0].reshape(V.shape)
        else:
            grad, H = coords.newton_system(W, grad, H)
            lam, U = linalg.eigh(H)
            lam = np.maximum(np.abs(lam), 1e-12 * np.max(np.abs(lam)))
            step = (U @ ((U.T @ grad.ravel()) / lam)).reshape(V.shape)
        slope = -float(grad.ravel() @ step.ravel())
        # backtracking starts at 4× the last accepted damping: near the normalisability
        # boundary the long steps fail again, and each failed grid costs seconds
        damping = min(1.0, 4.0 * damped[-1]) if damped else 1.0
        margin = None if quad.polar is None else quad.margin(V)
        for _backtrack in range(40):
            try:
                trial = V - damping * step if coords is None else coords.to_v(
                    W - damping * step)
                # fraction to the boundary: a step may bring the direction margin
                # (polar integration) at most 4× closer to where p_v stops being
                # normalisable — the barrier ln Z ~ −½ ln q is far from its quadratic model
                if margin is not None and quad.margin(trial) < margin / 4:
                    damping /= 2
                    continue
                r_new = quad.integrate(trial)
                F_new = _readout_objective(quad, trial, Yg, T, r_new)
                if F_new <= F + 1e-4 * damping * slope or (damping < 1e-3 and F_new <= F):
                    break
            except ConvergenceError:
                pass
            damping /= 2
        else:
            raise ConvergenceError("the readout quadrature's Newton step found no descent "
                                   f"(residual {residual:.3g})", residuals=history)
        if coords is not None:
            W = W - damping * step
        V, r, F = trial, r_new, F_new
        damped.append(damping)
        if quad.polar is None and quad.switches and quad.margin(V) < READOUT_POLAR_SWITCH:
            if quad.readout == "condensate":
                try:
                    return _condensate(spec, quad, V, Yg, T, labels, classes, history,
                                       options, tolerance, switched=len(history))
                except ConvergenceError as error:   # not condensed here: the polar route
                    refused = str(error)
            r, F, coords, W = _switch_to_polar(quad, V, Yg, T)
            switched = len(history)
            damped = []         # the grid's damped steps do not count towards a stall
        polar_steps = len(history) - (switched or 0)
        if quad.polar is not None and polar_steps > 2 * READOUT_STALL and (
                history[-1] > 0.9 * history[-1 - 2 * READOUT_STALL]):
            stall = ConvergenceError(
                f"the readout quadrature's Newton steps stall (polar integration: the "
                f"residual {residual:.3g} is not below 0.9× its value {2 * READOUT_STALL} "
                f"steps earlier): "
                f"{quad.needle_text(V)}", residuals=history)
            if quad.readout != "auto" or not one_sided(quad.alpha):
                raise stall
            # the needles condense (docs/models/bayesian.md): their limit, from here
            try:
                return _condensate(spec, quad, V, Yg, T, labels, classes, history,
                                   options, tolerance, switched=switched, stall=str(stall))
            except ConvergenceError as error:
                raise ConvergenceError(f"{stall}; then the condensate limit: {error}",
                                       residuals=history) from None
        if (quad.polar is None and len(damped) >= READOUT_STALL
                and max(damped[-READOUT_STALL:]) < 1 / 32):
            raise ConvergenceError(
                f"the readout quadrature's Newton steps stall ({READOUT_STALL} steps damped below "
                f"1/32, residual {residual:.3g}): the saddle point lies close to where the "
                "single-neuron measure stops being normalisable, whose heavy tails a grid "
                "over the readout does not resolve", residuals=history)
    else:
        raise ConvergenceError(f"the readout quadrature's Newton iteration did not reach the "
                               f"residual {tolerance:g} (last {history[-1]:.3g})",
                               residuals=history)
    out = _readout_observables(spec, quad, V, r, labels, classes, history, options)
    out["info"]["grid"]["switched_to_polar"] = switched
    if refused is not None:
        out["info"]["condensate"] = {"refused": refused}
    return out


def _condensate(spec, quad, V, Yg, T, labels, classes, history, options, tolerance,
                switched, stall=None):
    """The saddle point in the condensate limit from V (:mod:`.readout_condensate`) and
    its observables."""
    V, W, pinned, r, steps, cond = solve_condensate(quad, V, Yg, T, tolerance,
                                                    READOUT_GRID_TOLERANCE)
    history = list(history) + steps
    out = _readout_observables(spec, quad, V, r, labels, classes, history, options,
                               condensate=(cond, V, W, pinned))
    out["info"]["grid"]["switched_to_polar"] = switched
    margins = cond.implied_margin(W, r["lnZ"])
    out["info"]["condensate"] = {
        "weights": W.tolist(), "pinned": pinned.tolist(), "cap": cond.cap,
        "implied_margin": [float(q) if p and np.isfinite(q) else None
                           for q, p in zip(margins, pinned, strict=True)],
        "newton_steps": len(steps), "after": stall}
    return out


def _switch_to_polar(quad, V, Yg, T):
    """Close to the normalisability boundary a grid over a stops resolving p_v: the
    integration continues in polar coordinates from V (the same integrals, so F and the
    residual carry on), and Newton in the radial coordinates."""
    quad.use_polar()
    r = quad.integrate(V)
    coords = quad.coordinates()
    return r, _readout_objective(quad, V, Yg, T, r), coords, coords.to_w(V)


def _readout_full_moments(quad, V, r, labels):
    """⟨ψ⟩ (P × m) and Cov ψ ((P m) × (P m)) on every pattern from the group moments."""
    mean = r["mean"][labels]
    P, m = mean.shape
    second = r["cross"][labels][:, :, labels, :].copy()      # P × m × P × m
    idx = np.arange(P)
    second[idx, :, idx, :] = r["own"][labels]
    flat = mean.reshape(-1)
    return mean, second.reshape(P * m, P * m) - np.outer(flat, flat)


def _readout_observables(spec, quad, V_groups, r, labels, classes, history, options,
                         condensate=None) -> dict:
    m = V_groups.shape[1]
    V = V_groups[labels]
    mean, cov = _readout_full_moments(quad, V_groups, r, labels)
    S = r["hh"][labels][:, labels].copy()
    np.fill_diagonal(S, r["h2"][labels])
    # the coding participation ρ = (E s)²/E s² exactly: one more integration at the
    # solution that also converges on the response energy (its far tail is where a sparse
    # code lives, which draws of a would rarely reach)
    group_class = np.array([classes[labels == g][0] for g in range(V_groups.shape[0])])
    exact = {"readout_second_moment": r["A"], "kernel_posterior": S}
    try:
        if condensate is not None and np.any(condensate[2] > 0):
            # the condensate carries response energy on no mass: E s² = ∞
            rho, rho_source = 0.0, ("exact: 0 in the condensate limit (a vanishing "
                                    "fraction of neurons carries a finite E s, E s² = ∞)")
        else:
            energy = (quad.integrate(V_groups, responses=group_class) if condensate is None
                      else condensate[0].core.integrate(V_groups, group_class,
                                                        condensate[3]))
            rho = float(energy["response_s"] ** 2 / energy["response_s2"])
            rho_source = "exact"
        exact["coding_participation"] = rho
    except ConvergenceError as error:
        # a converged saddle point is not thrown away for its sparseness measure: ρ from
        # the draws below (which miss a far tail: an upper bound in effect), said so
        rho, rho_source = None, f"from the draws (the exact integral failed: {error})"
    odd = _is_odd(quad.alpha)
    seed = int(options.get("seed", spec.seed))
    samples = int(options.get("samples", 20000))
    replicas = int(options.get("replicas", 4))
    runs = []
    for k in range(replicas):
        rng = np.random.default_rng(seed + 7919 * k)
        a = r["sample"](rng, samples)
        t = a @ V.T                                               # samples × P
        h = np.empty_like(t)
        for g in range(V_groups.shape[0]):
            cols = labels == g
            h[:, cols] = quad._table(quad.kappa[g], float(np.max(np.abs(t[:, cols])))
                                     ).sample(t[:, cols], rng)
        al = quad.alpha(h)
        responses = np.stack([al[:, classes == c].mean(axis=1) for c in range(m)], axis=1)
        patterns, fractions, scheme = codes_of(responses, odd, rho)
        run = {"codes": dict(zip(map(tuple, patterns), fractions, strict=True)),
               "scheme": scheme, "coding_participation": participation(responses)}
        if spec.test is not None and condensate is None:
            run["prediction"] = _sampled_prediction(spec, _ReadoutNeuron(quad), h, V, mean, cov)
        elif spec.test is not None:
            # the core's share from the drawn a themselves: E[a | h] of the uncapped
            # Gaussian would count the needle beyond the cap, which is the condensate's
            core = alpha_at_test_inputs(spec, quad.alpha, h)[0].T @ a / a.shape[0]
            run["prediction"] = {"mean": core + _condensate_prediction(
                spec, quad, labels, *condensate)}
        runs.append(run)
    out, err = combine_replicas(runs)
    out.update(exact)
    err.update({key: np.zeros_like(value) if np.ndim(value) else 0.0
                for key, value in exact.items()})
    out["stderr"] = err
    out["info"] = {"iterations": len(history), "residual": history[-1],
                   "grid": {"size": int(r["size"]), "readouts": m,
                            "integration": "grid" if quad.polar is None else "polar",
                            "quadrature_change": r["error"]},
                   "groups": int(V_groups.shape[0]), "samples": samples, "replicas": len(runs),
                   "exact": list(exact), "coding_participation": rho_source,
                   "rule": CODE_RULE}
    if condensate is not None:
        out["info"]["grid"]["integration"] = "condensate"
        if spec.test is not None:
            out["info"]["prediction"] = (
                "mean only: the condensate's share of the mean is exact, N·Var is not "
                "derived in the condensate limit (docs/models/bayesian.md)")
    return out


def _condensate_prediction(spec, quad, labels, cond, V, W, pinned) -> np.ndarray:
    """The condensate's share of the mean prediction, Σ_g W_g s û_g α(s κ_g c ρ_g π_g*):
    on needle g the own patterns' h_μ ≈ s κ_g c ρ_g r and h* ≈ Σ_μ (k*ᵀK⁺)_μ h_μ, so
    a α(h*) = s r û α(s κ c ρ π r) grows like r² (α homogeneous; s the needle's side)."""
    c, side = needle_side(_slopes(quad.alpha))
    kstar, _ = spec.test_kernels()
    proj = kstar @ linalg.pinvh(spec.kernel)                    # P* × P
    G = V.shape[0]
    U = V / np.linalg.norm(V, axis=1, keepdims=True)
    pi = np.stack([proj[:, labels == g].sum(axis=1) for g in range(G)], axis=1)  # P* × G
    arg = side * quad.kappa[None, :] * c * cond.rho[None, :] * pi
    return side * np.einsum("g,pg,gk->pk", W, quad.alpha(arg), U)


class _ReadoutNeuron:
    """What the shared prediction code reads of a single neuron: α and σ_a²."""

    def __init__(self, quad):
        self.alpha, self.s2 = quad.alpha, quad.s2


@register_runtime("posterior_quadrature",
                  applies=lambda spec: (spec.gamma == 1.0 and spec.offset is None
                                        and spec.y.shape[1] <= MAX_READOUTS
                                        and diagonal_kernel(spec) is not None),
                  priority=60, needs=lambda problem: False, kind="posterior")
def _solve_quadrature(spec, grid=None, options=None) -> dict:
    return solve_posterior_quadrature(spec, grid, options)
