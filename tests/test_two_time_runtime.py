"""The two-time (transient) DMFT runtime against exact results and independent oracles.

Tolerances are derived, never tuned:

* linear network (φ = identity): the exact solution is the Riemann function of
  ∂t∂s − g² (derived in :func:`exact_linear`); the scheme is second order, so the
  measured order must be 2 and Richardson extrapolation must remove the leading error;
* relaxation (tanh, g = 2, D = 0): the approach to the stationary state is exponential
  (measured: the gaps shrink by a constant factor per unit time), so its limit is
  Aitken's Δ² extrapolation; the tolerance is the Richardson estimate of the dt error
  plus the change of the extrapolation between two windows (its model error);
* step input: a network simulation written here with numpy (N units, RK4 at dt = 0.1, I
  piecewise constant per step; RK4's bias, measured against dt = 0.05, is < 1e-5 ≪ SE):
  within 4 standard errors across trials plus the DMFT's own Richardson dt-error
  estimate; the O(1/N) finite-size shift is ≈ 1/N ≪ SE at N = 1000 (16 trials).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

from fieldtheory.solvers import solve_stationary
from fieldtheory.solvers.runtime.two_time import (
    ConvergenceError,
    solve_two_time,
    two_time_pair_mean,
    two_time_rule,
)


def identity(x):
    return np.asarray(x, dtype=float) * 1.0


def ones(x):
    return np.ones_like(np.asarray(x, dtype=float))


def sech2(x):
    return 1.0 / np.cosh(x) ** 2


def riemann(g, a, b):
    """e^{−(a+b)} I0(2g√(ab)) without overflow."""
    z = 2 * g * math.sqrt(max(a * b, 0.0))
    return special.i0e(z) * math.exp(z - a - b)


def exact_linear(t, s, g, D, sigma0, mean=None):
    r"""K(t, s) of the linear network, φ = x, J_ij ~ N(J0/N, g²/N).

    F = e^{t+s}K solves ∂t∂s F = g² F + e^{t+s}[g² M(t)M(s) + D δ(t − s)] with
    F(t, 0) = F(0, s) = σ0²; the Riemann function of ∂t∂s − g² is I0(2g√((t−u)(s−v))), so
    K = e^{−t−s}σ0² I0(2g√(ts)) + D ∫_0^{min} e^{−(t−u)−(s−u)} I0(2g√((t−u)(s−u))) du
        + g² ∬ e^{−(t−u)−(s−v)} I0(2g√((t−u)(s−v))) M(u)M(v) du dv.
    """
    out = sigma0**2 * riemann(g, t, s)
    out += D * integrate.quad(lambda u: riemann(g, t - u, s - u), 0.0, min(t, s),
                              epsabs=1e-13, epsrel=1e-12, limit=200)[0]
    if mean is not None:
        out += g**2 * integrate.dblquad(
            lambda v, u: riemann(g, t - u, s - v) * mean(u) * mean(v), 0.0, t, 0.0, s,
            epsabs=1e-12, epsrel=1e-11)[0]
    return out


def at(sol, t, s):
    return sol.covariance[round(t / sol.dt), round(s / sol.dt)]


# --------------------------------------------------------------------------- linear network

POINTS = [(2.0, 1.0), (4.0, 4.0), (8.0, 5.0), (8.0, 8.0)]


def test_linear_network_exact_second_order():
    g, D, sigma0 = 0.6, 0.5, 1.3
    exact = np.array([exact_linear(t, s, g, D, sigma0) for t, s in POINTS])
    sols = {dt: solve_two_time(identity, g, D=D, sigma0=sigma0, t_max=8.0, dt=dt)
            for dt in (0.1, 0.05)}
    got = {dt: np.array([at(sol, t, s) for t, s in POINTS]) for dt, sol in sols.items()}
    err = {dt: got[dt] - exact for dt in got}
    order = np.log2(np.abs(err[0.1]) / np.abs(err[0.05]))
    assert np.all(np.abs(order - 2.0) < 0.2), order
    richardson = (4 * got[0.05] - got[0.1]) / 3
    # in the max norm over the points (the leading coefficient nearly vanishes near
    # stationarity at (8, 8), where higher orders then dominate pointwise)
    assert np.abs(richardson - exact).max() <= 0.1 * np.abs(err[0.05]).max(), (
        richardson, exact)
    # mean zero, symmetric, stationary limit D/(2√(1−g²)) approached
    assert np.all(sols[0.05].mean == 0.0)
    np.testing.assert_array_equal(sols[0.05].covariance, sols[0.05].covariance.T)


def test_linear_network_with_mean_input():
    g, D, sigma0, J0, I, mu0 = 0.5, 0.2, 0.7, 0.3, 0.2, 1.0
    fixed = I / (1 - J0)

    def mean(u):
        return fixed + (mu0 - fixed) * math.exp(-(1 - J0) * u)

    t_pts = np.array([1.0, 3.0, 6.0])
    sols = {dt: solve_two_time(identity, g, J0=J0, I=I, D=D, mu0=mu0, sigma0=sigma0,
                               t_max=6.0, dt=dt, dphi=ones) for dt in (0.1, 0.05)}
    exact_M = np.array([mean(t) for t in t_pts])
    err = {dt: sol.mean[np.round(t_pts / dt).astype(int)] - exact_M
           for dt, sol in sols.items()}
    order = np.log2(np.abs(err[0.1]) / np.abs(err[0.05]))
    assert np.all(np.abs(order - 2.0) < 0.2), order
    np.testing.assert_allclose(sols[0.05].mean_phi, sols[0.05].mean, rtol=1e-12)
    np.testing.assert_allclose(sols[0.05].mean_gain, 1.0, rtol=1e-12)
    # the mean feeds the covariance through g² M(t)M(s) (C_φ is the full second moment)
    k_exact = exact_linear(3.0, 2.0, g, D, sigma0, mean)
    k_err = {dt: at(sol, 3.0, 2.0) - k_exact for dt, sol in sols.items()}
    assert abs(math.log2(abs(k_err[0.1] / k_err[0.05])) - 2.0) < 0.2, k_err
    without = exact_linear(3.0, 2.0, g, D, sigma0)
    assert abs(k_exact - without) > 100 * abs(k_err[0.05])


# --------------------------------------------------------------------------- relaxation


def aitken(a, b, c):
    d1, d2 = b - a, c - b
    return c - d2 * d2 / (d2 - d1)


def test_chaotic_relaxation_to_stationary_state():
    """tanh, g = 2, D = 0 from x(0) ~ N(0, 1): K(t, t) → Δ0 = 1.92481 and K(t+τ, t) → Δ(τ)."""
    stat = solve_stationary(np.tanh, sech2, 2.0, tau_max=10.0, dtau=0.2, step_max=0.01)
    assert stat.static.delta0 == pytest.approx(1.92481, abs=1e-5)
    sols = {dt: solve_two_time(np.tanh, 2.0, t_max=60.0, dt=dt) for dt in (0.4, 0.2)}
    fine = sols[0.2]

    def variance(sol, t):
        return sol.variance[round(t / sol.dt)]

    # relaxation: monotone approach from below, the gap shrinking geometrically
    gaps = np.array([stat.static.delta0 - variance(fine, t) for t in (20, 30, 40, 50, 60)])
    assert np.all(gaps > 0) and np.all(np.diff(gaps) < 0)
    ratios = gaps[1:] / gaps[:-1]
    assert np.all(np.abs(ratios - ratios[-1]) < 0.2 * ratios[-1]), ratios
    limit = {dt: aitken(*(variance(sol, t) for t in (40, 50, 60))) for dt, sol in sols.items()}
    earlier = aitken(*(variance(fine, t) for t in (30, 40, 50)))
    dt_error = abs(limit[0.4] - limit[0.2]) / 3           # Richardson, second order
    model_error = abs(limit[0.2] - earlier)
    assert abs(limit[0.2] - stat.static.delta0) <= dt_error + model_error, (
        limit, earlier, stat.static.delta0)
    assert abs(limit[0.2] - 1.92481) <= dt_error + model_error + 1e-5

    # K(t + τ, t) → Δ(τ): the same extrapolation in t, at each lag
    taus = np.array([0.0, 0.8, 1.6, 2.4, 4.0, 6.0, 8.0, 10.0])     # on both grids
    lags = {}
    for dt, sol in sols.items():
        index = np.round(taus / dt).astype(int)
        rows = [sol.lagged(round(t / dt))[1][index] for t in (20, 30, 40, 50)]
        lags[dt] = (aitken(*rows[1:]), aitken(*rows[:3]))
    reference = stat.autocorrelation[np.round(taus / 0.2).astype(int)]
    dt_error = np.abs(lags[0.4][0] - lags[0.2][0]) / 3
    model_error = np.abs(lags[0.2][0] - lags[0.2][1])
    assert np.all(np.abs(lags[0.2][0] - reference) <= dt_error + model_error), (
        lags[0.2][0] - reference, dt_error, model_error)


def test_convergence_order_tanh():
    """Two-time rows converge as dt²: successive differences shrink by 4."""
    taus = np.array([0.0, 1.0, 2.0, 4.0, 8.0])
    rows = {}
    for dt in (0.2, 0.1, 0.05):
        sol = solve_two_time(np.tanh, 2.0, J0=0.8, I=0.1, t_max=16.0, dt=dt, mu0=0.3,
                             sigma0=0.8)
        rows[dt] = np.concatenate([sol.lagged(round(8.0 / dt))[1][np.round(taus / dt)
                                                                   .astype(int)],
                                   [sol.mean[-1]]])
    ratio = np.abs(rows[0.2] - rows[0.1]) / np.abs(rows[0.1] - rows[0.05])
    order = np.log2(ratio)
    assert np.all(np.abs(order - 2.0) < 0.25), order


# --------------------------------------------------------------------------- step input


def simulate_network(g, J0, mu0, sigma0, bias, *, N, trials, dt, t_max, record):
    """RK4 on (1 + ∂t)x = J tanh(x) + I(t); I constant on each step (I(t_n + dt/2)).

    Trial k draws J, then x(0), from ``default_rng([7, k])``; the trials run side by side
    (einsum: single-threaded, faster than BLAS matrix-vector products on a loaded machine).
    Returns, per recorded time, the trial means and standard errors of the population mean
    of x, its population variance and the population mean of tanh(x).
    """
    J = np.empty((trials, N, N), dtype=np.float32)     # float32: rounding ~1e-7 ≪ SE
    x = np.empty((trials, N))
    for trial in range(trials):
        rng = np.random.default_rng([7, trial])
        J[trial] = rng.normal(J0 / N, g / math.sqrt(N), size=(N, N))
        x[trial] = rng.normal(mu0, sigma0, size=N)

    def drift(x, inp):
        return -x + np.einsum("kij,kj->ki", J, np.tanh(x).astype(np.float32)) + inp

    steps = round(t_max / dt)
    per_record = {round(t / dt): t for t in record}
    stats = {}
    for n in range(steps + 1):
        if n in per_record:
            stats[per_record[n]] = np.stack([x.mean(axis=1), x.var(axis=1),
                                             np.tanh(x).mean(axis=1)], axis=1)
        if n == steps:
            break
        inp = bias(n * dt + dt / 2)
        k1 = drift(x, inp)
        k2 = drift(x + dt / 2 * k1, inp)
        k3 = drift(x + dt / 2 * k2, inp)
        k4 = drift(x + dt * k3, inp)
        x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return ({t: v.mean(axis=0) for t, v in stats.items()},
            {t: v.std(axis=0, ddof=1) / math.sqrt(trials) for t, v in stats.items()})


def test_step_input_against_network_simulation():
    g, J0, mu0, sigma0, t_step, height, t_max = 1.5, 0.5, 0.5, 0.8, 5.0, 0.5, 12.0

    def bias(t):
        return height * (np.asarray(t) > t_step)

    record = (2.0, 5.0, 6.0, 8.0, 12.0)
    sols = {}
    for dt in (0.1, 0.05):
        grid = dt * np.arange(round(t_max / dt) + 1)
        # the grid value at the jump is the midpoint: the trapezoid rule stays O(dt²)
        values = np.where(grid > t_step, height, 0.0)
        values[np.isclose(grid, t_step)] = height / 2
        sols[dt] = solve_two_time(np.tanh, g, J0=J0, I=values, mu0=mu0, sigma0=sigma0,
                                  t_max=t_max, dt=dt)
    mean, se = simulate_network(g, J0, mu0, sigma0, bias, N=1000, trials=16, dt=0.1,
                                t_max=t_max, record=record)
    for t in record:
        theory = {dt: np.array([sol.mean[round(t / dt)], sol.variance[round(t / dt)],
                                sol.mean_phi[round(t / dt)]]) for dt, sol in sols.items()}
        dt_error = np.abs(theory[0.1] - theory[0.05]) / 3
        z = np.abs(theory[0.05] - mean[t]) / (4 * se[t] + dt_error)
        assert np.all(z <= 1.0), (t, theory[0.05], mean[t], se[t])
    # the step is visible: the mean rises after t = 5
    assert mean[12.0][0] - mean[5.0][0] > 10 * se[12.0][0]


# --------------------------------------------------------------------------- API and errors


def test_inputs_constant_array_callable_agree():
    kwargs = dict(J0=0.4, mu0=0.2, sigma0=0.5, t_max=3.0, dt=0.1)
    grid = 0.1 * np.arange(31)
    a = solve_two_time(np.tanh, 1.2, I=0.3, **kwargs)
    b = solve_two_time(np.tanh, 1.2, I=np.full(31, 0.3), **kwargs)
    c = solve_two_time(np.tanh, 1.2, I=lambda t: 0.3 + 0 * t, **kwargs)
    d = solve_two_time(np.tanh, 1.2, I=lambda t: 0.3, **kwargs)      # scalar callable
    for other in (b, c, d):
        np.testing.assert_array_equal(a.covariance, other.covariance)
        np.testing.assert_array_equal(a.mean, other.mean)
    np.testing.assert_array_equal(a.t, grid)
    np.testing.assert_allclose(a.mean_input, 0.4 * a.mean_phi + 0.3)
    np.testing.assert_allclose(a.correlation, a.covariance + np.outer(a.mean, a.mean))
    with pytest.raises(ValueError, match="shape"):
        solve_two_time(np.tanh, 1.2, I=np.zeros(5), **kwargs)


def test_response_is_leak_propagator():
    sol = solve_two_time(np.tanh, 1.5, t_max=2.0, dt=0.5)
    R = sol.response
    assert R[2, 1] == pytest.approx(math.exp(-0.5))
    assert np.all(np.triu(R) == 0.0)


def test_divergence_raises():
    with pytest.raises(ConvergenceError, match="diverges"):
        solve_two_time(identity, 3.0, t_max=20.0, dt=0.1)


def test_pair_mean_matches_closed_form():
    """E[erf(a u) erf(a v)] with means 0 (arcsine law) and the normalisation."""
    a = math.sqrt(math.pi) / 2
    var_t, var_s = 1.3, np.array([0.4, 2.0, 1.0])
    cov = np.array([0.3, -1.2, 0.0])
    z, w = two_time_rule(2.0)
    got = two_time_pair_mean(lambda x: special.erf(a * x), 0.0, var_t, np.zeros(3), var_s,
                             cov, z, w)
    c = 2 * a * a
    exact = (2 / math.pi) * np.arcsin(c * cov / np.sqrt((1 + c * var_t) * (1 + c * var_s)))
    np.testing.assert_allclose(got, exact, atol=1e-9)
    assert w.sum() == pytest.approx(1.0, abs=1e-10)
