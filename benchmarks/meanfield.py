"""Benchmark: the stationary mean-field solve — speed and accuracy against oracles.

Prints one JSON object. Timings are also given as ratios against a baseline run in the
same process (these machines are noisy):

* cold ``derive`` + ``generate`` for SCS (caches cleared), and the cached second call;
* the warm stationary SCS solve (tanh, D = 0) by the generated module at g ∈ {1.5, 2, 3}
  (a new parameter point each call: nothing but quadrature rules is reused), its Δ0 error
  against an mpmath root of the energy condition Δ0²/2 = g²(E[Φ²] − E[Φ]²) computed here,
  and λ_max against the published g = 2 value and the lattice route (O(step²), Richardson
  over steps 0.01, 0.005 — an independent discretisation);
* the same Δ0 from a careful hand-written solver: brentq on the energy condition with
  Gauss–Hermite quadrature (300 nodes), a Gauss–Hermite pair table of C_φ (Chebyshev in
  Δ) and Δ(τ) by shooting (``solve_ivp``), timed against the generated solve;
* C(τ) of the erf network (φ = erf(√π x/2), g = 2, closed-form potential) against mpmath
  lags τ(Δ) = ∫ dx/√(2(V(Δ0) − V(x))) at five levels;
* a 20 × 20 sweep over g ∈ [0.5, 3], J0 ∈ [0, 3] (D = I = 0) with ``fieldtheory.sweep``,
  serial and pooled;
* the reliability guards of ``ft.solve`` (issue 11: ensemble-value validation, the τ-grid
  memory estimate, the method check against the registry, the refusal of non-finite
  observables) against a whole warm ``ft.solve``.

Usage: ``python benchmarks/meanfield.py [--quick]`` (``--quick``: a 5 × 5 sweep).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import mpmath as mp
import numpy as np
from numpy.polynomial import chebyshev
from scipy import integrate, optimize
from scipy.special import erf

from fieldtheory.codegen.generate import generate
from fieldtheory.codegen.module import clear_cache
from fieldtheory.derive import _derive, derive
from fieldtheory.solvers.runtime import stationary
from fieldtheory.sweep import sweep

PUBLISHED = {"delta0": 1.92481, "mean_gain": 0.48682, "lyapunov": 0.112458}  # g = 2


def mp_delta0(g: float) -> float:
    """Root of Δ0²/2 = g²(E[Φ²] − E[Φ]²), Φ = log cosh, by mpmath (30 digits)."""
    with mp.workdps(30):
        def normal(f):
            return mp.quad(lambda z: f(z) * mp.exp(-z**2 / 2),
                           [-mp.inf, -4, 0, 4, mp.inf]) / mp.sqrt(2 * mp.pi)

        def deficit(d):
            s = mp.sqrt(d)
            first = normal(lambda z: mp.log(mp.cosh(s * z)))
            second = normal(lambda z: mp.log(mp.cosh(s * z)) ** 2)
            return d**2 / 2 - g**2 * (second - first**2)

        return float(mp.findroot(deficit, 1.0 + 1.5 * (g - 1) ** 2))


def handwritten_solve(g: float, tau_max: float = 10.0, nodes: int = 300):
    """A careful hand-written solver: Δ0 by brentq on the energy condition (Gauss–Hermite),
    a Gauss–Hermite pair table of C_φ in Δ (Chebyshev, 48 points), Δ(τ) by shooting."""
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / math.sqrt(2 * math.pi)

    def log_cosh(x):
        return np.logaddexp(x, -x) - math.log(2.0)

    def energy(d0):
        values = log_cosh(math.sqrt(d0) * z)
        return d0 * d0 / 2 - g * g * (w @ values**2 - (w @ values) ** 2)

    delta0 = optimize.brentq(energy, 0.05, 20.0, xtol=1e-14, rtol=1e-14)
    zz, ww = np.polynomial.hermite_e.hermegauss(120)
    ww = ww / math.sqrt(2 * math.pi)

    def pair(delta):
        shared, private = math.sqrt(max(delta, 0.0)), math.sqrt(max(delta0 - delta, 0.0))
        inner = np.tanh(shared * zz[:, None] + private * zz[None, :]) @ ww
        return ww @ inner**2

    coef = chebyshev.chebinterpolate(lambda x: np.array([pair(delta0 * t) for t in x]), 48)

    def rhs(_, y):
        return [y[1], y[0] - g * g * chebyshev.chebval(y[0] / delta0, coef)]

    grid = np.arange(0.0, tau_max + 1e-9, 0.5)
    curve = integrate.solve_ivp(rhs, (0, tau_max), [delta0, 0.0], t_eval=grid, rtol=1e-10,
                                atol=1e-12, method="DOP853").y[0]
    return delta0, curve


def erf_curve_error(g: float = 2.0) -> dict:
    """Max |Δ(τ(level)) − level| / Δ0 of the erf network against mpmath lags."""
    def arcsin_integral(x, a):  # ∫₀ˣ (2/π) arcsin(y/a) dy
        return 2 / mp.pi * (x * mp.asin(x / a) + mp.sqrt(a**2 - x**2) - a)

    with mp.workdps(30):
        delta0 = mp.findroot(lambda d: g**2 * arcsin_integral(d, d + 2 / mp.pi) - d**2 / 2,
                             2.0)
        a = delta0 + 2 / mp.pi

        def potential(x):
            return -x**2 / 2 + g**2 * arcsin_integral(x, a)

        top = potential(delta0)
        levels = [delta0 * k for k in (0.9, 0.5, 0.2, 0.05, 0.001)]
        lags = [float(mp.quad(lambda x: 1 / mp.sqrt(2 * (top - potential(x))),
                              [level, delta0])) for level in levels]

    def phi(x):
        return erf(math.sqrt(math.pi) / 2 * x)

    def dphi(x):
        return np.exp(-math.pi / 4 * x**2)

    start = time.perf_counter()
    profile = stationary.solve_profile(phi, dphi, g)
    elapsed = time.perf_counter() - start
    values = profile.delta(np.array(lags))
    error = max(abs(v - float(level)) for v, level in zip(values, levels, strict=True))
    return {"lags": lags, "max_error_over_delta0": error / float(delta0),
            "delta0_relative_error": abs(profile.delta0 / float(delta0) - 1),
            "solve_s": elapsed}


def lattice_lyapunov(g: float) -> float:
    """λ_max by the lattice route, Richardson over steps 0.01 and 0.005."""
    def sech2(x):
        return 1.0 / np.cosh(x) ** 2

    values = [stationary.solve_stationary(np.tanh, sech2, g, dtau=h, step_max=h,
                                          method="lattice").lyapunov for h in (0.01, 0.005)]
    return (4 * values[1] - values[0]) / 3


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    out = function(*args, **kwargs)
    return out, time.perf_counter() - start


def best_of(function, repeats: int = 3):
    times = []
    for _ in range(repeats):
        out, elapsed = timed(function)
        times.append(elapsed)
    return out, min(times)


def stationary_points(module, quick: bool) -> dict:
    points = {}
    for g in (1.5, 2.0, 3.0):
        exact = mp_delta0(g)
        fast, t_fast = best_of(lambda g=g: module.solve(10.0, 0.5, g=g))
        (hand, _), t_hand = best_of(lambda g=g: handwritten_solve(g), 1 if quick else 2)
        entry = {
            "generated_solve_s": t_fast,
            "handwritten_solve_s": t_hand,
            "speedup_over_handwritten": t_hand / t_fast,
            "delta0_mpmath": exact,
            "delta0_relative_error": abs(fast["variance"] / exact - 1),
            "handwritten_delta0_relative_error": abs(hand / exact - 1),
            "lyapunov_max": fast["lyapunov_max"],
        }
        if not quick:
            entry["lyapunov_lattice_richardson"] = lattice_lyapunov(g)
            entry["lyapunov_difference"] = abs(fast["lyapunov_max"]
                                               - entry["lyapunov_lattice_richardson"])
        points[str(g)] = entry
    g2 = points["2.0"]
    g2["published_lyapunov_relative_error"] = abs(g2["lyapunov_max"]
                                                  / PUBLISHED["lyapunov"] - 1)
    return points


def guard_overhead() -> dict:
    """Seconds of the checks ``ft.solve`` adds around the runtime, and their fraction of a
    warm solve at a new parameter point."""
    import fieldtheory as ft
    from fieldtheory.ir.model import load_model
    from fieldtheory.resources import require
    from fieldtheory.solve import _refuse_non_finite
    from fieldtheory.solvers import registry

    model = load_model("scs")
    values = model.parameters.resolve({"g": 2.0})
    observables = ft.solve(model, {"g": 2.0}).to_json()["observables"]

    def guards():
        model.action.validate_values(values)
        require(20.0 / 0.02 * 8 * 64, "benchmark")
        registry.methods()
        _refuse_non_finite("scs", values, observables)

    each = best_of(lambda: [guards() for _ in range(200)])[1] / 200
    solve = best_of(lambda: [ft.solve(model, {"g": 2.0 + 0.01 * k}) for k in range(5)])[1] / 5
    return {"guards_s": each, "solve_s": solve, "fraction_of_solve": each / solve}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 × 5 sweep, fewer repeats")
    args = parser.parse_args()
    _derive.cache_clear()
    clear_cache()
    _, cold = timed(lambda: generate("scs"))
    module, cached = timed(lambda: generate("scs"))
    _, derive_cached = timed(lambda: derive("scs"))
    module.solve(g=2.0)  # warm: imports and quadrature rules
    side = 5 if args.quick else 20
    ranges = {"g": list(np.linspace(0.5, 3.0, side)), "J0": list(np.linspace(0.0, 3.0, side))}
    fixed = {"D": 0.0, "I": 0.0}
    result, t_serial = timed(sweep, "scs", ranges, fixed, workers=1)
    _, t_pooled = timed(sweep, "scs", ranges, fixed, workers=2)
    report = {
        "benchmark": "meanfield",
        "quick": args.quick,
        "cold_derive_codegen_s": cold,
        "cached_generate_s": cached,
        "cached_derive_s": derive_cached,
        "stationary": stationary_points(module, args.quick),
        "erf_curve": erf_curve_error(),
        "sweep_points": side * side,
        "sweep_failed_points": int(result.failed),
        "sweep_serial_s": t_serial,
        "sweep_pooled_s": t_pooled,
        "guard_overhead": guard_overhead(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
