r"""Lower the saddle point of a layered network to its kernel problem (issue 14).

For a layered model (:mod:`fieldtheory.ir.layered`) the derived single site is a map with
no local drift, h(n + 1) = η(n), η Gaussian with the derived covariance

.. math:: \langle \eta(n)\eta(m) \rangle = \sum_k c_k\bigl(l(n), l(m)\bigr)\, Q_k(n, m),

where each Q_k is an order parameter C_k(n, m) = ⟨f_k(h(n)) g_k(h(m))⟩ (over the patterns
of n and m), the data kernel K_X(n, m), or 1 (a bias), and c_k holds the parameters and the
layer structure the disorder average left: δ_{l(n), l(m)} for weights drawn per layer,
δ_{l(n), 0} for the input step. So h is a Gaussian process over (pattern, layer) with
kernel K(l + 1, l' + 1) = Σ(l, l') — for a deep network the layer-local recursion
K^{l+1} = σ_w² ⟨φφ⟩_{K^l} + σ_b², for a recurrent one the two-time kernel (Segadlo et al.,
arXiv:2112.05589, Eqs. for the NNGP kernels). This module reads the c_k and the pairs
(f_k, g_k) off the derived process; nothing is typed in per model. Gaussian expectations
get their closed forms where :func:`fieldtheory.gaussian.closed_forms.closed_form` has
one (erf × erf, ReLU × ReLU arc-cosine, linear, …) and quadrature otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from fieldtheory.errors import ActionStructureError
from fieldtheory.gaussian.closed_forms import closed_form
from fieldtheory.ir.layered import DataKernel, Layer, inputs_of
from fieldtheory.ir.symbols import FieldValue, ResponseValue
from fieldtheory.printing import latex, text
from fieldtheory.transforms.nodes import OrderParameterValue
from fieldtheory.transforms.stages import MeanFieldTheory

__all__ = ["L1", "L2", "LayeredProblem", "LayeredTerm", "U", "lower_layered"]

#: The variable of the functions f, g of an order parameter.
U = sp.Symbol("u", real=True)
#: The layers l(n), l(m) of the two time points in a coefficient.
L1, L2 = sp.symbols("l_1 l_2", integer=True, nonnegative=True)


@dataclass(frozen=True)
class LayeredTerm:
    """c(l₁, l₂)·Q(n, m): one term of the input covariance of a layered site.

    ``kind`` is ``"order_parameter"`` (Q = ⟨f(h(n)) g(h(m))⟩; ``left`` f(U), ``right``
    g(U), ``expectation`` the closed form of E[f(u) g(v)] in VAR_U, VAR_V, COV at zero
    mean, or None for quadrature), ``"data"`` (Q = K_X) or ``"constant"`` (Q = 1).
    """

    coefficient: sp.Expr
    kind: str
    name: str = ""
    left: sp.Expr | None = None
    right: sp.Expr | None = None
    expectation: sp.Expr | None = None


@dataclass(frozen=True)
class LayeredProblem:
    """The kernel problem of a layered network: its covariance terms, depth and data."""

    terms: tuple[LayeredTerm, ...]
    depth: sp.Expr
    inputs: object  # fieldtheory.ir.layered.Inputs
    field: str

    @property
    def two_time(self) -> bool:
        """Whether distinct layers are correlated (shared weights): some coefficient does
        not vanish identically for l' = l + k, k ≥ 1 (independent weights per layer give
        δ_{l, l'}, which does)."""
        k = sp.Symbol("k", integer=True, positive=True)
        return any(sp.simplify(t.coefficient.xreplace({L2: L1 + k})) != 0
                   for t in self.terms)

    def text(self) -> str:
        lines = [f"{self.field}(l + 1) = η(l),  l = 0 … depth − 1, depth = {self.depth}, "
                 f"h(0) = 0, over the {self.inputs.patterns} patterns of {self.inputs.name} "
                 f"(d = {self.inputs.dimension})",
                 "K(l + 1, l' + 1)[a, b] = ⟨η(a, l) η(b, l')⟩ = Σ_k c_k(l, l') Q_k:"]
        for term in self.terms:
            c = text(_in_layers(term.coefficient))
            what = {"data": f"K_{self.inputs.name}[a, b]", "constant": "1"}.get(
                term.kind, f"E[{sp.sstr(term.left)}|u=h(a, l) · "
                           f"{sp.sstr(term.right)}|u=h(b, l')]")
            form = "" if term.kind != "order_parameter" else (
                "  (closed form)" if term.expectation is not None else "  (quadrature)")
            lines.append(f"  + ({c}) · {what}{form}")
        return "\n".join(lines)

    def latex(self) -> str:
        parts = []
        for term in self.terms:
            c = latex(_in_layers(term.coefficient))
            what = {"data": rf"K_{{{self.inputs.name}}}^{{ab}}", "constant": "1"}.get(
                term.kind, rf"\left\langle {sp.latex(term.left)}\big|_{{h_a^l}}\, "
                           rf"{sp.latex(term.right)}\big|_{{h_b^{{l'}}}} \right\rangle")
            parts.append(rf"\left({c}\right) {what}")
        return r"K^{ab}(l+1, l'+1) = " + " + ".join(parts)


def _in_layers(coefficient: sp.Expr) -> sp.Expr:
    """A coefficient factored and written in l, l' (for printing)."""
    return sp.factor(coefficient).xreplace({L1: sp.Symbol("l"), L2: sp.Symbol("l'")})


def lower_layered(theory: MeanFieldTheory) -> LayeredProblem:
    """The kernel problem of a derived layered network (named errors for what it cannot
    hold: several populations or fields, a local drift, covariance terms of another form)."""
    action = theory.collective.action
    inputs = inputs_of(action)
    if inputs is None:
        raise ActionStructureError("lower_layered: the action is not layered")
    if len(theory.processes) != 1 or len(action.fields) != 1:
        raise ActionStructureError("a layered network is lowered for one population and one "
                                   "field per unit")
    (process,) = theory.processes
    (field,) = action.fields
    if sp.simplify(process.drift[0]) != 0 or process.kernels[0] != 0 or process.other_terms:
        raise ActionStructureError(
            f"the layered site h(n + 1) = {process.drift[0]} + η(n) has a local drift or "
            "self-coupling; only h(n + 1) = η(n) is lowered (no residual connections yet)")
    n, m = action.time.symbol, process.second_time
    by_function = {q.function: q for q in theory.order_parameters}
    layers = {Layer(n): L1, Layer(m): L2}
    collected: dict[tuple, sp.Expr] = {}
    for term in sp.Add.make_args(sp.expand(process.input_covariance[0, 0])):
        if term == 0:
            continue
        ops = list(term.atoms(OrderParameterValue))
        data = list(term.atoms(DataKernel))
        if len(ops) + len(data) > 1:
            raise ActionStructureError(f"input covariance term {term} multiplies two order "
                                       "parameters")
        if ops:
            op = ops[0]
            q = by_function[op.func]
            content = q.content.xreplace(dict(zip(q.times, op.args, strict=True)))
            left, right = _split(content, field, n, m)
            key = ("order_parameter", q.name, left, right)
            factor = op
        elif data:
            key, factor = ("data", data[0].name, None, None), data[0]
        else:
            key, factor = ("constant", "", None, None), sp.S.One
        coefficient = (term / factor).xreplace(layers)
        if coefficient.has(n, m, FieldValue, ResponseValue, OrderParameterValue):
            raise ActionStructureError(f"the coefficient of {factor} in the input covariance, "
                                       f"{term / factor}, is not a function of the layers")
        collected[key] = collected.get(key, sp.S.Zero) + coefficient
    terms = []
    for (kind, name, left, right), coefficient in collected.items():
        coefficient = sp.simplify(coefficient)
        if coefficient == 0:
            continue
        expectation = None
        if kind == "order_parameter":
            expectation = closed_form(left, right, U, mu_u=0, mu_v=0)
        terms.append(LayeredTerm(coefficient, kind, name, left, right, expectation))
    return LayeredProblem(tuple(terms), action.time.layers, inputs, field.name)


def _split(content: sp.Expr, field, n, m) -> tuple[sp.Expr, sp.Expr]:
    """⟨f(h(n)) g(h(m))⟩ → (f(U), g(U))."""
    left, right = sp.S.One, sp.S.One
    for factor in sp.Mul.make_args(content):
        times = {v.args[0] for v in factor.atoms(FieldValue)}
        if times == {n}:
            left *= factor.xreplace({field(n): U})
        elif times == {m}:
            right *= factor.xreplace({field(m): U})
        else:
            raise ActionStructureError(f"factor {factor} of the order parameter {content} is "
                                       "not a function of one field value")
    if left.has(FieldValue, ResponseValue) or right.has(FieldValue, ResponseValue):
        raise ActionStructureError(f"order parameter {content} is not ⟨f(h(n)) g(h(m))⟩")
    return left, right
