"""The curated public namespace (issue 10): ``ft.__all__`` is exactly what users call."""

from __future__ import annotations

import importlib
import inspect

import fieldtheory as ft

PUBLIC = {
    "__version__", "errors",
    # the model language
    "Action", "Time", "CONTINUOUS", "ZERO_DIMENSIONAL", "discrete",
    # layered (deep and recurrent) networks on a data set
    "layers", "layered", "Inputs", "Layer", "FIRST", "PerLayer", "InputWeights",
    "Posterior", "Preactivation", "Targets", "Weight", "posterior",
    "GLM", "LIF", "Bernoulli", "Connection", "FixedInDegree", "FixedTotalNumber",
    "PoissonDrive", "Potential", "SpikingNetwork", "SpikingPopulation", "spiking_network",
    "Field", "Coupling", "CouplingSum", "ByPopulation", "by_population", "t", "s", "n",
    "Parameter", "ParameterSet", "parameters", "Domain",
    "Ensemble", "Gaussian", "JointGaussian", "Block", "BlockGaussian", "RandomMode",
    "MODE_INDEX", "MODE_COUNT", "Population", "Quenched", "LogNormalGain", "GainArray",
    "LangevinSystem", "langevin", "read_langevin",
    "Model", "load_model", "shipped_models",
    "tanh", "erf_sqrtpi", "relu", "identity", "logistic",
    "text", "latex",
    # derivation, solvers, simulation, comparison, and what they return
    "derive", "Derivation", "generate",
    "solve", "solve_transient", "TheoryResult", "TransientResult",
    "sweep", "transition", "SweepResult", "Transition",
    "simulate", "SimulationResult",
    "verify", "Report",
    # diagrams
    "diagrams", "perturbative_theory", "loop_expansion", "LoopExpansion",
}


def test_all_is_exactly_the_curated_list():
    assert len(ft.__all__) == len(set(ft.__all__)), "a name is listed twice"
    assert set(ft.__all__) == PUBLIC


def test_every_public_name_resolves():
    for name in ft.__all__:
        assert getattr(ft, name) is not None, name
    namespace: dict = {}
    exec("from fieldtheory import *", namespace)
    assert PUBLIC <= set(namespace)


def test_functions_that_share_a_module_name_are_the_functions():
    # the package attribute is the function; the module stays importable by its path
    for name, module in [("derive", "fieldtheory.derive"), ("simulate", "fieldtheory.simulate"),
                         ("solve", "fieldtheory.solve"), ("sweep", "fieldtheory.sweep"),
                         ("verify", "fieldtheory.verify")]:
        function = getattr(ft, name)
        assert inspect.isfunction(function), name
        assert function is getattr(importlib.import_module(module), name)
    from fieldtheory.simulate import realise  # the documented path to a helper

    assert callable(realise)


def test_result_types_are_the_ones_the_entry_points_build():
    from fieldtheory import results

    solve_module = importlib.import_module("fieldtheory.solve")
    assert ft.TheoryResult is results.TheoryResult is solve_module.TheoryResult
    assert ft.TransientResult is results.TransientResult is solve_module.TransientResult
    assert ft.Derivation is type(ft.derive("scs"))


def test_no_internals_are_exported():
    # a module's helpers are reached through that module, never the top level
    for name in ("realise", "compare", "classify", "lower_site", "disorder_average",
                 "register_ensemble", "ConvergenceError", "cli", "codegen", "solvers"):
        assert name not in ft.__all__, name
