"""``derive(model)``: the whole symbolic derivation of dynamic mean-field theory.

The pipeline is a flat sequence of pure transformations, each stage kept (as a compiler
keeps its intermediate representations), and the result is cached by the content of the
action: deriving the same model twice costs a dictionary look-up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from fieldtheory.codegen.layered import lower_layered
from fieldtheory.codegen.site import SiteProblem, lower_site, mixture_refusal, observed_phis
from fieldtheory.codegen.site_printing import site_latex, site_text
from fieldtheory.errors import ActionStructureError, ParameterError
from fieldtheory.ir.action import Action
from fieldtheory.ir.model import Model, load_model, require_dynamic
from fieldtheory.ir.posterior import Posterior
from fieldtheory.ir.spiking import SpikingNetwork
from fieldtheory.transforms.collective_fields import collective_fields
from fieldtheory.transforms.disorder_average import disorder_average
from fieldtheory.transforms.fluctuations import GaussianFluctuations, fluctuations
from fieldtheory.transforms.posterior import PosteriorProblem, posterior_stages
from fieldtheory.transforms.printing import text
from fieldtheory.transforms.saddle_point import saddle_point
from fieldtheory.transforms.spiking import SpikingProblem, spiking_stages
from fieldtheory.transforms.stages import (
    AveragedAction,
    CollectiveFieldAction,
    MeanFieldTheory,
)
from fieldtheory.transforms.trace_cumulants import higher_cumulant_terms

__all__ = ["ORDERS", "Derivation", "DerivationStage", "derive", "derive_fixed_points"]

#: The orders a derivation goes to: the saddle point (``None``) or its Gaussian
#: fluctuations (``"1/N"``, one stage more: ``fluctuations``).
ORDERS = (None, "1/N")


@dataclass(frozen=True)
class DerivationStage:
    """One printed stage: its ``name``, plain ``text`` and ``latex``."""

    name: str
    text: str
    latex: str

    def __str__(self) -> str:
        return self.text

    def _repr_latex_(self) -> str:
        return _display(self.latex)


@dataclass(frozen=True)
class Derivation:
    """Every stage of the derivation of one action, in order.

    ``stages`` are ``action``, ``disorder_average``, ``collective_fields``,
    ``saddle_point`` and ``site``; the stage objects themselves are ``action``,
    ``averaged``, ``collective``, ``mean_field`` and ``site``. ``site`` is the saddle point
    lowered to the general single-site problem the generated solvers take
    (:func:`~fieldtheory.codegen.site.lower_site`); where the single-site equation cannot
    hold the theory, ``site`` is ``None``, its stage is left out and ``site_refusal`` says
    why (:meth:`site_problem` raises it). Derived with ``order="1/N"``, ``fluctuations``
    holds the Gaussian fluctuations around the saddle point (the Hessian of N·S), printed
    as the last stage, ``fluctuations``.
    """

    name: str
    action: Action
    averaged: AveragedAction
    collective: CollectiveFieldAction
    mean_field: MeanFieldTheory
    stages: tuple[DerivationStage, ...]
    site: SiteProblem | None = None
    site_refusal: str | None = None
    fluctuations: GaussianFluctuations | None = None

    def site_problem(self, mixtures: bool = False) -> SiteProblem:
        """The lowered single-site problem; ``ActionStructureError`` when there is none, and
        for a mixture of sites (quenched variables in a unit's own dynamics) unless
        ``mixtures`` (only the stationary solve takes one: its generated module)."""
        if self.site is None:
            raise ActionStructureError(self.site_refusal or "no single-site problem")
        if getattr(self.site, "groups", ()) and not mixtures:
            raise ActionStructureError(mixture_refusal(
                self.site, f"{self.name} beyond the stationary solve (the 1/N layer, "
                "Kac–Rice fixed points, inference)"))
        return self.site

    def stage(self, name: str) -> DerivationStage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(f"no stage {name!r}; stages: {[s.name for s in self.stages]}")

    def __str__(self) -> str:
        return "\n\n".join(f"== {s.name} ==\n{s.text}" for s in self.stages)

    def _repr_latex_(self) -> str:
        # one display: each stage's name, then its lines
        heading = r"\textbf{%s} \\" + "\n"
        return _display(" \\\\\n".join(heading % s.name.replace("_", " ") + s.latex
                                       for s in self.stages))

    def to_json(self) -> dict:
        """``{"stages": [{"name", "text", "latex"}, …], "order_parameters", "self_consistency"}``.

        All values are strings (``is_gaussian`` a bool); ``model`` names the model.
        """
        mft = self.mean_field
        payload = {
            "model": self.name,
            "stages": [{"name": s.name, "text": s.text, "latex": s.latex} for s in self.stages],
            "order_parameters": [text(q.value()) for q in mft.order_parameters],
            "self_consistency": [text(eq) for eq in mft.self_consistency],
            "is_gaussian": mft.is_gaussian,
        }
        if self.fluctuations is not None:
            # only at order 1/N: the Hessian blocks, kernels as text
            payload["fluctuations"] = self.fluctuations.to_json()
        return payload

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=2)


def derive(model: Model | Action | str | Path, order: str | None = None) -> Derivation:
    """The derivation of a model (a Model, an Action, a shipped name or a model file).

    ``order="1/N"`` adds the Gaussian fluctuations around the saddle point (the stage
    ``fluctuations``); the default stops at the saddle point. Cached by the action's
    content: equal actions share one derivation.
    """
    if order not in ORDERS:
        raise ParameterError(f"derive: order must be one of {ORDERS}, not {order!r}")
    if isinstance(model, Action):
        name, action = "action", model
    else:
        model = load_model(model)
        name, action = model.name, model.action
    if isinstance(action, SpikingNetwork):  # a spiking network (issue 18)
        if order is not None:
            raise ParameterError(f"derive {name}: a spiking network has no order={order!r} "
                                 "stage yet (its mean field only)")
        return _derive_spiking(action, name)
    if isinstance(action, Posterior):  # a static Bayesian model (issue 15)
        if order is not None:
            raise ParameterError(f"derive {name}: a posterior model has no order={order!r} "
                                 "stage yet (its saddle point only)")
        return _derive_posterior(action, name)
    if order is None:
        return _derive(action, name)
    return _derive_fluctuations(action, name)


class _StagedDerivation:
    """What the derivations of models without a rate action (posteriors, spiking
    networks) share with :class:`Derivation`: stages, printing, their ``site``."""

    def site_problem(self):
        return self.site

    stage = Derivation.stage
    __str__ = Derivation.__str__
    _repr_latex_ = Derivation._repr_latex_
    dumps = Derivation.dumps

    def _stages_json(self) -> dict:
        return {"model": self.name,
                "stages": [{"name": s.name, "text": s.text, "latex": s.latex}
                           for s in self.stages]}


@dataclass(frozen=True)
class PosteriorDerivation(_StagedDerivation):
    """The derivation of a posterior model: stages ``posterior``, ``collective_fields``,
    ``single_neuron``, ``saddle_point`` and ``site`` (a
    :class:`~fieldtheory.transforms.posterior.PosteriorProblem`)."""

    name: str
    action: Posterior
    stages: tuple[DerivationStage, ...]
    order_parameters: tuple[str, ...]
    self_consistency: tuple[str, ...]
    site: PosteriorProblem

    def to_json(self) -> dict:
        """``{"model", "stages", "order_parameters", "self_consistency", "is_gaussian"}``
        (``is_gaussian``: the single-neuron posterior is Gaussian — a linear readout)."""
        return {**self._stages_json(),
                "order_parameters": list(self.order_parameters),
                "self_consistency": list(self.self_consistency),
                "is_gaussian": self.site.linear}


@lru_cache(maxsize=32)
def _derive_posterior(action: Posterior, name: str) -> PosteriorDerivation:
    derived = posterior_stages(action)
    stages = (DerivationStage("action", str(action), action.latex()),
              *(DerivationStage(*stage) for stage in derived.stages))
    return PosteriorDerivation(name, action, stages, derived.order_parameters,
                               derived.self_consistency, derived.site)


@dataclass(frozen=True)
class SpikingDerivation(_StagedDerivation):
    """The derivation of a spiking network: stages ``network``, ``disorder_average`` (the
    input cumulants over the graph) and ``site`` (a
    :class:`~fieldtheory.transforms.spiking.SpikingProblem`)."""

    name: str
    action: SpikingNetwork
    stages: tuple[DerivationStage, ...]
    site: SpikingProblem

    def to_json(self) -> dict:
        """``{"model", "stages", "populations", "closures"}``."""
        return {**self._stages_json(),
                "populations": list(self.action.names),
                "closures": list(self.site.kinds)}


@lru_cache(maxsize=32)
def _derive_spiking(action: SpikingNetwork, name: str) -> SpikingDerivation:
    derived = spiking_stages(action)
    stages = (DerivationStage("network", str(action), action.latex()),
              *(DerivationStage(*stage) for stage in derived.stages))
    return SpikingDerivation(name, action, stages, derived.problem)


@lru_cache(maxsize=128)
def _derive(action: Action, name: str) -> Derivation:
    # 1. integrate out the random couplings; every ensemble's rule is checked first, so a
    #    coupling that cannot be averaged fails before any algebra runs
    averaged = disorder_average(action)
    # 2. the site sums left by the average are order parameters: N·S[Q, Q̃]
    collective = collective_fields(averaged)
    # 3. N → ∞: stationary point of S — self-consistency and the single-site process
    mean_field = saddle_point(collective)
    stages = (
        DerivationStage("action", str(action), action_latex_of(action)),
        DerivationStage("disorder_average", str(averaged), averaged.latex()),
        DerivationStage("collective_fields", str(collective), collective.latex()),
        DerivationStage("saddle_point", str(mean_field), mean_field.latex()),
    )
    # 4. the single site as the coefficients of one general equation: what the generated
    #    solvers take (codegen reuses it); a theory that equation cannot hold is no error here
    try:
        if action.time.is_layered:  # the kernel problem of a deep or recurrent network
            site = lower_layered(mean_field)
        else:
            site = lower_site(mean_field, observed_phis(action))
    except ActionStructureError as error:
        return Derivation(name, action, averaged, collective, mean_field, stages, None,
                          str(error))
    if action.time.is_layered:
        stages += (DerivationStage("site", site.text(), site.latex()),)
    else:
        stages += (DerivationStage("site", site_text(site), site_latex(site)),)
    return Derivation(name, action, averaged, collective, mean_field, stages, site)


@lru_cache(maxsize=32)
def _derive_fluctuations(action: Action, name: str) -> Derivation:
    derivation = _derive(action, name)
    # 5. beyond N → ∞: the action to second order around the saddle point (its Hessian)
    # cumulants beyond the second (non-Gaussian ensembles) vanish at the saddle point but
    # not in its Hessian: their collective-field form joins the explicit action
    higher = higher_cumulant_terms(derivation.collective)
    gaussian = fluctuations(derivation.collective, derivation.mean_field, higher)
    stage = DerivationStage("fluctuations", str(gaussian), gaussian.latex())
    return replace(derivation, stages=(*derivation.stages, stage), fluctuations=gaussian)


def derive_fixed_points(model: Model | Action | str | Path) -> Derivation:
    """The derivation of ``model`` with the Kac–Rice stage of its fixed points appended
    (stage ``kac_rice``, :func:`fieldtheory.transforms.kac_rice.kac_rice`, read off the
    lowered ``site``); refusals are :class:`ActionStructureError`."""
    require_dynamic(model, 'derive --fixed-points')
    from fieldtheory.transforms.kac_rice import kac_rice

    derivation = derive(model)
    stage = kac_rice(derivation.site_problem())
    return replace(derivation, stages=(*derivation.stages,
                                       DerivationStage("kac_rice", str(stage), stage.latex())))


def _display(latex: str) -> str:
    """Lines joined by ``\\\\`` as one notebook display (an array keeps the line breaks)."""
    return f"$\\displaystyle \\begin{{array}}{{l}} {latex} \\end{{array}}$"


def action_latex_of(action: Action) -> str:
    from fieldtheory.printing import action_latex

    return action_latex(action)
