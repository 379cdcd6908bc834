r"""Δ(τ) and λ_max of the one-φ stationary site from the energy integral (analytic φ).

With C_φ(Δ) = Σ c_n rⁿ (r = Δ/Δ0, :func:`hermite_coefficients` squared) the lag equation
Δ'' = −V'(Δ) has the first integral Δ'²/2 = W(Δ) := V(Δ∞) − V(Δ) (for D > 0 the energy
condition gives W(Δ0) = D²/8, the kick Δ'(0⁺) = −D/2), so

.. math:: \tau(\Delta) = \int_\Delta^{\Delta_0} \frac{dx}{\sqrt{2 W(x)}} .

Substituting Δ = Δ∞ + a e^{−φ²} (a = Δ0 − Δ∞) makes the integrand smooth at both ends:
the turning point Δ0 (W ∝ φ² when D = 0) and the approach to the plateau (τ ≈ φ²/κ∞).
W is evaluated without cancellation in two forms, both polynomials in r:

* near Δ∞: W = ε² [½ − g² q₂(r)/Δ0], ε = Δ − Δ∞, q₂ the second divided difference of
  P(r) = Σ c_n r^{n+1}/(n+1) at r∞ (synthetic division of a series with non-negative
  coefficients: no cancellation; the plateau condition removes the linear term exactly);
* near Δ0: W = D²/8 + Δ0(1 − r)[g² E(r) − Δ0(1 + r)/2], E_j = Σ_{m≥j} c_m/(m+1).

τ(φ) is a Chebyshev series in φ; Δ on any τ grid follows by Newton's method on it, and
beyond φ_max (Δ − Δ∞ ≤ 1e-22 a) by the linear tail e^{−κ∞τ}. λ_max is the ground state of
H = −∂τ² + 1 − g² C_d(τ) on lattices of steps h, h/2, h/4 (reflecting ends), Richardson
extrapolated to O(h⁶); the finer ground states by inverse iteration from the coarser.
"""

import math

import numpy as np
from numpy.polynomial import chebyshev
from scipy import fft, interpolate, linalg

from fieldtheory.solvers.runtime.static_conditions import (  # inlined by the code generator
    power_series,
)

__all__ = ["LagProfile", "lattice_ground_state", "lyapunov_richardson"]

#: φ_max² of the profile: beyond, Δ − Δ∞ = a e^{−φ²} ≤ 2e-22 a follows the linear tail.
_PHI_MAX_SQUARED = 50.0


def _deflate(coefficients: np.ndarray, root: float) -> np.ndarray:
    """q with p(R) − p(root) = (R − root) q(R), coefficients ascending (synthetic division)."""
    quotient = np.empty(len(coefficients) - 1)
    carry = 0.0
    for k in range(len(coefficients) - 1, 0, -1):  # q_{k-1} = c_k + root q_k
        carry = coefficients[k] + root * carry
        quotient[k - 1] = carry
    return quotient


class LagProfile:
    """Δ(τ) of the fluctuating branch from the Hermite series ``squares`` (c_n = b_n²) at
    (Δ0, μ), the plateau Δ∞, coupling g² and noise D."""

    def __init__(self, squares, g2: float, D: float, delta0: float, delta_inf: float,
                 degree: int = 160):
        c = np.asarray(squares, dtype=float)
        self.c, self.g2, self.D = c, float(g2), float(D)
        self.delta0, self.delta_inf = float(delta0), float(delta_inf)
        self.amplitude = self.delta0 - self.delta_inf
        r_inf = self.delta_inf / self.delta0
        antiderivative = np.concatenate([[0.0], c / np.arange(1, c.size + 1)])
        self.lower = _deflate(_deflate(antiderivative, r_inf), r_inf)
        self.upper = np.cumsum((c / np.arange(1, c.size + 1))[::-1])[::-1]
        self.r_inf = r_inf
        self.kappa = math.sqrt(max(2.0 * self.lower_form(np.array([r_inf]))[0], 0.0))
        self.phi_max = math.sqrt(_PHI_MAX_SQUARED)
        # D > 0: W = φ²ρ(φ) + D²/8 has a boundary layer of width ε = D/√(8ρ(0)) at φ = 0
        # (dτ/dφ rises from 0 to its D = 0 form over it). In ψ = √(φ² + ε²) − ε the
        # integrand dτ/dψ is smooth across it, so the Chebyshev series resolves any D
        # (in φ a D → 0⁺ layer rang through the fit: C(τ) jagged at 1e-5, not positive)
        # ρ(0) = lim W/φ² without the kick (it may be ≤ 0 at large D: W then falls from
        # D²/8 first; any ε > 0 keeps the substitution exact, |ρ(0)| sizes the layer)
        rho0 = self.delta0 * (self.amplitude / self.delta0) * (
            self.g2 * power_series(self.upper, np.array([1.0]))[0] - self.delta0)
        self.eps = (self.D / math.sqrt(8.0 * abs(rho0)) if rho0 != 0 else self.D) if (
            self.D > 0) else 0.0
        self.psi_max = math.hypot(self.phi_max, self.eps) - self.eps
        nodes = self.psi_max * 0.5 * (1 - np.cos(np.pi * np.arange(degree + 1) / degree))
        self.rate = self._fit(self.integrand(nodes))
        self.tau = chebyshev.chebint(self.rate, lbnd=-1) * (self.psi_max / 2)
        self.tau_max = float(chebyshev.chebval(1.0, self.tau))
        r_nodes = r_inf + (self.amplitude / self.delta0) * np.exp(-self._phi(nodes) ** 2)
        slope = np.arange(1, c.size) * c[1:]
        self.curves = {"phi": self._fit(power_series(c, r_nodes)),
                       "gain": self._fit(power_series(slope, r_nodes) / self.delta0)}
        # θ = φ² = ψ² + 2εψ as a cubic Hermite spline in τ (θ is smooth in τ at both ends,
        # linear for an exponential Δ; knots 2048 apart in ψ: interpolation error ~1e-13);
        # dθ/dτ = 2(ψ + ε)/(dτ/dψ), 0 at τ = 0 when D = 0
        dense = np.linspace(0.0, self.psi_max, 2049)
        times = self._tau_of(dense)
        rates = chebyshev.chebval(2 * dense / self.psi_max - 1, self.rate)
        self.theta = interpolate.CubicHermiteSpline(times, self._phi(dense) ** 2,
                                                    2 * (dense + self.eps) / rates)

    def _phi(self, psi):
        """φ = √(ψ² + 2ψε) (ψ = φ when D = 0)."""
        psi = np.asarray(psi, dtype=float)
        return np.sqrt(psi * (psi + 2.0 * self.eps))

    @staticmethod
    def _fit(values):
        """Chebyshev coefficients of the interpolant through ``values`` at the Lobatto
        points x_k = −cos(πk/n) (the nodes of ``__init__``): one DCT-I, the same polynomial
        a least-squares fit of degree n would give, without an O(n³) solve."""
        values = np.asarray(values, dtype=float)[::-1]
        coefficients = fft.dct(values, type=1) / (values.size - 1)
        coefficients[0] /= 2
        coefficients[-1] /= 2
        # drop the tail of rounding noise (Σ|tail| ≤ 1e-15 max|c|): every evaluation
        # (Clenshaw, O(degree) per point) gets cheaper, no value moves by more than that
        tail = np.cumsum(np.abs(coefficients[::-1]))[::-1]
        keep = np.flatnonzero(tail > 1e-15 * np.abs(coefficients).max())
        return coefficients[: max(int(keep[-1]) + 1 if keep.size else 1, 2)]

    def lower_form(self, r):
        """W/ε² = ½ − g² q₂(r)/Δ0 (near the plateau)."""
        return 0.5 - self.g2 * power_series(self.lower, r) / self.delta0

    def integrand(self, psi):
        """dτ/dψ at ψ ≥ 0 (Chebyshev nodes on [0, ψ_max]); dφ/dψ = (ψ + ε)/φ."""
        psi = np.asarray(psi, dtype=float)
        phi = self._phi(psi)
        x = np.exp(-phi**2)
        s = self.amplitude / self.delta0
        r = self.r_inf + s * x
        out = np.empty(psi.shape)
        low = x < 0.5
        out[low] = 2 * (psi[low] + self.eps) / np.sqrt(2 * self.lower_form(r[low]))
        p, xu, ru = phi[~low], x[~low], r[~low]
        shrink = np.where(p > 0, -np.expm1(-p**2) / np.where(p > 0, p, 1.0) ** 2, 1.0)
        bracket = self.g2 * power_series(self.upper, ru) - self.delta0 * (1 + ru) / 2
        reduced = self.delta0 * s * shrink * bracket  # W/φ² without the kick
        # W/(φ² + ε²) with W = φ² reduced + D²/8: smooth and positive, → D²/8ε² at 0
        scaled = (p**2 * reduced + self.D**2 / 8) / (p**2 + self.eps**2) if (
            self.eps > 0) else reduced
        out[~low] = 2 * self.amplitude * xu / np.sqrt(2 * scaled)
        return out

    def _tau_of(self, psi):
        return chebyshev.chebval(2 * psi / self.psi_max - 1, self.tau)

    def _psi_of(self, tau):
        """ψ(τ) = θ/(√(θ + ε²) + ε) for τ < tau_max (no cancellation at small θ)."""
        theta = np.clip(self.theta(tau), 0.0, _PHI_MAX_SQUARED)
        return np.minimum(theta / (np.sqrt(theta + self.eps**2) + self.eps + 1e-300),
                          self.psi_max)

    def _phi_of(self, tau):
        """φ(τ) for τ < tau_max."""
        return self._phi(self._psi_of(tau))

    def delta(self, tau) -> np.ndarray:
        """Δ(τ) on any grid of lags τ ≥ 0."""
        tau = np.asarray(tau, dtype=float)
        inside = tau < self.tau_max
        out = np.empty(tau.shape)
        out[inside] = self.delta_inf + self.amplitude * np.exp(-self._phi_of(tau[inside]) ** 2)
        tail = self.amplitude * math.exp(-_PHI_MAX_SQUARED)
        out[~inside] = self.delta_inf + tail * np.exp(-self.kappa * (tau[~inside]
                                                                     - self.tau_max))
        return out

    def curve(self, which: str, tau) -> np.ndarray:
        """C_φ(τ) (``"phi"``) or C_d(τ) (``"gain"``) on any grid of lags (full, not
        connected: means included)."""
        tau = np.asarray(tau, dtype=float)
        psi = np.full(tau.shape, self.psi_max)
        inside = tau < self.tau_max
        psi[inside] = self._psi_of(tau[inside])
        return chebyshev.chebval(2 * psi / self.psi_max - 1, self.curves[which])


def _tridiagonal(potential, step: float):
    """Diagonal and off-diagonal of −δ² + potential (reflecting ends), symmetrised with
    the trapezoid weights (w = ½ at the ends)."""
    diagonal = 2.0 / step**2 + np.asarray(potential, dtype=float)
    off = np.full(diagonal.size - 1, -1.0 / step**2)
    off[0] = off[-1] = -math.sqrt(2.0) / step**2
    return diagonal, off


def _rayleigh(vector, potential, step: float) -> float:
    """The Rayleigh quotient of the symmetrised lattice operator at ``vector``, written as
    [Σ (ψ_{k+1} − ψ_k)²/h² + Σ w_k V_k ψ_k²] / Σ w_k ψ_k² (ψ = w^{−½}·vector): sums of
    non-negative smooth terms, so its rounding is ~ε|E|, not ε·4/h² as in v·Av."""
    weights = np.ones(vector.size)
    weights[0] = weights[-1] = 0.5
    psi = vector / np.sqrt(weights)
    kinetic = np.sum(np.diff(psi) ** 2) / step**2
    return float((kinetic + np.sum(weights * potential * psi**2)) / np.sum(weights * psi**2))


def _ground_state(potential, step: float, start=None):
    """(E0, eigenvector) of the symmetrised lattice operator. From ``start`` (an estimate
    of both: the coarser lattice's state, interpolated) by inverse iteration with the
    Rayleigh shift, O(n) per step; accepted when it converges to a nodeless vector (the
    ground state of −δ² + V has no node), else (and without ``start``) by the
    tridiagonal eigensolver. E0 is the Rayleigh quotient :func:`_rayleigh`."""
    potential = np.asarray(potential, dtype=float)
    diagonal, off = _tridiagonal(potential, step)
    if start is not None:
        shift, vector = start
        banded = np.zeros((3, diagonal.size))
        banded[0, 1:], banded[2, :-1] = off, off
        for _ in range(8):
            banded[1] = diagonal - shift
            try:
                solved = linalg.solve_banded((1, 1), banded, vector, check_finite=False)
            except linalg.LinAlgError:  # the shift is an eigenvalue to rounding
                break
            vector = solved / np.linalg.norm(solved)
            value = _rayleigh(vector, potential, step)
            if abs(value - shift) <= 1e-14 * (abs(value) + 1.0):
                large = np.abs(vector) > 1e-8 * np.abs(vector).max()
                signs = np.sign(vector[large])
                if np.all(signs == signs[0]):
                    return value, vector * signs[0]
                break
            shift = value
    _, vectors = linalg.eigh_tridiagonal(diagonal, off, select="i", select_range=(0, 0))
    vector = vectors[:, 0]
    return _rayleigh(vector, potential, step), vector


def lattice_ground_state(potential, step: float) -> float:
    """Lowest eigenvalue of −δ² + potential on τ_k = k·step with reflecting ends
    (the even sector), symmetrised with the trapezoid weights."""
    return _ground_state(potential, step)[0]


def lyapunov_richardson(c_gain_of_tau, g2: float, box: float, step: float = 0.08) -> float:
    r"""λ_max = −1 + √(1 − E0), E0 of H = −∂τ² + 1 − g² C_d(τ) on [0, box], from lattices
    of steps h, h/2, h/4 combined as (64 E(h/4) − 20 E(h/2) + E(h))/45 (the lattice error
    is a series in h²). ``c_gain_of_tau(tau)`` gives C_d on any grid; it is evaluated once,
    on the finest lattice (n = 4 ⌈box/h⌉ steps), which holds the coarser ones. The coarse
    ground state comes from the tridiagonal eigensolver, the finer ones by inverse
    iteration from it, interpolated (:func:`_ground_state`)."""
    n = max(math.ceil(box / step), 8)
    finest = 1.0 - g2 * c_gain_of_tau((step / 4) * np.arange(4 * n + 1))
    levels, state = [], None
    for k in range(3):
        h = step / 2**k
        potential = finest[:: 2 ** (2 - k)]
        if state is not None:
            coarse = state[1]
            vector = np.empty(potential.size)
            vector[::2] = coarse
            vector[1::2] = 0.5 * (coarse[:-1] + coarse[1:])
            state = (state[0], vector / np.linalg.norm(vector))
        state = _ground_state(potential, h, state)
        levels.append(state[0])
    ground = (64 * levels[2] - 20 * levels[1] + levels[0]) / 45
    return -1.0 + math.sqrt(max(1.0 - ground, 0.0))
