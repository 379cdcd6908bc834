r"""Streaming estimates of the O(1/N) observables of a simulation (issue 12, item 5).

``simulate(..., observe=("dimension", "population_variance", "population_spectrum",
"cross_covariance"))`` adds, for x and for φ(x), with standard errors and with memory
independent of the simulated duration:

``dimension``, ``dimension_z`` {``pr_x``, ``pr_phi``} and ``psi`` {``x``, ``phi``}
    The participation ratio PR/N = (tr C)²/(N tr C²) of the equal-time covariance by the
    *cross-block* estimator (tr C̄)²/(N · mean_{a≠b} tr(C_a C_b)) over the run's B time
    blocks: the sampling noise of different blocks is independent, so the N²τ_c/T bias of
    the naive tr(Ĉ²) is absent. Only blocks that are not neighbours are paired (neighbours
    share the noise near their common edge), every block is centred on its own mean (a
    mean shared by all blocks — the run's — leaves a shared error that adds
    ≈ N²(τ_c/T)² to tr(C_a C_b), a bias ∝ N/T² of PR/N), and what the block means take
    away, E C_b = C − Σ*/n_b (Σ* the zero-frequency spectrum), is added back from the
    spread of the block means, every product again between independent blocks: the
    residual bias is O((τ_c/T_block)²) and not N-enhanced (see ``_dimension``). Needs
    at least 5 blocks. Each block's second moments are kept, in float32, until the run
    ends: B N × N matrices per observed field and trial (guarded by the memory limit),
    independent of the run's duration.
    ψ(0,0) = N·mean_{i≠j}C_ij(0)² = mean_{a≠b} Σ_{i≠j}C_a,ij C_b,ij/(N − 1). Standard
    errors by the delete-one-block jackknife (one trial) or across trials. Where units
    have quenched gains the φ of these two is the output Φ_i = G_i φ(x_i) (the other φ
    observables keep the unit's own φ). ``dimension_z``: the same PR of the z-scored
    units, C_z = D^{−1/2} C D^{−1/2} with D the diagonal of the run-mean covariance C̄
    (tr C̄_z = N), by the same cross-block estimator N/mean_{a≠b} tr(C_a,z C_b,z) and
    the same errors (each jackknife replicate takes D from its own blocks).
``population_variance`` {``x``, ``phi``}
    N·Var of the population averages about the run's mean.
``population_spectrum``, ``population_spectrum_phi``
    N·S(ω) of the population averages: Welch's estimate over segments of ``segment``
    samples (half-overlapping, Hann window) about the *run's* mean — never per-segment
    means, which would remove the zero frequency (the population mode's critical slowing
    is at ω = 0): the periodograms of the raw segments and their transforms are summed,
    and the mean is taken out at the end exactly.
``cross_covariance``
    N·mean_{i≠j}C_ij(τ) of x = [N² Cov(m(t+τ), m(t)) − Σ_i C_ii(τ)]/(N − 1), from the lag
    products of the population average and the units' autocorrelation.

Standard errors: across trials when there are several, else across the block pairs
(dimension, psi) or the blocks (the rest). With several populations each is also given
per population (its sub-covariance, normalised by N_α).
"""

from __future__ import annotations

import numpy as np

from fieldtheory.errors import ParameterError

__all__ = ["COLLECTIVE", "CollectiveEstimator"]

#: Observables of this module (names as in the JSON).
COLLECTIVE = ("dimension", "dimension_z", "psi", "population_variance",
              "population_spectrum", "population_spectrum_phi", "cross_covariance")

#: Samples buffered before one covariance update (a matrix product).
BATCH = 64


class CollectiveEstimator:
    """Streaming sums for the O(1/N) observables; see the module docstring.

    ``series`` are the network and, with several populations, each population; x and φ
    are the two observed fields (index 0 and 1).
    """

    def __init__(self, sizes, names, *, trials: int, samples: int, blocks: int, lags: int,
                 dtau: float, segment: int, dimension: bool,
                 dimension_z: bool = False) -> None:
        self.sizes = np.asarray(sizes, dtype=int)
        self.names = tuple(names)
        self.edges = np.concatenate([[0], np.cumsum(self.sizes)])
        self.trials, self.dtau = trials, float(dtau)
        self.blocks = max(2, blocks)
        self.dimension = dimension or dimension_z
        # the z-scored PR costs (B + 1) passes over the block pairs: only on request
        self.dimension_z = dimension_z
        if self.dimension and self.blocks < 5:
            raise ParameterError(f"observe dimension: blocks = {blocks}; the cross-block "
                                 "estimator pairs blocks that are not neighbours, with a "
                                 "third block apart from both, and its jackknife deletes "
                                 "one: at least 5 time blocks are needed")
        if self.dimension and samples < 4 * self.blocks:
            raise ParameterError(f"observe dimension: {samples} recorded samples cannot fill "
                                 f"{self.blocks} time blocks")
        self.block_length = max(1, samples // self.blocks)
        T, N, P = trials, int(self.sizes.sum()), len(self.sizes)
        self.groups = [("all", slice(0, N))]
        if P > 1:
            self.groups += [(name, slice(self.edges[p], self.edges[p + 1]))
                            for p, name in enumerate(self.names)]
        G = len(self.groups)
        if self.dimension:
            self.current = np.zeros((2, T, N, N))
            self.current_sum = np.zeros((2, T, N))
            self.moments = np.zeros((self.blocks, 2, T, N, N), dtype=np.float32)
            self.block_means = np.zeros((self.blocks, 2, T, N))
            self.block_counts = np.zeros(self.blocks)
            self.buffer = np.zeros((2, T, N, BATCH))
            self.buffered = 0
            self.in_block = 0
            self.block = 0
        # population averages: per series, field; running sums per block
        self.sum_m = np.zeros((T, self.blocks, G, 2))
        self.sum_mm = np.zeros((T, self.blocks, G, 2))
        self.count = np.zeros(self.blocks)
        self.lags = lags
        self.m_ring = np.zeros((T, G, lags + 1))
        self.lag_products = np.zeros((T, self.blocks, G, lags + 1))
        self.lag_sums = np.zeros((T, self.blocks, G, lags + 1))
        self.lag_counts = np.zeros((self.blocks, lags + 1))
        self.segment = max(4, int(segment) // 2 * 2)
        n = np.arange(self.segment)
        self.window = 0.5 - 0.5 * np.cos(2 * np.pi * n / self.segment)
        self.series_ring = np.zeros((T, G, 2, self.segment))
        bins = self.segment // 2 + 1
        self.periodograms = np.zeros((T, self.blocks, G, 2, bins))
        self.transforms = np.zeros((T, self.blocks, G, 2, bins), dtype=complex)
        self.segment_counts = np.zeros(self.blocks)
        self.recorded = 0

    @property
    def nbytes(self) -> int:
        """Bytes held (independent of the simulated duration)."""
        return sum(a.nbytes for a in vars(self).values() if isinstance(a, np.ndarray))

    # ------------------------------------------------------------------ streaming

    def push(self, x: np.ndarray, phi: np.ndarray, output: np.ndarray | None = None) -> None:
        """One recorded sample: x and φ(x) of shape (T, N); ``output`` Φ = G φ(x) where
        units have quenched gains (the covariances of ``dimension``, ``psi`` and
        ``dimension_z`` take it in place of φ)."""
        block = min(self.recorded // self.block_length, self.blocks - 1)
        fields = np.stack([x, phi]).astype(float)  # (2, T, N)
        means = np.stack([fields[:, :, s].mean(axis=2) for _, s in self.groups],
                         axis=-1)  # (2, T, G)
        m = means.transpose(1, 2, 0)  # (T, G, 2)
        self.sum_m[:, block] += m
        self.sum_mm[:, block] += m * m
        self.count[block] += 1
        # lag products of the population average of x
        R = self.lags + 1
        slot = self.recorded % R
        self.m_ring[:, :, slot] = m[:, :, 0]
        order = (slot - np.arange(R)) % R
        filled = min(self.recorded + 1, R)
        ring = self.m_ring[:, :, order]
        ring[:, :, filled:] = 0.0
        self.lag_products[:, block] += m[:, :, :1] * ring
        self.lag_sums[:, block] += ring
        self.lag_counts[block, :filled] += 1
        self._push_series(m, block)
        if self.dimension:
            if output is not None and output is not phi:
                fields = np.stack([x, output]).astype(float)
            self._push_covariance(fields, block)
        self.recorded += 1

    def _push_series(self, m: np.ndarray, block: int) -> None:
        k = self.recorded % self.segment
        self.series_ring[:, :, :, k] = m
        hop = self.segment // 2
        done = self.recorded + 1
        if done < self.segment or (done - self.segment) % hop:
            return
        segment = np.roll(self.series_ring, -(done % self.segment), axis=3) * self.window
        transform = np.fft.rfft(segment, axis=3)
        self.periodograms[:, block] += np.abs(transform) ** 2
        self.transforms[:, block] += transform
        self.segment_counts[block] += 1

    def _push_covariance(self, fields: np.ndarray, block: int) -> None:
        if block != self.block:  # the sample opens a new block: close the old one
            self._flush()
            self._close_block()
            self.block = block
        self.buffer[:, :, :, self.buffered] = fields
        self.buffered += 1
        self.current_sum += fields
        self.in_block += 1
        if self.buffered == BATCH:
            self._flush()

    def _flush(self) -> None:
        if self.buffered:
            b = self.buffer[:, :, :, : self.buffered]
            self.current += np.matmul(b, b.transpose(0, 1, 3, 2))
            self.buffered = 0

    def _close_block(self) -> None:
        """Keep the block's second moments A_b = Σ x xᵀ/n and mean m_b."""
        n = max(self.in_block, 1)
        self.moments[self.block] = self.current / n
        self.block_means[self.block] = self.current_sum / n
        self.block_counts[self.block] = self.in_block
        self.current[...] = 0.0
        self.current_sum[...] = 0.0
        self.in_block = 0

    def finish(self) -> None:
        """Close the last block (call once, after the last sample)."""
        if self.dimension and self.in_block:
            self._flush()
            self._close_block()

    # ------------------------------------------------------------------ estimates

    def estimates(self, unit_autocorrelation: dict[str, np.ndarray]) -> tuple[dict, dict]:
        """({series: observables}, {series: standard errors}); ``unit_autocorrelation``
        per series is the units' mean autocorrelation of x on the lags (for the
        cross-covariance)."""
        values, errors = {}, {}
        for g, (name, s) in enumerate(self.groups):
            size = s.stop - s.start
            value, error = self._population(g, size, unit_autocorrelation[name])
            if self.dimension:
                v, e = self._dimension(g, size)
                value.update(v)
                error.update(e)
            values[name], errors[name] = value, error
        return values, errors

    def _spread(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, standard error) over axis 0 (independent estimates)."""
        k = samples.shape[0]
        mean = samples.mean(axis=0)
        error = samples.std(axis=0, ddof=1) / np.sqrt(k) if k > 1 else np.zeros_like(mean)
        return mean, error

    def _units(self, per_trial_block: np.ndarray) -> np.ndarray:
        """Independent units for errors: trials when several, else blocks."""
        if self.trials > 1:
            return per_trial_block.mean(axis=1)
        return per_trial_block[0]

    def _population(self, g: int, size: int, autocorrelation: np.ndarray):
        counts = self.count[None, :, None]
        total = self.count.sum()
        mean = self.sum_m[:, :, g].sum(axis=1) / total  # (T, 2)
        # per (trial, block): N·Var about the run's mean
        block_var = (self.sum_mm[:, :, g] / counts - 2 * mean[:, None] * self.sum_m[:, :, g]
                     / counts + mean[:, None] ** 2) * size
        whole = (self.sum_mm[:, :, g].sum(1) / total - mean**2) * size  # (T, 2)
        variance, variance_error = whole.mean(0), self._spread(self._units(block_var))[1]
        # spectrum about the run's mean: Σ|F(w(a − μ))|² = Σ|F|² − 2μ Re(F̄ W) + n μ² |W|²
        window_transform = np.fft.rfft(self.window)
        norm = size * self.dtau / float(np.sum(self.window**2))

        def spectra(periodograms, transforms, n, mu):
            corrected = (periodograms - 2 * mu[..., None] * np.real(
                np.conj(transforms) * window_transform) + n * mu[..., None] ** 2
                * np.abs(window_transform) ** 2)
            return norm * corrected / np.maximum(n, 1)

        n_all = self.segment_counts.sum()
        whole_spectrum = spectra(self.periodograms[:, :, g].sum(1),
                                 self.transforms[:, :, g].sum(1), n_all, mean)  # (T, 2, K)
        per_block = spectra(self.periodograms[:, :, g], self.transforms[:, :, g],
                            self.segment_counts[None, :, None, None], mean[:, None])
        spectrum_error = self._spread(self._units(per_block[:, self.segment_counts > 0]))[1]
        omega = 2 * np.pi * np.fft.rfftfreq(self.segment, self.dtau)
        # cross-covariance: N² Cov(m(t+τ), m(t)) about the run's mean, minus Σ_i C_ii(τ)
        pairs = self.lag_counts.sum(0)
        mu_x = mean[:, 0][:, None]
        cov = (self.lag_products[:, :, g].sum(1) / pairs
               - mu_x * self.lag_sums[:, :, g].sum(1) / pairs)  # (T, R)
        cross = (size * size * cov - size * autocorrelation[None]) / max(size - 1, 1)
        # blocks holding every lag (a short run's first block may not)
        full = self.lag_counts.min(axis=1) > 0
        counts = self.lag_counts[full][None]
        block_cov = (self.lag_products[:, full, g] / counts
                     - mu_x[:, None] * self.lag_sums[:, full, g] / counts)
        block_cross = (size * size * block_cov - size * autocorrelation[None, None]) / max(
            size - 1, 1)
        value = {
            "population_variance": {"x": variance[0], "phi": variance[1]},
            "population_spectrum": {"omega": omega, "values": whole_spectrum.mean(0)[0]},
            "population_spectrum_phi": {"omega": omega, "values": whole_spectrum.mean(0)[1]},
            "cross_covariance": {"tau": np.arange(self.lags + 1) * self.dtau,
                                 "values": cross.mean(0)},
        }
        error = {
            "population_variance": {"x": variance_error[0], "phi": variance_error[1]},
            "population_spectrum": {"omega": omega, "values": spectrum_error[0]},
            "population_spectrum_phi": {"omega": omega, "values": spectrum_error[1]},
            "cross_covariance": {"tau": np.arange(self.lags + 1) * self.dtau,
                                 "values": self._spread(self._units(block_cross))[1]},
        }
        return value, error

    def _block_products(self, s: slice):
        """Per block b, centred on its own mean: K_b, tr K_b, diag K_b; and per
        non-adjacent pair (|a − b| ≥ 2) tr(K_a K_b) and Σ_{i≠j} K_a,ij K_b,ij."""
        B = self.blocks
        means = self.block_means[..., s]
        covariances = []
        for b in range(B):
            a = self.moments[b][..., s, s].astype(float)
            covariances.append(a - means[b][..., :, None] * means[b][..., None, :])
        traces = np.stack([np.einsum("vtii->vt", c) for c in covariances])
        diagonals = np.stack([np.einsum("vtii->vti", c) for c in covariances])
        products = np.full((B, B, *traces.shape[1:]), np.nan)
        off = np.full_like(products, np.nan)
        for a in range(B):
            for b in range(a + 2, B):
                full = np.einsum("vtij,vtij->vt", covariances[a], covariances[b])
                diagonal = np.einsum("vti,vti->vt", diagonals[a], diagonals[b])
                products[a, b] = products[b, a] = full
                off[a, b] = off[b, a] = full - diagonal
        return means, covariances, traces, diagonals, products, off

    def _dimension(self, g: int, size: int):
        r"""PR/N, ψ and PR_z/N by the cross-block estimator with blocks centred on their
        own means, separated pairs only, and the blocks' mean error added back.

        A block of n samples centred on its own mean has E K_b = C − Σ*/n + O(n⁻²), with
        Σ* = lim n Cov(block mean) (the zero-frequency spectrum), so that
        tr C = E tr K_b + tr Σ*/n and tr C² = E tr(K_a K_b) + tr(CΣ*)(1/n_a + 1/n_b)
        − tr Σ*²/(n_a n_b) for independent blocks a, b, up to O((τ_c/T_block)²) (exact
        for equal blocks if Σ*/n is read as the blocks' Cov(mean)). Σ* is estimated from
        the differences of block means, (m_a − m_b)(m_a − m_b)ᵀ/(1/n_a + 1/n_b), tr(CΣ*)
        from tr(K_c Σ*) = tr(CΣ*) − tr Σ*²/n_c with K_c of a third block c separated from
        a and b, and tr Σ*² from products of two disjoint pairs' differences — every
        product of sample moments is taken between blocks with independent noise. Two
        blocks are separated when they are not neighbours: neighbours share the noise near
        their common edge, which adds ≈ N²(τ_c/T_block)² to tr(K_a K_b) (a mean shared by
        all blocks does the same: the reason blocks are not centred on the run's mean).
        """
        _, s = self.groups[g]
        B = self.blocks
        means, covariances, traces, diagonals, products, off = self._block_products(s)
        counts = self.block_counts
        index = np.arange(B)
        separated = np.abs(index[:, None] - index[None, :]) >= 2
        # quadratic forms H[c, a, b] = m_aᵀ K_c m_b (and their diagonal part)
        forms = np.stack([_forms(means, c) for c in covariances])
        diagonal_forms = np.einsum("cvti,avti,bvti->cabvt", diagonals, means, means)

        def quadratic(h: np.ndarray, c, a, b) -> np.ndarray:
            """(m_a − m_b)ᵀ K_c (m_a − m_b)/(1/n_a + 1/n_b), averaged over the triples."""
            value = h[c, a, a] - 2 * h[c, a, b] + h[c, b, b]
            return (value / (1.0 / counts[a] + 1.0 / counts[b])[:, None, None]).mean(0)

        def triples(keep: np.ndarray):
            kept = np.flatnonzero(keep)
            found = [(c, a, b) for c in kept for a in kept for b in kept
                     if a < b and separated[c, a] and separated[c, b]]
            return tuple(np.array(v) for v in zip(*found, strict=True))

        def squared(differences, weight, a_idx, b_idx):
            """(tr Σ̂*², Σ_i Σ̂*_ii²) from products of disjoint pairs' mean differences."""
            gram = np.einsum("pvti,qvti->pqvt", differences, differences)
            diag = np.einsum("pvti,qvti->pqvt", differences**2, differences**2)
            disjoint = ((a_idx[:, None] != a_idx[None]) & (a_idx[:, None] != b_idx[None])
                        & (b_idx[:, None] != a_idx[None]) & (b_idx[:, None] != b_idx[None]))
            w = (weight[:, None] * weight[None])[disjoint][:, None, None]
            return (w * gram[disjoint] ** 2).mean(0), (w * diag[disjoint]).mean(0)

        def estimate(keep: np.ndarray):
            """(PR/N, ψ, PR_z/N) from the blocks in ``keep``, per field and trial."""
            kept = np.flatnonzero(keep)
            n = counts[kept]
            w = n / n.sum()
            n_mean = n.sum() / len(kept)
            pair = np.triu(np.outer(keep, keep) & separated)
            a_idx, b_idx = np.nonzero(pair)
            weight = 1.0 / (1.0 / counts[a_idx] + 1.0 / counts[b_idx])
            differences = means[a_idx] - means[b_idx]  # (pairs, 2, T, n)
            star_diag = (weight[:, None, None, None] * differences**2).mean(0)  # diag Σ̂*
            c3, a3, b3 = triples(keep)
            q_k = quadratic(forms, c3, a3, b3)  # tr(K_c Σ*) = tr(CΣ*) − tr Σ*²/n_c
            q_diag = quadratic(diagonal_forms, c3, a3, b3)
            s2, s2_diag = squared(differences, weight, a_idx, b_idx)  # tr Σ*², diagonal
            # E tr(K_a K_b) = tr C² − tr(CΣ*)(1/n_a + 1/n_b) + tr Σ*²/(n_a n_b)
            inverse = float(np.mean(1.0 / counts[a_idx] + 1.0 / counts[b_idx]))
            second = inverse * float(np.mean(1.0 / counts[c3])) - float(
                np.mean(1.0 / (counts[a_idx] * counts[b_idx])))
            trace = (np.einsum("b,bvt->vt", w, traces[kept])
                     + star_diag.sum(-1) / n_mean) / size
            square = (products[a_idx, b_idx].mean(axis=0) + q_k * inverse + s2 * second) / size
            psi = (off[a_idx, b_idx].mean(axis=0) + (q_k - q_diag) * inverse
                   + (s2 - s2_diag) * second) / max(size - 1, 1)
            if not self.dimension_z:
                return trace**2 / square, psi, np.full_like(psi, np.nan)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = 1.0 / (np.einsum("b,bvti->vti", w, diagonals[kept])
                               + star_diag / n_mean)
            total = 0.0
            for a, b in zip(a_idx, b_idx, strict=True):
                scaled = covariances[a] * scale[..., :, None] * scale[..., None, :]
                total = total + np.einsum("vtij,vtij->vt", scaled, covariances[b])
            scaled_means = means * scale[None]
            used = set(c3.tolist())
            z_forms = np.stack([_forms(scaled_means, covariances[c]) if c in used else
                                np.zeros((B, B, *scale.shape[:2])) for c in range(B)])
            q_z = quadratic(z_forms, c3, a3, b3)
            s2_z, _ = squared(differences * np.sqrt(scale)[None], weight, a_idx, b_idx)
            with np.errstate(divide="ignore", invalid="ignore"):
                z = size / (total / len(a_idx) + q_z * inverse + s2_z * second)  # tr C̄_z = n
            return trace**2 / square, psi, z

        full = estimate(np.ones(B, dtype=bool))  # each (2, T)
        if self.trials > 1:
            errors = [v.std(axis=1, ddof=1) / np.sqrt(self.trials) for v in full]
        else:  # delete-one-block jackknife (B ≥ 5 leaves a separated triple)
            leave = [estimate(np.arange(B) != b) for b in range(B)]
            factor = np.sqrt((B - 1) / B)
            errors = []
            for k in range(len(full)):
                jack = np.stack([v[k] for v in leave])
                errors.append(factor * np.sqrt(((jack - jack.mean(0)) ** 2).sum(0))[:, 0])
        pr, psi, z = (v.mean(axis=1) for v in full)
        pr_error, psi_error, z_error = errors
        value = {"dimension": {"pr_x": pr[0], "pr_phi": pr[1]},
                 "psi": {"x": psi[0], "phi": psi[1]},
                 "dimension_z": {"pr_x": z[0], "pr_phi": z[1]}}
        error = {"dimension": {"pr_x": pr_error[0], "pr_phi": pr_error[1]},
                 "psi": {"x": psi_error[0], "phi": psi_error[1]},
                 "dimension_z": {"pr_x": z_error[0], "pr_phi": z_error[1]}}
        return value, error


def _forms(means: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """H[a, b] = m_aᵀ K m_b for block means (B, 2, T, n) and K (2, T, n, n): (B, B, 2, T)."""
    m = means.transpose(1, 2, 3, 0)  # (2, T, n, B)
    h = np.matmul(m.transpose(0, 1, 3, 2), np.matmul(covariance, m))  # (2, T, B, B)
    return h.transpose(2, 3, 0, 1)
