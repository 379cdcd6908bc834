r"""``fixed_points(model)``: the Kac–Rice theory of a network's fixed points, and a
numerical search in sampled finite networks (issue 16; Stubenrauch, Keup, Kurth, Helias &
van Meegen, arXiv:2210.07877).

Theory: the model is derived as usual (disorder average, collective fields, saddle point,
lowered ``site``); the registered runtime of kind ``fixed_points``
(:mod:`fieldtheory.solvers.runtime.kac_rice`) reads the equal-time part of that site —
the Gaussian coupling input with mean B·m and variance A·C — and adds the determinant of
the Jacobian through the ensemble's spectral rule, giving the annealed complexity Σ(q) on
the shells |x|²/N = q. The dynamics' own shell and speed come from the DMFT
(:func:`fieldtheory.solve.solve`): ``attractor_q`` = Δ0 + mean², ``speed`` = ⟨|ẋ|²⟩/N =
A(C_φ(0) + m_φ²) − a²Δ0 (= g²(C_φ(0) + m_φ²) − Δ0 in leak units, connected C_φ).

Search: :mod:`fieldtheory.simulate.fixed_points` on K networks sampled exactly as the
simulator samples them (``default_rng([seed, k])``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldtheory.errors import (
    ActionStructureError,
    ConvergenceError,
    FieldTheoryError,
    ParameterError,
)
from fieldtheory.ir.model import Model, load_model, require_dynamic
from fieldtheory.ir.parameters import parameter_values
from fieldtheory.jsonout import strict
from fieldtheory.progress import progress_bar
from fieldtheory.resources import require, require_time

__all__ = ["FixedPointResult", "fixed_points", "search_fixed_points"]

#: The time guard's cost model of one start, c₃N³ + c₂N² + c₀ seconds (the batched dense
#: solves, the per-start Jacobians, the Python overhead), fitted from above to
#: benchmarks/fixed_points.py (3.7 s per start at N = 1000, 0.14 s at N = 200) and to the
#: count study of examples/fixed_point_shells.py (≈ 2.5 ms at N ≤ 35).
START_COST = (2e-9, 2.5e-6, 2e-3)
#: With the homotopy retry (on by default from N = 100), c₄N⁴ seconds more per start: a
#: path of a length that grows about ∝ N, one LU of N + 1 rows per step; fitted from above
#: to benchmarks/fixed_points.py at g = 2 (0.30, 4.1 and 51 s per start at N = 200, 500,
#: 1000, where 74 %, all and all of the starts reached it). Typical paths, not the cap of
#: ``homotopy_steps``: a rare long path can take several times this.
HOMOTOPY_COST = 1.2e-10
#: Histogram bins of the found fixed points' q.
BINS = 20


@dataclass(frozen=True)
class FixedPointResult:
    """The theory (``observables``) and, with a search, ``search`` and ``search_stderr``."""

    model: str
    params: dict[str, float]
    N: int | None
    observables: dict[str, Any]
    search: dict[str, Any] | None = None
    search_stderr: dict[str, Any] | None = None
    undefined: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        data = {"model": self.model, "params": dict(self.params), "N": self.N,
                "observables": self.observables}
        if self.search is not None:
            data["search"] = self.search
            data["search_stderr"] = self.search_stderr
        return strict(data, dict(self.undefined))


def _site(model: Model, values: dict[str, float]):
    """The lowered site at parameter values (a SiteSpec) from the generated module."""
    from fieldtheory.codegen.generate import generate, refuse_mixture

    module = generate(model)
    site = module.spec(**values)
    refuse_mixture(site, f"fixed points of {model.name}")
    return module, site


def _values(model: Model, params: Mapping[str, float] | None) -> dict[str, float]:
    if model.action.time.is_layered:
        raise ParameterError(f"fixed points: {model.name} is a layered network; it has no "
                             "recurrent fixed-point equation")
    if model.action.time.is_discrete:
        raise ParameterError(f"fixed points: {model.name} is a map; maps are not supported "
                             "yet (declare the network in continuous time)")
    values = model.parameters.resolve(parameter_values(params))
    model.action.validate_values(values)
    return values


def fixed_points(model: Model | str, params: Mapping[str, float] | None = None, *,
                 q: np.ndarray | None = None) -> FixedPointResult:
    r"""The annealed Kac–Rice theory of ``model``'s fixed points (D = 0).

    Observables: ``complexity`` {q, values} Σ(q), ``total_complexity`` Σ*,
    ``typical_q``, ``jacobian_radius`` (the disc of the Jacobian −a + J diag(φ') about
    −a at typical fixed points: g√⟨φ'²⟩ for SCS), ``unstable_fraction`` (index/N),
    ``jacobian_radial`` {s, cumulative} (fraction of eigenvalues within distance s of the
    centre), ``trivial`` (x = 0 a fixed point of every network: then Σ* ≥ 0 by it),
    ``attractor_q`` and ``speed`` from the DMFT. ``q``: the shells (default 40 up to 2.5
    times the typical one).
    """
    require_dynamic(model, "fixed-points")
    from fieldtheory.solve import solve
    from fieldtheory.solvers import registry
    from fieldtheory.solvers.runtime import common
    from fieldtheory.solvers.runtime.common import choose_runtime

    model = load_model(model)
    values = _values(model, params)
    _require_independent_entries(model)
    _, site = _site(model, values)
    registry.runtimes("fixed_points")  # registers the built-in runtimes
    where = f"fixed points of {model.name} at {values}"
    try:  # the runtime is the library's own (not inlined): its errors become named ones
        runtime = choose_runtime(site, "auto", "fixed_points")
        raw = runtime.solve(site, None, {"q": None if q is None else np.asarray(q, float)})
    except common.SolverInputError as error:
        raise ParameterError(f"{where}: {error}") from None
    except common.ConvergenceError as error:
        raise ConvergenceError(f"{where}: {error}", history=error.residuals) from None
    undefined = {}
    observables = {
        "complexity": raw["complexity"],
        "total_complexity": raw["total_complexity"],
        "typical_q": raw["typical_q"],
        "jacobian_radius": raw["jacobian_radius"],
        "jacobian_centre": raw["jacobian_centre"],
        "unstable_fraction": raw["unstable_fraction"],
        "jacobian_radial": raw["jacobian_radial"],
        "trivial": raw["trivial"],
    }
    if raw["jacobian_radius"] is None:
        undefined["/observables/jacobian_radius"] = (
            "the Jacobian's diagonal is not one constant (a nonlinear drift or unequal "
            "leaks): its support is no disc")
    try:  # the dynamics' shell and speed: the DMFT of the same model
        dmft = solve(model, values)
    except FieldTheoryError as error:
        for key in ("attractor_q", "speed", "attractor_branch"):
            observables[key] = None
            undefined[f"/observables/{key}"] = f"the DMFT did not solve: {error}"
        return FixedPointResult(model.name, values, None, observables, undefined=undefined)
    o = dmft.observables
    observables["attractor_q"] = float(o.variance + o.mean**2)
    speed = _speed(site, o)
    observables["speed"] = speed
    if speed is None:
        undefined["/observables/speed"] = (
            "⟨|ẋ|²⟩/N from the DMFT needs a linear leak and inputs ⟨φφ⟩ of the observed φ")
    observables["attractor_branch"] = str(dmft.branch)
    return FixedPointResult(model.name, values, None, observables, undefined=undefined)


def _require_independent_entries(model: Model) -> None:
    """The determinant rule and the Gaussian density at fixed x assume couplings with
    independent Gaussian entries: an ensemble with cumulants beyond the second (random
    modes: low rank, tr[(XXᵀ)^k] terms) is refused by name, read off the derivation."""
    from fieldtheory.derive import derive
    from fieldtheory.transforms.trace_cumulants import higher_cumulant_terms

    names = ", ".join(f"{c}: {type(e).__name__}" for c, e in model.action.couplings)
    try:
        higher = higher_cumulant_terms(derive(model).collective)
    except ActionStructureError as error:
        raise ParameterError(f"fixed points of {model.name}: {error}") from None
    if higher:
        raise ParameterError(
            f"fixed points of {model.name}: the Kac–Rice theory needs couplings with "
            f"independent Gaussian entries; {names} has cumulants beyond the second "
            "(structured, low-rank connectivity), whose Jacobian is no iid random matrix")


def _speed(site, o) -> float | None:
    r"""⟨|ẋ|²⟩/N = Σ_α f_α [Σ_k A_αk (C_k(0) + m_k²) − a_α² Δ0_α] from the DMFT, where
    every correlation term is ⟨φ_β φ_β⟩ of a population's observed φ (one population:
    A(C_φ(0) + m_φ²) − a²Δ0); None otherwise. Follows from (a² − ∂_τ²)Δ_α = S_α(τ) at
    τ = 0, the static parts of the input cancelling against the plateau."""
    P = site.size
    if site.has_nonlinear_drift:
        return None
    for term in site.correlations:
        phi = site.phi[term.population]
        if term.left is not phi or (term.right is not None and term.right is not phi):
            return None
    pops = ([o] if P == 1 else [o.populations[name] for name in site.populations])
    full = [float(p.autocorrelation_phi["values"][0]) + float(p.mean_phi) ** 2 for p in pops]
    fractions = np.ones(1) if P == 1 else np.asarray(site.fractions, dtype=float)
    A = np.asarray(site.correlation_coupling, dtype=float).reshape(P, -1)
    total = 0.0
    for alpha in range(P):
        drive = sum(A[alpha, k] * full[t.population] for k, t in enumerate(site.correlations))
        a = float(site.leak[alpha])
        total += fractions[alpha] * (drive - a * a * float(pops[alpha].variance))
    return float(total)


def search_fixed_points(model: Model | str, params: Mapping[str, float] | None = None, *,
                        N: int, trials: int = 1, seed: int = 0, budget=None,
                        progress: bool = False,
                        points: list | None = None) -> tuple[dict, dict]:
    r"""Search ``trials`` sampled networks of N units for their fixed points.

    ``points``: a list that receives, per network, the found fixed points (count, N) and
    their Jacobians' eigenvalues (count, N) — for ``--output``.

    Returns ``(search, search_stderr)``: ``count`` (distinct fixed points per network:
    its growth with N is the annealed complexity), ``log_count`` (the mean of ln count: the
    quenched one's),
    ``q`` {bins, density} (histogram of |x*|²/N of all found), ``jacobian_radius`` (per
    fixed point the largest |λ + a| over the Jacobian's bulk — outliers more than 25 %
    beyond the 98th percentile dropped — averaged), ``unstable_fraction`` (eigenvalues with
    Re λ > 0, per fixed point, averaged), ``conditioned`` {jacobian_radius,
    unstable_fraction} (the theory's formulas evaluated on the found fixed points' own
    empirical measure: √⟨v(x*)⟩ and the Hermitisation's index; ``failures`` counts points
    where the self-energies did not converge), ``complete`` (networks whose
    search stopped because nothing new turned up), ``starts``, ``failed_starts`` (starts
    that converged to no fixed point: reported, not hidden), ``homotopy_starts`` (starts
    that Newton's phases left at slow points, retried by the homotopy) and
    ``homotopy_outcomes`` (how those ended: ``reached``, ``escaped``, ``stalled``,
    ``steps``, ``unfinished``), ``speed`` (⟨|ẋ|²⟩/N on the
    trajectories), ``nearest`` {distance, cosine} (trajectory point to nearest fixed point:
    |x* − x|/√N and the cosine between ẋ and x* − x). Standard errors across networks.
    """
    require_dynamic(model, "fixed-points --search")
    from fieldtheory.simulate.fixed_points import (
        HOMOTOPY_OUTCOMES,
        FixedPointSearch,
        FixedPointSystem,
        nearest,
        search_network,
    )
    from fieldtheory.simulate.network import check_seed, realise
    from fieldtheory.solvers.runtime.common import ConvergenceError as KacRiceConvergence
    from fieldtheory.solvers.runtime.kac_rice import KacRiceSite

    model = load_model(model)
    values = _values(model, params)
    if int(N) < 2 or int(trials) < 1:
        raise ParameterError(f"fixed-point search: need N ≥ 2 and trials ≥ 1, got N = {N}, "
                             f"trials = {trials}")
    seed = check_seed(seed)
    budget = budget or FixedPointSearch()
    what = f"fixed-point search of {model.name}: N = {N}, {trials} network(s)"
    c3, c2, c0 = START_COST
    per_start = c3 * N**3 + c2 * N**2 + c0
    if budget.homotopy(int(N)) > 0:
        per_start += HOMOTOPY_COST * float(N) ** 4
    require_time(trials * budget.max_starts * per_start, what)
    # the batched Jacobians (batch × N × N, solved in place of a copy) and the couplings
    require(8.0 * N * N * (3 * budget.batch + 6), what)
    _, site = _site(model, values)
    kr = KacRiceSite(site)
    per = {k: [] for k in ("count", "radius", "unstable", "speed", "distance", "cosine",
                           "correlation", "cond_radius", "cond_unstable")}
    qs, starts, failures, complete, conditioned_failures = [], 0, 0, 0, 0
    homotopy_starts, outcomes = 0, dict.fromkeys(HOMOTOPY_OUTCOMES, 0)
    with progress_bar(trials, enabled=progress, description=f"fixed points N={N}",
                      unit="network") as bar:
        for k in range(trials):
            rng = np.random.default_rng([seed, k])
            network = realise(model.action, values, int(N), rng)
            found = search_network(FixedPointSystem(network), rng, budget)
            starts += found.starts
            failures += found.failures
            homotopy_starts += found.homotopy_starts
            for outcome, n in found.homotopy_outcomes.items():
                outcomes[outcome] += n
            complete += int(found.complete)
            per["count"].append(found.count)
            if points is not None:
                points.append((found.points, np.array(found.eigenvalues)))
            qs.extend(found.q.tolist())
            a = float(np.mean(network.leak))
            for j, x in enumerate(found.points):
                if found.eigenvalues:
                    eig = found.eigenvalues[j]
                    per["radius"].append(_bulk_radius(eig + a))
                    per["unstable"].append(float(np.mean(eig.real > 0)))
                # the theory on the point's own empirical measure, population by population
                bounds = np.cumsum((0, *network.sizes))
                grids = [(x[lo:hi], np.full(hi - lo, 1.0 / (hi - lo)))
                         for lo, hi in itertools.pairwise(bounds)]
                if kr.constant_diagonal:
                    per["cond_radius"].append(kr.radius(grids))
                try:
                    per["cond_unstable"].append(kr.unstable_fraction(grids))
                except KacRiceConvergence:
                    conditioned_failures += 1
            if found.trajectory is not None:
                per["speed"].append(float(np.mean(np.sum(found.velocity**2, axis=1)) / N))
                near = nearest(found.points, found.trajectory, found.velocity)
                if near["distance"].size:
                    per["distance"].append(float(np.mean(near["distance"])))
                if near["cosine"].size:
                    per["cosine"].append(float(np.mean(near["cosine"])))
                if near["correlation"] is not None:
                    per["correlation"].append(near["correlation"])
            bar.update(1)
    qs = np.asarray(qs)
    if qs.size:
        density, edges = np.histogram(qs, bins=BINS, density=True)
        histogram = {"bins": edges, "density": density}
    else:
        histogram = None
    search = {
        "count": _mean(per["count"]),
        "log_count": _mean(np.log(per["count"])) if min(per["count"]) > 0 else None,
        "q": histogram,
        "jacobian_radius": _mean(per["radius"]),
        "unstable_fraction": _mean(per["unstable"]),
        "conditioned": {"jacobian_radius": _mean(per["cond_radius"]),
                        "unstable_fraction": _mean(per["cond_unstable"]),
                        "failures": conditioned_failures},
        "complete": complete,
        "trials": int(trials),
        "starts": starts,
        "failed_starts": failures,
        "homotopy_starts": homotopy_starts,
        "homotopy_outcomes": outcomes,
        "speed": _mean(per["speed"]),
        "nearest": {"distance": _mean(per["distance"]), "cosine": _mean(per["cosine"]),
                    "correlation": _mean(per["correlation"])},
    }
    stderr = {
        "count": _stderr(per["count"]),
        "log_count": _stderr(np.log(per["count"])) if min(per["count"]) > 0 else None,
        "jacobian_radius": _stderr(per["radius"]),
        "unstable_fraction": _stderr(per["unstable"]),
        "speed": _stderr(per["speed"]),
        "nearest": {"distance": _stderr(per["distance"]), "cosine": _stderr(per["cosine"]),
                    "correlation": _stderr(per["correlation"])},
    }
    return search, stderr


def _bulk_radius(shifted: np.ndarray) -> float:
    """The largest |λ + a| of the bulk: moduli more than 25 % beyond the 98th percentile
    (outliers such as the mean coupling's) are dropped."""
    moduli = np.sort(np.abs(shifted))
    reference = moduli[int(0.98 * (moduli.size - 1))]
    return float(moduli[moduli <= 1.25 * reference][-1])


def _mean(values) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _stderr(values) -> float | None:
    if len(values) < 2:
        return None
    return float(np.std(values, ddof=1) / math.sqrt(len(values)))


def solve_and_search(model: Model | str, params: Mapping[str, float] | None = None, *,
                     N: int | None = None, trials: int = 1, seed: int = 0, q=None,
                     budget=None, progress: bool = False,
                     points: list | None = None) -> FixedPointResult:
    """The theory, and with ``N`` the search of ``trials`` networks (the CLI's call)."""
    result = fixed_points(model, params, q=q)
    if N is None:
        return result
    search, stderr = search_fixed_points(model, params, N=N, trials=trials, seed=seed,
                                         budget=budget, progress=progress, points=points)
    undefined = dict(result.undefined)
    if search["count"] == 0:
        undefined["/search/q"] = "no fixed point was found"
    return FixedPointResult(result.model, result.params, int(N), result.observables, search,
                            stderr, undefined)
