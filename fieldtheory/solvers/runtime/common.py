"""Pieces every solver runtime shares: the registry, the lowered site, convergence errors.

Gaussian expectations live in :mod:`~fieldtheory.solvers.runtime.quadrature`.

Self-contained (numpy, scipy and the standard library only). The code generator inlines
this module's source ahead of the runtime it needs (``runtime_source``), dropping the
runtimes' ``from fieldtheory.solvers.runtime.common import`` lines, so generated modules
still import nothing from fieldtheory.
"""

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "RUNTIMES",
    "ConvergenceError",
    "Grid",
    "ModeDressing",
    "Runtime",
    "SiteSpec",
    "SiteTerm",
    "SolverInputError",
    "backtrack",
    "choose_runtime",
    "command_line",
    "merge_groups",
    "mixture",
    "network_level",
    "register_runtime",
    "resolve_values",
    "to_plain",
]


class SolverInputError(ValueError):
    """A runtime refuses its input (a parameter value, a site it cannot solve, an option);
    the message names the offending value. Library callers turn it into a
    ``ParameterError``; any other exception out of a runtime is a bug."""


class ConvergenceError(RuntimeError):
    """A solver did not converge; ``residuals`` holds its residual history (max norms)."""

    def __init__(self, message: str, residuals=()):
        self.residuals = tuple(float(r) for r in residuals)
        tail = ", ".join(f"{r:.3g}" for r in self.residuals[-5:])
        super().__init__(f"{message} (last residuals: [{tail}])" if tail else message)


# ----------------------------------------------------------------- the lowered problem


@dataclass(frozen=True)
class SiteTerm:
    r"""An average over the single site of population ``population`` (an index).

    A mean m = ⟨f(x(t))⟩ when ``right`` is None; a correlation C(t, s) = ⟨f(x(t)) h(x(s))⟩
    otherwise; in ``SiteSpec.responses`` a response R(t, s) = ⟨f(x(t)) x̃(s)⟩ whose kernel
    acts on h(x(s)). ``left``/``right`` are elementwise numpy callables, ``dleft``/``dright``
    their derivatives.

    ``strip``: the half-width of the strip |Im x| < strip in which all four are analytic
    (0: kinks), printed by the code generator from their expressions
    (:func:`fieldtheory.gaussian.strips.strip_of`); None for a hand-built term, which the
    runtimes then integrate as analytic in |Im x| < π/2 (:data:`STRIP`, tanh's).
    ``pair(mean, variance, covariance)`` → E[f(u)h(v)] (u, v with equal means and
    variances, vectorised in the covariance) and ``single(mean, variance)`` → E[f(u)]:
    exact closed forms printed by the code generator where they exist
    (:mod:`fieldtheory.gaussian.closed_forms`), else None.
    """

    population: int
    left: Callable
    right: Callable | None = None
    dleft: Callable | None = None
    dright: Callable | None = None
    name: str = ""
    strip: float | None = None
    pair: Callable | None = None
    single: Callable | None = None


#: Gauss–Legendre nodes over the spectrum's positions u ∈ (0, 1) for the mode averages
#: of a dressing (a smooth shape such as e^{−βu} is exact to ~1e-12 with 48).
MODE_NODES = 48
#: |1 − d²ρ²R(ω)²| below this: a mode's self-feedback reaches 1 (an unstable outlier).
MODE_MARGIN = 1e-3


@lru_cache(maxsize=64)
def gauss_legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [−1, 1] (read-only arrays, computed once per
    order: ``numpy.polynomial.legendre.leggauss`` costs ~1 ms, which inner quadratures
    called thousands of times paid on every call)."""
    x, w = np.polynomial.legendre.leggauss(order)
    x.flags.writeable = w.flags.writeable = False
    return x, w


def _mode_nodes(nodes: int, breaks: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre positions and weights on (0, 1), panelled at ``breaks``."""
    edges = sorted({0.0, 1.0, *(float(b) for b in breaks if 0.0 < float(b) < 1.0)})
    panels = len(edges) - 1
    if panels == 1 or panels > nodes:
        x, w = gauss_legendre(nodes if panels == 1 else 2 * nodes)
        return (x + 1) / 2, w / 2
    x, w = gauss_legendre(max(4, math.ceil(nodes / panels)))
    us, ws = [], []
    for lo, hi in itertools.pairwise(edges):
        us.append(lo + (hi - lo) * (x + 1) / 2)
        ws.append((hi - lo) * w / 2)
    return np.concatenate(us), np.concatenate(ws)


@dataclass(frozen=True)
class ModeDressing:
    r"""Correlated random modes, resummed (Clark, Marschall, van Meegen & Litwin-Kumar,
    arXiv:2409.01969): on population ``population``'s site the Gaussian input of
    correlation term ``correlation`` and the kernel of response term ``response`` are

    .. math::
        K(\omega) = \alpha\Big\langle \frac{d^2\rho^2 R(\omega)}{1 - d^2\rho^2 R(\omega)^2}
        \Big\rangle_d, \qquad
        S(\omega) = \alpha\Big\langle \frac{d^2\,(1 + d^2\rho^2 |R(\omega)|^2)}
        {|1 - d^2\rho^2 R(\omega)^2|^2}\Big\rangle_d\, C(\omega)

    (the resummed determinant's variations, :mod:`fieldtheory.transforms.resummation`),
    R(ω) = ∫₀^∞ R(τ) e^{−iωτ} dτ; the mode average is Σ_q ``weights``_q f(``strengths``_q,
    ``overlaps``_q) (α times Gauss–Legendre weights over the mode positions u =
    ``positions``, d = c·s(u), ρ = ρ(u): one overlap, or a profile). Both act on the runtime's lag
    grid: :meth:`kernel` maps the trapezoidal weights r_l = dt w_l R(l dt) of the
    memory sum to those of K (discrete convolution powers = the trapezoidal rule for the
    continuous ones, up to O(dt²)), :meth:`noise` maps C(l dt) to S(l dt): its decaying
    part through the filter on a symmetric FFT grid, its plateau (the static part) times
    the filter at ω = 0.

    On a mixture of sites (``SiteSpec.groups``: one sub-population per quadrature node of
    a quenched variable) the modes see the mixture's C = Σ_k w_k C_k and R = Σ_k w_k R_k:
    ``mixed`` = (correlations, responses, noise targets, kernel targets), the first two
    ((term index, weight), …), the last two the terms that take S and K (every node's).
    """

    population: int
    correlation: int
    response: int
    strengths: np.ndarray
    weights: np.ndarray
    overlaps: np.ndarray
    positions: np.ndarray
    mixed: tuple | None = None

    @property
    def sums(self) -> tuple[tuple, tuple]:
        """((index, weight), …) of the correlation and of the response the modes see."""
        if self.mixed is None:
            return ((self.correlation, 1.0),), ((self.response, 1.0),)
        return self.mixed[0], self.mixed[1]

    @property
    def targets(self) -> tuple[tuple, tuple]:
        """The correlation terms that take S and the response terms that take K."""
        if self.mixed is None:
            return (self.correlation,), (self.response,)
        return self.mixed[2], self.mixed[3]

    @classmethod
    def from_shape(cls, population: int, correlation: int, response: int, *, alpha: float,
                   overlap: float | Callable, variance: float, shape: Callable,
                   nodes: int = MODE_NODES, breaks: tuple = (),
                   mixed: tuple | None = None) -> "ModeDressing":
        """Strengths d = c·s(u) at Gauss–Legendre nodes u ∈ (0, 1), weights α w, c fixed by
        the second moment α⟨d²⟩ = ``variance`` (g_eff²) on the nodes themselves; the
        overlap a number or a profile ρ(u) (|ρ| ≤ 1 at every node). ``breaks``: kinks of
        s in (0, 1) (an array spectrum's interpolation nodes): Gauss–Legendre on each
        panel between them (at least 4 nodes each) while there are fewer panels than
        ``nodes``, else 2·``nodes`` over (0, 1)."""
        u, w = _mode_nodes(nodes, breaks)
        s = np.broadcast_to(np.asarray(shape(u), float), u.shape)
        second = alpha * float(np.sum(w * s**2))
        if not second > 0:
            raise SolverInputError("correlated random modes: the spectral shape s(u) is zero")
        d = math.sqrt(variance / second) * s
        rho = overlap(u) if callable(overlap) else overlap
        rho = np.broadcast_to(np.asarray(rho, float), u.shape).copy()
        if not np.all(np.abs(rho) <= 1):
            raise SolverInputError(f"correlated random modes: the overlap must lie in [-1, 1] "
                                   f"on every mode, got {rho[~(np.abs(rho) <= 1)][0]:g}")
        return cls(population, correlation, response, d, alpha * w, rho, u, mixed)

    def _spectrum(self, r: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """R(ω) on the n-point FFT grid and a² = d²ρ² per node; refuses |1 − a²R²| ≈ 0."""
        response = np.fft.fft(r, n)
        a2 = (self.strengths * self.overlaps) ** 2
        gap = np.abs(1 - a2[:, None] * response[None, :] ** 2).min()
        if gap < MODE_MARGIN:
            raise ConvergenceError(
                f"correlated random modes: a mode's self-feedback d²ρ²R(ω)² reaches 1 "
                f"(min |1 − d²ρ²R²| = {gap:.2e}): an unstable outlier mode, no stationary "
                "DMFT solution with these parameters")
        return response, a2

    @staticmethod
    def _size(L: int) -> int:
        return 1 << math.ceil(math.log2(8 * (L + 1)))

    def kernel(self, r: np.ndarray) -> np.ndarray:
        """The memory weights of K from those of R, r_l = dt w_l R(l dt) (last axis)."""
        L = r.shape[-1] - 1
        n = self._size(L)
        response, a2 = self._spectrum(r, n)
        K = (self.weights * a2) @ (response[None, :] / (1 - a2[:, None] * response[None, :] ** 2))
        return np.fft.ifft(K).real[: L + 1]

    def noise(self, c: np.ndarray, r: np.ndarray) -> np.ndarray:
        """S(l dt) from C(l dt) (plateau C(L dt)) and the memory weights r of R."""
        L = c.shape[-1] - 1
        n = self._size(L)
        response, a2 = self._spectrum(r, n)
        power = np.abs(response) ** 2
        filt = (self.weights * self.strengths**2) @ (
            (1 + a2[:, None] * power[None, :]) / np.abs(1 - a2[:, None] * response ** 2) ** 2)
        plateau = c[-1]
        even = np.zeros(n)
        even[: L + 1] = c - plateau
        even[n - L :] = (c - plateau)[1:][::-1]
        return np.fft.ifft(filt * np.fft.fft(even)).real[: L + 1] + filt[0] * plateau


@dataclass(frozen=True)
class SiteSpec:
    r"""The numeric single-site problem every solver runtime takes (P populations).

    For a site of population α, in continuous time (``step`` None),

    .. math::
        \partial_t x = -a_\alpha x + r_\alpha(x) + \mu_\alpha + \eta_\alpha(t)
            + \sum_j \kappa_{\alpha j} \int ds\, R_j(t, s)\, h_j(x(s)),

    .. math::
        \mu_\alpha = I_\alpha + \sum_l B_{\alpha l} m_l, \qquad
        \langle\eta_\alpha(t)\eta_\alpha(s)\rangle = D_\alpha\,\delta(t - s)
            + \sum_k A_{\alpha k} C_k(t, s),

    with a = ``leak``, r = ``nonlinear`` (None: zero), I = ``offset``, B = ``mean_coupling``
    over ``means``, D = ``noise``, A = ``correlation_coupling`` over ``correlations``,
    κ = ``response_coupling`` over ``responses``. Each m_l, C_k, R_j is an average over the
    site of its own term's population. In discrete time (``step`` = δ, the physical
    duration of one step) the left side is x(n + 1) − x(n) and D is the variance per step.
    ``phi``/``dphi`` per population are the observed φ (observables ``mean_phi``, …);
    ``fractions`` the populations' shares of the network (None: not given); ``phi_strip``
    per population the strip of analyticity of φ and φ' (see :class:`SiteTerm`; None:
    not given); ``dressings`` the resummed correlated-mode terms (:class:`ModeDressing`:
    their C_k and R_j enter dressed; only runtimes registered with ``dressings=True``
    take them). ``groups``: for a mixture of sites (units whose own dynamics depend on a
    quenched variable, one sub-population per quadrature node of its distribution) the
    parent population of each population, None otherwise (:func:`merge_groups`).
    """

    populations: tuple[str, ...]
    leak: np.ndarray
    noise: np.ndarray
    offset: np.ndarray
    means: tuple[SiteTerm, ...]
    mean_coupling: np.ndarray
    correlations: tuple[SiteTerm, ...]
    correlation_coupling: np.ndarray
    responses: tuple[SiteTerm, ...]
    response_coupling: np.ndarray
    nonlinear: tuple[Callable | None, ...]
    dnonlinear: tuple[Callable | None, ...]
    phi: tuple[Callable, ...]
    dphi: tuple[Callable, ...]
    step: float | None = None
    fractions: np.ndarray | None = None
    phi_strip: tuple[float, ...] | None = None
    dressings: tuple[ModeDressing, ...] = ()
    groups: tuple[str, ...] | None = None

    @property
    def size(self) -> int:
        """The number of populations P."""
        return len(self.populations)

    @property
    def has_kernel(self) -> bool:
        """Whether any response kernel κ is nonzero (partial symmetry)."""
        return bool(np.any(np.asarray(self.response_coupling) != 0))

    @property
    def has_nonlinear_drift(self) -> bool:
        """Whether any population's drift is nonlinear in x (a non-Gaussian site)."""
        return any(r is not None for r in self.nonlinear)


def mixture(populations, fractions, errors=None):
    r"""Network-wide observables of units drawn from the populations with ``fractions``.

    Δ_all(τ) = Σ_α f_α [Δ_α(τ) + (M_α − M̄)²], M̄ = Σ f_α M_α: the spread of the
    populations' means is a static variance (likewise for φ with m_α); means and gains
    average linearly. ``populations`` and ``errors`` are lists of schema dicts (keys
    mean, variance, autocorrelation, mean_phi, autocorrelation_phi, mean_gain; errors: their
    standard errors, populations independent). Returns ``(values, errors)``, errors by
    first-order propagation (∂Δ_all/∂M_α = 2 f_α (M_α − M̄)), None without ``errors``.
    """
    f = np.asarray(fractions, dtype=float)
    tau = populations[0]["autocorrelation"]["tau"]
    means = {key: np.array([p[key] for p in populations], dtype=float)
             for key in ("mean", "mean_phi", "mean_gain")}
    centre = {key: float(f @ v) for key, v in means.items()}
    values = dict(centre)
    curves = {"autocorrelation": "mean", "autocorrelation_phi": "mean_phi"}
    for curve, mean in curves.items():
        spread = (means[mean] - centre[mean]) ** 2
        values[curve] = {"tau": tau, "values": sum(
            f[a] * (np.asarray(p[curve]["values"], dtype=float) + spread[a])
            for a, p in enumerate(populations))}
    values["variance"] = float(values["autocorrelation"]["values"][0])
    if errors is None:
        return values, None
    sigma = {key: np.array([e.get(key, 0.0) for e in errors], dtype=float) for key in means}
    out = {key: float(np.sqrt(np.sum((f * sigma[key]) ** 2))) for key in means}
    for curve, mean in curves.items():
        slope = 2 * f * (means[mean] - centre[mean])
        square = sum((f[a] * np.asarray(e[curve]["values"], dtype=float)) ** 2
                     + (slope[a] * sigma[mean][a]) ** 2 for a, e in enumerate(errors))
        out[curve] = {"tau": tau, "values": np.sqrt(square)}
    out["variance"] = float(out["autocorrelation"]["values"][0])
    return values, out


def merge_groups(site, out: dict) -> dict:
    r"""A mixture of sites (``site.groups``) reported per parent population: its
    sub-populations' observables merged with their relative fractions (:func:`mixture`:
    Δ_P(τ) = Σ_k w_k [Δ_k(τ) + (M_k − M_P)²] — the spread of the sub-populations' means is
    static variance of the units; other curves and scalars, such as the response, average
    linearly), errors likewise; ``populations`` then holds the parents (none for one), the
    top level the whole network as before."""
    if not getattr(site, "groups", None):
        return out
    if "populations" not in out:  # one node (given gains of one level): it is the parent
        return out
    names, fractions = list(site.populations), np.asarray(site.fractions, dtype=float)
    nodes = out.pop("populations")
    stderr = out.get("stderr") if isinstance(out.get("stderr"), dict) else None
    node_errors = stderr.pop("populations", None) if stderr is not None else None
    parents, parent_errors = {}, {}
    for parent in dict.fromkeys(site.groups):
        members = [k for k, g in enumerate(site.groups) if g == parent]
        weight = fractions[members] / fractions[members].sum()
        rows = [nodes[names[k]] for k in members]
        errors = [node_errors[names[k]] for k in members] if node_errors else None
        values, sigma = mixture(rows, weight, errors)
        for key in set(rows[0]) - set(values):
            _linear_merge(key, rows, errors, weight, values, sigma)
        parents[parent], parent_errors[parent] = values, sigma
    if len(parents) > 1:
        out["populations"] = parents
        if node_errors:
            stderr["populations"] = parent_errors
    else:
        (parent,) = parents
        out.update(parents[parent])
        if node_errors:
            stderr.update(parent_errors[parent])
    return out


def _linear_merge(key, rows, errors, weight, values, sigma) -> None:
    """Σ_k w_k X_k of a curve or scalar X of the sub-populations (errors in quadrature)."""
    first = rows[0][key]
    with_error = errors is not None and key in errors[0]
    if isinstance(first, dict) and "values" in first:
        values[key] = {"tau": first["tau"], "values": sum(
            w * np.asarray(r[key]["values"], dtype=float)
            for w, r in zip(weight, rows, strict=True))}
        if with_error:
            sigma[key] = {"tau": first["tau"], "values": np.sqrt(sum(
                (w * np.asarray(e[key]["values"], dtype=float)) ** 2
                for w, e in zip(weight, errors, strict=True)))}
    elif isinstance(first, (int, float)) and not isinstance(first, bool):
        values[key] = float(sum(w * float(r[key]) for w, r in zip(weight, rows, strict=True)))
        if with_error:
            sigma[key] = float(np.sqrt(sum((w * float(e[key])) ** 2
                                           for w, e in zip(weight, errors, strict=True))))


def backtrack(x, update, norm: float, residual, residuals, halvings: int = 12,
              admissible=None):
    """Newton backtracking: the first x − 2^{−k} update (k < ``halvings``) that is
    ``admissible`` and lowers max|F| below ``norm``.

    Returns ``(trial, force, trial_norm, step)`` with step = 2^{−k}; raises
    :class:`ConvergenceError` (with ``residuals``) when no halving lowers the residual.
    """
    for halving in range(halvings):
        step = 0.5**halving
        trial = x - step * update
        if admissible is not None and not admissible(trial):
            continue
        force = residual(trial)
        trial_norm = float(np.abs(force).max())
        if trial_norm < norm:
            return trial, force, trial_norm, step
    raise ConvergenceError("lag equation: Newton step does not reduce the residual", residuals)


# ----------------------------------------------------------------- the runtime registry


@dataclass(frozen=True)
class Grid:
    """The output lags τ = 0, dτ, …, ``tau_max`` and the largest lattice step of the
    deterministic solvers (their errors are O(step²))."""

    tau_max: float = 20.0
    dtau: float = 0.25
    step_max: float = 0.02


@dataclass(frozen=True)
class Runtime:
    """A registered solver runtime.

    ``solve(site, grid, options) -> dict`` returns the observables schema (top level: the
    whole network) plus ``branch`` and what the runtime adds (``lyapunov_max``,
    ``response``, ``stderr``, …). ``applies(site)`` says whether it can solve this
    :class:`SiteSpec` (at parameter values); among those that apply the highest
    ``priority`` wins. ``needs(problem)``, evaluated by the code generator on the symbolic
    lowered problem (attributes ``discrete``, ``single_phi``, ``linear_drift``,
    ``is_gaussian``, ``has_responses``), says whether a generated module must inline it
    (None: always). ``kind`` is ``"stationary"`` (a ``solve`` method) or ``"transient"``.
    """

    name: str
    solve: Callable
    applies: Callable
    priority: int
    needs: Callable | None = None
    kind: str = "stationary"
    dressings: bool = False  # whether it takes a SiteSpec with ``dressings``


#: Every registered runtime by name, in registration order (filled at import: each runtime
#: module registers itself; a generated module re-registers the runtimes it inlines).
RUNTIMES: dict[str, Runtime] = {}


#: What a runtime solves: the stationary site, a transient, or the fluctuations around a
#: stationary saddle point (the O(1/N) layer).
RUNTIME_KINDS = ("stationary", "transient", "fluctuations", "layered", "fixed_points",
                 "large_deviations", "posterior", "spiking")


def register_runtime(name: str, *, applies: Callable, priority: int,
                     needs: Callable | None = None, kind: str = "stationary",
                     dressings: bool = False):
    """Decorator registering ``solve(site, grid, options)`` as the runtime ``name``.

    A second registration under the same name from another function is refused (the same
    function re-registering, as on a module reload, replaces the entry).
    """
    if kind not in RUNTIME_KINDS:
        raise ValueError(f"runtime {name!r}: kind {kind!r} is not one of {RUNTIME_KINDS}")

    def decorate(solve: Callable) -> Callable:
        old = RUNTIMES.get(name)
        where = (solve.__module__, solve.__qualname__)
        if old is not None and (old.solve.__module__, old.solve.__qualname__) != where:
            raise ValueError(f"a solver runtime named {name!r} is already registered "
                             f"({old.solve.__module__}.{old.solve.__qualname__})")
        RUNTIMES[name] = Runtime(name, solve, applies, int(priority), needs, kind, dressings)
        return solve

    return decorate


def choose_runtime(site, method: str = "auto", kind: str = "stationary") -> Runtime:
    """The runtime of ``kind`` that solves ``site``: the applicable one of highest priority
    (``method`` = "auto"), or the one named ``method``. ValueError names the registered
    methods when none applies or the name is unknown."""
    runtimes = {name: r for name, r in RUNTIMES.items() if r.kind == kind}
    if getattr(site, "groups", None) and kind != "stationary":
        raise SolverInputError(
            f"the units of population(s) {sorted(set(site.groups))} have quenched variables "
            "in their own dynamics (a mixture of sites, one sub-population per quadrature "
            f"node); the {kind} runtimes do not take it, only the stationary solve")
    if method != "auto":
        if method not in runtimes:
            raise SolverInputError(f"method {method!r} is not available for this model; it has "
                             f"{sorted(runtimes)}")
        if getattr(site, "dressings", ()) and not runtimes[method].dressings:
            raise SolverInputError(
                f"method {method!r} does not take resummed correlated-mode terms; those that "
                f"do: {sorted(n for n, r in runtimes.items() if r.dressings)}")
        return runtimes[method]
    dressed = bool(getattr(site, "dressings", ()))
    candidates = [r for r in runtimes.values() if r.applies(site) and (r.dressings or not dressed)]
    if not candidates:
        raise SolverInputError(f"no registered solver runtime applies to this single site "
                         f"({site.size} population(s), discrete time: {site.step is not None});"
                         f" registered: {sorted(runtimes)}")
    return max(candidates, key=lambda r: r.priority)


def resolve_values(defaults: dict, params: dict) -> dict:
    """``params`` over ``defaults``; ValueError for names not among the defaults."""
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise SolverInputError(f"unknown parameter(s) {unknown}; known: {sorted(defaults)}")
    return {**defaults, **params}


def to_plain(value, undefined: dict | None = None, pointer: str = ""):
    """Nested dicts, arrays and numpy scalars as strict JSON types (complex as [re, im]).

    A non-finite number becomes None; with ``undefined`` given, its JSON pointer is
    recorded there with the reason (the ``"undefined"`` convention of CLI.md).
    """
    if isinstance(value, dict):
        return {str(k): to_plain(v, undefined, f"{pointer}/{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v, undefined, f"{pointer}/{k}") for k, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return to_plain(value.tolist(), undefined, pointer)
    if isinstance(value, (complex, np.complexfloating)):
        return [to_plain(float(value.real), undefined, f"{pointer}/0"),
                to_plain(float(value.imag), undefined, f"{pointer}/1")]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        if not math.isfinite(float(value)):
            if undefined is not None:
                undefined[pointer] = f"the solver returned {float(value)}"
            return None
        return float(value)
    return value


def command_line(argv, defaults: dict, domains: dict, solve) -> int:
    """``python solver.py name=value ...``: solve and print one strict JSON object.

    Each argument must be NAME=VALUE with NAME a parameter (``defaults``) and VALUE a
    decimal number inside the parameter's domain (``domains``: name → (lower, upper,
    closed_lower, closed_upper)); anything else, and a runtime's refusal, is one line on
    stderr and exit status 2; a convergence failure likewise, with its residuals.
    """
    import json
    import sys

    values = {}
    try:
        for argument in argv:
            name, sep, text = argument.partition("=")
            if not sep or name not in defaults:
                raise SolverInputError(f"argument {argument!r}: expected NAME=VALUE with NAME "
                                       f"one of {sorted(defaults)}")
            try:
                number = float(text)
            except ValueError:
                raise SolverInputError(f"parameter {name}: {text!r} is not a number") from None
            lower, upper, closed_lower, closed_upper = domains[name]
            inside = (math.isfinite(number)
                      and (number >= lower if closed_lower else number > lower)
                      and (number <= upper if closed_upper else number < upper))
            if not inside:
                left = "[" if closed_lower and math.isfinite(lower) else "("
                right = "]" if closed_upper and math.isfinite(upper) else ")"
                interval = f"{left}{lower:g}, {upper:g}{right}"
                raise SolverInputError(f"parameter {name} = {text} lies outside its domain "
                                       f"{interval}")
            values[name] = number
        result = solve(**values)
    except (SolverInputError, ConvergenceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    undefined: dict = {}
    out = to_plain(result, undefined)
    if undefined:
        out["undefined"] = undefined
    print(json.dumps(out, allow_nan=False))
    return 0


def network_level(site, out: dict) -> dict:
    """With several populations and their ``fractions``, the top level of ``out`` becomes
    the whole network (as the simulator measures it): the fraction-weighted mixture of
    ``out["populations"]`` (:func:`mixture`), errors included when present."""
    if site.size < 2 or site.fractions is None:
        return out
    names = list(out["populations"])
    errors = out.get("stderr", {}).get("populations")
    top, top_errors = mixture([out["populations"][n] for n in names], site.fractions,
                              [errors[n] for n in names] if errors else None)
    out.update(top)
    if top_errors is not None:
        out["stderr"].update(top_errors)
    return out
