r"""Lower a MeanFieldTheory to a stationary Gaussian single-site problem.

The saddle point gives, for one population and one field in continuous time,

.. math::  \partial_t x = -a\,x + \mu(m) + \eta(t) + \kappa\,[\text{kernel}],\qquad
           \langle\eta(t)\eta(s)\rangle = D\,\delta(t-s) + \sum_k c_k\, C_k(t, s),

with m_l(t) = ⟨f_l(x(t))⟩ and C_k(t, s) = ⟨f_k(x(t)) h_k(x(s))⟩ (SCS, PRL 61, 259 (1988);
SCIENCE.md §1). This module reads a, μ, D, the c_k with their functions f_k, h_k, the
means and the kernel coefficients κ off the derived process — nothing is typed in per
model — and refuses, naming the term, what a stationary Gaussian solver cannot take:
several populations or fields, discrete time, a drift nonlinear in x, other input terms.
Kernel coefficients are kept symbolic: they must vanish at the parameter values a solver
is called with (partial symmetry needs the two-time solver).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from fieldtheory.errors import ActionStructureError
from fieldtheory.ir.symbols import FieldValue
from fieldtheory.transforms.nodes import OrderParameterValue, TimeIntegral
from fieldtheory.transforms.stages import MeanFieldTheory, OrderParameter

__all__ = ["GaussianSiteProblem", "CorrelationTerm", "MeanTerm", "lower_stationary", "U", "V"]

#: The arguments of the one-variable functions f(u), h(v) of a lowered problem.
U = sp.Symbol("u", real=True)
V = sp.Symbol("v", real=True)


@dataclass(frozen=True)
class MeanTerm:
    """m = ⟨f(u)⟩, represented in μ by ``symbol``."""

    symbol: sp.Symbol
    function: sp.Expr  # of U


@dataclass(frozen=True)
class CorrelationTerm:
    """coefficient × ⟨f(u) h(v)⟩ in the input covariance (u at t, v at s)."""

    coefficient: sp.Expr
    left: sp.Expr  # f(U)
    right: sp.Expr  # h(V)
    name: str


@dataclass(frozen=True)
class GaussianSiteProblem:
    """The stationary problem ∂_t x = −a x + μ(m) + η, ⟨ηη⟩ = Dδ + Σ c_k C_k."""

    leak: sp.Expr
    mean_input: sp.Expr
    white_noise: sp.Expr
    correlations: tuple[CorrelationTerm, ...]
    means: tuple[MeanTerm, ...]
    kernel_coefficients: tuple[sp.Expr, ...]

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Every model parameter the problem depends on, sorted by name."""
        free: set[sp.Symbol] = set()
        exprs = [self.leak, self.mean_input, self.white_noise, *self.kernel_coefficients]
        exprs += [c.coefficient for c in self.correlations]
        for e in exprs:
            free |= e.free_symbols
        free -= {m.symbol for m in self.means}
        return tuple(sorted(free, key=str))


def lower_stationary(theory: MeanFieldTheory) -> GaussianSiteProblem:
    """Read the stationary Gaussian problem off a derived mean-field theory."""
    if theory.time.is_discrete:
        raise ActionStructureError("the stationary solver is for continuous time; maps come "
                                   "with the discrete-time solver")
    process = theory.single_site
    if len(process.fields) != 1:
        raise ActionStructureError(
            f"the stationary solver takes one field, the model has {len(process.fields)}")
    x, t, s = process.fields[0], theory.time.symbol, process.second_time
    by_function = {q.function: q for q in theory.order_parameters}
    leak, mean_input, means = _drift(process.drift[0], x(t), by_function)
    white, correlations = _covariance(process.input_covariance[0, 0], x, t, s, by_function)
    kernels = tuple(_kernel_coefficient(k) for k in process.kernels if k != 0)
    return GaussianSiteProblem(leak, mean_input, white, correlations, means, kernels)


def _drift(drift: sp.Expr, value: FieldValue, by_function) -> tuple:
    leak = -sp.expand(drift).coeff(value)
    rest = sp.expand(drift + leak * value)
    if leak.has(FieldValue) or rest.has(FieldValue):
        raise ActionStructureError(
            f"the drift {drift} is not linear in {value}: the site is not Gaussian "
            "(Monte-Carlo single-site DMFT handles it)"
        )
    if leak.is_number and leak <= 0:
        raise ActionStructureError(f"the leak rate {leak} must be positive for a stationary state")
    means = []
    for op in sorted(rest.atoms(OrderParameterValue), key=str):
        q: OrderParameter = by_function[op.func]
        symbol = sp.Symbol(q.name, real=True)
        means.append(MeanTerm(symbol, _one_time(q.content, q.times[0], U)))
        rest = rest.xreplace({op: symbol})
    return leak, rest, tuple(means)


def _covariance(entry: sp.Expr, x, t, s, by_function) -> tuple:
    white = sp.Integer(0)
    correlations = []
    for term in sp.Add.make_args(sp.expand(entry)):
        deltas = [a for a in term.atoms(sp.DiracDelta)]
        ops = [a for a in term.atoms(OrderParameterValue)]
        if deltas and not ops and deltas[0].args[0] in (t - s, s - t):
            white += term.xreplace({deltas[0]: 1})
        elif len(ops) == 1 and not deltas and not (term / ops[0]).has(ops[0]):
            op = ops[0]
            q = by_function[op.func]
            coefficient = sp.expand(term / op)
            content = q.content.xreplace(dict(zip(q.times, op.args, strict=True)))
            left, right = _split_times(content, x, t, s)
            correlations.append(CorrelationTerm(coefficient, left, right, q.name))
        else:
            raise ActionStructureError(f"input covariance term {term} is neither white noise "
                                       "nor a coefficient times an order parameter")
    return white, tuple(correlations)


def _split_times(content: sp.Expr, x, t, s) -> tuple[sp.Expr, sp.Expr]:
    left, right = sp.Integer(1), sp.Integer(1)
    for factor in sp.Mul.make_args(content):
        times = {v.args[0] for v in factor.atoms(FieldValue)}
        if times == {t}:
            left *= factor.xreplace({x(t): U})
        elif times == {s}:
            right *= factor.xreplace({x(s): V})
        else:
            raise ActionStructureError(f"factor {factor} of {content} mixes two times")
    return left, right


def _one_time(content: sp.Expr, time, variable) -> sp.Expr:
    values = content.atoms(FieldValue)
    if any(v.args[0] != time for v in values) or len({v.func for v in values}) != 1:
        raise ActionStructureError(f"mean order parameter {content} is not a function of "
                                   "one field at one time")
    return content.xreplace({v: variable for v in values})


def _kernel_coefficient(kernel: sp.Expr) -> sp.Expr:
    coefficient, rest = sp.Integer(1), []
    for factor in sp.Mul.make_args(kernel):
        if factor.has(TimeIntegral):
            rest.append(factor)
        else:
            coefficient *= factor
    if len(rest) != 1:
        raise ActionStructureError(f"kernel {kernel} is not a coefficient times one integral")
    return coefficient
