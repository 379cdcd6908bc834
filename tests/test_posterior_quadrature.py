"""The readout quadrature of the mean-field Bayesian single neuron (issue 15): exact for
orthogonal training inputs, checked against the Gaussian closed form, the closed-form
tilted moments against the tabulated ones, and the tempered-SMC runtime on a declared
nonlinear network (the shipped erf and ReLU networks meet the HMC sampler in
tests/test_posterior.py); the automatic fallback to the next runtime when it cannot
converge."""

from __future__ import annotations

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
    rng = np.random.default_rng(3)
    for t0 in (-2.0, 0.5, 3.0):
        mean, second = closed.values(np.array([t0]))[3:]
        sd = np.sqrt(second[0] - mean[0] ** 2)
        for sampler in (closed, table):
            h = sampler.sample(np.full(40000, t0), rng)
            assert abs(h.mean() - mean[0]) < 4.5 * sd / np.sqrt(h.size), (t0, sampler)


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
    for key in ("readout_second_moment", "kernel_posterior"):
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
