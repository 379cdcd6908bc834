"""The O(1/N) shifts of a single unit's statistics in random maps, against stationary
networks (issue 12, item 4; the one-loop tadpole of the collective fields,
:mod:`fieldtheory.window_solve`).

The map x_i(t + 1) = Σ_j J_ij tanh(x_j(t)) + √D ξ_i(t) (the shipped ``map`` at δ = 1),
J_ij ~ N(0, g²/N) with the diagonal. Two points:

* g = 1.5, D = 1 (g⟨φ'⟩ = 0.69, fast mixing): ``solve(..., order="1/N", N=N)`` gives
  N·δΔ0, N·δC_φ(0), N·δ⟨φ'⟩ and the lag-2 covariance N·δΔ(2); stationary networks
  (N = 12 … 64, 400 steps after 100, many networks) give N·(average − N → ∞), fitted as
  B + C/N + D/N²: B against the theory.
* g = 2, D = 0 (g⟨φ'⟩ = 0.94): the theory refuses (its even-lag shifts still converge at
  the window's end, by g²⟨φ'⟩² = 0.88 per step); the networks' unit time means m_i
  (N·E[m²] over 400 steps) are printed — heavy-tailed across networks; what they mean is
  open (docs/fluctuations.md).

Prints one JSON object. ``--quick``: fewer and smaller networks, and the fast-mixing
point at g = 0.9 on a window of 6 steps (a few seconds instead of half a minute; the
g = 1.5 theory is checked in tests/test_window_loop.py). Run alone:
``python examples/finite_n_map.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import fieldtheory as ft
from fieldtheory.errors import ConvergenceError
from fieldtheory.jsonout import dumps, strict

KEYS = ("variance", "variance_phi", "mean_gain", "lag2")


def stationary(g: float, D: float, N: int, networks: int, steps: int, burn: int,
               seed: int) -> np.ndarray:
    """Per network: time averages of x², tanh², 1 − tanh², x(t)x(t − 2), and N·mean m_i²."""
    rng = np.random.default_rng(seed)
    rows = []
    for start in range(0, networks, 2000):
        B = min(2000, networks - start)
        J = rng.normal(0.0, g / np.sqrt(N), (B, N, N))
        x = rng.normal(0.0, 1.4, (B, N))
        history = [x, x]
        acc = np.zeros((B, 4))
        total = np.zeros((B, N))
        for t in range(burn + steps):
            x = np.einsum("bij,bj->bi", J, np.tanh(x)) + np.sqrt(D) * rng.normal(size=(B, N))
            if t >= burn:
                th = np.tanh(x)
                acc += np.stack([(x * x).mean(1), (th * th).mean(1), (1 - th * th).mean(1),
                                 (x * history[0]).mean(1)], 1)
                total += x
            history = [history[1], x]
        means = total / steps
        rows.append(np.concatenate([acc / steps, N * (means**2).mean(1, keepdims=True)], 1))
    return np.concatenate(rows)


def fit(sizes, y, e):
    """Weighted least squares y = B + C/N + D/N²: B and its standard error."""
    inv = 1.0 / np.asarray(sizes, float)
    A = np.stack([np.ones_like(inv), inv, inv**2], 1)
    w = 1.0 / e**2
    cov = np.linalg.inv((A * w[:, None]).T @ A)
    return float((cov @ (A * w[:, None]).T @ y)[0]), float(np.sqrt(cov[0, 0]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    sizes = [12, 24] if args.quick else [12, 16, 24, 32, 48, 64]
    budget, steps = (1e6, 100) if args.quick else (2.4e7, 400)
    out = {}
    # the fast-mixing point: theory against stationary networks
    g, D = (0.9, 1.0) if args.quick else (1.5, 1.0)
    theory = ft.solve("map", {"delta": 1.0, "g": g, "D": D}, order="1/N", N=100,
                      options={"window": 6} if args.quick else None)
    lead, shift = theory.leading_order, theory.observables["mean_shift"]
    lag2 = theory.info["lag_shift"][2]
    infinite = np.array([lead["variance"], lead["autocorrelation_phi"]["values"][0],
                         lead["mean_gain"], lead["autocorrelation"]["values"][2]])
    predicted = [shift["variance"], shift["variance_phi"], shift["mean_gain"], lag2]
    ys, es = [], []
    for N in sizes:
        rows = stationary(g, D, N, int(budget / N**2), steps, 100, seed=N)
        ys.append(N * (rows[:, :4].mean(0) - infinite))
        es.append(N * rows[:, :4].std(0) / np.sqrt(len(rows)))
    ys, es = np.array(ys), np.array(es)
    comparison = {}
    for c, key in enumerate(KEYS):
        B, se = fit(sizes, ys[:, c], es[:, c]) if len(sizes) >= 3 else (None, None)
        comparison[key] = {"theory": predicted[c], "networks": B, "stderr": se,
                           "per_N": ys[:, c].tolist(), "per_N_stderr": es[:, c].tolist()}
    out["fast_mixing"] = {"g": g, "D": D, "sizes": sizes, "shifts": comparison}
    # the edge of chaos without noise: refused, and the static unit means
    g, D = 2.0, 0.0
    try:
        ft.solve("map", {"delta": 1.0, "g": g, "D": D}, order="1/N", N=100,
                 options={"window": 6 if args.quick else 8})
        refusal = None
    except ConvergenceError as error:
        refusal = str(error)
    statics = []
    for N in sizes:
        rows = stationary(g, D, N, int(budget / N**2), steps, 100, seed=100 + N)
        statics.append({"N": N, "N_mean_m2": float(rows[:, 4].mean()),
                        "stderr": float(rows[:, 4].std() / np.sqrt(len(rows)))})
    out["edge_of_chaos"] = {"g": g, "D": D, "refusal": refusal, "static_means": statics}
    print(dumps(strict(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
