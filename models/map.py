"""Discrete-time random network (a map), the SCS model with a finite step δ.

x_i(n+1) = (1 − δ) x_i(n) + δ Σ_j J_ij tanh(x_j(n)) + √(δD) ξ_i(n), ξ standard normal,
J_ij ~ N(0, g²/N); physical time t = nδ, so δ → 0 recovers ``scs`` and δ = 1 is the
fully discrete network x(n+1) = J tanh(x(n)).
"""

import fieldtheory as ft

p = ft.parameters(
    g=(2.0, "positive", "coupling gain"),
    delta=(0.5, (1e-9, 1), "step δ, in units of the leak time"),
    D=(0.0, "nonnegative", "noise intensity per unit time"),
)
g, delta, D = p.symbols
x, J, n = ft.Field("x"), ft.Coupling("J"), ft.n
model = ft.Model(
    "map",
    ft.langevin(
        drift={x: (1 - delta) * x(n) + delta * (J @ ft.tanh(x(n)))},
        noise={x: delta * D},
        couplings={J: ft.Gaussian(mean=0, variance=g**2)},
        parameters=p,
        time=ft.discrete(step=delta),
    ),
    "discrete-time random rate network, φ = tanh",
)
