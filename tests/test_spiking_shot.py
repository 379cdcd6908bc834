"""The finite-K LIF runtime ``lif_shot`` (the compound-Poisson site, sampled): exact for
neurons driven by independent Poisson inputs, where the diffusion approximation is not;
the compound-Poisson rows against the derivation's cumulants; its contract."""

from __future__ import annotations

import numpy as np
import pytest

import fieldtheory as ft
from fieldtheory.derive import derive
from fieldtheory.errors import ParameterError
from fieldtheory.spiking_solve import simulate_spiking_model, solve_spiking


def _driven(recurrent: bool = False):
    """LIF populations declared here, driven by excitatory and strongly inhibitory Poisson
    inputs (jumps of +0.5 and −3 mV: far from the diffusion limit), parameters in the
    neuron (τ_m), the drive (rate, in-degree) and the weights. Without ``recurrent`` the
    inputs are independent Poisson trains: the compound-Poisson site is then exact."""
    p = ft.parameters(tau=(10.0, "positive"), r=(10.0, "positive"), k=(400.0, "positive"),
                      wi=(3.0, "positive"), c=(0.05, (0, 1)))
    lif = ft.LIF(tau_m=p.tau, V_th=-50.0, V_reset=-65.0, t_ref=2.0, E_L=-65.0, tau_s=0.5)
    pops = [ft.SpikingPopulation("E", 2000, lif), ft.SpikingPopulation("I", 500, lif)]
    drives = [ft.PoissonDrive("E", p.r, p.k, 0.5), ft.PoissonDrive("E", 5.0, 100, -p.wi),
              ft.PoissonDrive("I", p.r, p.k + 50, 0.5), ft.PoissonDrive("I", 5.0, 100, -p.wi)]
    connections = []
    if recurrent:
        # (target, source): I → E Bernoulli, E → I a fixed total number
        connections = [ft.Connection("E", "I", ft.Bernoulli(p.c), -p.wi, weight_sd=0.3),
                       ft.Connection("I", "E", ft.FixedTotalNumber(40 * 500), 0.5,
                                     weight_sd=0.05)]
    net = ft.spiking_network(pops, connections, drives, parameters=p)
    return ft.Model("declared_shot", net)


def test_shot_rows_carry_the_derived_cumulants():
    """The rows' E[K] follow each rule (Bernoulli p·N_source, fixed total n/N_target) and
    their first two cumulants are the derived site's mean and white-noise intensity."""
    model = _driven(recurrent=True)
    site = derive(model).site_problem().at({})
    shot = site.shot()
    blocks = shot.source >= 0
    assert sorted(shot.count[blocks].tolist()) == pytest.approx([0.05 * 500, 40.0])
    nu, q = np.array([3.0, 9.0]), np.array([20.0, 100.0])
    rate = np.where(blocks, nu[np.maximum(shot.source, 0)], shot.rate) * shot.count / 1000
    # the weight sds are ≤ 10 % of the means: the sign-kept normal's moments are m, m² + s²
    second = np.bincount(shot.target, weights=rate * (shot.mean**2 + shot.sd**2), minlength=2)
    assert second == pytest.approx(site.D(nu, q), rel=1e-9)
    first = np.bincount(shot.target, weights=rate * shot.expected, minlength=2)
    assert -65.0 + 10.0 * first == pytest.approx(site.mu(nu, q), rel=1e-9)


def test_shot_noise_rates_against_simulation():
    """Independent Poisson inputs with −3 mV jumps: the sampled compound-Poisson site
    matches the network simulation within the two sampling errors (4 σ), and Siegert's
    diffusion rate — same mean and variance — lies beyond 5 σ (E 40 % above, I 12 %:
    the check can fail)."""
    model = _driven()
    shot = solve_spiking(model, {}, method="lif_shot",
                         options={"neurons": 800, "time": 1000.0, "outer": 1})
    diffusion = solve_spiking(model, {}).observables["populations"]
    # one network: its neurons are independent here, so the errors over time are honest
    sim = simulate_spiking_model(model, {}, t_max=1000.0, t_burn=100.0, seed=2)
    for name in ("E", "I"):
        rate = shot.observables["populations"][name]["rate"]
        error = np.hypot(shot.stderr["populations"][name]["rate"],
                         sim.stderr["populations"][name]["rate"])
        measured = sim.observables["populations"][name]["rate"]
        assert abs(rate - measured) < 4 * error, (name, rate, measured, error)
        assert abs(diffusion[name]["rate"] - measured) > 5 * error, name
    assert shot.method == "lif_shot" and shot.observables["populations"]["E"]["cv"] is None
    assert "/populations/E/cv" in shot.undefined


def test_shot_options_are_checked():
    with pytest.raises(ParameterError, match="unknown option"):
        solve_spiking(_driven(), {}, method="lif_shot", options={"neuron": 10})
    with pytest.raises(ParameterError, match="neurons = 1 must be"):
        solve_spiking(_driven(), {}, method="lif_shot", options={"neurons": 1})


def test_verify_adds_a_sampled_theorys_errors():
    from fieldtheory.spiking_verify import compare_spiking

    theory = {"populations": {"E": {"rate": 4.0}}}
    simulation = {"populations": {"E": {"rate": 4.5}}}
    stderr = {"populations": {"E": {"rate": 0.3}}}
    plain = compare_spiking(theory, simulation, stderr).comparisons[0]
    sampled = compare_spiking(theory, simulation, stderr,
                              theory_stderr={"populations": {"E": {"rate": 0.4}}})
    assert plain.stderr == pytest.approx(0.3)
    assert sampled.comparisons[0].stderr == pytest.approx(0.5)


def test_verify_with_the_shot_runtime_from_the_command_line(run, tmp_path):
    """`verify FILE --method lif_shot`: only rates are compared (the runtime leaves the
    rest null), each with the theory's sampling error added; they agree (exact site)."""
    import inspect
    import json
    import textwrap

    path = tmp_path / "driven.py"
    path.write_text("import fieldtheory as ft\n\n" + textwrap.dedent(inspect.getsource(_driven))
                    + "\nmodel = _driven()\n")
    status, out, _ = run("verify", str(path), "--method", "lif_shot", "--t-max", "1000",
                         "--t-burn", "100", "--seed", "3", "--json")
    report = json.loads(out)
    assert {c["observable"] for c in report["comparisons"]} == {"E.rate", "I.rate"}
    assert status == 0, report["comparisons"]
    status, _, err = run("verify", "scs", "--method", "lif_shot")
    assert status == 2 and "--method chooses a spiking runtime" in err
