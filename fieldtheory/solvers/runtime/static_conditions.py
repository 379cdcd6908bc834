r"""The scalar conditions of stationary DMFT: Δ0, Δ∞, m of one branch (no τ lattice).

The potential picture (Crisanti & Sompolinsky, PRE 98, 062120 (2018)): Δ'' = −∂V/∂Δ with
V(Δ; Δ0) = −Δ²/2 + g² E[Φ(u)Φ(v)], the plateau Δ∞ = g² C_φ(Δ∞; Δ0) and energy
conservation D²/8 + V(Δ0) = V(Δ∞) (Δ'(0⁺) = −D/2); the fixed point Δ0 = Δ∞ = g² E[φ²].

Two ways to evaluate the pair expectations, one interface (:class:`_Model`):

* :class:`_SeriesModel` (analytic φ, the default): one Hermite projection per (Δ0, μ)
  (:func:`hermite_coefficients`) makes C_φ, C_d = ∂C_φ/∂Δ and E[Φ(u)Φ(v)] power series in
  r = Δ/Δ0 — no antiderivative Φ, no 2-D quadrature;
* :class:`_Model` (kinks: ReLU, |x|, Θ): 2-D quadrature (:func:`gaussian_pair_mean`) with
  Φ from :func:`antiderivative`.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    ConvergenceError,
    SolverInputError,
)
from fieldtheory.solvers.runtime.quadrature import (  # inlined by the code generator
    STRIP,
    gaussian_mean,
    gaussian_pair_mean,
    hermite_coefficients,
    hermite_coefficients_many,
)

__all__ = ["StaticSolution", "antiderivative", "power_series", "solve_static"]


def antiderivative(phi, panel: float = 0.5, order: int = 20):
    r"""Φ(x) = ∫₀ˣ φ(y) dy as a vectorised callable (composite Gauss–Legendre).

    Whole panels [k·panel, (k+1)·panel] are summed cumulatively; the remainder gets its own
    Gauss–Legendre rule. For φ analytic in |Im y| < π/2 each panel is exact to round-off.
    """
    t, wt = np.polynomial.legendre.leggauss(order)
    t, wt = 0.5 * (t + 1.0), 0.5 * wt

    def segment(a, b):
        return (b - a) * (phi(a[..., None] + (b - a)[..., None] * t) @ wt)

    def Phi(x):
        x = np.asarray(x, dtype=float)
        k = np.floor(np.abs(x) / panel)
        kmax = int(k.max(initial=0.0))
        edges = panel * np.arange(kmax + 1.0)
        up = np.concatenate([[0.0], np.cumsum(segment(edges[:-1], edges[1:]))])
        down = np.concatenate([[0.0], np.cumsum(segment(-edges[:-1], -edges[1:]))])
        index = k.astype(int)
        start = np.sign(x) * panel * k
        whole = np.where(x >= 0, up[index], down[index])
        return whole + segment(start, x)

    return Phi



@dataclass(frozen=True)
class StaticSolution:
    """Scalar order parameters of one branch (continuum values, no τ lattice).

    ``branch`` is ``"fixed_point"`` (Δ0 = Δ∞, no temporal fluctuations) or
    ``"fluctuating"`` (chaotic for D = 0, noise-driven otherwise).
    """

    branch: str
    delta0: float
    delta_inf: float
    mean: float
    mean_phi: float
    mean_gain: float
    mean_gain_squared: float


class _Model:
    """The callables and parameters of one single-site problem (internal)."""

    def __init__(self, phi, dphi, Phi, g, J0, I, D, strip):
        self.phi, self.dphi, self._Phi = phi, dphi, Phi
        self.g, self.J0, self.I, self.D, self.strip = float(g), float(J0), float(I), float(D), strip

    @property
    def Phi(self):
        """Φ (Φ' = φ): the caller's, else :func:`antiderivative` of φ, built when first
        needed (the series model never needs it)."""
        if self._Phi is None:
            self._Phi = antiderivative(self.phi)
        return self._Phi

    def magnetisation(self, delta0: float, m_guess: float) -> tuple[float, float]:
        """(μ, m) with m = E[φ(u)], u ~ N(J0 m + I, Δ0): the stable root nearest m_guess.

        A few plain iterations move m_guess towards a stable root; then the nearest root in
        the direction in which m − E[φ] points downhill is bracketed on geometrically
        growing distances (one vectorised evaluation) and refined by Brent's method, which
        stays robust at the magnetic transition, where Newton's method stalls.
        """
        def residual(m):
            m = np.asarray(m, dtype=float)
            return gaussian_mean(lambda v: self.phi(self.J0 * m[..., None] + v),
                                 self.I, delta0, self.strip) - m

        if self.J0 == 0.0:
            return self.I, float(residual(np.array([0.0]))[0])
        def scalar(x):
            return float(residual(np.array([x]))[0])

        m = float(m_guess)
        for _ in range(20):
            m = m + scalar(m)
        start = scalar(m)
        if abs(start) <= 1e-14 * max(abs(m), 1.0):
            return self.J0 * m + self.I, m
        points = m + math.copysign(1.0, start) * max(abs(m), 1.0) * 2.0 ** np.arange(-40, 11)
        values = residual(points)
        flips = np.flatnonzero(np.sign(values) != math.copysign(1.0, start))
        if not flips.size:
            raise ConvergenceError(f"magnetisation: no root of m = E[φ] near {m_guess}")
        ends = (m if flips[0] == 0 else points[flips[0] - 1], points[flips[0]])
        # a doubling step may jump over several roots (m*, 0, −m* near the magnetic
        # transition): subdivide to the first sign change, twice
        for _ in range(2):
            inner = np.linspace(ends[0], ends[1], 65)
            flips = np.flatnonzero(np.sign(residual(inner)) != math.copysign(1.0, start))
            if flips.size and flips[0] > 0:
                ends = (inner[flips[0] - 1], inner[flips[0]])
        # the scan and the scalar calls may round differently: re-check the bracket
        signs = [scalar(x) for x in ends]
        if signs[0] * signs[1] > 0:
            root = ends[int(abs(signs[1]) < abs(signs[0]))]
        else:
            root = optimize.brentq(scalar, *sorted(ends), xtol=1e-16, rtol=1e-15)
        return self.J0 * root + self.I, float(root)

    def c_phi(self, delta, delta0, mean):
        return gaussian_pair_mean(self.phi, self.phi, mean, delta0, delta, self.strip)

    def c_gain(self, delta, delta0, mean):
        return gaussian_pair_mean(self.dphi, self.dphi, mean, delta0, delta, self.strip)

    def potential(self, delta, delta0, mean):
        pair = gaussian_pair_mean(self.Phi, self.Phi, mean, delta0, delta, self.strip)
        return -0.5 * np.asarray(delta) ** 2 + self.g**2 * pair

    def plateau(self, delta0: float, mean: float) -> float | None:
        r"""Smallest root of h(Δ) = g² C_φ(Δ; Δ0) − Δ in [0, Δ0] (h is convex); None if none."""
        g2 = self.g**2

        def h(d):
            return g2 * float(self.c_phi(d, delta0, mean)) - d

        def slope(d):
            return g2 * float(self.c_gain(d, delta0, mean)) - 1.0

        h0 = h(0.0)
        if slope(0.0) >= 0.0:
            return 0.0 if h0 <= 1e-15 * max(delta0, 1.0) else None
        if h0 <= 1e-15 * max(delta0, 1.0):
            return 0.0
        lowest = delta0 if slope(delta0) <= 0.0 else optimize.brentq(slope, 0.0, delta0,
                                                                    xtol=1e-14)
        if h(lowest) > 0.0:
            return None
        return optimize.brentq(h, 0.0, lowest, xtol=1e-15, rtol=1e-15)

    def energies(self, grid, m_guess: float) -> list:
        """:meth:`energy` at the points of ``grid`` that a batch can give, None elsewhere
        (evaluated one by one, when needed); here: none."""
        return [None] * len(grid)

    def energy(self, delta0: float, m_guess: float) -> float:
        """D²/8 + V(Δ0) − V(Δ∞) (positive: the particle overshoots the plateau)."""
        mean, _ = self.magnetisation(delta0, m_guess)
        plateau = self.plateau(delta0, mean)
        target = 0.0 if plateau is None else plateau
        v = self.potential(np.array([delta0, target]), delta0, mean)
        return self.D**2 / 8 + float(v[0] - v[1])

    def static(self, branch: str, delta0: float, delta_inf: float, m_guess: float):
        mean, m = self.magnetisation(delta0, m_guess)
        var = max(delta0, 0.0)
        gain = float(gaussian_mean(self.dphi, mean, var, self.strip))
        gain2 = float(gaussian_mean(lambda x: self.dphi(x) ** 2, mean, var, self.strip))
        return StaticSolution(branch, delta0, delta_inf, mean, m, gain, gain2)


def _fixed_point(model: _Model, m_guess: float) -> StaticSolution:
    r"""Static solution Δ0 = Δ∞ = g² E[φ(u)²] (largest root), u ~ N(μ, Δ0)."""
    g2 = model.g**2

    def excess(d):
        mean, _ = model.magnetisation(d, m_guess)
        return g2 * float(gaussian_mean(lambda x: model.phi(x) ** 2, mean, d, model.strip)) - d

    top = max(1.0, g2)
    while excess(top) > 0:
        top *= 2.0
        if top > 1e8:
            raise ConvergenceError("fixed point: g² E[φ²] grows faster than Δ0 (unbounded φ "
                                   "with g ≥ 1 has no static solution)")
    bracket, _ = _first_crossing(excess, top * np.logspace(0, -12, 61))
    delta0 = 0.0
    if bracket is not None:
        delta0 = optimize.brentq(excess, *sorted(bracket), xtol=1e-15, rtol=1e-15)
    return model.static("fixed_point", delta0, delta0, m_guess)


def _first_crossing(f, grid):
    """The first neighbours (a, b) of ``grid`` with f(a) ≤ 0 < f(b) or f(a) > 0 ≥ f(b),
    as the sign of f at the grid's start says, evaluated lazily; (None, values) if none."""
    values = [f(grid[0])]
    rising = values[0] <= 0.0
    for k in range(1, len(grid)):
        values.append(f(grid[k]))
        if (values[-1] > 0.0) if rising else (values[-1] <= 0.0):
            return (grid[k - 1], grid[k]), values
    return None, values


def _fluctuating(model: _Model, m_guess: float, upper: float) -> StaticSolution:
    """Δ0 from the energy condition: first sign change (+ → −) on a geometric scan."""
    top = max(upper, 1e-3)
    for _ in range(40):
        deficit = model.energy(top, m_guess)
        if deficit < 0:
            break
        top *= 2.0
    else:
        raise ConvergenceError("energy condition: no Δ0 with an energy deficit up to "
                               f"{top:.3g}")
    # one evaluation per point: the scan's (batched where the model can), the brackets'
    known = {top: deficit}

    def energy(d):
        if d not in known:
            (value,) = model.energies([d], m_guess)
            known[d] = model.energy(d, m_guess) if value is None else value
        return known[d]

    grid = top * np.logspace(-8, 0, 33)
    grid[-1] = top
    for d, value in zip(grid, model.energies(grid, m_guess), strict=True):
        if value is not None:
            known.setdefault(d, value)
    bracket, values = _first_crossing(energy, grid)
    if values[0] <= 0.0:  # no energy surplus at small Δ0: look for its first appearance
        bracket, more = _first_crossing(energy, grid[len(values) - 1:]) if bracket else (
            None, [])
        values += more
    if bracket is None:
        raise ConvergenceError("energy condition has no root: no fluctuating branch",
                               values)
    delta0 = optimize.brentq(energy, *bracket, xtol=1e-15, rtol=1e-15)
    mean, m = model.magnetisation(delta0, m_guess)
    plateau = model.plateau(delta0, mean)
    if plateau is None or (model.D == 0 and plateau >= delta0 * (1 - 1e-9)):
        raise ConvergenceError(f"energy root Δ0 = {delta0:.6g} has no plateau below it")
    return model.static("fluctuating", delta0, plateau, m)


def solve_static(phi, dphi, g, *, J0=0.0, I=0.0, D=0.0, Phi=None, branch="auto",
                 m_guess=None, strip=STRIP, series=True
                 ) -> tuple[StaticSolution, StaticSolution | None]:
    r"""The branch selected and the fixed point (None when D > 0): scalar conditions only.

    ``branch="auto"``: for D = 0 the fixed point if it is stable, g²⟨φ'²⟩ < 1 (means
    included), else the chaotic branch; for D > 0 the noise-driven stationary state.
    ``series``: pair expectations from Hermite series (:class:`_SeriesModel`; raises
    :class:`SeriesDivergence` for kinks), else from 2-D quadrature with Φ.
    """
    if branch not in ("auto", "fixed_point", "fluctuating", "chaotic"):
        raise SolverInputError(f"unknown branch {branch!r}: use auto, fixed_point or chaotic")
    model = _SeriesModel(phi, dphi, Phi, g, J0, I, D, strip) if series else _Model(
        phi, dphi, Phi, g, J0, I, D, strip)
    if m_guess is None:
        # a seed off m = 0, so that an unstable paramagnet (J0⟨φ'⟩ > 1) flows to the
        # magnetised root (of the sign of I; + when I = 0: the −m root is its mirror image)
        m_guess = float(phi(np.array(float(I)))) if J0 else 0.0
        if J0 and abs(m_guess) < 1e-3:
            m_guess = math.copysign(1e-3, float(I) if I else 1.0)
    fixed = _fixed_point(model, m_guess) if D == 0 else None
    # at the marginal point g²⟨φ'²⟩ = 1 the fluctuating branch merges with the fixed
    # point (Δ0 → 0 as g → 1⁺), so the fixed point is taken there (λ_max = 0)
    if branch == "fixed_point" or (branch == "auto" and fixed is not None
                                   and model.g**2 * fixed.mean_gain_squared <= 1 + 1e-12):
        if fixed is None:
            raise ConvergenceError("with noise (D > 0) there is no fixed point")
        return fixed, fixed
    upper = fixed.delta0 if fixed is not None and fixed.delta0 > 0 else max(1.0, g**2)
    return _fluctuating(model, m_guess, upper + model.D), fixed


def power_series(coefficients, r):
    """Σ_n c_n rⁿ for |r| ≤ 1, vectorised over ``r`` (a Vandermonde product, in chunks)."""
    r = np.asarray(r, dtype=float)
    flat = r.ravel()
    out = np.empty(flat.shape)
    size = len(coefficients)
    chunk = max(1, 1_000_000 // size)
    for start in range(0, flat.size, chunk):
        part = flat[start:start + chunk, None]
        powers = np.cumprod(np.broadcast_to(part, (part.shape[0], size)), axis=1)
        out[start:start + chunk] = coefficients[0] + powers[:, :-1] @ coefficients[1:]
    return out.reshape(r.shape)


class _SeriesModel(_Model):
    r"""Pair expectations as power series in r = Δ/Δ0 (Mehler's formula).

    With b_n the Hermite coefficients of φ at (μ, Δ0) and c_n = b_n²:
    C_φ = Σ c_n rⁿ, C_d = Σ n c_n r^{n−1}/Δ0, E[Φ(u)Φ(v)] = E[Φ]² + Δ0 Σ c_n r^{n+1}/(n+1)
    (He_n coefficients of Φ are σ b_{n−1}/√n, by Stein's lemma). The constant E[Φ]²
    drops out of every potential difference.
    """

    def __init__(self, *args):
        super().__init__(*args)
        self.cache = {}

    def squares(self, delta0: float, mean: float) -> np.ndarray:
        """c_n = b_n² at (Δ0, μ) (one projection per pair, reused within this solve)."""
        key = (float(delta0), float(mean))
        if key not in self.cache:
            self.cache[key] = hermite_coefficients(self.phi, mean, delta0, self.strip) ** 2
        return self.cache[key]

    def energies(self, grid, m_guess: float) -> list:
        """:meth:`energy` on a scan ``grid`` in one pass where it is exact to rounding:
        J0 = 0 (the mean is I at every Δ0), one Hermite projection per basis
        (:func:`hermite_coefficients_many`, kept for later calls), and a plateau that
        :meth:`plateau`'s end-point tests settle without a root search (0 or none: the
        potential difference is then V(Δ0) − V(0)). None at the other points."""
        out: list = [None] * len(grid)
        if self.J0 != 0.0:
            return out
        mean, g2 = self.I, self.g**2
        for k, (delta0, b) in enumerate(zip(grid, hermite_coefficients_many(
                self.phi, mean, grid, self.strip), strict=True)):
            if b is None or not delta0 > 0:
                continue
            c = b * b
            self.cache[(float(delta0), float(mean))] = c
            h0 = g2 * c[0]
            slope0 = g2 * (c[1] if c.size > 1 else 0.0) / delta0 - 1.0
            settled = h0 <= 1e-15 * max(delta0, 1.0)
            if not (settled or slope0 >= 0.0):
                continue  # a positive plateau: Brent's method, one point at a time
            integral = c / np.arange(1, c.size + 1)  # Σ c_n/(n+1): E[Φ(u)Φ(v)] at r = 1
            v0 = -0.5 * delta0**2 + g2 * delta0 * float(integral[0] + integral[1:].sum())
            out[k] = self.D**2 / 8 + v0
        return out

    def c_phi(self, delta, delta0, mean):
        if delta0 <= 0:
            return super().c_phi(delta, delta0, mean)
        return power_series(self.squares(delta0, mean), np.asarray(delta) / delta0)

    def c_gain(self, delta, delta0, mean):
        if delta0 <= 0:
            return super().c_gain(delta, delta0, mean)
        c = self.squares(delta0, mean)
        slope = np.arange(1, c.size) * c[1:]
        if slope.size == 0:
            return np.zeros(np.shape(delta))
        return power_series(slope, np.asarray(delta) / delta0) / delta0

    def potential(self, delta, delta0, mean):
        c = self.squares(delta0, mean)
        r = np.asarray(delta, dtype=float) / delta0
        integral = r * power_series(c / np.arange(1, c.size + 1), r)
        return -0.5 * np.asarray(delta) ** 2 + self.g**2 * delta0 * integral
