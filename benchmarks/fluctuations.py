"""Benchmark: the O(1/N) layer (``solve(order="1/N")``) — speed and accuracy.

Prints one JSON object. Timings are also given as ratios against a baseline run in the
same process (these machines are noisy): the warm stationary saddle-point solve on the
same fine lag grid.

* the warm PR/N and N·S(ω) at one point (SCS, tanh, g = 2; a new parameter point each
  call), split into the saddle solve and the fluctuation runtime; its PR/N against the
  published values (Clark, Abbott & Litwin-Kumar, PRL 131, 118401 (2023)) and the
  quadrature's own error estimate;
* the noisy linear network (g = 0.5, D = 1) against adaptive scipy quadrature of the
  closed form (the accuracy of the kink-subtracted spectra);
* a 50-point PR(g) curve, g ∈ [1.2, 4];
* the simulator's overhead for ``observe=("dimension",)`` against a plain run at
  N = 2000 (t_max = 40).

* the renormalized finite-N theory (``solve(order="1/N", N=1000)``) at g = 2, J0 = 1.5 and
  1.9 (J0c = 2.054): its time, iterations, and the leading-order against the renormalized
  N·Var of the population average of φ.

* a sampled (non-Gaussian) site, tanh with ρ = +0.5: the O(1/N) solve against the
  Monte-Carlo saddle alone.

Usage: ``python benchmarks/fluctuations.py [--quick]`` (``--quick``: a 10-point curve, a
short simulation).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import fieldtheory as ft

PUBLISHED = {"pr_phi": 0.019741, "pr_x": 0.015915}


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    out = function(*args, **kwargs)
    return out, time.perf_counter() - start


def best_of(function, repeats: int = 3):
    times, out = [], None
    for k in range(repeats):
        out, elapsed = timed(function, k)
        times.append(elapsed)
    return out, min(times)


def linear_oracle(g: float = 0.5, d: float = 1.0) -> float:
    """PR/N of the noisy linear network by adaptive quadrature of the closed form (the
    tests' oracle, tests/support/linear_quadrature.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support.linear_quadrature import linear_psi_and_pr

    return linear_psi_and_pr(g, d)[1]


def simulator_overhead(quick: bool) -> dict | None:
    from fieldtheory.simulate import simulate

    n, t_max = (500, 20.0) if quick else (2000, 40.0)
    kwargs = {"N": n, "t_max": t_max, "t_burn": 10.0, "trials": 1, "seed": 1}
    try:
        _, plain = timed(simulate, "scs", {"g": 2.0}, **kwargs)
        _, observed = timed(simulate, "scs", {"g": 2.0}, observe=("dimension",), **kwargs)
    except ft.errors.FieldTheoryError as error:
        return {"unavailable": str(error)}
    return {"N": n, "t_max": t_max, "plain_s": plain, "observe_dimension_s": observed,
            "ratio": observed / plain}


def renormalized() -> list[dict]:
    out = []
    for J0 in (1.5, 1.9):
        result, seconds = timed(ft.solve, "scs", {"g": 2.0, "J0": J0}, order="1/N", N=1000)
        out.append({
            "J0": J0, "N": 1000, "seconds": seconds,
            "ratio_to_baseline": None,  # filled by main
            "iterations": result.info["iterations"],
            "population_variance_phi": {
                "leading_order": result.leading_order["population_variance"]["phi"],
                "renormalized": result.observables["population_variance"]["phi"]},
            "variance": {"leading_order": result.leading_order["variance"],
                         "renormalized": result.observables["variance"]},
        })
    return out


def sampled(quick: bool) -> dict:
    """A non-Gaussian site (tanh, ρ = +0.5, g = 1, D = 2): the Monte-Carlo saddle with its
    per-replica statistics and the sampled fluctuation runtime (mean and 8 jackknife
    evaluations), its time against the Monte-Carlo saddle alone at the same settings."""
    params = {"g": 1.0, "rho": 0.5, "D": 2.0}
    settings = {"paths": 32 if quick else 64, "window": 10.0, "memory": 0, "damping": 0.5,
                "lyapunov": False}
    _, t_saddle = timed(ft.solve, "scs", params, tau_max=10.0, method="monte_carlo",
                        options=settings)
    result, t_total = timed(ft.solve, "scs", params, order="1/N", tau_max=10.0,
                            options={"monte_carlo": settings})
    return {"params": params, "paths": settings["paths"], "seconds": t_total,
            "ratio_to_monte_carlo_saddle": t_total / t_saddle,
            "pr_x": result.observables["dimension"]["pr_x"],
            "pr_x_stderr": result.stderr["dimension"]["pr_x"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    ft.solve("scs", {"g": 2.0}, order="1/N")  # generate, import, warm the caches

    def saddle(k):
        return ft.solve("scs", {"g": 2.0 + 1e-9 * k}, tau_max=80.0, dtau=0.05)

    def one_over_n(k):
        return ft.solve("scs", {"g": 2.0 + 1e-9 * k}, order="1/N")

    _, t_saddle = best_of(saddle)
    result, t_total = best_of(one_over_n)
    dimension = result.observables["dimension"]
    linear = ft.solve("linear", {"g": 0.5, "D": 1.0}, order="1/N").observables
    oracle = linear_oracle()
    points = 10 if args.quick else 50
    gains = np.linspace(1.2, 4.0, points)
    curve, t_curve = timed(lambda: [ft.solve("scs", {"g": float(g)}, order="1/N")
                                    .observables["dimension"]["pr_phi"] for g in gains])
    report = {
        "benchmark": "fluctuations",
        "quick": args.quick,
        "baseline_saddle_fine_grid_s": t_saddle,
        "pr_and_spectrum_warm_s": t_total,
        "pr_and_spectrum_ratio_to_baseline": t_total / t_saddle,
        "pr_phi": dimension["pr_phi"],
        "pr_x": dimension["pr_x"],
        "published_pr_phi_difference": abs(dimension["pr_phi"] - PUBLISHED["pr_phi"]),
        "published_pr_x_difference": abs(dimension["pr_x"] - PUBLISHED["pr_x"]),
        "linear_noisy_pr_relative_error": abs(linear["dimension"]["pr_x"] / oracle - 1),
        "curve_points": points,
        "curve_s": t_curve,
        "curve_ratio_to_baseline": t_curve / t_saddle,
        "curve_pr_phi_range": [min(curve), max(curve)],
        "renormalized": renormalized(),
        "sampled_site": sampled(args.quick),
        "simulator": simulator_overhead(args.quick),
    }
    for entry in report["renormalized"]:
        entry["ratio_to_baseline"] = entry["seconds"] / t_saddle
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
