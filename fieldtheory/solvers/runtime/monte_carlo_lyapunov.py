r"""The network's largest Lyapunov exponent from the sampled single site.

Self-contained (numpy, scipy and the standard library; inlined by the code generator with
the runtime that imports it).

The tangent dynamics of unit i of the network is

.. math::
    \partial_t \delta x_i = [-a + r'(x_i)]\,\delta x_i + \sum_j J_{ij}\,
        \varphi'(x_j)\,\delta x_j
        + \kappa \int ds\, R(t - s)\, h'(x_i(s))\,\delta x_i(s).

At N → ∞ the perturbation input δη_i = Σ_j J_ij f'(x_j)δx_j is a Gaussian process with
covariance Σ_k A_k ⟨f_k'(x(t))δx(t) h_k'(x(s))δx(s)⟩ (the same coefficients A as the
input η of the site, with the functions linearised), independent of η: the tangent
dynamics is odd under δx → −δx, so ⟨η δη⟩ = 0, and uncorrelated jointly Gaussian
processes are independent. Partial symmetry (κ ≠ 0) linearises the site's self-coupling
through its own past, with the same response R. The mean coupling drops: δm =
(1/N) Σ_j f'(x_j)δx_j is a sum of N terms of random sign, O(N^{−1/2}), so the J0 term
does not perturb the tangent dynamics at N → ∞ (the maximal exponent of the bulk; the
mean mode of a stationary state is stable, or the state would not be stationary).

With the ansatz δx = e^{λt} y, y stationary,

.. math::
    \partial_t y = [-a - \lambda + r'(x(t))]\, y + \xi(t)
        + \kappa \int_0^\infty d\tau\, R(\tau)\, e^{-\lambda\tau}\, h'(x(t - \tau))\, y(t - \tau),
    \qquad
    \langle \xi(t)\xi(s) \rangle = \sum_k A_k \langle f_k'(x(t))y(t)\, h_k'(x(s))y(s)\rangle,

a linear, homogeneous self-consistency: the map T_λ from the covariance Y of the drive to
the covariance of the response has a dominant eigenvalue μ(λ), decreasing in λ, and the
largest exponent is the λ with μ(λ) = 1 (the growth rate at which the tangent vector
feeds itself exactly). For a Gaussian site this is the Schrödinger-operator result of the
stationary runtime, λ_max = −1 + √(1 − E0) (Sompolinsky, Crisanti & Sommers, PRL 61, 259
(1988)); it is the network exponent, not the conditional exponent of one unit driven by a
fixed input (which omits ξ).

A map (``grid.discrete``): with δx(n) = Λⁿy(n), Λ = e^{λ·step}, the same construction with
y(n+1) = [(1 − a + r'(x(n)))y(n) + ξ(n) + Σ_j κ_j Σ_l R_j(l)Λ^{−l}h_j'(x(n − l))y(n − l)]/Λ
(the tangent map of the lowered site; for ρ = 0 the lag problem of the `map` runtime).

Numerics, per replica b, along that replica's recorded self-consistent paths x:
T_λ is applied by sampling ξ from the current Y (circulant embedding, as the site's
input), integrating y along every path with the scheme of the site (leak and λ exactly,
r'(x) by Heun, the kernel by Adams–Bashforth 2; y starts at zero and a burn-in is
discarded) and estimating Y' by FFT lag products. Frozen noise (the same random numbers
every application) makes each replica's map deterministic, so the power iteration
Y ← T_λ Y/‖T_λ Y‖ and the secant update λ ← λ + ln μ / S (S = −d ln μ/dλ, from the last
two iterates, safeguarded) converge together. Convergence: λ of every replica changes by
at most ``tol`` standard errors (the scatter of the replicas' λ over √B) in two
consecutive steps. The estimate is the replica mean, its standard error their scatter.
"""

import math

import numpy as np

__all__ = ["MC_CHAOS_SIGMAS", "WARM_UP", "TangentPaths", "network_lyapunov"]

from fieldtheory.solvers.runtime.common import SiteSpec  # inlined by the code generator
from fieldtheory.solvers.runtime.monte_carlo_paths import (  # inlined by the code generator
    lag_products,
)
from fieldtheory.solvers.runtime.monte_carlo_site import (  # inlined by the code generator
    OrderParameters,
    SampledSite,
    derivative_or_difference,
    sample_inputs,
)

#: A sampled λ_max counts as positive (chaos) when it exceeds this many standard errors:
#: one-sided, Student t with B − 1 degrees of freedom, P(t > 3) ≈ 1 % for B = 8 replicas
#: (3 % for B = 4). The library's sweep uses the same k (fieldtheory.sweep.CHAOS_SIGMAS).
MC_CHAOS_SIGMAS = 3.0
#: Power-iteration steps at λ = 0 before λ moves (the eigenvector's first settling).
WARM_UP = 3


class TangentPaths:
    """The recorded paths' linearisations: r'(x) (time-major), f_k'(x)/h_k'(x) of the
    correlation terms, h_j'(x) of the response terms, and the burn-in of y."""

    def __init__(self, spec: SiteSpec, grid, record: np.ndarray):
        self.spec, self.grid = spec, grid
        self.steps = record.shape[-1] - 1
        a_min = float(np.min(spec.leak))  # a map's leak is per step
        relax = self.steps // 4 if a_min <= 0 else round(
            10.0 / (a_min * (1.0 if grid.discrete else grid.dt)))
        self.burn = min(self.steps // 4, relax)
        slopes = [derivative_or_difference(r, dr) if r is not None else None
                  for r, dr in zip(spec.nonlinear, spec.dnonlinear, strict=True)]
        self.slope = None
        if spec.has_nonlinear_drift:
            self.slope = np.ascontiguousarray(np.moveaxis(SampledSite.apply(slopes, record), -1, 0))
        self.left = [derivative_or_difference(t.left, t.dleft)(record[t.population])
                     for t in spec.correlations]
        self.right = [derivative_or_difference(t.right, t.dright)(record[t.population])
                      for t in spec.correlations]
        self.kernel_slopes = [derivative_or_difference(t.right, t.dright)(record)
                              for t in spec.responses]

    def drive_covariance(self, y: np.ndarray) -> np.ndarray:
        """Y_k(τ) = ⟨f_k'(x(t+τ))y(t+τ) h_k'(x(t))y(t)⟩ per replica (B, K, W+1), after the
        burn-in, symmetrised in τ."""
        keep = slice(self.burn, None)
        out = [lag_products((self.left[k] * y[t.population])[..., keep],
                            (self.right[k] * y[t.population])[..., keep],
                            self.grid.window).mean(axis=1)
               for k, t in enumerate(self.spec.correlations)]
        return np.moveaxis(np.asarray(out), 0, 1)

    def integrate(self, lam: np.ndarray, drive: np.ndarray, order: OrderParameters):
        """y (P, B, paths, n + 1) from y = 0 along the paths, at exponents ``lam`` (B,)."""
        if self.grid.discrete:
            return self._iterate(lam, drive, order)
        spec, h = self.spec, self.grid.dt
        rate = np.asarray(spec.leak, float)[:, None, None] + lam[None, :, None]
        decay = np.exp(-rate * h)
        small = np.abs(rate * h) < 1e-12
        phi1 = np.where(small, h, -np.expm1(-rate * h) / np.where(small, 1.0, rate))
        force = np.moveaxis(0.5 * (drive[..., :-1] + drive[..., 1:]), -1, 0)
        site = self._kernel_site(lam, order)
        history = {j: np.zeros(drive.shape) for j, _, _ in site.kernel}
        y = np.zeros(drive.shape[:-1])
        out = np.zeros(drive.shape)
        before = 0.0
        for k in range(self.steps):
            total = force[k]
            if site.kernel:
                for j in history:
                    history[j][..., k] = self.kernel_slopes[j][..., k] * y
                now = site.memory(history, k, 0)
                total = total + (1.5 * now - 0.5 * before if k > 0 else now)
                before = now
            if self.slope is None:
                y = decay * y + phi1 * total
            else:
                pulled = self.slope[k] * y
                guess = decay * y + phi1 * (pulled + total)
                y = decay * y + phi1 * (0.5 * (pulled + self.slope[k + 1] * guess) + total)
            out[..., k + 1] = y
        return out

    def _iterate(self, lam: np.ndarray, drive: np.ndarray, order: OrderParameters):
        """A map's y: with δx(n) = Λⁿy(n), Λ = e^{λ·step},
        y(n+1) = [(1 − a + r'(x(n)))y(n) + ξ(n) + Σ_j κ_j Σ_l R_j(l)Λ^{−l}h_j'(x(n−l))y(n−l)]/Λ."""
        shrink = np.exp(-lam * self.grid.dt)[None, :, None]
        b = 1.0 - np.asarray(self.spec.leak, float)[:, None, None]
        site = self._kernel_site(lam, order)
        history = {j: np.zeros(drive.shape) for j, _, _ in site.kernel}
        y = np.zeros(drive.shape[:-1])
        out = np.zeros(drive.shape)
        for k in range(self.steps):
            total = drive[..., k] + (b if self.slope is None else b + self.slope[k]) * y
            if site.kernel:
                for j in history:
                    history[j][..., k] = self.kernel_slopes[j][..., k] * y
                total = total + site.memory(history, k, 0)
            y = shrink * total
            out[..., k + 1] = y
        return out

    def _kernel_site(self, lam: np.ndarray, order: OrderParameters) -> SampledSite:
        """The site's kernel with R_j(τ) e^{−λτ} (the ansatz δx = e^{λt}y)."""
        tau = self.grid.dt * np.arange(self.grid.window + 1)
        damped = order.responses * np.exp(-lam[:, None, None] * tau)
        return SampledSite(self.spec, self.grid,
                           OrderParameters(order.means, order.correlations, damped))


def _drive_norm(spec: SiteSpec, Y: np.ndarray) -> np.ndarray:
    """Σ_α Σ_k A_αk Y_k(0) per replica: the total variance of the tangent drive."""
    coupling = np.asarray(spec.correlation_coupling, float).reshape(spec.size, -1)
    return np.einsum("ak,bk->b", coupling, Y[:, :, 0])


def _mean_slope(paths: TangentPaths) -> float:
    """⟨r'(x)⟩ over every recorded point (0 for a linear drift)."""
    return 0.0 if paths.slope is None else float(np.mean(paths.slope))


class _ExponentSearch:
    """λ per replica with ln μ(λ) = 0, μ decreasing: secant steps (slope S = −d ln μ/dλ
    from the last two applications, default 1.5/rate, kept within a factor 4 of it), each
    at most half the rate scale, inside the bracket of the signs of ln μ seen so far
    (bisection when a step would leave it). A λ at which y grew without bound (its decay
    rate overcome, e.g. by a kernel R(τ)e^{−λτ} that is no longer integrable) counts as
    ln μ = +∞."""

    def __init__(self, replicas: int, rate: float):
        self.rate = rate
        self.lam = np.zeros(replicas)
        self.lower = np.full(replicas, -np.inf)  # ln μ > 0 here: λ_max lies above
        self.upper = np.full(replicas, np.inf)
        self.previous = None  # (λ, ln μ) of the last finite application

    def update(self, log_mu: np.ndarray) -> np.ndarray:
        """The next λ after ln μ (+∞ where y diverged) was measured at the current λ."""
        finite = np.isfinite(log_mu)
        # a sign against the bracket means the eigenvector had not settled when the
        # bracket was set: that side is forgotten
        grows = log_mu > 0
        self.upper = np.where(grows & (self.lam >= self.upper), np.inf, self.upper)
        self.lower = np.where(~grows & (self.lam <= self.lower), -np.inf, self.lower)
        self.lower = np.where(grows, np.maximum(self.lower, self.lam), self.lower)
        self.upper = np.where(~grows, np.minimum(self.upper, self.lam), self.upper)
        default = 1.5 / self.rate
        slope = np.full(self.lam.shape, default)
        if self.previous is not None:
            moved = self.lam - self.previous[0]
            secant = -(log_mu - self.previous[1]) / np.where(moved != 0, moved, 1.0)
            usable = finite & (moved != 0) & np.isfinite(secant) & (secant > 0)
            slope = np.where(usable, np.clip(secant, default / 4, 4 * default), default)
        step = np.clip(np.where(finite, log_mu, np.inf) / slope, -0.5 * self.rate,
                       0.5 * self.rate)
        new = self.lam + step
        outside = (new <= self.lower) | (new >= self.upper)
        low = np.where(np.isfinite(self.lower), self.lower, self.lam)
        high = np.where(np.isfinite(self.upper), self.upper, self.lam)
        new = np.where(outside, 0.5 * (low + high), new)
        if self.previous is None:
            self.previous = (self.lam, log_mu)
        else:  # a diverged application gives no secant: keep the last finite one
            self.previous = (np.where(finite, self.lam, self.previous[0]),
                             np.where(finite, log_mu, self.previous[1]))
        return new


def network_lyapunov(spec: SiteSpec, grid, order: OrderParameters, record: np.ndarray,
                     seed: int, tol: float = 0.1, max_iter: int = 60):
    """λ_max per replica (B,) of the network whose site is ``spec`` (module docstring),
    along the recorded paths ``record`` (P, B, paths, n + 1) of the converged ``order``.

    Returns ``(values, note)``: values None with the reason in ``note`` when the exponent
    is not defined by this construction (no random couplings) or did not settle.
    """
    coupling = np.asarray(spec.correlation_coupling, float)
    if not spec.correlations or not np.any(coupling != 0):
        return None, ("no random couplings (A = 0): the tangent dynamics has no network "
                      "drive, and λ_max is the units' own exponent, not computed here")
    paths = TangentPaths(spec, grid, record)
    B = grid.replicas
    tau = grid.dt * np.arange(grid.window + 1)
    gains = np.array([np.mean(f * h, axis=(-1, -2)) for f, h in zip(paths.left, paths.right,
                                                                     strict=True)])
    Y = np.moveaxis(gains[:, :, None] * np.exp(-tau), 0, 1)  # (B, K, W+1)
    Y = Y / np.abs(_drive_norm(spec, Y))[:, None, None]
    # the rate scale of y: the leak less the mean local slope of r, at least 1 % of the leak
    # (a map's per step, so per unit of its time over the step)
    rate = max(float(np.mean(spec.leak)) - _mean_slope(paths), 0.01 * float(np.mean(spec.leak)),
               1e-3) / (grid.dt if grid.discrete else 1.0)
    search = _ExponentSearch(B, rate)
    changes = []
    for step in range(max_iter):
        rng = np.random.default_rng([seed, 1])  # frozen noise: a deterministic map
        drive, _ = sample_inputs(spec, grid, OrderParameters(order.means, Y, order.responses),
                                 rng, paths.steps)
        with np.errstate(over="ignore", invalid="ignore"):
            image = paths.drive_covariance(paths.integrate(search.lam, drive, order))
        norm = _drive_norm(spec, image)
        diverged = ~(np.isfinite(norm) & (norm > 0))
        log_mu = np.log(np.where(diverged, 1.0, norm))  # ‖Y‖ = 1: μ = ‖T_λ Y‖
        # the first applications at λ = 0 only settle Y (power iteration)
        new = (search.update(np.where(diverged, np.inf, log_mu)) if step >= WARM_UP
               else search.lam)
        if np.any(diverged):  # keep Y; the bracket moves λ up
            search.lam, changes = new, [math.inf]
            continue
        Y = image / norm[:, None, None]
        se = max(float(np.std(new, ddof=1)) / math.sqrt(B), 1e-9)
        changes.append(float(np.abs(new - search.lam).max()) / se)
        search.lam = new
        if step >= WARM_UP + 3 and max(changes[-2:]) <= tol:
            return search.lam, None
    return None, (f"the tangent power iteration did not settle within {max_iter} steps "
                  f"(last changes {changes[-3:]} standard errors)")
