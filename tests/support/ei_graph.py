"""The two-population (E/I) block graph the tests declare their models with."""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx
import sympy as sp

import fieldtheory as ft


def ei_ensemble(fraction: sp.Expr, mean: Callable[[str, str], sp.Expr],
                variance: Callable[[str, str], sp.Expr]) -> ft.BlockGaussian:
    """Populations E (fraction ``fraction``) and I (1 − fraction); the block J_{target,
    source} has mean ``mean(target, source)``/N and variance ``variance(target,
    source)``/N."""
    graph = nx.DiGraph()
    graph.add_node("E", fraction=fraction)
    graph.add_node("I", fraction=1 - fraction)
    for target in "EI":
        for source in "EI":
            graph.add_edge(source, target, mean=mean(target, source),
                           variance=variance(target, source))
    return ft.BlockGaussian.from_graph(graph)
