"""The derivation is generic: models declared here, never seen by the transformations.

Each test declares an action, derives it, and checks the order parameters that were
*found* and the single-site process against equations written out by hand.
"""

from __future__ import annotations

import networkx as nx
import sympy as sp
from sympy.core.symbol import Str

import fieldtheory as ft
from fieldtheory.derive import derive
from fieldtheory.ir.ensembles import JointGaussian
from fieldtheory.transforms import Expectation, TimeIntegral

x, J, K, t, s, n = ft.Field("x"), ft.Coupling("J"), ft.Coupling("K"), ft.t, ft.s, ft.n
m = sp.Symbol("m", integer=True)


def by_name(mean_field):
    return {q.name: q for q in mean_field.collective.order_parameters}


def two_couplings(ensembles, parameters) -> ft.Action:
    """∂_t x = −x + Σ_j J_ij tanh(x_j) + Σ_j K_ij erf(√π x_j/2)."""
    return ft.langevin(
        drift={x: -x(t) + J @ ft.tanh(x(t)) + K @ ft.erf_sqrtpi(x(t))},
        couplings=ensembles, parameters=parameters,
    )


P = ft.parameters(g=(1.0, "positive"), h=(1.0, "positive"), c=0.0)
g, h, c = P.symbols


def test_independent_couplings_give_one_correlation_each_and_no_cross_term():
    mft = derive(two_couplings({J: ft.Gaussian(0, g**2), K: ft.Gaussian(0, h**2)}, P)).mean_field
    assert [q.name for q in mft.order_parameters] == ["C_erf", "C_tanh"]
    C_phi, C_psi = by_name(mft)["C_tanh"], by_name(mft)["C_erf"]
    process = mft.single_site
    assert process.input_covariance[0, 0] == g**2 * C_phi.value(t, s) + h**2 * C_psi.value(t, s)
    assert process.drift == (-x(t),)
    assert process.is_gaussian


def test_correlated_couplings_add_the_cross_correlation():
    joint = JointGaussian((J, K), ((g**2, c), (c, h**2)))
    mft = derive(two_couplings({J: joint, K: joint}, P)).mean_field
    assert [q.name for q in mft.order_parameters] == ["C_erf", "C_erf_tanh", "C_tanh"]
    q = by_name(mft)
    cross = q["C_erf_tanh"]
    # C_φψ(t, s) = ⟨erf(x(t)) tanh(x(s))⟩, found with the erf factor first
    assert cross.content == ft.erf_sqrtpi(x(t)) * sp.tanh(x(s))
    expected = (g**2 * q["C_tanh"].value(t, s) + h**2 * q["C_erf"].value(t, s)
                + c * (cross.value(t, s) + cross.value(s, t)))
    assert sp.expand(mft.single_site.input_covariance[0, 0] - expected) == 0


def test_partial_symmetry_gives_the_response_self_coupling():
    p = ft.parameters(g=(1.5, "positive"), rho=(0.5, (-1, 1)))
    g_, rho = p.symbols
    action = ft.langevin(drift={x: -x(t) + J @ sp.tanh(x(t))},
                         couplings={J: ft.Gaussian(0, g_**2, rho)}, parameters=p)
    mft = derive(action).mean_field
    R, C = by_name(mft)["R_tanh"], by_name(mft)["C_tanh"]
    # written by hand: R(t, s) = ⟨φ(x(t)) x̃(s)⟩, the response of φ at t to a kick at s;
    # ∂_t x = −x + ρg² ∫ds R(t, s) φ(x(s)) + η, ⟨η(t)η(s)⟩ = g² C(t, s)
    assert sp.Eq(R.value(t, s), Expectation(sp.tanh(x(t)) * x.response(s), Str("all")),
                 evaluate=False) in mft.self_consistency
    process = mft.single_site
    assert process.kernels == (rho * g_**2 * TimeIntegral(R.value(t, s) * sp.tanh(x(s)), s),)
    assert process.drift == (-x(t),)
    assert process.input_covariance[0, 0] == g_**2 * C.value(t, s)
    assert not process.is_gaussian  # tanh of the site's own past


def test_partial_symmetry_of_a_linear_network_stays_gaussian():
    p = ft.parameters(g=(0.5, "positive"), rho=(0.5, (-1, 1)))
    g_, rho = p.symbols
    action = ft.langevin(drift={x: -x(t) + J @ x(t)}, couplings={J: ft.Gaussian(0, g_**2, rho)},
                         parameters=p)
    mft = derive(action).mean_field
    R = by_name(mft)["R_x"]
    assert mft.single_site.kernels == (rho * g_**2 * TimeIntegral(R.value(t, s) * x(s), s),)
    assert mft.is_gaussian


def two_populations() -> ft.Action:
    p = ft.parameters(f_E=(0.8, (0.01, 0.99)), g_EE=1.0, g_EI=2.0, g_IE=3.0, g_II=4.0)
    f_E, *gains = p.symbols
    graph = nx.DiGraph()
    graph.add_node("E", fraction=f_E)
    graph.add_node("I", fraction=1 - f_E)
    for (target, source), gain in zip(["EE", "EI", "IE", "II"], gains, strict=True):
        graph.add_edge(source, target, variance=gain**2)
    return ft.langevin(drift={x: -x(t) + J @ sp.tanh(x(t))},
                       couplings={J: ft.BlockGaussian.from_graph(graph)}, parameters=p)


def test_two_populations_have_per_population_order_parameters():
    action = two_populations()
    mft = derive(action).mean_field
    assert [q.name for q in mft.order_parameters] == ["C_tanh_E", "C_tanh_I"]
    q = by_name(mft)
    f_E, g_EE, g_EI, g_IE, g_II = action.parameters.symbols
    fractions = {"E": f_E, "I": 1 - f_E}
    gains = {("E", "E"): g_EE, ("E", "I"): g_EI, ("I", "E"): g_IE, ("I", "I"): g_II}
    for alpha in "EI":
        # Σ_β g_αβ² f_β C_β(t, s), written by hand
        expected = sum(gains[alpha, beta] ** 2 * fractions[beta] * q[f"C_tanh_{beta}"].value(t, s)
                       for beta in "EI")
        process = mft.process(alpha)
        assert sp.simplify(process.input_covariance[0, 0] - expected) == 0
        assert process.drift == (-x(t),)
    assert q["C_tanh_E"].content == q["C_tanh_I"].content
    assert {q.population for q in mft.order_parameters} == {"E", "I"}


def test_nonlinear_single_unit_drift_is_not_gaussian_but_scs_at_rho_zero_is():
    # a parameter named s: the second time becomes t2 rather than capture it
    p = ft.parameters(g=(1.0, "positive"), s=1.0)
    g_, s_ = p.symbols
    action = ft.langevin(drift={x: -x(t) + s_ * sp.tanh(x(t)) + J @ x(t)},
                         couplings={J: ft.Gaussian(0, g_**2)}, parameters=p)
    mft = derive(action).mean_field
    t2 = sp.Symbol("t2", real=True)
    (C,) = mft.order_parameters
    assert C.times == (t, t2) and C.content == x(t) * x(t2)
    assert mft.single_site.drift == (-x(t) + s_ * sp.tanh(x(t)),)
    assert not mft.is_gaussian
    p = ft.parameters(g=(2.0, "positive"), J0=0.0, D=(0.0, "nonnegative"), I=0.0)
    g_, J0, D, I = p.symbols
    scs = ft.langevin(drift={x: -x(t) + J @ sp.tanh(x(t)) + I}, noise={x: D},
                      couplings={J: ft.Gaussian(J0, g_**2)}, parameters=p)
    assert derive(scs).mean_field.is_gaussian


def test_discrete_time_map_gives_the_discrete_single_site_process():
    mft = derive("map").mean_field
    g_, delta, D = ft.load_model("map").parameters.symbols
    (C,) = mft.order_parameters
    assert C.times == (n, m) and C.content == sp.tanh(x(n)) * sp.tanh(x(m))
    process = mft.single_site
    assert process.time.is_discrete and process.second_time == m
    # x(n+1) = (1 − δ) x(n) + η(n), ⟨η(n)η(m)⟩ = δD δ_nm + δ² g² C(n, m)
    assert sp.expand(process.drift[0] - (1 - delta) * x(n)) == 0
    expected = delta * D * sp.KroneckerDelta(n, m) + delta**2 * g_**2 * C.value(n, m)
    assert sp.expand(process.input_covariance[0, 0] - expected) == 0
    assert "x(n + 1) = -delta*x(n) + x(n) + η(n)" in str(mft)
    assert process.is_gaussian


def test_mean_coupling_gives_a_mean_input_and_two_fields_give_a_matrix():
    p = ft.parameters(g=(1.0, "positive"), J0=1.0, k=1.0)
    g_, J0, k = p.symbols
    y = ft.Field("y")
    action = ft.langevin(
        drift={x: -x(t) + J @ sp.tanh(y(t)), y: -2 * y(t) + k * x(t)},
        noise={y: 1},
        couplings={J: ft.Gaussian(J0, g_**2)}, parameters=p,
    )
    mft = derive(action).mean_field
    q = by_name(mft)
    process = mft.single_site
    assert process.drift == (-x(t) + J0 * q["m_tanh"].value(t), k * x(t) - 2 * y(t))
    cov = process.input_covariance
    assert cov[0, 0] == g_**2 * q["C_tanh"].value(t, s)
    assert cov[1, 1] == sp.DiracDelta(t - s) and cov[0, 1] == 0
    assert "⟨η_x(t)η_x(s)⟩ = g**2*C_tanh(t, s)" in str(mft)


def test_time_scale_of_the_leak_divides_drift_and_input():
    p = ft.parameters(g=(1.0, "positive"), tau=(2.0, "positive"))
    g_, tau = p.symbols
    L = x.response(t) * (-tau * sp.Derivative(x(t), t) - x(t) + J @ sp.tanh(x(t)))
    action = ft.Action(L, (x,), {J: ft.Gaussian(0, g_**2)}, p)
    process = derive(action).mean_field.single_site
    (C,) = derive(action).mean_field.order_parameters
    assert sp.simplify(process.drift[0] + x(t) / tau) == 0
    assert sp.simplify(process.input_covariance[0, 0] - g_**2 * C.value(t, s) / tau**2) == 0


def test_one_coupling_driving_two_fields_correlates_their_inputs():
    p = ft.parameters(g=(1.0, "positive"))
    (g_,) = p.symbols
    y = ft.Field("y")
    action = ft.langevin(drift={x: -x(t) + J @ sp.tanh(x(t)), y: -y(t) + J @ y(t)},
                         couplings={J: ft.Gaussian(0, g_**2)}, parameters=p)
    mft = derive(action).mean_field
    q = by_name(mft)
    assert [o.name for o in mft.order_parameters] == ["C_tanh", "C_tanh_y", "C_y"]
    # η_x = Σ_j J_ij tanh(x_j), η_y = Σ_j J_ij y_j: ⟨η_x(t) η_y(s)⟩ = g² ⟨tanh(x(t)) y(s)⟩
    cov = mft.single_site.input_covariance
    assert cov[0, 1] == g_**2 * q["C_tanh_y"].value(t, s)
    assert cov[1, 0] == g_**2 * q["C_tanh_y"].value(s, t)
    assert cov[1, 1] == g_**2 * q["C_y"].value(t, s)
    # the two relabelled copies of the cross term were added up into one
    assert len(derive(action).collective.bilinear_terms) == 3


def test_point_process_terms_stay_outside_the_langevin_form():
    p = ft.parameters(g=(1.0, "positive"))
    (g_,) = p.symbols
    xt = x.response(t)
    spikes = (sp.exp(xt) - 1) * sp.exp(x(t))
    action = ft.Action(xt * (-sp.Derivative(x(t), t) - x(t) + J @ sp.tanh(x(t))) + spikes,
                       (x,), {J: ft.Gaussian(0, g_**2)}, p, point_process=(x,))
    process = derive(action).mean_field.single_site
    assert process.other_terms == (spikes,)
    assert not process.is_gaussian
