"""Spiking networks (issue 18): simulation speed and mean-field solve time.

1. Brunel's model A at full size (N_E = 10⁴, N_I = 2500, 10 % connectivity, g = 5, η = 2):
   wall time per second of model time of the numpy engine and of NEST (2 threads; the
   extra ``[nest]``), each in this process, one run (build time reported apart).
2. The mean-field rates of the Potjans–Diesmann microcircuit (``lif_microcircuit``): the
   warm solve time of ``lif_siegert`` (same parameters: the lowered network cached; and
   new parameter values each call) against NNMT's ``lif.exp`` firing rates on the same
   in-degrees, weights and drive (the baseline, run in the same process; NNMT's theory
   leaves out the static variability that ours includes — the times, not the numbers,
   are compared).

3. The colored-noise runtime ``lif_colored`` on Brunel's network (500 sampled neurons
   per population over 2 s, 8 generations): its wall time against the numpy engine's for
   the same 2 s of the full network (part 1's rate, same process) — what the theory of
   the single-neuron statistics costs next to simulating them.

Prints one JSON object; ratios are against the baselines measured in the same run.
``--model-time MS`` (default 1000) sets the simulated time of part 1; ``--skip-nest``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from timing import timed

from fieldtheory.spiking_solve import solve_spiking


def brunel(engine: str, model_time: float) -> dict:
    from fieldtheory.simulate.spiking import simulate_spiking

    net = __import__("fieldtheory").load_model("lif_brunel").action.values()
    start = time.perf_counter()
    if engine == "numpy":
        _, obs, _ = simulate_spiking(net, t_max=model_time, t_burn=100.0, seed=1,
                                     keep_spikes=False)
        rate = obs["rate"]
    else:
        from fieldtheory.simulate.spike_stats import spike_statistics
        from fieldtheory.simulate.spiking_nest import simulate_nest

        record = simulate_nest(net, t_max=model_time, t_burn=100.0, seed=1, threads=2)
        rate = spike_statistics(record, max_units=200)[0]["rate"]
    wall = time.perf_counter() - start
    return {"wall_s": wall, "per_model_second": wall / ((model_time + 100.0) / 1000.0),
            "rate_Hz": rate}


def microcircuit(repeat: int = 3) -> dict:
    solve_spiking("lif_microcircuit")  # warm: derivation and lambdification cached
    ours, result = timed(lambda: solve_spiking("lif_microcircuit"), repeat)
    fresh = iter(4.0 + 1e-3 * np.arange(1, repeat + 1))  # new values: lowered again
    ours_new, _ = timed(lambda: solve_spiking("lif_microcircuit", {"g": next(fresh)}),
                        repeat)
    out = {"ours_s": ours, "ours_new_parameters_s": ours_new,
           "rates": [p["rate"] for p in result.observables["populations"].values()]}
    try:
        import nnmt.lif.exp as nnmt_exp
    except ImportError:
        out["nnmt"] = "not installed"
        return out
    net = __import__("fieldtheory").load_model("lif_microcircuit").action.values()
    P = len(net.populations)
    K, J = np.zeros((P, P)), np.zeros((P, P))
    for c in net.connections:  # in-degree n/N_target, the PSC-equivalent jump (mV)
        K[c.target, c.source] += c.number / net.sizes[c.target]
        J[c.target, c.source] = c.weight
    K_ext = np.array([[d.in_degree] for d in net.drives])
    J_ext = np.array([[d.weight] for d in net.drives])
    n = net.neurons[0]

    def baseline():
        # NNMT (SI units): J in V for the shifted Siegert of exponential synapses, whose
        # weights are the PSC-equivalent jumps as ours (τ_m J per spike)
        return nnmt_exp._firing_rates(
            J=J * 1e-3, K=K, V_0_rel=(n.V_reset - n.E_L) * 1e-3,
            V_th_rel=(n.V_th - n.E_L) * 1e-3, tau_m=n.tau_m * 1e-3, tau_r=n.t_ref * 1e-3,
            tau_s=n.tau_s * 1e-3, J_ext=J_ext * 1e-3, K_ext=K_ext,
            nu_ext=np.array([8.0]))

    theirs, rates = timed(baseline, repeat)
    out.update({"nnmt_s": theirs, "ratio": ours / theirs,
                "ratio_new_parameters": ours_new / theirs,
                "nnmt_rates": [float(r) for r in np.ravel(rates)]})
    return out


def colored(per_model_second: float) -> dict:
    start = time.perf_counter()
    result = solve_spiking("lif_brunel", {}, method="lif_colored")
    seconds = time.perf_counter() - start
    return {"s": seconds, "generations": result.info["iterations"],
            "over_simulating_2_s": seconds / (2 * per_model_second),
            "cv_E": result.observables["populations"]["E"]["cv"],
            "timescale_E": result.observables["populations"]["E"]["timescale"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-time", type=float, default=1000.0)
    parser.add_argument("--skip-nest", action="store_true")
    args = parser.parse_args(argv)
    result = {"benchmark": "spiking", "microcircuit_meanfield": microcircuit(),
              "brunel_numpy": brunel("numpy", args.model_time)}
    result["lif_colored_brunel"] = colored(result["brunel_numpy"]["per_model_second"])
    if not args.skip_nest:
        try:
            result["brunel_nest_2_threads"] = brunel("nest", args.model_time)
            result["numpy_over_nest"] = (result["brunel_numpy"]["per_model_second"]
                                         / result["brunel_nest_2_threads"][
                                             "per_model_second"])
        except Exception as error:
            result["brunel_nest_2_threads"] = f"{type(error).__name__}: {error}"
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
