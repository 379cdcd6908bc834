"""A small multi-area model: areas of Potjans–Diesmann microcircuits on a hierarchy (issue 19).

The structure of the multi-area model of macaque visual cortex (Schmidt et al., Brain
Struct. Funct. 223, 1409 (2018); arXiv:2011.11335) at a size that tests and examples can
solve: ``AREAS`` = A1 → A2 → A3, each the 8-population microcircuit of
``lif_microcircuit`` (its sizes, in-degrees n_αβ/N_α, weights, delays, τ_s, K_ext), joined
by a stated rule in place of tract-tracing data:

* feed-forward: L2/3E of an area → L4E and L4I of the next, with in-degree 10 % of the
  target's external in-degree K_ext (delay 3 ms);
* feedback: L5E of an area → L2/3E, L2/3I and L6E of the previous, in-degree 5 % of K_ext;
* the external Poisson in-degree of each target is reduced by what it receives from other
  areas, so every population keeps K_ext excitatory inputs from outside its area.

Populations are the graph's nodes ``A1/L23E`` …; ``solve`` reports each under
``populations`` with its ``rate``, per-area summaries under ``areas``, and the stability
of the stationary rates. Parameters: ``g`` (relative inhibition), ``nu_bg`` (external
rate, Hz), ``w`` (PSC amplitude, pA).
"""

import math

from fieldtheory.models.lif_microcircuit import K_EXT, NAMES, SIZES, C

import fieldtheory as ft
from fieldtheory.ir.area_graph import area_graph, graph_network

AREAS = ("A1", "A2", "A3")
FEEDFORWARD = ("L23E", ("L4E", "L4I"), 0.10)
FEEDBACK = ("L5E", ("L23E", "L23I", "L6E"), 0.05)
J = 87.8 * 0.5 / 250.0  # mV: the jump of a 87.8 pA PSC (τ_s = 0.5 ms, C_m = 250 pF)


def tables(areas=AREAS):
    """(populations, connections) rows of the example, by the rule above, for a chain of
    ``areas`` (the benchmark's 32 × 8 graph is ``tables([f"A{k}" for k in range(32)])``)."""
    inter = {}  # (source key, target key) → in-degree
    for k in range(len(areas)):
        for (src, targets, share), step in ((FEEDFORWARD, 1), (FEEDBACK, -1)):
            if 0 <= k + step < len(areas):
                for t in targets:
                    target = NAMES.index(t)
                    inter[(f"{areas[k]}/{src}", f"{areas[k + step]}/{t}")] = round(
                        share * K_EXT[target])
    received = {}
    for (_, target), K in inter.items():
        received[target] = received.get(target, 0) + K
    populations = [
        {"area": a, "population": n, "size": size, "tau_m": 10.0, "V_th": -50.0,
         "V_reset": -65.0, "t_ref": 2.0, "E_L": -65.0, "tau_s": 0.5, "C_m": 250.0,
         "K_ext": k_ext - received.get(f"{a}/{n}", 0), "nu_ext": 8.0, "w_ext": J}
        for a in areas for n, size, k_ext in zip(NAMES, SIZES, K_EXT, strict=True)]
    connections = []
    for a in areas:
        for i, target in enumerate(NAMES):
            for j, source in enumerate(NAMES):
                if C[i][j] == 0:
                    continue
                total = math.log(1 - C[i][j]) / math.log(1 - 1 / (SIZES[i] * SIZES[j]))
                weight = -4.0 * J if source.endswith("I") else J * (
                    2 if (target, source) == ("L23E", "L4E") else 1)
                connections.append({
                    "source": f"{a}/{source}", "target": f"{a}/{target}",
                    "in_degree": round(total / SIZES[i]), "weight": weight,
                    "weight_sd": 0.1 * abs(weight),
                    "delay": 1.5 if source.endswith("E") else 0.75,
                    "delay_sd": 0.75 if source.endswith("E") else 0.375})
    connections += [{"source": s, "target": t, "in_degree": K, "weight": J,
                     "weight_sd": 0.1 * J, "delay": 3.0} for (s, t), K in inter.items()]
    return populations, connections


p = ft.parameters(
    g=(1.0, "positive", "inhibition relative to the microcircuit's (weights × g)"),
    drive=(1.0, "positive", "external rate relative to 8 Hz"),
    w=(1.0, "positive", "all weights relative to the microcircuit's (87.8 pA)"),
)
network = graph_network(area_graph(*tables()), p, weight_scale=p.w, inhibition=p.g,
                        drive_scale=p.drive)
model = ft.Model("multi_area_example", network,
                 "three Potjans–Diesmann microcircuits on a hierarchy (feed-forward L2/3E → "
                 "L4, feedback L5E → L2/3, L6): the structure of the multi-area model",
                 "Schmidt et al., Brain Struct. Funct. 223, 1409 (2018); arXiv:2011.11335")
