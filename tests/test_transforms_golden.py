"""Golden strings: every printed stage of the SCS derivation (J0, D, I and rho symbolic).

rho is a symbol in the shipped model, so the partially symmetric term is kept: a symbol
may take any value of its domain, and the derivation must hold for all of them. The
response-function self-coupling g²ρ∫ds R(t,s) tanh(x(s)) therefore appears, and with it
the single-site process is non-Gaussian (tanh of the site's own past); at rho = 0 the term
is absent and the process is Gaussian (tests/test_transforms_saddle_point.py).
"""

from __future__ import annotations

import fieldtheory as ft
from fieldtheory.transforms import collective_fields, disorder_average, saddle_point

AVERAGED = """\
S = Σ_i ∫dt [ x̃_i(t)*(-∂_t x_i(t) - x_i(t) + I) + (D/2)*x̃_i(t)**2 ]
  + (J0/N) Σ_i Σ_j ∫dt x̃_i(t)*tanh(x_j(t))
  + (g**2/(2*N)) Σ_i Σ_j ∫dt ∫ds x̃_i(t)*x̃_i(s)*tanh(x_j(t))*tanh(x_j(s))
  + (g**2*rho/(2*N)) Σ_i Σ_j ∫dt ∫ds x̃_i(t)*tanh(x_i(s))*tanh(x_j(t))*x̃_j(s)"""

COLLECTIVE = """\
order parameters:
  C_tanh(t, s) = (1/N) Σ_j tanh(x_j(t))*tanh(x_j(s))
  m_tanh(t) = (1/N) Σ_j tanh(x_j(t))
  R_tanh(t, s) = (1/N) Σ_j tanh(x_j(t))*x̃_j(s)
  C_x~(t, s) = (1/N) Σ_j x̃_j(t)*x̃_j(s)
  m_x~(t) = (1/N) Σ_j x̃_j(t)
S = N*S[Q, Q̃],  S[Q, Q̃] =
    - ∫dt ∫ds C̃_tanh(t, s)*C_tanh(t, s)
    - ∫dt m̃_tanh(t)*m_tanh(t)
    - ∫dt ∫ds R̃_tanh(t, s)*R_tanh(t, s)
    - ∫dt ∫ds C̃_x~(t, s)*C_x~(t, s)
    - ∫dt m̃_x~(t)*m_x~(t)
    + J0*∫dt m_tanh(t)*m_x~(t)
    + (g**2/2)*∫dt ∫ds C_tanh(t, s)*C_x~(t, s)
    + (g**2*rho/2)*∫dt ∫ds R_tanh(s, t)*R_tanh(t, s)
    + ln Z[Q̃]
Z[Q̃] = ∫Dx Dx̃ exp(
      ∫dt [x̃(t)*(-∂_t x(t) - x(t) + I) + (D/2)*x̃(t)**2]
    + ∫dt m̃_tanh(t)*tanh(x(t))
    + ∫dt m̃_x~(t)*x̃(t)
    + ∫dt ∫ds C̃_tanh(t, s)*tanh(x(t))*tanh(x(s))
    + ∫dt ∫ds C̃_x~(t, s)*x̃(t)*x̃(s)
    + ∫dt ∫ds R̃_tanh(t, s)*tanh(x(t))*x̃(s)
)"""

MEAN_FIELD = """\
self-consistency:
  C_tanh(t, s) = ⟨tanh(x(t))*tanh(x(s))⟩
  m_tanh(t) = ⟨tanh(x(t))⟩
  R_tanh(t, s) = ⟨tanh(x(t))*x̃(s)⟩
vanishing (response fields only):
  C_x~(t, s) = 0
  m_x~(t) = 0
conjugate fields:
  C̃_tanh(t, s) = 0
  m̃_tanh(t) = 0
  R̃_tanh(t, s) = g**2*rho*R_tanh(s, t)
  C̃_x~(t, s) = (g**2/2)*C_tanh(t, s)
  m̃_x~(t) = J0*m_tanh(t)
single-site process (continuous time, non-Gaussian):
  ∂_t x(t) = -x(t) + I + J0*m_tanh(t) + g**2*rho*∫ds R_tanh(t, s)*tanh(x(s)) + η(t)
  ⟨η(t)η(s)⟩ = D*δ(t - s) + g**2*C_tanh(t, s)"""

MEAN_FIELD_LATEX_TAIL = (
    r"\partial_{t} x\left(t\right) = -x\left(t\right) + I + J_{0} m_{\tanh}\left(t\right)"
    r" + g^{2} \rho \int ds\, R_{\tanh}\left(t, s\right) \tanh{\left(x\left(s\right) \right)}"
    r" + \eta\left(t\right) \\" "\n"
    r"\left\langle \eta\left(t\right) \eta\left(s\right) \right\rangle = D \delta\left(t - s"
    r"\right) + g^{2} C_{\tanh}\left(t, s\right)"
)

COLLECTIVE_LATEX_HEAD = (
    r"C_{\tanh}\left(t, s\right) = \frac{1}{N} \sum_{j} \tanh{\left(x_{j}\left(t\right) "
    r"\right)} \tanh{\left(x_{j}\left(s\right) \right)} \\"
)


def scs_stages():
    action = ft.load_model("scs").action
    averaged = disorder_average(action)
    collective = collective_fields(averaged)
    return averaged, collective, saddle_point(collective)


def test_disorder_average_text():
    averaged, _, _ = scs_stages()
    assert str(averaged) == AVERAGED


def test_collective_fields_text():
    _, collective, _ = scs_stages()
    assert str(collective) == COLLECTIVE


def test_saddle_point_text():
    _, _, mean_field = scs_stages()
    assert str(mean_field) == MEAN_FIELD


def test_latex_forms():
    averaged, collective, mean_field = scs_stages()
    assert mean_field.latex().endswith(MEAN_FIELD_LATEX_TAIL)
    assert collective.latex().startswith(COLLECTIVE_LATEX_HEAD)
    assert averaged.latex().splitlines()[1] == (
        r"+ \frac{J_{0}}{N} \sum_{i} \sum_{j} \int dt\, \tilde{x}_{i}\left(t\right) \, "
        r"\tanh{\left(x_{j}\left(t\right) \right)} \\"
    )
    for stage in (averaged, collective, mean_field):
        assert stage._repr_latex_() == f"$\\displaystyle {stage.latex()}$"
