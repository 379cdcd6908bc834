r"""The renormalized finite-N theory: the population mode fed back into the single site.

``solve(model, params, order="1/N", N=N)`` (CLI ``solve MODEL --order 1/N -N N``).

Near the magnetic transition of a network with mean coupling (J_ij = J0/N + g w_ij/√N,
ε = 1 − J0⟨φ'⟩ → 0) the population average m(t) = (1/N)Σ_j φ(x_j(t)) fluctuates with
variance ~ 1/(Nε) and correlation time ~ 1/ε (critical slowing down), and every unit
receives it as a common input J0·m(t). Dick, van Meegen & Helias (arXiv:2309.14973,
"Linking network- and neuron-level correlations by renormalized field theory") show that
this couples the levels: the population fluctuations enter the single unit, whose
autocorrelation gains a slow component, and the single-unit statistics (its gain ⟨φ'⟩ at
the larger variance) set the population propagator. Their equations are not reachable
from this project's sources; what is solved here is this module's own self-consistent
one-loop (Hartree) treatment of the population mode, derived in the collective-field
language of the rest of the pipeline (docs/fluctuations.md, "Renormalized theory"):

* the one-time conjugate field m̃ that the site sees as a mean input, μ(t) = Σ_l B_l m_l(t),
  fluctuates at O(1/N); integrating its Gaussian fluctuations in the site's generating
  functional adds to the site an input of covariance

  .. math::  K(\tau) = \frac{B^2}{N}\,\big[C_\phi(\tau) + N\,\overline{C^\phi_{ij}}(\tau)\big]
             = B^2\,\mathrm{Cov}\big(m(t+\tau), m(t)\big),

  the population-average covariance of φ (its i = j part C_φ/N and the mean
  cross-covariance of φ, both from the fluctuation runtime);
* the saddle point is solved again with that input (the multi-population lattice runtime,
  option ``extra_covariance``), the fluctuation stage evaluated on the new site (its ⟨φ'⟩,
  C_φ and C_x), and K recomputed, until K no longer changes (relaxed fixed-point
  iteration).

Kept: every term enhanced near the transition, O(1/(Nε)) — the variance of the population
mode in the single site and the site's statistics in the population propagator, to all
orders in 1/(Nε). Not kept: O(1/N) terms that the transition does not enhance (the
reaction of a unit on itself through m, the fluctuations of the two-time order parameters
and the cubic vertices of the one-loop shift); at J0 = 0 the theory is the N → ∞ one, and
its O(1/N) shifts of Δ0 and ⟨φ'⟩ are not computed.

The leading-order result (no self-consistency: K from the N → ∞ spectra, the site solved
once with it, the population keys of N → ∞) is reported beside it as ``leading_order``.

Several populations: population α's input is Σ_p B_αp m_p, so its K_α needs the
covariances of the population modes, N·Cov(m_p, m_q); the runtime gives each
population's own and, for every pair, that of their joint average (the network's when
there are two), which fix the (symmetric) cross-covariance of the pair.

Scope: any number of populations, continuous time, Gaussian sites of zero mean (what the
fluctuation runtime takes), mean inputs B_αp m_p of the observed φ. Maps go to
:mod:`fieldtheory.window_solve` (the one-loop shifts on a time window).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import sympy as sp

from fieldtheory.errors import ConvergenceError, ParameterError
from fieldtheory.fluctuation_solve import fine_step
from fieldtheory.ir.model import Model, load_model
from fieldtheory.solvers.runtime.fluctuations import cosine_sum

__all__ = ["solve_renormalized"]

#: Relative change of K (max norm) at which the iteration stops, and the most steps taken.
TOLERANCE, MAX_ITERATIONS = 1e-7, 40


def _population_couplings(derivation, symbols: dict) -> np.ndarray:
    """B (P × P): B[α, p] the coefficient of the population average of φ_p (population p's
    observed φ) in population α's mean input (0 without mean coupling); refuses what the
    theory does not cover."""
    site = derivation.site_problem()
    if site.step is not None:
        raise ParameterError("renormalized theory: continuous time only (the model is a map)")
    names = [population.population for population in site.sites]
    phis = dict(zip(names, site.population_phis, strict=True))
    couplings = np.zeros((len(names), len(names)))
    for alpha, population in enumerate(site.sites):
        for index, coefficient in population.mean_coefficients:
            term = site.means[index]
            if sp.simplify(term.left - phis[term.population]) != 0:
                raise ParameterError(
                    f"renormalized theory: the mean input of {population.population} averages "
                    f"{term.left}, not the observed φ of {term.population}; only the "
                    "population modes of φ are fed back")
            couplings[alpha, names.index(term.population)] += float(
                sp.sympify(coefficient).xreplace(symbols))
    return couplings


#: Uniform frequency grid of the feedback's transform: largest step and range (the
#: population peak has width ε = 1 − J0⟨φ'⟩, the cross spectrum decays like C_φ(ω)/ω²
#: beyond it).
OMEGA_STEP, OMEGA_MAX = 0.004, 40.0
#: K is cut (with a smooth taper) where it has fallen to this fraction of K(0).
CUT = 1e-9


def feedback_omegas(dtau: float) -> np.ndarray:
    """ω_k = k·dω ≤ OMEGA_MAX with dω ≤ OMEGA_STEP and h·dω = 2π/M, M a power of two, h
    the saddle's lag step: every cosine transform between the saddle's lags and this grid
    is then one FFT (:func:`~fieldtheory.solvers.runtime.fluctuations.cosine_sum`)."""
    h = fine_step(dtau)
    M = 2 ** math.ceil(math.log2(2 * math.pi / (h * OMEGA_STEP)))
    d = 2 * math.pi / (M * h)
    return d * np.arange(int(OMEGA_MAX / d) + 1)


def _transform(spectrum: Mapping, lags: np.ndarray) -> np.ndarray:
    """∫dω/2π e^{iωτ} S(ω) of an even spectrum on the uniform grid, at ``lags`` (one FFT)."""
    omega = np.asarray(spectrum["omega"], dtype=float)
    d = omega[1] - omega[0]
    weights = np.full(omega.size, d)
    weights[[0, -1]] /= 2
    return cosine_sum(weights * np.asarray(spectrum["values"], dtype=float), d, lags) / np.pi


def _feedback(parts, couplings: np.ndarray, N: int, fractions: np.ndarray):
    """[(lags, K_α)] per population: K_α(τ) = Σ_pq B_αp B_αq Cov(m_p(t+τ), m_q(t)), with
    N·Cov(m_p, m_p) = [C_φ,p + X_p]/f_p (the i = j part from the saddle's C_φ of p, X_p the
    cross spectrum of its population scope, transformed on the uniform grid by one FFT)
    and for each pair p ≠ q N·Cov(m_p, m_q) from the cross spectrum X of their joint
    average f_p m_p + f_q m_q (the network scope when P = 2, else the runtime's ``pairs``),
    [X − f_p X_p − f_q X_q]/(2 f_p f_q) (its symmetric part: K is even). Each K_α is cut
    after its last value above CUT·K_α(0), with a cosine taper over the last tenth. None
    when B = 0."""
    if not np.any(couplings):
        return None
    saddle, raw = parts[0], parts[1]
    observables = saddle.observables
    names = list(observables.populations) or [None]
    site_curves = [observables if name is None else observables.populations[name]
                   for name in names]
    lags = np.asarray(site_curves[0]["autocorrelation_phi"]["tau"], dtype=float)
    scopes = [raw] if names == [None] else [raw["populations"][name] for name in names]
    P = len(names)
    covariance = np.zeros((P, P, lags.size))  # N·Cov(m_p(t+τ), m_q(t))
    for p in range(P):
        c_phi = np.asarray(site_curves[p]["autocorrelation_phi"]["values"], dtype=float)
        covariance[p, p] = (c_phi + _transform(scopes[p]["cross_spectrum_phi"], lags)
                            ) / fractions[p]
    for p, q in itertools.combinations(range(P), 2):
        # the joint average of p and q (the whole network when P = 2): f_p m_p + f_q m_q
        joint = (raw if P == 2 else raw["pairs"][f"{names[p]}+{names[q]}"])
        joint = joint["cross_spectrum_phi"]
        combined = {"omega": joint["omega"], "values": (
            np.asarray(joint["values"], dtype=float)
            - fractions[p] * np.asarray(scopes[p]["cross_spectrum_phi"]["values"], dtype=float)
            - fractions[q] * np.asarray(scopes[q]["cross_spectrum_phi"]["values"], dtype=float))
            / (2 * fractions[p] * fractions[q])}
        covariance[p, q] = covariance[q, p] = _transform(combined, lags)
    out = []
    for alpha in range(P):
        values = np.einsum("p,q,pqt->t", couplings[alpha], couplings[alpha], covariance) / N
        if not np.all(np.isfinite(values)) or values[0] < 0:
            raise ConvergenceError(f"renormalized theory: the population feedback K(0) = "
                                   f"{values[0]!r} is not a non-negative number")
        if values[0] == 0:
            out.append((lags[:2], np.zeros(2)))
            continue
        large = np.flatnonzero(np.abs(values) >= CUT * values[0])
        last = min(int(large[-1]) + 1, lags.size - 1)
        taper = np.ones(last + 1)
        start = (9 * last) // 10  # the last tenth of the support: K ≲ 1e-8 K(0) there
        taper[start:] = 0.5 * (1 + np.cos(np.pi * np.arange(last + 1 - start)
                                          / max(last - start, 1)))
        out.append((lags[: last + 1], values[: last + 1] * taper))
    return out


#: Past iterates Anderson acceleration mixes.
MEMORY = 4


def _anderson(iterates: list, images: list) -> np.ndarray:
    """The next iterate of x = G(x) by Anderson acceleration (type II, full mixing) from
    the last iterates x_k and their images G(x_k)."""
    residuals = [g - x for x, g in zip(iterates, images, strict=True)]
    if len(residuals) < 2:
        return images[-1]
    d_f = np.stack([b - a for a, b in itertools.pairwise(residuals)], axis=1)
    d_g = np.stack([b - a for a, b in itertools.pairwise(images)], axis=1)
    gamma, *_ = np.linalg.lstsq(d_f, residuals[-1], rcond=None)
    return images[-1] - d_g @ gamma


def solve_renormalized(solve, model: Model | str, params: Mapping[str, float] | None = None,
                       N: int | None = None, *, tau_max: float = 20.0, dtau: float = 0.25,
                       options: Mapping[str, Any] | None = None):
    """The renormalized theory of ``model`` at ``params`` and network size ``N`` (module
    docstring): a :class:`~fieldtheory.results.TheoryResult` whose ``observables`` hold
    the finite-N single-unit ``variance``, ``autocorrelation`` (with its slow component),
    ``autocorrelation_phi`` and the O(1/N) population keys (N-scaled as at N → ∞:
    N·Var, N·S(ω), N·mean_{i≠j} C_ij) of the self-consistent solution, ``leading_order``
    the same keys without self-consistency, ``N`` and ``info`` (iterations, the relative
    changes of K, K(0)). ``solve`` is :func:`fieldtheory.solve.solve`. ``options`` go to
    the fluctuation runtime; ``population_only`` True keeps its final pass to the one-time
    keys too (no two-time ``dimension``/``psi``: about half the cost).
    """
    from fieldtheory.derive import derive
    from fieldtheory.fluctuation_solve import _merged, _on_output_grid, fluctuation_parts

    model = load_model(model)
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 2:
        raise ParameterError(f"renormalized theory: N must be an integer ≥ 2, got {N!r}")
    N = int(N)
    values = model.parameters.resolve(params)
    symbols = {p.symbol: sp.Float(values[p.name]) for p in model.parameters}
    derivation = derive(model, order="1/N")
    if derivation.site_problem().step is not None:  # maps: the window's one-loop shifts
        from fieldtheory.window_solve import solve_window

        return solve_window(solve, model, values, N, options)
    couplings = _population_couplings(derivation, symbols)
    fractions = np.array([float(sp.sympify(f).xreplace(symbols))
                          for f in derivation.site_problem().fractions])

    # the fluctuation runtime's option ``population_only`` kept for the final pass too:
    # the one-time keys alone, without the two-time dimension (which costs most)
    one_time = bool((options or {}).get("population_only", False))

    def parts_with(feedback, population_only=True):
        def saddle(model_, params_, *, tau_max, dtau):
            extra = {} if feedback is None else {"extra_covariance": feedback}
            return solve(model_, params_, tau_max=tau_max, dtau=dtau, method="multi",
                         options=extra)
        wanted = {**dict(options or {}), "omega": feedback_omegas(dtau),
                  "population_only": population_only or one_time,
                  "pairs": len(fractions) > 2}
        return fluctuation_parts(saddle, model, values, tau_max=tau_max, dtau=dtau,
                                 options=wanted, fine_lags=True)

    def result(parts, population_raw=None):
        saddle, raw, step, runtime = parts
        saddle = replace(saddle, observables=_on_output_grid(saddle.observables, tau_max,
                                                             dtau))
        merged = _merged(saddle, population_raw if population_raw is not None else raw,
                         step, runtime)
        return replace(merged, observables=_thinned(merged.observables))

    infinite = parts_with(None)
    first = _feedback(infinite, couplings, N, fractions)
    if first is None:  # no mean coupling: nothing is enhanced, the N → ∞ theory
        final = result(parts_with(None, population_only=False))
        return replace(final, N=N, leading_order=final.observables,
                       method=f"renormalized:{final.method}",
                       info={"iterations": 0, "changes": [], "feedback_variance": 0.0})
    # the N → ∞ feedback is the slowest: later ones fit on its lags; one vector of all K_α
    grids = [lags for lags, _ in first]
    edges = np.cumsum([0] + [g.size for g in grids])

    def split(vector):
        return [(g, vector[a:b]) for g, a, b in zip(grids, edges[:-1], edges[1:],
                                                     strict=True)]

    def image(current):
        parts = parts_with(split(current))
        new = _feedback(parts, couplings, N, fractions)
        return np.concatenate([np.interp(g, lags, k, right=0.0)
                               for g, (lags, k) in zip(grids, new, strict=True)]), parts

    current = np.concatenate([k for _, k in first])
    scale = max(float(current[a]) for a in edges[:-1])
    iterates, images, changes = [], [], []
    for _ in range(MAX_ITERATIONS):
        try:
            mapped, parts = image(current)
        except ConvergenceError:
            if not images:
                raise
            # an extrapolated K need not be a covariance: fall back to the plain iterate
            current, iterates, images = images[-1], [], []
            mapped, parts = image(current)
        if not iterates:
            leading = result(parts, population_raw=infinite[1]).observables
        changes.append(float(np.abs(mapped - current).max() / scale))
        if changes[-1] < TOLERANCE:
            current = mapped
            break
        iterates, images = [*iterates, current][-MEMORY:], [*images, mapped][-MEMORY:]
        current = _anderson(iterates, images)
    else:
        raise ConvergenceError(
            f"renormalized theory at N = {N}: the population feedback did not converge in "
            f"{MAX_ITERATIONS} steps (relative changes {changes[-3:]})", history=changes)
    final = result(parts_with(split(current), population_only=False))
    names = list(final.observables.populations)
    at_zero = [float(current[a]) for a in edges[:-1]]
    variance = at_zero[0] if len(at_zero) == 1 else dict(zip(names, at_zero, strict=True))
    return replace(final, N=N, leading_order=leading, method=f"renormalized:{final.method}",
                   info={"iterations": len(changes), "changes": changes,
                         "feedback_variance": variance})


def _thinned(observables):
    """The population spectra back on ~200 frequencies ≤ 20 (the feedback needed a fine
    uniform grid to 40)."""
    curves = {}
    for key in ("population_spectrum", "population_spectrum_phi"):
        curve = observables[key] if key in observables else None
        if curve is None:
            continue
        omega = np.asarray(curve["omega"], dtype=float)
        keep = np.flatnonzero(omega <= 20.0)[:: max(1, int(0.1 / OMEGA_STEP))]
        curves[key] = {"omega": omega[keep], "values": np.asarray(curve["values"])[keep]}
    return replace(observables, **curves)
