"""Area-graph models (issue 19, first part): tables → validated population graph →
the spiking network every spiking stage takes; per-area summaries; the linear stability
of the stationary rates (W_eff)."""

from __future__ import annotations

import csv
import json

import pytest

import fieldtheory as ft
from fieldtheory.errors import DataFileError
from fieldtheory.ir.area_graph import area_graph, graph_network, load_area_tables
from fieldtheory.spiking_solve import solve_spiking

NEURON = {"tau_m": 20.0, "V_th": 20.0, "V_reset": 10.0, "t_ref": 2.0}
POPULATIONS = [
    {"area": a, "population": p, "size": 400 if p == "E" else 100, **NEURON,
     "K_ext": 800, "nu_ext": 12.0 if a == "A" else 10.0, "w_ext": 0.1}
    for a in ("A", "B") for p in ("E", "I")]
CONNECTIONS = [  # within each area E/I, and A/E → B/E, B/E → A/I
    *({"source": f"{a}/{s}", "target": f"{a}/{t}", "in_degree": 80 if s == "E" else 20,
       "weight": 0.1 if s == "E" else -0.5, "delay": 1.5}
      for a in ("A", "B") for s in ("E", "I") for t in ("E", "I")),
    {"source": "A/E", "target": "B/E", "in_degree": 40, "weight": 0.1, "delay": 3.0},
    {"source": "B/E", "target": "A/I", "in_degree": 20, "weight": 0.1, "delay": 3.0},
]


def _write(tmp_path, name, rows):
    path = tmp_path / name
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=sorted({k for r in rows for k in r}))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_tables_to_network_solve_like_the_direct_declaration(tmp_path):
    graph = load_area_tables(_write(tmp_path, "pops.csv", POPULATIONS),
                             _write(tmp_path, "conns.csv", CONNECTIONS))
    assert sorted(graph) == ["A/E", "A/I", "B/E", "B/I"] and graph.has_edge("A/E", "B/E")
    p = ft.parameters(g=(1.0, "positive"))
    model = ft.Model("two_areas", graph_network(graph, p, inhibition=p.g))
    # the same network declared by hand (identifiers for names)
    neuron = ft.LIF(**NEURON)
    by_hand = ft.spiking_network(
        [ft.SpikingPopulation(f"{r['area']}_{r['population']}", r["size"], neuron)
         for r in POPULATIONS],
        [ft.Connection(c["target"].replace("/", "_"), c["source"].replace("/", "_"),
                       ft.FixedInDegree(c["in_degree"], multapses=True),
                       c["weight"] * (p.g if c["weight"] < 0 else 1), delay=c["delay"])
         for c in CONNECTIONS],
        [ft.PoissonDrive(f"{r['area']}_{r['population']}", r["nu_ext"], 800, 0.1)
         for r in POPULATIONS], parameters=p)
    for g in (1.0, 1.3):
        ours = solve_spiking(model, {"g": g}, options={"spectrum": False}).observables
        theirs = solve_spiking(ft.Model("by_hand", by_hand), {"g": g},
                               options={"spectrum": False}).observables
        for key in graph:
            assert ours["populations"][key]["rate"] == pytest.approx(
                theirs["populations"][key.replace("/", "_")]["rate"], rel=1e-12)
        # per-area summaries: the size-weighted mean rate
        A = ours["populations"]
        assert ours["areas"]["A"]["rate"] == pytest.approx(
            (400 * A["A/E"]["rate"] + 100 * A["A/I"]["rate"]) / 500)
    # the JSON is strict, and population keys with / survive (escaped in pointers)
    data = solve_spiking(model).to_json()
    json.dumps(data, allow_nan=False)
    assert set(data["observables"]["populations"]) == set(graph)


def test_table_errors_are_named():
    def build(populations=POPULATIONS, connections=CONNECTIONS, **kw):
        return area_graph(populations, connections, **kw)

    with pytest.raises(DataFileError, match="area 'C' is not in the population table"):
        build(connections=[*CONNECTIONS, {"source": "C/E", "target": "A/E",
                                          "in_degree": 5, "weight": 0.1}])
    with pytest.raises(DataFileError, match="in-degree -3 is negative"):
        build(connections=[{**CONNECTIONS[0], "in_degree": -3}])
    with pytest.raises(DataFileError, match=r"delay 0\.05 ms is below the resolution 0\.1"):
        build(connections=[{**CONNECTIONS[0], "delay": 0.05}])
    with pytest.raises(DataFileError, match="does not match the population table"):
        build(areas={"A": ["E", "I"], "B": ["E"]})
    with pytest.raises(DataFileError, match="A/E is listed twice"):
        build(populations=[*POPULATIONS, POPULATIONS[0]])
    with pytest.raises(DataFileError, match="area B has no population 'B/X'"):
        build(connections=[{**CONNECTIONS[0], "target": "B/X"}])
    assert len(build(areas={"A": ["E", "I"], "B": ["E", "I"]})) == 4


def test_stability_of_the_stationary_rates():
    # feed-forward (no population feeds back onto itself): W_eff is nilpotent, every
    # eigenvalue 0; with recurrent excitation the leading eigenvalue grows towards 1
    feed_forward = [c for c in CONNECTIONS if c["source"].startswith("A")
                    and c["target"].startswith("B")]
    graph = area_graph(POPULATIONS, feed_forward)
    stability = solve_spiking(ft.Model("ff", graph_network(graph)),
                              options={"spectrum": False}).observables["stability"]
    assert abs(stability["max_real_eigenvalue"]) < 1e-6 and stability["stable"]
    # one population exciting itself (fixed in-degree K, weight w): in the coordinates
    # (ν, s = q − ν²) W_eff is triangular, so its eigenvalues are the slope of the rate
    # map a = dΦ(μ(ν), σ(ν))/dν and the static mode e = (∂Φ/∂μ)² (τ/1000)² K w²
    # (s' = Φ'² Σ, Σ = (τ/1000)² K w² s) — both by differences of mpmath's Siegert here
    from test_spiking_theory import mp_siegert

    K, w, tau = 100, 0.1, 20.0
    rows = [{"source": "A/E", "target": "A/E", "in_degree": K, "weight": w}]
    net = graph_network(area_graph(POPULATIONS[:1], rows))
    out = solve_spiking(ft.Model("self", net), options={"spectrum": False}).observables
    nu = out["populations"]["A/E"]["rate"]

    def Phi(rate, mu_shift=0.0):
        r = rate / 1000
        mu = tau * (K * w * r + 800 * 0.1 * 12.0 / 1000) + mu_shift
        sigma = (tau * (K * w * w * r + 800 * 0.01 * 12.0 / 1000)) ** 0.5
        return mp_siegert(mu, sigma, tau, 2.0, 20.0, 10.0)

    h = 1e-3
    a = (Phi(nu + h) - Phi(nu - h)) / (2 * h)
    slope = (Phi(nu, 1e-4) - Phi(nu, -1e-4)) / 2e-4
    e = slope**2 * (tau / 1000) ** 2 * K * w**2
    eigen = sorted(out["stability"]["leading_eigenvalues"]["real"], reverse=True)
    assert sorted([a, e], reverse=True) == pytest.approx(eigen[:2], rel=1e-4)
    assert out["stability"]["stable"] == (max(a, e) < 1)


def test_multi_area_example_solves_with_keys_areas_and_stability(run):
    status, out, _ = run("solve", "multi_area_example", "--json")
    data = json.loads(out)
    pops = data["observables"]["populations"]
    assert status == 0 and len(pops) == 24 and "A2/L4E" in pops
    assert all(p["rate"] > 0 for p in pops.values())
    assert set(data["observables"]["areas"]) == {"A1", "A2", "A3"}
    assert data["observables"]["stability"]["stable"]
    # the rule keeps every population's excitatory inputs from outside its area: the
    # external in-degree plus what other areas send is the microcircuit's K_ext
    import importlib

    example = importlib.import_module("fieldtheory.models.multi_area_example")
    graph = area_graph(*example.tables())
    for key, d in graph.nodes(data=True):
        foreign = sum(e["in_degree"] for s, _, e in graph.in_edges(key, data=True)
                      if s.split("/")[0] != d["area"])
        assert d["K_ext"] + foreign == example.K_EXT[example.NAMES.index(d["population"])]


def test_rates_survive_a_failed_minpack_run():
    # MINPACK stopped after one Jacobian: the damped iteration finishes the job
    full = solve_spiking("lif_brunel", options={"spectrum": False}).observables["rate"]
    slow = solve_spiking("lif_brunel", options={"spectrum": False, "max_iter": 1})
    assert slow.observables["rate"] == pytest.approx(full, rel=1e-8)


def test_downscaling_keeps_the_mean_field_rates():
    # sizes × 0.05, in-degrees × 0.1 with weights × √(K/K′) and the lost mean input
    # returned as a shift of E_L (from the full network's rates): the mean-field rates of
    # the shrunk graph are those of the full one; without the compensation they are not
    from fieldtheory.ir.area_graph import downscale

    graph = area_graph(POPULATIONS, CONNECTIONS)
    options = {"spectrum": False}
    full = solve_spiking(ft.Model("full", graph_network(graph)),
                         options=options).observables["populations"]
    rates = {k: v["rate"] for k, v in full.items()}
    small = downscale(graph, rates, N_scale=0.05, K_scale=0.1)
    assert small.nodes["A/E"]["size"] == 20 and small["A/E"]["B/E"]["in_degree"] == 4
    kept = solve_spiking(ft.Model("small", graph_network(small)),
                         options=options).observables["populations"]
    for key, rate in rates.items():
        assert kept[key]["rate"] == pytest.approx(rate, rel=1e-8)
    uncompensated = small.copy()
    for key, d in graph.nodes(data=True):
        uncompensated.nodes[key]["E_L"] = d["E_L"]
    off = solve_spiking(ft.Model("off", graph_network(uncompensated)),
                        options=options).observables["populations"]
    assert max(abs(off[k]["rate"] / r - 1) for k, r in rates.items()) > 0.05
    with pytest.raises(DataFileError, match="no rate for"):
        downscale(graph, {"A/E": 1.0}, K_scale=0.5)
