"""compare(): z-scores per observable and the pass/fail verdict."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fieldtheory.errors import ParameterError
from fieldtheory.observables import Observables
from fieldtheory.verify import compare

TAU = np.linspace(0, 2, 5)


def simulated(shift: float = 0.0):
    obs = Observables(mean=0.1 + shift, variance=1.0,
                      autocorrelation={"tau": TAU, "values": np.exp(-TAU) + shift})
    err = Observables(mean=0.01, variance=0.02,
                      autocorrelation={"tau": TAU, "values": np.full(TAU.size, 0.01)})
    return obs, err


def theory():
    fine = np.linspace(0, 3, 301)
    return {"mean": 0.1, "variance": 1.0, "mean_gain": 0.5,
            "autocorrelation": {"tau": fine, "values": np.exp(-fine)}}


def test_exact_agreement_passes_with_z_zero_up_to_interpolation():
    report = compare(theory(), *simulated())
    assert report.passed
    # linear interpolation of e^{-τ} on a 0.01 grid errs by < h²/8 = 1.25e-5 → |z| < 2e-3
    assert report.max_abs_z < 2e-3
    names = {c.observable for c in report.comparisons}
    assert names == {"mean", "variance", "autocorrelation"}  # mean_gain: theory only
    assert len(report.comparisons) == 2 + TAU.size


def test_a_shift_of_five_standard_errors_fails():
    report = compare(theory(), *simulated(shift=0.05))
    assert not report.passed
    assert report.worst()["mean"].z == pytest.approx(5.0)
    assert "FAIL" in report.table() and "mean" in report.table()


def test_populations_are_compared_with_prefixes():
    obs, err = simulated()
    sim = Observables(populations={"E": obs})
    errors = Observables(populations={"E": err})
    report = compare({"populations": {"E": theory()}}, sim, errors)
    assert {c.observable for c in report.comparisons} >= {"E/mean", "E/autocorrelation"}


def test_zero_stderr_gives_infinite_z_unless_equal():
    obs, _ = simulated(shift=0.01)
    zero = Observables(mean=0.0, variance=0.0,
                       autocorrelation={"tau": TAU, "values": np.zeros(TAU.size)})
    report = compare(theory(), obs, zero)
    assert math.isinf(report.worst()["mean"].z) and not report.passed
    assert compare(theory(), *simulated()).passed


def test_theory_grid_must_cover_the_simulation_grid():
    short = theory()
    short["autocorrelation"] = {"tau": TAU[:3], "values": np.exp(-TAU[:3])}
    with pytest.raises(ParameterError, match="does not cover"):
        compare(short, *simulated())


def test_nothing_in_common_does_not_pass():
    obs, err = simulated()
    assert not compare({"lyapunov_max": 0.1}, obs, err).passed
