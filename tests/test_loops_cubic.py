r"""The cubic unit dx = (−x − a x³)dt + √D dW: loop expansion against two exact oracles.

Oracles, both computed here and independent of the diagram code:

1. The exact stationary density p(x) ∝ exp(−2U/D), U = x²/2 + a x⁴/4: ⟨x²⟩ by adaptive
   quadrature (scipy ``quad``, absolute error ≲ 10⁻¹³ reported by quad itself), and the
   formal series of ⟨x²⟩ in a by expanding exp(−a x⁴/(2D)) and integrating the Gaussian
   moments ⟨x^{2n}⟩₀ = (2n − 1)!! (D/2)ⁿ (sympy, exact rationals).
2. The Fokker–Planck spectrum: with x = √D y and g = aD the symmetrised operator is
   H = −½∂_y² + V(y), V = (U')²/(2D) − U''/2 = N + g(y⁴ − 3y²/2) + g²y⁶/2 in the basis of
   Hermite functions (N the number operator, y = (b + b†)/√2), so that
   C(τ) = D Σ_{n≥1} |⟨ψ₀|y|ψₙ⟩|² e^{−λₙτ} and, by the fluctuation–dissipation theorem of
   this equilibrium process (temperature D/2), R(τ) = −(2/D) C'(τ)
   = 2 Σ λₙ |⟨ψ₀|y|ψₙ⟩|² e^{−λₙτ} (Risken, *The Fokker–Planck Equation*, §5.4). Its
   truncation error is estimated by doubling the basis.

The diagram weights of the L-loop terms are exactly ∝ a^L (one vertex −a x̃x³ per loop),
so the expansion is evaluated once at a = 1 and the terms scaled by a^L; one direct call
at a small a checks that scaling.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, linalg
from support.strict_json import strict_loads

import fieldtheory as ft
from fieldtheory import cli
from fieldtheory.diagrams.loops import loop_expansion
from fieldtheory.errors import ExpansionError

TAU_MAX, DTAU = 4.0, 0.25
SMALL_A = (0.05, 0.1)


# ----------------------------------------------------------------------------- oracles


def exact_variance(a: float, D: float) -> tuple[float, float]:
    """⟨x²⟩ under exp(−2U/D) and a bound on its quadrature error."""
    weight = lambda x, k: x**k * math.exp(-(x**2 + a * x**4 / 2) / D)  # noqa: E731
    num, num_err = integrate.quad(weight, -np.inf, np.inf, args=(2,), epsabs=1e-14)
    den, den_err = integrate.quad(weight, -np.inf, np.inf, args=(0,), epsabs=1e-14)
    return num / den, (num_err + num / den * den_err) / den


D_SYMBOL = sp.Symbol("D", positive=True)


def static_series(order: int) -> list[sp.Expr]:
    """Coefficients of ⟨x²⟩ in powers of a, exact in D (sympy)."""
    a, D = sp.Symbol("a", positive=True), D_SYMBOL
    moment = lambda n: sp.factorial2(2 * n - 1) * (D / 2) ** n  # noqa: E731  ⟨x^{2n}⟩₀
    # exp(−a x⁴/(2D)) = Σ_k (−a/(2D))^k x^{4k}/k!
    num = sum((-a / (2 * D)) ** k / sp.factorial(k) * moment(2 * k + 1) for k in range(order + 1))
    den = sum((-a / (2 * D)) ** k / sp.factorial(k) * moment(2 * k) for k in range(order + 1))
    series = sp.series(num / den, a, 0, order + 1).removeO()
    return [sp.simplify(series.coeff(a, k)) for k in range(order + 1)]


def _fokker_planck(g: float, size: int):
    """Eigenvalues λₙ and weights |⟨ψ₀|y|ψₙ⟩|² of H in ``size`` Hermite functions."""
    big = size + 8  # powers of y up to 6 couple n to n ± 6: build larger, then truncate
    y = np.diag(np.sqrt(np.arange(1, big) / 2), 1)
    y = y + y.T
    # products and eigensolver without threaded BLAS (fast on a loaded machine)
    y2 = np.einsum("ij,jk->ik", y, y)
    y4 = np.einsum("ij,jk->ik", y2, y2)
    y6 = np.einsum("ij,jk->ik", y4, y2)
    h = (np.diag(np.arange(big, dtype=float)) + g * (y4 - 1.5 * y2) + g**2 / 2 * y6)[:size, :size]
    band = np.zeros((7, size))  # upper band storage: band[6 − k, j] = h[j − k, j]
    for k in range(7):
        band[6 - k, k:] = np.diagonal(h, k)
    energies, states = linalg.eig_banded(band)
    overlaps = np.einsum("i,ij,jk->k", states[:, 0], y[:size, :size], states)
    return energies, overlaps**2


def fokker_planck(a: float, D: float, tau: np.ndarray, size: int = 60):
    """C(τ), R(τ) from the spectrum, and their truncation error (basis doubled)."""

    def curves(n):
        energies, weights = _fokker_planck(a * D, n)
        decay = np.exp(-np.outer(tau, energies[1:]))
        return (D * decay @ weights[1:], 2 * decay @ (energies[1:] * weights[1:]), abs(energies[0]))

    corr, resp, ground = curves(size)
    corr2, resp2, ground2 = curves(2 * size)
    error = max(np.max(np.abs(corr - corr2)), ground, ground2)
    return corr2, resp2, error, max(np.max(np.abs(resp - resp2)), ground, ground2)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def unit_terms():
    """The loop terms at a = 1, D = 1 (each ∝ a^L)."""
    return loop_expansion("cubic_unit", {"a": 1.0, "D": 1.0}, 2, tau_max=TAU_MAX, dtau=DTAU)


def _partial(expansion, a: float, loops: int, key: str):
    """Σ_{L ≤ loops} a^L term_L of 'variance', 'autocorrelation' or 'response', with error."""
    value = error = 0.0
    for term in expansion.terms[: loops + 1]:
        if key == "variance":
            v, e = term.autocorrelation[0], term.autocorrelation_error[0]
        else:
            v, e = getattr(term, key), getattr(term, f"{key}_error")
        value = value + a**term.loops * v
        error = error + a**term.loops * e
    return value, error


# ----------------------------------------------------------------------------- checks


def test_oracles_agree():
    for a in SMALL_A:
        variance, quad_error = exact_variance(a, 1.0)
        corr, _, fp_error, _ = fokker_planck(a, 1.0, np.zeros(1))
        assert abs(corr[0] - variance) <= quad_error + fp_error + 4 * np.finfo(float).eps


def test_direct_call_matches_scaled_terms(unit_terms):
    direct = loop_expansion("cubic_unit", {"a": 0.05, "D": 1.0}, 2, tau_max=TAU_MAX, dtau=DTAU)
    value, error = _partial(unit_terms, 0.05, 2, "autocorrelation")
    bound = error + direct.error()["autocorrelation"]
    assert np.all(np.abs(direct.observables["autocorrelation"]["values"] - value) <= bound)
    assert direct.observables["mean"] == 0.0  # no diagram has an odd number of legs


def test_series_coefficients_equal_diagram_sums(unit_terms):
    # Σ over the L-loop diagrams at equal times = coefficient of a^L of the exact static
    # series, to the evaluator's estimated discretisation error (D = 1 and D = 1/2: the
    # L-loop term carries D^{L+1})
    D = D_SYMBOL
    coefficients = static_series(2)
    assert coefficients == [D / 2, -3 * D**2 / 4, 3 * D**3]
    half = loop_expansion("cubic_unit", {"a": 1.0, "D": 0.5}, 2, tau_max=1.0, dtau=DTAU)
    for expansion, d in ((unit_terms, 1.0), (half, 0.5)):
        for term, coefficient in zip(expansion.terms, coefficients, strict=True):
            exact = float(coefficient.subs(D, d))
            assert abs(term.autocorrelation[0] - exact) <= term.autocorrelation_error[0]


def test_three_loop_coefficient():
    # three vertices per diagram: the equal-time sum of the three-loop correlation diagrams
    # is −297/16 D⁴
    expansion = loop_expansion("cubic_unit", {"a": 1.0, "D": 1.0}, 3, tau_max=DTAU, dtau=DTAU)
    three = expansion.terms[3]
    assert static_series(3)[3] == -sp.Rational(297, 16) * D_SYMBOL**4
    assert three.diagrams == 60  # correlation and response diagrams with three loops
    assert abs(three.autocorrelation[0] + 297 / 16) <= three.autocorrelation_error[0]


def test_variance_error_shrinks_with_loops(unit_terms):
    for a in SMALL_A:
        exact, quad_error = exact_variance(a, 1.0)
        errors = []
        for loops in range(3):
            value, error = _partial(unit_terms, a, loops, "variance")
            errors.append(abs(value - exact))
            assert errors[-1] > error + quad_error  # the truncation dominates the numerics
        assert errors[2] < errors[1] < errors[0], (a, errors)


@pytest.mark.parametrize("key", ["autocorrelation", "response"])
def test_curve_error_shrinks_with_loops(unit_terms, key):
    tau = unit_terms.tau
    for a in SMALL_A:
        corr, resp, corr_error, resp_error = fokker_planck(a, 1.0, tau)
        exact, oracle_error = (corr, corr_error) if key == "autocorrelation" else (resp, resp_error)
        errors = []
        for loops in range(3):
            value, error = _partial(unit_terms, a, loops, key)
            errors.append(np.max(np.abs(value - exact)))
            assert errors[-1] > np.max(error) + oracle_error
        assert errors[2] < errors[1] < errors[0], (key, a, errors)


@pytest.mark.parametrize("loops", [0, 1, 2])
def test_variance_error_scales_as_next_power_of_a(unit_terms, loops):
    r"""err_K(a) = c_{K+1} a^{K+1} (1 + ε): the ratio err(2a)/err(a) is 2^{K+1}(1+ε₂)/(1+ε₁).

    |ε| is bounded by ε̄(a) = 2|c_{K+2}/c_{K+1}| a + δ/(|c_{K+1}| a^{K+1}): the next term of
    the series, doubled to cover the rest (the coefficients alternate and, at these a, each
    term is less than half the one before: checked), plus the discretisation error δ.
    """
    coefficients = [float(c.subs(D_SYMBOL, 1)) for c in static_series(loops + 3)]
    c_next, c_after = coefficients[loops + 1], coefficients[loops + 2]
    a = 0.005
    assert abs(coefficients[loops + 3] * 2 * a) < abs(c_after) / 2
    errors, bounds = [], []
    for value_a in (a, 2 * a):
        exact, quad_error = exact_variance(value_a, 1.0)
        value, numerics = _partial(unit_terms, value_a, loops, "variance")
        errors.append(abs(value - exact))
        leading = abs(c_next) * value_a ** (loops + 1)
        bounds.append(2 * abs(c_after / c_next) * value_a + (numerics + quad_error) / leading)
    ratio = errors[1] / errors[0] / 2 ** (loops + 1)
    assert (1 - bounds[1]) / (1 + bounds[0]) <= ratio <= (1 + bounds[1]) / (1 - bounds[0])


def test_loop_count_is_the_power_of_a(unit_terms):
    theory = ft.diagrams.perturbative_theory("cubic_unit")
    for diagram in ft.diagrams.expand(theory, external=("x", "x"), loops=2):
        assert diagram.loops == diagram.order
        assert sp.Poly(diagram.weight, sp.Symbol("a", real=True)).degree() == diagram.loops
    assert [t.diagrams for t in unit_terms.terms] == [2, 3, 11]


def test_cli_prints_the_usual_schema(capsys):
    status = cli.main(
        ["solve", "cubic_unit", "--loops", "2", "--json", "--tau-max", "1", "-p", "a=0.05"]
    )
    assert status == 0
    data = strict_loads(capsys.readouterr().out)
    assert data["model"] == "cubic_unit" and data["N"] is None
    assert data["branch"] == "noise_driven" and data["params"] == {"a": 0.05, "D": 1.0}
    observables = data["observables"]
    assert set(observables) == {"mean", "variance", "autocorrelation", "response"}
    assert observables["autocorrelation"]["values"][0] == observables["variance"]
    assert observables["autocorrelation"]["tau"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert observables["response"]["values"][0] == 1.0
    exact, _ = exact_variance(0.05, 1.0)
    assert abs(observables["variance"] - exact) < abs(0.5 - 3 * 0.05 / 4 - exact)


def test_refusals_name_the_offence():
    with pytest.raises(ExpansionError, match="couplings J"):
        loop_expansion("scs", loops=1)
    with pytest.raises(ExpansionError, match="zero-dimensional"):
        loop_expansion("phi4_zero_dim", loops=1)
    p = ft.parameters(c=(0.5, "real"))
    x, t = ft.Field("x"), ft.t
    shifted = ft.Model(
        "shifted", ft.langevin(drift={x: -x(t) - x(t) ** 3 + p.c}, noise={x: 1}, parameters=p)
    )
    with pytest.raises(ExpansionError, match="constant drift"):
        loop_expansion(shifted, loops=1)
    tanh = ft.Model("tanh_unit", ft.langevin(drift={x: -x(t) + ft.tanh(x(t))}, noise={x: 1}))
    with pytest.raises(ExpansionError, match="tanh"):
        loop_expansion(tanh, loops=1)
    y = ft.Field("y")
    pair = ft.Model("pair", ft.langevin(drift={x: -x(t) + y(t) ** 2, y: -y(t)}, noise={y: 1}))
    with pytest.raises(ExpansionError, match=r"fields \['x', 'y'\]"):
        loop_expansion(pair, loops=1)
