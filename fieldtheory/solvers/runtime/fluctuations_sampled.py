r"""O(1/N) observables of a sampled, non-Gaussian site.

A site is not Gaussian when its drift is nonlinear, or when partial symmetry ρ ≠ 0 gives a
nonlinear φ a self-coupling kernel ρg²∫R_φ(t − s)φ(x(s))ds (Martí, Brunel & Ostojic, PRE
97, 062314 (2018)). The fluctuation stage's two-δ part — all that ψ, PR/N and the
population spectra need (:mod:`~fieldtheory.solvers.runtime.fluctuations`, "leading
singularities") — holds for any stationary mixing site: clustering pairs the times of a
four-point cumulant into products of two-point functions. So the Hessian is evaluated
exactly as for a Gaussian site, with the site's two-point functions sampled instead of
computed by Gaussian quadrature: the Monte-Carlo runtime's converged paths give (option
``statistics`` of :func:`~fieldtheory.solvers.runtime.monte_carlo.solve_monte_carlo`)

* G_PQ(τ) = ⟨P(t + τ)Q(t)⟩_c for every pair of x and the site functions, on τ ∈ [−W, W]
  (a non-Gaussian site need not be time-reversal symmetric, so the cross pairs carry an
  odd part),
* R_P(τ) = ⟨P'(x(t + τ)) y(t + τ)⟩, y the tangent dynamics after a kick (the MSRDJ
  response ⟨P(t + τ) x̃(t)⟩),
* ⟨P'Q'⟩, which fixes the kink of G_PQ at τ = 0: with white noise D the slope of its even
  part jumps by −D⟨P'Q'⟩ (Itô: A'(0⁺) − A'(0⁻) = ⟨L(PQ)⟩ − D⟨P'Q'⟩ and ⟨L(PQ)⟩ = 0 in
  the stationary state, whatever the drift's memory).

**Transforms.** Ĝ_PQ(ω) = ∫dτ e^{−iωτ}G_PQ(τ): the even part minus κe^{−|τ|}
(κ = D⟨P'Q'⟩/2, exact transform 2κ/(1 + ω²)) and the odd part minus σ τe^{−|τ|} (σ its
slope at 0, transform −4iσω/(1 + ω²)²) by the trapezoid rule on the sampled lags, for
|ω| ≤ π/(2 dt); beyond, the subtracted models alone (the tails 1/ω² are then exact).
R̂_P(ω) = ∫₀^∞ dτ e^{−iωτ}R_P(τ) likewise with r₀e^{−τ} + r₁τe^{−τ} taken out
(r₀ = R_P(0) = ⟨P'⟩, r₁ the rest's slope). **Maps** (lags in steps, θ per step): the
Fourier series over the window, Ĝ(θ) = Σ_{|k|≤W} G(k)e^{−ikθ} and R̂(θ) = Σ_k R(k)e^{−ikθ}
(R(0) = 0, R_P(1) = ⟨P'⟩), with no kink to model (a map's noise makes none). Beyond the
window W the curves are taken as zero: the site must mix within it — |C_x(τ)|/C_x(0)
over the window's last tenth must stay below ``tail`` (option, default 5 %), else the
problem is refused by name (chaotic tanh networks with ρ = +0.5 relax slowly:
C_x(30)/C_x(0) ≈ 0.3–0.5 at g = 1.5–3, D ≤ 1).

**Errors.** The Monte-Carlo runtime runs B independent self-consistent replicas. The
observables are evaluated on the replica-mean curves, and again on the B leave-one-out
means (with half the frequency nodes: only their spread is used); ``stderr`` is their
jackknife error (the observables are strongly nonlinear in the
curves — the resolvent 1/|1 − g²S_φS_φ|² near its pole — so one replica's own curves would
give a wild, useless spread). Each replica carries a bias O(1/paths) of the
self-consistency, which this does not include.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fieldtheory.solvers.runtime.common import SolverInputError, register_runtime
from fieldtheory.solvers.runtime.fluctuations import (
    FluctuationProblem,
    cosine_sum,
    evaluate_fluctuations,
)

__all__ = ["SampledSiteStatistics", "solve_sampled_fluctuations"]

#: Stderr keys: every observable the evaluation returns, per population too.
_OBSERVED = ("dimension", "dimension_z", "psi", "population_variance", "population_spectrum",
             "population_spectrum_phi", "cross_covariance")


@dataclass(frozen=True)
class SampledSiteStatistics:
    """One population's sampled site (the arrays of
    :func:`~fieldtheory.solvers.runtime.monte_carlo_site.site_statistics`, replicas along
    the first axis). ``mean`` is the site's mean as the runtime should take it (0 in the
    symmetric phase, where it vanishes by symmetry and the sample's is noise)."""

    mean: float
    step: float
    correlations: dict
    responses: dict
    slope_products: dict
    noise: float
    leak: float
    discrete: bool = False

    @property
    def replicas(self) -> int:
        return next(iter(self.responses.values())).shape[0]

    @property
    def lags(self) -> np.ndarray:
        width = next(iter(self.responses.values())).shape[1]
        return self.step * np.arange(width)

    def pick(self, left_out: int | None) -> SampledSiteStatistics:
        """The replica mean (one row), without replica ``left_out`` (None: of all)."""

        def take(a):
            a = np.asarray(a, dtype=float)
            if left_out is not None:
                a = np.delete(a, left_out, axis=0)
            return a.mean(axis=0, keepdims=True)

        return SampledSiteStatistics(
            self.mean, self.step, {k: take(v) for k, v in self.correlations.items()},
            {k: take(v) for k, v in self.responses.items()},
            {k: take(v) for k, v in self.slope_products.items()}, self.noise, self.leak,
            self.discrete)


def _label(factor) -> str:
    return "x" if factor.kind == "x" else factor.label


class SampledSpectra:
    """The interface of the Gaussian runtime's site spectra, from sampled curves (one
    replica row of :class:`SampledSiteStatistics`)."""

    def __init__(self, site: SampledSiteStatistics):
        self.site = site
        self.lags = site.lags
        self.c0 = float(site.correlations["x", "x"][0, site.lags.size - 1])
        self._cache: dict = {}

    def _need(self, table: dict, key, what: str):
        if key not in table:
            raise SolverInputError(f"the sampled site has no {what} {key!r} (sampled: "
                                   f"{sorted(table)})")
        return table[key][0]

    def gain(self, factor) -> float:
        """⟨f'⟩ = R_f(0) (1 for x); a map's R_f(1) (its kick acts one step later)."""
        lag = 1 if self.site.discrete else 0
        return float(self._need(self.site.responses, _label(factor), "response")[lag])

    def pair_covariance(self, f, g) -> np.ndarray:
        """The even part of G_fg at the lags τ ≥ 0."""
        curve = self._need(self.site.correlations, (_label(f), _label(g)), "correlation")
        middle = self.lags.size - 1
        return 0.5 * (curve[middle:] + curve[middle::-1])

    def __call__(self, p, q, omega: np.ndarray) -> np.ndarray:
        omega = np.asarray(omega, dtype=float)
        key = (p.kind, p.label, q.kind, q.label, omega.tobytes())
        if key not in self._cache:
            self._cache[key] = self._spectrum(p, q, omega)
        return self._cache[key]

    def _spectrum(self, p, q, omega):
        if p.kind == "response" and q.kind == "response":
            return np.zeros(omega.shape, dtype=complex)
        if q.kind == "response":
            return self._response(p, omega)
        if p.kind == "response":
            return self._response(q, -omega)
        return self._pair(p, q, omega)

    def _inside(self, omega):
        return np.abs(omega) <= math.pi / (2 * self.site.step)

    def _pair(self, p, q, omega):
        """Ĝ_pq(ω) of the two-sided sampled curve (module docstring)."""
        h, lags = self.site.step, self.lags
        curve = self._need(self.site.correlations, (_label(p), _label(q)), "correlation")
        middle = lags.size - 1
        forward, backward = curve[middle:], curve[middle::-1]
        even, odd = 0.5 * (forward + backward), 0.5 * (forward - backward)
        if self.site.discrete:  # a map: the Fourier series over the window's lags itself
            weights = np.full(lags.shape, 2.0)
            weights[0] = 1.0
            return (cosine_sum(weights * even, 1.0, omega)
                    - 1j * (np.sin(np.outer(omega, lags)) @ (weights * odd)))
        kappa = 0.5 * self.site.noise * float(
            self._need(self.site.slope_products, (_label(p), _label(q)), "slope product"))
        sigma = (8 * odd[1] - odd[2]) / (6 * h) if lags.size > 2 else 0.0
        weights = np.full(lags.shape, 2.0)
        weights[0] = 1.0
        weights[-1] = 1.0
        even_rest = even - kappa * np.exp(-lags)
        odd_rest = odd - sigma * lags * np.exp(-lags)
        out = (2 * kappa / (1 + omega**2) - 4j * sigma * omega / (1 + omega**2) ** 2).astype(
            complex)
        inside = self._inside(omega)
        w = omega[inside]
        cosine = h * cosine_sum(weights * even_rest, h, w)
        sine = h * (np.sin(np.outer(w, lags)) @ (weights * odd_rest))
        out[inside] += cosine - 1j * sine
        return out

    def _response(self, p, omega):
        """R̂_p(ω) = ∫₀^∞ R_p(τ)e^{−iωτ}dτ (module docstring)."""
        h, lags = self.site.step, self.lags
        curve = self._need(self.site.responses, _label(p), "response")
        if self.site.discrete:  # a map: Σ_k R(k) e^{−iωk} over the window (R(0) = 0)
            return np.exp(-1j * np.outer(omega, lags)) @ curve
        r0 = float(curve[0])
        rest = curve - r0 * np.exp(-lags)
        r1 = (4 * rest[1] - rest[2]) / (2 * h) if lags.size > 2 else 0.0
        rest = rest - r1 * lags * np.exp(-lags)
        weights = np.ones(lags.shape)
        weights[[0, -1]] = 0.5
        out = (r0 / (1 + 1j * omega) + r1 / (1 + 1j * omega) ** 2).astype(complex)
        inside = self._inside(omega)
        w = omega[inside]
        out[inside] += h * (np.exp(-1j * np.outer(w, lags)) @ (weights * rest))
        return out


#: Gauss–Legendre nodes per panel and the spectral floor of the sampled route's grid.
SAMPLED_ORDER, SAMPLED_FLOOR = 8, 1e-4

#: The largest |C_x(τ)|/C_x(0) allowed over the last tenth of the sampled window (option
#: ``tail``): beyond the window the curves are taken as zero.
SAMPLED_TAIL = 0.05


def window_tail(site: SampledSiteStatistics) -> float:
    """max |C_x(τ)|/C_x(0) over the last tenth of the window (replica-mean curve)."""
    curve = np.asarray(site.correlations["x", "x"], dtype=float).mean(axis=0)
    middle = site.lags.size - 1
    forward = curve[middle:]
    last = forward[-max(1, forward.size // 10):]
    return float(np.max(np.abs(last)) / forward[0])


def applies_sampled(problem) -> bool:
    """A problem whose sites are sampled (:class:`SampledSiteStatistics`)."""
    return (isinstance(problem, FluctuationProblem) and bool(problem.sites)
            and all(isinstance(s, SampledSiteStatistics) for s in problem.sites.values()))


def _jackknife(rows: list):
    """The jackknife standard error √((B − 1)/B Σ_b (θ₋b − θ̄)²) of every number and
    curve, from the B leave-one-out evaluations ``rows``."""
    first = rows[0]
    if isinstance(first, dict):
        out = {}
        for key, value in first.items():
            if key in ("omega", "tau"):
                out[key] = value
            elif isinstance(value, (dict, float, int, np.ndarray, np.floating)):
                out[key] = _jackknife([r[key] for r in rows])
        return out
    stack = np.asarray(rows, dtype=float)
    B = len(rows)
    error = np.sqrt((B - 1) / B * ((stack - stack.mean(axis=0)) ** 2).sum(axis=0))
    return float(error) if error.ndim == 0 else error


def _observed(result: dict) -> dict:
    out = {k: result[k] for k in _OBSERVED if k in result}
    if "populations" in result:
        out["populations"] = {name: _observed(entry)
                              for name, entry in result["populations"].items()}
    return out


@register_runtime("sampled_fluctuations", applies=applies_sampled, priority=40,
                  needs=lambda problem: False, kind="fluctuations")
def solve_sampled_fluctuations(problem: FluctuationProblem, grid=None, options=None) -> dict:
    r"""The leading O(1/N) observables of sampled sites (same keys as
    :func:`~fieldtheory.solvers.runtime.fluctuations.solve_gaussian`) with ``stderr`` —
    the replicas' spread — under the same keys. Option ``spectra`` (True): also
    ``site_spectra`` {population: :class:`SampledSpectra` of the replica mean} (objects,
    in-process only: the input of an independent second route)."""
    options = dict(options or {})
    options.pop("accuracy", None)  # the quadrature is not the error here
    keep_spectra = bool(options.pop("spectra", False))
    # sampled spectra are known to the sampling error (≳ 1e-3), not to 1e-12: a grid that
    # ends where the spectra fall below 1e-4 of their peak, 8 nodes per panel (relative
    # quadrature error ≈ 1e-7 on Gaussian sites; ≈ 5× faster)
    options.setdefault("order", SAMPLED_ORDER)
    options.setdefault("spectral_floor", SAMPLED_FLOOR)
    sites = problem.sites
    limit = float(options.pop("tail", SAMPLED_TAIL))
    for name, site in sites.items():
        tail = window_tail(site)
        if not tail < limit:
            raise SolverInputError(
                f"population {name}: the sampled C_x has not decayed within the Monte-Carlo "
                f"window τ ≤ {site.lags[-1]:g} (|C(τ)|/C(0) = {tail:.3f} over its last tenth, "
                f"limit {limit:g}); the spectra would be truncated — a longer window "
                f"(options={{'monte_carlo': {{'window': …}}}}, records t_record ≫ window), or a "
                f"state that mixes faster")
    replicas = min(s.replicas for s in sites.values())
    if replicas < 2:
        raise SolverInputError(f"the sampled site has {replicas} replica; its errors need ≥ 2")

    def evaluate(left_out, settings):
        spectra = {name: SampledSpectra(site.pick(left_out)) for name, site in sites.items()}
        return evaluate_fluctuations(problem, spectra, settings)

    result = evaluate(None, options)
    # the leave-one-out evaluations enter only through their spread, in which the
    # quadrature's error (common to all) cancels: half the nodes per panel (¼ the cost)
    coarse = {**options, "order": max(4, int(options.get("order", 12)) // 2)}
    rows = [_observed(evaluate(b, coarse)) for b in range(replicas)]
    result["stderr"] = _jackknife(rows)
    result["replicas"] = replicas
    if keep_spectra:  # in-process only (a second route's input): the replica-mean spectra
        result["site_spectra"] = {name: SampledSpectra(site.pick(None))
                                  for name, site in sites.items()}
    return result
