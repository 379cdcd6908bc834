"""Benchmark: phase diagrams, the two-time solver, Monte-Carlo DMFT (issue 5).

Prints one JSON object. Timings are given with a baseline from the same run (these
machines are noisy), so the ratios are what to compare:

* ``phase_diagram``: a 20 × 20 g–J0 phase diagram of ``scs`` (g = 0.5…3, J0 = 0…3) solved
  serially and in the local process pool (one worker per CPU); the speed-up is at most
  the number of cores (≤ 2 on a 2-core machine). Also the cost a fresh process pays once
  before its first solve (derive + codegen), which spawned workers (Dask) pay once each.
* ``two_time``: ``solve_two_time(tanh, g = 2)`` from x(0) ~ N(0, 1) on 2000 × 2000 grid
  points (dt = 0.05) against the same solve on 501 × 501: the exponent of the cost in the
  number of steps (memory and work are O(T²)), and K(t, t) at the end against the
  stationary variance.
* ``monte_carlo``: Monte-Carlo single-site DMFT of the Gaussian SCS site (g = 2, D = 0.5)
  run to a target standard error of the variance (2 %; the paths scaled from each run's
  error, errors ∝ 1/√paths, at most four runs), checked against the stationary solver
  (z-score), with the stationary solve as the baseline time. "not available" when the
  runtime module ``fieldtheory.solvers.runtime.monte_carlo`` does not exist.

Usage: ``python benchmarks/solvers.py [--quick]`` (``--quick``: a 6 × 6 diagram, 100 and
400 two-time steps, a 5 % sampling target; used by nothing in CI).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

from fieldtheory.solve import solve
from fieldtheory.solvers.runtime.two_time import solve_two_time
from fieldtheory.sweep import sweep


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def fresh_process_setup() -> dict:
    """Seconds a new interpreter spends on import, then on derive + codegen (first solve)."""
    code = (
        "import time; t = time.perf_counter(); import fieldtheory; "
        "from fieldtheory.solve import solve; a = time.perf_counter(); "
        "solve('scs', {'g': 0.5}); b = time.perf_counter(); solve('scs', {'g': 0.5}); "
        "c = time.perf_counter(); print(a - t, b - a, c - b)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    imported, first, second = map(float, out)
    return {
        "import_seconds": imported,
        "first_solve_seconds": first,
        "cached_solve_seconds": second,
    }


def phase_diagram(size: int) -> dict:
    """The g–J0 diagram serially and in the process pool; identical results required."""
    grid = {"g": np.linspace(0.5, 3.0, size), "J0": np.linspace(0.0, 3.0, size)}
    serial, serial_seconds = _timed(sweep, "scs", grid, workers=1)
    pooled, pooled_seconds = _timed(sweep, "scs", grid)
    if pooled.to_json() != serial.to_json():
        raise AssertionError("process pool and serial sweeps differ")
    return {
        "grid": f"{size} x {size}",
        "workers": os.cpu_count(),
        "serial_seconds": serial_seconds,
        "pool_seconds": pooled_seconds,
        "speedup": serial_seconds / pooled_seconds,
        "seconds_per_point_serial": serial_seconds / serial.phase.size,
        "phases": serial.summary(),
        "fresh_process": fresh_process_setup(),
    }


def two_time(steps: int, baseline_steps: int, dt: float = 0.05) -> dict:
    """The two-time solve at ``steps`` and at ``baseline_steps`` grid intervals."""
    _, base_seconds = _timed(solve_two_time, np.tanh, 2.0, t_max=baseline_steps * dt, dt=dt)
    full, seconds = _timed(solve_two_time, np.tanh, 2.0, t_max=steps * dt, dt=dt)
    points = full.covariance.shape
    return {
        "grid_points": f"{points[0]} x {points[1]}",
        "dt": dt,
        "seconds": seconds,
        "baseline_grid_points": f"{baseline_steps + 1} x {baseline_steps + 1}",
        "baseline_seconds": base_seconds,
        "ratio": seconds / base_seconds,
        "cost_exponent": math.log(seconds / base_seconds) / math.log(steps / baseline_steps),
        # relaxation: K(t, t) at the end against the stationary solution
        "final_variance": float(full.covariance[-1, -1]),
        "stationary_variance": solve("scs", {"g": 2.0}).observables.variance,
        "covariance_megabytes": full.covariance.nbytes / 2**20,
    }


def gaussian_site(g: float, D: float):
    """The SCS single site (tanh, J0 = 0) as the runtimes' SiteSpec, built by hand."""
    from fieldtheory.solvers.runtime.common import SiteSpec, SiteTerm

    def dtanh(x):
        return 1.0 / np.cosh(x) ** 2

    return SiteSpec(
        populations=("all",),
        leak=np.array([1.0]),
        noise=np.array([D]),
        offset=np.array([0.0]),
        means=(SiteTerm(0, np.tanh, None, dtanh, None, "m"),),
        mean_coupling=np.array([[0.0]]),
        correlations=(SiteTerm(0, np.tanh, np.tanh, dtanh, dtanh, "C"),),
        correlation_coupling=np.array([[g * g]]),
        responses=(),
        response_coupling=np.zeros((1, 0)),
        nonlinear=(None,),
        dnonlinear=(None,),
        phi=(np.tanh,),
        dphi=(dtanh,),
    )


def monte_carlo(target: float, pilot_paths: int = 32, rounds: int = 4) -> dict:
    """Monte-Carlo DMFT of a Gaussian site until stderr(variance) ≤ target·variance."""
    try:
        runtime = importlib.import_module("fieldtheory.solvers.runtime.monte_carlo")
    except ModuleNotFoundError:
        return {"status": "not available: fieldtheory/solvers/runtime/monte_carlo.py is missing"}
    g, D = 2.0, 0.5
    spec = gaussian_site(g, D)
    options = {"tau_max": 5.0, "dtau": 0.25, "seed": 0}
    exact, exact_seconds = _timed(solve, "scs", {"g": g, "D": D}, tau_max=5.0, dtau=0.25)
    variance = exact.observables.variance
    # sampling errors should fall as 1/√paths: scale the paths to the target, re-measure,
    # and repeat (at most `rounds` runs) while the measured error is still above it
    runs, paths = [], pilot_paths
    for _ in range(rounds):
        final, seconds = _timed(runtime.solve_monte_carlo, spec, paths=paths, **options)
        error = final["stderr"]["variance"]
        runs.append(
            {
                "paths": paths,
                "seconds": seconds,
                "relative_error": error / variance,
                "iterations": final.get("iterations"),
            }
        )
        if error <= target * variance:
            break
        paths = math.ceil(1.2 * paths * (error / (target * variance)) ** 2)
    return {
        "site": f"scs tanh, g = {g}, D = {D}",
        "target_relative_error": target,
        "paths": runs[-1]["paths"],
        "iterations": runs[-1]["iterations"],
        "seconds": seconds,
        "total_seconds": sum(run["seconds"] for run in runs),
        "runs": runs,
        "relative_error": error / variance,
        "reached_target": bool(error <= target * variance),
        "variance": final["variance"],
        "stationary_variance": variance,
        "z": (final["variance"] - variance) / error,
        "stationary_seconds": exact_seconds,
        "ratio_to_stationary": seconds / exact_seconds,
        "replicas": 8,  # the runtime's default
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller problems")
    args = parser.parse_args(argv)
    report = {
        "phase_diagram": phase_diagram(6 if args.quick else 20),
        "two_time": two_time(*((400, 100) if args.quick else (1999, 500))),
        "monte_carlo": monte_carlo(0.05 if args.quick else 0.02),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
