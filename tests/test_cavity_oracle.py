"""The independent cavity oracle (tests/support/cavity.py): published values, limits, and the
exact finite-N Lyapunov route for linear networks.  No fieldtheory import in the oracle."""

import math

import numpy as np
import pytest
from support import cavity as cv


@pytest.fixture(scope="module")
def tanh_g2():
    return cv.mean_field("tanh", 2.0, 0.0)


def test_oracle_imports_no_package():
    src = open(cv.__file__).read()
    assert "fieldtheory" not in src.replace("from :mod:`fieldtheory`", "").split('"""', 2)[2]


def test_published_mean_field(tanh_g2):
    assert abs(tanh_g2.delta0 - 1.92481) < 5e-6
    assert abs(tanh_g2.slope - 0.48682) < 5e-6


def test_published_participation_ratio_continuous(tanh_g2):
    r = cv.psi(tanh_g2, 1024)
    assert abs(r["pr_phi"] - 0.019741) <= 1e-6
    assert abs(r["pr_x"] - 0.015915) <= 1e-6
    # spectra integrate back to the lag-zero values; the θ-quadrature is converged
    assert abs(r["c0_phi_quadrature"] - tanh_g2.cphi0) < 1e-11
    assert abs(r["c0_x_quadrature"] - tanh_g2.delta0) < 1e-11
    r2 = cv.psi(tanh_g2, 512)
    assert abs(r2["psi_x"] / r["psi_x"] - 1) < 1e-9
    assert abs(r2["psi_phi"] / r["psi_phi"] - 1) < 1e-9


def test_published_participation_ratio_map():
    mf = cv.mean_field("tanh", 2.0, 0.0, delta=0.5)
    r = cv.psi(mf, 1024)
    assert abs(r["pr_phi"] - 0.026552) <= 1e-6
    assert abs(r["pr_x"] - 0.021390) <= 1e-6
    assert abs(r["c0_x_quadrature"] - mf.delta0) < 1e-11
    assert abs(cv.psi(mf, 2048)["psi_x"] / r["psi_x"] - 1) < 1e-9


def test_science_md_psi_x_form(tanh_g2):
    """For D = 0 the cavity Ψ^x equals SCIENCE.md's F11/F22 expression (pointwise)."""
    om = np.linspace(-3, 3, 41)
    S = tanh_g2.susceptibility(om)
    a, g = tanh_g2.slope, tanh_g2.g
    cp, cx = tanh_g2.spectrum_phi(om), tanh_g2.spectrum_x(om)
    F = 1 / (1 - g**2 * a**2 * np.abs(S) ** 2)
    F12 = 1 / (1 - g**2 * a**2 * np.multiply.outer(S, S))
    F11, F22 = F[:, None], F[None, :]
    F21 = np.conj(F12)
    sci = (np.multiply.outer(cp, cp) / (a**4 * F11 * F22)
           * ((F11 * F21 - 1) * (F12 * F22 - 1) - (F11 - 1) * (F12 - 1) - (F21 - 1) * (F22 - 1)))
    mine = (np.multiply.outer(cx, cx) * (2 * F12.real - 1)
            + g**4 * np.multiply.outer(np.abs(S) ** 2, np.abs(S) ** 2)
            * np.multiply.outer(cp, cp) * np.abs(F12) ** 2)
    assert np.allclose(sci.real, mine, rtol=1e-10, atol=1e-14)


def test_erf_series_matches_closed_form():
    k = cv.PairKernel.build("erf", 1.3)
    c = np.linspace(0, 1.3, 9)
    assert np.allclose(k(c), cv.pair_expectation_erf(c, 1.3), rtol=1e-12, atol=1e-15)
    assert abs(k.slope - (1 + math.pi * 1.3 / 2) ** -0.5) < 1e-13


def test_noise_kink_and_convergence():
    """D > 0, nonlinear: the kink Δ'(0⁺) = −D/2 is handled analytically; ψ is converged
    in the frequency grid and in the lag step."""
    mf = cv.mean_field("erf", 1.5, 0.5)
    assert abs((mf.cx[1] - mf.cx[0]) / (mf.tau[1]) + 0.25) < 0.02
    r = cv.psi(mf, 1024)
    assert abs(r["c0_x_quadrature"] - mf.delta0) < 1e-10
    assert abs(r["c0_phi_quadrature"] - mf.cphi0) < 1e-10
    r2 = cv.psi(cv.mean_field("erf", 1.5, 0.5, h=0.01), 2048)
    assert abs(r2["psi_x"] / r["psi_x"] - 1) < 1e-8
    assert abs(r2["psi_phi"] / r["psi_phi"] - 1) < 1e-8


def test_pr_tends_to_one_as_g_vanishes():
    prs = [cv.participation_ratio("tanh", g, 1.0, M=512) for g in (0.2, 0.1, 0.05)]
    dev = [1 - p["x"] for p in prs]
    assert all(0 < d for d in dev) and dev[2] < 0.02
    assert 3 < dev[1] / dev[2] < 5              # O(g²)


def test_linear_generic_equals_linear_theory():
    for delta in (None, 0.5):
        mf = cv.mean_field("linear", 0.5, 1.0, delta=delta)
        lt = cv.LinearTheory(0.5, 0.0, 1.0, delta=delta)
        r, rl = cv.psi(mf, 1024), cv.psi_linear(lt, 1024)
        assert abs(r["pr_x"] - rl["pr"]) < 1e-12 and abs(r["pr_phi"] - rl["pr"]) < 1e-12
        assert abs(mf.delta0 - rl["c0"]) < 1e-12
    # exact OU limit (SCIENCE.md §1)
    assert abs(cv.mean_field("linear", 0.5, 1.0).delta0 - 1 / (2 * math.sqrt(0.75))) < 1e-15


@pytest.mark.parametrize(("rho", "delta"), [(0.0, None), (0.5, None), (-0.5, None), (0.0, 0.5)])
def test_linear_cavity_against_lyapunov(rho, delta):
    """Cavity PR/N, N·Var(pop.), N·mean C_ij vs Lyapunov at N = 100, 200 (J0 = 0.5, D = 1; the
    δ = 0.5 map by the discrete Lyapunov equation).

    The O(1/N) allowance is estimated, not tuned: the two sizes give the Richardson value
    2 f(200) − f(100), whose standard error (from the seeds) sets a 4σ window, plus the
    remaining O(1/N²) term, bounded by a quarter of |f(200) − f(100)|.
    """
    g, D, J0 = 0.5, 1.0, 0.5
    lt = cv.LinearTheory(g, rho, D, delta=delta)
    pr = cv.psi_linear(lt, 1024)["pr"]
    pop = cv.population_statistics(lt, J0, 1024)
    theory = {"pr": pr, "var_pop": pop["var_x"], "cross": pop["cross_x"][0]}
    small = cv.linear_network_pr(100, g, rho, D, range(24), J0=J0, delta=delta)
    large = cv.linear_network_pr(200, g, rho, D, range(100, 112), J0=J0,
                                  delta=delta)
    for key, value in theory.items():
        (m1, e1), (m2, e2) = small[key], large[key]
        extrap = 2 * m2 - m1
        err = math.hypot(2 * e2, e1)
        assert abs(extrap - value) <= 4 * err + 0.25 * abs(m2 - m1), (key, value, m1, m2, err)
