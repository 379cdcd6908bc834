r"""Finite-N maps: the one-loop O(1/N) shifts of a single unit's statistics (issue 12, item 4).

``solve(map_model, params, order="1/N", N=N)`` for a one-population discrete-time model
(CLI ``solve MODEL --order 1/N -N N``). Without mean coupling nothing is enhanced, and the
O(1/N) change of a unit's statistics is a one-loop effect of the collective fields: the
unit's own share of the order parameters (its self-coupling J_ii among them), the sampling
fluctuations of Q and the curvature of the site's averages in its input covariance.
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
result in ``leading_order``.
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
    """The finite-N statistics of a single unit of a one-population map (module docstring).
    ``solve`` is :func:`fieldtheory.solve.solve`; ``options`` may set ``window`` (steps)."""
    from fieldtheory.codegen.generate import generate
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
    if site.size != 1:
        raise ParameterError(f"finite-N map theory ({model.name}): one population; the "
                             f"model has {site.size} ({', '.join(site.populations)}) — the "
                             "window runtime takes them (window_correction), the per-"
                             "population keys of solve are not built")
    leading = solve(model, values, order="1/N")
    obs = leading.observables
    phi, dphi = site.phi[0], site.dphi[0]
    observed = {"x": (lambda y: y, None), "phi": (phi, None), "phiphi": (phi, phi),
                "gain": (dphi, None)}
    try:
        out = window_correction(site, steps, float(obs["variance"]), observed)
    except SolverInputError as error:
        raise ParameterError(f"finite-N map theory ({model.name}): {error}") from None
    m_phi = float(out["phi"]["values"][-1])
    shifts = {"mean": out["x"]["shift"], "variance": out["variance"]["shift"],
              "mean_phi": out["phi"]["shift"],
              "variance_phi": out["phiphi"]["shift"] - 2 * m_phi * out["phi"]["shift"],
              "mean_gain": out["gain"]["shift"]}
    history = {key: [float(v) for v in s] for key, s in shifts.items()}
    _check_stationary(model.name, steps, obs, out, m_phi, history)
    coefficients = {key: float(s[-1]) for key, s in shifts.items()}
    finite = {key: float(obs[key]) + coefficients[key] / N
              for key in ("variance", "mean", "mean_phi", "mean_gain")}
    lags = np.arange(steps // 2 + 1)
    tau = lags * float(site.step)
    x_lag, pp_lag = out["variance"]["lagged"], out["phiphi"]["lagged"]
    phi_lag_shift = pp_lag["shift"][lags] - 2 * m_phi * out["phi"]["shift"][-1]
    curves = {"autocorrelation": {"tau": tau, "values": x_lag["values"][lags]
                                  + x_lag["shift"][lags] / N},
              "autocorrelation_phi": {"tau": tau, "values": pp_lag["values"][lags] - m_phi**2
                                      + phi_lag_shift / N}}
    if not (all(np.isfinite(v) for v in finite.values())
            and all(np.all(np.isfinite(c["values"])) for c in curves.values())):
        raise ConvergenceError(f"finite-N map theory ({model.name}): a non-finite value",
                               history=history)
    observables = replace(obs, mean_shift=coefficients, **finite, **curves)
    return replace(leading, observables=observables, N=N, leading_order=obs,
                   method=f"window_loop:{leading.method}",
                   info={"window": steps, "shifts": history,
                         "lag_shift": [float(v) for v in x_lag["shift"]]})


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
