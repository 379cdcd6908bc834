"""Theory against simulation: z-scores per observable, with the simulation's own errors.

:func:`compare` takes the observables of a theory (any subset of the schema in
:mod:`fieldtheory.observables`) and of a simulation with its standard errors, and returns a
:class:`Report`: one :class:`Comparison` per scalar and per point of every curve present in
both, with z = (simulation − theory)/stderr. Curves of the theory are interpolated onto the
simulation's grid (linearly; a theory grid that does not cover it is refused). A report
passes when every |z| ≤ ``threshold`` (4 by default: with ~100 compared numbers, a correct
theory fails by chance with probability ≈ 100 · 6·10⁻⁵).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from fieldtheory.errors import ArgumentTypeError, MissingDependencyError, ParameterError
from fieldtheory.ir.checks import describe
from fieldtheory.ir.model import require_dynamic
from fieldtheory.jsonout import strict
from fieldtheory.observables import CURVE_KEYS, SCALAR_KEYS

__all__ = ["VERIFY_DEFAULTS", "Comparison", "Report", "compare", "plot_report", "verify"]


@dataclass(frozen=True)
class Comparison:
    """One compared number; ``at`` is the grid point of a curve (None for a scalar)."""

    observable: str
    at: float | None
    theory: float
    simulation: float
    stderr: float

    @property
    def z(self) -> float:
        difference = self.simulation - self.theory
        if self.stderr > 0:
            return difference / self.stderr
        return 0.0 if difference == 0 else math.copysign(math.inf, difference)


@dataclass(frozen=True)
class Report:
    """All comparisons of one theory with one simulation."""

    comparisons: tuple[Comparison, ...]
    threshold: float = 4.0

    @property
    def max_abs_z(self) -> float:
        return max((abs(c.z) for c in self.comparisons), default=0.0)

    @property
    def passed(self) -> bool:
        """Every |z| ≤ threshold (a NaN z, from a NaN value or error, fails)."""
        return bool(self.comparisons) and all(abs(c.z) <= self.threshold
                                              for c in self.comparisons)

    def worst(self) -> dict[str, Comparison]:
        """Per observable, the comparison with the largest |z|."""
        out: dict[str, Comparison] = {}
        for c in self.comparisons:
            if c.observable not in out or abs(c.z) > abs(out[c.observable].z):
                out[c.observable] = c
        return out

    def table(self) -> str:
        """One line per observable (its worst point for a curve), then the verdict."""
        lines = [f"{'observable':<28}{'at':>8}{'theory':>13}{'simulation':>13}"
                 f"{'stderr':>11}{'z':>8}"]
        for name, c in self.worst().items():
            at = "" if c.at is None else f"{c.at:.3g}"
            lines.append(f"{name:<28}{at:>8}{c.theory:>13.6g}{c.simulation:>13.6g}"
                         f"{c.stderr:>11.3g}{c.z:>8.2f}")
        verdict = "PASS" if self.passed else "FAIL"
        lines.append(f"{verdict}: max |z| = {self.max_abs_z:.2f} over "
                     f"{len(self.comparisons)} numbers (threshold {self.threshold:g})")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Strict JSON (a non-finite z or value is null, with a reason)."""
        return strict({
            "passed": self.passed,
            "max_abs_z": self.max_abs_z,
            "threshold": self.threshold,
            "comparisons": [
                {"observable": c.observable, "at": c.at, "theory": c.theory,
                 "simulation": c.simulation, "stderr": c.stderr, "z": c.z}
                for c in self.comparisons
            ],
        })


def compare(theory: Mapping[str, Any], simulation: Mapping[str, Any],
            stderr: Mapping[str, Any], threshold: float = 4.0) -> Report:
    """Compare every observable present in both ``theory`` and ``simulation``.

    Parameters
    ----------
    theory, simulation, stderr
        Observables (or their ``to_dict()`` forms); ``stderr`` has the simulation's keys.
    threshold
        Largest |z| a passing report may contain.
    """
    if threshold <= 0:
        raise ParameterError(f"threshold = {threshold:g} must be positive")
    return Report(tuple(_compare(theory, simulation, stderr, "")), float(threshold))


def _compare(theory, simulation, stderr, prefix: str) -> list[Comparison]:
    rows: list[Comparison] = []
    for key in SCALAR_KEYS:
        if key in theory and key in simulation:
            rows.append(Comparison(prefix + key, None, float(theory[key]),
                                   float(simulation[key]), float(stderr[key])))
    for key, axis in CURVE_KEYS.items():
        if key in theory and key in simulation:
            rows += _compare_curve(prefix + key, axis, theory[key], simulation[key], stderr[key])
    if "population_variance" in theory and "population_variance" in simulation:
        for name, value in theory["population_variance"].items():
            if name in simulation["population_variance"]:
                rows.append(Comparison(f"{prefix}population_variance/{name}", None,
                                       float(value),
                                       float(simulation["population_variance"][name]),
                                       float(stderr["population_variance"][name])))
    for key, axis in (("kernel", "layers"), ("kernel_cross", "times")):
        if key in theory and key in simulation:  # layered networks: entry by entry
            rows += _compare_array(prefix + key, axis, theory[key], simulation[key],
                                   stderr[key])
    populations = theory.get("populations", {}) if hasattr(theory, "get") else {}
    for name, sub in (populations or {}).items():
        if name in (simulation.get("populations") or {}):
            rows += _compare(sub, simulation["populations"][name],
                             stderr["populations"][name], f"{prefix}{name}/")
    return rows


def _compare_curve(name: str, axis: str, theory, simulation, stderr) -> list[Comparison]:
    grid = np.asarray(simulation[axis], dtype=float)
    theory_grid = np.asarray(theory[axis], dtype=float)
    if grid.size and (grid.min() < theory_grid.min() - 1e-12
                      or grid.max() > theory_grid.max() + 1e-12):
        raise ParameterError(
            f"{name}: the theory's {axis} grid [{theory_grid.min():g}, {theory_grid.max():g}] "
            f"does not cover the simulation's [{grid.min():g}, {grid.max():g}]"
        )
    values = np.interp(grid, theory_grid, np.asarray(theory["values"], dtype=float))
    return [
        Comparison(name, float(at), float(t), float(s), float(e))
        for at, t, s, e in zip(grid, values, simulation["values"], stderr["values"], strict=True)
    ]


def _compare_array(name: str, axis: str, theory, simulation, stderr) -> list[Comparison]:
    """Kernels of a layered network: one row per entry K[l][a][b] (a ≤ b: symmetric) or
    K[s][t][a][b] (s > t; the equal layers are ``kernel``'s), named with its indices."""
    t, s, e = (np.asarray(x["values"], dtype=float) for x in (theory, simulation, stderr))
    if t.shape != s.shape:
        raise ParameterError(f"{name}: theory {t.shape} and simulation {s.shape} differ in "
                             "shape")
    grid = np.asarray(simulation[axis], dtype=float)
    rows = []
    for index in np.ndindex(*t.shape):
        if t.ndim == 3 and index[1] > index[2]:
            continue
        if t.ndim == 4 and index[0] <= index[1]:
            continue
        label = ",".join(str(i) for i in index[1:])
        rows.append(Comparison(f"{name}[{label}]", float(grid[index[0]]), float(t[index]),
                               float(s[index]), float(e[index])))
    return rows


#: Defaults of verify, chosen so that each shipped model verifies in well under a minute on
#: two cores. Without noise: RK4 at dt = 0.1 (error O(dt⁴), far below the statistics) on
#: N = 1000 units in float32. With noise the Euler–Maruyama bias (≈ leak·dt relative, weak
#: order 1) must stay below the statistical error, so dt = 0.002 — affordable on N = 200.
#: Errors are taken across 16 independent networks, so they include the quenched
#: coupling-to-coupling scatter that dominates at these sizes.
VERIFY_DEFAULTS = {
    "noise_free": {"N": 1000, "dt": 0.1, "dtype": "float32"},
    "noisy": {"N": 200, "dt": 0.002, "dtype": "float64"},
}


def verify(model, params=None, *, theory_params=None, N: int | None = None, trials: int = 16,
           t_max: float = 60.0, t_burn: float = 30.0, dt: float | None = None,
           seed: int = 0, tau_max: float = 10.0, dtau: float = 0.5,
           threshold: float = 4.0, progress: bool = False, order: str | None = None):
    """Solve the theory, simulate the network, compare: ``(report, theory, simulation)``.

    ``order="1/N"``: the theory is the renormalized finite-N theory at the simulated N
    (:mod:`fieldtheory.renormalized`), and the population variances and spectra (of x and
    φ) are compared as well — the theory's spectra through the estimator's window
    (:func:`windowed_spectrum`, samples dτ apart, a map's every step), which broadens the
    narrow line near the magnetic transition. For a map the finite-N theory is the
    window's one loop (:mod:`fieldtheory.window_solve`): its autocorrelations, on fewer
    lags, are compared on those.

    ``theory_params`` (default: ``params``) lets a caller solve the theory elsewhere than
    the simulation, as a negative control. ``N`` and ``dt`` default to
    :data:`VERIFY_DEFAULTS` by whether the model is noisy at ``params`` (``None`` only: a
    given N = 0 or dt = 0 is refused, not replaced). For a map, ``dt`` is its step.

    Raises
    ------
    ArgumentTypeError
        (a TypeError) ``model`` not a Model or a model's name/path, ``params`` not a mapping.
    ParameterError
        N, trials or dt not positive, or what ``solve`` and ``simulate`` refuse — checked
        before either runs.
    """
    require_dynamic(model, "verify")
    from fieldtheory.ir.langevin import read_langevin
    from fieldtheory.ir.model import as_model
    from fieldtheory.ir.parameters import evaluate, parameter_values
    from fieldtheory.simulate import simulate
    from fieldtheory.solve import solve

    model = as_model(model)
    params = parameter_values(params)
    if theory_params is not None:
        theory_params = parameter_values(theory_params)
    _check_run_arguments(N=N, trials=trials, dt=dt, t_max=t_max, t_burn=t_burn)
    if order not in (None, "1/N"):
        raise ParameterError(f"verify: order must be '1/N' or None, not {order!r}")
    values = model.parameters.resolve(params)
    noise = read_langevin(model.action).noise
    noisy = any(evaluate(q, values) != 0 for q in noise)
    defaults = VERIFY_DEFAULTS["noisy" if noisy else "noise_free"]
    size = defaults["N"] if N is None else N
    theory = solve(model, theory_params if theory_params is not None else params,
                   tau_max=tau_max, dtau=dtau, order=order,
                   N=size if order is not None else None)
    if dt is None and not model.action.time.is_discrete:  # a map's step is the model's
        dt = defaults["dt"]
    spectra = ("population_spectrum", "population_spectrum_phi")
    simulation = simulate(model, params, N=size, trials=trials, t_max=t_max,
                          t_burn=t_burn, dt=dt, seed=seed,
                          dtype=defaults["dtype"], tau_max=tau_max, dtau=dtau,
                          progress=progress,
                          observe=("population_variance", *spectra) if order is not None
                          else ())
    compared, measured, errors = theory.observables, simulation.observables, simulation.stderr
    if order is not None:
        # the population spectra as the simulation's estimator sees them: the theory's
        # through the Hann-windowed segment periodogram, at the frequencies the run's mean
        # does not touch (j ≥ 2) within the theory's grid
        theory_curves, measured_curves, error_curves = {}, {}, {}
        # the estimator's samples: dτ apart, a map's every step
        spacing = (float(evaluate(model.action.time.step, values))
                   if model.action.time.is_discrete else dtau)
        for key in spectra:
            curve, sim_curve = compared.get(key), measured.get(key)
            if curve is None or sim_curve is None:
                theory_curves[key] = measured_curves[key] = error_curves[key] = None
                continue
            omega = np.asarray(sim_curve["omega"], float)
            keep = (np.arange(omega.size) >= 2) & (omega <= float(np.max(curve["omega"])))
            expected = windowed_spectrum(curve, omega[keep], 2 * math.pi / (omega[1] * spacing),
                                         spacing)
            theory_curves[key] = {"omega": omega[keep], "values": expected}
            measured_curves[key] = {"omega": omega[keep],
                                    "values": np.asarray(sim_curve["values"])[keep]}
            error_curves[key] = {"omega": omega[keep],
                                 "values": np.asarray(errors[key]["values"])[keep]}
        # a finite-N theory may give the autocorrelations on fewer lags (a map's window):
        # compared where it has them
        for key in ("autocorrelation", "autocorrelation_phi"):
            curve, sim_curve = compared.get(key), measured.get(key)
            if curve is None or sim_curve is None:
                continue
            tau = np.asarray(sim_curve["tau"], float)
            keep = tau <= float(np.max(curve["tau"])) + 1e-9
            if not keep.all():
                measured_curves[key] = {"tau": tau[keep],
                                        "values": np.asarray(sim_curve["values"])[keep]}
                error_curves[key] = {"tau": tau[keep],
                                     "values": np.asarray(errors[key]["values"])[keep]}
        compared = replace(compared, cross_covariance=None, populations={}, **theory_curves)
        measured = replace(measured, **measured_curves)
        errors = replace(errors, **error_curves)
    report = compare(compared, measured, errors, threshold)
    return report, theory, simulation


def windowed_spectrum(curve: Mapping[str, Any], omega: np.ndarray, segment: float,
                      dtau: float) -> np.ndarray:
    r"""The expectation of the simulations' population-spectrum estimator — Hann-windowed
    segments of L = ``segment`` samples dτ apart, dτ|Σ_t w_t (m_t − m̄) e^{−iωtdτ}|²/Σw²
    (times N) — for a stationary population mode of spectrum S(ω) (``curve``: N·S on
    ω ≥ 0, a density in ω): with c_k = (1/π)∫ S(ω′) cos(ω′kdτ) dω′ (trapezoid on the
    theory's grid; aliasing included) and the window's autocorrelation R_k = Σ_t w_t w_{t+k},

    .. math:: E\,\hat S(\omega) = \frac{d\tau}{\sum_t w_t^2}\Bigl[R_0 c_0
              + 2\sum_{k=1}^{L-1} R_k c_k \cos(\omega k\,d\tau)\Bigr].

    Near the magnetic transition the mode's line is narrower than the window's resolution
    2π/(L dτ): this is the broadening the estimator adds."""
    L = round(segment)
    theory_omega = np.asarray(curve["omega"], float)
    S = np.asarray(curve["values"], float)
    lags = np.arange(L) * dtau
    c = np.trapezoid(S[None, :] * np.cos(np.outer(lags, theory_omega)), theory_omega,
                     axis=1) / math.pi
    w = 0.5 - 0.5 * np.cos(2 * math.pi * np.arange(L) / L)
    R = np.correlate(w, w, mode="full")[L - 1:]
    weights = R * c
    weights[1:] *= 2.0
    return dtau / float(np.sum(w * w)) * (np.cos(np.outer(omega, lags)) @ weights)


def _check_run_arguments(**arguments) -> None:
    """N, trials: positive integers; dt (None: the default), t_max: positive; t_burn ≥ 0."""
    import numbers

    for name in ("N", "trials"):
        value = arguments[name]
        if value is None and name == "N":
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ArgumentTypeError(f"verify: {name} must be a positive integer, got "
                                    f"{describe(value)}")
        if value < 1 or value != int(value):
            raise ParameterError(f"verify: {name} = {value!r} must be a positive integer")
    for name, least in (("dt", 0.0), ("t_max", 0.0), ("t_burn", None)):
        value = arguments[name]
        if value is None and name == "dt":
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ArgumentTypeError(f"verify: {name} must be a number, got {describe(value)}")
        if not math.isfinite(value) or (value <= least if least is not None else value < 0):
            need = "positive" if least is not None else "non-negative"
            raise ParameterError(f"verify: {name} = {value!r} must be a finite {need} number")


def plot_report(theory, simulation, path: str) -> None:
    """Theory curves against simulation with error bars (needs the ``plot`` extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("plotting needs matplotlib: pip install "
                                     "'fieldtheory[plot]'") from None
    keys = [k for k in ("autocorrelation", "autocorrelation_phi")
            if k in theory.observables and k in simulation.observables]
    figure, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.5), squeeze=False)
    for axis, key in zip(axes[0], keys, strict=True):
        th, sim, err = (theory.observables[key], simulation.observables[key],
                        simulation.stderr[key])
        axis.plot(th["tau"], th["values"], "k-", label="theory (N → ∞)")
        axis.errorbar(sim["tau"], sim["values"], yerr=err["values"], fmt="o", ms=3,
                      label=f"simulation (N = {simulation.N})")
        axis.set_xlabel("τ")
        axis.set_title(key)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
