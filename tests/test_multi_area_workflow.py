"""The multi-area workflow (issue 19): the shipped example down-scaled (its theory kept),
simulated by the numpy engine and NEST (which agree); the one-command ``verify --figures``
with its content-hash cache; the connectivity matrix."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fieldtheory.errors import ParameterError
from fieldtheory.multi_area import connectivity_matrix, content_hash, scaled_model
from fieldtheory.spiking_solve import simulate_spiking_model, solve_spiking

SCALE = {"n_scale": 0.05, "k_scale": 0.2}  # 11 600 neurons, in-degrees ÷ 5


@pytest.fixture(scope="module")
def shrunk():
    model = scaled_model("multi_area_example", {}, **SCALE)
    theory = solve_spiking(model, {}).observables
    return model, theory


def test_shrunk_example_keeps_the_theory(shrunk):
    model, theory = shrunk
    full = solve_spiking("multi_area_example", {}).observables["populations"]
    for name, pop in theory["populations"].items():
        assert pop["rate"] == pytest.approx(full[name]["rate"], rel=1e-8)
    assert model.action.values({}).N == pytest.approx(0.05 * 3 * 77169, rel=1e-3)


def test_engines_agree_on_the_shrunk_example(shrunk):
    """The numpy engine and NEST simulate the same declared network: six networks each,
    the rates' errors across them (what differs between networks dominates). With
    Welch's t for two means of six, z = Δ/√(e₁² + e₂²) has about 10 degrees of freedom:
    E[z²] = 1.25 — the mean z² over the 24 populations must stay below 3 and every
    |z| below 7.5 (Bonferroni over 24 at 10⁻³). Skipped without NEST."""
    pytest.importorskip("nest")
    model, theory = shrunk
    runs = {engine: simulate_spiking_model(model, {}, t_max=200.0, t_burn=100.0, seed=11,
                                           engine=engine, trials=6)
            for engine in ("numpy", "nest")}
    z = []
    for name in theory["populations"]:
        a, b = (runs[e].observables["populations"][name]["rate"] for e in runs)
        ea, eb = (runs[e].stderr["populations"][name]["rate"] for e in runs)
        z.append((a - b) / np.hypot(ea, eb))
    z = np.array(z)
    assert np.mean(z**2) < 3 and np.max(np.abs(z)) < 7.5, z


def test_connectivity_matrix_blocks():
    model = scaled_model("multi_area_example", {}, n_scale=0.1)
    M = connectivity_matrix(model, {})
    index = {name: k for k, name in enumerate(model.action.names)}
    # against the tables: a fixed in-degree K of weight w (sd 0.1 w, the sign-kept normal's
    # mean is w to 1e-20) gives K·w
    from fieldtheory.ir.area_graph import numeric_graph

    graph = numeric_graph(model.action, {})
    for source, target in (("A1/L23E", "A2/L4E"), ("A2/L4I", "A2/L5E"), ("A3/L6E", "A3/L4E")):
        e = graph.edges[source, target]
        assert M[index[target], index[source]] == pytest.approx(e["in_degree"] * e["weight"],
                                                                rel=1e-9)
    # feed-forward A1/L23E → A2/L4E only; nothing from A3 onto A1
    assert M[index["A2/L4E"], index["A1/L23E"]] > 0
    assert not M[[index[n] for n in index if n.startswith("A1/")]][
        :, [index[n] for n in index if n.startswith("A3/")]].any()
    # inhibitory columns negative, excitatory positive, within an area
    assert (M[:, index["A2/L4I"]] <= 0).all() and (M[:, index["A2/L4E"]] >= 0).all()


def test_content_hash_follows_numbers_not_names():
    values = scaled_model("multi_area_example", {}, n_scale=0.1).action.values({})
    settings = {"t_max": 500.0, "seed": 0}
    assert content_hash(values, settings) == content_hash(values, dict(settings))
    assert content_hash(values, settings) != content_hash(values, {**settings, "seed": 1})
    other = scaled_model("multi_area_example", {"g": 1.01}, n_scale=0.1).action.values({})
    assert content_hash(values, settings) != content_hash(other, settings)
    # GLM networks (an intensity function in the values) hash too
    from fieldtheory import load_model

    glm = load_model("glm_balanced").action
    assert content_hash(glm.values({}), settings) == content_hash(glm.values({}), settings)


def test_scaling_refuses_what_it_cannot_scale():
    with pytest.raises(ParameterError, match="not an area-graph model"):
        scaled_model("lif_brunel", {}, n_scale=0.5)
    with pytest.raises(ParameterError, match="k_scale = 2 must lie in"):
        scaled_model("multi_area_example", {}, k_scale=2.0)


def test_verify_figures_and_cache(run, tmp_path):
    pytest.importorskip("matplotlib")
    args = ("verify", "multi_area_example", "--n-scale", "0.02", "--k-scale", "0.1",
            "--t-max", "300", "--t-burn", "100", "--figures", str(tmp_path), "--json")
    status, out, _ = run(*args)
    first = json.loads(out)
    assert status in (0, 1) and not first["cached"]
    assert {c["observable"] for c in first["comparisons"]} == {
        f"{a}/{p}.rate" for a in ("A1", "A2", "A3")
        for p in ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")}
    for figure in ("rates.png", "connectivity.png"):
        assert (tmp_path / figure).stat().st_size > 10_000
    stored = json.loads((tmp_path / first["result_file"].split("/")[-1]).read_text())
    assert stored["hash"].startswith(first["result_file"].split("verify-")[1][:16])
    # the same content again: read back, the same numbers
    status2, out, _ = run(*args)
    second = json.loads(out)
    assert second["cached"] and status2 == status
    assert second["comparisons"] == first["comparisons"]
    # an unreadable stored result is computed again
    (tmp_path / first["result_file"].split("/")[-1]).write_text("{not json")
    status3, out, _ = run(*args)
    assert not json.loads(out)["cached"] and status3 == status
    # a different seed is different content
    status, out, _ = run(*args[:-1], "--seed", "5", "--json")
    assert not json.loads(out)["cached"]
    status, _, err = run("verify", "multi_area_example", "--n-scale", "0.02", "--theory",
                         "g=1.1")
    assert status == 2 and "--theory with --n-scale" in err
    # non-spiking models refuse the options by name
    status, _, err = run("verify", "scs", "--figures", str(tmp_path))
    assert status == 2 and "--figures" in err
    status, _, err = run("simulate", "lif_brunel", "--n-scale", "0.5")
    assert status != 0 and "not an area-graph model" in err
    assert np.isfinite(first["max_abs_z"])
