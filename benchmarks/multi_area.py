"""Multi-area model (issue 19): mean-field solve time on area graphs, and the runtime of
NEST (and of the numpy engine) against network size and threads.

1. Mean field (``lif_siegert``) of the shipped ``multi_area_example`` (3 areas × 8 LIF
   populations) and of a 32 × 8 population graph built by the same stated rule
   (``tables([f"A{k}" for k in range(32)])`` of ``models/multi_area_example.py``; the
   area count is ``--areas``). Each in stages: the derivation (``fieldtheory.derive``,
   cached per action), the lowering of the site to numpy (sympy expansion and
   ``lambdify``, cached on the derivation: ``site_problem().compiled()``), the first
   ``solve_spiking`` after them, and the warm solve (best of ``--repeat``; the shipped
   model also at new parameter values). ``cold_total_s`` — what a first
   ``solve_spiking`` costs in a fresh process — is the sum of the first three. Counts
   (populations, edges of the area graph), the iterations, the stability and the rates
   come with the times.
2. The shipped example down-scaled with the input-preserving compensation
   (``fieldtheory.ir.area_graph.downscale``, the full network's mean-field rates of part
   1) to every ``N_scale`` of ``--sizes`` with ``K_scale = N_scale`` (``--k-scale`` fixes
   it instead), simulated with ``simulate_spiking_model(engine="nest")`` at every thread
   count of ``--threads``: neurons, recurrent synapses (NEST's connection count less the
   recorder's and the Poisson generators'), NEST's own construction time (create +
   connect kernel timers; ``build_wall_s``: from the call to the first ``nest.Simulate``)
   and its simulation time (the ``time_simulate`` kernel timer summed over the engine's
   ``nest.Simulate`` calls, one per chunk; ``simulate_wall_s`` their wall time) per
   second of model time (burn-in included), the whole call's wall time (spike statistics
   included), and the simulated network rate against the theory's. The numpy
   engine at the smallest size for comparison (its build: one ``SpikingSimulator``
   construction, timed apart; its simulate time the call's wall time less that build).
   Without NEST (``nest`` not importable) part 2 reads ``"nest": "not installed"``.

Every time also comes as a ratio against a baseline timed in the same process (these
machines are shared and noisy): a fixed numpy workload (erfcx at 2·10⁶ points and the
product of two 400 × 400 matrices, best of 5), measured at the start and at the end;
the ratios use the smaller. The machine's CPU count and load average are recorded. BLAS
runs on ``--blas-threads`` threads (default 1, 0: as the machine sets it) during the
mean-field part and the baseline: a threaded BLAS on a loaded two-core machine makes the
stability's eigenvalues tens of times slower.

Prints one JSON object on stdout (strict JSON; anything NEST writes goes to stderr, with
the progress lines)::

    python benchmarks/multi_area.py [--sizes 0.01 0.02 0.05] [--threads 1 2]
        [--model-time MS] [--burn MS] [--areas 32] [--repeat 3] [--blas-threads 1]
        [--omp-wait-policy {active,passive}] [--skip-nest]

On a shared machine with fewer free cores than NEST threads, OpenMP's default spin-waiting
at NEST's per-step thread synchronisation (drawn delays reach the 0.1 ms resolution, so
the minimum delay is one step) can make several threads many times slower than one;
``--omp-wait-policy passive`` (or ``OMP_WAIT_POLICY=PASSIVE``) avoids that. The policy in
force is recorded under ``nest``.

The defaults take a few minutes on two cores, most of it the cold 32 × 8 derivation and
lowering.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from scipy import special
from timing import timed

import fieldtheory as ft
from fieldtheory.derive import derive
from fieldtheory.errors import FieldTheoryError
from fieldtheory.ir.area_graph import area_graph, downscale, graph_network
from fieldtheory.jsonout import dumps
from fieldtheory.progress import heartbeat, progress_bar
from fieldtheory.spiking_solve import simulate_spiking_model, solve_spiking

SHIPPED = "multi_area_example"


# ----- the baseline and the machine -------------------------------------------------------


def baseline_workload() -> float:
    """The fixed numpy workload the times are divided by."""
    x = np.linspace(-6.0, 6.0, 2_000_000)
    a = np.cos(np.arange(400 * 400, dtype=float)).reshape(400, 400)
    return float(special.erfcx(x).sum() + np.trace(a @ a.T))


def machine() -> dict[str, Any]:
    """The CPU count and the 1-minute load average (the machine is shared)."""
    return {"cpus": os.cpu_count(), "load_average_1min": os.getloadavg()[0]}


@contextlib.contextmanager
def blas_threads(threads: int) -> Iterator[None]:
    """BLAS limited to ``threads`` threads (0: untouched; threadpoolctl if installed)."""
    if threads <= 0:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        yield


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """File descriptor 1 sent to stderr while the block runs (NEST writes to it from C++),
    so that stdout carries the JSON alone."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def seconds(function: Callable[[], Any], label: str) -> tuple[float, Any]:
    """(wall time, value) of one call, with a heartbeat on stderr while it runs."""
    with heartbeat(label):
        start = time.perf_counter()
        value = function()
        return time.perf_counter() - start, value


# ----- part 1: mean field -----------------------------------------------------------------


def example_module() -> Any:
    """``models/multi_area_example.py`` (installed as ``fieldtheory.models``): its
    ``tables`` rule and parameter set ``p``."""
    return importlib.import_module(f"fieldtheory.models.{SHIPPED}")


def chain_model(areas: int) -> tuple[ft.Model, Any]:
    """The ``areas`` × 8 population chain of the example's rule, as a Model, and its
    area graph."""
    example = example_module()
    graph = area_graph(*example.tables([f"A{k}" for k in range(areas)]))
    p = example.p
    network = graph_network(graph, p, weight_scale=p.w, inhibition=p.g, drive_scale=p.drive)
    model = ft.Model(f"multi_area_{areas}x8", network,
                     f"{areas} Potjans–Diesmann microcircuits on a chain, by the rule of "
                     f"{SHIPPED}", "arXiv:2011.11335")
    return model, graph


def mean_field(model: ft.Model | str, graph: Any, label: str, repeat: int,
               new_parameters: bool = False) -> tuple[dict[str, Any], Any]:
    """Stage times of the mean-field solve of ``model``, and its result (None on failure)."""
    out: dict[str, Any] = {"populations": graph.number_of_nodes(),
                           "edges": graph.number_of_edges(),
                           "neurons": int(sum(d["size"] for _, d in graph.nodes(data=True)))}
    try:
        out["derive_s"], derivation = seconds(lambda: derive(model), f"{label}: derive")
        problem = derivation.site_problem()
        compiled = getattr(problem, "compiled", None)
        out["lower_s"] = None
        if callable(compiled):
            out["lower_s"], _ = seconds(compiled, f"{label}: lower (sympy → numpy)")
        out["first_solve_s"], result = seconds(lambda: solve_spiking(model, {}),
                                               f"{label}: first solve")
        out["cold_total_s"] = out["derive_s"] + (out["lower_s"] or 0.0) + out["first_solve_s"]
        with heartbeat(f"{label}: warm solves"):
            out["warm_solve_s"], result = timed(lambda: solve_spiking(model, {}), repeat)
            if new_parameters:  # new values each call: the site evaluated anew
                fresh = iter(1.0 + 1e-3 * np.arange(1, repeat + 1))
                out["warm_solve_new_parameters_s"], _ = timed(
                    lambda: solve_spiking(model, {"g": next(fresh)}), repeat)
    except FieldTheoryError as error:
        out["error"] = f"{type(error).__name__}: {error}"
        return out, None
    rates = np.array([p["rate"] for p in result.observables["populations"].values()])
    stability = result.observables.get("stability", {})
    out.update({"method": result.method, "iterations": result.info.get("iterations"),
                "network_rate_Hz": result.observables["rate"],
                "population_rate_Hz": {"min": float(rates.min()), "max": float(rates.max())},
                "stable": stability.get("stable"),
                "max_real_eigenvalue": stability.get("max_real_eigenvalue")})
    return out, result


# ----- part 2: simulations ----------------------------------------------------------------


class TimedNest:
    """The ``nest`` module with every ``Simulate`` call timed: the engine simulates in
    chunks (a call per chunk) and NEST's ``time_simulate`` kernel timer holds the last
    call's only, so it is read after each call and summed, with the calls' wall time;
    ``started`` is when the first call began (the end of the network's construction)."""

    def __init__(self, nest: Any) -> None:
        object.__setattr__(self, "_nest", nest)
        object.__setattr__(self, "totals", {"calls": 0, "kernel_s": 0.0, "wall_s": 0.0,
                                            "started": None})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._nest, name)

    def __setattr__(self, name: str, value: Any) -> None:  # kernel attributes: NEST's
        setattr(self._nest, name, value)

    def Simulate(self, t: float) -> None:
        totals = self.totals
        start = time.perf_counter()
        if totals["started"] is None:
            totals["started"] = start
        self._nest.Simulate(t)
        totals["wall_s"] += time.perf_counter() - start
        totals["kernel_s"] += float(np.max(np.asarray(
            self._nest.GetKernelStatus("time_simulate"), dtype=float)))
        totals["calls"] += 1


@contextlib.contextmanager
def nest_timers(nest: Any) -> Iterator[dict[str, Any]]:
    """The NEST engine given a :class:`TimedNest` (in this process, for the block: the
    module the engine imports NEST through hands it out); yields its totals."""
    from fieldtheory.simulate import spiking_nest

    timed_nest = TimedNest(nest)
    original = spiking_nest.import_nest
    spiking_nest.import_nest = lambda: timed_nest
    try:
        yield timed_nest.totals
    finally:
        spiking_nest.import_nest = original


def kernel_status(nest: Any) -> dict[str, Any]:
    """NEST's construction time (create + connect kernel timers, s) and counts after a
    run (the kernel is left as the run left it)."""
    status = nest.GetKernelStatus()
    create = status.get("time_construction_create")
    connect = status.get("time_construction_connect")
    return {"build_s": None if create is None or connect is None
            else float(create) + float(connect),
            "connections": int(status.get("num_connections", 0)),
            "threads": int(status.get("local_num_threads", 0)),
            "min_delay_ms": float(status.get("min_delay", float("nan")))}


def small_model(graph: Any, rates: dict[str, float], N_scale: float, K_scale: float
                ) -> ft.Model:
    """The example down-scaled with the input-preserving compensation."""
    p = example_module().p
    small = downscale(graph, rates, N_scale=N_scale, K_scale=K_scale)
    network = graph_network(small, p, weight_scale=p.w, inhibition=p.g, drive_scale=p.drive)
    return ft.Model(f"{SHIPPED}_N{N_scale:g}_K{K_scale:g}", network,
                    f"{SHIPPED} down-scaled: sizes × {N_scale:g}, in-degrees × {K_scale:g}",
                    "arXiv:2011.11335")


def simulate(model: ft.Model, engine: str, threads: int, t_max: float, t_burn: float,
             seed: int, nest: Any) -> dict[str, Any]:
    """One simulation of ``model``: sizes, build and simulate times, the network rate."""
    model_seconds = (t_max + t_burn) / 1000.0
    net = model.action.values()
    entry: dict[str, Any] = {"engine": engine, "threads": threads}
    if engine == "numpy":  # the numpy engine's construction, timed apart
        from fieldtheory.simulate.spiking import SpikingSimulator

        start = time.perf_counter()
        simulator = SpikingSimulator(net, dt=0.1, seed=seed)
        entry["build_s"] = time.perf_counter() - start
        entry["synapses"] = simulator.connectivity.n_synapses
        del simulator
    timers = nest_timers(nest) if engine == "nest" else contextlib.nullcontext({})
    with timers as calls:
        start = time.perf_counter()
        result = simulate_spiking_model(model, {}, t_max=t_max, t_burn=t_burn,
                                        engine=engine, threads=threads, seed=seed)
        wall = time.perf_counter() - start
    entry.update({"neurons": result.N, "wall_s": wall,
                  "rate_Hz": result.observables["rate"]})
    if engine == "nest":
        status = kernel_status(nest)
        devices = result.N + sum(net.sizes[d.target] for d in net.drives)
        entry.update({
            "synapses": status["connections"] - devices,
            "build_s": status["build_s"],
            "build_wall_s": None if calls["started"] is None else calls["started"] - start,
            "simulate_s": calls["kernel_s"], "simulate_wall_s": calls["wall_s"],
            "simulate_calls": calls["calls"], "threads_used": status["threads"],
            "min_delay_ms": status["min_delay_ms"]})
    else:
        entry["simulate_s"] = wall - entry["build_s"]  # spike statistics included
    entry["simulate_s_per_model_second"] = entry["simulate_s"] / model_seconds
    return entry


def simulations(rates: dict[str, float], args: argparse.Namespace, nest: Any
                ) -> dict[str, Any]:
    """NEST at every size and thread count, and numpy at the smallest size."""
    graph = area_graph(*example_module().tables())
    sizes = sorted(args.sizes)
    runs = [(s, "nest", k) for s in sizes for k in args.threads] if nest is not None else []
    runs.append((sizes[0], "numpy", 1))
    out: dict[str, Any] = {"model_time_ms": args.model_time + args.burn,
                           "t_max_ms": args.model_time, "t_burn_ms": args.burn,
                           "seed": args.seed, "runs": []}
    with progress_bar(len(runs), description="simulations", unit="run") as bar:
        for N_scale, engine, threads in runs:
            K_scale = args.k_scale if args.k_scale is not None else N_scale
            entry: dict[str, Any] = {"N_scale": N_scale, "K_scale": K_scale}
            try:
                model = small_model(graph, rates, N_scale, K_scale)
                entry.update(simulate(model, engine, threads, args.model_time, args.burn,
                                      args.seed, nest))
            except Exception as error:  # reported, the other runs go on
                entry.update({"engine": engine, "threads": threads,
                              "error": f"{type(error).__name__}: {error}"})
            entry["load_average_1min"] = os.getloadavg()[0]
            out["runs"].append(entry)
            bar.update(1)
    return out


def import_nest_or_none() -> Any:
    """The ``nest`` module (imported quietly), or None when it is not installed."""
    from fieldtheory.errors import MissingDependencyError
    from fieldtheory.simulate.spiking_nest import import_nest

    try:
        return import_nest()
    except MissingDependencyError:
        return None


# ----- ratios and main --------------------------------------------------------------------


def with_ratios(data: Any, baseline: float) -> Any:
    """Every ``…_s`` number of ``data`` joined by ``…_ratio`` (over the baseline)."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            out[key] = with_ratios(value, baseline)
            if (key.endswith("_s") or key.endswith("_per_model_second")) \
                    and isinstance(value, float):
                out[f"{key}_ratio"] = value / baseline
        return out
    if isinstance(data, list):
        return [with_ratios(v, baseline) for v in data]
    return data


def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"benchmark": "multi_area", "machine_start": machine(),
                              "blas_threads": args.blas_threads or "machine default"}
    with blas_threads(args.blas_threads):
        start_baseline, _ = timed(baseline_workload, 5)
        shipped, solved = mean_field(SHIPPED, area_graph(*example_module().tables()),
                                     SHIPPED, args.repeat, new_parameters=True)
        model, graph = chain_model(args.areas)
        chain, _ = mean_field(model, graph, f"{args.areas} × 8", max(1, args.repeat // 3))
    result["meanfield"] = {SHIPPED: shipped, f"chain_{args.areas}x8": chain}
    if args.skip_nest:
        result["nest"] = "skipped"
    elif solved is None:
        result["simulations"] = "no mean-field rates for the down-scaling (solve failed)"
    else:
        nest = import_nest_or_none()
        if nest is None:
            result["nest"] = "not installed"
        else:
            result["nest"] = {"version": getattr(nest, "__version__", None),
                              "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY",
                                                                "unset (OpenMP default)")}
        rates = {k: v["rate"] for k, v in solved.observables["populations"].items()}
        result["simulations"] = simulations(rates, args, nest)
        result["simulations"]["theory_rate_Hz"] = solved.observables["rate"]
    with blas_threads(args.blas_threads):
        end_baseline, _ = timed(baseline_workload, 5)
    baseline = min(start_baseline, end_baseline)
    result["baseline"] = {"what": "erfcx at 2e6 points + a 400 x 400 matrix product, "
                                  "best of 5", "start_s": start_baseline,
                          "end_s": end_baseline, "used_s": baseline}
    result["machine_end"] = machine()
    for key in ("meanfield", "simulations"):
        if isinstance(result.get(key), dict):
            result[key] = with_ratios(result[key], baseline)
    runs = result.get("simulations", {}).get("runs", []) if isinstance(
        result.get("simulations"), dict) else []
    per = {(r["engine"], r["threads"], r["N_scale"]): r.get("simulate_s_per_model_second")
           for r in runs}
    smallest = min((r["N_scale"] for r in runs), default=None)
    numpy_time = per.get(("numpy", 1, smallest))
    nest_time = per.get(("nest", 1, smallest))
    if numpy_time and nest_time:
        result["simulations"]["numpy_over_nest_1_thread_smallest"] = numpy_time / nest_time
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.01, 0.02, 0.05],
                        help="N_scale values of the down-scaled example (default: %(default)s)")
    parser.add_argument("--k-scale", type=float, default=None,
                        help="in-degree scale K_scale (default: each size's N_scale)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="NEST thread counts (default: %(default)s)")
    parser.add_argument("--model-time", type=float, default=200.0,
                        help="recorded model time t_max, ms (default: %(default)s)")
    parser.add_argument("--burn", type=float, default=100.0,
                        help="burn-in t_burn, ms (default: %(default)s)")
    parser.add_argument("--areas", type=int, default=32,
                        help="areas of the large chain graph (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="warm solves per timing, best taken (default: %(default)s; the "
                             "large graph gets a third)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads during the mean field and baseline (0: as the "
                             "machine sets it; default: %(default)s)")
    parser.add_argument("--omp-wait-policy", choices=("active", "passive"), default=None,
                        help="OMP_WAIT_POLICY for NEST's threads (default: the environment's)")
    parser.add_argument("--skip-nest", action="store_true",
                        help="the mean-field part only")
    args = parser.parse_args(argv)
    if args.omp_wait_policy is not None:  # read when NEST's OpenMP runtime loads
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy.upper()
    if not args.sizes or any(not 0 < s <= 1 for s in args.sizes):
        parser.error("--sizes: every N_scale must lie in (0, 1]")
    if args.k_scale is not None and not 0 < args.k_scale <= 1:
        parser.error("--k-scale must lie in (0, 1]")
    if any(k < 1 for k in args.threads):
        parser.error("--threads: positive integers")
    with stdout_to_stderr():
        result = run(args)
    sys.stdout.write(dumps(result, indent=1) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
