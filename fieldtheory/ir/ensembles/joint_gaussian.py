r"""Jointly Gaussian couplings: several matrices J¹, J², … drawn together.

For couplings c, c' (i ≠ j)

.. math::  \langle J^c_{ij}\rangle = \mu_c/N, \quad
           \mathrm{Cov}(J^c_{ij}, J^{c'}_{ij}) = \Sigma_{cc'}/N, \quad
           \mathrm{Cov}(J^c_{ij}, J^{c'}_{ji}) = T_{cc'}/N,

all other pairs independent. ``covariance`` Σ correlates the matrices entry by entry
(J_ij with K_ij); ``transpose_covariance`` T correlates an entry with the transposed
entry (J_ij with K_ji, the partial symmetry ρ of one Gaussian matrix when c = c'). Both
are symmetric: Cov(J^c_ij, J^{c'}_ji) = Cov(J^{c'}_ji, J^c_ij) relabels to T_{c'c}.

The same ensemble object is attached to each of its couplings in the action; the disorder
average integrates them out together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import sympy as sp

from fieldtheory.errors import EnsembleError, ParameterError
from fieldtheory.ir.couplings import DenseCoupling
from fieldtheory.ir.ensembles.base import (
    Constraint,
    Ensemble,
    expression_latex,
    register_ensemble,
)
from fieldtheory.ir.ensembles.cumulants import Cumulant, register_averaging_rule
from fieldtheory.ir.parameters import NONNEGATIVE, evaluate
from fieldtheory.ir.symbols import Coupling

__all__ = ["JointGaussian"]


def _square_root(matrix: np.ndarray, what: str, error=ParameterError) -> np.ndarray:
    """A with A Aᵀ = matrix, for a positive semi-definite matrix (else ``error``)."""
    eigenvalues, vectors = np.linalg.eigh(matrix)
    if eigenvalues.min() < -1e-12 * max(1.0, abs(eigenvalues).max()):
        raise error(f"the {what} of the joint couplings is not positive semi-definite "
                    f"(eigenvalue {eigenvalues.min():g})")
    return vectors * np.sqrt(np.clip(eigenvalues, 0, None))


def _matrix(rows, size: int, what: str) -> tuple[tuple[sp.Expr, ...], ...]:
    matrix = tuple(tuple(sp.sympify(v) for v in row) for row in rows)
    if len(matrix) != size or any(len(row) != size for row in matrix):
        raise EnsembleError(f"{what} must be {size}×{size}, one row per coupling")
    for a in range(size):
        for b in range(a + 1, size):
            if sp.simplify(matrix[a][b] - matrix[b][a]) != 0:
                raise EnsembleError(
                    f"{what} is not symmetric: entry ({a}, {b}) = {matrix[a][b]}, "
                    f"entry ({b}, {a}) = {matrix[b][a]}"
                )
    return matrix


@register_ensemble("joint_gaussian")
@dataclass(frozen=True)
class JointGaussian(Ensemble):
    """Several coupling matrices with jointly Gaussian entries.

    Parameters
    ----------
    couplings : tuple of Coupling
        The matrices, in the order of the rows of the covariance matrices.
    covariance : square matrix (nested tuples)
        Σ_cc' with Cov(J^c_ij, J^{c'}_ij) = Σ_cc'/N.
    means : tuple, optional
        μ_c with ⟨J^c_ij⟩ = μ_c/N (default 0).
    transpose_covariance : square matrix, optional
        T_cc' with Cov(J^c_ij, J^{c'}_ji) = T_cc'/N (default 0).
    """

    couplings: tuple[Coupling, ...]
    covariance: tuple[tuple[sp.Expr, ...], ...]
    means: tuple[sp.Expr, ...] | None = None
    transpose_covariance: tuple[tuple[sp.Expr, ...], ...] | None = None
    averaging_rule: ClassVar[str | None] = "joint_gaussian"

    def __post_init__(self) -> None:
        couplings = tuple(self.couplings)
        if not couplings or not all(isinstance(c, Coupling) for c in couplings):
            raise EnsembleError(f"JointGaussian needs a tuple of Couplings, got {couplings!r}")
        if len(set(couplings)) != len(couplings):
            raise EnsembleError(f"coupling listed twice in JointGaussian{couplings}")
        size = len(couplings)
        object.__setattr__(self, "couplings", couplings)
        object.__setattr__(self, "covariance", _matrix(self.covariance, size, "covariance"))
        means = (0,) * size if self.means is None else tuple(self.means)
        if len(means) != size:
            raise EnsembleError(f"JointGaussian has {size} couplings but {len(means)} means")
        object.__setattr__(self, "means", tuple(sp.sympify(m) for m in means))
        transpose = self.transpose_covariance
        if transpose is None:
            transpose = ((0,) * size,) * size
        object.__setattr__(
            self, "transpose_covariance", _matrix(transpose, size, "transpose_covariance")
        )
        self.check_literals()
        if not any(e.free_symbols for e in self.expressions()):
            self._pair_covariance({}, EnsembleError)

    def expressions(self) -> tuple[sp.Expr, ...]:
        # the couplings are names, not numbers: they stay out of the symbol checks
        entries = [v for row in self.covariance for v in row]
        entries += [v for row in self.transpose_covariance for v in row]
        return (*self.means, *entries)

    def drawn_with(self, coupling: Coupling) -> tuple[Coupling, ...]:
        """Every coupling of the ensemble: they are drawn and averaged together."""
        if coupling not in self.couplings:
            raise EnsembleError(
                f"coupling {coupling} is attached to a joint ensemble of "
                f"{', '.join(map(str, self.couplings))}, which does not list it"
            )
        return self.couplings

    def constraints(self) -> tuple[Constraint, ...]:
        return tuple(
            Constraint(f"variance of {c}", self.covariance[k][k], NONNEGATIVE)
            for k, c in enumerate(self.couplings)
        )

    def validate(self, values: Mapping[str, float]) -> None:
        """Variances ≥ 0 and the pair covariance [[Σ, T], [T, Σ]] positive semi-definite."""
        super().validate(values)
        self._pair_covariance(values, ParameterError)

    def _pair_covariance(self, values, error) -> tuple[np.ndarray, np.ndarray]:
        """Square roots of [[Σ, T], [T, Σ]] (pairs i < j) and of Σ (diagonal entries)."""
        sigma = np.array([[evaluate(v, values) for v in row] for row in self.covariance])
        transpose = np.array([[evaluate(v, values) for v in row]
                              for row in self.transpose_covariance])
        pair = _square_root(np.block([[sigma, transpose], [transpose, sigma]]), "covariance",
                            error)
        return pair, _square_root(sigma, "covariance", error)

    def sample(self, rng, sizes, values, dtype=None):
        """Refused: one matrix drawn alone would lose its correlation with the others."""
        raise EnsembleError(
            f"the couplings {', '.join(c.name for c in self.couplings)} of a JointGaussian "
            "are correlated and cannot be drawn one at a time; use sample_couplings"
        )

    def sample_couplings(self, couplings, rng, sizes, values, dtype=np.float64) -> dict:
        """All matrices drawn together (whichever subset the action names first)."""
        return self.sample_joint(rng, sizes, values, dtype)

    def sample_joint(self, rng: np.random.Generator, sizes: Sequence[int],
                     values: Mapping[str, float], dtype=np.float64) -> dict:
        """One realisation of every coupling, drawn together: {Coupling: DenseCoupling}.

        For each pair i < j the 2C entries (J^c_ij, J^c_ji) are Gaussian with covariance
        [[Σ, T], [T, Σ]]/N; diagonal entries have covariance Σ/N.
        """
        size = len(self.couplings)
        super().validate(values)
        pair, root = self._pair_covariance(values, ParameterError)
        means = np.array([evaluate(m, values) for m in self.means])
        N = int(sum(sizes))
        upper_i, upper_j = np.triu_indices(N, k=1)
        draws = rng.standard_normal((upper_i.size, 2 * size)) @ pair.T / math.sqrt(N)
        diagonal = rng.standard_normal((N, size)) @ root.T
        out = {}
        for k, coupling in enumerate(self.couplings):
            matrix = np.empty((N, N))
            matrix[upper_i, upper_j] = draws[:, k]
            matrix[upper_j, upper_i] = draws[:, size + k]
            matrix[np.arange(N), np.arange(N)] = diagonal[:, k] / math.sqrt(N)
            matrix += means[k] / N
            out[coupling] = DenseCoupling(matrix.astype(dtype, copy=False))
        return out

    def spectral_radius_bound(self, values) -> float:
        """The largest single-matrix bound √Σ_cc (1 + |T_cc|/Σ_cc), or |μ_c| if larger."""
        super().validate(values)
        bound = 0.0
        for k in range(len(self.couplings)):
            variance = evaluate(self.covariance[k][k], values)
            rho = evaluate(self.transpose_covariance[k][k], values) / variance if variance else 0
            bulk = math.sqrt(variance) * (1 + abs(rho))
            bound = max(bound, bulk, abs(evaluate(self.means[k], values)))
        return bound

    def latex(self, coupling) -> str:
        names = ", ".join(c.name for c in self.couplings)
        sigma = r" \\ ".join(" & ".join(expression_latex(v) for v in row)
                              for row in self.covariance)
        out = (rf"{coupling.name} \in ({names}) \text{{ jointly Gaussian}}, \quad "
               rf"N \operatorname{{Cov}}(J^c_{{ij}}, J^{{c'}}_{{ij}}) = "
               rf"\begin{{pmatrix}} {sigma} \end{{pmatrix}}")
        if any(m != 0 for m in self.means):
            means = ", ".join(expression_latex(m) for m in self.means)
            out += rf", \quad N \langle J^c_{{ij}} \rangle = ({means})"
        if any(v != 0 for row in self.transpose_covariance for v in row):
            t = r" \\ ".join(" & ".join(expression_latex(v) for v in row)
                              for row in self.transpose_covariance)
            out += (rf", \quad N \operatorname{{Cov}}(J^c_{{ij}}, J^{{c'}}_{{ji}}) = "
                    rf"\begin{{pmatrix}} {t} \end{{pmatrix}}")
        return out


@register_averaging_rule("joint_gaussian")
def joint_gaussian_cumulants(couplings, ensemble, populations):
    r"""Σ_c (μ_c/N) X^c + ½ Σ_cc' (Σ_cc'/N) X^c_ij X^c'_ij + ½ Σ_cc' (T_cc'/N) X^c_ij X^c'_ji.

    The symmetric double sums are folded: c < c' appears once with the full Σ_cc'.
    """
    order = ensemble.couplings
    out: list[Cumulant] = []
    for a in populations:
        for b in populations:
            pops = (a.name, b.name)
            for c, mean in zip(order, ensemble.means, strict=True):
                out += _nonzero(Cumulant(mean, (c,), (False,), *pops))
            for k, c in enumerate(order):
                for m in range(k, len(order)):
                    weight = sp.Rational(1, 2) if k == m else sp.Integer(1)
                    pair = (c, order[m])
                    out += _nonzero(
                        Cumulant(weight * ensemble.covariance[k][m], pair, (False, False), *pops),
                        Cumulant(weight * ensemble.transpose_covariance[k][m], pair,
                                 (False, True), *pops),
                    )
    return tuple(out)


def _nonzero(*cumulants: Cumulant) -> tuple[Cumulant, ...]:
    return tuple(c for c in cumulants if c.coefficient != 0)
