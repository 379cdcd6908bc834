r"""Disorder average: integrate the random couplings out of the action.

The couplings enter linearly (the action checks it when it is built):

.. math::  L = L_\mathrm{local} + \sum_m A_m \, \Sigma_j J^{c_m}_{ij} B_{m,j},
           \qquad S = S_\mathrm{local} + \sum_c \sum_{ij} J^c_{ij} X^c_{ij},
           \quad X^c_{ij} = \sum_{m: c_m = c} \int d\tau\, A_{m,i}(\tau) B_{m,j}(\tau).

Each ensemble averages itself (:meth:`~fieldtheory.ir.ensembles.Ensemble.cumulants`,
to the degree 2 in X the saddle point needs): its couplings become cumulant terms
(c/N) Σ_{i∈α} Σ_{j∈β} Π_k X^{c_k}_{ij}; expanding the
products, with a fresh time for every factor, gives pair terms
(c/N) Σ_{i∈α} Σ_{j∈β} ∫ F_i G_j whose site-i and site-j factors are separated — the form
the collective fields need (Sompolinsky, Crisanti & Sommers, PRL 61, 259, 1988;
Helias & Dahmen, *Statistical Field Theory for Neural Networks*, ch. 10).
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import sympy as sp

from fieldtheory.errors import ActionStructureError, EnsembleError, NonlinearCouplingError
from fieldtheory.ir.action import Action
from fieldtheory.ir.ensembles import Ensemble, ModeDeterminant
from fieldtheory.ir.layered import Layer
from fieldtheory.ir.quenched import quenched_symbols
from fieldtheory.ir.symbols import ByPopulation, Coupling, CouplingSum, ResponseValue
from fieldtheory.transforms.nodes import time_variables
from fieldtheory.transforms.stages import AveragedAction, CouplingTerm, Cumulant, PairTerm

__all__ = ["check_averageable", "disorder_average", "split_couplings"]


def disorder_average(action: Action) -> AveragedAction:
    """The action averaged over every coupling ensemble (a pure function of the action)."""
    # every ensemble averages itself, to the second order the saddle point needs; asking
    # them all first fails, naming the coupling, before any algebra on the action runs
    cumulants: list[Cumulant] = []
    for couplings, ensemble in check_averageable(action):
        cumulants += ensemble.cumulants(couplings, action.populations, order=2)
    local, coupling_terms = split_couplings(action)
    by_coupling: dict[Coupling, list[CouplingTerm]] = defaultdict(list)
    for term in coupling_terms:
        by_coupling[term.coupling].append(term)
    pair_terms: list[PairTerm] = []
    resummed = []
    for cumulant in cumulants:
        if isinstance(cumulant, ModeDeterminant):
            # kept whole for the saddle point; its second order, expanded like any
            # cumulant, makes the pair terms in which the collective fields find its
            # order parameters
            resummed.append(_checked_determinant(cumulant, by_coupling))
            for term in cumulant.leading():
                pair_terms += expand_cumulant(term, by_coupling, action)
            continue
        pair_terms += expand_cumulant(cumulant, by_coupling, action)
    return AveragedAction(action, local, coupling_terms, tuple(cumulants),
                          _merge(pair_terms), tuple(resummed))


def _checked_determinant(determinant: ModeDeterminant, by_coupling) -> ModeDeterminant:
    """The determinant, if its coupling enters once, as x̃_i Σ_j J_ij B_j (its cycles are
    then response functions of B); a named error otherwise."""
    terms = by_coupling.get(determinant.coupling, [])
    if len(terms) != 1 or not isinstance(terms[0].target, ResponseValue):
        raise ActionStructureError(
            f"coupling {determinant.coupling} (correlated random modes) must enter the "
            "action once, as x̃_i(t) Σ_j J_ij B(x_j(t)) (a drift term of one field); it enters "
            f"as {', '.join(str(t) for t in terms) or 'nothing'}")
    return determinant


def check_averageable(action: Action) -> tuple[tuple[tuple[Coupling, ...], Ensemble], ...]:
    """The couplings grouped by the ensemble that averages them; named errors otherwise.

    An ensemble averages together the couplings it draws together
    (:meth:`~fieldtheory.ir.ensembles.Ensemble.drawn_with`: its own coupling, or all the
    matrices of a joint ensemble, which must then be attached to each of them).
    """
    groups: list[tuple[tuple[Coupling, ...], Ensemble]] = []
    seen_joint: set[Ensemble] = set()
    attached = dict(action.couplings)
    for coupling, ensemble in action.couplings:
        joint = ensemble.drawn_with(coupling)
        if joint == (coupling,):
            groups.append((joint, ensemble))
            continue
        for other in joint:
            if attached.get(other) != ensemble:
                raise EnsembleError(
                    f"coupling {other} belongs to the joint ensemble of {coupling} but the "
                    "action does not attach that ensemble to it"
                )
        if ensemble not in seen_joint:
            seen_joint.add(ensemble)
            groups.append((joint, ensemble))
    return tuple(groups)


def split_couplings(action: Action) -> tuple[sp.Expr, tuple[CouplingTerm, ...]]:
    """L = L_local + Σ_m A_m Σ_j J_ij B_m,j: the local part and the terms (c, A, B).

    Coupling sums are replaced by placeholders before differentiating (a derivative
    through Σ_j J_ij f(x_j) would mix sites i and j). Terms with the same coupling and the
    same A are merged: A Σ_j J_ij (B₁ + B₂).
    """
    sums = sorted(action.lagrangian.atoms(CouplingSum), key=sp.default_sort_key)
    marks = [sp.Dummy(f"J{k}") for k in range(len(sums))]
    marked = action.lagrangian.xreplace(dict(zip(sums, marks, strict=True)))
    local = marked.xreplace({m: sp.S.Zero for m in marks})
    merged: dict[tuple[Coupling, sp.Expr], sp.Expr] = {}
    for coupling_sum, mark in zip(sums, marks, strict=True):
        target = sp.factor_terms(sp.expand(marked.diff(mark)))
        if target.has(*marks):
            raise NonlinearCouplingError(f"coupling sum {coupling_sum} enters non-linearly")
        key = (coupling_sum.coupling, target)
        merged[key] = merged.get(key, sp.S.Zero) + coupling_sum.presynaptic
    terms = tuple(CouplingTerm(c, a, b) for (c, a), b in merged.items())
    return local, terms


def expand_cumulant(cumulant: Cumulant, by_coupling, action: Action) -> list[PairTerm]:
    r"""(c/N) Σ_ij Π_k X^{c_k} → pair terms, each X factor at its own fresh time τ_k.

    X_ij(τ) = A_i(τ) B_j(τ) puts A into the site-i factor and B into the site-j factor;
    X_ji(τ) = A_j(τ) B_i(τ) the other way round.
    """
    tau = action.time.symbol
    times = time_variables(len(cumulant.couplings), action.time.is_discrete,
                           frozenset(action.parameters.symbols))
    choices = [by_coupling.get(c, []) for c in cumulant.couplings]
    out = []
    for chosen in itertools.product(*choices):
        target, source = sp.S.One, sp.S.One
        for term, flip, time in zip(chosen, cumulant.transposed, times, strict=True):
            a, b = term.target.xreplace({tau: time}), term.source.xreplace({tau: time})
            target, source = (target * b, source * a) if flip else (target * a, source * b)
        target = _at_population(target, cumulant.target_population)
        source = _at_population(source, cumulant.source_population)
        # site-independent factors (parameters, the step of a map) join the coefficient;
        # quenched per-unit variables (gains G_j) belong to their site, not the coefficient
        site = (*times, *sorted(quenched_symbols(target * source), key=str))
        c_target, target = sp.factor_terms(target).as_independent(*site, as_Add=False)
        c_source, source = sp.factor_terms(source).as_independent(*site, as_Add=False)
        coefficient = cumulant.coefficient * c_target * c_source
        if cumulant.same_layer:  # drawn anew for every layer: equal layers only
            coefficient *= sp.Mul(*(sp.KroneckerDelta(Layer(times[0]), Layer(time))
                                    for time in times[1:]))
        out.append(PairTerm(coefficient, times, target, source, cumulant.target_population,
                            cumulant.source_population))
    return out


def _at_population(expr: sp.Expr, population: str) -> sp.Expr:
    """Per-population values (``I_α``) at a site of the given population."""
    return expr.replace(lambda e: isinstance(e, ByPopulation),
                        lambda e: e.value_for(population) if population in e.populations else e)


def _merge(terms: list[PairTerm]) -> tuple[PairTerm, ...]:
    """Pair terms equal but for their coefficients are summed; zero sums dropped."""
    totals: dict[tuple, sp.Expr] = {}
    for term in terms:
        key = (term.times, term.target_factor, term.source_factor, term.target_population,
               term.source_population)
        totals[key] = totals.get(key, sp.S.Zero) + term.coefficient
    out = []
    for (times, f, g, alpha, beta), coefficient in totals.items():
        coefficient = sp.factor_terms(coefficient)
        if coefficient != 0:
            out.append(PairTerm(coefficient, times, f, g, alpha, beta))
    return tuple(out)
