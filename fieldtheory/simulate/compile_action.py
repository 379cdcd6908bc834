r"""Lower an action, at fixed parameter values, to numpy callables.

The simulator reads the model only through :func:`~fieldtheory.ir.langevin.read_langevin`
(drift and noise) and the action's ensembles. This module turns the drift of each field
into numpy functions of per-site arrays:

* every coupling sum ``J @ f(x)`` becomes a placeholder c_m whose value the network fills
  with J·f(x_j) (the presynaptic expression f is compiled separately);
* every :class:`~fieldtheory.ir.symbols.ByPopulation` value becomes a placeholder b whose
  value is a per-site array;
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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from fieldtheory.errors import ParameterError, SimulationError
from fieldtheory.ir.action import Action
from fieldtheory.ir.ensembles import Ensemble
from fieldtheory.ir.langevin import read_langevin
from fieldtheory.ir.parameters import evaluate
from fieldtheory.ir.symbols import ByPopulation, Coupling, CouplingSum, FieldValue

__all__ = ["CompiledAction", "CompiledSum", "compile_action"]

#: Grid on which sup|f'| of presynaptic expressions is taken for the stability bound.
GAIN_GRID = np.linspace(-20.0, 20.0, 801)
_MODULES = ["scipy", "numpy"]


@dataclass(frozen=True, eq=False)
class CompiledSum:
    """One coupling sum Σ_j J_ij f(x_j): its coupling, ensemble and compiled f.

    ``presynaptic(*fields, *by_population)`` evaluates f on per-site arrays;
    ``gain_bound`` is Σ_l sup_u |∂f/∂x_l| (all fields at u ∈ [−20, 20]) and
    ``weight_bound`` sup |∂f_k/∂c| over fields k — together with the ensemble's spectral
    radius they bound the rate this sum contributes to the Jacobian.
    """

    coupling: Coupling
    ensemble: Ensemble
    expression: sp.Expr
    presynaptic: Callable
    gain_bound: float
    weight_bound: float


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
        coupling) and φ' = ∂φ/∂x_1, as functions of (*fields, *by_population).
    step : float or None
        Physical duration of one step of a map; ``None`` in continuous time.
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
    phi_args = (*lowering.xs, *lowering.bs)
    rest_args = (*lowering.xs, *lowering.cs, *lowering.bs, *lowering.us)
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
        return any(s.name in self.input_map for s in node.free_symbols
                   if isinstance(s, sp.Symbol))

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
        if self.expanded:
            expr = expr.xreplace(self.expanded)
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
        state = {*self.xs, *self.cs, *self.us}
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
            gain = sum(self._sup(expression.diff(x)) for x in self.xs)
            weight = max(self._sup(d.diff(c)) for d in drifts)
            out.append(CompiledSum(term.coupling, ensembles[term.coupling], expression,
                                   _lambdify((*self.xs, *self.bs), expression), gain, weight))
        return tuple(out)

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
                if q.has(FieldValue):
                    raise SimulationError(
                        f"state-dependent noise {q} is not supported by the simulator")
                out[:, k, l] = self.per_population(self.lower(q))
        return out
