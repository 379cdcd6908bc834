"""Hostile command lines, issue 11.4, 11.5 and 11.9: output paths and optional extras
checked before the work; exit statuses with one meaning each; seeds of any size.

Every refusal is one line on stderr, status 2, no traceback; the work (a simulation, a
sweep, a verify) is replaced by a function that fails the test if it is ever reached.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import fieldtheory as ft
import fieldtheory.cli.models
from fieldtheory.errors import MissingDependencyError, ParameterError
from fieldtheory.simulate.network import check_seed, trial_generators
from fieldtheory.verify import Comparison, Report, plot_report

ROOT = Path(__file__).resolve().parents[2]


def refusal(err: str) -> str:
    assert "Traceback" not in err, err
    assert err.count("\n") == 1, err
    return err


@pytest.fixture
def no_work(monkeypatch):
    """verify, sweep and simulate fail the test if they start."""

    def boom(*args, **kwargs):
        raise AssertionError("the work started before the arguments were checked")

    monkeypatch.setattr(sys.modules["fieldtheory.verify"], "verify", boom)
    monkeypatch.setattr(sys.modules["fieldtheory.sweep"], "sweep", boom)
    monkeypatch.setattr(fieldtheory.cli.simulation, "simulate", boom)
    monkeypatch.setattr("fieldtheory.codegen.generate.generate", boom)


# --------------------------------------------------------------- 11.4 output paths, extras

PLOTTING = [["verify", "scs", "--plot"], ["sweep", "scs", "-p", "g=1:2:2", "--plot"]]
WRITING = [*PLOTTING, ["codegen", "scs", "-o"]]


@pytest.mark.parametrize("argv", WRITING, ids=lambda a: a[0])
@pytest.mark.parametrize("where, words", [
    ("missing/figure.png", "no such folder"),
    (".", "it is a directory"),
    ("a_file/figure.png", "is not a folder"),
])
def test_unwritable_outputs_are_refused_before_the_work(run, no_work, tmp_path, argv, where,
                                                        words):
    (tmp_path / "a_file").write_text("")
    target = str(tmp_path / where)
    status, out, err = run(*argv, target)
    assert status == 2 and out == ""
    assert f"cannot write {target}" in refusal(err) and words in err


@pytest.mark.parametrize("argv", WRITING, ids=lambda a: a[0])
def test_a_place_without_write_permission_is_refused(run, no_work, tmp_path, monkeypatch, argv):
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    status, _, err = run(*argv, str(tmp_path / "figure.png"))
    assert status == 2 and "permission denied" in refusal(err)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused(run, no_work, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    status, _, err = run("codegen", "scs", "-o", str(folder / "solver.py"))
    assert status == 2 and "permission denied" in refusal(err)


@pytest.mark.parametrize("argv", PLOTTING, ids=lambda a: a[0])
def test_plot_without_matplotlib_is_refused_before_the_work(run, no_work, tmp_path,
                                                             monkeypatch, argv):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    status, out, err = run(*argv, str(tmp_path / "figure.png"))
    assert status == 2 and out == ""
    assert "--plot needs matplotlib" in refusal(err) and "fieldtheory[plot]" in err


def test_the_library_plot_without_matplotlib_raises_by_name(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match="matplotlib"):
        plot_report(None, None, str(tmp_path / "figure.png"))


@pytest.mark.parametrize("argv", PLOTTING, ids=lambda a: a[0])
def test_a_figure_format_matplotlib_cannot_write_is_refused(run, no_work, tmp_path, argv):
    status, _, err = run(*argv, str(tmp_path / "figure.xyz"))
    assert status == 2 and "matplotlib writes no .xyz figures" in refusal(err)


def test_the_model_file_is_never_overwritten(run, no_work, tmp_path):
    """(``--plot`` cannot name it: matplotlib writes no .py figures.)"""
    model = tmp_path / "mine.py"
    shutil.copy(ROOT / "models" / "linear.py", model)
    before = model.read_bytes()
    status, _, err = run("codegen", str(model), "-o", str(tmp_path / "." / "mine.py"))
    assert status == 2 and "refusing to overwrite the model file" in refusal(err)
    assert model.read_bytes() == before


def test_codegen_writes_where_it_may(run, tmp_path):
    target = tmp_path / "solver.py"
    status, out, err = run("codegen", "linear", "-o", str(target))
    assert status == 0 and out == "" and "wrote" in err
    assert "linear" in target.read_text()[:400]


# ----------------------------------------------------------------------- 11.5 exit statuses


def test_help_documents_the_exit_statuses(run):
    for argv in (["--help"], ["verify", "--help"], ["simulate", "--help"]):
        status, out, _ = run(*argv)
        assert status == 0 and "exit statuses:" in out
        for code, words in (("0", "success"), ("1", "verify: a comparison failed"),
                            ("2", "bad input"), ("3", "a bug"), ("130", "interrupted")):
            assert any(line.split()[:1] == [code] and words in line
                       for line in out.splitlines()), (code, out)


def test_a_bug_exits_3_with_its_traceback(run, monkeypatch):
    def broken():
        raise ZeroDivisionError("a bug in the library")

    monkeypatch.setattr(fieldtheory.cli.models, "shipped_models", broken)
    status, out, err = run("models")
    assert status == 3 and out == ""
    assert "Traceback" in err and "ZeroDivisionError: a bug in the library" in err
    assert "internal error" in err.strip().splitlines()[-1]


def test_sys_exit_inside_a_command_is_a_bug_not_a_status(run, monkeypatch):
    monkeypatch.setattr(fieldtheory.cli.models, "shipped_models", lambda: sys.exit(0))
    status, _, err = run("models")
    assert status == 3 and "SystemExit" in err


def test_ctrl_c_exits_130_quietly(run, monkeypatch):
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(fieldtheory.cli.models, "shipped_models", interrupted)
    status, _, err = run("models")
    assert status == 130 and err == "fieldtheory: interrupted\n"


@pytest.mark.parametrize("argv, words", [
    (["simulate", "scs", "-N", "0"], "argument -N: must be a positive integer"),
    (["frobnicate"], "invalid choice"),
    (["simulate", "scs", "-p", "g=-1"], "fieldtheory: error: "),
])
def test_bad_input_exits_2_in_one_line(run, argv, words):
    status, out, err = run(*argv)
    assert status == 2 and out == "" and words in refusal(err)


def report(*zs):
    return Report(tuple(Comparison("variance", None, 1.0, 1.0 + z, 1.0) for z in zs))


@pytest.mark.parametrize("zs, expected", [((0.5, -1.0), 0), ((0.5, 9.0), 1),
                                          ((0.5, float("nan")), 1)])
def test_verify_exits_1_only_when_a_comparison_fails(run, monkeypatch, zs, expected):
    fake = SimpleNamespace(params={}, N=10, trials=2, branch="fixed_point")
    monkeypatch.setattr(sys.modules["fieldtheory.verify"], "verify",
                        lambda *a, **k: (report(*zs), fake, fake))
    status, out, _ = run("verify", "linear")
    assert status == expected and ("PASS" if expected == 0 else "FAIL") in out


def test_verify_with_nothing_compared_is_an_error_not_a_failure(run, monkeypatch):
    fake = SimpleNamespace(params={}, N=10, trials=2, branch="fixed_point")
    monkeypatch.setattr(sys.modules["fieldtheory.verify"], "verify",
                        lambda *a, **k: (report(), fake, fake))
    status, _, err = run("verify", "linear")
    assert status == 2 and "no observable to compare" in refusal(err)


def test_a_nan_comparison_never_passes():
    assert not report(0.1, float("nan")).passed and not report(float("nan"), 0.1).passed
    assert report(0.1, -0.2).passed


def test_a_broken_pipe_ends_quietly_with_status_0():
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes anything
    try:
        done = subprocess.run([sys.executable, "-m", "fieldtheory.cli", "models"], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert done.returncode == 0 and done.stderr == ""


# -------------------------------------------------------------------------------- 11.9 seeds

#: Recorded before seeds were read as exact integers: trials 2, N = 30, scs at g = 1.5; the
#: variance and mean of each seed, bit for bit (``float.hex``).
SMALL_SEED_STREAMS = {
    0: ("0x1.c3e4551007d1ap-2", "0x1.094a5141125d8p-8"),
    1: ("0x1.391f90bab511cp-2", "0x1.7836e22dbb95fp-3"),
    7: ("0x1.86ff2348d36e8p-3", "0x1.cae1c3473b9f0p-8"),
    12345: ("0x1.0ad9873cc25a8p-2", "-0x1.45926212dee73p-7"),
    2**31 + 5: ("0x1.fa9703ddf27d7p-2", "-0x1.611e350c2bcd4p-4"),
}
CLI_RUN = ["simulate", "scs", "-N", "30", "--t-max", "8", "--t-burn", "1", "--dt", "0.05",
           "--tau-max", "1", "--dtau", "0.5", "--trials", "2", "--json", "--no-progress"]


@pytest.mark.parametrize("seed", sorted(SMALL_SEED_STREAMS))
def test_small_seeds_give_the_same_streams_as_before(seed):
    result = ft.simulate("scs", {"g": 1.5}, N=30, t_max=4, t_burn=1, dt=0.05, tau_max=1,
                         dtau=0.5, seed=seed, trials=2)
    assert (result.observables["variance"].hex(),
            result.observables["mean"].hex()) == SMALL_SEED_STREAMS[seed]


def test_the_command_line_seed_stream_is_unchanged(run):
    from support.strict_json import strict_loads

    status, out, _ = run(*CLI_RUN, "--seed", "3")
    assert status == 0
    assert strict_loads(out)["observables"]["variance"].hex() == "0x1.5206be5e6a5b7p+0"


def test_seeds_beyond_2_53_stay_distinct_on_the_command_line(run):
    from support.strict_json import strict_loads

    variances = []
    for seed in ("9007199254740992", "9007199254740993", "123456789012345678901234567890"):
        status, out, _ = run(*CLI_RUN, "--seed", seed)
        assert status == 0
        variances.append(strict_loads(out)["observables"]["variance"])
    assert len(set(variances)) == 3
    # the value recorded before the fix, when 2**53 + 1 was read as 2**53
    assert variances[0].hex() == "0x1.8389640ded782p+0" != variances[1].hex()


def test_seeds_of_any_size_give_distinct_generators():
    draws = {seed: trial_generators(seed, 2)[1].standard_normal(4).tobytes()
             for seed in (2**53, 2**53 + 1, 10**30, 10**30 + 1, 2**64, 2**64 + 1)}
    assert len(set(draws.values())) == len(draws)
    assert check_seed(np.uint64(2**63 + 1)) == 2**63 + 1


@pytest.mark.parametrize("seed, error, words", [
    (1e20, ParameterError, "beyond 2\\*\\*53"), (2.5, ParameterError, "must be an integer"),
    (-1, ParameterError, "at least 0"), ("3", TypeError, "non-negative integer"),
    (True, TypeError, "non-negative integer"),
])
def test_seeds_that_cannot_be_exact_are_refused(seed, error, words):
    with pytest.raises(error, match=words):
        check_seed(seed)
    assert check_seed(5.0) == 5


@pytest.mark.parametrize("text, words", [
    ("2**60", "beyond 2**53"), ("-1", "must be an integer ≥ 0"), ("1.5", "must be an integer"),
    ("1" * 5000, "cannot read"),
])
def test_command_line_seeds_that_cannot_be_read_exactly(run, no_work, text, words):
    status, _, err = run("simulate", "scs", "--seed", text)
    assert status == 2 and words in refusal(err)
