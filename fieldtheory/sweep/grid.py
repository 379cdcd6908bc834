"""Sweeps: the parameter grid, solving its points (serially, in a process pool or on
Dask) and the :class:`SweepResult`."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fieldtheory.errors import ArgumentTypeError, FieldTheoryError, ParameterError, ParseError
from fieldtheory.ir.checks import require_mapping
from fieldtheory.ir.model import Model, load_model, require_dynamic, shipped_models
from fieldtheory.ir.parameters import parameter_values
from fieldtheory.jsonout import strict
from fieldtheory.parsing import parse_number
from fieldtheory.phases import Phase
from fieldtheory.progress import progress_bar
from fieldtheory.resources import require
from fieldtheory.sweep.classification import (
    FAILED,
    MAGNETIC_THRESHOLD,
    PHASES,
    SCALARS,
    _symmetry_test,
    classify,
)
from fieldtheory.sweep.plot import plot_sweep

__all__ = ["CURVES", "SweepResult", "parse_range", "parse_sweep_parameters", "sweep"]

#: The curves kept with ``curves=True``.
CURVES = ("autocorrelation", "autocorrelation_phi", "response")
#: At most this many ranged parameters (a 2-D phase diagram).
MAX_DIMENSIONS = 2


# ----------------------------------------------------------------------------- parsing


#: Memory a grid point holds (its parameters, observables, phase and bookkeeping), for the
#: resource guard; curves add theirs.
POINT_BYTES = 4096


def parse_range(text: str) -> tuple[float, ...]:
    """``"start:stop:count"`` → the ``count`` evenly spaced values from start to stop.

    Both ends are included. ``count`` is an integer ≥ 1; with ``count = 1`` the range is
    the single point start, and stop must equal start (``"1.5:1.5:1"``).

    Examples
    --------
    >>> parse_range("0:1:3")
    (0.0, 0.5, 1.0)
    >>> parse_range("2*pi:2*pi:1")
    (6.283185307179586,)
    """
    parts = text.split(":")
    if len(parts) != 3:
        raise ParseError(f"malformed range {text!r}: expected start:stop:count")
    start, stop, count = (parse_number(part) for part in parts)
    if not (count.is_integer() and count >= 1):
        raise ParseError(f"range {text!r}: count must be an integer ≥ 1, got {parts[2]!r}")
    require(count * POINT_BYTES, f"range {text!r}: {count:.0f} points")
    if count == 1 and start != stop:
        raise ParseError(
            f"range {text!r}: a range of one point needs start = stop (or write NAME=VALUE)"
        )
    return tuple(float(v) for v in np.linspace(start, stop, int(count)))


def parse_sweep_parameters(
    items: Iterable[str],
) -> tuple[dict[str, tuple[float, ...]], dict[str, float]]:
    """``NAME=start:stop:count`` and ``NAME=VALUE`` strings → (ranges, fixed values).

    Raises
    ------
    ParseError
        For a malformed item, a name given twice, or more than two ranges.
    """
    ranges: dict[str, tuple[float, ...]] = {}
    fixed: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ParseError(
                f"malformed parameter {item!r}: expected NAME=VALUE or NAME=start:stop:count"
            )
        if name in ranges or name in fixed:
            raise ParseError(f"parameter {name} is given twice")
        try:
            if ":" in value:
                ranges[name] = parse_range(value)
            else:
                fixed[name] = parse_number(value)
        except ParseError as error:
            raise ParseError(f"parameter {name}: {error}") from None
    if len(ranges) > MAX_DIMENSIONS:
        raise ParseError(
            f"at most {MAX_DIMENSIONS} ranged parameters (a 2-D phase diagram); "
            f"got {len(ranges)}: {', '.join(ranges)}"
        )
    return ranges, fixed


# ----------------------------------------------------------------------------- one point


def _solve_point(
    model: Model | str, params: dict[str, float], tau_max: float, dtau: float, curves: bool
) -> dict[str, Any]:
    """Solve one grid point; failures become ``{"error": ...}`` (runs in a worker).

    ``model`` is a Model or what :func:`load_model` takes; a worker loads it once (cached).
    """
    from fieldtheory.solve import solve

    point: dict[str, Any] = dict.fromkeys(SCALARS)
    point["branch"] = None
    point["symmetric"] = None  # set by the caller, which has the generated module
    try:
        result = solve(load_model(model), params, tau_max=tau_max, dtau=dtau)
    except FieldTheoryError as error:
        point["error"] = f"{type(error).__name__}: {' '.join(str(error).split())}"
        return point
    observables = result.to_json()["observables"]
    for key in SCALARS:
        value = observables.get(key)
        point[key] = None if value is None else float(value)  # strict: NaN is already None
    point["branch"] = result.branch
    stderr = getattr(result, "stderr", None)  # Monte-Carlo solutions carry sampling errors
    for key in ("mean_phi", "lyapunov_max"):
        if stderr is not None and stderr.get(key) is not None:
            point[f"{key}_stderr"] = float(stderr[key])
    point["error"] = None
    if curves:
        for key in CURVES:
            if key in observables:
                point[key] = observables[key]
    return point


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The solved grid: per point the scalar observables, the solver branch and the phase.

    ``grid`` maps each ranged parameter, in axis order, to its values; ``points`` (dicts)
    and ``phase`` (:class:`~fieldtheory.phases.Phase` members) are object arrays of the
    grid's shape (axis k ↔ the k-th ranged name).
    """

    model: str
    grid: dict[str, np.ndarray]
    fixed: dict[str, float]
    points: np.ndarray
    phase: np.ndarray
    tau_max: float
    dtau: float
    threshold: float = MAGNETIC_THRESHOLD
    seconds: float = field(default=0.0, compare=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.phase.shape

    @property
    def failed(self) -> int:
        """The number of points whose solve raised."""
        return int(np.count_nonzero(self.phase == FAILED))

    def observable(self, name: str) -> np.ndarray:
        """A scalar observable over the grid (NaN at failed points)."""
        if name not in SCALARS:
            raise ParameterError(f"unknown sweep observable {name!r}; known: {SCALARS}")
        values = [np.nan if p[name] is None else p[name] for p in self.points.flat]
        return np.array(values, dtype=float).reshape(self.shape)

    def summary(self) -> dict[str, int]:
        """How many points are in each phase (``failed`` included)."""
        return {phase: int(np.count_nonzero(self.phase == phase)) for phase in (*PHASES, FAILED)}

    def table(self) -> str:
        """A readable summary: 1-D, one row per point; 2-D, a map of the phases."""
        names = list(self.grid)
        fixed = ", ".join(f"{k} = {v:g}" for k, v in self.fixed.items())
        counts = ", ".join(f"{n} {p}" for p, n in self.summary().items() if n)
        lines = [
            f"model {self.model}" + (f", {fixed}" if fixed else ""),
            f"{self.phase.size} points: {counts} ({self.seconds:.1f} s)",
        ]
        if len(names) == 1:
            header = "".join(f"{k:>14}" for k in ("mean_phi", "variance", "lyapunov_max"))
            lines.append(f"{names[0]:>10}  {'phase':<17}{header}")
            for value, phase, point in zip(
                self.grid[names[0]], self.phase, self.points, strict=True
            ):
                row = "".join(
                    f"{_number(point[k]):>14}" for k in ("mean_phi", "variance", "lyapunov_max")
                )
                lines.append(f"{value:>10.4g}  {phase:<17}{row}")
            return "\n".join(lines)
        x, y = (self.grid[n] for n in names)
        lines.append("   ".join(f"{symbol} {phase}" for phase, symbol in PHASE_SYMBOLS.items()))
        lines.append(f"{names[1]} ↑ / {names[0]} →")
        for j in reversed(range(len(y))):
            row = "".join(PHASE_SYMBOLS[Phase(p)] for p in self.phase[:, j])
            lines.append(f"{y[j]:>10.4g} {row}")
        lines.append(f"{'':>10} {x[0]:<.4g} … {x[-1]:.4g}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: ``{"model", "grid", "fixed", "observables", "phase", "summary"}``.

        ``observables`` and ``phase`` are nested lists shaped like the grid; strict JSON
        (a non-finite number is null, with its pointer under ``"undefined"``).
        """
        return strict({
            "model": self.model,
            "grid": {name: [float(v) for v in values] for name, values in self.grid.items()},
            "fixed": {name: float(v) for name, v in self.fixed.items()},
            "observables": _plain(self.points.tolist()),
            "phase": self.phase.tolist(),
            "summary": self.summary(),
        })

    def plot(self, path: str | Path) -> Path:
        """Save the phase diagram (2-D: phases as colours) or the observables (1-D)."""
        return plot_sweep(self, path)


#: One character per phase in :meth:`SweepResult.table`.
PHASE_SYMBOLS = {
    Phase.FIXED_POINT: ".",
    Phase.NOISE_DRIVEN: "n",
    Phase.CHAOTIC: "c",
    Phase.MAGNETIC: "m",
    Phase.MAGNETIC_CHAOTIC: "M",
    FAILED: "x",
}


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.floating | np.integer):
        return value.item()
    return value


# ----------------------------------------------------------------------------- execution


def _check_grid(
    model: Model, ranges: Mapping[str, Sequence[float]], fixed: Mapping[str, float]
) -> dict[str, np.ndarray]:
    if not 1 <= len(ranges) <= MAX_DIMENSIONS:
        raise ParameterError(
            f"a sweep needs 1 or {MAX_DIMENSIONS} ranged parameters, got "
            f"{len(ranges)}: {', '.join(ranges) or 'none'}"
        )
    grid = {}
    for name, values in ranges.items():
        if name in fixed:
            raise ParameterError(f"parameter {name} is both ranged and fixed")
        array = np.asarray(values, dtype=float).ravel()
        if array.size == 0 or not np.all(np.isfinite(array)):
            raise ParameterError(f"parameter {name}: the range must be non-empty and finite")
        model.parameters.resolve({name: float(array[0])})  # the name is known
        grid[name] = array
    return grid


def sweep(
    model: Model | str,
    ranges: Mapping[str, Sequence[float]],
    fixed: Mapping[str, float] | None = None,
    *,
    workers: int | None = None,
    dask: str | Any | None = None,
    progress: bool = False,
    tau_max: float = 20.0,
    dtau: float = 0.25,
    curves: bool = False,
    threshold: float = MAGNETIC_THRESHOLD,
) -> SweepResult:
    """Solve ``model`` on the grid spanned by ``ranges`` and classify each point.

    Parameters
    ----------
    model : Model or str
        A model or a shipped model's name.
    ranges : mapping
        One or two parameter names → their values (axis order = mapping order).
    fixed : mapping, optional
        Other parameters, held fixed (the rest take their defaults).
    workers : int, optional
        Local processes (default ``os.cpu_count()``); 1 solves serially in this process.
    dask : str or distributed.Client, optional
        A scheduler address (``"local"`` starts a local cluster) or a client: the points
        run there instead (needs ``pip install 'fieldtheory[dask]'``).
    progress : bool
        A progress bar on stderr.
    tau_max, dtau : float
        The τ grid of :func:`~fieldtheory.solve.solve`.
    curves : bool
        Also keep each point's autocorrelations and response.
    threshold : float
        |m| above which a symmetric point is magnetic (:data:`MAGNETIC_THRESHOLD`).

    Raises
    ------
    UnknownParameterError, ParameterError
        Before any solve, for a name the model lacks or a value outside its domain.
    """
    require_dynamic(model, "sweep")
    from fieldtheory.codegen.generate import generate  # heavy: loaded on demand

    reference = model
    model = load_model(model)
    if model.action.time.is_layered:
        raise ParameterError(
            f"sweep: {model.name} is a layered network, which has kernels, not the phases "
            "a sweep classifies; solve it at each point instead")
    require_mapping(ranges, "sweep ranges", "parameter name → values, e.g. {'g': [1, 2]}",
                    ArgumentTypeError)
    fixed = parameter_values(fixed)
    grid = _check_grid(model, ranges, fixed)
    shape = tuple(len(v) for v in grid.values())
    size = int(np.prod(shape))
    per_point = POINT_BYTES + (64 * 8 * int(tau_max / dtau + 1) if curves else 0)
    require(size * per_point, f"sweep {model.name}: {size} grid points {shape}")
    points = [
        {**fixed, **{name: float(grid[name][k]) for name, k in zip(grid, index, strict=True)}}
        for index in np.ndindex(shape)
    ]
    for params in points:  # every domain error before any work
        model.parameters.resolve(params)
    # built once here: forked workers inherit the derivation and the compiled module;
    # spawned ones (Dask) re-derive once per process (~0.15 s), cached from then on
    module = generate(model)
    symmetric = _symmetry_test(module)
    start = time.perf_counter()
    solved = _run(
        _portable(reference, model), points, tau_max, dtau, curves, workers, dask, progress
    )
    for params, point in zip(points, solved, strict=True):
        point["symmetric"] = symmetric(model.parameters.resolve(params))
    array = np.empty(len(solved), dtype=object)
    array[:] = solved
    array = array.reshape(shape)
    phase = np.array([classify(p, threshold) for p in solved], dtype=object).reshape(shape)
    return SweepResult(
        model.name, grid, fixed, array, phase, tau_max, dtau, threshold, time.perf_counter() - start
    )


def _portable(reference: Model | str | Path, model: Model) -> Model | str:
    """What workers load the model from: shipped models go by name (re-loaded, cached, in
    any process), other Model objects pickled (fields keep their roles, ir/symbols.py)."""
    if isinstance(reference, str | Path):
        return str(reference)
    if model.name in shipped_models() and load_model(model.name) == model:
        return model.name
    return model


def _run(
    model: Model | str,
    points: list[dict[str, float]],
    tau_max: float,
    dtau: float,
    curves: bool,
    workers: int | None,
    dask: Any,
    progress: bool,
) -> list[dict]:
    """Solve every point: serially, in a process pool or on Dask; results in grid order."""
    arguments = [(model, params, tau_max, dtau, curves) for params in points]
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    if workers < 1:
        raise ParameterError(f"workers must be ≥ 1, got {workers}")
    if dask is not None:
        finished = _dask_points(dask, arguments)
    elif workers == 1 or len(points) == 1:
        finished = ((k, _solve_point(*args)) for k, args in enumerate(arguments))
    else:
        finished = _pool_points(min(workers, len(points)), arguments)
    results: list[dict | None] = [None] * len(points)
    with progress_bar(len(points), enabled=progress, description="sweep", unit="point") as bar:
        for k, point in finished:
            results[k] = point
            bar.update()
    return results  # type: ignore[return-value]


def _pool_points(workers: int, arguments: list[tuple]) -> Iterable[tuple[int, dict]]:
    """(index, point) as the points finish in a local process pool."""
    # forked workers inherit the parent's derivation and compiled module (no re-derive)
    fork = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if fork else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(_solve_point, *args): k for k, args in enumerate(arguments)}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _dask_points(dask: Any, arguments: list[tuple]) -> Iterable[tuple[int, dict]]:
    """(index, point) as the points finish on a Dask cluster."""
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise FieldTheoryError(
            "--dask needs Dask: pip install 'fieldtheory[dask]' (dask and distributed)"
        ) from None
    own = isinstance(dask, str)
    client = (Client() if dask == "local" else Client(dask)) if own else dask
    try:
        futures = [client.submit(_solve_point, *args, pure=False) for args in arguments]
        index = {future.key: k for k, future in enumerate(futures)}
        for future in dask_completed(futures):
            yield index[future.key], future.result()
    finally:
        if own:
            client.close()
