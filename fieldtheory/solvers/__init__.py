"""Solvers for mean-field theories; the numerics live in :mod:`fieldtheory.solvers.runtime`."""

from fieldtheory.solvers.runtime.stationary import (
    ConvergenceError,
    StaticSolution,
    StationarySolution,
    linear_response,
    lyapunov_exponent,
    solve_autocorrelation,
    solve_static,
    solve_stationary,
)

__all__ = [
    "ConvergenceError",
    "StaticSolution",
    "StationarySolution",
    "linear_response",
    "lyapunov_exponent",
    "solve_autocorrelation",
    "solve_static",
    "solve_stationary",
]
