"""Random-mode network with correlated left and right modes (arXiv:2409.01969).

As ``random_mode``, with corr(l_a, r_a) = overlap·σ_a, σ_a iid random signs (so ⟨dρ⟩ = 0).
The single site gains a self-coupling kernel K(ω) = α⟨d²ρ²R/(1 − d²ρ²R²)⟩ and a dressed
input — every order of the disorder average, resummed (``ft.ModeDeterminant``,
fieldtheory/transforms/resummation.py) — and non-Gaussian statistics (the Monte-Carlo
runtime); its 1/N fluctuations (the dimension with overlaps) come from the determinant's
Hessian (``fieldtheory solve random_mode_overlap --order 1/N``).
"""

from fieldtheory.models.random_mode import declare

model = declare(overlap=True, name="random_mode_overlap")
