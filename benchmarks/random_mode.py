"""Benchmark: random-mode networks — the dimension curve and factorised simulation.

Prints one JSON object (timings also as ratios against a baseline in the same process):

* the theory curve PR/N against the effective rank α·PR_D (50 values of α, g_eff = 2,
  β = 3, ``solve(order="1/N")``), against one warm stationary solve as the baseline;
* simulation steps per second at N = 20000, α = 0.1 (M = 2000 modes: J kept as its
  factors, O(N·M) per product) against the same network with J dense (O(N²)) in the
  same run, RK4 at its default step;
* peak memory (resident set size) of the process.

Usage: ``python benchmarks/random_mode.py [--quick]`` (``--quick``: 10 curve points,
N = 4000).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import resource
import time

import numpy as np

import fieldtheory as ft
from fieldtheory.ir.couplings import DenseCoupling
from fieldtheory.simulate.compile_action import compile_action
from fieldtheory.simulate.integrators import make_stepper
from fieldtheory.simulate.network import BatchedCoupling, realise_trials, trial_generators

BETA, GAIN = 3.0, 2.0


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    out = function(*args, **kwargs)
    return out, time.perf_counter() - start


def steps_per_second(network, steps: int) -> float:
    stepper = make_stepper(network, 0.05, "rk4", None)
    x = network.initial_state(trial_generators(1, network.trials), (0.0, 1.0))
    stepper.step(x)  # warm
    start = time.perf_counter()
    for _ in range(steps):
        stepper.step(x)
    return steps / (time.perf_counter() - start)


def simulation(n: int, alpha: float, steps: int) -> dict:
    model = ft.load_model("random_mode")
    values = model.parameters.resolve({"g": GAIN, "alpha": alpha, "beta": BETA})
    compiled = compile_action(model.action, values)
    factorised = realise_trials(compiled, n, trial_generators(0, 1), "float64")
    coupling = factorised.couplings[0]
    low_rank = coupling.matrices[0]
    fast = steps_per_second(factorised, steps)
    # the same J, dense
    dense_network = dataclasses.replace(
        factorised, couplings=(BatchedCoupling([DenseCoupling(low_rank.dense())]),))
    dense = steps_per_second(dense_network, max(2, steps // 10))
    return {"N": n, "alpha": alpha, "modes": int(low_rank.strengths.size),
            "factorised_steps_per_s": fast, "dense_steps_per_s": dense,
            "speedup": fast / dense}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    model = ft.load_model("random_mode")
    ft.solve(model, {"g": GAIN, "alpha": 1.0, "beta": BETA}, order="1/N")  # warm
    _, baseline = timed(ft.solve, model, {"g": GAIN, "alpha": 1.01, "beta": BETA})
    alphas = np.geomspace(0.01, 100.0, 10 if args.quick else 50)
    curve, t_curve = timed(lambda: [ft.solve(model, {"g": GAIN, "alpha": float(a),
                                                     "beta": BETA}, order="1/N")
                                    .observables["dimension"]["pr_phi"] for a in alphas])
    sim = simulation(4000 if args.quick else 20000, 0.1, 20 if args.quick else 50)
    report = {
        "benchmark": "random_mode",
        "quick": args.quick,
        "baseline_stationary_solve_s": baseline,
        "curve_points": len(alphas),
        "curve_s": t_curve,
        "curve_ratio_to_baseline": t_curve / baseline,
        "effective_rank_range": [float(alphas[0]) * math.tanh(BETA) / BETA,
                                 float(alphas[-1]) * math.tanh(BETA) / BETA],
        "pr_phi_range": [min(curve), max(curve)],
        "simulation": sim,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
