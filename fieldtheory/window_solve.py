r"""Finite-N maps: the one-loop O(1/N) shifts of a single unit's statistics (issue 12, item 4).

``solve(map_model, params, order="1/N", N=N)`` for a discrete-time model (CLI ``solve
MODEL --order 1/N -N N``), one population or several (Gaussian populations observing one
φ; the stationary N → ∞ state of several from the ``maps_multi`` runtime). Without mean
coupling nothing is enhanced, and the O(1/N) change of a unit's statistics is a one-loop
effect of the collective fields: the unit's own share of the order parameters (its
self-coupling J_ii among them), the sampling fluctuations of Q and the curvature of the
site's averages in its input covariance.
:mod:`fieldtheory.solvers.runtime.window_loop` computes it on a window of times started at
the stationary variance (x_i(0) iid, independent of J). Its end is the stationary
network's only if the window has forgotten its start, at O(1/N) as at N → ∞ — checked:

* the window's N → ∞ averages at its end equal the stationary ones (``STATIONARY_TOLERANCE``);
* the equal-time shifts of its last two times agree (``WINDOW_TOLERANCE``, relative), and
  so do the shifts of the covariances at the lags reported (k ≤ steps/2): at (end − k,
  end) and (end − 1 − k, end − 1).

Otherwise a :class:`~fieldtheory.errors.ConvergenceError` with the shifts per time. The
lags matter: near the edge of chaos without noise (the δ = 1 tanh map at g = 2,
g⟨φ'⟩ = 0.94) the equal-time shifts settle while the even-lag shifts still converge, by
a factor g²⟨φ'⟩² = 0.88 per step (the off-diagonal order parameter's relaxation) — and
stationary networks there show an excess variance (≈ +8 … +15/N, heavy-tailed across
networks) that the one loop does not (docs/fluctuations.md). On a fast-mixing
map (δ = 1, g = 1.5, D = 1) the shifts meet stationary simulations.

Returned: ``variance``, ``mean``, ``mean_phi``, ``mean_gain`` at N (N → ∞ value +
shift/N); ``autocorrelation`` and ``autocorrelation_phi`` at N on the lags the window
resolves (k ≤ steps/2, τ = kδ); ``mean_shift`` {``mean``, ``variance``, ``mean_phi``,
``variance_phi``, ``mean_gain``}: the coefficients N·(E − N→∞); the N → ∞ O(1/N)
observables (dimension, population keys) as ``solve(order="1/N")`` gives them; the N → ∞
result in ``leading_order``. With several populations every population's keys at N and its
``mean_shift`` are under ``populations`` (each window checked on its own); the top level is
their mixture at N (``common.mixture``) with the mixture's coefficients (fractions'
averages; the variances also carry 2 f_α (M_α − M̄)(δM_α − δM̄)); ``info["shifts"]`` and
``info["lag_shift"]`` per population.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from fieldtheory.errors import ConvergenceError, ParameterError
from fieldtheory.ir.model import Model, load_model
from fieldtheory.results import TheoryResult

__all__ = ["solve_window"]

#: The window's last time (steps from the start); its four-point functions dominate the
#: cost (≈ 13 s at 8 steps, ≈ 20 s at 10, ≈ 40 s at 11, the most the runtime holds).
WINDOW = 10
#: Relative distance of the window's N → ∞ averages from the stationary ones; relative
#: change of each shift over the window's last step.
STATIONARY_TOLERANCE, WINDOW_TOLERANCE = 1e-3, 0.01


def solve_window(solve, model: Model | str, params: Mapping[str, float] | None, N: int,
                 options: Mapping[str, Any] | None = None) -> TheoryResult:
    """The finite-N statistics of a single unit of a map (module docstring); with several
    populations per population under ``populations`` (the top level their mixture).
    ``solve`` is :func:`fieldtheory.solve.solve`; ``options`` may set ``window`` (steps)."""
    from fieldtheory.codegen.generate import generate, refuse_mixture
    from fieldtheory.solvers.runtime.common import SolverInputError
    from fieldtheory.solvers.runtime.window_loop import window_correction

    model = load_model(model)
    options = dict(options or {})
    steps = int(options.pop("window", WINDOW))
    if options:
        raise ParameterError(f"finite-N map theory: unknown options {sorted(options)} "
                             "(it takes 'window')")
    values = model.parameters.resolve(params)
    site = generate(model).spec(**values)
    refuse_mixture(site, f"finite-N map theory ({model.name})")
    if any(phi is not site.phi[0] for phi in site.phi):
        raise ParameterError(f"finite-N map theory ({model.name}): the populations observe "
                             "different φ; the window runtime's observables are one set of "
                             "functions for every population")
    leading = solve(model, values, order="1/N")
    obs = leading.observables
    names = tuple(site.populations)
    per_population = ([obs] if site.size == 1
                      else [obs["populations"][name] for name in names])
    phi, dphi = site.phi[0], site.dphi[0]
    observed = {"x": (lambda y: y, None), "phi": (phi, None), "phiphi": (phi, phi),
                "gain": (dphi, None)}
    start = np.array([float(o["variance"]) for o in per_population])
    try:
        out = window_correction(site, steps, start, observed)
    except SolverInputError as error:
        raise ParameterError(f"finite-N map theory ({model.name}): {error}") from None
    outs = [out] if site.size == 1 else [out["populations"][name] for name in names]
    finite, histories, lag_shifts = [], {}, {}
    for name, o, part in zip(names, per_population, outs, strict=True):
        where = model.name if site.size == 1 else f"{model.name}, population {name}"
        values_n, history = _finite(where, steps, o, part, N, float(site.step))
        finite.append(values_n)
        histories[name] = history
        lag_shifts[name] = [float(v) for v in part["variance"]["lagged"]["shift"]]
    if site.size == 1:
        observables = replace(obs, **finite[0])
        history, lag_shift = histories[names[0]], lag_shifts[names[0]]
    else:
        observables = _mixture(obs, names, finite, np.asarray(site.fractions, dtype=float))
        history, lag_shift = histories, lag_shifts
    return replace(leading, observables=observables, N=N, leading_order=obs,
                   method=f"window_loop:{leading.method}",
                   info={"window": steps, "shifts": history, "lag_shift": lag_shift})


def _finite(where: str, steps: int, obs, out: dict, N: int, step: float):
    """One population's values at N (equal-time keys, autocorrelations on the window's
    lags, ``mean_shift``) and the shifts per time, after the stationarity checks."""
    m_phi = float(out["phi"]["values"][-1])
    shifts = {"mean": out["x"]["shift"], "variance": out["variance"]["shift"],
              "mean_phi": out["phi"]["shift"],
              "variance_phi": out["phiphi"]["shift"] - 2 * m_phi * out["phi"]["shift"],
              "mean_gain": out["gain"]["shift"]}
    history = {key: [float(v) for v in s] for key, s in shifts.items()}
    _check_stationary(where, steps, obs, out, m_phi, history)
    coefficients = {key: float(s[-1]) for key, s in shifts.items()}
    finite = {key: float(obs[key]) + coefficients[key] / N
              for key in ("variance", "mean", "mean_phi", "mean_gain")}
    lags = np.arange(steps // 2 + 1)
    tau = lags * step
    x_lag, pp_lag = out["variance"]["lagged"], out["phiphi"]["lagged"]
    phi_lag_shift = pp_lag["shift"][lags] - 2 * m_phi * out["phi"]["shift"][-1]
    curves = {"autocorrelation": {"tau": tau, "values": x_lag["values"][lags]
                                  + x_lag["shift"][lags] / N},
              "autocorrelation_phi": {"tau": tau, "values": pp_lag["values"][lags] - m_phi**2
                                      + phi_lag_shift / N}}
    if not (all(np.isfinite(v) for v in finite.values())
            and all(np.all(np.isfinite(c["values"])) for c in curves.values())):
        raise ConvergenceError(f"finite-N map theory ({where}): a non-finite value",
                               history=history)
    return {"mean_shift": coefficients, **finite, **curves}, history


def _mixture(obs, names, finite: list[dict], fractions: np.ndarray):
    """The network-wide keys at N (``mixture`` of the populations at N) and its
    ``mean_shift``: the fractions' averages of the populations' coefficients, the variances
    with the spread of the means differentiated, 2 f_α (M_α − M̄)(δM_α − δM̄)."""
    from fieldtheory.solvers.runtime.common import mixture

    top, _ = mixture(finite, fractions)
    shift = {key: float(sum(f * p["mean_shift"][key] for f, p in zip(fractions, finite,
                                                                      strict=True)))
             for key in finite[0]["mean_shift"]}
    for variance, mean in (("variance", "mean"), ("variance_phi", "mean_phi")):
        centre = sum(f * float(obs["populations"][n][mean]) for f, n in zip(fractions, names,
                                                                              strict=True))
        shift[variance] += float(sum(
            2 * f * (float(obs["populations"][n][mean]) - centre)
            * (p["mean_shift"][mean] - shift[mean])
            for f, n, p in zip(fractions, names, finite, strict=True)))
    populations = {name: replace(obs["populations"][name], **p)
                   for name, p in zip(names, finite, strict=True)}
    keys = ("mean", "variance", "mean_phi", "mean_gain", "autocorrelation",
            "autocorrelation_phi")
    return replace(obs, mean_shift=shift, populations=populations,
                   **{key: top[key] for key in keys})


def _check_stationary(name: str, steps: int, obs, out: dict, m_phi: float,
                      history: dict) -> None:
    """The three checks of the module docstring, each a named ConvergenceError."""
    def refuse(what: str) -> None:
        raise ConvergenceError(f"finite-N map theory ({name}): {what} — the map's memory "
                               f"outlasts the window of {steps} steps", history=history)

    stationary = {"variance": float(obs["variance"]), "mean_gain": float(obs["mean_gain"]),
                  "variance_phi": float(obs["autocorrelation_phi"]["values"][0])}
    window = {"variance": out["variance"]["values"][-1], "mean_gain": out["gain"]["values"][-1],
              "variance_phi": out["phiphi"]["values"][-1] - m_phi**2}
    for key, value in stationary.items():
        if abs(window[key] - value) > STATIONARY_TOLERANCE * max(abs(value), 1e-12):
            refuse(f"the window is not stationary ({key}: {window[key]:.6g} at its end "
                   f"against the stationary {value:.6g})")
    scale = max(abs(s[-1]) for s in history.values())
    for key, s in history.items():
        if abs(s[-1] - s[-2]) > WINDOW_TOLERANCE * max(abs(s[-1]), 0.01 * scale):
            refuse(f"the O(1/N) shift of {key} still moves at the window's end "
                   f"({s[-2]:.6g} → {s[-1]:.6g})")
    matrix = out["variance"]["matrix"]
    last = len(matrix) - 1
    lags = [k for k in range(1, steps // 2 + 1)]
    reported = np.array([matrix[last - k, last] for k in lags])
    earlier = np.array([matrix[last - 1 - k, last - 1] for k in lags])
    bound = WINDOW_TOLERANCE * max(np.abs(reported).max(initial=0.0), scale)
    for k, now, before in zip(lags, reported, earlier, strict=True):
        if abs(now - before) > bound:
            refuse(f"the O(1/N) shift of the covariance at lag {k} still moves at the "
                   f"window's end ({before:.6g} → {now:.6g}; a slow mode of the order "
                   "parameters)")
