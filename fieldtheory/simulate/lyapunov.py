r"""The Lyapunov exponents of a simulated network by Benettin's method.

k tangent vectors, stepped with the trajectory by the exact derivative of the integrator
(:class:`~fieldtheory.simulate.tangent.TangentStepper`), are re-orthonormalised every dτ by
a QR decomposition V = Q R; the logarithms of |R_jj| accumulated over the recorded window,
divided by its duration, are the k leading exponents (Benettin, Galgani, Giorgilli &
Strelcyn, Meccanica 15, 9 (1980)):

.. math:: λ_j = \frac{1}{t_{\max}} \sum_{\text{samples}} \log |R_{jj}|,

per unit of model time (for a map, per physical time n·step). With several fields the norm
and the QR run over all of them (the whole state's tangent). The vectors start at t = 0,
so the burn-in aligns them with the leading Lyapunov vectors (the misalignment decays
like e^{−(λ_1 − λ_2) t_burn}). With noise the exponents are those of the noise-driven flow
along the actual noisy path.

Standard errors: the spread of the per-trial exponents across trials, or, for one trial,
of the exponents of ``blocks`` time blocks (the same blocks as the other observables).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["LyapunovEstimator"]


class LyapunovEstimator:
    """Benettin's accumulator on a view of the tangent array.

    Parameters
    ----------
    vectors : ndarray, shape (T, K, N, k)
        The Lyapunov columns of the tangent array (a view: renormalised in place).
    rngs : sequence of Generator
        One per trial, for the random initial vectors.
    dtau : float
        Time between renormalisations (the sampling interval).
    samples, blocks : int
        Recorded samples and the number of time blocks (1 when trials ≥ 2).
    """

    def __init__(self, vectors: np.ndarray, rngs: Sequence[np.random.Generator], *,
                 dtau: float, samples: int, blocks: int) -> None:
        self.vectors, self.dtau = vectors, float(dtau)
        T, k = vectors.shape[0], vectors.shape[-1]
        for t, rng in enumerate(rngs):
            vectors[t] = rng.standard_normal(vectors.shape[1:])
        self.renormalise()
        self.blocks = blocks
        self.block_length = max(1, samples // blocks)
        self.log_growth = np.zeros((T, blocks, k))
        self.counts = np.zeros(blocks)

    def renormalise(self) -> np.ndarray:
        """Orthonormalise each trial's vectors (QR); return log|R_jj|, shape (T, k)."""
        T, k = self.vectors.shape[0], self.vectors.shape[-1]
        matrix = self.vectors.reshape(T, -1, k).astype(np.float64)
        q, r = np.linalg.qr(matrix)
        diagonal = np.diagonal(r, axis1=1, axis2=2)
        # positive diagonal: the vectors keep their orientation
        q *= np.where(diagonal < 0, -1.0, 1.0)[:, None, :]
        self.vectors[...] = q.reshape(self.vectors.shape)
        with np.errstate(divide="ignore"):
            return np.log(np.abs(diagonal))

    def sample(self, index: int) -> None:
        """Renormalise after recorded sample ``index`` and count its growth."""
        block = min(index // self.block_length, self.blocks - 1)
        self.log_growth[:, block] += self.renormalise()
        self.counts[block] += 1

    def exponents(self) -> tuple[np.ndarray, np.ndarray]:
        """(λ_1 … λ_k, standard errors), each of shape (k,)."""
        T = self.log_growth.shape[0]
        per_trial = self.log_growth.sum(1) / (self.counts.sum() * self.dtau)
        estimate = per_trial.mean(0)
        if T > 1:
            spread = per_trial.std(0, ddof=1) / np.sqrt(T)
        else:
            per_block = self.log_growth[0] / (self.counts[:, None] * self.dtau)
            spread = per_block.std(0, ddof=1) / np.sqrt(self.blocks)
        return estimate, spread

    def estimate(self) -> tuple[float, float]:
        """(λ_max, standard error)."""
        estimate, spread = self.exponents()
        return float(estimate[0]), float(spread[0])
