r"""Parameter inference from recorded activity (issue 17; van Meegen, Kühn & Helias,
PRL 127, 158302 (2021), arXiv:2009.08889).

The model is derived as usual; its lowered ``site`` says, per population α, what drives a
unit: ∂_t x = −U'_α(x) + η_α + ξ with −U'_α(x) = −a_α x + r_α(x) (+ constants), white
noise of intensity D_α and the coupling input η_α, Gaussian with covariance
Σ_k A_αk C_k(t − s), C_k = ⟨f_k(x(t)) f_k(x(s))⟩ over the units of term k's population.
Hence, with connected spectra at ω > 0 (constant inputs and mean couplings drop out),

.. math::
    S_{\dot x + U'_\alpha(x)}(\omega) = D_\alpha + \sum_k A_{\alpha k}\, S_{f_k}(\omega),

the spectral relation of the paper (there in the form D + Σ_β f_β g²_αβ S_φβ, the
fraction f_β being part of the coefficient A). The coefficients are expressions in the
model's parameters (A = g² for SCS; f_β g²_αβ for ``ei``), so the parameters they hold — and
the noise intensity — are what the data determine; everything else (the single-unit
potential, φ, the population fractions, which the labels fix) is taken as known.

Estimators. The data are sampled every h: r_n = (x_{n+1} − x_n)/h + [U'(x_n) + U'(x_{n+1})]/2
is the box average over the step of η + ξ (up to O(h²)); f̄_n = [f(x_n) + f(x_{n+1})]/2
the trapezoid average, whose transfer function cos(ωh/2) differs from the box's
sinc(ωh/2): the regressors are multiplied by (sinc/cos)² and frequencies are kept to
ωh ≤ 1 (``omega_max``). The box average of white noise has the flat spectrum D. Spectra
are Welch estimates (Hann window, non-overlapping segments, each segment's mean removed;
the lowest bin next to it dropped) averaged over the units of a population.

* ``regression``: non-negative least squares of each population's residual spectrum on
  (1, S_f1, …) — the coefficients (D_α, A_αk) ≥ 0 — mapped to the parameters by least
  squares on the coefficient expressions.
* ``estimates``: the Whittle likelihood (periodogram ordinates exponentially distributed
  about the model spectrum) maximised over the parameters within their domains, started
  from the regression: the likelihood-weighted version. Its maximum is the model-comparison
  value ``minus_N_H`` = −N·H at the estimate: H the rate function of the empirical measure
  (a Kullback–Leibler divergence) evaluated on the data, up to a term that depends on the
  data only — the same for every model and parameter compared on one data set.

Standard errors: bootstrap over units (within each population; the default) or over time
segments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from scipy.optimize import least_squares, minimize, nnls

from fieldtheory.activity import Activity, load_activity
from fieldtheory.errors import ActionStructureError, DataFileError, ParameterError
from fieldtheory.ir.model import Model, load_model, require_dynamic
from fieldtheory.ir.parameters import parameter_values
from fieldtheory.jsonout import strict

__all__ = ["InferenceResult", "SeriesPrediction", "SpectralData", "infer", "predict_series"]

#: Shortest Welch segment (samples) and fewest segments the spectra need.
MIN_SEGMENT = 32
MIN_SEGMENTS = 4
#: Default longest segment (samples).
MAX_SEGMENT = 512
#: A population's fit uses the frequencies where its residual spectrum exceeds this
#: fraction of its maximum.
FLOOR = 1e-3
#: Units per chunk when the per-unit spectra are computed (bounds the memory).
CHUNK = 64
_MODULES = ["scipy", "numpy"]


@dataclass(frozen=True)
class InferenceResult:
    """Estimates of the parameters the data determine, with bootstrap standard errors."""

    model: str
    params: dict[str, float]
    N: int
    estimates: dict[str, float]
    estimates_stderr: dict[str, float]
    regression: dict[str, float]
    regression_stderr: dict[str, float]
    minus_N_H: float
    spectra: dict[str, Any]
    info: dict[str, Any]
    undefined: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return strict({
            "model": self.model, "params": dict(self.params), "N": self.N,
            "observables": {"spectra": self.spectra}, "stderr": {},
            "estimates": self.estimates, "estimates_stderr": self.estimates_stderr,
            "regression": self.regression, "regression_stderr": self.regression_stderr,
            "model_comparison": {"minus_N_H": self.minus_N_H, **self.info},
        }, dict(self.undefined))


@dataclass(frozen=True)
class SpectralData:
    """Per-unit and per-segment Welch spectra of the residuals and of the regressors.

    ``residual_units`` (units, F) and ``residual_segments`` (P, segments, F) — units
    averaged per population —; ``regressor_units`` (K, units, F), ``regressor_segments``
    (K, segments, F) over the units of each term's population (zero elsewhere);
    ``omega`` (F,).
    """

    omega: np.ndarray
    residual_units: np.ndarray
    residual_segments: np.ndarray
    regressor_units: np.ndarray
    regressor_segments: np.ndarray
    segments: int
    segment: int


class _Problem:
    """The model's side of the spectral relation, read off the lowered site."""

    def __init__(self, model: Model, values: dict[str, float], data: Activity) -> None:
        from fieldtheory.codegen.site import U
        from fieldtheory.derive import derive

        time = model.action.time
        if time.is_layered or time.is_discrete or time.is_zero_dimensional:
            raise ParameterError(f"infer: {model.name} is not a network in continuous time; "
                                 "the spectral relation is that of a Langevin equation")
        site = derive(model).site_problem()
        self.populations = tuple(s.population for s in site.sites)
        P = len(site.sites)
        labels = data.populations
        if labels.max() >= P:
            raise DataFileError(
                f"data {data.path}: population label {int(labels.max())}, but {model.name} "
                f"has {P} population(s) {list(self.populations)} (labels 0 … {P - 1})",
                path=data.path, key="populations")
        counts = np.bincount(labels, minlength=P)
        if np.any(counts < 2):
            alpha = int(np.argmin(counts))
            raise DataFileError(
                f"data {data.path}: population {self.populations[alpha]} (label {alpha}) "
                f"has {int(counts[alpha])} unit(s); the spectra need at least 2 per "
                f"population" + ("" if P == 1 or labels.any() else
                                 " — give the labels (key populations)"),
                path=data.path, key="populations")
        symbols = {p.name: p.symbol for p in model.parameters}
        values = dict(values)
        fraction_symbols = set().union(*(sp.sympify(f).free_symbols for f in site.fractions))
        if fraction_symbols:  # the population fractions are the data's
            equations = [sp.sympify(f) - sp.Rational(int(c), int(counts.sum()))
                         for f, c in zip(site.fractions[:-1], counts[:-1], strict=True)]
            solution = sp.solve(equations, sorted(fraction_symbols, key=str), dict=True)
            if len(solution) != 1:
                raise ParameterError(f"infer: cannot fix the population fractions "
                                     f"{list(site.fractions)} of {model.name} from the "
                                     f"labels' counts {counts.tolist()}")
            for sym, value in solution[0].items():
                values[str(sym)] = float(value)
                model.parameters[str(sym)].check(float(value))
        numbers = {symbols[k]: v for k, v in values.items()}
        for s in site.sites:
            for _, c in s.response_coefficients:
                if float(sp.sympify(c).subs(numbers)) != 0:
                    raise ParameterError(
                        f"infer: {model.name} has response kernels ({c} = "
                        f"{float(sp.sympify(c).subs(numbers)):g} at these parameters, e.g. "
                        "partial symmetry rho ≠ 0): the input is then no longer independent "
                        "of the unit's own past and the spectral relation does not hold")
        terms = site.correlations
        for term in terms:
            if term.right is None or sp.simplify(term.left - term.right) != 0:
                raise ActionStructureError(
                    f"infer: the input covariance term {term.name} = ⟨{term.left} · "
                    f"{term.right}⟩ pairs two different functions; the spectral regression "
                    "takes power spectra ⟨f f⟩ only")
        known = set()
        for s in site.sites:
            known |= (sp.sympify(s.leak).free_symbols | sp.sympify(s.nonlinear).free_symbols)
        for term in terms:
            known |= sp.sympify(term.left).free_symbols
        known |= fraction_symbols
        coefficient_exprs = []  # per population: (D, A_1 … A_K)
        for s in site.sites:
            A = dict(s.correlation_coefficients)
            coefficient_exprs.append([sp.sympify(s.noise)]
                                     + [sp.sympify(A.get(k, 0)) for k in range(len(terms))])
        free = set().union(*(e.free_symbols for row in coefficient_exprs for e in row))
        unknown = [p for p in model.parameters
                   if p.symbol in free and p.symbol not in known]
        if not unknown:
            raise ParameterError(f"infer: no parameter of {model.name} enters the input "
                                 "covariance or the noise alone: the data determine nothing")
        self.names = [p.name for p in unknown]
        fixed = {symbols[k]: v for k, v in values.items()
                 if k not in self.names}
        theta = [p.symbol for p in unknown]
        rows = [[e.subs(fixed) for e in row] for row in coefficient_exprs]
        self.active = [[k for k, e in enumerate(row) if e != 0] for row in rows]
        flat = [e for row in rows for e in row]
        self._coefficients = sp.lambdify(theta, flat, modules=_MODULES)
        jac = [[sp.diff(e, t) for t in theta] for e in flat]
        self._jacobian = sp.lambdify(theta, jac, modules=_MODULES)
        self.shape = (P, len(terms) + 1)
        self.squared = [self._enters_squared(p.symbol, flat) for p in unknown]
        self.bounds = [(max(p.domain.lower, 0.0) if self.squared[i] else p.domain.lower,
                        p.domain.upper) for i, p in enumerate(unknown)]
        self.start = np.array([values[n] for n in self.names], float)
        self.values = values
        subs = {symbols[k]: v for k, v in values.items()}
        self.drift = [sp.lambdify(U, sp.sympify(s.leak * U - s.nonlinear).subs(subs),
                                  modules=_MODULES) for s in site.sites]  # U'(u)
        self.term_functions = [sp.lambdify(U, sp.sympify(t.left).subs(subs), modules=_MODULES)
                               for t in terms]
        self.term_population = [self.populations.index(t.population) for t in terms]

    @staticmethod
    def _enters_squared(symbol, exprs) -> bool:
        square = sp.Dummy("square")
        return all(symbol not in e.subs(symbol**2, square).free_symbols for e in exprs)

    def coefficients(self, theta) -> np.ndarray:
        """(P, K + 1): per population (D_α, A_α1, …) at the unknown parameters θ."""
        return np.asarray(self._coefficients(*theta), float).reshape(self.shape)

    def jacobian(self, theta) -> np.ndarray:
        """(P, K + 1, n): derivatives of the coefficients in θ."""
        return np.asarray(self._jacobian(*theta), float).reshape(*self.shape, len(theta))


def _welch(signal: np.ndarray, segment: int, step: float) -> np.ndarray:
    """Hann-windowed periodograms, shape (units, segments, F), of ``signal`` (units, n):
    each segment's mean removed; normalised so that white noise of variance σ² has
    E = σ²·step."""
    units, n = signal.shape
    count = n // segment
    pieces = signal[:, :count * segment].reshape(units, count, segment)
    pieces = pieces - pieces.mean(axis=2, keepdims=True)
    window = np.hanning(segment + 2)[1:-1]
    spectrum = np.fft.rfft(pieces * window, axis=2)
    return step * np.abs(spectrum) ** 2 / np.sum(window**2)


def spectral_data(problem: _Problem, data: Activity, *, segment: int | None = None,
                  omega_max: float | None = None) -> SpectralData:
    """The residual and regressor spectra of ``data`` for ``problem``'s relation."""
    h = data.dt
    n = data.samples - 1  # residuals live on the steps
    if segment is None:
        segment = MAX_SEGMENT
        while segment > MIN_SEGMENT and n // segment < 8:
            segment //= 2
    segment = int(segment)
    if segment < MIN_SEGMENT or n // segment < MIN_SEGMENTS:
        raise DataFileError(
            f"data {data.path}: {data.samples} samples give {n // max(segment, 1)} "
            f"segment(s) of {segment}; the spectra need at least {MIN_SEGMENTS} segments "
            f"of at least {MIN_SEGMENT} samples ({MIN_SEGMENTS * MIN_SEGMENT + 1} samples)",
            path=data.path, key="x")
    omega = 2 * np.pi * np.fft.rfftfreq(segment, d=h)
    limit = 1.0 / h if omega_max is None else float(omega_max)
    keep = np.flatnonzero((np.arange(omega.size) >= 2) & (omega <= min(limit, np.pi / h)))
    if keep.size < 3:
        raise DataFileError(f"data {data.path}: only {keep.size} frequencies below "
                            f"omega_max = {limit:g} with segments of {segment} samples of "
                            f"{h:g}; use longer segments or a larger omega_max",
                            path=data.path, key="x")
    omega = omega[keep]
    half = omega * h / 2
    transfer = (np.sinc(half / np.pi) / np.cos(half)) ** 2  # box over trapezoid
    P, K = len(problem.populations), len(problem.term_functions)
    count = n // segment
    res_units = np.zeros((data.units, keep.size))
    res_segments = np.zeros((P, count, keep.size))
    reg_units = np.zeros((K, data.units, keep.size))
    reg_segments = np.zeros((K, count, keep.size))
    sizes = np.bincount(data.populations, minlength=P)
    for start in range(0, data.units, CHUNK):
        rows = slice(start, min(start + CHUNK, data.units))
        x = data.x[rows]
        labels = data.populations[rows]
        grad = np.empty_like(x)
        for alpha in range(P):
            mine = labels == alpha
            if mine.any():
                grad[mine] = np.broadcast_to(problem.drift[alpha](x[mine]), x[mine].shape)
        residual = np.diff(x, axis=1) / h + 0.5 * (grad[:, 1:] + grad[:, :-1])
        spectra = _welch(residual, segment, h)[:, :, keep]
        res_units[rows] = spectra.mean(axis=1)
        for alpha in range(P):
            res_segments[alpha] += spectra[labels == alpha].sum(axis=0) / sizes[alpha]
        pairs = zip(problem.term_functions, problem.term_population, strict=True)
        for k, (f, beta) in enumerate(pairs):
            mine = labels == beta
            if not mine.any():
                continue
            values = np.broadcast_to(f(x[mine]), x[mine].shape)
            averaged = 0.5 * (values[:, 1:] + values[:, :-1])
            spectra = _welch(averaged, segment, h)[:, :, keep] * transfer
            reg_units[k, rows][mine] = spectra.mean(axis=1)
            reg_segments[k] += spectra.sum(axis=0) / sizes[beta]
    return SpectralData(omega, res_units, res_segments, reg_units, reg_segments, count,
                        segment)


class _Fit:
    """Both estimators on population-averaged spectra (P, F) and regressors (K, F).

    ``mask`` (P, F): the frequencies each population's fit uses — where its residual
    spectrum is above :data:`FLOOR` of its maximum (below, the spectra are so small that
    the relation's O(h²) discretisation errors, not the data, would set a relative fit)."""

    def __init__(self, problem: _Problem, weight: np.ndarray, mask: np.ndarray) -> None:
        self.problem = problem
        # (P, F): units × segments per population (the Whittle counts) where used, else 0
        self.weight = weight[:, None] * mask
        self.mask = mask

    def design(self, regressors: np.ndarray) -> np.ndarray:
        """(K + 1, F): the flat noise column and the regressors."""
        return np.vstack([np.ones(regressors.shape[1]), regressors])

    def regression(self, residual, regressors) -> np.ndarray:
        X = self.design(regressors)
        target = np.zeros(self.problem.shape)
        for alpha, active in enumerate(self.problem.active):
            used = self.mask[alpha]
            coef, _ = nnls(X[active][:, used].T, residual[alpha, used])
            target[alpha, active] = coef
        p = self.problem
        lower = np.array([b[0] for b in p.bounds])
        upper = np.array([b[1] for b in p.bounds])
        start = np.clip(np.where(p.squared, np.maximum(p.start, 1e-3), p.start),
                        lower, upper)
        scale = np.maximum(np.abs(target), 1e-12)

        def resid(theta):
            return ((p.coefficients(theta) - target) / scale).ravel()

        def jac(theta):
            return (p.jacobian(theta) / scale[..., None]).reshape(-1, len(theta))

        fit = least_squares(resid, start, jac=jac, bounds=(lower, upper), xtol=1e-14,
                            ftol=1e-14, gtol=1e-14)
        return fit.x

    def model(self, theta, X) -> np.ndarray:
        return self.problem.coefficients(theta) @ X  # (P, F)

    def whittle(self, theta, residual, X) -> tuple[float, np.ndarray]:
        """−ln L per (unit × segment) weight and its gradient."""
        S = np.where(self.mask, self.model(theta, X), 1.0)
        if np.any(S <= 0):
            return np.inf, np.zeros(len(theta))
        value = float(np.sum(self.weight * (np.log(S) + residual / S)))
        dS = self.weight * (1 / S - residual / S**2)  # (P, F)
        grad = np.einsum("pf,kf,pkn->n", dS, X, self.problem.jacobian(theta))
        return value, grad

    def likelihood(self, residual, regressors, start) -> tuple[np.ndarray, float]:
        X = self.design(regressors)
        p = self.problem
        lower = np.array([b[0] for b in p.bounds])
        upper = np.array([b[1] for b in p.bounds])
        start = np.clip(start, lower, upper)
        if not np.isfinite(self.whittle(start, residual, X)[0]):  # a zero model spectrum
            start = np.clip(np.maximum(start, 1e-3), lower, upper)
        scale = max(1.0, float(np.sum(self.weight)))
        result = minimize(lambda t: tuple(v / scale for v in self.whittle(t, residual, X)),
                          start, jac=True, method="L-BFGS-B",
                          bounds=list(zip(lower, np.where(np.isfinite(upper), upper, None),
                                          strict=True)),
                          options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 500})
        return result.x, -self.whittle(result.x, residual, X)[0]

    def estimate(self, residual, regressors):
        theta0 = self.regression(residual, regressors)
        theta1, loglik = self.likelihood(residual, regressors, theta0)
        return theta0, theta1, loglik


def _population_means(spectral: SpectralData, data: Activity, problem: _Problem,
                      units=None):
    """(P, F) residual and (K, F) regressor spectra averaged over ``units`` (all): each
    regressor over the units of its term's population."""
    idx = np.arange(data.units) if units is None else units
    labels = data.populations[idx]
    residual = np.stack([spectral.residual_units[idx[labels == a]].mean(axis=0)
                         for a in range(len(problem.populations))])
    regressors = np.stack([
        reg[idx[labels == beta]].mean(axis=0)
        for reg, beta in zip(spectral.regressor_units, problem.term_population, strict=True)])
    return residual, regressors


def infer(model: Model | str, data, params: Mapping[str, float] | None = None, *,
          segment: int | None = None, omega_max: float | None = None,
          bootstrap: int = 200, resample: str = "units", seed: int = 0) -> InferenceResult:
    r"""Estimate the parameters of ``model`` that the recorded activity determines.

    Parameters
    ----------
    model : Model or str
    data : Activity, or the path of a data file (:mod:`fieldtheory.activity`)
    params : mapping, optional
        The known parameters (defaults otherwise; the estimated ones only start the fit).
    segment : int, optional
        Welch segment length in samples (default: up to 512, at least 8 segments).
    omega_max : float, optional
        Highest angular frequency used (default 1/dt).
    bootstrap : int
        Bootstrap replicates for the standard errors (0: none).
    resample : {"units", "time"}
        Resample units within their populations, or time segments.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    InferenceResult
        ``estimates`` (Whittle likelihood) and ``regression`` (non-negative least squares)
        by parameter name, with ``name^2`` for parameters that enter squared (g² of
        Var J = g²/N), their ``_stderr``, ``minus_N_H`` and the fitted ``spectra``.
    """
    require_dynamic(model, "infer")
    model = load_model(model)
    data = data if isinstance(data, Activity) else load_activity(data)
    if resample not in ("units", "time"):
        raise ParameterError(f"resample = {resample!r}; use 'units' or 'time'")
    bootstrap = int(bootstrap)
    if bootstrap < 0 or bootstrap == 1:
        raise ParameterError(f"bootstrap = {bootstrap}: use 0 (no errors) or at least 2")
    values = model.parameters.resolve(parameter_values(params))
    problem = _Problem(model, values, data)
    spectral = spectral_data(problem, data, segment=segment, omega_max=omega_max)
    P = len(problem.populations)
    counts = np.bincount(data.populations, minlength=P)
    residual, regressors = _population_means(spectral, data, problem)
    mask = residual >= FLOOR * residual.max(axis=1, keepdims=True)
    fit = _Fit(problem, counts * spectral.segments, mask)
    theta0, theta1, loglik = fit.estimate(residual, regressors)

    def named(theta) -> dict[str, float]:
        out = {}
        for name, value, squared in zip(problem.names, theta, problem.squared, strict=True):
            out[name] = float(value)
            if squared:
                out[f"{name}^2"] = float(value) ** 2
        return out

    estimates, regression = named(theta1), named(theta0)
    estimates_stderr = dict.fromkeys(estimates)
    regression_stderr = dict.fromkeys(regression)
    undefined = {}
    if bootstrap:
        rng = np.random.default_rng(seed)
        samples0, samples1 = [], []
        members = [data.members(a) for a in range(P)]
        for _ in range(bootstrap):
            if resample == "units":
                pick = np.concatenate([rng.choice(m, m.size) for m in members])
                r, x = _population_means(spectral, data, problem, pick)
            else:
                pick = rng.integers(0, spectral.segments, spectral.segments)
                r = spectral.residual_segments[:, pick].mean(axis=1)
                x = spectral.regressor_segments[:, pick].mean(axis=1)
            t0, t1, _ = fit.estimate(r, x)
            samples0.append(named(t0))
            samples1.append(named(t1))
        estimates_stderr = {k: float(np.std([s[k] for s in samples1], ddof=1))
                            for k in estimates}
        regression_stderr = {k: float(np.std([s[k] for s in samples0], ddof=1))
                             for k in regression}
    else:
        for key in estimates:
            undefined[f"/estimates_stderr/{key}"] = "bootstrap = 0: no standard errors"
            undefined[f"/regression_stderr/{key}"] = "bootstrap = 0: no standard errors"
    X = fit.design(regressors)
    fitted = fit.model(theta1, X)
    spectra = {"omega": spectral.omega.tolist(),
               "populations": {name: {"residual": residual[a].tolist(),
                                      "fit": fitted[a].tolist()}
                               for a, name in enumerate(problem.populations)},
               "regressors": regressors.tolist()}
    params_out = {**problem.values,
                  **{n: float(v) for n, v in zip(problem.names, theta1, strict=True)}}
    info = {"units": data.units, "samples": data.samples, "dt": data.dt,
            "segment": spectral.segment, "segments": spectral.segments,
            "frequencies": int(spectral.omega.size),
            "frequencies_used": mask.sum(axis=1).tolist(), "resample": resample,
            "bootstrap": bootstrap}
    return InferenceResult(model.name, params_out, data.units, estimates, estimates_stderr,
                           regression, regression_stderr, float(loglik), spectra, info,
                           undefined)


@dataclass(frozen=True)
class SeriesPrediction:
    """A unit's predicted future: times ``t`` (record time, 0 at its first sample), the
    predictive ``mean`` and ``variance``, and the recorded values ``observed`` where the
    record goes on past ``at`` (None beyond its end)."""

    model: str
    params: dict[str, float]
    unit: int
    at: float
    t: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    observed: list
    info: dict[str, Any]

    def to_json(self) -> dict:
        return strict({"model": self.model, "params": dict(self.params), "N": None,
                       "unit": self.unit, "at": self.at, "t": self.t.tolist(),
                       "mean": self.mean.tolist(), "variance": self.variance.tolist(),
                       "observed": self.observed, "info": self.info})


#: The smallest nugget added to the history covariance, relative to C(0).
JITTER = 1e-9


def predict_series(model: Model | str, data, unit: int, horizon: float,
                   params: Mapping[str, float] | None = None, *, at: float | None = None,
                   history: float | None = None, estimate: bool = True) -> SeriesPrediction:
    r"""Predict unit ``unit``'s activity after time ``at`` from its past, as a Gaussian
    process with the DMFT mean m and autocorrelation C(τ) of its population.

    With the recorded past y = x(t_i) − m on the ``history`` window before ``at``,

    .. math::
        E[x(t) \mid y] = m + k(t)^\top K^{-1} y, \qquad
        \mathrm{Var}[x(t) \mid y] = C(0) - k(t)^\top K^{-1} k(t),

    K_ij = C(t_i − t_j) (plus a nugget, see the code), k_i(t) = C(t − t_i). For a Gaussian
    site (linear drift) the DMFT makes x exactly a Gaussian process, and this is the best
    prediction from the unit's own past; for a non-Gaussian site (a nonlinear drift) it is
    the best linear one. The variance is the nugget at the observed time ``at`` and grows
    to C(0) with the horizon.

    ``estimate``: the parameters are first inferred from the data (:func:`infer`, the
    likelihood estimate), else ``params`` (with defaults) are used as they are. ``at``:
    record time at which the prediction starts (default: the last sample); ``history``:
    the length of the past used (default: where C has decayed to 10⁻³ C(0), at most
    400 samples, at most the record before ``at``).
    """
    require_dynamic(model, "predict-series")
    from fieldtheory.solve import solve

    model = load_model(model)
    data = data if isinstance(data, Activity) else load_activity(data)
    if not (0 <= int(unit) < data.units) or int(unit) != unit:
        raise ParameterError(f"unit = {unit}: the data hold units 0 … {data.units - 1}")
    unit = int(unit)
    horizon = float(horizon)
    if not (np.isfinite(horizon) and horizon > 0):
        raise ParameterError(f"horizon = {horizon:g} must be a positive time")
    h = data.dt
    end = (data.samples - 1) * h
    at = end if at is None else float(at)
    if not (0 < at <= end + 1e-9 * h):
        raise ParameterError(f"at = {at:g} must lie in the record (0, {end:g}]")
    start = round(at / h)
    values = model.parameters.resolve(parameter_values(params))
    if estimate:
        values.update(infer(model, data, params, bootstrap=0).params)
    steps = int(np.ceil(horizon / h))
    limit = history if history is not None else 400 * h
    lags = round(limit / h) + steps + 1
    theory = solve(model, values, tau_max=lags * h, dtau=h)
    population = theory.observables
    alpha = int(data.populations[unit])
    if population.get("populations"):
        name = list(population["populations"])[alpha]
        population = population["populations"][name]
    curve = population["autocorrelation"]
    tau, C = np.asarray(curve["tau"], float), np.asarray(curve["values"], float)
    mean = float(population["mean"])
    if history is None:  # where C has decayed to 10⁻³ C(0), at most 400 samples
        below = np.flatnonzero(np.abs(C) < 1e-3 * C[0])
        limit = min(400 * h, tau[below[0]] if below.size else tau[-1] - horizon)
    past = max(1, min(round(limit / h), start))
    times = np.arange(start - past, start + 1) * h
    future = (start + np.arange(steps + 1)) * h

    def cov(a, b):
        return np.interp(np.abs(a[:, None] - b[None, :]), tau, C)

    # K by its eigen-decomposition plus a nugget: JITTER·C(0) (a smooth C sampled densely
    # is numerically singular), or, where the sampled C is no covariance — its lowest
    # eigenvalue −ε·C(0), e.g. lattice noise of a runtime — 10ε·C(0): the model's own
    # accuracy, below which the past carries no information the theory can use. Both are
    # reported in ``info``; the predictive variance at the observed time is the nugget.
    eigenvalues, vectors = np.linalg.eigh(cov(times, times))
    lowest = float(eigenvalues.min() / C[0])
    nugget = max(JITTER, -10.0 * lowest)
    factor = vectors / np.sqrt(np.maximum(eigenvalues, 0.0) + nugget * C[0])
    y = data.x[unit, start - past:start + 1] - mean
    k = cov(times, future)
    w = factor.T @ k
    alpha_ = factor.T @ y
    mean_out = mean + w.T @ alpha_
    variance = np.clip(C[0] - np.sum(w * w, axis=0), 0.0, None)
    observed = [float(data.x[unit, start + j]) if start + j < data.samples else None
                for j in range(steps + 1)]
    info = {"history": past * h, "history_samples": past + 1, "mean": mean,
            "lowest_eigenvalue": lowest, "nugget": nugget,
            "variance_limit": float(C[0]), "estimated": bool(estimate),
            "population": alpha}
    return SeriesPrediction(model.name, {k: float(v) for k, v in values.items()}, unit,
                            at, future, mean_out, variance, observed, info)
