"""Every shipped model loads, prints (text and LaTeX) and simulates briefly to finite numbers.

The models are discovered, not listed: a new file in models/ is collected automatically.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from support.strict_json import strict_loads

import fieldtheory as ft
from fieldtheory.ir.posterior import is_posterior
from fieldtheory.ir.spiking import is_spiking
from fieldtheory.printing import action_latex, action_text
from fieldtheory.spiking_solve import simulate_spiking_model

MODELS = ft.shipped_models()


def test_models_are_shipped():
    assert {"scs", "scs_erf", "linear", "ei", "random_mode", "map"} <= set(MODELS)


@pytest.fixture(params=MODELS)
def model(request) -> ft.Model:
    return ft.load_model(request.param)


def test_loads_as_named(model):
    assert isinstance(model, ft.Model)
    assert model.name in MODELS
    assert model.description, "`fieldtheory models` shows the description"


def test_prints_as_text(model):
    text = str(model)
    assert text.startswith(f"model {model.name}\n")
    if is_spiking(model):  # a spiking network: its declaration, then the parameters
        assert str(model.action) in text and "spiking network" in text
        assert all(f"  {p.name} = " in text for p in model.parameters)
        return
    if is_posterior(model):  # a static model: the posterior, then the parameters
        assert str(model.action) in text and "posterior ∝ exp(" in text
        assert all(f"  {p.name} = " in text for p in model.parameters)
        return
    assert action_text(model.action) in text
    # a zero-dimensional theory (a plain integral) has no sites and no response fields
    tilde = f"{model.action.fields[0].name}\u0303_i"
    assert (tilde in text) != model.action.time.is_zero_dimensional
    for parameter in model.parameters:
        assert f"  {parameter.name} = " in text


def test_prints_as_latex(model):
    if is_spiking(model):
        assert model._repr_latex_() == f"${model.action.latex()}$"
        assert r"\tau_m\dot V_i" in model.action.latex()
        return
    if is_posterior(model):
        latex = model.action.latex()
        assert latex.startswith(r"p(W, a\mid X, Y) \propto")
        assert latex.count(r"\left") == latex.count(r"\right")
        assert model._repr_latex_() == f"${latex}$"
        return
    latex = action_latex(model.action)
    assert latex.startswith("S = ")
    tilde = rf"\tilde{{{model.action.fields[0].name}}}_{{i}}"
    assert (tilde in latex) != model.action.time.is_zero_dimensional
    assert latex.count(r"\left") == latex.count(r"\right")
    assert model._repr_latex_() == f"$\\displaystyle {latex}$"


def _finite(value) -> bool:
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return isinstance(value, float) and math.isfinite(value)


def test_simulates_briefly(model):
    if is_spiking(model):  # its own engines: a few hundred neurons, 100 ms
        with pytest.raises(ft.errors.SimulationError, match="simulate_spiking_model"):
            ft.simulate(model, N=10)
        names = model.parameters.names
        small, N = (({"N_E": 320}, None) if "N_E" in names else
                    ({"scale": 0.005}, None) if "scale" in names else ({}, 400))
        data = simulate_spiking_model(model, small, N=N, t_max=100.0, t_burn=20.0,
                                      seed=1).to_json()
        assert strict_loads(json.dumps(data)) == data
        assert set(data["observables"]["populations"]) == set(model.action.names)
        assert 300 <= data["N"] <= 500
        assert data["observables"]["rate"] > 0
        return
    if is_posterior(model):  # a static model: no dynamics; the posterior sampler instead
        with pytest.raises(ft.errors.SimulationError, match="simulate_posterior"):
            ft.simulate(model, N=10)
        return
    if model.action.time.is_zero_dimensional:  # nothing to simulate: refused by name
        with pytest.raises(ft.errors.NotMSRDJError, match="zero-dimensional"):
            ft.simulate(model, N=10, t_max=1, t_burn=0, tau_max=1)
        return
    if model.action.time.is_layered:  # deep and recurrent networks: empirical kernels
        data = ft.simulate(model, N=50, trials=4, seed=1).to_json()
        assert strict_loads(json.dumps(data)) == data
        depth = int(model.parameters.defaults()["depth"])
        patterns = model.action.time.inputs.patterns
        assert sorted(data["observables"]) == ["kernel", "kernel_cross", "kernel_variance"]
        assert np.shape(data["observables"]["kernel"]["values"]) == (depth, patterns,
                                                                      patterns)
        assert _finite(data["observables"]) and _finite(data["stderr"])
        return
    result = ft.simulate(model, N=100, t_max=10, t_burn=5, tau_max=2, seed=1)
    data = result.to_json()
    assert strict_loads(json.dumps(data)) == data
    assert data["model"] == model.name and data["N"] == 100
    assert data["params"] == model.parameters.defaults()
    observables = data["observables"]
    assert _finite(observables), observables
    assert observables["variance"] >= 0
    assert observables["autocorrelation"]["values"][0] == observables["variance"]
    if len(model.action.populations) > 1:
        names = [p.name for p in model.action.populations]
        assert sorted(observables["populations"]) == sorted(names)
