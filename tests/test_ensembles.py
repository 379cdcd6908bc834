"""Sampled couplings against their known finite-N statistics.

Every tolerance is derived here from the statistics of the sample (a standard error, a
binomial error, or an exact finite-N formula) and stated next to its check; seeds are
fixed. z = 4 standard errors is the threshold for moment checks (p ≈ 6e-5 per check).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.ir import DenseCoupling, LowRankCoupling, population_sizes

Z = 4.0
J = ft.Coupling("J")


def sample(ensemble, N, values, seed=0):
    pops = ensemble.populations()
    sizes = population_sizes(pops, N, values) if pops else (N,)
    return ensemble.sample(np.random.default_rng(seed), sizes, values)


def binomial_error(p: float, N: int) -> float:
    """σ of a fraction of N independent points. Eigenvalues repel, so the fraction of N
    eigenvalues in a region fluctuates less than this: a conservative tolerance."""
    return math.sqrt(p * (1 - p) / N)


# --- iid Gaussian: entry moments and the circular law -------------------------------------


def test_iid_gaussian_entry_mean_and_variance():
    N, J0, g = 1000, 1.5, 2.0
    A = ft.Gaussian(J0, g**2).sample(np.random.default_rng(1), [N], {}).dense()
    entries = A.ravel()
    var = g**2 / N
    # mean of N² iid entries: σ = √(var/N²); sample variance: σ = var √(2/(N² − 1))
    assert abs(entries.mean() - J0 / N) < Z * math.sqrt(var / N**2)
    assert abs(entries.var(ddof=1) - var) < Z * var * math.sqrt(2 / (N**2 - 1))
    # iid: no correlation between J_ij and J_ji (σ of a sample correlation ≈ 1/√m)
    upper = np.triu_indices(N, 1)
    r = np.corrcoef(A[upper], A.T[upper])[0, 1]
    assert abs(r) < Z / math.sqrt(N * (N - 1) / 2)


def test_circular_law_for_iid_gaussian():
    N, g = 1000, 1.5
    A = ft.Gaussian(0, g**2).sample(np.random.default_rng(2), [N], {}).dense()
    radius = np.abs(np.linalg.eigvals(A)) / g
    # spectral radius of an N×N Ginibre matrix: 1 + √(γ_N/4N) + Gumbel/√(4Nγ_N),
    # γ_N = log(N/2π) − 2 log log N ≈ 1.2 at N = 1000 (Rider 2003): 3/√N covers the shift
    # (0.55/√N) and > 5 Gumbel widths (0.45/√N)
    edge = 3 / math.sqrt(N)
    assert radius.max() < 1 + edge
    assert radius.max() > 1 - edge  # the eigenvalues reach the edge: they fill the disc
    for r in (0.25, 0.5, 0.75, 0.9):
        # uniform density on the disc: a fraction r² lies within radius r·g
        assert abs(np.mean(radius < r) - r**2) < 3 * binomial_error(r**2, N), r


# --- partial symmetry: correlation and the elliptic law -------------------------------------


def test_partial_symmetry_correlation_and_elliptic_law():
    N, g, rho = 1000, 1.2, 0.5
    A = ft.Gaussian(0, g**2, rho).sample(np.random.default_rng(3), [N], {}).dense()
    upper = np.triu_indices(N, 1)
    pairs = N * (N - 1) / 2
    r = np.corrcoef(A[upper], A.T[upper])[0, 1]
    # σ of a sample correlation of m bivariate-normal pairs ≈ (1 − ρ²)/√m
    assert abs(r - rho) < Z * (1 - rho**2) / math.sqrt(pairs)
    off = A[upper]
    assert abs(off.var() - g**2 / N) < Z * (g**2 / N) * math.sqrt(2 / pairs)

    eigenvalues = np.linalg.eigvals(A)
    a, b = g * (1 + rho), g * (1 - rho)  # semi-axes of the elliptic law
    # the edges are soft over O(g/√N); 3g/√N as for the circular law
    edge = 3 * g / math.sqrt(N)
    assert abs(eigenvalues.real.max() - a) < edge and abs(eigenvalues.real.min() + a) < edge
    assert abs(eigenvalues.imag.max() - b) < edge and abs(eigenvalues.imag.min() + b) < edge
    scaled = np.hypot(eigenvalues.real / a, eigenvalues.imag / b)
    for s in (0.5, 0.8):
        # uniform density on the ellipse: a fraction s² lies within the ellipse scaled by s
        assert abs(np.mean(scaled < s) - s**2) < 3 * binomial_error(s**2, N), s


def test_antisymmetric_and_symmetric_limits_are_exact():
    rng = np.random.default_rng(4)
    sym = ft.Gaussian(0, 1, 1).sample(rng, [50], {}).dense()
    anti = ft.Gaussian(0, 1, -1).sample(rng, [50], {}).dense()
    off = ~np.eye(50, dtype=bool)
    np.testing.assert_allclose(sym[off], sym.T[off], atol=1e-15)
    np.testing.assert_allclose(anti[off], -anti.T[off], atol=1e-15)


# --- block-structured Gaussian ------------------------------------------------------------


def test_block_gaussian_blocks_match_their_moments():
    f = sp.Symbol("f_E", real=True)
    blocks = {
        ("E", "E"): (1.0, 0.25),
        ("E", "I"): (-4.0, 1.0),
        ("I", "E"): (2.0, 2.25),
        ("I", "I"): (-3.0, 4.0),
    }
    ensemble = ft.BlockGaussian(
        (ft.Population("E", f), ft.Population("I", 1 - f)),
        tuple(ft.Block(tgt, src, m, v) for (tgt, src), (m, v) in blocks.items()),
    )
    N, values = 1000, {"f_E": 0.8}
    sizes = population_sizes(ensemble.populations(), N, values)
    assert sizes == (800, 200)
    A = ensemble.sample(np.random.default_rng(5), sizes, values).dense()
    rows = {"E": slice(0, 800), "I": slice(800, 1000)}
    for (target, source), (mean, variance) in blocks.items():
        block = A[rows[target], rows[source]].ravel()
        m, var = block.size, variance / N  # N is the total size, not the block's
        assert abs(block.mean() - mean / N) < Z * math.sqrt(var / m), (target, source)
        assert abs(block.var(ddof=1) - var) < Z * var * math.sqrt(2 / (m - 1)), (target, source)


def test_block_gaussian_absent_edges_are_zero_blocks():
    ensemble = ft.BlockGaussian(
        (ft.Population("E", sp.Rational(3, 4)), ft.Population("I", sp.Rational(1, 4))),
        (ft.Block("E", "E", 1, 1), ft.Block("E", "I", -1, 1)),
    )
    A = sample(ensemble, 40, {}).dense()
    assert np.all(A[30:, :] == 0) and np.all(A[:30, :] != 0)


def test_block_gaussian_graph_round_trip_and_orientation():
    """An edge source → target is the block J[target rows, source columns]."""
    ensemble = ft.load_model("ei").action.ensembles[J]
    assert ft.BlockGaussian.from_graph(ensemble.graph) == ensemble
    block = {(b.target, b.source): b for b in ensemble.blocks}
    assert block[("E", "I")].mean == sp.Symbol("J0_EI", real=True)


# --- random modes -------------------------------------------------------------------------


def exponential_modes(alpha=0.25, gain=2.0, overlap=0.0):
    a, M = ft.MODE_INDEX, ft.MODE_COUNT
    beta = sp.Symbol("beta", real=True)
    ensemble = ft.RandomMode(alpha, sp.exp(-beta * (a - sp.Rational(1, 2)) / M), gain, overlap)
    return ensemble, {"beta": 3.0}


def test_random_mode_spectrum_is_normalised_exactly():
    ensemble, values = exponential_modes()
    for N in (100, 1000, 1001):
        d = ensemble.modes(N, values)
        assert d.size == round(0.25 * N)
        assert math.isclose(np.sum(d**2) / N, 4.0, rel_tol=1e-12)
        # the exponential shape survives the normalisation
        np.testing.assert_allclose(d[1:] / d[:-1], math.exp(-3.0 / d.size), rtol=1e-12)


def test_random_mode_array_spectrum_is_used_as_is_at_length_m():
    shape = tuple(np.linspace(2.0, 0.5, 25))
    ensemble = ft.RandomMode(sp.Rational(1, 4), shape)
    np.testing.assert_allclose(ensemble.modes(100, {}), shape, rtol=1e-14)
    # another length is interpolated at the mode positions (a − ½)/M of (0, 1)
    d = ensemble.modes(200, {})
    assert d.size == 50 and d[0] == 2.0 and d[-1] == 0.5
    assert np.all(np.diff(d) <= 0)


def test_random_mode_product_is_the_dense_product():
    ensemble, values = exponential_modes()
    J_sampled = sample(ensemble, 300, values)
    assert isinstance(J_sampled, LowRankCoupling)
    dense = J_sampled.dense()
    rng = np.random.default_rng(6)
    for v in (rng.standard_normal(300), rng.standard_normal((300, 4))):
        np.testing.assert_allclose(J_sampled.matvec(v), dense @ v, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(J_sampled.rmatvec(v), dense.T @ v, rtol=1e-12, atol=1e-12)
    assert J_sampled.nbytes < dense.nbytes


@pytest.mark.parametrize(
    ("alpha", "factorised"), [(0.25, True), (0.49, True), (0.5, False), (1.0, False)]
)
def test_random_mode_is_factorised_only_while_m_is_below_half_n(alpha, factorised):
    ensemble, values = exponential_modes(alpha)
    J_sampled = sample(ensemble, 200, values)
    assert isinstance(J_sampled, LowRankCoupling if factorised else DenseCoupling)


def test_random_mode_second_moment_of_j():
    r"""(1/N) tr(J Jᵀ) = g² on average, with the exact variance of its fluctuation.

    T = tr(J Jᵀ) = Σ_ab d_a d_b (l_a·l_b)(r_a·r_b), l, r with iid N(0, 1/N) entries:
    E T = Σ_a d_a²; Var T = ((1 + 2/N)² − 1) Σ d_a⁴ (|l_a|² = χ²_N/N on the diagonal)
    + 2 [(Σ d_a²)² − Σ d_a⁴]/N² (each (l_a·l_b)(r_a·r_b) has variance 1/N²); all cross
    covariances are odd in some mode and vanish.
    """
    N = 1000
    ensemble, values = exponential_modes(alpha=0.25, gain=2.0)
    d = ensemble.modes(N, values)
    d2, d4 = np.sum(d**2), np.sum(d**4)
    sigma = math.sqrt(((1 + 2 / N) ** 2 - 1) * d4 + 2 * (d2**2 - d4) / N**2) / N
    stats = []
    for seed in range(12):
        s = sample(ensemble, N, values, seed)
        # tr(L D Rᵀ R D Lᵀ) = tr(D (RᵀR) D (LᵀL)), O(N M²)
        gram_l, gram_r = s.left.T @ s.left, s.right.T @ s.right
        stats.append(np.sum((d[:, None] * gram_r * d[None, :]) * gram_l) / N)
    z = (np.array(stats) - 4.0) / sigma
    assert np.all(np.abs(z) < Z), z
    # and the derived σ is the fluctuation's size: the spread of 12 samples, s/σ, lies in
    # the 99.9% interval √(χ²₁₁/11) ∈ (0.49, 1.73)
    assert 0.45 < np.std(stats, ddof=1) / sigma < 1.75


def test_random_mode_overlap_correlates_left_and_right_modes():
    N, rho = 1000, 0.6
    ensemble, values = exponential_modes(alpha=0.25, overlap=rho)
    s = sample(ensemble, N, values, seed=9)
    M = s.strengths.size
    corr = np.sum(s.left * s.right, axis=0) / (
        np.linalg.norm(s.left, axis=0) * np.linalg.norm(s.right, axis=0)
    )
    signs = np.sign(corr)  # the estimate of σ_a: |corr| ≫ its spread (1 − ρ²)/√N
    spread = (1 - rho**2) / math.sqrt(N)
    assert np.all(np.abs(corr) > rho - 6 * spread)
    # corr(l_a, r_a)·σ_a = overlap, averaged over M modes: σ = spread/√M
    assert abs(np.mean(corr * signs) - rho) < Z * spread / math.sqrt(M)
    # each mode scatters like one sample correlation; s/σ over M = 250 modes is within
    # 1 ± 4/√(2M)
    assert abs(np.std(corr * signs, ddof=1) / spread - 1) < Z / math.sqrt(2 * M)
    # the signs σ_a are fair coins
    assert abs(np.mean(signs > 0) - 0.5) < Z * binomial_error(0.5, M)
    # entries of the right modes keep variance 1/N
    assert abs(s.right.var() * N - 1) < Z * math.sqrt(2 / (N * M))


def test_exponential_spectrum_participation_ratio():
    r"""PR_D = (Σd²)²/(M Σd⁴) for d_a ∝ exp(−β(a − ½)/M).

    Summing the geometric series exactly: PR_D(M) = tanh(β) coth(β/M)/M, which tends to
    tanh(β)/β (SCIENCE.md §3) as PR_D(M)/PR_∞ − 1 = β²/(3M²) − β⁴/(45M⁴) + …
    """
    beta = 3.0
    ensemble, values = exponential_modes(alpha=1.0)
    limit = math.tanh(beta) / beta
    errors = []
    for M in (250, 500, 1000, 2000):
        d = ensemble.modes(M, values)
        pr = np.sum(d**2) ** 2 / (M * np.sum(d**4))
        assert math.isclose(pr, math.tanh(beta) / (math.tanh(beta / M) * M), rel_tol=1e-12)
        predicted = beta**2 / (3 * M**2) - beta**4 / (45 * M**4)
        assert math.isclose(pr / limit - 1, predicted, rel_tol=1e-3)
        errors.append(pr / limit - 1)
    # second-order convergence: the log-log slope of the error in M is −2
    slope = np.polyfit(np.log([250, 500, 1000, 2000]), np.log(errors), 1)[0]
    assert abs(slope + 2) < 1e-3


# --- spectral-radius bounds ---------------------------------------------------------------


def _gaussian(mean, variance, rho):
    return ft.Gaussian(mean, variance, rho), {}


BOUND_CASES = {
    "iid": (*_gaussian(0, 2.25, 0), True),
    "weak mean inside the bulk": (*_gaussian(0.5, 1, 0), True),
    "elliptic": (*_gaussian(0, 1.44, 0.5), True),
    # a mean outside the bulk: outlier J0 + rho g²/J0, not J0 (2.45 here, not 2)
    "outlier with symmetry": (*_gaussian(2, 1, 0.9), True),
    "outlier with antisymmetry": (*_gaussian(-2.5, 1, -0.5), True),
    "block (ei)": (
        ft.load_model("ei").action.ensembles[J],
        ft.load_model("ei").parameters.defaults(),
        True,
    ),
    # ‖L‖‖R‖ max|d| is an upper bound only: the bulk radius is g, the bound ≈ 10 g
    "random mode": (*exponential_modes(alpha=0.25), False),
    "random mode with overlap": (*exponential_modes(alpha=0.25, overlap=0.9), False),
}


@pytest.mark.parametrize("case", list(BOUND_CASES))
def test_spectral_radius_bound_holds_for_samples(case):
    ensemble, values, tight = BOUND_CASES[case]
    N = 500
    radius = np.abs(np.linalg.eigvals(sample(ensemble, N, values, seed=10).dense())).max()
    bound = ensemble.spectral_radius_bound(values)
    # edge and outliers fluctuate by O(N^{-1/2}); 3/√N as for the circular law
    small = 3 / math.sqrt(N)
    assert bound >= radius * (1 - small), (bound, radius)
    if tight:  # the Gaussian bounds are the N → ∞ radius itself, not only a bound
        assert bound <= radius * (1 + small), (bound, radius)


def test_gaussian_bound_formula():
    assert ft.Gaussian(2, 1, 0.9).spectral_radius_bound({}) == pytest.approx(2.45)
    assert ft.Gaussian(-2.5, 1, -0.5).spectral_radius_bound({}) == pytest.approx(2.3)
    assert ft.Gaussian(0.5, 1, 0.5).spectral_radius_bound({}) == pytest.approx(1.5)
