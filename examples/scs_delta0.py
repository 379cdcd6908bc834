"""SCS chaos (φ = tanh, g = 2): finite-size extrapolation of the variance to Δ0.

Simulates the random rate network of Sompolinsky, Crisanti & Sommers (PRL 61, 259, 1988)
at several N, fits variance(N) = a + b/N, and compares the intercept with the published
Δ0 = 1.92481 (SCIENCE.md §1). Run alone: ``python examples/scs_delta0.py [--quick]``.
"""

from __future__ import annotations

import argparse

import numpy as np

import fieldtheory as ft
from fieldtheory.simulate import simulate

PUBLISHED_DELTA0 = 1.92481


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small networks, short runs")
    args = parser.parse_args(argv)
    sizes = (200, 400) if args.quick else (500, 1000, 2000, 4000)
    t_max = 30.0 if args.quick else 200.0
    model = ft.load_model("scs")
    variances, errors = [], []
    for N in sizes:
        result = simulate(model, {"g": 2.0}, N=N, t_max=t_max, dt=0.2, method="rk4",
                          trials=2, tau_max=1.0, dtau=0.2, seed=N)
        variances.append(result.observables["variance"])
        errors.append(result.stderr["variance"])
        print(f"N = {N:5d}: variance = {variances[-1]:.4f} ± {errors[-1]:.4f}")
    weights = 1 / np.asarray(errors) ** 2
    design = np.column_stack([np.ones(len(sizes)), 1 / np.asarray(sizes, float)])
    normal = design.T @ (weights[:, None] * design)
    intercept = np.linalg.solve(normal, design.T @ (weights * np.asarray(variances)))[0]
    sigma = float(np.sqrt(np.linalg.inv(normal)[0, 0]))
    print(f"extrapolated Δ0 = {intercept:.4f} ± {sigma:.4f}; published {PUBLISHED_DELTA0}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
