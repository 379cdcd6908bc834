r"""The time-domain diagram evaluator alone, on diagrams with closed forms.

Hand-built graphs (the engine's contract: externals with ``label``, vertices, edges with
``propagator``; R edges point from the response leg to the later field leg) of the
Ornstein–Uhlenbeck process perturbed by a mass shift −δk x̃x, whose exact propagators are
C_k(τ) = D e^{−k|τ|}/(2k) and R_k(τ) = e^{−kτ}. The sum of the chains with n insertions
is δkⁿ ∂ₖⁿ/n! of the exact result at k = 1 (Taylor), e.g. the one-loop tadpole of the
cubic unit −3aC(0)∫du [R(τ,u)C(0,u) + C(τ,u)R(0,u)] = −3a (D/2)² (1 + τ) e^{−τ}:

* n = 1:  Σ = −δk (D/2)(1 + τ) e^{−τ},   response −δk τ e^{−τ};
* n = 2:  Σ = δk² (D/4)(2 + 2τ + τ²) e^{−τ},   response δk² τ² e^{−τ}/2;
* n = 3:  Σ = −δk³ (D/2)(6 + 6τ + 3τ² + τ³) e^{−τ}/6,   response −δk³ τ³ e^{−τ}/6.

Checks: the raw trapezoidal rule converges at order 2 (the jump of R carries the mean of
its one-sided limits), one and two Richardson steps at orders 4 and 6 (log-log slopes),
and the reported error estimate bounds the true error. The response chains have a constant
integrand (e^{−τ} on the simplex 0 < u₁ < … < uₙ < τ): with the jumps of R on its faces
at half weight the one-vertex chain is exact, and the longer ones err only by a polynomial
in h (the corners of the simplex) that one Richardson step removes to rounding.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from fieldtheory.diagrams.evaluate import (
    TimeGrid,
    diagram_source,
    evaluate_diagrams,
    generate_evaluator,
    past_window,
    richardson,
)
from fieldtheory.errors import CodegenError

D = 1.0
TAU_MAX, DTAU = 4.0, 0.25
TAU = np.arange(0, TAU_MAX + DTAU / 2, DTAU)


def correlation(t):
    return D / 2 * np.exp(-np.abs(t))


def response(t):
    return np.exp(-t)


def graph(edges, vertices: int, second: str = "x") -> nx.MultiDiGraph:
    """Externals 0 (x at τ), 1 (``second`` at 0), vertices 2, 3, …; edges (tail, head, P)."""
    g = nx.MultiDiGraph()
    g.add_node(0, kind="external", label=0, field="x")
    g.add_node(1, kind="external", label=1, field=second)
    for v in range(2, 2 + vertices):
        g.add_node(v, kind="vertex", vertex=0)
    for tail, head, p in edges:
        g.add_edge(tail, head, propagator=p, fields=("x~" if p == "R" else "x", "x"))
    return g


# correlation: one insertion (the C(0) self-loops of the tadpole are dropped: a mass shift)
ONE = [graph([(2, 0, "R"), (2, 1, "C")], 1), graph([(2, 1, "R"), (2, 0, "C")], 1)]
# two insertions on the line x(τ) — u₂ — u₃ — x(0): the C segment in each of three places
TWO = [
    graph([(2, 0, "R"), (3, 2, "R"), (3, 1, "C")], 2),
    graph([(2, 0, "R"), (2, 3, "C"), (3, 1, "R")], 2),
    graph([(2, 0, "C"), (2, 3, "R"), (3, 1, "R")], 2),
]


def chains(insertions: int) -> list[nx.MultiDiGraph]:
    """The line x(τ) — u₁ — … — uₙ — x(0) with its C segment in each place, R's pointing out."""
    line = [0, *range(2, 2 + insertions), 1]
    out = []
    for c in range(insertions + 1):
        edges = [
            (line[s], line[s + 1], "C")
            if s == c
            else (line[s + 1], line[s], "R")
            if s < c
            else (line[s], line[s + 1], "R")
            for s in range(insertions + 1)
        ]
        out.append(graph(edges, insertions))
    return out


THREE = chains(3)
# response ⟨x(τ) x̃(0)⟩: the chains of R edges
RESPONSE = [
    graph([(2, 0, "R"), (1, 2, "R")], 1, "x~"),
    graph([(2, 0, "R"), (3, 2, "R"), (1, 3, "R")], 2, "x~"),
    graph([(2, 0, "R"), (3, 2, "R"), (4, 3, "R"), (1, 4, "R")], 3, "x~"),
]
# the integrals without the weights (−δk)ⁿ
EXACT = [
    (D / 2) * (1 + TAU) * np.exp(-TAU),
    (D / 4) * (2 + 2 * TAU + TAU**2) * np.exp(-TAU),
    (D / 12) * (6 + 6 * TAU + 3 * TAU**2 + TAU**3) * np.exp(-TAU),
    TAU * np.exp(-TAU),
    TAU**2 * np.exp(-TAU) / 2,
    TAU**3 * np.exp(-TAU) / 6,
]
STEPS = (0.25, 0.125, 0.0625)


@pytest.fixture(scope="module")
def modules():
    return [
        generate_evaluator(ONE, "test_one"),
        generate_evaluator(TWO, "test_two"),
        generate_evaluator(THREE, "test_three"),
        generate_evaluator(RESPONSE, "test_response"),
    ]


def _grid(step: float) -> TimeGrid:
    window = past_window(1.0, 2, TAU_MAX, 1e-13)
    return TimeGrid(step, math.ceil(window / step), round(DTAU / step), round(TAU_MAX / DTAU))


def _sums(modules, step: float, levels: int) -> list[np.ndarray]:
    *lines, resp = (
        evaluate_diagrams(m, _grid(step), correlation, response, levels) for m in modules
    )
    return [sum(e.value for e in line) for line in lines] + [e.value for e in resp]


def _errors(modules, levels: int) -> np.ndarray:
    """sup-norm errors of the correlation sets ONE, TWO, THREE: [step, set]."""
    rows = []
    for step in STEPS:
        sums = _sums(modules, step, levels)
        rows.append([np.max(np.abs(s - e)) for s, e in zip(sums[:3], EXACT[:3], strict=True)])
    return np.array(rows)


@pytest.mark.parametrize(("levels", "order"), [(1, 2), (2, 4), (3, 6)])
def test_convergence_order(modules, levels, order):
    errors = _errors(modules, levels)
    slopes = np.log2(errors[:-1] / errors[1:])
    # e(h) = c h^p (1 + βh² + …): the slope of a pair deviates from p by O(h²), so halving
    # h quarters the deviation, |s_fine − p| ≈ |s_coarse − s_fine|/3; we demand the finest
    # deviation be no larger than the change of the slope
    assert np.all(np.abs(slopes[-1] - order) <= np.abs(slopes[0] - slopes[-1])), slopes


def test_response_chains_are_exact(modules):
    # rounding: ~10³ terms per summed index, each ≤ 1 in size, at 2⁻⁵³ ≈ 1.1e−16 → 1e−12
    rounding = 1e-12
    raw = _sums(modules, STEPS[0], 1)
    assert np.max(np.abs(raw[3] - EXACT[3])[1:]) < rounding
    extrapolated = _sums(modules, STEPS[0], 2)
    for value, exact in zip(extrapolated[3:], EXACT[3:], strict=True):
        assert np.max(np.abs(value - exact)[1:]) < rounding


def test_error_estimate_bounds_the_error(modules):
    grid = _grid(0.25)
    for module, exact in zip(modules[:3], EXACT[:3], strict=True):
        estimates = evaluate_diagrams(module, grid, correlation, response, 3)
        value = sum(e.value for e in estimates)
        bound = sum(e.error for e in estimates)
        assert np.all(np.abs(value - exact) <= bound)


def test_generated_source_is_an_einsum():
    source = diagram_source(TWO[0], "chain")
    assert source.startswith("def chain(C, R, C0, w, free, fixed):")
    assert 'np.einsum("tb,c,bc,b,c->t", R[free, :], C[fixed, :], R, w, w' in source


def test_multi_edges_multiply_and_self_loops_are_numbers():
    sunset = graph(
        [(2, 0, "R"), (3, 2, "R"), (2, 3, "C"), (2, 3, "C"), (3, 1, "C"), (2, 2, "C")], 2
    )
    source = diagram_source(sunset, "sunset")
    assert "C0 * np.einsum(" in source
    assert "(C * C * R)" in source


def test_generated_code_equals_a_plain_loop():
    # arbitrary matrices (R not causal, C not even, to catch any index swap, except that C
    # must be symmetric as the printer relies on it): the einsum equals nested sums
    rng = np.random.default_rng(0)
    n = 7
    c = rng.normal(size=(n, n))
    c = c + c.T
    r = rng.normal(size=(n, n))
    w = rng.uniform(size=n)
    free, fixed, c0 = np.array([2, 4, 6]), 2, 0.7
    sunset = graph(
        [(2, 0, "R"), (3, 2, "R"), (2, 3, "C"), (2, 3, "C"), (3, 1, "C"), (2, 2, "C")], 2
    )
    module = generate_evaluator([sunset], "test_plain_loop")
    value = module.DIAGRAMS[0](c, r, c0, w, free, fixed)
    expected = [
        sum(
            c0 * r[t, u] * r[u, v] * c[u, v] ** 2 * c[fixed, v] * w[u] * w[v]
            for u in range(n)
            for v in range(n)
        )
        for t in free
    ]
    np.testing.assert_allclose(value, expected, rtol=1e-13)


def test_closed_response_loop_vanishes():
    g = graph([(2, 0, "R"), (2, 1, "C"), (2, 2, "R")], 1)
    assert "return 0.0" in diagram_source(g, "loop")


def test_vertex_without_response_leg_is_refused():
    g = graph([(0, 2, "C"), (2, 1, "C")], 1)
    with pytest.raises(CodegenError, match="vertex node 2 has no response leg"):
        diagram_source(g, "acausal")


def test_richardson_removes_even_powers():
    # f(h) = 1 + h² + h⁴ exactly: two extrapolations give 1 to rounding
    values = [1 + h**2 + h**4 for h in (0.4, 0.2, 0.1)]
    estimate = richardson(values)
    assert abs(estimate.value - 1) < 1e-14
    assert estimate.error > 0


def test_the_ito_value_at_the_jump_would_cost_an_order(modules):
    # the same sums with R(0) = 0 on the grid instead of R(0⁺)/2: first order only
    errors = []
    for step in STEPS:
        grid = _grid(step)
        lags = np.subtract.outer(grid.times, grid.times)
        c = correlation(lags)
        r = np.where(lags > 0, np.exp(-np.abs(lags)), 0.0)
        value = sum(
            d(c, r, D / 2, grid.weights(), grid.free, grid.fixed) for d in modules[0].DIAGRAMS
        )
        errors.append(np.max(np.abs(value - EXACT[0])))
    slopes = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.abs(slopes[-1] - 1) <= np.abs(slopes[0] - slopes[-1]), slopes


def test_modules_are_cached_by_content():
    first = generate_evaluator(ONE, "test_cache")
    assert generate_evaluator(list(ONE), "test_cache") is first
    assert generate_evaluator(TWO, "test_cache") is not first
    assert first.source.startswith('"""Time-domain integrals of 2 diagrams (test_cache).')
    assert f"content hash {first.digest[:16]}" in first.source
