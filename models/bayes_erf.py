"""Wide Bayesian network learning classification with φ = erf (issue 15; arXiv:2406.16689).

The network of ``bayes_linear`` with a sigmoidal hidden nonlinearity: in mean-field
scaling (γ = 1) it learns a redundant code (van Meegen & Sompolinsky 2025).
"""

import sympy as sp
from fieldtheory.models.bayes_linear import declare

model = declare(sp.erf, name="bayes_erf")
