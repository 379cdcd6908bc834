r"""The sampled single site of the Monte-Carlo runtime: its grid, order parameters, one
sweep of the site's SDE over all replicas and paths (with the tangent dynamics that gives
the response) and the estimates from the recorded paths.

Self-contained (numpy, scipy and the standard library; inlined by the code generator with
the runtime that imports it). The equations and the scheme are in the docstring of
:mod:`~fieldtheory.solvers.runtime.monte_carlo` (steps 1–4 of one iteration).
"""

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "OrderParameters",
    "SampleGrid",
    "SampledSite",
    "check_monte_carlo",
    "derivative_or_difference",
    "estimate_order",
    "initial_order",
    "sample_grid",
    "sample_inputs",
    "sample_sweep",
    "path_floors",
    "sampled_observables",
    "site_centre",
    "site_statistics",
]

from fieldtheory.solvers.runtime.common import (  # inlined by the code generator
    SiteSpec,
    SolverInputError,
)
from fieldtheory.solvers.runtime.monte_carlo_paths import (  # inlined by the code generator
    circulant_sample,
    lag_products,
)
from fieldtheory.solvers.runtime.quadrature import (  # inlined by the code generator
    gaussian_mean,
)


@dataclass(frozen=True)
class SampleGrid:
    """Time grid: step ``dt``, ``per`` steps per output lag, ``window`` estimation lags;
    ``replicas`` independent solutions of ``paths`` paths each. ``discrete``: a map, whose
    steps are the model's (``dt`` its step)."""

    dt: float
    per: int
    outputs: int
    window: int
    burn: int
    record: int
    replicas: int
    paths: int
    discrete: bool = False


@dataclass(frozen=True)
class OrderParameters:
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


def derivative_or_difference(f, df):
    """df, or a central difference of f when df is None."""
    if df is not None:
        return df
    eps = 1e-6
    return lambda x: (f(x + eps) - f(x - eps)) / (2 * eps)


def check_monte_carlo(spec: SiteSpec, tau_max: float, dtau: float, paths: int, replicas: int):
    if spec.step is not None and spec.dressings:
        raise SolverInputError(
            "monte_carlo runtime: correlated random modes (a resummed dressing) are "
            "continuous-time only; this site is a map")
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


def sample_grid(spec, tau_max, dtau, dt, t_record, t_burn, window, replicas, paths) -> SampleGrid:
    """The grid in the model's time: continuous time, a step ≤ ``dt`` dividing ``dtau``; a
    map, its own step (``dt`` unused), every round(dtau/step)-th lag an output."""
    if spec.step is None:
        per = max(math.ceil(dtau / dt - 1e-9), 1)
        step = dtau / per
        outputs = round(tau_max / dtau)
    else:
        step = float(spec.step)
        per = max(1, round(dtau / step))
        outputs = math.floor(tau_max / step + 1e-9) // per
    if float(np.min(spec.leak)) == 0 and (window is None or t_burn is None):
        raise SolverInputError("with a zero leak give window and t_burn (no time scale to infer)")
    # the slowest relaxation time of an isolated unit, in model time (a map's leak is per step)
    slowest = (1.0 if spec.step is None else step) / max(float(np.min(spec.leak)), 1e-300)
    window = max(tau_max, 30.0 * slowest) if window is None else max(window, tau_max)
    lags = round(window / step)
    t_burn = max(10.0 * slowest, window) if t_burn is None else t_burn
    record = max(round(t_record / step), 2 * lags)
    return SampleGrid(step, per, outputs, lags, round(t_burn / step), record, replicas, paths,
                      spec.step is not None)


def site_centre(spec: SiteSpec) -> np.ndarray:
    """I/a per population (0 where a = 0): the start of the paths and of the guess."""
    a = np.asarray(spec.leak, float)
    return np.where(a > 0, np.asarray(spec.offset, float) / np.where(a > 0, a, 1.0), 0.0)


def initial_order(spec: SiteSpec, grid: SampleGrid,
                  start: str | tuple = "dynamic") -> OrderParameters:
    r"""Gaussian guess: x ~ N(I/a, 1) with correlation e^{−|τ|}, R_f(τ) = ⟨f'⟩e^{−aτ}.

    ``start="static"``: every correlation flat at its equal-time value ⟨f h⟩ — all of the
    input quenched (each path a unit with its own constant field), the start from which
    the iteration reaches a frozen branch where one coexists with a fluctuating one.
    ``start=(means, correlations, responses)``, arrays of shapes (L,), (K, W + 1),
    (J, W + 1) on this grid: that guess for every replica (to continue from a solution)."""
    width, B = grid.window + 1, grid.replicas
    if not isinstance(start, str):
        parts = [np.asarray(a, float) for a in start]
        shapes = [(len(spec.means),), (len(spec.correlations), width),
                  (len(spec.responses), width)]
        if len(parts) != 3 or any(a.shape != sh for a, sh in zip(parts, shapes, strict=True)):
            raise SolverInputError(
                f"start: arrays of shapes {shapes} expected, got "
                f"{[a.shape for a in parts]}")
        return OrderParameters(*(np.tile(a, (B,) + (1,) * a.ndim) for a in parts))
    if start not in ("dynamic", "static"):
        raise SolverInputError(f"start = {start!r}: 'dynamic', 'static' or a guess")
    tau = grid.dt * np.arange(grid.window + 1)
    centre = site_centre(spec)

    def mean(f, p):
        return float(gaussian_mean(f, float(centre[p]), 1.0))

    means = np.array([mean(t.left, t.population) for t in spec.means])
    corr = []
    for t in spec.correlations:
        ef, eh = mean(t.left, t.population), mean(t.right, t.population)
        efh = mean(lambda x, t=t: t.left(x) * t.right(x), t.population)
        decay = np.exp(-tau) if start == "dynamic" else np.ones_like(tau)
        corr.append(ef * eh + (efh - ef * eh) * decay)
    if grid.discrete:  # R(0) = 0, R(l) = ⟨f'⟩ b^{l−1}: the isolated map's response
        lag = np.arange(grid.window + 1)
        decay = [np.where(lag > 0, (1.0 - float(a)) ** np.maximum(lag - 1, 0), 0.0)
                 for a in spec.leak]
    else:
        decay = [np.exp(-float(a) * tau) for a in spec.leak]
    resp = [
        mean(derivative_or_difference(t.left, t.dleft), t.population) * decay[t.population]
        for t in spec.responses
    ]
    return OrderParameters(
        np.tile(means, (B, 1)),
        np.tile(np.reshape(corr, (1, -1, width)), (B, 1, 1)),
        np.tile(np.reshape(resp, (1, -1, width)), (B, 1, 1)),
    )


# --------------------------------------------------------------------------- one sweep


class SampledSite:
    """Vectorised single-site dynamics over (P, replicas, paths): drift, kernel, tangent."""

    def __init__(self, spec: SiteSpec, grid: SampleGrid, order: OrderParameters):
        a = np.asarray(spec.leak, dtype=float)[:, None, None]
        D = np.asarray(spec.noise, dtype=float)[:, None, None]
        h = grid.dt
        self.discrete = grid.discrete
        if grid.discrete:  # the map itself: x(n+1) = (1 − a)x + r(x) + F + √D ξ
            self.decay, self.phi1, self.sigma = 1.0 - a, np.ones_like(a), np.sqrt(D)
        else:
            self.decay = np.exp(-a * h)
            safe = np.where(a > 0, a, 1.0)  # a → 0: φ₁ → h, variance → D h
            self.phi1 = np.where(a > 0, -np.expm1(-a * h) / safe, h)
            self.sigma = np.sqrt(D * np.where(a > 0, -np.expm1(-2 * a * h) / (2 * safe), h))
        coupling = np.asarray(spec.mean_coupling, float).reshape(spec.size, -1)
        self.mu = (np.asarray(spec.offset, float)[:, None] + coupling @ order.means.T)[:, :, None]
        self.slopes = [
            derivative_or_difference(r, dr) if r is not None else None
            for r, dr in zip(spec.nonlinear, spec.dnonlinear, strict=True)
        ]
        self.before_y = 0.0  # the tangent's memory at the previous step (Adams–Bashforth)
        kappa = np.asarray(spec.response_coupling, float).reshape(spec.size, -1)
        self.kernel = [
            (
                j,
                kappa[:, j][:, None, None],
                np.ascontiguousarray(kernel_weights(spec, grid, order, j)[:, ::-1, None]),
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
        trapezoidal rule (half weights at both ends; zero for k = start). A map: the sum
        Σ_j κ_j Σ_l R_j(l) H_j(k − l) over the same range (R_j(0) = 0)."""
        total = 0.0
        for j, kappa, reverse in self.kernel:
            L = reverse.shape[1] - 1
            lo = max(start, k - L)
            part = (history[j][..., lo : k + 1] @ reverse[:, L - (k - lo) :])[..., 0]
            if k - start < L and not self.discrete:  # the lower end is the kick: half weight
                part = part - 0.5 * reverse[:, L - (k - start), 0][:, None] * history[j][..., start]
            total = total + kappa * part
        return total


def memory_weights(grid: SampleGrid, responses: np.ndarray) -> np.ndarray:
    """Trapezoidal weights dt·w_l·R(l dt) of the memory sum over the window (last axis);
    a map's sum has the weights R(l) themselves."""
    if grid.discrete:
        return np.array(responses, dtype=float)
    weights = np.ones(grid.window + 1)
    weights[[0, -1]] = 0.5
    return grid.dt * weights * responses


def kernel_weights(spec: SiteSpec, grid: SampleGrid, order: OrderParameters,
                   j: int) -> np.ndarray:
    """(B, W + 1) memory weights of response term j's kernel: R_j's own, or the resolvent
    K[R_j] where a correlated-mode dressing acts on it (:class:`ModeDressing`)."""
    for dressing in spec.dressings:
        if j in dressing.targets[1]:
            mixed = _dressed_response(grid, order.responses, dressing)
            return np.array([dressing.kernel(row) for row in mixed])
    return memory_weights(grid, order.responses[:, j])


def _dressed_response(grid: SampleGrid, responses: np.ndarray, dressing) -> np.ndarray:
    """The memory weights of the response the modes see, Σ w R_j (one term, or a mixture
    of sites' node terms), per replica: (B, W + 1) for ``responses`` (B, J, W + 1)."""
    return sum(w * memory_weights(grid, responses[:, j]) for j, w in dressing.sums[1])


def input_covariances(spec: SiteSpec, grid: SampleGrid, order: OrderParameters,
                      b: int) -> np.ndarray:
    """Replica b's correlation curves (K, W + 1) as the input sees them: dressed where a
    correlated-mode dressing acts (S[C_k, R_j], :class:`ModeDressing`)."""
    curves = order.correlations[b]
    if not spec.dressings:
        return curves
    curves = curves.copy()
    for d in spec.dressings:
        weights = _dressed_response(grid, order.responses[b : b + 1], d)[0]
        seen = sum(w * order.correlations[b, k] for k, w in d.sums[0])
        dressed = d.noise(seen, weights)
        for k in d.targets[0]:
            curves[k] = dressed
    return curves


def sample_inputs(spec: SiteSpec, grid: SampleGrid, order: OrderParameters, rng, n: int):
    """η (P, B, paths, n + 1) per replica's covariance Σ_k A_αk C_k, and the clipped weight."""
    P, B = spec.size, grid.replicas
    coupling = np.asarray(spec.correlation_coupling, float).reshape(P, -1)
    eta = np.zeros((P, B, grid.paths, n + 1))
    clipped = 0.0
    for p in range(P):
        for b in range(B):
            if spec.correlations and np.any(coupling[p] != 0):
                eta[p, b], c = circulant_sample(
                    rng, coupling[p] @ input_covariances(spec, grid, order, b), n + 1,
                    grid.paths
                )
                clipped = max(clipped, c)
    return eta, clipped


def tangent_step(site, spec, tangent, slopes_h, x, guess, y, k, kick, nonlinear):
    """y_{k+1} = ∂x_{k+1}/∂x_kick: the exact derivative of the Heun step (memory by AB2).
    A map: y_{k+1} = ∂x_{k+1}/∂j_kick, the derivative of the map with the unit source of
    the kick's step (y_kick = 0)."""
    for j in tangent:
        tangent[j][..., k] = site.apply(slopes_h[j], x) * y
    feedback = 0.0
    if site.kernel:
        now = site.memory(tangent, k, kick)
        feedback = 1.5 * now - 0.5 * site.before_y if k > kick and not site.discrete else now
        site.before_y = now
    slope = site.apply(site.slopes, x)
    if site.discrete:
        source = 1.0 if k == kick else 0.0
        return site.decay * y + slope * y + feedback + source
    if not nonlinear:
        return site.decay * y + site.phi1 * feedback
    y_guess = site.decay * y + site.phi1 * (slope * y + feedback)
    slope_guess = site.apply(site.slopes, guess)
    return site.decay * y + site.phi1 * (0.5 * (slope * y + slope_guess * y_guess) + feedback)


def sample_sweep(spec: SiteSpec, grid: SampleGrid, order: OrderParameters, rng, slopes=(),
                 paths_from: str = "random"):
    """One run at fixed order parameters: record (P, B, paths, n), response means, clipped,
    and ⟨f'(x(t)) y(t)⟩ — the response R_f of f(x) — for every f' in ``slopes``
    (shape (len(slopes), P, window + 1, B, paths)).

    ``paths_from``: each path starts at x(0) ~ N(I/a, 1) (``"random"``) or at
    (I + η(0))/a, where the leak alone would hold it against its input (``"input"``; I/a
    where a = 0) — for multistable units, the well on the side of the input, the state
    the noise would equilibrate to given time (a static input is then followed from the
    start)."""
    P, B, m = spec.size, grid.replicas, grid.paths
    site = SampledSite(spec, grid, order)
    n = grid.burn + grid.record
    eta, clipped = sample_inputs(spec, grid, order, rng, n)
    x = site_centre(spec)[:, None, None] + rng.standard_normal((P, B, m))
    if paths_from == "input":
        a = np.asarray(spec.leak, float)[:, None, None]
        x = site_centre(spec)[:, None, None] + np.where(a > 0, eta[..., 0]
                                                         / np.where(a > 0, a, 1.0), 0.0)
    elif paths_from != "random":
        raise SolverInputError(f"paths_from = {paths_from!r}: 'random' or 'input'")
    noise = rng.standard_normal((n, P, B, m)) if np.any(site.sigma > 0) else np.zeros(n)
    shape = (P, B, m, n + 1)
    hist = {j: np.zeros(shape) for j, _, _ in site.kernel}
    tangent = {j: np.zeros(shape) for j, _, _ in site.kernel}
    rights = {j: [spec.responses[j].right] * P for j in hist}
    slopes_h = {
        j: [derivative_or_difference(spec.responses[j].right, spec.responses[j].dright)] * P
        for j in hist
    }
    gains = [derivative_or_difference(t.left, t.dleft) for t in spec.responses]
    record = np.empty((P, B, m, grid.record + 1))
    span = grid.window + 1
    resp = np.zeros((len(spec.responses), span, B, m))
    resp_x = np.zeros((P, span, B, m))
    resp_f = np.zeros((len(slopes), P, span, B, m))
    counts = np.zeros(span)
    y, kick = np.zeros((P, B, m)), 0
    nonlinear = spec.has_nonlinear_drift
    before = 0.0
    for k in range(n + 1):
        if k >= grid.burn:
            record[..., k - grid.burn] = x
            if (k - grid.burn) % span == 0:  # a map's kick is a source in this step
                y[:], kick = (0.0 if site.discrete else 1.0), k
            counts[k - kick] += 1
            resp_x[:, k - kick] += y
            for e, slope in enumerate(slopes):
                resp_f[e, :, k - kick] += slope(x) * y
            for j, term in enumerate(spec.responses):
                resp[j, k - kick] += gains[j](x[term.population]) * y[term.population]
        if k == n:
            break
        drift = site.mu + (eta[..., k] if site.discrete else 0.5 * (eta[..., k] + eta[..., k + 1]))
        for j in hist:
            hist[j][..., k] = site.apply(rights[j], x)
        if site.kernel:
            # Adams–Bashforth 2 for the memory over [t_k, t_k+1]: second order in dt (a map
            # takes the sum at k itself)
            now = site.memory(hist, k, 0)
            drift = drift + (1.5 * now - 0.5 * before if k > 0 and not site.discrete else now)
            before = now
        if site.discrete:  # the map: x(n+1) = (1 − a)x + r(x) + F + √D ξ
            if k >= grid.burn:
                y = tangent_step(site, spec, tangent, slopes_h, x, x, y, k, kick, nonlinear)
            x = (site.decay * x + site.apply(spec.nonlinear, x) + drift
                 + site.sigma * noise[k])
            continue
        # Heun for r (predictor x̃, same noise): weak order 2 for additive noise
        base = site.decay * x + site.sigma * noise[k]
        force = site.apply(spec.nonlinear, x)
        guess = base + site.phi1 * (force + drift)
        force_guess = site.apply(spec.nonlinear, guess) if nonlinear else force
        if k >= grid.burn:
            y = tangent_step(site, spec, tangent, slopes_h, x, guess, y, k, kick, nonlinear)
        x = base + site.phi1 * (0.5 * (force + force_guess) + drift)
    out = (record, resp / counts[:, None, None], resp_x / counts[:, None, None], clipped)
    if slopes:
        return (*out, resp_f / counts[:, None, None])
    return out


# --------------------------------------------------------------------------- estimates


def estimate_order(spec: SiteSpec, grid: SampleGrid, record, responses) -> OrderParameters:
    """Every order parameter per replica (path means of f_l, C_k by FFT, R_j)."""
    means = [t.left(record[t.population]).mean(axis=(-1, -2)) for t in spec.means]
    corr = [
        lag_products(t.left(record[t.population]), t.right(record[t.population]), grid.window).mean(
            axis=1
        )
        for t in spec.correlations
    ]
    width, B = grid.window + 1, grid.replicas
    return OrderParameters(
        np.reshape(means, (-1, B)).T,
        np.moveaxis(np.reshape(corr, (-1, B, width)), 0, 1),
        np.moveaxis(responses.mean(axis=-1), 2, 0).reshape(B, -1, width),
    )


def path_floors(estimates: dict) -> dict:
    r"""The sampling error of each replica-mean observable from the scatter of its per-path
    estimates, ``estimates`` {key: (B, paths, ...)}: √(mean_b Var_b / (B · paths)), per
    component of the trailing axes (a curve's lags).

    The paths of a sweep are independent units given the order parameters (their inputs
    are independent draws of one covariance), so a path's time average — of x, of a lag
    product, of the tangent after its kicks — is one independent sample, and the scatter
    over B·paths − 1 degrees of freedom is the error of their mean without any model of
    the time correlations along a path. The replicas' scatter (B − 1 degrees of freedom)
    is the error that includes the self-consistency's amplification, but with few
    replicas it is very uncertain, with a long tail towards small values; the paths'
    error (no amplification) is a floor without that tail. Measured on a linear site of
    mean 0, 64 paths × 4 replicas: over 12 seeds the means scatter by 0.0069 and the
    replicas' errors are 0.0058 in rms, but seed 4 gave −0.0050 ± 0.00053 (its paths:
    ± 0.006)."""
    out = {}
    for key, a in estimates.items():
        a = np.asarray(a, dtype=float)
        spread = np.sqrt(a.var(axis=1, ddof=1).mean(axis=0) / (a.shape[0] * a.shape[1]))
        out[key] = float(spread) if spread.ndim == 0 else spread
    return out


def sampled_observables(spec: SiteSpec, grid: SampleGrid, record,
                        response_x) -> tuple[list[dict], list[dict]]:
    """Per-replica estimates (B, ...) of the schema observables, one dict per population,
    and per population the floors of their errors from the per-path estimates
    (:func:`path_floors`: the path means, the variance, both autocorrelations and the
    response)."""
    out, floors = [], []
    every = slice(0, grid.outputs * grid.per + 1, grid.per)
    lags = grid.outputs * grid.per
    for p in range(spec.size):
        x = record[p]
        phi = np.broadcast_to(spec.phi[p](x), x.shape)
        per_path = {"mean": x.mean(axis=-1), "mean_phi": phi.mean(axis=-1),
                    "mean_gain": np.broadcast_to(spec.dphi[p](x), x.shape).mean(axis=-1)}
        m = per_path["mean"].mean(axis=-1)[:, None, None]
        m_phi = per_path["mean_phi"].mean(axis=-1)[:, None, None]
        per_path["autocorrelation"] = lag_products(x - m, x - m, lags)[..., every]
        per_path["autocorrelation_phi"] = lag_products(phi - m_phi, phi - m_phi,
                                                       lags)[..., every]
        per_path["variance"] = per_path["autocorrelation"][..., 0]
        per_path["response"] = np.moveaxis(response_x[p], 0, -1)[..., every]  # (B, paths, τ)
        out.append({key: per_path[key].mean(axis=1) for key in
                    ("mean", "variance", "autocorrelation", "mean_phi",
                     "autocorrelation_phi", "mean_gain", "response")})
        floors.append(path_floors(per_path))
    return out, floors


def site_statistics(spec: SiteSpec, grid: SampleGrid, record, response_x, response_f,
                    functions: dict) -> list[dict]:
    r"""Per population, per replica, the sampled site's two-point functions (what the
    sampled-site fluctuation runtime takes,
    :mod:`~fieldtheory.solvers.runtime.fluctuations_sampled`).

    ``functions``: {label: (f, f')} besides x itself. Returned per population:
    ``correlations`` {(P, Q): (B, 2W + 1)} the connected G_PQ(τ) = ⟨P(t + τ)Q(t)⟩ −
    ⟨P⟩⟨Q⟩ at τ = −W dt … W dt for every ordered pair of x and the functions (a
    non-Gaussian site need not be time-reversal symmetric: G_PQ(τ) ≠ G_PQ(−τ));
    ``responses`` {P: (B, W + 1)} R_P(τ) = ⟨P'(x(t + τ)) y(t + τ)⟩ after a kick at t;
    ``slope_products`` {(P, Q): (B,)} ⟨P'Q'⟩, which fixes the kink of G_PQ at τ = 0 that a
    white noise D puts there (its even part has slope −D⟨P'Q'⟩/2 at 0⁺); ``means``
    {P: (B,)}; ``step`` dt (a map: 1, its lags counted in steps), ``discrete``, ``noise``
    D, ``leak`` a.
    """
    labels = ["x", *functions]
    W = grid.window
    out = []
    for p in range(spec.size):
        x = record[p]
        series = {"x": x, **{k: f(x) for k, (f, _) in functions.items()}}
        slopes = {"x": np.ones_like(x)}
        for k, (f, df) in functions.items():
            slopes[k] = derivative_or_difference(f, df)(x)
        means = {k: v.mean(axis=(-1, -2)) for k, v in series.items()}
        centred = {k: v - means[k][:, None, None] for k, v in series.items()}
        forward = {(a, b): lag_products(centred[b], centred[a], W, symmetric=False).mean(axis=1)
                   for a in labels for b in labels}
        correlations = {(a, b): np.concatenate([forward[b, a][:, :0:-1], forward[a, b]],
                                               axis=1)
                        for a in labels for b in labels}
        responses = {"x": response_x[p].mean(axis=-1).T}
        for e, k in enumerate(functions):
            responses[k] = response_f[e, p].mean(axis=-1).T
        products = {(a, b): (slopes[a] * slopes[b]).mean(axis=(-1, -2))
                    for a in labels for b in labels}
        out.append({"correlations": correlations, "responses": responses,
                    "slope_products": products, "means": means,
                    "step": 1.0 if grid.discrete else grid.dt, "discrete": grid.discrete,
                    "noise": float(np.asarray(spec.noise, float)[p]),
                    "leak": float(np.asarray(spec.leak, float)[p])})
    return out
