r"""One unit with a cubic restoring force: the test bed of the loop expansion.

.. math::  dx = (-x - a x^3)\,dt + \sqrt{D}\,dW ,\qquad
           S = \int dt\, \tilde x\,(-\partial_t x - x - a x^3) + \tfrac{D}{2}\tilde x^2 .

The stationary density is exactly p(x) ∝ exp(−2U(x)/D) with U = x²/2 + a x⁴/4, and the
autocorrelation follows from the Fokker–Planck spectrum (Risken, *The Fokker–Planck
Equation*, 2nd ed., Springer 1989, §5.4). In the diagram expansion the Gaussian part is
the Ornstein–Uhlenbeck process (C(τ) = D e^{−|τ|}/2, R(τ) = Θ(τ) e^{−τ}) and −a x̃x³ is
the only vertex; each loop brings a factor aD, so ``fieldtheory solve cubic_unit --loops K``
is a series in aD: ⟨x²⟩ = D (1/2 − 3aD/4 + 3(aD)² − …).
"""

import fieldtheory as ft

p = ft.parameters(
    a=(0.1, "nonnegative", "strength of the cubic restoring force"),
    D=(1.0, "positive", "white-noise intensity"),
)
a, D = p.symbols
x, t = ft.Field("x"), ft.t
model = ft.Model(
    "cubic_unit",
    ft.langevin(drift={x: -x(t) - a * x(t) ** 3}, noise={x: D}, parameters=p),
    "one unit in the quartic potential U = x²/2 + a x⁴/4 with white noise; loop expansion "
    "in aD (fieldtheory solve cubic_unit --loops K)",
    "H. Risken, The Fokker-Planck Equation (Springer, 1989), ch. 5",
)
