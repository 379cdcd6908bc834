"""Noisy linear random network: the exactly solvable limit of the SCS model.

∂_t x_i = −x_i + Σ_j J_ij x_j + ξ_i,  J_ij ~ N(0, g²/N); for g < 1 the stationary
autocorrelation is Δ(τ) = D/(2√(1−g²)) exp(−√(1−g²)|τ|) as N → ∞.
"""

import fieldtheory as ft

p = ft.parameters(
    g=(0.5, "positive", "coupling gain (stable for g < 1)"),
    D=(1.0, "nonnegative", "white-noise intensity"),
)
g, D = p.symbols
x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
model = ft.Model(
    "linear",
    ft.langevin(
        drift={x: -x(t) + J @ x(t)},
        noise={x: D},
        couplings={J: ft.Gaussian(mean=0, variance=g**2)},
        parameters=p,
    ),
    "noisy linear network, φ = identity",
)
