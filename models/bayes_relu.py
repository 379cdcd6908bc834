"""Wide Bayesian network learning classification with φ = ReLU (issue 15; arXiv:2406.16689).

The network of ``bayes_linear`` with a rectifying hidden nonlinearity: in mean-field
scaling (γ = 1) it learns a sparse code (van Meegen & Sompolinsky 2025).
"""

from fieldtheory.models.bayes_linear import declare

import fieldtheory as ft

model = declare(ft.relu, name="bayes_relu")
