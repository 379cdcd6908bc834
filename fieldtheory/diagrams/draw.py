"""Draw a diagram with matplotlib (the ``plot`` extra): C/G solid, R as arrows x̃ → x.

External points are open circles labelled with their leg (``x_0``, ``x~_1``), vertices
filled dots labelled with their index into ``theory.vertices``. Parallel edges are drawn
as arcs of alternating curvature; self-loops as small circles beside the vertex.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx

from fieldtheory.diagrams.diagram import Diagram
from fieldtheory.errors import FieldTheoryError

__all__ = ["PlotExtraMissing", "draw"]


class PlotExtraMissing(FieldTheoryError):
    """Drawing needs matplotlib: ``pip install 'fieldtheory[plot]'``."""


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotExtraMissing(
            "drawing diagrams needs matplotlib: pip install 'fieldtheory[plot]'"
        ) from None
    return plt


def draw(diagram: Diagram, ax: Any = None, path: str | Path | None = None) -> Any:
    """Draw ``diagram`` on ``ax`` (a new figure if None); save to ``path`` if given.

    Returns the matplotlib Axes.
    """
    plt = _pyplot()
    from matplotlib.patches import Circle, FancyArrowPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    graph = diagram.graph
    position = (
        nx.kamada_kawai_layout(nx.Graph(graph))
        if len(graph) > 1
        else {node: (0.0, 0.0) for node in graph}
    )
    seen: dict[tuple[int, int], int] = {}
    for u, v, data in graph.edges(data=True):
        style = "-|>" if data["propagator"] == "R" else "-"
        if u == v:
            x, y = position[u]
            k = seen.setdefault((u, u), 0)
            seen[(u, u)] += 1
            radius = 0.12 * (1 + 0.5 * k)
            ax.add_patch(Circle((x, y + radius), radius, fill=False, lw=1.2))
            continue
        pair = (min(u, v), max(u, v))
        k = seen.setdefault(pair, 0)
        seen[pair] += 1
        bend = 0.0 if k == 0 else (0.25 * ((k + 1) // 2)) * (1 if k % 2 else -1)
        ax.add_patch(
            FancyArrowPatch(
                position[u],
                position[v],
                arrowstyle=style,
                mutation_scale=12,
                lw=1.2,
                connectionstyle=f"arc3,rad={bend}",
                linestyle="--" if data["propagator"] == "R" else "-",
            )
        )
    for node, data in graph.nodes(data=True):
        x, y = position[node]
        if data["kind"] == "external":
            ax.plot([x], [y], "o", mfc="white", mec="black", ms=8)
            ax.annotate(
                f"{data['field']}_{data['label']}",
                (x, y),
                xytext=(4, 4),
                textcoords="offset points",
            )
        else:
            ax.plot([x], [y], "o", color="black", ms=7)
    ax.set_title(
        f"1/S = {diagram.symmetry_factor}, order {diagram.order}, {diagram.loops} loop(s)",
        fontsize=9,
    )
    ax.set_aspect("equal")
    ax.margins(0.25)
    ax.axis("off")
    if path is not None:
        ax.figure.savefig(path, bbox_inches="tight")
    return ax
