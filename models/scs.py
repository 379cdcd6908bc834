"""Random rate network of Sompolinsky, Crisanti & Sommers (PRL 61, 259, 1988), φ = tanh.

∂_t x_i = −x_i + Σ_j J_ij tanh(x_j) + I + ξ_i,  J_ij ~ N(J0/N, g²/N),
corr(J_ij, J_ji) = rho,  ⟨ξ_i(t) ξ_j(s)⟩ = D δ_ij δ(t − s).
"""

import fieldtheory as ft


def declare(name: str, phi, description: str) -> ft.Model:
    """The SCS network with nonlinearity ``phi`` (shared with ``scs_erf``)."""
    p = ft.parameters(
        g=(2.0, "positive", "coupling gain: Var J_ij = g²/N"),
        J0=(0.0, "real", "mean coupling: E J_ij = J0/N"),
        D=(0.0, "nonnegative", "white-noise intensity"),
        I=(0.0, "real", "constant external input"),
        rho=(0.0, (-1, 1), "partial symmetry corr(J_ij, J_ji)"),
    )
    g, J0, D, I, rho = p.symbols
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    action = ft.langevin(
        drift={x: -x(t) + J @ phi(x(t)) + I},
        noise={x: D},
        couplings={J: ft.Gaussian(mean=J0, variance=g**2, rho=rho)},
        parameters=p,
    )
    reference = "Sompolinsky, Crisanti & Sommers, PRL 61, 259 (1988)"
    return ft.Model(name, action, description, reference)


model = declare("scs", ft.tanh, "random rate network, φ = tanh")
