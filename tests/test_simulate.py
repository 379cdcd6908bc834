"""The simulator against exact results, and its contract (docs/architecture.md).

Oracles: the Ornstein–Uhlenbeck unit and the noisy linear map, whose stationary statistics
*of the discretised scheme* are known in closed form, so no dt allowance is needed;
tolerances are three standard errors reported by the simulator itself.
"""

from __future__ import annotations

import json
import math
import tracemalloc

import numpy as np
import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.errors import (
    DivergenceError,
    ParameterError,
    SimulationError,
    UnknownParameterError,
    UnstableStepError,
)
from fieldtheory.ir.couplings import DenseCoupling, LowRankCoupling
from fieldtheory.simulate import (
    BatchedCoupling,
    compile_action,
    realise,
    realise_trials,
    simulate,
)

A, D = 1.0, 2.0


def ou_model(coupled: bool = False) -> ft.Model:
    """dx = −a x dt + √D dW per unit; optionally with a zero-variance coupling."""
    p = ft.parameters(a=(A, "positive"), D=(D, "nonnegative"))
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    drift = -p.a * x(t) + (J @ ft.tanh(x(t)) if coupled else 0)
    couplings = {J: ft.Gaussian(mean=0, variance=0)} if coupled else {}
    action = ft.langevin(drift={x: drift}, noise={x: p.D}, couplings=couplings, parameters=p)
    return ft.Model("ou", action)


def scheme_variance(dt: float) -> float:
    """Stationary variance of the exponential Euler scheme for an OU unit: the leak and the
    noise over a step are its exact transition, so D/2a at any dt."""
    return D / (2 * A)


def test_ornstein_uhlenbeck_variance_autocorrelation_and_spectrum():
    dt, dtau = 0.05, 0.25
    result = simulate(ou_model(), N=2000, t_max=400.0, t_burn=10.0, dt=dt, tau_max=10.0,
                      dtau=dtau, seed=5, blocks=10)
    obs, se = result.observables, result.stderr
    v = scheme_variance(dt)
    assert abs(obs["variance"] - v) <= 3 * se["variance"]
    # the old scheme's bias (√(D dt)ξ: a·dt relative) would be resolved
    assert 10 * se["variance"] < A * dt * v
    tau = obs["autocorrelation"]["tau"]
    values, errors = obs["autocorrelation"]["values"], se["autocorrelation"]["values"]
    assert values[0] == obs["variance"]
    # 41 correlated lags: 4 SE keeps the family-wise false-alarm rate near 0.3 %
    assert np.all(np.abs(values - v * np.exp(-A * tau)) <= 4 * errors)
    assert abs(obs["mean"]) <= 3 * se["mean"]
    # φ is the identity without a coupling
    assert obs["mean_gain"] == 1.0
    np.testing.assert_array_equal(obs["autocorrelation_phi"]["values"], values)
    _check_spectrum(obs, se, v, dtau)


def _check_spectrum(obs, se, v: float, dtau: float) -> None:
    """N·S_a for independent units is one unit's spectrum; compare with the exact
    expectation of the Welch estimator (Hann window, about the run's mean — whose own
    fluctuation is O(1/T) — zero frequency included) for the sampled AR(1) process with
    covariance v ρ^|k|, ρ = e^{−a dτ}."""
    omega, values = obs["population_spectrum"]["omega"], obs["population_spectrum"]["values"]
    errors = se["population_spectrum"]["values"]
    n = 2 * (len(omega) - 1)
    k = np.arange(n)
    covariance = v * np.exp(-A * dtau * np.abs(k[:, None] - k[None, :]))
    window = 0.5 - 0.5 * np.cos(2 * np.pi * k / n)
    M = np.diag(window)
    phases = np.exp(-1j * np.outer(omega, k) * dtau)
    expected = dtau * np.real(np.einsum("wk,kl,wl->w", phases, M @ covariance @ M.T,
                                        phases.conj())) / np.sum(window**2)
    assert np.all(np.abs(values - expected) <= 4 * errors)
    # and the expectation is close to the continuum Lorentzian D/(a² + ω²) at low ω
    assert expected[3] == pytest.approx(D / (A**2 + omega[3] ** 2), rel=0.1)


def test_linear_network_matches_the_exact_covariance_of_its_own_coupling():
    """For the realised J, the scheme x ← b x + c J x + √(D dt) ξ (b = e^{−dt},
    c = 1 − e^{−dt}) is a linear map A = b + cJ with stationary covariance C = A C Aᵀ +
    D dt·1, so Δ(k dt) = (1/N) tr(A^k C) exactly — no N → ∞ or dt allowance."""
    import scipy.linalg

    N, dt, seed = 400, 0.1, 12
    model = ft.load_model("linear")
    values = {"g": 0.6, "D": 1.0}
    result = simulate(model, values, N=N, t_max=800.0, t_burn=20.0, dt=dt, tau_max=1.0,
                      dtau=0.5, seed=seed, blocks=12)
    J = realise(model.action, values, N, np.random.default_rng([seed, 0]))
    J = J.couplings[0].matrices[0].matrix
    A = math.exp(-dt) * np.eye(N) + (1 - math.exp(-dt)) * J
    # the noise over a step: the exact OU variance dt·φ₁(2dt) = (1 − e^{−2dt})/2
    C = scipy.linalg.solve_discrete_lyapunov(A, -math.expm1(-2 * dt) / 2 * np.eye(N))
    exact = [np.trace(np.linalg.matrix_power(A, k) @ C) / N for k in (0, 5, 10)]
    values_, errors = (r["autocorrelation"]["values"] for r in (result.observables,
                                                                 result.stderr))
    assert np.all(np.abs(values_ - exact) <= 3 * errors), (values_ - exact, errors)
    # sharp enough to see the coupling: J = 0 gives the OU process's e^{−τ}/2
    uncoupled = 0.5 * np.exp(-np.array([0.0, 0.5, 1.0]))
    assert np.all(3 * errors < 0.25 * np.abs(np.array(exact) - uncoupled))


def test_zero_variance_coupling_is_the_same_ou_process():
    uncoupled = simulate(ou_model(), N=300, t_max=40.0, t_burn=5.0, dt=0.05, seed=2,
                         tau_max=2.0)
    coupled = simulate(ou_model(coupled=True), N=300, t_max=40.0, t_burn=5.0, dt=0.05,
                       seed=2, tau_max=2.0)
    # the zero matrix consumes N² draws first, so the noise differs; statistics agree
    diff = coupled.observables["variance"] - uncoupled.observables["variance"]
    assert abs(diff) <= 3 * math.hypot(coupled.stderr["variance"],
                                       uncoupled.stderr["variance"])
    assert coupled.observables["mean_gain"] < 1.0  # φ = tanh is read off the coupling


def test_per_population_leak_and_noise():
    """a_α and D_α by population: each population is its own OU process (exact scheme)."""
    p = ft.parameters(a_E=(1.0, "positive"), a_I=(3.0, "positive"), D_E=(2.0, "positive"),
                      D_I=(0.5, "positive"))
    x, t = ft.Field("x"), ft.t
    a = ft.by_population("a", E=p.a_E, I=p.a_I)
    action = ft.langevin(drift={x: -a * x(t)}, noise={x: ft.by_population("D", E=p.D_E,
                                                                         I=p.D_I)},
                         parameters=p, populations=(ft.Population("E", sp.Rational(3, 4)),
                                                    ft.Population("I", sp.Rational(1, 4))))
    dt = 0.05
    result = simulate(action, N=1600, t_max=100.0, t_burn=5.0, dt=dt, tau_max=1.0, seed=3)
    for name, rate, noise in (("E", 1.0, 2.0), ("I", 3.0, 0.5)):
        pop, err = result.observables["populations"][name], result.stderr["populations"][name]
        exact = noise / (2 * rate)  # the scheme is the exact OU transition
        assert abs(pop["variance"] - exact) <= 3 * err["variance"], name
    state_dependent = ft.langevin(drift={x: -x(t)}, noise={x: 1 + x(t) ** 2})
    with pytest.raises(SimulationError, match="state-dependent noise"):
        simulate(state_dependent, N=10)


def test_drift_is_the_declared_one():
    """Network.drift against a hand-written numpy drift on the realised J and inputs."""
    model = ft.load_model("ei")
    values = {"I_E": 0.3, "I_I": -0.2}
    network = realise(model.action, values, 50, np.random.default_rng(0))
    J = network.couplings[0].matrices[0].matrix
    x = np.random.default_rng(1).standard_normal((1, 50))
    inputs = np.where(np.arange(50) < 40, 0.3, -0.2)
    np.testing.assert_allclose(network.drift(x)[0], -x[0] + J @ np.tanh(x[0]) + inputs,
                               rtol=1e-13, atol=1e-13)
    assert network.sizes == (40, 10)


def test_same_seed_is_bit_identical_and_another_seed_differs():
    run = dict(N=100, t_max=10.0, t_burn=5.0, tau_max=2.0, trials=2)
    model = ft.load_model("scs")
    a = simulate(model, {"D": 0.1}, seed=4, **run).to_json()
    b = simulate(model, {"D": 0.1}, seed=4, **run).to_json()
    c = simulate(model, {"D": 0.1}, seed=5, **run).to_json()
    assert json.dumps(a) == json.dumps(b)
    assert a["observables"]["variance"] != c["observables"]["variance"]


def test_trial_k_draws_from_its_own_generator():
    """Batched trials: trial k's couplings and x(0) are those of default_rng([seed, k])."""
    model = ft.load_model("scs")
    compiled = compile_action(model.action, model.parameters.resolve())
    rngs = [np.random.default_rng([9, k]) for k in range(3)]
    batched = realise_trials(compiled, 40, rngs)
    x = batched.initial_state(rngs)
    alone_rng = np.random.default_rng([9, 2])
    alone = realise(model.action, None, 40, alone_rng)
    np.testing.assert_array_equal(batched.couplings[0].matrices[2].matrix,
                                  alone.couplings[0].matrices[0].matrix)
    np.testing.assert_array_equal(x[2], alone.initial_state([alone_rng])[0])
    # one simulation of 3 trials averages the whole-run estimates of the trials
    run = dict(N=40, t_max=6.0, t_burn=1.0, tau_max=1.0, seed=9, method="rk4")
    three = simulate(model, trials=3, **run)
    assert three.trials == 3 and three.stderr["variance"] > 0


def test_float32_agrees_with_float64():
    model = ft.load_model("scs")
    run = dict(N=300, t_max=200.0, t_burn=20.0, tau_max=4.0, seed=3, dt=0.1, dtau=0.5)
    r64 = simulate(model, {"g": 1.8}, dtype="float64", **run)
    r32 = simulate(model, {"g": 1.8}, dtype="float32", **run)
    for key in ("variance", "mean_gain", "mean_phi"):
        bound = 3 * math.hypot(r64.stderr[key], r32.stderr[key])
        assert abs(r64.observables[key] - r32.observables[key]) <= bound, key
    assert r64.observables["variance"] != r32.observables["variance"]


def test_populations_of_the_ei_model():
    result = simulate(ft.load_model("ei"), {"D": 0.2}, N=200, t_max=20.0, t_burn=5.0,
                      tau_max=2.0, dt=0.05)
    obs = result.observables
    assert set(obs["populations"]) == {"E", "I"}
    assert set(result.stderr["populations"]) == {"E", "I"}
    for pop in obs["populations"].values():
        assert set(pop) == set(obs) - {"populations"}
    # the top-level mean is the size-weighted population mean
    E, I = obs["populations"]["E"]["mean"], obs["populations"]["I"]["mean"]
    assert obs["mean"] == pytest.approx(0.8 * E + 0.2 * I, rel=1e-12)
    assert "populations" in result.to_json()["observables"]


def test_map_runs_in_physical_time():
    result = simulate(ft.load_model("map"), N=100, t_max=20.0, t_burn=5.0, tau_max=2.0)
    assert result.dt == 0.5 and result.dtau == 0.5 and result.method == "map"
    np.testing.assert_allclose(result.observables["autocorrelation"]["tau"],
                               [0.0, 0.5, 1.0, 1.5, 2.0])
    with pytest.raises(ParameterError, match="step"):
        simulate(ft.load_model("map"), N=100, dt=0.1)


def test_noisy_linear_map_matches_its_exact_statistics():
    """x(n+1) = (1−δ) x(n) + √(δD) ξ: variance δD/(1−(1−δ)²), Δ(k step) = v (1−δ)^k."""
    p = ft.parameters(delta=(0.25, "positive"), D=(1.0, "nonnegative"))
    x, n = ft.Field("x"), ft.n
    action = ft.langevin(drift={x: (1 - p.delta) * x(n)}, noise={x: p.delta * p.D},
                         parameters=p, time=ft.discrete(p.delta))
    result = simulate(action, N=1000, t_max=250.0, t_burn=10.0, tau_max=2.0, dtau=0.5,
                      seed=8)
    obs, se = result.observables, result.stderr
    v = 0.25 / (1 - 0.75**2)
    tau = obs["autocorrelation"]["tau"]
    exact = v * 0.75 ** (tau / 0.25)
    assert np.all(np.abs(obs["autocorrelation"]["values"] - exact)
                  <= 3 * se["autocorrelation"]["values"])
    assert result.model == "action"


def test_random_mode_stays_factorised():
    model = ft.load_model("random_mode")
    network = realise(model.action, {"alpha": 0.1}, 400, np.random.default_rng(0))
    assert network.couplings[0].kind is LowRankCoupling
    assert network.couplings[0].nbytes < 400 * 400 * 8 / 4
    result = simulate(model, {"alpha": 0.1}, N=400, t_max=10.0, t_burn=5.0, tau_max=1.0)
    assert result.observables["variance"] > 0


def test_batched_couplings_match_per_trial_products():
    rng = np.random.default_rng(0)
    v = rng.standard_normal((3, 40))
    dense = [DenseCoupling(rng.standard_normal((40, 40))) for _ in range(3)]
    low = [LowRankCoupling(rng.standard_normal((40, 5)), rng.standard_normal(5),
                           rng.standard_normal((40, 5))) for _ in range(3)]
    for matrices in (dense, low):
        expected = np.stack([m.dense() @ row for m, row in zip(matrices, v, strict=True)])
        np.testing.assert_allclose(BatchedCoupling(matrices).matvec(v), expected, rtol=1e-12)


def test_two_fields_with_synaptic_filtering():
    """τ_s ds/dt = −s + J tanh(x), dx/dt = −x + s + ξ: state per field, observables of x."""
    p = ft.parameters(g=(1.5, "positive"), tau_s=(0.5, "positive"), D=(0.1, "nonnegative"))
    x, s, J, t = ft.Field("x"), ft.Field("s"), ft.Coupling("J"), ft.t
    action = ft.langevin(
        drift={x: -x(t) + s(t), s: (-s(t) + J @ ft.tanh(x(t))) / p.tau_s},
        noise={x: p.D}, couplings={J: ft.Gaussian(0, p.g**2)}, parameters=p)
    compiled = compile_action(action, action.parameters.resolve())
    np.testing.assert_allclose(compiled.leak, [[1.0], [2.0]])
    result = simulate(action, N=100, t_max=20.0, t_burn=5.0, tau_max=2.0, dt=0.05)
    assert result.observables["mean_gain"] < 1.0
    network = realise(action, None, 30, np.random.default_rng(1))
    state = np.random.default_rng(2).standard_normal((2, 30))
    J_ = network.couplings[0].matrices[0].matrix
    np.testing.assert_allclose(network.drift(state),
                               [-state[0] + state[1], (-state[1] + J_ @ np.tanh(state[0])) / 0.5],
                               rtol=1e-13, atol=1e-13)


def test_phi_is_read_off_the_first_coupling_sum():
    for name, expected in (("scs", "tanh"), ("random_mode", "erf"), ("linear", "")):
        model = ft.load_model(name)
        compiled = compile_action(model.action, model.parameters.resolve())
        assert str(compiled.phi_expression).startswith(expected)
        assert expected in str(compiled)


def test_errors_name_what_is_wrong():
    scs = ft.load_model("scs")
    for N in (0, -5, 2.5):
        with pytest.raises(ParameterError, match="N ="):
            simulate(scs, N=N)
    with pytest.raises(UnknownParameterError, match="gain"):
        simulate(scs, {"gain": 1.0}, N=10)
    with pytest.raises(ParameterError, match="outside its domain"):
        simulate(scs, {"g": -1.0}, N=10)
    with pytest.raises(UnstableStepError, match=r"dt = 2 .*at most"):
        simulate(scs, N=10, dt=2.0)
    with pytest.raises(ParameterError, match="multiple of dt"):
        simulate(scs, N=10, dt=0.1, dtau=0.25)
    with pytest.raises(ParameterError, match="tau_max"):
        simulate(scs, N=10, tau_max=0.1, dtau=0.25)
    with pytest.raises(ParameterError, match="rk4"):
        simulate(scs, {"D": 1.0}, N=10, method="rk4")
    with pytest.raises(ParameterError, match="trials"):
        simulate(scs, N=10, trials=0)
    with pytest.raises(ParameterError, match="dtype"):
        simulate(scs, N=10, dtype="float16")
    with pytest.raises(ParameterError, match="t_max"):
        simulate(scs, N=10, t_max=0.0)


def test_divergence_reports_step_and_time():
    with pytest.raises(DivergenceError) as info:
        simulate(ft.load_model("linear"), {"g": 5.0, "D": 1.0}, N=100, t_burn=50.0,
                 t_max=100.0, dtype="float32", dt=0.01)
    error = info.value
    # the linear network grows at rate ≈ g − 1 = 4 from O(1): |x| passes the divergence
    # bound 1e8 near t = ln(1e8)/4 ≈ 4.6 (long before float32 overflows near e^88)
    assert 2 < error.time < 15 and error.time == pytest.approx(error.step * 0.01)
    assert f"step {error.step}" in str(error)


def test_delays_and_point_processes_are_refused():
    p = ft.parameters(g=(1.0, "positive"))
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    delayed = ft.langevin(drift={x: -x(t) + J @ ft.tanh(x(t - 1))},
                          couplings={J: ft.Gaussian(0, p.g**2)}, parameters=p)
    with pytest.raises(SimulationError, match="delays are not supported"):
        simulate(delayed, N=10)
    xt = x.response(t)
    spiking = ft.Action(xt * (-sp.Derivative(x(t), t) - x(t)) + xt**3 / 6, (x,),
                        point_process=(x,))
    with pytest.raises(SimulationError, match="point-process"):
        simulate(spiking, N=10)
    linear = ft.load_model("linear").action
    with pytest.raises(ParameterError, match="no value for D"):
        compile_action(linear, {"g": 0.5})


def test_memory_does_not_grow_with_duration():
    """Estimators stream: 100× the simulated time must not raise the peak memory.

    Keeping the recorded states would cost 8·N bytes per sample — 25.6 MB more for the long
    run below; the allowance, 4 % of that, sits well above the ≈ 0.1 MB by which sympy's
    caches (filled differently by earlier tests) move the peak between calls.
    """
    model = ft.load_model("scs")
    N, dtau = 400, 0.5

    def peak(t_max: float) -> int:
        tracemalloc.start()
        simulate(model, {"D": 0.1}, N=N, t_max=t_max, t_burn=1.0, tau_max=2.0, dt=0.1,
                 dtau=dtau, blocks=2)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    peak(20.0)  # warm sympy's and numpy's caches outside the comparison
    short, long = peak(40.0), peak(4000.0)
    stored = 8 * N * (4000.0 - 40.0) / dtau
    assert long - short < 0.04 * stored, (short, long, stored)


def test_result_serialises_to_plain_json():
    result = simulate(ft.load_model("scs"), {"g": 1.5}, N=50, t_max=10.0, t_burn=2.0,
                      tau_max=1.0)
    data = result.to_json()
    assert list(data) == ["model", "params", "N", "observables", "stderr"]
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["params"]["g"] == 1.5 and data["model"] == "scs" and data["N"] == 50
    assert data["stderr"]["autocorrelation"]["tau"] == data["observables"]["autocorrelation"][
        "tau"]
    assert result.t_max == 10.0 and result.t_burn == 2.0


def test_progress_bar_on_stderr(capsys):
    simulate(ft.load_model("scs"), N=20, t_max=4.0, t_burn=1.0, tau_max=0.5, progress=True)
    assert "simulate scs" in capsys.readouterr().err


def test_text_progress_bar_fallback():
    import io

    from fieldtheory.progress import TextBar

    stream = io.StringIO()
    with TextBar(10, "run", stream=stream, interval=0.0) as bar:
        for _ in range(10):
            bar.update()
    text = stream.getvalue()
    assert "run: 100%" in text and "10/10" in text and text.endswith("\n")


def test_correlated_couplings_are_drawn_together():
    """J and K from one JointGaussian enter the network with their declared correlation."""
    p = ft.parameters(c=(0.8, (-1, 1)))
    (c,) = p.symbols
    x, J, K, t = ft.Field("x"), ft.Coupling("J"), ft.Coupling("K"), ft.t
    joint = ft.JointGaussian((J, K), ((1, c), (c, 1)))
    action = ft.langevin({x: -x(t) + J @ ft.tanh(x(t)) + K @ ft.erf_sqrtpi(x(t))},
                         {x: 0.1}, {J: joint, K: joint}, p)
    N = 300
    network = realise(action, {"c": 0.8}, N, np.random.default_rng(5))
    j, k = (m.matrices[0].dense().ravel() for m in network.couplings)
    # corr over N² entries has standard error (1 − c²)/N
    assert np.corrcoef(j, k)[0, 1] == pytest.approx(0.8, abs=4 * (1 - 0.64) / N)
    result = simulate(action, {"c": 0.8}, N=N, t_max=10.0, t_burn=2.0, tau_max=1.0)
    assert math.isfinite(result.observables["variance"])
