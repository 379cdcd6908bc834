r"""The kernel runtime of layered networks: the NNGP kernels of deep and recurrent nets.

The lowered layered site (:mod:`fieldtheory.codegen.layered`) is h(l + 1) = η(l) with
⟨η(a, l) η(b, l')⟩ = Σ_k c_k(l, l') Q_k[a, b], each Q_k a Gaussian expectation
E[f_k(h_a^l) g_k(h_b^{l'})] over the kernel already known, the data kernel, or 1. This
runtime runs that recursion layer by layer: at step l it fills K(l + 1, l' + 1) for every
l' ≤ l from the blocks K(l, l), K(l', l'), K(l, l') (Segadlo et al., arXiv:2112.05589:
for independent weights per layer the cross-layer blocks vanish and the recursion is the
layer-local NNGP one, K^{l+1} = σ_w² E_{K^l}[φφ] + σ_b²; for shared weights it is the
two-time kernel K(s, t) of the recurrent network). Expectations are vectorised over all
pattern pairs: closed forms where the lowering found one (erf: arcsin; ReLU:
arc-cosine), else Gauss–Legendre rules in the Cholesky coordinates of each pair, split
where an argument crosses 0 (kinks of ReLU-like functions stay spectrally accurate).

numpy only (plus the standard library): inlined into generated modules like the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fieldtheory.solvers.runtime.common import SolverInputError, gauss_legendre, register_runtime

__all__ = ["LayeredSpec", "LayeredTermSpec", "layer_blocks", "layer_kernels"]

#: Gauss–Legendre nodes per half-interval and the half-width (standard-normal units,
#: Gaussian weight e^{−32} at the ends) of the quadrature fallback.
LEGENDRE_NODES, RULE_WIDTH = 48, 8.0
#: Pattern pairs per block of the quadrature fallback (bounds its memory: B · 96 · 96).
PAIR_BLOCK = 256


@dataclass(frozen=True)
class LayeredTermSpec:
    """One covariance term: ``coefficient(l, l')`` times Q (``kind`` as in the lowering).

    ``expectation(var_u, var_v, cov)``: the closed form of E[f(u) g(v)] (broadcasting), or
    None: then ``left``/``right`` (numpy callables f, g) are integrated by quadrature.
    """

    coefficient: object
    kind: str
    expectation: object = None
    left: object = None
    right: object = None


@dataclass(frozen=True)
class LayeredSpec:
    """A layered site at parameter values: its terms, depth and data kernel (P × P)."""

    terms: tuple[LayeredTermSpec, ...]
    depth: int
    data_kernel: np.ndarray
    two_time: bool = False  # distinct layers correlated (shared weights)
    size: int = 1
    step: int | None = 1


def layer_blocks(spec: LayeredSpec) -> dict[tuple[int, int], np.ndarray]:
    """The nonzero kernel blocks {(s, t): K(s, t)} for layers 1 ≤ t ≤ s ≤ depth (a block
    whose coefficients all vanish — every cross-layer block of independent weights — is
    left out, never computed or stored)."""
    depth = spec.depth
    P = spec.data_kernel.shape[0]
    blocks: dict[tuple[int, int], np.ndarray] = {}

    def block(s: int, t: int) -> np.ndarray:
        """K(s, t) for s ≥ t ≥ 0 (layer 0: h(0) = 0), zeros where not stored."""
        if s < t:
            return block(t, s).T
        out = blocks.get((s, t))
        return np.zeros((P, P)) if out is None else out

    for step in range(depth):  # K(step + 1, ·) from the layers up to ``step``
        for other in range(step + 1):
            total = None
            for term in spec.terms:
                c = float(term.coefficient(step, other))
                if c == 0.0:
                    continue
                if term.kind == "data":
                    value = c * spec.data_kernel
                elif term.kind == "constant":
                    value = np.full((P, P), c)
                else:
                    value = c * _expectation(term, block(step, step), block(other, other),
                                             block(step, other))
                total = value if total is None else total + value
            if total is not None:
                if other == step:  # one layer with itself: a covariance, symmetric
                    total = (total + total.T) / 2
                if not np.all(np.isfinite(total)):
                    raise SolverInputError(f"the kernel of layers ({step + 1}, {other + 1}) "
                                           "is not finite (overflow in the recursion)")
                blocks[(step + 1, other + 1)] = total
    return blocks


def layer_kernels(spec: LayeredSpec) -> np.ndarray:
    """K[s, t, a, b] for layers s, t = 1 … depth (index s − 1): the kernel of h."""
    blocks = layer_blocks(spec)
    P = spec.data_kernel.shape[0]
    K = np.zeros((spec.depth, spec.depth, P, P))
    for (s, t), value in blocks.items():
        K[t - 1, s - 1] = value.T
        K[s - 1, t - 1] = value
    return K


def _expectation(term: LayeredTermSpec, Kss: np.ndarray, Ktt: np.ndarray,
                 Kst: np.ndarray) -> np.ndarray:
    """E[f(h_a^s) g(h_b^t)] for all pattern pairs (a, b), h ~ N(0, K)."""
    var_u = np.diag(Kss).copy()[:, None]
    var_v = np.diag(Ktt).copy()[None, :]
    cov = Kst
    bound = np.sqrt(np.maximum(var_u, 0.0) * np.maximum(var_v, 0.0))
    cov = np.clip(cov, -bound, bound)  # rounding must not leave the Cauchy–Schwarz range
    if term.expectation is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.broadcast_to(term.expectation(var_u, var_v, cov), cov.shape)
        if np.all(np.isfinite(value)):
            return np.array(value, dtype=float)
        # a closed form singular at a boundary (zero variance): the rule below is not
    return _quadrature(term.left, term.right, var_u[:, 0], var_v[0, :], cov)


def _quadrature(f, g, var_u, var_v, cov) -> np.ndarray:
    """E[f(u) g(v)] for every pair, by Gauss–Legendre rules in the Cholesky coordinates
    u = σ_u z₁, v = (c/σ_u) z₁ + r z₂ (r² = σ_v² − c²/σ_u²), with the Gaussian weight,
    on [−W, W] split where an argument crosses 0 — z₁ = 0 for u, and for each z₁ the z₂
    where v = 0 — so that functions with a kink or step at 0 (ReLU, Θ) are integrated to
    spectral accuracy like smooth ones. In blocks of pairs."""
    x, weights = gauss_legendre(LEGENDRE_NODES)
    W = RULE_WIDTH

    def halves(lo, hi):
        """Nodes and weights of the rule on [lo, W] split at ``split`` (broadcast)."""
        mid, half = (hi + lo) / 2, (hi - lo) / 2
        return mid[..., None] + half[..., None] * x, half[..., None] * weights

    z1 = np.concatenate([(x - 1) * W / 2, (x + 1) * W / 2])
    w1 = np.concatenate([weights, weights]) * W / 2 * np.exp(-z1 * z1 / 2) / math.sqrt(2 * math.pi)
    P, Q = cov.shape
    su = np.sqrt(np.maximum(var_u, 0.0))
    out = np.empty((P, Q))
    pairs = np.stack(np.meshgrid(np.arange(P), np.arange(Q), indexing="ij"), -1).reshape(-1, 2)
    for start in range(0, len(pairs), PAIR_BLOCK):
        a, b = pairs[start:start + PAIR_BLOCK].T
        s = su[a]
        c = cov[a, b]
        slope = np.divide(c, s, out=np.zeros_like(c), where=s > 0)
        rest = np.sqrt(np.maximum(var_v[b] - slope**2, 0.0))
        fu = f(s[:, None] * z1[None, :]) * np.ones((len(a), len(z1)))
        centre = slope[:, None] * z1[None, :]  # v at z₂ = 0, (pairs, n1)
        split = np.clip(np.divide(-centre, rest[:, None], out=np.zeros_like(centre),
                                  where=rest[:, None] > 0), -W, W)
        inner = np.zeros_like(centre)
        for lo, hi in ((np.full_like(split, -W), split), (split, np.full_like(split, W))):
            z2, w2 = halves(lo, hi)
            v = centre[..., None] + rest[:, None, None] * z2
            gv = g(v) * np.ones_like(v)
            inner += np.sum(w2 * np.exp(-z2 * z2 / 2) * gv, axis=-1) / math.sqrt(2 * math.pi)
        out[a, b] = np.sum(fu * inner * w1[None, :], axis=1)
    return out


def _applies(site) -> bool:
    return isinstance(site, LayeredSpec)


@register_runtime("kernel_recursion", applies=_applies, priority=10,
                  needs=lambda problem: getattr(problem, "layered", False), kind="layered")
def solve(site: LayeredSpec, grid=None, options=None) -> dict:
    """The kernels of a layered network: ``kernel`` {layers, values[l][a][b]} (equal
    layers) and, where layers are correlated (shared weights), ``kernel_cross`` {times,
    values[s][t][a][b]} (every pair of layers)."""
    options = dict(options or {})
    if options:
        raise SolverInputError(f"the kernel runtime takes no options, got {sorted(options)}")
    blocks = layer_blocks(site)
    P = site.data_kernel.shape[0]
    layers = list(range(1, site.depth + 1))
    equal = np.stack([blocks.get((k, k), np.zeros((P, P))) for k in layers])
    out = {"kernel": {"layers": layers, "values": equal},
           "branch": "layered", "method": "kernel_recursion"}
    if site.two_time:  # shared weights: a two-time kernel
        K = np.zeros((site.depth, site.depth, P, P))
        for (s, t), value in blocks.items():
            K[t - 1, s - 1] = value.T
            K[s - 1, t - 1] = value
        out["kernel_cross"] = {"times": layers, "values": K}
    return out
