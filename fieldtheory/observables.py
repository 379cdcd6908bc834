r"""The observables schema shared by the simulator and (later) the theory solvers.

Keys (each optional, so that a solver may fill a subset):

``mean``
    m = ⟨x_i(t)⟩ over units and time.
``variance``
    ⟨(x_i(t) − m)²⟩ over units and time: temporal fluctuations *and* the static
    heterogeneity of the units' means (the plateau Δ∞ of SCS, PRL 61, 259 (1988)).
``autocorrelation``
    {``tau``, ``values``}: Δ(τ) = ⟨(x_i(t) − m)(x_i(t+τ) − m)⟩ about the same m, so that
    ``values[0] == variance``.
``mean_phi``, ``autocorrelation_phi``
    The same for φ(x): m_φ = ⟨φ(x)⟩ and C_φ(τ) about m_φ.
``mean_gain``
    ⟨φ'(x)⟩.
``population_spectrum``
    {``omega``, ``values``}: N·S_a(ω), with S_a the power spectrum of the population
    average a(t) = (1/N) Σ_i x_i(t), in the convention C(ω) = ∫dτ e^{−iωτ} C(τ), ω ≥ 0
    (for N independent units it equals the single-unit spectrum).
``populations``
    {name: Observables} with the same keys per population α (N_α and the population
    average for the spectrum), present when a model has several populations.

The O(1/N) observables (``solve(..., order="1/N")``; the simulator estimates them when
asked), per population normalised by N_α:

``dimension``
    {``pr_x``, ``pr_phi``}: the participation ratio of the equal-time covariance over N,
    PR/N = (tr C)²/(N tr C²), of x and of φ(x) (N → ∞ values in the theory).
    Where units have quenched gains (Φ_i = G_i φ(x_i)), ``pr_phi`` is that of the output Φ.
``dimension_z``
    {``pr_x``, ``pr_phi``}: the same of the z-scored activity (every unit divided by its
    standard deviation; the gains cancel, their heterogeneity still shapes Ψ).
``psi``
    {``x``, ``phi``}: ψ(0, 0) = N·mean_{i≠j} C_ij(0)², so that PR/N = C(0)²/(C(0)² + ψ).
``population_variance``
    {``x``, ``phi``}: N·Var of the population averages (1/N)Σ_i x_i and (1/N)Σ_i φ(x_i).
``population_spectrum_phi``
    {``omega``, ``values``}: N·S(ω) of the population average of φ(x).
``cross_covariance``
    {``tau``, ``values``}: N·mean_{i≠j} C_ij(τ) of x.
``mean_shift``
    {``mean``, ``variance``, ``mean_phi``, ``variance_phi``, ``mean_gain``} (finite-N maps,
    ``solve(..., order="1/N", N=N)``): N·(E − N→∞ value) of a unit's equal-time averages
    at one loop (:mod:`fieldtheory.window_solve`).
``connectivity``
    Statistics of the coupling matrix the theory reports (random modes: ``effective_rank``
    α·PR_D and ``pr_singular`` = (Σs²)²/(N Σs⁴) of its singular values).

Layered networks (deep and recurrent, :mod:`fieldtheory.ir.layered`) on P input patterns:
``kernel``
    {``layers``, ``values``}: values[l][a][b] = K^l_ab, the kernel (1/N) Σ_i h_i^l(x_a)
    h_i^l(x_b) of layer l = ``layers[l]`` (its N → ∞ value in the theory, the mean of the
    empirical kernel in the simulator).
``kernel_cross``
    {``times``, ``values``}: values[s][t][a][b] = K_ab(s, t), the kernel between layers (times
    of a recurrent network) s and t.
``kernel_variance``
    {``layers``, ``values``}: N·Var of the empirical kernel, shaped like ``kernel``.
``kernel_correction``
    {``layers``, ``bias``, ``variance``} (``solve(..., order="1/N")``): E K̂ = K + bias/N
    + O(N⁻²) and N·Var K̂ → variance, each shaped like ``kernel.values``; where layers are
    correlated (shared weights) also ``bias_cross``, shaped like ``kernel_cross.values``.

Optional keys, filled by the simulator only when requested (``simulate(..., observe=...)``;
see :mod:`fieldtheory.simulate.tangent`), network-wide (not per population):

``lyapunov_max``
    The maximal Lyapunov exponent per unit time (Benettin's method on the exact tangent map
    of the integrator; with noise, that of the noise-driven flow).
``response``
    {``tau``, ``values``}: the single-site linear response R(τ) = (1/N) Σ_i ⟨δx_i(t+τ)/δx_i(t)⟩
    to a δ kick of the state with independent random signs per unit (the site's own
    response; R(0) = 1).
``response_common``
    {``tau``, ``values``}: the same for a kick common to all units (all signs +1), which
    also sees the network's mean coupling.
``transient``
    {``t``, ``mean``, ``variance``, ``mean_phi``, ``correlation`` {``times``, ``values``}}:
    population averages on a time grid t from a given initial distribution (not
    stationary): m(t), the variance across units K(t, t), ⟨φ(x(t))⟩, and for each reference
    time t_a = ``times[a]`` the covariance across units C(t, t_a) for the grid times
    t ≥ t_a (``values[a]``, ragged). Per population too, under ``populations``
    (:mod:`fieldtheory.simulate.transient`).

Observables are Mappings (``obs["autocorrelation"]["values"]``) and round-trip through
plain JSON types with :meth:`Observables.to_dict` / :meth:`Observables.from_dict`.
:class:`StreamingEstimator` fills them from a simulation with memory independent of its
duration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

import numpy as np

from fieldtheory.errors import ParseError

__all__ = [
    "ALL_KEYS",
    "ARRAY_KEYS",
    "CURVE_KEYS",
    "KEYS",
    "OPTIONAL_KEYS",
    "SCALAR_KEYS",
    "Curve",
    "Observables",
    "StreamingEstimator",
]

#: Scalar observables.
SCALAR_KEYS = ("mean", "variance", "mean_phi", "mean_gain", "lyapunov_max")
#: Observables sampled on a grid, with the name of their grid.
CURVE_KEYS = {"autocorrelation": "tau", "autocorrelation_phi": "tau",
              "population_spectrum": "omega", "response": "tau", "response_common": "tau",
              "population_spectrum_phi": "omega", "cross_covariance": "tau"}
#: The keys every simulation fills, in schema order.
KEYS = ("mean", "variance", "autocorrelation", "mean_phi", "autocorrelation_phi",
        "mean_gain", "population_spectrum", "populations")
#: Keys filled only on request (the tangent-map observables of the simulator; the O(1/N)
#: observables of ``solve(order="1/N")`` and ``simulate(observe=...)``).
OPTIONAL_KEYS = ("lyapunov_max", "response", "response_common", "transient", "dimension",
                 "dimension_z", "psi", "population_variance", "population_spectrum_phi",
                 "cross_covariance", "connectivity", "kernel", "kernel_cross",
                 "kernel_variance", "kernel_correction", "mean_shift")
#: Optional keys holding an array over a named axis ({axis: grid, "values": array}).
ARRAY_KEYS = {"kernel": "layers", "kernel_cross": "times", "kernel_variance": "layers"}
#: Optional keys holding a small dict of named numbers ({"pr_x", "pr_phi"}, {"x", "phi"}).
NAMED_KEYS = ("dimension", "dimension_z", "psi", "population_variance", "connectivity",
              "mean_shift")
#: Every key, in schema order: the optional ones come before ``populations``.
ALL_KEYS = (*KEYS[:-1], *OPTIONAL_KEYS, KEYS[-1])


@dataclass(frozen=True, eq=False)
class Curve(Mapping):
    """A function sampled on a grid: ``curve[axis]`` is the grid, ``curve["values"]`` the data.

    Parameters
    ----------
    axis : str
        Name of the grid, ``"tau"`` (lags) or ``"omega"`` (angular frequencies).
    grid, data : array_like
        Same length; stored as read-only float arrays.
    """

    axis: str
    grid: np.ndarray
    data: np.ndarray

    def __post_init__(self) -> None:
        grid, data = (np.array(v, dtype=float) for v in (self.grid, self.data))
        if grid.shape != data.shape or grid.ndim != 1:
            raise ParseError(f"curve over {self.axis!r}: grid {grid.shape} and values "
                             f"{data.shape} must be one-dimensional of equal length")
        for array in (grid, data):
            array.setflags(write=False)
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "data", data)

    def __getitem__(self, key: str) -> np.ndarray:
        if key == self.axis:
            return self.grid
        if key == "values":
            return self.data
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter((self.axis, "values"))

    def __len__(self) -> int:
        return 2

    def to_dict(self) -> dict[str, list[float]]:
        return {self.axis: self.grid.tolist(), "values": self.data.tolist()}

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Curve) and self.axis == other.axis
                and np.array_equal(self.grid, other.grid)
                and np.array_equal(self.data, other.data, equal_nan=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Curve({self.axis}: {self.grid.size} points)"


@dataclass(frozen=True, eq=False)
class Observables(Mapping):
    """One set of observables (or of their standard errors); see the module docstring.

    A Mapping over the keys that are present, in schema order.
    """

    mean: float | None = None
    variance: float | None = None
    autocorrelation: Curve | None = None
    mean_phi: float | None = None
    autocorrelation_phi: Curve | None = None
    mean_gain: float | None = None
    population_spectrum: Curve | None = None
    populations: Mapping[str, Observables] = field(default_factory=dict)
    lyapunov_max: float | None = None
    response: Curve | None = None
    response_common: Curve | None = None
    transient: Mapping[str, Any] | None = None
    dimension: Mapping[str, float] | None = None
    dimension_z: Mapping[str, float] | None = None
    psi: Mapping[str, float] | None = None
    population_variance: Mapping[str, float] | None = None
    population_spectrum_phi: Curve | None = None
    cross_covariance: Curve | None = None
    connectivity: Mapping[str, float] | None = None
    kernel: Mapping[str, Any] | None = None
    kernel_cross: Mapping[str, Any] | None = None
    kernel_variance: Mapping[str, Any] | None = None
    kernel_correction: Mapping[str, Any] | None = None
    mean_shift: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        if self.kernel_correction is not None:
            object.__setattr__(self, "kernel_correction",
                               _correction_entry(self.kernel_correction))
        for key, axis in ARRAY_KEYS.items():
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, _array_entry(key, axis, value))
        if self.transient is not None:
            object.__setattr__(self, "transient", _transient(self.transient))
        for key in NAMED_KEYS:
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, MappingProxyType(
                    {str(k): float(v) for k, v in value.items()}))
        for key in SCALAR_KEYS:
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, float(value))
        for key, axis in CURVE_KEYS.items():
            value = getattr(self, key)
            if value is not None and not isinstance(value, Curve):
                object.__setattr__(self, key, Curve(axis, value[axis], value["values"]))
        pops = {name: obs if isinstance(obs, Observables) else Observables.from_dict(obs)
                for name, obs in self.populations.items()}
        object.__setattr__(self, "populations", MappingProxyType(pops))

    def __getitem__(self, key: str) -> Any:
        if key not in ALL_KEYS or (key == "populations" and not self.populations) or (
                key != "populations" and getattr(self, key) is None):
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return (k for k in ALL_KEYS if k in self)

    def __contains__(self, key: object) -> bool:
        if key == "populations":
            return bool(self.populations)
        return key in ALL_KEYS and getattr(self, str(key)) is not None

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: floats, lists of floats, nested dicts."""
        out: dict[str, Any] = {}
        for key in self:
            value = self[key]
            if key == "populations":
                out[key] = {name: obs.to_dict() for name, obs in value.items()}
            elif isinstance(value, Curve):
                out[key] = value.to_dict()
            elif key == "transient":
                out[key] = _transient_to_dict(value)
            elif key in NAMED_KEYS:
                out[key] = dict(value)
            elif key in ARRAY_KEYS or key == "kernel_correction":
                out[key] = {k: None if v is None else v.tolist() for k, v in value.items()}
            else:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Observables:
        """The inverse of :meth:`to_dict`; unknown keys raise :class:`ParseError`."""
        unknown = sorted(set(data) - set(ALL_KEYS))
        if unknown:
            raise ParseError(f"unknown observable(s) {', '.join(unknown)}; the schema has "
                             f"{', '.join(ALL_KEYS)}")
        kwargs = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        return cls(**kwargs)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={self[k]!r}" for k in self if k != "populations")
        pops = f", populations={list(self.populations)}" if self.populations else ""
        return f"Observables({inner}{pops})"


def _array_entry(key: str, axis: str, value: Mapping[str, Any]) -> Mapping[str, Any]:
    """{axis: grid, "values": array} with read-only float arrays, values[k] per grid point."""
    unknown = sorted(set(value) - {axis, "values"})
    if unknown or "values" not in value or axis not in value:
        raise ParseError(f"{key} needs exactly {axis!r} and 'values', got {sorted(value)}")
    grid = np.array(value[axis], dtype=float)
    data = np.array(value["values"], dtype=float)
    if grid.ndim != 1 or data.shape[:1] != grid.shape:
        raise ParseError(f"{key}: {axis} {grid.shape} and values {data.shape} do not match")
    for array in (grid, data):
        array.setflags(write=False)
    return MappingProxyType({axis: grid, "values": data})


def _correction_entry(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """{"layers", "bias", "variance"} and optionally "bias_cross": read-only arrays
    (``bias`` may be None)."""
    if not {"layers", "bias", "variance"} <= set(value) <= {"layers", "bias", "variance",
                                                           "bias_cross"}:
        raise ParseError(f"kernel_correction needs 'layers', 'bias' and 'variance' (and "
                         f"optionally 'bias_cross'), got {sorted(value)}")
    out = {}
    for key, entry in value.items():
        if entry is None and key == "bias":
            out[key] = None
            continue
        array = np.array(entry, dtype=float)
        array.setflags(write=False)
        out[key] = array
    return MappingProxyType(out)


def _transient(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``transient`` entry with read-only float arrays (the correlations ragged)."""

    def array(values) -> np.ndarray:
        out = np.array(values, dtype=float)
        out.setflags(write=False)
        return out

    unknown = sorted(set(data) - {"t", "mean", "variance", "mean_phi", "correlation"})
    if unknown:
        raise ParseError(f"unknown transient entr(y/ies) {', '.join(unknown)}")
    out = {key: array(data[key]) for key in ("t", "mean", "variance", "mean_phi")
           if key in data}
    if "correlation" in data:
        correlation = data["correlation"]
        out["correlation"] = MappingProxyType({
            "times": array(correlation["times"]),
            "values": tuple(array(v) for v in correlation["values"])})
    return MappingProxyType(out)


def _transient_to_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: v.tolist() for k, v in data.items() if k != "correlation"}
    if "correlation" in data:
        out["correlation"] = {"times": data["correlation"]["times"].tolist(),
                              "values": [v.tolist() for v in data["correlation"]["values"]]}
    return out


class StreamingEstimator:
    r"""Streaming sums from which the observables of one field are estimated.

    Samples arrive every dτ. A ring buffer keeps the last L + 1 samples of x and φ(x)
    (L = τ_max/dτ lags); each recorded sample t adds, per trial, block and population α,

    .. math:: P_α(l) \mathrel{+}= \sum_{i∈α} x_i(t)\,x_i(t − l\,dτ),\qquad
              A_α(l) \mathrel{+}= \sum_{i∈α} x_i(t − l\,dτ),

    so that with n_l pairs at lag l and m = A(0)/(n_0 N_α)

    .. math:: Δ(l\,dτ) = P(l)/(n_l N_α) − m\,A(l)/(n_l N_α),

    which is ⟨(x_i(t) − m)(x_i(t−τ) − m)⟩ up to the difference between the window mean and
    m of the lagged samples, and equals the variance exactly at l = 0. Samples pushed before
    recording starts (the end of the burn-in) fill the ring, so every recorded sample has
    all its lags. The population spectrum is Welch's estimate: segments of ``segment``
    samples of a(t) overlapping by half, Hann-windowed, about the run's mean ā (not each
    segment's own mean, which would remove the zero frequency, where the population mode
    lives),

    .. math:: N_α S_a(ω_k) = N_α\,dτ\,\big\langle |\textstyle\sum_n w_n (a_n − ā)
              e^{−iω_k n dτ}|^2 \big\rangle_{\rm segments} \big/ \textstyle\sum_n w_n^2 ,

    streamed exactly: the raw segments' periodograms and transforms are summed and ā is
    taken out at the end, |F(w(a − ā))|² = |F(wa)|² − 2ā Re(F(wa)* F(w)) + ā²|F(w)|².

    Memory is O(T·(L + 1)·N + T·B·P·L), independent of the number of samples.

    Parameters
    ----------
    sizes : sequence of int
        Population sizes (contiguous blocks of sites).
    names : sequence of str
        Population names.
    trials : int
        T; with T ≥ 2 the standard errors are taken across trials.
    lags : int
        L ≥ 1.
    dtau : float
    samples : int
        Number of recorded samples (to place block boundaries).
    blocks : int
        B time blocks for the standard errors of a single trial (ignored for T ≥ 2).
    dtype : dtype of the ring buffers (the state's).
    """

    def __init__(self, sizes, names, *, trials: int, lags: int, dtau: float, samples: int,
                 blocks: int, dtype=np.float64) -> None:
        self.sizes, self.names = np.asarray(sizes), tuple(names)
        self.edges = np.concatenate([[0], np.cumsum(self.sizes)])
        self.trials, self.dtau = trials, float(dtau)
        self.blocks = blocks if trials == 1 else 1
        self.block_length = max(1, samples // self.blocks)
        self.segment = max(2, min(2 * lags, self.block_length) // 2 * 2)
        T, R, P, B, N = trials, lags + 1, len(self.sizes), self.blocks, int(self.sizes.sum())
        self.series = 1 + P if P > 1 else 1
        self.ring = np.zeros((2, T, R, N), dtype=dtype)
        self.ring_sums = np.zeros((2, T, R, P))
        self.lag_products = np.zeros((T, B, 2, P, R))
        self.lag_sums = np.zeros((T, B, 2, P, R))
        self.gain_sums = np.zeros((T, B, P))
        self.lag_counts = np.zeros((B, R))
        n = np.arange(self.segment)
        self.window = 0.5 - 0.5 * np.cos(2 * np.pi * n / self.segment)  # periodic Hann
        self.series_ring = np.zeros((T, self.series, self.segment))
        self.spectra = np.zeros((T, B, self.series, self.segment // 2 + 1))
        self.transforms = np.zeros((T, B, self.series, self.segment // 2 + 1), dtype=complex)
        self.series_sum = np.zeros((T, self.series))
        self.segment_counts = np.zeros(B)
        self.pushed = self.recorded = 0

    @property
    def nbytes(self) -> int:
        """Bytes held by the estimator (independent of the simulated duration)."""
        return sum(a.nbytes for a in vars(self).values() if isinstance(a, np.ndarray))

    def push(self, x: np.ndarray, phi: np.ndarray, gain: np.ndarray, record: bool) -> None:
        """Add one sample (arrays of shape (T, N)); only ``record`` samples are counted."""
        R = self.ring.shape[2]
        slot = self.pushed % R
        values = (x, phi)
        for v, array in enumerate(values):
            self.ring[v, :, slot] = array
            self.ring_sums[v, :, slot] = np.add.reduceat(array, self.edges[:-1], axis=1)
        self.pushed += 1
        if not record:
            return
        block = min(self.recorded // self.block_length, self.blocks - 1)
        order = (slot - np.arange(R)) % R  # lag l sits in slot − l
        for v, array in enumerate(values):
            for p in range(len(self.sizes)):
                sites = slice(self.edges[p], self.edges[p + 1])
                products = np.matmul(self.ring[v, :, :, sites], array[:, sites, None])
                self.lag_products[:, block, v, p] += products[:, order, 0]
            self.lag_sums[:, block, v] += self.ring_sums[v][:, order].transpose(0, 2, 1)
        self.gain_sums[:, block] += np.add.reduceat(gain, self.edges[:-1], axis=1)
        self.lag_counts[block, : min(self.pushed, R)] += 1
        self.recorded += 1
        self._push_series(self.ring_sums[0, :, slot], block)

    def _push_series(self, sums: np.ndarray, block: int) -> None:
        """Population averages into the Welch ring; a full segment every half segment."""
        averages = sums / self.sizes
        if self.series > 1:
            averages = np.concatenate([sums.sum(1, keepdims=True) / self.sizes.sum(),
                                       averages], axis=1)
        self.series_ring[:, :, (self.recorded - 1) % self.segment] = averages
        self.series_sum += averages
        hop = self.segment // 2
        if self.recorded < self.segment or (self.recorded - self.segment) % hop:
            return
        oldest = self.recorded % self.segment
        segment = np.roll(self.series_ring, -oldest, axis=2) * self.window
        transform = np.fft.rfft(segment, axis=2)
        self.spectra[:, block] += np.abs(transform) ** 2
        self.transforms[:, block] += transform
        self.segment_counts[block] += 1

    def _estimates(self, lag_products, lag_sums, gain_sums, lag_counts, spectra,
                   segment_counts, transforms) -> dict[str, dict[str, np.ndarray]]:
        """Estimates per series (``"all"`` and each population) with leading axes (T, B)."""
        out = {}
        # the run's mean of each series, taken out of the raw segments' periodograms
        run_mean = self.series_sum / max(self.recorded, 1)  # (T, series)
        window = np.fft.rfft(self.window)
        groups = [("all", slice(None), int(self.sizes.sum()))]
        if len(self.sizes) > 1:
            groups += [(name, slice(p, p + 1), int(self.sizes[p]))
                       for p, name in enumerate(self.names)]
        for s, (name, pops, size) in enumerate(groups):
            products = lag_products[:, :, :, pops].sum(3)  # (T, B, 2, R)
            sums = lag_sums[:, :, :, pops].sum(3)
            pairs = lag_counts[None, :, None, :] * size
            means = sums[..., 0] / pairs[..., 0]
            correlations = products / pairs - means[..., None] * sums / pairs
            mu = run_mean[:, s][:, None, None]
            centred = (spectra[:, :, s] - 2 * mu * np.real(np.conj(transforms[:, :, s]) * window)
                       + segment_counts[None, :, None] * mu**2 * np.abs(window) ** 2)
            spectrum = (size * self.dtau / float(np.sum(self.window**2))
                        * centred / segment_counts[None, :, None])
            out[name] = {
                "mean": means[..., 0], "variance": correlations[..., 0, 0],
                "autocorrelation": correlations[..., 0, :], "mean_phi": means[..., 1],
                "autocorrelation_phi": correlations[..., 1, :],
                "mean_gain": gain_sums[:, :, pops].sum(2) / pairs[..., 0, 0],
                "population_spectrum": spectrum,
            }
        return out

    def observables(self) -> tuple[Observables, Observables]:
        """(estimates, standard errors).

        The estimate is the trial average of each trial's whole-run estimate; its standard
        error the standard deviation across trials / √T, or, for one trial, across the B
        block estimates / √B.
        """
        blocks = (self.lag_products, self.lag_sums, self.gain_sums, self.lag_counts,
                  self.spectra, self.segment_counts, self.transforms)
        # sums over blocks: axis 1 of the (T, B, ...) sums, axis 0 of the shared counts
        whole = (self.lag_products.sum(1, keepdims=True), self.lag_sums.sum(1, keepdims=True),
                 self.gain_sums.sum(1, keepdims=True), self.lag_counts.sum(0, keepdims=True),
                 self.spectra.sum(1, keepdims=True), self.segment_counts.sum(0, keepdims=True),
                 self.transforms.sum(1, keepdims=True))
        with np.errstate(all="ignore"):
            totals = self._estimates(*whole)
            groups = self._estimates(*blocks) if self.trials == 1 else totals
            spread = self.blocks if self.trials == 1 else self.trials
            axis = 1 if self.trials == 1 else 0
            estimate = {name: {k: v.mean(axis=(0, 1)) for k, v in series.items()}
                        for name, series in totals.items()}
            error = {name: {k: v.std(axis=axis, ddof=1).mean(axis=0) / np.sqrt(spread)
                            for k, v in series.items()}
                     for name, series in groups.items()}
        return self._build(estimate), self._build(error)

    def _build(self, table: dict[str, dict[str, np.ndarray]]) -> Observables:
        lags = self.ring.shape[2]
        tau = np.arange(lags) * self.dtau
        omega = 2 * np.pi * np.fft.rfftfreq(self.segment, self.dtau)

        def one(values: dict[str, np.ndarray]) -> Observables:
            return Observables(
                # variance is the lag-0 autocorrelation, bit for bit
                mean=values["mean"], variance=values["autocorrelation"][0],
                autocorrelation=Curve("tau", tau, values["autocorrelation"]),
                mean_phi=values["mean_phi"],
                autocorrelation_phi=Curve("tau", tau, values["autocorrelation_phi"]),
                mean_gain=values["mean_gain"],
                population_spectrum=Curve("omega", omega, values["population_spectrum"]),
            )

        populations = {name: one(v) for name, v in table.items() if name != "all"}
        top = one(table["all"])
        return Observables(**{k: getattr(top, k) for k in KEYS if k != "populations"},
                           populations=populations)
