r"""The MSRDJ action: the one declaration every stage of the pipeline starts from.

Conventions (docs/conventions.md): the weight is exp(S), response fields are integrated
along the imaginary axis, and for a Langevin equation ∂_t x = f(x) + ξ with
⟨ξ_k(t)ξ_l(s)⟩ = Q_kl δ(t−s)

.. math::  S = \sum_i \int dt\, \Big[\tilde x_i(t)\big(-\partial_t x_i(t) + f_i(x(t))\big)
           + \tfrac12 \tilde x_i(t)^\top Q\, \tilde x_i(t)\Big].

In discrete time (maps, layers) the step index n replaces t, Σ_n replaces ∫dt, and the
response field x̃_i(n) enforces the update, x̃_i(n)(−x_i(n+1) + F_i(x(n))).

The :class:`Action` stores the per-site, per-time Lagrangian L (the sums over sites and
times are implicit) with everything it refers to: fields, couplings with their ensembles,
parameters, populations and the kind of time. It is checked when it is built, so a
malformed declaration fails before any transformation runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sympy as sp

from fieldtheory.errors import DeclarationError, UndeclaredSymbolError
from fieldtheory.ir.ensembles import Ensemble
from fieldtheory.ir.langevin_system import CACHE_ATTRIBUTE, read_langevin
from fieldtheory.ir.parameters import ParameterSet
from fieldtheory.ir.populations import ONE_POPULATION, Population
from fieldtheory.ir.quenched import Quenched, QuenchedDistribution
from fieldtheory.ir.symbols import Coupling, CouplingSum, Field, ResponseValue, n, t

__all__ = ["Time", "CONTINUOUS", "ZERO_DIMENSIONAL", "discrete", "layers", "Action"]


@dataclass(frozen=True)
class Time:
    """Continuous time t, or discrete steps n with physical duration ``step`` each.

    For a map, physical time is n·step, so that rates (Lyapunov exponents, decay rates)
    are per unit time and step → 0 recovers the continuous-time model.

    ``is_zero_dimensional`` marks a theory without time or sites (:data:`ZERO_DIMENSIONAL`):
    S is an ordinary function of the field values, written ``x()``, and
    Z = ∫dx exp(S) a plain integral — the test bed of perturbation theory.
    """

    is_discrete: bool = False
    step: sp.Expr = sp.Integer(1)
    is_zero_dimensional: bool = False
    layers: sp.Expr | None = None
    inputs: object = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "step", sp.sympify(self.step))
        if self.is_zero_dimensional and self.is_discrete:
            raise DeclarationError("a zero-dimensional theory has no time, discrete or not")
        if self.layers is not None:
            object.__setattr__(self, "layers", sp.sympify(self.layers))
            if not self.is_discrete or self.inputs is None:
                raise DeclarationError("layered time is discrete and runs on a data set")
            if self.layers.is_number and not (self.layers.is_integer and self.layers >= 1):
                raise DeclarationError(f"depth {self.layers} is not an integer ≥ 1")

    @property
    def is_layered(self) -> bool:
        """Whether the time points are (pattern, layer) pairs of a layered network."""
        return self.layers is not None

    @property
    def symbol(self) -> sp.Symbol:
        return n if self.is_discrete else t

    def __str__(self) -> str:
        if self.is_zero_dimensional:
            return "none (zero-dimensional: a plain integral)"
        if self.is_layered:
            return (f"layered ({self.layers} layers × {self.inputs.patterns} patterns of "
                    f"{self.inputs.name})")
        return f"discrete (step {self.step})" if self.is_discrete else "continuous"


CONTINUOUS = Time()
#: No time and no sites: S(x) is a function of numbers, Z = ∫dx exp(S) an ordinary integral.
ZERO_DIMENSIONAL = Time(is_zero_dimensional=True)


def discrete(step: sp.Expr = 1) -> Time:
    """Discrete time with physical step duration ``step``."""
    return Time(True, step)


def layers(depth: sp.Expr, inputs) -> Time:
    """The time of a layered network: ``depth`` layers for every pattern of ``inputs``
    (:mod:`fieldtheory.ir.layered`)."""
    return Time(True, 1, layers=depth, inputs=inputs)


@dataclass(frozen=True)
class Action:
    """An MSRDJ action S = Σ_i ∫dt L_i(t) (or Σ_i Σ_n L_i(n)), with its declarations.

    Parameters
    ----------
    lagrangian : sympy expression
        L for one site, written with ``x(t)``, ``x.response(t)``, ``J @ f(x(t))``,
        ``sp.Derivative(x(t), t)`` and parameter symbols.
    fields : tuple of Field
    couplings : mapping Coupling → Ensemble
        The statistics of every coupling matrix the Lagrangian uses.
    parameters : ParameterSet
    populations : tuple of Population
        Defaults to one population holding every site.
    time : Time
    point_process : tuple of Field
        Fields whose response enters non-quadratically (spiking, (e^{x̃} − 1)λ(x) terms).
    quenched : mapping Quenched → distribution
        Per-unit quenched variables (gains G_i, …) and their distributions
        (:mod:`fieldtheory.ir.quenched`).
    """

    lagrangian: sp.Expr
    fields: tuple[Field, ...]
    couplings: tuple[tuple[Coupling, Ensemble], ...] = ()
    parameters: ParameterSet = field(default_factory=ParameterSet)
    populations: tuple[Population, ...] = ONE_POPULATION
    time: Time = CONTINUOUS
    point_process: tuple[Field, ...] = ()
    quenched: tuple[tuple[Quenched, QuenchedDistribution], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "lagrangian", sp.sympify(self.lagrangian))
        object.__setattr__(self, "fields", tuple(self.fields))
        couplings = self.couplings
        if isinstance(couplings, Mapping):
            couplings = tuple(couplings.items())
        object.__setattr__(self, "couplings", tuple(tuple(c) for c in couplings))
        object.__setattr__(self, "populations", tuple(self.populations))
        object.__setattr__(self, "point_process", tuple(self.point_process))
        quenched = self.quenched
        if isinstance(quenched, Mapping):
            quenched = tuple(quenched.items())
        object.__setattr__(self, "quenched", tuple(tuple(q) for q in quenched))
        if not isinstance(self.parameters, ParameterSet):
            object.__setattr__(self, "parameters", ParameterSet(tuple(self.parameters)))
        self._check_declarations()
        if self.time.is_zero_dimensional:
            self._check_zero_dimensional()
            return
        for value in self.lagrangian.atoms(sp.core.function.AppliedUndef):
            if not value.args:  # x(): only a plain integral has field values without a time
                raise DeclarationError(
                    f"field value {value} has no time; x() is for zero-dimensional actions "
                    "(time=ft.ZERO_DIMENSIONAL)"
                )
        # the structure check reads the action as drift + noise (and keeps the reading)
        read_langevin(self)

    def _check_declarations(self) -> None:
        if not self.fields:
            raise DeclarationError("an action needs at least one field")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise DeclarationError(f"fields declared twice: {names}")
        for coupling, ensemble in self.couplings:
            if not isinstance(coupling, Coupling):
                raise DeclarationError(f"{coupling!r} is not a Coupling")
            if not isinstance(ensemble, Ensemble):
                raise DeclarationError(f"coupling {coupling} has no ensemble, got {ensemble!r}")
            structured = ensemble.populations()
            if structured is not None and tuple(p.name for p in structured) != tuple(
                p.name for p in self.populations
            ):
                raise DeclarationError(
                    f"ensemble of {coupling} is structured over populations "
                    f"{[p.name for p in structured]}, the action declares "
                    f"{[p.name for p in self.populations]}"
                )
        for f in self.point_process:
            if f not in self.fields:
                raise DeclarationError(
                    f"point-process field {f.name!r} is not one of the action's fields {names}"
                )
        if len({c for c, _ in self.couplings}) != len(self.couplings):
            raise DeclarationError("a coupling has two ensembles")
        for variable, distribution in self.quenched:
            if not isinstance(variable, Quenched):
                raise DeclarationError(f"{variable!r} is not a Quenched variable")
            if not isinstance(distribution, QuenchedDistribution):
                raise DeclarationError(f"quenched variable {variable} has no distribution, "
                                       f"got {distribution!r}")
        if len({q for q, _ in self.quenched}) != len(self.quenched):
            raise DeclarationError("a quenched variable has two distributions")

    def _check_zero_dimensional(self) -> None:
        """A plain integral: field values without arguments and parameters, nothing else."""
        names = [f.name for f in self.fields]
        if self.couplings:
            raise DeclarationError(
                f"a zero-dimensional action has no sites, so no couplings; got "
                f"{[str(c) for c, _ in self.couplings]}"
            )
        if self.point_process or len(self.populations) != 1:
            raise DeclarationError(
                "a zero-dimensional action has no point processes and one population"
            )
        known = {f.value_function for f in self.fields}
        for node in sp.preorder_traversal(self.lagrangian):
            if isinstance(node, CouplingSum):
                raise DeclarationError(f"coupling sum {node} in a zero-dimensional action")
            if isinstance(node, (sp.Derivative, sp.Integral)):
                raise DeclarationError(f"{node}: a zero-dimensional action has no time to act on")
            if isinstance(node, sp.core.function.AppliedUndef):
                if node.func not in known or isinstance(node, ResponseValue):
                    raise UndeclaredSymbolError(
                        f"{node} in a zero-dimensional action: only the declared fields "
                        f"{names}, written without arguments as x(), may appear"
                    )
                if node.args:
                    raise DeclarationError(
                        f"field value {node} in a zero-dimensional action: write it without "
                        "a time, as x()"
                    )
        unknown = sorted(map(str, self.lagrangian.free_symbols - set(self.parameters.symbols)))
        if unknown:
            raise UndeclaredSymbolError(
                f"undeclared symbol(s) {', '.join(unknown)}; declare them as parameters"
            )

    def __getstate__(self) -> dict:
        # the cached LangevinSystem is rebuilt on demand, not pickled with the action
        state = dict(vars(self))
        state.pop(CACHE_ATTRIBUTE, None)
        return state

    @property
    def ensembles(self) -> dict[Coupling, Ensemble]:
        return dict(self.couplings)

    def validate_values(self, values: Mapping[str, float]) -> None:
        """Refuse parameter ``values`` that make an ensemble meaningless (a negative
        variance, a symmetry or overlap outside [−1, 1], …): a
        :class:`~fieldtheory.errors.ParameterError` naming the ensemble, the quantity and
        its value. Numbers fixed in the declaration were checked when it was built."""
        for _, ensemble in self.couplings:
            ensemble.validate(values)
        for _, distribution in self.quenched:
            distribution.validate(values)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise DeclarationError(f"no field named {name!r}; fields: {[f.name for f in self.fields]}")

    def __str__(self) -> str:
        from fieldtheory.printing import action_text

        return action_text(self)

    def _repr_latex_(self) -> str:
        from fieldtheory.printing import action_latex

        return f"$\\displaystyle {action_latex(self)}$"
