"""Generate a standalone mean-field solver module from a model.

``derive -> lower_site -> source``: the module's docstring carries the derived
self-consistency equations and single-site processes; its code prints, with
:class:`~fieldtheory.codegen.printer.SolverPrinter`, every function of the state (φ, the
nonlinear drift, the functions inside the order parameters) with its derivative, and every
coefficient of the lowered :class:`~fieldtheory.codegen.site.SiteProblem` as functions of
the model's parameters; ``spec(**params)`` assembles them into the runtimes' ``SiteSpec``
(a function whose expression holds parameters takes them as keyword arguments and is bound
to their values there). The registered runtimes the problem may need
(:func:`fieldtheory.solvers.registry.modules_for`) are inlined with the modules they
import (numpy, scipy and the standard library only), so the file runs where fieldtheory is
not installed: ``python solver.py g=2.5`` prints the observables as JSON.

``solve(**params)`` asks the inlined registry for the runtime at the parameter values
(``choose_runtime``: the applicable one of highest priority, or the one named by
``method``) and calls its ``solve(site, grid, options)``; ``solve_transient`` does the same
for the transient runtimes.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import math
from types import ModuleType

import sympy as sp

from fieldtheory._version import __version__
from fieldtheory.codegen.module import GeneratedModule, content_hash, load_source
from fieldtheory.codegen.printer import function_source, numpy_code
from fieldtheory.codegen.site import SiteProblem, U
from fieldtheory.errors import CodegenError, ParameterError
from fieldtheory.gaussian.closed_forms import closed_form
from fieldtheory.gaussian.strips import strip_of, strip_reason
from fieldtheory.ir.ensembles.interpolant import breaks_of
from fieldtheory.ir.model import Model, load_model
from fieldtheory.printing import text
from fieldtheory.solvers import registry
from fieldtheory.solvers.runtime import common

__all__ = ["CODEGEN_VERSION", "generate", "module_source", "runtime_source", "runtimes_for"]

#: Bumped whenever the template changes, so cached modules are regenerated.
CODEGEN_VERSION = "7"


def generate(model: Model | str) -> GeneratedModule:
    """The compiled solver module of ``model`` (cached by content hash, per model and per
    state of the solver registry)."""
    return _generate(load_model(model), registry.signature())


@functools.lru_cache(maxsize=256)
def _generate(model: Model, runtimes: tuple) -> GeneratedModule:
    from fieldtheory.derive import derive  # the derivation stack is heavy: load on demand
    from fieldtheory.ir.posterior import Posterior

    if isinstance(model.action, Posterior):
        raise CodegenError(f"model {model.name}: a Bayesian posterior model has no generated "
                           "module yet; its runtimes of kind 'posterior' run in the library "
                           "(solve)")
    from fieldtheory.ir.spiking import SpikingNetwork

    if isinstance(model.action, SpikingNetwork):
        raise CodegenError(f"model {model.name}: a spiking network has no generated module "
                           "yet; its runtimes of kind 'spiking' run in the library (solve)")
    if model.action.time.is_layered:  # deep and recurrent networks: the kernel recursion
        return _generate_layered(model, runtimes)
    derivation = derive(model)
    # the lowered stage of the derivation, not lowered again (a mixture of sites included)
    problem = derivation.site_problem(mixtures=True)
    modules = runtimes_for(problem)
    # everything the source is made of: the derivation, the parameters, the template,
    # the registered runtimes and the sources it inlines
    digest = content_hash(
        __version__, CODEGEN_VERSION, model.name, *(s.text for s in derivation.stages),
        repr(model.parameters), _TEMPLATE, repr(runtimes), runtime_source(*modules),
    )
    source = module_source(model, derivation, problem, modules, digest)
    return load_source(model.name, digest, source)


def _generate_layered(model: Model, runtimes: tuple) -> GeneratedModule:
    from fieldtheory.codegen.layered_module import layered_module_source
    from fieldtheory.derive import derive

    derivation = derive(model)
    problem = derivation.site_problem()
    modules = (registry.runtime_module("kernel_recursion"),)
    digest = content_hash(
        __version__, CODEGEN_VERSION, model.name, *(s.text for s in derivation.stages),
        repr(model.parameters), repr(runtimes), runtime_source(*modules))
    header = _header(model, derivation, digest).replace(
        "Stationary mean-field solver", "Kernel (NNGP) solver of the layered network")
    source = layered_module_source(model, derivation, problem, runtime_source(*modules),
                                   digest, header, _domains(list(model.parameters)))
    return load_source(model.name, digest, source)


def refuse_mixture(site, where: str) -> None:
    """A named :class:`ParameterError` when the generated module's ``SiteSpec`` is a
    mixture of sites (``groups`` set): for the layers beside the stationary solve, which
    would read its sub-populations as populations of fixed fractions."""
    if getattr(site, "groups", None):
        raise ParameterError(
            f"{where}: the units of population(s) {sorted(set(site.groups))} have quenched "
            "variables in their own dynamics (a mixture of sites); only the stationary "
            "solve takes it")


def runtimes_for(problem: SiteProblem) -> tuple[ModuleType, ...]:
    """The registered runtime modules a problem may need, by its structure (kernels may
    vanish at solve time, so a model with a symbolic kernel carries both kinds of
    solver); see :func:`fieldtheory.solvers.registry.modules_for`."""
    return registry.modules_for(problem)


def module_source(model: Model, derivation, problem: SiteProblem, modules,
                  digest: str) -> str:
    """The text of the generated module."""
    parameters = list(model.parameters)
    symbols = [sp.Symbol(p.name, real=True) for p in parameters]
    # the site functions may also hold derived values (a mixture's node values G_k)
    names = [p.name for p in parameters] + [s.name for s, _ in problem.derived]
    functions = _function_names(problem)
    pieces = [
        _header(model, derivation, digest),
        runtime_source(*modules),
        "\n# ---------------------------------------------------------------- the model\n",
        f"PARAMETERS = {dict((p.name, p.default) for p in parameters)!r}\n",
        f"DOMAINS = {_domains(parameters)}\n",
        f"POPULATIONS = {problem.populations!r}\n",
        "METHODS = tuple(sorted(RUNTIMES))\n",
    ]
    for expr, name in functions.items():
        arguments = [U, *_parameters_of(expr, names)]
        pieces.append(function_source(name, arguments, expr, f"{text(expr)}",
                                      elementwise=True))
        pieces.append(function_source(f"d{name}", arguments, sp.diff(expr, U),
                                      f"d/du {text(expr)}", elementwise=True))
        pieces.append(function_source(f"strip_{name}", arguments[1:], _strip(expr),
                                      f"strip of analyticity of {name}, d{name}: "
                                      f"{strip_reason(expr, U)}"))
    closed = _closed_forms(problem, names)
    pieces += [source for source, _ in closed.values()]
    pieces += [
        function_source("coefficients", symbols, sp.Tuple(*problem.coefficients),
                        "every coefficient of the single-site problem, in spec()'s order"),
        _spec_source(problem, functions, names, closed),
        _TEMPLATE,
    ]
    return "\n".join(pieces)


def _domains(parameters) -> str:
    """``{name: (lower, upper, closed_lower, closed_upper)}`` as source (inf printed as
    ``float("inf")``)."""
    def number(x: float) -> str:
        return repr(float(x)) if math.isfinite(x) else f'float("{"-" if x < 0 else ""}inf")'

    items = ", ".join(
        f"{p.name!r}: ({number(p.domain.lower)}, {number(p.domain.upper)}, "
        f"{p.domain.closed_lower}, {p.domain.closed_upper})" for p in parameters)
    return "{" + items + "}"


def _parameters_of(expr: sp.Expr, names: list[str]) -> list[sp.Symbol]:
    """The model parameters a function of U depends on (sorted); any other free symbol is
    a :class:`CodegenError` naming it."""
    free = sp.sympify(expr).free_symbols - {U}
    unknown = sorted(str(a) for a in free if str(a) not in names)
    if unknown:
        raise CodegenError(f"the site function {text(expr)} depends on {unknown}, which are "
                           "not parameters of the model")
    return sorted(free, key=str)


MEAN, VARIANCE, COVARIANCE = (sp.Symbol("mean", real=True), sp.Symbol("variance", positive=True),
                              sp.Symbol("covariance", real=True))


def _closed_forms(problem: SiteProblem, names: list[str]) -> dict:
    """``{(kind, k): (source, parameters)}`` for every mean (kind ``"single"``) and
    correlation (``"pair"``) term with a closed form (:func:`closed_form`):
    ``closed_single_k(mean, variance)`` = E[f(u)] and ``closed_pair_k(mean, variance,
    covariance)`` = E[f(u)h(v)] at equal means and variances, vectorised in the
    covariance. A formula that holds only at zero mean (erf × erf: arcsin) returns None
    at any other mean, and the runtimes fall back to quadrature there."""
    out = {}
    for kind, specs in (("single", problem.means), ("pair", problem.correlations)):
        for k, spec in enumerate(specs):
            moments = dict(var_u=VARIANCE, var_v=VARIANCE, cov=COVARIANCE)
            expr, zero_mean = closed_form(spec.left, spec.right, U, mu_u=MEAN, mu_v=MEAN,
                                          **moments), False
            if expr is None:
                expr, zero_mean = closed_form(spec.left, spec.right, U, mu_u=0, mu_v=0,
                                              **moments), True
            if expr is None:
                continue
            parameters = sorted(expr.free_symbols - {MEAN, VARIANCE, COVARIANCE}, key=str)
            if any(str(a) not in names for a in parameters):
                raise CodegenError(f"the closed form of {spec.name} depends on "
                                   f"{[str(a) for a in parameters]}, not all parameters")
            arguments = [MEAN, VARIANCE] + ([COVARIANCE] if kind == "pair" else [])
            what = f"E[{text(spec.left)}" + (f" · {text(spec.right)}]" if spec.right
                                              is not None else "]")
            guard = ("    if mean != 0:\n        return None  # the formula holds at zero "
                     "mean only\n") if zero_mean else ""
            shape = "covariance" if kind == "pair" else "mean"
            source = (f"def closed_{kind}_{k}({', '.join(map(str, arguments + parameters))}):\n"
                      f'    """{what} (closed form, {spec.name})"""\n{guard}'
                      f"    return numpy.zeros(numpy.shape({shape})) + ({numpy_code(expr)})\n")
            out[kind, k] = (source, [str(a) for a in parameters])
    return out


def _strip(expr: sp.Expr) -> sp.Expr:
    """The strip in which a site function and its derivative are both analytic."""
    return sp.Min(strip_of(expr, U), strip_of(sp.diff(expr, U), U))


def _function_names(problem: SiteProblem) -> dict[sp.Expr, str]:
    """φ is ``phi``; every other function of the problem ``f1``, ``f2``, …"""
    out = {}
    for k, expr in enumerate(problem.functions):
        out[expr] = "phi" if k == 0 else f"f{k}"
    return out


def _bindings(functions: dict[sp.Expr, str], names: list[str]) -> list[str]:
    """Lines of ``spec`` binding each function (and derivative) with parameters to their
    values: ``phi_ = functools.partial(phi, beta=v["beta"])``; ``phi_ = phi`` otherwise.
    One object per function, so runtimes may compare functions by identity. Each
    function's strip of analyticity is evaluated there too: ``strip_phi_ = float(...)``."""
    lines = []
    for expr, name in functions.items():
        bound = ", ".join(f"{a}=v[{str(a)!r}]" for a in _parameters_of(expr, names))
        for f in (name, f"d{name}"):
            lines.append(f"    {f}_ = functools.partial({f}, {bound})" if bound
                         else f"    {f}_ = {f}")
        lines.append(f"    strip_{name}_ = float(strip_{name}({bound}))")
    return lines


def _slots(problem: SiteProblem) -> dict:
    """Where each coefficient of ``problem.coefficients`` goes in the SiteSpec: code
    strings ``c[k]`` for the leak, offset and noise per population, the coupling tables
    B (means), A (correlations), κ (responses), the step and the fractions."""
    P = len(problem.sites)
    L, K, R = len(problem.means), len(problem.correlations), len(problem.responses)
    out = {"leak": [], "offset": [], "noise": [], "B": [["0.0"] * L for _ in range(P)],
           "A": [["0.0"] * K for _ in range(P)], "kappa": [["0.0"] * R for _ in range(P)]}
    k = 0
    for a, site in enumerate(problem.sites):
        for key in ("leak", "offset", "noise"):
            out[key].append(f"c[{k}]")
            k += 1
        for key, pairs in (("B", site.mean_coefficients), ("A", site.correlation_coefficients),
                           ("kappa", site.response_coefficients)):
            for index, _ in pairs:
                out[key][a][index] = f"c[{k}]"
                k += 1
    out["step"] = f"c[{k}]" if problem.step is not None else "None"
    k += problem.step is not None
    out["dressings"] = []
    for _ in problem.dressings:  # α, α⟨d²⟩ of each resummed correlated-mode term
        out["dressings"].append((f"c[{k}]", f"c[{k + 1}]"))
        k += 2
    out["fractions"] = [f"c[{k + a}]" for a in range(P)]
    return out


def _matrix(rows: list[list[str]], P: int) -> str:
    """Source of a P × width float array from rows of coefficient strings."""
    width = len(rows[0]) if rows else 0
    return ("numpy.array([" + ", ".join("[" + ", ".join(r) + "]" for r in rows)
            + f"], dtype=float).reshape({P}, {width})")


def _tuple(items) -> str:
    return "(" + "".join(f"{n}, " for n in items) + ")"


def _closed_form(closed: dict, kind: str | None, k: int) -> str | None:
    """The bound closed-form Gaussian expectation of term k (``closed_pair_k`` …), or None."""
    if kind is None or (kind, k) not in closed:
        return None
    arguments = ", ".join(f"{a}=v[{a!r}]" for a in closed[kind, k][1])
    return (f"functools.partial(closed_{kind}_{k}, {arguments})" if arguments
            else f"closed_{kind}_{k}")


def _terms(specs, functions, where, closed, kind=None) -> str:
    """Source of a tuple of SiteTerms (bound functions, strips, closed forms)."""
    out = ""
    for k, spec in enumerate(specs):
        f = functions[spec.left] + "_"
        h = functions[spec.right] + "_" if spec.right is not None else None
        strip = f"min(strip_{f}, strip_{h})" if h and h != f else f"strip_{f}"
        form = _closed_form(closed, kind, k)
        form = f", {kind}={form}" if form else ""
        out += (f"SiteTerm({where[spec.population]}, {f}, {h}, d{f}, "
                f"{'d' + h if h else None}, {spec.name!r}, strip={strip}{form}), ")
    return f"({out})"


def _spec_source(problem: SiteProblem, functions: dict[sp.Expr, str], names,
                 closed: dict) -> str:
    """``def spec(**values)``: the runtime's SiteSpec at parameter values."""
    P = len(problem.sites)
    where = {name: k for k, name in enumerate(problem.populations)}
    slot = _slots(problem)

    def vector(key):
        return f"numpy.array([{', '.join(slot[key])}])"

    def terms(specs, kind=None):
        return _terms(specs, functions, where, closed, kind)

    nonlinear = [functions[s.nonlinear] + "_" if s.nonlinear != 0 else "None"
                 for s in problem.sites]
    phis = [functions[f] + "_" for f in problem.population_phis]
    lines = [
        "def spec(**values):",
        '    """The single-site problem (a SiteSpec) at these parameter values."""',
        "    v = resolve_values(PARAMETERS, values)",
        "    c = [float(x) for x in coefficients(**v)]",
        *(f"    v[{s.name!r}] = c[{len(problem.coefficients) - len(problem.derived) + k}]"
          f"  # {text(e)}" for k, (s, e) in enumerate(problem.derived)),
        *_bindings(functions, names),
        "    return SiteSpec(",
        "        populations=POPULATIONS,",
        f"        leak={vector('leak')},",
        f"        noise={vector('noise')},",
        f"        offset={vector('offset')},",
        f"        means={terms(problem.means, 'single')},",
        f"        mean_coupling={_matrix(slot['B'], P)},",
        f"        correlations={terms(problem.correlations, 'pair')},",
        f"        correlation_coupling={_matrix(slot['A'], P)},",
        f"        responses={terms(problem.responses)},",
        f"        response_coupling={_matrix(slot['kappa'], P)},",
        f"        nonlinear={_tuple(nonlinear)},",
        f"        dnonlinear={_tuple(f'd{n}' if n != 'None' else n for n in nonlinear)},",
        f"        phi={_tuple(phis)},",
        f"        dphi={_tuple('d' + f for f in phis)},",
        f"        step={slot['step']},",
        f"        fractions={vector('fractions')},",
        f"        phi_strip={_tuple('strip_' + f for f in phis)},",
        f"        dressings={_dressings_source(problem, functions, where, slot)},",
        f"        groups={problem.groups or None!r},",
        "    )",
    ]
    return "\n".join(lines) + "\n"


def _dressings_source(problem: SiteProblem, functions, where, slot) -> str:
    """Source of the SiteSpec's tuple of ModeDressings (resummed correlated modes)."""
    items = [
        f"ModeDressing.from_shape({where[d.population]}, {d.correlation}, {d.response}, "
        f"alpha={alpha}, overlap={functions[d.overlap]}_, variance={variance}, "
        f"shape={functions[d.shape]}_, breaks={breaks_of(d.shape)!r}"
        f"{_mixed_source(d.mixed)})"
        for d, (alpha, variance) in zip(problem.dressings, slot["dressings"], strict=True)
    ]
    return _tuple(items)


def _mixed_source(mixed) -> str:
    """``, mixed=(...)`` of a dressing on a mixture of sites (node weights are numbers)."""
    if mixed is None:
        return ""
    correlations, responses, noise, kernel = mixed
    pairs = [tuple((int(j), float(w)) for j, w in part) for part in (correlations, responses)]
    return f", mixed=({pairs[0]!r}, {pairs[1]!r}, {tuple(noise)!r}, {tuple(kernel)!r})"


def _header(model: Model, derivation, digest: str) -> str:
    # the saddle point as fieldtheory prints it; a docstring cannot hold triple quotes
    saddle = derivation.stage("saddle_point").text.replace('"""', "'''")
    body = "\n".join(f"    {line}" for line in saddle.splitlines())
    return (
        f"# Generated by fieldtheory {__version__} (codegen {CODEGEN_VERSION}); do not edit.\n"
        f"# model: {model.name}\n# content hash: {digest}\n"
        f'r"""Stationary mean-field solver for the model {model.name!r}.\n\n'
        f"The saddle point derived by fieldtheory from the model's action:\n\n{body}\n\n"
        "Run as a script: ``python THIS_FILE.py name=value ...`` prints the observables "
        'as JSON.\n"""\n\nfrom __future__ import annotations\n\n'
        "import functools\n\nimport numpy\nimport scipy\nimport scipy.constants\n"
        "import scipy.special\n"
    )


def runtime_source(*modules: ModuleType) -> str:
    """The code of runtime modules, each preceded by the runtime modules it imports.

    A runtime module may import from other modules of ``fieldtheory.solvers.runtime``
    (always ``common``, e.g. ``single_phi``): those are inlined first, each once, in
    dependency order. Docstrings, ``__future__`` imports and those imports are dropped, so
    the result needs only numpy, scipy and the standard library. Two modules defining
    (not importing) the same top-level name raise
    :class:`~fieldtheory.errors.CodegenError` (inlined, one would silently replace the
    other). Cached per tuple of modules (the sources are read once per process).
    """
    return _runtime_source(modules)


@functools.lru_cache(maxsize=64)
def _runtime_source(modules: tuple) -> str:
    parts = []
    owner: dict[str, str] = {}
    for piece in _with_dependencies(modules):
        source = inspect.getsource(piece)
        for name in _top_level_names(source):
            if name in owner:
                raise CodegenError(f"runtimes {owner[name]} and {piece.__name__} both define "
                                   f"{name!r}; inlined together one would replace the other")
            owner.setdefault(name, piece.__name__)
        parts.append(f"# ---- {piece.__name__.replace('.', '/')}.py, inlined\n")
        parts.append(_module_body(source))
    return "".join(parts)


def _with_dependencies(modules) -> list[ModuleType]:
    """``common``, then ``modules`` with the runtime modules each imports before it."""
    order: dict[str, ModuleType] = {}

    def visit(module: ModuleType, path: tuple[str, ...]) -> None:
        if module.__name__ in order:
            return
        if module.__name__ in path:
            raise CodegenError(f"runtime modules import each other: {' -> '.join(path)}")
        for node in ast.parse(inspect.getsource(module)).body:
            if isinstance(node, ast.ImportFrom) and _is_runtime(node.module):
                visit(importlib.import_module(node.module), (*path, module.__name__))
        order[module.__name__] = module

    visit(common, ())
    for module in modules:
        visit(module, ())
    return list(order.values())


def _is_runtime(name: str | None) -> bool:
    return (name or "").startswith(common.__package__ + ".")


def _top_level_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names - {"__all__"}


def _module_body(source: str) -> str:
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    drop = set()
    for node in tree.body:
        is_docstring = isinstance(node, ast.Expr) and isinstance(
            getattr(node, "value", None), ast.Constant) and isinstance(node.value.value, str)
        is_local = isinstance(node, ast.ImportFrom) and (
            node.module == "__future__" or _is_runtime(node.module))
        if is_docstring or is_local:
            drop.update(range(node.lineno - 1, node.end_lineno))
    return "".join(line for k, line in enumerate(lines) if k not in drop)


_TEMPLATE = '''
def choose_method(site, method="auto"):
    """The name of the registered runtime that solves ``site`` (see choose_runtime)."""
    return choose_runtime(site, method).name


def solve(tau_max=20.0, dtau=0.25, step_max=0.02, method="auto", options=None, **params):
    """Solve the stationary mean-field equations at ``params`` (defaults: PARAMETERS).

    ``method``: "auto" takes the applicable registered runtime of highest priority at
    these values, a name forces one; ``step_max`` bounds the lattice step of the
    deterministic solvers (errors O(step**2)); ``options`` go to the runtime. Returns the
    observables (schema of fieldtheory.observables) plus what the runtime adds
    (``lyapunov_max``, ``response``, ``stderr``), ``branch`` and ``method``.
    """
    site = spec(**params)
    runtime = choose_runtime(site, method)
    out = runtime.solve(site, Grid(tau_max, dtau, step_max), dict(options or {}))
    out = merge_groups(site, out)  # a mixture of sites: per parent population
    out["method"] = runtime.name
    return out


def solve_transient(t_max, dt=0.05, mu0=0.0, sigma0=1.0, **params):
    """Two-time DMFT from x(0) ~ N(mu0, sigma0**2) on t = 0, dt, ..., t_max.

    A parameter may be a callable of t: it must enter only the constant input of the site
    (checked on the grid). Returns ``t``, ``mean``, ``variance``, ``covariance``,
    ``mean_phi`` and ``response`` R(t, s) of the site to its own input.
    """
    varying = sorted(k for k, v in params.items() if callable(v))
    values = resolve_values(PARAMETERS, {k: v for k, v in params.items() if k not in varying})
    resolve_values(PARAMETERS, params)
    t = dt * numpy.arange(int(round(t_max / dt)) + 1)
    site = spec(**{**values, **{k: float(params[k](0.0)) for k in varying}})
    runtime = choose_runtime(site, kind="transient")
    options = {"mu0": mu0, "sigma0": sigma0}
    if varying:
        rows = numpy.array([[float(c) for c in coefficients(
            **{**values, **{k: float(params[k](tk)) for k in varying}})] for tk in t])
        if set(numpy.flatnonzero(numpy.ptp(rows, axis=0) > 0).tolist()) - {1}:
            raise SolverInputError(f"time-dependent parameter(s) {varying} enter more than "
                                   "the constant input of the site")
        options["offset"] = rows[:, 1]
    return runtime.solve(site, (t_max, dt), options)


def solve_many(tau_max=20.0, dtau=0.25, **arrays):
    """``solve`` over broadcast parameter arrays: an object array of observable dicts."""
    shaped = numpy.broadcast_arrays(*(numpy.asarray(v, dtype=float) for v in arrays.values()))
    out = numpy.empty(shaped[0].shape if shaped else (), dtype=object)
    for index in numpy.ndindex(out.shape):
        out[index] = solve(tau_max, dtau, **{k: float(v[index]) for k, v in zip(arrays, shaped)})
    return out


if __name__ == "__main__":
    import sys

    sys.exit(command_line(sys.argv[1:], PARAMETERS, DOMAINS, solve))
'''
