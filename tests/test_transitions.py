"""Issue 17, item 2 (part): coexisting DMFT solutions of multistable units and the
switching of finite networks between them (`fieldtheory.transitions`).

Oracle of the frozen branch: without noise a unit held by a static field h = I + η sits,
when started on the side of h (``paths_from="input"``), in the well of its potential on
that side — the root x*(h) of the drift with the sign of h — so the frozen branch is the
static self-consistency q = E_z[φ(x*(I + σ√q z))²], solved here by quadrature with its own
root finder. The fluctuating branch must differ from it and carry no static part of the
same size. The switching of finite networks is checked against the branches' q: Q(t)
dwells near them, and networks switch both ways with dwell times far beyond the
smoothing window.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.stats import norm

import fieldtheory as ft
from fieldtheory.cli import main
from fieldtheory.errors import ParameterError
from fieldtheory.transitions import dmft_branches, simulate_switching

# the declared variant: parameters in the leak (c), the nonlinear drift (s), the noise
# (D), the coupling variance ((g·k)²) and the input (I); φ = tanh
C, S, G, K, I = 1.2, 2.0, 2.2, 0.9, 0.1


def variant() -> ft.Model:
    p = ft.parameters(
        c=(C, "positive", "leak"), s=(S, "nonnegative", "self-excitation"),
        D=(0.0, "nonnegative", "noise"), g=(G, "nonnegative", "gain"),
        k=(K, "positive", "gain factor"), I=(I, "real", "input"))
    c, s, D, g, k, inp = p.symbols
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    action = ft.langevin(
        drift={x: -c * x(t) + s * ft.tanh(x(t)) + J @ ft.tanh(x(t)) + inp},
        noise={x: D},
        couplings={J: ft.Gaussian(mean=0, variance=(g * k) ** 2)},
        parameters=p)
    return ft.Model("bistable_variant", action, "declared in the test", "none")


def static_branch() -> float:
    """q = E_z[tanh(x*(h))²], h = I + gk√q z, x* the root of c x − s tanh x = h on the side
    of h (for |h| below the fold both wells exist; the one on h's side is taken)."""

    def root(h: float) -> float:
        f = lambda x: C * x - S * np.tanh(x) - h  # noqa: E731
        side = 1.0 if h >= 0 else -1.0
        # the outer well on h's side: beyond the inflection x_c of c x − s tanh x
        xc = np.arccosh(np.sqrt(S / C))
        return brentq(f, side * xc, side * (abs(h) + S / C + 5.0))

    def F(q: float) -> float:
        sd = G * K * np.sqrt(q)
        value, _ = quad(lambda z: np.tanh(root(I + sd * z)) ** 2 * norm.pdf(z), -10, 10,
                        points=[-I / sd], limit=200, epsabs=1e-13)
        return value

    q = 0.9
    for _ in range(200):
        q, old = F(q), q
        if abs(q - old) < 1e-13:
            break
    return q


def test_branches_of_a_declared_bistable_network_without_noise():
    # (a window of 30 is refused for the fluctuating branch: its correlations still fall
    # there by 9 % of their decay — slow hopping)
    found = dmft_branches(variant(), {"D": 0.0}, paths=64, replicas=6, window=60.0)
    assert len(found.branches) == 2, found.notes
    fluctuating, frozen = found.branches
    assert (fluctuating.kind, frozen.kind) == ("fluctuating", "frozen")
    q = static_branch()
    assert abs(frozen.q - q) < 4 * frozen.q_stderr, (frozen, q)
    # without noise the frozen branch is static: its plateau is all of q, up to the
    # transients left after the burn-in by units near their fold (where U'' → 0 they
    # relax slowly; measured 7e-8 relative)
    assert frozen.static == pytest.approx(frozen.q, rel=1e-5)
    assert frozen.q - fluctuating.q > 10 * np.hypot(frozen.q_stderr, fluctuating.q_stderr)
    assert fluctuating.static < 0.5 * fluctuating.q


def test_rate_function_command_reports_branches(capsys):
    """`rate-function bistable`: branches (their q), q_mean, barrier and the window variance
    null with their reasons (the site is not Gaussian)."""
    assert main(["rate-function", "bistable", "-p", "g=1.5", "-p", "D=0", "--paths", "48",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    o = out["observables"]
    assert len(o["branches"]) == 2 and o["branches"][0] < o["branches"][1]
    assert len(out["stderr"]["branches"]) == 2
    assert o["barrier"] is None and "instanton" in out["undefined"]["/observables/barrier"]
    assert o["q_mean"] is None and "branches" in out["undefined"]["/observables/q_mean"]
    assert o["q_variance_N"] is None and "Gaussian" in out["undefined"][
        "/observables/q_variance_N"]
    kinds = [b["kind"] for b in out["info"]["branches"]]
    assert kinds == ["fluctuating", "frozen"]


def test_refusals():
    with pytest.raises(ParameterError, match="populations"):
        dmft_branches("ei")
    with pytest.raises(ParameterError, match="map"):
        dmft_branches("map")
    with pytest.raises(ParameterError, match="replicas"):
        dmft_branches("bistable", replicas=2)
    with pytest.raises(ParameterError, match="paths = 16"):
        dmft_branches("bistable", paths=16)
    with pytest.raises(ParameterError, match="two branches"):
        simulate_switching("bistable", branches=[0.9], N=20)
    with pytest.raises(ParameterError, match="smoothing"):
        simulate_switching("bistable", branches=[0.8, 0.9], N=20, t_max=10.0, smoothing=20.0)


def test_finite_networks_switch_between_the_branches():
    """g = 2, D = 0.05, N = 50: Q(t) dwells near the branches' q, and networks switch
    both ways, staying tens of time units — far beyond the 10-unit smoothing."""
    q = (0.897, 0.975)  # the branches at these parameters (docs/models/large-deviations.md)
    run = simulate_switching("bistable", {"g": 2.0, "D": 0.05}, branches=q, N=50,
                             networks=6, t_max=3000.0, seed=0)
    edges = np.asarray(run.histogram["bins"])
    density = np.asarray(run.histogram["density"])
    centres = 0.5 * (edges[1:] + edges[:-1])
    gap = q[1] - q[0]
    lower = centres < q[0] + gap / 2
    # the frozen states make a sharp peak: its mode; the fluctuating ones a broad,
    # flat-topped hump at N = 50 (partly frozen states fill the gap): its mean
    frozen_mode = centres[~lower][np.argmax(density[~lower])]
    fluctuating_mean = np.sum(centres[lower] * density[lower]) / np.sum(density[lower])
    assert abs(frozen_mode - q[1]) < 0.3 * gap, frozen_mode
    assert abs(fluctuating_mean - q[0]) < 0.3 * gap, fluctuating_mean
    (low, _), (high, _) = run.mean_dwell()
    assert run.switches.sum() >= 10
    assert low > 30.0 and high > 30.0, (low, high)
    # quenched: the networks differ in the time they spend frozen
    assert run.shares[:, 1].max() - run.shares[:, 1].min() > 0.3


def test_dwell_booking_and_the_censored_mean_dwell_exactly():
    """The hysteresis booking on a constructed Q(t) and τ_b = Σ time / Σ exits, exactly:
    Q starts in the band (booked nowhere), goes low for 3 samples, crosses the band (still
    low: hysteresis), high for 4, low for 2."""
    from fieldtheory.transitions import SwitchingResult, _dwell

    q = np.array([0.5, 0.1, 0.1, 0.1, 0.5, 0.9, 0.9, 0.9, 0.9, 0.1, 0.1])
    time, exits = _dwell(q, 0.4, 0.6, 0.5)
    np.testing.assert_allclose(time, [0.5 * 6, 0.5 * 4])
    np.testing.assert_array_equal(exits, [1, 1])
    run = SwitchingResult("m", {}, 10, (0.2, 0.8), 5.0,
                          np.array([[3.0, 2.0], [1.0, 6.0]]), np.array([[1, 1], [1, 0]]))
    (low, _), (high, _) = run.mean_dwell()
    assert low == pytest.approx(4.0 / 2) and high == pytest.approx(8.0 / 1)
    np.testing.assert_array_equal(run.switches, [2, 1])
    np.testing.assert_allclose(run.shares[1], [1 / 7, 6 / 7])
    none = SwitchingResult("m", {}, 10, (0.2, 0.8), 5.0, np.array([[3.0, 0.0]] * 2),
                           np.array([[0, 0]] * 2))
    assert none.mean_dwell()[0] == (None, None)
    assert "/observables/mean_dwell/lower" in none.to_json()["undefined"]
