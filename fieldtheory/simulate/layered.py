r"""Sampled finite-width layered networks: empirical kernels with standard errors.

The reference simulator of deep and recurrent networks (issue 14; Segadlo et al.,
arXiv:2112.05589). It reads the declared update h(n + 1) = F(n) of a layered action
(:mod:`fieldtheory.ir.layered`) — nothing per model — and for every trial draws the
couplings (once per trial when shared, anew for every layer under
:class:`~fieldtheory.ir.ensembles.layered.PerLayer`; input weights N × d), runs all P
patterns through the same network layer by layer, and measures the empirical kernels.
A per-layer iid Gaussian matrix used once in its layer is never formed: its product with
the P presynaptic vectors is drawn directly (Gaussian per unit with covariance
(σ²/N) F Fᵀ, iid across units), O(P²N) instead of N² per layer; a shared one (recurrent)
is drawn only on the directions its presynaptic vectors span, as they appear
(Gram–Schmidt: W on a direction orthogonal to those seen is independent of W on them),
O(N·P·depth) per trial. The kernels are

.. math:: \hat K_{ab}(s, t) = \frac{1}{N} \sum_i h_i(x_a, s)\, h_i(x_b, t).

Reported: ``kernel`` (the mean of K̂ over trials at equal layers), ``kernel_cross`` (every
pair of layers) and ``kernel_variance`` (N·Var of K̂ at equal layers across trials), each
with its standard error (of the mean: sd/√trials; of the variance: the spread of the
squared deviations). Trials run in blocks of up to ``BLOCK_ELEMENTS`` numbers (state,
couplings and kernels of every trial of the block at once: one array operation per layer
and block, not per trial); block b draws from ``default_rng([seed, b])``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sympy as sp

from fieldtheory.errors import SimulationError
from fieldtheory.ir.ensembles.layered import InputWeights
from fieldtheory.ir.langevin import read_langevin
from fieldtheory.ir.layered import InputValue, Layer
from fieldtheory.ir.model import Model
from fieldtheory.ir.symbols import CouplingSum, FieldValue
from fieldtheory.observables import Observables
from fieldtheory.progress import progress_bar
from fieldtheory.resources import require

__all__ = ["simulate_layered"]

#: Numbers (per trial: the layers' states, dense couplings, kernels) held for one block
#: of trials simulated together, about 32 MB.
BLOCK_ELEMENTS = 2**22


def simulate_layered(model: Model, params: Mapping[str, float] | None = None, *, N: int,
                     trials: int = 100, seed: int = 0, progress: bool = False):
    """Empirical kernels of ``trials`` sampled networks of width ``N`` (see the module):
    (parameter values, depth, observables, standard errors), which
    :func:`fieldtheory.simulate.run.simulate` returns as a ``SimulationResult``."""
    action = model.action
    values = model.parameters.resolve(params)
    action.validate_values(values)
    if int(N) != N or N < 1 or int(trials) != trials or trials < 2:
        raise SimulationError(f"simulate {model.name}: need N ≥ 1 and trials ≥ 2, got "
                              f"N = {N}, trials = {trials}")
    N, trials = int(N), int(trials)
    inputs = action.time.inputs
    X = inputs.array
    P, d = X.shape
    depth = round(float(action.time.layers.xreplace(
        {sp.Symbol(k, real=True): v for k, v in values.items()})))
    steps, used = _compile(model, values, depth)
    ensembles = action.ensembles
    direct = {c: _direct(e, values) for c, e in ensembles.items()
              if getattr(e, "per_layer", False) and max(used.get(c, [0])) <= 1}
    direct = {c: spec for c, spec in direct.items() if spec is not None}
    sequential = {c: _gaussian(e, values) for c, e in ensembles.items()
                  if not getattr(e, "per_layer", False) and not isinstance(e, InputWeights)}
    sequential = {c: spec for c, spec in sequential.items() if spec is not None}
    dense = sum(1 for c, e in ensembles.items() if c not in direct and c not in sequential
                and not isinstance(e, InputWeights))
    # trials run in blocks (a leading axis on every array: one call per layer and block
    # instead of per trial); power sums about the first trial's kernels (no
    # cancellation): mean and its error for every pair of layers, variance and its error
    # (from the fourth moment) at equal ones
    per_trial = (depth * P * N * 3 + dense * N * N + N * d + 2 * len(sequential) * depth * P * N
                 + 2 * depth * depth * P * P)
    block = max(1, min(trials, BLOCK_ELEMENTS // per_trial))
    require(8 * (block * per_trial + 4 * depth * depth * P * P),
            f"simulate {model.name}: N = {N}, {P} patterns, depth {depth}")
    shift = None
    power = [np.zeros((depth, depth, P, P)) for _ in range(4)]
    bar = progress_bar(trials, enabled=progress, description=f"simulate {model.name}")
    for b, first in enumerate(range(0, trials, block)):
        B = min(block, trials - first)
        rng = np.random.default_rng([seed, b])
        shared = {c: _Sequential(*sequential[c]) if c in sequential
                  else _draw(e, rng, B, N, d, values) for c, e in ensembles.items()
                  if not getattr(e, "per_layer", False)}
        h = np.zeros((B, P, N))
        layers = []
        for step in range(depth):
            couplings = dict(shared)
            couplings.update({c: direct.get(c) or _draw(e, rng, B, N, d, values)
                              for c, e in ensembles.items()
                              if getattr(e, "per_layer", False)})
            h = steps[step](h, X, couplings, rng)
            layers.append(h)
        H = np.stack(layers, axis=1).reshape(B, depth * P, N)
        K = (H @ H.transpose(0, 2, 1) / N).reshape(B, depth, P, depth, P).transpose(0, 1, 3, 2, 4)
        if shift is None:
            shift = K[0].copy()
        y = K - shift
        for m in range(4):
            power[m] += np.sum(y ** (m + 1), axis=0)
        bar.update(B)
    bar.close()
    T = trials
    m1 = power[0] / T
    mean = shift + m1
    c2 = power[1] / T - m1**2  # central moments (biased)
    c4 = (power[3] / T - 4 * m1 * power[2] / T + 6 * m1**2 * power[1] / T - 3 * m1**4)
    var = c2 * T / (T - 1)
    mean_err = np.sqrt(np.maximum(var, 0.0) / T)
    var_err = np.sqrt(np.maximum(c4 - c2**2 * (T - 3) / (T - 1), 0.0) / T)
    diagonal = (np.arange(depth), np.arange(depth))
    grid = list(range(1, depth + 1))
    observables = Observables(
        kernel={"layers": grid, "values": mean[diagonal]},
        kernel_cross={"times": grid, "values": mean},
        kernel_variance={"layers": grid, "values": N * var[diagonal]})
    stderr = Observables(
        kernel={"layers": grid, "values": mean_err[diagonal]},
        kernel_cross={"times": grid, "values": mean_err},
        kernel_variance={"layers": grid, "values": N * var_err[diagonal]})
    return values, depth, observables, stderr


class _Direct:
    """A Gaussian matrix drawn anew for this layer and used once (mean/N, variance/N,
    iid entries): its product with the P presynaptic vectors F (P × N) is drawn directly —
    every unit's P values are Gaussian with covariance (variance/N) F Fᵀ, iid across units,
    plus the mean (mean/N) Σ_j F_j — O(P²N) instead of an N × N matrix."""

    def __init__(self, mean: float, variance: float) -> None:
        self.mean, self.variance = mean, variance

    def times(self, F: np.ndarray, rng) -> np.ndarray:
        """W F_a for every trial and pattern: F (B, P, N) → (B, P, N)."""
        B, P, N = F.shape
        values, vectors = np.linalg.eigh(self.variance / N * (F @ F.transpose(0, 2, 1)))
        root = vectors * np.sqrt(np.maximum(values, 0.0))[:, None, :]
        return (root @ rng.standard_normal((B, P, N))
                + self.mean / N * F.sum(2, keepdims=True))


class _Sequential:
    """A Gaussian matrix W (mean/N, variance/N, iid entries) shared by every step of one
    trial, sampled only where it acts: W on an orthonormal basis e_1 … e_k of the
    presynaptic vectors seen so far is k iid N(0, variance/N) columns, and its action on
    a new direction orthogonal to them is independent of those — so each step draws W
    only on the part of its presynaptic vectors outside the span so far (Gram–Schmidt,
    classical, applied twice), O(N · P · depth) per trial instead of N². Exact in
    distribution. Every array has a leading axis of B trials, each its own W: a direction
    new in some trials only is a zero row (and a zero image) in the others."""

    #: Relative norm below which a presynaptic vector is taken to lie in the span so far.
    TOLERANCE = 1e-10

    def __init__(self, mean: float, variance: float) -> None:
        self.mean, self.variance = mean, variance
        self.basis = None  # (B, k, N): orthonormal rows, or zero
        self.image = None  # (B, k, N): row m is W e_m

    def times(self, F: np.ndarray, rng) -> np.ndarray:
        """W F_a for every trial and pattern: F (B, P, N) → (B, P, N)."""
        B, P, N = F.shape
        if self.basis is None:
            self.basis, self.image = np.zeros((B, 0, N)), np.zeros((B, 0, N))
        for a in range(P):
            residual = F[:, a, :].astype(float)  # a copy
            scale = np.linalg.norm(residual, axis=1)
            for _ in range(2):  # twice is enough (Kahan–Parlett)
                overlap = np.einsum("bkn,bn->bk", self.basis, residual)
                residual -= np.einsum("bk,bkn->bn", overlap, self.basis)
            norm = np.linalg.norm(residual, axis=1)
            new = norm > self.TOLERANCE * np.maximum(scale, 1e-300)
            if not np.any(new):
                continue
            row = np.where(new[:, None], residual / np.where(new, norm, 1.0)[:, None], 0.0)
            image = rng.standard_normal((B, N)) * np.sqrt(self.variance / N) * new[:, None]
            self.basis = np.concatenate([self.basis, row[:, None, :]], axis=1)
            self.image = np.concatenate([self.image, image[:, None, :]], axis=1)
        coefficients = F @ self.basis.transpose(0, 2, 1)  # F = coefficients · basis now
        return coefficients @ self.image + self.mean / N * F.sum(2, keepdims=True)


def _gaussian(ensemble, values) -> tuple[float, float] | None:
    """(mean, variance) of an iid Gaussian ensemble (ρ = 0; inside ``PerLayer`` or not),
    else None."""
    from fieldtheory.ir.ensembles.gaussian import Gaussian
    from fieldtheory.ir.parameters import evaluate

    inner = getattr(ensemble, "inner", ensemble)
    if not isinstance(inner, Gaussian):
        return None
    ensemble.validate(values)
    mean, variance, rho = (evaluate(e, values) for e in inner.expressions())
    return (mean, variance) if rho == 0 else None


def _direct(ensemble, values) -> _Direct | None:
    """The direct product of a per-layer iid Gaussian ensemble (ρ = 0), else None."""
    spec = _gaussian(ensemble, values) if hasattr(ensemble, "inner") else None
    return _Direct(*spec) if spec is not None else None


def _draw(ensemble, rng, B: int, N: int, d: int, values):
    """B realisations as a dense array: B × N × d input weights (iid rows: one draw of
    B·N rows), else B × N × N."""
    if isinstance(ensemble, InputWeights):
        return ensemble.sample_inputs(rng, B * N, d, values).reshape(B, N, d)
    return np.stack([ensemble.sample(rng, [N], values).dense() for _ in range(B)])


def _compile(model: Model, values: Mapping[str, float], depth: int):
    """The update h(n + 1) = F(n) at every step l = 0 … depth − 1 (the declared update may
    depend on the layer in any way, not only through δ_{l,0}), as functions
    (h (B × P × N), X (P × d), couplings) → h(n + 1) (B × P × N)."""
    from fieldtheory.codegen.printer import SolverPrinter

    action = model.action
    system = read_langevin(action)
    if len(action.fields) != 1:
        raise SimulationError(f"simulate {model.name}: a layered network has one field")
    (field,) = action.fields
    n = action.time.symbol
    numbers = {sp.Symbol(k, real=True): v for k, v in values.items()}
    out = []
    used: dict = {}  # coupling → how many coupling sums use it, per layer
    for layer in range(depth):
        expr = system.drift[0].xreplace({Layer(n): layer}).xreplace(numbers)
        sums = sorted(expr.atoms(CouplingSum), key=sp.default_sort_key)
        marks = [sp.Dummy(f"S{k}") for k in range(len(sums))]
        local = sp.Dummy("h")
        body = expr.xreplace(dict(zip(sums, marks, strict=True))).xreplace({field(n): local})
        if body.has(FieldValue, InputValue):
            raise SimulationError(f"simulate {model.name}: the update {expr} holds field "
                                  "values outside coupling sums at other times")
        combine = sp.lambdify((local, *marks), body, modules=["numpy", "scipy"],
                              printer=SolverPrinter)
        presynaptic = []
        for coupling in {term.coupling for term in sums}:
            used.setdefault(coupling, []).append(sum(t.coupling == coupling for t in sums))
        for term in sums:
            pre = term.presynaptic
            if pre.has(InputValue):
                if pre != next(iter(pre.atoms(InputValue))):
                    raise SimulationError(f"input weights act on {pre}; only X(n) is read")
                presynaptic.append((term.coupling, "inputs", None))
            else:
                h = sp.Dummy("h")
                f = sp.lambdify(h, pre.xreplace({field(n): h}), modules=["numpy", "scipy"],
                                printer=SolverPrinter)
                presynaptic.append((term.coupling, "state", f))
        out.append(_step(combine, presynaptic))
    return out, used


def _step(combine, presynaptic):
    def step(h, X, couplings, rng):
        values = []
        for coupling, kind, f in presynaptic:
            matrix = couplings[coupling]
            source = (np.broadcast_to(X, (h.shape[0], *X.shape)) if kind == "inputs"
                      else f(h) * np.ones_like(h))
            if isinstance(matrix, (_Direct, _Sequential)):
                values.append(matrix.times(source, rng))
            else:  # Σ_j C_ij s_j(a) per trial, (B × P × N)
                values.append(source @ matrix.transpose(0, 2, 1))
        return combine(h, *values) * np.ones_like(h)

    return step
