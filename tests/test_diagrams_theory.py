"""Reading an action as propagators + vertices; zero-dimensional actions; named refusals."""

from __future__ import annotations

import networkx as nx
import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.diagrams import Diagram, expand, perturbative_theory
from fieldtheory.diagrams.theory import TAU
from fieldtheory.errors import (
    DeclarationError,
    ExpansionError,
    NotMSRDJError,
    UndeclaredSymbolError,
)
from fieldtheory.parsing import parse_assignments

x, y, t = ft.Field("x"), ft.Field("y"), ft.t


def cubic_unit() -> ft.Action:
    """dx = (−x − a x³) dt + √D dW (the colleague's models/cubic_unit.py, declared here)."""
    p = ft.parameters(a=(0.1, "nonnegative"), D=(1.0, "positive"))
    a, D = p.symbols
    return ft.langevin(drift={x: -x(t) - a * x(t) ** 3}, noise={x: D}, parameters=p)


# --- zero-dimensional actions ---------------------------------------------------------------


def test_zero_dimensional_model_and_the_parameter_named_lambda():
    model = ft.load_model("phi4_zero_dim")
    assert model.parameters.names == ("lambda",)
    assert str(model.action) == "S = -lambda*x**4/24 - x**2/2"
    # `lambda` is a Python keyword but a fine parameter and command-line name
    assert model.parameters.resolve(parse_assignments(["lambda=0.02"])) == {"lambda": 0.02}
    assert "time: none (zero-dimensional" in str(model)


@pytest.mark.parametrize(
    ("lagrangian", "error", "match"),
    [
        (lambda: -(x() ** 2) / 2 + x(t), DeclarationError, "without a time"),
        (lambda: -(x() ** 2) / 2 + x.response(t), UndeclaredSymbolError, "only the declared"),
        (lambda: -(x() ** 2) / 2 + sp.Symbol("q") * x(), UndeclaredSymbolError, "q"),
        (lambda: -(x() ** 2) / 2 + sp.Function("x")(), UndeclaredSymbolError, "only the"),
    ],
)
def test_zero_dimensional_actions_are_validated(lagrangian, error, match):
    with pytest.raises(error, match=match):
        ft.Action(lagrangian(), (x,), time=ft.ZERO_DIMENSIONAL)


def test_a_field_value_without_time_needs_a_zero_dimensional_action():
    with pytest.raises(DeclarationError, match="x\\(\\) has no time"):
        ft.langevin(drift={x: -x()})


def test_zero_dimensional_actions_have_no_dynamics_and_no_couplings():
    action = ft.Action(-(x() ** 2) / 2, (x,), time=ft.ZERO_DIMENSIONAL)
    with pytest.raises(NotMSRDJError, match="no dynamics"):
        ft.read_langevin(action)
    J = ft.Coupling("J")
    with pytest.raises(DeclarationError, match="no couplings"):
        ft.Action(-(x() ** 2) / 2 + J @ x(), (x,), {J: ft.Gaussian(0, 1)}, time=ft.ZERO_DIMENSIONAL)
    with pytest.raises(DeclarationError, match="no time"):
        ft.Time(True, 1, True)


# --- the split into propagators and vertices -------------------------------------------------


def test_cubic_unit_propagators_and_vertex():
    theory = perturbative_theory(cubic_unit())
    a, D = sp.symbols("a D", real=True)
    assert theory.legs == ("x", "x~")
    (vertex,) = theory.vertices
    assert (vertex.coefficient, vertex.legs, vertex.factor) == (-a, ("x", "x", "x", "x~"), -6 * a)
    by_kind = {p.kind: p for p in theory.propagators}
    assert by_kind["R"].fields == ("x~", "x")
    assert by_kind["R"].value == sp.Heaviside(TAU, 0) * sp.exp(-TAU)  # Θ(τ)e^{−τ}, R(0) = 0
    assert by_kind["R"].value.subs(TAU, 0) == 0
    assert by_kind["C"].value == D * sp.exp(-sp.Abs(TAU)) / 2
    assert theory.propagator("x~", "x~") is None  # ⟨x̃ x̃⟩ = 0


def test_free_part_with_time_constant_and_two_fields():
    """τ ∂_t x = −x + ξ: R = Θ e^{−t/τ}/τ, C = D e^{−|t|/τ}/(2τ); y driven by x."""
    p = ft.parameters(tau=(2.0, "positive"), D=(1.0, "positive"), c=0.5)
    tau, D, c = p.symbols
    L = (
        x.response(t) * (-tau * sp.Derivative(x(t), t) - x(t))
        + y.response(t) * (-sp.Derivative(y(t), t) - y(t) + c * x(t) + c * x(t) ** 2)
        + D / 2 * x.response(t) ** 2
    )
    theory = perturbative_theory(ft.Action(L, (x, y), parameters=p))
    props = {(q.kind, q.fields): q for q in theory.propagators}
    assert props[("R", ("x~", "x"))].value == sp.Heaviside(TAU, 0) * sp.exp(-TAU / tau) / tau
    assert (
        sp.simplify(props[("C", ("x", "x"))].value - D * sp.exp(-sp.Abs(TAU) / tau) / (2 * tau))
        == 0
    )
    # y is driven by x: R_yx ≠ 0 (no closed form for a non-diagonal leak), R_xy = 0
    assert props[("R", ("x~", "y"))].value is None
    assert ("R", ("y~", "x")) not in props
    assert {q.fields for q in theory.propagators if q.kind == "C"} == {
        ("x", "x"),
        ("x", "y"),
        ("y", "y"),
    }
    (vertex,) = theory.vertices
    assert vertex.legs == ("x", "x", "y~") and vertex.coefficient == c


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: ft.load_model("scs"), "couplings J are present"),
        (lambda: ft.langevin(drift={x: -x(t) + sp.tanh(x(t))}), r"tanh\(x\(t\)\)"),
        (lambda: ft.langevin(drift={x: -x(t) + x(t - 1) ** 3}), r"x\(t - 1\)"),
        (lambda: ft.langevin(drift={x: -x(ft.n)}, time=ft.discrete(1)), "discrete"),
        (
            lambda: ft.Action(-(x() ** 2) / 2 + sp.exp(x()), (x,), time=ft.ZERO_DIMENSIONAL),
            r"exp\(x\(\)\)",
        ),
        (
            lambda: ft.Action(x() ** 2 / 2 - x() ** 4, (x,), time=ft.ZERO_DIMENSIONAL),
            "not negative definite",
        ),
    ],
)
def test_refusals_name_the_offending_term(build, match):
    with pytest.raises(ExpansionError, match=match):
        perturbative_theory(build())


def test_loop_number_needs_an_order_with_a_source_vertex():
    p = ft.parameters(h=0.1)
    action = ft.Action(
        -(x() ** 2) / 2 + p.h * x() - x() ** 4 / 24, (x,), parameters=p, time=ft.ZERO_DIMENSIONAL
    )
    with pytest.raises(ExpansionError, match="give an order"):
        expand(perturbative_theory(action), ("x",), loops=1)
    with pytest.raises(ExpansionError, match="not one of"):
        expand(perturbative_theory(action), ("y",), order=1)


# --- the Diagram contract (consumed by fieldtheory.diagrams.loops) ---------------------------


def test_diagram_contract():
    theory = perturbative_theory(cubic_unit())
    diagrams = expand(theory, ("x", "x~"), order=2)
    # free, one-loop tadpole; two loops: tadpole chain, tadpole on tadpole, sunset
    assert all(isinstance(d, Diagram) for d in diagrams) and len(diagrams) == 5
    one_loop = [d for d in diagrams if d.order == 1]
    (d,) = one_loop
    assert (d.loops, d.count, d.symmetry_factor) == (1, 3, sp.Rational(1, 2))
    assert d.weight == -3 * sp.Symbol("a", real=True)
    g = d.graph
    assert isinstance(g, nx.MultiDiGraph)
    assert g.nodes[0] == {"kind": "external", "label": 0, "field": "x"}
    assert g.nodes[1] == {"kind": "external", "label": 1, "field": "x~"}
    assert g.nodes[2]["kind"] == "vertex" and g.nodes[2]["vertex"] == 0
    edges = sorted((u, v, e["propagator"], e["fields"]) for u, v, e in g.edges(data=True))
    # x̃(t₁) → vertex x leg (R), vertex x̃ → x(t₀) (R), a C(s, s) tadpole at the vertex
    assert edges == [(1, 2, "R", ("x~", "x")), (2, 0, "R", ("x~", "x")), (2, 2, "C", ("x", "x"))]
    s1, t0, t1 = sp.symbols("s_1 t_0 t_1", real=True)
    R, C = sp.Function("R"), sp.Function("C")
    assert d.expression == d.weight * sp.Integral(
        C(s1, s1) * R(t0, s1) * R(s1, t1), (s1, -sp.oo, sp.oo)
    )
    assert d.text() == "-3*a*Integral(C(s_1, s_1)*R(s_1, t_1)*R(t_0, s_1), (s_1, -oo, oo))"
    assert r"\int" in d.latex()
    assert hash(d) == hash(expand(theory, ("x", "x~"), order=2)[one_loop_index(diagrams)])


def one_loop_index(diagrams):
    return next(k for k, d in enumerate(diagrams) if d.order == 1)


def test_cross_correlation_of_two_free_fields_against_its_integral():
    """C_xy(τ) = ∫du R_x(−u) Q_xy R_y(τ − u) for two undriven fields with correlated noise."""
    p = ft.parameters(q=0.3)
    action = ft.langevin(
        drift={x: -x(t), y: -2 * y(t)}, noise={x: 1, y: 1, (x, y): p.q}, parameters=p
    )
    props = {(q.kind, q.fields): q for q in perturbative_theory(action).propagators}
    cross = props[("C", ("x", "y"))].value
    u = sp.Symbol("u", real=True)
    for lag in (sp.Rational(7, 10), sp.Rational(-7, 10), 0):
        # x at time 0, y at time lag: both responses vanish for u above min(0, lag)
        direct = sp.integrate(
            sp.exp(-(0 - u)) * p.q * sp.exp(-2 * (lag - u)), (u, -sp.oo, sp.Min(0, lag))
        )
        assert sp.simplify(cross.subs(TAU, lag) - direct) == 0, lag
    assert props[("C", ("y", "y"))].value == sp.exp(-2 * sp.Abs(TAU)) / 4


def test_one_loop_variance_of_the_cubic_unit_equals_the_exact_density():
    """Σ one-loop diagrams of ⟨x(0)x(0)⟩ = −3aD²/4: the O(a) term of ∫x² e^{−2U/D}/∫e^{−2U/D}.

    Oracle: U = x²/2 + a x⁴/4, so e^{−2U/D} = e^{−x²/D}(1 − a x⁴/(2D) + …); with Gaussian
    moments of variance σ² = D/2, ⟨x²⟩ = σ² − (a/2D)(⟨x⁶⟩₀ − ⟨x²⟩₀⟨x⁴⟩₀) + O(a²).
    """
    theory = perturbative_theory(cubic_unit())
    a, D = sp.symbols("a D", real=True)
    t0, t1 = sp.symbols("t_0 t_1", real=True)
    total = sum(
        theory.closed_form(d.expression).subs({t0: 0, t1: 0}).doit()
        for d in expand(theory, ("x", "x"), order=1)
    )
    variance = D / 2
    moments = {k: sp.factorial2(k - 1) * variance ** (k // 2) for k in (2, 4, 6)}
    exact = variance - a / (2 * D) * (moments[6] - moments[2] * moments[4])
    assert sp.simplify(total - exact) == 0
