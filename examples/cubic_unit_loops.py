"""Loop corrections for a nonlinear unit, dx = (−x − a x³)dt + √D dW, against exact results.

The MSRDJ action of the unit is expanded around its Ornstein–Uhlenbeck part; the diagram
engine gives the one- and two-loop diagrams of ⟨x x⟩ (each loop one power of D), and
generated numpy evaluates their time integrals. The stationary density is exactly
∝ exp(−2U/D), U = x²/2 + a x⁴/4 (SCIENCE.md §2), so ⟨x²⟩ has an exact value; its
perturbation series, D/2 − 3aD²/4 + 3a²D³ + …, is the textbook anharmonic-oscillator
series. The script prints the loop-corrected variance at each order against the exact
one: at small a·D the error shrinks with every loop (the series is asymptotic, so only
while a·D is small).
Run alone: ``python examples/cubic_unit_loops.py [--quick]``.
"""

from __future__ import annotations

import argparse
import math

from scipy import integrate

import fieldtheory as ft


def exact_variance(a: float, D: float) -> float:
    """⟨x²⟩ of the density ∝ exp(−(x² + a x⁴/2)/D) by adaptive quadrature."""
    weight = lambda x: math.exp(-(x * x + a * x**4 / 2) / D)  # noqa: E731
    norm, _ = integrate.quad(weight, -math.inf, math.inf, epsabs=1e-14, epsrel=1e-13)
    second, _ = integrate.quad(lambda x: x * x * weight(x), -math.inf, math.inf,
                               epsabs=1e-14, epsrel=1e-13)
    return second / norm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one coupling only")
    args = parser.parse_args(argv)
    couplings = (0.05,) if args.quick else (0.02, 0.05, 0.1)
    D = 1.0
    failed = False
    for a in couplings:
        exact = exact_variance(a, D)
        errors = []
        for loops in (0, 1, 2):
            result = ft.solve("cubic_unit", {"a": a, "D": D}, loops=loops, tau_max=4.0,
                              dtau=0.5)
            errors.append(abs(result.observables["variance"] - exact))
            print(f"a = {a:5.3f}, {loops} loop(s): <x^2> = "
                  f"{result.observables['variance']:.8f}, exact {exact:.8f}, "
                  f"error {errors[-1]:.2e}")
        failed |= not (errors[2] < errors[1] < errors[0])
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
