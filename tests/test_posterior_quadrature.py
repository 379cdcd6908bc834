"""The readout quadrature of the mean-field Bayesian single neuron (issue 15): exact for
orthogonal training inputs, checked against the Gaussian closed form, the closed-form
tilted moments against the tabulated ones, and the tempered-SMC runtime on a declared
nonlinear network (the shipped erf and ReLU networks meet the HMC sampler in
tests/test_posterior.py); the automatic fallback to the next runtime when it cannot
converge."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import t as student

from fieldtheory.posterior_solve import solve_posterior
from fieldtheory.solvers.runtime import posterior_quadrature as pq
from fieldtheory.solvers.runtime.common import ConvergenceError, SolverInputError


@pytest.mark.parametrize("kappa", [0.7, 1.6])
@pytest.mark.parametrize("slopes", [(1.0, 0.0), (1.3, 0.4)])
def test_closed_form_tilted_moments_against_quadrature(kappa, slopes):
    """A positively homogeneous α (ReLU; a leaky ReLU with slopes 1.3, 0.4): the closed
    form (truncated normals) against the Gauss–Legendre table in h with its splines in t —
    ln M, E[α|t], E[α²|t], E[h|t], E[h²|t] over −6 ≤ t ≤ 6 — and the samples of both
    against their means."""
    cp, cm = slopes

    def alpha(h):
        return np.where(h > 0, cp * h, cm * h)

    closed = pq.HomogeneousTilt(cp, cm, kappa)
    table = pq.TiltTable(alpha, kappa, 8.0)
    t = np.linspace(-6.0, 6.0, 49)
    for a, b in zip(closed.values(t), table.values(t), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-10)
    # E[α^k | t], k = 1 … 4 (the response energy's moments): the truncated normals'
    # recursion against the table's quadrature
    for a, b in zip(closed.alpha_moments(t), table.alpha_moments(t), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-10)
    rng = np.random.default_rng(3)
    for t0 in (-2.0, 0.5, 3.0):
        mean, second = closed.values(np.array([t0]))[3:]
        sd = np.sqrt(second[0] - mean[0] ** 2)
        for sampler in (closed, table):
            h = sampler.sample(np.full(40000, t0), rng)
            assert abs(h.mean() - mean[0]) < 4.5 * sd / np.sqrt(h.size), (t0, sampler)


@pytest.mark.parametrize("alpha", ["relu", "erf"])
def test_response_energy_against_sampled_patterns(alpha):
    """E[s | a] and E[s² | a] of the response energy s = Σ_c r_c² (the coding
    participation's integrands) from the tilted moments, against patterns drawn from the
    tilted densities themselves (the tilts' own samplers, checked above): three groups in
    two classes, fixed t per group, 60 000 draws; within 4.5 standard errors (each
    cumulant term left out of the formula fails this, measured)."""
    from scipy.special import erf

    from fieldtheory.solvers.runtime.posterior_sampled import response_energy

    # a class of one pattern near t = 0 (ReLU: half the mass at α = 0), where r_c's
    # fourth cumulant is that of one pattern, large
    kappa, t = 0.9, np.array([0.2, -0.6, 0.9])
    n, group_class = np.array([1, 2, 3]), np.array([0, 1, 1])
    if alpha == "relu":
        tables = [pq.HomogeneousTilt(1.0, 0.0, kappa)] * 3

        def fn(h):
            return np.maximum(h, 0.0)
    else:
        def fn(h):
            return erf(h)
        tables = [pq.TiltTable(fn, kappa, 3.0)] * 3
    moments = np.stack([np.stack(tb.alpha_moments(np.array([tg])))
                        for tb, tg in zip(tables, t, strict=True)], axis=1)
    es, es2 = (float(v[0]) for v in response_energy(moments, n, group_class, 2))
    rng = np.random.default_rng(11)
    draws = 60000
    sums = np.zeros((draws, 2))
    for g in range(3):
        h = tables[g].sample(np.full((draws, n[g]), t[g]), rng)
        sums[:, group_class[g]] += fn(h).sum(axis=1)
    s = np.sum((sums / np.bincount(group_class, weights=n)) ** 2, axis=1)
    for value, sample in ((es, s), (es2, s * s)):
        assert abs(sample.mean() - value) < 4.5 * sample.std() / np.sqrt(draws), (
            value, sample.mean())


def _linear_participation(result, y) -> float:
    """The linear network's coding participation in closed form: h is Gaussian with the
    posterior kernel S, so the class responses r = Bᵀh (B averages over a class) are
    Gaussian with Σ = BᵀSB and ρ = (tr Σ)²/((tr Σ)² + 2 tr Σ²)."""
    B = y / y.sum(axis=0)
    sigma = B.T @ np.asarray(result.observables["kernel_posterior"]) @ B
    return float(np.trace(sigma) ** 2 / (np.trace(sigma) ** 2 + 2 * np.trace(sigma @ sigma)))


def test_linear_network_by_quadrature_is_the_closed_form():
    """The readout quadrature forced on the linear network (orthogonal inputs, one-hot
    targets, T = 0; T > 0 in the declared network below): A and the posterior kernel
    equal the Gaussian closed form to the grid's accuracy; the prediction (its cross terms
    sampled) within its errors."""
    test = np.ones((1, 8))
    exact = solve_posterior("bayes_linear", test=test)
    quad = solve_posterior("bayes_linear", test=test, method="posterior_quadrature",
                           options={"replicas": 6})
    for key in ("readout_second_moment", "kernel_posterior"):
        np.testing.assert_allclose(quad.observables[key], exact.observables[key],
                                   rtol=1e-8, atol=1e-9)
    bound = student.ppf(1 - 0.5e-3, 5)
    for key in ("mean", "variance"):
        z = ((np.asarray(quad.observables["prediction"][key])
              - np.asarray(exact.observables["prediction"][key]))
             / np.asarray(quad.stderr["prediction"][key]))
        assert np.all(np.abs(z) < bound), (key, z)
    assert quad.observables["scheme"] == "analog"
    from fieldtheory.ir.model import load_model

    y = load_model("bayes_linear").action.targets.array
    assert quad.observables["coding_participation"] == pytest.approx(
        _linear_participation(exact, y), rel=1e-9)


def test_auto_falls_back_to_the_next_runtime_and_says_so(monkeypatch):
    """Where the quadrature cannot converge (a stall near the normalisability boundary),
    method "auto" runs the next applicable runtime and keeps the failure in ``info``; a
    named method does not fall back."""
    def stall(spec, grid=None, options=None):
        raise ConvergenceError("stalled (test)", residuals=[1.0])

    monkeypatch.setattr(pq, "solve_posterior_quadrature", stall)
    result = solve_posterior("bayes_erf", options={"replicas": 2})
    assert result.method == "posterior_sampled"
    [failure] = result.info["fallback"]
    assert failure["method"] == "posterior_quadrature"
    assert failure["error"].startswith("stalled (test)")
    from fieldtheory.errors import ConvergenceError as Named

    with pytest.raises(Named, match="stalled"):
        solve_posterior("bayes_erf", method="posterior_quadrature")


def test_quadrature_refuses_what_it_cannot_take():
    """Non-orthogonal inputs and more than three readouts: refused by name (and the
    runtime does not apply, so "auto" picks another)."""
    from fieldtheory.ir.model import load_model
    from fieldtheory.ir.posterior import with_data
    from fieldtheory.posterior_solve import posterior_spec

    x = np.random.default_rng(0).standard_normal((6, 8))
    model = with_data(load_model("bayes_erf"), x, np.eye(3)[[0, 0, 0, 1, 1, 2]])
    spec, _ = posterior_spec(model)
    with pytest.raises(SolverInputError, match="orthogonal training inputs"):
        pq.solve_posterior_quadrature(spec)
    four = with_data(load_model("bayes_erf"), np.sqrt(8) * np.eye(8)[:6],
                     np.eye(4)[[0, 0, 1, 1, 2, 3]])
    spec, _ = posterior_spec(four)
    with pytest.raises(SolverInputError, match="at most 3 readouts"):
        pq.solve_posterior_quadrature(spec)


def test_declared_network_with_parameters_in_every_term():
    """A posterior declared in the test (tests/test_posterior.py's ``declared``: readout
    c·a·tanh(h), prior σ_a = s·q, input variance sw², temperature T = 0.2) on orthogonal
    inputs of unequal norms (three κ, so tables per κ and exchangeable groups that mix
    classes): moving the gain c into the prior — (c, s) = (1.5, 0.8) and (1, 1.2) — is one
    network, so c²A and the kernel agree to the grid's accuracy; and the quadrature meets
    the tempered SMC on it (Student's t, 7 degrees of freedom)."""
    import sympy as sp
    from test_posterior import declared

    x = np.eye(7)[:5] * np.array([2.0, 2.5, 3.0, 2.0, 2.5])[:, None]
    model = declared(lambda a, h, c: c * a * sp.tanh(h), x=x)
    one = solve_posterior(model, {"c": 1.5, "s": 0.8, "T": 0.2})
    two = solve_posterior(model, {"c": 1.0, "s": 1.2, "T": 0.2})
    assert one.method == two.method == "posterior_quadrature"
    assert one.info["groups"] == 3
    np.testing.assert_allclose(1.5**2 * np.asarray(one.observables["readout_second_moment"]),
                               two.observables["readout_second_moment"], rtol=1e-5,
                               atol=1e-10)
    np.testing.assert_allclose(one.observables["kernel_posterior"],
                               two.observables["kernel_posterior"], rtol=1e-5, atol=1e-8)
    smc = solve_posterior(model, {"c": 1.0, "s": 1.2, "T": 0.2}, method="posterior_sampled",
                          options={"replicas": 8})
    bound = student.ppf(1 - 0.5e-3, 7)
    for key in ("readout_second_moment", "kernel_posterior"):
        z = ((np.diag(two.observables[key]) - np.diag(smc.observables[key]))
             / np.diag(smc.stderr[key]))
        assert np.all(np.abs(z) < bound), (key, z)
    # the coding participation: scale-free, so the gain moved into the prior leaves it
    # alone; tanh has no far tail, so the SMC's particles see all of it
    rho = two.observables["coding_participation"]
    assert one.observables["coding_participation"] == pytest.approx(rho, rel=1e-5)
    z = (rho - smc.observables["coding_participation"]) / smc.stderr["coding_participation"]
    assert abs(z) < bound, z


def test_polar_readout_of_the_linear_network_is_the_closed_form():
    """The polar integration of the readout (radial integrals per direction, adaptive
    cubature over the sphere; three readouts) forced on the linear network: A and the
    posterior kernel equal the Gaussian closed form within the cubature's tolerance
    (READOUT_GRID_TOLERANCE, relative)."""
    exact = solve_posterior("bayes_linear")
    polar = solve_posterior("bayes_linear", method="posterior_quadrature",
                            options={"readout": "polar", "samples": 2000, "replicas": 2})
    assert polar.info["grid"]["integration"] == "polar"
    for key in ("readout_second_moment", "kernel_posterior"):
        np.testing.assert_allclose(polar.observables[key], exact.observables[key],
                                   rtol=pq.READOUT_GRID_TOLERANCE,
                                   atol=pq.READOUT_GRID_TOLERANCE)
    from fieldtheory.ir.model import load_model

    y = load_model("bayes_linear").action.targets.array
    assert polar.observables["coding_participation"] == pytest.approx(
        _linear_participation(exact, y), rel=pq.READOUT_GRID_TOLERANCE)


def test_polar_and_grid_readouts_agree_on_a_relu_network():
    """ReLU on orthogonal inputs of three norms, two classes (two readouts: the circle of
    directions): the polar integration and the sinh-mapped grid are independent
    quadratures of the same m-dimensional integrals — A and the kernel agree within their
    tolerances; a non-homogeneous α is refused by the polar route by name."""
    from fieldtheory.ir.model import load_model
    from fieldtheory.ir.posterior import with_data

    x = np.eye(6)[:5] * np.array([2.0, 2.5, 3.0, 2.0, 2.5])[:, None]
    y = np.eye(2)[[0, 0, 1, 1, 1]]
    model = with_data(load_model("bayes_relu"), x, y)
    runs = {ro: solve_posterior(model, method="posterior_quadrature",
                                options={"readout": ro, "samples": 2000, "replicas": 2})
            for ro in ("grid", "polar")}
    for key in ("readout_second_moment", "kernel_posterior", "coding_participation"):
        np.testing.assert_allclose(runs["polar"].observables[key],
                                   runs["grid"].observables[key],
                                   rtol=2 * pq.READOUT_GRID_TOLERANCE,
                                   atol=2 * pq.READOUT_GRID_TOLERANCE)
    from fieldtheory.errors import ParameterError

    with pytest.raises(ParameterError, match="positively homogeneous"):
        solve_posterior(with_data(load_model("bayes_erf"), x, y),
                        method="posterior_quadrature", options={"readout": "polar"})


@pytest.mark.parametrize("slopes", [(1.0, 0.0), (1.3, 0.0), (1.0, 1.0), (1.3, 0.4)])
def test_direction_margin_of_mutually_obtuse_groups(slopes):
    """ReLU-like α (c₋ = 0) with the groups' rows v_g pairwise obtuse: the densest direction
    of the readout is one group's v̂_g alone, so min_â σ_a²q(â) = 1 − σ_a² c₊² max_g
    n_g κ_g |v_g|²; linear α: every group grows on both sides, 1 − σ_a² λ_max(Σ n κ v vᵀ).
    A leaky ReLU (both sides grow, other groups switch on along −v̂_g) against the densest
    of 400 000 random directions (which can only be less dense than the true maximum; at
    their spacing, ≈ 0.006 rad, by ≲ 1e-4 relative — the bound allows 1e-3)."""
    from fieldtheory.solvers.runtime.readout_polar import _growth, direction_margin

    V = np.array([[0.3, -0.1, -0.05], [-0.1, 0.25, -0.08], [-0.12, -0.06, 0.2]])
    n, kappa, s2 = np.array([5.0, 10.0, 15.0]), np.array([1.0, 0.8, 1.2]), 1.3
    cp, cm = slopes
    q, peaks = direction_margin(V, n, kappa, s2, slopes)
    assert np.allclose(np.linalg.norm(peaks, axis=1), 1.0)
    if cm == 0:
        expected = 1 - s2 * cp**2 * np.max(n * kappa * np.sum(V**2, axis=1))
        assert q == pytest.approx(expected, rel=1e-8, abs=1e-10)
    elif cp == cm:
        expected = 1 - s2 * np.max(np.linalg.eigvalsh((V.T * n * kappa) @ V))
        assert q == pytest.approx(expected, rel=1e-8, abs=1e-10)
    else:
        u = np.random.default_rng(5).standard_normal((400_000, 3))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        brute = 1 - s2 * float(np.max(_growth(u @ V.T, slopes) @ (n * kappa)))
        assert brute - 1e-3 * abs(brute) <= q <= brute + 1e-12


def test_a_stall_near_the_boundary_names_the_needles():
    """The polar route's stall message names the densest directions and the groups that
    drive them (mutually obtuse rows: one group each, ReLU)."""
    from fieldtheory.ir.model import load_model
    from fieldtheory.ir.posterior import with_data
    from fieldtheory.posterior_solve import posterior_spec

    x = np.sqrt(6) * np.eye(6)
    y = np.eye(3)[[0, 0, 0, 1, 1, 2]]
    spec, _ = posterior_spec(with_data(load_model("bayes_relu"), x, y))
    kappa = pq.diagonal_kernel(spec)
    labels = pq._exchangeable_groups(kappa, spec.y)
    quad = pq.ReadoutQuadrature(spec, kappa, labels, "polar")
    V = np.diag([0.5, 0.4, 0.3]) - 0.05 * (1 - np.eye(3))
    text = quad.needle_text(V)
    n = quad.n
    assert all(f"groups [{g}] (patterns {int(n[g])})" in text for g in range(3)), text
    q = 1 - spec.weight_variance * np.max(n * kappa[0] * np.sum(V**2, axis=1))
    assert f"{q:.3g}" in text


def _relu_readout_oracle(V, n, kappa, s2):
    """Z-normalised A and ⟨ψ_gk⟩ = E[a_k E(α(h)|t_g)] of p_v(a), two readouts, ReLU:
    adaptive quadrature over the angle (scipy's quad_vec, split at the rows' directions)
    of radial integrals by 400-point Gauss–Legendre out to where the density has fallen by
    e^{−60} on the ray, with the tilted moments written out here: with z = t√κ and
    E = erfcx(−z/√2), M(t) = ½ + e^{κt²/2}Φ(z) = ½(1 + E) and
    E[α e^{tα}] = √κ (zE/2 + 1/√(2π))."""
    from scipy.integrate import quad_vec
    from scipy.special import erfcx
    from scipy.stats import norm

    c = 1 / np.sqrt(2 * np.pi)
    x, w = np.polynomial.legendre.leggauss(400)

    def parts(r, theta):
        u = np.array([np.cos(theta), np.sin(theta)])
        z = np.outer(r, V @ u) * np.sqrt(kappa)                     # radii × groups
        # ln E: for z > 0 through ln Φ (E = 2Φ(z) e^{z²/2} overflows), else directly
        up = z > 0
        zp, zm = np.where(up, z, 0.0), np.minimum(z, 0.0)
        logE = np.where(up, 0.5 * zp**2 + np.log(2) + norm.logcdf(zp),
                        np.log(erfcx(-zm / np.sqrt(2))))
        ell = (-r * r / (2 * s2) + (np.log(0.5) + np.logaddexp(0, logE)) @ n
               + np.log(r))
        inv = np.exp(-np.where(up, logE, 0.0))       # 1/E where E ≥ 1
        E = np.exp(np.where(up, 0.0, logE))          # E where E ≤ 1
        d1 = np.sqrt(kappa) * np.where(up, (z + 2 * c * inv) / (1 + inv),
                                       (z * E + 2 * c) / (1 + E))
        return ell, u, d1

    scan = np.geomspace(1e-3, 1e4, 2000) * np.sqrt(s2)
    # a common scale (the density's largest value on 256 rays) against overflow
    top = max(parts(scan, th)[0].max() for th in np.linspace(0, 2 * np.pi, 256))

    def ray(theta):
        ell = parts(scan, theta)[0]
        reach = scan[np.flatnonzero(ell > ell.max() - 60)[-1]]
        r = 0.5 * reach * (x + 1)
        ell, u, d1 = parts(r, theta)
        wr = 0.5 * reach * w * np.exp(ell - top)
        return np.concatenate([[wr.sum()], (wr * r * r).sum() * np.outer(u, u).ravel(),
                               np.outer((wr * r) @ d1, u).ravel()])

    needles = [np.arctan2(v[1], v[0]) % (2 * np.pi) for v in V]
    edges = np.sort(np.concatenate([[0.0, 2 * np.pi], needles]))
    total = sum(quad_vec(ray, a, b, epsrel=1e-9, epsabs=0, limit=400)[0]
                for a, b in itertools.pairwise(edges))
    return total[1:5].reshape(2, 2) / total[0], total[5:].reshape(-1, 2) / total[0]


def test_relu_near_the_boundary_switches_to_polar_and_solves_the_saddle_point():
    """ReLU, two classes of 14 and 6 orthogonal patterns: the saddle point lies near the
    normalisability boundary (direction margin ≈ 1e-3), so ``readout="auto"`` leaves the
    grid for the polar integration when the margin falls below READOUT_POLAR_SWITCH and
    converges there (residual 1e-9; the grid alone stalls — measured, 26 s, not run
    here). At its v an independent nested
    adaptive quadrature (written in the test) gives ⟨ψ⟩ = y — the saddle-point equation
    itself — and the same A, within the cubature's tolerance (measured: 1e-7)."""
    from fieldtheory.ir.model import load_model
    from fieldtheory.ir.posterior import with_data
    from fieldtheory.posterior_solve import posterior_spec

    P = 20
    x, y = np.sqrt(P) * np.eye(P), np.eye(2)[np.repeat([0, 1], [14, 6])]
    spec, _ = posterior_spec(with_data(load_model("bayes_relu"), x, y))
    kept = {}
    original = pq._readout_observables

    def keep(spec_, quad, V, r, *args):
        kept.update(V=V, n=quad.n, kappa=quad.kappa, s2=quad.s2)
        return original(spec_, quad, V, r, *args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pq, "_readout_observables", keep)
        out = pq.solve_posterior_quadrature(spec, None, {"samples": 2000, "replicas": 2})
    info = out["info"]["grid"]
    assert info["integration"] == "polar" and info["switched_to_polar"] is not None
    assert out["info"]["residual"] < 1e-9
    A, psi = _relu_readout_oracle(kept["V"], kept["n"], kept["kappa"], kept["s2"])
    np.testing.assert_allclose(A, out["readout_second_moment"],
                               rtol=pq.READOUT_GRID_TOLERANCE)
    labels = pq._exchangeable_groups(pq.diagonal_kernel(spec), spec.y)
    targets = np.array([spec.y[labels == g][0] for g in range(2)])
    np.testing.assert_allclose(psi, targets, atol=pq.READOUT_GRID_TOLERANCE)


def test_radial_coordinates_gradient_and_hessian_by_finite_differences():
    """Newton's system in the radial coordinates w (v_g = w_g/√(1 + |w_g|²/ρ_g²)): the
    chain rule with the map's second derivatives, on a cubic test function of v, against
    central differences (step 1e-6: errors ~1e-10 relative); the map's inverse."""
    from fieldtheory.solvers.runtime.readout_polar import RadialCoordinates

    rng = np.random.default_rng(0)
    G, m = 3, 3
    coords = RadialCoordinates(np.array([5.0, 10.0, 15.0]), np.array([1.0, 0.8, 1.2]), 1.3,
                               (1.0, 0.2))
    A = rng.normal(size=(G * m, G * m))
    A = A @ A.T
    b = rng.normal(size=G * m)

    def F(V):
        v = V.ravel()
        return 0.5 * v @ A @ v + b @ v + np.sum(v**3)

    def system(W):
        v = coords.to_v(W).ravel()
        return coords.newton_system(W, (A @ v + b + 3 * v**2).reshape(G, m),
                                    A + np.diag(6 * v))

    W = 0.3 * rng.normal(size=(G, m))
    np.testing.assert_allclose(coords.to_w(coords.to_v(W)), W, rtol=1e-13, atol=1e-15)
    grad, H = system(W)
    eps = 1e-6
    for k in range(G * m):
        e = np.zeros(G * m)
        e[k] = eps
        e = e.reshape(G, m)
        fd = (F(coords.to_v(W + e)) - F(coords.to_v(W - e))) / (2 * eps)
        assert fd == pytest.approx(grad.ravel()[k], rel=1e-7, abs=1e-9)
        column = (system(W + e)[0] - system(W - e)[0]).ravel() / (2 * eps)
        np.testing.assert_allclose(column, H[:, k], rtol=1e-6, atol=1e-7 * np.abs(H).max())


def test_declared_relu_network_by_polar_integration():
    """A posterior declared in the test (tests/test_posterior.py's ``declared``: readout
    c·a·ReLU(h), σ_a = s·q, input variance sw², temperature T = 0.2) on orthogonal inputs of
    three norms: the polar integration forced from the start against the grid (independent
    quadratures of the same integrals; A, the kernel and the coding participation), and the
    gain c moved into the prior — (c, s) = (1.5, 0.8) and (1, 1.2) are one network — leaves
    c²A, the kernel and the (scale-free) participation unchanged."""
    from test_posterior import declared

    import fieldtheory as ft

    x = np.eye(7)[:5] * np.array([2.0, 2.5, 3.0, 2.0, 2.5])[:, None]
    model = declared(lambda a, h, c: c * a * ft.relu(h), x=x)
    options = {"samples": 2000, "replicas": 2}
    runs = {(ro, c): solve_posterior(model, {"c": c, "s": s, "T": 0.2},
                                     method="posterior_quadrature",
                                     options={**options, "readout": ro})
            for ro in ("grid", "polar") for c, s in ((1.5, 0.8), (1.0, 1.2))}
    assert runs["polar", 1.0].info["grid"]["integration"] == "polar"
    for key in ("readout_second_moment", "kernel_posterior", "coding_participation"):
        for c in (1.5, 1.0):
            np.testing.assert_allclose(runs["polar", c].observables[key],
                                       runs["grid", c].observables[key],
                                       rtol=2 * pq.READOUT_GRID_TOLERANCE,
                                       atol=2 * pq.READOUT_GRID_TOLERANCE)
        scale = 1.5**2 if key == "readout_second_moment" else 1.0
        np.testing.assert_allclose(scale * np.asarray(runs["polar", 1.5].observables[key]),
                                   runs["polar", 1.0].observables[key],
                                   rtol=2 * pq.READOUT_GRID_TOLERANCE,
                                   atol=2 * pq.READOUT_GRID_TOLERANCE)


def test_a_failed_participation_integral_keeps_the_saddle_point(monkeypatch):
    """The extra integration for the coding participation failing does not discard a
    converged saddle point: ρ then comes from the draws (with its replicas' error), and
    ``info`` says so; A and the kernel are those of the exact run."""
    exact = solve_posterior("bayes_relu", options={"samples": 4000, "replicas": 3})
    original = pq.ReadoutQuadrature.integrate

    def failing(self, V, responses=None):
        if responses is not None:
            raise ConvergenceError("test: the response energy did not converge")
        return original(self, V, responses)

    monkeypatch.setattr(pq.ReadoutQuadrature, "integrate", failing)
    drawn = solve_posterior("bayes_relu", options={"samples": 4000, "replicas": 3})
    assert "from the draws" in drawn.info["coding_participation"]
    assert exact.info["coding_participation"] == "exact"
    for key in ("readout_second_moment", "kernel_posterior"):
        np.testing.assert_allclose(drawn.observables[key], exact.observables[key])
    rho, err = drawn.observables["coding_participation"], drawn.stderr["coding_participation"]
    assert 0 < err and abs(rho - exact.observables["coding_participation"]) < 5 * err
