r"""Extensive-rank random-mode couplings (Clark, Marschall, van Meegen & Litwin-Kumar,
arXiv:2409.01969): J = Σ_a d_a l_a r_aᵀ."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import sympy as sp

from fieldtheory.errors import EnsembleError, ParameterError
from fieldtheory.ir.couplings import CouplingMatrix, DenseCoupling, LowRankCoupling
from fieldtheory.ir.ensembles.base import (
    UNIT_INTERVAL,
    Constraint,
    Ensemble,
    expression_latex,
    expression_text,
    register_ensemble,
)
from fieldtheory.ir.ensembles.cumulants import (
    ModeDeterminant,
    TraceCumulant,
    variance_cumulants,
)
from fieldtheory.ir.ensembles.interpolant import ModeInterpolant
from fieldtheory.ir.ensembles.symbols import MODE_COUNT, MODE_INDEX, MODE_POSITION
from fieldtheory.ir.parameters import POSITIVE, evaluate

#: Mode positions at which an overlap profile is checked (|ρ(u)| ≤ 1).
OVERLAP_CHECKS = 1024

__all__ = ["MODE_COUNT", "MODE_INDEX", "RandomMode", "load_spectrum", "with_spectrum"]


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
        Correlation of left and right modes: a number or parameter, or — structured
        overlaps — an expression of the mode index ``a`` and ``M`` like ``spectrum``
        (a profile ρ(a/M), so that d and ρ have a joint distribution over the modes;
        |ρ| ≤ 1 is checked on every mode).

    Notes
    -----
    Disorder average (:meth:`cumulants`), for uncorrelated modes (overlap 0). Averaging
    exp(d lᵀ X r) over r and then l, both N(0, 1/N) per entry, gives
    det(1 − d² X Xᵀ/N²)^{−1/2}, so the cumulant-generating function of J is

    .. math::  W[X] = -\tfrac12 \sum_a \ln\det\big(1 - d_a^2 X X^\top/N^2\big)
               = \sum_{k\ge1} \frac{\alpha\, r_{2k}}{2k\, N^{2k-1}}
                 \operatorname{tr}\big[(X X^\top)^k\big],

    with Σ_a d_a^{2k} = M r_{2k} = αN r_{2k} (r_n = ⟨dⁿ⟩ over modes). Every k is O(N):
    extensive rank is not Gaussian. The k-th term is of degree k in the response-field
    order parameters, so the saddle point (order 2) sees only k = 1, a Gaussian ensemble
    of variance α r₂ = g_eff² (the paper's finding that two-point functions depend only
    on g_eff); the fluctuations (order 4) add k = 2, which carries r₄ and hence the
    dimension of activity, PR_D = r₂²/r₄. The moments are those of the N → ∞ spectrum:
    with the shape s (``spectrum``) read at a = uM, ⟨sⁿ⟩ = ∫₀¹ s(u)ⁿ du, and
    α r_{2k} = α⟨s^{2k}⟩ without ``gain``, α (gain²/(α⟨s²⟩))^k ⟨s^{2k}⟩ with it.

    Correlated modes (overlap ≠ 0) add words in X and Xᵀ of every order — cycles whose site
    sums are response functions, not response-field correlations — which all stay in the
    saddle point: the average is then the whole :class:`ModeDeterminant`, resummed by the
    saddle point (:mod:`fieldtheory.transforms.resummation`), whose Hessian gives the
    fluctuations. With a profile ρ(u) the random signs still make ⟨dρσ⟩ = 0.
    """

    alpha: sp.Expr
    spectrum: sp.Expr | tuple
    gain: sp.Expr | None = None
    overlap: sp.Expr = sp.Integer(0)
    averaging_rule: ClassVar[str | None] = None  # it averages itself: see cumulants()
    # max|d|(1 + √α)² bounds ‖J‖ loosely (20.6 against 6.9 realised at N = 2000, α = 1,
    # β = 3, g = 2): the simulator uses the realised norm
    step_bound_from_realisation: ClassVar[bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", sp.sympify(self.alpha))
        object.__setattr__(self, "overlap", sp.sympify(self.overlap))
        if self.gain is not None:
            object.__setattr__(self, "gain", sp.sympify(self.gain))
        if isinstance(self.spectrum, (tuple, list, np.ndarray)):
            object.__setattr__(self, "spectrum", tuple(sp.sympify(v) for v in self.spectrum))
        else:
            object.__setattr__(self, "spectrum", sp.sympify(self.spectrum))
        self.check_literals()

    def expressions(self) -> tuple[sp.Expr, ...]:
        spectrum = self.spectrum if isinstance(self.spectrum, tuple) else (self.spectrum,)
        gain = () if self.gain is None else (self.gain,)
        return (self.alpha, self.overlap, *gain, *spectrum)

    @property
    def free_symbols(self) -> set[sp.Symbol]:
        return super().free_symbols - {MODE_INDEX, MODE_COUNT}

    @property
    def overlap_profile(self) -> bool:
        """Whether the overlap depends on the mode (an expression of ``a`` or ``M``)."""
        return self.overlap.has(MODE_INDEX, MODE_COUNT)

    def constraints(self) -> tuple[Constraint, ...]:
        out = (Constraint("mode density", self.alpha, POSITIVE),)
        if not self.overlap_profile:  # a profile is checked mode by mode (validate)
            out += (Constraint("mode overlap", self.overlap, UNIT_INTERVAL),)
        return out

    def validate(self, values: Mapping[str, float]) -> None:
        super().validate(values)
        if self.overlap_profile:
            u = (np.arange(OVERLAP_CHECKS) + 0.5) / OVERLAP_CHECKS
            self.mode_overlaps(u, values, "u")

    def mode_overlaps(self, positions: np.ndarray, values: Mapping[str, float],
                      where: str = "a/M") -> np.ndarray:
        """ρ at mode positions u ∈ (0, 1) (the profile's N → ∞ form ρ(u)); a value with
        |ρ| > 1 or not finite is a named :class:`ParameterError`."""
        profile = self.overlap_function()
        free = sorted(profile.free_symbols - {MODE_POSITION}, key=str)
        fn = sp.lambdify((MODE_POSITION, *free), profile, "numpy")
        with np.errstate(all="ignore"):
            rho = np.broadcast_to(np.asarray(
                fn(positions, *[evaluate(f, values) for f in free]), dtype=float),
                positions.shape).copy()
        bad = np.flatnonzero(~(np.abs(rho) <= 1))
        if bad.size:
            k = bad[0]
            raise ParameterError(
                f"{self._name()}: mode overlap {self.overlap} = {rho[k]:g} at {where} = "
                f"{positions[k]:.4g} must lie in [-1, 1] on every mode")
        return rho

    def overlap_function(self, u: sp.Symbol = MODE_POSITION) -> sp.Expr:
        """The overlap as a function of the mode position u (a constant without profile)."""
        return self._at_position(self.overlap, u, "overlap")

    # ------------------------------------------------------------------ averaging

    def shape_function(self, u: sp.Symbol = MODE_POSITION) -> sp.Expr:
        r"""The spectral shape s(u) = lim_{M→∞} d_{uM} of an expression spectrum (before
        the ``gain`` normalisation); named :class:`EnsembleError` when there is none."""
        if isinstance(self.spectrum, tuple):  # an array: its clamped linear interpolant
            return ModeInterpolant(u, sp.Tuple(*self.spectrum))
        return self._at_position(self.spectrum, u, "spectrum")

    @staticmethod
    def _at_position(expr: sp.Expr, u: sp.Symbol, what: str) -> sp.Expr:
        """lim_{M→∞} expr(a = uM, M): a function of the mode position."""
        at_u = expr.subs(MODE_INDEX, u * MODE_COUNT)
        shape = sp.limit(at_u, MODE_COUNT, sp.oo) if at_u.has(MODE_COUNT) else at_u
        if shape.has(sp.oo, -sp.oo, sp.zoo, sp.nan, sp.Limit, MODE_COUNT):
            raise EnsembleError(
                f"random-mode {what} {expr} has no shape s(a/M) as M → ∞ "
                f"(at a = u·M it tends to {shape}); its moments are undefined"
            )
        return shape

    def shape_moment(self, n: int) -> sp.Expr:
        r"""⟨sⁿ⟩ = lim_{M→∞} (1/M) Σ_a s_aⁿ = ∫₀¹ s(u)ⁿ du of the spectral shape s."""
        u = sp.Dummy("u", positive=True)
        if isinstance(self.spectrum, tuple):
            return _interpolant_moment(self.spectrum, n, u)
        return sp.integrate(self.shape_function(u) ** n, (u, 0, 1))

    def mode_moment(self, k: int) -> sp.Expr:
        r"""α r_{2k} = (1/N) Σ_a d_a^{2k} as N → ∞ (the gain normalisation included)."""
        if self.gain is None:
            return self.alpha * self.shape_moment(2 * k)
        if k == 1:  # the normalisation itself, exact at every N
            return self.gain**2
        ratio = self.shape_moment(2 * k) / self.shape_moment(2) ** k
        return self.gain ** (2 * k) / self.alpha ** (k - 1) * ratio

    def cumulants(self, couplings, populations, order: int = 2) -> tuple:
        """Σ_k (α r_{2k}/2k) tr[(X Xᵀ)^k]/N^{2k−1} for 2k ≤ ``order`` (overlap 0); with an
        overlap, the whole resummed :class:`ModeDeterminant` (at every order)."""
        (coupling,) = couplings
        if self.overlap != 0:
            return self._determinant(coupling, populations, order)
        out = variance_cumulants(coupling, self.mode_moment(1), populations) if order >= 2 else ()
        for k in range(2, order // 2 + 1):
            out += (TraceCumulant(self.mode_moment(k) / (2 * k), coupling, k),)
        return out

    def _determinant(self, coupling, populations, order: int) -> tuple:
        """The correlated modes' W, kept whole (every order enters the saddle point; its
        Hessian, at ``order`` 4, :func:`fieldtheory.transforms.resummation.resummed_hessian`)."""
        why = None
        if len(populations) != 1:
            why = f"correlated modes are written for one population, not {len(populations)}"
        elif isinstance(self.spectrum, tuple) and not all(v.is_number
                                                          for v in self.spectrum):
            why = "an array spectrum resummed with correlated modes must hold numbers"
        if why is not None:
            raise EnsembleError(f"coupling {coupling} (random modes, overlap {self.overlap}): "
                                f"{why}")
        return (ModeDeterminant(coupling, self.alpha, self.overlap_function(),
                                self.shape_function(), self.mode_moment(1),
                                populations[0].name),)

    def statistics(self, values) -> dict[str, float]:
        r"""Connectivity statistics at ``values``: the effective rank α·PR_D
        (PR_D = r₂²/r₄ of the spectrum) and ``pr_singular`` = PR_S/N of the squared
        singular values of J, (Σs²)²/(N Σs⁴) = α PR_D/(1 + 2α PR_D) as N → ∞ (the modes are
        not orthogonal: tr(JJᵀ)²/N = g⁴(2 + 1/(α PR_D)); Clark et al., arXiv:2409.01969).
        A measured connectome's singular values give α PR_D = PR_S/(1 − 2 PR_S)."""
        alpha = evaluate(self.alpha, values)
        ratio = evaluate(self.shape_moment(2) ** 2 / self.shape_moment(4), values)
        rank = alpha * ratio
        return {"effective_rank": rank, "pr_singular": rank / (1 + 2 * rank)}

    # ------------------------------------------------------------------ simulation

    def modes(self, N: int, values: Mapping[str, float]) -> np.ndarray:
        """The spectrum d_a, a = 1..M, for N sites (normalised if ``gain`` is set)."""
        self.validate(values)
        alpha = evaluate(self.alpha, values)
        M = max(1, round(alpha * N))
        if isinstance(self.spectrum, tuple):
            # an array spectrum is a shape on (0, 1), read off at the M mode positions
            shape = np.array([evaluate(v, values) for v in self.spectrum])
            grid = (np.arange(shape.size) + 0.5) / shape.size
            d = np.interp((np.arange(M) + 0.5) / M, grid, shape)
        else:
            d = _per_mode(self.spectrum, M, values)
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
        overlap = evaluate(self.overlap, values) if not self.overlap_profile else None
        if overlap is None:  # a profile: ρ_a at every mode index, |ρ_a| ≤ 1 checked
            overlap = _per_mode(self.overlap, M, values)
            bad = np.flatnonzero(~(np.abs(overlap) <= 1))
            if bad.size:
                raise ParameterError(
                    f"{self._name()}: mode overlap {self.overlap} = {overlap[bad[0]]:g} at "
                    f"a = {bad[0] + 1} (M = {M}) must lie in [-1, 1]")
        left = rng.standard_normal((N, M)) / math.sqrt(N)
        right = rng.standard_normal((N, M)) / math.sqrt(N)
        if np.any(overlap != 0):
            signs = rng.choice([-1.0, 1.0], size=M)
            right = overlap * signs * left + np.sqrt(1 - np.square(overlap)) * right
        factors = LowRankCoupling(left.astype(dtype), d.astype(dtype), right.astype(dtype))
        # O(N·M) work per product only pays while M < N/2
        return factors if M < N / 2 else DenseCoupling(factors.dense())

    def sample_nbytes(self, N: int, values, itemsize: int) -> int:
        """Two N × M factors (float64 draws and their cast), dense N × N once M ≥ N/2."""
        M = max(1, round(evaluate(self.alpha, values) * N))
        low_rank = 2 * N * M * (itemsize + 8)
        return low_rank if M < N / 2 else low_rank + N * N * itemsize

    def spectral_radius_bound(self, values) -> float:
        # |λ| ≤ ‖J‖ ≤ max|d| ‖L‖‖R‖ and ‖L‖ → 1 + √α (Marchenko–Pastur edge)
        probe = self.modes(1000, values)
        alpha = evaluate(self.alpha, values)
        return float(np.max(np.abs(probe)) * (1 + math.sqrt(alpha)) ** 2)

    # ------------------------------------------------------------------ printing

    def text(self, coupling) -> str:
        spectrum = "array" if isinstance(self.spectrum, tuple) else expression_text(self.spectrum)
        out = (
            f"{coupling.name} = Σ_a d_a l_a r_aᵀ, a = 1..M, "
            f"M = round(({expression_text(self.alpha)})·N), d_a ∝ {spectrum}"
        )
        if self.gain is not None:
            out += f", (1/N)Σ_a d_a² = ({expression_text(self.gain)})²"
        if self.overlap != 0:
            out += f", corr(l_a, r_a) = ({expression_text(self.overlap)})·σ_a"
        return out

    def latex(self, coupling) -> str:
        spectrum = (r"\text{array}" if isinstance(self.spectrum, tuple)
                    else expression_latex(self.spectrum))
        out = (
            rf"{coupling.name} = \sum_{{a=1}}^{{M}} d_a\, l_a r_a^\top, \quad "
            rf"M = \operatorname{{round}}\left(({expression_latex(self.alpha)}) N\right), "
            rf"\quad d_a \propto {spectrum}"
        )
        if self.gain is not None:
            out += (rf", \quad \frac{{1}}{{N}} \sum_a d_a^2 = "
                    rf"\left({expression_latex(self.gain)}\right)^2")
        if self.overlap != 0:
            out += (rf", \quad \operatorname{{corr}}(l_a, r_a) = "
                    rf"\left({expression_latex(self.overlap)}\right) \sigma_a")
        return out


def _per_mode(expr: sp.Expr, M: int, values: Mapping[str, float]) -> np.ndarray:
    """An expression of the mode index a and M at a = 1..M (parameters at ``values``)."""
    a, m = sp.Symbol("_a"), sp.Symbol("_M")
    expr = expr.subs({MODE_INDEX: a, MODE_COUNT: m})
    names = sorted(values)
    fn = sp.lambdify((a, m, *[sp.Symbol(k, real=True) for k in names]), expr, "numpy")
    raw = fn(np.arange(1, M + 1, dtype=float), float(M), *[values[k] for k in names])
    return np.broadcast_to(np.asarray(raw, dtype=float), (M,)).copy()


def _interpolant_moment(shape: tuple, n: int, u: sp.Symbol) -> sp.Expr:
    r"""∫₀¹ s(u)ⁿ du for the clamped linear interpolant through (k + ½)/K ↦ s_k.

    The same interpolant :meth:`RandomMode.modes` reads at the M mode positions.
    """
    K = len(shape)
    edge = sp.Rational(1, 2 * K)  # constant below the first and above the last node
    total = edge * (shape[0] ** n + shape[-1] ** n)
    for left, right in itertools.pairwise(shape):
        total += sp.integrate((left + (right - left) * u) ** n, (u, 0, 1)) / K
    return total


def load_spectrum(path) -> tuple[float, ...]:
    """Mode strengths d_a (a shape, normalised by the ensemble's gain) from a ``.npy`` or
    text file (:func:`~fieldtheory.ir.data_files.load_vector`: named errors for a file that
    is missing, not numeric, not one-dimensional, empty, or has a negative, NaN or infinite
    entry (its index named), or is all zero)."""
    from fieldtheory.ir.data_files import load_vector

    return load_vector(path, "spectrum", "mode strength")


def with_spectrum(model, spectrum: tuple[float, ...]):
    """``model`` with the spectrum of its random-mode coupling(s) replaced by the array
    ``spectrum`` (a shape on (0, 1), normalised by the ensemble's gain as before)."""
    import dataclasses

    from fieldtheory.errors import ParameterError

    couplings, replaced = [], False
    for coupling, ensemble in model.action.couplings:
        if isinstance(ensemble, RandomMode):
            ensemble = dataclasses.replace(ensemble, spectrum=tuple(spectrum))
            replaced = True
        couplings.append((coupling, ensemble))
    if not replaced:
        raise ParameterError(f"model {model.name} has no random-mode coupling whose spectrum "
                             f"a --spectrum file could replace")
    action = dataclasses.replace(model.action, couplings=tuple(couplings))
    return dataclasses.replace(model, action=action)
