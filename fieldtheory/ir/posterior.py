r"""Static (equilibrium) models: the Bayesian posterior of a wide network (issue 15).

van Meegen & Sompolinsky, *Coding schemes in neural networks learning classification
tasks*, Nat. Commun. 16, 3354 (2025), arXiv:2406.16689.

A one-hidden-layer network on a data set (inputs X, P × d; targets Y, P × m),

.. math:: h_i(x) = w_i\cdot x/\sqrt d,\quad w_{ij}\sim\mathcal N(0,\sigma_w^2),\qquad
          f_k(x) = N^{-\gamma}\sum_{i=1}^N \psi(a_{ik}, h_i(x)),\quad
          a_{ik}\sim\mathcal N(0,\sigma_a^2),

with the readout ψ(a, h) of one neuron (``a * phi(h)`` for the paper's networks), trained by
Bayesian inference:

.. math:: p(W, a\,|\,X, Y) \propto \exp\Bigl(-\frac\beta2\sum_{\mu,k}
          \bigl(f_k(x_\mu) - y_{\mu k}\bigr)^2\Bigr)\,p(W)\,p(a),\qquad \beta = N/T.

γ = 1 is the mean-field (feature-learning) scaling, γ = ½ the lazy (kernel) one; T = 0
means β = ∞ (zero training error). A posterior is declared with :func:`posterior` from
two symbols — :class:`Weight` (a neuron's readout weight to one output) and
:class:`Preactivation` (its pre-activation on one pattern) — their priors, the data set
and the parameters; :func:`fieldtheory.derive.derive` turns it into the single-neuron
saddle point (:mod:`fieldtheory.transforms.posterior`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp

from fieldtheory.errors import DeclarationError, ParameterError, UndeclaredSymbolError
from fieldtheory.ir.checks import require_instance
from fieldtheory.ir.ensembles.gaussian import Gaussian
from fieldtheory.ir.ensembles.layered import InputWeights
from fieldtheory.ir.layered import Inputs, _rows
from fieldtheory.ir.parameters import ParameterSet, evaluate

__all__ = ["Posterior", "Preactivation", "Targets", "Weight", "is_posterior", "posterior",
           "with_data"]

#: The scalings the theory covers: lazy (kernel) and mean-field (feature learning).
SCALINGS = (0.5, 1.0)


class Weight(sp.Symbol):
    """a: one neuron's readout weight to one output (a Gaussian prior variable)."""

    is_commutative = True

    def __new__(cls, name: str, **assumptions):
        assumptions.setdefault("real", True)
        return super().__new__(cls, name, **assumptions)


class Preactivation(sp.Symbol):
    """h: one neuron's pre-activation on one pattern, h = w·x/√d."""

    is_commutative = True

    def __new__(cls, name: str, **assumptions):
        assumptions.setdefault("real", True)
        return super().__new__(cls, name, **assumptions)


@dataclass(frozen=True)
class Targets:
    """The training targets, P × m (one row per pattern), hashable like :class:`Inputs`."""

    name: str
    values: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise DeclarationError(f"target name {self.name!r} is not a Python identifier")
        object.__setattr__(self, "values", _rows(self.values, f"targets {self.name}"))

    @property
    def array(self) -> np.ndarray:
        return np.array(self.values, dtype=float)

    @property
    def outputs(self) -> int:
        return len(self.values[0])


@dataclass(frozen=True)
class Posterior:
    """A declared posterior over the weights of a wide one-hidden-layer network.

    Attributes
    ----------
    readout : sympy expression ψ(a, h) in :attr:`weight`, :attr:`preactivation` and
        parameters: one neuron's contribution to one output on one pattern.
    weight, weight_prior : the readout weight and its :class:`Gaussian` prior.
    preactivation, hidden_prior : the pre-activation and its input weights
        (:class:`InputWeights`: w_ij ~ N(0, σ_w²) with h = w·x/√d, i.e. the prior kernel
        σ_w² X Xᵀ/d).
    parameters : the :class:`ParameterSet`.
    inputs, targets : the data set (P × d, P × m).
    scaling : γ in f = N^(−γ) Σ_i ψ (an expression; its value must be ½ or 1).
    temperature : T, β = N/T (T = 0: β = ∞).
    """

    readout: sp.Expr
    weight: Weight
    weight_prior: Gaussian
    preactivation: Preactivation
    hidden_prior: InputWeights
    parameters: ParameterSet
    inputs: Inputs
    targets: Targets
    scaling: sp.Expr
    temperature: sp.Expr

    def __post_init__(self) -> None:
        require_instance(self.weight, Weight, "posterior: weight", "a ft.Weight")
        require_instance(self.preactivation, Preactivation, "posterior: preactivation",
                         "a ft.Preactivation")
        require_instance(self.weight_prior, Gaussian, f"posterior: prior of {self.weight}",
                         "a ft.Gaussian(variance=…)")
        require_instance(self.hidden_prior, InputWeights,
                         f"posterior: prior of {self.preactivation}",
                         "ft.InputWeights(variance) (h = w·x/√d, w_ij ~ N(0, variance))")
        require_instance(self.parameters, ParameterSet, "posterior: parameters",
                         "a ParameterSet (ft.parameters(...))")
        require_instance(self.inputs, Inputs, "posterior: inputs", "ft.Inputs")
        require_instance(self.targets, Targets, "posterior: targets", "ft.Targets")
        for name in ("readout", "scaling", "temperature"):
            object.__setattr__(self, name, sp.sympify(getattr(self, name)))
        if self.weight_prior.mean != 0:
            raise DeclarationError(f"posterior: the prior of {self.weight} must have mean 0, "
                                   f"got {self.weight_prior.mean}")
        declared = set(self.parameters.symbols) | {self.weight, self.preactivation}
        for what, expr in (("readout", self.readout), ("scaling", self.scaling),
                           ("temperature", self.temperature),
                           (f"prior of {self.weight}", self.weight_prior.variance),
                           (f"prior of {self.preactivation}", self.hidden_prior.variance)):
            allowed = declared if what == "readout" else set(self.parameters.symbols)
            extra = sorted(map(str, expr.free_symbols - allowed))
            if extra:
                raise UndeclaredSymbolError(f"posterior: the {what} {expr} uses undeclared "
                                            f"symbol(s) {', '.join(extra)}")
        if self.weight not in self.readout.free_symbols:
            raise DeclarationError(f"posterior: the readout {self.readout} does not contain "
                                   f"the weight {self.weight}: nothing could be learned")
        if self.preactivation not in self.readout.free_symbols:
            raise DeclarationError(f"posterior: the readout {self.readout} does not contain "
                                   f"the pre-activation {self.preactivation}")
        check_data(self.inputs.array, self.targets.array)

    # -- what the entry points read -------------------------------------------------------
    @property
    def patterns(self) -> int:
        return self.inputs.patterns

    @property
    def outputs(self) -> int:
        return self.targets.outputs

    def values(self, params: Mapping[str, float] | None = None) -> dict[str, float]:
        """Resolved parameter values, with the scaling and temperature checked."""
        values = self.parameters.resolve(params)
        gamma = evaluate(self.scaling, values)
        if not any(np.isclose(gamma, s, rtol=0, atol=1e-12) for s in SCALINGS):
            raise ParameterError(f"the scaling γ = {self.scaling} = {gamma:g}: the theory covers "
                                 "γ = 0.5 (lazy) and γ = 1 (mean-field) only")
        temperature = evaluate(self.temperature, values)
        if not (np.isfinite(temperature) and temperature >= 0):
            raise ParameterError(f"the temperature T = {self.temperature} = {temperature:g} "
                                 "must be a finite number ≥ 0 (0: β = ∞)")
        for what, expr in ((f"prior variance of {self.weight}", self.weight_prior.variance),
                           (f"input-weight variance of {self.preactivation}",
                            self.hidden_prior.variance)):
            value = evaluate(expr, values)
            if not (np.isfinite(value) and value > 0):
                raise ParameterError(f"the {what} {expr} = {value:g} must be positive")
        return values

    def with_data(self, inputs=None, targets=None) -> Posterior:
        """The same posterior on another data set (checked)."""
        from dataclasses import replace

        new_inputs = self.inputs if inputs is None else self.inputs.with_values(inputs)
        new_targets = (self.targets if targets is None
                       else Targets(self.targets.name, targets))
        return replace(self, inputs=new_inputs, targets=new_targets)

    def __str__(self) -> str:
        from fieldtheory.printing import text

        w, h = self.weight, self.preactivation
        return (f"posterior ∝ exp(−(N/2T) Σ_μ Σ_k (f_k(x_μ) − y_μk)²) p({w}) p(w), "
                f"f_k(x) = N^(−{text(self.scaling)}) Σ_i {text(self.readout)}"
                f"[{w} → {w}_ik, {h} → {h}_i(x)], T = {text(self.temperature)}; "
                f"{w} ~ N(0, {text(self.weight_prior.variance)}), "
                f"{h}_i(x) = w_i·x/√d, w_ij ~ N(0, {text(self.hidden_prior.variance)}); "
                f"data: {self.inputs.name} ({self.patterns} × {self.inputs.dimension}), "
                f"{self.targets.name} ({self.patterns} × {self.outputs})")

    def latex(self) -> str:
        from fieldtheory.printing import latex

        w = latex(self.weight)
        return (r"p(W, a\mid X, Y) \propto \exp\Bigl(-\frac{N}{2T}\sum_{\mu k}"
                r"\bigl(f_k(x_\mu) - y_{\mu k}\bigr)^2\Bigr) p(W)\, p(a),\quad "
                rf"f_k(x) = N^{{-{latex(self.scaling)}}}\sum_i "
                rf"\left.{latex(self.readout)}\right|_{{{w}\to {w}_{{ik}}}},\ "
                rf"T = {latex(self.temperature)}")

    def _repr_latex_(self) -> str:
        return f"${self.latex()}$"


def check_data(x: np.ndarray, y: np.ndarray, test: np.ndarray | None = None) -> None:
    """Shapes and finiteness of a data set; ``ParameterError`` naming the mismatch."""
    if x.ndim != 2 or y.ndim != 2:
        raise ParameterError(f"inputs and targets must be tables (P × d, P × m), got shapes "
                             f"{x.shape} and {y.shape}")
    if x.shape[0] != y.shape[0]:
        raise ParameterError(f"inputs have P = {x.shape[0]} patterns but targets "
                             f"{y.shape[0]} rows: one target row per input pattern")
    for what, a in (("inputs", x), ("targets", y), ("test inputs", test)):
        if a is not None and not np.all(np.isfinite(a)):
            row = int(np.argwhere(~np.isfinite(a))[0, 0])
            raise ParameterError(f"{what}: a non-finite value in row {row}")
    if test is not None and (test.ndim != 2 or test.shape[1] != x.shape[1]):
        raise ParameterError(f"test inputs must have d = {x.shape[1]} columns like the "
                             f"training inputs, got shape {test.shape}")


def posterior(readout: sp.Expr, priors: Mapping, *, parameters: ParameterSet,
              inputs: Inputs, targets: Targets, scaling=1, temperature=0) -> Posterior:
    """Declare the posterior of a wide one-hidden-layer network.

    ``priors`` maps the :class:`Weight` to its :class:`Gaussian` prior and the
    :class:`Preactivation` to its :class:`InputWeights`; everything else is checked by
    :class:`Posterior`.
    """
    require_instance(priors, Mapping, "posterior: priors", "a dict {symbol: prior}")
    weights = [s for s in priors if isinstance(s, Weight)]
    hidden = [s for s in priors if isinstance(s, Preactivation)]
    other = [s for s in priors if not isinstance(s, Weight | Preactivation)]
    if other or len(weights) != 1 or len(hidden) != 1:
        raise DeclarationError(
            "posterior: priors must name exactly one ft.Weight (the readout weight) and one "
            f"ft.Preactivation (one hidden layer), got {', '.join(map(str, priors)) or 'none'}")
    (a,), (h,) = weights, hidden
    return Posterior(sp.sympify(readout), a, priors[a], h, priors[h], parameters, inputs,
                     targets, sp.sympify(scaling), sp.sympify(temperature))


def is_posterior(model) -> bool:
    """Whether a model (or its action) is a declared posterior."""
    return isinstance(getattr(model, "action", model), Posterior)


def with_data(model, inputs=None, targets=None):
    """``model`` on another data set (a :class:`~fieldtheory.ir.model.Model` of a
    posterior); ``ParameterError`` for a model that is not one."""
    from dataclasses import replace

    if not is_posterior(model):
        raise ParameterError(f"model {model.name!r} is not a posterior over a data set: "
                             "--targets belongs to the Bayesian models (bayes_*)")
    return replace(model, action=model.action.with_data(inputs, targets))

