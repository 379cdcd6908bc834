"""Structure errors are named, and raised before any transformation runs."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import pytest
import sympy as sp

import fieldtheory as ft
from fieldtheory.derive import derive
from fieldtheory.errors import EnsembleError, NonlinearCouplingError
from fieldtheory.ir.ensembles import JointGaussian
from fieldtheory.transforms import disorder_average, register_averaging_rule

x, J, K, t = ft.Field("x"), ft.Coupling("J"), ft.Coupling("K"), ft.t
# the package re-exports the function under the module's name: fetch the module itself
disorder_module = importlib.import_module("fieldtheory.transforms.disorder_average")
P = ft.parameters(g=(1.0, "positive"))
(g,) = P.symbols


@dataclass(frozen=True)
class Uniform(ft.Ensemble):
    """A test ensemble with no averaging rule (deliberately not registered)."""

    width: sp.Expr = sp.S.One

    def expressions(self):
        return (sp.sympify(self.width),)


@dataclass(frozen=True)
class Exotic(ft.Ensemble):
    """A test ensemble naming a rule nobody registered."""

    averaging_rule = "exotic_rule"

    def expressions(self):
        return ()


@pytest.fixture
def no_algebra(monkeypatch):
    """Fail loudly if the disorder average starts transforming the action."""

    def refuse(action):
        raise AssertionError("split_couplings ran before the ensembles were checked")

    monkeypatch.setattr(disorder_module, "split_couplings", refuse)


def test_nonlinear_coupling_is_rejected_when_the_action_is_built():
    with pytest.raises(NonlinearCouplingError, match="non-linearly"):
        ft.langevin(drift={x: -x(t) + sp.tanh(J @ x(t))}, couplings={J: ft.Gaussian(0, g**2)},
                    parameters=P)


@pytest.mark.parametrize("ensemble", [Uniform(), Exotic()], ids=["no-rule", "unknown-rule"])
def test_ensemble_without_averaging_rule_is_named_before_any_transformation(ensemble, no_algebra):
    action = ft.langevin(drift={x: -x(t) + J @ x(t)}, couplings={J: ensemble}, parameters=P)
    name = type(ensemble).__name__
    with pytest.raises(EnsembleError, match=rf"coupling J .*{name}"):
        disorder_average(action)


def test_correlated_random_modes_refuse_what_they_cannot_resum_before_any_algebra(no_algebra):
    """Correlated modes are averaged (the resummed determinant); an array spectrum whose
    entries are not numbers is not, and says so before the action is transformed."""
    profile = sp.Rational(1, 2) * ft.MODE_INDEX / ft.MODE_COUNT
    modes = ft.RandomMode(alpha=1, spectrum=(1.0, g), gain=g, overlap=profile)
    action = ft.langevin(drift={x: -x(t) + J @ x(t)}, couplings={J: modes}, parameters=P)
    with pytest.raises(EnsembleError, match=r"coupling J \(random modes, overlap a/\(2\*M\)\): "
                                            ".*array spectrum .* must hold numbers"):
        derive(action)


def test_a_later_coupling_without_rule_is_caught_too(no_algebra):
    action = ft.langevin(drift={x: -x(t) + J @ x(t) + K @ x(t)},
                         couplings={J: ft.Gaussian(0, g**2), K: Uniform()}, parameters=P)
    with pytest.raises(EnsembleError, match=r"coupling K .*Uniform"):
        disorder_average(action)


def test_joint_ensemble_must_be_attached_to_all_its_couplings(no_algebra):
    joint = JointGaussian((J, K), ((g**2, 0), (0, 1)))
    action = ft.langevin(drift={x: -x(t) + J @ x(t) + K @ x(t)},
                         couplings={J: joint, K: ft.Gaussian(0, 1)}, parameters=P)
    with pytest.raises(EnsembleError, match="coupling K belongs to the joint ensemble"):
        disorder_average(action)


def test_joint_gaussian_validates_and_refuses_to_sample():
    with pytest.raises(EnsembleError, match="not symmetric"):
        JointGaussian((J, K), ((1, 0), (g, 1)))
    with pytest.raises(EnsembleError, match="2×2"):
        JointGaussian((J, K), ((1, 0),))
    joint = JointGaussian((J, K), ((g**2, 0), (0, 1)), means=(1, 0))
    with pytest.raises(EnsembleError, match="cannot be drawn one at a time"):
        joint.sample(None, (10,), {"g": 1.0})
    assert joint.spectral_radius_bound({"g": 2.0}) == 2.0
    assert joint.free_symbols == {g} and joint.kind == "joint_gaussian"


def test_averaging_rules_are_registered_once():
    with pytest.raises(EnsembleError, match="already registered"):
        register_averaging_rule("gaussian")(lambda *args: ())


def test_joint_gaussian_draws_its_couplings_together():
    import numpy as np

    c_, r_ = sp.symbols("c r", real=True)
    joint = JointGaussian((J, K), ((g**2, c_), (c_, 1)), means=(2, 0),
                          transpose_covariance=((r_, 0), (0, 0)))
    N = 400
    values = {"g": 1.5, "c": 0.6, "r": 0.5}
    drawn = joint.sample_joint(np.random.default_rng(3), (N,), values)
    Jm, Km = drawn[J].dense(), drawn[K].dense()
    off = ~np.eye(N, dtype=bool)
    a, b = (Jm - 2 / N)[off] * np.sqrt(N), Km[off] * np.sqrt(N)
    assert abs(a.var() - 2.25) < 0.05 and abs(b.var() - 1) < 0.03
    assert abs(np.mean(a * b) - 0.6) < 0.03
    assert abs(np.mean((Jm * Jm.T)[off]) * N - 0.5 - 4 / N) < 0.05  # corr(J_ij, J_ji)
    assert abs(np.mean((Km * Km.T)[off]) * N) < 0.03
    with pytest.raises(ft.errors.ParameterError, match="positive semi-definite"):
        joint.sample_joint(np.random.default_rng(0), (10,), {"g": 0.1, "c": 1.0, "r": 0.0})
