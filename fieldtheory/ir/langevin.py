r"""Langevin equation ⇔ MSRDJ action.

:func:`langevin` writes the action of ∂_t x = f(x) + ξ (or x(n+1) = F(x(n)) + ξ_n);
:func:`read_langevin` (:mod:`fieldtheory.ir.langevin_system`, re-exported here) reads
drift, noise covariance and couplings back from *any* action,
and is the structure check every action passes when it is built: terms linear in the
response fields are drift, quadratic ones Gaussian noise, anything else is rejected with
an error naming the offending term. The simulator runs what :func:`read_langevin` returns,
so theory and simulation cannot describe different models.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from fieldtheory.errors import DeclarationError, DeclarationTypeError
from fieldtheory.ir.action import CONTINUOUS, Action, Time
from fieldtheory.ir.checks import describe, require_instance, require_mapping
from fieldtheory.ir.ensembles import Ensemble
from fieldtheory.ir.langevin_system import LangevinSystem, read_langevin
from fieldtheory.ir.parameters import ParameterSet
from fieldtheory.ir.populations import ONE_POPULATION, Population
from fieldtheory.ir.symbols import Coupling, Field

__all__ = ["LangevinSystem", "langevin", "read_langevin"]


def langevin(
    drift: Mapping[Field, sp.Expr],
    noise: Mapping[Field | tuple[Field, Field], sp.Expr] | None = None,
    couplings: Mapping[Coupling, Ensemble] | None = None,
    parameters: ParameterSet | None = None,
    populations: tuple[Population, ...] | None = None,
    time: Time = CONTINUOUS,
    quenched: Mapping | None = None,
) -> Action:
    r"""The MSRDJ action of a Langevin equation (or of a noisy map).

    Parameters
    ----------
    drift : mapping Field → expression
        f_k in ∂_t x_k = f_k + ξ_k, written with ``x(t)`` (``x(n)`` for maps, where it is
        the new value x_k(n+1)).
    noise : mapping
        ``{x: D}`` for ⟨ξ_x ξ_x⟩ = D δ, ``{(x, y): Q_xy}`` for cross-covariances.
    couplings, parameters, populations, time, quenched
        As in :class:`~fieldtheory.ir.action.Action`; populations default to those of a
        structured ensemble, else to one population; ``quenched`` maps per-unit quenched
        variables (:class:`~fieldtheory.ir.quenched.Quenched`) to their distributions.

    Returns
    -------
    Action
        S = Σ_i ∫dt Σ_k x̃_k(−∂_t x_k + f_k) + ½ Σ_kl Q_kl x̃_k x̃_l.
    """
    _check_types(drift, noise, couplings, parameters, populations, time)
    fields = tuple(drift)
    tau = time.symbol
    couplings = dict(couplings or {})
    if populations is None:
        structured = [e.populations() for e in couplings.values() if e.populations()]
        populations = structured[0] if structured else ONE_POPULATION
    lagrangian = sp.Integer(0)
    for f, rhs in drift.items():
        change = f(tau + 1) if time.is_discrete else sp.Derivative(f(tau), tau)
        lagrangian += f.response(tau) * (-change + sp.sympify(rhs))
    pairs: set[frozenset[Field]] = set()
    for key, q in (noise or {}).items():
        k, l = (key, key) if isinstance(key, Field) else key
        if frozenset((k, l)) in pairs:
            # ⟨ξ_k ξ_l⟩ = ⟨ξ_l ξ_k⟩: giving both would silently double the covariance
            raise DeclarationError(
                f"noise covariance of ({k.name}, {l.name}) given twice; give one of "
                f"({k.name}, {l.name}) and ({l.name}, {k.name})"
            )
        pairs.add(frozenset((k, l)))
        weight = sp.Rational(1, 2) if k == l else sp.Integer(1)
        lagrangian += weight * sp.sympify(q) * k.response(tau) * l.response(tau)
    return Action(
        lagrangian,
        fields,
        tuple(couplings.items()),
        parameters or ParameterSet(),
        tuple(populations),
        time,
        quenched=tuple((quenched or {}).items()),
    )


def _check_types(drift, noise, couplings, parameters, populations, time) -> None:
    """A wrong type is refused here, saying what was expected (a string key for a field, a
    number for an ensemble), instead of failing later with an unrelated message."""
    require_mapping(drift, "langevin: drift", "Field → expression, e.g. {x: -x(t)}")
    for key in drift:
        require_instance(key, Field, "langevin: a drift key", "a Field (x = ft.Field('x'))")
    for key in require_mapping(noise or {}, "langevin: noise",
                               "Field (or (Field, Field)) → intensity, e.g. {x: D}"):
        pair = key if isinstance(key, tuple) and len(key) == 2 else (key,)
        for field in pair:
            require_instance(field, Field, "langevin: a noise key",
                             "a Field or a pair (Field, Field)")
    for key, ensemble in require_mapping(couplings or {}, "langevin: couplings",
                                         "Coupling → Ensemble, e.g. {J: ft.Gaussian(...)}"
                                         ).items():
        require_instance(key, Coupling, "langevin: a couplings key",
                         "a Coupling (J = ft.Coupling('J'))")
        require_instance(ensemble, Ensemble, f"langevin: the ensemble of {key}",
                         "an Ensemble (ft.Gaussian(...), …)")
    if parameters is not None:
        require_instance(parameters, ParameterSet, "langevin: parameters",
                         "a ParameterSet (from ft.parameters(...))")
    if populations is not None:
        if isinstance(populations, str | Population) or not isinstance(populations,
                                                                       tuple | list):
            raise DeclarationTypeError(f"langevin: populations must be a tuple of Population, "
                                       f"got {describe(populations)}")
        for population in populations:
            require_instance(population, Population, "langevin: a population",
                             "a Population (ft.Population(name, fraction))")
    require_instance(time, Time, "langevin: time", "a Time (ft.CONTINUOUS, ft.discrete(step))")
