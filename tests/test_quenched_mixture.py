r"""Quenched variables in a unit's own dynamics: a mixture of sites.

When a per-unit quenched variable G (:mod:`fieldtheory.ir.quenched`) enters a unit's leak,
drift, input gain or the function inside its output (tanh(G x)), the path statistics of a
site depend on G and the averages no longer factor into moments. The lowering
(:func:`fieldtheory.codegen.site.lower_site`) then makes each such population a mixture of
sites: one sub-population per node of the distribution's quadrature (log-normal:
Gauss–Hermite in log G; given values: their distinct levels), every order parameter the
weighted sum over the nodes; the generated module merges the nodes back per population.
Nothing here is written per model. Checks:

* a linear network with log-normal leaks against its exact DMFT, an independent adaptive
  quadrature over the leak density (C(ω) = D M(ω)/(1 − g² M(ω)), M(ω) = ⟨1/(G² + ω²)⟩);
* units with two given strengths of a bistable drift and no coupling against the exact
  Fokker–Planck densities (the Monte-Carlo runtime on two sub-populations);
* partial symmetry with output gains: the response kernel acts on the unit's own G x,
  against a frequency-domain oracle;
* a gain inside the output function, tanh(G x), against simulated networks, with the
  homogeneous network as a negative control;
* one mixed population beside a homogeneous one (E/I, leaks heterogeneous in I only)
  against simulated networks; given values of one level against the homogeneous network;
* correlated random modes with given gains (the modes see the nodes' weighted C and R)
  against a resolvent oracle;
* the layers that do not take a mixture refuse it by name.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

import fieldtheory as ft
from fieldtheory.errors import ActionStructureError, ParameterError

x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
G = ft.Quenched("G")
NO_EXPONENT = {"no_exponent": "not needed by this test (noise-driven)"}


def _leaky(name: str = "mixed_leaks"):
    """ẋ_i = −G_i x_i + Σ_j J_ij x_j + I + √D ξ_i, log-normal G of mean 1."""
    p = ft.parameters(g=(0.6, "positive"), D=(1.0, "nonnegative"), I=(0.0, "real"),
                      pr=(0.5, (0, 1)))
    g, D, I, pr = p.symbols
    action = ft.langevin({x: -G * x(t) + J @ x(t) + I}, {x: D},
                         {J: ft.Gaussian(variance=g**2)}, p,
                         quenched={G: ft.LogNormalGain(pr=pr)})
    return ft.Model(name, action, "linear network, heterogeneous leaks")


def _exact_leaky(g: float, D: float, I: float, pr: float):
    """Variance and mean of the leaky mixture by adaptive quadrature over the density."""
    s2 = -math.log(pr) / 4
    s = math.sqrt(s2)

    def average(f):
        density = lambda y: math.exp(-y * y / 2) / math.sqrt(2 * math.pi)  # noqa: E731
        return integrate.quad(lambda y: density(y) * f(math.exp(s * y - s2 / 2)), -12, 12,
                              epsabs=1e-14, epsrel=1e-12)[0]

    def M(w):
        return average(lambda a: 1 / (a * a + w * w))

    spectrum = lambda w: D * M(w) / (1 - g * g * M(w))  # noqa: E731
    fluctuating = integrate.quad(spectrum, 0, np.inf, epsabs=1e-12, epsrel=1e-10,
                                 limit=400)[0] / math.pi
    # static part: a unit's time average is m_i = (I + z_i)/G_i with z_i its quenched input,
    # of variance g²q, q = ⟨m_i²⟩ = (I² + g²q)⟨1/G²⟩; the network mean is I⟨1/G⟩ (no mean
    # coupling), and the static spread of the units q − mean² joins the variance
    inverse, inverse2 = average(lambda a: 1 / a), average(lambda a: 1 / (a * a))
    mean = inverse * I
    q = (I * I * inverse2) / (1 - g * g * inverse2)
    return fluctuating + q - mean**2, mean


def test_heterogeneous_leaks_against_the_exact_mixture():
    """g = 0.6, D = 1, I = 0.3, PR_G = 0.5: variance and mean to the lattice's O(step²),
    bounded by Richardson (a second solve at twice the step); the log-normal's 6-node
    Gauss–Hermite rule is exact far below that (measured: 2e-8 from 10 nodes)."""
    model = _leaky()
    values = {"g": 0.6, "D": 1.0, "I": 0.3, "pr": 0.5}
    site = ft.derive(model).stage("site").text
    nodes = ft.codegen.site.MIXTURE_NODES
    assert "mixture of sites" in site and f"all[{nodes}]" in site
    module = ft.generate(model)
    fine = module.solve(step_max=0.02, options=NO_EXPONENT, **values)
    coarse = module.solve(step_max=0.04, options=NO_EXPONENT, **values)
    assert "populations" not in fine  # the nodes are merged back into the one population
    variance, mean = _exact_leaky(0.6, 1.0, 0.3, 0.5)
    bound = abs(coarse["variance"] - fine["variance"]) / 3 * 2  # Richardson, with margin
    assert abs(fine["variance"] - variance) <= bound + 1e-9, (fine["variance"], variance)
    assert fine["mean"] == pytest.approx(mean, rel=1e-8)
    # the mixture is not the homogeneous network of the mean leak (PR_G = 1: G ≡ 1)
    homogeneous = module.solve(step_max=0.04, options=NO_EXPONENT, **{**values, "pr": 1.0})
    assert abs(homogeneous["variance"] - fine["variance"]) > 100 * bound


def test_given_leaks_of_one_level_are_the_homogeneous_network():
    """Given leaks all equal to a = 1.3 (one node): the linear network's exact variance
    D/(2√(a² − g²)) (C(ω) = D/(a² + ω² − g²))."""
    p = ft.parameters(g=(0.6, "positive"), D=(1.0, "nonnegative"))
    g, D = p.symbols
    action = ft.langevin({x: -G * x(t) + J @ x(t)}, {x: D}, {J: ft.Gaussian(variance=g**2)},
                         p, quenched={G: ft.GainArray((1.3,) * 10)})
    result = ft.solve(ft.Model("one_level", action, "equal given leaks"), {})
    assert result.observables["variance"] == pytest.approx(1 / (2 * math.sqrt(1.3**2 - 0.36)),
                                                           rel=1e-4)


def test_bistable_units_with_two_given_strengths_against_fokker_planck():
    """ẋ = −x + G·s tanh x + g J tanh x + √D ξ with g = 0 and given G ∈ {0.5, 1.5} (two
    sub-populations of the Monte-Carlo runtime, weights 1/4 and 3/4): each unit's exact
    density ∝ e^{−2U_G/D}, U_G = x²/2 − G s log cosh x; the mixture's ⟨x²⟩ and ⟨tanh'⟩
    within 4 combined standard errors plus the Richardson bound of the dt bias."""
    p = ft.parameters(g=(0.0, "nonnegative"), D=(1.0, "positive"), s=(1.5, "positive"))
    g, D, s = p.symbols
    gains = (0.5, 1.5, 1.5, 1.5)
    action = ft.langevin({x: -x(t) + G * s * ft.tanh(x(t)) + J @ ft.tanh(x(t))}, {x: D},
                         {J: ft.Gaussian(variance=g**2)}, p,
                         quenched={G: ft.GainArray(gains)})
    model = ft.Model("mixed_wells", action, "bistable units, two strengths")
    grid = np.linspace(-12.0, 12.0, 200_001)
    exact = {"variance": 0.0, "mean_gain": 0.0}
    for gain, weight in ((0.5, 0.25), (1.5, 0.75)):
        density = np.exp(-2 * (grid**2 / 2 - gain * 1.5 * np.log(np.cosh(grid))))
        density /= np.trapezoid(density, grid)
        exact["variance"] += weight * np.trapezoid(grid**2 * density, grid)
        exact["mean_gain"] += weight * np.trapezoid(density / np.cosh(grid) ** 2, grid)
    runs = {}
    for dt in (0.05, 0.1):
        options = {"dt": dt, "paths": 64, "replicas": 4, "window": 4.0, "t_record": 200.0,
                   "seed": 11, "lyapunov": False}
        runs[dt] = ft.solve(model, {"D": 1.0, "s": 1.5}, method="monte_carlo", tau_max=2.0,
                            dtau=0.5, options=options)
    result = runs[0.05]
    for key, value in exact.items():
        got, error = result.observables[key], result.stderr[key]
        bias = abs(runs[0.1].observables[key] - got)
        assert abs(got - value) <= 4 * error + bias, (key, got, error, value)


def _symmetric_output(om: float, g: float, rho: float, D: float, pr: float,
                      own: bool = True, nodes: int = 60) -> float:
    """⟨|x(ω)|²⟩ of the linear network ẋ = −x + J(G x) + ξ with corr(J_ij, J_ji) = ρ:
    per unit χ_G = 1/(1 + iω − g²ρ R̄ h_G), R̄ = ⟨G χ_G⟩ (the kernel acts on the unit's
    own output h_G = G x; ``own=False``: on x, the negative control), C_Gx = D M/(1 − g²M)
    with M = ⟨G²|χ_G|²⟩; the G average by a ``nodes``-point Gauss–Hermite rule in log G."""
    z, w = np.polynomial.hermite.hermgauss(nodes)
    w = w / math.sqrt(math.pi)
    s2 = -math.log(pr) / 4
    gains = np.exp(math.sqrt(2 * s2) * z - s2 / 2)
    h = gains if own else np.ones_like(gains)
    mean = np.sum(w * gains) / (1 + 1j * om)
    for _ in range(2000):
        new = np.sum(w * gains / (1 + 1j * om - g * g * rho * h * mean))
        if abs(new - mean) < 1e-15:
            break
        mean = 0.5 * (mean + new)
    chi2 = 1 / np.abs(1 + 1j * om - g * g * rho * h * mean) ** 2
    M = np.sum(w * gains**2 * chi2)
    return float(np.sum(w * chi2) * (D + g * g * D * M / (1 - g * g * M)))


def test_a_response_kernel_acts_on_the_units_own_gain():
    """Partial symmetry ρ with output gains, ẋ = −x + J(G x) + √D ξ: the kernel
    g²ρ ∫R̄ h acts on the unit's own G x, so every sub-population's kernel term carries its
    own node value (and R̄ sums over the nodes). g = 0.5, ρ = 0.3, D = 1, PR_G = 0.5: the
    variance against the frequency-domain oracle with the lowering's node rule (the kernel
    runtime is exact for it: 1e-7 measured, 1e-6 asserted) and with a 60-node rule (the
    6-node discretisation of the log-normal: 1.6e-5 relative here, 1e-4 asserted); the
    kernel acting on x alone (0.64067 against 0.65029) is ruled out; a rule of 10 nodes
    declared with the distribution (``nodes_order``) meets the 60-node oracle to 3e-6.
    Measured separately:
    6 sampled networks of N = 400 (exact Lyapunov covariances) give 0.648 ± 0.006."""
    p = ft.parameters(g=(0.5, "positive"), rho=(0.3, (-1, 1)), D=(1.0, "nonnegative"),
                      pr=(0.5, (0, 1)))
    g, rho, D, pr = p.symbols

    def solved(order=None):
        gains = ft.LogNormalGain(pr=pr, nodes_order=order)
        action = ft.langevin({x: -x(t) + J @ (G * x(t))}, {x: D},
                             {J: ft.Gaussian(variance=g**2, rho=rho)}, p, quenched={G: gains})
        module = ft.generate(ft.Model("symmetric_gains", action, "ρ with output gains"))
        return module.solve(g=0.5, rho=0.3, D=1.0, pr=0.5)["variance"]

    def oracle(own=True, rule=60):
        return integrate.quad(lambda om: _symmetric_output(om, 0.5, 0.3, 1.0, 0.5, own, rule),
                              0, np.inf, limit=400)[0] / math.pi

    default, same_rule = solved(), oracle(rule=ft.codegen.site.MIXTURE_NODES)
    assert abs(default - same_rule) <= 1e-6, (default, same_rule)
    assert default == pytest.approx(oracle(), rel=1e-4)
    assert abs(default - oracle(own=False)) > 100 * abs(default - oracle())
    # a declared finer rule (10 nodes) meets the 60-node oracle to its own error (1e-6)
    assert solved(10) == pytest.approx(oracle(), rel=3e-6)

def _tanh_gain(name: str = "gain_inside"):
    """ẋ_i = −x_i + Σ_j J_ij tanh(G_j x_j) + √D ξ_i: the gain inside the output function."""
    p = ft.parameters(g=(2.0, "positive"), D=(0.2, "nonnegative"), pr=(0.5, (0, 1)))
    g, D, pr = p.symbols
    action = ft.langevin({x: -x(t) + J @ ft.tanh(G * x(t))}, {x: D},
                         {J: ft.Gaussian(variance=g**2)}, p,
                         quenched={G: ft.LogNormalGain(pr=pr)})
    return ft.Model(name, action, "gain inside tanh")


def test_gain_inside_the_output_function_against_simulated_networks():
    """g = 2, D = 0.2, PR_G = 0.5: the variance of x and the mean slope ⟨G tanh'(G x)⟩ of
    the observed φ = tanh(G x), theory against 16 networks of N = 400 (4 standard errors
    plus a relative 1/N for the finite size); the homogeneous network (G ≡ 1: variance
    12 % higher, mean slope 4 % lower) is ruled out by the same allowance."""
    values, N = {"g": 2.0, "D": 0.2, "pr": 0.5}, 400
    theory = ft.solve(_tanh_gain(), values, options=NO_EXPONENT).observables
    sim = ft.simulate(_tanh_gain(), values, N=N, t_max=60.0, t_burn=30.0, trials=16,
                      seed=2)
    homogeneous = ft.solve(_tanh_gain(), {**values, "pr": 1.0}, options=NO_EXPONENT)
    for key in ("variance", "mean_gain"):
        simulated, error = sim.observables[key], sim.stderr[key]
        allowance = 4 * error + abs(theory[key]) / N
        assert abs(theory[key] - simulated) <= allowance, (key, theory[key], simulated, error)
        assert abs(homogeneous.observables[key] - simulated) > allowance, key


def test_layers_that_take_no_mixture_refuse_it_by_name():
    """The 1/N layer, the Kac–Rice stage and the window variance would treat the nodes as
    populations of fixed fractions (the O(N^{-1/2}) fluctuations of the units' G would be
    missing): each refuses by name."""
    from fieldtheory.derive import derive_fixed_points
    from fieldtheory.rate_function import rate_function

    model = _leaky("mixed_refusals")
    with pytest.raises(ActionStructureError, match="mixture of sites"):
        ft.solve(model, {}, order="1/N")
    with pytest.raises(ActionStructureError, match="mixture of sites"):
        derive_fixed_points(model)
    with pytest.raises(ParameterError, match="mixture of sites"):
        rate_function(model, {})
    # given values with too many levels for sub-populations: the derivation records why
    p = ft.parameters(g=(0.5, "positive"))
    many = ft.langevin({x: -G * x(t) + J @ x(t)}, None, {J: ft.Gaussian(variance=p.g**2)},
                       p, quenched={G: ft.GainArray(tuple(1 + 0.01 * k for k in range(65)))})
    derivation = ft.derive(ft.Model("many_levels", many, "65 distinct leaks"))
    assert derivation.site is None and "65 distinct" in derivation.site_refusal


def test_one_mixed_population_beside_a_homogeneous_one():
    """E/I network, heterogeneous leaks in I only (−a_α x with a_E = 1, a_I = G as a
    by-population value holding the quenched variable), φ = tanh, g = 1.2 in every block,
    D = 0.5: per population the variance against 8 simulated networks of N = 500 (4
    standard errors plus a relative 1/N); PR_G = 1 (homogeneous leaks) is ruled out for I.
    The simulator expands by-population values that hold a quenched variable per unit."""
    from support.ei_graph import ei_ensemble

    p = ft.parameters(f_E=(0.8, (0.01, 0.99)), g=(1.2, "nonnegative"),
                      D=(0.5, "nonnegative"), pr=(0.5, (0, 1)))
    f_E, g, D, pr = p.symbols
    ensemble = ei_ensemble(f_E, lambda *_: 0, lambda *_: g**2)
    action = ft.langevin({x: -ft.by_population("a", E=1, I=G) * x(t) + J @ ft.tanh(x(t))},
                         {x: D}, {J: ensemble}, p, quenched={G: ft.LogNormalGain(pr=pr)})
    model, N = ft.Model("ei_mixed_leak", action, "E/I, heterogeneous leaks in I"), 500
    theory = ft.solve(model, {}, options=NO_EXPONENT).observables["populations"]
    homogeneous = ft.solve(model, {"pr": 1.0}, options=NO_EXPONENT).observables["populations"]
    sim = ft.simulate(model, {}, N=N, t_max=60.0, t_burn=30.0, trials=8, seed=1)
    for name in ("E", "I"):
        simulated = sim.observables["populations"][name]["variance"]
        error = sim.stderr["populations"][name]["variance"]
        allowance = 4 * error + theory[name]["variance"] / N
        assert abs(theory[name]["variance"] - simulated) <= allowance, (name, simulated)
    assert abs(homogeneous["I"]["variance"] - sim.observables["populations"]["I"]["variance"]
               ) > 4 * sim.stderr["populations"]["I"]["variance"]


def _dressed_linear(v: dict, levels, own: bool = True) -> float:
    """Variance of ẋ = −λx + J(G x) + √D ξ with correlated random modes (the
    exponential spectrum s = e^{−βu}, overlap ρ) and given gains ``levels`` (equal
    weights), ω by ω: the modes see R̄ = ⟨G χ_G⟩ with χ_G = 1/(λ + iω − K(R̄) h_G),
    K(R̄) = α⟨d²ρ²R̄/(1 − d²ρ²R̄²)⟩_d, h_G = G (``own=False``: 1, the negative control),
    and C̄ = ⟨G²|x|²⟩ = D M/(1 − F M), M = ⟨G²|χ_G|²⟩, F = α⟨d²(1 + d²ρ²|R̄|²)/
    |1 − d²ρ²R̄²|²⟩_d; Var x = ∫⟨|χ_G|²⟩(D + F C̄) dω/π."""
    u, w = np.polynomial.legendre.leggauss(64)
    u, w = (u + 1) / 2, w / 2
    s = np.exp(-v["beta"] * u)
    d2 = s**2 * v["g"] ** 2 / (v["alpha"] * np.sum(w * s**2))
    weight, a2 = v["alpha"] * w, d2 * v["rho"] ** 2
    gains = np.asarray(levels, dtype=float)
    h = gains if own else np.ones_like(gains)

    def spectrum(omega: float) -> float:
        R = np.mean(gains) / (v["lam"] + 1j * omega)
        for _ in range(10_000):
            K = np.sum(weight * a2 * R / (1 - a2 * R**2))
            new = np.mean(gains / (v["lam"] + 1j * omega - K * h))
            if abs(new - R) < 1e-15:
                break
            R = 0.5 * (R + new)
        else:
            raise AssertionError(f"the oracle's R̄({omega}) did not converge")
        K = np.sum(weight * a2 * R / (1 - a2 * R**2))
        chi2 = 1 / np.abs(v["lam"] + 1j * omega - K * h) ** 2
        F = np.sum(weight * d2 * (1 + a2 * abs(R) ** 2) / np.abs(1 - a2 * R**2) ** 2)
        M = np.mean(gains**2 * chi2)
        assert F * M < 1, "no stationary state"
        return float(np.mean(chi2) * (v["D"] + F * v["D"] * M / (1 - F * M)))

    return integrate.quad(spectrum, 0, np.inf, limit=400)[0] / math.pi


def test_correlated_random_modes_on_a_mixture_of_sites():
    """Correlated left/right modes with single-neuron gains (issue 13: the paper's two
    heterogeneities together): the kernel acts on each unit's own G x, so the site is a
    mixture; the modes see the mixture's C̄ and R̄ (ModeDressing ``mixed``), every node
    takes the same dressed S and K. Linear units with given gains (0.3, 1.7), λ = 1.5,
    D = 1, α = 1, β = 1, g = 0.6, ρ = 0.7: the Monte-Carlo saddle point against the
    resolvent oracle above (0.4628) within 4 standard errors plus 1e-3 (the dt bias of
    the runtime's scheme, as for one population); the kernel acting on x instead of G x
    (0.4366) is ruled out. Measured separately, exact Lyapunov covariances of 6 sampled
    networks of N = 800: 0.440, 0.554, 0.476, 0.479, 0.447 and 2.80 — the last with an
    outlier eigenvalue at −0.015 (units of gain 1.7 bring finite networks near their
    instability); the other five 0.479 ± 0.020. At gains (0.4, 1.6) (oracle 0.4405,
    control 0.4256) six networks gave 0.464 ± 0.018."""
    import sympy as sp

    p = ft.parameters(lam=(1.5, "positive"), D=(1.0, "nonnegative"), alpha=(1.0, "positive"),
                      beta=(1.0, "nonnegative"), g=(0.6, "positive"), rho=(0.7, (-1, 1)))
    lam, D, alpha, beta, g, rho = p.symbols
    ensemble = ft.RandomMode(alpha=alpha, gain=g, overlap=rho,
                             spectrum=sp.exp(-beta * (ft.MODE_INDEX - sp.Rational(1, 2))
                                             / ft.MODE_COUNT))
    levels = (0.3, 1.7)
    action = ft.langevin({x: -lam * x(t) + J @ (G * x(t))}, {x: D}, {J: ensemble}, p,
                         quenched={G: ft.GainArray(levels)})
    model = ft.Model("modes_with_gains", action, "correlated modes, given gains")
    assert "mixture of sites" in ft.derive(model).stage("site").text
    v = p.defaults()
    result = ft.solve(model, v, options={"paths": 64, "replicas": 8, "t_record": 100.0,
                                         "lyapunov": False})
    assert result.method == "monte_carlo"
    variance, error = result.observables["variance"], result.stderr["variance"]
    exact, control = _dressed_linear(v, levels), _dressed_linear(v, levels, own=False)
    assert abs(variance - exact) < 4 * error + 1e-3 * exact, (variance, error, exact)
    assert abs(variance - control) > 4 * error + 1e-3 * exact, (variance, control)
