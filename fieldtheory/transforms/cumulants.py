r"""Averaging rules, as the derivation stages see them.

Each ensemble averages itself (:meth:`~fieldtheory.ir.ensembles.Ensemble.cumulants`);
the cumulant terms, the named shared rules and their registry live with the ensembles in
:mod:`fieldtheory.ir.ensembles.cumulants` and are re-exported here, where the derivation
stages (and their tests) have always found them.
"""

from __future__ import annotations

from fieldtheory.ir.ensembles.cumulants import (
    AVERAGING_RULES,
    AveragingRule,
    Cumulant,
    GaussianBlock,
    ModeDeterminant,
    TraceCumulant,
    averaging_rule_for,
    block_cumulants,
    register_averaging_rule,
    variance_cumulants,
)
from fieldtheory.ir.populations import Population

__all__ = [
    "AVERAGING_RULES",
    "AveragingRule",
    "Cumulant",
    "GaussianBlock",
    "ModeDeterminant",
    "TraceCumulant",
    "averaging_rule_for",
    "block_cumulants",
    "gaussian_blocks",
    "register_averaging_rule",
    "variance_cumulants",
]


def gaussian_blocks(ensemble, populations: tuple[Population, ...]) -> tuple[GaussianBlock, ...]:
    """The Gaussian blocks of a Gaussian-family ensemble (its own ``gaussian_blocks``)."""
    return ensemble.gaussian_blocks(populations)
