"""Nothing returns or prints NaN silently (issue 11.2).

* a solve whose site is undefined along its paths (log x) fails with a named error
  instead of returning NaN observables;
* results' ``to_json`` are strict JSON: a quantity that cannot be computed is null, and
  ``"undefined"`` names the JSON pointer and the reason (the runtime's note where it gives
  one, e.g. λ_max of a kernel site with several populations);
* sweeps refuse ranges and grids they could not hold, before any work.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.errors import ConvergenceError, ResourceError
from fieldtheory.jsonout import dumps, strict
from fieldtheory.observables import Observables
from fieldtheory.resources import memory_limit
from fieldtheory.results import TheoryResult
from fieldtheory.sweep import parse_range

x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t


def test_strict_replaces_non_finite_numbers_and_says_where():
    out = strict({"a": math.nan, "b": [1.0, np.float32("inf")], "c": {"d": 2}},
                 {"/c/e": "not computed here"})
    assert out["a"] is None and out["b"] == [1.0, None] and out["c"]["e"] is None
    assert out["undefined"] == {"/a": "not finite: nan", "/b/1": "not finite: inf",
                                "/c/e": "not computed here"}
    json.loads(dumps({"x": math.nan}), parse_constant=pytest.fail)


def test_a_site_undefined_along_its_paths_is_a_named_failure():
    """Drift −x + log x: the sampled paths leave x > 0 and the site becomes NaN."""
    p = ft.parameters(g=(1.5, "positive"), D=(0.1, "nonnegative"))
    g, D = p.symbols
    model = ft.Model("log_drift", ft.langevin(
        {x: -x(t) + sp.log(x(t)) + J @ ft.tanh(x(t))}, {x: D}, {J: ft.Gaussian(0, g**2)}, p),
        "an undefined drift")
    with pytest.raises(ConvergenceError, match="non-finite"):
        ft.solve(model, options={"paths": 8, "replicas": 2, "t_record": 10.0})


def test_theory_json_gives_null_and_the_runtimes_reason():
    tau = np.array([0.0, 1.0])
    obs = Observables(mean=0.0, variance=1.0, autocorrelation={"tau": tau, "values": tau},
                      mean_phi=0.0, autocorrelation_phi={"tau": tau, "values": tau},
                      mean_gain=0.5)
    result = TheoryResult("m", {"g": 1.0}, obs, "noise_driven", "kernel",
                          undefined={"/observables/lyapunov_max": "several populations"})
    out = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert out["observables"]["lyapunov_max"] is None
    assert out["undefined"] == {"/observables/lyapunov_max": "several populations"}


def test_a_real_solve_is_strict_json():
    out = ft.solve("scs", {"g": 2.0}).to_json()
    json.loads(json.dumps(out, allow_nan=False), parse_constant=pytest.fail)
    assert "undefined" not in out


def test_sweep_ranges_and_grids_are_guarded_before_any_work():
    with pytest.raises(ResourceError, match="100000000 points"):
        parse_range("1:2:100000000")
    with memory_limit("1M"), pytest.raises(ResourceError, match="grid points"):
        ft.sweep("scs", {"g": np.linspace(1, 2, 40), "J0": np.linspace(0, 1, 40)}, workers=1)


def test_a_lag_range_longer_than_the_run_is_refused_and_the_default_fits():
    """t_burn = 0, t_max = 10, one trial in 8 blocks: each block estimates lags < 1.25."""
    from fieldtheory.errors import ParameterError

    model = ft.load_model("scs")
    with pytest.raises(ParameterError, match="longer than the run can estimate"):
        ft.simulate(model, {"g": 2.0}, N=30, t_max=10.0, t_burn=0.0, tau_max=30.0)
    result = ft.simulate(model, {"g": 2.0}, N=30, t_max=10.0, t_burn=0.0)
    tau = result.observables["autocorrelation"]["tau"]
    assert tau[-1] == pytest.approx(1.0)  # 20 shortened to t_max/blocks − dtau
    assert "undefined" not in result.to_json()
    assert np.all(np.isfinite(result.stderr["autocorrelation"]["values"]))


def test_a_diverging_simulation_is_reported_as_diverging():
    """The linear network at g = 3 grows like e^{2t}: refused with the step and time at
    which |x| passed the bound, never returned as astronomically large observables."""
    from fieldtheory.errors import DivergenceError
    from fieldtheory.simulate.integrators import DIVERGENCE_BOUND

    with pytest.raises(DivergenceError, match="diverges") as caught:
        ft.simulate(ft.load_model("linear"), {"g": 3.0}, N=100, t_max=100.0)
    # growth e^{(g−1)t} from O(1): the bound is reached near t = ln(1e8)/2 ≈ 9.2 (plus the
    # time the top of the spectrum takes to dominate); well before the run's end
    assert 5 < caught.value.time < 30 and DIVERGENCE_BOUND == 1e8
