r"""Single-neuron gain heterogeneity (issue 13, item 3; arXiv:2409.01969).

Φ_i = G_i φ(x_i), ẋ = −x + JΦ, with G_i a quenched per-unit variable
(:mod:`fieldtheory.ir.quenched`) of moments q_n, PR_G = q₂²/q₄. Nothing about gains is
written into the derivation: G sits in the order parameter C = (1/N)Σ_j G_j² φ_j φ_j, and
the lowering replaces site averages ⟨Gᵏ A⟩ by q_k⟨A⟩ (the site's own dynamics do not depend
on G). Checks:

* the stage and the lowered site (coefficient g² q₂), so that g_eff = g√q₂;
* the paper's symmetry of the z-scored dimension under 1/PR_G ↔ 1/(α PR_D) — a property
  of the derived equations, not put in;
* exact limits: g → 0 gives PR_Φ/N = PR_G (independent units with heterogeneous variances)
  and a z-scored PR/N of 1;
* linear networks with gains (iid and random-mode couplings) against the exact
  Lyapunov covariance of sampled networks.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import brentq
from support.lyapunov import stationary_covariance

import fieldtheory as ft
from fieldtheory.errors import ActionStructureError

x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
G = ft.Quenched("G")


def _linear_model(ensemble_kind: str):
    """ẋ = −x + J(G x) + √D ξ with log-normal gains; iid Gaussian or random-mode J."""
    p = ft.parameters(g=(0.5, "positive"), D=(1.0, "nonnegative"), pr=(0.5, (0, 1)),
                      alpha=(1.0, "positive"), beta=(2.0, "positive"))
    g, D, pr, alpha, beta = p.symbols
    if ensemble_kind == "iid":
        ensemble = ft.Gaussian(variance=g**2)
    else:
        spectrum = sp.exp(-beta * (ft.MODE_INDEX - sp.Rational(1, 2)) / ft.MODE_COUNT)
        ensemble = ft.RandomMode(alpha=alpha, spectrum=spectrum, gain=g)
    action = ft.langevin({x: -x(t) + J @ (G * x(t))}, {x: D}, {J: ensemble}, p,
                         quenched={G: ft.LogNormalGain(pr=pr)})
    return ft.Model(f"linear_gains_{ensemble_kind}", action, "linear network with gains"), \
        ensemble, action


def test_gains_enter_the_order_parameter_and_the_site_as_moments():
    derivation = ft.derive("random_mode_gain")
    (c,) = [q for q in derivation.collective.order_parameters if q.name == "C_erf"]
    assert c.content.has(G) and sp.degree(c.content, G) == 2
    ((_, coefficient),) = derivation.site_problem().sites[0].correlation_coefficients
    values = {s: v for s in coefficient.free_symbols
              for name, v in (("g", 1.7), ("gain_pr", 0.3)) if s.name == name}
    assert float(coefficient.xreplace(values)) == pytest.approx(1.7**2 * 0.3**-0.25,
                                                                rel=1e-14)
    # the site averages hold φ alone: the moments went into the coefficient
    assert not any(term.left.has(G) for term in derivation.site_problem().correlations)


def test_two_point_functions_depend_on_g_sqrt_q2():
    with_gains = ft.solve("random_mode_gain", {"g": 1.6, "gain_pr": 0.3}).observables
    q2 = 0.3**-0.25
    plain = ft.solve("random_mode", {"g": 1.6 * math.sqrt(q2)}).observables
    assert with_gains["variance"] == pytest.approx(plain["variance"], rel=1e-10)
    np.testing.assert_allclose(with_gains["autocorrelation_phi"]["values"],
                               plain["autocorrelation_phi"]["values"], rtol=1e-9, atol=1e-12)


def _beta_for(rank: float) -> float:
    """β of the exponential spectrum with PR_D = tanh β / β = rank (α = 1)."""
    return brentq(lambda b: math.tanh(b) / b - rank, 1e-9, 1e4)


def _at(gain_pr: float, rank: float, g_eff: float = 2.0):
    values = {"g": g_eff * gain_pr**0.125, "gain_pr": gain_pr, "alpha": 1.0,
              "beta": _beta_for(rank)}
    return ft.solve("random_mode_gain", values, order="1/N").observables


def test_gain_and_rank_heterogeneity_enter_the_z_scored_dimension_symmetrically():
    """Eqs. 46a–b of arXiv:2409.01969: 1/PR_G and 1/(α PR_D) enter the z-scored Ψ
    symmetrically. (1/PR_G, 1/(α PR_D)) = (1.5, 3) and (3, 1.5), g_eff = 2; the raw
    dimension of Φ is not symmetric (so the check can fail)."""
    first, second = _at(1 / 1.5, 1 / 3.0), _at(1 / 3.0, 1 / 1.5)
    assert first["variance"] == pytest.approx(second["variance"], rel=1e-10)
    for key in ("pr_x", "pr_phi"):
        assert first["dimension_z"][key] == pytest.approx(second["dimension_z"][key],
                                                          rel=1e-8)
    raw = first["dimension"]["pr_phi"], second["dimension"]["pr_phi"]
    assert abs(raw[0] / raw[1] - 1) > 0.02


def test_without_coupling_the_raw_dimension_is_the_gain_participation_ratio():
    """g → 0: independent OU units with output variances ∝ G_i², so PR_Φ/N = q₂²/q₄ = PR_G
    and every z-scored unit has variance 1 (PR_z/N = 1); O(g²) corrections."""
    model, _, _ = _linear_model("iid")
    out = ft.solve(model, {"g": 1e-3, "pr": 0.4}, order="1/N").observables
    assert out["dimension"]["pr_phi"] == pytest.approx(0.4, rel=1e-5)
    assert out["dimension_z"]["pr_phi"] == pytest.approx(1.0, rel=1e-5)
    assert out["dimension"]["pr_x"] == pytest.approx(1.0, rel=1e-5)


def _lyapunov(ensemble, action, values, n: int, seeds: int) -> dict:
    """PR/N of x, of Φ = G x and of z-scored Φ from the exact covariance of sampled
    networks (the gains drawn by the declared distribution)."""
    rng = np.random.default_rng(20261205)
    (_, distribution), = action.quenched
    out = {"x": [], "phi": [], "z": []}
    for _ in range(seeds):
        coupling = ensemble.sample(rng, (n,), values).dense()
        gains = distribution.sample(rng, n, values)
        c = stationary_covariance(-np.eye(n) + coupling * gains, values["D"] * np.eye(n))
        c_phi = c * np.outer(gains, gains)
        std = np.sqrt(np.diag(c_phi))
        for key, cov in (("x", c), ("phi", c_phi), ("z", c_phi / np.outer(std, std))):
            out[key].append(np.trace(cov) ** 2 / (n * np.sum(cov * cov)))
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("kind,values", [
    ("iid", {"g": 0.6, "D": 1.0, "pr": 0.4}),
    ("modes", {"g": 0.6, "D": 1.0, "pr": 0.4, "alpha": 0.5, "beta": 2.0}),
])
def test_linear_network_with_gains_against_lyapunov(kind, values):
    """N = 400, 16 networks: 4 standard errors plus 4/N (4/(αN) with modes), the rule of
    the random-mode dimension tests. The network-to-network spread of PR/N does not fall
    with N here: the sample q₄ of log-normal gains (PR_G = 0.4) fluctuates by ~30 % at
    N = 400, and PR_Φ follows it."""
    model, ensemble, action = _linear_model(kind)
    full = {**model.parameters.defaults(), **values}
    theory = ft.solve(model, values, order="1/N").observables
    exact = _lyapunov(ensemble, action, full, 400, 16)
    allowance = 4 / (400 * (full["alpha"] if kind == "modes" else 1.0))
    for key, value in (("x", theory["dimension"]["pr_x"]),
                       ("phi", theory["dimension"]["pr_phi"]),
                       ("z", theory["dimension_z"]["pr_phi"])):
        sample = exact[key]
        error = sample.std(ddof=1) / math.sqrt(sample.size)
        assert abs(value - sample.mean()) < 4 * error + allowance, (key, value, sample)


def test_cli_reports_the_z_scored_dimension(run):
    code, out, _ = run("solve", "random_mode_gain", "-p", "gain_pr=0.5", "--order", "1/N",
                       "--json")
    assert code == 0
    observables = json.loads(out)["observables"]
    assert set(observables["dimension_z"]) == {"pr_x", "pr_phi"}
    assert 0 < observables["dimension_z"]["pr_phi"] <= 1


@pytest.mark.parametrize("where", ["leak", "input"])
def test_gains_in_the_units_own_dynamics_make_a_mixture_of_sites(where):
    """G in the leak, or multiplying the unit's own input (G_i Σ_j J_ij φ_j: its input
    covariance is G_i² g² C), makes the site a mixture over G: the stationary solve takes
    it as sub-populations (tests/test_quenched_mixture.py), the 1/N layer refuses it by
    name."""
    p = ft.parameters(g=(0.5, "positive"), pr=(0.5, (0, 1)))
    drift = (-G * x(t) + J @ ft.tanh(x(t)) if where == "leak"
             else -x(t) + G * (J @ ft.tanh(x(t))))
    action = ft.langevin({x: drift}, None,
                         {J: ft.Gaussian(variance=p.g**2)}, p,
                         quenched={G: ft.LogNormalGain(pr=p.pr)})
    model = ft.Model("own_gain", action, "gain in the leak")
    assert "mixture of sites" in ft.derive(model).stage("site").text
    with pytest.raises(ActionStructureError, match="mixture of sites"):
        ft.solve(model, {}, order="1/N")


def test_bad_gain_declarations_are_named_errors():
    p = ft.parameters(g=(0.5, "positive"), pr=(0.5, (0, 1)))
    drift = {x: -x(t) + J @ (G * ft.tanh(x(t)))}
    with pytest.raises(ft.errors.UndeclaredSymbolError, match="G"):
        ft.langevin(drift, None, {J: ft.Gaussian(variance=p.g**2)}, p)
    with pytest.raises(ft.errors.DeclarationError, match="participation ratio"):
        ft.LogNormalGain(pr=1.5)
    with pytest.raises(ft.errors.ParameterError, match="gain"):
        ft.solve("random_mode_gain", {"gain_pr": 1.5})


def test_gains_from_a_file(tmp_path, run):
    """``--gains FILE``: equal gains c act as g → c·g; a bad file is a named error."""
    path = tmp_path / "gains.npy"
    np.save(path, np.full(300, 1.5))
    code, out, _ = run("solve", "random_mode_gain", "--gains", str(path), "--json")
    assert code == 0
    plain = ft.solve("random_mode", {"g": 3.0}).observables
    assert json.loads(out)["observables"]["variance"] == pytest.approx(plain["variance"],
                                                                       rel=1e-10)
    bad = tmp_path / "gains.txt"
    bad.write_text("1.0 -2.0 1.0\n")
    code, _, err = run("solve", "random_mode_gain", "--gains", str(bad))
    assert code == 2 and "gains file" in err and "entry 1" in err
    code, _, err = run("solve", "scs", "--gains", str(path))
    assert code == 2 and "quenched" in err


@pytest.mark.parametrize("inverse_gain_pr,inverse_rank", [(1.5, 6.0), (6.0, 1.5)])
def test_swapped_heterogeneities_against_sampled_linear_networks(inverse_gain_pr,
                                                                 inverse_rank):
    """The symmetry in sampled networks: linear random-mode networks with gains (g_eff =
    0.8, D = 1, α = 1, N = 400, 16 networks) at (1/PR_G, 1/(α PR_D)) = (1.5, 6) and (6, 1.5)
    have z-scored PR/N equal to the one theory value (the same for both, 0.1765) within 4
    standard errors plus 4/(αN), as in the tests above; their effective ranks are 67 and
    267 modes."""
    model, ensemble, action = _linear_model("modes")
    pr_g, rank = 1 / inverse_gain_pr, 1 / inverse_rank
    values = {"g": 0.8 * pr_g**0.125, "D": 1.0, "pr": pr_g, "alpha": 1.0,
              "beta": _beta_for(rank)}
    theory = ft.solve(model, values, order="1/N").observables["dimension_z"]["pr_phi"]
    symmetric = ft.solve(model, {**values, "pr": rank, "g": 0.8 * rank**0.125,
                                 "beta": _beta_for(pr_g)}, order="1/N")
    assert symmetric.observables["dimension_z"]["pr_phi"] == pytest.approx(theory, rel=1e-8)
    exact = _lyapunov(ensemble, action, {**model.parameters.defaults(), **values}, 400,
                      16)["z"]
    error = exact.std(ddof=1) / math.sqrt(exact.size)
    assert abs(theory - exact.mean()) < 4 * error + 4 / 400
