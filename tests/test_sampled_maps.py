r"""Maps whose site is sampled (issue 12: ρ ≠ 0 with a nonlinear φ in discrete time).

The Monte-Carlo runtime runs the lowered map itself, x(n+1) = (1 − a)x + r(x) + μ + η(n) +
Σ_j κ_j Σ_l R_j(l) h_j(x(n − l)) + √D ξ(n), with the tangent started by a unit source in
the kick's step (R(0) = 0, R_x(1) = 1); the sampled fluctuation runtime takes the sampled
curves as Fourier series over the lags (:mod:`~fieldtheory.solvers.runtime.monte_carlo`,
"Maps"; :mod:`~fieldtheory.solvers.runtime.fluctuations_sampled`). Checked here, on maps
declared in the tests (parameters in the leak δ, the gain inside φ, the noise, g and ρ):

* the sampled route forced on a *linear* map with partial symmetry, against the exact
  kernel runtime and the Gaussian 1/N route (saddle: variance and lags within 4 errors,
  the response to 1e-8 — a linear site's tangent is deterministic; PR/N and N·Var of the
  population average within 4 jackknife errors);
* the sampled saddle of a tanh map with ρ = 0 against the exact lag equation (`map`);
* a tanh map with ρ = ±0.5 against simulated networks (cross-block PR, N = 1000).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import fieldtheory as ft
from fieldtheory.simulate import simulate

x, J, n = ft.Field("x"), ft.Coupling("J"), ft.n


def _map(linear: bool) -> ft.Model:
    p = ft.parameters(g=(1.5, "positive"), delta=(0.5, (1e-9, 1)), D=(0.3, "nonnegative"),
                      rho=(0.0, (-1, 1)), s=(1.0, "positive"))
    g, delta, D, rho, s = p.symbols
    phi = s * x(n) if linear else ft.tanh(s * x(n))
    return ft.Model("map_rho_linear" if linear else "map_rho_tanh", ft.langevin(
        {x: (1 - delta) * x(n) + delta * (J @ phi)}, {x: delta * D},
        {J: ft.Gaussian(0, g**2, rho)}, p, time=ft.discrete(step=delta)), "map, ρ")


SAMPLING = {"paths": 128, "replicas": 4, "seed": 1, "t_record": 800.0}


def test_sampled_linear_map_with_partial_symmetry_is_the_exact_one():
    """g = 0.7, s = 0.9 (gain g·s = 0.63 per step), ρ = −0.5, δ = 0.5, D = 0.4: the whole
    sampled route (Monte-Carlo map with its memory kernel, sampled curves as Fourier
    series, the Hessian with the response fields of ρ) forced on the linear map, against
    the kernel runtime's Fourier series and the Gaussian 1/N route: the saddle's variance
    and lags within 4 errors and its response to 1e-8 (a linear site's tangent is
    deterministic); PR/N and N·Var of the population average within 4 jackknife errors,
    errors < 1 %."""
    model, values = _map(True), {"g": 0.7, "s": 0.9, "rho": -0.5, "D": 0.4}
    exact = ft.solve(model, values, order="1/N", tau_max=3.0, dtau=0.5)
    sampled = ft.solve(model, values, order="1/N", tau_max=3.0, dtau=0.5, options={
        "sampled": True, "monte_carlo": SAMPLING})
    assert exact.method == "kernel+gaussian_fluctuations"
    assert sampled.method == "monte_carlo+sampled_fluctuations"
    o, e, ex = sampled.observables, sampled.stderr, exact.observables
    assert abs(o["variance"] - ex["variance"]) < 4 * e["variance"]
    assert e["variance"] < 0.02 * o["variance"]
    curve = np.asarray(o["autocorrelation"]["values"])
    assert np.all(np.abs(curve - ex["autocorrelation"]["values"])
                  < 4 * np.asarray(e["autocorrelation"]["values"]))
    np.testing.assert_allclose(o["response"]["values"], ex["response"]["values"], atol=1e-8)
    assert o["response"]["values"][1] == 1.0 and o["response"]["values"][0] == 0.0
    pr, error = o["dimension"]["pr_x"], e["dimension"]["pr_x"]
    assert 0 < error < 0.01 * pr
    assert abs(pr - ex["dimension"]["pr_x"]) < 4 * error
    assert abs(o["population_variance"]["x"] - ex["population_variance"]["x"]) < (
        4 * e["population_variance"]["x"])


def test_sampled_tanh_map_without_kernel_is_the_lag_equation():
    """ρ = 0: the site is the `map` runtime's (exact lag equation); the Monte-Carlo map
    must meet its variance and lags within 4 errors."""
    model, values = _map(False), {"g": 1.5, "D": 0.3}
    exact = ft.solve(model, values, tau_max=3.0, dtau=0.5)
    sampled = ft.solve(model, values, tau_max=3.0, dtau=0.5, method="monte_carlo",
                       options=SAMPLING)
    assert exact.method == "map"
    o, e = sampled.observables, sampled.stderr
    for key in ("variance", "mean_gain"):
        assert abs(o[key] - exact.observables[key]) < 4 * e[key], key
    curve = np.asarray(o["autocorrelation"]["values"])
    assert np.all(np.abs(curve - exact.observables["autocorrelation"]["values"])
                  < 4 * np.asarray(e["autocorrelation"]["values"]))


@pytest.mark.parametrize(("g", "D", "rho", "window"), [(1.5, 0.3, -0.5, 60.0)])
def test_tanh_map_with_partial_symmetry_against_simulation(g, D, rho, window):
    """PR_x/N and PR_φ/N of the sampled theory against the cross-block PR of 4 networks of
    N = 1000 (1600 steps), within 4 combined errors plus 2/N. Measured: ρ = −0.5
    0.321 ± 0.009 against 0.331 ± 0.008; ρ = +0.5 0.495 ± 0.006 against 0.499 ± 0.010
    (N = 500: 0.528 ± 0.006 — finite-size excess ≈ 16/N). ρ = +0.5 needs the longer
    window (its C_x decays slowly: refused with the default 60), which ρ = −0.5 does not
    (there it triples the theory's error). Only ρ = −0.5 runs in the suite (its time
    budget); ρ = +0.5 (g = 1, D = 1, window 80) passed the same check when it was written
    and is quoted in docs/models/map.md."""
    model, values = _map(False), {"g": g, "D": D, "rho": rho}
    solved = ft.solve(model, values, order="1/N", tau_max=8.0, options={"monte_carlo": {
        "paths": 64, "seed": 4, "t_record": 800.0, "window": window}})
    assert solved.method == "monte_carlo+sampled_fluctuations"
    theory, error = solved.observables["dimension"], solved.stderr["dimension"]
    N = 1000
    result = simulate(model, values, N=N, t_max=800.0, t_burn=40.0, dtau=0.5, tau_max=5.0,
                      blocks=8, trials=4, seed=5, observe=("dimension",))
    o, e = result.observables["dimension"], result.stderr["dimension"]
    for key in ("pr_x", "pr_phi"):
        assert 0 < error[key] < 0.04 * theory[key], key
        assert abs(o[key] - theory[key]) < 4 * math.hypot(e[key], error[key]) + 2 / N, key


def test_sampled_lyapunov_exponent_of_a_memoryless_map():
    """δ = 1 (b = 0), g = 1.5, D = 0: the tangent map y(n+1) = ξ(n)/Λ with ⟨ξξ⟩ =
    g²⟨φ'φ'y y⟩ gives Λ = g√⟨φ'²⟩ exactly (the `map` runtime's value); the sampled
    power iteration must meet it within 4 errors, errors < 5 %. (At δ = 0.5 the sampled
    exponent is biased low, as in continuous time where the tangent eigenvector is slow:
    g = 1.5, D = 0: 0.035 ± 0.003 and 0.038 ± 0.002 against 0.0459 and networks' 0.0456 ±
    0.0008 at N = 2000 — docs/models/map.md.)"""
    model, values = _map(False), {"g": 1.5, "delta": 1.0, "D": 0.0}
    exact = ft.solve(model, values).observables["lyapunov_max"]
    sampled = ft.solve(model, values, method="monte_carlo", options={
        **SAMPLING, "t_record": 400.0, "memory": 0, "damping": 0.5})
    lam, error = sampled.observables["lyapunov_max"], sampled.stderr["lyapunov_max"]
    assert 0 < error < 0.05 * exact
    assert abs(lam - exact) < 4 * error
    assert sampled.branch == "chaotic"
