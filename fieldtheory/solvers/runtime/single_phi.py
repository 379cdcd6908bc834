r"""The one-φ site shared by the stationary, two-time and map runtimes.

Self-contained (numpy and the standard library); inlined by the code generator ahead of
the runtimes that import it. A one-φ site is one population with a linear drift, no
response kernel, an input covariance A⟨φφ⟩ of the observed φ and mean inputs B⟨φ⟩ of that
same φ (Sompolinsky, Crisanti & Sommers, PRL 61, 259 (1988)):

.. math::
    \partial_t x = -a x + B m + I + \eta, \qquad
    \langle\eta(t)\eta(s)\rangle = A\, C_\phi(t, s) + D\,\delta(t - s).

In units of the leak time 1/a (t' = a t) this is the SCS site
(1 + ∂_t')x = J0 m + I/a + η' with g = √A/a, J0 = B/a and noise D/a; in discrete time the
same reading holds with a the leak per step.
"""

import math

import numpy as np

from fieldtheory.solvers.runtime.common import SolverInputError  # inlined by the code generator

__all__ = ["is_single_phi", "linear_instability", "single_phi_coefficients"]


def is_single_phi(site) -> bool:
    """Whether ``site`` (a SiteSpec) is a one-φ site (see the module)."""
    if site.size != 1 or site.has_nonlinear_drift or site.has_kernel:
        return False
    if len(site.correlations) != 1:
        return False
    (term,) = site.correlations
    return (term.left is site.phi[0] and term.right is term.left
            and all(m.left is term.left for m in site.means))


def single_phi_coefficients(site) -> tuple[float, float, float, float, float]:
    """(a, g, J0, I, D) of a one-φ site: the leak, then g, J0, I, D in leak-time units.

    ValueError when the leak is not positive or the input variance coefficient negative.
    """
    a = float(site.leak[0])
    A = float(np.sum(site.correlation_coupling[0]))
    if not a > 0:
        raise SolverInputError(f"the leak rate {a} must be positive for a stationary state")
    if A < 0:
        raise SolverInputError(f"the input variance coefficient {A} is negative")
    B = float(np.sum(site.mean_coupling[0])) if site.means else 0.0
    return a, math.sqrt(A) / a, B / a, float(site.offset[0]) / a, float(site.noise[0]) / a


def linear_instability(site) -> str | None:
    """Why a one-φ site with an affine φ(x) = f₀ + f₁x has no stationary state, or None.

    The network is then linear, ẋ = −a x + J φ(x) + …: in leak units its bulk spectrum
    (circular law, radius g|f₁|) reaches the leak when g|f₁| ≥ 1, and the outlier of the
    mean coupling (J0 f₁) when J0 f₁ ≥ 1; the same bounds hold for maps with a step
    δ ∈ (0, 1]. Beyond them the variance or the mean grows without bound.
    """
    (term,) = site.correlations
    probe = np.array([0.0, 1.0, -1.7, 2.3, 0.4])
    values = np.asarray(term.left(probe), dtype=float)
    f0, f1 = values[0], values[1] - values[0]
    if not np.allclose(values, f0 + f1 * probe, rtol=1e-12, atol=1e-14):
        return None
    _, g, J0, _, _ = single_phi_coefficients(site)
    if g * abs(f1) >= 1:
        return (f"the linear network has no stationary state: its bulk spectrum reaches the "
                f"leak, g·|φ'| = {g * abs(f1):.6g} ≥ 1 (in units of the leak)")
    if J0 * f1 >= 1:
        return (f"the linear network has no stationary state: the mean-coupling outlier "
                f"reaches the leak, J0·φ' = {J0 * f1:.6g} ≥ 1 (in units of the leak)")
    return None
