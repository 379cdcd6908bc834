"""derive(model): every stage in order, JSON form, caching by content."""

from __future__ import annotations

import json
import time

import pytest
from fieldtheory.models.scs import declare

import fieldtheory as ft
from fieldtheory.derive import Derivation, derive
from fieldtheory.errors import EnsembleError

STAGES = ["action", "disorder_average", "collective_fields", "saddle_point"]


def test_stages_in_order_with_text_and_latex():
    d = derive("scs")
    assert isinstance(d, Derivation)
    assert [s.name for s in d.stages] == STAGES
    assert d.stage("action").text == str(ft.load_model("scs").action)
    assert d.stage("saddle_point").text == str(d.mean_field)
    assert d.stage("collective_fields").latex == d.collective.latex()
    assert all(s.text and s.latex for s in d.stages)
    assert str(d).startswith("== action ==\nS = Σ_i ∫dt")
    with pytest.raises(KeyError, match="stages"):
        d.stage("fluctuations")


def test_to_json_has_the_documented_keys_as_strings():
    payload = derive("ei").to_json()
    assert [s["name"] for s in payload["stages"]] == STAGES
    assert all(set(s) == {"name", "text", "latex"} for s in payload["stages"])
    assert payload["order_parameters"] == ["C_tanh_E(t, s)", "m_tanh_E(t)", "C_tanh_I(t, s)",
                                           "m_tanh_I(t)"]
    assert payload["self_consistency"][0] == "C_tanh_E(t, s) = ⟨tanh(x(t))*tanh(x(s))⟩_E"
    assert payload["is_gaussian"] is True
    assert json.loads(derive("ei").dumps()) == payload


def test_cached_by_content_not_by_identity():
    first = derive(declare("scs_copy", ft.tanh, "").action)
    start = time.perf_counter()
    second = derive(declare("scs_copy", ft.tanh, "").action)  # a new, equal action
    assert second is first
    assert time.perf_counter() - start < 0.05


@pytest.mark.parametrize("name", ft.shipped_models())
def test_every_shipped_model_derives_or_names_its_missing_rule(name):
    model = ft.load_model(name)
    if model.action.time.is_zero_dimensional:  # a plain integral: no dynamics to derive
        with pytest.raises(ft.errors.NotMSRDJError, match="zero-dimensional"):
            derive(model)
        return
    if any(e.averaging_rule is None for _, e in model.action.couplings):
        with pytest.raises(EnsembleError, match="no averaging rule"):
            derive(model)
        return
    d = derive(model)
    # a unit without couplings (cubic_unit) has no order parameters: its site is itself
    assert d.name == name and (d.mean_field.order_parameters or not model.action.couplings)
    assert len(d.mean_field.processes) == len(model.action.populations)


def test_a_model_file_path_derives(tmp_path):
    path = tmp_path / "my_model.py"
    path.write_text(
        "import fieldtheory as ft\n"
        "p = ft.parameters(g=(1.0, 'positive'))\n"
        "x, J, t = ft.Field('x'), ft.Coupling('J'), ft.t\n"
        "model = ft.Model('mine', ft.langevin(drift={x: -x(t) + J @ ft.relu(x(t))},\n"
        "    couplings={J: ft.Gaussian(0, p.g**2)}, parameters=p))\n"
    )
    d = derive(path)
    assert d.name == "mine"
    assert [q.name for q in d.mean_field.order_parameters] == ["C_ReLU"]
    assert "⟨η(t)η(s)⟩ = g**2*C_ReLU(t, s)" in d.stage("saddle_point").text


def test_an_action_without_couplings_has_no_order_parameters():
    x, t = ft.Field("x"), ft.t
    d = derive(ft.langevin(drift={x: -x(t)}))
    assert d.mean_field.order_parameters == () and d.mean_field.is_gaussian
    assert d.stage("saddle_point").text == (
        "self-consistency: none\n"
        "single-site process (continuous time, Gaussian):\n"
        "  ∂_t x(t) = -x(t)"
    )
