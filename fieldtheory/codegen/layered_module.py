"""The generated solver module of a layered network (issue 14): the kernel recursion.

:func:`~fieldtheory.codegen.generate.generate` calls :func:`layered_module_source` for a
layered model. The module prints, from the lowered :class:`~fieldtheory.codegen.layered.
LayeredProblem`, every covariance coefficient c_k(l₁, l₂) as a function of the two layers
and the parameters, every closed-form Gaussian expectation E[f g](var_u, var_v, cov) and
the functions f, g (for the quadrature fallback), and the depth; ``spec(inputs, **params)``
assembles the runtime's ``LayeredSpec`` with the data kernel of ``inputs`` (P × d; default
the model's own data set, ``INPUTS``), ``solve`` runs the inlined ``kernel_recursion``
runtime. It needs numpy and scipy only; ``python solver.py depth=5`` prints the kernels
of the model's own inputs as JSON.
"""

from __future__ import annotations

import sympy as sp

from fieldtheory.codegen.layered import L1, L2, LayeredProblem, U
from fieldtheory.codegen.printer import function_source, numpy_code
from fieldtheory.errors import CodegenError
from fieldtheory.gaussian.closed_forms import COV, VAR_U, VAR_V
from fieldtheory.printing import text

__all__ = ["layered_module_source"]


def layered_module_source(model, derivation, problem: LayeredProblem, runtimes: str,
                          digest: str, header: str, domains: str) -> str:
    """The text of the generated module (``runtimes``: the inlined runtime source;
    ``header`` and ``domains`` as the stationary template writes them)."""
    names = [p.name for p in model.parameters]
    defaults = {p.name: p.default for p in model.parameters}
    pieces = [header, runtimes,
              "\n# ---------------------------------------------------------------- the model\n",
              f"PARAMETERS = {defaults!r}\n", f"DOMAINS = {domains}\n",
              f"INPUTS = {[list(row) for row in problem.inputs.values]!r}\n",
              f"TWO_TIME = {problem.two_time!r}\n",
              "METHODS = tuple(sorted(RUNTIMES))\n"]
    depth_args = _parameters(problem.depth, names)
    pieces.append(function_source("depth_of", depth_args, problem.depth,
                                  "the number of layers"))
    depth_call = "depth_of(" + ", ".join(f"{a}=v[{str(a)!r}]" for a in depth_args) + ")"
    entries = []
    for k, term in enumerate(problem.terms):
        coefficient = term.coefficient.rewrite(sp.Piecewise)
        c_args = [L1, L2, *_parameters(coefficient, names, {L1, L2})]
        pieces.append(function_source(f"coefficient_{k}", c_args, coefficient,
                                      f"c_{k}(l, l') of {term.kind} {term.name}".strip()))
        expectation = left = right = "None"
        if term.kind == "order_parameter":
            f_args = [U, *_parameters(term.left, names, {U})]
            g_args = [U, *_parameters(term.right, names, {U})]
            pieces.append(function_source(f"left_{k}", f_args, term.left, text(term.left),
                                          elementwise=True))
            pieces.append(function_source(f"right_{k}", g_args, term.right,
                                          text(term.right), elementwise=True))
            left, right = _bound(f"left_{k}", f_args[1:]), _bound(f"right_{k}", g_args[1:])
            if term.expectation is not None:
                e_args = [VAR_U, VAR_V, COV,
                          *_parameters(term.expectation, names, {VAR_U, VAR_V, COV})]
                pieces.append(_expectation_source(k, e_args, term))
                expectation = _bound(f"expectation_{k}", e_args[3:])
        entries.append(f"        LayeredTermSpec({_bound(f'coefficient_{k}', c_args[2:])}, "
                       f"{term.kind!r}, {expectation}, {left}, {right}),")
    pieces.append(_SPEC.replace("{TERMS}", "\n".join(entries)).replace("{DEPTH}",
                                                                       depth_call))
    return "\n".join(pieces)


def _parameters(expr, names, own=frozenset()) -> list[sp.Symbol]:
    free = sp.sympify(expr).free_symbols - set(own)
    unknown = sorted(str(a) for a in free if str(a) not in names)
    if unknown:
        raise CodegenError(f"{text(expr)} depends on {unknown}, which are not parameters "
                           "of the model")
    return sorted(free, key=str)


def _bound(name: str, parameters) -> str:
    """``functools.partial(name, p=v["p"], …)``, or the bare name without parameters."""
    if not parameters:
        return name
    keywords = ", ".join(f"{p}=v[{str(p)!r}]" for p in parameters)
    return f"functools.partial({name}, {keywords})"


def _expectation_source(k: int, arguments, term) -> str:
    """E[f(u) g(v)] at zero means, broadcasting; √ clamped at 0 against rounding."""
    body = numpy_code(term.expectation).replace("numpy.sqrt(", "_sqrt0(")
    args = ", ".join(map(str, arguments))
    return (f"def expectation_{k}({args}):\n"
            f'    """E[{text(term.left)} · {text(term.right)}] (closed form, zero means)"""\n'
            f"    return {body}\n")


_SPEC = '''
def _sqrt0(x):
    """√x clamped at 0: closed forms take √(var_u var_v − cov²), which rounding may make −0."""
    return numpy.sqrt(numpy.maximum(x, 0.0))


def data_kernel(inputs):
    """K_X = X Xᵀ / d of the inputs (P × d), refused by name if not a finite table."""
    x = numpy.asarray(inputs, dtype=float)
    if x.ndim != 2 or x.size == 0 or not numpy.all(numpy.isfinite(x)):
        raise SolverInputError(f"inputs must be a finite P × d table, got shape {x.shape}")
    return x @ x.T / x.shape[1]


def spec(inputs=None, **params):
    """The runtime's LayeredSpec at ``params`` (defaults: PARAMETERS) on ``inputs``."""
    v = resolve_values(PARAMETERS, params)
    depth = float({DEPTH})
    if depth != round(depth) or depth < 1:
        raise SolverInputError(f"depth = {depth:g} is not an integer >= 1")
    terms = (
{TERMS}
    )
    kernel = data_kernel(INPUTS if inputs is None else inputs)
    return LayeredSpec(terms, int(round(depth)), kernel, TWO_TIME)


def choose_method(site, method="auto"):
    """The name of the registered runtime that solves ``site``."""
    return choose_runtime(site, method, kind="layered").name


def solve(inputs=None, method="auto", **params):
    """The kernels at ``params`` on ``inputs``: ``kernel`` {layers, values}, and
    ``kernel_cross`` {times, values} where layers are correlated (shared weights)."""
    site = spec(inputs, **params)
    runtime = choose_runtime(site, method, kind="layered")
    out = runtime.solve(site, None, {})
    out["method"] = runtime.name
    return out


if __name__ == "__main__":
    import sys

    sys.exit(command_line(sys.argv[1:], PARAMETERS, DOMAINS, solve))
'''
