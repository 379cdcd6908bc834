r"""Bayesian inference with the kernel of a layered network (issue 14, item 5).

As N → ∞ a deep or recurrent network's readout layer is a Gaussian process over inputs
with the kernel K = K^(depth) its derivation gives (Segadlo et al., arXiv:2112.05589;
Neal 1996; Lee et al. 2018). With training inputs X (P × d), targets Y (P × m), test
inputs X* and observation noise of variance σ² (``noise``), GP regression gives

.. math:: \bar f(X^*) = K_{*X} (K_{XX} + σ^2 I)^{-1} Y, \qquad
          \operatorname{Var} f(x^*) = K_{**} − K_{*X} (K_{XX} + σ^2 I)^{-1} K_{X*},

the posterior mean (P* × m) and the variance per test input (the same for every output).
Classification takes the argmax of the mean over outputs (for one output, its sign);
``error`` is the fraction of test inputs whose class differs from the test targets'.
The kernel is the model's own, solved on the training and test inputs together, so the
deep and the recurrent network — equal equal-time kernels — predict the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg

from fieldtheory.errors import ModelFileError, ParameterError
from fieldtheory.ir.layered import with_inputs
from fieldtheory.ir.model import Model, load_model, require_dynamic
from fieldtheory.jsonout import strict

__all__ = ["Prediction", "load_targets", "predict"]


@dataclass(frozen=True)
class Prediction:
    """Posterior mean (P* × m), variance (P*), and the test error where targets were given."""

    model: str
    params: dict[str, float]
    noise: float
    mean: np.ndarray
    variance: np.ndarray
    error: float | None = None
    undefined: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {"model": self.model, "params": dict(self.params), "N": None,
               "noise": self.noise, "mean": self.mean.tolist(),
               "variance": self.variance.tolist()}
        if self.error is not None:
            out["error"] = self.error
        return strict(out, self.undefined)


def load_targets(path, what: str = "targets") -> np.ndarray:
    """Targets, one row per pattern (P × m; a one-dimensional array is one column)."""
    from fieldtheory.ir.data_files import load_table

    return load_table(path, what, vector_as_column=True)


def predict(model: Model | str, inputs, targets, test, *, params: Mapping | None = None,
            test_targets=None, noise: float = 0.0) -> Prediction:
    """GP regression and classification with the readout kernel K^(depth) of ``model``
    (a layered network) on training ``inputs`` (P × d) with ``targets`` (P × m)."""
    require_dynamic(model, "predict")
    model = load_model(model)
    if not model.action.time.is_layered:
        raise ParameterError(f"predict: {model.name} is not a layered network (deep or "
                             "recurrent); GP inference needs its kernel over inputs")
    X, Xs = (np.asarray(a, dtype=float) for a in (inputs, test))
    Y = np.asarray(targets, dtype=float)
    Y = Y[:, None] if Y.ndim == 1 else Y
    if X.ndim != 2 or Xs.ndim != 2 or Xs.shape[1] != X.shape[1]:
        raise ModelFileError(f"predict: test inputs {Xs.shape} and training inputs {X.shape} "
                             "must be tables with the same number of columns (d)",
                             path="test")
    if Y.shape[0] != X.shape[0]:
        raise ModelFileError(f"predict: {Y.shape[0]} target rows for {X.shape[0]} training "
                             "inputs", path="targets")
    if not (np.isfinite(noise) and noise >= 0):
        raise ParameterError(f"predict: noise variance {noise} must be finite and ≥ 0")
    from fieldtheory.solve import solve

    result = solve(with_inputs(model, np.vstack([X, Xs])), params)
    K = np.array(result.observables["kernel"]["values"])[-1]
    P = X.shape[0]
    train = K[:P, :P] + noise * np.eye(P)
    cross = K[P:, :P]
    try:
        factor = scipy.linalg.cho_factor(train, lower=True)
    except np.linalg.LinAlgError:
        raise ParameterError(
            f"predict: the training kernel K + {noise:g}·I is singular (repeated inputs, or "
            "a degenerate kernel); give an observation noise --noise > 0") from None
    mean = cross @ scipy.linalg.cho_solve(factor, Y)
    variance = np.diag(K[P:, P:]) - np.einsum(
        "sp,ps->s", cross, scipy.linalg.cho_solve(factor, cross.T))
    error = None
    if test_targets is not None:
        T = np.asarray(test_targets, dtype=float)
        T = T[:, None] if T.ndim == 1 else T
        if T.shape != mean.shape:
            raise ModelFileError(f"predict: test targets {T.shape} do not match the "
                                 f"prediction {mean.shape}", path="test-targets")
        if mean.shape[1] == 1:
            wrong = np.sign(mean[:, 0]) != np.sign(T[:, 0])
        else:
            wrong = np.argmax(mean, axis=1) != np.argmax(T, axis=1)
        error = float(np.mean(wrong))
    return Prediction(model.name, dict(result.params), float(noise), mean,
                      np.maximum(variance, 0.0), error)
