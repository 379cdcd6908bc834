r"""The tangent (linearised) dynamics of a realised network, stepped with the trajectory.

For ∂_t x = −a x + r(x) + ξ (or a map x(n+1) = r(x(n)) + ξ(n)) the tangent vectors obey
δẋ = (−a + Dr(x)) δx, with the Jacobian-vector product

.. math:: Dr(x)\,v = \sum_l \frac{\partial r}{\partial x_l} v_l
          + \sum_m \frac{\partial r}{\partial c_m}\, J_m \Big(\sum_l
          \frac{\partial f_m}{\partial x_l} v_l\Big),\qquad c_m = J_m f_m(x),

the partial derivatives taken symbolically from the action's drift (for the SCS network,
Dr(x) v = J diag(φ'(x)) v). :class:`TangentStepper` advances the tangent vectors by the
*exact derivative of the integrator's step* — exponential Euler, RK4 or the map — so that
exponents and responses are those of the simulated scheme, not of a finite-difference
twin. Additive noise drops out of the derivative: along a noisy path the tangent is the
linearisation of the noise-driven flow (a twin trajectory with the same noise).

:class:`TangentObservers` owns the tangent vectors requested by ``simulate(...,
observe=...)`` — Lyapunov vectors (:mod:`~fieldtheory.simulate.lyapunov`) and kicked
response vectors (:mod:`~fieldtheory.simulate.response`) — as columns of one array of
shape (T, K, N, k), so that all of them share each coupling product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import sympy as sp

from fieldtheory.errors import ParameterError, SimulationError
from fieldtheory.ir.langevin import read_langevin
from fieldtheory.observables import Curve, Observables
from fieldtheory.simulate.compile_action import _lambdify, _Lowering
from fieldtheory.simulate.network import BatchedCoupling, Network

__all__ = ["OBSERVE", "TangentMap", "TangentObservers", "TangentStepper", "check_observe"]

#: Observables computed from tangent vectors, on request.
OBSERVE = ("lyapunov_max", "response", "response_common")


def check_observe(observe: Sequence[str] | str) -> tuple[str, ...]:
    """The requested tangent observables, in :data:`OBSERVE` order; unknown names raise."""
    names = (observe,) if isinstance(observe, str) else tuple(observe)
    unknown = sorted(set(names) - set(OBSERVE))
    if unknown:
        raise ParameterError(f"unknown observable(s) {', '.join(map(repr, unknown))} in "
                             f"observe; choose from {', '.join(OBSERVE)}")
    return tuple(name for name in OBSERVE if name in names)


def couple(coupling: BatchedCoupling, v: np.ndarray) -> np.ndarray:
    """J^(t) v_t for every trial t; ``v`` has shape (T, N, k) (k vectors).

    One matrix-vector product per vector: for a few vectors BLAS's gemv beats a skinny
    gemm by far (measured: OpenBLAS, N = 1000, 2 columns, ≈ 4×).
    """
    out = np.empty_like(v)
    for j in range(v.shape[-1]):
        out[..., j] = coupling.matvec(np.ascontiguousarray(v[..., j]))
    return out


class TangentMap:
    r"""The Jacobian-vector product Dr(x)·V of a network's drift without its leak (or of a
    map's update), from derivatives of the action's drift taken with sympy.

    :meth:`evaluate` gives r(x) and Dr(x)·V together: x of shape (T, K, N), V of shape
    (T, K, N, k). ``expressions`` holds the non-zero derivatives (sympy), by
    (``"dr"``, k, l), (``"dr/dc"``, k, m) and (``"df"``, m, l).
    """

    def __init__(self, network: Network) -> None:
        compiled = network.compiled
        if compiled.inputs:
            raise SimulationError(
                f"tangent observables (Lyapunov exponent, responses) are not supported with "
                f"time-dependent parameters ({', '.join(compiled.inputs)}); pass numbers")
        action = compiled.action
        # lower the drift again, keeping the placeholders (fields x_l, sums c_m, by-population
        # b) that the compiled callables hide; the order of the sums is compile_action's
        lowering = _Lowering(action, compiled.values, action.time.symbol)
        system = read_langevin(action)
        for expr in (*system.drift, *system.noise):
            lowering.collect(expr)
        drifts = [lowering.lower(d) for d in system.drift]
        if compiled.is_discrete:
            rests = drifts
        else:
            rests = [lowering.split_leak(d, x)[1]
                     for d, x in zip(drifts, lowering.xs, strict=True)]
        # per-site arguments: by-population values, then quenched ones (gains G_i), so the
        # Jacobian holds the realised gains (J diag(G φ'(x)) for f = G φ)
        xs, cs, bs = lowering.xs, lowering.cs, lowering.sites
        args = (*xs, *cs, *bs)
        presynaptic = [lowering.lower(s.presynaptic) for s in lowering.sums]
        self.network = network
        self.expressions = {}
        # ∂r_k/∂x_l and ∂r_k/∂c_m (functions of fields, sums, by-population values)
        self.field_terms = [[self._compile(args, r.diff(x), ("dr", k, l))
                             for l, x in enumerate(xs)] for k, r in enumerate(rests)]
        self.sum_terms = [[self._compile(args, r.diff(c), ("dr/dc", k, m))
                           for m, c in enumerate(cs)] for k, r in enumerate(rests)]
        # ∂f_m/∂x_l of each presynaptic expression
        self.pre_terms = [[self._compile((*xs, *bs), f.diff(x), ("df", m, l))
                           for l, x in enumerate(xs)] for m, f in enumerate(presynaptic)]
        self.used_sums = [m for m in range(len(cs))
                          if any(row[m] is not None for row in self.sum_terms)]

    def _compile(self, args, expr: sp.Expr, key):
        """A callable for a non-zero derivative, or None (the term drops out)."""
        if expr == 0:
            return None
        self.expressions[key] = expr
        return _lambdify(args, expr)

    def _value(self, fn, args, shape) -> np.ndarray:
        """A derivative evaluated per site, with a trailing axis for the k vectors."""
        value = fn(*args)
        if type(value) is np.ndarray and value.shape == shape:
            return value[..., None]
        return np.broadcast_to(np.asarray(value, dtype=self.network.dtype), shape)[..., None]

    def evaluate(self, x: np.ndarray, V: np.ndarray, rest: np.ndarray,
                 jvp: np.ndarray) -> None:
        """rest = r(x) and jvp = Dr(x)·V, sharing one product per coupling.

        Each coupling multiplies [f_m(x), Σ_l ∂f_m/∂x_l V_l] together, so J is read from
        memory once per evaluation (the products are memory-bound for large N).
        """
        network = self.network
        fields = [x[:, k] for k in range(x.shape[1])]
        shape, bs = fields[0].shape, network.site_values
        sums, coupled = [], {}
        for m, (term, coupling) in enumerate(zip(network.compiled.sums, network.couplings,
                                                  strict=True)):
            pre = np.broadcast_to(np.asarray(term.presynaptic(*fields, *bs),
                                             dtype=network.dtype), shape)
            if m not in self.used_sums:
                sums.append(coupling.matvec(pre))
                continue
            u = np.zeros(V[:, 0].shape, dtype=network.dtype)
            for l, fn in enumerate(self.pre_terms[m]):
                if fn is not None:
                    u += self._value(fn, (*fields, *bs), shape) * V[:, l]
            both = couple(coupling, np.concatenate([pre[..., None], u], axis=-1))
            sums.append(both[..., 0])
            coupled[m] = both[..., 1:]
        args = (*fields, *sums, *bs)
        for k, function in enumerate(network.compiled.rest):
            rest[:, k] = function(*args)
            jvp[:, k] = 0
            for l, fn in enumerate(self.field_terms[k]):
                if fn is not None:
                    jvp[:, k] += self._value(fn, args, shape) * V[:, l]
            for m in self.used_sums:
                fn = self.sum_terms[k][m]
                if fn is not None:
                    jvp[:, k] += self._value(fn, args, shape) * coupled[m]


class TangentStepper:
    r"""A stepper that advances the state x and the tangent vectors V together.

    V (shape (T, K, N, k)) is advanced by the derivative of the base stepper's step:

    * exponential Euler: V ← e^{−a dt} V + φ₁(a dt) dt Dr(x) V (x before the step);
    * RK4: the RK4 stages of the variational system (x, V), stage by stage, so that V
      follows D(RK4 step)·V exactly;
    * map: V ← Dr(x) V.

    The state is stepped by the same scheme as the base stepper (with its noise); the
    couplings multiply state and tangent vectors in one product, so the trajectory equals
    the base stepper's up to rounding. While ``active`` is False only x is stepped, by the
    base stepper.
    """

    def __init__(self, base, method: str, tangent: TangentMap, vectors: np.ndarray) -> None:
        self.base, self.method, self.tangent = base, method, tangent
        self.vectors = vectors
        self.active = True
        stages = 4 if method == "rk4" else 1
        network = tangent.network
        self.rest = [np.empty(network.shape, dtype=network.dtype) for _ in range(stages)]
        self.jvp = [np.empty_like(vectors) for _ in range(stages)]
        self.state_stage = np.empty(network.shape, dtype=network.dtype)
        self.tangent_stage = np.empty_like(vectors)
        if method == "euler":
            self.decay, self.weight = base.decay, base.weight
        elif method == "rk4":
            self.leak = base.leak

    @staticmethod
    def _trailing(value):
        """A per-site (K, N) coefficient with an axis for the k vectors; scalars as they are."""
        value = np.asarray(value)
        return value[..., None] if value.ndim else value[()]

    def step(self, x: np.ndarray) -> None:
        if not self.active:
            self.base.step(x)
        elif self.method == "rk4":
            self._step_rk4(x)
        else:
            V, r, jv = self.vectors, self.rest[0], self.jvp[0]
            self.tangent.evaluate(x, V, r, jv)
            if self.method == "euler":
                x *= self.decay
                r *= self.weight
                x += r
                V *= self._trailing(self.decay)
                jv *= self._trailing(self.weight)
                V += jv
            else:
                x[...] = r
                V[...] = jv
            self.base.noise.add_to(x)

    def _stage(self, x: np.ndarray, V: np.ndarray, i: int) -> None:
        """k_i = −a x + r(x) and K_i = (−a + Dr(x)) V into the i-th stage buffers."""
        k, K = self.rest[i], self.jvp[i]
        self.tangent.evaluate(x, V, k, K)
        k -= self.leak * x
        K -= self._trailing(self.leak) * V

    def _step_rk4(self, x: np.ndarray) -> None:
        dt = self.base.dt
        V, stage, S = self.vectors, self.state_stage, self.tangent_stage
        k1, k2, k3, k4 = self.rest
        K1, K2, K3, K4 = self.jvp
        self._stage(x, V, 0)
        for i, (k, K, h) in enumerate(((k1, K1, dt / 2), (k2, K2, dt / 2), (k3, K3, dt)),
                                      start=1):
            np.multiply(k, h, out=stage)
            stage += x
            np.multiply(K, h, out=S)
            S += V
            self._stage(stage, S, i)
        for y, a, b, c, d in ((x, k1, k2, k3, k4), (V, K1, K2, K3, K4)):
            b += c
            b *= 2
            a += b
            a += d
            a *= dt / 6
            y += a


class TangentObservers:
    """The tangent vectors of the requested observables and their estimators.

    Columns of the tangent array: first the Lyapunov vectors, then one column per
    response (random signs; common input). Lyapunov vectors start at t = 0 from
    ``default_rng([seed, k, 1])`` for trial k; the kick signs come from
    ``default_rng([seed, k, 2])`` — neither touches the generator of couplings, initial
    state and noise, so a run with and without ``observe`` has the same trajectory.
    """

    def __init__(self, network: Network, stepper, plan, observe: Sequence[str], *,
                 seed: int, blocks: int, lyapunov_vectors: int = 1) -> None:
        from fieldtheory.simulate.lyapunov import LyapunovEstimator
        from fieldtheory.simulate.response import ResponseEstimator

        self.observe = check_observe(observe)
        T = network.trials
        self.lyapunov = None
        self.responses: list[tuple[str, ResponseEstimator]] = []
        columns = lyapunov_vectors if "lyapunov_max" in self.observe else 0
        kicks = [name for name in ("response", "response_common") if name in self.observe]
        vectors = np.zeros((*network.shape, columns + len(kicks)), dtype=network.dtype)
        spread = blocks if T == 1 else 1
        if columns:
            self.lyapunov = LyapunovEstimator(
                vectors[..., :columns], [np.random.default_rng([seed, k, 1]) for k in range(T)],
                dtau=plan.dtau, samples=plan.samples, blocks=spread)
        for c, name in enumerate(kicks, start=columns):
            rngs = ([np.random.default_rng([seed, k, 2]) for k in range(T)]
                    if name == "response" else None)
            self.responses.append((name, ResponseEstimator(
                vectors[..., c], rngs, lags=plan.lags, samples=plan.samples,
                blocks=spread)))
        self.stepper = TangentStepper(stepper, plan.method, TangentMap(network), vectors)
        # a response alone needs no tangent before its first kick
        self.stepper.active = self.lyapunov is not None

    def burn(self) -> None:
        """Called every dτ of the burn-in: Lyapunov vectors renormalised, nothing counted."""
        if self.lyapunov is not None:
            self.lyapunov.renormalise()

    def sample(self, index: int) -> None:
        """Called after each recorded sample ``index`` (0, 1, …) has been pushed."""
        if self.lyapunov is not None:
            self.lyapunov.sample(index)
        for _, response in self.responses:
            response.sample(index)
        self.stepper.active = True

    def add_to(self, observables: Observables, stderr: Observables,
               dtau: float) -> tuple[Observables, Observables]:
        """The observables and standard errors with the requested keys filled in."""
        values, errors = {}, {}
        if self.lyapunov is not None:
            values["lyapunov_max"], errors["lyapunov_max"] = self.lyapunov.estimate()
        for name, response in self.responses:
            curve, error = response.estimate()
            tau = np.arange(curve.size) * dtau
            values[name], errors[name] = Curve("tau", tau, curve), Curve("tau", tau, error)
        return replace(observables, **values), replace(stderr, **errors)
