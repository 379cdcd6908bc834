"""Hostile corpus, issue 11.3: model files that fail in every way, loaded by every command.

Each file in ``tests/hostile/models/`` breaks in one way. Loading it must give one line
naming the file and the line (``ModelFileError``), exit status 2 and no traceback (``--debug``
shows it) — never a traceback, never status 0 (a file that calls ``sys.exit(0)``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import fieldtheory as ft
from fieldtheory.errors import ModelFileError, UnknownModelError

MODELS = Path(__file__).parent / "models"

#: file → (the line it fails on, None for a file that imports fine; words of the message)
CORPUS = {
    "syntax_error.py": (6, "SyntaxError: '(' was never closed"),
    "indentation_error.py": (5, "IndentationError: unexpected indent"),
    "raises_at_import.py": (7, "ZeroDivisionError: division by zero"),
    "missing_import.py": (4, "ModuleNotFoundError: No module named 'no_such_module_anywhere'"),
    "mistyped_name.py": (6, "has no attribute 'langevn'; did you mean ft.langevin?"),
    "undefined_name.py": (6, "NameError: name 'leak' is not defined"),
    "calls_sys_exit.py": (5, "the file calls sys.exit(0) when imported"),
    "calls_exit_message.py": (5, "calls sys.exit('this model refuses to load')"),
    "declaration_error.py": (7, "DeclarationError: noise covariance of (y, x) given twice"),
    "string_field_key.py": (6, "a drift key must be a Field (x = ft.Field('x')), got str 'x'"),
    "no_model.py": (None, "does not define `model`"),
    "model_is_action.py": (None, "`model` is an Action, not a Model; wrap it"),
    "model_is_number.py": (None, "`model` is of type int, not a fieldtheory Model"),
    "model_is_string.py": (None, "`model` is of type str, not a fieldtheory Model"),
}


def one_line_error(err: str) -> str:
    assert "Traceback" not in err, err
    assert err.count("\n") == 1 and err.startswith("fieldtheory: error: "), err
    return err.strip()


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_the_command_line_names_file_and_line(run, name):
    path = str(MODELS / name)
    line, words = CORPUS[name]
    status, out, err = run("show", path)
    assert status == 2 and out == ""
    message = one_line_error(err)
    where = f"model file {path}" + (f", line {line}:" if line else "")
    assert where in message and words in message, message


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_the_library_raises_model_file_error_with_path_and_line(name):
    path = MODELS / name
    with pytest.raises(ModelFileError) as caught:
        ft.load_model(path)
    assert caught.value.path == str(path) and caught.value.line == CORPUS[name][0]
    # a failed import leaves nothing half-loaded behind: the second attempt fails the same way
    assert not [m for m in sys.modules if m.startswith(f"_fieldtheory_model_{path.stem}_")]
    with pytest.raises(ModelFileError, match="model file"):
        ft.load_model(path)


def test_sys_exit_zero_in_a_model_file_is_not_a_success(run):
    status, _, err = run("simulate", str(MODELS / "calls_sys_exit.py"))
    assert status == 2 and "sys.exit(0)" in err


@pytest.mark.parametrize("argv", [
    ["show"], ["derive"], ["derive", "--json"], ["solve"], ["codegen"], ["simulate"],
    ["verify"], ["sweep", "-p", "g=1:2:2"], ["diagrams", "--order", "1"],
])
def test_every_command_reports_a_broken_model_file_alike(run, argv):
    path = str(MODELS / "raises_at_import.py")
    status, out, err = run(*argv[:1], path, *argv[1:])
    assert status == 2 and out == ""
    assert f"model file {path}, line 7: ZeroDivisionError" in one_line_error(err)


@pytest.mark.parametrize("position", ["before", "after"])
def test_debug_shows_the_traceback_and_still_the_line(run, position):
    path = str(MODELS / "raises_at_import.py")
    argv = ["--debug", "show", path] if position == "before" else ["show", path, "--debug"]
    status, _, err = run(*argv)
    assert status == 2
    assert "Traceback" in err and "ZeroDivisionError" in err and "raises_at_import.py" in err
    assert err.strip().splitlines()[-1].startswith("fieldtheory: error: model file")


def test_a_file_that_is_not_utf8(run, tmp_path):
    path = tmp_path / "latin.py"
    path.write_bytes(b"model = 1\n\xff\xfe\n")
    status, _, err = run("show", str(path))
    assert status == 2 and f"model file {path}, line 2: SyntaxError" in one_line_error(err)


@pytest.mark.parametrize("spec, words", [
    ("tests/hostile/models/absent.py", "no such file: tests/hostile/models/absent.py"),
    ("absent_folder/model", "no such file: absent_folder/model"),
    (str(MODELS), "is a directory, not a .py file"),
    (str(MODELS / "not_a_model_file.txt"), "not a Python file (.py)"),
])
def test_paths_that_are_not_model_files(run, spec, words):
    status, out, err = run("show", spec)
    assert status == 2 and out == "" and words in one_line_error(err)
    with pytest.raises(ModelFileError, match=r"no such file|directory|not a Python"):
        ft.load_model(spec)


def test_an_unknown_name_lists_the_shipped_models(run):
    status, _, err = run("show", "sccs")
    assert status == 2 and "unknown model 'sccs'" in one_line_error(err) and "scs" in err
    with pytest.raises(UnknownModelError) as caught:
        ft.load_model("sccs")
    assert not isinstance(caught.value, ModelFileError)


def test_a_good_model_file_still_loads(tmp_path, run):
    path = tmp_path / "fine.py"
    path.write_text("import fieldtheory as ft\nx = ft.Field('x')\n"
                    "model = ft.Model('fine', ft.langevin(drift={x: -x(ft.t)}, noise={x: 1}))\n")
    assert ft.load_model(path).name == "fine" and ft.load_model(str(path)).name == "fine"
    status, out, _ = run("show", str(path))
    assert status == 0 and "fine" in out
