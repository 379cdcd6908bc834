r"""Generated numpy code that evaluates MSRDJ diagrams in the time domain.

A diagram (contract of :mod:`fieldtheory.diagrams.diagram`: a ``networkx.MultiDiGraph``
whose nodes are ``"external"`` legs or ``"vertex"`` insertions, whose edges carry a
``propagator`` "C" or "R", an R edge pointing from the response leg x̃ (earlier time) to
the field leg x (later time)) stands for the integral

.. math::

    I(t_0, t_1, \dots) = \int \prod_{v} du_v \prod_{(p \to q)} P_{pq}(t_q - t_p)

over the times u_v of its vertices, with the stationary free propagators
C(τ) = ⟨x(t+τ)x(t)⟩₀ and R(τ) = ⟨x(t+τ)x̃(t)⟩₀ = Θ(τ)·(…). :func:`diagram_source` prints
it as one ``numpy.einsum`` over the grid indices of the vertex times: every edge is a
propagator matrix P[i, j] = P(t_i − t_j) (rows: the later leg), edges between the same two
nodes are multiplied elementwise first, a C self-loop is the number C(0) and an R self-loop
vanishes (Itô, R(0) = 0: closed response loops are zero). External leg 0 is *free*: it runs
over the lags τ_k = k·dτ of the output curve; leg 1 (if any) sits at t = 0, so that the
curve is I(τ) = I(t_0 = τ, t_1 = 0) of the stationary process.

Quadrature, and why it converges as claimed
-------------------------------------------
Times lie on one uniform grid t_j = (j − j_0) h that contains every external time, so every
break of the integrand — the kink of C(τ) at τ = 0 and the jump of R(τ) at τ = 0 — lies on
the hyperplanes u_v = u_w or u_v = t_ext *through grid nodes*. On each polyhedral piece the
integrand is smooth, and the iterated trapezoidal rule (weight h per interior node) is
exact to O(h²) with an error expansion in even powers h², h⁴, … (Euler–Maclaurin, piece by
piece) **provided the value used at a jump is the mean of its one-sided limits**. Hence
the grid value of R at zero lag is R(0⁺)/2, a quadrature weight, not the Itô value R(0) = 0
(which matters only for a closed response loop, a self-loop, set to zero). Using the Itô
value would leave an O(h) error. Every vertex carries a response leg, i.e. precedes some
later leg through an R edge, so no vertex is later than the latest external time and the
grid ends there (with weight h: the jump halving is already in R).

Where several jump hyperplanes meet (e.g. u₁ = u₂ = t_ext) the product of halves is not
the exact corner weight (the solid angle of the region there); the difference adds terms
∝ h^m at a corner of codimension m. For one- and two-vertex diagrams these are even; for the
chains of three vertices in the tests they are too (orders 4 and 6 are observed after
extrapolation). A diagram where an odd power survived would show it in the error estimate,
which is a difference of the Richardson table, not a model of it.

Richardson extrapolation (:func:`richardson`) over the steps h, h/2, h/4, … removes the
h², h⁴, … terms; the last difference of the table is returned as the error estimate. The
convergence orders (2 for a single step, 4 and 6 after one and two extrapolations, and 1
with the Itô value at the jump) are tests (``tests/test_loops_evaluate.py``).

The infinite past is cut at −T. Along the R edges every vertex is joined to a later leg, so
the integrand carries e^{−k(t_ext − u_min)} for the earliest vertex time u_min (k the decay
rate of R), and the part of the integral with u_min < −T is below
V e^{−kT} (k(T + τ_max))^{V−1} in units of the diagram's scale (V vertices);
:func:`past_window` picks T to make that bound smaller than a given tolerance.

References: Martin, Siggia & Rose, PRA 8, 423 (1973); Janssen, Z. Phys. B 23, 377 (1976);
Hertz, Roudi & Sollich, J. Phys. A 50, 033001 (2017) (diagram rules, Itô convention).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from fieldtheory._version import __version__
from fieldtheory.codegen.module import GeneratedModule, content_hash, load_source
from fieldtheory.errors import CodegenError, ParameterError

__all__ = [
    "EVALUATE_VERSION",
    "Estimate",
    "TimeGrid",
    "diagram_source",
    "evaluate_diagrams",
    "generate_evaluator",
    "past_window",
    "richardson",
]

#: Bump when the printed code changes for the same graphs (part of the content hash).
EVALUATE_VERSION = "1"

_LETTERS = "abcdefghijklmnopqrsuvwxyzABCDEFGHIJKLMNOPQRSUVWXYZ"  # "t": the free leg


@dataclass(frozen=True)
class TimeGrid:
    """The uniform time grid t_j = (j − past)·step, j = 0 … past + stride·lags.

    Parameters
    ----------
    step : float
        h, the grid spacing.
    past : int
        Grid points before t = 0 (the window reaches −past·h).
    stride : int
        Grid points per output lag: τ_k = k·stride·h.
    lags : int
        Number of output lags beyond τ = 0 (the curve has ``lags + 1`` points).
    """

    step: float
    past: int
    stride: int
    lags: int

    @property
    def size(self) -> int:
        return self.past + self.stride * self.lags + 1

    @property
    def times(self) -> np.ndarray:
        return (np.arange(self.size) - self.past) * self.step

    @property
    def free(self) -> np.ndarray:
        """Grid indices of the output lags τ_k (where external leg 0 sits)."""
        return self.past + self.stride * np.arange(self.lags + 1)

    @property
    def fixed(self) -> int:
        """Grid index of t = 0 (where external leg 1 sits)."""
        return self.past

    def weights(self) -> np.ndarray:
        """Trapezoidal weights: h everywhere, h/2 at the far-past end (see module doc)."""
        w = np.full(self.size, self.step)
        w[0] = self.step / 2
        return w

    def refined(self, factor: int) -> TimeGrid:
        """The same window and lags with the step divided by ``factor``."""
        return TimeGrid(self.step / factor, self.past * factor, self.stride * factor, self.lags)


@dataclass(frozen=True)
class Estimate:
    """A value (array over the lags, or a scalar) with its estimated discretisation error."""

    value: np.ndarray
    error: np.ndarray


def past_window(decay: float, vertices: int, tau_max: float, tolerance: float) -> float:
    r"""The length T of the past window so that the cut-off tail is below ``tolerance``.

    Solves V e^{−x} (x + kτ_max)^{V−1} = tol for x = kT by fixed-point iteration
    (see the module docstring for the bound).
    """
    if decay <= 0:
        raise ParameterError(f"the free response must decay, got decay rate {decay}")
    v = max(vertices, 1)
    x = math.log(v / tolerance)
    for _ in range(50):
        x = math.log(v / tolerance) + (v - 1) * math.log(x + decay * tau_max + 1.0)
    return x / decay


# ----------------------------------------------------------------------------- printing


def _role(graph: nx.MultiDiGraph, node) -> str:
    """ "free" (external leg 0), "fixed" (external leg 1) or "vertex"."""
    data = graph.nodes[node]
    if data["kind"] == "vertex":
        return "vertex"
    label = data["label"]
    if label not in (0, 1):
        raise CodegenError(
            f"external leg {label} of node {node}: the time-domain evaluator "
            "takes one- and two-point functions only"
        )
    return "free" if label == 0 and _has_two_legs(graph) else "fixed"


def _has_two_legs(graph: nx.MultiDiGraph) -> bool:
    return sum(1 for _, d in graph.nodes(data=True) if d["kind"] == "external") == 2


def _check_causal(graph: nx.MultiDiGraph) -> None:
    """Every vertex has an outgoing R edge (a response leg): no vertex after all legs."""
    for node, data in graph.nodes(data=True):
        if data["kind"] != "vertex":
            continue
        if not any(
            d["propagator"] == "R" and head != node
            for _, head, d in graph.out_edges(node, data=True)
        ):
            raise CodegenError(
                f"vertex node {node} has no response leg joined to a later "
                "leg; the time-domain evaluator needs MSRDJ vertices"
            )


def _edge_operand(propagator: str, roles: dict, head, tail) -> str:
    """``P[rows, cols]`` for one edge: rows index the head (later leg), columns the tail."""
    select = {"vertex": ":", "free": "free", "fixed": "fixed"}
    rows, cols = select[roles[head]], select[roles[tail]]
    if rows == cols == ":":
        return propagator
    return f"{propagator}[{rows}, {cols}]"


def diagram_source(graph: nx.MultiDiGraph, name: str, comment: str = "") -> str:
    """The numpy source of one diagram's integral, as ``def name(C, R, C0, w, free, fixed)``.

    ``C``, ``R``: propagator matrices on the grid; ``C0`` = C(0); ``w``: quadrature weights;
    ``free``: grid indices of the lags (leg 0); ``fixed``: grid index of t = 0 (leg 1).
    Returns the integral over the lags (or a scalar for a one-point function).
    """
    _check_causal(graph)
    roles = {node: _role(graph, node) for node in graph.nodes}
    letters = {}
    for node in sorted(graph.nodes):
        if roles[node] == "vertex":
            letters[node] = _LETTERS[len(letters)]
        elif roles[node] == "free":
            letters[node] = "t"
    scalars: list[str] = []
    pairs: dict[tuple, list[str]] = {}
    for tail, head, data in graph.edges(data=True):
        propagator = data["propagator"]
        if propagator not in ("C", "R"):
            raise CodegenError(
                f"propagator {propagator!r} of edge {tail}->{head}: the "
                "time-domain evaluator takes C and R only"
            )
        if tail == head:
            if propagator == "R":  # a closed response loop, R(0) = 0 (Itô)
                return f"def {name}(C, R, C0, w, free, fixed):\n    return 0.0  # R(u, u) = 0\n"
            scalars.append("C0")
            continue
        first, second = sorted((tail, head))
        if propagator == "C":  # even in the lag: index it (first, second) directly
            operand = _edge_operand(propagator, roles, first, second)
        else:
            operand = _edge_operand(propagator, roles, head, tail)
            if head != first and roles[head] != "fixed" != roles[tail]:
                operand += ".T"  # the pair's operand is indexed (first, second)
        pairs.setdefault((first, second), []).append(operand)
    operands, subscripts = [], []
    for (first, second), factors in sorted(pairs.items()):
        operands.append(
            " * ".join(factors) if len(factors) == 1 else "(" + " * ".join(factors) + ")"
        )
        subscripts.append("".join(letters.get(n, "") for n in (first, second)))
    for node in sorted(graph.nodes):
        if roles[node] == "vertex":
            operands.append("w")
            subscripts.append(letters[node])
    output = "t" if "free" in roles.values() else ""
    spec = ",".join(subscripts) + "->" + output
    factor = " * ".join(scalars)
    lines = [f"def {name}(C, R, C0, w, free, fixed):"]
    if comment:
        lines.append(f'    """{comment}"""')
    call = f'np.einsum("{spec}", {", ".join(operands)}, optimize="greedy")'
    lines.append(f"    return {factor + ' * ' if factor else ''}{call}")
    return "\n".join(lines) + "\n"


def generate_evaluator(
    graphs: Sequence[nx.MultiDiGraph], name: str = "diagrams", comments: Sequence[str] | None = None
) -> GeneratedModule:
    """A generated module with one function per diagram and ``DIAGRAMS``, their tuple.

    Cached by the content hash of the printed source (which is a function of the graphs).
    """
    comments = list(comments) if comments is not None else [""] * len(graphs)
    body = [
        diagram_source(g, f"diagram_{k}", c)
        for k, (g, c) in enumerate(zip(graphs, comments, strict=True))
    ]
    names = ", ".join(f"diagram_{k}" for k in range(len(graphs)))
    core = (
        "import numpy as np\n\n\n"
        + "\n\n".join(body)
        + f"\n\nDIAGRAMS = ({names}{',' if len(graphs) == 1 else ''})\n"
    )
    digest = content_hash(EVALUATE_VERSION, name, core)
    header = (
        f'"""Time-domain integrals of {len(graphs)} diagrams ({name}).\n\n'
        f"Generated by fieldtheory {__version__} (evaluate {EVALUATE_VERSION}); "
        f"content hash {digest[:16]}; do not edit.\n"
        "Each function returns ∫Π_v du_v w(u_v) Π_edges P(t_head − t_tail) on the grid.\n"
        '"""\n\n'
    )
    return load_source(f"{name}", digest, header + core)


# ----------------------------------------------------------------------------- evaluation


def _matrices(grid: TimeGrid, correlation: Callable, response: Callable):
    lags = np.subtract.outer(grid.times, grid.times)
    c = np.asarray(correlation(lags), dtype=float)
    positive = np.asarray(response(np.abs(lags)), dtype=float)
    # the jump of R at zero lag carries the mean of its one-sided limits (module docstring)
    r = np.where(lags > 0, positive, np.where(lags == 0, 0.5 * positive, 0.0))
    return c, r, float(correlation(np.zeros(1))[0])


def _evaluate_on(
    module: GeneratedModule, grid: TimeGrid, correlation: Callable, response: Callable
) -> list[np.ndarray]:
    c, r, c0 = _matrices(grid, correlation, response)
    w, free, fixed = grid.weights(), grid.free, grid.fixed
    return [np.asarray(d(c, r, c0, w, free, fixed), dtype=float) for d in module.DIAGRAMS]


def richardson(values: Sequence[np.ndarray], ratio: int = 2, order: int = 2) -> Estimate:
    r"""Richardson table of values at steps h, h/ratio, h/ratio², … (error ∝ h^order, h^{2·order}…).

    Returns the most extrapolated entry and, as its error estimate, the difference of the
    two finest entries of the column before it. For an expansion in powers h^order,
    h^{2·order}, … that difference is (ratio^p − 1) times the error of the finer of the two
    entries (p its leading power), itself larger than the error of the returned entry by a
    factor ∝ h^{−order}: the estimate is conservative by a factor ≥ ratio^order − 1 = 3.
    """
    table = [np.asarray(v, dtype=float) for v in values]
    if len(table) == 1:
        return Estimate(table[0], np.full_like(table[0], np.nan))
    power = order
    error = np.abs(table[-1] - table[-2])
    while len(table) > 1:
        factor = ratio**power
        error = np.abs(table[-1] - table[-2])
        table = [
            (factor * fine - coarse) / (factor - 1) for coarse, fine in itertools.pairwise(table)
        ]
        power += order
    return Estimate(table[0], error)


def evaluate_diagrams(
    module: GeneratedModule,
    grid: TimeGrid,
    correlation: Callable,
    response: Callable,
    levels: int = 3,
) -> list[Estimate]:
    """Every diagram of ``module`` on ``grid`` refined ``levels`` times, extrapolated.

    Parameters
    ----------
    correlation, response : callable
        The free C(τ) (even in τ) and R(τ) for τ ≥ 0 (its value at 0 is R(0⁺)), vectorised.
    levels : int
        Steps h, h/2, …, h/2^(levels−1); Richardson removes the h², h⁴, … terms.
    """
    runs = [_evaluate_on(module, grid.refined(2**m), correlation, response) for m in range(levels)]
    return [richardson([run[k] for run in runs]) for k in range(len(module.DIAGRAMS))]
