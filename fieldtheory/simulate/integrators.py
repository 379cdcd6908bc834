r"""Time steppers for realised networks, their stability bound, and :func:`integrate`.

Continuous time, ∂_t x = −a x + r(x) + ξ with ⟨ξ ξᵀ⟩ = Q δ:

* **exponential Euler–Maruyama** (``"euler"``): the leak is integrated exactly,

  .. math:: x \leftarrow e^{-a\,dt} x + \varphi_1(a\,dt)\,dt\,r(x) + \tilde L\,\xi,
            \qquad \varphi_1(z) = (1 - e^{-z})/z,

  with ξ standard normal and L̃L̃ᵀ = Q_kl·dt·φ₁((a_k + a_l)dt) per site: the exact
  Ornstein–Uhlenbeck covariance of the leak and the noise over one step (for one field
  √(Q dt φ₁(2a dt))), so a leaky unit with white noise has the exact stationary variance
  Q/(2a) and its increments the exact variance; the drift r(x) is held over the step
  (weak order 1 in r).
* **classical Runge–Kutta** (``"rk4"``) on the full drift, for noise-free models.

Discrete time (maps): x(n+1) = r(x(n)) + L ξ(n).

Time-dependent parameters u(t) (:mod:`fieldtheory.simulate.inputs`; t = 0 at the state a
stepper starts from, t_n = n·dt): exponential Euler and maps use u(t_n) throughout step n,
which makes exponential Euler first order in dt for the input as well (a single leaky unit
driven by I(t) has a mean error ≤ sup|I'|·dt/2 in units of the leak); RK4 evaluates u at
t_n, t_n + dt/2 and t_n + dt and keeps its fourth order.

Every step is checked for overflow and NaN on one reduction of the state; the first
non-finite step raises :class:`~fieldtheory.errors.DivergenceError` with its index and time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from fieldtheory.errors import DivergenceError, ParameterError, UnstableStepError
from fieldtheory.simulate.inputs import make_schedule
from fieldtheory.simulate.network import Network

__all__ = [
    "METHODS",
    "STABILITY",
    "ExponentialEuler",
    "MapStepper",
    "RungeKutta4",
    "advance",
    "check_step",
    "choose_method",
    "integrate",
    "make_stepper",
    "rate_bound",
]

METHODS = ("auto", "euler", "rk4", "map")
#: |dt·λ| limits on the real axis: explicit Euler 2, classical RK4 2.785 (rounded down).
STABILITY = {"euler": 2.0, "rk4": 2.78}


def choose_method(method: str, *, discrete: bool, noisy: bool) -> str:
    """Resolve ``"auto"`` and refuse combinations that cannot work."""
    if method not in METHODS:
        raise ParameterError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if discrete:
        if method not in ("auto", "map"):
            raise ParameterError(f"method {method!r} does not apply to a map: its update is "
                                 "iterated as declared (method 'auto' or 'map')")
        return "map"
    if method == "map":
        raise ParameterError("method 'map' applies only to discrete-time models")
    if method == "auto":
        return "euler" if noisy else "rk4"
    if method == "rk4" and noisy:
        raise ParameterError("method 'rk4' cannot integrate noise; use 'euler' (the "
                             "Euler–Maruyama scheme) or 'auto'")
    return method


def rate_bound(network_or_compiled) -> float:
    r"""An upper estimate of the largest rate of the linearised drift.

    max_k |a_k| + max_k Σ_m ρ(J_m) · sup|∂f_k/∂c_m| · sup|f_m'|, with ρ(J_m) the ensemble's
    spectral-radius bound and f_m the presynaptic expression of coupling sum m (for SCS,
    PRL 61, 259 (1988): 1 + g·sup|φ'|). Given a realised network, a factorised
    (random-mode) coupling uses its own ‖J‖₂ by power iteration instead (6.9 against the
    ensemble's 20.6 at N = 2000, α = 1, β = 3, g = 2).

    Quenched per-unit variables (gains, f = G φ(x)): sup|f'| and sup|∂f_k/∂c| are taken on
    the realised values of every site (max_i |G_i| · sup|φ'| for a product), and the terms
    of r that hold them without a coupling sum (a per-site leak −G x) add max_k Σ_l
    sup|∂r_k/∂x_l| (:class:`~fieldtheory.simulate.compile_action.SiteBound`). Before the
    network is realised such a bound is unknown: ``inf``.
    """
    compiled = getattr(network_or_compiled, "compiled", network_or_compiled)
    realised = getattr(network_or_compiled, "couplings", None)
    if compiled.realised and realised is None:
        return math.inf
    if compiled.realised:
        network = network_or_compiled
        shape = (len(compiled.field_names), len(compiled.sums))

        def site(bounds) -> list[float]:
            return [b.sup(*shape, network.by_population, network.quenched) for b in bounds]

    def radius(k: int, s) -> float:
        # a realised random-mode coupling: its own norm by power iteration on the factors
        # (tight), instead of the ensemble's N → ∞ norm bound max|d|(1 + √α)² (loose)
        if realised is not None and s.ensemble.step_bound_from_realisation:
            return max(m.norm_estimate() for m in realised[k].matrices)
        return s.ensemble.spectral_radius_bound(compiled.values)

    def gain(s) -> float:
        return sum(site(s.gain_parts)) if s.gain_parts else s.gain_bound

    def weight(s) -> float:
        return max(site(s.weight_parts)) if s.weight_parts else s.weight_bound

    couplings = sum(radius(k, s) * weight(s) * gain(s) for k, s in enumerate(compiled.sums))
    leak = float(np.max(np.abs(compiled.leak))) if compiled.leak.size else 0.0
    if compiled.realised:
        leak += max((sum(site(parts)) for parts in compiled.local_parts), default=0.0)
    return leak + couplings


def check_step(network_or_compiled, dt: float, method: str) -> None:
    """Raise :class:`UnstableStepError` when dt·rate_bound exceeds the method's limit."""
    if method not in STABILITY:
        return
    bound = rate_bound(network_or_compiled)
    limit = STABILITY[method]
    if dt * bound > limit:
        raise UnstableStepError(
            f"dt = {dt:g} is unstable for method {method!r}: the drift's rate bound is "
            f"{bound:g}, so dt must be at most {limit / bound:g} (dt·bound ≤ {limit:g})"
        )


def _phi1(z: np.ndarray) -> np.ndarray:
    """(1 − e^{−z})/z, → 1 as z → 0 (expm1 keeps it accurate for small z)."""
    z = np.asarray(z, dtype=float)
    small = np.abs(z) < 1e-12
    safe = np.where(small, 1.0, z)
    return np.where(small, 1.0 - z / 2, -np.expm1(-safe) / safe)


def _ou_factor(network: Network, dt: float) -> np.ndarray | None:
    r"""Per site a square root of Q_kl·dt·φ₁((a_k + a_l)dt) — the covariance that the
    noise accumulates over one step under the exact leak — shape (K, K, N); None without
    noise."""
    F = np.asarray(network.noise_factor, dtype=float)
    if not np.any(F != 0):
        return None
    a = np.asarray(network.leak, dtype=float)  # (K, N)
    if F.shape[0] == 1:
        return F * np.sqrt(dt * _phi1(2 * a * dt))[None]
    Q = np.einsum("kmn,lmn->nkl", F, F)
    W = dt * _phi1((a[:, None, :] + a[None, :, :]).transpose(2, 0, 1) * dt)
    values, vectors = np.linalg.eigh(Q * W)
    root = vectors * np.sqrt(np.clip(values, 0, None))[:, None, :]
    return root.transpose(1, 2, 0)


class _NoiseSource:
    """Standard-normal draws per trial (from that trial's generator) times a factor
    (``factor`` (K, K, N), else the network's noise factor times ``scale``)."""

    def __init__(self, network: Network, rngs: Sequence[np.random.Generator] | None,
                 scale: float, factor: np.ndarray | None = None) -> None:
        factor = network.noise_factor * scale if factor is None else factor
        self.active = bool(np.any(factor != 0))
        if not self.active:
            return
        if rngs is None or len(rngs) != network.trials:
            raise ParameterError(f"a noisy network needs one generator per trial "
                                 f"({network.trials})")
        self.rngs = list(rngs)
        self.dtype = network.dtype
        self.buffer = np.empty(network.shape, dtype=network.dtype)
        K = network.fields
        # one field: the factor is a per-site scale, applied in place
        self.scalar = factor[0, 0] if K == 1 else None
        if self.scalar is not None and np.all(self.scalar == self.scalar[0]):
            self.scalar = self.dtype.type(self.scalar[0])
        self.factor = factor

    def add_to(self, x: np.ndarray) -> None:
        if not self.active:
            return
        for k, rng in enumerate(self.rngs):
            rng.standard_normal(dtype=self.dtype, out=self.buffer[k])
        if self.scalar is not None:
            self.buffer *= self.scalar
            x += self.buffer
        else:
            x += np.einsum("kln,tln->tkn", self.factor, self.buffer)


class ExponentialEuler:
    r"""x ← e^{−a dt} x + φ₁(a dt) dt r(x) + √dt L ξ (see the module docstring)."""

    def __init__(self, network: Network, dt: float, rngs=None) -> None:
        self.network = network
        a = network.leak.astype(float)
        self.decay = _compact(np.exp(-a * dt), network.dtype)
        self.weight = _compact(_phi1(a * dt) * dt, network.dtype)
        self.noise = _NoiseSource(network, rngs, 1.0, _ou_factor(network, dt))
        self.work = np.empty(network.shape, dtype=network.dtype)
        self.inputs = make_schedule(network.compiled.inputs, dt, network.dtype)

    def step(self, x: np.ndarray) -> None:
        if self.inputs is None:
            r = self.network.rest(x, self.work)
        else:
            r = self.network.rest(x, self.work, self.inputs.next_start())
        x *= self.decay
        r *= self.weight
        x += r
        self.noise.add_to(x)


class RungeKutta4:
    """The classical fourth-order Runge–Kutta step on f(x) = −a x + r(x) (no noise)."""

    def __init__(self, network: Network, dt: float, rngs=None) -> None:
        if network.compiled.is_noisy:
            raise ParameterError("method 'rk4' cannot integrate noise")
        self.network, self.dt = network, network.dtype.type(dt)
        self.leak = _compact(network.leak, network.dtype)
        self.k = [np.empty(network.shape, dtype=network.dtype) for _ in range(4)]
        self.stage = np.empty(network.shape, dtype=network.dtype)
        self.inputs = make_schedule(network.compiled.inputs, dt, network.dtype)

    def _f(self, x: np.ndarray, out: np.ndarray, inputs: tuple = ()) -> np.ndarray:
        self.network.rest(x, out, inputs)
        out -= self.leak * x
        return out

    def step(self, x: np.ndarray) -> None:
        k1, k2, k3, k4 = self.k
        dt, stage = self.dt, self.stage
        # u(t_n), u(t_n + dt/2), u(t_n + dt): the classical scheme's stage times
        start = middle = end = ()
        if self.inputs is not None:
            start, middle, end = self.inputs.next_step()
        self._f(x, k1, start)
        np.multiply(k1, dt / 2, out=stage)
        stage += x
        self._f(stage, k2, middle)
        np.multiply(k2, dt / 2, out=stage)
        stage += x
        self._f(stage, k3, middle)
        np.multiply(k3, dt, out=stage)
        stage += x
        self._f(stage, k4, end)
        k2 += k3
        k2 *= 2
        k1 += k2
        k1 += k4
        k1 *= dt / 6
        x += k1


class MapStepper:
    """x(n+1) = r(x(n)) + L ξ(n) for discrete-time models."""

    def __init__(self, network: Network, dt: float, rngs=None) -> None:
        self.network = network
        self.noise = _NoiseSource(network, rngs, 1.0)
        self.work = np.empty(network.shape, dtype=network.dtype)
        self.inputs = make_schedule(network.compiled.inputs, dt, network.dtype)

    def step(self, x: np.ndarray) -> None:
        inputs = () if self.inputs is None else self.inputs.next_start()
        x[...] = self.network.rest(x, self.work, inputs)
        self.noise.add_to(x)


_STEPPERS: dict[str, Callable] = {"euler": ExponentialEuler, "rk4": RungeKutta4,
                                  "map": MapStepper}


def _compact(values: np.ndarray, dtype: np.dtype):
    """A per-site array, or one scalar of ``dtype`` when every site shares the value."""
    values = np.asarray(values)
    if np.all(values == values.reshape(-1)[:1]):
        return dtype.type(values.reshape(-1)[0])
    return values.astype(dtype)


#: A state beyond this magnitude is diverging: no stationary network of rate units gets
#: there, and the estimators' products would lose all precision long before overflow.
DIVERGENCE_BOUND = 1e8
#: Steps between two tests of the bound (the finiteness test runs every step).
BOUND_EVERY = 16


def make_stepper(network: Network, dt: float, method: str, rngs=None):
    """The stepper for a resolved method (``"euler"``, ``"rk4"`` or ``"map"``)."""
    return _STEPPERS[method](network, dt, rngs)


def advance(stepper, x: np.ndarray, steps: int, first_step: int, dt: float) -> None:
    """Take ``steps`` steps in place; steps are numbered from ``first_step + 1``.

    Raises
    ------
    DivergenceError
        At the first step whose state is not finite (one reduction per step: cheap next to
        the coupling product), or, tested every :data:`BOUND_EVERY` steps, exceeds
        :data:`DIVERGENCE_BOUND` in magnitude.
    """
    step = stepper.step
    with np.errstate(all="ignore"):
        for i in range(steps):
            step(x)
            if math.isfinite(x.sum()) and (i + 1) % BOUND_EVERY:
                continue
            largest = float(max(np.max(x), -np.min(x)))
            if not largest <= DIVERGENCE_BOUND:  # NaN fails the comparison too
                index = first_step + i + 1
                what = (f"|x| reached {largest:.3g} > {DIVERGENCE_BOUND:g}"
                        if math.isfinite(largest) else "the state overflowed or became NaN")
                raise DivergenceError(
                    f"the simulation diverges: {what} at step {index} (t = {index * dt:g}, "
                    f"counted from the initial condition, burn-in included); the network is "
                    f"unstable at these parameters or dt is too large",
                    step=index, time=index * dt)


def integrate(
    network: Network,
    x0: np.ndarray,
    t_end: float,
    dt: float | None,
    method: str = "auto",
    rng: np.random.Generator | Sequence[np.random.Generator] | None = None,
) -> np.ndarray:
    """Integrate one realised network from ``x0`` to ``t_end``; return the final state.

    ``x0`` has shape (K, N) or (T, K, N) (T = ``network.trials``); ``t_end`` must be a whole
    number of steps ``dt`` (in discrete time ``dt`` is ``None`` or the map's step). Noise
    needs ``rng`` (one generator per trial). Couplings and the initial condition stay fixed,
    so successive calls with smaller ``dt`` measure the integrator's convergence order.
    Time-dependent parameters (``network.compiled.inputs``) see t = 0 at ``x0``.
    """
    compiled = network.compiled
    method = choose_method(method, discrete=compiled.is_discrete, noisy=compiled.is_noisy)
    if compiled.is_discrete:
        if dt is not None and abs(dt - compiled.step) > 1e-9 * compiled.step:
            raise ParameterError(f"dt = {dt:g} differs from the map's step {compiled.step:g}")
        dt = compiled.step
    if dt is None or dt <= 0:
        raise ParameterError(f"dt = {dt} must be a positive number")
    steps = round(t_end / dt)
    if steps < 0 or abs(steps * dt - t_end) > 1e-9 * max(abs(t_end), dt):
        raise ParameterError(f"t_end = {t_end:g} is not a whole number of steps dt = {dt:g}")
    check_step(network, dt, method)
    rngs = [rng] if isinstance(rng, np.random.Generator) else rng
    single = np.ndim(x0) == 2
    x = np.array(x0, dtype=network.dtype)[None] if single else np.array(x0, network.dtype)
    if x.shape != network.shape:
        raise ParameterError(f"x0 has shape {np.shape(x0)}, the network's state is "
                             f"{network.shape[1:]} per trial")
    advance(make_stepper(network, dt, method, rngs), x, steps, 0, dt)
    return x[0] if single else x
