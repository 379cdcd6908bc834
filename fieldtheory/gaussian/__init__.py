"""Gaussian expectations E[f(u) g(v)] for bivariate Gaussians with means.

* :mod:`~fieldtheory.gaussian.closed_forms` — symbolic closed forms, matched on affine
  arguments, from a registry (``closed_form(f, g, x)`` → sympy expression or None);
* :mod:`~fieldtheory.gaussian.quadrature` — the numerical rules of the one runtime
  quadrature module :mod:`fieldtheory.solvers.runtime.quadrature` (which generated solvers
  inline), re-exported with library errors: Gauss–Hermite and graded Gauss–Legendre panels
  for general pairs, the strip-controlled trapezoid, Chebyshev pair tables and Hermite
  series for the runtimes; plus the dispatching :func:`gaussian_expectation`;
* :mod:`~fieldtheory.gaussian.reference` — mpmath oracles for tests.
"""

from fieldtheory.gaussian.closed_forms import (
    CLOSED_FORMS,
    COV,
    KERNELS,
    MU_U,
    MU_V,
    VAR_U,
    VAR_V,
    ClosedForm,
    Moments,
    Term,
    affine_terms,
    closed_form,
    pair_expectation,
    register_closed_form,
)
from fieldtheory.gaussian.quadrature import (
    expect,
    expect_single,
    features_of,
    gaussian_expectation,
    gaussian_mean,
    gaussian_pair_mean,
    hermite_coefficients,
    normal_rule,
    numpy_function,
    pair_table,
)

__all__ = [
    "CLOSED_FORMS", "COV", "KERNELS", "MU_U", "MU_V", "VAR_U", "VAR_V",
    "ClosedForm", "Moments", "Term",
    "affine_terms", "closed_form", "pair_expectation", "register_closed_form",
    "expect", "expect_single", "features_of", "gaussian_expectation", "numpy_function",
    "gaussian_mean", "gaussian_pair_mean", "hermite_coefficients", "normal_rule", "pair_table",
]
