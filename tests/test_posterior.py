"""Wide Bayesian networks (issue 15): the derived single-neuron saddle point and its linear
closed form, checked against independent Gaussian algebra, on shipped models and on
posteriors declared here (parameters in the readout, the priors and the temperature)."""

import json

import numpy as np
import pytest
import sympy as sp
from scipy import linalg

import fieldtheory as ft
from fieldtheory.errors import ActionStructureError, DeclarationError, ParameterError
from fieldtheory.ir.posterior import with_data
from fieldtheory.posterior_solve import posterior_spec, solve_posterior
from fieldtheory.solvers.runtime.posterior import posterior_mean_field


def declared(readout=lambda a, h, c: c * a * h, x=None, y=None):
    """A posterior declared in the test: a gain c in the readout, σ_a = s·q (two
    parameters in the prior), temperature T."""
    p = ft.parameters(c=(1.5, "positive"), s=(0.8, "positive"), q=(1.25, "positive"),
                      sw=(1.3, "positive"), T=(0.0, "nonnegative"))
    a, h = ft.Weight("a"), ft.Preactivation("h")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 7)) if x is None else x
    y = np.eye(2)[[0, 1, 1, 0, 1]] if y is None else y
    post = ft.posterior(readout(a, h, p.c), {a: ft.Gaussian(variance=(p.s * p.q) ** 2),
                                             h: ft.InputWeights(p.sw**2)},
                        parameters=p, inputs=ft.Inputs("X", x), targets=ft.Targets("Y", y),
                        scaling=1, temperature=p.T)
    return ft.Model("declared_bayes", post)


def test_stages_are_derived_for_shipped_and_declared_posteriors():
    names = ["action", "posterior", "collective_fields", "single_neuron", "saddle_point",
             "site"]
    for model in ("bayes_linear", "bayes_erf", declared()):
        d = ft.derive(model)
        assert [s.name for s in d.stages] == names
        assert "T*v[mu, k]" in d.self_consistency[0]
        json.dumps(d.to_json())
    # the N power of the tilt is read off the declared scaling
    assert "N**(1 - gamma)" in ft.derive("bayes_linear").stage("collective_fields").text
    site = ft.derive(declared()).site
    assert site.linear and sp.simplify(site.slope - sp.Symbol("c", real=True)) == 0
    assert not ft.derive("bayes_relu").site.linear
    # a readout quadratic in its weight cannot be integrated to the single-neuron measure
    with pytest.raises(ActionStructureError, match="not linear in the weight a"):
        ft.derive(declared(lambda a, h, c: c * a**2 * h))
    with pytest.raises(DeclarationError, match="does not contain the weight"):
        declared(lambda a, h, c: c * h)


def _precision_check(K, Y, s2, T, parts):
    """The Gaussian single-neuron posterior built from its precision matrix, independently
    of the runtime: ⟨h aᵀ⟩ must equal Y − T V and ⟨a aᵀ⟩ must be A."""
    m = Y.shape[1]
    V = parts["V"]
    prec = np.block([[np.eye(m) / s2, -V.T], [-V, linalg.inv(K)]])
    cov = linalg.inv(prec)
    np.testing.assert_allclose(cov[:m, :m], parts["A"], rtol=1e-9)
    np.testing.assert_allclose(cov[m:, :m], Y - T * V, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(cov[m:, m:], parts["S"], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("T", [0.0, 0.3])
def test_linear_saddle_point_against_the_gaussian_single_neuron(T):
    model = declared()
    spec, _ = posterior_spec(model, {"T": T})
    s2 = spec.slope**2 * spec.weight_variance  # c² σ_a²
    assert np.isclose(spec.slope, 1.5) and np.isclose(spec.weight_variance, 1.0)
    parts = posterior_mean_field(spec.kernel, spec.y, s2, T)
    _precision_check(spec.kernel, spec.y, s2, T, parts)
    if T == 0:  # A² − σ²A − σ²Q = 0 with Q = Yᵀ K⁻¹ Y
        A, Q = parts["A"], spec.y.T @ linalg.solve(spec.kernel, spec.y)
        np.testing.assert_allclose(A @ A - s2 * A - s2 * Q, 0, atol=1e-10)
        assert np.all(linalg.eigvalsh(A) > 0)
    result = solve_posterior(model, {"T": T})
    np.testing.assert_allclose(result.observables["readout_second_moment"],
                               parts["A"] / spec.slope**2)


def test_mean_predictor_equals_the_lazy_gp_predictor():
    model = declared()
    rng = np.random.default_rng(8)
    test = rng.standard_normal((4, 7))
    mean_field = solve_posterior(model, test=test).observables["prediction"]["mean"]
    spec, _ = posterior_spec(model, test=test)
    kstar, _ = spec.test_kernels()
    gp = kstar @ linalg.solve(spec.kernel, spec.y)
    np.testing.assert_allclose(mean_field, gp, rtol=1e-10, atol=1e-12)
    lazy = solve_posterior("bayes_linear", {"gamma": 0.5}, test=np.eye(8)[6:] * 2)
    full = solve_posterior("bayes_linear", test=np.eye(8)[6:] * 2)
    np.testing.assert_allclose(lazy.observables["prediction"]["mean"],
                               full.observables["prediction"]["mean"], atol=1e-12)


def test_more_patterns_than_dimensions_take_the_projected_form():
    """P > d: at T = 0 the targets are projected on the range of K, and the T → 0⁺ limit
    of the unprojected T > 0 equations (solved by root finding) agrees with it."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 3))
    model = declared(x=x, y=np.eye(2)[[0, 1, 1, 0, 1, 0]])
    zero = solve_posterior(model)
    assert zero.info["projected"] and zero.info["rank"] == 3
    assert zero.info["training_residual"] > 0.1
    small = solve_posterior(model, {"T": 1e-7})
    for key in ("readout_second_moment", "kernel_posterior"):
        np.testing.assert_allclose(small.observables[key], zero.observables[key],
                                   rtol=1e-5, atol=1e-6)


def test_bad_input_is_refused_by_name():
    model = ft.load_model("bayes_linear")
    with pytest.raises(ParameterError, match="one target row per input pattern"):
        with_data(model, np.eye(8)[:5], np.eye(3)[[0, 1, 2]])
    with pytest.raises(ParameterError, match="equal but their targets differ"):
        solve_posterior(with_data(model, np.eye(3)[[0, 1, 0]], np.eye(2)[[0, 1, 1]]))
    with pytest.raises(ParameterError, match=r"γ = 0.5 \(lazy\) and γ = 1"):
        solve_posterior(model, {"gamma": 0.7})
    with pytest.raises(ParameterError, match="one-hot targets"):
        solve_posterior(with_data(ft.load_model("bayes_erf"), targets=np.full((6, 2), 0.5)))


def test_sampled_single_neuron_reproduces_the_linear_closed_form():
    """Two independent routes on one model: the tempered-SMC Newton solver of the
    nonlinear runtime, forced on the linear network, against the Gaussian closed form —
    within the replicas' standard errors (which include the Monte-Carlo error of v). With
    R replicas the error is itself estimated from R − 1 degrees of freedom: the bound is
    Student's t quantile at a two-sided level of 1e-3 per entry."""
    from scipy.stats import t as student

    test = np.ones((1, 8))
    replicas = 8
    exact = solve_posterior("bayes_linear", test=test)
    sampled = solve_posterior("bayes_linear", test=test, method="posterior_sampled",
                              options={"replicas": replicas})
    bound = student.ppf(1 - 0.5e-3, replicas - 1)
    assert sampled.observables["scheme"] == "analog"

    def z(get):
        return (get(sampled.observables) - get(exact.observables)) / get(sampled.stderr)

    checks = [lambda o: np.diag(o["readout_second_moment"]),
              lambda o: np.diag(o["kernel_posterior"]),
              lambda o: o["prediction"]["mean"], lambda o: o["prediction"]["variance"]]
    for get in checks:
        assert np.all(np.abs(z(get)) < bound), z(get)


# ------------------------------------------------------------ theory against the sampler
#: chains of the reference sampler in these tests; its errors are the spread across chains,
#: so bounds are Student's t quantiles with chains − 1 degrees of freedom (1e-3 two-sided)
CHAINS = 8


def _bound(dof=CHAINS - 1):
    from scipy.stats import t as student

    return student.ppf(1 - 0.5e-3, dof)


def _richardson(small, large, get):
    """The N → ∞ value from N and 2N, A∞ = 2A(2N) − A(N) (corrections O(1/N)), and its
    standard error."""
    value = 2 * get(large.observables) - get(small.observables)
    error = np.sqrt(4 * get(large.stderr) ** 2 + get(small.stderr) ** 2)
    return value, error


def test_linear_network_against_the_sampler_in_both_scalings():
    """A, the posterior kernel and N·Var f(x*) of finite networks (N = 256, 512, collapsed
    HMC) extrapolated to N → ∞ against the closed form (γ = 1) — features learned, the
    kernel far from K — and against the prior kernel (γ = ½, lazy); the posterior variance
    of f(x*) falls as 1/N (the sampler's N·Var does not drift with N)."""
    from fieldtheory.posterior_solve import simulate_posterior

    test = np.ones((1, 8))
    theory = solve_posterior("bayes_linear", test=test)
    runs = {(g, N): simulate_posterior("bayes_linear", {"gamma": g}, N=N, samples=200,
                                       chains=CHAINS, test=test, seed=4)
            for g in (1.0, 0.5) for N in (256, 512)}
    K = posterior_spec("bayes_linear")[0].kernel
    for key, get in (("A", lambda o: np.diag(o["readout_second_moment"])),
                     ("kernel", lambda o: np.diag(o["kernel_posterior"])),
                     ("N·Var", lambda o: o["prediction"]["variance"][0])):
        value, error = _richardson(runs[1.0, 256], runs[1.0, 512], get)
        z = (value - get(theory.observables)) / error
        assert np.all(np.abs(z) < _bound()), (key, z)
    kernel_inf, error = _richardson(runs[0.5, 256], runs[0.5, 512],
                                    lambda o: np.asarray(o["kernel_posterior"]))
    assert np.all(np.abs(kernel_inf - K) < _bound() * error + 1e-12)
    # the readout weights of the linear network are Gaussian (no bimodality): the
    # conditional means of the final networks' weights, standardised, against N(0, 1)
    from scipy.stats import kstest

    means = np.concatenate([c["mu"] for c in runs[1.0, 512].networks])
    for k in range(means.shape[1]):
        weights = means[:, k] / means[:, k].std()
        assert kstest(weights - weights.mean(), "norm").pvalue > 1e-3
    learned = np.asarray(runs[1.0, 512].observables["kernel_posterior"]) - K
    assert np.min(np.diag(learned)) > 20 * np.max(np.diag(runs[1.0, 512].stderr[
        "kernel_posterior"]))
    # Var f* ∝ N^slope: slope = −1 + d ln(N·Var)/d ln N, from the two sizes
    nvar = [runs[1.0, N].observables["prediction"]["variance"][0] for N in (256, 512)]
    nerr = [runs[1.0, N].stderr["prediction"]["variance"][0] for N in (256, 512)]
    slope = -1 + np.log(nvar[1] / nvar[0]) / np.log(2)
    slope_err = np.sqrt((nerr[0] / nvar[0]) ** 2 + (nerr[1] / nvar[1]) ** 2) / np.log(2)
    assert np.all(np.abs(slope + 1) < _bound() * slope_err), (slope, slope_err)


@pytest.mark.parametrize(("name", "scheme"), [("bayes_erf", "redundant"),
                                              ("bayes_relu", "sparse")])
def test_codes_of_nonlinear_networks_against_the_sampler(name, scheme):
    """The theory's codes (readout quadrature) against the codes of the neurons of sampled
    networks (across chains); the scheme is the paper's (its glossary: sparse — only a
    small subset of neurons exhibit codes; redundant — codes shared by large subsets).
    erf, on the shipped six patterns (N = 512): the exact coding participation (a
    quadrature of the response energy's second moment) meets the sampled networks'. ReLU,
    on two classes of 18 and 6 orthogonal patterns (N = 256; the shipped six are too few
    for a sparse code): the theory's participation is ≈ 7e-4 — the response energy lives
    in the far tail of the single-neuron measure, which N neurons sample only down to
    ≈ (a few tens)/N — so the sampler's is larger, and both lie below the threshold."""
    from fieldtheory.posterior_solve import simulate_posterior
    from fieldtheory.solvers.runtime.posterior_sampled import sparse_threshold

    model = ft.load_model(name)
    N, samples = 512, 150
    if name == "bayes_relu":
        P = 24
        x, y = np.sqrt(P) * np.eye(P), np.eye(2)[np.repeat([0, 1], [18, 6])]
        model, N, samples = with_data(model, x, y), 256, SAMPLES_CODES
    m = model.action.targets.array.shape[1]
    theory = solve_posterior(model, options={"replicas": CHAINS})
    sampled = simulate_posterior(model, N=N, samples=samples, chains=CHAINS, seed=5)
    assert theory.observables["scheme"] == sampled.observables["scheme"] == scheme
    th = dict(zip(map(tuple, theory.observables["codes"]["patterns"]),
                  zip(theory.observables["codes"]["fractions"],
                      theory.stderr["codes"]["fractions"], strict=True), strict=True))
    sm = dict(zip(map(tuple, sampled.observables["codes"]["patterns"]),
                  zip(sampled.observables["codes"]["fractions"],
                      sampled.stderr["codes"]["fractions"], strict=True), strict=True))
    for pattern in theory.observables["codes"]["patterns"][:3]:  # the leading codes
        (f1, e1), (f2, e2) = th[tuple(pattern)], sm.get(tuple(pattern), (0.0, 0.0))
        assert abs(f1 - f2) < _bound() * np.hypot(e1, e2), (pattern, f1, f2, e1, e2)
    rho, rho_sampled = (r.observables["coding_participation"] for r in (theory, sampled))
    rho_err = sampled.stderr["coding_participation"]
    if scheme == "sparse":
        assert rho < 0.1 * sparse_threshold(m) and rho < rho_sampled < sparse_threshold(m)
    else:
        assert rho > sparse_threshold(m)
        assert abs(rho - rho_sampled) < _bound() * rho_err, (rho, rho_sampled, rho_err)


#: samples per chain of the codes test (enough for split R̂ < 1.05 at N = 256)
SAMPLES_CODES = 300


def test_command_line_contract(run, tmp_path):
    """``solve``/``simulate`` with --inputs/--targets/--test: the issue's keys, strict JSON,
    named refusals with exit status 2."""
    x, y = np.sqrt(4.0) * np.eye(4), np.eye(2)[[0, 0, 1, 1]]
    for name, value in (("X.npy", x), ("Y.npy", y), ("Xs.npy", np.ones((2, 4))),
                        ("bad.npy", np.full((4, 2), 0.5)), ("short.npy", y[:3])):
        np.save(tmp_path / name, value)
    files = ["--inputs", str(tmp_path / "X.npy"), "--targets", str(tmp_path / "Y.npy"),
             "--test", str(tmp_path / "Xs.npy")]
    status, out, _ = run("solve", "bayes_linear", *files, "--json")
    data = json.loads(out)
    assert status == 0 and data["N"] is None
    assert np.shape(data["observables"]["readout_second_moment"]) == (2, 2)
    assert np.shape(data["observables"]["kernel_posterior"]) == (4, 4)
    assert np.shape(data["observables"]["prediction"]["variance"]) == (2, 2)
    status, out, _ = run("simulate", "bayes_relu", *files, "-N", "128", "--samples", "150",
                         "--json")
    data = json.loads(out)
    assert status == 0 and data["N"] == 128
    assert {"codes", "scheme", "prediction"} <= set(data["observables"])
    assert set(data["stderr"]) >= {"readout_second_moment", "kernel_posterior", "codes"}
    # too short a run is refused by split R̂ (a named ConvergenceError, exit status 2)
    status, _, err = run("simulate", "bayes_relu", *files, "-N", "128", "--samples", "4",
                         "--chains", "2", "--burn", "0", "--no-progress")
    assert status == 2 and "R̂" in err and err.count("\n") == 1
    status, _, err = run("solve", "bayes_relu", "--inputs", str(tmp_path / "X.npy"),
                         "--targets", str(tmp_path / "bad.npy"))
    assert status == 2 and "one-hot" in err and err.count("\n") == 1
    status, _, err = run("solve", "bayes_linear", "--inputs", str(tmp_path / "X.npy"),
                         "--targets", str(tmp_path / "short.npy"))
    assert status == 2 and "one target row per input pattern" in err
    for argv in (["sweep", "bayes_linear", "-p", "sigma_a=0.5:1:2"], ["verify", "bayes_relu"],
                 ["fixed-points", "bayes_erf"], ["codegen", "bayes_linear"],
                 ["solve", "bayes_linear", "--order", "1/N"],
                 ["simulate", "bayes_linear", "--trials", "3"]):
        status, _, err = run(*argv)  # a static model where dynamics are needed: by name
        assert status == 2 and "Bayesian posterior model" in err and err.count("\n") == 1
    status, _, err = run("solve", "scs", "--test", str(tmp_path / "Xs.npy"))
    assert status == 2 and "--test belongs to the Bayesian models" in err


def test_nonlinear_readout_with_parameters_in_every_term():
    """A declared erf readout c·a·erf(h) with σ_a = s·q (random, non-orthogonal inputs): the
    gain c can move from the readout into the prior, c·a ~ N(0, c²s²q²), so
    (c, s) = (1.5, 0.8) and (1, 1.2) are one network — c²A, the kernel and the prediction
    agree within the replicas' errors (Student's t with R − 1 degrees of freedom)."""
    from scipy.stats import t as student

    replicas, test = 6, np.ones((1, 7))
    model = declared(lambda a, h, c: c * a * sp.erf(h))
    one = solve_posterior(model, {"c": 1.5, "s": 0.8}, test=test,
                          options={"replicas": replicas})
    two = solve_posterior(model, {"c": 1.0, "s": 1.2}, test=test,
                          options={"replicas": replicas, "seed": 7})
    assert one.method == two.method == "posterior_sampled"
    bound = student.ppf(1 - 0.5e-3, replicas - 1)
    for get, scale in ((lambda o: np.diag(o["readout_second_moment"]), 1.5**2),
                       (lambda o: np.diag(o["kernel_posterior"]), 1.0),
                       (lambda o: np.asarray(o["prediction"]["mean"]), 1.0)):
        difference = scale * get(one.observables) - get(two.observables)
        error = np.hypot(scale * get(one.stderr), get(two.stderr))
        assert np.all(np.abs(difference / error) < bound), difference / error
