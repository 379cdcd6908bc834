"""Time the fixed-point theory and search (issue 16).

Prints one JSON object: the Kac–Rice curve Σ(q) (40 shells, SCS tanh at g = 2) and the
DMFT solve it calls, with their ratio; fixed points found per second by the search at
N = 200, 500 and 1000 (one network each, starts from a trajectory) at g = 2, and at
N = 1000 also at g = 1.5, with the ratio of the time per start to that of one dense N × N
solve (numpy) in the same process — the cost model of the search's time guard. From
N = 100 on, starts that Newton's method leaves at slow points go to the homotopy (at
g = 2 and N ≳ 500 nearly all of them): ``homotopy_starts`` says how many of the starts
reached it.

    python benchmarks/fixed_points.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from fieldtheory.fixed_points import fixed_points, search_fixed_points
from fieldtheory.simulate.fixed_points import FixedPointSearch
from fieldtheory.solve import solve


def timed(function, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    fixed_points("scs", {"g": 2.0})  # generate and warm once
    curve = timed(lambda: fixed_points("scs", {"g": 2.0}))
    dmft = timed(lambda: solve("scs", {"g": 2.0}))
    out = {"curve_s": round(curve, 4), "dmft_s": round(dmft, 4),
           "curve_over_dmft": round(curve / dmft, 2), "search": {}}
    cases = (((200, 2.0, 100),) if args.quick else
             ((200, 2.0, 100), (500, 2.0, 10), (1000, 2.0, 5), (1000, 1.5, 10)))
    for N, g, starts in cases:
        rng = np.random.default_rng(0)
        A = rng.standard_normal((N, N))
        b = rng.standard_normal(N)
        dense = timed(lambda A=A, b=b: np.linalg.solve(A, b), 5)
        budget = FixedPointSearch(batch=min(20, starts), max_starts=starts, patience=2,
                                  trajectory=(20.0, 20.0, 0.05, min(20, starts)),
                                  spectra=False)
        start = time.perf_counter()
        search, _ = search_fixed_points("scs", {"g": g}, N=N, trials=1, seed=1,
                                        budget=budget)
        elapsed = time.perf_counter() - start
        out["search"][f"N={N},g={g:g}"] = {
            "seconds": round(elapsed, 3), "found": search["count"],
            "starts": search["starts"], "failed_starts": search["failed_starts"],
            "homotopy_starts": search["homotopy_starts"],
            "found_per_s": round(search["count"] / elapsed, 3),
            "per_start_over_dense_solve": round(elapsed / search["starts"] / dense, 1)}
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
