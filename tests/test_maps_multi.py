"""Maps with several Gaussian populations: the ``maps_multi`` runtime.

The map's lag equation, divided by b = 1 − leak, is the continuous-time multi-population
lattice equation with lattice step one lag (fieldtheory/solvers/runtime/maps_multi.py).
Checks, each independent of that mapping:

* one population: the one-population map runtime (its own held iteration and Newton
  solve in the DCT basis) — equal to 1e-8 with a mean coupling and an input, on the
  noise-driven, chaotic and fixed-point branches, at δ < 1 and δ = 1 (memoryless);
* a linear E/I map declared here (four block variances, fractions, noise): the exact
  N → ∞ spectra S_α(θ) = (Σ_β A_αβ S_β(θ) + D_α)/|1 − b e^{−iθ}|² (a 2 × 2 system per
  θ), and exact covariances of sampled networks (discrete Lyapunov equation);
* a nonlinear E/I map against simulated networks (``verify``);
* a memoryless population beside a leaky one (b_E = 0, b_I > 0; the lattice equation
  without Laplacian for E): a linear map against its exact spectra, a tanh map against
  simulated networks.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import scipy.linalg

import fieldtheory as ft
from fieldtheory.solvers.runtime.maps_multi import solve_maps_multi

x, J, n = ft.Field("x"), ft.Coupling("J"), ft.n


def one_population_map() -> ft.Model:
    """A tanh map declared here with a mean coupling and an input (the shipped ``map`` has
    neither): x(n+1) = (1 − δ)x + δ(Σ_j J_ij tanh x_j + I) + noise δD."""
    p = ft.parameters(g=(1.5, "positive"), D=(0.0, "nonnegative"), delta=(0.5, (1e-9, 1)),
                      J0=(0.0, "real"), I=(0.0, "real"))
    g, D, delta, J0, I = p.symbols
    return ft.Model("map_means", ft.langevin(
        drift={x: (1 - delta) * x(n) + delta * (J @ ft.tanh(x(n)) + I)}, noise={x: delta * D},
        couplings={J: ft.Gaussian(mean=J0, variance=g**2)}, parameters=p,
        time=ft.discrete(step=delta)), "a map declared in the test")


@pytest.mark.parametrize("values", [
    {"delta": 0.6, "g": 1.8, "D": 0.3, "J0": 0.5, "I": 0.2},  # noise-driven, with means
    {"delta": 0.4, "g": 2.0, "D": 0.0, "J0": 0.0, "I": 0.0},  # chaotic
    {"delta": 0.5, "g": 0.7, "D": 0.0, "J0": 0.3, "I": 0.4},  # a stable fixed point
    # memoryless (δ = 1): the lag equation is algebraic, solved lag by lag
    {"delta": 1.0, "g": 1.5, "D": 1.0, "J0": 0.5, "I": 0.2},
    {"delta": 1.0, "g": 1.6, "D": 0.0, "J0": 0.0, "I": 0.3},  # static part q∞ > 0
    {"delta": 1.0, "g": 0.7, "D": 0.0, "J0": 0.3, "I": 0.4},
], ids=["noise", "chaos", "fixed-point", "memoryless-noise", "memoryless-chaos",
        "memoryless-fixed-point"])
def test_one_population_equals_the_map_runtime(values):
    """The runtime called on the one-population site (generated modules of one-population
    maps do not inline it: ``map`` solves them) against ``map``'s solution."""
    model = one_population_map()
    reference = ft.solve(model, values)
    site = ft.generate(model).spec(**model.parameters.resolve(values))
    ours = solve_maps_multi(site, tau_max=20.0, dtau=0.25)
    assert ours["branch"] == reference.branch
    for key in ("mean", "variance", "mean_phi", "mean_gain"):
        assert ours[key] == pytest.approx(reference.observables[key], rel=1e-8, abs=1e-12), key
    for key in ("autocorrelation", "autocorrelation_phi"):
        theirs = reference.observables[key]
        np.testing.assert_allclose(ours[key]["tau"], theirs["tau"], rtol=1e-12)
        np.testing.assert_allclose(ours[key]["values"], theirs["values"], rtol=1e-8,
                                   atol=1e-10)
    assert ours["lyapunov_max"] is None and "not computed" in ours["lyapunov_note"]


SIGMA = {("E", "E"): 1.0, ("E", "I"): 0.5, ("I", "E"): 0.8, ("I", "I"): 0.3}  # source, target
FRACTION = {"E": 0.7, "I": 0.3}


def ei_blocks(g) -> ft.BlockGaussian:
    """The E/I ensemble of these tests: Var J_ij = g²σ²_{βα}/N, fractions ``FRACTION``."""
    graph = nx.DiGraph()
    for name, fraction in FRACTION.items():
        graph.add_node(name, fraction=fraction)
    for (source, target), sigma2 in SIGMA.items():
        graph.add_edge(source, target, mean=0, variance=sigma2 * g**2)
    return ft.BlockGaussian.from_graph(graph)


def ei_map(phi=None) -> ft.Model:
    """E/I map declared here: Var J_ij = g²σ²_{βα}/N for a source in β and a target in α,
    leak δ per step, noise δD, φ linear (default) or given."""
    p = ft.parameters(g=(0.8, "positive"), D=(0.5, "nonnegative"), delta=(0.3, (1e-9, 1)))
    g, D, delta = p.symbols
    out = (lambda u: u) if phi is None else phi
    return ft.Model("ei_map", ft.langevin(
        drift={x: (1 - delta) * x(n) + delta * (J @ out(x(n)))}, noise={x: delta * D},
        couplings={J: ei_blocks(g)}, parameters=p,
        time=ft.discrete(step=delta)), "an E/I map declared in the test")


def _exact_linear(v: dict, lags: int) -> dict[str, np.ndarray]:
    """Δ_α(k) from the 2 × 2 linear system for the spectra on a fine θ grid (exact up to
    the grid's aliasing, ~1e-15 here: Δ decays geometrically)."""
    names = ("E", "I")
    b, d = 1 - v["delta"], v["delta"]
    A = np.array([[d * d * v["g"] ** 2 * SIGMA[(s, t)] * FRACTION[s] for s in names]
                  for t in names])
    theta = 2 * math.pi * np.arange(4096) / 4096
    symbol = 1 + b * b - 2 * b * np.cos(theta)
    S = np.array([np.linalg.solve(np.diag([sy, sy]) - A, np.full(2, d * v["D"]))
                  for sy in symbol])
    delta = np.fft.ifft(S, axis=0).real[: lags + 1]
    return dict(zip(names, delta.T, strict=True))


def test_linear_ei_map_is_exact():
    model = ei_map()
    v = model.parameters.defaults()
    result = ft.solve(model, v, tau_max=3.0, dtau=0.3)
    assert result.method == "maps_multi"
    exact = _exact_linear(v, 10)
    for name in ("E", "I"):
        curve = result.observables["populations"][name]["autocorrelation"]
        np.testing.assert_allclose(curve["tau"], 0.3 * np.arange(11), rtol=1e-12)
        np.testing.assert_allclose(curve["values"], exact[name], rtol=1e-9, atol=1e-12)
    # networks: the exact stationary covariance of sampled networks, N = 500, 4 of them
    (_, ensemble), = model.action.couplings
    rng = np.random.default_rng(11)
    N, n_e = 500, 350
    b, d = 1 - v["delta"], v["delta"]
    per = {"E": [], "I": []}
    for _ in range(4):
        coupling = ensemble.sample(rng, (n_e, N - n_e), v).dense()
        M = b * np.eye(N) + d * coupling
        sigma = scipy.linalg.solve_discrete_lyapunov(M, d * v["D"] * np.eye(N))
        per["E"].append(np.diag(sigma)[:n_e].mean())
        per["I"].append(np.diag(sigma)[n_e:].mean())
    for name, values in per.items():
        values = np.array(values)
        se = values.std(ddof=1) / math.sqrt(values.size)
        # finite-N allowance 2/N relative (the O(1/N) shift of a unit's variance)
        assert abs(values.mean() - exact[name][0]) < 4 * se + 2 / N * exact[name][0], name


def test_order_one_over_n_of_equal_populations_is_the_one_population_map():
    """The N → ∞ 1/N layer runs on the maps_multi saddle point: two identical populations
    (every block the same variance) give the one-population map's dimension, ψ, population
    variances and spectrum."""
    p = ft.parameters(g=(1.8, "positive"), D=(0.3, "nonnegative"), delta=(0.6, (1e-9, 1)))
    g, D, delta = p.symbols
    graph = nx.DiGraph()
    for name, fraction in (("E", 0.6), ("I", 0.4)):
        graph.add_node(name, fraction=fraction)
    for source in "EI":
        for target in "EI":
            graph.add_edge(source, target, mean=0, variance=g**2)
    equal = ft.Model("equal_map", ft.langevin(
        drift={x: (1 - delta) * x(n) + delta * (J @ ft.tanh(x(n)))}, noise={x: delta * D},
        couplings={J: ft.BlockGaussian.from_graph(graph)}, parameters=p,
        time=ft.discrete(step=delta)), "two identical populations")
    values = {"g": 1.8, "D": 0.3, "delta": 0.6}
    two = ft.solve(equal, values, order="1/N").observables
    one = ft.solve("map", values, order="1/N").observables
    for key in ("dimension", "psi", "population_variance"):
        for part, value in one[key].items():
            assert two[key][part] == pytest.approx(value, rel=1e-9), (key, part)
    np.testing.assert_allclose(two["population_spectrum"]["values"],
                               one["population_spectrum"]["values"], rtol=1e-9)


def test_nonlinear_ei_map_against_simulation():
    model = ei_map(ft.tanh)
    values = {"g": 1.6, "D": 0.2, "delta": 0.5}
    # 16 networks (a stderr from 4 has 3 degrees of freedom: |t| > 4 for a few of the ~130
    # numbers compared), long runs (the estimator's 1/T bias about each run's mean)
    report, result, _ = ft.verify(model, values, N=500, trials=16, t_max=400.0, t_burn=50.0,
                                  seed=4)
    assert result.method == "maps_multi"
    assert report.passed, report
    pops = result.observables["populations"]
    assert pops["E"]["variance"] != pytest.approx(pops["I"]["variance"], rel=1e-3)


def mixed_map(phi=None) -> ft.Model:
    """x(n+1) = b_α x(n) + Σ_j J_ij φ(x_j(n)) + noise D, with a memoryless E population
    (b_E = 0) and a leaky I one (b_I a parameter); the block variances of ``ei_map``."""
    p = ft.parameters(g=(0.8, "positive"), D=(0.5, "nonnegative"), bI=(0.6, (0, 0.99)))
    g, D, bI = p.symbols
    out = (lambda u: u) if phi is None else phi
    return ft.Model("mixed_map", ft.langevin(
        drift={x: ft.by_population("b", E=0, I=bI) * x(n) + J @ out(x(n))}, noise={x: D},
        couplings={J: ei_blocks(g)}, parameters=p,
        time=ft.discrete(step=1)), "memoryless E, leaky I")


def test_memoryless_population_beside_a_leaky_one():
    """Linear: S_α(θ) = (Σ_β A_αβ S_β + D)/|1 − b_α e^{−iθ}|² solved per θ (2 × 2) against
    the runtime to 1e-12; tanh (g = 1.6, D = 0.2, b_I = 0.5): ``verify`` against 16
    simulated networks of N = 500 (both populations, every lag compared), the two
    populations' variances distinct."""
    model = mixed_map()
    v = model.parameters.defaults()
    result = ft.solve(model, v, tau_max=10.0, dtau=1.0)
    assert result.method == "maps_multi"
    names, b = ("E", "I"), {"E": 0.0, "I": v["bI"]}
    A = np.array([[v["g"] ** 2 * SIGMA[(s, t)] * FRACTION[s] for s in names] for t in names])
    theta = 2 * math.pi * np.arange(4096) / 4096
    S = np.array([np.linalg.solve(np.diag([1 + b[t] ** 2 - 2 * b[t] * np.cos(th)
                                           for t in names]) - A, np.full(2, v["D"]))
                  for th in theta])
    exact = np.fft.ifft(S, axis=0).real[:11]
    for k, name in enumerate(names):
        curve = result.observables["populations"][name]["autocorrelation"]["values"]
        np.testing.assert_allclose(curve, exact[:, k], rtol=1e-12, atol=1e-12)
    values = {"g": 1.6, "D": 0.2, "bI": 0.5}
    report, result, _ = ft.verify(mixed_map(ft.tanh), values, N=500, trials=16, t_max=400.0,
                                  t_burn=50.0, seed=4)
    assert result.method == "maps_multi"
    assert report.passed, report
    assert {"E/variance", "I/autocorrelation"} <= {c.observable for c in report.comparisons}
    pops = result.observables["populations"]
    assert pops["E"]["variance"] != pytest.approx(pops["I"]["variance"], rel=1e-2)
