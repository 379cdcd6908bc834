r"""The mean of an asymmetric unit: the one-point diagrams of the loop expansion.

dx = (−x − b x² − a x³) dt + √D dW has the exact stationary density ∝ exp(−2U/D) with
U = x²/2 + b x³/3 + a x⁴/4 (normalisable for a > 0). Its one-loop mean is the tadpole
−b C₀(0) ∫du R₀(t − u) = −bD/2, which is also the first-order coefficient of the exact
⟨x⟩ = −(2b/(3D)) ⟨x⁴⟩₀ + O(b², ab) = −bD/2 + …; and the one-loop result must be closer to
the exact mean (adaptive quadrature) than the tree level, which is zero.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

import fieldtheory as ft
from fieldtheory.diagrams.loops import loop_expansion


@pytest.fixture(scope="module")
def asymmetric() -> ft.Model:
    p = ft.parameters(a=(0.1, "nonnegative"), b=(0.1, "real"), D=(1.0, "positive"))
    x, t = ft.Field("x"), ft.t
    drift = -x(t) - p.b * x(t) ** 2 - p.a * x(t) ** 3
    return ft.Model(
        "asymmetric_unit",
        ft.langevin(drift={x: drift}, noise={x: p.D}, parameters=p),
        "x² and x³ drift",
    )


def exact_mean(a: float, b: float, D: float) -> tuple[float, float]:
    """⟨x⟩ under exp(−2U/D) and a bound on its quadrature error."""
    weight = lambda x, k: x**k * math.exp(-2 * (x**2 / 2 + b * x**3 / 3 + a * x**4 / 4) / D)  # noqa: E731
    num, num_err = integrate.quad(weight, -np.inf, np.inf, args=(1,), epsabs=1e-14)
    den, den_err = integrate.quad(weight, -np.inf, np.inf, args=(0,), epsabs=1e-14)
    return num / den, (num_err + abs(num / den) * den_err) / den


@pytest.mark.parametrize(("a", "b", "D"), [(0.05, 0.05, 1.0), (0.1, 0.1, 0.5)])
def test_one_loop_mean(asymmetric, a, b, D):
    expansion = loop_expansion(asymmetric, {"a": a, "b": b, "D": D}, 1, tau_max=1.0)
    tree, one = expansion.terms
    assert tree.mean == 0.0
    assert abs(one.mean - (-b * D / 2)) <= one.mean_error
    exact, quad_error = exact_mean(a, b, D)
    assert abs(expansion.total(1)["mean"] - exact) + one.mean_error + quad_error < abs(exact)
