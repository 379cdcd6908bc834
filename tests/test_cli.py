"""The ``fieldtheory`` command: every behaviour the command-line spec promises."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.strict_json import strict_loads

import fieldtheory as ft
from fieldtheory import cli

# a small, quick simulation (the defaults would take seconds)
QUICK = ["-N", "60", "--t-max", "10", "--t-burn", "2", "--tau-max", "2"]




def console(*argv: str) -> subprocess.CompletedProcess:
    """Run the installed console script."""
    exe = Path(sys.executable).with_name("fieldtheory")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "fieldtheory.cli"]
    return subprocess.run([*command, *argv], capture_output=True, text=True, timeout=120)


# ----------------------------------------------------------------------------- version, help


def test_version(run):
    status, out, _ = run("--version")
    assert status == 0
    assert out.strip() == f"fieldtheory {ft.__version__}"


def test_help_lists_every_registered_command(run):
    status, out, _ = run("--help")
    assert status == 0
    flat = " ".join(out.split())  # argparse wraps long help lines
    for name, command in cli.COMMANDS.items():
        assert name in out
        assert command.help in flat


def test_commands_are_registered_functions():
    assert {"models", "show", "simulate"} <= set(cli.COMMANDS)
    for name, command in cli.COMMANDS.items():
        assert command.name == name
        assert callable(command.run) and callable(command.configure)


def test_a_new_subcommand_is_one_registration(run):
    def configure(parser):
        parser.add_argument("word")

    try:
        @cli.command("echo-test", "repeat a word", configure)
        def echo(args):
            print(args.word)
            return 0

        assert run("echo-test", "hello") == (0, "hello\n", "")
        with pytest.raises(ValueError, match="already registered"):
            cli.command("echo-test", "again")(echo)
    finally:
        cli.COMMANDS.pop("echo-test", None)


# ----------------------------------------------------------------------------- models, show


def test_models_lists_every_shipped_model_with_its_description(run):
    status, out, err = run("models")
    assert status == 0 and err == ""
    lines = out.strip().splitlines()
    assert len(lines) == len(ft.shipped_models())
    for name, line in zip(ft.shipped_models(), lines, strict=True):
        model = ft.load_model(name)
        assert line.split()[0] == name
        assert line.endswith(model.description)


def test_show_prints_the_model(run):
    status, out, err = run("show", "scs")
    assert status == 0 and err == ""
    assert out == str(ft.load_model("scs")) + "\n"


def test_show_latex_prints_the_action(run):
    status, out, _ = run("show", "scs", "--latex")
    assert status == 0
    assert out.startswith("S = ")
    assert r"\tilde{x}" in out and r"\sum_{j}" in out


def test_show_a_model_file(run, tmp_path):
    path = tmp_path / "leaky.py"
    path.write_text(textwrap.dedent("""
        import fieldtheory as ft
        p = ft.parameters(D=(1.0, "nonnegative"))
        x, t = ft.Field("x"), ft.t
        model = ft.Model("leaky", ft.langevin(drift={x: -x(t)}, noise={x: p.D}, parameters=p),
                         "one leaky unit per site")
    """))
    status, out, _ = run("show", str(path))
    assert status == 0
    assert out.startswith("model leaky\n  one leaky unit per site")


def test_a_file_without_a_model_is_refused(run, tmp_path):
    path = tmp_path / "empty.py"
    path.write_text("x = 1\n")
    status, out, err = run("show", str(path))
    assert (status, out) == (2, "")
    assert "does not define `model`" in err


# ----------------------------------------------------------------------------- simulate


def test_simulate_json_is_one_object(run):
    status, out, err = run("simulate", "linear", "-p", "g=sqrt(2)/2", "--seed", "3",
                           "--json", *QUICK)
    assert status == 0
    data = strict_loads(out)  # the whole of stdout: one JSON object and nothing else
    assert out.count("\n") == 1
    assert set(data) == {"model", "params", "N", "observables", "stderr"}
    assert data["model"] == "linear" and data["N"] == 60
    assert data["params"] == {"g": pytest.approx(math.sqrt(2) / 2), "D": 1.0}
    observables = data["observables"]
    assert observables["autocorrelation"]["values"][0] == observables["variance"]
    assert observables["autocorrelation"]["tau"][-1] == pytest.approx(2.0)
    assert set(data["stderr"]) == set(observables)
    assert "simulate" not in err  # no bar: stdout is JSON and stderr is no terminal


def test_simulate_json_matches_the_library(run):
    _, out, _ = run("simulate", "scs", "-p", "g=1.5", "--json", *QUICK)
    result = ft.simulate(ft.load_model("scs"), {"g": 1.5}, N=60, t_max=10, t_burn=2,
                         tau_max=2)
    assert strict_loads(out) == strict_loads(json.dumps(result.to_json()))


def test_simulate_table_with_the_bar_on_stderr(run):
    status, out, err = run("simulate", "ei", *QUICK)
    assert status == 0
    assert out.startswith("model ei, N = 60")
    for key in ("variance", "mean_gain", "autocorrelation:", "population_spectrum:",
                "population E:", "population I:"):
        assert key in out
    assert "simulate ei" in err  # the progress bar's label
    assert "simulate ei" not in out


def test_no_progress(run):
    status, _, err = run("simulate", "linear", "--no-progress", *QUICK)
    assert status == 0 and err == ""


def test_options_reach_the_simulator(run):
    _, out, _ = run("simulate", "map", "--json", "--trials", "2", "--dtau", "1",
                    "--dtype", "float32", *QUICK)
    data = strict_loads(out)
    assert data["observables"]["autocorrelation"]["tau"] == [0.0, 1.0, 2.0]


def test_console_script_json_stdout_is_clean():
    done = console("simulate", "linear", "--json", *QUICK)
    assert done.returncode == 0, done.stderr
    assert set(strict_loads(done.stdout)) == {"model", "params", "N", "observables", "stderr"}


# ----------------------------------------------------------------------------- errors

ERRORS = [
    (["show", "nope"], "unknown model 'nope'"),
    (["simulate", "nope"], "unknown model 'nope'"),
    (["simulate", "scs", "-p", "nope=1"], "unknown parameter 'nope'"),
    (["simulate", "scs", "-p", "g"], "malformed parameter 'g'"),
    (["simulate", "scs", "-p", "g=two"], "'two'"),
    (["simulate", "scs", "-p", "g=-1"], "parameter g = -1"),
    (["simulate", "scs", "-p", "g=1", "-p", "g=2"], "g is given twice"),
    (["simulate", "scs", "-N", "0"], "argument -N: must be a positive integer, got '0'"),
    (["simulate", "scs", "-N", "-5"], "argument -N"),
    (["simulate", "scs", "-N", "1.5"], "argument -N"),
    (["simulate", "scs", "--t-max", "0"], "argument --t-max"),
    (["simulate", "scs", "--dt", "5", "--dtau", "5"], "dt = 5 is unstable"),
    (["simulate", "scs", "--dt", "5"], "dt = 5"),
    (["simulate", "scs", "--dtype", "float16"], "float16"),
    (["simulate", "map", "--method", "rk4"], "method 'rk4'"),
    (["simulate"], "MODEL"),
    (["frobnicate"], "frobnicate"),
    ([], "COMMAND"),
]


@pytest.mark.parametrize(("argv", "fragment"), ERRORS, ids=[" ".join(a) for a, _ in ERRORS])
def test_errors_are_one_line_with_status_2(run, argv, fragment):
    status, out, err = run(*argv)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert fragment in err
    assert "Traceback" not in err


def test_console_script_errors_without_traceback():
    done = console("simulate", "scs", "-p", "nope=1")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "fieldtheory: error: unknown parameter 'nope'; this model has: g, J0, D, I, rho"
    ]


def test_console_script_version():
    done = console("--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"fieldtheory {ft.__version__}")


# ----------------------------------------------------------------------------- formatting


def test_format_result_shows_scalars_and_curve_rows():
    data = {
        "model": "toy", "params": {"g": 2.0}, "N": 10,
        "observables": {"mean": 0.5, "autocorrelation": {"tau": [0, 1, 2], "values": [3, 2, 1]},
                        "populations": {"A": {"variance": 1.25}}},
        "stderr": {"mean": 0.01, "autocorrelation": {"tau": [0, 1, 2], "values": [0.1] * 3},
                   "populations": {"A": {"variance": float("nan")}}},
    }
    text = cli.format_result(data, rows=3)
    assert text.splitlines()[0] == "model toy, N = 10, g = 2"
    assert "mean" in text and "0.01" in text
    assert [line.split() for line in text.splitlines() if line.startswith("   ")][1:4] == [
        ["0", "3", "0.1"], ["1", "2", "0.1"], ["2", "1", "0.1"]]
    assert "population A:" in text and "1.25" in text


# ------------------------------------------------------------------------------- derive


def test_derive_prints_every_stage_in_order(run):
    code, out, err = run("derive", "scs")
    assert code == 0 and not err
    headers = [line for line in out.splitlines() if line.startswith("== ")]
    assert headers == ["== action ==", "== disorder_average ==", "== collective_fields ==",
                       "== saddle_point ==", "== site =="]
    assert "C_tanh(t, s) = ⟨tanh(x(t))*tanh(x(s))⟩" in out


def test_derive_json_has_the_promised_keys(run):
    code, out, _ = run("derive", "ei", "--json")
    data = strict_loads(out)
    assert code == 0
    assert [s["name"] for s in data["stages"]] == [
        "action", "disorder_average", "collective_fields", "saddle_point", "site"]
    assert all(set(s) == {"name", "text", "latex"} for s in data["stages"])
    # two populations: per-population order parameters
    assert {"C_tanh_E(t, s)", "C_tanh_I(t, s)"} <= set(data["order_parameters"])
    assert len(data["self_consistency"]) == len(data["order_parameters"])


def test_derive_latex_and_refusal(run):
    code, out, _ = run("derive", "linear", "--latex")
    assert code == 0 and "% saddle_point" in out and "\\tilde" in out
    code, out, err = run("derive", "random_mode_overlap", "--order", "1/N")
    assert code == 0 and "correlated random modes, every order" in out
    code, out, err = run("derive", "no_such_model", "--order", "1/N")
    assert code == 2 and not out
    assert err.count("\n") == 1 and "no_such_model" in err


# ----------------------------------------------------------------------------- solve methods


def test_solve_method_is_forced_or_refused_in_one_line(run):
    status, out, err = run("solve", "map", "-p", "delta=1", "--method", "map", "--json")
    assert status == 0 and strict_loads(out)["method"] == "map"
    status, out, err = run("solve", "scs", "--method", "map")
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "map" in err and "not available" in err


def test_loop_solution_is_not_labelled_mean_field(run):
    status, out, _ = run("solve", "cubic_unit", "--loops", "1")
    assert status == 0 and "loop expansion" in out and "mean-field" not in out
