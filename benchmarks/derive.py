"""Time the symbolic derivation: cold (first call) and cached, for three models.

Prints one JSON object. Each cold time is measured with fieldtheory's and sympy's caches
cleared, once per model; the ``ratio`` entries compare each cold time with SCS's in the
same run (machine-independent).
Aims: cold < 2 s, cached < 50 ms.

    python benchmarks/derive.py
"""

from __future__ import annotations

import json
import time

import sympy as sp
from sympy.core.cache import clear_cache

import fieldtheory as ft
from fieldtheory.derive import _derive, derive


def two_couplings() -> ft.Action:
    """∂_t x = −x + Σ_j J_ij tanh(x_j) + Σ_j K_ij x_j, J and K independent Gaussians."""
    p = ft.parameters(g=(1.0, "positive"), h=(0.5, "positive"))
    g, h = p.symbols
    x, J, K, t = ft.Field("x"), ft.Coupling("J"), ft.Coupling("K"), ft.t
    return ft.langevin(drift={x: -x(t) + J @ sp.tanh(x(t)) + K @ x(t)},
                       couplings={J: ft.Gaussian(0, g**2), K: ft.Gaussian(0, h**2)},
                       parameters=p)


def timed(target) -> tuple[float, float]:
    _derive.cache_clear()
    clear_cache()  # sympy's own memo too: cold means nothing computed before
    start = time.perf_counter()
    derive(target)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    derive(target)
    return cold, time.perf_counter() - start


def main() -> dict:
    derive("linear")  # warm the imports and sympy's caches once, outside the timings
    targets = {"scs": "scs", "ei": "ei", "J+K": two_couplings()}
    results = {}
    for name, target in targets.items():
        cold, cached = timed(target)
        results[name] = {"cold_s": round(cold, 4), "cached_s": round(cached, 6)}
    base = results["scs"]["cold_s"]
    for entry in results.values():
        entry["cold_ratio_to_scs"] = round(entry["cold_s"] / base, 3)
    ok = all(e["cold_s"] < 2.0 and e["cached_s"] < 0.05 for e in results.values())
    return {"benchmark": "derive", "models": results, "within_aims": ok}


if __name__ == "__main__":
    print(json.dumps(main()))
