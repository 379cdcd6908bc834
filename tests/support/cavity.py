r"""An independent oracle for the O(1/N) statistics of random rate networks (cavity route).

Nothing here imports :mod:`fieldtheory`: numpy, scipy and the standard library only, so the
package's Hessian-of-the-action computation can be checked against a second derivation.

Models (the package's conventions)
----------------------------------
Continuous time:  dx_i/dt = −x_i + Σ_j J_ij φ(x_j) + ξ_i,  ⟨ξ_i(t)ξ_j(s)⟩ = D δ_ij δ(t−s).
Map:  x_i(n+1) = (1−δ) x_i(n) + δ Σ_j J_ij φ(x_j(n)) + √(δD) ξ_i(n).
J_ij ~ N(J0/N, g²/N), corr(J_ij, J_ji) = ρ;  φ ∈ {tanh, erf(√π x/2), linear}.

1. Mean field (N → ∞, ρ = 0, ⟨φ⟩ = 0)
--------------------------------------
Pair expectations by a Hermite series (Mehler): with σ² = Δ0 and
h_n = E[φ(σz) He_n(z)]/√n! (z standard normal; Gauss–Hermite, 400 nodes),

.. math:: C_φ(c; Δ_0) = G(c) = \sum_n h_n^2 (c/Δ_0)^n,\qquad ⟨φ'⟩ = h_1/σ,

a polynomial in the covariance c with non-negative coefficients (exact derivatives and
integrals).  Continuous time (SCIENCE.md §1, Sompolinsky–Crisanti–Sommers 1988):
Δ'' = Δ − g²G(Δ), Δ'(0⁺) = −D/2; energy conservation with Δ(∞) = Δ'(∞) = 0 gives

.. math:: \tfrac12 Δ'^2 = W(Δ) ≡ Δ^2/2 − g^2\int_0^Δ G,\qquad Δ_0^2/2 − D^2/8 = g^2\int_0^{Δ_0} G .

Δ(τ) is integrated with the second-order equation on [0, 1] and then with the *stable*
first-order form d ln Δ/dτ = −(2W(Δ)/Δ²)^{1/2} (no separatrix blow-up), DOP853, rtol 1e-13.
Spectra: C_x(ω) = (g²C_φ(ω) + D)/(1+ω²) exactly; C_φ(ω) is the transform of
C_φ(τ) = G(Δ(τ)) whose kink at τ = 0 (D > 0) is removed analytically:
p(τ) = e^{−|τ|}(α0 + α2 τ²) matches the odd Taylor coefficients f'(0⁺), f'''(0⁺), the
transform of p is exact (2α0/(1+ω²) + 4α2(1−3ω²)/(1+ω²)³), the remainder is C⁴ and is
transformed by the trapezoid rule (error O(h⁶)).
Map (SCIENCE.md §1): (1+b²)Δ(k) − b[Δ(k+1)+Δ(k−1)] = δ²g²G(Δ(k)) + δD δ_k0, b = 1−δ,
solved by Newton on the tridiagonal system; C_φ(ω) = Σ_k C_φ(k)e^{−iωk} exactly and
C_x(ω) = (δ²g²C_φ(ω) + δD)/|e^{iω} − b|².

2. Two-site cavity (Clark, Abbott & Litwin-Kumar, PRL 131, 118401 (2023))
-------------------------------------------------------------------------
Add units i, j to a bulk.  To first order in the O(N^{-1/2}) quantities
(unit susceptibility S_x = 1/(1+iω), or δ/(e^{iω}−b) for the map; S_φ = ⟨φ'⟩S_x, a = ⟨φ'⟩)

.. math::
   C^φ_{ij} = |S_φ|^2 (J C^{φ,b} J^T)_{ij} + C_φ (S_φ T_{ij} + S_φ^* T_{ji}^*),\qquad
   C^x_{ij} = |S_x|^2 (J C^{φ,b} J^T)_{ij} + a C_x (S_x T_{ij} + S_x^* T_{ji}^*),

T = J + J χ^b J = J M the bulk-dressed coupling (χ^b = M S_φ the bulk response,
M = (1 − S_φ J)^{-1}), C^{φ,b} the bulk covariance (diagonal C_φ), and ⟨φ_j x_j^*⟩ = aC_x
(Price).  The noise ξ only enters through the single-site spectra.  Averaging over the rows
and columns of i, j (iid J): N E[T(1)T(2)] = g²F12, F12 = 1/(1 − u), u = g²S_φ(ω1)S_φ(ω2),
and N E[(JCJ^T)(1)(JCJ^T)(2)] = g⁴ Ψ^φ (bulk, diagonal included), cross terms vanish; hence

.. math::
   Ψ^φ(ω_1,ω_2) = \frac{C_φ(ω_1)C_φ(ω_2)}{|1−u|^2},\qquad
   Ψ^x = C_x(ω_1)C_x(ω_2)(F_{12} + F_{12}^* − 1) + g^4|S_x(ω_1)S_x(ω_2)|^2\,Ψ^φ,

valid for D ≥ 0 (for D = 0 it equals SCIENCE.md's F11/F22 form).  Ψ = CC + ψ and
PR/N = C(0)²/Ψ(0,0), Ψ(0,0) = ∬dω1dω2/(2π)² Ψ.

Linear φ with ρ ≠ 0: the single site has the self-consistent susceptibility
G = 1/(z − ρg²G) (z = 1+iω, or (e^{iω}−b)/δ), C = D_eff|G|²/(1 − g²|G|²) (D_eff = D, or
D/δ for the map), and the row/column pairings J_ik ↔ J_ki add cross terms
(see :func:`psi_linear`):

.. math::
   ψ_{12} (1 − g^4|G_1G_2|^2) = g^4|G_1G_2|^2C_1C_2
            + ρg^4[|G_1|^2C_2(G_2X_{12} + G_2^*Y_{12}) + (1↔2)]
            + 2C_1C_2\,\mathrm{Re}[\frac{g^2G_1G_2}{1−g^2G_1G_2}
                                   + \frac{ρg^2G_1G_2^*}{1−ρg^2G_1G_2^*}]

with X12 = N⁻¹tr(C1χ2ᵀ), Y12 = N⁻¹tr(C1 χ̄2) from the same cavity (closed forms in the code).

Population mode (J0, paramagnetic): with v = J0 S_φ (linear ρ: v = J0 G),
N S_φ,pop = C_φ/|1 − v|²,  N S_x,pop = [C_x(1 − |v|²) + |v|²C_φ/a²]/|1 − v|²
(x = S_x(J0 m + bulk input), ⟨m_0 X_0^*⟩N = aC_x), and N·mean_{i≠j}C^x_ij(τ) is the inverse
transform of N S_x,pop − C_x.

2b. Reciprocal couplings, non-Gaussian site (:func:`psi_general`)
-----------------------------------------------------------------
For ρ ≠ 0 and a nonlinear φ the site is non-Gaussian (its input contains the self-coupling
ρg²∫R_φ φ), so its statistics are an INPUT (:class:`SiteSpectra`, e.g. sampled by the
package): R_x, R_φ, the linear responses of x and φ(x) to an additive input of the full site
(self-coupling loop included); the connected auto-spectra C_x, C_φ; the cross-spectrum
C_xφ(ω) = ∫⟨δx(t+τ)δφ(t)⟩e^{−iωτ}dτ (C_φx = C_xφ^*; complex for an irreversible site).
Spectra of a pair are S_ab(ω) = ∫⟨a(t+τ)b(t)⟩e^{−iωτ}dτ ("⟨a b^*⟩"); ⟨φ⟩ = 0, J0 = 0.

Cavity.  Add i, j to a bulk; i's input is η_i + T_ij φ_j + (self-coupling), with
η_i = Σ_k J_ik φ_k^b (bulk activity without i, j), T = J + JχJ (χ the bulk's φ-response
matrix, χ_kk = R_φ) and the self-coupling Σ_kl J_ik χ_kl J_li → ρg²R_φ (part of the site).
To first order in the O(N^{-1/2}) quantities ε_ij = (J C^{φ,b} J^T)_ij = ⟨η_iη_j^*⟩ and T:
(i) common input: (η_i, η_j) are jointly Gaussian (CLT over k), so to first order in ε
(Novikov/Price for functionals) S_{a_i b_j} gains ⟨δa_i/δη_i⟩ε⟨δb_j/δη_j⟩^* = R_a ε R_b^* —
this is where the Gaussian site's ⟨φ'⟩ is replaced by the response of the full site;
(ii) T_ij φ_j acts on i through R_a (averaged over i's noise, independent of j at zeroth
order) and pairs with j's own ⟨φ_j b_j^*⟩; T_ji φ_i acts on j likewise.  Hence

.. math::
   C^φ_{ij} = |R_φ|^2 ε_{ij} + R_φ C_φ T_{ij} + C_φ R_φ^* T_{ji}^*,\qquad
   C^x_{ij} = |R_x|^2 ε_{ij} + R_x C_{xφ}^* T_{ij} + C_{xφ} R_x^* T_{ji}^*

(ρ = 0, Gaussian site: R_x = S_x, R_φ = ⟨φ'⟩S_x, C_xφ = ⟨φ'⟩C_x, section 2), and for the
bulk, off the diagonal, C^φ_kl of the same form and χ_kl = R_φ T_kl R_φ.  Write
C^a_ij = A^a ε + B^a T_ij + B'^a T_ji^*:  A^φ = |R_φ|², B^φ = R_φC_φ, B'^φ = C_φR_φ^*;
A^x = |R_x|², B^x = R_xC_xφ^*, B'^x = C_xφR_x^*.

Averages over the rows and columns of i, j (independent of the bulk; the only correlated
pairs are J_ik ↔ J_ki, J_jk ↔ J_kj, J_ij ↔ J_ji, each ρg²/N), with 1, 2 for ω1, ω2 and
R = R_φ, C = C_φ in the bulk traces:
N E[T_ij(1)T_ij(2)] = g²F12,  N E[T_ij(1)T_ji(2)^*] = ρg²H12,  N E[T_ji(1)^*T_ij(2)] = ρg²H21,
N E[ε(1)ε(2)] = g⁴Ψ^φ12,  N E[ε(1)T_ij(2)] = ρg⁴X12,  N E[ε(1)T_ji(2)^*] = ρg⁴Y12,
where the bulk traces N⁻¹tr(χ1χ2ᵀ), N⁻¹tr(χ1χ̄2), X12 = N⁻¹tr(C1χ2ᵀ), Y12 = N⁻¹tr(C1χ̄2),
Ψ^φ12 = N⁻¹tr(C1C2ᵀ) are resummed with the same cavity forms (diagonal + N·E[off-diagonal]):

.. math::
   F_{12} = \frac{1}{1 − g^2R_1R_2},\quad H_{12} = \frac{1}{1 − ρg^2R_1R_2^*},\quad
   H_{21} = \frac{1}{1 − ρg^2R_1^*R_2},\\
   X_{12} = \frac{C_1R_2(F_{12} + H_{21} − 1)}{1 − ρg^4|R_1|^2R_2^2},\qquad
   Y_{12} = \frac{C_1R_2^*(H_{12} + F_{12}^* − 1)}{1 − ρg^4|R_1|^2R_2^{*2}}

(X21, Y21 by 1 ↔ 2).  E.g. N⁻¹tr(χ1χ2ᵀ) = R1R2 + R1²R2²·N E[T_kl(1)T_kl(2)] closes
N E[TT] = g² + g⁴N⁻¹tr(χ1χ2ᵀ) to g²F12; likewise N⁻¹tr(χ1χ̄2) (pairing ρ²) gives ρg²H12, and
X12 = C1R2 + R2²N E[C_kl(1)T_kl(2)] with C_kl from the display above gives the form shown.
Neglected (O(1/N) in C_ij): third cumulants of (η_i, η_j), second-order bulk responses,
fluctuations of the self-coupling kernel (independent of j).  Assumed: homogeneous,
stationary sites.  With ψ^a_12 = N E[C^a_ij(ω1)C^a_ij(ω2)] (i ≠ j), Ψ^a = C^a_1C^a_2 + ψ^a:

.. math::
   ψ^a_{12} = A^a_1A^a_2 g^4 Ψ^φ_{12}
      + ρg^4[A^a_1(B^a_2X_{12} + B'^a_2Y_{12}) + A^a_2(B^a_1X_{21} + B'^a_1Y_{21})]
      + g^2(B^a_1B^a_2F_{12} + B'^a_1B'^a_2F_{12}^*) + ρg^2(B^a_1B'^a_2H_{12} + B'^a_1B^a_2H_{21}),

which for a = φ is an equation for ψ^φ (Ψ^φ = C_φ1C_φ2 + ψ^φ on the right; denominator
1 − g⁴|R_φ1R_φ2|²), and then gives ψ^x explicitly.  ψ^φ depends on (R_φ, C_φ) only and is
psi_linear's expression with G → R_φ; x enters through R_x and C_xφ alone.  Requires
g²|R_φ(ω)|² < 1 on the grid (the loops converge; then every denominator is nonzero).
Check beyond the two limits (ρ = 0; linear φ): a linear Gaussian surrogate network,
x = R0_x h + ν, φ = R0_φ h + μ, h = Jφ, with bare responses (R_φ = R0_φ(1 + ρg²R_φ²),
R_x = R0_xR_φ/R0_φ) and correlated colored noises (:class:`LinearSurrogate`, exact finite-N
covariances by linear algebra and by a Lyapunov equation).

3. Finite N, linear networks: Lyapunov equations (:func:`linear_network_pr`).

Frequency integrals: continuous time in θ = arctan ω (S_x = cos θ e^{−iθ}; the integrands are
smooth and π-periodic, so the midpoint rule converges spectrally), the map on a uniform
periodic ω grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize, special
from scipy.integrate import solve_ivp
from support.lyapunov import stationary_covariance

PHIS = ("tanh", "erf", "linear")


def _phi(name: str):
    if name == "tanh":
        return np.tanh
    if name == "erf":
        return lambda x: special.erf(np.sqrt(np.pi) * x / 2)
    if name == "linear":
        return lambda x: x
    raise ValueError(f"unknown phi {name!r}, expected one of {PHIS}")


_GH_CACHE: dict = {}


def hermite_coefficients(phi: str, var: float, n_max: int = 300, nodes: int = 400) -> np.ndarray:
    r"""h_n = E[φ(σz) He_n(z)]/√n!, n = 0..n_max, σ² = var (Gauss–Hermite, stable recurrence).

    Σ h_n² = E[φ(σz)²] (Parseval) and E[φ(u)φ(v)] = Σ h_n² r^n for correlation r (Mehler).
    """
    if phi == "linear":
        h = np.zeros(n_max + 1)
        h[1] = math.sqrt(var)
        return h
    if nodes not in _GH_CACHE:
        z, w = special.roots_hermitenorm(nodes)
        _GH_CACHE[nodes] = (z, w / math.sqrt(2 * math.pi))
    z, w = _GH_CACHE[nodes]
    sw = np.sqrt(w)
    f = _phi(phi)(math.sqrt(var) * z) * sw
    p_prev, p = np.zeros_like(z), sw.copy()       # √w·He_n/√n!
    h = np.empty(n_max + 1)
    for n in range(n_max + 1):
        h[n] = f @ p
        p_prev, p = p, (z * p - math.sqrt(n) * p_prev) / math.sqrt(n + 1)
    return h


@dataclass
class PairKernel:
    """C_φ(c) = G(c) as a polynomial in the covariance c (fixed variances Δ0)."""

    phi: str
    delta0: float
    poly: np.polynomial.Polynomial = field(repr=False)

    @classmethod
    def build(cls, phi: str, delta0: float) -> PairKernel:
        h = hermite_coefficients(phi, delta0)
        h[::2] = 0.0                                   # φ odd
        h2 = h**2
        cut = 1e-26 * h2.sum()                         # quadrature round-off is ~1e-16·‖h‖
        keep = np.nonzero(h2 > cut)[0]
        h2 = np.where(h2 > cut, h2, 0.0)[: keep[-1] + 1]
        n = np.arange(len(h2))
        with np.errstate(divide="ignore"):
            logs = np.log(np.where(h2 > 0, h2, 1.0)) - n * math.log(delta0)
            coef = np.where(h2 > 0, np.exp(logs), 0.0)
        return cls(phi, delta0, np.polynomial.Polynomial(coef))

    def __call__(self, c):
        return self.poly(c)

    @property
    def slope(self) -> float:
        """⟨φ'⟩ = G'(0)^{1/2} (odd φ)."""
        return math.sqrt(self.poly.coef[1]) if len(self.poly.coef) > 1 else 0.0


def pair_expectation_erf(c, delta0):
    """Closed form for φ = erf(√π x/2): (2/π) arcsin(c/(Δ0 + 2/π)) (check of the series)."""
    return 2 / np.pi * np.arcsin(np.asarray(c) / (delta0 + 2 / np.pi))


@dataclass
class MeanField:
    """Stationary single-site statistics.  Lags τ (continuous) or integer k (map)."""

    phi: str
    g: float
    D: float
    delta: float | None
    delta0: float
    slope: float                  # ⟨φ'⟩
    kernel: PairKernel | None
    tau: np.ndarray | None = None
    cx: np.ndarray | None = None  # C_x on the lag grid
    cphi: np.ndarray | None = None
    kink: tuple = (0.0, 0.0)      # (α0, α2) of the subtracted e^{−|τ|}(α0 + α2 τ²)

    @property
    def cphi0(self) -> float:
        return float(self.cphi[0])

    # spectra ---------------------------------------------------------------------------
    def susceptibility(self, omega):
        """S_x(ω): 1/(1+iω) or δ/(e^{iω} − (1−δ))."""
        omega = np.asarray(omega, dtype=float)
        if self.delta is None:
            return 1 / (1 + 1j * omega)
        return self.delta / (np.exp(1j * omega) - (1 - self.delta))

    def spectrum_phi(self, omega):
        """C_φ(ω) = ∫ C_φ(τ) e^{−iωτ} dτ (or Σ_k for the map), real and even."""
        omega = np.abs(np.asarray(omega, dtype=float))
        if self.delta is not None:
            k = np.arange(1, len(self.cphi))
            out = self.cphi[0] + 2 * np.cos(np.multiply.outer(omega, k)) @ self.cphi[1:]
            return out
        a0, a2 = self.kink
        h = self.tau[1] - self.tau[0]
        r = self.cphi - np.exp(-self.tau) * (a0 + a2 * self.tau**2)
        wts = np.full(len(r), 2 * h)
        wts[0] = h
        out = np.zeros(omega.shape)
        sel = omega < 0.9 * np.pi / h
        om = omega[sel]
        for s in range(0, len(om), 256):
            blk = om[s:s + 256]
            idx = np.nonzero(sel)[0][s:s + 256]
            out[idx] = np.cos(np.multiply.outer(blk, self.tau)) @ (wts * r)
        w2 = 1 + omega**2
        return out + 2 * a0 / w2 + 4 * a2 * (1 - 3 * omega**2) / w2**3

    def spectrum_x(self, omega):
        """C_x(ω) = |S_x|²(g²C_φ(ω) + D_eff), D_eff = D (continuous) or D/δ (map)."""
        s = self.susceptibility(omega)
        deff = self.D if self.delta is None else self.D / self.delta
        return np.abs(s) ** 2 * (self.g**2 * self.spectrum_phi(omega) + deff)


def _solve_delta0(kern_of, g, D, phi):
    if phi == "linear":
        if g >= 1:
            raise ValueError("linear network unstable for g ≥ 1")
        return D / (2 * math.sqrt(1 - g**2))

    def energy(d0):
        k = kern_of(d0)
        return d0**2 / 2 - D**2 / 8 - g**2 * k.poly.integ()(d0)

    lo, hi = 1e-3, 1.0
    while energy(hi) < 0:
        hi *= 2
    if energy(lo) >= 0:
        return 0.0
    return optimize.brentq(energy, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=200)


def mean_field(phi: str = "tanh", g: float = 2.0, D: float = 0.0, delta: float | None = None,
               h: float = 0.02, T: float | None = None) -> MeanField:
    r"""Solve the stationary mean-field theory (J0 paramagnetic, ρ = 0).

    Parameters
    ----------
    phi : 'tanh', 'erf' or 'linear'.
    g, D : coupling strength and noise intensity.
    delta : None for continuous time, else the map's step δ ∈ (0, 1].
    h, T : lag step and range for continuous time (T defaults to 40/rate of the tail).

    Returns a :class:`MeanField` with Δ0, ⟨φ'⟩, C_x and C_φ on the lag grid and spectra.
    """
    if delta is None:
        delta0 = _solve_delta0(lambda d: PairKernel.build(phi, d), g, D, phi)
        if delta0 <= 0:
            raise ValueError("no activity (g ≤ 1 and D = 0)")
        kern = PairKernel.build(phi, delta0)
        a1 = kern.poly.coef[1]
        rate = math.sqrt(1 - g**2 * a1)
        T = T if T is not None else max(40.0 / rate, 20.0)
        n = round(T / h)
        tau = h * np.arange(n + 1)
        Gp = kern.poly.deriv()
        # w(Δ) = W/Δ² = 1/2 − g² Σ a_n Δ^{n−1}/(n+1)
        c = kern.poly.coef
        wpoly = np.polynomial.Polynomial(
            np.concatenate([[0.5 - g**2 * c[1] / 2], -g**2 * c[2:] / np.arange(3, len(c) + 1)]))
        t1 = min(1.0, T)
        k1 = round(t1 / h)
        s1 = solve_ivp(lambda t, y: [y[1], y[0] - g**2 * kern(y[0])], (0, tau[k1]),
                       [delta0, -D / 2], method="DOP853", rtol=1e-13, atol=1e-15,
                       t_eval=tau[: k1 + 1])
        y0 = math.log(s1.y[0, -1])
        s2 = solve_ivp(lambda t, y: [-math.sqrt(max(2 * wpoly(math.exp(y[0])), 0.0))],
                       (tau[k1], tau[-1]), [y0], method="DOP853", rtol=1e-13, atol=1e-13,
                       t_eval=tau[k1:])
        dx = np.concatenate([s1.y[0], np.exp(s2.y[0, 1:])])
        cphi = kern(dx)
        # odd Taylor coefficients of f = G(Δ(τ)) at 0⁺
        d1 = -D / 2
        d2 = delta0 - g**2 * kern(delta0)
        d3 = d1 * (1 - g**2 * Gp(delta0))
        G1, G2, G3 = Gp(delta0), Gp.deriv()(delta0), Gp.deriv(2)(delta0)
        f1 = G1 * d1
        f3 = G3 * d1**3 + 3 * G2 * d1 * d2 + G1 * d3
        a0 = -f1
        a2 = -f3 / 6 - a0 / 6
        return MeanField(phi, g, D, None, delta0, kern.slope, kern, tau, dx, cphi, (a0, a2))
    return _mean_field_map(phi, g, D, delta)


def _mean_field_map(phi, g, D, delta, L=800):
    r"""Map: Newton on all lag equations k = 0..L−1 (Δ(L) = 0), Δ0 = x[0] free.

    R_k = (1+b²)Δ_k − b(Δ_{k+1} + Δ_{k−1}) − δ²g²G(Δ_k; Δ0) − δD δ_k0, Δ_{−1} = Δ_1; the
    Jacobian is tridiagonal plus the column ∂R/∂Δ0 through the kernel's variance (bordered
    solve by Sherman–Morrison).  Started from the continuous-time profile Δ_c(kδ).
    """
    b = 1 - delta
    if phi == "linear":
        x = _linear_map_lags(g, D, delta, L)
        kern = PairKernel.build(phi, x[0])
        return MeanField(phi, g, D, delta, float(x[0]), 1.0, kern, np.arange(L, dtype=float), x, x)
    ref = mean_field(phi, g, D)
    x = np.interp(np.minimum(delta * np.arange(L), ref.tau[-1]), ref.tau, ref.cx)
    c2 = delta**2 * g**2
    for _ in range(60):
        d0 = x[0]
        kern = PairKernel.build(phi, d0)
        eps = 1e-6 * d0
        dk = (PairKernel.build(phi, d0 + eps)(x) - PairKernel.build(phi, d0 - eps)(x)) / (2 * eps)
        xm = np.concatenate([[x[1]], x[:-1]])
        xp = np.concatenate([x[1:], [0.0]])
        res = (1 + b**2) * x - b * (xm + xp) - c2 * kern(x)
        res[0] -= delta * D
        ab = np.zeros((3, L))
        ab[1] = (1 + b**2) - c2 * kern.poly.deriv()(x)
        ab[0, 1:] = -b
        ab[0, 1] = -2 * b                 # row 0: −b(Δ1 + Δ_{−1}) = −2bΔ1
        ab[2, :-1] = -b
        u = -c2 * dk                      # extra column at index 0
        y = linalg.solve_banded((1, 1), ab, -res)
        z = linalg.solve_banded((1, 1), ab, u)
        step = y - z * y[0] / (1 + z[0])
        lam = min(1.0, 0.3 * d0 / max(np.max(np.abs(step)), 1e-300))
        x = x + lam * step
        if np.max(np.abs(step)) < 1e-15 * d0:
            break
    else:
        raise RuntimeError("map mean field: Newton did not converge")
    if np.any(x < -1e-12 * x[0]):
        raise RuntimeError("map mean field: converged to a non-covariance solution")
    kern = PairKernel.build(phi, x[0])
    return MeanField(phi, g, D, delta, float(x[0]), kern.slope, kern,
                     np.arange(L, dtype=float), x, kern(x))


def _linear_map_lags(g, D, delta, L):
    """Linear φ, map: Δ(k) = ∫dω/2π e^{iωk} δD/(|e^{iω}−b|² − δ²g²) (periodic trapezoid)."""
    n = 1 << 14
    w = 2 * np.pi * np.arange(n) / n
    den = np.abs(np.exp(1j * w) - (1 - delta)) ** 2 - delta**2 * g**2
    return np.fft.ifft(delta * D / den).real[:L].copy()


# --------------------------------------------------------------------------------------
# frequency grids
# --------------------------------------------------------------------------------------

def frequency_grid(mf_or_delta, M: int):
    """Nodes ω_k and weights w_k with Σ w_k f(ω_k) ≈ ∫ dω/2π f(ω).

    Continuous time: midpoint rule in θ = arctan ω (π-periodic integrands); map: uniform
    periodic grid on [−π, π).
    """
    delta = mf_or_delta.delta if isinstance(mf_or_delta, (MeanField, LinearTheory)) else mf_or_delta
    if delta is None:
        th = -np.pi / 2 + (np.arange(M) + 0.5) * np.pi / M
        return np.tan(th), (np.pi / M) / np.cos(th) ** 2 / (2 * np.pi)
    w = -np.pi + (np.arange(M) + 0.5) * 2 * np.pi / M
    return w, np.full(M, 1.0 / M)


def _double_sum(w, func, chunk=512):
    """Σ_kl w_k w_l func(k-block, all l) without forming the full M×M matrix at once."""
    tot = 0.0
    for s in range(0, len(w), chunk):
        sl = slice(s, s + chunk)
        tot += np.einsum("k,kl,l->", w[sl], func(sl), w).real
    return float(tot)


def psi(mf: MeanField, M: int = 4096) -> dict:
    r"""ψ(0,0) and Ψ(0,0) for φ and x (iid J, ρ = 0), any D ≥ 0, continuous time or map.

    Ψ^φ = C_φ1C_φ2/|1−u|², Ψ^x = C_x1C_x2(F12 + F12^* − 1) + g⁴|S_x1S_x2|²Ψ^φ,
    u = g²⟨φ'⟩²S_x(ω1)S_x(ω2), F12 = 1/(1−u); ψ = Ψ − CC.
    """
    om, w = frequency_grid(mf, M)
    S = mf.susceptibility(om)
    cp = mf.spectrum_phi(om)
    cx = mf.spectrum_x(om)
    g2a2 = mf.g**2 * mf.slope**2
    aS = np.abs(S) ** 2

    def u(sl):
        return g2a2 * np.multiply.outer(S[sl], S)

    def psi_phi(sl):
        uu = u(sl)
        return np.multiply.outer(cp[sl], cp) * (1 / np.abs(1 - uu) ** 2 - 1)

    def psi_x(sl):
        uu = u(sl)
        F = 1 / (1 - uu)
        Pphi = np.multiply.outer(cp[sl], cp) / np.abs(1 - uu) ** 2
        return (np.multiply.outer(cx[sl], cx) * (2 * F.real - 2)
                + mf.g**4 * np.multiply.outer(aS[sl], aS) * Pphi)

    out = {}
    c0 = {"phi": mf.cphi0, "x": mf.delta0}
    for name, fn in (("phi", psi_phi), ("x", psi_x)):
        ps = _double_sum(w, fn)
        out[f"psi_{name}"] = ps
        out[f"Psi_{name}"] = c0[name] ** 2 + ps
        out[f"pr_{name}"] = c0[name] ** 2 / (c0[name] ** 2 + ps)
    # consistency: the quadrature of the spectra reproduces the lag-zero values
    out["c0_phi_quadrature"] = float(w @ cp)
    out["c0_x_quadrature"] = float(w @ cx)
    return out


def participation_ratio(phi="tanh", g=2.0, D=0.0, delta=None, M=4096, **kw) -> dict:
    """PR/N for φ and x: {'phi': PR_φ/N, 'x': PR_x/N}."""
    mf = mean_field(phi, g, D, delta, **kw)
    r = psi(mf, M)
    return {"phi": r["pr_phi"], "x": r["pr_x"], "mean_field": mf, "psi": r}


def population_spectrum(mf, J0: float, omega):
    r"""N·S_pop(ω) of the population averages of φ and x (paramagnetic, leading order).

    v = J0⟨φ'⟩S_x:  N S_φ = C_φ/|1−v|²,  N S_x = [C_x(1−|v|²) + |v|²C_φ/⟨φ'⟩²]/|1−v|².
    For :class:`LinearTheory` (any ρ): N S = C/|1 − J0 G|².
    """
    omega = np.asarray(omega, dtype=float)
    if isinstance(mf, LinearTheory):
        G = mf.G(omega)
        c = mf.spectrum(omega)
        s = c / np.abs(1 - J0 * G) ** 2
        return {"phi": s, "x": s}
    v = J0 * mf.slope * mf.susceptibility(omega)
    cp, cx = mf.spectrum_phi(omega), mf.spectrum_x(omega)
    den = np.abs(1 - v) ** 2
    sx = (cx * (1 - np.abs(v) ** 2) + np.abs(v) ** 2 * cp / mf.slope**2) / den
    return {"phi": cp / den, "x": sx}


def population_statistics(mf, J0: float, M: int = 4096, taus=(0.0,)) -> dict:
    """N·Var of the population averages and N·mean_{i≠j} C^x_ij(τ) (leading order)."""
    om, w = frequency_grid(mf, M)
    s = population_spectrum(mf, J0, om)
    cx = mf.spectrum(om) if isinstance(mf, LinearTheory) else mf.spectrum_x(om)
    cp = cx if isinstance(mf, LinearTheory) else mf.spectrum_phi(om)
    taus = np.asarray(taus, dtype=float)
    cross = np.cos(np.multiply.outer(taus, om)) @ (w * (s["x"] - cx))
    cross_phi = np.cos(np.multiply.outer(taus, om)) @ (w * (s["phi"] - cp))
    return {"var_phi": float(w @ s["phi"]), "var_x": float(w @ s["x"]),
            "cross_x": cross, "cross_phi": cross_phi}


# --------------------------------------------------------------------------------------
# linear networks with reciprocity ρ (exact single site in frequency)
# --------------------------------------------------------------------------------------

@dataclass
class LinearTheory:
    """Linear φ, elliptic J (ρ): G = 1/(z − ρg²G), C = D_eff|G|²/(1 − g²|G|²)."""

    g: float
    rho: float
    D: float
    delta: float | None = None

    def z(self, omega):
        omega = np.asarray(omega, dtype=float)
        if self.delta is None:
            return 1 + 1j * omega
        return (np.exp(1j * omega) - (1 - self.delta)) / self.delta

    def G(self, omega):
        z = self.z(omega)
        q = self.rho * self.g**2
        sq = np.sqrt(z * z - 4 * q)
        sq = np.where((sq * np.conj(z)).real < 0, -sq, sq)   # branch G ≈ 1/z
        return 2 / (z + sq)

    def spectrum(self, omega):
        G = self.G(omega)
        deff = self.D if self.delta is None else self.D / self.delta
        return deff * np.abs(G) ** 2 / (1 - self.g**2 * np.abs(G) ** 2)

    def c0(self, M=8192):
        om, w = frequency_grid(self, M)
        return float(w @ self.spectrum(om))


def psi_linear(lt: LinearTheory, M: int = 4096) -> dict:
    r"""Cavity ψ(0,0), Ψ(0,0), PR/N for a linear network with reciprocity ρ.

    Pairings of row i (J_ik) with column i (J_ki) give, besides the ρ = 0 terms,
    X12 = N⁻¹tr(C1χ2ᵀ) = G2C1[1 + g²G1G2/(1−g²G1G2) + ρg²G1^*G2/(1−ρg²G1^*G2)]/(1 − ρg⁴|G1|²G2²),
    Y12 = N⁻¹tr(C1χ̄2) = G2^*C1[1 + ρg²G1G2^*/(1−ρg²G1G2^*) + g²G1^*G2^*/(1−g²G1^*G2^*)]
          /(1 − ρg⁴|G1|²G2^{*2}),
    and ψ12 as in the module docstring.
    """
    g, rho = lt.g, lt.rho
    g2, g4 = g**2, g**4
    om, w = frequency_grid(lt, M)
    G = lt.G(om)
    C = lt.spectrum(om)

    def XY(Ga, Gb, Ca):
        """X_ab, Y_ab on the block (a rows, b columns)."""
        Ga_, Gb_ = Ga[:, None], Gb[None, :]
        Ca_ = Ca[:, None]
        X = Gb_ * Ca_ * (1 + g2 * Ga_ * Gb_ / (1 - g2 * Ga_ * Gb_)
                         + rho * g2 * np.conj(Ga_) * Gb_ / (1 - rho * g2 * np.conj(Ga_) * Gb_))
        X /= 1 - rho * g4 * np.abs(Ga_) ** 2 * Gb_**2
        Gbc = np.conj(Gb_)
        Y = Gbc * Ca_ * (1 + rho * g2 * Ga_ * Gbc / (1 - rho * g2 * Ga_ * Gbc)
                         + g2 * np.conj(Ga_) * Gbc / (1 - g2 * np.conj(Ga_) * Gbc))
        Y /= 1 - rho * g4 * np.abs(Ga_) ** 2 * Gbc**2
        return X, Y

    def psi_block(sl):
        G1, C1 = G[sl][:, None], C[sl][:, None]
        G2, C2 = G[None, :], C[None, :]
        X12, Y12 = XY(G[sl], G, C[sl])
        X21, Y21 = (m.T for m in XY(G, G[sl], C))
        a1, a2 = np.abs(G1) ** 2, np.abs(G2) ** 2
        AB = rho * g4 * (a1 * C2 * (G2 * X12 + np.conj(G2) * Y12)
                         + a2 * C1 * (G1 * X21 + np.conj(G1) * Y21))
        u = g2 * G1 * G2
        v = rho * g2 * G1 * np.conj(G2)
        BB = C1 * C2 * 2 * (u / (1 - u) + v / (1 - v)).real
        num = g4 * a1 * a2 * C1 * C2 + AB + BB
        return num / (1 - g4 * a1 * a2)

    ps = _double_sum(w, psi_block)
    c0 = float(w @ C)
    return {"psi": ps, "Psi": c0**2 + ps, "pr": c0**2 / (c0**2 + ps), "c0": c0}


# --------------------------------------------------------------------------------------
# finite N: exact Lyapunov route
# --------------------------------------------------------------------------------------

def sample_coupling(N, g, rho=0.0, J0=0.0, rng=None):
    """J = J0/N + (g/√N) Z, Z_ij = a X_ij + b X_ji (i≠j), Var Z = 1, corr(Z_ij, Z_ji) = ρ;
    Z_ii = X_ii (diagonal kept, variance g²/N)."""
    rng = np.random.default_rng(rng)
    X = rng.standard_normal((N, N))
    a = (math.sqrt(1 + rho) + math.sqrt(1 - rho)) / 2
    b = (math.sqrt(1 + rho) - math.sqrt(1 - rho)) / 2
    Z = a * X + b * X.T
    np.fill_diagonal(Z, np.diag(X))
    return J0 / N + g / math.sqrt(N) * Z


def linear_network_covariance(J, D, delta=None):
    """Equal-time covariance: A C + C Aᵀ + D·1 = 0 (A = −1 + J), or for the map
    C = M C Mᵀ + δD·1 (M = (1−δ)1 + δJ)."""
    N = len(J)
    if delta is None:
        return stationary_covariance(J - np.eye(N), D * np.eye(N))
    Mm = (1 - delta) * np.eye(N) + delta * J
    return linalg.solve_discrete_lyapunov(Mm, delta * D * np.eye(N), method="bilinear")


def linear_network_pr(N, g, rho=0.0, D=1.0, seeds=(0, 1, 2, 3), J0=0.0, delta=None) -> dict:
    """Finite-N linear network: mean and standard error over seeds of PR/N,
    N·Var(population average) = 1ᵀC1/N and N·mean_{i≠j}C_ij(0)."""
    rows = []
    for s in seeds:
        C = linear_network_covariance(sample_coupling(N, g, rho, J0, rng=s), D, delta)
        tr = np.trace(C)
        tot = C.sum()
        rows.append((tr**2 / (N * np.sum(C * C)), tot / N, N * (tot - tr) / (N * (N - 1)),
                     tr / N))
    rows = np.array(rows)
    mean = rows.mean(0)
    se = rows.std(0, ddof=1) / math.sqrt(len(rows)) if len(rows) > 1 else np.full(4, np.nan)
    keys = ("pr", "var_pop", "cross", "c0")
    return {k: (float(m), float(e)) for k, m, e in zip(keys, mean, se, strict=True)}


# --------------------------------------------------------------------------------------
# reciprocity ρ with a non-Gaussian site: the two-point statistics of the site as input
# --------------------------------------------------------------------------------------

@dataclass
class SiteSpectra:
    r"""Two-point statistics of a stationary single site (callables of ω, vectorised).

    Attributes
    ----------
    R_x, R_phi : callable
        Linear responses of x and of φ(x) to an additive input at the site (the full DMFT
        site, i.e. including its self-coupling loop ρg²∫R_φφ), R(ω) = ∫_0^∞ R(τ)e^{−iωτ}dτ.
    C_x, C_phi : callable
        Real, even, connected auto-spectra of x and φ(x).
    C_xphi : callable
        Cross-spectrum ∫⟨δx(t+τ)δφ(t)⟩e^{−iωτ}dτ; complex in general (a non-Gaussian site
        need not be reversible).  C_φx(ω) = C_xphi(ω)^* is implied.
    g, rho : float
        Coupling statistics: Var J_ij = g²/N, corr(J_ij, J_ji) = ρ (J0 = 0).
    delta : float or None
        Frequency grid only: None for continuous time (θ = arctan ω), δ for a map
        (periodic grid on [−π, π)).  The cavity algebra is the same for both.
    """

    R_x: object
    R_phi: object
    C_x: object
    C_phi: object
    C_xphi: object
    g: float
    rho: float
    delta: float | None = None

    @classmethod
    def from_mean_field(cls, mf: MeanField) -> SiteSpectra:
        """ρ = 0 Gaussian site: R_x = S_x, R_φ = ⟨φ'⟩S_x, C_xφ = ⟨φ'⟩C_x (Price)."""
        a = mf.slope
        return cls(R_x=mf.susceptibility, R_phi=lambda w: a * mf.susceptibility(w),
                   C_x=mf.spectrum_x, C_phi=mf.spectrum_phi,
                   C_xphi=lambda w: a * mf.spectrum_x(w), g=mf.g, rho=0.0, delta=mf.delta)

    @classmethod
    def from_linear(cls, lt: LinearTheory) -> SiteSpectra:
        """Linear φ: R_x = R_φ = G, C_x = C_φ = C_xφ = C."""
        return cls(R_x=lt.G, R_phi=lt.G, C_x=lt.spectrum, C_phi=lt.spectrum,
                   C_xphi=lt.spectrum, g=lt.g, rho=lt.rho, delta=lt.delta)

    def check(self) -> None:
        """Raise ValueError for parameters outside the theory (|ρ| > 1, g < 0, non-finite)."""
        vals = {}
        for name in ("g", "rho"):
            v = getattr(self, name)
            try:
                vals[name] = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"SiteSpectra.{name} must be a real number, got {v!r}") from None
            if not math.isfinite(vals[name]):
                raise ValueError(f"SiteSpectra.{name} must be finite, got {v!r}")
        if vals["g"] < 0:
            raise ValueError(f"SiteSpectra.g must be ≥ 0, got {self.g}")
        if abs(vals["rho"]) > 1:
            raise ValueError(f"SiteSpectra.rho must lie in [−1, 1] (a correlation), "
                             f"got {self.rho}")
        if self.delta is not None and not 0 < float(self.delta) <= 1:
            raise ValueError(f"SiteSpectra.delta must be None or in (0, 1], got {self.delta}")

    def evaluate(self, omega) -> dict:
        """The five spectra at ω (arrays), validated: finite, C_x and C_φ real, and the
        loop condition g²|R_φ(ω)|² < 1 under which all cavity resummations converge."""
        self.check()
        omega = np.asarray(omega, dtype=float)
        out = {}
        for name in ("R_x", "R_phi", "C_x", "C_phi", "C_xphi"):
            fn = getattr(self, name)
            if not callable(fn):
                raise ValueError(f"SiteSpectra.{name} must be a callable of ω")
            v = np.broadcast_to(np.asarray(fn(omega), dtype=complex), omega.shape)
            if not np.all(np.isfinite(v)):
                bad = omega[~np.isfinite(v)]
                raise ValueError(f"SiteSpectra.{name} is not finite at ω = {bad[:3]} "
                                 f"({bad.size} of {omega.size} nodes)")
            out[name] = v
        for name in ("C_x", "C_phi"):
            v = out[name]
            scale = max(float(np.max(np.abs(v))), 1e-300)
            if np.max(np.abs(v.imag)) > 1e-9 * scale:
                raise ValueError(f"SiteSpectra.{name} must be real (an auto-spectrum); "
                                 f"max |Im| = {np.max(np.abs(v.imag)):.3g}")
            out[name] = v.real.copy()
        loop = float(self.g) ** 2 * np.abs(out["R_phi"]) ** 2
        if np.any(loop >= 1):
            k = int(np.argmax(loop))
            raise ValueError(f"g²|R_phi(ω)|² = {loop[k]:.6g} ≥ 1 at ω = {omega[k]:.4g}: the "
                             "common-input loop of the cavity does not converge (unstable or "
                             "marginal site statistics)")
        return out


def _psi_pair(s1: dict, s2: dict, g: float, rho: float) -> dict:
    r"""ψ^φ_12, ψ^x_12 (section 2b) for broadcastable site values at ω1 (s1) and ω2 (s2)."""
    g2, g4 = g**2, g**4
    R1, R2 = s1["R_phi"], s2["R_phi"]
    C1, C2 = s1["C_phi"], s2["C_phi"]
    a1, a2 = np.abs(R1) ** 2, np.abs(R2) ** 2
    F12 = 1 / (1 - g2 * R1 * R2)                       # N E[T_ij(1)T_ij(2)]/g²
    H12 = 1 / (1 - rho * g2 * R1 * np.conj(R2))        # N E[T_ij(1)T_ji(2)^*]/(ρg²)
    H21 = 1 / (1 - rho * g2 * np.conj(R1) * R2)        # N E[T_ji(1)^*T_ij(2)]/(ρg²)
    X12 = C1 * R2 * (F12 + H21 - 1) / (1 - rho * g4 * a1 * R2**2)
    Y12 = C1 * np.conj(R2) * (H12 + np.conj(F12) - 1) / (1 - rho * g4 * a1 * np.conj(R2) ** 2)
    X21 = C2 * R1 * (F12 + H12 - 1) / (1 - rho * g4 * a2 * R1**2)
    Y21 = C2 * np.conj(R1) * (H21 + np.conj(F12) - 1) / (1 - rho * g4 * a2 * np.conj(R1) ** 2)

    def rest(A1, B1, Bp1, A2, B2, Bp2):
        """ψ^a_12 without its A1A2g⁴Ψ^φ term."""
        return (rho * g4 * (A1 * (B2 * X12 + Bp2 * Y12) + A2 * (B1 * X21 + Bp1 * Y21))
                + g2 * (B1 * B2 * F12 + Bp1 * Bp2 * np.conj(F12))
                + rho * g2 * (B1 * Bp2 * H12 + Bp1 * B2 * H21))

    def coeffs(s, a):
        if a == "phi":
            R, C = s["R_phi"], s["C_phi"]
            return np.abs(R) ** 2, R * C, C * np.conj(R)
        R, Cxp = s["R_x"], s["C_xphi"]
        return np.abs(R) ** 2, R * np.conj(Cxp), Cxp * np.conj(R)

    cp = coeffs(s1, "phi"), coeffs(s2, "phi")
    loop = g4 * a1 * a2
    psi_phi = (loop * C1 * C2 + rest(*cp[0], *cp[1])) / (1 - loop)
    Psi_phi = C1 * C2 + psi_phi
    cx = coeffs(s1, "x"), coeffs(s2, "x")
    psi_x = cx[0][0] * cx[1][0] * g4 * Psi_phi + rest(*cx[0], *cx[1])
    return {"psi_phi": psi_phi, "psi_x": psi_x}


def psi_spectral(site: SiteSpectra, omega1, omega2) -> dict:
    r"""ψ^x(ω1, ω2), ψ^φ(ω1, ω2) = N E[C_ij(ω1)C_ij(ω2)] (i ≠ j) on the outer grid.

    Parameters
    ----------
    site : SiteSpectra
    omega1, omega2 : array_like, 1-d
        Frequencies; the result has shape (len(omega1), len(omega2)).

    Returns
    -------
    dict with complex arrays ``psi_x``, ``psi_phi`` (section 2b of the module docstring).
    """
    om1 = np.atleast_1d(np.asarray(omega1, dtype=float))
    om2 = np.atleast_1d(np.asarray(omega2, dtype=float))
    v1, v2 = site.evaluate(om1), site.evaluate(om2)
    s1 = {k: v[:, None] for k, v in v1.items()}
    s2 = {k: v[None, :] for k, v in v2.items()}
    return _psi_pair(s1, s2, float(site.g), float(site.rho))


def psi_general(site: SiteSpectra, M: int = 4096) -> dict:
    r"""ψ(0,0), Ψ(0,0) and PR/N of x and φ from a site's two-point statistics, any ρ.

    Parameters
    ----------
    site : SiteSpectra
        R_x, R_φ, C_x, C_φ, C_xφ of the full (self-coupled) site, g, ρ.
    M : int
        Nodes of the frequency grid (:func:`frequency_grid`); the double integral
        ψ(0,0) = ∬dω1dω2/(2π)² ψ(ω1, ω2) is a double midpoint sum.

    Returns
    -------
    dict
        ``psi_x``, ``psi_phi`` (ψ(0,0)), ``Psi_x``, ``Psi_phi`` (C(0)² + ψ(0,0)),
        ``pr_x``, ``pr_phi`` (PR/N = C(0)²/Ψ(0,0)), ``c0_x``, ``c0_phi`` (C(0) by the same
        quadrature of the given spectra).

    Raises
    ------
    ValueError
        |ρ| > 1, g < 0, non-finite or complex auto-spectra, g²|R_φ|² ≥ 1 on the grid,
        or a non-finite result.
    """
    if not isinstance(M, (int, np.integer)) or M < 2:
        raise ValueError(f"M must be an integer ≥ 2, got {M!r}")
    site.check()
    om, w = frequency_grid(site.delta, int(M))
    v = site.evaluate(om)
    g, rho = float(site.g), float(site.rho)
    # one pass over the k-blocks gives both ψ^φ and ψ^x (as _double_sum, for two at once)
    sums = {"phi": 0.0, "x": 0.0}
    s2 = {k: a[None, :] for k, a in v.items()}
    for start in range(0, len(w), 512):
        sl = slice(start, start + 512)
        pair = _psi_pair({k: a[sl][:, None] for k, a in v.items()}, s2, g, rho)
        for name in sums:
            sums[name] += np.einsum("k,kl,l->", w[sl], pair[f"psi_{name}"], w).real
    out = {}
    for name in ("phi", "x"):
        ps = float(sums[name])
        c0 = float(w @ v[f"C_{name}"])
        if not (math.isfinite(ps) and math.isfinite(c0)) or c0 <= 0 or c0**2 + ps <= 0:
            raise ValueError(f"psi_general: C_{name}(0) = {c0!r}, ψ_{name}(0,0) = {ps!r} "
                             "(non-finite or non-positive; check the site spectra)")
        out[f"psi_{name}"] = ps
        out[f"Psi_{name}"] = c0**2 + ps
        out[f"pr_{name}"] = c0**2 / (c0**2 + ps)
        out[f"c0_{name}"] = c0
    return out


@dataclass
class LinearSurrogate:
    r"""A linear Gaussian network whose units have different x and φ responses and spectra.

    Per unit (h = Jφ, J from :func:`sample_coupling`, ζ1, ζ2 unit white noises):

        τ dφ/dt = −φ + a h + s1 ζ1,     dx/dt = −x + h + s2 ζ1 + s3 ζ2,

    i.e. φ = R0_φ h + μ, x = R0_x h + ν with R0_φ = a/(1+iωτ), R0_x = 1/(1+iω),
    μ = s1ζ1/(1+iωτ), ν = (s2ζ1 + s3ζ2)/(1+iω) (S_νμ = ⟨νμ^*⟩ complex: irreversible).
    Stable for a g (1 + |ρ|) < 1.  Its N → ∞ site (:meth:`site`): the input is
    η + ρg²R_φ φ (η Gaussian, spectrum g²C_φ, independent of μ, ν), so
    R_φ = R0_φ(1 + ρg²R_φ²) (root R_φ → R0_φ as ρ → 0), R_x = R0_x R_φ/R0_φ and
    φ = R_φη + q, x = R_xη + p with q = (R_φ/R0_φ)μ, p = ρg²R_xR_φ μ + ν:
    C_φ = S_qq/(1 − g²|R_φ|²), C_x = g²|R_x|²C_φ + S_pp, C_xφ = g²R_xR_φ^*C_φ + S_pq.
    """

    g: float
    rho: float
    a: float = 0.4
    tau: float = 2.5
    s1: float = 1.0
    s2: float = 0.8
    s3: float = 0.6

    def bare(self, omega) -> dict:
        """R0_x, R0_φ and the noise spectra S_μ, S_ν, S_νμ = ⟨νμ^*⟩ at ω."""
        w = np.asarray(omega, dtype=float)
        lx, lp = 1 / (1 + 1j * w), 1 / (1 + 1j * w * self.tau)
        return {"R0_x": lx, "R0_phi": self.a * lp, "S_mu": self.s1**2 * np.abs(lp) ** 2,
                "S_nu": (self.s2**2 + self.s3**2) * np.abs(lx) ** 2,
                "S_numu": self.s2 * self.s1 * lx * np.conj(lp)}

    def site(self) -> SiteSpectra:
        """The N → ∞ single-site statistics (closed forms, see the class docstring)."""
        g2, rho = self.g**2, self.rho

        def parts(w):
            b = self.bare(w)
            r0 = b["R0_phi"]
            Rp = 2 * r0 / (1 + np.sqrt(1 - 4 * rho * g2 * r0**2))
            Rx = b["R0_x"] * Rp / r0
            kq = Rp / r0                                   # q = kq μ
            kp = rho * g2 * Rx * Rp                        # p = kp μ + ν
            Sqq = np.abs(kq) ** 2 * b["S_mu"]
            Spp = (np.abs(kp) ** 2 * b["S_mu"] + b["S_nu"]
                   + 2 * (kp * np.conj(b["S_numu"])).real)
            Spq = kp * np.conj(kq) * b["S_mu"] + np.conj(kq) * b["S_numu"]
            Cp = Sqq / (1 - g2 * np.abs(Rp) ** 2)
            return {"R_x": Rx, "R_phi": Rp, "C_phi": Cp,
                    "C_x": g2 * np.abs(Rx) ** 2 * Cp + Spp,
                    "C_xphi": g2 * Rx * np.conj(Rp) * Cp + Spq}

        return SiteSpectra(R_x=lambda w: parts(w)["R_x"], R_phi=lambda w: parts(w)["R_phi"],
                           C_x=lambda w: parts(w)["C_x"], C_phi=lambda w: parts(w)["C_phi"],
                           C_xphi=lambda w: parts(w)["C_xphi"], g=self.g, rho=self.rho)

    def covariances(self, J, omega: float) -> tuple:
        """Exact finite-N spectral matrices (C^x(ω), C^φ(ω)), C_ij(ω) = ⟨a_i(ω)a_j(ω)^*⟩:
        φ = Mμ, M = (1 − R0_φJ)⁻¹;  x = Kμ + ν, K = R0_x J M."""
        b = self.bare(omega)
        N = len(J)
        Mm = np.linalg.inv(np.eye(N) - b["R0_phi"] * J)
        K = b["R0_x"] * (J @ Mm)
        Cp = b["S_mu"] * (Mm @ Mm.conj().T)
        Cx = (b["S_mu"] * (K @ K.conj().T) + np.conj(b["S_numu"]) * K
              + b["S_numu"] * K.conj().T + b["S_nu"] * np.eye(N))
        return Cx, Cp

    def lag_zero_covariances(self, J) -> tuple:
        """Exact equal-time covariances (C^x(0), C^φ(0)) of the 2N-dimensional linear SDE
        (Lyapunov equation A Σ + Σ Aᵀ + B Bᵀ = 0)."""
        N = len(J)
        one = np.eye(N)
        A = np.block([[-one, J], [np.zeros((N, N)), (self.a * J - one) / self.tau]])
        BB = np.block([[(self.s2**2 + self.s3**2) * one, self.s2 * self.s1 / self.tau * one],
                       [self.s2 * self.s1 / self.tau * one, (self.s1 / self.tau) ** 2 * one]])
        S = stationary_covariance(A, BB)
        return S[:N, :N], S[N:, N:]


def offdiagonal_product_mean(C1, C2) -> complex:
    """N·mean_{i≠j} C1_ij C2_ij (the finite-N estimate of ψ(ω1, ω2), or of ψ(0,0))."""
    N = len(C1)
    tot = np.sum(C1 * C2) - np.sum(np.diag(C1) * np.diag(C2))
    return complex(tot / (N - 1))
