r"""Gaussian couplings, iid or partially symmetric (Sompolinsky, Crisanti & Sommers 1988)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import sympy as sp

from fieldtheory.ir.couplings import CouplingMatrix, DenseCoupling
from fieldtheory.ir.ensembles.base import (
    UNIT_INTERVAL,
    Constraint,
    Ensemble,
    expression_latex,
    expression_text,
    register_ensemble,
)
from fieldtheory.ir.ensembles.cumulants import GaussianBlock
from fieldtheory.ir.parameters import NONNEGATIVE, evaluate

__all__ = ["Gaussian", "gaussian_block"]


@register_ensemble("gaussian")
@dataclass(frozen=True)
class Gaussian(Ensemble):
    r"""J_ij ~ N(mean/N, variance/N), with corr(J_ij, J_ji) = rho for i ≠ j.

    ``rho = 0`` is the iid ensemble of Sompolinsky, Crisanti & Sommers (PRL 61, 259, 1988);
    ``rho ≠ 0`` the partially symmetric one, whose bulk spectrum is an ellipse with
    semi-axes √variance (1 ± rho) (elliptic law). Its cumulants are the first and second
    (the ``"gaussian"`` rule of :mod:`fieldtheory.transforms.cumulants`); all higher ones
    vanish.
    """

    mean: sp.Expr = sp.Integer(0)
    variance: sp.Expr = sp.Integer(1)
    rho: sp.Expr = sp.Integer(0)
    averaging_rule: ClassVar[str | None] = "gaussian"

    def __post_init__(self) -> None:
        for name in ("mean", "variance", "rho"):
            object.__setattr__(self, name, sp.sympify(getattr(self, name)))
        self.check_literals()

    def expressions(self) -> tuple[sp.Expr, ...]:
        return (self.mean, self.variance, self.rho)

    def constraints(self) -> tuple[Constraint, ...]:
        return (
            Constraint("coupling variance", self.variance, NONNEGATIVE),
            Constraint("coupling symmetry rho", self.rho, UNIT_INTERVAL),
        )

    def gaussian_blocks(self, populations) -> tuple[GaussianBlock, ...]:
        """One homogeneous matrix over all sites: the same statistics in every block."""
        return tuple(
            GaussianBlock(a.name, b.name, self.mean, self.variance, self.rho)
            for a in populations for b in populations
        )

    def _numbers(self, values) -> tuple[float, float, float]:
        self.validate(values)
        mean, var, rho = (evaluate(e, values) for e in self.expressions())
        return mean, var, rho

    def sample(self, rng, sizes, values, dtype=np.float64) -> CouplingMatrix:
        mean, var, rho = self._numbers(values)
        N = int(sum(sizes))
        return DenseCoupling(gaussian_block(rng, N, N, mean / N, var / N, rho, dtype))

    def spectral_radius_bound(self, values) -> float:
        r"""The bulk edge √var (1 + |rho|), or the outlier of the mean if that lies further.

        The mean is the rank-one perturbation J0 u uᵀ (u = 1/√N); against an elliptic
        bulk its outlier sits at J0 + rho·var/J0 when |J0| > √var, not at J0: it solves
        J0 G(λ) = 1 with the elliptic law's G(λ) = (λ − √(λ² − 4 rho var))/(2 rho var).
        """
        mean, var, rho = self._numbers(values)
        bulk = math.sqrt(var) * (1 + abs(rho))
        outlier = abs(mean) + rho * var / abs(mean) if abs(mean) > math.sqrt(var) else 0.0
        return max(bulk, outlier)

    def text(self, coupling) -> str:
        name = coupling.name
        out = (f"{name}_ij ~ N(({expression_text(self.mean)})/N, "
               f"({expression_text(self.variance)})/N)")
        if self.rho != 0:
            out += f", corr({name}_ij, {name}_ji) = {expression_text(self.rho)}"
        return out

    def latex(self, coupling) -> str:
        name = coupling.name
        out = (rf"{name}_{{ij}} \sim \mathcal{{N}}\left(\frac{{{expression_latex(self.mean)}}}"
               rf"{{N}}, \frac{{{expression_latex(self.variance)}}}{{N}}\right)")
        if self.rho != 0:
            out += (rf", \quad \operatorname{{corr}}({name}_{{ij}}, {name}_{{ji}}) = "
                    rf"{expression_latex(self.rho)}")
        return out


def gaussian_block(rng, rows, cols, mean, var, rho, dtype):
    """A rows×cols block with iid N(mean, var) entries; corr(J_ij, J_ji) = rho if square."""
    if rho == 0 or rows != cols:
        block = rng.standard_normal((rows, cols))
    else:
        a = rng.standard_normal((rows, cols))
        b = rng.standard_normal((rows, cols))
        # symmetric and antisymmetric parts, off-diagonal variance 1 each
        block = math.sqrt((1 + rho) / 2) * (a + a.T) / math.sqrt(2)
        block += math.sqrt((1 - rho) / 2) * (b - b.T) / math.sqrt(2)
        np.fill_diagonal(block, rng.standard_normal(rows))
    block *= math.sqrt(var)
    block += mean
    return block.astype(dtype, copy=False)
