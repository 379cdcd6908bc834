"""Collective fields: order parameters found, canonicalised, named; the action N·S[Q, Q̃]."""

from __future__ import annotations

import sympy as sp

import fieldtheory as ft
from fieldtheory.derive import derive
from fieldtheory.transforms import (
    TimeIntegral,
    collective_fields,
    disorder_average,
    functional_derivative,
)
from fieldtheory.transforms.collective_fields import site_observable

x, J, t, s = ft.Field("x"), ft.Coupling("J"), ft.t, ft.s
t3 = sp.Symbol("t3", real=True)


def test_factors_equal_up_to_relabelled_times_are_one_observable():
    phi = sp.tanh
    first, at_first = site_observable(x.response(t) * phi(x(s)), (t, s), "all", False, set())
    second, at_second = site_observable(phi(x(t)) * x.response(s), (t, s), "all", False, set())
    assert first == second
    # fields first, then response fields: R(t, s) = ⟨φ(x(t)) x̃(s)⟩
    assert first.content == phi(x(t)) * x.response(s)
    assert (at_first, at_second) == ((s, t), (t, s))


def test_a_three_time_factor_is_canonicalised_whatever_its_labels():
    expr = sp.tanh(x(t3)) * x(s) * x.response(t)
    observable, arguments = site_observable(expr, (t, s, t3), "all", False, set())
    assert observable.content == sp.tanh(x(t)) * x(s) * x.response(t3)
    assert arguments == (t3, s, t)


def test_order_parameters_are_named_from_their_content_deterministically():
    names = [q.name for q in derive("scs").collective.order_parameters]
    assert names == ["C_tanh", "m_tanh", "R_tanh", "C_x~", "m_x~"]
    again = collective_fields(disorder_average(ft.load_model("scs").action))
    assert [q.name for q in again.order_parameters] == names
    assert [q.latex_name for q in again.order_parameters] == [
        r"C_{\tanh}", r"m_{\tanh}", r"R_{\tanh}", r"C_{\tilde{x}}", r"m_{\tilde{x}}"]


def test_symmetric_and_vanishing_order_parameters():
    q = {op.name: op for op in derive("scs").collective.order_parameters}
    assert q["C_tanh"].symmetries == ((0, 1), (1, 0))
    assert q["R_tanh"].symmetries == ((0, 1),)
    assert [name for name, op in q.items() if op.vanishes] == ["C_x~", "m_x~"]
    assert q["C_tanh"].definition_text() == "C_tanh(t, s) = (1/N) Σ_j tanh(x_j(t))*tanh(x_j(s))"


def test_population_fractions_weigh_conjugate_and_bilinear_terms():
    collective = derive("ei").collective
    f_E = ft.load_model("ei").parameters.f_E
    q = {op.name: op for op in collective.order_parameters}
    C_E, Cx_I = q["C_tanh_E"], q["C_x~_I"]
    g_IE = ft.load_model("ei").parameters.g_IE
    # (g_IE²/2N) Σ_{i∈I} Σ_{j∈E} … = N (g_IE²/2) f_I f_E ∫∫ C_x̃^I C^E
    expected = g_IE**2 / 2 * (1 - f_E) * f_E * TimeIntegral(Cx_I.value() * C_E.value(), t, s)
    assert any(sp.simplify(term - expected) == 0 for term in collective.bilinear_terms)
    assert -f_E * TimeIntegral(C_E.conjugate() * C_E.value(), t, s) in collective.conjugate_terms
    assert "Z_I[Q̃] = ∫Dx Dx̃ exp(" in str(collective)


def test_functional_derivative_renames_bound_times_and_counts_occurrences():
    Q = sp.Function("Q")
    u, v = sp.symbols("u v", real=True)
    expr = 3 * TimeIntegral(Q(t, s) * Q(s, t), t, s)
    assert functional_derivative(expr, Q, (u, v)) == 6 * Q(v, u)
    # a variable left integrated is renamed so that it cannot capture a point symbol
    expr = TimeIntegral(Q(t3) * x(t) * x(t3), t, t3)
    result = functional_derivative(expr, Q, (t,))
    (integral,) = result.atoms(TimeIntegral)
    (fresh,) = integral.variables
    assert fresh not in (t, t3) and result == x(t) * TimeIntegral(x(fresh), fresh)
    assert result.free_symbols == {t}
