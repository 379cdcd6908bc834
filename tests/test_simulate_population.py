r"""The simulator's O(1/N) observables (issue 12, item 5) against exact covariances.

For a linear network the simulator's scheme is itself a linear map,
x ← A x + √(D dt) ξ with A = e^{−dt} + φ₁(dt)·dt·J (exponential Euler, its exact leak;
a map: A = (1 − δ) + δJ, noise variance δD), so for the realised J its stationary
covariance solves the discrete Lyapunov equation C = A C Aᵀ + Q exactly, and every
observable follows: PR/N = (tr C)²/(N tr C²), ψ = Σ_{i≠j} C_ij²/(N − 1), N·Var of the
population average 1ᵀC1/N, N·mean_{i≠j} C_ij(τ) with C(τ) = A^{τ/dt} C, and the
population spectrum of the sampled process. The comparisons use the simulator's own
standard errors (4 of them); the same J is drawn by the simulator's own generators.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.linalg

import fieldtheory as ft
from fieldtheory.simulate import simulate
from fieldtheory.simulate.collective import CollectiveEstimator
from fieldtheory.simulate.compile_action import compile_action
from fieldtheory.simulate.network import realise_trials, trial_generators

x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
N, SEED = 120, 3


def _linear(j0: float = 0.0):
    p = ft.parameters(g=(0.5, "positive"), D=(1.0, "nonnegative"), J0=(j0, "real"))
    g, D, J0 = p.symbols
    return ft.Model("linear_population", ft.langevin(
        {x: -x(t) + J @ x(t)}, {x: D}, {J: ft.Gaussian(J0, g**2)}, p), "noisy linear")


def _coupling(model, values, n: int, seed: int) -> np.ndarray:
    """The simulator's realised J of trial 0 (its own generators, same order of draws)."""
    network = realise_trials(compile_action(model.action, values), n,
                             trial_generators(seed, 1), "float64")
    return network.couplings[0].matrices[0].dense()


def _exact(model, values, dt: float):
    coupling = _coupling(model, values, N, SEED)
    a = math.exp(-dt) * np.eye(N) + (1 - math.exp(-dt)) * coupling
    # the noise over a step: the exact OU variance D·dt·φ₁(2dt) = D(1 − e^{−2dt})/2
    c = scipy.linalg.solve_discrete_lyapunov(a, values["D"] * -math.expm1(-2 * dt) / 2
                                             * np.eye(N))
    return a, c


def _observed(c: np.ndarray, lagged: np.ndarray | None = None) -> dict:
    one = np.ones(N)
    out = {"pr": np.trace(c) ** 2 / (N * np.sum(c * c)),
           "psi": (np.sum(c * c) - np.sum(np.diag(c) ** 2)) / (N - 1),
           "variance": one @ c @ one / N,
           "cross": (one @ c @ one - np.trace(c)) / (N - 1)}
    if lagged is not None:
        out["cross_lagged"] = (one @ lagged @ one - np.trace(lagged)) / (N - 1)
    return out


@pytest.fixture(scope="module")
def linear_run():
    model = _linear(0.4)
    values = {"g": 0.5, "D": 1.0, "J0": 0.4}
    result = simulate(model, values, N=N, t_max=1600.0, t_burn=20.0, dt=0.05, dtau=0.5,
                      tau_max=5.0, blocks=16, seed=SEED,
                      observe=("dimension", "population_variance", "population_spectrum",
                               "cross_covariance"))
    a, c = _exact(model, values, 0.05)
    lagged = np.linalg.matrix_power(a, 20) @ c  # C(τ = 1) = A^{τ/dt} C
    return result, _observed(c, lagged), a, c


def test_dimension_and_psi_against_the_exact_covariance(linear_run):
    result, exact, _, _ = linear_run
    o, e = result.observables, result.stderr
    assert abs(o["dimension"]["pr_x"] - exact["pr"]) < 4 * e["dimension"]["pr_x"]
    assert abs(o["psi"]["x"] - exact["psi"]) < 4 * e["psi"]["x"]
    assert o["dimension"]["pr_phi"] == o["dimension"]["pr_x"]  # φ = x here


def test_population_variance_and_cross_covariance_against_exact(linear_run):
    result, exact, _, _ = linear_run
    o, e = result.observables, result.stderr
    assert abs(o["population_variance"]["x"] - exact["variance"]) < (
        4 * e["population_variance"]["x"])
    curve, errors = o["cross_covariance"], e["cross_covariance"]["values"]
    assert abs(curve["values"][0] - exact["cross"]) < 4 * errors[0]
    assert curve["tau"][2] == pytest.approx(1.0)
    assert abs(curve["values"][2] - exact["cross_lagged"]) < 4 * errors[2]
    assert exact["cross"] > 5 * errors[0]  # J0 > 0: a resolved, positive mean coupling


def test_population_spectrum_about_the_run_mean_keeps_zero_frequency(linear_run):
    """The sampled AR process y(k+1) = B y(k) + η (B = A^{dτ/dt}) has the spectrum
    S(ω) = dτ·(1/N)·1ᵀ(1 − Be^{−iωdτ})⁻¹ Σ (1 − Bᵀe^{iωdτ})⁻¹1, Σ = C − BCBᵀ; at ω = 0 and
    at the segment's third bin against the Welch estimate (Hann leakage is far below the
    error at these smooth spectra)."""
    result, _, a, c = linear_run
    b = np.linalg.matrix_power(a, 10)
    sigma = c - b @ c @ b.T
    curve, errors = result.observables["population_spectrum"], result.stderr[
        "population_spectrum"]["values"]
    one = np.ones(N)
    for k in (0, 3):
        w = curve["omega"][k]
        resolvent = np.linalg.inv(np.eye(N) - b * np.exp(-1j * w * 0.5))
        exact = 0.5 * np.real(one @ resolvent @ sigma @ resolvent.conj().T @ one) / N
        assert abs(curve["values"][k] - exact) < 4 * errors[k] + 0.02 * exact


def test_a_short_run_is_not_biased_low():
    """The naive tr Ĉ² carries the sampling noise of Ĉ (≈ N²τ_c/T); the cross-block
    estimator does not: at T = 240 it still agrees with the exact PR."""
    model, values = _linear(), {"g": 0.5, "D": 1.0, "J0": 0.0}
    result = simulate(model, values, N=N, t_max=240.0, t_burn=20.0, dt=0.05, dtau=0.5,
                      tau_max=5.0, blocks=16, seed=SEED, observe=("dimension",))
    _, c = _exact(model, values, 0.05)
    exact = _observed(c)["pr"]
    o, e = result.observables["dimension"], result.stderr["dimension"]
    assert abs(o["pr_x"] - exact) < 4 * e["pr_x"]
    # the naive estimate from the same sampling noise would be visibly lower: the noise
    # adds ≈ N·tr(C)²·τ_c/T to N·tr C², here ≈ N τ_c/T ≈ 0.6 of it
    assert e["pr_x"] < 0.1 * exact


def test_short_blocks_of_many_units_are_not_biased():
    """Independent AR(1) units (half with correlation time 1 and variance 1, half with 4
    and 2; sampled every 0.5) have PR/N = (Σc)²/(NΣc²) = 0.9, PR_z/N = 1 and ψ = 0
    exactly. With N = 600 and blocks of 50 time units, centring every block on the run's
    mean (the shared error adds ≈ N²(τ_c/T)² to tr(C_a C_b)) or pairing neighbouring
    blocks (shared noise at their edge) biased all three by 5–7 errors; the estimator
    (own block means, separated pairs, the mean error added back) is within 4 errors."""
    n, length, blocks, dtau = 600, 100, 16, 0.5
    tau = np.repeat([1.0, 4.0], n // 2)
    variance = np.repeat([1.0, 2.0], n // 2)
    a = np.exp(-dtau / tau)
    estimator = CollectiveEstimator([n], ["all"], trials=1, samples=length * blocks,
                                    blocks=blocks, lags=4, dtau=dtau, segment=16,
                                    dimension=True, dimension_z=True)
    rng = np.random.default_rng(SEED)
    y = rng.standard_normal((1, n)) * np.sqrt(variance)
    for _ in range(length * blocks):
        y = a * y + np.sqrt(variance * (1 - a * a)) * rng.standard_normal((1, n))
        estimator.push(y, 2.0 * y)
    estimator.finish()
    values, errors = estimator.estimates({"all": np.zeros(5)})
    o, e = values["all"], errors["all"]
    exact = variance.sum() ** 2 / (n * (variance**2).sum())
    for key in ("pr_x", "pr_phi"):  # φ = 2y: the same PR
        assert abs(o["dimension"][key] - exact) < 4 * e["dimension"][key]
        assert e["dimension"][key] < 0.02 * exact  # the old bias was ≈ 7 %
        assert abs(o["dimension_z"][key] - 1.0) < 4 * e["dimension_z"][key]
    assert abs(o["psi"]["x"]) < 4 * e["psi"]["x"] and e["psi"]["x"] < 0.05


def test_dimension_needs_five_blocks():
    with pytest.raises(ft.errors.ParameterError, match="at least 5 time blocks"):
        CollectiveEstimator([50], ["all"], trials=1, samples=400, blocks=4, lags=4,
                            dtau=0.5, segment=16, dimension=True)


def test_a_linear_map_against_its_discrete_lyapunov_equation():
    """x(n+1) = (1 − δ)x + δJx + √(δD)ξ: population variance and PR."""
    p = ft.parameters(g=(0.5, "positive"), delta=(0.5, (1e-9, 1)), D=(1.0, "nonnegative"))
    g, delta, D = p.symbols
    n = ft.n
    model = ft.Model("linear_map_population", ft.langevin(
        {x: (1 - delta) * x(n) + delta * (J @ x(n))}, {x: delta * D},
        {J: ft.Gaussian(0, g**2)}, p, time=ft.discrete(step=delta)), "linear map")
    values = {"g": 0.5, "delta": 0.5, "D": 1.0}
    result = simulate(model, values, N=N, t_max=1500.0, t_burn=20.0, tau_max=5.0, blocks=16,
                      seed=SEED, observe=("dimension", "population_variance"))
    coupling = _coupling(model, values, N, SEED)
    a = 0.5 * np.eye(N) + 0.5 * coupling
    exact = _observed(scipy.linalg.solve_discrete_lyapunov(a, 0.5 * np.eye(N)))
    o, e = result.observables, result.stderr
    assert abs(o["population_variance"]["x"] - exact["variance"]) < (
        4 * e["population_variance"]["x"])
    assert abs(o["dimension"]["pr_x"] - exact["pr"]) < 4 * e["dimension"]["pr_x"]


def test_memory_does_not_grow_with_the_duration():
    sizes = {CollectiveEstimator([50, 30], ["E", "I"], trials=1, samples=samples, blocks=8,
                                 lags=20, dtau=0.25, segment=40, dimension=True).nbytes
             for samples in (400, 40_000, 4_000_000)}
    assert len(sizes) == 1


def test_populations_get_their_own_estimates():
    """Two linear populations (E: 70 %, blocks with different gains and a mean coupling):
    each population's PR_α/N_α, N_α·Var and zero-frequency spectrum N_α·S(0) against the
    exact covariance's sub-blocks."""
    from support.ei_graph import ei_ensemble

    p = ft.parameters(f_E=(0.7, (0.01, 0.99)), g=(0.4, "positive"), J0=(0.3, "real"))
    f_e, g, j0 = p.symbols
    ensemble = ei_ensemble(f_e, lambda target, source: j0 if source == "E" else -j0,
                           lambda target, source: (g if source == "E" else 1.5 * g) ** 2)
    model = ft.Model("linear_ei_population", ft.langevin(
        {x: -x(t) + J @ x(t)}, {x: 1}, {J: ensemble}, p), "E/I")
    values = {"f_E": 0.7, "g": 0.4, "J0": 0.3}
    result = simulate(model, values, N=N, t_max=1600.0, t_burn=20.0, dt=0.05, dtau=0.5,
                      tau_max=5.0, blocks=16, seed=SEED,
                      observe=("dimension", "population_variance", "population_spectrum"))
    a, c = _exact_matrix(model, values, 0.05)
    b = np.linalg.matrix_power(a, 10)  # the process sampled every dτ = 0.5
    sigma = c - b @ c @ b.T
    edges = {"E": slice(0, 84), "I": slice(84, N)}
    for name, sites in edges.items():
        # the population average's spectrum at ω = 0 (N_α·S, per unit time)
        one = np.zeros(N)
        one[sites] = 1.0
        resolvent = np.linalg.inv(np.eye(N) - b)
        size = sites.stop - sites.start
        exact_spectrum = 0.5 * one @ resolvent @ sigma @ resolvent.T @ one / size
        curve = result.observables.populations[name]["population_spectrum"]
        error = result.stderr.populations[name]["population_spectrum"]["values"][0]
        assert abs(curve["values"][0] - exact_spectrum) < 4 * error + 0.02 * exact_spectrum
        block = c[sites, sites]
        size = block.shape[0]
        pr = np.trace(block) ** 2 / (size * np.sum(block * block))
        variance = block.sum() / size
        o, e = result.observables.populations[name], result.stderr.populations[name]
        assert abs(o["dimension"]["pr_x"] - pr) < 4 * e["dimension"]["pr_x"]
        assert abs(o["population_variance"]["x"] - variance) < (
            4 * e["population_variance"]["x"])


def _exact_matrix(model, values, dt: float):
    coupling = _coupling(model, values, N, SEED)
    a = math.exp(-dt) * np.eye(N) + (1 - math.exp(-dt)) * coupling
    return a, scipy.linalg.solve_discrete_lyapunov(a, -math.expm1(-2 * dt) / 2 * np.eye(N))


def test_cli_observe(run):
    code, out, _ = run("simulate", "linear", "-N", "60", "--t-max", "100", "--no-progress",
                       "--observe", "dimension,population_variance,cross_covariance",
                       "--json")
    assert code == 0
    data = json.loads(out)  # strict: the fixture refuses NaN and Infinity
    for key in ("dimension", "psi", "population_variance"):
        assert set(data["observables"][key]) == set(data["stderr"][key])
    assert len(data["observables"]["cross_covariance"]["tau"]) > 1
    code, _, err = run("simulate", "linear", "--observe", "dimension,nonsense")
    assert code == 2 and "nonsense" in err and "population_variance" in err
    code, out, _ = run("simulate", "linear", "-N", "40", "--t-max", "100", "--no-progress",
                       "--tau-max", "5", "--observe", "lyapunov_max,response", "--json")
    observables = json.loads(out)["observables"]
    assert {"lyapunov_max", "response", "response_common"} <= set(observables)
