"""Text and LaTeX printers for the derivation stages.

They subclass the IR's printers (:mod:`fieldtheory.printing`) and add the nodes of
:mod:`fieldtheory.transforms.nodes`: time integrals, order parameters and their conjugate
fields, single-site averages and generating functionals. The setting ``site`` names the
site index of field values (``"i"``, ``"j"``, or ``""`` for the single site of mean-field
theory, which has none).
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from fieldtheory.ir.symbols import FieldValue, ResponseValue
from fieldtheory.printing import FieldLatexPrinter, TextPrinter
from fieldtheory.transforms.nodes import (
    ConjugateValue,
    FluctuationValue,
    OrderParameterValue,
    TimeIntegral,
    is_discrete_time,
)

__all__ = ["ONE", "DerivationLatexPrinter", "DerivationTextPrinter", "latex", "text"]

#: The name of the single population of a homogeneous network (no suffix is printed).
ONE = "all"


_TIME = re.compile(r"^[tn](\d+)(_\d+)?$")


def _time_rank(symbol) -> int | None:
    """t, n → 0; s, m → 1; t3, n3 → 2 …: the order time arguments are printed in."""
    name = str(symbol)
    if name in ("t", "n"):
        return 0
    if name in ("s", "m"):
        return 1
    match = _TIME.match(name)
    return int(match.group(1)) - 1 if match else None


def _time_ordered(arguments) -> list:
    def rank(a):
        r = _time_rank(a)
        return (r if r is not None else 10**6, str(a))

    return sorted(arguments, key=rank)


def _factor_rank(factor: sp.Expr):
    """Where a factor goes in a printed product: constants, then by time, integrals last."""
    if isinstance(factor, TimeIntegral):
        return (10**6, 1)
    ranks = [r for r in map(_time_rank, factor.free_symbols) if r is not None]
    if not ranks:
        return None
    base = factor.as_base_exp()[0]
    return (min(ranks), 0 if isinstance(base, (ResponseValue, ConjugateValue)) else 1)


class _TimeOrderedProducts:
    """Products printed with their time-dependent factors in time order: t, then s, …

    sympy orders x̃(s) before x̃(t) (alphabetically); physics reads f(t) g(s). Constant
    factors come first, parenthesised when they hold a fraction: (g**2/2)*C(t, s).
    """

    def _print_Mul(self, expr):
        coefficient, rest = expr.as_coeff_Mul()
        factors = sp.Mul.make_args(rest)
        timed = [f for f in factors if _factor_rank(f) is not None]
        if not timed or any(f.is_Pow and f.exp.is_negative for f in timed):
            return super()._print_Mul(expr)
        constant = coefficient * sp.Mul(*[f for f in factors if _factor_rank(f) is None])
        sign = ""
        if constant.could_extract_minus_sign():
            sign, constant = "-", -constant
        parts = [self._factor(f) for f in sorted(timed, key=_factor_rank)]
        if constant != 1:
            printed = self._print(constant)
            if sp.fraction(constant)[1] != 1 or constant.is_Add:
                printed = self._group(printed)
            parts.insert(0, printed)
        return sign + self._join(parts)


def _population_suffix(population: str, for_latex: bool) -> str:
    if population == ONE:
        return ""
    return f"_{{{population}}}" if for_latex else f"_{population}"


class DerivationTextPrinter(_TimeOrderedProducts, TextPrinter):
    """Plain text: ``∫dt ∫ds C̃_tanh(t, s)*C_tanh(t, s)``, ``⟨tanh(x(t))⟩``."""

    def _factor(self, factor) -> str:
        return self.parenthesize(factor, PRECEDENCE["Mul"], strict=False)

    def _group(self, printed: str) -> str:
        return f"({printed})"

    def _join(self, parts) -> str:
        return "*".join(parts)

    def _print_FieldValue(self, expr) -> str:
        if self._settings["site"]:
            return super()._print_FieldValue(expr)
        return f"{expr.func.__name__}({self._print(expr.args[0])})"

    def _print_ResponseValue(self, expr) -> str:
        if self._settings["site"]:
            return super()._print_ResponseValue(expr)
        return f"{expr.func.__name__.rstrip('~')}\u0303({self._print(expr.args[0])})"

    def _print_AppliedUndef(self, expr, exp=None) -> str:
        if isinstance(expr, (OrderParameterValue, ConjugateValue, FluctuationValue)):
            arguments = ", ".join(self._print(a) for a in expr.args)
            out = f"{expr.func.text_name}({arguments})"
            return f"{out}**{exp}" if exp else out
        return super()._print_AppliedUndef(expr, exp)

    def _print_TimeIntegral(self, expr) -> str:
        measure = " ".join(
            f"Σ_{self._print(v)}" if is_discrete_time(v) else f"∫d{self._print(v)}"
            for v in expr.variables
        )
        body = self._print(expr.integrand)
        if isinstance(expr.integrand, sp.Add):
            body = f"[{body}]"
        return f"{measure} {body}"

    def _print_Expectation(self, expr) -> str:
        inner = self._at_site("", expr.observable)
        return f"⟨{inner}⟩{_population_suffix(expr.population, False)}"

    def _print_SingleSiteLogZ(self, expr) -> str:
        return f"ln Z{_population_suffix(expr.population, False)}[Q̃]"

    def _print_ConnectedExpectation(self, expr) -> str:
        first, second = (self._at_site("", o) for o in expr.observables)
        where = "c" if expr.population == ONE else f"c,{expr.population}"
        return f"⟨{first}; {second}⟩_{where}"

    def _print_DiracDelta(self, expr) -> str:
        return f"δ({_difference(expr.args[0], self._print, ' ')})"

    def _print_KroneckerDelta(self, expr) -> str:
        a, b = _time_ordered(expr.args)
        return f"δ({self._print(a)}, {self._print(b)})"

    def _print_Equality(self, expr) -> str:
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"

    def _at_site(self, site: str, expr: sp.Expr) -> str:
        previous = self._settings["site"]
        self._settings["site"] = site
        try:
            return self._print(expr)
        finally:
            self._settings["site"] = previous


class DerivationLatexPrinter(_TimeOrderedProducts, FieldLatexPrinter):
    r"""LaTeX: ``\int dt\, \int ds\, \tilde{C}_{\tanh}(t, s) C_{\tanh}(t, s)``."""

    def _factor(self, factor) -> str:
        printed = self._print(factor)
        if factor.is_Add:
            return rf"\left({printed}\right)"
        return printed

    def _group(self, printed: str) -> str:
        return printed

    def _join(self, parts) -> str:
        return " ".join(parts)

    def _print_FieldValue(self, expr) -> str:
        if self._settings["site"]:
            return super()._print_FieldValue(expr)
        name = getattr(expr.func, "latex_name", None) or self._deal_with_super_sub(
            expr.func.__name__
        )
        return rf"{name}\left({self._print(expr.args[0])}\right)"

    def _print_ResponseValue(self, expr) -> str:
        if self._settings["site"]:
            return super()._print_ResponseValue(expr)
        name = getattr(expr.func, "latex_name", None) or self._deal_with_super_sub(
            expr.func.__name__.rstrip("~")
        )
        return rf"\tilde{{{name}}}\left({self._print(expr.args[0])}\right)"

    def _print_AppliedUndef(self, expr, exp=None) -> str:
        if isinstance(expr, (OrderParameterValue, ConjugateValue, FluctuationValue)):
            arguments = ", ".join(self._print(a) for a in expr.args)
            out = rf"{expr.func.latex_name}\left({arguments}\right)"
            return f"{out}^{{{exp}}}" if exp else out
        return super()._print_AppliedUndef(expr, exp)

    def _print_TimeIntegral(self, expr) -> str:
        measure = r" ".join(
            rf"\sum_{{{self._print(v)}}}" if is_discrete_time(v) else rf"\int d{self._print(v)}\,"
            for v in expr.variables
        )
        body = self._print(expr.integrand)
        if isinstance(expr.integrand, sp.Add):
            body = rf"\left[{body}\right]"
        return f"{measure} {body}"

    def _print_Expectation(self, expr) -> str:
        previous = self._settings["site"]
        self._settings["site"] = ""
        try:
            inner = self._print(expr.observable)
        finally:
            self._settings["site"] = previous
        return rf"\left\langle {inner} \right\rangle{_population_suffix(expr.population, True)}"

    def _print_SingleSiteLogZ(self, expr) -> str:
        return rf"\ln Z{_population_suffix(expr.population, True)}[\tilde{{Q}}]"

    def _print_ConnectedExpectation(self, expr) -> str:
        previous = self._settings["site"]
        self._settings["site"] = ""
        try:
            first, second = (self._print(o) for o in expr.observables)
        finally:
            self._settings["site"] = previous
        where = "c" if expr.population == ONE else f"c,{expr.population}"
        return rf"\left\langle {first} ;\, {second} \right\rangle_{{{where}}}"

    def _print_DiracDelta(self, expr, exp=None) -> str:
        return rf"\delta\left({_difference(expr.args[0], self._print, ' ')}\right)"

    def _print_KroneckerDelta(self, expr, exp=None) -> str:
        a, b = _time_ordered(expr.args)
        return rf"\delta_{{{self._print(a)} {self._print(b)}}}"


def _difference(expr: sp.Expr, printer, space: str) -> str:
    """t - s rather than sympy's -s + t: positive terms first."""
    terms = sp.Add.make_args(expr)
    positive = [printer(term) for term in terms if not term.could_extract_minus_sign()]
    negative = [printer(-term) for term in terms if term.could_extract_minus_sign()]
    if not positive:
        return printer(expr)
    return f"{space}+{space}".join(positive) + "".join(f"{space}-{space}{n}" for n in negative)


def text(expr: sp.Basic, site: str = "") -> str:
    """Plain text of a derivation expression; ``site`` indexes field values (default none)."""
    return DerivationTextPrinter({"site": site}).doprint(expr)


def latex(expr: sp.Basic, site: str = "") -> str:
    """LaTeX of a derivation expression; ``site`` indexes field values (default none)."""
    return DerivationLatexPrinter({"site": site}).doprint(expr)


def signed_terms(terms, printer) -> str:
    """``a + b - c`` from a sequence of terms, each printed alone (keeps their order)."""
    out = []
    for k, term in enumerate(terms):
        negative = term.could_extract_minus_sign()
        body = printer(-term if negative else term)
        if k == 0:
            out.append(f"-{body}" if negative else body)
        else:
            out.append(f"{'-' if negative else '+'} {body}")
    return " ".join(out)


def signed_lines(terms, printer) -> list[str]:
    """One line per term, each but the first led by its sign: ``- a``, ``+ b``."""
    out = []
    for k, term in enumerate(terms):
        negative = term.could_extract_minus_sign()
        body = printer(-term if negative else term)
        sign = "-" if negative else "+" if k else " "
        out.append(f"{sign} {body}")
    return out


def parenthesized(expr: sp.Expr, printer) -> str:
    """``expr`` printed, in parentheses unless it is an atom or a function application."""
    body = printer(expr)
    if expr.is_Atom or isinstance(expr, (sp.Function, FieldValue, ResponseValue)):
        return body
    return f"({body})"

