"""``fieldtheory diagrams MODEL --order K [--json] [--latex]`` and drawing diagrams."""

from __future__ import annotations

import sys

import pytest
import sympy as sp
from support.strict_json import strict_loads

from fieldtheory.diagrams import draw, expand, perturbative_theory
from fieldtheory.diagrams.draw import PlotExtraMissing

CUBIC_UNIT = """\
import fieldtheory as ft
p = ft.parameters(a=(0.1, "nonnegative"), D=(1.0, "positive"))
a, D = p.symbols
x, t = ft.Field("x"), ft.t
model = ft.Model("unit", ft.langevin(drift={x: -x(t) - a * x(t) ** 3}, noise={x: D},
                 parameters=p), "one unit with a cubic drift")
"""


def test_json_of_phi4_to_second_order(run):
    status, out, err = run("diagrams", "phi4_zero_dim", "--order", "2", "--json")
    assert status == 0 and err == ""
    data = strict_loads(out)
    assert data["series"] == {"lnZ": ["0", "-1/8", "1/12"], "x2": ["1", "-1/2", "2/3"]}
    rows = [
        (d["external"], d["order"], d["loops"], d["symmetry_factor"], d["expression"])
        for d in data["diagrams"]
    ]
    assert rows == [
        ([], 1, 2, "1/8", "-lambda/8"),  # figure eight
        ([], 2, 3, "1/16", "lambda**2/16"),  # two figure eights joined
        ([], 2, 3, "1/48", "lambda**2/48"),  # the melon
        (["x", "x"], 0, 0, "1", "1"),
        (["x", "x"], 1, 1, "1/2", "-lambda/2"),  # tadpole
        (["x", "x"], 2, 2, "1/4", "lambda**2/4"),
        (["x", "x"], 2, 2, "1/6", "lambda**2/6"),  # sunset
        (["x", "x"], 2, 2, "1/4", "lambda**2/4"),
    ]
    # the ln Z diagrams of order 2 sum to its series term: 1/16 + 1/48 = 1/12
    # (sympy's parser reads `lambda` as the Python keyword: rename before parsing)
    second = sum(
        sp.sympify(d["expression"].replace("lambda", "lam"))
        for d in data["diagrams"]
        if d["external"] == [] and d["order"] == 2
    )
    assert second == sp.Symbol("lam") ** 2 / 12


def test_text_and_latex(run):
    status, out, _ = run("diagrams", "phi4_zero_dim", "--order", "1")
    assert status == 0
    assert "order 1, 1 loop(s), 1/S = 1/2: -lambda/2" in out
    assert "ln Z = (0) + (-lambda/8) + ..." in out
    status, out, _ = run("diagrams", "phi4_zero_dim", "--order", "1", "--latex")
    assert status == 0
    assert r"- \frac{\lambda}{8}" in out
    assert r"\ln Z = 0 - \frac{\lambda}{8} + \dots" in out


def test_dynamic_unit_lists_integrals_and_says_why_there_is_no_series(run, tmp_path):
    path = tmp_path / "unit.py"
    path.write_text(CUBIC_UNIT)
    status, out, _ = run("diagrams", str(path), "--order", "1", "--json")
    assert status == 0
    data = strict_loads(out)
    assert data["series"] == {} and "--loops" in data["series_note"]
    rows = {(tuple(d["external"]), d["order"]): d for d in data["diagrams"]}
    tadpole = rows[(("x", "x~"), 1)]
    assert tadpole["symmetry_factor"] == "1/2"
    assert tadpole["expression"] == (
        "-3*a*Integral(C(s_1, s_1)*R(s_1, t_1)*R(t_0, s_1), (s_1, -oo, oo))"
    )
    assert (("x",), 1) not in rows  # ⟨x⟩ = 0: x → −x symmetry, no odd vertex


def test_refusals_exit_2_naming_the_term(run):
    status, _, err = run("diagrams", "scs", "--order", "1")
    assert status == 2 and "couplings J are present" in err
    status, _, err = run("diagrams", "phi4_zero_dim", "--order", "-1")
    assert status == 2 and "--order" in err


def test_draw_saves_a_figure(tmp_path):
    pytest.importorskip("matplotlib")
    theory = perturbative_theory("phi4_zero_dim")
    sunset = next(
        d for d in expand(theory, ("x", "x"), order=2) if d.symmetry_factor == sp.Rational(1, 6)
    )
    ax = draw(sunset, path=tmp_path / "sunset.png")
    assert (tmp_path / "sunset.png").stat().st_size > 0
    assert "1/S = 1/6" in ax.get_title()


def test_draw_without_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    (free,) = expand(perturbative_theory("phi4_zero_dim"), ("x", "x"), order=0)
    with pytest.raises(PlotExtraMissing, match=r"fieldtheory\[plot\]"):
        draw(free)
