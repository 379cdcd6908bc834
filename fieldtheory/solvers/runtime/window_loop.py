r"""The O(1/N) mean shifts of a random map network on a time window (one loop).

A discrete-time Gaussian site (:class:`~fieldtheory.solvers.runtime.common.SiteSpec` with
a ``step``: x(t + 1) = b x(t) + I + η(t) + √D ξ(t), b = 1 − a, η Gaussian with covariance
Σ_k A_k Q_k(t, s), Q_k(t, s) = ⟨f_k(x(t)) f_k(x(s))⟩, iid couplings without mean) started
at t = 0 with x_i(0) iid N(μ, v₀), independent of the couplings. Exactly at every N the
network is the collective-field theory S = N[−Q̃·Q + W(Q, Q̃)] over the window's times
(W the site's cumulant-generating function of the composites f_k f_k: the couplings'
average is quadratic in (1/N) Σ_j f(x_j(t)) f(x_j(s)), the unit's own term included), so
every equal-time average E[(1/N) Σ_i o(x_i(t))] = o_∞(t) + s_o(t)/N + O(1/N²), and s_o is
the one-loop tadpole of that action. Its structure is the layered networks' one
(:mod:`fieldtheory.solvers.runtime.layered_fluctuations`, where it is checked against
sampled networks), with the leak's memory in the input covariance:

.. math:: δK(t, s) = \sum_{u < t,\, v < s} b^{t-1-u} b^{s-1-v} \sum_k A_k\, δQ_k(u, v),
          \qquad δQ_k(u, v) = ξ_k(u, v) + \sum_e \frac{∂⟨f_k f_k⟩}{∂K_e} δK_e,

δ = L ξ with N·Cov ξ = the site's connected four-point functions, and

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
    """The scope: one population, discrete time, a Gaussian site without mean coupling,
    response kernels or nonlinear drift, correlation terms of one function each."""
    if site.step is None:
        raise SolverInputError("the window one-loop shift is for maps (discrete time); "
                               "this site is in continuous time")
    if site.size != 1:
        raise SolverInputError(f"the window one-loop shift takes one population, got "
                               f"{site.size} ({', '.join(site.populations)})")
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


def window_kernel(site: SiteSpec, steps: int, start_variance: float) -> np.ndarray:
    r"""The N → ∞ two-time covariance K(t, s) of x − μ on t, s = 0 … ``steps`` from
    x(0) ~ N(μ, v₀): K = B v₀ Bᵀ + G (H + D) Gᵀ, B(t) = b^t, G(t, u) = b^{t−1−u} (u < t),
    H(u, v) = Σ_k A_k ⟨f_k(x_u) f_k(x_v)⟩ filled time by time (causal)."""
    _check(site)
    b = 1.0 - float(site.leak[0])
    mean = _mean(site)
    D = float(site.noise[0])
    A = np.asarray(site.correlation_coupling, dtype=float)[0]
    terms = [LayeredTermSpec(None, "order_parameter", None, _shifted(t.left, mean),
                             _shifted(t.right, mean)) for t in site.correlations]
    n = steps + 1
    K = np.zeros((n, n))
    H = np.zeros((n, n))
    K[0, 0] = start_variance
    G = _propagator(b, n)
    for t in range(1, n):
        # H on the pairs whose later time is t − 1 (they need K up to t − 1)
        u = t - 1
        for v in range(t):
            H[u, v] = H[v, u] = sum(
                A[k] * float(_expectation(term, K[[u]][:, [u]], K[[v]][:, [v]],
                                          K[[u]][:, [v]])[0, 0])
                for k, term in enumerate(terms))
        full = np.outer(b ** np.arange(n), b ** np.arange(n)) * start_variance \
            + G @ (H + D * np.eye(n)) @ G.T
        K[: t + 1, : t + 1] = full[: t + 1, : t + 1]
    return K


def _propagator(b: float, n: int) -> np.ndarray:
    """G(t, u) = b^{t−1−u} for u < t: the response of x(t) to the input at u."""
    t, u = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return np.where(u < t, b ** np.maximum(t - 1 - u, 0), 0.0)


def _mean(site: SiteSpec) -> float:
    """The stationary mean I/a (x(0) starts there, so it stays)."""
    return float(site.offset[0]) / float(site.leak[0])


def window_correction(site: SiteSpec, steps: int, start_variance: float,
                      observables: dict[str, tuple] | None = None) -> dict:
    r"""The one-loop O(1/N) shifts of equal-time averages on the window t = 0 … ``steps``.

    Parameters
    ----------
    site
        A one-population map site (see the module docstring for the scope).
    steps
        The window's last time; at most ``MAX_POINTS − 1`` (cost: ≈ 0.4 s at 4 steps,
        ≈ 13 s at 8, ≈ 40 s at 11).
    start_variance
        v₀: x_i(0) iid N(μ, v₀), μ = I/a.
    observables
        {name: (f, g)}: averages of f(x(s)) g(x(t)) (g may be None: 1); functions of x.

    Returns
    -------
    dict
        ``times``; ``kernel`` (the N → ∞ K(t, s)); per observable name and for
        ``variance`` ((x − μ)(x − μ)) and each correlation term (its name): at equal
        times t = 0 … steps ``values`` (N → ∞), ``shift`` (N·(E − value) at one loop) and
        ``fluctuation`` (N·Var of the population average); ``lagged`` {``values``,
        ``shift``} at the pairs (steps − k, steps), k = 0 … steps (the autocorrelation of
        the last time); ``matrix``: the shift at every pair (s, t), s ≤ t (upper
        triangle; f(x_s) g(x_t)).
    """
    _check(site)
    if not 1 <= steps < MAX_POINTS:
        raise SolverInputError(f"the window holds 1 … {MAX_POINTS - 1} steps; got {steps}")
    if not start_variance > 0:
        raise SolverInputError(f"the start variance must be positive; got {start_variance}")
    b = 1.0 - float(site.leak[0])
    mean = _mean(site)
    A = np.asarray(site.correlation_coupling, dtype=float)[0]
    full = window_kernel(site, steps, start_variance)
    n = steps + 1
    G = _propagator(b, n)
    terms = [LayeredTermSpec(None, "order_parameter", None, _shifted(t.left, mean),
                             _shifted(t.right, mean)) for t in site.correlations]
    observed = dict(observables or {})
    reserved = {"times", "kernel", "variance"} | {t.name or f"C_{k}" for k, t in
                                                  enumerate(site.correlations)}
    if reserved & set(observed):
        raise SolverInputError(f"observable names {sorted(reserved & set(observed))} are "
                               "taken by the runtime's own keys")
    one = lambda y: np.ones_like(y)  # noqa: E731
    extra = [LayeredTermSpec(None, "observable", None, _shifted(f, mean),
                             _shifted(g if g is not None else one, mean))
             for f, g in observed.values()]
    specs = terms + extra
    composites = [(s.left, s.right) for s in specs] + [(None, None)]
    pairs = [(i, j) for i in range(n) for j in range(i, n)]
    index = {pair: k for k, pair in enumerate(pairs)}
    n_pairs = len(pairs)
    size = len(composites) * n_pairs
    own = len(specs) * n_pairs  # the composite x x (the kernel's own sampling noise)
    dK = np.zeros((n_pairs, size))
    rows = np.zeros((len(specs), n_pairs, size))  # δX(pair) = ξ_X + slopes · δK
    for t in range(n):
        # δK(t, s), s ≤ t, from δQ_k(u, v) at u < t, v < s (rows already built)
        for s in range(t + 1):
            row = np.zeros(size)
            for u in range(t):
                for v in range(s):
                    weight = G[t, u] * G[s, v]
                    if weight == 0.0:
                        continue
                    key = index[(min(u, v), max(u, v))]
                    for k in range(len(terms)):
                        row += weight * A[k] * rows[k, key]
            dK[index[(s, t)]] = row
        for s in range(t + 1):  # the composites on pairs whose later time is t
            key = index[(s, t)]
            for k, spec in enumerate(specs):
                row = np.zeros(size)
                row[k * n_pairs + key] = 1.0
                for e in _entries(s, t):
                    if dK[index[e]].any():
                        row += _slope(spec, full, s, t, *e) * dK[index[e]]
                rows[k, key] = row
    noise, drift = _four_point(full, composites, pairs, dK)
    source = _curvature_source(drift, specs, full, pairs, dK, noise)

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

    def own_row(key):
        row = dK[key].copy()
        row[own + key] += 1.0
        return row

    def average(spec):
        return lambda s, t: float(_expectation(spec, full[[s]][:, [s]], full[[t]][:, [t]],
                                               full[[s]][:, [t]])[0, 0])

    out = {"times": np.arange(n), "kernel": full,
           "variance": report(own_row, lambda s, t: full[s, t])}
    for k, spec in enumerate(specs):
        name = (list(observed)[k - len(terms)] if k >= len(terms)
                else (site.correlations[k].name or f"C_{k}"))
        out[name] = report(lambda key, k=k: rows[k, key], average(spec))
    if not all(np.all(np.isfinite(v["shift"])) and np.all(np.isfinite(v["lagged"]["shift"]))
               for v in out.values() if isinstance(v, dict)):
        raise SolverInputError("the window one-loop shift is not finite (a degenerate "
                               "window covariance: zero noise and a silent start?)")
    return out
