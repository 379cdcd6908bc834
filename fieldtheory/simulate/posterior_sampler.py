r"""Bayesian posterior of a one-hidden-layer network by collapsed Hamiltonian Monte Carlo
(issue 15; van Meegen & Sompolinsky, arXiv:2406.16689).

Training inputs X (P × d), targets Y (P × m). N hidden neurons with pre-activations
H = X Wᵀ/√d (P × N), prior W_ij ~ N(0, σ_w²); readout f(x_μ) = N^{−γ} Σ_i a_i φ(H_μi),
a_i ∈ ℝ^m with prior N(0, σ_a² I); γ = 1 (mean-field) or 1/2 (lazy). The posterior is

.. math:: p(W, A \mid \mathcal D) \propto
          e^{-\frac{β}{2}\sum_μ \lVert f(x_μ) - y_μ\rVert^2}\, p(W)\, p(A),
          \qquad β = N/T .

f is linear in the readout A (N × m), so A is integrated out exactly. With Φ = φ(H),
s = σ_a² N^{−2γ}, τ = T/N and C = s ΦΦᵀ + τ I (P × P),

.. math:: \ln p(W \mid \mathcal D) = -\frac{\lVert W\rVert^2}{2σ_w^2}
          - \frac m2 \ln\det C - \frac12 \operatorname{tr}(Y^T C^{-1} Y) + \text{const},

whose gradient with respect to Φ is s (C⁻¹YYᵀC⁻¹ − m C⁻¹) Φ, chained through φ'(H) and
H = X Wᵀ/√d. HMC runs on Z = W/σ_w (identity mass). Given W every readout column is
Gaussian: with B = N^{−γ}Φ, Σ_A = σ_a² I − σ_a⁴ BᵀC⁻¹B (the same for all k) and
μ_k = σ_a² BᵀC⁻¹y_k. The observables are these conditional (Rao–Blackwellised)
expectations averaged over the sampled W, never with an N × N matrix:

.. math:: \frac1N \operatorname{tr}Σ_A = σ_a^2 - σ_a^2\,\frac{P - τ\operatorname{tr}C^{-1}}N,
          \qquad μ_k^Tμ_l = σ_a^2\,(y_k^T C^{-1} y_l - τ\, y_k^T C^{-2} y_l).

At T = 0 this is exact as long as C is invertible (N ≥ P and Φ of rank P).

Cost per gradient O(P²N + PNd + P³) (one Cholesky factor of C); memory O(chains·N·d + P²)
for the running sums, plus the scalar traces kept for split-R̂ (see :func:`sample_posterior`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import scipy.linalg
import scipy.linalg.lapack

from fieldtheory.errors import ArgumentTypeError, ConvergenceError, ParameterError
from fieldtheory.progress import progress_bar

__all__ = ["PosteriorSamples", "collapsed_log_posterior", "sample_posterior", "split_rhat"]

#: Target acceptance probability of the step-size adaptation (dual averaging).
TARGET_ACCEPTANCE = 0.8
#: C counts as singular when (min L_ii / max L_ii)² of its Cholesky factor is below this.
SINGULAR_RCOND = 1e-12
#: An energy error above this ends a trajectory as divergent (rejected).
DIVERGENCE = 1000.0
#: Batches for the standard errors of a single chain (batch means).
BATCHES = 10
#: Largest number of scalar entries per observable whose traces are kept for R̂: the
#: kernel's upper triangle up to P = 100; beyond, only its trace and diagonal.
MAX_TRACE_ENTRIES = 5050
#: Entries whose spread is below this fraction of the observable's scale are constant
#: (rounding noise) for split-R̂.
CONSTANT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PosteriorSamples:
    """Posterior expectations, their standard errors, sampler diagnostics, final states.

    ``observables``: ``readout_second_moment`` (m × m), ``kernel_posterior`` (P × P) and,
    with test inputs, ``prediction`` {``mean``, ``variance``} (P* × m); ``stderr`` has the
    same structure; ``last``: per chain {``W`` (N × d), ``mu`` (N × m)}.
    """

    observables: dict[str, Any]
    stderr: dict[str, Any]
    diagnostics: dict[str, Any]
    last: tuple[dict[str, np.ndarray], ...]


def split_rhat(draws) -> float | np.ndarray:
    r"""Split-R̂ (Gelman et al., *Bayesian Data Analysis*, 3rd ed., §11.4).

    Every one of M chains is cut in halves (the middle draw dropped when their length is
    odd), giving 2M sequences of n draws; with W the mean within-sequence variance and B/n
    the variance of the sequence means,

    .. math:: \hat R = \sqrt{\frac{\frac{n-1}{n} W + B/n}{W}} .

    ``draws``: chains × samples, or chains × samples × k (one R̂ per entry). An entry
    that does not vary beyond rounding (spread below 10⁻⁹ of the largest |mean| + sd
    of all entries) has R̂ = 1; one constant within sequences but not across, R̂ = ∞.
    """
    values = np.asarray(draws, dtype=float)
    if values.ndim < 2:
        raise ParameterError(f"split_rhat: draws must be chains × samples[× k], got shape "
                             f"{values.shape}")
    half = values.shape[1] // 2
    if half < 2:
        raise ParameterError(f"split_rhat: needs at least 4 draws per chain, got "
                             f"{values.shape[1]}")
    parts = np.concatenate([values[:, :half], values[:, values.shape[1] - half:]], axis=0)
    within = parts.var(axis=1, ddof=1).mean(axis=0)
    between = parts.mean(axis=1).var(axis=0, ddof=1)  # B/n
    pooled = (half - 1) / half * within + between
    scale = np.max(np.abs(parts.mean(axis=(0, 1))) + np.sqrt(pooled))
    constant = np.sqrt(pooled) <= CONSTANT_TOLERANCE * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        rhat = np.where(within > 0, np.sqrt(pooled / np.where(within > 0, within, 1.0)),
                        np.inf)
    rhat = np.where(constant, 1.0, rhat)
    return float(rhat) if rhat.ndim == 0 else rhat


def collapsed_log_posterior(W, X, Y, phi: Callable, dphi: Callable, *, sigma_w: float,
                            sigma_a: float, gamma: float = 1.0,
                            T: float = 0.0) -> tuple[float, np.ndarray]:
    """ln p(W | data) up to a constant (module docstring) and its gradient ∂/∂W (N × d).

    ``W`` (N × d); raises :class:`ParameterError` where C is singular or φ not finite.
    """
    W = _matrix(W, "W")
    problem = _problem(X, Y, None, phi, dphi, sigma_w, sigma_a, gamma, T, W.shape[0])
    if W.shape[1] != problem.X.shape[1]:
        raise ParameterError(f"W has {W.shape[1]} columns but X has d = {problem.X.shape[1]}")
    state = problem.initial(W / sigma_w)
    return state.logp, state.grad / sigma_w


def sample_posterior(X, Y, phi: Callable, dphi: Callable, *, sigma_w: float, sigma_a: float,
                     gamma: float = 1.0, T: float = 0.0, N: int = 512, samples: int = 200,
                     chains: int = 4, burn: int | None = None, thin: int = 1, test=None,
                     seed: int = 0, leapfrog: int = 16, rhat_max: float = 1.05,
                     progress: bool = False) -> PosteriorSamples:
    r"""Sample the collapsed posterior of W by HMC and average the conditional expectations.

    Each of ``chains`` chains (``np.random.default_rng([seed, chain])``) starts from the
    prior, adapts its step size during ``burn`` iterations (dual averaging to acceptance
    0.8; default ``burn = samples``), then keeps ``samples`` states, one every ``thin``
    iterations; trajectories have a uniform number of leapfrog steps in
    [⌈leapfrog/2⌉, leapfrog].

    Observables (averages over kept states and chains of expectations given W):

    ``readout_second_moment`` (m × m)
        (1/N) Σ_i ⟨a_i a_iᵀ⟩ = (1/N)(μ_kᵀμ_l + δ_kl tr Σ_A).
    ``kernel_posterior`` (P × P)
        ⟨H Hᵀ⟩/N.
    ``prediction`` {``mean``, ``variance``} (P* × m), with ``test`` (P* × d)
        mean: ⟨B*μ_k⟩ with B* = N^{−γ}φ(H*); variance: the posterior variance of f_k(x*),
        ⟨diag B*Σ_A B*ᵀ⟩ + Var(B*μ_k) over samples, times N for γ = 1 (N·Var, O(1)).

    ``stderr``: standard deviation across chains / √chains (a single chain: across
    :data:`BATCHES` batches); for the variance, of the per-chain total variances.
    ``diagnostics``: ``rhat`` (the largest split-R̂ of the per-sample scalars above —
    all invariant under permutations of the neurons; the kernel's upper triangle for
    P ≤ 100, else its trace and diagonal; the predictions of at most the first
    :data:`MAX_TRACE_ENTRIES`/(m + 1) test inputs), ``rhat_by_observable``,
    ``acceptance``, ``step_size``, ``leapfrog``, ``divergences``, ``effective_samples``
    (of tr⟨HHᵀ⟩/N) and per second, ``samples``, ``chains``, ``burn``, ``thin``,
    ``seconds``.

    Raises :class:`ConvergenceError` (``.diagnostics``, ``.result`` attached) when the
    R̂ exceeds ``rhat_max``, :class:`ParameterError` for invalid input or, at T = 0, a
    singular C.
    """
    _check_integers(N=N, samples=samples, chains=chains, thin=thin, leapfrog=leapfrog)
    burn = samples if burn is None else burn
    _check_integers(burn=burn, minimum=0)
    if samples < 4:
        raise ParameterError(f"samples = {samples}: split-R̂ needs at least 4 per chain")
    if not (isinstance(rhat_max, int | float) and rhat_max >= 1.0):
        raise ParameterError(f"rhat_max = {rhat_max!r} must be a number ≥ 1")
    problem = _problem(X, Y, test, phi, dphi, sigma_w, sigma_a, gamma, T, N)
    start = time.perf_counter()
    store = _Store(problem, chains, samples)
    runs = []
    total = chains * (burn + samples * thin)
    with progress_bar(total, enabled=progress, description="posterior",
                      unit="iteration") as bar:
        for chain in range(chains):
            rng = np.random.default_rng([seed, chain])
            runs.append(_run_chain(problem, rng, store, chain, burn, samples, thin,
                                   leapfrog, bar))
    seconds = time.perf_counter() - start
    result = store.result(runs, seconds, burn=burn, thin=thin, leapfrog=leapfrog)
    _check_convergence(result, rhat_max)
    return result


class _State(NamedTuple):
    """A point Z with what its log-posterior evaluation computed (kept with the point)."""

    Z: np.ndarray
    H: np.ndarray
    Phi: np.ndarray
    chol: tuple[np.ndarray, bool]
    alpha: np.ndarray  # C⁻¹Y
    logp: float
    grad: np.ndarray  # ∂ ln p/∂Z


@dataclass(frozen=True)
class _Problem:
    X: np.ndarray
    Y: np.ndarray
    test: np.ndarray | None
    phi: Callable
    dphi: Callable
    sigma_w: float
    sigma_a: float
    gamma: float
    T: float
    N: int

    @property
    def scale(self) -> float:  # H = scale · X Zᵀ
        return self.sigma_w / math.sqrt(self.X.shape[1])

    @property
    def norm(self) -> float:  # B = norm · Φ
        return self.N ** (-self.gamma)

    @property
    def s(self) -> float:
        return self.sigma_a**2 * self.N ** (-2 * self.gamma)

    @property
    def tau(self) -> float:
        return self.T / self.N

    @cached_property
    def identity(self) -> np.ndarray:
        return np.eye(self.X.shape[0])

    @cached_property
    def inputs(self) -> np.ndarray:  # H = inputs · Zᵀ
        return self.scale * self.X

    def evaluate(self, Z: np.ndarray) -> _State | None:
        """ln p and its gradient at Z; None where φ is not finite or C is singular."""
        H = self.inputs @ Z.T
        m = self.Y.shape[1]
        with np.errstate(all="ignore"):
            Phi = np.asarray(self.phi(H), dtype=float)
            C = self.s * (Phi @ Phi.T)
            if C.shape != (H.shape[0],) * 2 or not np.isfinite(np.sum(C)):
                return None  # φ not finite (or of the wrong shape)
            C.flat[:: C.shape[0] + 1] += self.tau
            chol = _cholesky(C)
            if chol is None:
                return None
            alpha = _solve(chol, self.Y)
            inverse = _solve(chol, self.identity)
            logdet = 2.0 * np.sum(np.log(np.diag(chol[0])))
            logp = -0.5 * np.vdot(Z, Z) - 0.5 * m * logdet - 0.5 * np.vdot(self.Y, alpha)
            # ∂/∂Φ = s (C⁻¹YYᵀC⁻¹ − m C⁻¹) Φ (a P × P matrix times Φ: cheaper than a solve
            # with N right-hand sides), then through φ'(H) and H = scale · X Zᵀ
            grad_h = (self.s * (alpha @ alpha.T - m * inverse) @ Phi) * self.dphi(H)
            grad = grad_h.T @ self.inputs - Z
        if not (np.isfinite(logp) and np.all(np.isfinite(grad))):
            return None
        return _State(Z, H, Phi, chol, alpha, float(logp), grad)

    def initial(self, Z: np.ndarray) -> _State:
        """:meth:`evaluate`, with a named error where it fails."""
        state = self.evaluate(Z)
        if state is not None:
            return state
        with np.errstate(all="ignore"):
            values = np.asarray(self.phi(self.scale * (self.X @ Z.T)), dtype=float)
        if values.shape != (self.X.shape[0], Z.shape[0]) or not np.all(np.isfinite(values)):
            raise ParameterError("phi must return finite values of the shape of its argument "
                                 "(checked on prior pre-activations)")
        if self.T == 0:
            raise ParameterError(
                f"T = 0 needs an invertible C = s ΦΦᵀ (P × P, P = {self.X.shape[0]}), but it "
                f"is singular here (e.g. a linear phi with P > rank X): use T > 0 or project "
                f"the data onto fewer inputs")
        raise ParameterError(f"the log-posterior is not finite at a prior draw (T = {self.T}: "
                             f"C numerically singular, or dphi not finite)")

    def observe(self, state: _State) -> dict[str, np.ndarray]:
        """The conditional expectations given W at one state (module docstring)."""
        P, m = self.Y.shape
        sa2, tau, N = self.sigma_a**2, self.tau, self.N
        factor = state.chol[0]
        inverse_factor = scipy.linalg.solve_triangular(factor, np.eye(P), lower=True,
                                                       check_finite=False)
        trace_inverse = float(np.sum(inverse_factor**2))  # tr C⁻¹ = ‖L⁻¹‖²
        overlap = self.Y.T @ state.alpha - tau * (state.alpha.T @ state.alpha)
        overlap = 0.5 * (overlap + overlap.T)
        values = {
            "readout_second_moment": sa2 / N * overlap
            + (sa2 - sa2 * (P - tau * trace_inverse) / N) * np.eye(m),
            "kernel_posterior": state.H @ state.H.T / N,
        }
        if self.test is not None:
            B = self.norm * state.Phi
            with np.errstate(all="ignore"):
                B_test = self.norm * np.asarray(self.phi(self.scale * (self.test @ state.Z.T)),
                                                dtype=float)
            if not np.all(np.isfinite(B_test)):
                raise ParameterError("phi is not finite at the test inputs")
            cross = B_test @ B.T  # P* × P
            whitened = scipy.linalg.solve_triangular(factor, cross.T, lower=True,
                                                     check_finite=False)
            values["mean"] = sa2 * cross @ state.alpha
            values["conditional_variance"] = np.maximum(
                sa2 * np.sum(B_test**2, axis=1) - sa2**2 * np.sum(whitened**2, axis=0), 0.0)
        return values


def _cholesky(C: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """(L, True) with C = LLᵀ, the other triangle zero (LAPACK directly: scipy's wrappers
    cost as much as the factorisation at these sizes); None where C is singular."""
    factor, info = scipy.linalg.lapack.dpotrf(C, lower=1, clean=1)
    if info != 0:
        return None
    diagonal = np.diag(factor)
    if not np.all(np.isfinite(diagonal)) or np.min(diagonal) ** 2 < (
            SINGULAR_RCOND * np.max(diagonal) ** 2):
        return None
    return factor, True


def _solve(chol: tuple[np.ndarray, bool], right: np.ndarray) -> np.ndarray:
    """C⁻¹ · right from the factor of :func:`_cholesky`."""
    solution, _ = scipy.linalg.lapack.dpotrs(chol[0], right, lower=1)
    return solution


def _hmc_step(problem: _Problem, state: _State, step: float, n_steps: int,
              rng: np.random.Generator) -> tuple[_State, float, bool]:
    """One Metropolis-corrected leapfrog trajectory → (state, acceptance probability,
    divergent)."""
    momentum = rng.standard_normal(state.Z.shape)
    energy = -state.logp + 0.5 * np.vdot(momentum, momentum)
    momentum = momentum + 0.5 * step * state.grad
    proposal, Z = state, state.Z
    for leap in range(n_steps):
        Z = Z + step * momentum
        proposal = problem.evaluate(Z)
        if proposal is None:
            return state, 0.0, True
        kick = step if leap < n_steps - 1 else 0.5 * step
        momentum = momentum + kick * proposal.grad
        error = -proposal.logp + 0.5 * np.vdot(momentum, momentum) - energy
        # inside the trajectory the momentum is half a step ahead: this energy error is
        # approximate, good enough to stop a divergent trajectory early (NaN included)
        if not error < DIVERGENCE:
            return state, 0.0, True
    acceptance = math.exp(min(0.0, -error))
    if rng.uniform() < acceptance:
        return proposal, acceptance, False
    return state, acceptance, False


def _initial_step(problem: _Problem, state: _State, rng: np.random.Generator) -> float:
    """Hoffman & Gelman (2014), Algorithm 4: double or halve until one leapfrog step's
    acceptance crosses 1/2."""
    step = 1.0
    acceptance = _hmc_step(problem, state, step, 1, rng)[1]
    growing = acceptance > 0.5
    for _ in range(60):
        if (acceptance > 0.5) != growing:
            break
        step = 2.0 * step if growing else 0.5 * step
        acceptance = _hmc_step(problem, state, step, 1, rng)[1]
    return step


class _DualAveraging:
    """Hoffman & Gelman (2014), Algorithm 5, towards :data:`TARGET_ACCEPTANCE`."""

    def __init__(self, step: float) -> None:
        self.mu, self.count, self.error, self.log_average = math.log(10 * step), 0, 0.0, 0.0
        self.step = step

    def update(self, acceptance: float) -> float:
        self.count += 1
        weight = 1.0 / (self.count + 10)
        self.error = (1 - weight) * self.error + weight * (TARGET_ACCEPTANCE - acceptance)
        log_step = self.mu - math.sqrt(self.count) / 0.05 * self.error
        eta = self.count**-0.75
        self.log_average = eta * log_step + (1 - eta) * self.log_average
        self.step = math.exp(log_step)
        return self.step

    def final(self) -> float:
        return math.exp(self.log_average) if self.count else self.step


def _run_chain(problem, rng, store, chain, burn, samples, thin, leapfrog, bar) -> dict:
    state = problem.initial(rng.standard_normal((problem.N, problem.X.shape[1])))
    step = _initial_step(problem, state, rng)
    adaptation = _DualAveraging(step)
    accepted, divergences = 0.0, 0
    for iteration in range(burn + samples * thin):
        n_steps = int(rng.integers(max(1, math.ceil(leapfrog / 2)), leapfrog + 1))
        state, acceptance, divergent = _hmc_step(problem, state, step, n_steps, rng)
        if iteration < burn:
            step = adaptation.update(acceptance)
            if iteration == burn - 1:
                step = adaptation.final()
        else:
            accepted += acceptance
            divergences += divergent
            kept, rest = divmod(iteration - burn + 1, thin)
            if rest == 0:
                store.add(chain, kept - 1, problem.observe(state))
        bar.update(1)
    readout_mean = problem.sigma_a**2 * problem.norm * (state.Phi.T @ state.alpha)
    return {"W": problem.sigma_w * state.Z, "mu": readout_mean, "step": step,
            "acceptance": accepted / (samples * thin), "divergences": divergences}


class _Store:
    """Running sums per group (chain, or batch of a single chain) and the R̂ traces."""

    def __init__(self, problem: _Problem, chains: int, samples: int) -> None:
        self.problem, self.chains, self.samples = problem, chains, samples
        self.groups = chains if chains > 1 else min(BATCHES, samples)
        self.sums: dict[str, np.ndarray] = {}
        self.traces: dict[str, np.ndarray] = {}
        self.counts = np.zeros(self.groups)
        self.kernel_trace = np.empty((chains, samples))

    def add(self, chain: int, index: int, values: dict[str, np.ndarray]) -> None:
        group = chain if self.chains > 1 else index * self.groups // self.samples
        self.counts[group] += 1
        values = dict(values)
        if "mean" in values:
            values["mean_square"] = values["mean"] ** 2
        for name, value in values.items():
            if name not in self.sums:
                self.sums[name] = np.zeros((self.groups, *value.shape))
            self.sums[name][group] += value
        self.kernel_trace[chain, index] = np.trace(values["kernel_posterior"])
        for name, entries in self._trace_entries(values).items():
            if name not in self.traces:
                self.traces[name] = np.empty((self.chains, self.samples, entries.size))
            self.traces[name][chain, index] = entries

    def _trace_entries(self, values) -> dict[str, np.ndarray]:
        readout, kernel = values["readout_second_moment"], values["kernel_posterior"]
        P, m = kernel.shape[0], readout.shape[0]
        if P * (P + 1) // 2 <= MAX_TRACE_ENTRIES:
            kernel_entries = kernel[np.triu_indices(P)]
        else:
            kernel_entries = np.concatenate([[np.trace(kernel)], np.diag(kernel)])
        entries = {"readout_second_moment": readout[np.triu_indices(m)],
                   "kernel_posterior": kernel_entries}
        if "mean" in values:
            kept = max(1, MAX_TRACE_ENTRIES // (m + 1))
            entries["prediction_mean"] = values["mean"][:kept].ravel()
            entries["prediction_variance"] = values["conditional_variance"][:kept]
        return entries

    def _estimates(self, sums: dict[str, np.ndarray], count) -> dict[str, Any]:
        mean = {name: value / count for name, value in sums.items()}
        out = {name: mean[name] for name in ("readout_second_moment", "kernel_posterior")}
        if "mean" in mean:
            spread = np.maximum(mean["mean_square"] - mean["mean"] ** 2, 0.0)
            variance = mean["conditional_variance"][..., None] + spread
            if self.problem.gamma == 1.0:
                variance = self.problem.N * variance  # N·Var, O(1) in the mean-field scaling
            out["prediction"] = {"mean": mean["mean"], "variance": variance}
        return out

    def result(self, runs, seconds, *, burn, thin, leapfrog) -> PosteriorSamples:
        pooled = self._estimates({k: v.sum(axis=0) for k, v in self.sums.items()},
                                 self.counts.sum())
        groups = [self._estimates({k: v[g] for k, v in self.sums.items()}, self.counts[g])
                  for g in range(self.groups)]
        stderr = _stderr(groups)
        rhat_by = {name: float(np.max(split_rhat(trace))) for name, trace in
                   self.traces.items()}
        ess = _effective_samples(self.kernel_trace)
        diagnostics = {
            "rhat": max(rhat_by.values()), "rhat_by_observable": rhat_by,
            "acceptance": float(np.mean([run["acceptance"] for run in runs])),
            "step_size": float(np.mean([run["step"] for run in runs])),
            "step_sizes": tuple(run["step"] for run in runs), "leapfrog": leapfrog,
            "divergences": int(sum(run["divergences"] for run in runs)),
            "effective_samples": ess, "effective_samples_per_second": ess / seconds,
            "samples": self.samples, "chains": self.chains, "burn": burn, "thin": thin,
            "seconds": seconds,
        }
        last = tuple({"W": run["W"], "mu": run["mu"]} for run in runs)
        return PosteriorSamples(pooled, stderr, diagnostics, last)


def _stderr(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """sd across groups / √groups, entrywise, for the nested structure of the estimates."""
    first = groups[0]
    if isinstance(first, dict):
        return {key: _stderr([group[key] for group in groups]) for key in first}
    return np.std(np.stack(groups), axis=0, ddof=1) / math.sqrt(len(groups))


def _effective_samples(draws: np.ndarray) -> float:
    """Multi-chain ESS (BDA3 §11.5; Geyer's initial positive sequence) of chains × n."""
    chains, n = draws.shape
    centred = draws - draws.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=2 * n, axis=1)
    autocovariance = np.fft.irfft(spectrum * np.conj(spectrum), axis=1)[:, :n] / n
    within = autocovariance[:, 0].mean() * n / (n - 1)
    between = draws.mean(axis=1).var(ddof=1) if chains > 1 else 0.0
    pooled = (n - 1) / n * within + between
    if not pooled > 0:
        return float(chains * n)
    rho = 1.0 - (within - autocovariance.mean(axis=0)) / pooled
    rho[0] = 1.0
    pairs = rho[: n - n % 2 : 2] + rho[1 : n - n % 2 : 2]
    negative = np.flatnonzero(pairs < 0)
    pairs = pairs[: negative[0]] if negative.size else pairs
    tau = max(-1.0 + 2.0 * pairs.sum(), 1.0 / math.log10(max(chains * n, 10)))
    return float(chains * n / tau)


def _check_convergence(result: PosteriorSamples, rhat_max: float) -> None:
    diagnostics = result.diagnostics
    if diagnostics["rhat"] <= rhat_max:
        return
    name, worst = max(diagnostics["rhat_by_observable"].items(), key=lambda item: item[1])
    error = ConvergenceError(
        f"posterior sampler not converged: split-R̂ of {name} is {worst:.4g} > rhat_max = "
        f"{rhat_max} after {diagnostics['samples']} samples × {diagnostics['chains']} chains;"
        f" use more samples (and burn-in), or more leapfrog steps",
        history=tuple(diagnostics["rhat_by_observable"].values()))
    error.diagnostics = diagnostics
    error.result = result
    raise error


def _matrix(value, name: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise ParameterError(f"{name} must be a numeric array: {error}") from None
    if array.ndim != 2 or 0 in array.shape:
        raise ParameterError(f"{name} must be a non-empty 2-D array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ParameterError(f"{name} has non-finite entries")
    return array


def _check_integers(minimum: int = 1, **values) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
            raise ParameterError(f"{name} = {value!r} must be an integer ≥ {minimum}")


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ParameterError(f"{name} = {value!r} must be a number")
    if not (math.isfinite(value) and value > 0):
        raise ParameterError(f"{name} = {value!r} must be finite and > 0")
    return float(value)


def _problem(X, Y, test, phi, dphi, sigma_w, sigma_a, gamma, T, N) -> _Problem:
    X, Y = _matrix(X, "X"), _matrix(Y, "Y")
    if Y.shape[0] != X.shape[0]:
        raise ParameterError(f"X has P = {X.shape[0]} rows but Y has {Y.shape[0]}: "
                             f"one target row per input")
    if test is not None:
        test = _matrix(test, "test")
        if test.shape[1] != X.shape[1]:
            raise ParameterError(f"test has d = {test.shape[1]} columns but X has "
                                 f"{X.shape[1]}")
    for name, function in (("phi", phi), ("dphi", dphi)):
        if not callable(function):
            raise ArgumentTypeError(f"{name} must be a vectorised callable, got "
                                    f"{type(function).__name__}")
    _check_integers(N=N)
    sigma_w, sigma_a = _positive(sigma_w, "sigma_w"), _positive(sigma_a, "sigma_a")
    if isinstance(gamma, bool) or gamma not in (0.5, 1.0):
        raise ParameterError(f"gamma = {gamma!r} must be 1 (mean-field) or 0.5 (lazy)")
    if isinstance(T, bool) or not isinstance(T, int | float | np.floating | np.integer) or not (
            math.isfinite(T) and T >= 0):
        raise ParameterError(f"T = {T!r} must be a finite number ≥ 0")
    if T == 0 and N < X.shape[0]:
        raise ParameterError(f"T = 0 needs an invertible C (P × P), impossible with N = {N} "
                             f"< P = {X.shape[0]}: use T > 0, N ≥ P, or project the data")
    return _Problem(X, Y, test, phi, dphi, sigma_w, sigma_a, float(gamma), float(T), int(N))
