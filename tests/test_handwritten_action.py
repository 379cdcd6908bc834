"""A model written directly as an MSRDJ action simulates exactly like its Langevin twin.

The simulator only ever sees the action, so two declarations of one model must give the
same numbers — here with different term order, an overall factor written out, and a time
constant τ multiplying ∂_t x (read back as drift/τ, noise/τ²).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import fieldtheory as ft
from fieldtheory.simulate import simulate

RUN = dict(N=200, t_max=20.0, t_burn=5.0, dt=0.05, tau_max=2.0, dtau=0.25, seed=11)


def _params():
    return ft.parameters(g=(1.8, "positive"), D=(0.3, "nonnegative"), I=0.2,
                         tau=(2.0, "positive"))


def _assert_same(a, b):
    for key in ("mean", "variance", "mean_phi", "mean_gain"):
        np.testing.assert_allclose(a.observables[key], b.observables[key], rtol=1e-12)
    np.testing.assert_allclose(a.observables["autocorrelation"]["values"],
                               b.observables["autocorrelation"]["values"], rtol=1e-12)


def test_handwritten_action_simulates_like_langevin_twin():
    p = _params()
    g, D, I, tau = p.symbols
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    ensemble = {J: ft.Gaussian(mean=0, variance=g**2)}
    twin = ft.langevin(
        drift={x: (-x(t) + J @ ft.tanh(x(t)) + I) / tau},
        noise={x: D / tau**2},
        couplings=ensemble,
        parameters=p,
    )
    xt = x.response(t)
    lagrangian = (
        D / 2 * xt**2
        + xt * (J @ ft.tanh(x(t)))
        - tau * xt * sp.Derivative(x(t), t)
        + xt * (I - x(t))
    )
    written = ft.Action(lagrangian, (x,), ensemble, p)
    system_a, system_b = ft.read_langevin(twin), ft.read_langevin(written)
    assert sp.simplify(system_a.drift[0] - system_b.drift[0]) == 0
    assert sp.simplify(system_a.noise[0, 0] - system_b.noise[0, 0]) == 0
    _assert_same(simulate(twin, **RUN), simulate(written, **RUN))


def test_handwritten_map_simulates_like_langevin_twin():
    p = ft.parameters(g=(1.5, "positive"), delta=(0.5, (0.01, 1)), D=(0.2, "nonnegative"))
    g, delta, D = p.symbols
    x, J, n = ft.Field("x"), ft.Coupling("J"), ft.n
    ensemble = {J: ft.Gaussian(mean=0, variance=g**2)}
    twin = ft.langevin(
        drift={x: (1 - delta) * x(n) + delta * (J @ ft.tanh(x(n)))},
        noise={x: delta * D},
        couplings=ensemble,
        parameters=p,
        time=ft.discrete(delta),
    )
    xt = x.response(n)
    lagrangian = xt * (-x(n + 1) + x(n) - delta * (x(n) - J @ ft.tanh(x(n)))) \
        + delta * D * xt**2 / 2
    written = ft.Action(lagrangian, (x,), ensemble, p, time=ft.discrete(delta))
    run = {**RUN, "dt": None}
    _assert_same(simulate(twin, **run), simulate(written, **run))
