"""Lowering a derived mean-field theory to the stationary Gaussian problem.

The problems are read off derivations of models declared here; every expected coefficient
is written out by hand from the model's Langevin equation.
"""

from __future__ import annotations

import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.codegen.lower import U, V, lower_stationary
from fieldtheory.derive import derive
from fieldtheory.errors import ActionStructureError

x, J, K, t = ft.Field("x"), ft.Coupling("J"), ft.Coupling("K"), ft.t


def lowered(drift, couplings, parameters, noise=None, time=ft.CONTINUOUS):
    action = ft.langevin({x: drift}, noise, couplings, parameters, time=time)
    return lower_stationary(derive(action).mean_field)


def test_time_constant_bias_and_mean_coupling():
    p = ft.parameters(g=(2.0, "positive"), J0=1.0, I=0.5, tau=(2.0, "positive"),
                      D=(0.1, "nonnegative"))
    g, J0, I, tau, D = p.symbols
    problem = lowered((-x(t) + J @ ft.tanh(x(t)) + I) / tau, {J: ft.Gaussian(J0, g**2)}, p,
                      noise={x: D})
    assert problem.leak == 1 / tau
    m = problem.means[0].symbol
    assert sp.simplify(problem.mean_input - (I + J0 * m) / tau) == 0
    assert problem.means[0].function == sp.tanh(U)
    assert problem.white_noise == D
    (term,) = problem.correlations
    assert sp.simplify(term.coefficient - g**2 / tau**2) == 0
    assert (term.left, term.right) == (sp.tanh(U), sp.tanh(V))
    assert problem.kernel_coefficients == ()
    assert set(problem.parameters) == {g, J0, I, tau, D}


def test_two_nonlinearities_and_correlated_couplings_give_three_terms():
    p = ft.parameters(g=(1.0, "positive"), h=(1.0, "positive"), c=0.3)
    g, h, c = p.symbols
    joint = ft.JointGaussian((J, K), ((g**2, c), (c, h**2)))
    problem = lowered(-x(t) + J @ ft.tanh(x(t)) + K @ ft.erf_sqrtpi(x(t)), {J: joint, K: joint},
                      p)
    terms = {(str(tm.left), str(tm.right)): tm.coefficient for tm in problem.correlations}
    erf_u, erf_v = str(ft.erf_sqrtpi(U)), str(ft.erf_sqrtpi(V))
    assert terms[("tanh(u)", "tanh(v)")] == g**2
    assert terms[(erf_u, erf_v)] == h**2
    # c(C_φψ(t, s) + C_φψ(s, t)): both orders of the cross correlation appear
    assert terms[(erf_u, "tanh(v)")] == c and terms[("tanh(u)", erf_v)] == c


def test_partial_symmetry_leaves_a_kernel_coefficient():
    problem = lower_stationary(derive("scs").mean_field)
    g, rho = sp.Symbol("g", real=True), sp.Symbol("rho", real=True)
    assert problem.kernel_coefficients == (g**2 * rho,)


@pytest.mark.parametrize("case", ["nonlinear drift", "two populations", "map"])
def test_what_a_stationary_gaussian_solver_cannot_take_is_refused(case):
    p = ft.parameters(g=(1.0, "positive"), s=1.5)
    g, s_ = p.symbols
    with pytest.raises(ActionStructureError):
        if case == "nonlinear drift":
            lowered(-x(t) + s_ * ft.tanh(x(t)) + J @ ft.tanh(x(t)), {J: ft.Gaussian(0, g**2)},
                    p)
        elif case == "two populations":
            lower_stationary(derive("ei").mean_field)
        else:
            lower_stationary(derive("map").mean_field)
