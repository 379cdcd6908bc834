"""Feynman diagrams of polynomial actions: Wick contractions, canonical forms, series.

``perturbative_theory(model)`` splits an action into propagators and vertices;
``expand(theory, external, order=…, loops=…)`` lists the connected diagrams of a cumulant
(or of ln Z) with symmetry factors and sympy expressions; ``series`` sums them order by
order for zero-dimensional theories; ``draw`` plots one (plot extra). See docs/diagrams.md.
"""

from fieldtheory.diagrams.diagram import Diagram
from fieldtheory.diagrams.draw import draw
from fieldtheory.diagrams.series import Series, cumulant_series, ln_z_series, moment_series
from fieldtheory.diagrams.theory import (
    PerturbativeTheory,
    Propagator,
    Vertex,
    perturbative_theory,
)
from fieldtheory.diagrams.wick import expand

__all__ = [
    "Diagram",
    "PerturbativeTheory",
    "Propagator",
    "Series",
    "Vertex",
    "cumulant_series",
    "draw",
    "expand",
    "ln_z_series",
    "moment_series",
    "perturbative_theory",
]
