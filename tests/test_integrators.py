"""Integrator orders from fitted log-log slopes, and the stability bound.

* RK4: global error ∝ dt⁴ on a fixed noise-free SCS network (fixed J and initial condition)
  against a reference at a much smaller step.
* Exponential Euler, deterministic: global error ∝ dt.
* Exponential Euler–Maruyama: the leak and the noise over a step are the exact
  Ornstein–Uhlenbeck transition, so an OU unit has the exact stationary variance D/(2a)
  and increment variance at any dt.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import fieldtheory as ft
from fieldtheory.errors import ParameterError, UnstableStepError
from fieldtheory.simulate import check_step, integrate, rate_bound, realise, simulate
from fieldtheory.simulate.integrators import _phi1


def _fixed_network(N: int = 50, g: float = 2.0):
    model = ft.load_model("scs")
    network = realise(model.action, {"g": g, "I": 0.1}, N, np.random.default_rng(7))
    x0 = np.random.default_rng(8).standard_normal((1, N))
    return network, x0


def _slope(steps, errors) -> float:
    return float(np.polyfit(np.log(steps), np.log(errors), 1)[0])


def test_rk4_is_fourth_order():
    network, x0 = _fixed_network()
    reference = integrate(network, x0, 5.0, 0.2 / 64, "rk4")
    steps = [0.2, 0.1, 0.05, 0.025]
    errors = [np.max(np.abs(integrate(network, x0, 5.0, dt, "rk4") - reference))
              for dt in steps]
    # the reference's own error is (1/8)^4 ≈ 2e-4 of the smallest one tested
    assert _slope(steps, errors) == pytest.approx(4.0, abs=0.25), errors


def test_exponential_euler_is_first_order():
    network, x0 = _fixed_network(g=1.5)
    reference = integrate(network, x0, 5.0, 0.001, "rk4")
    steps = [0.04, 0.02, 0.01, 0.005]
    errors = [np.max(np.abs(integrate(network, x0, 5.0, dt, "euler") - reference))
              for dt in steps]
    assert _slope(steps, errors) == pytest.approx(1.0, abs=0.1), errors


def ou_model(a: float = 1.0, D: float = 2.0) -> ft.Model:
    p = ft.parameters(a=(a, "positive"), D=(D, "nonnegative"))
    x = ft.Field("x")
    action = ft.langevin(drift={x: -p.a * x(ft.t)}, noise={x: p.D}, parameters=p)
    return ft.Model("ou", action, "independent Ornstein–Uhlenbeck units")


def test_exponential_euler_is_exact_for_ornstein_uhlenbeck():
    """The noise enters with the exact OU covariance over a step, so the stationary
    variance is D/2a at any dt — even at a coarse dt = 0.2 — and so are the increments'
    variances over one sampling interval, D(1 − e^{−2ah})/(2a)·2(1 − e^{−ah})/(1 − e^{−2ah})
    = D(1 − e^{−ah})/a. (The old scheme, √(D dt)ξ, was off by a·dt: 20 % at dt = 0.2.)"""
    for k, dt in enumerate((0.2, 0.025)):
        result = simulate(ou_model(), N=2000, t_max=200.0, t_burn=10.0, dt=dt, tau_max=0.2,
                          dtau=0.2, seed=21 + k, blocks=16, record=True)
        variance, se = result.observables["variance"], result.stderr["variance"]
        assert abs(variance - 1.0) <= 3 * se, (dt, variance, se)
        assert 3 * se < dt  # the old scheme's bias, a·dt·D/2a = dt, would be resolved
        steps = np.diff(result.samples, axis=1)
        increment = np.mean(steps**2)
        expected = 2.0 * -math.expm1(-0.2) / 1.0
        blocks = np.mean(steps.reshape(16, -1) ** 2, axis=1)
        assert abs(increment - expected) <= 3 * blocks.std(ddof=1) / 4, (increment, expected)


def test_phi1_and_its_small_argument_limit():
    z = np.array([0.0, 1e-14, 1e-3, 1.0, 5.0, -0.5])
    expected = np.array([1.0, 1.0, -math.expm1(-1e-3) / 1e-3, 1 - math.exp(-1),
                         (1 - math.exp(-5)) / 5, (1 - math.exp(0.5)) / -0.5])
    np.testing.assert_allclose(_phi1(z), expected, rtol=1e-14)


def test_stability_bound_for_scs():
    """1 + g·sup|tanh'| for SCS; the error names dt, the bound and the largest stable dt."""
    network, _ = _fixed_network(g=2.0)
    assert rate_bound(network) == pytest.approx(3.0, rel=1e-12)
    check_step(network, 0.66, "euler")
    with pytest.raises(UnstableStepError, match=r"dt = 0\.7 .*bound is 3,.*at most 0\.666667"):
        check_step(network, 0.7, "euler")
    check_step(network, 0.92, "rk4")
    with pytest.raises(UnstableStepError, match="rk4"):
        check_step(network, 0.93, "rk4")


def test_stability_bound_counts_coupling_weight_and_ensemble_mean():
    p = ft.parameters(delta=(0.5, "positive"), J0=(3.0, "real"))
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    action = ft.langevin(drift={x: -2 * x(t) + p.delta * (J @ ft.relu(x(t)))},
                         couplings={J: ft.Gaussian(mean=p.J0, variance=1)}, parameters=p)
    # leak 2, coupling: weight 0.5 · max(|J0|, g) = 3 · sup|ReLU'| = 1
    assert rate_bound(realise(action, {}, 20, np.random.default_rng(0))) == pytest.approx(3.5)


def test_integrate_checks_its_arguments():
    network, x0 = _fixed_network()
    with pytest.raises(ParameterError, match="whole number of steps"):
        integrate(network, x0, 1.0, 0.3, "rk4")
    with pytest.raises(ParameterError, match="shape"):
        integrate(network, np.zeros((2, 50)), 1.0, 0.1, "rk4")
    with pytest.raises(ParameterError, match="unknown method"):
        integrate(network, x0, 1.0, 0.1, "heun")


def test_one_step_of_each_scheme_is_the_written_formula():
    """Golden numeric check of one step against hand-written numpy (same noise draws)."""
    dt, N = 0.3, 40
    scs = ft.load_model("scs").action
    network = realise(scs, {"g": 1.5, "I": 0.2, "D": 0.5}, N, np.random.default_rng(1))
    J = network.couplings[0].matrices[0].matrix
    x0 = np.random.default_rng(2).standard_normal((1, N))
    xi = np.random.default_rng(3).standard_normal((1, N))
    step = integrate(network, x0, dt, dt, "euler", rng=np.random.default_rng(3))
    drift = J @ np.tanh(x0[0]) + 0.2
    noise = math.sqrt(0.5 * -math.expm1(-2 * dt) / 2)  # the exact OU variance over dt
    expected = math.exp(-dt) * x0[0] + (1 - math.exp(-dt)) * drift + noise * xi[0]
    np.testing.assert_allclose(step[0], expected, rtol=1e-13, atol=1e-13)

    quiet = realise(scs, {"g": 1.5, "I": 0.2}, N, np.random.default_rng(1))

    def f(x):
        return -x + J @ np.tanh(x) + 0.2

    k1 = f(x0[0])
    k2 = f(x0[0] + dt / 2 * k1)
    k3 = f(x0[0] + dt / 2 * k2)
    k4 = f(x0[0] + dt * k3)
    rk4 = x0[0] + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    np.testing.assert_allclose(integrate(quiet, x0, dt, dt, "rk4")[0], rk4, rtol=1e-13,
                               atol=1e-13)

    mapped = ft.load_model("map").action
    network = realise(mapped, {"g": 1.5, "delta": 0.25, "D": 0.5}, N,
                      np.random.default_rng(1))
    J = network.couplings[0].matrices[0].matrix
    one = integrate(network, x0, 0.25, None, rng=np.random.default_rng(3))
    expected = 0.75 * x0[0] + 0.25 * J @ np.tanh(x0[0]) + math.sqrt(0.25 * 0.5) * xi[0]
    np.testing.assert_allclose(one[0], expected, rtol=1e-13, atol=1e-13)
