"""Coexisting DMFT solutions of bistable units and the switching of finite networks
between them (issue 17, item 2; van Meegen, Kühn & Helias, PRL 127, 158302 (2021),
arXiv:2009.08889).

The network ``bistable``: ∂_t x_i = −x_i + s tanh x_i + Σ_j J_ij erf(√π x_j/2) + ξ_i with
s = 1.5 (each unit a double well), g = 2, noise D = 0.05 (``--quick``: D = 0.05 too,
smaller runs). First the stable stationary DMFT solutions
(:func:`fieldtheory.transitions.dmft_branches`): a *fluctuating* branch (units hopping
between their wells, driven by each other) and a *frozen* one (each unit held in one well
by a static field that the frozen units themselves make). Then networks of N units
(N = 30 … 100; 12 networks each, 5000 time units after a burn-in of 50) are simulated and
Q(t) = (1/N)Σφ(x_i)² is followed (:func:`fieldtheory.transitions.simulate_switching`):
the time spent in each branch, the switches, the mean dwell times (total time over exits,
errors by resampling networks). How the dwell times grow with N — ln τ ≈ a + N·ΔH for a
barrier ΔH of the rate function — is fitted; the theory's ΔH is not computed yet
(docs/models/large-deviations.md says why).

Prints one JSON object; ``--figures DIR`` draws Q(t) of one network per N with the
branches, and ln τ against N (matplotlib). Run alone:
``python examples/bistable_switching.py [--quick] [--figures DIR]``.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from fieldtheory.jsonout import dumps, strict
from fieldtheory.transitions import dmft_branches, simulate_switching

PARAMS = {"g": 2.0, "s": 1.5, "D": 0.05}


def fit_log_dwell(rows, key):
    """Weighted least squares of ln τ against N: slope, its error, intercept."""
    N, y, w = [], [], []
    for row in rows:
        tau, se = row["mean_dwell"][key], row["stderr"][key]
        if tau is None or se is None or se <= 0:
            continue
        N.append(row["N"])
        y.append(math.log(tau))
        w.append((tau / se) ** 2)  # Var ln τ ≈ (se/τ)²
    if len(N) < 2:
        return None
    N, y, w = map(np.asarray, (N, y, w))
    A = np.stack([np.ones_like(N, dtype=float), N.astype(float)], axis=1)
    cov = np.linalg.inv(A.T @ (w[:, None] * A))
    a, b = cov @ A.T @ (w * y)
    return {"slope": float(b), "slope_stderr": float(math.sqrt(cov[1, 1])),
            "intercept": float(a), "sizes": N.tolist()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small runs (a minute)")
    parser.add_argument("--figures", metavar="DIR", help="write figures (matplotlib)")
    args = parser.parse_args(argv)
    quick = args.quick
    search = dmft_branches("bistable", PARAMS, paths=32 if quick else 64,
                           window=30.0 if quick else 60.0)
    branches = [b.to_json() for b in search.branches]
    print("branches: " + "; ".join(f"{b['kind']} q = {b['q']:.4f} ± {b['stderr']['q']:.4f}"
                                   for b in branches), file=sys.stderr, flush=True)
    out = {"params": PARAMS, "branches": branches, "notes": list(search.notes), "runs": []}
    if len(search.branches) != 2:
        print(dumps(strict(out)))
        return 0
    q = [b.q for b in search.branches]
    sizes = (30,) if quick else (30, 40, 50, 60, 80, 100)
    networks, t_max = (2, 800.0) if quick else (12, 5000.0)
    traces = {}
    for N in sizes:
        run = simulate_switching("bistable", PARAMS, branches=q, N=N, networks=networks,
                                 t_max=t_max, seed=N)
        data = run.to_json()
        o = data["observables"]
        row = {"N": N, "mean_dwell": o["mean_dwell"], "stderr": data["stderr"]["mean_dwell"],
               "switches": o["switches"], "share_frozen": o["share"]["upper"]}
        out["runs"].append(row)
        traces[N] = run
        print(f"N = {N}: switches {o['switches']}, frozen share "
              f"{np.round(o['share']['upper'], 2).tolist()}, τ(fluctuating) = "
              f"{o['mean_dwell']['lower']}, τ(frozen) = {o['mean_dwell']['upper']}",
              file=sys.stderr, flush=True)
    out["fits"] = {"fluctuating_to_frozen": fit_log_dwell(out["runs"], "lower"),
                   "frozen_to_fluctuating": fit_log_dwell(out["runs"], "upper")}
    print(dumps(strict(out)))
    if args.figures:
        figures(args.figures, out)
    return 0


def figures(folder: str, out: dict) -> None:
    import pathlib

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = pathlib.Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for key, label in (("lower", "fluctuating → frozen"), ("upper", "frozen → fluctuating")):
        rows = [r for r in out["runs"] if r["mean_dwell"][key] is not None]
        ax.errorbar([r["N"] for r in rows], [r["mean_dwell"][key] for r in rows],
                    [r["stderr"][key] or 0.0 for r in rows], marker="o", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel("mean dwell time")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path / "bistable_dwell_times.png", dpi=120)


if __name__ == "__main__":
    sys.exit(main())
