r"""Block-structured Gaussian couplings over a population graph (E/I, multi-area)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import networkx as nx
import numpy as np
import sympy as sp

from fieldtheory.errors import EnsembleError
from fieldtheory.ir.couplings import CouplingMatrix, DenseCoupling
from fieldtheory.ir.ensembles.base import (
    UNIT_INTERVAL,
    Constraint,
    Ensemble,
    expression_latex,
    expression_text,
    register_ensemble,
)
from fieldtheory.ir.ensembles.cumulants import GaussianBlock
from fieldtheory.ir.ensembles.gaussian import gaussian_block
from fieldtheory.ir.parameters import NONNEGATIVE, evaluate
from fieldtheory.ir.populations import Population

__all__ = ["Block", "BlockGaussian"]


@dataclass(frozen=True)
class Block:
    """Couplings from population ``source`` (β) onto population ``target`` (α);
    ``rho`` = corr(J_ij, J_ji) for i ∈ α, j ∈ β (one number per pair of populations: the
    reverse block must carry the same)."""

    target: str
    source: str
    mean: sp.Expr = sp.Integer(0)
    variance: sp.Expr = sp.Integer(0)
    rho: sp.Expr = sp.Integer(0)

    def __post_init__(self) -> None:
        for name in ("mean", "variance", "rho"):
            object.__setattr__(self, name, sp.sympify(getattr(self, name)))


@register_ensemble("block_gaussian")
@dataclass(frozen=True)
class BlockGaussian(Ensemble):
    r"""Block-structured Gaussian couplings over a population graph.

    For an edge β → α, J_ij (i ∈ α, j ∈ β) ~ N(J0_αβ/N, g_αβ²/N) with N the *total*
    number of sites; absent edges are zero blocks. Partial symmetry per pair of
    populations (Martí, Brunel & Ostojic, PRE 97, 062314 (2018), for E/I networks):
    corr(J_ij, J_ji) = ρ_αβ = ρ_βα, i.e. Cov(J_ij, J_ji) = ρ_αβ g_αβ g_βα/N. Averaged by
    the ``"gaussian"`` rule block by block: the pair term Σ_{i∈α, j∈β} X_ij X_ji has the
    coefficient ρ_αβ g_αβ g_βα (½ of it within one population), shared between the two
    blocks as ρ_eff g_αβ²/2 each with ρ_eff = ρ_αβ g_βα/g_αβ.
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
        pairs = {(b.target, b.source): b for b in self.blocks}
        for b in self.blocks:
            reverse = pairs.get((b.source, b.target))
            other = sp.Integer(0) if reverse is None else reverse.rho
            if sp.simplify(b.rho - other) != 0:
                raise EnsembleError(
                    f"corr(J_ij, J_ji) is one number per pair of populations: block "
                    f"{b.source}->{b.target} has rho = {b.rho}, block "
                    f"{b.target}->{b.source} has {other if reverse else 'no block (0)'}")
        self.check_literals()

    @classmethod
    def from_graph(cls, graph: nx.DiGraph) -> BlockGaussian:
        """Nodes carry ``fraction``; an edge (β, α) carries ``mean`` and ``variance``."""
        pops = []
        for name, data in graph.nodes(data=True):
            if "fraction" not in data:
                raise EnsembleError(f"population {name!r} has no 'fraction' attribute")
            pops.append(Population(str(name), data["fraction"]))
        blocks = tuple(
            Block(str(target), str(source), data.get("mean", 0), data.get("variance", 0),
                  data.get("rho", 0))
            for source, target, data in graph.edges(data=True)
        )
        return cls(tuple(pops), blocks)

    @property
    def graph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        for p in self.population_list:
            g.add_node(p.name, fraction=p.fraction)
        for b in self.blocks:
            g.add_edge(b.source, b.target, mean=b.mean, variance=b.variance, rho=b.rho)
        return g

    def populations(self) -> tuple[Population, ...]:
        return self.population_list

    def expressions(self) -> tuple[sp.Expr, ...]:
        out: list[sp.Expr] = [p.fraction for p in self.population_list]
        for b in self.blocks:
            out += [b.mean, b.variance, b.rho]
        return tuple(out)

    def constraints(self) -> tuple[Constraint, ...]:
        return tuple(
            c for b in self.blocks for c in (
                Constraint(f"variance of block {b.source}->{b.target}", b.variance,
                           NONNEGATIVE),
                Constraint(f"symmetry rho of block {b.source}->{b.target}", b.rho,
                           UNIT_INTERVAL))
        )

    def gaussian_blocks(self, populations) -> tuple[GaussianBlock, ...]:
        """The declared blocks (absent edges contribute nothing), each with the effective
        ρ_eff = ρ_αβ g_βα/g_αβ of its share of the pair term (class docstring)."""
        pairs = {(b.target, b.source): b for b in self.blocks}
        out = []
        for b in self.blocks:
            rho = sp.Integer(0)  # a zero block has no share (g_αβ = 0: no pair term)
            if b.rho != 0 and b.variance != 0 and b.target != b.source:
                rho = b.rho * sp.sqrt(pairs[b.source, b.target].variance / b.variance)
            elif b.rho != 0:
                rho = b.rho
            out.append(GaussianBlock(b.target, b.source, b.mean, b.variance, rho))
        return tuple(out)

    def _matrices(self, values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Means, variances and pair correlations ρ of the blocks (P × P, target first)."""
        self.validate(values)
        index = {p.name: k for k, p in enumerate(self.population_list)}
        P = len(index)
        means, variances, rhos = np.zeros((P, P)), np.zeros((P, P)), np.zeros((P, P))
        for b in self.blocks:
            a, c = index[b.target], index[b.source]
            means[a, c] = evaluate(b.mean, values)
            variances[a, c] = evaluate(b.variance, values)
            rhos[a, c] = evaluate(b.rho, values)
        return means, variances, rhos

    def sample(self, rng, sizes, values, dtype=np.float64) -> CouplingMatrix:
        means, variances, rhos = self._matrices(values)
        N = int(sum(sizes))
        edges = np.concatenate([[0], np.cumsum(sizes)])
        J = np.zeros((N, N), dtype=dtype)
        for a in range(len(sizes)):
            for c in range(len(sizes)):
                rows = slice(edges[a], edges[a + 1])
                cols = slice(edges[c], edges[c + 1])
                if a != c and rhos[a, c] != 0:
                    if a < c:  # the pair (a, c), (c, a) jointly: corr(J_ij, J_ji) = ρ
                        z, w = rng.standard_normal((2, sizes[a], sizes[c]))
                        r = rhos[a, c]
                        J[rows, cols] = means[a, c] / N + math.sqrt(variances[a, c] / N) * z
                        J[cols, rows] = (means[c, a] / N + math.sqrt(variances[c, a] / N)
                                         * (r * z + math.sqrt(1 - r * r) * w).T)
                    continue
                if means[a, c] == 0 and variances[a, c] == 0:
                    continue
                J[rows, cols] = gaussian_block(rng, sizes[a], sizes[c], means[a, c] / N,
                                               variances[a, c] / N, rhos[a, c], dtype)
        return DenseCoupling(J)

    def spectral_radius_bound(self, values) -> float:
        means, variances, rhos = self._matrices(values)
        fractions = np.array([evaluate(p.fraction, values) for p in self.population_list])
        # partial symmetry stretches the bulk along the real axis by at most 1 + max|ρ|
        bulk = math.sqrt(max(abs(np.linalg.eigvals(variances * fractions[None, :])))) * (
            1 + float(np.abs(rhos).max(initial=0.0)))
        outliers = max(abs(np.linalg.eigvals(means * fractions[None, :])))
        return float(max(bulk, outliers))

    def text(self, coupling) -> str:
        blocks = "; ".join(
            f"{b.source}->{b.target}: N(({expression_text(b.mean)})/N, "
            f"({expression_text(b.variance)})/N)"
            + (f", corr = {expression_text(b.rho)}" if b.rho != 0 else "")
            for b in self.blocks
        )
        return f"{coupling.name}: block-structured Gaussian, {blocks}"

    def latex(self, coupling) -> str:
        blocks = r"; \quad ".join(
            rf"{b.source} \to {b.target}: \mathcal{{N}}\left("
            rf"\frac{{{expression_latex(b.mean)}}}{{N}}, "
            rf"\frac{{{expression_latex(b.variance)}}}{{N}}\right)"
            + (rf", \ \operatorname{{corr}} = {expression_latex(b.rho)}" if b.rho != 0 else "")
            for b in self.blocks
        )
        return rf"{coupling.name}: \text{{block-structured Gaussian}}, \quad {blocks}"
