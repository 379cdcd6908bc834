r"""Coexisting DMFT solutions and the switching between them (issue 17, item 2; van Meegen,
Kühn & Helias, PRL 127, 158302 (2021), arXiv:2009.08889).

**Branches.** A stationary DMFT solution of a continuous-time site may carry a *static*
part: the plateau c = C_φ(τ → ∞) of the order parameter is the variance (over units) of a
field that is constant in time — each unit's own quenched input, g²c for an iid network
(:mod:`~fieldtheory.solvers.runtime.monte_carlo`, step 1). Where units are multistable
(U = x²/2 − s ln cosh x with s > 1, the model ``bistable``) a strong static field holds each
unit in the well it selects, which keeps its φ and so the static field itself: a *frozen*
solution, c ≈ q = ⟨φ²⟩. Beside it a *fluctuating* solution, c ≈ 0, sustains itself: units
hopping between wells make a fast input that keeps them hopping. Both are stationary
fixed points of the self-consistency Q ↦ Q̂(Q).

:func:`dmft_branches` finds them with the Monte-Carlo runtime from two starts — the
ordinary *dynamic* guess (correlations decaying in τ) and a *static* one (correlations flat
at their equal-time value: all input quenched) — by the plain, undamped iteration
(``memory=0``: it converges to attracting fixed points of the map only, where Anderson
mixing, a quasi-Newton method, may also settle on a saddle). Each replica of each run is a
solution of its own: the replicas are pooled and split into two groups at the largest
gap of their q when the groups differ by more than ``separation`` standard errors and the
gap exceeds twice the groups' spread; each group is then *polished* — solved again from its
mean order parameters — and a branch is reported from the polished replicas that stayed
nearer to its centre than to the other (at least two, else the branch is not confirmed and
the reason is returned). "Stable" here means: attracting under the iteration, and found
again after polishing. The branch's q is its replicas' ⟨φ²⟩ (the first correlation order
parameter at τ = 0, checked to be φ·φ), ``static`` its plateau at the end of the estimation
window, errors their scatter over √replicas.

**Switching.** :func:`simulate_switching` runs finite networks (the project's simulator)
and follows Q(t) = (1/N)Σ_i φ(x_i(t))², averaged over a sliding ``smoothing`` window; a
network is in a branch once Q crosses the third of the gap nearest to it (hysteresis), and
the dwell times in each branch are booked per network.

**What is quenched and what dynamic.** The DMFT is annealed: each branch is an average over
networks. In one finite network the frozen state is a particular configuration of wells —
a stable fixed point of that network dressed by the noise — and whether a network has
one that the hopping dynamics finds is network-specific: the fraction of time spent
frozen varies from network to network far beyond its sampling error (measured in
docs/models/large-deviations.md). The barrier ΔH of the rate function between the branches
is **not** computed: H(μ) = D_KL(μ ‖ μ_η[μ]) vanishes on *every* stationary DMFT solution,
the saddle between the branches included, so ΔH is the action of a time-dependent
transition path (an instanton of the empirical path measure between the stationary
solutions), which needs a non-stationary two-time site — the next step.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from fieldtheory.errors import ConvergenceError, ParameterError
from fieldtheory.ir.model import Model, load_model, require_dynamic
from fieldtheory.ir.parameters import parameter_values
from fieldtheory.jsonout import strict

__all__ = ["Branch", "SwitchingResult", "dmft_branches", "simulate_switching"]

#: Standard errors by which two groups of replicas must differ to count as two branches.
SEPARATION = 6.0
#: A frozen branch holds more than this share of q in its static part.
FROZEN_SHARE = 0.5
#: The fewest paths per replica: with 16 (``bistable``, g = 2, D = 0.05) the replicas'
#: q spread over both branches and the search merged them into one; 32 resolves them.
MIN_PATHS = 32
#: Convergence of the branch search's runs, in standard errors of the replica mean: with
#: frozen noise a path that changes well when the order parameters move a little makes
#: the map discontinuous, and the plain iteration may end in a cycle of ≈ 0.6 standard
#: errors (measured on ``bistable``, g = 1.5, D = 0.02, 128 paths) instead of a point.
TOLERANCE = 0.7
#: The two starts (initial guess, where paths start): the ordinary guess with paths from
#: N(I/a, 1), and all input quenched with each path in the state its input selects.
STARTS = {"dynamic": ("dynamic", "random"), "static": ("static", "input")}


@dataclass(frozen=True)
class Branch:
    """One stable stationary DMFT solution: q = ⟨φ²⟩, its static part (the plateau of
    C_φ), standard errors over ``replicas``, the start that reached it, its ``kind``."""

    q: float
    q_stderr: float
    static: float
    static_stderr: float
    replicas: int
    start: str

    @property
    def kind(self) -> str:
        """``"frozen"`` when the static part holds most of q, else ``"fluctuating"``."""
        return "frozen" if self.static > FROZEN_SHARE * self.q else "fluctuating"

    def to_json(self) -> dict:
        return {"q": self.q, "static": self.static, "kind": self.kind,
                "replicas": self.replicas, "start": self.start,
                "stderr": {"q": self.q_stderr, "static": self.static_stderr}}


@dataclass(frozen=True)
class BranchSearch:
    """The branches found (ascending q) and what the search saw on the way."""

    branches: tuple[Branch, ...]
    notes: tuple[str, ...] = ()


def _site(model: Model, values: dict):
    from fieldtheory.codegen.generate import generate, refuse_mixture

    site = generate(model).spec(**values)
    refuse_mixture(site, f"branches of {model.name}")
    if site.step is not None:
        raise ParameterError(f"branches of {model.name}: a map (discrete time); the search "
                             "runs the continuous-time Monte-Carlo site")
    if site.size != 1:
        raise ParameterError(f"branches of {model.name}: {site.size} populations; the "
                             "search takes one (q is a scalar)")
    if not site.correlations:
        raise ParameterError(f"branches of {model.name}: no correlation order parameter")
    term, xs = site.correlations[0], np.linspace(-3.0, 3.0, 13)
    phi = site.phi[0](xs)
    if not np.allclose(term.left(xs) * term.right(xs), phi * phi, rtol=1e-9, atol=1e-12):
        raise ParameterError(f"branches of {model.name}: its first correlation order "
                             f"parameter {term.name!r} is not ⟨φφ⟩, so it is not q")
    return site


def _replicas(result: dict) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Per replica q = C(0), the plateau C(window) and (means, correlations, responses)."""
    parts = result["order_parameters"]["replicas"]
    corr = parts["correlations"][:, 0]
    return corr[:, 0], corr[:, -1], (parts["means"], parts["correlations"],
                                     parts["responses"])


def _split(q: np.ndarray, separation: float) -> np.ndarray | None:
    """Boolean mask of the upper group at the largest gap of q, or None (one group)."""
    order = np.argsort(q)
    gaps = np.diff(q[order])
    k = int(np.argmax(gaps)) + 1
    lower, upper = q[order[:k]], q[order[k:]]
    if min(len(lower), len(upper)) < 2:
        return None
    spread = math.sqrt((lower.var(ddof=1) * (len(lower) - 1) + upper.var(ddof=1)
                        * (len(upper) - 1)) / (len(q) - 2))
    se = math.sqrt(lower.var(ddof=1) / len(lower) + upper.var(ddof=1) / len(upper))
    gap = float(gaps[k - 1])
    if gap <= 2.0 * spread or upper.mean() - lower.mean() <= separation * se:
        return None
    mask = np.zeros(len(q), bool)
    mask[order[k:]] = True
    return mask


def dmft_branches(model: Model | str, params: Mapping[str, float] | None = None, *,
                  tau_max: float = 20.0, dtau: float = 0.25, paths: int = 64,
                  replicas: int = 8, t_record: float = 100.0, window: float | None = 100.0,
                  seed: int = 0, max_iter: int = 200,
                  separation: float = SEPARATION) -> BranchSearch:
    r"""The stable stationary DMFT solutions of a one-population continuous-time model.

    Parameters
    ----------
    model, params
        A model (or its name) and parameter values.
    tau_max, dtau, paths, replicas, t_record, window, seed, max_iter
        The Monte-Carlo runtime's grid and sampling
        (:func:`~fieldtheory.solvers.runtime.monte_carlo.solve_monte_carlo`), the same for
        every run. The estimation ``window`` (default 100, the runtime's own default is
        30/a) must exceed the correlation time severalfold: beyond it C is taken as its
        plateau, so a slow decay cut off there reads as a static part (``bistable`` at
        g = 1.5, D = 0.02: q = 0.8815 with window 30, 0.8906 with 100, simulation 0.888).
    separation : float
        Standard errors by which two groups of replicas must differ in q.

    Returns
    -------
    BranchSearch
        ``branches`` (one or two :class:`Branch`, ascending q) and ``notes`` (groups seen
        but not confirmed by polishing, with the reason).

    Raises
    ------
    ParameterError
        A map, several populations, a first correlation order parameter that is not ⟨φφ⟩,
        bad sizes.
    ConvergenceError
        When neither start converges (a start or a polishing run that does not converge
        is reported in ``notes`` and the search goes on without it).
    """
    from fieldtheory.solvers.runtime import common

    require_dynamic(model, "branches")
    model = load_model(model)
    values = model.parameters.resolve(parameter_values(params))
    model.action.validate_values(values)
    if int(paths) < MIN_PATHS or int(replicas) < 4:
        raise ParameterError(
            f"branches: paths = {paths} (≥ {MIN_PATHS}: a replica is a network of that "
            f"many units, and smaller ones switch branch while iterating) and replicas = "
            f"{replicas} (≥ 4: a branch needs two replicas that stay on it)")
    site = _site(model, values)
    import fieldtheory.solvers.runtime.monte_carlo  # noqa: F401  (the module, not the name)

    mc = sys.modules["fieldtheory.solvers.runtime.monte_carlo"]
    where = f"branches of {model.name} at {values}"

    def run(start, paths_from, run_seed):
        try:
            return mc.solve_monte_carlo(site, tau_max=tau_max, dtau=dtau, paths=int(paths),
                                        replicas=int(replicas), t_record=t_record,
                                        window=window, seed=run_seed, memory=0,
                                        lyapunov=False,
                                        max_iter=max_iter, start=start,
                                        paths_from=paths_from, tol=TOLERANCE)
        except common.SolverInputError as error:
            raise ParameterError(f"{where}: {error}") from None

    q, parts, origin, notes = [], [], [], []
    for name, (start, paths_from) in STARTS.items():
        try:
            qs, _, ps = _replicas(run(start, paths_from, seed))
        except common.ConvergenceError as error:
            notes.append(f"the {name} start did not converge: {error}")
            continue
        q.append(qs)
        parts.append(ps)
        origin += [name] * len(qs)
    if not q:
        raise ConvergenceError(f"{where}: no start converged ({'; '.join(notes)})")
    q = np.concatenate(q)
    stacked = tuple(np.concatenate([p[i] for p in parts]) for i in range(3))
    mask = _split(q, separation)
    groups = [np.ones(len(q), bool)] if mask is None else [~mask, mask]
    centres = [float(q[g].mean()) for g in groups]
    branches = []
    for index, group in enumerate(groups):
        guess = tuple(a[group].mean(axis=0) for a in stacked)
        names = [o for o, g in zip(origin, group, strict=True) if g]
        major = max(STARTS, key=names.count)  # the group's paths start as its majority's
        try:
            qs, cs, _ = _replicas(run(guess, STARTS[major][1], seed + 1 + index))
        except common.ConvergenceError as error:
            notes.append(f"a group of {int(group.sum())} replicas at q ≈ "
                         f"{centres[index]:.4g} was not confirmed: polishing it did not "
                         f"converge ({error})")
            continue
        distance = np.abs(qs[:, None] - np.asarray(centres)[None, :])
        stay = np.argmin(distance, axis=1) == index
        came = " and ".join(sorted(set(names)))
        if stay.sum() < 2:
            notes.append(f"a group of {int(group.sum())} replicas at q ≈ {centres[index]:.4g} "
                         f"(from the {came} start) was not confirmed: "
                         f"{int(stay.sum())} of {len(qs)} polished replicas stayed on it")
            continue
        n = int(stay.sum())
        if n < len(qs):
            notes.append(f"polishing the branch at q ≈ {centres[index]:.4g}: {len(qs) - n} "
                         f"of {len(qs)} replicas left it")
        branches.append(Branch(
            float(qs[stay].mean()), float(qs[stay].std(ddof=1) / math.sqrt(n)),
            float(cs[stay].mean()), float(cs[stay].std(ddof=1) / math.sqrt(n)), n, came))
    if len(branches) == 2 and abs(branches[1].q - branches[0].q) <= separation * math.hypot(
            branches[0].q_stderr, branches[1].q_stderr):
        notes.append("the two groups polished to one solution")
        branches = [branches[0]]
    return BranchSearch(tuple(sorted(branches, key=lambda b: b.q)), tuple(notes))


# --------------------------------------------------------------------------- switching


#: Bootstrap resamples (over networks) of the mean dwell times' standard errors.
BOOTSTRAP = 400


@dataclass(frozen=True)
class SwitchingResult:
    r"""Per network and branch (lower, upper q): the time spent in it and the exits from
    it; the pooled mean dwell time τ_b = Σ time_b / Σ exits_b (the maximum-likelihood
    estimate for exponential dwells with censored first and last stretches), its standard
    error by resampling networks — their differences (quenched) included."""

    model: str
    params: dict[str, float]
    N: int
    branches: tuple[float, float]
    t_max: float
    time: np.ndarray  # (networks, 2): time in the lower / upper branch
    exits: np.ndarray  # (networks, 2): exits from it
    histogram: dict[str, list] = field(default_factory=dict)
    seed: int = 0

    @property
    def shares(self) -> np.ndarray:
        """(networks, 2): the share of each network's classified time in each branch."""
        total = self.time.sum(axis=1, keepdims=True)
        return self.time / np.where(total > 0, total, 1.0)

    @property
    def switches(self) -> np.ndarray:
        """Switches per network."""
        return self.exits.sum(axis=1)

    def mean_dwell(self) -> tuple[tuple[float | None, float | None], ...]:
        """Per branch (τ_b, its standard error); (None, None) where no network left it."""
        rng = np.random.default_rng(self.seed)
        n = len(self.time)
        picks = rng.integers(0, n, size=(BOOTSTRAP, n))
        out = []
        for b in (0, 1):
            exits, time = self.exits[:, b], self.time[:, b]
            if exits.sum() == 0:
                out.append((None, None))
                continue
            boot_exits, boot_time = exits[picks].sum(axis=1), time[picks].sum(axis=1)
            ok = boot_exits > 0
            boot = boot_time[ok] / boot_exits[ok]
            se = float(boot.std(ddof=1)) if n > 1 and ok.sum() > 1 else None
            out.append((float(time.sum() / exits.sum()), se))
        return tuple(out)

    def to_json(self) -> dict:
        (lo, lo_se), (hi, hi_se) = self.mean_dwell()
        undefined = {}
        for name, value in (("lower", lo), ("upper", hi)):
            if value is None:
                undefined[f"/observables/mean_dwell/{name}"] = (
                    f"no network left the {name} branch within t_max")
        return strict({
            "model": self.model, "params": dict(self.params), "N": self.N,
            "observables": {
                "branches": list(self.branches), "t_max": self.t_max,
                "share": {"lower": self.shares[:, 0].tolist(),
                          "upper": self.shares[:, 1].tolist()},
                "switches": self.switches.tolist(),
                "mean_dwell": {"lower": lo, "upper": hi},
                "histogram": self.histogram},
            "stderr": {"mean_dwell": {"lower": lo_se, "upper": hi_se}},
        }, undefined)


def _dwell(q: np.ndarray, low: float, high: float, step: float):
    """Hysteresis classification of a smoothed Q(t): time in and exits from each branch
    (before Q first leaves the band between the thresholds it is in neither)."""
    state = None
    time, exits = np.zeros(2), np.zeros(2, int)
    for value in q:
        new = 1 if value > high else (0 if value < low else state)
        if new != state and state is not None:
            exits[state] += 1
        state = new
        if state is not None:
            time[state] += step
    return time, exits


def simulate_switching(model: Model | str, params: Mapping[str, float] | None = None, *,
                       branches: Sequence[float], N: int, networks: int = 4,
                       t_max: float = 2000.0, t_burn: float = 50.0, dtau: float = 0.5,
                       smoothing: float = 10.0, dt: float | None = None,
                       seed: int = 0, bins: int = 40) -> SwitchingResult:
    r"""Simulate ``networks`` networks of N units and follow Q(t) between two branches.

    Q(t) = (1/N)Σ_i φ(x_i)² (the site's first correlation functions, as in
    :func:`dmft_branches`) sampled every ``dtau`` after ``t_burn``, averaged over a
    sliding window of ``smoothing``; with q₁ < q₂ the branches' q, a network enters the
    upper branch when Q > q₁ + ⅔(q₂ − q₁) and the lower one when Q < q₁ + ⅓(q₂ − q₁).
    The mean dwell time per branch is :meth:`SwitchingResult.mean_dwell`.
    """
    from fieldtheory.simulate.run import simulate

    require_dynamic(model, "switching")
    model = load_model(model)
    values = model.parameters.resolve(parameter_values(params))
    if len(branches) != 2 or not branches[0] < branches[1]:
        raise ParameterError(f"switching: two branches q₁ < q₂ expected, got {branches}")
    if smoothing < dtau or t_max <= 2 * smoothing:
        raise ParameterError(f"switching: smoothing = {smoothing:g} must lie between "
                             f"dtau = {dtau:g} and t_max/2 = {t_max / 2:g}")
    site = _site(model, values)
    term = site.correlations[0]
    low = branches[0] + (branches[1] - branches[0]) / 3
    high = branches[0] + 2 * (branches[1] - branches[0]) / 3
    width = max(round(smoothing / dtau), 1)
    time, exits, series = [], [], []
    run = simulate(model, values, N=int(N), t_max=t_max, t_burn=t_burn, dt=dt, seed=seed,
                   trials=int(networks), dtau=dtau, record=True, tau_max=dtau)
    x = run.samples.reshape(int(networks), int(N), -1)  # trials stacked along the units
    for k in range(int(networks)):
        q = (term.left(x[k]) * term.right(x[k])).mean(axis=0)
        smooth = np.convolve(q, np.ones(width) / width, mode="valid")
        spent, left = _dwell(smooth, low, high, dtau)
        time.append(spent)
        exits.append(left)
        series.append(smooth)
    pooled = np.concatenate(series)
    edges = np.linspace(min(pooled.min(), branches[0]), max(pooled.max(), branches[1]),
                        bins + 1)
    density, _ = np.histogram(pooled, edges, density=True)
    return SwitchingResult(model.name, values, int(N),
                           (float(branches[0]), float(branches[1])), float(t_max),
                           np.asarray(time), np.asarray(exits),
                           {"bins": edges.tolist(), "density": density.tolist()}, int(seed))
