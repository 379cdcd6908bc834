"""Time the diagram engine: enumeration by order, and the cached second call; prints JSON.

The action is a unit with cubic and quartic drift, dx = (−x − b x² − a x³) dt + √D dW,
expanded for ⟨x⟩, ⟨x x⟩ and ⟨x x̃⟩ up to two loops (that is up to order 2L + n − 2 = 4
vertices for the two-point functions). Each order's cold time is measured with the engine's
caches cleared; the ``ratio`` entries compare every time with a baseline timed in the same
process — building the same action's ``perturbative_theory`` (sympy splitting of the
Lagrangian) — so they are machine-independent.
Aims: all two-loop diagrams cold < 10 s, cached call < 1 ms.

    python benchmarks/diagrams.py
"""

from __future__ import annotations

import json
import time

import fieldtheory as ft
from fieldtheory.diagrams import expand, perturbative_theory
from fieldtheory.diagrams.theory import _theory
from fieldtheory.diagrams.wick import _expand

FUNCTIONS = {"<x>": ("x",), "<x x>": ("x", "x"), "<x x~>": ("x", "x~")}


def cubic_quartic() -> ft.Action:
    p = ft.parameters(a=(0.1, "nonnegative"), b=(0.1, "real"), D=(1.0, "positive"))
    a, b, D = p.symbols
    x, t = ft.Field("x"), ft.t
    return ft.langevin(drift={x: -x(t) - b * x(t) ** 2 - a * x(t) ** 3}, noise={x: D}, parameters=p)


def main() -> dict:
    action = cubic_quartic()
    _theory.cache_clear()
    start = time.perf_counter()
    theory = perturbative_theory(action)
    baseline = time.perf_counter() - start
    by_order = {}  # the diagrams with at most `order` vertices and two loops
    for order in range(5):
        _expand.cache_clear()
        start = time.perf_counter()
        count = sum(len(expand(theory, legs, order=order, loops=2)) for legs in FUNCTIONS.values())
        elapsed = time.perf_counter() - start
        by_order[order] = {"diagrams_up_to_order": count, "cold_s": round(elapsed, 4)}
    _expand.cache_clear()
    start = time.perf_counter()
    counts = {name: len(expand(theory, legs, loops=2)) for name, legs in FUNCTIONS.items()}
    cold = time.perf_counter() - start
    start = time.perf_counter()
    for legs in FUNCTIONS.values():
        expand(theory, legs, loops=2)
    cached = time.perf_counter() - start
    for entry in by_order.values():
        entry["ratio_to_baseline"] = round(entry["cold_s"] / baseline, 3)
    return {
        "benchmark": "diagrams",
        "action": "dx = (-x - b x^2 - a x^3) dt + sqrt(D) dW, up to two loops",
        "baseline_s": round(baseline, 4),
        "diagrams_by_function": counts,
        "by_order": by_order,
        "two_loops_cold_s": round(cold, 4),
        "two_loops_cached_s": round(cached, 6),
        "cold_ratio_to_baseline": round(cold / baseline, 3),
        "cached_ratio_to_baseline": round(cached / baseline, 6),
        "within_aims": cold < 10.0 and cached < 1e-3,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
