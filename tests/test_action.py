"""Malformed actions and declarations fail when built, with the named error and the term.

Each case asserts the exception class from fieldtheory.errors *and* a substring of the
message that names the offending term, symbol or declaration, so that a user can find it.
"""

from __future__ import annotations

import networkx as nx
import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.errors import (
    CausalityError,
    DeclarationError,
    EnsembleError,
    NonlinearCouplingError,
    NotMSRDJError,
    UndeclaredSymbolError,
)
from fieldtheory.ir import ENSEMBLES, Ensemble, nonlinearity, register_ensemble

x, y = ft.Field("x"), ft.Field("y")
J, K = ft.Coupling("J"), ft.Coupling("K")
t, n = ft.t, ft.n
P = ft.parameters(g=(1.5, "positive"), D=(0.5, "nonnegative"), I=0.1, h=(0.5, (0, 1)))
g, D, I, h = P.symbols
GAUSS = ft.Gaussian(0, g**2)
xt, xn = x.response(t), x.response(n)
dx = sp.Derivative(x(t), t)
LEAK = xt * (-dx - x(t))  # a well-formed drift part to which the bad terms are added


def action(lagrangian, couplings=(), fields=(x,), **kw):
    return ft.Action(lagrangian, fields, couplings, P, **kw)


def test_reference_action_is_well_formed():
    """The cases below differ from this one only by the offending term."""
    system = ft.read_langevin(action(LEAK + xt * (J @ ft.tanh(x(t))) + D / 2 * xt**2, {J: GAUSS}))
    assert system.drift == (-x(t) + (J @ ft.tanh(x(t))),)


CASES = {
    # --- not an MSRDJ action ---------------------------------------------------------------
    "cubic in the response field": (
        lambda: action(LEAK + D * xt**3),
        NotMSRDJError,
        "x~(t)**3 is of order 3",
    ),
    "no response field": (
        lambda: action(LEAK + D * x(t) ** 2),
        NotMSRDJError,
        "D*x(t)**2 contains no response",
    ),
    "constant term": (lambda: action(LEAK + I), NotMSRDJError, "term I contains no response"),
    "exponential of the response field": (
        lambda: action(LEAK + sp.exp(xt) * x(t)),
        NotMSRDJError,
        "exp(x~(t)) is not polynomial",
    ),
    "response field at another time": (
        lambda: action(LEAK + x.response(t - 1) * x(t)),
        NotMSRDJError,
        "response field x~(t - 1) is not at the time t",
    ),
    "response field at the next step of a map": (
        lambda: action(xn * (-x(n + 1) + x(n)) + x.response(n + 1) * x(n), time=ft.discrete()),
        NotMSRDJError,
        "x~(n + 1) is not at the time n",
    ),
    "response field inside a coupling sum": (
        lambda: action(LEAK + xt * (J @ xt), {J: GAUSS}),
        NotMSRDJError,
        "inside the coupling sum CouplingSum(J, x~(t))",
    ),
    "response field inside a derivative": (
        lambda: action(LEAK + x(t) * sp.Derivative(xt, t)),
        NotMSRDJError,
        "inside the time derivative Derivative(x~(t), t)",
    ),
    "missing time derivative": (
        lambda: action(xt * (-x(t))),
        NotMSRDJError,
        "must multiply −∂_t x(t)",
    ),
    "non-constant coefficient of the time derivative": (
        lambda: action(xt * (-x(t) * dx - x(t))),
        NotMSRDJError,
        "constant coefficient; its coefficient is -x(t)*Derivative(x(t), t) - x(t)",
    ),
    "second time derivative": (
        lambda: action(xt * (-sp.Derivative(x(t), t, 2) - x(t))),
        NotMSRDJError,
        "Derivative(x(t), (t, 2))",
    ),
    "derivative of another field in the drift": (
        lambda: action(
            LEAK + xt * sp.Derivative(y(t), t) + y.response(t) * -sp.Derivative(y(t), t),
            fields=(x, y),
        ),
        NotMSRDJError,
        "time derivative Derivative(y(t), t) outside",
    ),
    "non-constant coefficient of the update": (
        lambda: action(xn * (-x(n) * x(n + 1) + x(n)), time=ft.discrete()),
        NotMSRDJError,
        "−x(n + 1) with a constant coefficient",
    ),
    "field without its response term": (
        lambda: action(LEAK, fields=(x, y)),
        NotMSRDJError,
        "response field y~ does not enter",
    ),
    # --- causality -------------------------------------------------------------------------
    "later field in continuous time": (
        lambda: action(LEAK + xt * x(t + 1)),
        CausalityError,
        "x(t + 1) lies later",
    ),
    "later field in a map": (
        lambda: action(xn * (-x(n + 1) + sp.tanh(x(n + 2))), time=ft.discrete()),
        CausalityError,
        "x(n + 2) lies later",
    ),
    "another field's update in a map": (
        lambda: action(
            xn * (-x(n + 1) + y(n + 1)) + y.response(n) * (-y(n + 1)),
            fields=(x, y),
            time=ft.discrete(),
        ),
        CausalityError,
        "y(n + 1) lies later",
    ),
    "later field inside a coupling sum": (
        lambda: action(LEAK + xt * (J @ x(t + 1)), {J: GAUSS}),
        CausalityError,
        "x(t + 1) lies later",
    ),
    "later field in the noise": (
        lambda: action(LEAK + D * xt**2 * x(t + 1)),
        CausalityError,
        "x(t + 1) lies later",
    ),
    # --- undeclared names ------------------------------------------------------------------
    "undeclared symbol": (
        lambda: action(LEAK + xt * sp.Symbol("kappa", real=True) * x(t)),
        UndeclaredSymbolError,
        "undeclared symbol(s) kappa",
    ),
    "undeclared symbols are all named": (
        lambda: action(LEAK + xt * (sp.Symbol("a") + sp.Symbol("b"))),
        UndeclaredSymbolError,
        "undeclared symbol(s) a, b",
    ),
    "step index in continuous time": (
        lambda: action(LEAK + xt * n),
        UndeclaredSymbolError,
        "undeclared symbol(s) n",
    ),
    "undeclared symbol in an ensemble": (
        lambda: action(LEAK + xt * (J @ x(t)), {J: ft.Gaussian(0, sp.Symbol("w", real=True))}),
        UndeclaredSymbolError,
        "undeclared symbol(s) w",
    ),
    "undeclared symbol in the time step": (
        lambda: action(xn * (-x(n + 1)), time=ft.discrete(sp.Symbol("dt", positive=True))),
        UndeclaredSymbolError,
        "undeclared symbol(s) dt",
    ),
    "undeclared function": (
        lambda: action(LEAK + xt * sp.Function("f")(x(t))),
        UndeclaredSymbolError,
        "undeclared function or field f",
    ),
    "undeclared field": (
        lambda: action(LEAK + xt * y(t)),
        UndeclaredSymbolError,
        "undeclared function or field y",
    ),
    "plain sympy function named like a field": (
        lambda: action(LEAK + xt * sp.Function("x")(t - 1)),
        UndeclaredSymbolError,
        "x(t - 1) is built from a plain sympy Function named x",
    ),
    # --- couplings -------------------------------------------------------------------------
    "coupling inside a nonlinearity": (
        lambda: action(LEAK + xt * sp.tanh(J @ x(t)), {J: GAUSS}),
        NonlinearCouplingError,
        "inside tanh(CouplingSum(J, x(t)))",
    ),
    "square of a coupling sum": (
        lambda: action(LEAK + xt * (J @ x(t)) ** 2, {J: GAUSS}),
        NonlinearCouplingError,
        "as the product CouplingSum(J, x(t))**2",
    ),
    "product of two coupling sums": (
        lambda: action(LEAK + xt * (J @ x(t)) * (K @ x(t)), {J: GAUSS, K: GAUSS}),
        NonlinearCouplingError,
        "as the product CouplingSum(J, x(t))*CouplingSum(K, x(t))",
    ),
    "square root of a coupling sum": (
        lambda: action(LEAK + xt * sp.sqrt(J @ x(t)), {J: GAUSS}),
        NonlinearCouplingError,
        "inside sqrt(CouplingSum(J, x(t)))",
    ),
    "inverse of a coupling sum": (
        lambda: action(LEAK + xt / (J @ x(t)), {J: GAUSS}),
        NonlinearCouplingError,
        "inside 1/CouplingSum(J, x(t))",
    ),
    "coupling sum nested in a coupling sum": (
        lambda: action(LEAK + xt * (J @ (J @ x(t))), {J: GAUSS}),
        NonlinearCouplingError,
        "nested inside CouplingSum(J, CouplingSum(J, x(t)))",
    ),
    "bare coupling symbol": (
        lambda: action(LEAK + xt * J * x(t), {J: GAUSS}),
        NonlinearCouplingError,
        "coupling J appears outside a coupling sum",
    ),
    "bare coupling symbol next to a coupling sum": (
        lambda: action(LEAK + xt * (J * x(t) + (J @ x(t))), {J: GAUSS}),
        NonlinearCouplingError,
        "coupling J appears outside a coupling sum",
    ),
    "bare coupling symbol inside a coupling sum": (
        lambda: action(LEAK + xt * (J @ (J * x(t))), {J: GAUSS}),
        NonlinearCouplingError,
        "coupling J appears outside a coupling sum",
    ),
    "coupling in the noise": (
        lambda: action(LEAK + xt * (J @ x(t)) + xt**2 * (J @ x(t)), {J: GAUSS}),
        NonlinearCouplingError,
        "coupling inside the noise term 2*CouplingSum(J, x(t))",
    ),
    "coupling without ensemble": (
        lambda: action(LEAK + xt * (J @ x(t))),
        UndeclaredSymbolError,
        "coupling J has no ensemble",
    ),
    "ensemble that is not an Ensemble": (
        lambda: action(LEAK + xt * (J @ x(t)), {J: 1.0}),
        DeclarationError,
        "coupling J has no ensemble, got 1.0",
    ),
    "declared coupling that is not used": (
        lambda: action(LEAK + xt * (J @ x(t)), {J: GAUSS, K: GAUSS}),
        DeclarationError,
        "coupling K is declared but does not enter",
    ),
    "coupling inside its own ensemble": (
        lambda: action(LEAK + xt * (J @ x(t)), {J: ft.Gaussian(0, J)}),
        UndeclaredSymbolError,
        "coupling J appears in an ensemble",
    ),
    "first argument of a coupling sum not a coupling": (
        lambda: ft.CouplingSum(g, x(t)),
        DeclarationError,
        "first argument of a coupling sum must be a Coupling, got g",
    ),
    # --- declarations ----------------------------------------------------------------------
    "no field": (lambda: action(sp.Integer(0), fields=()), DeclarationError, "at least one field"),
    "field declared twice": (
        lambda: action(LEAK, fields=(x, ft.Field("x"))),
        DeclarationError,
        "fields declared twice",
    ),
    "field name not an identifier": (
        lambda: ft.Field("x y"),
        DeclarationError,
        "'x y' is not a Python identifier",
    ),
    "by_population naming wrong populations": (
        lambda: action(LEAK + xt * ft.by_population("I_ext", E=I, Q=g)),
        DeclarationError,
        "I_ext is given for populations ['E', 'Q'], the action has ['all']",
    ),
    "by_population without values": (
        lambda: ft.by_population("I_ext"),
        DeclarationError,
        "by_population('I_ext') needs",
    ),
    "block ensemble over other populations": (
        lambda: action(
            LEAK + xt * (J @ x(t)),
            {J: ft.BlockGaussian((ft.Population("E", h), ft.Population("I", 1 - h)), ())},
        ),
        DeclarationError,
        "structured over populations ['E', 'I'], the action declares ['all']",
    ),
    "block ensemble with populations in another order": (
        lambda: action(
            LEAK + xt * (J @ x(t)),
            {J: ft.BlockGaussian((ft.Population("E", h), ft.Population("I", 1 - h)), ())},
            populations=(ft.Population("I", 1 - h), ft.Population("E", h)),
        ),
        DeclarationError,
        "structured over populations ['E', 'I'], the action declares ['I', 'E']",
    ),
    "population name not an identifier": (
        lambda: ft.Population("E 1"),
        DeclarationError,
        "population name 'E 1'",
    ),
    "block naming an unknown population": (
        lambda: ft.BlockGaussian((ft.Population("E"),), (ft.Block("E", "X", 1, 1),)),
        EnsembleError,
        "block X->E names unknown population 'X'",
    ),
    "block declared twice": (
        lambda: ft.BlockGaussian(
            (ft.Population("E"),), (ft.Block("E", "E", 1, 1), ft.Block("E", "E", 0, 1))
        ),
        EnsembleError,
        "block E->E declared twice",
    ),
    "population declared twice in an ensemble": (
        lambda: ft.BlockGaussian((ft.Population("E", h), ft.Population("E", 1 - h)), ()),
        EnsembleError,
        "populations declared twice in ['E', 'E']",
    ),
    "graph node without fraction": (
        lambda: ft.BlockGaussian.from_graph(nx.DiGraph([("E", "I")])),
        EnsembleError,
        "population 'E' has no 'fraction'",
    ),
    "unknown nonlinearity": (
        lambda: nonlinearity("sigmoidal"),
        DeclarationError,
        "unknown nonlinearity 'sigmoidal'; known: erf, identity, logistic, relu, tanh",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_declaration_is_refused_with_named_error(case):
    build, error, fragment = CASES[case]
    with pytest.raises(error) as info:
        build()
    assert fragment in str(info.value)


def test_register_ensemble_refuses_a_duplicate_name():
    with pytest.raises(EnsembleError, match="an ensemble named 'gaussian' is already registered"):
        register_ensemble("gaussian")(type("Other", (Ensemble,), {}))
    assert ENSEMBLES["gaussian"] is ft.Gaussian


def test_register_ensemble_adds_a_new_name():
    try:
        cls = register_ensemble("_test_only")(type("TestOnly", (Ensemble,), {}))
        assert ENSEMBLES["_test_only"] is cls and cls.kind == "_test_only"
    finally:
        ENSEMBLES.pop("_test_only", None)


def test_field_from_a_plain_function_cache_is_still_a_field_value():
    """sympy caches applications of equal functions: a plain Function('z')(t) built first
    must not be returned for Field('z')(t)."""
    plain = sp.Function("z")(t)
    z = ft.Field("z")
    assert isinstance(z(t), ft.ir.FieldValue) and isinstance(z.response(t), ft.ir.ResponseValue)
    assert z(t) != plain
