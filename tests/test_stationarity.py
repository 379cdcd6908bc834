"""Linear networks beyond their stability edge have no stationary state (issue 11.1): the
one-φ runtimes refuse them at once, by name, instead of growing without bound.

In leak units the bulk of the spectrum of J φ' is the disk of radius g|φ'| (circular law)
and the mean coupling adds an outlier at J0 φ'; a stationary state needs both below 1
(the same bounds hold for maps with a step δ ∈ (0, 1]).
"""

from __future__ import annotations

import pytest

import fieldtheory as ft
from fieldtheory.errors import ParameterError

x, J = ft.Field("x"), ft.Coupling("J")


def linear_map() -> ft.Model:
    p = ft.parameters(g=(0.5, "positive"), J0=0.0, D=(0.1, "nonnegative"))
    g, J0, D = p.symbols
    n = ft.n
    return ft.Model("linear_map", ft.langevin(
        {x: 0.5 * x(n) + 0.5 * (J @ x(n))}, {x: D}, {J: ft.Gaussian(J0, 4 * g**2)}, p,
        time=ft.discrete(step=0.5)), "linear map, gain 2g")


@pytest.mark.parametrize(("values", "message"), [
    ({"g": 0.5}, "g·|φ'| = 1 ≥ 1"),
    ({"g": 0.6}, "g·|φ'| = 1.2 ≥ 1"),
    ({"g": 0.1, "J0": 1.0}, "J0·φ' = 1 ≥ 1"),
])
def test_a_linear_map_beyond_its_edge_is_refused(values, message):
    with pytest.raises(ParameterError, match=message.replace("|", r"\|")):
        ft.solve(linear_map(), values)


def test_a_linear_map_inside_its_edge_solves():
    result = ft.solve(linear_map(), {"g": 0.4, "J0": 0.5})
    assert result.method == "map" and result.observables.variance > 0


@pytest.mark.parametrize(("g", "message"), [(3.0, "g·|φ'| = 3 ≥ 1"),
                                            (1.0001, "g·|φ'| = 1.0001 ≥ 1"),
                                            (1.0, "g·|φ'| = 1 ≥ 1")])
def test_the_shipped_linear_network_beyond_its_edge_is_refused_at_once(g, message):
    """``fieldtheory solve linear -p g=3`` used to grow to 24 GB; now one line, status 2."""
    with pytest.raises(ParameterError, match=message.replace("|", r"\|")):
        ft.solve("linear", {"g": g})


def test_cli_says_so_in_one_line(run):
    status, out, err = run("solve", "linear", "-p", "g=3")
    assert status == 2 and out == ""
    assert "no stationary state" in err and len(err.strip().splitlines()) == 1
