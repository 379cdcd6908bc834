"""Model parameters: a real sympy symbol, a default value and a domain."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sympy as sp

from fieldtheory.errors import (
    ArgumentTypeError,
    DeclarationError,
    DeclarationTypeError,
    ParameterError,
    UnknownParameterError,
)
from fieldtheory.ir.checks import describe, require_instance, require_mapping

__all__ = ["Domain", "Parameter", "ParameterSet", "parameters", "parameter_values", "evaluate",
           "REALS", "POSITIVE", "NONNEGATIVE", "POSITIVE_INTEGERS"]


@dataclass(frozen=True)
class Domain:
    """An interval of the real line; ``lower``/``upper`` may be ±inf; ``integer``: only
    its integers (a depth, a number of layers)."""

    lower: float = -math.inf
    upper: float = math.inf
    closed_lower: bool = True
    closed_upper: bool = True
    integer: bool = False

    def __contains__(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.integer and value != round(value):
            return False
        above = value >= self.lower if self.closed_lower else value > self.lower
        below = value <= self.upper if self.closed_upper else value < self.upper
        return above and below

    def __str__(self) -> str:
        left = "[" if self.closed_lower and math.isfinite(self.lower) else "("
        right = "]" if self.closed_upper and math.isfinite(self.upper) else ")"
        interval = f"{left}{self.lower:g}, {self.upper:g}{right}"
        return f"the integers in {interval}" if self.integer else interval

    @classmethod
    def coerce(cls, spec: Domain | str | tuple[float, float] | None) -> Domain:
        if spec is None:
            return REALS
        if isinstance(spec, Domain):
            return spec
        if isinstance(spec, str):
            named = {"real": REALS, "positive": POSITIVE, "nonnegative": NONNEGATIVE,
                     "positive_integer": POSITIVE_INTEGERS}
            if spec not in named:
                raise DeclarationError(f"unknown domain {spec!r}; use one of {sorted(named)}")
            return named[spec]
        lower, upper = spec
        return cls(float(lower), float(upper))


REALS = Domain()
POSITIVE = Domain(0.0, math.inf, closed_lower=False)
NONNEGATIVE = Domain(0.0, math.inf)
#: 1, 2, 3, … (a depth)
POSITIVE_INTEGERS = Domain(1.0, math.inf, integer=True)


@dataclass(frozen=True)
class Parameter:
    """A named model parameter.

    Parameters
    ----------
    name : str
        Identifier, used in the action (as a real sympy Symbol) and on the command line.
    default : float
        Value used when the user gives none.
    domain : Domain
        Admissible values; a value outside raises :class:`ParameterError`.
    description : str
        One line for ``fieldtheory show``.
    """

    name: str
    default: float
    domain: Domain = REALS
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise DeclarationError(f"parameter name {self.name!r} is not an identifier")
        try:
            object.__setattr__(self, "default", float(self.default))
        except (TypeError, ValueError):
            raise DeclarationTypeError(f"parameter {self.name}: the default must be a number, "
                                       f"got {describe(self.default)}") from None
        object.__setattr__(self, "domain", Domain.coerce(self.domain))
        if self.default not in self.domain:
            raise DeclarationError(
                f"default {self.name} = {self.default:g} lies outside its domain {self.domain}"
            )

    @property
    def symbol(self) -> sp.Symbol:
        return sp.Symbol(self.name, real=True)

    def check(self, value: float) -> float:
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"parameter {self.name} = {value!r} is not a number") from None
        if value not in self.domain:
            raise ParameterError(
                f"parameter {self.name} = {value:g} lies outside its domain {self.domain}"
            )
        return value


@dataclass(frozen=True)
class ParameterSet:
    """An ordered, immutable collection of parameters with attribute access to symbols."""

    items: tuple[Parameter, ...] = ()

    def __post_init__(self) -> None:
        for item in self.items:
            require_instance(item, Parameter, "ParameterSet: an item",
                             "a Parameter (or use ft.parameters(name=default, ...))")
        names = [p.name for p in self.items]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise DeclarationError(f"parameter(s) declared twice: {sorted(duplicates)}")

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getattr__(self, name: str) -> sp.Symbol:
        for p in self.__dict__.get("items", ()):
            if p.name == name:
                return p.symbol
        raise AttributeError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.items)

    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(p.symbol for p in self.items)

    def __getitem__(self, name: str) -> Parameter:
        for p in self.items:
            if p.name == name:
                return p
        raise UnknownParameterError(
            f"unknown parameter {name!r}; this model has: {', '.join(self.names) or 'none'}"
        )

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.items}

    def resolve(self, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        """Defaults updated by ``overrides``; unknown names and bad values raise."""
        values = self.defaults()
        for name, value in parameter_values(overrides).items():
            values[name] = self[name].check(value)
        return values

    def merged(self, other: Iterable[Parameter]) -> ParameterSet:
        return ParameterSet(self.items + tuple(other))


def parameter_values(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of ``values`` after checking its type: a mapping from parameter names (str) to
    values; ``None`` is empty. Anything else raises :class:`ArgumentTypeError` (a
    TypeError) saying so — a list of pairs, a string ``"g=2"``, a sympy symbol as a key."""
    if values is None:
        return {}
    require_mapping(values, "parameter values", "name → value, e.g. {'g': 1.5}",
                    ArgumentTypeError)
    for name in values:
        require_instance(name, str, "a parameter name", "a str (e.g. 'g')", ArgumentTypeError)
    return dict(values)


def parameters(**specs: float | tuple) -> ParameterSet:
    """Declare parameters in one call.

    ``parameters(g=(2.0, "positive"), J0=0.0, rho=(0.0, (-1, 1), "partial symmetry"))``:
    each value is a default, or a tuple ``(default, domain[, description])``.
    """
    items = []
    for name, spec in specs.items():
        if isinstance(spec, tuple):
            items.append(Parameter(name, *spec))
        else:
            items.append(Parameter(name, spec))
    return ParameterSet(tuple(items))


def evaluate(expr: sp.Expr, values: Mapping[str, float]) -> float:
    """The number ``expr`` takes at parameter ``values`` (names → floats).

    Raises :class:`ParameterError` naming any symbol left without a value, and for a
    result that is not a finite real number.
    """
    expr = sp.sympify(expr)
    missing = sorted(str(s) for s in expr.free_symbols if str(s) not in values)
    if missing:
        raise ParameterError(f"no value for {', '.join(missing)} in {expr}")
    subs = {s: values[str(s)] for s in expr.free_symbols}
    try:
        # sympy Floats (exact copies of the numbers): evalf of floor/ceiling needs them
        result = complex(expr.evalf(subs={s: sp.Float(v) if isinstance(v, float) else v
                                          for s, v in subs.items()}))
    except (ZeroDivisionError, TypeError, ValueError):
        # mpmath divides by an exact zero; a leftover non-number cannot become complex
        raise ParameterError(f"{expr} cannot be evaluated at {subs}") from None
    if result.imag != 0 or not math.isfinite(result.real):
        raise ParameterError(f"{expr} evaluates to {result} at {subs}, not a finite real number")
    return result.real
