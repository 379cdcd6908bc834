r"""A solver runtime registered by a test only: units without couplings (free OU units).

A site with a linear drift and no order parameters at all, ∂_t x = −a x + I + ξ with
⟨ξ(t)ξ(s)⟩ = D δ(t − s), is an Ornstein–Uhlenbeck process with the exact stationary law

.. math::
    m = I/a, \qquad \Delta(\tau) = \frac{D}{2a} e^{-a|\tau|}, \qquad R(\tau) = e^{-a\tau},

and λ_max = −a. Importing this module registers it (``tests/test_registry.py`` does so
inside :func:`fieldtheory.solvers.registry.scoped`, which removes it afterwards); the code
generator inlines it like any shipped runtime, so it is written like one: numpy only.
"""

import numpy as np

from fieldtheory.solvers.runtime.common import SolverInputError, register_runtime


def applies_free_unit(site) -> bool:
    """One population in continuous time, linear drift, no mean, correlation or kernel."""
    return (site.step is None and site.size == 1 and not site.has_nonlinear_drift
            and not site.means and not site.correlations and not site.responses)


@register_runtime("free_unit", applies=applies_free_unit, priority=95)
def solve_site_free_unit(site, grid, options) -> dict:
    """The exact Ornstein–Uhlenbeck statistics of a free unit (φ the identity)."""
    if options:
        raise SolverInputError(f"the free-unit runtime takes no options, got {sorted(options)}")
    a, I, D = float(site.leak[0]), float(site.offset[0]), float(site.noise[0])
    if not a > 0:
        raise SolverInputError(f"the leak rate {a} must be positive for a stationary state")
    tau = grid.dtau * np.arange(round(grid.tau_max / grid.dtau) + 1)
    delta = D / (2 * a) * np.exp(-a * tau)
    mean = I / a
    return {
        "mean": mean, "variance": float(delta[0]),
        "autocorrelation": {"tau": tau, "values": delta},
        "mean_phi": mean, "autocorrelation_phi": {"tau": tau, "values": delta},
        "mean_gain": 1.0, "lyapunov_max": -a,
        "response": {"tau": tau, "values": np.exp(-a * tau)},
        "branch": "noise_driven" if D > 0 else "fixed_point",
    }
