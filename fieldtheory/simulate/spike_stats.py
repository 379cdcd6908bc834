r"""Spike-train statistics of a spiking network, streamed in time blocks (engine-agnostic).

:class:`SpikeStatistics` takes the spikes of one run — from the numpy simulator
(:mod:`fieldtheory.simulate.spiking`), NEST or recorded data — in chunks of time
(``add(times, senders)``, chunks in time order) and returns, with ``result()``, the
observables and their standard errors as plain JSON-ready dicts; :func:`spike_statistics`
does the same for a whole :class:`SpikeRecord`.

Window and bins. Spikes count when t_start < t ≤ t_stop (a time-driven simulator stamps a
spike with the end of its step, so the first step after t_start counts and the last one
before t_stop too). Time differences are snapped to the grid of width dτ = ``dtau``
(within rounding), so spike times that are multiples of the step fall in the bin they
end: bin b holds t_start + b·dτ < t ≤ t_start + (b + 1)·dτ. The binned statistics use the
n_b = ⌊(t_stop − t_start)/dτ⌋ whole bins; rates and intervals use the whole window.

Per population (and the network ``rate``):

* ``rate``: the mean over the population's neurons of n_i/T (Hz); error: sd/√n.
* ``cv``: the mean, over neurons with at least 3 spikes, of the coefficient of variation
  sd/mean of their interspike intervals (sd with ddof = 1, from streamed moments about
  each neuron's first interval); error across those neurons.
* ``rate_distribution``: a density histogram of the single-neuron rates n_i/T on ``bins``
  (default: 30 bins from 0 to the largest rate rounded up to a whole Hz), normalised to
  integral 1 over the bins; ``outside`` is the fraction of neurons outside them. Error:
  √(p(1 − p)/n)/width (binomial, n the neurons inside the bins).
* ``spike_autocorrelation``: at lags τ_k = k·dτ, k = 0 … τ_max/dτ,

  .. math:: \hat C_i(\tau_k) = \frac{1}{d\tau^2}\Bigl[\frac{1}{n_b - k}\sum_b
            n_i(b)\,n_i(b+k) - \frac{N_i(N_i - 1)}{n_b^2}\Bigr]\quad(\mathrm{Hz}^2),

  with n_i(b) the counts in bin b, N_i = Σ_b n_i(b) and, at k = 0, n(n − 1) in place of
  n²: self-coincidences are left out, so the δ-peak ν δ(τ) is excluded, and N(N − 1)/n_b²
  (the square of the neuron's own rate without its self-pairs) makes Ĉ unbiased for a
  Poisson train. The mean over (at most ``max_units``, drawn with ``seed``) neurons;
  error across them.
* ``power_spectrum``: S(ω) = ν + ∫dτ Ĉ(τ) e^{iωτ} (Hz) at ω_k = 2π f_k, f_k = k/T_seg
  (Hz, T_seg = 2τ_max in s), k = 0 … L/2, from non-overlapping segments of L = 2τ_max/dτ
  bins (a rectangular window, Welch-like): S = ⟨|Σ_b (n(b) − n̄) e^{−iω b dτ}|²⟩/T_seg, so
  a Poisson train gives S = ν at every ω. Away from ω = 0 the mean does not enter; at
  ω = 0 S is the variance (ddof = 1) of the segment counts over T_seg (the Fano factor
  times ν), which needs two segments. Mean over neurons and segments; error across
  neurons.
* ``timescale``: τ_c = ∫_{−τmax}^{τmax} dτ [Ĉ(τ)/Ĉ(0)]² (ms, Wieland et al., Phys. Rev.
  E 92, 040901 (2015), Eq. 6), by the trapezoidal rule on the lags of the
  population-averaged Ĉ; Ĉ(0) is the lag-0 value of the δ-free Ĉ above (elephant's
  ``spike_train_timescale`` drops lag 0 and divides by the first positive lag instead).
  Error: jackknife over 10 interleaved groups of the recorded neurons.

A quantity that is undefined (no neuron with 3 spikes, one neuron only, Ĉ(0) = 0, a
window shorter than a segment) is ``None``, never NaN.

Memory stays bounded by working in blocks of a fixed number of bins (a multiple of the
segment, chosen from the numbers of neurons and recorded units): the spikes of one
block, counts of the recorded units per block,
the last τ_max of counts carried to the next block for the lag products, and streaming
interval moments per neuron. The blocks are fixed by the window, not by how the spikes
arrive, and each block's spikes are ordered by (neuron, time) before use, so the numbers
are identical however the spikes are chunked.

Spike files. :class:`SpikeWriter` appends the spikes of a run, chunk by chunk, to a binary
file of 16-byte records (:data:`SPIKE_DTYPE`: the time in ms as little-endian float64, the
global neuron index — the one the statistics use — as little-endian int64), in the order
given (the engines write by time, then neuron), and keeps a JSON sidecar ``<file>.json``
(the populations with their first index and size, N, dt, t_burn, t_max, the window,
engine, seed, the number of spikes and whether the run completed); :func:`read_spikes`
reads both back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fieldtheory.errors import DataFileError, OutputPathError, ParameterError
from fieldtheory.ir.spiking_values import NetworkValues
from fieldtheory.resources import check_output_path, require

__all__ = ["SPIKE_DTYPE", "SpikeRecord", "SpikeStatistics", "SpikeWriter", "check_spike_path",
           "open_spike_file", "read_spikes", "spike_statistics"]

#: Counts of the recorded units held per block (float64 elements), about 16 MB.
BLOCK_ELEMENTS = 1 << 21
#: Neurons × bins per block: bounds the spikes held until their block is complete.
PENDING_NEURON_BINS = 1 << 24
#: Bins of the default rate histogram.
DEFAULT_RATE_BINS = 30
#: Groups of the jackknife of the timescale.
JACKKNIFE_GROUPS = 10
#: time batches of the errors (when the window holds that many segments): neurons of one
#: network share input, so their errors are not independent — the spread of batch
#: estimates in time carries the common (network-level) fluctuations too
BATCHES = 20
#: fewest batches for batch errors; with fewer, errors are across neurons only
MIN_BATCHES = 10
#: One record of a spike file: the time (ms) and the global neuron index, little-endian.
SPIKE_DTYPE = np.dtype([("time", "<f8"), ("sender", "<i8")])
#: The ``format`` entry of a spike file's sidecar.
SPIKE_FORMAT = "fieldtheory-spikes-1"


@dataclass(eq=False)
class SpikeRecord:
    """The spikes of one run: ``times`` (ms, float64) and ``senders`` (global neuron index,
    int64, populations contiguous in declaration order) in the window
    (``t_start``, ``t_stop``] of ``network``."""

    times: np.ndarray
    senders: np.ndarray
    t_start: float
    t_stop: float
    network: NetworkValues
    #: the engine's time step (ms): spike times on a grid of this step, at most one spike
    #: per neuron per step (0: continuous times)
    resolution: float = 0.0


def spike_statistics(record: SpikeRecord, *, bins=None, tau_max: float = 100.0,
                     dtau: float = 1.0, max_units: int | None = 1000,
                     seed: int = 0) -> tuple[dict, dict]:
    """(observables, stderr) of a whole record; see the module docstring for the layout.

    The record is fed to :class:`SpikeStatistics` in time chunks, so memory stays bounded
    by the blocks, not by the record.
    """
    stats = SpikeStatistics(record.network, record.t_start, record.t_stop, bins=bins,
                            tau_max=tau_max, dtau=dtau, max_units=max_units, seed=seed,
                            resolution=record.resolution)
    times = np.asarray(record.times, dtype=np.float64)
    senders = np.asarray(record.senders, dtype=np.int64)
    if times.shape != senders.shape or times.ndim != 1:
        raise ParameterError(f"spike record: times {times.shape} and senders "
                             f"{senders.shape} must be 1-D arrays of one length")
    order = np.argsort(times, kind="stable")
    chunk = 1 << 20
    for start in range(0, len(order), chunk):
        part = order[start:start + chunk]
        stats.add(times[part], senders[part])
    return stats.result()


# -------------------------------------------------------------------- spike files
def _sidecar(path: Path) -> Path:
    """The JSON sidecar of a spike file: the file's name with ``.json`` appended."""
    return path.with_name(path.name + ".json")


def check_spike_path(path: str | os.PathLike) -> Path:
    """Refuse, before any work and without creating anything, a spike file (or its
    sidecar ``<file>.json``) that cannot be written there: an empty path, a directory, a
    missing folder, a place without write permission — :class:`OutputPathError`."""
    try:
        text = os.fspath(path)
    except TypeError:
        raise OutputPathError(f"a spike file must be a path, got {path!r}") from None
    if not isinstance(text, str) or not text.strip():
        raise OutputPathError(f"a spike file must be a non-empty path, got {path!r}")
    target = Path(text)
    for file in (target, _sidecar(target)):
        check_output_path(file)
    return target


class SpikeWriter:
    """Appends spikes to a binary spike file (records of :data:`SPIKE_DTYPE`) chunk by
    chunk, so that memory stays bounded, and keeps its JSON sidecar ``<file>.json``.

    The file is created (truncated) when the writer is made — an unwritable place raises
    :class:`OutputPathError` then, before any simulation — and the sidecar is written at
    once with ``"complete": false``; :meth:`close` rewrites it with the number of spikes
    and ``"complete": true``. Used as a context manager, an exception leaves the spikes
    written so far and the sidecar's ``"complete": false``.

    Parameters
    ----------
    path : str or path
        The spike file.
    network : NetworkValues
        Its populations (names, first global index, size) go to the sidecar.
    t_burn, t_max, dt : float
        The run's burn-in, recorded time and step (ms).
    t_start, t_stop : float or None
        The window (t_start, t_stop] of the spikes (ms); default t_burn, t_burn + t_max.
    engine : str
        ``"numpy"`` or ``"nest"``.
    seed : int
        The run's seed.
    """

    def __init__(self, path: str | os.PathLike, network: NetworkValues, *, t_burn: float,
                 t_max: float, dt: float, engine: str, seed: int,
                 t_start: float | None = None, t_stop: float | None = None) -> None:
        self.path = check_spike_path(path)
        self.sidecar = _sidecar(self.path)
        offsets = network.offsets()
        self.meta: dict[str, Any] = {
            "format": SPIKE_FORMAT,
            "records": {"time": "<f8 (ms)", "sender": "<i8 (global neuron index)"},
            "record_bytes": SPIKE_DTYPE.itemsize,
            "populations": [{"name": name, "first": int(offsets[p]), "size": int(size)}
                            for p, (name, size) in enumerate(zip(
                                network.populations, network.sizes, strict=True))],
            "N": int(network.N),
            "dt": float(dt), "t_burn": float(t_burn), "t_max": float(t_max),
            "t_start": float(t_burn if t_start is None else t_start),
            "t_stop": float(t_burn + t_max if t_stop is None else t_stop),
            "engine": str(engine), "seed": int(seed),
            "n_spikes": 0, "complete": False,
        }
        try:
            self._file = open(self.path, "wb")  # closed by close()
        except OSError as error:
            raise OutputPathError(f"cannot write the spike file {self.path}: "
                                  f"{error.strerror or error}") from None
        self._closed = False
        self._write_sidecar()

    def write(self, times, senders) -> None:
        """Append the spikes (times in ms, global neuron indices), in the order given."""
        times, senders = _spike_arrays(times, senders, "spike file")
        if times.size == 0:
            return
        records = np.empty(times.size, dtype=SPIKE_DTYPE)
        records["time"], records["sender"] = times, senders
        records.tofile(self._file)
        self.meta["n_spikes"] += int(times.size)

    def close(self, complete: bool = True) -> None:
        """Close the file and write the sidecar (``complete`` as given)."""
        if self._closed:
            return
        self._closed = True
        self._file.close()
        self.meta["complete"] = bool(complete)
        self._write_sidecar()

    def _write_sidecar(self) -> None:
        try:
            self.sidecar.write_text(json.dumps(self.meta, indent=1) + "\n")
        except OSError as error:
            self._file.close()
            self._closed = True
            raise OutputPathError(f"cannot write the spike file's sidecar {self.sidecar}: "
                                  f"{error.strerror or error}") from None

    def __enter__(self) -> SpikeWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.close(complete=kind is None)


class _NoSpikeFile:
    """Stands in for a :class:`SpikeWriter` when no spike file is asked for."""

    def write(self, times, senders) -> None:
        pass

    def close(self, complete: bool = True) -> None:
        pass

    def __enter__(self) -> _NoSpikeFile:
        return self

    def __exit__(self, *exc) -> None:
        pass


def open_spike_file(path: str | os.PathLike | None, network: NetworkValues, *,
                    t_burn: float, t_max: float, dt: float, engine: str, seed: int,
                    t_start: float | None = None,
                    t_stop: float | None = None) -> SpikeWriter | _NoSpikeFile:
    """A :class:`SpikeWriter` on ``path``, or a writer that writes nothing when ``path`` is
    None; both are context managers with ``write(times, senders)``."""
    if path is None:
        return _NoSpikeFile()
    return SpikeWriter(path, network, t_burn=t_burn, t_max=t_max, dt=dt, engine=engine,
                       seed=seed, t_start=t_start, t_stop=t_stop)


def read_spikes(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, dict]:
    """(times, senders, meta) of a spike file written by :class:`SpikeWriter`.

    ``times`` (ms, float64) and ``senders`` (global neuron index, int64) in the file's
    order; ``meta`` the sidecar ``<file>.json`` (populations with ``first`` and ``size``,
    N, dt, t_burn, t_max, t_start, t_stop, engine, seed, n_spikes, complete).

    Raises
    ------
    DataFileError
        A missing or unreadable file or sidecar, a file that is not a whole number of
        records, or a complete file whose number of spikes differs from the sidecar's.
    """
    target = Path(os.fspath(path))
    sidecar = _sidecar(target)
    try:
        meta = json.loads(sidecar.read_text())
    except OSError as error:
        raise DataFileError(f"spike file {target}: cannot read its sidecar {sidecar}: "
                            f"{error.strerror or error}", path=str(sidecar)) from None
    except ValueError as error:
        raise DataFileError(f"spike file {target}: its sidecar {sidecar} is not JSON: "
                            f"{error}", path=str(sidecar)) from None
    if not isinstance(meta, dict) or meta.get("format") != SPIKE_FORMAT:
        raise DataFileError(f"spike file {target}: the sidecar {sidecar} is not of the "
                            f"format {SPIKE_FORMAT!r}", path=str(sidecar), key="format")
    try:
        size = target.stat().st_size
        records = np.fromfile(target, dtype=SPIKE_DTYPE)
    except OSError as error:
        raise DataFileError(f"cannot read the spike file {target}: "
                            f"{error.strerror or error}", path=str(target)) from None
    if size % SPIKE_DTYPE.itemsize:
        raise DataFileError(f"spike file {target}: {size} bytes is not a whole number of "
                            f"{SPIKE_DTYPE.itemsize}-byte records", path=str(target))
    if meta.get("complete") and meta.get("n_spikes") != len(records):
        raise DataFileError(f"spike file {target}: {len(records)} spikes, but its sidecar "
                            f"says {meta.get('n_spikes')}", path=str(target),
                            key="n_spikes")
    times = np.ascontiguousarray(records["time"], dtype=np.float64)
    senders = np.ascontiguousarray(records["sender"], dtype=np.int64)
    return times, senders, meta


class SpikeStatistics:
    """Streaming spike statistics of one window: ``add`` chunks in time order, ``result``.

    Parameters
    ----------
    network : NetworkValues
        Populations, sizes (senders index the neurons 0 … N − 1, populations contiguous).
    t_start, t_stop : float
        The recorded window (t_start, t_stop] in ms.
    bins : None, array of edges or dict
        Edges (Hz) of the rate histogram: one array for every population, or a dict
        population name → edges (missing populations get the default).
    tau_max, dtau : float
        Largest lag and bin width (ms); τ_max must be a multiple of dτ.
    max_units : int or None
        Neurons per population whose binned trains are used for Ĉ, S and τ_c (drawn with
        ``seed``); None: all.
    seed : int
        Seed of that draw.
    resolution : float
        The engine's step dt (ms; 0: continuous spike times). At most one spike per step:
        of the m² step pairs of a bin (m = dτ/dt) only the m(m − 1) of distinct steps can
        hold two spikes, so the lag-0 coincidences are divided by 1 − dt/dτ — Ĉ(0) is
        then unbiased for a continuous Ĉ (and 0 for a Bernoulli train), not offset by
        −(dt/dτ)ν².
    """

    def __init__(self, network: NetworkValues, t_start: float, t_stop: float, *,
                 bins=None, tau_max: float = 100.0, dtau: float = 1.0,
                 max_units: int | None = 1000, seed: int = 0,
                 resolution: float = 0.0) -> None:
        self.network = network
        if not 0.0 <= resolution < dtau:
            raise ParameterError(f"spike statistics: the resolution {resolution:g} ms must "
                                 f"lie in [0, dτ = {dtau:g} ms)")
        self.resolution = float(resolution)
        self.t_start, self.t_stop = float(t_start), float(t_stop)
        self.tau_max, self.dtau = float(tau_max), float(dtau)
        _check_window(self.t_start, self.t_stop, self.tau_max, self.dtau)
        self.lags = round(self.tau_max / self.dtau)
        self.segment = 2 * self.lags
        self._tol = 1e-9 + 8 * np.finfo(float).eps * (
            abs(self.t_start) + abs(self.t_stop)) / self.dtau
        self._x_stop = _snap(np.array([(self.t_stop - self.t_start) / self.dtau]),
                             self._tol)[0]
        self.n_bins = int(np.floor(self._x_stop))
        self.n_segments = self.n_bins // self.segment
        self.edges = _rate_bins(bins, network.populations)
        self.N = network.N
        self.offsets = network.offsets()
        self.units = _draw_units(network, max_units, seed)
        self.column = np.full(self.N, -1, dtype=np.int64)
        self.column[np.concatenate(self.units)] = np.arange(sum(len(u) for u in self.units))
        R = int(self.column.max() + 1) if self.N else 0
        self.n_recorded = R
        self.block = self.segment * max(1, min(
            BLOCK_ELEMENTS // max(1, R * self.segment),
            PENDING_NEURON_BINS // max(1, self.N * self.segment),
            max(1, self.n_segments // BATCHES)))
        require(8.0 * R * (self.block + 2 * self.lags + self.segment) * 3,
                f"spike statistics: {R} recorded neurons, τ_max = {self.tau_max:g} ms, "
                f"dτ = {self.dtau:g} ms")
        # Per neuron: spike counts and streaming interval moments.
        self._counts = np.zeros(self.N, dtype=np.int64)
        self._last = np.zeros(self.N)
        self._has_last = np.zeros(self.N, dtype=bool)
        self._n_isi = np.zeros(self.N, dtype=np.int64)
        self._shift = np.zeros(self.N)
        self._s1 = np.zeros(self.N)
        self._s2 = np.zeros(self.N)
        # Per recorded neuron: lag products, binned counts, segment sums, spectra.
        self._tail = np.zeros((R, self.lags))
        self._products = np.zeros((R, self.lags + 1))
        self._binned = np.zeros(R)
        self._seg_n = np.zeros(R)
        self._seg_n2 = np.zeros(R)
        self._periodogram = np.zeros((R, self.segment // 2 + 1))
        # Per block (the time batches of the errors) and population: spikes of all its
        # neurons, and over its recorded units the lag products, the self-pair term
        # Σ N_b(N_b − 1) of the block's own counts, the periodograms and segments.
        P = len(network.populations)
        n_blocks = max(1, -(-self.n_bins // self.block))
        self.n_blocks = n_blocks
        self._population_of = np.repeat(np.arange(P), network.sizes)
        self._unit_population = np.concatenate(
            [np.full(len(u), p) for p, u in enumerate(self.units)]).astype(np.int64)
        self._b_spikes = np.zeros((n_blocks, P))
        self._b_products = np.zeros((n_blocks, P, self.lags + 1))
        self._b_self = np.zeros((n_blocks, P))
        self._b_periodogram = np.zeros((n_blocks, P, self.segment // 2 + 1))
        self._b_segments = np.zeros(n_blocks)
        # Pending spikes (the blocks not yet complete) and the next block to process.
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._next_block = 0
        self._result: tuple[dict, dict] | None = None

    # ---------------------------------------------------------------- streaming
    def add(self, times, senders) -> None:
        """Add a chunk of spikes (any order within the chunk; chunks in time order).

        Spikes outside the window are ignored. A spike in a block already processed (an
        earlier chunk reached a later block) raises :class:`ParameterError`.
        """
        if self._result is not None:
            raise ParameterError("SpikeStatistics.add after result(): the window is closed")
        times, senders = _spike_arrays(times, senders, "spike chunk")
        if times.size == 0:
            return
        if not np.all(np.isfinite(times)):
            raise ParameterError("spike chunk: a spike time is not finite")
        if senders.min() < 0 or senders.max() >= self.N:
            raise ParameterError(f"spike chunk: sender out of range 0 … {self.N - 1} "
                                 f"(got {senders.min()} … {senders.max()})")
        x = _snap((times - self.t_start) / self.dtau, self._tol)
        keep = (x > 0) & (x <= self._x_stop)
        if not keep.all():
            times, senders, x = times[keep], senders[keep], x[keep]
        if times.size == 0:
            return
        bins = np.ceil(x).astype(np.int64) - 1
        first = int(bins.min()) // self.block
        if first < self._next_block:
            raise ParameterError(
                f"spikes added out of time order: a spike at t = {times[bins.argmin()]:g} ms "
                f"lies in a block already closed (spikes up to "
                f"{self.t_start + self._next_block * self.block * self.dtau:g} ms are done)")
        self._pending.append((times, senders, bins))
        # Every block below the one of the latest spike is complete.
        self._flush(int(bins.max()) // self.block)

    def result(self) -> tuple[dict, dict]:
        """(observables, stderr): closes the window (later ``add`` calls are refused)."""
        if self._result is None:
            self._flush(None)
            self._result = self._summarise()
        return self._result

    def _flush(self, below: int | None) -> None:
        """Process every pending block with index < ``below`` (all when None); the blocks
        below ``below`` are closed afterwards."""
        if self._pending:
            times = np.concatenate([p[0] for p in self._pending])
            senders = np.concatenate([p[1] for p in self._pending])
            bins = np.concatenate([p[2] for p in self._pending])
            blocks = bins // self.block
            done = blocks < below if below is not None else np.ones(len(bins), dtype=bool)
            self._pending = [(times[~done], senders[~done], bins[~done])] \
                if not done.all() else []
            if done.any():
                times, senders, bins, blocks = (times[done], senders[done], bins[done],
                                                blocks[done])
                order = np.argsort(blocks, kind="stable")
                times, senders, bins, blocks = (times[order], senders[order], bins[order],
                                                blocks[order])
                cuts = np.flatnonzero(np.diff(blocks)) + 1
                for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(blocks)], strict=True):
                    self._process(int(blocks[lo]), times[lo:hi], senders[lo:hi],
                                  bins[lo:hi])
        if below is not None and below > self._next_block:
            self._tail[:] = 0.0   # the blocks up to ``below`` had no (more) spikes
            self._next_block = below

    def _process(self, block: int, times: np.ndarray, senders: np.ndarray,
                 bins: np.ndarray) -> None:
        """One complete block: counts, intervals, lag products, segment spectra."""
        if block > self._next_block:
            self._tail[:] = 0.0   # the blocks in between had no spikes
        self._next_block = block + 1
        # A canonical order, whatever the chunks were: by neuron, then time.
        order = np.lexsort((times, senders))
        times, senders, bins = times[order], senders[order], bins[order]
        self._counts += np.bincount(senders, minlength=self.N)
        P = len(self.network.populations)
        if block < self.n_blocks:
            self._b_spikes[block] += np.bincount(self._population_of[senders], minlength=P)
        self._intervals(times, senders)
        cols = self.column[senders]
        rec = (cols >= 0) & (bins < self.n_bins)
        if not rec.any():
            self._tail[:] = 0.0
            return
        B, L = self.block, self.lags
        local = bins[rec] - block * B
        counts = np.bincount(cols[rec] * B + local, minlength=self.n_recorded * B)
        counts = counts.reshape(self.n_recorded, B).astype(np.float64)
        totals_b = counts.sum(axis=1)
        self._binned += totals_b
        extended = np.concatenate([self._tail, counts], axis=1)
        products = _lag_products(counts, extended, L)
        products[:, 0] -= totals_b
        self._products += products
        if block < self.n_blocks:
            pop = self._unit_population
            for k in range(P):
                mine = pop == k
                self._b_products[block, k] += products[mine].sum(axis=0)
                self._b_self[block, k] += np.sum(totals_b[mine] * (totals_b[mine] - 1))
        self._tail = extended[:, B:].copy()
        # Segments of this block that lie wholly within the binned window.
        per_block = B // self.segment
        valid = min(per_block, self.n_segments - block * per_block)
        if valid > 0:
            segments = counts[:, :valid * self.segment].reshape(
                self.n_recorded, valid, self.segment)
            totals = segments.sum(axis=2)
            self._seg_n += totals.sum(axis=1)
            self._seg_n2 += (totals**2).sum(axis=1)
            spectrum = np.fft.rfft(segments, axis=2)
            power = (spectrum.real**2 + spectrum.imag**2).sum(axis=1)
            self._periodogram += power
            if block < self.n_blocks:
                self._b_segments[block] += valid
                for k in range(P):
                    self._b_periodogram[block, k] += power[self._unit_population == k].sum(0)

    def _intervals(self, times: np.ndarray, senders: np.ndarray) -> None:
        """Interspike-interval moments, continuing each neuron's train across blocks."""
        same = senders[1:] == senders[:-1]
        first = np.r_[True, ~same]
        last = np.r_[~same, True]
        heads, head_times = senders[first], times[first]
        linked = self._has_last[heads]
        isi = np.concatenate([head_times[linked] - self._last[heads[linked]],
                              np.diff(times)[same]])
        who = np.concatenate([heads[linked], senders[1:][same]])
        # Moments about each neuron's first interval: no cancellation for regular trains.
        fresh, first = np.unique(who, return_index=True)
        unset = self._n_isi[fresh] == 0
        self._shift[fresh[unset]] = isi[first[unset]]
        isi = isi - self._shift[who]
        self._n_isi += np.bincount(who, minlength=self.N)
        self._s1 += np.bincount(who, weights=isi, minlength=self.N)
        self._s2 += np.bincount(who, weights=isi * isi, minlength=self.N)
        self._last[senders[last]] = times[last]
        self._has_last[senders[last]] = True

    # ---------------------------------------------------------------- summary
    def _summarise(self) -> tuple[dict, dict]:
        T = (self.t_stop - self.t_start) / 1000.0
        rates = self._counts / T
        observables: dict = {"rate": _mean(rates), "populations": {}}
        stderr: dict = {"rate": _sem(rates), "populations": {}}
        for p, name in enumerate(self.network.populations):
            lo, hi = self.offsets[p], self.offsets[p + 1]
            obs, err = self._population(p, name, slice(lo, hi), rates[lo:hi])
            observables["populations"][name] = obs
            stderr["populations"][name] = err
        return observables, stderr

    def _population(self, p: int, name: str, neurons: slice,
                    rates: np.ndarray) -> tuple[dict, dict]:
        cv = self._cv(neurons)
        histogram, histogram_err = _histogram(rates, self.edges.get(name))
        columns = self.column[self.units[p]]
        correlation = self._autocorrelation(columns)
        spectrum = self._spectrum(columns)
        tau = [k * self.dtau for k in range(self.lags + 1)]
        omega = [2 * np.pi * 1000.0 * k / (self.segment * self.dtau)
                 for k in range(self.segment // 2 + 1)]
        timescale, timescale_err = self._timescale(correlation)
        batch = self._batch_errors(p, neurons, timescale)
        obs = {
            "rate": _mean(rates),
            "cv": _mean(cv),
            "rate_distribution": histogram,
            "spike_autocorrelation": {"tau": tau, "values": _column_means(correlation)},
            "power_spectrum": {"omega": omega, "values": _column_means(spectrum)},
            "timescale": timescale,
        }
        err = {
            "rate": _sem(rates),
            "cv": _sem(cv),
            "rate_distribution": histogram_err,
            "spike_autocorrelation": {"values": _column_sems(correlation)},
            "power_spectrum": {"values": _column_sems(spectrum)},
            "timescale": timescale_err,
        }
        if batch is not None:  # errors over time batches: common fluctuations included
            # the population rate: the error across neurons (static heterogeneity and
            # counting noise) and, added in quadrature, the common part of the batch
            # spread — the batch variance less its counting part ⟨S_i(0)⟩/(n T)
            neuron_rate = err["rate"] or 0.0
            T = (self.t_stop - self.t_start) / 1000.0
            counting = 0.0
            if spectrum is not None and np.isfinite(spectrum[:, 0]).all():
                counting = float(np.mean(spectrum[:, 0])) / ((neurons.stop - neurons.start)
                                                             * T)
            common = float(np.sqrt(max(batch["rate"] ** 2 - counting, 0.0)))
            err["rate"] = float(np.hypot(neuron_rate, common))
            err["rate_common"] = common
            # curves: the errors across neurons (many degrees of freedom) times the
            # inflation the batches show, pooled over lags (frequencies): one stable
            # factor ≥ 1 instead of a noisy batch error per point
            for key, values in (("spike_autocorrelation", batch["correlation"]),
                                ("power_spectrum", batch["spectrum"])):
                neuron = np.array([np.nan if v is None else v
                                   for v in err[key]["values"]], dtype=float)
                ok = np.isfinite(neuron) & np.isfinite(values) & (neuron > 0)
                if key == "power_spectrum":
                    ok[0] = False  # ω = 0 is the variance of segment counts: kept as is
                if ok.any():
                    factor = max(1.0, float(np.sqrt(np.mean(values[ok] ** 2)
                                                    / np.mean(neuron[ok] ** 2))))
                    err[key] = {"values": _floats(neuron * factor)}
                    err[f"{key}_inflation"] = factor
            err["timescale"] = batch["timescale"]
        err["batches"] = 0 if batch is None else batch["batches"]
        return obs, err

    def _batch_errors(self, p: int, neurons: slice, timescale) -> dict | None:
        """Standard errors from the spread of the estimates of the time batches (the
        blocks): the population rate, Ĉ at each lag, S at each ω > 0 and (jackknife over
        batches) τ_c; None with fewer than ``MIN_BATCHES`` whole batches."""
        n_bins_block = np.full(self.n_blocks, float(self.block))
        n_bins_block[-1] = self.n_bins - self.block * (self.n_blocks - 1)
        whole = np.flatnonzero((n_bins_block == self.block) & (self._b_segments > 0))
        units = len(self.units[p])
        if len(whole) < MIN_BATCHES or units == 0:
            return None
        size = neurons.stop - neurons.start
        T_b = n_bins_block[whole] * self.dtau / 1000.0
        rates = self._b_spikes[whole, p] / (size * T_b)
        pairs = np.where(whole[:, None] == 0,
                         n_bins_block[whole][:, None] - np.arange(self.lags + 1),
                         n_bins_block[whole][:, None])
        mean_product = self._b_products[whole, p] / pairs
        if self.resolution > 0:
            mean_product[:, 0] /= 1.0 - self.resolution / self.dtau
        C = (mean_product - (self._b_self[whole, p] / n_bins_block[whole] ** 2)[:, None])
        C *= 1e6 / (self.dtau**2 * units)
        T_seg = self.segment * self.dtau / 1000.0
        S = self._b_periodogram[whole, p] / (units * self._b_segments[whole, None] * T_seg)
        n = len(whole)
        sem = lambda a: a.std(axis=0, ddof=1) / np.sqrt(n)  # noqa: E731
        tc_err = None
        if timescale is not None:
            replicas = [_correlation_time(np.delete(C, b, axis=0).mean(axis=0), self.dtau)
                        for b in range(n)]
            if all(r is not None for r in replicas):
                r = np.array(replicas)
                tc_err = float(np.sqrt((n - 1) / n * np.sum((r - r.mean()) ** 2)))
        return {"batches": n, "rate": float(sem(rates)), "correlation": sem(C),
                "spectrum": sem(S), "timescale": tc_err}

    def _cv(self, neurons: slice) -> np.ndarray:
        """CV of the intervals of each neuron with ≥ 2 intervals (≥ 3 spikes)."""
        n, s1, s2 = self._n_isi[neurons], self._s1[neurons], self._s2[neurons]
        mean = self._shift[neurons] + s1 / np.maximum(n, 1)
        ok = (n >= 2) & (mean > 0)
        n, s1, s2, mean = n[ok], s1[ok], s2[ok], mean[ok]
        variance = np.maximum(s2 - s1 * s1 / n, 0.0) / (n - 1)
        return np.sqrt(variance) / mean

    def _autocorrelation(self, columns: np.ndarray) -> np.ndarray | None:
        """Ĉ_i(τ_k) (Hz²) per recorded neuron, shape (units, lags + 1); None if no bins."""
        if self.n_bins < 1 or len(columns) == 0:
            return None
        pairs = self.n_bins - np.arange(self.lags + 1, dtype=np.float64)
        N = self._binned[columns]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_product = self._products[columns] / pairs
        if self.resolution > 0:  # same-step pairs cannot both spike (see the class)
            mean_product[:, 0] /= 1.0 - self.resolution / self.dtau
        C = mean_product - (N * (N - 1) / self.n_bins**2)[:, None]
        C *= 1e6 / self.dtau**2
        C[:, pairs <= 0] = np.nan   # lags longer than the window: reported as None
        return C

    def _spectrum(self, columns: np.ndarray) -> np.ndarray | None:
        """S_i(ω_k) (Hz) per recorded neuron; None without a whole segment."""
        if self.n_segments < 1 or len(columns) == 0:
            return None
        T_seg = self.segment * self.dtau / 1000.0
        S = self._periodogram[columns] / (self.n_segments * T_seg)
        if self.n_segments >= 2:
            n_seg = self.n_segments
            sums, squares = self._seg_n[columns], self._seg_n2[columns]
            S[:, 0] = (squares - sums**2 / n_seg) / (n_seg - 1) / T_seg
        else:
            S[:, 0] = np.nan
        return S

    def _timescale(self, C: np.ndarray | None) -> tuple[float | None, float | None]:
        """τ_c of the population-averaged Ĉ, and its jackknife error over neuron groups."""
        if C is None or np.isnan(C).any():
            return None, None
        value = _correlation_time(C.mean(axis=0), self.dtau)
        groups = min(JACKKNIFE_GROUPS, len(C))
        if value is None or groups < 2:
            return value, None
        label = np.arange(len(C)) % groups
        replicas = [_correlation_time(C[label != g].mean(axis=0), self.dtau) for g in range(groups)]
        if any(r is None for r in replicas):
            return value, None
        replicas = np.array(replicas)
        spread = (groups - 1) / groups * np.sum((replicas - replicas.mean()) ** 2)
        return value, float(np.sqrt(spread))


# -------------------------------------------------------------------- helpers
def _lag_products(counts: np.ndarray, extended: np.ndarray, lags: int) -> np.ndarray:
    """Σ_b n(b) n(b − k), k = 0 … lags, over the block's bins b, reaching back into the
    tail (``extended`` = tail ‖ counts), by FFT and rounded: the sums are integers, and
    the transform's error is far below ½."""
    B = counts.shape[1]
    size = _fast_length(B + lags)
    x = np.fft.rfft(counts, n=size, axis=1)
    y = np.fft.rfft(extended, n=size, axis=1)
    # c[j] = Σ_s counts[s] extended[s + j] (no wrap: s + j < B + lags ≤ size), and
    # extended[s + lags − k] is bin s − k: lag k sits at j = lags − k.
    c = np.fft.irfft(y * np.conj(x), n=size, axis=1)
    return np.rint(c[:, lags::-1])


def _fast_length(n: int) -> int:
    """The smallest 2^a 3^b 5^c ≥ n (a fast FFT length)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _check_window(t_start: float, t_stop: float, tau_max: float, dtau: float) -> None:
    for label, value in (("t_start", t_start), ("t_stop", t_stop), ("tau_max", tau_max),
                         ("dtau", dtau)):
        if not np.isfinite(value):
            raise ParameterError(f"spike statistics: {label} = {value} is not finite")
    if not t_stop > t_start:
        raise ParameterError(f"spike statistics: t_stop = {t_stop:g} ms must exceed "
                             f"t_start = {t_start:g} ms")
    if not dtau > 0:
        raise ParameterError(f"spike statistics: dtau = {dtau:g} ms must be positive")
    lags = round(tau_max / dtau)
    if lags < 1 or abs(lags * dtau - tau_max) > 1e-9 * max(1.0, tau_max):
        raise ParameterError(f"spike statistics: tau_max = {tau_max:g} ms must be a positive "
                             f"multiple of dtau = {dtau:g} ms")


def _snap(x: np.ndarray, tol: float) -> np.ndarray:
    """x with values within ``tol`` of an integer set to that integer (grid-exact bins)."""
    nearest = np.rint(x)
    return np.where(np.abs(x - nearest) <= tol, nearest, x)


def _draw_units(network: NetworkValues, max_units: int | None, seed: int) -> list[np.ndarray]:
    """Global indices of the recorded neurons per population (sorted)."""
    if max_units is not None and (not isinstance(max_units, int | np.integer)
                                  or max_units < 1):
        raise ParameterError(f"spike statistics: max_units = {max_units!r} must be a "
                             "positive integer or None")
    rng = np.random.default_rng(seed)
    offsets = network.offsets()
    units = []
    for p, size in enumerate(network.sizes):
        if max_units is None or max_units >= size:
            local = np.arange(size)
        else:
            local = np.sort(rng.choice(size, size=int(max_units), replace=False))
        units.append(local.astype(np.int64) + offsets[p])
    return units


def _rate_bins(bins, populations: tuple[str, ...]) -> dict[str, np.ndarray | None]:
    """Edges per population name (None: the default, fixed from the rates)."""
    if bins is None:
        return dict.fromkeys(populations)
    if isinstance(bins, Mapping):
        unknown = sorted(set(bins) - set(populations))
        if unknown:
            raise ParameterError(f"rate bins for unknown population(s) {unknown}; the "
                                 f"populations are {list(populations)}")
        return {name: _edges(bins[name], name) if name in bins else None
                for name in populations}
    edges = _edges(bins, "every population")
    return dict.fromkeys(populations, edges)


def _edges(value, what: str) -> np.ndarray:
    edges = np.asarray(value, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.isfinite(edges)) or not np.all(
            np.diff(edges) > 0):
        raise ParameterError(f"rate bins of {what}: need at least two finite, increasing "
                             f"edges (Hz), got {value!r}")
    return edges


def _histogram(rates: np.ndarray, edges: np.ndarray | None) -> tuple[dict, dict]:
    """Density of the single-neuron rates on ``edges`` (integral 1 over them)."""
    if edges is None:
        top = float(np.ceil(rates.max())) if len(rates) else 1.0
        edges = np.linspace(0.0, max(top, 1.0), DEFAULT_RATE_BINS + 1)
    counts, _ = np.histogram(rates, bins=edges)
    inside = int(counts.sum())
    width = np.diff(edges)
    n = len(rates)
    outside = (n - inside) / n if n else None
    if inside == 0:
        density = err = [None] * len(width)
    else:
        p = counts / inside
        density = _floats(p / width)
        err = _floats(np.sqrt(p * (1 - p) / inside) / width)
    return ({"bins": _floats(edges), "density": density, "outside": outside},
            {"density": err})


def _correlation_time(C: np.ndarray, dtau: float) -> float | None:
    """2 ∫_0^τmax [C/C(0)]² dτ by the trapezoidal rule; None when C(0) = 0."""
    if C[0] == 0 or not np.isfinite(C[0]):
        return None
    ratio = (C / C[0]) ** 2
    return float(dtau * (2 * ratio.sum() - ratio[0] - ratio[-1]))


def _mean(values: np.ndarray) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _sem(values: np.ndarray) -> float | None:
    n = len(values)
    return float(np.std(values, ddof=1) / np.sqrt(n)) if n >= 2 else None


def _floats(values) -> list:
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def _column_means(values: np.ndarray | None) -> list | None:
    if values is None:
        return None
    with np.errstate(invalid="ignore"):
        return _floats(values.mean(axis=0))


def _column_sems(values: np.ndarray | None) -> list | None:
    if values is None:
        return None
    n = len(values)
    if n < 2:
        return [None] * values.shape[1]
    with np.errstate(invalid="ignore"):
        return _floats(values.std(axis=0, ddof=1) / np.sqrt(n))


def _spike_arrays(times, senders, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(times as float64, senders as int64), flat and of one length (else a named
    ParameterError)."""
    times = np.asarray(times, dtype=np.float64).ravel()
    senders = np.asarray(senders, dtype=np.int64).ravel()
    if times.shape != senders.shape:
        raise ParameterError(f"{what}: {times.size} times but {senders.size} senders")
    return times, senders
