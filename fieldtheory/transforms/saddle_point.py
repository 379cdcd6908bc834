r"""Saddle point of the collective-field action: dynamic mean-field theory.

As N → ∞ the integral over Q, Q̃ is dominated by the stationary point of S[Q, Q̃]:

* δS/δQ̃_k = 0: Q_k = ⟨O_k⟩, the average in the single-site process (the derivative of
  ln Z with respect to its source Q̃_k) — the self-consistency equations;
* δS/δQ_k = 0: the conjugate fields as functions of the order parameters.

Order parameters made of response fields only vanish, ⟨x̃(t)…x̃(s)⟩ = 0 (the MSRDJ
functional is normalised, Z[0] = 1). Substituted into Z_α, the conjugates make the
single-site action, which is read back as a Langevin equation: terms linear in x̃ are
drift (a mean input when nothing else is integrated, a self-coupling kernel when fields
at other times are), terms quadratic in x̃ a Gaussian input with covariance
⟨η(t)η(s)⟩ = Σ(t, s); anything else is kept as ``other_terms``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy as sp

from fieldtheory.errors import ActionStructureError
from fieldtheory.ir.langevin import read_langevin
from fieldtheory.ir.symbols import FieldValue, ResponseValue
from fieldtheory.transforms.nodes import (
    ConjugateValue,
    Expectation,
    OrderParameterValue,
    SingleSiteLogZ,
    TimeIntegral,
    expectation,
    time_variables,
)
from fieldtheory.transforms.resummation import resummed_conjugates
from fieldtheory.transforms.stages import (
    CollectiveFieldAction,
    MeanFieldTheory,
    OrderParameter,
    SingleSiteProcess,
)

__all__ = ["canonical_arguments", "functional_derivative", "saddle_point"]


def saddle_point(collective: CollectiveFieldAction) -> MeanFieldTheory:
    """Self-consistency equations and single-site processes at the saddle point."""
    order_parameters = collective.order_parameters
    sources = dict(collective.sources)
    self_consistency, vanishing, conjugates = [], [], {}
    for q in order_parameters:
        # δS/δQ̃_q: the conjugate terms, and ln Z's derivative = ⟨derivative of its exponent⟩
        variation = functional_derivative(sp.Add(*collective.conjugate_terms),
                                          q.conjugate_function, q.times)
        for term in collective.log_z_terms:
            weight, log_z = term.as_independent(SingleSiteLogZ, as_Add=False)
            exponent = sources[log_z.population]
            observable = functional_derivative(exponent, q.conjugate_function, q.times)
            variation += weight * expectation(observable, log_z.population)
        solution = _solve_linear(variation, q.value())
        if q.vanishes:
            vanishing.append(sp.Eq(q.value(), 0, evaluate=False))
        else:
            self_consistency.append(sp.Eq(q.value(), solution, evaluate=False))
        # δS/δQ_q: only the conjugate and the bilinear terms depend on Q
        variation = functional_derivative(
            sp.Add(*collective.conjugate_terms, *collective.bilinear_terms), q.function, q.times
        )
        conjugates[q] = _solve_linear(variation, q.conjugate())
    zero = {q.function for q in order_parameters if q.vanishes}
    conjugates = {q: canonical_arguments(_vanish(solution, zero), order_parameters)
                  for q, solution in conjugates.items()}
    dressings = []
    for resummation in collective.resummed:  # every order of a resummed term
        conjugates = resummed_conjugates(resummation, conjugates)
        dressings += resummation.dressings
    processes = tuple(
        _single_site(collective, name, sources[name], conjugates)
        for name, _ in collective.fractions
    )
    return MeanFieldTheory(
        collective,
        tuple(self_consistency),
        tuple(vanishing),
        tuple(sp.Eq(q.conjugate(), conjugates[q], evaluate=False) for q in order_parameters),
        processes,
        tuple(dressings),
    )


def functional_derivative(expr: sp.Expr, function, point: tuple) -> sp.Expr:
    r"""δ expr / δ function(point) for sums of (coefficients times) time integrals.

    For each occurrence function(a₁…a_k) inside ∫dτ… f, with the a's distinct integration
    variables: ∂f/∂function(a) with a → point, integrated over the remaining variables
    (renamed first where they would capture a symbol of ``point``).
    """
    result = sp.S.Zero
    for term in distribute(expr):
        coefficient, integral = term.as_independent(TimeIntegral, as_Add=False)
        if not isinstance(integral, TimeIntegral):
            result += _plain_derivative(term, function, point)
            continue
        variables = integral.variables
        integrand = integral.integrand
        for occurrence in integrand.atoms(function):
            arguments = occurrence.args
            if len(set(arguments)) != len(arguments) or not set(arguments) <= set(variables):
                raise ActionStructureError(
                    f"{occurrence} is not evaluated at distinct integration times of {integral}"
                )
            remaining = [v for v in variables if v not in arguments]
            derivative = integrand.diff(occurrence)
            fresh = time_variables(len(remaining), bool(remaining and remaining[0].is_integer),
                                   frozenset(point) | frozenset(variables)
                                   | derivative.free_symbols)
            renames = dict(zip(remaining, fresh, strict=True))
            derivative = derivative.xreplace(renames)
            derivative = derivative.xreplace(dict(zip(arguments, point, strict=True)))
            result += coefficient * TimeIntegral(derivative, *(renames[v] for v in remaining))
    return result


def _plain_derivative(term: sp.Expr, function, point) -> sp.Expr:
    occurrences = term.atoms(function)
    for occurrence in occurrences:
        if tuple(occurrence.args) != tuple(point):
            raise ActionStructureError(f"{occurrence} is neither integrated nor at {point}")
    return sum((term.diff(o) for o in occurrences), sp.S.Zero)


def _solve_linear(expr: sp.Expr, unknown: sp.Expr) -> sp.Expr:
    """The solution of expr = 0, which must be linear in ``unknown``."""
    coefficient, rest = sp.S.Zero, []
    for term in distribute(expr):
        if term.has(unknown):
            factor = term / unknown
            if factor.has(unknown):
                raise ActionStructureError(f"the saddle-point equation {expr} = 0 is not linear "
                                           f"in {unknown}")
            coefficient += factor
        else:
            rest.append(term)
    if coefficient == 0:
        raise ActionStructureError(f"the saddle-point equation {expr} = 0 lacks {unknown}")
    # -term/c and term/(-c) are equal, but only one lets sympy cancel a fraction 1 - f
    return sp.Add(*(min(simplest(-term / coefficient), simplest(term / -coefficient),
                        key=sp.count_ops) for term in rest))


#: What a derivation's expressions are made of besides parameters.
_DYNAMIC = (OrderParameterValue, ConjugateValue, FieldValue, ResponseValue, TimeIntegral,
            Expectation)


def distribute(expr: sp.Expr) -> list[sp.Expr]:
    """The terms of ``expr`` with products distributed over sums of dynamic quantities only.

    Sums of parameters, such as a population fraction 1 − f_E, stay whole (sp.expand would
    spread them over every term).
    """
    if expr.is_Add:
        return [t for a in expr.args for t in distribute(a)]
    if expr.is_Mul:
        terms = [sp.S.One]
        for factor in expr.args:
            parts = distribute(factor) if factor.is_Add and factor.has(*_DYNAMIC) else [factor]
            terms = [t * p for t in terms for p in parts]
        return terms
    return [expr]


def simplest(expr: sp.Expr) -> sp.Expr:
    """The shortest of ``expr`` and its factored form (cancels (1 − f)/(f − 1), keeps 1 − f)."""
    candidates = [expr]
    try:
        candidates.append(sp.factor(expr))
    except sp.PolynomialError:  # pragma: no cover - factor refuses some function nodes
        pass
    return min(candidates, key=sp.count_ops)


def _vanish(expr: sp.Expr, functions: set) -> sp.Expr:
    return expr.replace(lambda e: isinstance(e, OrderParameterValue) and e.func in functions,
                        lambda e: sp.S.Zero)


def canonical_arguments(expr: sp.Expr, order_parameters) -> sp.Expr:
    """Order parameters with symmetric content evaluated at sorted arguments: C(s, t) → C(t, s)."""
    by_function = {q.function: q for q in order_parameters}

    def rank(argument):
        name = str(argument)
        head = {"t": 0, "s": 1, "n": 0, "m": 1}.get(name, 2)
        return (head, name)

    def canonical(e):
        q = by_function[e.func]
        options = [tuple(e.args[p] for p in perm) for perm in q.symmetries]
        return e.func(*min(options, key=lambda args: [rank(a) for a in args]))

    return expr.replace(lambda e: isinstance(e, OrderParameterValue) and e.func in by_function,
                        canonical)


@dataclass
class _Reading:
    """The Langevin form of a single-site action, collected term by term."""

    tau: sp.Symbol
    other: sp.Symbol
    scales: list
    index: dict
    drift: list
    kernels: list
    covariance: sp.Matrix
    leftover: list

    def add(self, term: sp.Expr, variables: tuple) -> None:
        """Read one term of ∫d(variables) term: drift, kernel, input covariance or other."""
        responses = sorted(term.atoms(ResponseValue), key=lambda r: (self.index[r.func],
                                                                      sp.sstr(r)))
        powers = term.as_powers_dict()
        order = sum(int(powers.get(r, 0)) for r in responses)
        rest = term / sp.Mul(*responses)
        if len(responses) == 1 and order == 1:
            # x̃_k(τ)·f: drift of x_k at τ (a kernel if fields at other times are integrated)
            (r,) = responses
            k = self.index[r.func]
            rest, remaining = _at_time(rest, variables, r.args[0], self.tau)
            contribution = TimeIntegral(rest, *remaining) / self.scales[k]
            if remaining and rest.has(FieldValue):
                self.kernels[k] += contribution
            else:
                self.drift[k] += contribution
        elif (len(responses) == 2 and order == 2 and not rest.has(FieldValue)
              and responses[0].args[0] != responses[1].args[0]):
            # W(τ₁, τ₂) x̃_k(τ₁) x̃_l(τ₂) = ½ Σ Σ_kl(t, s) x̃_k(t) x̃_l(s), Σ_lk(t, s) = Σ_kl(s, t)
            r1, r2 = responses
            k, m = self.index[r1.func], self.index[r2.func]
            swap = _relabel(variables, (r1.args[0], r2.args[0]), (self.tau, self.other))
            remaining = [swap.get(v, v) for v in variables if v not in (r1.args[0], r2.args[0])]
            w = TimeIntegral(rest.xreplace(swap), *remaining) / (self.scales[k] * self.scales[m])
            self.covariance[k, m] += w
            self.covariance[m, k] += w.xreplace({self.tau: self.other, self.other: self.tau})
        else:
            self.leftover.append(TimeIntegral(term, *variables))


def _single_site(collective: CollectiveFieldAction, population: str, source: sp.Expr,
                 conjugates: dict[OrderParameter, sp.Expr]) -> SingleSiteProcess:
    """The single-site process of ``population``: local dynamics + the saddle-point terms."""
    action = collective.action
    tau = action.time.symbol
    local_lagrangian = dict(collective.local_lagrangians)[population]
    local = read_langevin(replace(
        action, lagrangian=local_lagrangian, couplings=(),
        quenched=tuple(q for q in action.quenched if local_lagrangian.has(q[0]))))
    fields = action.fields
    other = time_variables(2, action.time.is_discrete, frozenset(action.parameters.symbols))[1]
    white = (sp.KroneckerDelta(tau, other) if action.time.is_discrete
             else sp.DiracDelta(tau - other))
    reading = _Reading(
        tau, other,
        scales=[_scale(local_lagrangian, f, action) for f in fields],
        index={f.response_function: k for k, f in enumerate(fields)},
        drift=list(local.drift),
        kernels=[sp.S.Zero] * len(fields),
        covariance=sp.Matrix(len(fields), len(fields), lambda k, m: local.noise[k, m] * white),
        # point-process terms of the local action ((e^{x̃} − 1)λ(x)) have no Langevin form
        leftover=list(local.point_process_terms),
    )
    effective = source.xreplace({q.conjugate(): s for q, s in conjugates.items()})
    for summand in sp.Add.make_args(effective):
        if summand == 0:
            continue
        coefficient, integral = summand.as_independent(TimeIntegral, as_Add=False)
        for term in distribute(coefficient * integral.integrand):
            reading.add(term, integral.variables)
    ops = collective.order_parameters
    return SingleSiteProcess(
        population, fields, action.time,
        tuple(canonical_arguments(e, ops) for e in reading.drift),
        tuple(canonical_arguments(e, ops) for e in reading.kernels),
        sp.ImmutableMatrix(reading.covariance.applyfunc(lambda e: canonical_arguments(e, ops))),
        other, tuple(reading.leftover))


def _relabel(variables, old: tuple, new: tuple) -> dict:
    """A permutation of ``variables`` ∪ ``new`` that sends ``old`` to ``new``."""
    mapping = dict(zip(old, new, strict=True))
    displaced = [n for n in new if n not in old]
    freed = [o for o in old if o not in new]
    mapping.update(dict(zip(displaced, freed, strict=True)))
    return mapping


def _at_time(expr: sp.Expr, variables, time, tau) -> tuple[sp.Expr, list]:
    """``expr`` with integration variable ``time`` renamed τ (swapped), and the rest."""
    swap = _relabel(variables, (time,), (tau,))
    remaining = [swap.get(v, v) for v in variables if v != time]
    return expr.xreplace(swap), remaining


def _scale(lagrangian: sp.Expr, field, action) -> sp.Expr:
    """a in x̃(−a ∂_t x + …) (or −a x(n+1)): the response's time scale."""
    tau = action.time.symbol
    change = field(tau + 1) if action.time.is_discrete else sp.Derivative(field(tau), tau)
    return -sp.expand(lagrangian).coeff(field.response(tau)).coeff(change)

