"""Excitatory–inhibitory random rate network: two populations, block-structured couplings.

For i ∈ α, j ∈ β: J_ij ~ N(J0_αβ/N, g_αβ²/N) with N the total size; E holds a fraction
f_E of the units. ∂_t x_i = −x_i + Σ_j J_ij tanh(x_j) + I_α + ξ_i.
"""

import networkx as nx

import fieldtheory as ft

p = ft.parameters(
    f_E=(0.8, (0.01, 0.99), "fraction of excitatory units"),
    g_EE=(1.5, "nonnegative"), g_EI=(1.5, "nonnegative"),
    g_IE=(1.5, "nonnegative"), g_II=(1.5, "nonnegative"),
    J0_EE=(1.0, "nonnegative"), J0_EI=(-4.0, (float("-inf"), 0)),
    J0_IE=(1.0, "nonnegative"), J0_II=(-4.0, (float("-inf"), 0)),
    D=(0.0, "nonnegative", "white-noise intensity"),
    I_E=(0.0, "real", "input to E"), I_I=(0.0, "real", "input to I"),
)
s = {q.name: q.symbol for q in p}
graph = nx.DiGraph()
graph.add_node("E", fraction=s["f_E"])
graph.add_node("I", fraction=1 - s["f_E"])
for target in "EI":
    for source in "EI":
        # edge source -> target: block J_{target, source}
        graph.add_edge(source, target, mean=s[f"J0_{target}{source}"],
                       variance=s[f"g_{target}{source}"] ** 2)

x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
model = ft.Model(
    "ei",
    ft.langevin(
        drift={x: -x(t) + J @ ft.tanh(x(t)) + ft.by_population("I", E=s["I_E"], I=s["I_I"])},
        noise={x: s["D"]},
        couplings={J: ft.BlockGaussian.from_graph(graph)},
        parameters=p,
    ),
    "two-population (E/I) random rate network, φ = tanh",
)
