r"""Lower the fluctuation stage (the Hessian of N·S) to numbers: a :class:`FluctuationSpec`.

The stage (:class:`~fieldtheory.transforms.fluctuations.GaussianFluctuations`) is symbolic:
explicit blocks are coefficients times δ functions of the times, single-site blocks are
f_α ⟨O_k; O_l⟩_c of composites of the site fields. Here each explicit kernel becomes
(coefficient, pattern) with the pattern read off its δ functions — δ(t−t₃)δ(s−t₄)
``straight``, δ(t−t₄)δ(s−t₃) ``crossed``, δ(t−s) ``local`` — and each composite becomes
one factor per time argument (x, x̃ or a function f(x), lambdified with f' and its
parity). Nothing here knows the model: a kernel of another shape, or a composite with a
response field and a function at one time, is refused by name.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from fieldtheory.codegen.site import SiteProblem, U
from fieldtheory.errors import CodegenError
from fieldtheory.ir.langevin import read_langevin
from fieldtheory.ir.quenched import quenched_symbols, split_quenched
from fieldtheory.ir.symbols import ByPopulation, FieldValue, ResponseValue
from fieldtheory.solvers.runtime.fluctuations import (
    RESPONSE_FACTOR,
    X_FACTOR,
    Composite,
    ExplicitEntry,
    Factor,
    FieldSpec,
    FluctuationSpec,
    Kernel,
    ModeEntry,
    SiteEntry,
    pair_moment,
)
from fieldtheory.transforms.fluctuations import GaussianFluctuations
from fieldtheory.transforms.nodes import (
    ConnectedExpectation,
    OrderParameterValue,
    time_variables,
)
from fieldtheory.transforms.saddle_point import functional_derivative

__all__ = ["function_factor", "lower_fluctuations"]


def _number(expr: sp.Expr, values: dict, where: str) -> float:
    value = sp.sympify(expr).xreplace(values)
    if not value.is_number:
        raise CodegenError(f"{where}: {expr} is not a number at the parameter values "
                           f"(free: {sorted(map(str, value.free_symbols))})")
    return float(value)


def function_factor(expr: sp.Expr) -> Factor:
    """A factor f(x) from an expression in the site variable ``u``: f, f' (numpy), parity."""
    expr = sp.sympify(expr)
    if expr == U:
        return X_FACTOR
    flipped = expr.xreplace({U: -U})
    if sp.simplify(flipped + expr) == 0:
        parity = -1
    elif sp.simplify(flipped - expr) == 0:
        parity = 1
    else:
        parity = 0
    return Factor("function", sp.sstr(expr), _elementwise(expr),
                  _elementwise(sp.diff(expr, U)), parity)


def _elementwise(expr: sp.Expr):
    """numpy f(u) with u's shape even where ``expr`` is constant in u (the derivative of
    a linear function s·u: a bare lambdify would return the scalar s)."""
    f = sp.lambdify(U, expr, ["numpy", {"erf": _erf}])
    if expr.has(U):
        return f
    return lambda u: np.full(np.shape(u), f(u), dtype=float)


def _erf(x):
    from scipy.special import erf

    return erf(x)


def _slot_factor(expr: sp.Expr, where: str, values: dict) -> Factor:
    responses = [a for a in expr.atoms(sp.Function) if isinstance(a, ResponseValue)]
    fields = [a for a in expr.atoms(sp.Function) if isinstance(a, FieldValue)]
    if responses:
        if expr != responses[0]:
            raise CodegenError(f"{where}: the factor {expr} mixes a response field with other "
                               f"factors at one time; the fluctuation runtimes take x̃ alone")
        return RESPONSE_FACTOR
    if len({f.func for f in fields}) != 1:
        raise CodegenError(f"{where}: the factor {expr} must depend on exactly one site field "
                           f"(several fields per site are not handled)")
    return function_factor(expr.xreplace({fields[0]: U}).xreplace(values))


def _composite(expr: sp.Expr, times: tuple, population: str, values: dict,
               where: str, moments: tuple = ()) -> Composite:
    """c·Π G^n·Π_k F_k(times[k]) from a product of site-field expressions (quenched
    per-unit variables G kept apart: their moments, ``moments``, pair up later)."""
    coefficient, slots = sp.S.One, {t: sp.S.One for t in times}
    for factor in sp.Mul.make_args(sp.sympify(expr)):
        at = [t for t in times if t in factor.free_symbols]
        if not at:
            coefficient *= factor
        elif len(at) == 1:
            slots[at[0]] *= factor
        else:
            raise CodegenError(f"{where}: the factor {factor} depends on several times")
    for t, slot in slots.items():
        if slot == 1:
            raise CodegenError(f"{where}: the composite {expr} has no factor at time {t}")
    powers, coefficient = split_quenched(coefficient)
    return Composite(population, tuple(_slot_factor(slots[t], where, values) for t in times),
                     _number(coefficient, values, where),
                     tuple((q.name, k) for q, k in powers), moments if powers else ())


#: The highest moment of a quenched variable the runtime may pair (G⁴ ⟨;⟩ G⁴).
MAX_MOMENT = 8


def _moments(action, values: dict) -> tuple:
    """(name, (q₀ … q₈)) of every quenched variable at the parameter values."""
    return tuple((q.name, tuple(_number(d.moment(k), values, f"moment {k} of {q}")
                                for k in range(MAX_MOMENT + 1)))
                 for q, d in action.quenched)


def _pairing(term: sp.Expr, rows: tuple, columns: tuple, kernels_of: dict, where: str):
    """(pattern, slot kernels) of an explicit term: each δ function — or saddle value of a
    two-time order parameter, a :class:`Kernel` — pairs a row time with a column time."""
    pairs = {}
    for factor in sp.Mul.make_args(term):
        kernel = None
        if isinstance(factor, sp.DiracDelta):
            symbols = tuple(sorted(factor.args[0].free_symbols, key=str))
        elif isinstance(factor, sp.KroneckerDelta):
            symbols = tuple(sorted(set().union(*(a.free_symbols for a in factor.args)),
                                   key=str))
        elif isinstance(factor, OrderParameterValue):
            if factor.func not in kernels_of or len(factor.args) != 2:
                raise CodegenError(f"{where}: the saddle value {factor} in {term} is not a "
                                   f"two-time order parameter of the site")
            symbols = factor.args
            kernel = kernels_of[factor.func]
        else:
            continue
        row = [t for t in symbols if t in rows]
        column = [t for t in symbols if t in columns]
        if len(row) != 1 or len(column) != 1 or row[0] in pairs:
            raise CodegenError(f"{where}: the factor {factor} of {term} does not pair one row "
                               f"time {rows} with one column time {columns}")
        if kernel is not None and symbols[0] != row[0]:
            kernel = kernel.reversed  # Q(col, row) = G_AB(col − row) = G_BA(row − col)
        pairs[row[0]] = (column[0], kernel)
    if len(rows) == 1 and len(columns) == 1 and pairs == {rows[0]: (columns[0], None)}:
        return "local", (None, None)
    if len(rows) == 2 and len(columns) == 2 and set(pairs) == set(rows):
        kernels = (pairs[rows[0]][1], pairs[rows[1]][1])
        if (pairs[rows[0]][0], pairs[rows[1]][0]) == columns:
            return "straight", kernels
        if (pairs[rows[0]][0], pairs[rows[1]][0]) == columns[::-1]:
            return "crossed", kernels
    raise CodegenError(f"{where}: the explicit kernel {term} is not a product pairing the "
                       f"row times {rows} with the column times {columns}")


def _coefficient_part(term: sp.Expr) -> sp.Expr:
    return sp.Mul(*(f for f in sp.Mul.make_args(term)
                    if not isinstance(f, (sp.DiracDelta, sp.KroneckerDelta,
                                          OrderParameterValue))))


def lower_fluctuations(gaussian: GaussianFluctuations, site: SiteProblem,
                       values: dict) -> FluctuationSpec:
    """The stage at parameter ``values`` ({symbol: number}) as plain numbers and callables."""
    values = {sp.sympify(k): sp.sympify(v) for k, v in values.items()}
    fields = gaussian.fields
    index = {f: k for k, f in enumerate(fields)}
    discrete = site.step is not None
    sources = dict(gaussian.collective.sources)
    action = gaussian.collective.action
    moments = _moments(action, values)
    specs = []
    for f in fields:
        partner = next(k for k, g in enumerate(fields)
                       if g.order_parameter == f.order_parameter and g.conjugate != f.conjugate)
        composite = None
        if f.conjugate:
            times = time_variables(len(f.order_parameter.times), discrete,
                                   frozenset(values))
            o = functional_derivative(sources[f.population], f.saddle_function, times)
            composite = _composite(o, times, f.population, values,
                                   f"the composite of δ{f.name}", moments)
        specs.append(FieldSpec(f.name, f.population, len(f.order_parameter.times),
                               f.conjugate, partner, composite))
    # the saddle value of a two-time order parameter Q = ⟨A B⟩ inside an explicit block
    # (a higher cumulant's Q_B Q_B) is the kernel G_AB of its site composite
    kernels_of = {f.order_parameter.function: Kernel(c.population, *c.factors,
                                                     scale=pair_moment(c, _ONE))
                  for f, spec_ in zip(fields, specs, strict=True)
                  if (c := spec_.composite) is not None and c.arity == 2
                  and c.coefficient == 1.0}
    explicit, site_entries = [], []
    for block in gaussian.blocks:
        where = f"H[δ{block.row.name}, δ{block.column.name}]"
        row, column = index[block.row], index[block.column]
        for term in sp.Add.make_args(sp.expand(block.explicit)):
            if term == 0:
                continue
            pattern, kernels = _pairing(term, block.row_times, block.column_times,
                                        kernels_of, where)
            coefficient = _number(_coefficient_part(term), values, where)
            if coefficient != 0:
                explicit.append(ExplicitEntry(row, column, coefficient, pattern, kernels))
        for term in sp.Add.make_args(block.single_site):
            if term == 0:
                continue
            weight, cumulant = term.as_independent(ConnectedExpectation, as_Add=False)
            if not isinstance(cumulant, ConnectedExpectation):
                raise CodegenError(f"{where}: {term} is not a weighted connected expectation")
            left, right = cumulant.observables
            population = cumulant.population
            site_entries.append(SiteEntry(
                row, column, _number(weight, values, where),
                _composite(left, block.row_times, population, values, where, moments),
                _composite(right, block.column_times, population, values, where, moments)))
    populations = tuple(s.population for s in site.sites)
    fractions = tuple(_number(f, values, "population fraction") for f in site.fractions)
    phis = tuple(function_factor(sp.sympify(p).xreplace(values)) for p in site.population_phis)
    step = None if site.step is None else _number(site.step, values, "time step")
    outputs = _output_powers(action, populations)
    modes = _mode_entries(gaussian, values, index, kernels_of)
    return FluctuationSpec(tuple(specs), tuple(explicit), tuple(site_entries), populations,
                           fractions, phis, step, outputs, moments, modes)


def _mode_entries(gaussian: GaussianFluctuations, values: dict, index: dict,
                  kernels_of: dict) -> tuple[ModeEntry, ...]:
    """The resummed correlated-mode entries (upper triangle) with their mode nodes: the
    saddle point's own (:meth:`ModeDressing.from_shape`), both signs σ = ±1."""
    from fieldtheory.ir.ensembles.interpolant import breaks_of
    from fieldtheory.ir.ensembles.symbols import MODE_POSITION
    from fieldtheory.solvers.runtime.common import ModeDressing
    from fieldtheory.transforms.fluctuations import FluctuationField
    from fieldtheory.transforms.resummation import MODE_SIGN, MODE_STRENGTH

    out, nodes = [], {}
    for entry in gaussian.resummed:
        row = index[FluctuationField(entry.row, False)]
        column = index[FluctuationField(entry.column, False)]
        if row > column:  # the runtime adds the transposes of the upper triangle
            continue
        r = entry.resummation
        where = f"the resummed entry H[δ{entry.row.name}, δ{entry.column.name}]"
        if r not in nodes:
            det = r.determinant
            shape, overlap = (sp.lambdify(MODE_POSITION, sp.sympify(e).xreplace(values),
                                          "numpy") for e in (det.shape, det.overlap))
            dressing = ModeDressing.from_shape(
                0, 0, 0, alpha=_number(det.alpha, values, where), overlap=overlap,
                variance=_number(det.variance, values, where), shape=shape,
                breaks=breaks_of(det.shape))
            nodes[r] = tuple(np.tile(a, 2) for a in (dressing.strengths, dressing.overlaps,
                                                      dressing.positions, dressing.weights / 2))
            nodes[r] += (np.repeat([1.0, -1.0], dressing.strengths.size),)
        d, rho, u, weights, signs = nodes[r]
        weight = sp.lambdify((MODE_STRENGTH, MODE_SIGN, MODE_POSITION),
                             sp.sympify(entry.weight).xreplace(values), "numpy")
        coefficients = weights * np.broadcast_to(np.asarray(weight(d, signs, u), float),
                                                 d.shape)
        out.append(ModeEntry(row, column, entry.pattern, entry.kernels, coefficients,
                             d * rho * signs, d, kernels_of[r.response.function],
                             kernels_of[r.correlation.function]))
    return tuple(out)


#: A composite without coefficient or quenched factors (the neutral partner of pair_moment).
_ONE = Composite("", ())


def _output_powers(action, populations) -> tuple:
    """The quenched powers in each population's output Φ = Gⁿ φ(x) (() without gains)."""
    if not action.quenched:
        return ()
    output = read_langevin(action).observed_output
    out = []
    for name in populations:
        at = output.replace(lambda e: isinstance(e, ByPopulation),
                            lambda e, name=name: e.value_for(name))
        powers, _ = split_quenched(sp.Mul(*(f for f in sp.Mul.make_args(at)
                                            if quenched_symbols(f))))
        out.append(tuple((q.name, k) for q, k in powers))
    return tuple(out)
