"""Parameters: declaration, domains, resolution of user values, evaluation of expressions."""

from __future__ import annotations

import math

import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.errors import DeclarationError, ParameterError, UnknownParameterError
from fieldtheory.ir import NONNEGATIVE, POSITIVE, REALS, evaluate, population_sizes

P = ft.parameters(
    g=(2.0, "positive", "coupling gain"),
    J0=0.0,
    rho=(0.0, (-1, 1), "partial symmetry"),
    D=(0.0, "nonnegative"),
)


def test_parameters_declares_defaults_domains_and_descriptions():
    assert P.names == ("g", "J0", "rho", "D")
    assert P.defaults() == {"g": 2.0, "J0": 0.0, "rho": 0.0, "D": 0.0}
    assert P["g"].domain == POSITIVE and P["J0"].domain == REALS
    assert P["rho"].domain == ft.Domain(-1.0, 1.0) and P["D"].domain == NONNEGATIVE
    assert P["g"].description == "coupling gain"
    assert len(P) == 4 and [p.name for p in P] == list(P.names)


def test_parameter_symbols_are_real_and_shared_with_attribute_access():
    g = P.g
    assert g == sp.Symbol("g", real=True) and g.is_real
    assert P.symbols == (P.g, P.J0, P.rho, P.D)
    with pytest.raises(AttributeError):
        P.nothing  # noqa: B018 - the attribute access is the test


def test_resolve_returns_defaults_updated_by_overrides():
    assert P.resolve() == P.defaults()
    assert P.resolve({"g": 1.5, "rho": -1}) == {"g": 1.5, "J0": 0.0, "rho": -1.0, "D": 0.0}


def test_resolve_unknown_name_names_it_and_lists_the_model_parameters():
    with pytest.raises(UnknownParameterError) as info:
        P.resolve({"gain": 1.0})
    assert "unknown parameter 'gain'" in str(info.value)
    assert "this model has: g, J0, rho, D" in str(info.value)


def test_lookup_of_unknown_name_raises_unknown_parameter_error():
    with pytest.raises(UnknownParameterError, match="unknown parameter 'x'"):
        P["x"]
    with pytest.raises(UnknownParameterError, match="this model has: none"):
        ft.ParameterSet()["x"]


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("g", 0.0, "g = 0 lies outside its domain (0, inf)"),
        ("g", -1.0, "g = -1 lies outside its domain (0, inf)"),
        ("rho", 1.5, "rho = 1.5 lies outside its domain [-1, 1]"),
        ("D", -1e-3, "D = -0.001 lies outside its domain [0, inf)"),
        ("J0", math.inf, "J0 = inf lies outside its domain"),
        ("J0", math.nan, "J0 = nan lies outside its domain"),
        ("g", "two", "g = 'two' is not a number"),
    ],
)
def test_resolve_out_of_domain_value_raises_parameter_error(name, value, fragment):
    with pytest.raises(ParameterError) as info:
        P.resolve({name: value})
    assert fragment in str(info.value)
    assert not isinstance(info.value, UnknownParameterError)


def test_domain_bounds_open_and_closed():
    assert 0.0 not in POSITIVE and 1e-300 in POSITIVE
    assert 0.0 in NONNEGATIVE and -1e-300 not in NONNEGATIVE
    half_open = ft.Domain(0, 1, closed_lower=True, closed_upper=False)
    assert 0 in half_open and 1 not in half_open and str(half_open) == "[0, 1)"
    assert str(REALS) == "(-inf, inf)"
    assert ft.Domain.coerce("positive") is POSITIVE and ft.Domain.coerce(None) is REALS
    with pytest.raises(DeclarationError, match="unknown domain 'big'"):
        ft.Domain.coerce("big")


def test_duplicate_parameters_are_refused():
    with pytest.raises(DeclarationError, match=r"parameter\(s\) declared twice: \['g'\]"):
        ft.ParameterSet((ft.Parameter("g", 1.0), ft.Parameter("g", 2.0)))
    with pytest.raises(DeclarationError, match=r"declared twice: \['J0'\]"):
        P.merged([ft.Parameter("J0", 1.0)])


def test_default_outside_its_domain_is_refused():
    with pytest.raises(
        DeclarationError, match=r"default g = -1 lies outside its domain \(0, inf\)"
    ):
        ft.Parameter("g", -1.0, "positive")
    with pytest.raises(
        DeclarationError, match=r"default rho = 2 lies outside its domain \[-1, 1\]"
    ):
        ft.parameters(rho=(2.0, (-1, 1)))


def test_parameter_name_must_be_an_identifier():
    with pytest.raises(DeclarationError, match="parameter name 'g 2' is not an identifier"):
        ft.Parameter("g 2", 1.0)


def test_evaluate_substitutes_by_name():
    g, J0 = P.g, P.J0
    assert evaluate(g**2 + J0, {"g": 3.0, "J0": -1.0, "unused": 5.0}) == 8.0
    assert evaluate(sp.Integer(2), {}) == 2.0
    # a symbol of the same name with other assumptions is the same parameter by name
    assert evaluate(sp.Symbol("g", positive=True) * 2, {"g": 1.5}) == 3.0


def test_evaluate_names_every_missing_value():
    g, J0, D = P.g, P.J0, P.D
    with pytest.raises(ParameterError, match="no value for D, J0 in"):
        evaluate(g + J0 * D, {"g": 1.0})


def test_evaluate_refuses_non_real_results():
    with pytest.raises(ParameterError, match="not a finite real number"):
        evaluate(sp.sqrt(P.J0), {"J0": -1.0})
    with pytest.raises(ParameterError, match="not a finite real number"):
        evaluate(1 / P.J0, {"J0": 0})  # sympy: zoo
    with pytest.raises(ParameterError, match="1/J0 cannot be evaluated"):
        evaluate(1 / P.J0, {"J0": 0.0})  # mpmath: ZeroDivisionError


def test_population_sizes_follow_fractions_and_fill_n():
    f = sp.Symbol("f_E", real=True)
    pops = (ft.Population("E", f), ft.Population("I", 1 - f))
    assert population_sizes(pops, 1000, {"f_E": 0.8}) == (800, 200)
    assert population_sizes(pops, 7, {"f_E": 0.5}) == (4, 3)  # the last takes the remainder
    assert sum(population_sizes(pops, 999, {"f_E": 0.123})) == 999


def test_population_sizes_refuse_bad_fractions_and_missing_values():
    f = sp.Symbol("f_E", real=True)
    pops = (ft.Population("E", f), ft.Population("I", 1 - f))
    with pytest.raises(ParameterError, match=r"E=1\.2, I=-0\.2"):
        population_sizes(pops, 100, {"f_E": 1.2})
    with pytest.raises(ParameterError, match="leaves a population empty"):
        population_sizes(pops, 10, {"f_E": 0.99})
    with pytest.raises(ParameterError, match="no value for f_E"):
        population_sizes(pops, 10, {})
