"""Time-dependent inputs, initial distributions and transient observables of the simulator.

Oracles are exact: the expectation of every transient estimator *of the discretised
scheme* (exponential Euler–Maruyama) is a linear recursion — for the linear network
conditioned on each trial's sampled J, for the Ornstein–Uhlenbeck unit in closed form — so
no dt allowance enters the z-scores. Comparisons with the continuous-time answers add the
scheme's bias, bounded exactly (never fitted).

Tolerance: z ≤ Q, with Q the two-sided Student-t quantile (T − 1 degrees of freedom, the
standard errors are spreads across T trials) at family-wise false-alarm probability 10⁻³,
Bonferroni-split over the points compared.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import fieldtheory as ft
from fieldtheory.errors import ParameterError, SimulationError, UnknownParameterError
from fieldtheory.observables import Observables
from fieldtheory.simulate import compile_action, integrate, realise, realise_trials, simulate
from fieldtheory.simulate.inputs import InputSchedule


def threshold(trials: int, points: int) -> float:
    """Two-sided t quantile at family-wise probability 1e-3 over ``points`` comparisons."""
    return float(stats.t.ppf(1 - 1e-3 / (2 * points), trials - 1))


def linear_model() -> ft.Model:
    """∂t x = −x + Σ_j J_ij x_j + I + ξ, J_ij ~ N(J0/N, g²/N)."""
    p = ft.parameters(
        g=(0.5, "positive"), J0=(0.5, "real"), D=(0.5, "nonnegative"), I=(0.0, "real")
    )
    g, J0, D, I = p.symbols
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    action = ft.langevin(
        drift={x: -x(t) + J @ x(t) + I},
        noise={x: D},
        couplings={J: ft.Gaussian(mean=J0, variance=g**2)},
        parameters=p,
    )
    return ft.Model("linear_J0", action, "linear network with mean coupling")


def ou_model() -> ft.Model:
    """Independent units ∂t x = −x + I + ξ (no couplings)."""
    p = ft.parameters(D=(1.0, "nonnegative"), I=(0.0, "real"))
    x, t = ft.Field("x"), ft.t
    action = ft.langevin(drift={x: -x(t) + p.I}, noise={x: p.D}, parameters=p)
    return ft.Model("ou", action, "Ornstein–Uhlenbeck units")


def step_input(t):
    return 1.0 * (t >= 2.0)


# ---------------------------------------------------------------- linear network, step input

LINEAR = dict(N=60, t_max=6.0, t_burn=0.0, dt=0.02, dtau=0.5, trials=24, seed=3, tau_max=1.0)
LINEAR_PARAMS = {"g": 0.5, "J0": 0.5, "D": 0.5}
INITIAL = (0.8, 0.6)


def exact_linear(model: ft.Model, references: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Trial-averaged expectations of the transient estimators of the exponential-Euler
    scheme x ← A x + w I(t_n) + √(D dt) ξ, A = e^{−dt} + w J, w = 1 − e^{−dt}, given each
    trial's J (rebuilt from ``default_rng([seed, k])`` exactly as the simulator draws it)."""
    N, dt, trials = LINEAR["N"], LINEAR["dt"], LINEAR["trials"]
    steps = round(LINEAR["dtau"] / dt)
    samples = round(LINEAR["t_max"] / LINEAR["dtau"])
    values = model.parameters.resolve(LINEAR_PARAMS)
    compiled = compile_action(model.action, values)
    rngs = [np.random.default_rng([LINEAR["seed"], k]) for k in range(trials)]
    network = realise_trials(compiled, N, rngs)
    w, one = 1 - math.exp(-dt), np.ones(N)
    out = {"mean": 0.0, "variance": 0.0, "correlation": [0.0 for _ in references]}
    for k in range(trials):
        J = network.couplings[0].matrices[k].matrix
        A = math.exp(-dt) * np.eye(N) + w * J
        mu, cov = INITIAL[0] * one, INITIAL[1] ** 2 * np.eye(N)
        means, variances, saved, cross = [], [], {}, [[] for _ in references]
        for n in range(samples + 1):
            if n:
                for j in range(steps):
                    t = ((n - 1) * steps + j) * dt
                    mu = A @ mu + w * step_input(t) * one
                    cov = A @ cov @ A.T + values["D"] * -math.expm1(-2 * dt) / 2 * np.eye(N)
                    for a in saved:
                        saved[a] = (A @ saved[a][0], saved[a][1])
            if n in references:
                saved[references.index(n)] = (cov.copy(), mu.copy())
            m = one @ mu / N
            means.append(m)
            variances.append((np.trace(cov) + mu @ mu) / N - (one @ cov @ one / N**2 + m * m))
            for a, (c, mu_a) in saved.items():
                m_a = one @ mu_a / N
                cross[a].append((np.trace(c) + mu @ mu_a) / N - (one @ c @ one / N**2 + m * m_a))
        out["mean"] = out["mean"] + np.array(means) / trials
        out["variance"] = out["variance"] + np.array(variances) / trials
        out["correlation"] = [
            o + np.array(c) / trials for o, c in zip(out["correlation"], cross, strict=True)
        ]
    return out


@pytest.fixture(scope="module")
def linear_run():
    model = linear_model()
    result = simulate(
        model,
        {**LINEAR_PARAMS, "I": step_input},
        observe=("transient",),
        initial=INITIAL,
        transient_times=(0.0, 2.0, 3.0),
        **LINEAR,
    )
    return model, result


def test_linear_step_input_matches_the_exact_finite_N_scheme(linear_run):
    model, result = linear_run
    transient, error = result.observables["transient"], result.stderr["transient"]
    references = (0, 4, 6)
    exact = exact_linear(model, references)
    np.testing.assert_allclose(transient["t"], np.arange(13) * 0.5)
    np.testing.assert_allclose(transient["correlation"]["times"], [0.0, 2.0, 3.0])
    pairs = [(transient[k], error[k], exact[k]) for k in ("mean", "variance")]
    pairs += list(
        zip(
            transient["correlation"]["values"],
            error["correlation"]["values"],
            exact["correlation"],
            strict=True,
        )
    )
    points = sum(len(p[0]) for p in pairs)
    q = threshold(LINEAR["trials"], points)
    for simulated, stderr, expected in pairs:
        assert len(simulated) == len(expected)
        # at t = t_a the correlation is the variance; its error is never zero there
        z = np.abs(simulated - expected) / stderr
        assert np.all(z <= q), (z.max(), q)
    # the identity φ: mean_phi is the mean, bit for bit
    np.testing.assert_array_equal(transient["mean_phi"], transient["mean"])
    # C(t_a, t_a) is K(t_a, t_a)
    for k, values in zip(references, transient["correlation"]["values"], strict=True):
        assert values[0] == pytest.approx(transient["variance"][k], rel=1e-12)


def test_linear_mean_obeys_the_mean_field_equation(linear_run):
    """(1 + ∂t) M = J0 M + I(t), M(0) = μ0, solved in closed form for the step at t_s = 2:
    the simulation agrees within Q standard errors plus two exactly computed terms, the
    finite-N shift (exact scheme at N vs the scheme's N → ∞ recursion) and the scheme's dt
    bias (that recursion vs the closed form)."""
    model, result = linear_run
    m, error = result.observables["transient"]["mean"], result.stderr["transient"]["mean"]
    t = result.observables["transient"]["t"]
    a, mu0, dt = 1 - LINEAR_PARAMS["J0"], INITIAL[0], LINEAR["dt"]
    closed = mu0 * np.exp(-a * t) + np.where(t >= 2, (1 - np.exp(-a * (t - 2))) / a, 0.0)
    # N → ∞ scheme: M ← e^{−dt} M + w (J0 M + I(t_n))
    w, steps = 1 - math.exp(-dt), round(LINEAR["dtau"] / dt)
    M, recursion = mu0, [mu0]
    for n in range(1, len(t)):
        for j in range(steps):
            M = math.exp(-dt) * M + w * (
                LINEAR_PARAMS["J0"] * M + step_input(((n - 1) * steps + j) * dt)
            )
        recursion.append(M)
    recursion = np.array(recursion)
    finite_n = np.abs(exact_linear(model, (0,))["mean"] - recursion)
    bias = np.abs(recursion - closed)
    assert bias.max() < 0.05  # the scheme's O(dt) error at dt = 0.02, for the record
    q = threshold(LINEAR["trials"], len(t))
    assert np.all(np.abs(m - closed) <= q * error + finite_n + bias)


# ---------------------------------------------------------------- OU units, sinusoidal input

OU = dict(N=4000, t_max=4.0, t_burn=0.0, dt=0.01, dtau=0.25, trials=6, seed=11, tau_max=1.0)
AMPLITUDE, OMEGA, D_OU, OU_INITIAL = 0.7, 2.0, 0.8, (1.5, 0.4)


def sinusoid(t):
    return AMPLITUDE * np.sin(OMEGA * t)


@pytest.fixture(scope="module")
def ou_run():
    return simulate(
        ou_model(),
        {"I": sinusoid, "D": D_OU},
        observe=("transient",),
        initial=OU_INITIAL,
        transient_times=(1.0,),
        **OU,
    )


def ou_scheme(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of x ← e^{−dt} x + (1 − e^{−dt}) I(t_n) + √(D dt) ξ on the grid."""
    dt = OU["dt"]
    steps = round(OU["dtau"] / dt)
    mu, var = OU_INITIAL[0], OU_INITIAL[1] ** 2
    means, variances = [mu], [var]
    for n in range(1, len(t)):
        for j in range(steps):
            mu = math.exp(-dt) * mu + (1 - math.exp(-dt)) * sinusoid(((n - 1) * steps + j) * dt)
            var = math.exp(-2 * dt) * var + D_OU * dt
        means.append(mu)
        variances.append(var)
    return np.array(means), np.array(variances)


def test_ou_sinusoid_matches_the_scheme_and_the_exact_solution(ou_run):
    tr, err = ou_run.observables["transient"], ou_run.stderr["transient"]
    t, N, dt = tr["t"], OU["N"], OU["dt"]
    mean_scheme, var_scheme = ou_scheme(t)
    # continuous time: the convolution of the input with e^{−t}, and the exact variance
    mu0, sigma0 = OU_INITIAL
    mean_exact = mu0 * np.exp(-t) + AMPLITUDE * (
        np.sin(OMEGA * t) - OMEGA * np.cos(OMEGA * t) + OMEGA * np.exp(-t)
    ) / (1 + OMEGA**2)
    var_exact = sigma0**2 * np.exp(-2 * t) + D_OU / 2 * (1 - np.exp(-2 * t))
    # exact bounds of the scheme's bias (local errors L dt²/2 and D dt², contracted by the
    # leak): |e| ≤ L dt²/2 / (1 − e^{−dt}), L = sup|I'|; |v| ≤ D dt² / (1 − e^{−2dt})
    mean_bias = AMPLITUDE * OMEGA * dt**2 / 2 / (1 - math.exp(-dt))
    var_bias = D_OU * dt**2 / (1 - math.exp(-2 * dt))
    assert np.all(np.abs(mean_scheme - mean_exact) <= mean_bias)
    assert np.all(np.abs(var_scheme - var_exact) <= var_bias)
    # the estimator divides by N: its expectation is (1 − 1/N) times the variance
    k_a = 4  # t_a = 1
    cov_scheme = (1 - 1 / N) * var_scheme[k_a] * np.exp(-(t[k_a:] - t[k_a]))
    q = threshold(OU["trials"], 3 * len(t))
    for simulated, stderr, expected in (
        (tr["mean"], err["mean"], mean_scheme),
        (tr["variance"], err["variance"], (1 - 1 / N) * var_scheme),
        (tr["correlation"]["values"][0], err["correlation"]["values"][0], cov_scheme),
    ):
        assert np.all(np.abs(simulated - expected) <= q * stderr)
    assert np.all(np.abs(tr["mean"] - mean_exact) <= q * err["mean"] + mean_bias)
    assert np.all(
        np.abs(tr["variance"] - (1 - 1 / N) * var_exact) <= q * err["variance"] + var_bias
    )


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_noise_free_unit_follows_its_scheme_to_rounding(method):
    """σ0 = 0, D = 0: every unit follows one deterministic path, which must be the scalar
    scheme with the documented input times — exponential Euler u(t_n), RK4 u(t_n),
    u(t_n + dt/2), u(t_n + dt) — to rounding (a one-step shift of the input would be
    ≈ sup|I'|·dt ≈ 10⁻², far above)."""
    dt, dtau, t_max = 0.01, 0.1, 2.0
    result = simulate(
        ou_model(),
        {"I": sinusoid, "D": 0.0},
        N=3,
        t_max=t_max,
        t_burn=0.0,
        dt=dt,
        dtau=dtau,
        tau_max=dtau,
        trials=2,
        method=method,
        initial=(1.5, 0.0),
        observe=("transient",),
    )

    def f(x, t):
        return -x + sinusoid(t)

    x, path = 1.5, [1.5]
    for n in range(round(t_max / dt)):
        t = n * dt
        if method == "euler":
            x = math.exp(-dt) * x + (1 - math.exp(-dt)) * sinusoid(t)
        else:
            k1 = f(x, t)
            k2 = f(x + dt / 2 * k1, t + dt / 2)
            k3 = f(x + dt / 2 * k2, t + dt / 2)
            k4 = f(x + dt * k3, t + dt)
            x = x + dt / 6 * (k1 + 2 * (k2 + k3) + k4)
        if (n + 1) % round(dtau / dt) == 0:
            path.append(x)
    np.testing.assert_allclose(result.observables["transient"]["mean"], path, rtol=1e-12)
    # all units equal: the variance Σx²/n − m² is zero up to a few ulps of m² (≤ 4)
    assert np.all(np.abs(result.observables["transient"]["variance"]) < 1e-14)


def test_map_takes_the_input_at_the_start_of_each_step():
    """x(n+1) = (1 − δ) x(n) + δ I(nδ): physical time t = nδ, as for the map's lags."""
    p = ft.parameters(delta=(0.5, (1e-9, 1)), I=(0.0, "real"))
    x, n = ft.Field("x"), ft.n
    action = ft.langevin(
        drift={x: (1 - p.delta) * x(n) + p.delta * p.I},
        noise={x: 0},
        parameters=p,
        time=ft.discrete(step=p.delta),
    )
    result = simulate(
        action,
        {"I": sinusoid},
        N=2,
        t_max=5.0,
        t_burn=0.0,
        dtau=0.5,
        tau_max=0.5,
        trials=2,
        initial=(1.0, 0.0),
        observe=("transient",),
    )
    x, path = 1.0, [1.0]
    for k in range(10):
        x = 0.5 * x + 0.5 * sinusoid(0.5 * k)
        path.append(x)
    np.testing.assert_allclose(result.observables["transient"]["mean"], path, rtol=1e-12)


# ---------------------------------------------------------------- integrators' order


def order(method: str, dts: list[float]) -> float:
    """log-log slope of the error at t = 2 of a driven SCS network (no noise) against a
    reference run at dt/16 of the same method."""
    model = ft.load_model("scs")
    values = model.parameters.resolve({"g": 1.5})
    compiled = compile_action(model.action, {**values, "I": lambda t: 0.5 * np.sin(3 * t)})
    network = realise(compiled, None, 40, np.random.default_rng(1))
    x0 = np.random.default_rng(2).standard_normal((1, 40))
    reference = integrate(network, x0, 2.0, dts[-1] / 16, method)
    errors = [np.abs(integrate(network, x0, 2.0, dt, method) - reference).max() for dt in dts]
    return float(np.polyfit(np.log(dts), np.log(errors), 1)[0])


def test_rk4_keeps_fourth_order_with_a_time_dependent_input():
    # evaluating the input only at the step start would make RK4 first order
    assert order("rk4", [0.2, 0.1, 0.05]) == pytest.approx(4, abs=0.4)


def test_exponential_euler_is_first_order_with_a_time_dependent_input():
    assert order("euler", [0.04, 0.02, 0.01]) == pytest.approx(1, abs=0.15)


def test_schedule_evaluates_stage_times():
    schedule = InputSchedule({"u": lambda t: t, "v": lambda t: 2 * t}, 0.1, np.float64)
    assert schedule.next_step() == ((0.0, 0.0), (0.05, 0.1), (0.1, 0.2))
    start, middle, end = schedule.next_step()
    assert start == (0.1, 0.2) and middle[0] == pytest.approx(0.15) and end[0] == 0.2
    # a callable that cannot take arrays is called point by point
    scalar = InputSchedule({"u": lambda t: 1.0 if t >= 0.1 else 0.0}, 0.1, np.float32)
    assert [scalar.next_start() for _ in range(3)] == [(0.0,), (1.0,), (1.0,)]
    assert type(scalar.values(0)[0]) is np.float32


# ---------------------------------------------------------------- contract


def flatten(data, prefix: str = "") -> dict[str, np.ndarray]:
    """Nested JSON observables as {dotted key: array} (NaN-aware comparisons)."""
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list) and value and isinstance(value[0], list):
            out.update({f"{prefix}{key}.{j}": np.array(v) for j, v in enumerate(value)})
        else:
            out[f"{prefix}{key}"] = np.array(value, dtype=float)
    return out


def assert_same(a: dict, b: dict) -> None:
    """Equal observables and errors, bit for bit (NaN where lags are missing included)."""
    for key in ("observables", "stderr"):
        left, right = flatten(a[key]), flatten(b[key])
        assert left.keys() == right.keys()
        for entry, values in left.items():
            np.testing.assert_array_equal(values, right[entry], err_msg=entry)


def test_constant_callable_is_bit_identical_to_the_number():
    """An additive parameter lowers to c + I as a number and c + u as a callable: one
    addition either way, rounded identically (a Python float and a float64 scalar of the
    same value). Where sympy folds a number into a product the callable path may differ by
    rounding only."""
    for name, params, key in (
        ("scs", {"g": 1.5, "I": 0.3, "D": 0.2}, "I"),
        ("ei", {"I_E": 0.3, "I_I": -0.2, "D": 0.1}, "I_I"),
    ):
        model = ft.load_model(name)
        options = dict(N=80, t_max=4.0, t_burn=1.0, trials=2, observe=("transient",))
        a = simulate(model, params, **options).to_json()
        b = simulate(model, {**params, key: lambda t, c=params[key]: c}, **options).to_json()
        assert b.pop("inputs") == [key]
        assert a["params"] == {k: v for k, v in b["params"].items()} | {key: params[key]}
        assert_same(a, b)


def test_seeds_reproduce_runs_with_inputs():
    model = ft.load_model("scs")
    options = dict(N=50, t_max=3.0, t_burn=0.0, trials=2, observe="transient", seed=5)
    params = {"g": 1.2, "D": 0.1, "I": lambda t: 0.5 * (t >= 1)}
    a, b = simulate(model, params, **options), simulate(model, params, **options)
    assert_same(a.to_json(), b.to_json())
    c = simulate(model, params, **{**options, "seed": 6})
    assert c.observables["transient"]["mean"][0] != a.observables["transient"]["mean"][0]


def test_default_initial_distribution_is_unchanged():
    model = ft.load_model("scs")
    options = dict(N=40, t_max=2.0, t_burn=1.0, trials=2)
    assert_same(
        simulate(model, {"D": 0.1}, **options).to_json(),
        simulate(model, {"D": 0.1}, initial=(0, 1), **options).to_json(),
    )


def test_vectorised_and_scalar_callables_agree():
    model = ft.load_model("scs")
    options = dict(N=40, t_max=3.0, t_burn=0.0, trials=2, observe=("transient",))
    a = simulate(model, {"I": lambda t: np.sin(t)}, **options)
    b = simulate(model, {"I": lambda t: math.sin(t)}, **options)
    np.testing.assert_allclose(
        a.observables["transient"]["mean"], b.observables["transient"]["mean"], rtol=1e-12
    )


def test_populations_have_their_own_transients():
    result = simulate(
        ft.load_model("ei"),
        {"I_E": lambda t: 0.5 * np.sin(t)},
        N=100,
        t_max=2.0,
        t_burn=0.0,
        trials=2,
        observe=("transient",),
    )
    top = result.observables["transient"]
    e = result.observables.populations["E"]["transient"]
    i = result.observables.populations["I"]["transient"]
    assert "transient" in result.stderr.populations["I"]
    np.testing.assert_allclose(top["mean"], 0.8 * e["mean"] + 0.2 * i["mean"], rtol=1e-12)
    # the whole JSON round-trips through the schema
    again = Observables.from_dict(result.to_json()["observables"])
    np.testing.assert_array_equal(again["transient"]["mean"], top["mean"])
    np.testing.assert_array_equal(
        again.populations["E"]["transient"]["correlation"]["values"][1],
        e["correlation"]["values"][1],
    )


def test_single_trial_errors_come_from_groups_of_units():
    result = simulate(
        ou_model(),
        {"I": sinusoid},
        N=400,
        t_max=4.0,
        t_burn=0.0,
        trials=1,
        blocks=8,
        observe=("transient",),
        dtau=0.25,
    )
    error = result.stderr["transient"]["mean"][0]
    # independent unit-variance starts: 8 groups of 50 units, each group mean has standard
    # deviation 1/√50, so the error is 1/√400 up to the chi spread of 7 degrees of freedom
    low, high = (math.sqrt(stats.chi2.ppf(p, 7) / 7) for p in (5e-4, 1 - 5e-4))
    assert low / math.sqrt(400) <= error <= high / math.sqrt(400)


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"g": lambda t: 1.0}, "ensemble"),
        ({"D": lambda t: 1.0}, "noise"),
    ],
)
def test_time_dependence_outside_the_drift_is_refused_by_name(params, where):
    with pytest.raises(SimulationError, match=f"{next(iter(params))} enters the {where}"):
        simulate(ft.load_model("scs"), params, N=10, t_max=1.0, trials=2)


def test_time_dependence_inside_a_coupling_sum_is_refused():
    p = ft.parameters(G=(1.0, "positive"))
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    action = ft.langevin(
        drift={x: -x(t) + J @ ft.tanh(p.G * x(t))},
        noise={x: 0},
        couplings={J: ft.Gaussian(mean=0, variance=1)},
        parameters=p,
    )
    with pytest.raises(SimulationError, match="G enters the coupling sum"):
        simulate(action, {"G": lambda t: 1.0}, N=10, t_max=1.0, trials=2)


def test_bad_inputs_and_options_are_named():
    model = ft.load_model("scs")
    options = dict(N=10, t_max=1.0, t_burn=0.0, trials=2)
    with pytest.raises(UnknownParameterError, match="nope"):
        simulate(model, {"nope": lambda t: 1.0}, **options)
    with pytest.raises(ParameterError, match=r"I is not finite at t = 0\.5"):
        simulate(model, {"I": lambda t: 1 / (t - 0.5) if t != 0.5 else math.inf}, **options)
    with pytest.raises(SimulationError, match="time-dependent parameters"):
        simulate(model, {"I": lambda t: 1.0}, observe=("lyapunov_max",), **options)
    with pytest.raises(ParameterError, match=r"reference time 0\.3"):
        simulate(model, observe=("transient",), transient_times=(0.3,), **options)
    with pytest.raises(ParameterError, match="sigma0"):
        simulate(model, initial=(0.0, -1.0), **options)
    with pytest.raises(ParameterError, match="unknown observable"):
        simulate(model, observe=("transients",), **options)
