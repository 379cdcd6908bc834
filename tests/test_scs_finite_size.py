r"""SCS network, φ = tanh, g = 2, D = 0: the variance extrapolates to the published Δ0.

variance(N) = a + b/N is fitted over N ∈ {500, 1000, 2000, 4000}; the intercept must lie
within 3σ of Δ0 = 1.92481 (D. G. Clark's rnn-lyapunov data, SCIENCE.md §1).

Error model: each run (one coupling realisation, one initial condition) gives a variance
whose scatter comes from finitely many units and finite time; both shrink as 1/√(N·runs).
So σ_N = s/√(N·runs_N), with s² pooled from the scatter of the runs within each N (26
degrees of freedom) — estimated, not chosen.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import fieldtheory as ft
from fieldtheory.simulate import simulate

DELTA0 = 1.92481
RUNS = {500: 16, 1000: 8, 2000: 4, 4000: 2}


@pytest.mark.slow
def test_variance_extrapolates_to_published_delta0():
    model = ft.load_model("scs")
    sizes, means, counts, scatter, dof = [], [], [], 0.0, 0
    for N, runs in RUNS.items():
        values = np.array([
            simulate(model, {"g": 2.0}, N=N, t_max=100.0, t_burn=50.0, dt=0.2, method="rk4",
                     dtype="float32", tau_max=1.0, dtau=0.2, seed=1000 * N + k)
            .observables["variance"]
            for k in range(runs)
        ])
        sizes.append(N)
        means.append(values.mean())
        counts.append(runs)
        scatter += N * np.sum((values - values.mean()) ** 2)
        dof += runs - 1
    s2 = scatter / dof
    sizes, means, counts = map(np.asarray, (sizes, means, counts))
    weights = sizes * counts / s2  # 1/σ_N²
    design = np.column_stack([np.ones_like(means), 1.0 / sizes])
    normal = design.T @ (weights[:, None] * design)
    intercept, slope = np.linalg.solve(normal, design.T @ (weights * means))
    sigma = math.sqrt(np.linalg.inv(normal)[0, 0])
    assert abs(intercept - DELTA0) <= 3 * sigma, (intercept, sigma, slope, means)
    # a meaningful test: within this budget (≈ 90 s) σ ≈ 1.4 % of Δ0, dominated by the
    # slow chaotic fluctuations (τ_c ≈ 5); the guard fails if the error bar ever balloons
    assert 3 * sigma < 0.05 * DELTA0, sigma
