r"""Phase diagrams: :func:`~fieldtheory.solve.solve` over a grid of one or two parameters.

Every grid point is solved independently (serially, in a local process pool, or on a Dask
cluster) and classified into a phase:

* **chaotic** when the solver took its chaotic branch (D = 0), or, for a noise-driven
  state (D > 0), when its largest Lyapunov exponent is positive;
* **magnetic** when the network spontaneously breaks the symmetry x → −x: the
  magnetisation m = ⟨φ⟩ (``mean_phi``) exceeds :data:`MAGNETIC_THRESHOLD` in absolute
  value. The symmetry exists only where φ is odd and the effective bias I vanishes; where
  either breaks it explicitly, m ≠ 0 in every phase, there is no magnetic transition (only
  a crossover), and the point is classified by chaos alone (``symmetric`` is false);

giving ``fixed_point``, ``chaotic``, ``magnetic`` or ``magnetic_chaotic``; a point whose
solve fails is ``failed`` and keeps the error message. See ``docs/sweeps.md``.

The threshold. Near the pitchfork J0⟨φ'⟩ = 1 the self-consistency m = ⟨φ(J0 m + u)⟩ has
the residual (J0⟨φ'⟩ − 1)m − c m³. The solver resolves the paramagnetic root to
|m| ≲ ε/|J0⟨φ'⟩ − 1| (ε ≈ 1e-16, its residual rounding) and the magnetised root is
m ≈ √((J0⟨φ'⟩ − 1)/c). A threshold τ therefore misclassifies only points within
max(cτ², ε/τ) of the transition (in J0⟨φ'⟩ − 1); τ = 1e-5 ≈ (ε/c)^{1/3} makes both
≈ 1e-11, far below any grid spacing or bisection tolerance.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fieldtheory.errors import FieldTheoryError, ParameterError, ParseError
from fieldtheory.ir.model import Model, load_model, shipped_models
from fieldtheory.parsing import parse_number
from fieldtheory.progress import progress_bar

__all__ = [
    "FAILED",
    "MAGNETIC_THRESHOLD",
    "PHASES",
    "SCALARS",
    "SweepResult",
    "Transition",
    "classify",
    "parse_range",
    "parse_sweep_parameters",
    "sweep",
    "transition",
]

#: The phases a converged point can be in.
PHASES = ("fixed_point", "chaotic", "magnetic", "magnetic_chaotic")
#: The phase of a point whose solve raised.
FAILED = "failed"
#: |m| above which a symmetric point is magnetised (derivation in the module docstring).
MAGNETIC_THRESHOLD = 1e-5
#: The scalar observables each point keeps (curves only on request).
SCALARS = ("mean", "variance", "mean_phi", "mean_gain", "lyapunov_max")
#: The curves kept with ``curves=True``.
CURVES = ("autocorrelation", "autocorrelation_phi", "response")
#: At most this many ranged parameters (a 2-D phase diagram).
MAX_DIMENSIONS = 2


# ----------------------------------------------------------------------------- parsing


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


def classify(point: Mapping[str, Any], threshold: float = MAGNETIC_THRESHOLD) -> str:
    """The phase of one solved point (a dict of :data:`SCALARS`, ``branch``, ``symmetric``).

    Chaotic: the solver's chaotic branch, or λ_max > 0 on any other than the fixed-point
    branch (noise-driven, sampled). Magnetic: |m| > ``threshold`` (and > 4 standard errors
    of a sampled m, ``mean_phi_stderr``) where the symmetry x → −x holds (``symmetric`` not
    false).
    """
    if point.get("error") is not None:
        return FAILED
    branch = point["branch"]
    lyapunov = point.get("lyapunov_max")
    if branch in ("fixed_point", "chaotic"):
        chaotic = branch == "chaotic"
    else:  # noise-driven (D > 0): chaos is a positive Lyapunov exponent
        chaotic = lyapunov is not None and lyapunov > 0
    # a sampled (Monte-Carlo) m is zero only within its error: 4σ, as verify's |z| ≤ 4
    floor = max(threshold, 4.0 * (point.get("mean_phi_stderr") or 0.0))
    magnetic = point.get("symmetric") is not False and abs(point["mean_phi"]) > floor
    if magnetic:
        return "magnetic_chaotic" if chaotic else "magnetic"
    return "chaotic" if chaotic else "fixed_point"


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
        point[key] = None if value is None else float(value)
    point["branch"] = result.branch
    stderr = getattr(result, "stderr", None)  # Monte-Carlo solutions carry sampling errors
    if stderr is not None and stderr.get("mean_phi") is not None:
        point["mean_phi_stderr"] = float(stderr["mean_phi"])
    point["error"] = None
    if curves:
        for key in CURVES:
            if key in observables:
                point[key] = observables[key]
    return point


def _odd(function: Callable | None) -> bool:
    """Whether an elementwise callable is odd on [−8, 8] (None, no term, counts as odd)."""
    if function is None:
        return True
    u = np.linspace(-8.0, 8.0, 161)
    with np.errstate(all="ignore"):
        return bool(np.allclose(function(-u), -np.asarray(function(u)), rtol=1e-12, atol=1e-14))


def _symmetry_test(module) -> Callable[[Mapping[str, float]], bool | None]:
    """Whether x → −x is a symmetry of the single site at given parameter values.

    It is when every function of the state in the site (φ, a nonlinear drift, the functions
    inside the order parameters) is odd and every bias vanishes: then m → −m maps solutions
    to solutions, and m ≠ 0 breaks the symmetry spontaneously. Read off the generated
    module's ``spec`` (the runtimes' ``SiteSpec``).
    """
    spec = module.spec
    odd: dict[int, bool] = {}

    def all_odd(functions: Iterable[Callable | None]) -> bool:
        for function in functions:
            if id(function) not in odd:
                odd[id(function)] = _odd(function)
            if not odd[id(function)]:
                return False
        return True

    def symmetric(values: Mapping[str, float]) -> bool | None:
        try:
            site = spec(**values)
        except (ValueError, TypeError, ArithmeticError):  # not buildable here: unknown
            return None
        terms = (*site.means, *site.correlations, *site.responses)
        functions = [
            *site.phi,
            *site.nonlinear,
            *(t.left for t in terms),
            *(t.right for t in terms),
        ]
        return bool(np.all(np.asarray(site.offset) == 0.0)) and all_odd(functions)

    return symmetric


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The solved grid: per point the scalar observables, the solver branch and the phase.

    ``grid`` maps each ranged parameter, in axis order, to its values; ``points`` and
    ``phase`` are object/str arrays of the grid's shape (axis k ↔ the k-th ranged name).
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
            row = "".join(PHASE_SYMBOLS[str(p)] for p in self.phase[:, j])
            lines.append(f"{y[j]:>10.4g} {row}")
        lines.append(f"{'':>10} {x[0]:<.4g} … {x[-1]:.4g}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: ``{"model", "grid", "fixed", "observables", "phase", "summary"}``.

        ``observables`` and ``phase`` are nested lists shaped like the grid.
        """
        return {
            "model": self.model,
            "grid": {name: [float(v) for v in values] for name, values in self.grid.items()},
            "fixed": {name: float(v) for name, v in self.fixed.items()},
            "observables": _plain(self.points.tolist()),
            "phase": self.phase.tolist(),
            "summary": self.summary(),
        }

    def plot(self, path: str | Path) -> Path:
        """Save the phase diagram (2-D: phases as colours) or the observables (1-D)."""
        return plot_sweep(self, path)


#: One character per phase in :meth:`SweepResult.table`.
PHASE_SYMBOLS = {
    "fixed_point": ".",
    "chaotic": "c",
    "magnetic": "m",
    "magnetic_chaotic": "M",
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
    from fieldtheory.codegen.generate import generate  # heavy: loaded on demand

    reference = model
    model = load_model(model)
    fixed = dict(fixed or {})
    grid = _check_grid(model, ranges, fixed)
    shape = tuple(len(v) for v in grid.values())
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


# ----------------------------------------------------------------------------- transitions


@dataclass(frozen=True)
class Transition:
    """A phase boundary along one parameter, bracketed: ``lower < value < upper``."""

    name: str
    lower: float
    upper: float
    below: str
    above: str
    evaluations: int

    @property
    def value(self) -> float:
        """The midpoint of the bracket."""
        return 0.5 * (self.lower + self.upper)

    @property
    def error(self) -> float:
        """Half the bracket width: |value − transition| ≤ error."""
        return 0.5 * (self.upper - self.lower)


def _is(kind: str, phase: str) -> bool:
    if kind == "chaotic":
        return phase in ("chaotic", "magnetic_chaotic")
    return phase in ("magnetic", "magnetic_chaotic")


def transition(
    model: Model | str,
    name: str,
    lower: float,
    upper: float,
    fixed: Mapping[str, float] | None = None,
    *,
    kind: str = "chaotic",
    xtol: float = 1e-3,
    tau_max: float = 20.0,
    dtau: float = 0.25,
    threshold: float = MAGNETIC_THRESHOLD,
) -> Transition:
    """Locate where ``kind`` (``"chaotic"`` or ``"magnetic"``) sets in, by bisection in ``name``.

    ``lower`` and ``upper`` must differ in ``kind``; the bracket is halved until it is at
    most ``2·xtol`` wide, so ``|Transition.value − transition| ≤ xtol``. A midpoint whose
    solve fails (a solver may fail exactly at a critical point) is replaced by the point a
    quarter, then three quarters, of the way across the bracket.

    Raises
    ------
    ParameterError
        When the ends do not bracket a change of ``kind``.
    ConvergenceError
        When the ends, or both fallback points, fail to solve.
    """
    from fieldtheory.errors import ConvergenceError

    if kind not in ("chaotic", "magnetic"):
        raise ParameterError(f"transition kind must be 'chaotic' or 'magnetic', got {kind!r}")
    if not lower < upper:
        raise ParameterError(f"need lower < upper, got {lower} and {upper}")
    from fieldtheory.codegen.generate import generate

    model = load_model(model)
    fixed = dict(fixed or {})
    for end in (lower, upper):  # unknown names and values outside the domain: now
        model.parameters.resolve({**fixed, name: float(end)})
    symmetric = _symmetry_test(generate(model))
    evaluations = 0

    def phase_at(value: float) -> str:
        nonlocal evaluations
        evaluations += 1
        params = {**fixed, name: float(value)}
        point = _solve_point(model, params, tau_max, dtau, curves=False)
        point["symmetric"] = symmetric(model.parameters.resolve(params))
        return classify(point, threshold)

    below, above = phase_at(lower), phase_at(upper)
    for end, phase in ((lower, below), (upper, above)):
        if phase == FAILED:
            raise ConvergenceError(f"transition: the solve at {name} = {end} failed")
    if _is(kind, below) == _is(kind, above):
        raise ParameterError(
            f"{name} = {lower} ({below}) and {name} = {upper} ({above}) do "
            f"not bracket a {kind} transition"
        )
    while upper - lower > 2 * xtol:
        for fraction in (0.5, 0.25, 0.75):
            middle = lower + fraction * (upper - lower)
            phase = phase_at(middle)
            if phase != FAILED:
                break
        else:
            raise ConvergenceError(
                f"transition: the solves near {name} = {0.5 * (lower + upper)} failed"
            )
        if _is(kind, phase) == _is(kind, below):
            lower = middle
        else:
            upper = middle
    return Transition(name, lower, upper, below, above, evaluations)


# ----------------------------------------------------------------------------- plotting

#: Colours of the phases in a 2-D diagram (failed points are grey).
PHASE_COLOURS = {
    "fixed_point": "#f2f2f2",
    "chaotic": "#e4572e",
    "magnetic": "#4c78a8",
    "magnetic_chaotic": "#8e44ad",
    FAILED: "#7f7f7f",
}


def plot_sweep(result: SweepResult, path: str | Path) -> Path:
    """Save ``result`` as a figure: phases on the grid (2-D) or observables (1-D)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch
    except ImportError:
        raise FieldTheoryError(
            "plotting needs matplotlib: pip install 'fieldtheory[plot]'"
        ) from None
    names = list(result.grid)
    if len(names) == 2:
        figure, axes = plt.subplots(figsize=(5.5, 4.5))
        order = [*PHASES, FAILED]
        codes = np.vectorize(order.index)(result.phase).astype(float)
        x, y = result.grid[names[0]], result.grid[names[1]]
        axes.pcolormesh(
            x,
            y,
            codes.T,
            shading="nearest",
            vmin=-0.5,
            vmax=len(order) - 0.5,
            cmap=ListedColormap([PHASE_COLOURS[p] for p in order]),
        )
        axes.set_xlabel(names[0])
        axes.set_ylabel(names[1])
        present = [p for p in order if np.any(result.phase == p)]
        axes.legend(
            handles=[Patch(color=PHASE_COLOURS[p], label=p) for p in present],
            loc="upper left",
            fontsize="small",
        )
    else:
        x = result.grid[names[0]]
        figure, rows = plt.subplots(len(SCALARS), 1, sharex=True, figsize=(5.5, 8))
        chaotic = np.isin(result.phase, ("chaotic", "magnetic_chaotic"))
        for axes, key in zip(rows, SCALARS, strict=True):
            axes.plot(x, result.observable(key), "o-", markersize=3)
            axes.plot(
                x[chaotic], result.observable(key)[chaotic], "o", color="#e4572e", markersize=4
            )
            axes.set_ylabel(key)
        rows[-1].set_xlabel(names[0])
        axes = rows[0]
    fixed = ", ".join(f"{k} = {v:g}" for k, v in result.fixed.items())
    axes.set_title(f"{result.model}" + (f" ({fixed})" if fixed else ""))
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path)
    plt.close(figure)
    return path
