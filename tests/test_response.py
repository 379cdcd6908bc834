r"""The linear response (``simulate(..., observe=("response", "response_common"))``).

The kicked tangent vector evolves by the exact derivative of the scheme, so for linear
dynamics (and at a zero fixed point) the response is known from the sampled couplings:

* an isolated leaky unit (exponential Euler integrates the leak exactly): R(τ) = e^{−τ};
* a linear network with one-step matrix M (RK4: ≈ e^{(J − 1)dt}; Euler: e^{−dt} + (1 −
  e^{−dt}) J): a common kick gives R_c(τ) = (1/N) 1ᵀ M^k 1 exactly (τ = k dt); random
  signs give (1/N) σᵀ M^k σ, whose average over the kicks' signs is (1/N) tr M^k —
  compared within 3 standard errors (the only randomness is in the signs, and the
  simulator's errors are the spread across blocks of kicks).
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import scipy.linalg
from support.strict_json import strict_loads

import fieldtheory as ft
from fieldtheory.errors import ParameterError
from fieldtheory.simulate import realise, simulate


def coupling(model: ft.Model, values: dict, N: int, seed: int) -> np.ndarray:
    network = realise(model.action, values, N, np.random.default_rng([seed, 0]))
    return network.couplings[0].matrices[0].dense()


def leaky_unit() -> ft.Action:
    p = ft.parameters(D=(2.0, "nonnegative"))
    x, t = ft.Field("x"), ft.t
    return ft.langevin(drift={x: -x(t)}, noise={x: p.D}, parameters=p)


def test_isolated_unit_responds_with_the_leak_propagator():
    result = simulate(leaky_unit(), N=100, t_max=20.0, t_burn=1.0, dt=0.05, tau_max=3.0,
                      seed=1, observe=("response", "response_common"))
    for key in ("response", "response_common"):
        curve = result.observables[key]
        np.testing.assert_allclose(curve["values"], np.exp(-curve["tau"]), rtol=1e-12)
        np.testing.assert_array_equal(curve["tau"],
                                      result.observables["autocorrelation"]["tau"])
        assert np.all(result.stderr[key]["values"] < 1e-12)


def _propagators(M: np.ndarray, steps: int, lags: int) -> tuple[np.ndarray, np.ndarray]:
    """(1/N) tr M^{l·steps} and (1/N) 1ᵀ M^{l·steps} 1 for l = 0 … lags."""
    N = M.shape[0]
    P, step = np.eye(N), np.linalg.matrix_power(M, steps)
    traces, commons = [], []
    for _ in range(lags + 1):
        traces.append(np.trace(P) / N)
        commons.append(P.sum() / N)
        P = step @ P
    return np.array(traces), np.array(commons)


def test_noise_free_linear_network_responds_with_its_propagator():
    N, g, seed = 200, 0.6, 2
    model = ft.load_model("linear")
    values = {"g": g, "D": 0.0}
    result = simulate(model, values, N=N, t_max=150.0, t_burn=5.0, seed=seed, tau_max=3.0,
                      dtau=0.5, observe=("response", "response_common"))
    A = coupling(model, values, N, seed) - np.eye(N)
    tau = result.observables["response"]["tau"]
    exact = np.array([scipy.linalg.expm(A * s) for s in tau])
    traces = np.trace(exact, axis1=1, axis2=2) / N
    commons = exact.sum(axis=(1, 2)) / N
    # RK4 at dt = 0.05 differs from e^{Aτ} by O(τ dt⁴ |μ|⁵) < 1e-6
    np.testing.assert_allclose(result.observables["response_common"]["values"], commons,
                               atol=1e-6)
    values_, errors = (r["response"]["values"] for r in (result.observables, result.stderr))
    assert np.all(np.abs(values_ - traces) <= 3 * errors + 1e-6), (values_ - traces, errors)
    # for iid J the self response is the leak propagator up to O(1/N)
    assert np.all(np.abs(traces - np.exp(-tau)) < 5 * g**2 / N)


def test_noisy_linear_network_responds_with_its_scheme_propagator():
    """With noise (Euler–Maruyama) the tangent is the noise-free scheme's: M = b + cJ."""
    N, g, seed, dt = 150, 0.6, 3, 0.1
    model = ft.load_model("linear")
    values = {"g": g, "D": 1.0}
    result = simulate(model, values, N=N, t_max=100.0, t_burn=5.0, dt=dt, seed=seed,
                      tau_max=2.0, dtau=0.5, observe=("response", "response_common"))
    b = math.exp(-dt)
    M = b * np.eye(N) + (1 - b) * coupling(model, values, N, seed)
    traces, commons = _propagators(M, round(0.5 / dt), 4)
    np.testing.assert_allclose(result.observables["response_common"]["values"], commons,
                               rtol=1e-10)
    values_, errors = (r["response"]["values"] for r in (result.observables, result.stderr))
    assert np.all(np.abs(values_ - traces) <= 3 * errors + 1e-12), (values_ - traces, errors)


def test_common_input_sees_the_mean_coupling():
    """SCS at g = 0.5 with J0 = 0.4 relaxes to x = 0, where the tangent map is J − 1: the
    common response is (1/N) 1ᵀ e^{(J−1)τ} 1 ≈ e^{−(1−J0)τ} (the outlier eigenvalue
    J0 − 1), while the self response stays near the leak's e^{−τ}."""
    N, seed = 200, 5
    model = ft.load_model("scs")
    values = {"g": 0.5, "J0": 0.4}
    result = simulate(model, values, N=N, t_max=60.0, t_burn=80.0, seed=seed, tau_max=3.0,
                      dtau=0.5, observe=("response", "response_common"))
    A = coupling(model, values, N, seed) - np.eye(N)
    tau = result.observables["response_common"]["tau"]
    commons = np.array([scipy.linalg.expm(A * s).sum() / N for s in tau])
    # x(t_burn) ~ e^{−0.4·80}: the tangent is the linearisation to ~1e-28
    np.testing.assert_allclose(result.observables["response_common"]["values"], commons,
                               atol=1e-6)
    assert np.all(np.abs(commons - np.exp(-(1 - 0.4) * tau)) < 0.1)
    self_response = result.observables["response"]["values"]
    assert np.all(np.abs(self_response - np.exp(-tau)) < 0.05)


def test_response_needs_two_kicks_and_is_absent_unless_requested(monkeypatch):
    model = ft.load_model("scs")
    with pytest.raises(ParameterError, match="kick"):
        # the lags are estimable (t_burn + t_max > tau_max), but no kick fits in t_max
        simulate(model, N=20, t_max=3.0, t_burn=4.0, tau_max=4.0, trials=2,
                 observe=("response",))
    run = importlib.import_module("fieldtheory.simulate.run")

    def refuse(*args, **kwargs):
        raise AssertionError("tangent machinery built for a plain run")

    monkeypatch.setattr(run, "TangentObservers", refuse)
    result = simulate(model, N=20, t_max=5.0, t_burn=1.0, tau_max=1.0)
    assert "response" not in result.observables and "response" not in result.to_json()[
        "observables"]


def test_populations_trials_and_the_command_line(capsys):
    """Several populations keep their per-population keys; trials give across-trial errors;
    ``fieldtheory simulate --lyapunov --response`` passes the request through."""

    from fieldtheory.cli import main

    result = simulate(ft.load_model("ei"), {"D": 0.2}, N=100, t_max=10.0, t_burn=2.0,
                      tau_max=1.0, dt=0.05, trials=2, seed=1,
                      observe=("lyapunov_max", "response"))
    assert set(result.observables["populations"]) == {"E", "I"}
    assert "response" not in result.observables["populations"]["E"]
    assert result.stderr["response"]["values"][1] > 0
    assert math.isfinite(result.stderr["lyapunov_max"])
    assert main(["simulate", "scs", "-N", "30", "--t-max", "6", "--t-burn", "1",
                 "--tau-max", "1", "--json", "--no-progress", "--lyapunov",
                 "--response"]) == 0
    data = strict_loads(capsys.readouterr().out)
    for key in ("lyapunov_max", "response", "response_common"):
        assert key in data["observables"] and key in data["stderr"]
