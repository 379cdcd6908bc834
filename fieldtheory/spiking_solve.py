"""Spiking networks at the top level: solve (mean-field theory) and simulate (numpy or
NEST) with one observables schema (issue 18).

Observables per population (``populations[name]``), units Hz, ms, rad/s: ``rate``,
``rate_variance`` (across neurons), ``cv``, ``rate_distribution`` {``bins``, ``density``,
``outside``}, ``spike_autocorrelation`` {``tau``, ``values``} (the δ-peak ν δ(τ)
excluded), ``power_spectrum`` {``omega``, ``values``} (S → ν at high ω), ``timescale``
(τ_c = ∫_{−τmax}^{τmax} [Ĉ(τ)/Ĉ(0)]² dτ); the network-wide ``rate`` is the mean over all
neurons. ``stderr`` has the same layout for simulations.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldtheory.errors import ConvergenceError, ParameterError
from fieldtheory.ir.model import Model, load_model
from fieldtheory.ir.spiking import SpikingNetwork, is_spiking
from fieldtheory.jsonout import plain, strict

__all__ = ["SpikingResult", "simulate_spiking_model", "solve_spiking"]

ENGINES = ("numpy", "nest")


@dataclass
class SpikingResult:
    """A spiking theory or simulation: ``observables`` and ``stderr`` (simulations) in the
    layout above; ``info`` what the run used (method or engine, N, times, seed)."""

    model: str
    params: dict[str, float]
    N: int | None
    method: str
    observables: dict[str, Any]
    stderr: dict[str, Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    undefined: dict[str, str] = field(default_factory=dict)
    record: Any = field(default=None, repr=False)

    def to_json(self) -> dict:
        data = {"model": self.model, "params": self.params, "N": self.N,
                "method": self.method, "observables": self.observables,
                "stderr": self.stderr, **self.info}
        return strict(plain(data), dict(self.undefined))


def _spiking_model(model) -> Model:
    loaded = load_model(model)
    if not is_spiking(loaded):
        raise ParameterError(f"model {loaded.name!r} is not a spiking network")
    return loaded


def solve_spiking(model, params: Mapping[str, float] | None = None, *, method: str = "auto",
                  tau_max: float = 100.0, dtau: float = 1.0, bins=None,
                  window: float | None = None,
                  options: Mapping[str, Any] | None = None) -> SpikingResult:
    """The mean-field theory of a spiking network: the derived site (input cumulants) at
    the parameter values, solved by the registered ``spiking`` runtime of its neuron model
    (``glm_colored``, ``lif_siegert``). ``bins`` (Hz edges, or per population) fixes the
    rate-distribution bins; lags 0 … ``tau_max`` in steps ``dtau`` (ms). ``window`` (s):
    the rate distribution of the estimates n_i/T of a recording of that length (each rate
    broadened by its counting noise) instead of the true rates."""
    from fieldtheory.derive import derive
    from fieldtheory.solvers import registry
    from fieldtheory.solvers.runtime.common import ConvergenceError as RuntimeConvergence
    from fieldtheory.solvers.runtime.common import SolverInputError
    from fieldtheory.solvers.runtime.spiking import SpikingGrid

    loaded = _spiking_model(model)
    network: SpikingNetwork = loaded.action
    values = network.resolve(params)
    site = derive(loaded).site_problem().at(values)
    known = registry.runtimes("spiking")
    if method == "auto":
        usable = [r for r in known.values() if r.applies(site)]
        if not usable:
            kinds = sorted({n.model for n in site.values.neurons})
            raise ParameterError(f"solve {loaded.name}: no spiking runtime solves a network "
                                 f"of neuron models {kinds} (registered: {sorted(known)}; "
                                 "mixed LIF/GLM networks are not covered)")
        runtime = max(usable, key=lambda r: r.priority)
    elif method in known:
        runtime = known[method]
        if not runtime.applies(site):
            raise ParameterError(f"solve {loaded.name}: method {method!r} does not apply to "
                                 "this network's neuron models")
    else:
        raise ParameterError(f"solve {loaded.name}: unknown method {method!r}; the spiking "
                             f"runtimes are {sorted(known)}")
    grid = SpikingGrid(tau_max=float(tau_max), dtau=float(dtau), bins=bins,
                       window=None if window is None else float(window))
    try:
        out = runtime.solve(site, grid, dict(options or {}))
    except SolverInputError as exc:
        raise ParameterError(f"solve {loaded.name}: {exc}") from None
    except RuntimeConvergence as exc:
        raise ConvergenceError(f"solve {loaded.name}: {exc}") from None
    pops = out["populations"]
    sizes = np.array(site.values.sizes, dtype=float)
    rates = np.array([pops[n]["rate"] for n in site.values.populations])
    observables = {"rate": float(rates @ sizes / sizes.sum()), "populations": pops}
    if "stability" in out:
        observables["stability"] = out["stability"]
    areas = _areas(site.values.populations, rates, sizes)
    if areas:
        observables["areas"] = areas
    # a sampled runtime (lif_shot) reports its sampling errors in the simulations' layout
    return SpikingResult(loaded.name, values, None, runtime.name, observables,
                         stderr=out.get("stderr"),
                         info={"iterations": out.get("iterations"),
                               # a sampled runtime's convergence record (lif_colored)
                               **{k: out[k] for k in ("history", "trace") if k in out}},
                         undefined=out.get("undefined", {}))


def _areas(names, rates: np.ndarray, sizes: np.ndarray) -> dict:
    """Per-area summaries of an area graph's populations (keys ``AREA/POP``): the
    size-weighted mean rate and the number of neurons; {} for other networks."""
    if not all("/" in n for n in names):
        return {}
    out: dict = {}
    for name, rate, size in zip(names, rates, sizes, strict=True):
        entry = out.setdefault(name.split("/")[0], {"rate": 0.0, "neurons": 0})
        entry["rate"] += float(rate * size)
        entry["neurons"] += int(size)
    for entry in out.values():
        entry["rate"] /= entry["neurons"]
    return out


def simulate_spiking_model(model, params: Mapping[str, float] | None = None, *,
                           N: int | None = None, t_max: float = 1000.0,
                           t_burn: float = 200.0, dt: float = 0.1, seed: int = 0,
                           engine: str = "numpy", threads: int = 1, tau_max: float = 100.0,
                           dtau: float = 1.0, bins=None, max_units: int | None = 1000,
                           progress: bool = False, keep_spikes: bool = False,
                           trials: int = 1,
                           spikes_to: str | os.PathLike | None = None) -> SpikingResult:
    """Simulate a spiking network with the numpy engine or NEST (``engine="nest"``,
    the extra ``[nest]``) and measure the observables of :func:`solve_spiking` (same
    lags and bins). ``N`` rescales the population sizes (in-degrees kept).

    ``trials`` > 1 runs that many independent networks (trial k with seed ``seed + k``):
    the observables are their means, the errors the spread across networks (the
    realisation of the graph included; t-distributed with trials − 1 degrees of freedom)
    — one network's errors (across neurons and time batches) miss the network-to-network
    variation of a recurrent network's population rate.

    Both engines stream the spikes into the statistics chunk by chunk, so memory stays
    bounded unless ``keep_spikes`` (the :class:`~fieldtheory.simulate.spike_stats.SpikeRecord`
    in ``record``). ``spikes_to`` (a path) also writes the spikes after the burn-in to a
    binary file, chunk by chunk — records of the time (ms, little-endian float64) and the
    global neuron index (little-endian int64, populations contiguous in declaration order,
    the index the statistics use), by time then neuron — with a JSON sidecar
    ``<file>.json`` (populations with first index and size, dt, t_burn, t_max, engine,
    seed, number of spikes); read it with
    :func:`~fieldtheory.simulate.spike_stats.read_spikes`. A path that cannot be written
    raises :class:`~fieldtheory.errors.OutputPathError` before the simulation, and
    ``spikes_to`` with ``trials`` > 1 a :class:`~fieldtheory.errors.ParameterError` (one
    file holds one run)."""
    loaded = _spiking_model(model)
    if engine not in ENGINES:
        raise ParameterError(f"simulate {loaded.name}: engine {engine!r} is not one of "
                             f"{ENGINES}")
    if not (isinstance(trials, int) and trials >= 1):
        raise ParameterError(f"simulate {loaded.name}: trials = {trials!r} must be a "
                             "positive integer")
    if spikes_to is not None:
        if trials > 1:
            raise ParameterError(f"simulate {loaded.name}: spikes_to writes the spikes of "
                                 f"one run, but trials = {trials}; simulate the trials one "
                                 "by one (seed + k) to keep each one's spikes")
        from fieldtheory.simulate.spike_stats import check_spike_path

        check_spike_path(spikes_to)
    network: SpikingNetwork = loaded.action
    values = network.resolve(params)
    net = network.values(values, N=N)
    runs = []
    for k in range(trials):
        runs.append(_simulate_once(net, engine, t_max=t_max, t_burn=t_burn, dt=dt,
                                   seed=seed + k, threads=threads, progress=progress,
                                   keep_spikes=keep_spikes and trials == 1, bins=bins,
                                   tau_max=tau_max, dtau=dtau, max_units=max_units,
                                   spikes_to=spikes_to))
    if trials == 1:
        record, observables, stderr = runs[0]
    else:
        record = None
        observables = _across(r[1] for r in runs)
        stderr = _across((r[1] for r in runs), error=True)
    info = {"engine": engine, "t_max": t_max, "t_burn": t_burn, "dt": dt, "seed": seed,
            "trials": trials, "sizes": dict(zip(net.populations, net.sizes, strict=True))}
    if spikes_to is not None:
        info["spikes_file"] = os.fspath(spikes_to)
    return SpikingResult(loaded.name, values, net.N, engine, observables, stderr, info,
                         record=record)


def _simulate_once(net, engine: str, *, t_max, t_burn, dt, seed, threads, progress,
                   keep_spikes, bins, tau_max, dtau, max_units, spikes_to=None):
    """(record or None, observables, stderr) of one network; the spikes are streamed into
    the statistics (and ``spikes_to``) chunk by chunk by either engine."""
    if engine == "numpy":
        from fieldtheory.simulate.spiking import simulate_spiking

        return simulate_spiking(net, t_max=t_max, t_burn=t_burn, dt=dt, seed=seed,
                                progress=progress, keep_spikes=keep_spikes, bins=bins,
                                tau_max=tau_max, dtau=dtau, max_units=max_units,
                                spikes_to=spikes_to)
    from fieldtheory.simulate.spiking_nest import simulate_nest_statistics

    return simulate_nest_statistics(net, t_max=t_max, t_burn=t_burn, dt=dt, seed=seed,
                                    threads=threads, progress=progress,
                                    keep_spikes=keep_spikes, spikes_to=spikes_to,
                                    bins=bins, tau_max=tau_max, dtau=dtau,
                                    max_units=max_units)


#: grid keys, the same in every trial (kept, not averaged into errors)
_GRIDS = ("bins", "tau", "omega")


def _across(results, error: bool = False):
    """The mean over trials of every number of the observables (error: the standard
    error of that mean across trials); a number missing (None) in any trial is None."""
    results = list(results)
    first = results[0]
    if isinstance(first, Mapping):
        return {k: (first[k] if k in _GRIDS else
                    _across([r.get(k) for r in results], error)) for k in first}
    if isinstance(first, list):
        if any(not isinstance(r, list) or len(r) != len(first) for r in results):
            return None
        return [_across([r[i] for r in results], error) for i in range(len(first))]
    if any(not isinstance(r, int | float) or isinstance(r, bool) for r in results):
        return None if error or any(r is None for r in results) else first
    values = np.asarray(results, dtype=float)
    if not np.all(np.isfinite(values)):
        return None
    if error:
        return float(values.std(ddof=1) / np.sqrt(len(values)))
    return float(values.mean())
