r"""The renormalized finite-N theory (issue 12, item 4; fieldtheory/renormalized.py).

The population mode's fluctuations are fed back into the single site as an input of
covariance K(τ) = B² Cov(m(t+τ), m(t)), the site solved again, the fluctuation stage
evaluated on the new site, until K is stationary. Checks:

* the runtime option it rests on — an external input covariance in the lattice lag
  equation — against the exact solution of a linear site driven by it;
* the loop closes: the fed-back K(0) equals B²·(population variance of φ)/N of the
  returned solution;
* limits: no mean coupling gives the N → ∞ theory unchanged; N → ∞ the renormalized and the
  leading-order results merge (their difference is O(1/N²));
* near the transition the self-consistency lowers the population variance below the
  leading order and the single unit gains a slow component;
* contract: ``solve -N`` without ``--order 1/N`` is refused; JSON keys.

Simulations of networks near the transition, per network at its realised uniform-mode
coupling, are in docs/fluctuations.md ("Renormalized theory").
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import fieldtheory as ft


def test_extra_input_covariance_of_the_lattice_runtime_is_exact_for_a_linear_site():
    """ẋ = −x + J x + ξ + η, η of covariance K(τ) = c e^{−κτ}: with a² = 1 − g²,
    Δ(τ) = D e^{−aτ}/(2a) + c/(a² − κ²)·(e^{−κτ} − (κ/a) e^{−aτ})."""
    g, D, c, kappa = 0.5, 1.0, 0.3, 0.2
    tau = np.arange(0.0, 400.0, 0.05)
    out = ft.solve("linear", {"g": g, "D": D}, method="multi", tau_max=20.0,
                   options={"extra_covariance": [(tau, c * np.exp(-kappa * tau))]})
    a = math.sqrt(1 - g * g)
    lags = np.asarray(out.observables["autocorrelation"]["tau"])
    exact = (D * np.exp(-a * lags) / (2 * a)
             + c / (a * a - kappa * kappa) * (np.exp(-kappa * lags)
                                               - kappa / a * np.exp(-a * lags)))
    values = np.asarray(out.observables["autocorrelation"]["values"])
    np.testing.assert_allclose(values, exact, rtol=2e-4, atol=0)  # lattice O(step²)
    assert out.observables.lyapunov_max is None


@pytest.fixture(scope="module")
def near_transition():
    """g = 2, J0 = 1.5 (J0c = 2.054), N = 1000."""
    return ft.solve("scs", {"g": 2.0, "J0": 1.5}, order="1/N", N=1000)


def test_the_feedback_loop_closes(near_transition):
    observables = near_transition.observables
    fed_back = near_transition.info["feedback_variance"]
    # K(0) = B² Var(m_φ) = J0² · (N·Var m_φ)/N, from the returned population variance
    assert fed_back == pytest.approx(1.5**2 * observables["population_variance"]["phi"] / 1000,
                                     rel=1e-5)
    assert near_transition.info["changes"][-1] < 1e-6


def test_near_the_transition_the_population_feedback_renormalizes(near_transition):
    infinite = ft.solve("scs", {"g": 2.0, "J0": 1.5}, order="1/N").observables
    renormalized, leading = near_transition.observables, near_transition.leading_order
    # the common input raises the single-unit variance; the leading order has the
    # population keys of N → ∞ and a site driven by them
    assert leading["population_variance"]["phi"] == pytest.approx(
        infinite["population_variance"]["phi"], rel=1e-6)
    assert leading["variance"] > renormalized["variance"] > infinite["variance"]
    # self-consistency: a larger site variance lowers ⟨φ'⟩, hence J0⟨φ'⟩, hence the
    # population variance
    assert renormalized["mean_gain"] < infinite["mean_gain"]
    assert renormalized["population_variance"]["phi"] < infinite["population_variance"]["phi"]
    # the slow component: at τ = 20 the site's autocorrelation is above the N → ∞ one
    tau = np.asarray(renormalized["autocorrelation"]["tau"])
    k = int(np.argmin(np.abs(tau - 20.0)))
    assert renormalized["autocorrelation"]["values"][k] > 1.1 * infinite["autocorrelation"][
        "values"][k]


def test_without_mean_coupling_the_finite_n_theory_is_the_infinite_one():
    finite = ft.solve("scs", {"g": 2.0}, order="1/N", N=500)
    infinite = ft.solve("scs", {"g": 2.0}, order="1/N", method="auto")
    assert finite.N == 500 and finite.info["iterations"] == 0
    assert finite.observables["variance"] == pytest.approx(infinite.observables["variance"],
                                                           rel=1e-4)  # multi vs stationary
    assert finite.leading_order["variance"] == finite.observables["variance"]


def test_renormalized_and_leading_order_merge_as_n_grows():
    """Both differ from N → ∞ by O(1/N); from each other by O(1/N²)."""
    infinite = ft.solve("scs", {"g": 2.0, "J0": 1.5}, order="1/N").observables["variance"]
    shifts = []
    for N in (10_000, 100_000):
        out = ft.solve("scs", {"g": 2.0, "J0": 1.5}, order="1/N", N=N)
        renormalized, leading = out.observables["variance"], out.leading_order["variance"]
        shifts.append((renormalized - infinite, leading - infinite))
    for renormalized, leading in shifts:
        assert abs(renormalized / leading - 1) < 0.02
    # the shift itself is O(1/N)
    assert shifts[0][0] / shifts[1][0] == pytest.approx(10.0, rel=0.05)


def test_cli_contract(run):
    code, _, err = run("solve", "scs", "-N", "100")
    assert code == 2 and "order" in err
    code, out, _ = run("solve", "scs", "-p", "J0=1.0", "--order", "1/N", "-N", "1000",
                       "--json")
    assert code == 0
    data = json.loads(out)
    assert data["N"] == 1000
    for key in ("variance", "autocorrelation", "population_variance", "population_spectrum",
                "population_spectrum_phi", "cross_covariance"):
        assert key in data["observables"] and key in data["leading_order"]
    assert data["renormalization"]["iterations"] >= 1


def test_verify_compares_with_the_finite_n_theory(run):
    """``verify -N N --order 1/N``: the renormalized theory at the simulated N, population
    variances and spectra (x, φ; through the estimator's window) included (errors across 6
    networks, so the quenched spread is in them)."""
    code, out, _ = run("verify", "scs", "-p", "J0=1.0", "-N", "400", "--order", "1/N",
                       "--trials", "6", "--t-max", "120", "--json")
    data = json.loads(out)
    names = {row["observable"] for row in data["comparisons"]}
    assert {"population_variance/x", "population_variance/phi", "variance",
            "population_spectrum", "population_spectrum_phi"} <= names
    assert code == 0, data


def test_outside_its_scope_the_finite_n_theory_is_refused_by_name():
    # maps go to the window's one-loop theory (tests/test_window_loop.py), which refuses
    # the default map by the memory of its window
    with pytest.raises(ft.errors.ConvergenceError, match="memory outlasts the window"):
        ft.solve("map", {}, order="1/N", N=1000, options={"window": 3})
    with pytest.raises(ft.errors.ParameterError, match="integer"):
        ft.solve("scs", {"J0": 1.0}, order="1/N", N=1.5)


def test_three_populations_with_one_mean_coupling_are_the_one_population_theory(
        near_transition):
    """Three populations (declared here, fractions 0.5/0.3/0.2) with equal variances g²
    and equal means J0 = 1.5 in all nine blocks are the SCS network: the three population
    modes, their pairwise cross-covariances (from the joint averages of each pair) and
    every feedback must give the one-population result."""
    import networkx as nx

    p = ft.parameters(g=(2.0, "nonnegative"), J0=(1.5, "real"))
    g, j0 = p.symbols
    graph = nx.DiGraph()
    for name, fraction in (("A", 0.5), ("B", 0.3), ("C", 0.2)):
        graph.add_node(name, fraction=fraction)
    for target in "ABC":
        for source in "ABC":
            graph.add_edge(source, target, mean=j0, variance=g**2)
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    model = ft.Model("three_uniform", ft.langevin(
        {x: -x(t) + J @ ft.tanh(x(t))}, None, {J: ft.BlockGaussian.from_graph(graph)}, p),
        "three populations with one mean coupling")
    three = ft.solve(model, {}, order="1/N", N=1000, options={"population_only": True})
    assert "dimension" not in three.observables  # the option skips the two-time sector
    for key in ("variance", "mean_gain"):
        assert three.observables[key] == pytest.approx(near_transition.observables[key],
                                                       rel=1e-9)
    assert three.leading_order["variance"] == pytest.approx(
        near_transition.leading_order["variance"], rel=1e-9)
    for name in ("x", "phi"):
        assert three.observables["population_variance"][name] == pytest.approx(
            near_transition.observables["population_variance"][name], rel=1e-8)
    fed = three.info["feedback_variance"]
    for name in "ABC":
        assert fed[name] == pytest.approx(near_transition.info["feedback_variance"],
                                          rel=1e-9)


def test_a_model_declared_here_with_parameters_in_every_term():
    """Leak a, gain s inside φ, noise D, mean and variance of J: the feedback loop closes
    (K(0) = B²·Var m_φ with B = J0) and the finite-N variance lies above N → ∞."""
    p = ft.parameters(a=(1.3, "positive"), s=(0.8, "positive"), D=(0.2, "nonnegative"),
                      g=(2.2, "positive"), J0=(1.8, "real"))
    a, s, D, g, j0 = p.symbols
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    action = ft.langevin({x: -a * x(t) + J @ ft.tanh(s * x(t))}, {x: D},
                         {J: ft.Gaussian(mean=j0, variance=g**2)}, p)
    model = ft.Model("variant", action, "parameters everywhere")
    finite = ft.solve(model, {}, order="1/N", N=800)
    infinite = ft.solve(model, {}, order="1/N")
    observables = finite.observables
    assert finite.info["feedback_variance"] == pytest.approx(
        1.8**2 * observables["population_variance"]["phi"] / 800, rel=1e-5)
    assert observables["variance"] > infinite.observables["variance"]
    assert finite.leading_order["population_variance"]["phi"] == pytest.approx(
        infinite.observables["population_variance"]["phi"], rel=1e-4)


def test_windowed_spectrum_is_the_estimators_expectation():
    """An exact Ornstein–Uhlenbeck population mode, c(τ) = e^{−γ|τ|}, S(ω) = 2γ/(γ² + ω²):
    the Hann-windowed segment periodogram (the simulations' estimator, dτ|Σ w_t m_t
    e^{−iωtdτ}|²/Σw²) averaged over 4000 exact AR(1) segments matches
    ``windowed_spectrum`` within 4 standard errors at every frequency j ≥ 2, while the
    bare S(ω_j) fails the same check (the window's broadening, ≈ 10σ at the lowest
    frequency: the check can fail)."""
    from fieldtheory.verify import windowed_spectrum

    gamma, dtau, L, segments = 0.3, 0.5, 40, 4000
    theory_omega = np.linspace(0.0, 400.0, 400001)
    curve = {"omega": theory_omega, "values": 2 * gamma / (gamma**2 + theory_omega**2)}
    rng = np.random.default_rng(4)
    a = np.exp(-gamma * dtau)
    m = np.empty((segments, L))
    m[:, 0] = rng.standard_normal(segments)
    for t in range(1, L):
        m[:, t] = a * m[:, t - 1] + np.sqrt(1 - a * a) * rng.standard_normal(segments)
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(L) / L)
    P = dtau * np.abs(np.fft.rfft(w * m, axis=1)) ** 2 / np.sum(w * w)
    omega = 2 * np.pi * np.fft.rfftfreq(L, dtau)
    j = np.arange(2, omega.size)
    expected = windowed_spectrum(curve, omega[j], L, dtau)
    mean, error = P[:, j].mean(axis=0), P[:, j].std(axis=0, ddof=1) / np.sqrt(segments)
    assert np.all(np.abs(mean - expected) < 4 * error), (mean - expected) / error
    bare = 2 * gamma / (gamma**2 + omega[j] ** 2)
    assert np.any(np.abs(mean - bare) > 4 * error)  # the same check rejects S(ω_j)
