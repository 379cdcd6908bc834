r"""Zero-dimensional φ⁴ theory: the plain integral every perturbation series is checked on.

.. math::  Z(\lambda) = \int \frac{dx}{\sqrt{2\pi}}\, e^{S(x)},\qquad
           S(x) = -\frac{x^2}{2} - \frac{\lambda}{4!} x^4 .

Expanding e^{−λx⁴/4!} and integrating the Gaussian moments ⟨x^{2k}⟩₀ = (2k − 1)!! gives
the asymptotic (divergent, Borel-summable) series ln Z = −λ/8 + λ²/12 − 11λ³/96 + …
(e.g. Zinn-Justin, *Quantum Field Theory and Critical Phenomena*, ch. 9);
``fieldtheory diagrams phi4_zero_dim --order K`` lists its Feynman diagrams.
"""

import fieldtheory as ft

p = ft.parameters(**{"lambda": (0.01, "nonnegative", "quartic coupling λ (Z diverges for λ < 0)")})
lam = p["lambda"].symbol
x = ft.Field("x")
model = ft.Model(
    "phi4_zero_dim",
    ft.Action(-(x() ** 2) / 2 - lam * x() ** 4 / 24, (x,), parameters=p, time=ft.ZERO_DIMENSIONAL),
    "zero-dimensional φ⁴ theory, Z(λ) = ∫dx exp(−x²/2 − λx⁴/4!)/√(2π), a perturbation test bed",
    "J. Zinn-Justin, Quantum Field Theory and Critical Phenomena (Oxford), ch. 9",
)
