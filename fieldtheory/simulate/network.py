r"""One realisation of a compiled action: sampled couplings, per-site constants, the drift.

A :class:`Network` holds ``T`` independent realisations (trials) side by side; the state of
every trial is one array of shape (T, K, N) for K fields and N sites, sites ordered by
population in contiguous blocks (:func:`~fieldtheory.ir.populations.population_sizes`).
Trial k samples its couplings from its own generator, so adding trials never changes the
others.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fieldtheory.errors import ArgumentTypeError, ParameterError, SimulationError
from fieldtheory.ir.action import Action
from fieldtheory.ir.checks import describe
from fieldtheory.ir.couplings import CouplingMatrix, DenseCoupling, LowRankCoupling
from fieldtheory.ir.populations import population_sizes
from fieldtheory.simulate.compile_action import CompiledAction, compile_action

__all__ = ["BatchedCoupling", "Network", "check_seed", "noise_factor", "realise",
           "realise_trials", "trial_generators"]

#: Floats represent every integer up to 2**53 and no further: a float seed beyond it may
#: stand for several integers (2**53 + 1 becomes 2**53), so it is refused.
FLOAT_EXACT_INTEGERS = 2**53


class BatchedCoupling:
    """The couplings J^(k) of T trials as one operator on arrays of shape (T, N).

    Dense couplings of several trials are stacked into a (T, N, N) array for one batched
    ``matmul``; low-rank (random-mode) couplings stay factorised, J = L diag(d) Rᵀ, so a
    product costs O(N·M).
    """

    def __init__(self, matrices: Sequence[CouplingMatrix]) -> None:
        self.matrices = tuple(matrices)
        first = self.matrices[0]
        self.kind = type(first)
        if any(type(m) is not self.kind for m in self.matrices):
            self.kind = CouplingMatrix
        if len(self.matrices) == 1:
            self._single = first
        elif self.kind is DenseCoupling:
            self._stack = np.stack([m.matrix for m in self.matrices])
        elif self.kind is LowRankCoupling:
            self._left = np.stack([m.left for m in self.matrices])
            self._strengths = np.stack([m.strengths for m in self.matrices])[:, :, None]
            self._right = np.stack([m.right for m in self.matrices])

    @property
    def nbytes(self) -> int:
        return sum(m.nbytes for m in self.matrices)

    def matvec(self, v: np.ndarray) -> np.ndarray:
        """J^(k) v_k for every trial k; ``v`` has shape (T, N)."""
        if len(self.matrices) == 1:
            return self._single.matvec(v[0])[None]
        if self.kind is DenseCoupling:
            return np.matmul(self._stack, v[:, :, None])[:, :, 0]
        if self.kind is LowRankCoupling:
            projected = np.matmul(v[:, None, :], self._right).transpose(0, 2, 1)
            return np.matmul(self._left, self._strengths * projected)[:, :, 0]
        return np.stack([m.matvec(row) for m, row in zip(self.matrices, v, strict=True)])


@dataclass(frozen=True, eq=False)
class Network:
    r"""T realised networks of one compiled action.

    Continuous time: ∂_t x_k = −a_k x_k + r_k(x, {J x}) + ξ_k; discrete time:
    x_k(n+1) = r_k(x(n), {J x(n)}) + ξ_k(n). Noise: ⟨ξ_k ξ_l⟩ = (L Lᵀ)_kl with the
    per-site lower-triangular factor ``noise_factor`` (shape (K, K, N)).

    Attributes
    ----------
    compiled : CompiledAction
    sizes : tuple of int
        Population sizes N_α (contiguous blocks of sites).
    couplings : tuple of BatchedCoupling
        One per coupling sum of ``compiled.sums``.
    leak : ndarray, shape (K, N)
        a_k per site.
    by_population : tuple of ndarray
        Per-site values of the ByPopulation atoms, shape (N,) each.
    noise_factor : ndarray, shape (K, K, N)
    dtype : numpy dtype
    trials : int
    quenched : tuple of ndarray
        The realised quenched per-unit variables (gains G_i), in the order of
        ``compiled.quenched``, shape (T, N) each: drawn once per trial.
    """

    compiled: CompiledAction
    sizes: tuple[int, ...]
    couplings: tuple[BatchedCoupling, ...]
    leak: np.ndarray
    by_population: tuple[np.ndarray, ...]
    noise_factor: np.ndarray
    dtype: np.dtype
    trials: int
    quenched: tuple[np.ndarray, ...] = ()

    @property
    def site_values(self) -> tuple[np.ndarray, ...]:
        """The per-site arguments of the compiled callables: by-population values (N,),
        then quenched values (T, N) — both broadcast against fields of shape (T, N)."""
        return (*self.by_population, *self.quenched)

    @property
    def N(self) -> int:
        return int(sum(self.sizes))

    @property
    def fields(self) -> int:
        return len(self.compiled.field_names)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of the state: (trials, fields, sites)."""
        return (self.trials, self.fields, self.N)

    def rest(self, x: np.ndarray, out: np.ndarray, inputs: tuple = ()) -> np.ndarray:
        """r(x) into ``out`` (both (T, K, N)): the drift without its leak, or a map's update.

        ``inputs``: the values of the time-dependent parameters at the current time, in the
        order of ``compiled.inputs`` (empty when there are none).
        """
        fields = [x[:, k] for k in range(x.shape[1])]
        sums, shape = [], fields[0].shape
        for term, coupling in zip(self.compiled.sums, self.couplings, strict=True):
            pre = term.presynaptic(*fields, *self.site_values)
            if type(pre) is not np.ndarray or pre.shape != shape or pre.dtype != self.dtype:
                # a constant or broadcast presynaptic expression, e.g. J @ 1
                pre = np.broadcast_to(np.asarray(pre, dtype=self.dtype), shape)
            sums.append(coupling.matvec(pre))
        for k, rest in enumerate(self.compiled.rest):
            out[:, k] = rest(*fields, *sums, *self.site_values, *inputs)
        return out

    def drift(self, x: np.ndarray, inputs: tuple = ()) -> np.ndarray:
        r"""The full drift f(x) = −a x + r(x) (continuous time) or update F(x) (maps).

        ``x`` has shape (T, K, N), or (K, N) for a single trial; ``inputs`` as in
        :meth:`rest`.
        """
        single = x.ndim == 2
        x = x[None] if single else x
        out = self.rest(x, np.empty(x.shape, dtype=self.dtype), inputs)
        if not self.compiled.is_discrete:
            out -= self.leak * x
        return out[0] if single else out

    def phi(self, x: np.ndarray) -> np.ndarray:
        """φ on the first field, shape (T, N)."""
        return self._site_function(self.compiled.phi, x)

    def gain(self, x: np.ndarray) -> np.ndarray:
        """φ' on the first field, shape (T, N)."""
        return self._site_function(self.compiled.gain, x)

    def output(self, x: np.ndarray, phi: np.ndarray | None = None) -> np.ndarray:
        """The output Φ = G φ a unit sends (quenched factors included), shape (T, N);
        φ itself (``phi`` when given) where the output holds no quenched factor."""
        if self.compiled.output is None:
            return self.phi(x) if phi is None else phi
        return self._site_function(self.compiled.output, x)

    def _site_function(self, fn, x: np.ndarray) -> np.ndarray:
        value = fn(*[x[:, k] for k in range(x.shape[1])], *self.site_values)
        if type(value) is np.ndarray and value.shape == x[:, 0].shape:
            return value
        return np.broadcast_to(np.asarray(value, dtype=self.dtype), x[:, 0].shape)

    def initial_state(self, rngs: Sequence[np.random.Generator],
                      initial: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
        """x_k(0) ~ N(μ0, σ0²) per site and field, drawn from each trial's generator.

        ``initial = (μ0, σ0)``; the standard normal draws are the same for every choice
        (σ0 = 0 included), so the noise that follows is too, and the default (0, 1) gives
        the draws themselves, bit for bit.
        """
        mu0, sigma0 = initial
        x = np.empty(self.shape, dtype=self.dtype)
        for k, rng in enumerate(rngs):
            draw = rng.standard_normal((self.fields, self.N))
            x[k] = draw if (mu0, sigma0) == (0.0, 1.0) else mu0 + sigma0 * draw
        return x


def check_seed(seed: object) -> int:
    """``seed`` as an exact non-negative Python int; any size, each its own stream.

    Integers (Python or numpy) pass unchanged, so the streams of existing seeds stay
    bit-identical. An integral float passes below 2**53 only, where it is exact; a bool, a
    string or another type raises :class:`~fieldtheory.errors.ArgumentTypeError`, a
    negative or fractional value :class:`~fieldtheory.errors.ParameterError`.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Real):
        raise ArgumentTypeError(f"seed must be a non-negative integer, got {describe(seed)}")
    if isinstance(seed, numbers.Integral):
        value = int(seed)
    else:
        seed = float(seed)
        if not seed.is_integer():
            raise ParameterError(f"seed = {seed!r} must be an integer")
        if abs(seed) >= FLOAT_EXACT_INTEGERS:
            raise ParameterError(
                f"seed = {seed!r} is a float beyond 2**53, where floats skip integers (two "
                "seeds could give one stream); pass it as an int")
        value = int(seed)
    if value < 0:
        raise ParameterError(f"seed = {value} must be at least 0")
    return value


def trial_generators(seed: int, trials: int) -> list[np.random.Generator]:
    """One generator per trial: ``default_rng([seed, k])`` for trial k (``seed`` checked
    by :func:`check_seed`; numpy's SeedSequence takes integers of any size exactly)."""
    seed = check_seed(seed)
    return [np.random.default_rng([seed, k]) for k in range(trials)]


def noise_factor(noise: np.ndarray) -> np.ndarray:
    """A factor L with L Lᵀ = Q for each population's covariance Q (shape (P, K, K)).

    Cholesky where Q is positive definite; for a singular Q (a noise-free field next to a
    noisy one) the symmetric square root, which has the same L Lᵀ.
    """
    out = np.empty_like(noise)
    for p, q in enumerate(noise):
        try:
            out[p] = np.linalg.cholesky(q)
        except np.linalg.LinAlgError:
            w, v = np.linalg.eigh(q)
            if w.min() < -1e-12 * max(1.0, abs(w).max()):
                raise ParameterError(f"noise covariance {q.tolist()} is not positive "
                                     "semidefinite") from None
            out[p] = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    return out


def realise_trials(
    compiled: CompiledAction,
    N: int,
    rngs: Sequence[np.random.Generator],
    dtype: str | np.dtype = "float64",
) -> Network:
    """Sample the couplings of one network per generator and fix per-site constants.

    Each trial's generator draws its couplings, then its quenched per-unit variables (one
    draw of N values per variable, in the action's order; populations share the
    distribution): an action without quenched variables uses its generators exactly as
    before.
    """
    dtype = np.dtype(dtype)
    values = compiled.values
    sizes = population_sizes(compiled.action.populations, N, values)
    # one ensemble may carry several couplings (correlated J, K): draw them together
    groups: dict = {}
    for coupling, ensemble in compiled.action.couplings:
        groups.setdefault(ensemble, []).append(coupling)
    draws = [
        {c: m for ensemble, group in groups.items()
         for c, m in ensemble.sample_couplings(tuple(group), rng, sizes, values, dtype).items()}
        for rng in rngs
    ]
    samples = {c: BatchedCoupling([d[c] for d in draws]) for c in draws[0]}
    for matrix in samples.values():
        if matrix.matrices[0].shape != (N, N):
            raise SimulationError(f"sampled coupling has shape {matrix.matrices[0].shape}, "
                                  f"expected {(N, N)}")

    quenched = tuple(
        np.stack([_draw(distribution, variable, rng, N, values) for rng in rngs]).astype(dtype)
        for variable, distribution in compiled.quenched)

    def per_site(table: np.ndarray) -> np.ndarray:
        return np.repeat(table, sizes, axis=-1)

    factor = noise_factor(compiled.noise).transpose(1, 2, 0)
    return Network(
        compiled=compiled,
        sizes=sizes,
        couplings=tuple(samples[s.coupling] for s in compiled.sums),
        leak=per_site(compiled.leak).astype(dtype),
        by_population=tuple(per_site(row).astype(dtype) for row in compiled.by_population),
        noise_factor=per_site(factor).astype(dtype),
        dtype=dtype,
        trials=len(rngs),
        quenched=quenched,
    )


def _draw(distribution, variable, rng: np.random.Generator, N: int,
          values: Mapping[str, float]) -> np.ndarray:
    """N draws of one quenched variable; refuses non-finite or misshapen draws by name."""
    draw = np.asarray(distribution.sample(rng, N, values), dtype=float)
    if draw.shape != (N,) or not np.all(np.isfinite(draw)):
        raise SimulationError(f"quenched variable {variable}: its distribution gave "
                              f"{draw.shape[0] if draw.ndim == 1 else draw.shape} values"
                              f"{'' if np.all(np.isfinite(draw)) else ' (not all finite)'}, "
                              f"expected {N} finite numbers")
    return draw


def realise(
    action: Action | CompiledAction,
    values: Mapping[str, float] | None,
    N: int,
    rng: np.random.Generator,
    dtype: str | np.dtype = "float64",
) -> Network:
    """One network (a single trial) of ``action`` at parameter ``values``.

    ``values`` is resolved against the action's parameters (defaults filled in, names and
    domains checked); it is ignored when ``action`` is already compiled.
    """
    if isinstance(action, Action):
        action = compile_action(action, action.parameters.resolve(values))
    return realise_trials(action, N, [rng], dtype)
