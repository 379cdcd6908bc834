r"""The simulator with quenched per-unit variables (gains Φ_i = G_i φ(x_i), issue 13).

* realisation: each trial's generator draws its couplings, then the gains (N values per
  quenched variable), then x(0) and the noise; the moments of the drawn gains against the
  distribution's; a model without quenched variables uses its generators as before, and
  gains G ≡ 1 (``GainArray``) reproduce the model without G bit for bit;
* the step bound on the realised gains (a product G·f, a non-product f(G x), a quenched
  leak), and the tangent map's derivative with gains;
* exact check: the noisy linear network ẋ = −x + J(G x) + √D ξ under exponential Euler is
  the linear recursion x ← A x + √(D dt) ξ, A = e^{−dt} + (1 − e^{−dt}) J diag(G), whose
  stationary covariance solves the discrete Lyapunov equation C = A C Aᵀ + D dt·1 for the
  realised J and G; ``dimension`` (pr_phi of Φ = G x) and ``dimension_z`` against it;
* the command line ``simulate random_mode_gain --observe dimension,dimension_z``.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import scipy.linalg

import fieldtheory as ft
from fieldtheory.errors import SimulationError, UnstableStepError
from fieldtheory.simulate import simulate
from fieldtheory.simulate.compile_action import compile_action
from fieldtheory.simulate.integrators import make_stepper, rate_bound
from fieldtheory.simulate.network import realise_trials, trial_generators
from fieldtheory.simulate.tangent import TangentMap, TangentStepper

x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
G = ft.Quenched("G")
N, SEED = 120, 5


def _model(output=None, *, gains=None, noise: bool = True, leak=None, name="gains"):
    """ẋ = −leak·x + J @ output + √D ξ; ``output`` defaults to G·x (linear, with gains);
    ``gains`` a distribution of G (default: log-normal with PR_G = ``pr``)."""
    p = ft.parameters(g=(0.5, "positive"), D=(1.0, "nonnegative"), pr=(0.5, (0, 1)))
    g, D, pr = p.symbols
    output = G * x(t) if output is None else output
    leak = x(t) if leak is None else leak
    quenched = {G: gains or ft.LogNormalGain(pr=pr)} if output.has(G) or leak.has(G) else {}
    action = ft.langevin({x: -leak + J @ output}, {x: D} if noise else None,
                         {J: ft.Gaussian(variance=g**2)}, p, quenched=quenched)
    return ft.Model(name, action, "network with single-neuron gains")


def _network(model, values, n: int = N, seed: int = SEED, trials: int = 1):
    values = model.parameters.resolve(values)
    return realise_trials(compile_action(model.action, values), n,
                          trial_generators(seed, trials), "float64")


# ---------------------------------------------------------------------------- realisation


def test_gains_have_the_moments_of_their_distribution():
    """40 trials × 500 units of log-normal gains (PR_G = 0.3): the sample ⟨G²⟩, ⟨G⁴⟩ and
    q₂²/q₄ against the distribution's moments within 4 standard errors."""
    model = _model()
    values = {"pr": 0.3}
    gains = _network(model, values, n=500, trials=40).quenched[0]
    assert gains.shape == (40, 500)
    distribution = dict(model.action.quenched)[G]
    draws = gains.ravel()
    for k in (1, 2, 4):
        exact = float(distribution.moment(k).xreplace({model.parameters.pr: 0.3}))
        power = draws**k
        assert abs(power.mean() - exact) < 4 * power.std(ddof=1) / math.sqrt(draws.size), k
    assert exact == pytest.approx(0.3 ** -1.5)  # q₄ = PR_G^{−3/2}
    # trials draw different gains; the same seed the same ones
    assert not np.array_equal(gains[0], gains[1])
    np.testing.assert_array_equal(_network(model, values, n=500, trials=2).quenched[0],
                                  gains[:2])


def test_gains_are_drawn_after_the_couplings_from_the_trials_generator():
    model = _model()
    values = model.parameters.resolve({"pr": 0.4})
    network = _network(model, values, trials=2)
    ensemble = dict(model.action.couplings)[J]
    distribution = dict(model.action.quenched)[G]
    for k in range(2):
        rng = np.random.default_rng([SEED, k])
        coupling = ensemble.sample(rng, (N,), values)
        np.testing.assert_array_equal(network.couplings[0].matrices[k].dense(),
                                      coupling.dense())
        np.testing.assert_array_equal(network.quenched[0][k],
                                      distribution.sample(rng, N, values))


def test_a_model_without_gains_uses_its_generators_as_before():
    """Realising a model without quenched variables draws the couplings and nothing else."""
    model = _model(x(t))
    assert not model.action.quenched
    values = model.parameters.resolve({})
    rngs = trial_generators(SEED, 1)
    network = realise_trials(compile_action(model.action, values), N, rngs, "float64")
    assert network.quenched == ()
    reference = np.random.default_rng([SEED, 0])
    dict(model.action.couplings)[J].sample(reference, (N,), values)
    assert rngs[0].standard_normal() == reference.standard_normal()


@pytest.mark.parametrize("nonlinear", [False, True])
def test_unit_gains_reproduce_the_model_without_gains_bit_for_bit(nonlinear):
    """G ≡ 1 given as an array: the same trajectory, hence the same observables (dimension,
    the z-scored one and the Lyapunov exponent included), as the model without G."""
    phi = ft.tanh(x(t)) if nonlinear else x(t)
    ones = _model(G * phi, gains=ft.GainArray((1.0,) * 80), name="same")
    plain = _model(phi, name="same")
    options = dict(N=80, t_max=40.0, t_burn=5.0, tau_max=2.0, seed=3, trials=2,
                   observe=("dimension", "dimension_z", "lyapunov_max",
                            "population_variance"))
    values = {"g": 1.5 if nonlinear else 0.5}
    first = simulate(ones, values, **options)
    second = simulate(plain, values, **options)
    assert first.dt == second.dt
    assert first.to_json() == second.to_json()
    assert set(first.observables["dimension_z"]) == {"pr_x", "pr_phi"}


def test_given_gains_need_as_many_units():
    model = _model(gains=ft.GainArray((1.0, 2.0, 0.5)))
    with pytest.raises(ft.errors.ParameterError, match="3 gains"):
        simulate(model, N=4, t_max=20.0, t_burn=0.0, tau_max=0.5)


def test_gains_in_the_noise_are_refused_by_name():
    p = ft.parameters(pr=(0.5, (0, 1)))
    action = ft.langevin({x: -x(t) + J @ ft.tanh(x(t))}, {x: G**2},
                         {J: ft.Gaussian(variance=1)}, p,
                         quenched={G: ft.LogNormalGain(pr=p.pr)})
    with pytest.raises(SimulationError, match="quenched variable G"):
        simulate(ft.Model("noisy_gain", action, ""), N=10, t_max=20.0, t_burn=0.0,
                 tau_max=0.5)


# ---------------------------------------------------------------------------- step bound


def test_the_step_bound_takes_the_realised_gains():
    """ρ(J)·max_i|G_i|·sup|φ'| for a product G φ and for φ(G x) (evaluated on the grid at
    every site); a quenched leak −(1 + G)x adds max_i G_i. Before realisation: unknown."""
    values = {"g": 0.5, "pr": 0.3}
    rho = dict(_model().action.couplings)[J].spectral_radius_bound(
        _model().parameters.resolve(values))
    for output, leak, expected in (
            (G * ft.tanh(x(t)), None, lambda gains: 1 + rho * gains.max()),
            (ft.tanh(G * x(t)), None, lambda gains: 1 + rho * gains.max()),
            (ft.tanh(x(t)), (1 + G) * x(t), lambda gains: 1 + gains.max() + rho)):
        model = _model(output, leak=leak)
        compiled = compile_action(model.action, model.parameters.resolve(values))
        assert compiled.realised and rate_bound(compiled) == math.inf
        network = _network(model, values, trials=3)
        gains = network.quenched[0]
        assert rate_bound(network) == pytest.approx(expected(gains), rel=1e-12)
    # a dt beyond the realised bound is refused, after the draw
    with pytest.raises(UnstableStepError, match="rate bound"):
        simulate(_model(), {"pr": 0.05, "g": 2.0}, N=N, dt=0.5, dtau=0.5, t_max=8.0,
                 t_burn=0.0, tau_max=0.5)


def test_the_tangent_map_sees_the_gains():
    """Dr(x)·v = J (G ⊙ φ'(x) ⊙ v) against the dense product, and the tangent of 30
    exponential-Euler steps against a central difference of twin trajectories."""
    model = _model(G * ft.tanh(x(t)))
    values = {"g": 1.5, "pr": 0.4}
    network = _network(model, values, n=60)
    gains, coupling = network.quenched[0][0], network.couplings[0].matrices[0].dense()
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal(network.shape)
    v = rng.standard_normal((*network.shape, 1))
    rest, jvp = np.empty(network.shape), np.empty_like(v)
    TangentMap(network).evaluate(x0, v, rest, jvp)
    derivative = gains * (1 - np.tanh(x0[0, 0]) ** 2)
    np.testing.assert_allclose(jvp[0, 0, :, 0], coupling @ (derivative * v[0, 0, :, 0]),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rest[0, 0], coupling @ (gains * np.tanh(x0[0, 0])),
                               rtol=1e-12, atol=1e-12)
    noise, eps, dt = np.random.default_rng(2), 1e-5, 0.05
    twins = []
    for sign in (1, -1):
        state = x0 + sign * eps * v[..., 0]
        stepper = make_stepper(network, dt, "euler", [copy.deepcopy(noise)])
        for _ in range(30):
            stepper.step(state)
        twins.append(state)
    tangent = TangentStepper(make_stepper(network, dt, "euler", [copy.deepcopy(noise)]),
                             "euler", TangentMap(network), v.copy())
    state = x0.copy()
    for _ in range(30):
        tangent.step(state)
    difference = (twins[0] - twins[1]) / (2 * eps)
    np.testing.assert_allclose(tangent.vectors[..., 0], difference,
                               atol=1e-7 * np.abs(difference).max())


# ---------------------------------------------------------------------------- exact check


def _participation(c: np.ndarray) -> float:
    return float(np.trace(c) ** 2 / (c.shape[0] * np.sum(c * c)))


@pytest.fixture(scope="module")
def linear_run():
    model = _model()
    values = {"g": 0.5, "D": 1.0, "pr": 0.4}
    dt = 0.05
    result = simulate(model, values, N=N, t_max=1600.0, t_burn=20.0, dt=dt, dtau=0.5,
                      tau_max=2.0, blocks=16, seed=SEED, observe=("dimension", "dimension_z"))
    network = _network(model, values)
    gains, coupling = network.quenched[0][0], network.couplings[0].matrices[0].dense()
    a = math.exp(-dt) * np.eye(N) + (1 - math.exp(-dt)) * coupling * gains
    c = scipy.linalg.solve_discrete_lyapunov(a, values["D"] * -math.expm1(-2 * dt) / 2
                                             * np.eye(N))  # the exact OU noise per step
    output = c * np.outer(gains, gains)  # Φ = G x
    std = np.sqrt(np.diag(c))
    exact = {"pr_x": _participation(c), "pr_phi": _participation(output),
             "z": _participation(c / np.outer(std, std))}
    return result, exact, gains


def test_dimension_of_the_output_against_the_exact_covariance(linear_run):
    result, exact, _ = linear_run
    o, e = result.observables["dimension"], result.stderr["dimension"]
    for key in ("pr_x", "pr_phi"):
        assert abs(o[key] - exact[key]) < 4 * e[key], (key, o[key], exact[key], e[key])
    # the gains matter: Φ = G x is far less spread than x (PR_G = 0.4)
    assert exact["pr_phi"] < exact["pr_x"] - 10 * e["pr_phi"]


def test_z_scored_dimension_against_the_exact_covariance(linear_run):
    result, exact, _ = linear_run
    o, e = result.observables["dimension_z"], result.stderr["dimension_z"]
    for key in ("pr_x", "pr_phi"):  # z-scoring cancels the gains: both are x's
        assert abs(o[key] - exact["z"]) < 4 * e[key], (key, o[key], exact["z"], e[key])
        assert 0 < e[key] < 0.05 * o[key]
    assert o["pr_phi"] == pytest.approx(o["pr_x"], rel=1e-9)


def test_the_units_own_observables_stay_without_the_gain(linear_run):
    """φ = x here (the gain only scales the output): the φ observables equal x's."""
    result, _, _ = linear_run
    o = result.observables
    np.testing.assert_array_equal(o["autocorrelation_phi"]["values"],
                                  o["autocorrelation"]["values"])
    assert o["mean_phi"] == o["mean"]


# ---------------------------------------------------------------------------- command line


def test_cli_simulates_the_shipped_gain_model(run):
    code, out, _ = run("simulate", "random_mode_gain", "--observe", "dimension,dimension_z",
                       "-N", "300", "--t-max", "40", "--t-burn", "10", "--tau-max", "2",
                       "-p", "gain_pr=0.4", "--json")
    assert code == 0
    data = json.loads(out)
    for key in ("dimension", "dimension_z"):
        assert set(data["observables"][key]) == {"pr_x", "pr_phi"}
        assert set(data["stderr"][key]) == {"pr_x", "pr_phi"}
        for name in ("pr_x", "pr_phi"):
            assert 0 < data["observables"][key][name] <= 1
            assert data["stderr"][key][name] > 0
    assert "psi" in data["observables"]
