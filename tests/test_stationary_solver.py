"""The stationary DMFT runtime against published values, exact limits and closed forms.

Tolerances come from the references: published values are quoted to 6 digits (relative
1e-4 asked); mpmath and closed-form routes are exact to far below 1e-9, the accuracy the
runtime's quadrature promises; lattice quantities (Δ(τ), λ_max) converge as O(step²),
checked by the convergence ratio between two steps.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from scipy import integrate
from scipy.interpolate import CubicSpline
from scipy.special import erf

from fieldtheory.solvers import ConvergenceError, solve_static, solve_stationary
from fieldtheory.solvers.runtime import stationary as st

mp.mp.dps = 20
SQRT_PI_2 = math.sqrt(math.pi) / 2


def sech2(x):
    return 1.0 / np.cosh(x) ** 2


def log_cosh(x):
    return np.logaddexp(x, -x) - math.log(2.0)


def identity(x):
    return np.asarray(x, dtype=float) * 1.0


def ones(x):
    return np.ones_like(np.asarray(x, dtype=float))


def erf_phi(x):
    return erf(SQRT_PI_2 * x)


def erf_gain(x):
    return np.exp(-(SQRT_PI_2 * x) ** 2)


def mp_normal(f):
    return mp.quad(lambda z: f(z) * mp.exp(-z**2 / 2), [-mp.inf, 0, mp.inf]) / mp.sqrt(2 * mp.pi)


@pytest.fixture(scope="module")
def scs_g2():
    return solve_stationary(np.tanh, sech2, 2.0, Phi=log_cosh, tau_max=30.0, dtau=0.02)


def test_published_scs_values(scs_g2):
    # D. G. Clark's rnn-lyapunov data (tanh, g = 2, D = 0)
    assert scs_g2.branch == "chaotic" and scs_g2.stable_branch == "chaotic"
    assert scs_g2.static.delta0 == pytest.approx(1.92481, rel=1e-4)
    assert scs_g2.static.mean_gain == pytest.approx(0.48682, rel=1e-4)
    assert scs_g2.lyapunov == pytest.approx(0.112458, rel=1e-4)


def test_lattice_converges_to_the_energy_condition_at_second_order():
    exact = solve_static(np.tanh, sech2, 2.0, Phi=log_cosh)[0].delta0
    errors = [solve_stationary(np.tanh, sech2, 2.0, Phi=log_cosh, dtau=h, step_max=h,
                               method="lattice").delta0 - exact for h in (0.04, 0.02)]
    assert 3.5 < errors[0] / errors[1] < 4.5
    # the series route is exact in τ: its Δ(0) is the energy condition's Δ0
    series = solve_stationary(np.tanh, sech2, 2.0, dtau=0.04, step_max=0.04)
    assert series.delta0 == pytest.approx(exact, rel=1e-14)


def test_observables_schema(scs_g2):
    obs = scs_g2.observables()
    assert set(obs) == {"mean", "variance", "autocorrelation", "mean_phi",
                        "autocorrelation_phi", "mean_gain"}
    assert obs["autocorrelation"]["values"][0] == obs["variance"]
    assert obs["autocorrelation"]["tau"][-1] == pytest.approx(30.0)
    assert np.all(np.diff(obs["autocorrelation"]["values"]) < 0)
    equal_time = st.gaussian_mean(lambda x: np.tanh(x) ** 2, 0.0, obs["variance"])
    assert obs["autocorrelation_phi"]["values"][0] == pytest.approx(equal_time, rel=1e-12)


def test_spectrum_is_non_negative(scs_g2):
    spectrum = scs_g2.spectrum
    assert spectrum.min() >= -1e-12 * spectrum.max()
    noisy = solve_stationary(np.tanh, sech2, 2.0, I=0.3, D=0.5, Phi=log_cosh)
    assert noisy.spectrum.min() >= -1e-12 * noisy.spectrum.max()


@pytest.mark.parametrize(("g", "start", "numeric_Phi"), [(1.5, 1.0, False), (3.0, 5.0, True)])
def test_energy_condition_against_mpmath(g, start, numeric_Phi):
    def deficit(delta0):
        s = mp.sqrt(delta0)
        first = mp_normal(lambda z: mp.log(mp.cosh(s * z)))
        second = mp_normal(lambda z: mp.log(mp.cosh(s * z)) ** 2)
        return delta0**2 / 2 - g**2 * (second - first**2)

    exact = float(mp.findroot(deficit, start))
    static, _ = solve_static(np.tanh, sech2, g, Phi=None if numeric_Phi else log_cosh)
    assert static.branch == "fluctuating"
    assert static.delta0 == pytest.approx(exact, rel=1e-9)


def test_linear_network_with_noise_is_exact():
    g, D = 0.6, 0.5
    kappa = math.sqrt(1 - g**2)
    errors = []
    for h in (0.02, 0.01):
        sol = solve_stationary(identity, ones, g, D=D, Phi=lambda x: 0.5 * x**2,
                               tau_max=10.0, dtau=0.1, step_max=h, method="lattice")
        # exact solution of the lattice equations: Δ_k = A r^k, r + 1/r = 2 + κ²h²
        b = 1 + 0.5 * (kappa * h) ** 2
        r = b - math.sqrt(b * b - 1)
        amplitude = (D / h) / (kappa**2 + 2 * (1 - r) / h**2)
        lattice = amplitude * r ** (sol.tau / h)
        assert np.abs(sol.autocorrelation - lattice).max() <= 1e-10 * amplitude
        continuum = D / (2 * kappa) * np.exp(-kappa * sol.tau)
        errors.append(np.abs(sol.autocorrelation - continuum).max())
        assert sol.static.delta0 == pytest.approx(D / (2 * kappa), rel=1e-12)
        assert sol.branch == "noise_driven"
        assert sol.lyapunov == pytest.approx(-1 + g, abs=1e-9)
    assert 3.5 < errors[0] / errors[1] < 4.5
    series = solve_stationary(identity, ones, g, D=D, tau_max=10.0, dtau=0.1)
    continuum = D / (2 * kappa) * np.exp(-kappa * series.tau)
    assert np.abs(series.autocorrelation - continuum).max() <= 1e-12 * continuum[0]
    assert series.lyapunov == pytest.approx(-1 + g, abs=1e-9)


def test_subcritical_without_noise_is_the_quiescent_fixed_point():
    sol = solve_stationary(np.tanh, sech2, 0.5, Phi=log_cosh)
    assert sol.branch == "fixed_point" and sol.stable_branch == "fixed_point"
    assert sol.delta0 == 0.0 and sol.observables()["variance"] == 0.0
    assert np.all(sol.autocorrelation == 0.0)
    assert sol.lyapunov == pytest.approx(-0.5, abs=1e-12)


def test_unstable_fixed_point_is_reported(scs_g2):
    fp = scs_g2.fixed_point
    assert fp.delta0 > 0 and fp.delta0 == fp.delta_inf
    assert -1 + 2.0 * math.sqrt(fp.mean_gain_squared) > 0
    assert scs_g2.static.delta0 < fp.delta0


def test_erf_quadrature_agrees_with_the_closed_form_route():
    g = 2.0

    def arcsin_integral(x, a):  # ∫₀ˣ (2/π) arcsin(y/a) dy
        return 2 / mp.pi * (x * mp.asin(x / a) + mp.sqrt(a**2 - x**2) - a)

    def energy(delta0):
        return g**2 * arcsin_integral(delta0, delta0 + 2 / mp.pi) - delta0**2 / 2

    delta0 = mp.findroot(energy, 2.0)
    a = delta0 + 2 / mp.pi

    def lag(level):  # τ(Δ) = ∫_Δ^{Δ0} dx / √(2 (V(Δ0) − V(x))), V' = −x + g² C_φ(x)
        def potential(x):
            return -x**2 / 2 + g**2 * arcsin_integral(x, a)

        top = potential(delta0)
        return mp.quad(lambda x: 1 / mp.sqrt(2 * (top - potential(x))), [level, delta0])

    levels = [float(delta0) / 2, float(delta0) / 8]
    lags = [float(lag(level)) for level in levels]
    errors = []
    gain = float((1 + mp.pi * delta0 / 2) ** -0.5)
    for h in (0.02, 0.01):
        sol = solve_stationary(erf_phi, erf_gain, g, tau_max=30.0, dtau=0.02, step_max=h,
                               method="lattice")
        assert sol.static.delta0 == pytest.approx(float(delta0), rel=1e-9)
        assert sol.static.mean_gain == pytest.approx(gain, rel=1e-9)
        spline = CubicSpline(sol.tau, sol.autocorrelation)
        errors.append(max(abs(spline(t) - v) for t, v in zip(lags, levels, strict=True)))
    assert 3.5 < errors[0] / errors[1] < 4.5
    # the series route is exact in τ: Δ(τ(level)) = level to the accuracy of the issue
    sol = solve_stationary(erf_phi, erf_gain, g, tau_max=30.0, dtau=0.02)
    assert sol.static.delta0 == pytest.approx(float(delta0), rel=1e-12)
    assert sol.static.mean_gain == pytest.approx(gain, rel=1e-12)
    profile = st.solve_profile(erf_phi, erf_gain, g)
    assert np.abs(profile.delta(np.array(lags)) - levels).max() <= 1e-9 * float(delta0)


def quad_pair(f, mean, delta0, delta):
    """E[f(u)f(v)] by nested adaptive quadrature (an independent route)."""
    def normal(fun):
        return integrate.quad(lambda z: fun(z) * np.exp(-z * z / 2), -12, 12, points=[0],
                              epsabs=1e-13, epsrel=1e-11, limit=200)[0] / math.sqrt(2 * math.pi)

    shared, private = math.sqrt(delta), math.sqrt(delta0 - delta)
    return normal(lambda z: normal(lambda w: f(mean + shared * z + private * w)) ** 2)


def test_bias_and_mean_coupling_give_a_plateau_and_conserve_energy():
    g, J0, I = 2.0, 0.5, 0.5
    sol = solve_stationary(np.tanh, sech2, g, J0=J0, I=I, Phi=log_cosh, tau_max=40.0)
    s = sol.static
    assert sol.branch == "chaotic" and s.delta_inf > 0
    assert s.mean == pytest.approx(J0 * s.mean_phi + I, rel=1e-14)
    m = mp_normal(lambda z: mp.tanh(s.mean + mp.sqrt(s.delta0) * z))
    assert s.mean_phi == pytest.approx(float(m), rel=1e-9)
    plateau = g**2 * quad_pair(np.tanh, s.mean, s.delta0, s.delta_inf)
    assert s.delta_inf == pytest.approx(plateau, rel=1e-9)
    v0 = -s.delta0**2 / 2 + g**2 * quad_pair(log_cosh, s.mean, s.delta0, s.delta0)
    v_inf = -s.delta_inf**2 / 2 + g**2 * quad_pair(log_cosh, s.mean, s.delta0, s.delta_inf)
    assert abs(v0 - v_inf) <= 1e-9 * abs(v0)
    values = sol.autocorrelation
    assert np.all(np.diff(values) < 0) and values[-1] > s.delta_inf


def test_magnetic_transition_is_at_unit_loop_gain():
    g = 2.0
    gain = solve_static(np.tanh, sech2, g, Phi=log_cosh)[0].mean_gain

    def magnetised(J0):
        return solve_static(np.tanh, sech2, g, J0=J0, Phi=log_cosh, m_guess=0.5)[0].mean_phi

    low, high = 1.9, 2.2  # continuation in J0: bisect on the appearance of m ≠ 0
    assert magnetised(low) < 1e-10 < magnetised(high)
    while high - low > 1e-6:
        middle = 0.5 * (low + high)
        low, high = (middle, high) if magnetised(middle) < 1e-10 else (low, middle)
    # bisection width 1e-6 (times ⟨φ'⟩ < 1); the threshold shifts J0c by ~(1e-10)², m² ∝ J0 − J0c
    assert abs(0.5 * (low + high) * gain - 1) <= 1e-6


def test_non_convergence_raises_with_residual_history():
    with pytest.raises(ConvergenceError) as info:
        solve_stationary(np.tanh, sech2, 2.0, Phi=log_cosh, max_iter=1, method="lattice")
    residuals = info.value.residuals
    assert len(residuals) > 1 and all(math.isfinite(r) for r in residuals)
    assert isinstance(info.value, RuntimeError)


def test_responses():
    sol = solve_stationary(np.tanh, sech2, 2.0, J0=1.0, Phi=log_cosh, dtau=0.5, tau_max=5.0)
    response = sol.response(np.array([0.0, 1.0]))
    feedback = 1.0 * sol.static.mean_gain
    assert response["own"]["time"][0] == 0.0  # Itô: R(t, t) = 0
    assert np.allclose(response["own"]["time"][1:], np.exp(-sol.tau[1:]), rtol=1e-15)
    assert np.allclose(response["common"]["time"][1:],
                       np.exp(-(1 - feedback) * sol.tau[1:]), rtol=1e-15)
    assert response["common"]["frequency"][0] == pytest.approx(1 / (1 - feedback))


def test_strong_mean_coupling_gives_a_stable_magnetised_fixed_point():
    g, J0 = 2.0, 3.0
    sol = solve_stationary(np.tanh, sech2, g, J0=J0, Phi=log_cosh, m_guess=0.5)
    s = sol.static
    assert sol.branch == "fixed_point" and s.delta0 == s.delta_inf > 0
    assert np.all(sol.autocorrelation == s.delta0)
    second = mp_normal(lambda z: mp.tanh(J0 * s.mean_phi + mp.sqrt(s.delta0) * z) ** 2)
    first = mp_normal(lambda z: mp.tanh(J0 * s.mean_phi + mp.sqrt(s.delta0) * z))
    assert s.delta0 == pytest.approx(g**2 * float(second), rel=1e-9)
    assert s.mean_phi == pytest.approx(float(first), rel=1e-9)
    assert sol.lyapunov == pytest.approx(-1 + g * math.sqrt(s.mean_gain_squared), rel=1e-9)
    assert sol.lyapunov < 0


def test_missing_branches_raise():
    with pytest.raises(ConvergenceError, match="no fluctuating branch"):
        solve_static(np.tanh, sech2, 0.5, Phi=log_cosh, branch="chaotic")
    with pytest.raises(ConvergenceError, match="no fixed point"):
        solve_static(np.tanh, sech2, 2.0, D=0.1, Phi=log_cosh, branch="fixed_point")


def test_non_covariance_is_rejected():
    # a rectangular "autocorrelation" has a sinc spectrum, negative in places
    tau = 0.05 * np.arange(401)
    with pytest.raises(ConvergenceError, match="negative spectrum"):
        st.check_covariance(np.where(tau < 1.0, 1.0, 0.0), 0.05)
    spectrum = st.check_covariance(np.exp(-tau), 0.05)
    assert spectrum.min() > 0


def test_noise_with_bias_conserves_energy_with_the_kick():
    g, I, D = 2.0, 0.3, 0.5
    s = solve_static(np.tanh, sech2, g, I=I, D=D, Phi=log_cosh)[0]
    assert s.delta_inf > 0 and s.mean == I
    v0 = -s.delta0**2 / 2 + g**2 * quad_pair(log_cosh, s.mean, s.delta0, s.delta0)
    v_inf = -s.delta_inf**2 / 2 + g**2 * quad_pair(log_cosh, s.mean, s.delta0, s.delta_inf)
    assert abs(D**2 / 8 + v0 - v_inf) <= 1e-9 * abs(v0)
    plateau = g**2 * quad_pair(np.tanh, s.mean, s.delta0, s.delta_inf)
    assert s.delta_inf == pytest.approx(plateau, rel=1e-9)


def test_noise_driven_branch_tends_smoothly_to_the_chaotic_one():
    """D → 0⁺: W = φ²ρ + D²/8 has a boundary layer of width ~D in the profile variable;
    unresolved, it rang through the Chebyshev fit (C jagged at 1e-5, its Toeplitz matrix
    not positive: −0.35 % of C(0) at D = 1e-6). Now C(D) − C(0) = O(D), as smooth as C(0),
    and the sampled C is a covariance."""
    import fieldtheory as ft

    curves = {}
    for D in (0.0, 1e-6, 1e-3):
        o = ft.solve("scs_erf", {"g": 1.5, "D": D}, tau_max=20.0, dtau=0.05).observables
        curves[D] = np.asarray(o["autocorrelation"]["values"])
    for D in (1e-6, 1e-3):
        difference = curves[D] - curves[0.0]
        assert np.abs(difference).max() <= 5 * D
        # smooth: the third differences of the change are far below its size
        assert np.abs(np.diff(difference, 3)).max() <= 1e-3 * np.abs(difference).max()
        k = np.arange(curves[D].size)
        toeplitz = curves[D][np.abs(k[:, None] - k[None, :])]
        assert np.linalg.eigvalsh(toeplitz).min() > 0
