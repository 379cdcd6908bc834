r"""Cumulants beyond the second in collective-field form: the fluctuations' extra terms.

An ensemble whose couplings are not Gaussian (extensive-rank random modes,
J = Σ_a d_a l_a r_aᵀ; Clark, Marschall, van Meegen & Litwin-Kumar, arXiv:2409.01969)
has cumulants of every order. Those of degree k ≥ 2 in the response-field order
parameters vanish at the saddle point but not in its Hessian, so the fluctuation stage
asks every ensemble for its cumulants to order 4 and writes the new ones in terms of the
order parameters already found.

A trace cumulant (c/N^{2k−1}) tr[(X Xᵀ)^k], X_ij = ∫dτ A_i(τ) B_j(τ) (the coupling term
A_i Σ_j J_ij B_j), becomes, with Q_A(t, s) = (1/N)Σ_i A_i(t)A_i(s) and Q_B likewise,

.. math::  \frac{c}{N^{2k-1}} \operatorname{tr}[(X X^\top)^k]
           = N c \int \prod_{m=1}^{k} Q_B(u_m, v_m)\, Q_A(v_m, u_{m+1}),
           \quad u_{k+1} = u_1,

since (X Xᵀ)_{ik} = N ∫∫ A_i(t) A_k(s) Q_B(t, s): a cycle of 2k order parameters. For
k = 2 its second derivative in Q_A at Q_A = 0 is 2c Q_B Q_B, the term that carries r₄
and the dimension of activity in the random-mode network.
"""

from __future__ import annotations

import sympy as sp

from fieldtheory.errors import ActionStructureError
from fieldtheory.ir.ensembles.cumulants import TraceCumulant
from fieldtheory.transforms.collective_fields import site_observable
from fieldtheory.transforms.disorder_average import check_averageable, split_couplings
from fieldtheory.transforms.nodes import TimeIntegral, time_variables
from fieldtheory.transforms.stages import CollectiveFieldAction, OrderParameter

__all__ = ["higher_cumulant_terms"]

#: The order to which the fluctuation stage asks the ensembles for cumulants.
FLUCTUATION_ORDER = 4


def _order_parameter(collective: CollectiveFieldAction, factor: sp.Expr, tau: sp.Symbol,
                     population: str, what: str) -> OrderParameter:
    """The two-time order parameter (1/N)Σ_i F_i(t)F_i(s) of a one-time factor F(τ)."""
    action = collective.action
    discrete = action.time.is_discrete
    taken = frozenset(action.parameters.symbols)
    t, s = time_variables(2, discrete, taken | factor.free_symbols)
    observable, _ = site_observable(factor.xreplace({tau: t}) * factor.xreplace({tau: s}),
                                    (t, s), population, discrete, taken)
    for q in collective.order_parameters:
        if observable is not None and (q.population, q.content) == (population,
                                                                      observable.content):
            return q
    raise ActionStructureError(
        f"the {what} of a higher cumulant, (1/N)Σ_i {factor}·{factor} at two times, is not "
        f"an order parameter of the second-order action; it cannot be written in "
        f"collective fields")


def _trace_term(cumulant: TraceCumulant, collective: CollectiveFieldAction) -> sp.Expr:
    action = collective.action
    if len(collective.fractions) > 1:
        raise ActionStructureError(
            f"the trace cumulant of {cumulant.coupling} in a network of several "
            f"populations has no collective-field form here yet")
    _, coupling_terms = split_couplings(action)
    terms = [c for c in coupling_terms if c.coupling == cumulant.coupling]
    if len(terms) != 1:
        raise ActionStructureError(
            f"coupling {cumulant.coupling} enters {len(terms)} coupling sums; its trace "
            f"cumulant is written for one sum A_i Σ_j J_ij B_j")
    (term,) = terms
    tau = action.time.symbol
    population = collective.fractions[0][0]
    q_a = _order_parameter(collective, term.target, tau, population, "response side")
    q_b = _order_parameter(collective, term.source, tau, population, "presynaptic side")
    k = cumulant.power
    times = time_variables(2 * k, action.time.is_discrete,
                           frozenset(action.parameters.symbols))
    u, v = times[0::2], times[1::2]
    integrand = sp.Mul(*(q_b.value(u[m], v[m]) * q_a.value(v[m], u[(m + 1) % k])
                         for m in range(k)))
    return cumulant.coefficient * TimeIntegral(integrand, *times)


def higher_cumulant_terms(collective: CollectiveFieldAction) -> tuple[sp.Expr, ...]:
    """S-density terms of the cumulants of order 3 … FLUCTUATION_ORDER of every ensemble
    (zero for Gaussian ensembles), in the order parameters of ``collective``."""
    action = collective.action
    out = []
    for couplings, ensemble in check_averageable(action):
        for cumulant in ensemble.cumulants(couplings, action.populations,
                                           order=FLUCTUATION_ORDER):
            if getattr(cumulant, "order", 2) <= 2:
                continue
            if not isinstance(cumulant, TraceCumulant):
                raise ActionStructureError(
                    f"the cumulant {cumulant} of order {cumulant.order} of "
                    f"{type(ensemble).__name__} has no collective-field form yet")
            out.append(_trace_term(cumulant, collective))
    return tuple(out)
