r"""Stationary dynamic mean-field theory of P coupled Gaussian populations (general terms).

Self-contained runtime: numpy, scipy, the standard library and
``fieldtheory.solvers.runtime.common`` only (the code generator inlines both source texts).
The problem comes in as a :class:`~fieldtheory.solvers.runtime.common.SiteSpec`.

The single site of population α (Sompolinsky, Crisanti & Sommers, PRL 61, 259 (1988); the
block form e.g. Kadmon & Sompolinsky, PRX 5, 041030 (2015); Mastrogiuseppe & Ostojic,
PLoS CB 13, e1005498 (2017)) is

.. math::
    (a_\alpha + \partial_t) x = \mu_\alpha + \eta_\alpha, \qquad
    \mu_\alpha = I_\alpha + \sum_l B_{\alpha l} m_l, \qquad
    \langle\eta_\alpha(t)\eta_\alpha(s)\rangle = D_\alpha\delta(t - s)
        + \sum_k A_{\alpha k} C_k(t - s),

with m_l = E[f_l(x)] and the FULL second moments C_k(τ) = E[f_k(x(t)) h_k(x(s))] (means
included), each over the site of its own term's population. The site is Gaussian: mean
M_α = μ_α/a_α and autocovariance Δ_α(τ) about M_α, which holds the temporal fluctuations and
the static (quenched) heterogeneity of the units' means, Δ_α(∞) = Δ∞_α ≥ 0. Since the
spectrum of x is that of the input over a_α² + ω²,

.. math::
    (a_\alpha^2 - \partial_\tau^2)\,\Delta_\alpha(\tau) = D_\alpha\delta(\tau)
        + \sum_k A_{\alpha k} C_k(\tau), \qquad
    C_k(\tau) = E[f_k(u) h_k(v)],

(u, v) Gaussian with means M_β, variances Δ_β(0), covariance Δ_β(τ), β the population of
term k. Nothing is subtracted: the constant part of Σ A C_k (e.g. g² m² of a random
coupling with ⟨φ⟩ ≠ 0) is exactly what sustains the plateau, a_α² Δ∞_α = Σ_k A_αk C_k(∞),
while the means of the couplings act only through μ_α (as in the one-population runtime
``stationary.py``, where J0 m enters μ and g² C_φ is the full second moment).

Branches
--------
*Fixed point* (D = 0): Δ_α(τ) ≡ q_α with a_α² q_α = Σ_k A_αk E[f_k(u) h_k(u)],
u ~ N(M_β, q_β). Its linear stability follows from the tangent dynamics (below) with
constant kernel: the fixed point is stable iff the spectral radius of

.. math:: S_{\alpha\beta} = \frac{1}{a_\alpha^2} \sum_{k:\, \beta(k) = \beta}
          A_{\alpha k}\, E[f_k'(u) h_k'(u)]

is below one (one population, one term: g²⟨φ'²⟩ < 1). ``branch="auto"`` takes the fixed
point when it is stable, else the chaotic solution of the lag equation. With noise
(any D_α > 0) there is no fixed point; the branch is ``"noise_driven"``.

Lyapunov exponent
-----------------
Two replicas of the network with the same couplings: their cross-covariance obeys the lag
equation with C_k replaced by E[f_k(x¹(t)) h_k(x²(s))]; linearised about the
synchronous solution (Price's theorem: ∂C_k/∂Δ = E[f_k'(u) h_k'(v)]) and with
δΔ_α(t, s) = e^{λ(t+s)} ψ_α(t − s),

.. math::
    [-\partial_\tau^2 + (a_\alpha + \lambda)^2]\,\psi_\alpha(\tau)
        = \sum_\beta W_{\alpha\beta}(\tau)\,\psi_\beta(\tau), \qquad
    W_{\alpha\beta}(\tau) = \sum_{k:\,\beta(k) = \beta} A_{\alpha k} E[f_k'(u) h_k'(v)].

λ_max is the largest λ with a solution; for one population, (a + λ)² = −E0 with E0 the
ground state of −∂² − g² C_φ'(τ) (Clark et al., rnn-lyapunov; ``stationary.py``). On the
reflecting lattice, Z(λ) = −δ² + diag((a_α + λ)²) − W is a Z-matrix when W ≥ 0
elementwise (A ≥ 0 and monotone f, h): its eigenvalue e(λ) of smallest real part is real
with a positive eigenvector (Perron–Frobenius), increases with λ, and e(−min a) ≤ 0, so
λ_max ≥ −min a solves e(λ) = 0. Equal leaks: (a + λ_max)² = −e₀(−δ² − W), one
shift-invert Arnoldi solve; unequal leaks: bisection on the sign of e(λ), read off the
pivots of an unpivoted LU (a Z-matrix is a nonsingular M-matrix, e > 0, iff they are all
positive). At a fixed point W is constant and the Perron mode τ-constant:
ρ(diag(1/(a + λ)²) W) = 1. When W has negative entries the Perron–Frobenius argument
fails and λ_max is refused (``None`` with a ``"lyapunov_note"``). With noise the same
operator gives λ of the noise-driven flow (replicas share the noise).

Numerics
--------
* Gaussian expectations: ``common.gaussian_pair_mean`` (trapezoidal rule, step set by the
  strip of analyticity), tabulated in Δ ∈ [−Δ0, Δ0] by Chebyshev interpolation to 1e-13.
* Fixed point: monotone iteration from above (the largest root), then ``scipy.optimize.root``.
* Lag equation on τ_k = k h, k = 0..n, second differences with reflecting ends (the even,
  periodic extension; DCT-I modes), unknowns Δ_α(τ_k) and M_α: Newton's method with the
  exact sparse Jacobian (tridiagonal in k, P × P blocks from ∂C_k/∂Δ, dense columns for
  the variances Δ_β(0) and means M_β by forward differences), sparse LU, backtracking.
  The start: a cosh ansatz between the fixed-point variance and a plateau, refined with
  noise continuation (D → D + ε, ε → 0) when Newton alone fails. Errors O(h²).
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.polynomial import chebyshev
from scipy import fft, optimize, sparse
from scipy.sparse import linalg as sparse_linalg

__all__ = [
    "MultiSolution",
    "applies_multi",
    "solve_multi",
    "solve_site_multi",
]

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    ConvergenceError,
    SiteSpec,
    SolverInputError,
    backtrack,
    mixture,
    register_runtime,
)
from fieldtheory.solvers.runtime.quadrature import (  # inlined by the code generator
    STRIP,
    gaussian_mean,
    gaussian_pair_mean,
)

# --------------------------------------------------------------------------- the problem


class _Problem:
    """The validated numbers and callables of a SiteSpec (internal)."""

    def __init__(self, spec: SiteSpec, strip: float):
        if spec.step is not None:
            raise SolverInputError(
                "solve_multi takes continuous time (SiteSpec.step is None); "
                f"this spec is a map with step {spec.step}"
            )
        if spec.has_nonlinear_drift:
            names = [spec.populations[i] for i, r in enumerate(spec.nonlinear) if r is not None]
            raise SolverInputError(
                f"a nonlinear drift in population(s) {names} is not supported: "
                "the site is not Gaussian (use the Monte-Carlo runtime)"
            )
        if spec.has_kernel:
            raise SolverInputError(
                "a response kernel (response_coupling ≠ 0, partial symmetry) is "
                "not supported by the Gaussian multi-population runtime"
            )
        P = spec.size
        self.P, self.names, self.strip = P, tuple(spec.populations), float(strip)
        self.a = np.asarray(spec.leak, dtype=float).reshape(P)
        self.D = np.asarray(spec.noise, dtype=float).reshape(P)
        self.I = np.asarray(spec.offset, dtype=float).reshape(P)
        self.B = np.asarray(spec.mean_coupling, dtype=float).reshape(P, len(spec.means))
        self.A = np.asarray(spec.correlation_coupling, dtype=float).reshape(
            P, len(spec.correlations)
        )
        if np.any(self.a <= 0) or not np.all(np.isfinite(self.a)):
            raise SolverInputError(f"leaks must be positive and finite; got {self.a.tolist()}")
        if np.any(self.D < 0):
            raise SolverInputError(f"noise intensities must be non-negative; got {self.D.tolist()}")
        for kind, terms in (("mean", spec.means), ("correlation", spec.correlations)):
            for k, term in enumerate(terms):
                if not 0 <= term.population < P:
                    raise SolverInputError(
                        f"{kind} term {k} ({term.name or 'unnamed'}) refers to "
                        f"population {term.population}; there are {P}"
                    )
        for k, term in enumerate(spec.correlations):
            if term.right is None:
                raise SolverInputError(
                    f"correlation term {k} ({term.name or 'unnamed'}) has no right factor h"
                )
        self.means = tuple(spec.means)
        used = [k for k in range(self.A.shape[1]) if np.any(self.A[:, k] != 0)]
        self.terms = tuple(spec.correlations[k] for k in used)  # terms with A = 0 drop out
        self.A = self.A[:, used]
        self.phi, self.dphi = tuple(spec.phi), tuple(spec.dphi)
        self.cache: dict = {}

    # ------------------------------------------------------------------ expectations

    def table(self, k: int, d0: float, mean: float, which: str = "C"):
        """Chebyshev coefficients of Δ ↦ E[f_k(u)h_k(v)] (``which="G"``: of f', h')."""
        key = (k, which, float(d0), float(mean))
        if key not in self.cache:
            term = self.terms[k]
            f, h = (term.left, term.right) if which == "C" else _derivatives(term)
            self.cache[key] = _chebyshev_table(f, h, float(mean), float(d0), self.strip)
        return self.cache[key]

    def clear(self) -> None:
        self.cache.clear()

    def correlation(self, k: int, delta, d0: float, mean: float, which: str = "C"):
        """C_k (or G_k) at covariances ``delta``; variances d0, mean ``mean``."""
        coef = self.table(k, d0, mean, which)
        if coef is None:  # d0 == 0: a point mass
            term = self.terms[k]
            f, h = (term.left, term.right) if which == "C" else _derivatives(term)
            x = np.array([float(mean)])
            return np.full(np.shape(delta), float(f(x)[0] * h(x)[0]))
        return chebyshev.chebval(np.clip(np.asarray(delta) / d0, -1.0, 1.0), coef)

    def slope(self, k: int, delta, d0: float, mean: float):
        """∂C_k/∂Δ at fixed variances (= E[f'h'], Price): the table's derivative."""
        coef = self.table(k, d0, mean, "C")
        if coef is None:
            return self.correlation(k, delta, d0, mean, "G")
        return (
            chebyshev.chebval(np.clip(np.asarray(delta) / d0, -1.0, 1.0), chebyshev.chebder(coef))
            / d0
        )

    def mean_of(self, f, mean: float, d0: float) -> float:
        return float(gaussian_mean(f, float(mean), max(float(d0), 0.0), self.strip))

    def term_means(self, M, d0) -> np.ndarray:
        """m_l = E[f_l(u)], u ~ N(M_β, Δ0_β), β the population of mean term l."""
        return np.array(
            [self.mean_of(t.left, M[t.population], d0[t.population]) for t in self.means]
        )

    def mean_input(self, M, d0) -> np.ndarray:
        """μ_α = I_α + Σ_l B_αl m_l."""
        return self.I + (self.B @ self.term_means(M, d0) if self.means else 0.0)


def _derivatives(term):
    if term.dleft is not None and term.dright is not None:
        return term.dleft, term.dright
    return _numeric_derivative(term.left), _numeric_derivative(term.right)


def _numeric_derivative(f, h: float = 1e-5):
    """A centred fourth-order difference (used only when the spec gives no derivative)."""

    def df(x):
        return (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h)

    return df


def _chebyshev_table(f, h, mean: float, d0: float, strip: float):
    """Chebyshev coefficients in x = Δ/Δ0 ∈ [−1, 1] of E[f(u)h(v)], degree doubled to 1e-13."""
    if d0 <= 1e-300:
        return None
    coef = None
    for degree in (32, 64, 128, 256, 512):
        coef = chebyshev.chebinterpolate(
            lambda x: gaussian_pair_mean(f, h, mean, d0, d0 * x, strip), degree
        )
        if np.abs(coef[-6:]).max() <= 1e-13 * max(np.abs(coef).max(), 1e-300):
            break
    return coef


# --------------------------------------------------------------------------- fixed point


def _static_pairs(problem: _Problem, q, M, which: str = "C") -> np.ndarray:
    """E[f_k(u)h_k(u)] (or f', h') with u ~ N(M_β, q_β): the equal-time (Δ = Δ0) value."""
    out = np.empty(len(problem.terms))
    for k, term in enumerate(problem.terms):
        f, h = (term.left, term.right) if which == "C" else _derivatives(term)
        beta = term.population
        out[k] = problem.mean_of(lambda x, f=f, h=h: f(x) * h(x), M[beta], q[beta])
    return out


def _stability_matrix(problem: _Problem, q, M) -> np.ndarray:
    r"""S_αβ = Σ_{k∈β} A_αk E[f_k'(u)h_k'(u)]/a_α² at the fixed point (q, M); see module."""
    W = _kernel_matrix(problem, _static_pairs(problem, q, M, "G"))
    return W / problem.a[:, None] ** 2


def _kernel_matrix(problem: _Problem, values) -> np.ndarray:
    """W_αβ = Σ_{k: β(k) = β} A_αk values_k (values may carry trailing τ axes)."""
    values = np.asarray(values, dtype=float)
    W = np.zeros((problem.P, problem.P, *values.shape[1:]))
    for k, term in enumerate(problem.terms):
        W[:, term.population] += (
            problem.A[:, k].reshape((-1,) + (1,) * (values.ndim - 1)) * values[k]
        )
    return W


def _multi_fixed_point(
    problem: _Problem, M_seed, residuals: list, noise=None
) -> tuple[np.ndarray, np.ndarray]:
    """(q, M) of the static solution: the largest root, by iteration from above + root.

    With ``noise`` the white noise is counted as a static variance D/(2a) (a start for the
    noise-driven lattice solve, not a solution).
    """
    P, a = problem.P, problem.a
    white = np.zeros(P) if noise is None else np.asarray(noise, dtype=float) / (2 * a)
    scale = max(1.0, float(np.abs(problem.A).sum(axis=1).max() / a.min() ** 2))
    q, M = np.full(P, 2.0 * scale), np.array(M_seed, dtype=float)
    for _ in range(200):
        M = problem.mean_input(M, q) / a
        new = white + _kernel_matrix(problem, _static_pairs(problem, q, M)).sum(axis=1) / a**2
        if not np.all(np.isfinite(new)) or new.max() > 1e8 * scale:
            raise ConvergenceError(
                "fixed point: the static variance grows without bound "
                "(an unbounded nonlinearity with too strong coupling has no "
                "static solution)",
                residuals,
            )
        change = float(np.abs(new - q).max())
        residuals.append(change)
        q = np.maximum(new, 0.0)
        if change <= 1e-12 * max(q.max(), 1.0):
            break

    def equations(z):
        qq, MM = np.maximum(z[:P], 0.0), z[P:]
        pairs = _static_pairs(problem, qq, MM)
        return np.concatenate(
            [
                a**2 * (z[:P] - white) - _kernel_matrix(problem, pairs).sum(axis=1),
                a * MM - problem.mean_input(MM, qq),
            ]
        )

    solution = optimize.root(equations, np.concatenate([q, M]), method="hybr", tol=1e-14)
    z = solution.x
    final = float(np.abs(equations(z)).max())
    residuals.append(final)
    if not np.all(np.isfinite(z)) or final > 1e-9 * max(1.0, float(np.abs(z).max())):
        raise ConvergenceError(
            "fixed point: the static equations have no root near the iteration's limit", residuals
        )
    return np.maximum(z[:P], 0.0), z[P:]


# --------------------------------------------------------------------------- Lyapunov


def _largest_exponent(r_of_lambda, a: np.ndarray, bound: float) -> float:
    """Largest λ > −min a with r(λ) = 1, r decreasing; −min a when r < 1 throughout."""
    low = -float(a.min())
    high = max(float(np.max(math.sqrt(max(bound, 0.0)) - a)), low) + 1e-9
    probe = low + 1e-9 * max(1.0, float(a.min()))
    if r_of_lambda(probe) <= 1.0:
        return low
    while r_of_lambda(high) > 1.0:  # the bound guarantees r < 1 here; guard round-off
        high += 1.0
    return float(
        optimize.brentq(lambda lam: r_of_lambda(lam) - 1.0, probe, high, xtol=1e-13, rtol=1e-13)
    )


def _fixed_point_exponent(W0: np.ndarray, a: np.ndarray) -> float:
    """λ_max of a fixed point: ρ(diag(1/(a + λ)²) W0) = 1 (the τ-constant mode)."""

    def r(lam):
        return float(np.abs(np.linalg.eigvals(W0 / (a[:, None] + lam) ** 2)).max())

    return _largest_exponent(r, a, float(W0.sum(axis=1).max()))


def _lattice_exponent(W: np.ndarray, a: np.ndarray, step: float) -> float:
    r"""λ_max from W_αβ(τ_k) (shape P × P × (n + 1)) on the reflecting lattice; see module.

    Z(λ) = −δ² + diag((a_α + λ)²) − W is a Z-matrix (off-diagonal entries ≤ 0), so its
    eigenvalue e(λ) of smallest real part is real (Perron–Frobenius), it increases with λ,
    and e(−min a) ≤ 0 (it is at most that of any principal block). λ_max solves e(λ) = 0;
    with equal leaks directly, (a + λ)² = −e₀, e₀ that of −δ² − W. e is found by
    shift-invert Arnoldi below the Gershgorin bound, where e is the nearest eigenvalue.
    """
    P, n1 = W.shape[0], W.shape[2]
    main = np.full(n1, 2.0 / step**2)
    lower = np.full(n1 - 1, -1.0 / step**2)
    upper = np.full(n1 - 1, -1.0 / step**2)
    upper[0] = lower[-1] = -2.0 / step**2  # reflecting ends, as the lag equation
    laplace = sparse.diags([lower, main, upper], [-1, 0, 1], format="csr")
    index = np.arange(n1)
    rows = np.concatenate([al * n1 + index for al in range(P) for be in range(P)])
    cols = np.concatenate([be * n1 + index for al in range(P) for be in range(P)])
    coupling = sparse.coo_matrix((-W.reshape(-1), (rows, cols)), shape=(P * n1, P * n1))
    base = (sparse.block_diag([laplace] * P) + coupling).tocsc()
    reach = float(W.max(axis=2).sum(axis=1).max())

    def lowest(shift: np.ndarray) -> float:
        """Smallest eigenvalue of base + diag(shift_α)."""
        matrix = (base + sparse.diags(np.repeat(shift, n1))).tocsc()
        sigma = float(shift.min()) - reach - 1.0
        if P * n1 <= 400:
            return float(np.linalg.eigvals(matrix.toarray()).real.min())
        value = sparse_linalg.eigs(
            matrix,
            k=1,
            sigma=sigma,
            which="LM",
            tol=1e-13,
            return_eigenvectors=False,
            v0=np.ones(P * n1),
        )
        return float(value.real[0])

    if np.all(a == a[0]):
        e0 = lowest(np.zeros(P))
        return -float(a[0]) + math.sqrt(max(-e0, 0.0))
    # unequal leaks: bisection on the sign of e(λ). A Z-matrix is a nonsingular M-matrix
    # (e > 0) iff Gaussian elimination without pivoting meets only positive pivots
    # (Berman & Plemmons, Nonnegative Matrices, ch. 6, condition E18); the unknowns are
    # interleaved (k·P + α) so that the factor stays banded.
    order = (np.arange(P)[None, :] * n1 + np.arange(n1)[:, None]).ravel()
    interleaved = base[order][:, order].tocsc()

    def positive(lam: float) -> bool:
        shift = np.tile((a + lam) ** 2, n1)
        matrix = (interleaved + sparse.diags(shift)).tocsc()
        try:
            factor = sparse_linalg.splu(
                matrix, permc_spec="NATURAL", diag_pivot_thresh=0.0, options={"Equil": False}
            )
        except RuntimeError:  # exactly singular: e = 0
            return False
        if np.any(factor.perm_r != np.arange(P * n1)):
            return lowest((a + lam) ** 2) > 0.0
        return bool(np.all(factor.U.diagonal() > 0.0))

    low = -float(a.min())
    if positive(low):
        return low
    high = max(float(np.max(math.sqrt(max(reach, 0.0)) - a)), low) + 1e-9
    while not positive(high):  # Gershgorin: e(high) > 0; guard round-off
        high += 1.0
    while high - low > 1e-13 * max(1.0, abs(low), abs(high)):
        middle = 0.5 * (low + high)
        if positive(middle):
            high = middle
        else:
            low = middle
    return 0.5 * (low + high)


# --------------------------------------------------------------------------- lag equation


class _Lattice:
    """Residual and sparse Jacobian of the lattice lag equations (internal)."""

    def __init__(self, problem: _Problem, n: int, step: float, D: np.ndarray):
        self.problem, self.n, self.step, self.D = problem, n, step, np.asarray(D, dtype=float)
        P, n1 = problem.P, n + 1
        main = np.full(n1, 2.0 / step**2)
        lower = np.full(n, -1.0 / step**2)
        upper = np.full(n, -1.0 / step**2)
        upper[0] = lower[-1] = -2.0 / step**2  # reflecting ends: Δ_{−1} = Δ_1, Δ_{n+1} = Δ_{n−1}
        laplace = sparse.diags([lower, main, upper], [-1, 0, 1], format="csr")
        self.operator = sparse.block_diag(
            [laplace + problem.a[al] ** 2 * sparse.identity(n1) for al in range(P)], format="csr"
        )
        self.n1 = n1

    def split(self, z):
        P, n1 = self.problem.P, self.n1
        return z[: P * n1].reshape(P, n1), z[P * n1 :]

    def sources(self, delta, M):
        """Σ_k A_αk C_k(τ) per α, and the C_k themselves."""
        problem = self.problem
        C = np.array(
            [
                problem.correlation(k, delta[t.population], delta[t.population, 0], M[t.population])
                for k, t in enumerate(problem.terms)
            ]
        ).reshape(len(problem.terms), self.n1)  # explicit length: a site may have no terms
        return _kernel_matrix(problem, C).sum(axis=1), C

    def residual(self, z) -> np.ndarray:
        problem = self.problem
        delta, M = self.split(z)
        if np.any(delta[:, 0] < 0):
            return np.full(z.size, np.inf)
        source, _ = self.sources(delta, M)
        lag = self.operator @ delta.ravel() - source.ravel()
        lag[:: self.n1] -= self.D / self.step
        means = problem.a * M - problem.mean_input(M, delta[:, 0])
        return np.concatenate([lag, means])

    def jacobian(self, z):
        problem, P, n1 = self.problem, self.problem.P, self.n1
        delta, M = self.split(z)
        d0 = delta[:, 0]
        size = P * n1 + P
        # ∂C_k/∂Δ_β(τ_k) at fixed variances: P × P blocks, diagonal in k
        local = (
            _kernel_matrix(
                problem,
                [
                    problem.slope(k, delta[t.population], d0[t.population], M[t.population])
                    for k, t in enumerate(problem.terms)
                ],
            )
            if problem.terms
            else np.zeros((P, P, n1))
        )
        rows, cols, vals = [], [], []
        index = np.arange(n1)
        for al in range(P):
            for be in range(P):
                if np.any(local[al, be] != 0):
                    rows.append(al * n1 + index)
                    cols.append(be * n1 + index)
                    vals.append(-local[al, be])
        # dense columns: variance Δ_β(0) (at the k = 0 column) and mean M_β, by differences
        base = self.residual(z)
        for be in range(P):
            if not problem.means:  # M = I/a exactly: its rows are a·δM = 0, decoupled
                rows.append(np.array([P * n1 + be]))
                cols.append(np.array([P * n1 + be]))
                vals.append(np.array([problem.a[be]]))
            columns = [(be * n1, 1e-7 * max(d0[be], 1e-12))]
            if problem.means:
                columns.append((P * n1 + be, 1e-7 * max(abs(M[be]), 1e-3)))
            for column, eps in columns:
                shifted = self._partial(z, be, column == be * n1, eps)
                diff = (shifted - base) / eps
                keep = np.flatnonzero(diff)
                rows.append(keep)
                cols.append(np.full(keep.size, column))
                vals.append(diff[keep])
        extra = sparse.coo_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size)
        )
        top = sparse.bmat([[self.operator, None], [None, sparse.csr_matrix((P, P))]])
        return (top + extra).tocsc(), base

    def _partial(self, z, be: int, variance: bool, eps: float):
        """The residual with only the variance (or mean) of population β moved by eps."""
        problem = self.problem
        delta, M = self.split(z)
        d0, MM = delta[:, 0].copy(), M.copy()
        if variance:
            d0[be] += eps
        else:
            MM[be] += eps
        C = np.array(
            [
                problem.correlation(k, delta[t.population], d0[t.population], MM[t.population])
                for k, t in enumerate(problem.terms)
            ]
        ).reshape(len(problem.terms), self.n1)
        source = _kernel_matrix(problem, C).sum(axis=1)
        lag = self.operator @ delta.ravel() - source.ravel()
        lag[:: self.n1] -= self.D / self.step
        means = problem.a * MM - problem.mean_input(MM, d0)
        return np.concatenate([lag, means])


def _multi_newton(lattice: _Lattice, z, residuals: list, max_iter: int) -> np.ndarray:
    """Newton's method with backtracking; converges to round-off or raises."""
    problem = lattice.problem
    scale = float(problem.a.max() ** 2 + 4.0 / lattice.step**2)
    history: list[float] = []
    for _ in range(max_iter):
        matrix, force = lattice.jacobian(z)
        delta, M = lattice.split(z)
        norm = float(np.abs(force).max())
        residuals.append(norm)
        floor = (
            256
            * np.finfo(float).eps
            * scale
            * max(float(np.abs(delta).max()), float(np.abs(M).max(initial=0)), 1e-3)
        )
        if norm <= floor:
            return z
        try:
            update = sparse_linalg.spsolve(matrix, force)
        except RuntimeError as error:  # singular factor
            raise ConvergenceError(
                f"lag equation: singular Jacobian ({error})", residuals
            ) from error
        if not np.all(np.isfinite(update)):
            raise ConvergenceError("lag equation: singular Jacobian", residuals)
        trial, _, trial_norm, taken = backtrack(z, update, norm, lattice.residual, residuals)
        history.append(trial_norm)
        if len(history) > 6 and history[-1] > 0.5 * history[-6]:
            raise ConvergenceError("lag equation: Newton stalls (outside its basin)", residuals)
        z = trial
        if taken * float(np.abs(update).max()) <= 1e-14 * max(float(np.abs(z).max()), 1e-3):
            residuals.append(trial_norm)
            return z
        if len(problem.cache) > 4000:
            problem.clear()
    raise ConvergenceError(f"lag equation: Newton did not converge in {max_iter} steps", residuals)


def _lattice_solve(
    problem: _Problem, n: int, step: float, M, residuals: list, max_iter: int, z0=None
) -> np.ndarray:
    """Newton from z0 (default: the ansatz); on failure, continuation in the noise.

    The continuation solves with D + ε, starting where white noise dominates (ε of the
    order of the network variance, so that the ansatz is close) and lowering ε by factors
    of 4 (2, 1.4, … after a failure) to zero, each Newton started from the previous level.
    """
    if z0 is None:
        z0 = _multi_initial_guess(problem, n, step, problem.D, M, residuals)
    try:
        z = _multi_newton(_Lattice(problem, n, step, problem.D), z0, residuals, max_iter)
        if not _is_static(problem, z, n):
            return z
    except ConvergenceError:
        pass
    a = problem.a
    scale = float(np.abs(problem.A).sum(axis=1).max() / a.min() ** 2)
    eps = 4.0 * float(a.max()) * max(scale, 1.0)
    z = _multi_initial_guess(problem, n, step, problem.D + eps, z0[-problem.P :], residuals)
    z = _multi_newton(_Lattice(problem, n, step, problem.D + eps), z, residuals, max_iter)
    factor = 4.0
    while eps > 0.0:
        target = 0.0 if eps / factor < 1e-6 * max(scale, 1.0) else eps / factor
        try:
            z_new = _multi_newton(_Lattice(problem, n, step, problem.D + target), z, residuals,
                                  max_iter)
        except ConvergenceError:
            factor = math.sqrt(factor)
            if factor < 1.01:
                raise
            continue
        z, eps = z_new, target
        factor = min(factor * factor, 4.0)
    if _is_static(problem, z, n):
        raise ConvergenceError(
            "lag equation: only the (unstable) static solution was found, no fluctuating one",
            residuals,
        )
    return z


def _is_static(problem: _Problem, z, n: int) -> bool:
    """Whether a noise-free lattice solution is τ-independent (the fixed point again)."""
    if np.any(problem.D > 0):
        return False
    delta = z[: problem.P * (n + 1)].reshape(problem.P, n + 1)
    spread = delta.max(axis=1) - delta.min(axis=1)
    return bool(np.all(spread <= 1e-6 * np.maximum(np.abs(delta[:, 0]), 1e-12)))


def _multi_initial_guess(problem: _Problem, n: int, step: float, noise, M, residuals):
    """Ansatz Δ = Δ∞ + (q − D/2a − Δ∞)/cosh(aτ/2) + D e^{−aτ}/(2a), M from the statics.

    q and M solve the static equations with the white noise counted as a static variance
    D/(2a); Δ∞ = Σ_k A_αk E[f_k]E[h_k]/a² (independent u, v).
    """
    q, M = _multi_fixed_point(problem, M, residuals, noise=noise)
    tau = step * np.arange(n + 1)
    a, noise = problem.a, np.asarray(noise, dtype=float)
    independent = [
        problem.correlation(k, 0.0, q[t.population], M[t.population])[()]
        for k, t in enumerate(problem.terms)
    ]
    plateau = (
        _kernel_matrix(problem, independent).sum(axis=1) / a**2
        if problem.terms
        else np.zeros(problem.P)
    )
    delta = np.empty((problem.P, n + 1))
    for al in range(problem.P):
        white = noise[al] / (2 * a[al])
        amplitude = max(q[al] - white - plateau[al], 0.0)
        delta[al] = (
            plateau[al] + amplitude / np.cosh(0.5 * a[al] * tau) + white * np.exp(-a[al] * tau)
        )
    return np.concatenate([delta.ravel(), M])


def _decay_rate(problem: _Problem, delta, M) -> float:
    """κ∞ = √(smallest eigenvalue of diag(a²) − W(Δ∞)): decay of Δ − Δ∞ (floor 1e-2 a)."""
    d0, plateau = delta[:, 0], delta[:, -1]
    slopes = [
        float(problem.slope(k, plateau[t.population], d0[t.population], M[t.population]))
        for k, t in enumerate(problem.terms)
    ]
    W = _kernel_matrix(problem, slopes)
    values = np.linalg.eigvals(np.diag(problem.a**2) - W).real
    return math.sqrt(max(float(values.min()), 1e-4 * float(problem.a.min()) ** 2))


# --------------------------------------------------------------------------- solution


@dataclass(frozen=True, eq=False)
class MultiSolution:
    """The stationary state of P populations on the lattice τ_k = k·step (internal form).

    ``delta`` (P × (n + 1)): Δ_α(τ_k); ``mean``: M_α; ``c_phi``: E[φ_α(u)φ_α(v)] (full);
    ``phi_mean``, ``gain``: E[φ_α], E[φ_α']; ``lyapunov``: λ_max or None (``note`` says why).
    """

    names: tuple
    branch: str
    step: float
    per: int
    out: int
    delta: np.ndarray
    mean: np.ndarray
    c_phi: np.ndarray
    phi_mean: np.ndarray
    gain: np.ndarray
    lyapunov: float | None
    note: str
    stability: np.ndarray | None
    residuals: tuple

    def population(self, alpha: int) -> dict[str, Any]:
        """Observables of population α on the output grid (the project schema's keys)."""
        sl = slice(0, self.out * self.per + 1, self.per)
        tau = self.step * np.arange(self.delta.shape[1])[sl]
        return {
            "mean": float(self.mean[alpha]),
            "variance": float(self.delta[alpha, 0]),
            "autocorrelation": {"tau": tau, "values": self.delta[alpha, sl].copy()},
            "mean_phi": float(self.phi_mean[alpha]),
            "autocorrelation_phi": {
                "tau": tau,
                "values": self.c_phi[alpha, sl] - self.phi_mean[alpha] ** 2,
            },
            "mean_gain": float(self.gain[alpha]),
        }

    def mixture(self, fractions) -> dict[str, Any]:
        """Network-wide observables of units drawn with probabilities ``fractions``
        (common.mixture: Δ_all(τ) = Σ_α f_α [Δ_α(τ) + (M_α − M̄)²], likewise for φ)."""
        return mixture([self.population(al) for al in range(len(self.names))], fractions)[0]

    def observables(self, fractions=None) -> dict[str, Any]:
        """Schema dict: top level population 0 (or the mixture), ``populations`` when P > 1."""
        top = self.population(0) if fractions is None else self.mixture(fractions)
        out: dict[str, Any] = dict(top)
        if len(self.names) > 1:
            out["populations"] = {name: self.population(al) for al, name in enumerate(self.names)}
        out["lyapunov_max"] = self.lyapunov
        if self.lyapunov is None:
            out["lyapunov_note"] = self.note
        out["branch"] = self.branch
        return out


def _lattice_shape(tau_max: float, dtau: float, step_max: float, box: float):
    """(step, per, n): the step divides dτ; n steps cover max(box, tau_max)."""
    per = max(math.ceil(dtau / step_max - 1e-9), 1)
    step = dtau / per
    n = math.ceil(max(box, tau_max) / step)
    m = fft.next_fast_len(2 * n, real=True)  # DCT-I of n + 1 points is an FFT of 2n
    while m % 2:
        m = fft.next_fast_len(m + 1, real=True)
    return step, per, m // 2


def solve_multi(
    spec: SiteSpec,
    *,
    tau_max: float = 20.0,
    dtau: float = 0.25,
    step_max: float = 0.02,
    box: float | None = None,
    branch: str = "auto",
    mean_guess=None,
    fractions=None,
    strip: float = STRIP,
    max_iter: int = 60,
) -> dict[str, Any]:
    r"""Stationary DMFT of the P Gaussian populations of ``spec``: the observables dict.

    Parameters
    ----------
    spec : SiteSpec
        Continuous time, Gaussian sites (``nonlinear`` all None, no response kernel).
    tau_max, dtau : float
        The output grid τ = 0, dτ, …, tau_max (units of the spec: the leaks are explicit).
    step_max : float
        Largest lattice step (it divides dτ); errors are O(step²).
    box : float, optional
        Lattice length; default 40/κ∞, κ∞ the slowest decay rate of Δ − Δ∞ (module doc).
    branch : {"auto", "fixed_point", "chaotic"}
        ``"auto"``: the fixed point when it exists (no noise) and is stable (spectral radius
        of the stability matrix < 1), else the fluctuating solution.
    mean_guess : array_like, optional
        Start of the means M_α (selects a magnetised root); default I/a nudged off zero.
    fractions : array_like, optional
        Population fractions: the top-level keys become the network-wide mixture; without
        them, the top level is population 0.

    Returns
    -------
    dict
        ``mean``, ``variance``, ``autocorrelation`` {tau, values}, ``mean_phi``,
        ``autocorrelation_phi`` (about ``mean_phi``), ``mean_gain``; ``populations``
        {name: same keys} when P > 1; ``lyapunov_max`` (None with ``lyapunov_note`` when
        not available); ``branch`` (``"fixed_point"``, ``"chaotic"`` or ``"noise_driven"``);
        ``residuals`` (the solver's history, max norms).

    Raises
    ------
    ValueError
        For what the runtime does not support (named).
    ConvergenceError
        When the static equations or the lattice Newton iteration fail.
    """
    if branch not in ("auto", "fixed_point", "chaotic"):
        raise SolverInputError(f"unknown branch {branch!r}: use auto, fixed_point or chaotic")
    problem = _Problem(spec, strip)
    P, a = problem.P, problem.a
    if fractions is not None and np.shape(fractions) != (P,):
        raise SolverInputError(f"fractions {fractions!r} must give one number per population ({P})")
    residuals: list[float] = []
    if mean_guess is None:
        M_seed = problem.I / a
        if problem.means and np.any(problem.B != 0):
            M_seed = np.where(np.abs(M_seed) < 1e-3, np.where(problem.I < 0, -1e-3, 1e-3), M_seed)
    else:
        M_seed = np.asarray(mean_guess, dtype=float).reshape(P)
    noisy = bool(np.any(problem.D > 0))
    if branch == "fixed_point" and noisy:
        raise ConvergenceError("with noise (D > 0) there is no fixed point")

    q, M = _multi_fixed_point(problem, M_seed, residuals) if not noisy else (None, M_seed)
    stability = None
    if q is not None:
        stability = _stability_matrix(problem, q, M)
        radius = float(np.abs(np.linalg.eigvals(stability)).max()) if P else 0.0
    use_fixed = q is not None and (branch == "fixed_point" or (branch == "auto" and radius < 1.0))
    if use_fixed:
        step, per, n = _lattice_shape(tau_max, dtau, step_max, tau_max if box is None else box)
        delta = np.repeat(q[:, None], n + 1, axis=1)
        name = "fixed_point"
    else:
        guess_box = box if box is not None else 40.0 / (0.5 * float(a.min()))
        step, per, n = _lattice_shape(tau_max, dtau, step_max, guess_box)
        z = _lattice_solve(problem, n, step, M, residuals, max_iter)
        delta, M = z[: P * (n + 1)].reshape(P, n + 1), z[P * (n + 1) :]
        if box is None:
            wanted = 40.0 / _decay_rate(problem, delta, M)
            if wanted > 1.1 * n * step:
                step, per, n2 = _lattice_shape(tau_max, dtau, step_max, wanted)
                grown = np.concatenate([delta, np.repeat(delta[:, -1:], n2 - n, axis=1)], axis=1)
                z = _lattice_solve(
                    problem, n2, step, M, residuals, max_iter, z0=np.concatenate([grown.ravel(), M])
                )
                n = n2
                delta, M = z[: P * (n + 1)].reshape(P, n + 1), z[P * (n + 1) :]
        _check_covariance(delta, step, residuals)
        name = "noise_driven" if noisy else "chaotic"
    return _finish(
        problem, name, step, per, n, delta, M, stability, residuals, round(tau_max / dtau)
    ).observables(fractions) | {"residuals": tuple(residuals)}


def _check_covariance(delta, step, residuals) -> None:
    """Each Δ_α must have a non-negative lattice spectrum (else it is no covariance)."""
    spectrum = step * fft.dct(delta, type=1, axis=1)
    worst = spectrum.min(axis=1) < -1e-9 * np.abs(spectrum).max(axis=1)
    if not np.all(np.isfinite(spectrum)) or np.any(worst):
        raise ConvergenceError(
            "lag equation: a solution with a negative spectrum (not a covariance)", residuals
        )


def _finish(
    problem: _Problem, name, step, per, n, delta, M, stability, residuals, out
) -> MultiSolution:
    P = problem.P
    d0 = delta[:, 0]
    c_phi = np.empty_like(delta)
    phi_mean, gain = np.empty(P), np.empty(P)
    for al in range(P):
        phi, dphi = problem.phi[al], problem.dphi[al]
        coef = _chebyshev_table(phi, phi, float(M[al]), float(d0[al]), problem.strip)
        if coef is None:
            c_phi[al] = float(phi(np.array([M[al]]))[0]) ** 2
        else:
            c_phi[al] = chebyshev.chebval(np.clip(delta[al] / d0[al], -1, 1), coef)
        phi_mean[al] = problem.mean_of(phi, M[al], d0[al])
        gain[al] = problem.mean_of(dphi, M[al], d0[al])
    finite = [delta, np.asarray(M), c_phi, phi_mean, gain]
    if not all(np.all(np.isfinite(x)) for x in finite):
        raise ConvergenceError("the solution is not finite (an expectation overflowed)", residuals)
    lyapunov, note = _exponent(problem, name, step, delta, M)
    if lyapunov is not None and not math.isfinite(lyapunov):
        lyapunov, note = None, "λ_max is not finite (the tangent eigenproblem failed)"
    return MultiSolution(
        tuple(problem.names),
        name,
        step,
        per,
        out,
        delta,
        np.asarray(M),
        c_phi,
        phi_mean,
        gain,
        lyapunov,
        note,
        stability,
        tuple(residuals),
    )


def _exponent(problem: _Problem, name, step, delta, M) -> tuple[float | None, str]:
    """λ_max and a note (why it is None)."""
    d0 = delta[:, 0]
    if not problem.terms:
        return -float(problem.a.min()), ""
    if name == "fixed_point":
        values = [
            float(
                problem.correlation(k, d0[t.population], d0[t.population], M[t.population], "G")[()]
            )
            for k, t in enumerate(problem.terms)
        ]
        W = _kernel_matrix(problem, values)
        if np.any(W < 0):
            return None, (
                "λ_max needs a non-negative tangent kernel W_αβ = Σ A⟨f'h'⟩; "
                f"here min W = {W.min():.3g}"
            )
        return _fixed_point_exponent(W, problem.a), ""
    G = [
        problem.correlation(k, delta[t.population], d0[t.population], M[t.population], "G")
        for k, t in enumerate(problem.terms)
    ]
    W = _kernel_matrix(problem, G)
    if np.any(W < -1e-12 * max(np.abs(W).max(), 1e-300)):
        return None, (
            "λ_max needs a non-negative tangent kernel W_αβ(τ) = Σ A⟨f'h'⟩ "
            f"(Perron–Frobenius); here min W = {W.min():.3g}"
        )
    return _lattice_exponent(np.maximum(W, 0.0), problem.a, step), ""


# ----------------------------------------------------------------- registration


def applies_multi(site) -> bool:
    """Gaussian sites in continuous time without response kernels: linear drifts, any
    number of populations and of ⟨f h⟩ terms."""
    return site.step is None and not site.has_nonlinear_drift and not site.has_kernel


# inlined wherever it applies, one-φ sites included (``--method multi`` cross-checks the
# stationary runtime there)
@register_runtime("multi", applies=applies_multi, priority=40,
                  needs=lambda problem: not problem.discrete and problem.linear_drift)
def solve_site_multi(site, grid, options) -> dict:
    """:func:`solve_multi`; with the fractions the top level is the whole network, as the
    simulator measures it."""
    return solve_multi(site, tau_max=grid.tau_max, dtau=grid.dtau, step_max=grid.step_max,
                       fractions=site.fractions, **options)
