"""The network-wide mixture of population observables (``runtime.common.mixture``)."""

from __future__ import annotations

import numpy as np
import pytest

from fieldtheory.solvers.runtime.common import mixture

TAU = np.array([0.0, 1.0, 2.0])


def population(mean, variance, mphi, gain, decay=1.0):
    curve = variance * np.exp(-decay * TAU)
    return {"mean": mean, "variance": variance, "autocorrelation": {"tau": TAU, "values": curve},
            "mean_phi": mphi, "autocorrelation_phi": {"tau": TAU, "values": 0.5 * curve},
            "mean_gain": gain}


def test_identical_populations_mix_to_themselves():
    one = population(0.3, 1.2, 0.1, 0.6)
    values, _ = mixture([one, one], [0.8, 0.2])
    for key in ("mean", "variance", "mean_phi", "mean_gain"):
        assert values[key] == pytest.approx(one[key], rel=1e-14)
    np.testing.assert_allclose(values["autocorrelation"]["values"],
                               one["autocorrelation"]["values"], rtol=1e-14)


def test_law_of_total_variance_against_sampled_units():
    """Units drawn from two Gaussian populations: the sample variance over all units equals
    Σ f (Δ_α + (M_α − M̄)²) within its sampling error (4σ, σ² ≈ 2Δ²/n for n units)."""
    rng = np.random.default_rng(3)
    f = np.array([0.7, 0.3])
    pops = [population(-0.5, 1.0, 0.0, 0.5), population(1.5, 0.25, 0.0, 0.5)]
    n = 400_000
    counts = rng.multinomial(n, f)
    units = np.concatenate([rng.normal(p["mean"], np.sqrt(p["variance"]), k)
                            for p, k in zip(pops, counts, strict=True)])
    values, _ = mixture(pops, f)
    assert units.mean() == pytest.approx(values["mean"], abs=4 * np.sqrt(values["variance"] / n))
    # Var(sample variance) = (μ4 − σ⁴)/n, μ4 the mixture's central fourth moment
    d = np.array([p["mean"] for p in pops]) - values["mean"]
    v = np.array([p["variance"] for p in pops])
    mu4 = float(f @ (3 * v**2 + 6 * v * d**2 + d**4))
    sigma = np.sqrt((mu4 - values["variance"] ** 2) / n)
    assert units.var() == pytest.approx(values["variance"], abs=4 * sigma)


def test_errors_are_first_order_propagation():
    """Perturb each input by ε times its error (ε small: the quadratic term of Δ_all in the
    means is O(ε) relative): the changes, over ε, add in quadrature to the propagated error."""
    f = [0.6, 0.4]
    pops = [population(0.2, 1.0, 0.1, 0.5), population(-0.4, 0.5, -0.2, 0.7, decay=2.0)]
    errs = [population(0.01, 0.02, 0.005, 0.003), population(0.02, 0.01, 0.004, 0.002)]
    values, errors = mixture(pops, f, errs)
    squares = 0.0
    for a in range(2):
        for key in ("mean", "variance"):
            bumped = [dict(p) for p in pops]
            h = 1e-4 * errs[a][key]
            if key == "variance":
                bumped[a]["autocorrelation"] = {"tau": TAU, "values": pops[a]["autocorrelation"][
                    "values"] + h}
            else:
                bumped[a][key] = pops[a][key] + h
            squares += ((mixture(bumped, f)[0]["variance"] - values["variance"]) / 1e-4) ** 2
    assert errors["variance"] == pytest.approx(np.sqrt(squares), rel=1e-3)
