"""User strings are parsed in a restricted namespace, never evaluated as Python."""

from __future__ import annotations

import math
import time

import pytest

from fieldtheory.errors import FieldTheoryError, ParseError
from fieldtheory.parsing import NAMES, parse_assignment, parse_assignments, parse_number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2", 2.0),
        ("-1", -1.0),
        ("1e-3", 1e-3),
        ("0.1", 0.1),
        (".5", 0.5),
        ("2*pi", 2 * math.pi),
        ("sqrt(2)/2", math.sqrt(2) / 2),
        ("2^3", 8.0),
        ("2**-1", 0.5),
        (" 3 ", 3.0),
        ("exp(1) - E", 0.0),
        ("log(8, 2)", 3.0),
        ("abs(-pi)", math.pi),
        ("tanh(1)", math.tanh(1)),
        ("erf(0.5)", math.erf(0.5)),
        ("-(1 + 2) * 3", -9.0),
    ],
)
def test_values(text, value):
    assert parse_number(text) == pytest.approx(value, abs=1e-15)


def test_exact_decimal_reading():
    # no detour through a rational approximation: what the user typed, as a float
    assert parse_number("0.1") == 0.1
    assert parse_number("1e-3") == 1e-3


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("x", "unknown name 'x'"),
        ("g", "unknown name 'g'"),
        ("1 2", "not an arithmetic expression"),
        ("2*", "not an arithmetic expression"),
        ("sqrt(-1)", "not a real number"),
        ("1j", "imaginary"),
        ("1/0", "not a finite real number"),
        ("log(0)", "not a finite real number"),
        ("2e400", "not a finite real number"),
        ("exp(1000)", "overflows"),
        ("'2'", "not allowed"),
        ("[1]", "not allowed"),
        ("1;2", "not allowed"),
        ("1 if 1 else 2", "unknown name 'if'"),
    ],
)
def test_refused_values_name_the_string(text, reason):
    with pytest.raises(ParseError) as info:
        parse_number(text)
    assert repr(text) in str(info.value)
    assert reason in str(info.value)


@pytest.mark.parametrize(
    "attack",
    [
        "__import__('os').system('touch pwned')",
        "().__class__.__bases__[0].__subclasses__()",
        "pi.evalf()",
        "eval('1')",
        "lambda: 1",
        "Symbol('x')",
        "Integer.__init__",
        "exec",
    ],
)
def test_no_python_reaches_eval(attack, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParseError):
        parse_number(attack)
    assert not (tmp_path / "pwned").exists()


def test_exponent_towers_overflow_instead_of_hanging():
    start = time.perf_counter()
    with pytest.raises(ParseError, match="overflows"):
        parse_number("9**9**9**9")
    assert time.perf_counter() - start < 1.0


def test_deep_nesting_is_refused_not_crashing():
    with pytest.raises(ParseError):
        parse_number("(" * 500 + "1" + ")" * 500)


def test_parse_error_is_a_fieldtheory_error():
    assert issubclass(ParseError, FieldTheoryError)


def test_whitelist_is_small_and_mathematical():
    assert {"pi", "E", "sqrt", "exp", "log"} <= set(NAMES)
    assert not {"eval", "exec", "open", "Symbol", "__builtins__"} & set(NAMES)


def test_assignment():
    assert parse_assignment("g=2*pi") == ("g", pytest.approx(2 * math.pi))
    assert parse_assignment(" D = 1e-2 ") == ("D", 0.01)
    assert parse_assignment("I=-1") == ("I", -1.0)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("g", "malformed parameter 'g': expected NAME=VALUE"),
        ("=1", "'=1'"),
        ("1g=2", "'1g'"),
        ("g=", "parameter g"),
        ("g=abc", "'abc'"),
    ],
)
def test_malformed_assignments(text, fragment):
    with pytest.raises(ParseError, match=fragment.replace("(", r"\(")):
        parse_assignment(text)


def test_assignments():
    assert parse_assignments(["g=1.5", "D=sqrt(2)"]) == {"g": 1.5, "D": math.sqrt(2)}
    assert parse_assignments([]) == {}
    with pytest.raises(ParseError, match="parameter g is given twice"):
        parse_assignments(["g=1", "g=2"])
