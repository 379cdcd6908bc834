r"""Layered models: deep and recurrent networks on a data set (issue 14).

Segadlo, Epping, van Meegen, Dahmen, Krämer & Helias, *Unified field theoretical approach
to deep and recurrent neuronal networks*, J. Stat. Mech. (2022), arXiv:2112.05589.

A layered model is a map whose step index is the layer (or, for a recurrent network, the
time step), run once for every input pattern x_a of a data set, all patterns through the
*same* weights. Its time points are pairs τ = (a, l) of a pattern and a layer; the action
sums over them as over the steps of a map, S = Σ_i Σ_a Σ_l L, and x(τ + 1) is the next
layer of the same pattern. Everything pattern- and layer-specific is written with two
sympy nodes of the time point:

* :class:`Layer` ``l(τ)`` — the layer index (0 for the step that produces the first layer);
  ``FIRST = δ_{l(n), 0}`` selects the input step, ``1 − FIRST`` the later ones;
* :class:`InputValue` ``X(τ)`` — component j of the input pattern of τ, used only inside a
  coupling sum ``U @ X(n)`` = Σ_j U_ij X_j(a) over the d input dimensions.

Weights are coupling matrices with their ensembles: shared by all layers (recurrent), or
drawn anew for every layer (:class:`~fieldtheory.ir.ensembles.per_layer.PerLayer`, deep:
its cumulants pair equal layers only, δ_{l(t), l(s)}). Input weights act on the data
(:class:`~fieldtheory.ir.ensembles.input_weights.InputWeights`, variance σ_u²/d), and the
disorder average turns them into the data kernel K_X(a, b) = (1/d) Σ_j X_j(a) X_j(b)
(:class:`DataKernel`). A bias b_i = Σ_j B_ij with B_ij ~ N(0, σ_b²/N) is a coupling acting
on the constant 1 (``B @ 1``): b_i ~ N(0, σ_b²), the same for every pattern.

:func:`layered` builds the action

.. math:: L = \tilde h(n)\,\bigl(-h(n+1) + \delta_{l(n),0}\, F_1 + (1 - \delta_{l(n),0})\, F\bigr),

h(0) = 0, for ``depth`` layers h(1) … h(depth).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.core.symbol import Str

from fieldtheory.errors import DeclarationError, ModelFileError
from fieldtheory.ir.symbols import Field, n

__all__ = [
    "FIRST",
    "DataKernel",
    "InputValue",
    "Inputs",
    "Layer",
    "inputs_of",
    "layered",
    "load_inputs",
    "with_inputs",
]


class Layer(sp.Function):
    """l(τ): the layer of the time point τ of a layered model (0: the input step)."""

    nargs = 1
    is_integer = True
    is_nonnegative = True

    def _sympystr(self, printer) -> str:
        return f"l({printer._print(self.args[0])})"

    def _latex(self, printer) -> str:
        return rf"\ell\left({printer._print(self.args[0])}\right)"


#: δ_{l(n), 0}: the step that produces the first layer from the inputs.
FIRST = sp.KroneckerDelta(Layer(n), 0)


class InputValue(sp.Function):
    """X_j(τ): component j of the input pattern of time point τ (inside ``U @ X(n)``).

    ``args = (Str(name), τ)``.
    """

    nargs = 2
    is_real = True

    @property
    def name(self) -> str:
        return self.args[0].name

    def _eval_derivative(self, symbol):
        return sp.S.Zero


class DataKernel(sp.Function):
    """K_X(t, s) = (1/d) Σ_j X_j(t) X_j(s): the data kernel of the patterns of t and s.

    ``args = (Str(name), t, s)``; what the disorder average over input weights leaves.
    """

    nargs = 3
    is_real = True

    @classmethod
    def eval(cls, name, t, s):
        # symmetric: one canonical order of the two time points
        if sp.default_sort_key(s) < sp.default_sort_key(t):
            return cls(name, s, t)
        return None

    @property
    def name(self) -> str:
        return self.args[0].name

    def _sympystr(self, printer) -> str:
        return (f"K_{self.name}({printer._print(self.args[1])}, "
                f"{printer._print(self.args[2])})")

    def _latex(self, printer) -> str:
        return (rf"K_{{{self.name}}}\left({printer._print(self.args[1])}, "
                rf"{printer._print(self.args[2])}\right)")

    def _eval_derivative(self, symbol):
        return sp.S.Zero


@dataclass(frozen=True)
class Inputs:
    """A data set of P input patterns in d dimensions (one per row of ``values``).

    ``X = ft.Inputs("X", values)``; ``X(n)`` is the input value inside a coupling sum.
    Values are stored as a tuple of rows (hashable, part of the model's identity).
    """

    name: str
    values: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise DeclarationError(f"input name {self.name!r} is not a Python identifier")
        object.__setattr__(self, "values", _rows(self.values, f"inputs {self.name}"))

    def __call__(self, time: sp.Expr) -> InputValue:
        return InputValue(Str(self.name), sp.sympify(time))

    @property
    def array(self) -> np.ndarray:
        """The patterns, P × d."""
        return np.array(self.values, dtype=float)

    @property
    def patterns(self) -> int:
        return len(self.values)

    @property
    def dimension(self) -> int:
        return len(self.values[0])

    def kernel(self) -> np.ndarray:
        """K_X = X Xᵀ / d, P × P."""
        x = self.array
        return x @ x.T / x.shape[1]

    def with_values(self, values) -> Inputs:
        return Inputs(self.name, values)


def _rows(values, what: str) -> tuple[tuple[float, ...], ...]:
    """Finite numbers in a P × d table (P, d ≥ 1); named errors otherwise."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{what}: not a table of numbers ({error})", path=what) from None
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ModelFileError(f"{what}: expected one pattern per row (P × d), got shape "
                             f"{array.shape}", path=what)
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        a, j = bad[0]
        raise ModelFileError(f"{what}: entry ({a}, {j}) is {array[a, j]}; inputs must be "
                             "finite numbers", path=what)
    return tuple(tuple(float(v) for v in row) for row in array)


def inputs_of(action) -> Inputs | None:
    """The data set a layered action runs on (``None`` for other actions)."""
    return getattr(action.time, "inputs", None)


def layered(update: Mapping[Field, sp.Expr], first: Mapping[Field, sp.Expr], *,
            couplings, parameters, inputs: Inputs, depth: sp.Expr):
    r"""The action of a layered network on the data set ``inputs``.

    Parameters
    ----------
    update : mapping Field → expression
        h(l + 1) for l ≥ 1, written with ``h(n)`` (e.g. ``W @ erf(h(n)) + B @ 1``).
    first : mapping Field → expression
        h(1), written with the inputs (``U @ X(n) + B1 @ 1``).
    couplings, parameters
        As in :func:`~fieldtheory.ir.langevin.langevin`.
    inputs : Inputs
        The P patterns every layer is run on.
    depth : expression
        The number of layers (a parameter with an integer domain, or a number ≥ 1).

    Returns
    -------
    Action
        S = Σ_i Σ_{a, l} h̃(−h(l + 1) + δ_{l,0} F₁ + (1 − δ_{l,0}) F), h(0) = 0.
    """
    from fieldtheory.ir.action import layers
    from fieldtheory.ir.langevin import langevin

    if set(update) != set(first):
        raise DeclarationError("update and first must declare the same fields, got "
                               f"{sorted(f.name for f in update)} and "
                               f"{sorted(f.name for f in first)}")
    drift = {f: FIRST * sp.sympify(first[f]) + (1 - FIRST) * sp.sympify(update[f])
             for f in update}
    return langevin(drift, couplings=couplings, parameters=parameters,
                    time=layers(depth, inputs))


def load_inputs(path) -> np.ndarray:
    """The patterns of an inputs file (``--inputs``): P × d, named errors otherwise."""
    from fieldtheory.ir.data_files import load_table

    return load_table(path, "inputs")


def with_inputs(model, values):
    """``model`` (layered) run on the patterns ``values`` (P × d) instead of its own."""
    from dataclasses import replace

    time = model.action.time
    if not time.is_layered:
        raise DeclarationError(f"model {model.name} is not a layered network; --inputs "
                               "gives the data set of deep and recurrent networks")
    action = replace(model.action, time=replace(time, inputs=time.inputs.with_values(values)))
    return replace(model, action=action)
