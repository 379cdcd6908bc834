"""The lattice lag equations of the multi-population site: residual, sparse Jacobian,
Newton with noise continuation (part of the ``multi`` runtime)."""

import math

import numpy as np
from scipy import sparse
from scipy.sparse import linalg as sparse_linalg

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    ConvergenceError,
    backtrack,
)
from fieldtheory.solvers.runtime.multi_problem import (  # inlined by the code generator
    _kernel_matrix,
    _multi_fixed_point,
    _Problem,
)

# --------------------------------------------------------------------------- lag equation


class _Lattice:
    """Residual and sparse Jacobian of the lattice lag equations (internal)."""

    def __init__(self, problem: _Problem, n: int, step: float, D: np.ndarray):
        self.problem, self.n, self.step, self.D = problem, n, step, np.asarray(D, dtype=float)
        P, n1 = problem.P, n + 1
        # an external stationary Gaussian input K_α(τ) (``solve_multi(extra_covariance=)``)
        self.extra = _extra_on_lattice(problem, step * np.arange(n1))
        main = np.full(n1, 2.0 / step**2)
        lower = np.full(n, -1.0 / step**2)
        upper = np.full(n, -1.0 / step**2)
        upper[0] = lower[-1] = -2.0 / step**2  # reflecting ends: Δ_{−1} = Δ_1, Δ_{n+1} = Δ_{n−1}
        laplace = sparse.diags([lower, main, upper], [-1, 0, 1], format="csr")
        self.operator = sparse.block_diag(
            [problem.lattice_weight[al] * laplace + problem.a[al] ** 2 * sparse.identity(n1)
             for al in range(P)], format="csr"
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
        lag = self.operator @ delta.ravel() - source.ravel() - self.extra
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
        lag = self.operator @ delta.ravel() - source.ravel() - self.extra
        lag[:: self.n1] -= self.D / self.step
        means = problem.a * MM - problem.mean_input(MM, d0)
        return np.concatenate([lag, means])


def _extra_on_lattice(problem: _Problem, tau: np.ndarray) -> np.ndarray:
    """K_α(τ_k) of every population, flattened like the lattice (0 without one): the
    given (lags, values) of ``problem.extra`` interpolated linearly, 0 beyond the last lag."""
    extra = getattr(problem, "extra", None)
    if extra is None:
        return np.zeros(problem.P * tau.size)
    out = np.zeros((problem.P, tau.size))
    for al, (lags, values) in enumerate(extra):
        out[al] = np.interp(tau, np.asarray(lags, dtype=float),
                            np.asarray(values, dtype=float), right=0.0)
    return out.ravel()


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
        if problem.lattice_weight[al] == 0:  # memoryless: its noise at lag 0 only
            delta[al] = plateau[al] + (q[al] - plateau[al]) * (tau == 0)
            continue
        white = noise[al] / (2 * a[al])
        amplitude = max(q[al] - white - plateau[al], 0.0)
        decay = np.exp(-0.5 * a[al] * tau)  # 1/cosh(a τ/2) without overflow at large a τ
        delta[al] = (
            plateau[al] + 2 * amplitude * decay / (1 + decay**2) + white * np.exp(-a[al] * tau)
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
