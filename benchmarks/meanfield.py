"""Benchmark: derive + codegen, cached load, and the stationary solve against a baseline.

Prints one JSON object. Timings are ratios against a baseline run in the same process
(these machines are noisy):

* cold ``derive`` + ``generate`` for SCS (caches cleared), and the cached second call;
* the stationary SCS solve (tanh, g = 2, D = 0) by the generated module against a
  straightforward baseline written here — scipy ``quad`` for the Gaussian integrals,
  ``brentq`` on the energy condition for Δ0, ``solve_ivp`` shooting of
  Δ'' = Δ − g² C_φ(Δ; Δ0) for Δ(τ) — at equal accuracy on Δ0 (both to 1e-8 of the
  published-precision reference; the generated solver at lattice step 0.0025);
* a 100-point sweep over g with ``solve_many``.

Usage: ``python benchmarks/meanfield.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
from scipy import integrate, optimize

from fieldtheory.codegen.generate import generate
from fieldtheory.codegen.module import clear_cache
from fieldtheory.derive import _derive, derive


def _gauss(f, var):
    """E[f(u)], u ~ N(0, var), by adaptive quad (the baseline's integrator)."""
    s = math.sqrt(var)
    value, _ = integrate.quad(lambda z: f(s * z) * math.exp(-z * z / 2), -12, 12,
                              epsabs=1e-13, epsrel=1e-13, limit=200)
    return value / math.sqrt(2 * math.pi)


def _pair(f, var, cov):
    """E[f(u) f(v)] with variances var, covariance cov: nested quad."""
    rho_s = cov / math.sqrt(var)
    rest = math.sqrt(max(var - cov * cov / var, 0.0))

    def inner(z):
        u = math.sqrt(var) * z
        return f(u) * _gauss(lambda w: f(rho_s * z + w), rest**2) if rest > 0 else f(u) * f(
            rho_s * z)

    value, _ = integrate.quad(lambda z: inner(z) * math.exp(-z * z / 2), -12, 12,
                              epsabs=1e-12, epsrel=1e-12, limit=200)
    return value / math.sqrt(2 * math.pi)


def baseline_solve(g: float = 2.0, tau_max: float = 10.0) -> tuple[float, np.ndarray]:
    """Δ0 from the energy condition (brentq + quad), Δ(τ) by shooting (solve_ivp)."""
    def Phi(x):
        return math.log(math.cosh(x))

    def energy(d0):
        # Δ0²/2 = g² (E[Φ²] − E[Φ]²), u ~ N(0, Δ0)  (SCIENCE.md §1, D = 0, μ = 0)
        return d0 * d0 / 2 - g * g * (_gauss(lambda x: Phi(x) ** 2, d0)
                                      - _gauss(Phi, d0) ** 2)

    delta0 = optimize.brentq(energy, 0.5, 5.0, xtol=1e-12, rtol=1e-12)

    def rhs(_, y):
        return [y[1], y[0] - g * g * _pair(math.tanh, delta0, y[0])]

    grid = np.arange(0.0, tau_max + 1e-9, 0.5)
    solution = integrate.solve_ivp(rhs, (0, tau_max), [delta0, 0.0], t_eval=grid,
                                   rtol=1e-10, atol=1e-12)
    return delta0, solution.y[0]


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    out = function(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10-point sweep, short baseline")
    args = parser.parse_args()
    _derive.cache_clear()
    clear_cache()
    _, cold = timed(lambda: generate("scs"))
    module, cached = timed(lambda: generate("scs"))
    _, derive_cached = timed(lambda: derive("scs"))
    # lattice step 0.0025: O(step²) error ≈ 6e-9 on Δ0, matching the baseline's 1e-8
    fast, t_fast = timed(module.solve, 10.0, 0.5, 0.0025, g=2.0)
    (delta0_base, curve_base), t_base = timed(baseline_solve, 2.0, 4.0 if args.quick else 10.0)
    points = 10 if args.quick else 100
    grid = np.linspace(1.1, 3.0, points)
    _, t_sweep = timed(module.solve_many, 10.0, 0.5, g=grid)
    report = {
        "benchmark": "meanfield",
        "quick": args.quick,
        "cold_derive_codegen_s": cold,
        "cached_generate_s": cached,
        "cached_derive_s": derive_cached,
        "generated_solve_s": t_fast,
        "baseline_solve_s": t_base,
        "speedup_over_baseline": t_base / t_fast,
        "delta0_generated": fast["variance"],
        "delta0_baseline": delta0_base,
        "delta0_difference": abs(fast["variance"] - delta0_base),
        "curve_max_difference": float(np.max(np.abs(
            fast["autocorrelation"]["values"][: curve_base.size] - curve_base))),
        "sweep_points": points,
        "sweep_s": t_sweep,
        "sweep_s_per_point": t_sweep / points,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
