"""Generate a standalone stationary mean-field solver module from a model.

``derive → lower_stationary → source``: the module's docstring carries the derived
self-consistency equations and single-site process; its code prints, with
:class:`~fieldtheory.codegen.printer.SolverPrinter`, the nonlinearity, its derivative and
every coefficient of the lowered problem as functions of the model's parameters, and
inlines the self-contained runtime :mod:`fieldtheory.solvers.runtime.stationary` (numpy,
scipy and the standard library only). The file therefore runs where fieldtheory is not
installed: ``python solver.py g=2.5`` prints the observables as JSON.

Scope (issue 4): one population, one field, continuous time, a Gaussian site whose input
covariance is D δ + c ⟨φ(u)φ(v)⟩ with one φ, and whose mean input is affine in ⟨φ⟩.
Anything else is refused here by name; the general cases come with the two-time and
Monte-Carlo solvers (issue 5).
"""

from __future__ import annotations

import ast
import inspect

import sympy as sp

from fieldtheory import __version__
from fieldtheory.codegen.lower import GaussianSiteProblem, U, lower_stationary
from fieldtheory.codegen.module import GeneratedModule, content_hash, load_source
from fieldtheory.codegen.printer import function_source
from fieldtheory.errors import ActionStructureError
from fieldtheory.ir.model import Model, load_model
from fieldtheory.printing import text
from fieldtheory.solvers.runtime import common
from fieldtheory.solvers.runtime import stationary as runtime

__all__ = ["CODEGEN_VERSION", "generate", "runtime_source", "stationary_source"]

#: Bumped whenever the template changes, so cached modules are regenerated.
CODEGEN_VERSION = "1"


def generate(model: Model | str) -> GeneratedModule:
    """The compiled solver module of ``model`` (cached by content hash)."""
    from fieldtheory.derive import derive  # the derivation stack is heavy: load on demand

    model = load_model(model)
    derivation = derive(model)
    # everything the source is made of: the derivation, the parameters, the template
    # and the runtime it inlines
    digest = content_hash(
        __version__, CODEGEN_VERSION, model.name, *(s.text for s in derivation.stages),
        repr(model.parameters), _TEMPLATE, runtime_source(runtime),
    )
    problem = lower_stationary(derivation.mean_field)
    source = stationary_source(model, derivation, problem, digest)
    return load_source(model.name, digest, source)


def _single_nonlinearity(problem: GaussianSiteProblem) -> tuple[sp.Expr, sp.Expr]:
    """φ(u) and the coefficient c of ⟨φφ⟩: the one correlation term the runtime solves."""
    if len(problem.correlations) != 1:
        names = ", ".join(c.name for c in problem.correlations) or "none"
        raise ActionStructureError(
            f"the stationary solver takes one correlation ⟨φ(u)φ(v)⟩ in the input; this model "
            f"has {names}"
        )
    (term,) = problem.correlations
    phi = term.left
    if term.right.xreplace({sp.Symbol("v", real=True): U}) != phi:
        raise ActionStructureError(f"the input correlation {term.name} is not ⟨φ(u)φ(v)⟩")
    for mean in problem.means:
        if mean.function != phi:
            raise ActionStructureError(
                f"mean {mean.symbol} = ⟨{mean.function}⟩ is not of the same φ = {phi}")
    return phi, term.coefficient


def _affine_in_means(problem: GaussianSiteProblem) -> tuple[sp.Expr, sp.Expr]:
    """μ = I_eff + J0_eff·m, m = ⟨φ⟩ (the sum of the mean symbols)."""
    mu = sp.expand(problem.mean_input)
    symbols = [m.symbol for m in problem.means]
    slope = sp.Integer(0)
    for m in symbols:
        slope_m = mu.coeff(m)
        if slope_m.has(*symbols):
            raise ActionStructureError(f"the mean input {mu} is not affine in {m}")
        slope += slope_m
    offset = mu.xreplace({m: 0 for m in symbols})
    return offset, slope


def stationary_source(model: Model, derivation, problem: GaussianSiteProblem,
                      digest: str) -> str:
    """The text of the generated module."""
    phi, coefficient = _single_nonlinearity(problem)
    offset, slope = _affine_in_means(problem)
    parameters = list(model.parameters)
    names = [p.name for p in parameters]
    symbols = [sp.Symbol(n, real=True) for n in names]
    kernel = sp.Add(*(sp.Abs(k) for k in problem.kernel_coefficients))
    a = problem.leak
    # time in units of the leak time 1/a: (1 + ∂t')x = (μ + η)/a, ⟨ηη⟩/a², Dδ(t) → (D/a)δ(t')
    coefficients = {
        "leak": a,
        "g": sp.sqrt(coefficient) / a,
        "J0": slope / a,
        "I": offset / a,
        "D": problem.white_noise / a,
        "kernel": kernel,
    }
    pieces = [
        _header(model, derivation, digest),
        runtime_source(runtime),
        "\n# ---------------------------------------------------------------- the model\n",
        f"PARAMETERS = {dict(zip(names, (p.default for p in parameters), strict=True))!r}\n",
        function_source("phi", [U], phi, f"φ(u) = {text(phi)}", elementwise=True),
        function_source("dphi", [U], sp.diff(phi, U), "φ'(u)", elementwise=True),
        function_source("coefficients", symbols, sp.Tuple(*coefficients.values()),
                        "(leak, g, J0, I, D, kernel) of the normalised single site"),
        f"COEFFICIENTS = {list(coefficients)!r}\n",
        _TEMPLATE,
    ]
    return "\n".join(pieces)


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


def runtime_source(module) -> str:
    """The code of a runtime module, preceded by the shared runtime code it imports.

    Docstrings, ``__future__`` imports and imports of other runtime modules are dropped:
    what they provide is inlined first, so the result needs only numpy, scipy and the
    standard library.
    """
    parts = []
    for piece in (common, module):
        parts.append(f"# ---- {piece.__name__.replace('.', '/')}.py, inlined\n")
        parts.append(_module_body(inspect.getsource(piece)))
    return "".join(parts)


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
def solve(tau_max=20.0, dtau=0.25, step_max=0.02, **params):
    """Solve the stationary mean-field equations at ``params`` (defaults: PARAMETERS).

    ``step_max`` bounds the lattice step of the lag equation (errors O(step²)).

    Returns the observables (schema of fieldtheory.observables) plus ``lyapunov_max``,
    ``response`` (the single site's own response to its input) and ``branch``.
    """
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; known: {sorted(PARAMETERS)}")
    values = {**PARAMETERS, **params}
    leak, g, J0, I, D, kernel = (float(c) for c in coefficients(**values))
    if kernel != 0:
        raise ValueError("a response-function self-coupling (partial symmetry) is not zero "
                         "at these parameters; the stationary Gaussian solver cannot take it")
    solution = solve_stationary(phi, dphi, g, J0=J0, I=I, D=D, tau_max=tau_max * leak,
                                dtau=dtau * leak, step_max=step_max)
    observables = solution.observables()
    tau = solution.tau / leak
    for key in ("autocorrelation", "autocorrelation_phi"):
        observables[key] = {"tau": tau, "values": observables[key]["values"]}
    response = solution.response()
    observables["lyapunov_max"] = solution.lyapunov * leak
    observables["response"] = {"tau": tau, "values": response["own"]["time"]}
    observables["response_common"] = {"tau": tau, "values": response["common"]["time"]}
    observables["branch"] = solution.branch
    return observables


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
