"""The command line of a saved, standalone generated solver (issue 11.8).

``python solver.py NAME=VALUE ...`` refuses unknown names, unparsable values and values
outside the parameter domains with one line on stderr and exit status 2 (no traceback),
and prints one strict JSON object (no NaN) otherwise.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from support.strict_json import strict_loads

from fieldtheory.codegen.generate import generate


@pytest.fixture(scope="module")
def solver(tmp_path_factory):
    folder = tmp_path_factory.mktemp("standalone")
    path = generate("scs").save(folder / "solver.py")
    empty = folder / "empty"
    empty.mkdir()

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-I", str(path), *argv], cwd=empty,
                              capture_output=True, text=True, timeout=120)

    return run


@pytest.mark.parametrize(("argv", "message"), [
    (("h=1",), "expected NAME=VALUE with NAME one of"),
    (("g",), "expected NAME=VALUE"),
    (("g=abc",), "'abc' is not a number"),
    (("g=2*pi",), "is not a number"),
    (("g=-1",), "outside its domain (0, inf)"),
    (("g=nan",), "outside its domain"),
    (("rho=1.5",), "outside its domain [-1, 1]"),
])
def test_bad_arguments_are_one_line_and_status_2(solver, argv, message):
    done = solver(*argv)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_good_arguments_print_strict_json(solver):
    done = solver("g=0.5", "J0=0.2")
    assert done.returncode == 0, done.stderr

    out = strict_loads(done.stdout)
    assert out["method"] == "stationary" and out["branch"] == "fixed_point"
    assert out["variance"] == 0.0
