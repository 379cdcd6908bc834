"""Models survive pickling into a fresh interpreter (process pools with spawn, Dask).

sympy rebuilds an undefined function from its name and keyword attributes only; a field's
value function must come back on its FieldValue base, or the unpickled action would hold
plain functions and fail validation.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import sympy

import fieldtheory as ft
from fieldtheory.ir.symbols import FieldValue, ResponseValue


def declared_model() -> ft.Model:
    p = ft.parameters(g=(2.0, "positive"), D=(0.1, "nonnegative"))
    g, D = p.symbols
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    action = ft.langevin({x: -x(t) + J @ ft.tanh(x(t))}, {x: D}, {J: ft.Gaussian(0, g**2)}, p)
    return ft.Model("pickled_network", action, "declared in a test")


def test_field_functions_keep_their_base_in_this_process():
    x = ft.Field("y")
    value, response = pickle.loads(pickle.dumps((x.value_function, x.response_function)))
    assert issubclass(value, FieldValue) and issubclass(response, ResponseValue)
    # other undefined functions still go through sympy's own reducer
    plain = pickle.loads(pickle.dumps(sympy.Function("f")))
    assert plain == sympy.Function("f") and not issubclass(plain, FieldValue)


def test_a_declared_model_unpickles_in_a_fresh_interpreter(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(declared_model()))
    code = (
        "import pickle, sys, fieldtheory as ft\n"
        f"model = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "print(ft.derive(model).mean_field.single_site.is_gaussian)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
