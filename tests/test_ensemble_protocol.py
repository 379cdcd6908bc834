"""The ensemble protocol (issue 10, item 3) and parameter validation (issue 11, item 6).

An ensemble declared here, in a test, is averaged, printed and simulated without any
library file knowing it; meaningless ensemble values are refused when the ensemble is
built (numbers) or when the parameters get values (symbols), naming what is wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.errors import DeclarationError, EnsembleError, ParameterError
from fieldtheory.ir.couplings import DenseCoupling
from fieldtheory.ir.ensembles import (
    ENSEMBLES,
    UNIT_INTERVAL,
    Constraint,
    Cumulant,
    TraceCumulant,
    register_ensemble,
)
from fieldtheory.ir.ensembles.cumulants import N as N_SYMBOL
from fieldtheory.ir.parameters import NONNEGATIVE, evaluate
from fieldtheory.printing import ensemble_latex, ensemble_text, latex, text
from fieldtheory.transforms import disorder_average

x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t


@dataclass(frozen=True)
class Rademacher(ft.Ensemble):
    r"""J_ij = mean/N ± √(variance/N), each sign with probability ½ (not registered).

    Cumulants per entry: mean/N, variance/N, and κ₄ = −2 variance²/N² (that of ±a with
    a² = variance/N); the fourth-order term of W is Σ_ij κ₄ X_ij⁴/4! = (c/N) Σ X⁴ with
    c = −variance²/(12 N), negligible at the saddle point.
    """

    mean: sp.Expr = sp.S.Zero
    variance: sp.Expr = sp.S.One

    def __post_init__(self):
        object.__setattr__(self, "mean", sp.sympify(self.mean))
        object.__setattr__(self, "variance", sp.sympify(self.variance))
        self.check_literals()

    def expressions(self):
        return (self.mean, self.variance)

    def constraints(self):
        return (Constraint("variance", self.variance, NONNEGATIVE),)

    def cumulants(self, couplings, populations, order=2):
        (c,) = couplings
        out = []
        for a in populations:
            for b in populations:
                pops = (a.name, b.name)
                out += [Cumulant(self.mean, (c,), (False,), *pops),
                        Cumulant(self.variance / 2, (c, c), (False, False), *pops)]
                if order >= 4:
                    out.append(Cumulant(-self.variance**2 / (12 * N_SYMBOL), (c,) * 4,
                                        (False,) * 4, *pops))
        return tuple(term for term in out if term.order <= order and term.coefficient != 0)

    def sample(self, rng, sizes, values, dtype=np.float64):
        self.validate(values)
        n = int(sum(sizes))
        mean, variance = (evaluate(e, values) for e in self.expressions())
        signs = rng.choice([-1.0, 1.0], size=(n, n))
        return DenseCoupling((mean / n + math.sqrt(variance / n) * signs).astype(dtype))

    def spectral_radius_bound(self, values):
        # circular-law bulk √variance, the mean's outlier at |mean|
        mean, variance = (evaluate(e, values) for e in self.expressions())
        return max(math.sqrt(variance), abs(mean))

    def text(self, coupling):
        return (f"{coupling.name}_ij = ({text(self.mean)})/N ± sqrt(({text(self.variance)})/N)"
                ", equiprobable signs")

    def latex(self, coupling):
        return (rf"{coupling.name}_{{ij}} = \frac{{{latex(self.mean)}}}{{N}} \pm "
                rf"\sqrt{{\frac{{{latex(self.variance)}}}{{N}}}}")


P = ft.parameters(g=(0.5, "positive"), mu=(0.5, "real"), I=(1.0, "real"),
                  alpha=(0.5, "positive"), beta=(3.0, "nonnegative"))
g, mu, I, ALPHA, BETA = P.symbols


def linear_action(ensemble) -> ft.Action:
    return ft.langevin({x: -x(t) + J @ x(t) + I}, couplings={J: ensemble}, parameters=P)


def test_a_test_ensemble_is_not_registered_and_prints_itself():
    ensemble = Rademacher(mu, g**2)
    assert Rademacher not in ENSEMBLES.values()
    assert ensemble_text(J, ensemble) == "J_ij = (mu)/N ± sqrt((g**2)/N), equiprobable signs"
    assert ensemble_latex(J, ensemble) == r"J_{ij} = \frac{\mu}{N} \pm \sqrt{\frac{g^{2}}{N}}"
    assert "equiprobable signs" in str(linear_action(ensemble))


def test_a_test_ensemble_is_averaged_like_its_gaussian_equivalent():
    # same first and second cumulants as Gaussian(mu, g²): the same averaged action
    rademacher = ft.derive(linear_action(Rademacher(mu, g**2)))
    gaussian = ft.derive(linear_action(ft.Gaussian(mu, g**2)))
    assert rademacher.averaged.pair_terms == gaussian.averaged.pair_terms
    assert str(rademacher.averaged) == str(gaussian.averaged)
    assert "(g**2/(2*N)) Σ_i Σ_j ∫dt ∫ds x̃_i(t)*x̃_i(s)*x_j(t)*x_j(s)" in str(rademacher)
    assert "equiprobable signs" in str(rademacher)  # the action stage prints the ensemble
    fourth = Rademacher(mu, g**2).cumulants((J,), ft.ir.ONE_POPULATION, order=4)
    assert [c.order for c in fourth] == [1, 2, 4]
    assert str(fourth[2]) == "(-g**4/(12*N**2)) Σ_i Σ_j X^J_ij*X^J_ij*X^J_ij*X^J_ij"


def test_a_test_ensemble_is_simulated_and_its_mean_is_exact():
    r"""ẋ = −x + Jx + I relaxes to x* = (1 − J)⁻¹ I; its population mean is
    m = I/(1−μ) + g² I/(N(1−μ)³) + O(N^{-3/2}) over realisations (expand (1 − μP − Z)⁻¹
    in Z, E[Z_ij Z_jk] = δ_ij δ_jk g²/N), scattered by O(g/√N) across trials."""
    N, trials = 300, 8
    values = {"g": 0.5, "mu": 0.5, "I": 1.0}
    result = ft.simulate(linear_action(Rademacher(mu, g**2)), values, N=N, t_max=10.0,
                         t_burn=30.0, trials=trials)
    gv, muv, Iv = values["g"], values["mu"], values["I"]
    exact = Iv / (1 - muv) + gv**2 * Iv / (N * (1 - muv) ** 3)
    mean, stderr = result.observables["mean"], result.stderr["mean"]
    assert stderr > 0
    assert abs(mean - exact) <= 4 * stderr


def test_the_registry_refuses_a_second_ensemble_of_the_same_name():
    with pytest.raises(EnsembleError, match="'gaussian' is already registered"):
        register_ensemble("gaussian")(Rademacher)
    assert ENSEMBLES["gaussian"] is ft.Gaussian


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(("make", "message"), [
    (lambda: ft.Gaussian(0, -1), r"Gaussian ensemble \(gaussian\): coupling variance -1 is "
                                 "negative"),
    (lambda: ft.Gaussian(0, 1, 1.5), r"coupling symmetry rho 1\.5\d* is outside \[-1, 1\]"),
    (lambda: ft.Gaussian(0, 1, -2), r"coupling symmetry rho -2 is outside \[-1, 1\]"),
    (lambda: ft.RandomMode(1, 1, overlap=sp.Rational(3, 2)),
     r"RandomMode ensemble \(random_mode\): mode overlap 3/2 is outside \[-1, 1\]"),
    (lambda: ft.RandomMode(-1, 1), "mode density -1 must be positive"),
    (lambda: ft.BlockGaussian((ft.Population("E", 1),), (ft.Block("E", "E", 0, -2),)),
     r"variance of block E->E -2 is negative"),
    (lambda: ft.JointGaussian((J, ft.Coupling("K")), ((1, 2), (2, 1))),
     "not positive semi-definite"),
    (lambda: Rademacher(0, -1), r"Rademacher ensemble \(ensemble\): variance -1 is negative"),
], ids=["variance", "rho", "rho-negative", "overlap", "alpha", "block", "joint", "test"])
def test_literal_values_are_refused_when_the_ensemble_is_built(make, message):
    with pytest.raises(EnsembleError, match=message):
        make()


S = ft.parameters(s=(1.0, "real"), r=(0.0, "real"), o=(0.0, "real"))
s_, r_, o_ = S.symbols


@pytest.mark.parametrize(("ensemble", "values", "message"), [
    (ft.Gaussian(0, s_), {"s": -1.0}, r"Gaussian ensemble \(gaussian\): coupling variance s "
                                      "= -1 is negative"),
    (ft.Gaussian(0, 1, r_), {"r": 1.5}, r"coupling symmetry rho r = 1\.5 is outside \[-1, 1\]"),
    (ft.RandomMode(1, 1, s_, o_), {"o": -1.2}, r"mode overlap o = -1\.2 is outside \[-1, 1\]"),
    (ft.JointGaussian((J, ft.Coupling("K")), ((1, r_), (r_, 1))), {"r": 2.0},
     "not positive semi-definite"),
    (Rademacher(0, s_), {"s": -0.5}, r"Rademacher ensemble \(ensemble\): variance s = -0\.5"),
], ids=["variance", "rho", "overlap", "joint", "test"])
def test_symbolic_values_are_refused_when_given(ensemble, values, message, monkeypatch):
    K = ft.Coupling("K")
    drift = -x(t) + J @ x(t) + (K @ x(t) if isinstance(ensemble, ft.JointGaussian) else 0)
    couplings = {J: ensemble, K: ensemble} if isinstance(ensemble, ft.JointGaussian) else {
        J: ensemble}
    action = ft.langevin({x: drift}, couplings=couplings, parameters=S)  # symbols: accepted
    with pytest.raises(ParameterError, match=message):
        action.validate_values(S.resolve(values))

    # the simulator refuses them before it draws a single coupling
    def no_sampling(*args, **kwargs):
        raise AssertionError("couplings drawn before the values were validated")

    monkeypatch.setattr(type(ensemble), "sample_couplings", no_sampling)
    with pytest.raises(ParameterError, match=message):
        ft.simulate(action, values, N=20, t_max=1.0, t_burn=0.0)


def test_a_literal_negative_noise_intensity_is_refused_at_declaration():
    with pytest.raises(DeclarationError, match="noise intensity of x is -1, negative"):
        ft.langevin({x: -x(t)}, noise={x: -1})
    y = ft.Field("y")
    with pytest.raises(DeclarationError, match="not positive semi-definite"):
        ft.langevin({x: -x(t), y: -y(t)}, noise={x: 1, y: 1, (x, y): 3})
    D = sp.Symbol("D", real=True)
    ft.langevin({x: -x(t)}, noise={x: D}, parameters=ft.parameters(D=1.0))  # symbols wait


def test_unit_interval_constraint_names_its_bounds():
    assert Constraint("rho", sp.Integer(2), UNIT_INTERVAL).violation(2.0) == "is outside [-1, 1]"
    assert Constraint("rho", sp.Integer(1), UNIT_INTERVAL).violation(1.0) is None


# ------------------------------------------------------------------ random modes


def exponential_modes(overlap=0):
    """d_a ∝ exp(−β(a − ½)/M), normalised to α r₂ = g² (models/random_mode.py)."""
    a, M = ft.MODE_INDEX, ft.MODE_COUNT
    spectrum = sp.exp(-BETA * (a - sp.Rational(1, 2)) / M)
    return ft.RandomMode(ALPHA, spectrum, g, overlap), ALPHA, BETA


def test_random_mode_saddle_point_sees_only_the_effective_gain():
    ensemble, _, _ = exponential_modes()
    (second,) = ensemble.cumulants((J,), ft.ir.ONE_POPULATION, order=2)
    assert second == Cumulant(g**2 / 2, (J, J), (False, False))
    derived = ft.derive(linear_action(ensemble))
    reference = ft.derive(linear_action(ft.Gaussian(0, g**2)))
    assert derived.averaged.pair_terms == reference.averaged.pair_terms


def test_random_mode_fourth_order_is_the_mode_space_trace_with_r4():
    ensemble, alpha, beta = exponential_modes()
    terms = ensemble.cumulants((J,), ft.ir.ONE_POPULATION, order=4)
    assert [type(c) for c in terms] == [Cumulant, TraceCumulant]
    trace = terms[1]
    assert trace.power == 2 and trace.order == 4
    # α r₂ = g², α r₄ = g⁴ ⟨s⁴⟩/(α⟨s²⟩²): PR_D = r₂²/r₄ = tanh(β)/β (SCIENCE.md §3)
    participation = sp.simplify(g**4 / (alpha * 4 * trace.coefficient))
    at = {alpha: sp.Rational(1, 2), beta: 3, g: 2}
    assert float(participation.subs(at)) == pytest.approx(math.tanh(3) / 3, rel=1e-12)
    assert "tr[(X^J X^Jᵀ)^2]" in str(trace) and r"\operatorname{tr}" in trace.latex()


def test_random_mode_moments_match_the_finite_spectrum():
    # midpoint sums (1/M)Σ s((a−½)/M)ⁿ differ from ∫₀¹ sⁿ by ≤ sup|(sⁿ)''|/(24 M²)
    ensemble, alpha, beta = exponential_modes()
    values = {"alpha": 0.5, "beta": 3.0, "g": 2.0}
    n_sites = 40000
    d = ensemble.modes(n_sites, values)
    at = {alpha: 0.5, beta: 3.0, g: 2.0}
    M = d.size
    # d⁴ = c⁴ s⁴ with c² ≤ g²/(α ⟨s²⟩_M); (e^{−4βu})'' ≤ 16β²; both moments carry the error
    exact = float(ensemble.mode_moment(2).subs(at))
    bound = 3 * exact * 16 * 3.0**2 / (24 * M**2) / float(ensemble.shape_moment(4).subs(at))
    assert np.sum(d**4) / n_sites == pytest.approx(exact, rel=bound)
    array = ft.RandomMode(0.5, (1, sp.Rational(1, 2)))
    dense = array.modes(200000, {})
    assert float(array.shape_moment(2)) == pytest.approx(np.mean(dense**2), rel=1e-8)


def test_random_mode_fourth_cumulant_of_entries_is_r4_over_N_cubed():
    r"""κ(J_ij, J_kj, J_kl, J_il) = Σ_a d_a⁴/N⁴ (i ≠ k, j ≠ l): the coefficient of
    X_ij X_kj X_kl X_il in (α r₄/4N³) tr[(XXᵀ)²], which has it four times."""
    ensemble = ft.RandomMode(1, (1, sp.Rational(1, 3)))
    n, samples = 5, 3000
    rng = np.random.default_rng(11)
    draws = np.stack([ensemble.sample(rng, (n,), {}).dense() for _ in range(samples)])
    cycle = np.einsum("sij,skj,skl,sil->sikjl", draws, draws, draws, draws)
    mask = (~np.eye(n, dtype=bool))[:, :, None, None] & (~np.eye(n, dtype=bool))[None, None]
    per_matrix = cycle[:, mask].mean(axis=1)  # independent across matrices
    d = ensemble.modes(n, {})
    exact = np.sum(d**4) / n**4
    stderr = per_matrix.std(ddof=1) / math.sqrt(samples)
    assert abs(per_matrix.mean() - exact) <= 4 * stderr


def test_correlated_modes_are_averaged_whole_at_every_order():
    """The determinant is kept (every order enters the saddle point); its second order is
    the Gaussian ensemble of variance α r₂ = g² and partial symmetry ρ² (the signs σ_a
    cancel the first order), written as pair terms; the 1/N stage asks for order 4 and
    gets the same determinant (its Hessian is derived from it, not from a truncation)."""
    ensemble, _, _ = exponential_modes(overlap=sp.Rational(1, 2))
    averaged = disorder_average(linear_action(ensemble))
    (determinant,) = averaged.resummed
    assert determinant.variance == g**2 and determinant.overlap == sp.Rational(1, 2)
    assert set(determinant.leading()) == {
        Cumulant(g**2 / 2, (J, J), (False, False)),
        Cumulant(g**2 / 8, (J, J), (False, True)),
    }
    assert "ln det" in str(averaged) and len(averaged.pair_terms) == 2
    assert ensemble.cumulants((J,), ft.ir.ONE_POPULATION, order=4) == (determinant,)


