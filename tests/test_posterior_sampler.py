"""Issue 15: the collapsed HMC sampler of a one-hidden-layer network's posterior.

Oracles: the exact one-weight posterior by quadrature (N = d = P = m = 1); the prior at
large T; the conditional expectations against explicit N × N Gaussian conditioning; the
gradient against finite differences; the exact interpolation at T = 0. Tolerances are
standard errors (t quantiles of the per-chain spread), or exact bounds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.stats

from fieldtheory.errors import ConvergenceError, ParameterError
from fieldtheory.simulate.posterior_sampler import (
    PosteriorSamples,
    _problem,
    collapsed_log_posterior,
    sample_posterior,
    split_rhat,
)

Z = 4.0  # |z| bound of single comparisons


def linear(h):
    return np.asarray(h, dtype=float).copy()


def linear_derivative(h):
    return np.ones_like(h)


def tanh_derivative(h):
    return 1.0 - np.tanh(h) ** 2


def _one_weight_moments(phi, x, y, sigma_w, sigma_a, T):
    """E[h²] and E[a²] under the exact posterior of the single weight (N = d = P = m = 1):
    p(w) ∝ N(w; 0, σ_w²) N(y; 0, C(w)), C = σ_a² φ(wx)² + T; given w, a is Gaussian with
    mean σ_a² b y/C and variance σ_a² − σ_a⁴ b²/C (b = φ(wx))."""

    def weight(w):
        C = sigma_a**2 * phi(w * x) ** 2 + T
        return math.exp(-0.5 * w**2 / sigma_w**2 - 0.5 * y**2 / C) / math.sqrt(C)

    def readout(w):
        b = phi(w * x)
        C = sigma_a**2 * b**2 + T
        return (sigma_a**2 * b * y / C) ** 2 + sigma_a**2 - sigma_a**4 * b**2 / C

    # the density is even in w (and vanishes at w = 0 when T = 0): integrate over w > 0
    def integral(f):
        return scipy.integrate.quad(lambda w: f(w) * weight(w), 0.0, np.inf, limit=200)[0]

    norm = integral(lambda w: 1.0)
    return integral(lambda w: (w * x) ** 2) / norm, integral(readout) / norm


@pytest.mark.parametrize("phi, dphi, T", [(linear, linear_derivative, 0.0),
                                          (np.tanh, tanh_derivative, 0.3)])
def test_one_weight_posterior_matches_quadrature(phi, dphi, T):
    x, y, sigma_w, sigma_a = 1.3, 0.8, 1.2, 0.9
    h2, a2 = _one_weight_moments(lambda u: float(phi(np.array(u))), x, y, sigma_w, sigma_a,
                                 T)
    result = sample_posterior([[x]], [[y]], phi, dphi, sigma_w=sigma_w, sigma_a=sigma_a,
                              gamma=1.0, T=T, N=1, samples=300, chains=16, leapfrog=8)
    kernel = result.observables["kernel_posterior"][0, 0]
    readout = result.observables["readout_second_moment"][0, 0]
    assert abs(kernel - h2) < Z * result.stderr["kernel_posterior"][0, 0], (kernel, h2)
    assert abs(readout - a2) < Z * result.stderr["readout_second_moment"][0, 0], (readout, a2)
    assert result.diagnostics["rhat"] <= 1.05
    assert 0.5 < result.diagnostics["acceptance"] < 0.95


def test_large_temperature_gives_the_prior():
    rng = np.random.default_rng(3)
    P, d, m, N, chains = 8, 5, 2, 64, 12
    X, Y = rng.standard_normal((P, d)), rng.standard_normal((P, m))
    sigma_w, sigma_a, T = 1.1, 0.7, 1e6
    result = sample_posterior(X, Y, np.tanh, tanh_derivative, sigma_w=sigma_w,
                              sigma_a=sigma_a, T=T, N=N, samples=150, chains=chains,
                              leapfrog=8)
    # E[HHᵀ/N] under the prior; the posterior differs by O(1/T), far below the errors.
    # Bonferroni over the P(P+1)/2 distinct entries, t quantile of the per-chain spread.
    prior = sigma_w**2 * X @ X.T / d
    upper = np.triu_indices(P)
    z = (result.observables["kernel_posterior"] - prior)[upper] / (
        result.stderr["kernel_posterior"][upper])
    bound = scipy.stats.t.ppf(1 - 0.001 / (2 * z.size), chains - 1)
    assert np.max(np.abs(z)) < bound, np.max(np.abs(z))
    # readout: |R2 − σ_a² I|_kl ≤ σ_a² s P (‖y_k‖‖y_l‖/τ² + δ_kl/τ) exactly for |φ| ≤ 1,
    # since ‖C⁻¹‖ ≤ 1/τ and tr sΦΦᵀ ≤ sPN (s = σ_a² N⁻², τ = T/N)
    s, tau = sigma_a**2 / N**2, T / N
    norms = np.linalg.norm(Y, axis=0)
    bound = sigma_a**2 * s * P * (np.outer(norms, norms) / tau**2 + np.eye(m) / tau)
    deviation = result.observables["readout_second_moment"] - sigma_a**2 * np.eye(m)
    assert np.all(np.abs(deviation) <= bound), (deviation, bound)


def test_conditional_expectations_match_explicit_conditioning():
    """The N × N-free formulas of one state against Σ_A and μ built explicitly."""
    rng = np.random.default_rng(5)
    P, d, m, N, Ps = 6, 4, 2, 9, 3
    X, Y, test = (rng.standard_normal((P, d)), rng.standard_normal((P, m)),
                  rng.standard_normal((Ps, d)))
    sigma_w, sigma_a, T, gamma = 0.8, 1.3, 0.4, 0.5
    problem = _problem(X, Y, test, np.tanh, tanh_derivative, sigma_w, sigma_a, gamma, T, N)
    Zw = rng.standard_normal((N, d))
    values = problem.observe(problem.initial(Zw))
    W = sigma_w * Zw
    B, B_test = (N**-gamma * np.tanh(M @ W.T / math.sqrt(d)) for M in (X, test))
    C = sigma_a**2 * B @ B.T + T / N * np.eye(P)
    sigma_A = sigma_a**2 * np.eye(N) - sigma_a**4 * B.T @ np.linalg.solve(C, B)
    mu = sigma_a**2 * B.T @ np.linalg.solve(C, Y)
    np.testing.assert_allclose(values["readout_second_moment"],
                               (mu.T @ mu + np.trace(sigma_A) * np.eye(m)) / N, rtol=1e-10)
    np.testing.assert_allclose(values["kernel_posterior"], (X @ W.T) @ (W @ X.T) / (d * N),
                               rtol=1e-10)
    np.testing.assert_allclose(values["mean"], B_test @ mu, rtol=1e-9)
    np.testing.assert_allclose(values["conditional_variance"],
                               np.diag(B_test @ sigma_A @ B_test.T), rtol=1e-9)


@pytest.mark.parametrize("gamma, T", [(1.0, 0.0), (0.5, 0.25)])
def test_gradient_matches_finite_differences(gamma, T):
    rng = np.random.default_rng(7)
    P, d, m, N = 5, 3, 2, 7
    X, Y = rng.standard_normal((P, d)), rng.standard_normal((P, m))
    W = rng.standard_normal((N, d))
    options = {"sigma_w": 0.9, "sigma_a": 1.1, "gamma": gamma, "T": T}
    _, gradient = collapsed_log_posterior(W, X, Y, np.tanh, tanh_derivative, **options)
    direction = rng.standard_normal((N, d))
    eps = 1e-6
    up = collapsed_log_posterior(W + eps * direction, X, Y, np.tanh, tanh_derivative,
                                 **options)[0]
    down = collapsed_log_posterior(W - eps * direction, X, Y, np.tanh, tanh_derivative,
                                   **options)[0]
    assert (up - down) / (2 * eps) == pytest.approx(np.vdot(gradient, direction), rel=1e-6)


def test_zero_temperature_interpolates_the_training_set():
    rng = np.random.default_rng(11)
    P, d, m, N = 4, 3, 2, 16
    X, Y = rng.standard_normal((P, d)), rng.standard_normal((P, m))
    result = sample_posterior(X, Y, np.tanh, tanh_derivative, sigma_w=1.0, sigma_a=1.0,
                              N=N, samples=20, chains=2, test=X, leapfrog=4, rhat_max=np.inf)
    assert isinstance(result, PosteriorSamples)
    prediction = result.observables["prediction"]
    np.testing.assert_allclose(prediction["mean"], Y, atol=1e-8)
    assert np.max(np.abs(prediction["variance"])) < 1e-8
    assert [state["W"].shape for state in result.last] == [(N, d)] * 2
    assert [state["mu"].shape for state in result.last] == [(N, m)] * 2
    # the readout means reproduce the targets: B μ = Y at T = 0
    phi = np.tanh(X @ result.last[0]["W"].T / math.sqrt(d)) / N
    np.testing.assert_allclose(phi @ result.last[0]["mu"], Y, atol=1e-8)


def test_single_chain_uses_batch_means_and_runs_are_reproducible():
    rng = np.random.default_rng(13)
    X, Y = rng.standard_normal((4, 3)), rng.standard_normal((4, 1))
    options = {"sigma_w": 1.0, "sigma_a": 1.0, "T": 0.5, "N": 8, "samples": 40,
               "leapfrog": 4, "rhat_max": np.inf, "seed": 2}
    one = sample_posterior(X, Y, np.tanh, tanh_derivative, chains=1, **options)
    assert np.all(np.isfinite(one.stderr["kernel_posterior"]))
    assert np.all(one.stderr["kernel_posterior"] > 0)
    again = sample_posterior(X, Y, np.tanh, tanh_derivative, chains=1, **options)
    np.testing.assert_array_equal(one.observables["kernel_posterior"],
                                  again.observables["kernel_posterior"])


def test_unconverged_run_raises_with_diagnostics():
    rng = np.random.default_rng(17)
    X, Y = rng.standard_normal((4, 3)), rng.standard_normal((4, 1))
    with pytest.raises(ConvergenceError, match=r"split-R̂ of \w+ is .* more samples") as info:
        sample_posterior(X, Y, np.tanh, tanh_derivative, sigma_w=1.0, sigma_a=1.0, T=0.5,
                         N=8, samples=8, chains=2, burn=2, leapfrog=2, rhat_max=1.0)
    assert info.value.diagnostics["rhat"] > 1.0
    assert info.value.history == tuple(info.value.diagnostics["rhat_by_observable"].values())


def test_split_rhat():
    rng = np.random.default_rng(19)
    same = rng.standard_normal((4, 1000))
    assert split_rhat(same) < 1.05
    shifted = same + np.array([0.0, 0.0, 1.0, 1.0])[:, None]
    assert split_rhat(shifted) > 1.1
    # a trend within chains is caught by the split
    drifting = same + np.linspace(0, 3, 1000)
    assert split_rhat(drifting) > 1.1
    both = split_rhat(np.stack([same, shifted], axis=2))
    assert both.shape == (2,) and both[0] < 1.05 < 1.1 < both[1]
    assert split_rhat(np.ones((3, 10))) == 1.0
    with pytest.raises(ParameterError, match="at least 4 draws"):
        split_rhat(np.zeros((2, 3)))


@pytest.mark.parametrize("change, message", [
    ({"Y": np.zeros((5, 1))}, "P = 4 rows but Y has 5"),
    ({"Y": np.zeros(4)}, "Y must be a non-empty 2-D array"),
    ({"X": np.full((4, 3), np.nan)}, "X has non-finite"),
    ({"test": np.zeros((2, 2))}, "test has d = 2 columns"),
    ({"gamma": 0.7}, "gamma = 0.7"),
    ({"T": -1.0}, "T = -1.0"),
    ({"sigma_w": 0.0}, "sigma_w = 0.0"),
    ({"sigma_a": -1.0}, "sigma_a = -1.0"),
    ({"N": 0}, "N = 0"),
    ({"samples": 2.5}, "samples = 2.5"),
    ({"chains": 0}, "chains = 0"),
    ({"N": 2}, "N = 2 < P = 4"),
])
def test_bad_input_is_refused_by_name(change, message):
    rng = np.random.default_rng(23)
    arguments = {"X": rng.standard_normal((4, 3)), "Y": rng.standard_normal((4, 1)),
                 "sigma_w": 1.0, "sigma_a": 1.0, "N": 8, "samples": 4, "chains": 2}
    arguments.update(change)
    X, Y = arguments.pop("X"), arguments.pop("Y")
    with pytest.raises(ParameterError, match=message):
        sample_posterior(X, Y, np.tanh, tanh_derivative, **arguments)


def test_zero_temperature_needs_an_invertible_kernel():
    """A linear φ with P > d: C = s ΦΦᵀ has rank d < P."""
    rng = np.random.default_rng(29)
    X, Y = rng.standard_normal((6, 2)), rng.standard_normal((6, 1))
    with pytest.raises(ParameterError, match=r"T = 0 needs an invertible C.*use T > 0"):
        sample_posterior(X, Y, linear, linear_derivative, sigma_w=1.0, sigma_a=1.0, T=0.0,
                         N=32, samples=4, chains=2)
    # at T > 0 the same data are fine
    sample_posterior(X, Y, linear, linear_derivative, sigma_w=1.0, sigma_a=1.0, T=0.1,
                     N=32, samples=4, chains=2, burn=4, rhat_max=np.inf)
