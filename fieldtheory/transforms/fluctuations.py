r"""Gaussian fluctuations around the saddle point: the Hessian of N·S[Q, Q̃].

Beyond N → ∞ the order parameters fluctuate, Q = Q* + δQ, Q̃ = Q̃* + δQ̃, with weight
exp(N S) expanded to second order (Clark, Abbott & Litwin-Kumar, PRL 131, 118401 (2023);
Dick, van Meegen & Helias, arXiv:2309.14973):

.. math::  N S[Q, \tilde Q] = N S[Q^*, \tilde Q^*]
           + \frac{N}{2} \sum_{ab} \int \delta Q_a\, H_{ab}\, \delta Q_b + O(\delta^3),

over every order parameter and conjugate field (C, m, R, the response-only ones, …) of
every population. The Hessian has two parts:

* the explicit part of S, −Σ f_α ∫ Q̃_k Q_k + Σ c f_α f_β ∫ Q_F Q_G, differentiated
  twice symbolically (its kernels are products of δ functions of the times);
* the single-site part Σ_α f_α ln Z_α[Q̃], whose second derivative is the connected
  single-site cumulant of the site factors the conjugates couple to,
  δ² ln Z_α / δQ̃_k δQ̃_l = ⟨O_k; O_l⟩_α, at the saddle point (evaluated by solvers later).

Both are read off the stage objects: nothing here knows which model it expands. A
resummed term (correlated random modes, :mod:`fieldtheory.transforms.resummation`) adds
its own entries, α⟨weight·k₀·k₁⟩_(d,σ) with resolvent kernels (``resummed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy as sp
from sympy.core.function import UndefinedFunction

from fieldtheory.errors import ActionStructureError
from fieldtheory.ir.symbols import FieldValue
from fieldtheory.transforms.nodes import (
    ConjugateValue,
    ConnectedExpectation,
    FluctuationValue,
    OrderParameterValue,
    SingleSiteLogZ,
    TimeIntegral,
    connected_expectation,
    time_variables,
)
from fieldtheory.transforms.printing import ONE, latex, signed_lines, signed_terms, text
from fieldtheory.transforms.resummation import ResolventEntry, resummed_hessian
from fieldtheory.transforms.saddle_point import distribute, functional_derivative
from fieldtheory.transforms.stages import CollectiveFieldAction, MeanFieldTheory, OrderParameter

__all__ = ["FluctuationField", "GaussianFluctuations", "HessianBlock", "fluctuations"]


@dataclass(frozen=True)
class FluctuationField:
    """δQ (``conjugate`` False) or δQ̃ (True) of one order parameter."""

    order_parameter: OrderParameter
    conjugate: bool

    @property
    def population(self) -> str:
        return self.order_parameter.population

    @property
    def name(self) -> str:
        """``C_tanh`` or ``C̃_tanh`` (the printed name of Q or Q̃, population suffix included)."""
        q = self.order_parameter
        return q.conjugate_function.text_name if self.conjugate else q.name

    @property
    def key(self) -> tuple[str, str]:
        """(name, population): how blocks are looked up."""
        return (self.name, self.population)

    @property
    def saddle_function(self) -> UndefinedFunction:
        q = self.order_parameter
        return q.conjugate_function if self.conjugate else q.function

    @cached_property
    def function(self) -> UndefinedFunction:
        q = self.order_parameter
        latex_name = (q.conjugate_function if self.conjugate else q.function).latex_name
        return UndefinedFunction(f"d{self.saddle_function.__name__}",
                                 bases=(FluctuationValue,), text_name=f"δ{self.name}",
                                 latex_name=rf"\delta {latex_name}")

    def __str__(self) -> str:
        return f"δ{self.name}"


@dataclass(frozen=True)
class HessianBlock:
    r"""H_ab(row_times; column_times) = δ²S / δQ_a(row_times) δQ_b(column_times).

    ``explicit`` comes from the explicit part of S, ``single_site`` from Σ f_α ln Z_α
    (connected single-site cumulants); ``kernel`` is their sum.
    """

    row: FluctuationField
    column: FluctuationField
    row_times: tuple[sp.Symbol, ...]
    column_times: tuple[sp.Symbol, ...]
    explicit: sp.Expr
    single_site: sp.Expr

    @property
    def kernel(self) -> sp.Expr:
        return self.explicit + self.single_site

    def _left(self, printer, for_latex: bool) -> str:
        rows = ", ".join(printer(t) for t in self.row_times)
        columns = ", ".join(printer(t) for t in self.column_times)
        if for_latex:
            names = f"{self.row.function.latex_name}, {self.column.function.latex_name}"
            return rf"H\left[{names}\right]\left({rows};\, {columns}\right)"
        return f"H[{self.row}, {self.column}]({rows}; {columns})"

    def __str__(self) -> str:
        return f"{self._left(text, False)} = {text(self.kernel)}"

    def latex(self) -> str:
        return f"{self._left(latex, True)} = {latex(self.kernel)}"

    def to_json(self) -> dict:
        return {"row": self.row.name, "column": self.column.name,
                "row_population": self.row.population,
                "column_population": self.column.population,
                "row_times": [str(t) for t in self.row_times],
                "column_times": [str(t) for t in self.column_times],
                "explicit": text(self.explicit), "single_site": text(self.single_site)}


@dataclass(frozen=True)
class GaussianFluctuations:
    r"""S⁽²⁾ = N·S2[δQ, δQ̃], S2 = ½ Σ_ab ∫ δQ_a H_ab δQ_b: the Hessian of N·S at the saddle.

    ``fields`` lists the fluctuations (every δQ, then every δQ̃); ``blocks`` the nonzero
    blocks H_ab with a ≤ b in that order (H_ba is H_ab with its time arguments swapped).
    S2 = ``explicit_form`` (the explicit part of S at second order) + Σ_α ½ f_α δ²ln Z_α,
    with ``log_z_variations`` = ((α, f_α, terms of δ²ln Z_α[δQ̃]), …).
    """

    collective: CollectiveFieldAction
    mean_field: MeanFieldTheory
    fields: tuple[FluctuationField, ...]
    blocks: tuple[HessianBlock, ...]
    explicit_form: tuple[sp.Expr, ...]
    log_z_variations: tuple[tuple[str, sp.Expr, tuple[sp.Expr, ...]], ...]
    #: entries of resummed terms (every order of correlated random modes), both triangles
    resummed: tuple[ResolventEntry, ...] = ()

    @property
    def quadratic_form(self) -> sp.Expr:
        """S2[δQ, δQ̃] as one sympy expression."""
        site = (weight / 2 * sp.Add(*terms) for _, weight, terms in self.log_z_variations)
        return sp.Add(*self.explicit_form, *site)

    def field(self, name: str, population: str | None = None) -> FluctuationField:
        """The fluctuation named ``name`` (``C_tanh``, ``C̃_tanh`` or ``C_tanh~``)."""
        for f in self.fields:
            names = {f.name, f.saddle_function.__name__, str(f)}
            if name in names and population in (None, f.population):
                return f
        raise KeyError(f"no fluctuation {name!r}; fields: {[f.name for f in self.fields]}")

    def block(self, row, column) -> HessianBlock | None:
        """The block H[row, column] (fields, names or (name, population) keys), or None
        where it vanishes; a block asked for below the diagonal is returned transposed
        (rows and columns, with their times, swapped)."""
        row, column = self._resolve(row), self._resolve(column)
        for b in self.blocks:
            if (b.row, b.column) == (row, column):
                return b
            if (b.row, b.column) == (column, row):
                return HessianBlock(row, column, b.column_times, b.row_times, b.explicit,
                                    b.single_site)
        return None

    def blocks_by_key(self) -> dict[tuple[tuple[str, str], tuple[str, str]], HessianBlock]:
        """{((name, population), (name, population)): block}, upper triangle."""
        return {(b.row.key, b.column.key): b for b in self.blocks}

    def _resolve(self, key) -> FluctuationField:
        if isinstance(key, FluctuationField):
            return key
        if isinstance(key, tuple):
            return self.field(*key)
        return self.field(key)

    def __str__(self) -> str:
        if not self.fields:
            return "order parameters: none, so no collective fluctuations: S2[δQ, δQ̃] = 0"
        lines = ["Q = Q* + δQ, Q̃ = Q̃* + δQ̃ around the saddle point;",
                 "S = N*S[Q*, Q̃*] + N*S2[δQ, δQ̃] + O(δ³),  S2[δQ, δQ̃] ="]
        lines += [f"    {line}" for line in signed_lines(self.explicit_form, text)]
        lines += [f"    + {_weight(w, text)}δ²{_log_z(p, False)}[δQ̃]"
                  for p, w, _ in self.log_z_variations]
        for population, _, terms in self.log_z_variations:
            lines.append(f"δ²{_log_z(population, False)}[δQ̃] =")
            lines += [f"    {line}" for line in signed_lines(terms, text)]
        lines.append("⟨A; B⟩_c = ⟨A*B⟩ - ⟨A⟩*⟨B⟩ over the single-site process at the saddle point")
        lines.append("Hessian blocks, S2 = (1/2) Σ_ab ∫ δQ_a*H_ab*δQ_b (H_ba: times swapped):")
        lines += [f"  {block}" for block in self.blocks]
        if self.resummed:
            lines.append(_RESUMMED_HEADER)
            times = sp.symbols("t s t3 t4")
            lines += [f"  {entry.text(times)}" for entry in self.resummed]
        return "\n".join(lines)

    def latex(self) -> str:
        if not self.fields:
            return r"S_2[\delta Q, \delta\tilde{Q}] = 0"
        site = " ".join(rf"+ {_weight(w, latex)}\delta^2 {_log_z(p, True)}[\delta\tilde{{Q}}]"
                        for p, w, _ in self.log_z_variations)
        lines = [rf"S = N\,S[Q^*, \tilde{{Q}}^*] + N\,S_2[\delta Q, \delta\tilde{{Q}}], \quad "
                 rf"S_2 = {signed_terms(self.explicit_form, latex)} {site}"]
        lines += [rf"\delta^2 {_log_z(p, True)}[\delta\tilde{{Q}}] = {signed_terms(terms, latex)}"
                  for p, _, terms in self.log_z_variations]
        lines += [block.latex() for block in self.blocks]
        if self.resummed:
            lines.append(r"\text{correlated modes: } S_2 \supset \frac{\alpha}{4}\left\langle "
                         r"d^2\left[\operatorname{tr}(G\,\delta M)^2 - \operatorname{tr}"
                         r"(\delta M)^2\right]\right\rangle_{d,\sigma},\ G = \begin{pmatrix}"
                         r"B^\top & 0 \\ \Gamma & B\end{pmatrix}")
        return " \\\\\n".join(lines)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    def to_json(self) -> dict:
        """{"fields": [{name, population, conjugate}], "blocks": [...]} (strings)."""
        return {
            "fields": [{"name": f.name, "population": f.population, "conjugate": f.conjugate}
                       for f in self.fields],
            "blocks": [b.to_json() for b in self.blocks],
            "resummed": [entry.text(sp.symbols("t s t3 t4")) for entry in self.resummed],
        }


_RESUMMED_HEADER = (
    "correlated random modes, every order: S2 ⊃ (α/4)⟨d²[tr((G·δM)²) − tr(δM²)]⟩_(d,σ), "
    "δM = [[ρσ δRᵀ, δC_x̃], [δC_B, ρσ δR]], G = [[Bᵀ, 0], [Γ, B]], B = (1 − dρσ R)⁻¹, "
    "Γ = d·B·C_B·Bᵀ (kernels of the time difference; their second order, tr(δM²), is in "
    "the blocks above), entries:")


def _weight(weight: sp.Expr, printer) -> str:
    """½ f_α as a printed prefix: (1/2)*, (f_E/2)*, (1/2)*(1 - f_E)*."""
    if weight == 1:
        return "(1/2)*" if printer is text else r"\frac{1}{2}"
    if weight.is_Atom:
        return f"({printer(weight / 2)})*" if printer is text else printer(weight / 2)
    if printer is text:
        return f"(1/2)*({printer(weight)})*"
    return rf"\frac{{1}}{{2}}\left({printer(weight)}\right)"


def _log_z(population: str, for_latex: bool) -> str:
    if population == ONE:
        return r"\ln Z" if for_latex else "ln Z"
    return rf"\ln Z_{{{population}}}" if for_latex else f"ln Z_{population}"


def fluctuations(collective: CollectiveFieldAction, mean_field: MeanFieldTheory,
                 higher: tuple[sp.Expr, ...] = ()) -> GaussianFluctuations:
    """The second-order expansion of N·S[Q, Q̃] around the saddle point ``mean_field``.

    ``higher``: S-density terms of cumulants beyond the second in the order parameters
    (:func:`fieldtheory.transforms.trace_cumulants.higher_cumulant_terms`), part of the
    explicit action; they vanish at the saddle point but not in its Hessian.
    """
    action = collective.action
    discrete = action.time.is_discrete
    taken = frozenset(action.parameters.symbols)
    ops = collective.order_parameters
    fields = (tuple(FluctuationField(q, False) for q in ops)
              + tuple(FluctuationField(q, True) for q in ops))
    explicit = sp.Add(*collective.conjugate_terms, *collective.bilinear_terms, *higher)
    # response-field order parameters vanish at the saddle (⟨x̃…x̃⟩ = 0): where a higher
    # cumulant leaves one in a second derivative, it is zero there
    vanishing = {q.function for q in ops if not q.content.has(FieldValue)}
    sources = dict(collective.sources)
    weights = _log_z_weights(collective)
    blocks = []
    for a, row in enumerate(fields):
        for column in fields[a:]:
            k, m = len(row.order_parameter.times), len(column.order_parameter.times)
            times = time_variables(k + m, discrete, taken)
            row_times, column_times = times[:k], times[k:]
            first = _at_saddle(_second_derivative(explicit, row, row_times, column,
                                                  column_times, discrete), vanishing)
            second = sp.S.Zero
            if row.conjugate and column.conjugate and row.population == column.population:
                # δ² ln Z_α / δQ̃_k δQ̃_l = ⟨O_k; O_l⟩_c: the exponent is linear in Q̃
                source = sources[row.population]
                o_row = functional_derivative(source, row.saddle_function, row_times)
                o_column = functional_derivative(source, column.saddle_function, column_times)
                second = weights[row.population] * connected_expectation(
                    o_row, o_column, row.population)
            if first != 0 or second != 0:
                blocks.append(HessianBlock(row, column, row_times, column_times, first, second))
    form = tuple(term for term in (_at_saddle(t, vanishing) for t in _explicit_quadratic_form(
        (*collective.conjugate_terms, *collective.bilinear_terms, *higher), fields))
        if term != 0)
    variations = tuple(
        (name, weights[name], terms) for name, _ in collective.fractions
        if (terms := tuple(_log_z_term(b) for b in blocks
                           if b.single_site != 0 and b.row.population == name))
    )
    resummed = tuple(entry for resummation in collective.resummed
                     for entry in resummed_hessian(resummation))
    return GaussianFluctuations(collective, mean_field, fields, tuple(blocks), form,
                                variations, resummed)


def _at_saddle(expr: sp.Expr, vanishing: set) -> sp.Expr:
    """``expr`` with the saddle values of the vanishing order parameters set to zero."""
    if not vanishing:
        return expr
    zeroed = expr.replace(lambda e: isinstance(e, OrderParameterValue) and e.func in vanishing,
                          lambda e: sp.S.Zero)
    return sp.expand(zeroed) if zeroed != expr else expr


def _log_z_weights(collective: CollectiveFieldAction) -> dict[str, sp.Expr]:
    weights = {}
    for term in collective.log_z_terms:
        weight, log_z = term.as_independent(SingleSiteLogZ, as_Add=False)
        weights[log_z.population] = weight
    return weights


def _delta(a: sp.Expr, b: sp.Expr, discrete: bool) -> sp.Expr:
    return sp.KroneckerDelta(a, b) if discrete else sp.DiracDelta(a - b)


def _second_derivative(expr: sp.Expr, row: FluctuationField, row_times: tuple,
                       column: FluctuationField, column_times: tuple,
                       discrete: bool) -> sp.Expr:
    r"""δ² expr / δQ_row(row_times) δQ_column(column_times) for sums of time integrals.

    For each ordered pair of occurrences Q_row(A), Q_column(B) inside ∫dV f: ∂²f with the
    integration variables in A set to row_times and those in B to column_times; a variable
    in both gives a δ function of the two times it is set to; the others stay integrated.
    """
    result = sp.S.Zero
    for term in distribute(expr):
        coefficient, integral = term.as_independent(TimeIntegral, as_Add=False)
        if isinstance(integral, TimeIntegral):
            variables, integrand = integral.variables, integral.integrand
        else:
            coefficient, variables, integrand = sp.S.One, (), term
        for first in integrand.atoms(row.saddle_function):
            for second in integrand.atoms(column.saddle_function):
                derivative = integrand.diff(first).diff(second)
                if derivative == 0:
                    continue
                settings = [*zip(first.args, row_times, strict=True),
                            *zip(second.args, column_times, strict=True)]
                result += coefficient * _localised(derivative, variables, settings, discrete)
    return result


def _localised(derivative: sp.Expr, variables: tuple, settings: list, discrete: bool):
    """∫d(variables) derivative · Π δ(variable − time) over ``settings``."""
    mapping, deltas = {}, []
    for variable, time in settings:
        if variable not in variables:
            raise ActionStructureError(
                f"{variable} in {derivative} is not an integration time of its term")
        if variable in mapping:
            deltas.append(_delta(mapping[variable], time, discrete))
        else:
            mapping[variable] = time
    remaining = [v for v in variables if v not in mapping]
    fresh = time_variables(len(remaining), discrete,
                           frozenset(t for _, t in settings) | derivative.free_symbols)
    renames = dict(zip(remaining, fresh, strict=True))
    localised = derivative.xreplace({**renames, **mapping}) * sp.Mul(*deltas)
    return TimeIntegral(localised, *fresh)


def _explicit_quadratic_form(terms, fields) -> tuple[sp.Expr, ...]:
    """The O(δ²) part of each explicit term: Q → Q + ε δQ, ½ ∂²/∂ε² at ε = 0."""
    epsilon = sp.Dummy("epsilon")
    shift = {f.saddle_function: f.function for f in fields}

    def shifted(e):
        return e + epsilon * shift[e.func](*e.args)

    out = []
    for term in terms:
        coefficient, integral = term.as_independent(TimeIntegral, as_Add=False)
        integrand = integral.integrand if isinstance(integral, TimeIntegral) else integral
        moved = integrand.replace(
            lambda e: isinstance(e, (OrderParameterValue, ConjugateValue)) and e.func in shift,
            shifted)
        second = (moved.diff(epsilon, 2).subs(epsilon, 0) / 2).expand()
        if second != 0:
            variables = integral.variables if isinstance(integral, TimeIntegral) else ()
            out.append(coefficient * TimeIntegral(second, *variables))
    return tuple(out)


def _log_z_term(block: HessianBlock) -> sp.Expr:
    """One term of δ²ln Z_α = Σ_kl ∫∫ δQ̃_k ⟨O_k; O_l⟩_c δQ̃_l (k ≠ l twice: H_lk is not listed)."""
    twice = sp.S.One if block.row == block.column else sp.Integer(2)
    # without f_α, which is printed once, in front of δ²ln Z_α
    _, cumulant = block.single_site.as_independent(ConnectedExpectation, as_Add=False)
    row = block.row.function(*block.row_times)
    column = block.column.function(*block.column_times)
    return twice * TimeIntegral(row * column * cumulant, *block.row_times, *block.column_times)
