"""Benchmark: deep and recurrent networks as Gaussian processes (issue 14).

Prints one JSON object (timings also as ratios against a baseline in the same process):

* the NNGP kernel at depth 10 on 1000 inputs × 50 dimensions, erf and ReLU, through the
  full pipeline (``ft.solve`` of ``deep``/``deep_relu`` with the inputs: derivation cached,
  lowering, the ``kernel_recursion`` runtime) against a plain numpy recursion written here
  (the closed forms typed in) — for reference, neural-tangents takes 0.11–0.15 s for this
  on this machine;
* the recurrent network's two-time kernel (all pairs of layers) at the same size;
* the 1/n coefficients: N·Var of the kernel at 2 inputs × depth 3 (6 points), against the
  kernel alone (the mean shift is not implemented yet);
* sampled-network throughput: trials per second of ``simulate deep`` at N = 128 on 20
  inputs, depth 5.

Usage: ``python benchmarks/gp.py [--quick]`` (``--quick``: 200 inputs).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import fieldtheory as ft
from fieldtheory.ir.layered import with_inputs

SIGMA_U, SIGMA_W, SIGMA_B, DEPTH = 1.0, 1.5, 0.5, 10


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    out = function(*args, **kwargs)
    return out, time.perf_counter() - start


def plain_numpy(X: np.ndarray, relu: bool) -> np.ndarray:
    """The layer-local NNGP recursion with the closed forms typed in (the baseline)."""
    K = SIGMA_U**2 * X @ X.T / X.shape[1] + SIGMA_B**2
    for _ in range(DEPTH - 1):
        d = np.sqrt(np.diag(K))
        if relu:
            c = np.clip(K / np.outer(d, d), -1, 1)
            theta = np.arccos(c)
            E = np.outer(d, d) * (np.sin(theta) + (np.pi - theta) * c) / (2 * np.pi)
        else:
            a = np.pi / 2
            n = np.sqrt(1 + a * np.diag(K))
            E = 2 / np.pi * np.arcsin(a * K / np.outer(n, n))
        K = SIGMA_W**2 * E + SIGMA_B**2
    return K


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    P = 200 if args.quick else 1000
    X = np.random.default_rng(0).standard_normal((P, 50))
    params = {"sigma_u": SIGMA_U, "sigma_w": SIGMA_W, "sigma_b": SIGMA_B, "depth": DEPTH}
    out: dict = {"inputs": P, "dimension": 50, "depth": DEPTH}
    for name, relu in (("deep", False), ("deep_relu", True)):
        model = with_inputs(ft.load_model(name), X)
        ft.solve(with_inputs(model, X[:4]), params)  # derivation and lowering cached
        result, seconds = timed(ft.solve, model, params)
        baseline, base_seconds = timed(plain_numpy, X, relu)
        K = np.array(result.observables["kernel"]["values"])[-1]
        out[name] = {"seconds": seconds, "numpy_seconds": base_seconds,
                     "ratio_to_numpy": seconds / base_seconds,
                     "max_abs_difference": float(np.max(np.abs(K - baseline)))}
    model = with_inputs(ft.load_model("recurrent"), X)
    _, seconds = timed(ft.solve, model, params)
    out["recurrent_two_time"] = {"seconds": seconds,
                                 "ratio_to_deep": seconds / out["deep"]["seconds"]}
    two = with_inputs(ft.load_model("recurrent"), X[:2])
    ft.solve(two, {"depth": 3}, order="1/N")  # warm: module and derivation cached
    _, seconds = timed(ft.solve, two, {"depth": 3}, order="1/N")
    out["one_over_n"] = {"bias_and_variance_seconds": seconds, "points": 6,
                         "ratio_to_kernel": seconds / timed(ft.solve, two, {"depth": 3})[1]}
    small = with_inputs(ft.load_model("deep"), X[:20])
    trials = 50 if args.quick else 200
    _, seconds = timed(ft.simulate, small, {"depth": 5}, N=128, trials=trials)
    out["simulate_deep"] = {"N": 128, "inputs": 20, "depth": 5,
                            "trials_per_second": trials / seconds}
    small = with_inputs(ft.load_model("recurrent"), X[:20])
    _, seconds = timed(ft.simulate, small, {"depth": 5}, N=128, trials=trials)
    out["simulate_recurrent"] = {"N": 128, "inputs": 20, "depth": 5,
                                 "trials_per_second": trials / seconds}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
