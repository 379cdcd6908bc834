r"""Two-time (transient) dynamic mean-field theory of random rate networks, Gaussian site.

Self-contained runtime: numpy, scipy and the standard library only (the code generator
inlines its source text). The model enters only through the callable ``phi(x)`` (and
optionally ``dphi(x)``), elementwise on numpy arrays.

Single site (Sompolinsky, Crisanti & Sommers, PRL 61, 259 (1988); J_ij ~ N(J0/N, g²/N))

.. math::
    (1 + \partial_t) x(t) = J_0 m(t) + I(t) + \eta(t) + \xi(t), \qquad
    \langle\eta(t)\eta(s)\rangle = g^2 C_\phi(t, s), \qquad
    \langle\xi(t)\xi(s)\rangle = D\,\delta(t - s),

with x(0) ~ N(μ0, σ0²) independent of η and ξ, m(t) = E[φ(x(t))] and the FULL second
moment C_φ(t, s) = E[φ(x(t)) φ(x(s))] (η = Σ_j (J_ij − J0/N) φ_j has zero mean and
covariance (g²/N) Σ_j φ_j(t)φ_j(s); the mean part of the couplings gives J0 m(t)).
The site is Gaussian; write x(t) = M(t) + δx(t) with K(t, s) = E[δx(t)δx(s)]. Then

.. math::
    (1 + \partial_t) M(t) = J_0 m(t) + I(t), \qquad M(0) = \mu_0,

.. math::
    (1 + \partial_t)(1 + \partial_s) K(t, s) = g^2 C_\phi(t, s) + D\,\delta(t - s),
    \qquad K(t, 0) = e^{-t}\sigma_0^2,

and C_φ(t, s) = E[φ(u)φ(v)], (u, v) Gaussian with means (M(t), M(s)) and covariance
[[K(t,t), K(t,s)], [K(t,s), K(s,s)]]; m(t) = E[φ(u)]. (C_x(t, s) = K(t, s) + M(t)M(s).)

Numerics (grid t_k = k h, h = dt; memory O(n²); one Python loop over t, vectorised in s):

* Exact leak. With W = g² C_φ and δx(t + h) = e^{−h} δx(t) + a, a = ∫_t^{t+h} e^{−(t+h−u)}
  (η + ξ)(u) du, the covariance obeys the exact local recursion

  .. math::
      K_{k+1, j+1} = e^{-h} K_{k+1, j} + e^{-h} K_{k, j+1} - e^{-2h} K_{k, j} + E_{kj},
      \qquad K_{k+1, 0} = e^{-h} K_{k, 0},

  E_{kj} = ∬_cell e^{−(t_{k+1}−u)} e^{−(s_{j+1}−v)} [W(u, v) + D δ(u − v)] du dv. Along a row
  it is a first-order linear recursion in j, run by :func:`scipy.signal.lfilter`.
* E_{kj}: W bilinear in the cell, integrated exactly against the exponentials: weights
  a1 = 1 − (1 − e^{−h})/h, a0 = 1 − e^{−h} − a1, E = Σ_pq a_p a_q W_{k+p, j+q}; the white
  noise gives D(1 − e^{−2h})/2 on the diagonal cell. The mean: M_{k+1} = e^{−h}M_k +
  a0 μ_k + a1 μ_{k+1}, μ = J0 m + I. Local error O(h³) per row: global error O(h²).
* Row k + 1 depends on W_{k+1,·} and μ_{k+1}: predictor W_{k+1, j+1} ≈ W_{k, j} (exact in
  a stationary state), μ_{k+1} ≈ 2μ_k − μ_{k−1}, then corrector sweeps (fixed point; each
  contracts by ~h g² ⟨φ'²⟩) until the row changes by ≤ ``tol`` or ``corrections`` sweeps.
* Gaussian expectations: the trapezoidal rule in standard normal variables (as the
  stationary runtime), u = M_t + √K_tt z₁, v = M_s + √K_ss (ρ z₁ + √(1 − ρ²) z₂), with step
  set by the strip of analyticity |Im x| < ``strip`` of φ (tanh: π/2) so that the
  discretisation error is ~exp(−``quad_exponent``), truncated at |z| = ``span``.

Responses: for iid J (ρ = 0) the single site's response to its own input is the leak
propagator, R(t, s) = δx(t)/δI_i(s) = e^{−(t−s)} Θ(t − s) (Itô: Θ(0) = 0), independent of
the state: the feedback of one unit through the random couplings is O(1/√N) and averages
out. :attr:`TwoTimeSolution.response` returns it on the grid. The response to an input
common to all units also changes m(t) and, through C_φ, K(t, s); it is not computed here.
"""

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "ConvergenceError",
    "TwoTimeSolution",
    "applies_transient",
    "solve_site_transient",
    "solve_two_time",
    "two_time_pair_mean",
    "two_time_rule",
]

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    ConvergenceError,
    SolverInputError,
    register_runtime,
)
from fieldtheory.solvers.runtime.quadrature import (  # inlined by the code generator
    STRIP,
    term_strip,
)
from fieldtheory.solvers.runtime.single_phi import (  # inlined by the code generator
    is_single_phi,
    single_phi_coefficients,
)

# --------------------------------------------------------------------------- quadrature


def two_time_rule(variance: float, strip: float = STRIP, quad_exponent: float = 24.0,
                  span: float = 7.0, max_nodes: int = 301):
    r"""Nodes z and weights w with Σ w f(z) ≈ E[f(z)], z ~ N(0, 1) (trapezoidal rule).

    Step h = min(1/4, 2π d/quad_exponent), d = strip/√variance: for f(μ + √variance z)
    analytic in |Im x| < strip the error is ~exp(−quad_exponent); the truncation at
    |z| = span costs ~exp(−span²/2). At most ``max_nodes`` nodes: beyond variance
    ≈ (strip·quad_exponent·max_nodes/(4π span))² the accuracy degrades gracefully (for a
    bounded φ the integrand then approaches a step; error ~h²) instead of the cost
    growing without bound.
    """
    d = strip / math.sqrt(max(float(variance), 1e-300))
    h = max(min(0.25, 2 * math.pi * d / quad_exponent), 2 * span / (max_nodes - 1))
    n = math.ceil(span / h)
    z = h * np.arange(-n, n + 1)
    return z, h * np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)


def two_time_pair_mean(phi, mean_t: float, var_t: float, mean_s, var_s, cov, z, w,
                       chunk_size: int = 2_000_000):
    r"""E[φ(u)φ(v)], u ~ N(M_t, K_tt), v ~ N(M_s, K_ss), cov K_ts; arrays over s.

    u = M_t + √K_tt z₁, v = M_s + √K_ss (ρ z₁ + √(1 − ρ²) z₂), ρ = K_ts/√(K_tt K_ss):
    E = Σ_i w_i φ(u_i) Σ_l w_l φ(v_il).
    """
    mean_s = np.asarray(mean_s, dtype=float)
    var_s = np.maximum(np.asarray(var_s, dtype=float), 0.0)
    cov = np.asarray(cov, dtype=float)
    var_t = max(float(var_t), 0.0)
    scale = np.sqrt(var_t * var_s)
    rho = np.divide(cov, scale, out=np.zeros_like(cov), where=scale > 0)
    rho = np.clip(rho, -1.0, 1.0)
    sd_s = np.sqrt(var_s)
    common = sd_s * rho
    private = sd_s * np.sqrt(1.0 - rho**2)
    left = phi(mean_t + math.sqrt(var_t) * z) * w
    out = np.empty(cov.shape)
    chunk = max(1, chunk_size // (z.size * z.size))
    for start in range(0, cov.size, chunk):
        part = slice(start, start + chunk)
        v = (mean_s[part, None, None] + common[part, None, None] * z[None, :, None]
             + private[part, None, None] * z[None, None, :])
        out[part] = (phi(v) @ w) @ left
    return out


def _mean(phi, mean: float, var: float, z, w) -> float:
    return float(phi(mean + math.sqrt(max(var, 0.0)) * z) @ w)


# --------------------------------------------------------------------------- the solution


@dataclass(frozen=True, eq=False)
class TwoTimeSolution:
    r"""The two-time DMFT on the grid t_k = k dt, k = 0..n.

    ``mean`` M(t), ``covariance`` K(t, s) = C_x(t, s) − M(t)M(s) (symmetric (n+1)²),
    ``mean_phi`` m(t), ``correlation_phi`` C_φ(t, s) (full second moment), ``mean_input``
    μ(t) = J0 m(t) + I(t), ``mean_gain`` ⟨φ'(x(t))⟩ (None without ``dphi``).
    ``corrections`` holds, per time step, the number of corrector sweeps used and
    ``residuals`` the last sweep's max change of the row.
    """

    t: np.ndarray
    dt: float
    g: float
    J0: float
    D: float
    mean: np.ndarray
    covariance: np.ndarray
    mean_phi: np.ndarray
    correlation_phi: np.ndarray
    mean_input: np.ndarray
    mean_gain: np.ndarray | None = None
    corrections: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    residuals: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def variance(self) -> np.ndarray:
        """K(t, t)."""
        return np.diagonal(self.covariance).copy()

    @property
    def correlation(self) -> np.ndarray:
        """C_x(t, s) = K(t, s) + M(t)M(s)."""
        return self.covariance + np.outer(self.mean, self.mean)

    @property
    def response(self) -> np.ndarray:
        """R(t_k, t_j) = e^{−(t_k − t_j)} for k > j, 0 otherwise (own input, iid J)."""
        lag = self.t[:, None] - self.t[None, :]
        return np.where(lag > 0, np.exp(-np.where(lag > 0, lag, 0.0)), 0.0)

    def lagged(self, t_index: int) -> tuple[np.ndarray, np.ndarray]:
        """(τ, K(t + τ, t)) for t = t[t_index], τ = 0, dt, …, up to the end of the grid."""
        row = self.covariance[t_index:, t_index]
        return self.dt * np.arange(row.size), row.copy()


def _input(I, t: np.ndarray) -> np.ndarray:
    if I is None:
        return np.zeros_like(t)
    if callable(I):
        values = np.asarray(I(t), dtype=float)
        if values.shape != t.shape:
            values = np.array([float(I(float(tk))) for tk in t])
        return values
    values = np.asarray(I, dtype=float)
    if values.ndim == 0:
        return np.full_like(t, float(values))
    if values.shape != t.shape:
        raise SolverInputError(f"I has shape {values.shape}; the time grid needs {t.shape}")
    return values.copy()


def solve_two_time(phi, g, *, J0=0.0, I=None, D=0.0, mu0=0.0, sigma0=1.0, t_max, dt,
                   dphi=None, corrections=3, tol=1e-10, strip=STRIP, quad_exponent=24.0,
                   span=7.0, max_variance=1e8) -> TwoTimeSolution:
    r"""Transient DMFT of (1 + ∂t)x = J0 m(t) + I(t) + η + ξ from x(0) ~ N(μ0, σ0²).

    Parameters
    ----------
    phi : callable
        φ, elementwise on arrays. ``dphi`` (optional) adds ⟨φ'(x(t))⟩ to the solution.
    g, J0, D : float
        Coupling spread, mean coupling, white-noise intensity.
    I : None, float, array or callable
        The bias: a constant, an array on the grid t_k = k dt, or a callable of t
        (vectorised, or called per grid point). Between grid points μ = J0 m + I is
        taken linear (exact-leak trapezoid); at a jump of I on a grid point give that point
        the midpoint value (I(t⁻) + I(t⁺))/2 to keep the error O(dt²) (else O(dt)); the
        value at the jump point itself is off by O(dt), cancelled by the next step.
    mu0, sigma0 : float
        Initial distribution x(0) ~ N(μ0, σ0²).
    t_max, dt : float
        The grid t_k = k dt, k = 0..round(t_max/dt). Errors are O(dt²).
    corrections, tol : int, float
        At most ``corrections`` corrector sweeps per step after the predictor, stopped
        early once W = g²C_φ and μ on the new row change by at most ``tol`` (relative to
        max(1, max K)). Each sweep contracts by ~dt g²⟨φ'²⟩ (≈ 0.04 at dt = 0.1, g = 2), so
        the default 3 leaves a residual far below the O(dt²) discretisation error.
    strip, quad_exponent, span :
        Quadrature control (see :func:`two_time_rule`).
    max_variance : float
        K(t, t) above this (or a non-finite state) raises :class:`ConvergenceError`.

    Raises
    ------
    ConvergenceError
        When the state becomes non-finite, negative-variance, or exceeds ``max_variance``.
    """
    g, J0, D, dt = float(g), float(J0), float(D), float(dt)
    if dt <= 0 or t_max <= 0:
        raise SolverInputError(f"dt = {dt} and t_max = {t_max} must be positive")
    if D < 0 or sigma0 < 0:
        raise SolverInputError(f"D = {D} and sigma0 = {sigma0} must be non-negative")
    n = round(float(t_max) / dt)
    if n < 1:
        raise SolverInputError(f"t_max = {t_max} is shorter than one step dt = {dt}")
    t = dt * np.arange(n + 1)
    state = _Recursion(phi, dphi, g, J0, D, _input(I, t), dt, n,
                       lambda var: two_time_rule(var, strip, quad_exponent, span),
                       max_variance)
    state.start(float(mu0), float(sigma0))
    for k in range(n):
        state.advance(k, max(int(corrections), 0), tol)
    g2 = g * g
    return TwoTimeSolution(t=t, dt=dt, g=g, J0=J0, D=D, mean=state.M, covariance=state.K,
                           mean_phi=state.m,
                           correlation_phi=state.W / g2 if g2 > 0 else _phi_moment(
                               phi, state.M, state.K, strip),
                           mean_input=state.mu, mean_gain=state.gain,
                           corrections=state.used, residuals=state.last)


class _Recursion:
    """The state of the causal two-time recursion (see :func:`solve_two_time`): M, K,
    W = g²C_φ, m, μ, ⟨φ'⟩ filled row by row."""

    def __init__(self, phi, dphi, g, J0, D, bias, dt, n, rule, max_variance):
        self.phi, self.dphi, self.g2, self.J0, self.bias = phi, dphi, g * g, J0, bias
        self.dt, self.rule, self.max_variance = dt, rule, max_variance
        self.decay = math.exp(-dt)
        self.a1 = 1.0 - (-math.expm1(-dt)) / dt
        self.a0 = -math.expm1(-dt) - self.a1
        self.noise = D * (-math.expm1(-2 * dt)) / 2
        self.M = np.zeros(n + 1)
        self.K = np.zeros((n + 1, n + 1))
        self.W = np.zeros((n + 1, n + 1))
        self.m = np.zeros(n + 1)
        self.mu = np.zeros(n + 1)
        self.gain = np.zeros(n + 1) if dphi is not None else None
        self.used = np.zeros(n, dtype=int)
        self.last = np.zeros(n)

    def evaluate(self, k, Mk, row):
        """m_k, W_{k, 0..k} from M[0..k-1], the row K_{k, 0..k} and M_k = Mk."""
        var_k = row[k]
        z, w = self.rule(max(var_k, float(np.max(np.diagonal(self.K)[:k], initial=0.0))))
        mk = _mean(self.phi, Mk, var_k, z, w)
        means = np.append(self.M[:k], Mk)
        variances = np.append(np.diagonal(self.K)[:k], var_k)
        c = two_time_pair_mean(self.phi, Mk, var_k, means, variances, row, z, w)
        return mk, self.g2 * c

    def check(self, k, Mk, row):
        """ConvergenceError for a non-finite, negative-variance or diverging state."""
        var, dt, bound = row[-1], self.dt, self.max_variance
        if not (np.all(np.isfinite(row)) and math.isfinite(Mk)):
            raise ConvergenceError(f"two-time DMFT: non-finite state at t = {k * dt:.6g} "
                                   f"(step {k}); reduce dt or check g, J0")
        if var < -1e-9 * max(1.0, float(np.max(np.abs(row)))):
            raise ConvergenceError(f"two-time DMFT: negative variance K(t,t) = {var:.3g} at "
                                   f"t = {k * dt:.6g}; reduce dt")
        if var > bound or abs(Mk) > math.sqrt(bound):
            raise ConvergenceError(f"two-time DMFT: the state diverges at t = {k * dt:.6g} "
                                   f"(K(t,t) = {var:.3g}, M(t) = {Mk:.3g}; bound "
                                   f"{bound:.3g}): unbounded φ with too strong coupling?")

    def start(self, mu0: float, sigma0: float) -> None:
        """Row 0 from x(0) ~ N(μ0, σ0²)."""
        self.M[0] = mu0
        self.K[0, 0] = sigma0**2
        self.check(0, self.M[0], self.K[0, :1])
        self.m[0], self.W[0, :1] = self.evaluate(0, self.M[0], self.K[0, :1])
        self.mu[0] = self.J0 * self.m[0] + self.bias[0]
        self._gain(0)

    def _gain(self, k: int) -> None:
        if self.gain is not None:
            z, w = self.rule(self.K[k, k])
            self.gain[k] = _mean(self.dphi, self.M[k], self.K[k, k], z, w)

    def advance(self, k: int, sweeps: int, tol: float) -> None:
        """Row k + 1: predictor, then at most ``sweeps`` corrector sweeps (until the new
        W row and μ change by at most ``tol``)."""
        from scipy.signal import lfilter  # here: scipy.signal costs 0.4 s at import

        decay, a0, a1, K, W = self.decay, self.a0, self.a1, self.K, self.W
        w_new = np.empty(k + 2)
        w_new[1:] = W[k, :k + 1]
        w_new[0] = W[k, 0]
        mu_new = 2 * self.mu[k] - self.mu[k - 1] if k else self.mu[k]
        w_old = W[k, :k + 1]
        w_prev = np.append(W[k, 1:k + 1], 0.0)      # W_{k, j+1}, j = 0..k (j = k: filled below)
        k_old = K[k, :k + 1]
        k_prev = np.append(K[k, 1:k + 1], 0.0)      # K_{k, j+1}
        row = np.empty(k + 2)
        for sweep in range(sweeps + 1):
            M_new = decay * self.M[k] + a0 * self.mu[k] + a1 * mu_new
            # W_{k, k+1} = W_{k+1, k} and K_{k, k+1} = K_{k+1, k} by symmetry
            w_prev[k] = w_new[k]
            cell = a0 * a0 * w_old + a0 * a1 * (w_new[:k + 1] + w_prev) \
                + a1 * a1 * w_new[1:]
            row[0] = decay * K[k, 0]
            if k:
                b = decay * k_prev[:k] - decay * decay * k_old[:k] + cell[:k]
                row[1:k + 1] = lfilter([1.0], [1.0, -decay], b, zi=[decay * row[0]])[0]
            # diagonal: K_{k+1,k+1} = e^{-h}K_{k+1,k} + e^{-h}K_{k,k+1} - e^{-2h}K_{k,k} + E
            row[k + 1] = 2 * decay * row[k] - decay * decay * K[k, k] + cell[k] + self.noise
            self.check(k + 1, M_new, row)
            mk, w_row = self.evaluate(k + 1, M_new, row)
            mu_next = self.J0 * mk + self.bias[k + 1]
            change = max(float(np.max(np.abs(w_row - w_new))) / max(self.g2, 1e-300),
                         abs(mu_next - mu_new))
            change /= max(1.0, float(np.max(np.abs(row))))
            w_new, mu_new = w_row, mu_next
            self.used[k], self.last[k] = sweep, change
            if change <= tol:
                break
        self.M[k + 1] = M_new
        K[k + 1, :k + 2] = row
        K[:k + 2, k + 1] = row
        W[k + 1, :k + 2] = w_row
        W[:k + 2, k + 1] = w_row
        self.m[k + 1] = mk
        self.mu[k + 1] = mu_next
        self._gain(k + 1)


def _phi_moment(phi, M, K, strip):
    """C_φ(t, s) when g = 0 (W = g²C_φ carries no information then)."""
    n = M.size
    out = np.empty((n, n))
    diag = np.diagonal(K)
    for k in range(n):
        z, w = two_time_rule(max(float(diag.max()), 1e-300), strip)
        out[k, :k + 1] = two_time_pair_mean(phi, M[k], diag[k], M[:k + 1], diag[:k + 1],
                                            K[k, :k + 1], z, w)
        out[:k + 1, k] = out[k, :k + 1]
    return out


# ----------------------------------------------------------------- registration


def applies_transient(site) -> bool:
    """A one-φ site in continuous time."""
    return site.step is None and is_single_phi(site)


@register_runtime("transient", applies=applies_transient, priority=50, kind="transient",
                  needs=lambda problem: problem.single_phi and not problem.discrete)
def solve_site_transient(site, grid, options) -> dict:
    """:func:`solve_two_time` of a one-φ site in the model's time units.

    ``grid`` is ``(t_max, dt)``; ``options``: ``mu0``, ``sigma0`` and ``offset``, the
    site's input I on the grid t_k = k dt (default: its constant offset).
    """
    t_max, dt = grid
    leak, g, J0, _, D = single_phi_coefficients(site)
    options = dict(options)
    offset = options.pop("offset", None)
    n = round(t_max / dt)
    if offset is None:
        offset = np.full(n + 1, float(site.offset[0]))
    (term,) = site.correlations
    options["strip"] = term_strip(term, options.get("strip"))
    solution = solve_two_time(term.left, g, J0=J0, I=np.asarray(offset) / leak, D=D,
                              t_max=t_max * leak, dt=dt * leak, dphi=term.dleft, **options)
    return {"t": solution.t / leak, "mean": solution.mean, "variance": solution.variance,
            "covariance": solution.covariance, "mean_phi": solution.mean_phi,
            "response": solution.response * leak}
