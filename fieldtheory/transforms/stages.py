r"""The stages of a derivation: frozen, hashable, printable values.

``Action → AveragedAction → CollectiveFieldAction → MeanFieldTheory``; each stage keeps
the one before it. ``str(stage)`` is plain text, ``stage.latex()`` (and
``_repr_latex_`` in notebooks) LaTeX. The site sums are written out where a stage needs
them: (c/N) Σ_{i∈α} Σ_{j∈β} ∫ F_i G_j for the averaged action, order parameters
Q(τ…) = (1/N_α) Σ_{j∈α} O_j(τ…) for the collective fields.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import sympy as sp
from sympy.core.function import UndefinedFunction

from fieldtheory.ir.action import Action, Time
from fieldtheory.ir.ensembles.cumulants import D_INPUT, DATA, Cumulant, site_sums
from fieldtheory.ir.symbols import Coupling, Field, FieldValue, ResponseValue
from fieldtheory.transforms.nodes import ConjugateValue, OrderParameterValue
from fieldtheory.transforms.printing import ONE, latex, text

__all__ = [
    "AveragedAction",
    "CollectiveFieldAction",
    "CouplingTerm",
    "Cumulant",
    "MeanFieldTheory",
    "OrderParameter",
    "PairTerm",
    "SingleSiteProcess",
]

#: N, the number of sites (printing only).
N = sp.Symbol("N", positive=True, integer=True)


@dataclass(frozen=True)
class CouplingTerm:
    r"""A_i(τ) Σ_j J_ij B_j(τ): the site-i coefficient ``target`` = A of one coupling sum
    and its presynaptic expression ``source`` = B (a field of site j)."""

    coupling: Coupling
    target: sp.Expr
    source: sp.Expr

    def __str__(self) -> str:
        return f"{text(self.target, 'i')}*Σ_j {self.coupling.name}_ij*{text(self.source, 'j')}"

    def latex(self) -> str:
        return (rf"{latex(self.target, 'i')} \sum_{{j}} {self.coupling.name}_{{ij}} "
                rf"{latex(self.source, 'j')}")


@dataclass(frozen=True)
class PairTerm:
    r"""(coefficient/N) Σ_{i∈α} Σ_{j∈β} ∫d(times) F_i(times) G_j(times).

    ``target_factor`` F holds the fields of site i, ``source_factor`` G those of site j;
    both are products of one factor per time (fields of the single-site IR atoms).
    """

    coefficient: sp.Expr
    times: tuple[sp.Symbol, ...]
    target_factor: sp.Expr
    source_factor: sp.Expr
    target_population: str = ONE
    source_population: str = ONE

    def text(self) -> str:
        measure = " ".join(_measure(v, False) for v in self.times)
        body = f"{text(self.target_factor, 'i')}*{text(self.source_factor, 'j')}"
        return f"({text(self.coefficient / self._size)}) {site_sums(self, False)} {measure} {body}"

    def __str__(self) -> str:
        return self.text()

    def latex(self) -> str:
        measure = " ".join(_measure(v, True) for v in self.times)
        body = rf"{latex(self.target_factor, 'i')} \, {latex(self.source_factor, 'j')}"
        return rf"{latex(self.coefficient / self._size)} {site_sums(self, True)} {measure} {body}"

    @property
    def _size(self) -> sp.Symbol:
        """The number of source sites the coefficient is divided by: N, or d for data."""
        return D_INPUT if self.source_population == DATA else N


def _measure(variable: sp.Symbol, for_latex: bool) -> str:
    if variable.is_integer:
        return rf"\sum_{{{variable}}}" if for_latex else f"Σ_{variable}"
    return rf"\int d{variable}\," if for_latex else f"∫d{variable}"


def _local_action_text(action: Action, lagrangian: sp.Expr, for_latex: bool) -> str:
    """The coupling-free part of the action, grouped as the IR prints actions."""
    from dataclasses import replace

    from fieldtheory.errors import FieldTheoryError
    from fieldtheory.printing import action_latex, action_text

    try:
        local = replace(action, lagrangian=lagrangian, couplings=())
    except FieldTheoryError:  # pragma: no cover - a local part that reads as no Langevin form
        measure = _measure(action.time.symbol, for_latex)
        body = latex(lagrangian, "i") if for_latex else text(lagrangian, "i")
        return f"S = Σ_i {measure} [ {body} ]"
    return action_latex(local) if for_latex else action_text(local)


@dataclass(frozen=True)
class AveragedAction:
    r"""The action averaged over the couplings: local part + cumulant (pair) terms.

    S̄ = Σ_i ∫dτ L_local + Σ (c/N) Σ_{i∈α} Σ_{j∈β} ∫ F_i G_j.
    """

    action: Action
    local_lagrangian: sp.Expr
    coupling_terms: tuple[CouplingTerm, ...]
    cumulants: tuple[Cumulant, ...]
    pair_terms: tuple[PairTerm, ...]
    #: cumulant terms kept whole (every order enters the saddle point): their second
    #: order is among ``pair_terms``, the rest is resummed by the saddle point
    resummed: tuple = ()

    def __str__(self) -> str:
        lines = [_local_action_text(self.action, self.local_lagrangian, False)]
        lines += [f"  + {term.text()}" for term in self.pair_terms]
        for term in self.resummed:
            lines.append(f"  + [all orders, resummed at the saddle point: {term}; "
                         "its second order is written above]")
        return "\n".join(lines)

    def latex(self) -> str:
        lines = [_local_action_text(self.action, self.local_lagrangian, True)]
        lines += [rf"+ {term.latex()}" for term in self.pair_terms]
        lines += [rf"+ \left[{term.latex()}\right]_{{\text{{orders}} > 2}}"
                  for term in self.resummed]
        return " \\\\\n".join(lines)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"


@dataclass(frozen=True)
class OrderParameter:
    r"""Q(τ₁…τ_k) = (1/N_α) Σ_{j∈α} O_j(τ₁…τ_k), found in the averaged action.

    ``content`` is O at the canonical times ``times``; its conjugate field Q̃ enters the
    single-site problem as ∫ Q̃ O. An order parameter made of response fields only
    vanishes at the saddle point (⟨x̃…x̃⟩ = 0: the MSRDJ functional is normalised).
    """

    name: str
    latex_name: str
    content: sp.Expr
    times: tuple[sp.Symbol, ...]
    population: str = ONE

    @cached_property
    def function(self) -> UndefinedFunction:
        return UndefinedFunction(self.name, bases=(OrderParameterValue,), op_role="value",
                                 text_name=self.name, latex_name=self.latex_name)

    @cached_property
    def conjugate_function(self) -> UndefinedFunction:
        text_name = self.name[0] + "\u0303" + self.name[1:]
        base, _, rest = self.latex_name.partition("_")
        latex_name = rf"\tilde{{{base}}}" + (f"_{rest}" if rest else "")
        return UndefinedFunction(f"{self.name}~", bases=(ConjugateValue,),
                                 op_role="conjugate", text_name=text_name,
                                 latex_name=latex_name)

    def value(self, *arguments: sp.Expr) -> OrderParameterValue:
        return self.function(*(arguments or self.times))

    def conjugate(self, *arguments: sp.Expr) -> ConjugateValue:
        return self.conjugate_function(*(arguments or self.times))

    @property
    def vanishes(self) -> bool:
        """Made of response fields only: zero at the saddle point."""
        return self.content.has(ResponseValue) and not self.content.has(FieldValue)

    @cached_property
    def symmetries(self) -> tuple[tuple[int, ...], ...]:
        """Permutations of the time arguments that leave the content unchanged."""
        out = []
        for perm in itertools.permutations(range(len(self.times))):
            mapping = {self.times[k]: self.times[p] for k, p in enumerate(perm)}
            if self.content.xreplace(mapping) == self.content:
                out.append(perm)
        return tuple(out)

    def definition_text(self) -> str:
        j = "Σ_j" if self.population == ONE else f"Σ_{{j∈{self.population}}}"
        size = "N" if self.population == ONE else f"N_{self.population}"
        return f"{text(self.value())} = (1/{size}) {j} {text(self.content, 'j')}"

    def __str__(self) -> str:
        return self.definition_text()

    def latex(self) -> str:
        return self.definition_latex()

    def definition_latex(self) -> str:
        j = r"\sum_{j}" if self.population == ONE else rf"\sum_{{j \in {self.population}}}"
        size = "N" if self.population == ONE else f"N_{{{self.population}}}"
        return rf"{latex(self.value())} = \frac{{1}}{{{size}}} {j} {latex(self.content, 'j')}"


@dataclass(frozen=True)
class CollectiveFieldAction:
    r"""S = N·S[Q, Q̃] with one single-site problem per population.

    S[Q, Q̃] = −Σ_k f_α ∫ Q̃_k Q_k + Σ c f_α f_β ∫ Q_F Q_G + Σ_α f_α ln Z_α[Q̃],
    Z_α[Q̃] = ∫Dx Dx̃ exp(∫ L_local,α + Σ_{k∈α} ∫ Q̃_k O_k).
    """

    averaged: AveragedAction
    order_parameters: tuple[OrderParameter, ...]
    fractions: tuple[tuple[str, sp.Expr], ...]
    conjugate_terms: tuple[sp.Expr, ...]
    bilinear_terms: tuple[sp.Expr, ...]
    log_z_terms: tuple[sp.Expr, ...]
    local_lagrangians: tuple[tuple[str, sp.Expr], ...]
    sources: tuple[tuple[str, sp.Expr], ...]
    #: resummed terms in the order parameters (:mod:`fieldtheory.transforms.resummation`):
    #: every order of them beyond the second, which ``bilinear_terms`` hold
    resummed: tuple = ()

    @property
    def action(self) -> Action:
        return self.averaged.action

    @property
    def terms(self) -> tuple[sp.Expr, ...]:
        return self.conjugate_terms + self.bilinear_terms + self.log_z_terms

    @property
    def density(self) -> sp.Expr:
        """S[Q, Q̃] = S/N as one sympy expression."""
        return sp.Add(*self.terms)

    def __str__(self) -> str:
        from fieldtheory.transforms.printing import signed_lines

        lines = ["order parameters:" if self.order_parameters else "order parameters: none"]
        lines += [f"  {q.definition_text()}" for q in self.order_parameters]
        lines.append("S = N*S[Q, Q̃],  S[Q, Q̃] =")
        lines += [f"    {line}" for line in signed_lines(self.terms, text)]
        lines += [f"    + {term}" for term in self.resummed]
        tau = self.action.time.symbol
        for population, local in self.local_lagrangians:
            source = dict(self.sources)[population]
            name = "Z" if population == ONE else f"Z_{population}"
            fields = " ".join(f"D{f.name} D{f.name}\u0303" for f in self.action.fields)
            lines.append(f"{name}[Q̃] = ∫{fields} exp(")
            exponent = (_integral(local, tau), *_summands(source))
            lines += [f"    {line}" for line in signed_lines(exponent, text)]
            lines.append(")")
        return "\n".join(lines)

    def latex(self) -> str:
        from fieldtheory.transforms.printing import signed_terms

        lines = [q.definition_latex() for q in self.order_parameters]
        lines.append(rf"S = N\,S[Q, \tilde{{Q}}], \quad S[Q, \tilde{{Q}}] = "
                     f"{signed_terms(self.terms, latex)}"
                     + "".join(f" + {term.latex()}" for term in self.resummed))
        tau = self.action.time.symbol
        for population, local in self.local_lagrangians:
            source = dict(self.sources)[population]
            name = "Z" if population == ONE else f"Z_{{{population}}}"
            fields = r"\,".join(rf"\mathcal{{D}}{f.latex} \mathcal{{D}}\tilde{{{f.latex}}}"
                                for f in self.action.fields)
            exponent = signed_terms((_integral(local, tau), *_summands(source)), latex)
            lines.append(rf"{name}[\tilde{{Q}}] = \int {fields}\, \exp\left({exponent}\right)")
        return " \\\\\n".join(lines)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"


def _summands(expr: sp.Expr) -> tuple[sp.Expr, ...]:
    return tuple(term for term in sp.Add.make_args(expr) if term != 0)


def _integral(expr: sp.Expr, tau: sp.Symbol) -> sp.Expr:
    from fieldtheory.transforms.nodes import TimeIntegral

    return TimeIntegral(expr, tau)


@dataclass(frozen=True)
class SingleSiteProcess:
    r"""The effective process of one site of population α at the saddle point.

    Continuous time: ∂_t x_k(t) = drift_k + kernel_k + η_k(t); discrete time:
    x_k(n+1) = drift_k + kernel_k + η_k(n). η is Gaussian with covariance
    ⟨η_k(t) η_l(s)⟩ = input_covariance[k, l] (white local noise included as δ(t − s)).
    ``kernels`` hold the self-couplings through the site's own past (∫ds R(t,s) φ(x(s))),
    ``other_terms`` what no Langevin form holds (e.g. higher cumulants of the input).
    """

    population: str
    fields: tuple[Field, ...]
    time: Time
    drift: tuple[sp.Expr, ...]
    kernels: tuple[sp.Expr, ...]
    input_covariance: sp.ImmutableMatrix
    second_time: sp.Symbol
    other_terms: tuple[sp.Expr, ...] = ()

    @property
    def is_gaussian(self) -> bool:
        """Drift and kernels linear in the fields, Gaussian input: a Gaussian process."""
        if self.other_terms:
            return False
        if any(q.has(FieldValue) for q in self.input_covariance):
            return False
        return all(_is_linear_in_fields(e) for e in (*self.drift, *self.kernels))

    def __str__(self) -> str:
        return "\n".join(self.equations_text() + [f"other: {text(e)}" for e in self.other_terms])

    def latex(self) -> str:
        return " \\\\\n".join(self.equations_latex() + [latex(e) for e in self.other_terms])

    def equations_text(self) -> list[str]:
        return [_equation(self, k, text, False) for k in range(len(self.fields))] + [
            _covariance_line(self, k, m, text, False)
            for k in range(len(self.fields)) for m in range(k, len(self.fields))
            if self.input_covariance[k, m] != 0
        ]

    def equations_latex(self) -> list[str]:
        return [_equation(self, k, latex, True) for k in range(len(self.fields))] + [
            _covariance_line(self, k, m, latex, True)
            for k in range(len(self.fields)) for m in range(k, len(self.fields))
            if self.input_covariance[k, m] != 0
        ]


def _is_linear_in_fields(expr: sp.Expr) -> bool:
    from fieldtheory.transforms.nodes import TimeIntegral

    expr = expr.replace(lambda e: isinstance(e, TimeIntegral), lambda e: e.integrand)
    values = sorted(expr.atoms(FieldValue), key=sp.default_sort_key)
    marks = [sp.Dummy() for _ in values]
    marked = expr.xreplace(dict(zip(values, marks, strict=True)))
    if not marks:
        return True
    try:
        return sp.Poly(marked, *marks).total_degree() <= 1
    except sp.PolynomialError:
        return False


def _noise_name(process: SingleSiteProcess, k: int, for_latex: bool) -> str:
    if len(process.fields) == 1:
        return r"\eta" if for_latex else "η"
    name = process.fields[k].latex if for_latex else process.fields[k].name
    return rf"\eta_{{{name}}}" if for_latex else f"η_{name}"


def _equation(process: SingleSiteProcess, k: int, printer, for_latex: bool) -> str:
    f, tau = process.fields[k], process.time.symbol
    if process.time.is_discrete:
        left = printer(f(tau + 1))
    else:
        left = (rf"\partial_{{{tau}}} " if for_latex else f"∂_{tau} ") + printer(f(tau))
    right = printer(process.drift[k])
    if process.kernels[k] != 0:
        kernel = printer(process.kernels[k])
        right += f" {'-' if kernel.startswith('-') else '+'} {kernel.lstrip('-')}"
    if any(q != 0 for q in process.input_covariance.row(k)):
        noise = _noise_name(process, k, for_latex)
        arg = rf"\left({tau}\right)" if for_latex else f"({tau})"
        right += f" + {noise}{arg}"
    return f"{left} = {right}"


def _covariance_line(process, k: int, m: int, printer, for_latex: bool) -> str:
    tau, other = process.time.symbol, process.second_time
    a, b = _noise_name(process, k, for_latex), _noise_name(process, m, for_latex)
    if for_latex:
        left = rf"\left\langle {a}\left({tau}\right) {b}\left({other}\right) \right\rangle"
    else:
        left = f"⟨{a}({tau}){b}({other})⟩"
    return f"{left} = {printer(process.input_covariance[k, m])}"


@dataclass(frozen=True)
class MeanFieldTheory:
    r"""The saddle point of S[Q, Q̃]: self-consistency and the single-site process.

    δS/δQ̃_k = 0 gives Q_k = ⟨O_k⟩ (``self_consistency``; ``vanishing`` lists the order
    parameters made of response fields, which are zero); δS/δQ_k = 0 gives the conjugate
    fields in terms of the order parameters (``conjugates``); with them the single-site
    generating functional is that of ``processes`` (one per population).
    """

    collective: CollectiveFieldAction
    self_consistency: tuple[sp.Eq, ...]
    vanishing: tuple[sp.Eq, ...]
    conjugates: tuple[sp.Eq, ...]
    processes: tuple[SingleSiteProcess, ...]
    #: resolvent functionals of the order parameters that the site uses (correlated
    #: random modes: the dressed noise S and kernel K; :mod:`~fieldtheory.transforms.resummation`)
    dressings: tuple = ()

    @property
    def order_parameters(self) -> tuple[OrderParameter, ...]:
        """The order parameters that do not vanish at the saddle point."""
        return tuple(q for q in self.collective.order_parameters if not q.vanishes)

    @property
    def single_site(self) -> SingleSiteProcess:
        """The single-site process (models with one population; else see ``processes``)."""
        if len(self.processes) != 1:
            from fieldtheory.errors import ActionStructureError

            raise ActionStructureError(
                f"the model has {len(self.processes)} populations "
                f"({', '.join(p.population for p in self.processes)}): use .processes or "
                ".process(name)"
            )
        return self.processes[0]

    def process(self, population: str) -> SingleSiteProcess:
        for p in self.processes:
            if p.population == population:
                return p
        raise KeyError(population)

    @property
    def is_gaussian(self) -> bool:
        return all(p.is_gaussian for p in self.processes)

    @property
    def time(self) -> Time:
        return self.collective.action.time

    def __str__(self) -> str:
        lines = ["self-consistency:" if self.self_consistency else "self-consistency: none"]
        lines += [f"  {text(eq)}" for eq in self.self_consistency]
        if self.vanishing:
            lines.append("vanishing (response fields only):")
            lines += [f"  {text(eq)}" for eq in self.vanishing]
        if self.conjugates:
            lines.append("conjugate fields:")
            lines += [f"  {text(eq)}" for eq in self.conjugates]
        if self.dressings:
            lines.append("resummed (products of kernels are time convolutions; "
                         "d = c·s(u), ⟨·⟩ over u ∈ (0, 1) and σ = ±1):")
            lines += [f"  {d.definition_text()}" for d in self.dressings]
        for p in self.processes:
            where = "" if p.population == ONE else f" of population {p.population}"
            kind = "Gaussian" if p.is_gaussian else "non-Gaussian"
            when = (f"discrete time, step {text(p.time.step)}" if p.time.is_discrete
                    else "continuous time")
            lines.append(f"single-site process{where} ({when}, {kind}):")
            lines += [f"  {line}" for line in p.equations_text()]
            lines += [f"  other: {text(term)}" for term in p.other_terms]
        return "\n".join(lines)

    def latex(self) -> str:
        lines = [latex(eq) for eq in (*self.self_consistency, *self.vanishing,
                                      *self.conjugates)]
        lines += [d.definition_latex() for d in self.dressings]
        for p in self.processes:
            if p.population != ONE:
                lines.append(rf"\text{{single-site process of population }} {p.population}:")
            lines += p.equations_latex()
            lines += [latex(term) for term in p.other_terms]
        return " \\\\\n".join(lines)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"
