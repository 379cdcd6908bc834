r"""Cumulant terms: what an ensemble contributes to the averaged action.

The couplings enter the action linearly, S = S_local + Σ_c Σ_ij J^c_ij X^c_ij, so
averaging exp(S) over them gives exp(S_local + W[X]), W the cumulant-generating function
of the couplings evaluated at X. An ensemble returns the terms of W
(:meth:`~fieldtheory.ir.ensembles.Ensemble.cumulants`) as values of this module:

* :class:`Cumulant`, (c/N) Σ_{i∈α} Σ_{j∈β} Π_k X^{c_k}_{ij} — a two-site term, which the
  disorder average expands into site factors;
* :class:`TraceCumulant`, (c/N^{2k−1}) tr[(X Xᵀ)^k] — a mode-space term over a cycle of
  2k sites (random modes), of degree k in the response-field order parameters.

Shared rules are registered by name (:func:`register_averaging_rule`); an ensemble names
one in :attr:`~fieldtheory.ir.ensembles.Ensemble.averaging_rule` and the default
``cumulants`` applies it. ``"gaussian"`` reduces a Gaussian family to blocks through the
ensemble's own ``gaussian_blocks(populations)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from fieldtheory.errors import EnsembleError
from fieldtheory.ir.ensembles.interpolant import ModeInterpolant, weighted_square_integral
from fieldtheory.ir.ensembles.symbols import MODE_POSITION
from fieldtheory.ir.populations import ONE_POPULATION, Population
from fieldtheory.ir.symbols import Coupling
from fieldtheory.printing import latex, text

__all__ = [
    "AVERAGING_RULES",
    "DATA",
    "D_INPUT",
    "AveragingRule",
    "Cumulant",
    "GaussianBlock",
    "ModeDeterminant",
    "TraceCumulant",
    "averaging_rule_for",
    "block_cumulants",
    "register_averaging_rule",
    "site_sums",
    "variance_cumulants",
]

#: N, the number of sites (printing only).
N = sp.Symbol("N", positive=True, integer=True)
#: The name of the single population of a homogeneous network.
ONE = ONE_POPULATION[0].name
#: The source "population" of input weights: the d components of the input patterns.
DATA = "data"
#: d, the input dimension (printing only).
D_INPUT = sp.Symbol("d", positive=True, integer=True)


@dataclass(frozen=True)
class Cumulant:
    r"""(coefficient/N) Σ_{i∈α} Σ_{j∈β} Π_k X^{c_k}_{ij}  (X_{ji} where ``transposed``).

    X^c_ij = Σ_m ∫dτ A_{m,i}(τ) B_{m,j}(τ) is what multiplies J^c_ij in the action, so a
    cumulant of the couplings' distribution multiplies a product of X's.
    """

    coefficient: sp.Expr
    couplings: tuple[Coupling, ...]
    transposed: tuple[bool, ...]
    target_population: str = ONE
    source_population: str = ONE
    #: the couplings are drawn anew for every layer of a layered model: the term pairs
    #: equal layers only, δ_{l(τ₁), l(τ₂)} (:class:`~fieldtheory.ir.ensembles.layered.PerLayer`)
    same_layer: bool = False

    @property
    def order(self) -> int:
        """Its degree in X (the order of the cumulant)."""
        return len(self.couplings)

    def __str__(self) -> str:
        factors = "*".join(
            f"X^{c.name}_{'ji' if flip else 'ij'}"
            for c, flip in zip(self.couplings, self.transposed, strict=True)
        )
        layer = ", equal layers" if self.same_layer else ""
        return (f"({text(self.coefficient / self._size)}) {site_sums(self, False)} "
                f"{factors}{layer}")

    def latex(self) -> str:
        factors = " ".join(
            f"X^{{{c.name}}}_{{{'ji' if flip else 'ij'}}}"
            for c, flip in zip(self.couplings, self.transposed, strict=True)
        )
        layer = r" \quad (	ext{equal layers})" if self.same_layer else ""
        return f"{latex(self.coefficient / self._size)} {site_sums(self, True)} {factors}{layer}"

    @property
    def _size(self) -> sp.Symbol:
        """The number of source sites the coefficient is divided by: N, or d for data."""
        return D_INPUT if self.source_population == DATA else N


def site_sums(term, for_latex: bool) -> str:
    """Σ_i Σ_j over the target and source populations of a two-site term (text or LaTeX);
    shared with the averaged action's coupling terms (transforms/stages.py)."""
    target, source = term.target_population, term.source_population
    if for_latex:
        i = r"\sum_{i}" if target == ONE else rf"\sum_{{i \in {target}}}"
        j = r"\sum_{j}" if source == ONE else rf"\sum_{{j \in {source}}}"
        return f"{i} {j}"
    i = "Σ_i" if target == ONE else f"Σ_{{i∈{target}}}"
    j = "Σ_j" if source == ONE else f"Σ_{{j∈{source}}}"
    return f"{i} {j}"


@dataclass(frozen=True)
class TraceCumulant:
    r"""(coefficient/N^{2k−1}) tr[(X^c X^{cᵀ})^k], k = ``power``: a mode-space cumulant.

    tr[(X Xᵀ)^k] = Σ_{i₁j₁…i_kj_k} X_{i₁j₁} X_{i₂j₁} X_{i₂j₂} ⋯ X_{i₁j_k}: 2k factors on
    a cycle of 2k sites, over all sites (the term of an ensemble of random modes). Of
    degree k in the response-field order parameters, so it enters the fluctuations
    (k = 2), not the saddle point.
    """

    coefficient: sp.Expr
    coupling: Coupling
    power: int

    @property
    def order(self) -> int:
        return 2 * self.power

    def __str__(self) -> str:
        c = self.coupling.name
        scale = text(self.coefficient / N ** (2 * self.power - 1))
        return f"({scale}) tr[(X^{c} X^{c}ᵀ)^{self.power}]"

    def latex(self) -> str:
        c = self.coupling.name
        scale = latex(self.coefficient / N ** (2 * self.power - 1))
        return (rf"{scale} \operatorname{{tr}}\left[\left(X^{{{c}}} X^{{{c}\top}}\right)"
                rf"^{{{self.power}}}\right]")


@dataclass(frozen=True)
class ModeDeterminant:
    r"""W = −½ Σ_a ln det(1 − d_a Σ_a K[X]): random modes with correlated l_a, r_a, resummed.

    J = Σ_a d_a l_a r_aᵀ with (l_ai, r_ai) iid pairs of covariance (1/N)[[1, ρσ_a],
    [ρσ_a, 1]] (ρ = ``overlap``, σ_a = ±1 iid signs, so ⟨dρσ⟩ = 0). Averaging
    exp(d lᵀ X r) over the Gaussian vector z = (l, r) with covariance Σ_a gives
    det(1 − Σ_a K)^{−1/2}, K = d[[0, X], [Xᵀ, 0]]:

    .. math::  W[X] = -\tfrac12 \sum_a \ln\det\Big(1 - \frac{d_a}{N}
               \begin{pmatrix} \rho\sigma_a X^\top & X \\ X^\top & \rho\sigma_a X
               \end{pmatrix}\Big).

    Expanded, every word in X and Xᵀ appears; those with ρ carry cycles X_{i₁i₂}X_{i₂i₃}⋯
    whose site sums are products of response functions R — each O(N), so *every* order
    stays in the saddle point (Clark, Marschall, van Meegen & Litwin-Kumar,
    arXiv:2409.01969, correlated modes). The term is kept whole; :meth:`leading` is its
    second order (a Gaussian ensemble of variance α r₂ and partial symmetry ρ², which the
    disorder average expands into pair terms so that the collective fields find the
    order parameters), and the saddle point resums the rest
    (:mod:`fieldtheory.transforms.resummation`). Mode strengths d = c·s(u), u ∈ (0, 1)
    the position in the spectrum (:data:`~fieldtheory.ir.ensembles.symbols.MODE_POSITION`),
    c fixed by α⟨d²⟩ = ``variance``; mode averages are ⟨f(d)⟩ = ∫₀¹ f(c s(u)) du and
    Σ_a = αN⟨·⟩.
    """

    coupling: Coupling
    alpha: sp.Expr
    overlap: sp.Expr
    shape: sp.Expr
    variance: sp.Expr  # α c² ⟨s²⟩, the second order's variance (g_eff²)
    population: str = ONE

    @property
    def order(self) -> int:
        """Its degree in X as the averaging rules count it: it *starts* at order 2."""
        return 2

    @property
    def symmetry(self) -> sp.Expr:
        r"""The second order's partial symmetry ⟨d²ρ²⟩/⟨d²⟩: ρ² for one overlap, the
        strength-weighted ∫s²ρ²du/∫s²du for a profile ρ(u)."""
        if not self.overlap.has(MODE_POSITION):
            return self.overlap**2
        return _profile_symmetry(self.coupling, self.shape, self.overlap)

    def leading(self) -> tuple[Cumulant, ...]:
        r"""The second order: (α r₂/2N)[Σ X_ij² + ⟨d²ρ²⟩/⟨d²⟩ Σ X_ij X_ji] (the random
        signs cancel the first order α⟨dρσ⟩ Σ_i X_ii)."""
        block = GaussianBlock(self.population, self.population, sp.S.Zero, self.variance,
                              self.symmetry)
        return block_cumulants(self.coupling, (block,))

    def _words(self, for_latex: bool) -> str:
        c = self.coupling.name
        if for_latex:
            return (rf"-\tfrac12 \sum_a \ln\det\left(1 - \frac{{d_a}}{{N}}\begin{{pmatrix}}"
                    rf"\rho\sigma_a {c}^\top & {c} \\ {c}^\top & \rho\sigma_a {c}\end{{pmatrix}}"
                    r"\right)")
        return f"−½ Σ_a ln det(1 − (d_a/N)·[[ρσ_a X^{c}ᵀ, X^{c}], [X^{c}ᵀ, ρσ_a X^{c}]])"

    def __str__(self) -> str:
        rho = "ρ(u)" if self.overlap.has(MODE_POSITION) else "ρ"
        return (f"{self._words(False)}, {rho} = {text(self.overlap)}, σ_a = ±1, "
                f"d_a = c·s(a/M), (1/N)Σ_a d_a² = {text(self.variance)}, "
                f"s(u) = {text(self.shape)}, "
                f"M = ({text(self.alpha)})·N")

    def latex(self) -> str:
        return (rf"{self._words(True)}, \quad \rho = {latex(self.overlap)}, \quad "
                rf"d_a = c\, s(a/M), \quad "
                rf"\frac{{1}}{{N}}\sum_a d_a^2 = {latex(self.variance)}, \quad "
                rf"s(u) = {latex(self.shape)}")


@functools.lru_cache(maxsize=64)
def _profile_symmetry(coupling: Coupling, shape: sp.Expr, overlap: sp.Expr) -> sp.Expr:
    """∫s²ρ²du/∫s²du over the mode positions (computed once per term: the stages ask for
    it many times)."""
    u = MODE_POSITION
    if isinstance(shape, ModeInterpolant):  # an array spectrum: a quadrature node
        return (weighted_square_integral(shape, overlap**2, u)
                / weighted_square_integral(shape, sp.S.One, u))
    return sp.integrate(shape**2 * overlap**2, (u, 0, 1)) / sp.integrate(shape**2, (u, 0, 1))


# ---------------------------------------------------------------------- named rules

#: rule(couplings, ensemble, populations) → cumulant terms (every nonzero one)
AveragingRule = Callable[[tuple[Coupling, ...], object, tuple[Population, ...]], tuple]

AVERAGING_RULES: dict[str, AveragingRule] = {}


def register_averaging_rule(name: str):
    """Decorator adding a rule to :data:`AVERAGING_RULES` (names are unique)."""

    def decorate(rule: AveragingRule) -> AveragingRule:
        if name in AVERAGING_RULES:
            raise EnsembleError(f"an averaging rule named {name!r} is already registered")
        AVERAGING_RULES[name] = rule
        return rule

    return decorate


def averaging_rule_for(coupling: Coupling, ensemble) -> AveragingRule:
    """The rule ``ensemble`` names; raises :class:`EnsembleError` if there is none."""
    name = type(ensemble).averaging_rule
    if name is None or name not in AVERAGING_RULES:
        why = "has no averaging rule" if name is None else f"names the unknown rule {name!r}"
        raise EnsembleError(
            f"coupling {coupling} cannot be disorder-averaged: its ensemble "
            f"{type(ensemble).__name__} ({getattr(ensemble, 'kind', '?')}) {why}; "
            f"rules exist for: {', '.join(sorted(AVERAGING_RULES))}"
        )
    return AVERAGING_RULES[name]


@dataclass(frozen=True)
class GaussianBlock:
    """J_ij (i ∈ target, j ∈ source) ~ N(mean/N, variance/N), corr(J_ij, J_ji) = rho."""

    target: str
    source: str
    mean: sp.Expr
    variance: sp.Expr
    rho: sp.Expr = sp.S.Zero


def _nonzero(*cumulants: Cumulant) -> tuple[Cumulant, ...]:
    return tuple(c for c in cumulants if c.coefficient != 0)


def block_cumulants(coupling: Coupling, blocks) -> tuple[Cumulant, ...]:
    r"""(μ/N) Σ X_ij + (σ²/2N) Σ X_ij² + (ρσ²/2N) Σ X_ij X_ji, per block (α, β).

    ⟨exp(Σ_ij J_ij X_ij)⟩ = exp(Σ_ij ⟨J_ij⟩ X_ij + ½ Σ_{ij,kl} Cov(J_ij, J_kl) X_ij X_kl),
    with Cov(J_ij, J_kl) = (σ²/N)(δ_ik δ_jl + ρ δ_il δ_jk); the diagonal i = j, where the
    two coincide, changes S by O(1), not O(N), and is dropped.
    """
    out: list[Cumulant] = []
    for b in blocks:
        pops = (b.target, b.source)
        out += _nonzero(
            Cumulant(b.mean, (coupling,), (False,), *pops),
            Cumulant(b.variance / 2, (coupling, coupling), (False, False), *pops),
            Cumulant(b.rho * b.variance / 2, (coupling, coupling), (False, True), *pops),
        )
    return tuple(out)


def variance_cumulants(coupling: Coupling, variance: sp.Expr,
                       populations: tuple[Population, ...]) -> tuple[Cumulant, ...]:
    """(variance/2N) Σ_{i∈α} Σ_{j∈β} X_ij² for every pair of populations (zero mean, ρ = 0)."""
    return block_cumulants(coupling, tuple(
        GaussianBlock(a.name, b.name, sp.S.Zero, variance) for a in populations
        for b in populations
    ))


@register_averaging_rule("gaussian")
def gaussian_cumulants(couplings, ensemble, populations) -> tuple[Cumulant, ...]:
    """A Gaussian family: the blocks ``ensemble.gaussian_blocks(populations)`` lists."""
    (coupling,) = couplings
    return block_cumulants(coupling, ensemble.gaussian_blocks(populations))
