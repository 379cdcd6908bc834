"""The discrete-time (map) DMFT runtime against exact results and simulation."""

import math

import numpy as np
import pytest
from scipy import integrate

import fieldtheory as ft
from fieldtheory.simulate import simulate
from fieldtheory.solvers import solve_stationary
from fieldtheory.solvers.runtime.maps import ConvergenceError, map_lyapunov, solve_map


def dtanh(x):
    return 1.0 / np.cosh(x) ** 2


def identity(x):
    return np.asarray(x, dtype=float)


def one(x):
    return np.ones_like(np.asarray(x, dtype=float))


def gauss(f, var):
    """E[f(u)], u ~ N(0, var), by adaptive quadrature (independent of the runtime)."""
    s = math.sqrt(var)
    value, _ = integrate.quad(lambda z: f(s * z) * math.exp(-z * z / 2), -12.0, 12.0,
                              epsabs=1e-14, epsrel=1e-13, limit=200)
    return value / math.sqrt(2 * math.pi)


@pytest.mark.parametrize("g", [1.5, 2.0, 3.0])
def test_unit_step_closed_forms(g):
    """δ = 1: q = g² E[tanh(u)²], u ~ N(0, q); Δ(k ≠ 0) = 0; λ = log(g √⟨φ'²⟩) per step."""
    from scipy import optimize
    q = optimize.brentq(lambda v: g**2 * gauss(lambda x: math.tanh(x) ** 2, v) - v,
                        1e-3, 10 * g**2, xtol=1e-14)
    gain2 = gauss(lambda x: math.cosh(x) ** -4, q)
    sol = solve_map(np.tanh, dtanh, g, 1.0)
    assert sol.branch == "chaotic"
    assert sol.delta0 == pytest.approx(q, rel=1e-10)
    assert np.abs(sol.delta[1:]).max() < 1e-12
    assert sol.mean_gain_squared == pytest.approx(gain2, rel=1e-10)
    assert sol.lyapunov == pytest.approx(math.log(g * math.sqrt(gain2)), abs=1e-10)


def ar_exact(k, g, delta, D):
    """Δ(k) of x(n+1) = b x + δ J x + √(δD) ξ at N → ∞: A r^|k|, the root r < 1 of
    b r² − c r + b = 0, c = 1 + b² − δ²g², A = δD/√(c² − 4b²)."""
    b = 1 - delta
    c = 1 + b**2 - (delta * g) ** 2
    root = math.sqrt(c * c - 4 * b * b)
    r = (c - root) / (2 * b) if b > 0 else 0.0
    return delta * D / root * r ** np.abs(k)


@pytest.mark.parametrize(("g", "delta", "D"), [(0.5, 0.5, 1.0), (0.8, 0.1, 0.3),
                                               (0.6, 1.0, 2.0)])
def test_linear_exact(g, delta, D):
    sol = solve_map(identity, one, g, delta, D=D)
    assert sol.branch == "noise_driven"
    exact = ar_exact(sol.lags, g, delta, D)
    assert np.abs(sol.delta - exact).max() < 1e-10 * exact[0]
    # the continuum limit D/(2√(1−g²)) is approached only as δ → 0; the map's own value
    # at δ = 1 is D/(1 − g²)
    if delta == 1.0:
        assert sol.delta0 == pytest.approx(D / (1 - g**2), rel=1e-12)
    # the tangent problem of a linear map: spectral radius b + δg of b + δJ
    assert sol.lyapunov == pytest.approx(math.log(1 - delta + delta * g) / delta, abs=1e-9)


def test_linear_against_exact_finite_network():
    """Independent check of the noise term δD: the exact covariance of a sampled linear
    network (discrete Lyapunov equation), N = 400; the trace scatters by O(1/N)."""
    from scipy import linalg
    g, delta, D, N = 0.6, 0.5, 1.0, 400
    rng = np.random.default_rng(7)
    values = []
    for _ in range(4):
        A = (1 - delta) * np.eye(N) + delta * g * rng.standard_normal((N, N)) / math.sqrt(N)
        C = linalg.solve_discrete_lyapunov(A, delta * D * np.eye(N))
        values.append(np.trace(C) / N)
    sol = solve_map(identity, one, g, delta, D=D)
    mean, err = np.mean(values), np.std(values, ddof=1) / 2
    # O(1/N) shift: bounded by 4 standard errors plus 5/N relative
    assert abs(mean - sol.delta0) < 4 * err + 5.0 / N * sol.delta0


def test_small_step_approaches_continuum():
    cont = solve_stationary(np.tanh, dtanh, 2.0)
    errors = []
    for delta in (0.2, 0.1, 0.05):
        sol = solve_map(np.tanh, dtanh, 2.0, delta)
        errors.append(abs(sol.delta0 - cont.delta0))
        assert abs(sol.lyapunov - cont.lyapunov) < 2 * delta * abs(cont.lyapunov) + 1e-3
    # at least first order: halving δ at least halves the error (up to 10 %)
    assert errors[1] < 0.55 * errors[0] and errors[2] < 0.55 * errors[1]
    for delta, error in zip((0.2, 0.1, 0.05), errors, strict=True):
        assert error < 0.01 * delta * cont.delta0  # O(δ) (observed O(δ²), 1e-3 δ²)


def test_fixed_point_and_stability():
    sol = solve_map(np.tanh, dtanh, 0.8, 0.5)
    assert sol.branch == "fixed_point" and sol.fixed_point_stable
    assert np.all(sol.delta == 0.0)
    assert sol.lyapunov == pytest.approx(math.log(0.5 + 0.5 * 0.8) / 0.5, abs=1e-12)
    obs = sol.observables(tau_max=3.0, dtau=0.5)
    assert obs["variance"] == 0.0 and obs["mean_gain"] == pytest.approx(1.0)
    assert np.allclose(obs["autocorrelation"]["tau"], np.arange(7) * 0.5)


def test_map_lyapunov_constant_gain():
    """C_d ≡ c: Λ = b + δ g √c, the spectral radius of b + δ J diag(φ')."""
    for delta in (0.3, 0.7, 1.0):
        lam = map_lyapunov(np.full(200, 0.4), 1.7, delta)
        assert lam == pytest.approx(math.log(1 - delta + delta * 1.7 * math.sqrt(0.4)) / delta,
                                    abs=1e-10)


def test_non_convergence_raises_with_history():
    with pytest.raises(ConvergenceError) as info:
        solve_map(np.tanh, dtanh, 2.0, 0.5, max_iter=1)
    assert len(info.value.residuals) > 0 and np.all(np.isfinite(info.value.residuals))


@pytest.mark.parametrize(("g", "D"), [(2.0, 0.0), (1.5, 1.0)])
def test_against_simulation(g, D):
    """δ = 0.5, tanh: chaotic (g = 2) and noise-driven (g = 1.5, D = 1, which checks the
    noise variance δD per step): variance, Δ(τ), C_φ(τ), ⟨φ'⟩ within 4 standard errors."""
    sim = simulate(ft.load_model("map"), {"g": g, "delta": 0.5, "D": D}, N=1000, trials=8,
                   t_max=200.0, t_burn=50.0, tau_max=5.0, dtau=0.5)
    theory = solve_map(np.tanh, dtanh, g, 0.5, D=D).observables(tau_max=5.0, dtau=0.5)
    o, e = sim.observables, sim.stderr
    assert abs(o["variance"] - theory["variance"]) < 4 * e["variance"]
    assert abs(o["mean_gain"] - theory["mean_gain"]) < 4 * e["mean_gain"]
    for key in ("autocorrelation", "autocorrelation_phi"):
        assert np.allclose(o[key]["tau"], theory[key]["tau"])
        z = (np.asarray(o[key]["values"]) - theory[key]["values"]) / np.asarray(
            e[key]["values"])
        assert np.abs(z).max() < 4, key


def test_lyapunov_against_simulation():
    """Finite-N Benettin estimates lie below the N → ∞ value (as in continuous time): at
    N = 1000 we observe 0.0975 ± 0.002 against λ∞ = 0.1078 (−10 %, 5σ). Bound: above
    0.8 λ∞ (twice the observed shift) and below λ∞ + 4σ."""
    sim = simulate(ft.load_model("map"), {"g": 2.0, "delta": 0.5}, N=1000, trials=8,
                   t_max=600.0, t_burn=25.0, tau_max=0.5, dtau=0.5,
                   observe=("lyapunov_max",))
    lam = solve_map(np.tanh, dtanh, 2.0, 0.5).lyapunov
    est, err = sim.observables["lyapunov_max"], sim.stderr["lyapunov_max"]
    assert 0.8 * lam < est < lam + 4 * err
