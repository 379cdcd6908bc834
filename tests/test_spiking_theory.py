"""Spiking mean-field theory (issue 18): the derived input cumulants, the LIF (Siegert,
CV, renewal spectrum) and GLM (colored-noise) closures, each against an independent
evaluation written here (mpmath integrals, hand-written compound-sum cumulants, the
bivariate normal CDF)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import special, stats

import fieldtheory as ft
from fieldtheory.derive import derive
from fieldtheory.errors import ParameterError
from fieldtheory.ir.spiking_values import NeuronValues
from fieldtheory.solvers.runtime.spiking import (
    glm_statistics,
    lif_cv,
    lif_renewal_spectrum,
    siegert,
)
from fieldtheory.spiking_solve import solve_spiking
from fieldtheory.transforms.spiking import weight_moments

mpmath.mp.dps = 30


def mp_siegert(mu, sigma, tau_m, t_ref, theta, V_r, shift=0.0):
    """ν (Hz) = 1/(t_ref + τ√π ∫ e^{u²}(1 + erf u) du), at 30 digits (1 + erf u written
    erfc(−u): no cancellation far below threshold)."""
    lo = mpmath.mpf(V_r - mu) / sigma + shift
    hi = mpmath.mpf(theta - mu) / sigma + shift
    integral = mpmath.quad(lambda u: mpmath.exp(u * u) * mpmath.erfc(-u), [lo, hi])
    return float(1000 / (t_ref + tau_m * mpmath.sqrt(mpmath.pi) * integral))


LIF_A = NeuronValues("lif", 20.0, V_th=20.0, V_reset=10.0, t_ref=2.0)


@pytest.mark.parametrize("mu,sigma", [(21.0, 7.7), (12.0, 4.0), (-5.0, 6.0), (30.0, 1.5)])
def test_siegert_against_mpmath(mu, sigma):
    assert siegert(LIF_A, mu, sigma) == pytest.approx(
        mp_siegert(mu, sigma, 20.0, 2.0, 20.0, 10.0), rel=1e-10)


def test_fourcaud_brunel_shift_against_mpmath():
    n = NeuronValues("lif", 10.0, V_th=15.0, V_reset=0.0, t_ref=2.0, tau_s=0.5)
    shift = math.sqrt(2) * abs(float(mpmath.zeta(0.5))) / 2 * math.sqrt(0.5 / 10.0)
    assert siegert(n, 10.0, 5.0) == pytest.approx(
        mp_siegert(10.0, 5.0, 10.0, 2.0, 15.0, 0.0, shift), rel=1e-10)


def test_brunel_rates_self_consistent_with_brunels_own_input_formulas():
    # Brunel (2000), model A: μ = C_E J τ (ν_ext + ν(1 − gγ)), σ² = J² C_E τ (ν_ext +
    # ν(1 + g²γ)) — written here by hand, not read from the derivation (rates in 1/ms)
    params = {"g": 5.0, "eta": 2.0}
    result = solve_spiking("lif_brunel", params)
    nu = result.observables["populations"]["E"]["rate"]
    assert result.observables["populations"]["I"]["rate"] == pytest.approx(nu, rel=1e-12)
    C_E, J, tau, g, gamma, theta = 1000, 0.1, 20.0, 5.0, 0.25, 20.0
    nu_ext = 2.0 * theta / (J * C_E * tau)
    r = nu / 1000
    mu = C_E * J * tau * (nu_ext + r * (1 - g * gamma))
    sigma = math.sqrt(J**2 * C_E * tau * (nu_ext + r * (1 + g**2 * gamma)))
    assert nu == pytest.approx(mp_siegert(mu, sigma, tau, 2.0, theta, 10.0), rel=1e-8)
    # an inhibition-dominated state: more inhibition, lower rates
    assert solve_spiking("lif_brunel", {"g": 6.0}).observables["rate"] < nu


def test_brunel_against_nnmt_where_installed():
    nnmt = pytest.importorskip("nnmt")
    rates = solve_spiking("lif_brunel").observables["populations"]
    J, C_E, tau = 0.1, 1000, 20.0
    nu_ext = 2.0 * 20.0 / (J * C_E * tau) * 1000  # Hz
    # NNMT's Siegert in SI units: the same μ, σ at the solved rate
    nu = rates["E"]["rate"]
    mu = C_E * J * tau / 1000 * (nu_ext + nu * (1 - 5 * 0.25))
    sigma = math.sqrt(J**2 * C_E * tau / 1000 * (nu_ext + nu * (1 + 25 * 0.25)))
    other = nnmt.lif.delta._firing_rates_for_given_input(
        mu=mu * 1e-3, sigma=sigma * 1e-3, V_0_rel=10e-3, V_th_rel=20e-3, tau_m=20e-3,
        tau_r=2e-3)
    assert float(np.ravel(other)[0]) == pytest.approx(nu, rel=1e-6)


def test_cv_against_mpmath_double_integral():
    mu, sigma = 18.0, 5.0
    rate = float(siegert(LIF_A, mu, sigma))
    lo, hi = (10.0 - mu) / sigma, (20.0 - mu) / sigma

    def inner(x):
        return mpmath.quad(lambda y: mpmath.exp(y * y) * mpmath.erfc(-y) ** 2,
                           [-mpmath.inf, x])

    outer = mpmath.quad(lambda x: mpmath.exp(x * x) * inner(x), [lo, hi])
    cv = math.sqrt(2 * math.pi * (rate / 1000 * 20.0) ** 2 * float(outer))
    assert lif_cv(LIF_A, mu, sigma, rate) == pytest.approx(cv, rel=1e-5)


def test_renewal_spectrum_limits():
    # F̃(0) = 1 and the mean ISI −F̃'(0) = 1/ν make S → ν CV² at ω → 0 and → ν at ω → ∞
    mu, sigma = 18.0, 5.0
    rate = float(siegert(LIF_A, mu, sigma))
    cv = lif_cv(LIF_A, mu, sigma, rate)
    S = lif_renewal_spectrum(LIF_A, mu, sigma, rate, np.array([1e-4, 40.0]))
    assert S[0] == pytest.approx(rate * cv**2, rel=2e-3)
    assert S[1] == pytest.approx(rate, rel=2e-2)


def test_brunel_autocorrelation_is_refractory_and_integrates_to_the_spectrum():
    pop = solve_spiking("lif_brunel", dtau=0.5).observables["populations"]["E"]
    C = np.array(pop["spike_autocorrelation"]["values"])
    tau = np.array(pop["spike_autocorrelation"]["tau"])
    nu = pop["rate"]
    # no second spike within the refractory period: Ĉ = −ν² there
    np.testing.assert_allclose(C[tau < 1.9], -nu**2, rtol=2e-3)
    # S(0) = ν + ∫Ĉ dτ = ν CV² (the renewal identity), the integral from the lags
    integral = 2 * np.trapezoid(C, tau) / 1000  # Hz²·ms → Hz
    assert nu + integral == pytest.approx(nu * pop["cv"] ** 2, rel=0.02)


def _bivariate(b, rho):
    """Φ₂(b, b; ρ) by Owen's T: Φ(b) − 2T(b, √((1 − ρ)/(1 + ρ)))."""
    return special.ndtr(b) - 2 * special.owens_t(b, np.sqrt((1 - rho) / (1 + rho)))


def test_glm_colored_noise_solution_against_the_bivariate_normal_cdf():
    # F = ν_max Φ((V − θ)/Δ): E[F] = ν_max Φ(b), E[F F'] = ν_max² Φ₂(b, b; ρ), b =
    # (μ − θ)/√(Δ² + s²), ρ = (Σ + C_v(τ))/(Δ² + s²) — averaged over the static δμ too
    nu_max, theta, Delta = 80.0, 10.0, 2.5
    mu, Sigma = 7.0, 9.0
    tau = np.linspace(0, 60, 121)
    Cv = 16.0 * np.exp(-tau / 10.0) * (1 + tau / 10.0)

    def F(V):
        return nu_max * special.ndtr((np.asarray(V) - theta) / Delta)

    nu, q, C = glm_statistics(F, mu, Sigma, Cv)
    total = Delta**2 + Sigma + Cv[0]
    b = (mu - theta) / math.sqrt(total)
    assert nu == pytest.approx(nu_max * special.ndtr(b), rel=1e-10)
    assert q == pytest.approx(nu_max**2 * _bivariate(b, Sigma / total), rel=1e-8)
    expected = nu_max**2 * (_bivariate(b, (Sigma + Cv) / total) - _bivariate(b, Sigma / total))
    np.testing.assert_allclose(C, expected, rtol=1e-7, atol=1e-9 * nu_max**2)


def test_glm_network_consistent_with_its_reported_input():
    obs = solve_spiking("glm_balanced").observables["populations"]
    for pop in obs.values():
        inp = pop["input"]
        b = (inp["mean"] - 12.0) / math.sqrt(3.0**2 + inp["static_variance"] + inp["variance"])
        assert pop["rate"] == pytest.approx(100.0 * special.ndtr(b), rel=1e-9)
        density = np.array(pop["rate_distribution"]["density"])
        widths = np.diff(pop["rate_distribution"]["bins"])
        assert density @ widths + pop["rate_distribution"]["outside"] == pytest.approx(1.0)
        assert pop["rate_variance"] > 0  # Bernoulli in-degrees: distributed rates
        assert pop["timescale"] > 0


def _declared(rule, weight_sd=0.0):
    """One GLM population with parameters in the intensity, the rule, the weights and the
    drive, declared here."""
    p = ft.parameters(n=(2000.0, "positive"), c=(0.1, (0, 1)), w=(0.3, "real"),
                      s=(weight_sd, "nonnegative"), a=(40.0, "positive"),
                      h=(2.0, "positive"), r=(8.0, "nonnegative"), k=(300.0, "positive"),
                      d=(1.0, "real"))
    V = ft.Potential("V")
    neuron = ft.GLM(tau_m=15.0, intensity=p.a * sp.exp((V - 10) / p.h) / (1 + sp.exp((V - 10)
                                                                                      / p.h)))
    rules = {"bernoulli": ft.Bernoulli(p.c), "indegree": ft.FixedInDegree(p.c * p.n),
             "total": ft.FixedTotalNumber(p.c * p.n * p.n)}
    net = ft.spiking_network(
        [ft.SpikingPopulation("A", p.n, neuron)],
        [ft.Connection("A", "A", rules[rule], p.w, weight_sd=p.s, delay=p.d)],
        [ft.PoissonDrive("A", p.r, p.k, 0.5)], parameters=p)
    return ft.Model("declared_glm", net)


@pytest.mark.parametrize("rule,EK,VK", [("bernoulli", 200.0, 180.0),
                                        ("indegree", 200.0, 0.0),
                                        ("total", 200.0, 200.0 * (1 - 1 / 2000))])
def test_derived_cumulants_of_a_declared_network(rule, EK, VK):
    # compound sum over K synapses: E = E[K] w ν, Var = E[K](E[w²]q − w²ν²) + Var[K] w²ν²
    model = _declared(rule)
    site = derive(model).site_problem().at({})
    nu, q = np.array([7.0]), np.array([60.0])
    w, tau = 0.3, 15.0
    assert site.mu(nu, q)[0] == pytest.approx(tau / 1000 * (EK * w * 7.0 + 300 * 0.5 * 8.0))
    assert site.Sigma(nu, q)[0] == pytest.approx(
        (tau / 1000) ** 2 * (EK * (w**2 * 60.0 - w**2 * 49.0) + VK * w**2 * 49.0))
    assert site.D(nu, q)[0] == pytest.approx((EK * w**2 * 7.0 + 300 * 0.25 * 8.0) / 1000)
    assert site.colored(nu, q)[0, 0] == pytest.approx(EK * w**2 / 1e6)


def test_weight_moments_of_the_sign_kept_normal():
    for m, s in ((0.3, 0.2), (-0.5, 0.4), (0.2, 0.0)):
        Ew, Ew2 = (float(e) for e in weight_moments(m, s))
        if s == 0:
            assert (Ew, Ew2) == pytest.approx((m, m * m))
            continue
        lo, hi = ((0 - m) / s, np.inf) if m > 0 else (-np.inf, (0 - m) / s)
        law = stats.truncnorm(lo, hi, loc=m, scale=s)
        assert Ew == pytest.approx(law.mean(), rel=1e-12)
        assert Ew2 == pytest.approx(law.moment(2), rel=1e-12)
    # and the derivation uses them: a declared weight sd raises E[w²] in the white noise
    base = derive(_declared("indegree")).site_problem().at({}).D(np.array([7.0]), [49.0])
    wide = derive(_declared("indegree", 0.2)).site_problem().at({}).D(np.array([7.0]), [49.0])
    assert wide[0] > base[0]


def test_bad_spiking_input_is_named():
    with pytest.raises(ParameterError, match="A→A: delay = -1 ms must be positive"):
        _declared("indegree").action.values({"d": -1.0})
    with pytest.raises(ParameterError, match="in-degree 1000 exceeds the 999 neurons"):
        _declared("indegree").action.values({"c": 1.0, "n": 1000})
    with pytest.raises(ParameterError, match="unknown method"):
        solve_spiking("lif_brunel", method="stationary")
    with pytest.raises(ParameterError, match="does not apply"):
        solve_spiking("lif_brunel", method="glm_colored")


def test_solve_cli_json_contract(run):
    status, out, _ = run("solve", "lif_brunel", "--json", "-p", "g=6")
    assert status == 0
    import json

    data = json.loads(out)
    assert data["N"] is None and data["method"] == "lif_siegert"
    pop = data["observables"]["populations"]["E"]
    for key in ("rate", "cv", "rate_distribution", "spike_autocorrelation", "power_spectrum",
                "timescale"):
        assert key in pop
    assert set(pop["rate_distribution"]) >= {"bins", "density"}
    assert set(pop["spike_autocorrelation"]) == {"tau", "values"}
    assert set(pop["power_spectrum"]) == {"omega", "values"}
    status, _, err = run("solve", "lif_brunel", "-N", "100")
    assert status == 2 and "-N" in err


def test_declared_lif_network_with_exponential_synapses():
    # one LIF population declared here: parameters in the neuron (τ_m, threshold, τ_s),
    # the recurrent weight (inhibitory, fixed in-degree) and the drive; the solved rate
    # must satisfy ν = Siegert(μ(ν), σ(ν)) with the Fourcaud–Brunel shift, μ and σ
    # written by hand: μ = E_L + τ_m (K w ν + K_x J ν_x), σ² = τ_m² (K w² ν + K_x J² ν_x)
    p = ft.parameters(tm=(15.0, "positive"), th=(-52.0, "real"), ts=(2.0, "positive"),
                      w=(-0.4, "real"), x=(12.0, "positive"))
    neuron = ft.LIF(tau_m=p.tm, V_th=p.th, V_reset=-65, t_ref=2.0, E_L=-65, tau_s=p.ts)
    net = ft.spiking_network([ft.SpikingPopulation("A", 1000, neuron)],
                             [ft.Connection("A", "A", ft.FixedInDegree(100), p.w)],
                             [ft.PoissonDrive("A", p.x, 800, 0.3)], parameters=p)
    model = ft.Model("declared_lif", net)
    for values in ({}, {"tm": 10.0, "ts": 0.5, "w": -0.8, "x": 15.0}):
        v = {**net.parameters.defaults(), **values}
        pop = solve_spiking(model, values, options={"spectrum": False}).observables[
            "populations"]["A"]
        r = pop["rate"] / 1000  # 1/ms
        mu = -65 + v["tm"] * (100 * v["w"] * r + 800 * 0.3 * v["x"] / 1000)
        sigma = math.sqrt(v["tm"] * (100 * v["w"] ** 2 * r + 800 * 0.09 * v["x"] / 1000))
        shift = math.sqrt(2) * abs(float(mpmath.zeta(0.5))) / 2 * math.sqrt(v["ts"] / v["tm"])
        assert pop["rate"] == pytest.approx(
            mp_siegert(mu, sigma, v["tm"], 2.0, v["th"], -65.0, shift), rel=1e-8)
        # nothing static: q = ν², to the solver's relative tolerance (1e-10 on ln q)
        assert pop["rate_variance"] == pytest.approx(0.0, abs=1e-9 * pop["rate"] ** 2)
        assert pop["spike_autocorrelation"] is None  # exponential synapses: stated


def test_parameter_scaled_weights_use_the_homogeneity_of_the_moments():
    """mean = r·m₀, sd = r·s₀ with r > 0: the sign-kept normal's moments are r·E₀, r²·E₂
    (numbers times r, no erf of r), equal to the moments evaluated at r's value."""
    from types import SimpleNamespace

    from fieldtheory.transforms.spiking import _block_moments

    p = ft.parameters(r=(1.0, "positive"), g=(4.0, "positive"), x=(1.0, "real"))
    net = SimpleNamespace(parameters=p)  # the domains are all the rule reads
    for m0, s0, factor in ((0.3, 0.05, p.r), (-0.7, 0.2, p.r * p.g)):
        E1, E2 = _block_moments(m0 * factor, s0 * factor, net)
        assert not (E1.atoms(sp.erf) or E2.atoms(sp.erf))
        value = {p.r: 2.0, p.g: 4.0}
        scale = float(factor.subs(value))
        e1, e2 = (float(e) for e in weight_moments(m0 * scale, s0 * scale))
        assert float(E1.subs(value)) == pytest.approx(e1, rel=1e-12)
        assert float(E2.subs(value)) == pytest.approx(e2, rel=1e-12)
    # a factor of either sign keeps the general (erf) form
    E1, _ = _block_moments(0.3 * p.x, 0.05 * p.x, net)
    assert E1.atoms(sp.erf)


# -- the distribution of the rate estimates n/T over a counting window (count laws) -------
def _count_probabilities(rate_of, Sigma, T, fano, counts=200):
    """P(n = k), k = 0 … counts, from rate_distribution on unit-count bins."""
    from fieldtheory.solvers.runtime.spiking import rate_distribution

    edges = (np.arange(-1, counts + 1) + 0.5) / T
    out = rate_distribution(rate_of, Sigma, edges, fano, T)
    assert not np.isnan(out["density"]).any()
    return out["density"] * np.diff(out["bins"]), out["outside"]


def test_rate_estimates_with_unit_fano_are_poisson_mixtures():
    # Σ = 0: the Poisson pmf itself; Σ > 0: averaged over δ by 60-node Gauss–Hermite
    # (mpmath pmfs), independent of the function's rule in z
    T = 0.5
    p, _ = _count_probabilities(lambda d: np.full_like(d, 7.0), 0.0, T, 1.0, 40)
    exact = [float(mpmath.exp(-3.5) * mpmath.mpf(3.5) ** k / mpmath.factorial(k))
             for k in range(41)]
    np.testing.assert_allclose(p, exact, rtol=0, atol=1e-12)
    p, _ = _count_probabilities(lambda d: 6.0 * np.exp(d), 0.16, T, 1.0, 40)
    z, w = special.roots_hermitenorm(60)
    lam = [mpmath.mpf(3.0) * mpmath.exp(0.4 * zi) for zi in z]
    mixed = [sum(wi * float(mpmath.exp(-x) * x**k / mpmath.factorial(k))
                 for wi, x in zip(w, lam, strict=True)) / math.sqrt(2 * math.pi)
             for k in range(41)]
    np.testing.assert_allclose(p, mixed, rtol=0, atol=1e-9)


@pytest.mark.parametrize("fano,lam", [(2.0, 3.0), (2.0, 0.3), (0.5, 3.0), (0.3, 40.0)])
def test_rate_estimate_count_law_moments(fano, lam):
    # F > 1: negative binomial, mean λ and variance Fλ; F < 1: the stationary gamma
    # renewal count, mean λ and variance λ/2 + (1 − e^{−4λ})/8 at F = ½ (from its renewal
    # function), Fλ + (1 − F²)/6 at large λ (Cox 1962)
    p, outside = _count_probabilities(lambda d: np.full_like(d, lam / 2.0), 0.0, 2.0, fano)
    k = np.arange(p.size)
    mean, var = p @ k, p @ (k - lam) ** 2
    assert outside < 1e-12 and p.sum() == pytest.approx(1.0, abs=1e-12)
    assert mean == pytest.approx(lam, rel=1e-6)
    expected = {2.0: fano * lam, 0.5: lam / 2 + (1 - math.exp(-4 * lam)) / 8,
                0.3: fano * lam + (1 - fano**2) / 6}[fano]
    assert var == pytest.approx(expected, rel=1e-6)


def test_nearly_silent_population_has_single_counts():
    # ν = 0.004 Hz over 0.5 s: one count with probability λe^{−λ} (the Gaussian gave 0);
    # at ν = 0 all mass sits at no count; a renewal train of any CV gives P(≥1) ≈ νT
    from fieldtheory.solvers.runtime.common import SolverInputError
    from fieldtheory.solvers.runtime.spiking import rate_distribution

    lam = 0.004 * 0.5
    p, _ = _count_probabilities(lambda d: np.full_like(d, 0.004), 0.0, 0.5, 1.0, 3)
    assert p[1] == pytest.approx(lam * math.exp(-lam), rel=1e-12)
    for fano in (1.0, 2.0, 0.25):
        p, _ = _count_probabilities(lambda d: np.zeros_like(d), 0.0, 0.5, fano, 3)
        assert p[0] == 1.0 and not p[1:].any()
    p, _ = _count_probabilities(lambda d: np.full_like(d, 0.004), 0.0, 0.5, 0.25, 3)
    assert p[1:].sum() == pytest.approx(lam, rel=1e-4)
    with pytest.raises(SolverInputError, match="Fano factor nan"):
        rate_distribution(lambda d: np.ones_like(d), 0.0, [0.0, 4.0], float("nan"), 0.5)
