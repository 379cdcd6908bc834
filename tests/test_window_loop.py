"""The one-loop O(1/N) shifts of random maps on a time window (issue 12, item 4).

The oracle is the network itself: a map declared here (parameters in the leak, φ, noise,
ensemble and input) simulated directly in numpy from the window's start (x_i(0) iid,
independent of J), N = 8 … 32, its population averages at the window's last time
extrapolated as B + C/N + D/N² (weighted least squares): B must meet the runtime's shift
within 4 of its standard errors.
"""

import numpy as np
import pytest

import fieldtheory as ft
from fieldtheory.errors import ConvergenceError, ParameterError
from fieldtheory.solvers.runtime.common import SolverInputError
from fieldtheory.solvers.runtime.window_loop import window_correction

x, J, n = ft.Field("x"), ft.Coupling("J"), ft.n
VALUES = {"g": 1.8, "delta": 0.8, "beta": 1.3, "D": 0.2, "I": 0.3}
START, STEPS = 0.8, 3


def _variant(mean_coupling: bool = False) -> ft.Model:
    p = ft.parameters(g=(1.8, "positive"), delta=(0.8, (1e-9, 1)), beta=(1.3, "positive"),
                      D=(0.2, "nonnegative"), I=(0.3, "real"), J0=(0.0, "real"))
    g, delta, beta, D, I, J0 = p.symbols
    return ft.Model("window_map", ft.langevin(
        drift={x: (1 - delta) * x(n) + delta * (J @ ft.tanh(beta * x(n)) + I)},
        noise={x: delta * D},
        couplings={J: ft.Gaussian(mean=J0 if mean_coupling else 0, variance=g**2)},
        parameters=p, time=ft.discrete(step=delta)), "a map declared in the test")


def _simulate(values, sizes, budget, seed=11):
    """N·(population average − nothing) at the last step for x − I, (x − I)², tanh(βx)²,
    β(1 − tanh²): means and standard errors per N (trials = budget / N²)."""
    g, delta, beta, D, I = (values[k] for k in ("g", "delta", "beta", "D", "I"))
    rng = np.random.default_rng(seed)
    out, err = [], []
    for N in sizes:
        trials = int(budget / N**2)
        acc = []
        for start in range(0, trials, 4000):
            B = min(4000, trials - start)
            Jm = rng.normal(0.0, g / np.sqrt(N), (B, N, N))
            y = I + rng.normal(0.0, np.sqrt(START), (B, N))
            for _ in range(STEPS):
                y = ((1 - delta) * y + delta * (np.einsum("bij,bj->bi", Jm, np.tanh(beta * y))
                                                + I)
                     + np.sqrt(delta * D) * rng.normal(size=(B, N)))
            th = np.tanh(beta * y)
            acc.append(np.stack([(y - I).mean(1), ((y - I) ** 2).mean(1), (th**2).mean(1),
                                 (beta * (1 - th**2)).mean(1)], 1))
        a = np.concatenate(acc)
        out.append(a.mean(0))
        err.append(a.std(0) / np.sqrt(len(a)))
    return np.array(out), np.array(err)


def _extrapolate(sizes, y, e, degree: int = 2):
    """Weighted least squares y = B + C/N (+ D/N² at ``degree`` 2) per column: (B, its
    standard error)."""
    inv = 1.0 / np.asarray(sizes, float)
    A = np.stack([inv**k for k in range(degree + 1)], 1)
    B, se = [], []
    for c in range(y.shape[1]):
        w = 1 / e[:, c] ** 2
        cov = np.linalg.inv((A * w[:, None]).T @ A)
        B.append((cov @ (A * w[:, None]).T @ y[:, c])[0])
        se.append(np.sqrt(cov[0, 0]))
    return np.array(B), np.array(se)


def test_window_shifts_against_directly_simulated_networks():
    model = _variant()
    site = ft.generate(model).spec(**model.parameters.resolve(VALUES))
    beta = VALUES["beta"]
    observed = {"x": (lambda y: y - VALUES["I"], None),
                "phi2": (lambda y: np.tanh(beta * y) ** 2, None),
                "gain": (lambda y: beta * (1 - np.tanh(beta * y) ** 2), None)}
    out = window_correction(site, STEPS, START, observed)
    # exact at every N: x(1) is Gaussian given x(0) with a variance linear in the sample;
    # zero up to the 20-node Gauss–Hermite rule's error on tanh (≈ 1e-5 here; the other
    # shifts are ≈ 0.1)
    assert out["variance"]["shift"][1] == pytest.approx(0.0, abs=1e-4)
    keys = ("x", "variance", "phi2", "gain")
    theory = np.array([out[k]["values"][-1] for k in keys])
    shift = np.array([out[k]["shift"][-1] for k in keys])
    assert abs(out["x"]["values"][-1]) < 1e-12  # centred at the saddle's mean I
    sizes = [8, 12, 16, 24, 32]
    mean, err = _simulate(VALUES, sizes, 6e7)
    Ns = np.array(sizes, float)[:, None]
    B, se = _extrapolate(sizes, Ns * (mean - theory), Ns * err)
    assert np.all(np.abs(B - shift) <= 4 * se), (B, se, shift)
    # the shifts are resolved: the N → ∞ theory alone (shift 0) is refuted by the data
    assert np.any(np.abs(B) > 6 * se), (B, se)


def test_linear_map_shift_is_the_exact_ginibre_term_at_two_steps():
    """φ(x) = x (declared here, leak δ, noise D, gain g): x(2) = M²x(0) + Mξ(0) + ξ(1) with
    M = b + J', J' iid of variance A/N (A = δ²g², b = 1 − δ), and by Wick's theorem
    E tr M²M²ᵀ/N = b⁴ + 4b²A + A² + 2b²A/N + O(N⁻²) (the 1/N from E tr J'² = A: the
    diagonal), E tr MMᵀ/N = b² + A exactly — so N·δ⟨x(2)²⟩ = 2b²A v₀ and nothing at t = 1."""
    p = ft.parameters(g=(1.2, "positive"), delta=(0.5, (1e-9, 1)), D=(0.3, "nonnegative"))
    g, delta, D = p.symbols
    linear = ft.Model("linear_window_map", ft.langevin(
        drift={x: (1 - delta) * x(n) + delta * (J @ x(n))}, noise={x: delta * D},
        couplings={J: ft.Gaussian(mean=0, variance=g**2)}, parameters=p,
        time=ft.discrete(step=delta)), "a linear map declared in the test")
    values = {"g": 1.2, "delta": 0.5, "D": 0.3}
    site = ft.generate(linear).spec(**linear.parameters.resolve(values))
    v0 = 0.7
    shift = window_correction(site, 2, v0)["variance"]["shift"]
    b, A = 1 - values["delta"], values["delta"] ** 2 * values["g"] ** 2
    assert shift[1] == pytest.approx(0.0, abs=1e-9)
    assert shift[2] == pytest.approx(2 * b * b * A * v0, rel=1e-6)


def _two_populations(h: float, f_e: float = 0.6, linear: bool = False) -> ft.Model:
    """An E/I map declared here: sources of E have variance g², of I h·g² (every target
    alike), leak δ, noise D, φ = tanh (or the identity)."""
    import networkx as nx

    p = ft.parameters(g=(1.8, "positive"), D=(0.3, "nonnegative"), delta=(0.6, (1e-9, 1)))
    g, D, delta = p.symbols
    graph = nx.DiGraph()
    for name, fraction in (("E", f_e), ("I", 1 - f_e)):
        graph.add_node(name, fraction=fraction)
    for source in "EI":
        for target in "EI":
            graph.add_edge(source, target, mean=0,
                           variance=g**2 if source == "E" else h * g**2)
    phi = (lambda u: u) if linear else ft.tanh
    return ft.Model("window_ei", ft.langevin(
        drift={x: (1 - delta) * x(n) + delta * (J @ phi(x(n)))}, noise={x: delta * D},
        couplings={J: ft.BlockGaussian.from_graph(graph)}, parameters=p,
        time=ft.discrete(step=delta)), "an E/I map declared in the test")


def test_two_populations_equal_blocks_are_one_and_the_diagonal_is_per_population():
    """Equal blocks: each population's shifts are the one-population network's (N the
    whole network). A linear E/I map at two steps: N·δ⟨x_α(2)²⟩ = 2b²v₀δ²σ²_α exactly,
    σ²_α the variance of the unit's own column (its J_ii)."""
    values = {"g": 1.8, "D": 0.3, "delta": 0.6}
    one = ft.load_model("map")
    single = ft.generate(one).spec(**one.parameters.resolve(values))
    reference = window_correction(single, 3, 1.0, {"gain": (single.dphi[0], None)})
    equal = _two_populations(1.0)
    site = ft.generate(equal).spec(**equal.parameters.resolve(values))
    out = window_correction(site, 3, 1.0, {"gain": (site.dphi[0], None)})
    for name in ("E", "I"):
        for key in ("variance", "gain"):
            # to the curvature's second differences (truncation ~1e-6 relative)
            np.testing.assert_allclose(out["populations"][name][key]["shift"],
                                       reference[key]["shift"], rtol=1e-6, atol=1e-9)
    h, b, v0 = 0.3, 1 - values["delta"], 0.8
    linear = _two_populations(h, linear=True)
    site = ft.generate(linear).spec(**linear.parameters.resolve(values))
    out = window_correction(site, 2, v0)
    for name, variance in (("E", values["g"] ** 2), ("I", h * values["g"] ** 2)):
        assert out["populations"][name]["variance"]["shift"][2] == pytest.approx(
            2 * b * b * v0 * values["delta"] ** 2 * variance, rel=1e-6)


def test_two_populations_against_directly_simulated_networks():
    """E/I with weak I sources (h = 0.2): the units differ only by their own column, so
    their O(1/N) shifts differ; ⟨φ'⟩ per population against networks of N = 10, 20, 30
    (E the first 60 %), B + C/N within 4 standard errors (the data are flat in N here:
    N·δ⟨φ'⟩ ≈ 0.10, 0.11, 0.11 for E at N = 10, 20, 40), each resolved from zero."""
    values, h, steps, v0 = {"g": 1.8, "D": 0.3, "delta": 0.6}, 0.2, 3, 1.0
    model = _two_populations(h)
    site = ft.generate(model).spec(**model.parameters.resolve(values))
    out = window_correction(site, steps, v0, {"gain": (site.dphi[0], None)})
    theory = [out["populations"][p]["gain"]["values"][-1] for p in "EI"]
    shift = np.array([out["populations"][p]["gain"]["shift"][-1] for p in "EI"])
    assert shift[0] - shift[1] > 0.02  # the E units' larger self-coupling
    g, D, delta = values["g"], values["D"], values["delta"]
    rng = np.random.default_rng(21)
    sizes, ys, es = [10, 20, 30], [], []
    for N in sizes:
        n_e, trials, acc = round(0.6 * N), int(8e7 / N**2), []
        scale = np.where(np.arange(N) < n_e, g, np.sqrt(h) * g) / np.sqrt(N)
        for start in range(0, trials, 4000):
            B = min(4000, trials - start)
            Jm = rng.normal(size=(B, N, N)) * scale
            y = rng.normal(0.0, np.sqrt(v0), (B, N))
            for _ in range(steps):
                y = ((1 - delta) * y + delta * np.einsum("bij,bj->bi", Jm, np.tanh(y))
                     + np.sqrt(delta * D) * rng.normal(size=(B, N)))
            gain = 1 - np.tanh(y) ** 2
            acc.append(np.stack([gain[:, :n_e].mean(1), gain[:, n_e:].mean(1)], 1))
        a = np.concatenate(acc)
        ys.append(N * (a.mean(0) - theory))
        es.append(N * a.std(0) / np.sqrt(len(a)))
    B, se = _extrapolate(sizes, np.array(ys), np.array(es), degree=1)
    assert np.all(np.abs(B - shift) <= 4 * se), (B, se, shift)
    assert np.all(np.abs(B) > 6 * se), (B, se)


def test_finite_n_map_theory_contract():
    """``solve(map, order="1/N", N=N)`` (here through ``verify``, which must pass) on a
    fast-mixing map (δ = 1, g = 1.5, D = 1; against stationary networks in
    examples/finite_n_map.py): equal-time averages at N = N → ∞ +
    shift/N with the coefficients under ``mean_shift``, the autocorrelations on the lags
    the window resolves; near the edge of chaos without noise (g = 2, D = 0) refused by
    name, with the shifts per time."""
    N = 50
    report, result, _ = ft.verify("map", {"delta": 1.0, "g": 1.5, "D": 1.0}, N=N, trials=8,
                                  order="1/N", seed=3)
    assert report.passed, report  # the simulated network at N, lags and spectra included
    obs, lead = result.observables, result.leading_order
    shift = obs["mean_shift"]
    assert set(shift) == {"mean", "variance", "mean_phi", "variance_phi", "mean_gain"}
    for key in ("variance", "mean_gain"):
        assert obs[key] == pytest.approx(lead[key] + shift[key] / N, rel=1e-12)
    curve, infinite = obs["autocorrelation"], lead["autocorrelation"]
    assert list(curve["tau"]) == [0, 1, 2, 3, 4, 5]
    assert curve["values"][0] == pytest.approx(obs["variance"], rel=1e-12)
    lags = np.array(result.info["lag_shift"][:6])
    np.testing.assert_allclose(curve["values"], infinite["values"][:6] + lags / N, atol=1e-9)
    assert obs["autocorrelation_phi"]["values"][0] == pytest.approx(
        lead["autocorrelation_phi"]["values"][0] + shift["variance_phi"] / N, rel=1e-9)
    assert shift["mean_gain"] == pytest.approx(-shift["variance_phi"], rel=1e-6)  # tanh
    data = result.to_json()
    assert data["N"] == N and data["renormalization"]["window"] == 10
    assert data["observables"]["mean_shift"]["variance"] == shift["variance"]
    # g = 2, D = 0: the equal-time shifts settle by 8 steps, the lag-2 shift does not
    with pytest.raises(ConvergenceError, match="at lag 2 still moves"):
        ft.solve("map", {"delta": 1.0}, order="1/N", N=N, options={"window": 8})
    with pytest.raises(ParameterError, match="unknown options"):
        ft.solve("map", {"delta": 1.0}, order="1/N", N=N, options={"windows": 4})


def test_finite_n_map_theory_with_two_populations():
    """``solve -N`` for an E/I map (stationary N → ∞ state from ``maps_multi``): with equal
    blocks every population, and the network-wide mixture, carry the one-population map's
    values at N and ``mean_shift`` (here δ = 1, g = 0.9, D = 1, whose memory a window of 6
    steps holds). The shifts per population against simulated E/I networks:
    ``test_two_populations_against_directly_simulated_networks`` (the runtime)."""
    values, N, window = {"g": 0.9, "D": 1.0, "delta": 1.0}, 50, {"window": 6}
    one = ft.solve("map", values, order="1/N", N=N, options=window)
    two = ft.solve(_two_populations(1.0), values, order="1/N", N=N, options=window)
    assert two.N == N and set(two.observables["populations"]) == {"E", "I"}
    reference = one.observables
    for obs in (two.observables, *two.observables["populations"].values()):
        for key in ("variance", "mean", "mean_phi", "mean_gain"):
            assert obs[key] == pytest.approx(reference[key], rel=1e-9, abs=1e-12), key
        for key, value in reference["mean_shift"].items():
            assert obs["mean_shift"][key] == pytest.approx(value, rel=1e-8, abs=1e-12), key
        for key in ("autocorrelation", "autocorrelation_phi"):
            np.testing.assert_allclose(obs[key]["values"], reference[key]["values"],
                                       rtol=1e-9, atol=1e-12)
    assert set(two.info["shifts"]) == {"E", "I"}


def test_window_refusals_name_what_is_missing():
    scs = ft.load_model("scs")
    with pytest.raises(SolverInputError, match="maps"):
        window_correction(ft.generate(scs).spec(**scs.parameters.resolve({})), 3, 1.0)
    biased = _variant(mean_coupling=True)
    site = ft.generate(biased).spec(**biased.parameters.resolve({**VALUES, "J0": 0.5}))
    with pytest.raises(SolverInputError, match="J0 = 0"):
        window_correction(site, 3, 1.0)
    plain = ft.generate(_variant()).spec(**_variant().parameters.resolve(VALUES))
    with pytest.raises(SolverInputError, match="steps"):
        window_correction(plain, 40, 1.0)
