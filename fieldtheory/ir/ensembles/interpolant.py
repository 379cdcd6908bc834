r"""An array spectrum as a function of the mode position: the clamped linear interpolant.

An array of mode strengths s_0 … s_{K−1} (``--spectrum FILE``) is read as a shape on (0, 1)
with s(u) the linear interpolant through (k + ½)/K ↦ s_k, constant below the first and
above the last node — what :meth:`~fieldtheory.ir.ensembles.random_mode.RandomMode.modes`
reads at the M mode positions. :class:`ModeInterpolant` is that s(u) as a sympy node, so
that a resummed random-mode term (correlated modes) can carry it like an expression
spectrum: it prints compactly, lambdifies and is printed into generated modules as one
``numpy.interp`` call (:meth:`ModeInterpolant.breaks` tells a mode quadrature where its
kinks are).
"""

from __future__ import annotations

import itertools

import sympy as sp

__all__ = ["ModeInterpolant", "ModeInterpolantSlope", "breaks_of", "weighted_square_integral"]


def breaks_of(expr: sp.Expr) -> tuple[float, ...]:
    """The kinks of every :class:`ModeInterpolant` in ``expr`` (sorted; () for none)."""
    return tuple(sorted({b for f in sp.sympify(expr).atoms(ModeInterpolant)
                         for b in f.breaks}))


def weighted_square_integral(shape: ModeInterpolant, weight: sp.Expr, u: sp.Symbol) -> sp.Expr:
    r"""∫₀¹ s(u)² w(u) du for the interpolant s = ``shape`` (of the position ``u``) and a
    weight w(u) (e.g. an overlap profile squared, which may hold parameters).

    On each panel s² is a quadratic A + Bu + Cu² in u, so the integral is a sum of the
    antiderivatives Fₙ(u) = ∫uⁿw(u)du (n = 0, 1, 2), found once by sympy and evaluated at
    the panel ends. Returns None where sympy finds no antiderivative."""
    values = [sp.nsimplify(v) for v in shape.args[1]]
    K = len(values)
    antiderivatives = []
    for n in range(3):
        F = sp.integrate(u**n * weight, u)
        if F.has(sp.Integral):
            return None
        antiderivatives.append(F)

    def between(a, b, coefficients) -> sp.Expr:
        return sum(c * (F.subs(u, b) - F.subs(u, a))
                   for c, F in zip(coefficients, antiderivatives, strict=True) if c != 0)

    nodes = [sp.Rational(2 * k + 1, 2 * K) for k in range(K)]
    total = between(0, nodes[0], (values[0] ** 2, 0, 0))
    total += between(nodes[-1], 1, (values[-1] ** 2, 0, 0))
    for k in range(K - 1):
        slope = (values[k + 1] - values[k]) * K  # s = values[k] + slope·(u − nodes[k])
        offset = values[k] - slope * nodes[k]
        total += between(nodes[k], nodes[k + 1], (offset**2, 2 * offset * slope, slope**2))
    return total


def _grid(values) -> list[float]:
    K = len(values)
    return [(k + 0.5) / K for k in range(K)]


class ModeInterpolant(sp.Function):
    """s(u) through (k + ½)/K ↦ s_k, clamped: ``ModeInterpolant(u, Tuple(s_0, …))``."""

    nargs = 2

    @classmethod
    def eval(cls, u, values):
        if len(values) == 1:
            return values[0]
        return None

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(float(v) for v in self.args[1])

    @property
    def breaks(self) -> tuple[float, ...]:
        """The kinks in (0, 1): the interpolation nodes."""
        return tuple(_grid(self.args[1]))

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return ModeInterpolantSlope(*self.args)

    def _eval_derivative(self, s):  # the values are constants, not differentiated
        return self.fdiff(1) * self.args[0].diff(s)

    def _sympystr(self, printer) -> str:
        return f"interp({printer._print(self.args[0])}; {len(self.args[1])} values)"

    def _latex(self, printer) -> str:
        return (rf"\operatorname{{interp}}_{{{len(self.args[1])}}}"
                rf"\left({printer._print(self.args[0])}\right)")

    def _numpycode(self, printer) -> str:
        u = printer._print(self.args[0])
        return (f"{printer._module_format('numpy.interp')}({u}, {_grid(self.args[1])!r}, "
                f"{list(self.values)!r})")


class ModeInterpolantSlope(sp.Function):
    """s'(u) of :class:`ModeInterpolant`: piecewise constant, zero outside the nodes."""

    nargs = 2

    def fdiff(self, argindex=1):
        return sp.S.Zero

    def _eval_derivative(self, s):
        return sp.S.Zero

    def _sympystr(self, printer) -> str:
        return f"interp'({printer._print(self.args[0])}; {len(self.args[1])} values)"

    def _numpycode(self, printer) -> str:
        u = printer._print(self.args[0])
        values = [float(v) for v in self.args[1]]
        grid = _grid(values)
        slopes = [(b - a) * len(values) for a, b in itertools.pairwise(values)]
        np_ = printer._module_format("numpy")
        return (f"({np_}.asarray({slopes!r})[{np_}.clip({np_}.searchsorted({grid!r}, {u}) - 1"
                f", 0, {len(slopes) - 1})] * (({u} > {grid[0]!r}) & ({u} < {grid[-1]!r})))")
