"""The sympy atoms a model is written in: fields, response fields, couplings, time.

An action is written for one site ``i`` (the sum over sites is implicit, see
``docs/conventions.md``). Its building blocks are sympy objects, so every stage of the
pipeline stays an ordinary sympy expression that prints, hashes and substitutes:

* ``x(t)`` — the value of field ``x`` at site ``i`` and time ``t`` (a :class:`FieldValue`);
* ``x.response(t)`` — the response field x̃_i(t) (a :class:`ResponseValue`);
* ``J @ f(x(t))`` — the coupling sum Σ_j J_ij f(x_j(t)) (a :class:`CouplingSum`; inside it,
  fields refer to the presynaptic site ``j``);
* ``by_population(E=I_E, I=I_I)`` — a value that depends on the population of site ``i``
  (a :class:`ByPopulation`).
"""

from __future__ import annotations

import copyreg
from dataclasses import dataclass, field

import sympy as sp
from sympy.core.function import AppliedUndef, UndefinedFunction
from sympy.core.symbol import Str

from fieldtheory.errors import DeclarationError

__all__ = [
    "t",
    "s",
    "n",
    "Field",
    "FieldValue",
    "ResponseValue",
    "Coupling",
    "CouplingSum",
    "ByPopulation",
    "by_population",
    "field_values",
    "response_values",
    "coupling_sums",
]

#: Continuous time (the default time of an action).
t = sp.Symbol("t", real=True)
#: A second continuous time, for two-time objects such as C(t, s).
s = sp.Symbol("s", real=True)
#: The step index of a discrete-time action (a map or a layer).
n = sp.Symbol("n", integer=True)


class FieldValue(AppliedUndef):
    """x_i(τ): a dynamical field at the current site and one time argument."""

    is_real = True


class ResponseValue(AppliedUndef):
    """x̃_i(τ): the MSRDJ response field conjugate to a field (integrated along iℝ)."""


# sympy pickles an undefined function by name and keyword attributes only
# (copyreg: UndefinedFunction → _reduce_undef), which drops the base class: an unpickled
# x(t) would be a plain Function("x")(t) in a fresh interpreter. Field functions carry
# their role in their kwargs, so the reducer below rebuilds them on the right base and
# leaves every other undefined function to sympy's own reducer.
_SYMPY_REDUCE_UNDEF = copyreg.dispatch_table.get(UndefinedFunction)


def _rebuild_field_function(name: str, kwargs: dict, role: str) -> UndefinedFunction:
    base = FieldValue if role == "value" else ResponseValue
    return UndefinedFunction(name, bases=(base,), **kwargs)


def _reduce_undefined(function: UndefinedFunction):
    kwargs = dict(getattr(function, "_kwargs", {}))
    role = kwargs.get("field_role")
    if role in ("value", "response") and issubclass(function, (FieldValue, ResponseValue)):
        return (_rebuild_field_function, (function.__name__, kwargs, role))
    return _SYMPY_REDUCE_UNDEF(function)


copyreg.pickle(UndefinedFunction, _reduce_undefined)


def _check_name(name: str) -> None:
    if not name.isidentifier():
        raise DeclarationError(f"field name {name!r} is not a Python identifier")


@dataclass(frozen=True)
class Field:
    """A named dynamical field x_i(t), defined at every site.

    Calling the field with a time gives its value, ``x(t)``; ``x.response(t)`` gives
    the response field x̃_i(t).

    Parameters
    ----------
    name : str
        Identifier used in printing and on the command line.
    latex : str, optional
        LaTeX name; defaults to ``name``.
    """

    name: str
    latex: str = ""
    _value: UndefinedFunction = field(init=False, repr=False, compare=False, hash=False)
    _response: UndefinedFunction = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        latex = self.latex or self.name
        object.__setattr__(self, "latex", latex)
        # sympy compares undefined functions by name and keyword attributes only, not by
        # base class, and caches applications: without a mark of its own, x(t) would be
        # *the* sympy.Function("x")(t) whenever one had been built before, not a
        # FieldValue. A LaTeX name other than the identifier travels along for the
        # printers (part of the function's identity, as it is of the Field's).
        extra = {} if latex == self.name else {"latex_name": latex}
        value = UndefinedFunction(self.name, bases=(FieldValue,), field_role="value", **extra)
        response = UndefinedFunction(
            f"{self.name}~", bases=(ResponseValue,), field_role="response", **extra
        )
        object.__setattr__(self, "_value", value)
        object.__setattr__(self, "_response", response)

    def __call__(self, time: sp.Expr | None = None) -> FieldValue:
        # x() without a time: the value in a zero-dimensional theory (a plain integral)
        return self._value() if time is None else self._value(sp.sympify(time))

    def response(self, time: sp.Expr) -> ResponseValue:
        """The response field x̃_i(time)."""
        return self._response(sp.sympify(time))

    @property
    def value_function(self) -> UndefinedFunction:
        """The sympy function class whose applications are this field's values."""
        return self._value

    @property
    def response_function(self) -> UndefinedFunction:
        return self._response

    def owns(self, expr: sp.Basic) -> bool:
        """Whether ``expr`` is a value or response value of this field."""
        return expr.func in (self._value, self._response)


class Coupling(sp.Symbol):
    """A random coupling matrix J (an N×N matrix, one symbol for the whole matrix).

    ``J @ expr`` builds the coupling sum Σ_j J_ij expr_j. Its statistics are given by the
    :class:`~fieldtheory.ir.ensembles.Ensemble` the action attaches to it.
    """

    def __matmul__(self, other: sp.Expr) -> CouplingSum:
        return CouplingSum(self, sp.sympify(other))


class CouplingSum(sp.Function):
    """Σ_j J_ij f(x_j(τ)): a coupling matrix acting on a presynaptic expression.

    ``args = (J, f)``. Fields inside ``f`` refer to the presynaptic site ``j``. The atom
    is deliberately opaque to differentiation with respect to site-``i`` fields: the
    transformations replace it by a placeholder before they differentiate.
    """

    nargs = 2

    @classmethod
    def eval(cls, coupling, expr):
        if not isinstance(coupling, Coupling):
            raise DeclarationError(
                f"the first argument of a coupling sum must be a Coupling, got {coupling!r}"
            )
        return None

    @property
    def coupling(self) -> Coupling:
        return self.args[0]

    @property
    def presynaptic(self) -> sp.Expr:
        return self.args[1]

    def _eval_derivative(self, symbol):
        return None


class ByPopulation(sp.Function):
    """A quantity whose value depends on the population α of the current site.

    ``args = (Str(name), Tuple(Str(population), ...), Tuple(value, ...))``; prints as
    ``name_α``.
    """

    nargs = 3
    is_commutative = True

    @property
    def name(self) -> str:
        return self.args[0].name

    @property
    def populations(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.args[1])

    @property
    def values(self) -> tuple[sp.Expr, ...]:
        return tuple(self.args[2])

    def value_for(self, population: str) -> sp.Expr:
        return dict(zip(self.populations, self.values, strict=True))[population]

    def _eval_derivative(self, symbol):
        return ByPopulation(
            Str(f"d{self.name}"), self.args[1], sp.Tuple(*(v.diff(symbol) for v in self.values))
        )


def by_population(name: str, **values: sp.Expr) -> ByPopulation:
    """A per-population value, e.g. ``by_population("I", E=I_E, I=I_I)`` prints ``I_α``."""
    if not values:
        raise DeclarationError(f"by_population({name!r}) needs at least one population value")
    pops = sp.Tuple(*(Str(p) for p in values))
    return ByPopulation(Str(name), pops, sp.Tuple(*(sp.sympify(v) for v in values.values())))


def field_values(expr: sp.Basic, *, inside_couplings: bool = False) -> set[FieldValue]:
    """Field values in ``expr``; by default those of the current site only."""
    return _atoms_of(expr, FieldValue, inside_couplings)


def response_values(expr: sp.Basic, *, inside_couplings: bool = False) -> set[ResponseValue]:
    return _atoms_of(expr, ResponseValue, inside_couplings)


def coupling_sums(expr: sp.Basic) -> set[CouplingSum]:
    return set(expr.atoms(CouplingSum))


def _atoms_of(expr: sp.Basic, kind: type, inside_couplings: bool) -> set:
    if inside_couplings:
        return set(expr.atoms(kind))
    found: set = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, kind):
            found.add(node)
        elif not isinstance(node, CouplingSum):
            stack.extend(node.args)
    return found
