r"""Quenched per-unit variables: G_i drawn once per network, constant in time.

A model writes a quenched variable as a symbol, ``G = ft.Quenched("G")``, and attaches a
distribution to it in the declaration (``ft.langevin(..., quenched={G: ft.LogNormalGain(
pr=gain_pr)})``), as couplings get ensembles. Its first use is the single-neuron gain of
Clark, Marschall, van Meegen & Litwin-Kumar (arXiv:2409.01969, Sec. "gain heterogeneity"):
Φ_i = G_i φ(x_i), ẋ = −x + J Φ, with moments q_n = ⟨Gⁿ⟩ and PR_G = q₂²/q₄.

In the derivation a quenched variable is a property of the site: order parameters hold it
as a factor, Q = (1/N) Σ_j G_j² φ(x_j(t)) φ(x_j(s)); the single-site average runs over G as
well as over the paths. Where G enters only the output of a unit (never its own drift),
the path statistics of a site do not depend on G and averages factor,
⟨Gᵏ A⟩ = q_k ⟨A⟩ — the moments are all the solvers need (:func:`split_quenched`).

Distribution protocol (a frozen dataclass per family):

==========================  ==========================================================
``moment(k)``               q_k = ⟨Gᵏ⟩, a sympy expression of the model's parameters
``validate(values)``        parameter values → :class:`ParameterError` naming the value
``sample(rng, size, v)``    ``size`` independent draws (numpy array)
``expressions()``           the sympy expressions it depends on (symbol checks)
``nodes(order)``            a quadrature of the distribution: ((G_k, w_k), …), sympy
                            expressions of the parameters with Σ w_k = 1 (a site whose
                            own dynamics depend on G is a mixture of sites, solved as one
                            sub-population per node: :mod:`fieldtheory.codegen.site`)
``text()``, ``latex()``     one line describing the distribution
==========================  ==========================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp

from fieldtheory.errors import ActionStructureError, DeclarationError, ParameterError
from fieldtheory.ir.parameters import evaluate

__all__ = ["GainArray", "LogNormalGain", "Quenched", "QuenchedDistribution", "joint_moment",
           "load_gains", "with_gains",
           "quenched_symbols", "split_quenched"]


class Quenched(sp.Symbol):
    """A per-unit quenched random variable (its distribution is declared in the action)."""

    is_commutative = True

    def __new__(cls, name: str, **assumptions):
        assumptions.setdefault("real", True)
        return super().__new__(cls, name, **assumptions)


def quenched_symbols(expr: sp.Basic) -> set[Quenched]:
    """The quenched variables in ``expr``."""
    return {s for s in sp.sympify(expr).free_symbols if isinstance(s, Quenched)}


def split_quenched(expr: sp.Expr) -> tuple[tuple[tuple[Quenched, int], ...], sp.Expr]:
    """expr = Π_k G_kⁿᵏ · rest: the quenched powers (sorted by name) and the rest.

    Refuses a quenched variable that does not enter as a multiplicative power (a site
    average of G inside a function would need its whole distribution, not its moments).
    """
    powers: dict[Quenched, int] = {}
    rest = sp.S.One
    for factor in sp.Mul.make_args(sp.sympify(expr)):
        base, exponent = factor.as_base_exp()
        if isinstance(base, Quenched) and exponent.is_Integer and exponent > 0:
            powers[base] = powers.get(base, 0) + int(exponent)
        elif quenched_symbols(factor):
            raise DeclarationError(
                f"the quenched variable(s) {sorted(map(str, quenched_symbols(factor)))} "
                f"enter {factor} other than as a positive integer power multiplying the "
                "rest; only products Gᵏ·f(x) are averaged by their moments"
            )
        else:
            rest *= factor
    return tuple(sorted(powers.items(), key=lambda p: p[0].name)), rest


class QuenchedDistribution:
    """Base class of the distributions of quenched per-unit variables."""

    def moment(self, k: int) -> sp.Expr:  # pragma: no cover - protocol
        raise NotImplementedError

    def expressions(self) -> tuple[sp.Expr, ...]:
        return ()

    @property
    def free_symbols(self) -> set[sp.Symbol]:
        out: set[sp.Symbol] = set()
        for e in self.expressions():
            out |= sp.sympify(e).free_symbols
        return out

    def validate(self, values: Mapping[str, float]) -> None:
        """Raise :class:`ParameterError` for values that make the distribution meaningless."""

    def sample(self, rng: np.random.Generator, size: int,
               values: Mapping[str, float]) -> np.ndarray:  # pragma: no cover - protocol
        raise NotImplementedError

    def nodes(self, order: int) -> tuple[tuple[sp.Expr, sp.Expr], ...]:
        """A quadrature ((G_k, w_k), …) of the distribution (Σ w_k = 1)."""
        raise ActionStructureError(f"the quenched distribution {type(self).__name__} has "
                                   "no quadrature; a unit whose own dynamics depend on it "
                                   "cannot be solved as a mixture of sites")


#: The most nodes of one quenched variable in a mixture of sites (a declared Gauss–Hermite
#: order, or the distinct levels of given values).
MAX_NODES = 64


@dataclass(frozen=True)
class LogNormalGain(QuenchedDistribution):
    r"""G = exp(σ z − σ²/2), z ~ N(0, 1) (mean 1), parametrised by its participation ratio
    PR_G = q₂²/q₄ = exp(−4σ²) ∈ (0, 1]; q_n = exp(n(n−1)σ²/2) = PR_G^{−n(n−1)/8}.
    PR_G = 1 is the homogeneous network (G ≡ 1). ``nodes_order``: the Gauss–Hermite order
    where G enters a unit's own dynamics (a mixture of sites, one sub-population per node;
    at most :data:`MAX_NODES`); None takes the lowering's default
    (:data:`fieldtheory.codegen.site.MIXTURE_NODES`)."""

    pr: sp.Expr
    nodes_order: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "pr", sp.sympify(self.pr))
        if self.pr.is_number and not 0 < float(self.pr) <= 1:
            raise DeclarationError(f"LogNormalGain: the gain participation ratio {self.pr} "
                                   "must lie in (0, 1]")
        order = self.nodes_order
        if order is not None and (isinstance(order, bool) or not isinstance(order, int)
                                  or not 1 <= order <= MAX_NODES):
            raise DeclarationError(f"LogNormalGain: nodes_order = {order!r} must be an "
                                   f"integer from 1 to {MAX_NODES}")

    def moment(self, k: int) -> sp.Expr:
        return self.pr ** sp.Rational(-k * (k - 1), 8)

    def expressions(self) -> tuple[sp.Expr, ...]:
        return (self.pr,)

    def _pr(self, values: Mapping[str, float]) -> float:
        pr = evaluate(self.pr, values)
        if not (math.isfinite(pr) and 0 < pr <= 1):
            raise ParameterError(f"LogNormalGain: the gain participation ratio PR_G = {self.pr} "
                                 f"= {pr:g} must lie in (0, 1]")
        return pr

    def validate(self, values: Mapping[str, float]) -> None:
        self._pr(values)

    def sample(self, rng: np.random.Generator, size: int,
               values: Mapping[str, float]) -> np.ndarray:
        sigma2 = -math.log(self._pr(values)) / 4
        return np.exp(math.sqrt(sigma2) * rng.standard_normal(size) - sigma2 / 2)

    def nodes(self, order: int) -> tuple[tuple[sp.Expr, sp.Expr], ...]:
        r"""Gauss–Hermite in log G: G_k = exp(√2 σ z_k − σ²/2), w_k = ω_k/√π with the
        ``order``-point rule (``nodes_order`` where declared) (z_k, ω_k) of weight e^{−z²}
        and σ² = −ln(PR_G)/4; exact for ⟨f(G)⟩ with f(e^y) a polynomial of degree
        < 2·order in y."""
        z, w = np.polynomial.hermite.hermgauss(self.nodes_order or order)
        sigma = sp.sqrt(-sp.log(self.pr) / 4)
        return tuple((sp.exp(sp.sqrt(2) * sigma * sp.Float(zk) - sigma**2 / 2),
                      sp.Float(wk / math.sqrt(math.pi))) for zk, wk in zip(z, w, strict=True))

    def text(self) -> str:
        return f"log-normal, mean 1, PR_G = q2²/q4 = {self.pr}"

    def latex(self) -> str:
        return (r"\log G \sim \mathcal{N}(-\sigma^2/2, \sigma^2),\ "
                rf"\mathrm{{PR}}_G = e^{{-4\sigma^2}} = {sp.latex(self.pr)}")


@dataclass(frozen=True)
class GainArray(QuenchedDistribution):
    """Given values (one per unit, e.g. read from a file): G_i = values[i]; the moments are
    the empirical ones, q_k = (1/N) Σ_i G_iᵏ. The network must have ``len(values)`` units."""

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        array = np.asarray(self.values, dtype=float).ravel()
        if array.size == 0 or not np.all(np.isfinite(array)):
            raise ParameterError("GainArray: the gains must be a non-empty array of finite "
                                 "numbers")
        object.__setattr__(self, "values", tuple(float(v) for v in array))

    def moment(self, k: int) -> sp.Expr:
        array = np.asarray(self.values)
        return sp.Float(float(np.mean(array ** k)))

    def sample(self, rng: np.random.Generator, size: int,
               values: Mapping[str, float]) -> np.ndarray:
        if size != len(self.values):
            raise ParameterError(f"GainArray: {len(self.values)} gains were given for a "
                                 f"population of {size} units")
        return np.array(self.values)

    def nodes(self, order: int) -> tuple[tuple[sp.Expr, sp.Expr], ...]:
        """The distinct given values, weighted by their counts (exact: the empirical
        distribution); at most :data:`MAX_NODES` of them."""
        distinct, counts = np.unique(np.asarray(self.values), return_counts=True)
        if distinct.size > MAX_NODES:
            raise ActionStructureError(
                f"GainArray: {distinct.size} distinct given values enter a unit's own "
                f"dynamics; a mixture of sites takes at most {MAX_NODES} (one "
                "sub-population each): round them to fewer levels")
        total = int(counts.sum())
        return tuple((sp.Float(float(v)), sp.Rational(int(c), total))
                     for v, c in zip(distinct, counts, strict=True))

    def text(self) -> str:
        return f"{len(self.values)} given gains"

    def latex(self) -> str:
        return rf"\text{{{len(self.values)} given gains}}"


def joint_moment(powers, distributions: Mapping) -> sp.Expr:
    """⟨Π_k G_kⁿᵏ⟩ = Π_k q_{n_k}(G_k) for independent quenched variables; ``powers`` as
    returned by :func:`split_quenched`, ``distributions`` maps each variable to its
    distribution (an action's ``dict(action.quenched)``)."""
    out = sp.S.One
    for variable, power in powers:
        if variable not in distributions:
            raise DeclarationError(f"quenched variable {variable} has no distribution")
        out *= distributions[variable].moment(power)
    return out


def with_gains(model, gains) -> object:
    """``model`` with the distribution of its one quenched variable replaced by the given
    values (:class:`GainArray`: unit i gets gains[i], the moments are the empirical ones)."""
    import dataclasses

    action = model.action
    if len(action.quenched) != 1:
        raise ParameterError(f"model {model.name} has {len(action.quenched)} quenched "
                             "variables; given gains replace exactly one")
    ((variable, _),) = action.quenched
    action = dataclasses.replace(action, quenched=((variable, GainArray(tuple(gains))),))
    return dataclasses.replace(model, action=action)


def load_gains(path) -> tuple[float, ...]:
    """Gains G_i (one per unit) from a ``.npy`` or text file (finite, ≥ 0, not all zero;
    :func:`~fieldtheory.ir.data_files.load_vector`)."""
    from fieldtheory.ir.data_files import load_vector

    return load_vector(path, "gains", "gain")
