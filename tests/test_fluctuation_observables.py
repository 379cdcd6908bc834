r"""O(1/N) observables from the fluctuation stage (issue 12, item 2).

The generic route (the Hessian of N·S lowered and inverted in frequency space,
:mod:`fieldtheory.solvers.runtime.fluctuations`) is checked against

* the published participation ratios (Clark, Abbott & Litwin-Kumar, PRL 131, 118401
  (2023); SCIENCE.md §2) in continuous time and for the δ = 0.5 map;
* the closed form Ψ^φ(ω₁, ω₂) = C_φ(ω₁)C_φ(ω₂)/|1 − g²S_φ(ω₁)S_φ(ω₂)|², S_φ = ⟨φ'⟩/(a + iω),
  integrated here on a uniform grid (another quadrature), on a model declared in the test
  with parameters in the leak, inside φ, in the noise and in the ensemble;
* the exact finite-N covariance of noisy linear networks (Lyapunov equation), including
  the population mode of a mean coupling J0;
* exact identities: the population spectrum's zero-frequency enhancement
  1/(1 − J0⟨φ'⟩)², and a two-population network with identical blocks, whose
  sub-population PR_α/N_α = C(0)²/(C(0)² + f_α ψ) follows from the one-population ψ.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.linalg
from support.ei_graph import ei_ensemble
from support.lyapunov import stationary_covariance

import fieldtheory as ft
from fieldtheory.errors import ParameterError

x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t


@pytest.fixture(scope="module")
def scs_g2():
    return ft.solve("scs", {"g": 2.0}, order="1/N")


def test_published_participation_ratios_continuous_time(scs_g2):
    """PR_φ/N = 0.019741, PR_x/N = 0.015915 (tanh, g = 2): the published digits, whose
    rounding is ±5e-7; the quadrature's own error estimate is far below."""
    dimension = scs_g2.observables["dimension"]
    assert dimension["pr_phi"] == pytest.approx(0.019741, abs=6e-7)
    assert dimension["pr_x"] == pytest.approx(0.015915, abs=6e-7)
    assert scs_g2.method == "stationary+gaussian_fluctuations"


def test_published_participation_ratios_of_the_map():
    """The δ = 0.5 map at g = 2: PR_φ/N = 0.026552, PR_x/N = 0.021390."""
    result = ft.solve("map", {"g": 2.0, "delta": 0.5}, order="1/N")
    dimension = result.observables["dimension"]
    assert dimension["pr_phi"] == pytest.approx(0.026552, abs=6e-7)
    assert dimension["pr_x"] == pytest.approx(0.021390, abs=6e-7)


def test_psi_is_the_excess_over_the_diagonal(scs_g2):
    """PR/N = C(0)²/(C(0)² + ψ(0, 0)) with C(0) the variance of x (of φ)."""
    o = scs_g2.observables
    for key, variance in (("x", o["variance"]),
                          ("phi", o["autocorrelation_phi"]["values"][0])):
        assert o["dimension"][f"pr_{key}"] == pytest.approx(
            variance**2 / (variance**2 + o["psi"][key]), rel=1e-12)


def _closed_form_pr_phi(result, gain_symbolic: float, a: float, g: float) -> float:
    """C_φ(0)² / ∬dω/(2π)² C_φ(ω₁)C_φ(ω₂)/|1 − g²S_φ(ω₁)S_φ(ω₂)|², S_φ = ⟨φ'⟩/(a + iω),
    on a uniform frequency grid from the FFT of the saddle's C_φ(τ) (trapezoid: exponential
    convergence for the analytic integrand)."""
    curve = result.observables["autocorrelation_phi"]
    tau, c = np.asarray(curve["tau"]), np.asarray(curve["values"])
    step = tau[1] - tau[0]
    # dω = 2π/600 resolves the resolvent's width 1 − g²⟨φ'⟩²/a² ≈ 0.03 (converged to ~1e-10:
    # dω = 2π/300 is off by 1.4e-5, 2π/1200 agrees to 1e-12)
    omega = np.arange(-1200, 1201) * (2 * math.pi / 600.0)
    c_omega = step * (c[0] + 2 * np.cos(np.outer(omega, tau[1:])) @ c[1:])
    s = gain_symbolic / (a + 1j * omega)
    dw = omega[1] - omega[0]
    # Ψ(0,0) = C(0)² + ∬ C₁C₂(resolvent − 1): the excess decays fast even where C(ω) has
    # the 1/ω² tail of a noisy site; h²/6·C'(0⁺) corrects the trapezoid at the τ = 0 kink
    c_omega += step**2 / 6 * (-3 * c[0] + 4 * c[1] - c[2]) / (2 * step)
    excess = 0.0
    for rows in np.array_split(np.arange(omega.size), 8):
        resolvent = 1.0 / np.abs(1 - g**2 * np.outer(s[rows], s)) ** 2
        excess += c_omega[rows] @ (resolvent - 1) @ c_omega
    return c[0] ** 2 / (c[0] ** 2 + excess * (dw / (2 * math.pi)) ** 2)


@pytest.mark.parametrize("values", [{"a": 1.3, "b": 0.8, "g": 2.5, "D": 0.0},
                                    {"a": 0.9, "b": 1.2, "g": 1.8, "D": 0.3}])
def test_pr_phi_matches_the_closed_form_on_a_model_declared_here(values):
    """dx = (−a x + J tanh(b x)) dt + √D dW: parameters in the leak, inside φ, in the noise
    and in the ensemble; the generic Hessian route against the closed form."""
    p = ft.parameters(a=(1.0, "positive"), b=(1.0, "positive"), g=(2.0, "positive"),
                      D=(0.0, "nonnegative"))
    a, b, g, D = p.symbols
    model = ft.Model("leaky_scaled", ft.langevin(
        {x: -a * x(t) + J @ ft.tanh(b * x(t))}, {x: D}, {J: ft.Gaussian(0, g**2)}, p),
        "leaky network with a scaled tanh")
    result = ft.solve(model, values, order="1/N", tau_max=120.0, dtau=0.05)
    gain = result.observables["mean_gain"]  # ⟨φ'⟩ of φ = tanh(b x): b⟨sech²(bx)⟩
    expected = _closed_form_pr_phi(result, gain, values["a"], values["g"])
    assert result.observables["dimension"]["pr_phi"] == pytest.approx(expected, rel=1e-6)


def test_noisy_linear_network_to_quadrature_precision():
    """φ = x, g = 0.5, D = 1: C(ω) = D/(ω² + 1 − g²) and S = 1/(1 + iω) are exact, so
    Ψ(0,0) = C(0)² + ∬ C₁C₂(1/|1 − g²S₁S₂|² − 1) by adaptive quadrature (scipy, 1e-11)
    is an independent value; the generic route resolves the 1/ω² tails of a noisy site
    (kink-subtracted transforms) to 1e-8."""
    from support.linear_quadrature import linear_psi_and_pr

    g, d = 0.5, 1.0
    psi, pr = linear_psi_and_pr(g, d)
    theory = ft.solve("linear", {"g": g, "D": d}, order="1/N").observables
    assert theory["psi"]["x"] == pytest.approx(psi, rel=1e-7)
    assert theory["dimension"]["pr_x"] == pytest.approx(pr, rel=1e-8)


def _closed_form_pr_x(result, a: float, g: float) -> float:
    r"""PR_x/N from the two-site cavity result for x (SCIENCE.md §2, D = 0): with
    F_kk = 1/(1 − g²|S_φ(ω_k)|²), F₁₂ = 1/(1 − g²S_φ(ω₁)S_φ(ω₂)), F₂₁ = F₁₂*,
    Ψ^x = C_φ(ω₁)C_φ(ω₂)/(⟨φ'⟩⁴F₁₁F₂₂) · [(F₁₁F₂₁ − 1)(F₁₂F₂₂ − 1) − (F₁₁ − 1)(F₁₂ − 1)
    − (F₂₁ − 1)(F₂₂ − 1)], summed on a uniform grid (another route than the Hessian's)."""
    o = result.observables
    gain = o["mean_gain"]
    curve = o["autocorrelation_phi"]
    tau, c = np.asarray(curve["tau"]), np.asarray(curve["values"])
    omega = np.arange(-1200, 1201) * (2 * math.pi / 600.0)
    c_omega = (tau[1] - tau[0]) * (c[0] + 2 * np.cos(np.outer(omega, tau[1:])) @ c[1:])
    s = gain / (a + 1j * omega)
    diagonal = 1 / (1 - g**2 * np.abs(s) ** 2)
    total = 0.0
    for rows in np.array_split(np.arange(omega.size), 8):
        f11, f22 = diagonal[rows][:, None], diagonal[None, :]
        f12 = 1 / (1 - g**2 * np.outer(s[rows], s))
        f21 = np.conj(f12)
        bracket = ((f11 * f21 - 1) * (f12 * f22 - 1) - (f11 - 1) * (f12 - 1)
                   - (f21 - 1) * (f22 - 1))
        total += np.sum(np.real(np.outer(c_omega[rows], c_omega) * bracket
                                / (gain**4 * f11 * f22)))
    total *= ((omega[1] - omega[0]) / (2 * math.pi)) ** 2
    return o["variance"] ** 2 / total


@pytest.mark.parametrize(("model", "values", "a"), [
    ("scs", {"g": 2.0}, 1.0), ("scs", {"g": 3.0}, 1.0), ("scs_erf", {"g": 2.5}, 1.0)])
def test_pr_x_matches_the_cavity_route(model, values, a):
    """The second route for x (issue 12, item 3): the two-site cavity formula against the
    Hessian route, 1e-6 relative (Gaussian sites, D = 0)."""
    result = ft.solve(model, values, order="1/N", tau_max=120.0, dtau=0.05)
    expected = _closed_form_pr_x(result, a, values["g"])
    assert result.observables["dimension"]["pr_x"] == pytest.approx(expected, rel=1e-6)


def _linear_model():
    p = ft.parameters(g=(0.5, "positive"), D=(1.0, "nonnegative"), J0=(0.0, "real"))
    g, D, J0 = p.symbols
    return ft.Model("linear_j0", ft.langevin(
        {x: -x(t) + J @ x(t)}, {x: D}, {J: ft.Gaussian(J0, g**2)}, p), "noisy linear")


def _lyapunov(n: int, g: float, j0: float, seeds: int, d: float = 1.0, rho: float = 0.0,
              delta: float | None = None):
    """Exact stationary covariances of ∂_t x = (−1 + J)x + ξ for sampled J (corr(J_ij,
    J_ji) = ρ) — or of the map x(n+1) = (1 − δ)x + δJx + √(δd)ξ (``delta``: the discrete
    Lyapunov equation Σ = WΣWᵀ + δd·1) —: PR/N, N·Var of the population average,
    N·mean_{i≠j}C_ij(0), per realisation."""
    rng = np.random.default_rng(20261205)
    out = []
    one = np.ones(n)
    for _ in range(seeds):
        z = rng.standard_normal((n, n))
        symmetric, antisymmetric = (z + z.T) / math.sqrt(2), (z - z.T) / math.sqrt(2)
        coupling = (math.sqrt((1 + rho) / 2) * symmetric
                    + math.sqrt((1 - rho) / 2) * antisymmetric)
        a = -np.eye(n) + coupling * g / math.sqrt(n) + j0 / n
        if delta is None:
            c = stationary_covariance(a, d * np.eye(n))
        else:
            c = scipy.linalg.solve_discrete_lyapunov(np.eye(n) + delta * a, delta * d * np.eye(n))
        total = one @ c @ one
        out.append((np.trace(c) ** 2 / (n * np.sum(c * c)), total / n,
                    (total - np.trace(c)) / (n - 1)))
    return np.array(out)


def test_linear_network_against_its_exact_finite_n_covariance():
    """g = 0.5, D = 1: PR/N, and with J0 = 0.5 the population variance and the mean
    cross-covariance, against Lyapunov solutions at N = 400 (6 networks). Allowance: 4
    standard errors of the network-to-network spread, plus 2/N relative for PR (the O(1/N)
    shift, measured between N = 300 and 600: ≈ 1e-3)."""
    model = _linear_model()
    theory = ft.solve(model, {"g": 0.5, "D": 1.0}, order="1/N").observables
    exact = _lyapunov(400, 0.5, 0.0, 6)
    mean, err = exact.mean(axis=0), exact.std(axis=0, ddof=1) / math.sqrt(len(exact))
    assert abs(theory["dimension"]["pr_x"] - mean[0]) < 4 * err[0] + 2 / 400
    assert theory["population_variance"]["x"] == pytest.approx(1 / (2 * math.sqrt(0.75)),
                                                               rel=1e-8)
    assert abs(theory["population_variance"]["x"] - mean[1]) < 4 * err[1]
    with_mean = ft.solve(model, {"g": 0.5, "D": 1.0, "J0": 0.5}, order="1/N").observables
    exact = _lyapunov(400, 0.5, 0.5, 6)
    mean, err = exact.mean(axis=0), exact.std(axis=0, ddof=1) / math.sqrt(len(exact))
    assert abs(with_mean["population_variance"]["x"] - mean[1]) < 4 * err[1]
    assert abs(with_mean["cross_covariance"]["values"][0] - mean[2]) < 4 * err[2]
    assert with_mean["cross_covariance"]["values"][0] > 0.3  # J0 > 0 correlates the units


@pytest.mark.parametrize("rho", [0.5, -0.5])
def test_partially_symmetric_linear_network_against_lyapunov(rho):
    """ρ ≠ 0 (a Gaussian site with the self-consistent elliptic-law response): PR/N and
    the single-unit variance against exact covariances at N = 400 (6 networks), 4 standard
    errors plus 2/N relative."""
    p = ft.parameters(g=(0.5, "positive"), D=(1.0, "nonnegative"), rho=(0.0, (-1, 1)))
    g, D, r = p.symbols
    model = ft.Model("linear_rho", ft.langevin(
        {x: -x(t) + J @ x(t)}, {x: D}, {J: ft.Gaussian(0, g**2, r)}, p), "linear, ρ")
    theory = ft.solve(model, {"g": 0.5, "D": 1.0, "rho": rho}, order="1/N").observables
    exact = _lyapunov(400, 0.5, 0.0, 6, rho=rho)
    mean, err = exact.mean(axis=0), exact.std(axis=0, ddof=1) / math.sqrt(len(exact))
    assert abs(theory["dimension"]["pr_x"] - mean[0]) < 4 * err[0] + 2 / 400
    # ρ > 0 (more symmetric) lowers the dimension, ρ < 0 raises it (ρ = 0: 0.84773)
    assert (theory["dimension"]["pr_x"] - 0.8477) * rho < 0


@pytest.mark.parametrize(("g", "rho"), [(0.6, 0.5), (0.8, -0.5)])
def test_partially_symmetric_linear_map_against_lyapunov(g, rho):
    """A map with ρ ≠ 0 (its saddle from the kernel runtime's Fourier series, the Hessian
    with the discrete response 1/(e^{iθ} − b − Kχ)): PR/N and N·Var of the population
    average against exact covariances at N = 400 (6 networks), 4 standard errors plus 2/N
    for PR."""
    p = ft.parameters(g=(0.5, "positive"), D=(1.0, "nonnegative"), rho=(0.0, (-1, 1)),
                      delta=(0.5, (1e-9, 1)))
    g_, D, r, delta = p.symbols
    n = ft.n
    model = ft.Model("linear_rho_map", ft.langevin(
        {x: (1 - delta) * x(n) + delta * (J @ x(n))}, {x: delta * D},
        {J: ft.Gaussian(0, g_**2, r)}, p, time=ft.discrete(step=delta)), "linear map, ρ")
    theory = ft.solve(model, {"g": g, "D": 0.3, "rho": rho}, order="1/N").observables
    exact = _lyapunov(400, g, 0.0, 6, d=0.3, rho=rho, delta=0.5)
    mean, err = exact.mean(axis=0), exact.std(axis=0, ddof=1) / math.sqrt(len(exact))
    assert abs(theory["dimension"]["pr_x"] - mean[0]) < 4 * err[0] + 2 / 400
    assert abs(theory["population_variance"]["x"] - mean[1]) < 4 * err[1]
    iid = ft.solve(model, {"g": g, "D": 0.3}, order="1/N").observables
    assert (theory["dimension"]["pr_x"] - iid["dimension"]["pr_x"]) * rho < 0


@pytest.mark.parametrize("j0", [1.0, 1.5, 1.8])
def test_population_mode_zero_frequency_enhancement(scs_g2, j0):
    """With J0 the uniform mode sees the loop gain J0 S_φ(ω); at ω = 0,
    N·S_φ(0; J0) = N·S_φ(0; 0)/(1 − J0⟨φ'⟩)² exactly (the saddle does not move: ⟨φ⟩ = 0),
    and N·S_x(0; J0) − C_x(ω = 0) grows like it: critical slowing towards J0c = 1/⟨φ'⟩."""
    result = ft.solve("scs", {"g": 2.0, "J0": j0}, order="1/N").observables
    base = scs_g2.observables
    gain = base["mean_gain"]
    ratio = (result["population_spectrum_phi"]["values"][0]
             / base["population_spectrum_phi"]["values"][0])
    assert ratio == pytest.approx(1 / (1 - j0 * gain) ** 2, rel=1e-10)
    assert result["population_variance"]["phi"] > base["population_variance"]["phi"]


def test_two_identical_populations_reduce_to_one():
    """E/I blocks all equal (declared here): the network is the SCS network, so the
    network PR is the SCS one and population α's PR_α/N_α = C(0)²/(C(0)² + f_α ψ)."""
    p = ft.parameters(f_E=(0.8, (0.01, 0.99)), g=(2.0, "positive"), J0=(0.0, "real"))
    s = {q.name: q.symbol for q in p}
    ensemble = ei_ensemble(s["f_E"], lambda *_: s["J0"], lambda *_: s["g"] ** 2)
    model = ft.Model("ei_equal", ft.langevin(
        {x: -x(t) + J @ ft.tanh(x(t))}, {}, {J: ensemble}, p), "E/I")
    ours = ft.solve(model, {"g": 2.0, "f_E": 0.7}, order="1/N").observables
    scs = ft.solve("scs", {"g": 2.0}, order="1/N").observables
    # the multi-population saddle solver agrees with the one-population one to ~1e-7
    assert ours["dimension"]["pr_x"] == pytest.approx(scs["dimension"]["pr_x"], rel=1e-5)
    c0, psi = scs["variance"], scs["psi"]["x"]
    for name, fraction in (("E", 0.7), ("I", 0.3)):
        population = ours.populations[name]
        assert population["dimension"]["pr_x"] == pytest.approx(
            c0**2 / (c0**2 + fraction * psi), rel=1e-5)
        assert population["population_variance"]["x"] == pytest.approx(c0, rel=1e-5)


def test_sites_outside_the_gaussian_runtime_are_refused_by_name():
    # (ρ ≠ 0 with a nonlinear φ is sampled: tests/test_fluctuations_sampled.py)
    with pytest.raises(ParameterError, match="mean"):
        ft.solve("scs", {"g": 2.0, "I": 0.3}, order="1/N")
    with pytest.raises(ParameterError, match="variance must be positive"):
        ft.solve("scs", {"g": 0.5}, order="1/N")  # the quiescent fixed point
    with pytest.raises(ParameterError, match="order"):
        ft.solve("scs", {"g": 2.0}, order="1/N²")


def test_cli_solve_order_one_over_n_json(run):
    code, out, _ = run("solve", "scs", "--order", "1/N", "--json", "-p", "J0=1")
    assert code == 0
    data = json.loads(out)  # strict: the fixture refuses NaN and Infinity
    o = data["observables"]
    assert set(o["dimension"]) == {"pr_x", "pr_phi"}
    assert set(o["psi"]) == {"x", "phi"}
    assert set(o["population_variance"]) == {"x", "phi"}
    for key, axis in (("population_spectrum", "omega"), ("population_spectrum_phi", "omega"),
                      ("cross_covariance", "tau")):
        assert len(o[key][axis]) == len(o[key]["values"]) > 10
    assert 0 < o["dimension"]["pr_phi"] <= 1


def test_two_linear_couplings_add_their_variances():
    """J x + K x with independent J, K (gains g_J, g_K) is one coupling of gain
    √(g_J² + g_K²): the Hessian over two order parameters (C_J, C_K and their
    conjugates) must give the one-coupling ψ exactly."""
    k = ft.Coupling("K")
    p = ft.parameters(gj=(0.3, "positive"), gk=(0.4, "positive"), D=(1.0, "nonnegative"))
    gj, gk, D = p.symbols
    model = ft.Model("two_linear_couplings", ft.langevin(
        {x: -x(t) + J @ x(t) + k @ x(t)}, {x: D},
        {J: ft.Gaussian(0, gj**2), k: ft.Gaussian(0, gk**2)}, p), "J + K")
    ours = ft.solve(model, {"gj": 0.3, "gk": 0.4, "D": 0.7}, order="1/N").observables
    one = ft.solve("linear", {"g": 0.5, "D": 0.7}, order="1/N").observables
    assert ours["psi"]["x"] == pytest.approx(one["psi"]["x"], rel=1e-9)
    assert ours["dimension"]["pr_x"] == pytest.approx(one["dimension"]["pr_x"], rel=1e-10)
