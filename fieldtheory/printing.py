"""Text and LaTeX printers for fieldtheory's sympy atoms and stages.

The printers subclass sympy's and add ``_print_<Node>`` methods for fields (``x_i(t)``),
response fields (``x̃_i(t)``), coupling sums (``Σ_j J_ij f(x_j(t))``), time derivatives
and per-population values (``I_α``). Inside a coupling sum the site index is ``j``.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from fieldtheory.ir.symbols import ByPopulation, CouplingSum, FieldValue, ResponseValue

__all__ = ["text", "latex", "action_text", "action_latex", "model_text", "ensemble_text",
           "ensemble_latex"]


def _term_rank(term: sp.Expr) -> int:
    """Print order inside sums: −∂_t x first, then local fields, couplings, constants."""
    if term.atoms(sp.Derivative) or any(_is_update(v) for v in _local_fields(term)):
        return 0
    if any(True for _ in _local_fields(term)):
        return 1
    if term.has(CouplingSum):
        return 2
    return 3


def _is_update(value: sp.Expr) -> bool:
    """x(n+1): the new value in a discrete-time action."""
    if not value.args:  # x(): a zero-dimensional field value
        return False
    lead = value.args[0] - next(iter(value.args[0].free_symbols), 0)
    return isinstance(value, FieldValue) and lead.is_number and lead > 0


def _local_fields(term: sp.Expr):
    for node in sp.preorder_traversal(term):
        if isinstance(node, CouplingSum):
            return
        if isinstance(node, (FieldValue, ResponseValue)):
            yield node


class _FieldPrinting:
    """What both printers share: site-aware dispatch and physics ordering of sums."""

    def _as_ordered_terms(self, expr, order=None):
        terms = super()._as_ordered_terms(expr, order=order)
        return sorted(terms, key=_term_rank)

    def _print_AppliedUndef(self, expr, exp=None) -> str:
        # sympy's dispatch skips subclasses of AppliedUndef, so route them here
        if isinstance(expr, FieldValue):
            out = self._print_FieldValue(expr)
        elif isinstance(expr, ResponseValue):
            out = self._print_ResponseValue(expr)
        else:
            return self._print_Function(expr, exp=exp) if exp else self._print_Function(expr)
        return f"{out}^{{{exp}}}" if exp else out

    def _at_site(self, site: str, expr: sp.Expr) -> str:
        """``expr`` printed with site index ``site``, parenthesised if it is a sum.

        Σ_j J_ij (x_j + 1) is not Σ_j J_ij x_j + 1: a presynaptic sum needs parentheses.
        """
        previous = self._settings["site"]
        self._settings["site"] = site
        try:
            return self.parenthesize(expr, PRECEDENCE["Mul"], strict=True)
        finally:
            self._settings["site"] = previous


class TextPrinter(_FieldPrinting, StrPrinter):
    """Plain-text printer: ``x̃_i(t)*(-∂_t x_i(t) + Σ_j J_ij*tanh(x_j(t)))``."""

    _default_settings = {**StrPrinter._default_settings, "site": "i"}

    def _print_FieldValue(self, expr: FieldValue) -> str:
        if not expr.args:  # zero-dimensional: no site, no time
            return expr.func.__name__
        return f"{expr.func.__name__}_{self._settings['site']}({self._print(expr.args[0])})"

    def _print_ResponseValue(self, expr: ResponseValue) -> str:
        name = expr.func.__name__.rstrip("~")
        return f"{name}\u0303_{self._settings['site']}({self._print(expr.args[0])})"

    def _print_CouplingSum(self, expr: CouplingSum) -> str:
        inner = self._at_site("j", expr.presynaptic)
        return f"Σ_j {expr.coupling.name}_ij*{inner}"

    def _print_ByPopulation(self, expr: ByPopulation) -> str:
        return f"{expr.name}_α"

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        if isinstance(expr.expr, FieldValue) and len(expr.variables) == 1:
            return f"∂_{self._print(expr.variables[0])} {self._print(expr.expr)}"
        return super()._print_Derivative(expr)

    def _print_Str(self, expr) -> str:
        return expr.name

    def _print_KroneckerDelta(self, expr) -> str:
        a, b = sorted(expr.args, key=lambda e: e.is_number)
        return f"δ({self._print(a)}, {self._print(b)})"

    def _print_InputValue(self, expr) -> str:
        return f"{expr.name}_{self._settings['site']}({self._print(expr.args[1])})"


class FieldLatexPrinter(_FieldPrinting, LatexPrinter):
    """LaTeX printer: ``\\tilde{x}_{i}(t)``, ``\\sum_{j} J_{ij} \\tanh(x_{j}(t))``."""

    _default_settings = {**LatexPrinter._default_settings, "site": "i"}

    def _indexed(self, name: str, index: str, latex_name: str | None = None,
                 tilde: bool = False) -> str:
        """``name`` with ``index`` joined to its own subscripts: J_EE → J_{EE,ij}.

        A user's LaTeX name is braced instead, so that no double subscript can arise.
        """
        if latex_name:
            base = rf"\tilde{{{latex_name}}}" if tilde else f"{{{latex_name}}}"
            return f"{base}_{{{index}}}"
        base, supers, subs = self._split_super_sub(name)
        if tilde:
            base = rf"\tilde{{{base}}}"
        if supers:
            base += "^{" + " ".join(supers) + "}"
        return base + "_{" + ",".join([*subs, index]) + "}"

    def _print_FieldValue(self, expr: FieldValue) -> str:
        if not expr.args:  # zero-dimensional: no site, no time
            latex_name = getattr(expr.func, "latex_name", None)
            return latex_name or self._print(sp.Symbol(expr.func.__name__))
        name = self._indexed(expr.func.__name__, self._settings["site"],
                             getattr(expr.func, "latex_name", None))
        return rf"{name}\left({self._print(expr.args[0])}\right)"

    def _print_ResponseValue(self, expr: ResponseValue) -> str:
        name = self._indexed(expr.func.__name__.rstrip("~"), self._settings["site"],
                             getattr(expr.func, "latex_name", None), tilde=True)
        return rf"{name}\left({self._print(expr.args[0])}\right)"

    def _print_CouplingSum(self, expr: CouplingSum) -> str:
        inner = self._at_site("j", expr.presynaptic)
        return rf"\sum_{{j}} {self._indexed(expr.coupling.name, 'ij')} {inner}"

    def _print_KroneckerDelta(self, expr, exp=None) -> str:
        a, b = sorted(expr.args, key=lambda e: e.is_number)
        out = rf"\delta_{{{self._print(a)}, {self._print(b)}}}"
        return f"{out}^{{{exp}}}" if exp else out

    def _print_InputValue(self, expr) -> str:
        name = self._indexed(expr.name, self._settings["site"])
        return rf"{name}\left({self._print(expr.args[1])}\right)"

    def _print_ByPopulation(self, expr: ByPopulation) -> str:
        return self._indexed(expr.name, r"\alpha")

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        if isinstance(expr.expr, FieldValue) and len(expr.variables) == 1:
            return rf"\partial_{{{self._print(expr.variables[0])}}} {self._print(expr.expr)}"
        return super()._print_Derivative(expr)


def text(expr: sp.Basic) -> str:
    """Plain-text form of any fieldtheory sympy expression."""
    return TextPrinter().doprint(expr)


def latex(expr: sp.Basic) -> str:
    """LaTeX form of any fieldtheory sympy expression."""
    return FieldLatexPrinter().doprint(expr)


def _scale(action, k: int) -> sp.Expr:
    f = action.fields[k]
    tau = action.time.symbol
    change = f(tau + 1) if action.time.is_discrete else sp.Derivative(f(tau), tau)
    return -sp.expand(action.lagrangian).coeff(f.response(tau)).coeff(change)


def _measure(action, for_latex: bool) -> str:
    if action.time.is_discrete:
        return r"\sum_{i} \sum_{n}" if for_latex else "Σ_i Σ_n"
    return r"\sum_{i} \int dt\," if for_latex else "Σ_i ∫dt"


def action_text(action) -> str:
    """``S = Σ_i ∫dt [ x̃_i(t)*(...) + D/2*x̃_i(t)**2 ]`` plus one line per ensemble."""
    if action.time.is_zero_dimensional:
        return f"S = {text(action.lagrangian)}"
    measure = _measure(action, False)
    body = " + ".join(
        [f"{text(m)}*({text(c)})" if isinstance(m, ResponseValue) else f"({text(c)})*{text(m)}"
         for m, c in _grouped_pairs(action)]
        + [text(term) for term in _point_process_terms(action)]
    )
    lines = [f"S = {measure} [ {body} ]"]
    lines += [f"  {ensemble_text(c, e)}" for c, e in action.couplings]
    lines += [f"  {q}_i per unit, quenched: {d.text()}" for q, d in action.quenched]
    return "\n".join(lines)


def action_latex(action) -> str:
    if action.time.is_zero_dimensional:
        return f"S = {latex(action.lagrangian)}"
    measure = _measure(action, True)
    body = " + ".join(
        [rf"{latex(m)} \left({latex(c)}\right)" if isinstance(m, ResponseValue) else
         rf"{latex(c)} \, {latex(m)}"
         for m, c in _grouped_pairs(action)]
        + [latex(term) for term in _point_process_terms(action)]
    )
    return rf"S = {measure} \left[ {body} \right]"


def _grouped_pairs(action) -> list[tuple[sp.Expr, sp.Expr]]:
    from fieldtheory.ir.langevin_system import read_langevin

    system = read_langevin(action)
    tau = action.time.symbol
    pairs = []
    for k, (f, drift) in enumerate(zip(action.fields, system.drift, strict=True)):
        change = f(tau + 1) if action.time.is_discrete else sp.Derivative(f(tau), tau)
        # −a·change + a·drift, with a distributed over the drift (a = τ: −τ∂_t x − x + I)
        scale = _scale(action, k)
        pairs.append((f.response(tau), sp.expand(scale * drift, deep=False) - scale * change))
    for k, f in enumerate(action.fields):
        for m in range(k, len(action.fields)):
            q = system.noise[k, m]
            if q != 0:
                weight = sp.Rational(1, 2) if k == m else sp.Integer(1)
                monomial = f.response(tau) * action.fields[m].response(tau)
                pairs.append((monomial, weight * q * _scale(action, k) * _scale(action, m)))
    return pairs


def _point_process_terms(action) -> tuple[sp.Expr, ...]:
    from fieldtheory.ir.langevin_system import read_langevin

    return read_langevin(action).point_process_terms


def ensemble_text(coupling, ensemble) -> str:
    """One line describing a coupling's statistics (the ensemble prints itself)."""
    return ensemble.text(coupling)


def ensemble_latex(coupling, ensemble) -> str:
    """The same line in LaTeX."""
    return ensemble.latex(coupling)


def model_text(model) -> str:
    """What ``fieldtheory show`` prints: description, action, parameters."""
    lines = [f"model {model.name}"]
    if model.description:
        lines.append(f"  {model.description}")
    if model.reference:
        lines.append(f"  reference: {model.reference}")
    if not hasattr(model.action, "time"):  # a static (posterior) model, a spiking network
        lines.append(str(model.action))
        lines.append("parameters:")
        lines += [f"  {p.name} = {p.default:g} in {p.domain}"
                  + (f"  {p.description}" if p.description else "") for p in model.parameters]
        return "\n".join(lines)
    lines.append(f"  time: {model.action.time}")
    if len(model.action.populations) > 1:
        pops = ", ".join(f"{p.name} ({text(p.fraction)})" for p in model.action.populations)
        lines.append(f"  populations: {pops}")
    lines.append(str(model.action))
    lines.append("parameters:")
    for p in model.parameters:
        doc = f"  {p.description}" if p.description else ""
        lines.append(f"  {p.name} = {p.default:g} in {p.domain}{doc}")
    return "\n".join(lines)
