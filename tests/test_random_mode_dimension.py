r"""The dimension of activity of random-mode networks (issue 13, items 1–2, uncorrelated modes).

J = Σ_a d_a l_a r_aᵀ (Clark, Marschall, van Meegen & Litwin-Kumar, arXiv:2409.01969). The
ensemble's fourth cumulant, (α r₄/4N³) tr[(XXᵀ)²], is written in collective fields
(:mod:`fieldtheory.transforms.trace_cumulants`) and enters the Hessian as
H[δC_x̃, δC_x̃] = (α r₄/2) C_φ C_φ; the generic fluctuation runtime then gives PR/N. Checks:

* the stage: the new block, its coefficient α r₄/2 = g⁴⟨s⁴⟩/(2α⟨s²⟩²);
* linear networks with random-mode couplings (sampled by the ensemble itself) against
  their exact finite-N Lyapunov covariances;
* the limits: α PR_D → ∞ gives the iid result (to 1e-6), α PR_D → 0 gives PR ∝ α PR_D;
* two-point functions depend on g_eff only.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy as sp
from support.lyapunov import stationary_covariance

import fieldtheory as ft

x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
a, M = ft.MODE_INDEX, ft.MODE_COUNT


def _model(name: str, phi, noise: bool):
    p = ft.parameters(g=(2.0, "positive"), alpha=(1.0, "positive"),
                      beta=(3.0, "positive"), D=(0.0, "nonnegative"))
    g, alpha, beta, D = p.symbols
    ensemble = ft.RandomMode(alpha=alpha, spectrum=sp.exp(-beta * (a - sp.Rational(1, 2)) / M),
                             gain=g)
    drift = -x(t) + J @ (phi(x(t)) if phi is not None else x(t))
    model = ft.Model(name, ft.langevin({x: drift}, {x: D} if noise else {}, {J: ensemble}, p),
                     "random modes, uncorrelated")
    return model, ensemble


def test_the_fourth_cumulant_enters_the_hessian_with_r4():
    model, _ = _model("rm_erf", ft.erf_sqrtpi, noise=False)
    stage = ft.derive(model, order="1/N").fluctuations
    block = stage.block("C_x~", "C_x~")
    values = {s: v for s, v in zip(model.parameters.symbols, (2.0, 0.7, 3.0, 0.0),
                                   strict=True)}
    coefficient = float(block.explicit.as_independent(
        *block.explicit.atoms(ft.transforms.OrderParameterValue), as_Add=False)[0]
        .xreplace(values))
    beta = 3.0
    s2 = (1 - math.exp(-2 * beta)) / (2 * beta)  # ⟨s²⟩ of s(u) = e^{−βu}
    s4 = (1 - math.exp(-4 * beta)) / (4 * beta)
    assert coefficient == pytest.approx(2.0**4 * s4 / (2 * 0.7 * s2**2), rel=1e-12)
    assert "C_erf(t4, t)*C_erf(s, t3)" in str(block)
    # a Gaussian ensemble adds nothing: the SCS stage has no such block
    assert ft.derive("scs_erf", order="1/N").fluctuations.block("C_x~", "C_x~") is None


def _lyapunov_pr(ensemble, values, n: int, seeds: int) -> np.ndarray:
    rng = np.random.default_rng(20261205)
    out = []
    for _ in range(seeds):
        coupling = ensemble.sample(rng, (n,), values)
        c = stationary_covariance(-np.eye(n) + coupling.dense(), values["D"] * np.eye(n))
        out.append(np.trace(c) ** 2 / (n * np.sum(c * c)))
    return np.array(out)


@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_linear_random_mode_network_against_lyapunov(alpha):
    """φ = x, g_eff = 0.6, D = 1, β = 3: PR/N against the exact covariance of sampled
    networks at N = 400 (6 networks); 4 standard errors plus 4/(αN) (the finite number
    of modes; at α = 0.1, 60 modes, the shift is 0.04 and falls with N)."""
    model, ensemble = _model("rm_linear", None, noise=True)
    values = {"g": 0.6, "alpha": alpha, "beta": 3.0, "D": 1.0}
    theory = ft.solve(model, values, order="1/N").observables["dimension"]["pr_x"]
    exact = _lyapunov_pr(ensemble, values, 400, 6)
    error = exact.std(ddof=1) / math.sqrt(exact.size)
    assert abs(theory - exact.mean()) < 4 * error + 4 / (alpha * 400)


@pytest.fixture(scope="module")
def erf_model():
    return _model("rm_erf", ft.erf_sqrtpi, noise=False)[0]


def test_large_effective_rank_is_the_iid_network(erf_model):
    iid = ft.solve("scs_erf", {"g": 2.0}, order="1/N").observables["dimension"]
    ours = ft.solve(erf_model, {"g": 2.0, "alpha": 1e5, "beta": 3.0},
                    order="1/N").observables["dimension"]
    assert ours["pr_phi"] == pytest.approx(iid["pr_phi"], abs=1e-6)
    assert ours["pr_x"] == pytest.approx(iid["pr_x"], abs=1e-6)


def test_small_effective_rank_gives_pr_proportional_to_it(erf_model):
    """PR/(α PR_D) tends to a constant as α PR_D → 0 (PR_D = tanh(β)/β for the
    exponential spectrum): between α = 1e-3 and 1e-2 it changes by < 1%, while PR itself
    changes tenfold."""
    pr_d = math.tanh(3.0) / 3.0
    ratios = [ft.solve(erf_model, {"g": 2.0, "alpha": al, "beta": 3.0}, order="1/N")
              .observables["dimension"]["pr_phi"] / (al * pr_d) for al in (1e-3, 1e-2)]
    assert ratios[1] == pytest.approx(ratios[0], rel=1e-2)


def test_two_point_functions_depend_on_the_effective_gain_only(erf_model):
    first = ft.solve(erf_model, {"g": 2.0, "alpha": 0.3, "beta": 1.0})
    second = ft.solve(erf_model, {"g": 2.0, "alpha": 3.0, "beta": 5.0})
    iid = ft.solve("scs_erf", {"g": 2.0})
    for result in (first, second):
        assert result.observables["variance"] == pytest.approx(iid.observables["variance"],
                                                               rel=1e-10)
        assert np.allclose(result.observables["autocorrelation"]["values"],
                           iid.observables["autocorrelation"]["values"], atol=1e-10)


def test_shipped_model_derives_and_solves_at_order_one_over_n(run):
    """`random_mode` (uncorrelated modes) derives every stage, its single unit is the
    erf network at g = g_eff, and `solve --order 1/N` gives a dimension below the iid one
    (effective rank α PR_D = 0.33 at α = 1, β = 3); `random_mode_overlap` derives its
    1/N stage with the resummed determinant's Hessian
    (tests/test_random_mode_overlap_dimension.py)."""
    code, out, _ = run("derive", "random_mode", "--order", "1/N")
    assert code == 0 and "== site ==" in out and "H[δC_x~, δC_x~]" in out
    code, out, _ = run("solve", "random_mode", "--order", "1/N", "--json")
    assert code == 0
    data = json.loads(out)
    iid = ft.solve("scs_erf", {"g": 2.0}, order="1/N").observables
    assert data["observables"]["variance"] == pytest.approx(iid["variance"], rel=1e-10)
    assert data["observables"]["dimension"]["pr_phi"] < 0.5 * iid["dimension"]["pr_phi"]
    code, out, _ = run("derive", "random_mode_overlap", "--order", "1/N")
    assert code == 0 and "correlated random modes, every order" in out


def test_connectivity_statistics_and_pr_singular_against_sampled_singular_values():
    """`connectivity` {effective_rank, pr_singular}: α PR_D and PR_S/N = α PR_D/(1 + 2α PR_D)
    against the squared singular values of sampled J (N = 1200; finite-N allowance 3 %,
    the spread between two seeds being < 1 %)."""
    model = ft.load_model("random_mode")
    ensemble = model.action.ensembles[J]
    for alpha in (0.2, 1.0):
        values = {"g": 2.0, "alpha": alpha, "beta": 3.0}
        stats = ft.solve(model, values).observables["connectivity"]
        rank = alpha * math.tanh(3.0) / 3.0
        assert stats["effective_rank"] == pytest.approx(rank, rel=1e-12)
        assert stats["pr_singular"] == pytest.approx(rank / (1 + 2 * rank), rel=1e-12)
        coupling = ensemble.sample(np.random.default_rng(2), (1200,), values).dense()
        squares = np.linalg.svd(coupling, compute_uv=False) ** 2
        sampled = squares.sum() ** 2 / (1200 * np.sum(squares**2))
        assert sampled == pytest.approx(stats["pr_singular"], rel=0.03)


def test_spectrum_from_a_file(tmp_path, run):
    """--spectrum FILE (text or .npy) replaces the random-mode spectrum in solve and
    simulate; the effective rank is that of the array's interpolant; bad files are named."""
    shape = np.exp(-3.0 * (np.arange(40) + 0.5) / 40)
    text, binary = tmp_path / "d.txt", tmp_path / "d.npy"
    np.savetxt(text, shape)
    np.save(binary, shape)
    outputs = []
    for path in (text, binary):
        code, out, _ = run("solve", "random_mode", "--spectrum", str(path), "--json")
        assert code == 0
        outputs.append(json.loads(out)["observables"]["connectivity"]["effective_rank"])
    assert outputs[0] == pytest.approx(outputs[1], rel=1e-12)
    assert outputs[0] == pytest.approx(math.tanh(3.0) / 3.0, rel=2e-2)  # a 40-point shape
    code, out, _ = run("simulate", "random_mode", "--spectrum", str(text), "-N", "200",
                       "--t-max", "20", "--no-progress", "--json")
    assert code == 0 and json.loads(out)["observables"]["variance"] > 0
    for content, message in (("1\n-2\n3\n", "entry 1 is -2"), ("1\nnan\n", "entry 1 is nan"),
                             ("1\nabc\n", "not an array of numbers"), ("0\n0\n", "zero")):
        bad = tmp_path / "bad.txt"
        bad.write_text(content)
        code, out, err = run("solve", "random_mode", "--spectrum", str(bad))
        assert code == 2 and not out and message in err
    code, _, err = run("solve", "scs", "--spectrum", str(text))
    assert code == 2 and "no random-mode coupling" in err
    code, _, err = run("solve", "random_mode", "-p", "alpha=0")
    assert code == 2 and "alpha" in err
    code, _, err = run("simulate", "random_mode_overlap", "-p", "overlap=1.5", "--no-progress")
    assert code == 2 and "overlap" in err
