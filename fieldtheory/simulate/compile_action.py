r"""Lower an action, at fixed parameter values, to numpy callables.

The simulator reads the model only through :func:`~fieldtheory.ir.langevin.read_langevin`
(drift and noise) and the action's ensembles. This module turns the drift of each field
into numpy functions of per-site arrays:

* every coupling sum ``J @ f(x)`` becomes a placeholder c_m whose value the network fills
  with J·f(x_j) (the presynaptic expression f is compiled separately);
* every :class:`~fieldtheory.ir.symbols.ByPopulation` value becomes a placeholder b whose
  value is a per-site array;
* every quenched per-unit variable (:class:`~fieldtheory.ir.quenched.Quenched`, a gain G_i)
  becomes a placeholder q whose value the network draws once per trial (an array of shape
  (trials, N)); the callables take them after the by-population values. A term of the
  drift whose coefficient of −x_k holds one stays in r (integrated explicitly, with its
  rate in the step bound); the noise may not hold one. Step bounds that depend on them
  (:class:`SiteBound`) are taken on the realised values (:attr:`CompiledAction.realised`);
* in continuous time each drift is split as f_k = −a_k x_k + r_k(x), a_k the field-free
  coefficient of −x_k(t), so that integrators can treat the leak exactly;
* a time-dependent parameter (a callable u(t) in ``values``) becomes a placeholder u that
  the rest functions take as trailing arguments (:mod:`fieldtheory.simulate.inputs`). It
  may enter the drift anywhere outside coupling sums — additively (an input I(t)), inside a
  by-population value, or multiplying local terms (−u(t)·x is then part of r, not of the
  exactly integrated leak). It is refused, by name, inside a coupling sum or multiplying
  one, in the noise, in an ensemble, in a population fraction or in a map's step: there
  the stability bound and the sampled couplings need numbers.

The result, :class:`CompiledAction`, keeps the sympy expressions it compiled, so the stage
prints (``str(compiled)``) and can be inspected on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from fieldtheory.errors import ParameterError, SimulationError
from fieldtheory.ir.action import Action
from fieldtheory.ir.ensembles import Ensemble
from fieldtheory.ir.langevin import read_langevin
from fieldtheory.ir.parameters import evaluate
from fieldtheory.ir.quenched import Quenched, QuenchedDistribution
from fieldtheory.ir.symbols import ByPopulation, Coupling, CouplingSum, FieldValue

__all__ = ["CompiledAction", "CompiledSum", "SiteBound", "compile_action"]

#: Grid on which sup|f'| of presynaptic expressions is taken for the stability bound.
GAIN_GRID = np.linspace(-20.0, 20.0, 801)
_MODULES = ["scipy", "numpy"]
#: Grid points × sites evaluated at once by :meth:`SiteBound.sup` (bounds its memory).
_SITE_CHUNK = 1 << 20


@dataclass(frozen=True, eq=False)
class SiteBound:
    r"""sup |e| of a derivative e that holds quenched variables, on the realised network.

    e is a function of (fields, sums, by-population values, quenched values) — the
    placeholders of :func:`compile_action`. The bound is taken with every field at
    u ∈ GAIN_GRID, the sums at 0, and the by-population and quenched values of every site
    of every trial, so that it bounds e on each site's own values. Where e is a product
    Π_q q^{n_q} · rest(fields, by-population) (``powers`` given), it is
    max_sites Π_q |q|^{n_q} · sup|rest| (``rest`` taken on the populations' values at
    compile time); else e is evaluated on the grid at every site, in chunks.
    """

    expression: sp.Expr
    function: Callable
    powers: tuple[int, ...] | None = None
    rest: float = 0.0

    def sup(self, fields: int, sums: int, by_population: tuple[np.ndarray, ...],
            quenched: tuple[np.ndarray, ...]) -> float:
        """The bound for per-site by-population arrays (N,) and quenched arrays (T, N)."""
        with np.errstate(all="ignore"):
            if self.powers is not None:
                product = np.ones_like(np.asarray(quenched[0], dtype=float))
                for values, power in zip(quenched, self.powers, strict=True):
                    if power:
                        product = product * np.abs(np.asarray(values, dtype=float)) ** power
                return float(np.nanmax(product)) * self.rest if product.size else 0.0
            grid = GAIN_GRID[:, None]
            trials, n = np.shape(quenched[0])
            chunk = max(1, _SITE_CHUNK // GAIN_GRID.size)
            best = 0.0
            for t in range(trials):
                for start in range(0, n, chunk):
                    sites = slice(start, start + chunk)
                    args = ([grid] * fields + [0.0] * sums
                            + [np.asarray(b)[sites] for b in by_population]
                            + [np.asarray(q)[t, sites] for q in quenched])
                    value = np.abs(np.asarray(self.function(*args), dtype=float))
                    if value.size:
                        best = max(best, float(np.nanmax(value)))
            return best


@dataclass(frozen=True, eq=False)
class CompiledSum:
    """One coupling sum Σ_j J_ij f(x_j): its coupling, ensemble and compiled f.

    ``presynaptic(*fields, *by_population, *quenched)`` evaluates f on per-site arrays;
    ``gain_bound`` is Σ_l sup_u |∂f/∂x_l| (all fields at u ∈ [−20, 20]) and
    ``weight_bound`` sup |∂f_k/∂c| over fields k — together with the ensemble's spectral
    radius they bound the rate this sum contributes to the Jacobian. Where these
    derivatives hold quenched variables (a gain, f = G φ(x)) the bound is known only on the
    realised values: the float is then ``inf`` and ``gain_parts`` (one per field) or
    ``weight_parts`` (one per drift) hold the :class:`SiteBound` objects that the realised
    network evaluates (:func:`~fieldtheory.simulate.integrators.rate_bound`).
    """

    coupling: Coupling
    ensemble: Ensemble
    expression: sp.Expr
    presynaptic: Callable
    gain_bound: float
    weight_bound: float
    gain_parts: tuple[SiteBound, ...] = ()
    weight_parts: tuple[SiteBound, ...] = ()


@dataclass(frozen=True, eq=False)
class CompiledAction:
    r"""An action lowered to numpy callables at fixed parameter values.

    Attributes
    ----------
    action : Action
    values : dict
        Resolved parameter values.
    rest : tuple of callables
        r_k(*fields, *sums, *by_population): the drift without the leak in continuous time,
        ∂_t x_k = −a_k x_k + r_k; the whole update F_k in discrete time, x_k(n+1) = F_k.
    leak : ndarray, shape (K, P)
        a_k per population (zero in discrete time).
    by_population : ndarray, shape (B, P)
        Per-population values of each ByPopulation atom.
    noise : ndarray, shape (P, K, K)
        Itô covariance Q per population: ⟨ξ_k(t) ξ_l(s)⟩ = Q_kl δ(t − s).
    inputs : mapping
        Time-dependent parameters, name → callable u(t), in the order in which ``rest``
        takes their values (after the by-population arguments); empty when all are numbers.
    phi, gain : callables
        φ (presynaptic expression of the first coupling sum in the first field's drift —
        or, if it has none, in the next field's — and the first field itself without
        coupling; quenched factors set to 1, ``read_langevin(action).observed_phi``) and
        φ' = ∂φ/∂x_1, as functions of (*fields, *by_population, *quenched).
    output : callable or None
        The output Φ = G φ (``observed_output``, quenched factors included), same
        arguments; ``None`` where it is φ itself (no quenched factor in it).
    step : float or None
        Physical duration of one step of a map; ``None`` in continuous time.
    quenched : tuple of (Quenched, distribution)
        The action's quenched variables in the order the callables take their values.
    local_parts : tuple of tuple of SiteBound
        Per field k, the bounds of Σ_l |∂r_k/∂x_l| over the terms of r_k that hold quenched
        variables and no coupling sum (−G·x kept out of the exact leak): their rate enters
        the step bound on the realised values.
    """

    action: Action
    values: dict[str, float]
    field_names: tuple[str, ...]
    rest_expressions: tuple[sp.Expr, ...]
    rest: tuple[Callable, ...]
    sums: tuple[CompiledSum, ...]
    leak: np.ndarray
    by_population: np.ndarray
    noise: np.ndarray
    phi_expression: sp.Expr
    phi: Callable
    gain: Callable
    step: float | None
    inputs: Mapping[str, Callable] = field(default_factory=dict)
    output_expression: sp.Expr | None = None
    output: Callable | None = None
    quenched: tuple[tuple[Quenched, QuenchedDistribution], ...] = ()
    local_parts: tuple[tuple[SiteBound, ...], ...] = ()

    @property
    def realised(self) -> bool:
        """Whether the step bound needs the realised quenched values (see
        :class:`SiteBound`)."""
        return bool(any(p for parts in self.local_parts for p in parts)
                    or any(s.gain_parts or s.weight_parts for s in self.sums))

    @property
    def is_discrete(self) -> bool:
        return self.step is not None

    @property
    def is_noisy(self) -> bool:
        return bool(np.any(self.noise != 0))

    def __str__(self) -> str:
        lines = [f"compiled action ({'discrete' if self.is_discrete else 'continuous'} time)"]
        for name, expr, a in zip(self.field_names, self.rest_expressions, self.leak, strict=True):
            lhs = f"{name}(n+1)" if self.is_discrete else f"d{name}/dt + {a.tolist()}·{name}"
            lines.append(f"  {lhs} = {expr}")
        for m, s in enumerate(self.sums):
            lines.append(f"  c{m} = {s.coupling} @ ({s.expression})")
        lines.append(f"  phi = {self.phi_expression}")
        if self.output_expression is not None:
            lines.append(f"  output = {self.output_expression}")
        for q, distribution in self.quenched:
            lines.append(f"  {q}: {distribution.text()}")
        return "\n".join(lines)


def compile_action(action: Action, values: Mapping[str, float | Callable]) -> CompiledAction:
    """Lower ``action`` at parameter ``values`` (names → floats, already resolved, or
    callables of time for time-dependent parameters).

    Raises
    ------
    SimulationError
        For point-process actions, delayed fields, state-dependent noise, explicit time
        dependence, and a time-dependent parameter where it is not supported (see the
        module docstring).
    ParameterError
        When a symbol is left without a value.
    """
    if action.point_process:
        names = ", ".join(f.name for f in action.point_process)
        raise SimulationError(f"point-process fields ({names}) cannot be simulated yet")
    system = read_langevin(action)
    tau = action.time.symbol
    inputs = {name: v for name, v in values.items() if callable(v)}
    values = {name: v for name, v in values.items() if name not in inputs}
    _check_input_places(action, system, inputs)
    # ensembles refuse meaningless values (negative variance, |rho| > 1) before any work
    action.validate_values(values)
    lowering = _Lowering(action, values, tau, tuple(inputs))
    for expr in (*system.drift, *system.noise):
        lowering.check_times(expr)
    # collect every placeholder first: the compiled callables share one argument list
    for expr in (*system.drift, *system.noise):
        lowering.collect(expr)
    drifts = [lowering.lower(d) for d in system.drift]
    if action.time.is_discrete:
        leaks, rests = [sp.Integer(0)] * len(drifts), drifts
        step = evaluate(action.time.step, values)
    else:
        leaks, rests = zip(*(lowering.split_leak(d, x) for d, x in
                             zip(drifts, lowering.xs, strict=True)), strict=True)
        step = None
    phi_expr = lowering.lower(system.observed_phi)
    output_expr = lowering.lower(system.observed_output)
    phi_args = (*lowering.xs, *lowering.sites)
    rest_args = (*lowering.xs, *lowering.cs, *lowering.sites, *lowering.us)
    has_output = output_expr != phi_expr
    return CompiledAction(
        action=action,
        values=values,
        field_names=tuple(f.name for f in action.fields),
        rest_expressions=tuple(rests),
        rest=tuple(_lambdify(rest_args, r) for r in rests),
        sums=lowering.compiled_sums(drifts),
        leak=np.array([lowering.per_population(a) for a in leaks]),
        by_population=lowering.table,
        noise=lowering.noise_table(system.noise),
        phi_expression=phi_expr,
        phi=_lambdify(phi_args, phi_expr),
        gain=_lambdify(phi_args, phi_expr.diff(lowering.xs[0])),
        step=step,
        inputs=inputs,
        output_expression=output_expr if has_output else None,
        output=_lambdify(phi_args, output_expr) if has_output else None,
        quenched=tuple(action.quenched),
        local_parts=tuple(lowering.local_parts(r) for r in rests),
    )


def _check_input_places(action: Action, system, inputs: Mapping[str, Callable]) -> None:
    """Refuse time-dependent parameters outside the drift, naming the parameter and place."""
    if not inputs:
        return
    places = [(f"the noise of {f.name}", system.noise[k, l]) for k, f in enumerate(action.fields)
              for l in range(len(action.fields))]
    places += [(f"the ensemble of coupling {c}", e) for c, e in action.couplings]
    places += [(f"the fraction of population {p.name}", p.fraction)
               for p in action.populations]
    if action.time.is_discrete:
        places.append(("the map's step", action.time.step))
    for where, item in places:
        symbols = item.free_symbols
        names = sorted({s.name for s in symbols if isinstance(s, sp.Symbol)} & set(inputs))
        if names:
            raise SimulationError(
                f"time-dependent parameter {names[0]} enters {where}; the simulator takes "
                "callables of time only in the drift, outside coupling sums — pass a number")


def _lambdify(args, expr: sp.Expr) -> Callable:
    return sp.lambdify(args, expr, modules=_MODULES)


def _floats(expr: sp.Expr) -> sp.Expr:
    """Numeric constants as Python floats: numpy scalars like sqrt(pi) would upcast float32."""
    return sp.nfloat(expr, exponent=False)


class _Lowering:
    """Replacement tables shared while lowering the expressions of one action."""

    def __init__(self, action: Action, values: dict[str, float], tau: sp.Symbol,
                 inputs: tuple[str, ...] = ()) -> None:
        self.action, self.values, self.tau = action, values, tau
        self.inputs = inputs
        self.us = [sp.Dummy(name) for name in inputs]
        self.input_map = dict(zip(inputs, self.us, strict=True))
        # by-population atoms whose values depend on an input: Σ_α e_α·value_α, with e_α
        # the indicator of population α (one more by-population row each)
        self.expanded: dict[ByPopulation, sp.Expr] = {}
        self.indicators: list[sp.Dummy] = []
        self.xs = [sp.Dummy(f.name) for f in action.fields]
        self.field_map = {f(tau): x for f, x in zip(action.fields, self.xs, strict=True)}
        self.sums: list[CouplingSum] = []
        self.cs: list[sp.Dummy] = []
        self.atoms: list[ByPopulation] = []
        self.bs: list[sp.Dummy] = []
        self.populations = [p.name for p in action.populations]
        self.table = np.zeros((0, len(self.populations)))
        # quenched per-unit variables, in the action's order (their values: per site)
        self.quenched = [q for q, _ in action.quenched]
        self.qs = [sp.Dummy(q.name) for q in self.quenched]
        self.quenched_map = dict(zip(self.quenched, self.qs, strict=True))

    @property
    def sites(self) -> list[sp.Dummy]:
        """The per-site arguments of every compiled callable: by-population, then quenched."""
        return [*self.bs, *self.qs]

    def check_times(self, expr: sp.Expr) -> None:
        for value in sorted(expr.atoms(FieldValue), key=str):
            if value.args[0] != self.tau:
                raise SimulationError(
                    f"delays are not supported by the simulator: {value} is not at the "
                    f"current time {self.tau}"
                )

    def collect(self, expr: sp.Expr) -> None:
        """Register the coupling sums and ByPopulation atoms of ``expr``, in print order."""
        for node in sp.preorder_traversal(expr):
            if isinstance(node, CouplingSum) and node not in self.sums:
                self.sums.append(node)
                self.cs.append(sp.Dummy(f"c{len(self.cs)}"))
                self.collect(node.presynaptic)
            elif isinstance(node, ByPopulation) and self._driven(node):
                if node not in self.expanded:
                    e = self._indicators()
                    self.expanded[node] = sp.Add(*(e[p] * node.value_for(name) for p, name
                                                   in enumerate(self.populations)))
            elif isinstance(node, ByPopulation) and node not in self.atoms:
                self.atoms.append(node)
                self.bs.append(sp.Dummy(node.name))
                row = [evaluate(node.value_for(p), self.values) for p in self.populations]
                self.table = np.vstack([self.table, row])

    def _driven(self, node: ByPopulation) -> bool:
        """Whether the by-population values hold an input or a quenched variable: then
        they are expanded into Σ_α e_α value_α (indicators), not tabulated as numbers."""
        return any(s.name in self.input_map or s in self.quenched_map
                   for s in node.free_symbols if isinstance(s, sp.Symbol))

    def _indicators(self) -> list[sp.Dummy]:
        """e_α (one by-population row per population, 1 on α's sites), made once."""
        if not self.indicators:
            for p, name in enumerate(self.populations):
                self.indicators.append(sp.Dummy(f"in_{name}"))
                self.bs.append(self.indicators[-1])
                row = np.zeros(len(self.populations))
                row[p] = 1.0
                self.table = np.vstack([self.table, row])
        return self.indicators

    def lower(self, expr: sp.Expr) -> sp.Expr:
        """Placeholders for sums, ByPopulation atoms, fields and time-dependent parameters;
        numbers for the other parameters."""
        expr = expr.xreplace(dict(zip(self.sums, self.cs, strict=True)))
        if self.expanded:  # before the quenched map: an expanded atom may hold G
            expr = expr.xreplace(self.expanded)
        if self.quenched_map:
            expr = expr.xreplace(self.quenched_map)
        # indicators may sit between the atoms' placeholders in bs: pair them by position
        atoms_bs = [b for b in self.bs if b not in self.indicators]
        expr = expr.xreplace(dict(zip(self.atoms, atoms_bs, strict=True)))
        expr = expr.xreplace(self.field_map)
        numbers = {s: sp.Float(self.values[s.name]) for s in expr.free_symbols
                   if isinstance(s, sp.Symbol) and not isinstance(s, sp.Dummy)
                   and s.name in self.values}
        numbers.update({s: self.input_map[s.name] for s in expr.free_symbols
                        if isinstance(s, sp.Symbol) and not isinstance(s, sp.Dummy)
                        and s.name in self.input_map})
        expr = expr.xreplace(numbers)
        left = sorted(str(s) for s in expr.free_symbols if not isinstance(s, sp.Dummy))
        if str(self.tau) in left:
            raise SimulationError(f"explicit time dependence ({self.tau}) is not supported "
                                  f"by the simulator, in {expr}")
        if left:
            raise ParameterError(f"no value for {', '.join(left)} (left symbolic in {expr})")
        return _floats(expr)

    def split_leak(self, expr: sp.Expr, x: sp.Dummy) -> tuple[sp.Expr, sp.Expr]:
        """(a, r) with expr = −a·x + r, a free of fields and coupling sums."""
        leak, rest = sp.Integer(0), sp.Integer(0)
        # a coefficient that varies in time stays in r (integrated explicitly)
        # a quenched coefficient too (a per-site, per-trial leak: its rate is bounded on
        # the realised values, CompiledAction.local_parts)
        state = {*self.xs, *self.cs, *self.us, *self.qs}
        for term in sp.Add.make_args(sp.expand(expr)):
            coefficient = term / x
            if coefficient.free_symbols & state:
                rest += term
            else:
                leak -= coefficient
        return _floats(leak), _floats(rest)

    def per_population(self, expr: sp.Expr) -> np.ndarray:
        """A field-free expression in ByPopulation placeholders, one value per population."""
        out = _lambdify(self.bs, expr)(*self.table)
        return np.broadcast_to(np.asarray(out, dtype=float), (len(self.populations),)).copy()

    def compiled_sums(self, drifts: list[sp.Expr]) -> tuple[CompiledSum, ...]:
        ensembles = self.action.ensembles
        out = []
        for term, c in zip(self.sums, self.cs, strict=True):
            expression = self.lower(term.presynaptic)
            self._refuse_inputs(expression, f"the coupling sum {term}")
            for d in drifts:
                self._refuse_inputs(d.diff(c), f"the weight of the coupling sum {term}")
            gains = [self._bound(expression.diff(x)) for x in self.xs]
            weights = [self._bound(d.diff(c)) for d in drifts]
            gain_parts = weights_parts = ()
            if any(isinstance(b, SiteBound) for b in gains):  # known once realised
                gain, gain_parts = math.inf, tuple(self._site_bound(b) for b in gains)
            else:
                gain = sum(gains)
            if any(isinstance(b, SiteBound) for b in weights):
                weight, weights_parts = math.inf, tuple(self._site_bound(b) for b in weights)
            else:
                weight = max(weights)
            out.append(CompiledSum(term.coupling, ensembles[term.coupling], expression,
                                   _lambdify((*self.xs, *self.sites), expression), gain,
                                   weight, gain_parts, weights_parts))
        return tuple(out)

    def local_parts(self, rest: sp.Expr) -> tuple[SiteBound, ...]:
        """SiteBounds of ∂/∂x_l of the terms of ``rest`` that hold quenched variables and no
        coupling sum (the rest of coupling terms is bounded through their sums)."""
        if not self.qs:
            return ()
        local = sp.Add(*(term for term in sp.Add.make_args(sp.expand(rest))
                         if term.has(*self.qs) and not term.has(*self.cs)))
        return tuple(self._site_bound(self._bound(local.diff(x))) for x in self.xs
                     if local.diff(x) != 0)

    def _site_bound(self, bound: float | SiteBound) -> SiteBound:
        """A float bound as a constant SiteBound (so that sums of parts stay uniform)."""
        if isinstance(bound, SiteBound):
            return bound
        return SiteBound(sp.Float(bound), lambda *args: bound, (0,) * len(self.qs), bound)

    def _bound(self, expr: sp.Expr) -> float | SiteBound:
        """sup|expr| now (:meth:`_sup`) when it holds no quenched variable, else the
        :class:`SiteBound` that the realised network evaluates."""
        if not self.qs or not expr.has(*self.qs):
            return self._sup(expr)
        powers, rest = [0] * len(self.qs), sp.S.One
        for factor in sp.Mul.make_args(expr):
            base, exponent = factor.as_base_exp()
            if base in self.qs and exponent.is_Integer and exponent > 0:
                powers[self.qs.index(base)] += int(exponent)
            elif factor.has(*self.qs):
                function = _lambdify((*self.xs, *self.cs, *self.sites), expr)
                return SiteBound(expr, function)
            else:
                rest *= factor
        function = _lambdify((*self.xs, *self.cs, *self.sites), expr)
        return SiteBound(expr, function, tuple(powers), self._sup(rest))

    def _refuse_inputs(self, expr: sp.Expr, where: str) -> None:
        used = [name for name, u in self.input_map.items() if expr.has(u)]
        if used:
            raise SimulationError(
                f"time-dependent parameter {used[0]} enters {where}; the simulator takes "
                "callables of time only outside coupling sums (the stability bound needs "
                "numbers there) — pass a number")

    def _sup(self, expr: sp.Expr) -> float:
        """sup |expr| with every field at u ∈ GAIN_GRID, over populations and sums at 0."""
        u = GAIN_GRID[:, None]
        args = [u] * len(self.xs) + [0.0] * len(self.cs) + list(self.table)
        with np.errstate(all="ignore"):
            value = np.abs(np.asarray(_lambdify((*self.xs, *self.cs, *self.bs), expr)(*args),
                                      dtype=float))
        return float(np.nanmax(value)) if value.size else 0.0

    def noise_table(self, noise: sp.ImmutableMatrix) -> np.ndarray:
        """Q per population, shape (P, K, K); state-dependent noise is refused."""
        K = noise.shape[0]
        out = np.zeros((len(self.populations), K, K))
        for k in range(K):
            for l in range(K):
                q = noise[k, l]
                quenched = sorted(str(v) for v in self.quenched if q.has(v))
                if quenched:
                    raise SimulationError(
                        f"quenched variable {quenched[0]} enters the noise {q}; the simulator "
                        "takes quenched per-unit variables in the drift only")
                if q.has(FieldValue):
                    raise SimulationError(
                        f"state-dependent noise {q} is not supported by the simulator")
                out[:, k, l] = self.per_population(self.lower(q))
        return out
