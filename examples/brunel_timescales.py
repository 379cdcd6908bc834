"""Intrinsic timescales in Brunel's LIF network: the colored-noise mean field against
simulation (issue 18; van Meegen & van Albada, arXiv:1909.01908).

Brunel's model A (g = 5, η = 2: the published asynchronous irregular state, N_E = 10⁴,
ε = 0.1). The derived site's input is Gaussian with the spectrum D + Σ_β a_αβ Ĉ_β(ω);
the white-noise closure (``lif_siegert``) keeps D only and gives a renewal CV and
timescale far from the network's, because the recurrent trains are regular (their Ĉ
removes 40–70 % of the input's low-frequency power). ``lif_colored`` keeps the colored
part and solves the single neuron's colored-noise problem by sampling, self-consistently.
Printed per population: rate, CV and timescale (the integral time of Ĉ over the
simulation's lags) of both closures and of the numpy simulation, with z-scores of the
colored theory (theory and simulation errors together), and the rms z of Ĉ over the lags.

``--quick``: N_E = 2000, ε = 0.2, short runs. Prints one JSON object; ``--figures DIR``
draws Ĉ(τ). Run alone: ``python examples/brunel_timescales.py [--quick] [--figures DIR]``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from fieldtheory.jsonout import dumps, strict
from fieldtheory.spiking_solve import solve_spiking
from fieldtheory.spiking_verify import binned, verify_spiking


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N_E = 2000, short runs")
    parser.add_argument("--figures", metavar="DIR", default=None)
    args = parser.parse_args(argv)
    if args.quick:
        params, t_max = {"N_E": 2000.0, "epsilon": 0.2}, 600.0
        options = {"neurons": 60, "time": 600.0, "generations": 6}
    else:
        params, t_max, options = {}, 3000.0, {}
    report, colored, simulation = verify_spiking(
        "lif_brunel", params, method="lif_colored", options=options, t_max=t_max,
        t_burn=200.0, seed=1, progress=not args.quick)
    white = solve_spiking("lif_brunel", params, tau_max=101.0, dtau=0.1)
    z = {(c.observable, c.at): c.z for c in report.comparisons}
    rows, curves = [], {}
    for name, sim in simulation.observables["populations"].items():
        err = simulation.stderr["populations"][name]
        lags = np.asarray(sim["spike_autocorrelation"]["tau"], float)
        ac = white.observables["populations"][name]["spike_autocorrelation"]
        white_curve = binned(np.asarray(ac["tau"]), np.asarray(ac["values"]), lags, 1.0)
        th = colored.observables["populations"][name]
        th_err = colored.stderr["populations"][name]
        colored_curve = binned(np.asarray(th["spike_autocorrelation"]["tau"]),
                               np.asarray(th["spike_autocorrelation"]["values"]), lags, 1.0)
        curves[name] = (lags, white_curve, colored_curve,
                        np.asarray(sim["spike_autocorrelation"]["values"], float),
                        np.asarray(err["spike_autocorrelation"]["values"], float))
        lag_z = [v for (obs, at), v in z.items()
                 if obs == f"{name}.spike_autocorrelation" and at is not None]
        rows.append({
            "population": name,
            "white": {"rate": white.observables["populations"][name]["rate"],
                      "cv": white.observables["populations"][name]["cv"],
                      "timescale": float(2 * np.trapezoid((white_curve / white_curve[0]) ** 2,
                                                          lags))},
            "colored": {"rate": th["rate"], "rate_stderr": th_err["rate"], "cv": th["cv"],
                        "cv_stderr": th_err["cv"],
                        "timescale": float(2 * np.trapezoid(
                            (colored_curve / colored_curve[0]) ** 2, lags)),
                        "timescale_stderr": th_err["timescale"]},
            "simulation": {"rate": sim["rate"], "rate_stderr": err["rate"], "cv": sim["cv"],
                           "cv_stderr": err["cv"], "timescale": sim["timescale"],
                           "timescale_stderr": err["timescale"]},
            "z": {key: z.get((f"{name}.{key}", None)) for key in ("rate", "cv", "timescale")},
            "autocorrelation_rms_z": float(np.sqrt(np.mean(np.square(lag_z)))),
        })
    print(dumps(strict({"example": "brunel_timescales", "params": params, "N": simulation.N,
                        "t_max": t_max, "rows": rows})))
    if args.figures:
        import pathlib

        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        lags, white_curve, colored_curve, values, errors = curves["E"]
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.errorbar(lags[1:], values[1:], errors[1:], fmt=".", label="simulation")
        ax.plot(lags[1:], colored_curve[1:], label="colored site (lif_colored)")
        ax.plot(lags[1:], white_curve[1:], "--", label="white closure (lif_siegert)")
        ax.set_xlabel("τ (ms)")
        ax.set_ylabel("Ĉ(τ) (Hz²)")
        ax.legend()
        path = pathlib.Path(args.figures)
        path.mkdir(parents=True, exist_ok=True)
        fig.savefig(path / "brunel_timescales.png", dpi=120, bbox_inches="tight")
    return 0


if __name__ == "__main__":
    sys.exit(main())
