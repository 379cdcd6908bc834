"""fieldtheory — a symbolic-numeric workbench for the statistical field theory of networks.

``import fieldtheory as ft``: declare a model as an MSRDJ action (or a Langevin equation),
``ft.derive`` its mean-field theory, ``ft.generate``/``ft.solve`` the generated solver,
``ft.simulate`` the network, and ``ft.verify`` one against the other.
"""

# derive, solve, verify and generate share their modules' names; importing the functions
# here (after their modules load) keeps the package attribute bound to the function
from fieldtheory import errors
from fieldtheory._version import __version__
from fieldtheory.codegen.generate import generate
from fieldtheory.derive import derive
from fieldtheory.ir import (
    CONTINUOUS,
    MODE_COUNT,
    MODE_INDEX,
    ZERO_DIMENSIONAL,
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
from fieldtheory.solve import solve
from fieldtheory.verify import verify

__all__ = [
    "errors",
    "Action", "Time", "CONTINUOUS", "ZERO_DIMENSIONAL", "discrete",
    "Field", "Coupling", "CouplingSum", "ByPopulation", "by_population", "t", "s", "n",
    "Parameter", "ParameterSet", "parameters", "Domain",
    "Ensemble", "Gaussian", "JointGaussian", "Block", "BlockGaussian", "RandomMode", "MODE_INDEX",
    "MODE_COUNT", "Population",
    "LangevinSystem", "langevin", "read_langevin",
    "Model", "load_model", "shipped_models",
    "tanh", "erf_sqrtpi", "relu", "identity", "logistic",
    "text", "latex",
    "simulate", "SimulationResult",
    "derive", "solve", "verify", "generate",
    "__version__",
]
