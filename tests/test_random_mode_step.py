"""The simulator's step bound for random-mode couplings uses the realised ‖J‖₂ (issue 13,
item 6): valid (not below the exact norm), tight (within the 1 % margin), and it lets
``simulate random_mode`` take the RK4 steps that are stable."""

from __future__ import annotations

import numpy as np
import pytest

import fieldtheory as ft
from fieldtheory.errors import UnstableStepError
from fieldtheory.simulate import rate_bound, simulate
from fieldtheory.simulate.compile_action import compile_action
from fieldtheory.simulate.network import realise_trials, trial_generators

VALUES = {"g": 2.0, "alpha": 1.0, "beta": 3.0}


@pytest.mark.parametrize(("n", "alpha"), [(1000, 1.0), (1500, 0.1)])
def test_realised_norm_is_valid_and_tight(n, alpha):
    model = ft.load_model("random_mode")
    compiled = compile_action(model.action, model.parameters.resolve({**VALUES,
                                                                       "alpha": alpha}))
    network = realise_trials(compiled, n, trial_generators(0, 1), "float64")
    matrix = network.couplings[0].matrices[0]
    exact = np.linalg.norm(matrix.dense(), 2)
    estimate = matrix.norm_estimate()
    assert exact <= estimate <= 1.02 * exact
    # φ = erf(√π x/2) has sup φ' = 1 and the leak is 1
    assert rate_bound(network) == pytest.approx(1 + estimate, rel=1e-12)
    assert rate_bound(network) < 0.7 * rate_bound(compiled)  # the ensemble's bound is loose


def test_rk4_at_the_stable_step_is_accepted_and_a_larger_one_refused():
    model = ft.load_model("random_mode")
    result = simulate(model, VALUES, N=1000, t_max=5.0, t_burn=1.0, dt=0.25, dtau=0.25,
                      method="rk4", tau_max=1.0, blocks=2)
    assert result.dt == 0.25 and np.isfinite(result.observables["variance"])
    with pytest.raises(UnstableStepError, match=r"dt = 0\.5"):
        simulate(model, VALUES, N=1000, t_max=5.0, t_burn=1.0, dt=0.5, dtau=0.5,
                 method="rk4", tau_max=1.0, blocks=2)
