"""Single-unit nonlinearities φ, as sympy functions of one argument.

Any sympy function of one variable is a valid nonlinearity; the ones below are named so
that models, closed-form Gaussian integrals and the command line can refer to them.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from fieldtheory.errors import DeclarationError

__all__ = ["ReLU", "relu", "tanh", "erf_sqrtpi", "identity", "logistic", "NONLINEARITIES",
           "nonlinearity"]


class ReLU(sp.Function):
    """φ(u) = max(u, 0), with φ'(u) = Θ(u)."""

    nargs = 1

    @classmethod
    def eval(cls, arg):
        if arg.is_number and arg.is_real:
            return sp.Max(arg, 0)
        return None

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], sp.Rational(1, 2))

    def _eval_rewrite_as_Max(self, arg, **kwargs):
        return sp.Max(arg, 0)

    def _numpycode(self, printer):
        return f"{printer._module_format('numpy.maximum')}({printer._print(self.args[0])}, 0)"

    def _latex(self, printer):
        return rf"\operatorname{{ReLU}}\left({printer._print(self.args[0])}\right)"


def relu(u: sp.Expr) -> sp.Expr:
    return ReLU(u)


def tanh(u: sp.Expr) -> sp.Expr:
    return sp.tanh(u)


def erf_sqrtpi(u: sp.Expr) -> sp.Expr:
    """φ(u) = erf(√π u / 2): slope 1 at the origin, like tanh (SCIENCE.md §1)."""
    return sp.erf(sp.sqrt(sp.pi) * u / 2)


def identity(u: sp.Expr) -> sp.Expr:
    return u


def logistic(u: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-u))


NONLINEARITIES: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "tanh": tanh,
    "erf": erf_sqrtpi,
    "relu": relu,
    "identity": identity,
    "logistic": logistic,
}


def nonlinearity(name: str) -> Callable[[sp.Expr], sp.Expr]:
    """Look up a named nonlinearity."""
    try:
        return NONLINEARITIES[name]
    except KeyError:
        raise DeclarationError(
            f"unknown nonlinearity {name!r}; known: {', '.join(sorted(NONLINEARITIES))}"
        ) from None
