r"""Wick contractions, counted as labelled multigraphs, grouped into distinct diagrams.

By Isserlis' (Wick's) theorem a Gaussian moment is the sum over all pairings of the legs,
each pair giving a free propagator. Listing pairings one by one grows like (2E − 1)!!;
instead we list the *labelled multigraphs* they produce — e_ij edges between leg slots i
and j (a slot = the legs of one field on one vertex copy or one external point) — and count
the pairings behind each,

.. math::  N = \frac{\prod_i m_i!}{\prod_{i<j} e_{ij}!\,\prod_i e_{ii}!\, 2^{e_{ii}}},

(m_i legs in slot i). Exponentiating the vertices, exp(Σ_v c_v m_v) = Π_v Σ_{n_v}
(c_v m_v)^{n_v}/n_v!, gives each labelled graph the weight N Π_v c_v^{n_v}/n_v!; isomorphic
graphs (relabel vertex copies, keep the external labels) are one diagram, whose weights add.
Its symmetry factor is 1/S = N_total / Π_v (n_v! (Π_f m_{v,f}!)^{n_v}), the inverse order of
its automorphism group (e.g. Zinn-Justin, *QFT and Critical Phenomena*, §4.2).

Causality (Itô, R(t, t) = 0): R self-loops and closed directed loops of R edges vanish,
and ⟨x̃ x̃⟩ = 0; such graphs are never produced. Only connected graphs are kept: their sum
is the cumulant (linked-cluster theorem), and without external legs it is ln Z.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Iterator
from functools import lru_cache

from fieldtheory.diagrams.diagram import Diagram, build_diagram
from fieldtheory.diagrams.theory import PerturbativeTheory
from fieldtheory.errors import ExpansionError
from fieldtheory.resources import require_time

__all__ = ["expand", "vertex_multisets", "labelled_graphs", "slot_layout", "canonical_form"]

Slot = tuple[int, str]  # (node, leg name)


def expand(
    theory: PerturbativeTheory,
    external: tuple[str, ...] = (),
    order: int | None = None,
    loops: int | None = None,
) -> tuple[Diagram, ...]:
    """The connected diagrams of ⟨external⟩ (a cumulant), or of ln Z for ``external=()``.

    Parameters
    ----------
    theory : PerturbativeTheory
    external : tuple of str
        Leg names of the n-point function in order, e.g. ``("x", "x~")`` for the response
        ⟨x(t₀) x̃(t₁)⟩; external node k carries label k.
    order : int, optional
        Largest number of vertices.
    loops : int, optional
        Largest loop number L = E − N + 1 (edges, nodes incl. external points).

    Returns
    -------
    tuple of Diagram
        Sorted by order, loops, then a canonical key; cached on the arguments.
    """
    external = tuple(external)
    for leg in external:
        if leg not in theory.legs:
            raise ExpansionError(f"external leg {leg!r} is not one of {list(theory.legs)}")
    if order is None and loops is None:
        raise ExpansionError("give an order (number of vertices) or a loop number")
    if (order is not None and order < 0) or (loops is not None and loops < 0):
        raise ExpansionError(f"order and loops must be ≥ 0, got {order}, {loops}")
    require_time(estimated_seconds(theory, external, order, loops),
                 f"the expansion of ⟨{' '.join(external)}⟩ to order {order}, loops {loops}")
    return _expand(theory, external, order, loops)


#: Seconds per labelled graph and vertex permutation (measured on φ⁴ orders 3–6:
#: 1.7e-5 to 4e-5 s; the larger is taken).
SECONDS_PER_GRAPH = 4e-5


def estimated_seconds(theory: PerturbativeTheory, external: tuple[str, ...],
                      order: int | None, loops: int | None) -> float:
    r"""An estimate of the expansion's running time, before it runs.

    Per vertex multiset (n_v vertices of degree d_v, L legs with the external ones) the
    engine lists the labelled multigraphs, about (L − 1)!!/Π_v (d_v!)^{n_v} of them (the
    Wick pairings with the legs of each vertex unlabelled), and finds each one's canonical
    form by permutations within colour classes, at most n! for n vertices:
    T ≈ c Σ (L − 1)!! n! / Π (d_v!)^{n_v}, c = :data:`SECONDS_PER_GRAPH`. Computed in
    logarithms (orders of 20 and more overflow floats otherwise).
    """
    total = 0.0
    for counts in vertex_multisets(theory, len(external), order, loops):
        legs = len(external) + sum(n * v.degree for n, v in zip(counts, theory.vertices,
                                                                    strict=True))
        vertices = sum(counts)
        log_pairings = (math.lgamma(legs + 1) - (legs // 2) * math.log(2)
                        - math.lgamma(legs // 2 + 1)) if legs else 0.0
        log_legs = sum(n * math.lgamma(v.degree + 1)
                       for n, v in zip(counts, theory.vertices, strict=True))
        log_work = log_pairings + math.lgamma(vertices + 1) - log_legs
        total += math.exp(min(log_work, 700.0))
        if total * SECONDS_PER_GRAPH > 1e12:  # already beyond any limit: stop counting
            break
    return total * SECONDS_PER_GRAPH


@lru_cache(maxsize=256)
def _expand(theory, external, order, loops) -> tuple[Diagram, ...]:
    diagrams: list[Diagram] = []
    for counts in vertex_multisets(theory, len(external), order, loops):
        slots, _, labels = slot_layout(theory, external, counts)
        classes: dict[tuple, list] = {}
        for edges, count in labelled_graphs(theory, external, counts):
            entry = classes.setdefault(canonical_form(slots, labels, edges), [edges, 0])
            entry[1] += count
        for form, (edges, count) in classes.items():
            key = hashlib.sha1(repr(form).encode()).hexdigest()[:16]
            diagrams.append(build_diagram(theory, external, counts, slots, edges, count, key))
    return tuple(sorted(diagrams, key=lambda d: (d.order, d.loops, d.key)))


def vertex_multisets(
    theory: PerturbativeTheory, n_external: int, order: int | None, loops: int | None
) -> Iterator[tuple[int, ...]]:
    """Vertex counts (n_v) whose connected graphs can have ≤ ``loops`` loops."""
    degrees = [v.degree for v in theory.vertices]
    if order is None:
        low = [v for v in theory.vertices if v.degree < 3]
        if low:
            raise ExpansionError(
                f"vertex {low[0].monomial} has {low[0].degree} leg(s): the loop number does "
                "not bound the order; give an order"
            )
        # L = Σ n_v (d_v/2 − 1) − n/2 + 1 ≥ V/2 − n/2 + 1
        order = 2 * loops + n_external - 2
    for total in range(max(order, -1) + 1):
        for counts in _compositions(total, len(degrees)):
            legs = sum(c * d for c, d in zip(counts, degrees, strict=True)) + n_external
            if legs % 2 or legs == 0:
                continue
            nodes = total + n_external
            loop_number = legs // 2 - nodes + 1
            if loop_number < 0 or (loops is not None and loop_number > loops):
                continue
            yield counts


def _compositions(total: int, parts: int) -> Iterator[tuple[int, ...]]:
    if parts == 0:
        if total == 0:
            yield ()
        return
    for first in range(total, -1, -1):
        for rest in _compositions(total - first, parts - 1):
            yield (first, *rest)


def labelled_graphs(
    theory: PerturbativeTheory, external: tuple[str, ...], counts: tuple[int, ...]
) -> Iterator[tuple[dict[tuple[int, int], int], int]]:
    """Connected, causal labelled multigraphs on the slots, with their pairing counts N.

    Yields ``({(i, j): e_ij}, N)`` with slot indices i ≤ j into :func:`slot_layout`.
    """
    slots, degree, _ = slot_layout(theory, external, counts)
    size = len(slots)
    partners = [
        [j for j in range(i, size) if _joinable(theory, slots[i], slots[j])] for i in range(size)
    ]
    remaining = list(degree)
    chosen: dict[tuple[int, int], int] = {}
    nodes = len(external) + sum(counts)

    def first_open(i: int) -> int:
        while i < size and remaining[i] == 0:
            i += 1
        return i

    def place(i: int, k: int) -> Iterator[None]:
        if remaining[i] == 0:
            nxt = first_open(i + 1)
            if nxt == size:
                yield None
            else:
                yield from place(nxt, 0)
            return
        options = partners[i]
        if k == len(options):
            return
        j = options[k]
        most = remaining[i] // 2 if j == i else min(remaining[i], remaining[j])
        for e in range(most, 0, -1):
            remaining[i] -= 2 * e if j == i else e
            if j != i:
                remaining[j] -= e
            chosen[(i, j)] = e
            yield from place(i, k + 1)
            del chosen[(i, j)]
            remaining[i] += 2 * e if j == i else e
            if j != i:
                remaining[j] += e
        yield from place(i, k + 1)

    start = first_open(0)
    if start == size:
        return
    for _ in place(start, 0):
        if not _connected(slots, chosen, nodes) or _response_loop(slots, chosen):
            continue
        count = math.prod(math.factorial(d) for d in degree)
        for (i, j), e in chosen.items():
            count //= math.factorial(e) * (2**e if i == j else 1)
        yield dict(chosen), count


def slot_layout(
    theory: PerturbativeTheory, external: tuple[str, ...], counts: tuple[int, ...]
) -> tuple[list[Slot], list[int], dict[int, str]]:
    """Slots (node, leg), their leg counts, and node labels for the isomorphism test.

    External point k is node k (label ``"e{k}:{leg}"``); vertex copies follow, vertex type
    by vertex type (label ``"v{index}"``).
    """
    slots: list[Slot] = [(k, leg) for k, leg in enumerate(external)]
    degree = [1] * len(external)
    labels = {k: f"e{k}:{leg}" for k, leg in enumerate(external)}
    node = len(external)
    for index, copies in enumerate(counts):
        legs = theory.vertices[index].legs
        for _ in range(copies):
            for leg in dict.fromkeys(legs):
                slots.append((node, leg))
                degree.append(legs.count(leg))
            labels[node] = f"v{index}"
            node += 1
    return slots, degree, labels


def _joinable(theory: PerturbativeTheory, a: Slot, b: Slot) -> bool:
    found = theory.propagator(a[1], b[1])
    if found is None:
        return False
    # Itô: R(t, t) = 0, so a response leg never contracts with a field leg of its own vertex
    return not (found[0].kind == "R" and a[0] == b[0])


def _connected(slots, chosen, nodes: int) -> bool:
    parent = list(range(nodes))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for i, j in chosen:
        parent[root(slots[i][0])] = root(slots[j][0])
    return len({root(k) for k in range(nodes)}) == 1


def _response_loop(slots, chosen) -> bool:
    """Whether the R edges (response leg → field leg) close a directed cycle."""
    arrows: dict[int, set[int]] = {}
    for i, j in chosen:
        (u, a), (v, b) = slots[i], slots[j]
        if a.endswith("~") != b.endswith("~"):
            tail, head = (u, v) if a.endswith("~") else (v, u)
            arrows.setdefault(tail, set()).add(head)
    state: dict[int, int] = {}

    def cyclic(node: int) -> bool:
        state[node] = 1
        for nxt in arrows.get(node, ()):
            if state.get(nxt) == 1 or (nxt not in state and cyclic(nxt)):
                return True
        state[node] = 2
        return False

    return any(node not in state and cyclic(node) for node in list(arrows))


def canonical_form(slots: list[Slot], labels: dict[int, str], edges: dict) -> tuple:
    """An exact canonical form of a labelled multigraph under relabelling of vertex copies.

    Node colours are refined Weisfeiler–Lehman style (label, then the multiset of
    (own leg, other leg, other colour, multiplicity)) until stable; nodes are ordered by
    colour, and within cells of equal colour every permutation is tried, keeping the least
    edge list. Colours are isomorphism invariants, so isomorphic graphs — and only they —
    get equal forms; the permutations are few except for highly symmetric graphs.
    """
    nodes = sorted(labels)
    links: dict[int, list] = {node: [] for node in nodes}
    for (i, j), e in edges.items():
        (u, a), (v, b) = slots[i], slots[j]
        links[u].append((a, b, v, e))
        if u != v:
            links[v].append((b, a, u, e))
    colour = _refine(nodes, labels, links)
    cells: dict[int, list[int]] = {}
    for node in nodes:
        cells.setdefault(colour[node], []).append(node)
    ordered = [cells[c] for c in sorted(cells)]
    best = None
    for choice in itertools.product(*(itertools.permutations(cell) for cell in ordered)):
        position = {node: k for k, node in enumerate(itertools.chain.from_iterable(choice))}
        form = []
        for (i, j), e in edges.items():
            (u, a), (v, b) = slots[i], slots[j]
            end_a, end_b = (position[u], a), (position[v], b)
            form.append((*min(end_a, end_b), *max(end_a, end_b), e))
        form.sort()
        form = tuple(form)
        if best is None or form < best:
            best = form
    names = tuple(labels[node] for cell in ordered for node in cell)
    return names, best


def _refine(nodes: list[int], labels: dict[int, str], links: dict[int, list]) -> dict[int, int]:
    colour = _rank({node: (labels[node],) for node in nodes})
    while True:
        signature = {
            node: (colour[node], tuple(sorted((a, b, colour[v], e) for a, b, v, e in links[node])))
            for node in nodes
        }
        refined = _rank(signature)
        if len(set(refined.values())) == len(set(colour.values())):
            return refined
        colour = refined


def _rank(signature: dict[int, tuple]) -> dict[int, int]:
    order = {sig: k for k, sig in enumerate(sorted(set(signature.values())))}
    return {node: order[sig] for node, sig in signature.items()}
