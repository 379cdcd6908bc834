"""The numpy printer and generated-module machinery (STYLE.md §8–11, §15).

Golden strings for the printer, numeric agreement with a plain Python loop, refusal of
nodes without a numpy meaning, tracebacks that quote the generated line, caching by
content hash, and a saved module that runs with ``python -I`` where fieldtheory is absent.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import traceback

import numpy as np
import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.codegen import clear_cache, content_hash, function_source, load_source, numpy_code
from fieldtheory.errors import CodegenError
from fieldtheory.ir.nonlinearities import ReLU

u = sp.Symbol("u", real=True)

GOLDEN = [
    (sp.tanh(u), "numpy.tanh(u)"),
    (ft.erf_sqrtpi(u), "scipy.special.erf((1/2)*numpy.sqrt(numpy.pi)*u)"),
    (ReLU(u), "numpy.maximum(u, 0)"),
    (sp.Heaviside(u), "numpy.heaviside(u, 0.5)"),
    (1 / (1 + sp.exp(-u)), "(1 + numpy.exp(-u))**(-1.0)"),
    (2 / sp.pi * sp.asin(u / 3), "2*numpy.arcsin((1/3)*u)/numpy.pi"),
]

SCALAR = {
    "tanh": math.tanh,
    "erf": lambda v: math.erf(math.sqrt(math.pi) * v / 2),
    "relu": lambda v: max(v, 0.0),
    "heaviside": lambda v: 0.0 if v < 0 else (0.5 if v == 0 else 1.0),
    "logistic": lambda v: 1 / (1 + math.exp(-v)),
    "arcsin": lambda v: 2 / math.pi * math.asin(v / 3),
}


@pytest.mark.parametrize(("expr", "code"), GOLDEN, ids=[str(e) for e, _ in GOLDEN])
def test_printer_golden_strings(expr, code):
    assert numpy_code(expr).replace("scipy.constants.pi", "numpy.pi") == code


@pytest.mark.parametrize(("index", "name"), list(enumerate(SCALAR)))
def test_printed_code_agrees_with_a_plain_loop(index, name):
    expr = GOLDEN[index][0]
    source = "import numpy\nimport scipy.special\nimport scipy.constants\n" + function_source(
        "f", [u], expr)
    module = load_source(f"golden_{name}", content_hash(source), source)
    grid = np.linspace(-2.5, 2.5, 101)
    expected = np.array([SCALAR[name](float(v)) for v in grid])
    np.testing.assert_allclose(module.f(grid), expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize(("bad", "named"), [
    (lambda: ft.Field("x")(ft.t), "x(t)"),
    (lambda: ft.Coupling("J") @ ft.tanh(ft.Field("x")(ft.t)), "CouplingSum(J"),
    (lambda: sp.Function("mystery")(u), "mystery(u)"),
    (lambda: sp.Derivative(sp.Function("f")(u), u), "Derivative(f(u), u)"),
], ids=["field", "coupling", "undefined function", "derivative"])
def test_nodes_without_numpy_meaning_are_refused_by_name(bad, named):
    with pytest.raises(CodegenError, match=re.escape(named)):
        numpy_code(bad())


def test_traceback_quotes_the_generated_line():
    source = "def fails(v):\n    return v / undefined_name_in_generated_code\n"
    module = load_source("failing", content_hash(source), source)
    with pytest.raises(NameError) as error:
        module.fails(1.0)
    text = "".join(traceback.format_exception(error.value))
    assert "<fieldtheory-generated failing" in text
    assert "return v / undefined_name_in_generated_code" in text


def test_modules_are_cached_by_content_hash():
    clear_cache()
    source = "VALUE = object()\n"
    first = load_source("cached", content_hash(source), source)
    again = load_source("cached", content_hash(source), source)
    other = load_source("cached", content_hash(source + "\n"), source + "\n")
    assert first is again and first.VALUE is again.VALUE
    assert other is not first


def test_saved_module_runs_without_fieldtheory(tmp_path):
    source = ("import numpy\nimport scipy.special\n" + function_source(
        "phi", [u], ft.erf_sqrtpi(u), "φ(u) = erf(√π u/2)")
        + "if __name__ == '__main__':\n    print(repr(float(phi(numpy.float64(0.3)))))\n")
    module = load_source("saved", content_hash(source), source)
    path = module.save(tmp_path / "solver.py")
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run([sys.executable, "-I", str(path)], cwd=empty, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == pytest.approx(math.erf(math.sqrt(math.pi) * 0.3 / 2), rel=1e-15)
