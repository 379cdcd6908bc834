"""Every IR class constructs, round-trips, hashes stably (after UFL test_classcoverage.py).

Every class exported by ``fieldtheory.ir`` needs an example below (the first test fails
for a new class without one), and every registered ensemble needs one too (parametrised
over ``ENSEMBLES``, so a newly registered ensemble is covered or the suite fails).

Round trips, class by class — what is meaningful:
* ``eval(repr(obj))`` for the plain dataclasses whose fields print as Python (names,
  numbers, parameter symbols): Field, Domain, Parameter, ParameterSet, Time, Population,
  Block, Gaussian, BlockGaussian;
* ``eval(sympy.srepr(obj))`` for sympy atoms that srepr spells exactly: Coupling,
  ByPopulation, ReLU;
* rebuild and compare where the printed form is not Python or not exact: RandomMode
  (sympy prints Rational(1, 2) as 1/2, which Python evaluates to 0.5), Action, Model and
  LangevinSystem (their Lagrangians print x~(t)), and FieldValue, ResponseValue,
  CouplingSum (srepr writes a field value as a plain Function('x'), which is deliberately
  *not* the field's function, see ``Field``): ``dataclasses.replace(obj)``, which reruns
  validation, or sympy's ``obj.func(*obj.args)``.
* DenseCoupling and LowRankCoupling are sampled numeric operators, compared by identity
  (``eq=False``: arrays have no truth value); they must pickle to the same matrix.
"""

from __future__ import annotations

import dataclasses
import math
import pickle

import numpy as np
import pytest
import sympy as sp
from sympy.core.symbol import Str

import fieldtheory as ft
import fieldtheory.ir as ir
from fieldtheory.ir import ENSEMBLES, DenseCoupling, LowRankCoupling, ReLU

P = ft.parameters(
    g=(1.5, "positive"),
    J0=0.5,
    rho=(0.3, (-1, 1)),
    delta=(0.5, (1e-9, 1)),
    f_E=(0.8, (0.01, 0.99)),
    I_E=0.2,
    alpha=(0.25, "positive"),
    beta=(3.0, "nonnegative"),
    overlap=(0.4, (-1, 1)),
)
VALUES = P.defaults()
S = {p.name: p.symbol for p in P}
x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
NAMESPACE = {
    **{k: v for k, v in vars(sp).items() if not k.startswith("_")},
    **{k: getattr(ft, k) for k in ft.__all__},
    "ReLU": ReLU,
    "Str": Str,
    "inf": math.inf,
    **S,
}


def block_gaussian() -> ft.BlockGaussian:
    pops = (ft.Population("E", S["f_E"]), ft.Population("I", 1 - S["f_E"]))
    blocks = (
        ft.Block("E", "E", S["J0"], S["g"] ** 2),
        ft.Block("E", "I", -2, 1),
        ft.Block("I", "E", 1, S["g"] ** 2),
    )
    return ft.BlockGaussian(pops, blocks)


def random_mode() -> ft.RandomMode:
    a, M = ft.MODE_INDEX, ft.MODE_COUNT
    return ft.RandomMode(
        S["alpha"], sp.exp(-S["beta"] * (a - sp.Rational(1, 2)) / M), S["g"], S["overlap"]
    )


def joint_gaussian() -> ft.JointGaussian:
    K = ft.Coupling("K")
    return ft.JointGaussian(
        (J, K), ((S["g"] ** 2, S["rho"]), (S["rho"], 1)), (S["J0"], 0)
    )


def scs_action() -> ft.Action:
    """The SCS action with a partially symmetric ensemble and noise."""
    return ft.langevin(
        {x: -x(t) + J @ ft.tanh(x(t)) + S["I_E"]},
        {x: S["delta"]},
        {J: ft.Gaussian(S["J0"], S["g"] ** 2, S["rho"])},
        P,
    )


def random_mode_model() -> ft.Model:
    action = ft.langevin({x: -x(t) + J @ ft.erf_sqrtpi(x(t))}, None, {J: random_mode()}, P)
    return ft.Model("random_mode_example", action, "random modes", "arXiv:2409.01969")


def low_rank() -> LowRankCoupling:
    return random_mode().sample(np.random.default_rng(0), [40], VALUES)


# class → (factory, round-trip policy); factories build a fresh object on every call
EXAMPLES = {
    ft.Field: (lambda: ft.Field("z", latex=r"\zeta"), "eval"),
    ir.FieldValue: (lambda: x(t - 1), "func"),
    ir.ResponseValue: (lambda: x.response(t), "func"),
    ft.Coupling: (lambda: ft.Coupling("J"), "srepr"),
    ft.CouplingSum: (lambda: J @ ft.tanh(x(t)), "func"),
    ft.ByPopulation: (lambda: ft.by_population("I", E=S["I_E"], I=2), "srepr"),
    ReLU: (lambda: ReLU(sp.Symbol("u", real=True)), "srepr"),
    ft.Domain: (lambda: ft.Domain(-1, 1, closed_upper=False), "eval"),
    ft.Parameter: (lambda: ft.Parameter("g", 2.0, "positive", "gain"), "eval"),
    ft.ParameterSet: (lambda: ft.parameters(g=(2.0, "positive"), J0=0.0), "eval"),
    ft.Population: (lambda: ft.Population("E", S["f_E"]), "eval"),
    ft.Time: (lambda: ft.discrete(S["delta"]), "eval"),
    ft.Block: (lambda: ft.Block("E", "I", S["J0"], S["g"] ** 2), "eval"),
    ft.Gaussian: (lambda: ft.Gaussian(S["J0"], S["g"] ** 2, S["rho"]), "eval"),
    ft.BlockGaussian: (block_gaussian, "eval"),
    ft.RandomMode: (random_mode, "replace"),
    ft.JointGaussian: (joint_gaussian, "replace"),
    ft.Action: (lambda: scs_action(), "replace"),
    ft.Model: (random_mode_model, "replace"),
    ft.LangevinSystem: (
        lambda: ft.read_langevin(scs_action()),
        "replace",
    ),
    ft.Quenched: (lambda: ft.Quenched("G"), "srepr"),
    ft.LogNormalGain: (lambda: ft.LogNormalGain(pr=S["g"] / 4), "eval"),
    ft.GainArray: (lambda: ft.GainArray((0.5, 1.0, 1.5)), "eval"),
    ft.Inputs: (lambda: ft.Inputs("X", ((1.0, 0.5), (0.0, -2.0), (0.3, 0.3))), "eval"),
    ft.Layer: (lambda: ft.Layer(ft.n), "func"),
    ft.PerLayer: (lambda: ft.PerLayer(ft.Gaussian(0, S["g"] ** 2)), "eval"),
    ft.InputWeights: (lambda: ft.InputWeights(S["g"] ** 2), "eval"),
    ft.Weight: (lambda: ft.Weight("a"), "srepr"),
    ft.Preactivation: (lambda: ft.Preactivation("h"), "srepr"),
    ft.Targets: (lambda: ft.Targets("Y", ((1.0, 0.0), (0.0, 1.0), (1.0, 0.0))), "eval"),
    ft.Posterior: (lambda: ft.load_model("bayes_erf").action, "replace"),
    ft.Potential: (lambda: ft.Potential("V"), "srepr"),
    ft.LIF: (lambda: ft.LIF(S["g"] * 10, 20, 10, 2), "replace"),
    ft.GLM: (lambda: ft.GLM(10, S["g"] * sp.exp(ft.Potential("V"))), "replace"),
    ft.FixedInDegree: (lambda: ft.FixedInDegree(100 * S["g"]), "replace"),
    ft.Bernoulli: (lambda: ft.Bernoulli(S["g"] / 10), "replace"),
    ft.FixedTotalNumber: (lambda: ft.FixedTotalNumber(1000), "replace"),
    ft.Connection: (lambda: ft.Connection("E", "E", ft.Bernoulli(0.1), S["g"]), "replace"),
    ft.PoissonDrive: (lambda: ft.PoissonDrive("E", 10, 100, S["g"]), "replace"),
    ft.SpikingPopulation: (lambda: ft.SpikingPopulation("E", 100, ft.LIF(20, 20, 10, 2)),
                           "replace"),
    ft.SpikingNetwork: (lambda: ft.load_model("lif_brunel").action, "replace"),
    DenseCoupling: (lambda: ft.Gaussian(0, 1).sample(np.random.default_rng(0), [5], {}), "numeric"),
    LowRankCoupling: (low_rank, "numeric"),
}
#: Abstract bases, covered through their subclasses above and the registry tests below.
ABSTRACT = {ft.Ensemble, ir.CouplingMatrix, ir.QuenchedDistribution}

ENSEMBLE_EXAMPLES = {
    "gaussian": lambda: ft.Gaussian(S["J0"], S["g"] ** 2, S["rho"]),
    "block_gaussian": block_gaussian,
    "random_mode": random_mode,
    "joint_gaussian": joint_gaussian,
    "per_layer": lambda: ft.PerLayer(ft.Gaussian(S["J0"], S["g"] ** 2, S["rho"])),
    "input_weights": lambda: ft.InputWeights(S["g"] ** 2),
}


def test_every_ir_class_has_an_example():
    exported = {obj for name in ir.__all__ if isinstance(obj := getattr(ir, name), type)}
    missing = exported - set(EXAMPLES) - ABSTRACT
    assert not missing, f"add an example to EXAMPLES for {sorted(c.__name__ for c in missing)}"
    # IR classes re-exported at the top level (the simulator's classes are not IR)
    top = {
        obj
        for name in ft.__all__
        if isinstance(obj := getattr(ft, name), type)
        and obj.__module__.startswith("fieldtheory.ir")
    }
    assert top - set(EXAMPLES) - ABSTRACT == set()


VALUE_CLASSES = [c for c, (_, policy) in EXAMPLES.items() if policy != "numeric"]


@pytest.mark.parametrize("cls", VALUE_CLASSES, ids=lambda c: c.__name__)
def test_constructs_equal_and_hashes_equal_when_built_twice(cls):
    make, _ = EXAMPLES[cls]
    a, b = make(), make()
    assert isinstance(a, cls)
    assert a == b and hash(a) == hash(b)
    assert a in {b}


@pytest.mark.parametrize("cls", VALUE_CLASSES, ids=lambda c: c.__name__)
def test_pickle_round_trip_keeps_equality_hash_and_class(cls):
    make, _ = EXAMPLES[cls]
    a = make()
    b = pickle.loads(pickle.dumps(a))
    assert b == a and hash(b) == hash(a) and isinstance(b, cls)
    assert pickle.loads(pickle.dumps(b)) == make()


@pytest.mark.parametrize("cls", VALUE_CLASSES, ids=lambda c: c.__name__)
def test_round_trip(cls):
    make, policy = EXAMPLES[cls]
    a = make()
    if policy == "eval":
        rebuilt = eval(repr(a), dict(NAMESPACE))
    elif policy == "srepr":
        rebuilt = eval(sp.srepr(a), dict(NAMESPACE))
    elif policy == "func":
        rebuilt = a.func(*a.args)
    else:
        rebuilt = dataclasses.replace(a)
    assert rebuilt == a and hash(rebuilt) == hash(a) and type(rebuilt) is type(a)


@pytest.mark.parametrize(
    "cls", [c for c in VALUE_CLASSES if dataclasses.is_dataclass(c)], ids=lambda c: c.__name__
)
def test_dataclasses_are_frozen(cls):
    a = EXAMPLES[cls][0]()
    name = dataclasses.fields(a)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(a, name, getattr(a, name))


@pytest.mark.parametrize("cls", [DenseCoupling, LowRankCoupling], ids=lambda c: c.__name__)
def test_sampled_matrices_pickle_to_the_same_matrix(cls):
    a = EXAMPLES[cls][0]()
    assert isinstance(a, cls) and "Coupling(" in repr(a)
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(b.dense(), a.dense())
    assert b.shape == a.shape and b.nbytes == a.nbytes


def rebuild(expr: sp.Basic) -> sp.Basic:
    """expr rebuilt bottom-up with ``func(*args)``: the sympy invariant at every node."""
    if not expr.args:
        return expr
    return expr.func(*(rebuild(a) for a in expr.args))


@pytest.mark.parametrize("name", ft.shipped_models())
def test_shipped_model_expressions_satisfy_func_args_invariant(name):
    action = ft.load_model(name).action
    if isinstance(action, ft.SpikingNetwork):  # a spiking network: its declared numbers
        for _, expr in action._expressions():
            assert rebuild(expr) == expr
        return
    if isinstance(action, ft.Posterior):  # a static model: its declared expressions
        expressions = [action.readout, action.scaling, action.temperature,
                       action.weight_prior.variance, action.hidden_prior.variance]
        for expr in expressions:
            assert rebuild(expr) == expr
        return
    expressions = [action.lagrangian]
    if not action.time.is_zero_dimensional:  # a plain integral has no drift or noise
        system = ft.read_langevin(action)
        expressions += [*system.drift, system.noise]
    for _, ensemble in action.couplings:
        expressions += list(ensemble.expressions())
    for expr in expressions:
        for node in sp.preorder_traversal(expr):
            if node.args:
                assert node.func(*node.args) == node, node
        assert rebuild(expr) == expr


@pytest.mark.parametrize("name", ft.shipped_models())
def test_shipped_models_hash_stably(name):
    model = ft.load_model(name)
    again = pickle.loads(pickle.dumps(model))
    assert again == model and hash(again) == hash(model)
    assert dataclasses.replace(model.action) == model.action


# --- the ensemble registry ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ENSEMBLES))
def test_every_registered_ensemble_has_an_example(name):
    assert name in ENSEMBLE_EXAMPLES, f"add an example for ensemble {name!r}"
    ensemble = ENSEMBLE_EXAMPLES[name]()
    assert type(ensemble) is ENSEMBLES[name] and ensemble.kind == name


@pytest.mark.parametrize("name", sorted(ENSEMBLES))
def test_registered_ensemble_is_an_immutable_hashable_value(name):
    make = ENSEMBLE_EXAMPLES[name]
    a, b = make(), make()
    assert a == b and hash(a) == hash(b)
    assert pickle.loads(pickle.dumps(a)) == a
    assert dataclasses.replace(a) == a
    assert all(isinstance(e, sp.Basic) for e in a.expressions())
    assert a.free_symbols <= set(P.symbols)
    assert a.averaging_rule is None or isinstance(a.averaging_rule, str)
    pops = a.populations()
    assert pops is None or all(isinstance(p, ft.Population) for p in pops)


@pytest.mark.parametrize("name", sorted(ENSEMBLES))
def test_registered_ensemble_samples_reproducibly(name):
    ensemble = ENSEMBLE_EXAMPLES[name]()
    if isinstance(ensemble, ft.InputWeights):  # N × d, acting on the data set
        first, again = (ensemble.sample_inputs(np.random.default_rng(7), 60, 4, VALUES)
                        for _ in range(2))
        other = ensemble.sample_inputs(np.random.default_rng(8), 60, 4, VALUES)
        assert first.shape == (60, 4) and np.all(np.isfinite(first))
        np.testing.assert_array_equal(first, again)
        assert not np.array_equal(first, other)
        return
    pops = ensemble.populations()
    sizes = ir.population_sizes(pops, 60, VALUES) if pops else (60,)
    couplings = getattr(ensemble, "couplings", (J,))

    def draw(seed, dtype=np.float64):
        rng = np.random.default_rng(seed)
        return ensemble.sample_couplings(couplings, rng, sizes, VALUES, dtype)

    first, again, other = draw(7), draw(7), draw(8)
    assert set(first) == set(couplings)
    for c in couplings:
        assert isinstance(first[c], ir.CouplingMatrix) and first[c].shape == (60, 60)
        assert np.all(np.isfinite(first[c].dense()))
        np.testing.assert_array_equal(first[c].dense(), again[c].dense())
        assert not np.array_equal(first[c].dense(), other[c].dense())
        assert draw(7, np.float32)[c].dense().dtype == np.float32
        v = np.random.default_rng(1).standard_normal((60, 3))
        np.testing.assert_allclose(first[c].matvec(v), first[c].dense() @ v, atol=1e-12)
        np.testing.assert_allclose(first[c].rmatvec(v), first[c].dense().T @ v, atol=1e-12)
    bound = ensemble.spectral_radius_bound(VALUES)
    assert math.isfinite(bound) and bound > 0
