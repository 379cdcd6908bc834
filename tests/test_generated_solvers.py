"""The generated solvers beyond the stationary one-φ site, through derive → codegen → solve.

* two-time DMFT (``solve_transient``): a step in I(t) against network simulations at
  several times; relaxation to the stationary solver's variance;
* maps (``solve`` on a discrete-time model): δ = 1 closed forms computed here by
  quadrature, q = g² E[φ²] and λ_max = log(g √⟨φ'²⟩);
* method dispatch and its refusals.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize

import fieldtheory as ft
from fieldtheory.codegen.generate import generate
from fieldtheory.errors import ParameterError
from fieldtheory.solve import solve_transient

x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t


def normal_mean(f, variance: float) -> float:
    """E[f(√variance z)], z ~ N(0, 1), by adaptive quadrature (independent of the runtime)."""
    sd = math.sqrt(variance)
    value, _ = integrate.quad(lambda z: f(sd * z) * math.exp(-z * z / 2), -12, 12,
                              epsabs=1e-14, epsrel=1e-13, limit=200)
    return value / math.sqrt(2 * math.pi)


def step_input(t_on: float, height: float):
    """I(t) = height·Θ(t − t_on), with Θ(0) = 1/2 (the midpoint rule at a grid jump)."""
    return lambda time: height * np.heaviside(np.asarray(time, dtype=float) - t_on, 0.5)


# ----------------------------------------------------------------------------- two-time


def test_step_input_two_time_theory_against_simulation():
    """scs at g = 1.5 from x(0) ~ N(0.3, 0.8²), I steps 0 → 0.5 at t = 4.

    z-scores from the spread across trials; the theory's own error (dt² = 2.5e-3 per unit
    of curvature, measured below by halving dt) is far below the statistical one.
    """
    model = ft.load_model("scs")
    params = {"g": 1.5, "I": step_input(4.0, 0.5)}
    theory = solve_transient(model, params, t_max=10.0, dt=0.05, initial=(0.3, 0.8))
    coarse = solve_transient(model, params, t_max=10.0, dt=0.1, initial=(0.3, 0.8))
    sim = ft.simulate(model, params, N=500, t_max=10.0, t_burn=0.0, dtau=0.5, trials=12,
                      seed=7, initial=(0.3, 0.8), observe=("transient",),
                      transient_times=(2.0, 5.0))
    obs, err = sim.observables["transient"], sim.stderr["transient"]
    times = np.asarray(obs["t"])
    index = [round(tk / 0.05) for tk in times]
    coarse_index = [round(tk / 0.1) for tk in times]
    checked = 0
    for key in ("mean", "variance", "mean_phi"):
        fine = np.asarray(getattr(theory, key))[index]
        rough = np.asarray(getattr(coarse, key))[coarse_index]
        discretisation = np.abs(fine - rough) / 3  # O(dt²): error(dt) ≈ (coarse − fine)/3
        stat = np.asarray(err[key])
        z = (np.asarray(obs[key]) - fine) / np.hypot(stat, discretisation)
        assert np.all(np.abs(z[1:]) <= 4), (key, z)
        checked += z.size - 1
    correlation = theory.correlation(obs["correlation"]["times"])
    for ta, values, stat in zip(obs["correlation"]["times"], obs["correlation"]["values"],
                                err["correlation"]["values"], strict=True):
        k0 = round(ta / 0.05)
        lagged = np.asarray(theory.covariance)[k0:, k0][::10][: len(values)]
        z = (np.asarray(values) - lagged) / np.maximum(np.asarray(stat), 1e-12)
        assert np.all(np.abs(z) <= 4), (ta, z)
        checked += z.size
    assert checked > 40
    del correlation
    # the step is visible: the mean moves by O(0.1) after t = 4
    assert theory.mean[-1] - theory.mean[int(4 / 0.05)] > 0.1


def test_noise_driven_transient_relaxes_to_the_stationary_solution():
    """g = 0.5 with noise: relaxation at rate ≈ 1 − g⟨φ'⟩ > 1/2, so by t = 30 the two-time
    variance equals the stationary Δ0 to e^{−15}; the lattice errors of both solvers
    (dt² and step²) bound the difference."""
    params = {"g": 0.5, "D": 0.4, "I": 0.2, "J0": 0.3}
    transient = solve_transient("scs", params, t_max=30.0, dt=0.05, initial=(1.0, 0.1))
    stationary = ft.solve("scs", params)
    assert transient.variance[-1] == pytest.approx(stationary.observables["variance"], abs=2e-4)
    assert transient.mean[-1] == pytest.approx(stationary.observables["mean"], abs=2e-4)
    assert transient.mean_phi[-1] == pytest.approx(stationary.observables["mean_phi"], abs=2e-4)


def test_transient_refuses_time_dependence_outside_the_input():
    with pytest.raises(ParameterError, match="g"):
        solve_transient("scs", {"g": lambda time: 1.5 + 0.1 * time}, t_max=1.0, dt=0.1)


# ----------------------------------------------------------------------------- maps


@pytest.mark.parametrize("g", [0.8, 2.0, 3.0])
def test_map_at_unit_step_closed_forms(g):
    """δ = 1: x(n+1) = Jφ(x(n)); Δ0 = g² E[φ²] (largest root), λ_max = log(g √⟨φ'²⟩)."""
    result = ft.solve("map", {"g": g, "delta": 1.0})
    obs = result.observables

    def excess(q):
        return g * g * normal_mean(lambda u: math.tanh(u) ** 2, q) - q

    if g < 1:  # only the zero fixed point: q = 0, λ = log g
        assert obs["variance"] == pytest.approx(0.0, abs=1e-10)
        assert obs["lyapunov_max"] == pytest.approx(math.log(g), abs=1e-8)
        return
    q = optimize.brentq(excess, 1e-6, 10 * g * g, xtol=1e-14)
    gain2 = normal_mean(lambda u: (1 - math.tanh(u) ** 2) ** 2, q)
    assert obs["variance"] == pytest.approx(q, rel=1e-8)
    assert obs["lyapunov_max"] == pytest.approx(math.log(g * math.sqrt(gain2)), abs=1e-7)
    assert result.method == "map"


def test_map_time_units_follow_the_models_step():
    """A map whose leak per step (δ/τ) differs from its step δ: lags in physical time."""
    p = ft.parameters(g=(2.0, "positive"), delta=(0.5, (1e-9, 1)), tau=(2.0, "positive"))
    g, delta, tau = p.symbols
    n = ft.n
    slow = ft.Model("slow_map", ft.langevin(
        {x: x(n) + delta / tau * (-x(n) + J @ ft.tanh(x(n)))}, None,
        {J: ft.Gaussian(0, g**2)}, p, time=ft.discrete(step=delta)), "τ = 2 map")
    # the same network as the shipped map with δ' = δ/τ, in units where the leak time is 1
    reference = ft.solve("map", {"g": 2.0, "delta": 0.25}, tau_max=10.0, dtau=0.25)
    result = ft.solve(slow, {"g": 2.0, "delta": 0.5, "tau": 2.0}, tau_max=20.0, dtau=0.5)
    ref, got = reference.observables, result.observables
    assert got["variance"] == pytest.approx(ref["variance"], rel=1e-10)
    np.testing.assert_allclose(got["autocorrelation"]["tau"], 2 * ref["autocorrelation"]["tau"])
    np.testing.assert_allclose(got["autocorrelation"]["values"], ref["autocorrelation"]["values"],
                               rtol=1e-9)
    assert got["lyapunov_max"] == pytest.approx(ref["lyapunov_max"] / 2, rel=1e-9)


def test_map_against_simulation_at_half_step():
    report, _, _ = ft.verify("map", {"g": 2.0, "delta": 0.5}, N=1000, trials=8, t_max=100.0,
                             t_burn=50.0, seed=3)
    assert report.passed, report


# ----------------------------------------------------------------------------- dispatch


def test_method_is_chosen_from_the_site_and_can_be_forced():
    module = generate("scs")
    assert module.choose_method(module.spec(g=2.0)) == "stationary"
    assert "transient" in module.METHODS
    with pytest.raises(ParameterError, match="'map' is not available"):
        ft.solve("scs", {"g": 2.0}, method="map")
    assert generate("map").METHODS == ("map",)
    # multi is inlined wherever it applies: forced on the one-φ site it cross-checks the
    # stationary runtime (both lattice solutions, O(step²) apart: step 0.02, Δ0 ~ 2)
    forced = ft.solve("scs", {"g": 2.0}, method="multi")
    auto = ft.solve("scs", {"g": 2.0})
    assert forced.method == "multi" and auto.method == "stationary"
    assert forced.observables["variance"] == pytest.approx(auto.observables["variance"],
                                                           abs=2 * 0.02**2)


def test_sinusoidal_input_drives_the_linear_mean_exactly():
    """Linear network, J0 = 0.5, I(t) = 0.4 sin(ωt): M obeys (1 + ∂t)M = J0 M + I(t), so
    M(t) = μ0 e^{−(1−J0)t} + ∫_0^t e^{−(1−J0)(t−s)} I(s) ds in closed form; the scheme's
    error is O(dt²) (bounded here by halving dt: error(dt) ≈ (coarse − fine)/3)."""
    p = ft.parameters(g=(0.5, "positive"), J0=0.5, I=0.0, D=(0.2, "nonnegative"))
    g, J0, I, D = p.symbols
    model = ft.Model("driven_linear", ft.langevin(
        {x: -x(t) + J @ x(t) + I}, {x: D}, {J: ft.Gaussian(J0, g**2)}, p), "linear, driven")
    w, amplitude, mu0, rate = 1.3, 0.4, 0.7, 0.5
    drive = {"I": lambda time: amplitude * np.sin(w * np.asarray(time, dtype=float))}
    fine = solve_transient(model, drive, t_max=8.0, dt=0.02, initial=(mu0, 0.5))
    coarse = solve_transient(model, drive, t_max=8.0, dt=0.04, initial=(mu0, 0.5))
    time = np.asarray(fine.t)
    exact = mu0 * np.exp(-rate * time) + amplitude * (
        rate * np.sin(w * time) - w * np.cos(w * time) + w * np.exp(-rate * time)
    ) / (rate**2 + w**2)
    bound = np.abs(np.asarray(coarse.mean) - np.asarray(fine.mean)[::2]) / 3
    np.testing.assert_array_less(np.abs(np.asarray(fine.mean)[::2] - exact[::2]),
                                 2 * bound + 1e-12)
    assert np.abs(np.asarray(fine.mean) - exact).max() < 1e-3  # the bound is not vacuous


def test_linear_partial_symmetry_through_the_generated_kernel_solver():
    """dx = (−x + Jx)dt + √D dW with corr(J_ij, J_ji) = ρ: the derived site has the kernel
    g²ρ∫R x and is Gaussian, so the generated module picks the kernel solver. Exact
    (elliptic law): R(ω) = [z − √(z² − 4g²ρ)]/(2g²ρ), z = 1 + iω, and
    C(ω) = D|R|²/(1 − g²|R|²); the variance is ∫dω/2π C(ω), done here by quadrature. The
    solver's lattice error is bounded by halving its step."""
    p = ft.parameters(g=(0.6, "positive"), rho=(0.5, (-1, 1)), D=(1.0, "nonnegative"))
    g, rho, D = p.symbols
    model = ft.Model("symmetric_linear", ft.langevin(
        {x: -x(t) + J @ x(t)}, {x: D}, {J: ft.Gaussian(0, g**2, rho)}, p), "ρ ≠ 0")
    for r in (0.5, -0.5):
        result = ft.solve(model, {"rho": r}, tau_max=6.0, dtau=0.5)
        finer = ft.solve(model, {"rho": r}, tau_max=6.0, dtau=0.5, options={"step_max": 0.01})
        assert result.method == "kernel"
        lattice = abs(result.observables["variance"] - finer.observables["variance"])
        k = 0.36 * r  # g²ρ

        def spectrum(omega, k=k):
            z = 1 + 1j * omega
            root = np.sqrt(z * z - 4 * k)
            if root.real < 0:  # the branch with R → 1/z at large |z|
                root = -root
            response = (z - root) / (2 * k)
            return 1.0 * abs(response) ** 2 / (1 - 0.36 * abs(response) ** 2)

        value, _ = integrate.quad(spectrum, -np.inf, np.inf, epsabs=1e-12, epsrel=1e-11)
        error = abs(result.observables["variance"] - value / (2 * np.pi))
        assert error <= 2 * lattice + 1e-10 * value  # + the quadrature's own tolerance
