"""derive(model): every stage in order, JSON form, caching by content."""

from __future__ import annotations

import time

import pytest
from fieldtheory.models.scs import declare
from support.strict_json import strict_loads

import fieldtheory as ft
from fieldtheory.derive import Derivation, derive
from fieldtheory.errors import ActionStructureError, EnsembleError

STAGES = ["action", "disorder_average", "collective_fields", "saddle_point", "site"]


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
    assert strict_loads(derive("ei").dumps()) == payload


def test_cached_by_content_not_by_identity():
    first = derive(declare("scs_copy", ft.tanh, "").action)
    start = time.perf_counter()
    second = derive(declare("scs_copy", ft.tanh, "").action)  # a new, equal action
    assert second is first
    assert time.perf_counter() - start < 0.05


def _refuses(coupling, ensemble, model) -> bool:
    """Whether the ensemble itself names a missing averaging rule (random modes with a
    symbolic overlap); then derive must refuse the model with that name."""
    try:
        ensemble.cumulants(ensemble.drawn_with(coupling), model.action.populations, order=2)
    except EnsembleError:
        return True
    return False


@pytest.mark.parametrize("name", ft.shipped_models())
def test_every_shipped_model_derives_or_names_its_missing_rule(name):
    model = ft.load_model(name)
    if isinstance(model.action, ft.Posterior):  # a static model: the single-neuron stages
        d = derive(model)
        assert d.name == name and d.stage("site").text and d.self_consistency
        return
    if isinstance(model.action, ft.SpikingNetwork):  # the input cumulants, the site
        d = derive(model)
        assert [s.name for s in d.stages] == ["network", "disorder_average", "site"]
        assert d.site_problem().kinds and d.to_json()["populations"]
        return
    if model.action.time.is_zero_dimensional:  # a plain integral: no dynamics to derive
        with pytest.raises(ft.errors.NotMSRDJError, match="zero-dimensional"):
            derive(model)
        return
    if any(_refuses(c, e, model) for c, e in model.action.couplings):
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


SCS_SITE = """\
lowered single site (continuous time; u is the site's field):
  ∂_t u = -leak·u + r(u) + input + Σ_l B_l m_l(t) + Σ_j κ_j ∫ds R_j(t, s) h_j(u(s)) + η(t)
  ⟨η(t)η(s)⟩ = noise·δ(t - s) + Σ_k A_k C_k(t, s)
  observed φ(u) = tanh(u)
averages (over the site of their population):
  m_tanh(t) = ⟨tanh(u(t))⟩  [all]
  C_tanh(t, s) = ⟨tanh(u(t)) · tanh(u(s))⟩  [all]
  R_tanh(t, s) = ⟨tanh(u(t)) · ũ(s)⟩, kernel on h(u) = tanh(u)  [all]
population all (fraction 1):
  leak = 1, r(u) = 0, input = I, noise = D
  B[m_tanh] = J0
  A[C_tanh] = g**2
  κ[R_tanh] = g**2*rho"""


def test_the_lowered_site_is_the_fifth_stage():
    from fieldtheory.codegen.site import lower_site, observed_phi

    d = derive("scs")
    assert d.site == lower_site(d.mean_field, observed_phi(d.action))
    assert d.site_problem() is d.site and d.site_refusal is None
    assert d.stage("site").text == SCS_SITE
    latex = d.stage("site").latex
    assert r"\kappa_{R_{\mathrm{tanh}}} = g^{2} \rho" in latex
    assert r"\varphi(u) = \tanh{\left(u \right)}" in latex


def test_the_site_stage_of_a_map_and_of_several_populations():
    text = derive("map").stage("site").text
    assert text.startswith("lowered single site (discrete time, step delta;")
    assert "u(n + 1) - u(n) = -leak·u" in text and "leak = delta," in text
    assert "A[C_tanh] = delta**2*g**2" in text
    ei = derive("ei").stage("site").text
    assert "population E (fraction f_E):" in ei and "population I (fraction 1 - f_E):" in ei
    assert "  B[m_tanh_I] = -J0_EI*(f_E - 1)" in ei


def test_a_theory_the_single_site_cannot_hold_has_no_site_stage():
    x, y, J = ft.Field("x"), ft.Field("y"), ft.Coupling("J")
    p = ft.parameters(g=(1.0, "positive"))
    (g,) = p.symbols
    action = ft.langevin({x: -x(ft.t) + J @ ft.tanh(y(ft.t)), y: -y(ft.t) + x(ft.t)}, None,
                         {J: ft.Gaussian(0, g**2)}, p)
    d = derive(action)
    assert [s.name for s in d.stages] == STAGES[:-1] and d.site is None
    assert "one field" in d.site_refusal
    with pytest.raises(ActionStructureError, match="one field"):
        d.site_problem()


def test_derivation_and_stages_render_as_latex_in_notebooks():
    d = derive("scs")
    shown = d._repr_latex_()
    assert shown.startswith(r"$\displaystyle \begin{array}{l}") and shown.endswith("$")
    for stage in d.stages:
        assert stage.latex in shown
        assert rf"\textbf{{{stage.name.replace('_', ' ')}}}" in shown
        assert stage._repr_latex_() == (
            rf"$\displaystyle \begin{{array}}{{l}} {stage.latex} \end{{array}}$")
        assert str(stage) == stage.text
