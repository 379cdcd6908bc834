"""``verify`` for spiking networks (issue 18): theory (``solve_spiking``) against a
simulation (numpy or NEST) on the same lags and rate-distribution bins, as z-scores in a
:class:`~fieldtheory.verify.Report`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from fieldtheory.errors import ParameterError
from fieldtheory.spiking_solve import simulate_spiking_model, solve_spiking
from fieldtheory.verify import Comparison, Report

__all__ = ["binned", "compare_spiking", "periodogram", "verify_spiking"]


#: what a population outside the fluctuation-driven regime does not compare (its theory
#: states the approximation fails there; the JSON says so per population)
STATED_TO_FAIL = ("cv", "timescale", "spike_autocorrelation", "power_spectrum",
                  "rate_distribution")

#: theory lag steps per simulated bin: the theory's curve is averaged over each bin
FINE = 10


def binned(tau: np.ndarray, C: np.ndarray, lags: np.ndarray, width: float) -> np.ndarray:
    """What a bin-count estimator of width Δ measures at lag τ_k = kΔ for an even Ĉ:
    the triangle average (1/Δ)∫_{−Δ}^{Δ} (1 − |u|/Δ) Ĉ(|τ_k + u|) du (the product of two
    bins' counts), by the trapezoid rule on 200 points of the (finer) theory curve."""
    u = np.linspace(-width, width, 201)
    weight = (1 - np.abs(u) / width) / width
    values = np.interp(np.abs(lags[:, None] + u[None, :]), tau, C)
    return np.trapezoid(values * weight, u, axis=1)


def periodogram(tau: np.ndarray, C: np.ndarray, nu: float, width: float, segment: int,
                omega: np.ndarray, resolution: float = 0.0) -> np.ndarray:
    r"""The expectation (Hz) of the simulation's spectrum estimator — rectangular segments
    of L = ``segment`` bins of width Δ (ms), S = |Σ_b (n_b − n̄) e^{−iωbΔ}|²/T_seg — for
    a train of rate ν and δ-free autocorrelation Ĉ (theory curve ``tau``, ``C``):
    (1/Δ)[γ_0 + 2 Σ_{K=1}^{L−1} (1 − K/L) γ_K cos(ωKΔ)] with the count covariances
    γ_K = Δ² Ĉ_K (Ĉ_K the bin-averaged :func:`binned` curve, 10⁻⁶ Hz²·ms² per count²) and
    γ_0 = νΔ + Δ²Ĉ_0 − dtΔ(ν² + Ĉ_0) (at most one spike per step of ``resolution`` dt),
    at ω > 0 (rad/s), where the segment mean does not enter."""
    lags = width * np.arange(segment)
    Cb = binned(tau, C, lags, width) * 1e-6           # 1/ms²
    gamma = width**2 * Cb
    gamma[0] += nu * 1e-3 * width - resolution * width * (nu**2 * 1e-6 + Cb[0])
    K = np.arange(1, segment)
    w = np.asarray(omega, float) / 1000.0             # rad/ms
    total = gamma[0] + 2 * np.cos(np.outer(w, K * width)) @ ((1 - K / segment) * gamma[1:])
    return 1000.0 * total / width


def pooled(edges, theory, simulated, n: int, least: float = 5.0):
    """Adjacent histogram bins merged, left to right, until every group expects at least
    ``least`` of the ``n`` neurons under the theory (a short last group joins the one
    before it) — the rule of Pearson's χ² test; the normal approximation of a binomial
    count fails below it: (edges, theory density, simulated density) on the merged bins,
    each density the merged mass over the merged width. Bins that already expect enough
    are kept as they are."""
    edges = np.asarray(edges, float)
    widths = np.diff(edges)
    expected = np.asarray(theory, float) * widths * n
    groups, start = [], 0
    while start < len(widths):  # from the left: grow a group until it expects enough
        stop = start + 1
        while stop < len(widths) and expected[start:stop].sum() < least:
            stop += 1
        groups.append([start, stop])
        start = stop
    while len(groups) > 1 and expected[groups[-1][0]:groups[-1][1]].sum() < least:
        groups[-2][1] = groups.pop()[1]  # a short group on the right joins its neighbour
    cuts = [g[0] for g in groups] + [len(widths)]
    merged = np.array([edges[c] for c in cuts])

    def mass(density):
        return np.add.reduceat(np.asarray(density, float) * widths, cuts[:-1])

    return merged, mass(theory) / np.diff(merged), mass(simulated) / np.diff(merged)


def compare_spiking(theory: Mapping[str, Any], simulation: Mapping[str, Any],
                    stderr: Mapping[str, Any], threshold: float = 4.0,
                    sizes: Mapping[str, int] | None = None, resolution: float = 0.0,
                    theory_stderr: Mapping[str, Any] | None = None):
    """z-scores of every population's ``rate``, ``cv``, ``timescale``, the spike
    autocorrelation at each simulated lag > 0 and the rate-distribution density in each
    bin (the same bins on both sides): a :class:`~fieldtheory.verify.Report`.

    The theory side is what the simulation's estimators measure: Ĉ averaged over the
    bins (:func:`binned`; the theory solved on a lattice finer than the bins) and the
    timescale of that binned curve, so the cusp of Ĉ at τ = 0 (delta synapses) does not
    bias the comparison. A histogram bin's error is the binomial one under the theory's
    probability, √(p(1 − p)/n)/width with n the population's ``sizes`` (an empty bin
    where the theory expects little is no infinite z) — on bins pooled by
    :func:`pooled` so that each expects at least five neurons, where the binomial's normal
    approximation holds (one neuron in a bin that expects 0.03 is not a 5.7σ event) —
    with the common (network-level)
    rate fluctuation ``rate_common`` of the simulation's errors added as the shift
    ρ'(ν)·δν of the whole histogram. A key the theory leaves null is not compared; a
    sampled theory's errors (``theory_stderr``, the simulations' layout) are added to
    the simulation's in quadrature (curves: bin-averaged like the theory's curve)."""
    out = []
    for name, th in theory["populations"].items():
        sim, err = simulation["populations"][name], stderr["populations"][name]
        sampled = ((theory_stderr or {}).get("populations") or {}).get(name) or {}
        expected = dict(th)
        if th.get("regime", "fluctuation_driven") != "fluctuation_driven":
            # the theory states its spike-train statistics fail there: rates only
            expected = {k: v for k, v in th.items() if k not in STATED_TO_FAIL}
        ac = expected.get("spike_autocorrelation")
        if ac is not None and sim.get("spike_autocorrelation") is not None:
            tau = np.asarray(sim["spike_autocorrelation"]["tau"], float)
            width = float(tau[1] - tau[0])
            curve = binned(np.asarray(ac["tau"], float), np.asarray(ac["values"], float),
                           tau, width)
            if curve[0] != 0:
                ratio = (curve / curve[0]) ** 2
                expected["timescale"] = float(2 * np.trapezoid(ratio, tau))
            values = np.asarray(sim["spike_autocorrelation"]["values"], float)
            errors = np.asarray(err["spike_autocorrelation"]["values"], float)
            theory_error = None
            if sampled.get("spike_autocorrelation") is not None:
                # a sampled theory's errors, bin-averaged like its curve (an upper bound:
                # the errors of neighbouring lags are positively correlated)
                theory_error = binned(np.asarray(ac["tau"], float), np.asarray(
                    sampled["spike_autocorrelation"]["values"], float), tau, width)
                errors = np.hypot(errors, theory_error)
            for t, m, v, e in zip(tau, curve, values, errors, strict=True):
                if t > 0:
                    out.append(Comparison(f"{name}.spike_autocorrelation", float(t), float(m),
                                          float(v), float(e)))
            spectrum = sim.get("power_spectrum")
            if spectrum is not None and float(ac["tau"][-1]) >= 2 * tau[-1] + width - 1e-9:
                omega = np.asarray(spectrum["omega"], float)[1:]
                model = periodogram(np.asarray(ac["tau"], float),
                                    np.asarray(ac["values"], float), float(th["rate"]),
                                    width, 2 * (len(tau) - 1), omega, resolution)
                spectrum_errors = np.asarray(err["power_spectrum"]["values"][1:], float)
                if theory_error is not None:
                    # the theory's Ĉ errors through the same (linear) estimator, taken as
                    # fully correlated across lags
                    spectrum_errors = np.hypot(spectrum_errors, np.abs(periodogram(
                        np.asarray(ac["tau"], float), np.asarray(
                            sampled["spike_autocorrelation"]["values"], float), 0.0,
                        width, 2 * (len(tau) - 1), omega, resolution)))
                for w, m, v, e in zip(omega, model, spectrum["values"][1:],
                                      spectrum_errors, strict=True):
                    out.append(Comparison(f"{name}.power_spectrum", float(w), float(m),
                                          float(v), float(e)))
        for key in ("rate", "cv", "timescale"):
            if expected.get(key) is not None and sim.get(key) is not None and err.get(key):
                error = math.hypot(float(err[key]), float(sampled.get(key) or 0.0))
                out.insert(0, Comparison(f"{name}.{key}", None, float(expected[key]),
                                         float(sim[key]), error))
        hist = expected.get("rate_distribution")
        if hist is not None and sim.get("rate_distribution") is not None:
            edges = np.asarray(hist["bins"], float)
            if not np.allclose(edges, sim["rate_distribution"]["bins"]):
                raise ParameterError(f"verify: the rate-distribution bins of {name} differ "
                                     "between theory and simulation")
            density = np.asarray(hist["density"], float)
            simulated = np.asarray(sim["rate_distribution"]["density"], float)
            sim_err = np.asarray(err["rate_distribution"]["density"], float)
            if sizes is not None:
                edges, density, simulated = pooled(edges, density, simulated, sizes[name])
                widths = np.diff(edges)
                p = density * widths
                sim_err = np.sqrt(p * (1 - p) / sizes[name]) / widths
            centres = 0.5 * (edges[1:] + edges[:-1])
            common = err.get("rate_common") or 0.0
            if common > 0 and len(centres) > 2:
                # a common shift δν of all rates moves the histogram by ρ'(ν) δν
                sim_err = np.hypot(sim_err, np.gradient(density, centres) * common)
            for c, m, v, e in zip(centres, density, simulated, sim_err, strict=True):
                out.append(Comparison(f"{name}.rate_distribution", float(c), float(m),
                                      float(v), float(e)))
    return Report(tuple(out), threshold)


def verify_spiking(model, params: Mapping[str, float] | None = None, *,
                   theory_params: Mapping[str, float] | None = None, N: int | None = None,
                   t_max: float = 2000.0, t_burn: float = 200.0, dt: float = 0.1,
                   seed: int = 0, engine: str = "numpy", threads: int = 1,
                   tau_max: float = 50.0, dtau: float = 1.0, threshold: float = 4.0,
                   progress: bool = False, trials: int = 1, method: str = "auto",
                   options: Mapping[str, Any] | None = None):
    """Solve, simulate (``engine``) and compare a spiking network: (report, theory,
    simulation). The theory's rate distribution is that of the estimates over the
    simulated window (counting noise included) on the bins the theory chose, which the
    simulation then uses. ``trials`` > 1: errors across independent networks (see
    :func:`~fieldtheory.spiking_solve.simulate_spiking_model`). ``method``: the spiking
    runtime (``lif_shot``, ``lif_colored``: their sampling errors are added to the
    simulation's), ``options`` the runtime's options."""
    from fieldtheory.progress import heartbeat

    with heartbeat("theory", enabled=progress):
        theory = solve_spiking(model, theory_params if theory_params is not None else params,
                               method=method, tau_max=2 * tau_max + dtau, dtau=dtau / FINE,
                               window=t_max / 1000.0, options=options)
    bins = {name: p["rate_distribution"]["bins"]
            for name, p in theory.observables["populations"].items()
            if p.get("rate_distribution") is not None} or None
    simulation = simulate_spiking_model(model, params, N=N, t_max=t_max, t_burn=t_burn,
                                        dt=dt, seed=seed, engine=engine, threads=threads,
                                        trials=trials,
                                        tau_max=tau_max, dtau=dtau, bins=bins,
                                        progress=progress)
    report = compare_spiking(theory.observables, simulation.observables, simulation.stderr,
                             threshold, sizes=simulation.info["sizes"], resolution=dt,
                             theory_stderr=theory.stderr)
    return report, theory, simulation
