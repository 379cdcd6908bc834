"""The loader of the multi-area model's own data files (issue 19): a file in that format
written here (two areas, one without layer 4 like TH), read back population by population
and edge by edge, and the named errors of a broken file."""

from __future__ import annotations

import json
import math

import pytest

from fieldtheory.errors import DataFileError
from fieldtheory.ir.area_graph import graph_network
from fieldtheory.ir.multiarea_data import load_multiarea_data

POPS = ["23E", "23I", "4E", "4I", "5E", "5I", "6E", "6I"]


def mam_file(tmp_path, edit=None):
    """A ``custom_Data_Model`` file: areas X (eight populations) and TH (no 4E, 4I)."""
    sizes = {"X": dict(zip(POPS, [1000.4, 300.0, 900.0, 250.0, 400.0, 90.0, 700.0, 140.0],
                           strict=True)),
             "TH": dict(zip(POPS, [800.0, 200.0, 0.0, 0.0, 350.0, 80.0, 600.0, 120.0],
                            strict=True))}
    for s in sizes.values():
        s["total"] = sum(s.values())
    structure = {"X": POPS, "TH": [p for p in POPS if not p.startswith("4")]}
    synapses, mean, sd = {}, {}, {}
    for ta in sizes:
        synapses[ta], mean[ta], sd[ta] = {}, {}, {}
        for k, tp in enumerate(POPS):
            synapses[ta][tp], mean[ta][tp], sd[ta][tp] = {}, {}, {}
            for sa in sizes:
                synapses[ta][tp][sa], mean[ta][tp][sa], sd[ta][tp][sa] = {}, {}, {}
                for j, sp_ in enumerate(POPS):
                    inhibitory = sp_.endswith("I")
                    exists = sizes[ta][tp] > 0 and sizes[sa][sp_] > 0
                    crossing = sa != ta
                    n = 0.0 if not exists or (crossing and inhibitory) else \
                        (k + 1) * (j + 2) * 1000.0 * (0.1 if crossing else 1.0)
                    synapses[ta][tp][sa][sp_] = n
                    mean[ta][tp][sa][sp_] = -965.9 if inhibitory else 87.8
                    sd[ta][tp][sa][sp_] = 0.1 * abs(mean[ta][tp][sa][sp_])
            synapses[ta][tp]["external"] = {"external": 2000.0 * sizes[ta][tp]}
            mean[ta][tp]["external"] = {"external": 87.8}
    data = {"area_list": ["X", "TH"], "structure": structure, "neuron_numbers": sizes,
            "synapses": synapses, "synapse_weights_mean": mean, "synapse_weights_sd": sd,
            "distances": {"X": {"X": 0.0, "TH": 14.0}, "TH": {"X": 14.0, "TH": 0.0}},
            "av_indegree_V1": 1.0}
    if edit:
        edit(data)
    path = tmp_path / "custom_Data_Model_test.json"
    path.write_text(json.dumps(data))
    return path, data


def test_file_read_population_by_population(tmp_path):
    path, data = mam_file(tmp_path)
    graph = load_multiarea_data(path)
    assert graph.number_of_nodes() == 14 and "TH/4E" not in graph  # TH has no layer 4
    jump = 0.5 / 250.0  # mV per pA: τ_s / C_m of the model's neuron
    node = graph.nodes["X/23E"]
    assert node["size"] == 1000 and node["tau_s"] == 0.5 and node["E_L"] == -65.0
    assert node["K_ext"] == pytest.approx(2000.0 * 1000.4 / 1000)
    assert node["nu_ext"] == 10.0 and node["w_ext"] == pytest.approx(87.8 * jump)
    for (ta, tp, sa, sp_) in [("X", "4I", "X", "23E"), ("TH", "6E", "X", "5E"),
                              ("X", "23E", "TH", "6E"), ("TH", "23I", "TH", "5I")]:
        e = graph.edges[f"{sa}/{sp_}", f"{ta}/{tp}"]
        n = data["synapses"][ta][tp][sa][sp_]
        assert e["rule"] == "fixed_total_number"
        assert e["in_degree"] == pytest.approx(n / round(data["neuron_numbers"][ta][tp]))
        assert e["weight"] == pytest.approx(data["synapse_weights_mean"][ta][tp][sa][sp_]
                                            * jump)
        assert e["weight_sd"] == pytest.approx(0.1 * abs(e["weight"]))
        delay = (14.0 / 3.5 if sa != ta else 0.75 if sp_.endswith("I") else 1.5)
        assert (e["delay"], e["delay_sd"]) == pytest.approx((delay, 0.5 * delay))
    # no edges where the file has no synapses (inhibitory cortico-cortical, layer 4 of TH)
    assert not graph.has_edge("X/23I", "TH/23E") and not graph.has_edge("X/4E", "TH/4E")
    # the network draws the file's synapse numbers (fixed total number)
    network = graph_network(graph)
    values = network.values({})
    index = {name: k for k, name in enumerate(values.populations)}
    block = next(c for c in values.connections
                 if (c.target, c.source) == (index["TH/6E"], index["X/5E"]))
    assert block.rule == "fixed_total_number"
    assert block.number == round(data["synapses"]["TH"]["6E"]["X"]["5E"])


def test_subset_of_areas_drops_their_connections(tmp_path):
    path, _ = mam_file(tmp_path)
    graph = load_multiarea_data(path, areas=["TH"], rate_ext=8.0)
    assert sorted({d["area"] for _, d in graph.nodes(data=True)}) == ["TH"]
    assert all(d["nu_ext"] == 8.0 for _, d in graph.nodes(data=True))
    assert all(s.startswith("TH/") for s, _ in graph.edges)


@pytest.mark.parametrize("edit, match", [
    (lambda d: d["synapses"]["X"]["23E"]["TH"].pop("5E"),
     r"no entry \['synapses'\]\['X'\]\['23E'\]\['TH'\]\['5E'\]"),
    (lambda d: d["synapses"]["X"]["4E"]["X"].__setitem__("23E", -5.0), "negative"),
    (lambda d: d["distances"]["TH"].__setitem__("X", 0.1), "below the resolution"),
    (lambda d: d["synapse_weights_mean"]["X"]["5I"]["X"].__setitem__("6E", "strong"),
     "is not a number"),
    (lambda d: d.pop("distances"), r"no entry \['distances'\]"),
])
def test_broken_file_named_errors(tmp_path, edit, match):
    path, _ = mam_file(tmp_path, edit)
    with pytest.raises(DataFileError, match=match):
        load_multiarea_data(path)


def test_bad_arguments_named(tmp_path):
    path, _ = mam_file(tmp_path)
    with pytest.raises(DataFileError, match="area 'V1' is not in the file's area_list"):
        load_multiarea_data(path, areas=["V1"])
    with pytest.raises(DataFileError, match="tau_syn_ex and tau_syn_in differ"):
        load_multiarea_data(path, neuron={"tau_syn_in": 2.0})
    with pytest.raises(DataFileError, match="neuron parameters tau_s are not"):
        load_multiarea_data(path, neuron={"tau_s": 2.0})
    with pytest.raises(DataFileError, match="no such file"):
        load_multiarea_data(tmp_path / "absent.json")
    assert math.isfinite(load_multiarea_data(path, delays={"interarea_speed": 7.0})
                         .edges["X/5E", "TH/6E"]["delay"])
