r"""An action read as a Gaussian part plus polynomial vertices: the input of the diagram engine.

:func:`perturbative_theory` splits the declared Lagrangian (a single unit without couplings,
or a zero-dimensional action) into

.. math::  S = S_0 + \sum_v c_v\, m_v ,

where S₀ is quadratic in the fields (it gives the propagators) and each vertex is a
monomial m_v of the fields and response fields with a sympy coefficient c_v.

*Dynamics* (continuous time, weight e^S, docs/conventions.md). With
S₀ = ∫dt [x̃ᵀ(−M∂_t − A)x + ½ x̃ᵀQx̃] the free propagators are the response
R(t, s) = ⟨x(t) x̃(s)⟩₀ = Θ(t − s) e^{−M⁻¹A(t−s)} M⁻¹ with the Itô rule R(t, t) = 0, the
correlation C(t, s) = ⟨x(t) x(s)⟩₀ = ∫du R(t, u) Q R(s, u)ᵀ, and ⟨x̃ x̃⟩₀ = 0. For a field
that no other field drives (m, a, Q = D): R(τ) = Θ(τ) e^{−aτ/m}/m,
C(τ) = D e^{−a|τ|/m}/(2am); other entries stay symbolic (``Propagator.value`` is None).

*Zero dimensions.* With S₀ = −½ xᵀKx the propagator is G = K⁻¹ and Z = ∫dx e^S/(2π)^{n/2}.

Source: J. Zinn-Justin, *Quantum Field Theory and Critical Phenomena*, ch. 4;
M. Helias and D. Dahmen, *Statistical Field Theory for Neural Networks* (Springer, 2020),
ch. 4–7 (MSRDJ, Itô convention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import sympy as sp

from fieldtheory.errors import ExpansionError
from fieldtheory.ir.action import Action
from fieldtheory.ir.model import Model, as_model, require_dynamic
from fieldtheory.ir.symbols import FieldValue, ResponseValue

__all__ = ["Vertex", "Propagator", "PerturbativeTheory", "perturbative_theory", "TAU"]

#: The time difference t_head − t_tail in the closed forms of the dynamic propagators.
TAU = sp.Symbol("τ", real=True)


@dataclass(frozen=True)
class Vertex:
    """One interaction monomial c · Π legs of the action.

    ``legs`` are field names, a response field written with a tilde (``"x~"``), sorted in
    the theory's leg order; ``monomial`` is the term as declared (for printing).
    """

    coefficient: sp.Expr
    legs: tuple[str, ...]
    monomial: sp.Expr

    @property
    def degree(self) -> int:
        return len(self.legs)

    @property
    def leg_permutations(self) -> int:
        """Π_f m_f!: the permutations of identical legs (so that factor = ∂^k S/∂legs)."""
        return math.prod(math.factorial(self.legs.count(leg)) for leg in set(self.legs))

    @property
    def factor(self) -> sp.Expr:
        """The vertex factor c · Π_f m_f!, e.g. −λ for −λx⁴/4!."""
        return self.coefficient * self.leg_permutations


@dataclass(frozen=True)
class Propagator:
    """A nonzero free two-point function ⟨a(t₁) b(t₂)⟩₀ between legs ``fields = (a, b)``.

    ``kind`` is ``"R"`` (fields = (x̃_l, x_k): the edge runs from the response leg to the
    field leg), ``"C"`` (⟨x_k x_l⟩) or ``"G"`` (zero dimensions). ``function`` is the
    sympy function used in diagram expressions, called with (t_head, t_tail) for R and
    (t_tail, t_head) for C; ``value`` is the closed form in :data:`TAU` = t_head − t_tail
    (dynamics) or the number G_kl (zero dimensions), ``None`` when none is derived.
    """

    kind: str
    fields: tuple[str, str]
    function: sp.Expr
    value: sp.Expr | None

    def __call__(self, t_tail: sp.Expr, t_head: sp.Expr) -> sp.Expr:
        """The propagator of an edge from a leg at ``t_tail`` to a leg at ``t_head``."""
        if self.kind == "G":
            return self.value
        if self.kind == "R":
            return self.function(t_head, t_tail)
        return self.function(t_tail, t_head)


@dataclass(frozen=True)
class PerturbativeTheory:
    """A Gaussian part (``propagators``) plus ``vertices``; see the module docstring.

    ``legs`` lists the leg names in a fixed order (fields, then their response fields);
    ``constant`` is the field-independent part of S (zero dimensions: it adds to ln Z).
    """

    name: str
    legs: tuple[str, ...]
    vertices: tuple[Vertex, ...]
    propagators: tuple[Propagator, ...]
    zero_dimensional: bool
    constant: sp.Expr = sp.Integer(0)
    action: Action | None = field(default=None, compare=False, repr=False)

    @cached_property
    def _pairs(self) -> dict[tuple[str, str], tuple[Propagator, bool]]:
        pairs = {}
        for p in self.propagators:
            a, b = p.fields
            pairs[(a, b)] = (p, True)
            pairs.setdefault((b, a), (p, False))
        return pairs

    def propagator(self, a: str, b: str) -> tuple[Propagator, bool] | None:
        """The propagator joining legs ``a`` and ``b``, and whether ``a`` is its tail."""
        return self._pairs.get((a, b))

    def closed_form(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with every propagator that has a closed form replaced by it.

        R(t_head, t_tail) and C(t_tail, t_head) become ``value`` at τ = t_head − t_tail;
        the integrals are left to the caller (``.doit()`` for sympy).
        """
        head, tail = sp.Dummy("head", real=True), sp.Dummy("tail", real=True)
        for p in self.propagators:
            if p.kind == "G" or p.value is None:
                continue
            value = p.value.subs(TAU, head - tail)
            arguments = (head, tail) if p.kind == "R" else (tail, head)
            expr = expr.replace(p.function, sp.Lambda(arguments, value))
        return expr

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        found: set[sp.Symbol] = set()
        for v in self.vertices:
            found |= sp.sympify(v.coefficient).free_symbols
        return tuple(sorted(found, key=str))

    def __str__(self) -> str:
        lines = [f"perturbative theory of {self.name}: legs {', '.join(self.legs)}"]
        for p in self.propagators:
            value = "" if p.value is None else f" = {p.value}"
            lines.append(f"  {p.kind}{p.fields}{value}")
        lines += [f"  vertex {k}: {v.monomial}" for k, v in enumerate(self.vertices)]
        return "\n".join(lines)


def perturbative_theory(action_or_model: Action | Model | str) -> PerturbativeTheory:
    """Split an action into propagators and vertices (cached on the action).

    Parameters
    ----------
    action_or_model : Action, Model or model name
        A single unit in continuous time without couplings, or a zero-dimensional action;
        the Lagrangian must be polynomial in the fields, response fields and ∂_t x.

    Raises
    ------
    ExpansionError
        Naming the offending term: couplings (average the disorder first), discrete time,
        point processes, a non-polynomial term, ∂_t x outside the free part, a degenerate
        Gaussian part.
    """
    require_dynamic(action_or_model, "diagrams")
    model = as_model(action_or_model, actions=True)  # a name or path loads the model
    if isinstance(model, Model):
        return _theory(model.action, model.name)
    return _theory(model, "action")


@lru_cache(maxsize=64)
def _theory(action: Action, name: str) -> PerturbativeTheory:
    _check_expandable(action)
    fields = action.fields
    tau = action.time.symbol
    zero = action.time.is_zero_dimensional
    values = [f() if zero else f(tau) for f in fields]
    symbols = {f.name: sp.Dummy(f.name) for f in fields}
    replace = {v: symbols[f.name] for f, v in zip(fields, values, strict=True)}
    responses, changes = {}, {}
    if not zero:
        responses = {f"{f.name}~": sp.Dummy(f"{f.name}~") for f in fields}
        changes = {f.name: sp.Dummy(f"d{f.name}") for f in fields}
        for f in fields:
            replace[sp.Derivative(f(tau), tau)] = changes[f.name]
            replace[f.response(tau)] = responses[f"{f.name}~"]
    # derivatives first: x(t) inside ∂_t x(t) must not be replaced on its own
    lagrangian = action.lagrangian.xreplace(
        {k: v for k, v in replace.items() if isinstance(k, sp.Derivative)}
    ).xreplace(replace)
    _check_leftovers(lagrangian)
    gens = {**symbols, **responses}
    order = list(symbols) + list(responses)
    poly = _polynomial(lagrangian, [*gens.values(), *changes.values()], replace)
    back = {v: k for k, v in replace.items()}
    split = _split(poly, order, gens, changes, back, zero)
    propagators = _zero_dim_propagators(split, order) if zero else _propagators(split, order)
    return PerturbativeTheory(
        name,
        tuple(order),
        tuple(split["vertices"]),
        tuple(propagators),
        zero,
        split["constant"],
        action,
    )


def _check_expandable(action: Action) -> None:
    if action.couplings:
        names = ", ".join(str(c) for c, _ in action.couplings)
        raise ExpansionError(
            f"couplings {names} are present: the diagram engine expands single units; "
            "average the disorder first (fieldtheory.derive)"
        )
    if action.time.is_discrete:
        raise ExpansionError("discrete-time actions are not expanded in diagrams yet")
    if action.point_process:
        raise ExpansionError(
            f"point-process field {action.point_process[0].name}: its (e^x̃ − 1) term is not "
            "a polynomial vertex"
        )


def _check_leftovers(expr: sp.Expr) -> None:
    for node in sp.preorder_traversal(expr):
        if isinstance(node, (FieldValue, ResponseValue, sp.Derivative)):
            raise ExpansionError(
                f"{node}: only values at the time of the Lagrangian and ∂_t x are local "
                "vertices (delays and higher derivatives are not expanded)"
            )


def _polynomial(expr: sp.Expr, gens: list[sp.Dummy], back: dict) -> sp.Poly:
    try:
        return sp.Poly(sp.expand(expr), *gens)
    except sp.PolynomialError:
        undo = {v: k for k, v in back.items()}
        for node in sp.preorder_traversal(expr):
            if isinstance(node, (sp.Function, sp.Pow)) and node.has(*gens):
                if isinstance(node, sp.Pow) and node.exp.is_Integer and node.exp >= 0:
                    continue
                raise ExpansionError(
                    f"term {node.xreplace(undo)} is not polynomial in the fields: vertices "
                    "must be monomials"
                ) from None
        raise ExpansionError(f"{expr.xreplace(undo)} is not polynomial in the fields") from None


def _split(poly, order, gens, changes, back, zero) -> dict:
    """Sort the monomials into constant, quadratic matrices and vertices."""
    n = len(changes) if not zero else len(gens)
    names = [o for o in order if not o.endswith("~")]
    keys = [*gens, *(f"d{k}" for k in changes)]
    quadratic = {
        "M": sp.zeros(len(names)),
        "A": sp.zeros(len(names)),
        "Q": sp.zeros(len(names)),
        "K": sp.zeros(n),
    }
    vertices, constant = [], sp.Integer(0)
    for powers, coefficient in poly.terms():
        count = dict(zip(keys, powers, strict=True))
        term = coefficient * sp.Mul(*(g**e for g, e in zip(poly.gens, powers, strict=True)))
        term = term.xreplace(back)
        legs = [k for k in keys for _ in range(count[k])]
        derivative = [k for k in legs if k.startswith("d") and k not in gens]
        if not legs:
            constant += coefficient
        elif derivative:
            rest = [k for k in legs if k not in derivative]
            if len(legs) != 2 or len(rest) != 1 or not rest[0].endswith("~"):
                raise ExpansionError(f"term {term}: ∂_t x may only appear as −x̃ ∂_t x")
            quadratic["M"][names.index(rest[0][:-1]), names.index(derivative[0][1:])] -= coefficient
        elif len(legs) == 2 and zero:
            k, m = names.index(legs[0]), names.index(legs[1])
            share = -2 * coefficient if k == m else -coefficient
            quadratic["K"][k, m] += share
            if k != m:
                quadratic["K"][m, k] += share
        elif len(legs) == 2 and legs[0].endswith("~") != legs[1].endswith("~"):
            response, value = sorted(legs, key=lambda k: not k.endswith("~"))
            quadratic["A"][names.index(response[:-1]), names.index(value)] -= coefficient
        elif len(legs) == 2 and legs[0].endswith("~"):
            k, m = names.index(legs[0][:-1]), names.index(legs[1][:-1])
            quadratic["Q"][k, m] += 2 * coefficient if k == m else coefficient
            if k != m:
                quadratic["Q"][m, k] += coefficient
        elif len(legs) == 2:
            raise ExpansionError(
                f"term {term} is quadratic in the fields without a response "
                "field: it is not part of an MSRDJ action"
            )
        else:
            ordered = tuple(sorted(legs, key=order.index))
            vertices.append(Vertex(coefficient, ordered, term))
    vertices.sort(key=lambda v: (v.degree, [order.index(k) for k in v.legs]))
    return {**quadratic, "vertices": vertices, "constant": constant, "names": names}


def _reach(links: sp.Matrix) -> list[list[bool]]:
    """reach[k][l]: l leads to k through nonzero entries links[k, l] (reflexive)."""
    size = links.rows
    reach = [[k == m or links[k, m] != 0 for m in range(size)] for k in range(size)]
    for via in range(size):
        for k in range(size):
            for m in range(size):
                reach[k][m] = reach[k][m] or (reach[k][via] and reach[via][m])
    return reach


def _propagators(split: dict, order: list[str]) -> list[Propagator]:
    names, M, A, Q = split["names"], split["M"], split["A"], split["Q"]
    for k, name in enumerate(names):
        if M[k, k] == 0:
            raise ExpansionError(f"the free part has no −{name}~ ∂_t {name} term")
    for k in range(len(names)):
        for m in range(len(names)):
            if k != m and M[k, m] != 0:
                raise ExpansionError(f"∂_t {names[m]} multiplies {names[k]}~: not MSRDJ")
    single = len(names) == 1
    # a field no other field drives has the one-field closed forms
    free = [all(A[k, m] == 0 for m in range(len(names)) if m != k) for k in range(len(names))]
    rate = [A[k, k] / M[k, k] for k in range(len(names))]
    response = _reach(A)
    out = []
    for k, head in enumerate(names):
        for m, tail in enumerate(names):
            if not response[k][m]:
                continue
            fn = sp.Function("R" if single else f"R_{head},{tail}")
            value = None
            if free[k] and k == m:
                value = sp.Heaviside(TAU, 0) * sp.exp(-rate[k] * TAU) / M[k, k]
            out.append(Propagator("R", (f"{tail}~", head), fn, value))
    for k, a in enumerate(names):
        for m in range(k, len(names)):
            b = names[m]
            nonzero = any(
                response[k][p] and response[m][q] and Q[p, q] != 0
                for p in range(len(names))
                for q in range(len(names))
            )
            if not nonzero:
                continue
            fn = sp.Function("C" if single else f"C_{a},{b}")
            value = None
            if any(A[q, q] == 0 for q in (k, m)):
                value = None  # free diffusion: no stationary correlation
            elif free[k] and k == m:
                value = Q[k, k] * sp.exp(-rate[k] * sp.Abs(TAU)) / (2 * A[k, k] * M[k, k])
            elif free[k] and free[m]:
                # τ = t_b − t_a: ∫du R_a(t_a − u) Q_ab R_b(t_b − u)
                scale = Q[k, m] / (M[k, k] * M[m, m] * (rate[k] + rate[m]))
                value = scale * sp.Piecewise(
                    (sp.exp(-rate[m] * TAU), TAU >= 0), (sp.exp(rate[k] * TAU), True)
                )
            out.append(Propagator("C", (a, b), fn, value))
    return out


def _zero_dim_propagators(split: dict, order: list[str]) -> list[Propagator]:
    K = split["K"]
    if K.det() == 0:
        raise ExpansionError(f"the Gaussian part −½ xᵀKx has a singular K = {K.tolist()}")
    if not K.free_symbols and not all(e > 0 for e in K.eigenvals()):
        raise ExpansionError(
            f"the Gaussian part −½ xᵀKx is not negative definite: K = {K.tolist()}; Z diverges"
        )
    G = K.inv()
    names = split["names"]
    out = []
    for k, a in enumerate(names):
        for m in range(k, len(names)):
            value = sp.simplify(G[k, m])
            if value != 0:
                fn = sp.Function("G" if len(names) == 1 else f"G_{a},{names[m]}")
                out.append(Propagator("G", (a, names[m]), fn, value))
    return out
