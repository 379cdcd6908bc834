r"""The kernel runtime (linear site with a response kernel) against exact results.

The linear network ∂_t x = −x + Jx + I + ξ, J_ij ~ N(0, g²/N), corr(J_ij, J_ji) = ρ, is
exactly solvable:

* N → ∞: the susceptibility is the elliptic-law resolvent G(z) = (z − √(z² − 4g²ρ))/(2g²ρ),
  z = 1 + iω, computed here independently (rationalised, principal branch);
* finite N: the stationary covariance Σ solves the Lyapunov equation AΣ + ΣAᵀ + D·1 = 0,
  A = J − 1, so C(τ) = tr(e^{Aτ}Σ)/N + (static spread of the fixed point (−A)⁻¹I·1).
  Averaged over 2 matrices at N = 400 and 4 at N = 200 (the scatter, ∝ 1/√N, pooled as
  N·variance over both sizes: 4 degrees of freedom), the N → ∞ theory must lie within 4
  standard errors plus the O(1/N) shift estimated from the two sizes (for
  m(N) = m∞ + c/N, m(400) − m∞ = m(200) − m(400)).
* λ_max: the rightmost eigenvalue of −1 + J (+ θ/N for a mean coupling) of one matrix,
  N = 1000, fixed seed. Tolerance from the edge's known finite-N behaviour, in units of
  the semi-axis s = g(1 + |ρ|): the Ginibre-class edge sits s·√(γ_N/4N) out, γ_N =
  ln(N/2π) − 2 ln ln N, with Gumbel fluctuations of width s/√(4Nγ_N) (Rider, J. Phys. A
  36, 3401 (2003)); an outlier fluctuates as a Gaussian of width O(s/√N). Bound:
  s·√(γ_N/4N) + Z·s/√N (≈ 0.1 s at N = 1000, above every one of those).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import linalg
from support.lyapunov import stationary_covariance

from fieldtheory.solvers.runtime.common import ConvergenceError, SiteSpec, SiteTerm
from fieldtheory.solvers.runtime.kernel import affine_coefficients, solve_kernel, susceptibility

Z = 4.0


def identity(x):
    return np.asarray(x, dtype=float) * 1.0


def ones(x):
    return np.ones_like(np.asarray(x, dtype=float))


def linear_site(g: float, rho: float, D: float, I: float = 0.0, phi=np.tanh, dphi=None):
    """The single site of the linear network (observed φ may be any function)."""
    term = SiteTerm(0, identity, identity, ones, ones, name="C_x")
    mean = SiteTerm(0, identity, name="m")
    return SiteSpec(
        populations=("x",),
        leak=np.array([1.0]),
        noise=np.array([D]),
        offset=np.array([I]),
        means=(mean,),
        mean_coupling=np.zeros((1, 1)),
        correlations=(term,),
        correlation_coupling=np.array([[g * g]]),
        responses=(term,),
        response_coupling=np.array([[g * g * rho]]),
        nonlinear=(None,),
        dnonlinear=(None,),
        phi=(phi,),
        dphi=(dphi or (lambda x: 1.0 / np.cosh(x) ** 2),),
    )


def elliptic_resolvent(z, g, rho):
    """G(z) = 2/(z + z√(1 − 4g²ρ/z²)) (principal root; no cut on Re z = 1 when stable)."""
    if rho == 0:
        return 1.0 / z
    return 2.0 / (z + z * np.sqrt(1.0 - 4 * g * g * rho / z**2))


@pytest.mark.parametrize("rho", [0.5, -0.5, 0.0, 0.9])
def test_susceptibility_is_the_elliptic_resolvent(rho):
    g = 0.6
    omega = np.linspace(-40.0, 40.0, 2001)
    chi = susceptibility([1.0], [[g * g * rho]], [0], omega)[0]
    np.testing.assert_allclose(
        chi, elliptic_resolvent(1.0 + 1j * omega, g, rho), rtol=1e-12, atol=0
    )


def test_iid_limit_is_exact():
    """ρ = 0: Δ(τ) = D e^{−κτ}/(2κ), κ = √(1 − g²), R(τ) = e^{−τ} (SCIENCE.md §1)."""
    g, D = 0.6, 0.8
    result = solve_kernel(linear_site(g, 0.0, D, phi=identity, dphi=ones), tau_max=6.0, dtau=0.25)
    tau = result["autocorrelation"]["tau"]
    kappa = math.sqrt(1 - g * g)
    np.testing.assert_allclose(
        result["autocorrelation"]["values"],
        D / (2 * kappa) * np.exp(-kappa * tau),
        rtol=0,
        atol=1e-8,
    )
    np.testing.assert_allclose(result["response"]["values"], np.exp(-tau), atol=1e-8)
    np.testing.assert_allclose(
        result["autocorrelation_phi"]["values"], result["autocorrelation"]["values"], atol=1e-8
    )
    assert result["mean_gain"] == pytest.approx(1.0) and result["branch"] == "noise_driven"


def test_response_is_the_inverse_transform_of_the_resolvent():
    """R(τ) against direct quadrature of (1/2π)∫dω e^{iωτ}[G(1 + iω) − 1/(1 + iω)] + e^{−τ}."""
    g, rho = 0.6, 0.5
    result = solve_kernel(linear_site(g, rho, 1.0), tau_max=3.0, dtau=1.0)
    omega = np.linspace(-400.0, 400.0, 400_001)
    rest = elliptic_resolvent(1 + 1j * omega, g, rho) - 1 / (1 + 1j * omega)
    for tau, value in zip(result["response"]["tau"], result["response"]["values"], strict=True):
        direct = np.trapezoid(rest * np.exp(1j * omega * tau), omega).real / (2 * np.pi)
        # the truncated tail |ω| > 400 of a ~ω⁻³ integrand contributes < 1e-6
        assert value == pytest.approx(direct + math.exp(-tau), abs=2e-6)


def finite_network(N: int, g: float, rho: float, D: float, I: float, taus, rng):
    """tr(e^{Aτ}Σ)/N + static spread, and the mean, for one elliptic J (exact, finite N)."""
    a, b = rng.standard_normal((2, N, N))
    J = math.sqrt((1 + rho) / 2) * (a + a.T) / math.sqrt(2)
    J += math.sqrt((1 - rho) / 2) * (b - b.T) / math.sqrt(2)
    J *= g / math.sqrt(N)
    A = J - np.eye(N)
    sigma = stationary_covariance(A, D * np.eye(N))
    # taus = 0, h, 2h, 4h, 8h: e^{Ah} once, then repeated squaring
    propagator, fluctuating = linalg.expm(A * taus[1]), [np.trace(sigma) / N]
    for _ in taus[1:]:
        fluctuating.append(np.sum(propagator * sigma.T) / N)
        propagator = propagator @ propagator
    fixed = np.linalg.solve(-A, np.full(N, I))
    return np.array(fluctuating) + fixed.var(), fixed.mean()


def assert_within_finite_size_bound(expected, network, sizes=None):
    """The N → ∞ values ``expected`` against exact finite networks: ``network(N, rng)``
    drawn 2 times at N = 400 and 4 times at N = 200; the scatter (∝ 1/√N) pooled as
    N·variance over both sizes, bound: the O(1/N) shift estimated from the two sizes plus
    Z standard errors (module docstring)."""
    sizes = sizes or {400: 2, 200: 4}
    rng = np.random.default_rng(17)
    runs = {N: np.array([network(N, rng) for _ in range(k)]) for N, k in sizes.items()}
    dof = sum(k - 1 for k in sizes.values())
    pooled = sum(N * ((r - r.mean(axis=0)) ** 2).sum(axis=0) for N, r in runs.items()) / dof
    m_big, m_small = (runs[N].mean(axis=0) for N in sizes)
    s_big, s_small = (np.sqrt(pooled / (N * k)) for N, k in sizes.items())
    shift = np.abs(m_small - m_big)  # the O(1/N) shift of the larger networks' average
    bound = shift + Z * np.sqrt(2 * s_big**2 + s_small**2)
    assert np.all(np.abs(m_big - expected) <= bound), (m_big, expected, bound)


@pytest.mark.parametrize("rho", [0.5, -0.5])
def test_linear_network_against_finite_size_lyapunov_solution(rho):
    g, D, I = 0.6, 1.0, 0.5
    taus = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    theory = solve_kernel(linear_site(g, rho, D, I), tau_max=4.0, dtau=0.5)
    index = np.round(taus / 0.5).astype(int)
    expected = np.append(theory["autocorrelation"]["values"][index], theory["mean"])
    assert_within_finite_size_bound(
        expected, lambda N, rng: np.append(*finite_network(N, g, rho, D, I, taus, rng)))
    # the mean input is amplified by the static susceptibility: M = I·G(1)
    assert theory["mean"] == pytest.approx(I * elliptic_resolvent(1.0, g, rho), rel=1e-12)


def elliptic_matrix(N: int, g: float, rho: float, rng) -> np.ndarray:
    """J_ij ~ N(0, g²/N), corr(J_ij, J_ji) = ρ: a symmetric plus an antisymmetric part."""
    X, Y = rng.standard_normal((2, N, N))
    symmetric, antisymmetric = (X + X.T) / math.sqrt(2), (Y - Y.T) / math.sqrt(2)
    return g / math.sqrt(N) * (math.sqrt((1 + rho) / 2) * symmetric
                               + math.sqrt((1 - rho) / 2) * antisymmetric)


@pytest.mark.parametrize(("g", "rho", "theta"), [(0.6, 0.5, 0.0), (0.5, -0.5, 0.9)])
def test_lyapunov_exponent_is_the_spectral_edge_of_finite_matrices(g, rho, theta):
    """λ_max = −1 + g(1 + ρ) (bulk), or the outlier −1 + θ + g²ρ/θ of a mean coupling
    θ > g, against the rightmost eigenvalue of −1 + J + θ/N at N = 1000."""
    spec = SiteSpec(**{**linear_site(g, rho, 0.0).__dict__, "mean_coupling": np.array([[theta]])})
    theory = solve_kernel(spec, tau_max=1.0, dtau=0.5)
    bulk, outlier = -1 + g * (1 + rho), -1 + theta + g * g * rho / max(theta, 1e-300)
    assert theory["lyapunov_max"] == pytest.approx(max(bulk, outlier) if theta > g else bulk,
                                                   rel=1e-12)
    assert theory["branch"] == "fixed_point"  # D = 0, stable: the network rests
    N = 1000
    J = elliptic_matrix(N, g, rho, np.random.default_rng(5)) + theta / N
    rightmost = float(np.linalg.eigvals(J).real.max()) - 1.0
    s = g * (1 + abs(rho))
    gamma = math.log(N / (2 * math.pi)) - 2 * math.log(math.log(N))
    bound = s * math.sqrt(gamma / (4 * N)) + Z * s / math.sqrt(N)
    assert abs(rightmost - theory["lyapunov_max"]) <= bound, (rightmost, theory["lyapunov_max"])


def test_unstable_outlier_is_refused():
    """An outlier at λ ≥ 0 leaves no stationary state (the mean grows)."""
    unstable = SiteSpec(**{**linear_site(0.5, 0.5, 1.0).__dict__,
                           "mean_coupling": np.array([[0.95]])})  # −1 + 0.95 + 0.125/0.95 > 0
    with pytest.raises(ConvergenceError, match="unstable"):
        solve_kernel(unstable, tau_max=1.0, dtau=0.5)


def test_two_identical_populations_reproduce_one():
    """Splitting a population in two halves (A, κ shared by halves) changes nothing."""
    g, rho, D = 0.6, -0.5, 1.0
    one = solve_kernel(linear_site(g, rho, D, 0.3), tau_max=3.0, dtau=0.5)
    terms = tuple(SiteTerm(p, identity, identity, ones, ones) for p in (0, 1))
    means = tuple(SiteTerm(p, identity) for p in (0, 1))
    half = np.full((2, 2), 0.5)
    spec = SiteSpec(
        populations=("a", "b"),
        leak=np.ones(2),
        noise=np.full(2, D),
        offset=np.full(2, 0.3),
        means=means,
        mean_coupling=np.zeros((2, 2)),
        correlations=terms,
        correlation_coupling=g * g * half,
        responses=terms,
        response_coupling=g * g * rho * half,
        nonlinear=(None, None),
        dnonlinear=(None, None),
        phi=(np.tanh,) * 2,
        dphi=(lambda x: 1 / np.cosh(x) ** 2,) * 2,
    )
    two = solve_kernel(spec, tau_max=3.0, dtau=0.5)
    assert two["lyapunov_max"] is None and "several populations" in two["lyapunov_note"]
    for name in ("a", "b"):
        part = two["populations"][name]
        for key in ("mean", "variance", "mean_phi", "mean_gain"):
            assert part[key] == pytest.approx(one[key], rel=1e-9), key
        for key in ("autocorrelation", "autocorrelation_phi", "response"):
            np.testing.assert_allclose(part[key]["values"], one[key]["values"], atol=1e-9)


def test_refusals():
    spec = linear_site(0.6, 0.5, 1.0)
    with pytest.raises(ValueError, match="drift must be linear"):
        solve_kernel(SiteSpec(**{**spec.__dict__, "nonlinear": (np.tanh,)}))
    tanh_term = SiteTerm(0, np.tanh, np.tanh)
    with pytest.raises(ValueError, match="affine"):
        solve_kernel(SiteSpec(**{**spec.__dict__, "correlations": (tanh_term,)}))
    with pytest.raises(ConvergenceError, match="unstable"):
        solve_kernel(linear_site(1.2, 0.0, 1.0))
    assert affine_coefficients(lambda x: 2 - 3 * np.asarray(x), "f") == (2.0, -3.0)


# ------------------------------------------------------------------------------- maps


def map_site(g: float, rho: float, D: float, delta: float = 0.5, I: float = 0.0,
             theta: float = 0.0) -> SiteSpec:
    """The lowered site of x(n+1) = (1 − δ)x + δ(Jx + I) + √(δD)ξ, J_ij ~ N(θ/N, g²/N),
    corr(J_ij, J_ji) = ρ: leak δ per step, A = δ²g², κ = δ²g²ρ, B = δθ, noise δD."""
    site = linear_site(delta * g, rho, delta * D, delta * I, phi=identity, dphi=ones)
    return SiteSpec(**{**site.__dict__, "leak": np.array([delta]), "step": delta,
                       "mean_coupling": np.array([[delta * theta]])})


def finite_map(N: int, g: float, rho: float, D: float, delta: float, I: float, theta: float,
               lags: int, rng) -> np.ndarray:
    """C(k) = tr(W^k Σ)/N + static spread (k < lags) and the mean of one network (exact:
    Σ = WΣWᵀ + δD·1 by the discrete Lyapunov equation, W = (1 − δ) + δ(J + θ/N))."""
    W = (1 - delta) * np.eye(N) + delta * (elliptic_matrix(N, g, rho, rng) + theta / N)
    sigma = linalg.solve_discrete_lyapunov(W, delta * D * np.eye(N))
    fixed = np.linalg.solve(np.eye(N) - W, np.full(N, delta * I))
    curve, power = [], np.eye(N)
    for _ in range(lags):
        curve.append(np.sum(power * sigma.T) / N)
        power = power @ W
    return np.append(np.array(curve) + fixed.var(), fixed.mean())


@pytest.mark.parametrize(("g", "rho"), [(0.6, 0.5), (0.8, -0.5)])
def test_map_against_finite_size_discrete_lyapunov_solution(g, rho):
    """A linear map with partial symmetry, input and mean coupling: C(k), k = 0…3, and the
    mean against exact finite networks (module docstring's bound)."""
    D, delta, I, theta = 0.3, 0.5, 0.4, 0.3
    theory = solve_kernel(map_site(g, rho, D, delta, I, theta), tau_max=1.5, dtau=0.5)
    assert np.allclose(theory["autocorrelation"]["tau"], delta * np.arange(4))
    expected = np.append(theory["autocorrelation"]["values"], theory["mean"])
    assert_within_finite_size_bound(
        expected, lambda N, rng: finite_map(N, g, rho, D, delta, I, theta, 4, rng))


def test_map_series_are_exact():
    """ρ = 0: Δ(k) = A r^k (module docstring of the map runtime); ρ ≠ 0: the response is
    the series of the elliptic resolvent at z = e^{iθ} − b, χ = Σ_n Cat_n κⁿ z^{−(2n+1)},
    i.e. R(m) = Σ_n Cat_n κⁿ C(m − 1, 2n) b^{m−1−2n} (R(0) = 0, R(1) = 1)."""
    g, D, delta = 0.8, 0.3, 0.5
    b = 1 - delta
    iid = solve_kernel(map_site(g, 0.0, D), tau_max=10.0, dtau=0.5)
    c = 1 + b * b - (delta * g) ** 2
    r, root = (c - math.sqrt(c * c - 4 * b * b)) / (2 * b), math.sqrt(c * c - 4 * b * b)
    k = np.arange(21)
    np.testing.assert_allclose(iid["autocorrelation"]["values"], delta * D / root * r**k,
                               rtol=1e-12)
    kappa = (delta * g) ** 2 * -0.5
    partial = solve_kernel(map_site(g, -0.5, D), tau_max=10.0, dtau=0.5)
    catalan = [math.comb(2 * n, n) // (n + 1) for n in range(11)]
    exact = [sum(catalan[n] * kappa**n * math.comb(m - 1, 2 * n) * b ** (m - 1 - 2 * n)
                 for n in range(m // 2 + 1)) if m else 0.0 for m in k]
    np.testing.assert_allclose(partial["response"]["values"], exact, atol=1e-14)
    assert partial["response"]["values"][3] != pytest.approx(b * b)  # the kernel acts


@pytest.mark.parametrize(("g", "rho", "theta"), [(0.8, -0.5, 0.0), (0.6, 0.5, 0.0),
                                                 (0.5, -0.5, 0.8)])
def test_map_lyapunov_exponent_is_the_spectral_radius_of_finite_matrices(g, rho, theta):
    """λ_max = log Λ/δ, Λ the spectral radius of (1 − δ) + δ(J + θ/N): for ρ = −0.5 the
    farthest point of the shifted ellipse is off the real axis (Λ = 0.8008 at g = 0.8,
    against 0.7 at the real end, ruled out), then the bulk's real end, then a
    mean-coupling outlier. Bound: the continuous-time test's edge bound for δJ, over Λδ."""
    delta = 0.5
    theory = solve_kernel(map_site(g, rho, 0.0, delta, 0.0, theta), tau_max=1.0, dtau=0.5)
    N = 1000
    W = (1 - delta) * np.eye(N) + delta * (elliptic_matrix(N, g, rho, np.random.default_rng(5))
                                           + theta / N)
    radius = float(np.abs(np.linalg.eigvals(W)).max())
    s = delta * g * (1 + abs(rho))
    gamma = math.log(N / (2 * math.pi)) - 2 * math.log(math.log(N))
    bound = (s * math.sqrt(gamma / (4 * N)) + Z * s / math.sqrt(N)) / (radius * delta)
    assert abs(math.log(radius) / delta - theory["lyapunov_max"]) <= bound
    if theta == 0 and rho < 0:
        real_end = math.log(1 - delta + delta * g * (1 + rho)) / delta
        assert theory["lyapunov_max"] == pytest.approx(math.log(0.80078) / delta, abs=1e-4)
        assert abs(math.log(radius) / delta - real_end) > bound
    if theta:
        outlier = 1 - delta + delta * (theta + g * g * rho / theta)
        assert theory["lyapunov_max"] == pytest.approx(math.log(outlier) / delta, rel=1e-12)


def test_unstable_maps_are_refused():
    with pytest.raises(ConvergenceError, match="unstable"):
        solve_kernel(map_site(0.8, 0.5, 0.3))  # Λ = 0.5 + 0.4·1.5 = 1.1
    with pytest.raises(ValueError, match=r"\(0, 2\)"):
        solve_kernel(SiteSpec(**{**map_site(0.5, 0.5, 0.3).__dict__, "leak": np.array([2.5])}))
