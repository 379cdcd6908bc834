"""fieldtheory — a symbolic-numeric workbench for the statistical field theory of networks.

``import fieldtheory as ft``: declare a model as an MSRDJ action (or a Langevin equation),
``ft.derive`` its mean-field theory, ``ft.generate``/``ft.solve`` the generated solver
(``ft.solve_transient`` from an initial distribution, ``ft.sweep`` over a parameter grid),
``ft.simulate`` the network, ``ft.verify`` one against the other, and expand a polynomial
action in Feynman diagrams (``ft.perturbative_theory``, ``ft.diagrams.expand``,
``ft.loop_expansion``).

This namespace holds what users call and the types it returns, nothing else. The
functions ``derive``, ``simulate``, ``solve``, ``sweep`` and ``verify`` share their
modules' names, so ``ft.simulate`` is the function and not the subpackage: import a
module's helpers from the module itself, e.g. ``from fieldtheory.simulate import
realise``, ``from fieldtheory.sweep import classify``, ``from fieldtheory.verify import
compare`` (``import fieldtheory.simulate.run`` and ``importlib.import_module`` reach the
modules).
"""

# derive, simulate, solve, sweep and verify share their modules' names; importing the
# functions here (after their modules load) keeps the package attribute bound to the function
from fieldtheory import diagrams, errors
from fieldtheory._version import __version__
from fieldtheory.codegen.generate import generate
from fieldtheory.derive import Derivation, derive
from fieldtheory.diagrams import perturbative_theory
from fieldtheory.diagrams.loops import LoopExpansion, loop_expansion
from fieldtheory.ir import (
    CONTINUOUS,
    FIRST,
    GLM,
    LIF,
    MODE_COUNT,
    MODE_INDEX,
    ZERO_DIMENSIONAL,
    Action,
    Bernoulli,
    Block,
    BlockGaussian,
    ByPopulation,
    Connection,
    Coupling,
    CouplingSum,
    Domain,
    Ensemble,
    Field,
    FixedInDegree,
    FixedTotalNumber,
    GainArray,
    Gaussian,
    Inputs,
    InputWeights,
    JointGaussian,
    LangevinSystem,
    Layer,
    LogNormalGain,
    Model,
    Parameter,
    ParameterSet,
    PerLayer,
    PoissonDrive,
    Population,
    Posterior,
    Potential,
    Preactivation,
    Quenched,
    RandomMode,
    SpikingNetwork,
    SpikingPopulation,
    Targets,
    Time,
    Weight,
    by_population,
    discrete,
    erf_sqrtpi,
    identity,
    langevin,
    layered,
    layers,
    logistic,
    n,
    parameters,
    posterior,
    read_langevin,
    relu,
    s,
    spiking_network,
    t,
    tanh,
)
from fieldtheory.ir.model import load_model, shipped_models
from fieldtheory.printing import latex, text
from fieldtheory.results import TheoryResult, TransientResult
from fieldtheory.simulate import SimulationResult, simulate
from fieldtheory.solve import solve, solve_transient
from fieldtheory.sweep import SweepResult, Transition, sweep, transition
from fieldtheory.verify import Report, verify

__all__ = [
    "__version__",
    "errors",
    # the model language
    "Action", "Time", "CONTINUOUS", "ZERO_DIMENSIONAL", "discrete",
    "layers", "layered", "Inputs", "Layer", "FIRST", "PerLayer", "InputWeights",
    "Posterior", "Preactivation", "Targets", "Weight", "posterior",
    "GLM", "LIF", "Bernoulli", "Connection", "FixedInDegree", "FixedTotalNumber",
    "PoissonDrive", "Potential", "SpikingNetwork", "SpikingPopulation", "spiking_network",
    "Field", "Coupling", "CouplingSum", "ByPopulation", "by_population", "t", "s", "n",
    "Parameter", "ParameterSet", "parameters", "Domain",
    "Ensemble", "Gaussian", "JointGaussian", "Block", "BlockGaussian", "RandomMode", "MODE_INDEX",
    "MODE_COUNT", "Population", "Quenched", "LogNormalGain", "GainArray",
    "LangevinSystem", "langevin", "read_langevin",
    "Model", "load_model", "shipped_models",
    "tanh", "erf_sqrtpi", "relu", "identity", "logistic",
    "text", "latex",
    # derivation, solvers, simulation, comparison
    "derive", "Derivation", "generate",
    "solve", "solve_transient", "TheoryResult", "TransientResult",
    "sweep", "transition", "SweepResult", "Transition",
    "simulate", "SimulationResult",
    "verify", "Report",
    # diagrams
    "diagrams", "perturbative_theory", "loop_expansion", "LoopExpansion",
]
