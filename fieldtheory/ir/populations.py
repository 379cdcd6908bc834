"""Populations: named groups of sites with a size fraction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from fieldtheory.errors import DeclarationError, ParameterError
from fieldtheory.ir.parameters import evaluate

__all__ = ["Population", "population_sizes", "ONE_POPULATION"]


@dataclass(frozen=True)
class Population:
    """A population α holding a fraction f_α of the N sites (Σ_α f_α = 1)."""

    name: str
    fraction: sp.Expr = sp.Integer(1)

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise DeclarationError(f"population name {self.name!r} is not an identifier")
        object.__setattr__(self, "fraction", sp.sympify(self.fraction))


#: The single population of a homogeneous network.
ONE_POPULATION = (Population("all"),)


def population_sizes(
    populations: Sequence[Population], N: int, values: Mapping[str, float]
) -> tuple[int, ...]:
    """Integer sizes N_α = round(f_α N), the last population taking the remainder.

    Sites are ordered by population: population α occupies a contiguous block.
    """
    # evaluate names a fraction's missing parameter instead of failing in float()
    fractions = np.array([evaluate(p.fraction, values) for p in populations])
    if np.any(fractions <= 0) or not np.isclose(fractions.sum(), 1.0, atol=1e-12):
        raise ParameterError(
            "population fractions must be positive and sum to 1, got "
            + ", ".join(f"{p.name}={f:g}" for p, f in zip(populations, fractions, strict=True))
        )
    sizes = [round(f * N) for f in fractions[:-1]]
    sizes.append(N - sum(sizes))
    if min(sizes) < 1:
        raise ParameterError(f"N = {N} leaves a population empty (sizes {sizes})")
    return tuple(sizes)
