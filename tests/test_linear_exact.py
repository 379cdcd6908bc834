r"""The noisy linear network against its exact solution.

∂_t x = (−1 + J) x + ξ, J_ij ~ N(0, g²/N), ⟨ξξ⟩ = D δ. As N → ∞ and dt → 0,

    Δ(τ) = D / (2√(1−g²)) · exp(−√(1−g²) |τ|)                       (SCIENCE.md §1).

The simulation differs from that limit in three ways, each bounded here by an independent,
exact computation rather than a tuned tolerance:

* statistical error — the simulator's own standard error (3 SE);
* finite step dt — the scheme x ← b x + c J x + √q ξ with b = e^{−dt}, c = 1 − e^{−dt}
  and q = D(1 − e^{−2dt})/2 (the exact OU noise over a step) is itself a linear map whose
  N → ∞ autocorrelation is exact: in Fourier space S(ω) = q / (1 + b² − c²g² − 2b cos ω),
  so Δ_dt(k) = q (λ/b) λ^{|k|} / (1 − λ²) with λ + 1/λ = (1 + b² − c²g²)/b;
* finite N — for a given J the scheme's stationary covariance solves the discrete Lyapunov
  equation C = A C Aᵀ + q·1 (A = b + cJ) exactly; (1/N) tr(A^k C) over several J at a
  small N_s gives both the O(1/N) mean shift and the O(1/N) spread between realisations
  (checked: the spread × N is constant over N_s = 100…400), rescaled by N_s/N.

The standard error comes from 20 time blocks (blocks of 10 ≫ the correlation time 1.15),
enough degrees of freedom for a trustworthy error bar.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg

import fieldtheory as ft
from fieldtheory.simulate import simulate

G, D, DT = 0.5, 1.0, 0.05
N, N_SMALL, REALISATIONS = 2000, 200, 12


def continuum(tau: np.ndarray, g: float = G, d: float = D) -> np.ndarray:
    rate = math.sqrt(1 - g**2)
    return d / (2 * rate) * np.exp(-rate * np.abs(tau))


def discrete_scheme(lags: np.ndarray, dt: float, g: float = G, d: float = D) -> np.ndarray:
    """N → ∞ autocorrelation of the exponential-Euler scheme at step dt, in steps ``lags``."""
    b, c = math.exp(-dt), 1 - math.exp(-dt)
    a = 1 + b**2 - (c * g) ** 2
    lam = (a - math.sqrt(a**2 - 4 * b**2)) / (2 * b)
    return d * -math.expm1(-2 * dt) / 2 * (lam / b) * lam ** np.abs(lags) / (1 - lam**2)


def finite_size_shift(lags: np.ndarray, dt: float, g: float = G, d: float = D) -> np.ndarray:
    """E_J[(1/N_s) tr(A^k C)] − Δ_dt(k) at N_s = N_SMALL, from exact Lyapunov solutions."""
    b, c = math.exp(-dt), 1 - math.exp(-dt)
    rng = np.random.default_rng(20261128)
    curves = []
    for _ in range(REALISATIONS):
        J = rng.standard_normal((N_SMALL, N_SMALL)) * g / math.sqrt(N_SMALL)
        A = b * np.eye(N_SMALL) + c * J
        C = scipy.linalg.solve_discrete_lyapunov(A, d * -math.expm1(-2 * dt) / 2
                                                 * np.eye(N_SMALL))
        curve, power = [], np.eye(N_SMALL)
        for _k in range(int(lags.max()) + 1):
            curve.append(np.trace(power @ C) / N_SMALL)
            power = A @ power
        curves.append(np.array(curve)[lags.astype(int)])
    curves = np.array(curves)
    mean = curves.mean(axis=0)
    spread = curves.std(axis=0, ddof=1)
    # the mean shift plus its own 3σ uncertainty, plus 3× the spread of one realisation
    # about that mean (a single J is simulated): a bound, not an estimate; both ∝ 1/N
    return np.abs(mean - discrete_scheme(lags, dt, g, d)) + 3 * spread * (
        1 + 1 / math.sqrt(REALISATIONS))


def test_discrete_scheme_tends_to_continuum():
    """The exact-scheme reference itself converges to Δ(τ) at second order in dt: with the
    noise entering at its exact OU variance only the held coupling term errs, and for this
    linear network that error is O(dt²) in the stationary autocorrelation (lags on the
    grid: τ/dt integral)."""
    tau = np.linspace(0, 4, 9)
    steps = (0.02, 0.01, 0.005, 0.0025)
    errors = []
    for dt in steps:
        errors.append(np.max(np.abs(discrete_scheme(np.round(tau / dt), dt) - continuum(tau))))
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert slope == pytest.approx(2.0, abs=0.05)


def test_linear_network_matches_exact_autocorrelation():
    model = ft.load_model("linear")
    result = simulate(model, {"g": G, "D": D}, N=N, t_max=200.0, t_burn=30.0, dt=DT,
                      tau_max=4.0, dtau=0.5, seed=3, blocks=20)
    obs, se = result.observables, result.stderr
    tau = np.asarray(obs["autocorrelation"]["tau"])
    values = np.asarray(obs["autocorrelation"]["values"])
    errors = np.asarray(se["autocorrelation"]["values"])
    lags = np.round(tau / DT)
    step_allowance = np.abs(discrete_scheme(lags, DT) - continuum(tau))
    size_allowance = finite_size_shift(lags, DT) * N_SMALL / N
    deviation = np.abs(values - continuum(tau))
    assert np.all(deviation <= 3 * errors + step_allowance + size_allowance), (
        deviation, errors, step_allowance, size_allowance)
    # sharper: against the exact N → ∞ solution of the scheme itself (no dt allowance)
    scheme = np.abs(values - discrete_scheme(lags, DT))
    assert np.all(scheme <= 3 * errors + size_allowance), (scheme, errors, size_allowance)
    # the reference must be sharp enough for the test to mean something
    assert np.all(3 * errors + step_allowance + size_allowance < 0.1 * continuum(tau[:1]))
    assert values[0] == pytest.approx(obs["variance"], rel=1e-12)
