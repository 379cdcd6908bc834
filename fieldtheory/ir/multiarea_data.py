r"""A loader for the multi-area model's own connectivity files (issue 19).

The multi-area model of macaque visual cortex (Schmidt et al., Brain Struct. Funct. 223,
1409 (2018); its executable specification: arXiv:2011.11335; code: INM-6
``multi-area-model``) writes the network its data scripts compute to one JSON file,
``custom_Data_Model_<label>.json`` (``config_files/`` after a ``MultiAreaModel`` is built).
The keys read here, all nested by *target* first:

* ``area_list`` — the areas; ``structure`` — {area: [population, …]} (TH lacks 4E, 4I);
* ``neuron_numbers`` — {area: {population: N, "total": …}} (floats; rounded here);
* ``synapses`` — {target area: {target pop: {source area: {source pop: n},
  "external": {"external": n}}}}: synapse *numbers*, so the mean in-degree is
  n / N_target (the model connects them by NEST's ``fixed_total_number``);
* ``synapse_weights_mean``, ``synapse_weights_sd`` — the same nesting, PSC amplitudes in
  pA (negative from inhibitory sources; the external weight under ``"external"``);
* ``distances`` — {area: {area: mm}}, the inter-area delay being distance / speed.

What the file does not hold is taken from the model's defaults and may be given:
the neuron (``iaf_psc_exp``: E_L = −65 mV, V_th = −50 mV, V_reset = −65 mV,
C_m = 250 pF, τ_m = 10 ms, τ_s = 0.5 ms, t_ref = 2 ms), the external Poisson rate
(10 Hz), delays (1.5 ms excitatory and 0.75 ms inhibitory within an area, distance /
3.5 mm/ms between areas, all with a relative sd of 0.5). A PSC amplitude w (pA) becomes
the jump J = w τ_s / C_m (mV) of :class:`~fieldtheory.ir.spiking.LIF`'s convention
(the charge of the PSC over C_m). Stabilised in-degrees (the model's ``K_stable``, a
separate matrix) are not read: pass them by editing the graph's ``in_degree``.

``areas=`` keeps a subset; the connections from areas left out are dropped (the model
can replace them by Poisson input instead — add ``PoissonDrive``\ s for that).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import networkx as nx

from fieldtheory.errors import DataFileError
from fieldtheory.ir.area_graph import area_graph

__all__ = ["MAM_DELAYS", "MAM_NEURON", "load_multiarea_data"]

#: the multi-area model's single-neuron defaults (its names; NEST's ``iaf_psc_exp``)
MAM_NEURON = {"E_L": -65.0, "V_th": -50.0, "V_reset": -65.0, "C_m": 250.0, "tau_m": 10.0,
              "tau_syn_ex": 0.5, "tau_syn_in": 0.5, "t_ref": 2.0}
#: its delays: ms within an area, mm/ms between areas, the relative sd of all
MAM_DELAYS = {"delay_e": 1.5, "delay_i": 0.75, "interarea_speed": 3.5, "delay_rel": 0.5}
_KEYS = ("area_list", "structure", "neuron_numbers", "synapses", "synapse_weights_mean",
         "synapse_weights_sd", "distances")


def _entry(data: Mapping, path: str, *keys):
    node = data
    for k, key in enumerate(keys):
        if not isinstance(node, Mapping) or key not in node:
            where = "][".join(repr(x) for x in keys[:k + 1])
            raise DataFileError(f"{path}: no entry [{where}]", path=path, key=str(key))
        node = node[key]
    return node


def _float(value, path: str, where: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DataFileError(f"{path}: {where} = {value!r} is not a number", path=path,
                            key=where) from None


def load_multiarea_data(path: str | Path, *, areas: Iterable[str] | None = None,
                        rate_ext: float = 10.0, neuron: Mapping[str, float] | None = None,
                        delays: Mapping[str, float] | None = None,
                        resolution: float = 0.1) -> nx.DiGraph:
    """The area graph of a multi-area-model data file (``custom_Data_Model_*.json``).

    Nodes ``AREA/POP`` for every population of ``structure`` with a positive neuron
    number (254 in the published model: TH has no layer 4), each with the external
    Poisson drive (in-degree n_ext / N, ``rate_ext`` Hz, the external weight); edges
    with a positive synapse number, ``rule = fixed_total_number``, mean in-degree
    n / N_target, weights and sds converted to mV, delays as above. The result goes
    through :func:`~fieldtheory.ir.area_graph.area_graph`, so the same named
    :class:`~fieldtheory.errors.DataFileError`\\ s apply (a delay below ``resolution``,
    a negative number, a population the structure does not list); a missing key names
    its path in the file.
    """
    path = str(path)
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file", path=path) from None
    except json.JSONDecodeError as error:
        raise DataFileError(f"{path}: not JSON ({error})", path=path) from None
    for key in _KEYS:
        _entry(data, path, key)
    cell = {**MAM_NEURON, **(neuron or {})}
    unknown = sorted(set(cell) - set(MAM_NEURON))
    if unknown:
        raise DataFileError(f"neuron parameters {', '.join(unknown)} are not the multi-area "
                            f"model's ({', '.join(MAM_NEURON)})", path=path, key=unknown[0])
    if cell["tau_syn_ex"] != cell["tau_syn_in"]:
        raise DataFileError("tau_syn_ex and tau_syn_in differ: ft.LIF has one synaptic "
                            "time constant", path=path, key="tau_syn_in")
    delay = {**MAM_DELAYS, **(delays or {})}
    area_list = list(data["area_list"])
    keep = area_list if areas is None else list(areas)
    for a in keep:
        if a not in area_list:
            raise DataFileError(f"area {a!r} is not in the file's area_list "
                                f"({', '.join(area_list)})", path=path, key=a)
    structure = {a: [p for p in _entry(data, path, "structure", a)
                     if _float(_entry(data, path, "neuron_numbers", a, p), path,
                               f"neuron_numbers[{a}][{p}]") >= 0.5] for a in keep}
    jump = cell["tau_syn_ex"] / cell["C_m"]  # mV per pA
    populations = []
    for a in keep:
        for p in structure[a]:
            size = round(_float(data["neuron_numbers"][a][p], path, f"neuron_numbers[{a}]"
                                f"[{p}]"))
            n_ext = _float(_entry(data, path, "synapses", a, p, "external", "external"),
                           path, f"synapses[{a}][{p}][external]")
            w_ext = _float(_entry(data, path, "synapse_weights_mean", a, p, "external",
                                  "external"), path, f"synapse_weights_mean[{a}][{p}]"
                                                     "[external]")
            populations.append({
                "area": a, "population": p, "size": size, "tau_m": cell["tau_m"],
                "V_th": cell["V_th"], "V_reset": cell["V_reset"], "t_ref": cell["t_ref"],
                "E_L": cell["E_L"], "tau_s": cell["tau_syn_ex"], "C_m": cell["C_m"],
                "K_ext": n_ext / size, "nu_ext": rate_ext, "w_ext": w_ext * jump})
    connections = []
    for ta in keep:
        for tp in structure[ta]:
            size = round(data["neuron_numbers"][ta][tp])
            for sa in keep:
                for sp_ in structure[sa]:
                    n = _float(_entry(data, path, "synapses", ta, tp, sa, sp_), path,
                               f"synapses[{ta}][{tp}][{sa}][{sp_}]")
                    if n == 0:
                        continue
                    w = _float(_entry(data, path, "synapse_weights_mean", ta, tp, sa, sp_),
                               path, f"synapse_weights_mean[{ta}][{tp}][{sa}][{sp_}]")
                    sd = _float(_entry(data, path, "synapse_weights_sd", ta, tp, sa, sp_),
                                path, f"synapse_weights_sd[{ta}][{tp}][{sa}][{sp_}]")
                    if ta == sa:
                        mean_delay = delay["delay_e"] if w >= 0 else delay["delay_i"]
                    else:
                        mm = _float(_entry(data, path, "distances", ta, sa), path,
                                    f"distances[{ta}][{sa}]")
                        mean_delay = mm / delay["interarea_speed"]
                    connections.append({
                        "source": f"{sa}/{sp_}", "target": f"{ta}/{tp}",
                        "in_degree": n / size, "weight": w * jump,
                        "weight_sd": sd * jump, "delay": mean_delay,
                        "delay_sd": delay["delay_rel"] * mean_delay,
                        "rule": "fixed_total_number"})
    return area_graph(populations, connections, areas=structure, resolution=resolution,
                      path=path)
