"""Generate a standalone mean-field solver module from a model.

``derive -> lower_site -> source``: the module's docstring carries the derived
self-consistency equations and single-site processes; its code prints, with
:class:`~fieldtheory.codegen.printer.SolverPrinter`, every function of the state (φ, the
nonlinear drift, the functions inside the order parameters) with its derivative, and every
coefficient of the lowered :class:`~fieldtheory.codegen.site.SiteProblem` as functions of
the model's parameters; ``spec(**params)`` assembles them into the runtimes' ``SiteSpec``.
The runtimes the problem's structure may need (:func:`runtimes_for`) are inlined
(numpy, scipy and the standard library only), so the file runs where fieldtheory is not
installed: ``python solver.py g=2.5`` prints the observables as JSON.

``solve(**params)`` chooses the solver at the parameter values (``choose_method``): maps
for discrete time; Monte-Carlo single-site DMFT for a nonlinear drift or a partial-symmetry
kernel acting on a nonlinear φ; the frequency-domain kernel solver for linear kernels; the
one-φ stationary solver (energy method, λ_max, responses) for one population with input
⟨φφ⟩; the multi-population solver otherwise. ``solve_transient`` is the two-time solver.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect

import sympy as sp

from fieldtheory._version import __version__
from fieldtheory.codegen.module import GeneratedModule, content_hash, load_source
from fieldtheory.codegen.printer import function_source
from fieldtheory.codegen.site import SiteProblem, U, lower_site, observed_phi
from fieldtheory.errors import ActionStructureError, CodegenError
from fieldtheory.ir.model import Model, load_model
from fieldtheory.printing import text
from fieldtheory.solvers.runtime import common

__all__ = ["CODEGEN_VERSION", "generate", "runtime_source", "module_source", "runtimes_for"]

#: Bumped whenever the template changes, so cached modules are regenerated.
CODEGEN_VERSION = "2"


def generate(model: Model | str) -> GeneratedModule:
    """The compiled solver module of ``model`` (cached by content hash, and per model)."""
    return _generate(load_model(model))


@functools.lru_cache(maxsize=256)
def _generate(model: Model) -> GeneratedModule:
    from fieldtheory.derive import derive  # the derivation stack is heavy: load on demand

    derivation = derive(model)
    problem = lower_site(derivation.mean_field, observed_phi(model.action))
    modules = runtimes_for(problem)
    # everything the source is made of: the derivation, the parameters, the template
    # and the runtimes it inlines
    digest = content_hash(
        __version__, CODEGEN_VERSION, model.name, *(s.text for s in derivation.stages),
        repr(model.parameters), _TEMPLATE, runtime_source(*modules),
    )
    source = module_source(model, derivation, problem, modules, digest)
    return load_source(model.name, digest, source)


def runtimes_for(problem: SiteProblem) -> tuple:
    """The runtime modules a problem may need, by its structure (kernels may vanish at
    solve time, so a model with a symbolic kernel carries both kinds of solver)."""
    if problem.step is not None:
        if not problem.single_phi:
            raise ActionStructureError(
                "the map solver takes one population and one input correlation ⟨φφ⟩; this "
                f"model has populations {problem.populations} and correlations "
                f"{[c.name for c in problem.correlations]}")
        return (runtime_module("maps"),)
    names = []
    if problem.single_phi:
        names += ["stationary", "two_time"]
    linear_drift = all(site.nonlinear == 0 for site in problem.sites)
    if linear_drift and not problem.single_phi:
        names.append("multi")
    if not problem.is_gaussian:
        names.append("monte_carlo")
    if problem.responses and problem.is_gaussian:
        names.append("kernel")
    return tuple(runtime_module(name) for name in names)


def runtime_module(name: str):
    """The runtime module ``fieldtheory.solvers.runtime.NAME``."""
    try:
        return importlib.import_module(f"{common.__package__}.{name}")
    except ModuleNotFoundError:
        raise CodegenError(f"no solver runtime named {name!r}") from None


def module_source(model: Model, derivation, problem: SiteProblem, modules,
                  digest: str) -> str:
    """The text of the generated module."""
    parameters = list(model.parameters)
    names = [p.name for p in parameters]
    symbols = [sp.Symbol(n, real=True) for n in names]
    functions = _function_names(problem)
    pieces = [
        _header(model, derivation, digest),
        runtime_source(*modules),
        "\n# ---------------------------------------------------------------- the model\n",
        f"PARAMETERS = {dict(zip(names, (p.default for p in parameters), strict=True))!r}\n",
        f"POPULATIONS = {problem.populations!r}\n",
        f"METHODS = {tuple(_METHOD_OF[m.__name__.rsplit('.', 1)[1]] for m in modules)!r}\n",
        f"SINGLE_PHI = {problem.single_phi!r}\n",
        f"LINEAR_RESPONSES = {problem.is_gaussian!r}\n",
    ]
    for expr, name in functions.items():
        pieces.append(function_source(name, [U], expr, f"{text(expr)}", elementwise=True))
        pieces.append(function_source(f"d{name}", [U], sp.diff(expr, U),
                                      f"d/du {text(expr)}", elementwise=True))
    pieces += [
        function_source("coefficients", symbols, sp.Tuple(*problem.coefficients),
                        "every coefficient of the single-site problem, in spec()'s order"),
        _spec_source(problem, functions),
        _TEMPLATE,
    ]
    return "\n".join(pieces)


#: The solve method each runtime module provides.
_METHOD_OF = {"stationary": "stationary", "two_time": "transient", "multi": "multi",
              "monte_carlo": "monte_carlo", "kernel": "kernel", "maps": "map"}


def _function_names(problem: SiteProblem) -> dict[sp.Expr, str]:
    """φ is ``phi``; every other function of the problem ``f1``, ``f2``, …"""
    out = {}
    for k, expr in enumerate(problem.functions):
        out[expr] = "phi" if k == 0 else f"f{k}"
    return out


def _spec_source(problem: SiteProblem, functions: dict[sp.Expr, str]) -> str:
    """``def spec(**values)``: the runtime's SiteSpec at parameter values."""
    P = len(problem.sites)
    L, K, R = len(problem.means), len(problem.correlations), len(problem.responses)
    where = {name: k for k, name in enumerate(problem.populations)}
    k = 0
    leak, offset, noise = [], [], []
    B = [["0.0"] * L for _ in range(P)]
    A = [["0.0"] * K for _ in range(P)]
    kappa = [["0.0"] * R for _ in range(P)]
    for a, site in enumerate(problem.sites):
        leak.append(f"c[{k}]")
        offset.append(f"c[{k + 1}]")
        noise.append(f"c[{k + 2}]")
        k += 3
        for table, pairs in ((B, site.mean_coefficients), (A, site.correlation_coefficients),
                             (kappa, site.response_coefficients)):
            for index, _ in pairs:
                table[a][index] = f"c[{k}]"
                k += 1
    step = f"c[{k}]" if problem.step is not None else "None"
    k += problem.step is not None
    fractions = ", ".join(f"c[{k + a}]" for a in range(P))

    def matrix(rows):
        return "numpy.array([" + ", ".join("[" + ", ".join(r) + "]" for r in rows) + "], " \
               "dtype=float)"

    def term(spec):
        f = functions[spec.left]
        h = functions[spec.right] if spec.right is not None else None
        return (f"SiteTerm({where[spec.population]}, {f}, {h}, d{f}, "
                f"{'d' + h if h else None}, {spec.name!r})")

    nonlinear = [functions[s.nonlinear] if s.nonlinear != 0 else "None" for s in problem.sites]
    dnonlinear = [f"d{n}" if n != "None" else "None" for n in nonlinear]
    lines = [
        "def spec(**values):",
        '    """The single-site problem (a SiteSpec) at these parameter values."""',
        "    c = [float(v) for v in coefficients(**_values(values))]",
        "    return SiteSpec(",
        "        populations=POPULATIONS,",
        f"        leak=numpy.array([{', '.join(leak)}]),",
        f"        noise=numpy.array([{', '.join(noise)}]),",
        f"        offset=numpy.array([{', '.join(offset)}]),",
        f"        means=({''.join(term(m) + ', ' for m in problem.means)}),",
        f"        mean_coupling={matrix(B)}.reshape({P}, {L}),",
        f"        correlations=({''.join(term(m) + ', ' for m in problem.correlations)}),",
        f"        correlation_coupling={matrix(A)}.reshape({P}, {K}),",
        f"        responses=({''.join(term(m) + ', ' for m in problem.responses)}),",
        f"        response_coupling={matrix(kappa)}.reshape({P}, {R}),",
        f"        nonlinear=({''.join(n + ', ' for n in nonlinear)}),",
        f"        dnonlinear=({''.join(n + ', ' for n in dnonlinear)}),",
        f"        phi=({'phi, ' * P}),",
        f"        dphi=({'dphi, ' * P}),",
        f"        step={step},",
        f"        fractions=numpy.array([{fractions}]),",
        "    )",
    ]
    return "\n".join(lines) + "\n"


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
        "import numpy\nimport scipy\nimport scipy.constants\nimport scipy.special\n"
    )


def runtime_source(*modules) -> str:
    """The code of runtime modules, preceded once by the shared runtime code they import.

    Docstrings, ``__future__`` imports and imports of other runtime modules are dropped:
    what they provide is inlined first, so the result needs only numpy, scipy and the
    standard library. Two runtimes defining (not importing) the same top-level name raise
    :class:`~fieldtheory.errors.CodegenError` (inlined, one would silently replace the other).
    Cached per tuple of modules (the sources are read once per process).
    """
    return _runtime_source(modules)


@functools.lru_cache(maxsize=64)
def _runtime_source(modules: tuple) -> str:
    parts = []
    owner: dict[str, str] = {}
    for piece in (common, *modules):
        for name in _top_level_names(inspect.getsource(piece)):
            if name in owner:
                raise CodegenError(f"runtimes {owner[name]} and {piece.__name__} both define "
                                   f"{name!r}; inlined together one would replace the other")
            owner.setdefault(name, piece.__name__)
        parts.append(f"# ---- {piece.__name__.replace('.', '/')}.py, inlined\n")
        parts.append(_module_body(inspect.getsource(piece)))
    return "".join(parts)


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
            node.module == "__future__" or (node.module or "").startswith(common.__package__))
        if is_docstring or is_local:
            drop.update(range(node.lineno - 1, node.end_lineno))
    return "".join(line for k, line in enumerate(lines) if k not in drop)


_TEMPLATE = '''
def _values(params):
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; known: {sorted(PARAMETERS)}")
    return {**PARAMETERS, **params}


def choose_method(site, method="auto"):
    """The solver for ``site``: map, monte_carlo, kernel, stationary or multi."""
    if method == "auto":
        if site.step is not None:
            method = "map"
        elif site.has_nonlinear_drift or (site.has_kernel and not LINEAR_RESPONSES):
            method = "monte_carlo"
        elif site.has_kernel:
            method = "kernel"
        elif SINGLE_PHI:
            method = "stationary"
        else:
            method = "multi"
    if method not in METHODS or method == "transient":
        raise ValueError(f"method {method!r} is not available for this model; it has "
                         f"{[m for m in METHODS if m != 'transient']}")
    return method


def solve(tau_max=20.0, dtau=0.25, step_max=0.02, method="auto", options=None, **params):
    """Solve the stationary mean-field equations at ``params`` (defaults: PARAMETERS).

    ``method``: "auto" picks the solver from the single-site problem at these values
    (see ``choose_method``); ``step_max`` bounds the lattice step of the deterministic
    solvers (errors O(step**2)); ``options`` are passed to the runtime's solve function
    (e.g. paths, replicas, seed of the Monte-Carlo solver). Returns the observables (schema of
    fieldtheory.observables) plus ``lyapunov_max`` and ``response`` where the solver
    provides them, ``branch`` and ``method``.
    """
    site = spec(**_values(params))
    method = choose_method(site, method)
    out = globals()[f"_solve_{method}"](site, tau_max, dtau, step_max, **(options or {}))
    out["method"] = method
    return out


def _single(site):
    """(leak, g, J0, I, D) of a one-population, one-phi site, in units of the leak time."""
    a = float(site.leak[0])
    A = float(site.correlation_coupling[0].sum())
    if not a > 0:
        raise ValueError(f"the leak rate {a} must be positive for a stationary state")
    if A < 0:
        raise ValueError(f"the input variance coefficient {A} is negative")
    J0 = float(site.mean_coupling[0].sum()) if site.means else 0.0
    return a, math.sqrt(A) / a, J0 / a, float(site.offset[0]) / a, float(site.noise[0]) / a


def _solve_stationary(site, tau_max, dtau, step_max, **options):
    leak, g, J0, I, D = _single(site)
    solution = solve_stationary(phi, dphi, g, J0=J0, I=I, D=D, tau_max=tau_max * leak,
                                dtau=dtau * leak, step_max=step_max, **options)
    observables = solution.observables()
    tau = solution.tau / leak
    for key in ("autocorrelation", "autocorrelation_phi"):
        observables[key] = {"tau": tau, "values": observables[key]["values"]}
    response = solution.response()
    observables["lyapunov_max"] = solution.lyapunov * leak
    # the observable is the kick response, R(0+) = 1, like the simulator's (the runtime
    # gives the field theory's Ito value R(t, t) = 0 at tau = 0)
    for key, which in (("response", "own"), ("response_common", "common")):
        values = numpy.array(response[which]["time"], dtype=float)
        values[tau == 0] = 1.0
        observables[key] = {"tau": tau, "values": values}
    observables["branch"] = solution.branch
    return observables


def _solve_map(site, tau_max, dtau, step_max, **options):
    # the runtime's delta is the leak per step, its time unit the leak time
    leak, g, J0, I, D = _single(site)
    step = float(site.step)
    scale = step / leak  # physical time per runtime time unit
    solution = solve_map(phi, dphi, g, leak, D=D, J0=J0, I=I, tau_max=tau_max / scale,
                         **options)
    observables = solution.observables(tau_max / scale, dtau / scale)
    for key in ("autocorrelation", "autocorrelation_phi"):
        curve = observables[key]
        observables[key] = {"tau": numpy.asarray(curve["tau"]) * scale,
                            "values": curve["values"]}
    observables["lyapunov_max"] = solution.lyapunov / scale
    observables["branch"] = solution.branch
    return observables


def _solve_multi(site, tau_max, dtau, step_max, **options):
    # with the fractions, the top level is the whole network, as the simulator measures it
    return solve_multi(site, tau_max=tau_max, dtau=dtau, step_max=step_max,
                       fractions=site.fractions, **options)


def _solve_kernel(site, tau_max, dtau, step_max, **options):
    out = solve_kernel(site, tau_max=tau_max, dtau=dtau, step_max=step_max, **options)
    return _network_level(site, out)


def _solve_monte_carlo(site, tau_max, dtau, step_max, **options):
    return _network_level(site, solve_monte_carlo(site, tau_max=tau_max, dtau=dtau, **options))


def _network_level(site, out):
    """With several populations the top level is the whole network (as the simulator
    measures it): the fraction-weighted mixture of the populations (common.mixture)."""
    if site.size < 2 or site.fractions is None:
        return out
    names = list(out["populations"])
    errors = out.get("stderr", {}).get("populations")
    top, top_errors = mixture([out["populations"][n] for n in names], site.fractions,
                              [errors[n] for n in names] if errors else None)
    out.update(top)
    if top_errors is not None:
        out["stderr"].update(top_errors)
    return out


def solve_transient(t_max, dt=0.05, mu0=0.0, sigma0=1.0, **params):
    """Two-time DMFT from x(0) ~ N(mu0, sigma0**2) on t = 0, dt, ..., t_max.

    A parameter may be a callable of t (a time-dependent input): it must enter only the
    constant input I of the site (checked on the grid). Returns ``t``, ``mean`` M(t),
    ``variance`` K(t, t), ``covariance`` K(t, s), ``mean_phi`` m(t) and ``response``
    R(t, s) of the site to its own input.
    """
    if "transient" not in METHODS:
        raise ValueError("the two-time solver takes one population with one <phi phi> "
                         "input; this model has another structure")
    varying = sorted(k for k, v in params.items() if callable(v))
    values = _values({k: v for k, v in params.items() if k not in varying})
    _values(params)
    n = int(round(t_max / dt))
    t = dt * numpy.arange(n + 1)
    site = spec(**{**values, **{k: float(params[k](0.0)) for k in varying}})
    if varying:
        rows = numpy.array([[float(c) for c in coefficients(
            **{**values, **{k: float(params[k](tk)) for k in varying}})] for tk in t])
        moving = set(numpy.flatnonzero(numpy.ptp(rows, axis=0) > 0).tolist())
        if moving - {1}:
            raise ValueError(f"time-dependent parameter(s) {varying} enter more than the "
                             "constant input of the site")
        offset = rows[:, 1]
    else:
        offset = numpy.full(n + 1, float(site.offset[0]))
    leak, g, J0, _, D = _single(site)
    solution = solve_two_time(phi, g, J0=J0, I=offset / leak, D=D, mu0=mu0, sigma0=sigma0,
                              t_max=t_max * leak, dt=dt * leak, dphi=dphi)
    return {"t": solution.t / leak, "mean": solution.mean, "variance": solution.variance,
            "covariance": solution.covariance, "mean_phi": solution.mean_phi,
            "response": solution.response * leak}


def solve_many(tau_max=20.0, dtau=0.25, **arrays):
    """``solve`` over broadcast parameter arrays: an object array of observable dicts."""
    shaped = numpy.broadcast_arrays(*(numpy.asarray(v, dtype=float) for v in arrays.values()))
    out = numpy.empty(shaped[0].shape if shaped else (), dtype=object)
    for index in numpy.ndindex(out.shape):
        point = {k: float(v[index]) for k, v in zip(arrays, shaped)}
        out[index] = solve(tau_max, dtau, **point)  # default lattice step
    return out


if __name__ == "__main__":
    import json
    import sys

    given = dict(arg.split("=", 1) for arg in sys.argv[1:])
    result = solve(**{k: float(v) for k, v in given.items()})

    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, numpy.ndarray):
            return value.tolist()
        return float(value) if isinstance(value, (int, float, numpy.floating)) else value

    print(json.dumps(plain(result)))
'''
