"""Hostile Python calls, issue 11.7: one API, one behaviour.

Every entry point takes a Model or a model's name (or file path) and refuses anything else
with a TypeError saying what it expected; parameter values must be a mapping; the model
language refuses a string for a Field, a number for an Ensemble, and so on, by name;
``verify`` refuses N = 0 or dt = 0 instead of substituting its defaults. All of it before
any work: the work is replaced by a function that fails the test.
"""

from __future__ import annotations

import sys

import pytest

import fieldtheory as ft
from fieldtheory.diagrams.report import diagrams_json
from fieldtheory.errors import (
    ArgumentTypeError,
    DeclarationError,
    DeclarationTypeError,
    FieldTheoryError,
    ParameterError,
)

x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
P = ft.parameters(g=(2.0, "positive"))
(g,) = P.symbols
GAUSS = ft.Gaussian(mean=0, variance=g**2)

ENTRY_POINTS = {
    "derive": lambda m: ft.derive(m),
    "generate": lambda m: ft.generate(m),
    "solve": lambda m: ft.solve(m),
    "solve_transient": lambda m: ft.solve_transient(m, {}, t_max=1.0, dt=0.1),
    "simulate": lambda m: ft.simulate(m),
    "verify": lambda m: ft.verify(m),
    "sweep": lambda m: ft.sweep(m, {"g": [1.0, 2.0]}),
    "perturbative_theory": lambda m: ft.perturbative_theory(m),
    "loop_expansion": lambda m: ft.loop_expansion(m),
    "diagrams_json": lambda m: diagrams_json(m, 1),
    "load_model": lambda m: ft.load_model(m),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("wrong", [3, 2.5, ["scs"], None, {"model": "scs"}],
                         ids=["int", "float", "list", "None", "dict"])
def test_every_entry_point_refuses_what_is_not_a_model(entry, wrong):
    with pytest.raises(TypeError, match="expected a Model") as caught:
        ENTRY_POINTS[entry](wrong)
    assert isinstance(caught.value, ArgumentTypeError)  # a named error too: CLI status 2
    assert type(wrong).__name__ in str(caught.value)


@pytest.mark.parametrize("entry", ["simulate", "perturbative_theory", "derive"])
def test_entry_points_take_a_model_name_or_path(entry):
    name = "phi4_zero_dim" if entry == "perturbative_theory" else "linear"
    call = {
        "simulate": lambda m: ft.simulate(m, N=8, t_max=2, t_burn=0, dt=0.05, tau_max=0.5,
                                          dtau=0.25, trials=2),
        "perturbative_theory": ft.perturbative_theory,
        "derive": ft.derive,
    }[entry]
    by_name = call(name)
    by_path = call(ft.ir.model.models_directory() / f"{name}.py")
    by_model = call(ft.load_model(name))
    if entry == "simulate":
        assert by_name.observables["variance"] == by_model.observables["variance"]
        assert by_path.model == by_model.model == "linear"
    else:
        assert str(by_name) == str(by_model) == str(by_path)


PARAMS_CALLS = {
    "solve": lambda p: ft.solve("scs", p),
    "simulate": lambda p: ft.simulate("scs", p),
    "verify": lambda p: ft.verify("scs", p),
    "resolve": lambda p: ft.load_model("scs").parameters.resolve(p),
}


@pytest.mark.parametrize("call", sorted(PARAMS_CALLS))
@pytest.mark.parametrize("params, words", [
    ([("g", 1.5)], "must be a mapping name → value"),
    ("g=1.5", "must be a mapping name → value"),
    ({g: 1.5}, "a parameter name must be a str"),
])
def test_parameter_values_must_be_a_mapping_of_names(call, params, words):
    with pytest.raises(ArgumentTypeError, match=words):
        PARAMS_CALLS[call](params)


def test_sweep_ranges_must_be_a_mapping():
    with pytest.raises(TypeError, match="mapping"):
        ft.sweep("scs", [1.0, 2.0])


DECLARATIONS = {
    "drift a list": (lambda: ft.langevin([-x(t)]), "drift must be a mapping Field"),
    "drift key a string": (lambda: ft.langevin({"x": -x(t)}),
                           "a drift key must be a Field (x = ft.Field('x')), got str 'x'"),
    "noise key a string": (lambda: ft.langevin({x: -x(t)}, noise={"x": 1}),
                           "a noise key must be a Field or a pair"),
    "noise a number": (lambda: ft.langevin({x: -x(t)}, noise=1.0), "noise must be a mapping"),
    "ensemble a number": (
        lambda: ft.langevin({x: -x(t) + J @ ft.tanh(x(t))}, couplings={J: 3}, parameters=P),
        "the ensemble of J must be an Ensemble"),
    "coupling key a string": (
        lambda: ft.langevin({x: -x(t) + J @ ft.tanh(x(t))}, couplings={"J": GAUSS},
                            parameters=P),
        "a couplings key must be a Coupling"),
    "couplings a list": (lambda: ft.langevin({x: -x(t)}, couplings=[GAUSS]),
                         "couplings must be a mapping Coupling → Ensemble"),
    "parameters a dict": (lambda: ft.langevin({x: -x(t)}, parameters={"g": 2}),
                          "parameters must be a ParameterSet"),
    "populations a string": (lambda: ft.langevin({x: -x(t)}, populations="E"),
                             "populations must be a tuple of Population"),
    "population a string": (lambda: ft.langevin({x: -x(t)}, populations=("E",)),
                            "a population must be a Population"),
    "time a string": (lambda: ft.langevin({x: -x(t)}, time="continuous"),
                      "time must be a Time"),
    "model action a number": (lambda: ft.Model("m", 3), "action must be an Action"),
    "model name a number": (lambda: ft.Model(3, ft.langevin({x: -x(t)})),
                            "name must be a str, got int 3"),
    "parameter default a string": (lambda: ft.parameters(g="x"),
                                   "parameter g: the default must be a number, got str"),
    "parameter set of strings": (lambda: ft.ParameterSet(("g",)),
                                 "an item must be a Parameter"),
}


@pytest.mark.parametrize("case", sorted(DECLARATIONS))
def test_the_model_language_names_the_expected_type(case):
    build, words = DECLARATIONS[case]
    with pytest.raises(TypeError) as caught:
        build()
    assert words in str(caught.value)
    assert isinstance(caught.value, DeclarationTypeError)
    assert isinstance(caught.value, DeclarationError | FieldTheoryError)


@pytest.fixture
def no_work(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the work started before the arguments were checked")

    monkeypatch.setattr(sys.modules["fieldtheory.solve"], "solve", boom)
    monkeypatch.setattr(sys.modules["fieldtheory.simulate"], "simulate", boom)


@pytest.mark.parametrize("arguments, error, words", [
    ({"N": 0}, ParameterError, "N = 0 must be a positive integer"),
    ({"N": -5}, ParameterError, "N = -5"),
    ({"N": 10.5}, ParameterError, "N = 10.5"),
    ({"N": "100"}, TypeError, "N must be a positive integer, got str"),
    ({"dt": 0}, ParameterError, "dt = 0 must be a finite positive number"),
    ({"dt": 0.0}, ParameterError, "dt = 0.0"),
    ({"dt": float("nan")}, ParameterError, "dt = nan"),
    ({"trials": 0}, ParameterError, "trials = 0"),
    ({"t_max": 0}, ParameterError, "t_max = 0"),
    ({"t_burn": -1}, ParameterError, "t_burn = -1 must be a finite non-negative number"),
])
def test_verify_refuses_zero_instead_of_substituting_defaults(no_work, arguments, error,
                                                              words):
    with pytest.raises(error, match=words.replace("(", r"\(")):
        ft.verify("scs", **arguments)


def test_verify_keeps_the_defaults_for_none(monkeypatch):
    seen = {}

    def record(model, params, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(sys.modules["fieldtheory.simulate"], "simulate", record)
    with pytest.raises(RuntimeError, match="stop here"):
        ft.verify("scs", {"g": 0.5}, N=None, dt=None, tau_max=2, dtau=0.5)
    assert seen["N"] == 1000 and seen["dt"] == 0.1  # the noise-free defaults
