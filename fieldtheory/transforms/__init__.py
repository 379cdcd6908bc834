"""Transformations of an action, one per module: Stage → NextStage, pure functions.

``disorder_average(action)`` → :class:`AveragedAction`;
``collective_fields(averaged)`` → :class:`CollectiveFieldAction`;
``saddle_point(collective)`` → :class:`MeanFieldTheory`. :func:`fieldtheory.derive.derive`
runs them in order and keeps every stage.
"""

from fieldtheory.transforms.collective_fields import collective_fields
from fieldtheory.transforms.cumulants import (
    AVERAGING_RULES,
    GaussianBlock,
    averaging_rule_for,
    gaussian_blocks,
    register_averaging_rule,
)
from fieldtheory.transforms.disorder_average import disorder_average, split_couplings
from fieldtheory.transforms.nodes import (
    ConjugateValue,
    Expectation,
    OrderParameterValue,
    SingleSiteLogZ,
    TimeIntegral,
)
from fieldtheory.transforms.printing import latex, text
from fieldtheory.transforms.saddle_point import functional_derivative, saddle_point
from fieldtheory.transforms.stages import (
    AveragedAction,
    CollectiveFieldAction,
    CouplingTerm,
    Cumulant,
    MeanFieldTheory,
    OrderParameter,
    PairTerm,
    SingleSiteProcess,
)

__all__ = [
    "AVERAGING_RULES",
    "AveragedAction",
    "CollectiveFieldAction",
    "ConjugateValue",
    "CouplingTerm",
    "Cumulant",
    "Expectation",
    "GaussianBlock",
    "MeanFieldTheory",
    "OrderParameter",
    "OrderParameterValue",
    "PairTerm",
    "SingleSiteLogZ",
    "SingleSiteProcess",
    "TimeIntegral",
    "averaging_rule_for",
    "collective_fields",
    "disorder_average",
    "functional_derivative",
    "gaussian_blocks",
    "latex",
    "register_averaging_rule",
    "saddle_point",
    "split_couplings",
    "text",
]
