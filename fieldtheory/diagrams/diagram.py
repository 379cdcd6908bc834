r"""One Feynman diagram: its graph, counts, symmetry factor, weight and sympy expression."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx
import sympy as sp

from fieldtheory.diagrams.theory import PerturbativeTheory

__all__ = ["Diagram", "build_diagram", "external_time", "internal_time"]


def external_time(label: int) -> sp.Symbol:
    """t_k: the time of external point k."""
    return sp.Symbol(f"t_{label}", real=True)


def internal_time(k: int) -> sp.Symbol:
    """s_k: the time of the k-th vertex (k = 1, 2, …), integrated over."""
    return sp.Symbol(f"s_{k}", real=True)


@dataclass(frozen=True)
class Diagram:
    r"""A connected Feynman diagram (one isomorphism class of Wick contractions).

    Its value is ``weight`` × ∫ Π_vertices ds_v Π_edges propagator, which ``expression``
    writes out (zero dimensions: the number weight × Π G).

    Contract (used by ``fieldtheory.diagrams.loops``):

    * ``graph`` — a ``networkx.MultiDiGraph`` with int nodes. Node attribute ``kind`` is
      ``"external"`` or ``"vertex"``. External nodes (numbered 0..n−1) carry ``label``
      (int, the position of the leg in the requested n-point function) and ``field`` (str,
      the leg name, a response field with a tilde: ``"x~"``); their time is ``t_label``.
      Vertex nodes carry ``vertex`` (int index into ``theory.vertices``) and ``time``
      (the integration variable s_k).
    * Edge attribute ``propagator`` ∈ {"C", "R", "G"}. An ``"R"`` edge points FROM the
      node carrying the response leg x̃ (earlier time s) TO the node carrying the field leg
      x (later time t): it stands for R(t_head, t_tail) = ⟨x(t_head) x̃(t_tail)⟩. ``"C"``
      is ⟨x x⟩ (direction meaningless), ``"G"`` the zero-dimensional propagator. Edge
      attribute ``fields`` = (leg name at the tail, leg name at the head).
    * ``order`` (number of vertices), ``loops`` (E − N + 1), ``count`` (number of Wick
      contractions), ``symmetry_factor`` (1/S = count / Π_v n_v! (Π_f m_{v,f}!)^{n_v}),
      ``weight`` (count × Π_v c_v^{n_v}/n_v!, so that value = weight × ∫ Π propagators),
      ``expression`` (sympy), ``vertex_counts`` (n_v per vertex type), ``external``.

    Equivalently value = symmetry_factor × Π_v (vertex factor c_v Π_f m_{v,f}!)^{n_v} × ∫….
    """

    order: int
    loops: int
    count: int
    symmetry_factor: sp.Rational
    weight: sp.Expr
    expression: sp.Expr
    external: tuple[str, ...]
    vertex_counts: tuple[int, ...]
    key: str
    graph: nx.MultiDiGraph = field(compare=False, hash=False, repr=False)

    def structure(self) -> str:
        """The lines, e.g. ``G(x@0, v2) G(x@1, v2) G(v2, v2)``: external legs as leg@label,
        vertex copies as v<node>; R lines written R(head, tail), others (tail, head)."""

        def name(node: int) -> str:
            data = self.graph.nodes[node]
            return f"{data['field']}@{data['label']}" if data["kind"] == "external" else f"v{node}"

        out = []
        for u, v, data in sorted(self.graph.edges(data=True), key=lambda e: (e[0], e[1])):
            ends = (v, u) if data["propagator"] == "R" else (u, v)
            out.append(f"{data['propagator']}({name(ends[0])}, {name(ends[1])})")
        return " ".join(out)

    def text(self) -> str:
        from fieldtheory.printing import text

        return text(self.expression)

    def latex(self) -> str:
        from fieldtheory.printing import latex

        return latex(self.expression)

    def to_json(self) -> dict:
        """``{"order", "loops", "symmetry_factor", "expression", "external"}`` (strings)."""
        return {
            "order": self.order,
            "loops": self.loops,
            "symmetry_factor": str(self.symmetry_factor),
            "expression": str(self.expression),
            "external": list(self.external),
        }


def build_diagram(
    theory: PerturbativeTheory,
    external: tuple[str, ...],
    counts: tuple[int, ...],
    slots: list[tuple[int, str]],
    edges: dict[tuple[int, int], int],
    count: int,
    key: str,
) -> Diagram:
    """The :class:`Diagram` of one labelled multigraph (a representative of its class)."""
    graph = nx.MultiDiGraph()
    times: dict[int, sp.Symbol] = {}
    for label, leg in enumerate(external):
        graph.add_node(label, kind="external", label=label, field=leg)
        times[label] = external_time(label)
    node = len(external)
    for index, copies in enumerate(counts):
        for _ in range(copies):
            times[node] = internal_time(node - len(external) + 1)
            graph.add_node(node, kind="vertex", vertex=index, time=times[node])
            node += 1
    factors = []
    for (i, j), e in sorted(edges.items()):
        (u, a), (v, b) = slots[i], slots[j]
        propagator, a_is_tail = theory.propagator(a, b)
        if not a_is_tail:
            (u, a), (v, b) = (v, b), (u, a)
        for _ in range(e):
            graph.add_edge(u, v, propagator=propagator.kind, fields=(a, b))
            factors.append(propagator(times[u], times[v]))
    weight = count * sp.Mul(
        *(theory.vertices[k].coefficient ** n / sp.factorial(n) for k, n in enumerate(counts))
    )
    symmetry = sp.Rational(
        count,
        math.prod(
            math.factorial(n) * theory.vertices[k].leg_permutations ** n
            for k, n in enumerate(counts)
        ),
    )
    body = sp.Mul(*factors)
    internal = [times[k] for k in range(len(external), node)]
    if theory.zero_dimensional or not internal:
        expression = weight * body
    else:
        expression = weight * sp.Integral(body, *((s, -sp.oo, sp.oo) for s in internal))
    order = sum(counts)
    loops = graph.number_of_edges() - graph.number_of_nodes() + 1
    return Diagram(
        order, loops, count, symmetry, sp.sympify(weight), expression, external, counts, key, graph
    )
