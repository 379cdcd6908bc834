r"""Ensembles of layered networks: weights drawn per layer, and input weights on data.

Segadlo et al., arXiv:2112.05589. A deep network draws (W^l, b^l) independently for every
layer; a recurrent one uses one (W, b) at every step. :class:`PerLayer` wraps any
ensemble to mean the first: its cumulants are the wrapped ones restricted to equal
layers, δ_{l(τ₁), l(τ₂)} (the disorder average of independent matrices per layer has no
cross-layer terms). :class:`InputWeights` is the N × d matrix U of the input layer,
U_ij ~ N(0, variance/d), acting on the d components of the input patterns; its average
leaves the data kernel (1/d) Σ_j X_j(a) X_j(b).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import sympy as sp

from fieldtheory.ir.couplings import CouplingMatrix
from fieldtheory.ir.ensembles.base import (
    Constraint,
    Ensemble,
    expression_latex,
    expression_text,
    register_ensemble,
)
from fieldtheory.ir.ensembles.cumulants import DATA, Cumulant
from fieldtheory.ir.parameters import NONNEGATIVE, evaluate

__all__ = ["InputWeights", "PerLayer"]


@register_ensemble("per_layer")
@dataclass(frozen=True)
class PerLayer(Ensemble):
    """The ensemble ``inner``, drawn independently for every layer of a layered model."""

    inner: Ensemble
    #: the simulator draws one matrix per layer (read by :mod:`fieldtheory.simulate.layered`)
    per_layer: ClassVar[bool] = True

    def expressions(self) -> tuple[sp.Expr, ...]:
        return self.inner.expressions()

    def constraints(self) -> tuple[Constraint, ...]:
        return self.inner.constraints()

    def populations(self):
        return self.inner.populations()

    def cumulants(self, couplings, populations, order=2) -> tuple:
        return tuple(replace(c, same_layer=True) if isinstance(c, Cumulant) else c
                     for c in self.inner.cumulants(couplings, populations, order))

    def sample(self, rng, sizes, values, dtype=np.float64) -> CouplingMatrix:
        return self.inner.sample(rng, sizes, values, dtype)

    def sample_nbytes(self, N, values, itemsize) -> int:
        return self.inner.sample_nbytes(N, values, itemsize)

    def spectral_radius_bound(self, values) -> float:
        return self.inner.spectral_radius_bound(values)

    def text(self, coupling) -> str:
        return f"{self.inner.text(coupling)}, drawn anew for every layer"

    def latex(self, coupling) -> str:
        return rf"{self.inner.latex(coupling)} \quad \text{{(drawn anew for every layer)}}"


@register_ensemble("input_weights")
@dataclass(frozen=True)
class InputWeights(Ensemble):
    """U_ij ~ N(0, variance/d), i over the N units, j over the d input dimensions."""

    variance: sp.Expr = sp.Integer(1)

    def __post_init__(self) -> None:
        object.__setattr__(self, "variance", sp.sympify(self.variance))
        self.check_literals()

    def expressions(self) -> tuple[sp.Expr, ...]:
        return (self.variance,)

    def constraints(self) -> tuple[Constraint, ...]:
        return (Constraint("input-weight variance", self.variance, NONNEGATIVE),)

    def cumulants(self, couplings, populations, order=2) -> tuple:
        r"""(variance/2d) Σ_i Σ_j X_ij², j over the input dimensions (the one cumulant)."""
        (coupling,) = couplings
        if order < 2 or self.variance == 0:
            return ()
        return tuple(Cumulant(self.variance / 2, (coupling, coupling), (False, False),
                              p.name, DATA) for p in populations)

    def sample_inputs(self, rng, N: int, d: int, values, dtype=np.float64) -> np.ndarray:
        """One N × d realisation."""
        self.validate(values)
        sd = math.sqrt(evaluate(self.variance, values) / d)
        return (sd * rng.standard_normal((N, d))).astype(dtype, copy=False)

    def sample(self, rng, sizes, values, dtype=np.float64) -> CouplingMatrix:
        raise NotImplementedError("input weights act on the data set: sample_inputs(…, d)")

    def spectral_radius_bound(self, values) -> float:
        return 0.0  # U acts on fixed inputs, not on the network state

    def text(self, coupling) -> str:
        return (f"{coupling.name}_ij ~ N(0, ({expression_text(self.variance)})/d), "
                f"j over the d input dimensions")

    def latex(self, coupling) -> str:
        return (rf"{coupling.name}_{{ij}} \sim \mathcal{{N}}\left(0, "
                rf"\frac{{{expression_latex(self.variance)}}}{{d}}\right)")

