"""Parse user strings (command-line values) safely, once, at the boundary.

A value such as ``2``, ``1e-3``, ``2*pi`` or ``sqrt(2)/2`` is read with sympy's
``parse_expr`` in a restricted namespace: the string is first tokenised and may contain
only numbers, arithmetic operators, parentheses and the whitelisted names of
:data:`NAMES`; sympy then builds an *unevaluated* expression in a global namespace without
Python builtins, and :func:`parse_number` evaluates that tree in floating point. Nothing
is ever handed to Python's ``eval`` unchecked, and an exponent tower such as ``9**9**9**9``
overflows in floating point instead of being computed exactly.

Every failure raises :class:`~fieldtheory.errors.ParseError` quoting the string.
"""

from __future__ import annotations

import io
import math
import tokenize
from collections.abc import Callable, Iterable

import sympy as sp
from sympy.parsing.sympy_parser import auto_number, convert_xor, parse_expr

from fieldtheory.errors import ParseError

__all__ = ["NAMES", "parse_assignment", "parse_assignments", "parse_number"]

#: The names a value may use: constants and functions of one argument (log: one or two).
NAMES: dict[str, object] = {
    "pi": sp.pi, "E": sp.E, "sqrt": sp.sqrt, "exp": sp.exp, "log": sp.log, "sin": sp.sin,
    "cos": sp.cos, "tan": sp.tan, "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh,
    "erf": sp.erf, "abs": sp.Abs,
}

_OPERATORS = {"+", "-", "*", "/", "**", "^", "(", ")", ","}
_LAYOUT = {tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT}
# the classes sympy's generated code refers to (auto_number, evaluate=False)
_CONSTRUCTORS = {
    cls.__name__: cls for cls in (sp.Integer, sp.Float, sp.Rational, sp.Add, sp.Mul, sp.Pow)
}
# sympy function → float function, to evaluate the unevaluated tree (sqrt is a Pow)
_FLOAT_FUNCTIONS: dict[type, Callable[..., float]] = {
    sp.exp: math.exp, sp.log: math.log, sp.sin: math.sin, sp.cos: math.cos,
    sp.tan: math.tan, sp.sinh: math.sinh, sp.cosh: math.cosh, sp.tanh: math.tanh,
    sp.erf: math.erf, sp.Abs: abs,
}


def _check_tokens(text: str) -> None:
    """Admit only numbers, arithmetic and whitelisted names (no attributes, no calls out)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError) as error:
        raise ParseError(f"cannot parse {text!r}: {error}") from None
    for token in tokens:
        if token.type in _LAYOUT:
            continue
        if token.type == tokenize.NUMBER:
            if token.string[-1] in "jJ":
                raise ParseError(f"cannot parse {text!r}: imaginary number {token.string!r}")
            continue
        if token.type == tokenize.NAME:
            if token.string not in NAMES:
                raise ParseError(
                    f"cannot parse {text!r}: unknown name {token.string!r}; a value may use "
                    f"numbers, + - * / ** ( ) and {', '.join(NAMES)}"
                )
            continue
        if token.type == tokenize.OP and token.string in _OPERATORS:
            continue
        raise ParseError(f"cannot parse {text!r}: {token.string!r} is not allowed in a value")


def _float(expr: sp.Basic, text: str) -> float:
    """Evaluate an unevaluated sympy tree of numbers, constants and whitelisted functions."""
    if isinstance(expr, sp.Number | sp.NumberSymbol):
        return float(expr)
    args = [_float(a, text) for a in expr.args]
    if isinstance(expr, sp.Add):
        return math.fsum(args)
    if isinstance(expr, sp.Mul):
        return math.prod(args)
    if isinstance(expr, sp.Pow):
        base, exponent = args
        value = base**exponent
        if isinstance(value, complex):
            raise ParseError(f"{text!r} is not a real number: ({base:g})**{exponent:g}")
        return value
    for kind, function in _FLOAT_FUNCTIONS.items():
        if isinstance(expr, kind):
            return function(*args)
    raise ParseError(f"cannot evaluate {expr} in {text!r}")


def parse_number(text: str) -> float:
    """The finite real number a string denotes.

    Parameters
    ----------
    text : str
        An arithmetic expression of numbers, ``+ - * / ** ^ ( )`` and the names of
        :data:`NAMES`, e.g. ``"2"``, ``"1e-3"``, ``"2*pi"``, ``"sqrt(2)/2"``.

    Returns
    -------
    float

    Raises
    ------
    ParseError
        For anything else, or a value that is not a finite real number; the message
        quotes ``text``.

    Examples
    --------
    >>> parse_number("sqrt(2)/2")
    0.7071067811865476
    >>> parse_number("2^3")
    8.0
    """
    if not text.strip():
        raise ParseError(f"empty value {text!r}")
    _check_tokens(text)
    namespace = {"__builtins__": {}, **_CONSTRUCTORS}
    namespace.update(NAMES)
    try:
        expr = parse_expr(text.strip(), local_dict={}, global_dict=namespace,
                          transformations=(auto_number, convert_xor), evaluate=False)
    except Exception:  # sympy raises many kinds (SyntaxError, TypeError, …)
        raise ParseError(f"cannot parse {text!r}: not an arithmetic expression") from None
    if not isinstance(expr, sp.Basic):
        raise ParseError(f"{text!r} is not a number")
    try:
        value = _float(expr, text)
    except OverflowError:
        raise ParseError(f"{text!r} is not a finite real number: it overflows") from None
    except (ValueError, ZeroDivisionError, TypeError) as error:
        raise ParseError(f"{text!r} is not a finite real number: {error}") from None
    if not math.isfinite(value):
        raise ParseError(f"{text!r} is not a finite real number")
    return float(value)


def parse_assignment(text: str) -> tuple[str, float]:
    """``"NAME=VALUE"`` → ``(NAME, value)``, the value read by :func:`parse_number`.

    Examples
    --------
    >>> parse_assignment("g=2*pi")
    ('g', 6.283185307179586)
    """
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep:
        raise ParseError(f"malformed parameter {text!r}: expected NAME=VALUE")
    if not name.isidentifier():
        raise ParseError(f"malformed parameter {text!r}: {name!r} is not a parameter name")
    try:
        return name, parse_number(value)
    except ParseError as error:
        raise ParseError(f"parameter {name}: {error}") from None


def parse_assignments(items: Iterable[str]) -> dict[str, float]:
    """Several ``NAME=VALUE`` strings → a dict; a name given twice raises."""
    values: dict[str, float] = {}
    for item in items:
        name, value = parse_assignment(item)
        if name in values:
            raise ParseError(f"parameter {name} is given twice")
        values[name] = value
    return values
