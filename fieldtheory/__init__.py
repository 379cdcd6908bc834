"""fieldtheory — a symbolic-numeric workbench for the statistical field theory of networks.

``import fieldtheory as ft``: declare a model as an MSRDJ action (or a Langevin equation),
simulate it, and (in later stages) derive, generate and verify its mean-field theory.
"""

from fieldtheory import errors
from fieldtheory.ir import (
    CONTINUOUS,
    MODE_COUNT,
    MODE_INDEX,
    Action,
    Block,
    BlockGaussian,
    ByPopulation,
    Coupling,
    CouplingSum,
    Domain,
    Ensemble,
    Field,
    Gaussian,
    JointGaussian,
    LangevinSystem,
    Model,
    Parameter,
    ParameterSet,
    Population,
    RandomMode,
    Time,
    by_population,
    discrete,
    erf_sqrtpi,
    identity,
    langevin,
    logistic,
    n,
    parameters,
    read_langevin,
    relu,
    s,
    t,
    tanh,
)
from fieldtheory.ir.model import load_model, shipped_models
from fieldtheory.printing import latex, text
from fieldtheory.simulate import SimulationResult, simulate

__version__ = "0.1.0"

__all__ = [
    "errors",
    "Action", "Time", "CONTINUOUS", "discrete",
    "Field", "Coupling", "CouplingSum", "ByPopulation", "by_population", "t", "s", "n",
    "Parameter", "ParameterSet", "parameters", "Domain",
    "Ensemble", "Gaussian", "JointGaussian", "Block", "BlockGaussian", "RandomMode", "MODE_INDEX",
    "MODE_COUNT", "Population",
    "LangevinSystem", "langevin", "read_langevin",
    "Model", "load_model", "shipped_models",
    "tanh", "erf_sqrtpi", "relu", "identity", "logistic",
    "text", "latex",
    "simulate", "SimulationResult",
    "__version__",
]
