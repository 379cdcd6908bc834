"""The general single-site lowering (``codegen.site``) on models declared here.

Every expected coefficient is written out by hand from the model's Langevin equation and
its ensemble; the generated ``spec()`` must carry the same numbers.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.codegen.generate import generate, runtime_source, runtimes_for
from fieldtheory.codegen.site import U, lower_site, observed_phi
from fieldtheory.derive import derive
from fieldtheory.errors import ActionStructureError, CodegenError

x, J, K, t, n = ft.Field("x"), ft.Coupling("J"), ft.Coupling("K"), ft.t, ft.n


def two_populations():
    """E/I with unequal gains, means and biases; fraction f of E; time constant tau_I."""
    p = ft.parameters(f=(0.6, (0.01, 0.99)), gEE=1.2, gEI=0.8, gIE=1.5, gII=0.5,
                      mEE=0.5, mEI=-1.0, mIE=1.0, mII=-0.5, IE=0.2, II=-0.1,
                      tau_I=(2.0, "positive"), D=(0.1, "nonnegative"))
    s = {q.name: q.symbol for q in p}
    graph = nx.DiGraph()
    graph.add_node("E", fraction=s["f"])
    graph.add_node("I", fraction=1 - s["f"])
    for a in "EI":
        for b in "EI":
            graph.add_edge(b, a, mean=s[f"m{a}{b}"], variance=s[f"g{a}{b}"] ** 2)
    tau = ft.by_population("tau", E=1, I=s["tau_I"])
    drift = (-x(t) + J @ ft.tanh(x(t)) + ft.by_population("I", E=s["IE"], I=s["II"])) / tau
    action = ft.langevin({x: drift}, {x: s["D"]}, {J: ft.BlockGaussian.from_graph(graph)}, p)
    return action, s


def test_two_populations_read_off_by_hand():
    action, s = two_populations()
    problem = lower_site(derive(action).mean_field, observed_phi(action))
    assert problem.populations == ("E", "I") and problem.step is None
    assert problem.phi == sp.tanh(U) and problem.is_gaussian and not problem.single_phi
    f = s["f"]
    fraction = {"E": f, "I": 1 - f}
    tau = {"E": 1, "I": s["tau_I"]}
    bias = {"E": s["IE"], "I": s["II"]}
    for site in problem.sites:
        a = site.population
        assert sp.simplify(site.leak - 1 / tau[a]) == 0
        assert sp.simplify(site.offset - bias[a] / tau[a]) == 0
        assert site.nonlinear == 0 and sp.simplify(site.noise - s["D"]) == 0
        means = {problem.means[k].population: c for k, c in site.mean_coefficients}
        corrs = {problem.correlations[k].population: c for k, c in site.correlation_coefficients}
        for b in "EI":
            # μ_a = (I_a + Σ_b J0_ab f_b m_b)/τ_a, ⟨ηη⟩ = Dδ + Σ_b g_ab² f_b C_b/τ_a²
            assert sp.simplify(means[b] - s[f"m{a}{b}"] * fraction[b] / tau[a]) == 0
            assert sp.simplify(corrs[b] - s[f"g{a}{b}"] ** 2 * fraction[b] / tau[a] ** 2) == 0
    for term in (*problem.means, *problem.correlations):
        assert term.left == sp.tanh(U) and term.right in (None, sp.tanh(U))


def test_generated_spec_carries_the_numbers():
    action, _s = two_populations()
    model = ft.Model("ei_test_spec", action, "two populations")
    module = generate(model)
    spec = module.spec(f=0.7, tau_I=4.0)
    defaults = {q.name: q.default for q in action.parameters}
    values = {**defaults, "f": 0.7, "tau_I": 4.0}
    np.testing.assert_allclose(spec.leak, [1.0, 0.25])
    np.testing.assert_allclose(spec.offset, [values["IE"], values["II"] / 4.0])
    by_pop = {term.population: k for k, term in enumerate(spec.correlations)}
    expected = np.array([[values["gEE"] ** 2 * 0.7, values["gEI"] ** 2 * 0.3],
                         [values["gIE"] ** 2 * 0.7 / 16, values["gII"] ** 2 * 0.3 / 16]])
    got = np.array([[spec.correlation_coupling[a, by_pop[b]] for b in (0, 1)] for a in (0, 1)])
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    grid = np.linspace(-3, 3, 7)
    for term in spec.correlations:
        np.testing.assert_allclose(term.left(grid), np.tanh(grid))
        np.testing.assert_allclose(term.dright(grid), 1 - np.tanh(grid) ** 2)
    assert not spec.has_kernel and not spec.has_nonlinear_drift


def test_nonlinear_drift_and_kernel_are_read_off():
    p = ft.parameters(g=(2.0, "positive"), s=1.5, rho=(0.5, (-1, 1)), D=(0.0, "nonnegative"))
    g, s_, rho, D = p.symbols
    action = ft.langevin({x: -x(t) + s_ * ft.tanh(x(t)) + J @ ft.tanh(x(t))}, {x: D},
                         {J: ft.Gaussian(0, g**2, rho)}, p)
    problem = lower_site(derive(action).mean_field, observed_phi(action))
    (site,) = problem.sites
    assert site.leak == 1 and site.nonlinear == s_ * sp.tanh(U)
    (response,) = problem.responses
    assert (response.left, response.right) == (sp.tanh(U), sp.tanh(U))
    assert site.response_coefficients == ((0, g**2 * rho),)
    assert not problem.is_gaussian
    names = [m.__name__.rsplit(".", 1)[1] for m in runtimes_for(problem)]
    assert "monte_carlo" in names


def test_linear_kernel_keeps_the_site_gaussian():
    p = ft.parameters(g=(0.5, "positive"), rho=(0.5, (-1, 1)), D=(1.0, "nonnegative"))
    g, rho, D = p.symbols
    action = ft.langevin({x: -x(t) + J @ x(t)}, {x: D}, {J: ft.Gaussian(0, g**2, rho)}, p)
    problem = lower_site(derive(action).mean_field, observed_phi(action))
    assert problem.is_gaussian and problem.responses[0].right == U


def test_map_reads_leak_per_step_noise_per_step_and_the_step():
    p = ft.parameters(g=(2.0, "positive"), delta=(0.5, (1e-9, 1)), tau=(2.0, "positive"),
                      D=(0.3, "nonnegative"))
    g, delta, tau, D = p.symbols
    action = ft.langevin({x: x(n) + delta / tau * (-x(n) + J @ ft.tanh(x(n)))},
                         {x: delta * D}, {J: ft.Gaussian(0, g**2)}, p,
                         time=ft.discrete(step=delta))
    problem = lower_site(derive(action).mean_field, observed_phi(action))
    (site,) = problem.sites
    assert problem.step == delta
    assert sp.simplify(site.leak - delta / tau) == 0
    assert sp.simplify(site.noise - delta * D) == 0
    ((_, c),) = site.correlation_coefficients
    assert sp.simplify(c - delta**2 * g**2 / tau**2) == 0


def test_two_fields_per_site_are_refused_by_name():
    y = ft.Field("y")
    p = ft.parameters(g=(1.0, "positive"))
    (g,) = p.symbols
    action = ft.langevin({x: -x(t) + J @ ft.tanh(y(t)), y: -y(t) + x(t)}, None,
                         {J: ft.Gaussian(0, g**2)}, p)
    with pytest.raises(ActionStructureError, match="one field"):
        lower_site(derive(action).mean_field)


def test_inlined_runtimes_do_not_shadow_each_other(monkeypatch):
    """A second runtime redefining a name of common.py is refused; common is inlined once."""
    import inspect
    import types

    from fieldtheory.solvers.runtime import stationary

    clash = types.ModuleType("fieldtheory.solvers.runtime.clash")
    original = inspect.getsource
    monkeypatch.setattr(inspect, "getsource", lambda m: (
        "def gaussian_mean(f, m, d):\n    return 0.0\n" if m is clash else original(m)))
    with pytest.raises(CodegenError, match="gaussian_mean"):
        runtime_source(stationary, clash)
    assert runtime_source(stationary).count("def normal_rule") == 1


def lowered(drift, couplings, parameters, noise=None):
    action = ft.langevin({x: drift}, noise, couplings, parameters)
    return lower_site(derive(action).mean_field, observed_phi(action))


def test_time_constant_bias_and_mean_coupling():
    p = ft.parameters(g=(2.0, "positive"), J0=1.0, I=0.5, tau=(2.0, "positive"),
                      D=(0.1, "nonnegative"))
    g, J0, I, tau, D = p.symbols
    problem = lowered((-x(t) + J @ ft.tanh(x(t)) + I) / tau, {J: ft.Gaussian(J0, g**2)}, p,
                      noise={x: D})
    (site,) = problem.sites
    assert site.leak == 1 / tau and sp.simplify(site.offset - I / tau) == 0
    assert site.noise == D and problem.single_phi
    ((_, b),) = site.mean_coefficients
    ((_, a),) = site.correlation_coefficients
    assert sp.simplify(b - J0 / tau) == 0 and sp.simplify(a - g**2 / tau**2) == 0
    assert problem.means[0].left == sp.tanh(U) and site.response_coefficients == ()


def test_two_nonlinearities_and_correlated_couplings_give_four_terms():
    """J, K correlated: ⟨φφ⟩, ⟨ψψ⟩ and both orders of the cross correlation ⟨φψ⟩."""
    p = ft.parameters(g=(1.0, "positive"), h=(1.0, "positive"), c=0.3)
    g, h, c = p.symbols
    joint = ft.JointGaussian((J, K), ((g**2, c), (c, h**2)))
    problem = lowered(-x(t) + J @ ft.tanh(x(t)) + K @ ft.erf_sqrtpi(x(t)), {J: joint, K: joint},
                      p)
    (site,) = problem.sites
    erf = ft.erf_sqrtpi(U)
    terms = {(problem.correlations[k].left, problem.correlations[k].right): coefficient
             for k, coefficient in site.correlation_coefficients}
    assert terms == {(sp.tanh(U), sp.tanh(U)): g**2, (erf, erf): h**2,
                     (erf, sp.tanh(U)): c, (sp.tanh(U), erf): c}
    assert not problem.single_phi and problem.phi == sp.tanh(U)


def test_the_shipped_scs_keeps_its_partial_symmetry_kernel():
    action = ft.load_model("scs").action
    problem = lower_site(derive(action).mean_field, observed_phi(action))
    g, rho = sp.Symbol("g", real=True), sp.Symbol("rho", real=True)
    assert problem.sites[0].response_coefficients == ((0, g**2 * rho),)


def test_every_registered_runtime_inlines_into_one_namespace():
    """All registered runtimes (hence every subset a model needs) inline together, each
    registering itself again in the inlined registry, with its module dependencies."""
    from fieldtheory.solvers import registry

    modules = {registry.runtime_module(r) for r in registry.runtimes().values()}
    source = runtime_source(*sorted(modules, key=lambda m: m.__name__))
    namespace: dict = {}
    exec(compile(source, "<runtimes>", "exec"), namespace)  # the generated module's prefix
    assert set(namespace["RUNTIMES"]) == set(registry.runtimes())
    assert "is_single_phi" in namespace  # a dependency (runtime/single_phi.py) came along


def test_observed_phi_is_read_per_population():
    """φ = tanh(β_α x) with β by population: the lowered site, the generated spec and the
    solved observables use each population's own φ (⟨φ⟩_α recomputed here by quadrature
    from the theory's own mean and variance of that population)."""
    from scipy import integrate

    p = ft.parameters(g=(1.5, "positive"), b_E=(1.0, "positive"), b_I=(2.0, "positive"),
                      D=(0.3, "nonnegative"), I0=0.4)
    g, b_E, b_I, D, I0 = p.symbols
    graph = nx.DiGraph()
    graph.add_node("E", fraction=sp.Rational(1, 2))
    graph.add_node("I", fraction=sp.Rational(1, 2))
    for target in "EI":
        for source in "EI":
            graph.add_edge(source, target, mean=0, variance=g**2)
    beta = ft.by_population("beta", E=b_E, I=b_I)
    model = ft.Model("beta_by_population", ft.langevin(
        {x: -x(t) + J @ ft.tanh(beta * x(t)) + I0}, {x: D},
        {J: ft.BlockGaussian.from_graph(graph)}, p), "φ by population")
    problem = derive(model).site_problem()
    assert problem.population_phis == (sp.tanh(b_E * U), sp.tanh(b_I * U))
    site = generate(model).spec()
    u = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(site.phi[1](u), np.tanh(2.0 * u), rtol=1e-15)
    result = ft.solve(model)
    for name, b in (("E", 1.0), ("I", 2.0)):
        obs = result.observables.populations[name]
        mean, var = obs["mean"], obs["variance"]
        expected = integrate.quad(
            lambda z, m=mean, v=var, b=b: np.tanh(b * (m + np.sqrt(v) * z))
            * np.exp(-z * z / 2) / np.sqrt(2 * np.pi), -12, 12, epsabs=1e-13)[0]
        assert obs["mean_phi"] == pytest.approx(expected, abs=1e-8)
