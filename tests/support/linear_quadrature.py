r"""An adaptive-quadrature oracle for the noisy linear network's ψ and PR/N.

φ = x, ∂_t x = −x + Jx + ξ (iid J of gain g < 1, noise D): C(ω) = D/(ω² + 1 − g²) and
S(ω) = 1/(1 + iω) are exact, so Ψ(0,0) = C(0)² + ∬dω₁dω₂/(2π)² C₁C₂(1/|1 − g²S₁S₂|² − 1)
(Clark, Abbott & Litwin-Kumar, PRL 131, 118401 (2023)) by scipy's adaptive quadrature
(1e-11) — independent of any grid the package uses. Shared by the tests and
``benchmarks/fluctuations.py``; numpy and scipy only.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate


def linear_psi_and_pr(g: float = 0.5, d: float = 1.0) -> tuple[float, float]:
    """(ψ(0,0), PR/N) of the noisy linear network."""

    def spectrum(w):
        return d / (w * w + 1 - g * g)

    def excess(w1):
        def f(w2):
            loop = g * g / ((1 + 1j * w1) * (1 + 1j * w2))
            return spectrum(w1) * spectrum(w2) * (1 / abs(1 - loop) ** 2 - 1)

        return integrate.quad(f, -np.inf, np.inf, epsabs=1e-13, epsrel=1e-12, limit=400)[0]

    psi = integrate.quad(excess, -np.inf, np.inf, epsabs=1e-12, epsrel=1e-11,
                         limit=400)[0] / (2 * math.pi) ** 2
    c0 = d / (2 * math.sqrt(1 - g * g))
    return psi, c0 * c0 / (c0 * c0 + psi)
