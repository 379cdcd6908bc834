"""Langevin equation ⇔ MSRDJ action: ``read_langevin(langevin(f, Q))`` returns f and Q.

Conventions (fieldtheory/ir/action.py): for ∂_t x_k = f_k + ξ_k, ⟨ξ_k(t) ξ_l(s)⟩ = Q_kl δ(t−s),

    S = Σ_i ∫dt Σ_k x̃_k(−∂_t x_k + f_k) + ½ Σ_kl Q_kl x̃_k x̃_l,

so a diagonal entry enters as ½ Q_kk x̃_k² and a cross term as Q_kl x̃_k x̃_l (k ≠ l).
An action −a ∂_t x (constant a) reads back drift/a and noise/a²; a map −a x(n+1) likewise.
"""

from __future__ import annotations

import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.errors import DeclarationError, NotMSRDJError

x, y = ft.Field("x"), ft.Field("y")
J, K = ft.Coupling("J"), ft.Coupling("K")
t, n = ft.t, ft.n
P = ft.parameters(
    g=(1.5, "positive"),
    D=(0.5, "nonnegative"),
    D2=(0.3, "nonnegative"),
    c=0.2,
    tau=(2.0, "positive"),
    I=0.1,
    I_E=0.3,
    I_I=-0.2,
    delta=(0.5, (1e-9, 1)),
    f_E=(0.8, (0.01, 0.99)),
    lam=(1.0, "positive"),
)
g, D, D2, c, tau, I, I_E, I_I, delta, f_E, lam = P.symbols
GAUSS = ft.Gaussian(mean=0, variance=g**2)


def same(a: sp.Expr, b: sp.Expr) -> bool:
    """Sympy equality up to algebraic rearrangement."""
    return sp.simplify(sp.sympify(a) - sp.sympify(b)) == 0


def assert_reads_back(action: ft.Action, drift: dict, noise: sp.Matrix) -> None:
    system = ft.read_langevin(action)
    assert len(system.drift) == len(drift)
    for f, got in zip(action.fields, system.drift, strict=True):
        assert same(got, drift[f]), (f.name, got, drift[f])
    assert system.noise.shape == noise.shape
    for got, want in zip(system.noise, noise, strict=True):
        assert same(got, want), (system.noise, noise)


def test_one_field_reads_back_drift_and_noise():
    drift = -x(t) + J @ ft.tanh(x(t)) + I
    action = ft.langevin({x: drift}, {x: D}, {J: GAUSS}, P)
    assert_reads_back(action, {x: drift}, sp.Matrix([[D]]))
    system = ft.read_langevin(action)
    assert system.is_noisy and system.point_process_terms == ()
    assert system.fields == (x,) and system.time == ft.CONTINUOUS


def test_noise_free_system_is_not_noisy():
    action = ft.langevin({x: -x(t) + J @ ft.tanh(x(t))}, None, {J: GAUSS}, P)
    system = ft.read_langevin(action)
    assert not system.is_noisy
    assert system.noise == sp.ImmutableMatrix([[0]])


def test_two_fields_with_cross_noise_read_back():
    drift = {x: -x(t) + J @ ft.tanh(y(t)) + c * y(t), y: -2 * y(t) + K @ x(t) + I}
    noise = {x: D, (x, y): c, y: D2}
    action = ft.langevin(drift, noise, {J: GAUSS, K: ft.Gaussian(0, 1)}, P)
    assert_reads_back(action, drift, sp.Matrix([[D, c], [c, D2]]))


def test_cross_noise_term_is_the_off_diagonal_covariance():
    """A hand-written Q x̃ ỹ is ⟨ξ_x ξ_y⟩ = Q (not Q/2): the ½ is only on the diagonal."""
    xt, yt = x.response(t), y.response(t)
    lagrangian = (
        xt * (-sp.Derivative(x(t), t) - x(t))
        + yt * (-sp.Derivative(y(t), t) - y(t))
        + D / 2 * xt**2
        + c * xt * yt
        + D2 / 2 * yt**2
    )
    action = ft.Action(lagrangian, (x, y), (), P)
    assert_reads_back(action, {x: -x(t), y: -y(t)}, sp.Matrix([[D, c], [c, D2]]))
    twin = ft.langevin({x: -x(t), y: -y(t)}, {x: D, (x, y): c, y: D2}, parameters=P)
    assert twin == action


def test_cross_noise_given_in_both_orders_is_refused():
    with pytest.raises(DeclarationError, match=r"noise covariance of \(y, x\) given twice"):
        ft.langevin({x: -x(t), y: -y(t)}, {(x, y): c, (y, x): c}, parameters=P)


def test_time_constant_reads_back_drift_over_tau_and_noise_over_tau_squared():
    xt = x.response(t)
    rhs = -x(t) + J @ ft.tanh(x(t)) + I
    written = ft.Action(
        xt * (-tau * sp.Derivative(x(t), t) + rhs) + D / 2 * xt**2, (x,), {J: GAUSS}, P
    )
    assert_reads_back(written, {x: rhs / tau}, sp.Matrix([[D / tau**2]]))
    twin = ft.langevin({x: rhs / tau}, {x: D / tau**2}, {J: GAUSS}, P)
    a, b = ft.read_langevin(written), ft.read_langevin(twin)
    assert all(same(u, v) for u, v in zip(a.drift, b.drift, strict=True))
    assert same(a.noise[0, 0], b.noise[0, 0])


def test_per_population_input_reads_back():
    graph_ensemble = ft.BlockGaussian(
        (ft.Population("E", f_E), ft.Population("I", 1 - f_E)),
        (
            ft.Block("E", "E", 1, g**2),
            ft.Block("I", "E", 1, g**2),
            ft.Block("E", "I", -2, g**2),
            ft.Block("I", "I", -2, g**2),
        ),
    )
    inputs = ft.by_population("I", E=I_E, I=I_I)
    drift = -x(t) + J @ ft.tanh(x(t)) + inputs
    action = ft.langevin({x: drift}, {x: D}, {J: graph_ensemble}, P)
    # the populations default to those of the structured ensemble
    assert [p.name for p in action.populations] == ["E", "I"]
    assert_reads_back(action, {x: drift}, sp.Matrix([[D]]))
    (read,) = ft.read_langevin(action).drift
    (value,) = read.atoms(ft.ByPopulation)
    assert value.populations == ("E", "I") and value.values == (I_E, I_I)
    assert value.value_for("I") == I_I


def test_discrete_time_map_reads_back():
    drift = (1 - delta) * x(n) + delta * (J @ ft.tanh(x(n)))
    action = ft.langevin({x: drift}, {x: delta * D}, {J: GAUSS}, P, time=ft.discrete(delta))
    assert action.time.is_discrete and action.time.step == delta
    assert_reads_back(action, {x: drift}, sp.Matrix([[delta * D]]))


def test_discrete_update_coefficient_divides_drift_and_noise():
    xn = x.response(n)
    action = ft.Action(
        xn * (-2 * x(n + 1) + x(n) + J @ ft.tanh(x(n))) + D / 2 * xn**2,
        (x,),
        {J: GAUSS},
        P,
        time=ft.discrete(),
    )
    assert_reads_back(action, {x: (x(n) + J @ ft.tanh(x(n))) / 2}, sp.Matrix([[D / 4]]))


def test_discrete_time_may_depend_on_the_past():
    action = ft.langevin({x: x(n) - x(n - 1) / 2}, parameters=P, time=ft.discrete())
    assert_reads_back(action, {x: x(n) - x(n - 1) / 2}, sp.Matrix([[0]]))


def test_continuous_time_delay_is_causal():
    action = ft.langevin({x: -x(t) + c * x(t - 1)}, parameters=P)
    assert_reads_back(action, {x: -x(t) + c * x(t - 1)}, sp.Matrix([[0]]))


def test_handwritten_action_equals_its_langevin_twin():
    xt = x.response(t)
    written = ft.Action(
        xt * (-sp.Derivative(x(t), t) - x(t) + J @ ft.tanh(x(t)) + I) + D / 2 * xt**2,
        (x,),
        {J: GAUSS},
        P,
    )
    twin = ft.langevin({x: -x(t) + J @ ft.tanh(x(t)) + I}, {x: D}, {J: GAUSS}, P)
    assert written == twin
    assert hash(written) == hash(twin)


def test_handwritten_action_in_another_order_reads_back_like_its_twin():
    xt = x.response(t)
    written = ft.Action(
        D / 2 * xt**2 + xt * (J @ ft.tanh(x(t))) - xt * sp.Derivative(x(t), t) + xt * (I - x(t)),
        (x,),
        {J: GAUSS},
        P,
    )
    twin = ft.langevin({x: -x(t) + J @ ft.tanh(x(t)) + I}, {x: D}, {J: GAUSS}, P)
    a, b = ft.read_langevin(written), ft.read_langevin(twin)
    assert a.drift == b.drift and a.noise == b.noise


def test_handwritten_map_equals_its_langevin_twin():
    xn = x.response(n)
    written = ft.Action(
        xn * (-x(n + 1) + (1 - delta) * x(n) + delta * (J @ ft.tanh(x(n)))) + delta * D / 2 * xn**2,
        (x,),
        {J: GAUSS},
        P,
        time=ft.discrete(delta),
    )
    twin = ft.langevin(
        {x: (1 - delta) * x(n) + delta * (J @ ft.tanh(x(n)))},
        {x: delta * D},
        {J: GAUSS},
        P,
        time=ft.discrete(delta),
    )
    assert written == twin


@pytest.mark.parametrize("name", ft.shipped_models())
def test_shipped_models_round_trip_through_langevin(name):
    """Re-declaring a shipped model from its read-back drift and noise gives its action."""
    action = ft.load_model(name).action
    if isinstance(action, ft.Posterior):  # a static model: no Langevin form, by name
        with pytest.raises(ft.errors.NotMSRDJError, match="static"):
            ft.read_langevin(action)
        return
    if isinstance(action, ft.SpikingNetwork):  # threshold–reset neurons: refused by name
        with pytest.raises(ft.errors.NotMSRDJError, match="spiking network"):
            ft.read_langevin(action)
        return
    if action.time.is_zero_dimensional:  # no Langevin equation: refused by name
        with pytest.raises(ft.errors.NotMSRDJError, match="zero-dimensional"):
            ft.read_langevin(action)
        return
    system = ft.read_langevin(action)
    noise = {}
    for k, f in enumerate(action.fields):
        for m in range(k, len(action.fields)):
            if system.noise[k, m] != 0:
                noise[f if k == m else (f, action.fields[m])] = system.noise[k, m]
    twin = ft.langevin(
        dict(zip(action.fields, system.drift, strict=True)),
        noise,
        action.ensembles,
        action.parameters,
        action.populations,
        action.time,
        dict(action.quenched),
    )
    again = ft.read_langevin(twin)
    assert again.drift == system.drift and again.noise == system.noise


# --- point processes: the terms no Langevin equation describes are kept, never dropped ----


def test_point_process_terms_are_kept_apart_from_drift_and_noise():
    xt = x.response(t)
    rate_term = (sp.exp(xt) - 1) * lam * x(t) ** 2
    action = ft.Action(
        xt * (-sp.Derivative(x(t), t) - x(t)) + rate_term, (x,), (), P, point_process=(x,)
    )
    system = ft.read_langevin(action)
    assert system.drift == (-x(t),)
    assert system.point_process_terms == (rate_term,)


def test_cubic_term_of_a_point_process_field_is_kept():
    xt = x.response(t)
    action = ft.Action(
        xt * (-sp.Derivative(x(t), t) - x(t)) + lam * xt**3, (x,), (), P, point_process=(x,)
    )
    assert ft.read_langevin(action).point_process_terms == (lam * xt**3,)


def test_cubic_term_of_a_gaussian_field_is_refused_even_with_a_point_process():
    xt, yt = x.response(t), y.response(t)
    lagrangian = (
        xt * (-sp.Derivative(x(t), t) - x(t)) + yt * (-sp.Derivative(y(t), t)) + lam * xt**2 * yt
    )
    with pytest.raises(NotMSRDJError, match=r"x~\(t\)\*\*2\*y~\(t\).*y is not one"):
        ft.Action(lagrangian, (x, y), (), P, point_process=(x,))


def test_point_process_field_must_be_declared():
    xt = x.response(t)
    with pytest.raises(DeclarationError, match="point-process field 'y'"):
        ft.Action(xt * (-sp.Derivative(x(t), t) - x(t)), (x,), (), P, point_process=(y,))


def test_read_langevin_is_computed_once_per_action_and_not_pickled():
    import pickle

    from fieldtheory.ir.langevin_system import CACHE_ATTRIBUTE

    action = ft.load_model("scs").action
    system = ft.read_langevin(action)
    assert ft.read_langevin(action) is system and system.action is action
    copy = pickle.loads(pickle.dumps(action))
    assert copy == action and hash(copy) == hash(action)
    assert CACHE_ATTRIBUTE not in vars(copy)  # rebuilt on demand, for the copy itself
    again = ft.read_langevin(copy)
    assert again.action is copy
    assert (again.drift, again.noise) == (system.drift, system.noise)
