"""Resource guards (issue 11.1): sizes, the limit's sources, refusals before the work.

Limits are set small here (kilobytes to megabytes), so no test allocates much: a refused
job must fail before it allocates, and an admitted one runs.
"""

from __future__ import annotations

import pytest

import fieldtheory as ft
from fieldtheory.errors import ParameterError, ResourceError
from fieldtheory.resources import ENVIRONMENT, format_size, limit, memory_limit, parse_size


@pytest.mark.parametrize(("text", "size"), [
    ("512", 512), ("1K", 1024), ("2.5M", int(2.5 * 1024**2)), ("1G", 1024**3),
    ("3gib", 3 * 1024**3), (" 4 KB ", 4096), (1e6, 10**6),
])
def test_sizes_parse(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "-1G", "0", "1X", "nan", "inf", "1e400"])
def test_bad_sizes_are_named(text):
    with pytest.raises(ParameterError, match="memory size"):
        parse_size(text)


def test_the_limit_comes_from_context_then_environment_then_default(monkeypatch):
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    default = limit()
    assert 0 < default <= 8 * 1024**3
    monkeypatch.setenv(ENVIRONMENT, "3M")
    assert limit() == 3 * 1024**2
    with memory_limit("5K"):
        assert limit() == 5 * 1024
    assert limit() == 3 * 1024**2
    monkeypatch.setenv(ENVIRONMENT, "lots")
    with pytest.raises(ParameterError, match=ENVIRONMENT):
        limit()
    assert format_size(1536) == "1.5 KiB"


def test_simulate_refuses_a_network_over_the_limit_before_sampling():
    """N = 2000 in float64: 2000² × (8 + 8) bytes ≈ 61 MiB of couplings alone."""
    with memory_limit("8M"), pytest.raises(ResourceError, match="N = 2000") as caught:
        ft.simulate(ft.load_model("scs"), {"g": 2.0}, N=2000, t_max=10.0)
    assert caught.value.estimate >= 2000**2 * 16 and caught.value.limit == 8 * 1024**2
    with memory_limit("8M"):
        small = ft.simulate(ft.load_model("scs"), {"g": 2.0}, N=100, t_max=5.0)
    assert small.N == 100


def test_simulate_refuses_a_lag_grid_over_the_limit():
    with memory_limit("64M"), pytest.raises(ResourceError, match="lags"):
        ft.simulate(ft.load_model("scs"), {"g": 2.0}, N=50, t_max=1e9, tau_max=1e8,
                    dtau=1e-2)


def test_solve_refuses_a_tau_grid_over_the_limit():
    with memory_limit("64M"), pytest.raises(ResourceError, match="tau_max = 1e\\+10"):
        ft.solve("scs", {"g": 2.0}, tau_max=1e10)


@pytest.mark.parametrize("where", ["before", "after"])
def test_cli_memory_limit_refuses_in_one_line(run, where):
    command = ["simulate", "scs", "-N", "2000", "--t-max", "10"]
    argv = (["--memory-limit", "8M", *command] if where == "before"
            else [*command, "--memory-limit", "8M"])
    status, out, err = run(*argv)
    assert status == 2 and out == ""
    assert "N = 2000" in err and "over the limit of 8 MiB" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_environment_limit_and_bad_sizes(run, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT, "8M")
    status, _, err = run("simulate", "scs", "-N", "2000", "--t-max", "10")
    assert status == 2 and "over the limit of 8 MiB" in err
    status, _, err = run("solve", "scs", "--memory-limit", "lots")
    assert status == 2 and "memory size 'lots'" in err
    status, out, _ = run("solve", "--help")
    assert status == 0 and "--memory-limit" in out and "FIELDTHEORY_MEMORY_LIMIT" in out


def test_diagram_expansions_beyond_the_time_limit_are_refused_at_once(run):
    """φ⁴ at order 20 (about 1e58 labelled graphs) and 1000 loops of the cubic unit."""
    import time

    from fieldtheory.diagrams import perturbative_theory
    from fieldtheory.diagrams.wick import estimated_seconds, expand

    start = time.perf_counter()
    status, out, err = run("diagrams", "phi4_zero_dim", "--order", "20")
    assert status == 2 and out == "" and "over the limit of 3.6e+03 s" in err
    status, _, err = run("solve", "cubic_unit", "--loops", "1000")
    assert status == 2 and "FIELDTHEORY_TIME_LIMIT" in err
    assert time.perf_counter() - start < 30  # refused before the work, not after it
    # the estimate follows the measured growth: order 5 well under a second, 6 a minute
    theory = perturbative_theory("phi4_zero_dim")
    assert estimated_seconds(theory, (), 5, None) < 2 < estimated_seconds(theory, (), 6, None)
    with pytest.raises(ResourceError) as caught:
        expand(theory, (), order=20)
    assert caught.value.estimate > 1e12 and caught.value.limit == 3600


def test_the_time_limit_comes_from_the_environment(monkeypatch):
    from fieldtheory.diagrams import perturbative_theory
    from fieldtheory.diagrams.wick import expand

    monkeypatch.setenv("FIELDTHEORY_TIME_LIMIT", "0.001")
    with pytest.raises(ResourceError, match=r"over the limit of 0\.001 s"):
        expand(perturbative_theory("phi4_zero_dim"), (), order=5)
    monkeypatch.setenv("FIELDTHEORY_TIME_LIMIT", "soon")
    with pytest.raises(ParameterError, match="FIELDTHEORY_TIME_LIMIT"):
        expand(perturbative_theory("phi4_zero_dim"), (), order=6)
