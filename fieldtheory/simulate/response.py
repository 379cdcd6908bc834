r"""The linear response of a simulated network, from kicked tangent vectors.

A δ-pulse input ε σ_i δ(t − t0) to every unit shifts the state by ε σ; the twin trajectory
(same couplings, same noise) differs by ε δx(t) with δx the tangent vector started at
δx(t0) = σ. So the exact linear response of the simulated scheme — without a finite ε — is

.. math:: R(τ) = \Big\langle \frac{1}{N} \sum_i σ_i\, δx_i(t_0 + τ) \Big\rangle_{t_0},

averaged over kick times t0 in the recorded window (one kick every τ_max, each followed for
τ_max). With independent random signs σ_i = ±1 the cross terms average out and R is the
unit-averaged *self* response ⟨δx_i(t+τ)/δI_i(t)⟩ (for iid couplings and a linear leak it
is the leak propagator e^{−τ} up to O(1/N)); with σ_i = 1 (``response_common``) it is the
response of the population mean to a common input, which sees the network (J0 ≠ 0). The
kick goes into the first field; R(0) = 1.

Standard errors: the spread of the per-trial averages across trials, or, for one trial, of
the averages over ``blocks`` groups of consecutive kicks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fieldtheory.errors import ParameterError

__all__ = ["ResponseEstimator"]


class ResponseEstimator:
    """Kicks one tangent column and accumulates R(l dτ), l = 0 … L.

    Parameters
    ----------
    vector : ndarray, shape (T, K, N)
        The response column of the tangent array (a view, overwritten at each kick).
    rngs : sequence of Generator, or None
        One per trial for random signs; ``None`` kicks all units with +1.
    lags, samples, blocks : int
        L, the number of recorded samples, and the groups of kicks for one trial's
        standard error (1 when trials ≥ 2).
    """

    def __init__(self, vector: np.ndarray, rngs: Sequence[np.random.Generator] | None, *,
                 lags: int, samples: int, blocks: int) -> None:
        self.vector, self.rngs, self.lags = vector, rngs, lags
        T = vector.shape[0]
        self.kicks = (samples - 1) // lags
        least = 2 if blocks > 1 else 1
        if self.kicks < least:
            raise ParameterError(
                f"the response needs at least {least} kick(s), each followed for tau_max "
                f"({lags} samples): t_max holds {samples} samples; lengthen t_max or "
                f"shorten tau_max")
        self.groups = min(blocks, self.kicks)
        self.sums = np.zeros((T, self.groups, lags + 1))
        self.counts = np.zeros(self.groups)
        self.current = np.zeros((T, lags + 1))
        self.signs = np.ones(vector.shape[::2], dtype=vector.dtype)  # (T, N)
        self.start: int | None = None
        self.done = 0

    def _kick(self, index: int) -> None:
        if self.rngs is not None:
            for t, rng in enumerate(self.rngs):
                self.signs[t] = 2 * rng.integers(0, 2, self.signs.shape[1]) - 1
        self.vector[...] = 0
        self.vector[:, 0] = self.signs
        self.current[:, 0] = 1.0
        self.start = index

    def sample(self, index: int) -> None:
        """Read the live kick at recorded sample ``index``; start the next when it ends."""
        if self.start is not None:
            lag = index - self.start
            self.current[:, lag] = np.mean(self.signs * self.vector[:, 0], axis=1)
            if lag == self.lags:
                group = self.done * self.groups // self.kicks
                self.sums[:, group] += self.current
                self.counts[group] += 1
                self.done += 1
                self.start = None
        if self.start is None and self.done < self.kicks:
            self._kick(index)

    def estimate(self) -> tuple[np.ndarray, np.ndarray]:
        """(R(l dτ), standard errors), each of shape (L + 1,)."""
        T = self.sums.shape[0]
        per_trial = self.sums.sum(1) / self.counts.sum()
        if T > 1:
            return per_trial.mean(0), per_trial.std(0, ddof=1) / np.sqrt(T)
        per_group = self.sums[0] / self.counts[:, None]
        return per_trial[0], per_group.std(0, ddof=1) / np.sqrt(self.groups)
