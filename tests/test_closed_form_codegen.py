"""Closed forms printed into generated modules (``SiteTerm.pair``/``single``) and their
use by the runtimes, against an independent mpmath oracle.

The oracle integrates E[φ(u)φ(v)] as a 1-D ``mpmath.quad`` over u of φ(u) times the
conditional mean E[erf(c v) | u] = erf(c m/√(1 + 2c²s)) (m, s the conditional mean and
variance) — elementary, and independent of the arcsin formula that is printed.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from fieldtheory.codegen.generate import generate
from fieldtheory.solvers.runtime.multi_problem import _chebyshev_table

C = mpmath.sqrt(mpmath.pi) / 2  # scs_erf: φ(x) = erf(√π x/2)


def erf_pair(delta0, delta, dps=25):
    with mpmath.workdps(dps):
        d0, d = mpmath.mpf(delta0), mpmath.mpf(delta)
        s = d0 - d**2 / d0

        def integrand(u):
            inner = mpmath.erf(C * (d / d0) * u / mpmath.sqrt(1 + 2 * C**2 * s))
            density = mpmath.exp(-(u**2) / (2 * d0)) / mpmath.sqrt(2 * mpmath.pi * d0)
            return mpmath.erf(C * u) * inner * density

        sigma = mpmath.sqrt(d0)
        return mpmath.quad(integrand, [-mpmath.inf, -4 * sigma, -sigma, 0, sigma, 4 * sigma,
                                       mpmath.inf])


@pytest.fixture(scope="module")
def scs_erf():
    return generate("scs_erf").module


@pytest.mark.parametrize("delta", [-1.2, 0.3, 1.6])
def test_printed_erf_pair_matches_mpmath(scs_erf, delta):
    term = scs_erf.spec().correlations[0]
    value = float(term.pair(0.0, 1.7, np.array(delta)))
    assert abs(value - float(erf_pair(1.7, delta))) < 1e-13
    assert term.pair(0.2, 1.7, np.array(delta)) is None  # arcsin holds at zero mean only


def test_printed_erf_mean_matches_mpmath(scs_erf):
    term = scs_erf.spec().means[0]
    with mpmath.workdps(25):
        m, s = mpmath.mpf("0.3"), mpmath.mpf("1.7")
        reference = mpmath.quad(lambda z: mpmath.erf(C * (m + mpmath.sqrt(s) * z))
                                * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])
    assert abs(float(term.single(0.3, 1.7)) - float(reference)) < 1e-14


def test_stationary_uses_the_closed_form_and_agrees_with_the_series(scs_erf):
    """The explicit choice: C_φ(τ) = pair(μ, Δ0, Δ(τ)) where the form holds; the Hermite
    series gives the same curve to rounding (3e-15 measured)."""
    exact = scs_erf.solve(g=2.0)
    series = scs_erf.solve(g=2.0, options={"pair": None})
    assert exact["branch"] == "chaotic"
    difference = np.subtract(exact["autocorrelation_phi"]["values"],
                             series["autocorrelation_phi"]["values"])
    assert np.abs(difference).max() < 1e-12
    # at a nonzero mean the zero-mean formula is skipped and the series is used
    shifted = scs_erf.solve(g=2.0, I=0.3)
    assert np.all(np.isfinite(shifted["autocorrelation_phi"]["values"]))


def test_multi_tables_take_the_closed_form(scs_erf):
    term = scs_erf.spec().correlations[0]
    x = np.linspace(-1, 1, 11)
    closed = _chebyshev_table(term.left, term.right, 0.0, 1.7, term.strip, term.pair)
    quadrature = _chebyshev_table(term.left, term.right, 0.0, 1.7, term.strip)
    exact = term.pair(0.0, 1.7, 1.7 * x)
    assert np.abs(np.polynomial.chebyshev.chebval(x, closed) - exact).max() < 1e-13  # its own 1e-13
    assert np.abs(np.polynomial.chebyshev.chebval(x, quadrature) - exact).max() < 1e-12

    def wrong(mean, variance, covariance):  # proves the table reads the form it is given
        return np.zeros(np.shape(covariance))

    assert np.abs(_chebyshev_table(term.left, term.right, 0.0, 1.7, term.strip, wrong)).max() == 0
    multi = scs_erf.solve(g=2.0, method="multi")
    stationary = scs_erf.solve(g=2.0)
    assert abs(multi["variance"] - stationary["variance"]) < 1e-3  # lattice O(step²)
