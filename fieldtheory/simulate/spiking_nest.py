"""NEST as an optional engine for spiking networks (the ``nest`` extra).

:func:`simulate_nest` builds a :class:`~fieldtheory.ir.spiking_values.NetworkValues` in
NEST (``nest-simulator`` ≥ 3.6), simulates it and returns the recorded spikes as a
:class:`~fieldtheory.simulate.spike_stats.SpikeRecord`, the same record the numpy engine
(:func:`fieldtheory.simulate.spiking.simulate_spiking`) produces, so that
:func:`~fieldtheory.simulate.spike_stats.spike_statistics` reads either.
:func:`simulate_nest_statistics` streams the spikes into the statistics instead (memory
bounded by a chunk of :data:`CHUNK_MS` of model time), optionally to a spike file.

The mapping follows the conventions of :mod:`fieldtheory.ir.spiking_values`:

* LIF with delta synapses (``tau_s == 0``) → ``iaf_psc_delta``, weights in mV (the jump
  of V);
* LIF with exponential synapses (``tau_s > 0``) → ``iaf_psc_exp`` with
  ``tau_syn_ex = tau_syn_in = tau_s`` and weights C_m J / τ_s (pA), so that the PSP has
  area τ_m J as with delta synapses;
* GLM populations are refused (NEST has no neuron of this kind);
* connection rules ``fixed_indegree``, ``bernoulli`` (NEST's ``pairwise_bernoulli``) and
  ``fixed_total_number``; normal weights keep their sign by redrawing
  (``nest.math.redraw``, a truncated normal), normal delays are rounded to the step by NEST
  and raised to one step (``nest.math.max``) — both as in the numpy engine;
* every drive is one ``poisson_generator`` of rate ``in_degree · rate`` connected
  ``all_to_all`` to its population (NEST sends every target an independent train), its
  delay rounded to the step, at least one step (irrelevant for a stationary input).

Populations are created in declaration order, so the global neuron index of the record
is the NEST node id minus the first node id.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
from typing import Any

import numpy as np

from fieldtheory.errors import MissingDependencyError, ParameterError, SimulationError
from fieldtheory.ir.spiking_values import ConnectionValues, NetworkValues, NeuronValues
from fieldtheory.progress import progress_bar
from fieldtheory.simulate.spike_stats import (
    SpikeRecord,
    SpikeStatistics,
    check_spike_path,
    open_spike_file,
)

__all__ = ["CHUNK_MS", "EVENT_BUDGET", "import_nest", "simulate_nest",
           "simulate_nest_statistics"]

_RULES = ("fixed_indegree", "bernoulli", "fixed_total_number")
_MAX_SEED = 2**31 - 1
#: Model time (ms) per ``nest.Simulate`` call, rounded up to a multiple of ``min_delay``:
#: the recorder's events are read and cleared after each, so memory holds one chunk.
CHUNK_MS = 100.0
#: Recorded spikes per chunk above which the following chunks are shortened (about
#: 16 bytes each in numpy, more inside NEST).
EVENT_BUDGET = 1 << 20


def import_nest() -> Any:
    """Import NEST quietly (no banner, messages at error level) or name the extra.

    Returns
    -------
    module
        The ``nest`` module.

    Raises
    ------
    MissingDependencyError
        When ``nest`` cannot be imported (``pip install 'fieldtheory[nest]'``).
    """
    set_quiet = "nest" not in sys.modules and "PYNEST_QUIET" not in os.environ
    if set_quiet:  # the banner is printed at import unless PYNEST_QUIET is set
        os.environ["PYNEST_QUIET"] = "1"
    try:  # an import blocked by sys.modules["nest"] = None raises ImportError too
        nest = importlib.import_module("nest")
    except ImportError:
        raise MissingDependencyError(
            "the NEST engine needs NEST (the package nest-simulator), which is not "
            "installed: pip install 'fieldtheory[nest]'") from None
    finally:
        if set_quiet:
            os.environ.pop("PYNEST_QUIET", None)
    _quiet(nest)
    return nest


def _quiet(nest: Any) -> None:
    """NEST's messages at error level only (3.10 spells it ``nest.verbosity``)."""
    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")


def simulate_nest(network: NetworkValues, *, t_max: float = 1000.0, t_burn: float = 200.0,
                  dt: float = 0.1, seed: int = 0, threads: int = 1,
                  progress: bool = False, spikes_to: str | os.PathLike | None = None,
                  chunk: float | None = None) -> SpikeRecord:
    """Simulate a spiking network in NEST and record every neuron's spikes.

    The run is simulated in chunks (see :func:`simulate_nest_statistics`); the spikes of
    every chunk are kept, so memory grows with the record. For bounded memory use
    :func:`simulate_nest_statistics` (``keep_spikes=False``, optionally ``spikes_to``).

    Parameters
    ----------
    network : NetworkValues
        The network at numbers (LIF populations only).
    t_max : float
        Recorded time (ms), after the burn-in.
    t_burn : float
        Burn-in (ms), simulated but not recorded.
    dt : float
        NEST's resolution (ms); ``t_max``, ``t_burn`` and every delay are multiples of it.
    seed : int
        Seeds NEST's random numbers (``rng_seed``, in 1 … 2³¹−1) and the initial
        voltages V(0) ~ N(``V_init``).
    threads : int
        NEST's ``local_num_threads``.
    progress : bool
        A bar over the steps on stderr, updated per chunk
        (:func:`fieldtheory.progress.progress_bar`).
    spikes_to : str, path or None
        A spike file the spikes are appended to chunk by chunk, with its JSON sidecar
        (:class:`~fieldtheory.simulate.spike_stats.SpikeWriter`); created before NEST
        builds the network.
    chunk : float or None
        Model time per chunk (ms; default :data:`CHUNK_MS`), rounded up to a multiple of
        NEST's ``min_delay``; one of at least ``t_burn + t_max`` runs everything in one
        call of ``nest.Simulate`` (the spikes read once at the end).

    Returns
    -------
    SpikeRecord
        Spike times (ms, in (t_burn, t_burn + t_max]) and global neuron indices (0-based,
        populations contiguous in declaration order), sorted by time then index.

    Raises
    ------
    MissingDependencyError
        NEST is not installed.
    SimulationError
        A population NEST cannot simulate (GLM).
    ParameterError
        Times, delays, in-degrees, threads or neuron parameters NEST would reject.
    OutputPathError
        ``spikes_to`` cannot be written (raised before NEST is imported).
    """
    record, _ = _simulate(network, t_max=t_max, t_burn=t_burn, dt=dt, seed=seed,
                          threads=threads, progress=progress, spikes_to=spikes_to,
                          chunk=chunk, keep_spikes=True, statistics=None)
    assert record is not None
    return record


def simulate_nest_statistics(network: NetworkValues, *, t_max: float = 1000.0,
                             t_burn: float = 200.0, dt: float = 0.1, seed: int = 0,
                             threads: int = 1, progress: bool = False,
                             keep_spikes: bool = False,
                             spikes_to: str | os.PathLike | None = None,
                             chunk: float | None = None, bins=None,
                             tau_max: float = 100.0, dtau: float = 1.0,
                             max_units: int | None = 1000,
                             ) -> tuple[SpikeRecord | None, dict, dict]:
    """Simulate ``network`` in NEST and stream its spikes into the statistics: memory
    bounded by a chunk, not by the run (the NEST counterpart of
    :func:`fieldtheory.simulate.spiking.simulate_spiking`).

    Chunks. The run 0 … t_burn + t_max is simulated by repeated ``nest.Simulate`` calls of
    :data:`CHUNK_MS` = 100 ms of model time each (``chunk``), counted from t = 0 and
    rounded up to a whole number of NEST's ``min_delay`` (splits at other times change
    NEST's random streams, and so the spikes; at multiples of ``min_delay`` the spikes
    are those of one ``nest.Simulate`` call). A chunk that recorded more than
    :data:`EVENT_BUDGET` spikes shortens the following ones in proportion (to no less than
    ``min_delay``; they double back towards ``chunk`` when the activity falls again): the
    budget steers the next chunks, so one chunk — the first after the burn-in, a burst —
    may exceed it. After each chunk the spike recorder's events are read, cleared
    (``n_events = 0``: NEST refuses this inside ``Prepare``/``Run``/``Cleanup``, hence
    whole ``Simulate`` calls), sorted by time then neuron, converted to global indices
    and handed to :class:`~fieldtheory.simulate.spike_stats.SpikeStatistics` (and to the
    spike file). The statistics do not depend on the chunking, so they equal
    :func:`~fieldtheory.simulate.spike_stats.spike_statistics` of the whole record with
    the same ``seed``.

    Parameters
    ----------
    network, t_max, t_burn, dt, seed, threads, progress, spikes_to, chunk
        As in :func:`simulate_nest`.
    keep_spikes : bool
        Also return the whole :class:`SpikeRecord` (memory grows with it); else None.
    bins, tau_max, dtau, max_units
        As in :class:`~fieldtheory.simulate.spike_stats.SpikeStatistics` (units drawn with
        ``seed``).

    Returns
    -------
    (record, observables, stderr)
        The spikes of the window (or None) and the JSON-ready statistics.

    Raises
    ------
    As :func:`simulate_nest`; ParameterError also for bad statistics options (before
    NEST runs).
    """
    checked = _check_arguments(network, dt=dt, t_max=t_max, t_burn=t_burn, seed=seed,
                               threads=threads, chunk=chunk)
    statistics = SpikeStatistics(network, checked["t_burn"],
                                 checked["t_burn"] + checked["t_max"], bins=bins,
                                 tau_max=tau_max, dtau=dtau, max_units=max_units,
                                 seed=checked["seed"], resolution=checked["dt"])
    record, statistics = _simulate(network, t_max=t_max, t_burn=t_burn, dt=dt, seed=seed,
                                   threads=threads, progress=progress, spikes_to=spikes_to,
                                   chunk=chunk, keep_spikes=keep_spikes,
                                   statistics=statistics)
    assert statistics is not None
    observables, stderr = statistics.result()
    return record, observables, stderr


def _simulate(network: NetworkValues, *, t_max: float, t_burn: float, dt: float, seed: int,
              threads: int, progress: bool, spikes_to, chunk: float | None,
              keep_spikes: bool, statistics: SpikeStatistics | None,
              ) -> tuple[SpikeRecord | None, SpikeStatistics | None]:
    """Build and run the network in chunks; each chunk's spikes go to ``statistics``, the
    spike file and (``keep_spikes``) the returned record."""
    checked = _check_arguments(network, dt=dt, t_max=t_max, t_burn=t_burn, seed=seed,
                               threads=threads, chunk=chunk)
    dt, t_max, t_burn = checked["dt"], checked["t_max"], checked["t_burn"]
    seed, threads, chunk = checked["seed"], checked["threads"], checked["chunk"]
    if spikes_to is not None:
        check_spike_path(spikes_to)

    nest = import_nest()
    with open_spike_file(spikes_to, network, t_burn=t_burn, t_max=t_max, dt=dt,
                         engine="nest", seed=seed) as spike_file:
        recorder, first_id = _build(nest, network, dt=dt, seed=seed, threads=threads,
                                    t_burn=t_burn)
        total = round((t_burn + t_max) / dt)
        min_delay = max(1, round(float(nest.GetKernelStatus("min_delay")) / dt))
        steps = min_delay * max(1, math.ceil(math.ceil(round(chunk / dt, 6)) / min_delay))
        length = steps
        kept_times, kept_senders = [], []
        done = 0
        with progress_bar(total, enabled=progress, description="NEST",
                          unit="step") as bar:
            while done < total:
                n = min(length, total - done)
                try:
                    nest.Simulate(n * dt)
                except getattr(nest, "NESTError", RuntimeError) as error:  # not foreseen
                    raise SimulationError(f"NEST: {error}") from None
                done += n
                times, senders = _take_events(recorder, first_id)
                if statistics is not None:
                    statistics.add(times, senders)
                spike_file.write(times, senders)
                if keep_spikes:
                    kept_times.append(times)
                    kept_senders.append(senders)
                if len(times) > EVENT_BUDGET:  # shorter chunks from now on
                    length = max(min_delay,
                                 int(n * EVENT_BUDGET / len(times)) // min_delay * min_delay)
                elif length < steps and len(times) * 2 * length <= EVENT_BUDGET * n:
                    length = min(steps, 2 * length)   # quieter again: grow back
                bar.update(n)
    record = None
    if keep_spikes:
        record = SpikeRecord(
            times=np.concatenate(kept_times) if kept_times else np.zeros(0),
            senders=np.concatenate(kept_senders) if kept_senders else np.zeros(0, np.int64),
            t_start=t_burn, t_stop=t_burn + t_max, network=network, resolution=dt)
    return record, statistics


def _build(nest: Any, network: NetworkValues, *, dt: float, seed: int, threads: int,
           t_burn: float) -> tuple[Any, int]:
    """The network, its drives and a spike recorder from ``t_burn`` in a fresh kernel;
    (recorder, node id of the first neuron)."""
    nest.ResetKernel()
    _quiet(nest)
    nest_seed, v_seed = np.random.SeedSequence(seed).generate_state(2, dtype=np.uint64)
    nest.SetKernelStatus({
        "resolution": dt,
        "rng_seed": int(nest_seed % np.uint64(_MAX_SEED)) + 1,
        "local_num_threads": threads,
        "print_time": False,
    })
    rng = np.random.default_rng(int(v_seed))

    populations = []
    for size, neuron in zip(network.sizes, network.neurons, strict=True):
        nodes = nest.Create(_model_name(neuron), int(size), params=_neuron_params(neuron))
        mean, sd = (float(v) for v in neuron.V_init)
        v0 = mean + sd * rng.standard_normal(int(size)) if sd > 0 else np.full(int(size), mean)
        nodes.set(V_m=v0.tolist())  # after E_L: V_m is absolute
        populations.append(nodes)
    first_id = int(populations[0][0].global_id)  # populations are contiguous after it

    for block in network.connections:
        source, target = populations[block.source], populations[block.target]
        scale = _weight_scale(network.neurons[block.target])
        nest.Connect(source, target, _conn_spec(block), _syn_spec(nest, block, scale, dt))

    for drive in network.drives:
        rate = float(drive.in_degree) * float(drive.rate)
        generator = nest.Create("poisson_generator", params={"rate": rate})
        scale = _weight_scale(network.neurons[drive.target])
        nest.Connect(generator, populations[drive.target], {"rule": "all_to_all"},
                     {"synapse_model": "static_synapse",
                      "weight": float(drive.weight) * scale,
                      "delay": _drive_delay(drive.delay, dt)})

    recorder = nest.Create("spike_recorder", params={"start": t_burn})
    for nodes in populations:
        nest.Connect(nodes, recorder)
    return recorder, first_id


def _take_events(recorder: Any, first_id: int) -> tuple[np.ndarray, np.ndarray]:
    """The recorder's events since the last call, cleared in NEST: (times, global
    indices), sorted by time then index (threads deliver events unordered)."""
    events = recorder.get("events")
    times = np.asarray(events["times"], dtype=np.float64)
    senders = np.asarray(events["senders"], dtype=np.int64) - first_id
    if len(times):
        recorder.n_events = 0
    order = np.lexsort((senders, times))
    return times[order], senders[order]


# ----- NEST dictionaries -----------------------------------------------------------------


def _model_name(neuron: NeuronValues) -> str:
    return "iaf_psc_exp" if neuron.tau_s > 0 else "iaf_psc_delta"


def _neuron_params(neuron: NeuronValues) -> dict[str, float]:
    params = {"E_L": float(neuron.E_L), "V_th": float(neuron.V_th),
              "V_reset": float(neuron.V_reset), "t_ref": float(neuron.t_ref),
              "tau_m": float(neuron.tau_m), "C_m": float(neuron.C_m)}
    if neuron.tau_s > 0:
        params["tau_syn_ex"] = params["tau_syn_in"] = float(neuron.tau_s)
    return params


def _weight_scale(neuron: NeuronValues) -> float:
    """mV → NEST weight: 1 for delta synapses, C_m/τ_s (pA per mV) for exponential ones."""
    return float(neuron.C_m) / float(neuron.tau_s) if neuron.tau_s > 0 else 1.0


def _drive_delay(delay: float, dt: float) -> float:
    """A drive's delay on the grid, at least one step."""
    return max(1, round(float(delay) / dt)) * dt


def _conn_spec(block: ConnectionValues) -> dict[str, Any]:
    if block.rule == "fixed_indegree":
        return {"rule": "fixed_indegree", "indegree": round(block.number),
                "allow_autapses": bool(block.autapses),
                "allow_multapses": bool(block.multapses)}
    if block.rule == "bernoulli":
        return {"rule": "pairwise_bernoulli", "p": float(block.number),
                "allow_autapses": bool(block.autapses)}
    return {"rule": "fixed_total_number", "N": round(block.number),
            "allow_autapses": bool(block.autapses), "allow_multapses": True}


def _syn_spec(nest: Any, block: ConnectionValues, scale: float, dt: float) -> dict[str, Any]:
    mean, sd = float(block.weight) * scale, float(block.weight_sd) * scale
    if sd == 0:
        weight: Any = mean
    elif block.clip_sign and mean != 0:
        low, high = (0.0, math.inf) if mean > 0 else (-math.inf, 0.0)
        weight = nest.math.redraw(nest.random.normal(mean, sd), min=low, max=high)
    else:
        weight = nest.random.normal(mean, sd)
    if block.delay_sd == 0:
        delay: Any = float(block.delay)
    else:  # NEST rounds a drawn delay to the nearest step; below one step it is one step
        delay = nest.math.max(nest.random.normal(float(block.delay), float(block.delay_sd)), dt)
    return {"synapse_model": "static_synapse", "weight": weight, "delay": delay}


# ----- checks ----------------------------------------------------------------------------


def _check_int(value: Any, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"simulate_nest: {name} = {value!r} must be an integer "
                             f">= {minimum}")
    return int(value)


def _on_grid(value: float, dt: float) -> bool:
    steps = value / dt
    return abs(steps - round(steps)) <= 1e-9 * max(1.0, abs(steps))


def _check_arguments(network: NetworkValues, *, dt: Any, t_max: Any, t_burn: Any,
                     seed: Any, threads: Any, chunk: Any) -> dict[str, Any]:
    """Every argument checked (ParameterError or SimulationError), as plain numbers."""
    dt, t_max, t_burn = _check_times(dt, t_max, t_burn)
    out = {"dt": dt, "t_max": t_max, "t_burn": t_burn,
           "seed": _check_int(seed, "seed", minimum=0),
           "threads": _check_int(threads, "threads", minimum=1),
           "chunk": _check_chunk(chunk)}
    _check_network(network, dt)
    return out


def _check_chunk(chunk: Any) -> float:
    if chunk is None:
        return CHUNK_MS
    try:
        value = float(chunk)
    except (TypeError, ValueError):
        raise ParameterError(f"simulate_nest: chunk = {chunk!r} must be a number (ms)") \
            from None
    if not (math.isfinite(value) and value > 0):
        raise ParameterError(f"simulate_nest: chunk = {chunk!r} ms must be positive and "
                             "finite")
    return value


def _check_times(dt: Any, t_max: Any, t_burn: Any) -> tuple[float, float, float]:
    values = {}
    for name, value in (("dt", dt), ("t_max", t_max), ("t_burn", t_burn)):
        try:
            values[name] = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"simulate_nest: {name} = {value!r} must be a number") \
                from None
        if not math.isfinite(values[name]):
            raise ParameterError(f"simulate_nest: {name} = {value!r} must be finite")
    dt, t_max, t_burn = values["dt"], values["t_max"], values["t_burn"]
    if dt <= 0:
        raise ParameterError(f"simulate_nest: dt = {dt} ms must be positive")
    if t_max <= 0 or t_burn < 0:
        raise ParameterError(f"simulate_nest: t_max = {t_max} ms must be positive and "
                             f"t_burn = {t_burn} ms non-negative")
    for name, value in (("t_max", t_max), ("t_burn", t_burn)):
        if not _on_grid(value, dt):
            raise ParameterError(f"simulate_nest: {name} = {value} ms is not a multiple of "
                                 f"dt = {dt} ms")
    return dt, t_max, t_burn


def _check_network(network: NetworkValues, dt: float) -> None:
    if not isinstance(network, NetworkValues):
        raise ParameterError(f"simulate_nest: network must be a NetworkValues, got "
                             f"{type(network).__name__}")
    names, sizes = network.populations, network.sizes
    if not (len(names) == len(sizes) == len(network.neurons)) or not names:
        raise ParameterError("simulate_nest: the network needs at least one population and "
                             "as many sizes and neurons as populations")
    for name, size, neuron in zip(names, sizes, network.neurons, strict=True):
        if neuron.model == "glm":
            raise SimulationError(
                f"simulate_nest: population {name!r} is a GLM neuron; NEST has no GLM of "
                "this kind (Poisson spiking at an intensity F(V)): use the numpy engine "
                "(simulate_spiking)")
        if neuron.model != "lif":
            raise SimulationError(f"simulate_nest: population {name!r} has neuron model "
                                  f"{neuron.model!r}; NEST runs only 'lif' here")
        if int(size) != size or size < 1:
            raise ParameterError(f"simulate_nest: population {name!r} has size {size}; "
                                 "a positive integer is needed")
        _check_neuron(name, neuron)
        if not _on_grid(float(neuron.t_ref), dt):
            raise ParameterError(f"simulate_nest: population {name!r} has t_ref = "
                                 f"{neuron.t_ref} ms, not a multiple of dt = {dt} ms")
    n = len(names)
    for block in network.connections:
        _check_block(network, block, n, dt)
    for drive in network.drives:
        if not 0 <= drive.target < n:
            raise ParameterError(f"simulate_nest: a drive targets population "
                                 f"{drive.target}, but there are {n}")
        where = f"the drive onto {names[drive.target]!r}"
        if not (drive.rate >= 0 and drive.in_degree >= 0
                and math.isfinite(drive.rate * drive.in_degree)):
            raise ParameterError(f"simulate_nest: {where} needs rate >= 0 and in_degree "
                                 f">= 0, got rate = {drive.rate}, in_degree = "
                                 f"{drive.in_degree}")
        if not math.isfinite(drive.weight):
            raise ParameterError(f"simulate_nest: {where} has weight {drive.weight}")
        if not math.isfinite(float(drive.delay)):
            raise ParameterError(f"simulate_nest: {where} has delay {drive.delay}")


def _check_neuron(name: str, neuron: NeuronValues) -> None:
    values = {key: float(getattr(neuron, key))
              for key in ("tau_m", "E_L", "V_th", "V_reset", "t_ref", "tau_s", "C_m")}
    if not all(math.isfinite(v) for v in values.values()):
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        raise ParameterError(f"simulate_nest: population {name!r} has non-finite "
                             f"{', '.join(bad)} (a LIF neuron needs a finite threshold)")
    if values["tau_m"] <= 0 or values["C_m"] <= 0 or values["t_ref"] < 0 \
            or values["tau_s"] < 0:
        raise ParameterError(f"simulate_nest: population {name!r} needs tau_m > 0, C_m > 0, "
                             f"t_ref >= 0 and tau_s >= 0, got {values}")
    if values["V_reset"] >= values["V_th"]:
        raise ParameterError(f"simulate_nest: population {name!r} has V_reset = "
                             f"{values['V_reset']} >= V_th = {values['V_th']} mV")
    if len(neuron.V_init) != 2 or neuron.V_init[1] < 0:
        raise ParameterError(f"simulate_nest: population {name!r} has V_init = "
                             f"{neuron.V_init!r}; (mean, sd >= 0) is needed")


def _check_block(network: NetworkValues, block: ConnectionValues, n: int, dt: float) -> None:
    if not (0 <= block.source < n and 0 <= block.target < n):
        raise ParameterError(f"simulate_nest: a connection block {block.source} → "
                             f"{block.target} names a population that does not exist "
                             f"(there are {n})")
    names = network.populations
    where = f"the block {names[block.source]!r} → {names[block.target]!r}"
    if block.rule not in _RULES:
        raise ParameterError(f"simulate_nest: {where} has rule {block.rule!r}; known: "
                             f"{', '.join(_RULES)}")
    number = float(block.number)
    if block.rule == "bernoulli":
        if not 0 <= number <= 1:
            raise ParameterError(f"simulate_nest: {where} has probability {number}, not in "
                                 "[0, 1]")
    elif number < 0 or number != round(number):
        raise ParameterError(f"simulate_nest: {where} has {block.rule} number {number}; a "
                             "non-negative integer is needed")
    if block.rule == "fixed_indegree":
        available = int(network.sizes[block.source])
        if block.source == block.target and not block.autapses:
            available -= 1
        if not block.multapses and number > available:
            raise ParameterError(
                f"simulate_nest: {where} has in-degree {int(number)} but only {available} "
                "distinct source neurons; allow multapses or lower the in-degree")
    for key in ("weight", "weight_sd", "delay", "delay_sd"):
        if not math.isfinite(float(getattr(block, key))):
            raise ParameterError(f"simulate_nest: {where} has {key} = "
                                 f"{getattr(block, key)}")
    if block.weight_sd < 0 or block.delay_sd < 0:
        raise ParameterError(f"simulate_nest: {where} has a negative standard deviation")
    if block.delay_sd > 0:  # drawn delays are rounded to the grid, at least one step
        if block.delay < 0:
            raise ParameterError(f"simulate_nest: {where} has negative mean delay "
                                 f"{block.delay} ms")
        return
    if block.delay < dt:
        raise ParameterError(f"simulate_nest: {where} has delay {block.delay} ms < dt = "
                             f"{dt} ms; NEST needs at least one step")
    if not _on_grid(float(block.delay), dt):
        raise ParameterError(f"simulate_nest: {where} has delay {block.delay} ms, not a "
                             f"multiple of dt = {dt} ms")
