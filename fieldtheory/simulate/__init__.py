"""The reference simulator: runs the Langevin equation read back from a model's action.

``simulate(model, params, N=..., ...)`` is the entry point; the lower levels are public for
later stages and tests:

* :func:`compile_action` — the action lowered to numpy callables (a printable stage);
* :func:`realise` — one sampled :class:`Network` (couplings, per-site constants, drift);
* :func:`integrate` — a fixed network integrated from a given state (convergence tests);
* :class:`InputSchedule` — time-dependent parameters u(t) on the integrator's grid;
* :class:`TransientEstimator` — population averages from the initial condition
  (``simulate(..., observe=("transient",))``);
* :class:`TangentMap`, :class:`TangentStepper` — the exact tangent of the drift and of the
  integrator's step (Lyapunov exponents, linear response: ``simulate(..., observe=...)``).
"""

from fieldtheory.simulate.compile_action import CompiledAction, CompiledSum, compile_action
from fieldtheory.simulate.inputs import InputSchedule
from fieldtheory.simulate.integrators import (
    ExponentialEuler,
    MapStepper,
    RungeKutta4,
    check_step,
    integrate,
    rate_bound,
)
from fieldtheory.simulate.lyapunov import LyapunovEstimator
from fieldtheory.simulate.network import BatchedCoupling, Network, realise, realise_trials
from fieldtheory.simulate.response import ResponseEstimator
from fieldtheory.simulate.run import RunPlan, SimulationResult, plan_run, simulate
from fieldtheory.simulate.tangent import OBSERVE, TangentMap, TangentStepper
from fieldtheory.simulate.transient import TransientEstimator

__all__ = [
    "BatchedCoupling",
    "CompiledAction",
    "CompiledSum",
    "OBSERVE",
    "ExponentialEuler",
    "InputSchedule",
    "LyapunovEstimator",
    "MapStepper",
    "Network",
    "ResponseEstimator",
    "RunPlan",
    "RungeKutta4",
    "SimulationResult",
    "TangentMap",
    "TangentStepper",
    "TransientEstimator",
    "check_step",
    "compile_action",
    "integrate",
    "plan_run",
    "rate_bound",
    "realise",
    "realise_trials",
    "simulate",
]
