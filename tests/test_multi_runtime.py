"""The multi-population stationary runtime (runtime/multi.py) against independent routes.

* one population, one ⟨φφ⟩ term: the single-population runtime ``stationary.py`` (the same
  lattice equations, so identical to round-off when both use the same μ; otherwise within
  the O(h²) lattice error, estimated by halving the step);
* two identical populations: exactly the one-population problem (a symmetry);
* linear φ: the closed-form frequency-domain solution of the Gaussian linear network;
* two terms ⟨φφ⟩ + ⟨ψψ⟩ (+ ⟨φψ⟩ + ⟨ψφ⟩): the static fixed point by mpmath quadrature;
* simulations: two couplings (tanh and erf) in one population, and an E/I network with
  unequal gains and means, compared per population after removing the O(1/N) bias.
"""

from __future__ import annotations

import math

import mpmath
import networkx as nx
import numpy as np
import pytest
from scipy import integrate
from scipy.special import erf

import fieldtheory as ft
from fieldtheory.solvers.runtime.common import ConvergenceError, SiteSpec, SiteTerm
from fieldtheory.solvers.runtime.multi import solve_multi
from fieldtheory.solvers.runtime.stationary import solve_stationary
from fieldtheory.verify import compare

SQPI = math.sqrt(math.pi) / 2


def tanh(x):
    return np.tanh(x)


def dtanh(x):
    return 1.0 / np.cosh(x) ** 2


def erfs(x):
    """φ(x) = erf(√π x/2) (slope 1 at 0)."""
    return erf(SQPI * np.asarray(x))


def derfs(x):
    return np.exp(-((SQPI * np.asarray(x)) ** 2))


def ident(x):
    return np.asarray(x, dtype=float)


def one(x):
    return np.ones_like(np.asarray(x, dtype=float))


def spec_from_blocks(
    names, leak, noise, offset, mean_coupling, correlation_coupling, phi=tanh, dphi=dtanh
) -> SiteSpec:
    """P populations, mean terms m_β = ⟨φ⟩_β and correlation terms C_β = ⟨φφ⟩_β per β."""
    P = len(names)
    means = tuple(SiteTerm(b, phi, None, dphi, None, f"m_{names[b]}") for b in range(P))
    terms = tuple(SiteTerm(b, phi, phi, dphi, dphi, f"C_{names[b]}") for b in range(P))
    return SiteSpec(
        tuple(names),
        np.asarray(leak, float),
        np.asarray(noise, float),
        np.asarray(offset, float),
        means,
        np.asarray(mean_coupling, float),
        terms,
        np.asarray(correlation_coupling, float),
        (),
        np.zeros((P, 0)),
        (None,) * P,
        (None,) * P,
        (phi,) * P,
        (dphi,) * P,
    )


def single(g, J0=0.0, I=0.0, D=0.0, a=1.0) -> SiteSpec:
    return spec_from_blocks(("x",), [a], [D], [I], [[J0]], [[g * g]])


# ----------------------------------------------------------------- one population


@pytest.mark.parametrize("g, D", [(1.5, 0.0), (2.0, 0.0), (3.0, 0.0), (2.0, 0.5), (0.8, 0.0)])
def test_one_population_equals_the_stationary_runtime(g, D):
    """μ = 0 exactly in both: the same lattice equations, solved to round-off by Newton.

    Tolerance: both Newton iterations stop at residual ~1e-12 of a problem whose Jacobian
    has condition ~1/h² ≈ 400; 1e-8 relative covers that with margin.
    """
    kw = dict(tau_max=10.0, dtau=0.25, step_max=0.05, box=60.0)
    mine = solve_multi(single(g, D=D, I=0.0 if g > 1 else 0.3), **kw)
    ref = solve_stationary(tanh, dtanh, g, D=D, I=0.0 if g > 1 else 0.3, method="lattice",
                           **kw)
    assert mine["branch"] == ref.branch
    assert np.allclose(
        mine["autocorrelation"]["values"], ref.autocorrelation, rtol=1e-8, atol=1e-10
    )
    assert np.allclose(
        mine["autocorrelation_phi"]["values"], ref.autocorrelation_phi, rtol=1e-8, atol=1e-10
    )
    assert mine["lyapunov_max"] == pytest.approx(ref.lyapunov, rel=1e-8, abs=1e-10)
    for key in ("mean", "mean_phi"):
        assert mine[key] == pytest.approx(ref.observables()[key], rel=1e-8, abs=1e-10)
    # ⟨φ'⟩ of stationary.py is at its continuum Δ0; here at the lattice Δ(0) (adaptive quad)
    mu, q = mine["mean"], mine["variance"]
    gain = integrate.quad(
        lambda z: dtanh(mu + math.sqrt(q) * z) * math.exp(-z * z / 2),
        -np.inf,
        np.inf,
        epsabs=1e-14,
        epsrel=1e-13,
    )[0] / math.sqrt(2 * math.pi)
    assert mine["mean_gain"] == pytest.approx(gain, rel=1e-10)
    assert "populations" not in mine


def test_mean_coupling_agrees_to_the_lattice_error():
    """J0 ≠ 0, I ≠ 0: stationary.py takes μ from the continuum energy condition, this runtime
    from the lattice; each differs from the continuum by O(h²), whose size the Richardson
    estimate (4/3)|X_h − X_{h/2}| gives; the two solvers' errors are bounded by twice it.
    """
    kw = dict(tau_max=10.0, dtau=0.25, box=60.0)
    coarse = solve_multi(single(2.0, J0=0.5, I=0.3), step_max=0.05, **kw)
    fine = solve_multi(single(2.0, J0=0.5, I=0.3), step_max=0.025, **kw)
    ref = solve_stationary(tanh, dtanh, 2.0, J0=0.5, I=0.3, step_max=0.05, method="lattice",
                           **kw)
    for key, theirs in (
        ("mean", ref.static.mean),
        ("variance", ref.delta0),
        ("mean_phi", ref.static.mean_phi),
        ("mean_gain", ref.static.mean_gain),
        ("lyapunov_max", ref.lyapunov),
    ):
        error = 4.0 / 3.0 * abs(coarse[key] - fine[key])
        assert abs(coarse[key] - theirs) <= 2 * error + 1e-12, key
        assert error < 1e-3 * max(abs(theirs), 1e-3)  # and the scheme is second order
    assert np.abs(coarse["autocorrelation"]["values"] - ref.autocorrelation).max() <= (
        2
        * 4
        / 3
        * np.abs(coarse["autocorrelation"]["values"] - fine["autocorrelation"]["values"]).max()
        + 1e-12
    )


def test_leak_sets_the_time_unit():
    """a ≠ 1 is the a = 1 problem with t' = a t, g → g/a, D → D/a (exact on the lattice)."""
    a, g, D = 2.0, 3.0, 0.4
    mine = solve_multi(single(g, D=D, a=a), tau_max=5.0, dtau=0.125, step_max=0.025, box=30)
    ref = solve_stationary(
        tanh, dtanh, g / a, D=D / a, tau_max=10.0, dtau=0.25, step_max=0.05, box=60,
        method="lattice",
    )
    assert np.allclose(mine["autocorrelation"]["values"], ref.autocorrelation, rtol=1e-8)
    assert mine["lyapunov_max"] == pytest.approx(a * ref.lyapunov, rel=1e-8)


def test_fixed_point_branch_and_its_exponent():
    """g = 0.8 with I: stable fixed point, λ = −1 + g√⟨φ'²⟩ (closed form, SCIENCE.md §1)."""
    out = solve_multi(single(0.8, I=0.5), tau_max=5.0)
    assert out["branch"] == "fixed_point"
    q, M = out["variance"], out["mean"]
    z, w = np.polynomial.hermite_e.hermegauss(120)
    w = w / w.sum()
    assert q == pytest.approx(0.64 * (w @ np.tanh(M + math.sqrt(q) * z) ** 2), rel=1e-12)
    gain2 = w @ dtanh(M + math.sqrt(q) * z) ** 2
    assert out["lyapunov_max"] == pytest.approx(-1 + 0.8 * math.sqrt(gain2), rel=1e-12)
    assert np.all(out["autocorrelation"]["values"] == q)


# ----------------------------------------------------------------- two populations


@pytest.mark.parametrize(
    "g, J0, I, D", [(2.0, 0.0, 0.0, 0.0), (2.0, 0.6, 0.3, 0.0), (2.0, 0.0, 0.0, 0.5)]
)
def test_identical_blocks_reduce_to_one_population(g, J0, I, D):
    """Halves with A_αβ = g²/2 and B_αβ = J0/2: the symmetric solution is the P = 1 one."""
    kw = dict(tau_max=10.0, step_max=0.05, box=60.0)
    two = solve_multi(
        spec_from_blocks(
            ("A", "B"), [1, 1], [D, D], [I, I], np.full((2, 2), J0 / 2), np.full((2, 2), g * g / 2)
        ),
        **kw,
    )
    ref = solve_multi(single(g, J0=J0, I=I, D=D), **kw)
    assert set(two["populations"]) == {"A", "B"}
    for name in ("A", "B"):
        pop = two["populations"][name]
        for key in ("mean", "variance", "mean_phi", "mean_gain"):
            assert pop[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-12), key
        assert np.allclose(
            pop["autocorrelation"]["values"], ref["autocorrelation"]["values"], rtol=1e-9
        )
    assert two["lyapunov_max"] == pytest.approx(ref["lyapunov_max"], rel=1e-8, abs=1e-12)
    assert two["branch"] == ref["branch"]


def linear_exact(a, D, I, B, A, tau):
    r"""Closed form of P = 2 linear populations (φ = x): means, plateau and Δ_α(τ).

    a M = I + B M; Δ = Δ∞ + δ with (diag(a²) − A)Δ∞ = A M² and, in frequency,
    (a_α² + ω²) S_α = D_α + Σ_β A_αβ S_β, so S = N_α(ω²)/((ω² + κ1²)(ω² + κ2²)), κ² the
    eigenvalues of diag(a²) − A; partial fractions and ∫dω/2π e^{iωτ}/(ω² + κ²) =
    e^{−κ|τ|}/(2κ) give δ_α(τ) = Σ_i c_αi e^{−κ_i τ}/(2κ_i).
    """
    M = np.linalg.solve(np.diag(a) - B, I)
    plateau = np.linalg.solve(np.diag(a**2) - A, A @ M**2)
    k2 = np.sort(np.linalg.eigvals(np.diag(a**2) - A).real)
    out = []
    for al in range(2):
        be = 1 - al

        def numerator(w2, al=al, be=be):
            return D[al] * (a[be] ** 2 + w2 - A[be, be]) + A[al, be] * D[be]

        c1 = numerator(-k2[0]) / (k2[1] - k2[0])
        c2 = numerator(-k2[1]) / (k2[0] - k2[1])
        kap = np.sqrt(k2)
        out.append(
            plateau[al]
            + c1 * np.exp(-kap[0] * tau) / (2 * kap[0])
            + c2 * np.exp(-kap[1] * tau) / (2 * kap[1])
        )
    return M, plateau, np.array(out)


def test_linear_populations_are_exact():
    """φ = x, two populations with unequal leaks, noise and means: closed form.

    The lattice error is O(h²): the Richardson estimate (4/3)|X_h − X_{h/2}| must bound the
    error at h (within the factor 1.1 of the next order), and halving must cut it by 4.
    """
    a, D, I = np.array([1.0, 2.0]), np.array([0.5, 1.0]), np.array([0.3, -0.2])
    B = np.array([[0.4, -0.6], [0.5, -0.3]])
    A = np.array([[0.3, 0.5], [0.6, 0.8]])
    spec = spec_from_blocks(("E", "I"), a, D, I, B, A, phi=ident, dphi=one)
    kw = dict(tau_max=8.0, dtau=0.25, box=60.0)
    coarse = solve_multi(spec, step_max=0.05, **kw)
    fine = solve_multi(spec, step_max=0.025, **kw)
    tau = coarse["autocorrelation"]["tau"]
    M, _, exact = linear_exact(a, D, I, B, A, tau)
    for al, name in enumerate(("E", "I")):
        c, f = coarse["populations"][name], fine["populations"][name]
        assert c["mean"] == pytest.approx(M[al], rel=1e-11)  # means: no lattice error
        err_c = c["autocorrelation"]["values"] - exact[al]
        err_f = f["autocorrelation"]["values"] - exact[al]
        estimate = 4 / 3 * np.abs(c["autocorrelation"]["values"] - f["autocorrelation"]["values"])
        assert np.all(np.abs(err_c) <= 1.1 * estimate + 1e-12)
        assert np.abs(err_c).max() / np.abs(err_f).max() == pytest.approx(4.0, rel=0.05)
    # the tangent of a linear network is the network: W = A for all τ, so the Perron mode
    # is τ-constant and det(diag((a + λ)²) − A) = 0 (lattice mode k = 0: no h error)
    assert coarse["branch"] == "noise_driven"
    lam = coarse["lyapunov_max"]
    assert abs(np.linalg.det(np.diag((a + lam) ** 2) - A)) < 1e-9


def test_linear_exponent_is_the_slowest_decay():
    """φ = x without noise: the fixed point q = 0 is stable; λ_max solves
    ρ(diag(1/(a + λ)²) A) = 1, checked against the 2 × 2 determinant."""
    a = np.array([1.0, 2.0])
    A = np.array([[0.3, 0.5], [0.6, 0.8]])
    spec = spec_from_blocks(("E", "I"), a, [0, 0], [0, 0], np.zeros((2, 2)), A, phi=ident, dphi=one)
    out = solve_multi(spec, tau_max=2.0)
    assert out["branch"] == "fixed_point"
    lam = out["lyapunov_max"]
    matrix = np.diag((a + lam) ** 2) - A
    assert abs(np.linalg.det(matrix)) < 1e-10
    assert np.all(np.linalg.eigvals(matrix).real >= -1e-10)


# ----------------------------------------------------------------- several terms


def two_term_spec(g, h, c=0.0, I=0.0, D=0.0, psi=erfs, dpsi=derfs) -> SiteSpec:
    """Input g²⟨φφ⟩ + h²⟨ψψ⟩ + c(⟨φψ⟩ + ⟨ψφ⟩), φ = tanh, one population."""
    terms = (
        SiteTerm(0, tanh, tanh, dtanh, dtanh, "C_tanh"),
        SiteTerm(0, psi, psi, dpsi, dpsi, "C_psi"),
        SiteTerm(0, tanh, psi, dtanh, dpsi, "C_tanh_psi"),
        SiteTerm(0, psi, tanh, dpsi, dtanh, "C_psi_tanh"),
    )
    return SiteSpec(
        ("x",),
        np.ones(1),
        np.array([D]),
        np.array([I]),
        (),
        np.zeros((1, 0)),
        terms,
        np.array([[g * g, h * h, c, c]]),
        (),
        np.zeros((1, 0)),
        (None,),
        (None,),
        (tanh,),
        (dtanh,),
    )


def _mp_fixed_point_error(q, g, h, c, I, psi):
    """Error of q as a root of q = F(q) = E[(g²φ² + h²ψ² + 2cφψ)(u)], u ~ N(I, q).

    mpmath quadrature at 20 digits; the error is (F(q) − q)/(1 − F'(q)), Newton's correction,
    with F' by a central difference (its error only scales the correction).
    """
    mpmath.mp.dps = 20

    def rhs(q):
        def integrand(z):
            u = I + mpmath.sqrt(q) * z
            p, s = mpmath.tanh(u), psi(u)
            return (g**2 * p**2 + h**2 * s**2 + 2 * c * p * s) * mpmath.npdf(z)

        return mpmath.quad(integrand, [-mpmath.inf, -3, 0, 3, mpmath.inf])

    q = mpmath.mpf(q)
    step = mpmath.mpf(1e-6) * q
    slope = (rhs(q + step) - rhs(q - step)) / (2 * step)
    return float((rhs(q) - q) / (1 - slope))


@pytest.mark.parametrize("psi_name", ["erf", "identity"])
def test_two_terms_static_fixed_point_against_mpmath(psi_name):
    """g = 0.6, h = 0.5, c = 0.1 (stable): the fixed point to quadrature accuracy.

    Stability (module doc): S = (g²⟨φ'²⟩ + h²⟨ψ'²⟩ + 2c⟨φ'ψ'⟩)/a² < 1 here.
    """
    if psi_name == "erf":
        psi, dpsi = erfs, derfs
        mp_psi = lambda u: mpmath.erf(mpmath.sqrt(mpmath.pi) / 2 * u)  # noqa: E731
    else:
        psi, dpsi, mp_psi = ident, one, (lambda u: u)
    out = solve_multi(two_term_spec(0.6, 0.5, 0.1, I=0.4, psi=psi, dpsi=dpsi), tau_max=2.0)
    assert out["branch"] == "fixed_point"
    q = out["variance"]
    assert abs(_mp_fixed_point_error(q, 0.6, 0.5, 0.1, 0.4, mp_psi)) <= 1e-11 * q
    assert out["mean"] == pytest.approx(0.4, rel=1e-14)
    assert out["lyapunov_max"] < 0


def test_negative_tangent_kernel_refuses_the_exponent():
    """A negative coefficient A_01 makes W_01 = A_01⟨φ'φ'⟩ < 0: no Perron–Frobenius
    argument, so λ_max is refused (None) with a note naming why; the rest is solved."""
    spec = spec_from_blocks(
        ("A", "B"), [1, 1], [0, 0], [0.4, 0.2], np.zeros((2, 2)), [[0.5, -0.2], [0.3, 0.4]]
    )
    out = solve_multi(spec, tau_max=2.0)
    assert out["branch"] == "fixed_point"
    assert out["lyapunov_max"] is None
    assert "non-negative" in out["lyapunov_note"]


def _simulations(action):
    """8 networks each at N = 250 and 500 (RK4, float32) for the 1/N extrapolation."""
    return [
        ft.simulate(
            action, N=n, trials=8, dtype="float32", dt=0.125, t_max=100.0, t_burn=30.0, tau_max=10.0
        )
        for n in (250, 500)
    ]


def _extrapolated(sims):
    """Remove the O(1/N) bias: X∞ = 2 X_N − X_{N/2}, stderr √(4σ_N² + σ_{N/2}²)."""
    (small, big) = sims

    def combine(x, y, kind):
        if isinstance(x, dict):
            return {k: combine(x[k], y[k], kind) for k in x}
        if kind == "value":
            return 2 * np.asarray(x) - np.asarray(y)
        return np.hypot(2 * np.asarray(x), np.asarray(y))

    def as_dict(obs):
        return obs.to_dict() if hasattr(obs, "to_dict") else obs

    value = combine(as_dict(big.observables), as_dict(small.observables), "value")
    error = combine(as_dict(big.stderr), as_dict(small.stderr), "error")
    for tree in (value, error):  # grids are not extrapolated
        _restore_grids(tree, as_dict(big.observables))
    return value, error


def _restore_grids(tree, reference):
    for key, item in tree.items():
        if isinstance(item, dict):
            if "tau" in item:
                item["tau"] = reference[key]["tau"]
            elif "omega" in item:
                item["omega"] = reference[key]["omega"]
            else:
                _restore_grids(item, reference[key])


def test_two_couplings_chaos_against_simulation():
    """∂t x = −x + J tanh(x) + K erf(√π x/2), J, K independent: g = 2, h = 1.5 (chaotic).

    Simulations at N = 250 and 500 (8 networks each) remove the O(1/N) bias by
    extrapolation; every |z| ≤ 4 (verify's threshold).
    """
    p = ft.parameters(g=(2.0, "positive"), h=(1.5, "positive"))
    g, h = p.symbols
    x, J, K, t = ft.Field("x"), ft.Coupling("J"), ft.Coupling("K"), ft.t
    action = ft.langevin(
        drift={x: -x(t) + J @ ft.tanh(x(t)) + K @ ft.erf_sqrtpi(x(t))},
        couplings={J: ft.Gaussian(0, g**2), K: ft.Gaussian(0, h**2)},
        parameters=p,
    )
    theory = solve_multi(two_term_spec(2.0, 1.5), tau_max=10.0, dtau=0.25)
    assert theory["branch"] == "chaotic" and theory["lyapunov_max"] > 0
    derived = ft.solve(ft.Model("tanh_erf", action, "two couplings"), tau_max=10.0)
    assert derived.method == "multi"
    for key in ("mean", "variance", "mean_phi", "lyapunov_max"):
        assert derived.observables[key] == pytest.approx(theory[key], rel=1e-9, abs=1e-12)
    theory = derived.observables
    value, error = _extrapolated(_simulations(action))
    report = compare(theory, value, error)
    assert report.passed, report.table()


def test_ei_populations_against_simulation():
    """E/I with unequal gains and means (chaotic), per population, bias extrapolated.

    A_αβ = g_αβ² f_β and B_αβ = J0_αβ f_β (block variances g²/N over all N units); the
    top level is the network mixture (``fractions``). λ_max (the block tangent operator of
    the module doc) against Benettin's estimate, whose finite-N bias the same
    extrapolation removes (measured: 0.070 at N = 250, 0.113 at N = 500).
    """
    f_E = 0.5
    gains = {"EE": 3.0, "EI": 2.4, "IE": 2.1, "II": 1.5}
    means = {"EE": 1.0, "EI": -2.0, "IE": 1.5, "II": -1.0}
    inputs = {"E": 0.4, "I": -0.2}
    p = ft.parameters(
        f_E=(f_E, (0.01, 0.99)),
        **{f"g_{k}": (v, "nonnegative") for k, v in gains.items()},
        **{f"J0_{k}": (v, "real") for k, v in means.items()},
        **{f"I_{k}": (v, "real") for k, v in inputs.items()},
    )
    s = {q.name: q.symbol for q in p}
    graph = nx.DiGraph()
    graph.add_node("E", fraction=s["f_E"])
    graph.add_node("I", fraction=1 - s["f_E"])
    for target in "EI":
        for source in "EI":
            graph.add_edge(
                source,
                target,
                mean=s[f"J0_{target}{source}"],
                variance=s[f"g_{target}{source}"] ** 2,
            )
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    action = ft.langevin(
        drift={x: -x(t) + J @ ft.tanh(x(t)) + ft.by_population("I", E=s["I_E"], I=s["I_I"])},
        couplings={J: ft.BlockGaussian.from_graph(graph)},
        parameters=p,
    )
    f = np.array([f_E, 1 - f_E])
    g = np.array([[gains["EE"], gains["EI"]], [gains["IE"], gains["II"]]])
    J0 = np.array([[means["EE"], means["EI"]], [means["IE"], means["II"]]])
    spec = spec_from_blocks(
        ("E", "I"), [1, 1], [0, 0], [inputs["E"], inputs["I"]], J0 * f, g**2 * f
    )
    theory = solve_multi(spec, tau_max=10.0, fractions=f)
    assert theory["branch"] == "chaotic"
    # the same problem derived from the action (derive → lower_site → generated module)
    derived = ft.solve(ft.Model("ei_unequal", action, "E/I, unequal blocks"), tau_max=10.0)
    assert derived.method == "multi" and derived.branch == "chaotic"
    for name in ("E", "I"):
        for key in ("mean", "variance", "mean_phi", "mean_gain"):
            assert derived.observables["populations"][name][key] == pytest.approx(
                theory["populations"][name][key], rel=1e-9, abs=1e-12)
    assert derived.observables["lyapunov_max"] == pytest.approx(theory["lyapunov_max"],
                                                                rel=1e-9)
    theory = derived.observables
    value, error = _extrapolated(_simulations(action))
    report = compare(theory, value, error)
    assert report.passed, report.table()
    assert {c.observable.split("/")[0] for c in report.comparisons} >= {"E", "I"}


# ----------------------------------------------------------------- contract


def test_unsupported_specs_are_refused_by_name():
    spec = single(2.0)
    with pytest.raises(ValueError, match="nonlinear drift"):
        solve_multi(SiteSpec(**{**spec.__dict__, "nonlinear": (np.sin,)}))
    kernel = SiteSpec(
        **{
            **spec.__dict__,
            "responses": (SiteTerm(0, tanh, tanh),),
            "response_coupling": np.array([[0.5]]),
        }
    )
    with pytest.raises(ValueError, match="response kernel"):
        solve_multi(kernel)
    with pytest.raises(ValueError, match="map"):
        solve_multi(SiteSpec(**{**spec.__dict__, "step": 0.5}))


def test_unbounded_linear_network_raises_convergence_error():
    """φ = x with g > 1 has no stationary state: a ConvergenceError, never NaN."""
    spec = spec_from_blocks(("x",), [1.0], [0.0], [0.1], [[0.0]], [[1.5]], phi=ident, dphi=one)
    with pytest.raises(ConvergenceError):
        solve_multi(spec, tau_max=2.0)


def test_default_lattice_agrees_with_the_stationary_runtime():
    """Default step and box (each solver picks its own box ≥ 40 decay lengths): the boxes
    differ, which changes Δ by ~e^{−40}; the rest is the same lattice (tolerance as above)."""
    mine = solve_multi(single(2.0))
    ref = solve_stationary(tanh, dtanh, 2.0, method="lattice")
    assert np.allclose(mine["autocorrelation"]["values"], ref.autocorrelation, rtol=1e-8)
    assert mine["lyapunov_max"] == pytest.approx(ref.lyapunov, rel=1e-8)
    assert mine["lyapunov_max"] == pytest.approx(0.112458, abs=5e-6)  # published (§1)


def test_branch_requests():
    """``fixed_point`` in the chaotic regime gives the unstable fixed point, λ > 0; asking
    for chaos where only the fixed point exists raises ConvergenceError."""
    fixed = solve_multi(single(2.0), branch="fixed_point", tau_max=2.0)
    assert fixed["branch"] == "fixed_point" and fixed["lyapunov_max"] > 0
    with pytest.raises(ConvergenceError, match="static solution"):
        solve_multi(single(0.8, I=0.2), branch="chaotic", tau_max=2.0)
    with pytest.raises(ValueError, match="unknown branch"):
        solve_multi(single(2.0), branch="magnetic")
