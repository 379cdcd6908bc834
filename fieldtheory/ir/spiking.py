r"""Spiking networks: point-process neurons on sparse block-structured graphs (issue 18).

van Meegen & van Albada, *Microscopic theory of intrinsic timescales in spiking neural
networks*, Phys. Rev. Research 3, 043077 (2021), arXiv:1909.01908.

A network is declared from populations of one neuron model each, blocks of synapses
between them and external Poisson drives; every number may be an expression in the
model's parameters. Units as in NEST: ms, mV, Hz. Each neuron i of population α obeys

.. math:: \tau_m\dot V_i = -(V_i - E_L) + \tau_m I_i(t),\qquad
          I_i(t) = \sum_j W_{ij}\,s_j(t - d_{ij}) + I^{\rm ext}_i(t)

(delta synapses; with ``tau_s > 0`` the input is filtered by e^{−t/τ_s}/τ_s first), and
emits spikes s_i = Σ δ(t − t_k) by its declared rule: :class:`LIF` (threshold, reset,
refractory period) or :class:`GLM` (Poisson with intensity F(V)). Threshold–reset neurons
carry no action of their own: each neuron model is declared here and its mean-field
closure is registered with the solvers (``fieldtheory/solvers/runtime/spiking_*.py``); the
disorder average over the graph (the input cumulants) is derived by
:mod:`fieldtheory.transforms.spiking` from the rule's in-degree moments and the weights'
moments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache

import numpy as np
import sympy as sp

from fieldtheory.errors import DeclarationError, ParameterError, UndeclaredSymbolError
from fieldtheory.ir.checks import require_instance
from fieldtheory.ir.parameters import ParameterSet, evaluate
from fieldtheory.ir.spiking_values import (
    ConnectionValues,
    DriveValues,
    NetworkValues,
    NeuronValues,
)

__all__ = ["GLM", "LIF", "Bernoulli", "Connection", "FixedInDegree", "FixedTotalNumber",
           "PoissonDrive", "Potential", "SpikingNetwork", "SpikingPopulation", "is_spiking",
           "spiking_network"]


class Potential(sp.Symbol):
    """V: the membrane potential (mV) in a GLM neuron's intensity F(V)."""

    is_commutative = True

    def __new__(cls, name: str = "V", **assumptions):
        assumptions.setdefault("real", True)
        return super().__new__(cls, name, **assumptions)


def _sympify_fields(obj, names: Sequence[str]) -> None:
    for name in names:
        object.__setattr__(obj, name, sp.sympify(getattr(obj, name)))


@dataclass(frozen=True)
class LIF:
    """Leaky integrate-and-fire neuron: V ≥ V_th emits a spike, V ← V_reset for t_ref.

    ``tau_s`` = 0: delta synapses (a spike of weight J makes V jump by J mV); > 0:
    exponentially filtered input with the same PSP area τ_m J. ``C_m`` (pF) only converts
    weights to NEST's currents for exponential synapses.
    """

    tau_m: sp.Expr
    V_th: sp.Expr
    V_reset: sp.Expr
    t_ref: sp.Expr
    E_L: sp.Expr = sp.Integer(0)
    tau_s: sp.Expr = sp.Integer(0)
    C_m: sp.Expr = sp.Integer(250)

    kind = "lif"

    def __post_init__(self) -> None:
        _sympify_fields(self, [f.name for f in fields(self)])

    def expressions(self) -> dict[str, sp.Expr]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def text(self) -> str:
        from fieldtheory.printing import text

        e = {k: text(v) for k, v in self.expressions().items()}
        synapse = ("delta synapses" if sp.sympify(self.tau_s).is_zero
                   else f"exponential synapses τ_s = {e['tau_s']} ms")
        return (f"LIF: τ_m dV/dt = −(V − {e['E_L']}) + τ_m I(t), τ_m = {e['tau_m']} ms; "
                f"V ≥ {e['V_th']} mV → spike, V ← {e['V_reset']} mV for {e['t_ref']} ms; "
                f"{synapse}")

    def values(self, values: Mapping[str, float]) -> NeuronValues:
        v = {k: evaluate(e, values) for k, e in self.expressions().items()}
        return NeuronValues("lif", v["tau_m"], E_L=v["E_L"], V_th=v["V_th"],
                            V_reset=v["V_reset"], t_ref=v["t_ref"], tau_s=v["tau_s"],
                            C_m=v["C_m"], V_init=(v["E_L"], 0.0))


@dataclass(frozen=True)
class GLM:
    """Generalised linear model neuron: V as for :class:`LIF` without threshold or reset;
    spikes are a Poisson process of intensity F(V) (Hz), ``intensity`` an expression in a
    :class:`Potential` and parameters (without one: a Poisson source of constant rate)."""

    tau_m: sp.Expr
    intensity: sp.Expr
    E_L: sp.Expr = sp.Integer(0)
    tau_s: sp.Expr = sp.Integer(0)

    kind = "glm"

    def __post_init__(self) -> None:
        _sympify_fields(self, ("tau_m", "intensity", "E_L", "tau_s"))
        if len(self.potentials) > 1:
            raise DeclarationError(f"GLM: the intensity {self.intensity} may depend on one "
                                   "ft.Potential (the membrane potential V), found "
                                   f"{len(self.potentials)}")

    @property
    def potentials(self) -> list[Potential]:
        return [s for s in self.intensity.free_symbols if isinstance(s, Potential)]

    @property
    def potential(self) -> Potential:
        """The V of the intensity (a constant intensity — a Poisson source — has none)."""
        return self.potentials[0] if self.potentials else Potential("V")

    def expressions(self) -> dict[str, sp.Expr]:
        return {"tau_m": self.tau_m, "E_L": self.E_L, "tau_s": self.tau_s}

    def text(self) -> str:
        from fieldtheory.printing import text

        synapse = ("delta synapses" if sp.sympify(self.tau_s).is_zero
                   else f"exponential synapses τ_s = {text(self.tau_s)} ms")
        return (f"GLM: τ_m dV/dt = −(V − {text(self.E_L)}) + τ_m I(t), "
                f"τ_m = {text(self.tau_m)} ms; spikes: Poisson with intensity "
                f"F({self.potential}) = {text(self.intensity)} Hz; {synapse}")

    def intensity_function(self, values: Mapping[str, float]):
        """F(V) at the parameter values, a vectorised numpy callable."""
        bound = self.intensity.subs({s: values[s.name] for s in self.intensity.free_symbols
                                     if not isinstance(s, Potential)})
        return sp.lambdify(self.potential, bound, modules=["scipy", "numpy"]), bound

    def values(self, values: Mapping[str, float]) -> NeuronValues:
        v = {k: evaluate(e, values) for k, e in self.expressions().items()}
        function, bound = self.intensity_function(values)

        def intensity(V, _f=function):
            return np.broadcast_to(np.asarray(_f(np.asarray(V, dtype=float)), float),
                                   np.shape(V)).copy()

        return NeuronValues("glm", v["tau_m"], E_L=v["E_L"], tau_s=v["tau_s"],
                            intensity=intensity, intensity_text=str(bound),
                            V_init=(v["E_L"], 0.0))


NEURON_MODELS = (LIF, GLM)

#: population names: an identifier, or an area graph's key AREA/POPULATION
POPULATION_NAME = re.compile(r"[A-Za-z_]\w*|\w+/\w+")


# -- connectivity rules: what the disorder average reads -----------------------------------
@dataclass(frozen=True)
class FixedInDegree:
    """Every target neuron receives exactly K synapses from distinct source neurons
    (``multapses``: sources drawn with replacement)."""

    K: sp.Expr
    multapses: bool = False
    autapses: bool = False

    rule = "fixed_indegree"

    def __post_init__(self) -> None:
        _sympify_fields(self, ("K",))

    @property
    def number(self) -> sp.Expr:
        return self.K

    def in_degree_moments(self, n_source: sp.Expr, n_target: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
        """(E[K_i], Var[K_i]) of a target's in-degree."""
        return self.K, sp.Integer(0)

    def text(self) -> str:
        return f"fixed in-degree K = {self.K}"


@dataclass(frozen=True)
class Bernoulli:
    """Each ordered pair connected independently with probability p."""

    p: sp.Expr
    autapses: bool = False

    rule = "bernoulli"
    multapses = False

    def __post_init__(self) -> None:
        _sympify_fields(self, ("p",))

    @property
    def number(self) -> sp.Expr:
        return self.p

    def in_degree_moments(self, n_source, n_target):
        return self.p * n_source, self.p * (1 - self.p) * n_source

    def text(self) -> str:
        return f"Bernoulli, p = {self.p}"


@dataclass(frozen=True)
class FixedTotalNumber:
    """n synapses in all, source and target of each drawn uniformly (multapses), as in
    Potjans & Diesmann (2014)."""

    n: sp.Expr
    autapses: bool = True

    rule = "fixed_total_number"
    multapses = True

    def __post_init__(self) -> None:
        _sympify_fields(self, ("n",))

    @property
    def number(self) -> sp.Expr:
        return self.n

    def in_degree_moments(self, n_source, n_target):
        # the in-degree of one target is Binomial(n, 1/N_target)
        return self.n / n_target, self.n / n_target * (1 - 1 / n_target)

    def text(self) -> str:
        return f"fixed total number n = {self.n} (multapses)"


RULES = (FixedInDegree, Bernoulli, FixedTotalNumber)


@dataclass(frozen=True)
class SpikingPopulation:
    """A population: name, size (an expression) and one neuron model."""

    name: str
    size: sp.Expr
    neuron: LIF | GLM

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not POPULATION_NAME.fullmatch(self.name):
            raise DeclarationError(f"spiking population name {self.name!r}: letters, digits "
                                   "and _, not starting with a digit (an area graph's keys "
                                   "AREA/POP: one /, letters, digits and _ on each side)")
        object.__setattr__(self, "size", sp.sympify(self.size))
        require_instance(self.neuron, NEURON_MODELS, f"population {self.name}: neuron",
                         "ft.LIF(...) or ft.GLM(...)")


@dataclass(frozen=True)
class Connection:
    """Synapses from population ``source`` onto ``target`` by ``rule``; weights normal with
    mean ``weight`` and sd ``weight_sd`` (mV; sign kept by redrawing), delays normal with
    mean ``delay`` and sd ``delay_sd`` (ms)."""

    target: str
    source: str
    rule: FixedInDegree | Bernoulli | FixedTotalNumber
    weight: sp.Expr
    weight_sd: sp.Expr = sp.Integer(0)
    delay: sp.Expr = sp.Rational(3, 2)
    delay_sd: sp.Expr = sp.Integer(0)

    def __post_init__(self) -> None:
        require_instance(self.rule, RULES, f"connection {self.label}: rule",
                         "ft.FixedInDegree(K), ft.Bernoulli(p) or ft.FixedTotalNumber(n)")
        _sympify_fields(self, ("weight", "weight_sd", "delay", "delay_sd"))

    @property
    def label(self) -> str:
        return f"{self.source}→{self.target}"


@dataclass(frozen=True)
class PoissonDrive:
    """External drive onto ``target``: ``in_degree`` independent Poisson trains of rate
    ``rate`` (Hz) each, weight ``weight`` (mV)."""

    target: str
    rate: sp.Expr
    in_degree: sp.Expr
    weight: sp.Expr

    def __post_init__(self) -> None:
        _sympify_fields(self, ("rate", "in_degree", "weight"))


@dataclass(frozen=True)
class SpikingNetwork:
    """A declared spiking network (the ``action`` of a spiking :class:`Model`)."""

    populations: tuple[SpikingPopulation, ...]
    connections: tuple[Connection, ...]
    drives: tuple[PoissonDrive, ...]
    parameters: ParameterSet
    #: where the network came from, when it was built from an area graph
    #: (:class:`~fieldtheory.ir.area_graph.AreaGraphSource`; not part of equality)
    source: object = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("populations", "connections", "drives"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        require_instance(self.parameters, ParameterSet, "spiking network: parameters",
                         "a ParameterSet (ft.parameters(...))")
        if not self.populations:
            raise DeclarationError("spiking network: no populations")
        names = [p.name for p in self.populations]
        if len(set(names)) != len(names):
            raise DeclarationError(f"spiking network: population names repeat: {names}")
        for c in (*self.connections, *self.drives):
            for end in ((c.target, c.source) if isinstance(c, Connection) else (c.target,)):
                if end not in names:
                    raise DeclarationError(f"spiking network: {type(c).__name__} "
                                           f"{getattr(c, 'label', c.target)} names the "
                                           f"population {end!r}, not one of {names}")
        declared = set(self.parameters.symbols)
        for what, expr in self._expressions():
            extra = sorted(str(s) for s in expr.free_symbols - declared
                           if not isinstance(s, Potential))
            if extra:
                raise UndeclaredSymbolError(f"spiking network: {what} = {expr} uses "
                                            f"undeclared symbol(s) {', '.join(extra)}")

    def _expressions(self):
        for p in self.populations:
            yield f"size of {p.name}", p.size
            exprs = dict(p.neuron.expressions())
            if isinstance(p.neuron, GLM):
                exprs["intensity"] = p.neuron.intensity
            for k, e in exprs.items():
                yield f"{p.name}.{k}", e
        for c in self.connections:
            yield f"connection {c.label} rule", c.rule.number
            for k in ("weight", "weight_sd", "delay", "delay_sd"):
                yield f"connection {c.label} {k}", getattr(c, k)
        for d in self.drives:
            for k in ("rate", "in_degree", "weight"):
                yield f"drive onto {d.target} {k}", getattr(d, k)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.populations)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def resolve(self, params: Mapping[str, float] | None = None) -> dict[str, float]:
        return self.parameters.resolve(params)

    def values(self, params: Mapping[str, float] | None = None, *,
               N: int | None = None) -> NetworkValues:
        """The network at numbers (parameters resolved and checked).

        ``N`` rescales the population sizes to N neurons in all (proportions kept, each at
        least one neuron); in-degrees and weights stay as declared, so a fixed in-degree
        network keeps its mean-field theory (a Bernoulli block's in-degree p·N_β does not).
        """
        values = self.resolve(params)
        return _network_values(self, tuple(sorted(values.items())), N)

    def _values(self, values: dict, N: int | None) -> NetworkValues:
        sizes = []
        for p in self.populations:
            size = evaluate(p.size, values)
            if not (np.isfinite(size) and size >= 1 and size == round(size)):
                raise ParameterError(f"population {p.name}: size {p.size} = {size:g} must be "
                                     "a positive integer")
            sizes.append(round(size))
        if N is not None:
            if int(N) != N or N < len(sizes):
                raise ParameterError(f"N = {N} must be an integer ≥ the number of "
                                     f"populations ({len(sizes)})")
            total = sum(sizes)
            sizes = [max(1, round(s * N / total)) for s in sizes]
        neurons = tuple(p.neuron.values(values) for p in self.populations)
        for p, n in zip(self.populations, neurons, strict=True):
            _check_neuron(p.name, n)
        connections = []
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            table = _connection_table(self)(*(np.float64(values[s.name])
                                              for s in self.parameters.symbols))
        for c, row in zip(self.connections, np.reshape(np.asarray(table, dtype=float),
                                                       (-1, 5)), strict=True):
            if not np.all(np.isfinite(row)):  # evaluate names the offending expression
                row = [evaluate(e, values) for e in _block_numbers(c)]
            number, weight, weight_sd, delay, delay_sd = (float(x) for x in row)
            connections.append(ConnectionValues(
                self.index(c.target), self.index(c.source), c.rule.rule, number,
                weight, weight_sd, delay, delay_sd,
                multapses=c.rule.multapses, autapses=c.rule.autapses))
        drives = tuple(DriveValues(self.index(d.target), evaluate(d.rate, values),
                                   evaluate(d.in_degree, values), evaluate(d.weight, values))
                       for d in self.drives)
        network = NetworkValues(self.names, tuple(sizes), neurons, tuple(connections), drives)
        check_network(network)
        return network

    def __str__(self) -> str:
        from fieldtheory.printing import text

        lines = [f"spiking network, {len(self.populations)} populations"]
        for p in self.populations:
            lines.append(f"  {p.name}: N = {text(p.size)}; {p.neuron.text()}")
        for c in self.connections:
            spread = {k: "" if sp.sympify(v).is_zero else f" ± {text(v)}"
                      for k, v in (("w", c.weight_sd), ("d", c.delay_sd))}
            lines.append(f"  {c.label}: {c.rule.text()}, J = {text(c.weight)} mV{spread['w']}"
                         f", delay {text(c.delay)} ms{spread['d']}")
        for d in self.drives:
            lines.append(f"  Poisson drive → {d.target}: {text(d.in_degree)} inputs at "
                         f"{text(d.rate)} Hz, J = {text(d.weight)} mV")
        return "\n".join(lines)

    def latex(self) -> str:
        return (r"\tau_m\dot V_i = -(V_i - E_L) + \tau_m \sum_j W_{ij} s_j(t - d_{ij})"
                r" + \tau_m I^{\rm ext}_i(t)")

    def _repr_latex_(self) -> str:
        return f"${self.latex()}$"


def _block_numbers(c: Connection) -> tuple[sp.Expr, ...]:
    return (c.rule.number, c.weight, c.weight_sd, c.delay, c.delay_sd)


@lru_cache(maxsize=64)
def _connection_table(network: SpikingNetwork):
    """Every block's numbers (rule number, weight, its sd, delay, its sd) as one numpy
    function of the parameters, lambdified once per network (a microcircuit has 56
    blocks: one call instead of 280 sympy evaluations)."""
    flat = [sp.sympify(e) for c in network.connections for e in _block_numbers(c)]
    if all(e.is_Number for e in flat):  # a graph at numbers (data files): no code
        numbers = [float(e) for e in flat]
        return lambda *_: numbers
    return sp.lambdify(network.parameters.symbols, flat or [0.0] * 0,
                       modules=["scipy", "numpy"])


@lru_cache(maxsize=64)
def _network_values(network: SpikingNetwork, values: tuple, N: int | None) -> NetworkValues:
    """The lowered network, cached per (network, parameter values, N): sympy's evalf of
    every block's numbers costs more than a mean-field solve."""
    return network._values(dict(values), N)


def _check_neuron(name: str, n: NeuronValues) -> None:
    def bad(what, value, need):
        raise ParameterError(f"population {name}: {what} = {value:g} {need}")

    if not (np.isfinite(n.tau_m) and n.tau_m > 0):
        bad("tau_m", n.tau_m, "must be positive (ms)")
    if not (np.isfinite(n.tau_s) and n.tau_s >= 0):
        bad("tau_s", n.tau_s, "must be ≥ 0 (ms; 0 = delta synapses)")
    if n.model == "lif":
        if not n.t_ref >= 0:
            bad("t_ref", n.t_ref, "must be ≥ 0 (ms)")
        if not n.V_reset < n.V_th:
            bad("V_reset", n.V_reset, f"must lie below the threshold V_th = {n.V_th:g} mV")


def check_network(network: NetworkValues) -> None:
    """Named ``ParameterError`` for numbers no engine can run: negative or non-finite
    delays and weights' sd, probabilities outside [0, 1], an in-degree larger than its
    source population (without multapses), negative drive rates."""
    names = network.populations
    for c in network.connections:
        label = f"connection {names[c.source]}→{names[c.target]}"
        if not (np.isfinite(c.delay) and c.delay > 0):
            raise ParameterError(f"{label}: delay = {c.delay:g} ms must be positive")
        if not (c.delay_sd >= 0 and c.weight_sd >= 0):
            raise ParameterError(f"{label}: the standard deviations of weight and delay must "
                                 f"be ≥ 0, got {c.weight_sd:g} and {c.delay_sd:g}")
        if not np.isfinite(c.weight):
            raise ParameterError(f"{label}: weight = {c.weight} is not finite")
        if c.rule == "bernoulli" and not 0 <= c.number <= 1:
            raise ParameterError(f"{label}: connection probability p = {c.number:g} must lie "
                                 "in [0, 1]")
        if c.rule in ("fixed_indegree", "fixed_total_number") and not (
                c.number >= 0 and c.number == round(c.number)):
            raise ParameterError(f"{label}: the number of synapses {c.number:g} must be a "
                                 "non-negative integer")
        available = network.sizes[c.source] - (0 if c.autapses or c.source != c.target else 1)
        if c.rule == "fixed_indegree" and not c.multapses and c.number > available:
            raise ParameterError(f"{label}: in-degree {c.number:g} exceeds the {available} "
                                 f"neurons of {names[c.source]} it can draw from (no "
                                 "multapses)")
    for d in network.drives:
        if not (d.rate >= 0 and d.in_degree >= 0):
            raise ParameterError(f"Poisson drive onto {names[d.target]}: rate {d.rate:g} Hz "
                                 f"and in-degree {d.in_degree:g} must be ≥ 0")


def spiking_network(populations: Sequence[SpikingPopulation],
                    connections: Sequence[Connection] = (),
                    drives: Sequence[PoissonDrive] = (), *,
                    parameters: ParameterSet) -> SpikingNetwork:
    """Declare a spiking network (checked by :class:`SpikingNetwork`)."""
    return SpikingNetwork(tuple(populations), tuple(connections), tuple(drives), parameters)


def is_spiking(model) -> bool:
    """Whether a model (or its action) is a declared spiking network."""
    return isinstance(getattr(model, "action", model), SpikingNetwork)
