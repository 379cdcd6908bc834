"""Dimension of activity against the effective rank of random-mode connectivity.

Clark, Marschall, van Meegen & Litwin-Kumar (arXiv:2409.01969): J = Σ_a d_a l_a r_aᵀ with
an exponential spectrum d_a ∝ e^{−β a/M} (PR_D = tanh β/β) at fixed effective gain
g_eff = 2 (φ = erf(√π x/2)). Single-unit statistics do not depend on the effective rank
α·PR_D; the dimension PR/N does, falling from the iid value (α PR_D → ∞) to
PR ∝ α PR_D (α PR_D → 0). Prints the theory curve (``solve(order="1/N")``) and
simulations (cross-block estimator, several networks) at a few effective ranks, and writes
the figure ``random_mode_dimension.png`` when matplotlib is installed.

Run alone: ``python examples/random_mode_dimension.py [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

import fieldtheory as ft
from fieldtheory.simulate import simulate

BETA, GAIN = 3.0, 2.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few points, small networks")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    model = ft.load_model("random_mode")
    pr_d = math.tanh(BETA) / BETA
    curve_alphas = np.geomspace(0.01, 100.0, 3 if args.quick else 25)
    print(f"random-mode network, g_eff = {GAIN}, β = {BETA} (PR_D = {pr_d:.4f}), φ = erf")
    print(f"{'alpha':>9} {'alpha*PR_D':>11} {'PR_x/N':>9} {'PR_phi/N':>9}")
    curve = []
    for alpha in curve_alphas:
        d = ft.solve(model, {"g": GAIN, "alpha": float(alpha), "beta": BETA},
                     order="1/N").observables["dimension"]
        curve.append((alpha * pr_d, d["pr_x"], d["pr_phi"]))
        print(f"{alpha:9.4g} {alpha * pr_d:11.4g} {d['pr_x']:9.5f} {d['pr_phi']:9.5f}")
    iid = ft.solve("scs_erf", {"g": GAIN}, order="1/N").observables["dimension"]
    print(f"{'iid':>9} {'∞':>11} {iid['pr_x']:9.5f} {iid['pr_phi']:9.5f}")
    n, trials, t_max = (400, 2, 100.0) if args.quick else (2000, 3, 600.0)
    sim_alphas = (0.5,) if args.quick else (0.1, 0.5, 2.0)
    print(f"\nsimulation, N = {n}, {trials} networks, t_max = {t_max:g}")
    print(f"{'alpha':>9} {'theory φ':>9} {'sim φ':>9} {'± se':>7}")
    points = []
    for alpha in sim_alphas:
        values = {"g": GAIN, "alpha": alpha, "beta": BETA}
        theory = ft.solve(model, values, order="1/N").observables["dimension"]["pr_phi"]
        result = simulate(model, values, N=n, t_max=t_max, t_burn=50.0, dtau=0.5,
                          tau_max=10.0, trials=trials, seed=5, observe=("dimension",))
        sim, err = result.observables["dimension"]["pr_phi"], result.stderr["dimension"][
            "pr_phi"]
        points.append((alpha * pr_d, sim, err))
        print(f"{alpha:9.4g} {theory:9.5f} {sim:9.5f} {err:7.5f}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(matplotlib not installed: no figure)")
    else:
        figure, axis = plt.subplots(figsize=(5, 3.5))
        rank, _, pr_phi = np.array(curve).T
        axis.loglog(rank, pr_phi, label="theory (1/N)")
        axis.axhline(iid["pr_phi"], ls=":", color="grey", label="iid")
        r, s, e = np.array(points).T
        axis.errorbar(r, s, yerr=e, fmt="o", label=f"simulation, N = {n}")
        axis.set_xlabel("effective rank α·PR_D")
        axis.set_ylabel("PR_φ / N")
        axis.legend()
        figure.tight_layout()
        figure.savefig("random_mode_dimension.png", dpi=120)
        print("\nwrote random_mode_dimension.png")
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
