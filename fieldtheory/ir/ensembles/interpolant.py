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

__all__ = ["InterpolantSquareMoment", "ModeInterpolant", "ModeInterpolantSlope", "breaks_of",
           "weighted_square_integral"]


def breaks_of(expr: sp.Expr) -> tuple[float, ...]:
    """The kinks of every :class:`ModeInterpolant` in ``expr`` (sorted; () for none)."""
    return tuple(sorted({b for f in sp.sympify(expr).atoms(ModeInterpolant)
                         for b in f.breaks}))


#: The integration variable of :class:`InterpolantSquareMoment` (bound: a fixed symbol, so
#: that equal moments are equal expressions).
BOUND = sp.Symbol("u_mode", real=True)
#: Gauss–Legendre nodes per panel of :class:`InterpolantSquareMoment` (s² is a quadratic on
#: each panel; a smooth weight such as e^{−2κu} is integrated to round-off).
MOMENT_NODES = 16


def weighted_square_integral(shape: ModeInterpolant, weight: sp.Expr, u: sp.Symbol) -> sp.Expr:
    r"""∫₀¹ s(u)² w(u) du for the interpolant s = ``shape`` (of the position ``u``) and a
    weight w(u) (e.g. an overlap profile squared, which may hold parameters): an
    :class:`InterpolantSquareMoment` node (a number where w holds no parameters)."""
    return InterpolantSquareMoment(sp.Lambda(BOUND, sp.sympify(weight).xreplace({u: BOUND})),
                                   shape.args[1])


def _moment_rule(values) -> tuple[list[float], list[float]]:
    """Nodes on (0, 1) and weights × s(node)² of the panelled rule for ∫s²w du."""
    import numpy as np

    grid = _grid(values)
    edges = [0.0, *grid, 1.0]
    z, wz = np.polynomial.legendre.leggauss(MOMENT_NODES)
    nodes, weights = [], []
    for lo, hi in itertools.pairwise(edges):
        if hi > lo:
            nodes.extend(lo + (hi - lo) * (z + 1) / 2)
            weights.extend((hi - lo) * wz / 2)
    nodes = np.asarray(nodes)
    square = np.interp(nodes, grid, [float(v) for v in values]) ** 2
    return nodes.tolist(), (np.asarray(weights) * square).tolist()


class _ModeNodes(sp.Symbol):
    """The rule's nodes as one symbol, printed as the array of them (inside a moment's
    weight, so that the weight evaluates at every node in one numpy expression)."""

    def __new__(cls, nodes: tuple[float, ...]):
        obj = super().__new__(cls, f"_mode_nodes_{len(nodes)}_{abs(hash(nodes)) % 10**8}",
                              real=True)
        obj._nodes = nodes
        return obj

    def _numpycode(self, printer) -> str:
        return f"{printer._module_format('numpy.asarray')}({list(self._nodes)!r})"


class InterpolantSquareMoment(sp.Function):
    r"""∫₀¹ s(u)² w(u) du for the interpolant through (k + ½)/K ↦ s_k:
    ``InterpolantSquareMoment(Lambda(v, w(v)), Tuple(s_0, …))``. Evaluated (to a Float) as
    soon as w holds no parameters, by Gauss–Legendre with :data:`MOMENT_NODES` nodes on each
    panel between the interpolant's kinks; printed compactly, and into numpy code as one
    dot product of that rule with w at its nodes."""

    nargs = 2

    @classmethod
    def eval(cls, weight, values):
        if isinstance(weight, sp.Lambda) and not weight.expr.free_symbols - set(
                weight.variables):
            return sp.Float(cls._numeric(weight, values))
        return None

    @staticmethod
    def _numeric(weight, values) -> float:
        import numpy as np

        nodes, coefficients = _moment_rule(values)
        f = sp.lambdify(weight.variables, weight.expr, "numpy")
        body = np.broadcast_to(np.asarray(f(np.asarray(nodes)), dtype=float), (len(nodes),))
        return float(np.dot(coefficients, body))

    def _sympystr(self, printer) -> str:
        weight = self.args[0]
        (v,) = weight.variables
        return (f"∫interp({printer._print(v)}; {len(self.args[1])} values)²·"
                f"({printer._print(weight.expr)}) d{printer._print(v)}")

    def _latex(self, printer) -> str:
        weight = self.args[0]
        (v,) = weight.variables
        return (rf"\int_0^1 \operatorname{{interp}}_{{{len(self.args[1])}}}"
                rf"\left({printer._print(v)}\right)^2 \left({printer._print(weight.expr)}\right)"
                rf"\, d{printer._print(v)}")

    def _numpycode(self, printer) -> str:
        weight = self.args[0]
        (v,) = weight.variables
        nodes, coefficients = _moment_rule(self.args[1])
        body = printer._print(weight.expr.xreplace({v: _ModeNodes(tuple(nodes))}))
        np_ = printer._module_format("numpy")
        return (f"{np_}.dot({coefficients!r}, {np_}.broadcast_to({body}, "
                f"({len(nodes)},)))")


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
