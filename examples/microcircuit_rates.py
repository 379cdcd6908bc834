"""The cortical microcircuit (Potjans & Diesmann 2014): per-population rates, theory
against simulation (issue 18).

The mean-field theory of ``lif_microcircuit`` (derived input cumulants of the published
connectivity rule — fixed total numbers with multapses, normal weights, the doubled
L4E → L2/3E weight — closed by Siegert's rate with the Fourcaud–Brunel shift for the
0.5 ms synapses, static variability from the in-degree distribution and the weights)
against the numpy engine on the network shrunk by ``scale`` (sizes and synapse counts
together: in-degrees and the theory unchanged). Also printed: the rates of the full
network simulated with NEST (the ``mean_rates`` that NEST's mesocircuit example lists as
obtained from the PyNEST microcircuit at N_scaling = K_scaling = 1), a published
reference the theory is not fitted to. The white-noise closure's CV and timescales are
flagged ``colored_input`` for every population (the recurrent input is far from white),
where it is stated to fail; the colored-noise runtime ``lif_colored`` (the same site with
its colored input, sampled) gives CVs and intrinsic timescales, printed beside the
simulated ones (the shrunk network's shared input is not in the theory; timescales of
populations below ~2 Hz are dominated by the estimators' noise at these lengths).

``--quick``: scale 0.02, 1 s. Prints one JSON object; ``--figures DIR`` draws the rates.
Run alone: ``python examples/microcircuit_rates.py [--quick] [--figures DIR]``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from fieldtheory.jsonout import dumps, strict
from fieldtheory.spiking_solve import simulate_spiking_model, solve_spiking
from fieldtheory.spiking_verify import binned

#: full-scale NEST rates (Hz) reported with NEST's microcircuit example (its
#: ``mean_rates``, 12 MPI processes, N_scaling = K_scaling = 1)
REFERENCE = {"L23E": 0.943, "L23I": 3.026, "L4E": 4.368, "L4I": 5.882, "L5E": 7.733,
             "L5I": 8.664, "L6E": 1.096, "L6I": 7.851}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="scale 0.02, 1 s")
    parser.add_argument("--figures", metavar="DIR", default=None)
    args = parser.parse_args(argv)
    scale, t_max = (0.02, 1000.0) if args.quick else (0.1, 2000.0)
    options = ({"neurons": 60, "time": 1000.0, "generations": 4} if args.quick
               else {"neurons": 500, "time": t_max})
    theory = solve_spiking("lif_microcircuit", {"scale": scale})
    colored = solve_spiking("lif_microcircuit", {"scale": scale}, method="lif_colored",
                            tau_max=101.0, dtau=0.1, options=options)
    simulation = simulate_spiking_model("lif_microcircuit", {"scale": scale}, t_max=t_max,
                                        t_burn=200.0, seed=1, tau_max=50.0,
                                        progress=not args.quick)
    rows = []
    for name, th in theory.observables["populations"].items():
        sim = simulation.observables["populations"][name]
        err = simulation.stderr["populations"][name]
        col, col_err = (colored.observables["populations"][name],
                        colored.stderr["populations"][name])
        # the colored theory's timescale over the simulation's lags and bins
        lags = np.asarray(sim["spike_autocorrelation"]["tau"], float)
        curve = binned(np.asarray(col["spike_autocorrelation"]["tau"]),
                       np.asarray(col["spike_autocorrelation"]["values"]), lags, 1.0)
        timescale = float(2 * np.trapezoid((curve / curve[0]) ** 2, lags))
        rows.append({"population": name, "theory": th["rate"], "simulation": sim["rate"],
                     "stderr": err["rate"], "z": (sim["rate"] - th["rate"]) / err["rate"]
                     if err["rate"] else None, "regime": th["regime"],
                     "nest_full_scale": REFERENCE[name],
                     "colored": {"rate": col["rate"], "rate_stderr": col_err["rate"],
                                 "cv": col["cv"], "cv_stderr": col_err["cv"],
                                 "timescale": timescale,
                                 "timescale_stderr": col_err["timescale"]},
                     "simulated": {"cv": sim["cv"], "cv_stderr": err["cv"],
                                   "timescale": sim["timescale"],
                                   "timescale_stderr": err["timescale"]},
                     "white_cv": th["cv"]})
    print(dumps(strict({"example": "microcircuit_rates", "scale": scale, "N": simulation.N,
                        "t_max": t_max, "rows": rows})))
    if args.figures:
        import pathlib

        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.5))
        x = range(len(rows))
        ax.bar([i - 0.2 for i in x], [r["theory"] for r in rows], 0.4, label="theory")
        ax.bar([i + 0.2 for i in x], [r["simulation"] for r in rows], 0.4,
               yerr=[r["stderr"] for r in rows], label=f"numpy, scale {scale}")
        ax.set_xticks(list(x), [r["population"] for r in rows])
        ax.set_ylabel("rate (Hz)")
        ax.legend()
        path = pathlib.Path(args.figures)
        path.mkdir(parents=True, exist_ok=True)
        fig.savefig(path / "microcircuit_rates.png", dpi=120, bbox_inches="tight")
    return 0


if __name__ == "__main__":
    sys.exit(main())
