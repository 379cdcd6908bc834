"""Deep and recurrent networks as Gaussian processes (issue 14: layered IR, derived kernel
recursion, kernels, sampled networks, CLI).

Oracles: an independent mpmath recursion of the NNGP kernel written from the definition
(Segadlo et al., arXiv:2112.05589: K¹ = σ_u² XXᵀ/d + σ_b², K^{l+1} = σ_w² E_{K^l}[φφ] + σ_b²;
recurrent cross-time blocks K(s, t) = σ_w² E[φ(h^{s−1}) φ(h^{t−1})] + σ_b²), and exact
finite-N statements of sampled networks: the first layer is Gaussian and iid across units
at every N (mean K¹, N·Var K̂¹_ab = K¹_aa K¹_bb + (K¹_ab)²), and the second layer's mean
is σ_w² E[φφ] + σ_b² at every N (its weights are fresh).
"""

from __future__ import annotations

import itertools
import json

import mpmath
import numpy as np
import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.codegen.layered import L1, L2
from fieldtheory.errors import ModelFileError, ParameterError
from fieldtheory.gaussian.reference import mpmath_function
from fieldtheory.ir.layered import with_inputs

X3 = np.array([[1.0, -0.4, 0.3], [0.2, 0.9, -0.5], [-0.6, 0.1, 0.8]])
X2 = X3[:2]
VALUES = {"sigma_u": 1.2, "sigma_w": 1.4, "sigma_b": 0.3, "depth": 3}


def declare(shared: bool, phi, extra: dict | None = None, name: str = "net", inputs=X3):
    """A layered network declared here (not a shipped model): ``phi`` a function of h and
    of the parameter symbols, so that parameters can sit inside the nonlinearity."""
    p = ft.parameters(sigma_u=(1.0, "positive"), sigma_w=(1.5, "positive"),
                      sigma_b=(0.5, "nonnegative"), depth=(3, "positive_integer"),
                      **(extra or {}))
    su, sw, sb, depth = p.symbols[:4]
    h, n = ft.Field("h"), ft.n
    W, B, U, B1 = ft.Coupling("W"), ft.Coupling("B"), ft.Coupling("U"), ft.Coupling("B1")
    X = ft.Inputs("X", inputs)
    w, b = ft.Gaussian(variance=sw**2), ft.Gaussian(variance=sb**2)
    if not shared:
        w, b = ft.PerLayer(w), ft.PerLayer(b)
    action = ft.layered({h: W @ phi(h(n), p) + B @ 1}, {h: U @ X(n) + B1 @ 1},
                        couplings={W: w, B: b, U: ft.InputWeights(su**2),
                                   B1: ft.Gaussian(variance=sb**2)},
                        parameters=p, inputs=X, depth=depth)
    return ft.Model(name, action, "test network")


def _conditional(kind):
    """E[g(v) | u] for v | u ~ N(m, s²): closed forms in mpmath (erf(√π v/2), ReLU)."""
    if kind == "erf":
        a = mpmath.sqrt(mpmath.pi) / 2
        return lambda m, s: mpmath.erf(a * m / mpmath.sqrt(1 + 2 * a**2 * s**2))
    if kind == "relu":
        def relu(m, s):
            if s == 0:
                return max(m, 0)
            return m * mpmath.ncdf(m / s) + s * mpmath.npdf(m / s)
        return relu
    return None


def pair_expectation(kind, phi_expr, var_u, var_v, cov, dps=20):
    """E[φ(u) φ(v)], (u, v) ~ N(0, [[var_u, cov], [cov, var_v]]): for erf and ReLU an
    mpmath quadrature over u of φ(u) E[φ(v)|u] (the inner integral in closed form); else
    nested adaptive scipy quadrature (both independent of the runtime's rules)."""
    inner = _conditional(kind)
    if inner is not None:
        with mpmath.workdps(dps):
            u_sym = sp.Symbol("u", real=True)
            f = mpmath_function(phi_expr(u_sym), u_sym)
            su = mpmath.sqrt(var_u)
            slope = mpmath.mpf(cov) / var_u
            s = mpmath.sqrt(max(mpmath.mpf(var_v) - slope * cov, 0))
            return float(mpmath.quad(lambda z: mpmath.npdf(z) * f(su * z)
                                     * inner(slope * su * z, s), [-mpmath.inf, 0, mpmath.inf]))
    from scipy.integrate import quad

    u_sym = sp.Symbol("u", real=True)
    f = sp.lambdify(u_sym, phi_expr(u_sym), modules=[{"ReLU": lambda x: max(x, 0.0)},
                                                      "math"])
    su = np.sqrt(var_u)
    slope = cov / var_u
    s = np.sqrt(max(var_v - slope * cov, 0.0))
    gauss = lambda z: np.exp(-z * z / 2) / np.sqrt(2 * np.pi)  # noqa: E731

    def outer(z1):
        v0 = slope * su * z1
        value = quad(lambda z2: gauss(z2) * f(v0 + s * z2), -12, 12, epsabs=1e-12,
                     epsrel=1e-11, limit=200)[0]
        return gauss(z1) * f(su * z1) * value

    return quad(outer, -12, 12, epsabs=1e-12, epsrel=1e-11, limit=200)[0]


def oracle(phi_expr, values, X, shared: bool, kind: str = ""):
    """K[s, t] (layers 1 … depth) by a recursion from the definition."""
    depth = int(values["depth"])
    su2, sw2, sb2 = (values[k] ** 2 for k in ("sigma_u", "sigma_w", "sigma_b"))
    P = len(X)
    K = np.zeros((depth, depth, P, P))
    K[0, 0] = su2 * X @ X.T / X.shape[1] + sb2
    for s in range(1, depth):
        for t in range(1, s + 1):
            if not shared and s != t:
                continue
            for a in range(P):
                for b in range(P):
                    e = pair_expectation(kind, phi_expr, K[s - 1, s - 1][a, a],
                                         K[t - 1, t - 1][b, b], K[s - 1, t - 1][a, b])
                    K[s, t][a, b] = sw2 * e + sb2
            K[t, s] = K[s, t].T
    return K


PHIS = {
    "erf": (lambda u, p=None: ft.erf_sqrtpi(u), "closed form"),
    "relu": (lambda u, p=None: ft.relu(u), "closed form"),
    "tanh": (lambda u, p=None: ft.tanh(u), "quadrature"),
}


@pytest.mark.parametrize("shared", [False, True], ids=["deep", "recurrent"])
@pytest.mark.parametrize("name", sorted(PHIS))
def test_kernels_against_an_mpmath_recursion(name, shared):
    phi, _ = PHIS[name]
    theory = ft.solve(declare(shared, phi, inputs=X2), VALUES)
    expected = oracle(phi, VALUES, X2, shared, name)
    equal = np.array(theory.observables["kernel"]["values"])
    np.testing.assert_allclose(equal, expected[np.arange(3), np.arange(3)], rtol=0,
                               atol=1e-10)
    # correlated layers (shared weights) only: the two-time kernel
    assert ("kernel_cross" in theory.observables) == shared
    if shared:
        K = np.array(theory.observables["kernel_cross"]["values"])
        np.testing.assert_allclose(K, expected, rtol=0, atol=1e-10)
        np.testing.assert_array_equal(equal, K[np.arange(3), np.arange(3)])
    assert theory.branch == "layered" and theory.method == "kernel_recursion"


def test_a_declared_variant_with_parameters_inside_the_nonlinearity():
    """φ(h) = a·ReLU(h) + c·tanh(h): closed form for one part, quadrature for the other,
    both with parameters the derivation must carry into the kernel."""
    extra = {"a": (0.7, "positive"), "c": (0.4, "real")}

    def phi(u, p=None):
        a, c = (sp.Symbol(k, real=True) for k in ("a", "c"))
        return a * ft.relu(u) + c * ft.tanh(u)

    values = {**VALUES, "a": 0.7, "c": 0.4}
    K = np.array(ft.solve(declare(True, phi, extra, inputs=X2), values)
                 .observables["kernel_cross"]["values"])

    def numeric(u):
        return 0.7 * ft.relu(u) + 0.4 * ft.tanh(u)

    np.testing.assert_allclose(K, oracle(numeric, values, X2, True), atol=1e-9)


def test_the_derivation_is_layer_local_for_deep_and_two_time_for_recurrent():
    deep = ft.derive(declare(False, PHIS["erf"][0]))
    recurrent = ft.derive(declare(True, PHIS["erf"][0]))
    n, m = ft.n, deep.mean_field.processes[0].second_time
    same = sp.KroneckerDelta(ft.Layer(n), ft.Layer(m))
    assert deep.mean_field.processes[0].input_covariance[0, 0].has(same)
    assert not recurrent.mean_field.processes[0].input_covariance[0, 0].has(same)
    # the order parameter is the same two-time C_φ over (pattern, layer) points
    assert [q.name for q in deep.mean_field.order_parameters] == [
        q.name for q in recurrent.mean_field.order_parameters]
    # equal-time kernels: the derived coefficients agree term by term at l = l'
    for a, b in zip(deep.site.terms, recurrent.site.terms, strict=True):
        assert (a.kind, a.left, a.right) == (b.kind, b.left, b.right)
        at_equal = {L2: L1}
        assert sp.simplify((a.coefficient - b.coefficient).xreplace(at_equal)) == 0
        assert sp.simplify(a.coefficient - b.coefficient) != 0 or a.kind == "data"
    assert [s.name for s in deep.stages] == ["action", "disorder_average",
                                             "collective_fields", "saddle_point", "site"]


@pytest.mark.parametrize("model", ["deep", "deep_relu"])
def test_shipped_deep_and_recurrent_have_equal_equal_time_kernels(model):
    deep = ft.solve(model, {"depth": 5})
    recurrent = ft.solve(model.replace("deep", "recurrent"), {"depth": 5})
    np.testing.assert_allclose(recurrent.observables["kernel"]["values"],
                               deep.observables["kernel"]["values"], rtol=1e-14, atol=0)
    assert "kernel_cross" not in deep.observables  # independent layers
    assert np.any(np.array(recurrent.observables["kernel_cross"]["values"])[1, 2] != 0)


@pytest.mark.parametrize("shared", [False, True], ids=["deep", "recurrent"])
def test_sampled_networks_match_the_exact_finite_width_statements(shared):
    """Layers 1 and 2 of sampled networks at N = 24: means and the first layer's N·Var
    are exact at every N, so they must agree within the standard errors (|z| ≤ 4)."""
    model = declare(shared, PHIS["erf"][0])
    values = {**VALUES, "depth": 2}
    theory = np.array(ft.solve(model, values).observables["kernel"]["values"])
    sim = ft.simulate(model, values, N=24, trials=3000, seed=3)
    mean = np.array(sim.observables["kernel"]["values"])
    error = np.array(sim.stderr["kernel"]["values"])
    z = (mean - theory) / error
    assert np.all(np.abs(z) <= 4), z
    K1 = theory[0]
    exact = np.outer(np.diag(K1), np.diag(K1)) + K1**2
    nvar = np.array(sim.observables["kernel_variance"]["values"])[0]
    nvar_error = np.array(sim.stderr["kernel_variance"]["values"])[0]
    assert np.all(np.abs((nvar - exact) / nvar_error) <= 4)


def test_simulation_is_reproducible_and_trials_are_checked():
    model = declare(True, PHIS["relu"][0])
    a = ft.simulate(model, N=8, trials=5, seed=2).to_json()
    b = ft.simulate(model, N=8, trials=5, seed=2).to_json()
    assert a == b
    with pytest.raises(ft.errors.SimulationError, match="trials"):
        ft.simulate(model, N=8, trials=1)


def test_bad_inputs_get_named_errors(tmp_path):
    from fieldtheory.ir.layered import load_inputs

    with pytest.raises(ModelFileError, match="no such file"):
        load_inputs(tmp_path / "missing.npy")
    ragged = tmp_path / "ragged.txt"
    ragged.write_text("1 2 3\n4 5\n")
    with pytest.raises(ModelFileError, match="not a table"):
        load_inputs(ragged)
    nan = tmp_path / "nan.csv"
    nan.write_text("1,2\nnan,3\n")
    with pytest.raises(ModelFileError, match=r"entry \(1, 0\) is nan"):
        load_inputs(nan)
    for shape in [(4,), (2, 2, 2)]:
        np.save(tmp_path / "wrong.npy", np.ones(shape))
        with pytest.raises(ModelFileError, match="P × d"):
            load_inputs(tmp_path / "wrong.npy")
    with pytest.raises(ModelFileError, match="finite"):
        ft.Inputs("X", [[1.0, np.inf]])
    with pytest.raises(ParameterError, match="depth"):
        ft.solve("deep", {"depth": 0})
    with pytest.raises(ParameterError, match="depth"):
        ft.solve("deep", {"depth": 2.5})
    with pytest.raises(ft.errors.DeclarationError, match="not a layered"):
        with_inputs(ft.load_model("scs"), X3)


def test_inputs_replace_the_data_set_and_csv_reads(tmp_path):
    path = tmp_path / "x.csv"
    np.savetxt(path, X3, delimiter=",")
    from fieldtheory.ir.layered import load_inputs

    model = with_inputs(ft.load_model("deep"), load_inputs(path))
    K = np.array(ft.solve(model, {"depth": 1}).observables["kernel"]["values"])[0]
    np.testing.assert_allclose(K, 1.0 * X3 @ X3.T / 3 + 0.25, atol=1e-14)


def test_cli_solve_and_simulate_with_inputs(tmp_path, capsys):
    from fieldtheory.cli import main

    path = tmp_path / "x.npy"
    np.save(path, X3)
    assert main(["solve", "recurrent", "--inputs", str(path), "-p", "depth=2",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert np.shape(data["observables"]["kernel"]["values"]) == (2, 3, 3)
    assert np.shape(data["observables"]["kernel_cross"]["values"]) == (2, 2, 3, 3)
    assert main(["simulate", "deep", "--inputs", str(path), "-N", "16", "--trials", "20",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["stderr"]) == {"kernel", "kernel_cross", "kernel_variance"}
    assert main(["solve", "deep", "--inputs", str(tmp_path / "no.npy")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_kernel_observables_round_trip():
    obs = ft.solve("recurrent").observables
    again = type(obs).from_dict(json.loads(json.dumps(obs.to_dict())))
    np.testing.assert_array_equal(again["kernel_cross"]["values"],
                                  obs["kernel_cross"]["values"])


def test_mpmath_oracle_is_itself_exact_on_the_first_layer():
    """The oracle's first layer is the data kernel (no integral): a check of the oracle."""
    K = oracle(PHIS["erf"][0], {**VALUES, "depth": 1}, X3, False, "erf")
    np.testing.assert_allclose(K[0, 0], 1.44 * X3 @ X3.T / 3 + 0.09, atol=1e-15)


# --- GP inference (item 5) ------------------------------------------------------------------

def _data(seed=4, P=12, Ps=6):
    rng = np.random.default_rng(seed)
    X, Xs = rng.standard_normal((P, 3)), rng.standard_normal((Ps, 3))
    label = lambda x: (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)  # noqa: E731
    return X, np.eye(2)[label(X)], Xs, np.eye(2)[label(Xs)]


def test_gp_prediction_against_a_direct_numpy_solve():
    from fieldtheory.gp import predict

    X, Y, Xs, Ys = _data()
    noise = 0.05
    result = predict("deep_relu", X, Y, Xs, test_targets=Ys, noise=noise,
                     params={"depth": 4})
    K = np.array(ft.solve(with_inputs(ft.load_model("deep_relu"), np.vstack([X, Xs])),
                          {"depth": 4}).observables["kernel"]["values"])[-1]
    P = len(X)
    A = K[:P, :P] + noise * np.eye(P)
    mean = K[P:, :P] @ np.linalg.solve(A, Y)
    variance = np.diag(K[P:, P:] - K[P:, :P] @ np.linalg.solve(A, K[:P, P:]))
    np.testing.assert_allclose(result.mean, mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(result.variance, variance, rtol=1e-9, atol=1e-12)
    wrong = np.argmax(mean, axis=1) != np.argmax(Ys, axis=1)
    assert result.error == pytest.approx(np.mean(wrong))
    data = json.loads(json.dumps(result.to_json()))
    assert set(data) >= {"mean", "variance", "error"}


@pytest.mark.parametrize("pair", [("deep", "recurrent"), ("deep_relu", "recurrent_relu")])
def test_deep_and_recurrent_networks_predict_the_same(pair):
    from fieldtheory.gp import predict

    X, Y, Xs, _ = _data(seed=5)
    a, b = (predict(name, X, Y, Xs, noise=0.01, params={"depth": 5}) for name in pair)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(a.variance, b.variance, rtol=1e-12, atol=1e-13)


def test_gp_refusals_are_named():
    from fieldtheory.gp import predict

    X, Y, Xs, Ys = _data()
    with pytest.raises(ModelFileError, match="target rows"):
        predict("deep", X, Y[:-1], Xs)
    with pytest.raises(ModelFileError, match="same number of columns"):
        predict("deep", X, Y, Xs[:, :2])
    with pytest.raises(ModelFileError, match="test targets"):
        predict("deep", X, Y, Xs, test_targets=Ys[:-1])
    with pytest.raises(ParameterError, match="not a layered"):
        predict("scs", X, Y, Xs)
    with pytest.raises(ParameterError, match="singular"):
        predict("deep", np.vstack([X, X[:1]]), np.vstack([Y, Y[:1]]), Xs)


def test_cli_predict(tmp_path, capsys):
    from fieldtheory.cli import main

    X, Y, Xs, Ys = _data()
    for name, value in dict(X=X, Y=Y, Xs=Xs, Ys=Ys).items():
        np.save(tmp_path / f"{name}.npy", value)
    argv = ["predict", "recurrent", "--inputs", str(tmp_path / "X.npy"), "--targets",
            str(tmp_path / "Y.npy"), "--test", str(tmp_path / "Xs.npy"), "--test-targets",
            str(tmp_path / "Ys.npy"), "--noise", "0.1", "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert np.shape(data["mean"]) == (len(Xs), 2) and len(data["variance"]) == len(Xs)
    assert 0 <= data["error"] <= 1


def test_the_fluctuation_stage_derives_for_layered_networks():
    """derive --order 1/N gives the Hessian, with the per-layer δ in the explicit block."""
    text = str(ft.derive("deep", order="1/N").fluctuations)
    assert "δ(l(m), l(n))" in text and "⟨" in text
    with pytest.raises(ParameterError, match="alone"):
        ft.solve("deep", order="1/N", loops=1)
    with pytest.raises(ParameterError, match="positive integer"):
        ft.solve("deep", order="1/N", N=2.5)
    with pytest.raises(ParameterError, match="at most 12"):
        ft.solve("deep", {"depth": 4}, order="1/N")  # 4 patterns × 4 layers


def _variance(model, values):
    result = ft.solve(model, values, order="1/N")
    correction = result.observables["kernel_correction"]
    assert correction["bias"].shape == correction["variance"].shape
    return np.array(correction["variance"]), np.array(result.observables["kernel"]["values"])


def test_kernel_variance_of_deep_linear_networks_against_the_wick_recursion():
    """φ = identity (declared here), fresh weights per layer: given layer l the next one is
    Gaussian with covariance Ĝ = σ_w² K̂^l + σ_b², so at leading order N·Cov K̂^{l+1} =
    Wick(K^{l+1}) + σ_w⁴ N·Cov K̂^l — an exact recursion written here, every entry (the
    four-point functions of a linear φ are polynomial: the rule is exact)."""
    model = declare(False, lambda u, p=None: u, name="linear_net", inputs=X2)
    values = {**VALUES, "depth": 3}
    V, K = _variance(model, values)
    sw2 = values["sigma_w"] ** 2
    P = len(X2)
    cov = np.zeros((P, P, P, P))  # N·Cov(K̂_ab, K̂_cd), layer by layer
    for layer in range(3):
        G = K[layer]
        wick = np.einsum("ac,bd->abcd", G, G) + np.einsum("ad,bc->abcd", G, G)
        cov = wick + (sw2**2 * cov if layer else 0)
        expected = np.einsum("abab->ab", cov)
        np.testing.assert_allclose(V[layer], expected, rtol=1e-6, atol=1e-9)


def test_kernel_variance_of_the_first_layer_is_wick():
    V, K = _variance(declare(False, PHIS["tanh"][0], inputs=X2), {**VALUES, "depth": 2})
    K1 = K[0]
    np.testing.assert_allclose(V[0], np.outer(np.diag(K1), np.diag(K1)) + K1**2,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shared", [False, True], ids=["deep", "recurrent"])
def test_kernel_variance_against_sampled_networks_extrapolated_in_1_over_n(shared):
    """N·Var K̂ of sampled erf networks at N = 32, 64, 128 (4000 draws each), fitted as
    V + C/N by weighted least squares: the intercept V must agree with the theory within
    4 of its standard errors for every entry of layers 2 and 3."""
    model = declare(shared, PHIS["erf"][0], inputs=X2)
    values = {**VALUES, "depth": 3}
    V, _ = _variance(model, values)
    sizes = np.array([32, 64, 128])
    sims = [ft.simulate(model, values, N=int(n), trials=4000, seed=11) for n in sizes]
    y = np.array([s.observables["kernel_variance"]["values"] for s in sims])
    e = np.array([s.stderr["kernel_variance"]["values"] for s in sims])
    A = np.stack([np.ones(3), 1.0 / sizes], 1)
    for index in itertools.product(range(1, 3), range(2), range(2)):
        w = 1 / e[(slice(None), *index)] ** 2
        cov = np.linalg.inv(A.T @ (w[:, None] * A))
        intercept = (cov @ A.T @ (w * y[(slice(None), *index)]))[0]
        assert abs(intercept - V[index]) <= 4 * np.sqrt(cov[0, 0]), (index, intercept, V)


def test_recurrent_and_deep_variances_differ_as_the_theory_says():
    """Layer 2 is the weights' first use in both (equal variances); at layer 3 the shared
    weights change N·Var K̂, by more than the four-point rule's accuracy (≤ 3e-4 at 20
    nodes here, from the convergence in the runtime's notes) — for a linear network too,
    where the rule is exact."""
    deep, _ = _variance(declare(False, PHIS["erf"][0], inputs=X2), {**VALUES, "depth": 3})
    rec, _ = _variance(declare(True, PHIS["erf"][0], inputs=X2), {**VALUES, "depth": 3})
    np.testing.assert_allclose(deep[:2], rec[:2], rtol=1e-10)
    assert np.all(np.abs(rec[2] - deep[2]) > 1e-2)
    linear = [_variance(declare(shared, lambda u, p=None: u, name="lin", inputs=X2),
                        {**VALUES, "depth": 3})[0] for shared in (False, True)]
    assert np.all(np.abs(linear[1][2] - linear[0][2]) > 1e-2)


def _gaussian_moment(expr, z) -> float:
    """E[expr] for z iid standard normal, expr a polynomial in z (exact moments (k−1)!!)."""
    total = sp.Integer(0)
    for powers, c in sp.Poly(sp.expand(expr), *z).terms():
        if any(k % 2 for k in powers):
            continue
        total += c * sp.prod([sp.factorial2(k - 1) if k else 1 for k in powers])
    return float(total)


def test_kernel_bias_of_a_deep_quadratic_network_is_exact_at_layer_3():
    """φ(h) = h + αh² (declared here, α inside φ), fresh weights per layer: given layer 2
    the third is Gaussian with covariance Σ = σ_w² M + σ_b², M = (1/N) Σ_i φφ(h¹_i), and
    E_Σ[φ_aφ_b] = Σ_ab + α²(Σ_aa Σ_bb + 2Σ_ab²) is quadratic in Σ, so at every N exactly
    N(E K̂³_ab − K³_ab) = σ_w⁶ α² [Cov(φ_a², φ_b²) + 2 Var(φ_aφ_b)] under h¹ ~ N(0, K¹) —
    its Gaussian moments here exact in sympy, against the one-loop mean shift."""
    alpha = 0.3
    model = declare(False, lambda u, p: u + p.symbols[4] * u**2,
                    {"alpha": (alpha, "real")}, name="quadratic", inputs=X2)
    values = {**VALUES, "depth": 3, "alpha": alpha}
    result = ft.solve(model, values, order="1/N")
    bias = np.array(result.observables["kernel_correction"]["bias"])
    su2, sw2, sb2 = (values[k] ** 2 for k in ("sigma_u", "sigma_w", "sigma_b"))
    K1 = su2 * X2 @ X2.T / X2.shape[1] + sb2
    z = sp.symbols("z1 z2")
    L = sp.Matrix(np.linalg.cholesky(K1))
    h = L * sp.Matrix(z)
    phi = [h[a] + alpha * h[a] ** 2 for a in range(2)]
    exact = np.zeros((2, 2))
    for a, b in itertools.product(range(2), repeat=2):
        moment = lambda e: _gaussian_moment(e, z)  # noqa: E731
        fourth = moment(phi[a] ** 2 * phi[b] ** 2)
        cov = fourth - moment(phi[a] ** 2) * moment(phi[b] ** 2)
        var = fourth - moment(phi[a] * phi[b]) ** 2
        exact[a, b] = sw2**3 * alpha**2 * (cov + 2 * var)
    np.testing.assert_allclose(bias[2], exact, rtol=1e-6)
    np.testing.assert_allclose(bias[:2], 0, atol=1e-12)  # layers 1 and 2: exact means


def _fit(sizes, y, e):
    """Weighted least squares y = B + C/N per entry: (B, its standard error)."""
    A = np.stack([np.ones(len(sizes)), 1.0 / np.asarray(sizes, float)], 1)
    w = 1 / e**2
    cov = np.linalg.inv(np.einsum("n...,ni,nj->...ij", w, A, A))
    rhs = np.einsum("n...,ni,n...->...i", w, A, y)
    return np.einsum("...ij,...j->...i", cov, rhs)[..., 0], np.sqrt(cov[..., 0, 0])


def test_kernel_bias_against_sampled_networks_extrapolated_in_1_over_n():
    """ReLU networks at depth 5 on two inputs, N = 16 … 128 with 100·N draws: N·(mean K̂ −
    K) fitted as B + C/N per entry; B must agree with the theory's bias within 4 of its
    standard errors at the last layer (and, recurrent, for the two-time kernel K(5, 4)).
    The theory says the shared weights shift the diagonal by ≈ 5.4 where independent ones
    give 0 (a ReLU network's E[φ²] is linear in the variance), ≈ 11 standard errors of
    the fit: the recurrent fit must be more than 4 of them from the deep theory."""
    values = {**VALUES, "sigma_w": 1.4, "sigma_b": 0.3, "depth": 5}
    sizes = [16, 32, 64, 128]
    fits = {}
    for shared in (False, True):
        model = declare(shared, PHIS["relu"][0], inputs=X2, name="relu_net")
        theory = ft.solve(model, values, order="1/N").observables
        K = np.array(theory["kernel_cross" if shared else "kernel"]["values"])
        correction = theory["kernel_correction"]
        bias = np.array(correction["bias_cross" if shared else "bias"])
        key = "kernel_cross" if shared else "kernel"
        y, e = [], []
        for n in sizes:
            sim = ft.simulate(model, values, N=n, trials=100 * n, seed=5)
            y.append(n * (np.array(sim.observables[key]["values"]) - K))
            e.append(n * np.array(sim.stderr[key]["values"]))
        B, se = _fit(sizes, np.array(y), np.array(e))
        last = (4, 4) if shared else (4,)
        assert np.all(np.abs(B[last] - bias[last]) <= 4 * se[last]), (B[last], bias[last])
        if shared:
            assert np.all(np.abs(B[4, 3] - bias[4, 3]) <= 4 * se[4, 3]), (B[4, 3], bias[4, 3])
            np.testing.assert_allclose(bias[4, 4], correction["bias"][4], rtol=1e-12)
        fits[shared] = (B[last], se[last], np.array(correction["bias"])[4])
    B, se, _ = fits[True]
    deep_theory = fits[False][2]
    assert np.all(np.abs(np.diag(B) - np.diag(deep_theory)) > 4 * np.diag(se))


def test_finite_width_kernels_at_a_given_n():
    """``-N``: kernel (and kernel_cross) = K + bias/N, kernel_variance = the leading N·Var,
    the N → ∞ kernels under ``leading_order``; a linear deep network has no mean shift."""
    result = ft.solve("recurrent", order="1/N", N=50)
    obs, lead = result.observables, result.leading_order
    correction = obs["kernel_correction"]
    np.testing.assert_allclose(obs["kernel"]["values"],
                               np.array(lead["kernel"]["values"]) + correction["bias"] / 50)
    np.testing.assert_allclose(obs["kernel_cross"]["values"],
                               np.array(lead["kernel_cross"]["values"])
                               + correction["bias_cross"] / 50)
    np.testing.assert_array_equal(obs["kernel_variance"]["values"], correction["variance"])
    data = result.to_json()
    assert data["N"] == 50 and "leading_order" in data
    linear = declare(False, lambda u, p=None: u, name="linear_net", inputs=X2)
    bias = ft.solve(linear, VALUES, order="1/N").observables["kernel_correction"]["bias"]
    np.testing.assert_allclose(bias, 0, atol=1e-6)


def test_shared_weights_are_sampled_only_where_they_act():
    """The recurrent sampler's W (three trials at once, each its own W): the same vector
    twice gives the same image, a linear combination the same combination of images, and
    the images of orthonormal vectors have variance σ²/N per entry; a vector new in one
    trial only (zero in the others) adds a direction there and a zero row elsewhere."""
    from fieldtheory.simulate.layered import _Sequential

    rng = np.random.default_rng(0)
    N, B = 4000, 3
    W = _Sequential(0.0, 2.0)
    F = rng.standard_normal((B, 2, N))
    first = W.times(F, rng)
    again = W.times(np.stack([F[:, 0], 3 * F[:, 0] - F[:, 1], F[:, 1]], axis=1), rng)
    np.testing.assert_allclose(again, np.stack([first[:, 0], 3 * first[:, 0] - first[:, 1],
                                                first[:, 1]], axis=1), atol=1e-9)
    assert W.basis.shape == (B, 2, N)  # nothing new was drawn
    for k in range(B):
        np.testing.assert_allclose(W.basis[k] @ W.basis[k].T, np.eye(2), atol=1e-12)
    z = W.image.ravel() / np.sqrt(2.0 / N)  # 2BN standard normals
    assert abs(z.var() - 1) < 4 * np.sqrt(2 / z.size)
    assert not np.allclose(first[0], first[1])  # the trials' W are independent
    third = np.zeros((B, 1, N))
    third[1, 0] = rng.standard_normal(N)
    image = W.times(third, rng)
    assert W.basis.shape == (B, 3, N) and not W.basis[[0, 2], 2].any()
    assert not image[[0, 2]].any() and np.linalg.norm(image[1]) > 0
    np.testing.assert_allclose(W.basis[1] @ W.basis[1].T, np.eye(3), atol=1e-12)


def test_dense_shared_weights_sample_what_the_sequential_sampler_does(monkeypatch):
    """The batched simulator's dense route (an N × N matrix per trial, stacked: what a
    non-Gaussian or partially symmetric shared ensemble takes) against the sequential
    sampler of the same iid Gaussian W (recurrent erf network, N = 24, 2000 draws each):
    every entry of the two-time kernel within 4 combined standard errors."""
    import sys

    model = declare(True, PHIS["erf"][0], inputs=X2, name="recurrent_erf")
    sequential = ft.simulate(model, {"depth": 3}, N=24, trials=2000, seed=1)
    layered = sys.modules["fieldtheory.simulate.layered"]
    monkeypatch.setattr(layered, "_gaussian", lambda ensemble, values: None)
    dense = ft.simulate(model, {"depth": 3}, N=24, trials=2000, seed=2)
    a, b = (np.array(r.observables["kernel_cross"]["values"]) for r in (sequential, dense))
    ea, eb = (np.array(r.stderr["kernel_cross"]["values"]) for r in (sequential, dense))
    assert np.all(np.abs(a - b) <= 4 * np.hypot(ea, eb))
    assert not np.allclose(a, b)  # two independent samples, not one route twice


def test_large_kernels_go_to_an_npz_file(tmp_path, capsys):
    """CLI.md: arrays too large for JSON go to --output FILE.npz, the JSON keeping a
    summary; without it a result above the limit is refused by name (exit 2)."""
    from fieldtheory.cli import main
    from fieldtheory.cli.base import ARRAY_LIMIT

    X = np.random.default_rng(0).standard_normal((120, 5))
    np.save(tmp_path / "x.npy", X)
    argv = ["solve", "recurrent", "--inputs", str(tmp_path / "x.npy"), "-p", "depth=3",
            "--json"]
    assert 9 * 120**2 + 3 * 120**2 > ARRAY_LIMIT
    assert main(argv) == 2
    assert "--output" in capsys.readouterr().err
    out = tmp_path / "k.npz"
    assert main([*argv, "--output", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    summary = data["observables"]["kernel_cross"]["values"]
    arrays = np.load(out)
    K = arrays[summary["key"]]
    assert list(K.shape) == summary["shape"] == [3, 3, 120, 120]
    assert summary["max"] == pytest.approx(K.max())
    theory = ft.solve(with_inputs(ft.load_model("recurrent"), X), {"depth": 3})
    np.testing.assert_array_equal(K, theory.observables["kernel_cross"]["values"])


def test_verify_compares_kernels_and_a_wrong_theory_fails():
    """verify: every kernel entry of the theory against sampled networks (N = 400, 16
    draws); the theory at another σ_w (a negative control) must fail."""
    report, _, _ = ft.verify("recurrent", {"depth": 3}, N=400, trials=16)
    names = {row.observable.split("[")[0] for row in report.comparisons}
    assert names == {"kernel", "kernel_cross"} and report.passed, report.table()
    wrong, _, _ = ft.verify("recurrent", {"depth": 3}, theory_params={"depth": 3,
                                                                      "sigma_w": 1.3},
                            N=400, trials=16)
    assert not wrong.passed


def test_the_generated_module_runs_alone_and_matches_solve(tmp_path):
    """`fieldtheory codegen recurrent`: a numpy/scipy file that prints the kernels of the
    model's own inputs, equal to ft.solve; it refuses a non-integer depth by name."""
    import subprocess
    import sys

    path = ft.generate("recurrent").save(tmp_path / "solver.py")
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run([sys.executable, "-I", str(path), "depth=3"], cwd=empty,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    theory = ft.solve("recurrent", {"depth": 3}).observables
    np.testing.assert_array_equal(data["kernel_cross"]["values"],
                                  theory["kernel_cross"]["values"])
    done = subprocess.run([sys.executable, "-I", str(path), "depth=2.5"], cwd=empty,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "depth" in done.stderr


def test_a_sweep_of_a_layered_network_is_refused_by_name():
    with pytest.raises(ParameterError, match="layered network"):
        ft.sweep("deep", {"sigma_w": [1.0, 2.0]})


def test_what_a_layered_network_does_not_have_is_refused_by_name():
    with pytest.raises(ParameterError, match="layered network"):
        ft.solve_transient("deep", {}, t_max=5)
    with pytest.raises(ft.errors.SimulationError, match="not available"):
        ft.simulate("deep", observe=("dimension",), N=10, trials=2)


@pytest.mark.parametrize("name", ["deep", "deep_relu"])
def test_nngp_kernel_against_neural_tangents(name):
    """neural-tangents' NNGP kernel of the same architecture (standard parameterisation:
    Dense(W_std, b_std) draws W ~ N(0, W_std²/fan_in)), where it is installed — an
    independent implementation; skipped otherwise (the core does not depend on JAX)."""
    nt = pytest.importorskip("neural_tangents", exc_type=ImportError)
    stax = nt.stax
    values = {**VALUES, "depth": 4}
    su, sw, sb = values["sigma_u"], values["sigma_w"], values["sigma_b"]
    phi = (stax.Erf(a=1.0, b=float(np.sqrt(np.pi) / 2)) if name == "deep"
           else stax.Relu())
    layers = [stax.Dense(1, W_std=su, b_std=sb, parameterization="standard")]
    for _ in range(values["depth"] - 1):
        layers += [phi, stax.Dense(1, W_std=sw, b_std=sb, parameterization="standard")]
    _, _, kernel_fn = stax.serial(*layers)
    reference = np.asarray(kernel_fn(X3, X3, "nngp"), dtype=float)
    ours = np.array(ft.solve(with_inputs(ft.load_model(name), X3), values)
                    .observables["kernel"]["values"])[-1]
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)  # JAX: float32


def test_an_update_that_depends_on_the_layer_is_derived_and_simulated():
    """A declared variant whose weights are doubled at the step that makes layer 2,
    h(2) = 2·W φ(h(1)) + b: the derivation carries the layer dependence into the
    coefficient (4σ_w² at l = 1 only), and sampled networks follow it (layer 2's mean is
    exact at every N: fresh weights)."""
    p = ft.parameters(sigma_u=(1.0, "positive"), sigma_w=(1.5, "positive"),
                      sigma_b=(0.5, "nonnegative"), depth=(3, "positive_integer"))
    su, sw, sb, depth = p.symbols
    h, n = ft.Field("h"), ft.n
    W, B, U, B1 = ft.Coupling("W"), ft.Coupling("B"), ft.Coupling("U"), ft.Coupling("B1")
    X = ft.Inputs("X", X2)
    boost = 1 + sp.KroneckerDelta(ft.Layer(n), 1)
    action = ft.layered({h: boost * (W @ ft.erf_sqrtpi(h(n))) + B @ 1},
                        {h: U @ X(n) + B1 @ 1},
                        couplings={W: ft.PerLayer(ft.Gaussian(variance=sw**2)),
                                   B: ft.PerLayer(ft.Gaussian(variance=sb**2)),
                                   U: ft.InputWeights(su**2),
                                   B1: ft.Gaussian(variance=sb**2)},
                        parameters=p, inputs=X, depth=depth)
    model = ft.Model("boosted", action, "test network")
    K = np.array(ft.solve(model).observables["kernel"]["values"])
    plain = np.array(ft.solve(declare(False, PHIS["erf"][0], inputs=X2),
                              {"sigma_u": 1.0, "sigma_w": 1.5, "sigma_b": 0.5,
                               "depth": 2}).observables["kernel"]["values"])
    np.testing.assert_allclose(K[1] - 0.25, 4 * (plain[1] - 0.25), rtol=1e-12)
    sim = ft.simulate(model, N=24, trials=3000, seed=4)
    z = ((np.array(sim.observables["kernel"]["values"])[:2] - K[:2])
         / np.array(sim.stderr["kernel"]["values"])[:2])
    assert np.all(np.abs(z) <= 4), z
