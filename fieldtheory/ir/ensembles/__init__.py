"""Coupling ensembles, one module each; :mod:`.base` holds the protocol and the registry.

``from fieldtheory.ir.ensembles import Gaussian, …`` re-exports every shipped ensemble.
Importing the package registers them in :data:`ENSEMBLES` (by ``kind``).
"""

from fieldtheory.ir.ensembles.base import (
    ENSEMBLES,
    UNIT_INTERVAL,
    Constraint,
    Ensemble,
    register_ensemble,
)
from fieldtheory.ir.ensembles.block_gaussian import Block, BlockGaussian
from fieldtheory.ir.ensembles.cumulants import (
    AVERAGING_RULES,
    Cumulant,
    GaussianBlock,
    ModeDeterminant,
    TraceCumulant,
    register_averaging_rule,
)
from fieldtheory.ir.ensembles.gaussian import Gaussian
from fieldtheory.ir.ensembles.joint_gaussian import JointGaussian
from fieldtheory.ir.ensembles.layered import InputWeights, PerLayer
from fieldtheory.ir.ensembles.random_mode import RandomMode
from fieldtheory.ir.ensembles.symbols import MODE_COUNT, MODE_INDEX

__all__ = [
    "AVERAGING_RULES",
    "ENSEMBLES",
    "MODE_COUNT",
    "MODE_INDEX",
    "UNIT_INTERVAL",
    "Block",
    "BlockGaussian",
    "Constraint",
    "Cumulant",
    "Ensemble",
    "Gaussian",
    "GaussianBlock",
    "InputWeights",
    "PerLayer",
    "JointGaussian",
    "RandomMode",
    "ModeDeterminant",
    "TraceCumulant",
    "register_averaging_rule",
    "register_ensemble",
]
