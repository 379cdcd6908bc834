"""Correlated random modes (issue 13, item 4): the resummed determinant at the saddle point.

J = Σ_a d_a l_a r_aᵀ with corr(l_a, r_a) = ρσ_a: every order of the disorder average stays
in the saddle point, giving the site a resolvent kernel K(ω) = α⟨d²ρ²R/(1 − d²ρ²R²)⟩ and
a dressed input S(ω) = α⟨d²(1 + d²ρ²|R|²)/|1 − d²ρ²R²|²⟩ C(ω)
(fieldtheory/transforms/resummation.py). Checks, each independent of the pipeline:

* the runtime's kernel against the closed form of the resummed series for an exponential
  response, K(τ) = αd²ρ²b e^{−τ} cosh(dρbτ) (flat spectrum), converging as dt²; its
  dressed input against a direct quadrature of the inverse Fourier integral;
* a linear network declared here (parameters in the leak, the input, the noise and every
  part of the ensemble): the theory against exact covariances of sampled networks
  (Lyapunov equation, static means included) and against the pointwise-in-ω resolvent
  equation R = 1/(λ + iω − K(R)); the unresummed theory (partial symmetry ρ², the second
  order only) is ruled out by the same networks;
* a non-Gaussian network declared here (nonlinear drift and φ, input, noise, correlated
  modes) against simulated networks, the second-order theory ruled out;
* the derivation prints the resummed term, the conjugates and the dressing; bad input is
  refused by name.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import sympy as sp

import fieldtheory as ft
from fieldtheory.errors import ActionStructureError
from fieldtheory.solvers.runtime.common import ModeDressing

x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
A_, M_ = ft.MODE_INDEX, ft.MODE_COUNT


# ------------------------------------------------------------------ the runtime's transforms


def _flat(alpha, d, rho):
    return ModeDressing.from_shape(0, 0, 0, alpha=alpha, overlap=rho, variance=alpha * d**2,
                                   shape=lambda u: np.ones_like(u))


@pytest.mark.parametrize("rho", [0.5, -0.9])
def test_the_resolvent_kernel_is_the_resummed_series(rho):
    """Flat spectrum d, R(τ) = b e^{−τ}: Σ_k α d^{2k}ρ^{2k} R^{⋆(2k−1)} sums to
    αd²ρ²b e^{−τ}cosh(dρbτ); the discrete kernel approaches it as dt² (trapezoidal)."""
    alpha, d, b = 0.5, 1.2, 0.6
    dressing = _flat(alpha, d, rho)
    errors = []
    for dt in (0.05, 0.025):
        tau = dt * np.arange(round(40 / dt) + 1)
        weights = np.full(tau.size, dt)
        weights[[0, -1]] = dt / 2
        k = dressing.kernel(weights * b * np.exp(-tau))
        exact = alpha * d**2 * rho**2 * b * np.exp(-tau) * np.cosh(d * rho * b * tau)
        interior = (tau > 0) & (tau < 10)
        errors.append(np.abs(k[interior] / dt - exact[interior]).max() / exact[0])
    assert errors[0] < 2e-3
    assert 3.0 < errors[0] / errors[1] < 5.0  # second order in dt


def test_the_dressed_input_is_the_inverse_transform_of_the_filtered_spectrum():
    """S(τ) from the runtime (FFT on the lag grid, plateau times the filter at ω = 0)
    against (1/π)∫₀^∞ F(ω) Ĉ(ω) cos ωτ dω by adaptive quadrature, Ĉ = 2c/(1 + ω²)."""
    alpha, d, rho, b, c, plateau = 0.8, 1.0, 0.7, 0.5, 0.4, 0.3
    dressing = _flat(alpha, d, rho)
    dt = 0.02
    tau = dt * np.arange(round(40 / dt) + 1)
    weights = np.full(tau.size, dt)
    weights[[0, -1]] = dt / 2
    S = dressing.noise(c * np.exp(-tau) + plateau, weights * b * np.exp(-tau))
    a2 = (d * rho) ** 2

    def filt(w):
        R = b / (1 + 1j * w)
        return alpha * d**2 * (1 + a2 * abs(R) ** 2) / abs(1 - a2 * R**2) ** 2

    for lag in (0.0, 0.5, 2.0):
        value = scipy.integrate.quad(lambda w: filt(w) * 2 * c / (1 + w * w), 0, np.inf,
                                     weight="cos", wvar=lag)[0] / math.pi if lag else (
            scipy.integrate.quad(lambda w: filt(w) * 2 * c / (1 + w * w), 0, np.inf)[0]
            / math.pi)
        assert S[round(lag / dt)] == pytest.approx(value + filt(0.0) * plateau, rel=2e-3)


# ------------------------------------------------------------------ a linear network


PARAMETERS = ft.parameters(
    lam=(1.2, "positive", "leak"),
    I=(0.1, "real", "input"),
    D=(0.5, "nonnegative", "noise"),
    alpha=(0.25, "positive", "mode density"),
    beta=(1.0, "nonnegative", "spectral decay"),
    g=(0.3, "positive", "effective gain"),
    rho=(0.8, (-1, 1), "mode overlap"),
)


def linear_model() -> ft.Model:
    lam, I, D, alpha, beta, g, rho = PARAMETERS.symbols
    ensemble = ft.RandomMode(alpha=alpha, spectrum=sp.exp(-beta * (A_ - sp.Rational(1, 2)) / M_),
                             gain=g, overlap=rho)
    action = ft.langevin(drift={x: -lam * x(t) + J @ x(t) + I}, noise={x: D},
                         couplings={J: ensemble}, parameters=PARAMETERS)
    return ft.Model("linear_overlap", action, "linear, correlated random modes", "test")


def _resolvent_theory(v: dict, resummed: bool = True) -> tuple[float, float]:
    """Mean and variance from R(ω) = 1/(λ + iω − K(R(ω))) solved pointwise, the input
    spectrum S = F(ω)·C(ω) solved for C = |R|²(D + S), the static part through ω = 0."""
    u, w = np.polynomial.legendre.leggauss(64)
    u, w = (u + 1) / 2, w / 2
    s = np.exp(-v["beta"] * u)
    d = s * math.sqrt(v["g"] ** 2 / (v["alpha"] * np.sum(w * s**2)))
    weight, a2 = v["alpha"] * w, (d * v["rho"]) ** 2
    if not resummed:  # second order only: a Gaussian ensemble with partial symmetry ρ²
        weight, d = np.array([1.0]), np.array([v["g"]])
        a2 = np.array([(v["g"] * v["rho"]) ** 2])

    def kernel(R):
        if not resummed:
            return a2[0] * R
        return np.sum(weight[:, None] * a2[:, None] * R / (1 - a2[:, None] * R**2), axis=0)

    def solve(omega):
        R = 1 / (v["lam"] + 1j * omega)
        for _ in range(10_000):
            new = 1 / (v["lam"] + 1j * omega - kernel(R))
            if np.max(np.abs(new - R)) < 1e-14:
                break
            R = 0.5 * (R + new)
        if not resummed:
            return R, np.full(R.shape, v["g"] ** 2)
        F = np.sum(weight[:, None] * d[:, None] ** 2 * (1 + a2[:, None] * np.abs(R) ** 2)
                   / np.abs(1 - a2[:, None] * R**2) ** 2, axis=0)
        return R, F

    R0, F0 = solve(np.zeros(1))
    mean = float((v["I"] * R0).real[0])
    static = float(F0[0] * mean**2 / (1 - F0[0] * abs(R0[0]) ** 2) * abs(R0[0]) ** 2)
    # ∫₀^∞ C dω/π with ω = tan θ and Gauss–Legendre in θ ∈ (0, π/2) (C ~ D/ω² far out)
    theta, w_theta = np.polynomial.legendre.leggauss(400)
    theta, w_theta = (theta + 1) * math.pi / 4, w_theta * math.pi / 4
    omega = np.tan(theta)
    R, F = solve(omega)
    C = v["D"] * np.abs(R) ** 2 / (1 - np.abs(R) ** 2 * F)
    return mean, float(np.sum(w_theta * C / np.cos(theta) ** 2) / math.pi + static)


def _networks(v: dict, N: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per sampled network: the mean and variance over units of x in the stationary
    state — the static means (λ − J)⁻¹I plus the Lyapunov covariance, exactly."""
    model = linear_model()
    (_, ensemble), = model.action.couplings
    rng = np.random.default_rng(seed)
    means, variances = [], []
    for _ in range(count):
        coupling = ensemble.sample(rng, (N,), v).dense()
        A = coupling - v["lam"] * np.eye(N)
        assert np.linalg.eigvals(A).real.max() < 0
        mu = np.linalg.solve(-A, np.full(N, v["I"]))
        # Bartels–Stewart: these correlated-mode matrices are far from normal (the
        # eigenvector matrix's condition number reaches 1e11), no eigenvector route
        sigma = scipy.linalg.solve_continuous_lyapunov(A, -v["D"] * np.eye(N))
        means.append(mu.mean())
        variances.append(np.trace(sigma) / N + mu.var())
    return np.array(means), np.array(variances)


def test_linear_network_with_correlated_modes_against_exact_networks():
    v = PARAMETERS.defaults()
    result = ft.solve(linear_model(), v, options={"paths": 64, "replicas": 8,
                                                  "t_record": 100.0})
    assert result.method == "monte_carlo"
    theory = {"mean": result.observables["mean"], "variance": result.observables["variance"]}
    error = {k: result.stderr[k] for k in theory}
    mean, variance = _resolvent_theory(v)
    # the runtime (time domain, sampled paths) against the resolvent equation (ω by ω)
    # (the mean too is sampled: the static part of the input, g²μ² dressed, is quenched)
    assert abs(theory["mean"] - mean) < 4 * error["mean"]
    assert abs(theory["variance"] - variance) < 4 * error["variance"] + 1e-3 * variance
    # exact networks (N = 800, 8 of them): within their error and a 1 % finite-N allowance
    # (measured for these parameters, variance/theory − 1: +1.1 ± 0.6 %, +0.3 ± 0.5 % at
    # N = 500; +0.6 ± 0.4 %, +0.8 ± 0.6 % at 800; −0.2 ± 0.5 % at 1000)
    means, variances = _networks(v, 800, 8, seed=3)
    se = variances.std(ddof=1) / math.sqrt(variances.size)
    assert abs(variances.mean() - variance) < 4 * se + 0.01 * variance
    se_mean = means.std(ddof=1) / math.sqrt(means.size)
    assert abs(means.mean() - mean) < 4 * se_mean + 0.01 * mean
    # the second order alone (a partially symmetric Gaussian ensemble, ρ² = 0.64: 0.2207
    # against 0.2272 resummed) lies outside the networks' band
    _, bare = _resolvent_theory(v, resummed=False)
    assert abs(variances.mean() - bare) > 4 * se


# ------------------------------------------------------------------ derivation and refusals


def test_the_derivation_prints_the_resummed_saddle_point():
    d = ft.derive(linear_model())
    collective, saddle, site = (d.stage(n).text for n in ("collective_fields",
                                                            "saddle_point", "site"))
    assert "ln det(1 − d·[[ρσ R_xᵀ, C_x~], [C_x, ρσ R_x]])" in collective
    assert "R̃_x(t, s) = K_x(s, t)" in saddle and "C̃_x~(t, s) = (1/2)*S_x(t, s)" in saddle
    assert "K_x(ω) = α⟨d²ρ² R_x(ω)/(1 − d²ρ² R_x(ω)²)⟩_d" in saddle
    assert "∫ds K_x(t, s)*x(s)" in saddle
    assert "dressed by correlated random modes" in site and "s(u) = exp(-beta*u)" in site
    assert d.stage("saddle_point").latex and "\\frac{d^2\\rho^2" in d.stage("site").latex


def test_correlated_modes_refuse_what_they_cannot_resum():
    lam, _, _, alpha, _, g, rho = PARAMETERS.symbols
    ensemble = ft.RandomMode(alpha=alpha, spectrum=sp.Integer(1), gain=g, overlap=rho)
    scaled = ft.langevin(drift={x: -x(t) + lam * (J @ ft.tanh(x(t)))}, couplings={J: ensemble},
                         parameters=PARAMETERS)
    with pytest.raises(ActionStructureError, match=r"must enter the action once, as "
                                                   r"x̃_i\(t\) Σ_j J_ij B\(x_j\(t\)\)"):
        ft.derive(scaled)


# ------------------------------------------------------------------ nonlinear: simulation


def _nonlinear_variant(resummed: bool) -> ft.Model:
    """Declared here: a nonlinear drift −c x³, an input, noise, φ = erf(√π x/2), and
    correlated modes (α, β, g, ρ) — or, ``resummed`` False, the second order alone: a
    Gaussian ensemble of variance g² and partial symmetry ρ²."""
    c, I, D, alpha, beta, g, rho = NONLINEAR.symbols
    ensemble = (ft.RandomMode(alpha=alpha, spectrum=sp.exp(-beta * A_ / M_), gain=g,
                              overlap=rho) if resummed
                else ft.Gaussian(mean=0, variance=g**2, rho=rho**2))
    action = ft.langevin(drift={x: -x(t) - c * x(t) ** 3 + J @ ft.erf_sqrtpi(x(t)) + I},
                         noise={x: D}, couplings={J: ensemble}, parameters=NONLINEAR)
    return ft.Model("nonlinear_overlap" if resummed else "nonlinear_second_order", action,
                    "declared in the test", "test")


NONLINEAR = ft.parameters(c=(0.1, "nonnegative"), I=(0.2, "real"), D=(0.1, "nonnegative"),
                          alpha=(1.0, "positive"), beta=(0.5, "nonnegative"),
                          g=(1.6, "positive"), rho=(0.5, (-1, 1)))


def test_nonlinear_network_with_correlated_modes_against_simulation():
    """A non-Gaussian site (nonlinear drift and φ, input, noise; declared above): the
    resummed theory, sampled by the Monte-Carlo runtime, against simulated networks
    (N = 800, four of them): variance and mean within 4 combined errors (measured: 1.63 ±
    0.09 against 1.70 ± 0.03); the second-order theory (variance 1.20 ± 0.09) outside.
    (The shipped erf model at g = 1.5, overlap 0.5: 2.79 ± 0.08 against 2.84 ± 0.02 at
    N = 2000, examples/random_mode_overlap.py.)"""
    values = NONLINEAR.defaults()
    lags = {"tau_max": 5.0, "dtau": 0.5}
    cheap = {"paths": 48, "replicas": 4, "t_record": 60.0}
    theory = ft.solve(_nonlinear_variant(True), values, **lags, options=cheap)
    assert theory.method == "monte_carlo"
    bare = ft.solve(_nonlinear_variant(False), values, **lags, options=cheap)
    sim = ft.simulate(_nonlinear_variant(True), values, N=800, trials=4, t_max=100.0,
                      t_burn=50.0, seed=2, **lags)

    def at_zero(result, key):
        value = result.observables[key]
        error = result.stderr[key]
        if not np.isscalar(value):  # a curve: its value at τ = 0
            return value["values"][0], error["values"][0]
        return value, error

    for key in ("variance", "mean", "autocorrelation_phi"):
        (t_value, t_error), (s_value, s_error) = at_zero(theory, key), at_zero(sim, key)
        assert abs(t_value - s_value) < 4 * math.hypot(t_error, s_error), key
    (b_value, b_error), (s_value, s_error) = at_zero(bare, "variance"), at_zero(sim, "variance")
    assert abs(b_value - s_value) > 4 * math.hypot(b_error, s_error)
