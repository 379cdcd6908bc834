r"""The numpy reference simulator of sparse spiking networks (LIF and GLM neurons).

:func:`simulate_spiking` runs a :class:`~fieldtheory.ir.spiking_values.NetworkValues`
(units ms, mV, Hz; the conventions are in that module) time-driven with step dt and
returns the spikes (:class:`~fieldtheory.simulate.spike_stats.SpikeRecord`) and their
statistics (:class:`~fieldtheory.simulate.spike_stats.SpikeStatistics`, streamed).

Dynamics, per step (t, t + dt], with u = V − E_L:

* **LIF, delta synapses**: u ← u e^{−dt/τ_m} + Σ J (the weights of the spikes arriving in
  the step, recurrent and external), exact for τ_m du/dt = −u + τ_m Σ J δ(t − t_k).
* **LIF, exponential synapses**: the exact propagator of (u, I) over dt,
  u ← e^{−dt/τ_m} u + P_uI I, I ← e^{−dt/τ_s} I + (τ_m/τ_s) Σ J with
  P_uI = (dt/τ_m) e^{−dt/τ_m} (e^a − 1)/a, a = dt (τ_s − τ_m)/(τ_m τ_s), which is
  τ_s/(τ_s − τ_m)(e^{−dt/τ_s} − e^{−dt/τ_m}) and, at τ_s = τ_m, its limit
  (dt/τ_m) e^{−dt/τ_m} (handled exactly, no refusal). A spike of weight J arriving at t_a
  gives the PSP u(t) = J τ_m/(τ_s − τ_m) (e^{−(t−t_a)/τ_s} − e^{−(t−t_a)/τ_m}).
* In both cases a spike arriving in a step acts at the step's end, so it takes effect at
  its emission time plus its delay (NEST's ``iaf_psc_delta``/``iaf_psc_exp`` timing).
* **Threshold** (LIF): at a step's end u ≥ V_th − E_L → a spike stamped with the step's end
  time, V ← V_reset, and V clamped there for the next t_ref/dt steps (t_ref a
  non-negative multiple of dt). As in NEST's ``iaf_psc_delta``, delta-synapse spikes
  arriving while a neuron is refractory are discarded; with exponential synapses the
  current I keeps integrating its inputs during refractoriness (``iaf_psc_exp``).
* **GLM**: the same subthreshold u, no threshold and no reset; in each step a neuron spikes
  with probability 1 − exp(−F(V)·dt/1000), F(V) (Hz) at the step's end — at most one
  spike per neuron per step (the Bernoulli discretisation of the Poisson process, exact in
  the limit dt → 0). A GLM t_ref > 0 is a dead time: no spike in the t_ref/dt steps after
  one (V is unaffected).
* **External drive** (``DriveValues``): in each step every target neuron receives
  Poisson(K ν dt/1000) external spikes of weight J (a jump of u, or of I with exponential
  synapses). Their delay is irrelevant for a stationary Poisson input and is not used.

Connectivity (:func:`sample_connection`, :func:`connect`): each block from
``np.random.default_rng([seed, 1, block index])``: fixed in-degree (Floyd's algorithm,
vectorised over target rows: exactly K distinct sources per target without multapses;
uniform with replacement with them), Bernoulli (a binomial in-degree per target, then
that many distinct sources, which is exactly independent pairs with probability p),
fixed total number (sources and targets uniform with replacement, whatever
``multapses`` says). A neuron never
connects to itself when ``autapses`` is False (sources drawn among the others). Weights
normal(weight, weight_sd); with ``clip_sign`` a weight of the wrong sign is drawn again
(NEST's redraw: a truncated normal, whose mean exceeds ``weight`` in magnitude). Delays
normal(delay, delay_sd) rounded to steps, at least one step; with delay_sd = 0 the delay
must be a positive multiple of dt. Storage (:class:`Connectivity`): CSR on the
presynaptic side with a row capacity — ``indptr`` over sources, int32 targets, float32
weights (a 24-bit mantissa), uint8/uint16 delay steps or one number when all delays are
equal — whose rows are padded, per population, to the population's widest row when that
costs ≤ 25 % more memory (the usual case: out-degrees vary little within a population).
The synapses of the neurons spiking in a step are then gathered as whole rows of a 2-D
view (``np.take`` along axis 0, index arithmetic for unpadded populations; no loop over
neurons) into preallocated buffers and added into a ring buffer of shape (R, N), R the
power of two above the longest delay in steps, by ``np.bincount`` (one delay) or
``np.add.at`` on slot·N + target (several). External counts are drawn by table inversion
(:class:`PoissonSampler`). Brunel's model A at full size (N = 12 500, 15.6 M synapses,
≈ 38 Hz) runs at 4.5–5 s of wall time per second of model time on one core at
dt = 0.1 ms (7–8 s with spread delays and weights); the connectivity takes 138 MB
(0.5 GB while it is built, in 2–3 s).

Randomness: initial V from ``default_rng([seed, 2])`` (V(0) ~ N(mean, sd²) per
population), the dynamics (external input, GLM spikes) from ``default_rng([seed, 3])``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from fieldtheory.errors import DivergenceError, ParameterError, SimulationError
from fieldtheory.ir.spiking_values import ConnectionValues, NetworkValues, NeuronValues
from fieldtheory.progress import progress_bar
from fieldtheory.resources import require
from fieldtheory.simulate.spike_stats import (
    SpikeRecord,
    SpikeStatistics,
    check_spike_path,
    open_spike_file,
)

__all__ = ["Connectivity", "PoissonSampler", "SpikingSimulator", "connect",
           "sample_connection", "simulate_spiking"]

#: Steps per chunk: external input is drawn for a chunk at once, spikes are handed to the
#: statistics per chunk (the results depend on it: keep it fixed).
CHUNK_STEPS = 200
#: The boolean mask of Floyd's algorithm holds at most this many entries per batch of rows.
FLOYD_MASK = 1 << 24
#: Bytes per synapse while the connectivity is built (draws, sort, CSR copies).
BUILD_BYTES_PER_SYNAPSE = 40
#: Rows of a population are padded to its widest row when that costs at most this factor
#: of memory, plus ``PADDING_SLACK`` entries per neuron.
PADDING = 1.25
PADDING_SLACK = 16
#: The longest delay, in steps (delays are stored as uint16).
MAX_DELAY_STEPS = int(np.iinfo(np.uint16).max)


# ------------------------------------------------------------------ connectivity
@dataclass(frozen=True, eq=False)
class Connectivity:
    """Synapses grouped by presynaptic neuron: CSR with a row capacity.

    Neuron s's synapses are the first ``degree[s]`` entries of its row
    ``indptr[s]:indptr[s + 1]`` of ``targets`` (int32), ``weights`` (float32, mV) and
    ``delays`` (delay steps; None: every synapse has ``delay_steps``). The rows of a
    population whose ``row_width`` is positive all have that length (its widest row; the
    rest is padding of weight 0 onto neuron 0), so that the rows of the neurons spiking in
    a step are gathered as whole rows of a 2-D view; ``row_width`` 0 means rows without
    padding (chosen where padding would cost more than a quarter more memory).
    """

    indptr: np.ndarray
    degree: np.ndarray
    targets: np.ndarray
    weights: np.ndarray
    delays: np.ndarray | None
    delay_steps: int
    row_width: tuple[int, ...]
    offsets: np.ndarray

    @property
    def n_synapses(self) -> int:
        return int(self.degree.sum())

    @property
    def max_delay(self) -> int:
        """The longest delay in steps."""
        if self.delays is None:
            return self.delay_steps
        return int(self.delays.max()) if len(self.delays) else 1

    @property
    def nbytes(self) -> int:
        extra = self.delays.nbytes if self.delays is not None else 0
        return (self.indptr.nbytes + self.degree.nbytes + self.targets.nbytes
                + self.weights.nbytes + extra)

    def synapses(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(sources, targets, weights, delay steps) of every synapse, padding left out,
        grouped by source."""
        N = len(self.degree)
        sources = np.repeat(np.arange(N), self.degree)
        used = _concatenated_ranges(self.indptr[:-1], self.indptr[:-1] + self.degree)
        delays = (self.delays[used].astype(np.int64) if self.delays is not None
                  else np.full(len(used), self.delay_steps, dtype=np.int64))
        return sources, self.targets[used], self.weights[used], delays

    def rows(self, population: int) -> tuple[np.ndarray, ...] | None:
        """2-D views (neurons × row width) of ``targets``, ``weights``, ``delays`` (or None)
        of a padded population; None for one without padding."""
        width = self.row_width[population]
        if width == 0:
            return None
        first, last = self.offsets[population], self.offsets[population + 1]
        lo, hi = self.indptr[first], self.indptr[last]
        shape = (last - first, width)
        views = [self.targets[lo:hi].reshape(shape), self.weights[lo:hi].reshape(shape)]
        views.append(self.delays[lo:hi].reshape(shape) if self.delays is not None else None)
        return tuple(views)


def connection_name(network: NetworkValues, conn: ConnectionValues) -> str:
    """``E→I``: the block from population ``source`` to population ``target``."""
    return f"{network.populations[conn.source]}→{network.populations[conn.target]}"


def sample_connection(network: NetworkValues, index: int, dt: float,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One block's synapses: (sources, targets) as global indices (int32), weights
    (float32, mV) and delays in steps (uint16), from ``default_rng([seed, 1, index])``."""
    conn = network.connections[index]
    name = _check_connection(network, conn, dt)
    rng = np.random.default_rng([seed, 1, index])
    offsets = network.offsets()
    n_src, n_tgt = network.sizes[conn.source], network.sizes[conn.target]
    exclude_self = conn.source == conn.target and not conn.autapses
    pool = n_src - 1 if exclude_self else n_src
    if conn.rule == "fixed_total_number":
        total = round(conn.number)
        if total and pool < 1:
            raise ParameterError(f"connection {name}: no source neuron other than the "
                                 "target itself (autapses are off)")
        targets = rng.integers(0, n_tgt, size=total, dtype=np.int32)
        sources = rng.integers(0, pool, size=total, dtype=np.int32) if total else \
            targets.copy()
    else:
        if conn.rule == "fixed_indegree":
            degrees = np.full(n_tgt, round(conn.number), dtype=np.int64)
            if degrees.size and degrees[0] > pool and not conn.multapses:
                other = " other" if exclude_self else ""
                raise ParameterError(
                    f"connection {name}: in-degree {degrees[0]} exceeds the {pool}{other} "
                    f"neurons of {network.populations[conn.source]} (without multapses)")
        else:
            degrees = rng.binomial(pool, conn.number, size=n_tgt)
        targets = np.repeat(np.arange(n_tgt, dtype=np.int32), degrees)
        if len(targets) and pool < 1:
            raise ParameterError(f"connection {name}: no source neuron other than the "
                                 "target itself (autapses are off)")
        if conn.rule == "fixed_indegree" and conn.multapses:
            sources = rng.integers(0, pool, size=len(targets), dtype=np.int32)
        else:
            sources = _distinct_sources(rng, pool, degrees)
    if exclude_self:   # draws among the n − 1 others: skip the target's own index
        sources = sources + (sources >= targets)
    weights = _weights(rng, conn, len(targets))
    delays = _delays(rng, conn, len(targets), dt, name)
    sources += offsets[conn.source]
    targets += offsets[conn.target]
    return (sources.astype(np.int32, copy=False), targets.astype(np.int32, copy=False),
            weights, delays)


def connect(network: NetworkValues, dt: float, seed: int = 0) -> Connectivity:
    """All blocks of ``network`` sampled and stored by presynaptic neuron (see
    :class:`Connectivity`)."""
    N = network.N
    for conn in network.connections:
        _check_connection(network, conn, dt)
    expected = sum(_expected_synapses(network, c) for c in network.connections)
    require(BUILD_BYTES_PER_SYNAPSE * expected,
            f"spiking connectivity: about {expected:.3g} synapses among N = {N} neurons")
    blocks = [list(sample_connection(network, i, dt, seed))
              for i in range(len(network.connections))]
    offsets = network.offsets()
    sources = _gather_column(blocks, 0) if blocks else np.zeros(0, dtype=np.int32)
    degree = np.bincount(sources, minlength=N)
    widths, row_length = _row_layout(degree, offsets)
    indptr = np.zeros(N + 1, dtype=np.int64)
    np.cumsum(row_length, out=indptr[1:])
    # Where each synapse goes: its source's row start plus its rank among the source's
    # synapses (a stable radix sort when the neuron index fits 16 bits).
    keys = sources.astype(np.uint16) if N <= np.iinfo(np.uint16).max else sources
    order = np.argsort(keys, kind="stable")
    del keys, sources
    first = np.zeros(N, dtype=np.int64)
    np.cumsum(degree[:-1], out=first[1:])
    in_order = np.arange(len(order), dtype=np.int64)
    in_order += np.repeat(indptr[:-1] - first, degree)
    destination = np.empty_like(in_order)
    destination[order] = in_order   # of the synapses as drawn
    del first, in_order, order
    total = int(indptr[-1])

    def place(column: int, dtype, fill) -> np.ndarray:
        out = np.full(total, fill, dtype=dtype)
        if blocks:
            out[destination] = _gather_column(blocks, column)
        return out

    targets = place(1, np.int32, 0)
    weights = place(2, np.float32, 0.0)
    delays = place(3, np.uint16, 1)
    used = delays[destination] if len(destination) else delays
    if len(used) == 0 or used.min() == used.max():
        steps, delays = (int(used[0]) if len(used) else 1), None
    else:
        steps = 1
        if delays.max() <= np.iinfo(np.uint8).max:
            delays = delays.astype(np.uint8)
    return Connectivity(indptr, degree.astype(np.int64), targets, weights, delays, steps,
                        widths, offsets)


def _row_layout(degree: np.ndarray, offsets: np.ndarray) -> tuple[tuple[int, ...],
                                                                   np.ndarray]:
    """Row width per population (0: no padding) and the row length of every neuron."""
    widths, length = [], degree.copy()
    for p in range(len(offsets) - 1):
        part = degree[offsets[p]:offsets[p + 1]]
        width = int(part.max()) if part.size else 0
        if part.size and width * part.size <= PADDING * part.sum() + PADDING_SLACK * part.size:
            widths.append(width)
            length[offsets[p]:offsets[p + 1]] = width
        else:
            widths.append(0)
    return tuple(widths), length


def _gather_column(blocks: list[list], column: int) -> np.ndarray:
    """One column of every block, concatenated; the blocks' copies are released."""
    out = np.concatenate([b[column] for b in blocks])
    for b in blocks:
        b[column] = None
    return out


def _distinct_sources(rng: np.random.Generator, pool: int, degrees: np.ndarray) -> np.ndarray:
    """For each row r, ``degrees[r]`` distinct integers in [0, pool), rows concatenated.

    Floyd's algorithm, vectorised over rows: for j = pool − K … pool − 1 draw t uniform in
    [0, j]; take t if not yet chosen in the row, else j. Each row's set is a uniform
    K-subset. Rows with smaller degree join the loop later (j ≥ pool − K_r).
    """
    out = []
    batch = max(1, FLOYD_MASK // max(pool, 1))
    for lo in range(0, len(degrees), batch):
        K = degrees[lo:lo + batch]
        rows = np.arange(len(K))
        k_max = int(K.max()) if len(K) else 0
        if k_max == 0:
            continue
        chosen = np.zeros((len(K), pool), dtype=bool)
        picks = np.empty((len(K), k_max), dtype=np.int32)
        for i, j in enumerate(range(pool - k_max, pool)):
            t = rng.integers(0, j + 1, size=len(K))
            t = np.where(chosen[rows, t], j, t)
            active = K >= pool - j
            chosen[rows[active], t[active]] = True
            picks[:, i] = t
        valid = np.arange(k_max)[None, :] >= (k_max - K)[:, None]
        out.append(picks[valid])
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int32)


def _weights(rng: np.random.Generator, conn: ConnectionValues, n: int) -> np.ndarray:
    """normal(weight, weight_sd), wrong signs drawn again when ``clip_sign``."""
    if conn.weight_sd == 0:
        return np.full(n, conn.weight, dtype=np.float32)
    w = rng.normal(conn.weight, conn.weight_sd, size=n)
    if conn.clip_sign and conn.weight != 0:
        sign = np.sign(conn.weight)
        wrong = np.flatnonzero(w * sign < 0)
        while wrong.size:
            w[wrong] = rng.normal(conn.weight, conn.weight_sd, size=wrong.size)
            wrong = wrong[w[wrong] * sign < 0]
    return w.astype(np.float32)


def _delays(rng: np.random.Generator, conn: ConnectionValues, n: int, dt: float,
            name: str) -> np.ndarray:
    """Delays in steps (uint16): exact multiples of dt, or normal draws rounded, at least
    one step."""
    if conn.delay_sd == 0:
        steps = round(conn.delay / dt)
        if steps > MAX_DELAY_STEPS:
            raise ParameterError(
                f"connection {name}: a delay of {steps} steps (dt = {dt:g} ms) exceeds the "
                f"ring buffer's {MAX_DELAY_STEPS} steps")
        return np.full(n, steps, dtype=np.uint16)
    steps = np.maximum(np.rint(rng.normal(conn.delay, conn.delay_sd, size=n) / dt), 1)
    if n and steps.max() > MAX_DELAY_STEPS:
        raise ParameterError(
            f"connection {name}: a delay of {steps.max():g} steps "
            f"(dt = {dt:g} ms) exceeds the ring buffer's {MAX_DELAY_STEPS} steps")
    return steps.astype(np.uint16)


def _check_connection(network: NetworkValues, conn: ConnectionValues, dt: float) -> str:
    """Named ParameterErrors for a block that cannot be sampled; its name."""
    P = len(network.populations)
    if not (0 <= conn.source < P and 0 <= conn.target < P):
        raise ParameterError(f"connection {conn.source}→{conn.target}: population index "
                             f"out of range 0 … {P - 1}")
    name = connection_name(network, conn)
    if conn.rule not in ("fixed_indegree", "bernoulli", "fixed_total_number"):
        raise ParameterError(f"connection {name}: unknown rule {conn.rule!r} (fixed_indegree, "
                             "bernoulli, fixed_total_number)")
    if conn.rule == "bernoulli":
        if not 0 <= conn.number <= 1:
            raise ParameterError(f"connection {name}: probability p = {conn.number:g} is "
                                 "outside [0, 1]")
    elif not (conn.number >= 0 and abs(conn.number - round(conn.number)) < 1e-9):
        what = "in-degree" if conn.rule == "fixed_indegree" else "number of synapses"
        raise ParameterError(f"connection {name}: {what} {conn.number:g} is not a "
                             "non-negative integer")
    if not np.isfinite(conn.weight) or not conn.weight_sd >= 0:
        raise ParameterError(f"connection {name}: weight {conn.weight:g} ± {conn.weight_sd:g} "
                             "mV needs a finite mean and a non-negative sd")
    if not conn.delay >= 0:
        raise ParameterError(f"connection {name}: negative delay {conn.delay:g} ms")
    if not conn.delay_sd >= 0:
        raise ParameterError(f"connection {name}: negative delay sd {conn.delay_sd:g} ms")
    if conn.delay_sd == 0:
        steps = round(conn.delay / dt)
        if steps < 1 or abs(steps * dt - conn.delay) > 1e-9 * max(1.0, conn.delay):
            raise ParameterError(f"connection {name}: delay {conn.delay:g} ms is not a "
                                 f"positive multiple of dt = {dt:g} ms")
    return name


def _expected_synapses(network: NetworkValues, conn: ConnectionValues) -> float:
    n_src, n_tgt = network.sizes[conn.source], network.sizes[conn.target]
    if conn.rule == "fixed_indegree":
        return conn.number * n_tgt
    if conn.rule == "bernoulli":
        return conn.number * n_src * n_tgt
    return conn.number


# ------------------------------------------------------------------ dynamics
class SpikingSimulator:
    """One realised network and its state, advanced step by step.

    ``V`` (mV) and ``I`` (the synaptic variable of exponential synapses, in mV: τ_m dV/dt
    = −(V − E_L) + I) are the state after ``step_index`` steps, at time
    ``step_index·dt``; ``step()`` advances one step and returns the neurons that spiked
    (stamped with the step's end time), ``run(n)`` n steps.

    Parameters
    ----------
    network : NetworkValues
        The network at numbers.
    dt : float
        The step (ms); every t_ref and every fixed delay must be a multiple of it.
    seed : int
        Connectivity from ``default_rng([seed, 1, block])``, V(0) from
        ``default_rng([seed, 2])``, the dynamics from ``default_rng([seed, 3])``.
    """

    def __init__(self, network: NetworkValues, *, dt: float = 0.1, seed: int = 0) -> None:
        if not (np.isfinite(dt) and dt > 0):
            raise ParameterError(f"dt = {dt!r} ms must be positive and finite")
        self.network, self.dt, self.seed = network, float(dt), seed
        self.N = N = network.N
        self._setup_neurons(network)
        self._setup_drives(network)
        self.connectivity = connect(network, self.dt, seed)
        self._rows = [self.connectivity.rows(p) for p in range(len(network.populations))]
        self._capacity = 0
        self._raw: dict[str, np.ndarray] = {}
        self._buffers: dict[str, np.ndarray] = {}
        # A power of two of slots ≥ max delay + 1: arrival slots by a bitwise and.
        slots = 1 << int(self.connectivity.max_delay).bit_length()
        self.ring = np.zeros((slots, N))
        self.step_index = 0
        self._rng = np.random.default_rng([seed, 3])
        init = np.random.default_rng([seed, 2])
        self.u = np.concatenate([
            init.normal(n.V_init[0], n.V_init[1], size=size) - n.E_L
            for n, size in zip(network.neurons, network.sizes, strict=True)] or [np.zeros(0)])
        self.current = np.zeros(N) if self._has_current else None
        # The refractory neurons and the steps each has left (a short list, not a mask).
        self._ref_neurons = np.zeros(0, dtype=np.int64)
        self._ref_left = np.zeros(0, dtype=np.int32)

    # --------------------------------------------------------------- set-up
    def _setup_neurons(self, network: NetworkValues) -> None:
        if not (len(network.populations) == len(network.sizes) == len(network.neurons)):
            raise ParameterError("network: populations, sizes and neurons differ in length")
        dt = self.dt
        columns: dict[str, list] = {k: [] for k in (
            "E_L", "decay", "u_I", "I_decay", "to_I", "u_th", "u_reset", "ref")}
        self._glm = []
        start = 0
        for name, size, n in zip(network.populations, network.sizes, network.neurons,
                                 strict=True):
            ref = _check_neuron(name, n, dt)
            glm = n.model == "glm"
            if glm:
                self._glm.append((slice(start, start + size), n, name))
            exp_syn = n.tau_s > 0
            values = {
                "E_L": n.E_L, "decay": np.exp(-dt / n.tau_m),
                "u_I": _current_coupling(dt, n.tau_m, n.tau_s) if exp_syn else 0.0,
                "I_decay": np.exp(-dt / n.tau_s) if exp_syn else 0.0,
                "to_I": n.tau_m / n.tau_s if exp_syn else 0.0,
                "u_th": np.inf if glm else n.V_th - n.E_L,
                "u_reset": n.V_reset - n.E_L, "ref": ref,
            }
            for key, value in values.items():
                columns[key].append(np.full(size, value))
            start += size
        arrays = {k: np.concatenate(v) if v else np.zeros(0) for k, v in columns.items()}
        self.E_L = arrays["E_L"]
        self._decay = _compact(arrays["decay"])
        to_I = arrays["to_I"]
        self._has_current = bool(np.any(to_I > 0))
        self._all_current = bool(np.all(to_I > 0))
        self._u_I = _compact(arrays["u_I"])
        self._I_decay = _compact(arrays["I_decay"])
        self._to_V = _compact((to_I == 0).astype(float))
        self._to_I = _compact(to_I)
        self._u_th = arrays["u_th"]
        self._any_threshold = bool(np.any(np.isfinite(self._u_th)))
        self._resets = np.isfinite(self._u_th)
        self._u_reset = arrays["u_reset"]
        self._ref_steps = arrays["ref"].astype(np.int32)
        self._any_refractory = bool(np.any(self._ref_steps > 0))

    def _setup_drives(self, network: NetworkValues) -> None:
        """Per drive: target slice, a sampler of its counts per neuron and step, weight."""
        offsets = network.offsets()
        self._drives = []
        for d in network.drives:
            if not 0 <= d.target < len(network.populations):
                raise ParameterError(f"drive onto population {d.target}: index out of range")
            name = network.populations[d.target]
            if not (d.rate >= 0 and d.in_degree >= 0 and np.isfinite(d.rate * d.in_degree)
                    and np.isfinite(d.weight)):
                raise ParameterError(f"drive onto {name}: rate {d.rate:g} Hz, in-degree "
                                     f"{d.in_degree:g}, weight {d.weight:g} mV must be finite "
                                     "and non-negative (rate, in-degree)")
            lam = d.in_degree * d.rate * self.dt / 1000.0
            if lam > 0 and d.weight != 0 and network.sizes[d.target] > 0:
                self._drives.append((slice(offsets[d.target], offsets[d.target + 1]),
                                     PoissonSampler(lam), d.weight))
        self._chunk = int(np.clip((1 << 21) // max(self.N, 1), 1, CHUNK_STEPS))
        self._external: np.ndarray | None = None

    # --------------------------------------------------------------- state
    @property
    def V(self) -> np.ndarray:
        """Membrane potentials (mV)."""
        return self.u + self.E_L

    @property
    def I(self) -> np.ndarray:  # noqa: E743 (the physics' name)
        """Synaptic variable of exponential synapses (mV; zeros with delta synapses)."""
        return self.current.copy() if self.current is not None else np.zeros(self.N)

    @property
    def time(self) -> float:
        return self.step_index * self.dt

    @property
    def refractory(self) -> np.ndarray:
        """Steps of refractoriness (or GLM dead time) each neuron has left."""
        left = np.zeros(self.N, dtype=np.int32)
        left[self._ref_neurons] = self._ref_left
        return left

    # --------------------------------------------------------------- stepping
    def step(self) -> np.ndarray:
        """Advance one step; the indices of the neurons that spiked (sorted, int64)."""
        k = self.step_index
        slot = k & (len(self.ring) - 1)
        incoming = self.ring[slot]
        if self._drives:
            incoming += self._external_input(k)
        u = self.u
        if self._has_current:
            I = self.current
            u *= self._decay
            u += self._u_I * I
            I *= self._I_decay
            I += self._to_I * incoming
            if not self._all_current:
                u += self._to_V * incoming
        else:
            u *= self._decay
            u += incoming
        incoming[:] = 0.0
        clamped = self._ref_neurons
        if clamped.size:   # LIF: held at reset, a delta input arriving now is lost
            held = clamped[self._resets[clamped]] if self._glm else clamped
            u[held] = self._u_reset[held]
            self._ref_left -= 1
        spikes = self._spikes(clamped)
        if self._any_refractory:
            keep = self._ref_left > 0
            self._ref_neurons, self._ref_left = clamped[keep], self._ref_left[keep]
        if spikes.size:
            reset = spikes[self._resets[spikes]]
            u[reset] = self._u_reset[reset]
            if self._any_refractory:
                steps = self._ref_steps[spikes]
                held = steps > 0
                self._ref_neurons = np.concatenate([self._ref_neurons, spikes[held]])
                self._ref_left = np.concatenate([self._ref_left, steps[held]])
            self._propagate(spikes, k)
        self.step_index = k + 1
        return spikes

    def run(self, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Advance ``n_steps``; (step index, neuron) of every spike, in time order. A spike
        in step k is at time (k + 1)·dt."""
        found, steps = [], []
        first = self.step_index
        for _ in range(int(n_steps)):
            spikes = self.step()
            if spikes.size:
                found.append(spikes)
                steps.append(np.full(spikes.size, self.step_index - 1, dtype=np.int64))
        if not np.all(np.isfinite(self.u)) or (
                self.current is not None and not np.all(np.isfinite(self.current))):
            raise DivergenceError(
                f"spiking simulation: V or I is not finite between steps {first} and "
                f"{self.step_index} (t ≤ {self.time:g} ms)",
                step=self.step_index, time=self.time)
        if not found:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(steps), np.concatenate(found).astype(np.int64)

    def _spikes(self, clamped: np.ndarray) -> np.ndarray:
        """Threshold crossings (LIF) and Bernoulli spikes of intensity F(V) (GLM)."""
        parts = [np.flatnonzero(self.u >= self._u_th)] if self._any_threshold else []
        if self._glm:
            dead = None
            if clamped.size:
                dead = np.zeros(self.N, dtype=bool)
                dead[clamped] = True
            for neurons, n, name in self._glm:
                parts.append(self._glm_spikes(neurons, n, name, dead))
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.sort(np.concatenate(parts)) if len(parts) > 1 else parts[0]

    def _glm_spikes(self, neurons: slice, n: NeuronValues, name: str,
                    dead: np.ndarray | None) -> np.ndarray:
        V = self.u[neurons] + n.E_L
        F = np.broadcast_to(np.asarray(n.intensity(V), dtype=np.float64), V.shape)
        low = F.min() if F.size else 0.0
        if not low >= 0:
            raise SimulationError(
                f"population {name}: GLM intensity {n.intensity_text or n.intensity!r} gave "
                f"{low} Hz at step "
                f"{self.step_index} (t = {self.time:g} ms); it must be ≥ 0 and not NaN")
        fire = self._rng.random(V.size) < -np.expm1(-F * (self.dt / 1000.0))
        if dead is not None:
            fire &= ~dead[neurons]
        return np.flatnonzero(fire) + neurons.start

    def _propagate(self, spikes: np.ndarray, k: int) -> None:
        """Add the spikes' synaptic weights into the ring at their arrival steps."""
        c = self.connectivity
        n = self._gather(spikes)
        if n == 0:
            return
        targets, weights = self._buffers["targets"][:n], self._buffers["weights"][:n]
        R, N = self.ring.shape
        if c.delays is None:
            self.ring[(k + c.delay_steps) & (R - 1)] += np.bincount(targets, weights,
                                                                    minlength=N)
        else:
            flat = self._buffers["delays"][:n]
            flat += k
            flat &= R - 1
            flat *= N
            flat += targets
            np.add.at(self.ring.reshape(-1), flat, weights)

    def _gather(self, spikes: np.ndarray) -> int:
        """Copy the synapses (padding included) of the spiking neurons into the work
        buffers, as intp targets, float64 weights and intp delays; their number.

        Whole rows of the padded populations (a row gather of a 2-D view), index ranges
        of the others; preallocated buffers, since fresh large temporaries in every step
        cost page faults. bincount is given intp/float64: its own conversion of
        int32/float32 is several times slower.
        """
        c = self.connectivity
        if not c.targets.size:
            return 0
        total = int((c.indptr[spikes + 1] - c.indptr[spikes]).sum())
        if total == 0:
            return 0
        raw = self._reserve(total)
        bounds = np.searchsorted(spikes, c.offsets)
        position = 0
        for p, rows in enumerate(self._rows):
            if bounds[p] == bounds[p + 1]:
                continue
            chosen = spikes[bounds[p]:bounds[p + 1]]
            if rows is not None:
                local = chosen - c.offsets[p]
                size = len(local) * rows[0].shape[1]
                for name, table in zip(("targets", "weights", "delays"), rows, strict=True):
                    if table is not None:
                        out = raw[name][position:position + size].reshape(len(local), -1)
                        np.take(table, local, axis=0, out=out, mode="wrap")
            else:
                index = _concatenated_ranges(c.indptr[chosen], c.indptr[chosen + 1])
                size = len(index)
                for name, table in (("targets", c.targets), ("weights", c.weights),
                                    ("delays", c.delays)):
                    if table is not None:
                        np.take(table, index, out=raw[name][position:position + size],
                                mode="wrap")
            position += size
        for name, buffer in raw.items():
            np.copyto(self._buffers[name][:position], buffer[:position])
        return position

    def _reserve(self, size: int) -> dict[str, np.ndarray]:
        """The raw (stored dtype) work buffers, grown to at least ``size``."""
        if size > self._capacity:
            c = self.connectivity
            self._capacity = capacity = max(size, 2 * self._capacity)
            self._raw = {"targets": np.empty(capacity, dtype=c.targets.dtype),
                         "weights": np.empty(capacity, dtype=c.weights.dtype)}
            self._buffers = {"targets": np.empty(capacity, dtype=np.intp),
                             "weights": np.empty(capacity, dtype=np.float64)}
            if c.delays is not None:
                self._raw["delays"] = np.empty(capacity, dtype=c.delays.dtype)
                self._buffers["delays"] = np.empty(capacity, dtype=np.intp)
        return self._raw

    def _external_input(self, k: int) -> np.ndarray:
        """This step's external input (mV), drawn for a chunk of steps at a time."""
        m = self._chunk
        if k % m == 0 or self._external is None:
            if self._external is None:
                self._external = np.empty((m, self.N))
            self._external.fill(0.0)
            for neurons, sampler, weight in self._drives:
                n = neurons.stop - neurons.start
                counts = sampler.sample(self._rng, m * n).reshape(m, n)
                self._external[:, neurons] += weight * counts
        return self._external[k % m]


class PoissonSampler:
    """Poisson(lam) counts by inversion with a 2¹⁶-entry table.

    Each count takes 16 random bits c (four per raw 64-bit draw), the cell
    [c, c + 1)·2⁻¹⁶ of u; where no step of the CDF lies inside the cell, the count is
    fixed by c (a table lookup). In the few cells that hold a step (a fraction
    ≈ 6√lam·2⁻¹⁶) u = (c + v)·2⁻¹⁶ with a fresh uniform v, and the count is found by a
    search of the CDF. Exact up to the double-precision CDF, and many times faster than
    ``rng.poisson`` for the small counts per step of a Poisson drive. Above ``lam = 10⁴``
    it calls ``rng.poisson``.
    """

    def __init__(self, lam: float) -> None:
        from scipy.special import pdtr

        self.lam = float(lam)
        if self.lam > 1e4:
            return
        k_max = int(self.lam + 40 * np.sqrt(self.lam) + 40)
        self.cdf = pdtr(np.arange(k_max + 1), self.lam)
        cells = np.arange(1 << 16, dtype=np.float64)
        low = np.searchsorted(self.cdf, cells / 65536.0, side="right")
        high = np.searchsorted(self.cdf, (cells + 1) / 65536.0, side="left")
        self.table = np.where(low == high, low, -1).astype(np.int16)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent counts (int16, or int64 above lam = 10⁴)."""
        if self.lam > 1e4:
            return rng.poisson(self.lam, size=size)
        cells = rng.bit_generator.random_raw(-(-size // 4)).view(np.uint16)[:size]
        counts = self.table[cells]
        inside = np.flatnonzero(counts < 0)
        if inside.size:
            u = (cells[inside] + rng.random(inside.size)) * (1.0 / 65536.0)
            counts[inside] = np.searchsorted(self.cdf, u, side="right")
        return counts


def _concatenated_ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The indices start_0 … end_0 − 1, start_1 … end_1 − 1, … as one array, by a cumulative
    sum of steps of one with a jump at each range's start (no loop, no ``np.repeat``)."""
    lengths = ends - starts
    nonempty = lengths > 0
    starts, ends, lengths = starts[nonempty], ends[nonempty], lengths[nonempty]
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.intp)
    steps = np.ones(total, dtype=np.intp)
    steps[0] = starts[0]
    steps[np.cumsum(lengths[:-1])] = starts[1:] - ends[:-1] + 1
    return np.cumsum(steps, out=steps)


def simulate_spiking(network: NetworkValues, *, t_max: float = 1000.0, t_burn: float = 200.0,
                     dt: float = 0.1, seed: int = 0, progress: bool = False,
                     keep_spikes: bool = True, bins=None, tau_max: float = 100.0,
                     dtau: float = 1.0, max_units: int | None = 1000,
                     spikes_to: str | os.PathLike | None = None,
                     ) -> tuple[SpikeRecord | None, dict, dict]:
    """Simulate ``network`` for t_burn + t_max ms and measure its spike statistics.

    Parameters
    ----------
    network : NetworkValues
        The network at numbers (ms, mV, Hz).
    t_max, t_burn : float
        Recorded time and burn-in (ms), multiples of ``dt``; the window is
        (t_burn, t_burn + t_max].
    dt : float
        The step (ms).
    seed : int
        Connectivity, V(0), dynamics and the recorded units of the statistics.
    progress : bool
        A bar over the steps on stderr (:func:`fieldtheory.progress.progress_bar`).
    keep_spikes : bool
        Return the :class:`SpikeRecord` (else None; the statistics are streamed).
    bins, tau_max, dtau, max_units
        As in :class:`~fieldtheory.simulate.spike_stats.SpikeStatistics`.
    spikes_to : str, path or None
        A spike file: the spikes of the window are appended to it chunk by chunk (records
        of time and global neuron index, by time then neuron — the spikes of the record),
        with a JSON sidecar ``<file>.json``
        (:class:`~fieldtheory.simulate.spike_stats.SpikeWriter`,
        :func:`~fieldtheory.simulate.spike_stats.read_spikes`); the path is checked
        before the network is built, the file created when the steps start.

    Returns
    -------
    (record, observables, stderr)
        The spikes of the window (or None) and the JSON-ready statistics.

    Raises
    ------
    ParameterError
        Times not multiples of dt, a t_ref or a fixed delay that is not, a negative delay,
        an in-degree beyond the source population, p outside [0, 1], …, each naming the
        connection or population.
    SimulationError
        A GLM intensity that is negative or NaN; ``DivergenceError`` for a non-finite V.
    OutputPathError
        ``spikes_to`` cannot be written (raised before the network is built).
    """
    n_burn = _steps(t_burn, dt, "t_burn", allow_zero=True)
    n_max = _steps(t_max, dt, "t_max", allow_zero=False)
    if spikes_to is not None:
        check_spike_path(spikes_to)
    sim = SpikingSimulator(network, dt=dt, seed=seed)
    t_start, t_stop = n_burn * dt, (n_burn + n_max) * dt
    stats = SpikeStatistics(network, t_start, t_stop, bins=bins, tau_max=tau_max, dtau=dtau,
                            resolution=dt,
                            max_units=max_units, seed=seed)
    kept_times, kept_senders = [], []
    total = n_burn + n_max
    chunk = 5 * CHUNK_STEPS
    with open_spike_file(spikes_to, network, t_burn=t_burn, t_max=t_max, dt=dt,
                         engine="numpy", seed=seed, t_start=t_start,
                         t_stop=t_stop) as spike_file, \
            progress_bar(total, enabled=progress, description="spiking network",
                         unit="step") as bar:
        while sim.step_index < total:
            n = min(chunk, total - sim.step_index)
            steps, senders = sim.run(n)
            recorded = steps >= n_burn
            times = (steps[recorded] + 1) * dt
            senders = senders[recorded]
            stats.add(times, senders)
            spike_file.write(times, senders)
            if keep_spikes:
                kept_times.append(times)
                kept_senders.append(senders)
            bar.update(n)
    observables, stderr = stats.result()
    record = None
    if keep_spikes:
        record = SpikeRecord(
            times=np.concatenate(kept_times) if kept_times else np.zeros(0),
            senders=np.concatenate(kept_senders) if kept_senders else np.zeros(0, np.int64),
            t_start=t_start, t_stop=t_stop, network=network, resolution=dt)
    return record, observables, stderr


# ------------------------------------------------------------------ helpers
def _current_coupling(dt: float, tau_m: float, tau_s: float) -> float:
    """P_uI = τ_s/(τ_s − τ_m)(e^{−dt/τ_s} − e^{−dt/τ_m}), stably (exact at τ_s = τ_m)."""
    a = dt * (tau_s - tau_m) / (tau_m * tau_s)
    ratio = np.expm1(a) / a if a != 0 else 1.0
    return float(dt / tau_m * np.exp(-dt / tau_m) * ratio)


def _check_neuron(name: str, n: NeuronValues, dt: float) -> int:
    """Named ParameterErrors for a neuron model; its refractory period in steps."""
    if n.model not in ("lif", "glm"):
        raise ParameterError(f"population {name}: unknown neuron model {n.model!r} "
                             "(lif, glm)")
    if not (n.tau_m > 0 and np.isfinite(n.tau_m)):
        raise ParameterError(f"population {name}: tau_m = {n.tau_m!r} ms must be positive")
    if not (n.tau_s >= 0 and np.isfinite(n.tau_s)):
        raise ParameterError(f"population {name}: tau_s = {n.tau_s!r} ms must be ≥ 0")
    if not (np.isfinite(n.E_L) and np.isfinite(n.V_reset)):
        raise ParameterError(f"population {name}: E_L and V_reset must be finite")
    if not (np.isfinite(n.V_init[0]) and n.V_init[1] >= 0):
        raise ParameterError(f"population {name}: V_init = {n.V_init!r} needs a finite mean "
                             "and a non-negative sd")
    if n.model == "glm" and not callable(n.intensity):
        raise ParameterError(f"population {name}: a GLM neuron needs an intensity F(V)")
    if n.model == "lif" and not n.V_reset < n.V_th:
        raise ParameterError(f"population {name}: V_reset = {n.V_reset:g} mV must lie below "
                             f"V_th = {n.V_th:g} mV")
    steps = round(n.t_ref / dt) if np.isfinite(n.t_ref) else -1
    if steps < 0 or abs(steps * dt - n.t_ref) > 1e-9 * max(1.0, n.t_ref):
        raise ParameterError(f"population {name}: t_ref = {n.t_ref:g} ms is not a "
                             f"non-negative multiple of dt = {dt:g} ms")
    return int(steps)


def _steps(t: float, dt: float, label: str, *, allow_zero: bool) -> int:
    steps = round(t / dt) if np.isfinite(t) and np.isfinite(dt) and dt > 0 else -1
    if steps < (0 if allow_zero else 1) or abs(steps * dt - t) > 1e-9 * max(1.0, abs(t)):
        kind = "non-negative" if allow_zero else "positive"
        raise ParameterError(f"{label} = {t:g} ms is not a {kind} multiple of dt = {dt:g} ms")
    return int(steps)


def _compact(values: np.ndarray):
    """A scalar when every entry is equal (cheaper in the step), else the array."""
    if values.size and np.all(values == values[0]):
        return float(values[0])
    return values
