"""Disorder average: coupling terms, cumulant rules, pair terms (input → exact output)."""

from __future__ import annotations

import sympy as sp

import fieldtheory as ft
from fieldtheory.ir.ensembles import JointGaussian
from fieldtheory.transforms import (
    AVERAGING_RULES,
    Cumulant,
    GaussianBlock,
    PairTerm,
    disorder_average,
    gaussian_blocks,
    split_couplings,
)

x, J, K, t, s, n = ft.Field("x"), ft.Coupling("J"), ft.Coupling("K"), ft.t, ft.s, ft.n
m = sp.Symbol("m", integer=True)
P = ft.parameters(g=(1.0, "positive"), h=(1.0, "positive"), c=0.0, J0=0.0, rho=(0.0, (-1, 1)),
                  a=1.0)
g, h, c, J0, rho, a = P.symbols


def test_split_couplings_merges_sums_with_the_same_coefficient():
    action = ft.langevin(drift={x: -x(t) + J @ sp.tanh(x(t)) + J @ x(t) + a * (K @ x(t))},
                         couplings={J: ft.Gaussian(0, g**2), K: ft.Gaussian(0, h**2)},
                         parameters=P)
    local, terms = split_couplings(action)
    assert local == x.response(t) * (-x(t) - sp.Derivative(x(t), t))
    assert {(term.coupling, term.target, term.source) for term in terms} == {
        (J, x.response(t), sp.tanh(x(t)) + x(t)),
        (K, a * x.response(t), x(t)),
    }


def test_gaussian_rule_gives_mean_variance_and_symmetry_cumulants():
    pops = (ft.Population("all"),)
    rule = AVERAGING_RULES["gaussian"]
    assert rule((J,), ft.Gaussian(J0, g**2, rho), pops) == (
        Cumulant(J0, (J,), (False,)),
        Cumulant(g**2 / 2, (J, J), (False, False)),
        Cumulant(rho * g**2 / 2, (J, J), (False, True)),
    )
    # zero cumulants are dropped, not carried as 0·X
    assert rule((J,), ft.Gaussian(0, g**2), pops) == (Cumulant(g**2 / 2, (J, J), (False, False)),)


def test_homogeneous_gaussian_over_two_populations_covers_every_block():
    pops = (ft.Population("E", sp.Rational(1, 2)), ft.Population("I", sp.Rational(1, 2)))
    blocks = gaussian_blocks(ft.Gaussian(0, g**2), pops)
    assert [(b.target, b.source) for b in blocks] == [("E", "E"), ("E", "I"), ("I", "E"),
                                                      ("I", "I")]
    assert blocks[0] == GaussianBlock("E", "E", sp.Integer(0), g**2)


def test_joint_gaussian_rule_folds_the_symmetric_double_sum():
    joint = JointGaussian((J, K), ((g**2, c), (c, h**2)), means=(J0, 0),
                          transpose_covariance=((0, rho), (rho, 0)))
    cumulants = AVERAGING_RULES["joint_gaussian"]((J, K), joint, (ft.Population("all"),))
    assert cumulants == (
        Cumulant(J0, (J,), (False,)),
        Cumulant(g**2 / 2, (J, J), (False, False)),
        Cumulant(c, (J, K), (False, False)),
        Cumulant(rho, (J, K), (False, True)),
        Cumulant(h**2 / 2, (K, K), (False, False)),
    )


def test_pair_terms_separate_site_i_from_site_j_and_transpose():
    action = ft.langevin(drift={x: -x(t) + J @ sp.tanh(x(t))},
                         couplings={J: ft.Gaussian(J0, g**2, rho)}, parameters=P)
    terms = disorder_average(action).pair_terms
    xt = x.response
    assert terms == (
        PairTerm(J0, (t,), xt(t), sp.tanh(x(t))),
        PairTerm(g**2 / 2, (t, s), xt(t) * xt(s), sp.tanh(x(t)) * sp.tanh(x(s))),
        # X_ij(t) X_ji(s) = [x̃_i(t) tanh(x_i(s))] [tanh(x_j(t)) x̃_j(s)]
        PairTerm(rho * g**2 / 2, (t, s), xt(t) * sp.tanh(x(s)), sp.tanh(x(t)) * xt(s)),
    )


def test_constants_of_the_coupling_term_join_the_coefficient_in_discrete_time():
    averaged = disorder_average(ft.load_model("map").action)
    g_, delta, _ = ft.load_model("map").parameters.symbols
    (term,) = averaged.pair_terms
    assert term == PairTerm(delta**2 * g_**2 / 2, (n, m), x.response(n) * x.response(m),
                            sp.tanh(x(n)) * sp.tanh(x(m)))
    assert term.text() == ("(delta**2*g**2/(2*N)) Σ_i Σ_j Σ_n Σ_m "
                           "x̃_i(n)*x̃_i(m)*tanh(x_j(n))*tanh(x_j(m))")


def test_per_population_values_are_resolved_in_the_site_factors():
    pops = (ft.Population("E", sp.Rational(4, 5)), ft.Population("I", sp.Rational(1, 5)))
    gain = ft.by_population("G", E=2, I=3)
    action = ft.langevin(drift={x: -x(t) + J @ (gain * sp.tanh(x(t)))},
                         couplings={J: ft.Gaussian(J0, 0)}, parameters=P, populations=pops)
    terms = {(p.target_population, p.source_population): p.coefficient
             for p in disorder_average(action).pair_terms}
    assert terms == {("E", "E"): 2 * J0, ("E", "I"): 3 * J0, ("I", "E"): 2 * J0,
                     ("I", "I"): 3 * J0}


def test_the_input_action_is_left_untouched():
    action = ft.load_model("scs").action
    before = (action.lagrangian, action.couplings)
    averaged = disorder_average(action)
    assert (action.lagrangian, action.couplings) == before and averaged.action is action
    assert str(averaged.cumulants[2]) == "(g**2*rho/(2*N)) Σ_i Σ_j X^J_ij*X^J_ji"
