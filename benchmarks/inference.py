"""Time the inference of (g, D) from recorded activity (issue 17).

Prints one JSON object: ``infer`` on 1000 units × 10⁴ samples (SCS, φ = erf(√π x/2),
g = 1.5, D = 0.5, sampled every 0.05) with 0 and with 100 bootstrap replicates, the
simulation that made the data, and the ratio of the inference (no bootstrap) to one
pass of numpy's FFT over the same data in the same process (the spectra's floor); the
rate-function curve (`rate_function`, g = 2, window 100: the two-time adjoint and 4000
Monte-Carlo paths) against the DMFT solve it calls.

    python benchmarks/inference.py [--quick]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from timing import timed

import fieldtheory as ft
from fieldtheory.activity import activity
from fieldtheory.inference import infer


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    N, T = (200, 100.0) if args.quick else (1000, 500.0)
    simulation, sim = timed(lambda: ft.simulate("scs_erf", {"g": 1.5, "D": 0.5}, N=N,
                                                t_max=T, t_burn=20.0, dtau=0.05,
                                                record=True))
    data = activity(sim.samples, sim.dtau, sim.labels)
    fft, _ = timed(lambda: np.fft.rfft(data.x[:, : data.samples // 512 * 512]
                                       .reshape(N, -1, 512), axis=2), repeat=3)
    plain, result = timed(lambda: infer("scs_erf", data, bootstrap=0), repeat=2)
    boot, _ = timed(lambda: infer("scs_erf", data, bootstrap=100))
    from fieldtheory.rate_function import rate_function
    from fieldtheory.solve import solve

    window = 30.0 if args.quick else 100.0
    rate_function("scs_erf", {"g": 2.0}, window=window, samples=200)  # generate once
    curve, _ = timed(lambda: rate_function("scs_erf", {"g": 2.0}, window=window))
    dmft, _ = timed(lambda: solve("scs_erf", {"g": 2.0}, tau_max=2 * (window + 20),
                                  dtau=0.1), repeat=3)
    out = {"rate_function_s": curve, "rate_function_window": window, "solve_s": dmft,
           "rate_function_over_solve": curve / dmft}
    out |= {"units": N, "samples": data.samples, "simulate_s": simulation,
           "infer_s": plain, "infer_bootstrap100_s": boot, "fft_s": fft,
           "infer_over_fft": plain / fft, "bootstrap_over_infer": boot / plain,
           "estimates": result.estimates}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
