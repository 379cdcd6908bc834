r"""Transient observables: population averages on the sampling grid, from a given start.

``simulate(..., observe=("transient",))`` records, at the sampling times
t_k = t_burn + k·dτ (k = 0, …, t_max/dτ; run time, t = 0 at the initial condition, so with
``t_burn = 0`` the first point is x(0) itself), averages across the units i of a population
of size n (the whole network, and each population when there are several):

.. math:: m(t) = \frac1n\sum_i x_i(t),\qquad
          K(t, t) = \frac1n\sum_i x_i(t)^2 - m(t)^2,\qquad
          m_\varphi(t) = \frac1n\sum_i \varphi(x_i(t)),

.. math:: C(t, t_a) = \frac1n\sum_i x_i(t)\,x_i(t_a) - m(t)\,m(t_a)\quad (t \ge t_a),

each computed within one trial and then averaged over trials. K(t, t) is the variance
across units (the equal-time K of the two-time DMFT), C the covariance across units at two
times, for reference times t_a on the sampling grid. The 1/n normalisation is that of the
stationary ``variance``; its expectation is (1 − 1/n) times the unbiased one for
independent units.

Standard errors: the spread across trials / √T; for a single trial, across ``groups``
contiguous groups of units per population / √groups — which misses fluctuations common to
all units (O(1/n) per unit, but amplified near an instability): prefer trials ≥ 2.

Memory: O(T·P·groups·K) sums plus one copy of the state per reference time.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import numpy as np

from fieldtheory.errors import ParameterError

__all__ = ["TransientEstimator", "reference_indices"]

#: Default reference times t_a, as fractions of the recorded window.
DEFAULT_FRACTIONS = (0.0, 0.25, 0.5)


def reference_indices(
    times: Sequence[float] | None, *, t_start: float, dtau: float, samples: int
) -> tuple[int, ...]:
    """Grid indices k_a of the reference times t_a = t_start + k_a·dτ (sorted, unique).

    ``None`` gives the start of the window and its quarter and half. Explicit times must
    lie on the sampling grid within the window, else :class:`ParameterError` names them.
    """
    if times is None:
        return tuple(sorted({round(f * samples) for f in DEFAULT_FRACTIONS}))
    out = set()
    for t in np.atleast_1d(np.asarray(times, dtype=float)):
        k = round((t - t_start) / dtau)
        if (
            not np.isfinite(t)
            or abs(t - (t_start + k * dtau)) > 1e-9 * max(1.0, abs(t))
            or (not 0 <= k <= samples)
        ):
            raise ParameterError(
                f"transient reference time {t:g} is not on the sampling grid "
                f"{t_start:g} + k·{dtau:g}, k = 0 … {samples}"
            )
        out.add(k)
    if not out:
        raise ParameterError("transient_times is empty; give at least one reference time")
    return tuple(sorted(out))


class TransientEstimator:
    """Sums over units, per trial, cell and sample, from which the transient is read off.

    A cell is one of ``groups`` contiguous groups of sites of one population (one group per
    population when ``trials ≥ 2``).

    Parameters
    ----------
    sizes, names : sequences
        Population sizes (contiguous blocks of sites) and names.
    trials : int
    samples : int
        K: samples k = 0 … K are pushed.
    t_start, dtau : float
        t_k = t_start + k·dτ.
    references : sequence of int
        Grid indices of the reference times t_a.
    groups : int
        Groups of units per population for the errors of a single trial.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        names: Sequence[str],
        *,
        trials: int,
        samples: int,
        t_start: float,
        dtau: float,
        references: Sequence[int],
        groups: int,
    ) -> None:
        self.sizes, self.names = np.asarray(sizes, dtype=int), tuple(names)
        self.trials, self.groups = trials, (1 if trials > 1 else groups)
        self.times = t_start + np.arange(samples + 1) * dtau
        self.references = tuple(references)
        starts = np.concatenate([[0], np.cumsum(self.sizes)])
        cells = []
        for p, size in enumerate(self.sizes):
            if size < self.groups:
                raise ParameterError(
                    f"population {self.names[p]} has {size} units, fewer than the "
                    f"{self.groups} groups the transient's errors of one trial need "
                    "(use trials ≥ 2 or fewer blocks)"
                )
            cuts = starts[p] + np.linspace(0, size, self.groups + 1).round().astype(int)
            cells.extend(cuts[:-1])
        self.cell_starts = np.array(cells)
        ends = np.append(self.cell_starts[1:], starts[-1])
        self.cell_sizes = (ends - self.cell_starts).reshape(len(self.sizes), self.groups)
        T, C, K = trials, len(cells), samples + 1
        self.sums = np.zeros((3, T, C, K))  # Σx, Σx², Σφ
        self.cross = [np.zeros((T, C, K - k)) for k in self.references]
        self.saved: dict[int, np.ndarray] = {}

    def _reduce(self, values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, self.cell_starts, axis=1)

    def push(self, x: np.ndarray, phi: np.ndarray, k: int) -> None:
        """Sample k of x and φ(x) (arrays of shape (T, N))."""
        x = np.asarray(x, dtype=float)
        self.sums[0, :, :, k] = self._reduce(x)
        self.sums[1, :, :, k] = self._reduce(x * x)
        self.sums[2, :, :, k] = self._reduce(np.asarray(phi, dtype=float))
        for a, k_a in enumerate(self.references):
            if k == k_a:
                self.saved[a] = x.copy()
            if k >= k_a:
                self.cross[a][:, :, k - k_a] = self._reduce(x * self.saved[a])

    def _series(self, cells: slice, merged: bool) -> dict[str, object]:
        """Per-trial estimates for the populations ``cells``: axes (T, G, K) per group of
        units, or (T, K) with the groups ``merged``."""
        P, G = len(self.sizes), self.groups

        def fold(a: np.ndarray) -> np.ndarray:  # (T, C, K) → (T, G, K), summed over P
            a = a.reshape(a.shape[0], P, G, -1)[:, cells].sum(1)
            return a.sum(1) if merged else a

        n = self.cell_sizes[cells].sum(0)
        n = n.sum() if merged else n[None, :, None]
        s1, s2, sphi = (fold(s) / n for s in self.sums)
        return {
            "mean": s1,
            "variance": s2 - s1**2,
            "mean_phi": sphi,
            "correlation": [
                fold(c) / n - s1[..., k:] * s1[..., k : k + 1]
                for c, k in zip(self.cross, self.references, strict=True)
            ],
        }

    def _combine(self, per_trial: dict, reduce) -> dict:
        out = {key: reduce(value) for key, value in per_trial.items() if key != "correlation"}
        out["correlation"] = [reduce(v) for v in per_trial["correlation"]]
        return out

    def _build(self, table: dict) -> MappingProxyType:
        def frozen(a):
            a = np.array(a, dtype=float)
            a.setflags(write=False)
            return a

        return MappingProxyType(
            {
                "t": frozen(self.times),
                "mean": frozen(table["mean"]),
                "variance": frozen(table["variance"]),
                "mean_phi": frozen(table["mean_phi"]),
                "correlation": MappingProxyType(
                    {
                        "times": frozen(self.times[list(self.references)]),
                        "values": tuple(frozen(v) for v in table["correlation"]),
                    }
                ),
            }
        )

    def estimate(self) -> dict[str, tuple[MappingProxyType, MappingProxyType]]:
        """{series: (estimate, standard error)}, series ``"all"`` and each population."""
        P = len(self.sizes)
        series = [("all", slice(None))]
        if P > 1:
            series += [(name, slice(p, p + 1)) for p, name in enumerate(self.names)]
        out = {}
        for name, cells in series:
            whole = self._series(cells, merged=True)  # (T, K)
            value = self._combine(whole, lambda a: a.mean(0))
            if self.trials > 1:
                error = self._combine(whole, lambda a: a.std(0, ddof=1) / np.sqrt(self.trials))
            else:
                groups = self._series(cells, merged=False)  # (1, G, K)
                error = self._combine(groups, lambda a: a[0].std(0, ddof=1) / np.sqrt(self.groups))
            out[name] = (self._build(value), self._build(error))
        return out
