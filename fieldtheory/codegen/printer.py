"""The numpy printer of generated solvers.

A subclass of sympy's :class:`~sympy.printing.numpy.SciPyPrinter` (erf, special functions
from scipy.special; everything else numpy, fully qualified so the generated module needs
only ``import numpy`` and ``import scipy.special``). Nodes that have no meaning in a
standalone solver — fields, response fields, coupling sums, order parameters — and any
function sympy cannot print raise :class:`~fieldtheory.errors.CodegenError` naming the
node, instead of falling back silently (STYLE.md §8).
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp
from sympy.printing.numpy import SciPyPrinter

from fieldtheory.errors import CodegenError

__all__ = ["SolverPrinter", "numpy_code", "function_source"]


class SolverPrinter(SciPyPrinter):
    """Prints sympy expressions as vectorised numpy/scipy code."""

    def __init__(self, settings=None) -> None:
        super().__init__({"fully_qualified_modules": True, "strict": True, **(settings or {})})

    def _print_Heaviside(self, expr: sp.Heaviside) -> str:
        half = expr.args[1] if len(expr.args) > 1 else sp.Rational(1, 2)
        return (f"{self._module_format('numpy.heaviside')}({self._print(expr.args[0])}, "
                f"{self._print(sp.Float(half))})")

    def _print_AppliedUndef(self, expr) -> str:
        raise CodegenError(
            f"{expr} ({type(expr).__mro__[1].__name__}) has no numpy form: a solver can only "
            "use numbers, parameters and the nonlinearity's argument"
        )

    def _print_CouplingSum(self, expr) -> str:
        raise CodegenError(f"coupling sum {expr} survives into generated code")

    def _print_ByPopulation(self, expr) -> str:
        raise CodegenError(f"per-population value {expr.name} must be resolved before codegen")

    def _print_not_supported(self, expr) -> str:
        raise CodegenError(f"no numpy form for {expr!r} ({type(expr).__name__})")

    def _print_Derivative(self, expr) -> str:
        raise CodegenError(f"unevaluated derivative {expr} in generated code")

    def _print_Integral(self, expr) -> str:
        raise CodegenError(f"unevaluated integral {expr} in generated code")


def numpy_code(expr: sp.Expr) -> str:
    """The numpy/scipy expression for ``expr`` (raises CodegenError if it has none)."""
    return SolverPrinter().doprint(sp.sympify(expr))


def function_source(name: str, arguments: Sequence[sp.Symbol], expr: sp.Expr,
                    doc: str = "", elementwise: bool = False) -> str:
    """``def name(args): return <expr>`` with a one-line docstring, for a module.

    ``elementwise``: a function of one array argument whose result must have that
    argument's shape even when ``expr`` does not depend on it (φ' of a linear φ).
    """
    args = ", ".join(str(a) for a in arguments)
    body = numpy_code(expr)
    if elementwise and not sp.sympify(expr).has(arguments[0]):  # parameters do not count
        body = f"numpy.full(numpy.shape({arguments[0]}), {body}, dtype=float)"
    doc_line = f'    """{doc}"""\n' if doc else ""
    return f"def {name}({args}):\n{doc_line}    return {body}\n"
