r"""The fluctuation stage: the Hessian of N·S[Q, Q̃] around the saddle point (issue 12).

Golden strings for SCS (mean coupling J0 and partial symmetry ρ are parameters of the
shipped model, so the m, R and response blocks all appear), a hand-derived Hessian for a
test-declared model with two couplings, and the blocks expected of ``ei`` (two
populations) and ``map`` (discrete time).
"""

from __future__ import annotations

import pytest
import sympy as sp
from support.strict_json import strict_loads

import fieldtheory as ft
from fieldtheory.derive import derive
from fieldtheory.errors import ParameterError
from fieldtheory.ir.symbols import Field
from fieldtheory.transforms.fluctuations import GaussianFluctuations, fluctuations
from fieldtheory.transforms.nodes import connected_expectation

STAGES = ["action", "disorder_average", "collective_fields", "saddle_point", "site",
          "fluctuations"]

SCS_GOLDEN = "\n".join([
    'Q = Q* + δQ, Q̃ = Q̃* + δQ̃ around the saddle point;',
    'S = N*S[Q*, Q̃*] + N*S2[δQ, δQ̃] + O(δ³),  S2[δQ, δQ̃] =',
    '    - ∫dt ∫ds δC_tanh(t, s)*δC̃_tanh(t, s)',
    '    - ∫dt δm_tanh(t)*δm̃_tanh(t)',
    '    - ∫dt ∫ds δR_tanh(t, s)*δR̃_tanh(t, s)',
    '    - ∫dt ∫ds δC_x~(t, s)*δC̃_x~(t, s)',
    '    - ∫dt δm_x~(t)*δm̃_x~(t)',
    '    + J0*∫dt δm_tanh(t)*δm_x~(t)',
    '    + (g**2/2)*∫dt ∫ds δC_tanh(t, s)*δC_x~(t, s)',
    '    + (g**2*rho/2)*∫dt ∫ds δR_tanh(s, t)*δR_tanh(t, s)',
    '    + (1/2)*δ²ln Z[δQ̃]',
    'δ²ln Z[δQ̃] =',
    '      ∫dt ∫ds ∫dt3 ∫dt4 ⟨tanh(x(t))*tanh(x(s));'
     ' tanh(x(t3))*tanh(x(t4))⟩_c*δC̃_tanh(t, s)*δC̃_tanh(t3, t4)',
    '    + 2*∫dt ∫ds ∫dt3 ⟨tanh(x(t))*tanh(x(s)); tanh(x(t3))⟩_c*δC̃_tanh(t,'
     ' s)*δm̃_tanh(t3)',
    '    + 2*∫dt ∫ds ∫dt3 ∫dt4 ⟨tanh(x(t))*tanh(x(s));'
     ' tanh(x(t3))*x̃(t4)⟩_c*δC̃_tanh(t, s)*δR̃_tanh(t3, t4)',
    '    + 2*∫dt ∫ds ∫dt3 ∫dt4 ⟨tanh(x(t))*tanh(x(s)); x̃(t3)*x̃(t4)⟩_c*δC̃_tanh(t,'
     ' s)*δC̃_x~(t3, t4)',
    '    + 2*∫dt ∫ds ∫dt3 ⟨tanh(x(t))*tanh(x(s)); x̃(t3)⟩_c*δC̃_tanh(t, s)*δm̃_x~(t3)',
    '    + ∫dt ∫ds ⟨tanh(x(t)); tanh(x(s))⟩_c*δm̃_tanh(t)*δm̃_tanh(s)',
    '    + 2*∫dt ∫ds ∫dt3 ⟨tanh(x(t)); tanh(x(s))*x̃(t3)⟩_c*δm̃_tanh(t)*δR̃_tanh(s, t3)',
    '    + 2*∫dt ∫ds ∫dt3 ⟨tanh(x(t)); x̃(s)*x̃(t3)⟩_c*δm̃_tanh(t)*δC̃_x~(s, t3)',
    '    + 2*∫dt ∫ds ⟨tanh(x(t)); x̃(s)⟩_c*δm̃_tanh(t)*δm̃_x~(s)',
    '    + ∫dt ∫ds ∫dt3 ∫dt4 ⟨tanh(x(t))*x̃(s); tanh(x(t3))*x̃(t4)⟩_c*δR̃_tanh(t,'
     ' s)*δR̃_tanh(t3, t4)',
    '    + 2*∫dt ∫ds ∫dt3 ∫dt4 ⟨tanh(x(t))*x̃(s); x̃(t3)*x̃(t4)⟩_c*δR̃_tanh(t,'
     ' s)*δC̃_x~(t3, t4)',
    '    + 2*∫dt ∫ds ∫dt3 ⟨tanh(x(t))*x̃(s); x̃(t3)⟩_c*δR̃_tanh(t, s)*δm̃_x~(t3)',
    '⟨A; B⟩_c = ⟨A*B⟩ - ⟨A⟩*⟨B⟩ over the single-site process at the saddle point',
    'Hessian blocks, S2 = (1/2) Σ_ab ∫ δQ_a*H_ab*δQ_b (H_ba: times swapped):',
    '  H[δC_tanh, δC_x~](t, s; t3, t4) = (g**2/2)*δ(t - t3)*δ(s - t4)',
    '  H[δC_tanh, δC̃_tanh](t, s; t3, t4) = -δ(t - t3)*δ(s - t4)',
    '  H[δm_tanh, δm_x~](t; s) = J0*δ(t - s)',
    '  H[δm_tanh, δm̃_tanh](t; s) = -δ(t - s)',
    '  H[δR_tanh, δR_tanh](t, s; t3, t4) = g**2*rho*δ(t - t4)*δ(s - t3)',
    '  H[δR_tanh, δR̃_tanh](t, s; t3, t4) = -δ(t - t3)*δ(s - t4)',
    '  H[δC_x~, δC̃_x~](t, s; t3, t4) = -δ(t - t3)*δ(s - t4)',
    '  H[δm_x~, δm̃_x~](t; s) = -δ(t - s)',
    '  H[δC̃_tanh, δC̃_tanh](t, s; t3, t4) = ⟨tanh(x(t))*tanh(x(s));'
     ' tanh(x(t3))*tanh(x(t4))⟩_c',
    '  H[δC̃_tanh, δm̃_tanh](t, s; t3) = ⟨tanh(x(t))*tanh(x(s)); tanh(x(t3))⟩_c',
    '  H[δC̃_tanh, δR̃_tanh](t, s; t3, t4) = ⟨tanh(x(t))*tanh(x(s));'
     ' tanh(x(t3))*x̃(t4)⟩_c',
    '  H[δC̃_tanh, δC̃_x~](t, s; t3, t4) = ⟨tanh(x(t))*tanh(x(s)); x̃(t3)*x̃(t4)⟩_c',
    '  H[δC̃_tanh, δm̃_x~](t, s; t3) = ⟨tanh(x(t))*tanh(x(s)); x̃(t3)⟩_c',
    '  H[δm̃_tanh, δm̃_tanh](t; s) = ⟨tanh(x(t)); tanh(x(s))⟩_c',
    '  H[δm̃_tanh, δR̃_tanh](t; s, t3) = ⟨tanh(x(t)); tanh(x(s))*x̃(t3)⟩_c',
    '  H[δm̃_tanh, δC̃_x~](t; s, t3) = ⟨tanh(x(t)); x̃(s)*x̃(t3)⟩_c',
    '  H[δm̃_tanh, δm̃_x~](t; s) = ⟨tanh(x(t)); x̃(s)⟩_c',
    '  H[δR̃_tanh, δR̃_tanh](t, s; t3, t4) = ⟨tanh(x(t))*x̃(s); tanh(x(t3))*x̃(t4)⟩_c',
    '  H[δR̃_tanh, δC̃_x~](t, s; t3, t4) = ⟨tanh(x(t))*x̃(s); x̃(t3)*x̃(t4)⟩_c',
    '  H[δR̃_tanh, δm̃_x~](t, s; t3) = ⟨tanh(x(t))*x̃(s); x̃(t3)⟩_c',
])


def two_couplings() -> ft.Model:
    """∂_t x_i = −x_i + Σ_j J_ij tanh(x_j) + Σ_j K_ij x_j, J_ij ~ N(0, g²/N), K_ij ~ N(0, k²/N)."""
    p = ft.parameters(g=(1.5, "positive", "Var J_ij = g²/N"),
                      k=(0.5, "positive", "Var K_ij = k²/N"))
    g, k = p.symbols
    x, J, K, t = ft.Field("x"), ft.Coupling("J"), ft.Coupling("K"), ft.t
    action = ft.langevin(
        drift={x: -x(t) + J @ ft.tanh(x(t)) + K @ x(t)},
        couplings={J: ft.Gaussian(variance=g**2), K: ft.Gaussian(variance=k**2)},
        parameters=p,
    )
    return ft.Model("two_couplings", action, "J tanh x + K x drives")


def test_scs_stage_prints_the_golden_quadratic_form_and_blocks():
    d = derive("scs", order="1/N")
    assert [s.name for s in d.stages] == STAGES
    assert d.stage("fluctuations").text == SCS_GOLDEN
    assert d.stage("fluctuations").text == str(d.fluctuations)


def test_hand_derived_hessian_of_two_couplings():
    r"""Two couplings, J + K, against the Hessian derived by hand.

    Averaging J and K (independent, zero mean, variances g²/N and k²/N) gives
    (g²/2N) Σ_ij ∫∫ x̃_i x̃_i tanh_j tanh_j + (k²/2N) Σ_ij ∫∫ x̃_i x̃_i x_j x_j, so the order
    parameters are C_tanh, C_x = (1/N) Σ x x and C_x~ = (1/N) Σ x̃ x̃, and

        S = −Σ_Q ∫∫ Q̃ Q + (g²/2) ∫∫ C_tanh C_x~ + (k²/2) ∫∫ C_x C_x~ + ln Z[Q̃],
        Z[Q̃] = ∫Dx Dx̃ exp(∫x̃(−∂x − x) + ∫∫ [C̃_tanh tanh tanh + C̃_x x x + C̃_x~ x̃ x̃]).

    Second derivatives at (t, s) and (t3, t4), δ² = δ(t − t3) δ(s − t4):
    δ²/δQ δQ̃ of −∫∫ Q̃ Q is −δ² for each of the three; δ²/δC_tanh δC_x~ = (g²/2) δ²,
    δ²/δC_x δC_x~ = (k²/2) δ²; no other pair of Q's meets in one term. ln Z is linear
    in Q̃ in its exponent, so δ² ln Z/δQ̃_a δQ̃_b = ⟨O_a; O_b⟩_c with O_tanh = tanh(x(t))
    tanh(x(s)), O_x = x(t) x(s), O_x~ = x̃(t) x̃(s); ⟨x̃x̃; x̃x̃⟩_c = 0 (response fields
    only), so of the six (Q̃, Q̃) pairs five remain. Eleven blocks in all, ten nonzero.
    """
    model = two_couplings()
    f = derive(model, order="1/N").fluctuations
    t, s, t3, t4 = sp.symbols("t s t3 t4", real=True)
    x = Field("x")
    delta2 = sp.DiracDelta(t - t3) * sp.DiracDelta(s - t4)
    g, k = model.action.parameters.symbols
    site = {"C̃_tanh": sp.tanh(x(t)) * sp.tanh(x(s)), "C̃_x": x(t) * x(s),
            "C̃_x~": x.response(t) * x.response(s)}

    def at(observable):  # the same observable at (t3, t4)
        return observable.xreplace({t: t3, s: t4})

    expected = {
        ("C_tanh", "C̃_tanh"): -delta2, ("C_x", "C̃_x"): -delta2, ("C_x~", "C̃_x~"): -delta2,
        ("C_tanh", "C_x~"): g**2 / 2 * delta2, ("C_x", "C_x~"): k**2 / 2 * delta2,
    }
    names = list(site)
    for a, first in enumerate(names):
        for second in names[a:]:
            if {first, second} != {"C̃_x~"}:
                expected[(first, second)] = connected_expectation(site[first],
                                                                  at(site[second]), "all")
    assert len(expected) == 10
    found = {(b.row.name, b.column.name): b for b in f.blocks}
    assert set(found) == set(expected)
    for key, kernel in expected.items():
        block = found[key]
        assert (block.row_times, block.column_times) == ((t, s), (t3, t4)), key
        assert sp.simplify(block.kernel - kernel) == 0, key
    # the explicit part holds no cumulant, the single-site part no δ function
    assert found[("C_x", "C_x~")].single_site == 0
    assert found[("C̃_x", "C̃_x")].explicit == 0
    # a block below the diagonal comes back transposed; a vanishing block is None
    lower = f.block("C_x~", "C_x")
    assert (lower.row.name, lower.column.name) == ("C_x~", "C_x")
    assert (lower.row_times, lower.column_times) == ((t3, t4), (t, s))
    assert f.block("C̃_x~", "C̃_x~") is None and f.block("C_tanh", "C_x") is None
    assert f.block(("C_x", "all"), ("C_x~", "all")) is found[("C_x", "C_x~")]
    assert set(f.blocks_by_key()) == {((r, "all"), (c, "all")) for r, c in expected}


def test_quadratic_form_of_two_couplings_is_the_explicit_part_at_second_order():
    text = derive(two_couplings(), order="1/N").stage("fluctuations").text
    lines = text.splitlines()
    assert lines[2:9] == [
        "    - ∫dt ∫ds δC_tanh(t, s)*δC̃_tanh(t, s)",
        "    - ∫dt ∫ds δC_x(t, s)*δC̃_x(t, s)",
        "    - ∫dt ∫ds δC_x~(t, s)*δC̃_x~(t, s)",
        "    + (g**2/2)*∫dt ∫ds δC_tanh(t, s)*δC_x~(t, s)",
        "    + (k**2/2)*∫dt ∫ds δC_x(t, s)*δC_x~(t, s)",
        "    + (1/2)*δ²ln Z[δQ̃]",
        "δ²ln Z[δQ̃] =",
    ]
    assert ("    + 2*∫dt ∫ds ∫dt3 ∫dt4 ⟨tanh(x(t))*tanh(x(s)); x(t3)*x(t4)⟩_c"
            "*δC̃_tanh(t, s)*δC̃_x(t3, t4)") in lines


def test_partial_symmetry_and_mean_coupling_blocks_of_scs():
    f = derive("scs", order="1/N").fluctuations
    t, s, t3, t4 = sp.symbols("t s t3 t4", real=True)
    g, j0, _, _, rho = f.collective.action.parameters.symbols
    # ∫∫ R(s, t) R(t, s) differentiated twice: both orders of the occurrences
    assert f.block("R_tanh", "R_tanh").kernel == (
        g**2 * rho * sp.DiracDelta(t - t4) * sp.DiracDelta(s - t3))
    assert f.block("m_tanh", "m_x~").kernel == j0 * sp.DiracDelta(t - s)
    assert f.block("R̃_tanh", "R̃_tanh").single_site != 0
    assert len(f.blocks) == 8 + 12  # 5 (Q, Q̃) + 3 couplings; 15 (Q̃, Q̃) pairs less 3


def test_two_populations_have_per_population_blocks():
    d = derive("ei", order="1/N")
    f = d.fluctuations
    keys = set(f.blocks_by_key())
    (f_e,) = {sym for sym in f.blocks[0].kernel.free_symbols if str(sym) == "f_E"}
    for population, weight in (("E", -f_e), ("I", f_e - 1)):
        for name in ("C_tanh", "m_tanh", "C_x~", "m_x~"):
            q = f"{name}_{population}"
            conjugate = f.field(q, population).order_parameter.conjugate_function.text_name
            block = f.block(q, conjugate)
            assert sp.simplify(block.kernel.as_independent(sp.DiracDelta)[0] - weight) == 0
            assert ((q, population), (conjugate, population)) in keys
    # couplings between the populations: E → I drives C_x~_I with C_tanh_E
    assert f.block("C_tanh_E", "C_x~_I").explicit != 0
    assert f.block("m_tanh_I", "m_x~_E").explicit != 0
    # cumulants only within a population
    assert f.block("C̃_tanh_E", "C̃_tanh_E").single_site != 0
    assert f.block("C̃_tanh_E", "C̃_tanh_I") is None
    assert f.block("C̃_x~_E", "C̃_x~_E") is None
    assert len(f.blocks) == 16 + 14


def test_map_blocks_use_kronecker_deltas():
    f = derive("map", order="1/N").fluctuations
    n, m, n3, n4 = sp.symbols("n m n3 n4", integer=True)
    assert [(b.row.name, b.column.name) for b in f.blocks] == [
        ("C_tanh", "C_x~"), ("C_tanh", "C̃_tanh"), ("C_x~", "C̃_x~"),
        ("C̃_tanh", "C̃_tanh"), ("C̃_tanh", "C̃_x~")]
    kernel = f.blocks[0].kernel
    assert kernel.has(sp.KroneckerDelta) and not kernel.has(sp.DiracDelta)
    assert kernel.free_symbols >= {n, m, n3, n4}
    assert "Σ_n Σ_m δC_tanh(n, m)*δC̃_tanh(n, m)" in str(f)


def test_default_derivation_is_unchanged_and_order_is_checked():
    plain = derive("scs")
    assert [s.name for s in plain.stages] == STAGES[:-1] and plain.fluctuations is None
    assert "fluctuations" not in plain.to_json()
    assert derive("scs", order="1/N").stages[:-1] == plain.stages
    with pytest.raises(ParameterError, match="order"):
        derive("scs", order="1/N^2")


def test_stage_is_a_pure_function_of_the_stages_and_hashable():
    d = derive("ei", order="1/N")
    again = fluctuations(d.collective, d.mean_field)
    assert isinstance(again, GaussianFluctuations) and again == d.fluctuations
    assert hash(again) == hash(d.fluctuations)
    assert d.stage("fluctuations").latex == again.latex()
    assert again._repr_latex_().startswith("$\\displaystyle S = N\\,S[Q^*")
    assert r"\left\langle \tanh" in again.latex() and r"\rangle_{c,E}" in again.latex()


def test_json_and_cli_include_the_stage(run):
    d = derive("map", order="1/N")
    payload = strict_loads(d.dumps())
    assert [s["name"] for s in payload["stages"]] == STAGES
    assert payload["fluctuations"]["blocks"][0] == {
        "row": "C_tanh", "column": "C_x~", "row_population": "all",
        "column_population": "all", "row_times": ["n", "m"], "column_times": ["n3", "n4"],
        "explicit": "(delta**2*g**2/2)*δ(n, n3)*δ(m, n4)", "single_site": "0"}
    status, out, _ = run("derive", "scs", "--order", "1/N")
    assert status == 0 and out.rstrip("\n").endswith(SCS_GOLDEN)
    assert "== fluctuations ==" in out
    status, out, _ = run("derive", "map", "--order", "1/N", "--json")
    assert status == 0 and strict_loads(out)["fluctuations"] == payload["fluctuations"]
    status, out, _ = run("derive", "map")
    assert status == 0 and "fluctuations" not in out


def test_a_model_without_couplings_has_no_collective_fluctuations():
    f = derive("cubic_unit", order="1/N").fluctuations
    assert f.fields == () and f.blocks == () and f.quadratic_form == 0
    assert str(f) == "order parameters: none, so no collective fluctuations: S2[δQ, δQ̃] = 0"
