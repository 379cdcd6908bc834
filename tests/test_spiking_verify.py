"""Spiking theory against simulation (issue 18), with errors from the simulations'
spread: across neurons and, for what neurons of one network share, across time batches.

* GLM: a network of N = 6000 whose target population receives Bernoulli synapses with
  normal weights from two Poisson populations (static variability from in-degrees and
  weights, erf intensity): rates, rate distributions, spike autocorrelation, power
  spectrum and timescale of the theory (``glm_colored``) against the numpy engine.
* LIF: Brunel's model A (reduced, C_E = 500), the Siegert rates against the numpy engine
  and NEST, within the errors plus the stated finite-PSP bias of the diffusion
  approximation (the threshold overshoot of a jump, at most J).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.solvers.runtime.spiking import siegert
from fieldtheory.spiking_solve import simulate_spiking_model, solve_spiking
from fieldtheory.spiking_verify import compare_spiking, verify_spiking


def feedforward() -> ft.Model:
    """E, I: Poisson sources (1000 each, r Hz); B (4000 GLM neurons, erf intensity)
    receives Bernoulli(c) synapses of weights ±w ± s from both."""
    p = ft.parameters(N_S=(1000.0, "positive"), N_B=(4000.0, "positive"), c=(0.2, (0, 1)),
                      w=(0.5, "real"), s=(0.2, "nonnegative"), r=(10.0, "positive"),
                      nu_max=(60.0, "positive"), theta=(1.0, "real"),
                      Delta=(2.0, "positive"))
    V = ft.Potential("V")
    source = ft.GLM(tau_m=10.0, intensity=p.r)
    target = ft.GLM(tau_m=10.0, intensity=p.nu_max / 2 * (
        1 + sp.erf((V - p.theta) / (sp.sqrt(2) * p.Delta))))
    network = ft.spiking_network(
        [ft.SpikingPopulation("E", p.N_S, source), ft.SpikingPopulation("I", p.N_S, source),
         ft.SpikingPopulation("B", p.N_B, target)],
        [ft.Connection("B", "E", ft.Bernoulli(p.c), p.w, weight_sd=p.s, delay=1.0),
         ft.Connection("B", "I", ft.Bernoulli(p.c), -p.w, weight_sd=p.s, delay=1.0)],
        parameters=p)
    return ft.Model("feedforward_glm", network)


@pytest.fixture(scope="module")
def glm_run():
    return verify_spiking(feedforward(), {}, t_max=4000.0, t_burn=200.0, seed=1,
                          tau_max=30.0, dtau=1.0)


def test_glm_theory_against_the_numpy_simulator(glm_run):
    report, theory, simulation = glm_run
    assert simulation.N == 6000
    compared = {c.observable for c in report.comparisons}
    for key in ("rate", "timescale", "spike_autocorrelation", "power_spectrum",
                "rate_distribution"):
        assert f"B.{key}" in compared
    assert report.passed, report.table()
    # the target's statistics are far from Poisson: the check has something to see
    B = theory.observables["populations"]["B"]
    assert B["spike_autocorrelation"]["values"][0] > 0.5 * B["rate"] ** 2
    assert B["rate_variance"] > 20.0  # Hz²: a real rate distribution
    # and the errors include what the neurons share (time batches)
    assert simulation.stderr["populations"]["B"]["batches"] >= 10


def test_glm_negative_control_fails(glm_run):
    # the same simulation against the theory of another threshold θ: rejected
    _, _, simulation = glm_run
    other = solve_spiking(feedforward(), {"theta": 1.5}, tau_max=61.0, dtau=0.1,
                          window=4.0,
                          bins={n: p["rate_distribution"]["bins"] for n, p in
                                simulation.observables["populations"].items()})
    report = compare_spiking(other.observables, simulation.observables, simulation.stderr,
                             sizes=simulation.info["sizes"], resolution=0.1)
    assert not report.passed
    assert report.worst()["B.rate"].z > 4


def _brunel_band(params, rate):
    """The stated bias of the diffusion approximation for PSPs of J: the rate with the
    threshold raised by one jump (a crossing overshoots by at most J)."""
    site = solve_spiking("lif_brunel", params).observables["populations"]["E"]["input"]
    n = ft.load_model("lif_brunel").action.values(params).neurons[0]
    from dataclasses import replace

    raised = replace(n, V_th=n.V_th + params.get("J", 0.1))
    return abs(rate - float(siegert(raised, site["mean"], site["sigma"])))


@pytest.mark.parametrize("engine", ["numpy", "nest"])
def test_brunel_rates_against_simulation(engine):
    if engine == "nest":
        pytest.importorskip("nest")
    params = {"N_E": 5000.0}
    theory = solve_spiking("lif_brunel", params).observables
    simulation = simulate_spiking_model("lif_brunel", params, t_max=1000.0, t_burn=200.0,
                                        seed=3, engine=engine)
    band = _brunel_band(params, theory["populations"]["E"]["rate"])
    assert band < 0.05 * theory["rate"]  # the stated bias is small
    for name in ("E", "I"):
        th = theory["populations"][name]["rate"]
        sim = simulation.observables["populations"][name]["rate"]
        err = simulation.stderr["populations"][name]["rate"]
        assert abs(sim - th) <= band + 4 * err, (name, th, sim, err, band)
    # the theory says where its spike-train statistics fail (mean-driven here)
    assert theory["populations"]["E"]["regime"] == "mean_driven"


def test_verify_cli_contract(run):
    status, out, _ = run("verify", "lif_brunel", "-p", "N_E=2000", "--t-max", "400",
                         "--t-burn", "100", "--json")
    data = json.loads(out)
    assert data["engine"] == "numpy" and data["regimes"] == {"E": "mean_driven",
                                                             "I": "mean_driven"}
    # rates only, where the theory states its statistics fail
    assert {c["observable"] for c in data["comparisons"]} <= {"E.rate", "I.rate"}
    assert status in (0, 1) and (status == 0) == data["passed"]
    status, _, err = run("verify", "lif_brunel", "--threads", "2")
    assert status == 2 and "--engine nest" in err


def test_simulate_cli_spiking(run):
    status, out, _ = run("simulate", "glm_balanced", "-p", "N_E=400", "--t-max", "200",
                         "--t-burn", "50", "--json")
    assert status == 0
    data = json.loads(out)
    assert data["N"] == 500 and data["method"] == "numpy"
    pop = data["observables"]["populations"]["E"]
    assert set(pop) >= {"rate", "cv", "rate_distribution", "spike_autocorrelation",
                        "power_spectrum", "timescale"}
    assert math.isfinite(pop["rate"]) and data["stderr"]["populations"]["E"]["rate"] > 0
    status, out, _ = run("simulate", "glm_balanced", "-p", "N_E=200", "--t-max", "100",
                         "--t-burn", "20", "--trials", "3", "--json")
    three = json.loads(out)  # means over 3 networks, errors across them
    assert status == 0 and three["trials"] == 3
    rates = [simulate_spiking_model("glm_balanced", {"N_E": 200}, t_max=100.0, t_burn=20.0,
                                    seed=k).observables["rate"] for k in range(3)]
    assert three["observables"]["rate"] == pytest.approx(np.mean(rates), rel=1e-12)
    assert three["stderr"]["rate"] == pytest.approx(np.std(rates, ddof=1) / np.sqrt(3),
                                                    rel=1e-12)
    status, _, err = run("simulate", "glm_balanced", "--observe", "dimension")
    assert status == 2 and "--observe" in err
    status, _, err = run("simulate", "glm_balanced", "--engine", "nest", "-p", "N_E=400",
                         "--t-max", "50")
    assert status != 0 and "GLM" in err
    np.testing.assert_equal(data["params"]["N_E"], 400.0)


def test_sparse_histogram_bins_are_pooled():
    """Bins are merged from the tails until each expects five neurons: one neuron where
    the theory expects 0.03 is then no 5.7σ event; the masses are kept."""
    from fieldtheory.spiking_verify import pooled

    edges = np.arange(8.0)
    theory = np.array([0.00003, 0.002, 0.1, 0.5, 0.3, 0.0979, 0.00007])
    simulated = np.array([0.001, 0.0, 0.1, 0.5, 0.3, 0.099, 0.0])
    merged, th, sim = pooled(edges, theory, simulated, n=1000)
    assert merged.tolist() == [0.0, 3.0, 4.0, 5.0, 7.0]
    assert (th * np.diff(merged)).sum() == pytest.approx(theory.sum())
    assert (sim * np.diff(merged)).sum() == pytest.approx(simulated.sum())
    assert (th * np.diff(merged) * 1000 >= 5).all()
    # bins that expect enough are kept
    same, th2, _ = pooled(edges, theory, simulated, n=10**6)
    assert same.tolist() == edges.tolist() and th2 == pytest.approx(theory)
