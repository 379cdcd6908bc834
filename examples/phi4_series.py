"""Zero-dimensional φ⁴ theory: perturbation series from Feynman diagrams vs the exact integral.

Z(λ) = ∫dx exp(−x²/2 − λx⁴/4!)/√(2π). The diagram engine enumerates the connected vacuum
diagrams of ln Z and the connected two-point diagrams of ⟨x²⟩, with their symmetry
factors; summed by order (number of vertices) they give the classic asymptotic series

    ln Z = −λ/8 + λ²/12 − 11λ³/96 + …,    ⟨x²⟩ = 1 − λ/2 + 2λ²/3 − 11λ³/8 + …

(e.g. Zinn-Justin, *Quantum Field Theory and Critical Phenomena*, the zero-dimensional
model). The script prints the diagrams, the series, and the partial sums against an mpmath
quadrature of the integrals: each partial sum misses by less than the first omitted term.
Run alone: ``python examples/phi4_series.py [--quick]``.
"""

from __future__ import annotations

import argparse
from fractions import Fraction

import mpmath

from fieldtheory.diagrams import (
    expand,
    ln_z_series,
    moment_series,
    perturbative_theory,
)

PUBLISHED_LN_Z = [Fraction(0), Fraction(-1, 8), Fraction(1, 12), Fraction(-11, 96)]


def exact(lam: float) -> tuple[float, float]:
    """(ln Z, ⟨x²⟩) by mpmath quadrature at 30 digits."""
    mpmath.mp.dps = 30
    weight = lambda x: mpmath.exp(-x * x / 2 - lam * x**4 / 24)  # noqa: E731
    z = mpmath.quad(weight, [-mpmath.inf, 0, mpmath.inf]) / mpmath.sqrt(2 * mpmath.pi)
    x2 = mpmath.quad(lambda x: x * x * weight(x), [-mpmath.inf, 0, mpmath.inf])
    return float(mpmath.log(z)), float(x2 / mpmath.sqrt(2 * mpmath.pi) / z)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="orders up to 3 only")
    args = parser.parse_args(argv)
    order = 3 if args.quick else 4
    theory = perturbative_theory("phi4_zero_dim")
    print("connected vacuum diagrams of ln Z:")
    for diagram in expand(theory, (), order=order):
        print(f"  order {diagram.order}, loops {diagram.loops}, "
              f"1/S = {diagram.symmetry_factor}: {diagram.text()}")
    ln_z = ln_z_series(theory, order)
    x2 = moment_series(theory, ("x", "x"), order)
    print("ln Z  =", " + ".join(f"({c})λ^{k}" for k, c in enumerate(ln_z.strings())))
    print("<x^2> =", " + ".join(f"({c})λ^{k}" for k, c in enumerate(x2.strings())))
    coefficients = [Fraction(c) for c in ln_z.strings()]
    if coefficients[: len(PUBLISHED_LN_Z)] != PUBLISHED_LN_Z[: len(coefficients)]:
        print("MISMATCH with the published series", PUBLISHED_LN_Z)
        return 1
    lam = 0.01
    exact_ln_z, exact_x2 = exact(lam)
    failed = False
    for name, series, value in (("ln Z", ln_z, exact_ln_z), ("<x^2>", x2, exact_x2)):
        terms = [float(Fraction(c)) * lam**k for k, c in enumerate(series.strings())]
        for k in range(len(terms) - 1):
            error = abs(sum(terms[: k + 1]) - value)
            ok = error < abs(terms[k + 1])
            failed |= not ok
            print(f"  {name} to order {k}: error {error:.3e} < next term "
                  f"{abs(terms[k + 1]):.3e}: {ok}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
