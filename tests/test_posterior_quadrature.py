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
