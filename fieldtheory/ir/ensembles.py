"""Coupling ensembles: the statistics of a random matrix J, and how to sample it.

An :class:`Ensemble` is attached to a :class:`~fieldtheory.ir.symbols.Coupling` in an
action. Each ensemble knows (i) its parameters, (ii) how to sample one realisation for a
network of N sites (``sample``), (iii) a bound on the spectral radius used to check time
steps, and — for the derivation stages — (iv) its averaging rule (its cumulants), added by
the disorder-average transformation through :attr:`Ensemble.averaging_rule`.

Scaling convention (docs/conventions.md): entries are O(N^{-1/2}) with variance g²/N and
mean J0/N, N the total number of sites.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import networkx as nx
import numpy as np
import sympy as sp

from fieldtheory.errors import EnsembleError, ParameterError
from fieldtheory.ir.couplings import CouplingMatrix, DenseCoupling, LowRankCoupling
from fieldtheory.ir.parameters import evaluate
from fieldtheory.ir.populations import Population
from fieldtheory.ir.symbols import Coupling

__all__ = [
    "Ensemble",
    "Gaussian",
    "Block",
    "BlockGaussian",
    "RandomMode",
    "ENSEMBLES",
    "register_ensemble",
]

ENSEMBLES: dict[str, type[Ensemble]] = {}


def register_ensemble(name: str):
    """Class decorator adding an ensemble to :data:`ENSEMBLES` (names are unique)."""

    def decorate(cls: type[Ensemble]) -> type[Ensemble]:
        if name in ENSEMBLES:
            raise EnsembleError(f"an ensemble named {name!r} is already registered")
        cls.kind = name
        ENSEMBLES[name] = cls
        return cls

    return decorate


def _sym(value) -> sp.Expr:
    return sp.sympify(value)


class Ensemble:
    """Base class of coupling ensembles (frozen dataclasses in subclasses)."""

    kind: ClassVar[str] = "ensemble"
    #: Name of the disorder-averaging rule; ``None`` means the ensemble cannot be averaged.
    averaging_rule: ClassVar[str | None] = None

    def expressions(self) -> tuple[sp.Expr, ...]:
        """Every sympy expression the ensemble depends on (for symbol checks)."""
        raise NotImplementedError

    @property
    def free_symbols(self) -> set[sp.Symbol]:
        out: set[sp.Symbol] = set()
        for e in self.expressions():
            out |= e.free_symbols
        return out

    def populations(self) -> tuple[Population, ...] | None:
        """Populations the ensemble is structured over (``None``: homogeneous)."""
        return None

    def sample(
        self,
        rng: np.random.Generator,
        sizes: Sequence[int],
        values: Mapping[str, float],
        dtype: np.dtype | type = np.float64,
    ) -> CouplingMatrix:
        """One realisation for populations of the given ``sizes`` (N = sum)."""
        raise NotImplementedError

    def sample_couplings(
        self,
        couplings: Sequence[Coupling],
        rng: np.random.Generator,
        sizes: Sequence[int],
        values: Mapping[str, float],
        dtype: np.dtype | type = np.float64,
    ) -> dict[Coupling, CouplingMatrix]:
        """One realisation of each coupling this ensemble is attached to in an action.

        The default draws them independently, in the given order; ensembles of correlated
        matrices override it to draw them together.
        """
        return {c: self.sample(rng, sizes, values, dtype) for c in couplings}

    def spectral_radius_bound(self, values: Mapping[str, float]) -> float:
        """An O(1) estimate of the largest |eigenvalue| of J as N → ∞."""
        raise NotImplementedError


@register_ensemble("gaussian")
@dataclass(frozen=True)
class Gaussian(Ensemble):
    r"""J_ij ~ N(mean/N, variance/N), with corr(J_ij, J_ji) = rho for i ≠ j.

    ``rho = 0`` is the iid ensemble of Sompolinsky, Crisanti & Sommers (PRL 61, 259, 1988);
    ``rho ≠ 0`` the partially symmetric one, whose bulk spectrum is an ellipse with
    semi-axes √variance (1 ± rho) (elliptic law).
    """

    mean: sp.Expr = sp.Integer(0)
    variance: sp.Expr = sp.Integer(1)
    rho: sp.Expr = sp.Integer(0)
    averaging_rule: ClassVar[str | None] = "gaussian"

    def __post_init__(self) -> None:
        for name in ("mean", "variance", "rho"):
            object.__setattr__(self, name, _sym(getattr(self, name)))

    def expressions(self) -> tuple[sp.Expr, ...]:
        return (self.mean, self.variance, self.rho)

    def _numbers(self, values: Mapping[str, float]) -> tuple[float, float, float]:
        mean, var, rho = (evaluate(e, values) for e in self.expressions())
        if var < 0:
            raise ParameterError(f"coupling variance {self.variance} = {var:g} is negative")
        if not -1 <= rho <= 1:
            raise ParameterError(f"coupling symmetry {self.rho} = {rho:g} is outside [-1, 1]")
        return mean, var, rho

    def sample(self, rng, sizes, values, dtype=np.float64) -> CouplingMatrix:
        mean, var, rho = self._numbers(values)
        N = int(sum(sizes))
        return DenseCoupling(_gaussian_block(rng, N, N, mean / N, var / N, rho, dtype))

    def spectral_radius_bound(self, values) -> float:
        r"""The bulk edge √var (1 + |rho|), or the outlier of the mean if that lies further.

        The mean is the rank-one perturbation J0 u uᵀ (u = 1/√N); against an elliptic
        bulk its outlier sits at J0 + rho·var/J0 when |J0| > √var, not at J0: it solves
        J0 G(λ) = 1 with the elliptic law's G(λ) = (λ − √(λ² − 4 rho var))/(2 rho var).
        """
        mean, var, rho = self._numbers(values)
        bulk = math.sqrt(var) * (1 + abs(rho))
        outlier = abs(mean) + rho * var / abs(mean) if abs(mean) > math.sqrt(var) else 0.0
        return max(bulk, outlier)


def _gaussian_block(rng, rows, cols, mean, var, rho, dtype):
    """A rows×cols block with iid N(mean, var) entries; corr(J_ij, J_ji) = rho if square."""
    if rho == 0 or rows != cols:
        block = rng.standard_normal((rows, cols))
    else:
        a = rng.standard_normal((rows, cols))
        b = rng.standard_normal((rows, cols))
        # symmetric and antisymmetric parts, off-diagonal variance 1 each
        block = math.sqrt((1 + rho) / 2) * (a + a.T) / math.sqrt(2)
        block += math.sqrt((1 - rho) / 2) * (b - b.T) / math.sqrt(2)
        np.fill_diagonal(block, rng.standard_normal(rows))
    block *= math.sqrt(var)
    block += mean
    return block.astype(dtype, copy=False)


@dataclass(frozen=True)
class Block:
    """Couplings from population ``source`` (β) onto population ``target`` (α)."""

    target: str
    source: str
    mean: sp.Expr = sp.Integer(0)
    variance: sp.Expr = sp.Integer(0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", _sym(self.mean))
        object.__setattr__(self, "variance", _sym(self.variance))


@register_ensemble("block_gaussian")
@dataclass(frozen=True)
class BlockGaussian(Ensemble):
    r"""Block-structured Gaussian couplings over a population graph.

    For an edge β → α, J_ij (i ∈ α, j ∈ β) ~ N(J0_αβ/N, g_αβ²/N) with N the *total*
    number of sites; absent edges are zero blocks.
    """

    population_list: tuple[Population, ...]
    blocks: tuple[Block, ...]
    averaging_rule: ClassVar[str | None] = "gaussian"

    def __post_init__(self) -> None:
        # tuples, so that the ensemble hashes (lists given by a user would not)
        object.__setattr__(self, "population_list", tuple(self.population_list))
        object.__setattr__(self, "blocks", tuple(self.blocks))
        names = [p.name for p in self.population_list]
        if len(set(names)) != len(names):
            raise EnsembleError(f"populations declared twice in {names}")
        seen = set()
        for b in self.blocks:
            for end in (b.target, b.source):
                if end not in names:
                    raise EnsembleError(
                        f"block {b.source}->{b.target} names unknown population {end!r}"
                    )
            if (b.target, b.source) in seen:
                raise EnsembleError(f"block {b.source}->{b.target} declared twice")
            seen.add((b.target, b.source))

    @classmethod
    def from_graph(cls, graph: nx.DiGraph) -> BlockGaussian:
        """Nodes carry ``fraction``; an edge (β, α) carries ``mean`` and ``variance``."""
        pops = []
        for name, data in graph.nodes(data=True):
            if "fraction" not in data:
                raise EnsembleError(f"population {name!r} has no 'fraction' attribute")
            pops.append(Population(str(name), data["fraction"]))
        blocks = tuple(
            Block(str(target), str(source), data.get("mean", 0), data.get("variance", 0))
            for source, target, data in graph.edges(data=True)
        )
        return cls(tuple(pops), blocks)

    @property
    def graph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        for p in self.population_list:
            g.add_node(p.name, fraction=p.fraction)
        for b in self.blocks:
            g.add_edge(b.source, b.target, mean=b.mean, variance=b.variance)
        return g

    def populations(self) -> tuple[Population, ...]:
        return self.population_list

    def expressions(self) -> tuple[sp.Expr, ...]:
        out: list[sp.Expr] = [p.fraction for p in self.population_list]
        for b in self.blocks:
            out += [b.mean, b.variance]
        return tuple(out)

    def _matrices(self, values) -> tuple[np.ndarray, np.ndarray]:
        index = {p.name: k for k, p in enumerate(self.population_list)}
        P = len(index)
        means, variances = np.zeros((P, P)), np.zeros((P, P))
        for b in self.blocks:
            a, c = index[b.target], index[b.source]
            means[a, c] = evaluate(b.mean, values)
            variances[a, c] = evaluate(b.variance, values)
            if variances[a, c] < 0:
                raise ParameterError(
                    f"variance {b.variance} of block {b.source}->{b.target} is negative"
                )
        return means, variances

    def sample(self, rng, sizes, values, dtype=np.float64) -> CouplingMatrix:
        means, variances = self._matrices(values)
        N = int(sum(sizes))
        edges = np.concatenate([[0], np.cumsum(sizes)])
        J = np.zeros((N, N), dtype=dtype)
        for a in range(len(sizes)):
            for c in range(len(sizes)):
                if means[a, c] == 0 and variances[a, c] == 0:
                    continue
                J[edges[a] : edges[a + 1], edges[c] : edges[c + 1]] = _gaussian_block(
                    rng, sizes[a], sizes[c], means[a, c] / N, variances[a, c] / N, 0.0, dtype
                )
        return DenseCoupling(J)

    def spectral_radius_bound(self, values) -> float:
        means, variances = self._matrices(values)
        fractions = np.array([evaluate(p.fraction, values) for p in self.population_list])
        bulk = math.sqrt(max(abs(np.linalg.eigvals(variances * fractions[None, :]))))
        outliers = max(abs(np.linalg.eigvals(means * fractions[None, :])))
        return float(max(bulk, outliers))


#: Mode index a = 1..M and number of modes M, the symbols of a random-mode spectrum.
MODE_INDEX = sp.Symbol("a", positive=True, integer=True)
MODE_COUNT = sp.Symbol("M", positive=True, integer=True)


@register_ensemble("random_mode")
@dataclass(frozen=True)
class RandomMode(Ensemble):
    r"""Extensive-rank random-mode couplings, J = Σ_{a=1}^{M} d_a l_a r_aᵀ.

    Clark, Marschall, van Meegen & Litwin-Kumar, arXiv:2409.01969. M = round(αN); the
    entries of l_a and r_a are iid with mean 0 and variance 1/N; with ``overlap`` ≠ 0,
    corr(l_a, r_a) = overlap·σ_a with iid random signs σ_a.

    Parameters
    ----------
    alpha : expr
        Mode density α = M/N.
    spectrum : expr or tuple
        d_a as a sympy expression of the mode index ``a`` (1..M) and ``M``
        (:data:`MODE_INDEX`, :data:`MODE_COUNT`), or a tuple of numbers: a spectral shape
        on (0, 1), used as is when its length is M and linearly interpolated otherwise.
    gain : expr, optional
        If given, d is rescaled by a constant c so that (1/N) Σ_a d_a² = gain² exactly:
        the effective gain g_eff = √(α r₂) of the paper.
    overlap : expr
        Correlation of left and right modes.
    """

    alpha: sp.Expr
    spectrum: sp.Expr | tuple
    gain: sp.Expr | None = None
    overlap: sp.Expr = sp.Integer(0)
    averaging_rule: ClassVar[str | None] = None  # the random-mode average comes later

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", _sym(self.alpha))
        object.__setattr__(self, "overlap", _sym(self.overlap))
        if self.gain is not None:
            object.__setattr__(self, "gain", _sym(self.gain))
        if isinstance(self.spectrum, (tuple, list, np.ndarray)):
            object.__setattr__(self, "spectrum", tuple(sp.sympify(v) for v in self.spectrum))
        else:
            object.__setattr__(self, "spectrum", _sym(self.spectrum))

    def expressions(self) -> tuple[sp.Expr, ...]:
        spectrum = self.spectrum if isinstance(self.spectrum, tuple) else (self.spectrum,)
        gain = () if self.gain is None else (self.gain,)
        return (self.alpha, self.overlap, *gain, *spectrum)

    @property
    def free_symbols(self) -> set[sp.Symbol]:
        return super().free_symbols - {MODE_INDEX, MODE_COUNT}

    def modes(self, N: int, values: Mapping[str, float]) -> np.ndarray:
        """The spectrum d_a, a = 1..M, for N sites (normalised if ``gain`` is set)."""
        alpha = evaluate(self.alpha, values)
        if alpha <= 0:
            raise ParameterError(f"mode density alpha = {alpha:g} must be positive")
        M = max(1, round(alpha * N))
        if isinstance(self.spectrum, tuple):
            # an array spectrum is a shape on (0, 1), read off at the M mode positions
            shape = np.array([evaluate(v, values) for v in self.spectrum])
            grid = (np.arange(shape.size) + 0.5) / shape.size
            d = np.interp((np.arange(M) + 0.5) / M, grid, shape)
        else:
            a, m = sp.Symbol("_a"), sp.Symbol("_M")
            expr = self.spectrum.subs({MODE_INDEX: a, MODE_COUNT: m})
            names = sorted(values)
            fn = sp.lambdify((a, m, *[sp.Symbol(k, real=True) for k in names]), expr, "numpy")
            raw = fn(np.arange(1, M + 1, dtype=float), float(M), *[values[k] for k in names])
            d = np.broadcast_to(np.asarray(raw, dtype=float), (M,)).copy()
        if self.gain is not None:
            gain = evaluate(self.gain, values)
            norm = math.sqrt(float(np.sum(d**2)) / N)
            if norm == 0:
                raise ParameterError("random-mode spectrum is identically zero")
            d *= gain / norm
        return d

    def sample(self, rng, sizes, values, dtype=np.float64) -> CouplingMatrix:
        N = int(sum(sizes))
        d = self.modes(N, values)
        M = d.size
        overlap = evaluate(self.overlap, values)
        if not -1 <= overlap <= 1:
            raise ParameterError(f"mode overlap {self.overlap} = {overlap:g} is outside [-1, 1]")
        left = rng.standard_normal((N, M)) / math.sqrt(N)
        right = rng.standard_normal((N, M)) / math.sqrt(N)
        if overlap != 0:
            signs = rng.choice([-1.0, 1.0], size=M)
            right = overlap * signs * left + math.sqrt(1 - overlap**2) * right
        factors = LowRankCoupling(left.astype(dtype), d.astype(dtype), right.astype(dtype))
        # O(N·M) work per product only pays while M < N/2
        return factors if M < N / 2 else DenseCoupling(factors.dense())

    def spectral_radius_bound(self, values) -> float:
        # |λ| ≤ ‖J‖ ≤ max|d| ‖L‖‖R‖ and ‖L‖ → 1 + √α (Marchenko–Pastur edge)
        probe = self.modes(1000, values)
        alpha = evaluate(self.alpha, values)
        return float(np.max(np.abs(probe)) * (1 + math.sqrt(alpha)) ** 2)

