r"""Lower a MeanFieldTheory to the general single-site problem (every population).

For a site of population α the saddle point gives (continuous time; SCIENCE.md §1)

.. math::
    \partial_t x = -a_\alpha x + r_\alpha(x) + I_\alpha + \sum_l B_{\alpha l}\, m_l(t)
        + \sum_j \kappa_{\alpha j} \int ds\, R_j(t, s)\, h_j(x(s)) + \eta_\alpha(t),

.. math::
    \langle \eta_\alpha(t)\eta_\alpha(s) \rangle = D_\alpha\, \delta(t - s)
        + \sum_k A_{\alpha k}\, C_k(t, s),

with m_l = ⟨f_l(x(t))⟩, C_k = ⟨f_k(x(t)) h_k(x(s))⟩ and R_j = ⟨f_j(x(t)) x̃(s)⟩ averages over
the site of the population their order parameter belongs to. In discrete time the left
side is x(n + 1) − x(n) and D is the variance per step. This module reads every symbol of
that equation off the derived processes — nothing is typed in per model — as sympy
expressions of the model's parameters (coefficients) and of the one variable ``U``
(functions); :mod:`fieldtheory.codegen.generate` prints them into a ``SiteSpec`` builder.
What the equation cannot hold (several fields per site, drifts mixing times, input
covariances that are not white noise plus order parameters) is refused by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp

from fieldtheory.errors import ActionStructureError
from fieldtheory.ir.action import Action
from fieldtheory.ir.ensembles.symbols import MODE_POSITION
from fieldtheory.ir.langevin import read_langevin
from fieldtheory.ir.quenched import Quenched, joint_moment, quenched_symbols, split_quenched
from fieldtheory.ir.symbols import ByPopulation, FieldValue, ResponseValue
from fieldtheory.transforms.nodes import OrderParameterValue, TimeIntegral
from fieldtheory.transforms.stages import MeanFieldTheory, OrderParameter, SingleSiteProcess

__all__ = ["PopulationSite", "SiteProblem", "TermSpec", "lower_site", "mixture_refusal",
           "observed_phi", "observed_phis"]

#: The one variable of every function of a lowered problem.
U = sp.Symbol("u", real=True)


@dataclass(frozen=True)
class TermSpec:
    """An average over the site of ``population``: ⟨f(u)⟩ or ⟨f(u(t)) h(u(s))⟩."""

    name: str
    population: str
    left: sp.Expr  # f(U)
    right: sp.Expr | None = None  # h(U), None for a mean

    @property
    def key(self) -> tuple:
        return (self.name, self.left, self.right)


@dataclass(frozen=True)
class PopulationSite:
    """The coefficients of one population's single site (dicts keyed by term index)."""

    population: str
    leak: sp.Expr
    nonlinear: sp.Expr  # r(U); 0 when the drift is linear
    offset: sp.Expr
    noise: sp.Expr
    mean_coefficients: tuple[tuple[int, sp.Expr], ...]
    correlation_coefficients: tuple[tuple[int, sp.Expr], ...]
    response_coefficients: tuple[tuple[int, sp.Expr], ...]


@dataclass(frozen=True)
class SiteDressing:
    r"""Correlated random modes on population ``population``'s site: the Gaussian input of
    correlation term ``correlation`` is the dressed S[C_k, R_j] and the kernel of response
    term ``response`` the resolvent K[R_j] (:mod:`fieldtheory.transforms.resummation`),
    with mode density ``alpha``, overlap ρ(u), strengths d = c·s(u), u ∈ (0, 1),
    α⟨d²⟩ = ``variance`` (``shape`` s and ``overlap`` ρ as functions of U)."""

    population: str
    correlation: int
    response: int
    alpha: sp.Expr
    overlap: sp.Expr
    variance: sp.Expr
    shape: sp.Expr
    #: on a mixture of sites: ((index, weight), …) of the correlation and of the response
    #: the modes see (the nodes' terms), and the correlation and response terms that take
    #: S and K (every node's); None otherwise
    mixed: tuple | None = None


@dataclass(frozen=True)
class SiteProblem:
    """Every population's site, the terms they share, and the time (step δ or None)."""

    sites: tuple[PopulationSite, ...]
    means: tuple[TermSpec, ...]
    correlations: tuple[TermSpec, ...]
    responses: tuple[TermSpec, ...]
    phi: sp.Expr  # the observed φ(U) of the first population
    step: sp.Expr | None
    fractions: tuple[sp.Expr, ...] = (sp.Integer(1),)
    phis: tuple[sp.Expr, ...] = ()  # the observed φ(U) per population (empty: all ``phi``)
    dressings: tuple[SiteDressing, ...] = ()  # resummed correlated random modes
    #: a mixture of sites: the parent population of each site (empty: no mixture), and
    #: one line per mixed population saying how its distribution was discretised
    groups: tuple[str, ...] = ()
    mixtures: tuple[str, ...] = ()
    #: (symbol, expression of the parameters) of each node value inside a site function
    derived: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()

    @property
    def population_phis(self) -> tuple[sp.Expr, ...]:
        """The observed φ(U) of each population, in population order."""
        return self.phis or (self.phi,) * len(self.sites)

    @property
    def populations(self) -> tuple[str, ...]:
        return tuple(s.population for s in self.sites)

    @property
    def coefficients(self) -> tuple[sp.Expr, ...]:
        """Every coefficient expression, in a fixed order (the generated module's tuple)."""
        out: list[sp.Expr] = []
        for site in self.sites:
            out += [site.leak, site.offset, site.noise]
            out += [c for _, c in site.mean_coefficients]
            out += [c for _, c in site.correlation_coefficients]
            out += [c for _, c in site.response_coefficients]
        if self.step is not None:
            out.append(self.step)
        for d in self.dressings:
            out += [d.alpha, d.variance]
        return (*out, *self.fractions, *(e for _, e in self.derived))

    @property
    def functions(self) -> tuple[sp.Expr, ...]:
        """The distinct functions of U the problem uses, φ first (printing order)."""
        seen: dict[sp.Expr, None] = {self.phi: None}
        for phi in self.population_phis:
            seen.setdefault(phi, None)
        for term in (*self.means, *self.correlations, *self.responses):
            seen.setdefault(term.left, None)
            if term.right is not None:
                seen.setdefault(term.right, None)
        for site in self.sites:
            if site.nonlinear != 0:
                seen.setdefault(site.nonlinear, None)
        for d in self.dressings:
            seen.setdefault(d.shape, None)
            seen.setdefault(d.overlap, None)
        return tuple(seen)

    @property
    def discrete(self) -> bool:
        """Whether time is discrete (a map: ``step`` set)."""
        return self.step is not None

    @property
    def linear_drift(self) -> bool:
        """Whether every population's drift is linear in x (r = 0)."""
        return all(s.nonlinear == 0 for s in self.sites)

    @property
    def has_responses(self) -> bool:
        """Whether the site has response-kernel terms (partial symmetry)."""
        return bool(self.responses)

    @property
    def is_gaussian(self) -> bool:
        """Linear drifts and kernels acting on linear functions: a Gaussian site."""
        linear = all(s.nonlinear == 0 for s in self.sites)
        return linear and all(sp.diff(r.right, U, 2) == 0 for r in self.responses)

    @property
    def single_phi(self) -> bool:
        """One population and continuous-time input covariance c⟨φφ⟩, means of that φ."""
        if len(self.sites) != 1 or len(self.correlations) != 1:
            return False
        (c,) = self.correlations
        return c.left == c.right and all(m.left == c.left for m in self.means)


def observed_phi(action: Action, population: str | None = None) -> sp.Expr:
    """φ(U) of ``population`` (default: the first): the action's observed φ
    (:attr:`~fieldtheory.ir.langevin_system.LangevinSystem.observed_phi`) with its
    by-population values resolved there and the field value replaced by U."""
    phi = read_langevin(action).observed_phi
    population = population or action.populations[0].name
    phi = phi.replace(lambda e: isinstance(e, ByPopulation), lambda e: e.value_for(population))
    return phi.xreplace({v: U for v in phi.atoms(FieldValue)})


def observed_phis(action: Action) -> dict[str, sp.Expr]:
    """:func:`observed_phi` of every population of ``action``, by name."""
    return {p.name: observed_phi(action, p.name) for p in action.populations}


def lower_site(theory: MeanFieldTheory,
               phi: sp.Expr | Mapping[str, sp.Expr] = U) -> SiteProblem:
    """Read the general single-site problem off a derived mean-field theory.

    ``phi``: the observed φ(U), one expression for every population or one per population
    name (:func:`observed_phis`).
    """
    by_function = {q.function: q for q in theory.order_parameters}
    # a dressed term (S, K) is read as a term of the order parameter it acts on
    by_function.update({d.function: d.acts_on for d in theory.dressings})
    hits: dict[tuple[str, int], set] = {}  # (kind, index) → the functions read into it
    terms: dict[str, dict[tuple, int]] = {"means": {}, "correlations": {}, "responses": {}}
    specs: dict[str, list[TermSpec]] = {"means": [], "correlations": [], "responses": []}

    def register(kind: str, spec: TermSpec) -> int:
        table = terms[kind]
        if spec.key not in table:
            table[spec.key] = len(specs[kind])
            specs[kind].append(spec)
        return table[spec.key]

    sites = []
    for process in theory.processes:
        if len(process.fields) != 1:
            raise ActionStructureError(
                f"population {process.population}: the single-site solvers take one field "
                f"per site, the model has {len(process.fields)}")
        sites.append(_site(process, theory, by_function, register, hits))
    step = theory.time.step if theory.time.is_discrete else None
    fraction = dict(theory.collective.fractions)
    fractions = tuple(sp.sympify(fraction.get(site.population, 1)) for site in sites)
    names = [site.population for site in sites]
    phis = (tuple(sp.sympify(phi[name]) for name in names) if isinstance(phi, Mapping)
            else (sp.sympify(phi),) * len(sites))
    distributions = dict(theory.collective.action.quenched)
    own = {site.population: _own_quenched(site, specs) for site in sites}
    for kind in specs:  # a variable inside a function of the averages (tanh(G x)): nodes
        for spec in specs[kind]:
            if spec.population in own:
                own[spec.population] |= _inside_functions(spec)
    groups, mixtures, derived = (), (), ()
    dressings = _dressings(theory, hits)
    if any(own.values()):  # a mixture of sites: one sub-population per quadrature node
        sites, specs, fractions, phis, groups, mixtures, derived, moved = _mixture_nodes(
            sites, specs, fractions, phis, own, distributions)
        dressings = tuple(_mixed_dressing(d, moved) for d in dressings)
    elif distributions:
        sites = [_with_moments(site, theory, specs) for site in sites]
        for kind in specs:
            specs[kind] = [_without_quenched(spec) for spec in specs[kind]]
    return SiteProblem(tuple(sites), tuple(specs["means"]), tuple(specs["correlations"]),
                       tuple(specs["responses"]), phis[0], step, fractions,
                       phis if len(set(phis)) > 1 else (), dressings,
                       groups, mixtures, derived)


def _mixed_dressing(dressing: SiteDressing, moved) -> SiteDressing:
    """A dressing on a mixture of sites: the modes see Σ_k w_k C_k and Σ_k w_k R_k of the
    dressed terms' nodes, and every node term (of every referencing sub-population) takes
    the dressed S or K. ``moved[kind][index]``: (new index, node, weight, moment) of each
    copy of the term."""
    correlations = moved["correlations"][dressing.correlation]
    responses = moved["responses"][dressing.response]
    if any(moment != 1 for *_, moment in (*correlations, *responses)):
        raise ActionStructureError(  # pragma: no cover - no shipped model has it
            "correlated random modes on a mixture of sites whose dressed terms hold "
            "another quenched variable by its moments: not built")

    def seen(copies):
        """One term per node (a response term has a copy per referencing node)."""
        first: dict = {}
        for j, node, weight, _ in copies:
            first.setdefault(node, (j, weight))
        return tuple(first.values())

    population = correlations[0][1]  # the first node's: the sub-population it sits on
    return SiteDressing(
        population, correlations[0][0], responses[0][0], dressing.alpha, dressing.overlap,
        dressing.variance, dressing.shape,
        (seen(correlations), seen(responses), tuple(c[0] for c in correlations),
         tuple(c[0] for c in responses)))


#: Quadrature nodes per quenched variable of a mixture of sites (tensor products for
#: several variables, at most :data:`MAX_MIXTURE_SITES` sub-populations per population).
MIXTURE_NODES = 6
MAX_MIXTURE_SITES = 64


def _own_quenched(site: PopulationSite, specs) -> set:
    """The quenched variables a unit's own dynamics depend on: its leak, drift, input,
    noise, the coefficients of its input, and the function h of its own state that its
    response kernels act on."""
    out: set = set()
    coefficients = [c for pairs in (site.mean_coefficients, site.correlation_coefficients,
                                    site.response_coefficients) for _, c in pairs]
    for part in (site.leak, site.nonlinear, site.offset, site.noise, *coefficients):
        out |= quenched_symbols(part)
    for k, _ in site.response_coefficients:
        out |= quenched_symbols(specs["responses"][k].right)
    return out


def _inside_functions(spec: TermSpec) -> set:
    """Quenched variables of a term other than as a power multiplying the rest."""
    out: set = set()
    for function in (spec.left, spec.right):
        for factor in sp.Mul.make_args(sp.sympify(function if function is not None else 1)):
            base, exponent = factor.as_base_exp()
            if not (isinstance(base, Quenched) and exponent.is_Integer and exponent > 0):
                out |= quenched_symbols(factor)
    return out


def _quadrature(variables, distributions) -> list[tuple[dict, sp.Expr]]:
    """The tensor-product nodes ({G: G_k, …}, weight) of independent quenched variables."""
    nodes: list[tuple[dict, sp.Expr]] = [({}, sp.S.One)]
    for variable in sorted(variables, key=str):
        if variable not in distributions:  # pragma: no cover - langevin() refuses it first
            raise ActionStructureError(f"quenched variable {variable} has no distribution")
        rule = distributions[variable].nodes(MIXTURE_NODES)
        nodes = [({**sub, variable: g}, w * v) for sub, w in nodes for g, v in rule]
    if len(nodes) > MAX_MIXTURE_SITES:
        raise ActionStructureError(
            f"the quenched variables {sorted(map(str, variables))} of a unit's own dynamics "
            f"make {len(nodes)} sub-populations (at most {MAX_MIXTURE_SITES})")
    return nodes


def _mixture_nodes(sites, specs, fractions, phis, own, distributions):
    r"""A mixture of sites as sub-populations. A population whose units' own dynamics
    depend on a quenched variable G is a continuum of sites, one per value of G; its order
    parameters are averages over G and the paths, Q = ⟨f(G, x)⟩ = ∫dP(G) ⟨f(G, x)⟩_G. The
    distribution's quadrature (G_k, w_k) (``nodes`` of the distribution; log-normal:
    Gauss–Hermite in log G) turns it into sub-populations ``P[k]`` of fraction f_P w_k with
    G = G_k in their dynamics, and every average over P into Σ_k w_k ⟨·⟩_{P[k]} — the
    weight joins the coefficient of each sub-term. Quenched variables left in a term
    (outputs only, e.g. a gain beside a heterogeneous leak) are averaged by their moments
    as in a homogeneous population."""
    nodes = {name: _quadrature(variables, distributions)
             for name, variables in own.items() if variables}
    # inside site functions a node value is a symbol G_k (its expression is a coefficient
    # of the generated module: symbolic strips and closed forms stay those of tanh(G_k u))
    symbols, derived = {}, []
    for name, rule in nodes.items():
        for k, (sub, _) in enumerate(rule):
            for variable, value in sub.items():
                tag = f"{variable.name}_{k + 1}" if len(nodes) == 1 else \
                    f"{variable.name}_{name}_{k + 1}"
                symbol = (sp.Symbol(tag, positive=True) if value.is_positive
                          else sp.Symbol(tag, real=True))
                symbols[name, k, variable] = symbol
                derived.append((symbol, value))

    def named(name, k, sub):
        return {v: symbols[name, k, v] for v in sub}

    def label(name, k):
        return f"{name}[{k + 1}]"

    def moment_of(spec):
        powers = split_quenched(spec.left)[0]
        if spec.right is not None:
            powers = _add_powers(powers, split_quenched(spec.right)[0])
        return joint_moment(powers, distributions)

    new_specs: dict[str, list[TermSpec]] = {kind: [] for kind in specs}
    index: dict[str, dict[tuple, int]] = {kind: {} for kind in specs}

    def register(kind, spec):
        key = (spec.name, spec.population, spec.left, spec.right)
        if key not in index[kind]:
            index[kind][key] = len(new_specs[kind])
            new_specs[kind].append(spec)
        return index[kind][key]

    def term_copies(spec):
        """(population, name, node symbols, weight) of each node of the term's population."""
        if spec.population not in nodes:
            return [(spec.population, spec.name, {}, sp.S.One)]
        return [(label(spec.population, k), label(spec.name, k),
                 named(spec.population, k, sub), w)
                for k, (sub, w) in enumerate(nodes[spec.population])]

    moved: dict[str, dict[int, list]] = {kind: {} for kind in specs}

    def coefficients(pairs, kind, sub, at_site):
        """The site's coefficient pairs over the node terms: f and (for correlations) h of
        a term at the term's node; the h of a response kernel is the site's own function,
        at the site's own node (``at_site``)."""
        out = []
        for i, c in pairs:
            spec = specs[kind][i]
            for population, name, at_node, weight in term_copies(spec):
                right = (None if spec.right is None else
                         spec.right.xreplace(at_site if kind == "responses" else at_node))
                at = TermSpec(name, population, spec.left.xreplace(at_node), right)
                j, moment = register(kind, _without_quenched(at)), moment_of(at)
                copies = moved[kind].setdefault(i, [])
                if all(j != copy[0] for copy in copies):
                    copies.append((j, population, weight, moment))
                out.append((j, c.xreplace(sub) * weight * moment))
        return _combined(out)

    out_sites, out_fractions, out_phis, groups = [], [], [], []
    for site, fraction, phi in zip(sites, fractions, phis, strict=True):
        copies = ([(site.population, {}, sp.S.One)] if site.population not in nodes else
                  [(label(site.population, k), sub, w)
                   for k, (sub, w) in enumerate(nodes[site.population])])
        for k, (name, sub, weight) in enumerate(copies):
            functions = named(site.population, k, sub)  # node symbols inside functions of U
            out_sites.append(PopulationSite(
                name, site.leak.xreplace(sub), site.nonlinear.xreplace(functions),
                site.offset.xreplace(sub), site.noise.xreplace(sub),
                coefficients(site.mean_coefficients, "means", sub, functions),
                coefficients(site.correlation_coefficients, "correlations", sub, functions),
                coefficients(site.response_coefficients, "responses", sub, functions)))
            out_fractions.append(fraction * weight)
            out_phis.append(phi.xreplace(functions))
            groups.append(site.population)
    for name, site in zip(groups, out_sites, strict=True):
        if quenched_symbols(site.leak + site.nonlinear + site.offset + site.noise):
            raise ActionStructureError(  # pragma: no cover - every own variable is a node
                f"population {name}: quenched variables left in its dynamics")
    mixtures = tuple(
        f"population {name}: its units' own dynamics depend on "
        f"{', '.join(f'{v} ({distributions[v].text()})' for v in sorted(own[name], key=str))}"
        f" — a mixture of sites, {len(rule)} sub-populations {label(name, 0)} … "
        f"{label(name, len(rule) - 1)} at the quadrature nodes of the distribution "
        f"(fractions × weights {', '.join(text_number(w) for _, w in rule)}; "
        + "; ".join(f"{symbols[name, k, v]} = {text_number(value)}"
                    for k, (sub, _) in enumerate(rule) for v, value in sub.items()) + ")"
        for name, rule in nodes.items())
    return (out_sites, new_specs, tuple(out_fractions), tuple(out_phis), tuple(groups),
            mixtures, tuple(derived), moved)


def text_number(value: sp.Expr) -> str:
    """A quadrature weight or node, short: 4 significant digits where it is a number."""
    return f"{float(value):.4g}" if value.is_number else str(value)


def mixture_refusal(problem: SiteProblem, what: str) -> str:
    """The named refusal of a mixture of sites by ``what`` (all but the stationary solve)."""
    parents = sorted(set(problem.groups) - set(problem.populations))
    return (f"{what}: the units of population(s) {parents} have quenched variables in their "
            "own dynamics (a mixture of sites); only the stationary solve (saddle point) takes "
            "such a site, as one sub-population per quadrature node")


def _dressings(theory: MeanFieldTheory, hits) -> tuple[SiteDressing, ...]:
    """The lowered dressings: the term indices the dressed S and K were read into, each
    holding nothing else (a bare term there would be dressed with it)."""
    where: dict = {}
    for (kind, index), functions in hits.items():
        for dressing in theory.dressings:
            if dressing.function in functions:
                if len(functions) > 1:
                    raise ActionStructureError(
                        f"the site term {kind}[{index}] holds the resummed "
                        f"{dressing.function.__name__} and another term on the same order "
                        "parameter; the runtime would dress both")
                where[dressing] = index
    out = []
    for resummation in {d.resummation: None for d in theory.dressings}:
        noise, kernel = resummation.dressings
        det = resummation.determinant
        shape, overlap = (e.xreplace({MODE_POSITION: U}) for e in (det.shape, det.overlap))
        out.append(SiteDressing(det.population, where[noise], where[kernel], det.alpha,
                                overlap, det.variance, shape))
    return tuple(out)


def _site(process: SingleSiteProcess, theory, by_function, register,
          hits) -> PopulationSite:
    x = process.fields[0]
    t, s = theory.time.symbol, process.second_time
    value = x(t)
    drift = sp.expand(process.drift[0])
    slope = drift.coeff(value)
    leak = 1 - slope if theory.time.is_discrete else -slope
    rest = sp.expand(drift - slope * value)
    nonlinear, free = sp.Integer(0), sp.Integer(0)
    for term in sp.Add.make_args(rest):
        values = term.atoms(FieldValue)
        if not values:
            free += term
        elif values == {value} and not term.has(OrderParameterValue):
            nonlinear += term.xreplace({value: U})
        else:
            raise ActionStructureError(
                f"drift term {term} of population {process.population} is not a function of "
                f"{value} alone")
    if leak.has(FieldValue, OrderParameterValue):
        raise ActionStructureError(f"the leak {leak} of {process.population} depends on the state")
    means, offset = [], free
    for op in sorted(free.atoms(OrderParameterValue), key=str):
        coefficient = sp.expand(free).coeff(op)
        if coefficient.has(OrderParameterValue):
            raise ActionStructureError(f"the mean input {free} is not linear in {op}")
        q: OrderParameter = by_function[op.func]
        spec = TermSpec(q.name, q.population, _one_time(q.content, q.times[0]))
        means.append((register("means", spec), coefficient))
        offset = offset - coefficient * op
    offset = sp.expand(offset)
    noise, correlations = _covariance(process, x, t, s, by_function, register, hits)
    responses = _kernels(process, x, s, by_function, register, hits)
    return PopulationSite(process.population, leak, sp.expand(nonlinear), offset, noise,
                          _combined(means), _combined(correlations), _combined(responses))


def _without_quenched(spec: TermSpec) -> TermSpec:
    left = split_quenched(spec.left)[1]
    right = None if spec.right is None else split_quenched(spec.right)[1]
    return TermSpec(spec.name, spec.population, left, right)


def _with_moments(site: PopulationSite, theory, specs) -> PopulationSite:
    """Quenched per-unit factors (gains) out of the site averages: a site whose dynamics
    do not depend on G has ⟨Gᵏ A⟩ = q_k ⟨A⟩, so q_k joins the term's coefficient."""
    distributions = dict(theory.collective.action.quenched)
    coefficients = [c for pairs in (site.mean_coefficients, site.correlation_coefficients,
                                    site.response_coefficients) for _, c in pairs]
    for part in (site.leak, site.nonlinear, site.offset, site.noise, *coefficients):
        if quenched_symbols(part):
            raise ActionStructureError(
                f"population {site.population}: the site's own dynamics depend on the "
                f"quenched variable(s) {sorted(map(str, quenched_symbols(part)))}; the "
                "single-site solvers take quenched factors only in a unit's output")

    def moments(pairs, kind):
        out = []
        for k, coefficient in pairs:
            spec = specs[kind][k]
            powers = split_quenched(spec.left)[0]
            if kind == "responses" and quenched_symbols(spec.right):
                raise ActionStructureError(
                    f"population {site.population}: the response kernel acts on "
                    f"{spec.right}, so the site's own dynamics depend on a quenched variable")
            if spec.right is not None:
                powers = _add_powers(powers, split_quenched(spec.right)[0])
            out.append((k, sp.factor(coefficient * joint_moment(powers, distributions))))
        return tuple(out)

    return PopulationSite(site.population, site.leak, site.nonlinear, site.offset, site.noise,
                          moments(site.mean_coefficients, "means"),
                          moments(site.correlation_coefficients, "correlations"),
                          moments(site.response_coefficients, "responses"))


def _add_powers(a, b):
    total: dict = dict(a)
    for variable, power in b:
        total[variable] = total.get(variable, 0) + power
    return tuple(sorted(total.items(), key=lambda p: p[0].name))


def _combined(pairs) -> tuple[tuple[int, sp.Expr], ...]:
    """(index, coefficient) pairs with the coefficients of one index added and factored."""
    total: dict[int, sp.Expr] = {}
    for k, c in pairs:
        total[k] = total.get(k, sp.Integer(0)) + c
    return tuple((k, sp.factor(c)) for k, c in sorted(total.items()) if c != 0)


def _covariance(process, x, t, s, by_function, register, hits):
    white = sp.Integer(0)
    out = []
    for term in sp.Add.make_args(sp.expand(process.input_covariance[0, 0])):
        if term == 0:
            continue
        deltas = [a for a in term.atoms(sp.DiracDelta, sp.KroneckerDelta)]
        ops = list(term.atoms(OrderParameterValue))
        if deltas and not ops and _is_equal_time(deltas[0], t, s):
            white += term.xreplace({deltas[0]: 1})
        elif len(ops) == 1 and not deltas and not (term / ops[0]).has(ops[0]):
            op = ops[0]
            q = by_function[op.func]
            content = q.content.xreplace(dict(zip(q.times, op.args, strict=True)))
            left, right = _split_times(content, x, t, s)
            spec = TermSpec(q.name, q.population, left, right)
            index = register("correlations", spec)
            hits.setdefault(("correlations", index), set()).add(op.func)
            out.append((index, sp.expand(term / op)))
        else:
            raise ActionStructureError(
                f"input covariance term {term} of population {process.population} is neither "
                "white noise nor a coefficient times an order parameter")
    return sp.expand(white), tuple(out)


def _kernels(process, x, s, by_function, register, hits):
    out = []
    for term in sp.Add.make_args(sp.expand(process.kernels[0])):
        if term == 0:
            continue
        integrals = [f for f in sp.Mul.make_args(term) if isinstance(f, TimeIntegral)]
        if len(integrals) != 1:
            raise ActionStructureError(f"kernel term {term} is not a coefficient times one "
                                       "time integral")
        (integral,) = integrals
        coefficient = term / integral
        ops = list(integral.integrand.atoms(OrderParameterValue))
        if coefficient.has(FieldValue, OrderParameterValue) or len(ops) != 1:
            raise ActionStructureError(f"kernel term {term} is not κ ∫ds R(t, s) h(x(s))")
        op = ops[0]
        q = by_function[op.func]
        content = q.content.xreplace(dict(zip(q.times, op.args, strict=True)))
        left = sp.Mul(*(f for f in sp.Mul.make_args(content)
                        if (f.has(FieldValue) or quenched_symbols(f))
                        and not f.has(ResponseValue)))
        h = sp.expand(integral.integrand / op)
        spec = TermSpec(q.name, q.population, _at(left, x), _at(h, x))
        index = register("responses", spec)
        hits.setdefault(("responses", index), set()).add(op.func)
        out.append((index, sp.expand(coefficient)))
    return tuple(out)


def _is_equal_time(delta, t, s) -> bool:
    if isinstance(delta, sp.KroneckerDelta):
        return set(delta.args) == {t, s}
    return delta.args[0] in (t - s, s - t)


def _at(expr: sp.Expr, x) -> sp.Expr:
    """Replace the one field value in ``expr`` by U (refusing several times or fields)."""
    values = {v for v in expr.atoms(FieldValue) if not isinstance(v, ResponseValue)}
    if len(values) != 1 or expr.has(ResponseValue):
        raise ActionStructureError(f"{expr} is not a function of one value of {x.name}")
    return expr.xreplace({next(iter(values)): U})


def _split_times(content: sp.Expr, x, t, s) -> tuple[sp.Expr, sp.Expr]:
    left, right = sp.Integer(1), sp.Integer(1)
    for factor in sp.Mul.make_args(content):
        times = {v.args[0] for v in factor.atoms(FieldValue)}
        if not times and quenched_symbols(factor):
            left *= factor  # a per-unit quenched factor: its moments join the coefficient
        elif times == {t}:
            left *= factor.xreplace({x(t): U})
        elif times == {s}:
            right *= factor.xreplace({x(s): U})
        else:
            raise ActionStructureError(f"factor {factor} of {content} mixes two times")
    return left, right


def _one_time(content: sp.Expr, time) -> sp.Expr:
    values = content.atoms(FieldValue)
    if any(v.args[0] != time for v in values) or len({v.func for v in values}) != 1:
        raise ActionStructureError(f"mean order parameter {content} is not a function of "
                                   "one field at one time")
    return content.xreplace({v: U for v in values})
