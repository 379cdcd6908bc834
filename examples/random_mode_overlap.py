"""Correlated left and right modes: the resummed single-unit theory against simulation.

Clark, Marschall, van Meegen & Litwin-Kumar (arXiv:2409.01969): J = Σ_a d_a l_a r_aᵀ with
corr(l_a, r_a) = ρσ_a (σ_a random signs). Every order of the disorder average stays in the
saddle point; the single unit gets the resolvent kernel K(ω) = α⟨d²ρ²R/(1 − d²ρ²R²)⟩ and a
dressed input (fieldtheory/transforms/resummation.py), and is sampled by the Monte-Carlo
runtime. Truncating at the second order would give the partially symmetric SCS network
with ρ_eff = ρ² (the model ``scs_erf`` with ``rho`` = overlap²). Prints, against the
overlap at α = 1, a flat spectrum and g = 1.5 (φ = erf(√π x/2)): the variance of x and
C_φ(0) from the resummed theory, from the second-order theory and from simulated networks,
and writes ``random_mode_overlap.png`` when matplotlib is installed. Above overlap ≈ 0.8
the networks approach a frozen state (C_φ(τ) flat over τ ≤ 5) that the stationary theory
does not describe (docs/models/random-mode.md).

Run alone: ``python examples/random_mode_overlap.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time

import fieldtheory as ft

BASE = {"alpha": 1.0, "beta": 0.0, "g": 1.5}


def _at_zero(result, key) -> tuple[float, float]:
    value, error = result.observables[key], result.stderr[key]
    if key == "autocorrelation_phi":
        return float(value["values"][0]), float(error["values"][0])
    return float(value), float(error)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one overlap, small networks")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    model, bare_model = ft.load_model("random_mode_overlap"), ft.load_model("scs_erf")
    overlaps = (0.5,) if args.quick else (0.2, 0.4, 0.5, 0.6)
    # the runtime's defaults (64 paths, 8 replicas, t = 100) for the full run; more paths
    # make its convergence test (changes below 0.1 standard errors) too strict to be met
    # by the accelerated iteration at small overlaps
    options = {"paths": 48, "replicas": 4, "t_record": 60.0} if args.quick else {}
    n, trials, t_max = (400, 2, 50.0) if args.quick else (2000, 4, 200.0)
    lags = {"tau_max": 5.0, "dtau": 0.5}
    print(f"random modes, α = 1, flat spectrum, g = {BASE['g']}, φ = erf; "
          f"simulations N = {n}, {trials} networks, t_max = {t_max:g}")
    header = f"{'overlap':>7} {'':>10} {'resummed':>16} {'2nd order':>16} {'simulation':>16}"
    print(header)
    rows = []
    for rho in overlaps:
        values = {**BASE, "overlap": rho}
        theory = ft.solve(model, values, **lags, options=options)
        bare = ft.solve(bare_model, {"g": BASE["g"], "rho": rho**2}, **lags,
                        method="monte_carlo", options=options)  # sampled too, at ρ = 0 also
        sim = ft.simulate(model, values, N=n, trials=trials, t_max=t_max, t_burn=50.0,
                          seed=7, **lags)
        for key, label in (("variance", "Var x"), ("autocorrelation_phi", "C_φ(0)")):
            parts = [_at_zero(r, key) for r in (theory, bare, sim)]
            rows.append((rho, key, parts))
            cells = " ".join(f"{v:9.4f} ± {e:5.3f}" for v, e in parts)
            print(f"{rho:7.2f} {label:>10} {cells}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no figure)")
    else:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
        for ax, key, label in zip(axes, ("variance", "autocorrelation_phi"),
                                  ("Var x", "C_φ(0)"), strict=True):
            picked = [(rho, parts) for rho, k, parts in rows if k == key]
            xs = [rho for rho, _ in picked]
            for index, name, style in ((0, "resummed theory", "-o"), (1, "second order", "--s")):
                ax.plot(xs, [p[index][0] for _, p in picked], style, label=name)
            ax.errorbar(xs, [p[2][0] for _, p in picked], [p[2][1] for _, p in picked],
                        fmt="k^", label=f"simulation, N = {n}")
            ax.set_xlabel("overlap ρ")
            ax.set_ylabel(label)
        axes[0].legend()
        fig.tight_layout()
        fig.savefig("random_mode_overlap.png", dpi=120)
        print("wrote random_mode_overlap.png")
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
