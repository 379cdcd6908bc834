"""Fixed points of random networks (issue 16): Kac–Rice theory, numerical search, CLI.

Independent checks: (i) a network with a unique fixed point has E[count] = 1 exactly, so
the annealed complexity must vanish, Σ* = 0 — with a bias, for tanh and for a declared
network with a nonlinear drift (a varying Jacobian diagonal); (ii) the determinant rule
reduces for constant column variance to the circular law's log-potential,
log r − (1 − 1/r²)/2 at z = 1 inside the disc of radius r; (iii) the heterogeneous rule
(radial distribution and index of −1 + J diag(d)) against sampled matrices; (iv) the search
against the symmetry x → −x of odd networks, against a second search with another budget,
and against the theory conditioned on the found points; (v) ⟨|ẋ|²⟩/N on the attractor
against the DMFT.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.cli import main
from fieldtheory.errors import ParameterError, ResourceError
from fieldtheory.fixed_points import fixed_points, search_fixed_points
from fieldtheory.simulate.fixed_points import (
    RESIDUAL,
    FixedPointSearch,
    FixedPointSystem,
    _record,
    search_network,
)
from fieldtheory.simulate.network import realise

# -- an independent one-population oracle for the Jacobian's spectrum (constant Λ = 1 or a
#    vector Λ), written from the formulas of docs/models/fixed-points.md: adaptive quadrature
#    over y ∈ (0, ∞) where the runtime splits at the support's edge with Gauss–Legendre


def _root(v, w, c) -> float:
    """p ≥ 0 with ⟨v/(p v + c)⟩ = 1: the runtime's bracketed root (checked on its own in
    the circular-law test, p = 1 − 1/r²)."""
    from fieldtheory.solvers.runtime.kac_rice import _p_root

    return _p_root(v, w, c)


def test_batched_roots_are_the_bracketed_ones():
    # the unstable fraction's nodes solved at once (Newton from 0 on a convex, decreasing
    # h) against the bracketed root per row; rows with ⟨v/c⟩ ≤ 1 give 0
    from fieldtheory.solvers.runtime.kac_rice import _p_roots

    rng = np.random.default_rng(5)
    v = rng.exponential(1.0, 40) * np.r_[np.ones(39), 0.0]
    w = rng.uniform(0.5, 1.0, 40)
    w /= w.sum()
    c = np.outer(np.geomspace(1e-4, 3.0, 25), rng.uniform(0.5, 2.0, 40))
    roots = _p_roots(v, w, c)
    assert roots[-1] == 0.0 and roots[0] > 0.5
    assert roots == pytest.approx([_root(v, w, row) for row in c], rel=1e-12, abs=1e-14)


def radial_fraction(v, w, s: float) -> float:
    """F(s) = ⟨s²/(p v + s²)⟩: eigenvalues of J D within |z| < s."""
    p = _root(v, w, np.full_like(v, s * s))
    return float(np.dot(w, s * s / (p * v + s * s)))


def unstable_fraction(lam, v, w) -> float:
    """½ − (1/2π)∫dy ⟨Λ/(p(y) v + y² + Λ²)⟩ by adaptive quadrature over y ∈ (0, ∞)."""
    from scipy.integrate import quad

    def integrand(y):
        c = y * y + lam * lam
        return float(np.dot(w, lam / (_root(v, w, c) * v + c)))
    total = quad(integrand, 0.0, np.inf, epsabs=1e-12, epsrel=1e-11, limit=200)[0]
    return 0.5 - total / math.pi


def declare_cubic():
    """ẋ = −x − c x³ + Σ_j J_ij erf(β x_j) + I, J_ij ~ N(0, g²/N): parameters in the
    nonlinear drift (c), inside φ (β), in the ensemble (g) and in the input (I)."""
    p = ft.parameters(g=(0.5, "positive"), c=(0.3, "nonnegative"), beta=(1.2, "positive"),
                      I=(0.4, "real"))
    g, c, beta, I = p.symbols
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    action = ft.langevin(drift={x: -x(t) - c * x(t) ** 3 + J @ sp.erf(beta * x(t)) + I},
                         noise={x: 0}, couplings={J: ft.Gaussian(mean=0, variance=g**2)},
                         parameters=p)
    return ft.Model("cubic_fp", action, "cubic leak, erf coupling")


@pytest.mark.parametrize("model, params", [
    ("scs", {"g": 0.8, "I": 0.3}),
    ("scs_erf", {"g": 0.9, "I": -0.5, "J0": 0.4}),
    (None, {"g": 0.6}),
])
def test_unique_fixed_point_has_zero_complexity(model, params):
    # contracting networks have exactly one fixed point: E[count] = 1, Σ* = 0 exactly,
    # reached by the saddle point at a shell q* > 0 (not put in by hand: no trivial point)
    result = fixed_points(model or declare_cubic(), params).observables
    assert not result["trivial"]
    assert abs(result["total_complexity"]) < 1e-9
    assert result["typical_q"] > 0.01
    assert max(result["complexity"]["values"]) <= 1e-9
    assert result["unstable_fraction"] < 1e-9  # the one fixed point is stable


SYMMETRIC_EI = {**{f"g_{a}{b}": 2.0 for a in "EI" for b in "EI"}, "J0_EE": 0.0,
                "J0_IE": 0.0, "J0_EI": -1e-300, "J0_II": -1e-300, "I_E": 0.2, "I_I": 0.2}


def test_two_populations_with_equal_blocks_are_one_network():
    # E and I with identical blocks and inputs are one SCS network: the two-population
    # saddle (self-energies X_E, X_I, Y_E, Y_I with the gauge X_E = 1) must give its numbers
    one = fixed_points("scs", {"g": 2.0, "I": 0.2}).observables
    two = fixed_points("ei", SYMMETRIC_EI).observables
    for key in ("total_complexity", "typical_q", "jacobian_radius", "unstable_fraction"):
        assert two[key] == pytest.approx(one[key], rel=1e-9, abs=1e-12), key
    assert two["speed"] == pytest.approx(one["speed"], rel=1e-4)  # two DMFT runtimes


def test_two_populations_unique_fixed_point_and_spectrum_against_sampling():
    # unequal blocks: a contracting network has Σ* = 0 exactly; a chaotic one has Σ* > 0,
    # and its Jacobian's disc at a sampled empirical measure matches sampled matrices
    from fieldtheory.codegen.generate import generate
    from fieldtheory.solvers.runtime.kac_rice import KacRiceSite

    calm = {"g_EE": 0.5, "g_EI": 0.6, "g_IE": 0.4, "g_II": 0.3, "I_E": 0.5, "I_I": -0.2,
            "J0_EE": 0.5}
    assert abs(fixed_points("ei", calm).observables["total_complexity"]) < 1e-9
    wild = {"g_EE": 1.2, "g_EI": 2.5, "g_IE": 3.0, "g_II": 1.0, "I_E": 0.3}
    o = fixed_points("ei", wild).observables
    assert o["total_complexity"] > 0 and 0 < o["unstable_fraction"] < 0.5
    # −1 + J D with block variances g²_αβ/N: radius √ρ(M) and index against eigenvalues
    site = KacRiceSite(generate(ft.load_model("ei")).spec(**wild))
    rng = np.random.default_rng(4)
    N, fE = 500, 0.8
    nE = int(fE * N)
    x = rng.normal(0.3, 1.3, N)
    grids = [(x[:nE], np.full(nE, 1 / nE)), (x[nE:], np.full(N - nE, 1 / (N - nE)))]
    g = np.array([[1.2, 2.5], [3.0, 1.0]])
    block = np.repeat(np.repeat(g, [nE, N - nE], axis=0), [nE, N - nE], axis=1)
    d = 1 / np.cosh(x) ** 2
    eig = np.concatenate([np.linalg.eigvals(-np.eye(N) + rng.standard_normal((N, N))
                                            * block / math.sqrt(N) * d) for _ in range(3)])
    k = site.unstable_fraction(grids)
    assert abs(np.mean(eig.real > 0) - k) < 4 * math.sqrt(k * (1 - k) / eig.size)
    radius = site.radius(grids)
    for frac in (0.5, 0.8):
        F, _ = site.radial_fraction(grids, frac * radius)
        measured = np.mean(np.abs(eig + 1) < frac * radius)
        assert abs(measured - F) < 4 * math.sqrt(F * (1 - F) / eig.size)


@pytest.mark.parametrize("model", ["scs", "scs_erf"])
def test_complexity_vanishes_below_one_and_is_positive_above(model):
    below = fixed_points(model, {"g": 0.95}).observables
    assert below["trivial"] and below["total_complexity"] == 0.0
    previous = 0.0
    for g in (1.3, 2.0, 3.0):
        o = fixed_points(model, {"g": g}).observables
        assert o["total_complexity"] > previous  # grows with g
        previous = o["total_complexity"]
        q, values = np.asarray(o["complexity"]["q"]), np.asarray(o["complexity"]["values"])
        # Σ(q) is largest at the typical shell, and it is the supremum of the curve
        assert np.all(values <= o["total_complexity"] + 1e-10)
        near = np.argmin(np.abs(q - o["typical_q"]))
        assert abs(values[near] - o["total_complexity"]) < 0.05 * o["total_complexity"]
        # the shells differ: typical fixed points lie inside the attractor's shell
        assert o["typical_q"] < 0.8 * o["attractor_q"]
        assert 0 < o["unstable_fraction"] < 0.5


def test_printed_stage_and_runtime_agree_by_mpmath_quadrature():
    # the derived stage's ln w(u), B(u), Λ(u) and Σ prefix at the runtime's saddle point,
    # integrated with mpmath (adaptive, 30 digits), give the runtime's Σ*: the normaliser,
    # the bilinear term T = ⟨B/(B + Λ²)⟩_w and the entropy all recomputed independently
    import mpmath

    from fieldtheory.codegen.generate import generate
    from fieldtheory.derive import derive_fixed_points
    from fieldtheory.solvers.runtime.kac_rice import KacRiceSite
    from fieldtheory.transforms import kac_rice as stage_module
    from fieldtheory.transforms.kac_rice import hat, kac_rice

    model = declare_cubic()
    values = {"g": 2.5, "c": 0.2, "beta": 1.3, "I": 0.3}
    derivation = derive_fixed_points(model)
    assert "kac_rice" in [s.name for s in derivation.stages]
    stage = kac_rice(derivation.site_problem())
    (pop,) = stage.populations
    site = KacRiceSite(generate(model).spec(**values))
    point = site.solve_point(None)
    assert point["active"]  # the determinant's self-energy is on: the disc reaches Λ
    numbers = {sp.Symbol(k, real=True): v for k, v in values.items()}
    numbers.update({sp.Symbol("S_all", positive=True): point["S"][0],
                    sp.Symbol("C_erf", real=True): point["C"][0],
                    hat("C_erf"): point["c"][0], sp.Symbol("Y_C_erf", positive=True):
                    point["Y"][0], stage_module.Q_HAT: 0, stage_module.Q: 0})
    u = stage_module.U
    weight = sp.lambdify(u, sp.exp(pop.log_weight.subs(numbers)), "mpmath")
    share = sp.lambdify(u, (pop.self_energy / (pop.self_energy + pop.diagonal**2))
                        .subs(numbers), "mpmath")
    mpmath.mp.dps = 30
    grid, weights = point["grids"][0]
    centre = float(grid[np.argmax(weights)])
    cuts = [-mpmath.inf, centre - 2, centre, centre + 2, mpmath.inf]
    Z = mpmath.quad(weight, cuts)
    T = mpmath.quad(lambda x: weight(x) * share(x), cuts) / Z
    prefix = stage.complexity.subs({**numbers, stage_module.T: float(T)})
    value = float(prefix) + float(mpmath.log(Z)) - 0.5 * math.log(2 * math.pi * point["S"][0])
    assert value == pytest.approx(point["complexity"], abs=1e-9)


def test_determinant_rule_is_the_circular_law_log_potential():
    # constant column variance v = r²: ½[ln(1 + p r²) − p], p = 1 − 1/r² at the optimum, is
    # the log-potential of the uniform disc of radius r at z = 1: ln r − (1 − 1/r²)/2
    from fieldtheory.codegen.generate import generate
    from fieldtheory.solvers.runtime.kac_rice import KacRiceSite, _p_root

    for r in (1.3, 2.0, 4.0):
        v, w = np.full(3, r * r), np.full(3, 1 / 3)
        p = _p_root(v, w, np.ones(3))
        assert p == pytest.approx(1 - 1 / r**2, rel=1e-12)
        rule = 0.5 * (np.dot(w, np.log(1 + p * v)) - p)
        assert rule == pytest.approx(math.log(r) - (1 - 1 / r**2) / 2, rel=1e-12)
        # the disc's radial distribution F(s) = s²/r² and its index (area right of 0), by
        # the runtime's route on a measure at x = 0 (tanh'(0) = 1, so v = g² = r²) and by
        # the test's own oracle
        site = KacRiceSite(generate(ft.load_model("scs")).spec(g=r))
        grids = [(np.zeros(3), w)]
        area = (r * r * math.acos(1 / r) - math.sqrt(r * r - 1)) / (math.pi * r * r)
        assert site.radius(grids) == pytest.approx(r, rel=1e-12)
        assert site.radial_fraction(grids, 0.5 * r)[0] == pytest.approx(0.25, rel=1e-10)
        assert site.unstable_fraction(grids) == pytest.approx(area, rel=1e-8)
        assert radial_fraction(v, w, 0.5 * r) == pytest.approx(0.25, rel=1e-10)
        assert unstable_fraction(np.ones(3), v, w) == pytest.approx(area, rel=1e-8)


def test_heterogeneous_spectrum_against_sampled_matrices():
    # −1 + J diag(d), d = tanh'(x) of Gaussian x: the radial distribution and the index of
    # the Hermitisation against eigenvalues of sampled matrices (N = 600, 3 draws). The
    # eigenvalue counts are rigid (far below binomial), so a binomial error is generous.
    rng = np.random.default_rng(3)
    N, g = 600, 2.0
    x = rng.normal(0.0, math.sqrt(1.5), N)
    d = 1 / np.cosh(x) ** 2
    v, w = g * g * d * d, np.full(N, 1 / N)
    radius = math.sqrt(float(np.mean(v)))
    eig = np.concatenate([np.linalg.eigvals(-np.eye(N) + rng.normal(0, g / math.sqrt(N),
                                                                     (N, N)) * d)
                          for _ in range(3)])
    M = eig.size
    for s in (0.4, 0.7, 0.9):
        F = radial_fraction(v, w, s * radius)
        assert abs(np.mean(np.abs(eig + 1) < s * radius) - F) < 4 * math.sqrt(F * (1 - F) / M)
    k = unstable_fraction(np.ones(N), v, w)
    assert abs(np.mean(eig.real > 0) - k) < 4 * math.sqrt(k * (1 - k) / M)
    # the runtime's general (self-energy) route on the same measure gives the same numbers
    from fieldtheory.codegen.generate import generate
    from fieldtheory.solvers.runtime.kac_rice import KacRiceSite

    site = KacRiceSite(generate(ft.load_model("scs")).spec(g=g))
    assert site.unstable_fraction([(x, w)]) == pytest.approx(k, rel=1e-9)
    assert site.radius([(x, w)]) == pytest.approx(radius, rel=1e-12)
    F, _ = site.radial_fraction([(x, w)], 0.6 * radius)
    assert F == pytest.approx(radial_fraction(v, w, 0.6 * radius), rel=1e-9)


def _search(N, g, seed, budget):
    rng = np.random.default_rng(seed)
    network = realise(ft.load_model("scs").action, {"g": g}, N, rng)
    system = FixedPointSystem(network)
    return system, search_network(system, rng, budget)


def test_generic_jacobian_and_search_on_a_declared_network():
    # the search reads F and ∂F/∂x off the action: for the declared cubic-leak erf network
    # (parameters in the drift, inside φ, in the ensemble, in the input) the Jacobian equals
    # central differences of F, and the points found solve F = 0
    model = declare_cubic()
    values = {"g": 3.0, "c": 0.2, "beta": 1.3, "I": 0.3}
    rng = np.random.default_rng(12)
    system = FixedPointSystem(realise(model.action, values, 12, rng))
    x = rng.normal(0.0, 1.0, 12)
    h = 1e-6
    columns = [(system.F(x + h * e) - system.F(x - h * e)) / (2 * h) for e in np.eye(12)]
    assert np.allclose(system.jacobian(x), np.array(columns).T, rtol=1e-7, atol=1e-8)
    found = search_network(system, rng, FixedPointSearch(batch=40, max_starts=400,
                                                         patience=3,
                                                         trajectory=(10.0, 10.0, 0.05, 5)))
    assert found.count >= 1
    for point in found.points:
        assert np.linalg.norm(system.F(point)) / math.sqrt(12) < RESIDUAL


def test_homotopy_reaches_fixed_points_where_newton_stalls():
    # N = 200, g = 2: of 12 trajectory points Newton's two phases leave several at slow
    # points; the homotopy from each of those ends on a fixed point (|F|/√N < RESIDUAL);
    # on the declared cubic-leak erf network (a bounded coupling term: the path cannot
    # escape) it does from every start, without the Newton phases
    rng = np.random.default_rng([4, 0])
    system = FixedPointSystem(realise(ft.load_model("scs").action, {"g": 2.0}, 200, rng))
    starts = _record(system, rng, FixedPointSearch(trajectory=(30.0, 60.0, 0.05, 12)))
    newton = system.solve_batch(starts)
    stalled = [k for k, x in enumerate(newton) if x is None]
    assert len(stalled) >= 3
    for k in stalled:
        x = system._homotopy(starts[k], 2000)
        assert x is not None and system.homotopy_outcome == "reached"
        assert np.linalg.norm(system.F(x)) / math.sqrt(200) < RESIDUAL
    # through solve_batch: every start Newton left goes to the homotopy, and is booked
    again = system.solve_batch(starts[stalled], homotopy_steps=2000)
    assert all(x is not None for x in again)
    assert system.homotopy_starts == len(stalled)
    assert system.homotopy_outcomes == {"reached": len(stalled)}
    model = declare_cubic()
    rng = np.random.default_rng(7)
    system = FixedPointSystem(realise(model.action, {"g": 4.0, "c": 0.2, "beta": 1.3,
                                                     "I": 0.3}, 60, rng))
    for _ in range(4):
        x = system._homotopy(rng.normal(0.0, 2.0, 60), 2000)
        assert x is not None
        assert np.linalg.norm(system.F(x)) / math.sqrt(60) < RESIDUAL


def test_homotopy_gives_up_where_its_path_escapes():
    # linear φ with g = 2: x(λ) = (1 − λ)(1 − λJ)⁻¹a diverges where λ meets 1/μ for a real
    # eigenvalue μ > 1 of J — no bounded path, the homotopy says so (None), while Newton
    # finds the one fixed point x = 0
    p = ft.parameters(g=(2.0, "positive"))
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    action = ft.langevin(drift={x: -x(t) + J @ x(t)}, noise={x: 0},
                         couplings={J: ft.Gaussian(mean=0, variance=p.symbols[0] ** 2)},
                         parameters=p)
    rng = np.random.default_rng(3)
    system = FixedPointSystem(realise(ft.Model("lin_fp", action, "linear").action,
                                      {"g": 2.0}, 40, rng))
    eigenvalues = np.linalg.eigvals(system.matrices[0])
    assert np.max(eigenvalues.real[np.abs(eigenvalues.imag) < 1e-9]) > 1.0
    start = rng.normal(0.0, 1.0, 40)
    assert system._homotopy(start, 2000) is None
    assert system.homotopy_outcome == "escaped"  # not the step budget: the bound saw it
    (point,) = system.solve_batch(start[None])
    assert point is not None and np.linalg.norm(point) < 1e-8


def test_search_finds_complete_symmetric_sets_in_small_networks():
    budget = FixedPointSearch(batch=40, max_starts=4000, patience=8,
                              trajectory=(10.0, 10.0, 0.05, 5))
    other = FixedPointSearch(batch=40, max_starts=4000, patience=8,
                             trajectory=(10.0, 10.0, 0.05, 0), shells=(0.1, 5.0))
    for k in range(3):
        system, found = _search(8, 3.0, [5, k], budget)
        assert found.complete and found.count >= 1
        for x in found.points:  # each is a fixed point, and distinct
            assert np.linalg.norm(system.F(x)) / math.sqrt(8) < RESIDUAL
        gaps = [np.linalg.norm(a - b) for i, a in enumerate(found.points)
                for b in found.points[:i]]
        assert not gaps or min(gaps) > 1e-3
        # tanh, I = 0: the set is closed under x → −x (and holds the origin)
        for x in found.points:
            assert np.min(np.linalg.norm(found.points + x, axis=1)) < 1e-8
        # another search (other starts, no trajectory) finds the same set
        _, again = _search(8, 3.0, [5, k], other)
        assert again.count == found.count


def test_counts_grow_at_the_annealed_rate():
    # E[count] − 1 (the trivial x = 0 removed) ∝ exp(N Σ*): a weighted fit of
    # ln(E[count] − 1) = c + s N over N = 6, 10, 14 (tanh, g = 6, Σ* = 0.128; 24 networks
    # each, complete searches). The prefactor is a constant in this fit (a power N^κ or
    # 1/N corrections are not resolved at these N; examples/fixed_point_shells.py fits
    # N = 10 … 35). Errors by the delta method from the across-network standard errors.
    theory = fixed_points("scs", {"g": 6.0}).observables["total_complexity"]
    budget = FixedPointSearch(batch=50, max_starts=2000, patience=6,
                              trajectory=(10.0, 10.0, 0.05, 5), spectra=False)
    sizes, y, sy = (6, 10, 14), [], []
    for N in sizes:
        search, err = search_fixed_points("scs", {"g": 6.0}, N=N, trials=24, seed=40 + N,
                                          budget=budget)
        assert search["complete"] == 24
        y.append(math.log(search["count"] - 1))
        sy.append(err["count"] / (search["count"] - 1))
    W = np.diag(1 / np.square(sy))
    X = np.stack([np.ones(3), np.asarray(sizes, dtype=float)], axis=1)
    cov = np.linalg.inv(X.T @ W @ X)
    slope, se = (cov @ X.T @ W @ np.asarray(y))[1], math.sqrt(cov[1, 1])
    assert abs(slope - theory) < 3 * se
    assert slope > 3 * se  # growth is resolved, not noise


def test_fixed_points_lie_inside_the_attractor_shell():
    # the theory puts the typical fixed points inside the chaotic attractor's shell
    # (q* ≈ 0.6 Δ0); complete searches (a fair sample) of small networks say the same:
    # the mean |x*|²/N of each network's fixed points (x = 0 left out), over 12 networks of
    # N = 20 at g = 4, against the DMFT's Δ0 (at N = 20 many trajectories come to rest on a
    # stable fixed point of large |x|, so the simulated trajectory is no attractor to use)
    o = fixed_points("scs", {"g": 4.0}).observables
    budget = FixedPointSearch(batch=50, max_starts=2000, patience=6,
                              trajectory=(10.0, 10.0, 0.05, 5), spectra=False)
    means = []
    for k in range(12):
        _, found = _search(20, 4.0, [3, k], budget)
        q = found.q[found.q > 1e-12]
        assert found.complete and q.size
        means.append(np.mean(q))
    mean, se = np.mean(means), np.std(means, ddof=1) / math.sqrt(len(means))
    assert o["attractor_q"] - mean > 3 * se
    assert o["typical_q"] < o["attractor_q"]


def test_search_at_large_N_against_the_conditioned_theory():
    # N = 200: the fixed points found from a trajectory are those near the attractor, not
    # a fair sample; their Jacobian spectra follow the theory conditioned on their own x*
    # (bulk radius g√⟨φ'(x*)²⟩; the finite-N edge of the bulk lies a few % outside).
    # Newton's phases only: the homotopy retry of the failed starts would triple the cost
    search, err = search_fixed_points("scs", {"g": 2.0}, N=200, trials=1, seed=2,
                                      budget=FixedPointSearch(batch=50, max_starts=150,
                                                              patience=2, homotopy_steps=0))
    assert search["count"] >= 2
    ratio = search["jacobian_radius"] / search["conditioned"]["jacobian_radius"]
    assert 0.97 < ratio < 1.12
    k = search["conditioned"]["unstable_fraction"]
    assert abs(search["unstable_fraction"] - k) < 4 * math.sqrt(k / 200) + 4 * (
        err["unstable_fraction"] or 0)
    assert search["failed_starts"] <= search["starts"]


def test_speed_on_the_attractor_against_the_dmft():
    # ⟨|ẋ|²⟩/N = g²(C_φ(0) + m_φ²) − Δ0 (tanh, g = 2): 4 networks of N = 500, errors across
    # networks (each a time average over 40 points of a 60-unit window after a burn-in)
    theory = fixed_points("scs", {"g": 2.0}).observables["speed"]
    speeds = []
    for k in range(4):
        rng = np.random.default_rng([9, k])
        network = realise(ft.load_model("scs").action, {"g": 2.0}, 500, rng)
        system = FixedPointSystem(network)
        points = _record(system, rng, FixedPointSearch(trajectory=(40.0, 60.0, 0.05, 40)))
        speeds.append(np.mean([np.sum(system.F(x) ** 2) / 500 for x in points]))
    mean, se = np.mean(speeds), np.std(speeds, ddof=1) / 2
    assert abs(mean - theory) < 4 * se + 0.01 * theory  # + O(1/N)


def test_refusals_name_the_problem(tmp_path):
    with pytest.raises(ParameterError, match="noiseless"):
        fixed_points("scs", {"D": 0.1})
    with pytest.raises(ParameterError, match="ρ = 0"):
        fixed_points("scs", {"rho": 0.4})
    with pytest.raises(ParameterError, match="layered"):
        fixed_points("deep")
    with pytest.raises(ParameterError, match="map"):
        fixed_points("map")
    with pytest.raises(ParameterError, match="independent Gaussian entries"):
        fixed_points("random_mode")  # low rank: its Jacobian is no iid random matrix
    with pytest.raises(ResourceError, match="estimated"):
        search_fixed_points("scs", N=5000, trials=100)
    # the homotopy's cost is in the estimate: 40 starts at N = 1000 are ≈ 3 minutes of
    # Newton but ≈ 80 minutes with the homotopy retry (over the default hour)
    with pytest.raises(ResourceError, match="estimated"):
        search_fixed_points("scs", {"g": 2.0}, N=1000, trials=1,
                            budget=FixedPointSearch(max_starts=40))
    assert main(["fixed-points", "scs", "--search"]) == 2
    assert main(["fixed-points", "scs", "-N", "10"]) == 2
    assert main(["fixed-points", "scs", "--output", str(tmp_path / "p.npz")]) == 2


def test_cli_json_contract(capsys, tmp_path):
    out = tmp_path / "points.npz"
    assert main(["fixed-points", "scs", "-p", "g=2", "-N", "8", "--search", "--trials",
                 "2", "--starts", "200", "--json", "--no-progress", "--output",
                 str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["output"] == {"file": str(out), "networks": 2}
    with np.load(out) as arrays:
        for k in range(2):  # the written points are the counted fixed points
            assert arrays[f"points_{k}"].shape[1] == 8
            assert arrays[f"eigenvalues_{k}"].shape == arrays[f"points_{k}"].shape
        assert sum(arrays[f"points_{k}"].shape[0] for k in range(2)) == 2 * data["search"][
            "count"]
    assert data["N"] == 8 and data["model"] == "scs"
    o = data["observables"]
    for key in ("total_complexity", "typical_q", "jacobian_radius", "unstable_fraction",
                "attractor_q", "speed"):
        assert isinstance(o[key], float)
    assert len(o["complexity"]["q"]) == len(o["complexity"]["values"])
    s = data["search"]
    for key in ("count", "q", "jacobian_radius", "unstable_fraction"):
        assert key in s
    assert set(data["search_stderr"]) >= {"count", "jacobian_radius", "unstable_fraction"}
    assert len(s["q"]["bins"]) == len(s["q"]["density"]) + 1
    assert s["homotopy_starts"] == 0  # N = 8: below HOMOTOPY_FROM, off by default
    assert s["homotopy_outcomes"] == {"reached": 0, "escaped": 0, "stalled": 0, "steps": 0,
                                      "unfinished": 0}
    assert main(["fixed-points", "scs", "-N", "8", "--search", "--homotopy", "-1"]) == 2
