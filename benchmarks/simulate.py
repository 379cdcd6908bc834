"""Simulator throughput against bare numpy, in one process; prints one JSON object.

* dense SCS network (N = 4000; float64 and float32): steps per second of the simulator's
  exponential-Euler stepper, and of a whole ``simulate`` call (sampling and estimators
  included), next to the bare loop ``x += dt*(-x + J @ np.tanh(x))`` on the same J;
* random-mode network (N = 20000, α = 0.1, M = 2000): the factorised J = L diag(d) Rᵀ
  against a dense float32 copy of the same J (1.6 GB; float64 would take 3.2 GB);
* peak memory: tracemalloc peak of each ``simulate`` call and the process's max RSS;
* the reliability guards (issue 11): the once-per-call resource and lag checks against a
  whole call, the divergence bound test (max |x|, every BOUND_EVERY steps) per step against a bare
  step.

Usage: ``python benchmarks/simulate.py [--quick]`` (``--quick``: tiny sizes, seconds).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import sys
import time
import tracemalloc

import numpy as np

import fieldtheory as ft
from fieldtheory.ir.couplings import DenseCoupling
from fieldtheory.observables import StreamingEstimator
from fieldtheory.progress import NullBar
from fieldtheory.simulate import (
    BatchedCoupling,
    compile_action,
    plan_run,
    realise_trials,
    simulate,
)
from fieldtheory.simulate.integrators import advance, make_stepper
from fieldtheory.simulate.run import _record

DT = 0.05


def _rate(fn, steps: int) -> float:
    """Steps per second of ``fn(steps)``, best of two runs (the first warms caches)."""
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        fn(steps)
        best = min(best, time.perf_counter() - start)
    return steps / best


def _network(name: str, params: dict, N: int, dtype: str):
    model = ft.load_model(name)
    compiled = compile_action(model.action, model.parameters.resolve(params))
    rng = np.random.default_rng([0, 0])
    network = realise_trials(compiled, N, [rng], dtype)
    return network, network.initial_state([rng])


def _stepper_rate(network, x0, steps: int) -> float:
    stepper = make_stepper(network, DT, "euler")

    def run(n):
        x = x0.copy()
        advance(stepper, x, n, 0, DT)

    return _rate(run, steps)


def _bare_rate(J: np.ndarray, x0: np.ndarray, steps: int) -> float:
    dt = J.dtype.type(DT)

    def run(n):
        x = x0.copy()
        for _ in range(n):
            x += dt * (-x + J @ np.tanh(x))

    return _rate(run, steps)


def _simulate_rate(name: str, params: dict, N: int, dtype: str, steps: int) -> dict:
    """The loop of ``simulate`` (stepping, sampling every dτ, streaming estimators), timed
    without its set-up (compilation, coupling draw); memory: tracemalloc peak of a whole
    ``simulate`` call of the same size."""
    model = ft.load_model(name)
    compiled = compile_action(model.action, model.parameters.resolve(params))
    plan = plan_run(compiled, t_max=steps * DT, t_burn=0.0, dt=DT, trials=1, tau_max=5.0,
                    dtau=0.25, method="euler", blocks=2)
    rngs = [np.random.default_rng([0, 0])]
    network = realise_trials(compiled, N, rngs, dtype)
    x0 = network.initial_state(rngs)
    stepper = make_stepper(network, plan.dt, plan.method, rngs)

    def run(_):
        estimator = StreamingEstimator(network.sizes, ["all"], trials=1, lags=plan.lags,
                                       dtau=plan.dtau, samples=plan.samples, blocks=2,
                                       dtype=network.dtype)
        _record(network, stepper, estimator, plan, x0.copy(), NullBar())

    rate = _rate(run, plan.total_steps)
    tracemalloc.start()
    simulate(model, params, N=N, t_max=20 * DT, t_burn=0.0, dt=DT, dtau=0.25, tau_max=0.25,
             dtype=dtype, method="euler", blocks=2)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"steps_per_s": rate, "tracemalloc_peak_MB": peak / 2**20}


def dense(N: int, steps: int) -> dict:
    out = {}
    for dtype in ("float64", "float32"):
        network, x0 = _network("scs", {"g": 2.0}, N, dtype)
        J = network.couplings[0].matrices[0].matrix
        bare = _bare_rate(J, x0[0, 0], steps)
        stepper = _stepper_rate(network, x0, steps)
        whole = _simulate_rate("scs", {"g": 2.0}, N, dtype, steps)
        out[dtype] = {
            "bare_numpy_steps_per_s": bare,
            "stepper_steps_per_s": stepper,
            "stepper_ratio": stepper / bare,
            "simulate_steps_per_s": whole["steps_per_s"],
            "simulate_ratio": whole["steps_per_s"] / bare,
            "simulate_tracemalloc_peak_MB": whole["tracemalloc_peak_MB"],
            "coupling_MB": J.nbytes / 2**20,
        }
        del network, J
    return out


def random_mode(N: int, steps: int, dense_steps: int) -> dict:
    params = {"alpha": 0.1}
    network, x0 = _network("random_mode", params, N, "float32")
    factorised = _stepper_rate(network, x0, steps)
    coupling = network.couplings[0]
    whole = _simulate_rate("random_mode", params, N, "float32", steps)
    matrix = DenseCoupling(coupling.matrices[0].dense())
    full = dataclasses.replace(network, couplings=(BatchedCoupling([matrix]),))
    dense_rate = _stepper_rate(full, x0, dense_steps)
    return {
        "N": N, "M": int(coupling.matrices[0].strengths.size), "dtype": "float32",
        "factorised_steps_per_s": factorised,
        "dense_steps_per_s": dense_rate,
        "speedup": factorised / dense_rate,
        "factorised_coupling_MB": coupling.nbytes / 2**20,
        "dense_coupling_MB": matrix.nbytes / 2**20,
        "simulate_steps_per_s": whole["steps_per_s"],
        "simulate_tracemalloc_peak_MB": whole["tracemalloc_peak_MB"],
    }


def guard_overhead(N: int, steps: int) -> dict:
    """The reliability guards' cost (issue 11): the resource estimate and lag checks done
    once per ``simulate`` (plan_run + the memory estimate + require), and the divergence
    test done every step (max |x|), as fractions of a whole call and of a bare step."""
    from fieldtheory.resources import require
    from fieldtheory.simulate.run import _memory_estimate

    model = ft.load_model("scs")
    compiled = compile_action(model.action, model.parameters.resolve({"g": 2.0}))
    options = dict(t_max=steps * DT, t_burn=10.0, dt=DT, trials=1, tau_max=5.0,
                   dtau=0.25, method="euler", blocks=8)

    def checks(n):
        for _ in range(n):
            plan = plan_run(compiled, **options)
            require(_memory_estimate(compiled, N, 1, plan, 8), "benchmark")

    once = 1.0 / _rate(checks, 200)
    network, x0 = _network("scs", {"g": 2.0}, N, "float64")
    step = 1.0 / _stepper_rate(network, x0, steps)
    x = x0.copy()
    from fieldtheory.simulate.integrators import BOUND_EVERY

    bound = 1.0 / _rate(lambda n: [float(max(np.max(x), -np.min(x))) for _ in range(n)], 2000)
    divergence = bound / BOUND_EVERY  # the finiteness test (x.sum()) predates the guards
    call = steps / _simulate_rate("scs", {"g": 2.0}, N, "float64", steps)["steps_per_s"]
    return {"once_per_call_s": once, "once_per_call_fraction_of_call": once / call,
            "divergence_test_per_step_s": divergence,
            "divergence_test_fraction_of_step": divergence / step}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes")
    args = parser.parse_args(argv)
    if args.quick:
        sizes = {"dense_N": 300, "dense_steps": 400, "rm_N": 1000, "rm_steps": 400,
                 "rm_dense_steps": 100}
    else:
        sizes = {"dense_N": 4000, "dense_steps": 400, "rm_N": 20000, "rm_steps": 200,
                 "rm_dense_steps": 20}
    start = time.perf_counter()
    report = {
        "benchmark": "simulate",
        "quick": args.quick,
        "sizes": sizes,
        "dense_scs": dense(sizes["dense_N"], sizes["dense_steps"]),
        "random_mode": random_mode(sizes["rm_N"], sizes["rm_steps"], sizes["rm_dense_steps"]),
        "guard_overhead": guard_overhead(sizes["dense_N"], sizes["dense_steps"]),
        "max_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }
    report["wall_s"] = time.perf_counter() - start
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
