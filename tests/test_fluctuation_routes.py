"""Two routes to the O(1/N) statistics agree (issue 12, item 3).

Route 1: the Hessian of N·S, lowered and inverted (``solve(order="1/N")``). Route 2: the
independent two-site cavity oracle ``tests/support/cavity.py`` (its own mean-field solve
by Mehler series, its own quadrature in θ = arctan ω, no fieldtheory import). For
Gaussian sites they must agree to 1e-6 (both are converged far below that), with noise,
for maps, and for the population mode of a mean coupling.
"""

from __future__ import annotations

import pytest
from support import cavity

import fieldtheory as ft


@pytest.mark.parametrize(("model", "phi", "params", "delta"), [
    ("scs", "tanh", {"g": 2.0, "D": 0.5}, None),
    ("scs_erf", "erf", {"g": 1.5, "D": 0.2}, None),
    ("map", "tanh", {"g": 2.0, "delta": 0.5, "D": 0.3}, 0.5),
])
def test_participation_ratios_with_noise_and_for_maps(model, phi, params, delta):
    oracle = cavity.participation_ratio(phi, params["g"], params["D"], delta, M=1024)
    ours = ft.solve(model, params, order="1/N").observables["dimension"]
    assert ours["pr_phi"] == pytest.approx(oracle["phi"], rel=1e-6)
    assert ours["pr_x"] == pytest.approx(oracle["x"], rel=1e-6)


@pytest.mark.parametrize(("j0", "noise"), [(1.0, 0.0), (1.8, 0.0), (1.5, 0.5)])
def test_population_mode_variance_and_cross_covariance(j0, noise):
    mean_field = cavity.mean_field("tanh", 2.0, noise)
    oracle = cavity.population_statistics(mean_field, j0, M=1024, taus=(0.0, 1.0))
    ours = ft.solve("scs", {"g": 2.0, "J0": j0, "D": noise}, order="1/N", tau_max=2.0,
                    dtau=1.0).observables
    assert ours["population_variance"]["phi"] == pytest.approx(oracle["var_phi"], rel=1e-6)
    assert ours["population_variance"]["x"] == pytest.approx(oracle["var_x"], rel=1e-6)
    assert ours["cross_covariance"]["values"][:2] == pytest.approx(oracle["cross_x"],
                                                                   rel=1e-6)


def test_sampled_site_with_partial_symmetry_against_the_cavity():
    """ρ ≠ 0 with a nonlinear φ (a network declared here: cubic drift −ax − cx³,
    φ = tanh(sx), noise σ², g, ρ = +0.5): the site is non-Gaussian and sampled. The cavity
    oracle (tests/support/cavity.py, its own derivation and quadrature) fed with the same
    replica-mean sampled spectra R_x, R_φ, C_x, C_φ, C_xφ gives ψ and PR/N. Both routes
    are deterministic functions of the same sampled curves, so they must agree far inside
    the sampling error (≈ 0.6–0.8 %): to 1e-3 relative, the quadrature of the sampled
    spectra (not smooth where the trapezoid transform hands over to the model tails: the
    oracle's C(0) moves by 4e-4 between M = 1024 and 8192). ρ matters at this point — the
    oracle with ρ = 0 on the same spectra gives PR_x/N = 0.806 instead of 0.723."""
    from fieldtheory.codegen.fluctuations import lower_fluctuations
    from fieldtheory.derive import derive
    from fieldtheory.fluctuation_solve import fluctuation_parts
    from fieldtheory.solvers.runtime.fluctuations import RESPONSE_FACTOR, X_FACTOR

    p = ft.parameters(a=(1.0, "positive"), c=(0.2, "nonnegative"), s=(1.2, "positive"),
                      sigma=(1.4, "positive"), g=(1.0, "positive"), rho=(0.5, (-1, 1)))
    a, c, s, sigma, g, rho = p.symbols
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    model = ft.Model("cubic_tanh_rho_routes", ft.langevin(
        {x: -a * x(t) - c * x(t) ** 3 + J @ ft.tanh(s * x(t))}, {x: sigma**2},
        {J: ft.Gaussian(0, g**2, rho)}, p), "declared in the test")
    values = model.parameters.resolve({})
    _, raw, _, _ = fluctuation_parts(ft.solve, model, values, tau_max=4.0, dtau=0.5, options={
        "spectra": True, "monte_carlo": {"window": 12.0, "paths": 48, "seed": 3}})
    derivation = derive(model, order="1/N")
    symbols = {q.symbol: float(values[q.name]) for q in model.parameters}
    spec = lower_fluctuations(derivation.fluctuations, derivation.site_problem(), symbols)
    (phi,) = spec.phi
    site = raw["site_spectra"][spec.populations[0]]
    spectra = cavity.SiteSpectra(
        R_x=lambda w: site(X_FACTOR, RESPONSE_FACTOR, w),
        R_phi=lambda w: site(phi, RESPONSE_FACTOR, w),
        C_x=lambda w: site(X_FACTOR, X_FACTOR, w).real,
        C_phi=lambda w: site(phi, phi, w).real,
        C_xphi=lambda w: site(X_FACTOR, phi, w),
        g=values["g"], rho=values["rho"])
    oracle = cavity.psi_general(spectra, M=2048)
    for key in ("x", "phi"):
        error = raw["stderr"]["dimension"][f"pr_{key}"]
        assert 2e-3 * raw["dimension"][f"pr_{key}"] < error  # the check is far inside it
        assert raw["dimension"][f"pr_{key}"] == pytest.approx(oracle[f"pr_{key}"], rel=1e-3)
        assert raw["psi"][key] == pytest.approx(oracle[f"psi_{key}"], rel=1e-3)
