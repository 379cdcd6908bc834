"""Random-mode network with single-neuron gains (arXiv:2409.01969).

As ``random_mode``, with the output of unit i scaled by a quenched gain, Φ_i = G_i φ(x_i),
ẋ = −x + JΦ; G_i log-normal with mean 1 and participation ratio ``gain_pr`` = q₂²/q₄
(q_n = ⟨Gⁿ⟩). The single-unit theory is that of ``random_mode`` at g√q₂; the dimension of
Φ and of the z-scored activity depend on PR_G and on the effective rank α PR_D.
"""

from fieldtheory.models.random_mode import declare

model = declare(gains="lognormal", name="random_mode_gain")
