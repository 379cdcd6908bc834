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
