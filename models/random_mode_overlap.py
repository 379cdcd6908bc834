"""Random-mode network with correlated left and right modes (arXiv:2409.01969).

As ``random_mode``, with corr(l_a, r_a) = overlap·σ_a, σ_a iid random signs (so ⟨dρ⟩ = 0).
The single site gains a self-coupling kernel and non-Gaussian statistics; its averaging
rule (every order of tr X^k) is not implemented yet, so ``derive`` refuses it by name; it
simulates.
"""

from fieldtheory.models.random_mode import declare

model = declare(overlap=True, name="random_mode_overlap")
