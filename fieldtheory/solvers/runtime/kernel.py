r"""Stationary DMFT of a linear (Gaussian) site with a response kernel, in frequency.

Self-contained runtime: numpy, scipy and the standard library only (the code generator
inlines its source text after :mod:`common`). The problem is a :class:`SiteSpec` whose
drift is linear (``nonlinear`` all None) and whose correlation and response terms are
affine, f(x) = f₀ + f₁x, h(x) = h₀ + h₁x; the observed φ may be any function (the site
is Gaussian, so its statistics follow by Gaussian quadrature).

Derivation. For population α, with x = M_α + δx,

.. math::
    \partial_t x = -a_\alpha x + \mu_\alpha + \eta_\alpha + \xi_\alpha
        + \sum_j \kappa_{\alpha j} \int ds\, R_j(t - s)\, h_j(x(s)).

*Response.* A perturbation δI of the input of α moves x by χ_α(ω)δI(ω), and R_j = f₁ⱼ
χ_{p_j} (p_j the population of term j), so (convention F(ω) = ∫dτ e^{−iωτ}F(τ))

.. math::
    \chi_\alpha(\omega) = \Big[a_\alpha + i\omega
        - \sum_j \kappa_{\alpha j} f_{1j} h_{1j}\, \chi_{p_j}(\omega)\Big]^{-1}.

For one population with k = Σ_j κ_j f₁ⱼh₁ⱼ this is k χ² − (a + iω)χ + 1 = 0,
χ = [z − √(z² − 4k)]/(2k), z = a + iω: the root with χ ~ 1/z as ω → ∞; the other root
has |kχ²| > 1 (the two roots multiply to 1/k), so the physical one is the root with
|kχ²| < 1, which is also the attracting fixed point of χ ← 1/(z − kχ) used for P > 1.
For the network ∂_t x = −x + Jx + ξ with J_ij ~ N(0, g²/N), corr(J_ij, J_ji) = ρ,
k = g²ρ and χ is the elliptic-law resolvent G(z) = (z − √(z² − 4g²ρ))/(2g²ρ)
(Sommers, Crisanti, Sompolinsky & Stein, PRL 60, 1895 (1988)).

*Mean.* ⟨h(x(s))⟩ = h(M), ∫R_j = f₁ⱼχ_{p_j}(0), so the means solve the linear system
a_α M_α = I_α + Σ_l B_αl f_l(M_{p_l}) + Σ_j κ_αj f₁ⱼ χ_{p_j}(0) h_j(M_α).

*Fluctuations.* δx_α(ω) = χ_α(ω)[η_α(ω) + ξ_α(ω)] and the connected part of
C_k(τ) = ⟨f_k(x(t+τ))h_k(x(t))⟩ is f₁ₖh₁ₖΔ_{p_k}(τ), so the spectra S_α(ω) of the
temporal fluctuations solve, per ω,

.. math::
    S_\alpha = |\chi_\alpha|^2 \Big[D_\alpha
        + \sum_k A_{\alpha k} f_{1k} h_{1k} S_{p_k}\Big]
    \quad\Rightarrow\quad
    S = \frac{D|\chi|^2}{1 - A f_1 h_1 |\chi|^2} \ (P = 1),

which for the network is C(ω) = D|R|²/(1 − g²|R|²). The constant part of C_k,
f_k(M)h_k(M) + f₁ₖh₁ₖΔ∞, is a quenched random input offset per unit, which the static
response χ(0) turns into the plateau Δ∞_α = χ_α(0)² Σ_k A_αk [f_k(M)h_k(M) +
f₁ₖh₁ₖΔ∞_{p_k}] (linear system). Δ(τ) = Δ∞ + (1/2π)∫dω e^{iωτ} S(ω).

*Largest Lyapunov exponent* (one population). The tangent dynamics of a linear network
is the network itself, so λ_max is the rightmost point of the spectrum of −a + J. Its
bulk is where the fluctuations' amplification diverges: the tangent drive δη has variance
c⟨δx²⟩, c = Σ_k A_k f₁ₖh₁ₖ, and with δx = e^{λt}y the static gain of y is χ(a + λ), so the
growth rate λ feeds itself exactly where c χ(a + λ)² = 1, i.e. χ = 1/√c; with
z = 1/χ + kχ (the susceptibility's equation) this is

.. math::
    \lambda_{\rm bulk} = -a + \sqrt{c} + k/\sqrt{c}
        \;=\; -a + g(1 + \rho) \quad (c = g^2,\ k = g^2\rho),

the right edge of the elliptic law. (It is not the singularity of χ on the real axis: the
branch points ±2√k of χ are the foci of the ellipse, inside its support.) The mean
coupling θ = Σ_l B_l f₁ₗ adds a rank-one outlier where θχ(a + λ) = 1, λ_out = −a + θ + k/θ,
which exists when θ > √c (χ is decreasing beyond the edge; O'Rourke & Renfrew, Electron.
J. Probab. 19, 43 (2014)). λ_max is the larger; an outlier at λ ≥ 0 leaves no stationary
state (the mean grows). Several populations: not computed (``lyapunov_max`` None with a
``lyapunov_note``) — the rightmost point of a block-structured elliptic support and the
outliers of the mean couplings are points of the complex plane, not of the real axis.

Numerics: Δ(τ) and R_x(τ) = χ(τ) by FFT on a fine periodic grid, after subtracting the
tails known in closed form, D/(a² + ω²) ↔ D e^{−a|τ|}/(2a) and 1/(a + iω) ↔ e^{−aτ}Θ(τ),
so that the remainders decay like ω⁻⁴ and ω⁻³ (small aliasing error).

**Maps** (``step`` set; issue 12). The lowered site of a map is
u(n+1) − u(n) = −a u(n) + μ + η(n) + ξ(n) + Σ_j κ_j Σ_m R_j(n, m) h_j(u(m)), with
R(n, m) = ∂⟨u(n)⟩/∂j(m) for a source j(m) added to the step that makes u(m + 1) (so
R(m + 1, m) = 1 for the bare site, R(n, m) = 0 for n ≤ m) and ⟨ξ(n)ξ(m)⟩ = D δ_nm. With
F(θ) = Σ_k F(k) e^{−ikθ} the shift u(n+1) is e^{iθ}u, so every equation above holds with

.. math::  z_\alpha(\theta) = e^{i\theta} - 1 + a_\alpha = e^{i\theta} - b_\alpha

in place of a + iω: the susceptibility's quadratic kχ² − zχ + 1 = 0 (for the network
x(n+1) = b x + δJx + √(δD)ξ, k = δ²g²ρ, χ the elliptic resolvent of δJ at e^{iθ} − b), the
spectra S(θ) = |χ|²[D + A f₁h₁ S], and at θ = 0 (z = a) the same means and plateaus.
Δ(k) = Δ∞ + (1/2π)∫_{−π}^{π} dθ e^{ikθ}S(θ) and R(k) = (1/2π)∫dθ e^{ikθ}χ(θ) are Fourier
series: an FFT on n equally spaced θ is exact up to aliasing of order |Λ|ⁿ (no tails
needed). Bare site: χ = e^{−iθ}/(1 − b e^{−iθ}), R(k) = b^{k−1} (k ≥ 1). λ_max (one
population) is log Λ per step, Λ the spectral radius of b + M, M the coupling matrix
seen by the tangent dynamics: its elliptic bulk has real semi-axis A = √c + k/√c and
imaginary semi-axis B = |√c − k/√c|, so Λ² = max over u = cos t ∈ [−1, 1] of
b² + B² + 2bAu + (A² − B²)u² (the far end of the real axis, or for B > A — ρ < 0 — a
point off it), and a mean-coupling outlier θ + k/θ (|θ| > √c) is the point b + θ + k/θ.
Λ ≥ 1 leaves no stationary state (refused). Lags in model time τ = k·step.
"""

import math

import numpy as np
from scipy import fft

__all__ = [
    "ConvergenceError",
    "affine_coefficients",
    "applies_kernel",
    "kernel_lyapunov",
    "solve_kernel",
    "solve_site_kernel",
    "susceptibility",
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
    gaussian_pair_mean,
)


def affine_coefficients(f, name: str) -> tuple[float, float]:
    """(f₀, f₁) with f(x) = f₀ + f₁x; ValueError when f is not affine."""
    probe = np.array([0.0, 1.0, -1.7, 2.3, 0.4])
    values = np.asarray(f(probe), dtype=float)
    f0, f1 = values[0], values[1] - values[0]
    if not np.allclose(values, f0 + f1 * probe, rtol=1e-10, atol=1e-12):
        raise SolverInputError(f"the kernel runtime needs affine site functions; {name} is not")
    return float(f0), float(f1)


def susceptibility(
    leak, kappa, populations, omega, max_iter: int = 100_000, tol: float = 1e-13,
    discrete: bool = False,
) -> np.ndarray:
    r"""χ_α(ω) (P, n): the physical solution of χ_α = 1/(z_α − Σ_j k_αj χ_{p_j}), with
    z_α = a_α + iω in continuous time and z_α = e^{iθ} − 1 + a_α for a map (``discrete``;
    ``omega`` is then θ, the frequency per step).

    ``kappa`` (P, J) holds k_αj = κ_αj f₁ⱼ h₁ⱼ and ``populations`` the p_j. One population:
    the root of kχ² − zχ + 1 = 0 with |kχ²| < 1 (closed form). Several: the fixed-point
    iteration from χ = 1/z (it contracts with factor |kχ²| at the physical root).
    """
    omega = np.asarray(omega, float)[None, :]
    z = np.asarray(leak, float)[:, None] + (np.expm1(1j * omega) if discrete else 1j * omega)
    P = z.shape[0]
    k = np.zeros((P, P))
    for j, p in enumerate(populations):
        k[:, p] += np.asarray(kappa, float)[:, j]
    if P == 1:
        if k[0, 0] == 0:
            return 1.0 / z
        root = np.sqrt(z * z - 4 * k[0, 0])
        roots = np.stack([(z - root), (z + root)]) / (2 * k[0, 0])
        pick = np.argmin(np.abs(roots), axis=0)
        return np.take_along_axis(roots, pick[None], axis=0)[0]
    chi = 1.0 / z
    for _ in range(max_iter):
        new = 1.0 / (z - k @ chi)
        if np.abs(new - chi).max() <= tol * np.abs(new).max():
            return new
        chi = new
    raise ConvergenceError(
        "kernel runtime: the susceptibility iteration did not converge "
        "(the linear network is at or beyond its instability)"
    )


def _coefficients(spec: SiteSpec):
    means = [affine_coefficients(t.left, f"mean {t.name or i}") for i, t in enumerate(spec.means)]
    corr = [
        (
            affine_coefficients(t.left, f"correlation {t.name or i} (f)"),
            affine_coefficients(t.right, f"correlation {t.name or i} (h)"),
        )
        for i, t in enumerate(spec.correlations)
    ]
    resp = [
        (
            affine_coefficients(t.left, f"response {t.name or i} (f)"),
            affine_coefficients(t.right, f"response {t.name or i} (h)"),
        )
        for i, t in enumerate(spec.responses)
    ]
    return means, corr, resp


def _kernel_check(spec: SiteSpec):
    if spec.has_nonlinear_drift:
        raise SolverInputError(
            "kernel runtime: the drift must be linear (a Gaussian site); use "
            "the Monte-Carlo runtime for nonlinear drifts"
        )
    if np.any(np.asarray(spec.leak, float) <= 0):
        raise SolverInputError(f"kernel runtime: leaks {spec.leak} must be positive")
    if spec.step is not None and np.any(np.asarray(spec.leak, float) >= 2):
        raise SolverInputError(f"kernel runtime: the leaks per step {spec.leak} of a map must "
                               f"lie in (0, 2) (|1 − a| < 1: an isolated unit decays)")
    if np.any(np.asarray(spec.noise, float) < 0):
        raise SolverInputError(f"kernel runtime: noise {spec.noise} must be nonnegative")


def _means(spec, a, chi0, means, resp):
    """M from the linear system of the module docstring."""
    P = spec.size
    matrix = np.diag(a).astype(float)
    rhs = np.asarray(spec.offset, float).copy()
    B = np.asarray(spec.mean_coupling, float).reshape(P, -1)
    kappa = np.asarray(spec.response_coupling, float).reshape(P, -1)
    for l, ((f0, f1), term) in enumerate(zip(means, spec.means, strict=True)):
        rhs += B[:, l] * f0
        matrix[:, term.population] -= B[:, l] * f1
    for j, (((_, f1), (h0, h1)), term) in enumerate(zip(resp, spec.responses, strict=True)):
        gain = kappa[:, j] * f1 * chi0[term.population]
        rhs += gain * h0
        matrix[np.arange(P), np.arange(P)] -= gain * h1
    return np.linalg.solve(matrix, rhs)


def _static(spec, chi0, M, corr):
    """Plateaus Δ∞ (linear system) and the fluctuation coupling matrix builder."""
    P = spec.size
    A = np.asarray(spec.correlation_coupling, float).reshape(P, -1)
    matrix, rhs = np.eye(P), np.zeros(P)
    for k, (((f0, f1), (h0, h1)), term) in enumerate(zip(corr, spec.correlations, strict=True)):
        p = term.population
        rhs += chi0**2 * A[:, k] * (f0 + f1 * M[p]) * (h0 + h1 * M[p])
        matrix[:, p] -= chi0**2 * A[:, k] * f1 * h1
    return np.linalg.solve(matrix, rhs)


def _spectra(spec, chi, corr) -> np.ndarray:
    """S_α(ω) (P, n) from (1 − |χ|² A f₁h₁) S = |χ|² D, per frequency."""
    P = spec.size
    A = np.asarray(spec.correlation_coupling, float).reshape(P, -1)
    weight = np.abs(chi) ** 2
    coupling = np.zeros((P, P))
    for k, (((_, f1), (_, h1)), term) in enumerate(zip(corr, spec.correlations, strict=True)):
        coupling[:, term.population] += A[:, k] * f1 * h1
    D = np.asarray(spec.noise, float)
    if P == 1:
        denominator = 1.0 - coupling[0, 0] * weight[0]
        if np.any(denominator <= 0):
            raise ConvergenceError(
                "kernel runtime: 1 − A f₁h₁|χ|² ≤ 0 at some frequency: "
                "the linear network is unstable (no stationary state)"
            )
        return (D[0] * weight[0] / denominator)[None]
    system = np.eye(P)[:, :, None] - weight[:, None, :] * coupling[:, :, None]
    out = np.linalg.solve(np.moveaxis(system, 2, 0), (weight * D[:, None]).T[..., None])
    return out[..., 0].T


def kernel_lyapunov(spec: SiteSpec, means, corr, resp):
    r"""(λ_max, note) of the linear network of ``spec`` from the affine coefficients
    (:func:`_coefficients`): λ_bulk = −a + √c + k/√c and the mean-coupling outlier
    −a + θ + k/θ when θ > √c (module docstring). λ_max None with the reason in ``note`` for
    several populations or without random couplings (c ≤ 0).
    """
    if spec.size > 1:
        return None, ("several populations: the rightmost point of the block elliptic "
                      "spectrum is not computed by the kernel runtime")
    A = np.asarray(spec.correlation_coupling, float).reshape(1, -1)[0]
    kappa = np.asarray(spec.response_coupling, float).reshape(1, -1)[0]
    B = np.asarray(spec.mean_coupling, float).reshape(1, -1)[0]
    c = sum(A[k] * f1 * h1 for k, ((_, f1), (_, h1)) in enumerate(corr))
    k = sum(kappa[j] * f1 * h1 for j, ((_, f1), (_, h1)) in enumerate(resp))
    theta = sum(B[l] * f1 for l, (_, f1) in enumerate(means))
    if not c > 0:
        return None, (f"no random couplings in the tangent dynamics (A f₁h₁ = {c:g}): "
                      "the spectrum's bulk is not the elliptic law")
    a = float(spec.leak[0])
    if spec.step is not None:
        return _map_lyapunov(1.0 - a, c, k, theta) / float(spec.step), None
    edge = -a + math.sqrt(c) + k / math.sqrt(c)
    if theta > math.sqrt(c):
        return max(edge, -a + theta + k / theta), None
    return edge, None


def _map_lyapunov(b: float, c: float, k: float, theta: float) -> float:
    """log Λ per step: Λ the spectral radius of b + M, M with the elliptic bulk (c, k) and
    the mean-coupling outlier θ + k/θ where |θ| > √c (module docstring, Maps)."""
    A, B = math.sqrt(c) + k / math.sqrt(c), abs(math.sqrt(c) - k / math.sqrt(c))
    candidates = [-1.0, 1.0]
    if A * A != B * B:
        candidates.append(min(max(-b * A / (A * A - B * B), -1.0), 1.0))
    radius2 = max(b * b + B * B + 2 * b * A * u + (A * A - B * B) * u * u for u in candidates)
    if abs(theta) > math.sqrt(c):
        radius2 = max(radius2, (b + theta + k / theta) ** 2)
    return 0.5 * math.log(radius2)


def _kernel_grid(tau_max: float, dtau: float, step_max: float, box: float | None, a_min: float):
    """Fine step dividing dτ and a power-of-two periodic grid of length ≥ 2·box."""
    per = max(math.ceil(dtau / step_max - 1e-9), 1)
    step = dtau / per
    box = max(tau_max, 60.0 / a_min) if box is None else max(box, tau_max)
    n = 1 << math.ceil(math.log2(2 * box / step))
    return step, per, n


def _to_time(spec, chi, S, omega, step, n):
    """Δ(τ) − Δ∞ and χ(τ) on τ_k = k·step (k < n/2) by FFT with closed-form tails."""
    a = np.asarray(spec.leak, float)[:, None]
    D = np.asarray(spec.noise, float)[:, None]
    tau = step * np.arange(n)
    tau = np.where(tau < n * step / 2, tau, tau - n * step)
    tail = D / (a**2 + omega**2)
    delta = fft.ifft(S - tail, axis=-1).real / step + D / (2 * a) * np.exp(-a * np.abs(tau))
    lead = 1.0 / (a + 1j * omega)
    causal = np.where(tau >= 0, np.exp(-a * np.maximum(tau, 0.0)), 0.0)
    response = fft.ifft(chi - lead, axis=-1).real / step + causal
    return delta[:, : n // 2], response[:, : n // 2]


def _check_spectra(S, plateau):
    if np.any(S < 0) or np.any(plateau < 0):
        raise ConvergenceError(
            "kernel runtime: negative spectrum or plateau (the linear network is unstable)"
        )


#: Largest θ grid of a map (2²² points); the grid doubles from the first guess until the
#: series' values at the half period fall below MAP_ALIASING of their largest.
MAP_GRID_MAX = 1 << 22
MAP_ALIASING = 1e-13


def _map_series(spec, a, kappa, populations, corr, exponent, last: int, box):
    """(χ(θ), S(θ), θ, Δ(k) − Δ∞, R(k), n) of a map on n equally spaced θ: the Fourier
    series of the module docstring (Maps) by FFT, n doubled until both series have decayed
    by MAP_ALIASING at the half period (a refusal at MAP_GRID_MAX)."""
    if box is not None:
        lags = box / float(spec.step)
    elif exponent is not None:  # the slowest decay per step is Λ = e^{λ step}
        lags = 37.0 / max(-exponent * float(spec.step), 1e-6)
    else:
        lags = 200.0 / float(np.min(a))
    n = 1 << max(6, math.ceil(math.log2(2 * max(last + 1, lags))))
    while True:
        theta = 2 * np.pi * fft.fftfreq(n)
        chi = susceptibility(a, kappa, populations, theta, discrete=True)
        S = _spectra(spec, chi, corr)
        delta, response = fft.ifft(S, axis=-1).real, fft.ifft(chi, axis=-1).real
        tail = max(float(np.max(np.abs(v[:, n // 2 - 1 : n // 2 + 1]))
                         / max(float(np.max(np.abs(v))), 1e-300)) for v in (delta, response))
        if tail <= MAP_ALIASING:
            return chi, S, theta, delta[:, : n // 2], response[:, : n // 2], n
        if n >= MAP_GRID_MAX:
            raise ConvergenceError(
                f"kernel runtime: the map's correlations have not decayed over {n // 2} lags "
                f"(relative size {tail:.2g} at the half period): the network is too close to "
                f"its instability for this grid")
        n *= 2


def _kernel_observables(spec, p, M, plateau, delta, response, out) -> dict:
    """The schema for population p from its Gaussian statistics."""
    total = delta[p, out] + plateau[p]
    phi, dphi = spec.phi[p], spec.dphi[p]
    d0 = float(total[0])
    m_phi = float(gaussian_mean(phi, float(M[p]), d0))
    c_phi = gaussian_pair_mean(phi, phi, float(M[p]), d0, total) - m_phi**2
    return {
        "mean": float(M[p]),
        "variance": d0,
        "mean_phi": m_phi,
        "mean_gain": float(gaussian_mean(dphi, float(M[p]), d0)),
        "autocorrelation": total,
        "autocorrelation_phi": c_phi,
        "response": response[p, out],
    }


def solve_kernel(
    spec: SiteSpec,
    *,
    tau_max: float = 20.0,
    dtau: float = 0.25,
    step_max: float = 0.01,
    box: float | None = None,
) -> dict:
    r"""Stationary statistics of a linear site with response kernel (see the module).

    Parameters
    ----------
    spec : SiteSpec
        Linear drift; affine correlation, response and mean functions.
    tau_max, dtau : float
        Output lags τ = 0, dτ, …, tau_max (maps: multiples of the step, every
        round(dτ/step)-th lag up to tau_max).
    step_max : float
        Largest step of the FFT grid (dividing dτ); aliasing errors ~step³. Not used for
        maps (their lags are the steps).
    box : float, optional
        Half-period of the FFT grid (default max(tau_max, 60/a_min)); it must exceed the
        correlation time severalfold (wrap-around error ~e^{−box/τ_c}). Maps: the first
        half-period tried (default from λ_max); the θ grid doubles until the series have
        decayed (``MAP_ALIASING``).

    Returns
    -------
    dict
        The observables schema (top level: population 0; ``populations`` when P > 1),
        ``response`` R_x(τ) = χ(τ) (R_x(0⁺) = 1; maps: R(k) = ∂u(n + k)/∂j(n), R(0) = 0,
        R(1) = 1), ``response_frequency`` {``omega``, ``values``} χ(ω) for ω ≥ 0 (maps:
        ω = θ/step up to π/step), ``lyapunov_max`` (:func:`kernel_lyapunov`; None with
        ``lyapunov_note`` for several populations) and ``branch``: ``"noise_driven"`` with
        noise, else ``"fixed_point"`` (a stable linear network without noise rests).

    Raises
    ------
    SolverInputError
        A nonlinear drift or non-affine site function, bad parameters (a map's leak per
        step outside (0, 2)).
    ConvergenceError
        When the linear network has no stationary state (1 − A f₁h₁|χ|² ≤ 0, λ_max ≥ 0 —
        for a map a spectral radius ≥ 1 —, or the mean-coupling outlier at λ ≥ 0).
    """
    _kernel_check(spec)
    if tau_max <= 0 or dtau <= 0 or step_max <= 0:
        raise SolverInputError(
            f"tau_max = {tau_max}, dtau = {dtau}, step_max = {step_max} must be positive"
        )
    means, corr, resp = _coefficients(spec)
    a = np.asarray(spec.leak, float)
    P = spec.size
    kappa = np.asarray(spec.response_coupling, float).reshape(P, -1).copy()
    for j, ((_, f1), (_, h1)) in enumerate(resp):
        kappa[:, j] *= f1 * h1
    populations = [t.population for t in spec.responses]
    exponent, note = kernel_lyapunov(spec, means, corr, resp)
    if exponent is not None and exponent >= 0:
        raise ConvergenceError(f"kernel runtime: the linear network is unstable (λ_max = "
                               f"{exponent:.6g} ≥ 0: no stationary state)")
    discrete = spec.step is not None
    chi0 = susceptibility(a, kappa, populations, np.zeros(1), discrete=discrete)[:, 0].real
    M = _means(spec, a, chi0, means, resp)
    plateau = _static(spec, chi0, M, corr)
    if discrete:
        step = float(spec.step)
        per, last = max(1, round(dtau / step)), math.floor(tau_max / step + 1e-9)
        chi, S, omega, delta, response, n = _map_series(spec, a, kappa, populations, corr,
                                                        exponent, last, box)
    else:
        step, per, n = _kernel_grid(tau_max, dtau, step_max, box, float(a.min()))
        omega = 2 * np.pi * fft.fftfreq(n, d=step)
        chi = susceptibility(a, kappa, populations, omega)
        S = _spectra(spec, chi, corr)
        delta, response = _to_time(spec, chi, S, omega, step, n)
        last = round(tau_max / dtau) * per
    _check_spectra(S, plateau)
    out = slice(0, last + 1, per)
    tau = step * np.arange(n // 2)[out]
    obs = [_kernel_observables(spec, p, M, plateau, delta, response, out) for p in range(P)]
    for o in obs:
        for key in ("autocorrelation", "autocorrelation_phi", "response"):
            o[key] = {"tau": tau, "values": o[key]}
    result = dict(obs[0])
    if P > 1:
        result["populations"] = dict(zip(spec.populations, obs, strict=True))
    positive = slice(0, n // 2)
    # maps: θ per step is ω = θ/step per unit of the model's time
    result["response_frequency"] = {"omega": omega[positive] / (step if discrete else 1.0),
                                    "values": chi[0, positive]}
    result["lyapunov_max"] = exponent
    if note is not None:
        result["lyapunov_note"] = note
    result["branch"] = "noise_driven" if np.any(np.asarray(spec.noise, float) > 0) else (
        "fixed_point")
    return result


# ----------------------------------------------------------------- registration


def applies_kernel(site) -> bool:
    """A linear site with a response kernel, every site function affine (partial symmetry
    of linear networks), in continuous time or a map."""
    if site.has_nonlinear_drift or not site.has_kernel:
        return False
    try:
        _coefficients(site)
    except ValueError:
        return False
    return True


@register_runtime("kernel", applies=applies_kernel, priority=80,
                  needs=lambda problem: problem.has_responses and problem.is_gaussian)
def solve_site_kernel(site, grid, options) -> dict:
    """:func:`solve_kernel`, the top level the whole network for several populations."""
    options = {"step_max": grid.step_max, **options}
    out = solve_kernel(site, tau_max=grid.tau_max, dtau=grid.dtau, **options)
    return network_level(site, out)
