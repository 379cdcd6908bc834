"""Issue 17, item 1 (Gaussian part): N·Var of the window-averaged q = (1/N)Σφ(x_i)² from
the linearised self-consistency (`fieldtheory.rate_function`).

Oracles: for a linear network (φ = x) the variance of q over a window is exact at every N
— x is a Gaussian process with the covariance e^{Aτ}Σ of the Lyapunov solution Σ, and
Var(q | J) = (4/N²T²)∫_0^T (T − τ)‖C(τ)‖²_F dτ by Isserlis — so the theory must agree with
the N → ∞ extrapolation of exact finite networks (N = 150, 300; five networks each); the
Monte-Carlo variance of the quadratic functional must agree with its exact Gaussian value
tr(μCμC) + tr(μCμᵀC). The nonlinear comparison with simulations (φ = erf, N = 250–1000,
within-network variance) is in examples/large_deviations_inference.py and quoted in
docs/models/large-deviations.md.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.linalg
from support.lyapunov import stationary_covariance

import fieldtheory as ft
from fieldtheory.cli import main
from fieldtheory.codegen.generate import generate
from fieldtheory.errors import ParameterError
from fieldtheory.rate_function import rate_function
from fieldtheory.solvers.runtime.window_variance import WindowVariance

G, D, T = 0.5, 1.0, 20.0


def exact_variance(A: np.ndarray, noise: float, window: float, h: float = 0.05) -> float:
    """N·Var(q | J) over a window of the linear network ẋ = Ax + ξ (⟨ξξᵀ⟩ = noise·1),
    exactly: C(τ) = e^{Aτ}Σ with the Lyapunov Σ, Var q = (4/N²T²)∫(T − τ)‖C(τ)‖²_F."""
    N = len(A)
    sigma = stationary_covariance(A, noise * np.eye(N))
    step, C, norms = scipy.linalg.expm(A * h), sigma, []
    lags = np.arange(0.0, window + h / 2, h)
    for _ in lags:
        norms.append(np.sum(C * C))
        C = step @ C
    return 4 / (N * window**2) * np.trapezoid((window - lags) * np.array(norms), lags)


def exact_variance_with_mean(A: np.ndarray, inputs: np.ndarray, noise: float,
                             window: float, h: float = 0.05) -> float:
    """N·Var(q | J) of q = (1/N)Σx² for ẋ = Ax + I + ξ: with the mean M = −A⁻¹I,
    Cov(x_i², x_j²) = 2C_ij² + 4M_iM_jC_ij, so Var q = (2/N²T²)∫(T − τ)(2‖C‖² + 4MᵀCM)."""
    N = len(A)
    M = -np.linalg.solve(A, inputs)
    sigma = stationary_covariance(A, noise * np.eye(N))
    step, C, values = scipy.linalg.expm(A * h), sigma, []
    lags = np.arange(0.0, window + h / 2, h)
    for _ in lags:
        values.append(2 * np.sum(C * C) + 4 * M @ C @ M)
        C = step @ C
    return 2 / (N * window**2) * np.trapezoid((window - lags) * np.array(values), lags)


def extrapolated(exact, sizes=(150, 300), count=5):
    """(estimate, standard error) of E exact(N, seed) at N → ∞: the mean over ``count``
    networks at two sizes, the larger twice the other, extrapolated linearly in 1/N."""
    runs = {N: [exact(N, seed) for seed in range(count)] for N in sizes}
    mean = {N: np.mean(v) for N, v in runs.items()}
    err = {N: np.std(v, ddof=1) / np.sqrt(len(v)) for N, v in runs.items()}
    small, large = sizes
    return 2 * mean[large] - mean[small], np.hypot(2 * err[large], err[small])


def block_coupling(N, seed, frac, gains, means=None):
    """Labels ("A" for the first frac·N units, then "B") and J with entries
    N(mean_ab/N, gain_ab²/N) by the blocks of (target, source)."""
    labels = ["A"] * round(frac * N) + ["B"] * (N - round(frac * N))
    scale = np.array([[gains[(a, b)] for b in labels] for a in labels])
    J_ = np.random.default_rng(seed).standard_normal((N, N)) * scale / np.sqrt(N)
    if means is not None:
        J_ = J_ + np.array([[means[(a, b)] for b in labels] for a in labels]) / N
    return labels, J_


def annealed_exact(network, noise: float, window: float):
    """The annealed N·Var q of linear networks ``network(N, seed)`` → (A, inputs), in the
    limit N → ∞ (linear extrapolation in 1/N), with its standard error: within networks
    E_J Var(q | J) (10 networks at N = 150, 300) plus between them N·Var_J ⟨q | J⟩, with
    ⟨q | J⟩ = (‖M‖² + tr Σ)/N (150 networks at N = 100, 200) — the static fields of a mean
    input make ⟨q | J⟩ differ between networks, and the theory is annealed."""
    w, w_se = extrapolated(
        lambda N, seed: exact_variance_with_mean(*network(N, seed), noise, window), count=10)
    between = {}
    for N in (100, 200):
        values = []
        for seed in range(150):
            A, inputs = network(N, 10**6 + seed)
            M = -np.linalg.solve(A, inputs)
            sigma = stationary_covariance(A, noise * np.eye(N))
            values.append((M @ M + np.trace(sigma)) / N)
        var = N * np.var(values, ddof=1)
        between[N] = (var, var * np.sqrt(2 / (len(values) - 1)))
    b = 2 * between[200][0] - between[100][0]
    b_se = np.hypot(2 * between[200][1], between[100][1])
    return w + b, np.hypot(w_se, b_se), {"within": (w, w_se), "between": (b, b_se)}


def exact_network(N: int, seed: int) -> float:
    """N·Var(q | J) over a window T of one linear network, exactly."""
    J = np.random.default_rng(seed).standard_normal((N, N)) * G / np.sqrt(N)
    return exact_variance(-np.eye(N) + J, D, T)


def test_linear_network_against_exact_finite_networks():
    result = rate_function("linear", {"g": G, "D": D}, window=T, samples=4000)
    o, se = result.observables, result.stderr
    # the deterministic part exactly: the adjoint μ and the Gaussian quadratic form
    h, memory = 0.1, 20.0
    n = round((T + memory) / h)
    site = generate(ft.load_model("linear")).spec(g=G, D=D)
    curve = ft.solve("linear", {"g": G, "D": D}, tau_max=n * h, dtau=h).observables
    C = np.asarray(curve["autocorrelation"]["values"])
    mu = WindowVariance(site, C, 0.0, window=T, memory=memory, step=h).adjoint()
    k = np.arange(n)
    Cm = C[np.abs(k[:, None] - k[None, :])]
    X = mu @ Cm
    theory = np.trace(X @ X) + np.trace(mu @ Cm @ mu.T @ Cm)
    assert abs(o["q_variance_N"] - theory) <= 3 * se["q_variance_N"]
    # exact networks, extrapolated linearly in 1/N from N = 150 and 300
    limit, limit_se = extrapolated(exact_network)
    assert abs(theory - limit) <= 3 * limit_se, (theory, limit, limit_se)
    assert o["q_mean"] == pytest.approx(D / (2 * np.sqrt(1 - G**2)), rel=1e-4)  # ⟨x²⟩


def test_q_mean_and_the_quadratic_rate_function():
    result = rate_function("scs_erf", {"g": 2.0}, window=20.0, samples=1000, N=500)
    o, se = result.observables, result.stderr
    curve = ft.solve("scs_erf", {"g": 2.0}).observables
    assert o["q_mean"] == pytest.approx(curve["autocorrelation_phi"]["values"][0], rel=1e-12)
    assert abs(o["q_mean_sampled"] - o["q_mean"]) <= 3 * se["q_mean_sampled"]
    # the network feedback amplifies the single-site fluctuations of q
    assert o["q_variance_N"] > o["q_variance_N_site"] + 3 * se["q_variance_N"]
    q, H = (np.asarray(o["rate_function"][k]) for k in ("q", "values"))
    assert o["rate_function"]["approximation"] == "quadratic"
    np.testing.assert_allclose(H, (q - o["q_mean"]) ** 2 / (2 * o["q_variance_N"]))
    assert np.sqrt(500 * 2 * H.max()) == pytest.approx(4.0)  # ±4 standard deviations at N


def test_no_fluctuations_at_a_fixed_point_and_refusals():
    quiet = rate_function("linear", {"g": 0.5, "D": 0.0}, window=10.0)
    assert quiet.observables["q_variance_N"] == 0.0
    assert quiet.observables["rate_function"] is None and quiet.undefined
    with pytest.raises(ParameterError, match="nonlinear drift"):
        rate_function("bistable", window=10.0, branches=False)  # (branches: test_transitions)
    with pytest.raises(ParameterError, match="response kernels"):
        rate_function("scs_erf", {"rho": 0.3}, window=10.0)
    with pytest.raises(ParameterError, match="window"):
        rate_function("scs_erf", window=-1.0)
    with pytest.raises(ParameterError, match="6000"):
        rate_function("scs_erf", window=1000.0, step=0.1)


def test_command_line(capsys):
    assert main(["rate-function", "scs_erf", "-p", "g=1.5", "--window", "10", "--samples",
                 "500", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["observables"]) >= {"q_mean", "q_variance_N", "rate_function", "window"}
    assert set(out["observables"]["rate_function"]) >= {"q", "values"}
    assert out["stderr"]["q_variance_N"] > 0
    assert main(["rate-function", "scs", "-p", "rho=0.5"]) == 2
    assert "response kernels" in capsys.readouterr().err


def test_declared_variant_with_its_own_leak_against_exact_networks():
    """A linear network declared here with leak a = 1.5, coupling variance (g·c)² and noise
    D²: the theory against exact finite networks (A = −a + J), extrapolated in 1/N."""
    p = ft.parameters(a=(1.5, "positive"), g=(0.8, "positive"), c=(1.2, "positive"),
                      D=(0.7, "positive"))
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    model = ft.Model("leaky_linear", ft.langevin(
        drift={x: -p.a * x(t) + J @ x(t)}, noise={x: p.D**2},
        couplings={J: ft.Gaussian(mean=0, variance=(p.g * p.c) ** 2)}, parameters=p), "")
    window, gain, leak, noise = 10.0, 0.8 * 1.2, 1.5, 0.49
    result = rate_function(model, window=window, samples=8000)

    def exact(N, seed):
        J_ = np.random.default_rng(seed).standard_normal((N, N)) * gain / np.sqrt(N)
        return exact_variance(-leak * np.eye(N) + J_, noise, window)

    limit, limit_se = extrapolated(exact)
    se = np.hypot(limit_se, result.stderr["q_variance_N"])
    assert abs(result.observables["q_variance_N"] - limit) <= 3 * se, (result.observables,
                                                                       limit, se)
    # ⟨x²⟩ of the linear network: D/(2a) · 1/√(1 − (gc/a)²)
    assert result.observables["q_mean"] == pytest.approx(
        noise / (2 * leak) / np.sqrt(1 - (gain / leak) ** 2), rel=1e-4)


def test_two_populations_against_exact_networks():
    """Two linear populations declared here (fractions 0.6/0.4, leaks 1 and 1.5, four
    coupling variances, noise D): q = (1/N)Σx² over both. The deterministic part (adjoint
    and Gaussian quadratic forms per population) exactly against the runtime's Monte
    Carlo, and the whole against exact finite networks extrapolated in 1/N."""
    import networkx as nx

    frac, leaks, noise, window = 0.6, {"A": 1.0, "B": 1.5}, 0.8, 10.0
    gains = {("A", "A"): 0.4, ("A", "B"): 0.7, ("B", "A"): 0.5, ("B", "B"): 0.3}
    p = ft.parameters(f_A=(frac, (0.01, 0.99)), c_B=(leaks["B"], "positive"),
                      D=(noise, "positive"),
                      **{f"g_{a}{b}": (v, "nonnegative") for (a, b), v in gains.items()})
    sym = {q.name: q.symbol for q in p}
    graph = nx.DiGraph()
    graph.add_node("A", fraction=sym["f_A"])
    graph.add_node("B", fraction=1 - sym["f_A"])
    for target in "AB":
        for source in "AB":
            graph.add_edge(source, target, mean=0, variance=sym[f"g_{target}{source}"] ** 2)
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    leak = ft.by_population("c", A=1, B=sym["c_B"])
    model = ft.Model("two_linear", ft.langevin(
        drift={x: -leak * x(t) + J @ x(t)}, noise={x: sym["D"]},
        couplings={J: ft.BlockGaussian.from_graph(graph)}, parameters=p), "")
    result = rate_function(model, window=window, samples=6000)
    o, se = result.observables, result.stderr
    # the deterministic part: per population Var[xᵀμx] = tr(μCμC) + tr(μCμᵀC), over f_α
    h, memory = 0.1, 20.0
    n = round((window + memory) / h)
    site = generate(model).spec(**model.parameters.resolve({}))
    curves = ft.solve(model, tau_max=n * h, dtau=h).observables["populations"]
    C = [np.asarray(curves[name]["autocorrelation"]["values"]) for name in "AB"]
    mus = WindowVariance(site, C, [0.0, 0.0], window=window, memory=memory,
                         step=h).adjoint()
    k = np.arange(n)
    theory = 0.0
    for term, mu in zip(site.correlations, mus, strict=True):
        Cm = C[term.population][np.abs(k[:, None] - k[None, :])]
        X = mu @ Cm
        theory += (np.trace(X @ X) + np.trace(mu @ Cm @ mu.T @ Cm)) / site.fractions[
            term.population]
    assert abs(o["q_variance_N"] - theory) <= 3 * se["q_variance_N"], (o, theory)
    q_exact = sum(f * curves[name]["variance"] for f, name in ((frac, "A"), (1 - frac, "B")))
    assert o["q_mean"] == pytest.approx(q_exact, rel=1e-9)

    def exact(N, seed):
        labels, J_ = block_coupling(N, seed, frac, gains)
        return exact_variance(-np.diag([leaks[a] for a in labels]) + J_, noise, window)

    limit, limit_se = extrapolated(exact)
    assert abs(theory - limit) <= 3 * limit_se, (theory, limit, limit_se)


def test_mean_coupling_against_exact_networks():
    """A linear network with mean coupling J0 and input I (declared here): the population
    mean fluctuates and feeds back through J0 (the adjoint's mean channel). The runtime's
    Monte Carlo against the Gaussian quadratic-plus-linear form of its adjoint, and the
    whole against exact finite networks (mean M = −A⁻¹I, Lyapunov), extrapolated in 1/N."""
    g, J0, inp, noise, window = 0.5, 0.4, 0.3, 0.8, 10.0
    p = ft.parameters(g=(g, "positive"), J0=(J0, "real"), I=(inp, "real"),
                      D=(noise, "positive"))
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    model = ft.Model("linear_j0", ft.langevin(
        drift={x: -x(t) + J @ x(t) + p.I}, noise={x: p.D},
        couplings={J: ft.Gaussian(mean=p.J0, variance=p.g**2)}, parameters=p), "")
    result = rate_function(model, window=window, samples=8000)
    o, se = result.observables, result.stderr
    m = inp / (1 - J0)
    # ⟨x²⟩ = m² + the dynamic variance + the static one of the quenched field g²(Δ∞ + m²)
    static = g**2 * m**2 / (1 - g**2)
    assert o["q_mean"] == pytest.approx(m**2 + noise / (2 * np.sqrt(1 - g**2)) + static,
                                        rel=1e-4)
    h, memory = 0.1, 20.0
    n = round((window + memory) / h)
    site = generate(model).spec(**model.parameters.resolve({}))
    C = np.asarray(ft.solve(model, tau_max=n * h, dtau=h).observables["autocorrelation"][
        "values"])
    mu, nu = WindowVariance(site, C, m, window=window, memory=memory, step=h).adjoint()
    (mu,), (nu,) = mu, nu
    k = np.arange(n)
    Cm = C[np.abs(k[:, None] - k[None, :])]
    b = (mu + mu.T) @ np.full(n, m) + nu
    theory = np.trace(mu @ Cm @ mu @ Cm) + np.trace(mu @ Cm @ mu.T @ Cm) + b @ Cm @ b
    assert abs(o["q_variance_N"] - theory) <= 3 * se["q_variance_N"], (o, theory)

    def network(N, seed):
        J_ = (J0 / N + np.random.default_rng(seed).standard_normal((N, N)) * g
              / np.sqrt(N))
        return -np.eye(N) + J_, np.full(N, inp)

    # without the mean channel the theory would give 0.46 instead of 0.98; a longer run
    # gave within 0.59 ± 0.06 and between 0.42 ± 0.05
    total, total_se, parts = annealed_exact(network, noise, window)
    assert abs(theory - total) <= 3 * total_se, (theory, parts, total_se)


def test_two_populations_with_mean_couplings_against_exact_networks():
    """Two linear populations with mean couplings J0_αβ and inputs I_α (declared here):
    both channels and both populations at once, against exact networks (annealed)."""
    import networkx as nx

    frac, noise, window = 0.7, 0.6, 10.0
    gains = {("A", "A"): 0.4, ("A", "B"): 0.6, ("B", "A"): 0.5, ("B", "B"): 0.3}
    means = {("A", "A"): 0.5, ("A", "B"): -0.8, ("B", "A"): 0.6, ("B", "B"): -0.4}
    inputs = {"A": 0.3, "B": -0.2}
    p = ft.parameters(D=(noise, "positive"), I_A=(inputs["A"], "real"),
                      I_B=(inputs["B"], "real"))
    graph = nx.DiGraph()
    graph.add_node("A", fraction=frac)
    graph.add_node("B", fraction=1 - frac)
    for (target, source), v in gains.items():
        graph.add_edge(source, target, mean=means[(target, source)], variance=v**2)
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    sym = {q.name: q.symbol for q in p}
    model = ft.Model("two_linear_j0", ft.langevin(
        drift={x: -x(t) + J @ x(t) + ft.by_population("I", A=sym["I_A"], B=sym["I_B"])},
        noise={x: sym["D"]}, couplings={J: ft.BlockGaussian.from_graph(graph)},
        parameters=p), "")
    result = rate_function(model, window=window, samples=6000)
    o, se = result.observables, result.stderr

    def network(N, seed):
        labels, J_ = block_coupling(N, seed, frac, gains, means)
        return -np.eye(N) + J_, np.array([inputs[a] for a in labels])

    # measured: theory 0.234 ± 0.005, exact 0.179 ± 0.019 within + 0.078 ± 0.020 between;
    # without the mean channel the theory gives 0.142
    total, total_se, parts = annealed_exact(network, noise, window)
    sigma = np.hypot(total_se, se["q_variance_N"])
    assert abs(o["q_variance_N"] - total) <= 3 * sigma, (o["q_variance_N"], parts, sigma)
