r"""Collective fields: site sums in the averaged action become order parameters.

Every site factor of a pair term (c/N) Σ_{i∈α} Σ_{j∈β} ∫ F_i G_j is a sum over the sites
of one population of one observable; up to a relabelling of its times it *is* an order
parameter, Q(τ₁…τ_k) = (1/N_α) Σ_{j∈α} O_j(τ₁…τ_k). Inserting
1 = ∫DQ DQ̃ exp(−N_α ∫Q̃ Q + ∫Q̃ Σ_{j∈α} O_j) for each (Hubbard–Stratonovich) makes the
action N·S[Q, Q̃] with

.. math::  S[Q, \tilde Q] = -\sum_k f_\alpha \int \tilde Q_k Q_k
           + \sum c\, f_\alpha f_\beta \int Q_F^\alpha Q_G^\beta
           + \sum_\alpha f_\alpha \ln Z_\alpha[\tilde Q],

Z_α[Q̃] = ∫Dx Dx̃ exp(∫L_local,α + Σ_k ∫ Q̃_k O_k), f_α = N_α/N. Order parameters are
found, not listed: nothing here knows which model it transforms.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy as sp
from sympy.core.symbol import Str

from fieldtheory.errors import ActionStructureError
from fieldtheory.ir.ensembles.cumulants import DATA
from fieldtheory.ir.layered import DataKernel, InputValue
from fieldtheory.ir.quenched import quenched_symbols
from fieldtheory.ir.symbols import ByPopulation, FieldValue, ResponseValue
from fieldtheory.transforms.nodes import (
    OrderParameterValue,
    SingleSiteLogZ,
    TimeIntegral,
    time_variables,
)
from fieldtheory.transforms.resummation import locate
from fieldtheory.transforms.stages import (
    AveragedAction,
    CollectiveFieldAction,
    OrderParameter,
    PairTerm,
)

__all__ = ["collective_fields", "site_observable"]


@dataclass(frozen=True)
class _Observable:
    """A canonical site observable: its one-time factors at the canonical times."""

    population: str
    slots: tuple[sp.Expr, ...]
    times: tuple[sp.Symbol, ...]

    @property
    def content(self) -> sp.Expr:
        return sp.Mul(*self.slots)


def collective_fields(averaged: AveragedAction) -> CollectiveFieldAction:
    """N·S[Q, Q̃]: the order parameters found in ``averaged`` and their action."""
    action = averaged.action
    taken = frozenset(action.parameters.symbols)
    discrete = action.time.is_discrete
    fractions = tuple((p.name, p.fraction) for p in action.populations)
    fraction = dict(fractions)
    located = []
    observables: list[_Observable] = []
    for term in averaged.pair_terms:
        target = site_observable(term.target_factor, term.times, term.target_population,
                                 discrete, taken)
        if term.source_population == DATA:  # input weights: the data kernel, not a field
            source = (None, ()), _data_kernel(term.source_factor, term.times)
            located.append((term, target, source))
            observables += [o for o, _ in (target,) if o is not None]
            continue
        source = site_observable(term.source_factor, term.times, term.source_population,
                                 discrete, taken)
        located.append((term, target, source))
        observables += [o for o, _ in (target, source) if o is not None]
    order_parameters = _name(observables, len(fractions) > 1)
    found = {(q.population, q.content): q for q in order_parameters}

    def value(located_observable):
        if isinstance(located_observable[1], DataKernel):
            return located_observable[1]
        observable, arguments = located_observable
        if observable is None:
            return sp.S.One
        return found[(observable.population, observable.content)].value(*arguments)

    conjugate_terms = tuple(
        -fraction[q.population] * TimeIntegral(q.conjugate() * q.value(), *q.times)
        for q in order_parameters
    )
    bilinear_terms = _combine(
        _bilinear(term, value(target), value(source), fraction)
        for term, target, source in located
    )
    log_z_terms = tuple(fraction[name] * SingleSiteLogZ(Str(name)) for name, _ in fractions)
    local_lagrangians = tuple(
        (name, _resolve_population(averaged.local_lagrangian, name)) for name, _ in fractions
    )
    sources = tuple(
        (name, sp.Add(*(TimeIntegral(q.conjugate() * q.content, *q.times)
                        for q in order_parameters if q.population == name)))
        for name, _ in fractions
    )
    by_coupling = {term.coupling: term for term in averaged.coupling_terms}
    resummed = tuple(
        locate(determinant, by_coupling[determinant.coupling], order_parameters,
               site_observable, discrete, taken)
        for determinant in averaged.resummed
    )
    return CollectiveFieldAction(averaged, order_parameters, fractions, conjugate_terms,
                                 bilinear_terms, log_z_terms, local_lagrangians, sources,
                                 resummed)


def _combine(terms) -> tuple[sp.Expr, ...]:
    """Terms with the same integral added up, in order of first appearance."""
    totals: dict[sp.Expr, sp.Expr] = {}
    for term in terms:
        coefficient, integral = term.as_independent(TimeIntegral, as_Add=False)
        totals[integral] = totals.get(integral, sp.S.Zero) + coefficient
    return tuple(c * integral for integral, c in totals.items() if c != 0)


def _data_kernel(factor: sp.Expr, times) -> DataKernel:
    """X_j(τ₁) X_j(τ₂) averaged over the d input components: K_X(τ₁, τ₂)."""
    values = [v for v in sp.Mul.make_args(factor) if isinstance(v, InputValue)]
    rest = factor / sp.Mul(*values)
    if (len(values) != 2 or values[0].name != values[1].name or rest.has(*times)
            or rest != 1):
        raise ActionStructureError(
            f"input weights act on {factor}; the data kernel is written for one input "
            f"value per time, X_j(τ₁) X_j(τ₂)")
    return DataKernel(values[0].args[0], values[0].args[1], values[1].args[1])


def _bilinear(term: PairTerm, target, source, fraction) -> sp.Expr:
    weight = fraction[term.target_population] * fraction.get(term.source_population, 1)
    # bound times relabelled to one canonical choice (t before s where the arguments
    # allow), so that terms equal up to a relabelling add up
    rank = {tau: k for k, tau in enumerate(term.times)}

    def key(expr):
        return sorted((f.func.__name__, tuple(rank.get(a, -1) for a in f.args))
                      for f in expr.atoms(OrderParameterValue))

    # a coefficient that depends on the times (δ_{l(t), l(s)} of per-layer couplings)
    # belongs under the integral
    coefficient, timed = sp.factor_terms(term.coefficient).as_independent(*term.times,
                                                                            as_Add=False)
    integrand = min(
        ((timed * target * source).xreplace(dict(zip(term.times, perm, strict=True)))
         for perm in itertools.permutations(term.times)),
        key=key,
    )
    return coefficient * weight * TimeIntegral(integrand, *term.times)


def _resolve_population(expr: sp.Expr, population: str) -> sp.Expr:
    return expr.replace(lambda e: isinstance(e, ByPopulation),
                        lambda e: e.value_for(population) if population in e.populations else e)


def site_observable(factor: sp.Expr, times, population: str, discrete: bool, taken):
    """(canonical observable, the times it is evaluated at) for one site factor.

    The factor is split into one factor per time; the times are put in a canonical order
    (fields before response fields, then by printed form, with the time replaced by a
    placeholder), so that factors equal up to a relabelling of their times give the same
    observable at permuted arguments. A factor without fields gives ``(None, ())``.
    """
    slots = {tau: sp.S.One for tau in times}
    quenched = sp.S.One  # per-unit quenched variables (gains): a property of the site
    for part in sp.Mul.make_args(factor):
        if part.is_number:  # the constant a bias acts on (B @ 1)
            continue
        depends = [tau for tau in times if part.has(tau)]
        if not depends and quenched_symbols(part):
            quenched *= part
            continue
        if len(depends) != 1:
            raise ActionStructureError(
                f"the site factor {factor} does not split into one factor per time "
                f"(its part {part} depends on {len(depends)} times)"
            )
        slots[depends[0]] *= part
    present = [tau for tau in times if slots[tau] != 1]
    if not present:
        if quenched != 1:
            raise ActionStructureError(f"the site factor {factor} holds quenched variables "
                                       "but no field")
        return None, ()
    placeholder = sp.Symbol("_tau", integer=True) if discrete else sp.Symbol("_tau", real=True)

    def key(tau):
        content = slots[tau]
        return (content.has(ResponseValue), sp.sstr(content.xreplace({tau: placeholder})))

    order = sorted(present, key=key)
    canonical = time_variables(len(order), discrete, taken)
    contents = tuple(slots[tau].xreplace({tau: c})
                     for tau, c in zip(order, canonical, strict=True))
    contents = (quenched * contents[0], *contents[1:])
    return _Observable(population, contents, canonical), tuple(order)


def _name(observables: list[_Observable], several_populations: bool):
    """Order parameters named from their content, deterministically.

    Field observables: m (one time), C (two), C3, … ; with a response field inside: R;
    the subscript lists the functions (``C_tanh``), response fields as ``x~``; the
    population is a suffix when there are several (``C_tanh_E``). Clashes get _2, _3, ….
    """
    unique: dict[tuple, _Observable] = {}
    for o in observables:
        unique.setdefault((o.population, o.content), o)
    ordered = sorted(unique.values(), key=_sort_key)
    names: dict[str, int] = {}
    out = []
    for o in ordered:
        base, latex_base, labels, latex_labels = _name_parts(o)
        name = f"{base}_{'_'.join(labels)}"
        latex_sub = ",".join(latex_labels)
        if several_populations:
            name += f"_{o.population}"
            latex_sub += f",{o.population}"
        count = names.get(name, 0) + 1
        names[name] = count
        if count > 1:
            name += f"_{count}"
            latex_sub += f",{count}"
        out.append(OrderParameter(name, f"{latex_base}_{{{latex_sub}}}", o.content, o.times,
                                  o.population))
    return tuple(out)


def _kind(o: _Observable) -> int:
    """0: fields only, 1: fields and response fields, 2: response fields only."""
    has_field = o.content.has(FieldValue)
    has_response = o.content.has(ResponseValue)
    return 2 if not has_field else 1 if has_response else 0


def _sort_key(o: _Observable):
    return (o.population, _kind(o), -len(o.slots), sp.sstr(o.content))


def _name_parts(o: _Observable) -> tuple[str, str, list[str], list[str]]:
    kind, k = _kind(o), len(o.slots)
    if kind == 1:
        base = "R" if k == 2 else f"R{k}"
    else:
        base = "m" if k == 1 else "C" if k == 2 else f"C{k}"
    latex_base = base if len(base) == 1 else f"{base[0]}^{{({k})}}"
    # the subscript names what is averaged: the non-response factors when there are any
    slots = [s for s in o.slots if not s.has(ResponseValue)] or list(o.slots)
    labels, latex_labels = [], []
    for slot in slots:
        label, latex_label = _label(slot)
        if not labels or labels[-1] != label:
            labels.append(label)
            latex_labels.append(latex_label)
    return base, latex_base, labels, latex_labels


def _label(slot: sp.Expr) -> tuple[str, str]:
    """A short name for a one-time factor: tanh, x, x~, erf, …; ``f`` otherwise."""
    _, rest = slot.as_independent(FieldValue, ResponseValue, as_Add=False)
    if isinstance(rest, FieldValue):
        name = rest.func.__name__
        return name, getattr(rest.func, "latex_name", None) or name
    if isinstance(rest, ResponseValue):
        name = rest.func.__name__.rstrip("~")
        return f"{name}~", rf"\tilde{{{getattr(rest.func, 'latex_name', None) or name}}}"
    if isinstance(rest, sp.Pow) and rest.exp.is_Integer:
        label, latex_label = _label(rest.base)
        return f"{label}{rest.exp}", f"{latex_label}^{{{rest.exp}}}"
    if isinstance(rest, sp.Function) and len(rest.args) == 1:
        name = type(rest).__name__
        latex_name = rf"\{name}" if name in {"tanh", "sin", "cos", "exp", "tan"} else (
            rf"\mathrm{{{name}}}")
        return name, latex_name
    return "f", "f"
