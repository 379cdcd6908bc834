r"""An action read back as a Langevin equation: :func:`read_langevin` → :class:`LangevinSystem`.

:func:`read_langevin` reads drift, noise covariance and couplings back from *any* action,
and is the structure check every action passes when it is built: terms linear in the
response fields are drift, quadratic ones Gaussian noise, anything else is rejected with
an error naming the offending term. The simulator runs what :func:`read_langevin` returns,
so theory and simulation cannot describe different models. It is read once per action and
kept on it (actions are immutable). The converse, :func:`~fieldtheory.ir.langevin.langevin`,
builds an action and so imports :mod:`fieldtheory.ir.action`; this module does not, so that
the action can check itself with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp

from fieldtheory.errors import (
    CausalityError,
    DeclarationError,
    NonlinearCouplingError,
    NotMSRDJError,
    UndeclaredSymbolError,
)
from fieldtheory.ir.ensembles.symbols import MODE_COUNT, MODE_INDEX
from fieldtheory.ir.quenched import Quenched, quenched_symbols
from fieldtheory.ir.symbols import (
    ByPopulation,
    Coupling,
    CouplingSum,
    Field,
    FieldValue,
    ResponseValue,
)

if TYPE_CHECKING:
    from fieldtheory.ir.action import Action, Time

__all__ = ["LangevinSystem", "read_langevin"]


@dataclass(frozen=True)
class LangevinSystem:
    """Drift and noise read off an action.

    Continuous time: ∂_t x_k = drift_k + ξ_k with ⟨ξ_k(t) ξ_l(s)⟩ = noise[k, l] δ(t − s).
    Discrete time: x_k(n+1) = drift_k + ξ_k(n) with ⟨ξ_k(n) ξ_l(m)⟩ = noise[k, l] δ_nm.
    Drifts are expressions in ``x(τ)`` of the current site at the response time τ (t or
    n) and in coupling sums.

    ``point_process_terms`` holds the terms of declared point-process fields that are of
    order > 2 in the response fields (or not polynomial in them, such as
    (e^{x̃} − 1)λ(x)): no Langevin equation describes them, so a simulator of drift and
    noise must refuse a system that has any.
    """

    action: Action
    drift: tuple[sp.Expr, ...]
    noise: sp.ImmutableMatrix
    point_process_terms: tuple[sp.Expr, ...] = ()

    @property
    def fields(self) -> tuple[Field, ...]:
        return self.action.fields

    @property
    def time(self) -> Time:
        return self.action.time

    @property
    def is_noisy(self) -> bool:
        return any(q != 0 for q in self.noise)

    @property
    def observed_phi(self) -> sp.Expr:
        """The observed φ: the presynaptic expression of the first coupling sum, searching
        the drifts in field order (in field values; ``ByPopulation`` symbols are resolved
        per population by the reader); the first field itself when there is none.

        The one definition both the simulator (``mean_phi``, ``autocorrelation_phi``) and
        the lowered site (``SiteProblem.phis``) use. Quenched per-unit factors (gains G_i,
        :mod:`fieldtheory.ir.quenched`) are set to 1: φ is the unit's own nonlinearity,
        :attr:`observed_output` the output G_i φ(x_i).
        """
        output = self.observed_output
        return output.xreplace({q: sp.S.One for q in quenched_symbols(output)})

    @property
    def observed_output(self) -> sp.Expr:
        """The presynaptic expression itself, quenched per-unit factors included: the
        output Φ_i = G_i φ(x_i) a unit sends (equal to :attr:`observed_phi` without
        quenched variables)."""
        for drift in self.drift:
            for node in sp.preorder_traversal(drift):
                if isinstance(node, CouplingSum):
                    return node.presynaptic
        return self.fields[0](self.time.symbol)


#: The attribute under which an action keeps its LangevinSystem (not a dataclass field: it
#: takes no part in equality, hashing, repr or pickling).
CACHE_ATTRIBUTE = "_langevin_system"


def read_langevin(action: Action) -> LangevinSystem:
    """Drift and noise of an action; raises a named error for any non-MSRDJ term.

    Read once per action: every action is read when it is built (its structure check), and
    the result is kept on the immutable action, as :func:`functools.cached_property` keeps
    a value, so the simulator, the derivation, the printers and codegen share it.
    """
    if not hasattr(action, "time"):  # a static (posterior) model, a spiking network
        kind = ("a spiking network (threshold–reset or point-process neurons)"
                if type(action).__name__ == "SpikingNetwork"
                else "a Bayesian posterior model (static)")
        raise NotMSRDJError(f"{kind} ({type(action).__name__}) has no Langevin form (drift "
                            "and Gaussian noise)")
    cached = vars(action).get(CACHE_ATTRIBUTE)
    if cached is None:
        cached = _read_langevin(action)
        vars(action)[CACHE_ATTRIBUTE] = cached  # a frozen dataclass: bypass __setattr__
    return cached


def _read_langevin(action: Action) -> LangevinSystem:
    if action.time.is_zero_dimensional:
        raise NotMSRDJError(
            f"the zero-dimensional action S = {action.lagrangian} has no dynamics: no drift, "
            "no noise, nothing to simulate"
        )
    _check_symbols(action)
    tau = action.time.symbol
    _check_response_times(action, tau)
    responses = [f.response(tau) for f in action.fields]
    placeholders = [sp.Dummy(f"r_{f.name}") for f in action.fields]
    back = dict(zip(placeholders, responses, strict=True))
    point = {r for f, r in zip(action.fields, placeholders, strict=True)
             if f in action.point_process}
    lagrangian = action.lagrangian.xreplace(dict(zip(responses, placeholders, strict=True)))
    lagrangian, point_terms = _split_point_process(lagrangian, placeholders, point, back)
    try:
        poly = sp.Poly(sp.expand(lagrangian, deep=False, power_base=False), *placeholders)
    except sp.PolynomialError:
        term = _first_nonpolynomial(lagrangian, placeholders, back)
        raise NotMSRDJError(
            f"term {term} is not polynomial in the response fields; only fields declared "
            "as point processes may enter so"
        ) from None
    linear = [sp.Integer(0)] * len(placeholders)
    quadratic = sp.zeros(len(placeholders))
    for powers, coefficient in poly.terms():
        degree = sum(powers)
        monomial = sp.Mul(*(p**e for p, e in zip(placeholders, powers, strict=True)))
        term = (coefficient * monomial).xreplace(back)
        if degree == 0:
            raise NotMSRDJError(f"term {term} contains no response field")
        if degree > 2:
            _check_point_process_order(action, term, degree, powers)
            point_terms.append(term)
        elif degree == 1:
            linear[powers.index(1)] += coefficient
        else:
            k, l = [i for i, e in enumerate(powers) for _ in range(e)]
            # the action holds ½ Q_kk x̃_k² and, for k ≠ l, Q_kl x̃_k x̃_l (= ½ Σ_kl Q_kl x̃_k x̃_l
            # with Q symmetric)
            if k == l:
                quadratic[k, k] += 2 * coefficient
            else:
                quadratic[k, l] += coefficient
                quadratic[l, k] += coefficient
    drifts, scales = [], []
    for f, coefficient in zip(action.fields, linear, strict=True):
        drift, scale = _split_change(action, f, sp.expand(coefficient), tau)
        drifts.append(drift)
        scales.append(scale)
    for q in quadratic:
        _check_noise_term(action, q, tau)
    for term in point_terms:
        _check_point_process_term(action, term, tau)
    size = len(scales)
    noise = sp.ImmutableMatrix(
        size, size, lambda k, l: sp.simplify(quadratic[k, l] / (scales[k] * scales[l]))
    )
    _check_noise_numbers(action, noise)
    return LangevinSystem(action, tuple(drifts), noise, tuple(point_terms))


def _split_point_process(expr: sp.Expr, placeholders, point, back) -> tuple[sp.Expr, list]:
    """Set aside the summands not polynomial in, and only in, point-process responses."""
    if not point:
        return expr, []
    kept, point_terms = [], []
    for term in sp.Add.make_args(expr):
        inside = term.free_symbols & set(placeholders)
        if inside and inside <= point and not term.is_polynomial(*placeholders):
            point_terms.append(term.xreplace(back))
        else:
            kept.append(term)
    return sp.Add(*kept), point_terms


def _check_point_process_order(action: Action, term: sp.Expr, degree: int, powers) -> None:
    """Terms of order > 2 in x̃ may only hold response fields of point-process fields."""
    others = [f.name for f, e in zip(action.fields, powers, strict=True)
              if e and f not in action.point_process]
    if others:
        raise NotMSRDJError(
            f"term {term} is of order {degree} in the response fields; only fields declared "
            f"as point processes may enter so, and {', '.join(others)} is not one"
        )


def _split_change(action: Action, f: Field, coefficient: sp.Expr, tau) -> tuple[sp.Expr, sp.Expr]:
    """Split the x̃_k-coefficient −a·(change of x_k) + rest into drift rest/a and a."""
    if action.time.is_discrete:
        change = f(tau + 1)
        label = f"{f.name}({tau + 1})"
    else:
        change = sp.Derivative(f(tau), tau)
        label = f"∂_{tau} {f.name}({tau})"
    if coefficient == 0:
        raise NotMSRDJError(f"the response field {f.name}~ does not enter the action")
    a = -coefficient.diff(change) if coefficient.has(change) else sp.Integer(0)
    rest = sp.expand(coefficient + a * change)
    if a == 0 or a.has(FieldValue, sp.Derivative, CouplingSum):
        raise NotMSRDJError(
            f"the response field {f.name}~({tau}) must multiply −{label} with a constant "
            f"coefficient; its coefficient is {coefficient}"
        )
    stray = rest.atoms(sp.Derivative)
    if stray:
        raise NotMSRDJError(f"time derivative {sorted(map(str, stray))[0]} outside the term "
                            f"{f.name}~·∂_t {f.name}")
    _check_causal(action, rest, tau, allow_update=False)
    _check_coupling_linear(rest)
    return sp.expand(rest / a), a


def _check_response_times(action: Action, tau) -> None:
    for r in action.lagrangian.atoms(ResponseValue):
        if r.args[0] != tau:
            raise NotMSRDJError(
                f"response field {r} is not at the time {tau} of the action; write each term "
                f"at the time of its response field"
            )
    # a response field inside J @ f or a derivative is no polynomial in x̃: name the place
    for node in sp.preorder_traversal(action.lagrangian):
        if isinstance(node, (CouplingSum, sp.Derivative)) and node.has(ResponseValue):
            where = "coupling sum" if isinstance(node, CouplingSum) else "time derivative"
            raise NotMSRDJError(f"response field inside the {where} {node}")


def _check_causal(action: Action, expr: sp.Expr, tau, allow_update: bool) -> None:
    """Fields in a drift may not lie later than the response field's time τ."""
    for value in expr.atoms(FieldValue):
        lag = sp.simplify(tau - value.args[0])
        if lag.is_number and lag >= 0:
            continue
        if lag.is_number:
            raise CausalityError(
                f"field value {value} lies later than the response field at {tau}: "
                f"the drift at {tau} may only depend on times ≤ {tau}"
            )
        raise CausalityError(f"cannot decide whether {value} lies before {tau}")
    for term in expr.atoms(CouplingSum):
        inner = term.presynaptic
        if inner.has(ResponseValue):
            raise NotMSRDJError(f"response field inside the coupling sum {term}")
        if inner.has(CouplingSum):
            raise NonlinearCouplingError(f"coupling sum nested inside {term}")
        if inner.atoms(sp.Derivative):
            raise NotMSRDJError(f"time derivative inside the coupling sum {term}")


def _check_coupling_linear(expr: sp.Expr) -> None:
    """Couplings may enter a drift only linearly, as Σ_j J_ij f(x_j) with f free of J."""
    sums = sorted(expr.atoms(CouplingSum), key=str)
    if not sums:
        return
    marks = [sp.Dummy(f"c{k}") for k in range(len(sums))]
    back = dict(zip(marks, sums, strict=True))
    marked = expr.xreplace(dict(zip(sums, marks, strict=True)))
    for node in sp.preorder_traversal(marked):
        inside_function = isinstance(node, sp.Function) and node.has(*marks)
        # (J @ f)**2 is left to the product check below; sqrt, 1/(J @ f), 2**(J @ f) not
        inside_power = isinstance(node, sp.Pow) and (
            node.exp.has(*marks)
            or (node.base.has(*marks) and not (node.exp.is_Integer and node.exp > 0))
        )
        if inside_function or inside_power:
            raise NonlinearCouplingError(
                f"a coupling enters non-linearly, inside {node.xreplace(back)}; each may "
                "appear only linearly, as J @ f(x)"
            )
    try:
        poly = sp.Poly(marked, *marks)
    except sp.PolynomialError:  # pragma: no cover - the walk above names every such node
        raise NonlinearCouplingError(f"couplings enter non-linearly in {expr}") from None
    for powers, coefficient in poly.terms():
        if sum(powers) > 1:
            product = sp.Mul(*(m**e for m, e in zip(marks, powers, strict=True)))
            raise NonlinearCouplingError(
                f"couplings enter non-linearly, as the product {product.xreplace(back)} in "
                f"the term {(coefficient * product).xreplace(back)}; each may appear only "
                "linearly, as J @ f(x)"
            )


def _check_noise_term(action: Action, q: sp.Expr, tau) -> None:
    if q.has(CouplingSum):
        raise NonlinearCouplingError(f"coupling inside the noise term {q}; couplings may only "
                                     "enter the drift")
    if q.atoms(sp.Derivative):
        raise NotMSRDJError(f"time derivative inside the noise term {q}")
    _check_causal(action, q, tau, allow_update=False)


def _check_noise_numbers(action: Action, noise: sp.Matrix) -> None:
    """Noise intensities that are numbers must not be negative, and a covariance of numbers
    only must be positive semi-definite: exp(S) is a Gaussian weight only then."""
    for k, f in enumerate(action.fields):
        if noise[k, k].is_number and noise[k, k].is_extended_negative:
            raise DeclarationError(f"noise intensity of {f.name} is {noise[k, k]}, negative; "
                                   "the noise covariance must be positive semi-definite")
    if not noise.free_symbols and any(v.is_extended_negative for v in noise.eigenvals()):
        raise DeclarationError(f"noise covariance {noise.tolist()} is not positive "
                               "semi-definite")


def _check_point_process_term(action: Action, term: sp.Expr, tau) -> None:
    if term.atoms(sp.Derivative):
        raise NotMSRDJError(f"time derivative inside the point-process term {term}")
    _check_causal(action, term, tau, allow_update=False)
    _check_coupling_linear(term)


def _first_nonpolynomial(expr: sp.Expr, placeholders, back) -> sp.Expr:
    for node in sp.preorder_traversal(expr):
        if isinstance(node, (sp.Function, sp.Pow)) and not isinstance(node, CouplingSum):
            if isinstance(node, sp.Pow) and node.exp.is_Integer and node.exp >= 0:
                continue
            if node.has(*placeholders):
                return node.xreplace(back)
    return expr.xreplace(back)


def _bare_couplings(expr: sp.Basic) -> set[Coupling]:
    """Coupling symbols that are not the matrix of a coupling sum ``J @ f``."""
    found: set[Coupling] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Coupling):
            found.add(node)
        elif isinstance(node, CouplingSum):
            stack.append(node.presynaptic)
        else:
            stack.extend(node.args)
    return found


def _check_symbols(action: Action) -> None:
    """Every symbol and function in the action must be declared."""
    declared = set(action.parameters.symbols) | {action.time.symbol}
    couplings = {c for c, _ in action.couplings}
    lagrangian = action.lagrangian
    for c in sorted(_bare_couplings(lagrangian), key=str):
        raise NonlinearCouplingError(f"coupling {c} appears outside a coupling sum {c} @ f(x)")
    # ensembles, fractions and the step are numbers-to-be: only parameters may enter them
    numbers = set(action.time.step.free_symbols)
    for _, ensemble in action.couplings:
        numbers |= ensemble.free_symbols
    for p in action.populations:
        numbers |= p.fraction.free_symbols
    numbers -= {MODE_INDEX, MODE_COUNT}
    for c in sorted((s for s in numbers if isinstance(s, Coupling)), key=str):
        raise UndeclaredSymbolError(
            f"coupling {c} appears in an ensemble, a population fraction or the time step; "
            "only parameters may"
        )
    used = {c.coupling for c in lagrangian.atoms(CouplingSum)}
    for c in sorted(map(str, used - couplings)):
        raise UndeclaredSymbolError(f"coupling {c} has no ensemble")
    quenched = {q for q, _ in action.quenched}
    for _, distribution in action.quenched:
        numbers |= distribution.free_symbols
    free = lagrangian.free_symbols | numbers
    for q in sorted((s for s in free if isinstance(s, Quenched)), key=str):
        if q not in quenched:
            raise UndeclaredSymbolError(f"quenched variable {q} has no distribution; attach "
                                        f"one with quenched={{{q}: ...}}")
    for q in sorted(map(str, quenched - lagrangian.free_symbols)):
        raise DeclarationError(f"quenched variable {q} is declared but does not enter the "
                               "action")
    declared |= quenched
    unknown = sorted(str(s) for s in free - declared - couplings)
    if unknown:
        raise UndeclaredSymbolError(
            f"undeclared symbol(s) {', '.join(unknown)}; declare them as parameters"
        )
    for c in sorted(map(str, couplings - used)):
        raise DeclarationError(f"coupling {c} is declared but does not enter the action")
    _check_functions(action)
    names = {p.name for p in action.populations}
    for value in lagrangian.atoms(ByPopulation):
        if set(value.populations) != names:
            raise DeclarationError(
                f"{value.name} is given for populations {list(value.populations)}, the "
                f"action has {sorted(names)}"
            )


def _check_functions(action: Action) -> None:
    """Every undefined function must be a declared field (or its response field)."""
    known = {fn for f in action.fields for fn in (f.value_function, f.response_function)}
    # walk every node: a set of atoms would merge a plain function with an equal field value
    for value in sp.preorder_traversal(action.lagrangian):
        if not isinstance(value, sp.core.function.AppliedUndef):
            continue
        if isinstance(value, (FieldValue, ResponseValue)) and value.func in known:
            continue
        if value.func.__name__ in {fn.__name__ for fn in known}:
            raise UndeclaredSymbolError(
                f"{value} is built from a plain sympy Function named {value.func}, not from "
                "the declared Field; write field values as x(t) and x.response(t) with "
                "x = ft.Field(...)"
            )
        raise UndeclaredSymbolError(f"undeclared function or field {value.func}")
