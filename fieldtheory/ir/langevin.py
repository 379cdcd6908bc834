r"""Langevin equation ⇔ MSRDJ action.

:func:`langevin` writes the action of ∂_t x = f(x) + ξ (or x(n+1) = F(x(n)) + ξ_n);
:func:`read_langevin` reads drift, noise covariance and couplings back from *any* action,
and is the structure check every action passes when it is built: terms linear in the
response fields are drift, quadratic ones Gaussian noise, anything else is rejected with
an error naming the offending term. The simulator runs what :func:`read_langevin` returns,
so theory and simulation cannot describe different models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp

from fieldtheory.errors import (
    CausalityError,
    DeclarationError,
    NonlinearCouplingError,
    NotMSRDJError,
    UndeclaredSymbolError,
)
from fieldtheory.ir.action import CONTINUOUS, Action, Time
from fieldtheory.ir.ensembles import MODE_COUNT, MODE_INDEX, Ensemble
from fieldtheory.ir.parameters import ParameterSet
from fieldtheory.ir.populations import ONE_POPULATION, Population
from fieldtheory.ir.symbols import (
    ByPopulation,
    Coupling,
    CouplingSum,
    Field,
    FieldValue,
    ResponseValue,
)

__all__ = ["LangevinSystem", "langevin", "read_langevin"]


@dataclass(frozen=True)
class LangevinSystem:
    """Drift and noise read off an action.

    Continuous time: ∂_t x_k = drift_k + ξ_k with ⟨ξ_k(t) ξ_l(s)⟩ = noise[k, l] δ(t − s).
    Discrete time: x_k(n+1) = drift_k + ξ_k(n) with ⟨ξ_k(n) ξ_l(m)⟩ = noise[k, l] δ_nm.
    Drifts are expressions in ``x(τ)`` of the current site at the response time τ (t or
    n) and in coupling sums.
    """

    action: Action
    drift: tuple[sp.Expr, ...]
    noise: sp.ImmutableMatrix

    @property
    def fields(self) -> tuple[Field, ...]:
        return self.action.fields

    @property
    def time(self) -> Time:
        return self.action.time

    @property
    def is_noisy(self) -> bool:
        return any(q != 0 for q in self.noise)


def langevin(
    drift: Mapping[Field, sp.Expr],
    noise: Mapping[Field | tuple[Field, Field], sp.Expr] | None = None,
    couplings: Mapping[Coupling, Ensemble] | None = None,
    parameters: ParameterSet | None = None,
    populations: tuple[Population, ...] | None = None,
    time: Time = CONTINUOUS,
) -> Action:
    r"""The MSRDJ action of a Langevin equation (or of a noisy map).

    Parameters
    ----------
    drift : mapping Field → expression
        f_k in ∂_t x_k = f_k + ξ_k, written with ``x(t)`` (``x(n)`` for maps, where it is
        the new value x_k(n+1)).
    noise : mapping
        ``{x: D}`` for ⟨ξ_x ξ_x⟩ = D δ, ``{(x, y): Q_xy}`` for cross-covariances.
    couplings, parameters, populations, time
        As in :class:`~fieldtheory.ir.action.Action`; populations default to those of a
        structured ensemble, else to one population.

    Returns
    -------
    Action
        S = Σ_i ∫dt Σ_k x̃_k(−∂_t x_k + f_k) + ½ Σ_kl Q_kl x̃_k x̃_l.
    """
    fields = tuple(drift)
    tau = time.symbol
    couplings = dict(couplings or {})
    if populations is None:
        structured = [e.populations() for e in couplings.values() if e.populations()]
        populations = structured[0] if structured else ONE_POPULATION
    lagrangian = sp.Integer(0)
    for f, rhs in drift.items():
        change = f(tau + 1) if time.is_discrete else sp.Derivative(f(tau), tau)
        lagrangian += f.response(tau) * (-change + sp.sympify(rhs))
    for key, q in (noise or {}).items():
        k, l = (key, key) if isinstance(key, Field) else key
        weight = sp.Rational(1, 2) if k == l else sp.Integer(1)
        lagrangian += weight * sp.sympify(q) * k.response(tau) * l.response(tau)
    return Action(
        lagrangian,
        fields,
        tuple(couplings.items()),
        parameters or ParameterSet(),
        tuple(populations),
        time,
    )


def read_langevin(action: Action) -> LangevinSystem:
    """Drift and noise of an action; raises a named error for any non-MSRDJ term."""
    _check_symbols(action)
    tau = action.time.symbol
    responses = [f.response(tau) for f in action.fields]
    placeholders = [sp.Dummy(f"r_{f.name}") for f in action.fields]
    _check_response_times(action, tau)
    lagrangian = action.lagrangian.xreplace(dict(zip(responses, placeholders, strict=True)))
    try:
        poly = sp.Poly(sp.expand(lagrangian, deep=False, power_base=False), *placeholders)
    except sp.PolynomialError:
        term = _first_nonpolynomial(lagrangian, placeholders, dict(zip(placeholders, responses, strict=True)))
        raise NotMSRDJError(
            f"term {term} is not polynomial in the response fields; only fields declared "
            "as point processes may enter so"
        ) from None
    linear = [sp.Integer(0)] * len(placeholders)
    quadratic = sp.zeros(len(placeholders))
    back = dict(zip(placeholders, responses, strict=True))
    for powers, coefficient in poly.terms():
        degree = sum(powers)
        term = (coefficient * sp.Mul(*(p**e for p, e in zip(placeholders, powers, strict=True)))).xreplace(back)
        if degree == 0:
            raise NotMSRDJError(f"term {term} contains no response field")
        if degree > 2:
            if not action.point_process:
                raise NotMSRDJError(
                    f"term {term} is of order {degree} in the response fields; declare a "
                    "point-process field for such terms"
                )
            continue
        if degree == 1:
            linear[powers.index(1)] += coefficient
        else:
            k = [i for i, e in enumerate(powers) for _ in range(e)]
            # ½ Q_kk x̃_k² and Q_kl x̃_k x̃_l (k ≠ l): symmetric Q
            value = 2 * coefficient if k[0] == k[1] else coefficient
            quadratic[k[0], k[1]] += value if k[0] == k[1] else value / 2
            if k[0] != k[1]:
                quadratic[k[1], k[0]] += value / 2
    drifts, scales = [], []
    for f, coefficient in zip(action.fields, linear, strict=True):
        drift, scale = _split_change(action, f, sp.expand(coefficient), tau)
        drifts.append(drift)
        scales.append(scale)
    for q in quadratic:
        _check_noise_term(action, q, tau)
    noise = sp.ImmutableMatrix(
        len(scales), len(scales), lambda k, l: sp.simplify(quadratic[k, l] / (scales[k] * scales[l]))
    )
    return LangevinSystem(action, tuple(drifts), noise)


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
    marks = [sp.Dummy(f"c{k}") for k in range(len(sums))]
    back = dict(zip(marks, sums, strict=True))
    marked = expr.xreplace(dict(zip(sums, marks, strict=True)))
    for node in sp.preorder_traversal(marked):
        if isinstance(node, sp.Function) and any(node.has(m) for m in marks):
            raise NonlinearCouplingError(
                f"a coupling enters non-linearly, inside {node.xreplace(back)}"
            )
    if sums and sp.Poly(marked, *marks).total_degree() > 1:
        raise NonlinearCouplingError(
            f"couplings enter non-linearly (as a product) in {expr}; each may appear only "
            "as J @ f(x)"
        )


def _check_noise_term(action: Action, q: sp.Expr, tau) -> None:
    if q.has(CouplingSum):
        raise NonlinearCouplingError(f"coupling inside the noise term {q}; couplings may only "
                                     "enter the drift")
    if q.atoms(sp.Derivative):
        raise NotMSRDJError(f"time derivative inside the noise term {q}")
    _check_causal(action, q, tau, allow_update=False)


def _first_nonpolynomial(expr: sp.Expr, placeholders, back) -> sp.Expr:
    for node in sp.preorder_traversal(expr):
        if isinstance(node, (sp.Function, sp.Pow)) and not isinstance(node, CouplingSum):
            if isinstance(node, sp.Pow) and node.exp.is_Integer and node.exp >= 0:
                continue
            if any(node.has(p) for p in placeholders):
                return node.xreplace(back)
    return expr.xreplace(back)


def _check_symbols(action: Action) -> None:
    """Every symbol and function in the action must be declared."""
    declared = set(action.parameters.symbols) | {action.time.symbol}
    couplings = {c for c, _ in action.couplings}
    free = action.lagrangian.free_symbols
    for _, ensemble in action.couplings:
        free |= ensemble.free_symbols
    for p in action.populations:
        free |= p.fraction.free_symbols
    free -= {MODE_INDEX, MODE_COUNT}
    for c in sorted((s for s in free - couplings if isinstance(s, Coupling)), key=str):
        raise UndeclaredSymbolError(f"coupling {c} has no ensemble")
    unknown = sorted(str(s) for s in free - declared - couplings)
    if unknown:
        raise UndeclaredSymbolError(
            f"undeclared symbol(s) {', '.join(unknown)}; declare them as parameters"
        )
    used = {c.coupling for c in action.lagrangian.atoms(CouplingSum)}
    bare = (action.lagrangian.free_symbols & couplings) - used
    for c in sorted(map(str, bare)):
        raise NonlinearCouplingError(f"coupling {c} appears outside a coupling sum {c} @ f(x)")
    for c in sorted(map(str, used - couplings)):
        raise UndeclaredSymbolError(f"coupling {c} has no ensemble")
    for c in sorted(map(str, couplings - used)):
        raise DeclarationError(f"coupling {c} is declared but does not enter the action")
    functions = {f.func for f in action.lagrangian.atoms(sp.core.function.AppliedUndef)}
    known = {fn for f in action.fields for fn in (f.value_function, f.response_function)}
    for fn in sorted(functions - known, key=str):
        raise UndeclaredSymbolError(f"undeclared function or field {fn}")
    names = {p.name for p in action.populations}
    for value in action.lagrangian.atoms(ByPopulation):
        if set(value.populations) != names:
            raise DeclarationError(
                f"{value.name} is given for populations {list(value.populations)}, the "
                f"action has {sorted(names)}"
            )
