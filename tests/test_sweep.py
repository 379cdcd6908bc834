"""Phase diagrams (`fieldtheory.sweep`, `fieldtheory sweep`): the transitions of the SCS
network where mean-field theory puts them, the classification, execution and the CLI.

Predictions are computed here independently of the solver: Gaussian averages by
``scipy.integrate.quad``, and the static variance of a fluctuating paramagnet (m = 0,
I = 0, Δ∞ = 0) from the energy condition of the SCS particle picture,
D²/8 − Δ0²/2 + g² Var[Φ(u)] = 0 with Φ = log cosh and u ~ N(0, Δ0).
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
from scipy import integrate, optimize
from support.strict_json import strict_loads

from fieldtheory.cli import main
from fieldtheory.errors import ConvergenceError, FieldTheoryError, ParameterError, ParseError
from fieldtheory.phases import Phase
from fieldtheory.solvers.runtime.monte_carlo_lyapunov import MC_CHAOS_SIGMAS
from fieldtheory.sweep import (
    CHAOS_SIGMAS,
    FAILED,
    MAGNETIC_THRESHOLD,
    PHASES,
    SCALARS,
    classify,
    parse_range,
    parse_sweep_parameters,
    sweep,
    transition,
)

# a short τ grid: the phase needs only the scalars (the lattice is set by the solver)
FAST = {"tau_max": 2.0, "dtau": 0.5}
# the accuracy of quad here and of the solver's trapezoidal Gaussian averages (~1e-13)
QUADRATURE = 1e-9


def gaussian_mean(f, variance: float) -> float:
    """E f(u), u ~ N(0, variance), by adaptive quadrature (variance 0: f(0))."""
    if variance == 0:
        return float(f(0.0))
    s = math.sqrt(variance)
    value, _ = integrate.quad(
        lambda z: f(s * z) * math.exp(-z * z / 2), -np.inf, np.inf, epsabs=1e-13, epsrel=1e-13
    )
    return value / math.sqrt(2 * math.pi)


def log_cosh(x: float) -> float:
    return float(np.logaddexp(x, -x) - math.log(2.0))


def tanh_gain(x: float) -> float:
    return 1.0 / math.cosh(x) ** 2 if abs(x) < 300 else 0.0


def paramagnet_delta0(g: float, D: float) -> float:
    """Δ0 of the m = 0 state: 0 for the stable fixed point (g < 1, D = 0), else the root of
    the energy condition D²/8 − Δ0²/2 + g² Var[log cosh u] = 0."""
    if D == 0 and g < 1:
        return 0.0

    def energy(d0):
        variance = gaussian_mean(lambda x: log_cosh(x) ** 2, d0) - gaussian_mean(log_cosh, d0) ** 2
        return D**2 / 8 - d0**2 / 2 + g**2 * variance

    return optimize.brentq(energy, 1e-3, 50.0, xtol=1e-14, rtol=1e-14)


def critical_j0(g: float, D: float) -> float:
    """J0_c = 1/⟨φ'⟩: where the paramagnet's homogeneous mode becomes unstable."""
    return 1.0 / gaussian_mean(tanh_gain, paramagnet_delta0(g, D))


def boundary(values, phases, inside) -> tuple[float, float]:
    """The grid interval where ``inside(phase)`` switches from False to True (exactly once)."""
    flags = [inside(p) for p in phases]
    switches = [k for k in range(len(flags) - 1) if flags[k] != flags[k + 1]]
    assert len(switches) == 1 and not flags[0], f"phases {list(phases)}"
    return values[switches[0]], values[switches[0] + 1]


def is_chaotic(phase):
    return phase in ("chaotic", "magnetic_chaotic")


def is_magnetic(phase):
    return phase in ("magnetic", "magnetic_chaotic")


# ------------------------------------------------------------------------------ physics


def test_chaos_transition_at_g_1():
    g = [0.6, 0.9, 1.3, 1.8]  # chaotic solves near g = 1 are slow
    result = sweep("scs", {"g": g}, {"J0": 0.0}, workers=1, **FAST)
    low, high = boundary(g, result.phase, is_chaotic)
    assert low < 1.0 < high
    assert list(result.phase) == ["fixed_point"] * 2 + ["chaotic"] * 2
    lyapunov = result.observable("lyapunov_max")
    # at the fixed point x = 0 the Jacobian −1 + g·J/g has spectral radius g: λ = g − 1
    np.testing.assert_allclose(lyapunov[:2], np.array(g[:2]) - 1, atol=QUADRATURE)
    assert np.all(lyapunov[2:] > 0)
    # no magnetisation without J0 (the paramagnet has m = 0 up to rounding)
    assert np.all(np.abs(result.observable("mean_phi")) < MAGNETIC_THRESHOLD)


@pytest.mark.parametrize(("D", "j0"), [(0.0, [0.5, 0.8, 1.1, 1.4]), (0.5, [0.6, 1.0, 1.4, 1.8])])
def test_magnetic_transition_where_j0_times_gain_is_1(D, j0):
    predicted = critical_j0(0.5, D)
    result = sweep("scs", {"J0": j0}, {"g": 0.5, "D": D}, workers=1, **FAST)
    low, high = boundary(j0, result.phase, is_magnetic)
    assert low < predicted < high
    assert not np.any(np.vectorize(is_chaotic)(result.phase))
    # below J0_c the gain of the paramagnet is the predicted ⟨φ'⟩
    below = np.array(j0) < predicted
    np.testing.assert_allclose(result.observable("mean_gain")[below], 1 / predicted, rtol=1e-6)


def test_transition_bisection_finds_the_magnetic_point():
    predicted = critical_j0(0.5, 0.5)  # with noise: Δ0 > 0, ⟨φ'⟩ ≈ 0.815
    xtol = 2e-3
    found = transition(
        "scs", "J0", 1.1, 1.3, {"g": 0.5, "D": 0.5}, kind="magnetic", xtol=xtol, **FAST
    )
    assert (found.below, found.above) == ("noise_driven", "magnetic")
    # bisection error, plus the misclassified band ~1e-11 and the two quadratures
    assert found.error <= xtol
    assert abs(found.value - predicted) <= xtol + QUADRATURE * predicted


def test_transition_needs_a_bracket():
    with pytest.raises(ParameterError, match="do not bracket"):
        transition("scs", "J0", 0.1, 0.2, {"g": 0.5}, kind="magnetic", **FAST)


@pytest.fixture(scope="module")
def corners():
    """The g–J0 plane of tanh at its four corners, serially and in a process pool."""
    grid = {"g": [0.5, 2.5], "J0": [0.0, 3.0]}
    return (sweep("scs", grid, workers=1, **FAST), sweep("scs", grid, workers=2, **FAST))


def test_four_phases_in_the_g_j0_plane(corners):
    serial, _ = corners
    assert serial.phase.tolist() == [["fixed_point", "magnetic"], ["chaotic", "magnetic_chaotic"]]
    # why (2.5, 3) must be magnetic: there the chaotic paramagnet (Δ0 from the energy
    # condition) has J0⟨φ'⟩ > 1, so its homogeneous mode is unstable
    assert 3.0 > critical_j0(2.5, 0.0)
    gain = serial.observable("mean_gain")[1, 0]
    assert gain == pytest.approx(1 / critical_j0(2.5, 0.0), rel=1e-4)  # lattice O(step²)
    assert serial.summary() == {**dict.fromkeys(PHASES, 1), "noise_driven": 0, FAILED: 0}


def test_process_pool_equals_serial(corners):
    serial, pooled = corners
    assert pooled.to_json() == serial.to_json()


# ------------------------------------------------------------------- classification


def self_excited():
    """Units with drift −x + s·tanh x (bistable alone for s > 1) in a random tanh network."""
    import fieldtheory as ft

    p = ft.parameters(
        g=(2.0, "positive", "coupling gain"),
        D=(0.5, "nonnegative", "white noise"),
        s=(1.5, "nonnegative", "self-excitation"),
    )
    g, D, s = p.symbols
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    action = ft.langevin(
        drift={x: -x(t) + s * ft.tanh(x(t)) + J @ ft.tanh(x(t))},
        noise={x: D},
        couplings={J: ft.Gaussian(mean=0, variance=g**2)},
        parameters=p,
    )
    return ft.Model("self_excited", action, "bistable units in a random network", "test")


def test_chaotic_monte_carlo_point_is_chaotic():
    """s = 1.5, g = 2, D = 0.5: a non-Gaussian site (Monte-Carlo runtime), noise-driven and
    chaotic. The sweep point carries λ_max ± σ from the replicas and is classified chaotic
    (λ_max > 3σ); λ_max agrees with the simulator's, N = 250 and 500, within Z combined
    standard errors plus the finite-size shift |λ(500) − λ(250)| (λ(N) = λ∞ − c/N: the
    N = 500 value lies that much below λ∞; measured N = 1000 gives 0.277 ± 0.006, so the
    approach is no faster than 1/N — docs/sweeps.md)."""
    from fieldtheory.simulate import simulate

    model = self_excited()
    result = sweep(model, {"g": [2.0]}, {"s": 1.5, "D": 0.5}, workers=1, tau_max=4.0, dtau=1.0)
    (point,) = result.points
    assert point["error"] is None and point["branch"] == "noise_driven"
    assert result.phase.tolist() == ["chaotic"]
    lam, sigma = point["lyapunov_max"], point["lyapunov_max_stderr"]
    assert lam > CHAOS_SIGMAS * sigma > 0
    sims = {
        N: simulate(model, {"g": 2.0, "s": 1.5, "D": 0.5}, N=N, t_max=100.0, t_burn=30.0,
                    dt=0.025, trials=4, seed=7, tau_max=2.0, dtau=0.5,
                    observe=("lyapunov_max",))
        for N in (250, 500)
    }
    values = {N: s.observables["lyapunov_max"] for N, s in sims.items()}
    shift = abs(values[500] - values[250])
    bound = 4.0 * math.hypot(sigma, sims[500].stderr["lyapunov_max"]) + shift
    assert values[500] > 0 and abs(lam - values[500]) <= bound, (lam, sigma, values)


def test_classify():
    point = {"branch": "fixed_point", "mean_phi": 0.0, "lyapunov_max": -0.5, "error": None}
    assert classify(point) == "fixed_point"
    assert classify({**point, "mean_phi": 0.3}) == "magnetic"
    assert classify({**point, "mean_phi": 0.3, "symmetric": False}) == "fixed_point"
    assert classify({**point, "branch": "chaotic", "lyapunov_max": 0.1}) == "chaotic"
    noisy = {**point, "branch": "noise_driven"}
    assert classify({**noisy, "lyapunov_max": 0.2, "mean_phi": -0.4}) == "magnetic_chaotic"
    assert classify({**noisy, "lyapunov_max": -0.2}) == "noise_driven"
    assert classify({**noisy, "lyapunov_max": -0.2, "mean_phi": 0.3}) == "magnetic"
    # a sampled λ_max is positive only beyond CHAOS_SIGMAS = 3 standard errors
    sampled = {**noisy, "lyapunov_max": 0.2}
    assert classify({**sampled, "lyapunov_max_stderr": 0.06}) == "chaotic"
    assert classify({**sampled, "lyapunov_max_stderr": 0.07}) == "noise_driven"
    assert CHAOS_SIGMAS == MC_CHAOS_SIGMAS == 3.0  # the runtime decides D = 0 with the same k
    assert isinstance(classify(point), Phase) and classify(point) is Phase.FIXED_POINT
    with pytest.raises(ValueError, match="monte_carlo"):  # runtime names are not branches
        classify({**point, "branch": "monte_carlo"})
    # a sampled m within 4 standard errors of 0 is not a magnetisation
    assert classify({**point, "mean_phi": 0.01, "mean_phi_stderr": 0.005}) == "fixed_point"
    assert classify({**point, "error": "ConvergenceError: no root"}) == FAILED


def test_bias_breaks_the_symmetry_explicitly():
    result = sweep("scs", {"J0": [0.0, 2.0]}, {"g": 0.5, "I": 0.3}, workers=1, **FAST)
    assert [p["symmetric"] for p in result.points] == [False, False]
    assert np.all(np.abs(result.observable("mean_phi")) > 0.1)  # m ≠ 0 in both
    assert result.phase.tolist() == ["fixed_point", "fixed_point"]


def test_symmetry_is_read_off_the_site():
    from types import SimpleNamespace

    from fieldtheory.solvers.runtime.common import SiteTerm
    from fieldtheory.sweep import _symmetry_test

    def site(phi, I):
        term = SiteTerm(0, phi, None, None, None, "m")
        return SimpleNamespace(
            offset=np.array([I]),
            phi=(phi,),
            nonlinear=(None,),
            means=(term,),
            correlations=(),
            responses=(),
        )

    def relu(u):
        return np.maximum(u, 0.0)

    with_spec = SimpleNamespace(spec=lambda **v: site(v["phi"], v["I"]))
    test = _symmetry_test(with_spec)
    assert test({"phi": np.tanh, "I": 0.0}) is True
    assert test({"phi": np.tanh, "I": 0.1}) is False
    assert test({"phi": relu, "I": 0.0}) is False
    # a real generated module: scs is symmetric at I = 0 only
    from fieldtheory.codegen.generate import generate

    scs = _symmetry_test(generate("scs"))
    assert scs({"g": 2.0, "I": 0.0}) is True and scs({"g": 2.0, "I": 0.3}) is False


def test_failed_points_are_recorded(monkeypatch):
    module = importlib.import_module("fieldtheory.solve")  # ft.solve is the function
    solve = module.solve

    def flaky(model, params, **options):
        if params["J0"] == 1.0:
            raise ConvergenceError("no root at the critical point", history=(1.0,))
        return solve(model, params, **options)

    monkeypatch.setattr(module, "solve", flaky)
    result = sweep("scs", {"J0": [0.0, 1.0, 2.0]}, {"g": 0.5}, workers=1, **FAST)
    assert result.phase.tolist() == ["fixed_point", FAILED, "magnetic"]
    assert result.failed == 1 and result.summary()[FAILED] == 1
    failed = result.points[1]
    assert failed["error"] == "ConvergenceError: no root at the critical point"
    assert all(failed[k] is None for k in SCALARS)
    assert np.isnan(result.observable("mean")[1])


# --------------------------------------------------------------------------- parsing


def test_parse_range():
    assert parse_range("0:1:3") == (0.0, 0.5, 1.0)
    assert parse_range("1.5:1.5:1") == (1.5,)
    assert parse_range("3:1:2") == (3.0, 1.0)
    assert parse_range("0:pi:2")[-1] == math.pi
    for bad in ("0:1", "0:1:0", "0:1:2.5", "0:1:1", "a:1:2", "0:1:2:3"):
        with pytest.raises(ParseError):
            parse_range(bad)


def test_parse_sweep_parameters():
    ranges, fixed = parse_sweep_parameters(["g=1:2:2", "J0=0:3:4", "D=0.1"])
    assert ranges == {"g": (1.0, 2.0), "J0": (0.0, 1.0, 2.0, 3.0)} and fixed == {"D": 0.1}
    with pytest.raises(ParseError, match="at most 2"):
        parse_sweep_parameters(["g=1:2:2", "J0=0:3:4", "D=0:1:2"])
    with pytest.raises(ParseError, match="twice"):
        parse_sweep_parameters(["g=1:2:2", "g=1"])


@pytest.mark.parametrize(
    "arguments",
    [
        ["-p", "g=1:2"],  # malformed range
        ["-p", "g=1:2:0"],  # count < 1
        ["-p", "q=1:2:2"],  # unknown parameter
        ["-p", "g=1:2:2", "-p", "J0=0:1:2", "-p", "D=0:1:2"],  # three ranges
        ["-p", "g=-1:1:3"],  # outside the domain
        ["-p", "g=1"],  # nothing ranged
        ["-p", "g=1:2:2", "--workers", "0"],
    ],
)
def test_cli_errors_are_one_line_with_status_2(arguments, capsys):
    assert main(["sweep", "scs", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1


def test_cli_json_shape(capsys):
    status = main(
        [
            "sweep",
            "scs",
            "-p",
            "g=0.5:0.8:2",
            "-p",
            "J0=0:2:3",
            "-p",
            "D=0",
            "--json",
            "--workers",
            "1",
            "--tau-max",
            "2",
            "--dtau",
            "0.5",
        ]
    )
    assert status == 0
    data = strict_loads(capsys.readouterr().out)
    assert data["grid"] == {"g": [0.5, 0.8], "J0": [0.0, 1.0, 2.0]}
    assert data["fixed"] == {"D": 0.0}
    assert len(data["observables"]) == 2 and all(len(r) == 3 for r in data["observables"])
    assert len(data["phase"]) == 2 and all(len(r) == 3 for r in data["phase"])
    point = data["observables"][0][0]
    assert set(point) == {*SCALARS, "branch", "symmetric", "error"}
    assert data["phase"][1][2] == "magnetic"  # g = 0.8, J0 = 2
    assert sum(data["summary"].values()) == 6


def test_cli_curves_and_text(capsys):
    assert (
        main(
            [
                "sweep",
                "scs",
                "-p",
                "J0=0:2:2",
                "-p",
                "g=0.5",
                "--workers",
                "1",
                "--curves",
                "--json",
                "--tau-max",
                "1",
                "--dtau",
                "0.5",
            ]
        )
        == 0
    )
    point = strict_loads(capsys.readouterr().out)["observables"][0]
    assert point["autocorrelation"]["tau"] == [0.0, 0.5, 1.0]
    assert (
        main(["sweep", "scs", "-p", "J0=0:2:2", "-p", "g=0.5", "--workers", "1", "--no-progress"])
        == 0
    )
    out = capsys.readouterr().out
    assert "2 points: 1 fixed_point, 1 magnetic" in out


def test_dask_missing_is_a_clear_error():
    try:
        import distributed  # noqa: F401
    except ImportError:
        with pytest.raises(FieldTheoryError, match=r"fieldtheory\[dask\]"):
            sweep("scs", {"J0": [0.0]}, {"g": 0.5}, dask="tcp://127.0.0.1:1", **FAST)
    else:
        pytest.skip("dask is installed")


def test_dask_client_equals_serial():
    distributed = pytest.importorskip("distributed")
    grid, fixed = {"J0": [0.0, 2.0]}, {"g": 0.5}
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
    ) as client:
        remote = sweep("scs", grid, fixed, dask=client, **FAST)
    assert remote.to_json() == sweep("scs", grid, fixed, workers=1, **FAST).to_json()


def test_plot_writes_a_figure(corners, tmp_path):
    pytest.importorskip("matplotlib")
    serial, _ = corners
    assert serial.plot(tmp_path / "phases.png").stat().st_size > 0
    line = sweep("scs", {"J0": [0.0, 2.0]}, {"g": 0.5}, workers=1, **FAST)
    assert line.plot(tmp_path / "line.png").stat().st_size > 0
