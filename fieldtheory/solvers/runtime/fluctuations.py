r"""O(1/N) observables from the Gaussian fluctuations around the saddle point.

The fluctuation stage (:mod:`fieldtheory.transforms.fluctuations`) gives the Hessian H of
N·S[Q, Q̃]; :mod:`fieldtheory.codegen.fluctuations` lowers it at numbers to a
:class:`FluctuationSpec`: every field δQ_a (one- or two-time), the explicit entries
(coefficients of δ functions of the times) and the single-site entries ⟨O_a; O_b⟩_c with
the composite O of every conjugate field. This runtime evaluates it for a stationary
Gaussian site (x Gaussian: linear drift, no response kernel), the case of Clark, Abbott &
Litwin-Kumar, PRL 131, 118401 (2023) and Clark et al., arXiv:2409.01969.

**Leading singularities.** For stationary statistics a two-time cumulant
⟨A(t)B(s); C(t₃)D(t₄)⟩_c contains G_AC(t−t₃)G_BD(s−t₄) + G_AD(t−t₄)G_BC(s−t₃) (clustering:
what survives when the pair (t, t₃) is far from (s, t₄)), whose Fourier transform carries
two δ functions of the frequencies; the genuinely connected rest carries one. The
two-point statistics ψ(τ₁, τ₂) of the cross-covariances are the coefficient of the two-δ
part of the covariance of δC: they follow from the two-δ part of H alone, which at each
frequency pair (ω₁, ω₂) is a finite matrix on the basis (q(ω₁, ω₂), q(ω₂, ω₁)) of every
two-time field (a kernel a(t−t₃)b(s−t₄) acts as diag(â(ω₁)b̂(ω₂), â(ω₂)b̂(ω₁)), a crossed
one a(t−t₄)b(s−t₃) as [[0, â(ω₁)b̂(ω₂)], [â(ω₂)b̂(ω₁), 0]]). One-time fields (the
population averages m, m̃) are diagonal in one frequency.

**Composite observables.** The covariance of X = (1/N)Σ_i A_i(t)A_i(s) (or of
(1/N)Σ_i A_i(t)) follows by a source j coupled to X in every site: integrating the
Gaussian fluctuations,

.. math::  N\,\mathrm{Cov}(X, X) = \sum_\alpha f_\alpha s_\alpha^2 K_\alpha
           - b\, H^{-1} b^{\mathsf T}, \qquad b_F = f_\alpha s_\alpha \langle X; O_F\rangle_c,

with K_α = ⟨X; X⟩_c over the site of population α and s_α the source per site (1 for the
network, 1/f_α for a population's own average, whose N_α·Cov is f_α times the above).
For X = x x or φ φ, the straight part of the symbol of N·Cov is Ψ(ω₁, ω₂) =
C(ω₁)C(ω₂) + ψ(ω₁, ω₂), so Ψ(0, 0) = C(0)² + ψ(0, 0) and PR/N = C(0)²/Ψ(0, 0); for
X = (1/N)Σ A_i it is the population spectrum N·S(ω).

**Scope.** The site must be Gaussian and symmetric: one field, linear drift, no response
kernel, zero mean. Where a cumulant mixing one- and two-time fields need not vanish
(⟨φφ; φ⟩_c of a site with a nonzero mean or an even φ) the population observables are
refused (SolverInputError), since the one-time sector then receives loops of the two-time
one; the two-δ part (ψ, PR) is unaffected by them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fieldtheory.solvers.runtime.common import (
    ConvergenceError,
    SolverInputError,
    gauss_legendre,
    register_runtime,
)
from fieldtheory.solvers.runtime.kernel import susceptibility
from fieldtheory.solvers.runtime.quadrature import gaussian_mean, pair_table

# ------------------------------------------------------------------------ the lowered stage


@dataclass(frozen=True)
class Factor:
    """What a composite holds at one of its times: the field x, the response field x̃, or a
    function f(x) (with f', its parity +1 even, −1 odd, 0 neither, and a label)."""

    kind: str  # "x", "response" or "function"
    label: str
    function: Callable | None = field(default=None, compare=False)
    derivative: Callable | None = field(default=None, compare=False)
    parity: int = 0

    @property
    def sign(self) -> int:
        """The factor's parity under x → −x (x and x̃ are odd)."""
        return -1 if self.kind in ("x", "response") else self.parity


X_FACTOR = Factor("x", "x", parity=-1)
RESPONSE_FACTOR = Factor("response", "x~", parity=-1)


@dataclass(frozen=True)
class Composite:
    """c·Πₖ Gₖ^{nₖ}·Π_k F_k(time k) over one population's site: one factor per time
    argument; ``quenched`` the powers (name, n) of per-unit quenched variables (gains),
    ``moments`` their moment tables (name, (q₀, q₁, …)) — a site whose dynamics do not
    depend on G has ⟨G^a A; G^b B⟩ = q_{a+b}⟨A; B⟩ in every part that pairs times
    (:func:`pair_moment`)."""

    population: str
    factors: tuple[Factor, ...]
    coefficient: float = 1.0
    quenched: tuple[tuple[str, int], ...] = ()
    moments: tuple[tuple[str, tuple[float, ...]], ...] = ()

    @property
    def arity(self) -> int:
        return len(self.factors)

    @property
    def parity(self) -> int:
        signs = [f.sign for f in self.factors]
        return 0 if 0 in signs else int(np.prod(signs))


def pair_moment(left: Composite, right: Composite) -> float:
    """⟨G^{a+b}⟩ for the quenched powers a of ``left`` and b of ``right`` (1 without)."""
    if not left.quenched and not right.quenched:
        return 1.0
    table = dict(left.moments or right.moments)
    total: dict[str, int] = {}
    for name, power in (*left.quenched, *right.quenched):
        total[name] = total.get(name, 0) + power
    try:
        return math.prod(table[name][power] for name, power in total.items())
    except (KeyError, IndexError):
        raise SolverInputError(f"no moment of order {total} of the quenched variables "
                               f"{sorted(table)}") from None


@dataclass(frozen=True)
class FieldSpec:
    """δQ (``conjugate`` False) or δQ̃; ``partner`` is the index of the other of the pair;
    ``composite`` (conjugates only) is the site composite O the conjugate couples to."""

    name: str
    population: str
    arity: int
    conjugate: bool
    partner: int
    composite: Composite | None = None


@dataclass(frozen=True)
class Kernel:
    """G_PQ(τ) = ⟨P(t+τ)Q(t)⟩_c over one population's site, τ = row time − column time:
    the saddle value of an order parameter inside an explicit Hessian block."""

    population: str
    left: Factor
    right: Factor
    scale: float = 1.0  # the saddle value is scale·G_PQ (a gain moment q_k, …)

    @property
    def reversed(self) -> Kernel:
        """G_PQ(−τ) = G_QP(τ)."""
        return Kernel(self.population, self.right, self.left, self.scale)


@dataclass(frozen=True)
class ExplicitEntry:
    """H[row, column] ⊃ coefficient × a product pairing each row time with a column time:
    δ(t−t₃)δ(s−t₄) "straight", δ(t−t₄)δ(s−t₃) "crossed", δ(t−s) "local"; ``kernels``
    (slot of the row time t, slot of s) replace a δ by a :class:`Kernel` of the pair's
    time difference (a higher cumulant's Q_B Q_B; None: the δ)."""

    row: int
    column: int
    coefficient: float
    pattern: str
    kernels: tuple = (None, None)


#: Slot kernels of a :class:`ModeEntry` and their reversal k(τ) → k(−τ).
_REVERSED = {"1": "1", "B": "B~", "B~": "B", "Γ": "Γ~", "Γ~": "Γ"}


@dataclass(frozen=True, eq=False)
class ModeEntry:
    r"""H[row, column] ⊃ Σ_k c_k k₀(t − ·)k₁(s − ·) over the mode nodes k (strength d_k,
    sign σ_k): a resummed correlated-mode term (:mod:`fieldtheory.transforms.resummation`).
    ``pattern`` as for :class:`ExplicitEntry`; the slot kernels (of row − column time) are
    "1" (δ), "B" b̂ = 1/(1 − dρσR̂(ω)), "Γ" γ̂ = d Ĉ(ω) b̂(ω) b̂(−ω), "~" reversed (ω → −ω);
    R̂ and Ĉ are the site spectra of ``response`` (⟨B(t+τ) x̃(t)⟩) and ``correlation``
    (⟨B B⟩). ``coefficients`` c_k already hold the mode weights (α w, ½ per sign)."""

    row: int
    column: int
    pattern: str
    kernels: tuple[str, str]
    coefficients: np.ndarray
    feedback: np.ndarray  # d_k ρ σ_k
    strengths: np.ndarray  # d_k
    response: Kernel
    correlation: Kernel

    def transposed(self) -> ModeEntry:
        first, second = (_REVERSED[k] for k in self.kernels)
        kernels = (second, first) if self.pattern == "crossed" else (first, second)
        return ModeEntry(self.column, self.row, self.pattern, kernels, self.coefficients,
                         self.feedback, self.strengths, self.response, self.correlation)

    def spectra(self, spectra, name: str, omega: np.ndarray) -> np.ndarray:
        """The slot kernel ``name`` at every node and frequency, (nodes, len omega)."""
        if name == "1":
            return np.ones((self.feedback.size, omega.size), dtype=complex)
        reverse = name.endswith("~")
        w = -omega if reverse else omega
        b = 1.0 / (1.0 - self.feedback[:, None] * _kernel_spectrum(spectra, self.response, w))
        if name.startswith("B"):
            return b
        back = 1.0 / (1.0 - self.feedback[:, None] * _kernel_spectrum(spectra, self.response,
                                                                        -w))
        c = _kernel_spectrum(spectra, self.correlation, w)
        return self.strengths[:, None] * c[None, :] * b * back


@dataclass(frozen=True)
class SiteEntry:
    """H[row, column] ⊃ weight × ⟨left; right⟩_c (conjugate fields of one population)."""

    row: int
    column: int
    weight: float
    left: Composite
    right: Composite


@dataclass(frozen=True)
class FluctuationSpec:
    """The Hessian of N·S at numbers (upper triangle; H is symmetric), the populations'
    fractions f_α, their observed φ, and the time step (None: continuous time);
    ``outputs`` the quenched powers in each population's output Φ = Gᵏφ (empty: Φ = φ)
    and ``moments`` the quenched variables' moment tables."""

    fields: tuple[FieldSpec, ...]
    explicit: tuple[ExplicitEntry, ...]
    site: tuple[SiteEntry, ...]
    populations: tuple[str, ...]
    fractions: tuple[float, ...]
    phi: tuple[Factor, ...]
    step: float | None = None
    outputs: tuple[tuple[tuple[str, int], ...], ...] = ()
    moments: tuple[tuple[str, tuple[float, ...]], ...] = ()
    modes: tuple[ModeEntry, ...] = ()  # resummed correlated-mode entries (upper triangle)


@dataclass(frozen=True)
class SiteStatistics:
    """The stationary Gaussian site of one population at the saddle point.

    ``lags``: lags τ ≥ 0 (in units of the step for maps, then integers); ``covariance``:
    C_x(τ) − mean² there; ``leak``: a in ∂_t x = −a x + … (maps: x(n+1) = (1 − a)x(n) + …);
    ``kernel``: K = Σ_j κ_j c_j c'_j of response terms κ_j ∫R_j(t,s) h_j(x(s)) whose
    functions are linear, R_j = c_j R_x and h_j = c'_j x (partial symmetry of a linear
    network: the site stays Gaussian, with the self-consistent response of
    :func:`response_spectrum`). ``network``: (leaks (P,), K (P, P), own index α) where
    kernels couple populations (block partial symmetry, K_αβ over the responses of β): the
    response is then the α-th of the joint χ_α = 1/(b_α − Σ_β K_αβ χ_β)
    (:func:`network_response`), and ``kernel`` is unused.
    """

    mean: float
    lags: np.ndarray
    covariance: np.ndarray
    leak: float
    kernel: float = 0.0
    network: tuple | None = None


@dataclass(frozen=True)
class FluctuationProblem:
    """What the fluctuation runtimes take: the lowered Hessian and each population's site."""

    spec: FluctuationSpec
    sites: dict


# ----------------------------------------------------------------- frequency quadrature

#: The largest frequency of the continuous-time quadrature (spectra with 1/ω² tails).
MAX_OMEGA = 1e4

#: default ``spectral_floor``: the grid reaches where the spectra fall below it (relative)
SPECTRAL_FLOOR = 1e-13


def graded_nodes(width: float, finest: float, order: int = 12) -> tuple[np.ndarray, np.ndarray]:
    r"""Gauss–Legendre nodes and weights on [−width, width], panels graded geometrically
    (ratio 2) from ``finest`` at ω = 0: resolves the near-singular structure of the
    fluctuation propagators at small ω (the width of 1/|1 − g²S(ω₁)S(ω₂)|² is
    1 − g²⟨φ'⟩², that of the population mode 1 − J0⟨φ'⟩)."""
    edges = [0.0]
    edge = finest
    while edge < width:
        edges.append(edge)
        edge *= 2.0
    edges.append(width)
    x, w = gauss_legendre(order)
    nodes, weights = [], []
    for lo, hi in itertools.pairwise(edges):
        half = (hi - lo) / 2
        nodes.append(lo + half * (x + 1))
        weights.append(half * w)
    nodes, weights = np.concatenate(nodes), np.concatenate(weights)
    return np.concatenate([-nodes[::-1], nodes]), np.concatenate([weights[::-1], weights])


def cosine_transform(values: np.ndarray, lags: np.ndarray, omega: np.ndarray,
                     discrete: bool) -> np.ndarray:
    r"""Ĝ(ω) = Σ_τ G(|τ|) e^{−iωτ} of an even function given at lags τ ≥ 0.

    Maps: G₀ + 2Σ_{k≥1} G_k cos ωk. Continuous time (uniform lags h): a noisy site's
    correlations have a kink at τ = 0 (G'(0⁺) = −D/2 for x), which would leave the
    trapezoid rule an error O(h²ω²) growing with ω; the kink is taken out first,
    G = K + (G − K) with K(τ) = −G'(0⁺)e^{−|τ|} (transform −2G'(0⁺)/(1 + ω²), exact), and
    the smooth rest is summed by the trapezoid rule h[R₀ + 2Σ_{k≥1} R_k cos ωτ_k], whose
    error is then O(h⁴) at every ω. G'(0⁺) comes from a one-sided fourth-order difference
    (≈ 0, and harmless, for a smooth G). Beyond half the Nyquist frequency π/h the rest,
    smooth, has decayed and only the kink's transform is kept (no aliased sums), so the
    spectra of a noisy site reach any ω with their exact 1/ω² tail.
    """
    weights = np.full(lags.shape, 2.0)
    weights[0] = 1.0
    if discrete:
        return cosine_sum(weights * values, 1.0, omega)
    h = lags[1] - lags[0]
    slope = (-25 * values[0] + 48 * values[1] - 36 * values[2] + 16 * values[3]
             - 3 * values[4]) / (12 * h)
    rest = values + slope * np.exp(-lags)
    inside = np.abs(omega) <= math.pi / (2 * h)
    smooth = np.zeros(omega.shape)
    smooth[inside] = h * cosine_sum(weights * rest, h, omega[inside])
    return smooth - 2 * slope / (1 + omega**2)


def cosine_sum(coefficients: np.ndarray, step: float, grid: np.ndarray) -> np.ndarray:
    r"""Σ_j c_j cos(ω τ_j), τ_j = j·step, at every ω of ``grid``.

    On a uniform grid 0, dω, 2dω, … with step·dω = 2π/M (M an integer ≥ the number of
    coefficients) this is the real part of a length-M FFT (exact, not an approximation:
    cos(k dω j step) = cos(2π jk/M)); otherwise the direct sum.
    """
    grid = np.asarray(grid, dtype=float)
    if grid.size > 64 and grid[0] == 0.0:
        d = grid[1] - grid[0]
        M = round(2 * math.pi / (step * d))
        k = np.rint(grid / d).astype(np.int64)
        if (M >= coefficients.size and abs(M * step * d - 2 * math.pi) < 1e-9
                and np.all(np.abs(grid - k * d) <= 1e-9 * d) and k.max() < M):
            return np.fft.fft(coefficients, n=M).real[k]
    return np.cos(np.outer(grid, step * np.arange(coefficients.size))) @ coefficients


def response_spectrum(leak: float, omega: np.ndarray, discrete: bool,
                      kernel: float = 0.0) -> np.ndarray:
    r"""R̂(ω) = Σ_τ e^{−iωτ} ⟨x(t + τ) x̃(t)⟩ of the Gaussian site.

    Without a response kernel: 1/b(ω) with b = a + iω for ∂_t x = −a x + …; for a map
    x(n+1) = (1 − a)x(n) + input(n), R(k) = (1 − a)^{k−1} (k ≥ 1) and b = e^{iω} − (1 − a).
    With the kernel K R̂ x of partial symmetry (K = g²ρ for a linear network) the response
    solves K R̂² − b R̂ + 1 = 0; the causal root, continuous in K from 1/b, is
    R̂ = b(1 − √(1 − 4K/b²))/(2K) (the elliptic-law resolvent; Sommers et al., PRL 60,
    1895 (1988)).
    """
    b = np.exp(1j * omega) - (1 - leak) if discrete else leak + 1j * omega
    if kernel == 0.0:
        return 1.0 / b
    return b * (1 - np.sqrt(1 - 4 * kernel / b**2)) / (2 * kernel)


def network_response(network: tuple, omega: np.ndarray, discrete: bool) -> np.ndarray:
    r"""R̂_α(ω) of population α when response kernels couple populations: the physical
    (causal) solution of χ_β = 1/(b_β − Σ_γ K_βγ χ_γ) for every β, b as in
    :func:`response_spectrum`, by the contracting iteration from χ = 1/b (the kernel
    runtime's :func:`~fieldtheory.solvers.runtime.kernel.susceptibility`)."""
    leaks, matrix, own = network
    P = len(leaks)
    return susceptibility(leaks, matrix, list(range(P)), omega, discrete=discrete)[own]


class _Spectra:
    """The site two-point spectra Ĝ_PQ(ω) = Σ_τ e^{−iωτ}⟨P(t+τ)Q(t)⟩_c of one population,
    for factors x, x̃ and functions of x (a Gaussian site: Stein's lemma
    ⟨f(x)x⟩_c = ⟨f'⟩C_x, ⟨f(x(t)) x̃(s)⟩ = ⟨f'⟩R(t−s))."""

    def __init__(self, site: SiteStatistics, discrete: bool):
        self.site = site
        self.lags = site.lags
        self.discrete = discrete
        self.c0 = float(site.covariance[0])
        self._gain: dict[str, float] = {}
        self._pairs: dict[tuple[str, str], np.ndarray] = {}
        self._cache: dict[tuple, np.ndarray] = {}

    def gain(self, f: Factor) -> float:
        """⟨f'(x)⟩ (1 for x itself)."""
        if f.kind == "x":
            return 1.0
        if f.label not in self._gain:
            self._gain[f.label] = float(gaussian_mean(f.derivative, self.site.mean, self.c0))
        return self._gain[f.label]

    def _response(self, omega: np.ndarray) -> np.ndarray:
        s = self.site
        if s.network is not None:
            return network_response(s.network, omega, self.discrete)
        return response_spectrum(s.leak, omega, self.discrete, s.kernel)

    def pair_covariance(self, f: Factor, g: Factor) -> np.ndarray:
        """⟨f(x(t+τ)) g(x(t))⟩ − ⟨f⟩⟨g⟩ at the lags."""
        key = (f.label, g.label)
        if key not in self._pairs:
            s = self.site
            # a Chebyshev table in the covariance (converged to 1e-13), then all lags
            pair = pair_table(f.function, g.function, s.mean, self.c0)(s.covariance)
            means = (float(gaussian_mean(f.function, s.mean, self.c0))
                     * float(gaussian_mean(g.function, s.mean, self.c0)))
            self._pairs[key] = self._pairs[(g.label, f.label)] = pair - means
        return self._pairs[key]

    def __call__(self, p: Factor, q: Factor, omega: np.ndarray) -> np.ndarray:
        key = (p.kind, p.label, q.kind, q.label, omega.tobytes())
        if key not in self._cache:
            self._cache[key] = self._spectrum(p, q, np.asarray(omega, dtype=float))
        return self._cache[key]

    def _spectrum(self, p: Factor, q: Factor, omega: np.ndarray) -> np.ndarray:
        s = self.site
        if p.kind == "response" and q.kind == "response":
            return np.zeros(omega.shape, dtype=complex)
        if q.kind == "response":
            return self.gain(p) * self._response(omega)
        if p.kind == "response":
            return self.gain(q) * self._response(-omega)
        if p.kind == "x" or q.kind == "x":
            other = q if p.kind == "x" else p
            values = self.gain(other) * s.covariance
        else:
            values = self.pair_covariance(p, q)
        return cosine_transform(values, s.lags, omega, self.discrete).astype(complex)


class _OnGrid:
    """A site's spectra read on subsets of one frequency grid (sorted): each spectrum is
    transformed once on the whole grid and indexed; anything else is the site's own."""

    def __init__(self, inner, grid: np.ndarray):
        self._inner, self._grid = inner, grid

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def __call__(self, p, q, omega: np.ndarray) -> np.ndarray:
        omega = np.asarray(omega, dtype=float)
        index = np.minimum(np.searchsorted(self._grid, omega), self._grid.size - 1)
        if np.array_equal(self._grid[index], omega):
            return self._inner(p, q, self._grid)[index]
        return self._inner(p, q, omega)


# --------------------------------------------------------------------------- the symbols


def _pruned(spec: FluctuationSpec) -> list[int]:
    """Indices of the fields that matter: a pair (δQ, δQ̃) whose δQ appears only in
    −δQ δQ̃ is integrated out exactly (δQ forces δQ̃ = 0), repeatedly."""
    alive = set(range(len(spec.fields)))
    changed = True
    while changed:
        changed = False
        for i in sorted(alive):
            f = spec.fields[i]
            if f.conjugate or f.partner not in alive:
                continue
            partners = {e.column if e.row == i else e.row for e in spec.explicit
                        if i in (e.row, e.column) and e.coefficient != 0
                        and {e.row, e.column} <= alive}
            partners |= {e.column if e.row == i else e.row for e in spec.modes
                         if i in (e.row, e.column) and {e.row, e.column} <= alive}
            if partners <= {f.partner}:
                alive -= {i, f.partner}
                changed = True
    return sorted(alive)


def _site_symbol2(spectra, left: Composite, right: Composite, w1, w2):
    """The 2 × 2 two-δ symbol of ⟨left; right⟩_c on the basis (q(ω₁,ω₂), q(ω₂,ω₁)), on the
    grid ω₁ ∈ ``w1`` (rows) × ω₂ ∈ ``w2`` (columns)."""
    (l0, l1), (r0, r1) = left.factors, right.factors
    c = left.coefficient * right.coefficient * pair_moment(left, right)
    out = np.empty((w1.size, w2.size, 2, 2), dtype=complex)
    # straight a(t−t₃)b(s−t₄): â(ω₁)b̂(ω₂) on (ω₁,ω₂), â(ω₂)b̂(ω₁) on (ω₂,ω₁)
    out[..., 0, 0] = c * np.outer(spectra(l0, r0, w1), spectra(l1, r1, w2))
    out[..., 1, 1] = c * np.outer(spectra(l1, r1, w1), spectra(l0, r0, w2))
    # crossed a(t−t₄)b(s−t₃): [[0, â(ω₁)b̂(ω₂)], [â(ω₂)b̂(ω₁), 0]]
    out[..., 0, 1] = c * np.outer(spectra(l0, r1, w1), spectra(l1, r0, w2))
    out[..., 1, 0] = c * np.outer(spectra(l1, r0, w1), spectra(l0, r1, w2))
    return out


def _transposed(entry):
    """H_ba(t,s; t₃,t₄) = H_ab(t₃,t₄; t,s): kernels reversed, and a crossed pair's slots
    exchanged."""
    if isinstance(entry, SiteEntry):
        return SiteEntry(entry.column, entry.row, entry.weight, entry.right, entry.left)
    if isinstance(entry, ModeEntry):
        return entry.transposed()
    first, second = (k.reversed if k is not None else None for k in entry.kernels)
    kernels = (second, first) if entry.pattern == "crossed" else (first, second)
    return ExplicitEntry(entry.column, entry.row, entry.coefficient, entry.pattern, kernels)


def _entries(spec: FluctuationSpec, keep: list[int], arity: int):
    """Both triangles of the entries among the kept fields of one arity."""
    index = {f: k for k, f in enumerate(i for i in keep if spec.fields[i].arity == arity)}
    out = []
    for entry in (*spec.explicit, *spec.site, *spec.modes):
        if entry.row in index and entry.column in index:
            out.append(entry)
            if entry.row != entry.column:
                out.append(_transposed(entry))
    return index, out


def _hessian_two_time(spectra, index, entries, w1, w2) -> np.ndarray:
    """The two-δ symbol of H on the two-time fields, (len w1, len w2, 2n, 2n)."""
    n = len(index)
    h = np.zeros((w1.size, w2.size, 2 * n, 2 * n), dtype=complex)
    for e in entries:
        r, c = 2 * index[e.row], 2 * index[e.column]
        if isinstance(e, SiteEntry):
            h[..., r:r + 2, c:c + 2] += e.weight * _site_symbol2(
                spectra[e.left.population], e.left, e.right, w1, w2)
            continue
        if isinstance(e, ModeEntry):  # Σ_k c_k k₀(ω)k₁(ω') over the mode nodes
            a1, a2, b1, b2 = (e.spectra(spectra, name, w) for name in e.kernels
                              for w in (w1, w2))
            # Σ_k c_k a_k(ω₁) b_k(ω₂) as one matrix product (BLAS)
            first = (a1 * e.coefficients[:, None]).T @ b2
            second = (b1 * e.coefficients[:, None]).T @ a2
            if e.pattern == "straight":
                h[..., r, c] += first
                h[..., r + 1, c + 1] += second
            else:
                h[..., r, c + 1] += first
                h[..., r + 1, c] += second
            continue
        # slot kernels â (row time t), b̂ (row time s); a δ is 1
        a1, a2, b1, b2 = (_kernel_spectrum(spectra, k, w) for k in e.kernels
                          for w in (w1, w2))
        if e.pattern == "straight":  # diag(â(ω₁)b̂(ω₂), â(ω₂)b̂(ω₁))
            h[..., r, c] += e.coefficient * np.outer(a1, b2)
            h[..., r + 1, c + 1] += e.coefficient * np.outer(b1, a2)
        else:  # [[0, â(ω₁)b̂(ω₂)], [â(ω₂)b̂(ω₁), 0]]
            h[..., r, c + 1] += e.coefficient * np.outer(a1, b2)
            h[..., r + 1, c] += e.coefficient * np.outer(b1, a2)
    return h


def _kernel_spectrum(spectra, kernel: Kernel | None, omega: np.ndarray) -> np.ndarray:
    """K̂(ω) of a slot kernel (1 for a δ)."""
    if kernel is None:
        return np.ones(omega.shape, dtype=complex)
    return kernel.scale * spectra[kernel.population](kernel.left, kernel.right, omega)


def _hessian_one_time(spectra, index, entries, omega) -> np.ndarray:
    """The symbol of H on the one-time fields, (len omega, n, n)."""
    n = len(index)
    h = np.zeros((*omega.shape, n, n), dtype=complex)
    for e in entries:
        r, c = index[e.row], index[e.column]
        if isinstance(e, SiteEntry):
            (l0,), (r0,) = e.left.factors, e.right.factors
            h[..., r, c] += (e.weight * e.left.coefficient * e.right.coefficient
                             * pair_moment(e.left, e.right)
                             * spectra[e.left.population](l0, r0, omega))
        else:
            h[..., r, c] += e.coefficient
    return h


def _solve(h: np.ndarray, b: np.ndarray, what: str) -> np.ndarray:
    """H⁻¹ b, batched; a singular H (the saddle is marginal there) raises."""
    if h.shape[-1] == 0:
        return np.zeros_like(b)
    try:
        out = np.linalg.solve(h, b)
    except np.linalg.LinAlgError as error:
        raise ConvergenceError(f"{what}: the Hessian of the fluctuations is singular "
                               f"(the saddle point is marginally stable here)") from error
    if not np.all(np.isfinite(out)):
        raise ConvergenceError(f"{what}: the fluctuation propagator is not finite")
    return out


class _Scope:
    """Whose averages: the network (``population`` None: X = (1/N)Σ_i over all units,
    source 1 per site), one population α (X = (1/N_α)Σ_{i∈α}, source 1/f_α, the result
    N_α·Cov = f_α·N·Cov), or a tuple of populations (X = (1/N)Σ_{i∈α∪β…}, source 1 per
    site of those: what fixes the cross-covariances of population modes)."""

    def __init__(self, spec: FluctuationSpec, population: str | tuple | None):
        self.population = population
        self.fractions = dict(zip(spec.populations, spec.fractions, strict=True))
        self.single = isinstance(population, str)
        self.members = (spec.populations if population is None
                        else (population,) if self.single else tuple(population))
        self.scale = self.fractions[population] if self.single else 1.0

    def source(self, alpha: str) -> float:
        """s_α: the source per site of population α."""
        return 1.0 / self.fractions[alpha] if self.single else 1.0

    def diagonal_weight(self, alpha: str) -> float:
        """The weight of C_α in the i = j part of the result: f_α (network, sets) or 1."""
        return 1.0 if self.single else self.fractions[alpha]

    def trace(self, values: dict) -> float:
        """Σ_α weight_α · values_α (tr C/N of the scope from per-population C_α(0))."""
        return sum(self.diagonal_weight(a) * values[a] for a in self.members)


def _composite_covariance(spec, spectra, keep, observables, scope: _Scope, w1, w2=None,
                          both: bool = False):
    r"""The straight symbols of N·Cov(X, X), one per entry of ``observables`` (each a
    composite per population), of the scope's X: on ω ∈ ``w1`` for one-time X, on
    ω₁ ∈ ``w1`` × ω₂ ∈ ``w2`` for two-time X. N·Cov = Σ_α f_α s_α² K_α − b H⁻¹ bᵀ
    (module docstring); H is factorised once for all of them. ``both`` (two-time): the
    pair of diagonal entries [0, 0], [1, 1] of each 2 × 2 block — the second is the
    straight symbol at (ω₂, ω₁)."""
    arity = 1 if w2 is None else 2
    index, entries = _entries(spec, keep, arity)
    n = len(index)
    size = arity
    if arity == 2:
        shape = (w1.size, w2.size)
        h = _hessian_two_time(spectra, index, entries, w1, w2)
    else:
        shape = w1.shape
        h = _hessian_one_time(spectra, index, entries, w1)

    def symbol(sp_, left, right):
        if arity == 2:
            return _site_symbol2(sp_, left, right, w1, w2)
        (a,), (b,) = left.factors, right.factors
        return (left.coefficient * right.coefficient * pair_moment(left, right)
                * sp_(a, b, w1))[..., None, None]

    count = len(observables)
    kxx = np.zeros((count, *shape, size, size), dtype=complex)
    br = np.zeros((count, *shape, size, size * n), dtype=complex)
    bc = np.zeros((*shape, size * n, size * count), dtype=complex)
    for m, observable in enumerate(observables):
        for alpha in scope.members:
            x, sp_ = observable[alpha], spectra[alpha]
            f, s = scope.fractions[alpha], scope.source(alpha)
            kxx[m] += f * s * s * symbol(sp_, x, x)
            for i, k in index.items():
                field_ = spec.fields[i]
                if field_.conjugate and field_.population == alpha:
                    o = field_.composite
                    rows, columns = slice(size * k, size * (k + 1)), slice(size * m,
                                                                           size * (m + 1))
                    br[m][..., :, rows] = f * s * symbol(sp_, x, o)
                    bc[..., rows, columns] = f * s * symbol(sp_, o, x)
    solved = _solve(h, bc, "composite covariance")
    out = []
    for m in range(count):
        cov = kxx[m] - br[m] @ solved[..., size * m:size * (m + 1)]
        if both:
            out.append((scope.scale * cov[..., 0, 0], scope.scale * cov[..., 1, 1]))
        else:
            out.append(scope.scale * cov[..., 0, 0])
    return out


def _check_mixed(spec: FluctuationSpec, keep: list[int], sites: dict) -> str | None:
    """Why one- and two-time fields may couple (None: their cumulants vanish by symmetry)."""
    for e in spec.site:
        if e.row not in keep or e.column not in keep:
            continue
        if spec.fields[e.row].arity == spec.fields[e.column].arity:
            continue
        mean = sites[e.left.population].mean
        parity = e.left.parity * e.right.parity
        if parity != -1 or abs(mean) > 1e-12:
            return (f"the site cumulant ⟨{_name(e.left)}; {_name(e.right)}⟩_c (population "
                    f"{e.left.population}, mean {mean:.3g}) need not vanish")
    return None


def _name(c: Composite) -> str:
    return "·".join(f.label for f in c.factors)


# ------------------------------------------------------------------------ the runtime


def _grid_width(spectra: dict, factors: dict, discrete: bool, lags: np.ndarray,
                floor: float = 1e-13) -> float:
    """How far in ω the spectra reach: π for maps; for continuous time the frequency where
    every site spectrum has fallen below ``floor`` (1e-13) of its peak (×1.2), at most
    MAX_OMEGA (a noisy site's 1/ω² tails: the neglected excess of ψ then falls like 1/ω³,
    ~1e-11; a floor of 1e-4 leaves ≈ 1e-7 relative)."""
    if discrete:
        return math.pi
    probe = np.concatenate([np.linspace(0.0, math.pi / (2 * (lags[1] - lags[0])), 257),
                            np.geomspace(1.0, MAX_OMEGA, 65)])
    width = 1.0
    for name, sp_ in spectra.items():
        for factor in factors[name]:
            values = np.abs(sp_(factor, factor, probe))
            above = probe[values > floor * values.max()]
            width = max(width, float(above.max()) if above.size else 1.0)
    return min(width * 1.2, MAX_OMEGA)


def _problem_checks(problem: FluctuationProblem) -> None:
    for name, site in problem.sites.items():
        c = np.asarray(site.covariance, dtype=float)
        if not np.all(np.isfinite(c)) or c[0] <= 0:
            raise SolverInputError(f"population {name}: the site variance must be positive "
                                   f"and finite, got {c[0]!r}")
        tail = abs(c[-1]) / c[0]
        if tail > 1e-7:
            raise SolverInputError(
                f"population {name}: C_x has not decayed on the lag grid (C(τ_max)/C(0) = "
                f"{tail:.2e}); the fluctuation runtime needs a stationary, mixing site — a "
                f"longer tau_max, or a state that is not chaotic/noisy")
        if abs(site.mean) > 1e-9 * max(1.0, math.sqrt(c[0])):
            raise SolverInputError(
                f"population {name}: the site mean is {site.mean:.3g}; the Gaussian "
                f"fluctuation runtime handles sites of zero mean (the symmetric phase) only")


def applies_gaussian(problem: FluctuationProblem) -> bool:
    """A stationary Gaussian site per population (what :func:`solve_gaussian` handles)."""
    return (isinstance(problem, FluctuationProblem)
            and all(isinstance(s, SiteStatistics) for s in problem.sites.values()))


@dataclass(frozen=True)
class _Observed:
    """What a unit of population α shows: scale_α · Π G^{p_α} · F_α(x) — x, φ(x), the
    output G φ(x), or a z-scored activity (scale 1/std)."""

    factors: dict
    powers: dict = field(default_factory=dict)
    scales: dict = field(default_factory=dict)
    moments: tuple = ()

    def composite(self, a: str, arity: int) -> Composite:
        powers = tuple((name, k * arity) for name, k in self.powers.get(a, ()))
        return Composite(a, (self.factors[a],) * arity, self.scales.get(a, 1.0) ** arity,
                         powers, self.moments)

    def weight(self, a: str, arity: int) -> float:
        """coefficient² · ⟨G^{2p}⟩ of the arity-``arity`` composite's i = j part."""
        c = self.composite(a, arity)
        return c.coefficient ** 2 * pair_moment(c, c)

    def variance(self, spectra: _Spectra, a: str) -> float:
        """C(0) of the observed activity: scale² q_{2p} C_F(0)."""
        return self.weight(a, 1) * _variance(spectra, self.factors[a])

    def square(self, spectra: _Spectra, a: str) -> float:
        """(1/N_α) Σ_i C_ii² of the observed activity: scale⁴ q_{4p} C_F(0)²."""
        return self.weight(a, 2) * _variance(spectra, self.factors[a]) ** 2

    def z_scored(self, spectra: dict) -> _Observed:
        """Each unit divided by its standard deviation (the gains cancel)."""
        return _Observed(self.factors, {}, {
            a: 1.0 / math.sqrt(_variance(spectra[a], f)) for a, f in self.factors.items()})


def _diagonal(scope: _Scope, spectra, observed: _Observed, omega_a, omega_b=None):
    """The i = j part Σ_α w_α C_α(ω₁)[C_α(ω₂)] of the scope's N·Cov."""
    out = 0.0
    for a in scope.members:
        f = observed.factors[a]
        ca = spectra[a](f, f, omega_a)
        if omega_b is not None:
            ca = np.outer(ca, spectra[a](f, f, omega_b))
        weight = observed.weight(a, 1 if omega_b is None else 2)
        out = out + scope.diagonal_weight(a) * weight * ca
    return out


def _not_inlined(problem) -> bool:
    """Generated modules do not carry the O(1/N) layer (yet): it runs in-process on the
    lowered fluctuation stage (:func:`fieldtheory.fluctuation_solve.solve_fluctuations`)."""
    return False


@register_runtime("gaussian_fluctuations", applies=applies_gaussian, priority=50,
                  needs=_not_inlined, kind="fluctuations")
def solve_gaussian(problem: FluctuationProblem, grid=None, options=None) -> dict:
    r"""The leading O(1/N) observables of a stationary Gaussian site.

    Returns ``dimension`` {pr_x, pr_phi} (PR/N = (tr C/N)²/Ψ(0, 0); φ is the output
    Φ_i = G_i φ(x_i) where the model has quenched gains), ``dimension_z`` {pr_x, pr_phi}
    (the same of the z-scored activity, every unit divided by its standard deviation;
    with gains Ψ_z depends on PR_G, arXiv:2409.01969), ``psi`` {x, phi}
    (ψ(0, 0) = N·mean_{i≠j} C_ij(0)²), ``population_variance`` {x, phi},
    ``population_spectrum`` and ``population_spectrum_phi`` {omega, values} (N·S(ω)),
    ``cross_covariance`` {tau, values} (N·mean_{i≠j} C_ij(τ) of x), per population under
    ``populations`` where there are several (normalised by N_α). ``options``: ``omega``
    (output frequencies), ``tau`` (output lags), ``order`` (nodes per panel, 12),
    ``finest`` (the smallest panel at ω = 0, 1e-3), ``spectral_floor`` (the grid reaches
    where every site spectrum has fallen below it relative to its peak, 1e-13),
    ``accuracy`` (True: also ``accuracy`` {pr_x, pr_phi}, the change of PR/N with 2/3 of
    the nodes per panel — a second, cheaper evaluation; the tests check convergence
    against independent routes),
    ``population_only`` (True: the one-time keys alone, no dimension), ``pairs`` (True,
    more than two populations: also ``pairs`` {"α+β": the one-time keys of the joint
    average (1/N)Σ_{i∈α∪β}} — the cross-covariances of the population modes).
    """
    options = dict(options or {})
    _problem_checks(problem)
    discrete = problem.spec.step is not None
    spectra = {name: _Spectra(problem.sites[name], discrete)
               for name in problem.spec.populations}
    return evaluate_fluctuations(problem, spectra, options)


def evaluate_fluctuations(problem: FluctuationProblem, spectra: dict, options: dict) -> dict:
    """The observables of :func:`solve_gaussian` from each population's site spectra
    (:class:`_Spectra` of a Gaussian site, or sampled ones: any object with ``lags``,
    ``c0``, ``pair_covariance`` and the call Ĝ_PQ(ω))."""
    spec = problem.spec
    discrete = spec.step is not None
    phis = dict(zip(spec.populations, spec.phi, strict=True))
    factors = {name: (X_FACTOR, phis[name]) for name in spec.populations}
    keep = _pruned(spec)
    lags = np.asarray(spectra[spec.populations[0]].lags, dtype=float)
    width = _grid_width(spectra, factors, discrete, lags,
                        float(options.get("spectral_floor", SPECTRAL_FLOOR)))
    order = int(options.get("order", 12))
    finest = float(options.get("finest", 1e-3))
    scopes = [None, *spec.populations] if len(spec.populations) > 1 else [None]
    if options.get("pairs") and len(spec.populations) > 2:
        # every pair's joint average: the cross-covariances of the population modes
        scopes += list(itertools.combinations(spec.populations, 2))
    # x, and the output G φ(x) (φ(x) without quenched gains); their z-scored versions
    outputs = dict(zip(spec.populations, spec.outputs, strict=False))
    kinds = {"x": _Observed({a: X_FACTOR for a in spec.populations}),
             "phi": _Observed(phis, outputs, {}, spec.moments)}
    # one population without quenched factors: z-scoring rescales every unit alike, and PR
    # is scale-invariant, so those z-scored PRs are the raw ones (not computed twice)
    uniform = {key for key, o in kinds.items()
               if len(spec.populations) == 1 and not any(o.powers.values())}
    z_kinds = {key: observed.z_scored(spectra) for key, observed in kinds.items()
               if key not in uniform}
    every = {**{("dimension", k): o for k, o in kinds.items()},
             **{("dimension_z", k): o for k, o in z_kinds.items()}}
    # the population keys stay on x and φ (the unit's own nonlinearity, as the simulator)
    plain = {"x": kinds["x"], "phi": _Observed(phis)}
    variances = {key: {a: observed.variance(spectra[a], a) for a in spec.populations}
                 for key, observed in plain.items()}

    def psi(scope: _Scope, nodes_order: int) -> dict:
        """ψ(0, 0) = ∬dω₁dω₂/(2π)² [N·Cov(X, X) − its i = j part] of every observed kind
        (one factorisation of H for all of them).

        Two symmetries quarter the plane. The symbols are transforms of real functions,
        S(−ω) = S(ω)*, so the integrand at (−ω₁, −ω₂) is the conjugate of that at
        (ω₁, ω₂): the half plane ω₁ > 0 (the grid is symmetric, no node at 0) gives the
        real part. And the 2 × 2 block of N·Cov on the basis (q(ω₁,ω₂), q(ω₂,ω₁)) at
        (ω₂, ω₁) is the one at (ω₁, ω₂) with the basis swapped, so its [1, 1] entry at
        (ω₁, ω₂) is the integrand at (ω₂, ω₁) — and, with the first symmetry, the real
        part of the integrand at (−ω₂, −ω₁). So per positive panel i only the panels
        |j| ≥ i of ω₂ are solved: a block (i, ±i) holds every pair with its partner, a
        block with |j| > i adds its [1, 1] entries for the blocks not solved."""
        nodes, weights = graded_nodes(width, finest, nodes_order)
        half = nodes.size // 2
        positive, upper = nodes[half:], weights[half:]
        observables = [{a: o.composite(a, 2) for a in spec.populations}
                       for o in every.values()]
        # every block reads the spectra on a subset of the nodes: transformed once
        on_nodes = {a: _OnGrid(sp_, nodes) for a, sp_ in spectra.items()}
        out = dict.fromkeys(every, 0.0)
        for start in range(0, positive.size, nodes_order):
            rows = slice(start, start + nodes_order)
            right, wright = positive[start:], upper[start:]
            w2 = np.concatenate([-right[::-1], right])
            weight2 = np.concatenate([wright[::-1], wright])
            # the [1, 1] entries count where ω₂'s panel is not panel i itself (either side)
            partner = np.ones(w2.size)
            partner[right.size - nodes_order:right.size + nodes_order] = 0.0
            covs = _composite_covariance(spec, on_nodes, keep, observables, scope,
                                         positive[rows], w2, both=True)
            for key, (straight, swapped) in zip(every, covs, strict=True):
                diagonal = _diagonal(scope, on_nodes, every[key], positive[rows], w2)
                excess = (straight - diagonal) + partner * (swapped - diagonal)
                out[key] += 2.0 * float(np.real(upper[rows] @ excess @ weight2)) / (
                    2 * math.pi) ** 2
        return out

    result: dict = {}
    mixed = _check_mixed(spec, keep, problem.sites)
    for population in scopes:
        scope = _Scope(spec, population)
        entry: dict = {"dimension": {}, "dimension_z": {}, "psi": {}}
        # ``population_only``: the one-time sector alone (the renormalized iteration)
        two_time = not options.get("population_only") and not isinstance(population, tuple)
        fines = psi(scope, order) if two_time else {}
        coarses = (psi(scope, max(2 * order // 3, 4))
                   if options.get("accuracy") and two_time else None)
        for (name, key), observed in every.items() if two_time else ():
            trace = scope.trace({a: observed.variance(spectra[a], a) for a in scope.members})
            square = scope.trace({a: observed.square(spectra[a], a) for a in scope.members})
            pr = trace * trace / (square + fines[name, key])
            entry[name][f"pr_{key}"] = pr
            if name == "dimension":
                entry["psi"][key] = fines[name, key]
            if coarses is not None and name == "dimension":
                entry.setdefault("accuracy", {})[f"pr_{key}"] = abs(
                    trace * trace / (square + coarses[name, key]) - pr)
        for key in uniform if two_time else ():
            entry["dimension_z"][f"pr_{key}"] = entry["dimension"][f"pr_{key}"]
        entry["dimension_z"] = {f"pr_{key}": entry["dimension_z"][f"pr_{key}"]
                                for key in kinds if f"pr_{key}" in entry["dimension_z"]}
        if mixed is None:
            entry.update(_one_time_entries(spec, spectra, keep, scope, plain, variances,
                                           width, finest, order, discrete, options, lags))
        if population is None:
            result.update(entry)
        elif isinstance(population, tuple):
            result.setdefault("pairs", {})["+".join(population)] = {
                k: v for k, v in entry.items() if k not in ("dimension", "dimension_z", "psi")}
        else:
            result.setdefault("populations", {})[population] = entry
    if mixed is not None:
        result["population_refused"] = (
            "population observables need the one-/two-time mixing of the fluctuations: "
            + mixed)
    return result


def _variance(spectra: _Spectra, factor: Factor) -> float:
    """C_A(0) of a factor (x or f(x)) over the site."""
    if factor.kind == "x":
        return spectra.c0
    return float(spectra.pair_covariance(factor, factor)[0])


def _one_time_entries(spec, spectra, keep, scope, kinds, variances, width, finest, order,
                      discrete, options, lags) -> dict:
    """Population variance, spectra and the mean cross-covariance of the scope."""
    nodes, weights = graded_nodes(width, finest, order)
    default_omega = (np.linspace(0.0, math.pi, 65) if discrete
                     else np.concatenate([np.linspace(0.0, 2.0, 81)[:-1],
                                          np.linspace(2.0, min(width, 20.0), 37)]))
    omega_out = np.asarray(options.get("omega", default_omega), dtype=float)
    tau_out = np.asarray(options.get("tau", lags[: min(lags.size, 201)]), dtype=float)
    out: dict = {"population_variance": {}}
    for key, observed in kinds.items():
        observable = {a: observed.composite(a, 1) for a in spec.populations}
        (total,) = np.real(_composite_covariance(spec, spectra, keep, [observable], scope,
                                                 nodes))
        excess = total - np.real(_diagonal(scope, spectra, observed, nodes))
        # N·Var = ∫dω/2π N·S(ω); its i = j part integrates to tr C/N exactly
        out["population_variance"][key] = (scope.trace(variances[key])
                                           + float(weights @ excess) / (2 * math.pi))
        (values,) = np.real(_composite_covariance(spec, spectra, keep, [observable], scope,
                                                  omega_out))
        name = "population_spectrum" if key == "x" else "population_spectrum_phi"
        out[name] = {"omega": omega_out, "values": values}
        if key == "x":
            # N·mean_{i≠j} C_ij(τ) = ∫dω/2π e^{iωτ}[N·S(ω) − its i = j part]
            kernel = np.cos(np.outer(tau_out, nodes)) @ (weights * excess) / (2 * math.pi)
            out["cross_covariance"] = {"tau": tau_out, "values": kernel}
        else:
            # the cross part of N·S_φ on the output frequencies: it feeds the population
            # mode back into the site (fieldtheory.renormalized)
            out["cross_spectrum_phi"] = {"omega": omega_out, "values": values - np.real(
                _diagonal(scope, spectra, observed, omega_out))}
    return out


