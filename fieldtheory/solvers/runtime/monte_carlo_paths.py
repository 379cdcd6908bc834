r"""Sampling for the Monte-Carlo runtime: stationary Gaussian input paths by circulant
embedding, and lag products (correlation estimates) by FFT.

Self-contained (numpy and scipy; inlined by the code generator with the runtime that
imports it). See :mod:`~fieldtheory.solvers.runtime.monte_carlo` for where they enter.
"""

import numpy as np
from scipy import fft

__all__ = ["circulant_sample", "lag_products"]


def _extend(covariance: np.ndarray, size: int) -> np.ndarray:
    """c(0..size): the estimate on 0..L, its tail tapered (cos²) onto the plateau beyond."""
    L = covariance.size - 1
    plateau = float(covariance[(3 * L) // 4 :].mean()) if L > 0 else float(covariance[0])
    lags = np.arange(size + 1)
    ramp = np.clip((lags - 3 * L / 4) / max(L / 4, 1), 0.0, 1.0)
    taper = np.cos(0.5 * np.pi * ramp) ** 2
    body = np.full(size + 1, plateau)
    upto = min(L, size) + 1
    body[:upto] = covariance[:upto]
    return plateau + (body - plateau) * taper


def circulant_sample(rng, covariance, length: int, paths: int):
    r"""Stationary Gaussian paths (paths, length) with covariance c(l), by circulant embedding.

    ``covariance`` holds c(0..L); beyond L it is continued by its plateau (mean of the last
    quarter), the deviation tapered by cos² over 3L/4 < l ≤ L. With period M = 2·m ≥
    2(length − 1) and λ = FFT of the even periodic extension, Z = FFT[√(λ₊/M)(z₁ + i z₂)]
    has Re Z, Im Z independent with covariance c (exactly, when λ ≥ 0).

    Returns the paths and the clipped weight Σ|λ₋|/Σ|λ| (0 for a positive-definite
    embedding).
    """
    half = fft.next_fast_len(max(length, covariance.size), real=False)
    c = _extend(np.asarray(covariance, dtype=float), half)
    circle = np.concatenate([c, c[-2:0:-1]])
    size = circle.size
    spectrum = fft.fft(circle).real
    negative = spectrum < 0
    clipped = float(-spectrum[negative].sum() / max(np.abs(spectrum).sum(), 1e-300))
    positive = np.maximum(spectrum, 0.0)
    # rescaled so that Σλ₊ = Σλ: the clipped embedding keeps the variance c(0) exactly
    # (clipping alone adds Σ|λ₋|/M to it, a bias the self-consistency amplifies)
    positive *= max(spectrum.sum(), 0.0) / max(positive.sum(), 1e-300)
    scale = np.sqrt(positive / size)
    pairs = (paths + 1) // 2
    white = rng.standard_normal((pairs, size)) + 1j * rng.standard_normal((pairs, size))
    z = fft.fft(scale * white, axis=-1)[:, :length]
    return np.concatenate([z.real, z.imag])[:paths], clipped


def lag_products(f: np.ndarray, h: np.ndarray, lags: int, symmetric: bool = True):
    r"""Per path (1/(n − l)) Σ_t f_t h_{t+l}, l = 0..lags (FFT, zero padded).

    With ``symmetric`` the average with (1/(n − l)) Σ_t f_{t+l} h_t: the estimate of the
    symmetrised correlation (C(τ) + C(−τ))/2.
    """
    n = f.shape[-1]
    size = fft.next_fast_len(n + lags, real=True)
    F = fft.rfft(f, size, axis=-1)
    H = F if h is f else fft.rfft(h, size, axis=-1)
    forward = fft.irfft(F.conj() * H, size, axis=-1)[..., : lags + 1]
    if symmetric and h is not f:
        forward = 0.5 * (forward + fft.irfft(F * H.conj(), size, axis=-1)[..., : lags + 1])
    return forward / (n - np.arange(lags + 1))
