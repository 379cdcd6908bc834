r"""The O(1/N) mean shifts of a random map network on a time window (one loop).

A discrete-time Gaussian site (:class:`~fieldtheory.solvers.runtime.common.SiteSpec` with
a ``step``: x(t + 1) = b x(t) + I + η(t) + √D ξ(t), b = 1 − a, η Gaussian with covariance
Σ_k A_k Q_k(t, s), Q_k(t, s) = ⟨f_k(x(t)) f_k(x(s))⟩, iid couplings without mean; per
population α with its own b, I, D and A_αk, each Q_k an average over its own population,
N_β = f_β N units) started at t = 0 with x_i(0) iid N(μ, v₀), independent of the
couplings. Exactly at every N the network is the collective-field theory
S = N[−Q̃·Q + W(Q, Q̃)] over the window's times (W the site's cumulant-generating
function of the composites f_k f_k: the couplings' average is quadratic in
(1/N) Σ_j f(x_j(t)) f(x_j(s)), the unit's own term included), so every equal-time average
E[(1/N) Σ_i o(x_i(t))] = o_∞(t) + s_o(t)/N + O(1/N²), and s_o is
the one-loop tadpole of that action. Its structure is the layered networks' one
(:mod:`fieldtheory.solvers.runtime.layered_fluctuations`, where it is checked against
sampled networks), with the leak's memory in the input covariance:

.. math:: δK(t, s) = \sum_{u < t,\, v < s} b^{t-1-u} b^{s-1-v} \sum_k A_k\, δQ_k(u, v),
          \qquad δQ_k(u, v) = ξ_k(u, v) + \sum_e \frac{∂⟨f_k f_k⟩}{∂K_e} δK_e,

δ = L ξ with N·Cov ξ = the site's connected four-point functions (divided by f_β for
the noises of population β; populations are independent at the saddle), and

.. math:: N⟨δX⟩ = ξ\text{-row}_X \cdot s, \qquad
          s_X = \tfrac12 \sum_{ee'} \frac{∂^2⟨X⟩}{∂K_e ∂K_{e'}} N\,\mathrm{Cov}(δK_e, δK_{e'})
                + \sum_{e, Y} \frac{∂ ⟨X; Y⟩_c}{∂K_e} \frac{∂ δK_e}{∂ξ_Y}

(the curvature of each average in its fluctuating input covariance, and the unit's own
membership in the order parameters: the noise term). Observables o(x(t)) are composites
that do not feed back. Linear sites (L₂ = 0) keep the noise term alone — the self-coupling
J_ii and the unit's own share of Q (docs/fluctuations.md).

Where it is the stationary network's shift: at the window's end once every shift has
stopped moving (:mod:`fieldtheory.window_solve` checks). Near the edge of chaos the
even-lag shifts converge slowly — by g²⟨φ'⟩² per step on the δ = 1 tanh map (0.882 at
g = 2, to ≈ 15.8 after ≈ 40 steps) — and stationary networks there show an excess
variance (≈ +8 … +15/N, heavy-tailed across networks) that the one loop does not; see
docs/fluctuations.md, "Non-enhanced O(1/N) shifts of maps".
"""

from __future__ import annotations

import numpy as np

from fieldtheory.solvers.runtime.common import SiteSpec, SolverInputError
from fieldtheory.solvers.runtime.layered import LayeredTermSpec, _expectation
from fieldtheory.solvers.runtime.layered_fluctuations import (
    MAX_POINTS,
    _curvature_source,
    _entries,
    _four_point,
    _slope,
)

__all__ = ["window_correction", "window_kernel"]


def _shifted(f, mean: float):
    """f(μ + y): the composites act on the centred x (the mean is deterministic)."""
    if f is None or mean == 0.0:
        return f
    return lambda y: f(mean + y)


def _check(site: SiteSpec) -> None:
    """The scope: discrete time, a Gaussian site without mean coupling, response kernels
    or nonlinear drift, correlation terms of one function each, fractions where P > 1."""
    if site.step is None:
        raise SolverInputError("the window one-loop shift is for maps (discrete time); "
                               "this site is in continuous time")
    if site.size > 1 and site.fractions is None:
        raise SolverInputError("the window one-loop shift needs the populations' fractions "
                               f"({', '.join(site.populations)})")
    if site.has_nonlinear_drift:
        raise SolverInputError("the window one-loop shift needs a Gaussian site; the "
                               "drift is nonlinear in x")
    if site.has_kernel:
        raise SolverInputError("the window one-loop shift needs iid couplings (ρ = 0); "
                               "the site has a response kernel")
    if np.any(np.asarray(site.mean_coupling, dtype=float) != 0):
        raise SolverInputError("the window one-loop shift needs couplings without mean "
                               "(J0 = 0): the mean field makes the site's mean fluctuate")
    for term in site.correlations:
        if term.right is None or term.right is not term.left:
            raise SolverInputError(f"the window one-loop shift needs correlation terms "
                                   f"⟨f f⟩ of one function; {term.name or 'a term'} pairs "
                                   "two")


def _shifted(f, mean: float):
    """f(μ + y): the composites act on the centred x (the mean is deterministic)."""
    if f is None or mean == 0.0:
        return f
    return lambda y: f(mean + y)


def _means(site: SiteSpec) -> np.ndarray:
    """The stationary means I_α/a_α (x(0) starts there, so they stay)."""
    return np.asarray(site.offset, dtype=float) / np.asarray(site.leak, dtype=float)


def _starts(site: SiteSpec, start_variance) -> np.ndarray:
    """v₀ per population (one number for all, or one each), positive."""
    v0 = np.broadcast_to(np.asarray(start_variance, dtype=float), (site.size,)).copy()
    if not np.all(v0 > 0):
        raise SolverInputError(f"the start variance must be positive; got {start_variance}")
    return v0


def _terms(site: SiteSpec) -> list[tuple[int, LayeredTermSpec]]:
    """(population, term) of every correlation term, its function on x − μ."""
    means = _means(site)
    return [(t.population, LayeredTermSpec(None, "order_parameter", None,
                                           _shifted(t.left, means[t.population]),
                                           _shifted(t.right, means[t.population])))
            for t in site.correlations]


def window_kernel(site: SiteSpec, steps: int, start_variance) -> np.ndarray:
    r"""The N → ∞ two-time covariances K_α(t, s) of x − μ_α on t, s = 0 … ``steps`` from
    x(0) ~ N(μ_α, v₀): K_α = B v₀ Bᵀ + G_α (H_α + D_α) G_αᵀ, B(t) = b_α^t,
    G_α(t, u) = b_α^{t−1−u} (u < t), H_α(u, v) = Σ_k A_αk ⟨f_k(x_u) f_k(x_v)⟩ (over the
    term's population), filled time by time (causal). Shape P × n × n (n = steps + 1)."""
    _check(site)
    P, n = site.size, steps + 1
    v0 = _starts(site, start_variance)
    b = 1.0 - np.asarray(site.leak, dtype=float)
    D = np.asarray(site.noise, dtype=float)
    A = np.asarray(site.correlation_coupling, dtype=float)
    terms = _terms(site)
    K = np.zeros((P, n, n))
    H = np.zeros((P, n, n))
    K[:, 0, 0] = v0
    for t in range(1, n):
        u = t - 1  # H on the pairs whose later time is t − 1 (they need K up to t − 1)
        for v in range(t):
            values = [float(_expectation(term, K[p][[u]][:, [u]], K[p][[v]][:, [v]],
                                         K[p][[u]][:, [v]])[0, 0]) for p, term in terms]
            H[:, u, v] = H[:, v, u] = A @ np.array(values) if values else 0.0
        for a in range(P):
            G = _propagator(b[a], n)
            full = (np.outer(b[a] ** np.arange(n), b[a] ** np.arange(n)) * v0[a]
                    + G @ (H[a] + D[a] * np.eye(n)) @ G.T)
            K[a, : t + 1, : t + 1] = full[: t + 1, : t + 1]
    return K


def _propagator(b: float, n: int) -> np.ndarray:
    """G(t, u) = b^{t−1−u} for u < t: the response of x(t) to the input at u."""
    t, u = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return np.where(u < t, b ** np.maximum(t - 1 - u, 0), 0.0)


def window_correction(site: SiteSpec, steps: int, start_variance,
                      observables: dict[str, tuple] | None = None) -> dict:
    r"""The one-loop O(1/N) shifts of a unit's averages on the window t = 0 … ``steps``.

    Parameters
    ----------
    site
        A map site (see the module docstring for the scope); P populations.
    steps
        The window's last time; points (population, time) at most ``MAX_POINTS`` per
        population (cost: ≈ 0.4 s at 4 steps, ≈ 13 s at 8, ≈ 40 s at 11, per population).
    start_variance
        v₀ (one number, or one per population): x_i(0) iid N(μ_α, v₀), μ_α = I_α/a_α.
    observables
        {name: (f, g)}: averages of f(x(s)) g(x(t)) (g may be None: 1); functions of x,
        taken in every population.

    Returns
    -------
    dict
        ``times``; ``kernel`` (the N → ∞ K(t, s)); per observable name and for
        ``variance`` ((x − μ)(x − μ)) and each correlation term of the population (its
        name): at equal times t = 0 … steps ``values`` (N → ∞), ``shift`` (N·(E − value)
        at one loop, N the whole network's size) and ``fluctuation`` (N·Var of the
        population average); ``lagged`` {``values``, ``shift``} at the pairs
        (steps − k, steps), k = 0 … steps; ``matrix``: the shift at every pair (s, t),
        s ≤ t (upper triangle; f(x_s) g(x_t)). With several populations these keys are
        per population under ``populations`` {name: …}.
    """
    _check(site)
    if not 1 <= steps < MAX_POINTS:
        raise SolverInputError(f"the window holds 1 … {MAX_POINTS - 1} steps; got {steps}")
    P, n = site.size, steps + 1
    means = _means(site)
    fractions = (np.ones(1) if site.fractions is None
                 else np.asarray(site.fractions, dtype=float))
    b = 1.0 - np.asarray(site.leak, dtype=float)
    A = np.asarray(site.correlation_coupling, dtype=float)
    K = window_kernel(site, steps, start_variance)
    terms = _terms(site)
    observed = dict(observables or {})
    reserved = {"times", "kernel", "variance", "populations"} | {
        t.name or f"C_{k}" for k, t in enumerate(site.correlations)}
    if reserved & set(observed):
        raise SolverInputError(f"observable names {sorted(reserved & set(observed))} are "
                               "taken by the runtime's own keys")
    one = lambda y: np.ones_like(y)  # noqa: E731
    # per population: its composites (its terms, the observables, x x last) and their
    # block of noises (composite × pair of times) in one global vector
    pairs = [(i, j) for i in range(n) for j in range(i, n)]
    index = {pair: k for k, pair in enumerate(pairs)}
    n_pairs = len(pairs)
    blocks = []
    offset = 0
    for a in range(P):
        own_terms = [(k, term) for k, (p, term) in enumerate(terms) if p == a]
        specs = own_terms + [
            (None, LayeredTermSpec(None, "observable", None, _shifted(f, means[a]),
                                   _shifted(g if g is not None else one, means[a])))
            for f, g in observed.values()]
        names = [site.correlations[k].name or f"C_{k}" for k, _ in own_terms] + list(observed)
        blocks.append({"specs": specs, "names": names, "offset": offset})
        offset += (len(specs) + 1) * n_pairs
    size = offset

    def noise_index(a: int, c: int, pair: tuple[int, int]) -> int:
        return blocks[a]["offset"] + c * n_pairs + index[pair]

    term_slot = {k: (a, c) for a, block in enumerate(blocks)
                 for c, (k, _) in enumerate(block["specs"]) if k is not None}
    dK = np.zeros((P, n_pairs, size))
    rows = [np.zeros((len(block["specs"]), n_pairs, size)) for block in blocks]
    for t in range(n):
        for a in range(P):  # δK_α(s, t), s ≤ t, from δQ_k(u, v) at u < t, v < s
            G = _propagator(b[a], n)
            for s in range(t + 1):
                row = np.zeros(size)
                for u in range(t):
                    for v in range(s):
                        weight = G[t, u] * G[s, v]
                        if weight == 0.0:
                            continue
                        key = index[(min(u, v), max(u, v))]
                        for k, (p, c) in term_slot.items():
                            if A[a, k] != 0.0:
                                row += weight * A[a, k] * rows[p][c, key]
                dK[a, index[(s, t)]] = row
        for a, block in enumerate(blocks):  # the composites on pairs whose later time is t
            for s in range(t + 1):
                key = index[(s, t)]
                for c, (_, spec) in enumerate(block["specs"]):
                    row = np.zeros(size)
                    row[noise_index(a, c, (s, t))] = 1.0
                    for e in _entries(s, t):
                        if dK[a, index[e]].any():
                            row += _slope(spec, K[a], s, t, *e) * dK[a, index[e]]
                    rows[a][c, key] = row
    noise = np.zeros((size, size))
    source = np.zeros(size)
    for a, block in enumerate(blocks):  # populations are independent at the saddle
        cols = np.arange(block["offset"], block["offset"] + (len(block["specs"]) + 1)
                         * n_pairs)
        composites = [(spec.left, spec.right) for _, spec in block["specs"]] + [(None, None)]
        local, drift = _four_point(K[a], composites, pairs, dK[a][:, cols])
        noise[np.ix_(cols, cols)] = local / fractions[a]
        source[cols] = drift / fractions[a]
    for a, block in enumerate(blocks):  # the curvature sources (all noises assembled)
        cols = slice(block["offset"], block["offset"] + (len(block["specs"]) + 1) * n_pairs)
        source[cols] = _curvature_source(source[cols], [spec for _, spec in block["specs"]],
                                         K[a], pairs, dK[a], noise)
    last = n - 1

    def report(row_of, value_of) -> dict:
        """Equal times (t, t) for every t, and the lags (last − k, last) of the last time."""
        entry = {"values": [], "shift": [], "fluctuation": [],
                 "lagged": {"values": [], "shift": []}}
        matrix = np.zeros((n, n))
        for s, t in pairs:
            matrix[s, t] = float(row_of(index[(s, t)]) @ source)
        for t in range(n):
            row = row_of(index[(t, t)])
            entry["values"].append(value_of(t, t))
            entry["shift"].append(matrix[t, t])
            entry["fluctuation"].append(float(row @ noise @ row))
            entry["lagged"]["values"].append(value_of(last - t, last))
            entry["lagged"]["shift"].append(matrix[last - t, last])
        entry = {key: ({k: np.array(v) for k, v in value.items()} if isinstance(value, dict)
                       else np.array(value)) for key, value in entry.items()}
        entry["matrix"] = matrix
        return entry

    per_population = {}
    for a, block in enumerate(blocks):
        own = len(block["specs"])

        def own_row(key, a=a, own=own):
            row = dK[a, key].copy()
            row[noise_index(a, own, pairs[key])] += 1.0
            return row

        def average(spec, a=a):
            return lambda s, t: float(_expectation(spec, K[a][[s]][:, [s]],
                                                   K[a][[t]][:, [t]], K[a][[s]][:, [t]])[0, 0])

        entry = {"times": np.arange(n), "kernel": K[a],
                 "variance": report(own_row, lambda s, t, a=a: K[a][s, t])}
        for c, (_, spec) in enumerate(block["specs"]):
            entry[block["names"][c]] = report(lambda key, a=a, c=c: rows[a][c, key],
                                              average(spec))
        per_population[site.populations[a]] = entry
    if not all(np.all(np.isfinite(v["matrix"])) for entry in per_population.values()
               for v in entry.values() if isinstance(v, dict)):
        raise SolverInputError("the window one-loop shift is not finite (a degenerate "
                               "window covariance: zero noise and a silent start?)")
    if P == 1:
        return next(iter(per_population.values()))
    return {"times": np.arange(n), "populations": per_population}
