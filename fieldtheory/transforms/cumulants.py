r"""Averaging rules: the cumulants each ensemble contributes to the averaged action.

The couplings enter the action linearly, S = S_local + Σ_c Σ_ij J^c_ij X^c_ij, so
averaging exp(S) over them gives exp(S_local + Σ_n κ_n/n! · X^n): the cumulant-generating
function of the couplings evaluated at X. A rule returns those cumulant terms as
:class:`~fieldtheory.transforms.stages.Cumulant` values; the disorder average stays
generic.

Rules are registered by name (:func:`register_averaging_rule`); an ensemble names its rule
in the class variable :attr:`~fieldtheory.ir.ensembles.Ensemble.averaging_rule`. Inside
the ``"gaussian"`` rule, :func:`gaussian_blocks` dispatches on the ensemble's class and
reduces every Gaussian family (iid, partially symmetric, block-structured) to blocks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from fieldtheory.errors import EnsembleError
from fieldtheory.ir.ensembles import BlockGaussian, Ensemble, Gaussian
from fieldtheory.ir.joint_gaussian import JointGaussian
from fieldtheory.ir.populations import Population
from fieldtheory.ir.symbols import Coupling
from fieldtheory.transforms.stages import Cumulant

__all__ = [
    "AVERAGING_RULES",
    "AveragingRule",
    "GaussianBlock",
    "averaging_rule_for",
    "gaussian_blocks",
    "register_averaging_rule",
]

#: rule(couplings, ensemble, populations) → cumulant terms
AveragingRule = Callable[[tuple[Coupling, ...], Ensemble, tuple[Population, ...]],
                         tuple[Cumulant, ...]]

AVERAGING_RULES: dict[str, AveragingRule] = {}


def register_averaging_rule(name: str):
    """Decorator adding a rule to :data:`AVERAGING_RULES` (names are unique)."""

    def decorate(rule: AveragingRule) -> AveragingRule:
        if name in AVERAGING_RULES:
            raise EnsembleError(f"an averaging rule named {name!r} is already registered")
        AVERAGING_RULES[name] = rule
        return rule

    return decorate


def averaging_rule_for(coupling: Coupling, ensemble: Ensemble) -> AveragingRule:
    """The rule that averages ``ensemble``; raises :class:`EnsembleError` if there is none."""
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


@functools.singledispatch
def gaussian_blocks(ensemble: Ensemble, populations: tuple[Population, ...]) -> tuple:
    """The Gaussian blocks of a Gaussian-family ensemble (one registration per class)."""
    raise EnsembleError(
        f"ensemble {type(ensemble).__name__} names the 'gaussian' averaging rule but "
        "registers no gaussian_blocks for its class"
    )


@gaussian_blocks.register
def _(ensemble: Gaussian, populations) -> tuple[GaussianBlock, ...]:
    # one homogeneous matrix over all sites: the same statistics in every block
    return tuple(
        GaussianBlock(a.name, b.name, ensemble.mean, ensemble.variance, ensemble.rho)
        for a in populations for b in populations
    )


@gaussian_blocks.register
def _(ensemble: BlockGaussian, populations) -> tuple[GaussianBlock, ...]:
    return tuple(GaussianBlock(b.target, b.source, b.mean, b.variance) for b in ensemble.blocks)


def _nonzero(*cumulants: Cumulant) -> tuple[Cumulant, ...]:
    return tuple(c for c in cumulants if c.coefficient != 0)


@register_averaging_rule("gaussian")
def gaussian_cumulants(couplings, ensemble, populations) -> tuple[Cumulant, ...]:
    r"""(μ/N) Σ X_ij + (σ²/2N) Σ X_ij² + (ρσ²/2N) Σ X_ij X_ji, per block (α, β).

    ⟨exp(Σ_ij J_ij X_ij)⟩ = exp(Σ_ij ⟨J_ij⟩ X_ij + ½ Σ_{ij,kl} Cov(J_ij, J_kl) X_ij X_kl),
    with Cov(J_ij, J_kl) = (σ²/N)(δ_ik δ_jl + ρ δ_il δ_jk); the diagonal i = j, where the
    two coincide, changes S by O(1), not O(N), and is dropped.
    """
    (coupling,) = couplings
    out: list[Cumulant] = []
    for b in gaussian_blocks(ensemble, populations):
        pops = (b.target, b.source)
        out += _nonzero(
            Cumulant(b.mean, (coupling,), (False,), *pops),
            Cumulant(b.variance / 2, (coupling, coupling), (False, False), *pops),
            Cumulant(b.rho * b.variance / 2, (coupling, coupling), (False, True), *pops),
        )
    return tuple(out)


@register_averaging_rule("joint_gaussian")
def joint_gaussian_cumulants(couplings, ensemble: JointGaussian, populations):
    r"""Σ_c (μ_c/N) X^c + ½ Σ_cc' (Σ_cc'/N) X^c_ij X^c'_ij + ½ Σ_cc' (T_cc'/N) X^c_ij X^c'_ji.

    The symmetric double sums are folded: c < c' appears once with the full Σ_cc'.
    """
    order = ensemble.couplings
    out: list[Cumulant] = []
    for a in populations:
        for b in populations:
            pops = (a.name, b.name)
            for c, mean in zip(order, ensemble.means, strict=True):
                out += _nonzero(Cumulant(mean, (c,), (False,), *pops))
            for k, c in enumerate(order):
                for m in range(k, len(order)):
                    weight = sp.Rational(1, 2) if k == m else sp.Integer(1)
                    pair = (c, order[m])
                    out += _nonzero(
                        Cumulant(weight * ensemble.covariance[k][m], pair, (False, False), *pops),
                        Cumulant(weight * ensemble.transpose_covariance[k][m], pair,
                                 (False, True), *pops),
                    )
    return tuple(out)
