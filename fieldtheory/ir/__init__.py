"""The intermediate representation: fields, parameters, ensembles, actions, models.

Everything here is immutable and hashable; sympy content obeys ``e.func(*e.args) == e``.
"""

from fieldtheory.ir.action import CONTINUOUS, ZERO_DIMENSIONAL, Action, Time, discrete, layers
from fieldtheory.ir.couplings import CouplingMatrix, DenseCoupling, LowRankCoupling
from fieldtheory.ir.ensembles import (
    ENSEMBLES,
    MODE_COUNT,
    MODE_INDEX,
    Block,
    BlockGaussian,
    Ensemble,
    Gaussian,
    InputWeights,
    JointGaussian,
    PerLayer,
    RandomMode,
    register_ensemble,
)
from fieldtheory.ir.langevin import LangevinSystem, langevin, read_langevin
from fieldtheory.ir.layered import FIRST, Inputs, Layer, layered
from fieldtheory.ir.model import Model
from fieldtheory.ir.nonlinearities import (
    NONLINEARITIES,
    ReLU,
    erf_sqrtpi,
    identity,
    logistic,
    nonlinearity,
    relu,
    tanh,
)
from fieldtheory.ir.parameters import (
    NONNEGATIVE,
    POSITIVE,
    REALS,
    Domain,
    Parameter,
    ParameterSet,
    evaluate,
    parameters,
)
from fieldtheory.ir.populations import ONE_POPULATION, Population, population_sizes
from fieldtheory.ir.posterior import Posterior, Preactivation, Targets, Weight, posterior
from fieldtheory.ir.quenched import GainArray, LogNormalGain, Quenched, QuenchedDistribution
from fieldtheory.ir.spiking import (
    GLM,
    LIF,
    Bernoulli,
    Connection,
    FixedInDegree,
    FixedTotalNumber,
    PoissonDrive,
    Potential,
    SpikingNetwork,
    SpikingPopulation,
    spiking_network,
)
from fieldtheory.ir.symbols import (
    ByPopulation,
    Coupling,
    CouplingSum,
    Field,
    FieldValue,
    ResponseValue,
    by_population,
    n,
    s,
    t,
)

__all__ = [
    "Action", "Time", "CONTINUOUS", "ZERO_DIMENSIONAL", "discrete", "layers",
    "FIRST", "Inputs", "Layer", "layered", "InputWeights", "PerLayer",
    "Posterior", "Preactivation", "Targets", "Weight", "posterior",
    "GLM", "LIF", "Bernoulli", "Connection", "FixedInDegree", "FixedTotalNumber",
    "PoissonDrive", "Potential", "SpikingNetwork", "SpikingPopulation", "spiking_network",
    "CouplingMatrix", "DenseCoupling", "LowRankCoupling",
    "Ensemble", "Gaussian", "Block", "BlockGaussian", "RandomMode", "JointGaussian",
    "ENSEMBLES",
    "MODE_INDEX", "MODE_COUNT", "register_ensemble",
    "LangevinSystem", "langevin", "read_langevin", "Model",
    "NONLINEARITIES", "ReLU", "relu", "tanh", "erf_sqrtpi", "identity", "logistic",
    "nonlinearity",
    "Domain", "Parameter", "ParameterSet", "parameters", "evaluate", "REALS", "POSITIVE",
    "NONNEGATIVE",
    "Quenched", "QuenchedDistribution", "LogNormalGain", "GainArray",
    "Population", "ONE_POPULATION", "population_sizes",
    "ByPopulation", "Coupling", "CouplingSum", "Field", "FieldValue", "ResponseValue",
    "by_population", "t", "s", "n",
]
