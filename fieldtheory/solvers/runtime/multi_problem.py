"""The multi-population Gaussian site: term tables, static pairs and the fixed point
(part of the ``multi`` runtime, :mod:`fieldtheory.solvers.runtime.multi`)."""


import numpy as np
from numpy.polynomial import chebyshev
from scipy import optimize

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    ConvergenceError,
    SiteSpec,
    SolverInputError,
)
from fieldtheory.solvers.runtime.quadrature import (  # inlined by the code generator
    STRIP,
    closed_pair,
    gaussian_mean,
    gaussian_pair_mean,
    term_strip,
)

# --------------------------------------------------------------------------- the problem


class _Problem:
    """The validated numbers and callables of a SiteSpec (internal)."""

    def __init__(self, spec: SiteSpec, strip: float | None = None):
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
        # each term's own strip of analyticity (a number ``strip`` overrides them all)
        self.P, self.names, self.override = P, tuple(spec.populations), strip
        self.a = np.asarray(spec.leak, dtype=float).reshape(P)
        # the weight of the lag Laplacian per population: 1 in continuous time; 0 for a
        # memoryless map population beside leaky ones (``maps_multi``), whose lag equation
        # is then algebraic, a²Δ(k) = Dδ_k0 + Σ A C(k)
        self.lattice_weight = np.ones(P)
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
        own = spec.phi_strip if spec.phi_strip is not None else (STRIP,) * P
        self.phi_strip = tuple(float(strip if strip is not None else s) for s in own)
        # closed forms of ⟨φφ⟩ and ⟨φ⟩ per population, where a term of the spec has them
        self.phi_pair = tuple(next((t.pair for t in spec.correlations if t.left is phi
                                    and t.right is phi and t.pair is not None), None)
                              for phi in self.phi)
        self.phi_single = tuple(next((t.single for t in spec.means if t.left is phi
                                      and t.single is not None), None) for phi in self.phi)
        self.cache: dict = {}

    def strip(self, term) -> float:
        """The strip of analyticity a term is integrated with."""
        return term_strip(term, self.override)

    # ------------------------------------------------------------------ expectations

    def table(self, k: int, d0: float, mean: float, which: str = "C"):
        """Chebyshev coefficients of Δ ↦ E[f_k(u)h_k(v)] (``which="G"``: of f', h')."""
        key = (k, which, float(d0), float(mean))
        if key not in self.cache:
            term = self.terms[k]
            f, h = (term.left, term.right) if which == "C" else _derivatives(term)
            pair = term.pair if which == "C" else None
            self.cache[key] = _chebyshev_table(f, h, float(mean), float(d0), self.strip(term),
                                               pair)
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

    def mean_of(self, f, mean: float, d0: float, strip: float, single=None) -> float:
        """E[f(u)], u ~ N(mean, d0): the closed form ``single`` where it holds."""
        if single is not None and d0 > 0:
            value = single(float(mean), float(d0))
            if value is not None and np.isfinite(value):
                return float(value)
        return float(gaussian_mean(f, float(mean), max(float(d0), 0.0), strip))

    def term_means(self, M, d0) -> np.ndarray:
        """m_l = E[f_l(u)], u ~ N(M_β, Δ0_β), β the population of mean term l."""
        return np.array(
            [self.mean_of(t.left, M[t.population], d0[t.population], self.strip(t), t.single)
             for t in self.means]
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


def _chebyshev_table(f, h, mean: float, d0: float, strip: float, pair=None):
    """Chebyshev coefficients in x = Δ/Δ0 ∈ [−1, 1] of E[f(u)h(v)], degree doubled to 1e-13:
    of the closed form ``pair`` where it holds (exact values), else of 2-D quadrature."""
    if d0 <= 1e-300:
        return None

    def values(x):
        exact = closed_pair(pair, mean, d0, d0 * x)
        return exact if exact is not None else gaussian_pair_mean(f, h, mean, d0, d0 * x,
                                                                  strip)

    coef = None
    for degree in (32, 64, 128, 256, 512):
        coef = chebyshev.chebinterpolate(values, degree)
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
        exact = closed_pair(term.pair, M[beta], q[beta], q[beta]) if which == "C" else None
        out[k] = exact if exact is not None else problem.mean_of(
            lambda x, f=f, h=h: f(x) * h(x), M[beta], q[beta], problem.strip(term))
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
