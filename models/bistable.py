r"""Random network of bistable units: the single-unit potential U(x) = x²/2 − s ln cosh x.

.. math::  \partial_t x_i = -x_i + s\tanh x_i + \sum_j J_{ij}\,\varphi(x_j) + \xi_i,
           \qquad J_{ij} \sim \mathcal N(0, g^2/N),\quad
           \varphi(x) = \mathrm{erf}(\sqrt\pi x/2),\quad
           \langle\xi_i(t)\xi_j(s)\rangle = D\,\delta_{ij}\delta(t-s).

For s > 1 each uncoupled unit has two wells at ±x*, x* = s tanh x*; the coupling and the
noise move units between them. The site is non-Gaussian (a nonlinear drift): the DMFT is
solved by the Monte-Carlo single-site runtime. The large-deviation paper's example of
parameter inference with a non-quadratic U and of coexisting mean-field solutions (van
Meegen, Kühn & Helias, PRL 127, 158302 (2021), arXiv:2009.08889).
"""

import fieldtheory as ft

p = ft.parameters(
    g=(0.6, "nonnegative", "coupling gain: Var J_ij = g²/N"),
    s=(1.5, "nonnegative", "self-excitation: U(x) = x²/2 − s ln cosh x"),
    D=(0.1, "nonnegative", "white-noise intensity"),
)
g, s, D = p.symbols
x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
model = ft.Model(
    "bistable",
    ft.langevin(
        drift={x: -x(t) + s * ft.tanh(x(t)) + J @ ft.erf_sqrtpi(x(t))},
        noise={x: D},
        couplings={J: ft.Gaussian(mean=0, variance=g**2)},
        parameters=p,
    ),
    "random network of bistable units, U = x²/2 − s ln cosh x, φ = erf(√π x/2)",
    "van Meegen, Kühn & Helias, PRL 127, 158302 (2021)",
)
