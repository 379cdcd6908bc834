r"""Area-graph models: spiking networks declared as a graph of populations (issue 19).

The multi-area model of macaque visual cortex (Schmidt et al.; arXiv:2011.11335) is a graph
whose nodes are populations — an area, a layer and type (``V1/23E``), a size, neuron
parameters, external Poisson drive — and whose edges carry in-degrees, weights and
delays. Here such a graph is a :class:`networkx.DiGraph` (edges source → target) built
from tables and validated, and turned into the :class:`~fieldtheory.ir.spiking.SpikingNetwork`
that every spiking stage already takes (derivation, ``lif_siegert``, the numpy and NEST
engines, ``verify``).

Tables (CSV with a header row, or JSON: a list of objects):

* populations — ``area``, ``population`` (e.g. ``23E``), ``size``, ``tau_m``, ``V_th``,
  ``V_reset``, ``t_ref``, and optionally ``E_L`` (0), ``tau_s`` (0), ``C_m`` (250),
  ``K_ext``, ``nu_ext`` (Hz), ``w_ext`` (mV) for the external drive (0: none);
* connections — ``source``, ``target`` (population keys ``AREA/POP``), ``in_degree``,
  ``weight`` (mV, the jump of ``ft.LIF``'s convention), and optionally ``weight_sd``,
  ``delay`` (1.5 ms), ``delay_sd`` (0), ``rule`` (``fixed_in_degree``, the default, or
  ``fixed_total_number``).

Connections are drawn with multapses: ``fixed_in_degree`` gives every target neuron exactly
``in_degree`` synapses from the source population; ``fixed_total_number`` (the multi-area
model's rule) draws ``round(in_degree × size)`` synapses in all, source and target of each
uniformly, so ``in_degree`` is the mean in-degree and it is binomially spread. Weights are
normal and kept to their sign. ``areas`` (optional) lists each area's populations and is checked
against the population table.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import sympy as sp

from fieldtheory.errors import DataFileError
from fieldtheory.ir.parameters import ParameterSet
from fieldtheory.ir.parameters import parameters as make_parameters
from fieldtheory.ir.spiking import (
    LIF,
    Connection,
    FixedInDegree,
    FixedTotalNumber,
    PoissonDrive,
    SpikingNetwork,
    SpikingPopulation,
)

__all__ = ["AreaGraphSource", "area_graph", "downscale", "graph_network", "load_area_tables",
           "numeric_graph", "population_key"]

NODE_REQUIRED = ("area", "population", "size", "tau_m", "V_th", "V_reset", "t_ref")
NODE_DEFAULTS = {"E_L": 0.0, "tau_s": 0.0, "C_m": 250.0, "K_ext": 0.0, "nu_ext": 0.0,
                 "w_ext": 0.0}
EDGE_REQUIRED = ("source", "target", "in_degree", "weight")
EDGE_DEFAULTS = {"weight_sd": 0.0, "delay": 1.5, "delay_sd": 0.0}
EDGE_RULES = ("fixed_in_degree", "fixed_total_number")


def population_key(area: str, population: str) -> str:
    """``V1/23E``: the node key of a population of an area."""
    return f"{area}/{population}"


def _number(row: Mapping, key: str, where: str, path: str) -> float:
    try:
        value = float(row[key])
    except KeyError:
        raise DataFileError(f"{where}: no {key!r}", path=path, key=key) from None
    except (TypeError, ValueError):
        raise DataFileError(f"{where}: {key} = {row[key]!r} is not a number", path=path,
                            key=key) from None
    if not math.isfinite(value):
        raise DataFileError(f"{where}: {key} = {value} is not finite", path=path, key=key)
    return value


def area_graph(populations: Iterable[Mapping], connections: Iterable[Mapping], *,
               areas: Mapping[str, Iterable[str]] | None = None, resolution: float = 0.1,
               path: str = "<tables>") -> nx.DiGraph:
    """The validated population graph of two tables (rows as mappings).

    Named :class:`~fieldtheory.errors.DataFileError`\\ s: a population listed twice, a
    population missing a required column, an ``areas`` list that does not match the
    table (an area's populations, or an area with no populations), a connection naming a
    population or area not in the table, a negative in-degree, a delay below the
    ``resolution`` (ms) of the engines.
    """
    graph = nx.DiGraph()
    for k, row in enumerate(populations):
        where = f"population row {k + 1}"
        for column in ("area", "population"):
            if not str(row.get(column, "")).strip():
                raise DataFileError(f"{where}: no {column!r}", path=path, key=column)
        key = population_key(str(row["area"]).strip(), str(row["population"]).strip())
        where = f"population {key}"
        if key in graph:
            raise DataFileError(f"{where} is listed twice", path=path, key=key)
        attributes = {c: _number(row, c, where, path) for c in NODE_REQUIRED[2:]}
        for c, default in NODE_DEFAULTS.items():
            attributes[c] = _number(row, c, where, path) if str(row.get(c, "")).strip() \
                else default
        if attributes["size"] < 1 or attributes["size"] != round(attributes["size"]):
            raise DataFileError(f"{where}: size {attributes['size']:g} must be a positive "
                                "integer", path=path, key=key)
        graph.add_node(key, area=str(row["area"]).strip(),
                       population=str(row["population"]).strip(), **attributes)
    if areas is not None:
        listed = {population_key(a, p) for a, pops in areas.items() for p in pops}
        for a, pops in areas.items():
            if not list(pops):
                raise DataFileError(f"area {a}: an empty population list", path=path, key=a)
        extra, missing = sorted(listed - set(graph)), sorted(set(graph) - listed)
        if extra or missing:
            raise DataFileError(
                "the population list of the areas does not match the population table: "
                + (f"listed but not in the table: {', '.join(extra)}; " if extra else "")
                + (f"in the table but not listed: {', '.join(missing)}" if missing else ""),
                path=path, key=(extra or missing)[0])
    known_areas = sorted({d["area"] for _, d in graph.nodes(data=True)})
    for k, row in enumerate(connections):
        source, target = (str(row.get(c, "")).strip() for c in ("source", "target"))
        where = f"connection {source}→{target} (row {k + 1})"
        for end in (source, target):
            if end not in graph:
                area = end.split("/")[0]
                reason = (f"area {area!r} is not in the population table (areas: "
                          f"{', '.join(known_areas)})" if area not in known_areas
                          else f"area {area} has no population {end!r}")
                raise DataFileError(f"{where}: {reason}", path=path, key=end)
        values = {c: _number(row, c, where, path) for c in EDGE_REQUIRED[2:]}
        for c, default in EDGE_DEFAULTS.items():
            values[c] = _number(row, c, where, path) if str(row.get(c, "")).strip() \
                else default
        if values["in_degree"] < 0:
            raise DataFileError(f"{where}: in-degree {values['in_degree']:g} is negative",
                                path=path, key="in_degree")
        if values["delay"] < resolution:
            raise DataFileError(f"{where}: delay {values['delay']:g} ms is below the "
                                f"resolution {resolution:g} ms", path=path, key="delay")
        if values["weight_sd"] < 0 or values["delay_sd"] < 0:
            raise DataFileError(f"{where}: a negative standard deviation", path=path,
                                key="weight_sd")
        rule = str(row.get("rule") or EDGE_RULES[0]).strip()
        if rule not in EDGE_RULES:
            raise DataFileError(f"{where}: rule {rule!r} is not one of "
                                f"{', '.join(EDGE_RULES)}", path=path, key="rule")
        if rule == "fixed_in_degree" and values["in_degree"] != round(values["in_degree"]):
            raise DataFileError(f"{where}: in-degree {values['in_degree']:g} is not an "
                                "integer (a mean in-degree needs rule fixed_total_number)",
                                path=path, key="in_degree")
        if graph.has_edge(source, target):
            raise DataFileError(f"{where} is listed twice", path=path, key=source)
        graph.add_edge(source, target, rule=rule, **values)
    return graph


def _rows(path: Path) -> list[dict]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DataFileError(f"table {path}: no such file", path=str(path)) from None
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise DataFileError(f"table {path}: not JSON ({error})", path=str(path)) from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise DataFileError(f"table {path}: a JSON list of objects expected",
                                path=str(path))
        return data
    return list(csv.DictReader(text.splitlines()))


def load_area_tables(populations: str | Path, connections: str | Path, *,
                     areas: str | Path | None = None, resolution: float = 0.1
                     ) -> nx.DiGraph:
    """:func:`area_graph` from files (CSV or JSON); ``areas`` a JSON object
    {area: [population, …]} checked against the population table."""
    listed = None
    if areas is not None:
        try:
            listed = json.loads(Path(areas).read_text())
        except (FileNotFoundError, json.JSONDecodeError) as error:
            raise DataFileError(f"areas file {areas}: {error}", path=str(areas)) from None
    return area_graph(_rows(Path(populations)), _rows(Path(connections)), areas=listed,
                      resolution=resolution, path=f"{populations}, {connections}")


@dataclass(frozen=True)
class AreaGraphSource:
    """The graph a :class:`SpikingNetwork` was built from, with the expressions that scale
    it (kept on the network as ``network.source``: down-scaling and the connectivity figure
    read it)."""

    graph: nx.DiGraph
    weight_scale: object = 1
    inhibition: object = 1
    drive_scale: object = 1


def numeric_graph(network: SpikingNetwork, params: Mapping[str, float] | None = None
                  ) -> nx.DiGraph:
    """The area graph of ``network`` with its scale expressions evaluated at ``params``
    (weights × weight_scale, × inhibition where negative; external rates × drive_scale)."""
    source = network.source
    if not isinstance(source, AreaGraphSource):
        raise DataFileError("this spiking network was not built from an area graph "
                            "(ft.graph_network)", path="<network>")
    values = network.resolve(params)
    ws, inh, ds = (float(sp.sympify(e).subs({s: values[s.name] for s in
                                             sp.sympify(e).free_symbols}))
                   for e in (source.weight_scale, source.inhibition, source.drive_scale))
    graph = nx.DiGraph()
    for key, d in source.graph.nodes(data=True):
        graph.add_node(key, **{**d, "w_ext": ws * d["w_ext"], "nu_ext": ds * d["nu_ext"]})
    for s_, t, e in source.graph.edges(data=True):
        factor = ws * (inh if e["weight"] < 0 else 1)
        graph.add_edge(s_, t, **{**e, "weight": factor * e["weight"],
                                 "weight_sd": factor * e["weight_sd"]})
    return graph


def graph_network(graph: nx.DiGraph, params: ParameterSet | None = None, *,
                  weight_scale=1, inhibition=1, drive_scale=1) -> SpikingNetwork:
    """The :class:`SpikingNetwork` of a population graph: one LIF population per node
    (its neuron parameters and drive), one block per edge (fixed in-degree, or the fixed
    total number round(K·N_target), with multapses).
    ``weight_scale``, ``inhibition`` (multiplies negative weights) and ``drive_scale``
    (multiplies the external rates) may be expressions in ``params``, so that a model's
    parameters enter every block."""
    params = params if params is not None else make_parameters()
    populations, drives = [], []
    for key, d in graph.nodes(data=True):
        neuron = LIF(tau_m=d["tau_m"], V_th=d["V_th"], V_reset=d["V_reset"], t_ref=d["t_ref"],
                     E_L=d["E_L"], tau_s=d["tau_s"], C_m=d["C_m"])
        populations.append(SpikingPopulation(key, int(d["size"]), neuron))
        if d["K_ext"] > 0 and d["nu_ext"] > 0:
            drives.append(PoissonDrive(key, drive_scale * d["nu_ext"], d["K_ext"],
                                       weight_scale * d["w_ext"]))
    connections = []
    for source, target, e in graph.edges(data=True):
        if e["in_degree"] == 0:
            continue
        weight = weight_scale * e["weight"] * (inhibition if e["weight"] < 0 else 1)
        sd = weight_scale * e["weight_sd"] * (inhibition if e["weight"] < 0 else 1)
        rule = (FixedTotalNumber(round(e["in_degree"] * graph.nodes[target]["size"]))
                if e.get("rule") == "fixed_total_number"
                else FixedInDegree(e["in_degree"], multapses=True))
        connections.append(Connection(target, source, rule,
                                      weight, weight_sd=sd, delay=e["delay"],
                                      delay_sd=e["delay_sd"]))
    return SpikingNetwork(tuple(populations), tuple(connections), tuple(drives), params,
                          source=AreaGraphSource(graph, weight_scale, inhibition, drive_scale))


def downscale(graph: nx.DiGraph, rates: Mapping[str, float], *, N_scale: float = 1.0,
              K_scale: float = 1.0) -> nx.DiGraph:
    r"""The graph shrunk with the input-preserving compensation of the multi-area model.

    Sizes N → max(1, round(N_scale·N)); every recurrent in-degree K → K′ = round(K_scale·K)
    (at least 1 where K > 0; K_scale·K itself for the mean in-degree of a
    ``fixed_total_number`` edge) with its weights (mean and sd) × c = √(K/K′), so that
    K′E[w′²] = K E[w²] — the white-noise intensity, the colored coefficients and the static
    variance of every input are those of the full network (the sign-kept normal scales
    with its parameters); the mean input lost, τ_m Σ_β K E[w] ν_β (1 − √(K′/K)) with the
    full network's ``rates`` ν_β (Hz, by population key), is given back as a constant
    input: E_L is raised by it. External drives are unchanged. What is not kept: the
    shot noise of jumps c times larger, and the correlations of the inputs (fewer neurons
    share more of their sources; multapses repeat sources where K′ approaches the shrunk
    source population — left out by the theory as in the full network).
    """
    if not (0 < N_scale <= 1 and 0 < K_scale <= 1):
        raise DataFileError(f"downscale: N_scale = {N_scale:g} and K_scale = {K_scale:g} "
                            "must lie in (0, 1]", path="<graph>")
    missing = sorted(set(graph) - set(rates))
    if missing:
        raise DataFileError(f"downscale: no rate for {', '.join(missing)} (the full "
                            "network's rates set the compensation)", path="<graph>")
    from fieldtheory.transforms.spiking import weight_moments

    small = nx.DiGraph()
    small.add_nodes_from(graph)  # the populations in the graph's order
    shift = dict.fromkeys(graph, 0.0)
    for source, target, e in graph.edges(data=True):
        K = e["in_degree"]
        if K == 0:
            continue
        K_new = (K_scale * K if e.get("rule") == "fixed_total_number"
                 else max(1, round(K_scale * K)))
        c = math.sqrt(K / K_new)
        mean = float(weight_moments(e["weight"], e["weight_sd"])[0])
        tau = graph.nodes[target]["tau_m"]
        shift[target] += tau / 1000.0 * K * mean * rates[source] * (1 - 1 / c)
        small.add_edge(source, target, **{**e, "in_degree": K_new,
                                          "weight": c * e["weight"],
                                          "weight_sd": c * e["weight_sd"]})
    for key, d in graph.nodes(data=True):
        small.add_node(key, **{**d, "size": max(1, round(N_scale * d["size"])),
                               "E_L": d["E_L"] + shift[key]})
    return small
