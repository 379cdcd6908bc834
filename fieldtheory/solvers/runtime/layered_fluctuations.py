r"""O(1/N) corrections of the kernels of a layered network: N·Var and the one-loop mean shift
of the empirical kernel (see :func:`kernel_correction` for the mean shift).

The Gaussian fluctuations around the saddle point of a layered network (the Hessian that
``derive --order 1/N`` prints) have, for a Gaussian site whose input covariance is linear
in the order parameters, the structure of linear response: each order parameter
Q̂_k = (1/N) Σ_j f_k(h_j) g_k(h_j) deviates from its saddle value by its sampling noise ξ_k
(N·Cov = the site's connected four-point function) plus the site's response to the
fluctuation of its own input covariance,

.. math:: δQ_k(l, l') = ξ_k(l, l') + \sum_{m ≤ m'} \frac{∂⟨f_k g_k⟩}{∂K(m, m')}\, δK(m, m'),
          \qquad δK(m + 1, m' + 1) = \sum_k c_k(m, m')\, δQ_k(m, m'),

(Clark, Abbott & Litwin-Kumar, PRL 131, 118401, 2023, for the same structure in rate
networks; Segadlo et al., arXiv:2112.05589, for layered networks), and the empirical kernel
K̂ = (1/N) Σ_i h_i h_i deviates by its own sampling noise plus δK. Solved layer by layer
(causal), every fluctuation is a linear combination of the noises, δ = L ξ, and
N·Cov = L S Lᵀ with S the connected four-point functions of the Gaussian process h over
(pattern, layer) points — tensor Gauss–Hermite over at most four distinct points.
Derivatives ∂⟨f g⟩/∂K by central differences of the runtime's own expectations (Price's
theorem makes them ⟨f' g'⟩ and ½⟨f'' g⟩; the differences need no second derivative of a
kinked φ).

numpy only; for small data sets (the unknowns are pairs of (pattern, layer) points).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from fieldtheory.solvers.runtime.common import SolverInputError
from fieldtheory.solvers.runtime.layered import LayeredSpec, _expectation, layer_kernels

__all__ = ["kernel_correction", "kernel_variance"]

#: Gauss–Hermite nodes per dimension of the four-point functions. Exact for polynomial
#: φ; for erf(aσz) with aσ > 1/√2 (φ growing off the real axis faster than the weight
#: decays) convergence is only geometric: at the variances of the tests (aσ ≈ 1.4) the
#: entries change by 2e-2, 4e-3, 2e-4 from 10 to 14 to 20 to 26 nodes.
FOUR_POINT_NODES = 20
#: Relative step of the central differences of the expectations in the kernel.
DIFFERENCE_STEP = 1e-5
#: Relative step of their second differences (the mean shift's curvature term): the
#: truncation error ~1e-6 relative, the rounding error ~1e-10.
CURVATURE_STEP = 1e-3
#: The largest number of (pattern, layer) points this runtime takes (patterns × depth):
#: its noises are (composites) × (pairs of points), and every set of four points needs a
#: tensor rule of FOUR_POINT_NODES⁴ nodes — about half a minute at 12 points.
MAX_POINTS = 12


def kernel_variance(site: LayeredSpec) -> np.ndarray:
    """N·Var K̂(l)[a, b] at equal layers, shaped like ``kernel`` (depth × P × P)."""
    return kernel_correction(site, bias=False)["variance"]


def kernel_correction(site: LayeredSpec, *, bias: bool = True) -> dict:
    r"""The O(1/N) corrections of the empirical kernel K̂ = (1/N) Σ_i h_i h_i.

    Returns ``variance`` (N·Var K̂(l)[a, b] at equal layers, depth × P × P) and, with
    ``bias``, ``bias`` (N·(E K̂ − K) at equal layers, same shape) and ``bias_all`` (every
    pair of layers, depth × depth × P × P).

    The mean shift is the one-loop tadpole of the collective-field action
    S = N[−Q̃·Q + W(Q̃; K(Q))], W the site's cumulant-generating function of the
    composites f_k g_k under h ~ N(0, K) (the response-field order parameter integrated out
    exactly: it enters linearly). With the propagators of the Gaussian part,
    ⟨δQ δQ⟩ = A⁻¹ S A⁻ᵀ/N and ⟨δQ δQ̃⟩ = A⁻¹/N (A = 1 − (∂F/∂K)(∂K/∂Q), i.e. the rows
    δ = L ξ above), and the cubic vertices W_{Q̃KK} = ∂²F/∂K∂K and W_{Q̃Q̃K} = ∂S/∂K
    (W_{Q̃Q̃Q̃} closes on ⟨δQ̃ δQ̃⟩ = 0),

    .. math:: N⟨δQ⟩ = L\,s, \qquad s_X = \tfrac12 \sum_{uv} \frac{∂^2 F_X}{∂K_u ∂K_v}
              N\,\mathrm{Cov}(δK_u, δK_v) + \sum_{u, Y} \frac{∂ S_{XY}}{∂K_u}
              \frac{∂ δK_u}{∂ξ_Y}:

    the curvature of each expectation in its fluctuating input covariance, and the
    dependence of the noises' covariance on a kernel that earlier noises moved (the
    multiplicative-noise term; it vanishes for independent weights per layer, where
    every noise is fresh given the layers below, and makes the recurrent shift differ).
    S's derivatives are exact derivatives of the tensor rule (the Gaussian score
    ½(uᵀEu − tr K⁻¹E), u = K⁻¹h, as weight); F's by central second differences.
    """
    depth, P = site.depth, site.data_kernel.shape[0]
    T = depth * P
    if T > MAX_POINTS:
        raise SolverInputError(f"the 1/N kernel corrections take at most {MAX_POINTS} "
                               f"(pattern, layer) points; got {P} patterns × {depth} layers")
    K = layer_kernels(site)  # (depth, depth, P, P), layers 1 … depth
    full = K.transpose(0, 2, 1, 3).reshape(T, T)  # point index (l, a) → l·P + a

    def point(layer: int, a: int) -> int:  # layer 1 … depth
        return (layer - 1) * P + a

    pairs = [(i, j) for i in range(T) for j in range(i, T)]
    index = {pair: k for k, pair in enumerate(pairs)}
    terms = [t for t in site.terms if t.kind == "order_parameter"]
    # noises: one per (composite, pair): the order parameters' composites f_k(h_i) g_k(h_j)
    # and the kernel's own h_i h_j
    composites = [(t.left, t.right) for t in terms] + [(None, None)]
    n_pairs = len(pairs)
    size = len(composites) * n_pairs
    # δK on pairs of points (layers ≥ 1) and δQ_k on pairs, as rows of L (· ξ); the rows
    # need no noise statistics, so they come first (the mean shift's noise term reads them)
    dK = np.zeros((n_pairs, size))
    dQ = np.zeros((len(terms), n_pairs, size))
    for step in range(depth):  # the layer ``step`` feeds layer step + 1
        if step >= 1:
            for k, term in enumerate(terms):
                for i, j in pairs:
                    if j // P + 1 != step:  # the pairs whose later point (j ≥ i) is new
                        continue
                    # δQ_k(i, j) = ξ + Σ_{pairs (m, m') among {i, j}} ∂⟨fg⟩/∂K(m, m') δK(m, m')
                    row = np.zeros(size)
                    row[k * n_pairs + index[(i, j)]] = 1.0
                    for m, mm in _entries(i, j):
                        slope = _slope(term, full, i, j, m, mm)
                        row += slope * dK[index[(m, mm)]]
                    dQ[k, index[(i, j)]] = row
        # δK(step + 1, l' + 1) for l' ≤ step from δΣ(step, l')
        for other in range(step + 1):
            for a in range(P):
                for b in range(P):
                    i, j = point(step + 1, a), point(other + 1, b)
                    key = (min(i, j), max(i, j))
                    row = np.zeros(size)
                    for k, term in enumerate(terms):
                        c = float(term.coefficient(step, other))
                        if c == 0.0 or step == 0 or other == 0:
                            continue  # Q at layer 0 is h(0) = 0: deterministic
                        u, v = point(step, a), point(other, b)
                        row += c * dQ[k, index[(min(u, v), max(u, v))]]
                    dK[index[key]] = row
    noise, drift = _four_point(full, composites, pairs, dK if bias else None)
    own = len(terms) * n_pairs  # K̂ = its own sampling noise + δK
    out = {"variance": np.zeros((depth, P, P))}
    for layer in range(1, depth + 1):
        for a in range(P):
            for b in range(P):
                i, j = point(layer, a), point(layer, b)
                key = (min(i, j), max(i, j))
                row = dK[index[key]].copy()
                row[own + index[key]] += 1.0
                out["variance"][layer - 1, a, b] = row @ noise @ row
    if not bias:
        return out
    # the curvature term: ½ ∂²F_X/∂K_u∂K_v N·Cov(δK_u, δK_v) over X's covariance entries
    source = _curvature_source(drift, terms, full, pairs, dK, noise)
    shift = np.zeros((depth, depth, P, P))
    for s_layer, t_layer in itertools.product(range(1, depth + 1), repeat=2):
        for a in range(P):
            for b in range(P):
                i, j = point(s_layer, a), point(t_layer, b)
                key = index[(min(i, j), max(i, j))]
                shift[s_layer - 1, t_layer - 1, a, b] = source[own + key] + dK[key] @ source
    if not np.all(np.isfinite(shift)):
        raise SolverInputError("the O(1/N) mean shift of the kernel is not finite (a "
                               "degenerate kernel: two inputs with identical activity?)")
    out["bias"] = np.stack([shift[layer, layer] for layer in range(depth)])
    out["bias_all"] = shift
    return out


def _curvature_source(drift: np.ndarray, terms, full: np.ndarray, pairs, dK: np.ndarray,
                      noise: np.ndarray) -> np.ndarray:
    """The mean shift's sources: the noise term ``drift`` plus, for every composite k of
    ``terms`` at every pair, ½ Σ ∂²⟨X⟩/∂K_u∂K_v N·Cov(δK_u, δK_v) over the covariance
    entries it depends on (rows of ``dK`` over the noises, ``noise`` their N·Cov)."""
    index = {pair: k for k, pair in enumerate(pairs)}
    source = drift.copy()
    for k, term in enumerate(terms):
        for i, j in pairs:
            entries = _entries(i, j)
            rows = np.array([dK[index[e]] for e in entries])
            if not rows.any():
                continue  # an input covariance that does not fluctuate (the first layer)
            H = _curvature(term, full, i, j, entries)
            source[k * len(pairs) + index[(i, j)]] += 0.5 * np.sum(
                H * (rows @ noise @ rows.T))
    return source


def _entries(i: int, j: int) -> list[tuple[int, int]]:
    """The covariance entries E[f(h_i) g(h_j)] depends on: (i, i), (j, j), (i, j)."""
    return sorted({(i, i), (j, j), (min(i, j), max(i, j))})


def _pair_expectation(term, K: np.ndarray, i: int, j: int) -> float:
    """E[f(h_i) g(h_j)] under the covariance K over all points (the runtime's rule)."""
    return float(_expectation(term, K[[i]][:, [i]], K[[j]][:, [j]], K[[i]][:, [j]])[0, 0])


def _curvature(term, full: np.ndarray, i: int, j: int, entries) -> np.ndarray:
    """∂²E[f(h_i) g(h_j)]/∂K_u∂K_v over ``entries`` (symmetric perturbations), by central
    second differences of the runtime's expectation."""
    def value(shift: np.ndarray) -> float:
        return _pair_expectation(term, full + shift, i, j)

    def direction(entry, step):
        shift = np.zeros_like(full)
        shift[entry] = shift[entry[::-1]] = step
        return shift

    steps = [CURVATURE_STEP * max(1.0, abs(full[e])) for e in entries]
    units = [direction(e, h) for e, h in zip(entries, steps, strict=True)]
    centre = value(np.zeros_like(full))
    n = len(entries)
    H = np.zeros((n, n))
    for u in range(n):
        H[u, u] = (value(units[u]) - 2 * centre + value(-units[u])) / steps[u] ** 2
        for v in range(u):
            H[u, v] = H[v, u] = (value(units[u] + units[v]) - value(units[u] - units[v])
                                 - value(units[v] - units[u]) + value(-units[u] - units[v])
                                 ) / (4 * steps[u] * steps[v])
    return H


def _slope(term, full: np.ndarray, i: int, j: int, m: int, mm: int) -> float:
    """∂E[f(h_i) g(h_j)]/∂K(m, mm) (a symmetric perturbation of the covariance) by
    central differences of the runtime's expectation."""
    def value(shift: np.ndarray) -> float:
        return _pair_expectation(term, full + shift, i, j)

    step = DIFFERENCE_STEP * max(1.0, abs(full[m, mm]))
    shift = np.zeros_like(full)
    shift[m, mm] = shift[mm, m] = step
    return (value(shift) - value(-shift)) / (2 * step)


def _four_point(full: np.ndarray, composites, pairs, response: np.ndarray | None = None):
    """N·Cov of the noises, ⟨X; Y⟩_c for X, Y = composite(h_i, h_j) over all pairs, and
    (with ``response``, the rows ∂δK_u/∂ξ over the pairs u) the noise term of the mean
    shift, Σ_{u,Y} ∂⟨X; Y⟩_c/∂K_u · response[u, Y] (else zeros)."""
    n_pairs = len(pairs)
    pair_index = {pair: k for k, pair in enumerate(pairs)}
    size = len(composites) * n_pairs
    z, w = np.polynomial.hermite_e.hermegauss(FOUR_POINT_NODES)
    w = w / math.sqrt(2 * math.pi)
    means = np.zeros(size)
    out = np.zeros((size, size))
    cache: dict[tuple, tuple] = {}

    tensor: dict[int, tuple] = {}  # dimension → standard tensor nodes and weights

    def standard(d: int):
        if d not in tensor:
            nodes = np.stack(np.meshgrid(*[z] * d, indexing="ij"), -1).reshape(-1, d)
            weights = np.prod(np.stack(np.meshgrid(*[w] * d, indexing="ij"), -1)
                              .reshape(-1, d), axis=1)
            tensor[d] = (nodes, weights)
        return tensor[d]

    def grid(points: tuple[int, ...]):
        """Samples of (h_p for p in points) and their weights; kept for one or two points
        (the means), built afresh for larger sets (each group uses its own once)."""
        if points in cache:
            return cache[points]
        sub = full[np.ix_(points, points)]
        values, vectors = np.linalg.eigh(sub)
        root = vectors * np.sqrt(np.maximum(values, 0.0))
        nodes, weights = standard(len(points))
        out = (nodes @ root.T, weights)
        if len(points) <= 2:
            cache[points] = out
        return out

    labelled = list(itertools.product(composites, pairs))
    values: dict[tuple, np.ndarray] = {}  # (noise index, point set) → values on its grid
    # point set → {(function, point): the function of h_point on the set's grid}: each
    # function is evaluated once per column, not once per noise that uses it
    columns: dict[tuple, dict] = {}

    def column(fn, points: tuple[int, ...], p: int) -> np.ndarray:
        known = columns.setdefault(points, {})
        if (fn, p) not in known:
            h = grid(points)[0][:, points.index(p)]
            known[fn, p] = h if fn is None else fn(h)
        return known[fn, p]

    def on(X: int, points: tuple[int, ...]) -> np.ndarray:
        if (X, points) not in values:
            (f, g), (i, j) = labelled[X]
            if f is None:  # the product of the fields themselves
                f = g = None
            values[X, points] = column(f, points, i) * column(g, points, j)
        return values[X, points]

    for X, (_, (i, j)) in enumerate(labelled):
        points = tuple(sorted({i, j}))
        means[X] = grid(points)[1] @ on(X, points)
    # group the pairs of noises by the points they involve: one grid, values computed once
    groups: dict[tuple, list] = {}
    for X, (_, (i, j)) in enumerate(labelled):
        for Y in range(X, size):
            k, m = labelled[Y][1]
            groups.setdefault(tuple(sorted({i, j, k, m})), []).append((X, Y))
    drift = np.zeros(size)
    for points, members in groups.items():
        h, weights = grid(points)
        cache[points] = (h, weights)  # for ``on`` while this group runs
        for X, Y in members:
            value = weights @ (on(X, points) * on(Y, points)) - means[X] * means[Y]
            out[X, Y] = out[Y, X] = value
        if response is not None:
            _noise_drift(drift, full, points, h, weights, members, labelled, on, response,
                         pair_index)
        for X in {x for pair in members for x in pair}:
            values.pop((X, points), None)  # this grid is done
        if len(points) > 2:
            del cache[points]
            columns.pop(points, None)
    return out, drift


def _noise_drift(drift, full, points, h, weights, members, labelled, on, response,
                 pair_index) -> None:
    """Add Σ_u ∂⟨X; Y⟩_c/∂K_u · response[u, Y] (and X ↔ Y) for one group of noises on
    its grid. The derivative of the rule itself: E_K[g] on fixed nodes reweighted by
    p_{K+εE}/p_K, whose ε-derivative is the score ½(uᵀEu − tr K⁻¹E), u = K⁻¹h — exact
    for the rule, no step; a covariance between independent groups of points stays zero
    under a perturbation inside one of them (skipped)."""
    directions = [(p, q) for p in points for q in points if p <= q
                  and np.any(response[pair_index[(p, q)]])]
    if not directions:
        return
    sub = full[np.ix_(points, points)]
    try:
        np.linalg.cholesky(sub)
    except np.linalg.LinAlgError:
        raise SolverInputError(
            "the O(1/N) mean shift needs a non-degenerate kernel on every set of four "
            f"(pattern, layer) points; it is singular on points {points} (identical "
            "inputs, or more inputs than the data kernel's rank?)") from None
    inverse = np.linalg.inv(sub)
    u = h @ inverse
    for p, q in directions:
        a, b = points.index(p), points.index(q)
        if a == b:
            score = 0.5 * (u[:, a] ** 2 - inverse[a, a])
        else:
            score = u[:, a] * u[:, b] - inverse[a, b]
        row = response[pair_index[(p, q)]]
        for X, Y in members:
            if row[X] == 0.0 and row[Y] == 0.0:
                continue
            px, py = set(labelled[X][1]), set(labelled[Y][1])
            if not (px & py) and not np.any(full[np.ix_(sorted(px), sorted(py))]) and (
                    {p, q} <= px or {p, q} <= py):
                continue  # independent, and they stay so
            x, y = on(X, points), on(Y, points)
            mx, my = weights @ x, weights @ y
            d = (weights @ (x * y * score) - (weights @ (x * score)) * my
                 - mx * (weights @ (y * score)))
            drift[X] += d * row[Y]
            if X != Y:
                drift[Y] += d * row[X]
