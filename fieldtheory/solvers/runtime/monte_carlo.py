r"""Monte-Carlo single-site dynamic mean-field theory (stationary, non-Gaussian sites).

Self-contained runtime: numpy, scipy and the standard library only (the code generator
inlines its source text after :mod:`common`). The problem is a :class:`SiteSpec`: for a
site of population α (continuous time)

.. math::
    \partial_t x = -a_\alpha x + r_\alpha(x) + \mu_\alpha + \eta_\alpha(t) + \xi_\alpha(t)
        + \sum_j \kappa_{\alpha j} \int_{-\infty}^t ds\, R_j(t - s)\, h_j(x(s)),

μ_α = I_α + Σ_l B_αl m_l, ⟨ξ_α(t)ξ_α(s)⟩ = D_α δ(t − s), η_α Gaussian with
⟨η_α(t)η_α(s)⟩ = Σ_k A_αk C_k(t − s), m_l = ⟨f_l(x)⟩, C_k(τ) = ⟨f_k(x(t + τ)) h_k(x(t))⟩
and R_j(τ) = δ⟨f_j(x(t + τ))⟩/δ(input at t), each over its term's population. When r is
nonlinear the site is not Gaussian and the order parameters are sampled (Eissfeller &
Opper, PRL 68, 2094 (1992); Roy, Biroli, Bunin & Cammarota, J. Phys. A 52, 484001 (2019));
the response kernel is the partially symmetric network's self-coupling (Martí, Brunel &
Ostojic, PRE 97, 062314 (2018)).

The estimate is the mean of B = ``replicas`` independent self-consistent solutions, each
from its own ``paths`` sampled paths (units) per population, run side by side; its
standard error is their scatter over √B. Why replicas: the self-consistency amplifies the
sampling noise of one pass by (1 − F')⁻¹ (F the map Q ↦ Q̂ of the order parameters; its
slow mode contracts by ≈ 0.8 per step for chaotic rate networks, an amplification ≈ 5),
which a batch error of one pass would miss. The price is a bias O(1/paths) of each
replica (the map is nonlinear in the sampled noise): use paths ≫ replicas.

One iteration, at fixed order parameters (m, C, R) per replica:

1. **Input paths.** η_α on the grid t_k = k·dt is sampled exactly (for the symmetrised,
   tapered covariance) by circulant embedding (Dietrich & Newsam, SIAM J. Sci. Comput. 18,
   1088 (1997)): the covariance c(l) = K(l·dt) is extended beyond the estimation window
   by its plateau (the static, quenched part: each path is one unit with its own offset),
   made periodic with period M ≥ 2·length, and η = Re/Im FFT[√(λ/M) (z₁ + i z₂)] with
   λ = FFT(c) gives two independent paths. Negative λ (a truncated, noisy covariance need
   not be positive definite) are clipped to 0 and the rest rescaled to keep c(0); the
   clipped weight Σ|λ₋|/Σ|λ| of the last iteration is reported (``clipped_spectrum``).
2. **The site.** The leak and the white noise exactly, r by Heun's predictor–corrector
   (weak order 2 for additive noise): with F_k = μ + (η_k + η_{k+1})/2 + K̄_k,
   b_k = e^{−a dt}x_k + √(D(1 − e^{−2a dt})/(2a)) ξ_k and φ₁ = (1 − e^{−a dt})/a,
   x̃ = b_k + φ₁[r(x_k) + F_k], x_{k+1} = b_k + φ₁[(r(x_k) + r(x̃))/2 + F_k]. The kernel
   K_k = Σ_j κ_j dt Σ_{l=0}^{L} w_l R_j(l dt) h_j(x_{k−l}) (trapezoidal weights),
   K̄_k = (3K_k − K_{k−1})/2 (Adams–Bashforth). Bias O(dt²), up to the O(dt^{3/2})
   interplay of the noise with r.
3. **The response, by the tangent dynamics** (a kicked copy with common noise, in the
   limit of an infinitesimal kick): y(t) = ∂x(t)/∂x(s) obeys
   ẏ = −a y + r'(x) y + Σ_j κ_j ∫ds' R_j(t − s') h_j'(x(s')) y(s'), y(s) = 1, with η and
   ξ held fixed (they are given inputs of the effective site, so the derivative at fixed
   noise is the MSRDJ response ⟨f(x(t)) x̃(s)⟩), and R_j(t − s) = ⟨f_j'(x(t)) y(t)⟩. It is
   propagated with the same discrete scheme, so it is the exact derivative of the
   discretised site. We prefer it to Novikov's theorem, ⟨f(x(t)) η(s)⟩ =
   ∫du C_η(s, u) R_f(t, u), which gives R only by deconvolving a smooth C_η (ill-posed:
   sampling noise is amplified without bound at high frequency), and to the white-noise
   form ⟨f(x(t)) ξ(s)⟩ = D R_f(t, s), which needs D > 0 and has variance ∝ 1/(D dt).
   Kicks are repeated every L + 1 steps along each path (stationarity).
4. **Estimates** per replica: m_l (path means), C_k(τ) (FFT cross-correlation of f_k(x),
   h_k(x) per path, unbiased 1/(n − l) normalisation, symmetrised in τ as the covariance
   of η must be), R_j(τ).
5. **Update** by Anderson acceleration (``memory`` > 0, restarted when the residual
   grows) or the damped iteration Q ← (1 − α)Q + αQ̂.

Frozen noise: every iteration reuses the same random numbers (the generator is reseeded),
so each replica's map Q ↦ Q̂ is deterministic and smooth; its iteration converges
geometrically instead of wandering with the sampling noise, and Anderson acceleration
applies. Convergence criterion, in units of the sampling error: every replica's change
Q̂ − Q of every order parameter (each m_l, each curve C_k, R_j) has a root mean square
over its components ≤ ``tol`` (default 0.1) standard errors of the replica mean
(components without sampling noise, such as a linear site's response, to 1e-6 relative).
The reported values come from the last sweep; ``stderr`` covers the sampling error,
not the dt bias (estimate it by a second run at 2·dt).

Observables per population α (the project schema): ``mean`` ⟨x⟩, ``variance``,
``autocorrelation`` Δ(τ) = ⟨(x(t) − m)(x(t + τ) − m)⟩ (static heterogeneity of the paths
included), ``mean_phi``, ``autocorrelation_phi`` (about ⟨φ⟩), ``mean_gain`` ⟨φ'⟩,
``response`` R_x(τ) = ⟨y(t + τ)⟩ after a kick at t (R_x(0) = 1, as the simulator's
δ-kick response). For P > 1 the top level holds population 0 and ``populations`` holds
every population by name.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import fft

__all__ = [
    "ConvergenceError",
    "applies_monte_carlo",
    "solve_site_monte_carlo",
    "circulant_sample",
    "lag_products",
    "solve_monte_carlo",
]

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    ConvergenceError,
    SiteSpec,
    SolverInputError,
    network_level,
    register_runtime,
)
from fieldtheory.solvers.runtime.quadrature import (  # inlined by the code generator
    gaussian_mean,
)

_OBSERVABLE_SCALARS = ("mean", "variance", "mean_phi", "mean_gain")
_OBSERVABLE_CURVES = ("autocorrelation", "autocorrelation_phi", "response")


# --------------------------------------------------------------------------- sampling


def _extend(covariance: np.ndarray, size: int) -> np.ndarray:
    """c(0..size): the estimate on 0..L, its tail tapered (cos²) onto the plateau beyond."""
    L = covariance.size - 1
    plateau = float(covariance[(3 * L) // 4 :].mean()) if L > 0 else float(covariance[0])
    lags = np.arange(size + 1)
    ramp = np.clip((lags - 3 * L / 4) / max(L / 4, 1), 0.0, 1.0)
    taper = np.cos(0.5 * np.pi * ramp) ** 2
    body = np.full(size + 1, plateau)
    upto = min(L, size) + 1
    body[:upto] = covariance[:upto]
    return plateau + (body - plateau) * taper


def circulant_sample(rng, covariance, length: int, paths: int):
    r"""Stationary Gaussian paths (paths, length) with covariance c(l), by circulant embedding.

    ``covariance`` holds c(0..L); beyond L it is continued by its plateau (mean of the last
    quarter), the deviation tapered by cos² over 3L/4 < l ≤ L. With period M = 2·m ≥
    2(length − 1) and λ = FFT of the even periodic extension, Z = FFT[√(λ₊/M)(z₁ + i z₂)]
    has Re Z, Im Z independent with covariance c (exactly, when λ ≥ 0).

    Returns the paths and the clipped weight Σ|λ₋|/Σ|λ| (0 for a positive-definite
    embedding).
    """
    half = fft.next_fast_len(max(length, covariance.size), real=False)
    c = _extend(np.asarray(covariance, dtype=float), half)
    circle = np.concatenate([c, c[-2:0:-1]])
    size = circle.size
    spectrum = fft.fft(circle).real
    negative = spectrum < 0
    clipped = float(-spectrum[negative].sum() / max(np.abs(spectrum).sum(), 1e-300))
    positive = np.maximum(spectrum, 0.0)
    # rescaled so that Σλ₊ = Σλ: the clipped embedding keeps the variance c(0) exactly
    # (clipping alone adds Σ|λ₋|/M to it, a bias the self-consistency amplifies)
    positive *= max(spectrum.sum(), 0.0) / max(positive.sum(), 1e-300)
    scale = np.sqrt(positive / size)
    pairs = (paths + 1) // 2
    white = rng.standard_normal((pairs, size)) + 1j * rng.standard_normal((pairs, size))
    z = fft.fft(scale * white, axis=-1)[:, :length]
    return np.concatenate([z.real, z.imag])[:paths], clipped


def lag_products(f: np.ndarray, h: np.ndarray, lags: int, symmetric: bool = True):
    r"""Per path (1/(n − l)) Σ_t f_t h_{t+l}, l = 0..lags (FFT, zero padded).

    With ``symmetric`` the average with (1/(n − l)) Σ_t f_{t+l} h_t: the estimate of the
    symmetrised correlation (C(τ) + C(−τ))/2.
    """
    n = f.shape[-1]
    size = fft.next_fast_len(n + lags, real=True)
    F = fft.rfft(f, size, axis=-1)
    H = F if h is f else fft.rfft(h, size, axis=-1)
    forward = fft.irfft(F.conj() * H, size, axis=-1)[..., : lags + 1]
    if symmetric and h is not f:
        forward = 0.5 * (forward + fft.irfft(F * H.conj(), size, axis=-1)[..., : lags + 1])
    return forward / (n - np.arange(lags + 1))


# --------------------------------------------------------------------------- the set-up


@dataclass(frozen=True)
class _Grid:
    """Time grid: step ``dt``, ``per`` steps per output lag, ``window`` estimation lags;
    ``replicas`` independent solutions of ``paths`` paths each."""

    dt: float
    per: int
    outputs: int
    window: int
    burn: int
    record: int
    replicas: int
    paths: int


@dataclass(frozen=True)
class _Order:
    """Order parameters per replica: means (B, L), correlations (B, K, W+1), responses
    (B, J, W+1)."""

    means: np.ndarray
    correlations: np.ndarray
    responses: np.ndarray

    def parts(self) -> list[np.ndarray]:
        """Each order parameter as (B, components)."""
        return [
            *np.moveaxis(self.means[:, :, None], 1, 0),
            *np.moveaxis(self.correlations, 1, 0),
            *np.moveaxis(self.responses, 1, 0),
        ]

    def astuple(self):
        return (self.means, self.correlations, self.responses)


def _derivative(f, df):
    """df, or a central difference of f when df is None."""
    if df is not None:
        return df
    eps = 1e-6
    return lambda x: (f(x + eps) - f(x - eps)) / (2 * eps)


def _check(spec: SiteSpec, tau_max: float, dtau: float, paths: int, replicas: int):
    if spec.step is not None:
        raise SolverInputError(
            "monte_carlo runtime: discrete-time sites (step set) are not supported")
    if tau_max <= 0 or dtau <= 0:
        raise SolverInputError(f"tau_max = {tau_max} and dtau = {dtau} must be positive")
    if replicas < 2 or paths < 2:
        raise SolverInputError(f"replicas = {replicas} and paths = {paths} must be ≥ 2")
    if np.any(np.asarray(spec.noise) < 0):
        raise SolverInputError(f"white-noise intensities {spec.noise} must be nonnegative")
    if np.any(np.asarray(spec.leak) < 0):
        raise SolverInputError(f"leaks {spec.leak} must be nonnegative (the drift r confines x)")
    for term in (*spec.responses, *spec.correlations):
        if term.right is None:
            raise SolverInputError(f"term {term.name!r} has no right function h")


def _grid(spec, tau_max, dtau, dt, t_record, t_burn, window, replicas, paths) -> _Grid:
    per = max(math.ceil(dtau / dt - 1e-9), 1)
    step = dtau / per
    if float(np.min(spec.leak)) == 0 and (window is None or t_burn is None):
        raise SolverInputError("with a zero leak give window and t_burn (no time scale to infer)")
    slowest = 1.0 / max(float(np.min(spec.leak)), 1e-300)
    window = max(tau_max, 30.0 * slowest) if window is None else max(window, tau_max)
    lags = round(window / step)
    t_burn = max(10.0 * slowest, window) if t_burn is None else t_burn
    record = max(round(t_record / step), 2 * lags)
    return _Grid(
        step, per, round(tau_max / dtau), lags, round(t_burn / step), record, replicas, paths
    )


def _centre(spec: SiteSpec) -> np.ndarray:
    """I/a per population (0 where a = 0): the start of the paths and of the guess."""
    a = np.asarray(spec.leak, float)
    return np.where(a > 0, np.asarray(spec.offset, float) / np.where(a > 0, a, 1.0), 0.0)


def _initial(spec: SiteSpec, grid: _Grid) -> _Order:
    r"""Gaussian guess: x ~ N(I/a, 1) with correlation e^{−|τ|}, R_f(τ) = ⟨f'⟩e^{−aτ}."""
    tau = grid.dt * np.arange(grid.window + 1)
    centre = _centre(spec)

    def mean(f, p):
        return float(gaussian_mean(f, float(centre[p]), 1.0))

    means = np.array([mean(t.left, t.population) for t in spec.means])
    corr = []
    for t in spec.correlations:
        ef, eh = mean(t.left, t.population), mean(t.right, t.population)
        efh = mean(lambda x, t=t: t.left(x) * t.right(x), t.population)
        corr.append(ef * eh + (efh - ef * eh) * np.exp(-tau))
    resp = [
        mean(_derivative(t.left, t.dleft), t.population)
        * np.exp(-float(spec.leak[t.population]) * tau)
        for t in spec.responses
    ]
    width, B = grid.window + 1, grid.replicas
    return _Order(
        np.tile(means, (B, 1)),
        np.tile(np.reshape(corr, (1, -1, width)), (B, 1, 1)),
        np.tile(np.reshape(resp, (1, -1, width)), (B, 1, 1)),
    )


# --------------------------------------------------------------------------- one sweep


class _Site:
    """Vectorised single-site dynamics over (P, replicas, paths): drift, kernel, tangent."""

    def __init__(self, spec: SiteSpec, grid: _Grid, order: _Order):
        a = np.asarray(spec.leak, dtype=float)[:, None, None]
        D = np.asarray(spec.noise, dtype=float)[:, None, None]
        h = grid.dt
        self.decay = np.exp(-a * h)
        safe = np.where(a > 0, a, 1.0)  # a → 0: φ₁ → h, variance → D h
        self.phi1 = np.where(a > 0, -np.expm1(-a * h) / safe, h)
        self.sigma = np.sqrt(D * np.where(a > 0, -np.expm1(-2 * a * h) / (2 * safe), h))
        coupling = np.asarray(spec.mean_coupling, float).reshape(spec.size, -1)
        self.mu = (np.asarray(spec.offset, float)[:, None] + coupling @ order.means.T)[:, :, None]
        self.slopes = [
            _derivative(r, dr) if r is not None else None
            for r, dr in zip(spec.nonlinear, spec.dnonlinear, strict=True)
        ]
        self.before_y = 0.0  # the tangent's memory at the previous step (Adams–Bashforth)
        kappa = np.asarray(spec.response_coupling, float).reshape(spec.size, -1)
        weights = np.ones(grid.window + 1)
        weights[[0, -1]] = 0.5
        self.kernel = [
            (
                j,
                kappa[:, j][:, None, None],
                np.ascontiguousarray((h * weights * order.responses[:, j])[:, ::-1, None]),
            )
            for j in range(kappa.shape[1])
            if np.any(kappa[:, j] != 0)
        ]

    @staticmethod
    def apply(functions, x):
        """Row α of x through functions[α] (None: zero)."""
        out = np.zeros_like(x)
        for p, f in enumerate(functions):
            if f is not None:
                out[p] = f(x[p])
        return out

    def memory(self, history, k: int, start: int) -> np.ndarray:
        """Σ_j κ_j ∫ R_j(t_k − s) H_j(s) ds over max(t_k − L dt, t_start) ≤ s ≤ t_k, by the
        trapezoidal rule (half weights at both ends; zero for k = start)."""
        total = 0.0
        for j, kappa, reverse in self.kernel:
            L = reverse.shape[1] - 1
            lo = max(start, k - L)
            part = (history[j][..., lo : k + 1] @ reverse[:, L - (k - lo) :])[..., 0]
            if k - start < L:  # the lower end is the kick (start): half weight there
                part = part - 0.5 * reverse[:, L - (k - start), 0][:, None] * history[j][..., start]
            total = total + kappa * part
        return total


def _inputs(spec: SiteSpec, grid: _Grid, order: _Order, rng, n: int):
    """η (P, B, paths, n + 1) per replica's covariance Σ_k A_αk C_k, and the clipped weight."""
    P, B = spec.size, grid.replicas
    coupling = np.asarray(spec.correlation_coupling, float).reshape(P, -1)
    eta = np.zeros((P, B, grid.paths, n + 1))
    clipped = 0.0
    for p in range(P):
        for b in range(B):
            if spec.correlations and np.any(coupling[p] != 0):
                eta[p, b], c = circulant_sample(
                    rng, coupling[p] @ order.correlations[b], n + 1, grid.paths
                )
                clipped = max(clipped, c)
    return eta, clipped


def _tangent_step(site, spec, tangent, slopes_h, x, guess, y, k, kick, nonlinear):
    """y_{k+1} = ∂x_{k+1}/∂x_kick: the exact derivative of the Heun step (memory by AB2)."""
    for j in tangent:
        tangent[j][..., k] = site.apply(slopes_h[j], x) * y
    feedback = 0.0
    if site.kernel:
        now = site.memory(tangent, k, kick)
        feedback = 1.5 * now - 0.5 * site.before_y if k > kick else now
        site.before_y = now
    slope = site.apply(site.slopes, x)
    if not nonlinear:
        return site.decay * y + site.phi1 * feedback
    y_guess = site.decay * y + site.phi1 * (slope * y + feedback)
    slope_guess = site.apply(site.slopes, guess)
    return site.decay * y + site.phi1 * (0.5 * (slope * y + slope_guess * y_guess) + feedback)


def _sweep(spec: SiteSpec, grid: _Grid, order: _Order, rng):
    """One run at fixed order parameters: record (P, B, paths, n), response means, clipped."""
    P, B, m = spec.size, grid.replicas, grid.paths
    site = _Site(spec, grid, order)
    n = grid.burn + grid.record
    eta, clipped = _inputs(spec, grid, order, rng, n)
    x = _centre(spec)[:, None, None] + rng.standard_normal((P, B, m))
    noise = rng.standard_normal((n, P, B, m)) if np.any(site.sigma > 0) else np.zeros(n)
    shape = (P, B, m, n + 1)
    hist = {j: np.zeros(shape) for j, _, _ in site.kernel}
    tangent = {j: np.zeros(shape) for j, _, _ in site.kernel}
    rights = {j: [spec.responses[j].right] * P for j in hist}
    slopes_h = {
        j: [_derivative(spec.responses[j].right, spec.responses[j].dright)] * P for j in hist
    }
    gains = [_derivative(t.left, t.dleft) for t in spec.responses]
    record = np.empty((P, B, m, grid.record + 1))
    span = grid.window + 1
    resp = np.zeros((len(spec.responses), span, B, m))
    resp_x = np.zeros((P, span, B, m))
    counts = np.zeros(span)
    y, kick = np.zeros((P, B, m)), 0
    nonlinear = spec.has_nonlinear_drift
    before = 0.0
    for k in range(n + 1):
        if k >= grid.burn:
            record[..., k - grid.burn] = x
            if (k - grid.burn) % span == 0:
                y[:], kick = 1.0, k
            counts[k - kick] += 1
            resp_x[:, k - kick] += y
            for j, term in enumerate(spec.responses):
                resp[j, k - kick] += gains[j](x[term.population]) * y[term.population]
        if k == n:
            break
        drift = site.mu + 0.5 * (eta[..., k] + eta[..., k + 1])
        for j in hist:
            hist[j][..., k] = site.apply(rights[j], x)
        if site.kernel:
            # Adams–Bashforth 2 for the memory over [t_k, t_k+1]: second order in dt
            now = site.memory(hist, k, 0)
            drift = drift + (1.5 * now - 0.5 * before if k > 0 else now)
            before = now
        # Heun for r (predictor x̃, same noise): weak order 2 for additive noise
        base = site.decay * x + site.sigma * noise[k]
        force = site.apply(spec.nonlinear, x)
        guess = base + site.phi1 * (force + drift)
        force_guess = site.apply(spec.nonlinear, guess) if nonlinear else force
        if k >= grid.burn:
            y = _tangent_step(site, spec, tangent, slopes_h, x, guess, y, k, kick, nonlinear)
        x = base + site.phi1 * (0.5 * (force + force_guess) + drift)
    return record, resp / counts[:, None, None], resp_x / counts[:, None, None], clipped


# --------------------------------------------------------------------------- estimates


def _estimate(spec: SiteSpec, grid: _Grid, record, responses) -> _Order:
    """Every order parameter per replica (path means of f_l, C_k by FFT, R_j)."""
    means = [t.left(record[t.population]).mean(axis=(-1, -2)) for t in spec.means]
    corr = [
        lag_products(t.left(record[t.population]), t.right(record[t.population]), grid.window).mean(
            axis=1
        )
        for t in spec.correlations
    ]
    width, B = grid.window + 1, grid.replicas
    return _Order(
        np.reshape(means, (-1, B)).T,
        np.moveaxis(np.reshape(corr, (-1, B, width)), 0, 1),
        np.moveaxis(responses.mean(axis=-1), 2, 0).reshape(B, -1, width),
    )


def _observables(spec: SiteSpec, grid: _Grid, record, response_x) -> list[dict]:
    """Per-replica estimates (B, ...) of the schema observables, one dict per population."""
    out = []
    every = slice(0, grid.outputs * grid.per + 1, grid.per)
    lags = grid.outputs * grid.per
    for p in range(spec.size):
        x = record[p]
        phi = spec.phi[p](x)
        m = x.mean(axis=(-1, -2), keepdims=True)
        m_phi = phi.mean(axis=(-1, -2), keepdims=True)
        auto = lag_products(x - m, x - m, lags)[..., every].mean(axis=1)
        auto_phi = lag_products(phi - m_phi, phi - m_phi, lags)[..., every].mean(axis=1)
        out.append(
            {
                "mean": m[:, 0, 0],
                "variance": auto[:, 0],
                "autocorrelation": auto,
                "mean_phi": m_phi[:, 0, 0],
                "autocorrelation_phi": auto_phi,
                "mean_gain": spec.dphi[p](x).mean(axis=(-1, -2)),
                "response": response_x[p].mean(axis=-1).T[:, every],
            }
        )
    return out


def _change(order: _Order, estimate: _Order) -> float:
    """Largest over order parameters and replicas of the rms of (Q̂ − Q)/σ, σ the standard
    error of the replica mean of Q̂ (per component)."""
    worst = 0.0
    for current, new in zip(order.parts(), estimate.parts(), strict=True):
        se = new.std(axis=0, ddof=1) / math.sqrt(new.shape[0])
        # floor: a component without sampling noise (a linear site's response) converges
        # to 1e-6 relative
        scale = np.maximum(se, 1e-6 * max(float(np.abs(new).max()), 1e-300))
        worst = max(worst, float(np.sqrt(np.mean(((new - current) / scale) ** 2, axis=1)).max()))
    return worst


def _schema(v: dict, tau: np.ndarray) -> dict:
    out = {key: float(v[key]) for key in _OBSERVABLE_SCALARS}
    for key in _OBSERVABLE_CURVES:
        out[key] = {"tau": tau, "values": np.asarray(v[key])}
    return out


# --------------------------------------------------------------------------- the solve


class _Anderson:
    r"""Anderson acceleration of Q ← F(Q), per replica (Walker & Ni, SIAM J. Numer. Anal.
    49, 1715 (2011)): with residuals f_i = F(Q_i) − Q_i over the last m iterates,
    γ = argmin ‖f_k − ΔF γ‖ and Q_{k+1} = Q_k + α f_k − (ΔQ + α ΔF)γ. With frozen noise F
    is a smooth deterministic map, so the slow mode of the self-consistency (contraction
    ≈ 0.8 for chaotic rate networks) is removed in a few steps; m = 0 is damped iteration.
    """

    def __init__(self, memory: int, damping: float):
        self.memory, self.damping = memory, damping
        self.points, self.residuals = [], []

    def restart(self) -> None:
        self.points, self.residuals = [], []

    def step(self, order: _Order, estimate: _Order) -> _Order:
        shapes = [a.shape for a in order.astuple()]
        B = shapes[0][0]
        q = np.concatenate([a.reshape(B, -1) for a in order.astuple()], axis=1)
        f = np.concatenate([a.reshape(B, -1) for a in estimate.astuple()], axis=1) - q
        self.points = [*self.points, q][-(self.memory + 1) :]
        self.residuals = [*self.residuals, f][-(self.memory + 1) :]
        new = q + self.damping * f
        if len(self.points) > 1:
            dq = np.diff(np.array(self.points), axis=0)  # (m, B, n)
            df = np.diff(np.array(self.residuals), axis=0)
            for b in range(B):
                gamma = np.linalg.lstsq(df[:, b].T, f[b], rcond=None)[0]
                new[b] -= (dq[:, b] + self.damping * df[:, b]).T @ gamma
        parts, start = [], 0
        for shape in shapes:
            size = math.prod(shape[1:])
            parts.append(new[:, start : start + size].reshape(shape))
            start += size
        return _Order(*parts)


def solve_monte_carlo(
    spec: SiteSpec,
    *,
    tau_max: float = 20.0,
    dtau: float = 0.25,
    paths: int = 64,
    replicas: int = 8,
    dt: float = 0.05,
    t_record: float = 100.0,
    t_burn: float | None = None,
    window: float | None = None,
    seed: int = 0,
    damping: float = 1.0,
    memory: int = 5,
    tol: float = 0.1,
    max_iter: int = 100,
) -> dict:
    r"""Stationary single-site DMFT of ``spec`` by Monte-Carlo sampling (see the module).

    Parameters
    ----------
    spec : SiteSpec
        The single-site problem (continuous time); P populations are run side by side.
    tau_max, dtau : float
        Output lags τ = 0, dτ, …, tau_max.
    paths, replicas : int
        ``replicas`` independent self-consistent solutions of ``paths`` sampled paths
        (units) each, per population; errors come from their scatter.
    dt : float
        Largest integration step; the step used divides ``dtau``.
    t_record, t_burn : float
        Recorded length of each path, and the discarded burn-in (default
        max(10/a_min, window)).
    window : float, optional
        Lag range over which C_k and R_j are estimated and used; beyond it C_k is its
        plateau and R_j zero. Default max(tau_max, 30/a_min); it must exceed the
        correlation and response times severalfold.
    seed : int
        Seed of :func:`numpy.random.default_rng`; equal seeds give identical results.
    damping, memory, tol, max_iter
        Anderson mixing with weight α ∈ (0, 1] over the last ``memory`` iterates
        (``memory`` = 0: the damped iteration Q ← (1 − α)Q + αQ̂); convergence when every
        replica's change of every order parameter is, in rms over its components, ≤ ``tol``
        standard errors of the replica mean; at most ``max_iter`` iterations.

    Returns
    -------
    dict
        The observables schema (top level: population 0) with ``response``, ``branch`` =
        ``"monte_carlo"``, ``stderr`` (the same keys), ``iterations``, ``residuals`` (the
        history of the convergence measure), ``clipped_spectrum``, ``order_parameters``
        ({``tau``, ``means``, ``correlations``, ``responses``, ``stderr``}) and, for P > 1,
        ``populations`` {name: observables} (also inside ``stderr``).

    Raises
    ------
    ValueError
        For a discrete-time spec, negative leak or noise, a zero leak without ``window``
        and ``t_burn``, bad sizes.
    ConvergenceError
        When the criterion is not met within ``max_iter`` iterations.
    """
    _check(spec, tau_max, dtau, paths, replicas)
    if not 0 < damping <= 1:
        raise SolverInputError(f"damping = {damping} must lie in (0, 1]")
    grid = _grid(spec, tau_max, dtau, dt, t_record, t_burn, window, replicas, paths)
    order = _initial(spec, grid)
    accelerator = _Anderson(memory, damping)
    residuals = []
    for iteration in range(1, max_iter + 1):
        # frozen noise: the same random numbers every iteration make each replica's
        # iteration a deterministic map, whose convergence is not masked by sampling noise
        rng = np.random.default_rng(seed)
        record, responses, response_x, c = _sweep(spec, grid, order, rng)
        clipped = c
        estimate = _estimate(spec, grid, record, responses)
        residuals.append(_change(order, estimate))
        if residuals[-1] <= tol and iteration > 1:
            return _result(
                spec,
                grid,
                estimate,
                _observables(spec, grid, record, response_x),
                residuals,
                clipped,
            )
        if iteration > 2 and residuals[-1] > residuals[-2]:
            accelerator.restart()  # safeguard: a growing residual discards the secant history
        order = accelerator.step(order, estimate) if iteration > 1 else estimate
    raise ConvergenceError(
        f"Monte-Carlo DMFT: the order parameters still change by more than {tol} standard "
        f"errors (rms) after {max_iter} iterations",
        residuals,
    )


def _summary(samples: list[dict], tau: np.ndarray):
    """Replica means and their standard errors."""
    values = {key: s.mean(axis=0) for key, s in samples.items()}
    errors = {key: s.std(axis=0, ddof=1) / math.sqrt(s.shape[0]) for key, s in samples.items()}
    return _schema(values, tau), _schema(errors, tau)


def _result(spec, grid, order, samples, residuals, clipped) -> dict:
    tau = grid.dt * grid.per * np.arange(grid.outputs + 1)
    values, errors = {}, {}
    for name, sample in zip(spec.populations, samples, strict=True):
        values[name], errors[name] = _summary(sample, tau)
    result = dict(values[spec.populations[0]])
    stderr = dict(errors[spec.populations[0]])
    if spec.size > 1:
        result["populations"] = values
        stderr["populations"] = errors
    B = grid.replicas

    def se(a):
        return a.std(axis=0, ddof=1) / math.sqrt(B)

    result.update(
        {
            "branch": "monte_carlo",
            "stderr": stderr,
            "iterations": len(residuals),
            "residuals": tuple(residuals),
            "clipped_spectrum": clipped,
            "order_parameters": {
                "tau": grid.dt * np.arange(grid.window + 1),
                **{
                    k: a.mean(axis=0)
                    for k, a in zip(
                        ("means", "correlations", "responses"), order.astuple(), strict=True
                    )
                },
                "stderr": {
                    k: se(a)
                    for k, a in zip(
                        ("means", "correlations", "responses"), order.astuple(), strict=True
                    )
                },
            },
        }
    )
    return result


# ----------------------------------------------------------------- registration


def applies_monte_carlo(site) -> bool:
    """Any site in continuous time (the general, sampled solver: lowest priority, so it
    runs where no deterministic runtime applies — nonlinear drifts, kernels on nonlinear
    functions)."""
    return site.step is None


@register_runtime("monte_carlo", applies=applies_monte_carlo, priority=10,
                  needs=lambda problem: not problem.discrete and not problem.is_gaussian)
def solve_site_monte_carlo(site, grid, options) -> dict:
    """:func:`solve_monte_carlo`, the top level the whole network for several populations."""
    out = solve_monte_carlo(site, tau_max=grid.tau_max, dtau=grid.dtau, **options)
    return network_level(site, out)
