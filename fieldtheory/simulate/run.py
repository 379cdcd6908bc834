r"""``simulate``: the reference simulation of a declared model, with streaming observables.

The pipeline, in order:

1. unwrap a Model to its action (the simulator sees nothing else) and resolve parameters;
2. lower the action to numpy callables (:func:`compile_action`): drift split into leak and
   rest, coupling sums, noise covariance, φ;
3. plan the run: method, dt, sampling step dτ, lags, burn-in and recorded samples; refuse
   unstable steps before anything runs;
4. realise one network per trial from ``default_rng([seed, k])``: couplings, then the
   quenched per-unit variables (gains; none drawn where the model has none), then the
   initial condition x ~ N(μ0, σ0²) (default N(0, 1)), then the noise; with quenched
   variables dt is planned again on the realised network's step bound;
5. step; every dτ push the first field into the streaming estimator (the ring buffer starts
   filling during the last τ_max of the burn-in) and, when requested, into the transient
   estimator (from the end of the burn-in, its first sample included);
6. read observables and standard errors off the estimator's sums;
7. only when requested (``observe``): tangent vectors stepped with the state by the exact
   derivative of the integrator give the Lyapunov exponent and the linear response
   (:mod:`fieldtheory.simulate.tangent`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from fieldtheory.errors import ParameterError, SimulationError
from fieldtheory.ir.action import Action
from fieldtheory.ir.model import Model, as_model
from fieldtheory.ir.parameters import parameter_values
from fieldtheory.jsonout import strict
from fieldtheory.observables import Observables, StreamingEstimator
from fieldtheory.progress import progress_bar
from fieldtheory.resources import require
from fieldtheory.simulate.collective import COLLECTIVE, CollectiveEstimator
from fieldtheory.simulate.compile_action import CompiledAction, compile_action
from fieldtheory.simulate.inputs import split_inputs
from fieldtheory.simulate.integrators import (
    STABILITY,
    advance,
    check_step,
    choose_method,
    make_stepper,
    rate_bound,
)
from fieldtheory.simulate.network import (
    Network,
    check_seed,
    realise_trials,
    trial_generators,
)
from fieldtheory.simulate.tangent import OBSERVE, TangentObservers, check_observe
from fieldtheory.simulate.transient import TransientEstimator, reference_indices

__all__ = ["RunPlan", "SimulationResult", "plan_run", "simulate"]

#: Sampled networks a layered simulation draws by default (its kernels' means and N·Var
#: need many; a rate network's default is one).
LAYERED_TRIALS = 100
#: Default steps: Euler–Maruyama is weak order 1 (bias ≈ a·dt), RK4 is accurate at 0.05.
DEFAULT_DT = {"euler": 0.01, "rk4": 0.05}
DTYPES = ("float64", "float32")
#: The observable that records population averages from the initial condition.
TRANSIENT = "transient"


@dataclass(frozen=True)
class SimulationResult:
    """What :func:`simulate` returns.

    ``t_max`` and ``t_burn`` are the durations actually simulated: the requested ones
    rounded to whole sampling intervals dτ (``t_burn`` up). Observables are those of the
    model's first field.

    ``inputs`` names the time-dependent parameters (their callables are not kept; ``params``
    holds the numbers only). Their time, like the ``transient`` grid, is run time: t = 0 at
    the initial condition x(0) ~ N(μ0, σ0²), ``initial = (μ0, σ0)``, so the recorded window
    is [t_burn, t_burn + t_max].
    """

    model: str
    params: dict[str, float]
    N: int
    trials: int
    dt: float
    t_max: float
    t_burn: float
    observables: Observables
    stderr: Observables
    method: str = ""
    dtau: float = 0.0
    seed: int = 0
    dtype: str = "float64"
    inputs: tuple[str, ...] = ()
    initial: tuple[float, float] = (0.0, 1.0)
    #: ``simulate(record=True)``: the first field every dτ after the burn-in, (units,
    #: samples) with trials stacked along the units, and each unit's population label.
    samples: np.ndarray | None = field(default=None, compare=False, repr=False)
    labels: np.ndarray | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """``{"model", "params", "N", "observables", "stderr"}`` in plain JSON types, and
        ``"inputs"`` (names of the time-dependent parameters) when there are any."""
        out = {
            "model": self.model,
            "params": {k: float(v) for k, v in self.params.items()},
            "N": int(self.N),
            "observables": self.observables.to_dict(),
            "stderr": self.stderr.to_dict(),
        }
        if self.inputs:
            out["inputs"] = list(self.inputs)
        return strict(out)


@dataclass(frozen=True)
class RunPlan:
    """Resolved numerical options of one simulation (all times in model units)."""

    method: str
    dt: float
    steps_per_sample: int
    lags: int
    burn_samples: int
    samples: int

    @property
    def dtau(self) -> float:
        return self.dt * self.steps_per_sample

    @property
    def total_steps(self) -> int:
        return (self.burn_samples + self.samples) * self.steps_per_sample


def _positive(name: str, value: float, *, zero: bool = False) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} = {value!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        bound = "non-negative" if zero else "positive"
        raise ParameterError(f"{name} = {value:g} must be {bound} and finite")
    return value


def _count(name: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != int(value):
        raise ParameterError(f"{name} = {value!r} must be an integer")
    if int(value) < least:
        raise ParameterError(f"{name} = {int(value)} must be at least {least}")
    return int(value)


def _steps_per_sample(compiled: CompiledAction, dt: float, dtau: float) -> int:
    ratio = dtau / dt
    steps = round(ratio)
    if compiled.is_discrete and ratio < 1:
        return 1  # a map cannot be sampled finer than its step
    if steps < 1 or abs(ratio - steps) > 1e-9 * ratio:
        raise ParameterError(f"dtau = {dtau:g} is not a positive multiple of dt = {dt:g}")
    return steps


def _choose_dt(compiled: CompiledAction, dt: float | None, dtau: float, method: str,
               network: Network | None = None) -> float:
    if compiled.is_discrete:
        step = compiled.step
        if dt is not None and abs(dt - step) > 1e-9 * step:
            raise ParameterError(f"dt = {dt:g} differs from the map's step {step:g}; a map's "
                                 "step is fixed by the model (pass dt=None)")
        return step
    if dt is not None:
        return _positive("dt", dt)
    nominal = DEFAULT_DT[method]
    # inf where the bound needs the realised quenched values (provisional: simulate plans
    # again on the realised network)
    bound = rate_bound(compiled if network is None else network)
    if 0 < bound < math.inf:
        nominal = min(nominal, 0.5 * STABILITY[method] / bound)
    # the largest dt ≤ nominal that divides dτ
    return dtau / math.ceil(dtau / nominal - 1e-9)


#: The lag range when none is given (shortened to what the run can estimate).
DEFAULT_TAU_MAX = 20.0


def _factorised(compiled: CompiledAction) -> bool:
    """Whether a coupling's step bound is its realised ‖J‖₂ (random modes), checked after
    the couplings are drawn and before any step."""
    return any(s.ensemble.step_bound_from_realisation for s in compiled.sums)


def plan_run(compiled: CompiledAction, *, t_max: float, t_burn: float, dt: float | None,
             trials: int, tau_max: float | None, dtau: float, method: str,
             blocks: int, network: Network | None = None) -> RunPlan:
    """Check and resolve the numerical options; raise before anything runs.

    Where the step bound needs the realised network (quenched per-unit variables,
    ``compiled.realised``), the plan without ``network`` is provisional (its dt is not
    checked) and :func:`simulate` plans again with the realised ``network``: the default dt
    and the stability check then use its own bound.
    """
    t_max, t_burn = _positive("t_max", t_max), _positive("t_burn", t_burn, zero=True)
    given_tau = tau_max is not None
    tau_max = _positive("tau_max", DEFAULT_TAU_MAX if tau_max is None else tau_max)
    dtau = _positive("dtau", dtau)
    method = choose_method(method, discrete=compiled.is_discrete, noisy=compiled.is_noisy)
    dt = _choose_dt(compiled, dt, dtau, method, network)
    if network is not None:
        check_step(network, dt, method)
    elif not (_factorised(compiled) or compiled.realised):
        check_step(compiled, dt, method)  # else checked on the realised network (simulate)
    steps = _steps_per_sample(compiled, dt, dtau)
    dtau = steps * dt
    if tau_max < dtau * (1 - 1e-9):
        raise ParameterError(f"tau_max = {tau_max:g} is shorter than dtau = {dtau:g}")
    lags = math.floor(tau_max / dtau + 1e-9)
    samples = round(t_max / dtau)
    least = 2 * blocks if trials == 1 else 2
    if samples < least:
        raise ParameterError(
            f"t_max = {t_max:g} holds {samples} samples of dtau = {dtau:g}; at least {least} "
            f"are needed" + (f" (2 per block, blocks = {blocks})" if trials == 1 else ""))
    burn = math.ceil(t_burn / dtau - 1e-9)
    if not given_tau:  # the default lag range: as far as the run can estimate, ≤ 20
        lags = max(1, min(lags, burn + min(samples, samples // blocks if trials == 1
                                                 else samples) - 1))
    _check_lags(lags, burn, samples, samples // blocks if trials == 1 else samples,
                tau_max=tau_max, t_burn=t_burn, t_max=t_max, dtau=dtau, blocks=blocks,
                trials=trials)
    return RunPlan(method, dt, steps, lags, burn, samples)


def _check_lags(lags: int, burn: int, samples: int, per_estimate: int, **given) -> None:
    """Every lag needs a sample that far back in each estimate: within the recorded window
    and burn-in (the lag buffer is prefilled from the burn-in), and, for errors across
    ``blocks`` of one trial, within one block and the burn-in — else its value or its
    standard error would be NaN. Refused before anything runs."""
    longest = burn + min(samples, per_estimate) - 1
    if lags > longest:
        within = "t_burn + t_max" if per_estimate >= samples else "t_burn + t_max/blocks"
        raise ParameterError(
            f"tau_max = {given['tau_max']:g} needs lags up to {lags * given['dtau']:g}, longer "
            f"than the run can estimate ({within} − dtau = {longest * given['dtau']:g} with "
            f"t_burn = {given['t_burn']:g}, t_max = {given['t_max']:g}, blocks = "
            f"{given['blocks']}, trials = {given['trials']}): lengthen t_max or t_burn, or use "
            "fewer blocks or more trials")


def _unwrap(model_or_action: Model | Action | str) -> tuple[Action, str]:
    model = as_model(model_or_action, actions=True)  # a name or a path loads the model
    if isinstance(model, Model):
        return model.action, model.name
    return model, "action"


def _record(network: Network, stepper, estimator: StreamingEstimator, plan: RunPlan,
            x: np.ndarray, bar, tangent: TangentObservers | None = None,
            transient: TransientEstimator | None = None,
            collective: CollectiveEstimator | None = None,
            samples: np.ndarray | None = None) -> None:
    """Step through burn-in and recording; push a sample every dτ."""
    steps, dt = plan.steps_per_sample, plan.dt
    prefill = min(plan.lags, plan.burn_samples)  # burn-in samples that fill the ring
    done = 0
    if transient is not None and plan.burn_samples == 0:
        transient.push(x[:, 0], network.phi(x), 0)  # the initial condition itself
    for _ in range(plan.burn_samples - prefill):
        advance(stepper, x, steps, done, dt)
        done += steps
        bar.update(steps)
        if tangent is not None:
            tangent.burn()
    for r in range(prefill + plan.samples):
        advance(stepper, x, steps, done, dt)
        done += steps
        phi = network.phi(x)
        estimator.push(x[:, 0], phi, network.gain(x), record=r >= prefill)
        if collective is not None and r >= prefill:
            collective.push(x[:, 0], phi, network.output(x, phi))
        if samples is not None and r >= prefill:
            samples[:, :, r - prefill] = x[:, 0]
        if transient is not None and r + 1 >= prefill:
            transient.push(x[:, 0], phi, r + 1 - prefill)
        bar.update(steps)
        if tangent is not None:
            tangent.sample(r - prefill) if r >= prefill else tangent.burn()
    if collective is not None:
        collective.finish()


def _initial(initial: Any) -> tuple[float, float]:
    try:
        mu0, sigma0 = (float(v) for v in initial)
    except (TypeError, ValueError):
        raise ParameterError(f"initial = {initial!r} must be a pair (mu0, sigma0) of "
                             "numbers") from None
    if not math.isfinite(mu0):
        raise ParameterError(f"initial mean mu0 = {mu0:g} must be finite")
    _positive("initial sigma0", sigma0, zero=True)
    return mu0, sigma0


def _observe(observe: Sequence[str] | str) -> tuple[tuple[str, ...], bool, tuple[str, ...]]:
    """(tangent observables, whether the transient is requested, collective observables);
    unknown names raise, listing the valid ones."""
    names = (observe,) if isinstance(observe, str) else tuple(observe)
    valid = (*OBSERVE, TRANSIENT, *COLLECTIVE)
    unknown = sorted(set(names) - set(valid))
    if unknown:
        raise ParameterError(f"unknown observable(s) {', '.join(map(repr, unknown))} in "
                             f"observe; choose from {', '.join(valid)}")
    tangent = check_observe([n for n in names if n in OBSERVE])
    return tangent, TRANSIENT in names, tuple(n for n in COLLECTIVE if n in names)


def _resolve(action: Action, params: Mapping[str, Any] | None) -> tuple[dict, dict]:
    """(numbers, inputs): numbers resolved (defaults, names, domains), callables by name."""
    numbers, inputs = split_inputs(parameter_values(params))
    values = action.parameters.resolve(numbers)
    for name in inputs:
        action.parameters[name]  # unknown names raise UnknownParameterError
        del values[name]
    return values, inputs


def simulate(
    model_or_action: Model | Action,
    params: Mapping[str, float | Callable[[float], float]] | None = None,
    *,
    N: int = 1000,
    t_max: float = 100.0,
    t_burn: float = 50.0,
    dt: float | None = None,
    trials: int | None = None,
    seed: int = 0,
    dtype: str = "float64",
    tau_max: float | None = None,
    dtau: float = 0.25,
    method: str = "auto",
    blocks: int = 8,
    progress: bool = False,
    observe: Sequence[str] = (),
    initial: tuple[float, float] = (0.0, 1.0),
    transient_times: Sequence[float] | None = None,
    segment_time: float | None = None,
    record: bool = False,
) -> SimulationResult:
    r"""Simulate a model's Langevin equation (or map) and estimate its observables.

    The model is read only through its action: drift and noise from
    :func:`~fieldtheory.ir.langevin.read_langevin`, couplings from its ensembles. For the
    SCS network (Sompolinsky, Crisanti & Sommers, PRL 61, 259 (1988)) this integrates
    ∂_t x_i = −x_i + Σ_j J_ij φ(x_j) + I + ξ_i.

    Parameters
    ----------
    model_or_action : Model, Action, or str
        A model, an action, or what :func:`~fieldtheory.ir.model.load_model` takes (a
        shipped model's name, a model file's path).
    params : mapping, optional
        Parameter values by name; defaults fill the rest (unknown names raise
        :class:`~fieldtheory.errors.UnknownParameterError`). A value may be a callable of
        time u(t) instead of a number — a step ``lambda t: 0.5 * (t >= 10)``, a sinusoid,
        a numpy-vectorised function — wherever the parameter enters the drift outside
        coupling sums (elsewhere :class:`~fieldtheory.errors.SimulationError` names it).
        t is run time, 0 at the initial condition, burn-in included. Domains are checked
        for numbers only. Exponential Euler (and maps) take u at the start of each step
        (an O(dt) error), RK4 at t, t + dt/2, t + dt (:mod:`fieldtheory.simulate.inputs`).
    N : int
        Number of sites (split into populations by their fractions).
    t_max : float
        Recorded duration after the burn-in (model time units; a map's step counts
        ``step`` units).
    t_burn : float
        Discarded transient.
    dt : float, optional
        Time step; by default 0.01 (Euler–Maruyama) or 0.05 (RK4), at most half the
        stability limit, and a divisor of ``dtau``. For a map, its step (``None`` or equal).
    trials : int, optional
        Independent realisations (couplings, initial condition, noise) run side by side;
        trial k uses ``np.random.default_rng([seed, k])``. Default 1 (a layered network:
        :data:`LAYERED_TRIALS` sampled networks, run in blocks, block b drawing from
        ``default_rng([seed, b])``).
    seed : int
        Any non-negative integer, of any size (each its own stream); a float only below
        2**53, where it is exact.
    dtype : {"float64", "float32"}
        Precision of the state and the couplings; estimator sums are float64.
    tau_max, dtau : float
        Largest lag and sampling interval of the autocorrelations (dτ a multiple of dt; for
        a map, a dτ below one step samples every step). Default tau_max: 20, shortened to
        what the run can estimate (t_burn + t_max, or t_burn + t_max/blocks for errors
        across blocks of one trial); a tau_max given beyond that is refused.
    method : {"auto", "euler", "rk4", "map"}
        ``"auto"``: RK4 without noise, exponential Euler–Maruyama with noise, iteration
        for maps.
    blocks : int
        Time blocks for the standard errors when ``trials == 1``.
    progress : bool
        Show a progress bar on stderr.
    observe : sequence of {"lyapunov_max", "response", "response_common", "transient"}
        Extra observables. From tangent vectors stepped with the state (none by default,
        at no cost): the maximal Lyapunov exponent (Benettin's method), the single-site
        linear response to kicks with random signs, and the response to a common kick
        (:mod:`fieldtheory.simulate.tangent`). Each costs about one more coupling
        product per step (four with RK4); the trajectory is the same up to rounding
        (the tangent draws its random vectors and signs from generators of its own); not
        available with time-dependent parameters. ``"transient"``: population averages
        m(t), K(t, t), ⟨φ⟩(t) and C(t, t_a) on the grid t = t_burn + k·dτ, k = 0 … t_max/dτ
        (:mod:`fieldtheory.simulate.transient`; usually with ``t_burn=0``).
    initial : (float, float)
        (μ0, σ0): every unit and field starts from x(0) ~ N(μ0, σ0²), independently. The
        default (0, 1) reproduces earlier results bit for bit; every choice draws the same
        standard normals, so the noise that follows is the same.
    transient_times : sequence of float, optional
        Reference times t_a of the transient's C(t, t_a), on the sampling grid of the
        recorded window (run time); by default its start, quarter and half.
        ``observe`` may also name the O(1/N) observables ``dimension`` (with ``psi``),
        ``dimension_z`` (of the z-scored units), ``population_variance``,
        ``population_spectrum``, ``population_spectrum_phi`` and ``cross_covariance``
        (:mod:`fieldtheory.simulate.collective`; with quenched gains the dimension's φ
        is the output Φ = G φ): streamed, with
        standard errors, memory independent of ``t_max`` (``dimension``: four N × N
        accumulators per trial). A requested ``population_spectrum`` is recomputed with
        the ``segment_time`` segments (both are about the run's mean).
    segment_time : float, optional
        Segment length of the collective spectra (model time; default 2·tau_max). Near the
        magnetic transition the population mode's linewidth is 1 − J0⟨φ'⟩: use segments
        ≳ 10/(1 − J0⟨φ'⟩).
    record : bool
        Keep the first field every dτ after the burn-in (``SimulationResult.samples``,
        (trials·N, samples), trials stacked along the units, float64, with ``labels`` the
        population index of each unit): what ``simulate --save`` writes as a data file
        (:mod:`fieldtheory.activity`). Memory trials·N·samples·8 bytes, checked first.

    Returns
    -------
    SimulationResult
        Observables of the first field (see :mod:`fieldtheory.observables`) and their
        standard errors.
    """
    action, name = _unwrap(model_or_action)
    from fieldtheory.ir.posterior import Posterior

    if isinstance(action, Posterior):  # a static model: posterior samples, not dynamics
        raise SimulationError(
            f"simulate {name}: a Bayesian posterior model has no dynamics; sample it with "
            "fieldtheory.posterior_solve.simulate_posterior(model, N=…, samples=…, chains=…) "
            "(the command line's simulate does)")
    from fieldtheory.ir.spiking import SpikingNetwork

    if isinstance(action, SpikingNetwork):  # spiking networks have their own engines
        raise SimulationError(
            f"simulate {name}: a spiking network is simulated by "
            "fieldtheory.spiking_solve.simulate_spiking_model(model, t_max=…, engine=…) "
            "(the command line's simulate does)")
    if action.time.is_layered:  # deep and recurrent networks: sampled empirical kernels
        from fieldtheory.ir.model import Model
        from fieldtheory.simulate.layered import simulate_layered

        if observe:
            raise SimulationError(f"simulate {name}: a layered network reports its kernels "
                                  f"(kernel, kernel_cross, kernel_variance); observe "
                                  f"{list(observe)} is not available for it")

        values, depth, observables, stderr = simulate_layered(
            Model(name, action, name), params, N=N,
            trials=LAYERED_TRIALS if trials is None else trials, seed=seed, progress=progress)
        trials = LAYERED_TRIALS if trials is None else trials
        return SimulationResult(name, values, N, trials, 1.0, float(depth), 0.0, observables,
                                stderr, method="layers", seed=seed)
    values, inputs = _resolve(action, params)
    initial = _initial(initial)
    N = _count("N", N, 1)
    trials = _count("trials", 1 if trials is None else trials, 1)
    seed = check_seed(seed)
    blocks = _count("blocks", blocks, 2 if trials == 1 else 1)
    if str(dtype) not in DTYPES:
        raise ParameterError(f"dtype = {dtype!r}; use one of {', '.join(DTYPES)}")
    observe, record_transient, collective_keys = _observe(observe)
    compiled = compile_action(action, {**values, **inputs})
    plan = plan_run(compiled, t_max=t_max, t_burn=t_burn, dt=dt, trials=trials,
                    tau_max=tau_max, dtau=dtau, method=method, blocks=blocks)
    dimension = bool({"dimension", "dimension_z", "psi"} & set(collective_keys))
    # dimension: per field and trial, the running float64 moment, B float32 block moments,
    # and at the end B float64 centred block covariances plus one scaled temporary
    require(_memory_estimate(compiled, N, trials, plan, np.dtype(str(dtype)).itemsize)
            + (trials * 2 * N * (N * (16 + 12 * blocks) + 64 * 8) if dimension else 0)
            + (8 * trials * N * plan.samples if record else 0),
            f"simulate {name}: N = {N}, trials = {trials}, {plan.lags + 1} lags"
            + (f", observe dimension ({blocks} + 1 N × N moments per field, and {blocks} "
               "at the end)" if dimension else "")
            + (f", recording {trials * N} units × {plan.samples} samples" if record else ""))
    rngs = trial_generators(seed, trials)
    network = realise_trials(compiled, N, rngs, str(dtype))
    if compiled.realised:  # the step bound of the realised gains: dt planned again
        plan = plan_run(compiled, t_max=t_max, t_burn=t_burn, dt=dt, trials=trials,
                        tau_max=tau_max, dtau=dtau, method=method, blocks=blocks,
                        network=network)
    elif _factorised(compiled):
        check_step(network, plan.dt, plan.method)
    x = network.initial_state(rngs, initial)
    stepper = make_stepper(network, plan.dt, plan.method, rngs)
    tangent = None
    if observe:
        tangent = TangentObservers(network, stepper, plan, observe, seed=seed, blocks=blocks)
        stepper = tangent.stepper
    estimator = StreamingEstimator(
        network.sizes, [p.name for p in action.populations], trials=trials, lags=plan.lags,
        dtau=plan.dtau, samples=plan.samples, blocks=blocks, dtype=network.dtype)
    collective = None
    if collective_keys:
        segment = round((segment_time if segment_time is not None else 2 * plan.lags
                         * plan.dtau) / plan.dtau)
        if not 4 <= segment <= plan.samples:
            raise ParameterError(
                f"spectrum segment of {segment} samples: it must hold at least 4 samples "
                f"and at most the {plan.samples} recorded")
        collective = CollectiveEstimator(
            network.sizes, [p.name for p in action.populations], trials=trials,
            samples=plan.samples, blocks=blocks, lags=plan.lags, dtau=plan.dtau,
            segment=segment, dimension=dimension,
            dimension_z="dimension_z" in collective_keys)
    transient = None
    if record_transient:
        t_start = plan.burn_samples * plan.dtau
        transient = TransientEstimator(
            network.sizes, [p.name for p in action.populations], trials=trials,
            samples=plan.samples, t_start=t_start, dtau=plan.dtau, groups=blocks,
            references=reference_indices(transient_times, t_start=t_start, dtau=plan.dtau,
                                         samples=plan.samples))
    samples = (np.empty((trials, network.N, plan.samples)) if record else None)
    with np.errstate(all="ignore"), progress_bar(plan.total_steps, enabled=progress,
                                                 description=f"simulate {name}") as bar:
        _record(network, stepper, estimator, plan, x, bar, tangent, transient, collective,
                samples)
    observables, stderr = estimator.observables()
    if collective is not None:
        observables, stderr = _add_collective(observables, stderr, collective,
                                              collective_keys)
    if transient is not None:
        observables, stderr = _add_transient(observables, stderr, transient)
    if tangent is not None:
        observables, stderr = tangent.add_to(observables, stderr, plan.dtau)
    if not np.isfinite(observables["variance"]):
        raise SimulationError("the observables are not finite: the state grew too large for "
                              "its products to be represented")
    return SimulationResult(
        model=name, params=values, N=N, trials=trials, dt=plan.dt,
        t_max=plan.samples * plan.dtau, t_burn=plan.burn_samples * plan.dtau,
        observables=observables, stderr=stderr, method=plan.method, dtau=plan.dtau,
        seed=seed, dtype=str(dtype), inputs=tuple(inputs), initial=initial,
        samples=None if samples is None else samples.reshape(trials * network.N, -1),
        labels=None if samples is None else np.tile(
            np.repeat(np.arange(len(network.sizes)), network.sizes), trials))


def _memory_estimate(compiled, N: int, trials: int, plan, itemsize: int) -> int:
    """Bytes the run holds at once: every trial's sampled couplings (one realisation of an
    ensemble per coupling it is attached to, :meth:`Ensemble.sample_nbytes`), and per
    trial the state and the lag buffers of the estimators (N × (lags + 1) × 3 float64 for
    x, φ and the autocorrelation sums)."""
    couplings = sum(ensemble.sample_nbytes(N, compiled.values, itemsize)
                    for _, ensemble in compiled.action.couplings)
    fields = len(compiled.action.fields)
    history = N * fields * (plan.lags + 1) * 3 * 8
    return trials * (couplings + history)


def _add_collective(observables: Observables, stderr: Observables,
                    collective: CollectiveEstimator, keys: tuple[str, ...]):
    """The observables with the requested collective keys, network-wide and per population
    (``dimension`` brings ``psi`` with it)."""
    if "dimension" in keys or "psi" in keys:
        keys = tuple(dict.fromkeys((*keys, "dimension", "psi")))
    autocorrelation = {"all": np.asarray(observables["autocorrelation"]["values"])}
    for name, obs in observables.populations.items():
        autocorrelation[name] = np.asarray(obs["autocorrelation"]["values"])
    values, errors = collective.estimates(autocorrelation)

    def pick(table):
        return {k: v for k, v in table.items() if k in keys}

    out = []
    for obs, table in ((observables, values), (stderr, errors)):
        populations = {name: replace(p, **pick(table[name]))
                       for name, p in obs.populations.items()}
        out.append(replace(obs, **pick(table["all"]), populations=populations))
    return out[0], out[1]


def _add_transient(observables: Observables, stderr: Observables,
                   transient: TransientEstimator) -> tuple[Observables, Observables]:
    """The observables with ``transient`` filled in, network-wide and per population."""
    series = transient.estimate()
    out = []
    for which, obs in enumerate((observables, stderr)):
        populations = {name: replace(pop, transient=series[name][which])
                       for name, pop in obs.populations.items()}
        out.append(replace(obs, transient=series["all"][which], populations=populations))
    return out[0], out[1]
