"""Golden strings of the text and LaTeX printers (input → exact printed form)."""

from __future__ import annotations

import sympy as sp

import fieldtheory as ft
from fieldtheory.printing import action_latex, action_text, ensemble_text, model_text

x, J, t, n = ft.Field("x"), ft.Coupling("J"), ft.t, ft.n

SCS_TEXT = (
    "S = Σ_i ∫dt [ x̃_i(t)*(-∂_t x_i(t) - x_i(t) + Σ_j J_ij*tanh(x_j(t)) + I)"
    " + (D/2)*x̃_i(t)**2 ]\n"
    "  J_ij ~ N((J0)/N, (g**2)/N), corr(J_ij, J_ji) = rho"
)
SCS_LATEX = (
    r"S = \sum_{i} \int dt\, \left[ \tilde{x}_{i}\left(t\right) \left(- \partial_{t} "
    r"x_{i}\left(t\right) - x_{i}\left(t\right) + \sum_{j} J_{ij} "
    r"\tanh{\left(x_{j}\left(t\right) \right)} + I\right) + \frac{D}{2} \, "
    r"\tilde{x}_{i}\left(t\right)^{2} \right]"
)
MAP_TEXT = (
    "S = Σ_i Σ_n [ x̃_i(n)*(-x_i(n + 1) - delta*x_i(n) + x_i(n)"
    " + delta*Σ_j J_ij*tanh(x_j(n))) + (D*delta/2)*x̃_i(n)**2 ]\n"
    "  J_ij ~ N((0)/N, (g**2)/N)"
)
MAP_LATEX = (
    r"S = \sum_{i} \sum_{n} \left[ \tilde{x}_{i}\left(n\right) \left(- x_{i}\left(n + 1\right)"
    r" - \delta x_{i}\left(n\right) + x_{i}\left(n\right) + \delta \sum_{j} J_{ij} "
    r"\tanh{\left(x_{j}\left(n\right) \right)}\right) + \frac{D \delta}{2} \, "
    r"\tilde{x}_{i}\left(n\right)^{2} \right]"
)


def two_field_action() -> ft.Action:
    """x with a time constant τ driven by y (LaTeX name η), cross-correlated noise."""
    p = ft.parameters(g=(1.5, "positive"), D=(0.5, "nonnegative"), c=0.2, tau=(2.0, "positive"))
    g, D, c, tau = p.symbols
    y = ft.Field("y", latex=r"\eta")
    xt, yt = x.response(t), y.response(t)
    lagrangian = (
        xt * (-tau * sp.Derivative(x(t), t) - x(t) + J @ ft.tanh(y(t)))
        + yt * (-sp.Derivative(y(t), t) - y(t) + c * x(t))
        + D / 2 * xt**2
        + c * xt * yt
    )
    return ft.Action(lagrangian, (x, y), {J: ft.Gaussian(0, g**2)}, p)


def test_scs_action_text_and_latex():
    action = ft.load_model("scs").action
    assert str(action) == SCS_TEXT == action_text(action)
    assert action_latex(action) == SCS_LATEX
    assert action._repr_latex_() == f"$\\displaystyle {SCS_LATEX}$"


def test_model_repr_latex_is_its_action():
    model = ft.load_model("scs")
    assert model._repr_latex_() == f"$\\displaystyle {SCS_LATEX}$"


def test_map_action_text_and_latex():
    action = ft.load_model("map").action
    assert str(action) == MAP_TEXT
    assert action_latex(action) == MAP_LATEX


def test_two_field_action_text_and_latex():
    action = two_field_action()
    # x̃ and ỹ are written with the combining tilde U+0303 (there is no precomposed x̃)
    assert str(action) == (
        "S = Σ_i ∫dt [ x̃_i(t)*(-tau*∂_t x_i(t) - x_i(t) + Σ_j J_ij*tanh(y_j(t)))"
        " + ỹ_i(t)*(-∂_t y_i(t) + c*x_i(t) - y_i(t)) + (D/2)*x̃_i(t)**2"
        " + (c)*x̃_i(t)*ỹ_i(t) ]\n"
        "  J_ij ~ N((0)/N, (g**2)/N)"
    )
    assert action_latex(action) == (
        r"S = \sum_{i} \int dt\, \left[ \tilde{x}_{i}\left(t\right) \left(- \tau \partial_{t} "
        r"x_{i}\left(t\right) - x_{i}\left(t\right) + \sum_{j} J_{ij} "
        r"\tanh{\left({\eta}_{j}\left(t\right) \right)}\right) + \tilde{\eta}_{i}\left(t\right)"
        r" \left(- \partial_{t} {\eta}_{i}\left(t\right) + c x_{i}\left(t\right) - "
        r"{\eta}_{i}\left(t\right)\right) + \frac{D}{2} \, \tilde{x}_{i}\left(t\right)^{2} + c \, "
        r"\tilde{x}_{i}\left(t\right) \tilde{\eta}_{i}\left(t\right) \right]"
    )


def test_point_process_terms_are_printed():
    lam = sp.Symbol("lam", real=True)
    xt = x.response(t)
    action = ft.Action(
        xt * (-sp.Derivative(x(t), t) - x(t)) + (sp.exp(xt) - 1) * lam * x(t),
        (x,),
        (),
        ft.parameters(lam=1.0),
        point_process=(x,),
    )
    assert str(action) == (
        "S = Σ_i ∫dt [ x̃_i(t)*(-∂_t x_i(t) - x_i(t)) + lam*(exp(x̃_i(t)) - 1)*x_i(t) ]"
    )


def test_coupling_sum_prints_site_j_inside():
    expr = J @ ft.tanh(x(t))
    assert ft.text(expr) == "Σ_j J_ij*tanh(x_j(t))"
    assert ft.latex(expr) == r"\sum_{j} J_{ij} \tanh{\left(x_{j}\left(t\right) \right)}"
    # outside the sum the site is i again
    assert ft.text(x(t) * expr) == "x_i(t)*Σ_j J_ij*tanh(x_j(t))"


def test_coupling_sum_of_a_sum_keeps_its_parentheses():
    expr = J @ (x(t) + 1)
    assert ft.text(expr) == "Σ_j J_ij*(x_j(t) + 1)"
    assert ft.latex(expr) == r"\sum_{j} J_{ij} \left(x_{j}\left(t\right) + 1\right)"
    assert ft.text(J @ (-x(t))) == "Σ_j J_ij*(-x_j(t))"
    assert ft.text(J @ (2 * x(t))) == "Σ_j J_ij*2*x_j(t)"


def test_response_field_derivative_and_power():
    assert ft.text(x.response(t)) == "x̃_i(t)"
    assert ft.text(x.response(t) ** 2) == "x̃_i(t)**2"
    assert ft.text(sp.Derivative(x(t), t)) == "∂_t x_i(t)"
    assert ft.latex(x.response(t) ** 2) == r"\tilde{x}_{i}\left(t\right)^{2}"
    assert ft.latex(sp.Derivative(x(t), t)) == r"\partial_{t} x_{i}\left(t\right)"
    assert ft.text(x(n + 1)) == "x_i(n + 1)"


def test_subscripted_names_get_one_subscript_in_latex():
    """J_EE is J_{EE,ij}, not the invalid J_{EE}_{ij}."""
    x_e, J_ee = ft.Field("x_E"), ft.Coupling("J_EE")
    assert ft.latex(x_e(t)) == r"x_{E,i}\left(t\right)"
    assert ft.latex(x_e.response(t)) == r"\tilde{x}_{E,i}\left(t\right)"
    assert ft.latex(J_ee @ x(t)) == r"\sum_{j} J_{EE,ij} x_{j}\left(t\right)"
    assert ft.latex(ft.Field("x1")(t)) == r"x_{1,i}\left(t\right)"
    assert ft.latex(ft.by_population("I_ext", E=1, I=2)) == r"I_{ext,\alpha}"
    assert ft.latex(ft.Field("theta")(t)) == r"\theta_{i}\left(t\right)"


def test_field_latex_name_is_used():
    z = ft.Field("z", latex=r"\zeta")
    assert ft.latex(z(t)) == r"{\zeta}_{i}\left(t\right)"
    assert ft.latex(z.response(t)) == r"\tilde{\zeta}_{i}\left(t\right)"
    assert ft.text(z(t)) == "z_i(t)"


def test_by_population_and_nonlinearities():
    value = ft.by_population("I", E=1, I=2)
    assert ft.text(value) == "I_α" and ft.latex(value) == r"I_{\alpha}"
    assert ft.text(ft.relu(x(t))) == "ReLU(x_i(t))"
    assert ft.latex(ft.relu(x(t))) == r"\operatorname{ReLU}\left(x_{i}\left(t\right)\right)"
    assert ft.text(ft.erf_sqrtpi(x(t))) == "erf(sqrt(pi)*x_i(t)/2)"


def test_ensemble_lines():
    g, J0, rho = sp.symbols("g J0 rho", real=True)
    assert ensemble_text(J, ft.Gaussian(J0, g**2)) == "J_ij ~ N((J0)/N, (g**2)/N)"
    assert ensemble_text(J, ft.Gaussian(0, g**2, rho)).endswith("corr(J_ij, J_ji) = rho")
    rm = ft.load_model("random_mode_overlap").action.ensembles[ft.Coupling("J")]
    assert ensemble_text(J, rm) == (
        "J = Σ_a d_a l_a r_aᵀ, a = 1..M, M = round((alpha)·N), d_a ∝ exp(-beta*(a - 1/2)/M), "
        "(1/N)Σ_a d_a² = (g)², corr(l_a, r_a) = (overlap)·σ_a"
    )
    assert "J: block-structured Gaussian, E->E: N((J0_EE)/N, (g_EE**2)/N); E->I: N((J0_IE)/N" in (
        ensemble_text(J, ft.load_model("ei").action.ensembles[ft.Coupling("J")])
    )


def test_model_text_lists_populations_and_parameters():
    out = model_text(ft.load_model("ei"))
    assert out.startswith("model ei\n  two-population (E/I) random rate network, φ = tanh\n")
    assert "  populations: E (f_E), I (1 - f_E)\n" in out
    assert "  I_E = 0 in (-inf, inf)  input to E" in out
    assert str(ft.load_model("ei")) == out
