"""The diagram engine against a deliberately naive Isserlis enumerator.

The oracle below shares no code with fieldtheory.diagrams: for every vertex multiset it
lists *all* pairings of *all* legs (externals and every leg of every vertex copy, each leg
distinct), keeps those whose pairs all have a nonzero free propagator (given here by hand
for each action, from its Gaussian part), that are connected and — in dynamics — free of
R(t, t) and of closed directed response loops, and adds 1 per pairing to the count and
Π_v c_v^{n_v}/n_v! to the weight. The engine must reproduce both sums, order by order.
"""

from __future__ import annotations

import itertools
import math

import networkx as nx
import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.diagrams import expand, perturbative_theory

lam, g, a, b, c, D = sp.symbols("lam g a b c D", real=True)


def zero_dim(lagrangian_of, fields=("x",), **params):
    """A zero-dimensional action; parameters are real symbols, equal to the ones above."""
    fs = [ft.Field(f) for f in fields]
    return ft.Action(
        lagrangian_of(*[f() for f in fs]),
        tuple(fs),
        parameters=ft.parameters(**params),
        time=ft.ZERO_DIMENSIONAL,
    )


def unit(drift_of, noise_of, fields=("x",), **params):
    """S = ∫dt Σ_f f̃(−∂_t f + drift_f) + noise(responses, values)."""
    fs = [ft.Field(f) for f in fields]
    t = ft.t
    values = [f(t) for f in fs]
    drift = dict(zip(fs, drift_of(*values), strict=True))
    lagrangian = sum(f.response(t) * (-sp.Derivative(f(t), t) + drift[f]) for f in fs)
    lagrangian += noise_of(*[f.response(t) for f in fs], *values)
    return ft.Action(lagrangian, tuple(fs), parameters=ft.parameters(**params))


# Each case: the action, the vertices as the oracle sees them (coefficient, legs), the
# pairs of legs with a nonzero free propagator (R marked by the response leg), and the
# n-point functions and orders to check.
CASES = {
    "phi3": (
        zero_dim(lambda x: -(x**2) / 2 + g * x**3 / 6, g=0.1),
        [(g / 6, ("x",) * 3)],
        {("x", "x"): 1},
        [(), ("x",), ("x", "x")],
        4,
    ),
    "phi4": (
        zero_dim(lambda x: -(x**2) / 2 - lam * x**4 / 24, lam=0.1),
        [(-lam / 24, ("x",) * 4)],
        {("x", "x"): 1},
        [(), ("x", "x")],
        3,
    ),
    "phi3+phi4+source": (
        zero_dim(lambda x: -(x**2) / 2 + g * x + g * x**3 / 6 - lam * x**4 / 24, g=0.1, lam=0.1),
        [(g, ("x",)), (g / 6, ("x",) * 3), (-lam / 24, ("x",) * 4)],
        {("x", "x"): 1},
        [(), ("x",), ("x", "x")],
        3,
    ),
    "two fields": (
        zero_dim(
            lambda x, y: -(x**2) / 2 - y**2 + x * y / 2 + g * x**2 * y + g * y**3, ("x", "y"), g=0.1
        ),
        [(g, ("x", "x", "y")), (g, ("y", "y", "y"))],
        # G = K⁻¹, K = [[1, −1/2], [−1/2, 2]]
        {
            ("x", "x"): sp.Rational(8, 7),
            ("x", "y"): sp.Rational(2, 7),
            ("y", "y"): sp.Rational(4, 7),
        },
        [(), ("x",), ("y",), ("x", "y")],
        3,
    ),
}

MSRDJ = {
    "multiplicative noise": (
        unit(lambda x: [-x - a * x**3], lambda r, x: D / 2 * r**2 + a * r**2 * x, a=0.1, D=1.0),
        [(a, ("x", "x~", "x~")), (-a, ("x", "x", "x", "x~"))],
        [(("x",), 3, True), (("x", "x"), 3, True), (("x", "x~"), 3, True), ((), 3, False)],
    ),
    "cubic+quartic": (
        unit(lambda x: [-x - b * x**2 - a * x**3], lambda r, x: D / 2 * r**2, b=0.1, a=0.1, D=1.0),
        [(-b, ("x", "x", "x~")), (-a, ("x", "x", "x", "x~"))],
        [
            (("x",), 3, True),
            (("x", "x"), 3, True),
            (("x", "x~"), 3, True),
            (("x~", "x~"), 2, False),
        ],
    ),
    "two fields": (
        unit(
            lambda x, y: [-x + c * y * x, -y + c * x**2],
            lambda r, q, x, y: D / 2 * r**2 + D / 2 * q**2,
            ("x", "y"),
            c=0.1,
            D=1.0,
        ),
        [(c, ("x", "x", "y~")), (c, ("x", "y", "x~"))],
        # x → −x is a symmetry: odd cumulants in x vanish, and the engine must agree
        [
            (("y",), 3, True),
            (("x", "x"), 3, True),
            (("y", "y~"), 3, True),
            (("x", "x~"), 3, True),
            (("x",), 3, False),
            (("x", "y"), 3, False),
            ((), 3, False),
        ],
    ),
}


def naive(vertices, allowed, external, counts, dynamic, propagator=None):
    """All Isserlis pairings of all legs: (count, weight, with_loops[, value]).

    ``propagator`` (zero dimensions) maps a pair of leg names to G; then the summed value
    Σ_pairings Π_v c_v^{n_v}/n_v! Π_pairs G is returned too.
    """
    legs = [(("ext", k), leg) for k, leg in enumerate(external)]
    for v, n in enumerate(counts):
        for copy in range(n):
            legs += [((v, copy), leg) for leg in vertices[v][1]]
    nodes = {node for node, _ in legs}
    count = 0

    def ok(p, q):
        (u, a_), (w, b_) = p, q
        if (a_, b_) not in allowed and (b_, a_) not in allowed:
            return False
        response = a_.endswith("~") != b_.endswith("~")
        return not (dynamic and response and u == w)  # R(t, t) = 0

    def pairings(rest):
        if not rest:
            yield []
            return
        first = rest[0]
        for k in range(1, len(rest)):
            if ok(first, rest[k]):
                for tail in pairings(rest[1:k] + rest[k + 1 :]):
                    yield [(first, rest[k]), *tail]

    with_loops = 0
    value = sp.Integer(0)
    for pairing in pairings(legs):
        if not _connected(nodes, pairing):
            continue
        if dynamic and _response_cycle(pairing):
            with_loops += 1
            continue
        count += 1
        if propagator:
            value += sp.Mul(*(propagator[frozenset((p[1], q[1]))] for p, q in pairing))
    factor = sp.Mul(*(vertices[v][0] ** n / sp.factorial(n) for v, n in enumerate(counts)))
    if propagator:
        return count, sp.expand(count * factor), with_loops, sp.expand(value * factor)
    return count, sp.expand(count * factor), with_loops


def _connected(nodes, pairing):
    seen, stack = set(), [next(iter(nodes))]
    links = {}
    for (u, _), (w, _) in pairing:
        links.setdefault(u, set()).add(w)
        links.setdefault(w, set()).add(u)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(links.get(node, ()))
    return seen == nodes


def _response_cycle(pairing):
    arrows = {}
    for (u, a_), (w, b_) in pairing:
        if a_.endswith("~") and not b_.endswith("~"):
            arrows.setdefault(u, set()).add(w)
        elif b_.endswith("~") and not a_.endswith("~"):
            arrows.setdefault(w, set()).add(u)
    # a directed cycle exists iff repeatedly removing sinks does not empty the graph
    nodes = set(arrows) | {w for ws in arrows.values() for w in ws}
    while True:
        sinks = {n for n in nodes if not (arrows.get(n, set()) & nodes)}
        if not sinks:
            return bool(nodes)
        nodes -= sinks


def multisets(n_vertices, order):
    for counts in itertools.product(range(order + 1), repeat=n_vertices):
        if sum(counts) <= order:
            yield counts


def engine_sums(theory, external, order):
    sums = {}
    for d in expand(theory, external, order=order):
        count, weight, value = sums.get(d.vertex_counts, (0, 0, 0))
        sums[d.vertex_counts] = (
            count + d.count,
            sp.expand(weight + d.weight),
            sp.expand(value + d.expression),
        )
    return sums


def check(action, vertices, allowed, external, order, dynamic, total_legs=14, propagator=None):
    theory = perturbative_theory(action)
    # the oracle's vertex list must be the engine's, in the engine's order
    assert [(v.coefficient, v.legs) for v in theory.vertices] == vertices
    engine = engine_sums(theory, external, order)
    checked = 0
    for counts in multisets(len(vertices), order):
        legs = len(external) + sum(n * len(vertices[v][1]) for v, n in enumerate(counts))
        if legs % 2 or legs == 0:
            assert counts not in engine  # no pairing at all
            continue
        if legs > total_legs:  # beyond what the naive enumerator lists in seconds
            continue
        expected = naive(vertices, allowed, external, counts, dynamic, propagator)
        got = engine.get(counts, (0, 0, 0))
        assert got[0] == expected[0], (external, counts, got, expected)
        assert sp.expand(got[1] - expected[1]) == 0, (external, counts, got, expected)
        if propagator:  # zero dimensions: the values, Π G included
            assert sp.expand(got[2] - expected[3]) == 0, (external, counts, got, expected)
        checked += expected[0]
    return checked


@pytest.mark.parametrize("name", sorted(CASES))
def test_zero_dimensional_actions_match_brute_force(name):
    action, vertices, values, externals, order = CASES[name]
    propagator = {frozenset(pair): g_ for pair, g_ in values.items()}
    for external in externals:
        checked = check(action, vertices, set(values), external, order, False, 12, propagator)
        assert checked > 0


@pytest.mark.parametrize("name", sorted(MSRDJ))
def test_msrdj_actions_match_brute_force(name):
    action, vertices, checks = MSRDJ[name]
    allowed = _allowed(perturbative_theory(action).legs, name)
    for external, order, nonzero in checks:
        # ⟨x̃ ⋯ x̃⟩ and ln Z vanish by causality, odd ones by symmetry, the rest do not
        checked = check(action, vertices, allowed, external, order, True, total_legs=12)
        assert (checked > 0) == nonzero, external


def _allowed(legs, name):
    """Nonzero free propagators, read by hand off each Gaussian part."""
    if name == "two fields":
        # x and y are independent OU processes (diagonal leak, diagonal noise)
        return {("x", "x"), ("y", "y"), ("x~", "x"), ("y~", "y")}
    return {("x", "x"), ("x~", "x")}


def test_causality_removes_exactly_the_closed_response_loops():
    """Brute force *with* the response-loop pairings counts more; without, it matches."""
    action, vertices, _ = MSRDJ["cubic+quartic"]
    theory = perturbative_theory(action)
    allowed = {("x", "x"), ("x~", "x")}
    for external, counts in [
        (("x", "x"), (2, 0)),
        (("x", "x~"), (2, 0)),
        ((), (0, 2)),
        (("x",), (1, 1)),
    ]:
        count, _, looped = naive(vertices, allowed, external, counts, dynamic=True)
        engine = sum(
            d.count
            for d in expand(theory, external, order=sum(counts))
            if d.vertex_counts == counts
        )
        assert looped > 0, (external, counts)
        assert engine == count
    for d in expand(theory, ("x", "x~"), order=3):
        responses = [(u, v) for u, v, e in d.graph.edges(data=True) if e["propagator"] == "R"]
        assert all(u != v for u, v in responses)  # R(t, t) = 0
        assert nx.is_directed_acyclic_graph(nx.DiGraph(responses))


def test_msrdj_vacuum_diagrams_vanish():
    """Every MSRDJ vertex has an x̃ leg, so every vacuum graph closes a response loop: Z = 1."""
    for action, _, _ in MSRDJ.values():
        assert expand(perturbative_theory(action), (), order=4) == ()


def test_response_edges_run_from_the_response_leg():
    action = MSRDJ["cubic+quartic"][0]
    (free,) = expand(perturbative_theory(action), ("x", "x~"), order=0)
    assert list(free.graph.edges(data=True)) == [(1, 0, {"propagator": "R", "fields": ("x~", "x")})]
    assert str(free.expression) == "R(t_0, t_1)"
    assert math.isclose(float(free.symmetry_factor), 1.0)


def _undirected(diagram):
    graph = nx.MultiGraph()
    for node, data in diagram.graph.nodes(data=True):
        graph.add_node(node, label=(data["kind"], data.get("label"), data.get("vertex")))
    graph.add_edges_from(diagram.graph.edges())
    return graph


@pytest.mark.parametrize("external", [(), ("x", "x"), ("x", "x", "x", "x")])
def test_phi4_diagrams_are_distinct_and_their_factors_are_one_over_automorphisms(external):
    """networkx as the oracle: distinct diagrams are non-isomorphic (external labels fixed),
    and 1/S = 1/(|Aut_V| Π_{u<v} e_uv! Π_v e_vv! 2^{e_vv}) (Aut_V: node permutations)."""
    theory = perturbative_theory(CASES["phi4"][0])
    diagrams = expand(theory, external, order=3)
    graphs = [_undirected(d) for d in diagrams]
    same = nx.algorithms.isomorphism.categorical_node_match("label", None)
    for i, j in itertools.combinations(range(len(graphs)), 2):
        assert not nx.is_isomorphic(graphs[i], graphs[j], node_match=same), (i, j)
    for d, graph in zip(diagrams, graphs, strict=True):
        matcher = nx.algorithms.isomorphism.GraphMatcher(graph, graph, node_match=same)
        automorphisms = sum(1 for _ in matcher.isomorphisms_iter())
        lines = 1
        for u, v in set(graph.edges()):
            e = graph.number_of_edges(u, v)
            lines *= math.factorial(e) * (2**e if u == v else 1)
        assert d.symmetry_factor == sp.Rational(1, automorphisms * lines), d
