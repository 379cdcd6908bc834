r"""Time-dependent parameters: callables of time evaluated on the integrator's grid.

``simulate(model, {"I": lambda t: 0.5 * (t >= 10)})`` replaces the number of a parameter
by a function u(t). Time t counts from the initial condition (t = 0 at x(0), burn-in
included), so the n-th step starts at t_n = n·dt. The integrators evaluate u on the
half-step grid t = i·dt/2 (i = 0, 1, …): exponential Euler and maps at the start of each
step, u(t_n); RK4 at t_n, t_n + dt/2 and t_n + dt, as the classical scheme requires for
fourth order.

A callable is first tried on a whole array of times (numpy-vectorised callables, such as
``lambda t: np.sin(t)`` or ``lambda t: 0.5 * (t >= 10)``, cost one call per chunk of
steps); when that fails, or disagrees with scalar calls at spot checks, it is called once
per grid point. Values must be finite real numbers; domains are not checked (they apply to
numbers only).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from fieldtheory.errors import ParameterError

__all__ = ["InputSchedule", "split_inputs"]

#: Half-step grid points evaluated per call of a vectorised input.
CHUNK = 8192


def split_inputs(params: Mapping[str, object] | None) -> tuple[dict, dict[str, Callable]]:
    """(numbers, callables): parameter overrides split into constants and inputs u(t)."""
    numbers, inputs = {}, {}
    for name, value in (params or {}).items():
        (inputs if callable(value) else numbers)[name] = value
    return numbers, inputs


def _scalar(name: str, function: Callable, t: float) -> float:
    value = function(t)
    try:
        number = float(np.real_if_close(np.asarray(value)).item())
    except (TypeError, ValueError):
        raise ParameterError(
            f"time-dependent parameter {name}({t:g}) = {value!r} is not a real number"
        ) from None
    return number


def _evaluate(name: str, function: Callable, times: np.ndarray) -> np.ndarray:
    """u(times) for one input: vectorised when the callable allows it, else point by point."""
    values = None
    try:
        with np.errstate(all="ignore"):
            trial = np.asarray(function(times))
        if trial.shape == () and np.isrealobj(trial):
            trial = np.full(times.shape, float(trial))
        if trial.shape == times.shape and np.isrealobj(trial):
            values = trial.astype(float)
            # a callable that accepts arrays but means something else by them is caught here
            for j in {0, times.size // 2, times.size - 1}:
                exact = _scalar(name, function, float(times[j]))
                if not math.isclose(values[j], exact, rel_tol=1e-12, abs_tol=1e-300) and not (
                    math.isnan(exact) and math.isnan(values[j])
                ):
                    values = None
                    break
    except Exception:
        values = None
    if values is None:
        values = np.array([_scalar(name, function, float(t)) for t in times])
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        t = times[bad[0]]
        raise ParameterError(
            f"time-dependent parameter {name} is not finite at t = {t:g} "
            f"({name}({t:g}) = {values[bad[0]]})"
        )
    return values


class InputSchedule:
    r"""Values of the time-dependent parameters on the half-step grid t_i = i·dt/2.

    Evaluated lazily in chunks of :data:`CHUNK` points, so that its memory does not grow
    with the run. :meth:`next_step` returns the values a step needs and advances the step
    counter: ``(u(t_n), u(t_n + dt/2), u(t_n + dt))``, each a tuple with one scalar of the
    state's dtype per input (in the order of ``names``).

    Parameters
    ----------
    inputs : mapping
        Parameter name → callable of time.
    dt : float
        Step (a map's physical step).
    dtype : numpy dtype
        Of the state: the values are cast to it, so that float32 runs stay float32.
    """

    def __init__(self, inputs: Mapping[str, Callable], dt: float, dtype) -> None:
        self.names = tuple(inputs)
        self.functions = tuple(inputs.values())
        self.dt, self.dtype = float(dt), np.dtype(dtype)
        self.steps = 0
        self._chunk = -1
        self._rows: list[tuple] = []

    def times(self, first: int, count: int) -> np.ndarray:
        """t_i = (i·dt)/2 for i = first … first + count − 1 (so t_{2n} = n·dt exactly)."""
        return np.arange(first, first + count, dtype=float) * self.dt / 2

    def values(self, index: int) -> tuple:
        """The inputs at half-step grid point ``index``, t = index·dt/2."""
        chunk, offset = divmod(index, CHUNK)
        if chunk != self._chunk:
            times = self.times(chunk * CHUNK, CHUNK)
            table = np.stack(
                [_evaluate(n, f, times) for n, f in zip(self.names, self.functions, strict=True)],
                axis=1,
            )
            table = table.astype(self.dtype)
            self._rows = [tuple(row) for row in table]
            self._chunk = chunk
        return self._rows[offset]

    def next_step(self) -> tuple[tuple, tuple, tuple]:
        """(u(t_n), u(t_n + dt/2), u(t_n + dt)) of the next step n; advances n."""
        i = 2 * self.steps
        self.steps += 1
        return self.values(i), self.values(i + 1), self.values(i + 2)

    def next_start(self) -> tuple:
        """u(t_n) of the next step n (exponential Euler, maps); advances n."""
        i = 2 * self.steps
        self.steps += 1
        return self.values(i)


def make_schedule(inputs: Mapping[str, Callable], dt: float, dtype) -> InputSchedule | None:
    """An :class:`InputSchedule`, or ``None`` when there are no time-dependent parameters."""
    return InputSchedule(inputs, dt, dtype) if inputs else None
